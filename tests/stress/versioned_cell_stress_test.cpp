// Stress: quiesce::versioned_cell<T> under concurrent commits. Checks
//   * N threads x M update(+1): final value exact, final version == N x M
//     (one version per commit, none lost or repeated);
//   * readers never see a torn value or a value with another commit's
//     version: the payload {a, b, version_copy, ...} keeps a + b == const
//     and a == the snapshot's version (every commit adds 1 to a);
//     versions seen by one reader never decrease;
//   * hand-written read/try_commit loops: version == successful commits;
//   * a 64-byte payload (eight words all derived from one counter) is never
//     torn while writers commit and store.
// Bounded: fixed counts (scaled down under sanitizers), no sleeps; readers
// stop when the writers are done.
#include <quiesce/versioned_cell.hpp>

#include <gtest/gtest.h>

#include "support/stress.hpp"

#include <array>
#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

namespace {

using quiesce::versioned_cell;

constexpr std::int64_t scale = quiesce::test::stress_scale;
constexpr int writers = 4;
constexpr int readers = 2;
constexpr std::int64_t per_writer = 300'000 / scale;
constexpr std::int64_t total = 1'000'000'007;

using quiesce::test::start_gate;

// Adds `readers` threads to ts that, once through the gate, read the cell
// until no writer is left (one last read after that), and fail the test and
// stop at the first snapshot that check(snapshot, previous version) rejects.
template <class Cell, class Check>
void add_readers(std::vector<std::thread>& ts, const Cell& cell, start_gate& gate,
                 const std::atomic<int>& writers_left, Check check) {
  for (int r = 0; r < readers; ++r)
    ts.emplace_back([&cell, &gate, &writers_left, check] {
      gate.arrive_and_wait();
      std::uint64_t last = 0;
      for (;;) {
        const bool finished = writers_left.load(std::memory_order_acquire) == 0;
        const auto s = cell.read();
        if (const ::testing::AssertionResult ok = check(s, last); !ok) {
          ADD_FAILURE() << ok.message();
          return;
        }
        last = s.version;
        if (finished) return;
      }
    });
}

struct account {
  std::int64_t a, b;
};

TEST(VersionedCellStress, UpdatesExactAndReadsConsistent) {
  versioned_cell<account> cell{{0, total}};
  std::atomic<int> writers_left{writers};
  start_gate gate(writers + readers);
  std::vector<std::thread> ts;
  for (int t = 0; t < writers; ++t)
    ts.emplace_back([&] {
      gate.arrive_and_wait();
      for (std::int64_t i = 0; i < per_writer; ++i) cell.update([](const account& x) { return account{x.a + 1, x.b - 1}; });
      writers_left.fetch_sub(1, std::memory_order_release);
    });
  add_readers(ts, cell, gate, writers_left, [](const auto& s, std::uint64_t last) -> ::testing::AssertionResult {
    if (s.value.a + s.value.b != total || s.value.a != static_cast<std::int64_t>(s.version) || s.version < last)
      return ::testing::AssertionFailure() << "torn or inconsistent: a=" << s.value.a << " b=" << s.value.b
                                           << " version=" << s.version << " previous version " << last;
    return ::testing::AssertionSuccess();
  });
  for (auto& t : ts) t.join();
  const auto s = cell.read();
  EXPECT_EQ(s.value.a, per_writer * writers);
  EXPECT_EQ(s.value.b, total - per_writer * writers);
  EXPECT_EQ(s.version, static_cast<std::uint64_t>(per_writer * writers));
}

TEST(VersionedCellStress, TryCommitLoopsCountEveryCommit) {
  versioned_cell<std::int64_t> cell{0};
  std::atomic<std::int64_t> successes{0}, failures{0};
  start_gate gate(writers);
  std::vector<std::thread> ts;
  for (int t = 0; t < writers; ++t)
    ts.emplace_back([&] {
      gate.arrive_and_wait();
      std::int64_t ok = 0, bad = 0;
      while (ok < per_writer) {
        const auto s = cell.read();
        if (cell.try_commit(s, s.value + 1)) ++ok;
        else ++bad;
      }
      successes.fetch_add(ok, std::memory_order_relaxed);
      failures.fetch_add(bad, std::memory_order_relaxed);
    });
  for (auto& t : ts) t.join();
  const auto s = cell.read();
  EXPECT_EQ(s.value, successes.load());
  EXPECT_EQ(s.version, static_cast<std::uint64_t>(successes.load()));
  RecordProperty("failed_commits", static_cast<int>(failures.load()));
}

struct wide {
  std::array<std::uint64_t, 8> w;
};
constexpr std::uint64_t mix(std::uint64_t n, std::uint64_t i) { return (n * 0x9e3779b97f4a7c15ULL) ^ (i << 40) ^ n; }
constexpr wide make_wide(std::uint64_t n) {
  wide v{};
  for (std::uint64_t i = 0; i < v.w.size(); ++i) v.w[i] = i == 0 ? n : mix(n, i);
  return v;
}
constexpr bool consistent(const wide& v) {
  for (std::uint64_t i = 1; i < v.w.size(); ++i)
    if (v.w[i] != mix(v.w[0], i)) return false;
  return true;
}

TEST(VersionedCellStress, WidePayloadNeverTorn) {
  versioned_cell<wide> cell{make_wide(0)};
  std::atomic<int> writers_left{2};
  start_gate gate(2 + readers);
  std::vector<std::thread> ts;
  ts.emplace_back([&] {  // updates: w[0] + 1
    gate.arrive_and_wait();
    for (std::int64_t i = 0; i < per_writer; ++i) cell.update([](const wide& v) { return make_wide(v.w[0] + 1); });
    writers_left.fetch_sub(1, std::memory_order_release);
  });
  ts.emplace_back([&] {  // unconditional stores of fresh consistent values, one version each
    gate.arrive_and_wait();
    for (std::int64_t i = 0; i < per_writer; ++i) cell.store(make_wide(1'000'000'000 + static_cast<std::uint64_t>(i)));
    writers_left.fetch_sub(1, std::memory_order_release);
  });
  add_readers(ts, cell, gate, writers_left, [](const auto& s, std::uint64_t last) -> ::testing::AssertionResult {
    if (!consistent(s.value) || s.version < last)
      return ::testing::AssertionFailure() << "torn 64-byte value at version " << s.version;
    return ::testing::AssertionSuccess();
  });
  for (auto& t : ts) t.join();
  EXPECT_EQ(cell.version(), static_cast<std::uint64_t>(2 * per_writer));
  EXPECT_TRUE(consistent(cell.read().value));
}

}  // namespace
