// Stress: one hybrid_logical_clock shared by several threads. Every thread
// mixes now(), send() and receive() of timestamps other threads published,
// and checks as it goes:
//   * its own timestamps strictly increase;
//   * receive(r) returns more than r;
//   * after acquiring a timestamp another thread published (after that
//     thread issued it), its next now() is larger: the relaxed CAS still
//     orders calls related by happens-before (the header's ordering claim).
// At the end every timestamp issued by every thread is unique.
// Three physical sources: system_clock; a source that stands still (every
// timestamp comes from the logical counter, which carries into l past
// 65,535); and one that jumps back and forth. Bounded: fixed operation
// counts (a tenth under ThreadSanitizer, a quarter unoptimised), no sleeps.
#include <quiesce/hybrid_logical_clock.hpp>

#include <gtest/gtest.h>

#include "support/stress.hpp"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

namespace {

constexpr std::uint64_t scale = quiesce::test::stress_scale;
constexpr int kThreads = 4;
constexpr std::uint64_t kOps = 200'000 / scale;

using quiesce::hlc_duration;
using quiesce::hlc_timestamp;

// A physical clock shared by the threads, in ticks, which the threads move.
struct shared_source {
  std::atomic<std::uint64_t>* ticks;
  hlc_duration operator()() const noexcept { return hlc_duration(ticks->load(std::memory_order_relaxed)); }
};

// Runs kThreads threads against `clock`; `tick(thread, i)` may move a fake
// physical clock. Checks the per-thread and global properties.
template <class Clock, class Tick>
void hammer(Clock& clock, Tick tick) {
  std::atomic<std::uint64_t> mailbox{0};  // the latest published timestamp's bits
  std::vector<std::vector<std::uint64_t>> issued(kThreads);
  std::vector<std::uint64_t> failures(kThreads, 0);
  std::atomic<int> ready{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      auto& mine = issued[t];
      mine.reserve(kOps);
      ready.fetch_add(1);
      while (ready.load() < kThreads) {
      }
      hlc_timestamp prev{};
      for (std::uint64_t i = 0; i < kOps; ++i) {
        tick(t, i);
        hlc_timestamp ts;
        switch (i % 4) {
          case 0: {
            ts = clock.send();
            mailbox.store(ts.bits(), std::memory_order_release);
            break;
          }
          case 1: {
            const auto remote = hlc_timestamp::from_bits(mailbox.load(std::memory_order_relaxed));
            ts = clock.receive(remote);
            failures[t] += !(remote < ts);
            break;
          }
          case 2: {
            // Acquire another thread's published timestamp: it was issued
            // before our next call, which must therefore return more.
            const auto seen = hlc_timestamp::from_bits(mailbox.load(std::memory_order_acquire));
            ts = clock.now();
            failures[t] += !(seen < ts);
            break;
          }
          default:
            ts = clock.now();
        }
        failures[t] += !(prev < ts);
        prev = ts;
        mine.push_back(ts.bits());
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(failures[t], 0u) << "thread " << t;
  std::vector<std::uint64_t> all;
  for (const auto& v : issued) all.insert(all.end(), v.begin(), v.end());
  ASSERT_EQ(all.size(), kThreads * kOps);
  std::sort(all.begin(), all.end());
  EXPECT_EQ(std::adjacent_find(all.begin(), all.end()), all.end()) << "a timestamp was issued twice";
  EXPECT_EQ(clock.last().bits(), all.back());
}

TEST(HybridLogicalClockStress, SystemClockManyThreads) {
  quiesce::hybrid_logical_clock<> clock;
  hammer(clock, [](int, std::uint64_t) {});
}

TEST(HybridLogicalClockStress, FrozenPhysicalClockCountsAndCarries) {
  std::atomic<std::uint64_t> pt{1'000'000};
  quiesce::hybrid_logical_clock<shared_source> clock(std::chrono::seconds(1), shared_source{&pt});
  hammer(clock, [](int, std::uint64_t) {});
  const hlc_timestamp last = clock.last();
  // kThreads * kOps timestamps from one l: the counter carried into l.
  EXPECT_EQ(last.l(), 1'000'000u + (kThreads * kOps - 1) / 65'536);
  EXPECT_EQ(last.c(), (kThreads * kOps - 1) % 65'536);
}

TEST(HybridLogicalClockStress, PhysicalClockJumpingBackAndForth) {
  std::atomic<std::uint64_t> pt{1'000'000};
  quiesce::hybrid_logical_clock<shared_source> clock(std::chrono::seconds(1), shared_source{&pt});
  hammer(clock, [&pt](int t, std::uint64_t i) {
    if (t != 0 || i % 64 != 0) return;
    if (i % 128 == 0) {
      pt.fetch_add(3);  // net forward, often backward
    } else {
      pt.fetch_sub(2);
    }
  });
}

}  // namespace
