// The Disruptor on a machine with several NUMA nodes: its ring's events land
// on the node asked for (ring_memory{node}) and its processor threads run
// where processor_placement says — on the ring's node by default
// (follow_ring), on chosen CPUs (on_cpus), on another node (on_node). Runs
// inside scripts/numa_guest.sh's 2-node qemu guest (ctest
// disruptor_multinode_guest); on one node the tests skip. Kept small: the
// guest is emulated (TCG) and slow.
//
// Page nodes are read straight from the kernel (move_pages(2) in query
// mode) as well as through the library, and CPUs through sched_getcpu() and
// sched_getaffinity(), so the library cannot confirm itself.
#include <numaif.h>
#include <sched.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <set>
#include <vector>

#include <gtest/gtest.h>

#include <quiesce/disruptor.hpp>
#include <quiesce/numa.hpp>

namespace {

namespace qd = quiesce::disruptor;
namespace qn = quiesce::numa;

const qn::topology& topo() { return qn::topology::system(); }

bool multinode() {
  const char* want = std::getenv("QUIESCE_EXPECT_NODES");
  if (want != nullptr && std::atoi(want) > 1) {
    EXPECT_EQ(topo().node_count(), std::atoi(want));
  }
  return topo().node_count() > 1;
}
#define REQUIRE_MULTINODE()                                                                    \
  do {                                                                                         \
    if (!multinode()) GTEST_SKIP() << "one NUMA node here: run through scripts/numa_guest.sh"; \
  } while (0)

// The kernel's node for every page of [p, p + bytes).
std::set<int> kernel_nodes_of(const void* p, std::size_t bytes) {
  const std::size_t page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
  const auto first = reinterpret_cast<std::uintptr_t>(p) / page * page;
  std::vector<void*> pages;
  for (std::uintptr_t a = first; a < reinterpret_cast<std::uintptr_t>(p) + bytes; a += page)
    pages.push_back(reinterpret_cast<void*>(a));
  std::vector<int> status(pages.size(), -1);
  EXPECT_EQ(move_pages(0, pages.size(), pages.data(), nullptr, status.data(), 0), 0);
  return {status.begin(), status.end()};
}

struct event {
  std::int64_t value = -1;
};

// Records where its processor thread runs, and checks the events.
struct where_handler {
  std::vector<int> mask;
  std::set<int> cpus_seen;
  std::int64_t expected = 0, errors = 0;
  void on_start() {
    cpu_set_t set;
    CPU_ZERO(&set);
    sched_getaffinity(0, sizeof set, &set);
    for (int c = 0; c < CPU_SETSIZE; ++c)
      if (CPU_ISSET(c, &set)) mask.push_back(c);
    cpus_seen.insert(sched_getcpu());
  }
  void on_event(event& e, std::int64_t seq, bool) {
    errors += (seq != expected || e.value != seq) ? 1 : 0;
    expected = seq + 1;
    cpus_seen.insert(sched_getcpu());
  }
};

using blocking_sp = qd::single_producer_sequencer<qd::blocking_wait_strategy>;
constexpr std::int64_t kEvents = 2000;
constexpr std::size_t kRing = 4096;  // 32 KiB of events: several pages

void run_events(qd::disruptor<event, blocking_sp>& d) {
  auto& ring = d.start();
  for (std::int64_t i = 0; i < kEvents; ++i) ring.publish_event([](event& e, std::int64_t, std::int64_t v) { e.value = v; }, i);
  d.shutdown();
}

bool all_on_node(const std::set<int>& cpus, int node) {
  for (int c : cpus)
    if (topo().node_of_cpu(c) != node) return false;
  return !cpus.empty();
}

TEST(DisruptorMultinode, RingAndProcessorsOnTheRingsNodeByDefault) {
  REQUIRE_MULTINODE();
  const int node = topo().nodes().back();
  where_handler a, b;
  qd::disruptor<event, blocking_sp> d(kRing, [] { return event{}; }, qd::ring_memory{node});
  d.handle_events_with(a).then(b);  // default placement: follow_ring
  // The events' pages, before and after use, in the kernel's word and the library's.
  EXPECT_EQ(kernel_nodes_of(d.ring().data(), d.ring().data_bytes()), std::set<int>{node});
  for (int n : qn::nodes_of_range(d.ring().data(), d.ring().data_bytes())) EXPECT_EQ(n, node);
  run_events(d);
  EXPECT_EQ(kernel_nodes_of(d.ring().data(), d.ring().data_bytes()), std::set<int>{node});
  for (const where_handler* h : {&a, &b}) {
    EXPECT_EQ(h->errors, 0);
    EXPECT_EQ(h->expected, kEvents);
    EXPECT_EQ(h->mask, topo().cpus_of_node(node)) << "the processor's affinity is not the ring's node's CPUs";
    EXPECT_TRUE(all_on_node(h->cpus_seen, node)) << "a processor ran off the ring's node";
  }
}

// The sequencer's shared fields (the cursor, the producers' fields, the
// multi-producer availability array) go to the events' node, and stay there
// while events flow.
template <class Sequencer>
void expect_sequencer_on(const Sequencer& s, int node) {
  ASSERT_EQ(s.node(), node);
  const auto blocks = s.memory_blocks();
  ASSERT_FALSE(blocks.empty());
  for (const auto& b : blocks) {
    EXPECT_EQ(kernel_nodes_of(b.data(), b.size()), std::set<int>{node});
    for (int n : qn::nodes_of_range(b.data(), b.size())) EXPECT_EQ(n, node);
  }
  EXPECT_EQ(kernel_nodes_of(&s.cursor_sequence(), sizeof(qd::sequence)), std::set<int>{node});
}

TEST(DisruptorMultinode, SequencerFieldsOnTheRingsNode) {
  REQUIRE_MULTINODE();
  for (int node : topo().nodes()) {
    where_handler a;
    qd::disruptor<event, blocking_sp> d(kRing, [] { return event{}; }, qd::ring_memory{node});
    d.handle_events_with(a);
    expect_sequencer_on(d.ring().sequencer(), node);
    run_events(d);
    expect_sequencer_on(d.ring().sequencer(), node);
    EXPECT_EQ(a.errors, 0);
    EXPECT_EQ(a.expected, kEvents);
  }
}

TEST(DisruptorMultinode, MultiProducerAvailabilityArrayOnTheRingsNode) {
  REQUIRE_MULTINODE();
  using blocking_mp = qd::multi_producer_sequencer<qd::blocking_wait_strategy>;
  for (int node : topo().nodes()) {
    where_handler a;
    qd::disruptor<event, blocking_mp> d(kRing, [] { return event{}; }, qd::ring_memory{node});
    d.handle_events_with(a);
    const auto blocks = d.ring().sequencer().memory_blocks();
    ASSERT_EQ(blocks.size(), 2u);
    EXPECT_GE(blocks[1].size(), kRing * sizeof(std::int32_t)) << "the availability array";
    expect_sequencer_on(d.ring().sequencer(), node);
    auto& ring = d.start();
    for (std::int64_t i = 0; i < kEvents; ++i)
      ring.publish_event([](event& e, std::int64_t, std::int64_t v) { e.value = v; }, i);
    d.shutdown();
    expect_sequencer_on(d.ring().sequencer(), node);
    EXPECT_EQ(a.errors, 0);
    EXPECT_EQ(a.expected, kEvents);
  }
}

TEST(DisruptorMultinode, ProcessorsOnChosenCpus) {
  REQUIRE_MULTINODE();
  const int first = topo().cpus().front().cpu, last = topo().cpus().back().cpu;
  ASSERT_NE(topo().node_of_cpu(first), topo().node_of_cpu(last));
  where_handler a, b;
  qd::disruptor<event, blocking_sp> d(kRing, [] { return event{}; }, qd::ring_memory{topo().node_of_cpu(last)});
  d.set_placement(qd::processor_placement::on_cpus({last, first}));
  d.handle_events_with(a, b);
  run_events(d);
  EXPECT_EQ(a.mask, std::vector<int>{last});
  EXPECT_EQ(a.cpus_seen, std::set<int>{last});
  EXPECT_EQ(b.mask, std::vector<int>{first});
  EXPECT_EQ(b.cpus_seen, std::set<int>{first});
  EXPECT_EQ(a.expected, kEvents);
  EXPECT_EQ(b.expected, kEvents);
}

TEST(DisruptorMultinode, ProcessorsOnAnotherNodeAndUnpinned) {
  REQUIRE_MULTINODE();
  const int ring_node = topo().nodes().back(), run_node = topo().nodes().front();
  where_handler a;
  {
    qd::disruptor<event, blocking_sp> d(kRing, [] { return event{}; }, qd::ring_memory{ring_node});
    d.set_placement(qd::processor_placement::on_node(run_node));
    d.handle_events_with(a);
    run_events(d);
    EXPECT_EQ(kernel_nodes_of(d.ring().data(), d.ring().data_bytes()), std::set<int>{ring_node});
  }
  EXPECT_EQ(a.mask, topo().cpus_of_node(run_node));
  EXPECT_TRUE(all_on_node(a.cpus_seen, run_node));
  where_handler u;
  {
    qd::disruptor<event, blocking_sp> d(kRing, [] { return event{}; }, qd::ring_memory{ring_node});
    d.set_placement(qd::processor_placement::unpinned());
    d.handle_events_with(u);
    run_events(d);
  }
  EXPECT_EQ(u.mask.size(), topo().cpus().size()) << "unpinned processors keep the whole mask";
}

}  // namespace
