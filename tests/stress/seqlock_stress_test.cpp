// Stress: no torn read, ever. Readers load seqlock<T> / seqcount_latch<T>
// payloads with internal invariants while writers keep replacing them:
//   triple:  b == a + 100, c == a + b                       (24 bytes)
//   wide:    32 words, w[i] == mix(w[0]-derived counter, i)  (256 bytes)
// and every reader checks that the counter never goes backwards. Millions of
// reads per test (fewer under sanitizers: see `scale`). The latch is also read from
// signal handlers that interrupt a reader thread, and the writer thread
// itself in the middle of its store(). Bounded: every wait has a deadline, no
// sleep is used to order anything.
#include <quiesce/seqlock.hpp>

#include <gtest/gtest.h>

#include "support/stress.hpp"
#include <pthread.h>

#include <array>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <limits>
#include <mutex>
#include <thread>
#include <vector>

namespace {

constexpr std::uint64_t scale = quiesce::test::stress_scale;
constexpr auto deadline_after = std::chrono::seconds(120);

struct triple {
  std::uint64_t a, b, c;
};
constexpr triple make_triple(std::uint64_t a) { return {a, a + 100, a + a + 100}; }
constexpr bool consistent(const triple& t) { return t.b == t.a + 100 && t.c == t.a + t.b; }
constexpr std::uint64_t counter_of(const triple& t) { return t.a; }

struct wide {
  std::array<std::uint64_t, 32> w;
};
static_assert(sizeof(wide) == 256);
constexpr std::uint64_t mix(std::uint64_t n, std::uint64_t i) {
  return (n * 0x9e3779b97f4a7c15ULL) ^ (i * 0xbf58476d1ce4e5b9ULL) ^ (n << (i % 17));
}
constexpr wide make_wide(std::uint64_t n) {
  wide v{};
  v.w[0] = n;
  for (std::uint64_t i = 1; i < v.w.size(); ++i) v.w[i] = mix(n, i);
  return v;
}
constexpr bool consistent(const wide& v) {
  for (std::uint64_t i = 1; i < v.w.size(); ++i)
    if (v.w[i] != mix(v.w[0], i)) return false;
  return true;
}
constexpr std::uint64_t counter_of(const wide& v) { return v.w[0]; }

triple make(std::uint64_t n, triple*) { return make_triple(n); }
wide make(std::uint64_t n, wide*) { return make_wide(n); }
template <class T>
T make_value(std::uint64_t n) {
  return make(n, static_cast<T*>(nullptr));
}

struct reader_result {
  std::uint64_t reads = 0;
  std::uint64_t torn = 0;
  std::uint64_t backwards = 0;
  std::uint64_t changes = 0;  // times the counter differed from the previous read
  std::uint64_t try_failures = 0;
  bool timed_out = false;
};

enum class read_mode { load, try_load };

// Reads `reads` times (or until the deadline) and checks every value.
template <class Lock>
reader_result read_and_check(const Lock& lock, std::uint64_t reads, read_mode mode,
                             std::chrono::steady_clock::time_point deadline) {
  using T = typename Lock::value_type;
  reader_result r;
  std::uint64_t last = 0;
  T v = make_value<T>(0);
  while (r.reads < reads) {
    if ((r.reads & 0xffff) == 0 && std::chrono::steady_clock::now() > deadline) {
      r.timed_out = true;
      break;
    }
    if (mode == read_mode::load) {
      v = lock.load();
    } else if (!lock.try_load(v)) {
      ++r.try_failures;
      continue;
    }
    ++r.reads;
    if (!consistent(v)) {
      ++r.torn;
      continue;
    }
    const std::uint64_t n = counter_of(v);
    if (n < last) ++r.backwards;
    if (n != last) ++r.changes;
    last = n;
  }
  return r;
}

struct totals {
  std::uint64_t reads = 0, torn = 0, backwards = 0, changes = 0, try_failures = 0;
  bool timed_out = false;
  void add(const reader_result& r) {
    reads += r.reads;
    torn += r.torn;
    backwards += r.backwards;
    changes += r.changes;
    try_failures += r.try_failures;
    timed_out = timed_out || r.timed_out;
  }
};

// Runs `readers` reader threads over `lock` while `write(n)` is called with
// n = 1, 2, ... by `writers` writer threads (each writer gets its own
// increasing sequence of n when `writers` > 1: see the callers) until every
// reader has done its share. Returns the readers' totals and the writes.
template <class Lock, class Write>
totals run(const Lock& lock, int readers, std::uint64_t reads_per_reader, read_mode mode, Write write,
           std::uint64_t* writes_out = nullptr) {
  const auto deadline = std::chrono::steady_clock::now() + deadline_after;
  std::atomic<int> readers_left{readers};
  std::atomic<std::uint64_t> writes{0};
  std::vector<reader_result> results(static_cast<std::size_t>(readers));
  std::thread writer([&] {
    std::uint64_t n = 0;
    while (readers_left.load(std::memory_order_acquire) != 0) write(++n);
    writes.store(n, std::memory_order_relaxed);
  });
  std::vector<std::thread> ts;
  for (int i = 0; i < readers; ++i)
    ts.emplace_back([&, i] {
      results[static_cast<std::size_t>(i)] = read_and_check(lock, reads_per_reader, mode, deadline);
      readers_left.fetch_sub(1, std::memory_order_release);
    });
  for (auto& t : ts) t.join();
  writer.join();
  totals sum;
  for (const auto& r : results) sum.add(r);
  if (writes_out) *writes_out = writes.load(std::memory_order_relaxed);
  return sum;
}

void expect_clean(const totals& t, std::uint64_t expected_reads, std::uint64_t writes) {
  EXPECT_FALSE(t.timed_out) << "readers did not finish within the deadline";
  EXPECT_EQ(t.reads, expected_reads);
  EXPECT_EQ(t.torn, 0u) << "torn reads";
  EXPECT_EQ(t.backwards, 0u) << "a reader saw the counter go backwards";
  EXPECT_GT(writes, 0u);
  EXPECT_GT(t.changes, 0u) << "readers never saw a write: the test did not overlap reads and writes";
  std::printf("[          ] %llu reads, %llu value changes seen, %llu writes, %llu failed try_load\n",
              static_cast<unsigned long long>(t.reads), static_cast<unsigned long long>(t.changes),
              static_cast<unsigned long long>(writes), static_cast<unsigned long long>(t.try_failures));
}

constexpr int kReaders = 3;
constexpr std::uint64_t kReadsPerReader = 5'000'000 / scale;  // 15 M reads per test (7.5 M for wide)

// kReaders readers, reads_per_reader reads each in `mode`, while one writer
// stores make(n) for n = 1, 2, ...: no torn or older value, reads and writes
// overlapped.
template <template <class> class Lock, class T>
void expect_stores_never_torn(T (*make)(std::uint64_t), std::uint64_t reads_per_reader, read_mode mode) {
  Lock<T> lock{make(0)};
  std::uint64_t writes = 0;
  const totals t = run(
      lock, kReaders, reads_per_reader, mode, [&](std::uint64_t n) { lock.store(make(n)); }, &writes);
  expect_clean(t, kReaders * reads_per_reader, writes);
}

// Two writer threads call write() per_writer times each while `readers`
// threads load (until the writers are done, at most max_reads times each,
// or until the deadline), counting torn values and values older than the
// previous one. Returns each reader's counts.
template <class Lock, class Write>
std::vector<reader_result> two_writers_and_readers(const Lock& lock, std::uint64_t per_writer, Write write,
                                                   int readers, std::uint64_t max_reads) {
  std::atomic<bool> done{false};
  std::vector<std::thread> writers;
  for (int w = 0; w < 2; ++w)
    writers.emplace_back([&] {
      for (std::uint64_t i = 0; i < per_writer; ++i) write();
    });
  std::vector<reader_result> results(static_cast<std::size_t>(readers));
  std::vector<std::thread> reader_threads;
  const auto deadline = std::chrono::steady_clock::now() + deadline_after;
  for (int r = 0; r < readers; ++r)
    reader_threads.emplace_back([&, r] {
      reader_result& res = results[static_cast<std::size_t>(r)];
      std::uint64_t last = 0;
      while (!done.load(std::memory_order_acquire) && res.reads < max_reads &&
             std::chrono::steady_clock::now() < deadline) {
        const auto v = lock.load();
        ++res.reads;
        if (!consistent(v)) ++res.torn;
        if (v.a < last) ++res.backwards;
        last = v.a;
      }
    });
  for (auto& w : writers) w.join();
  done.store(true, std::memory_order_release);
  for (auto& r : reader_threads) r.join();
  return results;
}

// ============================ seqlock<T> ============================

TEST(SeqlockStress, TripleStoreAndUpdateNoTornReads) {
  quiesce::seqlock<triple> s{make_triple(0)};
  std::uint64_t writes = 0;
  const totals t = run(
      s, kReaders, kReadsPerReader, read_mode::load,
      [&](std::uint64_t n) {
        if (n % 2)
          s.store(make_triple(n));
        else
          s.update([n](triple& v) { v = make_triple(v.a + 1 == n ? n : ~0ULL); });  // v.a is n - 1
      },
      &writes);
  expect_clean(t, kReaders * kReadsPerReader, writes);
  EXPECT_EQ(s.load().a, writes) << "an update() did not see the previous store()";
}

TEST(SeqlockStress, WideStoreNoTornReads) {
  expect_stores_never_torn<quiesce::seqlock>(make_wide, kReadsPerReader / 2, read_mode::load);
}

TEST(SeqlockStress, TryLoadNeverReturnsATornValue) {
  expect_stores_never_torn<quiesce::seqlock>(make_triple, kReadsPerReader, read_mode::try_load);
}

// Two writers, each incrementing with update(), while readers check: no
// increment is lost and readers never see a torn or older value.
TEST(SeqlockStress, ConcurrentUpdatersLoseNothing) {
  quiesce::seqlock<triple> s{make_triple(0)};
  constexpr std::uint64_t per_writer = 200'000 / scale;
  const std::vector<reader_result> results = two_writers_and_readers(
      s, per_writer, [&] { s.update([](triple& v) { v = make_triple(v.a + 1); }); }, 2, kReadsPerReader);
  EXPECT_EQ(s.load().a, 2 * per_writer);
  for (const auto& r : results) {
    EXPECT_EQ(r.torn, 0u);
    EXPECT_EQ(r.backwards, 0u);
  }
}

// ========================= seqcount_latch<T> =========================

TEST(SeqcountLatchStress, TripleNoTornReads) {
  expect_stores_never_torn<quiesce::seqcount_latch>(make_triple, kReadsPerReader, read_mode::load);
}

TEST(SeqcountLatchStress, WideNoTornReads) {
  expect_stores_never_torn<quiesce::seqcount_latch>(make_wide, kReadsPerReader / 2, read_mode::load);
}

TEST(SeqcountLatchStress, TryLoadNeverReturnsATornValue) {
  expect_stores_never_torn<quiesce::seqcount_latch>(make_triple, kReadsPerReader, read_mode::try_load);
}

// Writers on several threads, serialised by the caller's mutex (the latch's
// contract): the latch only ever sees one store() at a time.
TEST(SeqcountLatchStress, WritersSerialisedByTheCaller) {
  quiesce::seqcount_latch<triple> l{make_triple(0)};
  std::mutex m;
  std::uint64_t value = 0;  // guarded by m
  constexpr std::uint64_t per_writer = 100'000 / scale;
  const std::vector<reader_result> results = two_writers_and_readers(
      l, per_writer,
      [&] {
        std::lock_guard g(m);
        l.store(make_triple(++value));
      },
      1, std::numeric_limits<std::uint64_t>::max());
  EXPECT_EQ(l.load().a, 2 * per_writer);
  EXPECT_EQ(results[0].torn, 0u);
  EXPECT_EQ(results[0].backwards, 0u);
}

// ---- signal-handler readers ----
//
// SIGUSR1's handler loads the latch, checks the invariants and counts. It
// uses only lock-free atomics: async-signal-safe. The main thread sends one
// signal at a time with pthread_kill() and waits (yielding) until the
// handler has counted it, so no signal is merged with another. A signal is
// delivered when the target thread next returns to user mode, which on a
// loaded machine can take a scheduling quantum (milliseconds), so the test
// stops after kSignals signals or kSignalBudget, whichever comes first, and
// requires at least kMinSignals: enough to interrupt store() many times.

std::atomic<const quiesce::seqcount_latch<triple>*> g_latch{nullptr};
std::atomic<std::uint64_t> g_handled{0};
std::atomic<std::uint64_t> g_handler_torn{0};
std::atomic<std::uint64_t> g_handler_in_store{0};  // signals that arrived inside store()
std::atomic<bool> g_writer_in_store{false};          // set around store() by the signalled writer

void latch_handler(int) {
  const auto* l = g_latch.load(std::memory_order_relaxed);
  if (g_writer_in_store.load(std::memory_order_relaxed)) g_handler_in_store.fetch_add(1, std::memory_order_relaxed);
  const triple v = l->load();  // must return even if this thread was inside l->store()
  if (!consistent(v)) g_handler_torn.fetch_add(1, std::memory_order_relaxed);
  // Release: pairs with the acquire load in signal_and_wait().
  g_handled.fetch_add(1, std::memory_order_release);
}

constexpr std::uint64_t kSignals = 20'000 / scale;
constexpr std::uint64_t kMinSignals = 200 / scale;
constexpr auto kSignalBudget = std::chrono::seconds(5);

class SeqcountLatchSignalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    g_handled.store(0);
    g_handler_torn.store(0);
    g_handler_in_store.store(0);
    g_writer_in_store.store(false);
    struct sigaction sa {};
    sa.sa_handler = latch_handler;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    ASSERT_EQ(sigaction(SIGUSR1, &sa, &old_), 0);
  }
  void TearDown() override {
    sigaction(SIGUSR1, &old_, nullptr);
    g_latch.store(nullptr);
  }

  // Sends up to kSignals signals to `target`, one at a time, within
  // kSignalBudget. Returns how many were handled; each one sent is handled
  // before the next is sent, except the last one on timeout (then the
  // function waits for it up to deadline_after: a handler must not block).
  static std::uint64_t signal_and_wait(pthread_t target) {
    const auto start = std::chrono::steady_clock::now();
    for (std::uint64_t i = 0; i < kSignals && std::chrono::steady_clock::now() - start < kSignalBudget; ++i) {
      const std::uint64_t before = g_handled.load(std::memory_order_acquire);
      if (pthread_kill(target, SIGUSR1) != 0) break;
      while (g_handled.load(std::memory_order_acquire) == before) {
        if (std::chrono::steady_clock::now() - start > deadline_after) return before;
        std::this_thread::yield();
      }
    }
    return g_handled.load(std::memory_order_acquire);
  }

  static void report(std::uint64_t handled) {
    std::printf("[          ] %llu signals handled (%llu of them inside store())\n",
                static_cast<unsigned long long>(handled),
                static_cast<unsigned long long>(g_handler_in_store.load()));
  }

  struct sigaction old_ {};
};

// The handler interrupts a thread that is itself looping over load() while
// another thread stores.
TEST_F(SeqcountLatchSignalTest, HandlerOnAReaderThread) {
  quiesce::seqcount_latch<triple> l{make_triple(0)};
  g_latch.store(&l);
  std::atomic<bool> stop{false}, reader_running{false};
  reader_result res;
  std::thread writer([&] {
    for (std::uint64_t n = 1; !stop.load(std::memory_order_relaxed); ++n) l.store(make_triple(n));
  });
  std::thread reader([&] {
    reader_running.store(true, std::memory_order_release);
    std::uint64_t last = 0;
    while (!stop.load(std::memory_order_relaxed)) {
      const triple v = l.load();
      ++res.reads;
      if (!consistent(v)) ++res.torn;
      if (v.a < last) ++res.backwards;
      last = v.a;
    }
  });
  while (!reader_running.load(std::memory_order_acquire)) std::this_thread::yield();
  const std::uint64_t handled = signal_and_wait(reader.native_handle());
  stop.store(true, std::memory_order_relaxed);
  writer.join();
  reader.join();
  report(handled);
  EXPECT_GE(handled, kMinSignals) << "too few signals were handled within the time budget";
  EXPECT_EQ(g_handler_torn.load(), 0u) << "torn reads in the signal handler";
  EXPECT_EQ(res.torn, 0u);
  EXPECT_EQ(res.backwards, 0u);
}

// The handler interrupts the writer thread itself, often in the middle of
// store(): a seqlock reader would spin forever there (the writer cannot run
// until the handler returns); the latch reader must return a consistent copy.
TEST_F(SeqcountLatchSignalTest, HandlerOnTheWriterThreadInsideStore) {
  quiesce::seqcount_latch<triple> l{make_triple(0)};
  g_latch.store(&l);
  std::atomic<bool> stop{false}, writer_running{false};
  std::thread writer([&] {
    writer_running.store(true, std::memory_order_release);
    for (std::uint64_t n = 1; !stop.load(std::memory_order_relaxed); ++n) {
      g_writer_in_store.store(true, std::memory_order_relaxed);
      std::atomic_signal_fence(std::memory_order_seq_cst);  // the handler on this thread sees the flag set
      l.store(make_triple(n));
      std::atomic_signal_fence(std::memory_order_seq_cst);
      g_writer_in_store.store(false, std::memory_order_relaxed);
    }
  });
  while (!writer_running.load(std::memory_order_acquire)) std::this_thread::yield();
  const std::uint64_t handled = signal_and_wait(writer.native_handle());
  stop.store(true, std::memory_order_relaxed);
  writer.join();
  report(handled);
  EXPECT_GE(handled, kMinSignals) << "too few signals handled (a handler blocked on the writer?)";
  EXPECT_EQ(g_handler_torn.load(), 0u) << "torn reads in the signal handler";
}

}  // namespace
