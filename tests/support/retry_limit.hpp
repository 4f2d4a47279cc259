// tests/support/retry_limit.hpp — checking quiesce::retry_limit_exceeded
// (<quiesce/retry_limit.hpp>), which the STM and versioned_cell throw when a
// caller's retry limit runs out.
#ifndef QUIESCE_TESTS_SUPPORT_RETRY_LIMIT_HPP
#define QUIESCE_TESTS_SUPPORT_RETRY_LIMIT_HPP

#include <initializer_list>
#include <string>
#include <string_view>

#include <gtest/gtest.h>

#include <quiesce/retry_limit.hpp>

namespace quiesce::test {

// f() throws quiesce::retry_limit_exceeded, whose message contains every one
// of `parts`. A fatal failure if it returns: call through
// ASSERT_NO_FATAL_FAILURE() to stop the test there.
template <class F>
void expect_retry_limit_exceeded(F&& f, std::initializer_list<std::string_view> parts) {
  try {
    f();
    FAIL() << "no retry_limit_exceeded";
  } catch (const quiesce::retry_limit_exceeded& e) {
    const std::string what = e.what();
    for (std::string_view part : parts) EXPECT_NE(what.find(part), std::string::npos) << what;
  }
}

}  // namespace quiesce::test

#endif  // QUIESCE_TESTS_SUPPORT_RETRY_LIMIT_HPP
