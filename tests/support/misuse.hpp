// tests/support/misuse.hpp — what the misuse (death) tests share: a fixture
// that runs each death test's child in "threadsafe" style (re-executed, so
// threads the parent started do not matter), and a race between two threads
// that a misuse check must turn into an abort.
#ifndef QUIESCE_TESTS_SUPPORT_MISUSE_HPP
#define QUIESCE_TESTS_SUPPORT_MISUSE_HPP

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include <gtest/gtest.h>

namespace quiesce::test {

// The fixture of a death-test suite: `using XMisuseDeathTest = quiesce::test::threadsafe_death_test;`.
class threadsafe_death_test : public ::testing::Test {
 protected:
  void SetUp() override { GTEST_FLAG_SET(death_test_style, "threadsafe"); }
};

// Starts a() and b() on two threads released together; neither returns, and
// the misuse check is to abort the process once their calls overlap. That is
// a matter of scheduling, but with both threads doing nothing else it comes
// within microseconds; after 30 s the child gives up ("no overlap detected",
// exit status 0), which fails the death test.
template <class A, class B>
[[noreturn]] void race_until_caught(A a, B b) {
  std::atomic<bool> go{false};
  auto released = [&go](auto& f) {
    return [&go, &f] {
      while (!go.load(std::memory_order_acquire)) {
      }
      f();
    };
  };
  std::thread ta(released(a)), tb(released(b));
  go.store(true, std::memory_order_release);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
  std::fputs("no overlap detected\n", stderr);
  std::_Exit(0);
}

}  // namespace quiesce::test

#endif  // QUIESCE_TESTS_SUPPORT_MISUSE_HPP
