// quiesce/hazard_pointer/detail/hp.hpp — internals of
// <quiesce/hazard_pointer.hpp>: hazard records, the retired-object header,
// the per-thread record cache and the asymmetric fence. Not a public header:
// names here may change without notice.
//
// Layout invariants (checked by static_asserts below and in src/hp_internal.hpp)
//   * record is alone on a 128-byte block (two 64-byte lines: x86's
//     adjacent-line prefetcher pairs lines, so 64 is not enough). Its owner
//     writes `ptr` on every protect; scanners only read the block.
//   * thread_cache is thread-local and touched only by its thread (scanners
//     never read it), so it needs no padding.
#ifndef QUIESCE_HAZARD_POINTER_DETAIL_HP_HPP
#define QUIESCE_HAZARD_POINTER_DETAIL_HP_HPP

#include <atomic>
#include <cstddef>
#include <cstdint>

#include <quiesce/base/config.hpp>
#include <quiesce/base/config.hpp>
#include <quiesce/base/layout.hpp>

namespace quiesce {
class hazard_pointer_domain;
}

namespace quiesce::detail::hp {

// A domain's implementation (src/hp_internal.hpp) and the one door the
// library's sources use to reach it, and the default domain's constructor,
// through a hazard_pointer_domain (its only friend).
struct domain_impl;
struct domain_access;

// The block shared, written fields are aligned to (see the note above).
inline constexpr std::size_t block = base::cache_block;

// One hazard record: a single-writer, multi-reader slot. Its owner (the
// thread holding the hazard_pointer) stores the protected address; scans
// read every record of the domain.
struct alignas(block) record {
  // The protected address, or null. Written by the owner only (release, so
  // the owner's reads of the previous object happen-before a scanner that
  // reads the new value); read by scanners (acquire).
  std::atomic<const void*> ptr{nullptr};
  // Next record of the same node in the domain's push-only list; written
  // once before the record is published (CAS release), then immutable.
  record* next = nullptr;
  // True while a hazard_pointer or a thread cache owns the record. Claimed
  // by CAS false->true (acquire), released by a store (release).
  std::atomic<bool> in_use{false};
  int node = 0;                                  // node the record's memory is on
  std::uint64_t domain_id = 0;                   // owning domain's id (never reused)
  hazard_pointer_domain* domain = nullptr;       // owning domain
  // The thread that claimed the record from the domain (gettid()), for
  // stall reports. Written at each claim (the record then stays with that
  // thread, in its cache or a hazard_pointer, until it is released to the
  // domain); read by scanners. Relaxed: a report may name the previous
  // owner of a record that just changed hands.
  std::atomic<std::int32_t> owner_tid{0};
  // The free-record count of this record's node list (released minus
  // claimed; may dip below 0 while a claim and a release cross): a claim
  // walks the list for a free record only when it is positive, so a domain
  // growing to tens of thousands of records does not walk all of them for
  // each new one.
  std::atomic<std::int64_t>* node_free = nullptr;
};
static_assert(sizeof(record) == block && alignof(record) == block);
static_assert(layout::owns_blocks<record, block>);  // quiesce/base/layout.hpp

// The header every retirable object carries (hazard_pointer_obj_base derives
// from it, the non-intrusive retire wraps the object in one). 32 bytes.
inline int this_thread_node() noexcept;  // below

struct retired_header {
  // Records the constructing thread's node (cached, see this_thread_node()).
  retired_header() noexcept : node(static_cast<std::int32_t>(this_thread_node())) {}
  // Records `home` (the constructor knows the node already: no lookup).
  explicit retired_header(int home) noexcept : node(static_cast<std::int32_t>(home)) {}
  // Copying an object does not copy its retirement state: a copy is a new,
  // unretired object on the copying thread's node.
  retired_header(const retired_header&) noexcept : retired_header() {}
  retired_header& operator=(const retired_header&) noexcept { return *this; }
  ~retired_header() = default;

  // next, key and reclaim are left unset until the object is retired: the
  // retire writes key and reclaim (hazard_pointer_obj_base::prepare) and the
  // list it joins writes next, before anything reads them. A node of
  // treiber_stack or ms_queue is built on every push, and each store made
  // before the push's CAS is one more the CAS waits to drain (x86-64), so
  // the constructor writes only node and state.
  retired_header* next;                        // retired-list link (set by the retire)
  const void* key;                             // the address hazards name (set by the retire)
  void (*reclaim)(retired_header*) noexcept;   // runs the deleter (set by the retire)
  std::int32_t node = 0;                       // node that owns the memory
  std::atomic<std::uint32_t> state{0};         // 0 live, 1 retired (checks)
};

// Ids: the default domain is 1; others count up from 2 and are never reused.
inline constexpr std::uint64_t default_domain_id = 1;

// Which pool a spare node (thread_cache::spare) goes back to: one constant
// per pool type (lockfree/detail/node_alloc.hpp, spare_kind_of), whose
// address is the key a new node compares.
struct spare_kind {
  void (*free)(void* p, int home) noexcept;  // back to its pool on `home`
};

// The per-thread cache of hazard records. Entry 0 always belongs to the
// default domain; entries 1..3 to other domains, keyed by id (a stale entry
// of a destroyed domain never matches a live one). Trivially destructible so
// the fast path reads it with no TLS-wrapper call; a separate thread_local
// object (in src/thread_cache.cpp) flushes it at thread exit.
struct thread_cache {
  static constexpr int entries = 4;
  static constexpr int capacity = 8;
  struct entry {
    std::uint64_t domain_id = 0;
    int count = 0;
    record* recs[capacity] = {};
  };
  entry e[entries] = {};
  // Objects this thread retired to the default domain, not yet on the
  // domain's list: pushed as one chain (one CAS) when `batch` of them are
  // here, when the next one belongs to another node, when the thread calls
  // hazard_pointer_cleanup(), and at thread exit. All of one node.
  static constexpr int batch = 32;
  retired_header* retired_head = nullptr;
  retired_header* retired_tail = nullptr;
  int retired_count = 0;
  int retired_node = 0;
  int scan_depth = 0;  // > 0 while this thread runs a scan (and its deleters)
  // True from the installation of the thread's exit hook (first slow path)
  // until the hook runs; while false, records bypass the cache so none is
  // stranded in the cache of a thread that exits.
  bool open = false;
  bool exited = false;  // the exit hook ran (do not install it again)
  // The operation records: default-domain records this thread owns from its
  // first lock-free-structure operation until its exit hook, lent to one
  // operation at a time by op_hazards (below). op_ready: op[] holds them
  // (set only while `open`); op_free: op_ready and no operation has them now.
  static constexpr int op_slots = 3;
  record* op[op_slots] = {};
  bool op_ready = false;
  bool op_free = false;
  // The lock-free structures' spare node (lockfree/detail/node_alloc.hpp):
  // one freed structure node kept on this thread, ready for the thread's
  // next new node of the same pool on the same NUMA node, so that a free
  // followed by an allocation (a one-thread pop then push) skips the pool's
  // cache. Kept only while `open` (the exit hook hands it back to its pool,
  // through spare_pool->free); null: none.
  void* spare = nullptr;
  const spare_kind* spare_pool = nullptr;  // the pool it belongs to (set with spare)
  int spare_home = 0;                      // its home node (set with spare)
  // Operation records of other domains: a set for each of the first
  // other_op_sets other domains a structure's operation used on this thread
  // (other_op_setup()), lent the same way and kept while the domain lives.
  // domain: its id (0: none; ids are never reused, so once the domain is
  // destroyed its id matches no live domain's and its records, freed with
  // it, are never touched again); free as op_free.
  struct op_set {
    std::uint64_t domain = 0;
    record* recs[op_slots] = {};
    bool free = false;
  };
  static constexpr int other_op_sets = 3;
  op_set other_ops[other_op_sets] = {};
  // domains_destroyed when this thread last found every held set's domain live.
  std::uint64_t other_ops_destroyed = 0;
};
inline constinit thread_local thread_cache tls_cache{};

// Asymmetric fence mode, fixed before the first record is handed out (see
// init_fences()): true when the reclaimer's membarrier(PRIVATE_EXPEDITED)
// orders readers, so the reader side needs only a compiler barrier.
inline constinit std::atomic<bool> asymmetric{false};

// The reader's half of the store->load fence between publishing a hazard
// and re-reading the source. With membarrier: a compiler barrier (the
// scanner's membarrier makes every running thread execute a full barrier).
// Without: a full seq_cst fence, which pairs with the scanner's seq_cst fence.
inline void light_fence() noexcept {
  if (asymmetric.load(std::memory_order_relaxed)) [[likely]] {
    std::atomic_signal_fence(std::memory_order_seq_cst);
  } else {
    std::atomic_thread_fence(std::memory_order_seq_cst);
  }
}

// The calling thread's NUMA node, re-read (numa::current_node(): sched_getcpu
// and a table lookup) every 64 calls: a thread that migrates to another node is seen there
// within 64 calls. For where memory should go and who should free it, where
// an occasional stale answer costs locality, never correctness.
struct node_cache {
  int node = 0;
  unsigned left = 0;
};
inline constinit thread_local node_cache tls_node{};
int refresh_node() noexcept;
inline int this_thread_node() noexcept {
  if (tls_node.left == 0) [[unlikely]] {
    tls_node.node = refresh_node();
    tls_node.left = 64;
  }
  --tls_node.left;
  return tls_node.node;
}

// A retired list is one word: the head pointer in the low 48 bits, the
// list's length in the high 16 (src/hp_internal.hpp); retired objects must
// lie below 2^48.
inline constexpr unsigned retired_count_shift = 48;

// The default domain, once it exists (retire()'s inline fast path compares).
inline constinit std::atomic<hazard_pointer_domain*> default_domain_ptr{nullptr};

// Slow paths, in src/ (domain.cpp, thread_cache.cpp, fences.cpp).
record* acquire_slow(hazard_pointer_domain& dom);      // a record of dom, in use
void release_slow(record* r) noexcept;                 // back to a cache or dom
void retire(hazard_pointer_domain& dom, retired_header* h) noexcept;
void flush_retired() noexcept;                         // the thread's default-domain batch
hazard_pointer_domain& default_domain_ref() noexcept;
hazard_pointer_domain& default_domain_create();  // throws std::bad_alloc; default_domain_ref() is fatal instead
[[noreturn]] void misuse_empty(const char* what) noexcept;
bool library_checks() noexcept;  // QUIESCE_CHECKS as the library was compiled
[[noreturn]] void misuse_retire(const char* what) noexcept;

// The fast path of retire for the default domain: onto the thread's batch,
// no atomic RMW, no look at the domain (flush_retired() finds it, and builds
// it if this thread's hook was opened by another domain's record). Everything
// else (a retire from a deleter, a thread past its exit hook or with no hook
// yet, another node's object while the batch holds this node's) goes to
// retire().
inline void retire_default_fast(retired_header* h) noexcept {
  thread_cache& c = tls_cache;
  const bool batchable = c.open && c.scan_depth == 0 &&
                         (reinterpret_cast<std::uintptr_t>(h) >> retired_count_shift) == 0 &&
                         (c.retired_count == 0 || c.retired_node == h->node);
  if (!batchable) [[unlikely]] {
    retire(default_domain_ref(), h);
    return;
  }
  h->next = c.retired_head;
  c.retired_head = h;
  if (c.retired_tail == nullptr) c.retired_tail = h;
  c.retired_node = h->node;
  if (++c.retired_count == thread_cache::batch) flush_retired();
}

// retire() to `dom`: the inline batch when it is the default domain.
inline void retire_fast(hazard_pointer_domain& dom, retired_header* h) noexcept {
  if (&dom == default_domain_ptr.load(std::memory_order_relaxed)) [[likely]] {
    retire_default_fast(h);
  } else {
    retire(dom, h);
  }
}

// The thread's cache entry for domain id: entry 0 for the default domain,
// else the entry that holds id's records, or null (entry_for() in src/ also
// claims one).
inline thread_cache::entry* cached_entry(std::uint64_t id) noexcept {
  thread_cache& c = tls_cache;
  if (id == default_domain_id) return &c.e[0];
  for (int i = 1; i < thread_cache::entries; ++i) {
    if (c.e[i].domain_id == id) return &c.e[i];
  }
  return nullptr;
}

// The fast path of make_hazard_pointer() for the default domain: pop the
// thread's cache, no atomic operation, no shared write.
inline record* acquire_default() {
  thread_cache::entry& c = tls_cache.e[0];
  if (c.count > 0) [[likely]] return c.recs[--c.count];
  return acquire_slow(default_domain_create());  // may throw std::bad_alloc
}

// Drop a record: clear the protection (release: the owner's reads of the
// protected object happen-before a scanner that sees null) and push the
// record on the thread's cache.
inline void release(record* r) noexcept {
  r->ptr.store(nullptr, std::memory_order_release);
  thread_cache::entry& c = tls_cache.e[0];
  if (r->domain_id == default_domain_id && c.count < thread_cache::capacity && tls_cache.open) [[likely]] {
    c.recs[c.count++] = r;
    return;
  }
  release_slow(r);
}

// n records (n <= thread_cache::op_slots) of `dom`, null for the default
// domain, from the thread's cache or the domain, into out[0..n). Throws
// std::bad_alloc with none held when one cannot be had.
inline void acquire_records(record** out, int n, hazard_pointer_domain* dom) {
  int got = 0;
  try {
    for (; got < n; ++got) out[got] = dom == nullptr ? acquire_default() : acquire_slow(*dom);
  } catch (...) {
    while (got > 0) release(out[--got]);
    throw;
  }
}

// Called when the operation records are not free: claims them on their first
// use on this thread (and installs the exit hook that hands them back), and
// returns true if they are free now. False when they are lent (an operation
// nested in another) or cannot be had: the thread is past its exit hook.
// Throws std::bad_alloc when no record can be had (nothing changed then).
bool op_setup();
// op_setup() for another domain: the thread's set of dom's operation
// records if they are free now, claiming them when the thread holds none of
// dom's and has a set to spare (an empty one, or one of a domain destroyed
// since). Null when they are lent, when every set holds another live
// domain's (a thread that alternates between more domains than that takes
// no lock per operation: the sets are kept), or the thread is past its exit
// hook. Throws std::bad_alloc when no record can be had (nothing changed
// then).
thread_cache::op_set* other_op_setup(hazard_pointer_domain& dom);
// dom's id (defined in <quiesce/hazard_pointer.hpp>, where the class is
// complete; this header is only included from there).
inline std::uint64_t domain_id(const hazard_pointer_domain& dom) noexcept;
// What op_hazards::sole_holder() reads, one per domain (in the domain
// object, defined there too). `out`: records claimed from the domain and
// not handed back; every claim adds one before the claiming thread reads
// any structure (then a seq_cst fence), every hand-back takes one off
// (release, after the record's protection was cleared). Written only when
// records are claimed or handed back (threads keep theirs cached).
// `freed_at_once`: nodes freed instead of retired (stats()); written only by
// the sole holder (a load and a store: two sole holders of one domain are
// ordered by the `out` count that each saw drop to its own records).
struct record_holders {
  std::atomic<std::int64_t> out{0};
  std::atomic<std::uint64_t> freed_at_once{0};
};
inline record_holders& holders_of(hazard_pointer_domain& dom) noexcept;

// The hazard pointers of one lock-free-structure operation (a push, a pop, a
// lookup): N records that protect nodes from the start of the operation to
// its end, in the structure's own code only (never handed to the caller,
// never moved to another thread). They are the thread's operation records,
// lent with one thread-local flag: making and dropping them costs a flag
// store each, where N hazard_pointer objects pay a pop and a push on the
// record cache each (why it matters: structures/hazard_pointers/README.md,
// "Operation records"). A thread holds one set for the default domain and
// one for each of the first thread_cache::other_op_sets other domains it
// operates on (while they live); a domain beyond those takes records the
// ordinary way. The flag makes the loan exclusive: an operation nested in
// another (a deleter a scan runs inside a retire may use a structure too)
// finds it set and takes N records the ordinary way, as a thread past its
// exit hook does. Like folly's hazptr_local/hazptr_array (the idea, not the
// code), with the reentrancy that those leave to the caller checked here.
template <int N>
class op_hazards {
  static_assert(N >= 1 && N <= thread_cache::op_slots, "op_hazards<N>: 1 <= N <= thread_cache::op_slots");

 public:
  // dom: the structure's domain, null for the default one. Throws
  // std::bad_alloc when records cannot be had (nothing is held then).
  explicit op_hazards(hazard_pointer_domain* dom) {
    thread_cache& c = tls_cache;
    if (dom == nullptr) {
      if (c.op_free) [[likely]] {
        lend(c.op, c.op_free);
        return;
      }
    } else {
      const std::uint64_t id = domain_id(*dom);
      for (thread_cache::op_set& set : c.other_ops) {
        if (set.domain != id) continue;
        if (set.free) [[likely]] {
          lend(set.recs, set.free);
          return;
        }
        break;
      }
    }
    take(dom);
  }
  // Clears every protection (release: this operation's reads of the nodes
  // happen-before a scanner that sees null), then ends the loan or returns
  // the records.
  ~op_hazards() {
    if (loan_ != nullptr) [[likely]] {
      for (int i = 0; i < N; ++i) rec_[i]->ptr.store(nullptr, std::memory_order_release);
      *loan_ = true;
    } else {
      for (int i = 0; i < N; ++i) release(rec_[i]);
    }
  }
  op_hazards(const op_hazards&) = delete;
  op_hazards& operator=(const op_hazards&) = delete;

  // True when no other thread holds a record of this operation's domain:
  // every record claimed from it and not handed back is this lent set or
  // one of the calling thread's idle cached records (a hazard_pointer the
  // thread holds, or a record it passed to another thread, makes it false).
  // Then nothing outside this thread can protect a node, and a node this
  // operation unlinked (before the call, by a seq_cst RMW: ms_queue's and
  // treiber_stack's pop CAS) can be freed at once instead of retired: a
  // thread that claims a record later adds to the count and fences before
  // it reads the structure (domain_impl::claim), so of the two the count's
  // load here or that thread's read of the structure sees the other (the
  // store-load pairing of Dekker's algorithm). False for records taken the
  // ordinary way (an operation nested in another, whose protections still
  // stand: the records it took are counted out but are neither the lent
  // set nor idle in the cache, so the counts could not match anyway).
  // Cost: a load of the thread's cache entry count and one of the domain's
  // count (a line written only when records are claimed or handed back).
  [[nodiscard]] bool sole_holder() const noexcept {
    if (loan_ == nullptr) return false;
    const record* r = rec_[0];
    // seq_cst: ordered after the caller's seq_cst CAS (see above).
    const std::int64_t out = holders_of(*r->domain).out.load(std::memory_order_seq_cst);
    const thread_cache::entry* e = cached_entry(r->domain_id);  // the thread's idle records of the domain
    return out == thread_cache::op_slots + (e != nullptr ? e->count : 0);
  }
  // Counts a node freed at once after sole_holder() returned true (the
  // domain's stats().freed_at_once).
  void count_freed_at_once() const noexcept {
    std::atomic<std::uint64_t>& n = holders_of(*rec_[0]->domain).freed_at_once;
    n.store(n.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  }

  // As hazard_pointer::protect / try_protect, with record i.
  template <class T>
  T* protect(int i, const std::atomic<T*>& src) noexcept {
    T* p = src.load(std::memory_order_relaxed);
    while (!try_protect(i, p, src)) {
    }
    return p;
  }
  template <class T>
  bool try_protect(int i, T*& ptr, const std::atomic<T*>& src) noexcept {
    T* old = ptr;
    // Release, then the light fence and an acquire re-read: see the
    // ordering note in <quiesce/hazard_pointer.hpp>.
    rec_[i]->ptr.store(old, std::memory_order_release);
    light_fence();
    ptr = src.load(std::memory_order_acquire);
    if (old != ptr) [[unlikely]] {
      rec_[i]->ptr.store(nullptr, std::memory_order_release);
      return false;
    }
    return true;
  }

 private:
  // Not lent: the first operation on this thread with the domain (claims
  // the operation records, then lends them), a nested operation, a domain
  // with no set to spare, or a thread past its exit hook (N records from
  // the cache or the domain).
  [[gnu::noinline]] void take(hazard_pointer_domain* dom) {
    thread_cache& c = tls_cache;
    if (dom == nullptr) {
      if (op_setup()) {
        lend(c.op, c.op_free);
        return;
      }
    } else if (thread_cache::op_set* set = other_op_setup(*dom)) {
      lend(set->recs, set->free);
      return;
    }
    acquire_records(rec_, N, dom);
  }
  // Borrows a set of the thread's operation records (they are free): `free`
  // is their flag, set again by the destructor.
  void lend(record* const (&recs)[thread_cache::op_slots], bool& free) noexcept {
    free = false;
    for (int i = 0; i < N; ++i) rec_[i] = recs[i];
    loan_ = &free;
  }

  record* rec_[N];
  bool* loan_ = nullptr;  // the lent set's flag; null: records taken the ordinary way
};

}  // namespace quiesce::detail::hp

#endif  // QUIESCE_HAZARD_POINTER_DETAIL_HP_HPP
