// Linearizability of quiesce::lockfree::treiber_stack and quiesce::lockfree::ms_queue: many small
// random histories from real threads (tests/lincheck), each checked against
// the sequential LIFO / FIFO specification. A fresh structure per history;
// every other history uses a private hazard-pointer domain with a tiny scan
// threshold, so nodes are reclaimed while the history runs.
//
// Overlap. Operations take ~50 ns and threads drift apart by microseconds, so
// on a 2-vCPU machine lincheck::run_random's histories are almost sequential
// (measured: 3 of 35,000 operations overlapped another thread's). Here each
// history is recorded by two threads pinned to two different CPUs, which meet
// at a spinning barrier before every operation and then wait a random 0-J
// pause instructions (J = 4, 16 or 64 by history) before it: 30-55% of the
// operations overlap one of the other thread's (printed by each test, not
// asserted: it depends on the machine). With one usable CPU the threads are
// not pinned and the histories are mostly sequential (still checked).
#include <quiesce/lockfree.hpp>

#include <gtest/gtest.h>
#include <pthread.h>
#include <sched.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <thread>

#include "lincheck/lincheck.hpp"

namespace {

namespace lc = quiesce::lincheck;
using quiesce::hazard_pointer_domain;
using quiesce::detail::base::cpu_relax;

// Histories per structure: many, < 10 s under TSan on 2 vCPUs.
constexpr int kHistories = quiesce::detail::base::tsan ? 400 : 1000;
constexpr std::size_t kOpsPerThread = 24;  // 2 threads: 48 operations (checker bound 64)

// The first two CPUs of the process's affinity mask, read once before any
// thread is pinned; -1 when there is no second one.
struct cpu_pair {
  int cpu[2] = {-1, -1};
};
const cpu_pair& cpus() {
  static const cpu_pair p = [] {
    cpu_pair r;
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) != 0) return r;
    int found = 0;
    for (int c = 0; c < CPU_SETSIZE && found < 2; ++c)
      if (CPU_ISSET(c, &set)) r.cpu[found++] = c;
    if (found < 2) r.cpu[0] = r.cpu[1] = -1;
    return r;
  }();
  return p;
}

void pin_to(int cpu) {
  if (cpu < 0) return;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  (void)pthread_setaffinity_np(pthread_self(), sizeof set, &set);  // best effort: overlap, not correctness
}

// Two threads leave it within a cache-line transfer of each other. Spins,
// then yields (a descheduled partner must be able to run); not a sleep.
class tight_barrier {
 public:
  void arrive_and_wait() noexcept {
    // acquire/release: the last arriver's reset of arrived_ happens-before
    // the waiters' next round.
    const unsigned gen = gen_.load(std::memory_order_acquire);
    if (arrived_.fetch_add(1, std::memory_order_acq_rel) + 1 == 2) {
      arrived_.store(0, std::memory_order_relaxed);
      gen_.fetch_add(1, std::memory_order_release);
      return;
    }
    for (int spins = 0; gen_.load(std::memory_order_acquire) == gen; ++spins) {
      if (spins < 4000) {
        cpu_relax();
      } else {
        std::this_thread::yield();
      }
    }
  }

 private:
  std::atomic<unsigned> arrived_{0};
  std::atomic<unsigned> gen_{0};
};

// Records one two-thread history: each thread does kOpsPerThread random
// operations (half pushes of distinct values, half pops), meeting the other
// at the barrier before each one.
template <class Spec, class Push, class Pop>
lc::history<Spec> two_thread_history(int n, Push push, Pop pop, typename Spec::kind push_kind,
                                     typename Spec::kind pop_kind) {
  static constexpr unsigned jitter[] = {4, 16, 64};
  const unsigned j = jitter[n % 3];
  tight_barrier bar;
  return lc::run_threads<Spec>(2, [&](lc::thread_log<Spec>& log, std::size_t t) {
    pin_to(cpus().cpu[t]);
    std::mt19937_64 rng(static_cast<std::uint64_t>(n) * 7919 + t);
    for (std::size_t i = 0; i < kOpsPerThread; ++i) {
      bar.arrive_and_wait();
      for (unsigned d = static_cast<unsigned>(rng() % j); d > 0; --d) cpu_relax();
      if (rng() % 2 == 0) {
        const auto v = static_cast<std::int64_t>(t * 1000 + i + 1);
        log.record(push_kind, v, [&] { push(v); });
      } else {
        log.record(pop_kind, 0, [&] { return pop(); });
      }
    }
  });
}

// Fraction of operations whose interval overlaps one of another thread's.
template <class Spec>
std::size_t overlapping(const lc::history<Spec>& h) {
  std::size_t n = 0;
  for (const auto& a : h)
    for (const auto& b : h)
      if (a.thread != b.thread && a.invoke < b.response && b.invoke < a.response) {
        ++n;
        break;
      }
  return n;
}

template <class Structure>
std::unique_ptr<Structure> make(int n, std::unique_ptr<hazard_pointer_domain>& dom) {
  if (n % 2 == 0) return std::make_unique<Structure>();
  dom = std::make_unique<hazard_pointer_domain>(hazard_pointer_domain::options{.min_threshold = 2});
  return std::make_unique<Structure>(*dom);
}

void report_overlap(const char* what, std::size_t overlapped, std::size_t ops) {
  std::printf("%s: %zu of %zu operations overlapped another thread's (%.1f%%)%s\n", what, overlapped, ops,
              ops ? 100.0 * static_cast<double>(overlapped) / static_cast<double>(ops) : 0.0,
              cpus().cpu[1] < 0 ? " [one CPU: threads not pinned]" : "");
}

TEST(TreiberStackLincheck, RandomHistoriesAreLinearizable) {
  std::size_t ops = 0, overlapped = 0;
  for (int n = 0; n < kHistories; ++n) {
    std::unique_ptr<hazard_pointer_domain> dom;
    auto s = make<quiesce::lockfree::treiber_stack<std::int64_t>>(n, dom);
    const auto h = two_thread_history<lc::stack_spec>(
        n, [&](std::int64_t v) { s->push(v); }, [&] { return s->pop(); }, lc::stack_spec::kind::push,
        lc::stack_spec::kind::pop);
    ops += h.size();
    overlapped += overlapping(h);
    const auto r = lc::check(h);
    ASSERT_TRUE(r.ok) << "history " << n << ": " << r.explanation;
    s.reset();  // before its domain
  }
  report_overlap("lockfree::treiber_stack", overlapped, ops);
}

TEST(MsQueueLincheck, RandomHistoriesAreLinearizable) {
  std::size_t ops = 0, overlapped = 0;
  for (int n = 0; n < kHistories; ++n) {
    std::unique_ptr<hazard_pointer_domain> dom;
    auto q = make<quiesce::lockfree::ms_queue<std::int64_t>>(n, dom);
    const auto h = two_thread_history<lc::queue_spec>(
        n, [&](std::int64_t v) { q->push(v); }, [&] { return q->pop(); }, lc::queue_spec::kind::enqueue,
        lc::queue_spec::kind::dequeue);
    ops += h.size();
    overlapped += overlapping(h);
    const auto r = lc::check(h);
    ASSERT_TRUE(r.ok) << "history " << n << ": " << r.explanation;
    q.reset();
  }
  report_overlap("lockfree::ms_queue", overlapped, ops);
}

// lincheck's own driver too: 3-4 unpinned threads (mostly sequential here,
// overlapping more on machines with more cores or under TSan).
TEST(StackAndQueueLincheck, RunRandomHistoriesAreLinearizable) {
  for (int n = 0; n < kHistories / 4; ++n) {
    lc::random_options o;
    o.threads = static_cast<std::size_t>(3 + n % 2);
    o.ops_per_thread = static_cast<std::size_t>(8 + n % 5);  // <= 48 in all
    o.seed = static_cast<std::uint64_t>(n) + 1;
    o.sync_every = 1;
    quiesce::lockfree::treiber_stack<std::int64_t> s;
    lc::stack_spec::callables so{.push = [&](std::int64_t v) { s.push(v); }, .pop = [&] { return s.pop(); }};
    const auto rs = lc::check(lc::run_random<lc::stack_spec>(so, o));
    ASSERT_TRUE(rs.ok) << "stack history " << n << ": " << rs.explanation;
    quiesce::lockfree::ms_queue<std::int64_t> q;
    lc::queue_spec::callables qo{.enqueue = [&](std::int64_t v) { q.push(v); }, .dequeue = [&] { return q.pop(); }};
    const auto rq = lc::check(lc::run_random<lc::queue_spec>(qo, o));
    ASSERT_TRUE(rq.ok) << "queue history " << n << ": " << rq.explanation;
  }
}

}  // namespace
