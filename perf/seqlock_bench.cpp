// perf/seqlock_bench.cpp — quiesce::seqlock<T> and seqcount_latch<T>
// (<quiesce/seqlock.hpp>) against Concurrency Kit's ck_sequence and
// std::shared_mutex, in one run.
//
// What is measured
//   read/<B>B/<peer>/writer:<none|paced|flat_out>
//     One consistent read of a B-byte payload (B = 16, 64, 256; words
//     w[i] = v + i), CPU time per read (counter per_read, seconds in the
//     JSON). writer:none — nobody writes. writer:paced — one thread on the
//     helper CPU writes once every kPaceNs (1 µs) through the same peer: a
//     read-mostly value with a live writer; each write costs the reader a
//     cache miss. writer:flat_out — the writer writes back to back: the
//     worst case, where seqlock readers mostly wait and retry (counter
//     writes_per_read: the writer's pace relative to the reader; it shows
//     whether both peers saw the same write pressure).
//     Peers:
//       quiesce_seqlock   seqlock<T>::load()
//       quiesce_latch     seqcount_latch<T>::load()
//       ck_sequence       ck_sequence_read_begin / struct copy /
//                         ck_sequence_read_retry (ck 0.7.1, Debian libck-dev),
//                         writers under a ck_spinlock_fas
//       std_shared_mutex  lock_shared(); copy; unlock_shared()
//   write/<B>B/<peer>
//     One uncontended store (ck: spinlock + write_begin/copy/write_end +
//     unlock; shared_mutex: lock/copy/unlock), no readers.
//
// Fairness
//   ck's headers are C only, so its loops live in perf/peers/ck_peers.c. Every
//   peer runs batches of kBatch reads (or writes) inside a function that is
//   not inlined into the benchmark loop: for ck the C function, for the
//   others a [[gnu::noinline]] function template here. Inside a batch every
//   peer's read is inline, and every copy goes through the same empty asm
//   with a memory clobber (sink), so the compiler must materialise the whole
//   payload for each read in every peer. The payload sits with its sequence
//   in one 64-byte-aligned block in every peer. Build C and C++ with the same
//   compiler (CMake warns otherwise; set CC to match CXX).
//
// Placement
//   The measuring thread is pinned to the first CPU of the process's start-up
//   affinity mask, the writer to the second. Benchmarks with a writer are
//   skipped with a reason when only one CPU is available.
//
// Command (what produced the figures in quiesce/seqlock.hpp):
//   build/main/perf/seqlock_bench --benchmark_repetitions=5 --benchmark_min_time=0.2
//     --benchmark_display_aggregates_only=true
//     --benchmark_out=out/seqlock_bench.json --benchmark_out_format=json
//   python3 perf/seqlock_ratios.py out/seqlock_bench.json
//
// Machine caveat
//   On the project's noisy 2-vCPU VM compare medians and ratios from one run,
//   never absolute figures across runs or machines. Figures with a writer are
//   dominated by cache-line transfers between the two vCPUs and vary more;
//   writer:flat_out ones also depend on how the two threads' timeslices
//   line up, and on a loaded machine (other jobs on the CPUs) they mean little.
#include <quiesce/seqlock.hpp>

#include "peers/ck_peers.h"

#include <benchmark/benchmark.h>

#include "bench_placement.hpp"
#include <pthread.h>
#include <sched.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <thread>

namespace {

// ---------------------------------------------------------------------------
// Placement (as in rcu_bench)

using quiesce::perf::g_cpus;
using quiesce::perf::pin_thread;

// Pins the measuring thread (perf/bench_placement.hpp).
bool place(benchmark::State& st, bool needs_helper) {
  return quiesce::perf::place(st, needs_helper, "needs 2 CPUs (reader and writer apart); this process may use only 1");
}

// ---------------------------------------------------------------------------
// Payloads and peers

constexpr std::uint64_t kBatch = 64;  // reads or writes per call of a batch function

template <std::size_t Bytes>
struct payload {
  std::array<std::uint64_t, Bytes / 8> w;
};

template <std::size_t Bytes>
payload<Bytes> make_payload(std::uint64_t v) noexcept {
  payload<Bytes> p;
  for (std::size_t j = 0; j < p.w.size(); ++j) p.w[j] = v + j;
  return p;
}

template <std::size_t Bytes>
bool consistent(const payload<Bytes>& p) noexcept {
  for (std::size_t j = 1; j < p.w.size(); ++j)
    if (p.w[j] != p.w[0] + j) return false;
  return true;
}

// The same sink as perf/peers/ck_peers.c's.
inline void sink(const void* p) noexcept { asm volatile("" : : "r"(p) : "memory"); }

template <std::size_t Bytes>
quiesce::seqlock<payload<Bytes>> g_seqlock{make_payload<Bytes>(0)};
template <std::size_t Bytes>
quiesce::seqcount_latch<payload<Bytes>> g_latch{make_payload<Bytes>(0)};
template <std::size_t Bytes>
struct alignas(64) locked_payload {
  std::shared_mutex mutex;
  payload<Bytes> data = make_payload<Bytes>(0);
};
template <std::size_t Bytes>
locked_payload<Bytes> g_locked;

// quiesce's seqlock and seqcount_latch: the same load() and store() on the
// global Cell. Only the writer thread writes: the latch's contract (one
// writer thread) holds.
template <std::size_t Bytes, auto& Cell>
struct quiesce_peer {
  [[gnu::noinline]] static void read(std::uint64_t n) noexcept {
    for (std::uint64_t i = 0; i < n; ++i) {
      const payload<Bytes> copy = Cell.load();
      sink(&copy);
    }
  }
  [[gnu::noinline]] static void write(std::uint64_t n, std::uint64_t first) noexcept {
    for (std::uint64_t i = 0; i < n; ++i) Cell.store(make_payload<Bytes>(first + i));
  }
  static bool check() noexcept { return consistent(Cell.load()); }
};
template <std::size_t Bytes>
using quiesce_seqlock_peer = quiesce_peer<Bytes, g_seqlock<Bytes>>;
template <std::size_t Bytes>
using quiesce_latch_peer = quiesce_peer<Bytes, g_latch<Bytes>>;

template <std::size_t Bytes>
struct shared_mutex_peer {
  [[gnu::noinline]] static void read(std::uint64_t n) noexcept {
    auto& l = g_locked<Bytes>;
    for (std::uint64_t i = 0; i < n; ++i) {
      l.mutex.lock_shared();
      const payload<Bytes> copy = l.data;
      l.mutex.unlock_shared();
      sink(&copy);
    }
  }
  [[gnu::noinline]] static void write(std::uint64_t n, std::uint64_t first) noexcept {
    auto& l = g_locked<Bytes>;
    for (std::uint64_t i = 0; i < n; ++i) {
      const payload<Bytes> v = make_payload<Bytes>(first + i);
      std::lock_guard g(l.mutex);
      l.data = v;
    }
  }
  static bool check() noexcept {
    std::shared_lock g(g_locked<Bytes>.mutex);
    return consistent(g_locked<Bytes>.data);
  }
};

template <std::size_t Bytes>
struct ck_peer;
template <>
struct ck_peer<16> {
  static void read(std::uint64_t n) noexcept { ck_seq_read_16(n); }
  static void write(std::uint64_t n, std::uint64_t first) noexcept { ck_seq_write_16(n, first); }
  static bool check() noexcept { return ck_seq_check_16() != 0; }
};
template <>
struct ck_peer<64> {
  static void read(std::uint64_t n) noexcept { ck_seq_read_64(n); }
  static void write(std::uint64_t n, std::uint64_t first) noexcept { ck_seq_write_64(n, first); }
  static bool check() noexcept { return ck_seq_check_64() != 0; }
};
template <>
struct ck_peer<256> {
  static void read(std::uint64_t n) noexcept { ck_seq_read_256(n); }
  static void write(std::uint64_t n, std::uint64_t first) noexcept { ck_seq_write_256(n, first); }
  static bool check() noexcept { return ck_seq_check_256() != 0; }
};

// ---------------------------------------------------------------------------
// The writer: one thread on the helper CPU, writing once per kPaceNs or back
// to back.

enum class writer_mode { none, paced, flat_out };
constexpr std::int64_t kPaceNs = 1000;

inline std::int64_t now_ns() noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// On a 128-byte block of its own: the thread polls stop_ per write, and the
// object sits on the measuring thread's stack.
template <class Peer>
class alignas(128) writer_thread {
 public:
  explicit writer_thread(writer_mode mode) : thread_([this, mode] { run(mode); }) {
    while (state_.load(std::memory_order_acquire) == starting) std::this_thread::yield();
  }
  ~writer_thread() { stop(); }
  writer_thread(const writer_thread&) = delete;
  writer_thread& operator=(const writer_thread&) = delete;

  bool running() const noexcept { return state_.load(std::memory_order_acquire) == running_state; }

  // Stops and joins; returns the number of writes.
  std::uint64_t stop() {
    if (thread_.joinable()) {
      stop_.store(true, std::memory_order_relaxed);
      thread_.join();
    }
    return writes_;
  }

 private:
  static constexpr int starting = 0, running_state = 1, failed = 2;
  void run(writer_mode mode) {
    if (!pin_thread(pthread_self(), g_cpus.helper)) {
      state_.store(failed, std::memory_order_release);
      return;
    }
    state_.store(running_state, std::memory_order_release);
    std::uint64_t v = 1;
    if (mode == writer_mode::flat_out) {
      while (!stop_.load(std::memory_order_relaxed)) {
        Peer::write(kBatch, v);
        v += kBatch;
      }
    } else {
      std::int64_t next = now_ns();
      while (!stop_.load(std::memory_order_relaxed)) {
        Peer::write(1, v++);
        next += kPaceNs;
        std::int64_t t;
        while ((t = now_ns()) < next) {
        }
        if (t - next > 100 * kPaceNs) next = t;  // descheduled: no burst to catch up
      }
    }
    writes_ = v - 1;  // read after join()
  }
  std::atomic<int> state_{starting};
  std::atomic<bool> stop_{false};
  std::uint64_t writes_ = 0;
  std::thread thread_;  // last: starts after the members above exist
};

template <class Peer, writer_mode Mode>
void bm_read(benchmark::State& st) {
  if (!place(st, Mode != writer_mode::none)) return;
  Peer::write(1, 0);  // a consistent payload (ck's starts all zero), before the writer starts
  std::optional<writer_thread<Peer>> writer;
  if constexpr (Mode != writer_mode::none) {
    writer.emplace(Mode);
    if (!writer->running()) {
      st.SkipWithError("cannot pin the writer thread to the helper CPU");
      return;
    }
  }
  for (auto _ : st) Peer::read(kBatch);
  const std::uint64_t writes = writer ? writer->stop() : 0;
  if (!Peer::check()) st.SkipWithError("the payload is inconsistent after the run");
  const auto reads = static_cast<double>(st.iterations() * kBatch);
  st.SetItemsProcessed(static_cast<std::int64_t>(reads));
  st.counters["per_read"] = benchmark::Counter(reads, benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  if constexpr (Mode != writer_mode::none) st.counters["writes_per_read"] = static_cast<double>(writes) / reads;
}

template <class Peer>
void bm_write(benchmark::State& st) {
  if (!place(st, false)) return;
  std::uint64_t v = 1;
  for (auto _ : st) {
    Peer::write(kBatch, v);
    v += kBatch;
  }
  const auto writes = static_cast<double>(st.iterations() * kBatch);
  st.SetItemsProcessed(static_cast<std::int64_t>(writes));
  st.counters["per_write"] = benchmark::Counter(writes, benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

#define QUIESCE_SEQLOCK_READ(B, PEER, NAME)                                                                 \
  BENCHMARK(bm_read<PEER<B>, writer_mode::none>)->Name("read/" #B "B/" NAME "/writer:none");                \
  BENCHMARK(bm_read<PEER<B>, writer_mode::paced>)->Name("read/" #B "B/" NAME "/writer:paced");              \
  BENCHMARK(bm_read<PEER<B>, writer_mode::flat_out>)->Name("read/" #B "B/" NAME "/writer:flat_out")
#define QUIESCE_SEQLOCK_BENCH(B)                                                                            \
  QUIESCE_SEQLOCK_READ(B, quiesce_seqlock_peer, "quiesce_seqlock");                                         \
  QUIESCE_SEQLOCK_READ(B, ck_peer, "ck_sequence");                                                          \
  QUIESCE_SEQLOCK_READ(B, quiesce_latch_peer, "quiesce_latch");                                             \
  QUIESCE_SEQLOCK_READ(B, shared_mutex_peer, "std_shared_mutex");                                           \
  BENCHMARK(bm_write<quiesce_seqlock_peer<B>>)->Name("write/" #B "B/quiesce_seqlock");                      \
  BENCHMARK(bm_write<ck_peer<B>>)->Name("write/" #B "B/ck_sequence");                                       \
  BENCHMARK(bm_write<quiesce_latch_peer<B>>)->Name("write/" #B "B/quiesce_latch");                          \
  BENCHMARK(bm_write<shared_mutex_peer<B>>)->Name("write/" #B "B/std_shared_mutex")

QUIESCE_SEQLOCK_BENCH(16);
QUIESCE_SEQLOCK_BENCH(64);
QUIESCE_SEQLOCK_BENCH(256);
#undef QUIESCE_SEQLOCK_BENCH
#undef QUIESCE_SEQLOCK_READ

}  // namespace

BENCHMARK_MAIN();
