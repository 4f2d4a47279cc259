// urcu_wrappers/src/rcu_domain.cpp — the out-of-line half of quiesce's RCU
// domains: thread registration and its registry, grace periods, polled grace
// periods, the retire backlog throttle, fork support and the exit barrier.
#include <quiesce/rcu.hpp>

#include "rcu_internal.hpp"

#include <quiesce/base/fatal.hpp>
#include <quiesce/base/fork_safe.hpp>

#include <linux/membarrier.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <new>
#include <shared_mutex>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <unordered_set>
#include <vector>

namespace quiesce::detail::rcu {

// ---------------------------------------------------------------------------
// Diagnostics

void fatal(const char* what, const char* hint) noexcept { base::fatal(what, hint); }

bool rcu_library_checks() noexcept { return checks_enabled; }

void deleter_threw(const char* flavor) noexcept {
  // Assembled by hand (no snprintf): fatal() is async-signal-safe and stays so.
  char what[128] = "a deleter retired to the ";
  std::strncat(what, flavor, 32);
  std::strncat(what, " domain threw an exception", sizeof what - std::strlen(what) - 1);
  fatal(what, "deleters run on liburcu's call_rcu worker and must not throw; catch inside the deleter");
}

// ---------------------------------------------------------------------------
// Registry of threads registered through quiesce (for fork) and the
// per-thread, per-flavour registration reference count.

std::mutex& registry_mutex() {
  static std::mutex m;
  return m;
}
// Immortal (never destroyed): threads may still unregister while static
// destructors run at exit. Constant-initialised: no guard a fork could leave
// held (quiesce/base/fork_safe.hpp).
// (At namespace scope: a function-local static with a destructor, even a
// no-op one, has a guard.)
namespace {
constinit base::immortal<std::vector<registry_entry>> g_registry;
}  // namespace
std::vector<registry_entry>& registry() { return g_registry.value; }

namespace {

// Hands the retires that rcu_fork_guard deferred to call_rcu() (below).
void drain_deferred_calls() noexcept;

// Serialises quiesce-initiated grace periods and barriers (shared) against
// rcu_fork_guard (exclusive), so no liburcu grace-period mutex is held in the
// child. One per flavour.
std::shared_mutex& gp_gate(int flavor) {
  static std::shared_mutex gates[4];
  return gates[flavor];
}

template <class F>
struct thread_registration {
  int refs = 0;          // explicit registrations + the implicit one
  bool implicit = false;  // registered by a guard; dropped at thread exit
  bool ours = false;      // registered by quiesce (not by the user via liburcu)
  ~thread_registration() {
    if (implicit) {
      implicit = false;
      registration_release<F>();
    }
  }
};

template <class F>
thread_registration<F>& tls_registration() {
  thread_local thread_registration<F> r;
  return r;
}

template <class F>
void do_register() {
  std::lock_guard lk(registry_mutex());
  F::register_thread();
  // Registered by quiesce (do_register's callers checked that liburcu had
  // not registered the thread): memb's read side may take its fast path,
  // which relies on membarrier() (see flavor.hpp).
  if constexpr (std::is_same_v<F, rcu_flavor::memb>) memb_fast_reader = urcu_memb_has_sys_membarrier != 0;
  if constexpr (!std::is_same_v<F, rcu_flavor::bp>)
    registry().push_back({F::index, pthread_self(), static_cast<pid_t>(::gettid()), F::reader_ctr(),
                          F::reader_node()});
}

template <class F>
void do_unregister() {
  if constexpr (F::has_read_side_counter) {
    if (F::read_ongoing())
      fatal("thread unregisters (or exits) inside an RCU read-side section",
            "end every rcu_read_guard / domain lock before the thread exits");
  }
  std::lock_guard lk(registry_mutex());
  auto& r = registry();
  const pthread_t self = pthread_self();
  r.erase(std::remove_if(r.begin(), r.end(),
                         [&](const registry_entry& e) {
                           return e.flavor == F::index && pthread_equal(e.thread, self);
                         }),
          r.end());
  if constexpr (std::is_same_v<F, rcu_flavor::memb>) memb_fast_reader = false;
  F::unregister_thread();
}

}  // namespace

template <class F>
void register_implicitly() noexcept {
  auto& r = tls_registration<F>();
  if (F::registered()) return;  // registered directly via liburcu
  do_register<F>();
  r.ours = true;
  r.implicit = true;
  ++r.refs;
  note_flavor_used(F::index);
}

template <class F>
void read_lock_slow() noexcept {
  if (!F::registered()) register_implicitly<F>();
  F::read_lock();  // liburcu's inline lock (urcu_memb_smp_mb_slave() tests membarrier())
}
template void read_lock_slow<rcu_flavor::memb>() noexcept;

template <class F>
void registration_acquire() noexcept {
  if constexpr (std::is_same_v<F, rcu_flavor::bp>) {
    F::register_thread();  // liburcu-bp: idempotent, undone at thread exit
    return;
  } else {
    auto& r = tls_registration<F>();
    if (r.refs == 0) {
      if (F::registered()) {
        r.ours = false;  // the user registered through liburcu; leave it to them
      } else {
        do_register<F>();
        r.ours = true;
      }
    }
    ++r.refs;
    note_flavor_used(F::index);
  }
}

template <class F>
void registration_release() noexcept {
  if constexpr (std::is_same_v<F, rcu_flavor::bp>) {
    return;
  } else {
    auto& r = tls_registration<F>();
    if (r.refs <= 0) fatal("unbalanced RCU thread unregistration", "use rcu_thread_registration (RAII)");
    if (--r.refs == 0 && r.ours) {
      r.ours = false;
      do_unregister<F>();
    }
  }
}

// ---------------------------------------------------------------------------
// Checks shared by synchronize, barrier and retire

namespace {
template <class F>
void check_may_wait(const char* op) {
  if (!in_read_section<F>()) return;
  char what[160];
  if constexpr (F::has_read_side_counter)
    std::snprintf(what, sizeof what, "%s called inside a read-side section of the %s domain (deadlock)", op, F::name);
  else
    std::snprintf(what, sizeof what, "%s called inside a QSBR read-side guard", op);
  fatal(what, F::has_read_side_counter
                  ? "leave the read-side section (end the rcu_read_guard) before waiting for a grace period"
                  : "a QSBR grace-period wait is a quiescent state; leave the guard first");
}
}  // namespace

// ---------------------------------------------------------------------------
// Grace periods


template <class F>
void synchronize(basic_rcu_domain<F>& d) noexcept {
  check_may_wait<F>("rcu_synchronize()");
  std::shared_lock gate(gp_gate(F::index));
  stall_wait_scope watched(F::index, rcu_stall_report::wait_kind::synchronize);
  // Every start_poll() ticket handed out before this load is covered by the
  // grace period below (seq_cst: pairs with the fetch_add in start_poll).
  const std::uint64_t covered = d.poll_requested_.load(std::memory_order_seq_cst);
  F::synchronize();
  domain_internals<F>::advance_poll(d, covered);
  // Pairs with tsan_release in read_unlock(): all pre-existing readers are done.
  tsan_acquire(&d.read_sync_);
}

template <class F>
void barrier(basic_rcu_domain<F>& d) noexcept {
  if (in_deleter)
    fatal("rcu_barrier() called from inside a deleter",
          "a deleter runs on the call_rcu worker that rcu_barrier() waits for; it would wait for itself");
  check_may_wait<F>("rcu_barrier()");
  stall_wait_scope watched(F::index, rcu_stall_report::wait_kind::barrier);
  {
    // Retires deferred by an rcu_fork_guard that has not reached its gates
    // yet are retired before this call too: queue them first (the shared
    // gate keeps that guard's fork out until they are queued, ahead of the
    // barrier's marker).
    std::shared_lock gate(gp_gate(F::index));
    drain_deferred_calls();
  }
  // Nothing pending (deleters done = retires made, read in that order: every
  // retire that happened before this call has had its deleter run): done.
  if (d.outstanding() != 0) {
    reclaimer_barrier<F>();  // no gate held: a fork guard pauses the worker, then takes the gates
    if (liburcu_used(F::index)) {
      std::shared_lock gate(gp_gate(F::index));
      F::barrier();
    }
  }
  // Pairs with tsan_release(&reclaim_sync_) in run_reclaim: every deleter ran.
  tsan_acquire(&d.reclaim_sync_);
}


// Polled grace periods. Tickets: start_poll() takes ticket t = ++requested and
// returns it; a ticket is complete when completed >= t. `completed` advances
// (a) after every synchronize() to the `requested` value read before it began,
// (b) from a call_rcu hook: the hook enqueued after reading requested = X runs
// after a grace period that began after that read, so it completes X. At most
// one hook is in flight (poll_pending_); the hook re-arms itself while newer
// tickets wait, so every ticket completes without a thread of ours.
template <class F>
struct domain_internals {
  static void advance_poll(basic_rcu_domain<F>& d, std::uint64_t covered) {
    std::uint64_t cur = d.poll_completed_.load(std::memory_order_relaxed);
    while (cur < covered &&
           !d.poll_completed_.compare_exchange_weak(cur, covered, std::memory_order_release,
                                                    std::memory_order_relaxed)) {
    }
  }

  // The poll hook's "deleter": completes the covered ticket, re-arms itself
  // while newer tickets wait.
  static void reclaim(retire_hook*) noexcept {
    auto& d = basic_rcu_domain<F>::instance();
    // We own the hook (poll_pending_ is true) until we store false below;
    // after that, poll_covered_ belongs to whoever takes the hook next.
    std::uint64_t covered = d.poll_covered_;
    advance_poll(d, covered);
    for (;;) {
      const std::uint64_t req = d.poll_requested_.load(std::memory_order_seq_cst);
      if (req > covered) {
        d.poll_covered_ = req;
        // run_reclaim's reclaimed_one() balances this increment.
        d.retired_.fetch_add(1, std::memory_order_relaxed);
        tsan_release(&d.poll_hook_.head);  // as in enqueue(): poll_covered_ to the next run
        reclaim_call<F>(&d.poll_hook_.head, &run_reclaim<F, domain_internals>);
        return;
      }
      d.poll_pending_.store(false, std::memory_order_seq_cst);
      // A start_poll() that saw pending == true before our store relies on us:
      // re-check, and take the hook back if a ticket slipped in.
      if (d.poll_requested_.load(std::memory_order_seq_cst) <= covered) return;
      if (d.poll_pending_.exchange(true, std::memory_order_seq_cst)) return;  // its new owner re-arms
    }
  }

  // The reclaimer worker's grace period: as synchronize() (tickets read
  // before it are covered), without the fork gate and the caller checks.
  static void worker_grace_period(basic_rcu_domain<F>& d) noexcept {
    const std::uint64_t covered = d.poll_requested_.load(std::memory_order_seq_cst);
    F::synchronize();
    advance_poll(d, covered);
    tsan_acquire(&d.read_sync_);
  }

  static rcu_poll_cookie start_poll(basic_rcu_domain<F>& d) noexcept {
    require_retire_context<F>();
    const std::uint64_t ticket = d.poll_requested_.fetch_add(1, std::memory_order_seq_cst) + 1;
    if (!d.poll_pending_.exchange(true, std::memory_order_seq_cst)) {
      d.poll_covered_ = d.poll_requested_.load(std::memory_order_seq_cst);
      d.template enqueue<domain_internals>(&d.poll_hook_.head);
    }
    return rcu_poll_cookie{ticket};
  }
};

template <class F>
void reclaimer_grace_period() noexcept {
  domain_internals<F>::worker_grace_period(basic_rcu_domain<F>::instance());
}
template void reclaimer_grace_period<rcu_flavor::memb>() noexcept;
template void reclaimer_grace_period<rcu_flavor::qsbr>() noexcept;
template void reclaimer_grace_period<rcu_flavor::mb>() noexcept;
template void reclaimer_grace_period<rcu_flavor::bp>() noexcept;

template <class F>
rcu_poll_cookie start_poll(basic_rcu_domain<F>& d) noexcept {
  return domain_internals<F>::start_poll(d);
}

// ---------------------------------------------------------------------------
// Retire backlog throttle

// Waiting is safe only if this thread holds up no grace period of any
// flavour: not inside a read-side section of memb, mb or bp, not online in
// QSBR, not a deleter. Otherwise a cycle is possible, e.g. a memb reader
// throttled on the mb worker while rcu_fork_guard waits for the memb worker,
// whose grace period waits for that reader.
namespace {
bool may_block_for_reclamation() noexcept {
  return !in_deleter && !rcu_flavor::memb::read_ongoing() && !rcu_flavor::mb::read_ongoing() &&
         !(rcu_flavor::bp::registered() && rcu_flavor::bp::read_ongoing()) && !rcu_flavor::qsbr::online();
}
}  // namespace

template <class F>
void throttle(basic_rcu_domain<F>& d) noexcept {
  if (!may_block_for_reclamation()) {
    d.overruns_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  d.throttled_.fetch_add(1, std::memory_order_relaxed);
  d.waiters_.fetch_add(1, std::memory_order_seq_cst);
  for (;;) {
    const std::size_t done = d.reclaimed_.load(std::memory_order_seq_cst);
    const std::size_t all = d.retired_.load(std::memory_order_relaxed);
    if (all <= done || all - done <= d.backlog_limit_.load(std::memory_order_relaxed)) break;
    d.reclaimed_.wait(done, std::memory_order_seq_cst);  // woken by reclaimed_one()
  }
  d.waiters_.fetch_sub(1, std::memory_order_relaxed);
}

// ---------------------------------------------------------------------------
// Double-retire tracking (checks builds)

namespace {
std::mutex& pending_mutex() {
  static std::mutex m;
  return m;
}
// Immortal, as registry(); replaced (the old one leaked) in a fork child,
// where another thread may have been inside it.
std::unordered_set<const void*>* pending_set_ptr = nullptr;
std::unordered_set<const void*>& pending_set() {
  if (pending_set_ptr == nullptr) pending_set_ptr = new std::unordered_set<const void*>;  // under pending_mutex
  return *pending_set_ptr;
}
}  // namespace

bool retire_track(const void* p, const char* what) noexcept {
  std::lock_guard lk(pending_mutex());
  bool inserted = false;
  try {
    inserted = pending_set().insert(p).second;
  } catch (const std::bad_alloc&) {
    return false;  // no memory for the check: retire untracked (the retire itself succeeds)
  }
  if (!inserted)
    fatal(what, "retire each object once; a second retire would run its deleter twice");
  return true;
}

void retire_untrack(const void* p) noexcept {
  std::lock_guard lk(pending_mutex());
  pending_set().erase(p);
}

// ---------------------------------------------------------------------------
// Exit: run every pending deleter, so that a program exiting with retired
// objects leaks nothing (liburcu 0.13.2 leaves them queued otherwise).

namespace {
template <class F>
void exit_barrier_for(unsigned used) {
  if (!(used & (1u << F::index))) return;
  // A registered, online QSBR main thread would hold up the barrier's grace
  // period: both barriers go offline by themselves while they wait.
  reclaimer_barrier<F>();
  if (liburcu_used(F::index)) F::barrier();
}
void exit_barrier() {
  drain_deferred_calls();
  const unsigned used = used_flavors.load(std::memory_order_acquire);
  exit_barrier_for<rcu_flavor::memb>(used);
  exit_barrier_for<rcu_flavor::qsbr>(used);
  exit_barrier_for<rcu_flavor::mb>(used);
  exit_barrier_for<rcu_flavor::bp>(used);
}
}  // namespace

void note_flavor_used(int index) noexcept {
  const unsigned bit = 1u << index;
  const unsigned prev = used_flavors.fetch_or(bit, std::memory_order_acq_rel);
  if (prev == 0) std::atexit(exit_barrier);
}

// ---------------------------------------------------------------------------
// call_rcu() deferred across rcu_fork_guard (see fork_pending in rcu_domain.hpp)

namespace {
// One lock-free stack per flavour, linked through the rcu_head's own queue
// link (liburcu writes it only inside call_rcu(), which these nodes have not
// reached); func holds the callback.
constinit std::atomic<rcu_head*> deferred_calls[4] = {};

rcu_head* deferred_next(rcu_head* h) noexcept { return reinterpret_cast<rcu_head*>(h->next.next); }

void call_for_flavor(int f, rcu_head* h, void (*fn)(rcu_head*)) noexcept {
  with_flavor(f, [&]<class F>(F) { reclaim_call<F>(h, fn); });
}

// Hands every deferred node to call_rcu(); any thread, any number at once
// (each exchange takes a disjoint list).
void drain_deferred_calls() noexcept {
  for (int f = 0; f < 4; ++f) {
    if (deferred_calls[f].load(std::memory_order_seq_cst) == nullptr) continue;
    for (rcu_head* h = deferred_calls[f].exchange(nullptr, std::memory_order_seq_cst); h != nullptr;) {
      rcu_head* next = deferred_next(h);
      void (*fn)(rcu_head*) = h->func;
      // As enqueue() does before call_rcu(): this thread's reads of the node
      // happen-before its deleter (ThreadSanitizer; liburcu is not instrumented).
      tsan_release(h);
      call_for_flavor(f, h, fn);
      h = next;
    }
  }
}
}  // namespace

// ---- fork slots ----

namespace {
constinit std::atomic<fork_slot*> fork_slots{nullptr};  // every slot ever made (immortal)
// Shared by threads whose slot could not be had (out of memory, or past
// their exit hook): busy counts them, with seq_cst RMWs (full fences).
constinit fork_slot shared_fork_slot{};
std::once_flag fork_fence_once;

long sys_membarrier(int cmd) noexcept { return syscall(__NR_membarrier, cmd, 0U, 0); }

void init_fork_fence() noexcept {
  std::call_once(fork_fence_once, [] {
    const long cmds = sys_membarrier(MEMBARRIER_CMD_QUERY);
    if (cmds < 0 || (cmds & MEMBARRIER_CMD_PRIVATE_EXPEDITED) == 0) return;
    if (sys_membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) != 0) return;
    fork_fence_asymmetric.store(true, std::memory_order_relaxed);
  });
}

// The guard's half: every thread running now executes a full fence.
void fork_heavy_fence() noexcept {
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (fork_fence_asymmetric.load(std::memory_order_relaxed) && sys_membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) != 0) {
    // A forked child must register again (EPERM); anything else leaves the
    // retirers' compiler-barrier path uncovered.
    const int err = errno;
    if (err != EPERM || sys_membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) != 0 ||
        sys_membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) != 0) {
      char what[160];
      std::snprintf(what, sizeof what, "membarrier(PRIVATE_EXPEDITED) failed in rcu_fork_guard: %s", std::strerror(err));
      fatal(what, "the kernel withdrew membarrier after quiesce registered for it; report this");
    }
  }
  std::atomic_thread_fence(std::memory_order_seq_cst);
}

// Gives the thread's slot back at thread exit; later retires of the thread
// (from other thread-local destructors) use the shared slot.
constinit thread_local bool tls_fork_slot_released = false;
struct fork_slot_release {
  fork_slot* slot = nullptr;
  ~fork_slot_release() {
    tls_fork_slot = nullptr;
    tls_fork_slot_released = true;
    if (slot != nullptr) slot->in_use.store(false, std::memory_order_release);
  }
};

// In a fork child: the slots of threads that did not survive are free and
// idle (one may have been marked busy mid-deferral at the fork).
void reset_fork_slots_in_child() noexcept {
  for (fork_slot* s = fork_slots.load(std::memory_order_acquire); s != nullptr; s = s->next) {
    if (s == tls_fork_slot) continue;
    s->busy.store(0, std::memory_order_relaxed);
    s->in_use.store(false, std::memory_order_relaxed);
  }
  shared_fork_slot.busy.store(0, std::memory_order_relaxed);
}

// Waits until no call_rcu() runs outside the fork exclusion; the caller has
// raised fork_pending and fenced.
void wait_fork_slots_idle() noexcept {
  for (fork_slot* s = fork_slots.load(std::memory_order_acquire); s != nullptr; s = s->next)
    while (s->busy.load(std::memory_order_acquire) != 0) std::this_thread::yield();
  while (shared_fork_slot.busy.load(std::memory_order_acquire) != 0) std::this_thread::yield();
}
}  // namespace

// The thread's own slot, or the shared one (out of memory, or the thread is
// past its exit hook). Only an own slot goes into tls_fork_slot.
fork_slot* claim_fork_slot() noexcept {
  init_fork_fence();
  if (tls_fork_slot_released) return &shared_fork_slot;
  fork_slot* s = nullptr;
  for (fork_slot* f = fork_slots.load(std::memory_order_acquire); f != nullptr && s == nullptr; f = f->next) {
    bool expected = false;
    if (!f->in_use.load(std::memory_order_relaxed) &&
        f->in_use.compare_exchange_strong(expected, true, std::memory_order_acquire, std::memory_order_relaxed))
      s = f;
  }
  if (s == nullptr) {
    s = new (std::nothrow) fork_slot;
    if (s == nullptr) return &shared_fork_slot;  // out of memory: the shared slot, correct and slower
    s->in_use.store(true, std::memory_order_relaxed);
    fork_slot* old = fork_slots.load(std::memory_order_relaxed);
    do {
      s->next = old;
    } while (!fork_slots.compare_exchange_weak(old, s, std::memory_order_release, std::memory_order_relaxed));
  }
  try {
    thread_local fork_slot_release release;
    release.slot = s;
  } catch (...) {
    s->in_use.store(false, std::memory_order_release);
    return &shared_fork_slot;
  }
  tls_fork_slot = s;
  return s;
}

// enqueue()'s slow path: the thread's first retire, the shared slot, or no
// membarrier (a seq_cst RMW orders busy before the fork_pending load).
void call_rcu_fork_safe_slow(fork_slot* s, int flavor_index, rcu_head* head, void (*fn)(rcu_head*)) noexcept {
  if (s == nullptr) {
    s = claim_fork_slot();
    stall_watch_ensure();  // a thread's first retire: reclamation can stall from now on
  }
  s->busy.fetch_add(1, std::memory_order_seq_cst);
  if (fork_pending.load(std::memory_order_seq_cst) == 0) {
    call_for_flavor(flavor_index, head, fn);
  } else {
    defer_call_until_fork_done(flavor_index, head, fn);
  }
  s->busy.fetch_sub(1, std::memory_order_release);
}

void defer_call_until_fork_done(int flavor_index, rcu_head* head, void (*fn)(rcu_head*)) noexcept {
  head->func = fn;
  auto& top = deferred_calls[flavor_index];
  rcu_head* old = top.load(std::memory_order_relaxed);
  do {
    head->next.next = reinterpret_cast<cds_wfcq_node*>(old);
  } while (!top.compare_exchange_weak(old, head, std::memory_order_seq_cst, std::memory_order_relaxed));
  // The last guard lowers fork_pending to 0, then drains (both seq_cst); we pushed,
  // then re-read the flag: either its drain sees our node, or we see the
  // flag cleared and drain ourselves. Still marked busy, so a next fork's
  // guard waits for this drain.
  if (fork_pending.load(std::memory_order_seq_cst) == 0) drain_deferred_calls();
}

// ---------------------------------------------------------------------------
// Workers

void validate_worker_cpu(int cpu) {
  if (cpu < 0) return;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (cpu >= CPU_SETSIZE || sched_getaffinity(0, sizeof set, &set) != 0 || !CPU_ISSET(cpu, &set))
    throw std::invalid_argument("quiesce: call_rcu worker: CPU " + std::to_string(cpu) +
                                " does not exist or is not in this process's affinity mask");
}

void pin_thread(pthread_t t, int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  if (const int err = pthread_setaffinity_np(t, sizeof set, &set); err != 0)
    throw std::system_error(err, std::generic_category(),
                            "quiesce: cannot pin call_rcu worker to CPU " + std::to_string(cpu));
}

#define QUIESCE_INSTANTIATE(F)                                              \
  template void register_implicitly<F>() noexcept;                          \
  template void registration_acquire<F>() noexcept;                         \
  template void registration_release<F>() noexcept;                         \
  template void synchronize<F>(basic_rcu_domain<F>&) noexcept;              \
  template void barrier<F>(basic_rcu_domain<F>&) noexcept;                  \
  template rcu_poll_cookie start_poll<F>(basic_rcu_domain<F>&) noexcept;    \
  template void throttle<F>(basic_rcu_domain<F>&) noexcept;                 \

QUIESCE_INSTANTIATE(rcu_flavor::memb)
QUIESCE_INSTANTIATE(rcu_flavor::qsbr)
QUIESCE_INSTANTIATE(rcu_flavor::mb)
QUIESCE_INSTANTIATE(rcu_flavor::bp)
#undef QUIESCE_INSTANTIATE

}  // namespace quiesce::detail::rcu

namespace quiesce {

// ---------------------------------------------------------------------------
// per_cpu_call_rcu_workers

template <class Domain>
per_cpu_call_rcu_workers<Domain>::per_cpu_call_rcu_workers(bool realtime) {
  detail::rcu::note_flavor_used(F::index);
  if (F::create_all_cpu_call_rcu_data(realtime ? URCU_CALL_RCU_RT : 0UL) != 0) {
    const int err = errno;
    F::free_all_cpu_call_rcu_data();
    throw std::system_error(err, std::generic_category(),
                            std::string("quiesce: cannot create per-CPU call_rcu workers for the ") + F::name +
                                " domain");
  }
  detail::rcu::liburcu_per_cpu[F::index].fetch_add(1, std::memory_order_seq_cst);  // every thread's retires go there now
}

template <class Domain>
per_cpu_call_rcu_workers<Domain>::~per_cpu_call_rcu_workers() {
  // liburcu waits for a grace period inside: must not be in a read-side section.
  detail::rcu::require_outside_read_section<F>("per_cpu_call_rcu_workers destroyed inside a read-side section (deadlock)",
                                               "destroy it outside any rcu_read_guard");
  detail::rcu::liburcu_per_cpu[F::index].fetch_sub(1, std::memory_order_seq_cst);
  F::free_all_cpu_call_rcu_data();
}

template class per_cpu_call_rcu_workers<rcu_domain>;
template class per_cpu_call_rcu_workers<rcu_qsbr_domain>;
template class per_cpu_call_rcu_workers<rcu_mb_domain>;
template class per_cpu_call_rcu_workers<rcu_bp_domain>;

// ---------------------------------------------------------------------------
// fork

namespace {
template <class F>
bool in_use(unsigned used) {
  return (used & (1u << F::index)) != 0;
}

// call_rcu's fork handlers only for flavours whose workers may exist; bp's
// registry handlers always (its readers register without quiesce knowing).
template <class F>
void for_flavor_prepare(unsigned used) {
  detail::rcu::gp_gate(F::index).lock();
  if (in_use<F>(used)) F::before_fork();
  if constexpr (std::is_same_v<F, rcu_flavor::bp>) F::registry_before_fork();
}
// liburcu's parent handlers; the gates stay locked (see the destructor).
template <class F>
void for_flavor_parent(unsigned used) {
  if constexpr (std::is_same_v<F, rcu_flavor::bp>) F::registry_after_fork_parent();
  if (in_use<F>(used)) F::after_fork_parent();
}
template <class F>
void for_flavor_child(unsigned used) {
  if constexpr (std::is_same_v<F, rcu_flavor::bp>) F::registry_after_fork_child();
  if (in_use<F>(used)) F::after_fork_child();
  // The child's thread has a new TID: glibc's rwlock would not accept its
  // unlock of the parent's write lock. Nothing else can hold it: start afresh.
  new (&detail::rcu::gp_gate(F::index)) std::shared_mutex;
}
}  // namespace

rcu_fork_guard::rcu_fork_guard() noexcept : parent_(::getpid()), qsbr_was_online_(rcu_flavor::qsbr::online()) {
  if (rcu_flavor::memb::read_ongoing() || rcu_flavor::mb::read_ongoing() ||
      (rcu_flavor::bp::registered() && rcu_flavor::bp::read_ongoing()) || detail::rcu::qsbr_guard_depth != 0)
    detail::rcu::fatal("rcu_fork_guard created inside a read-side section",
                       "fork outside any rcu_read_guard");
  // An online QSBR thread would hold up the grace periods that the gates and
  // liburcu's before-fork handlers wait for: offline for the whole fork (a
  // quiescent state, as any blocking call in QSBR should be).
  if (qsbr_was_online_) {
    rcu_qsbr_domain::tsan_reader_done();
    rcu_flavor::qsbr::thread_offline();
  }
  // Lazily built state that a retirer may be building right now: finished
  // before the fork (a child would wait forever on its half-done
  // initialisation), and its fork handlers installed.
  detail::rcu::stall_init();
  // No call_rcu() may be half done at the fork (see detail::rcu::fork_slot):
  // from here on retires defer their nodes; wait for those already inside
  // call_rcu(). The fence mode is fixed first (a retirer may be choosing it).
  detail::rcu::init_fork_fence();
  detail::rcu::fork_pending.fetch_add(1, std::memory_order_seq_cst);
  detail::rcu::fork_heavy_fence();
  detail::rcu::wait_fork_slots_idle();
  // The flavours whose liburcu fork handlers run, read once so that prepare,
  // parent and child handlers pair up (a first retire racing the guard may
  // set a bit; after the wait above, no call_rcu() of a flavour missing here
  // can be in progress or start before the fork).
  used_ = detail::rcu::used_flavors.load(std::memory_order_acquire);
  // quiesce's reclaimer threads finish their batch and wait, before the
  // gates (a barrier waiting for them holds none).
  detail::rcu::reclaimers_pause_for_fork();
  // Lock order: gates (memb, qsbr, mb, bp), then the registry. The
  // double-retire tracker's mutex is not held: a child replaces it (retires
  // keep going meanwhile).
  for_flavor_prepare<rcu_flavor::memb>(used_);
  for_flavor_prepare<rcu_flavor::qsbr>(used_);
  for_flavor_prepare<rcu_flavor::mb>(used_);
  for_flavor_prepare<rcu_flavor::bp>(used_);
  detail::rcu::registry_mutex().lock();
  detail::rcu::in_fork_guard = true;
}

rcu_fork_guard::~rcu_fork_guard() {
  detail::rcu::in_fork_guard = false;
  if (::getpid() == parent_) {
    detail::rcu::registry_mutex().unlock();
    for_flavor_parent<rcu_flavor::bp>(used_);
    for_flavor_parent<rcu_flavor::mb>(used_);
    for_flavor_parent<rcu_flavor::qsbr>(used_);
    for_flavor_parent<rcu_flavor::memb>(used_);
    // Deferred retires go to call_rcu() before the gates open: another
    // guard cannot fork, nor a barrier return, in between.
    if (detail::rcu::fork_pending.fetch_sub(1, std::memory_order_seq_cst) == 1) detail::rcu::drain_deferred_calls();
    unlock_gates();
    detail::rcu::reclaimers_resume_after_fork();
    if (qsbr_was_online_) rcu_flavor::qsbr::thread_online();
    return;
  }
  // Child: only this thread exists. The other threads' reader records are
  // still linked in liburcu's registries, and may say "inside a read-side
  // section" (memb/mb) or "online" (qsbr). Worse, glibc reuses dead threads'
  // stacks and TLS for threads created in the child, so a new thread would
  // register a record that is already linked (list corruption). Unlink them,
  // as their threads' unregistration would have. Safe: no other thread runs,
  // and the fork guard kept every quiesce registration and grace period (the
  // users of liburcu's registry lock) out of the critical window.
  auto& r = detail::rcu::registry();
  const pthread_t self = pthread_self();
  std::vector<detail::rcu::registry_entry> kept;
  for (const auto& e : r) {
    if (pthread_equal(e.thread, self))
      kept.push_back(e);
    else {
      *e.reader_ctr = 0;
      cds_list_del(e.reader_node);
    }
  }
  r.swap(kept);
  new (&detail::rcu::registry_mutex()) std::mutex;  // as for the gates, see for_flavor_child
  // Another thread may have been inside the double-retire tracker at the
  // fork: a fresh mutex and set (the old set is leaked; its pointers'
  // deleters still run, and untracking a pointer it lacks is a no-op).
  new (&detail::rcu::pending_mutex()) std::mutex;
  detail::rcu::pending_set_ptr = nullptr;
  detail::rcu::reset_fork_slots_in_child();
  detail::rcu::reclaimers_reset_in_child();  // also done by its pthread_atfork handler; here for clarity
  for_flavor_child<rcu_flavor::bp>(used_);
  for_flavor_child<rcu_flavor::mb>(used_);
  for_flavor_child<rcu_flavor::qsbr>(used_);
  for_flavor_child<rcu_flavor::memb>(used_);
  // Nodes the parent's threads deferred during the fork are retired objects
  // in the child's memory too: hand them to the child's workers.
  detail::rcu::fork_pending.store(0, std::memory_order_seq_cst);  // no other guard exists in the child
  detail::rcu::drain_deferred_calls();
  if (qsbr_was_online_) rcu_flavor::qsbr::thread_online();
}

void rcu_fork_guard::unlock_gates() noexcept {
  detail::rcu::gp_gate(rcu_flavor::bp::index).unlock();
  detail::rcu::gp_gate(rcu_flavor::mb::index).unlock();
  detail::rcu::gp_gate(rcu_flavor::qsbr::index).unlock();
  detail::rcu::gp_gate(rcu_flavor::memb::index).unlock();
}

pid_t rcu_fork() noexcept {
  rcu_fork_guard g;
  return ::fork();
}

}  // namespace quiesce
