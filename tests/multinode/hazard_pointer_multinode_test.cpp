// Hazard pointers on a machine with several NUMA nodes (ctest
// hazard_pointer_multinode_guest: scripts/numa_guest.sh's 2-node guest).
// Checks the NUMA claims of <quiesce/hazard_pointer.hpp>:
//   * a thread's hazard records are allocated on its node;
//   * an object built on node B and retired by a thread on node A is freed by
//     a thread running on B (B's reclaimer thread in async mode; a retiring
//     thread of B in sync mode), and the domain counts it as freed on its
//     home node;
//   * structure nodes from the lock-free node allocator sit on the node of the
//     thread that made them, and go back there.
// On one node every test skips.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include <quiesce/hazard_pointer.hpp>
#include <quiesce/lockfree/detail/node_alloc.hpp>
#include <quiesce/numa.hpp>

namespace {

namespace qn = quiesce::numa;

bool multinode() { return qn::topology::system().node_count() >= 2; }

#define REQUIRE_MULTINODE() \
  if (!multinode()) GTEST_SKIP() << "one NUMA node here: run through scripts/numa_guest.sh"

int first_node() { return qn::topology::system().nodes().front(); }
int last_node() { return qn::topology::system().nodes().back(); }

// Runs f on a thread pinned to `node`'s CPUs and waits for it.
template <class F>
void on_node(int node, F&& f) {
  std::thread t([&] {
    auto pin = qn::scoped_affinity::to_node(node);
    ASSERT_EQ(qn::current_node(), node);
    f();
  });
  t.join();
}

struct obj : quiesce::hazard_pointer_obj_base<obj> {
  explicit obj(std::atomic<int>* freed_on) : freed_on_(freed_on) {}
  ~obj() { freed_on_[qn::current_node()].fetch_add(1); }
  std::atomic<int>* freed_on_;
};

// n objects made by a thread on `node`, their home node.
std::vector<obj*> made_on_node(int node, std::size_t n, std::atomic<int>* freed_on) {
  std::vector<obj*> objs;
  on_node(node, [&] {
    for (std::size_t i = 0; i < n; ++i) objs.push_back(new obj(freed_on));
  });
  return objs;
}

TEST(HazardPointerMultinode, RecordsLiveOnTheOwningThreadsNode) {
  REQUIRE_MULTINODE();
  quiesce::hazard_pointer_domain dom;
  for (int node : qn::topology::system().nodes()) {
    if (qn::topology::system().cpus_of_node(node).empty()) continue;
    on_node(node, [&] {
      auto hs = quiesce::make_hazard_pointers<3>(dom);
      for (auto& h : hs) EXPECT_EQ(qn::node_of_address(h.record_address()), node) << "record of a thread on node " << node;
    });
  }
}

TEST(HazardPointerMultinode, AsyncReclaimFreesOnTheObjectsHomeNode) {
  REQUIRE_MULTINODE();
  const int home = last_node(), away = first_node();
  constexpr std::size_t threshold = 64;
  quiesce::hazard_pointer_domain dom({.min_threshold = threshold});
  dom.start_async_reclaim();
  std::atomic<int> freed_on[64] = {};
  const std::vector<obj*> objs = made_on_node(home, threshold, freed_on);
  // Retired from the other node: exactly T objects, so the last retire wakes
  // the home node's reclaimer (and stays below 4T, where the retiring
  // thread would scan itself).
  on_node(away, [&] {
    for (obj* o : objs) o->retire(dom);
  });
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (dom.stats().reclaimed < threshold && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
  auto st = dom.stats();
  EXPECT_EQ(st.reclaimed, threshold);
  EXPECT_EQ(st.reclaimed_on_home_node, threshold);
  EXPECT_EQ(freed_on[home].load(), static_cast<int>(threshold));
  EXPECT_EQ(freed_on[away].load(), 0);
  dom.stop_async_reclaim();
}

TEST(HazardPointerMultinode, SyncReclaimLeavesRemoteListsToTheirNode) {
  REQUIRE_MULTINODE();
  const int home = last_node(), away = first_node();
  constexpr std::size_t threshold = 32;
  quiesce::hazard_pointer_domain dom({.min_threshold = threshold});
  std::atomic<int> freed_on[64] = {};
  const std::vector<obj*> objs = made_on_node(home, 2 * threshold, freed_on);
  // From the other node, below the hard bound 2T: nothing is freed there.
  on_node(away, [&] {
    for (std::size_t i = 0; i + 1 < 2 * threshold; ++i) objs[i]->retire(dom);
  });
  EXPECT_EQ(dom.stats().reclaimed, 0u);
  EXPECT_EQ(dom.stats().unreclaimed_per_node[static_cast<std::size_t>(home)], 2 * threshold - 1);
  // A thread of the home node retiring the last one scans its node's list.
  on_node(home, [&] { objs.back()->retire(dom); });
  EXPECT_EQ(dom.stats().reclaimed, 2 * threshold);
  EXPECT_EQ(freed_on[home].load(), static_cast<int>(2 * threshold));
  EXPECT_EQ(dom.stats().reclaimed_on_home_node, 2 * threshold);
}

TEST(HazardPointerMultinode, SyncHardBoundReclaimsFromAnyNode) {
  REQUIRE_MULTINODE();
  const int home = last_node(), away = first_node();
  constexpr std::size_t threshold = 32;
  quiesce::hazard_pointer_domain dom({.min_threshold = threshold});
  std::atomic<int> freed_on[64] = {};
  const std::vector<obj*> objs = made_on_node(home, 2 * threshold, freed_on);
  on_node(away, [&] {
    for (obj* o : objs) o->retire(dom);  // the 2T-th retire reaches the hard bound
  });
  auto st = dom.stats();
  EXPECT_EQ(st.reclaimed, 2 * threshold);
  EXPECT_EQ(st.reclaimed_off_node, 2 * threshold);
  EXPECT_EQ(freed_on[away].load(), static_cast<int>(2 * threshold));
}

struct pooled : quiesce::hazard_pointer_obj_base<pooled, quiesce::detail::lockfree::node_deleter<pooled>> {
  using hazard_pointer_obj_base::home_node;
  using hazard_pointer_obj_base::set_home_node;
  long payload[4] = {};
};

// A node that takes its home node from new_node (as the stack's and the
// queue's do) instead of having it set after construction.
struct pooled_at_home : quiesce::detail::lockfree::pool_node<pooled_at_home> {
  explicit pooled_at_home(quiesce::detail::lockfree::at_home h) noexcept : pool_node(h) {}
  long payload[4] = {};
};

TEST(HazardPointerMultinode, StructureNodesComeFromTheMakingThreadsNode) {
  REQUIRE_MULTINODE();
  for (int node : qn::topology::system().nodes()) {
    if (qn::topology::system().cpus_of_node(node).empty()) continue;
    on_node(node, [&] {
      pooled* p = quiesce::detail::lockfree::new_node<pooled>();
      EXPECT_EQ(p->home_node(), node);
      EXPECT_EQ(qn::node_of_address(p), node);
      p->retire();
      pooled_at_home* q = quiesce::detail::lockfree::new_node<pooled_at_home>();
      EXPECT_EQ(q->home_node(), node);
      EXPECT_EQ(qn::node_of_address(q), node);
      q->retire();
    });
  }
  quiesce::hazard_pointer_cleanup();
}

}  // namespace
