// quiesce/base/stall.hpp — the plumbing the stall detectors share (RCU's
// grace-period watchdog, urcu_wrappers/src/rcu_stall.cpp, and the hazard
// pointers' scan, structures/hazard_pointers/src/stall.cpp): the timeout from the
// environment, the kernel's name of a thread, the report's rate limit and
// its one-write output. Internal header (quiesce::detail::base), for the
// libraries' .cpp files; not async-signal-safe (it allocates).
//
// After the Linux kernel's RCU CPU stall warnings (kernel/rcu/tree_stall.h):
// report once a stall is older than the timeout, then at most once per
// interval (default 3 x timeout) while the same stall lasts, with the count
// of checks held back in between.
#ifndef QUIESCE_BASE_STALL_HPP
#define QUIESCE_BASE_STALL_HPP

#include <fcntl.h>
#include <sys/types.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <stdexcept>
#include <string>

namespace quiesce::detail::base {

// The timeout in milliseconds that environment variable `name` sets for the
// detector called `detector` (0: the detector is off), or nullopt when the
// variable is unset or not a whole number of milliseconds >= 0; the latter is
// reported on stderr, naming the timeout that stays (`current_ms`).
inline std::optional<long long> stall_timeout_ms_from_env(const char* name, const char* detector,
                                                          long long current_ms) {
  const char* env = std::getenv(name);
  if (env == nullptr) return std::nullopt;
  char* end = nullptr;
  errno = 0;
  const long long ms = std::strtoll(env, &end, 10);
  if (end == env || *end != '\0' || errno != 0 || ms < 0) {
    std::fprintf(stderr,
                 "quiesce: warning: %s='%s' is not a number of milliseconds >= 0; "
                 "the %s keeps its timeout of %lld ms\n",
                 name, env, detector, current_ms);
    return std::nullopt;
  }
  return ms;
}

// Checks a detector's options (`options` names their type, `disable` the
// call that turns the detector off): throws std::invalid_argument naming the
// field and the fix unless timeout > 0 and report_interval >= 0.
inline void check_stall_options(const char* options, const char* disable, std::chrono::milliseconds timeout,
                                std::chrono::milliseconds report_interval) {
  if (timeout.count() <= 0)
    throw std::invalid_argument(std::string("quiesce: ") + options + "::timeout must be > 0 ms (got " +
                                std::to_string(timeout.count()) + "); call " + disable +
                                "() to turn the detector off");
  if (report_interval.count() < 0)
    throw std::invalid_argument(std::string("quiesce: ") + options + "::report_interval must be >= 0 ms (got " +
                                std::to_string(report_interval.count()) + "; 0 means 3 x timeout)");
}

// The kernel's name of thread `tid` of this process (/proc/self/task/<tid>/comm),
// "?" when it cannot be read (the thread has exited).
inline std::string thread_name(pid_t tid) {
  const std::string path = "/proc/self/task/" + std::to_string(static_cast<int>(tid)) + "/comm";
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "?";
  char buf[32];
  const ssize_t n = ::read(fd, buf, sizeof buf - 1);
  ::close(fd);
  if (n <= 0) return "?";
  std::string s(buf, static_cast<std::size_t>(n));
  while (!s.empty() && s.back() == '\n') s.pop_back();
  return s;
}

// Writes `line` and a newline to stderr in one write(2), so that reports from
// several threads do not interleave.
inline void write_report_line(std::string line) {
  line += '\n';
  const ssize_t ignored = ::write(STDERR_FILENO, line.data(), line.size());
  (void)ignored;
}

// The report interval: `report_interval` when positive, else 3 x `timeout`.
template <class R1, class P1, class R2, class P2>
std::chrono::nanoseconds stall_report_interval(std::chrono::duration<R1, P1> report_interval,
                                               std::chrono::duration<R2, P2> timeout) {
  return report_interval.count() > 0 ? std::chrono::nanoseconds(report_interval) : std::chrono::nanoseconds(3 * timeout);
}

// The rate limit of one detector's reports. Not thread-safe: the caller
// holds its detector's lock.
class stall_rate_limit {
 public:
  using clock = std::chrono::steady_clock;

  // No stall at this check: the next one is new.
  void clear() noexcept {
    start_.reset();
    suppressed_ = 0;
  }
  // A stall that began at `start`, checked at `now`: true when it is to be
  // reported (it is new, or `interval` has passed since its last report);
  // then `held_back` is the number of checks held back since that report (0
  // for a new stall). False: this check is held back.
  bool admit(clock::time_point start, clock::time_point now, std::chrono::nanoseconds interval,
             std::uint64_t& held_back) noexcept {
    const bool is_new = !start_ || *start_ != start;
    if (!is_new && now - last_report_ < interval) {
      ++suppressed_;
      return false;
    }
    held_back = is_new ? 0 : suppressed_;
    start_ = start;
    last_report_ = now;
    suppressed_ = 0;
    return true;
  }

 private:
  std::optional<clock::time_point> start_;  // the stall last reported
  clock::time_point last_report_{};
  std::uint64_t suppressed_ = 0;
};

}  // namespace quiesce::detail::base

#endif  // QUIESCE_BASE_STALL_HPP
