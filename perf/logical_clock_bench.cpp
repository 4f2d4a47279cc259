// perf/logical_clock_bench.cpp — quiesce's logical clocks
// (<quiesce/hybrid_logical_clock.hpp>, <quiesce/vector_clock.hpp>) against
// their peers, in one run.
//
// What is measured (ns per operation = per_op counter; batches of kBatch
// operations inside a function that is not inlined, for every peer)
//   hlc_now/<peer>           one timestamp, 1 thread:
//     physical_clock         std::chrono::system_clock::now() alone: the
//                            floor every HLC on that source pays
//     quiesce                hybrid_logical_clock<>::now() (system_clock + CAS)
//     mutex                  the same algorithm on the same packed word,
//                            under a std::mutex (pt read outside the lock)
//     quiesce_cas_only       hybrid_logical_clock with a constant source:
//                            the CAS alone
//     mutex_only             the mutex variant with a constant source
//   hlc_now_2threads/<peer>  the same, both CPUs on one shared clock
//                            (the physical_clock row: each thread reads
//                            its own clock, nothing shared)
//   vc_merge/<peer>/<n>      a.merge(b) of two n-entry clocks:
//     quiesce                vector_clock::merge
//     std_vector             a plain loop over two std::vector<uint64_t>
//   vc_compare/<peer>/<n>    a <=> b of two clocks that differ only in the
//                            last entry (the whole clock is read):
//     quiesce                vector_clock's operator<=>
//     std_vector             a two-flag loop over two std::vector<uint64_t>
//   n = 4, 8 (the inline capacity), 32, 128 (heap).
//
// Fairness: every row runs in a process that has had a second thread (see
// g_multithreaded), so glibc's mutex takes its real, locked path.
//
// Placement: the measuring thread on the first CPU of the affinity mask, the
// second benchmark thread on the second (perf/bench_placement.hpp); the
// 2-thread rows are skipped with a reason on one CPU.
//
// Run (the main job runs it through scripts/run_main.sh):
//   build/main/perf/logical_clock_bench --benchmark_repetitions=5
//     --benchmark_display_aggregates_only=true
//     --benchmark_out=out/logical_clock_bench.json --benchmark_out_format=json
//   python3 perf/logical_clock_ratios.py out/logical_clock_bench.json
#include <quiesce/hybrid_logical_clock.hpp>
#include <quiesce/vector_clock.hpp>

#include <benchmark/benchmark.h>

#include "bench_batch.hpp"
#include "bench_placement.hpp"
#include <pthread.h>

#include <algorithm>
#include <chrono>
#include <compare>
#include <cstdint>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

namespace {

constexpr std::int64_t kBatch = 64;

// glibc's x86 mutex drops the lock prefix while the process has never had a
// second thread: the 1-thread mutex rows would then time a mutex no shared
// clock ever sees (3.2 ns instead of 11 ns per lock/unlock pair here). One
// thread started and joined before main() puts the process in its
// multi-threaded state for every row, whatever order the rows run in.
const bool g_multithreaded = [] {
  std::thread([] {}).join();
  return true;
}();

void set_per_op(benchmark::State& st) { quiesce::perf::set_per_op(st, kBatch); }

using quiesce::perf::place_thread;  // perf/bench_placement.hpp

// ---- HLC -------------------------------------------------------------------

// A fixed physical time (2024-01-01): every timestamp then comes from the
// counter (carrying into l), so only the update of the word is measured.
struct constant_source {
  std::chrono::seconds operator()() const noexcept { return std::chrono::seconds(1'704'067'200); }
};

// The peer: the same packed word and rule, under a std::mutex.
template <class Source>
class mutex_hlc {
 public:
  std::uint64_t now() {
    const std::uint64_t floor = quiesce::detail::clocks::to_hlc_ticks(source_time()) << 16;
    std::lock_guard lock(mu_);
    state_ = std::max(floor, state_ + 1);
    return state_;
  }

 private:
  auto source_time() {
    const auto r = Source{}();
    if constexpr (requires { r.time_since_epoch(); }) {
      return r.time_since_epoch();
    } else {
      return r;
    }
  }
  std::mutex mu_;
  std::uint64_t state_ = 0;
};

alignas(64) quiesce::hybrid_logical_clock<> g_hlc;
alignas(64) quiesce::hybrid_logical_clock<constant_source> g_hlc_cas(std::chrono::seconds(1));
alignas(64) mutex_hlc<quiesce::system_time_source> g_mutex_hlc;
alignas(64) mutex_hlc<constant_source> g_mutex_hlc_only;

[[gnu::noinline]] std::uint64_t physical_batch() {
  std::uint64_t sum = 0;
  for (std::int64_t i = 0; i < kBatch; ++i) {
    sum += static_cast<std::uint64_t>(std::chrono::system_clock::now().time_since_epoch().count());
  }
  return sum;
}
template <class Clock>
[[gnu::noinline]] std::uint64_t hlc_batch(Clock& c) {
  std::uint64_t sum = 0;
  for (std::int64_t i = 0; i < kBatch; ++i) sum += c.now().bits();
  return sum;
}
template <class Clock>
[[gnu::noinline]] std::uint64_t mutex_batch(Clock& c) {
  std::uint64_t sum = 0;
  for (std::int64_t i = 0; i < kBatch; ++i) sum += c.now();
  return sum;
}

void BM_physical(benchmark::State& st) {
  quiesce::perf::time_batches(st, kBatch, [] { return physical_batch(); });
}
void BM_quiesce(benchmark::State& st) {
  quiesce::perf::time_batches(st, kBatch, [] { return hlc_batch(g_hlc); });
}
void BM_mutex(benchmark::State& st) {
  quiesce::perf::time_batches(st, kBatch, [] { return mutex_batch(g_mutex_hlc); });
}
void BM_quiesce_cas_only(benchmark::State& st) {
  quiesce::perf::time_batches(st, kBatch, [] { return hlc_batch(g_hlc_cas); });
}
void BM_mutex_only(benchmark::State& st) {
  quiesce::perf::time_batches(st, kBatch, [] { return mutex_batch(g_mutex_hlc_only); });
}

const bool g_hlc_now_rows = quiesce::perf::register_one_and_two_threads(
    "hlc_now", {{"physical_clock", BM_physical},
                {"quiesce", BM_quiesce},
                {"mutex", BM_mutex},
                {"quiesce_cas_only", BM_quiesce_cas_only},
                {"mutex_only", BM_mutex_only}});

// ---- vector clocks -----------------------------------------------------------

// Two n-entry clocks, random counters; b differs from a only in its last
// entry (one more), so a <= b and compare must read every entry.
std::vector<std::uint64_t> random_counters(std::size_t n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<std::uint64_t> v(n);
  for (auto& x : v) x = rng() % 1'000'000;
  return v;
}

[[gnu::noinline]] std::uint64_t quiesce_merge_batch(quiesce::vector_clock& a, const quiesce::vector_clock& b,
                                                    const quiesce::vector_clock& c) {
  for (std::int64_t i = 0; i < kBatch; ++i) {
    a.merge((i & 1) ? b : c);
    benchmark::ClobberMemory();
  }
  return a[0];
}
[[gnu::noinline]] std::uint64_t vector_merge_batch(std::vector<std::uint64_t>& a, const std::vector<std::uint64_t>& b,
                                                   const std::vector<std::uint64_t>& c) {
  for (std::int64_t i = 0; i < kBatch; ++i) {
    const auto& o = (i & 1) ? b : c;
    if (o.size() > a.size()) a.resize(o.size(), 0);
    for (std::size_t k = 0; k < o.size(); ++k) a[k] = std::max(a[k], o[k]);
    benchmark::ClobberMemory();
  }
  return a[0];
}

void BM_vc_merge_quiesce(benchmark::State& st) {
  if (!place_thread(st)) return;
  const auto n = static_cast<std::size_t>(st.range(0));
  quiesce::vector_clock a(random_counters(n, 1));
  const quiesce::vector_clock b(random_counters(n, 2));
  const quiesce::vector_clock c(random_counters(n, 3));
  for (auto _ : st) benchmark::DoNotOptimize(quiesce_merge_batch(a, b, c));
  set_per_op(st);
}
void BM_vc_merge_vector(benchmark::State& st) {
  if (!place_thread(st)) return;
  const auto n = static_cast<std::size_t>(st.range(0));
  auto a = random_counters(n, 1);
  const auto b = random_counters(n, 2);
  const auto c = random_counters(n, 3);
  for (auto _ : st) benchmark::DoNotOptimize(vector_merge_batch(a, b, c));
  set_per_op(st);
}

[[gnu::noinline]] int quiesce_compare_batch(const quiesce::vector_clock& a, const quiesce::vector_clock& b) {
  int less = 0;
  for (std::int64_t i = 0; i < kBatch; ++i) {
    benchmark::DoNotOptimize(&a);
    less += (a <=> b) == std::partial_ordering::less;
  }
  return less;
}
[[gnu::noinline]] int vector_compare_batch(const std::vector<std::uint64_t>& a, const std::vector<std::uint64_t>& b) {
  int count = 0;
  for (std::int64_t i = 0; i < kBatch; ++i) {
    benchmark::DoNotOptimize(&a);
    bool lt = false;
    bool gt = false;
    for (std::size_t k = 0; k < a.size(); ++k) {  // equal sizes here
      lt |= a[k] < b[k];
      gt |= a[k] > b[k];
    }
    count += lt && !gt;
  }
  return count;
}

void BM_vc_compare_quiesce(benchmark::State& st) {
  if (!place_thread(st)) return;
  const auto n = static_cast<std::size_t>(st.range(0));
  auto counters = random_counters(n, 1);
  const quiesce::vector_clock a(counters);
  counters.back() += 1;
  const quiesce::vector_clock b(counters);
  for (auto _ : st) benchmark::DoNotOptimize(quiesce_compare_batch(a, b));
  set_per_op(st);
}
void BM_vc_compare_vector(benchmark::State& st) {
  if (!place_thread(st)) return;
  const auto n = static_cast<std::size_t>(st.range(0));
  const auto a = random_counters(n, 1);
  auto b = a;
  b.back() += 1;
  for (auto _ : st) benchmark::DoNotOptimize(vector_compare_batch(a, b));
  set_per_op(st);
}

void sizes(benchmark::internal::Benchmark* b) {
  for (int n : {4, 8, 32, 128}) b->Arg(n);
}
BENCHMARK(BM_vc_merge_quiesce)->Name("vc_merge/quiesce")->Apply(sizes);
BENCHMARK(BM_vc_merge_vector)->Name("vc_merge/std_vector")->Apply(sizes);
BENCHMARK(BM_vc_compare_quiesce)->Name("vc_compare/quiesce")->Apply(sizes);
BENCHMARK(BM_vc_compare_vector)->Name("vc_compare/std_vector")->Apply(sizes);

}  // namespace

BENCHMARK_MAIN();
