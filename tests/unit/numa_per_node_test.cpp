// Unit tests for quiesce/numa/per_node.hpp: one instance per node, on that
// node, alone on a 128-byte block; local() follows the calling thread's node;
// construction copies the arguments, unwinds on a throw, and destruction runs.
#include <quiesce/numa/affinity.hpp>
#include <quiesce/numa/per_node.hpp>
#include <quiesce/numa/placement.hpp>
#include <quiesce/numa/topology.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <latch>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

namespace qn = quiesce::numa;

static_assert(qn::per_node<char>::slot_alignment == 128, "instances must start 128-byte blocks");
static_assert(qn::per_node<std::atomic<long>>::slot_alignment == 128);
struct alignas(256) wide {
  int v = 0;
};
static_assert(qn::per_node<wide>::slot_alignment == 256, "a more-aligned T keeps its own alignment");

std::uintptr_t address(const void* p) { return reinterpret_cast<std::uintptr_t>(p); }

qn::topology synthetic_two_nodes() {
  return qn::topology({{.cpu = 0, .node = 0}, {.cpu = 1, .node = 1}}, {{10, 21}, {21, 10}});
}

TEST(NumaPerNode, OneInstancePerNodeOnItsNode) {
  const auto& t = qn::topology::system();
  qn::per_node<std::atomic<long>> counters;
  ASSERT_EQ(counters.size(), t.nodes().size());
  std::set<const void*> distinct;
  for (std::size_t i = 0; i < counters.size(); ++i) {
    const int node = t.nodes()[i];
    EXPECT_EQ(counters.node_at(i), node);
    auto& c = counters.on(node);
    EXPECT_EQ(c.load(), 0);  // value-initialised
    EXPECT_EQ(address(&c) % 128, 0u);
    EXPECT_EQ(qn::node_of_address(&c), node);  // preferred placement: on this machine always satisfied
    distinct.insert(&c);
  }
  EXPECT_EQ(distinct.size(), counters.size());
}

TEST(NumaPerNode, LocalIsTheInstanceOfTheCurrentNode) {
  const auto& t = qn::topology::system();
  qn::per_node<int> values(t, 0);
  for (const auto& c : t.cpus()) {
    auto pin = qn::scoped_affinity::to_cpu(c.cpu);
    EXPECT_EQ(qn::current_node(), c.node);
    EXPECT_EQ(&values.local(), &values.on(c.node)) << "CPU " << c.cpu;
    const auto& as_const = values;
    EXPECT_EQ(&as_const.local(), &values.local());
  }
}

TEST(NumaPerNode, OverAlignedTypeKeepsItsAlignment) {
  qn::per_node<wide> w;
  for (auto& x : w) EXPECT_EQ(address(&x) % 256, 0u);
}

TEST(NumaPerNode, SyntheticTopologyHasOneInstancePerNode) {
  const auto t = synthetic_two_nodes();
  qn::per_node<int> values(t, 5);
  ASSERT_EQ(values.size(), 2u);
  EXPECT_EQ(values.on(0), 5);
  EXPECT_EQ(values.on(1), 5);
  values.on(1) = 6;
  EXPECT_EQ(values.on(0), 5);
  EXPECT_NE(&values.on(0), &values.on(1));
  EXPECT_NE(address(&values.on(0)) / 128, address(&values.on(1)) / 128);
  // local() answers for a node the per_node knows; here the machine's node
  // (0) is one of them.
  EXPECT_EQ(&values.local(), &values.on(qn::current_node()));
}

TEST(NumaPerNode, OnBadNodeNamesIt) {
  qn::per_node<int> values(synthetic_two_nodes(), 0);
  for (int bad : {2, -1, 100}) {
    try {
      (void)values.on(bad);
      ADD_FAILURE() << "on(" << bad << ") did not throw";
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find("node " + std::to_string(bad) + " does not exist (nodes: 0-1)"),
                std::string::npos)
          << e.what();
    }
  }
}

TEST(NumaPerNode, ArgumentsAreCopiedToEveryInstance) {
  std::string s(100, 'x');  // long enough to be heap-allocated: a move would empty it
  qn::per_node<std::string> strings(synthetic_two_nodes(), std::move(s));
  for (auto& v : strings) EXPECT_EQ(v, std::string(100, 'x'));
}

struct counted {
  static inline std::atomic<int> alive{0};
  static inline std::atomic<int> throw_on{-1};  // throw on the n-th construction from now
  explicit counted(int v) : value(v) {
    if (throw_on.load() == 0) {
      throw_on = -1;
      throw std::runtime_error("boom");
    }
    if (throw_on.load() > 0) --throw_on;
    ++alive;
  }
  ~counted() { --alive; }
  int value;
};

TEST(NumaPerNode, DestructorDestroysEveryInstance) {
  counted::alive = 0;
  {
    qn::per_node<counted> c(synthetic_two_nodes(), 3);
    EXPECT_EQ(counted::alive.load(), 2);
    int sum = 0;
    for (const auto& x : c) sum += x.value;
    EXPECT_EQ(sum, 6);
  }
  EXPECT_EQ(counted::alive.load(), 0);
}

TEST(NumaPerNode, ThrowingConstructorUnwindsTheBuiltInstances) {
  counted::alive = 0;
  counted::throw_on = 1;  // the second instance throws
  EXPECT_THROW((qn::per_node<counted>(synthetic_two_nodes(), 1)), std::runtime_error);
  EXPECT_EQ(counted::alive.load(), 0);  // the first was destroyed; ASan checks its pages were freed
}

TEST(NumaPerNode, ConcurrentLocalIncrementsAllCount) {
  qn::per_node<std::atomic<long>> hits;
  constexpr int threads = 4;
  constexpr int per_thread = 50000;
  std::latch go(threads);
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t)
    ts.emplace_back([&] {
      go.arrive_and_wait();
      for (int i = 0; i < per_thread; ++i) hits.local().fetch_add(1, std::memory_order_relaxed);
    });
  for (auto& t : ts) t.join();
  long total = 0;
  for (auto& h : hits) total += h.load();
  EXPECT_EQ(total, long{threads} * per_thread);
}

}  // namespace
