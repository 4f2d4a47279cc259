// perf/hazard_pointer_bench.cpp — quiesce's hazard pointers
// (<quiesce/hazard_pointer.hpp>) against Concurrency Kit's ck_hp and
// liburcu's read side and call_rcu, in one run.
//
// What is measured (ns per operation = per_op counter; batches of kBatch
// operations inside a function that is not inlined, for every peer)
//   protect/<peer>        one protect of a stable source + one reset:
//     quiesce             hazard_pointer::protect + reset_protection (the
//                         process's fence mode: membarrier fast path where
//                         the kernel has it; the label says which)
//     seq_cst_fence       the same protocol with a full fence between the
//                         hazard store and the re-load: what the fallback
//                         mode, and classic hazard pointers, cost
//     ck_hp               ck_hp_set_fence + re-load + ck_hp_clear (ck 0.7.1)
//     rcu_memb            a quiesce::rcu_read_guard (memb) around the load:
//                         what RCU readers pay instead (not per object)
//   protect_2threads/<peer>  the same on both CPUs at once (one source):
//                         readers that never write shared memory scale
//   make/<domain>         make_hazard_pointer + destruction: default domain
//                         (thread cache fast path) and an own domain
//                         (cache looked up by domain id)
//   retire/<peer>         allocate an object, retire it; amortised reclaim
//                         included (every scan's membarrier and deleters):
//     quiesce_new         new + hazard_pointer_obj_base::retire, default domain
//     quiesce_node_pool   the lock-free structures' node allocator + retire
//     ck_hp               malloc + ck_hp_free (threshold as ours, checked below)
//     rcu_call_rcu        new + quiesce::rcu_obj_base::retire (call_rcu; the
//                         deleter runs on liburcu's worker thread)
//   heavy_fence/<case>    the membarrier a scan issues, the process alone
//                         (alone) and with a thread spinning on the second
//                         CPU (other_thread_running); the ratio script
//                         divides it by the default scan threshold
//
// Run (the main job runs it through scripts/run_main.sh):
//   build/main/perf/hazard_pointer_bench --benchmark_repetitions=7
//     --benchmark_display_aggregates_only=true
// perf/hazard_pointer_ratios.py turns the JSON into the ratio table.
#include <benchmark/benchmark.h>

#include <linux/membarrier.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <thread>
#include <type_traits>

#include <quiesce/base/config.hpp>
#include <quiesce/hazard_pointer.hpp>
#include <quiesce/lockfree/detail/node_alloc.hpp>
#include <quiesce/rcu.hpp>

#include "bench_batch.hpp"
#include "bench_placement.hpp"
#include "peers/ck_hp_peers.h"  // CK_HP_PEER_THRESHOLD
#include "peers/hazard_pointer_ck_peer.h"

namespace {

constexpr std::int64_t kBatch = 256;

// Every ck_hp peer scans at quiesce's default threshold (like with like).
static_assert(CK_HP_PEER_THRESHOLD == quiesce::hazard_pointer_domain::options{}.min_threshold,
              "perf/peers/ck_hp_peers.h: CK_HP_PEER_THRESHOLD must equal quiesce's default min_threshold");

struct object : quiesce::hazard_pointer_obj_base<object> {
  std::uint64_t value = 1;
};
object g_obj;
std::atomic<object*> g_src{&g_obj};

// Seconds per operation, per thread (perf/bench_batch.hpp).
void set_per_op(benchmark::State& st) { quiesce::perf::set_per_op(st, kBatch); }

// ---- protect -------------------------------------------------------------

[[gnu::noinline]] std::uint64_t quiesce_protect_batch(quiesce::hazard_pointer& h) {
  std::uint64_t sum = 0;
  for (std::int64_t i = 0; i < kBatch; ++i) {
    object* p = h.protect(g_src);
    sum += p->value;
    h.reset_protection();
  }
  return sum;
}

// The fallback protocol, spelled out (a slot of our own; no reclaimer).
struct alignas(128) padded_slot {
  std::atomic<const void*> p{nullptr};
};
padded_slot g_fence_slot[2];  // one 128-byte block per thread, as quiesce's records
[[gnu::noinline]] std::uint64_t fence_protect_batch(std::atomic<const void*>& slot) {
  std::uint64_t sum = 0;
  for (std::int64_t i = 0; i < kBatch; ++i) {
    object* p = g_src.load(std::memory_order_relaxed);
    for (;;) {
      slot.store(p, std::memory_order_release);
      std::atomic_thread_fence(std::memory_order_seq_cst);
      object* q = g_src.load(std::memory_order_acquire);
      if (q == p) break;
      p = q;
    }
    sum += p->value;
    slot.store(nullptr, std::memory_order_release);
  }
  return sum;
}

[[gnu::noinline]] std::uint64_t rcu_protect_batch() {
  std::uint64_t sum = 0;
  for (std::int64_t i = 0; i < kBatch; ++i) {
    quiesce::rcu_read_guard g;
    sum += g_src.load(std::memory_order_acquire)->value;
  }
  return sum;
}

using quiesce::perf::place_thread;  // perf/bench_placement.hpp

void BM_protect_quiesce(benchmark::State& st) {
  if (!place_thread(st)) return;
  auto h = quiesce::make_hazard_pointer();
  for (auto _ : st) benchmark::DoNotOptimize(quiesce_protect_batch(h));
  set_per_op(st);
  st.SetLabel(quiesce::hazard_pointer_asymmetric_fence() ? "membarrier" : "seq_cst fences");
}

void BM_protect_seq_cst_fence(benchmark::State& st) {
  if (!place_thread(st)) return;
  auto& slot = g_fence_slot[st.thread_index()].p;
  for (auto _ : st) benchmark::DoNotOptimize(fence_protect_batch(slot));
  set_per_op(st);
}

void BM_protect_ck_hp(benchmark::State& st) {
  if (!place_thread(st)) return;
  ckhp_thread_init();
  for (auto _ : st) benchmark::DoNotOptimize(ckhp_protect_batch(kBatch));
  set_per_op(st);
}

void BM_protect_rcu_memb(benchmark::State& st) {
  if (!place_thread(st)) return;
  quiesce::rcu_thread_registration reg;
  for (auto _ : st) benchmark::DoNotOptimize(rcu_protect_batch());
  set_per_op(st);
}

const bool g_protect_rows = quiesce::perf::register_one_and_two_threads(
    "protect", {{"quiesce", BM_protect_quiesce},
                {"seq_cst_fence", BM_protect_seq_cst_fence},
                {"ck_hp", BM_protect_ck_hp},
                {"rcu_memb", BM_protect_rcu_memb}});

// ---- make + destroy --------------------------------------------------------

[[gnu::noinline]] void make_batch(quiesce::hazard_pointer_domain* dom) {
  for (std::int64_t i = 0; i < kBatch; ++i) {
    if (dom == nullptr) {
      quiesce::hazard_pointer h = quiesce::make_hazard_pointer();
      benchmark::DoNotOptimize(h);
    } else {
      quiesce::hazard_pointer h = quiesce::make_hazard_pointer(*dom);
      benchmark::DoNotOptimize(h);
    }
  }
}

void BM_make_default(benchmark::State& st) {
  if (!place_thread(st)) return;
  for (auto _ : st) make_batch(nullptr);
  set_per_op(st);
}

void BM_make_own_domain(benchmark::State& st) {
  if (!place_thread(st)) return;
  static quiesce::hazard_pointer_domain dom;
  for (auto _ : st) make_batch(&dom);
  set_per_op(st);
}

BENCHMARK(BM_make_default)->Name("make/default_domain");
BENCHMARK(BM_make_own_domain)->Name("make/own_domain");

// ---- retire ------------------------------------------------------------------

struct pooled : quiesce::hazard_pointer_obj_base<pooled, quiesce::detail::lockfree::node_deleter<pooled>> {
  using hazard_pointer_obj_base::home_node;
  using hazard_pointer_obj_base::set_home_node;
  std::uint64_t value = 1;
};

struct rcu_object : quiesce::rcu_obj_base<rcu_object> {
  std::uint64_t value = 1;
};

// Retires kBatch new T: object (new, hazard pointers), pooled (quiesce's
// node pool, hazard pointers) or rcu_object (new, call_rcu).
template <class T>
[[gnu::noinline]] void retire_batch() {
  for (std::int64_t i = 0; i < kBatch; ++i) {
    T* o;
    if constexpr (std::is_same_v<T, pooled>) {
      o = quiesce::detail::lockfree::new_node<pooled>();
    } else {
      o = new T;
    }
    benchmark::DoNotOptimize(o);
    o->retire();
  }
}

// Frees every T retired so far (untimed: before and after a retire row).
template <class T>
void reclaim_all() {
  if constexpr (std::is_same_v<T, rcu_object>) {
    quiesce::rcu_barrier();
  } else {
    quiesce::hazard_pointer_cleanup();
  }
}

template <class T>
void BM_retire(benchmark::State& st) {
  if (!place_thread(st)) return;
  reclaim_all<T>();
  for (auto _ : st) retire_batch<T>();
  set_per_op(st);
  reclaim_all<T>();
}

void BM_retire_ck_hp(benchmark::State& st) {
  if (!place_thread(st)) return;
  ckhp_thread_init();
  ckhp_purge();
  for (auto _ : st) ckhp_retire_batch(kBatch);
  set_per_op(st);
  ckhp_purge();
}

BENCHMARK(BM_retire<object>)->Name("retire/quiesce_new");
BENCHMARK(BM_retire<pooled>)->Name("retire/quiesce_node_pool");
BENCHMARK(BM_retire_ck_hp)->Name("retire/ck_hp");
BENCHMARK(BM_retire<rcu_object>)->Name("retire/rcu_call_rcu");

// ---- heavy fence: what every scan pays once ----------------------------------
// The fence a scan issues in the membarrier mode (src/fences.cpp):
// membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED), with the process alone on
// the CPUs and while a second thread spins on the second CPU (the kernel
// then interrupts that CPU). Counter min_threshold: the default T floor,
// over which a retire amortises one fence (perf/hazard_pointer_ratios.py
// prints the fence / T; <quiesce/hazard_pointer.hpp>, "Why min_threshold
// is 4000").
constexpr std::int64_t kFenceBatch = 16;

[[gnu::noinline]] bool membarrier_batch() {
  for (std::int64_t i = 0; i < kFenceBatch; ++i) {
    if (syscall(__NR_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0) != 0) return false;
  }
  return true;
}

void BM_heavy_fence(benchmark::State& st, bool other_thread_running) {
  if (!quiesce::perf::place(st, other_thread_running, "needs 2 CPUs (a spinning thread on the second)")) return;
  if (!quiesce::hazard_pointer_asymmetric_fence()) {
    st.SkipWithError("no membarrier(PRIVATE_EXPEDITED) here: hazard pointers use seq_cst fences, scans no heavy fence");
    return;
  }
  // quiesce registered the process at its fence setup; registering again
  // is harmless and makes the row independent of that order.
  syscall(__NR_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0);
  std::atomic<int> spinner{0};  // 1: spinning, 2: stop
  std::thread t;
  if (other_thread_running) {
    t = std::thread([&spinner] {
      quiesce::perf::pin_thread(pthread_self(), quiesce::perf::g_cpus.helper);
      spinner.store(1, std::memory_order_release);
      while (spinner.load(std::memory_order_acquire) != 2) quiesce::detail::base::cpu_relax();
    });
    while (spinner.load(std::memory_order_acquire) != 1) quiesce::detail::base::cpu_relax();
  }
  bool ok = true;
  for (auto _ : st) ok = membarrier_batch() && ok;
  if (t.joinable()) {
    spinner.store(2, std::memory_order_release);
    t.join();
  }
  if (!ok) {
    st.SkipWithError("membarrier(PRIVATE_EXPEDITED) failed");
    return;
  }
  quiesce::perf::set_per_op(st, kFenceBatch);
  st.counters["min_threshold"] =
      static_cast<double>(quiesce::hazard_pointer_domain::options{}.min_threshold);
}

BENCHMARK_CAPTURE(BM_heavy_fence, alone, false)->Name("heavy_fence/alone")->UseRealTime();
BENCHMARK_CAPTURE(BM_heavy_fence, other_thread_running, true)->Name("heavy_fence/other_thread_running")->UseRealTime();

// ---- stall detector cost ------------------------------------------------------
// The same protect loop and a retire loop in which every scan must keep one
// object (a hazard pointer protects a retired object throughout, the case
// in which scans do the detector's work), with the detector on (default)
// and off. perf/hazard_pointer_ratios.py reports off/on.
template <bool On>
void BM_stall_protect(benchmark::State& st) {
  if (On) quiesce::hazard_pointer_stall_detector_configure({});
  else quiesce::hazard_pointer_stall_detector_disable();
  BM_protect_quiesce(st);
  quiesce::hazard_pointer_stall_detector_configure({});
}

template <bool On>
void BM_stall_retire_kept(benchmark::State& st) {
  if (!place_thread(st)) return;
  if (On) quiesce::hazard_pointer_stall_detector_configure({});
  else quiesce::hazard_pointer_stall_detector_disable();
  quiesce::hazard_pointer_cleanup();
  std::atomic<object*> held{new object};
  auto h = quiesce::make_hazard_pointer();
  object* kept = h.protect(held);
  held.store(nullptr);
  kept->retire();  // stays retired and protected: every scan keeps it
  for (auto _ : st) retire_batch<object>();
  set_per_op(st);
  h.reset_protection();
  quiesce::hazard_pointer_cleanup();
  quiesce::hazard_pointer_stall_detector_configure({});
}

BENCHMARK(BM_stall_protect<true>)->Name("stall_detector/protect/on");
BENCHMARK(BM_stall_protect<false>)->Name("stall_detector/protect/off");
BENCHMARK(BM_stall_retire_kept<true>)->Name("stall_detector/retire_kept/on");
BENCHMARK(BM_stall_retire_kept<false>)->Name("stall_detector/retire_kept/off");

}  // namespace

BENCHMARK_MAIN();
