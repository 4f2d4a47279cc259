// The hazard-pointer stall detector: a thread that keeps protecting a
// retired object is named (tid, name, the object, how long) by the scans
// that must keep the object, rate-limited; the garbage stays bounded.
//
// Sleep-free: the test keeps retiring (each retire can trigger a scan) until
// the report arrives; a generous deadline fails the test if it never does.
#include <pthread.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <latch>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include <quiesce/hazard_pointer.hpp>

#include "support/stall_environment.hpp"

namespace {

using namespace std::chrono_literals;
using quiesce::hazard_pointer_stall_report;

struct obj : quiesce::hazard_pointer_obj_base<obj> {
  explicit obj(std::atomic<int>* freed) : freed_(freed) {}
  ~obj() { freed_->fetch_add(1, std::memory_order_relaxed); }
  std::atomic<int>* freed_;
};

struct reports {
  std::mutex mu;
  std::vector<hazard_pointer_stall_report> v;
  std::size_t size() {
    std::lock_guard lk(mu);
    return v.size();
  }
};

class HazardPointerStall : public ::testing::Test {
 protected:
  void configure(std::chrono::milliseconds timeout, std::chrono::milliseconds interval) {
    quiesce::hazard_pointer_stall_options o;
    o.timeout = timeout;
    o.report_interval = interval;
    o.handler = [r = rep_](const hazard_pointer_stall_report& x) {
      std::lock_guard lk(r->mu);
      r->v.push_back(x);
    };
    quiesce::hazard_pointer_stall_detector_configure(std::move(o));
  }
  void TearDown() override { quiesce::hazard_pointer_stall_detector_disable(); }
  std::shared_ptr<reports> rep_ = std::make_shared<reports>();
};

// A thread that protects `*src` and keeps protecting it until released.
class parked_protector {
 public:
  parked_protector(quiesce::hazard_pointer_domain& dom, std::atomic<obj*>& src) {
    thread_ = std::thread([this, &dom, &src] {
      pthread_setname_np(pthread_self(), "hp-stalled");
      tid_ = ::gettid();
      auto h = quiesce::make_hazard_pointer(dom);
      protected_ = h.protect(src);
      ready_.count_down();
      while (!release_.load(std::memory_order_acquire)) std::this_thread::yield();
    });
    ready_.wait();
  }
  ~parked_protector() {
    release_.store(true, std::memory_order_release);
    thread_.join();
  }
  pid_t tid() const { return tid_; }
  obj* object() const { return protected_; }

 private:
  std::latch ready_{1};
  std::atomic<bool> release_{false};
  pid_t tid_ = 0;
  obj* protected_ = nullptr;
  std::thread thread_;
};

TEST_F(HazardPointerStall, ScansNameTheStalledProtector) {
  configure(100ms, 300ms);
  std::atomic<int> freed{0};
  quiesce::hazard_pointer_domain dom(quiesce::hazard_pointer_domain::options{16});
  int retired = 0;
  {
    std::atomic<obj*> src{new obj(&freed)};
    parked_protector p(dom, src);
    obj* victim = src.exchange(nullptr);
    ASSERT_EQ(victim, p.object());
    victim->retire(dom);
    ++retired;
    // Keep retiring (scans run every T = 16 retires) until two reports came:
    // the second must respect the report interval.
    const auto deadline = std::chrono::steady_clock::now() + 60s;
    while (rep_->size() < 2 && std::chrono::steady_clock::now() < deadline) {
      (new obj(&freed))->retire(dom);
      ++retired;
      // Bounded garbage while the protector stalls: T + H.
      const auto st = dom.stats();
      ASSERT_LE(st.unreclaimed, st.threshold + st.hazard_records);
    }
    ASSERT_GE(rep_->size(), 2u) << "no stall report within 60 s";
    std::lock_guard lk(rep_->mu);
    const auto& r = rep_->v[0];
    ASSERT_EQ(r.holders.size(), 1u) << quiesce::to_string(r);
    EXPECT_EQ(r.holders[0].tid, p.tid());
    EXPECT_EQ(r.holders[0].name, "hp-stalled");
    EXPECT_EQ(r.holders[0].object, static_cast<const void*>(victim));
    EXPECT_GE(r.holders[0].held_for, 100ms);
    EXPECT_GE(r.unreclaimed, 1u);
    EXPECT_EQ(r.suppressed, 0u);
    EXPECT_GE(rep_->v[1].holders.at(0).held_for - r.holders[0].held_for, 300ms);
    EXPECT_GE(rep_->v[1].suppressed, 1u);
    const std::string line = quiesce::to_string(r);
    EXPECT_NE(line.find("quiesce: hazard pointer stall: domain"), std::string::npos) << line;
    EXPECT_NE(line.find("\"hp-stalled\" protects"), std::string::npos) << line;
    EXPECT_EQ(freed.load(std::memory_order_relaxed) <= retired - 1, true);
  }
  quiesce::hazard_pointer_cleanup(dom);
  EXPECT_EQ(freed.load(), retired);  // the victim too, once unprotected
}

TEST_F(HazardPointerStall, BadOptionsAreRejected) {
  quiesce::hazard_pointer_stall_options o;
  o.timeout = 0ms;
  EXPECT_THROW(quiesce::hazard_pointer_stall_detector_configure(o), std::invalid_argument);
  o.timeout = 5ms;
  o.report_interval = -5ms;
  EXPECT_THROW(quiesce::hazard_pointer_stall_detector_configure(o), std::invalid_argument);
  configure(1s, 0ms);
  EXPECT_TRUE(quiesce::hazard_pointer_stall_detector_enabled());
  quiesce::hazard_pointer_stall_detector_disable();
  EXPECT_FALSE(quiesce::hazard_pointer_stall_detector_enabled());
}

}  // namespace

namespace {
// Bad environment input (read once, on first use: each case in a freshly
// executed child): a warning naming the variable and value; 0 disables.
TEST(HazardPointerStallEnvironment, BadTimeoutIsReportedAndIgnored) {
  quiesce::test::expect_bad_timeout_ignored_and_zero_disables("QUIESCE_HP_STALL_TIMEOUT_MS", "-5",
                                                              quiesce::hazard_pointer_stall_detector_enabled,
                                                              "hazard-pointer stall detector");
}
}  // namespace
