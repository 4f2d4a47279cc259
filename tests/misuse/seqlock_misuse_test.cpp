// Misuse of seqcount_latch<T> (two store() calls at once) aborts with a
// message naming the fix in checks builds. Built with QUIESCE_CHECKS=1.
#include <quiesce/seqlock.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "support/misuse.hpp"

namespace {

static_assert(quiesce::detail::base::checks_enabled, "this file must be built with QUIESCE_CHECKS=1");

using SeqlockMisuseDeathTest = quiesce::test::threadsafe_death_test;

// Two threads store without serialising (support/misuse.hpp: overlap is a
// matter of scheduling, not of one deterministic step).
[[noreturn]] void two_unserialised_writers() {
  quiesce::seqcount_latch<std::uint64_t> latch;
  auto writer = [&latch](std::uint64_t base) {
    for (std::uint64_t i = 0;; ++i) latch.store(base + i);
  };
  quiesce::test::race_until_caught([&] { writer(0); }, [&] { writer(1ULL << 40); });
}

TEST_F(SeqlockMisuseDeathTest, OverlappingLatchStores) {
  EXPECT_DEATH(two_unserialised_writers(), "two seqcount_latch::store\\(\\) calls overlapped");
}

}  // namespace

// ---- a seqlock read or written by the thread that holds its writer lock ----
// (checks builds detect it on the retry path, exactly: the lock is held at the
// odd sequence value this thread took it at)

namespace {

quiesce::seqlock<std::uint64_t>* g_self_locked = nullptr;

void read_in_handler(int) { (void)g_self_locked->load(); }

TEST_F(SeqlockMisuseDeathTest, LoadInsideOwnUpdate) {
  EXPECT_DEATH(
      {
        quiesce::seqlock<std::uint64_t> s{1};
        s.update([&](std::uint64_t& v) { v += s.load(); });
      },
      "seqlock::load\\(\\) while this thread holds the same seqlock's writer lock.*\n.*hint: use "
      "quiesce::seqcount_latch<T>");
}

// The signal handler interrupts its own thread's store() (deterministically:
// raised from inside update()) and reads the seqlock: spinning forever
// without the check.
TEST_F(SeqlockMisuseDeathTest, SignalHandlerReadsSeqlockItsThreadIsWriting) {
  EXPECT_DEATH(
      {
        quiesce::seqlock<std::uint64_t> s{1};
        g_self_locked = &s;
        std::signal(SIGUSR2, &read_in_handler);
        s.update([](std::uint64_t& v) {
          std::raise(SIGUSR2);
          ++v;
        });
      },
      "seqlock::load\\(\\) while this thread holds the same seqlock's writer lock");
}

TEST_F(SeqlockMisuseDeathTest, StoreInsideOwnUpdate) {
  EXPECT_DEATH(
      {
        quiesce::seqlock<std::uint64_t> s{1};
        s.update([&](std::uint64_t&) { s.store(2); });
      },
      "seqlock::store\\(\\)/update\\(\\) while this thread already holds the same seqlock's writer lock");
}

// No false alarm: another seqlock inside update(), nested updates of two
// seqlocks, and the mark restored afterwards.
TEST(SeqlockSelfDeadlockCheck, OtherSeqlocksAreFine) {
  quiesce::seqlock<std::uint64_t> a{1}, b{10};
  a.update([&](std::uint64_t& v) {
    v += b.load();
    b.update([&](std::uint64_t& w) { w += 1; });
    b.store(b.load() + 1);
  });
  EXPECT_EQ(a.load(), 11u);
  EXPECT_EQ(b.load(), 12u);
  EXPECT_EQ(quiesce::detail::seqlock::seqlock_held_by_this_thread.lock, nullptr);
}

// Another thread holding the lock is waited for, not reported.
TEST(SeqlockSelfDeadlockCheck, OtherThreadsWriterIsWaitedFor) {
  quiesce::seqlock<std::uint64_t> s{0};
  std::atomic<bool> inside{false}, release{false};
  std::thread w([&] {
    s.update([&](std::uint64_t& v) {
      inside.store(true, std::memory_order_release);
      while (!release.load(std::memory_order_acquire)) std::this_thread::yield();
      v = 5;
    });
  });
  while (!inside.load(std::memory_order_acquire)) std::this_thread::yield();
  std::thread r([&] { EXPECT_EQ(s.load(), 5u); });  // spins until the writer is done
  release.store(true, std::memory_order_release);
  r.join();
  w.join();
}

}  // namespace
