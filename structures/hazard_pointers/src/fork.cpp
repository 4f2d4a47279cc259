// fork.cpp — the hazard pointers' pthread_atfork handlers.
// (hp_internal.hpp lists the hazard-pointer sources.)

#include "hp_internal.hpp"

namespace quiesce {

namespace detail::hp {

// ---- fork ---------------------------------------------------------------------
//
// fork() copies only the calling thread. Before it, every domain's mutexes
// (and the stall detector's) are taken, so the child inherits none held by
// a thread that is gone; numa's pool handlers run after ours (installed
// first), since a record claim holds a domain mutex while it allocates from
// a pool. In the child: scans that were running in other threads are gone
// (their `scanning` flags and the active-scan count are reset; the objects
// they had taken stay unreclaimed in the child: a bounded leak of the
// child's copy), reclaimer threads are gone (async mode is off; start it
// again if wanted), and records cached by threads that are gone stay in
// use. Everything else — protect, retire, scans, cleanup — works.
namespace {
std::once_flag fork_once;

void fork_prepare() noexcept {
  registry_mu.lock();
  for (domain_impl* im : live_impls()) {
    im->async_mu.lock();
    im->stall_mu.lock();
    for (int n = 0; n < im->slots; ++n) im->records[n].mu.lock();
  }
  stall_cfg().mu.lock();
}

void fork_parent() noexcept {
  stall_cfg().mu.unlock();
  for (domain_impl* im : live_impls()) {
    for (int n = im->slots - 1; n >= 0; --n) im->records[n].mu.unlock();
    im->stall_mu.unlock();
    im->async_mu.unlock();
  }
  registry_mu.unlock();
}

void fork_child() noexcept {
  const pid_t me = this_thread_tid();  // the parent thread's tid, as its records say
  tls_tid = static_cast<pid_t>(::gettid());
  // glibc refuses an unlock by a thread other than the locker (the child's
  // thread has a new TID): start the mutexes afresh.
  new (&stall_cfg().mu) std::mutex;
  for (domain_impl* im : live_impls()) {
    new (&im->async_mu) std::mutex;
    new (&im->stall_mu) std::mutex;
    for (int n = 0; n < im->slots; ++n) {
      new (&im->records[n].mu) std::mutex;
      im->retired[n].scanning.store(false, std::memory_order_relaxed);
    }
    im->ctr.active_scans.store(0, std::memory_order_relaxed);
    im->ctr.async_on.store(false, std::memory_order_relaxed);
    // Records claimed by threads that are gone: nothing they protected is
    // protected any more, and the records are free (this thread's own, in
    // its cache or its hazard_pointers, stay as they are).
    for (int n = 0; n < im->slots; ++n) {
      for (record* r = im->records[n].head.load(std::memory_order_relaxed); r != nullptr; r = r->next) {
        if (r->owner_tid.load(std::memory_order_relaxed) == me) continue;
        r->ptr.store(nullptr, std::memory_order_relaxed);
        if (r->in_use.load(std::memory_order_relaxed)) release_to_domain(r);
      }
      im->stall_by_node[static_cast<std::size_t>(n)].clear();
      im->retired[n].stall_watch.store(false, std::memory_order_relaxed);
    }
    im->stall_limit.clear();
    for (auto& w : im->workers) (void)w.release();  // their threads did not survive the fork
    im->workers.clear();
  }
  new (&registry_mu) std::mutex;
}

}  // namespace

// Called at load (below) and by every domain's construction, in case memory
// ran out at load. Throws std::bad_alloc or std::system_error (the call is
// then retried by the next domain's construction). std::call_once is pthread_once, which a fork child
// restarts if a thread was inside it.
void install_fork_handlers() {
  std::call_once(fork_once, [] {
    numa::detail::install_fork_handlers();  // first: its prepare handler must run after ours
    if (const int err = pthread_atfork(fork_prepare, fork_parent, fork_child); err != 0)
      throw std::system_error(err, std::generic_category(), "quiesce: hazard pointers: pthread_atfork");
  });
}

namespace {
// At load, when no other thread can be inside a domain's construction
// (quiesce/base/fork_safe.hpp).
[[maybe_unused]] const bool g_fork_handlers_at_load = [] {
  try {
    install_fork_handlers();
    return true;
  } catch (...) {
    return false;
  }
}();
}  // namespace

}  // namespace detail::hp

}  // namespace quiesce
