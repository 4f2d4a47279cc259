// Allocation failure in node_pool, injected with quiesce/numa/testing.hpp:
// the allocation throws the documented error (node_allocation_error naming
// the node and size for strict pools, std::bad_alloc for preferred ones), the
// pool is left unchanged (no chunk counted, live objects intact) and serves
// allocations again once the injected failures are used up.
#include <quiesce/numa/node_allocator.hpp>
#include <quiesce/numa/testing.hpp>
#include <quiesce/numa/topology.hpp>

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace {

namespace qn = quiesce::numa;

struct reset_injection {
  ~reset_injection() { qn::testing::fail_next_chunk_allocations(0); }
};

constexpr std::size_t object_size = 64;
constexpr std::size_t chunk_bytes = 4096;  // one page: 64 objects per chunk

void fill(void* p, std::uintptr_t tag) {
  auto* w = static_cast<std::uintptr_t*>(p);
  for (std::size_t i = 0; i < object_size / sizeof(std::uintptr_t); ++i) w[i] = tag ^ i;
}
bool intact(const void* p, std::uintptr_t tag) {
  const auto* w = static_cast<const std::uintptr_t*>(p);
  for (std::size_t i = 0; i < object_size / sizeof(std::uintptr_t); ++i)
    if (w[i] != (tag ^ i)) return false;
  return true;
}

TEST(NumaPoolFaultInjection, FirstChunkFailsWithNodeAllocationError) {
  reset_injection reset;
  const int node = qn::topology::system().nodes().front();
  qn::node_pool pool(object_size, 8, node, qn::placement::strict, chunk_bytes);
  qn::testing::fail_next_chunk_allocations(1);
  const std::size_t injected_before = qn::testing::injected_chunk_failures();
  try {
    (void)pool.allocate();
    FAIL() << "allocate() succeeded although the chunk mapping was made to fail";
  } catch (const qn::node_allocation_error& e) {
    EXPECT_EQ(e.node(), node);
    EXPECT_EQ(e.bytes(), chunk_bytes);
    EXPECT_NE(std::string(e.what()).find("cannot allocate 4096 bytes on node " + std::to_string(node)),
              std::string::npos)
        << e.what();
  }
  EXPECT_EQ(qn::testing::injected_chunk_failures(), injected_before + 1);
  EXPECT_EQ(qn::testing::pending_chunk_failures(), 0u);
  EXPECT_EQ(pool.chunk_count(), 0u);
  void* p = pool.allocate();  // injection over: works
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(pool.chunk_count(), 1u);
  pool.deallocate(p);
}

TEST(NumaPoolFaultInjection, PreferredPoolThrowsBadAlloc) {
  reset_injection reset;
  qn::node_pool pool(object_size, 8, qn::topology::system().nodes().front(), qn::placement::preferred,
                     chunk_bytes);
  qn::testing::fail_next_chunk_allocations(1);
  EXPECT_THROW((void)pool.allocate(), std::bad_alloc);
  EXPECT_EQ(pool.chunk_count(), 0u);
  void* p = pool.allocate();
  EXPECT_EQ(pool.chunk_count(), 1u);
  pool.deallocate(p);
}

// Failures in the middle of a sequence: objects already handed out stay
// intact, chunk_count counts only chunks really mapped, each allocation that
// needs a chunk while failures are pending throws, and the pool works again
// afterwards, also re-using freed objects without new chunks.
TEST(NumaPoolFaultInjection, FailuresMidSequenceLeavePoolUsable) {
  reset_injection reset;
  const int node = qn::topology::system().nodes().front();
  qn::node_pool pool(object_size, 8, node, qn::placement::strict, chunk_bytes);
  std::vector<void*> live;
  for (int i = 0; i < 100; ++i) {
    live.push_back(pool.allocate());
    fill(live.back(), reinterpret_cast<std::uintptr_t>(live.back()));
  }
  const std::size_t chunks_before = pool.chunk_count();
  EXPECT_GE(chunks_before, 2u);

  constexpr std::size_t failures = 3;
  qn::testing::fail_next_chunk_allocations(failures);
  // Served from the thread's cache and the newest chunk until a chunk is needed.
  std::size_t thrown = 0;
  for (int i = 0; i < 1000 && thrown == 0; ++i) {
    try {
      live.push_back(pool.allocate());
      fill(live.back(), reinterpret_cast<std::uintptr_t>(live.back()));
    } catch (const qn::node_allocation_error&) {
      ++thrown;
    }
  }
  ASSERT_EQ(thrown, 1u) << "no allocation needed a new chunk";
  // Cache and bump region are dry: every further allocation needs a chunk.
  for (std::size_t i = 1; i < failures; ++i) EXPECT_THROW((void)pool.allocate(), qn::node_allocation_error);
  EXPECT_EQ(qn::testing::pending_chunk_failures(), 0u);
  EXPECT_EQ(pool.chunk_count(), chunks_before) << "a failed chunk was counted";
  for (void* p : live) EXPECT_TRUE(intact(p, reinterpret_cast<std::uintptr_t>(p)));

  // Works again; no object handed out twice.
  for (int i = 0; i < 200; ++i) {
    live.push_back(pool.allocate());
    fill(live.back(), reinterpret_cast<std::uintptr_t>(live.back()));
  }
  EXPECT_EQ(std::set<void*>(live.begin(), live.end()).size(), live.size());
  for (void* p : live) EXPECT_TRUE(intact(p, reinterpret_cast<std::uintptr_t>(p)));
  const std::size_t chunks_after = pool.chunk_count();
  EXPECT_GE(chunks_after * (chunk_bytes / object_size), live.size());

  // Freed objects are re-used: failures pending, but no chunk is needed.
  for (void* p : live) pool.deallocate(p);
  const std::size_t n = live.size();
  live.clear();
  qn::testing::fail_next_chunk_allocations(1000);
  for (std::size_t i = 0; i < n; ++i) live.push_back(pool.allocate());
  EXPECT_EQ(pool.chunk_count(), chunks_after);
  qn::testing::fail_next_chunk_allocations(0);
  for (void* p : live) pool.deallocate(p);
}

// Several threads allocate while every other chunk mapping fails: each
// failure is an exception in the thread that needed the chunk, nothing is
// handed out twice, and the pool's bookkeeping stays consistent.
TEST(NumaPoolFaultInjection, ConcurrentFailuresAreIsolated) {
  reset_injection reset;
  qn::node_pool pool(object_size, 8, qn::topology::system().nodes().front(), qn::placement::strict,
                     chunk_bytes);
  constexpr int threads = 3;
  constexpr int per_thread = 2000;
  std::vector<std::vector<void*>> got(threads);
  std::vector<int> failures(threads, 0);
  qn::testing::fail_next_chunk_allocations(20);
  {
    std::vector<std::thread> ts;
    for (int t = 0; t < threads; ++t)
      ts.emplace_back([&, t] {
        while (got[t].size() < per_thread) {
          try {
            void* p = pool.allocate();
            fill(p, reinterpret_cast<std::uintptr_t>(p));
            got[t].push_back(p);
          } catch (const qn::node_allocation_error&) {
            ++failures[t];
          }
        }
      });
    for (auto& t : ts) t.join();
  }
  int total_failures = 0;
  for (int f : failures) total_failures += f;
  EXPECT_EQ(total_failures, 20);
  std::set<void*> all;
  for (auto& v : got)
    for (void* p : v) {
      EXPECT_TRUE(intact(p, reinterpret_cast<std::uintptr_t>(p)));
      all.insert(p);
    }
  EXPECT_EQ(all.size(), static_cast<std::size_t>(threads * per_thread));
  EXPECT_GE(pool.chunk_count() * (chunk_bytes / object_size), all.size());
  for (void* p : all) pool.deallocate(p);
}

}  // namespace
