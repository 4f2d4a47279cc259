// perf/rcu_bench.cpp — quiesce's RCU (urcu_wrappers, <quiesce/rcu.hpp>)
// against liburcu 0.13 used directly and against std locks, in one run.
//
// What is measured
//   read/<flavour>/quiesce_guard     one empty read-side section through
//                                    quiesce::rcu_read_guard<D>, per flavour
//   read/<flavour>/liburcu_inline    the same section through liburcu's inline
//                                    pair (_urcu_<flavour>_read_lock/unlock)
//   read/memb/quiesce_guard_registered  the guard constructed from the
//                                    thread's rcu_thread_registration (no
//                                    registration test)
//   read/std/shared_mutex, std/mutex the same section under lock_shared() /
//                                    lock() of an uncontended std lock
//   read/none/payload_only           the loop and the payload load alone
//   read/<flavour>/paired            the guard/inline target's measurement:
//                                    per iteration, a segment of the guard's
//                                    sections and one of the inline pair's,
//                                    back to back (see bm_read_paired);
//                                    counter guard_vs_inline, the median of
//                                    the per-pair time ratios
//   read/memb/registered_paired      the same for the guard given the
//                                    thread's registration
//   read/{memb,qsbr}/shared_mutex_paired  the lock targets' measurement: the
//                                    same pairing of the guard's sections with
//                                    read/std/shared_mutex's (bm_lock_paired);
//                                    counter shared_mutex_vs_guard
//     Each iteration runs 16 sections, unrolled; every section does the same
//     relaxed load of one global and hands it to benchmark::DoNotOptimize, so
//     the guard and the inline pair compile to the same loop apart from the
//     section entry/exit themselves. Counter per_section = CPU time / 16
//     (seconds in the JSON).
//     The thread is registered (quiesce::rcu_thread_registration<D>) before
//     timing, for both quiesce and liburcu variants.
//   synchronize/<flavour>/<quiesce|liburcu>/readers:<none|idle|busy>
//     quiesce::rcu_synchronize(dom) vs urcu_<flavour>_synchronize_rcu(), with
//     no other registered thread, one registered idle thread (blocked; QSBR:
//     offline), or one thread on the helper CPU looping over short read-side
//     sections (QSBR: rcu_quiescent_state() between sections).
//     Real time per call; counter reader_ns_per_section shows the reader ran.
//   barrier_idle/<quiesce_rcu_retire|liburcu_call_rcu>
//     One retire then rcu_barrier() (urcu_memb_barrier() for raw liburcu),
//     the domain otherwise idle: real time per round.
//   retire_latency/<quiesce_rcu_retire|quiesce_obj_base|liburcu_call_rcu>
//     Time from retire to the start of the deleter, through the memb domain's
//     default worker (quiesce's reclaimer, or liburcu's call_rcu worker for
//     the raw peer; both pinned to the helper CPU), one retire every
//     20 µs for 4096 retires: counters p50_us, p99_us, max_us, and enqueue_ns
//     (mean cost of the retire call itself). Peers: quiesce::rcu_retire(p, d),
//     rcu_obj_base::retire(), and urcu_memb_call_rcu() with a hand-written
//     rcu_head callback doing the same work (record, delete).
//   retire_throughput/<same three>
//     Back-to-back retires of 16-byte objects: items_per_second. Default
//     settings, so quiesce's backlog throttle (262144 outstanding retires)
//     applies to the quiesce peers and not to raw call_rcu; counter throttled
//     says how often it waited (more often in longer runs: the one worker
//     frees more slowly than one thread retires). rcu_barrier() /
//     urcu_memb_barrier() runs after the timed loop.
//
// Placement
//   The measuring thread is pinned to the first CPU of the process's start-up
//   affinity mask (CPU 0 on a plain machine), the helper (busy/idle reader,
//   call_rcu worker) to the second (CPU 1). Benchmarks that need a helper are
//   skipped with a reason where only one CPU is available.
//
// Command (what scripts/run_main.sh runs; --quick uses 3 repetitions, 0.05 s):
//   build/main/perf/rcu_bench --benchmark_repetitions=7 --benchmark_min_time=0.2
//     --benchmark_display_aggregates_only=true
//     --benchmark_out=out/rcu_bench.json --benchmark_out_format=json
//   python3 perf/rcu_ratios.py out/rcu_bench.json
//
// Machine caveat
//   The project's reference machine is a noisy 2-vCPU VM: compare medians and
//   ratios from one run, never absolute figures across runs or machines. A
//   qsbr section is empty (only the payload load remains), so its ratios are
//   timer noise around 1.
//   Build in Release (NDEBUG, QUIESCE_CHECKS off): checks builds add a
//   thread-local depth counter to QSBR guards.
#include <quiesce/rcu.hpp>  // first: it defines _LGPL_SOURCE for liburcu's inline read side

#include <benchmark/benchmark.h>
#include <quiesce/base/config.hpp>

#include "bench_placement.hpp"
#include "bench_stats.hpp"
#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

namespace {

// ---------------------------------------------------------------------------
// Placement

using quiesce::perf::g_cpus;
using quiesce::perf::pin_thread;

// Pins the measuring thread (perf/bench_placement.hpp).
bool place(benchmark::State& st, bool needs_helper) {
  return quiesce::perf::place(st, needs_helper, "needs 2 CPUs (measuring and helper threads apart); this process may use only 1");
}

// The memb flavour's default call_rcu worker runs every deleter below. It is
// created on first use by the (pinned) measuring thread and would inherit its
// CPU: move it to the helper CPU. Its call_rcu_data has no CPU affinity of its
// own, so liburcu leaves the mask alone afterwards.
bool pin_memb_call_rcu_worker() {
  call_rcu_data* crdp = urcu_memb_get_default_call_rcu_data();
  return crdp != nullptr && pin_thread(urcu_memb_get_call_rcu_thread(crdp), g_cpus.helper);
}

using quiesce::detail::base::cpu_relax;

inline std::int64_t now_ns() noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// ---------------------------------------------------------------------------
// Read side

constexpr int kSectionsPerIteration = 16;

// What every section does: one relaxed load the compiler must perform.
alignas(64) std::atomic<std::uint64_t> g_payload{1};

BENCHMARK_ALWAYS_INLINE inline void touch_payload() noexcept {
  std::uint64_t v = g_payload.load(std::memory_order_relaxed);
  benchmark::DoNotOptimize(v);
}

// liburcu's own inline read-side pair and grace-period call, per flavour.
// (Not forced inline: GCC 12 and clang 14 inline these one-liners anyway, and
// forcing them spends GCC's per-file inlining budget, after which it outlines
// liburcu's static inline read_lock in some loops of both peers.)
#define QUIESCE_LIBURCU_PEER(FLAVOR)                                                \
  struct liburcu_##FLAVOR {                                                         \
    static void lock() noexcept { _urcu_##FLAVOR##_read_lock(); }                   \
    static void unlock() noexcept { _urcu_##FLAVOR##_read_unlock(); }               \
    static void synchronize() noexcept { urcu_##FLAVOR##_synchronize_rcu(); }       \
  };
QUIESCE_LIBURCU_PEER(memb)
QUIESCE_LIBURCU_PEER(qsbr)
QUIESCE_LIBURCU_PEER(mb)
QUIESCE_LIBURCU_PEER(bp)
#undef QUIESCE_LIBURCU_PEER

template <class D>
struct guard_section {
  BENCHMARK_ALWAYS_INLINE void operator()() const noexcept {
    quiesce::rcu_read_guard<D> g;
    touch_payload();
  }
};

// A guard that presents the thread's registration as proof (no registration test).
template <class D>
struct registered_guard_section {
  const quiesce::rcu_thread_registration<D>* registration;
  BENCHMARK_ALWAYS_INLINE void operator()() const noexcept {
    quiesce::rcu_read_guard<D> g{*registration};
    touch_payload();
  }
};

template <class Raw>
struct inline_section {
  BENCHMARK_ALWAYS_INLINE void operator()() const noexcept {
    Raw::lock();
    touch_payload();
    Raw::unlock();
  }
};

std::shared_mutex g_shared_mutex;
std::mutex g_mutex;

struct shared_mutex_section {
  BENCHMARK_ALWAYS_INLINE void operator()() const noexcept {
    g_shared_mutex.lock_shared();
    touch_payload();
    g_shared_mutex.unlock_shared();
  }
};
struct mutex_section {
  BENCHMARK_ALWAYS_INLINE void operator()() const noexcept {
    g_mutex.lock();
    touch_payload();
    g_mutex.unlock();
  }
};
struct payload_only_section {
  BENCHMARK_ALWAYS_INLINE void operator()() const noexcept { touch_payload(); }
};

struct no_registration {};

template <class Section>
BENCHMARK_ALWAYS_INLINE inline void run_sections(const Section& s) noexcept {
  [&]<std::size_t... I>(std::index_sequence<I...>) BENCHMARK_ALWAYS_INLINE {
    ((static_cast<void>(I), s()), ...);
  }(std::make_index_sequence<kSectionsPerIteration>{});
}

template <class Section, class Registration>
void bm_read_section(benchmark::State& st) {
  if (!place(st, false)) return;
  [[maybe_unused]] Registration registration;  // before timing: no first registration in the loop
  const Section section = [&] {
    if constexpr (requires { Section{&registration}; })
      return Section{&registration};
    else
      return Section{};
  }();
  section();  // first use outside timing (liburcu-bp registers itself here)
  for (auto _ : st) run_sections(section);
  const auto sections = st.iterations() * kSectionsPerIteration;
  st.SetItemsProcessed(sections);
  // kIsRate divides by the measured (CPU) seconds, kInvert turns sections per
  // second into seconds per section (the console shows it as e.g. "1.2ns").
  st.counters["per_section"] =
      benchmark::Counter(static_cast<double>(sections), benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  if constexpr (std::is_same_v<Section, guard_section<quiesce::rcu_domain>> ||
                std::is_same_v<Section, inline_section<liburcu_memb>>) {
    // memb without membarrier() falls back to a full fence per section.
    st.SetLabel(urcu_memb_has_sys_membarrier ? "membarrier" : "NO membarrier: smp_mb fallback");
  }
}

template <class D>
using reg = quiesce::rcu_thread_registration<D>;

BENCHMARK(bm_read_section<payload_only_section, no_registration>)->Name("read/none/payload_only");
BENCHMARK(bm_read_section<guard_section<quiesce::rcu_domain>, reg<quiesce::rcu_domain>>)
    ->Name("read/memb/quiesce_guard");
BENCHMARK(bm_read_section<inline_section<liburcu_memb>, reg<quiesce::rcu_domain>>)->Name("read/memb/liburcu_inline");
BENCHMARK(bm_read_section<registered_guard_section<quiesce::rcu_domain>, reg<quiesce::rcu_domain>>)
    ->Name("read/memb/quiesce_guard_registered");
BENCHMARK(bm_read_section<guard_section<quiesce::rcu_qsbr_domain>, reg<quiesce::rcu_qsbr_domain>>)
    ->Name("read/qsbr/quiesce_guard");
BENCHMARK(bm_read_section<inline_section<liburcu_qsbr>, reg<quiesce::rcu_qsbr_domain>>)
    ->Name("read/qsbr/liburcu_inline");
BENCHMARK(bm_read_section<guard_section<quiesce::rcu_mb_domain>, reg<quiesce::rcu_mb_domain>>)
    ->Name("read/mb/quiesce_guard");
BENCHMARK(bm_read_section<inline_section<liburcu_mb>, reg<quiesce::rcu_mb_domain>>)->Name("read/mb/liburcu_inline");
BENCHMARK(bm_read_section<guard_section<quiesce::rcu_bp_domain>, reg<quiesce::rcu_bp_domain>>)
    ->Name("read/bp/quiesce_guard");
BENCHMARK(bm_read_section<inline_section<liburcu_bp>, reg<quiesce::rcu_bp_domain>>)->Name("read/bp/liburcu_inline");
// ---------------------------------------------------- read side, paired ----
// The rows above give each variant its own repetitions, run one after the
// other, and the reference VM's CPU speed drifts over seconds: a section is a
// nanosecond or two, so the ratio of two per-variant medians moves with the
// drift (from run to run, including for two variants that compile to the
// same instructions). Here every iteration times one segment of loops (16
// sections each) through the guard and one through liburcu's inline pair,
// the same number of loops, back to back, the order alternating (a segment
// lasts about kSegmentSeconds: the loop count comes from timing the inline
// pair once, before the pairs, as the flavours' sections differ in cost by
// orders of magnitude), and records guard time
// over inline time; counter guard_vs_inline is the median over kPairs such
// pairs, which a drift slower than a segment pair does not move. Wall time
// (steady_clock) per segment; a segment that a preemption lengthened is one
// outlying pair, which the median drops. rcu_ratios.py judges the read-side
// target on this counter and shows the per-variant medians' ratio beside it.
constexpr double kSegmentSeconds = 1e-3;
constexpr int kPairs = 31;

template <class Section>
[[gnu::noinline]] double time_sections(const Section& s, std::int64_t loops) {
  const auto t0 = std::chrono::steady_clock::now();
  for (std::int64_t k = 0; k < loops; ++k) run_sections(s);
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// The pairing both paired rows below use: calibrates the loop count on
// `calibrate` (a segment of it lasts about kSegmentSeconds), then per
// benchmark iteration times one segment of `num`'s sections and one of
// `den`'s, the same number of loops, back to back, `num` first on even
// iterations, and sets counter `name` to the median of num's time over
// den's (plus pairs and loops_per_segment). `calibrate` is one of the two.
template <class Num, class Den, class Calibrate>
void run_pairs(benchmark::State& st, const Num& num, const Den& den, const Calibrate& calibrate, const char* name) {
  std::int64_t loops = 1024;
  if (const double t = time_sections(calibrate, loops); t > 0)
    loops = std::clamp(static_cast<std::int64_t>(static_cast<double>(loops) * kSegmentSeconds / t), std::int64_t{64},
                       std::int64_t{1} << 24);
  std::vector<double> ratios;
  ratios.reserve(kPairs);
  bool num_first = true;
  for (auto _ : st) {
    double n = 0, d = 0;
    if (num_first) {
      n = time_sections(num, loops);
      d = time_sections(den, loops);
    } else {
      d = time_sections(den, loops);
      n = time_sections(num, loops);
    }
    num_first = !num_first;
    if (n > 0 && d > 0) ratios.push_back(n / d);
  }
  if (ratios.empty()) {
    st.SkipWithError("no pair could be timed (steady_clock did not advance)");
    return;
  }
  st.counters[name] = quiesce::perf::median(ratios);
  st.counters["pairs"] = static_cast<double>(ratios.size());
  st.counters["loops_per_segment"] = static_cast<double>(loops);
}

// Guard: guard_section<D>, or registered_guard_section<D> (given the
// thread's registration, as read/memb/quiesce_guard_registered).
template <class D, class Raw, class Guard = guard_section<D>>
void bm_read_paired(benchmark::State& st) {
  if (!place(st, false)) return;
  [[maybe_unused]] quiesce::rcu_thread_registration<D> registration;  // before timing, as in the rows above
  const Guard guard = [&] {
    if constexpr (requires { Guard{&registration}; })
      return Guard{&registration};
    else
      return Guard{};
  }();
  const inline_section<Raw> raw{};
  guard();  // first uses outside timing (liburcu-bp registers itself here)
  raw();
  run_pairs(st, guard, raw, raw, "guard_vs_inline");
}

// The read side against std::shared_mutex, paired in the same way: every
// iteration times one segment of the guard's sections and one of
// shared_mutex_section's (lock_shared + unlock_shared around the same
// payload load), the same number of sections, back to back, the order
// alternating; counter shared_mutex_vs_guard is the median over kPairs of
// the shared_mutex segment's time over the guard's. rcu_ratios.py judges the
// lock targets on it: a reference run's memb guard rows once fell in a slow
// stretch of the VM's clock while the shared_mutex row had not, and the
// ratio of the two per-variant medians missed where the paired figure held.
// The loop count is calibrated on the guard (the shorter segment).
template <class D>
void bm_lock_paired(benchmark::State& st) {
  if (!place(st, false)) return;
  [[maybe_unused]] quiesce::rcu_thread_registration<D> registration;  // before timing, as in the rows above
  const guard_section<D> guard{};
  const shared_mutex_section lock{};
  guard();
  lock();
  run_pairs(st, lock, guard, guard, "shared_mutex_vs_guard");
}

BENCHMARK(bm_lock_paired<quiesce::rcu_domain>)->Name("read/memb/shared_mutex_paired")->Iterations(kPairs)->UseRealTime();
BENCHMARK(bm_lock_paired<quiesce::rcu_qsbr_domain>)
    ->Name("read/qsbr/shared_mutex_paired")
    ->Iterations(kPairs)
    ->UseRealTime();
BENCHMARK(bm_read_paired<quiesce::rcu_domain, liburcu_memb>)->Name("read/memb/paired")->Iterations(kPairs)->UseRealTime();
BENCHMARK(bm_read_paired<quiesce::rcu_qsbr_domain, liburcu_qsbr>)
    ->Name("read/qsbr/paired")
    ->Iterations(kPairs)
    ->UseRealTime();
BENCHMARK(bm_read_paired<quiesce::rcu_mb_domain, liburcu_mb>)->Name("read/mb/paired")->Iterations(kPairs)->UseRealTime();
BENCHMARK(bm_read_paired<quiesce::rcu_bp_domain, liburcu_bp>)->Name("read/bp/paired")->Iterations(kPairs)->UseRealTime();
BENCHMARK(bm_read_paired<quiesce::rcu_domain, liburcu_memb, registered_guard_section<quiesce::rcu_domain>>)
    ->Name("read/memb/registered_paired")
    ->Iterations(kPairs)
    ->UseRealTime();

BENCHMARK(bm_read_section<shared_mutex_section, no_registration>)->Name("read/std/shared_mutex");
BENCHMARK(bm_read_section<mutex_section, no_registration>)->Name("read/std/mutex");

// ---------------------------------------------------------------------------
// Grace periods

enum class readers { none, idle, busy };

// One registered reader thread on the helper CPU. busy: loops over short
// read-side sections until stopped. idle: registered, blocked (QSBR: offline)
// until stopped, as an idle server thread would be. On a 128-byte block of
// its own: the thread polls stop_ per section, and the object sits on the
// measuring thread's stack.
template <class D>
class alignas(128) reader_thread {
  using F = typename D::flavor_type;
  static constexpr bool qsbr = std::is_same_v<F, quiesce::rcu_flavor::qsbr>;

 public:
  reader_thread(int cpu, readers mode) : thread_([this, cpu, mode] { run(cpu, mode); }) {
    while (state_.load(std::memory_order_acquire) == starting) std::this_thread::yield();
  }
  ~reader_thread() { stop(); }
  reader_thread(const reader_thread&) = delete;
  reader_thread& operator=(const reader_thread&) = delete;

  bool pinned() const noexcept { return state_.load(std::memory_order_acquire) == running; }

  // Stops and joins the thread; returns its mean ns per read-side section
  // (0 when it ran none).
  double stop() {
    if (thread_.joinable()) {
      stop_.store(true, std::memory_order_release);
      stop_.notify_all();
      thread_.join();
    }
    return sections_ != 0 ? static_cast<double>(elapsed_ns_) / static_cast<double>(sections_) : 0.0;
  }

 private:
  static constexpr int starting = 0, running = 1, failed = 2;

  void run(int cpu, readers mode) {
    if (!pin_thread(pthread_self(), cpu)) {
      state_.store(failed, std::memory_order_release);
      return;
    }
    quiesce::rcu_thread_registration<D> registration;
    if (mode == readers::idle) {
      if constexpr (qsbr) {
        quiesce::rcu_offline_scope offline;
        state_.store(running, std::memory_order_release);
        stop_.wait(false, std::memory_order_acquire);
      } else {
        state_.store(running, std::memory_order_release);
        stop_.wait(false, std::memory_order_acquire);
      }
      return;
    }
    state_.store(running, std::memory_order_release);
    const std::int64_t t0 = now_ns();
    std::uint64_t n = 0;
    while (!stop_.load(std::memory_order_relaxed)) {
      {
        quiesce::rcu_read_guard<D> g;
        touch_payload();
      }
      if constexpr (qsbr) quiesce::rcu_quiescent_state();
      ++n;
    }
    elapsed_ns_ = now_ns() - t0;
    sections_ = n;  // read after join()
  }

  std::atomic<int> state_{starting};
  std::atomic<bool> stop_{false};
  std::int64_t elapsed_ns_ = 0;
  std::uint64_t sections_ = 0;
  std::thread thread_;  // last: starts after the members above exist
};

template <class D, class Raw, bool UseQuiesce, readers Mode>
void bm_synchronize(benchmark::State& st) {
  if (!place(st, Mode != readers::none)) return;
  std::optional<reader_thread<D>> reader;
  if constexpr (Mode != readers::none) {
    reader.emplace(g_cpus.helper, Mode);
    if (!reader->pinned()) {
      st.SkipWithError("cannot pin the reader thread to the helper CPU");
      return;
    }
  }
  for (auto _ : st) {
    if constexpr (UseQuiesce)
      quiesce::rcu_synchronize(D::instance());
    else
      Raw::synchronize();
  }
  if constexpr (Mode == readers::busy) st.counters["reader_ns_per_section"] = reader->stop();
}

// quiesce's and liburcu's synchronize for flavour FL with readers MODE.
#define QUIESCE_BENCH_SYNC_READERS(D, RAW, FL, MODE)                                                  \
  BENCHMARK(bm_synchronize<D, RAW, true, readers::MODE>)                                             \
      ->Name("synchronize/" FL "/quiesce/readers:" #MODE)                                            \
      ->UseRealTime();                                                                               \
  BENCHMARK(bm_synchronize<D, RAW, false, readers::MODE>)                                            \
      ->Name("synchronize/" FL "/liburcu/readers:" #MODE)                                            \
      ->UseRealTime()
#define QUIESCE_BENCH_SYNC(D, RAW, FL)           \
  QUIESCE_BENCH_SYNC_READERS(D, RAW, FL, none); \
  QUIESCE_BENCH_SYNC_READERS(D, RAW, FL, idle); \
  QUIESCE_BENCH_SYNC_READERS(D, RAW, FL, busy)

QUIESCE_BENCH_SYNC(quiesce::rcu_domain, liburcu_memb, "memb");
QUIESCE_BENCH_SYNC(quiesce::rcu_qsbr_domain, liburcu_qsbr, "qsbr");
QUIESCE_BENCH_SYNC(quiesce::rcu_mb_domain, liburcu_mb, "mb");
QUIESCE_BENCH_SYNC(quiesce::rcu_bp_domain, liburcu_bp, "bp");
#undef QUIESCE_BENCH_SYNC
#undef QUIESCE_BENCH_SYNC_READERS

// ---------------------------------------------------------------------------
// Retirement (memb domain, liburcu's default call_rcu worker on the helper CPU)

constexpr std::uint32_t kLatencySamples = 4096;
constexpr std::int64_t kRetireGapNs = 20'000;  // one retire per 20 µs: ~500 per worker batch

// Where deleters record retire→deleter latencies; set for one benchmark run.
// Written by the worker, read by the benchmark after the barrier (which waits
// for every deleter: happens-before through liburcu's completion futex).
std::int64_t* g_latency_slots = nullptr;

struct record_latency {
  template <class T>
  void operator()(T* p) const noexcept {
    g_latency_slots[p->slot] = now_ns() - p->retired_at;
    delete p;
  }
};

struct stamped {
  std::int64_t retired_at;
  std::uint32_t slot;
};
struct stamped_obj : quiesce::rcu_obj_base<stamped_obj, record_latency> {
  stamped_obj(std::int64_t t, std::uint32_t s) : retired_at(t), slot(s) {}
  std::int64_t retired_at;
  std::uint32_t slot;
};
struct raw_stamped {
  rcu_head head;  // first: the rcu_head* liburcu hands back is the object's address
  std::int64_t retired_at;
  std::uint32_t slot;
};
static_assert(std::is_standard_layout_v<raw_stamped> && offsetof(raw_stamped, head) == 0);

void raw_record_latency(rcu_head* h) noexcept { record_latency{}(reinterpret_cast<raw_stamped*>(h)); }

// Throughput objects: 16 bytes of payload each.
struct plain {
  std::uint64_t a = 0, b = 0;
};
struct plain_obj : quiesce::rcu_obj_base<plain_obj> {
  std::uint64_t a = 0, b = 0;
};
struct raw_plain {
  rcu_head head;
  std::uint64_t a = 0, b = 0;
};
static_assert(std::is_standard_layout_v<raw_plain> && offsetof(raw_plain, head) == 0);

void raw_delete_plain(rcu_head* h) noexcept { delete reinterpret_cast<raw_plain*>(h); }

struct retire_quiesce_rcu_retire {
  static void stamped_one(std::int64_t t, std::uint32_t slot) {
    quiesce::rcu_retire(new stamped{t, slot}, record_latency{});
  }
  static void plain_one() { quiesce::rcu_retire(new plain{}); }
  static void barrier() { quiesce::rcu_barrier(); }
};
struct retire_quiesce_obj_base {
  static void stamped_one(std::int64_t t, std::uint32_t slot) { (new stamped_obj{t, slot})->retire(); }
  static void plain_one() { (new plain_obj)->retire(); }
  static void barrier() { quiesce::rcu_barrier(); }
};
struct retire_liburcu_call_rcu {
  static void stamped_one(std::int64_t t, std::uint32_t slot) {
    auto* p = new raw_stamped{{}, t, slot};
    urcu_memb_call_rcu(&p->head, raw_record_latency);
  }
  static void plain_one() { urcu_memb_call_rcu(&(new raw_plain{})->head, raw_delete_plain); }
  static void barrier() { urcu_memb_barrier(); }
};

// Sets up placement, the worker's CPU and a memb registration for the whole
// run (call_rcu needs a registered thread; quiesce would register implicitly,
// and keep the thread registered after the benchmark).
bool retire_setup(benchmark::State& st) {
  if (!place(st, true)) return false;
  if (!pin_memb_call_rcu_worker()) {
    st.SkipWithError("cannot pin liburcu's memb call_rcu worker to the helper CPU");
    return false;
  }
  pthread_t reclaimer;  // quiesce's worker, on the same CPU
  if (!quiesce::detail::rcu::reclaimer_thread(quiesce::rcu_flavor::memb::index, &reclaimer) ||
      !pin_thread(reclaimer, g_cpus.helper)) {
    st.SkipWithError("cannot pin quiesce's memb reclaimer thread to the helper CPU");
    return false;
  }
  return true;
}

template <class Retirer>
void bm_retire_latency(benchmark::State& st) {
  if (!retire_setup(st)) return;
  if (st.max_iterations > kLatencySamples) {
    st.SkipWithError("more iterations than latency slots: keep ->Iterations(kLatencySamples)");
    return;
  }
  quiesce::rcu_thread_registration<quiesce::rcu_domain> registration;
  std::vector<std::int64_t> slots(kLatencySamples, -1);
  g_latency_slots = slots.data();
  std::uint32_t slot = 0;
  std::int64_t enqueue_ns = 0;
  for (auto _ : st) {
    const std::int64_t t0 = now_ns();
    Retirer::stamped_one(t0, slot++);
    const std::int64_t t1 = now_ns();
    enqueue_ns += t1 - t0;
    while (now_ns() - t0 < kRetireGapNs) cpu_relax();
  }
  Retirer::barrier();  // every deleter has run and recorded its sample
  g_latency_slots = nullptr;

  slots.resize(slot);
  const auto missing = std::count(slots.begin(), slots.end(), std::int64_t{-1});
  if (missing != 0 || slots.empty()) {
    st.SkipWithError("some deleters did not record a latency before rcu_barrier() returned");
    return;
  }
  std::sort(slots.begin(), slots.end());
  const auto at = [&](double q) {
    const auto i = static_cast<std::size_t>(q * static_cast<double>(slots.size() - 1) + 0.5);
    return static_cast<double>(slots[std::min(i, slots.size() - 1)]) / 1000.0;
  };
  st.counters["p50_us"] = at(0.50);
  st.counters["p99_us"] = at(0.99);
  st.counters["max_us"] = at(1.0);
  st.counters["enqueue_ns"] = static_cast<double>(enqueue_ns) / static_cast<double>(slot);
}

template <class Retirer>
void bm_retire_throughput(benchmark::State& st) {
  if (!retire_setup(st)) return;
  quiesce::rcu_thread_registration<quiesce::rcu_domain> registration;
  const quiesce::rcu_domain_stats before = quiesce::rcu_default_domain().stats();
  for (auto _ : st) Retirer::plain_one();
  const quiesce::rcu_domain_stats after = quiesce::rcu_default_domain().stats();
  st.SetItemsProcessed(st.iterations());
  st.counters["throttled"] = static_cast<double>(after.throttled - before.throttled);
  Retirer::barrier();  // outside the timed loop: leaves no backlog for the next run
}

// One retire, then rcu_barrier(), on an otherwise idle domain: what a test
// or a shutdown path that retires and waits pays per round.
template <class Retirer>
void bm_barrier_idle(benchmark::State& st) {
  if (!retire_setup(st)) return;
  quiesce::rcu_thread_registration<quiesce::rcu_domain> registration;
  Retirer::barrier();
  for (auto _ : st) {
    Retirer::plain_one();
    Retirer::barrier();
  }
}
BENCHMARK(bm_barrier_idle<retire_quiesce_rcu_retire>)->Name("barrier_idle/quiesce_rcu_retire")->UseRealTime();
BENCHMARK(bm_barrier_idle<retire_liburcu_call_rcu>)->Name("barrier_idle/liburcu_call_rcu")->UseRealTime();

BENCHMARK(bm_retire_latency<retire_quiesce_rcu_retire>)
    ->Name("retire_latency/quiesce_rcu_retire")
    ->Iterations(kLatencySamples)
    ->UseRealTime();
BENCHMARK(bm_retire_latency<retire_quiesce_obj_base>)
    ->Name("retire_latency/quiesce_obj_base")
    ->Iterations(kLatencySamples)
    ->UseRealTime();
BENCHMARK(bm_retire_latency<retire_liburcu_call_rcu>)
    ->Name("retire_latency/liburcu_call_rcu")
    ->Iterations(kLatencySamples)
    ->UseRealTime();
BENCHMARK(bm_retire_throughput<retire_quiesce_rcu_retire>)->Name("retire_throughput/quiesce_rcu_retire")->UseRealTime();
BENCHMARK(bm_retire_throughput<retire_quiesce_obj_base>)->Name("retire_throughput/quiesce_obj_base")->UseRealTime();
BENCHMARK(bm_retire_throughput<retire_liburcu_call_rcu>)->Name("retire_throughput/liburcu_call_rcu")->UseRealTime();

// ---- stall detector cost -------------------------------------------------------
// The read side, synchronize (no readers) and retire throughput of the memb
// domain with the grace-period stall detector on (the default: watchdog
// running) and off. The read side's code is the same either way; the
// detector adds a mutex-guarded list insert/remove to each synchronize and
// nothing to a retire. perf/rcu_ratios.py reports off/on per operation.
template <bool On>
struct stall_detector_state {
  stall_detector_state() {
    if (On)
      quiesce::rcu_stall_detector_configure({});
    else
      quiesce::rcu_stall_detector_disable();
  }
  ~stall_detector_state() { quiesce::rcu_stall_detector_configure({}); }
};

template <bool On>
void bm_stall_read(benchmark::State& st) {
  stall_detector_state<On> s;
  bm_read_section<guard_section<quiesce::rcu_domain>, reg<quiesce::rcu_domain>>(st);
}
template <bool On>
void bm_stall_synchronize(benchmark::State& st) {
  stall_detector_state<On> s;
  bm_synchronize<quiesce::rcu_domain, liburcu_memb, true, readers::none>(st);
}
template <bool On>
void bm_stall_retire(benchmark::State& st) {
  stall_detector_state<On> s;
  bm_retire_throughput<retire_quiesce_rcu_retire>(st);
}
BENCHMARK(bm_stall_read<true>)->Name("stall_detector/read/on");
BENCHMARK(bm_stall_read<false>)->Name("stall_detector/read/off");
BENCHMARK(bm_stall_synchronize<true>)->Name("stall_detector/synchronize/on")->UseRealTime();
BENCHMARK(bm_stall_synchronize<false>)->Name("stall_detector/synchronize/off")->UseRealTime();
BENCHMARK(bm_stall_retire<true>)->Name("stall_detector/retire_throughput/on")->UseRealTime();
BENCHMARK(bm_stall_retire<false>)->Name("stall_detector/retire_throughput/off")->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
