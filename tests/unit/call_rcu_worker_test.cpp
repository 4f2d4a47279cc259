// Unit tests for dedicated, pinned and per-CPU call_rcu workers.
#include <quiesce/rcu.hpp>

#include <gtest/gtest.h>
#include <pthread.h>
#include <sched.h>

#include <atomic>
#include <stdexcept>
#include <thread>

namespace {

struct where {
  pthread_t thread{};
  int cpu = -1;
};

TEST(CallRcuWorker, AttachedThreadsRetireToTheirWorkerPinnedToItsCpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  ASSERT_EQ(sched_getaffinity(0, sizeof set, &set), 0);
  int cpu = 0;
  while (!CPU_ISSET(cpu, &set)) ++cpu;

  quiesce::call_rcu_worker<> w{cpu};
  where seen;
  {
    auto use = w.attach();
    quiesce::rcu_retire(new int(1), [&seen](int* p) {
      seen.thread = pthread_self();
      seen.cpu = sched_getcpu();
      delete p;
    });
    quiesce::rcu_barrier();
  }
  EXPECT_TRUE(pthread_equal(seen.thread, w.native_handle())) << "deleter ran on another worker";
  EXPECT_EQ(seen.cpu, cpu) << "worker not pinned";

  // Detached again: retires go back to the default worker.
  where after;
  quiesce::rcu_retire(new int(2), [&after](int* p) {
    after.thread = pthread_self();
    delete p;
  });
  quiesce::rcu_barrier();
  EXPECT_FALSE(pthread_equal(after.thread, w.native_handle()));
}

TEST(CallRcuWorker, RealtimeWorkerOfAnotherDomain) {
  quiesce::call_rcu_worker<quiesce::rcu_mb_domain> w{-1, /*realtime=*/true};
  std::atomic<int> ran{0};
  {
    auto use = w.attach();
    for (int i = 0; i < 10; ++i)
      quiesce::rcu_retire(
          new int(i),
          [&ran](int* p) {
            ++ran;
            delete p;
          },
          quiesce::rcu_mb());
  }
  quiesce::rcu_barrier(quiesce::rcu_mb());
  EXPECT_EQ(ran.load(), 10);
}

TEST(CallRcuWorker, NonexistentCpuIsAClearError) {
  try {
    quiesce::call_rcu_worker<> w{CPU_SETSIZE + 5};
    FAIL() << "expected std::invalid_argument";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find(std::to_string(CPU_SETSIZE + 5)), std::string::npos)
        << "the message names the CPU: " << e.what();
  }
}

TEST(CallRcuWorker, QueuedCallbacksSurviveWorkerDestruction) {
  std::atomic<int> ran{0};
  {
    quiesce::call_rcu_worker<> w;
    auto use = w.attach();
    for (int i = 0; i < 100; ++i)
      quiesce::rcu_retire(new int(i), [&ran](int* p) {
        ++ran;
        delete p;
      });
  }  // attachment ends first, then the worker: leftovers move to the default worker
  quiesce::rcu_barrier();
  EXPECT_EQ(ran.load(), 100);
}

TEST(PerCpuCallRcuWorkers, RetiresRunOnPerCpuWorkers) {
  std::atomic<int> ran{0};
  {
    quiesce::per_cpu_call_rcu_workers<> workers;
    std::thread t([&] {
      for (int i = 0; i < 50; ++i)
        quiesce::rcu_retire(new int(i), [&ran](int* p) {
          ++ran;
          delete p;
        });
    });
    t.join();
    quiesce::rcu_barrier();
    EXPECT_EQ(ran.load(), 50);
  }
  // Torn down: the default path still works.
  quiesce::rcu_retire(new int(0), [&ran](int* p) {
    ++ran;
    delete p;
  });
  quiesce::rcu_barrier();
  EXPECT_EQ(ran.load(), 51);
}

}  // namespace
