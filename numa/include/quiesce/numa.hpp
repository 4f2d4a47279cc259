// quiesce/numa.hpp — NUMA topology, node-local memory, placement checks and
// pinning, over libnuma. Everything degrades to one node on machines without
// NUMA: no call fails for lack of it.
//
//   numa/topology.hpp        topology::system(), current_cpu(), current_node()
//   numa/node_allocator.hpp  allocate_on_node, node_allocator<T>, node_pool
//   numa/per_node.hpp        per_node<T>
//   numa/placement.hpp       node_of_address, nodes_of_range, move_to_node
//   numa/affinity.hpp        scoped_affinity, pipeline_cpus
//   numa/error.hpp           node_allocation_error
#ifndef QUIESCE_NUMA_HPP
#define QUIESCE_NUMA_HPP

#include <quiesce/numa/affinity.hpp>
#include <quiesce/numa/error.hpp>
#include <quiesce/numa/node_allocator.hpp>
#include <quiesce/numa/per_node.hpp>
#include <quiesce/numa/placement.hpp>
#include <quiesce/numa/topology.hpp>

#endif  // QUIESCE_NUMA_HPP
