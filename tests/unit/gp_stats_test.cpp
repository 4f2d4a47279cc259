// Percentiles and summaries of perf/gp/gp_stats.hpp on known data.
#include "gp_stats.hpp"

#include <gtest/gtest.h>

#include <limits>
#include <stdexcept>
#include <vector>

namespace gp = quiesce::gp;

TEST(GpStats, PercentileOfOneToTenInterpolatesLinearly) {
  const std::vector<double> x{10, 9, 8, 7, 6, 5, 4, 3, 2, 1};  // unsorted on purpose
  EXPECT_DOUBLE_EQ(gp::percentile(x, 0.0), 1.0);
  EXPECT_DOUBLE_EQ(gp::percentile(x, 1.0), 10.0);
  EXPECT_DOUBLE_EQ(gp::percentile(x, 0.5), 5.5);    // h = 4.5
  EXPECT_DOUBLE_EQ(gp::percentile(x, 0.9), 9.1);    // h = 8.1
  EXPECT_DOUBLE_EQ(gp::percentile(x, 0.99), 9.91);  // h = 8.91
  EXPECT_DOUBLE_EQ(gp::percentile(x, 0.25), 3.25);  // h = 2.25
}

TEST(GpStats, PercentileOfOneToHundredMatchesNumPyDefault) {
  std::vector<double> x;
  for (int i = 1; i <= 100; ++i) x.push_back(i);
  // numpy.percentile(range(1, 101), [50, 90, 99]) = 50.5, 90.1, 99.01
  EXPECT_NEAR(gp::percentile(x, 0.50), 50.5, 1e-12);
  EXPECT_NEAR(gp::percentile(x, 0.90), 90.1, 1e-12);
  EXPECT_NEAR(gp::percentile(x, 0.99), 99.01, 1e-12);
}

TEST(GpStats, SingleSampleIsEveryPercentile) {
  const std::vector<double> x{42};
  for (double q : {0.0, 0.3, 0.5, 0.99, 1.0}) EXPECT_DOUBLE_EQ(gp::percentile(x, q), 42.0);
  const auto s = gp::summarize(x);
  EXPECT_DOUBLE_EQ(s.median, 42);
  EXPECT_DOUBLE_EQ(s.min, 42);
  EXPECT_DOUBLE_EQ(s.max, 42);
  EXPECT_EQ(s.n, 1u);
}

TEST(GpStats, SummaryOfOddAndEvenSamples) {
  const std::vector<double> odd{3, 1, 2};
  const auto a = gp::summarize(odd);
  EXPECT_DOUBLE_EQ(a.median, 2);
  EXPECT_DOUBLE_EQ(a.min, 1);
  EXPECT_DOUBLE_EQ(a.max, 3);
  EXPECT_DOUBLE_EQ(a.q1, 1.5);
  EXPECT_DOUBLE_EQ(a.q3, 2.5);
  EXPECT_DOUBLE_EQ(a.mean, 2);
  const std::vector<double> even{4, 1, 3, 2};
  const auto b = gp::summarize(even);
  EXPECT_DOUBLE_EQ(b.median, 2.5);
  EXPECT_DOUBLE_EQ(b.q1, 1.75);
  EXPECT_DOUBLE_EQ(b.q3, 3.25);
}

TEST(GpStats, LatencyDistributionHasTheOutlierOnlyInTheTail) {
  std::vector<double> x(1000, 5.0);
  x[17] = 1000.0;  // one outlier in a thousand
  const auto d = gp::latency_distribution(x);
  EXPECT_DOUBLE_EQ(d.p50, 5.0);
  EXPECT_DOUBLE_EQ(d.p90, 5.0);
  EXPECT_DOUBLE_EQ(d.p99, 5.0);  // h = 989.01: still below the last sample
  EXPECT_DOUBLE_EQ(d.max, 1000.0);
}

TEST(GpStats, RejectsEmptySamplesAndBadQuantiles) {
  const std::vector<double> none;
  EXPECT_THROW(gp::percentile(none, 0.5), std::invalid_argument);
  EXPECT_THROW(gp::summarize(none), std::invalid_argument);
  const std::vector<double> x{1, 2};
  EXPECT_THROW(gp::percentile(x, -0.1), std::invalid_argument);
  EXPECT_THROW(gp::percentile(x, 1.5), std::invalid_argument);
  EXPECT_THROW(gp::percentile(x, std::numeric_limits<double>::quiet_NaN()), std::invalid_argument);
}
