// Unit tests for polled grace periods (start_poll / poll_state /
// cond_synchronize), which quiesce adds on top of liburcu 0.13.
#include <quiesce/rcu.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

namespace {

// Spins (yielding) until pred() or the deadline; returns pred(). The deadline
// only bounds a broken implementation; a correct one finishes in ~20 ms.
template <class P>
bool eventually(P pred, std::chrono::seconds limit = std::chrono::seconds(60)) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > end) return false;
    std::this_thread::yield();
  }
  return true;
}

template <class D>
class RcuPoll : public ::testing::Test {};
using Domains = ::testing::Types<quiesce::rcu_domain, quiesce::rcu_mb_domain, quiesce::rcu_bp_domain>;
TYPED_TEST_SUITE(RcuPoll, Domains);

TYPED_TEST(RcuPoll, CookieCompletesWithoutAnyoneSynchronizing) {
  auto& d = TypeParam::instance();
  const auto c = d.start_poll();
  EXPECT_TRUE(eventually([&] { return d.poll_state(c); })) << "the call_rcu hook must drive the grace period";
}

TYPED_TEST(RcuPoll, SynchronizeCompletesEarlierCookies) {
  auto& d = TypeParam::instance();
  const auto c1 = d.start_poll();
  const auto c2 = d.start_poll();
  d.synchronize();
  EXPECT_TRUE(d.poll_state(c1));
  EXPECT_TRUE(d.poll_state(c2));
  const auto c3 = d.start_poll();
  d.cond_synchronize(c3);
  EXPECT_TRUE(d.poll_state(c3));
}

TYPED_TEST(RcuPoll, CookieStaysIncompleteWhileAPreExistingReaderIsInside) {
  using D = TypeParam;
  auto& d = D::instance();
  std::atomic<int> stage{0};
  quiesce::rcu_poll_cookie c;
  std::thread reader([&] {
    quiesce::rcu_read_guard<D> g;
    stage = 1;
    while (stage.load() != 2) std::this_thread::yield();
  });
  while (stage.load() != 1) std::this_thread::yield();
  c = d.start_poll();
  // Several call_rcu batches' worth of polling: none may report completion.
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(100);
  while (std::chrono::steady_clock::now() < until) {
    ASSERT_FALSE(d.poll_state(c)) << "grace period reported complete while a pre-existing reader is inside";
    std::this_thread::yield();
  }
  stage = 2;
  reader.join();
  EXPECT_TRUE(eventually([&] { return d.poll_state(c); }));
}

TYPED_TEST(RcuPoll, ManyConcurrentPollersAllComplete) {
  auto& d = TypeParam::instance();
  std::vector<std::thread> ts;
  std::atomic<int> completed{0};
  for (int t = 0; t < 4; ++t)
    ts.emplace_back([&] {
      for (int i = 0; i < 20; ++i) {
        const auto c = d.start_poll();
        if (eventually([&] { return d.poll_state(c); })) ++completed;
      }
    });
  for (auto& t : ts) t.join();
  EXPECT_EQ(completed.load(), 80);
}

TEST(RcuPollQsbr, RegisteredThreadPolls) {
  quiesce::rcu_thread_registration<quiesce::rcu_qsbr_domain> reg;
  auto& d = quiesce::rcu_qsbr();
  const auto c = d.start_poll();
  // The polling thread is online: it must announce quiescent states.
  EXPECT_TRUE(eventually([&] {
    quiesce::rcu_quiescent_state();
    return d.poll_state(c);
  }));
}

}  // namespace
