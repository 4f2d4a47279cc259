// Unit tests for quiesce/rcu/hash_map.hpp: every operation, over the four
// domains (typed suite), plus the non-default template parameters, the guard
// types and the fatal misuse checks.
#include <quiesce/rcu/hash_map.hpp>

#include <gtest/gtest.h>

#include "support/rcu_domains.hpp"

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <iterator>
#include <map>
#include <memory>
#include <mutex>
#include <ranges>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

namespace {

using quiesce::test::tracked;

// The domain, guard, barrier and deaths_ come from support/rcu_domains.hpp.
template <class Domain>
class RcuHashMapTest : public quiesce::test::rcu_container_test<Domain> {
 protected:
  template <class K, class V>
  using map = quiesce::rcu_hash_map<K, V, std::hash<K>, std::equal_to<K>, Domain>;
};

TYPED_TEST_SUITE(RcuHashMapTest, quiesce::test::rcu_all_domains);

TYPED_TEST(RcuHashMapTest, StartsEmpty) {
  typename TestFixture::template map<int, int> m;
  EXPECT_TRUE(m.empty());
  EXPECT_EQ(m.size(), 0u);
  typename TestFixture::guard g;
  EXPECT_EQ(m.find(g, 1), nullptr);
  EXPECT_EQ(m.range(g).begin(), m.range(g).end());
}

TYPED_TEST(RcuHashMapTest, InsertThenFind) {
  typename TestFixture::template map<int, std::string> m;
  EXPECT_TRUE(m.insert(1, "one"));
  EXPECT_TRUE(m.insert(2, "two"));
  EXPECT_FALSE(m.empty());
  EXPECT_EQ(m.size(), 2u);
  typename TestFixture::guard g;
  const std::string* one = m.find(g, 1);
  ASSERT_NE(one, nullptr);
  EXPECT_EQ(*one, "one");
  const std::string* two = m.find(g, 2);
  ASSERT_NE(two, nullptr);
  EXPECT_EQ(*two, "two");
  EXPECT_EQ(m.find(g, 3), nullptr);
}

TYPED_TEST(RcuHashMapTest, InsertDuplicateKeepsOldAndFreesNewAtOnce) {
  std::atomic<int>& deaths = this->deaths_;
  {
    typename TestFixture::template map<int, tracked> m;
    EXPECT_TRUE(m.insert(7, tracked(70, &deaths)));
    EXPECT_FALSE(m.insert(7, tracked(71, &deaths)));
    // The rejected entry was never published: destroyed before insert returned.
    EXPECT_EQ(deaths.load(), 1);
    EXPECT_EQ(m.size(), 1u);
    typename TestFixture::guard g;
    const tracked* t = m.find(g, 7);
    ASSERT_NE(t, nullptr);
    EXPECT_EQ(t->value, 70);
  }
  TestFixture::barrier();
  EXPECT_EQ(deaths.load(), 2);
}

TYPED_TEST(RcuHashMapTest, InsertOrAssignRetiresReplacedValue) {
  std::atomic<int>& deaths = this->deaths_;
  typename TestFixture::template map<int, tracked> m;
  EXPECT_TRUE(m.insert_or_assign(5, tracked(50, &deaths)));  // added
  EXPECT_FALSE(m.insert_or_assign(5, tracked(51, &deaths)));  // replaced
  EXPECT_FALSE(m.insert_or_assign(5, tracked(52, &deaths)));  // replaced
  EXPECT_EQ(m.size(), 1u);
  {
    typename TestFixture::guard g;
    const tracked* t = m.find(g, 5);
    ASSERT_NE(t, nullptr);
    EXPECT_EQ(t->value, 52);
  }
  TestFixture::barrier();
  EXPECT_EQ(deaths.load(), 2);  // 50 and 51, after a grace period
}

TYPED_TEST(RcuHashMapTest, ReplacedValueStaysValidUntilGuardEnds) {
  std::atomic<int>& deaths = this->deaths_;
  typename TestFixture::template map<int, tracked> m;
  m.insert(1, tracked(10, &deaths));
  {
    typename TestFixture::guard g;
    const tracked* old = m.find(g, 1);
    ASSERT_NE(old, nullptr);
    m.insert_or_assign(1, tracked(11, &deaths));  // nested section inside
    EXPECT_EQ(m.erase(1), true);
    // Retired twice over, but this thread's section still holds them.
    EXPECT_EQ(old->value, 10);
    EXPECT_EQ(m.find(g, 1), nullptr);
  }
  TestFixture::barrier();
  EXPECT_EQ(deaths.load(), 2);
}

TYPED_TEST(RcuHashMapTest, EraseRemovesAndRetires) {
  std::atomic<int>& deaths = this->deaths_;
  typename TestFixture::template map<int, tracked> m;
  for (int i = 0; i < 10; ++i) m.insert(i, tracked(i, &deaths));
  EXPECT_TRUE(m.erase(3));
  EXPECT_TRUE(m.erase(7));
  EXPECT_EQ(m.size(), 8u);
  {
    typename TestFixture::guard g;
    EXPECT_EQ(m.find(g, 3), nullptr);
    EXPECT_EQ(m.find(g, 7), nullptr);
    for (int i : {0, 1, 2, 4, 5, 6, 8, 9}) {
      const tracked* t = m.find(g, i);
      ASSERT_NE(t, nullptr) << i;
      EXPECT_EQ(t->value, i);
    }
  }
  TestFixture::barrier();
  EXPECT_EQ(deaths.load(), 2);
  // Erased keys can come back.
  EXPECT_TRUE(m.insert(3, tracked(33, &deaths)));
  typename TestFixture::guard g;
  ASSERT_NE(m.find(g, 3), nullptr);
  EXPECT_EQ(m.find(g, 3)->value, 33);
}

TYPED_TEST(RcuHashMapTest, EraseMissingKeyReturnsFalse) {
  typename TestFixture::template map<int, int> m;
  EXPECT_FALSE(m.erase(42));
  m.insert(1, 1);
  EXPECT_FALSE(m.erase(42));
  EXPECT_TRUE(m.erase(1));
  EXPECT_FALSE(m.erase(1));
  EXPECT_TRUE(m.empty());
}

TYPED_TEST(RcuHashMapTest, IterationSeesEveryKeyOnce) {
  constexpr int n = 2000;  // several automatic grows from 64 buckets
  typename TestFixture::template map<int, int> m;
  for (int i = 0; i < n; ++i) ASSERT_TRUE(m.insert(i, i * 3));
  typename TestFixture::guard g;
  std::multiset<int> seen;
  for (auto [k, v] : m.range(g)) {
    EXPECT_EQ(v, k * 3);
    seen.insert(k);
  }
  ASSERT_EQ(seen.size(), static_cast<std::size_t>(n));
  int expect = 0;
  for (int k : seen) EXPECT_EQ(k, expect++);
  // Usable with std::ranges, and a second pass sees the same.
  auto r = m.range(g);
  EXPECT_EQ(std::ranges::distance(r.begin(), r.end()), n);
}

TYPED_TEST(RcuHashMapTest, IteratorIsAForwardIterator) {
  using it = typename TestFixture::template map<int, int>::iterator;
  static_assert(std::forward_iterator<it>);
  static_assert(std::is_same_v<std::iter_reference_t<it>, std::pair<const int&, const int&>>);
  typename TestFixture::template map<int, int> m;
  m.insert(1, 10);
  typename TestFixture::guard g;
  auto b = m.range(g).begin();
  auto copy = b++;
  EXPECT_EQ((*copy).first, 1);
  EXPECT_EQ((*copy).second, 10);
  EXPECT_EQ(b, m.range(g).end());
}

TYPED_TEST(RcuHashMapTest, IterationSkipsErasedEntries) {
  typename TestFixture::template map<int, int> m;
  for (int i = 0; i < 100; ++i) m.insert(i, i);
  for (int i = 0; i < 100; i += 2) m.erase(i);
  typename TestFixture::guard g;
  std::set<int> seen;
  for (auto [k, v] : m.range(g)) {
    EXPECT_EQ(k % 2, 1);
    seen.insert(k);
  }
  EXPECT_EQ(seen.size(), 50u);
}

TYPED_TEST(RcuHashMapTest, SizeTracksInsertAndErase) {
  typename TestFixture::template map<int, int> m;
  for (int i = 0; i < 500; ++i) m.insert(i, i);
  EXPECT_EQ(m.size(), 500u);
  for (int i = 0; i < 500; i += 5) m.erase(i);
  EXPECT_EQ(m.size(), 400u);
  for (int i = 0; i < 500; ++i) m.insert_or_assign(i, -i);
  EXPECT_EQ(m.size(), 500u);
}

TYPED_TEST(RcuHashMapTest, ResizeKeepsEveryEntry) {
  if constexpr (TestFixture::is_qsbr) {
    // resize() does not compile for QSBR (tests/compile_fail); automatic
    // resizing must still keep every entry reachable.
    typename TestFixture::template map<int, int> m(1);
    for (int i = 0; i < 1000; ++i) m.insert(i, i);
    quiesce::rcu_quiescent_state();
    EXPECT_EQ(m.size(), 1000u);
    typename TestFixture::guard g;
    for (int i = 0; i < 1000; ++i) {
      const int* v = m.find(g, i);
      ASSERT_NE(v, nullptr) << i;
      EXPECT_EQ(*v, i);
    }
  } else {
    typename TestFixture::template map<int, int> m(1);
    for (int i = 0; i < 1000; ++i) m.insert(i, i);
    for (std::size_t buckets : {std::size_t{4096}, std::size_t{1}, std::size_t{0}, std::size_t{300},
                                std::size_t{1} << 16, std::size_t{2}}) {
      m.resize(buckets);
      EXPECT_EQ(m.size(), 1000u) << buckets;
      typename TestFixture::guard g;
      for (int i = 0; i < 1000; ++i) {
        const int* v = m.find(g, i);
        ASSERT_NE(v, nullptr) << i << " after resize(" << buckets << ")";
        EXPECT_EQ(*v, i);
      }
    }
    EXPECT_THROW(m.resize(m.max_bucket_request + 1), std::length_error);
  }
}

TYPED_TEST(RcuHashMapTest, ClearRetiresEverything) {
  std::atomic<int>& deaths = this->deaths_;
  typename TestFixture::template map<int, tracked> m;
  for (int i = 0; i < 300; ++i) m.insert(i, tracked(i, &deaths));
  m.clear();
  EXPECT_TRUE(m.empty());
  EXPECT_EQ(m.size(), 0u);
  TestFixture::barrier();
  EXPECT_EQ(deaths.load(), 300);
  m.clear();  // clearing an empty map is fine
  EXPECT_TRUE(m.insert(1, tracked(1, &deaths)));
  EXPECT_EQ(m.size(), 1u);
}

TYPED_TEST(RcuHashMapTest, DestructionRetiresEveryEntry) {
  std::atomic<int>& deaths = this->deaths_;
  {
    typename TestFixture::template map<int, tracked> m;
    for (int i = 0; i < 1000; ++i) m.insert(i, tracked(i, &deaths));
    for (int i = 0; i < 1000; i += 10) m.insert_or_assign(i, tracked(i, &deaths));
  }
  TestFixture::barrier();
  EXPECT_EQ(deaths.load(), 1100);
}

// Empty tables of every size work and are destroyed cleanly; a large table
// with a few entries retires exactly those entries when destroyed.
TYPED_TEST(RcuHashMapTest, DestructionOfEmptyAndLargeTables) {
  std::atomic<int>& deaths = this->deaths_;
  {
    typename TestFixture::template map<int, tracked> empty_default;
    EXPECT_TRUE(empty_default.empty());
    EXPECT_EQ(empty_default.size(), 0u);
  }
  {
    typename TestFixture::template map<int, tracked> empty_one(0);
    EXPECT_TRUE(empty_one.empty());
    EXPECT_TRUE(empty_one.insert(1, tracked(1, &deaths)));
    EXPECT_EQ(empty_one.size(), 1u);
  }
  {
    typename TestFixture::template map<int, tracked> big(1 << 16);
    EXPECT_TRUE(big.empty());
    for (int i = 0; i < 5; ++i) EXPECT_TRUE(big.insert(i << 20, tracked(i, &deaths)));
    EXPECT_EQ(big.size(), 5u);
  }
  TestFixture::barrier();
  EXPECT_EQ(deaths.load(), 6) << "every entry retired once, nothing else";
}

TYPED_TEST(RcuHashMapTest, MoveOnlyValues) {
  typename TestFixture::template map<std::string, std::unique_ptr<int>> m;
  EXPECT_TRUE(m.insert("a", std::make_unique<int>(1)));
  EXPECT_FALSE(m.insert("a", std::make_unique<int>(2)));
  EXPECT_FALSE(m.insert_or_assign("a", std::make_unique<int>(3)));
  typename TestFixture::guard g;
  const std::unique_ptr<int>* p = m.find(g, std::string("a"));
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(**p, 3);
}

TYPED_TEST(RcuHashMapTest, ConstMapReads) {
  typename TestFixture::template map<int, int> m;
  m.insert(1, 2);
  const auto& cm = m;
  typename TestFixture::guard g;
  ASSERT_NE(cm.find(g, 1), nullptr);
  EXPECT_EQ(*cm.find(g, 1), 2);
  EXPECT_EQ(cm.size(), 1u);
  int n = 0;
  for (auto kv : cm.range(g)) n += kv.second;
  EXPECT_EQ(n, 2);
}

TYPED_TEST(RcuHashMapTest, WritersInOtherThreads) {
  typename TestFixture::template map<int, int> m;
  quiesce::test::run_threads_joined_offline<typename TestFixture::domain>(4, [&m](int t) {
    for (int i = 0; i < 250; ++i) m.insert(t * 1000 + i, i);
    for (int i = 0; i < 250; i += 2) m.erase(t * 1000 + i);
    for (int i = 1; i < 250; i += 2) m.insert_or_assign(t * 1000 + i, -i);
  });
  EXPECT_EQ(m.size(), 500u);
  typename TestFixture::guard g;
  for (int t = 0; t < 4; ++t) {
    for (int i = 0; i < 250; ++i) {
      const int* v = m.find(g, t * 1000 + i);
      if (i % 2 == 0) {
        EXPECT_EQ(v, nullptr);
      } else {
        ASSERT_NE(v, nullptr);
        EXPECT_EQ(*v, -i);
      }
    }
  }
}

// ---- template parameters, guard types ----

// Every key hashes alike: the whole table is one chain, so KeyEqual alone
// tells entries apart.
struct constant_hash {
  std::size_t operator()(int) const noexcept { return 12345; }
};

TEST(RcuHashMap, CollidingHashesStillDistinguishKeys) {
  quiesce::rcu_hash_map<int, int, constant_hash> m;
  for (int i = 0; i < 200; ++i) ASSERT_TRUE(m.insert(i, i + 1));
  EXPECT_FALSE(m.insert(100, 0));
  for (int i = 0; i < 200; i += 2) ASSERT_TRUE(m.erase(i));
  EXPECT_EQ(m.size(), 100u);
  quiesce::rcu_read_guard g;
  for (int i = 0; i < 200; ++i) {
    const int* v = m.find(g, i);
    if (i % 2 == 0) {
      EXPECT_EQ(v, nullptr);
    } else {
      ASSERT_NE(v, nullptr);
      EXPECT_EQ(*v, i + 1);
    }
  }
}

// Case-insensitive keys: a stateful hasher and a non-default KeyEqual.
struct ci_hash {
  int salt = 0;
  std::size_t operator()(const std::string& s) const {
    std::size_t h = static_cast<std::size_t>(salt);
    for (char c : s) h = h * 131 + static_cast<unsigned char>(c | 0x20);
    return h;
  }
};
struct ci_equal {
  bool operator()(const std::string& a, const std::string& b) const {
    return std::ranges::equal(a, b, [](char x, char y) { return (x | 0x20) == (y | 0x20); });
  }
};

TEST(RcuHashMap, CustomHashAndKeyEqual) {
  quiesce::rcu_hash_map<std::string, int, ci_hash, ci_equal> m(16, ci_hash{7}, ci_equal{});
  EXPECT_TRUE(m.insert("Hello", 1));
  EXPECT_FALSE(m.insert("HELLO", 2));
  EXPECT_FALSE(m.insert_or_assign("hello", 3));
  EXPECT_EQ(m.size(), 1u);
  quiesce::rcu_read_guard g;
  ASSERT_NE(m.find(g, "hElLo"), nullptr);
  EXPECT_EQ(*m.find(g, "hElLo"), 3);
  for (auto [k, v] : m.range(g)) EXPECT_EQ(k, "hello");  // the replacing entry's key
}

TEST(RcuHashMap, PointerKeysSpreadOverBuckets) {
  // std::hash of aligned pointers has zero low bits; the map mixes them.
  std::vector<std::unique_ptr<long double>> objs;
  quiesce::rcu_hash_map<const long double*, int> m;
  for (int i = 0; i < 1000; ++i) {
    objs.push_back(std::make_unique<long double>(i));
    ASSERT_TRUE(m.insert(objs.back().get(), i));
  }
  quiesce::rcu_read_guard g;
  for (int i = 0; i < 1000; ++i) {
    const int* v = m.find(g, objs[static_cast<std::size_t>(i)].get());
    ASSERT_NE(v, nullptr);
    EXPECT_EQ(*v, i);
  }
}

TEST(RcuHashMap, AcceptsEveryReadGuardOfItsDomain) {
  quiesce::rcu_hash_map<int, int> m;
  m.insert(1, 1);
  {
    std::scoped_lock l(quiesce::rcu_default_domain());
    EXPECT_NE(m.find(l, 1), nullptr);
    EXPECT_NE(m.range(l).begin(), m.range(l).end());
  }
  {
    std::unique_lock l(quiesce::rcu_default_domain());
    EXPECT_NE(m.find(l, 1), nullptr);
  }
  {
    std::lock_guard l(quiesce::rcu_default_domain());
    EXPECT_NE(m.find(l, 1), nullptr);
  }
}

TEST(RcuHashMap, ConstructorRejectsHugeBucketCounts) {
  using map = quiesce::rcu_hash_map<int, int>;
  EXPECT_THROW(map m(map::max_bucket_request + 1), std::length_error);
}

TEST(RcuHashMap, ResizeRoundsToPowersOfTwo) {
  // liburcu 0.13.2 loops forever on a resize target that is not a power of
  // two; the map rounds it up.
  quiesce::rcu_hash_map<int, int> m(4);
  for (int i = 0; i < 100; ++i) m.insert(i, i);
  m.resize(100);
  m.resize(3);
  m.resize(1000);
  EXPECT_EQ(m.size(), 100u);
}

// ---- misuse: fatal with a message ----

void destroy_map_inside_read_section() {
  auto m = std::make_unique<quiesce::rcu_hash_map<int, int>>();
  quiesce::rcu_read_guard g;
  m.reset();
}

void resize_map_inside_read_section() {
  using mb_map = quiesce::rcu_hash_map<int, int, std::hash<int>, std::equal_to<int>, quiesce::rcu_mb_domain>;
  mb_map m;
  quiesce::rcu_read_guard g{quiesce::rcu_mb()};
  m.resize(128);
}

struct throwing_equal {
  bool operator()(int, int) const { throw std::runtime_error("no"); }
};

void compare_with_throwing_key_equal() {
  quiesce::rcu_hash_map<int, int, std::hash<int>, throwing_equal> m;
  m.insert(1, 1);
  m.insert(1, 2);  // compares keys inside liburcu
}

TEST(RcuHashMapDeathTest, DestructionInsideReadSectionIsFatal) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(destroy_map_inside_read_section(), "rcu_hash_map destroyed inside a read-side section");
}

TEST(RcuHashMapDeathTest, ResizeInsideReadSectionIsFatal) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(resize_map_inside_read_section(), "resize\\(\\) called inside a read-side section");
}

TEST(RcuHashMapDeathTest, ThrowingKeyEqualIsFatal) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(compare_with_throwing_key_equal(), "KeyEqual threw");
}

}  // namespace
