// quiesce/numa/topology.hpp — the machine as placement decisions need it:
// NUMA nodes, their CPUs and distances, which CPUs share a core, an L2 or an L3.
//
//   const auto& t = quiesce::numa::topology::system();
//   for (int n : t.nodes()) std::printf("node %d: %zu cpus\n", n, t.cpus_of_node(n).size());
//   int d = t.distance(0, t.nodes().back());   // 10 local, ~21 one hop
//
// Sources: libnuma (numa_available, numa_node_of_cpu, numa_distance) for
// nodes; sysfs /sys/devices/system/cpu/cpuN/{topology,cache} for cores and
// caches (what hwloc itself reads on Linux). A machine without NUMA support
// (numa_available() < 0, or a kernel without it) is one node, 0, holding
// every CPU at distance 10: never an error. CPUs are those in the process's
// affinity mask at probe time.
//
// When to use it: to choose CPUs and nodes (affinity.hpp, per_node.hpp and
// node_allocator.hpp use it); to print what a benchmark ran on. Not to
// follow a running thread: current_cpu()/current_node() are snapshots.
//
// Identifiers. `core` is the lowest online CPU with the same
// (physical_package_id, core_id) pair, so SMT siblings share it and it is
// unique machine-wide (sysfs core_id repeats across packages). `l2`/`l3` are
// the lowest CPU of the cache's shared_cpu_list (unified or data caches).
// All three are independent of the affinity mask; -1 where sysfs is missing.
//
// Nodes. The probed topology lists the nodes of its CPUs plus the nodes the
// process may allocate memory from (Mems_allowed), so a memory-only node (no
// CPUs, e.g. CXL) is a valid target for allocate_on_node; its
// cpus_of_node() is empty. A topology built with the public constructor has
// exactly the nodes of its CPUs.
//
// Thread safety: a topology is immutable after construction; every const
// member may be called from any thread concurrently.
#ifndef QUIESCE_NUMA_TOPOLOGY_HPP
#define QUIESCE_NUMA_TOPOLOGY_HPP

#include <string>
#include <vector>

namespace quiesce::numa {

struct cpu_info {
  int cpu = -1;
  int node = 0;
  int core = -1;     // physical core id (SMT siblings share it), unique machine-wide
  int package = -1;  // socket
  int l2 = -1;       // id of the L2 instance (lowest CPU sharing it); -1 unknown
  int l3 = -1;       // id of the L3 instance (lowest CPU sharing it); -1 unknown
};

class topology {
 public:
  // The probed machine, probed once, on first call (thread-safe: a
  // function-local static; concurrent first callers wait for one probe:
  // sched_getaffinity, libnuma's queries and a few sysfs files per CPU, each
  // an open, a read and a close; later calls cost a load and a branch). The
  // CPUs are the calling thread's affinity mask at that first call: call it
  // early (e.g. in main) if threads narrow their masks later. Never throws for lack of NUMA;
  // std::system_error or std::bad_alloc only if the kernel or memory fails.
  static const topology& system();
  // A fresh probe (e.g. after the affinity mask changed), same sources and
  // cost as the first system() call. Any thread.
  static topology probe();
  // An explicit machine, for tests and "what if" planning. `distances` is
  // node_count x node_count in the order of the sorted node ids of `cpus`.
  // Throws std::invalid_argument when inconsistent (no CPUs, a negative or
  // repeated CPU, a negative node, a distance matrix of the wrong shape or
  // with non-positive entries), naming the offending number.
  topology(std::vector<cpu_info> cpus, std::vector<std::vector<int>> distances, bool numa_supported = true);

  // Lookups: any thread, O(1) unless noted, no system calls.
  [[nodiscard]] bool numa_supported() const noexcept { return numa_supported_; }
  [[nodiscard]] int node_count() const noexcept { return static_cast<int>(nodes_.size()); }
  [[nodiscard]] const std::vector<int>& nodes() const noexcept { return nodes_; }        // sorted ids
  [[nodiscard]] const std::vector<cpu_info>& cpus() const noexcept { return cpus_; }     // sorted by cpu
  // Throw std::invalid_argument naming the node/CPU when it does not exist
  // ("node 7 does not exist (nodes: 0-1)", "CPU 9 does not exist (CPUs: 0-7)").
  [[nodiscard]] const std::vector<int>& cpus_of_node(int node) const;  // sorted; empty for a memory-only node
  [[nodiscard]] int node_of_cpu(int cpu) const;
  [[nodiscard]] const cpu_info& cpu(int cpu) const;
  [[nodiscard]] int distance(int from_node, int to_node) const;
  // True for the same CPU; false where the relation is unknown (-1 ids).
  [[nodiscard]] bool same_core(int cpu_a, int cpu_b) const;
  [[nodiscard]] bool share_l2(int cpu_a, int cpu_b) const;
  [[nodiscard]] bool share_l3(int cpu_a, int cpu_b) const;
  [[nodiscard]] bool has_node(int node) const noexcept;
  [[nodiscard]] bool has_cpu(int cpu) const noexcept;

  // Human-readable: nodes, their CPUs, the distance matrix, cache sharing
  // (core, L2, L3 and package groups). Several lines, '\n'-terminated.
  [[nodiscard]] std::string describe() const;

 private:
  topology() = default;
  void index();  // validates and fills node_cpus_, cpu_index_, node_index_
  [[nodiscard]] int node_slot(int node) const;  // index into nodes_, or throws
  [[nodiscard]] const cpu_info& checked_cpu(int cpu) const;

  bool numa_supported_ = false;
  std::vector<int> nodes_;
  std::vector<cpu_info> cpus_;
  std::vector<std::vector<int>> node_cpus_;   // parallel to nodes_
  std::vector<std::vector<int>> distances_;   // parallel to nodes_
  std::vector<int> cpu_index_;                // cpu id -> index into cpus_, -1 none
  std::vector<int> node_index_;               // node id -> index into nodes_, -1 none
};

// The CPU and node the calling thread runs on right now (sched_getcpu; may
// change at any time unless the thread is pinned). Any thread, wait-free.
// current_cpu: sched_getcpu (glibc reads the rseq area, one load; otherwise
// a vDSO call); 0 if the kernel cannot say. current_node: current_cpu() looked up
// in a CPU -> node table built once from libnuma for every configured CPU
// (so it is right on CPUs outside the probe's mask too); 0 without NUMA.
int current_cpu() noexcept;
int current_node() noexcept;

}  // namespace quiesce::numa

#endif  // QUIESCE_NUMA_TOPOLOGY_HPP
