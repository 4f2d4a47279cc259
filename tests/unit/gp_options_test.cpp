// gp_harness's command line (perf/gp/gp_options.hpp): what it accepts, and
// that every bad input is rejected with a message naming the problem.
#include "gp_options.hpp"

#include <gtest/gtest.h>

#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

namespace gp = quiesce::gp;

namespace {

gp::options parse(std::initializer_list<std::string_view> a) {
  const std::vector<std::string_view> v(a);
  return gp::parse_options(v);
}

// The parse throws usage_error and its message contains `needle`.
void expect_error(std::initializer_list<std::string_view> a, const std::string& needle) {
  try {
    parse(a);
    ADD_FAILURE() << "accepted; expected an error containing '" << needle << "'";
  } catch (const gp::usage_error& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << "message: " << e.what();
  }
}

}  // namespace

TEST(GpOptions, ReadPointWithEveryOption) {
  const auto o = parse({"--experiment", "read", "--contender", "qsbr", "--readers", "4", "--writers", "1",
                        "--section-cycles", "1000", "--duration", "0.5", "--reps", "7", "--cpus", "0-2,5"});
  EXPECT_EQ(o.exp, gp::experiment::read);
  EXPECT_EQ(o.who, gp::contender::qsbr);
  EXPECT_EQ(o.readers, 4u);
  EXPECT_EQ(o.writers, 1u);
  EXPECT_EQ(o.section_cycles, 1000u);
  EXPECT_DOUBLE_EQ(o.duration_s, 0.5);
  EXPECT_EQ(o.reps, 7u);
  EXPECT_EQ(o.cpus, (std::vector<int>{0, 1, 2, 5}));
  EXPECT_FALSE(o.help);
}

TEST(GpOptions, EqualsFormAndAliases) {
  const auto o = parse({"--experiment=update", "--flavour=memb", "--writers=2", "--reclaim=batch", "--batch=4096"});
  EXPECT_EQ(o.exp, gp::experiment::update);
  EXPECT_EQ(o.who, gp::contender::memb);
  EXPECT_EQ(o.how, gp::reclaim::batch);
  EXPECT_EQ(o.batch, 4096u);
  const auto r = parse({"--experiment", "retire-latency", "--flavor", "bp", "--path", "call_rcu", "--readers", "0",
                        "--samples", "100", "--gap-us", "5"});
  EXPECT_EQ(r.path, gp::retire_path::call_rcu);
  EXPECT_EQ(r.readers, 0u);
  EXPECT_EQ(r.samples, 100u);
}

TEST(GpOptions, EveryContenderNameRoundTrips) {
  for (const char* n : {"qsbr", "memb", "mb", "bp", "rwlock", "shared_mutex", "mutex", "per_thread_mutex"}) {
    const auto o = parse({"--experiment", "read", "--contender", n});
    EXPECT_EQ(gp::name(o.who), n);
    EXPECT_EQ(gp::contender_from(n), o.who);
  }
  EXPECT_FALSE(gp::contender_from("signal").has_value());
}

TEST(GpOptions, HelpAndInfoNeedNothingElse) {
  EXPECT_TRUE(parse({"--help"}).help);
  EXPECT_TRUE(parse({"-h"}).help);
  EXPECT_EQ(parse({"--info"}).exp, gp::experiment::info);
  EXPECT_NE(gp::usage_text().find("--experiment"), std::string::npos);
}

TEST(GpOptions, UnknownFlavourExperimentPathOrReclaim) {
  expect_error({"--experiment", "read", "--contender", "signal"}, "unknown flavour or lock 'signal'");
  expect_error({"--experiment", "read", "--contender", "signal"}, "qsbr, memb, mb, bp");
  expect_error({"--experiment", "writes", "--contender", "memb"}, "unknown experiment 'writes'");
  expect_error({"--experiment", "retire-latency", "--contender", "memb", "--path", "defer"}, "unknown retire path");
  expect_error({"--experiment", "update", "--contender", "memb", "--writers", "1", "--reclaim", "later"},
               "unknown reclamation");
}

TEST(GpOptions, ZeroThreads) {
  expect_error({"--experiment", "read", "--contender", "memb", "--readers", "0"}, "zero threads");
  expect_error({"--experiment", "update", "--contender", "memb", "--writers", "0"}, "zero threads");
  expect_error({"--experiment", "read", "--contender", "memb", "--readers", "1000", "--writers", "100"},
               "at most 1024 threads");
  expect_error({"--experiment", "read", "--contender", "memb", "--readers", "2000"}, "out of range");
}

TEST(GpOptions, DurationsThatCannotFit) {
  expect_error({"--experiment", "read", "--contender", "memb", "--duration", "0"}, "cannot be measured");
  expect_error({"--experiment", "read", "--contender", "memb", "--duration", "-1"}, "cannot be measured");
  expect_error({"--experiment", "read", "--contender", "memb", "--duration", "601"}, "cannot be measured");
  expect_error({"--experiment", "read", "--contender", "memb", "--duration", "inf"}, "not a number");
  expect_error({"--experiment", "read", "--contender", "memb", "--duration", "10s"}, "not a number");
  expect_error({"--experiment", "read", "--contender", "memb", "--duration", "600", "--reps", "7"}, "does not fit");
  expect_error({"--experiment", "retire-latency", "--contender", "memb", "--samples", "1000000", "--gap-us",
                "1000000"},
               "does not fit");
  expect_error({"--experiment", "retire-latency", "--contender", "memb", "--gap-us", "-3"}, "--gap-us");
}

TEST(GpOptions, MalformedNumbers) {
  expect_error({"--experiment", "read", "--contender", "memb", "--readers", "two"}, "not a non-negative integer");
  expect_error({"--experiment", "read", "--contender", "memb", "--readers", "-1"}, "not a non-negative integer");
  expect_error({"--experiment", "read", "--contender", "memb", "--readers", ""}, "not a non-negative integer");
  expect_error({"--experiment", "read", "--contender", "memb", "--reps", "0"}, "out of range");
  expect_error({"--experiment", "read", "--contender", "memb", "--section-cycles", "99999999999999999999"},
               "out of range");
  expect_error({"--experiment", "update", "--contender", "memb", "--writers", "1", "--reclaim", "batch", "--batch",
                "0"},
               "out of range");
}

TEST(GpOptions, MissingOrContradictoryOptions) {
  expect_error({"--contender", "memb"}, "--experiment is required");
  expect_error({"--experiment", "read"}, "--contender is required");
  expect_error({"--experiment", "read", "--contender"}, "missing value");
  expect_error({"--experiment", "read", "--contender", "memb", "--frobnicate", "1"}, "unknown option '--frobnicate'");
  expect_error({"read"}, "unexpected argument 'read'");
  expect_error({"--experiment", "gp-latency", "--contender", "rwlock"}, "has no grace period");
  expect_error({"--experiment", "retire-latency", "--contender", "mutex"}, "has no grace period");
  expect_error({"--experiment", "gp-latency", "--contender", "memb", "--writers", "1"}, "one updater");
  expect_error({"--experiment", "update", "--contender", "rwlock", "--writers", "1", "--reclaim", "batch"},
               "only RCU flavours defer reclamation");
  expect_error({"--experiment", "update", "--contender", "memb", "--writers", "1", "--batch", "8"},
               "--batch needs --reclaim batch");
}

TEST(GpOptions, CpuLists) {
  EXPECT_EQ(gp::parse_cpu_list("3"), (std::vector<int>{3}));
  EXPECT_EQ(gp::parse_cpu_list("0,2-4"), (std::vector<int>{0, 2, 3, 4}));
  EXPECT_THROW(gp::parse_cpu_list(""), gp::usage_error);
  EXPECT_THROW(gp::parse_cpu_list("1,,2"), gp::usage_error);
  EXPECT_THROW(gp::parse_cpu_list("4-2"), gp::usage_error);
  EXPECT_THROW(gp::parse_cpu_list("a"), gp::usage_error);
  EXPECT_THROW(gp::parse_cpu_list("0-5000"), gp::usage_error);
}
