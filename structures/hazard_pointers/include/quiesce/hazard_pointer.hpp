// quiesce/hazard_pointer.hpp — hazard pointers: the C++26 <hazard_pointer>
// interface (P2530R3, [saferecl.hp]) name for name in namespace quiesce, with
// domains, batches, cleanup, asynchronous reclamation and NUMA-aware
// internals.
//
// What it is
//   A hazard pointer is a single-writer, multi-reader slot in which a thread
//   publishes "I may be reading the object at this address". An object
//   removed from a shared structure is retired instead of deleted; it is
//   deleted only once no hazard pointer names it (Michael, "Hazard Pointers:
//   Safe Memory Reclamation for Lock-Free Objects", IEEE TPDS 15(6), 2004).
//
// Example (a lock-free stack's pop; structures/hazard_pointers/include/quiesce/lockfree/ has
// complete ones)
//   struct node : quiesce::hazard_pointer_obj_base<node> { int value; node* next; };
//   std::atomic<node*> head;
//   quiesce::hazard_pointer h = quiesce::make_hazard_pointer();
//   node* n = h.protect(head);            // n cannot be freed while h names it
//   while (n && !head.compare_exchange_weak(n, n->next)) n = h.protect(head);
//   h.reset_protection();
//   if (n) { int v = n->value; n->retire(); }   // deleted once unprotected
//
// Semantics
//   As the standard: protect()/try_protect() return a pointer that stays
//   valid (not reclaimed) until the hazard pointer is reset, re-used or
//   destroyed, provided it was read from `src` after the object was
//   published and the object is retired only after being unlinked from
//   `src`. retire() never blocks and never frees an object some hazard
//   pointer protected before the object was unlinked; the deleter runs on
//   some thread (a retiring thread, a reclaimer thread of the domain, or the
//   caller of hazard_pointer_cleanup()). Deleters must not throw.
//   Beyond the standard: hazard_pointer_domain (independent sets of records
//   and retired objects; objects retire to the domain whose hazard pointers
//   protect them), make_hazard_pointer(domain), make_hazard_pointers<N>()
//   (several at once), hazard_pointer_cleanup(domain) (reclaims everything
//   reclaimable and returns when those deleters have run),
//   hazard_pointer_retire(p) for objects that do not derive from the base,
//   domain::start_async_reclaim() (reclamation on one background thread per
//   NUMA node), and stats().
//
// Memory ordering (why protect() needs no fence on x86 or anywhere else)
//   Reader:    hz = p (release store); [light fence]; q = src (acquire load);
//              use p only if q == p.
//   Reclaimer: (the object was unlinked from src before it was retired);
//              take the retired list; [heavy fence]; read every hz (acquire);
//              free the objects no hz names.
//   The pair of fences forbids the reader missing the unlink while the
//   reclaimer misses the hazard (store->load ordering on both sides, Dekker
//   style). Here the light fence is a compiler barrier and the heavy fence
//   is membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED): the kernel interrupts
//   every CPU running one of our threads, each executing a full barrier
//   (the asymmetric fence of folly's hazptr and of the Linux kernel's
//   sys_membarrier users). Where membarrier is missing (old kernels, seccomp)
//   or QUIESCE_HP_FENCE=fence is set in the environment, both fences are
//   std::atomic_thread_fence(seq_cst) instead; the mode is fixed before the
//   first hazard pointer exists (hazard_pointer_asymmetric_fence() tells it).
//
// NUMA
//   Hazard records are allocated on the node of the thread that needs them
//   (numa::node_pool, 128-byte blocks) and re-used only by threads of that
//   node; the per-thread record cache is thread-local (first touched, so
//   placed, by its thread). Every retired object carries
//   the node that owns its memory (by default the node of the thread that
//   constructed it; hazard_pointer_obj_base::set_home_node() overrides it,
//   as the lock-free structures do for node-pool memory); each domain keeps
//   one retired list per node and a list is scanned, and its objects freed,
//   by a thread running on that node: a retiring thread of that node, or the
//   node's reclaimer thread (async mode). A thread on another node reclaims
//   it only when it grows past a hard bound (below), so garbage stays
//   bounded even when no thread of a node retires.
//
// Amortisation and the garbage bound
//   Let H be the domain's hazard records and T = max(min_threshold, 2H)
//   (min_threshold 4000 by default), so a scan's cost, O(H) record loads and
//   one heavy fence (a membarrier syscall), is spread over at least T/2 >= H
//   retires. When a push leaves a node's list with n objects:
//     sync mode:  n >= T and the pushing thread runs on that node: it scans
//                 the node, unless a scan of the node already runs;
//                 n >= 2T (the hard bound): it scans, whatever runs.
//     async mode: n >= T: the node's reclaimer thread is woken;
//                 n >= 4T (the hard bound): the pushing thread scans.
//   A scan takes the whole list, frees what no hazard names and pushes back
//   the rest: at most H objects (those protected when it read the hazards).
//   Hence, with B = 2T (sync) or 4T (async), P the threads pushing to a
//   node at once and b their push size (1 object; up to 32, a batch, for
//   the default domain):
//     - a node's list never holds more than B + H + P*b objects;
//     - each thread scanning the node holds one more such list, taken whole
//       (a scanner preempted mid-scan delays only its own list; a thread
//       past the hard bound scans even while another scan of the node
//       runs, so the list never waits behind a stalled scanner);
//     - in the default domain, each thread also holds its unpushed batch:
//       at most 31 objects of one node (pushed when full, by
//       hazard_pointer_cleanup() and at thread exit).
//   So the domain's unreclaimed objects are at most
//     nodes * (1 + scanners) * (B + H + P*b) + 31 * (retiring threads),
//   scanners being the threads scanning one node at once (a node's
//   reclaimer thread and the retiring threads that passed the hard bound),
//   whatever other threads do, a thread that holds a hazard pointer and
//   never runs again included; and an object a stalled thread protects is
//   never freed. This holds for every H and every min_threshold: a list's
//   length is counted past the 65,535 its packed word holds (see
//   src/hp_internal.hpp), and tests/unit/hazard_pointer_scale_test.cpp
//   checks it after every retire with 70,000 records (T = 140,000), in both
//   modes, own and default domains. With one retiring thread in sync mode
//   the list stays below T + H. stats() reports the figures.
//   cleanup() run by one thread does not see another live thread's unpushed
//   batch (join or let that thread call cleanup first). Other domains push
//   every retire at once: exact cleanup for tests and for domains that are
//   destroyed.
//
// Why min_threshold is 4000
//   It trades garbage for fewer heavy fences. Each scan pays one
//   membarrier(PRIVATE_EXPEDITED): a system call when no other thread of
//   the process is on a CPU, plus an interrupt of every CPU that runs one
//   when others are (in a VM, an exit per CPU). A retire pays 1/T of it;
//   perf/hazard_pointer_bench's heavy_fence rows measure the fence with
//   the process alone and with a thread spinning on another CPU, and the
//   main job's out/hazard_pointer_ratios.md divides them by T. folly's
//   hazptr uses 1000 (kThreshold); alternating builds with 1000, 2000,
//   4000 and 8000, the one- and two-thread rows of
//   perf/lockfree_stack_queue_bench ran fastest at 4000 (8000 was slower
//   again, presumably as the nodes that cycle between a retire and their
//   reuse outgrow the caches). The price: the garbage bound above grows
//   with T, to 4000 objects per list at least (about 190 KB of 48-byte
//   queue nodes). A domain of large objects can ask for less:
//   hazard_pointer_domain(options{.min_threshold = n}).
//
// Costs (in instructions; the figures against ck_hp and liburcu are
//   perf/hazard_pointer_bench's, in the main job's out/hazard_pointer_ratios.md):
//   protect + reset_protection a store, a compiler barrier and a load (no fence, no
//   RMW); make_hazard_pointer + destruction from the thread cache (no
//   atomic RMW, no shared write); retire to the default domain: a few
//   thread-local stores, one CAS per 32 retires, plus the amortised scan;
//   to another domain: one CAS on the node's list word. A scan that runs
//   while another thread holds a record of the domain also sorts what it
//   frees by address (O(k log k) compares for k objects) and runs the
//   deleters in descending address order, so that the allocators hand the
//   memory out again in ascending order; a thread alone runs them in the
//   list's order (newest retire first). hazard_pointers/README.md, "Free
//   order", says why.
//
// Misuse (caught when QUIESCE_CHECKS is on, the default without NDEBUG;
// each aborts with "quiesce: fatal: ..." and a hint)
//   protect/try_protect/reset_protection on an empty (default-constructed
//   or moved-from) hazard_pointer; retiring an object twice; retiring a
//   null pointer (hazard_pointer_retire); destroying a domain while a
//   hazard pointer of it still protects an object.
//
// Thread safety: every function may be called from any thread; a
// hazard_pointer object itself is not shared (one thread uses it at a time,
// like any non-atomic object; it may move between threads).
#ifndef QUIESCE_HAZARD_POINTER_HPP
#define QUIESCE_HAZARD_POINTER_HPP

#include <sys/types.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <quiesce/base/config.hpp>
#include <quiesce/hazard_pointer/detail/hp.hpp>

namespace quiesce {

class hazard_pointer;

// What a domain has done so far. A snapshot read with relaxed loads: each
// figure is exact, the set is not one atomic instant.
struct hazard_pointer_domain_stats {
  std::size_t hazard_records = 0;        // H: records ever allocated (never freed before the domain)
  std::size_t threshold = 0;             // T = max(min_threshold, 2H)
  std::uint64_t retired = 0;             // objects retired so far
  std::uint64_t reclaimed = 0;           // deleters run so far
  // Nodes lockfree::treiber_stack and ms_queue freed at once instead of
  // retiring them: popped on a thread that held the domain's only hazard
  // records (op_hazards::sole_holder in detail/hp.hpp). Not in retired.
  std::uint64_t freed_at_once = 0;
  std::uint64_t unreclaimed = 0;         // retired - reclaimed (pending)
  std::uint64_t scans = 0;               // scans that read the hazards
  std::uint64_t reclaimed_on_home_node = 0;  // freed by a thread running on the object's node
  std::uint64_t reclaimed_off_node = 0;      // freed elsewhere (hard bound, cleanup, unpinned)
  std::vector<std::uint64_t> unreclaimed_per_node;  // indexed by node id
};

// ---- stall warnings ---------------------------------------------------------
//
// A hazard pointer held on one object for a long time keeps that object
// retired but unfreed: the domain's unreclaimed count cannot fall below what
// stalled protectors hold, however often it scans. Like the RCU stall
// detector (quiesce/rcu/stall.hpp), quiesce reports it: when a scan keeps an
// object that the same hazard record has protected for longer than
// `timeout`, the scanning thread calls the handler (default: one line on
// stderr), at most once per domain per report_interval while it lasts:
//
//   quiesce: hazard pointer stall: domain 1 (default): 1 protector holding
//     retired objects: tid 4711 "worker-3" protects 0x7f..e0 for >= 21.0 s;
//     4044 unreclaimed (threshold 4000, 12 records)
//
// Cost: nothing on protect/reset/make; on a scan that keeps objects (they
// were protected at that instant), one clock read and a pass over the
// records under a domain mutex; nothing on scans that keep none. Stalls are
// seen only by scans, i.e. while the domain's objects are being retired:
// an idle domain's garbage does not grow. Defaults: enabled, 21 s; the
// environment variable QUIESCE_HP_STALL_TIMEOUT_MS (read at the first scan
// that keeps an object) overrides the timeout, 0 disables.
struct hazard_pointer_stall_holder {
  pid_t tid = 0;                             // the protecting thread (gettid())
  std::string name;                          // its name ("?" if gone or unreadable)
  const void* object = nullptr;              // the protected, retired object
  std::chrono::nanoseconds held_for{0};      // seen protecting it this long (lower bound)
};
struct hazard_pointer_stall_report {
  std::uint64_t domain_id = 0;               // 1 is the default domain
  std::uint64_t unreclaimed = 0;             // the domain's retired objects not yet freed
  std::size_t threshold = 0;                 // T (stats().threshold)
  std::size_t hazard_records = 0;            // H
  std::vector<hazard_pointer_stall_holder> holders;
  std::uint64_t suppressed = 0;              // scans that saw the stall since the last report
};
// The one line the default handler writes (no trailing newline).
std::string to_string(const hazard_pointer_stall_report& r);

struct hazard_pointer_stall_options {
  std::chrono::milliseconds timeout{21000};          // > 0
  std::chrono::milliseconds report_interval{0};      // 0: 3 x timeout
  // Runs on the scanning thread, inside the retire (or reclaimer thread)
  // whose scan saw the stall. It must not retire to, clean up or destroy
  // the domain, and should return quickly. Empty: one line to stderr.
  std::function<void(const hazard_pointer_stall_report&)> handler;
};
// Process-wide. Throws std::invalid_argument for timeout <= 0 or a negative
// report_interval.
void hazard_pointer_stall_detector_configure(hazard_pointer_stall_options opts);
void hazard_pointer_stall_detector_disable() noexcept;
[[nodiscard]] bool hazard_pointer_stall_detector_enabled() noexcept;
[[nodiscard]] std::uint64_t hazard_pointer_stall_reports() noexcept;  // reports made so far

// A set of hazard records and retired objects. Objects must be retired to
// the domain whose hazard pointers protect them. The default domain
// (hazard_pointer_default_domain()) lives for the whole process; at exit it
// reclaims what is unprotected. Not copyable or movable.
class hazard_pointer_domain {
 public:
  struct options {
    // Scan threshold floor (T above); at least 1. See "Why min_threshold
    // is 4000" above for what it trades.
    std::size_t min_threshold = 4000;
  };
  hazard_pointer_domain();
  explicit hazard_pointer_domain(options opt);
  // Stops the reclaimer threads, then runs the deleter of every object still
  // retired. Precondition: no hazard_pointer of this domain protects an
  // object (checked) and no other call on the domain overlaps or follows.
  // Records cached by threads are reclaimed with the domain.
  ~hazard_pointer_domain();
  hazard_pointer_domain(const hazard_pointer_domain&) = delete;
  hazard_pointer_domain& operator=(const hazard_pointer_domain&) = delete;

  // Starts one reclaimer thread per NUMA node, pinned to that node's CPUs
  // (unpinned for a node without CPUs, or when pin is false). From then on
  // a retire that takes a node's list to T wakes that node's thread instead
  // of scanning; the retiring thread scans only past 4T. Idempotent. Throws
  // std::system_error if a thread cannot be started.
  void start_async_reclaim(bool pin = true);
  // Stops the reclaimer threads (joins them); retires scan inline again.
  // Idempotent. Must not be called from a deleter.
  void stop_async_reclaim();

  [[nodiscard]] hazard_pointer_domain_stats stats() const;

 private:
  using impl = detail::hp::domain_impl;  // src/hp_internal.hpp
  struct default_tag {};
  explicit hazard_pointer_domain(default_tag);
  friend struct detail::hp::domain_access;
  friend std::uint64_t detail::hp::domain_id(const hazard_pointer_domain&) noexcept;
  friend detail::hp::record_holders& detail::hp::holders_of(hazard_pointer_domain&) noexcept;
  std::unique_ptr<impl> impl_;
  std::uint64_t id_;  // impl_'s id, inline for the operation records (detail::hp::op_hazards)
  detail::hp::record_holders holders_;  // inline for op_hazards::sole_holder()
};

// detail/hp.hpp declares it; defined here, where the class is complete.
inline std::uint64_t detail::hp::domain_id(const hazard_pointer_domain& dom) noexcept { return dom.id_; }
inline detail::hp::record_holders& detail::hp::holders_of(hazard_pointer_domain& dom) noexcept {
  return dom.holders_;
}

// The process-wide default domain. Never destroyed. Any thread, noexcept:
// built on first use, and running out of memory while it is built is fatal
// (a message, then abort); make_hazard_pointer() throws std::bad_alloc then.
// Once it exists: one inline acquire load (pairs with the release store that
// publishes it), no call.
inline hazard_pointer_domain& hazard_pointer_default_domain() noexcept {
  if (hazard_pointer_domain* d = detail::hp::default_domain_ptr.load(std::memory_order_acquire)) [[likely]] return *d;
  return detail::hp::default_domain_ref();
}

// Scans every node's retired list of `dom` (whatever their length), runs the
// deleters of all unprotected objects, waits for scans other threads had in
// progress, and returns when those deleters have run. Objects protected at
// the time of the scan stay retired. For the default domain it first pushes
// the calling thread's batch; other live threads' batches (at most 31
// objects each) are not seen. Blocking (a membarrier, the deleters); must
// not be called from a deleter.
void hazard_pointer_cleanup(hazard_pointer_domain& dom = hazard_pointer_default_domain());

// True when readers use the compiler-barrier fast path (membarrier is
// registered); false when both sides use seq_cst fences. Fixed for the
// life of the process once the first hazard pointer has been made.
[[nodiscard]] bool hazard_pointer_asymmetric_fence() noexcept;

// Base class of objects protected by hazard pointers (CRTP: T derives from
// hazard_pointer_obj_base<T, D>). Adds 32 bytes (the retirement header) plus
// D when D is not empty.
template <class T, class D = std::default_delete<T>>
class hazard_pointer_obj_base : private detail::hp::retired_header {
 public:
  // Hands the object to the default domain: d(static_cast<T*>(this)) runs
  // once no hazard pointer protects it. The object must already be
  // unreachable for new readers. Any thread; never blocks (may scan).
  void retire(D d = D()) noexcept { detail::hp::retire_default_fast(prepare(std::move(d))); }
  // The same in `dom` (a quiesce extension).
  void retire(hazard_pointer_domain& dom, D d = D()) noexcept { detail::hp::retire_fast(dom, prepare(std::move(d))); }

 protected:
  hazard_pointer_obj_base() = default;
  // With the given home node (see set_home_node) instead of the
  // constructing thread's, which then is not looked up.
  explicit hazard_pointer_obj_base(int home_node) noexcept : detail::hp::retired_header(home_node) {}
  hazard_pointer_obj_base(const hazard_pointer_obj_base&) = default;
  hazard_pointer_obj_base(hazard_pointer_obj_base&&) = default;
  hazard_pointer_obj_base& operator=(const hazard_pointer_obj_base&) = default;
  hazard_pointer_obj_base& operator=(hazard_pointer_obj_base&&) = default;
  ~hazard_pointer_obj_base() = default;
  // The NUMA node that owns this object's memory (default: the node of the
  // constructing thread). Set it when the memory comes from a node pool.
  void set_home_node(int node) noexcept { this->node = node; }
  [[nodiscard]] int home_node() const noexcept { return this->node; }

 private:
  // The header as a retire hands it over (checks a second retire).
  detail::hp::retired_header* prepare(D&& d) noexcept {
    if constexpr (detail::base::checks_enabled) {
      if (state.exchange(1, std::memory_order_relaxed) != 0) detail::hp::misuse_retire("object retired twice");
    }
    deleter_ = std::move(d);
    key = static_cast<const void*>(static_cast<const T*>(this));
    reclaim = &reclaim_fn;
    return static_cast<detail::hp::retired_header*>(this);
  }
  static void reclaim_fn(detail::hp::retired_header* h) noexcept {
    auto* self = static_cast<hazard_pointer_obj_base*>(h);
    D d = std::move(self->deleter_);
    d(static_cast<T*>(self));
  }
  [[no_unique_address]] D deleter_{};
};

// A hazard pointer: owns one hazard record of a domain, or nothing (empty).
// Move-only. One thread at a time.
class hazard_pointer {
 public:
  // Empty: owns no record; only destruction, assignment, swap and empty()
  // are allowed.
  hazard_pointer() noexcept = default;
  hazard_pointer(hazard_pointer&& o) noexcept : rec_(std::exchange(o.rec_, nullptr)) {}
  hazard_pointer& operator=(hazard_pointer&& o) noexcept {
    if (this != &o) {
      if (rec_ != nullptr) detail::hp::release(rec_);
      rec_ = std::exchange(o.rec_, nullptr);
    }
    return *this;
  }
  // Clears the protection and returns the record to the thread's cache
  // (no atomic RMW in the common case).
  ~hazard_pointer() {
    if (rec_ != nullptr) detail::hp::release(rec_);
  }

  [[nodiscard]] bool empty() const noexcept { return rec_ == nullptr; }

  // Protects the object src points to and returns it (null if src is
  // null): loops try_protect until src is stable. Lock-free.
  // Precondition: !empty().
  template <class T>
  T* protect(const std::atomic<T*>& src) noexcept {
    T* p = src.load(std::memory_order_relaxed);
    while (!try_protect(p, src)) {
    }
    return p;
  }

  // One attempt: protects ptr, re-reads src (acquire) into ptr and returns
  // true if it still equals the old ptr (now protected); otherwise clears
  // the protection and returns false with ptr holding the newer value.
  // Cost: a release store, a compiler barrier (see the ordering note at the
  // top) and an acquire load. Precondition: !empty().
  template <class T>
  bool try_protect(T*& ptr, const std::atomic<T*>& src) noexcept {
    T* old = ptr;
    set(old);
    detail::hp::light_fence();
    ptr = src.load(std::memory_order_acquire);
    if (old != ptr) [[unlikely]] {
      set(nullptr);
      return false;
    }
    return true;
  }

  // Protects ptr with no validation (the caller validates); null clears.
  // Precondition: !empty().
  template <class T>
  void reset_protection(const T* ptr) noexcept {
    set(ptr);
  }
  void reset_protection(std::nullptr_t = nullptr) noexcept { set(nullptr); }

  void swap(hazard_pointer& o) noexcept { std::swap(rec_, o.rec_); }

  // For tests and the placement checks: the record this owns (null if empty).
  [[nodiscard]] const void* record_address() const noexcept { return rec_; }

 private:
  friend hazard_pointer make_hazard_pointer();
  friend hazard_pointer make_hazard_pointer(hazard_pointer_domain&);
  explicit hazard_pointer(detail::hp::record* r) noexcept : rec_(r) {}

  void set(const void* p) noexcept {
    if constexpr (detail::base::checks_enabled) {
      if (rec_ == nullptr) detail::hp::misuse_empty("hazard_pointer used while empty");
    }
    // Release: the owner's reads of the previously protected object
    // happen-before a scanner that reads this value (so it may free that
    // object only after those reads).
    rec_->ptr.store(p, std::memory_order_release);
  }

  detail::hp::record* rec_ = nullptr;
};

inline void swap(hazard_pointer& a, hazard_pointer& b) noexcept { a.swap(b); }

// A hazard pointer of the default domain. Common case: pops the thread's
// record cache (no atomic RMW, no shared write). Otherwise claims a free
// record of the thread's node, or allocates one there. Throws
// std::bad_alloc (or numa::node_allocation_error) when no record can be had
// (also when the default domain itself, built on first use, cannot be);
// nothing changes then and a later call may succeed.
[[nodiscard]] inline hazard_pointer make_hazard_pointer() { return hazard_pointer(detail::hp::acquire_default()); }
// A hazard pointer of `dom` (a quiesce extension; cached per thread for up
// to three non-default domains at a time).
[[nodiscard]] hazard_pointer make_hazard_pointer(hazard_pointer_domain& dom);

// N hazard pointers at once (for structures that hold several, e.g. the
// list set's prev/curr/next).
template <std::size_t N>
[[nodiscard]] std::array<hazard_pointer, N> make_hazard_pointers(
    hazard_pointer_domain& dom = hazard_pointer_default_domain()) {
  std::array<hazard_pointer, N> hs;
  const bool is_default = &dom == &hazard_pointer_default_domain();  // the inline thread-cache path
  for (auto& h : hs) h = is_default ? make_hazard_pointer() : make_hazard_pointer(dom);
  return hs;
}

// Retires an object that does not derive from hazard_pointer_obj_base: wraps
// it in a 48-byte node (one allocation) and retires that; d(p) runs once no
// hazard pointer protects p. p must not be null (checked). If the node
// cannot be allocated, throws std::bad_alloc and p is not retired: the
// caller still owns it (d untouched).
template <class T, class D = std::default_delete<T>>
void hazard_pointer_retire(T* p, D d = D(), hazard_pointer_domain& dom = hazard_pointer_default_domain()) {
  if (p == nullptr) detail::hp::misuse_retire("hazard_pointer_retire(nullptr)");
  struct wrapper : detail::hp::retired_header {
    T* obj;
    [[no_unique_address]] D del;
    wrapper(T* o, D&& dd) : obj(o), del(std::move(dd)) {}
    static void run(detail::hp::retired_header* h) noexcept {
      auto* w = static_cast<wrapper*>(h);
      w->del(w->obj);
      delete w;
    }
  };
  auto* w = new wrapper(p, std::move(d));
  w->key = static_cast<const void*>(p);
  w->reclaim = &wrapper::run;
  detail::hp::retire_fast(dom, w);
}

}  // namespace quiesce

#endif  // QUIESCE_HAZARD_POINTER_HPP
