// Unit tests for quiesce/seqlock.hpp: every call of seqlock<T> and
// seqcount_latch<T>, layout, odd-sized and non-default-constructible T, and
// the deterministic cases (try_load failing while a writer holds the lock,
// load() waiting for it, update() serialising writers, update() throwing).
// Compile-time rejections are tests/compile_fail/seqlock_*.cpp; invariants
// under concurrency are tests/stress/seqlock_stress_test.cpp.
#include <quiesce/seqlock.hpp>

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <csignal>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <thread>
#include <type_traits>
#include <vector>

namespace {

struct pair16 {
  std::uint64_t a, b;
  friend bool operator==(const pair16&, const pair16&) = default;
};
struct odd3 {
  unsigned char x, y, z;
  friend bool operator==(const odd3&, const odd3&) = default;
};
struct odd17 {
  std::array<unsigned char, 17> bytes;
  friend bool operator==(const odd17&, const odd17&) = default;
};
struct alignas(16) aligned32 {
  std::uint32_t v[5];
  friend bool operator==(const aligned32&, const aligned32&) = default;
};
struct big256 {
  std::array<std::uint64_t, 32> w;
  friend bool operator==(const big256&, const big256&) = default;
};
struct flags {  // bools and an enum: only valid object representations may be formed
  bool on;
  enum class mode : unsigned char { off, slow, fast } m;
  friend bool operator==(const flags&, const flags&) = default;
};
// Trivially copyable but not default constructible.
struct no_default {
  explicit no_default(int v) : value(v) {}
  int value;
};
static_assert(std::is_trivially_copyable_v<no_default> && !std::is_default_constructible_v<no_default>);

// ---- layout ----
constexpr std::size_t line = quiesce::detail::base::cache_line;
static_assert(alignof(quiesce::seqlock<int>) == line);
static_assert(sizeof(quiesce::seqlock<int>) == line);
static_assert(sizeof(quiesce::seqlock<pair16>) == line);
static_assert(sizeof(quiesce::seqlock<std::array<std::uint64_t, 7>>) == line);   // 8 + 56 bytes
static_assert(sizeof(quiesce::seqlock<std::array<std::uint64_t, 8>>) == 2 * line);
static_assert(sizeof(quiesce::seqlock<big256>) == 5 * line);
static_assert(alignof(quiesce::seqcount_latch<pair16>) == line);
static_assert(sizeof(quiesce::seqcount_latch<pair16>) == line);  // 8 + 1 (+7) + 2 * 16
static_assert(sizeof(quiesce::seqcount_latch<big256>) % line == 0);
static_assert(std::atomic<std::uint64_t>::is_always_lock_free);

// ---- what the types accept (the rejections are compile-fail tests) ----
static_assert(!std::is_copy_constructible_v<quiesce::seqlock<int>>);
static_assert(!std::is_copy_assignable_v<quiesce::seqlock<int>>);
static_assert(!std::is_move_constructible_v<quiesce::seqcount_latch<int>>);
static_assert(std::is_nothrow_default_constructible_v<quiesce::seqlock<pair16>>);
static_assert(!std::is_default_constructible_v<quiesce::seqlock<no_default>>);
static_assert(std::is_constructible_v<quiesce::seqlock<no_default>, no_default>);
static_assert(!std::is_convertible_v<pair16, quiesce::seqlock<pair16>>);  // explicit
// update() is noexcept exactly when f is.
static_assert(noexcept(std::declval<quiesce::seqlock<int>&>().update([](int&) noexcept {})));
static_assert(!noexcept(std::declval<quiesce::seqlock<int>&>().update([](int&) {})));

// ============================ seqlock<T> ============================

TEST(Seqlock, DefaultConstructedHoldsValueInitialisedT) {
  quiesce::seqlock<pair16> s;
  EXPECT_EQ(s.load(), (pair16{0, 0}));
  quiesce::seqlock<int> i;
  EXPECT_EQ(i.load(), 0);
}

TEST(Seqlock, ConstructedFromValue) {
  quiesce::seqlock<pair16> s{{7, 107}};
  EXPECT_EQ(s.load(), (pair16{7, 107}));
}

TEST(Seqlock, StoreThenLoad) {
  quiesce::seqlock<pair16> s;
  for (std::uint64_t i = 1; i <= 100; ++i) {
    s.store({i, i + 100});
    EXPECT_EQ(s.load(), (pair16{i, i + 100}));
  }
}

TEST(Seqlock, TryLoadSucceedsWithoutWriter) {
  quiesce::seqlock<pair16> s{{1, 2}};
  pair16 out{9, 9};
  ASSERT_TRUE(s.try_load(out));
  EXPECT_EQ(out, (pair16{1, 2}));
  s.store({3, 4});
  ASSERT_TRUE(s.try_load(out));
  EXPECT_EQ(out, (pair16{3, 4}));
}

TEST(Seqlock, UpdateIsReadModifyWrite) {
  quiesce::seqlock<pair16> s{{5, 105}};
  s.update([](pair16& v) {
    EXPECT_EQ(v, (pair16{5, 105}));  // f sees the current value
    ++v.a;
    ++v.b;
  });
  EXPECT_EQ(s.load(), (pair16{6, 106}));
  s.store({10, 20});
  s.update([](pair16& v) { v.b += v.a; });
  EXPECT_EQ(s.load(), (pair16{10, 30}));
}

TEST(Seqlock, UpdateThatThrowsStoresNothingAndReleasesTheLock) {
  quiesce::seqlock<pair16> s{{1, 101}};
  EXPECT_THROW(s.update([](pair16& v) {
    v.a = 999;  // modified copy, never stored
    throw std::runtime_error("no");
  }),
               std::runtime_error);
  pair16 out{};
  ASSERT_TRUE(s.try_load(out));  // lock released: sequence even again
  EXPECT_EQ(out, (pair16{1, 101}));
  s.store({2, 102});  // a writer can take the lock
  EXPECT_EQ(s.load(), (pair16{2, 102}));
}

TEST(Seqlock, OddSizesAndAlignmentsRoundTripEveryByte) {
  quiesce::seqlock<odd3> s3{{1, 2, 3}};
  EXPECT_EQ(s3.load(), (odd3{1, 2, 3}));
  s3.store({0xff, 0xfe, 0xfd});
  EXPECT_EQ(s3.load(), (odd3{0xff, 0xfe, 0xfd}));

  odd17 v17{};
  for (unsigned i = 0; i < v17.bytes.size(); ++i) v17.bytes[i] = static_cast<unsigned char>(0xa0 + i);
  quiesce::seqlock<odd17> s17{v17};
  EXPECT_EQ(s17.load(), v17);

  quiesce::seqlock<aligned32> sa{{{1, 2, 3, 4, 5}}};
  const aligned32 a = sa.load();
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(&a) % alignof(aligned32), 0u);
  EXPECT_EQ(a, (aligned32{{1, 2, 3, 4, 5}}));

  big256 b{};
  for (unsigned i = 0; i < b.w.size(); ++i) b.w[i] = 0x0101010101010101ULL * i;
  quiesce::seqlock<big256> sb;
  sb.store(b);
  EXPECT_EQ(sb.load(), b);

  quiesce::seqlock<double> sd{1.5};
  sd.update([](double& d) { d *= 2; });
  EXPECT_EQ(sd.load(), 3.0);
}

TEST(Seqlock, BoolsAndEnumsRoundTrip) {
  quiesce::seqlock<flags> s{{true, flags::mode::fast}};
  EXPECT_EQ(s.load(), (flags{true, flags::mode::fast}));
  s.update([](flags& f) { f.on = !f.on; });
  EXPECT_EQ(s.load(), (flags{false, flags::mode::fast}));
}

TEST(Seqlock, NonDefaultConstructibleT) {
  quiesce::seqlock<no_default> s{no_default{4}};
  EXPECT_EQ(s.load().value, 4);
  s.store(no_default{5});
  no_default out{0};
  ASSERT_TRUE(s.try_load(out));
  EXPECT_EQ(out.value, 5);
  s.update([](no_default& v) { v.value *= 10; });
  EXPECT_EQ(s.load().value, 50);
}

// While update()'s f runs, the writer holds the lock (the sequence is odd):
// try_load must fail without touching `out`, and load() must wait and return
// the updated value. The writer parks inside f until told to go on; the
// steps are ordered by atomics only.
TEST(Seqlock, TryLoadFailsAndLoadWaitsWhileAWriterHoldsTheLock) {
  quiesce::seqlock<pair16> s{{1, 101}};
  std::atomic<bool> inside{false}, finish{false}, loader_started{false};

  std::thread writer([&] {
    s.update([&](pair16& v) {
      v = {2, 102};
      inside.store(true, std::memory_order_release);
      while (!finish.load(std::memory_order_acquire)) std::this_thread::yield();
    });
  });
  while (!inside.load(std::memory_order_acquire)) std::this_thread::yield();

  pair16 out{42, 42};
  for (int i = 0; i < 1000; ++i) {
    ASSERT_FALSE(s.try_load(out));
    ASSERT_EQ(out, (pair16{42, 42})) << "try_load wrote to out although it failed";
  }

  // A reader that arrives now cannot finish before the writer does; once it
  // does, it must see the new value (the old one is no longer consistent).
  pair16 loaded{};
  std::thread loader([&] {
    loader_started.store(true, std::memory_order_release);
    loaded = s.load();
  });
  while (!loader_started.load(std::memory_order_acquire)) std::this_thread::yield();
  ASSERT_FALSE(s.try_load(out));  // still held
  finish.store(true, std::memory_order_release);
  writer.join();
  loader.join();
  EXPECT_EQ(loaded, (pair16{2, 102}));
  ASSERT_TRUE(s.try_load(out));
  EXPECT_EQ(out, (pair16{2, 102}));
}

// A second writer waits for the first: its update() sees the first one's
// result (read-modify-writes are never lost).
TEST(Seqlock, WritersAreSerialised) {
  quiesce::seqlock<pair16> s{{0, 100}};
  constexpr int threads = 4;
  constexpr int per_thread = 20000;
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t)
    ts.emplace_back([&] {
      for (int i = 0; i < per_thread; ++i)
        s.update([](pair16& v) {
          ++v.a;
          v.b = v.a + 100;
        });
    });
  for (auto& t : ts) t.join();
  EXPECT_EQ(s.load(), (pair16{threads * per_thread, threads * per_thread + 100}));
}

TEST(Seqlock, StoreWaitsForAWriterHoldingTheLock) {
  quiesce::seqlock<int> s{1};
  std::atomic<bool> inside{false}, finish{false}, storer_started{false}, stored{false};
  std::thread writer([&] {
    s.update([&](int& v) {
      v = 2;
      inside.store(true, std::memory_order_release);
      while (!finish.load(std::memory_order_acquire)) std::this_thread::yield();
    });
  });
  while (!inside.load(std::memory_order_acquire)) std::this_thread::yield();
  std::thread storer([&] {
    storer_started.store(true, std::memory_order_release);
    s.store(3);
    stored.store(true, std::memory_order_release);
  });
  while (!storer_started.load(std::memory_order_acquire)) std::this_thread::yield();
  EXPECT_FALSE(stored.load(std::memory_order_acquire));  // cannot have passed the held lock
  finish.store(true, std::memory_order_release);
  writer.join();
  storer.join();
  EXPECT_EQ(s.load(), 3);  // the second writer's value is last
}

// ========================= seqcount_latch<T> =========================

TEST(SeqcountLatch, DefaultAndValueConstruction) {
  quiesce::seqcount_latch<pair16> d;
  EXPECT_EQ(d.load(), (pair16{0, 0}));
  quiesce::seqcount_latch<pair16> v{{3, 103}};
  EXPECT_EQ(v.load(), (pair16{3, 103}));
  quiesce::seqcount_latch<no_default> n{no_default{8}};
  EXPECT_EQ(n.load().value, 8);
}

TEST(SeqcountLatch, StoreThenLoadAndTryLoad) {
  quiesce::seqcount_latch<pair16> l;
  for (std::uint64_t i = 1; i <= 100; ++i) {
    l.store({i, i + 100});
    EXPECT_EQ(l.load(), (pair16{i, i + 100}));
    pair16 out{};
    ASSERT_TRUE(l.try_load(out));
    EXPECT_EQ(out, (pair16{i, i + 100}));
  }
}

TEST(SeqcountLatch, OddSizesRoundTrip) {
  odd17 v17{};
  for (unsigned i = 0; i < v17.bytes.size(); ++i) v17.bytes[i] = static_cast<unsigned char>(i * 7);
  quiesce::seqcount_latch<odd17> l17;
  l17.store(v17);
  EXPECT_EQ(l17.load(), v17);
  big256 b{};
  for (unsigned i = 0; i < b.w.size(); ++i) b.w[i] = ~std::uint64_t{i};
  quiesce::seqcount_latch<big256> lb{b};
  EXPECT_EQ(lb.load(), b);
  b.w[31] = 1;
  lb.store(b);
  EXPECT_EQ(lb.load(), b);
}

TEST(SeqcountLatch, WriterHandedOverBetweenThreads) {
  // One writer at a time, different threads in turn: allowed when the
  // hand-over synchronises (here: join).
  quiesce::seqcount_latch<int> l{0};
  for (int t = 1; t <= 8; ++t) std::thread([&, t] { l.store(t); }).join();
  EXPECT_EQ(l.load(), 8);
}

// A signal handler on the writing thread reads the latch: the handler runs
// between two of the writer's instructions, and load() must still return.
// Here the handler runs synchronously (raise) between two stores, so it must
// see the last stored value at once.
std::atomic<const quiesce::seqcount_latch<pair16>*> g_latch{nullptr};
std::atomic<std::uint64_t> g_handler_a{0};
std::atomic<bool> g_handler_ok{false};

void read_latch_in_handler(int) {
  const pair16 v = g_latch.load(std::memory_order_relaxed)->load();
  g_handler_a.store(v.a, std::memory_order_relaxed);
  g_handler_ok.store(v.b == v.a + 100, std::memory_order_relaxed);
}

TEST(SeqcountLatch, LoadFromASignalHandler) {
  quiesce::seqcount_latch<pair16> l{{1, 101}};
  g_latch.store(&l, std::memory_order_relaxed);
  struct sigaction sa {}, old {};
  sa.sa_handler = read_latch_in_handler;
  sigemptyset(&sa.sa_mask);
  ASSERT_EQ(sigaction(SIGUSR1, &sa, &old), 0);
  for (std::uint64_t i = 2; i < 50; ++i) {
    l.store({i, i + 100});
    ASSERT_EQ(raise(SIGUSR1), 0);
    EXPECT_TRUE(g_handler_ok.load(std::memory_order_relaxed));
    EXPECT_EQ(g_handler_a.load(std::memory_order_relaxed), i);
  }
  ASSERT_EQ(sigaction(SIGUSR1, &old, nullptr), 0);
  g_latch.store(nullptr, std::memory_order_relaxed);
}

}  // namespace
