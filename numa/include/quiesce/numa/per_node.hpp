// quiesce/numa/per_node.hpp — one instance of T per NUMA node, each on its
// own node's memory and alone on its 128-byte-aligned block, reached through
// the calling thread's node.
//
//   quiesce::numa::per_node<std::atomic<long>> hits;   // one counter per node
//   hits.local().fetch_add(1, std::memory_order_relaxed);
//   long total = 0; for (auto& h : hits) total += h.load();
//
// When to use it: state that every thread touches often and that can be
// split by node (counters, free lists, statistics, a node's share of a
// cache), so that threads on one socket never pull the line from another.
// When not: state that must be one value (use one atomic), or split per CPU
// or per thread (finer than nodes; a thread_local is cheaper still). Compared
// with an array of padded Ts from new: the same code on a one-node machine;
// on several nodes each instance is in its own node's memory.
//
// Memory: each instance takes its own pages (allocate_on_node with
// placement::preferred, so it never fails for a full node), so a per_node
// costs node_count() x (sizeof(T) rounded up to a page). For a topology that
// names nodes the machine lacks (a synthetic one), those instances come from
// the default policy. Instances are constructed in node order and destroyed
// in reverse order by the destructor.
//
// Threads: local()/on() and iteration may be called by any thread at any
// time; what they return is a plain T& (T's own rules apply to concurrent
// use). Construction and destruction are not concurrent with any use.
#ifndef QUIESCE_NUMA_PER_NODE_HPP
#define QUIESCE_NUMA_PER_NODE_HPP

#include <cstddef>
#include <new>
#include <utility>
#include <vector>

#include <quiesce/numa/node_allocator.hpp>
#include <quiesce/numa/topology.hpp>

namespace quiesce::numa {

namespace detail {
// std::invalid_argument "node N does not exist (nodes: <list>)" (numa/src/topology.cpp).
[[noreturn]] void throw_no_such_node_of(int node, const std::vector<int>& nodes);
}  // namespace detail

template <class T>
class per_node {
  // 128 bytes (the adjacent-line prefetcher pairs 64-byte lines), or T's own
  // alignment where that is larger (alignas may not weaken a member's).
  struct alignas(alignof(T) > 128 ? alignof(T) : 128) slot {
    template <class... A>
    explicit slot(A&&... a) : value(std::forward<A>(a)...) {}
    T value;
  };
  static_assert(alignof(slot) <= 4096,
                "per_node<T>: T is aligned beyond 4096 bytes; each instance lives on page-aligned node memory, "
                "so wrap T in a type of at most page alignment");

 public:
  // Every instance starts a block of this many bytes (at least 128, more
  // when T asks for more), and no other instance shares the block.
  static constexpr std::size_t slot_alignment = alignof(slot);
  static_assert(slot_alignment >= 128 && sizeof(slot) % slot_alignment == 0,
                "per_node<T>: instances must be alone on 128-byte blocks (the adjacent-line prefetcher pairs lines)");

  // Constructs one T per node of `t` with `args...` (copied to each: each T
  // gets lvalues, never a moved-from argument). Blocking (one
  // allocate_on_node per node). Throws what T's constructor or the
  // allocation throws; the instances built so far are then destroyed.
  template <class... A>
  explicit per_node(const topology& t, A&&... args);
  per_node() : per_node(topology::system()) {}
  ~per_node();
  per_node(const per_node&) = delete;
  per_node& operator=(const per_node&) = delete;

  // The instance of the node the calling thread runs on now. Any thread,
  // wait-free: current_node() (sched_getcpu + a table lookup) and two
  // indexed loads. A thread that is not pinned may be on another node by the
  // time it uses the result: fine for counters, not for ownership. A node
  // the topology lacks (e.g. a synthetic topology) maps to the first
  // instance.
  [[nodiscard]] T& local() noexcept { return slots_[local_index()]->value; }
  [[nodiscard]] const T& local() const noexcept { return slots_[local_index()]->value; }
  // The instance of `node`; throws std::invalid_argument naming the node.
  [[nodiscard]] T& on(int node) { return slots_[checked_index(node)]->value; }
  [[nodiscard]] const T& on(int node) const { return slots_[checked_index(node)]->value; }
  [[nodiscard]] std::size_t size() const noexcept { return slots_.size(); }
  // The node of the i-th instance (iteration order), i < size().
  [[nodiscard]] int node_at(std::size_t i) const noexcept { return nodes_[i]; }

  // Iteration over the instances, in node order.
  auto begin() noexcept { return indirect_iterator<T>{slots_.data()}; }
  auto end() noexcept { return indirect_iterator<T>{slots_.data() + slots_.size()}; }
  auto begin() const noexcept { return indirect_iterator<const T>{slots_.data()}; }
  auto end() const noexcept { return indirect_iterator<const T>{slots_.data() + slots_.size()}; }

 private:
  template <class V>
  struct indirect_iterator {
    slot* const* p;
    V& operator*() const noexcept { return (*p)->value; }
    V* operator->() const noexcept { return &(*p)->value; }
    indirect_iterator& operator++() noexcept {
      ++p;
      return *this;
    }
    bool operator==(const indirect_iterator& o) const noexcept { return p == o.p; }
  };

  [[nodiscard]] std::size_t local_index() const noexcept {
    const auto n = static_cast<std::size_t>(current_node());
    return n < index_of_node_.size() ? static_cast<std::size_t>(index_of_node_[n]) : 0;
  }
  [[nodiscard]] std::size_t checked_index(int node) const;
  void destroy() noexcept;

  std::vector<int> nodes_;          // node id of each slot
  std::vector<slot*> slots_;        // each on its node's memory
  std::vector<int> index_of_node_;  // node id -> slot index (0 for nodes without a slot, for local())
  std::vector<bool> has_slot_;      // node id -> whether it has a slot (for on())
};

template <class T>
template <class... A>
per_node<T>::per_node(const topology& t, A&&... args) : nodes_(t.nodes()) {
  const auto max_node = static_cast<std::size_t>(nodes_.back());
  index_of_node_.assign(max_node + 1, 0);
  has_slot_.assign(max_node + 1, false);
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    index_of_node_[static_cast<std::size_t>(nodes_[i])] = static_cast<int>(i);
    has_slot_[static_cast<std::size_t>(nodes_[i])] = true;
  }
  slots_.reserve(nodes_.size());
  try {
    for (int n : nodes_) {
      void* mem = detail::allocate_pages_near(sizeof(slot), n);
      try {
        slots_.push_back(::new (mem) slot(args...));  // lvalues: every node gets a copy
      } catch (...) {
        deallocate_on_node(mem, sizeof(slot));
        throw;
      }
    }
  } catch (...) {
    destroy();
    throw;
  }
}

template <class T>
per_node<T>::~per_node() {
  destroy();
}

template <class T>
void per_node<T>::destroy() noexcept {
  while (!slots_.empty()) {
    slot* s = slots_.back();
    slots_.pop_back();
    s->~slot();
    deallocate_on_node(s, sizeof(slot));
  }
}

template <class T>
std::size_t per_node<T>::checked_index(int node) const {
  if (node < 0 || static_cast<std::size_t>(node) >= has_slot_.size() || !has_slot_[static_cast<std::size_t>(node)]) {
    detail::throw_no_such_node_of(node, nodes_);  // names this per_node's nodes, not the machine's
  }
  return static_cast<std::size_t>(index_of_node_[static_cast<std::size_t>(node)]);
}

}  // namespace quiesce::numa

#endif  // QUIESCE_NUMA_PER_NODE_HPP
