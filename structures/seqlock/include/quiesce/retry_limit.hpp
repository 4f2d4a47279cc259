// quiesce/retry_limit.hpp — the exception an optimistic retry loop throws
// when it gives up: quiesce::retry_limit_exceeded.
//
// Every optimistic read-compute-commit loop in quiesce (versioned_cell<T>::
// update(), the STM's transactions) retries a commit that lost a race, with
// bounded exponential back-off, up to a limit the caller chooses. Past it the
// loop throws retry_limit_exceeded, whose what() names the operation, the
// limit, and what to change. Nothing was committed by the failed call.
//
// The limit is a livelock detector, not a timeout: every failed attempt means
// another thread's commit succeeded, so the system as a whole progressed. A
// loop that hits it is contending for data too hot for optimistic updates
// (use a lock, or shard the data), or its limit is too low.
#ifndef QUIESCE_RETRY_LIMIT_HPP
#define QUIESCE_RETRY_LIMIT_HPP

#include <stdexcept>
#include <string>

namespace quiesce {

class retry_limit_exceeded : public std::runtime_error {
 public:
  explicit retry_limit_exceeded(const std::string& what) : std::runtime_error(what) {}
  explicit retry_limit_exceeded(const char* what) : std::runtime_error(what) {}
};

}  // namespace quiesce

#endif  // QUIESCE_RETRY_LIMIT_HPP
