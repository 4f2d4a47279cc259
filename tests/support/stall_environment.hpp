// tests/support/stall_environment.hpp — the stall detectors' timeout
// variables (QUIESCE_RCU_STALL_TIMEOUT_MS, QUIESCE_HP_STALL_TIMEOUT_MS) are
// read once, on first use, so each case runs in a freshly executed child.
#ifndef QUIESCE_TESTS_SUPPORT_STALL_ENVIRONMENT_HPP
#define QUIESCE_TESTS_SUPPORT_STALL_ENVIRONMENT_HPP

#include <cstdlib>
#include <string>

#include <gtest/gtest.h>

namespace quiesce::test {

// With `variable` set to `bad`, the detector (`detector` in the warning)
// stays enabled, its default timeout kept, and the child prints a warning
// naming the variable and the value; set to "0", the detector is disabled.
inline void expect_bad_timeout_ignored_and_zero_disables(const char* variable, const char* bad, bool (*enabled)(),
                                                         const std::string& detector) {
  const std::string warning = std::string(variable) + "='" + bad +
                              "' is not a number of milliseconds >= 0; the " + detector +
                              " keeps its timeout of 21000 ms";
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        setenv(variable, bad, 1);
        std::exit(enabled() ? 0 : 1);
      },
      ::testing::ExitedWithCode(0), warning);
  EXPECT_EXIT(
      {
        setenv(variable, "0", 1);
        std::exit(enabled() ? 1 : 0);
      },
      ::testing::ExitedWithCode(0), "");
}

}  // namespace quiesce::test

#endif  // QUIESCE_TESTS_SUPPORT_STALL_ENVIRONMENT_HPP
