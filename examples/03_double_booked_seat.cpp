// 03_double_booked_seat.cpp — a race condition with no data race: atomics
// used one access at a time still double-book a seat.
//
// Every seat is a std::atomic<int>: 0 when free, else the customer who holds
// it. Each load and each store is atomic, so ThreadSanitizer has nothing to
// report and the behaviour is defined. The *logic* is still broken: "is it
// free?" and "book it" are two separate steps, and another customer can book
// in between. Atomicity of each access is not atomicity of the decision.
//
// Part 1 shows the double booking deterministically: a std::latch makes both
// customers pass the "is it free?" check before either books, which is one
// legal interleaving that the scheduler may pick at any time in production.
// Part 2 stages the same interleaving with the fix, compare_exchange, which
// checks and books in one indivisible step: one customer wins, the other is
// told "taken". Part 3 lets many threads fight over many seats at once.
//
// What to look at: "customers told 'booked'" is 2 for one seat in part 1 and
// 1 in part 2; in part 3 every seat has exactly one holder and the bookings
// add up to the number of seats.
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <latch>
#include <thread>
#include <vector>

namespace {

constexpr int free_seat = 0;

// Two customers (ids 1 and 2) race for one seat; `book` is the booking
// step, given the seat after both saw it free. Returns how many were told
// "booked".
template <class Book>
int two_customers_one_seat(std::atomic<int>& seat, Book book) {
  std::latch both_checked(2);
  std::atomic<int> told_booked{0};
  auto customer = [&](int me) {
    const bool looks_free = seat.load() == free_seat;  // check
    both_checked.arrive_and_wait();                      // the unlucky interleaving, made certain
    if (looks_free && book(seat, me)) told_booked.fetch_add(1);  // act
  };
  std::thread a(customer, 1), b(customer, 2);
  a.join();
  b.join();
  return told_booked.load();
}

}  // namespace

int main() {
  bool ok = true;

  // Part 1: check, then store. Both customers saw the seat free, both store
  // their id, both are told "booked"; the seat holds whoever stored last.
  std::atomic<int> seat1{free_seat};
  const int wrong = two_customers_one_seat(seat1, [](std::atomic<int>& s, int me) {
    s.store(me);  // BUG: overwrites a booking made since our check
    return true;
  });
  std::printf("part 1, load then store:   customers told 'booked': %d for 1 seat (holder: customer %d)\n", wrong,
              seat1.load());
  std::printf("  -> double booking: one customer will be turned away at the gate, although every access was "
              "atomic\n");
  ok = ok && wrong == 2;

  // Part 2: the fix. compare_exchange_strong(expected, me) stores `me` only
  // if the seat still holds `expected` (free), in one atomic step; otherwise
  // it fails. The second customer's check is redone at the moment of booking.
  std::atomic<int> seat2{free_seat};
  const int right = two_customers_one_seat(seat2, [](std::atomic<int>& s, int me) {
    int expected = free_seat;
    return s.compare_exchange_strong(expected, me);  // false: `expected` now holds the winner
  });
  std::printf("part 2, compare_exchange:  customers told 'booked': %d for 1 seat (holder: customer %d)\n", right,
              seat2.load());
  ok = ok && right == 1;

  // Part 3: 8 customers each try to book all 20000 seats, starting at
  // different seats. Memory ordering: the default (seq_cst) is more than
  // needed; the CAS's atomicity is what matters. acq_rel would be enough if
  // the winner also published a ticket record that others read.
  constexpr int seats = 20000, customers = 8;
  std::vector<std::atomic<int>> hall(seats);  // value-initialised: all free
  std::vector<std::vector<int>> won(customers + 1);
  std::latch start(customers);
  std::vector<std::thread> threads;
  for (int c = 1; c <= customers; ++c)
    threads.emplace_back([&, c] {
      start.arrive_and_wait();
      for (int i = 0; i < seats; ++i) {
        const int s = (i + c * seats / customers) % seats;
        int expected = free_seat;
        if (hall[s].compare_exchange_strong(expected, c)) won[c].push_back(s);
      }
    });
  for (auto& t : threads) t.join();  // join: the `won` lists are ours to read now

  std::vector<int> bookings_per_seat(seats, 0);
  int total = 0;
  for (int c = 1; c <= customers; ++c)
    for (int s : won[c]) {
      ++bookings_per_seat[s];
      ++total;
      ok = ok && hall[s].load() == c;  // the seat's holder is the customer who was told "booked"
    }
  const bool each_once = std::all_of(bookings_per_seat.begin(), bookings_per_seat.end(), [](int n) { return n == 1; });
  std::printf("part 3, %d customers x %d seats: bookings confirmed %d (seats %d), each seat booked once: %s\n",
              customers, seats, total, seats, each_once ? "yes" : "NO");
  for (int c = 1; c <= customers; ++c) std::printf("  customer %d booked %zu seats\n", c, won[c].size());
  ok = ok && each_once && total == seats;

  if (!ok) {
    std::printf("FAILED: the outcome differs from the lesson above\n");
    return 1;
  }
  std::printf("compare_exchange: every seat booked exactly once\n");
  return 0;
}
