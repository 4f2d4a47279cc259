// quiesce/retry_limit.hpp — the exception an optimistic retry loop throws
// when it gives up.
//
// quiesce's optimistic operations (quiesce::atomically() in <quiesce/stm.hpp>,
// and any other loop that retries after losing a race) retry until they
// succeed unless the caller bounds the number of retries; past that bound
// they throw retry_limit_exceeded, with nothing committed or published. Its
// what() names the operation, the limit, and how to raise it.
#ifndef QUIESCE_RETRY_LIMIT_HPP
#define QUIESCE_RETRY_LIMIT_HPP

#include <stdexcept>

namespace quiesce {

// Thrown by an optimistic operation that failed more times than its
// caller's retry limit allowed. The operation had no effect.
class retry_limit_exceeded : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace quiesce

#endif  // QUIESCE_RETRY_LIMIT_HPP
