// 02_bank_fixed.cpp — the withdrawal race of 01_bank_race, fixed four ways.
//
// Each fix makes "check the balance, then subtract" one indivisible step
// (atomic with respect to every other withdrawal):
//   (a) a std::mutex around check and act: simple, the default choice;
//   (b) an optimistic versioned cell: read a snapshot (value + version), compute
//       the new balance, commit only if the version is unchanged, else retry.
//       No lock is held while deciding; a teller that lost the race retries;
//   (c) a software transaction: read and write transactional variables inside
//       atomically(); the runtime detects conflicts and re-runs the lambda;
//   (d) transfers between accounts with one lock per account, always taken
//       in a fixed (id) order, so two opposite transfers cannot deadlock.
//
// Memory ordering in two sentences: unlocking a mutex (and a successful
// commit of (b) or (c)) is a release and the next lock (or read) an acquire,
// so each withdrawal sees the balance the previous one left. Nothing else is
// shared, so nothing else needs ordering.
//
// What to look at: for (a)-(c), 4 tellers ask for twice the money there is;
// exactly initial/amount withdrawals succeed, the rest are refused, the balance
// ends at exactly 0 and never goes below. For (d), money is conserved across
// accounts and no balance is ever negative.
#include <quiesce/stm.hpp>
#include <quiesce/versioned_cell.hpp>

#include <cstdio>
#include <mutex>
#include <thread>
#include <vector>

namespace {

constexpr int tellers = 4, attempts_per_teller = 2000, amount = 2;
constexpr int initial = tellers * attempts_per_teller * amount / 2;  // enough for half the attempts

// Runs `tellers` threads, each trying `attempts_per_teller` withdrawals with
// withdraw(); returns how many succeeded (each teller counts its own).
template <class Withdraw>
int run_tellers(Withdraw withdraw) {
  std::vector<int> paid(tellers, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < tellers; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < attempts_per_teller; ++i) paid[t] += withdraw() ? 1 : 0;
    });
  for (auto& th : threads) th.join();
  int sum = 0;
  for (int p : paid) sum += p;
  return sum;
}

// Prints one fix's result and says whether its invariants held.
bool report(const char* name, int succeeded, int final_balance) {
  const int attempts = tellers * attempts_per_teller;
  const bool ok = succeeded == initial / amount && final_balance == initial - succeeded * amount && final_balance >= 0;
  std::printf("%s: succeeded %d + refused %d = %d attempts; final balance %d (expected %d)%s\n", name, succeeded,
              attempts - succeeded, attempts, final_balance, initial - (initial / amount) * amount,
              ok ? "" : "  FAILED");
  return ok;
}

// (a) A mutex: the check and the act happen while no other teller can run them.
bool with_mutex() {
  std::mutex m;
  int balance = initial;  // guarded by m
  const int succeeded = run_tellers([&] {
    std::lock_guard lock(m);
    if (balance < amount) return false;
    balance -= amount;
    return true;
  });
  return report("(a) std::mutex         ", succeeded, balance);
}

// (b) Optimistic: try_commit succeeds only if nobody committed since our read
// (the version is unchanged), so a stale check can never be acted on.
bool with_versioned_cell() {
  quiesce::versioned_cell<int> balance{initial};
  const int succeeded = run_tellers([&] {
    for (;;) {
      const auto seen = balance.read();  // value + version, read together
      if (seen.value < amount) return false;  // refusing needs no commit: the snapshot was consistent
      if (balance.try_commit(seen, seen.value - amount)) return true;
      // another teller committed first: re-read and re-check
    }
  });
  return report("(b) versioned_cell     ", succeeded, balance.read().value);
}

// (c) A transaction: the lambda may run more than once (after a conflict),
// so it only reads and writes tvars and returns its decision; the teller
// counts after atomically() returns.
bool with_stm() {
  quiesce::tvar<int> balance{initial};
  const int succeeded = run_tellers([&] {
    return quiesce::atomically([&](quiesce::transaction& tx) {
      const int b = tx.read(balance);
      if (b < amount) return false;
      tx.write(balance, b - amount);
      return true;
    });
  });
  const int final_balance = quiesce::atomically([&](quiesce::transaction& tx) { return tx.read(balance); });
  return report("(c) stm transaction    ", succeeded, final_balance);
}

// (d) Transfers between accounts. Locking `from` then `to` deadlocks when one
// teller moves A->B while another moves B->A (each holds one lock and waits
// for the other). Taking the lower id first gives every thread the same lock
// order, so a cycle of waiters cannot form.
struct account {
  int id;
  std::mutex m;
  int balance;  // guarded by m
};

bool transfer(account& from, account& to, int sum) {
  account& first = from.id < to.id ? from : to;
  account& second = from.id < to.id ? to : from;
  std::lock_guard l1(first.m);
  std::lock_guard l2(second.m);
  if (from.balance < sum) return false;
  from.balance -= sum;
  to.balance += sum;
  return true;
}

bool with_ordered_locks() {
  constexpr int n = 4, start_balance = 60, per_teller = 5000;
  std::vector<account> accounts(n);
  for (int i = 0; i < n; ++i) accounts[i].id = i, accounts[i].balance = start_balance;
  std::vector<int> moved(tellers, 0), refused(tellers, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < tellers; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < per_teller; ++i) {  // every pair of accounts, there (even i) and back (odd i)
        const int k = i / 2, x = k % n, y = (x + 1 + (t + k / n) % (n - 1)) % n;  // y != x
        const bool there = (i + t) % 2 == 0;  // half the tellers start with "back": opposite directions at once
        if (transfer(accounts[there ? x : y], accounts[there ? y : x], 1 + (k * 7) % 50))
          ++moved[t];
        else
          ++refused[t];
      }
    });
  for (auto& th : threads) th.join();
  int total = 0, done = 0, no = 0;
  bool never_negative = true;
  for (auto& a : accounts) {
    total += a.balance;
    never_negative = never_negative && a.balance >= 0;
  }
  for (int t = 0; t < tellers; ++t) done += moved[t], no += refused[t];
  const bool ok = total == n * start_balance && never_negative && done + no == tellers * per_teller;
  std::printf("(d) ordered locks      : transfers %d + refused %d = %d attempts; money in %d accounts: %d "
              "(expected %d), none negative: %s%s\n",
              done, no, tellers * per_teller, n, total, n * start_balance, never_negative ? "yes" : "NO",
              ok ? "" : "  FAILED");
  return ok;
}

}  // namespace

int main() {
  std::printf("%d tellers x %d withdrawals of %d from a balance of %d (money for %d of them)\n", tellers,
              attempts_per_teller, amount, initial, initial / amount);
  bool ok = with_mutex();
  ok = with_versioned_cell() && ok;
  ok = with_stm() && ok;
  ok = with_ordered_locks() && ok;
  if (!ok) return 1;
  std::printf("all four fixes held every invariant\n");
  return 0;
}
