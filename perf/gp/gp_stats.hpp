// perf/gp/gp_stats.hpp — order statistics for the grace-period reproduction
// harness (gp_harness): percentiles of latency samples and the median and
// spread of repetitions.
//
// One definition of "percentile" for the whole harness, so that the report's
// p50/p90/p99 mean the same thing everywhere: linear interpolation between
// closest ranks (Hyndman & Fan type 7, the default of R, NumPy and
// spreadsheets): for sorted x[0..n-1] and q in [0, 1], h = (n - 1) q,
// P(q) = x[floor h] + (h - floor h) (x[floor h + 1] - x[floor h]).
// P(0) is the minimum, P(1) the maximum, P(0.5) the usual median.
#ifndef QUIESCE_PERF_GP_STATS_HPP
#define QUIESCE_PERF_GP_STATS_HPP

#include <algorithm>
#include <cmath>
#include <span>
#include <stdexcept>
#include <vector>

namespace quiesce::gp {

// The q-quantile (q in [0, 1]) of `sorted`, which must be sorted ascending
// and non-empty. Throws std::invalid_argument otherwise (q outside [0, 1],
// NaN, an empty sample). O(1).
inline double percentile_sorted(std::span<const double> sorted, double q) {
  if (sorted.empty()) throw std::invalid_argument("percentile of an empty sample");
  if (!(q >= 0.0 && q <= 1.0)) throw std::invalid_argument("percentile: q must be in [0, 1]");
  const std::size_t last = sorted.size() - 1;
  const double h = static_cast<double>(last) * q;
  const std::size_t lo = std::min(static_cast<std::size_t>(std::floor(h)), last);
  const std::size_t hi = std::min(lo + 1, last);
  const double frac = h - static_cast<double>(lo);
  return sorted[lo] + frac * (sorted[hi] - sorted[lo]);
}

// The q-quantile of an unsorted sample (copies and sorts: O(n log n)).
inline double percentile(std::span<const double> sample, double q) {
  std::vector<double> s(sample.begin(), sample.end());
  std::sort(s.begin(), s.end());
  return percentile_sorted(s, q);
}

// Median and spread of a set of repetitions (or of latency samples).
struct summary {
  double median = 0, min = 0, max = 0;
  double q1 = 0, q3 = 0;  // 25th and 75th percentiles (the IQR's ends)
  double mean = 0;
  std::size_t n = 0;
};

// Summary of a non-empty sample; throws std::invalid_argument for an empty one.
inline summary summarize(std::span<const double> sample) {
  std::vector<double> s(sample.begin(), sample.end());
  std::sort(s.begin(), s.end());
  summary r;
  r.n = s.size();
  r.median = percentile_sorted(s, 0.5);
  r.min = s.front();
  r.max = s.back();
  r.q1 = percentile_sorted(s, 0.25);
  r.q3 = percentile_sorted(s, 0.75);
  double sum = 0;
  for (double v : s) sum += v;
  r.mean = sum / static_cast<double>(s.size());
  return r;
}

// The latency distribution the report shows for one repetition.
struct latency_percentiles {
  double p50 = 0, p90 = 0, p99 = 0, max = 0;
};

inline latency_percentiles latency_distribution(std::span<const double> sample) {
  std::vector<double> s(sample.begin(), sample.end());
  std::sort(s.begin(), s.end());
  return {percentile_sorted(s, 0.50), percentile_sorted(s, 0.90), percentile_sorted(s, 0.99), s.back()};
}

}  // namespace quiesce::gp

#endif  // QUIESCE_PERF_GP_STATS_HPP
