// quiesce/rcu/stall.hpp — grace-period stall warnings, after the Linux
// kernel's RCU CPU stall detector (Documentation/RCU/stallwarn.rst).
//
// What it reports
//   A grace period that has been waited for longer than `timeout`, in any
//   domain (memb, qsbr, mb, bp), and the registered threads holding it up:
//
//     quiesce: rcu stall: memb grace period waited 21.0 s (rcu_synchronize);
//       1 holder: tid 4711 "worker-3" inside a read-side section for >= 21.0 s;
//       12034 retired objects not reclaimed
//
//   Three kinds of wait are watched:
//     synchronize  an rcu_synchronize()/synchronize() call has not returned;
//     barrier      an rcu_barrier() call has not returned;
//     reclaim      retired objects are pending and no deleter has run for
//                  `timeout`: the reclaimer (quiesce's or a liburcu call_rcu
//                  worker) is stuck in a grace
//                  period, and retired memory grows (`outstanding` says by
//                  how much) until the holder leaves its section.
//   A holder is a thread whose reader state is the one liburcu's grace period
//   waits for: memb/mb inside a read-side section begun before the grace
//   period's phase flip; qsbr online without a quiescent state since the
//   grace period began. `blocking_for` is how long the detector has seen it
//   so (a lower bound, to one check interval). Threads are those registered
//   through quiesce (guards register implicitly); threads registered
//   directly through liburcu, and every bp reader (liburcu keeps bp's
//   records), cannot be named: the report then has no holders but still
//   says how long the grace period has waited.
//
// How it works, and what it costs
//   The read side is not touched: guards cost exactly what they cost without
//   the detector (perf/rcu_bench stall_detector/read/on vs off). A watchdog
//   thread (named quiesce-rcu-wd, all signals blocked), started by the first
//   synchronize, barrier or retire while the detector is enabled (a program
//   that only reads gets none), wakes every timeout/4 (at most once a second,
//   at least every 10 ms), and looks at: the in-flight synchronize/barrier
//   calls (each call reads the clock and links itself into a list under a
//   mutex, and unlinks itself under it when it returns; perf/rcu_bench
//   stall_detector/synchronize/on vs off), each domain's retired/reclaimed
//   counters, and, while some grace period is waited for (a call in flight
//   or retired objects pending), the reader words of the registered
//   threads (relaxed loads of liburcu's per-thread counters, under quiesce's
//   registry mutex; thread names are read after it is released).
//   The watchdog does not survive fork(): the child's first synchronize,
//   barrier or retire starts its own. It is detached and runs until the
//   process exits: a handler may be called while static destructors run
//   (keep what it uses alive, or disable the detector first), and quiesce
//   must not be unloaded (dlclose) once it runs.
//
// Rate limit
//   One report per domain when the stall reaches `timeout`, then at most one
//   every `report_interval` while it lasts (default 3 x timeout, as the
//   kernel re-reports); `suppressed` counts checks that found the stall still
//   there but did not report. A new stall (the grace period ended, another
//   one stalls) reports again at `timeout`.
//
// Defaults
//   Enabled, timeout 21 s (the kernel's CONFIG_RCU_CPU_STALL_TIMEOUT), the
//   handler writes one line to stderr. The environment variable
//   QUIESCE_RCU_STALL_TIMEOUT_MS, read on first use, overrides the timeout
//   (0 disables the detector). rcu_stall_detector_configure() overrides both.
#ifndef QUIESCE_RCU_STALL_HPP
#define QUIESCE_RCU_STALL_HPP

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace quiesce {

// One thread holding up a grace period.
struct rcu_stall_holder {
  pid_t tid = 0;                               // kernel thread id (gettid())
  std::string name;                            // pthread name ("?" if it could not be read)
  std::chrono::nanoseconds blocking_for{0};    // seen holding the grace period this long (lower bound)
};

// What the handler receives. Valid only during the call.
struct rcu_stall_report {
  enum class wait_kind { synchronize, barrier, reclaim };
  const char* flavor = "";                     // "memb", "qsbr", "mb", "bp"
  wait_kind waiting = wait_kind::synchronize;  // the oldest stalled wait of this domain
  std::chrono::nanoseconds waited{0};          // how long it has waited
  std::size_t outstanding = 0;                 // retired objects whose deleter has not run
  std::vector<rcu_stall_holder> holders;       // empty if no registered thread can be named
  std::uint64_t suppressed = 0;                // checks of this stall not reported (rate limit)
};

// The one line the default handler writes (no trailing newline).
std::string to_string(const rcu_stall_report& r);

struct rcu_stall_options {
  // A wait longer than this is a stall. Must be > 0 (use
  // rcu_stall_detector_disable() to turn the detector off).
  std::chrono::milliseconds timeout{21000};
  // Least time between two reports of one domain's stall; zero means
  // 3 x timeout.
  std::chrono::milliseconds report_interval{0};
  // Called on the watchdog thread, one domain's report at a time. Empty: one
  // line to stderr (to_string plus '\n', one write(2)). The handler must not
  // wait for a grace period or a barrier of a stalled domain (it would wait
  // for the stall it reports), and should return quickly: the watchdog does
  // not check other domains while it runs.
  std::function<void(const rcu_stall_report&)> handler;
};

// Enables the detector with these options, starting its watchdog if needed.
// Any thread, any time; takes effect at the watchdog's next check. Throws
// std::invalid_argument for a timeout <= 0 or a negative report_interval,
// std::system_error if the watchdog thread cannot be created.
void rcu_stall_detector_configure(rcu_stall_options opts);

// Disables the detector: the watchdog stops checking (and sleeps until the
// detector is configured again). Stalls in progress are not reported.
void rcu_stall_detector_disable() noexcept;

// True when the detector is enabled.
[[nodiscard]] bool rcu_stall_detector_enabled() noexcept;

// Reports made since the program started (all domains); for tests and
// monitoring.
[[nodiscard]] std::uint64_t rcu_stall_reports() noexcept;

}  // namespace quiesce

#endif  // QUIESCE_RCU_STALL_HPP
