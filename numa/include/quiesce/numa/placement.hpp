// quiesce/numa/placement.hpp — where memory lives, and moving it.
//
//   int n = quiesce::numa::node_of_address(p);          // after first touch
//   quiesce::numa::move_to_node(p, bytes, 1);           // migrate the pages
//
// node_of_address uses move_pages(2) in query mode (nodes == NULL), falling
// back to get_mempolicy(MPOL_F_NODE | MPOL_F_ADDR); a page that was never
// touched has no node yet (-1). On a machine without NUMA support every
// touched page is on node 0.
#ifndef QUIESCE_NUMA_PLACEMENT_HPP
#define QUIESCE_NUMA_PLACEMENT_HPP

#include <cstddef>
#include <vector>

namespace quiesce::numa {

// Node of the page holding `p`; -1 if the page is mapped but not yet faulted
// in. A page only read so far maps the kernel's shared zero page: -1 on
// older kernels, the zero page's node on newer ones (6.18). Throws
// std::invalid_argument if `p` is not mapped.
int node_of_address(const void* p);
// Node of every page of [p, p + bytes), in order (-1 for untouched pages).
std::vector<int> nodes_of_range(const void* p, std::size_t bytes);
// Migrates the pages of [p, p + bytes) to `node` (move_pages, MPOL_MF_MOVE).
// Throws std::invalid_argument for a node that does not exist and
// std::system_error (naming the node) if the kernel refuses.
void move_to_node(void* p, std::size_t bytes, int node);

}  // namespace quiesce::numa

#endif  // QUIESCE_NUMA_PLACEMENT_HPP
