// Unit tests of <quiesce/lockfree/ordered_set.hpp> (lockfree::ordered_set) and
// <quiesce/lockfree/hash_map.hpp> (lockfree::hash_set, lockfree::hash_map):
// sequential semantics, ordering, hash collisions (runs of equal hashes),
// non-trivial and move-only keys and values, exceptions from constructors,
// Hash and Compare (the structure is unchanged and nothing leaks), and that
// destruction plus hazard_pointer_cleanup() frees every object built.
#include <quiesce/hazard_pointer.hpp>
#include <quiesce/lockfree/hash_map.hpp>
#include <quiesce/lockfree/ordered_set.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

namespace {

// Counts live instances (constructed minus destroyed) and can be told to
// throw from its constructor for one value.
struct counted {
  static inline std::atomic<long> live{0};
  static inline std::atomic<long> built{0};
  static inline int throw_on = -1;
  int v = 0;
  std::string pad;  // non-trivial: owns heap memory (LSan sees a leak)
  explicit counted(int x) : v(x), pad(std::string(40, 'a' + static_cast<char>(x % 26))) {
    if (x == throw_on) throw std::runtime_error("counted: told to throw");
    built.fetch_add(1);
    live.fetch_add(1);
  }
  counted(const counted& o) : v(o.v), pad(o.pad) {
    if (o.v == throw_on) throw std::runtime_error("counted: told to throw (copy)");
    built.fetch_add(1);
    live.fetch_add(1);
  }
  counted(counted&& o) noexcept : v(o.v), pad(std::move(o.pad)) {
    built.fetch_add(1);
    live.fetch_add(1);
  }
  ~counted() { live.fetch_sub(1); }
  bool operator==(const counted& o) const noexcept { return v == o.v; }
  bool operator<(const counted& o) const noexcept { return v < o.v; }
};
struct counted_hash {
  std::size_t operator()(const counted& c) const noexcept { return std::hash<int>{}(c.v); }
};

// Frees everything retired so far (the structures retire to the default
// domain) so live counts are exact.
void reclaim_all() { quiesce::hazard_pointer_cleanup(); }

struct LiveCheck : ::testing::Test {
  void SetUp() override {
    reclaim_all();
    counted::throw_on = -1;
    base = counted::live.load();
  }
  void TearDown() override {
    reclaim_all();
    EXPECT_EQ(counted::live.load(), base) << "objects leaked or destroyed twice";
    counted::throw_on = -1;
  }
  long base = 0;
};

// ---------------------------------------------------------------- names

// The structures are in quiesce::lockfree; the names they had in quiesce are
// aliases of the same types, so code written against them builds and
// interoperates (a function taking one accepts the other).
static_assert(std::is_same_v<quiesce::ordered_list_set<int>, quiesce::lockfree::ordered_set<int>>);
static_assert(std::is_same_v<quiesce::lockfree_hash_set<int>, quiesce::lockfree::hash_set<int>>);
static_assert(std::is_same_v<quiesce::lockfree_hash_map<int, long>, quiesce::lockfree::hash_map<int, long>>);
static_assert(std::is_same_v<quiesce::growing_buckets, quiesce::lockfree::growing_buckets>);
static_assert(std::is_same_v<quiesce::fixed_buckets, quiesce::lockfree::fixed_buckets>);
static_assert(std::is_same_v<quiesce::lockfree_hash_map<int, long, std::hash<int>, std::equal_to<int>, quiesce::growing_buckets>,
                             quiesce::lockfree::hash_map<int, long, std::hash<int>, std::equal_to<int>,
                                                         quiesce::lockfree::growing_buckets>>);

TEST(LockfreeNames, EarlierNamesAreTheSameTypes) {
  quiesce::lockfree_hash_map<int, long> m;  // the earlier name
  quiesce::lockfree::hash_map<int, long>& same = m;
  EXPECT_TRUE(same.insert(1, 10));
  EXPECT_EQ(m.find(1), std::optional<long>(10));
}

// ---------------------------------------------------------------- ordered set

TEST(OrderedListSet, InsertEraseContains) {
  quiesce::lockfree::ordered_set<int> s;
  EXPECT_TRUE(s.empty());
  EXPECT_FALSE(s.contains(1));
  EXPECT_TRUE(s.insert(5));
  EXPECT_TRUE(s.insert(1));
  EXPECT_TRUE(s.emplace(3));
  EXPECT_FALSE(s.insert(3));
  EXPECT_FALSE(s.emplace(5));
  EXPECT_TRUE(s.contains(1));
  EXPECT_TRUE(s.contains(3));
  EXPECT_TRUE(s.contains(5));
  EXPECT_FALSE(s.contains(2));
  EXPECT_EQ(s.size(), 3u);
  EXPECT_TRUE(s.erase(3));
  EXPECT_FALSE(s.erase(3));
  EXPECT_FALSE(s.contains(3));
  EXPECT_FALSE(s.erase(42));
  EXPECT_EQ(s.size(), 2u);
  EXPECT_TRUE(s.insert(3));
  EXPECT_TRUE(s.contains(3));
}

TEST(OrderedListSet, ForEachIsAscendingAndStops) {
  quiesce::lockfree::ordered_set<int> s;
  for (int k : {9, 2, 7, 4, 0, 5}) EXPECT_TRUE(s.insert(k));
  std::vector<int> seen;
  s.for_each([&](int k) { seen.push_back(k); });
  EXPECT_EQ(seen, (std::vector<int>{0, 2, 4, 5, 7, 9}));
  seen.clear();
  s.for_each([&](int k) {
    seen.push_back(k);
    return k < 4;  // stop after 4
  });
  EXPECT_EQ(seen, (std::vector<int>{0, 2, 4}));
}

TEST(OrderedListSet, CustomCompare) {
  quiesce::lockfree::ordered_set<int, std::greater<int>> s;
  for (int k : {1, 3, 2}) s.insert(k);
  std::vector<int> seen;
  s.for_each([&](int k) { seen.push_back(k); });
  EXPECT_EQ(seen, (std::vector<int>{3, 2, 1}));
  EXPECT_TRUE(s.erase(2));
  EXPECT_FALSE(s.contains(2));
}

TEST(OrderedListSet, StringsAndMoveOnlyKeys) {
  quiesce::lockfree::ordered_set<std::string> s;
  std::string a(100, 'a');
  EXPECT_TRUE(s.insert(a));
  EXPECT_EQ(a.size(), 100u);  // inserted by copy
  EXPECT_TRUE(s.insert(std::string(50, 'b')));
  EXPECT_TRUE(s.emplace(10, 'c'));
  EXPECT_FALSE(s.emplace(50, 'b'));
  EXPECT_TRUE(s.contains(std::string(10, 'c')));
  EXPECT_TRUE(s.erase(std::string(100, 'a')));
  EXPECT_EQ(s.size(), 2u);

  struct ptr_less {
    bool operator()(const std::unique_ptr<int>& x, const std::unique_ptr<int>& y) const { return *x < *y; }
  };
  quiesce::lockfree::ordered_set<std::unique_ptr<int>, ptr_less> u;
  EXPECT_TRUE(u.insert(std::make_unique<int>(2)));
  EXPECT_TRUE(u.emplace(new int(1)));
  EXPECT_FALSE(u.insert(std::make_unique<int>(2)));
  EXPECT_TRUE(u.contains(std::make_unique<int>(1)));
  EXPECT_TRUE(u.erase(std::make_unique<int>(2)));
  EXPECT_EQ(u.size(), 1u);
}

using OrderedListSetLive = LiveCheck;

TEST_F(OrderedListSetLive, DestructionFreesEverything) {
  {
    quiesce::lockfree::ordered_set<counted> s;
    for (int i = 0; i < 200; ++i) EXPECT_TRUE(s.emplace(i));
    for (int i = 0; i < 200; i += 3) EXPECT_TRUE(s.erase(counted(i)));
    for (int i = 0; i < 50; ++i) EXPECT_FALSE(s.insert(counted(i * 3 + 1)));
    EXPECT_EQ(s.size(), 200u - 67u);
  }
}

TEST_F(OrderedListSetLive, ThrowingConstructorLeavesSetUnchanged) {
  quiesce::lockfree::ordered_set<counted> s;
  for (int i = 0; i < 10; ++i) s.emplace(i);
  counted::throw_on = 20;
  EXPECT_THROW(s.emplace(20), std::runtime_error);
  counted::throw_on = -1;
  counted c20(20);
  counted::throw_on = 20;
  EXPECT_THROW(s.insert(c20), std::runtime_error);  // the copy throws
  counted::throw_on = -1;
  EXPECT_FALSE(s.contains(counted(20)));
  EXPECT_EQ(s.size(), 10u);
}

TEST(OrderedListSet, ThrowingCompareLeavesSetUnchanged) {
  struct picky_less {
    bool operator()(int a, int b) const {
      if (a == 13 || b == 13) throw std::invalid_argument("unlucky");
      return a < b;
    }
  };
  quiesce::lockfree::ordered_set<int, picky_less> s;
  for (int i = 0; i < 20; i += 2) s.insert(i);
  EXPECT_THROW(s.insert(13), std::invalid_argument);
  EXPECT_THROW((void)s.contains(13), std::invalid_argument);
  EXPECT_THROW(s.erase(13), std::invalid_argument);
  EXPECT_EQ(s.size(), 10u);
  EXPECT_TRUE(s.contains(12));
}

// ---------------------------------------------------------------- hash set

TEST(LockfreeHashSet, InsertEraseContainsAndBucketCount) {
  quiesce::lockfree::hash_set<int> s(100);
  EXPECT_EQ(s.bucket_count(), 128u);
  EXPECT_EQ(quiesce::lockfree::hash_set<int>(0).bucket_count(), 1u);
  EXPECT_THROW(quiesce::lockfree::hash_set<int>(std::size_t{1} << 41), std::length_error);
  EXPECT_TRUE(s.empty());
  for (int i = 0; i < 1000; ++i) EXPECT_TRUE(s.insert(i));
  for (int i = 0; i < 1000; ++i) EXPECT_FALSE(s.emplace(i));
  EXPECT_EQ(s.size(), 1000u);
  for (int i = 0; i < 1000; i += 2) EXPECT_TRUE(s.erase(i));
  for (int i = 0; i < 1000; ++i) EXPECT_EQ(s.contains(i), i % 2 == 1) << i;
  long sum = 0;
  s.for_each([&](int k) { sum += k; });
  EXPECT_EQ(sum, 500L * 500L);  // 1 + 3 + ... + 999
}

// Every key hashes alike: one bucket, one run of equal tags compared with
// KeyEqual only. Exercises insertion at the run's end and erasure inside it.
TEST(LockfreeHashSet, AllKeysCollide) {
  struct same_hash {
    std::size_t operator()(int) const noexcept { return 7; }
  };
  quiesce::lockfree::hash_set<int, same_hash> s(16);
  for (int i = 0; i < 64; ++i) EXPECT_TRUE(s.insert(i));
  for (int i = 0; i < 64; ++i) EXPECT_FALSE(s.insert(i));
  for (int i = 0; i < 64; i += 3) EXPECT_TRUE(s.erase(i));
  for (int i = 0; i < 64; ++i) EXPECT_EQ(s.contains(i), i % 3 != 0) << i;
  for (int i = 0; i < 64; i += 3) EXPECT_TRUE(s.insert(i));
  EXPECT_EQ(s.size(), 64u);
  std::vector<int> seen;
  s.for_each([&](int k) { seen.push_back(k); });
  std::sort(seen.begin(), seen.end());
  for (int i = 0; i < 64; ++i) EXPECT_EQ(seen[static_cast<std::size_t>(i)], i);
}

using LockfreeHashSetLive = LiveCheck;

TEST_F(LockfreeHashSetLive, DestructionFreesEverythingAndThrowsCleanly) {
  {
    quiesce::lockfree::hash_set<counted, counted_hash> s(8);
    for (int i = 0; i < 300; ++i) EXPECT_TRUE(s.emplace(i));
    for (int i = 0; i < 300; i += 2) EXPECT_TRUE(s.erase(counted(i)));
    counted c(301);
    counted::throw_on = 301;
    EXPECT_THROW(s.emplace(301), std::runtime_error);
    EXPECT_THROW(s.insert(c), std::runtime_error);  // the copy into the node throws
    counted::throw_on = -1;
    EXPECT_FALSE(s.contains(c));
    EXPECT_EQ(s.size(), 150u);
  }
}

TEST(LockfreeHashSet, ThrowingHashLeavesSetUnchanged) {
  struct picky_hash {
    std::size_t operator()(int k) const {
      if (k == 13) throw std::invalid_argument("unlucky");
      return static_cast<std::size_t>(k);
    }
  };
  quiesce::lockfree::hash_set<int, picky_hash> s(4);
  for (int i = 0; i < 10; ++i) s.insert(i);
  EXPECT_THROW(s.insert(13), std::invalid_argument);
  EXPECT_THROW(s.emplace(13), std::invalid_argument);
  EXPECT_THROW(s.erase(13), std::invalid_argument);
  EXPECT_THROW((void)s.contains(13), std::invalid_argument);
  EXPECT_EQ(s.size(), 10u);
}

// The growing table doubles its bucket count past 2 keys per bucket; the
// fixed one (the default) never changes it. Both hold the same keys.
TEST(LockfreeHashSet, GrowingTableGrowsFixedTableDoesNot) {
  quiesce::lockfree::hash_set<int, std::hash<int>, std::equal_to<int>, quiesce::lockfree::growing_buckets> g(1);
  quiesce::lockfree::hash_set<int> f(1);
  for (int i = 0; i < 2000; ++i) {
    EXPECT_TRUE(g.insert(i));
    EXPECT_TRUE(f.insert(i));
  }
  EXPECT_GE(g.bucket_count(), 512u);  // doubled from 1 to keep <= 2 keys per bucket
  EXPECT_LE(g.bucket_count(), 4096u);
  EXPECT_EQ(f.bucket_count(), 1u);
  for (int i = 0; i < 2000; i += 2) {
    EXPECT_TRUE(g.erase(i));
    EXPECT_TRUE(f.erase(i));
  }
  for (int i = 0; i < 2000; ++i) {
    EXPECT_EQ(g.contains(i), i % 2 == 1) << i;
    EXPECT_EQ(f.contains(i), i % 2 == 1) << i;
  }
  EXPECT_EQ(g.size(), 1000u);
  EXPECT_EQ(f.size(), 1000u);
  long sum = 0;
  g.for_each([&](int k) { sum += k; });
  EXPECT_EQ(sum, 1000L * 1000L);  // 1 + 3 + ... + 1999
}

using GrowingMapLive = LiveCheck;

// The growing table's own destruction path (sentinels in segments, keys in
// node pools) frees every value.
TEST_F(GrowingMapLive, GrowingBucketsMapSemanticsAndNoLeak) {
  {
    quiesce::lockfree::hash_map<counted, counted, counted_hash, std::equal_to<counted>, quiesce::lockfree::growing_buckets> m(4);
    for (int i = 0; i < 100; ++i) EXPECT_TRUE(m.insert(counted(i), counted(i)));
    for (int i = 0; i < 100; i += 2) EXPECT_FALSE(m.insert_or_assign(counted(i), counted(-i)));
    for (int i = 0; i < 100; i += 4) EXPECT_TRUE(m.erase(counted(i)));
    EXPECT_EQ(m.find(counted(2))->v, -2);
    EXPECT_EQ(m.find(counted(3))->v, 3);
    EXPECT_FALSE(m.contains(counted(4)));
    EXPECT_EQ(m.size(), 75u);
    EXPECT_GE(m.bucket_count(), 16u);  // 100 keys: grew from 4
    counted::throw_on = 200;
    EXPECT_THROW(m.emplace(counted(200), 200), std::runtime_error);
    counted::throw_on = -1;
    EXPECT_FALSE(m.contains(counted(200)));
  }
}

// ---------------------------------------------------------------- hash map

TEST(LockfreeHashMap, InsertFindAssignErase) {
  quiesce::lockfree::hash_map<std::string, std::string> m(64);
  EXPECT_TRUE(m.insert("a", "1"));
  EXPECT_FALSE(m.insert("a", "2"));  // present: unchanged
  EXPECT_EQ(m.find("a"), std::optional<std::string>("1"));
  EXPECT_FALSE(m.insert_or_assign("a", "3"));  // replaced
  EXPECT_EQ(m.find("a"), std::optional<std::string>("3"));
  EXPECT_TRUE(m.insert_or_assign("b", "4"));  // inserted
  EXPECT_TRUE(m.emplace("c", 3, 'x'));
  EXPECT_FALSE(m.emplace("c", 3, 'y'));
  EXPECT_EQ(m.find("c"), std::optional<std::string>("xxx"));
  EXPECT_EQ(m.find("zz"), std::nullopt);
  std::string seen;
  EXPECT_TRUE(m.visit("b", [&](const std::string& v) { seen = v; }));
  EXPECT_EQ(seen, "4");
  EXPECT_FALSE(m.visit("q", [&](const std::string&) { ADD_FAILURE() << "visited a missing key"; }));
  EXPECT_EQ(m.size(), 3u);
  EXPECT_TRUE(m.erase("a"));
  EXPECT_FALSE(m.erase("a"));
  EXPECT_FALSE(m.contains("a"));
  EXPECT_TRUE(m.contains("b"));
  std::vector<std::pair<std::string, std::string>> all;
  m.for_each([&](const std::string& k, const std::string& v) { all.emplace_back(k, v); });
  std::sort(all.begin(), all.end());
  EXPECT_EQ(all, (std::vector<std::pair<std::string, std::string>>{{"b", "4"}, {"c", "xxx"}}));
}

TEST(LockfreeHashMap, ReplaceInsideACollidingRun) {
  struct same_hash {
    std::size_t operator()(int) const noexcept { return 1; }
  };
  quiesce::lockfree::hash_map<int, int, same_hash> m(1);
  for (int i = 0; i < 20; ++i) EXPECT_TRUE(m.insert(i, i));
  for (int i = 0; i < 20; i += 2) EXPECT_FALSE(m.insert_or_assign(i, -i));
  for (int i = 0; i < 20; ++i) EXPECT_EQ(m.find(i), std::optional<int>(i % 2 == 0 ? -i : i)) << i;
  for (int i = 0; i < 20; i += 4) EXPECT_TRUE(m.erase(i));
  EXPECT_EQ(m.size(), 15u);
}

TEST(LockfreeHashMap, MoveOnlyValues) {
  quiesce::lockfree::hash_map<int, std::unique_ptr<int>> m(16);
  EXPECT_TRUE(m.insert(1, std::make_unique<int>(10)));
  EXPECT_TRUE(m.emplace(2, new int(20)));
  EXPECT_FALSE(m.insert(1, std::make_unique<int>(11)));
  EXPECT_FALSE(m.insert_or_assign(1, std::make_unique<int>(12)));
  int got = 0;
  EXPECT_TRUE(m.visit(1, [&](const std::unique_ptr<int>& p) { got = *p; }));
  EXPECT_EQ(got, 12);
  EXPECT_TRUE(m.visit(2, [&](const std::unique_ptr<int>& p) { got = *p; }));
  EXPECT_EQ(got, 20);
  EXPECT_TRUE(m.erase(2));
  EXPECT_EQ(m.size(), 1u);
}

using LockfreeHashMapLive = LiveCheck;

TEST_F(LockfreeHashMapLive, DestructionFreesEverything) {
  {
    quiesce::lockfree::hash_map<counted, counted, counted_hash> m(32);
    for (int i = 0; i < 300; ++i) EXPECT_TRUE(m.insert(counted(i), counted(i * 2)));
    for (int i = 0; i < 300; i += 3) EXPECT_FALSE(m.insert_or_assign(counted(i), counted(i * 5)));
    for (int i = 300; i < 320; ++i) EXPECT_TRUE(m.insert_or_assign(counted(i), counted(i)));
    for (int i = 0; i < 300; i += 2) EXPECT_TRUE(m.erase(counted(i)));
    EXPECT_FALSE(m.emplace(counted(1), 99));
    EXPECT_EQ(m.find(counted(3))->v, 15);
    EXPECT_EQ(m.find(counted(1))->v, 2);
    EXPECT_EQ(m.size(), 170u);
  }
}

TEST_F(LockfreeHashMapLive, ThrowingConstructorsLeaveMapUnchanged) {
  quiesce::lockfree::hash_map<int, counted> m(8);
  for (int i = 0; i < 10; ++i) m.insert(i, counted(i));
  counted::throw_on = 77;
  EXPECT_THROW(m.emplace(77, 77), std::runtime_error);  // T's constructor throws in place
  EXPECT_FALSE(m.contains(77));
  counted::throw_on = -1;
  const long before = counted::live.load();
  {
    counted v(5);
    counted::throw_on = 5;
    // insert/insert_or_assign take T by value: the copy into the parameter throws.
    EXPECT_THROW(m.insert_or_assign(5, v), std::runtime_error);
    EXPECT_THROW(m.insert(50, v), std::runtime_error);
    counted::throw_on = -1;
  }
  EXPECT_EQ(counted::live.load(), before);
  EXPECT_EQ(m.find(5)->v, 5);
  EXPECT_FALSE(m.contains(50));
  EXPECT_EQ(m.size(), 10u);
}

TEST_F(LockfreeHashMapLive, ThrowingKeyEqualLeavesMapUnchangedAndFreesTheNode) {
  struct picky_eq {
    bool operator()(int a, int b) const {
      if (a == 13 || b == 13) throw std::invalid_argument("unlucky");
      return a == b;
    }
  };
  struct same_hash {
    std::size_t operator()(int) const noexcept { return 0; }
  };
  {
    quiesce::lockfree::hash_map<int, counted, same_hash, picky_eq> m(2);
    for (int i = 0; i < 5; ++i) m.insert(i, counted(i));
    EXPECT_THROW(m.insert_or_assign(13, counted(13)), std::invalid_argument);
    EXPECT_THROW(m.insert(13, counted(13)), std::invalid_argument);
    EXPECT_THROW((void)m.find(13), std::invalid_argument);
    EXPECT_EQ(m.size(), 5u);
  }
}

}  // namespace
