// quiesce's reclaimer (urcu_wrappers/src/rcu_reclaimer.cpp): deleters run in
// retire order, a barrier waits for exactly what was retired before it (also
// with retires still arriving from another thread), retires routed to a
// liburcu call_rcu_worker are waited for too, a QSBR thread that is online
// can wait in rcu_barrier, and the child of a plain fork() (no
// rcu_fork_guard) gets a reclaimer of its own.
#include <quiesce/rcu.hpp>

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <thread>
#include <vector>

namespace {

TEST(RcuReclaimer, DeletersRunInRetireOrder) {
  std::vector<int> order;  // written by the one reclaimer thread, read after the barrier
  constexpr int n = 5000;
  for (int i = 0; i < n; ++i) {
    quiesce::rcu_retire(new int(i), [&order](int* p) {
      order.push_back(*p);
      delete p;
    });
  }
  quiesce::rcu_barrier();
  ASSERT_EQ(order.size(), static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) ASSERT_EQ(order[static_cast<std::size_t>(i)], i);
}

TEST(RcuReclaimer, BarrierWaitsForEveryEarlierRetireWhileOthersKeepRetiring) {
  std::atomic<bool> stop{false};
  std::atomic<long> other_deleted{0};
  std::thread other([&] {
    while (!stop.load()) quiesce::rcu_retire(new int(0), [&other_deleted](int* p) {
        delete p;
        other_deleted.fetch_add(1);
      });
  });
  for (int round = 0; round < 50; ++round) {
    std::atomic<int> mine{0};
    for (int i = 0; i < 100; ++i)
      quiesce::rcu_retire(new int(i), [&mine](int* p) {
        delete p;
        mine.fetch_add(1);
      });
    quiesce::rcu_barrier();
    ASSERT_EQ(mine.load(), 100) << "round " << round;
  }
  stop = true;
  other.join();
  quiesce::rcu_barrier();
  const auto st = quiesce::rcu_default_domain().stats();
  EXPECT_EQ(st.outstanding, 0u);
  EXPECT_GT(other_deleted.load(), 0);
}

TEST(RcuReclaimer, BarrierWithNothingPendingReturnsAndLeavesNothing) {
  quiesce::rcu_barrier();
  quiesce::rcu_barrier(quiesce::rcu_mb());
  EXPECT_EQ(quiesce::rcu_default_domain().stats().outstanding, 0u);
  EXPECT_EQ(quiesce::rcu_mb().stats().outstanding, 0u);
}

TEST(RcuReclaimer, RetiresToALiburcuWorkerAreWaitedFor) {
  std::atomic<int> deleted{0};
  {
    quiesce::call_rcu_worker<quiesce::rcu_domain> w;
    auto use = w.attach();
    for (int i = 0; i < 10; ++i)
      quiesce::rcu_retire(new int(i), [&deleted](int* p) {
        delete p;
        deleted.fetch_add(1);
      });
    quiesce::rcu_barrier();
    EXPECT_EQ(deleted.load(), 10);
  }
  // Detached: back to quiesce's reclaimer.
  quiesce::rcu_retire(new int(0), [&deleted](int* p) {
    delete p;
    deleted.fetch_add(1);
  });
  quiesce::rcu_barrier();
  EXPECT_EQ(deleted.load(), 11);
}

TEST(RcuReclaimer, OnlineQsbrThreadMayWaitInBarrier) {
  std::thread t([] {
    quiesce::rcu_thread_registration<quiesce::rcu_qsbr_domain> reg;  // online
    std::atomic<int> deleted{0};
    quiesce::rcu_retire(new int(1), [&deleted](int* p) {
      delete p;
      deleted.fetch_add(1);
    }, quiesce::rcu_qsbr());
    quiesce::rcu_barrier(quiesce::rcu_qsbr());  // the worker's grace period must not wait for us
    EXPECT_EQ(deleted.load(), 1);
    EXPECT_TRUE(quiesce::rcu_qsbr_domain::read_ongoing()) << "online again after the barrier";
  });
  t.join();
}

#if !QUIESCE_TSAN  // ThreadSanitizer does not support fork() in a multi-threaded process
// A plain fork() (no rcu_fork_guard): the child has no reclaimer thread; its
// first retire or barrier starts one. Only this thread retires here, so no
// batch is in flight at the fork.
TEST(RcuReclaimer, PlainForkChildStartsItsOwnReclaimer) {
  quiesce::rcu_retire(new int(0));
  quiesce::rcu_barrier();  // the parent's reclaimer exists and is idle
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    alarm(30);  // a child stuck in the barrier dies instead of hanging the test
    static std::atomic<int> deleted{0};
    quiesce::rcu_retire(new int(1), [](int* p) {
      delete p;
      deleted.fetch_add(1);
    });
    quiesce::rcu_barrier();
    _exit(deleted.load() == 1 ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status)) << "child killed by signal " << (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
  EXPECT_EQ(WEXITSTATUS(status), 0);
}
#endif

}  // namespace
