// perf/bench_batch.hpp — for benchmarks whose timed loop runs one batch of
// operations per iteration and reports the time per operation
// (hazard_pointer_bench, logical_clock_bench).
#ifndef QUIESCE_PERF_BENCH_BATCH_HPP
#define QUIESCE_PERF_BENCH_BATCH_HPP

#include <benchmark/benchmark.h>

#include <cstdint>
#include <initializer_list>
#include <string>

#include "bench_placement.hpp"

namespace quiesce::perf {

// The per_op counter: seconds per operation, per thread (multi-thread rows:
// each thread's own operations over the run's time, averaged over the
// threads), for `ops_per_iteration` operations per iteration.
inline void set_per_op(benchmark::State& st, std::int64_t ops_per_iteration) {
  auto flags = benchmark::Counter::kIsRate | benchmark::Counter::kInvert;
  if (st.threads() > 1) flags = flags | benchmark::Counter::kAvgThreads;
  st.counters["per_op"] = benchmark::Counter(static_cast<double>(st.iterations() * ops_per_iteration), flags);
}

// The whole of a row that needs no set-up: the thread placed (place_thread),
// then batch() once per iteration, its result kept from the optimiser, then
// the per_op counter.
template <class Batch>
inline void time_batches(benchmark::State& st, std::int64_t ops_per_iteration, Batch batch) {
  if (!place_thread(st)) return;
  for (auto _ : st) benchmark::DoNotOptimize(batch());
  set_per_op(st, ops_per_iteration);
}

struct named_row {
  const char* name;
  void (*run)(benchmark::State&);
};

// Registers every row as "<group>/<name>" on one thread, then every row
// again as "<group>_2threads/<name>" on two threads in real time, in that
// order. Returns true (for a namespace-scope initialiser, as BENCHMARK is).
inline bool register_one_and_two_threads(const std::string& group, std::initializer_list<named_row> rows) {
  for (const named_row& r : rows) benchmark::RegisterBenchmark((group + "/" + r.name).c_str(), r.run);
  for (const named_row& r : rows)
    benchmark::RegisterBenchmark((group + "_2threads/" + r.name).c_str(), r.run)->Threads(2)->UseRealTime();
  return true;
}

}  // namespace quiesce::perf

#endif  // QUIESCE_PERF_BENCH_BATCH_HPP
