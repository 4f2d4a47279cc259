// quiesce/numa/affinity.hpp — pinning threads, and choosing CPUs for them.
//
//   {
//     auto pin = quiesce::numa::scoped_affinity::to_node(1);   // runs on node 1's CPUs
//     ...
//   }                                                          // previous affinity restored
//   auto cpus = quiesce::numa::pipeline_cpus(3);                // e.g. producer, stage, consumer
//
// pipeline_cpus orders CPUs so that consecutive pipeline stages are as close
// as the topology allows: SMT siblings of one core first, then CPUs sharing an
// L2, then an L3, then the same node, then the nearest node by distance.
//
// When to use it: threads that hand data to each other at high rates
// (disruptor stages, a producer and its consumer), and measurements that must
// name their placement. When not: general worker pools, which the scheduler
// balances better than a fixed plan. Compared with numa_run_on_node /
// sched_setaffinity called directly: the same system calls, plus validation
// that names the bad CPU and a guaranteed restore.
//
// Cost: a pin or restore is one sched_setaffinity system call (migrating
// the thread to a CPU it is not on adds a context switch).
#ifndef QUIESCE_NUMA_AFFINITY_HPP
#define QUIESCE_NUMA_AFFINITY_HPP

#include <cstddef>
#include <span>
#include <vector>

#include <quiesce/numa/topology.hpp>

namespace quiesce::numa {

// Pins the calling thread for the object's lifetime and restores the
// affinity it had before. Must be destroyed on the thread that created it.
// Throws std::invalid_argument (naming the CPU or node) for a CPU or node
// that does not exist or is outside the process's allowed set, and for an
// empty set.
//
// "Allowed set" is topology::system()'s CPUs: the affinity mask at its first
// call. Pins nest (an inner pin may pick any allowed CPU, also outside the
// outer pin) and restore in reverse order. When the constructor returns, the
// thread runs on one of the CPUs (the kernel migrates it before
// sched_setaffinity returns). The destructor restores the saved mask; if
// the kernel refuses (the cpuset shrank meanwhile), the mask stays as it is.
class [[nodiscard]] scoped_affinity {
 public:
  explicit scoped_affinity(std::span<const int> cpus);
  static scoped_affinity to_cpu(int cpu);
  // The node's CPUs (topology::system().cpus_of_node); invalid_argument for a
  // node that does not exist or has no CPUs in the allowed set.
  static scoped_affinity to_node(int node);
  ~scoped_affinity();
  // The moved-from object restores nothing.
  scoped_affinity(scoped_affinity&&) noexcept;
  scoped_affinity(const scoped_affinity&) = delete;
  scoped_affinity& operator=(const scoped_affinity&) = delete;
  scoped_affinity& operator=(scoped_affinity&&) = delete;

 private:
  struct saved;
  saved* saved_;  // the previous mask; null once moved from
};

// The calling thread's current allowed CPUs, sorted (sched_getaffinity; any
// thread; one system call).
std::vector<int> current_affinity();

// `n` CPUs for a pipeline of n threads, closest first (see above). Throws
// std::invalid_argument if n is 0 or exceeds the topology's CPUs.
// Greedy: the first CPU of `t` (for the system topology, the lowest CPU of the
// process's mask), then repeatedly the unused CPU closest to the previous
// pick, closeness ordered by (same core, shared L2, shared L3, same node,
// node distance, lower CPU number). Pure computation over `t`, O(n x CPUs);
// any thread.
std::vector<int> pipeline_cpus(std::size_t n, const topology& t = topology::system());

}  // namespace quiesce::numa

#endif  // QUIESCE_NUMA_AFFINITY_HPP
