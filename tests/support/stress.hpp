// tests/support/stress.hpp — what the multi-threaded stress tests share:
// how much to scale their work down in slow builds, and a start gate.
#ifndef QUIESCE_TESTS_SUPPORT_STRESS_HPP
#define QUIESCE_TESTS_SUPPORT_STRESS_HPP

#include <atomic>
#include <cstdint>
#include <thread>

#include <quiesce/base/config.hpp>

namespace quiesce::test {

// Divide iteration counts by this: a tenth of the work under
// ThreadSanitizer, a quarter in unoptimised builds (Debug + AddressSanitizer,
// where an operation costs 10-50x more), all of it otherwise. Outcomes stay
// deterministic; only how long the tests run changes.
#ifdef __OPTIMIZE__
inline constexpr bool optimised = true;
#else
inline constexpr bool optimised = false;
#endif
inline constexpr std::int64_t stress_scale = quiesce::detail::base::tsan ? 10 : optimised ? 1 : 4;

// The same choice with each test's own divisors, where "optimised" means
// assertions compiled out (NDEBUG): divide by under_tsan under
// ThreadSanitizer, by unoptimised when NDEBUG is not defined, else by 1.
#ifdef NDEBUG
inline constexpr bool ndebug = true;
#else
inline constexpr bool ndebug = false;
#endif
constexpr std::int64_t ndebug_scale(std::int64_t under_tsan, std::int64_t unoptimised) {
  return quiesce::detail::base::tsan ? under_tsan : ndebug ? 1 : unoptimised;
}

// Starts n threads' work together (a spinning gate, no sleep), so that they
// overlap instead of running one after another.
class start_gate {
 public:
  explicit start_gate(int n) : left_(n) {}
  void arrive_and_wait() {
    left_.fetch_sub(1, std::memory_order_acq_rel);
    while (left_.load(std::memory_order_acquire) > 0) std::this_thread::yield();
  }

 private:
  std::atomic<int> left_;
};

}  // namespace quiesce::test

#endif  // QUIESCE_TESTS_SUPPORT_STRESS_HPP
