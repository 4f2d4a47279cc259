// perf/disruptor_bench.cpp — quiesce's Disruptor (<quiesce/disruptor.hpp>) in
// LMAX's perf-test shapes, against boost::lockfree::spsc_queue, Concurrency
// Kit's ck_ring, moodycamel's ReaderWriterQueue and ConcurrentQueue,
// tbb::concurrent_bounded_queue and a std::mutex queue, in one run.
//
// What is measured (items_per_second unless noted; kItems events per
// iteration; each iteration ends when the last consumer has handled them)
//   unicast_1p1c/<peer>   one producer, one consumer (LMAX
//       OneToOneSequencedThroughputTest). Producer on the measuring CPU,
//       consumer on the helper CPU, both spinning.
//       disruptor          next(); write; publish(seq) per event;
//                          busy_spin_wait_strategy; the processor takes every
//                          available event per acquire load. Counter
//                          events_per_batch: the consumer's mean batch
//       disruptor_spin16   the same, busy_spin_wait_strategy(16): the
//                          consumer polls the cursor every 16 pauses, so
//                          the producer keeps the cursor's line longer
//       disruptor_batch10  next(10); write 10; publish(lo, hi) (LMAX
//                          OneToOneSequencedBatchThroughputTest)
//       boost_spsc         boost::lockfree::spsc_queue push() per event,
//                          consumer consume_all() (its batch API)
//       moodycamel_rwq     moodycamel::ReaderWriterQueue (Debian
//                          libreaderwriterqueue-dev), try_enqueue() per event
//                          (bounded: it never allocates after construction),
//                          consumer try_dequeue() until empty
//       ck_ring            ck_ring_enqueue_spsc per event, consumer dequeues
//                          until empty (C loops in perf/peers/ck_ring_peers.c)
//       tbb_bounded        tbb::concurrent_bounded_queue push / try_pop
//       std_mutex          std::deque under a std::mutex, bounded, one item
//                          per lock on each side, yield when empty/full
//       paired             the unicast targets' measurement: per iteration,
//                          one segment through the Disruptor per event (as
//                          `disruptor`), one in batches of 10 (as
//                          `disruptor_batch10`) and one through each SPSC
//                          peer, back to back in rotating order; counters
//                          ratio_vs_best_spsc and batch10_ratio_vs_best_spsc:
//                          the medians over iterations of each Disruptor
//                          segment's rate / the fastest peer's
//                          (see unicast_paired below)
//     Every ring holds kRing (65,536) items; the consumers add the values up
//     (checked against the expected sum after the run).
//   pipeline_1p3c, multicast_1p3c, diamond_1p3c, sequencer_3p1c — Disruptor
//     only (LMAX's OneToThreePipeline/OneToThreeSequenced/
//     OneToThreeDiamondSequenced/ThreeToOneSequenced). OVERSUBSCRIBED on a
//     2-CPU machine (4 threads): yielding_wait_strategy, consumers unpinned,
//     the producer (3P: producer 0) on the measuring CPU, the other
//     producers unpinned. Figures are scheduler-bound there, not
//     comparable with LMAX's 16-core numbers.
//     sequencer_3p1c/moodycamel_cq: the same 3 producers and 1 consumer on
//     moodycamel::ConcurrentQueue (Debian libconcurrentqueue-dev; a producer
//     token each, enqueue() in chunks of 256 while at most kRing items are
//     queued, consumer try_dequeue_bulk, yield when empty or full).
//     Information, not a like-for-like peer: it is FIFO per producer only,
//     not one total order that every consumer sees, as the Disruptor's ring is.
//   ping_pong/<peer>     round trip between two pinned threads through two
//     rings (LMAX PingPongSequencedLatencyTest): disruptor (busy-spin
//     processor on the helper CPU publishes back on the second ring; _spin16:
//     busy_spin_wait_strategy(16) on both rings, the latency cost of the
//     unicast_1p1c/disruptor_spin16 setting),
//     boost_spsc and moodycamel_rwq (two queues each, busy-polling). Each
//     side reads the event it waited for (the Disruptor's pinger reads the
//     reply from the pong ring's slot, as a queue's try_dequeue does) and
//     the pinger checks it. Counters p50_ns, p99_ns,
//     p999_ns, max_ns, mean_ns per round trip, timed with steady_clock
//     (the ~20-30 ns clock read is inside every sample, for both peers).
//
// Command (the main job, scripts/run_main.sh, runs it for out/disruptor_ratios.md):
//   build/main/perf/disruptor_bench --benchmark_repetitions=5 --benchmark_min_time=0.2
//     --benchmark_display_aggregates_only=true
//     --benchmark_out=out/disruptor_bench.json --benchmark_out_format=json
//   python3 perf/disruptor_ratios.py out/disruptor_bench.json
//
// Machine caveat: on the project's noisy 2-vCPU VM compare medians and
// ratios from one run, never absolute figures across runs or machines.
#include <quiesce/disruptor.hpp>

#include "peers/ck_ring_peers.h"

#include <benchmark/benchmark.h>
#include <boost/lockfree/spsc_queue.hpp>
#include <concurrentqueue.h>  // moodycamel (perf/CMakeLists.txt finds its directory)
#include <readerwriterqueue/readerwriterqueue.h>
#include <tbb/concurrent_queue.h>

#include "bench_placement.hpp"
#include "bench_stats.hpp"
#include <pthread.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

namespace {

namespace qd = quiesce::disruptor;
using quiesce::perf::g_cpus;
using quiesce::perf::pin_thread;

// The topology (and with it the CPUs processor_placement accepts) is probed
// from the affinity mask at its first use: before the measuring thread pins
// itself to one CPU.
const quiesce::numa::topology& g_topology = quiesce::numa::topology::system();

// Events per benchmark iteration: long enough for the steady state (LMAX
// runs 100 M per test); each iteration starts with the consumers caught up.
constexpr std::int64_t kItems = 1 << 22;
constexpr std::size_t kRing = 1 << 16;    // slots in every ring and queue

struct value_event {
  std::int64_t value = 0;
};
value_event make_event() { return {}; }

constexpr std::int64_t expected_sum(std::int64_t first, std::int64_t n) { return n * first + n * (n - 1) / 2; }

void report(benchmark::State& st, std::int64_t items, std::int64_t sum, std::int64_t want) {
  st.SetItemsProcessed(items);
  if (sum != want) st.SkipWithError("consumer's sum differs from the values published: events lost or duplicated");
}

// ------------------------------------------------------------- unicast ----
// Adds the values up (LMAX's ValueAdditionEventHandler) and counts the
// batches the processor hands it in on_batch_start, once per batch, so that
// the count adds nothing to the per-event work: events_per_batch in the JSON
// is the consumer's mean batch size, the figure the per-event rate follows.
// Aligned to its own 128-byte block: the consumer writes it per event, and
// it lives on the producer's stack, beside locals the producer's loop reads.
struct alignas(128) sum_handler {
  std::int64_t sum = 0;
  std::int64_t batches = 0;
  void on_batch_start(std::int64_t, std::int64_t) { ++batches; }
  void on_event(value_event& e, std::int64_t, bool) { sum += e.value; }
};

template <int Batch, int PausesPerPoll = 1>
void unicast_disruptor(benchmark::State& st) {
  if (!quiesce::perf::place(st, true, "unicast needs two CPUs (producer and consumer)")) return;
  sum_handler h;
  qd::disruptor<value_event, qd::single_producer_sequencer<qd::busy_spin_wait_strategy>> d(
      kRing, make_event, qd::ring_memory{}, PausesPerPoll);
  d.set_placement(qd::processor_placement::on_cpus({g_cpus.helper}));
  d.handle_events_with(h);
  auto& ring = d.start();
  std::int64_t v = 0;
  for (auto _ : st) {
    for (std::int64_t i = 0; i < kItems; i += Batch) {
      const std::int64_t hi = ring.next(Batch);
      for (std::int64_t s = hi - Batch + 1; s <= hi; ++s) ring[s].value = v++;
      ring.publish(hi - Batch + 1, hi);
    }
    d.drain();
  }
  d.shutdown();
  report(st, v, h.sum, expected_sum(0, v));
  if (h.batches != 0) st.counters["events_per_batch"] = static_cast<double>(v) / static_cast<double>(h.batches);
}

// The queue peers' consumer loop: take(s) dequeues what it finds, adds it
// to s and returns how many items it took (0: the queue was empty, and it
// calls idle()); the running count goes to `done` (release) after each
// take that found items. Until stopped(); returns the sum.
template <class Take, class Idle, class Stopped>
std::int64_t consume_until(Take& take, Idle& idle, Stopped stopped, std::atomic<std::int64_t>& done) {
  std::int64_t count = 0, s = 0;
  while (!stopped()) {
    const std::size_t n = take(s);
    if (n != 0) {
      count += static_cast<std::int64_t>(n);
      done.store(count, std::memory_order_release);
    } else {
      idle();
    }
  }
  return s;
}

// The two-thread harness of the queue peers: this thread produces, a
// consumer thread on the helper CPU consumes (consume_until, with `take`
// and `idle`); `produce(v)` enqueues kItems
// values from v on, advancing v past them. Each iteration ends with the
// consumer caught up; the consumer's sum is checked at the end.
template <class Take, class Idle, class Produce>
void unicast_queue(benchmark::State& st, Take take, Idle idle, Produce produce) {
  alignas(128) std::atomic<std::int64_t> done{0};
  alignas(128) std::atomic<bool> stop{false};
  std::int64_t sum = 0;
  std::thread consumer([&, take, idle]() mutable {
    pin_thread(pthread_self(), g_cpus.helper);
    sum = consume_until(take, idle, [&] { return stop.load(std::memory_order_acquire); }, done);
  });
  std::int64_t v = 0;
  for (auto _ : st) {
    produce(v);
    while (done.load(std::memory_order_acquire) != v) std::this_thread::yield();
  }
  stop.store(true, std::memory_order_release);
  consumer.join();
  report(st, v, sum, expected_sum(0, v));
}

// One producer, one consumer through an SPSC queue Q: q.try_push(v) per
// event (spinning while full); the consumer takes whatever is there with
// q.drain(f) (f per item; returns how many), spinning while empty.
template <class Q>
void unicast_spsc_queue(benchmark::State& st, Q& q) {
  unicast_queue(
      st, [&q](std::int64_t& s) { return q.drain([&s](std::int64_t x) { s += x; }); },
      [] { quiesce::detail::base::cpu_relax(); },
      [&q](std::int64_t& v) {
        for (std::int64_t i = 0; i < kItems; ++i) {
          while (!q.try_push(v)) quiesce::detail::base::cpu_relax();
          ++v;
        }
      });
}

// boost::lockfree::spsc_queue: push(); consume_all() (its batch API).
struct alignas(128) boost_spsc_ring {
  boost::lockfree::spsc_queue<std::int64_t, boost::lockfree::capacity<kRing>> q;
  bool try_push(std::int64_t x) { return q.push(x); }
  template <class F>
  std::size_t drain(F f) {
    return q.consume_all(f);
  }
};

// moodycamel::ReaderWriterQueue: try_enqueue() (never allocates after
// construction: bounded at kRing); try_dequeue() until empty.
struct alignas(128) moodycamel_rwq_ring {
  moodycamel::ReaderWriterQueue<std::int64_t> q{kRing};
  bool try_push(std::int64_t x) { return q.try_enqueue(x); }
  template <class F>
  std::size_t drain(F f) {
    std::size_t n = 0;
    for (std::int64_t x; q.try_dequeue(x); ++n) f(x);
    return n;
  }
};

void unicast_boost_spsc(benchmark::State& st) {
  if (!quiesce::perf::place(st, true, "unicast needs two CPUs (producer and consumer)")) return;
  auto q = std::make_unique<boost_spsc_ring>();
  unicast_spsc_queue(st, *q);
}

void unicast_moodycamel_rwq(benchmark::State& st) {
  if (!quiesce::perf::place(st, true, "unicast needs two CPUs (producer and consumer)")) return;
  auto q = std::make_unique<moodycamel_rwq_ring>();
  unicast_spsc_queue(st, *q);
}

alignas(128) int ck_stop;
alignas(128) std::int64_t ck_done;

void unicast_ck_ring(benchmark::State& st) {
  if (!quiesce::perf::place(st, true, "unicast needs two CPUs (producer and consumer)")) return;
  if (!ck_ring_peer_init(kRing)) {
    st.SkipWithError("ck_ring: out of memory");
    return;
  }
  __atomic_store_n(&ck_stop, 0, __ATOMIC_RELEASE);
  __atomic_store_n(&ck_done, 0, __ATOMIC_RELEASE);
  std::int64_t sum = 0;
  std::thread consumer([&] {
    pin_thread(pthread_self(), g_cpus.helper);
    ck_ring_peer_consume(&ck_stop, &ck_done, &sum);
  });
  std::int64_t v = 0;
  for (auto _ : st) {
    ck_ring_peer_produce(kItems, static_cast<std::uint64_t>(v));
    v += kItems;
    while (__atomic_load_n(&ck_done, __ATOMIC_ACQUIRE) != v) std::this_thread::yield();
  }
  __atomic_store_n(&ck_stop, 1, __ATOMIC_RELEASE);
  consumer.join();
  ck_ring_peer_free();
  report(st, v, sum, expected_sum(0, v));
}

// ------------------------------------------------------ unicast, paired ----
// The unicast targets' measurement. On the project's VM the cost of a
// cache-line transfer between the two vCPUs changes from one stretch of
// seconds to the next (where the host puts them), by more than the ratios
// at stake, so medians taken per implementation can set one
// implementation's slow stretch against a peer's fast one. Here each
// iteration runs one segment of kSegment events through the Disruptor
// (publish per event, default busy-spin consumer), one through the
// Disruptor publishing in batches of 10, and one through each SPSC peer,
// back to back in an order that rotates from one iteration to the next,
// each on a fresh structure and consumer thread set up outside the timed
// part; it records each Disruptor segment's rate over the fastest peer's
// of that iteration. Counters ratio_vs_best_spsc (per event) and
// batch10_ratio_vs_best_spsc: the medians of those ratios. (The batch
// target was judged on the per-implementation medians until a reference
// run whose batch10 repetitions fell in a slow stretch of the VM missed it
// by far, its other runs passing by far.)
// The segments run the rows' loops (the queues' consumer is theirs:
// consume_until; the producers' loops are the same few lines). Short segments and
// a fixed number of iterations per repetition: a pair is spoilt only when
// the VM's state changes within its few tens of milliseconds, and the
// median of kPairs pairs ignores the odd spoilt one.
constexpr std::int64_t kSegment = kItems / 4;
constexpr int kPairs = 7;

// Seconds from the first claim until the consumer has handled the last of
// kSegment events (values first, first + 1, ...), published Batch at a time
// (1: next()/publish(s), the per-event row; 10: next(10)/publish(lo, hi), the
// batch10 row); ok stays true only if the consumer's sum is right.
// The handler tells the producer when its processor runs (on_start, called
// on the processor's thread, pinned, just before it polls), so that the
// timing starts, as the queue peers' segments' does (spsc_segment), with
// the consumer already polling: a processor thread that had not yet been
// scheduled onto its CPU would otherwise count against the Disruptor.
struct alignas(128) segment_handler : sum_handler {
  std::atomic<bool>* started = nullptr;
  void on_start() { started->store(true, std::memory_order_release); }
};

template <int Batch>
double disruptor_segment(std::int64_t first, bool& ok) {
  alignas(128) std::atomic<bool> started{false};
  segment_handler h;
  h.started = &started;
  qd::disruptor<value_event, qd::single_producer_sequencer<qd::busy_spin_wait_strategy>> d(kRing, make_event);
  d.set_placement(qd::processor_placement::on_cpus({g_cpus.helper}));
  d.handle_events_with(h);
  auto& ring = d.start();
  while (!started.load(std::memory_order_acquire)) std::this_thread::yield();
  const auto t0 = std::chrono::steady_clock::now();
  if constexpr (Batch == 1) {
    for (std::int64_t i = 0; i < kSegment; ++i) {
      const std::int64_t s = ring.next();
      ring[s].value = first + i;
      ring.publish(s);
    }
  } else {
    for (std::int64_t i = 0; i < kSegment; i += Batch) {
      const std::int64_t n = std::min<std::int64_t>(Batch, kSegment - i);  // the last batch may be shorter
      const std::int64_t hi = ring.next(n);
      for (std::int64_t s = hi - n + 1, v = first + i; s <= hi; ++s, ++v) ring[s].value = v;
      ring.publish(hi - n + 1, hi);
    }
  }
  d.drain();
  const std::chrono::duration<double> took = std::chrono::steady_clock::now() - t0;
  d.shutdown();
  ok = ok && h.sum == expected_sum(first, kSegment);
  return took.count();
}

// The same for an SPSC queue Q (boost_spsc_ring, moodycamel_rwq_ring): the
// consumer thread, pinned to the helper CPU, drains with unicast_queue's
// loop (consume_until).
template <class Q>
double spsc_segment(std::int64_t first, bool& ok) {
  const auto holder = std::make_unique<Q>();
  // The consumer takes the queue's address by value: through the unique_ptr
  // it would re-read this thread's stack after every acquire load.
  Q* const q = holder.get();
  alignas(128) std::atomic<std::int64_t> done{0};
  alignas(128) std::atomic<int> phase{0};  // 1: the consumer is pinned and polling; 2: stop
  std::int64_t sum = 0;
  std::thread consumer([&] {
    pin_thread(pthread_self(), g_cpus.helper);
    phase.store(1, std::memory_order_release);
    auto take = [q](std::int64_t& s) { return q->drain([&s](std::int64_t x) { s += x; }); };
    auto idle = [] { quiesce::detail::base::cpu_relax(); };
    sum = consume_until(take, idle, [&] { return phase.load(std::memory_order_acquire) == 2; }, done);
  });
  while (phase.load(std::memory_order_acquire) != 1) std::this_thread::yield();
  const auto t0 = std::chrono::steady_clock::now();
  for (std::int64_t i = 0; i < kSegment; ++i)
    while (!q->try_push(first + i)) quiesce::detail::base::cpu_relax();
  while (done.load(std::memory_order_acquire) != kSegment) std::this_thread::yield();
  const std::chrono::duration<double> took = std::chrono::steady_clock::now() - t0;
  phase.store(2, std::memory_order_release);
  consumer.join();
  ok = ok && sum == expected_sum(first, kSegment);
  return took.count();
}

// The same for ck_ring (unicast_ck_ring's loops); a negative time if the
// ring cannot be allocated.
double ck_ring_segment(std::int64_t first, bool& ok) {
  if (!ck_ring_peer_init(kRing)) return -1;
  __atomic_store_n(&ck_stop, 0, __ATOMIC_RELEASE);
  __atomic_store_n(&ck_done, 0, __ATOMIC_RELEASE);
  alignas(128) std::atomic<bool> pinned{false};
  std::int64_t sum = 0;
  std::thread consumer([&] {
    pin_thread(pthread_self(), g_cpus.helper);
    pinned.store(true, std::memory_order_release);
    ck_ring_peer_consume(&ck_stop, &ck_done, &sum);
  });
  while (!pinned.load(std::memory_order_acquire)) std::this_thread::yield();
  const auto t0 = std::chrono::steady_clock::now();
  ck_ring_peer_produce(kSegment, static_cast<std::uint64_t>(first));
  while (__atomic_load_n(&ck_done, __ATOMIC_ACQUIRE) != kSegment) std::this_thread::yield();
  const std::chrono::duration<double> took = std::chrono::steady_clock::now() - t0;
  __atomic_store_n(&ck_stop, 1, __ATOMIC_RELEASE);
  consumer.join();
  ck_ring_peer_free();
  ok = ok && sum == expected_sum(first, kSegment);
  return took.count();
}

void unicast_paired(benchmark::State& st) {
  if (!quiesce::perf::place(st, true, "unicast needs two CPUs (producer and consumer)")) return;
  // The Disruptor per event and in batches of 10, boost, moodycamel, ck_ring.
  constexpr int kImpls = 5;
  std::vector<double> ratios, batch10_ratios;
  std::int64_t first = 0;
  bool ok = true, ck_ok = true;
  int turn = 0;
  for (auto _ : st) {
    double secs[kImpls] = {};
    for (int k = 0; k < kImpls; ++k) {
      const int which = (turn + k) % kImpls;
      switch (which) {
        case 0: secs[0] = disruptor_segment<1>(first, ok); break;
        case 1: secs[1] = spsc_segment<boost_spsc_ring>(first, ok); break;
        case 2: secs[2] = spsc_segment<moodycamel_rwq_ring>(first, ok); break;
        case 3: secs[3] = ck_ring_segment(first, ok); ck_ok = ck_ok && secs[3] > 0; break;
        default: secs[4] = disruptor_segment<10>(first, ok); break;
      }
      first += kSegment;
    }
    ++turn;
    double best_peer = std::min(secs[1], secs[2]);
    if (secs[3] > 0) best_peer = std::min(best_peer, secs[3]);
    ratios.push_back(best_peer / secs[0]);  // rates: kItems / secs
    batch10_ratios.push_back(best_peer / secs[4]);
  }
  if (!ok) {
    st.SkipWithError("a consumer's sum differs from the values published: events lost or duplicated");
    return;
  }
  if (!ck_ok) st.SkipWithError("ck_ring: out of memory");
  st.counters["ratio_vs_best_spsc"] = quiesce::perf::median(ratios);
  st.counters["batch10_ratio_vs_best_spsc"] = quiesce::perf::median(batch10_ratios);
  st.counters["pairs"] = static_cast<double>(ratios.size());
}

void unicast_tbb_bounded(benchmark::State& st) {
  if (!quiesce::perf::place(st, true, "unicast needs two CPUs (producer and consumer)")) return;
  tbb::concurrent_bounded_queue<std::int64_t> q;
  q.set_capacity(kRing);
  unicast_queue(
      st,
      [&q](std::int64_t& s) -> std::size_t {
        std::int64_t x = 0;
        if (!q.try_pop(x)) return 0;
        s += x;
        return 1;
      },
      [] { quiesce::detail::base::cpu_relax(); },
      [&q](std::int64_t& v) {
        for (std::int64_t i = 0; i < kItems; ++i) q.push(v++);
      });
}

void unicast_std_mutex(benchmark::State& st) {
  if (!quiesce::perf::place(st, true, "unicast needs two CPUs (producer and consumer)")) return;
  std::mutex m;
  std::deque<std::int64_t> q;
  unicast_queue(
      st,
      [&m, &q](std::int64_t& s) -> std::size_t {
        std::int64_t x = 0;
        {
          std::lock_guard l(m);
          if (q.empty()) return 0;
          x = q.front();
          q.pop_front();
        }
        s += x;
        return 1;
      },
      [] { std::this_thread::yield(); },
      [&m, &q](std::int64_t& v) {
        for (std::int64_t i = 0; i < kItems;) {
          bool pushed = false;
          {
            std::lock_guard l(m);
            if (q.size() < kRing) {
              q.push_back(v);
              pushed = true;
            }
          }
          if (pushed) {
            ++v;
            ++i;
          } else {
            std::this_thread::yield();
          }
        }
      });
}

// ------------------------------------------- 1P-3C shapes (oversubscribed) ----
struct three_stage_event {
  std::int64_t value = 0;
  std::int64_t a = 0, b = 0;
};
three_stage_event make_three() { return {}; }

// The handlers of one benchmark sit side by side on the producer's stack and
// each is written per event by its own consumer thread: a block each.
struct alignas(128) stage_a {
  std::int64_t sum = 0;
  void on_event(three_stage_event& e, std::int64_t, bool) {
    e.a = e.value + 1;
    sum += e.value;
  }
};
struct alignas(128) stage_b {
  std::int64_t sum = 0;
  void on_event(three_stage_event& e, std::int64_t, bool) {
    e.b = e.value + 3;
    sum += e.value;
  }
};
struct alignas(128) stage_c_after_a {  // pipeline: a then b then c; c checks a's work
  std::int64_t sum = 0, bad = 0;
  void on_event(three_stage_event& e, std::int64_t, bool) {
    bad += e.a != e.value + 1;
    sum += e.value;
  }
};
struct alignas(128) stage_join {  // diamond: after a and b
  std::int64_t sum = 0, bad = 0;
  void on_event(three_stage_event& e, std::int64_t, bool) {
    bad += (e.a != e.value + 1) + (e.b != e.value + 3);
    sum += e.value;
  }
};
struct alignas(128) reader3 {
  std::int64_t sum = 0;
  void on_event(const three_stage_event& e, std::int64_t, bool) { sum += e.value; }
};

using yield_sp = qd::single_producer_sequencer<qd::yielding_wait_strategy>;
using yield_mp = qd::multi_producer_sequencer<qd::yielding_wait_strategy>;

enum class shape { pipeline, multicast, diamond };

template <shape S>
void one_to_three(benchmark::State& st) {
  if (!quiesce::perf::place(st, false, "")) return;
  qd::disruptor<three_stage_event, yield_sp> d(kRing, make_three);
  d.set_placement(qd::processor_placement::unpinned());
  stage_a a;
  stage_b b;
  stage_c_after_a c_pipe;
  stage_join c_join;
  reader3 r1, r2, r3;
  std::vector<std::int64_t> sums;
  if constexpr (S == shape::pipeline) {
    // a writes e.a; b (after a) writes e.b; c (after b) checks e.a
    d.handle_events_with(a).then(b).then(c_pipe);
  } else if constexpr (S == shape::multicast) {
    d.handle_events_with(r1, r2, r3);
  } else {
    d.handle_events_with(a, b).then(c_join);
  }
  auto& ring = d.start();
  std::int64_t v = 0;
  for (auto _ : st) {
    for (std::int64_t i = 0; i < kItems; ++i) {
      const std::int64_t s = ring.next();
      ring[s].value = v++;
      ring.publish(s);
    }
    d.drain();
  }
  d.shutdown();
  const std::int64_t want = expected_sum(0, v);
  std::int64_t got = want, bad = 0;
  if constexpr (S == shape::pipeline) {
    got = (a.sum == want && b.sum == want) ? c_pipe.sum : -1;
    bad = c_pipe.bad;
  } else if constexpr (S == shape::multicast) {
    got = (r1.sum == want && r2.sum == want) ? r3.sum : -1;
  } else {
    got = (a.sum == want && b.sum == want) ? c_join.sum : -1;
    bad = c_join.bad;
  }
  report(st, v, bad == 0 ? got : -1, want);
}

// The 3-producer shapes' producers 1 and 2: each round that producer 0
// starts (round incremented), run produce_round() once; return at stop.
template <class F>
void follow_rounds(const std::atomic<std::int64_t>& round, const std::atomic<bool>& stop, F produce_round) {
  std::int64_t seen = 0;
  for (;;) {
    std::int64_t r;
    while ((r = round.load(std::memory_order_acquire)) == seen && !stop.load(std::memory_order_acquire))
      std::this_thread::yield();
    if (stop.load(std::memory_order_acquire)) return;
    seen = r;
    produce_round();
  }
}

void sequencer_3p1c(benchmark::State& st) {
  if (!quiesce::perf::place(st, false, "")) return;
  sum_handler h;
  qd::disruptor<value_event, yield_mp> d(kRing, make_event);
  d.set_placement(qd::processor_placement::unpinned());
  d.handle_events_with(h);
  auto& ring = d.start();
  constexpr std::int64_t per = kItems / 4;  // producer 0 does 2 shares (it is also the coordinator)
  std::atomic<std::int64_t> round{0};
  std::atomic<bool> stop{false};
  auto produce = [&](std::int64_t n) {
    for (std::int64_t i = 0; i < n; ++i) {
      const std::int64_t s = ring.next();
      ring[s].value = 1;
      ring.publish(s);
    }
  };
  std::vector<std::thread> others;
  for (int p = 1; p < 3; ++p) others.emplace_back([&] { follow_rounds(round, stop, [&] { produce(per); }); });
  std::int64_t total = 0;
  for (auto _ : st) {
    round.fetch_add(1, std::memory_order_release);
    produce(2 * per);
    total += kItems;
    while (ring.cursor() + 1 < total) std::this_thread::yield();  // all claimed
    d.drain();
  }
  stop.store(true, std::memory_order_release);
  for (auto& t : others) t.join();
  d.shutdown();
  report(st, total, h.sum, total);
}

void sequencer_3p1c_moodycamel_cq(benchmark::State& st) {
  if (!quiesce::perf::place(st, false, "")) return;
  moodycamel::ConcurrentQueue<std::int64_t> q(kRing);
  constexpr std::int64_t per = kItems / 4;  // as sequencer_3p1c: producer 0 does 2 shares
  std::atomic<std::int64_t> round{0};
  std::atomic<bool> stop{false};
  alignas(128) std::atomic<std::int64_t> consumed{0};
  std::int64_t sum = 0;
  std::thread consumer([&] {
    moodycamel::ConsumerToken tok(q);
    std::int64_t buf[256];
    std::int64_t count = 0, s = 0;
    while (!stop.load(std::memory_order_acquire)) {
      const std::size_t n = q.try_dequeue_bulk(tok, buf, 256);
      if (n == 0) {
        std::this_thread::yield();
        continue;
      }
      for (std::size_t i = 0; i < n; ++i) s += buf[i];
      count += static_cast<std::int64_t>(n);
      consumed.store(count, std::memory_order_release);
    }
    sum = s;
  });
  // Bounded like the ring: a producer waits before each chunk of 256 while
  // more than kRing items are queued (try_enqueue cannot serve: it fails for
  // good once a producer's block index would have to grow).
  alignas(128) std::atomic<std::int64_t> produced{0};
  auto produce = [&](moodycamel::ProducerToken& tok, std::int64_t n) {
    for (std::int64_t i = 0; i < n; i += 256) {
      const std::int64_t chunk = std::min<std::int64_t>(256, n - i);
      while (produced.load(std::memory_order_relaxed) - consumed.load(std::memory_order_acquire) >
             static_cast<std::int64_t>(kRing))
        std::this_thread::yield();
      produced.fetch_add(chunk, std::memory_order_relaxed);
      for (std::int64_t k = 0; k < chunk; ++k) q.enqueue(tok, 1);
    }
  };
  std::vector<std::thread> others;
  for (int p = 1; p < 3; ++p)
    others.emplace_back([&] {
      moodycamel::ProducerToken tok(q);
      follow_rounds(round, stop, [&] { produce(tok, per); });
    });
  moodycamel::ProducerToken tok(q);
  std::int64_t total = 0;
  for (auto _ : st) {
    round.fetch_add(1, std::memory_order_release);
    produce(tok, 2 * per);
    total += kItems;
    while (consumed.load(std::memory_order_acquire) < total) std::this_thread::yield();
  }
  stop.store(true, std::memory_order_release);
  for (auto& t : others) t.join();
  consumer.join();
  report(st, total, sum, total);
}

// ----------------------------------------------------------- ping-pong ----
struct latency_stats {
  std::vector<std::uint32_t> samples;
  void add(std::chrono::nanoseconds d) {
    samples.push_back(static_cast<std::uint32_t>(std::min<std::int64_t>(d.count(), UINT32_MAX)));
  }
  void publish(benchmark::State& st) {
    if (samples.empty()) return;
    std::sort(samples.begin(), samples.end());
    auto at = [&](double q) {
      return static_cast<double>(samples[std::min(samples.size() - 1, static_cast<std::size_t>(q * samples.size()))]);
    };
    double sum = 0;
    for (auto s : samples) sum += s;
    st.counters["p50_ns"] = at(0.50);
    st.counters["p99_ns"] = at(0.99);
    st.counters["p999_ns"] = at(0.999);
    st.counters["max_ns"] = static_cast<double>(samples.back());
    st.counters["mean_ns"] = sum / static_cast<double>(samples.size());
    st.counters["samples"] = static_cast<double>(samples.size());
  }
};

constexpr int kRoundTrips = 1000;  // per benchmark iteration

using spin_sp = qd::single_producer_sequencer<qd::busy_spin_wait_strategy>;

// Aligned to its own block, as every object below that one thread reads or
// writes per event and another thread writes: the pong thread reads `back`
// per event, and the handler sits on the ping thread's stack beside the
// latency samples it appends to.
struct alignas(128) pong_handler {
  qd::ring_buffer<value_event, spin_sp>* back = nullptr;
  void on_event(value_event& e, std::int64_t, bool) {
    const std::int64_t s = back->next();
    (*back)[s].value = e.value;
    back->publish(s);
  }
};

// PausesPerPoll: busy_spin_wait_strategy's argument on both rings.
template <int PausesPerPoll>
void ping_pong_disruptor(benchmark::State& st) {
  if (!quiesce::perf::place(st, true, "ping-pong needs two CPUs")) return;
  qd::ring_buffer<value_event, spin_sp> pong_ring(1024, make_event, qd::ring_memory{}, PausesPerPoll);
  qd::sequence ping_seq;
  pong_ring.add_gating_sequences({&ping_seq});
  auto pong_barrier = pong_ring.new_barrier();
  pong_handler pong{&pong_ring};
  qd::disruptor<value_event, spin_sp> d(1024, make_event, qd::ring_memory{}, PausesPerPoll);
  d.set_placement(qd::processor_placement::on_cpus({g_cpus.helper}));
  d.handle_events_with(pong);
  auto& ping_ring = d.start();
  latency_stats lat;
  std::int64_t next = 0, wrong = 0;
  for (auto _ : st) {
    for (int i = 0; i < kRoundTrips; ++i, ++next) {
      const auto t0 = std::chrono::steady_clock::now();
      const std::int64_t s = ping_ring.next();
      ping_ring[s].value = next;
      ping_ring.publish(s);
      while (pong_barrier.wait_for(next) < next) {
      }
      // Read the reply, as the queue peers' try_dequeue does: the round
      // trip includes fetching the reply's line, not only the cursor's.
      wrong += pong_ring[next].value != next;
      ping_seq.set(next);
      lat.add(std::chrono::steady_clock::now() - t0);
    }
  }
  d.shutdown();
  st.SetItemsProcessed(next);
  lat.publish(st);
  if (wrong != 0) st.SkipWithError("a reply differs from the value sent");
}

// Round trips through two SPSC queues (QUEUE: try_enqueue / try_dequeue),
// the responder pinned to the helper CPU, both sides busy-polling.
template <class Queue>
void ping_pong_queue_pair(benchmark::State& st, Queue& ping, Queue& pong) {
  alignas(128) std::atomic<bool> stop{false};  // polled by the responder (see pong_handler)
  std::thread responder([&] {
    pin_thread(pthread_self(), g_cpus.helper);
    std::int64_t x;
    while (!stop.load(std::memory_order_relaxed)) {
      if (ping.try_dequeue(x)) {
        while (!pong.try_enqueue(x)) {
        }
      } else {
        quiesce::detail::base::cpu_relax();
      }
    }
  });
  latency_stats lat;
  std::int64_t next = 0, wrong = 0;
  for (auto _ : st) {
    for (int i = 0; i < kRoundTrips; ++i, ++next) {
      const auto t0 = std::chrono::steady_clock::now();
      while (!ping.try_enqueue(next)) {
      }
      std::int64_t x;
      while (!pong.try_dequeue(x)) quiesce::detail::base::cpu_relax();
      wrong += x != next;
      lat.add(std::chrono::steady_clock::now() - t0);
    }
  }
  stop.store(true);
  responder.join();
  st.SetItemsProcessed(next);
  lat.publish(st);
  if (wrong != 0) st.SkipWithError("a reply differs from the value sent");
}

// boost's spsc_queue under the names the template uses (on blocks of its
// own, as the rings are).
struct alignas(128) boost_spsc_1024 {
  boost::lockfree::spsc_queue<std::int64_t, boost::lockfree::capacity<1024>> q;
  bool try_enqueue(std::int64_t x) { return q.push(x); }
  bool try_dequeue(std::int64_t& x) { return q.pop(x); }
};

void ping_pong_boost_spsc(benchmark::State& st) {
  if (!quiesce::perf::place(st, true, "ping-pong needs two CPUs")) return;
  auto ping = std::make_unique<boost_spsc_1024>();
  auto pong = std::make_unique<boost_spsc_1024>();
  ping_pong_queue_pair(st, *ping, *pong);
}

struct alignas(128) moodycamel_rwq_1024 {
  moodycamel::ReaderWriterQueue<std::int64_t> q{1024};
};

void ping_pong_moodycamel_rwq(benchmark::State& st) {
  if (!quiesce::perf::place(st, true, "ping-pong needs two CPUs")) return;
  auto ping = std::make_unique<moodycamel_rwq_1024>();
  auto pong = std::make_unique<moodycamel_rwq_1024>();
  ping_pong_queue_pair(st, ping->q, pong->q);
}

BENCHMARK(unicast_disruptor<1>)->Name("unicast_1p1c/disruptor")->UseRealTime();
BENCHMARK(unicast_disruptor<1, 16>)->Name("unicast_1p1c/disruptor_spin16")->UseRealTime();
BENCHMARK(unicast_disruptor<10>)->Name("unicast_1p1c/disruptor_batch10")->UseRealTime();
BENCHMARK(unicast_boost_spsc)->Name("unicast_1p1c/boost_spsc")->UseRealTime();
BENCHMARK(unicast_moodycamel_rwq)->Name("unicast_1p1c/moodycamel_rwq")->UseRealTime();
BENCHMARK(unicast_ck_ring)->Name("unicast_1p1c/ck_ring")->UseRealTime();
BENCHMARK(unicast_tbb_bounded)->Name("unicast_1p1c/tbb_bounded")->UseRealTime();
BENCHMARK(unicast_paired)->Name("unicast_1p1c/paired")->Iterations(kPairs)->UseRealTime();
BENCHMARK(unicast_std_mutex)->Name("unicast_1p1c/std_mutex")->UseRealTime();
BENCHMARK(one_to_three<shape::pipeline>)->Name("pipeline_1p3c/disruptor_yielding")->UseRealTime();
BENCHMARK(one_to_three<shape::multicast>)->Name("multicast_1p3c/disruptor_yielding")->UseRealTime();
BENCHMARK(one_to_three<shape::diamond>)->Name("diamond_1p3c/disruptor_yielding")->UseRealTime();
BENCHMARK(sequencer_3p1c)->Name("sequencer_3p1c/disruptor_yielding")->UseRealTime();
BENCHMARK(sequencer_3p1c_moodycamel_cq)->Name("sequencer_3p1c/moodycamel_cq")->UseRealTime();
BENCHMARK(ping_pong_disruptor<1>)->Name("ping_pong/disruptor")->UseRealTime();
BENCHMARK(ping_pong_disruptor<16>)->Name("ping_pong/disruptor_spin16")->UseRealTime();
BENCHMARK(ping_pong_boost_spsc)->Name("ping_pong/boost_spsc")->UseRealTime();
BENCHMARK(ping_pong_moodycamel_rwq)->Name("ping_pong/moodycamel_rwq")->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
