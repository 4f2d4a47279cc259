// support/fork_first_use.hpp — fork() racing another thread's first use of
// some process-wide state, many times over.
//
// quiesce's lazily built state (the STM's writer registry, the stall
// detectors, the default hazard-pointer domain, the NUMA topology, the node
// pools' registry) must be reachable in a fork child whatever the other
// threads were doing at the fork (quiesce/base/fork_safe.hpp). The window
// that hung children: a thread inside such an initialiser (a function-local
// static's guard held) at the instant another thread forks.
//
// fork_races_first_use() runs `trials` trials, each in a fresh process forked
// from the caller (which must not have used the state itself, or the trials
// test nothing: run such a test as its own process, as ctest does). In the
// trial process a thread starts `first_use` and the main thread forks at the
// same moment; the grandchild runs `child_use` on a new thread under a 20 s
// alarm and exits 0 if it returns. Whether a given trial hits the window is
// chance (the old STM registry failed by the second trial); that every
// trial passes is certain when the state is fork-safe, so the outcome is
// deterministic for correct code. What the racing thread had retired or
// queued at the fork is the child's too and may run there: a deleter or
// callback must count into the heap, never into the racing thread's stack,
// whose memory glibc hands to the child's new thread (the child_use's own
// locals then alias the racer's). Not under ThreadSanitizer, which does not
// support fork() with threads, nor under AddressSanitizer before GCC 14 /
// clang 18, whose allocator a fork can leave locked by the racing thread.
#ifndef QUIESCE_TESTS_SUPPORT_FORK_FIRST_USE_HPP
#define QUIESCE_TESTS_SUPPORT_FORK_FIRST_USE_HPP

#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <string>
#include <thread>

#include <quiesce/base/config.hpp>

namespace quiesce::test {

// Why a test that forks while other threads run (and, with
// `threads_allocate`, allocate) cannot run in this build, or nullptr:
// ThreadSanitizer does not support creating threads after such a fork, and
// AddressSanitizer's allocator is not fork-safe while other threads allocate.
// Use: if (const char* why = fork_with_threads_unsupported(...)) GTEST_SKIP() << why;
inline const char* fork_with_threads_unsupported(bool threads_allocate) {
  if (QUIESCE_TSAN) return "ThreadSanitizer does not support creating threads after a multi-threaded fork()";
  if (QUIESCE_ASAN && threads_allocate)
    return "AddressSanitizer's allocator is not fork-safe while other threads allocate";
  return nullptr;
}

// "" if every trial's grandchild ran child_use to the end, else what went
// wrong in the first trial that failed.
// `fork_fn` makes the racing fork (quiesce::rcu_fork for RCU users).
inline std::string fork_races_first_use(const std::function<void()>& first_use,
                                        const std::function<void()>& child_use,
                                        pid_t (*fork_fn)() = [] { return ::fork(); }, int trials = 40) {
  for (int trial = 0; trial < trials; ++trial) {
    const pid_t trial_pid = ::fork();
    if (trial_pid < 0) return "fork() failed";
    if (trial_pid == 0) {
      // The trial process: fresh state, one thread.
      std::atomic<bool> started{false};
      std::thread racer([&] {
        started.store(true);
        first_use();
      });
      while (!started.load()) {
      }
      const pid_t pid = fork_fn();
      if (pid == 0) {
        ::alarm(20);  // a hung grandchild dies of SIGALRM, which the status says
        std::thread(child_use).join();
        ::_exit(0);
      }
      racer.join();
      int status = 0;
      if (pid < 0 || ::waitpid(pid, &status, 0) != pid) ::_exit(100);
      if (WIFSIGNALED(status)) ::_exit(WTERMSIG(status) == SIGALRM ? 101 : 128 + WTERMSIG(status));
      ::_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 103);
    }
    int status = 0;
    if (::waitpid(trial_pid, &status, 0) != trial_pid) return "waitpid() failed";
    if (!WIFEXITED(status)) return "trial " + std::to_string(trial) + ": trial process killed by signal " +
                                   std::to_string(WTERMSIG(status));
    switch (const int code = WEXITSTATUS(status)) {
      case 0: break;
      case 100: return "trial " + std::to_string(trial) + ": the second fork() failed";
      case 101: return "trial " + std::to_string(trial) + ": the fork child hung (SIGALRM after 20 s)";
      default:
        if (code > 128)
          return "trial " + std::to_string(trial) + ": the fork child was killed by signal " + std::to_string(code - 128);
        return "trial " + std::to_string(trial) + ": the fork child exited " + std::to_string(code);
    }
  }
  return "";
}

}  // namespace quiesce::test

#endif  // QUIESCE_TESTS_SUPPORT_FORK_FIRST_USE_HPP
