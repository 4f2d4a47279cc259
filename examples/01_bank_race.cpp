// 01_bank_race.cpp — the bug every other example fixes: two threads
// withdrawing from one bank balance with no synchronisation.
//
// Each withdrawal is "check, then act": if the balance covers the amount,
// subtract it. With a plain `int` shared by two threads, two things go wrong:
//   * overdraft: both tellers pass the check (balance 1 >= 1) before either
//     subtracts, so the balance goes to -1;
//   * lost update: `balance -= 1` is a load, a subtract and a store; two
//     tellers load the same 7, both store 6, and one withdrawal vanishes.
// In C++ this is a *data race* (two threads access one non-atomic object, one
// of them writes, nothing orders them), which makes the whole program's
// behaviour undefined: the wrong balance is only the visible part.
//
// What to look at in the output:
//   * a normal build: the "this run:" line. Some runs overdraw or lose an
//     update, some come out right. A race is a bug in the runs where it does
//     not show, too: the outcome is luck (scheduling, CPU count, load).
//   * the ThreadSanitizer build (build/tsan; ctest runs it there):
//     "WARNING: ThreadSanitizer: data race" with both tellers' stacks, in
//     every run. TSan tracks happens-before between threads instead of
//     waiting for an unlucky interleaving, so it reports the race even when
//     the balance happened to come out right.
// Next: 02_bank_fixed.cpp fixes this four ways.
#include <atomic>
#include <cstdio>
#include <thread>

namespace {

constexpr int initial_balance = 2000;
constexpr int attempts_per_teller = 2000;  // two tellers: twice the money there is

struct account {
  int balance;  // THE BUG: a plain int shared by two threads, no lock, no atomic
};

// The racy withdrawal. Returns true if the teller believed it paid out.
bool withdraw(account& acct, int amount) {
  if (acct.balance >= amount) {  // check ...
    // ... the teller chats with the customer ...: an opaque library call
    // between check and act. It widens the window, and because `acct` is
    // reachable from other threads the compiler must re-read and re-write
    // the balance around it, so the race you see is the one in the source.
    std::this_thread::yield();
    acct.balance -= amount;  // ... then act (load, subtract, store)
    return true;
  }
  return false;
}

}  // namespace

int main() {
  account acct{initial_balance};
  // Both tellers wait for this flag so that they really run at the same time.
  // (It orders main's setup before each teller, not the tellers' withdrawals
  // among themselves: those stay unsynchronised.)
  std::atomic<bool> open{false};
  int paid[2] = {0, 0};  // each teller counts only its own: no race here

  auto teller = [&](int id) {
    while (!open.load(std::memory_order_acquire)) std::this_thread::yield();
    for (int i = 0; i < attempts_per_teller; ++i)
      if (withdraw(acct, 1)) ++paid[id];
  };
  std::thread a(teller, 0), b(teller, 1);
  open.store(true, std::memory_order_release);
  a.join();
  b.join();  // join orders both tellers' writes before the reads below

  const int succeeded = paid[0] + paid[1];
  const int attempts = 2 * attempts_per_teller;
  const int expected_balance = initial_balance - succeeded;  // what a correct bank would hold
  std::printf("account opened with %d; 2 tellers try %d withdrawals of 1 each\n", initial_balance,
              attempts_per_teller);
  std::printf("withdrawals paid out: %d, refused: %d (attempts: %d)\n", succeeded, attempts - succeeded, attempts);
  std::printf("final balance: %d (a correct bank: %d - %d paid = %d, and never below 0)\n", acct.balance,
              initial_balance, succeeded, expected_balance);
  if (acct.balance < 0 || succeeded > initial_balance)
    std::printf("this run: OVERDRAFT - the tellers paid out %d more than the account held\n",
                succeeded - initial_balance);
  if (acct.balance != expected_balance)
    std::printf("this run: LOST UPDATE - %d withdrawal(s) paid out but never subtracted\n",
                acct.balance - expected_balance);
  if (acct.balance >= 0 && acct.balance == expected_balance)
    std::printf("this run: no visible damage - luck, not correctness (run it under ThreadSanitizer)\n");
  std::printf("lesson: check-then-act on a plain int is a data race; 02_bank_fixed shows four fixes\n");
  std::fflush(stdout);  // the lesson goes out before TSan's exit summary
  return 0;
}
