// quiesce/lockfree/detail/node_alloc.hpp — node-local memory for the nodes of
// the lock-free structures (internal).
//
// Every structure node comes from a numa::node_pool on the NUMA node of the
// thread that creates it (the thread that pushes/inserts), and goes back to
// that pool when its hazard-pointer deleter runs, on whichever thread. The
// pools are process-wide and immortal (one per node size, alignment, pool
// family (below) and NUMA node, created on first use): a retired node may
// outlive the structure that made it (its deleter runs after the structure
// is gone), so its pool must outlive every structure. Pool memory is
// re-used, never returned to the system; a pool's per-thread caches make an
// allocate+free pair a pop and a push on the thread's cache, no atomic
// operation (perf/numa_bench alloc_free/node_pool measures it against malloc:
// out/numa_ratios.md), and a node freed and then allocated again on one
// thread skips even that: the thread keeps it as its spare (keep_spare,
// below).
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
#include <type_traits>
#include <utility>

#include <quiesce/hazard_pointer.hpp>
#include <quiesce/numa/node_allocator.hpp>
#include <quiesce/hazard_pointer/detail/hp.hpp>
#include <quiesce/numa/topology.hpp>

namespace quiesce::detail::lockfree {

// The element types treiber_stack<T> and ms_queue<T> hold: checked once for
// both, each failure with its own message (the node stores T in a union and
// pop() moves it out; nodes die in hazard-pointer deleters, which run inside
// noexcept scans).
template <class T>
struct element_checks {
  static_assert(std::is_object_v<T> && !std::is_const_v<T> && !std::is_volatile_v<T> && !std::is_array_v<T>,
                "quiesce::lockfree::treiber_stack/ms_queue<T>: T must be a non-const, non-volatile, non-array "
                "object type (store a pointer or a std::array instead)");
  static_assert(std::is_move_constructible_v<T>,
                "quiesce::lockfree::treiber_stack/ms_queue<T>: pop() moves the element out, so T must be move "
                "constructible");
  static_assert(std::is_nothrow_destructible_v<T>,
                "quiesce::lockfree::treiber_stack/ms_queue<T>: nodes are destroyed by hazard-pointer deleters and "
                "by the destructor, which must not throw; make ~T() noexcept");
  static constexpr bool ok = true;
};
template <class T>
inline constexpr bool element_type_ok = element_checks<T>::ok;

// The pool families of the structures' nodes (see pool_for below): each
// structure's bursts come from pools of their own.
struct treiber_stack_pool {};
struct ms_queue_pool {};

// The pools of objects of Size/Align bytes, one slot per NUMA node (null
// until its pool exists). A namespace-scope variable, so that pool_for's
// fast path is one inline load (no function-local static, no call).
inline constexpr int max_pool_nodes = 64;
template <std::size_t Size, std::size_t Align, class Family>
inline constinit std::array<std::atomic<numa::node_pool*>, max_pool_nodes> pool_slots{};

// pool_for's first call per node: creates the pool under a mutex.
template <std::size_t Size, std::size_t Align, class Family>
[[gnu::noinline]] numa::node_pool& pool_create(int slot) {
  static std::mutex mu;
  std::lock_guard lk(mu);
  if (numa::node_pool* p = pool_slots<Size, Align, Family>[slot].load(std::memory_order_relaxed)) return *p;
  const auto& topo = numa::topology::system();
  const int real = topo.has_node(slot) ? slot : topo.nodes().front();
  // Immortal: retired nodes may be freed after every structure is gone.
  auto* p = new numa::node_pool(Size, Align, real, numa::placement::preferred, std::size_t{1} << 20);
  pool_slots<Size, Align, Family>[slot].store(p, std::memory_order_release);
  return *p;
}

// The pool for objects of Size/Align bytes of the given family on `node`.
// Thread-safe; the first call per node takes a mutex, later calls one
// acquire load (inline).
template <std::size_t Size, std::size_t Align, class Family = void>
inline numa::node_pool& pool_for(int node) {
  const int slot = node >= 0 && node < max_pool_nodes ? node : 0;
  // Acquire: pairs with the release store in pool_create (the pool is built).
  if (numa::node_pool* p = pool_slots<Size, Align, Family>[slot].load(std::memory_order_acquire)) [[likely]] return *p;
  return pool_create<Size, Align, Family>(slot);
}

// Which pool family a node type belongs to: Node::pool_family when it names
// one, else void (the family every structure shares). A structure whose
// nodes churn in bursts (a queue or a stack: a producer running far ahead
// of its consumer carves and frees tens of thousands of nodes) names its
// own family, so that its nodes come from pools of their own: the free
// lists another structure's burst left scattered over megabytes do not
// become its working set, and its bursts do not scatter theirs. Cost: each family's pool maps its own
// chunks (1 MiB at a time) per NUMA node it is used on.
template <class Node, class = void>
struct pool_family_of {
  using type = void;
};
template <class Node>
struct pool_family_of<Node, std::void_t<typename Node::pool_family>> {
  using type = typename Node::pool_family;
};

// The pool Node's memory comes from on `node`.
template <class Node>
inline numa::node_pool& node_pool_for(int node) {
  return pool_for<sizeof(Node), alignof(Node), typename pool_family_of<Node>::type>(node);
}

// The spare node (detail::hp::thread_cache::spare): the last structure node
// this thread freed, kept aside while the thread's next allocation may want
// it. A one-thread pop then push (a request queue drained and refilled by
// one worker, a free list) then reuses the node with one thread-local load
// and one store each way, where the pool's cache (numa::node_pool::allocate)
// first finds its pool for the node (pool_slots), then its thread cache
// (slot, generation, count). One node per thread at most, of any pool: a
// free keeps its node only when the slot is empty, an allocation takes the
// spare only when it belongs to the same pool (the key: spare_kind_of's
// address) and to the NUMA node the allocation is for, so placement is as
// without it. The thread's exit hook hands it back (thread_cache.cpp).
template <std::size_t Size, std::size_t Align, class Family>
void spare_free(void* p, int home) noexcept {
  pool_for<Size, Align, Family>(home).deallocate(p);  // the pool exists: p came from it
}
template <std::size_t Size, std::size_t Align, class Family>
inline constexpr detail::hp::spare_kind spare_kind_of{&spare_free<Size, Align, Family>};
template <class Node>
inline constexpr const detail::hp::spare_kind* spare_key =
    &spare_kind_of<sizeof(Node), alignof(Node), typename pool_family_of<Node>::type>;

// The spare if it is Node's pool's on `node` (then taken), else null.
template <class Node>
inline void* take_spare(int node) noexcept {
  detail::hp::thread_cache& c = detail::hp::tls_cache;
  void* const p = c.spare;
  if (p == nullptr || c.spare_pool != spare_key<Node> || c.spare_home != node) return nullptr;
  c.spare = nullptr;
  return p;
}
// Keeps n (Node's memory, destroyed, home `node`) as the spare if there is
// none and the thread's exit hook is installed and has not run; else false.
template <class Node>
inline bool keep_spare(void* n, int node) noexcept {
  detail::hp::thread_cache& c = detail::hp::tls_cache;
  if (c.spare != nullptr || !c.open) return false;
  // Written only when they change: a one-thread pop then push frees and
  // takes the same kind of node on the same node again and again, and every
  // store here is one the next push's CAS waits to drain (x86-64).
  if (c.spare_pool != spare_key<Node>) c.spare_pool = spare_key<Node>;
  if (c.spare_home != node) c.spare_home = node;
  c.spare = n;
  return true;
}

// The first argument of a node constructor that takes its home node (the
// node its memory is on) from new_node, so that the hazard-pointer header
// need not look the thread's node up a second time (pool_node(at_home)).
struct at_home {
  int node;
};

// A Node built on the calling thread's NUMA node. Node must derive from
// hazard_pointer_obj_base<Node, node_deleter<Node>> and either take
// at_home first (passed to pool_node) or expose set_home_node() to this
// function (e.g. through a friend declaration or a public using-declaration).
template <class Node, class... Args>
Node* new_node(Args&&... args) {
  const int node = detail::hp::this_thread_node();
  void* mem = take_spare<Node>(node);
  if (mem == nullptr) mem = node_pool_for<Node>(node).allocate();
  Node* n;
  try {
    if constexpr (std::is_constructible_v<Node, at_home, Args&&...>) {
      n = ::new (mem) Node(at_home{node}, std::forward<Args>(args)...);
    } else {
      n = ::new (mem) Node(std::forward<Args>(args)...);
      n->set_home_node(node);
    }
  } catch (...) {
    node_pool_for<Node>(node).deallocate(mem);
    throw;
  }
  return n;
}

// Destroys a node made by new_node and returns its memory to its home pool
// (or keeps it as the thread's spare node, see keep_spare).
// Used directly (destructors, nodes never published) and as the deleter
// hazard pointers run after retire.
template <class Node>
struct node_deleter {
  void operator()(Node* n) const noexcept {
    const int node = n->home_node();
    n->~Node();
    if (keep_spare<Node>(n, node)) return;
    node_pool_for<Node>(node).deallocate(n);
  }
};

// The base of every structure node: a hazard-pointer object whose deleter
// (node_deleter) returns it to its pool, on its home node, of pool family
// Family (see pool_family_of; void: the family every structure shares).
template <class Node, class Family = void>
struct pool_node : hazard_pointer_obj_base<Node, node_deleter<Node>> {
  using base = hazard_pointer_obj_base<Node, node_deleter<Node>>;
  pool_node() noexcept = default;
  explicit pool_node(at_home h) noexcept : base(h.node) {}
  using base::home_node;      // for node_deleter
  using base::set_home_node;  // for new_node
  using pool_family = Family;
};

// Frees the chain of nodes from `first` with node_deleter, reading each
// node's successor with next_of(n) before n goes. For the destructors (no
// other thread uses the structure any more).
template <class Node, class NextOf>
void delete_chain(Node* first, NextOf next_of) noexcept {
  while (first != nullptr) {
    Node* next = next_of(first);
    node_deleter<Node>{}(first);
    first = next;
  }
}

}  // namespace quiesce::detail::lockfree

#endif  // QUIESCE_LOCKFREE_DETAIL_NODE_ALLOC_HPP
