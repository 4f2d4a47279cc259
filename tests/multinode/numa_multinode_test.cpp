// quiesce::numa on a machine with several NUMA nodes: placement that a
// one-node machine cannot check. Runs inside scripts/numa_guest.sh's qemu
// guest (ctest numa_multinode_guest: 2 nodes x 2 CPUs; _4nodes: 4 x 1),
// which describes itself in the environment:
//   QUIESCE_EXPECT_NODES          node count (nodes are 0..N-1)
//   QUIESCE_EXPECT_CPUS_PER_NODE  C: CPUs n*C .. n*C+C-1 are node n's
//   QUIESCE_EXPECT_DISTANCE       distance between different nodes (21)
// Without them (e.g. on a real multi-socket host) the layout tests are
// skipped and the placement tests run on whatever nodes there are; on one
// node they skip.
//
// Page nodes are read twice: through the library (node_of_address,
// nodes_of_range) and straight from the kernel (move_pages(2) in query mode),
// so that a library bug cannot confirm itself.
#include <numaif.h>
#include <sched.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <numeric>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include <quiesce/numa.hpp>

namespace {

namespace qn = quiesce::numa;

struct expectation {
  int nodes = 0;          // 0: not told
  int cpus_per_node = 0;  // 0: not told
  int distance = 21;
};

int env_int(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::atoi(v) : fallback;
}

const expectation& expected() {
  static const expectation e{env_int("QUIESCE_EXPECT_NODES", 0), env_int("QUIESCE_EXPECT_CPUS_PER_NODE", 0),
                             env_int("QUIESCE_EXPECT_DISTANCE", 21)};
  return e;
}

const qn::topology& topo() { return qn::topology::system(); }

// True when there are nodes to place on. When the harness promised several
// nodes, their absence is a failure, not a skip.
bool multinode() {
  if (expected().nodes > 1) {
    EXPECT_EQ(topo().node_count(), expected().nodes) << "the guest was started with more nodes than the library sees";
    return topo().node_count() > 1;
  }
  return topo().node_count() > 1;
}
#define REQUIRE_MULTINODE()                                                                   \
  do {                                                                                        \
    if (!multinode()) GTEST_SKIP() << "one NUMA node here: run through scripts/numa_guest.sh"; \
  } while (0)

const std::size_t page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));

// The kernel's word on the node of the page holding p (move_pages(2),
// nodes == NULL): a node, or a negative errno (-ENOENT: not faulted in).
int kernel_node_of(const void* p) {
  void* pages[1] = {const_cast<void*>(p)};
  int status[1] = {-1};
  if (move_pages(0, 1, pages, nullptr, status, 0) != 0) return -1000;
  return status[0];
}

// Every page of [p, p + bytes) is on `node`, by the library and by the kernel.
void expect_pages_on(const void* p, std::size_t bytes, int node, const char* what) {
  std::vector<int> nodes = qn::nodes_of_range(p, bytes);
  ASSERT_EQ(nodes.size(), (bytes + page - 1) / page) << what;
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    EXPECT_EQ(nodes[i], node) << what << ": page " << i << " (library)";
    EXPECT_EQ(kernel_node_of(static_cast<const char*>(p) + i * page), node) << what << ": page " << i << " (kernel)";
  }
}

// A node other than n: where a test thread runs so that first touch would
// put memory in the wrong place if the library relied on it.
int other_node(int n) {
  const auto& nodes = topo().nodes();
  for (int m : nodes)
    if (m != n) return m;
  return n;
}

std::vector<int> iota_vector(int first, int count) {
  std::vector<int> v(static_cast<std::size_t>(count));
  std::iota(v.begin(), v.end(), first);
  return v;
}

// ---- topology ----

TEST(MultinodeTopology, Describe) {
  std::printf("%s\n", topo().describe().c_str());
  EXPECT_FALSE(topo().describe().empty());
}

TEST(MultinodeTopology, MatchesTheGuest) {
  const expectation& e = expected();
  if (e.nodes == 0 || e.cpus_per_node == 0)
    GTEST_SKIP() << "QUIESCE_EXPECT_NODES/_CPUS_PER_NODE not set: not in scripts/numa_guest.sh's guest";
  const qn::topology& t = topo();
  EXPECT_TRUE(t.numa_supported());
  ASSERT_EQ(t.node_count(), e.nodes);
  EXPECT_EQ(t.nodes(), iota_vector(0, e.nodes));
  ASSERT_EQ(t.cpus().size(), static_cast<std::size_t>(e.nodes * e.cpus_per_node));
  for (int n = 0; n < e.nodes; ++n) {
    EXPECT_EQ(t.cpus_of_node(n), iota_vector(n * e.cpus_per_node, e.cpus_per_node)) << "node " << n;
    for (int m = 0; m < e.nodes; ++m)
      EXPECT_EQ(t.distance(n, m), n == m ? 10 : e.distance) << "distance(" << n << ", " << m << ")";
  }
  for (const qn::cpu_info& c : t.cpus()) {
    const int node = c.cpu / e.cpus_per_node;
    EXPECT_EQ(c.node, node) << "cpu " << c.cpu;
    EXPECT_EQ(t.node_of_cpu(c.cpu), node) << "cpu " << c.cpu;
    EXPECT_EQ(c.package, node) << "cpu " << c.cpu << ": one socket per node in the guest";
    for (const qn::cpu_info& d : t.cpus()) {
      if (d.cpu != c.cpu) {
        EXPECT_FALSE(t.same_core(c.cpu, d.cpu)) << c.cpu << " and " << d.cpu << ": threads=1";
      }
    }
  }
  EXPECT_FALSE(t.has_node(e.nodes));
  EXPECT_FALSE(t.has_cpu(e.nodes * e.cpus_per_node));
  EXPECT_THROW((void)t.cpus_of_node(e.nodes), std::invalid_argument);
  EXPECT_THROW((void)t.node_of_cpu(e.nodes * e.cpus_per_node), std::invalid_argument);
}

TEST(MultinodeTopology, CurrentNodeFollowsPinning) {
  REQUIRE_MULTINODE();
  for (int n : topo().nodes()) {
    auto pin = qn::scoped_affinity::to_node(n);
    for (int i = 0; i < 100; ++i) {
      int cpu = qn::current_cpu();
      ASSERT_EQ(topo().node_of_cpu(cpu), n) << "cpu " << cpu;
      ASSERT_EQ(qn::current_node(), n);
    }
  }
}

// ---- memory on a node ----

TEST(MultinodeMemory, AllocateOnNodeLandsOnTheNode) {
  REQUIRE_MULTINODE();
  const std::size_t bytes = 64 * page;
  for (qn::placement policy : {qn::placement::strict, qn::placement::preferred}) {
    for (int n : topo().nodes()) {
      auto pin = qn::scoped_affinity::to_node(other_node(n));  // first touch would be wrong
      void* p = qn::allocate_on_node(bytes, n, policy);
      ASSERT_NE(p, nullptr);
      const auto* bytes_p = static_cast<const unsigned char*>(p);
      EXPECT_TRUE(std::all_of(bytes_p, bytes_p + bytes, [](unsigned char b) { return b == 0; })) << "zero-filled";
      EXPECT_EQ(qn::node_of_address(p), n);
      expect_pages_on(p, bytes, n, policy == qn::placement::strict ? "strict" : "preferred");
      qn::deallocate_on_node(p, bytes);
    }
  }
  EXPECT_THROW((void)qn::allocate_on_node(page, topo().node_count() + 7), std::invalid_argument);
}

TEST(MultinodeMemory, NodeAllocatorVectorLandsOnTheNode) {
  REQUIRE_MULTINODE();
  for (int n : topo().nodes()) {
    auto pin = qn::scoped_affinity::to_node(other_node(n));
    std::vector<std::uint64_t, qn::node_allocator<std::uint64_t>> v{qn::node_allocator<std::uint64_t>(n)};
    v.resize(std::size_t{1} << 16);  // 512 KiB
    std::iota(v.begin(), v.end(), std::uint64_t{0});
    EXPECT_EQ(v.get_allocator().node(), n);
    expect_pages_on(v.data(), v.size() * sizeof(std::uint64_t), n, "vector<node_allocator>");
  }
  EXPECT_THROW(qn::node_allocator<int>(topo().node_count() + 7), std::invalid_argument);
}

TEST(MultinodeMemory, NodePoolObjectsLandOnTheNode) {
  REQUIRE_MULTINODE();
  constexpr std::size_t size = 48, align = 64, count = 4000;  // several pages' worth
  for (int n : topo().nodes()) {
    qn::node_pool pool(size, align, n);
    EXPECT_EQ(pool.node(), n);
    std::vector<void*> objects;
    // Allocated from threads on another node, and from one on the pool's node.
    for (int runner : {other_node(n), n}) {
      std::thread([&] {
        auto pin = qn::scoped_affinity::to_node(runner);
        for (std::size_t i = 0; i < count / 2; ++i) {
          void* p = pool.allocate();
          std::memset(p, 0xa5, size);
          objects.push_back(p);
        }
      }).join();
    }
    EXPECT_GE(pool.chunk_count(), 1u);
    std::set<void*> distinct(objects.begin(), objects.end());
    EXPECT_EQ(distinct.size(), objects.size()) << "an object handed out twice";
    std::set<std::uintptr_t> pages;
    for (void* p : objects) {
      EXPECT_EQ(reinterpret_cast<std::uintptr_t>(p) % align, 0u);
      pages.insert(reinterpret_cast<std::uintptr_t>(p) / page * page);
    }
    for (std::uintptr_t pg : pages) {
      const void* p = reinterpret_cast<const void*>(pg);
      ASSERT_EQ(qn::node_of_address(p), n) << "pool page " << p << " (library)";
      ASSERT_EQ(kernel_node_of(p), n) << "pool page " << p << " (kernel)";
    }
    for (void* p : objects) pool.deallocate(p);
  }
}

// ---- where memory is, and moving it ----

TEST(MultinodePlacement, MoveToNodeMigratesPages) {
  REQUIRE_MULTINODE();
  const int from = topo().nodes().front(), to = topo().nodes().back();
  const std::size_t bytes = 16 * page;
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(p, MAP_FAILED);
  {
    auto pin = qn::scoped_affinity::to_node(from);
    std::memset(p, 0x5a, bytes);  // first touch on `from` (default local policy)
  }
  expect_pages_on(p, bytes, from, "first touch");
  qn::move_to_node(p, bytes, to);
  expect_pages_on(p, bytes, to, "after move_to_node");
  const auto* b = static_cast<const unsigned char*>(p);
  EXPECT_TRUE(std::all_of(b, b + bytes, [](unsigned char c) { return c == 0x5a; })) << "contents kept";
  EXPECT_THROW(qn::move_to_node(p, bytes, topo().node_count() + 7), std::invalid_argument);
  munmap(p, bytes);

  void* untouched = mmap(nullptr, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(untouched, MAP_FAILED);
  EXPECT_EQ(qn::node_of_address(untouched), -1) << "a page never touched has no node";
  munmap(untouched, page);
}

// ---- one instance per node ----

TEST(MultinodePerNode, EachNodeHasItsOwnInstanceOnItsNode) {
  REQUIRE_MULTINODE();
  qn::per_node<std::atomic<long>> counters;
  ASSERT_EQ(counters.size(), static_cast<std::size_t>(topo().node_count()));
  std::set<const void*> addresses;
  for (int n : topo().nodes()) {
    std::atomic<long>& c = counters.on(n);
    addresses.insert(&c);
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(&c) % 128, 0u) << "node " << n << ": alone on its block";
    EXPECT_EQ(qn::node_of_address(&c), n) << "node " << n << "'s instance (library)";
    EXPECT_EQ(kernel_node_of(&c), n) << "node " << n << "'s instance (kernel)";
    auto pin = qn::scoped_affinity::to_node(n);
    EXPECT_EQ(&counters.local(), &c) << "local() on node " << n;
    counters.local().fetch_add(n + 1, std::memory_order_relaxed);
  }
  EXPECT_EQ(addresses.size(), counters.size());
  long total = 0, want = 0;
  for (auto& c : counters) total += c.load();
  for (int n : topo().nodes()) want += n + 1;
  EXPECT_EQ(total, want);
  EXPECT_THROW((void)counters.on(topo().node_count() + 7), std::invalid_argument);

  qn::per_node<long> seeded(topo(), 42L);
  for (long v : seeded) EXPECT_EQ(v, 42);
}

// ---- pinning ----

TEST(MultinodeAffinity, ToNodeRunsThereAndRestores) {
  REQUIRE_MULTINODE();
  const std::vector<int> before = qn::current_affinity();
  for (int n : topo().nodes()) {
    {
      auto pin = qn::scoped_affinity::to_node(n);
      EXPECT_EQ(qn::current_affinity(), topo().cpus_of_node(n));
      for (int i = 0; i < 50; ++i) {
        sched_yield();
        int cpu = qn::current_cpu();
        const auto& mine = topo().cpus_of_node(n);
        ASSERT_TRUE(std::find(mine.begin(), mine.end(), cpu) != mine.end()) << "on cpu " << cpu << ", pinned to node " << n;
        if (expected().cpus_per_node > 0) {
          ASSERT_GE(cpu, n * expected().cpus_per_node);
          ASSERT_LT(cpu, (n + 1) * expected().cpus_per_node);
        }
      }
    }
    EXPECT_EQ(qn::current_affinity(), before) << "after to_node(" << n << ")";
  }
}

TEST(MultinodeAffinity, NestedAndMovedGuardsRestoreInOrder) {
  REQUIRE_MULTINODE();
  const std::vector<int> before = qn::current_affinity();
  const int first_cpu = topo().cpus_of_node(topo().nodes().front()).front();
  const int last_node = topo().nodes().back();
  {
    auto outer = qn::scoped_affinity::to_cpu(first_cpu);
    EXPECT_EQ(qn::current_affinity(), std::vector<int>{first_cpu});
    {
      auto inner = qn::scoped_affinity::to_node(last_node);
      auto moved = std::move(inner);  // the moved-to guard restores; the moved-from one does nothing
      EXPECT_EQ(qn::current_affinity(), topo().cpus_of_node(last_node));
    }
    EXPECT_EQ(qn::current_affinity(), std::vector<int>{first_cpu});
    EXPECT_EQ(qn::current_cpu(), first_cpu);
  }
  EXPECT_EQ(qn::current_affinity(), before);
}

TEST(MultinodeAffinity, ToNodeWorksInAnyThread) {
  REQUIRE_MULTINODE();
  std::vector<int> seen(topo().nodes().size(), -1);
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < topo().nodes().size(); ++i) {
    threads.emplace_back([&, i] {
      auto pin = qn::scoped_affinity::to_node(topo().nodes()[i]);
      seen[i] = qn::current_node();
    });
  }
  for (auto& t : threads) t.join();
  for (std::size_t i = 0; i < seen.size(); ++i) EXPECT_EQ(seen[i], topo().nodes()[i]);
}

TEST(MultinodeAffinity, PipelineCpusKeepsStagesClose) {
  REQUIRE_MULTINODE();
  const qn::topology& t = topo();
  const std::size_t all = t.cpus().size();
  std::size_t widest = 0;
  for (int n : t.nodes()) widest = std::max(widest, t.cpus_of_node(n).size());

  std::vector<int> two = qn::pipeline_cpus(2, t);
  ASSERT_EQ(two.size(), 2u);
  EXPECT_NE(two[0], two[1]);
  if (widest >= 2) {
    EXPECT_EQ(t.node_of_cpu(two[0]), t.node_of_cpu(two[1])) << "two stages fit on one node";
  } else {
    int nearest = 1000;
    for (int m : t.nodes())
      if (m != t.node_of_cpu(two[0])) nearest = std::min(nearest, t.distance(t.node_of_cpu(two[0]), m));
    EXPECT_EQ(t.distance(t.node_of_cpu(two[0]), t.node_of_cpu(two[1])), nearest) << "the nearest other node";
  }

  // All CPUs: a permutation in which each node's CPUs are contiguous.
  std::vector<int> every = qn::pipeline_cpus(all, t);
  std::vector<int> sorted = every;
  std::sort(sorted.begin(), sorted.end());
  std::vector<int> ids;
  for (const auto& c : t.cpus()) ids.push_back(c.cpu);
  EXPECT_EQ(sorted, ids);
  int changes = 0;
  for (std::size_t i = 1; i < every.size(); ++i)
    if (t.node_of_cpu(every[i]) != t.node_of_cpu(every[i - 1])) ++changes;
  EXPECT_EQ(changes, t.node_count() - 1) << "each node's CPUs together";

  EXPECT_THROW((void)qn::pipeline_cpus(0, t), std::invalid_argument);
  EXPECT_THROW((void)qn::pipeline_cpus(all + 1, t), std::invalid_argument);
}

}  // namespace
