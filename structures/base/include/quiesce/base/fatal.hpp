// quiesce/base/fatal.hpp — the one fatal-error writer of every component.
// Internal header (quiesce::detail::base); the rcu component wraps it as
// detail::rcu::fatal, the structures' components call it directly.
//
// Prints
//   quiesce: fatal: <what>
//   quiesce: hint: <hint>
// on stderr, then aborts. Async-signal-safe, so usable in signal handlers,
// in deleters and in the child of a fork() of a multi-threaded process:
// no allocation, no stdio (no lock, no snprintf), only strlen(), write(2)
// and abort(), all three on POSIX's list of async-signal-safe functions
// (strlen since POSIX.1-2008 TC2). Each part is written whole (short writes
// and EINTR are retried); nothing is written if stderr is closed.
#ifndef QUIESCE_BASE_FATAL_HPP
#define QUIESCE_BASE_FATAL_HPP

#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>

namespace quiesce::detail::base {

inline void write_all(const char* s) noexcept {
  std::size_t n = std::strlen(s);
  while (n > 0) {
    const ssize_t w = ::write(STDERR_FILENO, s, n);
    if (w <= 0) {
      if (w < 0 && errno == EINTR) continue;
      return;
    }
    s += w;
    n -= static_cast<std::size_t>(w);
  }
}

[[noreturn, gnu::cold]] inline void fatal(const char* what, const char* hint) noexcept {
  write_all("quiesce: fatal: ");
  write_all(what);
  write_all("\nquiesce: hint: ");
  write_all(hint);
  write_all("\n");
  std::abort();
}

}  // namespace quiesce::detail::base

#endif  // QUIESCE_BASE_FATAL_HPP
