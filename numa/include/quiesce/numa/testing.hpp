// quiesce/numa/testing.hpp — fault injection for tests (not for production
// use): make node_pool's next chunk mappings fail as if the node had no
// memory left, to test how code that allocates from pools behaves when
// allocation fails.
//
//   quiesce::numa::testing::fail_next_chunk_allocations(1);
//   EXPECT_THROW(pool.allocate(), std::bad_alloc);  // if it needed a new chunk
//
// The hook sits where node_pool maps a new chunk (its slow path, already
// mmap, mbind and populate system calls), so allocations served from a
// thread's cache or the
// pool's free list are unaffected and the fast path costs nothing: one
// relaxed atomic load per chunk mapped. A failed chunk throws exactly what a
// real failure does: node_allocation_error for a placement::strict pool,
// std::bad_alloc for placement::preferred, the pool left unchanged.
// Process-wide: the countdown is shared by every pool and thread. Page
// allocations through allocate_on_node / node_allocator are not affected.
#ifndef QUIESCE_NUMA_TESTING_HPP
#define QUIESCE_NUMA_TESTING_HPP

#include <cstddef>

namespace quiesce::numa::testing {

// The next n chunk mappings of any node_pool fail (n = 0 cancels what is
// left of an earlier countdown). Any thread.
void fail_next_chunk_allocations(std::size_t n) noexcept;

// How many injected failures are still to come. Any thread.
[[nodiscard]] std::size_t pending_chunk_failures() noexcept;

// Chunk mappings that failed because of injection since the program started.
[[nodiscard]] std::size_t injected_chunk_failures() noexcept;

}  // namespace quiesce::numa::testing

#endif  // QUIESCE_NUMA_TESTING_HPP
