// Unit and property tests for quiesce/vector_clock.hpp and
// quiesce/hybrid_logical_clock.hpp.
//
// Units: every call, the missing-entries-are-zero semantics of clocks of
// different sizes, the small buffer and the heap beyond it (copies, moves,
// self-assignment), overflow and bad ids; HLC packing, the paper's rules
// case by case on a fake physical clock, the skew bound (exactly at it
// accepted, one tick over rejected, clock unchanged), a physical clock
// stepping backwards, the counter carrying into l, sources of every kind.
//
// Properties, over many random executions of N simulated processes
// exchanging messages (seeded PRNG, deterministic): the true happened-before
// relation is computed independently (a bitset of causal predecessors per
// event), and
//   * vector clocks characterise it exactly: V(e) < V(f) iff e -> f,
//     unordered iff concurrent, equal iff the same event; <= is reflexive,
//     antisymmetric and transitive;
//   * HLC: e -> f implies hlc(e) < hlc(f); l >= pt and l - pt <= eps (the
//     physical clocks' spread); c.f <= |{g : g -> f and l.g == l.f}| (the
//     paper's Theorem 3); no message is rejected by the skew check at
//     max_skew = eps.
// The multi-threaded HLC test is tests/stress/hybrid_logical_clock_stress_test.cpp.
#include <quiesce/hybrid_logical_clock.hpp>
#include <quiesce/vector_clock.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <compare>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <random>
#include <span>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace {

using quiesce::vector_clock;
using po = std::partial_ordering;

// ---------------------------------------------------------------------------
// vector_clock units

TEST(VectorClock, StartsEmptyAndAllZero) {
  vector_clock v;
  EXPECT_EQ(v.size(), 0u);
  EXPECT_EQ(v[0], 0u);
  EXPECT_EQ(v[1000], 0u);
  EXPECT_EQ(v, vector_clock{});
  EXPECT_EQ(v, (vector_clock{0, 0, 0}));
  EXPECT_EQ(v <=> vector_clock{}, po::equivalent);
}

TEST(VectorClock, IncrementGrowsAndCounts) {
  vector_clock v;
  EXPECT_EQ(v.increment(2), 1u);
  EXPECT_EQ(v.increment(2), 2u);
  EXPECT_EQ(v.size(), 3u);
  EXPECT_EQ(v, (vector_clock{0, 0, 2}));
  EXPECT_EQ(v.increment(0), 1u);
  EXPECT_EQ(v, (vector_clock{1, 0, 2}));
  EXPECT_EQ(v.counters().size(), 3u);
  EXPECT_EQ(v.counters()[2], 2u);
}

TEST(VectorClock, MismatchedSizesReadMissingEntriesAsZero) {
  const vector_clock a{1, 2};
  const vector_clock b{1, 2, 0, 0};
  EXPECT_EQ(a, b);
  EXPECT_EQ(b, a);
  EXPECT_EQ(a <=> b, po::equivalent);
  const vector_clock c{1, 2, 1};
  EXPECT_EQ(a <=> c, po::less);
  EXPECT_EQ(c <=> a, po::greater);
  EXPECT_TRUE(quiesce::happens_before(a, c));
  EXPECT_FALSE(quiesce::happens_before(c, a));
  const vector_clock d{2};
  EXPECT_EQ(d <=> c, po::unordered);  // d[0] > c[0], d[2] = 0 < c[2]
  EXPECT_TRUE(quiesce::concurrent_with(c, d));
  EXPECT_NE(c, d);
  // merge of different sizes: pointwise max, the longer size
  vector_clock m = d;
  m.merge(c);
  EXPECT_EQ(m, (vector_clock{2, 2, 1}));
  EXPECT_EQ(m.size(), 3u);
  vector_clock m2 = c;
  m2.merge(d);
  EXPECT_EQ(m2, m);
  EXPECT_EQ(m2.size(), 3u);  // a shorter argument does not shrink it
}

TEST(VectorClock, PartialOrderNames) {
  const vector_clock a{1, 0};
  const vector_clock b{1, 1};
  const vector_clock c{0, 2};
  EXPECT_EQ(quiesce::compare(a, b), po::less);
  EXPECT_EQ(quiesce::compare(b, a), po::greater);
  EXPECT_EQ(quiesce::compare(a, a), po::equivalent);
  EXPECT_EQ(quiesce::compare(b, c), po::unordered);
  EXPECT_TRUE(a < b);
  EXPECT_TRUE(a <= b);
  EXPECT_FALSE(b < c);
  EXPECT_FALSE(c < b);
  EXPECT_FALSE(b <= c);
  EXPECT_FALSE(quiesce::happens_before(a, a));
  EXPECT_FALSE(quiesce::concurrent_with(a, a));
}

TEST(VectorClock, ReceiveIsMergeThenIncrement) {
  vector_clock p0;
  vector_clock p1;
  p0.increment(0);
  p0.increment(0);  // send: {2}
  const vector_clock msg = p0;
  p1.increment(1);  // {0, 1}
  EXPECT_EQ(p1.receive(1, msg), 2u);
  EXPECT_EQ(p1, (vector_clock{2, 2}));
  EXPECT_TRUE(quiesce::happens_before(msg, p1));
}

TEST(VectorClock, SmallBufferAndHeapCopiesMovesAssignments) {
  using small = quiesce::basic_vector_clock<2>;
  small a{1, 2};
  small big;
  for (std::uint32_t i = 0; i < 40; ++i) big.increment(i);  // on the heap
  EXPECT_EQ(big.size(), 40u);
  small big_copy = big;
  EXPECT_EQ(big_copy, big);
  big_copy.increment(39);
  EXPECT_EQ(big[39], 1u);  // deep copy
  EXPECT_EQ(big_copy[39], 2u);
  small moved = std::move(big_copy);
  EXPECT_EQ(moved[39], 2u);
  EXPECT_EQ(big_copy.size(), 0u);  // NOLINT(bugprone-use-after-move): moved-from is empty
  small inline_moved = std::move(a);
  EXPECT_EQ(inline_moved, (small{1, 2}));
  // assignment: small <- big, big <- small, self
  small target{5};
  target = big;
  EXPECT_EQ(target, big);
  target = small{7, 7};
  EXPECT_EQ(target, (small{7, 7}));
  EXPECT_EQ(target[39], 0u);
  const small& alias = target;
  target = alias;
  EXPECT_EQ(target, (small{7, 7}));
  target = std::move(moved);
  EXPECT_EQ(target[39], 2u);
  // merge that grows past the inline capacity
  small s{3};
  s.merge(big);
  EXPECT_EQ(s[0], 3u);
  EXPECT_EQ(s[39], 1u);
  EXPECT_EQ(s.size(), 40u);
}

TEST(VectorClock, CounterOverflowThrowsAndLeavesTheClockUnchanged) {
  constexpr auto max = std::numeric_limits<std::uint64_t>::max();
  vector_clock v{max - 1, 5};
  EXPECT_EQ(v.increment(0), max);
  const vector_clock before = v;
  try {
    v.increment(0);
    FAIL() << "no overflow_error";
  } catch (const std::overflow_error& e) {
    EXPECT_NE(std::string(e.what()).find("process 0"), std::string::npos) << e.what();
  }
  EXPECT_EQ(v, before);
  // receive: the own counter would pass the maximum through the message
  vector_clock r{0, 1};
  const vector_clock msg{0, max};
  EXPECT_THROW(r.receive(1, msg), std::overflow_error);
  EXPECT_EQ(r, (vector_clock{0, 1}));  // not even merged
  // merge alone never overflows
  r.merge(msg);
  EXPECT_EQ(r[1], max);
}

TEST(VectorClock, BadIdsAndSizesThrow) {
  vector_clock v;
  EXPECT_THROW(v.increment(static_cast<std::uint32_t>(vector_clock::max_processes)), std::out_of_range);
  EXPECT_THROW(v.receive(1u << 20, vector_clock{}), std::out_of_range);
  EXPECT_EQ(v.size(), 0u);
  EXPECT_EQ(v.increment(static_cast<std::uint32_t>(vector_clock::max_processes - 1)), 1u);
  std::vector<std::uint64_t> too_many(vector_clock::max_processes + 1, 0);
  EXPECT_THROW(static_cast<void>(vector_clock(std::span<const std::uint64_t>(too_many))), std::length_error);
}

// ---------------------------------------------------------------------------
// hlc_timestamp and hybrid_logical_clock units

using quiesce::hlc_duration;
using quiesce::hlc_timestamp;

// A physical clock the test sets, in hlc ticks.
struct fake_source {
  const std::uint64_t* ticks;
  hlc_duration operator()() const noexcept { return hlc_duration(*ticks); }
};
using fake_hlc = quiesce::hybrid_logical_clock<fake_source>;
std::chrono::nanoseconds ticks_ns(std::uint64_t t) { return quiesce::detail::clocks::hlc_ticks_to_ns(t); }

static_assert(sizeof(hlc_timestamp) == 8 && std::is_trivially_copyable_v<hlc_timestamp>);
static_assert(hlc_timestamp(3, 4).l() == 3 && hlc_timestamp(3, 4).c() == 4);
static_assert(hlc_timestamp(3, 0xffff) < hlc_timestamp(4, 0));
static_assert(hlc_timestamp(3, 1) < hlc_timestamp(3, 2));
static_assert((hlc_timestamp(3, 1) <=> hlc_timestamp(3, 1)) == std::strong_ordering::equal);

TEST(HlcTimestamp, PackingAndRange) {
  const hlc_timestamp t(hlc_timestamp::max_l, hlc_timestamp::max_c);
  EXPECT_EQ(t.bits(), std::numeric_limits<std::uint64_t>::max());
  EXPECT_EQ(hlc_timestamp::from_bits(t.bits()), t);
  EXPECT_THROW(hlc_timestamp(hlc_timestamp::max_l + 1, 0), std::out_of_range);
  EXPECT_THROW(hlc_timestamp(0, 0x10000), std::out_of_range);
  EXPECT_EQ(hlc_timestamp{}.bits(), 0u);
  // wall_time: 1.5 s after the epoch
  const hlc_timestamp w((1u << 16) + (1u << 15), 7);
  EXPECT_EQ(std::chrono::duration_cast<std::chrono::milliseconds>(w.wall_time().time_since_epoch()).count(), 1500);
}

TEST(HybridLogicalClock, NowFollowsThePapersSendRule) {
  std::uint64_t pt = 100;
  fake_hlc clock(ticks_ns(10), fake_source{&pt});
  EXPECT_EQ(clock.last(), hlc_timestamp{});
  EXPECT_EQ(clock.now(), hlc_timestamp(100, 0));  // pt ahead: l = pt, c = 0
  EXPECT_EQ(clock.now(), hlc_timestamp(100, 1));  // pt still: c + 1
  EXPECT_EQ(clock.send(), hlc_timestamp(100, 2));
  pt = 101;
  EXPECT_EQ(clock.now(), hlc_timestamp(101, 0));
  pt = 90;  // the physical clock steps back: l holds, c counts
  EXPECT_EQ(clock.now(), hlc_timestamp(101, 1));
  EXPECT_EQ(clock.now(), hlc_timestamp(101, 2));
  EXPECT_EQ(clock.last(), hlc_timestamp(101, 2));
  pt = 102;
  EXPECT_EQ(clock.now(), hlc_timestamp(102, 0));
}

TEST(HybridLogicalClock, ReceiveFollowsThePapersFourCases) {
  std::uint64_t pt = 100;
  fake_hlc clock(ticks_ns(50), fake_source{&pt});
  EXPECT_EQ(clock.now(), hlc_timestamp(100, 0));
  // l == l' == lm: max(c, cm) + 1
  EXPECT_EQ(clock.receive(hlc_timestamp(100, 7)), hlc_timestamp(100, 8));
  EXPECT_EQ(clock.receive(hlc_timestamp(100, 3)), hlc_timestamp(100, 9));
  // l == l' > lm: c + 1
  EXPECT_EQ(clock.receive(hlc_timestamp(99, 40)), hlc_timestamp(100, 10));
  // l == lm > l': cm + 1 (the remote is ahead of us, within the bound)
  EXPECT_EQ(clock.receive(hlc_timestamp(120, 5)), hlc_timestamp(120, 6));
  // pt beyond both: c = 0
  pt = 130;
  EXPECT_EQ(clock.receive(hlc_timestamp(125, 9)), hlc_timestamp(130, 0));
}

TEST(HybridLogicalClock, SkewBoundExactlyAtItAcceptedOverItRejected) {
  std::uint64_t pt = 1000;
  fake_hlc clock(ticks_ns(64), fake_source{&pt});
  EXPECT_EQ(clock.now(), hlc_timestamp(1000, 0));
  const hlc_timestamp over(1000 + 65, 0);
  try {
    clock.receive(over);
    FAIL() << "no hlc_clock_skew_error";
  } catch (const quiesce::hlc_clock_skew_error& e) {
    EXPECT_EQ(e.remote(), over);
    EXPECT_EQ(e.local_physical(), 1000u);
    EXPECT_EQ(e.skew(), ticks_ns(65));
    EXPECT_EQ(e.max_skew(), ticks_ns(64));
    EXPECT_GT(e.skew(), e.max_skew());
    const std::string what = e.what();
    EXPECT_NE(what.find(std::to_string(ticks_ns(65).count()) + " ns ahead"), std::string::npos) << what;
    EXPECT_NE(what.find("max_skew bound of " + std::to_string(ticks_ns(64).count()) + " ns"), std::string::npos)
        << what;
  }
  EXPECT_EQ(clock.last(), hlc_timestamp(1000, 0));  // unchanged
  EXPECT_EQ(clock.now(), hlc_timestamp(1000, 1));
  EXPECT_EQ(clock.receive(hlc_timestamp(1064, 3)), hlc_timestamp(1064, 4));  // exactly at the bound
  // A remote behind us is never rejected, however far.
  EXPECT_EQ(clock.receive(hlc_timestamp(1, 0)), hlc_timestamp(1064, 5));
}

TEST(HybridLogicalClock, SkewBoundsInNanosecondsRoundToTicks) {
  std::uint64_t pt = 1000;
  // 1 ms = 65.536 ticks: 65 ticks ahead (0.9918 ms) accepted, 66 (1.0071 ms) rejected.
  fake_hlc clock(std::chrono::milliseconds(1), fake_source{&pt});
  EXPECT_NO_THROW(clock.receive(hlc_timestamp(1065, 0)));
  EXPECT_THROW(clock.receive(hlc_timestamp(1066, 0)), quiesce::hlc_clock_skew_error);
  fake_hlc zero(std::chrono::nanoseconds(0), fake_source{&pt});
  EXPECT_NO_THROW(zero.receive(hlc_timestamp(1000, 9)));
  EXPECT_THROW(zero.receive(hlc_timestamp(1001, 0)), quiesce::hlc_clock_skew_error);
  fake_hlc unbounded(fake_hlc::unbounded_skew, fake_source{&pt});
  EXPECT_EQ(unbounded.receive(hlc_timestamp(hlc_timestamp::max_l - 1, 0)), hlc_timestamp(hlc_timestamp::max_l - 1, 1));
  EXPECT_THROW(fake_hlc(std::chrono::nanoseconds(-1), fake_source{&pt}), std::invalid_argument);
}

TEST(HybridLogicalClock, CounterOverflowCarriesIntoL) {
  std::uint64_t pt = 500;
  fake_hlc clock(ticks_ns(10), fake_source{&pt});
  hlc_timestamp prev = clock.now();
  for (int i = 0; i < 70'000; ++i) {
    const hlc_timestamp t = clock.now();
    ASSERT_LT(prev, t);
    prev = t;
  }
  EXPECT_EQ(prev, hlc_timestamp(501, 70'000 - 65'536));  // one tick ahead of pt after 65,536 events
  // a remote at max c carries too
  EXPECT_EQ(clock.receive(hlc_timestamp(505, 0xffff)), hlc_timestamp(506, 0));
}

TEST(HybridLogicalClock, LOverflowThrows) {
  std::uint64_t pt = 10;
  fake_hlc clock(fake_hlc::unbounded_skew, fake_source{&pt});
  EXPECT_EQ(clock.receive(hlc_timestamp(hlc_timestamp::max_l, 0xfffe)), hlc_timestamp(hlc_timestamp::max_l, 0xffff));
  EXPECT_THROW(clock.now(), std::overflow_error);
  EXPECT_EQ(clock.last(), hlc_timestamp(hlc_timestamp::max_l, 0xffff));
}

TEST(HybridLogicalClock, SourcesOfEveryKind) {
  // default: system_clock; l within a tick or two of it
  quiesce::hybrid_logical_clock<> sys;
  const auto before = std::chrono::system_clock::now();
  const hlc_timestamp t = sys.now();
  const auto after = std::chrono::system_clock::now();
  EXPECT_GE(t.wall_time(), before - std::chrono::microseconds(16));
  EXPECT_LE(t.wall_time(), after);
  EXPECT_LT(t, sys.now());
  EXPECT_EQ(sys.max_skew(), std::chrono::milliseconds(500));
  // std::function returning nanoseconds since the epoch
  std::int64_t ns = 3'000'000'000;  // 3 s
  quiesce::hybrid_logical_clock<std::function<std::chrono::nanoseconds()>> fn(
      std::chrono::seconds(1), [&ns] { return std::chrono::nanoseconds(ns); });
  EXPECT_EQ(fn.now(), hlc_timestamp(3u << 16, 0));
  ns = 3'500'000'000;
  EXPECT_EQ(fn.now(), hlc_timestamp((3u << 16) + (1u << 15), 0));
  ns = -1;  // before 1970
  EXPECT_THROW(fn.now(), std::range_error);
  // a time_point of a custom clock
  struct tp_source {
    std::chrono::system_clock::time_point operator()() const {
      return std::chrono::system_clock::time_point(std::chrono::seconds(10));
    }
  };
  quiesce::hybrid_logical_clock<tp_source> tp;
  EXPECT_EQ(tp.now(), hlc_timestamp(10u << 16, 0));
  // after 2106
  struct far_source {
    std::chrono::seconds operator()() const { return std::chrono::seconds(std::int64_t{1} << 32); }
  };
  quiesce::hybrid_logical_clock<far_source> far;
  EXPECT_THROW(far.now(), std::range_error);
}

// ---------------------------------------------------------------------------
// Random executions: properties against the true causal order

struct event {
  int process;
  vector_clock vc;
  hlc_timestamp hlc;
  std::uint64_t pt;            // the process's physical time at the event
  std::vector<std::uint64_t> preds;  // bitset: events that happened before this one
};

bool has(const std::vector<std::uint64_t>& bits, std::size_t i) { return (bits[i / 64] >> (i % 64)) & 1u; }
void set_bit(std::vector<std::uint64_t>& bits, std::size_t i) { bits[i / 64] |= std::uint64_t{1} << (i % 64); }

struct execution {
  std::vector<event> events;
  std::uint64_t eps = 0;  // spread of the physical clocks, in ticks
  std::size_t rejected = 0;
};

// N processes, `steps` events: local events, sends to a random process,
// receives of a random pending message (channels are not FIFO). Physical
// clocks pt_p = global + offset_p, offsets in [0, eps], global advancing
// 0-2 ticks per step, so many events share an l and c is exercised.
execution simulate(std::uint32_t seed, int n, int steps, std::uint64_t eps) {
  std::mt19937_64 rng(seed);
  execution ex;
  ex.eps = eps;
  const std::size_t words = (static_cast<std::size_t>(steps) + 63) / 64;
  std::uint64_t global = 1000;
  std::vector<std::uint64_t> offset(n);
  std::vector<std::uint64_t> pt(n);
  for (auto& o : offset) o = std::uniform_int_distribution<std::uint64_t>(0, eps)(rng);
  std::vector<std::unique_ptr<fake_hlc>> hlc;
  for (int p = 0; p < n; ++p) hlc.push_back(std::make_unique<fake_hlc>(ticks_ns(eps), fake_source{&pt[p]}));
  std::vector<vector_clock> vc(n);
  std::vector<long> last(n, -1);  // each process's previous event
  struct message {
    int to;
    std::size_t send_event;
  };
  std::vector<message> pending;
  for (int s = 0; s < steps; ++s) {
    global += std::uniform_int_distribution<std::uint64_t>(0, 2)(rng);
    for (int p = 0; p < n; ++p) pt[p] = global + offset[p];
    const int p = std::uniform_int_distribution<int>(0, n - 1)(rng);
    std::vector<std::size_t> mine;
    for (std::size_t m = 0; m < pending.size(); ++m)
      if (pending[m].to == p) mine.push_back(m);
    const int kind = std::uniform_int_distribution<int>(0, 2)(rng);  // 0 local, 1 send, 2 receive
    event e;
    e.process = p;
    e.pt = pt[p];
    e.preds.assign(words, 0);
    if (last[p] >= 0) {
      e.preds = ex.events[last[p]].preds;
      set_bit(e.preds, static_cast<std::size_t>(last[p]));
    }
    const std::size_t index = ex.events.size();
    if (kind == 2 && !mine.empty()) {
      const std::size_t pick = mine[std::uniform_int_distribution<std::size_t>(0, mine.size() - 1)(rng)];
      const std::size_t from = pending[pick].send_event;
      pending.erase(pending.begin() + static_cast<std::ptrdiff_t>(pick));
      for (std::size_t w = 0; w < words; ++w) e.preds[w] |= ex.events[from].preds[w];
      set_bit(e.preds, from);
      vc[p].receive(static_cast<std::uint32_t>(p), ex.events[from].vc);
      try {
        e.hlc = hlc[p]->receive(ex.events[from].hlc);
      } catch (const quiesce::hlc_clock_skew_error&) {
        ++ex.rejected;
        e.hlc = hlc[p]->now();
      }
    } else {
      vc[p].increment(static_cast<std::uint32_t>(p));
      e.hlc = hlc[p]->now();
      if (kind == 1) pending.push_back({std::uniform_int_distribution<int>(0, n - 1)(rng), index});
    }
    e.vc = vc[p];
    last[p] = static_cast<long>(index);
    ex.events.push_back(std::move(e));
  }
  return ex;
}

constexpr bool tsan = quiesce::detail::base::tsan;

TEST(LogicalClockProperties, VectorClocksCharacteriseCausalityExactly) {
  const int executions = tsan ? 40 : 300;
  for (int run = 0; run < executions; ++run) {
    const auto seed = static_cast<std::uint32_t>(run + 1);
    const int n = 2 + run % 9;  // 2..10 processes: past the 8 inline counters too
    const execution ex = simulate(seed, n, 150, 3);
    const auto& ev = ex.events;
    for (std::size_t e = 0; e < ev.size(); ++e) {
      for (std::size_t f = 0; f < ev.size(); ++f) {
        const bool e_before_f = has(ev[f].preds, e);
        const bool f_before_e = has(ev[e].preds, f);
        const po o = ev[e].vc <=> ev[f].vc;
        const po expected = e == f        ? po::equivalent
                            : e_before_f  ? po::less
                            : f_before_e  ? po::greater
                                          : po::unordered;
        ASSERT_EQ(o, expected) << "seed " << seed << " events " << e << ", " << f;
        ASSERT_EQ(quiesce::happens_before(ev[e].vc, ev[f].vc), e_before_f);
        ASSERT_EQ(quiesce::concurrent_with(ev[e].vc, ev[f].vc), e != f && !e_before_f && !f_before_e);
        ASSERT_EQ(ev[e].vc == ev[f].vc, e == f);
      }
    }
  }
}

TEST(LogicalClockProperties, VectorClockOrderIsAPartialOrder) {
  const int executions = tsan ? 5 : 30;
  for (int run = 0; run < executions; ++run) {
    const auto seed = static_cast<std::uint32_t>(1000 + run);
    const execution ex = simulate(seed, 3 + run % 4, 50, 2);
    const auto& ev = ex.events;
    for (const auto& a : ev) {
      ASSERT_TRUE(a.vc <= a.vc);  // reflexive
      for (const auto& b : ev) {
        if (a.vc <= b.vc && b.vc <= a.vc) {
          ASSERT_EQ(a.vc, b.vc);  // antisymmetric
        }
        if (!(a.vc <= b.vc)) continue;
        for (const auto& c : ev) {
          if (b.vc <= c.vc) {
            ASSERT_TRUE(a.vc <= c.vc) << "seed " << seed;  // transitive
          }
          if (b.vc < c.vc) {
            ASSERT_TRUE(a.vc < c.vc) << "seed " << seed;
          }
        }
      }
    }
  }
}

TEST(LogicalClockProperties, HlcRespectsCausalityAndThePapersBounds) {
  const int executions = tsan ? 40 : 300;
  std::uint64_t max_c_seen = 0;
  for (int run = 0; run < executions; ++run) {
    const auto seed = static_cast<std::uint32_t>(5000 + run);
    const int n = 2 + run % 5;
    const std::uint64_t eps = static_cast<std::uint64_t>(run % 6);  // 0..5 ticks of spread
    const execution ex = simulate(seed, n, 200, eps);
    const auto& ev = ex.events;
    ASSERT_EQ(ex.rejected, 0u) << "seed " << seed << ": a message within eps was rejected";
    for (std::size_t f = 0; f < ev.size(); ++f) {
      const hlc_timestamp hf = ev[f].hlc;
      ASSERT_GE(hf.l(), ev[f].pt) << "seed " << seed;
      ASSERT_LE(hf.l() - ev[f].pt, eps) << "seed " << seed << " event " << f;
      std::uint64_t same_l_preds = 0;
      for (std::size_t e = 0; e < ev.size(); ++e) {
        if (!has(ev[f].preds, e)) continue;
        ASSERT_LT(ev[e].hlc, hf) << "seed " << seed << ": " << e << " -> " << f << " but hlc not smaller";
        same_l_preds += ev[e].hlc.l() == hf.l();
      }
      ASSERT_LE(hf.c(), same_l_preds) << "seed " << seed << " event " << f;  // Theorem 3
      max_c_seen = std::max<std::uint64_t>(max_c_seen, hf.c());
    }
  }
  EXPECT_GT(max_c_seen, 2u);  // the executions do exercise the logical counter
}

TEST(LogicalClockProperties, EveryMessageFromTooFarAheadIsRejected) {
  // max_skew = 0 and the sender's physical clock 5 ticks ahead: every
  // message is rejected, and none moves the receiver's clock.
  std::size_t rejected = 0;
  for (int run = 0; run < 20; ++run) {
    std::mt19937_64 rng(static_cast<std::uint64_t>(run));
    std::uint64_t pt_ahead = 2000 + 5;
    std::uint64_t pt_behind = 2000;
    fake_hlc ahead(ticks_ns(0), fake_source{&pt_ahead});
    fake_hlc behind(ticks_ns(0), fake_source{&pt_behind});
    for (int i = 0; i < 50; ++i) {
      const hlc_timestamp before = behind.last();
      try {
        behind.receive(ahead.send());
      } catch (const quiesce::hlc_clock_skew_error& e) {
        ++rejected;
        ASSERT_EQ(behind.last(), before);
        ASSERT_GT(e.skew(), e.max_skew());
      }
      const auto step = std::uniform_int_distribution<std::uint64_t>(0, 2)(rng);
      pt_ahead += step;
      pt_behind += step;
    }
  }
  EXPECT_EQ(rejected, 20u * 50u);
}

}  // namespace
