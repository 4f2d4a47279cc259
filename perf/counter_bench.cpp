// perf/counter_bench.cpp — quiesce::cas_counter, quiesce::sharded_counter
// (<quiesce/counter.hpp>) and quiesce::versioned_cell<T>
// (<quiesce/versioned_cell.hpp>) against their baselines, in one run.
//
// What is measured (items_per_second in the JSON = operations per second,
// all threads together; perf/counter_ratios.py turns it into ns per
// operation per thread and ratios)
//   inc/<1t|2t>/<peer>   increments, 1 thread, or 2 threads on one counter
//     fetch_add          std::atomic<std::int64_t>::fetch_add(1) — the baseline
//     cas_counter        cas_counter::increment() (load + compare_exchange_weak loop)
//     sharded            sharded_counter::increment() (CPU cached, re-read every 64 adds)
//     sharded_getcpu     the same layout, sched_getcpu() on every add
//     sharded_rr         the same layout, a thread number handed out round-robin
//     mutex              std::mutex lock; ++v; unlock
//   read/<peer>          one load() of a counter nobody writes (1 thread)
//     atomic             std::atomic<std::int64_t>::load (the baseline)
//     sharded            sharded_counter::load(), default shards (one per CPU)
//     sharded_64         sharded_counter(64)::load()
//   read_busy/<peer>     the same while a thread on the helper CPU increments
//                        the counter back to back (each load misses)
//   vc_update/<1t|2t>/<peer>  read-modify-write of a small record
//     versioned_cell_16B versioned_cell<{int64 a, b}>::update(a+1, b-1)
//     mutex_16B          std::mutex around the same update
//     seqlock_16B        seqlock<{a, b}>::update (writers serialised by the sequence)
//     versioned_cell_4B  versioned_cell<std::uint32_t>::update(v+1)
//     packed64_4B        the rejected design: a 32-bit version and a 32-bit
//                        value in one std::atomic<std::uint64_t>, CAS loop
//   vc_read/<peer>       one read of the 16-byte record, nobody writing
//     versioned_cell_16B versioned_cell::read() (value and version)
//     seqlock_16B        seqlock::load()
//
// Fairness
//   Every peer runs batches of kBatch operations in a [[gnu::noinline]]
//   function; inside it every operation is inline. Every shared object owns
//   its 128-byte block. Results go through benchmark::DoNotOptimize.
//
// Placement
//   Thread 0 (and 1-thread benchmarks) on the first CPU of the process's
//   affinity mask, thread 1 or the busy incrementer on the second
//   (perf/bench_placement.hpp); 2-CPU benchmarks are skipped with the
//   reason when only one CPU is usable.
//
// Command (scripts/run_main.sh runs it):
//   build/main/perf/counter_bench --benchmark_repetitions=5 --benchmark_min_time=0.1
//     --benchmark_display_aggregates_only=true
//     --benchmark_out=out/counter_bench.json --benchmark_out_format=json
//   python3 perf/counter_ratios.py out/counter_bench.json
//
// Machine caveat: on the project's noisy 2-vCPU VM compare medians and
// ratios from one run; 2-thread figures depend on how the vCPUs' timeslices
// line up.
#include <quiesce/counter.hpp>
#include <quiesce/seqlock.hpp>
#include <quiesce/versioned_cell.hpp>

#include <benchmark/benchmark.h>
#include <pthread.h>

#include <atomic>
#include <cstdint>
#include <mutex>
#include <thread>

#include "bench_placement.hpp"

namespace {

constexpr int kBatch = 64;
namespace dc = quiesce::detail::seqlock;

using quiesce::perf::place_thread;  // perf/bench_placement.hpp

// ---- counters ----
struct alignas(128) atomic_peer {
  std::atomic<std::int64_t> v{0};
};
struct alignas(128) mutex_peer {
  std::mutex m;
  std::int64_t v = 0;
};

atomic_peer g_atomic;
quiesce::cas_counter g_cas;
quiesce::sharded_counter g_sharded;
dc::sharded_counter_base<dc::cpu_picker> g_sharded_getcpu;
dc::sharded_counter_base<dc::round_robin_picker> g_sharded_rr;
mutex_peer g_mutex;
quiesce::sharded_counter g_sharded_64(64);

struct fetch_add_inc {
  static void run() {
    for (int i = 0; i < kBatch; ++i) g_atomic.v.fetch_add(1);
  }
};
struct cas_inc {
  static void run() {
    for (int i = 0; i < kBatch; ++i) g_cas.increment();
  }
};
template <class Counter, Counter& C>
struct sharded_inc {
  static void run() {
    for (int i = 0; i < kBatch; ++i) C.increment();
  }
};
struct mutex_inc {
  static void run() {
    for (int i = 0; i < kBatch; ++i) {
      std::lock_guard<std::mutex> g(g_mutex.m);
      ++g_mutex.v;
    }
  }
};

template <class Peer>
[[gnu::noinline]] void batch() {
  Peer::run();
}

template <class Peer>
void bm_inc(benchmark::State& st) {
  if (!place_thread(st, st.threads() > 1)) return;
  for (auto _ : st) batch<Peer>();
  st.SetItemsProcessed(static_cast<std::int64_t>(st.iterations()) * kBatch);
}

#define QUIESCE_COUNTER_INC(NAME, PEER)                                          \
  BENCHMARK(bm_inc<PEER>)->Name("inc/1t/" NAME);                                 \
  BENCHMARK(bm_inc<PEER>)->Name("inc/2t/" NAME)->Threads(2)->UseRealTime();

using sharded_default = sharded_inc<quiesce::sharded_counter, g_sharded>;
using sharded_getcpu = sharded_inc<dc::sharded_counter_base<dc::cpu_picker>, g_sharded_getcpu>;
using sharded_rr = sharded_inc<dc::sharded_counter_base<dc::round_robin_picker>, g_sharded_rr>;
QUIESCE_COUNTER_INC("fetch_add", fetch_add_inc)
QUIESCE_COUNTER_INC("cas_counter", cas_inc)
QUIESCE_COUNTER_INC("sharded", sharded_default)
QUIESCE_COUNTER_INC("sharded_getcpu", sharded_getcpu)
QUIESCE_COUNTER_INC("sharded_rr", sharded_rr)
QUIESCE_COUNTER_INC("mutex", mutex_inc)

// ---- reads ----
struct atomic_read {
  static std::int64_t one() { return g_atomic.v.load(); }
  static void bump() { g_atomic.v.fetch_add(1, std::memory_order_relaxed); }
};
template <quiesce::sharded_counter& C>
struct sharded_read {
  static std::int64_t one() { return C.load(); }
  static void bump() { C.increment(); }
};

template <class Peer>
[[gnu::noinline]] void read_batch() {
  for (int i = 0; i < kBatch; ++i) benchmark::DoNotOptimize(Peer::one());
}

// A thread on the helper CPU bumping the counter until destroyed. On a
// 128-byte block of its own: the thread polls stop_ per bump, and the object
// sits on the measuring thread's stack.
template <class Peer>
class alignas(128) busy_writer {
 public:
  busy_writer() : thread_([this] {
    quiesce::perf::pin_thread(pthread_self(), quiesce::perf::g_cpus.helper);
    while (!stop_.load(std::memory_order_relaxed)) Peer::bump();
  }) {}
  ~busy_writer() {
    stop_.store(true, std::memory_order_relaxed);
    thread_.join();
  }

 private:
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

template <class Peer, bool Busy>
void bm_read(benchmark::State& st) {
  if (!quiesce::perf::place(st, Busy, "needs 2 CPUs (reader and incrementer apart); this process may use only 1"))
    return;
  if constexpr (Busy) {
    busy_writer<Peer> w;
    for (auto _ : st) read_batch<Peer>();
  } else {
    for (auto _ : st) read_batch<Peer>();
  }
  st.SetItemsProcessed(static_cast<std::int64_t>(st.iterations()) * kBatch);
}
BENCHMARK(bm_read<atomic_read, false>)->Name("read/atomic");
BENCHMARK(bm_read<sharded_read<g_sharded>, false>)->Name("read/sharded");
BENCHMARK(bm_read<sharded_read<g_sharded_64>, false>)->Name("read/sharded_64");
BENCHMARK(bm_read<atomic_read, true>)->Name("read_busy/atomic");
BENCHMARK(bm_read<sharded_read<g_sharded>, true>)->Name("read_busy/sharded");

// ---- versioned cells ----
struct pair16 {
  std::int64_t a, b;
};
constexpr pair16 bump_pair(const pair16& p) { return {p.a + 1, p.b - 1}; }

quiesce::versioned_cell<pair16> g_vc16{{0, 0}};
quiesce::versioned_cell<std::uint32_t> g_vc4{0};
quiesce::seqlock<pair16> g_seq16{{0, 0}};
struct alignas(128) mutex_pair {
  std::mutex m;
  pair16 v{0, 0};
};
mutex_pair g_mpair;
// 32-bit version in the high half, 32-bit value in the low half.
struct alignas(128) packed64 {
  std::atomic<std::uint64_t> w{0};
};
packed64 g_packed;

struct vc16_update {
  static void run() {
    for (int i = 0; i < kBatch; ++i) benchmark::DoNotOptimize(g_vc16.update(bump_pair));
  }
};
struct vc4_update {
  static void run() {
    for (int i = 0; i < kBatch; ++i) benchmark::DoNotOptimize(g_vc4.update([](std::uint32_t v) { return v + 1; }));
  }
};
struct mutex16_update {
  static void run() {
    for (int i = 0; i < kBatch; ++i) {
      std::lock_guard<std::mutex> g(g_mpair.m);
      g_mpair.v = bump_pair(g_mpair.v);
      benchmark::DoNotOptimize(g_mpair.v);
    }
  }
};
struct seqlock16_update {
  static void run() {
    for (int i = 0; i < kBatch; ++i) g_seq16.update([](pair16& p) { p = bump_pair(p); });
  }
};
struct packed64_update {
  static void run() {
    for (int i = 0; i < kBatch; ++i) {
      std::uint64_t w = g_packed.w.load(std::memory_order_acquire);
      std::uint64_t desired;
      do {
        const auto value = static_cast<std::uint32_t>(w) + 1;  // f(value)
        desired = ((w >> 32) + 1) << 32 | value;                // version + 1 (wraps at 2^32)
      } while (!g_packed.w.compare_exchange_weak(w, desired, std::memory_order_acq_rel, std::memory_order_acquire));
      benchmark::DoNotOptimize(desired);
    }
  }
};
#define QUIESCE_VC_UPDATE(NAME, PEER)                                               \
  BENCHMARK(bm_inc<PEER>)->Name("vc_update/1t/" NAME);                             \
  BENCHMARK(bm_inc<PEER>)->Name("vc_update/2t/" NAME)->Threads(2)->UseRealTime();
QUIESCE_VC_UPDATE("versioned_cell_16B", vc16_update)
QUIESCE_VC_UPDATE("mutex_16B", mutex16_update)
QUIESCE_VC_UPDATE("seqlock_16B", seqlock16_update)
QUIESCE_VC_UPDATE("versioned_cell_4B", vc4_update)
QUIESCE_VC_UPDATE("packed64_4B", packed64_update)

struct vc16_read {
  static void run() {
    for (int i = 0; i < kBatch; ++i) benchmark::DoNotOptimize(g_vc16.read());
  }
};
struct seq16_read {
  static void run() {
    for (int i = 0; i < kBatch; ++i) benchmark::DoNotOptimize(g_seq16.load());
  }
};
BENCHMARK(bm_inc<vc16_read>)->Name("vc_read/versioned_cell_16B");
BENCHMARK(bm_inc<seq16_read>)->Name("vc_read/seqlock_16B");

}  // namespace

BENCHMARK_MAIN();
