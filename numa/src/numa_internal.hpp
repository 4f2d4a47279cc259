// numa/src/numa_internal.hpp — helpers shared by the numa component's
// sources. Not installed, not part of the API.
#ifndef QUIESCE_NUMA_SRC_NUMA_INTERNAL_HPP
#define QUIESCE_NUMA_SRC_NUMA_INTERNAL_HPP

#include <cstddef>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include <quiesce/numa/topology.hpp>

namespace quiesce::numa::detail {

// "0-3,8,10-11" -> {0,1,2,3,8,10,11} (sorted, unique). Malformed text gives
// what was parsed before the error. The sysfs/cpuset list format.
std::vector<int> parse_list(std::string_view text);
// The inverse: sorted unique ids -> "0-3,8,10-11"; empty -> "none".
std::string format_list(const std::vector<int>& sorted_ids);

// The page size, read once.
std::size_t page_size() noexcept;

// The calling thread's allowed CPUs (sched_getaffinity), sorted. Throws
// std::system_error if the kernel refuses.
std::vector<int> calling_thread_cpus();

// std::invalid_argument "node 7 does not exist (nodes: 0-1)" for `t`'s nodes.
[[noreturn]] void throw_no_such_node(int node, const topology& t);
// The same for an explicit node list (declared for per_node.hpp there too).
[[noreturn]] void throw_no_such_node_of(int node, const std::vector<int>& nodes);

// The mutex serialising quiesce's calls into libnuma (its caches are not
// thread-safe). node_pool's fork handlers take it last and renew it in the
// child.
std::mutex& libnuma_mutex() noexcept;

}  // namespace quiesce::numa::detail

#endif  // QUIESCE_NUMA_SRC_NUMA_INTERNAL_HPP
