// quiesce/lockfree/detail/node_alloc.hpp — node-local memory for the nodes of
// the lock-free structures (internal).
//
// Every structure node comes from a numa::node_pool on the NUMA node of the
// thread that creates it (the thread that pushes/inserts), and goes back to
// that pool when its hazard-pointer deleter runs, on whichever thread. The
// pools are process-wide and immortal (one per node size, alignment and NUMA
// node, created on first use): a retired node may outlive the structure that
// made it (its deleter runs after the structure is gone), so its pool must
// outlive every structure. Pool memory is re-used, never returned to the
// system; a pool's per-thread caches make an allocate+free pair ~3 ns
// (perf/numa_bench alloc_free/node_pool), cheaper than malloc.
//
// The node's home node is recorded in its hazard_pointer_obj_base header
// (set_home_node), so retired nodes go to their node's retired list and are
// freed by a thread of that node (see <quiesce/hazard_pointer.hpp>).
#ifndef QUIESCE_LOCKFREE_DETAIL_NODE_ALLOC_HPP
#define QUIESCE_LOCKFREE_DETAIL_NODE_ALLOC_HPP

#include <array>
#include <atomic>
#include <cstddef>
#include <memory>
#include <mutex>
#include <new>
#include <utility>

#include <quiesce/numa/node_allocator.hpp>
#include <quiesce/structures/detail/hazard_pointer.hpp>
#include <quiesce/numa/topology.hpp>

namespace quiesce::detail::lockfree {

// The pool for objects of Size/Align bytes on `node`. Thread-safe; the first
// call per node takes a mutex, later calls one acquire load.
template <std::size_t Size, std::size_t Align>
numa::node_pool& pool_for(int node) {
  static constexpr int max_nodes = 64;
  static std::array<std::atomic<numa::node_pool*>, max_nodes> pools{};
  static std::mutex mu;
  const int slot = node >= 0 && node < max_nodes ? node : 0;
  if (numa::node_pool* p = pools[slot].load(std::memory_order_acquire)) [[likely]] return *p;
  std::lock_guard lk(mu);
  if (numa::node_pool* p = pools[slot].load(std::memory_order_relaxed)) return *p;
  const auto& topo = numa::topology::system();
  const int real = topo.has_node(slot) ? slot : topo.nodes().front();
  // Immortal: retired nodes may be freed after every structure is gone.
  auto* p = new numa::node_pool(Size, Align, real, numa::placement::preferred, std::size_t{1} << 20);
  pools[slot].store(p, std::memory_order_release);
  return *p;
}

// A Node built on the calling thread's NUMA node. Node must derive from
// hazard_pointer_obj_base<Node, node_deleter<Node>> and expose
// set_home_node() to this function (e.g. through a friend declaration or a
// public using-declaration).
template <class Node, class... Args>
Node* new_node(Args&&... args) {
  const int node = detail::hp::this_thread_node();
  void* mem = pool_for<sizeof(Node), alignof(Node)>(node).allocate();
  Node* n;
  try {
    n = ::new (mem) Node(std::forward<Args>(args)...);
  } catch (...) {
    pool_for<sizeof(Node), alignof(Node)>(node).deallocate(mem);
    throw;
  }
  n->set_home_node(node);
  return n;
}

// Destroys a node made by new_node and returns its memory to its home pool.
// Used directly (destructors, nodes never published) and as the deleter
// hazard pointers run after retire.
template <class Node>
struct node_deleter {
  void operator()(Node* n) const noexcept {
    const int node = n->home_node();
    n->~Node();
    pool_for<sizeof(Node), alignof(Node)>(node).deallocate(n);
  }
};

}  // namespace quiesce::detail::lockfree

#endif  // QUIESCE_LOCKFREE_DETAIL_NODE_ALLOC_HPP
