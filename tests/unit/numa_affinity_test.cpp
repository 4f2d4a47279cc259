// Unit tests for quiesce/numa/affinity.hpp: scoped_affinity pins and restores
// (nested, moved, per thread), rejects bad CPU sets naming the CPU;
// pipeline_cpus orders synthetic multi-socket machines nearest first.
#include <quiesce/numa/affinity.hpp>
#include <quiesce/numa/topology.hpp>

#include <gtest/gtest.h>
#include <sched.h>

#include <algorithm>
#include <cstdlib>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "support/numa.hpp"

namespace {

namespace qn = quiesce::numa;
using quiesce::test::expect_invalid_argument_naming;
using quiesce::test::two_socket;

std::vector<int> system_cpus() {
  std::vector<int> out;
  for (const auto& c : qn::topology::system().cpus()) out.push_back(c.cpu);
  return out;
}

// ---- scoped_affinity ----

TEST(NumaAffinity, ToCpuRunsThereAndRestores) {
  const auto before = qn::current_affinity();
  EXPECT_EQ(before, system_cpus());
  for (int cpu : system_cpus()) {
    {
      auto pin = qn::scoped_affinity::to_cpu(cpu);
      EXPECT_EQ(sched_getcpu(), cpu);  // migrated before the constructor returned
      EXPECT_EQ(qn::current_affinity(), std::vector<int>{cpu});
    }
    EXPECT_EQ(qn::current_affinity(), before);
  }
}

TEST(NumaAffinity, NestedPinsRestoreInReverseOrder) {
  const auto all = system_cpus();
  const auto before = qn::current_affinity();
  {
    auto outer = qn::scoped_affinity::to_cpu(all.front());
    {
      auto inner = qn::scoped_affinity::to_cpu(all.back());  // may leave the outer pin's set
      EXPECT_EQ(qn::current_affinity(), std::vector<int>{all.back()});
      EXPECT_EQ(sched_getcpu(), all.back());
      {
        auto innermost = qn::scoped_affinity(all);
        EXPECT_EQ(qn::current_affinity(), all);
      }
      EXPECT_EQ(qn::current_affinity(), std::vector<int>{all.back()});
    }
    EXPECT_EQ(qn::current_affinity(), std::vector<int>{all.front()});
  }
  EXPECT_EQ(qn::current_affinity(), before);
}

TEST(NumaAffinity, MovedFromRestoresNothing) {
  const auto before = qn::current_affinity();
  const int cpu = system_cpus().back();
  {
    std::optional<qn::scoped_affinity> later;
    {
      auto pin = qn::scoped_affinity::to_cpu(cpu);
      later.emplace(std::move(pin));
    }  // `pin` (moved from) destroyed: still pinned
    EXPECT_EQ(qn::current_affinity(), std::vector<int>{cpu});
  }
  EXPECT_EQ(qn::current_affinity(), before);
}

TEST(NumaAffinity, SetOfCpusAndDuplicates) {
  const auto all = system_cpus();
  const std::vector<int> dup = {all.front(), all.front()};
  auto pin = qn::scoped_affinity(dup);
  EXPECT_EQ(qn::current_affinity(), std::vector<int>{all.front()});
}

TEST(NumaAffinity, ToNodeUsesTheNodesCpus) {
  const auto& t = qn::topology::system();
  const auto before = qn::current_affinity();
  for (int node : t.nodes()) {
    if (t.cpus_of_node(node).empty()) {
      expect_invalid_argument_naming([&] { auto p = qn::scoped_affinity::to_node(node); }, "has no CPUs");
      continue;
    }
    auto pin = qn::scoped_affinity::to_node(node);
    EXPECT_EQ(qn::current_affinity(), t.cpus_of_node(node));
    EXPECT_EQ(qn::current_node(), node);
  }
  EXPECT_EQ(qn::current_affinity(), before);
}

TEST(NumaAffinity, PinIsPerThread) {
  const auto before = qn::current_affinity();
  const int cpu = system_cpus().back();
  std::vector<int> seen;
  std::thread([&] {
    auto pin = qn::scoped_affinity::to_cpu(cpu);
    seen = qn::current_affinity();
  }).join();
  EXPECT_EQ(seen, std::vector<int>{cpu});
  EXPECT_EQ(qn::current_affinity(), before);
}

TEST(NumaAffinity, BadInputNamesTheCpuOrNode) {
  const auto before = qn::current_affinity();
  expect_invalid_argument_naming([] { auto p = qn::scoped_affinity(std::vector<int>{}); }, "empty CPU set");
  expect_invalid_argument_naming([] { auto p = qn::scoped_affinity::to_cpu(4095); }, "CPU 4095 does not exist (CPUs: ");
  expect_invalid_argument_naming([] { auto p = qn::scoped_affinity::to_cpu(-1); }, "CPU -1");
  const std::vector<int> mixed = {system_cpus().front(), 100000};
  expect_invalid_argument_naming([&] { auto p = qn::scoped_affinity(mixed); }, "CPU 100000");
  expect_invalid_argument_naming([] { auto p = qn::scoped_affinity::to_node(7); }, "node 7 does not exist (nodes: ");
  expect_invalid_argument_naming([] { auto p = qn::scoped_affinity::to_node(-2); }, "node -2");
  EXPECT_EQ(qn::current_affinity(), before);  // a refused pin changes nothing
}

// A CPU the machine has but the process may not use. The allowed set is
// fixed at topology::system()'s first call, so this runs in a fresh child
// process (death-test machinery, re-executing this test) whose mask is
// narrowed before anything probes.
TEST(NumaAffinity, CpuOutsideTheProcessMaskIsRejected) {
  cpu_set_t set;
  CPU_ZERO(&set);
  ASSERT_EQ(sched_getaffinity(0, sizeof set, &set), 0);
  std::vector<int> cpus;
  for (int c = 0; c < CPU_SETSIZE; ++c)
    if (CPU_ISSET(c, &set)) cpus.push_back(c);
  if (cpus.size() < 2) GTEST_SKIP() << "needs two CPUs";
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        cpu_set_t one;
        CPU_ZERO(&one);
        CPU_SET(cpus.front(), &one);
        if (sched_setaffinity(0, sizeof one, &one) != 0) std::_Exit(2);
        try {
          auto pin = qn::scoped_affinity::to_cpu(cpus.back());
          std::_Exit(3);
        } catch (const std::invalid_argument& e) {
          const std::string what = e.what();
          const std::string want =
              "CPU " + std::to_string(cpus.back()) + " is outside the process's allowed CPUs (" +
              std::to_string(cpus.front()) + ")";
          std::_Exit(what == want ? 0 : 4);
        }
      },
      ::testing::ExitedWithCode(0), "");
}

// ---- pipeline_cpus ----

TEST(NumaPipelineCpus, SiblingsThenSocketThenRemote) {
  const auto t = two_socket();
  EXPECT_EQ(qn::pipeline_cpus(8, t), (std::vector<int>{0, 4, 1, 5, 2, 6, 3, 7}));
  EXPECT_EQ(qn::pipeline_cpus(1, t), (std::vector<int>{0}));
  EXPECT_EQ(qn::pipeline_cpus(3, t), (std::vector<int>{0, 4, 1}));
}

TEST(NumaPipelineCpus, SharedL2BeforeSharedL3) {
  // One node, no SMT: cores 0-3 share an L2 in pairs {0,2} and {1,3} (odd
  // numbering on purpose), all share the L3.
  std::vector<qn::cpu_info> cpus;
  for (int c = 0; c < 4; ++c) cpus.push_back({.cpu = c, .node = 0, .core = c, .package = 0, .l2 = c % 2, .l3 = 0});
  const qn::topology t(cpus, {{10}});
  EXPECT_EQ(qn::pipeline_cpus(4, t), (std::vector<int>{0, 2, 1, 3}));
}

TEST(NumaPipelineCpus, NearestNodeByDistance) {
  // Three nodes, one CPU each: node 2 is nearer to node 0 than node 1 is.
  const qn::topology t({{.cpu = 0, .node = 0}, {.cpu = 1, .node = 1}, {.cpu = 2, .node = 2}},
                       {{10, 31, 21}, {31, 10, 21}, {21, 21, 10}});
  EXPECT_EQ(qn::pipeline_cpus(3, t), (std::vector<int>{0, 2, 1}));
}

TEST(NumaPipelineCpus, SameNodeBeforeOtherNodesWithoutCacheInfo) {
  const qn::topology t({{.cpu = 0, .node = 0}, {.cpu = 1, .node = 1}, {.cpu = 2, .node = 0}, {.cpu = 3, .node = 1}},
                       {{10, 21}, {21, 10}});
  EXPECT_EQ(qn::pipeline_cpus(4, t), (std::vector<int>{0, 2, 1, 3}));
}

TEST(NumaPipelineCpus, SystemTopologyGivesDistinctAllowedCpus) {
  const auto all = system_cpus();
  const auto p = qn::pipeline_cpus(all.size());
  EXPECT_EQ(p.front(), all.front());
  EXPECT_EQ(std::set<int>(p.begin(), p.end()), std::set<int>(all.begin(), all.end()));
}

TEST(NumaPipelineCpus, BadCountNamesIt) {
  const auto t = two_socket();
  expect_invalid_argument_naming([&] { (void)qn::pipeline_cpus(0, t); }, "0 stages");
  expect_invalid_argument_naming([&] { (void)qn::pipeline_cpus(9, t); }, "9 stages but only 8 CPUs");
  const auto n = system_cpus().size() + 1;
  expect_invalid_argument_naming([&] { (void)qn::pipeline_cpus(n); }, std::to_string(n) + " stages");
}

}  // namespace
