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

namespace {

static_assert(quiesce::detail::base::checks_enabled, "this file must be built with QUIESCE_CHECKS=1");

class SeqlockMisuseDeathTest : public ::testing::Test {
 protected:
  void SetUp() override { GTEST_FLAG_SET(death_test_style, "threadsafe"); }
};

// Two threads store without serialising. Overlap is a matter of scheduling,
// not of one deterministic step, but with both threads doing nothing but
// store() it comes within microseconds; the child gives up (and the test
// fails) after 30 s.
[[noreturn]] void two_unserialised_writers() {
  quiesce::seqcount_latch<std::uint64_t> latch;
  std::atomic<bool> go{false};
  auto writer = [&](std::uint64_t base) {
    while (!go.load(std::memory_order_acquire)) {
    }
    for (std::uint64_t i = 0;; ++i) latch.store(base + i);
  };
  std::thread a(writer, 0), b(writer, 1ULL << 40);
  go.store(true, std::memory_order_release);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
  std::fputs("no overlap detected\n", stderr);
  std::_Exit(0);
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
