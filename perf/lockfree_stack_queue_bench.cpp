// perf/lockfree_stack_queue_bench.cpp — quiesce::lockfree::treiber_stack and
// quiesce::lockfree::ms_queue (<quiesce/lockfree.hpp>) against the lock-free stacks and
// queues Debian ships, in one run.
//
// Peers (values are uint64_t everywhere)
//   stack:  quiesce_treiber  quiesce::lockfree::treiber_stack<uint64_t>, default hazard-pointer domain
//           boost_lockfree   boost::lockfree::stack<uint64_t> (Boost 1.74; tagged pointers,
//                            nodes recycled through its freelist, 1024 preallocated)
//           urcu_lfs         liburcu 0.13.2 cds_lfs: pop under the memb read lock, nodes
//                            freed by urcu_memb_call_rcu (perf/peers/urcu_lfs_peer.c, C)
//           ck_hp_stack      Concurrency Kit 0.7.1 ck_hp_stack with ck_hp reclamation
//                            (perf/peers/ck_hp_peers.c, C)
//           quiesce_treiber_own_domain  the same on a hazard-pointer domain of its
//                            own (pairs only; information, not a peer)
//   queue:  quiesce_ms       quiesce::lockfree::ms_queue<uint64_t>, default domain
//           quiesce_ms_own_domain  the same on a domain of its own (pairs only; information)
//           boost_lockfree   boost::lockfree::queue<uint64_t> (MS queue, tagged pointers,
//                            freelist, 1024 preallocated)
//           tbb              tbb::concurrent_queue<uint64_t> (oneTBB 2021.8; not lock-free:
//                            micro-queues with spin-waits)
//           moodycamel_cq    moodycamel::ConcurrentQueue<uint64_t> (Debian
//                            libconcurrentqueue-dev), implicit producers: one sub-queue
//                            per producing thread, FIFO per producer only (information)
//           urcu_wfcq        liburcu cds_wfcq: wait-free enqueue, dequeue under the
//                            queue's mutex (cds_wfcq_dequeue_blocking), nodes freed at once
//           ck_hp_fifo       ck_hp_fifo (MS queue) with ck_hp reclamation (perf/peers/ck_hp_peers.c)
//
// Workloads (items_per_second in the JSON = push and pop operations per
// second, all threads together; the ratio script reads its median)
//   <s>/pairs/<peer>         1 thread: push then pop, back to back (uncontended cost);
//                            per second of the thread's CPU time, so that other
//                            processes preempting it on a shared VM do not count
//                            (nor does work a peer hands to another thread: liburcu's
//                            call_rcu worker frees cds_lfs's nodes on its own CPU time,
//                            while quiesce's and ck's reclamation runs in the caller)
//   The 2-thread workloads are timed in real time (a waiting thread spins).
//   <s>/prod_cons/<peer>     2 threads: one pushes, the other pops (retrying while
//                            empty); the producer stays at most kMaxBacklog items
//                            ahead (bounded memory, the same for every peer)
//   <s>/mixed/<peer>         2 threads, each pushing then popping (contended ends)
//   <s>/paired/<workload>    what the targets are judged on: per iteration, one
//                            segment of the workload through quiesce and one
//                            through each comparable peer, back to back on the
//                            same pinned threads, order rotating; counters
//                            vs_<peer> and vs_best (quiesce's rate over the
//                            fastest peer's of each iteration), medians over
//                            the iterations (see "Paired" below)
//   Every benchmark checks that the values popped (plus those drained after
//   the run) sum to those pushed, and fails with an error otherwise.
//
// Fairness
//   Every peer runs batches of kBatch operations inside a function not
//   inlined into the benchmark loop (C functions for ck and cds_lfs,
//   [[gnu::noinline]] templates here for the others); inside a batch every
//   peer's operations are inline. Every shared structure sits on its own
//   128-byte-aligned block. Build C and C++ with the same compiler.
//
// Placement
//   Thread 0 on the first CPU of the process's affinity mask, thread 1 on the
//   second (perf/bench_placement.hpp); 2-thread benchmarks are skipped with
//   the reason when only one CPU is usable.
//
// Command (scripts/run_main.sh runs it for the main job's out/ tables):
//   build/main/perf/lockfree_stack_queue_bench --benchmark_repetitions=7 --benchmark_min_time=0.1
//     --benchmark_display_aggregates_only=true
//     --benchmark_out=out/lockfree_stack_queue_bench.json --benchmark_out_format=json
//   python3 perf/lockfree_stack_queue_ratios.py out/lockfree_stack_queue_bench.json
//
// Machine caveat: on the project's noisy 2-vCPU VM compare medians and
// ratios from one run; the 2-thread figures depend on how the vCPUs'
// timeslices line up and vary more between runs.
#define _LGPL_SOURCE 1  // liburcu's inline wfcqueue, as its own users get it
#include <quiesce/lockfree.hpp>

#include "peers/ck_hp_peers.h"
#include "peers/urcu_lfs_peer.h"

#include <benchmark/benchmark.h>
#include <boost/lockfree/queue.hpp>
#include <boost/lockfree/stack.hpp>
#include <pthread.h>
#include <concurrentqueue.h>  // moodycamel (perf/CMakeLists.txt finds its directory)
#include <tbb/concurrent_queue.h>
#include <urcu/wfcqueue.h>

#include <time.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <iterator>
#include <new>
#include <optional>
#include <string>
#include <vector>

#include "bench_pair.hpp"
#include "bench_placement.hpp"
#include "bench_stats.hpp"

namespace {

constexpr std::uint64_t kBatch = 64;          // operations of each kind per call of a batch function
constexpr std::uint64_t kMaxBacklog = 1 << 16;  // prod_cons: items the producer may be ahead (~3 MiB of nodes)

using quiesce::detail::base::cpu_relax;

// ---------------------------------------------------------------------------
// C++ peers, each with the batch functions of peers/ck_hp_peers.h.

template <class Push, class TryPop>
struct batch_ops {
  [[gnu::always_inline]] static inline std::uint64_t pairs(std::uint64_t n, std::uint64_t first) {
    std::uint64_t sum = 0, v = 0;
    for (std::uint64_t i = 0; i < n; ++i) {
      Push{}(first + i);
      if (TryPop{}(v)) sum += v;
    }
    return sum;
  }
  [[gnu::always_inline]] static inline void push(std::uint64_t n, std::uint64_t first) {
    for (std::uint64_t i = 0; i < n; ++i) Push{}(first + i);
  }
  [[gnu::always_inline]] static inline std::uint64_t pop(std::uint64_t n) {
    std::uint64_t sum = 0, v = 0;
    for (std::uint64_t got = 0; got < n;) {
      if (TryPop{}(v)) {
        sum += v;
        ++got;
      } else {
        cpu_relax();
      }
    }
    return sum;
  }
  [[gnu::always_inline]] static inline std::uint64_t drain() {
    std::uint64_t sum = 0, v = 0;
    while (TryPop{}(v)) sum += v;
    return sum;
  }
};

// The not-inlined entry points (the loops above are inlined into them).
#define QUIESCE_BATCH_ENTRY_POINTS(OPS)                                                                         \
  [[gnu::noinline]] static std::uint64_t pairs(std::uint64_t n, std::uint64_t f) { return OPS::pairs(n, f); } \
  [[gnu::noinline]] static void push(std::uint64_t n, std::uint64_t f) { OPS::push(n, f); }                    \
  [[gnu::noinline]] static std::uint64_t pop(std::uint64_t n) { return OPS::pop(n); }                        \
  [[gnu::noinline]] static std::uint64_t drain() { return OPS::drain(); }

// The peer Push and TryPop make: its not-inlined batch functions.
template <class Push, class TryPop>
struct batch_peer {
  using ops = batch_ops<Push, TryPop>;
  QUIESCE_BATCH_ENTRY_POINTS(ops)
};

// quiesce::lockfree::treiber_stack and ms_queue: push(v), pop() -> std::optional.
template <class C>
C& quiesce_container() {
  static C c;
  return c;
}
// The same structure on a hazard-pointer domain of its own (built before
// the structure, destroyed after it): the _own_domain rows.
template <class C>
C& own_domain_container() {
  static quiesce::hazard_pointer_domain dom;
  static C c(dom);
  return c;
}
template <class C, C& (*Get)()>
struct quiesce_push {
  void operator()(std::uint64_t v) const { Get().push(v); }
};
template <class C, C& (*Get)()>
struct quiesce_pop {
  bool operator()(std::uint64_t& v) const {
    std::optional<std::uint64_t> r = Get().pop();
    if (!r) return false;
    v = *r;
    return true;
  }
};
template <class C, C& (*Get)() = quiesce_container<C>>
using quiesce_peer = batch_peer<quiesce_push<C, Get>, quiesce_pop<C, Get>>;
using quiesce_treiber = quiesce_peer<quiesce::lockfree::treiber_stack<std::uint64_t>>;
using quiesce_ms = quiesce_peer<quiesce::lockfree::ms_queue<std::uint64_t>>;
using quiesce_treiber_own = quiesce_peer<quiesce::lockfree::treiber_stack<std::uint64_t>,
                                         own_domain_container<quiesce::lockfree::treiber_stack<std::uint64_t>>>;
using quiesce_ms_own = quiesce_peer<quiesce::lockfree::ms_queue<std::uint64_t>,
                                    own_domain_container<quiesce::lockfree::ms_queue<std::uint64_t>>>;

// The one C a peer's threads share, on cache lines of its own, built from
// Args.
template <class C, auto... Args>
C& padded_instance() {
  struct alignas(128) holder {
    C c{Args...};
  };
  static holder h;
  return h.c;
}

// boost::lockfree::stack and queue (1024 nodes to start with): push(v) (a
// dynamic freelist: fails only without memory), pop(v).
template <class C>
struct boost_push {
  void operator()(std::uint64_t v) const {
    if (!padded_instance<C, 1024>().push(v)) std::abort();
  }
};
template <class C>
struct boost_pop {
  bool operator()(std::uint64_t& v) const { return padded_instance<C, 1024>().pop(v); }
};
template <class C>
using boost_peer = batch_peer<boost_push<C>, boost_pop<C>>;
using boost_lockfree_stack = boost_peer<boost::lockfree::stack<std::uint64_t>>;
using boost_lockfree_queue = boost_peer<boost::lockfree::queue<std::uint64_t>>;

// tbb::concurrent_queue
using tbb_concurrent_queue = tbb::concurrent_queue<std::uint64_t>;
struct tbb_push {
  void operator()(std::uint64_t v) const { padded_instance<tbb_concurrent_queue>().push(v); }
};
struct tbb_pop {
  bool operator()(std::uint64_t& v) const { return padded_instance<tbb_concurrent_queue>().try_pop(v); }
};
using tbb_queue = batch_peer<tbb_push, tbb_pop>;

// moodycamel::ConcurrentQueue, implicit producers (enqueue / try_dequeue
// without tokens, as a drop-in MPMC queue is used): FIFO per producer only.
using moodycamel_concurrent_queue = moodycamel::ConcurrentQueue<std::uint64_t>;
struct moodycamel_push {
  void operator()(std::uint64_t v) const { padded_instance<moodycamel_concurrent_queue>().enqueue(v); }
};
struct moodycamel_pop {
  bool operator()(std::uint64_t& v) const { return padded_instance<moodycamel_concurrent_queue>().try_dequeue(v); }
};
using moodycamel_queue = batch_peer<moodycamel_push, moodycamel_pop>;

// liburcu cds_wfcq: head (with its dequeue mutex) and tail on separate blocks,
// as wfcqueue.h advises for concurrent enqueue and dequeue.
struct wfcq_node {
  cds_wfcq_node node;
  std::uint64_t value;
};
struct wfcq_holder {
  alignas(128) cds_wfcq_head head;
  alignas(128) cds_wfcq_tail tail;
  wfcq_holder() { cds_wfcq_init(&head, &tail); }
};
wfcq_holder& w_queue() {
  static wfcq_holder h;
  return h;
}
struct w_queue_push {
  void operator()(std::uint64_t v) const {
    auto* n = static_cast<wfcq_node*>(std::malloc(sizeof(wfcq_node)));
    if (n == nullptr) std::abort();
    cds_wfcq_node_init(&n->node);
    n->value = v;
    cds_wfcq_enqueue(cds_wfcq_head_cast(&w_queue().head), &w_queue().tail, &n->node);
  }
};
struct w_queue_pop {
  bool operator()(std::uint64_t& v) const {
    cds_wfcq_node* cn = cds_wfcq_dequeue_blocking(&w_queue().head, &w_queue().tail);
    if (cn == nullptr) return false;
    auto* n = caa_container_of(cn, wfcq_node, node);
    v = n->value;
    std::free(n);  // a node is the dequeuer's alone once dequeue_blocking returns
    return true;
  }
};
using urcu_wfcq = batch_peer<w_queue_push, w_queue_pop>;

// C peers: P_pairs, P_push, P_pop, P_drain of peers/peer_batch.h.
template <std::uint64_t (*Pairs)(std::uint64_t, std::uint64_t), void (*Push)(std::uint64_t, std::uint64_t),
          std::uint64_t (*Pop)(std::uint64_t), std::uint64_t (*Drain)()>
struct c_peer {
  static std::uint64_t pairs(std::uint64_t n, std::uint64_t f) { return Pairs(n, f); }
  static void push(std::uint64_t n, std::uint64_t f) { Push(n, f); }
  static std::uint64_t pop(std::uint64_t n) { return Pop(n); }
  static std::uint64_t drain() { return Drain(); }
};
using urcu_lfs = c_peer<urcu_lfs_pairs, urcu_lfs_push, urcu_lfs_pop, urcu_lfs_drain>;
using ck_stack_peer = c_peer<ck_hp_stack_pairs, ck_hp_stack_push, ck_hp_stack_pop, ck_hp_stack_drain>;
using ck_fifo_peer = c_peer<ck_hp_fifo_pairs, ck_hp_fifo_push, ck_hp_fifo_pop, ck_hp_fifo_drain>;

// ---------------------------------------------------------------------------
// Shared run state for the 2-thread workloads, reset by thread 0 before the
// timed loop (Google Benchmark's start barrier orders it before thread 1's
// loop) and read by thread 0 after it (the stop barrier orders thread 1's
// last writes before).

struct alignas(128) padded_counter {
  std::atomic<std::uint64_t> v{0};
};
struct run_state {
  padded_counter consumed_batches;  // prod_cons: written by the consumer only
  padded_counter pushed_sum[2];     // per thread, written by that thread only
  padded_counter popped_sum[2];

  // Zeroes every counter, before a run's (or a segment's) threads start.
  void reset() noexcept {
    consumed_batches.v.store(0, std::memory_order_relaxed);
    for (auto& c : pushed_sum) c.v.store(0, std::memory_order_relaxed);
    for (auto& c : popped_sum) c.v.store(0, std::memory_order_relaxed);
  }
  // Both threads' sums, once they are done (their end is ordered before).
  std::uint64_t pushed() const noexcept {
    return pushed_sum[0].v.load(std::memory_order_relaxed) + pushed_sum[1].v.load(std::memory_order_relaxed);
  }
  std::uint64_t popped() const noexcept {
    return popped_sum[0].v.load(std::memory_order_relaxed) + popped_sum[1].v.load(std::memory_order_relaxed);
  }
};
run_state g_run;

// Sum of the values a batch starting at `first` pushes.
constexpr std::uint64_t batch_sum(std::uint64_t first) { return kBatch * first + kBatch * (kBatch - 1) / 2; }

// Distinct values per thread and batch (thread in the top bits), from 1.
constexpr std::uint64_t first_value(int thread, std::uint64_t batch) {
  return (static_cast<std::uint64_t>(thread) << 48) + batch * kBatch + 1;
}

using quiesce::perf::place_thread;  // perf/bench_placement.hpp

constexpr const char* kLostOrDuplicated = "values lost or duplicated: popped sum differs from pushed sum";

// Whether the values popped, plus those `drain` still finds, sum to those
// pushed.
bool sums_match(std::uint64_t pushed, std::uint64_t popped, std::uint64_t (*drain)()) {
  return pushed == popped + drain();
}

template <class Peer>
void check_sums(benchmark::State& st, std::uint64_t pushed, std::uint64_t popped) {
  if (!sums_match(pushed, popped, &Peer::drain)) st.SkipWithError(kLostOrDuplicated);
}

// 1 thread: push then pop, kBatch pairs per iteration.
template <class Peer>
void bm_pairs(benchmark::State& st) {
  if (!place_thread(st, false)) return;
  std::uint64_t pushed = 0, popped = 0, batch = 0;
  for (auto _ : st) {
    const std::uint64_t first = first_value(0, batch++);
    popped += Peer::pairs(kBatch, first);
    pushed += batch_sum(first);
  }
  check_sums<Peer>(st, pushed, popped);
  st.SetItemsProcessed(static_cast<std::int64_t>(st.iterations() * 2 * kBatch));
}

// 2 threads: thread 0 pushes kBatch per iteration, thread 1 pops kBatch
// (both run the same number of iterations, so every item is popped).
template <class Peer>
void bm_prod_cons(benchmark::State& st) {
  if (!place_thread(st, true)) return;
  const int t = st.thread_index();
  if (t == 0) g_run.reset();
  std::uint64_t batch = 0, sum = 0;
  for (auto _ : st) {
    if (t == 0) {
      // Bounded backlog: wait while more than kMaxBacklog items are queued.
      // Acquire: pairs with the consumer's release store below (the popped
      // items are gone before we count them as consumed).
      while ((batch - g_run.consumed_batches.v.load(std::memory_order_acquire)) * kBatch >= kMaxBacklog) cpu_relax();
      const std::uint64_t first = first_value(0, batch++);
      Peer::push(kBatch, first);
      sum += batch_sum(first);
      g_run.pushed_sum[0].v.store(sum, std::memory_order_relaxed);
    } else {
      sum += Peer::pop(kBatch);
      g_run.popped_sum[1].v.store(sum, std::memory_order_relaxed);
      // Release: this batch's pops happen-before the producer's next check.
      g_run.consumed_batches.v.store(++batch, std::memory_order_release);
    }
  }
  if (t == 0) check_sums<Peer>(st, g_run.pushed(), g_run.popped());
  st.SetItemsProcessed(static_cast<std::int64_t>(st.iterations() * kBatch));  // pushes (t0) + pops (t1)
}

// 2 threads, each: kBatch x (push, pop) per iteration.
template <class Peer>
void bm_mixed(benchmark::State& st) {
  if (!place_thread(st, true)) return;
  const int t = st.thread_index();
  if (t == 0) g_run.reset();
  std::uint64_t batch = 0, pushed = 0, popped = 0;
  for (auto _ : st) {
    const std::uint64_t first = first_value(t, batch++);
    popped += Peer::pairs(kBatch, first);
    pushed += batch_sum(first);
    g_run.pushed_sum[t].v.store(pushed, std::memory_order_relaxed);
    g_run.popped_sum[t].v.store(popped, std::memory_order_relaxed);
  }
  if (t == 0) check_sums<Peer>(st, g_run.pushed(), g_run.popped());
  st.SetItemsProcessed(static_cast<std::int64_t>(st.iterations() * 2 * kBatch));
}

// ---------------------------------------------------------------------------
// Paired: what the targets are judged on.
//
// On the project's VM the cost of a cache-line transfer between the two
// vCPUs, and the share of a CPU each gets, change from one stretch of a
// second or so to the next (where the host puts them), and the rows above
// take each implementation's repetitions at different moments, so a slow
// stretch can fall on one implementation only (a row's rate halving in one
// run while the rows beside it hold). <kind>/paired/<workload> runs, per
// iteration, one segment of the workload through quiesce and one through
// each comparable peer (those lockfree_stack_queue_ratios.py counts in the
// target), back to back on the same pinned threads in an order that
// rotates, and takes quiesce's rate over each peer's and over the fastest
// peer's of that iteration. Counters: vs_<peer key> and vs_best, the
// medians of those ratios over the iterations (perf/bench_stats.hpp).
//
// A segment is kSegmentBatches batches of kBatch operations of each kind per
// thread, the workload of the row of the same name: pairs (the measuring
// thread alone, timed by its CPU time as the row is), prod_cons (thread 0
// pushes, thread 1 pops, at most kMaxBacklog apart) and mixed (each thread
// pushes then pops), the two-thread ones timed by the wall clock from the
// start until both threads are done (perf/bench_pair.hpp's segment_pair:
// thread 1 is a helper pinned once, outside the timing). Every segment checks
// its sums, drained, as the rows do.

constexpr std::uint64_t kSegmentBatches = 4096;  // 262,144 operations of each kind per thread
constexpr int kPairedIterations = 16;

// An implementation's batch functions, named by its rows' key, and what
// must run after each of its segments, outside the timing, so that none of
// its work spills into the next implementation's segment (cds_lfs: wait for
// the call_rcu worker to free the segment's nodes; it runs on either CPU).
struct impl_fns {
  const char* key;
  std::uint64_t (*pairs)(std::uint64_t, std::uint64_t);
  void (*push)(std::uint64_t, std::uint64_t);
  std::uint64_t (*pop)(std::uint64_t);
  std::uint64_t (*drain)();
  void (*settle)() = nullptr;
};
template <class Peer>
constexpr impl_fns fns_of(const char* key, void (*settle)() = nullptr) {
  return {key, &Peer::pairs, &Peer::push, &Peer::pop, &Peer::drain, settle};
}

enum class workload { pairs, prod_cons, mixed };

// One segment of workload w through *fns, thread t's half (pairs: thread 0
// only). Sums go to g_run, which the measuring thread reset before.
struct alignas(128) segment {
  const impl_fns* fns = nullptr;
  workload w = workload::pairs;

  void operator()(int t) const {
    const impl_fns f = *fns;  // read once: this block is shared by both threads
    std::uint64_t pushed = 0, popped = 0;
    if (w == workload::prod_cons) {
      for (std::uint64_t b = 0; b < kSegmentBatches; ++b) {
        if (t == 0) {
          // As bm_prod_cons: acquire pairs with the consumer's release.
          while ((b - g_run.consumed_batches.v.load(std::memory_order_acquire)) * kBatch >= kMaxBacklog) cpu_relax();
          const std::uint64_t first = first_value(0, b);
          f.push(kBatch, first);
          pushed += batch_sum(first);
        } else {
          popped += f.pop(kBatch);
          g_run.consumed_batches.v.store(b + 1, std::memory_order_release);
        }
      }
    } else {
      for (std::uint64_t b = 0; b < kSegmentBatches; ++b) {
        const std::uint64_t first = first_value(t, b);
        popped += f.pairs(kBatch, first);
        pushed += batch_sum(first);
      }
    }
    // Relaxed: segment_pair::run's acquire of the helper's finish (and
    // program order for thread 0) orders these before the check.
    g_run.pushed_sum[t].v.store(pushed, std::memory_order_relaxed);
    g_run.popped_sum[t].v.store(popped, std::memory_order_relaxed);
  }
};

double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// Runs one segment of seg.w through *fns; returns its seconds (pairs: the
// thread's CPU time; else wall clock), or a negative value when the sums
// differ (a value lost or duplicated).
double run_segment(segment& seg, const impl_fns& fns, quiesce::perf::segment_pair* pair) {
  seg.fns = &fns;
  g_run.reset();
  double secs;
  if (pair == nullptr) {
    const double t0 = thread_cpu_seconds();
    seg(0);
    secs = thread_cpu_seconds() - t0;
  } else {
    secs = pair->run(seg);  // its release store publishes the resets above
  }
  const bool ok = sums_match(g_run.pushed(), g_run.popped(), fns.drain);
  if (fns.settle != nullptr) fns.settle();
  return ok ? secs : -1.0;
}

// impls[0] is quiesce's structure, the rest its comparable peers.
template <workload W, const impl_fns* Impls, std::size_t N>
void bm_paired(benchmark::State& st) {
  constexpr bool two_threads = W != workload::pairs;
  if (!place_thread(st, two_threads)) return;
  std::optional<quiesce::perf::segment_pair> pair;
  if constexpr (two_threads) {
    pair.emplace();
    if (!pair->pinned()) {
      st.SkipWithError("cannot pin the helper thread to the helper CPU");
      return;
    }
  }
  segment seg;
  seg.w = W;
  quiesce::perf::segment_pair* const helper = pair ? &*pair : nullptr;
  double secs[N];
  // Implementation i's segment into secs[i]; false, the run skipped, when
  // its sums differ.
  auto run = [&](std::size_t i) {
    secs[i] = run_segment(seg, Impls[i], helper);
    if (secs[i] >= 0) return true;
    st.SkipWithError(kLostOrDuplicated);
    return false;
  };
  // One untimed round first: every implementation's pools, freelists and
  // thread records exist before the first timed segment.
  for (std::size_t i = 0; i < N; ++i)
    if (!run(i)) return;
  std::vector<std::vector<double>> vs(N);  // [0]: over the fastest peer; [i]: over peer i
  std::size_t round = 0;
  for (auto _ : st) {
    // The order rotates, and runs backwards every other lap of N rounds, so
    // that each implementation follows each other one in turn.
    const bool backwards = (round / N) % 2 == 1;
    for (std::size_t k = 0; k < N; ++k)
      if (!run((round + (backwards ? N - k : k)) % N)) return;
    ++round;
    double best = secs[1];
    for (std::size_t i = 1; i < N; ++i) {
      vs[i].push_back(secs[i] / secs[0]);  // equal work: the rates' ratio
      best = std::min(best, secs[i]);
    }
    vs[0].push_back(best / secs[0]);
  }
  st.counters["vs_best"] = quiesce::perf::median(vs[0]);
  for (std::size_t i = 1; i < N; ++i) st.counters[std::string("vs_") + Impls[i].key] = quiesce::perf::median(vs[i]);
  st.counters["segments"] = static_cast<double>(vs[0].size());
}

constexpr impl_fns kStackImpls[] = {
    fns_of<quiesce_treiber>("quiesce_treiber"),
    fns_of<boost_lockfree_stack>("boost_lockfree"),
    fns_of<urcu_lfs>("urcu_lfs", urcu_lfs_barrier),
    fns_of<ck_stack_peer>("ck_hp_stack"),
};
constexpr impl_fns kQueueImpls[] = {
    fns_of<quiesce_ms>("quiesce_ms"),
    fns_of<boost_lockfree_queue>("boost_lockfree"),
    fns_of<ck_fifo_peer>("ck_hp_fifo"),
};

#define QUIESCE_PAIRED_BENCH(KIND, IMPLS)                                                                   \
  BENCHMARK(bm_paired<workload::pairs, IMPLS, std::size(IMPLS)>)                                          \
      ->Name(KIND "/paired/pairs")->Iterations(kPairedIterations);                                         \
  BENCHMARK(bm_paired<workload::prod_cons, IMPLS, std::size(IMPLS)>)                                      \
      ->Name(KIND "/paired/prod_cons")->Iterations(kPairedIterations)->UseRealTime();                      \
  BENCHMARK(bm_paired<workload::mixed, IMPLS, std::size(IMPLS)>)                                          \
      ->Name(KIND "/paired/mixed")->Iterations(kPairedIterations)->UseRealTime();

#define QUIESCE_STACK_QUEUE_BENCH(KIND, NAME, PEER)                                                    \
  BENCHMARK(bm_pairs<PEER>)->Name(KIND "/pairs/" NAME);                                              \
  BENCHMARK(bm_prod_cons<PEER>)->Name(KIND "/prod_cons/" NAME)->Threads(2)->UseRealTime();           \
  BENCHMARK(bm_mixed<PEER>)->Name(KIND "/mixed/" NAME)->Threads(2)->UseRealTime();

QUIESCE_STACK_QUEUE_BENCH("stack", "quiesce_treiber", quiesce_treiber)
// Information: the one-thread cost of a domain of its own (no batch of
// retires; the thread's set of operation records for that domain).
BENCHMARK(bm_pairs<quiesce_treiber_own>)->Name("stack/pairs/quiesce_treiber_own_domain");
QUIESCE_STACK_QUEUE_BENCH("stack", "boost_lockfree", boost_lockfree_stack)
QUIESCE_STACK_QUEUE_BENCH("stack", "urcu_lfs", urcu_lfs)
QUIESCE_STACK_QUEUE_BENCH("stack", "ck_hp_stack", ck_stack_peer)
QUIESCE_STACK_QUEUE_BENCH("queue", "quiesce_ms", quiesce_ms)
BENCHMARK(bm_pairs<quiesce_ms_own>)->Name("queue/pairs/quiesce_ms_own_domain");
QUIESCE_STACK_QUEUE_BENCH("queue", "boost_lockfree", boost_lockfree_queue)
QUIESCE_STACK_QUEUE_BENCH("queue", "tbb", tbb_queue)
QUIESCE_STACK_QUEUE_BENCH("queue", "moodycamel_cq", moodycamel_queue)
QUIESCE_STACK_QUEUE_BENCH("queue", "urcu_wfcq", urcu_wfcq)
QUIESCE_STACK_QUEUE_BENCH("queue", "ck_hp_fifo", ck_fifo_peer)
QUIESCE_PAIRED_BENCH("stack", kStackImpls)
QUIESCE_PAIRED_BENCH("queue", kQueueImpls)

}  // namespace

BENCHMARK_MAIN();
