// Misuse of seqcount_latch<T> (two store() calls at once) aborts with a
// message naming the fix in checks builds. Built with QUIESCE_CHECKS=1.
#include <quiesce/seqlock.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>

namespace {

static_assert(quiesce::detail::structures::checks_enabled, "this file must be built with QUIESCE_CHECKS=1");

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
