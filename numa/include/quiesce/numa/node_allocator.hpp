// quiesce/numa/node_allocator.hpp — memory on a chosen NUMA node: raw pages,
// a standard allocator, and a pool for many small fixed-size objects.
//
//   std::vector<int, quiesce::numa::node_allocator<int>> v{quiesce::numa::node_allocator<int>(1)};
//   quiesce::numa::node_pool pool(sizeof(node), alignof(node), /*node=*/1);
//   void* p = pool.allocate();  ... pool.deallocate(p);
//
// placement::strict binds the memory to the node (mbind MPOL_BIND): if the
// node cannot satisfy it, allocation fails with node_allocation_error.
// placement::preferred falls back to other nodes. Page-granular allocation
// (allocate_on_node, node_allocator) costs system calls on every call;
// node_pool carves node-local chunks into objects and serves them from
// per-thread caches (no system call, no atomic operation in the common
// case). perf/numa_bench alloc_free/* measures both against malloc,
// numa_alloc_onnode and the std::pmr pools; its table is the main job's
// out/numa_ratios.md (scripts/run_main.sh).
//
// When to use which
//   allocate_on_node   big buffers (rings, tables, per-node arrays): one
//                      mmap + mbind + populate per call, one munmap to free.
//   node_allocator<T>  a container whose few, large blocks must be on a node
//                      (std::vector); every allocation takes whole pages.
//   node_pool          many small objects of one size (list/queue nodes,
//                      hazard-pointer records): an allocate or deallocate is
//                      a pop or push on the thread's cache; a full or empty
//                      cache exchanges a batch with the pool's free list
//                      under its mutex.
//   Not for memory whose node does not matter: malloc is as fast and sized
//   for any object.
//
// How placement is obtained
//   mmap (not populated) -> mbind(MPOL_BIND or MPOL_PREFERRED, {node}) ->
//   madvise(MADV_POPULATE_WRITE) (Linux 5.14+; older kernels: one write per
//   page). The pages are faulted in under the policy before the call returns,
//   so they are on `node` (strict) or on it when it has room (preferred)
//   whichever thread touches them later, and the first touch costs nothing.
//   A populate that the node cannot satisfy returns ENOMEM, reported as
//   node_allocation_error. Caveat: when the node is truly exhausted the
//   kernel may first run its OOM killer (constrained to the policy), as for
//   any page fault under MPOL_BIND; strict placement is a promise about
//   where the memory is, not a way to probe how much is free.
//   Without NUMA support (numa_available() < 0), node 0 is the only node and
//   no policy is set. Where the kernel refuses mbind (EPERM/ENOSYS, e.g. a
//   seccomp filter): with one node the memory is still on it; with several,
//   strict throws node_allocation_error and preferred goes on unbound.
#ifndef QUIESCE_NUMA_NODE_ALLOCATOR_HPP
#define QUIESCE_NUMA_NODE_ALLOCATOR_HPP

#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <new>
#include <type_traits>
#include <utility>

#include <quiesce/base/config.hpp>  // prefetch_for_write
#include <quiesce/numa/error.hpp>

namespace quiesce::numa {

enum class placement { strict, preferred };

// Page-granular memory on `node`, zero-filled, faulted in on `node`.
// Throws std::invalid_argument for a node that does not exist,
// node_allocation_error when strict placement cannot be satisfied.
// `bytes` is rounded up to whole pages (0 takes one page); the result is
// page-aligned. Any thread; blocking (system calls, page faults); cost
// perf/numa_bench alloc_free/allocate_on_node. With placement::preferred,
// running out of memory throws plain std::bad_alloc.
void* allocate_on_node(std::size_t bytes, int node, placement policy = placement::strict);
// Returns memory from allocate_on_node; `bytes` as passed to it (the same
// rounding applies). Null p: no-op. Any thread; one munmap.
void deallocate_on_node(void* p, std::size_t bytes) noexcept;

// A standard-conforming allocator (usable with std::vector, std::map, ...)
// whose memory lives on one node. Page-granular: for containers that
// allocate few, large blocks. Two allocators compare equal when they name
// the same node and policy.
template <class T>
class node_allocator {
  static_assert(alignof(T) <= 4096,
                "node_allocator<T>: T is aligned beyond 4096 bytes; allocate_on_node only guarantees page alignment");

 public:
  using value_type = T;
  using propagate_on_container_copy_assignment = std::true_type;
  using propagate_on_container_move_assignment = std::true_type;
  using propagate_on_container_swap = std::true_type;
  using is_always_equal = std::false_type;

  // Throws std::invalid_argument naming `node` if the machine lacks it.
  explicit node_allocator(int node, placement policy = placement::strict);
  template <class U>
  node_allocator(const node_allocator<U>& other) noexcept : node_(other.node()), policy_(other.policy()) {}

  // n objects' worth of whole pages on the node (allocate_on_node: any
  // thread, a system call, ~us); std::bad_array_new_length on overflow.
  [[nodiscard]] T* allocate(std::size_t n) {
    if (n > std::numeric_limits<std::size_t>::max() / sizeof(T)) throw std::bad_array_new_length();
    return static_cast<T*>(allocate_on_node(n * sizeof(T), node_, policy_));
  }
  // One munmap; n as passed to allocate().
  void deallocate(T* p, std::size_t n) noexcept { deallocate_on_node(p, n * sizeof(T)); }

  [[nodiscard]] int node() const noexcept { return node_; }
  [[nodiscard]] placement policy() const noexcept { return policy_; }
  template <class U>
  bool operator==(const node_allocator<U>& o) const noexcept {
    return node_ == o.node() && policy_ == o.policy();
  }

 private:
  int node_;
  placement policy_;
};

// Objects whose memory must be on a node, owned by a std::unique_ptr:
// make_on_node<T>(node, args...) builds one T, make_array_on_node<T>(node, n)
// n value-initialised Ts. Node >= 0: whole pages from allocate_on_node
// (strict: the pages are on `node`, std::invalid_argument for a node the
// machine lacks; a system call, ~us: for long-lived state such as a ring's
// sequencer, not for objects made per operation). Node -1: ordinary heap
// memory aligned to 128 bytes (or alignof(T)), so that no neighbour shares
// its lines. The deleter destroys the objects, then frees the memory.
template <class T>
class node_deleter {
  static_assert(alignof(T) <= 4096, "node_deleter<T>: T is aligned beyond a page");

 public:
  static constexpr std::size_t alignment = alignof(T) > 128 ? alignof(T) : 128;
  node_deleter() noexcept = default;
  node_deleter(std::size_t count, int node) noexcept : count_(count), node_(node) {}
  void operator()(T* p) const noexcept {
    if (p == nullptr) return;
    std::destroy_n(p, count_);
    deallocate(p, count_, node_);
  }
  [[nodiscard]] int node() const noexcept { return node_; }
  [[nodiscard]] std::size_t bytes() const noexcept { return count_ * sizeof(T); }

  // Raw memory for count Ts on `node` (see above), not yet constructed.
  static void* allocate(std::size_t count, int node) {
    if (count > std::numeric_limits<std::size_t>::max() / sizeof(T)) throw std::bad_array_new_length();
    if (node >= 0) return allocate_on_node(count * sizeof(T), node, placement::strict);
    return ::operator new(count * sizeof(T), std::align_val_t{alignment});
  }
  // Frees what allocate(count, node) returned (nothing constructed in it).
  static void deallocate(void* raw, std::size_t count, int node) noexcept {
    if (node >= 0)
      deallocate_on_node(raw, count * sizeof(T));
    else
      ::operator delete(raw, std::align_val_t{alignment});
  }

 private:
  std::size_t count_ = 0;
  int node_ = -1;
};

template <class T, class... A>
[[nodiscard]] std::unique_ptr<T, node_deleter<T>> make_on_node(int node, A&&... args) {
  void* raw = node_deleter<T>::allocate(1, node);
  T* p;
  try {
    p = ::new (raw) T(std::forward<A>(args)...);
  } catch (...) {
    node_deleter<T>::deallocate(raw, 1, node);
    throw;
  }
  return std::unique_ptr<T, node_deleter<T>>(p, node_deleter<T>(1, node));
}

template <class T>
  requires std::is_nothrow_default_constructible_v<T>
[[nodiscard]] std::unique_ptr<T[], node_deleter<T>> make_array_on_node(int node, std::size_t n) {
  T* p = static_cast<T*>(node_deleter<T>::allocate(n, node));
  for (std::size_t i = 0; i < n; ++i) ::new (static_cast<void*>(p + i)) T();
  return std::unique_ptr<T[], node_deleter<T>>(p, node_deleter<T>(n, node));
}

namespace detail {
// std::invalid_argument naming the node unless topology::system() has it.
void validate_node(int node);
// Zero-filled, populated pages: preferred on `node` when the machine has that
// node, otherwise under the default (local) policy. For per_node over a
// topology that names nodes the machine lacks. Free with deallocate_on_node.
void* allocate_pages_near(std::size_t bytes, int node);
// Installs node_pool's fork handlers (pthread_atfork) if they are not yet:
// before fork() every pool's mutex and the pool registry are taken, so the
// child never inherits one held by a thread that is gone. A component whose
// own fork handlers take a pool's mutex while holding its own lock (the
// hazard pointers) calls this before installing its handlers, so that its
// prepare handler runs first (POSIX runs prepare handlers in reverse order).
void install_fork_handlers();  // throws std::bad_alloc (then retry)

// node_pool's per-thread caches (numa/src/node_allocator.cpp owns them),
// declared here so that allocate() and deallocate() inline their common case.
// A thread's cache of one pool: a stack of free objects, items[0, count).
// Holds up to pool_cache_capacity objects (fewer for large objects, see
// node_pool); `generation` names the pool they belong to (0: none): a pool
// destroyed and another built in its slot never sees the old one's objects.
inline constexpr std::uint32_t pool_cache_capacity = 256;
// allocate() prefetches for writing the object it will hand out this many
// allocations later (numa/README.md, "The per-thread cache").
inline constexpr std::uint32_t pool_prefetch_distance = 4;
struct pool_cache {
  std::uint64_t generation = 0;
  std::uint32_t count = 0;
  void* items[pool_cache_capacity];

  // Takes the top object (precondition: count != 0) and prefetches for
  // writing the one pool_prefetch_distance below it: the inline allocate()
  // and the slow path both pop this way.
  void* pop() noexcept {
    void* const p = items[--count];
    if (count >= pool_prefetch_distance) quiesce::detail::base::prefetch_for_write(items[count - pool_prefetch_distance]);
    return p;
  }
};
// The calling thread's caches, indexed by pool slot: [data, data + size).
// {nullptr, 0} until the thread's first slow-path call creates them, and
// again from the thread's exit on (its caches are flushed then), so the
// inline paths fall through to the out-of-line ones exactly when those must
// run. Constant-initialised and trivially destructible: one %fs-relative
// load pair, no TLS wrapper call.
struct pool_cache_view {
  pool_cache* data = nullptr;
  std::size_t size = 0;
};
inline constinit thread_local pool_cache_view tl_pool_caches{};
}  // namespace detail

template <class T>
node_allocator<T>::node_allocator(int node, placement policy) : node_(node), policy_(policy) {
  detail::validate_node(node);
}

// Fixed-size objects from node-local chunks. Thread-safe. allocate() and
// deallocate() are served from a per-thread cache of free objects (no
// atomic operation in the common case); caches exchange batches with the
// pool's shared free list under a mutex. Memory returns to the system only
// when the pool is destroyed; destroying the pool while objects are still in
// use is undefined (checked in debug builds: the destructor reports them).
//
// Synchronization table (what the caller must order itself):
//   allocate / deallocate, any threads, any pools   none needed
//   deallocate(p) on a thread other than p's allocator  none (any thread may free)
//   ~node_pool vs any other call on the same pool    caller: no call may overlap
//                                                    or follow the destructor
//   ~node_pool vs threads that still cache its objects  none: their caches are
//                                                    dropped (generation check)
// Per-thread caches hold up to C objects per pool and trade batches of C/2,
// where C is 256 for objects of up to 128 bytes and halves as the size
// doubles, down to 64 (about 32 KiB per thread and pool; numa/README.md,
// "The per-thread cache"); a thread that exits returns its cached objects
// to the pools still alive (also when other thread_local destructors free
// objects after that: those go straight to the shared list). Objects in
// other threads' caches count as free but are unavailable to this thread
// until traded, so a pool can hold up to C x (threads) more free objects
// than it hands out.
// Memory: object size rounded up to the alignment (at least a pointer);
// the shared list reserves one pointer per object carved.
// Fork: a child must not use a pool another parent thread was using.
class node_pool {
 public:
  // object_size (> 0) and alignment (a power of two, <= 4096) describe the
  // objects; chunk_bytes is how much node memory is taken at a time (rounded
  // up to pages and to at least one object). Throws std::invalid_argument
  // (naming the value) for a bad size, alignment or node. Takes no memory
  // until the first allocate().
  node_pool(std::size_t object_size, std::size_t alignment, int node, placement policy = placement::strict,
            std::size_t chunk_bytes = std::size_t{1} << 20);
  // Any thread, once no call on this pool can overlap it. Unmaps the chunks.
  ~node_pool();
  node_pool(const node_pool&) = delete;
  node_pool& operator=(const node_pool&) = delete;

  // An uninitialised object of object_size bytes, aligned as asked, on the
  // pool's node. Any thread. Common case (the thread's cache has one):
  // no lock, no atomic, a few ns (perf/numa_bench alloc_free/node_pool);
  // it also prefetches for writing the object the cache will hand out four
  // allocations later, which may last have been written on another CPU.
  // Otherwise takes the pool's mutex to trade a batch, and when the pool is
  // empty maps a new chunk (allocate_on_node). Throws node_allocation_error
  // (strict) or std::bad_alloc when no chunk can be had.
  // The common case is inline (a pop from the thread's cache); the rest is
  // out of line.
  [[nodiscard]] void* allocate() {
    const detail::pool_cache_view v = detail::tl_pool_caches;
    if (inline_slot_ < v.size) [[likely]] {
      detail::pool_cache& c = v.data[inline_slot_];
      if (c.generation == generation_ && c.count != 0) [[likely]] return c.pop();
    }
    return allocate_outline();
  }
  // Gives back `p`, which must come from this pool's allocate() and not be
  // given back already. Any thread (not only the allocating one). Common
  // case (inline): no lock, no atomic, a push on the thread's cache; a full
  // cache trades half under the mutex.
  [[gnu::always_inline]] void deallocate(void* p) noexcept {
    const detail::pool_cache_view v = detail::tl_pool_caches;
    if (inline_slot_ < v.size) [[likely]] {
      detail::pool_cache& c = v.data[inline_slot_];
      if (c.generation == generation_ && c.count < cache_cap_) [[likely]] {
        c.items[c.count++] = p;
        return;
      }
    }
    deallocate_outline(p);
  }

  [[nodiscard]] int node() const noexcept;
  [[nodiscard]] std::size_t object_size() const noexcept;   // as passed to the constructor
  [[nodiscard]] std::size_t chunk_count() const noexcept;   // chunks mapped so far; any thread

  struct impl;  // opaque; defined in numa/src/node_allocator.cpp (named there by the thread-exit flush)

 private:
  // Everything but the inline common case: an empty or full cache, the
  // thread's first call or a call after its exit hook, debug builds' count.
  [[nodiscard]] void* allocate_outline();
  void deallocate_outline(void* p) noexcept;

  // What the inline paths read, constant after construction and on one line:
  // the pool's slot in every thread's caches (no slot, so that every call
  // goes out of line, when the library counts the objects in use: debug
  // builds of the library), its generation and a cache's capacity.
  std::uint32_t inline_slot_ = std::numeric_limits<std::uint32_t>::max();
  std::uint32_t cache_cap_ = 0;
  std::uint64_t generation_ = 0;
  std::unique_ptr<impl> impl_;
};

}  // namespace quiesce::numa

#endif  // QUIESCE_NUMA_NODE_ALLOCATOR_HPP
