// numa/src/node_allocator.cpp — allocate_on_node (mmap + mbind + populate),
// node_allocation_error, and node_pool with its per-thread caches.
#include <quiesce/numa/node_allocator.hpp>

#include <quiesce/base/config.hpp>  // prefetch_for_write

#include <numaif.h>
#include <pthread.h>
#include <sys/mman.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <climits>
#include <cstdint>
#include <cstdio>
#include <mutex>
#include <new>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

#include <quiesce/numa/testing.hpp>
#include <quiesce/numa/topology.hpp>

#include <quiesce/base/fork_safe.hpp>

#include "numa_internal.hpp"

#if defined(__GNUC__)
#define QUIESCE_NUMA_TLS_INITIAL_EXEC __attribute__((tls_model("initial-exec")))
#else
#define QUIESCE_NUMA_TLS_INITIAL_EXEC
#endif

namespace quiesce::numa {

node_allocation_error::node_allocation_error(int node, std::size_t bytes) : node_(node), bytes_(bytes) {
  std::snprintf(what_, sizeof what_, "cannot allocate %zu bytes on node %d (strict placement)", bytes, node);
}

// ---------------------------------------------------------------------------
// Pages.

namespace {

// Whole pages for `bytes` (0 -> one page); 0 when the rounding overflows.
std::size_t page_round(std::size_t bytes) noexcept {
  const std::size_t ps = detail::page_size();
  if (bytes == 0) return ps;
  if (bytes > SIZE_MAX - (ps - 1)) return 0;
  return (bytes + ps - 1) & ~(ps - 1);
}

// mbind(mode, {node}) over [p, p + len); 0 or errno.
int bind_to_node(void* p, std::size_t len, int node, int mode) {
  constexpr std::size_t bits = sizeof(unsigned long) * CHAR_BIT;
  std::vector<unsigned long> mask(static_cast<std::size_t>(node) / bits + 1, 0UL);
  mask[static_cast<std::size_t>(node) / bits] |= 1UL << (static_cast<std::size_t>(node) % bits);
  // maxnode: the kernel reads maxnode - 1 bits (a historical off-by-one that
  // libnuma also compensates for), so pass one more than the mask holds.
  if (::mbind(p, len, mode, mask.data(), mask.size() * bits + 1, 0) == 0) return 0;
  return errno;
}

// Faults every page of a fresh mapping in, under its policy; 0 or errno.
int populate(void* p, std::size_t len) noexcept {
#ifdef MADV_POPULATE_WRITE
  for (;;) {
    if (::madvise(p, len, MADV_POPULATE_WRITE) == 0) return 0;
    if (errno == EINTR) continue;
    if (errno != EINVAL) return errno;  // ENOMEM: the policy's nodes cannot supply the pages
    break;                              // EINVAL: a kernel before 5.14
  }
#endif
  // Older kernels: one write per page. Under MPOL_BIND a node that cannot
  // supply a page then ends in the kernel's OOM handling, not an error code.
  const std::size_t ps = detail::page_size();
  for (std::size_t off = 0; off < len; off += ps) static_cast<volatile char*>(p)[off] = 0;
  return 0;
}

// The one path to node memory. node < 0: no policy (the default, local).
void* map_on_node(std::size_t bytes, int node, placement policy, const topology& t) {
  const bool strict = policy == placement::strict && node >= 0;
  auto fail = [&]() -> void* {
    if (strict) throw node_allocation_error(node, bytes);
    throw std::bad_alloc();
  };
  const std::size_t len = page_round(bytes);
  if (len == 0) return fail();
  void* p = ::mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return fail();
  if (node >= 0 && t.numa_supported()) {
    const int err = bind_to_node(p, len, node, strict ? MPOL_BIND : MPOL_PREFERRED);
    // EPERM/ENOSYS: the kernel (or a seccomp filter) refuses memory policy.
    // With one node the memory is on it anyway; otherwise strict cannot be kept.
    const bool refused_harmlessly = (err == EPERM || err == ENOSYS) && t.node_count() == 1;
    if (err != 0 && strict && !refused_harmlessly) {
      ::munmap(p, len);
      return fail();
    }
  }
  if (populate(p, len) != 0) {
    ::munmap(p, len);
    return fail();
  }
  return p;
}

}  // namespace

namespace detail {

void validate_node(int node) {
  const topology& t = topology::system();
  if (!t.has_node(node)) throw_no_such_node(node, t);
}

void* allocate_pages_near(std::size_t bytes, int node) {
  const topology& t = topology::system();
  return map_on_node(bytes, t.has_node(node) ? node : -1, placement::preferred, t);
}

}  // namespace detail

void* allocate_on_node(std::size_t bytes, int node, placement policy) {
  const topology& t = topology::system();
  if (!t.has_node(node)) detail::throw_no_such_node(node, t);
  return map_on_node(bytes, node, policy, t);
}

void deallocate_on_node(void* p, std::size_t bytes) noexcept {
  const std::size_t len = page_round(bytes);
  if (p == nullptr || len == 0) return;
  ::munmap(p, len);
}

// ---------------------------------------------------------------------------
// node_pool.
//
// Layout of the state:
//   registry (one, leaked so it outlives every static and thread_local
//     destructor): slot -> live pool, under registry.m. A pool takes a free
//     slot and a never-reused generation number at construction and gives the
//     slot back in its destructor.
//   per thread: tl_caches -> thread_caches, a vector of local_cache indexed by
//     slot; a cache is valid for the pool whose generation it carries. The
//     vector lives in a function-local thread_local (cache_owner) whose
//     destructor flushes the caches into the pools still registered.
//   per pool (impl): the shared free list, the chunks and the bump region of
//     the newest chunk, under impl.m.
// Lock order: registry.m before impl.m (thread-exit flush); no path takes
// them the other way round.

namespace {

// A thread's cache holds up to cache_capacity_for(stride) objects of a pool
// and trades half of that with the pool's shared list (under its mutex) when
// it runs dry or full. Small objects get 256: a hazard-pointer scan frees
// a threshold's worth (1,000 or more) of nodes at once, and with 64 the
// two-thread rows of perf/lockfree_stack_queue_bench spent a visible share
// of their time in the shared list's mutex, much of it waiting for the other
// thread (numa/README.md, "The per-thread cache"). Larger objects get fewer, so
// that what one thread holds stays about 32 KiB (at least 64 objects).
constexpr std::uint32_t cache_capacity = detail::pool_cache_capacity;  // the array's size: the most any pool's cache holds
constexpr std::uint32_t cache_bytes = 32 << 10;
constexpr std::uint32_t cache_capacity_for(std::size_t stride) noexcept {
  std::uint32_t cap = cache_capacity;
  while (cap > 64 && cap * stride > cache_bytes) cap /= 2;
  return cap;
}
static_assert(cache_capacity_for(8) == 256 && cache_capacity_for(128) == 256 && cache_capacity_for(129) == 128 &&
              cache_capacity_for(4096) == 64);
// allocate() prefetches for writing the object it will hand out this many
// allocations later (the cache is a stack: so it will, unless deallocations
// come in between). A cached object often last lived in another thread's
// cache: a lock-free structure's nodes are freed by whichever thread
// reclaims them and reach other threads through trades. The caller's first
// stores to such an object wait for the other core's copy to be
// invalidated, and a locked instruction after them (a push's CAS) waits for
// those stores; with the prefetch the line is exclusive by then. 3 to 8
// measured alike on perf/lockfree_stack_queue_bench's two-thread rows
// (numa/README.md); 1 helped less. (detail::pool_prefetch_distance, in the
// header: the inline allocate() prefetches.)

// One thread's cache of one pool (the header's detail::pool_cache: the
// inline paths of node_pool read it).
using local_cache = detail::pool_cache;

// A thread's caches, by pool slot. The thread's detail::tl_pool_caches
// holds by_slot.data() and .size() (kept there so that the inline paths need
// not divide by sizeof(local_cache) to learn the size) while the thread has
// caches.
struct thread_caches {
  std::vector<local_cache> by_slot;
};

// Trivially destructible, constant-initialised thread_locals: reading them
// costs one %fs-relative load (no TLS wrapper call).
thread_local thread_caches* tl_caches QUIESCE_NUMA_TLS_INITIAL_EXEC = nullptr;
enum : int { tl_none = 0, tl_live = 1, tl_gone = 2 };
thread_local int tl_state QUIESCE_NUMA_TLS_INITIAL_EXEC = tl_none;

}  // namespace

struct node_pool::impl {
  // Read by every thread on the fast path; constant after construction.
  std::uint32_t slot = 0;
  std::uint64_t generation = 0;
  std::size_t stride = 0;  // object size rounded up to the alignment
  std::size_t user_size = 0;
  int node = 0;
  placement policy = placement::strict;
  std::size_t chunk_len = 0;  // bytes per chunk (whole pages)
  std::size_t per_chunk = 0;  // objects per chunk
  std::uint32_t cache_cap = 64;  // cache_capacity_for(stride): a thread's cache holds at most this many
  // Objects per trade with the shared list.
  std::uint32_t trade() const noexcept { return cache_cap / 2; }
  std::atomic<std::size_t> chunks_mapped{0};
#ifndef NDEBUG
  // Debug builds: allocate - deallocate, an atomic RMW on every call, so on
  // its own 128-byte block: sharing one with the read-mostly fields above
  // made every thread's fast path miss on them (found by
  // scripts/layout_audit.sh).
  alignas(128) std::atomic<std::int64_t> in_use{0};
#endif
  // Debug builds count the objects in use (the destructor reports a pool
  // destroyed with objects still out); release builds count nothing.
  void count_in_use([[maybe_unused]] std::int64_t d) noexcept {
#ifndef NDEBUG
    in_use.fetch_add(d, std::memory_order_relaxed);
#endif
  }

  // Written under m; on its own cache lines, away from the fields above.
  alignas(128) std::mutex m;
  std::vector<void*> shared;  // free objects; capacity >= every object carved, so push never allocates
  std::vector<void*> chunks;
  char* bump = nullptr;  // [bump, bump_end): the newest chunk's uncarved objects
  char* bump_end = nullptr;

  void* allocate_slow();
  void deallocate_slow(void* p) noexcept;
  void refill(local_cache& c);
  void add_chunk(std::unique_lock<std::mutex>& lock);
  local_cache* cache_of_calling_thread();
};

namespace {

struct registry {
  std::mutex m;
  std::vector<node_pool::impl*> slots;
  std::vector<std::uint32_t> free_slots;
  std::uint64_t next_generation = 1;
};

void fork_prepare() noexcept;
void fork_parent() noexcept;
void fork_child() noexcept;

// Constant-initialised and never destroyed (thread exits may flush after
// static destruction); no thread is ever inside its initialiser when another
// forks (quiesce/base/fork_safe.hpp).
constinit quiesce::detail::base::immortal<registry> g_registry;
registry& the_registry() noexcept { return g_registry.value; }

// fork(): lock order as in flush_thread_caches, registry then pools. A
// thread inside allocate/deallocate finishes its trade first.
// libnuma's mutex last: a pool growing under its mutex may call into libnuma
// (the topology's first use).
void fork_prepare() noexcept {
  registry& r = the_registry();
  r.m.lock();
  for (node_pool::impl* p : r.slots)
    if (p != nullptr) p->m.lock();
  detail::libnuma_mutex().lock();
}
void fork_parent() noexcept {
  detail::libnuma_mutex().unlock();
  registry& r = the_registry();
  for (node_pool::impl* p : r.slots)
    if (p != nullptr) p->m.unlock();
  r.m.unlock();
}
void fork_child() noexcept {
  // Only this thread exists: glibc would refuse its unlock of a mutex its
  // parent thread locked (owner TID); the state they guard is consistent.
  new (&detail::libnuma_mutex()) std::mutex;
  registry& r = the_registry();
  for (node_pool::impl* p : r.slots)
    if (p != nullptr) new (&p->m) std::mutex;
  new (&r.m) std::mutex;
}

constinit std::once_flag fork_once;

// Returns every cached object to its pool if that pool is still alive;
// drops the rest (their pool unmapped them). Runs at thread exit.
void flush_thread_caches(thread_caches& tc) noexcept {
  registry& r = the_registry();
  std::lock_guard reg_lock(r.m);  // keeps the pools registered (alive) while we push into them
  for (std::size_t slot = 0; slot < tc.by_slot.size(); ++slot) {
    local_cache& c = tc.by_slot[slot];
    if (c.count == 0) continue;
    node_pool::impl* pool = slot < r.slots.size() ? r.slots[slot] : nullptr;
    if (pool != nullptr && pool->generation == c.generation) {
      std::lock_guard pool_lock(pool->m);
      pool->shared.insert(pool->shared.end(), c.items, c.items + c.count);  // within capacity: no allocation
    }
    c.count = 0;
  }
}

struct cache_owner {
  thread_caches caches;
  cache_owner() noexcept {
    tl_caches = &caches;
    tl_state = tl_live;
  }
  ~cache_owner() {
    // From here on this thread's pool calls go to the shared lists directly
    // (another thread_local's destructor may still free pool objects): the
    // inline paths see no caches, the out-of-line ones tl_gone.
    detail::tl_pool_caches = {};
    tl_caches = nullptr;
    tl_state = tl_gone;
    flush_thread_caches(caches);
  }
  cache_owner(const cache_owner&) = delete;
  cache_owner& operator=(const cache_owner&) = delete;
};

}  // namespace

// The calling thread's cache for this pool, created on first use; null once
// the thread's caches are torn down (thread exit) or out of memory.
local_cache* node_pool::impl::cache_of_calling_thread() {
  thread_caches* tc = tl_caches;
  if (tc == nullptr) {
    if (tl_state == tl_gone) return nullptr;
    thread_local cache_owner owner;  // first use on this thread: registers the exit flush
    tc = &owner.caches;
  }
  if (tc->by_slot.size() <= slot) {
    tc->by_slot.resize(std::size_t{slot} + 1);
    detail::tl_pool_caches = {tc->by_slot.data(), tc->by_slot.size()};
  }
  local_cache& c = tc->by_slot[slot];
  if (c.generation != generation) {
    // Whatever the cache held belonged to a destroyed pool that used this slot.
    c.generation = generation;
    c.count = 0;
  }
  return &c;
}

// Fault injection (quiesce/numa/testing.hpp): failures still to inject, and
// how many were. Read only when a chunk is about to be mapped.
namespace {
std::atomic<std::size_t> chunk_failures_to_inject{0};
std::atomic<std::size_t> chunk_failures_injected{0};

// True if this chunk mapping is to fail (takes one from the countdown).
bool inject_chunk_failure() noexcept {
  std::size_t left = chunk_failures_to_inject.load(std::memory_order_relaxed);
  while (left != 0) {
    if (chunk_failures_to_inject.compare_exchange_weak(left, left - 1, std::memory_order_relaxed)) {
      chunk_failures_injected.fetch_add(1, std::memory_order_relaxed);
      return true;
    }
  }
  return false;
}
}  // namespace

namespace testing {
void fail_next_chunk_allocations(std::size_t n) noexcept {
  chunk_failures_to_inject.store(n, std::memory_order_relaxed);
}
std::size_t pending_chunk_failures() noexcept { return chunk_failures_to_inject.load(std::memory_order_relaxed); }
std::size_t injected_chunk_failures() noexcept { return chunk_failures_injected.load(std::memory_order_relaxed); }
}  // namespace testing

// Maps a chunk (outside the lock: populating 1 MiB takes ~100 us) and makes
// it the bump region. Called with `lock` held; returns with it held, also
// when it throws (node_allocation_error / std::bad_alloc: nothing changed).
void node_pool::impl::add_chunk(std::unique_lock<std::mutex>& lock) {
  if (inject_chunk_failure()) [[unlikely]] {
    // What allocate_on_node throws when the node has no memory left.
    if (policy == placement::strict) throw node_allocation_error(node, chunk_len);
    throw std::bad_alloc();
  }
  lock.unlock();
  void* mem = allocate_on_node(chunk_len, node, policy);
  lock.lock();
  try {
    chunks.reserve(chunks.size() + 1);
    shared.reserve((chunks.size() + 1) * per_chunk);
  } catch (...) {
    deallocate_on_node(mem, chunk_len);
    throw;
  }
  chunks.push_back(mem);
  chunks_mapped.store(chunks.size(), std::memory_order_relaxed);
  // Another thread may have added a chunk meanwhile: its uncarved rest
  // becomes free objects rather than being lost.
  for (; bump != bump_end; bump += stride) shared.push_back(bump);
  bump = static_cast<char*>(mem);
  bump_end = bump + per_chunk * stride;
}

// Fills an empty cache with up to trade() objects: from the shared list
// first, then carved from the bump region, mapping a chunk when both are dry.
void node_pool::impl::refill(local_cache& c) {
  std::unique_lock lock(m);
  while (c.count == 0) {
    const std::size_t take = std::min<std::size_t>(trade(), shared.size());
    std::copy(shared.end() - static_cast<std::ptrdiff_t>(take), shared.end(), c.items);
    shared.resize(shared.size() - take);
    c.count = static_cast<std::uint32_t>(take);
    for (; c.count < trade() && bump != bump_end; bump += stride) c.items[c.count++] = bump;
    if (c.count == 0) add_chunk(lock);
  }
}

void* node_pool::impl::allocate_slow() {
  local_cache* c = cache_of_calling_thread();
  if (c == nullptr) {  // thread exiting: no cache, one object straight from the shared list
    local_cache one;
    refill(one);
    std::lock_guard lock(m);
    shared.insert(shared.end(), one.items + 1, one.items + one.count);
    return one.items[0];
  }
  if (c->count == 0) refill(*c);
  return c->pop();
}

void node_pool::impl::deallocate_slow(void* p) noexcept {
  local_cache* c = nullptr;
  try {
    c = cache_of_calling_thread();
  } catch (...) {
    c = nullptr;  // no memory for this thread's cache vector: go to the shared list
  }
  if (c == nullptr) {
    std::lock_guard lock(m);
    shared.push_back(p);
    return;
  }
  if (c->count >= cache_cap) {
    std::lock_guard lock(m);
    shared.insert(shared.end(), c->items + (c->count - trade()), c->items + c->count);
    c->count -= trade();
  }
  c->items[c->count++] = p;
}

node_pool::node_pool(std::size_t object_size, std::size_t alignment, int node, placement policy,
                     std::size_t chunk_bytes) {
  if (object_size == 0) throw std::invalid_argument("node_pool: object size 0 (must be at least 1)");
  if (alignment == 0 || (alignment & (alignment - 1)) != 0)
    throw std::invalid_argument("node_pool: alignment " + std::to_string(alignment) + " is not a power of two");
  if (alignment > 4096)
    throw std::invalid_argument("node_pool: alignment " + std::to_string(alignment) + " exceeds 4096");
  if (object_size > (std::size_t{1} << 40))
    throw std::invalid_argument("node_pool: object size " + std::to_string(object_size) + " is too large");
  detail::validate_node(node);

  auto s = std::make_unique<impl>();
  s->user_size = object_size;
  s->stride = (object_size + alignment - 1) & ~(alignment - 1);
  s->node = node;
  s->policy = policy;
  s->chunk_len = page_round(std::max(chunk_bytes, s->stride));
  s->per_chunk = s->chunk_len / s->stride;
  s->cache_cap = cache_capacity_for(s->stride);

  detail::install_fork_handlers();  // done at load unless memory ran out then
  registry& r = the_registry();
  std::lock_guard lock(r.m);
  if (r.free_slots.empty()) {
    r.slots.reserve(r.slots.size() + 1);
    r.free_slots.reserve(r.slots.size() + 1);  // so the destructor's push_back cannot throw
    s->slot = static_cast<std::uint32_t>(r.slots.size());
    r.slots.push_back(s.get());
  } else {
    s->slot = r.free_slots.back();
    r.free_slots.pop_back();
    r.slots[s->slot] = s.get();
  }
  s->generation = r.next_generation++;
  // The inline paths' copies (see the header). Debug builds count every
  // allocate and deallocate, out of line: no inline slot.
#ifdef NDEBUG
  inline_slot_ = s->slot;
#endif
  cache_cap_ = s->cache_cap;
  generation_ = s->generation;
  impl_ = std::move(s);
}

node_pool::~node_pool() {
  impl& s = *impl_;
  {
    registry& r = the_registry();
    std::lock_guard lock(r.m);  // waits for any thread-exit flush into this pool
    r.slots[s.slot] = nullptr;
    r.free_slots.push_back(s.slot);  // capacity reserved when the slot was created
  }
  if (thread_caches* tc = tl_caches; tc != nullptr && s.slot < tc->by_slot.size()) {
    tc->by_slot[s.slot] = local_cache{};  // this thread's cache would be dropped later anyway
  }
#ifndef NDEBUG
  if (const auto live = s.in_use.load(std::memory_order_relaxed); live != 0)
    std::fprintf(stderr,
                 "quiesce::numa::node_pool: destroyed with %lld objects still in use "
                 "(object size %zu, node %d); their memory is unmapped now\n",
                 static_cast<long long>(live), s.user_size, s.node);
#endif
  for (void* chunk : s.chunks) deallocate_on_node(chunk, s.chunk_len);
}

// The inline allocate() and deallocate() (in the header) take the common
// case when the pool has an inline slot; these take everything else, and in
// debug builds every call (their pools have none), so that they count. The
// slow paths serve a cache hit too (a debug build's common case), so there
// is no second copy of the inline code here.
void* node_pool::allocate_outline() {
  impl& s = *impl_;
  s.count_in_use(1);
  try {
    return s.allocate_slow();
  } catch (...) {
    s.count_in_use(-1);  // nothing was handed out
    throw;
  }
}

void node_pool::deallocate_outline(void* p) noexcept {
  impl& s = *impl_;
  s.count_in_use(-1);
  s.deallocate_slow(p);
}

int node_pool::node() const noexcept { return impl_->node; }
std::size_t node_pool::object_size() const noexcept { return impl_->user_size; }
std::size_t node_pool::chunk_count() const noexcept {
  return impl_->chunks_mapped.load(std::memory_order_relaxed);
}

// Once per process (std::call_once is pthread_once, which a fork child
// restarts if a thread was inside it). Called at load below, and again by
// the hazard pointers before they install theirs.
void detail::install_fork_handlers() {
  std::call_once(fork_once, [] {
    if (const int err = pthread_atfork(fork_prepare, fork_parent, fork_child); err != 0)
      throw std::system_error(err, std::generic_category(), "quiesce::numa::node_pool: pthread_atfork");
  });
}

namespace {
// At load, when no other thread can be inside the registration. Out of
// memory here: the first pool's construction tries again (and throws).
[[maybe_unused]] const bool g_fork_handlers_at_load = [] {
  try {
    detail::install_fork_handlers();
    return true;
  } catch (...) {
    return false;
  }
}();
}  // namespace

}  // namespace quiesce::numa
