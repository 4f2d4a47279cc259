// perf/stm_bench.cpp — quiesce's STM (<quiesce/stm.hpp>, TL2) against the
// two lock-based ways of doing the same bank transfers, in one run.
//
// Peers (balances are int64_t; every transfer moves 1..64 units between two
// distinct accounts chosen at random, per-thread xorshift)
//   stm             quiesce::atomically: read both tvars, write both (the
//                   commit locks the two tvars and stamps them with the
//                   thread's own commit count: no shared clock)
//   global_mutex    one std::mutex around every transfer; balances in a
//                   plain int64_t array
//   account_mutex   a std::mutex per account; both taken in address order
//                   (lower address first: no deadlock); balance next to its
//                   mutex
//   Packed: natural layouts, no padding (tvar<int64_t> is 16 bytes, an
//   account with its mutex 48): what a user would write first. Accounts
//   next to each other share cache lines, so two threads updating
//   different accounts still move lines between CPUs (false sharing).
//   stm_padded, account_mutex_padded: the same two peers with every
//   account alone on a 128-byte block (alignas(128): its line and the
//   adjacent-line prefetcher's partner), what a user padding hot cells
//   writes. global_mutex has no padded variant (one lock serialises every
//   transfer anyway). Ratios compare like with like: stm / account_mutex
//   for packed, stm_padded / account_mutex_padded for padded.
//
// Workloads (items_per_second in the JSON = transfers per second, all
// threads together; the ratio script reads its median)
//   transfer_1t/<n>/<peer>   1 thread, n = 16 or 1024 accounts (uncontended
//                            cost); CPU time
//   transfer_2t/<n>/<peer>   2 threads transferring at once (16 accounts:
//                            a conflict in ~1 of 4 pairs of transfers
//                            overlapping in time; 1024: rare); real time
//   transfer_2t_aborts/<n>   information: the STM's 2-thread transfers with
//                            each function run counted; per commit, runs
//                            aborted inside a read (an exception) and
//                            runs retried after a failed commit
//   abort_cost_1t            information: one internal abort and one
//                            read-only run of a one-tvar transaction (ns)
//   audit_1t/16/<peer>       1 thread: sum all 16 accounts consistently (STM:
//                            a read-only transaction; global_mutex: under
//                            the lock; account_mutex: all 16 locked in order)
//   Every transfer benchmark checks afterwards that the total is conserved,
//   and fails with an error otherwise.
//
// Placement
//   Thread 0 on the first CPU of the process's affinity mask, thread 1 on the
//   second (perf/bench_placement.hpp); 2-thread benchmarks are skipped with
//   the reason when only one CPU is usable.
//
// Command (scripts/run_main.sh runs it for the main job's out/ tables):
//   build/main/perf/stm_bench --benchmark_repetitions=5 --benchmark_min_time=0.1
//     --benchmark_display_aggregates_only=true
//     --benchmark_out=out/stm_bench.json --benchmark_out_format=json
//   python3 perf/stm_ratios.py out/stm_bench.json
#include <quiesce/stm.hpp>

#include <benchmark/benchmark.h>
#include <pthread.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include "bench_pair.hpp"
#include "bench_placement.hpp"
#include "bench_stats.hpp"

namespace {

constexpr std::int64_t kInitial = 1'000'000;

struct xorshift {
  std::uint64_t s;
  std::uint64_t next() noexcept {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    return s;
  }
};

// Two distinct accounts and an amount.
struct move {
  std::size_t from, to;
  std::int64_t amount;
};
inline move pick(xorshift& rng, std::size_t n) noexcept {
  const std::uint64_t r = rng.next();
  const std::size_t from = r % n;
  std::size_t to = (r >> 20) % (n - 1);
  if (to >= from) ++to;
  return {from, to, static_cast<std::int64_t>((r >> 40) & 63) + 1};
}

// ---- peers -----------------------------------------------------------------

// Padded: one account per 128-byte block.
template <class T>
struct alignas(128) padded : T {};

// Acc: quiesce::tvar<int64_t> (packed) or padded<quiesce::tvar<int64_t>>.
template <class Acc>
struct basic_stm_bank {
  explicit basic_stm_bank(std::size_t n) : n(n), acc(std::make_unique<Acc[]>(n)) {
    for (std::size_t i = 0; i < n; ++i)
      quiesce::atomically([&](quiesce::transaction& tx) { tx.write(cell(i), kInitial); });
  }
  quiesce::tvar<std::int64_t>& cell(std::size_t i) { return acc[i]; }
  void transfer(const move& m) {
    quiesce::atomically([&](quiesce::transaction& tx) {
      const std::int64_t a = tx.read(cell(m.from));
      const std::int64_t b = tx.read(cell(m.to));
      tx.write(cell(m.from), a - m.amount);
      tx.write(cell(m.to), b + m.amount);
    });
  }
  std::int64_t total() {
    return quiesce::atomically([&](quiesce::transaction& tx) {
      std::int64_t s = 0;
      for (std::size_t i = 0; i < n; ++i) s += tx.read(cell(i));
      return s;
    });
  }
  std::size_t n;
  std::unique_ptr<Acc[]> acc;
};
using stm_bank = basic_stm_bank<quiesce::tvar<std::int64_t>>;
using stm_padded_bank = basic_stm_bank<padded<quiesce::tvar<std::int64_t>>>;
static_assert(sizeof(padded<quiesce::tvar<std::int64_t>>) == 128);

struct global_mutex_bank {
  explicit global_mutex_bank(std::size_t n) : n(n), acc(std::make_unique<std::int64_t[]>(n)) {
    for (std::size_t i = 0; i < n; ++i) acc[i] = kInitial;
  }
  void transfer(const move& m) {
    std::lock_guard g(mu);
    acc[m.from] -= m.amount;
    acc[m.to] += m.amount;
  }
  std::int64_t total() {
    std::lock_guard g(mu);
    std::int64_t s = 0;
    for (std::size_t i = 0; i < n; ++i) s += acc[i];
    return s;
  }
  std::size_t n;
  alignas(64) std::mutex mu;
  std::unique_ptr<std::int64_t[]> acc;
};

struct plain_account {
  std::mutex mu;
  std::int64_t balance = kInitial;
};

// Acc: plain_account (packed, 48 bytes) or padded<plain_account>.
template <class Acc>
struct basic_account_mutex_bank {
  explicit basic_account_mutex_bank(std::size_t n) : n(n), acc(std::make_unique<Acc[]>(n)) {}
  void transfer(const move& m) {
    plain_account& a = acc[m.from];
    plain_account& b = acc[m.to];
    // Address order: one global order, so two transfers cannot deadlock.
    std::mutex& first = &a < &b ? a.mu : b.mu;
    std::mutex& second = &a < &b ? b.mu : a.mu;
    std::lock_guard g1(first);
    std::lock_guard g2(second);
    a.balance -= m.amount;
    b.balance += m.amount;
  }
  std::int64_t total() {
    for (std::size_t i = 0; i < n; ++i) acc[i].mu.lock();  // array order = address order
    std::int64_t s = 0;
    for (std::size_t i = 0; i < n; ++i) s += acc[i].balance;
    for (std::size_t i = n; i-- > 0;) acc[i].mu.unlock();
    return s;
  }
  std::size_t n;
  std::unique_ptr<Acc[]> acc;
};
using account_mutex_bank = basic_account_mutex_bank<plain_account>;
using account_mutex_padded_bank = basic_account_mutex_bank<padded<plain_account>>;
static_assert(sizeof(padded<plain_account>) == 128);

// One bank per peer and size, built at first use (a function-local static:
// thread-safe, and outside the timed loop) and kept for the whole run, so
// every repetition starts from the last one's balances (the total is what
// the check compares).
template <class Bank, std::size_t N>
Bank& bank() {
  static Bank b{N};
  return b;
}

using quiesce::perf::place_thread;  // perf/bench_placement.hpp
using quiesce::perf::segment_job;   // perf/bench_pair.hpp
using quiesce::perf::segment_pair;

template <class Bank, std::size_t N>
void bm_transfer(benchmark::State& st) {
  if (!place_thread(st, st.threads() > 1)) return;
  Bank& b = bank<Bank, N>();
  xorshift rng{0x9E3779B97F4A7C15ull * static_cast<std::uint64_t>(st.thread_index() + 1)};
  for (auto _ : st) b.transfer(pick(rng, N));
  st.SetItemsProcessed(static_cast<std::int64_t>(st.iterations()));
  // After the stop barrier: every thread's transfers are done.
  if (st.thread_index() == 0 && b.total() != kInitial * static_cast<std::int64_t>(N))
    st.SkipWithError("the total changed: a transfer was lost or torn");
}

template <class Bank, std::size_t N>
void bm_audit(benchmark::State& st) {
  if (!place_thread(st, false)) return;
  Bank& b = bank<Bank, N>();
  for (auto _ : st) {
    std::int64_t t = b.total();  // not const: DoNotOptimize(const T&) is deprecated (Google Benchmark 1.8+)
    benchmark::DoNotOptimize(t);
    if (t != kInitial * static_cast<std::int64_t>(N)) {
      st.SkipWithError("an audit saw a wrong total");
      break;
    }
  }
  st.SetItemsProcessed(static_cast<std::int64_t>(st.iterations()));
}

// ---- paired: the two-thread targets' measurement ---------------------------
// On the project's VM the cost of a cache-line transfer between the two
// vCPUs changes from one stretch of a second or so to the next (where the
// host puts them), and the two-thread rows above take each
// implementation's repetitions at different moments. transfer_2t_paired/N
// runs, per iteration, one short segment of the STM's transfers and one of
// the per-account mutexes' on the same N accounts (packed, the banks above),
// back to back in alternating order, both threads in each; counter
// stm_vs_account_mutex: the median over iterations of the STM's rate over
// the mutexes' in the same iteration. stm_ratios.py judges the two-thread
// targets on it and prints the rows' ratio beside it. With the STM in both
// halves the harness finds the two halves equal.

constexpr std::int64_t kPairSegment = 100'000;  // transfers per thread per segment
constexpr int kPairs = 7;                       // pairs (iterations) per repetition

template <std::size_t N>
void bm_transfer_paired(benchmark::State& st) {
  if (!place_thread(st, true)) return;
  segment_pair pair;
  if (!pair.pinned()) {
    st.SkipWithError("cannot pin the helper thread to the helper CPU");
    return;
  }
  stm_bank& sb = bank<stm_bank, N>();
  account_mutex_bank& mb = bank<account_mutex_bank, N>();
  // One thread's half of a segment on a bank: kPairSegment transfers. The
  // helper runs the measuring thread's closure, so the closure sits on a
  // 128-byte block of its own (segment_job), and the half reads it once,
  // into locals, before its loop: read per transfer (the compiler reloads a
  // captured reference after every opaque call), it shared a line with
  // whatever the measuring thread's frames next to it held, which that
  // thread wrote per transfer, and one of the two implementations' halves,
  // which one depending on how the build laid the frame out, paid a line
  // transfer per transfer.
  struct alignas(128) segment_job_seed {
    std::uint64_t value = 0x9E3779B97F4A7C15ull;
  } seed;
  auto segment_on = [&seed](auto& b) {
    return segment_job([bank = &b, seed_at = &seed.value](int t) {
      auto& bk = *bank;
      xorshift rng{*seed_at * static_cast<std::uint64_t>(t + 1)};
      for (std::int64_t i = 0; i < kPairSegment; ++i) bk.transfer(pick(rng, N));
    });
  };
  auto stm_segment = segment_on(sb);
  auto mutex_segment = segment_on(mb);
  std::vector<double> ratios;
  bool stm_first = true;
  for (auto _ : st) {
    seed.value += 2;  // new moves each pair, the same for both implementations
    double stm_s, mutex_s;
    if (stm_first) {
      stm_s = pair.run(stm_segment);
      mutex_s = pair.run(mutex_segment);
    } else {
      mutex_s = pair.run(mutex_segment);
      stm_s = pair.run(stm_segment);
    }
    stm_first = !stm_first;
    ratios.push_back(mutex_s / stm_s);  // rates: 2 * kPairSegment / seconds
  }
  if (sb.total() != kInitial * static_cast<std::int64_t>(N) || mb.total() != kInitial * static_cast<std::int64_t>(N)) {
    st.SkipWithError("the total changed: a transfer was lost or torn");
    return;
  }
  st.counters["stm_vs_account_mutex"] = quiesce::perf::median(ratios);
  st.counters["pairs"] = static_cast<double>(ratios.size());
}

// ---- where the STM's retries come from (information) ----------------------
// transfer_2t_aborts/N: the STM's two-thread transfers on N accounts (a bank
// of its own, packed), each function run counted twice: when it starts and
// when it returns. A run that starts and does not return ended in a read
// that found the snapshot broken (the internal abort: an exception thrown
// and caught); one that returns and then is run again failed its commit (a
// lock or a version had moved: no exception). Counters, per committed
// transfer: aborted_in_read and retried_at_commit. The counting adds two
// stores to each run, so these rows' rates are not the table's.
// abort_cost_1t: one thread, a read-only transaction of one tvar whose first
// run throws the internal abort after its read and whose second commits: an
// internal abort (the throw, the catch in atomically(), the first back-off)
// plus a read-only transaction, in ns per iteration (CPU time), beside
// transfer_1t/16/stm's ns per committed transfer.

// One thread's counts, on a block of its own.
struct alignas(128) run_counts {
  std::uint64_t started = 0, returned = 0, committed = 0;
};

template <std::size_t N>
void bm_transfer_aborts(benchmark::State& st) {
  if (!place_thread(st, true)) return;
  static stm_bank b{N};
  static run_counts counts[2];
  run_counts& c = counts[st.thread_index()];
  c = run_counts{};
  xorshift rng{0x2545F4914F6CDD1Dull * static_cast<std::uint64_t>(st.thread_index() + 1)};
  for (auto _ : st) {
    const move m = pick(rng, N);
    quiesce::atomically([&](quiesce::transaction& tx) {
      ++c.started;
      const std::int64_t x = tx.read(b.cell(m.from));
      const std::int64_t y = tx.read(b.cell(m.to));
      tx.write(b.cell(m.from), x - m.amount);
      tx.write(b.cell(m.to), y + m.amount);
      ++c.returned;
    });
    ++c.committed;
  }
  st.SetItemsProcessed(static_cast<std::int64_t>(st.iterations()));
  // After the stop barrier: both threads' counts are final.
  if (st.thread_index() != 0) return;
  if (b.total() != kInitial * static_cast<std::int64_t>(N)) {
    st.SkipWithError("the total changed: a transfer was lost or torn");
    return;
  }
  const run_counts all{counts[0].started + counts[1].started, counts[0].returned + counts[1].returned,
                       counts[0].committed + counts[1].committed};
  const double commits = all.committed != 0 ? static_cast<double>(all.committed) : 1.0;
  st.counters["aborted_in_read"] = static_cast<double>(all.started - all.returned) / commits;
  st.counters["retried_at_commit"] = static_cast<double>(all.returned - all.committed) / commits;
}

void bm_abort_cost(benchmark::State& st) {
  if (!place_thread(st, false)) return;
  static quiesce::tvar<std::int64_t> cell{kInitial};
  std::int64_t seen = 0;
  for (auto _ : st) {
    bool first = true;
    seen += quiesce::atomically([&](quiesce::transaction& tx) {
      const std::int64_t v = tx.read(cell);
      // The internal abort, as a read that finds the snapshot broken
      // throws it (stm.hpp's transaction::abort_conflict): caught in
      // atomically(), which runs the function again.
      if (std::exchange(first, false)) throw quiesce::detail::stm::conflict{};
      return v;
    });
  }
  benchmark::DoNotOptimize(seen);
  st.SetItemsProcessed(static_cast<std::int64_t>(st.iterations()));
}

#define QUIESCE_STM_BENCH(N, NAME, BANK)                                                              \
  BENCHMARK(bm_transfer<BANK, N>)->Name("transfer_1t/" #N "/" NAME);                                \
  BENCHMARK(bm_transfer<BANK, N>)->Name("transfer_2t/" #N "/" NAME)->Threads(2)->UseRealTime();

QUIESCE_STM_BENCH(16, "stm", stm_bank)
QUIESCE_STM_BENCH(16, "global_mutex", global_mutex_bank)
QUIESCE_STM_BENCH(16, "account_mutex", account_mutex_bank)
QUIESCE_STM_BENCH(16, "stm_padded", stm_padded_bank)
QUIESCE_STM_BENCH(16, "account_mutex_padded", account_mutex_padded_bank)
QUIESCE_STM_BENCH(1024, "stm", stm_bank)
QUIESCE_STM_BENCH(1024, "global_mutex", global_mutex_bank)
QUIESCE_STM_BENCH(1024, "account_mutex", account_mutex_bank)
QUIESCE_STM_BENCH(1024, "stm_padded", stm_padded_bank)
QUIESCE_STM_BENCH(1024, "account_mutex_padded", account_mutex_padded_bank)
BENCHMARK(bm_transfer_paired<16>)->Name("transfer_2t_paired/16")->Iterations(kPairs)->UseRealTime();
BENCHMARK(bm_transfer_paired<1024>)->Name("transfer_2t_paired/1024")->Iterations(kPairs)->UseRealTime();
BENCHMARK(bm_transfer_aborts<16>)->Name("transfer_2t_aborts/16")->Threads(2)->UseRealTime();
BENCHMARK(bm_transfer_aborts<1024>)->Name("transfer_2t_aborts/1024")->Threads(2)->UseRealTime();
BENCHMARK(bm_abort_cost)->Name("abort_cost_1t");
BENCHMARK(bm_audit<stm_bank, 16>)->Name("audit_1t/16/stm");
BENCHMARK(bm_audit<global_mutex_bank, 16>)->Name("audit_1t/16/global_mutex");
BENCHMARK(bm_audit<account_mutex_bank, 16>)->Name("audit_1t/16/account_mutex");

}  // namespace

BENCHMARK_MAIN();
