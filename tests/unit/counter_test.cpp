// Unit tests for quiesce/counter.hpp: cas_counter (add, increment, load,
// update with functions that write and ones that do not, wrapping,
// exceptions from f) and sharded_counter (shard counts, bad shard counts,
// exact sums, negative deltas, every slot picker). Concurrency:
// tests/stress/counter_stress_test.cpp.
#include <quiesce/counter.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

using quiesce::cas_counter;
using quiesce::sharded_counter;
namespace dc = quiesce::detail::seqlock;

static_assert(alignof(cas_counter) == 128 && sizeof(cas_counter) == 128);
static_assert(sizeof(dc::shard_slot) == 128);
static_assert(!std::is_copy_constructible_v<cas_counter> && !std::is_copy_constructible_v<sharded_counter>);

TEST(CasCounter, AddIncrementLoad) {
  cas_counter c;
  EXPECT_EQ(c.load(), 0);
  EXPECT_EQ(c.increment(), 0);  // returns the value replaced
  EXPECT_EQ(c.add(41), 1);
  EXPECT_EQ(c.load(), 42);
  EXPECT_EQ(c.add(-50, std::memory_order_relaxed), 42);
  EXPECT_EQ(c.load(std::memory_order_acquire), -8);
  cas_counter d{7};
  EXPECT_EQ(d.load(), 7);
}

TEST(CasCounter, AddWrapsModulo2To64) {
  cas_counter c{std::numeric_limits<std::int64_t>::max()};
  c.increment();
  EXPECT_EQ(c.load(), std::numeric_limits<std::int64_t>::min());
  c.add(-1);
  EXPECT_EQ(c.load(), std::numeric_limits<std::int64_t>::max());
}

TEST(CasCounter, UpdateAppliesFunction) {
  cas_counter c{10};
  EXPECT_EQ(c.update([](std::int64_t v) { return v * 3; }), 10);
  EXPECT_EQ(c.load(), 30);
  // Saturating add with a cap of 35.
  auto sat = [](std::int64_t d) { return [d](std::int64_t v) { return v > 35 - d ? 35 : v + d; }; };
  c.update(sat(4));
  EXPECT_EQ(c.load(), 34);
  c.update(sat(4));
  EXPECT_EQ(c.load(), 35);
  c.update(sat(4));
  EXPECT_EQ(c.load(), 35);
}

TEST(CasCounter, UpdateThatChangesNothingReturnsTheValue) {
  cas_counter c{100};
  EXPECT_EQ(c.update([](std::int64_t v) { return std::max<std::int64_t>(v, 5); }, std::memory_order_acq_rel), 100);
  EXPECT_EQ(c.load(), 100);
  EXPECT_EQ(c.update([](std::int64_t v) { return std::max<std::int64_t>(v, 500); }, std::memory_order_release), 100);
  EXPECT_EQ(c.load(), 500);
}

TEST(CasCounter, UpdateThatThrowsLeavesTheValue) {
  cas_counter c{3};
  EXPECT_THROW(c.update([](std::int64_t) -> std::int64_t { throw std::runtime_error("no"); }), std::runtime_error);
  EXPECT_EQ(c.load(), 3);
}

TEST(ShardedCounter, DefaultShardsArePowerOfTwoCoveringTheCpus) {
  sharded_counter c;
  const long cpus = ::sysconf(_SC_NPROCESSORS_CONF);
  EXPECT_GE(c.shards(), static_cast<std::size_t>(std::max(cpus, 1L)));
  EXPECT_EQ(c.shards() & (c.shards() - 1), 0u);
  EXPECT_EQ(c.load(), 0);
}

TEST(ShardedCounter, ShardCountRoundsUp) {
  EXPECT_EQ(sharded_counter(1).shards(), 1u);
  EXPECT_EQ(sharded_counter(3).shards(), 4u);
  EXPECT_EQ(sharded_counter(64).shards(), 64u);
  EXPECT_EQ(sharded_counter(65).shards(), 128u);
  EXPECT_EQ(sharded_counter(dc::max_shards).shards(), dc::max_shards);
}

TEST(ShardedCounter, BadShardCountsThrowWithTheFix) {
  for (std::size_t bad : {std::size_t{0}, dc::max_shards + 1}) {
    try {
      sharded_counter c(bad);
      FAIL() << "no exception for " << bad << " shards";
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find("pass 1 to 65536"), std::string::npos) << e.what();
    }
  }
}

TEST(ShardedCounter, SumsAddsExactly) {
  sharded_counter c(8);
  for (int i = 0; i < 1000; ++i) c.increment();
  c.add(500);
  c.add(-200);
  EXPECT_EQ(c.load(), 1300);
  c.add(-1301);
  EXPECT_EQ(c.load(), -1);  // goes negative like any int64
}

TEST(ShardedCounter, TotalWrapsModulo2To64) {
  sharded_counter c(2);
  c.add(std::numeric_limits<std::int64_t>::max());
  c.add(2);
  EXPECT_EQ(c.load(), std::numeric_limits<std::int64_t>::min() + 1);
}

// Threads that each add from their own slot choice: exact once joined.
template <class Picker>
void sum_from_threads() {
  dc::sharded_counter_base<Picker> c(4);
  std::vector<std::thread> ts;
  for (int t = 0; t < 6; ++t)
    ts.emplace_back([&c, t] {
      for (int i = 0; i < 1000; ++i) c.add(t + 1);
    });
  for (auto& t : ts) t.join();
  EXPECT_EQ(c.load(), 1000 * (1 + 2 + 3 + 4 + 5 + 6));
}
TEST(ShardedCounter, EveryPickerCountsExactly) {
  sum_from_threads<dc::cached_cpu_picker>();
  sum_from_threads<dc::cpu_picker>();
  sum_from_threads<dc::round_robin_picker>();
}

TEST(ShardedCounter, PickersStayInRange) {
  // The index is reduced by the mask, whatever the picker returns; the CPU
  // pickers return the CPU sched_getcpu reports (or a thread number).
  const unsigned cpu = dc::cpu_picker::index();
  EXPECT_LT(cpu, 1u << 20);
  const unsigned cached = dc::cached_cpu_picker::index();
  EXPECT_LT(cached, 1u << 20);
  EXPECT_EQ(dc::round_robin_picker::index(), dc::round_robin_picker::index());  // stable per thread
}

}  // namespace
