// Unit tests for quiesce/numa/topology.hpp: the probed machine against what
// sysfs and libnuma say (read here independently), synthetic machines, bad
// input, describe(), current_cpu()/current_node().
#include <quiesce/numa/affinity.hpp>
#include <quiesce/numa/topology.hpp>

#include <gtest/gtest.h>
#include <numa.h>
#include <sched.h>

#include <algorithm>
#include <fstream>
#include <latch>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "support/numa.hpp"

namespace {

namespace qn = quiesce::numa;
using quiesce::test::contains;
using quiesce::test::expect_invalid_argument_naming;
using quiesce::test::two_socket;

// ---- independent readers (deliberately not the library's) ----

std::string slurp(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

int read_number(const std::string& path) {
  std::ifstream f(path);
  int v = -1;
  if (!(f >> v)) return -1;
  return v;
}

std::vector<int> cpu_list(const std::string& text) {
  std::vector<int> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (item.empty() || item == "\n") continue;
    const auto dash = item.find('-');
    const int lo = std::stoi(item.substr(0, dash));
    const int hi = dash == std::string::npos ? lo : std::stoi(item.substr(dash + 1));
    for (int c = lo; c <= hi; ++c) out.push_back(c);
  }
  return out;
}

std::vector<int> sched_mask() {
  cpu_set_t set;
  CPU_ZERO(&set);
  EXPECT_EQ(sched_getaffinity(0, sizeof set, &set), 0);
  std::vector<int> cpus;
  for (int c = 0; c < CPU_SETSIZE; ++c)
    if (CPU_ISSET(c, &set)) cpus.push_back(c);
  return cpus;
}

// Lowest CPU of the first cache of `level` (data or unified) of `cpu`; -1 none.
int cache_id(int cpu, int level) {
  for (int k = 0;; ++k) {
    const std::string dir = "/sys/devices/system/cpu/cpu" + std::to_string(cpu) + "/cache/index" + std::to_string(k);
    const int l = read_number(dir + "/level");
    if (l < 0) return -1;
    if (l != level || slurp(dir + "/type").rfind("Instruction", 0) == 0) continue;
    const auto shared = cpu_list(slurp(dir + "/shared_cpu_list"));
    return shared.empty() ? cpu : shared.front();
  }
}

// ---- the probed machine ----

TEST(NumaTopology, SystemMatchesSchedAffinityAndLibnuma) {
  const auto& t = qn::topology::system();
  std::vector<int> cpus;
  for (const auto& c : t.cpus()) cpus.push_back(c.cpu);
  EXPECT_EQ(cpus, sched_mask());
  EXPECT_TRUE(std::is_sorted(t.nodes().begin(), t.nodes().end()));
  ASSERT_GE(t.node_count(), 1);
  EXPECT_EQ(t.numa_supported(), numa_available() >= 0);
  for (const auto& c : t.cpus()) {
    const int expected = t.numa_supported() ? numa_node_of_cpu(c.cpu) : 0;
    EXPECT_EQ(c.node, expected < 0 ? 0 : expected) << "CPU " << c.cpu;
    EXPECT_EQ(t.node_of_cpu(c.cpu), c.node);
    EXPECT_EQ(&t.cpu(c.cpu), &c);
    EXPECT_TRUE(t.has_cpu(c.cpu));
  }
  for (int a : t.nodes()) {
    EXPECT_TRUE(t.has_node(a));
    for (int b : t.nodes()) {
      if (t.numa_supported() && numa_distance(a, b) > 0) {
        EXPECT_EQ(t.distance(a, b), numa_distance(a, b));
      }
      if (a == b) {
        EXPECT_EQ(t.distance(a, b), 10);
      }
    }
  }
  if (!t.numa_supported()) {
    EXPECT_EQ(t.nodes(), std::vector<int>{0});
    EXPECT_EQ(t.distance(0, 0), 10);
  }
}

TEST(NumaTopology, EveryCpuInExactlyOneNodeList) {
  const auto& t = qn::topology::system();
  std::multiset<int> seen;
  for (int n : t.nodes()) {
    const auto& list = t.cpus_of_node(n);
    EXPECT_TRUE(std::is_sorted(list.begin(), list.end()));
    for (int c : list) {
      seen.insert(c);
      EXPECT_EQ(t.node_of_cpu(c), n);
    }
  }
  EXPECT_EQ(seen.size(), t.cpus().size());
  for (const auto& c : t.cpus()) EXPECT_EQ(seen.count(c.cpu), 1u) << "CPU " << c.cpu;
}

TEST(NumaTopology, CoresAndCachesMatchSysfs) {
  const auto& t = qn::topology::system();
  for (const auto& a : t.cpus()) {
    const std::string dir = "/sys/devices/system/cpu/cpu" + std::to_string(a.cpu) + "/topology/";
    const int package = read_number(dir + "physical_package_id");
    const int core_id = read_number(dir + "core_id");
    EXPECT_EQ(a.package, package) << "CPU " << a.cpu;
    if (core_id >= 0) {
      // The id is the lowest CPU of the core, so it is itself one of the core's CPUs.
      ASSERT_GE(a.core, 0);
      const std::string cdir = "/sys/devices/system/cpu/cpu" + std::to_string(a.core) + "/topology/";
      EXPECT_EQ(read_number(cdir + "core_id"), core_id);
      EXPECT_EQ(read_number(cdir + "physical_package_id"), package);
      EXPECT_LE(a.core, a.cpu);
    }
    EXPECT_EQ(a.l2, cache_id(a.cpu, 2)) << "CPU " << a.cpu;
    EXPECT_EQ(a.l3, cache_id(a.cpu, 3)) << "CPU " << a.cpu;
    for (const auto& b : t.cpus()) {
      const std::string bdir = "/sys/devices/system/cpu/cpu" + std::to_string(b.cpu) + "/topology/";
      const bool same = a.cpu == b.cpu || (core_id >= 0 && read_number(bdir + "core_id") == core_id &&
                                           read_number(bdir + "physical_package_id") == package);
      EXPECT_EQ(t.same_core(a.cpu, b.cpu), same) << a.cpu << " vs " << b.cpu;
      EXPECT_EQ(t.share_l2(a.cpu, b.cpu), a.cpu == b.cpu || (a.l2 >= 0 && a.l2 == b.l2));
      EXPECT_EQ(t.share_l3(a.cpu, b.cpu), a.cpu == b.cpu || (a.l3 >= 0 && a.l3 == b.l3));
    }
  }
}

TEST(NumaTopology, ProbeEqualsSystem) {
  const auto& s = qn::topology::system();
  const auto p = qn::topology::probe();
  EXPECT_EQ(p.nodes(), s.nodes());
  ASSERT_EQ(p.cpus().size(), s.cpus().size());
  for (std::size_t i = 0; i < p.cpus().size(); ++i) {
    EXPECT_EQ(p.cpus()[i].cpu, s.cpus()[i].cpu);
    EXPECT_EQ(p.cpus()[i].core, s.cpus()[i].core);
    EXPECT_EQ(p.cpus()[i].l3, s.cpus()[i].l3);
  }
  EXPECT_EQ(p.describe(), s.describe());
}

TEST(NumaTopology, ProbeSeesANarrowedMask) {
  const auto& s = qn::topology::system();
  const int last = s.cpus().back().cpu;
  auto pin = qn::scoped_affinity::to_cpu(last);
  const auto p = qn::topology::probe();
  ASSERT_EQ(p.cpus().size(), 1u);
  EXPECT_EQ(p.cpus()[0].cpu, last);
  EXPECT_EQ(p.cpus()[0].core, s.cpu(last).core);  // ids do not depend on the mask
  EXPECT_EQ(p.cpus()[0].l2, s.cpu(last).l2);
}

TEST(NumaTopology, SystemIsOneObjectAcrossThreads) {
  // In a fresh process (ctest runs each test alone) this is the first call,
  // made by 8 threads at once: the function-local static's guard.
  constexpr int n = 8;
  std::latch go(n);
  std::vector<const qn::topology*> seen(n);
  std::vector<std::thread> threads;
  for (int i = 0; i < n; ++i)
    threads.emplace_back([&, i] {
      go.arrive_and_wait();
      seen[i] = &qn::topology::system();
    });
  for (auto& th : threads) th.join();
  for (auto* p : seen) EXPECT_EQ(p, seen[0]);
}

TEST(NumaTopology, DescribeShowsNodesCpusAndDistances) {
  const auto& t = qn::topology::system();
  const std::string d = t.describe();
  for (int n : t.nodes()) EXPECT_TRUE(contains(d, "node " + std::to_string(n) + ": CPUs"));
  EXPECT_TRUE(contains(d, "distances:"));
  EXPECT_TRUE(contains(d, "L3:"));
  EXPECT_EQ(d.back(), '\n');
}

// ---- lookups on bad input ----

TEST(NumaTopology, BadNodeOrCpuNamesTheNumber) {
  const auto& t = qn::topology::system();
  expect_invalid_argument_naming([&] { (void)t.cpus_of_node(7); }, "node 7 does not exist (nodes: ");
  expect_invalid_argument_naming([&] { (void)t.cpus_of_node(-1); }, "node -1");
  expect_invalid_argument_naming([&] { (void)t.distance(0, 9); }, "node 9");
  expect_invalid_argument_naming([&] { (void)t.distance(12, 0); }, "node 12");
  expect_invalid_argument_naming([&] { (void)t.node_of_cpu(4095); }, "CPU 4095 does not exist (CPUs: ");
  expect_invalid_argument_naming([&] { (void)t.cpu(-1); }, "CPU -1");
  expect_invalid_argument_naming([&] { (void)t.same_core(0, 999); }, "CPU 999");
  expect_invalid_argument_naming([&] { (void)t.share_l2(998, t.cpus()[0].cpu); }, "CPU 998");
  expect_invalid_argument_naming([&] { (void)t.share_l3(t.cpus()[0].cpu, 997); }, "CPU 997");
  EXPECT_FALSE(t.has_node(7));
  EXPECT_FALSE(t.has_node(-1));
  EXPECT_FALSE(t.has_cpu(4095));
  EXPECT_FALSE(t.has_cpu(-1));
}

// ---- synthetic machines ----

TEST(NumaTopology, SyntheticTwoSocket) {
  const auto t = two_socket();
  EXPECT_TRUE(t.numa_supported());
  EXPECT_EQ(t.node_count(), 2);
  EXPECT_EQ(t.nodes(), (std::vector<int>{0, 1}));
  EXPECT_EQ(t.cpus_of_node(0), (std::vector<int>{0, 1, 4, 5}));
  EXPECT_EQ(t.cpus_of_node(1), (std::vector<int>{2, 3, 6, 7}));
  EXPECT_EQ(t.distance(0, 1), 21);
  EXPECT_EQ(t.distance(1, 1), 10);
  EXPECT_TRUE(t.same_core(0, 4));
  EXPECT_FALSE(t.same_core(0, 1));
  EXPECT_TRUE(t.share_l2(1, 5));
  EXPECT_FALSE(t.share_l2(1, 2));
  EXPECT_TRUE(t.share_l3(0, 5));
  EXPECT_FALSE(t.share_l3(0, 2));
  EXPECT_EQ(t.node_of_cpu(6), 1);
  expect_invalid_argument_naming([&] { (void)t.cpus_of_node(2); }, "node 2 does not exist (nodes: 0-1)");
  expect_invalid_argument_naming([&] { (void)t.node_of_cpu(8); }, "CPU 8 does not exist (CPUs: 0-7)");
}

TEST(NumaTopology, SyntheticCpusAreSortedWhateverTheInputOrder) {
  std::vector<qn::cpu_info> cpus = {{.cpu = 5, .node = 1}, {.cpu = 0, .node = 0}, {.cpu = 3, .node = 1}};
  const qn::topology t(cpus, {{10, 20}, {20, 10}});
  ASSERT_EQ(t.cpus().size(), 3u);
  EXPECT_EQ(t.cpus()[0].cpu, 0);
  EXPECT_EQ(t.cpus()[2].cpu, 5);
  EXPECT_EQ(t.cpus_of_node(1), (std::vector<int>{3, 5}));
  // Unknown cores/caches (-1) are never shared.
  EXPECT_FALSE(t.same_core(3, 5));
  EXPECT_FALSE(t.share_l3(3, 5));
  EXPECT_TRUE(t.same_core(3, 3));
}

TEST(NumaTopology, SyntheticSparseNodeIds) {
  // Nodes 0 and 4: the distance matrix follows the sorted ids.
  std::vector<qn::cpu_info> cpus = {{.cpu = 0, .node = 4}, {.cpu = 1, .node = 0}};
  const qn::topology t(cpus, {{10, 32}, {32, 10}});
  EXPECT_EQ(t.nodes(), (std::vector<int>{0, 4}));
  EXPECT_EQ(t.distance(4, 0), 32);
  EXPECT_FALSE(t.has_node(2));
  expect_invalid_argument_naming([&] { (void)t.cpus_of_node(2); }, "node 2 does not exist (nodes: 0,4)");
}

TEST(NumaTopology, SyntheticWithoutNuma) {
  const qn::topology t({{.cpu = 0}, {.cpu = 1}}, {{10}}, false);
  EXPECT_FALSE(t.numa_supported());
  EXPECT_EQ(t.nodes(), std::vector<int>{0});
  EXPECT_TRUE(contains(t.describe(), "no NUMA support"));
}

TEST(NumaTopology, InconsistentSyntheticInputIsRejected) {
  using V = std::vector<qn::cpu_info>;
  expect_invalid_argument_naming([] { qn::topology(V{}, {}); }, "no CPUs");
  expect_invalid_argument_naming([] { qn::topology(V{{.cpu = 3}, {.cpu = 3}}, {{10}}); }, "CPU 3");
  expect_invalid_argument_naming([] { qn::topology(V{{.cpu = -2}}, {{10}}); }, "CPU -2");
  expect_invalid_argument_naming([] { qn::topology(V{{.cpu = 1, .node = -5}}, {{10}}); }, "-5");
  expect_invalid_argument_naming([] { qn::topology(V{{.cpu = 0, .node = 0}, {.cpu = 1, .node = 1}}, {{10}}); },
                                 "2 nodes");
  expect_invalid_argument_naming([] { qn::topology(V{{.cpu = 0, .node = 0}, {.cpu = 1, .node = 1}}, {{10, 21}, {21}}); },
                                 "node 1");
  expect_invalid_argument_naming([] { qn::topology(V{{.cpu = 0, .node = 0}, {.cpu = 1, .node = 1}}, {{10, 0}, {21, 10}}); },
                                 "is 0");
}

TEST(NumaTopology, DescribeOfSyntheticTwoSocket) {
  const std::string d = two_socket().describe();
  EXPECT_TRUE(contains(d, "2 nodes, 8 CPUs"));
  EXPECT_TRUE(contains(d, "node 0: CPUs 0-1,4-5"));
  EXPECT_TRUE(contains(d, "node 1: CPUs 2-3,6-7"));
  // The matrix: a header of node names and one row per node.
  EXPECT_TRUE(contains(d, "node0  node1"));
  EXPECT_TRUE(contains(d, "node0     10     21"));
  EXPECT_TRUE(contains(d, "node1     21     10"));
  EXPECT_TRUE(contains(d, "cores:    0,4 | 1,5 | 2,6 | 3,7"));
  EXPECT_TRUE(contains(d, "L2:       0,4 | 1,5 | 2,6 | 3,7"));
  EXPECT_TRUE(contains(d, "L3:       0-1,4-5 | 2-3,6-7"));
  EXPECT_TRUE(contains(d, "packages: 0-1,4-5 | 2-3,6-7"));
}

// ---- where the thread runs ----

TEST(NumaTopology, CurrentCpuAndNodeWhilePinned) {
  const auto& t = qn::topology::system();
  for (const auto& c : t.cpus()) {
    auto pin = qn::scoped_affinity::to_cpu(c.cpu);
    EXPECT_EQ(qn::current_cpu(), c.cpu);
    EXPECT_EQ(qn::current_node(), c.node);
  }
  const int cpu = qn::current_cpu();
  EXPECT_TRUE(t.has_cpu(cpu));
}

}  // namespace
