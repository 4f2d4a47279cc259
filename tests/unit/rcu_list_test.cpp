// Unit tests for quiesce/rcu/list.hpp: every operation, over the four domains
// (typed suite), plus guard types, readers standing on removed elements and
// the fatal misuse check.
#include <quiesce/rcu/list.hpp>

#include <gtest/gtest.h>

#include "support/rcu_domains.hpp"

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <iterator>
#include <memory>
#include <mutex>
#include <ranges>
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
class RcuListTest : public quiesce::test::rcu_container_test<Domain> {
 protected:
  template <class T>
  using list = quiesce::rcu_list<T, Domain>;
  using guard = quiesce::rcu_read_guard<Domain>;

  // The elements as a reader sees them now.
  template <class T>
  static std::vector<int> contents(const list<T>& l) {
    guard g;
    std::vector<int> out;
    for (const T& x : l.range(g)) out.push_back(value_of(x));
    return out;
  }
  static int value_of(int x) { return x; }
  static int value_of(const tracked& x) { return x.value; }
};

TYPED_TEST_SUITE(RcuListTest, quiesce::test::rcu_all_domains);

using ints = std::vector<int>;

TYPED_TEST(RcuListTest, StartsEmpty) {
  typename TestFixture::template list<int> l;
  EXPECT_TRUE(l.empty());
  EXPECT_EQ(l.size(), 0u);
  typename TestFixture::guard g;
  EXPECT_EQ(l.range(g).begin(), l.range(g).end());
  EXPECT_EQ(l.find_if(g, [](int) { return true; }), nullptr);
}

TYPED_TEST(RcuListTest, PushFrontAndBackKeepOrder) {
  typename TestFixture::template list<int> l;
  l.push_back(2);
  l.push_back(3);
  l.push_front(1);
  l.push_front(0);
  l.push_back(4);
  EXPECT_EQ(TestFixture::contents(l), (ints{0, 1, 2, 3, 4}));
  EXPECT_EQ(l.size(), 5u);
  EXPECT_FALSE(l.empty());
}

TYPED_TEST(RcuListTest, PushFrontOnlyAndPushBackOnly) {
  typename TestFixture::template list<int> front;
  typename TestFixture::template list<int> back;
  for (int i = 0; i < 5; ++i) {
    front.push_front(i);
    back.push_back(i);
  }
  EXPECT_EQ(TestFixture::contents(front), (ints{4, 3, 2, 1, 0}));
  EXPECT_EQ(TestFixture::contents(back), (ints{0, 1, 2, 3, 4}));
}

TYPED_TEST(RcuListTest, FindIfReturnsFirstMatch) {
  typename TestFixture::template list<std::string> l;
  l.push_back("apple");
  l.push_back("banana");
  l.push_back("blueberry");
  typename TestFixture::guard g;
  const std::string* b = l.find_if(g, [](const std::string& s) { return s[0] == 'b'; });
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(*b, "banana");
  EXPECT_EQ(l.find_if(g, [](const std::string& s) { return s == "cherry"; }), nullptr);
  // A stateful predicate, called once per element up to the match.
  int calls = 0;
  (void)l.find_if(g, [&calls](const std::string& s) {
    ++calls;
    return s == "blueberry";
  });
  EXPECT_EQ(calls, 3);
}

TYPED_TEST(RcuListTest, EraseIfRemovesMatchesAndRetiresThem) {
  std::atomic<int>& deaths = this->deaths_;
  typename TestFixture::template list<tracked> l;
  for (int i = 0; i < 10; ++i) l.push_back(tracked(i, &deaths));
  EXPECT_EQ(l.erase_if([](const tracked& t) { return t.value % 2 == 0; }), 5u);
  EXPECT_EQ(l.size(), 5u);
  EXPECT_EQ(TestFixture::contents(l), (ints{1, 3, 5, 7, 9}));
  TestFixture::barrier();
  EXPECT_EQ(deaths.load(), 5);
  // First, last, and adjacent elements.
  EXPECT_EQ(l.erase_if([](const tracked& t) { return t.value == 1 || t.value == 9; }), 2u);
  EXPECT_EQ(TestFixture::contents(l), (ints{3, 5, 7}));
  EXPECT_EQ(l.erase_if([](const tracked& t) { return t.value >= 3 && t.value <= 5; }), 2u);
  EXPECT_EQ(TestFixture::contents(l), (ints{7}));
  EXPECT_EQ(l.erase_if([](const tracked&) { return true; }), 1u);
  EXPECT_TRUE(l.empty());
  TestFixture::barrier();
  EXPECT_EQ(deaths.load(), 10);
  // The list works after being emptied.
  l.push_back(tracked(42, &deaths));
  l.push_front(tracked(41, &deaths));
  EXPECT_EQ(TestFixture::contents(l), (ints{41, 42}));
}

TYPED_TEST(RcuListTest, EraseIfWithNoMatchChangesNothing) {
  typename TestFixture::template list<int> l;
  EXPECT_EQ(l.erase_if([](int) { return true; }), 0u);
  l.push_back(1);
  l.push_back(2);
  EXPECT_EQ(l.erase_if([](int x) { return x > 5; }), 0u);
  EXPECT_EQ(TestFixture::contents(l), (ints{1, 2}));
  EXPECT_EQ(l.size(), 2u);
}

TYPED_TEST(RcuListTest, EraseIfRetiresWhatItUnlinkedWhenPredThrows) {
  std::atomic<int>& deaths = this->deaths_;
  typename TestFixture::template list<tracked> l;
  for (int i = 0; i < 6; ++i) l.push_back(tracked(i, &deaths));
  EXPECT_THROW(l.erase_if([](const tracked& t) {
    if (t.value == 3) throw std::runtime_error("stop");
    return t.value < 3;
  }),
               std::runtime_error);
  EXPECT_EQ(TestFixture::contents(l), (ints{3, 4, 5}));
  EXPECT_EQ(l.size(), 3u);
  TestFixture::barrier();
  EXPECT_EQ(deaths.load(), 3);
}

TYPED_TEST(RcuListTest, ErasedElementStaysValidUntilGuardEnds) {
  std::atomic<int>& deaths = this->deaths_;
  typename TestFixture::template list<tracked> l;
  for (int i = 0; i < 5; ++i) l.push_back(tracked(i, &deaths));
  {
    typename TestFixture::guard g;
    const tracked* two = l.find_if(g, [](const tracked& t) { return t.value == 2; });
    ASSERT_NE(two, nullptr);
    auto it = std::ranges::find_if(l.range(g), [](const tracked& t) { return t.value == 1; });
    ASSERT_NE(it, l.range(g).end());
    // Unlink the element the iterator stands on and its successor.
    EXPECT_EQ(l.erase_if([](const tracked& t) { return t.value == 1 || t.value == 2; }), 2u);
    EXPECT_EQ(two->value, 2);  // retired, not freed: this section holds it
    EXPECT_EQ(it->value, 1);
    // The reader on the unlinked element continues along its intact links
    // and reaches the end.
    std::vector<int> rest;
    for (++it; it != l.range(g).end(); ++it) rest.push_back(it->value);
    EXPECT_EQ(rest, (ints{2, 3, 4}));
    EXPECT_EQ(TestFixture::contents(l), (ints{0, 3, 4}));
  }
  TestFixture::barrier();
  EXPECT_EQ(deaths.load(), 2);
}

TYPED_TEST(RcuListTest, ClearRetiresEverything) {
  std::atomic<int>& deaths = this->deaths_;
  typename TestFixture::template list<tracked> l;
  l.clear();  // clearing an empty list is fine
  for (int i = 0; i < 100; ++i) l.push_back(tracked(i, &deaths));
  {
    typename TestFixture::guard g;
    auto it = l.range(g).begin();
    l.clear();
    EXPECT_TRUE(l.empty());
    EXPECT_EQ(l.size(), 0u);
    EXPECT_EQ(l.range(g).begin(), l.range(g).end());
    // A reader already inside finishes along the old elements.
    EXPECT_EQ(std::ranges::distance(it, l.range(g).end()), 100);
  }
  TestFixture::barrier();
  EXPECT_EQ(deaths.load(), 100);
  l.push_back(tracked(1, &deaths));
  EXPECT_EQ(TestFixture::contents(l), (ints{1}));
}

TYPED_TEST(RcuListTest, DestructionRetiresEveryElement) {
  std::atomic<int>& deaths = this->deaths_;
  {
    typename TestFixture::template list<tracked> l;
    for (int i = 0; i < 500; ++i) l.push_back(tracked(i, &deaths));
    l.erase_if([](const tracked& t) { return t.value < 100; });
  }
  TestFixture::barrier();
  EXPECT_EQ(deaths.load(), 500);
}

TYPED_TEST(RcuListTest, SizeCountsWriterSide) {
  typename TestFixture::template list<int> l;
  for (int i = 0; i < 50; ++i) l.push_back(i);
  EXPECT_EQ(l.size(), 50u);
  l.erase_if([](int x) { return x % 10 == 0; });
  EXPECT_EQ(l.size(), 45u);
  l.clear();
  EXPECT_EQ(l.size(), 0u);
}

TYPED_TEST(RcuListTest, IteratorIsAForwardIterator) {
  using it = typename TestFixture::template list<int>::iterator;
  static_assert(std::forward_iterator<it>);
  static_assert(std::is_same_v<std::iter_reference_t<it>, const int&>);
  typename TestFixture::template list<int> l;
  l.push_back(1);
  l.push_back(2);
  typename TestFixture::guard g;
  auto b = l.range(g).begin();
  auto copy = b++;
  EXPECT_EQ(*copy, 1);
  EXPECT_EQ(*b, 2);
  EXPECT_EQ(++b, l.range(g).end());
  EXPECT_EQ(std::ranges::distance(l.range(g).begin(), l.range(g).end()), 2);
}

TYPED_TEST(RcuListTest, MoveOnlyElements) {
  typename TestFixture::template list<std::unique_ptr<int>> l;
  l.push_back(std::make_unique<int>(1));
  l.push_front(std::make_unique<int>(0));
  typename TestFixture::guard g;
  const std::unique_ptr<int>* p = l.find_if(g, [](const std::unique_ptr<int>& x) { return *x == 1; });
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(**p, 1);
}

TYPED_TEST(RcuListTest, ConstListReads) {
  typename TestFixture::template list<int> l;
  l.push_back(7);
  const auto& cl = l;
  typename TestFixture::guard g;
  ASSERT_NE(cl.find_if(g, [](int x) { return x == 7; }), nullptr);
  int sum = 0;
  for (int x : cl.range(g)) sum += x;
  EXPECT_EQ(sum, 7);
  EXPECT_FALSE(cl.empty());
  EXPECT_EQ(cl.size(), 1u);
}

TYPED_TEST(RcuListTest, WritersInOtherThreadsAreSerialised) {
  typename TestFixture::template list<int> l;
  quiesce::test::run_threads_joined_offline<typename TestFixture::domain>(4, [&l](int t) {
    for (int i = 0; i < 500; ++i) {
      if (i % 2 == 0)
        l.push_back(t * 1000 + i);
      else
        l.push_front(t * 1000 + i);
    }
    l.erase_if([t](int x) { return x / 1000 == t && x % 4 == 0; });
  });
  EXPECT_EQ(l.size(), 1500u);
  std::vector<int> seen = TestFixture::contents(l);
  ASSERT_EQ(seen.size(), 1500u);
  std::ranges::sort(seen);
  EXPECT_EQ(std::ranges::adjacent_find(seen), seen.end());
  for (int x : seen) EXPECT_NE(x % 4, 0);
}

// ---- guard types ----

TEST(RcuList, AcceptsEveryReadGuardOfItsDomain) {
  quiesce::rcu_list<int> l;
  l.push_back(1);
  {
    std::scoped_lock g(quiesce::rcu_default_domain());
    EXPECT_NE(l.find_if(g, [](int) { return true; }), nullptr);
    EXPECT_NE(l.range(g).begin(), l.range(g).end());
  }
  {
    std::unique_lock g(quiesce::rcu_default_domain());
    EXPECT_NE(l.find_if(g, [](int) { return true; }), nullptr);
  }
  {
    std::lock_guard g(quiesce::rcu_default_domain());
    EXPECT_NE(l.find_if(g, [](int) { return true; }), nullptr);
  }
}

// ---- misuse: fatal with a message ----

void destroy_list_inside_read_section() {
  auto l = std::make_unique<quiesce::rcu_list<int>>();
  l->push_back(1);
  quiesce::rcu_read_guard g;
  l.reset();
}

TEST(RcuListDeathTest, DestructionInsideReadSectionIsFatal) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(destroy_list_inside_read_section(), "rcu_list destroyed inside a read-side section");
}

}  // namespace
