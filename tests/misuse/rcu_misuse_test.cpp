// Misuse of the RCU API fails loudly with a message naming the mistake and
// the fix, instead of deadlocking or corrupting memory. Built with
// QUIESCE_CHECKS=1, so the checks that release builds compile out are tested too.
#include <quiesce/rcu.hpp>

#include <gtest/gtest.h>

#include <stdexcept>
#include <thread>

#include "support/misuse.hpp"

namespace {

static_assert(quiesce::detail::rcu::checks_enabled, "this file must be built with QUIESCE_CHECKS=1");

// The library this test links was built with the checks too (tests/CMakeLists.txt:
// quiesce_checks), so the misuse below is caught by the code that ships.
TEST(RcuMisuse, LibraryIsBuiltWithTheChecks) { EXPECT_TRUE(quiesce::detail::rcu::rcu_library_checks()); }

using RcuMisuseDeathTest = quiesce::test::threadsafe_death_test;

TEST_F(RcuMisuseDeathTest, SynchronizeInsideReadSectionOfSameDomain) {
  EXPECT_DEATH(
      {
        quiesce::rcu_read_guard g;
        quiesce::rcu_synchronize();
      },
      "rcu_synchronize\\(\\) called inside a read-side section of the memb domain");
  EXPECT_DEATH(
      {
        quiesce::rcu_read_guard g{quiesce::rcu_mb()};
        quiesce::rcu_mb().synchronize();
      },
      "inside a read-side section of the mb domain");
  EXPECT_DEATH(
      {
        quiesce::rcu_read_guard g{quiesce::rcu_bp()};
        quiesce::rcu_bp().synchronize();
      },
      "inside a read-side section of the bp domain");
}

// Waiting for another domain's grace period inside a memb section is legal:
// it returns, the mb grace period has elapsed, and the section is still open.
TEST_F(RcuMisuseDeathTest, SynchronizeOfAnotherDomainInsideReadSectionIsFine) {
  quiesce::rcu_read_guard g;
  const auto c = quiesce::rcu_mb().start_poll();
  quiesce::rcu_synchronize(quiesce::rcu_mb());
  EXPECT_TRUE(quiesce::rcu_mb().poll_state(c));
  EXPECT_TRUE(quiesce::rcu_domain::read_ongoing());
}

TEST_F(RcuMisuseDeathTest, BarrierInsideReadSection) {
  EXPECT_DEATH(
      {
        quiesce::rcu_read_guard g;
        quiesce::rcu_barrier();
      },
      "rcu_barrier\\(\\) called inside a read-side section");
}

TEST_F(RcuMisuseDeathTest, BarrierInsideDeleter) {
  EXPECT_DEATH(
      {
        quiesce::rcu_retire(new int(1), [](int* p) {
          quiesce::rcu_barrier();
          delete p;
        });
        quiesce::rcu_barrier();
      },
      "rcu_barrier\\(\\) called from inside a deleter");
}

TEST_F(RcuMisuseDeathTest, RetireSamePointerTwice) {
  EXPECT_DEATH(
      {
        int* p = new int(1);
        quiesce::rcu_read_guard g;  // no grace period ends, so p is still pending at the second retire
        quiesce::rcu_retire(p);
        quiesce::rcu_retire(p);
      },
      "the same pointer was retired twice");
}

struct self_retiring : quiesce::rcu_obj_base<self_retiring> {};

TEST_F(RcuMisuseDeathTest, ObjBaseRetiredTwice) {
  EXPECT_DEATH(
      {
        auto* o = new self_retiring;
        quiesce::rcu_read_guard g;  // no grace period ends, so o is still pending at the second retire
        o->retire();
        o->retire();
      },
      "rcu_obj_base::retire\\(\\) called twice");
}

TEST_F(RcuMisuseDeathTest, QsbrReadInUnregisteredThread) {
  EXPECT_DEATH({ quiesce::rcu_read_guard g{quiesce::rcu_qsbr()}; },
               "QSBR read-side section in a thread that is offline or not registered");
}

TEST_F(RcuMisuseDeathTest, QsbrReadInOfflineThread) {
  EXPECT_DEATH(
      {
        quiesce::rcu_thread_registration<quiesce::rcu_qsbr_domain> reg;
        quiesce::rcu_offline_scope off;
        quiesce::rcu_read_guard g{quiesce::rcu_qsbr()};
      },
      "offline or not registered");
}

TEST_F(RcuMisuseDeathTest, QsbrQuiescentStateInsideGuard) {
  EXPECT_DEATH(
      {
        quiesce::rcu_thread_registration<quiesce::rcu_qsbr_domain> reg;
        quiesce::rcu_read_guard g{quiesce::rcu_qsbr()};
        quiesce::rcu_quiescent_state();
      },
      "rcu_quiescent_state\\(\\) inside a QSBR read-side guard");
}

TEST_F(RcuMisuseDeathTest, QsbrSynchronizeInsideGuard) {
  EXPECT_DEATH(
      {
        quiesce::rcu_thread_registration<quiesce::rcu_qsbr_domain> reg;
        quiesce::rcu_read_guard g{quiesce::rcu_qsbr()};
        quiesce::rcu_qsbr().synchronize();
      },
      "called inside a QSBR read-side guard");
}

TEST_F(RcuMisuseDeathTest, QsbrOfflineInsideGuard) {
  EXPECT_DEATH(
      {
        quiesce::rcu_thread_registration<quiesce::rcu_qsbr_domain> reg;
        quiesce::rcu_read_guard g{quiesce::rcu_qsbr()};
        quiesce::rcu_offline_scope off;
      },
      "rcu_offline_scope inside a QSBR read-side guard");
}

TEST_F(RcuMisuseDeathTest, QsbrRetireFromUnregisteredThread) {
  EXPECT_DEATH({ quiesce::rcu_retire(new int(1), std::default_delete<int>(), quiesce::rcu_qsbr()); },
               "retire to the QSBR domain from a thread that is not registered");
}

TEST_F(RcuMisuseDeathTest, ThrowingDeleter) {
  EXPECT_DEATH(
      {
        quiesce::rcu_retire(new int(1), [](int* p) {
          delete p;
          throw std::runtime_error("boom");
        });
        quiesce::rcu_barrier();
      },
      "a deleter retired to the memb domain threw an exception");
}

TEST_F(RcuMisuseDeathTest, ThreadExitInsideReadSection) {
  EXPECT_DEATH(
      {
        std::thread t([] {
          quiesce::rcu_domain::read_lock();  // never unlocked
        });
        t.join();
      },
      "thread unregisters \\(or exits\\) inside an RCU read-side section");
}

TEST_F(RcuMisuseDeathTest, WorkerDestroyedWhileAttached) {
  EXPECT_DEATH(
      {
        auto* w = new quiesce::call_rcu_worker<>();
        auto a = w->attach();
        delete w;
      },
      "call_rcu_worker destroyed while threads are still attached");
}

TEST_F(RcuMisuseDeathTest, ForkInsideReadSection) {
  EXPECT_DEATH(
      {
        quiesce::rcu_read_guard g;
        quiesce::rcu_fork_guard f;
      },
      "rcu_fork_guard created inside a read-side section");
}

}  // namespace
