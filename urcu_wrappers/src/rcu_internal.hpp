// urcu_wrappers/src/rcu_internal.hpp — what rcu_domain.cpp and rcu_stall.cpp
// share: the registry of threads registered through quiesce, and the stall
// detector's hooks. Not installed.
#ifndef QUIESCE_URCU_WRAPPERS_SRC_RCU_INTERNAL_HPP
#define QUIESCE_URCU_WRAPPERS_SRC_RCU_INTERNAL_HPP

#include <pthread.h>
#include <sys/types.h>

#include <chrono>
#include <mutex>
#include <vector>

#include <quiesce/rcu.hpp>
#include <quiesce/rcu/stall.hpp>

namespace quiesce::detail::rcu {

// One thread registered with one flavour through quiesce (memb, qsbr, mb;
// bp keeps its own records). Entries are added after liburcu's registration
// and removed before its unregistration, under registry_mutex(): while the
// mutex is held, reader_ctr points at a live thread's reader word.
struct registry_entry {
  int flavor;
  pthread_t thread;
  pid_t tid;                   // gettid(), for reports
  unsigned long* reader_ctr;   // liburcu's per-thread reader counter
  cds_list_head* reader_node;  // its link in liburcu's registry of readers
};
std::mutex& registry_mutex();
std::vector<registry_entry>& registry();  // immortal
// True in the thread that holds an rcu_fork_guard (which holds
// registry_mutex() across fork()): the stall detector's fork handlers must
// then leave that mutex alone.
inline constinit thread_local bool in_fork_guard = false;

// Calls fn(F{}) for the flavour whose index is f: the one place that turns a
// run-time flavour index into the flavour type.
template <class Fn>
decltype(auto) with_flavor(int f, Fn&& fn) {
  switch (f) {
    case rcu_flavor::memb::index: return fn(rcu_flavor::memb{});
    case rcu_flavor::qsbr::index: return fn(rcu_flavor::qsbr{});
    case rcu_flavor::mb::index: return fn(rcu_flavor::mb{});
    default: return fn(rcu_flavor::bp{});
  }
}

// ---- quiesce's reclaimer (rcu_reclaimer.cpp; see reclaim_queue in rcu_domain.hpp) ----

// Waits until every deleter handed to flavour F's worker before the call has
// run (a marker behind them; the worker's batching pause is cut short).
// Holds no lock while it waits; an online QSBR caller goes offline meanwhile.
template <class F> void reclaimer_barrier() noexcept;
// True once some retire of flavour f went to liburcu's call_rcu (a
// call_rcu_worker or per-CPU workers): barriers then also need liburcu's.
bool liburcu_used(int f) noexcept;
// rcu_fork_guard: the workers finish their batch and wait (before the guard
// takes the gates), go on in the parent, are gone in the child (the next
// retire or barrier starts one).
void reclaimers_pause_for_fork() noexcept;
void reclaimers_resume_after_fork() noexcept;
void reclaimers_reset_in_child() noexcept;
// The worker's grace period (rcu_domain.cpp): F's synchronize, then the
// polled cookies it covers, and ThreadSanitizer's edge from every reader.
template <class F> void reclaimer_grace_period() noexcept;

// ---- stall detector (rcu_stall.cpp) ----

// Starts the watchdog if the detector is enabled and this process has none
// yet (first use, or first use after fork). Cheap when it runs: one relaxed
// load and a compare with getpid() cached per process.
void stall_watch_ensure() noexcept;

// Makes sure the detector's state exists (and its fork handlers are
// installed). rcu_fork_guard calls it before fork(): a child must not inherit
// that lazily built state half-built by another thread (its initialisation
// guard would then block the child forever).
void stall_init() noexcept;

// An in-flight synchronize() or barrier() of one flavour, visible to the
// watchdog for the scope's lifetime. One mutex lock/unlock on entry and exit
// while the detector is enabled; one relaxed load while it is disabled.
class stall_wait_scope {
 public:
  stall_wait_scope(int flavor, rcu_stall_report::wait_kind kind) noexcept;
  ~stall_wait_scope();
  stall_wait_scope(const stall_wait_scope&) = delete;
  stall_wait_scope& operator=(const stall_wait_scope&) = delete;

  // Intrusive list links and data, read by the watchdog under the flavour's mutex.
  stall_wait_scope* prev = nullptr;
  stall_wait_scope* next = nullptr;
  int flavor;
  rcu_stall_report::wait_kind kind;
  std::chrono::steady_clock::time_point start{};
  bool linked = false;  // listed (the detector was enabled when the wait began)
};

}  // namespace quiesce::detail::rcu

#endif  // QUIESCE_URCU_WRAPPERS_SRC_RCU_INTERNAL_HPP
