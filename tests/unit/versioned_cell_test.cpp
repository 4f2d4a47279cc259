// Unit tests for quiesce/versioned_cell.hpp: read, try_commit (fresh,
// stale, forged versions), update (value returned, version +1, f called with
// the current value, f throwing), store, the retry limit (exception type and
// message, with a deterministic conflict forced from inside f), odd-sized
// and non-default-constructible T, layout. Concurrency:
// tests/stress/versioned_cell_stress_test.cpp.
#include <quiesce/retry_limit.hpp>
#include <quiesce/versioned_cell.hpp>

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <type_traits>

#include "support/retry_limit.hpp"

namespace {

using quiesce::versioned_cell;

struct pair16 {
  std::int64_t a, b;
  friend bool operator==(const pair16&, const pair16&) = default;
};
struct odd3 {
  unsigned char x, y, z;
  friend bool operator==(const odd3&, const odd3&) = default;
};
struct no_default {
  explicit no_default(int v) : value(v) {}
  int value;
};

static_assert(alignof(versioned_cell<int>) == 128 && sizeof(versioned_cell<int>) == 128);
static_assert(sizeof(versioned_cell<std::array<std::uint64_t, 15>>) == 128);  // 8 + 120 bytes
static_assert(sizeof(versioned_cell<std::array<std::uint64_t, 16>>) == 256);
static_assert(std::is_base_of_v<std::runtime_error, quiesce::retry_limit_exceeded>);

TEST(VersionedCell, ReadsInitialValueAtVersionZero) {
  versioned_cell<pair16> c{{1, 2}};
  const auto s = c.read();
  EXPECT_EQ(s.value, (pair16{1, 2}));
  EXPECT_EQ(s.version, 0u);
  EXPECT_EQ(c.version(), 0u);
  versioned_cell<int> d;
  EXPECT_EQ(d.read().value, 0);
}

TEST(VersionedCell, CommitSucceedsAndBumpsVersion) {
  versioned_cell<pair16> c{{1, 2}};
  auto s = c.read();
  ASSERT_TRUE(c.try_commit(s, {3, 4}));
  s = c.read();
  EXPECT_EQ(s.value, (pair16{3, 4}));
  EXPECT_EQ(s.version, 1u);
  ASSERT_TRUE(c.try_commit(s, {5, 6}));
  EXPECT_EQ(c.version(), 2u);
}

TEST(VersionedCell, StaleCommitFailsAndWritesNothing) {
  versioned_cell<pair16> c{{1, 2}};
  const auto old = c.read();
  ASSERT_TRUE(c.try_commit(old, {3, 4}));
  EXPECT_FALSE(c.try_commit(old, {9, 9}));  // version moved on
  const auto now = c.read();
  EXPECT_EQ(now.value, (pair16{3, 4}));
  EXPECT_EQ(now.version, 1u);
  // A version the cell never had (ahead of it) fails too.
  EXPECT_FALSE(c.try_commit({now.value, 7}, {9, 9}));
  EXPECT_FALSE(c.try_commit({now.value, ~std::uint64_t{0}}, {9, 9}));
  // Nor one whose doubling wraps onto the current sequence (2 x version):
  // version 1 + 2^63 once committed here (found by fuzz_concurrency_control).
  EXPECT_FALSE(c.try_commit({now.value, now.version + (std::uint64_t{1} << 63)}, {9, 9}));
  EXPECT_EQ(c.version(), 1u);
  EXPECT_EQ(c.read().value, (pair16{3, 4}));
  // The value in `seen` is not compared, only the version.
  EXPECT_TRUE(c.try_commit({pair16{0, 0}, 1}, {7, 8}));
  EXPECT_EQ(c.read().value, (pair16{7, 8}));
}

TEST(VersionedCell, UpdateAppliesFunctionToCurrentValue) {
  versioned_cell<pair16> c{{10, 20}};
  const pair16 r = c.update([](const pair16& p) { return pair16{p.a + 1, p.b - 1}; });
  EXPECT_EQ(r, (pair16{11, 19}));
  EXPECT_EQ(c.read().value, (pair16{11, 19}));
  EXPECT_EQ(c.version(), 1u);
  for (int i = 0; i < 10; ++i) c.update([](const pair16& p) { return pair16{p.a + 1, p.b - 1}; });
  EXPECT_EQ(c.read().value, (pair16{21, 9}));
  EXPECT_EQ(c.version(), 11u);
}

TEST(VersionedCell, UpdateThatThrowsCommitsNothing) {
  versioned_cell<int> c{5};
  EXPECT_THROW(c.update([](const int&) -> int { throw std::logic_error("f"); }), std::logic_error);
  EXPECT_EQ(c.read().value, 5);
  EXPECT_EQ(c.version(), 0u);
}

TEST(VersionedCell, StoreCommitsUnconditionally) {
  versioned_cell<odd3> c{{1, 2, 3}};
  c.store({4, 5, 6});
  c.store({7, 8, 9});
  const auto s = c.read();
  EXPECT_EQ(s.value, (odd3{7, 8, 9}));
  EXPECT_EQ(s.version, 2u);
}

TEST(VersionedCell, NonDefaultConstructibleValue) {
  versioned_cell<no_default> c{no_default{3}};
  c.update([](const no_default& v) { return no_default{v.value * 2}; });
  EXPECT_EQ(c.read().value.value, 6);
}

// f commits to the cell itself on its first calls, so the update's own
// commit always conflicts: deterministic, single-threaded conflicts.
TEST(VersionedCell, ConflictIsRetriedWithFreshValue) {
  versioned_cell<int> c{0};
  int calls = 0;
  const int r = c.update([&](const int& v) {
    if (++calls <= 3) c.store(v + 100);  // someone else commits meanwhile
    return v + 1;
  });
  EXPECT_EQ(calls, 4);
  EXPECT_EQ(r, 301);  // computed from the value after the three interfering stores
  EXPECT_EQ(c.read().value, 301);
  EXPECT_EQ(c.version(), 4u);  // three stores + the update
}

TEST(VersionedCell, RetryLimitThrowsWithMessage) {
  versioned_cell<int> c{0};
  int calls = 0;
  quiesce::versioned_cell_options opts;
  opts.max_retries = 5;
  opts.max_backoff = 8;
  ASSERT_NO_FATAL_FAILURE(quiesce::test::expect_retry_limit_exceeded(
      [&] {
        c.update(
            [&](const int& v) {
              ++calls;
              c.store(v + 100);  // always beaten
              return v + 1;
            },
            opts);
      },
      {"versioned_cell::update: gave up after 6 attempts", "max_retries = 5", "nothing was committed"}));
  EXPECT_EQ(calls, 6);
  EXPECT_EQ(c.read().value, 600);  // only the interfering stores
  EXPECT_EQ(c.version(), 6u);
}

TEST(VersionedCell, ZeroRetriesMeansOneAttempt) {
  versioned_cell<int> c{0};
  int calls = 0;
  quiesce::versioned_cell_options opts;
  opts.max_retries = 0;
  EXPECT_THROW(c.update(
                   [&](const int& v) {
                     ++calls;
                     c.store(v + 1);
                     return v;
                   },
                   opts),
               quiesce::retry_limit_exceeded);
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(c.update([](const int& v) { return v + 1; }, opts), 2);
}

}  // namespace
