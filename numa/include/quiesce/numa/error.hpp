// quiesce/numa/error.hpp — how the numa component reports bad input.
//
// A node or CPU that does not exist, an empty CPU set, a page range that is
// not mapped: std::invalid_argument (or std::system_error for a failing
// system call), with the node or CPU number in what(). An allocation the
// node cannot satisfy under placement::strict: node_allocation_error, a
// std::bad_alloc that names the node and the size.
#ifndef QUIESCE_NUMA_ERROR_HPP
#define QUIESCE_NUMA_ERROR_HPP

#include <cstddef>
#include <new>

namespace quiesce::numa {

// what(): "cannot allocate N bytes on node K (strict placement)", N being
// the size the caller asked for (before rounding to pages). Copying never
// throws (the message lives in a fixed buffer), as an exception's must not.
class node_allocation_error : public std::bad_alloc {
 public:
  node_allocation_error(int node, std::size_t bytes);
  [[nodiscard]] const char* what() const noexcept override { return what_; }
  [[nodiscard]] int node() const noexcept { return node_; }
  [[nodiscard]] std::size_t bytes() const noexcept { return bytes_; }

 private:
  int node_;
  std::size_t bytes_;
  char what_[112];  // fits the longest message (20-digit size, 11-character node)
};

}  // namespace quiesce::numa

#endif  // QUIESCE_NUMA_ERROR_HPP
