// tests/support/rcu_domains.hpp — what the RCU container tests (unit and
// stress) share: how a test thread takes part in each domain (QSBR threads
// must be registered, announce quiescent states and go offline while they
// block; the other domains need none of this), and a value that counts its
// own destruction.
#ifndef QUIESCE_TESTS_SUPPORT_RCU_DOMAINS_HPP
#define QUIESCE_TESTS_SUPPORT_RCU_DOMAINS_HPP

#include <atomic>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include <quiesce/rcu/rcu_domain.hpp>

namespace quiesce::test {

template <class Domain>
inline constexpr bool is_qsbr_v = std::is_same_v<Domain, quiesce::rcu_qsbr_domain>;

// Per-domain thread context: QSBR needs a registered (online) thread.
template <class Domain>
struct thread_context {};
template <>
struct thread_context<quiesce::rcu_qsbr_domain> {
  quiesce::rcu_thread_registration<quiesce::rcu_qsbr_domain> registration;
};

// Announces a quiescent state (QSBR); nothing for the other domains.
template <class Domain>
void quiescent_point() {
  if constexpr (is_qsbr_v<Domain>) quiesce::rcu_quiescent_state();
}

// Runs `f` with the calling thread offline (QSBR) or as it is.
template <class Domain, class Fn>
void blocking(Fn&& f) {
  if constexpr (is_qsbr_v<Domain>) {
    quiesce::rcu_offline_scope offline;
    f();
  } else {
    f();
  }
}

// Runs body(t) for t in [0, n) on n threads, each taking part in Domain, and
// joins them with the calling thread offline (QSBR): it must not stay online
// while it blocks in join(), as a grace period (liburcu's resize or call_rcu
// worker) may be waiting for it.
template <class Domain, class Body>
void run_threads_joined_offline(int n, Body body) {
  blocking<Domain>([&] {
    std::vector<std::thread> threads;
    for (int t = 0; t < n; ++t) {
      threads.emplace_back([&body, t] {
        [[maybe_unused]] thread_context<Domain> ctx;
        body(t);
      });
    }
    for (auto& th : threads) th.join();
  });
}

// A value that counts its own destruction (moved-from shells do not count),
// so tests can tell exactly when entries were freed.
struct tracked {
  tracked(int v, std::atomic<int>* d) : value(v), deaths(d) {}
  tracked(tracked&& o) noexcept : value(o.value), deaths(std::exchange(o.deaths, nullptr)) {}
  tracked& operator=(tracked&&) = delete;
  ~tracked() {
    if (deaths != nullptr) deaths->fetch_add(1, std::memory_order_relaxed);
  }
  int value;
  std::atomic<int>* deaths;
};

// The four domains the container unit tests run over (typed suites).
using rcu_all_domains =
    ::testing::Types<quiesce::rcu_domain, quiesce::rcu_qsbr_domain, quiesce::rcu_mb_domain, quiesce::rcu_bp_domain>;

// Base of a container's typed unit-test fixture over Domain: the test thread
// takes part in the domain, and deaths_ counts tracked values' destruction.
template <class Domain>
class rcu_container_test : public ::testing::Test {
 protected:
  using domain = Domain;
  using guard = quiesce::rcu_read_guard<Domain>;
  static constexpr bool is_qsbr = is_qsbr_v<Domain>;

  // Waits until every deleter retired to this domain so far has run.
  static void barrier() { quiesce::rcu_barrier(Domain::instance()); }

  // Deleters of containers a test destroys at its end run later: wait for
  // them here, while deaths_ (which they count into) is still alive.
  void TearDown() override { barrier(); }

  thread_context<Domain> context_;
  std::atomic<int> deaths_{0};
};

}  // namespace quiesce::test

#endif  // QUIESCE_TESTS_SUPPORT_RCU_DOMAINS_HPP
