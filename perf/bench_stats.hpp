// perf/bench_stats.hpp — the statistics the benchmarks compute themselves
// (the false-sharing workbench's chunks, the paired rows' per-pair ratios
// in disruptor_bench and stm_bench); Google Benchmark's own rows get theirs
// from its aggregates and perf/bench_json.py.
#ifndef QUIESCE_PERF_BENCH_STATS_HPP
#define QUIESCE_PERF_BENCH_STATS_HPP

#include <algorithm>
#include <cstddef>
#include <vector>

namespace quiesce::perf {

// The median of v (the mean of the two middle values for an even count);
// 0 for none.
inline double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

}  // namespace quiesce::perf

#endif  // QUIESCE_PERF_BENCH_STATS_HPP
