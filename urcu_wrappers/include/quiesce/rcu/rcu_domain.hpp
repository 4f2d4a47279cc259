// quiesce/rcu/rcu_domain.hpp — RCU domains, read-side guards, registration,
// grace periods (blocking and polled) and retirement, one domain per liburcu
// flavour.
//
// What it is
//   basic_rcu_domain<Flavor> is the C++26 rcu_domain (a Lockable whose
//   lock()/unlock() enter and leave a read-side critical section) for one
//   liburcu flavour. There is exactly one domain object per flavour, because
//   liburcu keeps one global grace-period state per flavour:
//
//     rcu_domain      = basic_rcu_domain<rcu_flavor::memb>  rcu_default_domain()
//     rcu_qsbr_domain = basic_rcu_domain<rcu_flavor::qsbr>  rcu_qsbr()
//     rcu_mb_domain   = basic_rcu_domain<rcu_flavor::mb>    rcu_mb()
//     rcu_bp_domain   = basic_rcu_domain<rcu_flavor::bp>    rcu_bp()
//
// When to use it
//   Read-mostly data whose readers must never block or write shared memory:
//   routing tables, configuration, caches. Not for write-heavy data (every
//   update waits for, or defers to, a grace period of milliseconds), and not
//   where a reader must see the newest value (readers may see the old one).
//
// Example
//   quiesce::rcu_ptr<config> cfg{std::make_unique<config>()};
//   // reader, any thread, no registration needed:
//   { quiesce::rcu_read_guard g; use(cfg.load(g)->port); }
//   // writer:
//   cfg.store(std::make_unique<config>(new_port));  // old one retired
//   quiesce::rcu_barrier();                         // its deleter has run
//
// Costs (in instructions; perf/rcu_bench measures them against liburcu's
// inline pair and the std locks: the main job's out/rcu_ratios.md, and the
// reference run in perf/results/<machine>/):
//   guard enter+exit: memb and bp: on entry a load of the grace-period
//   counter stored into the thread's reader record, on exit a store to it
//   and a load of the writers' wake-up word; compiler barriers only (the
//   writer's membarrier() stands in for the fences). memb tests one
//   thread-local flag at each end where liburcu's inline pair loads the
//   global "membarrier()?" word three times, and the flag also answers
//   "registered?" (flavor.hpp, memb); bp adds liburcu's own registration
//   test. Given the thread's registration, the guard's lock is exactly
//   liburcu's inline lock. qsbr: nothing; mb: two full fences.
//   rcu_synchronize: memb and bp one membarrier() system call per phase
//   plus waiting for the readers; qsbr and mb wait for each reader's next
//   quiescent state or fence; with no reader, a scan of the registry.
//   retire: one CAS to enqueue; the deleter runs about one grace period
//   later when the worker is idle, at most about reclaim_pause (1 ms) plus a
//   grace period later while retires keep coming (quiesce's reclaimer, see
//   detail::rcu::reclaim_queue; perf/rcu_bench retire_latency has the figures).
//
// Compared with the alternatives
//   std::shared_mutex costs an atomic RMW per shared lock and another per
//   unlock, on one cache line all its readers write; hazard pointers
//   (quiesce/hazard_pointer.hpp) protect single objects with a store+fence
//   each and bound garbage; RCU (memb) protects whole traversals for a TLS
//   counter update and a compiler barrier at each end, but unreclaimed memory
//   grows with long readers (perf/rcu_bench read/*, out/rcu_ratios.md).
#ifndef QUIESCE_RCU_RCU_DOMAIN_HPP
#define QUIESCE_RCU_RCU_DOMAIN_HPP

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <type_traits>
#include <utility>

#include <quiesce/rcu/detail/config.hpp>
#include <quiesce/rcu/flavor.hpp>

namespace quiesce {

template <rcu_flavor::flavor Flavor>
class basic_rcu_domain;

// An opaque grace-period cookie from start_poll(); see basic_rcu_domain.
struct rcu_poll_cookie {
  std::uint64_t value = 0;
  friend bool operator==(rcu_poll_cookie, rcu_poll_cookie) = default;
};

// Counters a domain keeps about its retire path; see basic_rcu_domain::stats().
struct rcu_domain_stats {
  std::size_t outstanding;     // retired, deleter not yet run
  std::size_t backlog_limit;   // retire() slows down above this
  std::uint64_t throttled;     // retire() calls that waited for the backlog to drain
  std::uint64_t overruns;      // retire() calls over the limit that could not wait
  std::uint64_t reclaimed;     // deleters run so far (the stall detector watches it advance)
};

namespace detail::rcu {

// ---- implemented in urcu_wrappers/src/rcu_domain.cpp, for the four flavours ----
template <class F> void register_implicitly() noexcept;
// The outermost read lock of a thread without the flavour's fast path
// (rcu_flavor::memb::try_read_lock_fast): registers it if needed, then
// liburcu's inline lock. Out of line: the guard's inline path stays small.
template <class F> void read_lock_slow() noexcept;
template <class F> void registration_acquire() noexcept;
template <class F> void registration_release() noexcept;
template <class F> void synchronize(basic_rcu_domain<F>&) noexcept;
template <class F> void barrier(basic_rcu_domain<F>&) noexcept;
template <class F> rcu_poll_cookie start_poll(basic_rcu_domain<F>&) noexcept;
template <class F> void throttle(basic_rcu_domain<F>&) noexcept;
template <class F> struct domain_internals;  // poll machinery, rcu_domain.cpp
void note_flavor_used(int index) noexcept;
// fatal(what) if p is already pending; false: no memory to track it.
bool retire_track(const void* p,
                  const char* what = "the same pointer was retired twice (its deleter has not run yet)") noexcept;
void retire_untrack(const void* p) noexcept;
[[noreturn]] void deleter_threw(const char* flavor) noexcept;

// Fork exclusion for call_rcu (see rcu/fork.hpp). liburcu 0.13.2's
// call_rcu() links a node in two steps; a fork() between them leaves the
// child's queue half-linked and its worker spinning forever. Each thread
// that retires owns a fork_slot and marks it busy around its call_rcu();
// rcu_fork_guard raises fork_pending, fences every thread (membarrier), and
// waits until no slot is busy. A retire that sees fork_pending does not call
// call_rcu(): it defers its node to a lock-free list, which the guard hands
// to call_rcu() in the parent and in the child once the fork is done. The
// retirer never waits; the guard waits only for call_rcu()s in progress.
// Ordering (Dekker, asymmetric like the hazard pointers): the retirer
// stores busy then loads fork_pending with only a compiler barrier between
// them; the guard's membarrier(PRIVATE_EXPEDITED) makes every running thread
// execute a full fence, so either the guard sees busy or the retirer sees
// fork_pending. Without membarrier the retirer uses a seq_cst fence.
struct alignas(128) fork_slot {  // written twice per retire: its own 128-byte block
  std::atomic<unsigned> busy{0};
  std::atomic<bool> in_use{false};
  fork_slot* next = nullptr;  // push-only list of every slot ever made
};
inline constinit std::atomic<int> fork_pending{0};  // rcu_fork_guards in progress
inline constinit std::atomic<bool> fork_fence_asymmetric{false};
inline constinit thread_local fork_slot* tls_fork_slot = nullptr;
fork_slot* claim_fork_slot() noexcept;  // first retire of a thread; rcu_domain.cpp
void call_rcu_fork_safe_slow(fork_slot* s, int flavor_index, rcu_head* head, void (*fn)(rcu_head*)) noexcept;
void defer_call_until_fork_done(int flavor_index, rcu_head* head, void (*fn)(rcu_head*)) noexcept;

// ---- quiesce's reclaimer (urcu_wrappers/src/rcu_reclaimer.cpp) ----
// Retired objects go to one quiesce worker thread per flavour, started on
// the flavour's first retire, through a lock-free stack (one CAS per retire,
// the same cost as liburcu's call_rcu enqueue). The worker takes the whole
// stack, waits one grace period, runs the deleters in retire order, and
// starts the next batch at once when it is woken (a retire into an empty
// stack) or, while retires keep coming, after a pause of reclaim_pause
// (batches of that long share one grace period). rcu_barrier() cuts the
// pause short, so it returns within about one grace period when the worker
// is idle, where liburcu's call_rcu worker sleeps 10 ms before every batch.
// A thread attached to a call_rcu_worker, and every thread while
// per_cpu_call_rcu_workers exist, goes to liburcu's call_rcu instead.
struct alignas(128) reclaim_queue {
  std::atomic<rcu_head*> top{nullptr};   // linked through the rcu_head's queue link
  std::atomic<bool> started{false};      // the worker runs (false again in a fork child)
};
inline constinit reclaim_queue reclaim_queues[4]{};
inline constinit thread_local unsigned liburcu_attached[4] = {};  // this thread's call_rcu_worker attachments
inline constinit std::atomic<unsigned> liburcu_per_cpu[4] = {};   // live per_cpu_call_rcu_workers
void reclaim_wake(int flavor) noexcept;                             // start or wake the flavour's worker
void liburcu_call(int flavor, rcu_head* head, void (*fn)(rcu_head*)) noexcept;

// Schedules fn(head) after a grace period of F: to quiesce's worker, or to
// liburcu's call_rcu where the thread chose a liburcu worker.
template <class F>
inline void reclaim_call(rcu_head* head, void (*fn)(rcu_head*)) noexcept {
  if (liburcu_attached[F::index] != 0 || liburcu_per_cpu[F::index].load(std::memory_order_relaxed) != 0)
      [[unlikely]] {
    liburcu_call(F::index, head, fn);
    return;
  }
  head->func = fn;
  reclaim_queue& q = reclaim_queues[F::index];
  rcu_head* old = q.top.load(std::memory_order_relaxed);
  do {
    head->next.next = reinterpret_cast<decltype(head->next.next)>(old);
    // seq_cst (a locked CMPXCHG on x86, as release is): ordered before the
    // worker-state load in reclaim_wake (Dekker with the worker going idle);
    // release: the retirer's writes happen-before the worker's acquire.
  } while (!q.top.compare_exchange_weak(old, head, std::memory_order_seq_cst, std::memory_order_relaxed));
  if (old == nullptr || !q.started.load(std::memory_order_relaxed)) [[unlikely]]
    reclaim_wake(F::index);
}

inline std::atomic<unsigned> used_flavors{0};   // bit per flavour index; atexit barrier
inline thread_local int qsbr_guard_depth = 0;   // QSBR guards held (checks builds)
inline thread_local bool in_deleter = false;    // this thread is running a deleter
inline thread_local unsigned retires_since_check[4] = {};  // per flavour; see backlog_check_interval

// A node liburcu's call_rcu queues. rcu_head is first, so a retire_hook* and
// the rcu_head* liburcu hands back are pointer-interconvertible.
struct retire_hook {
  rcu_head head{};
};
static_assert(std::is_standard_layout_v<retire_hook>);

// The node rcu_retire(p, d) allocates for objects that do not derive from
// rcu_obj_base.
template <class T, class D>
struct retire_node final : retire_hook {
  retire_node(T* p, D&& d, bool t) : ptr(p), deleter(std::move(d)), tracked(t) {}
  T* ptr;
  [[no_unique_address]] D deleter;
  bool tracked;
  // May throw if D does; run_reclaim turns that into a fatal error.
  static void reclaim(retire_hook* h) noexcept(std::is_nothrow_invocable_v<D&, T*>) {
    auto* n = static_cast<retire_node*>(h);
    if (n->tracked) retire_untrack(n->ptr);
    n->deleter(n->ptr);
    delete n;
  }
};

// The registration a retire needs: memb/mb register implicitly, bp registers
// itself, QSBR must already be registered (fatal otherwise). Inline fast path:
// one TLS test.
template <class F>
inline void require_retire_context() noexcept {
  if constexpr (std::is_same_v<F, rcu_flavor::qsbr>) {
    if (!F::registered()) [[unlikely]]
      fatal("retire to the QSBR domain from a thread that is not registered",
            "hold a quiesce::rcu_thread_registration<quiesce::rcu_qsbr_domain> in this thread");
  } else if constexpr (F::implicit_registration) {
    if (!F::registered()) [[unlikely]]
      register_implicitly<F>();
  }
}

// True if the calling thread is inside a read-side section of F's domain.
// For QSBR only a guard counts (being online is the normal state), and guards
// are counted only where QUIESCE_CHECKS compiled them in.
template <class F>
inline bool in_read_section() noexcept {
  if constexpr (F::has_read_side_counter)
    return F::read_ongoing();
  else
    return qsbr_guard_depth != 0;
}

// fatal(what, hint) if the calling thread is inside a read-side section of
// F's domain: for calls that wait for a grace period of that domain.
template <class F>
inline void require_outside_read_section(const char* what, const char* hint) noexcept {
  if (in_read_section<F>()) fatal(what, hint);
}

// Runs `h`'s reclaim under the deleter contract: outside any read-side
// section (liburcu's worker holds none), with exceptions turned into a clear
// fatal error instead of unwinding through liburcu's C frames.
template <class F, class Node>
void run_reclaim(rcu_head* head) noexcept;

}  // namespace detail::rcu

// basic_rcu_domain<Flavor>: one flavour's read side, grace periods and
// deferred reclamation. Lockable: lock()/try_lock()/unlock() are the C++26
// rcu_domain operations, so std::scoped_lock, std::unique_lock and
// quiesce::rcu_read_guard all enter a read-side critical section.
//
// Thread contract per flavour:
//   memb, mb: a thread that is not registered is registered on its first
//             lock() (one-time: quiesce's and liburcu's registry mutexes)
//             and unregistered when it exits. A thread may also register
//             through liburcu itself (quiesce then leaves the registration
//             to it), but a thread quiesce registered must not be
//             unregistered through liburcu (urcu_memb_unregister_thread):
//             memb's fast read path relies on quiesce seeing it end.
//   bp:       liburcu registers the thread inside read_lock itself.
//   qsbr:     threads must be registered (rcu_thread_registration) and online;
//             a guard in an offline/unregistered thread is fatal in checks
//             builds (QUIESCE_CHECKS) and undefined behaviour otherwise.
template <rcu_flavor::flavor Flavor>
class basic_rcu_domain {
 public:
  using flavor_type = Flavor;

  basic_rcu_domain(const basic_rcu_domain&) = delete;
  basic_rcu_domain& operator=(const basic_rcu_domain&) = delete;

  // The one domain of this flavour. Constant-initialised: no guard variable,
  // usable from static constructors and destructors.
  static basic_rcu_domain& instance() noexcept;

  // ---- read side (any thread; see the thread contract above) ----

  // Enters a read-side critical section. Nests. Wait-free after the first
  // call on a thread. Ordering: the section's loads cannot be reordered before
  // it (compiler barrier; memb/bp pair with the membarrier() in
  // synchronize, mb with its own full fence).
  [[gnu::always_inline]] static void read_lock() noexcept {
    if constexpr (requires { requires Flavor::has_fast_read_lock; }) {
      // memb: one thread-local test answers "registered?" and "membarrier?"
      // (detail::rcu::memb_fast_reader in flavor.hpp).
      if (!Flavor::try_read_lock_fast()) [[unlikely]] detail::rcu::read_lock_slow<Flavor>();
    } else {
      if constexpr (Flavor::implicit_registration) {
        if (!Flavor::registered()) [[unlikely]] detail::rcu::register_implicitly<Flavor>();
      }
      read_lock_registered();
    }
  }
  // read_lock() for a thread known to be registered (it holds an
  // rcu_thread_registration of this domain): no registration test.
  [[gnu::always_inline]] static void read_lock_registered() noexcept {
    if constexpr (std::is_same_v<Flavor, rcu_flavor::qsbr> && detail::rcu::checks_enabled) {
      if (!Flavor::online()) [[unlikely]]
        detail::rcu::fatal("QSBR read-side section in a thread that is offline or not registered",
                           "hold a quiesce::rcu_thread_registration<quiesce::rcu_qsbr_domain> and stay "
                           "outside rcu_offline_scope while reading");
      ++detail::rcu::qsbr_guard_depth;
    }
    Flavor::read_lock();
  }
  // Leaves the section entered by the matching read_lock(). Wait-free.
  [[gnu::always_inline]] static void read_unlock() noexcept {
    // Before the unlock: once liburcu sees the reader gone, a grace period
    // can end and a deleter run; TSan must already know what we read.
    tsan_reader_done();
    Flavor::read_unlock();
    if constexpr (std::is_same_v<Flavor, rcu_flavor::qsbr> && detail::rcu::checks_enabled)
      --detail::rcu::qsbr_guard_depth;
  }
  // ThreadSanitizer only: marks the end of a read-side section (or a QSBR
  // quiescent state). Pairs with the tsan_acquire() in synchronize() and
  // run_reclaim(): everything the section read happens-before reclamation.
  [[gnu::always_inline]] static void tsan_reader_done() noexcept { detail::rcu::tsan_release(&instance().read_sync_); }
  // True inside a read-side section of this domain (for QSBR: thread online).
  static bool read_ongoing() noexcept {
    if constexpr (std::is_same_v<Flavor, rcu_flavor::qsbr>)
      return Flavor::online();
    else
      return Flavor::read_ongoing();
  }

  [[gnu::always_inline]] void lock() noexcept { read_lock(); }
  bool try_lock() noexcept {
    read_lock();
    return true;
  }
  [[gnu::always_inline]] void unlock() noexcept { read_unlock(); }

  // ---- grace periods (any thread outside a read-side section of this domain) ----

  // Waits until every read-side section that began before the call has ended.
  // Fatal if called inside a read-side section of this domain (it would wait
  // for itself forever). QSBR: an online caller is treated as quiescent while
  // waiting. Costs one grace period: with idle readers, membarrier() system
  // calls and a scan of the registered readers (memb, bp), the scan alone
  // (qsbr, mb) (perf/rcu_bench synchronize/*, out/rcu_ratios.md).
  void synchronize() noexcept { detail::rcu::synchronize(*this); }

  // Waits until the deleters of every object retired to this domain before the
  // call have run. Same calling rules as synchronize(); also fatal inside a
  // deleter. Returns at once when nothing retired is pending; otherwise wakes
  // quiesce's reclaimer (cutting its batching pause short) and costs about
  // one grace period plus the pending deleters. Where retires went to
  // liburcu's workers (call_rcu_worker, per_cpu_call_rcu_workers), also
  // liburcu's rcu_barrier(): up to ~10 ms more.
  void barrier() noexcept { detail::rcu::barrier(*this); }

  // Polled grace periods (liburcu 0.13 has none; Linux's
  // start_poll_synchronize_rcu()/poll_state_synchronize_rcu() semantics):
  // start_poll() returns a cookie and makes sure a grace period will start;
  // poll_state(c) is true once a full grace period has elapsed since
  // start_poll() returned c. Lock-free; a cookie completes when the next
  // reclaimer batch runs (about a grace period, or reclaim_pause more while retires keep coming) or as soon as any synchronize() that began
  // after start_poll() returns, whichever is first. start_poll has the same
  // registration needs as retire().
  [[nodiscard]] rcu_poll_cookie start_poll() noexcept { return detail::rcu::start_poll(*this); }
  [[nodiscard]] bool poll_state(rcu_poll_cookie c) const noexcept {
    return poll_completed_.load(std::memory_order_acquire) >= c.value;
  }
  // Waits for the grace period of `c` unless it has already elapsed.
  void cond_synchronize(rcu_poll_cookie c) noexcept {
    if (!poll_state(c)) synchronize();
  }

  // ---- reclamation ----

  // Schedules d(p) to run after a grace period, on liburcu's call_rcu worker,
  // outside any read-side section. Null p is ignored. Allocates one node
  // (throws std::bad_alloc; p is then not retired and still the caller's). Needs a registered thread: memb/mb/bp register
  // implicitly; qsbr requires a registered thread (fatal otherwise).
  // Retiring a pointer that is still pending is fatal in checks builds.
  // Backlog: when more than backlog_limit() objects are pending, the caller
  // waits until the deleters catch up, if it can do so without deadlock (not
  // inside a read-side section or a deleter; for qsbr only while offline);
  // otherwise it continues and stats().overruns counts it.
  template <class T, class D = std::default_delete<T>>
  void retire(T* p, D d = D()) {
    if (p == nullptr) return;
    detail::rcu::require_retire_context<Flavor>();
    // Allocate first: if it throws, p is neither retired nor tracked and the
    // caller still owns it (it may retire it again later).
    auto* node = new detail::rcu::retire_node<T, D>(p, std::move(d), false);
    if constexpr (detail::rcu::checks_enabled) node->tracked = detail::rcu::retire_track(p);
    enqueue<detail::rcu::retire_node<T, D>>(&node->head);
  }

  // Retirement backlog bound (objects). Default 262144 (2^18): large enough
  // for the batching optimum of Desnoyers et al. (32768 per grace period) with
  // room for bursts, small enough that 64-byte objects stay under 16 MiB.
  // Each retiring thread compares the backlog with the limit every
  // backlog_check_interval retires (reading the deleters' counter every time
  // would bounce its cache line between writer and worker), so the bound
  // holds within that many objects per retiring thread.
  static constexpr unsigned backlog_check_interval = 32;
  void set_backlog_limit(std::size_t n) noexcept { backlog_limit_.store(n, std::memory_order_relaxed); }
  [[nodiscard]] std::size_t backlog_limit() const noexcept {
    return backlog_limit_.load(std::memory_order_relaxed);
  }
  [[nodiscard]] rcu_domain_stats stats() const noexcept {
    return {outstanding(), backlog_limit(), throttled_.load(std::memory_order_relaxed),
            overruns_.load(std::memory_order_relaxed), reclaimed_.load(std::memory_order_relaxed)};
  }

  // ---- internal: used by rcu_obj_base, the containers and rcu_domain.cpp ----

  // Queues a hook whose Node::reclaim(retire_hook*) frees it. The caller has
  // checked the retire context.
  template <class Node>
  void enqueue(rcu_head* head) noexcept {
    constexpr unsigned bit = 1u << Flavor::index;
    if (!(detail::rcu::used_flavors.load(std::memory_order_relaxed) & bit)) [[unlikely]]
      detail::rcu::note_flavor_used(Flavor::index);
    // Pairs with tsan_acquire(head) in run_reclaim: the retiring thread's
    // writes to the object happen-before its deleter.
    detail::rcu::tsan_release(head);
    retired_.fetch_add(1, std::memory_order_relaxed);
    // Fork exclusion (detail::rcu::fork_slot): a TLS load, a load and two relaxed
    // stores of the thread's own slot, a compiler barrier and a load.
    detail::rcu::fork_slot* slot = detail::rcu::tls_fork_slot;
    if (slot == nullptr || !detail::rcu::fork_fence_asymmetric.load(std::memory_order_relaxed)) [[unlikely]] {
      detail::rcu::call_rcu_fork_safe_slow(slot, Flavor::index, head, &detail::rcu::run_reclaim<Flavor, Node>);
    } else {
      // busy counts this thread's nested retires (a signal handler that
      // retires mid-retire restores the count before it returns).
      const unsigned busy = slot->busy.load(std::memory_order_relaxed);
      slot->busy.store(busy + 1, std::memory_order_relaxed);
      std::atomic_signal_fence(std::memory_order_seq_cst);
      if (detail::rcu::fork_pending.load(std::memory_order_relaxed) == 0) [[likely]]
        detail::rcu::reclaim_call<Flavor>(head, &detail::rcu::run_reclaim<Flavor, Node>);
      else
        detail::rcu::defer_call_until_fork_done(Flavor::index, head, &detail::rcu::run_reclaim<Flavor, Node>);
      slot->busy.store(busy, std::memory_order_release);
    }
    if ((++detail::rcu::retires_since_check[Flavor::index] & (backlog_check_interval - 1)) == 0) [[unlikely]] {
      if (outstanding() > backlog_limit_.load(std::memory_order_relaxed)) detail::rcu::throttle(*this);
    }
  }

  // Retired objects whose deleter has not finished (approximate while
  // retires and deleters run).
  [[nodiscard]] std::size_t outstanding() const noexcept {
    const std::size_t done = reclaimed_.load(std::memory_order_acquire);
    const std::size_t all = retired_.load(std::memory_order_acquire);
    return all > done ? all - done : 0;
  }

 private:
  constexpr basic_rcu_domain() noexcept = default;
  static basic_rcu_domain instance_;

  template <class F, class Node>
  friend void detail::rcu::run_reclaim(rcu_head*) noexcept;
  template <class F> friend void detail::rcu::synchronize(basic_rcu_domain<F>&) noexcept;
  template <class F> friend void detail::rcu::barrier(basic_rcu_domain<F>&) noexcept;
  template <class F> friend rcu_poll_cookie detail::rcu::start_poll(basic_rcu_domain<F>&) noexcept;
  template <class F> friend void detail::rcu::throttle(basic_rcu_domain<F>&) noexcept;
  template <class F> friend struct detail::rcu::domain_internals;

  // Called by run_reclaim after each deleter.
  void reclaimed_one() noexcept {
    reclaimed_.fetch_add(1, std::memory_order_seq_cst);
    // Pairs with the seq_cst increment of waiters_ in throttle(): either the
    // waiter sees the new count or we see the waiter and wake it.
    if (waiters_.load(std::memory_order_seq_cst) != 0) reclaimed_.notify_all();
  }

  // Two counters rather than one "outstanding": retiring threads write only
  // retired_, deleters (liburcu's worker) only reclaimed_, each alone on its
  // 128-byte block (adjacent-line prefetch pairs 64-byte lines on x86), so
  // the worker's writes do not bounce the writers' line (retire throughput,
  // perf/rcu_bench retire_throughput/*).
  alignas(128) std::atomic<std::size_t> retired_{0};
  alignas(128) std::atomic<std::size_t> reclaimed_{0};
  std::atomic<std::uint32_t> waiters_{0};
  // Read by every retire, written rarely.
  alignas(128) std::atomic<std::size_t> backlog_limit_{std::size_t{1} << 18};
  std::atomic<std::uint64_t> throttled_{0};
  std::atomic<std::uint64_t> overruns_{0};
  // Polled grace periods: tickets handed out, and the highest ticket known to
  // be covered by a completed grace period. One call_rcu hook in flight at most.
  alignas(128) std::atomic<std::uint64_t> poll_requested_{0};
  std::atomic<std::uint64_t> poll_completed_{0};
  std::atomic<bool> poll_pending_{false};
  std::uint64_t poll_covered_{0};  // ticket the in-flight hook covers; owned by its holder
  detail::rcu::retire_hook poll_hook_{};
  // ThreadSanitizer synchronisation objects (addresses only; never written).
  alignas(128) char read_sync_{};
  char reclaim_sync_{};
};

template <rcu_flavor::flavor Flavor>
constinit basic_rcu_domain<Flavor> basic_rcu_domain<Flavor>::instance_{};

template <rcu_flavor::flavor Flavor>
basic_rcu_domain<Flavor>& basic_rcu_domain<Flavor>::instance() noexcept {
  return instance_;
}

using rcu_domain = basic_rcu_domain<rcu_flavor::memb>;
using rcu_qsbr_domain = basic_rcu_domain<rcu_flavor::qsbr>;
using rcu_mb_domain = basic_rcu_domain<rcu_flavor::mb>;
using rcu_bp_domain = basic_rcu_domain<rcu_flavor::bp>;

// The C++26 default domain: liburcu's memb flavour.
inline rcu_domain& rcu_default_domain() noexcept { return rcu_domain::instance(); }
inline rcu_qsbr_domain& rcu_qsbr() noexcept { return rcu_qsbr_domain::instance(); }
inline rcu_mb_domain& rcu_mb() noexcept { return rcu_mb_domain::instance(); }
inline rcu_bp_domain& rcu_bp() noexcept { return rcu_bp_domain::instance(); }

template <class D>
concept rcu_domain_type = requires { typename D::flavor_type; } &&
                          std::is_same_v<D, basic_rcu_domain<typename D::flavor_type>>;

// C++26 [saferecl.rcu.domain.func], name for name: plain functions of
// rcu_domain& (the default, memb, domain), so that &quiesce::rcu_synchronize
// converts to void (*)(rcu_domain&) noexcept and an argument that converts to
// rcu_domain& (a reference_wrapper, a derived reference) is accepted, as with
// std::. Beside them, templates for the other flavours' domains (qsbr, mb,
// bp); being overloads, they make a plain `auto f = &quiesce::rcu_synchronize`
// ambiguous: name the target type, as above.

// Waits for pre-existing readers. See basic_rcu_domain::synchronize.
inline void rcu_synchronize(rcu_domain& dom = rcu_default_domain()) noexcept { dom.synchronize(); }
// Waits until the deleters of everything retired before the call ran. See
// basic_rcu_domain::barrier.
inline void rcu_barrier(rcu_domain& dom = rcu_default_domain()) noexcept { dom.barrier(); }
// Schedules d(p) after a grace period of `dom`. See basic_rcu_domain::retire.
template <class T, class D = std::default_delete<T>>
void rcu_retire(T* p, D d = D(), rcu_domain& dom = rcu_default_domain()) {
  dom.retire(p, std::move(d));
}

// The same for the other flavours' domains.
template <rcu_flavor::flavor F>
  requires(!std::is_same_v<F, rcu_flavor::memb>)
void rcu_synchronize(basic_rcu_domain<F>& dom) noexcept {
  dom.synchronize();
}
template <rcu_flavor::flavor F>
  requires(!std::is_same_v<F, rcu_flavor::memb>)
void rcu_barrier(basic_rcu_domain<F>& dom) noexcept {
  dom.barrier();
}
template <class T, class D, rcu_flavor::flavor F>
  requires(!std::is_same_v<F, rcu_flavor::memb>)
void rcu_retire(T* p, D d, basic_rcu_domain<F>& dom) {
  dom.retire(p, std::move(d));
}

template <class Domain = rcu_domain>
class rcu_thread_registration;

// A scoped read-side critical section. Non-copyable, non-movable; nests.
//   quiesce::rcu_read_guard g;                        // default (memb) domain
//   quiesce::rcu_read_guard q{quiesce::rcu_qsbr()};   // QSBR domain
//   quiesce::rcu_read_guard r{registration};          // registered thread: no check
// The default constructor registers the thread on first use. For memb the
// "registered?" test is the test liburcu's inline lock makes anyway
// ("membarrier()?"), one thread-local flag (rcu_flavor::memb, flavor.hpp;
// urcu_wrappers/README.md, "The read side's cost"); mb tests liburcu's
// registered bit (one TLS load and branch). perf/rcu_bench
// read/<flavour>/quiesce_guard vs liburcu_inline. Threads holding an
// rcu_thread_registration can pass it as proof: the lock is then exactly
// liburcu's inline read lock (read/memb/quiesce_guard_registered).
template <class Domain = rcu_domain>
class [[nodiscard]] rcu_read_guard {
  static_assert(rcu_domain_type<Domain>, "rcu_read_guard<D>: D must be a quiesce RCU domain type");

 public:
  using domain_type = Domain;
  [[gnu::always_inline]] rcu_read_guard() noexcept { Domain::read_lock(); }
  // (type_identity_t: deduction goes through the guides below only.)
  [[gnu::always_inline]] explicit rcu_read_guard(std::type_identity_t<Domain>&) noexcept { Domain::read_lock(); }
  [[gnu::always_inline]] explicit rcu_read_guard(const rcu_thread_registration<Domain>&) noexcept {
    Domain::read_lock_registered();
  }
  [[gnu::always_inline]] ~rcu_read_guard() { Domain::read_unlock(); }
  rcu_read_guard(const rcu_read_guard&) = delete;
  rcu_read_guard& operator=(const rcu_read_guard&) = delete;
};
template <class F>
rcu_read_guard(basic_rcu_domain<F>&) -> rcu_read_guard<basic_rcu_domain<F>>;
template <class D>
rcu_read_guard(const rcu_thread_registration<D>&) -> rcu_read_guard<D>;

// Registers the calling thread with a domain's flavour for the scope's
// lifetime. Nests; the thread is unregistered when the outermost registration
// ends (or, if it was registered implicitly by a guard, when it exits).
// Required for QSBR (the thread is online afterwards and must announce
// quiescent states); optional for memb/mb; a no-op for bp. One-time cost:
// quiesce's and liburcu's registry mutexes, one list insertion each.
template <class Domain>
class [[nodiscard]] rcu_thread_registration {
  static_assert(rcu_domain_type<Domain>, "rcu_thread_registration<D>: D must be a quiesce RCU domain type");
  using F = typename Domain::flavor_type;

 public:
  rcu_thread_registration() noexcept { detail::rcu::registration_acquire<F>(); }
  explicit rcu_thread_registration(std::type_identity_t<Domain>&) noexcept { detail::rcu::registration_acquire<F>(); }
  ~rcu_thread_registration() { detail::rcu::registration_release<F>(); }
  rcu_thread_registration(const rcu_thread_registration&) = delete;
  rcu_thread_registration& operator=(const rcu_thread_registration&) = delete;
};
template <class F>
rcu_thread_registration(basic_rcu_domain<F>&) -> rcu_thread_registration<basic_rcu_domain<F>>;

// ---- QSBR extras ----

// Announces a quiescent state of the calling (registered, online) QSBR thread:
// it holds no reference obtained in an earlier read-side section. Wait-free:
// one load of the grace-period counter and a compare when no grace period
// started since the thread's last announcement; otherwise a store of the
// counter, three full fences and a check for a waiting updater. Fatal inside
// a QSBR guard in checks builds. Ordering (when it stores): full fence
// before (prior reads complete) and after.
inline void rcu_quiescent_state() noexcept {
  if constexpr (detail::rcu::checks_enabled) {
    if (detail::rcu::qsbr_guard_depth != 0)
      detail::rcu::fatal("rcu_quiescent_state() inside a QSBR read-side guard",
                         "announce quiescent states only between read-side sections");
  }
  rcu_qsbr_domain::tsan_reader_done();
  rcu_flavor::qsbr::quiescent_state();
}

// Takes the calling QSBR thread offline for the scope (grace periods stop
// waiting for it: use around blocking calls), then back online if it was.
// Nests; restores the previous state, so it cannot be left unbalanced.
class [[nodiscard]] rcu_offline_scope {
 public:
  rcu_offline_scope() noexcept : was_online_(rcu_flavor::qsbr::online()) {
    if constexpr (detail::rcu::checks_enabled) {
      if (detail::rcu::qsbr_guard_depth != 0)
        detail::rcu::fatal("rcu_offline_scope inside a QSBR read-side guard",
                           "going offline ends the read-side section; leave the guard first");
    }
    if (was_online_) {
      rcu_qsbr_domain::tsan_reader_done();
      rcu_flavor::qsbr::thread_offline();
    }
  }
  ~rcu_offline_scope() {
    if (was_online_) rcu_flavor::qsbr::thread_online();
  }
  rcu_offline_scope(const rcu_offline_scope&) = delete;
  rcu_offline_scope& operator=(const rcu_offline_scope&) = delete;

 private:
  bool was_online_;
};

// ---- implementation ----

namespace detail::rcu {
template <class F, class Node>
void run_reclaim(rcu_head* head) noexcept {
  auto& dom = basic_rcu_domain<F>::instance();
  // Pair with the tsan_release in read_unlock (all readers of the object are
  // done: a grace period elapsed) and in enqueue (the retirer's writes).
  tsan_acquire(&dom.read_sync_);
  tsan_acquire(head);
  auto* hook = reinterpret_cast<retire_hook*>(head);
  const bool outer = !in_deleter;
  in_deleter = true;
  try {
    Node::reclaim(hook);
  } catch (...) {
    deleter_threw(F::name);
  }
  if (outer) in_deleter = false;
  // Pairs with tsan_acquire(&reclaim_sync_) in barrier().
  tsan_release(&dom.reclaim_sync_);
  dom.reclaimed_one();
}
}  // namespace detail::rcu

}  // namespace quiesce

#endif  // QUIESCE_RCU_RCU_DOMAIN_HPP
