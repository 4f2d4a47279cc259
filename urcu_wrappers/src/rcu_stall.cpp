// urcu_wrappers/src/rcu_stall.cpp — the grace-period stall detector
// (quiesce/rcu/stall.hpp): its watchdog thread, the in-flight wait lists,
// holder identification from liburcu's reader words, the default report.
//
// After the Linux kernel's RCU CPU stall warnings (kernel/rcu/tree_stall.h,
// Documentation/RCU/stallwarn.rst): warn once a grace period is older than
// a timeout, name what holds it, re-warn at a slower rate.
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <type_traits>

#include <quiesce/base/fork_safe.hpp>
#include <quiesce/base/stall.hpp>

#include "rcu_internal.hpp"

namespace quiesce {

namespace detail::rcu {
namespace {

using clock = std::chrono::steady_clock;

// ---- in-flight synchronize()/barrier() calls, one list per flavour ----

struct wait_list {
  std::mutex mu;
  stall_wait_scope* head = nullptr;
};
// Constant-initialised, never destroyed (waits may run during exit): no
// guard a fork could leave held (quiesce/base/fork_safe.hpp).
constinit base::immortal<wait_list[4]> g_wait_lists;
wait_list* wait_lists() { return g_wait_lists.value; }

// ---- the detector's configuration and watchdog ----

struct detector {
  std::mutex mu;  // guards everything below but the atomics
  std::condition_variable cv;
  rcu_stall_options opts;
  bool enabled = true;
  std::uint64_t config_gen = 0;         // bumped by configure/disable: wakes the watchdog
  std::atomic<bool> on{true};            // mirror of `enabled`, for lock-free reads
  std::atomic<bool> started{false};      // this process has a watchdog (reset in a fork child)
  std::atomic<int> running{0};           // 1 once the watchdog thread runs watchdog_main (see start_watchdog_locked)
  std::atomic<std::uint64_t> reports{0};
};

// QUIESCE_RCU_STALL_TIMEOUT_MS: the timeout in ms, 0 to turn the detector
// off; a value that is not a whole number of ms is reported and ignored.
void apply_environment(detector& d) {
  const auto ms = base::stall_timeout_ms_from_env("QUIESCE_RCU_STALL_TIMEOUT_MS", "stall detector",
                                                  static_cast<long long>(d.opts.timeout.count()));
  if (!ms) return;
  if (*ms == 0) {
    d.enabled = false;
    d.on.store(false, std::memory_order_relaxed);
  } else {
    d.opts.timeout = std::chrono::milliseconds(*ms);
  }
}

void before_fork() noexcept;
void after_fork_parent() noexcept;
void after_fork_child() noexcept;

// Built on first use and published without a guard (a fork child must never
// wait for a dead thread's initialiser: quiesce/base/fork_safe.hpp); immortal:
// the watchdog is detached and runs until exit. The fork handlers are
// registered at load (below).
constinit base::published_once<detector> g_detector;
detector& det() {
  return g_detector.get([] {
    auto p = std::make_unique<detector>();
    apply_environment(*p);
    return p;
  });
}

std::string format_duration(std::chrono::nanoseconds ns) {
  char buf[32];
  const double s = std::chrono::duration<double>(ns).count();
  if (s >= 1.0)
    std::snprintf(buf, sizeof buf, "%.1f s", s);
  else
    std::snprintf(buf, sizeof buf, "%.0f ms", s * 1e3);
  return buf;
}

const char* kind_name(rcu_stall_report::wait_kind k) {
  switch (k) {
    case rcu_stall_report::wait_kind::synchronize: return "rcu_synchronize";
    case rcu_stall_report::wait_kind::barrier: return "rcu_barrier";
    case rcu_stall_report::wait_kind::reclaim: return "reclamation (the reclaimer's grace period)";
  }
  return "?";
}

void default_handler(const rcu_stall_report& r) { base::write_report_line(to_string(r)); }

// liburcu's own test (urcu_common_reader_state / urcu_qsbr_reader_state):
// true if the reader word says "holds up the grace period in progress".
template <class F>
bool holds_grace_period(const unsigned long* ctr) noexcept {
  const unsigned long v = __atomic_load_n(ctr, __ATOMIC_RELAXED);
  if constexpr (std::is_same_v<F, rcu_flavor::qsbr>) {
    return v != 0 && v != __atomic_load_n(&urcu_qsbr_gp.ctr, __ATOMIC_RELAXED);
  } else {
    const unsigned long gp = std::is_same_v<F, rcu_flavor::memb> ? __atomic_load_n(&urcu_memb_gp.ctr, __ATOMIC_RELAXED)
                                                                  : __atomic_load_n(&urcu_mb_gp.ctr, __ATOMIC_RELAXED);
    return (v & URCU_GP_CTR_NEST_MASK) != 0 && ((v ^ gp) & URCU_GP_CTR_PHASE) != 0;
  }
}

// The watchdog's state for one flavour (owned by the watchdog thread).
struct flavor_watch {
  struct seen {
    const unsigned long* ctr;
    clock::time_point since;
  };
  std::vector<seen> holders;                 // threads seen holding the grace period, and since when
  std::uint64_t last_reclaimed = 0;          // deleters run at the last check
  std::optional<clock::time_point> no_progress_since;  // outstanding > 0 and no deleter ran since then
  base::stall_rate_limit limit;  // the stall being reported (its wait's start) and its rate limit
};

// Looks for a stall of flavour F; reports it through opts.handler, rate-limited.
template <class F>
void check_flavor(flavor_watch& w, clock::time_point now, const rcu_stall_options& opts, detector& d) {
  auto& dom = basic_rcu_domain<F>::instance();
  // The oldest in-flight synchronize()/barrier().
  std::optional<clock::time_point> oldest;
  rcu_stall_report::wait_kind kind = rcu_stall_report::wait_kind::synchronize;
  {
    wait_list& wl = wait_lists()[F::index];
    std::lock_guard lk(wl.mu);
    for (const stall_wait_scope* s = wl.head; s != nullptr; s = s->next) {
      if (!oldest || s->start < *oldest) {
        oldest = s->start;
        kind = s->kind;
      }
    }
  }
  // Reclamation progress: retired objects pending and no deleter run.
  const rcu_domain_stats st = dom.stats();
  if (st.outstanding > 0 && w.no_progress_since && st.reclaimed == w.last_reclaimed) {
    // still no progress
  } else {
    w.last_reclaimed = st.reclaimed;
    w.no_progress_since.reset();
    if (st.outstanding > 0) w.no_progress_since = now;
  }
  if (w.no_progress_since && (!oldest || *w.no_progress_since < *oldest)) {
    oldest = w.no_progress_since;
    kind = rcu_stall_report::wait_kind::reclaim;
  }

  // Holders: sampled on every check while some grace period is waited for,
  // so that blocking_for is known to one check interval by the time a stall
  // is reported. Not known for bp (liburcu keeps its records).
  if constexpr (!std::is_same_v<F, rcu_flavor::bp>) {
    if (oldest) {
      // The lock first: `next` (the old holders after the swap) is freed
      // under it too, so no allocator call of this thread spans a fork
      // (rcu_fork_guard and before_fork hold the registry mutex across it).
      std::lock_guard lk(registry_mutex());
      std::vector<flavor_watch::seen> next;
      for (const registry_entry& e : registry()) {
        if (e.flavor != F::index || !holds_grace_period<F>(e.reader_ctr)) continue;
        auto it = std::find_if(w.holders.begin(), w.holders.end(),
                               [&](const flavor_watch::seen& s) { return s.ctr == e.reader_ctr; });
        next.push_back({e.reader_ctr, it != w.holders.end() ? it->since : now});
      }
      w.holders.swap(next);
    } else {
      w.holders.clear();
    }
  }

  if (!oldest || now - *oldest < opts.timeout) {
    w.limit.clear();
    return;
  }
  std::uint64_t held_back = 0;
  if (!w.limit.admit(*oldest, now, base::stall_report_interval(opts.report_interval, opts.timeout), held_back)) return;
  rcu_stall_report r;
  r.flavor = F::name;
  r.waiting = kind;
  r.waited = now - *oldest;
  r.outstanding = st.outstanding;
  r.suppressed = held_back;
  {
    std::lock_guard lk(registry_mutex());  // tids only: names are read after the lock
    for (const registry_entry& e : registry()) {
      if (e.flavor != F::index) continue;
      for (const auto& s : w.holders) {
        if (s.ctr == e.reader_ctr) r.holders.push_back({e.tid, {}, now - s.since});
      }
    }
  }
  // A holder that exits meanwhile reads as "?" (its /proc entry is gone).
  for (auto& h : r.holders) h.name = base::thread_name(h.tid);
  d.reports.fetch_add(1, std::memory_order_relaxed);
  try {
    if (opts.handler)
      opts.handler(r);
    else
      default_handler(r);
  } catch (...) {
    fatal("an RCU stall handler threw an exception",
          "stall handlers run on quiesce's watchdog thread; catch inside the handler");
  }
}

void watchdog_main() {
  detector& d = det();
  d.running.store(1, std::memory_order_seq_cst);  // past the thread's start-up: see start_watchdog_locked
  d.running.notify_all();
  flavor_watch watches[4];
  std::uint64_t seen_gen = 0;
  std::unique_lock lk(d.mu);
  for (;;) {
    if (!d.enabled) {
      d.cv.wait(lk, [&] { return d.enabled; });
      for (auto& w : watches) w = flavor_watch{};
    }
    // A quarter of the timeout, in [10 ms, 1 s].
    const auto period = std::clamp<std::chrono::milliseconds>(d.opts.timeout / 4, std::chrono::milliseconds(10),
                                                              std::chrono::milliseconds(1000));
    d.cv.wait_for(lk, period, [&] { return d.config_gen != seen_gen; });
    seen_gen = d.config_gen;
    if (!d.enabled) continue;
    const rcu_stall_options opts = d.opts;
    lk.unlock();
    const auto now = clock::now();
    check_flavor<rcu_flavor::memb>(watches[rcu_flavor::memb::index], now, opts, d);
    check_flavor<rcu_flavor::qsbr>(watches[rcu_flavor::qsbr::index], now, opts, d);
    check_flavor<rcu_flavor::mb>(watches[rcu_flavor::mb::index], now, opts, d);
    check_flavor<rcu_flavor::bp>(watches[rcu_flavor::bp::index], now, opts, d);
    lk.lock();
  }
}

// Starts the watchdog; the caller holds d.mu and has checked !d.started.
// Signals are blocked in the watchdog (a process-directed signal must not
// land on it), which also makes it invisible to handlers installed later.
// Returns once the new thread runs watchdog_main: its start-up (glibc's and
// a sanitizer's: AddressSanitizer's calls malloc and free, and GCC 12's
// allocator has no fork handler) must not overlap a fork, which would leave
// the child an allocator lock that no thread of it holds. Holding d.mu until
// then keeps any fork out (the prepare handler takes d.mu) without
// rcu_fork_guard's help.
void start_watchdog_locked(detector& d) {
  d.running.store(0, std::memory_order_seq_cst);
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  std::thread t;
  try {
    t = std::thread(watchdog_main);
  } catch (...) {
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
    throw;
  }
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  pthread_setname_np(t.native_handle(), "quiesce-rcu-wd");
  t.detach();
  d.running.wait(0, std::memory_order_seq_cst);
  d.started.store(true, std::memory_order_release);
}

// pthread_atfork handlers. The watchdog takes these mutexes only briefly and
// none while holding another; glibc takes its malloc locks after the prepare
// handlers, so a holder allocating meanwhile finishes and lets go.
// The watchdog also takes quiesce's registry mutex: taken here too, unless
// the forking thread holds it already (inside rcu_fork_guard).
// The detector exists only once some thread used RCU: the handlers work on
// the one the prepare handler saw (per forking thread: two threads may fork
// at once, the second waiting in the prepare handler for the first).
thread_local detector* tl_fork_detector = nullptr;

void before_fork() noexcept {
  tl_fork_detector = g_detector.peek();
  if (tl_fork_detector != nullptr) tl_fork_detector->mu.lock();
  for (int f = 0; f < 4; ++f) wait_lists()[f].mu.lock();
  if (!in_fork_guard) registry_mutex().lock();
}

void after_fork_parent() noexcept {
  if (!in_fork_guard) registry_mutex().unlock();
  for (int f = 3; f >= 0; --f) wait_lists()[f].mu.unlock();
  if (tl_fork_detector != nullptr) tl_fork_detector->mu.unlock();
}

void after_fork_child() noexcept {
  // Only the forking thread survived: the watchdog is gone, and glibc would
  // refuse this thread's unlock of mutexes its parent thread locked (owner
  // TID). Start afresh; the next synchronize, barrier or registration in the
  // child starts a new watchdog.
  for (int f = 0; f < 4; ++f) {
    new (&wait_lists()[f].mu) std::mutex;
    wait_lists()[f].head = nullptr;  // waits in flight were other threads': gone
  }
  if (!in_fork_guard) new (&registry_mutex()) std::mutex;  // (the guard renews it itself)
  // A detector published after the prepare handler looked was not locked,
  // and its builder (which held none of its mutexes) is gone: renew it too.
  if (detector* d = g_detector.peek()) {
    new (&d->mu) std::mutex;
    new (&d->cv) std::condition_variable;
    d->started.store(false, std::memory_order_relaxed);
  }
}

// At load, when no other thread can be inside the registration: every fork(),
// with or without rcu_fork_guard, must not leave the child a mutex held by
// the watchdog, which does not survive. Fails only for want of memory.
[[maybe_unused]] const int g_fork_handlers = pthread_atfork(before_fork, after_fork_parent, after_fork_child);

}  // namespace

void stall_init() noexcept {
  (void)det();
  (void)wait_lists();
}

void stall_watch_ensure() noexcept {
  detector& d = det();
  if (d.started.load(std::memory_order_acquire) || !d.on.load(std::memory_order_relaxed)) return;
  std::lock_guard lk(d.mu);
  if (d.started.load(std::memory_order_relaxed) || !d.enabled) return;
  try {
    start_watchdog_locked(d);
  } catch (...) {
    // Out of threads: the program goes on without stall warnings; say so once.
    static std::atomic<bool> warned{false};
    if (!warned.exchange(true))
      std::fprintf(stderr, "quiesce: warning: cannot start the RCU stall detector's thread; stalls will not be reported\n");
  }
}

stall_wait_scope::stall_wait_scope(int f, rcu_stall_report::wait_kind k) noexcept : flavor(f), kind(k) {
  // Disabled: not listed (a wait in flight when the detector is enabled
  // again is not watched; the next one is).
  if (!det().on.load(std::memory_order_relaxed)) return;
  linked = true;
  start = clock::now();
  stall_watch_ensure();
  wait_list& wl = wait_lists()[flavor];
  std::lock_guard lk(wl.mu);
  next = wl.head;
  if (next != nullptr) next->prev = this;
  wl.head = this;
}

stall_wait_scope::~stall_wait_scope() {
  if (!linked) return;
  wait_list& wl = wait_lists()[flavor];
  std::lock_guard lk(wl.mu);
  if (prev != nullptr)
    prev->next = next;
  else
    wl.head = next;
  if (next != nullptr) next->prev = prev;
}

}  // namespace detail::rcu

std::string to_string(const rcu_stall_report& r) {
  std::string s = "quiesce: rcu stall: ";
  s += r.flavor;
  s += " grace period waited ";
  s += detail::rcu::format_duration(r.waited);
  s += " (";
  s += detail::rcu::kind_name(r.waiting);
  s += ")";
  if (r.holders.empty()) {
    s += std::strcmp(r.flavor, "bp") == 0 ? "; holders unknown (bp readers are not tracked by quiesce)"
                                         : "; no registered thread found holding it (readers registered "
                                           "directly through liburcu are not tracked)";
  } else {
    s += "; " + std::to_string(r.holders.size()) + (r.holders.size() == 1 ? " holder:" : " holders:");
    for (std::size_t i = 0; i < r.holders.size(); ++i) {
      const auto& h = r.holders[i];
      s += i == 0 ? " " : ", ";
      s += "tid " + std::to_string(h.tid) + " \"" + h.name + "\" " +
           (std::strcmp(r.flavor, "qsbr") == 0 ? "without a quiescent state" : "inside a read-side section") +
           " for >= " + detail::rcu::format_duration(h.blocking_for);
    }
  }
  s += "; " + std::to_string(r.outstanding) + " retired objects not reclaimed";
  if (r.suppressed != 0) s += " (" + std::to_string(r.suppressed) + " checks since the last report)";
  return s;
}

void rcu_stall_detector_configure(rcu_stall_options opts) {
  detail::base::check_stall_options("rcu_stall_options", "rcu_stall_detector_disable", opts.timeout,
                                    opts.report_interval);
  auto& d = detail::rcu::det();
  {
    std::lock_guard lk(d.mu);
    d.opts = std::move(opts);
    d.enabled = true;
    d.on.store(true, std::memory_order_relaxed);
    ++d.config_gen;
    if (!d.started.load(std::memory_order_relaxed)) detail::rcu::start_watchdog_locked(d);
  }
  d.cv.notify_all();
}

void rcu_stall_detector_disable() noexcept {
  auto& d = detail::rcu::det();
  {
    std::lock_guard lk(d.mu);
    d.enabled = false;
    d.on.store(false, std::memory_order_relaxed);
    ++d.config_gen;
  }
  d.cv.notify_all();
}

bool rcu_stall_detector_enabled() noexcept { return detail::rcu::det().on.load(std::memory_order_relaxed); }

std::uint64_t rcu_stall_reports() noexcept { return detail::rcu::det().reports.load(std::memory_order_relaxed); }

}  // namespace quiesce
