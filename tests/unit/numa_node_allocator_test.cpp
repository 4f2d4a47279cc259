// Unit tests for quiesce/numa/node_allocator.hpp: allocate_on_node,
// node_allocator<T> in standard containers, node_allocation_error, and
// node_pool (alignment, no duplicates, cross-thread frees, thread exit with
// cached objects, pools destroyed before the threads that cached them).
#include <quiesce/numa/node_allocator.hpp>
#include <quiesce/numa/placement.hpp>
#include <quiesce/numa/topology.hpp>

#include <gtest/gtest.h>

#include <quiesce/base/config.hpp>

#include "support/fork_first_use.hpp"
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <deque>
#include <fstream>
#include <latch>
#include <limits>
#include <map>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "support/numa.hpp"

namespace {

namespace qn = quiesce::numa;
using quiesce::test::contains;
using quiesce::test::expect_invalid_argument_naming;

const std::size_t page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));

// ---- allocate_on_node ----

TEST(NumaAllocateOnNode, ZeroFilledPageAlignedAndOnTheNode) {
  for (int node : qn::topology::system().nodes()) {
    for (auto policy : {qn::placement::strict, qn::placement::preferred}) {
      constexpr std::size_t bytes = 5 * 4096 + 100;
      auto* p = static_cast<unsigned char*>(qn::allocate_on_node(bytes, node, policy));
      ASSERT_NE(p, nullptr);
      EXPECT_EQ(reinterpret_cast<std::uintptr_t>(p) % page, 0u);
      EXPECT_TRUE(std::all_of(p, p + bytes, [](unsigned char c) { return c == 0; }));
      // Faulted in before the call returned: every page already has its node.
      for (int n : qn::nodes_of_range(p, bytes)) EXPECT_EQ(n, node);
      std::memset(p, 0xab, bytes);
      qn::deallocate_on_node(p, bytes);
    }
  }
}

TEST(NumaAllocateOnNode, ZeroBytesTakesOnePage) {
  void* p = qn::allocate_on_node(0, 0);
  ASSERT_NE(p, nullptr);
  static_cast<char*>(p)[page - 1] = 1;
  qn::deallocate_on_node(p, 0);
  qn::deallocate_on_node(nullptr, 100);  // no-op
}

TEST(NumaAllocateOnNode, BadNodeNamesIt) {
  expect_invalid_argument_naming([] { (void)qn::allocate_on_node(64, 7); }, "node 7 does not exist (nodes: ");
  expect_invalid_argument_naming([] { (void)qn::allocate_on_node(64, -1, qn::placement::preferred); }, "node -1");
  expect_invalid_argument_naming([] { qn::node_allocator<int> a(9); }, "node 9");
  expect_invalid_argument_naming([] { qn::node_pool pool(64, 8, 11); }, "node 11");
}

TEST(NumaAllocateOnNode, ErrorMessageNamesNodeAndSize) {
  const qn::node_allocation_error e(3, 4096);
  EXPECT_STREQ(e.what(), "cannot allocate 4096 bytes on node 3 (strict placement)");
  EXPECT_EQ(e.node(), 3);
  EXPECT_EQ(e.bytes(), 4096u);
  const std::bad_alloc& as_bad_alloc = e;  // catchable as the standard allocation failure
  EXPECT_STREQ(as_bad_alloc.what(), e.what());
  const qn::node_allocation_error big(2147483647, std::numeric_limits<std::size_t>::max());
  EXPECT_TRUE(contains(big.what(), "18446744073709551615 bytes on node 2147483647 (strict placement)"));
}

TEST(NumaAllocateOnNode, ImpossibleSizesThrowNodeAllocationError) {
  try {
    (void)qn::allocate_on_node(std::numeric_limits<std::size_t>::max() - 10, 0);
    ADD_FAILURE() << "allocated SIZE_MAX - 10 bytes";
  } catch (const qn::node_allocation_error& e) {
    EXPECT_EQ(e.node(), 0);
    EXPECT_TRUE(contains(e.what(), "on node 0 (strict placement)"));
  }
  // Larger than the machine: with the kernel's heuristic or strict overcommit
  // the mapping itself is refused, so this cannot reach the OOM killer.
  std::ifstream f("/proc/sys/vm/overcommit_memory");
  int mode = 1;
  f >> mode;
  if (mode == 1) GTEST_SKIP() << "vm.overcommit_memory=1: the kernel maps any size; not trying";
  const auto huge = static_cast<std::size_t>(sysconf(_SC_PHYS_PAGES)) * page * 64;
  EXPECT_THROW((void)qn::allocate_on_node(huge, 0), qn::node_allocation_error);
  try {
    (void)qn::allocate_on_node(huge, 0, qn::placement::preferred);
    ADD_FAILURE() << "allocated " << huge << " bytes";
  } catch (const qn::node_allocation_error&) {
    ADD_FAILURE() << "preferred placement must not report a strict failure";
  } catch (const std::bad_alloc&) {
  }
}

// ---- node_allocator ----

// make_on_node / make_array_on_node: one object (or an array) on a node,
// destroyed and freed by the unique_ptr's deleter.
struct counted {
  static inline int live = 0;
  explicit counted(int v, bool fail = false) : value(v) {
    if (fail) throw std::runtime_error("counted: constructor failed");
    ++live;
  }
  ~counted() { --live; }
  counted(const counted&) = delete;
  counted& operator=(const counted&) = delete;
  int value;
};

TEST(NumaMakeOnNode, ObjectsOnTheNodeOrOnAlignedHeap) {
  {
    auto on0 = qn::make_on_node<counted>(0, 7);
    EXPECT_EQ(on0->value, 7);
    EXPECT_EQ(counted::live, 1);
    EXPECT_EQ(on0.get_deleter().node(), 0);
    EXPECT_EQ(qn::nodes_of_range(on0.get(), sizeof(counted)), std::vector<int>{0});
    auto heap = qn::make_on_node<counted>(-1, 8);
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(heap.get()) % 128, 0u);
    EXPECT_EQ(heap.get_deleter().node(), -1);
    EXPECT_EQ(counted::live, 2);
  }
  EXPECT_EQ(counted::live, 0) << "the deleter runs the destructor";
  EXPECT_THROW((void)qn::make_on_node<counted>(4096, 1), std::invalid_argument);
  EXPECT_THROW((void)qn::make_on_node<counted>(0, 1, true), std::runtime_error);  // memory freed (ASan checks)
  EXPECT_THROW((void)qn::make_on_node<counted>(-1, 1, true), std::runtime_error);
  EXPECT_EQ(counted::live, 0);
}

TEST(NumaMakeOnNode, ArraysAreValueInitialised) {
  for (int node : {-1, 0}) {
    auto a = qn::make_array_on_node<std::atomic<std::int32_t>>(node, 1000);
    EXPECT_EQ(a.get_deleter().bytes(), 1000 * sizeof(std::atomic<std::int32_t>));
    for (std::size_t i = 0; i < 1000; ++i) EXPECT_EQ(a[i].load(), 0);
    a[999].store(5);
    if (node >= 0) {
      for (int n : qn::nodes_of_range(a.get(), a.get_deleter().bytes())) EXPECT_EQ(n, node);
    }
  }
  auto empty = qn::make_array_on_node<std::int64_t>(-1, 0);
  EXPECT_EQ(empty.get_deleter().bytes(), 0u);
}

TEST(NumaNodeAllocator, VectorLivesOnTheNode) {
  const int node = qn::topology::system().nodes().front();
  std::vector<int, qn::node_allocator<int>> v{qn::node_allocator<int>(node)};
  for (int i = 0; i < 100000; ++i) v.push_back(i);
  for (int i = 0; i < 100000; ++i) ASSERT_EQ(v[static_cast<std::size_t>(i)], i);
  for (int n : qn::nodes_of_range(v.data(), v.size() * sizeof(int))) EXPECT_EQ(n, node);
  auto copy = v;  // propagates the allocator
  EXPECT_EQ(copy.get_allocator(), v.get_allocator());
  EXPECT_EQ(copy.get_allocator().node(), node);
  copy.clear();
  copy.shrink_to_fit();
}

TEST(NumaNodeAllocator, MapRebindsAndComparesByNodeAndPolicy) {
  const int node = qn::topology::system().nodes().front();
  using alloc = qn::node_allocator<std::pair<const int, std::string>>;
  std::map<int, std::string, std::less<int>, alloc> m{alloc(node, qn::placement::preferred)};
  for (int i = 0; i < 50; ++i) m.emplace(i, std::string(40, static_cast<char>('a' + i % 26)));
  EXPECT_EQ(m.size(), 50u);
  EXPECT_EQ(m.at(27), std::string(40, 'b'));
  const qn::node_allocator<double> rebound(m.get_allocator());
  EXPECT_EQ(rebound.node(), node);
  EXPECT_EQ(rebound.policy(), qn::placement::preferred);
  EXPECT_TRUE(rebound == m.get_allocator());
  EXPECT_FALSE(qn::node_allocator<double>(node, qn::placement::strict) == rebound);
}

// ---- node_pool ----

TEST(NumaNodePool, RejectsBadShapes) {
  expect_invalid_argument_naming([] { qn::node_pool p(64, 3, 0); }, "alignment 3");
  expect_invalid_argument_naming([] { qn::node_pool p(64, 0, 0); }, "alignment 0");
  expect_invalid_argument_naming([] { qn::node_pool p(64, 8192, 0); }, "alignment 8192");
  expect_invalid_argument_naming([] { qn::node_pool p(0, 8, 0); }, "size 0");
}

TEST(NumaNodePool, AlignmentIsHonouredAndObjectsDoNotOverlap) {
  struct shape {
    std::size_t size, align;
  };
  for (const auto s : {shape{1, 1}, shape{24, 8}, shape{40, 64}, shape{100, 128}, shape{8, 4096}, shape{5000, 16}}) {
    qn::node_pool pool(s.size, s.align, 0, qn::placement::strict, 64 * 1024);
    EXPECT_EQ(pool.object_size(), s.size);
    EXPECT_EQ(pool.node(), 0);
    EXPECT_EQ(pool.chunk_count(), 0u);  // nothing mapped before the first allocate
    std::vector<unsigned char*> objects;
    for (int i = 0; i < 300; ++i) {
      auto* p = static_cast<unsigned char*>(pool.allocate());
      ASSERT_EQ(reinterpret_cast<std::uintptr_t>(p) % s.align, 0u) << s.size << "/" << s.align;
      std::memset(p, i & 0xff, s.size);
      objects.push_back(p);
    }
    for (std::size_t i = 0; i < objects.size(); ++i)
      for (std::size_t b = 0; b < s.size; ++b) ASSERT_EQ(objects[i][b], i & 0xff) << "object " << i << " overwritten";
    EXPECT_GE(pool.chunk_count(), 1u);
    EXPECT_EQ(qn::node_of_address(objects.front()), 0);
    for (auto* p : objects) pool.deallocate(p);
  }
}

TEST(NumaNodePool, NoDuplicatesAndReuseAfterFree) {
  qn::node_pool pool(48, 16, 0);
  std::set<void*> live;
  for (int i = 0; i < 10000; ++i) ASSERT_TRUE(live.insert(pool.allocate()).second) << "duplicate at " << i;
  const std::size_t chunks = pool.chunk_count();
  for (void* p : live) pool.deallocate(p);
  std::set<void*> again;
  std::size_t never_handed_out = 0;  // carved into this thread's cache but not returned by allocate() before
  for (int i = 0; i < 10000; ++i) {
    void* p = pool.allocate();
    ASSERT_TRUE(again.insert(p).second);
    never_handed_out += live.count(p) == 0 ? 1 : 0;
  }
  // At most one cache's worth: 256 objects of this size (numa/README.md,
  // "The per-thread cache").
  EXPECT_LE(never_handed_out, 256u) << "freed objects must be reused before new ones are carved";
  EXPECT_EQ(pool.chunk_count(), chunks);
  for (void* p : again) pool.deallocate(p);
}

// Objects travel between threads: each is allocated on one thread, stamped
// with a canary, handed over, checked and freed by another. Every address
// handed out is tracked: none may be live twice.
TEST(NumaNodePool, ManyThreadsAllocateAndFreeAcrossThreads) {
  struct object {
    std::uint64_t canary;
    std::uint64_t payload[5];
  };
  constexpr int threads = 6;
  constexpr int per_thread = 20000;
  qn::node_pool pool(sizeof(object), alignof(object), 0, qn::placement::strict, 16 * 1024);

  std::mutex m;
  std::set<void*> live;          // handed out and not yet freed
  std::deque<object*> handoff;   // allocated by one thread, freed by another
  std::atomic<int> failures{0};
  std::latch start(threads);

  auto check_in = [&](void* p) {
    std::lock_guard lock(m);
    if (!live.insert(p).second) ++failures;  // handed out while already live
  };
  auto check_out = [&](object* o) {
    const std::uint64_t c = o->canary;
    for (auto w : o->payload)
      if (w != c) ++failures;
    std::lock_guard lock(m);
    if (live.erase(o) != 1) ++failures;
  };

  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t)
    ts.emplace_back([&, t] {
      start.arrive_and_wait();
      std::vector<object*> mine;
      for (int i = 0; i < per_thread; ++i) {
        auto* o = static_cast<object*>(pool.allocate());
        check_in(o);
        const std::uint64_t canary = (static_cast<std::uint64_t>(t) << 32) | static_cast<std::uint32_t>(i);
        o->canary = canary;
        for (auto& w : o->payload) w = canary;
        if (i % 3 == 0) {
          mine.push_back(o);  // freed by this thread later
        } else {
          std::lock_guard lock(m);
          handoff.push_back(o);
        }
        // Free something another thread allocated (maybe).
        object* other = nullptr;
        {
          std::lock_guard lock(m);
          if (handoff.size() > 64) {
            other = handoff.front();
            handoff.pop_front();
          }
        }
        if (other != nullptr) {
          check_out(other);
          pool.deallocate(other);
        }
        if (mine.size() > 100) {
          check_out(mine.back());
          pool.deallocate(mine.back());
          mine.pop_back();
        }
      }
      for (auto* o : mine) {
        check_out(o);
        pool.deallocate(o);
      }
    });
  for (auto& th : ts) th.join();
  for (auto* o : handoff) {
    check_out(o);
    pool.deallocate(o);
  }
  EXPECT_EQ(failures.load(), 0);
  EXPECT_TRUE(live.empty());
}

TEST(NumaNodePool, ExitingThreadReturnsItsCachedObjects) {
  // 64 objects per chunk: if the exiting thread's cache were lost, the main
  // thread's allocations would need a second chunk.
  qn::node_pool pool(64, 64, 0, qn::placement::strict, 4096);
  std::vector<void*> from_thread;
  std::thread([&] {
    for (int i = 0; i < 64; ++i) from_thread.push_back(pool.allocate());
    for (void* p : from_thread) pool.deallocate(p);  // all of them sit in this thread's cache (or the shared list)
  }).join();
  EXPECT_EQ(pool.chunk_count(), 1u);
  std::set<void*> mine;
  for (int i = 0; i < 64; ++i) mine.insert(pool.allocate());
  EXPECT_EQ(pool.chunk_count(), 1u);
  EXPECT_EQ(mine, std::set<void*>(from_thread.begin(), from_thread.end()));
  for (void* p : mine) pool.deallocate(p);
}

TEST(NumaNodePool, FreeFromAThreadLocalDestructorAfterTheCacheIsGone) {
  // `holder` is constructed before the thread's first pool call, so it is
  // destroyed after the pool's per-thread cache: its free must go straight
  // to the shared list.
  qn::node_pool pool(32, 8, 0, qn::placement::strict, 4096);
  struct holder {
    qn::node_pool* pool = nullptr;
    std::vector<void*> objects;
    ~holder() {
      for (void* p : objects) pool->deallocate(p);
      if (pool != nullptr) {
        void* late = pool->allocate();  // an allocation after the cache is gone works too
        std::memset(late, 1, 32);
        pool->deallocate(late);
      }
    }
  };
  std::thread([&] {
    thread_local holder h;
    h.pool = &pool;
    for (int i = 0; i < 100; ++i) h.objects.push_back(pool.allocate());
  }).join();
  const std::size_t chunks = pool.chunk_count();
  std::vector<void*> again;
  for (int i = 0; i < 100; ++i) again.push_back(pool.allocate());
  EXPECT_EQ(pool.chunk_count(), chunks) << "objects freed at thread exit were lost";
  for (void* p : again) pool.deallocate(p);
}

TEST(NumaNodePool, PoolDestroyedWhileAnotherThreadCachesItsObjects) {
  auto pool = std::make_unique<qn::node_pool>(64, 8, 0, qn::placement::strict, 4096);
  std::mutex m;
  std::condition_variable cv;
  int stage = 0;
  std::thread t([&] {
    std::vector<void*> v;
    for (int i = 0; i < 40; ++i) v.push_back(pool->allocate());
    for (void* p : v) pool->deallocate(p);  // cached in this thread
    {
      std::lock_guard lock(m);
      stage = 1;
    }
    cv.notify_all();
    std::unique_lock lock(m);
    cv.wait(lock, [&] { return stage == 2; });
    // Exits now: its cache names a destroyed pool and must be dropped, not flushed.
  });
  {
    std::unique_lock lock(m);
    cv.wait(lock, [&] { return stage == 1; });
  }
  pool.reset();
  // A new pool probably takes the same slot: the old cache must not feed it.
  qn::node_pool fresh(64, 8, 0, qn::placement::strict, 4096);
  {
    std::lock_guard lock(m);
    stage = 2;
  }
  cv.notify_all();
  t.join();
  std::vector<void*> v;
  for (int i = 0; i < 200; ++i) {
    void* p = fresh.allocate();
    std::memset(p, 0x5a, 64);  // ASan/a crash would catch a stale, unmapped object
    EXPECT_EQ(qn::node_of_address(p), 0);
    v.push_back(p);
  }
  for (void* p : v) fresh.deallocate(p);
}

TEST(NumaNodePool, SlotReuseOnOneThreadDropsStaleCache) {
  std::set<void*> first_pool;
  {
    qn::node_pool a(64, 8, 0, qn::placement::strict, 4096);
    std::vector<void*> v;
    for (int i = 0; i < 10; ++i) v.push_back(a.allocate());
    for (void* p : v) a.deallocate(p);  // cached on this thread
  }
  qn::node_pool b(64, 8, 0, qn::placement::strict, 4096);
  EXPECT_EQ(b.chunk_count(), 0u);
  void* p = b.allocate();
  EXPECT_EQ(b.chunk_count(), 1u);  // came from b's own chunk, not a's stale cache
  std::memset(p, 1, 64);
  b.deallocate(p);
}

TEST(NumaNodePool, ManyPoolsOnOneThread) {
  std::vector<std::unique_ptr<qn::node_pool>> pools;
  for (int i = 0; i < 20; ++i) pools.push_back(std::make_unique<qn::node_pool>(16 + i * 8, 8, 0));
  std::vector<std::pair<int, void*>> objects;
  for (int round = 0; round < 100; ++round)
    for (int i = 0; i < 20; ++i) {
      void* p = pools[static_cast<std::size_t>(i)]->allocate();
      std::memset(p, i, 16 + static_cast<std::size_t>(i) * 8);
      objects.emplace_back(i, p);
    }
  for (auto [i, p] : objects) {
    EXPECT_EQ(static_cast<unsigned char*>(p)[0], i);
    pools[static_cast<std::size_t>(i)]->deallocate(p);
  }
}

TEST(NumaNodePool, DebugBuildsReportObjectsStillInUse) {
#ifdef NDEBUG
  GTEST_SKIP() << "the in-use report is compiled into debug (!NDEBUG) builds only";
#else
  ::testing::internal::CaptureStderr();
  {
    qn::node_pool pool(24, 8, 0);
    (void)pool.allocate();
    (void)pool.allocate();
    pool.deallocate(pool.allocate());
  }
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_TRUE(contains(err, "destroyed with 2 objects still in use"));
  ::testing::internal::CaptureStderr();
  {
    qn::node_pool pool(24, 8, 0);
    pool.deallocate(pool.allocate());
  }
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "");
#endif
}

}  // namespace

#if !QUIESCE_TSAN && !QUIESCE_ASAN
TEST(NumaFork, ForkRacingAnotherThreadsFirstUseLeavesTheChildUsable) {
  // The topology, the CPU -> node table and the pools' registry are built on
  // first use without a guard a fork could leave held
  // (quiesce/base/fork_safe.hpp): the child reads the topology and uses a
  // pool, whatever instant the fork hit the racing thread's first use.
  auto use = [] {
    const auto& topo = quiesce::numa::topology::system();
    if (topo.nodes().empty()) ::_exit(4);
    const int node = topo.nodes().front();
    (void)quiesce::numa::current_node();
    quiesce::numa::node_pool pool(64, 64, node, quiesce::numa::placement::preferred);
    void* p = pool.allocate();
    pool.deallocate(p);
  };
  EXPECT_EQ(quiesce::test::fork_races_first_use(use, use), "");
}
#endif
