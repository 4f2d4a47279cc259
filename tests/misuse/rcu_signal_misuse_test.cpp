// rcu_signal_read_guard in a thread that is not registered: the handler must
// not register it (a mutex and an allocation inside a signal handler), so it
// dies with an async-signal-safe message naming the fix. One case per flavour
// that the guard accepts (QSBR is rejected at compile time:
// tests/compile_fail/rcu_signal_read_guard_qsbr.cpp).
#include <quiesce/rcu.hpp>

#include <gtest/gtest.h>
#include <signal.h>

#include <thread>

#include "support/misuse.hpp"

namespace {

using RcuSignalMisuseDeathTest = quiesce::test::threadsafe_death_test;

template <class Domain>
void handler(int) {
  quiesce::rcu_signal_read_guard<Domain> g;
}

// A fresh thread (never registered with any flavour) takes the signal.
template <class Domain>
void signal_unregistered_thread() {
  struct sigaction sa {};
  sa.sa_handler = &handler<Domain>;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGUSR1, &sa, nullptr);
  std::thread t([] { raise(SIGUSR1); });
  t.join();
}

TEST_F(RcuSignalMisuseDeathTest, MembGuardInUnregisteredThread) {
  EXPECT_DEATH(signal_unregistered_thread<quiesce::rcu_domain>(),
               "rcu_signal_read_guard<rcu_domain> in a thread that is not registered.*\n.*hint: hold a "
               "quiesce::rcu_thread_registration<quiesce::rcu_domain>");
}

TEST_F(RcuSignalMisuseDeathTest, MbGuardInUnregisteredThread) {
  EXPECT_DEATH(signal_unregistered_thread<quiesce::rcu_mb_domain>(),
               "rcu_signal_read_guard<rcu_mb_domain> in a thread that is not registered.*\n.*hint: hold a "
               "quiesce::rcu_thread_registration<quiesce::rcu_mb_domain>");
}

TEST_F(RcuSignalMisuseDeathTest, BpGuardInUnregisteredThread) {
  EXPECT_DEATH(signal_unregistered_thread<quiesce::rcu_bp_domain>(),
               "rcu_signal_read_guard<rcu_bp_domain> in a thread that liburcu-bp has not registered");
}

// A registered thread is fine (and stays unregistered-free: nothing leaks).
TEST(RcuSignalMisuse, RegisteredThreadDoesNotDie) {
  struct sigaction sa {}, old{};
  sa.sa_handler = &handler<quiesce::rcu_domain>;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGUSR1, &sa, &old);
  std::thread t([] {
    quiesce::rcu_thread_registration<quiesce::rcu_domain> reg;
    raise(SIGUSR1);
  });
  t.join();
  sigaction(SIGUSR1, &old, nullptr);
}

}  // namespace
