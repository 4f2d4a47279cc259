// tests/support/numa.hpp — what the NUMA unit tests share: substring and
// std::invalid_argument checks, and a synthetic two-socket machine.
#ifndef QUIESCE_TESTS_SUPPORT_NUMA_HPP
#define QUIESCE_TESTS_SUPPORT_NUMA_HPP

#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <quiesce/numa/topology.hpp>

namespace quiesce::test {

// Whether `part` occurs in `text`; the failure shows both.
inline ::testing::AssertionResult contains(const std::string& text, const std::string& part) {
  if (text.find(part) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "\"" << part << "\" not in:\n" << text;
}

// f() throws std::invalid_argument whose message names `part`.
template <class F>
void expect_invalid_argument_naming(F&& f, const std::string& part) {
  try {
    f();
    ADD_FAILURE() << "no std::invalid_argument (expected one naming " << part << ")";
  } catch (const std::invalid_argument& e) {
    EXPECT_TRUE(contains(e.what(), part));
  }
}

// 2 sockets x 2 cores x 2 SMT threads, Linux numbering: CPUs 0-3 are the
// first threads of cores 0-3, CPUs 4-7 their siblings. Node 0 = cores 0,1.
inline quiesce::numa::topology two_socket() {
  std::vector<quiesce::numa::cpu_info> cpus;
  for (int c = 0; c < 8; ++c) {
    const int core = c % 4;
    const int node = core / 2;
    cpus.push_back({.cpu = c, .node = node, .core = core, .package = node, .l2 = core, .l3 = node * 2});
  }
  return quiesce::numa::topology(cpus, {{10, 21}, {21, 10}});
}

}  // namespace quiesce::test

#endif  // QUIESCE_TESTS_SUPPORT_NUMA_HPP
