// Unit tests of quiesce::lockfree::treiber_stack<T> and quiesce::lockfree::ms_queue<T>
// (<quiesce/lockfree.hpp>): order, value types (non-trivial, move-only,
// over-aligned), emplace, element lifetimes (every constructed element is
// destroyed exactly once, at the moment the design says), exception safety,
// domains. Multi-threaded checks are in
// tests/stress/lockfree_stack_queue_stress_test.cpp.
#include <quiesce/lockfree.hpp>
#include <quiesce/numa/topology.hpp>

#if QUIESCE_ASAN
#include <sanitizer/asan_interface.h>
#endif

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <latch>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <thread>
#include <utility>
#include <vector>

namespace {

using quiesce::hazard_pointer_domain;
using quiesce::lockfree::ms_queue;
using quiesce::lockfree::treiber_stack;

// Counts live instances (constructions minus destructions) of `counted`.
std::atomic<long> g_live{0};
std::atomic<long> g_constructed{0};

// A non-trivial element that owns heap memory and counts its lifetime. Its
// copy constructor throws on demand (throw_on_copy), as does its move
// constructor (throw_on_move).
struct counted {
  static inline bool throw_on_copy = false;
  static inline bool throw_on_move = false;

  explicit counted(int v) : p(std::make_unique<int>(v)) { born(); }
  counted(const counted& o) : p(o.p ? std::make_unique<int>(*o.p) : nullptr) {
    if (throw_on_copy) throw std::runtime_error("copy");
    born();
  }
  counted(counted&& o) : p(std::move(o.p)) {
    if (throw_on_move) {
      o.p = std::move(p);  // leave the source intact, as a throwing move should
      throw std::runtime_error("move");
    }
    born();
  }
  counted& operator=(const counted&) = delete;
  counted& operator=(counted&&) = delete;
  ~counted() { g_live.fetch_sub(1, std::memory_order_relaxed); }
  int value() const { return p ? *p : -1; }

  std::unique_ptr<int> p;

 private:
  static void born() {
    g_live.fetch_add(1, std::memory_order_relaxed);
    g_constructed.fetch_add(1, std::memory_order_relaxed);
  }
};

// Resets the counters and the throw switches around each test that uses them.
class Lifetimes : public ::testing::Test {
 protected:
  void SetUp() override {
    g_live = 0;
    g_constructed = 0;
    counted::throw_on_copy = false;
    counted::throw_on_move = false;
  }
  void TearDown() override {
    counted::throw_on_copy = false;
    counted::throw_on_move = false;
  }
};

// Move-only and not default constructible.
struct move_only {
  explicit move_only(int v) : v(v) {}
  move_only(move_only&&) noexcept = default;
  move_only(const move_only&) = delete;
  move_only& operator=(const move_only&) = delete;
  move_only& operator=(move_only&&) = delete;
  int v;
};

struct alignas(64) over_aligned {
  std::uint64_t w[3];
};

// ---- what the stack and the queue share, given the order they pop in ---------

template <template <class> class C>
void expect_starts_empty() {
  C<int> c;
  EXPECT_TRUE(c.empty());
  EXPECT_EQ(c.pop(), std::nullopt);
  EXPECT_TRUE(c.empty());
  EXPECT_EQ(&c.domain(), &quiesce::hazard_pointer_default_domain());
}

// Emplaces 5 and pushes 6: they pop as `first` then `second`, then nothing.
template <template <class> class C>
void expect_move_only_values_pop_as(int first, int second) {
  C<move_only> m;
  m.emplace(5);
  m.push(move_only(6));
  EXPECT_EQ(m.pop()->v, first);
  EXPECT_EQ(m.pop()->v, second);
  EXPECT_FALSE(m.pop().has_value());
}

// Pushes {i, i + 1, i + 2} for i = 0 .. 99.
template <class C>
void push_over_aligned(C& c) {
  for (std::uint64_t i = 0; i < 100; ++i) c.push(over_aligned{{i, i + 1, i + 2}});
}

// The next pop returns the value pushed for i.
template <class C>
void expect_pops_over_aligned(C& c, std::uint64_t i) {
  auto v = c.pop();
  ASSERT_TRUE(v);
  EXPECT_EQ(v->w[0], i);
  EXPECT_EQ(v->w[2], i + 2);
}

// Emplaces 1 and 2 into a C<counted> on dom; a push whose copy throws leaves
// them (they pop as `first` then `second`) and the structure usable.
template <template <class> class C>
void expect_throwing_copy_in_push_leaves_it_unchanged(hazard_pointer_domain& dom, int first, int second) {
  C<counted> c(dom);
  c.emplace(1);
  c.emplace(2);
  const counted copied(3);
  counted::throw_on_copy = true;
  EXPECT_THROW(c.push(copied), std::runtime_error);
  counted::throw_on_copy = false;
  EXPECT_EQ(g_live.load(), 3);  // 1, 2 and the copied one
  EXPECT_EQ(c.pop()->value(), first);
  EXPECT_EQ(c.pop()->value(), second);
  EXPECT_FALSE(c.pop());
  c.push(copied);  // still usable
  EXPECT_EQ(c.pop()->value(), 3);
}

// Emplaces 1 and 2 into a C<counted> on dom; a pop whose move throws loses
// that element only: the other one pops as `survivor`, then nothing. Where
// the structure promises a live count right after the throw, it is checked.
template <template <class> class C>
void expect_throwing_move_in_pop_loses_only_that_element(hazard_pointer_domain& dom, int survivor,
                                                         std::optional<long> live_after_throw) {
  C<counted> c(dom);
  c.emplace(1);
  c.emplace(2);
  counted::throw_on_move = true;
  EXPECT_THROW((void)c.pop(), std::runtime_error);
  counted::throw_on_move = false;
  if (live_after_throw) {
    EXPECT_EQ(g_live.load(), *live_after_throw);
  }
  EXPECT_EQ(c.pop()->value(), survivor);
  EXPECT_FALSE(c.pop());
}

// ---- lockfree::treiber_stack -------------------------------------------------

// The earlier names in namespace quiesce are aliases of the same types.
static_assert(std::is_same_v<quiesce::treiber_stack<int>, quiesce::lockfree::treiber_stack<int>>);
static_assert(std::is_same_v<quiesce::ms_queue<int>, quiesce::lockfree::ms_queue<int>>);

TEST(TreiberStack, StartsEmpty) { expect_starts_empty<treiber_stack>(); }

TEST(TreiberStack, LastInFirstOut) {
  treiber_stack<int> s;
  for (int i = 0; i < 1000; ++i) s.push(i);
  EXPECT_FALSE(s.empty());
  for (int i = 999; i >= 0; --i) ASSERT_EQ(s.pop(), i);
  EXPECT_TRUE(s.empty());
  EXPECT_EQ(s.pop(), std::nullopt);
}

TEST(TreiberStack, InterleavedPushAndPop) {
  treiber_stack<int> s;
  s.push(1);
  s.push(2);
  EXPECT_EQ(s.pop(), 2);
  s.push(3);
  EXPECT_EQ(s.pop(), 3);
  EXPECT_EQ(s.pop(), 1);
  EXPECT_EQ(s.pop(), std::nullopt);
  s.push(4);
  EXPECT_EQ(s.pop(), 4);
}

TEST(TreiberStack, StringsCopiedMovedAndEmplaced) {
  treiber_stack<std::string> s;
  const std::string long_one(100, 'x');  // beyond the small-string buffer
  s.push(long_one);
  std::string moved(50, 'y');
  s.push(std::move(moved));
  s.emplace(3, 'b');
  EXPECT_EQ(s.pop(), "bbb");
  EXPECT_EQ(s.pop(), std::string(50, 'y'));
  EXPECT_EQ(s.pop(), long_one);
  EXPECT_EQ(long_one, std::string(100, 'x'));  // push(const T&) copied
}

TEST(TreiberStack, MoveOnlyValues) {
  treiber_stack<std::unique_ptr<int>> s;
  s.push(std::make_unique<int>(1));
  s.emplace(new int(2));
  auto a = s.pop();
  ASSERT_TRUE(a && *a);
  EXPECT_EQ(**a, 2);
  auto b = s.pop();
  ASSERT_TRUE(b && *b);
  EXPECT_EQ(**b, 1);

  expect_move_only_values_pop_as<treiber_stack>(6, 5);
}

TEST(TreiberStack, OverAlignedValues) {
  treiber_stack<over_aligned> s;
  push_over_aligned(s);
  for (std::uint64_t i = 100; i-- > 0;) ASSERT_NO_FATAL_FAILURE(expect_pops_over_aligned(s, i));
}

using TreiberStackLifetimes = Lifetimes;

TEST_F(TreiberStackLifetimes, DestructorDestroysRemainingElements) {
  {
    hazard_pointer_domain dom;
    {
      // A hazard pointer held beside the stack: the thread is not the
      // domain's only holder of records, so pops retire their nodes (the
      // one-holder case frees them at once: SoleHolder below).
      quiesce::hazard_pointer held = quiesce::make_hazard_pointer(dom);
      treiber_stack<counted> s(dom);
      EXPECT_EQ(&s.domain(), &dom);
      for (int i = 0; i < 100; ++i) s.emplace(i);
      EXPECT_EQ(g_live.load(), 100);
      for (int i = 99; i >= 60; --i) {
        auto v = s.pop();
        ASSERT_TRUE(v);
        EXPECT_EQ(v->value(), i);
      }
      // 60 on the stack; the 40 popped nodes hold moved-from elements until
      // their retired nodes are reclaimed.
      EXPECT_EQ(g_live.load(), 100);
      quiesce::hazard_pointer_cleanup(dom);
      EXPECT_EQ(g_live.load(), 60);  // no hazard protects them: all reclaimed
    }
    EXPECT_EQ(g_live.load(), 0);  // the destructor freed the 60 remaining nodes
    const auto st = dom.stats();
    EXPECT_EQ(st.retired, 40u);
    EXPECT_EQ(st.freed_at_once, 0u);
    EXPECT_EQ(st.unreclaimed, 0u);
  }
  EXPECT_EQ(g_live.load(), 0);
  EXPECT_EQ(g_constructed.load(), 140);  // 100 emplaced + 40 moved out
}

TEST_F(TreiberStackLifetimes, RetiredNodesAreFreedByTheDomainAfterTheStack) {
  {
    hazard_pointer_domain dom;
    {
      quiesce::hazard_pointer held = quiesce::make_hazard_pointer(dom);  // pops retire (as above)
      treiber_stack<counted> s(dom);
      for (int i = 0; i < 10; ++i) s.emplace(i);
      for (int i = 0; i < 10; ++i) ASSERT_TRUE(s.pop());
    }
    EXPECT_EQ(g_live.load(), 10);  // retired, not yet reclaimed: the domain owns them
  }  // the domain's destructor runs their deleters
  EXPECT_EQ(g_live.load(), 0);
}

TEST_F(TreiberStackLifetimes, ThrowingCopyInPushLeavesTheStackUnchanged) {
  hazard_pointer_domain dom;
  expect_throwing_copy_in_push_leaves_it_unchanged<treiber_stack>(dom, 2, 1);
  quiesce::hazard_pointer_cleanup(dom);
  EXPECT_EQ(g_live.load(), 0);
}

TEST_F(TreiberStackLifetimes, ThrowingMoveInPopLosesOnlyThatElement) {
  hazard_pointer_domain dom;
  expect_throwing_move_in_pop_loses_only_that_element<treiber_stack>(dom, 1, std::nullopt);  // documented: 2 is lost
  quiesce::hazard_pointer_cleanup(dom);
  EXPECT_EQ(g_live.load(), 0);  // the lost element was destroyed, not leaked
}

// ---- lockfree::ms_queue ------------------------------------------------------

TEST(MsQueue, StartsEmpty) { expect_starts_empty<ms_queue>(); }

TEST(MsQueue, FirstInFirstOut) {
  ms_queue<int> q;
  for (int i = 0; i < 1000; ++i) q.push(i);
  EXPECT_FALSE(q.empty());
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(q.pop(), i);
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.pop(), std::nullopt);
}

TEST(MsQueue, InterleavedPushAndPopRotateTheDummy) {
  ms_queue<int> q;
  for (int round = 0; round < 100; ++round) {
    q.push(round);
    q.push(round + 1000);
    EXPECT_EQ(q.pop(), round);
    EXPECT_FALSE(q.empty());
    EXPECT_EQ(q.pop(), round + 1000);
    EXPECT_TRUE(q.empty());
    EXPECT_EQ(q.pop(), std::nullopt);
  }
}

TEST(MsQueue, StringsCopiedMovedAndEmplaced) {
  ms_queue<std::string> q;
  const std::string long_one(100, 'x');
  q.push(long_one);
  std::string moved(50, 'y');
  q.push(std::move(moved));
  q.emplace(3, 'b');
  EXPECT_EQ(q.pop(), long_one);
  EXPECT_EQ(q.pop(), std::string(50, 'y'));
  EXPECT_EQ(q.pop(), "bbb");
  EXPECT_EQ(long_one, std::string(100, 'x'));
}

TEST(MsQueue, MoveOnlyValues) {
  ms_queue<std::unique_ptr<int>> q;
  q.push(std::make_unique<int>(1));
  q.emplace(new int(2));
  EXPECT_EQ(**q.pop(), 1);
  EXPECT_EQ(**q.pop(), 2);

  expect_move_only_values_pop_as<ms_queue>(5, 6);
}

TEST(MsQueue, OverAlignedValues) {
  ms_queue<over_aligned> q;
  push_over_aligned(q);
  for (std::uint64_t i = 0; i < 100; ++i) ASSERT_NO_FATAL_FAILURE(expect_pops_over_aligned(q, i));
}

using MsQueueLifetimes = Lifetimes;

TEST_F(MsQueueLifetimes, PopDestroysTheValueInTheNewDummyAtOnce) {
  hazard_pointer_domain dom;
  {
    ms_queue<counted> q(dom);
    EXPECT_EQ(&q.domain(), &dom);
    for (int i = 0; i < 10; ++i) q.emplace(i);
    EXPECT_EQ(g_live.load(), 10);
    {
      auto v = q.pop();
      ASSERT_TRUE(v);
      EXPECT_EQ(v->value(), 0);
      EXPECT_EQ(g_live.load(), 10);  // 9 queued + the one returned; the moved-from one is gone
    }
    EXPECT_EQ(g_live.load(), 9);  // without waiting for any reclamation
  }
  EXPECT_EQ(g_live.load(), 0);
}

TEST_F(MsQueueLifetimes, DestructorDestroysRemainingElements) {
  {
    hazard_pointer_domain dom;
    {
      quiesce::hazard_pointer held = quiesce::make_hazard_pointer(dom);  // pops retire (see the stack's)
      ms_queue<counted> q(dom);
      for (int i = 0; i < 100; ++i) q.emplace(i);
      for (int i = 0; i < 40; ++i) ASSERT_EQ(q.pop()->value(), i);
      EXPECT_EQ(g_live.load(), 60);
    }
    EXPECT_EQ(g_live.load(), 0);
    quiesce::hazard_pointer_cleanup(dom);
    const auto st = dom.stats();
    EXPECT_EQ(st.retired, 40u);  // the 40 old dummies
    EXPECT_EQ(st.freed_at_once, 0u);
    EXPECT_EQ(st.unreclaimed, 0u);
  }
  EXPECT_EQ(g_live.load(), 0);
  EXPECT_EQ(g_constructed.load(), 140);
}

TEST_F(MsQueueLifetimes, ThrowingCopyInPushLeavesTheQueueUnchanged) {
  hazard_pointer_domain dom;
  expect_throwing_copy_in_push_leaves_it_unchanged<ms_queue>(dom, 1, 2);
  EXPECT_EQ(g_live.load(), 0);
}

TEST_F(MsQueueLifetimes, ThrowingMoveInPopLosesOnlyThatElement) {
  hazard_pointer_domain dom;
  // Documented: element 1 is lost, destroyed in its node (not leaked) before pop() throws.
  expect_throwing_move_in_pop_loses_only_that_element<ms_queue>(dom, 2, 1);
  EXPECT_EQ(g_live.load(), 0);
}

// ---- both --------------------------------------------------------------------

// Elements pushed by one thread and popped by another (nodes freed by a
// thread other than the allocating one go back to their home pool).
TEST(StackAndQueue, HandOffBetweenThreads) {
  treiber_stack<std::string> s;
  ms_queue<std::string> q;
  std::thread producer([&] {
    for (int i = 0; i < 1000; ++i) {
      s.push(std::to_string(i));
      q.push(std::to_string(i));
    }
  });
  producer.join();
  std::thread consumer([&] {
    for (int i = 999; i >= 0; --i) EXPECT_EQ(s.pop(), std::to_string(i));
    for (int i = 0; i < 1000; ++i) EXPECT_EQ(q.pop(), std::to_string(i));
  });
  consumer.join();
  EXPECT_TRUE(s.empty());
  EXPECT_TRUE(q.empty());
}

// Many short-lived structures in one domain: every node of every one of them
// is accounted for. Rounds 0..24 hold a hazard pointer beside them, so their
// pops retire (and scans run every 16 retires); rounds 25..49 run with the
// thread alone with the domain, so their pops free at once.
TEST(StackAndQueue, ManyStructuresShareADomain) {
  hazard_pointer_domain dom(hazard_pointer_domain::options{.min_threshold = 16});
  quiesce::hazard_pointer held = quiesce::make_hazard_pointer(dom);
  for (int round = 0; round < 50; ++round) {
    if (round == 25) held = quiesce::hazard_pointer();  // hands the record back
    treiber_stack<int> s(dom);
    ms_queue<int> q(dom);
    for (int i = 0; i < 20; ++i) {
      s.push(i);
      q.push(i);
    }
    for (int i = 0; i < 10; ++i) {
      ASSERT_TRUE(s.pop());
      ASSERT_TRUE(q.pop());
    }
  }
  quiesce::hazard_pointer_cleanup(dom);
  const auto st = dom.stats();
  EXPECT_EQ(st.retired, 25u * 20u);
  EXPECT_EQ(st.freed_at_once, 25u * 20u);
  EXPECT_EQ(st.reclaimed, st.retired);
  EXPECT_GT(st.scans, 0u);
}

// ---- one holder of the domain's records: pops free at once -----------------
//
// op_hazards::sole_holder(): a pop on a thread that holds every record
// claimed from the domain frees the node it unlinked at once (counted in
// stats().freed_at_once) instead of retiring it; a record held anywhere else
// (another thread's operation records or cache, a hazard_pointer, a nested
// operation's records) sends the node through retire.

using SoleHolder = Lifetimes;

TEST_F(SoleHolder, AThreadAloneFreesPoppedNodesAtOnce) {
  hazard_pointer_domain dom;
  {
    treiber_stack<counted> s(dom);
    ms_queue<counted> q(dom);
    for (int i = 0; i < 10; ++i) {
      s.emplace(i);
      q.emplace(i);
    }
    for (int i = 0; i < 4; ++i) {
      ASSERT_EQ(s.pop()->value(), 9 - i);
      ASSERT_EQ(q.pop()->value(), i);
    }
    // 6 + 6 queued. The stack's moved-from elements died with their nodes
    // inside the pops (retired, they would live until a scan: 16).
    EXPECT_EQ(g_live.load(), 12);
    const auto st = dom.stats();
    EXPECT_EQ(st.freed_at_once, 8u);
    EXPECT_EQ(st.retired, 0u);
  }
  EXPECT_EQ(g_live.load(), 0);
}

// Pushes and pops 5 on each, checking the values; returns nothing.
void five_rounds(treiber_stack<int>& s, ms_queue<int>& q) {
  for (int i = 0; i < 5; ++i) {
    s.push(i);
    q.push(i);
  }
  for (int i = 0; i < 5; ++i) {
    ASSERT_EQ(s.pop(), 4 - i);
    ASSERT_EQ(q.pop(), i);
  }
}

TEST_F(SoleHolder, AnotherThreadsOperationRecordsSendPopsThroughRetire) {
  hazard_pointer_domain dom;
  treiber_stack<int> s(dom);
  ms_queue<int> q(dom);
  std::latch holding(1), done(1);
  std::thread other([&] {
    q.push(-1);  // a queue push protects the tail: the thread claims its operation records
    holding.count_down();
    done.wait();
  });
  holding.wait();
  ASSERT_EQ(q.pop(), -1);
  ASSERT_NO_FATAL_FAILURE(five_rounds(s, q));
  auto st = dom.stats();
  EXPECT_EQ(st.retired, 11u);
  EXPECT_EQ(st.freed_at_once, 0u);
  done.count_down();
  other.join();  // its exit hook hands its records back: this thread is alone now
  ASSERT_NO_FATAL_FAILURE(five_rounds(s, q));
  st = dom.stats();
  EXPECT_EQ(st.retired, 11u);
  EXPECT_EQ(st.freed_at_once, 10u);
}

TEST_F(SoleHolder, ARecordCachedOnAnotherThreadCounts) {
  hazard_pointer_domain dom;
  treiber_stack<int> s(dom);
  ms_queue<int> q(dom);
  std::latch cached(1), done(1);
  std::thread other([&] {
    { quiesce::hazard_pointer hp = quiesce::make_hazard_pointer(dom); }  // the record stays in its cache
    cached.count_down();
    done.wait();
  });
  cached.wait();
  ASSERT_NO_FATAL_FAILURE(five_rounds(s, q));
  EXPECT_EQ(dom.stats().retired, 10u);
  EXPECT_EQ(dom.stats().freed_at_once, 0u);
  done.count_down();
  other.join();
}

TEST_F(SoleHolder, AHazardPointerOfThisThreadOrHandedToAnotherCounts) {
  hazard_pointer_domain dom;
  treiber_stack<int> s(dom);
  ms_queue<int> q(dom);
  quiesce::hazard_pointer mine = quiesce::make_hazard_pointer(dom);
  ASSERT_NO_FATAL_FAILURE(five_rounds(s, q));
  EXPECT_EQ(dom.stats().retired, 10u);
  // Handed to another thread, which holds it: the record is no longer in
  // this thread's hands, and still counts.
  std::latch holding(1), done(1);
  std::thread other([&, hp = std::move(mine)]() mutable {
    holding.count_down();
    done.wait();
    hp = quiesce::hazard_pointer();  // hands the record back to the domain
  });
  holding.wait();
  ASSERT_NO_FATAL_FAILURE(five_rounds(s, q));
  EXPECT_EQ(dom.stats().retired, 20u);
  done.count_down();
  other.join();
  ASSERT_NO_FATAL_FAILURE(five_rounds(s, q));
  EXPECT_EQ(dom.stats().retired, 20u);
  EXPECT_EQ(dom.stats().freed_at_once, 10u);
}

// An element whose destructor pops from a stack of the same domain: the pop
// nested in the outer one takes records the ordinary way and retires its
// node (the outer pop still protects nodes); the outer pop, once the
// destructor returned, frees its own at once.
struct pops_inner {
  static inline treiber_stack<int>* inner = nullptr;
  static inline int inner_pops = 0;
  int v;
  explicit pops_inner(int x) : v(x) {}
  pops_inner(pops_inner&& o) noexcept : v(o.v) {}
  pops_inner& operator=(pops_inner&&) = delete;
  ~pops_inner() {
    if (inner != nullptr && inner->pop()) ++inner_pops;
  }
};

TEST_F(SoleHolder, APopNestedInAPopRetires) {
  hazard_pointer_domain dom;
  treiber_stack<int> inner(dom);
  ms_queue<pops_inner> q(dom);
  inner.push(1);
  q.emplace(2);
  pops_inner::inner = &inner;
  pops_inner::inner_pops = 0;
  std::optional<pops_inner> got = q.pop();  // destroys the moved-from element inside
  pops_inner::inner = nullptr;
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->v, 2);
  EXPECT_EQ(pops_inner::inner_pops, 1);
  const auto st = dom.stats();
  EXPECT_EQ(st.retired, 1u);        // the inner stack's node
  EXPECT_EQ(st.freed_at_once, 1u);  // the queue's old dummy
}

// A stack's pushes protect nothing, so producers hold no records: one
// consumer popping while they push is the only holder, and frees every node
// at once (the ABA a reused address could cause is harmless to a push: its
// CAS only links the new node before whatever node is at the head).
TEST_F(SoleHolder, StackProducersHoldNoRecords) {
  hazard_pointer_domain dom;
  treiber_stack<int> s(dom);
  constexpr int n = 20000;
  std::vector<int> seen(2 * n, 0);
  std::latch go(3);
  std::vector<std::thread> producers;
  for (int p = 0; p < 2; ++p) {
    producers.emplace_back([&, p] {
      go.arrive_and_wait();
      for (int i = 0; i < n; ++i) s.push(p * n + i);
    });
  }
  go.arrive_and_wait();
  for (int popped = 0; popped < 2 * n;) {
    if (std::optional<int> v = s.pop()) {
      ASSERT_TRUE(*v >= 0 && *v < 2 * n);
      ++seen[static_cast<std::size_t>(*v)];
      ++popped;
    } else {
      std::this_thread::yield();  // not synchronisation: lets the producers run
    }
  }
  for (auto& t : producers) t.join();
  for (int c : seen) ASSERT_EQ(c, 1);
  EXPECT_EQ(dom.stats().freed_at_once, static_cast<std::uint64_t>(2 * n));
  EXPECT_EQ(dom.stats().retired, 0u);
}

// Threads that claim records while one pops alone: each newcomer's claim
// (counted, then fenced) and the popper's check after its CAS see each
// other, so no node a newcomer can reach is freed under it. Every value
// comes out exactly once, every node is freed once (retired or at once), and
// under AddressSanitizer a read of a freed node is a report.
TEST_F(SoleHolder, ThreadsComingAndGoingWhileOnePops) {
  hazard_pointer_domain dom(hazard_pointer_domain::options{.min_threshold = 8});
  constexpr int main_rounds = 60000, helpers = 30, helper_rounds = 400;
  constexpr int total = main_rounds + helpers * helper_rounds;
  std::vector<std::atomic<int>> seen_q(total), seen_s(total);
  std::atomic<std::uint64_t> pops{0};
  {
    ms_queue<counted> q(dom);
    treiber_stack<counted> s(dom);
    auto pop_both = [&] {
      if (auto v = q.pop()) {
        seen_q[static_cast<std::size_t>(v->value())].fetch_add(1);
        pops.fetch_add(1);
      }
      if (auto v = s.pop()) {
        seen_s[static_cast<std::size_t>(v->value())].fetch_add(1);
        pops.fetch_add(1);
      }
    };
    std::atomic<bool> started{false};
    std::thread helpers_thread([&] {
      while (!started.load()) std::this_thread::yield();  // not synchronisation: starts them under way
      for (int h = 0; h < helpers; ++h) {
        std::thread([&, h] {
          for (int i = 0; i < helper_rounds; ++i) {
            const int id = main_rounds + h * helper_rounds + i;
            q.emplace(id);
            s.emplace(id);
            pop_both();
          }
        }).join();
      }
    });
    for (int i = 0; i < main_rounds; ++i) {
      q.emplace(i);
      s.emplace(i);
      pop_both();
      if (i == 100) started.store(true);
    }
    helpers_thread.join();
    for (;;) {  // what is left, on this thread alone
      const std::uint64_t before = pops.load();
      pop_both();
      if (pops.load() == before) break;
    }
  }
  for (int i = 0; i < total; ++i) {
    ASSERT_EQ(seen_q[static_cast<std::size_t>(i)].load(), 1) << "queue value " << i;
    ASSERT_EQ(seen_s[static_cast<std::size_t>(i)].load(), 1) << "stack value " << i;
  }
  quiesce::hazard_pointer_cleanup(dom);
  EXPECT_EQ(g_live.load(), 0);  // the retired stack nodes' moved-from elements died in the cleanup
  const auto st = dom.stats();
  EXPECT_EQ(st.retired + st.freed_at_once, pops.load());
  EXPECT_EQ(st.reclaimed, st.retired);
}

// ---- the operation records (detail::hp::op_hazards) ---------------------------

// A queue element whose destructor, even moved-from, runs operations on other
// structures. ms_queue::pop destroys the moved-from element inside the pop,
// while its two operation records are lent and protect the old and the new
// dummy: the nested operations must take records of their own and leave
// those two protections in place.
struct nests {
  static inline ms_queue<int>* inner_queue = nullptr;
  static inline treiber_stack<int>* inner_stack = nullptr;
  static inline int runs = 0;
  static inline bool saw_records_lent = false;
  static inline bool outer_protections_intact = false;
  static inline bool inner_results_right = false;
  int v;
  explicit nests(int x) : v(x) {}
  nests(nests&& o) noexcept : v(o.v) {}
  ~nests() {
    if (inner_queue == nullptr) return;
    ++runs;
    auto& c = quiesce::detail::hp::tls_cache;
    saw_records_lent = c.op_ready && !c.op_free;
    inner_queue->push(v);
    inner_stack->push(v);
    inner_results_right = inner_queue->pop() == v && inner_stack->pop() == v;
    outer_protections_intact = c.op[0]->ptr.load() != nullptr && c.op[1]->ptr.load() != nullptr;
  }
};

TEST(OperationRecords, AnOperationNestedInAPopTakesRecordsOfItsOwn) {
  ms_queue<int> inner_queue;
  treiber_stack<int> inner_stack;
  ms_queue<nests> q;
  q.push(nests(7));
  nests::inner_queue = &inner_queue;
  nests::inner_stack = &inner_stack;
  std::optional<nests> got = q.pop();  // destroys the moved-from element inside
  const int runs_in_pop = nests::runs;
  nests::inner_queue = nullptr;         // the returned element's destructor: nothing
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->v, 7);
  EXPECT_EQ(runs_in_pop, 1);
  EXPECT_TRUE(nests::saw_records_lent);
  EXPECT_TRUE(nests::inner_results_right);
  EXPECT_TRUE(nests::outer_protections_intact);
  // The loan ended with the pop, and every protection was cleared.
  const auto& c = quiesce::detail::hp::tls_cache;
  EXPECT_TRUE(c.op_free);
  for (const auto* r : c.op) EXPECT_EQ(r->ptr.load(), nullptr);
}

// A thread's operation records go back to the domain when it exits, so
// threads that come and go do not grow the domain's records: 40 threads, one
// after another, each using both structures. (Were they kept, the domain
// would grow by op_slots records per thread, about 120; one set per NUMA
// node is the most a first use on a node may add.)
TEST(OperationRecords, ThreadsHandThemBackAtExit) {
  treiber_stack<int> s;
  ms_queue<int> q;
  auto& dom = quiesce::hazard_pointer_default_domain();
  std::thread([&] {  // a first thread claims what the others will re-use
    s.push(0);
    q.push(0);
  }).join();
  const std::size_t before = dom.stats().hazard_records;
  for (int i = 1; i <= 40; ++i) {
    std::thread([&, i] {
      s.push(i);
      q.push(i);
      EXPECT_EQ(s.pop(), i);
      EXPECT_EQ(q.pop(), i - 1);
    }).join();
  }
  const std::size_t grown = dom.stats().hazard_records - before;
  // At most one set per NUMA node (records are claimed on the thread's node).
  const std::size_t nodes = quiesce::numa::topology::system().nodes().size();
  EXPECT_LE(grown, nodes * quiesce::detail::hp::thread_cache::op_slots);
}

// A thread_local destroyed after the thread's hazard-pointer exit hook (it
// was constructed before the thread's first operation, so it is destroyed
// after the hook) may still use the structures: its operations take records
// the ordinary way.
struct uses_structures_at_exit {
  ms_queue<int>* q = nullptr;
  treiber_stack<int>* s = nullptr;
  std::atomic<int>* result = nullptr;
  ~uses_structures_at_exit() {
    if (q == nullptr) return;
    q->push(5);
    s->push(6);
    const bool right = quiesce::detail::hp::tls_cache.exited && !quiesce::detail::hp::tls_cache.op_ready;
    result->store(right && q->pop() == 5 && s->pop() == 6 ? 1 : 2);
  }
};
thread_local uses_structures_at_exit at_exit_user;

TEST(OperationRecords, UsableAfterTheThreadsExitHook) {
  ms_queue<int> q;
  treiber_stack<int> s;
  std::atomic<int> result{0};
  std::thread([&] {
    at_exit_user.q = &q;  // constructed here, before the first operation
    at_exit_user.s = &s;
    at_exit_user.result = &result;
    q.push(1);
    EXPECT_EQ(q.pop(), 1);
  }).join();
  EXPECT_EQ(result.load(), 1);
  EXPECT_TRUE(q.empty());
  EXPECT_TRUE(s.empty());
}

// ---- the operation records of other domains (thread_cache::other_ops) --------
//
// Each test runs on a thread of its own, so the thread's sets start empty.

namespace {
template <class F>
void on_fresh_thread(F f) {
  std::thread(std::move(f)).join();
}
// The calling thread's set of dom's operation records, or null.
const quiesce::detail::hp::thread_cache::op_set* set_of(const hazard_pointer_domain& dom) {
  for (const auto& set : quiesce::detail::hp::tls_cache.other_ops)
    if (set.domain == quiesce::detail::hp::domain_id(dom)) return &set;
  return nullptr;
}
bool holds_set(const hazard_pointer_domain& dom) { return set_of(dom) != nullptr; }
bool set_idle(const hazard_pointer_domain& dom) {  // free, and every protection cleared
  const auto* set = set_of(dom);
  if (set == nullptr || !set->free) return false;
  for (const auto* r : set->recs)
    if (r->ptr.load() != nullptr) return false;
  return true;
}
}  // namespace

// Structures on a domain of their own borrow a set of the thread's
// operation records: after the first operation the domain's records stop
// growing, however many operations follow.
TEST(OperationRecords, AnotherDomainsOperationsBorrowASetOfRecords) {
  on_fresh_thread([] {
    hazard_pointer_domain dom;
    {
      ms_queue<int> q(dom);
      treiber_stack<int> s(dom);
      q.push(-1);
      s.push(-1);
      EXPECT_TRUE(holds_set(dom));
      EXPECT_TRUE(set_idle(dom));
      const std::size_t records = dom.stats().hazard_records;
      for (int i = 0; i < 10000; ++i) {
        q.push(i);
        s.push(i);
        ASSERT_EQ(q.pop(), i - 1);
        ASSERT_EQ(s.pop(), i);
      }
      EXPECT_EQ(dom.stats().hazard_records, records);
      EXPECT_TRUE(holds_set(dom));
      EXPECT_TRUE(set_idle(dom));
      EXPECT_EQ(q.pop(), 9999);
      EXPECT_EQ(s.pop(), -1);
    }
    quiesce::hazard_pointer_cleanup(dom);
    const auto st = dom.stats();
    EXPECT_EQ(st.reclaimed, st.retired);
  });
}

// Domains destroyed while a thread holds sets of their records: the records
// went with them, and the thread must not touch them (the pool unmaps them,
// and AddressSanitizer watches too) — neither when it needs a set for another
// domain, which then takes a dead domain's place, nor at its exit.
TEST(OperationRecords, ADestroyedDomainsSetIsDroppedUntouched) {
  constexpr int sets = quiesce::detail::hp::thread_cache::other_op_sets;
  on_fresh_thread([] {
    for (int i = 0; i < sets; ++i) {  // every set taken, each domain then destroyed
      hazard_pointer_domain dom;
      ms_queue<int> q(dom);
      q.push(i);
      EXPECT_EQ(q.pop(), i);
      EXPECT_TRUE(holds_set(dom));
    }
    hazard_pointer_domain next;
    treiber_stack<int> s(next);
    s.push(2);
    EXPECT_EQ(s.pop(), 2);  // (a Treiber push protects nothing: the pop is the first operation with records)
    EXPECT_TRUE(holds_set(next));
    EXPECT_TRUE(set_idle(next));
  });
  on_fresh_thread([] {  // destroyed, then the thread exits
    hazard_pointer_domain dom;
    ms_queue<int> q(dom);
    q.push(3);
    EXPECT_EQ(q.pop(), 3);
    EXPECT_TRUE(holds_set(dom));
  });
}

// While every set holds a live domain's records, one more domain's
// operations take records the ordinary way (and give them back), and the
// sets stay as they were.
TEST(OperationRecords, ADomainBeyondTheSetsTakesRecordsTheOrdinaryWay) {
  constexpr int sets = quiesce::detail::hp::thread_cache::other_op_sets;
  on_fresh_thread([] {
    std::vector<std::unique_ptr<hazard_pointer_domain>> held;
    std::vector<std::unique_ptr<ms_queue<int>>> queues;
    for (int i = 0; i < sets; ++i) {
      held.push_back(std::make_unique<hazard_pointer_domain>());
      queues.push_back(std::make_unique<ms_queue<int>>(*held.back()));
      queues.back()->push(i);
      EXPECT_TRUE(holds_set(*held.back()));
    }
    hazard_pointer_domain beyond;
    ms_queue<int> qb(beyond);
    for (int i = 0; i < 1000; ++i) {
      qb.push(i);
      ASSERT_EQ(qb.pop(), i);
    }
    EXPECT_FALSE(holds_set(beyond));
    // Every record the extra domain handed out is free again: it did not
    // grow past one operation's records plus the thread's cache.
    EXPECT_LE(beyond.stats().hazard_records,
              static_cast<std::size_t>(quiesce::detail::hp::thread_cache::op_slots +
                                       quiesce::detail::hp::thread_cache::capacity));
    for (int i = 0; i < sets; ++i) {
      EXPECT_TRUE(set_idle(*held[static_cast<std::size_t>(i)]));
      EXPECT_EQ(queues[static_cast<std::size_t>(i)]->pop(), i);
    }
    queues.clear();  // before their domains
  });
}

// An operation on the same other domain nested in one that holds its set
// (an element's destructor run inside the pop) takes records of its own and
// leaves the outer protections in place.
struct nests_in_domain {
  static inline ms_queue<int>* inner = nullptr;
  static inline const hazard_pointer_domain* dom = nullptr;
  static inline bool saw_lent = false;
  static inline bool outer_intact = false;
  static inline bool inner_right = false;
  int v;
  explicit nests_in_domain(int x) : v(x) {}
  nests_in_domain(nests_in_domain&& o) noexcept : v(o.v) {}
  ~nests_in_domain() {
    if (inner == nullptr) return;
    const auto* set = set_of(*dom);
    saw_lent = set != nullptr && !set->free;
    inner->push(v);
    inner_right = inner->pop() == v;
    outer_intact = set != nullptr && set->recs[0]->ptr.load() != nullptr && set->recs[1]->ptr.load() != nullptr;
  }
};

TEST(OperationRecords, AnOperationNestedOnTheSameOtherDomainTakesItsOwn) {
  on_fresh_thread([] {
    hazard_pointer_domain dom;
    ms_queue<int> inner(dom);
    ms_queue<nests_in_domain> q(dom);
    q.push(nests_in_domain(9));
    nests_in_domain::inner = &inner;
    nests_in_domain::dom = &dom;
    std::optional<nests_in_domain> got = q.pop();
    nests_in_domain::inner = nullptr;
    ASSERT_TRUE(got.has_value());
    EXPECT_EQ(got->v, 9);
    EXPECT_TRUE(nests_in_domain::saw_lent);
    EXPECT_TRUE(nests_in_domain::inner_right);
    EXPECT_TRUE(nests_in_domain::outer_intact);
    EXPECT_TRUE(holds_set(dom));
    EXPECT_TRUE(set_idle(dom));
  });
}

// A thread's set goes back to its live domain when the thread exits: 40
// threads, one after another, do not grow the domain's records.
TEST(OperationRecords, AnotherDomainsSetGoesBackAtExit) {
  hazard_pointer_domain dom;
  ms_queue<int> q(dom);
  on_fresh_thread([&] { q.push(0); });
  const std::size_t before = dom.stats().hazard_records;
  for (int i = 1; i <= 40; ++i) {
    on_fresh_thread([&, i] {
      q.push(i);
      EXPECT_EQ(q.pop(), i - 1);
    });
  }
  const std::size_t grown = dom.stats().hazard_records - before;
  const std::size_t nodes = quiesce::numa::topology::system().nodes().size();
  EXPECT_LE(grown, nodes * quiesce::detail::hp::thread_cache::op_slots);
}

// Threads whose exit hooks run while their domain is being destroyed: each
// hook either hands its set back before the destructor takes the domain out
// of the registry or finds it gone and leaves the freed records alone (both
// under the registry's mutex). Run under TSan and ASan in CI.
TEST(OperationRecords, ThreadsExitWhileTheirDomainIsDestroyed) {
  constexpr int threads = 4;
  for (int round = 0; round < 25; ++round) {
    auto dom = std::make_unique<hazard_pointer_domain>();
    auto q = std::make_unique<ms_queue<int>>(*dom);
    std::atomic<int> done{0};
    std::vector<std::thread> ts;
    for (int t = 0; t < threads; ++t) {
      ts.emplace_back([&q, &done, t] {
        q->push(t);
        (void)q->pop();
        done.fetch_add(1, std::memory_order_release);  // then the thread's exit hooks run
      });
    }
    while (done.load(std::memory_order_acquire) < threads) std::this_thread::yield();
    q.reset();
    dom.reset();  // while the threads may still be in their exit hooks
    for (auto& th : ts) th.join();
  }
}

// ---- ASan poisoning of reclaimed nodes ----------------------------------------

// Records the address of the last element constructed in place (by emplace,
// so inside a node); moves do not update it.
struct where {
  static inline const void* last = nullptr;
  explicit where(std::uint64_t x) : v(x) { last = this; }
  where(where&& o) noexcept : v(o.v) {}
  std::uint64_t v;  // 8 bytes: a whole ASan granule
};

bool poisoned(const void* p) {
#if QUIESCE_ASAN
  return __asan_address_is_poisoned(p) != 0;
#else
  (void)p;
  return false;
#endif
}

// Under ASan the structures poison what nobody may read any more: the queue
// an element's storage once the element has been moved out, both structures
// a node's fields once its deleter ran. Recycled memory is usable again.
TEST(StackAndQueue, ReclaimedStoragePoisonedUnderAsan) {
  if (!quiesce::detail::lockfree::asan_poisoning) GTEST_SKIP() << "needs -fsanitize=address";
  hazard_pointer_domain dom;
  {
    ms_queue<where> q(dom);
    q.emplace(1);
    const void* in_node = where::last;
    EXPECT_FALSE(poisoned(in_node));
    EXPECT_EQ(q.pop()->v, 1u);
    EXPECT_TRUE(poisoned(in_node));  // moved out and destroyed in the new dummy
    q.emplace(2);
    EXPECT_EQ(q.pop()->v, 2u);  // retires the dummy that held 1
    quiesce::hazard_pointer_cleanup(dom);
    EXPECT_TRUE(poisoned(in_node));
  }
  {
    treiber_stack<where> s(dom);
    {
      quiesce::hazard_pointer held = quiesce::make_hazard_pointer(dom);  // not the only holder: pops retire
      s.emplace(3);
      const void* in_node = where::last;
      EXPECT_EQ(s.pop()->v, 3u);
      EXPECT_FALSE(poisoned(in_node));  // retired, not yet reclaimed: still readable
      quiesce::hazard_pointer_cleanup(dom);
      EXPECT_TRUE(poisoned(in_node));  // reclaimed
    }
    s.emplace(4);  // the only holder now: the pop frees the node at once
    const void* in_node = where::last;
    EXPECT_EQ(s.pop()->v, 4u);
    EXPECT_TRUE(poisoned(in_node));
    for (int i = 0; i < 100; ++i) {  // the pool hands the memory out again: unpoisoned
      s.emplace(static_cast<std::uint64_t>(i));
      EXPECT_FALSE(poisoned(where::last));
    }
  }
}

// ---- The spare node (lockfree/detail/node_alloc.hpp) ------------------------
// A thread keeps the last structure node it freed for its next allocation
// of the same pool on the same NUMA node. These tests use node types of
// their own pool family (fresh pools no other test touches).

struct spare_family {};
struct small_node : quiesce::detail::lockfree::pool_node<small_node, spare_family> {
  explicit small_node(quiesce::detail::lockfree::at_home h) noexcept : pool_node(h) {}
  long payload[2] = {};
};
struct large_node : quiesce::detail::lockfree::pool_node<large_node, spare_family> {
  explicit large_node(quiesce::detail::lockfree::at_home h) noexcept : pool_node(h) {}
  long payload[12] = {};
};
static_assert(sizeof(small_node) != sizeof(large_node));  // two pools

void* spare_now() { return quiesce::detail::hp::tls_cache.spare; }
// Installs the calling thread's exit hook (the first hazard pointer does)
// without freeing a structure node.
void open_exit_hook() {
  (void)quiesce::make_hazard_pointer();
  ASSERT_TRUE(quiesce::detail::hp::tls_cache.open);
  ASSERT_EQ(spare_now(), nullptr);
}

TEST(SpareNode, AFreedNodeServesTheNextAllocationOfItsPoolOnly) {
  using quiesce::detail::lockfree::new_node;
  using quiesce::detail::lockfree::node_deleter;
  on_fresh_thread([] {
    open_exit_hook();
    small_node* a = new_node<small_node>();
    node_deleter<small_node>{}(a);
    EXPECT_EQ(spare_now(), a);  // kept
    large_node* b = new_node<large_node>();  // another pool's allocation: not given the small node
    EXPECT_NE(static_cast<void*>(b), static_cast<void*>(a));
    EXPECT_EQ(spare_now(), a);
    small_node* c = new_node<small_node>();  // its pool's: given it
    EXPECT_EQ(c, a);
    EXPECT_EQ(spare_now(), nullptr);
    node_deleter<large_node>{}(b);  // kept
    node_deleter<small_node>{}(c);  // one spare at most: to its pool
    EXPECT_EQ(spare_now(), b);
    large_node* d = new_node<large_node>();
    EXPECT_EQ(d, b);
    node_deleter<large_node>{}(d);
  });
}

TEST(SpareNode, KeptOnlyWhileTheExitHookIsInstalledAndForItsHomeNodeOnly) {
  using quiesce::detail::lockfree::keep_spare;
  using quiesce::detail::lockfree::node_pool_for;
  using quiesce::detail::lockfree::take_spare;
  on_fresh_thread([] {
    quiesce::numa::node_pool& pool = node_pool_for<small_node>(0);
    void* m = pool.allocate();
    ASSERT_FALSE(quiesce::detail::hp::tls_cache.open);
    EXPECT_FALSE(keep_spare<small_node>(m, 0));  // no exit hook yet: nothing would hand it back
    open_exit_hook();
    ASSERT_TRUE(keep_spare<small_node>(m, 1));  // memory of node 1 (as if freed by a node-1 thread's pop)
    EXPECT_EQ(take_spare<small_node>(0), nullptr);  // an allocation for node 0 does not get it
    EXPECT_EQ(take_spare<large_node>(1), nullptr);  // nor one of another pool
    EXPECT_EQ(take_spare<small_node>(1), m);
    EXPECT_EQ(spare_now(), nullptr);
    pool.deallocate(m);
  });
}

// The exit hook hands the spare back to its pool: a thread that exits with
// one leaks nothing. The pool (a family of its own, so fresh) then holds in
// its shared list only what the exiting thread's caches held, and a new
// thread's first allocations (its empty cache fills from the shared list
// first) come across the spare. Without the hand-back it is never seen
// again.
struct exit_family {};
struct exit_node : quiesce::detail::lockfree::pool_node<exit_node, exit_family> {
  explicit exit_node(quiesce::detail::lockfree::at_home h) noexcept : pool_node(h) {}
  long payload[3] = {};
};

TEST(SpareNode, AThreadsExitHandsItsSpareBackToThePool) {
  using quiesce::detail::lockfree::new_node;
  using quiesce::detail::lockfree::node_deleter;
  using quiesce::detail::lockfree::node_pool_for;
  void* kept = nullptr;
  int home = 0;
  on_fresh_thread([&] {
    open_exit_hook();
    exit_node* n = new_node<exit_node>();
    home = n->home_node();
    node_deleter<exit_node>{}(n);
    ASSERT_EQ(spare_now(), n);
    kept = n;
  });
  ASSERT_NE(kept, nullptr);
  on_fresh_thread([&] {
    quiesce::numa::node_pool& pool = node_pool_for<exit_node>(home);
    std::vector<void*> got;
    bool seen = false;
    // Bounded: the shared list holds at most one cache's worth (256).
    for (int i = 0; i < 4096 && !seen; ++i) {
      got.push_back(pool.allocate());
      seen = got.back() == kept;
    }
    EXPECT_TRUE(seen) << "the exited thread's spare node never came back from its pool";
    for (void* p : got) pool.deallocate(p);
  });
}

}  // namespace
