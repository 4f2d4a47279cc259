// urcu_wrappers/src/rcu_stall.cpp — the grace-period stall detector
// (quiesce/rcu/stall.hpp): its watchdog thread, the in-flight wait lists,
// holder identification from liburcu's reader words, the default report.
//
// After the Linux kernel's RCU CPU stall warnings (kernel/rcu/tree_stall.h,
// Documentation/RCU/stallwarn.rst): warn once a grace period is older than
// a timeout, name what holds it, re-warn at a slower rate.
#include <fcntl.h>
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

#include "rcu_internal.hpp"

namespace quiesce {

namespace detail {
namespace {

using clock = std::chrono::steady_clock;

// ---- in-flight synchronize()/barrier() calls, one list per flavour ----

struct wait_list {
  std::mutex mu;
  stall_wait_scope* head = nullptr;
};
wait_list* wait_lists() {
  static auto* w = new wait_list[4];  // immortal: waits may run during exit
  return w;
}

// ---- the detector's configuration and watchdog ----

struct detector {
  std::mutex mu;  // guards everything below but the atomics
  std::condition_variable cv;
  rcu_stall_options opts;
  bool enabled = true;
  std::uint64_t config_gen = 0;         // bumped by configure/disable: wakes the watchdog
  std::atomic<bool> on{true};            // mirror of `enabled`, for lock-free reads
  std::atomic<bool> started{false};      // this process has a watchdog (reset in a fork child)
  std::atomic<std::uint64_t> reports{0};
};

// Parses QUIESCE_RCU_STALL_TIMEOUT_MS; a value that is not a whole number of
// milliseconds is reported on stderr and ignored (the default stays).
void apply_environment(detector& d) {
  const char* env = std::getenv("QUIESCE_RCU_STALL_TIMEOUT_MS");
  if (env == nullptr) return;
  char* end = nullptr;
  errno = 0;
  const long long ms = std::strtoll(env, &end, 10);
  if (end == env || *end != '\0' || errno != 0 || ms < 0) {
    std::fprintf(stderr,
                 "quiesce: warning: QUIESCE_RCU_STALL_TIMEOUT_MS='%s' is not a number of milliseconds >= 0; "
                 "the stall detector keeps its timeout of %lld ms\n",
                 env, static_cast<long long>(d.opts.timeout.count()));
    return;
  }
  if (ms == 0) {
    d.enabled = false;
    d.on.store(false, std::memory_order_relaxed);
  } else {
    d.opts.timeout = std::chrono::milliseconds(ms);
  }
}

void before_fork() noexcept;
void after_fork_parent() noexcept;
void after_fork_child() noexcept;

detector& det() {
  static detector* d = [] {
    auto* p = new detector;  // immortal: the watchdog is detached and runs until exit
    apply_environment(*p);
    // Every fork(), with or without rcu_fork_guard: the child must not
    // inherit a mutex held by the watchdog, which does not survive.
    pthread_atfork(before_fork, after_fork_parent, after_fork_child);
    return p;
  }();
  return *d;
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

// The kernel's name of thread `tid` of this process ("?" if unreadable).
std::string thread_name(pid_t tid) {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/self/task/%d/comm", static_cast<int>(tid));
  const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "?";
  char buf[32];
  const ssize_t n = ::read(fd, buf, sizeof buf - 1);
  ::close(fd);
  if (n <= 0) return "?";
  std::string s(buf, static_cast<std::size_t>(n));
  while (!s.empty() && s.back() == '\n') s.pop_back();
  return s;
}

void default_handler(const rcu_stall_report& r) {
  std::string line = to_string(r);
  line += '\n';
  const ssize_t ignored = ::write(STDERR_FILENO, line.data(), line.size());  // one write: lines do not interleave
  (void)ignored;
}

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
  std::optional<clock::time_point> stall_start;        // the stall being reported (its wait's start)
  clock::time_point last_report{};
  std::uint64_t suppressed = 0;
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
      std::vector<flavor_watch::seen> next;
      std::lock_guard lk(registry_mutex());
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
    w.stall_start.reset();
    w.suppressed = 0;
    return;
  }
  const auto interval = opts.report_interval.count() > 0 ? std::chrono::nanoseconds(opts.report_interval)
                                                          : std::chrono::nanoseconds(3 * opts.timeout);
  const bool new_stall = !w.stall_start || *w.stall_start != *oldest;
  if (!new_stall && now - w.last_report < interval) {
    ++w.suppressed;
    return;
  }
  rcu_stall_report r;
  r.flavor = F::name;
  r.waiting = kind;
  r.waited = now - *oldest;
  r.outstanding = st.outstanding;
  r.suppressed = new_stall ? 0 : w.suppressed;
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
  for (auto& h : r.holders) h.name = thread_name(h.tid);
  w.stall_start = *oldest;
  w.last_report = now;
  w.suppressed = 0;
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
void start_watchdog_locked(detector& d) {
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
  d.started.store(true, std::memory_order_release);
}

// pthread_atfork handlers. The watchdog takes these mutexes only briefly and
// none while holding another; glibc takes its malloc locks after the prepare
// handlers, so a holder allocating meanwhile finishes and lets go.
// The watchdog also takes quiesce's registry mutex: taken here too, unless
// the forking thread holds it already (inside rcu_fork_guard).
void before_fork() noexcept {
  det().mu.lock();
  for (int f = 0; f < 4; ++f) wait_lists()[f].mu.lock();
  if (!in_fork_guard) registry_mutex().lock();
}

void after_fork_parent() noexcept {
  if (!in_fork_guard) registry_mutex().unlock();
  for (int f = 3; f >= 0; --f) wait_lists()[f].mu.unlock();
  det().mu.unlock();
}

void after_fork_child() noexcept {
  // Only the forking thread survived: the watchdog is gone, and glibc would
  // refuse this thread's unlock of mutexes its parent thread locked (owner
  // TID). Start afresh; the next synchronize, barrier or registration in the
  // child starts a new watchdog.
  detector& d = det();
  for (int f = 0; f < 4; ++f) {
    new (&wait_lists()[f].mu) std::mutex;
    wait_lists()[f].head = nullptr;  // waits in flight were other threads': gone
  }
  if (!in_fork_guard) new (&registry_mutex()) std::mutex;  // (the guard renews it itself)
  new (&d.mu) std::mutex;
  new (&d.cv) std::condition_variable;
  d.started.store(false, std::memory_order_relaxed);
}

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

}  // namespace detail

std::string to_string(const rcu_stall_report& r) {
  std::string s = "quiesce: rcu stall: ";
  s += r.flavor;
  s += " grace period waited ";
  s += detail::format_duration(r.waited);
  s += " (";
  s += detail::kind_name(r.waiting);
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
           " for >= " + detail::format_duration(h.blocking_for);
    }
  }
  s += "; " + std::to_string(r.outstanding) + " retired objects not reclaimed";
  if (r.suppressed != 0) s += " (" + std::to_string(r.suppressed) + " checks since the last report)";
  return s;
}

void rcu_stall_detector_configure(rcu_stall_options opts) {
  if (opts.timeout.count() <= 0)
    throw std::invalid_argument("quiesce: rcu_stall_options::timeout must be > 0 ms (got " +
                                std::to_string(opts.timeout.count()) +
                                "); call rcu_stall_detector_disable() to turn the detector off");
  if (opts.report_interval.count() < 0)
    throw std::invalid_argument("quiesce: rcu_stall_options::report_interval must be >= 0 ms (got " +
                                std::to_string(opts.report_interval.count()) + "; 0 means 3 x timeout)");
  auto& d = detail::det();
  {
    std::lock_guard lk(d.mu);
    d.opts = std::move(opts);
    d.enabled = true;
    d.on.store(true, std::memory_order_relaxed);
    ++d.config_gen;
    if (!d.started.load(std::memory_order_relaxed)) detail::start_watchdog_locked(d);
  }
  d.cv.notify_all();
}

void rcu_stall_detector_disable() noexcept {
  auto& d = detail::det();
  {
    std::lock_guard lk(d.mu);
    d.enabled = false;
    d.on.store(false, std::memory_order_relaxed);
    ++d.config_gen;
  }
  d.cv.notify_all();
}

bool rcu_stall_detector_enabled() noexcept { return detail::det().on.load(std::memory_order_relaxed); }

std::uint64_t rcu_stall_reports() noexcept { return detail::det().reports.load(std::memory_order_relaxed); }

}  // namespace quiesce
