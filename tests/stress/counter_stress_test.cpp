// Stress: quiesce::cas_counter and quiesce::sharded_counter under concurrent
// adds. Checks
//   * totals exact after join (cas add/increment, sharded increment, with
//     every slot picker, and with fewer shards than threads);
//   * sharded load() never decreases for a reader while increment-only
//     writers run, and is at least every add the reader has synchronised
//     with (writers publish their progress with release, the reader
//     acquires it before load(): the "exact when quiescent" contract, applied
//     to a prefix);
//   * cas_counter::update with an order-sensitive function: every thread
//     applies f(v) = 3v + 1 (mod 2^64) n times, so the result is f^(total)(0)
//     exactly — a lost or repeated update changes it; a running maximum ends
//     at the maximum offered and readers see it grow monotonically; a
//     saturating add stops at its cap.
// Bounded: fixed iteration counts (scaled down under sanitizers), no sleeps.
#include <quiesce/counter.hpp>

#include <gtest/gtest.h>

#include "support/stress.hpp"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

namespace {

using quiesce::cas_counter;
using quiesce::sharded_counter;
namespace dc = quiesce::detail::seqlock;

constexpr std::int64_t scale = quiesce::test::stress_scale;
constexpr int writers = 4;
constexpr std::int64_t per_writer = 1'000'000 / scale;

using quiesce::test::start_gate;

template <class F>
void run_threads(int n, F f) {
  start_gate gate(n);
  std::vector<std::thread> ts;
  for (int t = 0; t < n; ++t)
    ts.emplace_back([&, t] {
      gate.arrive_and_wait();
      f(t);
    });
  for (auto& t : ts) t.join();
}

TEST(CounterStress, CasCounterTotalsExact) {
  cas_counter c;
  run_threads(writers, [&](int t) {
    for (std::int64_t i = 0; i < per_writer; ++i) {
      if (t % 2) c.increment(std::memory_order_relaxed);
      else c.add(2);
    }
  });
  EXPECT_EQ(c.load(), per_writer * (2 + 1 + 2 + 1));
}

template <class Picker>
void sharded_totals(std::size_t shards) {
  dc::sharded_counter_base<Picker> c(shards);
  run_threads(writers, [&](int t) {
    for (std::int64_t i = 0; i < per_writer; ++i) c.add(t + 1);
  });
  EXPECT_EQ(c.load(), per_writer * (1 + 2 + 3 + 4)) << "shards " << shards;
}
TEST(CounterStress, ShardedTotalsExact) {
  sharded_counter c;
  run_threads(writers, [&](int) {
    for (std::int64_t i = 0; i < per_writer; ++i) c.increment();
  });
  EXPECT_EQ(c.load(), per_writer * writers);
  sharded_totals<dc::cached_cpu_picker>(1);  // every thread on one slot
  sharded_totals<dc::cached_cpu_picker>(2);
  sharded_totals<dc::cpu_picker>(8);
  sharded_totals<dc::round_robin_picker>(2);
}

TEST(CounterStress, ShardedLoadMonotoneAndCoversSynchronisedAdds) {
  sharded_counter c;
  constexpr int readers = 2;
  constexpr std::int64_t publish_every = 64;
  struct alignas(128) progress {
    std::atomic<std::int64_t> done{0};
  };
  std::vector<progress> prog(writers);
  std::atomic<int> writers_left{writers};
  std::atomic<std::int64_t> loads{0};
  start_gate gate(writers + readers);
  std::vector<std::thread> ts;
  for (int t = 0; t < writers; ++t)
    ts.emplace_back([&, t] {
      gate.arrive_and_wait();
      for (std::int64_t i = 1; i <= per_writer; ++i) {
        c.increment();
        // Release: this writer's first i adds happen-before a reader's
        // acquire load that sees i.
        if (i % publish_every == 0 || i == per_writer) prog[t].done.store(i, std::memory_order_release);
      }
      writers_left.fetch_sub(1, std::memory_order_release);
    });
  for (int r = 0; r < readers; ++r)
    ts.emplace_back([&] {
      gate.arrive_and_wait();
      std::int64_t last = 0, n = 0;
      bool ok = true;
      for (;;) {
        const bool finished = writers_left.load(std::memory_order_acquire) == 0;
        std::int64_t lower = 0;
        for (auto& p : prog) lower += p.done.load(std::memory_order_acquire);
        const std::int64_t v = c.load();
        ++n;
        if (v < last || v < lower || v > per_writer * writers) {
          ADD_FAILURE() << "load " << v << " after " << last << ", synchronised lower bound " << lower;
          ok = false;
          break;
        }
        last = v;
        if (finished) {
          EXPECT_EQ(v, per_writer * writers);  // quiescent: exact
          break;
        }
      }
      loads.fetch_add(n, std::memory_order_relaxed);
      EXPECT_TRUE(ok);
    });
  for (auto& t : ts) t.join();
  EXPECT_EQ(c.load(), per_writer * writers);
  EXPECT_GT(loads.load(), 0);
}

constexpr std::uint64_t f3(std::uint64_t v) { return v * 3 + 1; }

TEST(CounterStress, CasUpdateOrderSensitiveFunctionAppliedExactly) {
  cas_counter c;
  run_threads(writers, [&](int) {
    for (std::int64_t i = 0; i < per_writer; ++i)
      c.update([](std::int64_t v) { return static_cast<std::int64_t>(f3(static_cast<std::uint64_t>(v))); });
  });
  std::uint64_t expect = 0;
  for (std::int64_t i = 0; i < per_writer * writers; ++i) expect = f3(expect);
  EXPECT_EQ(static_cast<std::uint64_t>(c.load()), expect);
}

TEST(CounterStress, CasUpdateRunningMaximum) {
  cas_counter c{-1};
  std::atomic<bool> done{false};
  std::thread reader([&] {
    std::int64_t last = -1;
    while (!done.load(std::memory_order_acquire)) {
      const std::int64_t v = c.load();
      ASSERT_GE(v, last);
      last = v;
    }
  });
  // Thread t offers t, t + writers, t + 2 writers, ... in a scrambled order,
  // so many offers are below the current maximum (no write).
  run_threads(writers, [&](int t) {
    for (std::int64_t i = 0; i < per_writer; ++i) {
      const std::int64_t k = (i * 7919) % per_writer;  // 7919 is prime, per_writer is not a multiple
      const std::int64_t offer = k * writers + t;
      const std::int64_t before = c.update([offer](std::int64_t v) { return std::max(v, offer); });
      ASSERT_GE(c.load(), std::max(before, offer));
    }
  });
  done.store(true, std::memory_order_release);
  reader.join();
  EXPECT_EQ(c.load(), (per_writer - 1) * writers + (writers - 1));
}

TEST(CounterStress, CasUpdateSaturatingAddStopsAtCap) {
  cas_counter c;
  constexpr std::int64_t cap = per_writer * writers / 2 + 3;
  std::atomic<std::int64_t> applied{0};
  run_threads(writers, [&](int) {
    std::int64_t mine = 0;
    for (std::int64_t i = 0; i < per_writer; ++i) {
      const std::int64_t before = c.update([](std::int64_t v) { return v < cap ? v + 1 : cap; });
      if (before < cap) ++mine;
    }
    applied.fetch_add(mine, std::memory_order_relaxed);
  });
  EXPECT_EQ(c.load(), cap);
  EXPECT_EQ(applied.load(), cap);  // exactly cap updates changed the value
}

}  // namespace
