// Unit tests for quiesce/rcu/rcu_domain.hpp: guards, registration, QSBR
// scopes, grace periods, for every flavour.
#include <quiesce/rcu.hpp>

#include <gtest/gtest.h>

#include <functional>

#include <atomic>
#include <mutex>
#include <thread>
#include <type_traits>

namespace {

using quiesce::rcu_bp_domain;
using quiesce::rcu_domain;
using quiesce::rcu_mb_domain;
using quiesce::rcu_qsbr_domain;

// C++26 names and shapes.
static_assert(std::is_same_v<decltype(quiesce::rcu_default_domain()), rcu_domain&>);
static_assert(!std::is_copy_constructible_v<rcu_domain> && !std::is_move_constructible_v<rcu_domain>);
static_assert(!std::is_default_constructible_v<rcu_domain>);
static_assert(noexcept(quiesce::rcu_default_domain().lock()));
static_assert(noexcept(quiesce::rcu_default_domain().unlock()));
static_assert(noexcept(quiesce::rcu_default_domain().try_lock()));
static_assert(noexcept(quiesce::rcu_synchronize()));
static_assert(noexcept(quiesce::rcu_barrier()));
static_assert(!std::is_copy_constructible_v<quiesce::rcu_read_guard<>>);
static_assert(!std::is_move_constructible_v<quiesce::rcu_read_guard<>>);
static_assert(!std::is_copy_constructible_v<quiesce::rcu_thread_registration<rcu_qsbr_domain>>);
static_assert(!std::is_copy_constructible_v<quiesce::rcu_offline_scope>);
// One domain per flavour.
static_assert(!std::is_same_v<rcu_domain, rcu_qsbr_domain> && !std::is_same_v<rcu_mb_domain, rcu_bp_domain>);

// Domains whose threads may read with no registration (C++26 semantics).
template <class D>
class RcuImplicitDomain : public ::testing::Test {};
using ImplicitDomains = ::testing::Types<rcu_domain, rcu_mb_domain, rcu_bp_domain>;
TYPED_TEST_SUITE(RcuImplicitDomain, ImplicitDomains);

TYPED_TEST(RcuImplicitDomain, UnregisteredThreadCanReadAndNest) {
  using D = TypeParam;
  std::atomic<bool> ok{false};
  std::thread t([&] {
    EXPECT_FALSE(D::read_ongoing());
    {
      std::scoped_lock l(D::instance());  // the C++26 way
      EXPECT_TRUE(D::read_ongoing());
      {
        quiesce::rcu_read_guard<D> g;  // nests
        EXPECT_TRUE(D::read_ongoing());
      }
      EXPECT_TRUE(D::read_ongoing());
    }
    EXPECT_FALSE(D::read_ongoing());
    EXPECT_TRUE(D::instance().try_lock());
    D::instance().unlock();
    ok = true;
  });
  t.join();
  EXPECT_TRUE(ok);
  // The thread exited while (implicitly) registered: grace periods must not
  // wait for it.
  D::instance().synchronize();
}

TYPED_TEST(RcuImplicitDomain, SynchronizeWaitsForPreExistingReader) {
  using D = TypeParam;
  std::atomic<int> stage{0};
  std::atomic<bool> reader_left{false};
  std::atomic<bool> saw_reader_left{false};
  std::thread reader([&] {
    quiesce::rcu_read_guard<D> g;
    stage = 1;  // inside the section
    while (stage.load() != 2) std::this_thread::yield();
    // The writer is about to call synchronize(): give it every chance to
    // return early, then leave.
    for (int i = 0; i < 1000; ++i) std::this_thread::yield();
    reader_left = true;
  });
  std::thread writer([&] {
    while (stage.load() != 1) std::this_thread::yield();
    stage = 2;
    D::instance().synchronize();
    saw_reader_left = reader_left.load();
  });
  reader.join();
  writer.join();
  EXPECT_TRUE(saw_reader_left) << "synchronize() returned while a pre-existing reader was inside";
}

TYPED_TEST(RcuImplicitDomain, ExplicitRegistrationNestsAndBalances) {
  using D = TypeParam;
  using F = typename D::flavor_type;
  std::thread t([] {
    if constexpr (!std::is_same_v<F, quiesce::rcu_flavor::bp>) {
      EXPECT_FALSE(F::registered());
    }
    {
      quiesce::rcu_thread_registration<D> r1;
      EXPECT_TRUE(F::registered());
      {
        quiesce::rcu_thread_registration r2{D::instance()};
        EXPECT_TRUE(F::registered());
      }
      EXPECT_TRUE(F::registered());
    }
    if constexpr (!std::is_same_v<F, quiesce::rcu_flavor::bp>) {
      EXPECT_FALSE(F::registered());
    }
    { quiesce::rcu_read_guard<D> g; }  // implicit registration afterwards still works
    EXPECT_TRUE(F::registered());
  });
  t.join();
}

TEST(RcuDomain, ForeignLiburcuRegistrationIsLeftAlone) {
  std::thread t([] {
    urcu_memb_register_thread();
    {
      quiesce::rcu_thread_registration<> r;
      quiesce::rcu_read_guard g;
    }
    EXPECT_TRUE(quiesce::rcu_flavor::memb::registered()) << "quiesce unregistered a thread it did not register";
    urcu_memb_unregister_thread();
  });
  t.join();
}

// memb's read side has a fast path for threads quiesce registered
// (detail::rcu::memb_fast_reader in flavor.hpp); a thread registered through
// liburcu directly takes liburcu's own path, because quiesce could not see
// that registration end. Once it ends, a guard must register the thread
// again, not take the fast path on an unregistered thread.
TEST(RcuDomain, ForeignRegistrationKeepsLiburcusPathAndAGuardRegistersAfterIt) {
  using memb = quiesce::rcu_flavor::memb;
  std::thread t([] {
    urcu_memb_register_thread();
    {
      quiesce::rcu_read_guard g;
      EXPECT_TRUE(quiesce::rcu_domain::read_ongoing());
      EXPECT_FALSE(quiesce::detail::rcu::memb_fast_reader) << "fast path for a registration quiesce cannot see end";
    }
    EXPECT_FALSE(quiesce::rcu_domain::read_ongoing());
    urcu_memb_unregister_thread();
    ASSERT_FALSE(memb::registered());
    {
      quiesce::rcu_read_guard g;
      EXPECT_TRUE(memb::registered()) << "a guard after the foreign registration ended did not register the thread";
      EXPECT_TRUE(quiesce::rcu_domain::read_ongoing());
    }
    EXPECT_FALSE(quiesce::rcu_domain::read_ongoing());
  });
  t.join();
  quiesce::rcu_synchronize();  // the thread exited registered (implicitly): nothing waits for it
}

// The fast path comes and goes with quiesce's registration of the thread.
TEST(RcuDomain, MembFastPathFollowsQuiescesRegistration) {
  using memb = quiesce::rcu_flavor::memb;
  std::thread t([] {
    EXPECT_FALSE(quiesce::detail::rcu::memb_fast_reader);
    {
      quiesce::rcu_thread_registration<> reg;
      EXPECT_EQ(quiesce::detail::rcu::memb_fast_reader, urcu_memb_has_sys_membarrier != 0);
      quiesce::rcu_read_guard g;
      EXPECT_TRUE(quiesce::rcu_domain::read_ongoing());
    }
    EXPECT_FALSE(memb::registered());
    EXPECT_FALSE(quiesce::detail::rcu::memb_fast_reader) << "the fast path outlived the registration";
    {
      quiesce::rcu_read_guard g;  // registers implicitly
      EXPECT_TRUE(memb::registered());
      EXPECT_EQ(quiesce::detail::rcu::memb_fast_reader, urcu_memb_has_sys_membarrier != 0);
    }
  });
  t.join();
}

#ifndef CONFIG_RCU_FORCE_SYS_MEMBARRIER
// Without membarrier() liburcu's readers need a full fence at each end of a
// section (urcu_memb_smp_mb_slave); the fast path, which has none, must
// stay off. urcu_memb_has_sys_membarrier is liburcu's, set when it loads;
// the test clears it only while no grace period runs, and only for a thread
// that registers after it.
TEST(RcuDomain, WithoutMembarrierTheGuardKeepsLiburcusFences) {
  const int saved = urcu_memb_has_sys_membarrier;
  urcu_memb_has_sys_membarrier = 0;
  std::thread t([] {
    {
      quiesce::rcu_read_guard g;
      EXPECT_TRUE(quiesce::rcu_flavor::memb::registered());
      EXPECT_TRUE(quiesce::rcu_domain::read_ongoing());
      EXPECT_FALSE(quiesce::detail::rcu::memb_fast_reader) << "fast path (no fence) without membarrier()";
    }
    EXPECT_FALSE(quiesce::rcu_domain::read_ongoing());
  });
  t.join();
  urcu_memb_has_sys_membarrier = saved;
}
#endif

// A reader that liburcu registered (liburcu's own lock and unlock) holds up
// grace periods as one on the fast path does (SynchronizeWaitsForPreExistingReader).
TEST(RcuDomain, SynchronizeWaitsForAForeignRegisteredReader) {
  std::atomic<int> stage{0};
  std::atomic<bool> reader_left{false};
  std::atomic<bool> saw_reader_left{false};
  std::thread reader([&] {
    urcu_memb_register_thread();
    {
      quiesce::rcu_read_guard g;
      stage = 1;
      while (stage.load() != 2) std::this_thread::yield();
      for (int i = 0; i < 1000; ++i) std::this_thread::yield();
      reader_left = true;
    }
    urcu_memb_unregister_thread();
  });
  std::thread writer([&] {
    while (stage.load() != 1) std::this_thread::yield();
    stage = 2;
    quiesce::rcu_synchronize();
    saw_reader_left = reader_left.load();
  });
  reader.join();
  writer.join();
  EXPECT_TRUE(saw_reader_left) << "synchronize() returned while a pre-existing reader was inside";
}

TEST(RcuDomain, GuardCtadPicksTheDomain) {
  quiesce::rcu_read_guard g{quiesce::rcu_mb()};
  static_assert(std::is_same_v<decltype(g), quiesce::rcu_read_guard<rcu_mb_domain>>);
  EXPECT_TRUE(rcu_mb_domain::read_ongoing());
  EXPECT_FALSE(rcu_domain::read_ongoing());
}

// The free functions act on the domain they name, the default (memb) one
// when none is named: a grace-period cookie of that domain is complete when
// rcu_synchronize returns, and an object retired to it is deleted when
// rcu_barrier returns. Non-memb calls go to their own domain as well.
TEST(RcuDomain, FreeFunctionsDefaultToTheDefaultDomain) {
  const auto c = quiesce::rcu_default_domain().start_poll();
  quiesce::rcu_synchronize();
  EXPECT_TRUE(quiesce::rcu_default_domain().poll_state(c));

  std::atomic<int> deleted{0};
  const auto reclaimed = quiesce::rcu_default_domain().stats().reclaimed;
  quiesce::rcu_retire(new int(1), [&deleted](int* p) {
    delete p;
    deleted.fetch_add(1);
  });
  quiesce::rcu_barrier();
  EXPECT_EQ(deleted.load(), 1);
  EXPECT_GE(quiesce::rcu_default_domain().stats().reclaimed, reclaimed + 1) << "deleted through the default domain";

  const auto cb = quiesce::rcu_bp().start_poll();
  quiesce::rcu_synchronize(quiesce::rcu_bp());
  EXPECT_TRUE(quiesce::rcu_bp().poll_state(cb));
  const auto mb_reclaimed = quiesce::rcu_mb().stats().reclaimed;
  quiesce::rcu_retire(new int(2), [&deleted](int* p) {
    delete p;
    deleted.fetch_add(1);
  }, quiesce::rcu_mb());
  quiesce::rcu_barrier(quiesce::rcu_mb());
  EXPECT_EQ(deleted.load(), 2);
  EXPECT_EQ(quiesce::rcu_mb().stats().reclaimed, mb_reclaimed + 1);
}

// C++26 declares these as functions of rcu_domain& ([saferecl.rcu.domain.func]):
// their addresses convert to plain function pointers, and arguments that
// convert to rcu_domain& are accepted.
TEST(RcuDomain, FreeFunctionsAreFunctionsOfRcuDomain) {
  static_assert(noexcept(quiesce::rcu_synchronize()));
  static_assert(noexcept(quiesce::rcu_barrier(quiesce::rcu_default_domain())));
  void (*sync)(quiesce::rcu_domain&) noexcept = &quiesce::rcu_synchronize;
  void (*barrier)(quiesce::rcu_domain&) noexcept = &quiesce::rcu_barrier;
  const auto c = quiesce::rcu_default_domain().start_poll();
  sync(quiesce::rcu_default_domain());
  EXPECT_TRUE(quiesce::rcu_default_domain().poll_state(c));

  std::reference_wrapper<quiesce::rcu_domain> ref = quiesce::rcu_default_domain();
  std::atomic<int> deleted{0};
  quiesce::rcu_retire(new int(3), [&deleted](int* p) {
    delete p;
    deleted.fetch_add(1);
  }, ref);
  const auto c2 = quiesce::rcu_default_domain().start_poll();
  quiesce::rcu_synchronize(ref);
  EXPECT_TRUE(quiesce::rcu_default_domain().poll_state(c2));
  barrier(ref);
  EXPECT_EQ(deleted.load(), 1);
}

TEST(RcuQsbr, RegistrationPutsThreadOnlineAndScopesRestoreState) {
  std::thread t([] {
    EXPECT_FALSE(rcu_qsbr_domain::read_ongoing());
    quiesce::rcu_thread_registration<rcu_qsbr_domain> reg;
    EXPECT_TRUE(rcu_qsbr_domain::read_ongoing()) << "registered QSBR threads are online";
    { quiesce::rcu_read_guard g{quiesce::rcu_qsbr()}; }
    quiesce::rcu_quiescent_state();
    {
      quiesce::rcu_offline_scope off;
      EXPECT_FALSE(rcu_qsbr_domain::read_ongoing());
      {
        quiesce::rcu_offline_scope off2;  // nested: stays offline
        EXPECT_FALSE(rcu_qsbr_domain::read_ongoing());
      }
      EXPECT_FALSE(rcu_qsbr_domain::read_ongoing()) << "inner scope must restore 'offline'";
    }
    EXPECT_TRUE(rcu_qsbr_domain::read_ongoing());
    // An online caller may synchronize: liburcu treats it as quiescent.
    quiesce::rcu_qsbr().synchronize();
    EXPECT_TRUE(rcu_qsbr_domain::read_ongoing());
  });
  t.join();
}

TEST(RcuQsbr, GracePeriodWaitsForOnlineReaderUntilQuiescentState) {
  std::atomic<int> stage{0};
  std::atomic<bool> announced{false};
  std::atomic<bool> saw_announced{false};
  std::thread reader([&] {
    quiesce::rcu_thread_registration<rcu_qsbr_domain> reg;
    stage = 1;
    while (stage.load() != 2) std::this_thread::yield();
    for (int i = 0; i < 1000; ++i) std::this_thread::yield();
    announced = true;
    quiesce::rcu_quiescent_state();
    while (stage.load() != 3) quiesce::rcu_quiescent_state();
  });
  std::thread writer([&] {
    while (stage.load() != 1) std::this_thread::yield();
    stage = 2;
    quiesce::rcu_qsbr().synchronize();
    saw_announced = announced.load();
    stage = 3;
  });
  writer.join();
  reader.join();
  EXPECT_TRUE(saw_announced);
}

TEST(RcuQsbr, OfflineThreadDoesNotHoldUpGracePeriods) {
  std::atomic<bool> go{false}, done{false};
  std::thread idle([&] {
    quiesce::rcu_thread_registration<rcu_qsbr_domain> reg;
    quiesce::rcu_offline_scope off;  // e.g. blocked in epoll_wait
    go = true;
    while (!done.load()) std::this_thread::yield();
  });
  while (!go.load()) std::this_thread::yield();
  quiesce::rcu_qsbr().synchronize();  // would hang if the offline thread counted
  done = true;
  idle.join();
}

}  // namespace

namespace {
TEST(RcuDomain, GuardFromRegistrationSkipsTheTestButStillReads) {
  std::thread t([] {
    quiesce::rcu_thread_registration<> reg;
    {
      quiesce::rcu_read_guard g{reg};
      static_assert(std::is_same_v<decltype(g), quiesce::rcu_read_guard<quiesce::rcu_domain>>);
      EXPECT_TRUE(quiesce::rcu_domain::read_ongoing());
    }
    EXPECT_FALSE(quiesce::rcu_domain::read_ongoing());
    quiesce::rcu_thread_registration<quiesce::rcu_mb_domain> mreg;
    quiesce::rcu_read_guard g{mreg};
    EXPECT_TRUE(quiesce::rcu_mb_domain::read_ongoing());
  });
  t.join();
}
}  // namespace
