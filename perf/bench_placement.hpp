// perf/bench_placement.hpp — thread placement shared by quiesce's benchmarks.
//
// The measuring (benchmark) thread runs on the first CPU of the process's
// affinity mask, helper threads (readers, writers, call_rcu workers) on the
// second. The plan is read once, at static initialisation, before any thread
// is pinned (a pinned thread's own mask would hide the other CPUs).
#ifndef QUIESCE_PERF_BENCH_PLACEMENT_HPP
#define QUIESCE_PERF_BENCH_PLACEMENT_HPP

#include <benchmark/benchmark.h>
#include <pthread.h>
#include <sched.h>

namespace quiesce::perf {

struct cpu_plan {
  int measure = -1;  // the measuring (benchmark) thread
  int helper = -1;   // helper threads
};

inline cpu_plan plan_cpus() {
  cpu_plan p;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) != 0) return p;
  for (int c = 0; c < CPU_SETSIZE; ++c) {
    if (!CPU_ISSET(c, &set)) continue;
    if (p.measure < 0) {
      p.measure = c;
    } else {
      p.helper = c;
      break;
    }
  }
  return p;
}
inline const cpu_plan g_cpus = plan_cpus();

inline bool pin_thread(pthread_t t, int cpu) {
  if (cpu < 0) return false;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  return pthread_setaffinity_np(t, sizeof set, &set) == 0;
}

// Pins the calling (measuring) thread. False, with the benchmark marked
// skipped (SkipWithError naming the reason), where placement is impossible.
// `helper_role` says what the second CPU is for, for the skip message.
inline bool place(benchmark::State& st, bool needs_helper, const char* why_two_cpus) {
  if (needs_helper && g_cpus.helper < 0) {
    st.SkipWithError(why_two_cpus);
    return false;
  }
  if (!pin_thread(pthread_self(), g_cpus.measure)) {
    st.SkipWithError("cannot pin the measuring thread (sched_getaffinity/pthread_setaffinity_np failed)");
    return false;
  }
  return true;
}

// For benchmarks whose threads are Google Benchmark's own (->Threads(n)):
// pins thread 0 to the measuring CPU and the others to the helper CPU.
// Skips the benchmark, saying why, when it needs two CPUs (needs_two_cpus,
// or more than one thread) and the process may use only one, or when
// pinning fails.
inline bool place_thread(benchmark::State& st, bool needs_two_cpus) {
  if ((needs_two_cpus || st.threads() > 1) && g_cpus.helper < 0) {
    st.SkipWithError("needs 2 CPUs (one per thread); this process may use only 1");
    return false;
  }
  const int cpu = st.thread_index() == 0 ? g_cpus.measure : g_cpus.helper;
  if (!pin_thread(pthread_self(), cpu)) {
    st.SkipWithError("cannot pin the benchmark thread (sched_getaffinity/pthread_setaffinity_np failed)");
    return false;
  }
  return true;
}
inline bool place_thread(benchmark::State& st) { return place_thread(st, false); }

}  // namespace quiesce::perf

#endif  // QUIESCE_PERF_BENCH_PLACEMENT_HPP
