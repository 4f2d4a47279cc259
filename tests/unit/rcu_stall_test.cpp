// The grace-period stall detector (quiesce/rcu/stall.hpp): a reader parked
// inside its read-side section (or a QSBR thread that never announces a
// quiescent state) holds up synchronize, barrier and reclamation; the
// detector must name it, say how long, and rate-limit its reports.
//
// Bounded and sleep-free: the parked thread waits on a flag the test sets
// only after the report it expects has arrived (or a generous deadline has
// passed, which fails the test).
#include <pthread.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <condition_variable>
#include <latch>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include <quiesce/rcu.hpp>

#include "support/stall_environment.hpp"

namespace {

using namespace std::chrono_literals;
using quiesce::rcu_stall_report;

constexpr auto deadline = 60s;  // only reached if the detector is broken

// Collects reports from the watchdog thread.
class collector {
 public:
  void operator()(const rcu_stall_report& r) {
    std::lock_guard lk(mu_);
    reports_.push_back(copy(r));
    cv_.notify_all();
  }
  // Waits until `n` reports have arrived (false at the deadline).
  bool wait_for(std::size_t n) {
    std::unique_lock lk(mu_);
    return cv_.wait_for(lk, deadline, [&] { return reports_.size() >= n; });
  }
  std::vector<rcu_stall_report> reports() {
    std::lock_guard lk(mu_);
    return reports_;
  }

 private:
  static rcu_stall_report copy(const rcu_stall_report& r) { return r; }
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<rcu_stall_report> reports_;
};

// Configures the detector for one test, disables it after.
class StallDetector : public ::testing::Test {
 protected:
  void configure(std::chrono::milliseconds timeout, std::chrono::milliseconds interval = 1h) {
    quiesce::rcu_stall_options o;
    o.timeout = timeout;
    o.report_interval = interval;
    o.handler = [c = col_](const rcu_stall_report& r) { (*c)(r); };
    quiesce::rcu_stall_detector_configure(std::move(o));
  }
  void TearDown() override { quiesce::rcu_stall_detector_disable(); }
  std::shared_ptr<collector> col_ = std::make_shared<collector>();
};

// A thread that enters a read-side section of Domain (QSBR: goes online and
// stays there without a quiescent state), says so, and stays until released.
template <class Domain>
class parked_reader {
 public:
  explicit parked_reader(const char* name) {
    thread_ = std::thread([this, name] {
      pthread_setname_np(pthread_self(), name);
      tid_ = ::gettid();
      quiesce::rcu_thread_registration<Domain> reg;
      {
        quiesce::rcu_read_guard<Domain> g;
        inside_.count_down();
        while (!release_.load(std::memory_order_acquire)) std::this_thread::yield();
      }
    });
    inside_.wait();
  }
  void release() { release_.store(true, std::memory_order_release); }
  ~parked_reader() {
    release();
    thread_.join();
  }
  pid_t tid() const { return tid_; }

 private:
  std::latch inside_{1};
  std::atomic<bool> release_{false};
  pid_t tid_ = 0;
  std::thread thread_;
};

template <class Domain>
void expect_holder(const rcu_stall_report& r, const parked_reader<Domain>& reader, const char* name) {
  bool found = false;
  for (const auto& h : r.holders) {
    if (h.tid == reader.tid()) {
      found = true;
      EXPECT_EQ(h.name, name);
      EXPECT_GT(h.blocking_for.count(), 0);
    }
  }
  EXPECT_TRUE(found) << quiesce::to_string(r);
}

TEST_F(StallDetector, NamesTheMembReaderHoldingSynchronize) {
  configure(100ms);
  parked_reader<quiesce::rcu_domain> reader("stalled-memb");
  std::thread sync([] { quiesce::rcu_synchronize(); });
  ASSERT_TRUE(col_->wait_for(1)) << "no stall report within " << deadline.count() << " s";
  reader.release();
  sync.join();
  const auto r = col_->reports().front();
  EXPECT_STREQ(r.flavor, "memb");
  EXPECT_EQ(r.waiting, rcu_stall_report::wait_kind::synchronize);
  EXPECT_GE(r.waited, 100ms);
  expect_holder(r, reader, "stalled-memb");
  const std::string line = quiesce::to_string(r);
  EXPECT_NE(line.find("quiesce: rcu stall: memb grace period waited"), std::string::npos) << line;
  EXPECT_NE(line.find("\"stalled-memb\" inside a read-side section"), std::string::npos) << line;
}

TEST_F(StallDetector, ReportsAreRateLimitedWhileTheStallLasts) {
  configure(50ms, 300ms);
  parked_reader<quiesce::rcu_domain> reader("stalled-rate");
  std::thread sync([] { quiesce::rcu_synchronize(); });
  ASSERT_TRUE(col_->wait_for(2));
  reader.release();
  sync.join();
  const auto rs = col_->reports();
  // Same stall: the second report comes at least report_interval after the
  // first (measured on the detector's own clock), and says how many checks
  // it held back.
  EXPECT_GE(rs[1].waited - rs[0].waited, 300ms);
  EXPECT_GE(rs[1].suppressed, 1u);
  EXPECT_EQ(rs[0].suppressed, 0u);
}

TEST_F(StallDetector, ReclamationStallReportsTheGrowingBacklog) {
  auto& dom = quiesce::rcu_default_domain();
  quiesce::rcu_barrier();
  configure(100ms);
  std::atomic<int> freed{0};
  std::size_t retired = 0;
  {
    parked_reader<quiesce::rcu_domain> reader("stalled-reclaim");
    // No synchronize in flight: only liburcu's call_rcu worker waits.
    for (; retired < 1000; ++retired) dom.retire(new int(7), [&freed](int* p) {
      delete p;
      freed.fetch_add(1, std::memory_order_relaxed);
    });
    ASSERT_TRUE(col_->wait_for(1));
    const auto r = col_->reports().front();
    EXPECT_EQ(r.waiting, rcu_stall_report::wait_kind::reclaim);
    EXPECT_GE(r.outstanding, 1u);
    expect_holder(r, reader, "stalled-reclaim");
    EXPECT_LT(freed.load(), 1000);  // the reader still holds the grace period
  }
  quiesce::rcu_barrier();
  EXPECT_EQ(freed.load(), 1000);
  EXPECT_EQ(dom.stats().outstanding, 0u);
}

TEST_F(StallDetector, NamesTheQsbrThreadWithoutQuiescentState) {
  configure(100ms);
  parked_reader<quiesce::rcu_qsbr_domain> reader("stalled-qsbr");
  std::thread sync([] { quiesce::rcu_synchronize(quiesce::rcu_qsbr()); });
  ASSERT_TRUE(col_->wait_for(1));
  reader.release();
  sync.join();
  const auto r = col_->reports().front();
  EXPECT_STREQ(r.flavor, "qsbr");
  expect_holder(r, reader, "stalled-qsbr");
  EXPECT_NE(quiesce::to_string(r).find("without a quiescent state"), std::string::npos);
}

TEST_F(StallDetector, NamesTheMbReaderHoldingBarrier) {
  configure(100ms);
  parked_reader<quiesce::rcu_mb_domain> reader("stalled-mb");
  quiesce::rcu_mb().retire(new int(1));
  std::thread bar([] { quiesce::rcu_barrier(quiesce::rcu_mb()); });
  ASSERT_TRUE(col_->wait_for(1));
  reader.release();
  bar.join();
  // The oldest wait is reported: the barrier, or the reclamation it waits for.
  const auto r = col_->reports().front();
  EXPECT_STREQ(r.flavor, "mb");
  EXPECT_TRUE(r.waiting == rcu_stall_report::wait_kind::barrier ||
              r.waiting == rcu_stall_report::wait_kind::reclaim);
  expect_holder(r, reader, "stalled-mb");
}

TEST_F(StallDetector, BadOptionsAreRejectedWithTheFix) {
  quiesce::rcu_stall_options o;
  o.timeout = 0ms;
  try {
    quiesce::rcu_stall_detector_configure(o);
    FAIL() << "timeout 0 accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("rcu_stall_detector_disable"), std::string::npos) << e.what();
  }
  o.timeout = 10ms;
  o.report_interval = -1ms;
  EXPECT_THROW(quiesce::rcu_stall_detector_configure(o), std::invalid_argument);
}

TEST_F(StallDetector, EnableDisable) {
  configure(1s);
  EXPECT_TRUE(quiesce::rcu_stall_detector_enabled());
  quiesce::rcu_stall_detector_disable();
  EXPECT_FALSE(quiesce::rcu_stall_detector_enabled());
}

TEST(StallReport, FormatsBpWithoutHolders) {
  rcu_stall_report r;
  r.flavor = "bp";
  r.waiting = rcu_stall_report::wait_kind::barrier;
  r.waited = std::chrono::milliseconds(1500);
  r.outstanding = 3;
  EXPECT_EQ(quiesce::to_string(r),
            "quiesce: rcu stall: bp grace period waited 1.5 s (rcu_barrier); holders unknown (bp readers are not "
            "tracked by quiesce); 3 retired objects not reclaimed");
}

}  // namespace

namespace {
// Bad environment input: a warning naming the variable and the value, the
// default kept; 0 disables. Each case runs in a freshly executed child (the
// variable is read once, on first use).
TEST(StallDetectorEnvironment, BadTimeoutIsReportedAndIgnored) {
  quiesce::test::expect_bad_timeout_ignored_and_zero_disables("QUIESCE_RCU_STALL_TIMEOUT_MS", "12x",
                                                              quiesce::rcu_stall_detector_enabled, "stall detector");
}
}  // namespace
