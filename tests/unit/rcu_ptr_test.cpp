// Unit tests for rcu_ptr: publication, replacement retiring the old object,
// exchange handing back a retiring pointer, compare_exchange, destruction.
#include <quiesce/rcu.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <thread>

namespace {

std::atomic<int> alive{0};
struct config {
  explicit config(int p) : port(p) { ++alive; }
  ~config() {
    port = -1;
    --alive;
  }
  int port;
};

// Misuse that must not compile is checked by tests/compile_fail; here the
// shape of the type.
static_assert(!std::is_copy_constructible_v<quiesce::rcu_ptr<config>>);
static_assert(!std::is_copy_assignable_v<quiesce::rcu_ptr<config>>);
static_assert(!std::is_convertible_v<quiesce::rcu_ptr<config>&, config*>);

// Each test starts with no deleter of an earlier test still pending.
class RcuPtr : public ::testing::Test {
 protected:
  void SetUp() override {
    quiesce::rcu_barrier();
    alive = 0;
  }
};

TEST_F(RcuPtr, LoadUnderEveryGuardKind) {
  quiesce::rcu_ptr<config> p{std::make_unique<config>(80)};
  {
    quiesce::rcu_read_guard g;
    EXPECT_EQ(p.load(g)->port, 80);
  }
  {
    std::scoped_lock l(quiesce::rcu_default_domain());
    EXPECT_EQ(p.load(l)->port, 80);
  }
  {
    std::unique_lock l(quiesce::rcu_default_domain());
    EXPECT_EQ(p.load(l)->port, 80);
  }
  std::mutex m;
  std::lock_guard lk(m);
  EXPECT_EQ(p.load_locked(lk)->port, 80);
}

TEST_F(RcuPtr, StoreRetiresPreviousAfterGracePeriod) {
  {
    quiesce::rcu_ptr<config> p{std::make_unique<config>(1)};
    EXPECT_FALSE(p.empty());
    for (int i = 2; i <= 50; ++i) p.store(std::make_unique<config>(i));
    quiesce::rcu_barrier();
    EXPECT_EQ(alive.load(), 1);
    quiesce::rcu_read_guard g;
    EXPECT_EQ(p.load(g)->port, 50);
  }
  quiesce::rcu_barrier();
  EXPECT_EQ(alive.load(), 0) << "the destructor retires the last object";
}

TEST_F(RcuPtr, ExchangeReturnsPointerThatRetiresWhenDropped) {
  alive = 0;
  quiesce::rcu_ptr<config> p{std::make_unique<config>(1)};
  {
    auto old = p.exchange(std::make_unique<config>(2));
    ASSERT_NE(old, nullptr);
    EXPECT_EQ(old->port, 1);  // still usable by the writer
  }
  quiesce::rcu_barrier();
  EXPECT_EQ(alive.load(), 1);
  // release() keeps it alive, under the caller's responsibility.
  auto kept = p.exchange(nullptr);
  std::unique_ptr<config> owned(kept.release());
  quiesce::rcu_barrier();
  EXPECT_EQ(alive.load(), 1);
  EXPECT_TRUE(p.empty());
}

TEST_F(RcuPtr, CompareExchange) {
  alive = 0;
  quiesce::rcu_ptr<config> p{std::make_unique<config>(1)};
  {
    quiesce::rcu_read_guard g;
    config* expected = p.load(g);
    auto desired = std::make_unique<config>(2);
    EXPECT_TRUE(p.compare_exchange(g, expected, desired));
    EXPECT_EQ(desired, nullptr) << "ownership moved in";
    config* stale = expected;  // the retired object, still readable inside g
    EXPECT_EQ(stale->port, 1);
    auto other = std::make_unique<config>(3);
    EXPECT_FALSE(p.compare_exchange(g, stale, other));
    EXPECT_EQ(stale->port, 2) << "failure loads the current value";
    EXPECT_NE(other, nullptr) << "failure leaves desired untouched";
  }
  quiesce::rcu_barrier();
  EXPECT_EQ(alive.load(), 1);  // the current one; `other` died with its unique_ptr
}

TEST_F(RcuPtr, OtherDomains) {
  quiesce::rcu_ptr<config, std::default_delete<config>, quiesce::rcu_bp_domain> p{std::make_unique<config>(9)};
  quiesce::rcu_read_guard g{quiesce::rcu_bp()};
  EXPECT_EQ(p.load(g)->port, 9);
}

TEST_F(RcuPtr, ReadersNeverSeeFreedOrPartialObjects) {
  quiesce::rcu_ptr<config> p{std::make_unique<config>(0)};
  std::atomic<bool> stop{false};
  std::atomic<long> bad{0};
  std::thread reader([&] {
    while (!stop.load(std::memory_order_relaxed)) {
      quiesce::rcu_read_guard g;
      const config* c = p.load(g);
      if (c->port < 0) ++bad;
    }
  });
  for (int i = 1; i <= 20000; ++i) p.store(std::make_unique<config>(i));
  stop = true;
  reader.join();
  EXPECT_EQ(bad.load(), 0);
}

}  // namespace
