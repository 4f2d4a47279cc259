// Unit tests for the retire backlog bound: a writer that outruns reclamation
// is slowed down, never deadlocked.
#include <quiesce/rcu.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

namespace {

std::atomic<long> deleted{0};
struct blob {
  ~blob() { ++deleted; }
  char payload[64];
};

class RcuBacklog : public ::testing::Test {
 protected:
  void SetUp() override {
    quiesce::rcu_barrier();
    saved_ = quiesce::rcu_default_domain().backlog_limit();
    deleted = 0;
  }
  void TearDown() override { quiesce::rcu_default_domain().set_backlog_limit(saved_); }
  std::size_t saved_ = 0;
};

TEST_F(RcuBacklog, WriterIsThrottledAndOutstandingStaysBounded) {
  auto& d = quiesce::rcu_default_domain();
  constexpr std::size_t limit = 256;
  d.set_backlog_limit(limit);
  const auto before = d.stats();
  std::size_t max_seen = 0;
  constexpr int n = 5000;
  for (int i = 0; i < n; ++i) {
    quiesce::rcu_retire(new blob);
    max_seen = std::max(max_seen, d.stats().outstanding);
  }
  // The backlog is checked every backlog_check_interval retires of a thread,
  // and retire() then waits until it is back at or under the limit.
  EXPECT_LE(max_seen, limit + quiesce::rcu_domain::backlog_check_interval);
  EXPECT_GT(d.stats().throttled, before.throttled);
  quiesce::rcu_barrier();
  EXPECT_EQ(deleted.load(), n);
  EXPECT_EQ(d.stats().outstanding, 0u);
}

TEST_F(RcuBacklog, RetireInsideReadSectionOverrunsInsteadOfDeadlocking) {
  auto& d = quiesce::rcu_default_domain();
  d.set_backlog_limit(16);
  const auto before = d.stats();
  {
    quiesce::rcu_read_guard g;  // waiting here would wait for ourselves
    for (int i = 0; i < 100; ++i) quiesce::rcu_retire(new blob);
  }
  EXPECT_GT(d.stats().overruns, before.overruns);
  quiesce::rcu_barrier();
  EXPECT_EQ(deleted.load(), 100);
}

TEST_F(RcuBacklog, QsbrOnlineWriterOverrunsOfflineWriterWaits) {
  quiesce::rcu_thread_registration<quiesce::rcu_qsbr_domain> reg;
  auto& d = quiesce::rcu_qsbr();
  const auto saved = d.backlog_limit();
  d.set_backlog_limit(16);
  const auto before = d.stats();
  for (int i = 0; i < 100; ++i) d.retire(new blob);
  EXPECT_GT(d.stats().overruns, before.overruns);
  {
    quiesce::rcu_offline_scope off;
    for (int i = 0; i < 100; ++i) d.retire(new blob);
  }
  EXPECT_GT(d.stats().throttled, before.throttled);
  d.barrier();
  EXPECT_EQ(deleted.load(), 200);
  d.set_backlog_limit(saved);
}

TEST_F(RcuBacklog, ManyWritersShareTheBound) {
  auto& d = quiesce::rcu_default_domain();
  d.set_backlog_limit(128);
  std::vector<std::thread> ts;
  for (int t = 0; t < 3; ++t)
    ts.emplace_back([] {
      for (int i = 0; i < 2000; ++i) quiesce::rcu_retire(new blob);
    });
  for (auto& t : ts) t.join();
  quiesce::rcu_barrier();
  EXPECT_EQ(deleted.load(), 6000);
}

}  // namespace
