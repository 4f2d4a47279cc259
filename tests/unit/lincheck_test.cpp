// Tests for the linearizability checker tests/lincheck/lincheck.hpp:
//  * hand-written histories with exact verdicts (queue, stack, set): ones
//    that need reordering of overlapping operations pass, classic violations
//    fail, and the explanation names the smallest failing prefix;
//  * the checker agrees with a brute-force search over every permutation on
//    thousands of tiny random histories (which also checks that splitting a
//    set history by key changes no verdict);
//  * histories recorded from real threads on mutex-protected std::deque /
//    std::vector / std::set all pass;
//  * deliberately broken structures are caught in every history of a shape
//    chosen so that every execution contains a violation (deterministic, not
//    probabilistic; the reason is given at each test);
//  * bad input: malformed histories, the size bound and the step budget give
//    clear errors.
#include "lincheck/lincheck.hpp"

#include <gtest/gtest.h>

#include <barrier>
#include <cstdio>
#include <cstdint>
#include <deque>
#include <mutex>
#include <numeric>
#include <optional>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

namespace lc = quiesce::lincheck;
using Q = lc::queue_spec;
using S = lc::stack_spec;
using Set = lc::set_spec;
using lc::verdict;

// ---- hand-written operations ----
lc::operation<Q> enq(std::uint32_t t, std::int64_t v, lc::timestamp a, lc::timestamp b) {
  return {t, Q::kind::enqueue, v, std::nullopt, a, b};
}
lc::operation<Q> deq(std::uint32_t t, std::optional<std::int64_t> r, lc::timestamp a, lc::timestamp b) {
  return {t, Q::kind::dequeue, 0, r, a, b};
}
lc::operation<S> push(std::uint32_t t, std::int64_t v, lc::timestamp a, lc::timestamp b) {
  return {t, S::kind::push, v, std::nullopt, a, b};
}
lc::operation<S> pop(std::uint32_t t, std::optional<std::int64_t> r, lc::timestamp a, lc::timestamp b) {
  return {t, S::kind::pop, 0, r, a, b};
}
lc::operation<Set> ins(std::uint32_t t, std::int64_t k, bool r, lc::timestamp a, lc::timestamp b) {
  return {t, Set::kind::insert, k, r, a, b};
}
lc::operation<Set> era(std::uint32_t t, std::int64_t k, bool r, lc::timestamp a, lc::timestamp b) {
  return {t, Set::kind::erase, k, r, a, b};
}
lc::operation<Set> has(std::uint32_t t, std::int64_t k, bool r, lc::timestamp a, lc::timestamp b) {
  return {t, Set::kind::contains, k, r, a, b};
}

constexpr std::optional<std::int64_t> empty = std::nullopt;

// Scale for sanitizer builds (each test well under 10 s under TSan on 2 cores).
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
constexpr int scale_div = 2;
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer) || __has_feature(address_sanitizer)
constexpr int scale_div = 2;
#else
constexpr int scale_div = 1;
#endif
#else
constexpr int scale_div = 1;
#endif

// ---- queue ----

TEST(LincheckQueue, OverlappingEnqueuesMayBeReordered) {
  // T0's enqueue(1) spans T1's enqueue(2); dequeues then see 2 before 1:
  // linearizable only by ordering enqueue(2) first.
  const lc::history<Q> h{enq(0, 1, 1, 10), enq(1, 2, 2, 3), deq(1, 2, 4, 5), deq(1, 1, 11, 12), deq(0, empty, 13, 14)};
  const auto r = lc::check(h);
  EXPECT_TRUE(r.ok) << r.explanation;
  EXPECT_EQ(r.status, verdict::linearizable);
  EXPECT_TRUE(r.explanation.empty());
  EXPECT_EQ(r.operations, 5u);
  EXPECT_EQ(r.partitions, 1u);
  EXPECT_GE(r.steps, 5u);  // at least one configuration per operation
  EXPECT_EQ(lc::overlapping_pairs(h), 2u);  // enqueue(1) with enqueue(2) and with dequeue -> 2
}

TEST(LincheckQueue, DequeueOverlappingItsEnqueueMayComeFirstOrSecond) {
  // dequeue -> empty overlaps enqueue(1) and dequeue -> 1 overlaps both.
  const lc::history<Q> h{enq(0, 1, 1, 6), deq(1, empty, 2, 3), deq(1, 1, 4, 8)};
  EXPECT_TRUE(lc::check(h).ok);
  // A dequeue can return a value whose enqueue has not returned yet.
  const lc::history<Q> h2{enq(0, 7, 1, 10), deq(1, 7, 2, 3)};
  EXPECT_TRUE(lc::check(h2).ok);
}

TEST(LincheckQueue, DequeueOfLaterValueBeforeEarlierIsCaught) {
  // enqueue(1) returns before enqueue(2) starts; a later dequeue returns 2.
  const lc::history<Q> h{enq(0, 1, 1, 2), enq(0, 2, 3, 4), deq(1, 2, 5, 6), deq(1, 1, 7, 8)};
  const auto r = lc::check(h);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.status, verdict::not_linearizable);
  // The smallest failing prefix ends when dequeue -> 2 returns, with 3 operations.
  EXPECT_EQ(r.failing_prefix_ops, 3u);
  EXPECT_EQ(r.failing_operation, "dequeue() -> 2");
  EXPECT_NE(r.explanation.find("not linearizable: queue history of 4 operations"), std::string::npos) << r.explanation;
  EXPECT_NE(r.explanation.find("ends when T1 dequeue() -> 2 returns (t=5..6)"), std::string::npos) << r.explanation;
  EXPECT_NE(r.explanation.find("Longest legal order found (2 operations): T0 enqueue(1), T0 enqueue(2)"),
            std::string::npos)
      << r.explanation;
  EXPECT_NE(r.explanation.find("queue (front first) [1, 2]"), std::string::npos) << r.explanation;
  EXPECT_EQ(r.explanation.find("dequeue() -> 1"), std::string::npos) << "not in the smallest prefix:\n" << r.explanation;
}

TEST(LincheckQueue, ExplanationIsThePerThreadTimeline) {
  const lc::history<Q> h{enq(0, 1, 1, 2), enq(0, 2, 3, 4), deq(1, 2, 5, 6)};
  const auto r = lc::check(h);
  ASSERT_FALSE(r.ok);
  // Six events (columns); rows grouped by thread.
  const std::string expected_timeline =
      "    T0  |[]    |  enqueue(1)      t=1..2\n"
      "    T0  |  []  |  enqueue(2)      t=3..4\n"
      "    T1  |    []|  dequeue() -> 2  t=5..6  <- returns at the cut\n";
  EXPECT_NE(r.explanation.find(expected_timeline), std::string::npos) << r.explanation;
}

TEST(LincheckQueue, SmallestFailingPrefixIgnoresLaterOperations) {
  // The violation (dequeue -> empty while 1 is surely in the queue) happens
  // at the second operation; nine more follow, which the explanation leaves out.
  lc::history<Q> h{enq(0, 1, 1, 2), deq(1, empty, 3, 4), enq(0, 2, 5, 20), deq(1, 1, 21, 22), deq(1, 2, 23, 24)};
  for (lc::timestamp t = 0; t < 6; ++t) h.push_back(deq(1, empty, 25 + 2 * t, 26 + 2 * t));
  const auto r = lc::check(h);
  ASSERT_EQ(r.status, verdict::not_linearizable);
  EXPECT_EQ(r.failing_prefix_ops, 2u) << r.explanation;
  EXPECT_EQ(r.failing_operation, "dequeue() -> empty");
  EXPECT_NE(r.explanation.find("2 of the 11 operations"), std::string::npos) << r.explanation;
  EXPECT_NE(r.explanation.find("Longest legal order found (1 operation): T0 enqueue(1)"), std::string::npos)
      << r.explanation;
}

TEST(LincheckQueue, PendingOperationAtTheCutIsShownAndMayBeLeftOut) {
  // T2's dequeue -> 5 spans the cut at T1's bad dequeue; it is optional there.
  const lc::history<Q> h{enq(0, 5, 1, 2), deq(2, 5, 3, 30), deq(1, 9, 4, 5), enq(0, 9, 40, 41)};
  const auto r = lc::check(h);
  ASSERT_EQ(r.status, verdict::not_linearizable);
  EXPECT_EQ(r.failing_operation, "dequeue() -> 9");
  EXPECT_EQ(r.failing_prefix_ops, 3u);
  EXPECT_NE(r.explanation.find("dequeue() -> 5  t=3..(running)  (returned later; may be left out)"), std::string::npos)
      << r.explanation;
  EXPECT_NE(r.explanation.find("|  [==>|"), std::string::npos) << r.explanation;
}

TEST(LincheckQueue, OtherViolations) {
  // dequeue -> empty after a completed enqueue, no dequeue overlapping.
  EXPECT_EQ(lc::check(lc::history<Q>{enq(0, 1, 1, 2), deq(1, empty, 3, 4)}).status, verdict::not_linearizable);
  // A value never enqueued.
  EXPECT_EQ(lc::check(lc::history<Q>{enq(0, 1, 1, 2), deq(1, 3, 3, 4)}).status, verdict::not_linearizable);
  // A value dequeued twice.
  EXPECT_EQ(lc::check(lc::history<Q>{enq(0, 1, 1, 2), deq(1, 1, 3, 6), deq(0, 1, 4, 5)}).status,
            verdict::not_linearizable);
  // Same, but enqueued twice: fine.
  EXPECT_TRUE(lc::check(lc::history<Q>{enq(0, 1, 1, 2), enq(0, 1, 3, 4), deq(1, 1, 5, 8), deq(0, 1, 6, 7)}).ok);
  // The empty history.
  EXPECT_TRUE(lc::check(lc::history<Q>{}).ok);
}

// ---- stack ----

TEST(LincheckStack, OverlappingPushesMayBeReordered) {
  // push(1) spans push(2): after both, popping 1 then 2 is fine.
  const lc::history<S> h{push(0, 1, 1, 10), push(1, 2, 2, 3), pop(1, 1, 11, 12), pop(0, 2, 13, 14), pop(1, empty, 15, 16)};
  EXPECT_TRUE(lc::check(h).ok);
  // A pop overlapping a push can take that push's value.
  EXPECT_TRUE(lc::check(lc::history<S>{push(0, 1, 1, 2), push(0, 2, 3, 8), pop(1, 2, 4, 5), pop(1, 1, 6, 7)}).ok);
}

TEST(LincheckStack, PopOfOlderElementWhileNewerPresentIsCaught) {
  // push(1); push(2) (not overlapping); pop -> 1 although 2 is on top.
  const lc::history<S> h{push(0, 1, 1, 2), push(0, 2, 3, 4), pop(1, 1, 5, 6), pop(1, 2, 7, 8)};
  const auto r = lc::check(h);
  EXPECT_EQ(r.status, verdict::not_linearizable);
  EXPECT_EQ(r.failing_prefix_ops, 3u);
  EXPECT_EQ(r.failing_operation, "pop() -> 1");
  EXPECT_NE(r.explanation.find("stack (bottom first) [1, 2]"), std::string::npos) << r.explanation;
  // pop -> empty with an element surely present.
  EXPECT_EQ(lc::check(lc::history<S>{push(0, 1, 1, 2), pop(1, empty, 3, 4)}).status, verdict::not_linearizable);
}

// ---- set ----

TEST(LincheckSet, ContainsOverlappingEraseMaySeeEitherState) {
  // contains -> true, then contains -> false, both within the erase: fine.
  const lc::history<Set> h{ins(0, 1, true, 1, 2), era(0, 1, true, 3, 10), has(1, 1, true, 4, 5),
                           has(1, 1, false, 6, 7), has(1, 1, false, 11, 12)};
  const auto r = lc::check(h);
  EXPECT_TRUE(r.ok) << r.explanation;
  // The other way round (false, then true) needs an insert in between.
  const lc::history<Set> bad{ins(0, 1, true, 1, 2), era(0, 1, true, 3, 10), has(1, 1, false, 4, 5),
                             has(1, 1, true, 6, 7)};
  const auto rb = lc::check(bad);
  EXPECT_EQ(rb.status, verdict::not_linearizable);
  EXPECT_EQ(rb.failing_operation, "contains(1) -> true");
  // With an insert overlapping, it is fine again.
  lc::history<Set> fixed = bad;
  fixed.push_back(ins(2, 1, true, 5, 6));
  EXPECT_TRUE(lc::check(fixed).ok) << lc::check(fixed).explanation;
}

TEST(LincheckSet, ContainsAfterCompletedEraseIsCaughtPerKey) {
  // Key 1: insert; erase (completed); contains -> true with no insert
  // overlapping. Keys 2 and 3 carry unrelated, correct traffic.
  const lc::history<Set> h{ins(0, 2, true, 1, 2),  ins(0, 1, true, 3, 4),    ins(1, 3, true, 5, 6),
                           era(0, 1, true, 7, 8),  has(2, 2, true, 9, 12),    has(1, 1, true, 10, 11),
                           era(2, 3, true, 13, 14), ins(2, 3, true, 15, 16)};
  const auto r = lc::check(h);
  EXPECT_EQ(r.status, verdict::not_linearizable);
  EXPECT_EQ(r.partitions, 3u);
  EXPECT_EQ(r.failing_operation, "contains(1) -> true");
  EXPECT_EQ(r.failing_prefix_ops, 3u);
  EXPECT_NE(r.explanation.find("not linearizable: set history of 8 operations, key 1"), std::string::npos)
      << r.explanation;
  EXPECT_NE(r.explanation.find("3 of the 3 operations on key 1"), std::string::npos) << r.explanation;
  EXPECT_NE(r.explanation.find("set []"), std::string::npos) << r.explanation;
  // Without the bad contains it passes.
  lc::history<Set> fixed = h;
  fixed.erase(fixed.begin() + 5);
  EXPECT_TRUE(lc::check(fixed).ok);
}

TEST(LincheckSet, OtherViolations) {
  // Two successful inserts without an erase.
  EXPECT_FALSE(lc::check(lc::history<Set>{ins(0, 4, true, 1, 2), ins(1, 4, true, 3, 4)}).ok);
  // ...unless they overlap an erase.
  EXPECT_TRUE(lc::check(lc::history<Set>{ins(0, 4, true, 1, 2), era(2, 4, true, 3, 8), ins(1, 4, true, 4, 5)}).ok);
  // Erase of an absent key succeeding.
  EXPECT_FALSE(lc::check(lc::history<Set>{era(0, 4, true, 1, 2)}).ok);
  // Insert failing on an empty set.
  EXPECT_FALSE(lc::check(lc::history<Set>{ins(0, 4, false, 1, 2)}).ok);
}

// ---- agreement with brute force on tiny random histories ----
// The brute force uses each spec's exact apply(state, op); the checker uses
// the abstracted apply(state, op, context) of queue_spec and stack_spec and
// their search order, so this also checks that neither changes a verdict.

// Every order of the operations: is one legal and consistent with real time?
template <class Spec>
bool brute_force_linearizable(const lc::history<Spec>& h) {
  std::vector<std::size_t> perm(h.size());
  std::iota(perm.begin(), perm.end(), std::size_t{0});
  do {
    bool good = true;
    for (std::size_t i = 0; good && i < perm.size(); ++i)
      for (std::size_t j = i + 1; good && j < perm.size(); ++j)
        if (h[perm[j]].response < h[perm[i]].invoke) good = false;  // j precedes i in real time
    auto st = Spec::initial();
    for (std::size_t i = 0; good && i < perm.size(); ++i) good = Spec::apply(st, h[perm[i]]);
    if (good) return true;
  } while (std::next_permutation(perm.begin(), perm.end()));
  return false;
}

// 2-3 threads, 1-3 sequential operations each (at most 6), random intervals
// (ties between threads allowed: they count as overlapping), random results
// from a small domain so that both verdicts are common.
template <class Spec, class MakeOp>
void agree_with_brute_force(MakeOp make_op, int histories) {
  std::mt19937_64 rng(42);
  int yes = 0, no = 0;
  for (int n = 0; n < histories; ++n) {
    lc::history<Spec> h;
    const std::uint32_t threads = 2 + rng() % 2;
    for (std::uint32_t t = 0; t < threads; ++t) {
      lc::timestamp now = rng() % 4;
      for (std::uint64_t k = 0, ops = 1 + rng() % 2 + (threads == 2 ? 1 : 0); k < ops; ++k) {
        const lc::timestamp a = now + 1 + rng() % 3;
        const lc::timestamp b = a + 1 + rng() % 5;
        h.push_back(make_op(rng, t, a, b));
        now = b;
      }
    }
    const bool expected = brute_force_linearizable(h);
    const auto r = lc::check(h);
    ASSERT_EQ(r.ok, expected) << "history " << n << ":\n" << lc::to_string(h) << r.explanation;
    ASSERT_TRUE(r.status == verdict::linearizable || r.status == verdict::not_linearizable);
    (expected ? yes : no)++;
  }
  // Both verdicts occur often (fixed seed: exact counts are reproducible).
  EXPECT_GT(yes, histories / 20);
  EXPECT_GT(no, histories / 20);
}

std::optional<std::int64_t> small_result(std::mt19937_64& rng) {
  const auto v = rng() % 4;
  return v == 0 ? std::nullopt : std::optional<std::int64_t>(static_cast<std::int64_t>(v));
}

TEST(LincheckBruteForce, QueueAgrees) {
  agree_with_brute_force<Q>(
      [](std::mt19937_64& rng, std::uint32_t t, lc::timestamp a, lc::timestamp b) {
        return rng() % 2 ? enq(t, 1 + static_cast<std::int64_t>(rng() % 3), a, b) : deq(t, small_result(rng), a, b);
      },
      3000 / scale_div);
}

TEST(LincheckBruteForce, StackAgrees) {
  agree_with_brute_force<S>(
      [](std::mt19937_64& rng, std::uint32_t t, lc::timestamp a, lc::timestamp b) {
        return rng() % 2 ? push(t, 1 + static_cast<std::int64_t>(rng() % 3), a, b) : pop(t, small_result(rng), a, b);
      },
      3000 / scale_div);
}

TEST(LincheckBruteForce, SetAgreesAndPerKeySplitIsSound) {
  // Brute force sees the whole history over two keys; the checker splits it.
  agree_with_brute_force<Set>(
      [](std::mt19937_64& rng, std::uint32_t t, lc::timestamp a, lc::timestamp b) {
        const auto k = static_cast<Set::kind>(rng() % 3);
        return lc::operation<Set>{t, k, static_cast<std::int64_t>(rng() % 2), rng() % 2 == 0, a, b};
      },
      3000 / scale_div);
}

// ---- bad input ----

TEST(LincheckInput, MalformedHistoriesAreRejected) {
  const auto r = lc::check(lc::history<Q>{enq(0, 1, 5, 5)});
  EXPECT_EQ(r.status, verdict::invalid_history);
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.explanation.find("invalid history: operation #0 (T0 enqueue(1), t=5..5) must return after it is invoked"),
            std::string::npos)
      << r.explanation;
  const auto r2 = lc::check(lc::history<Q>{enq(3, 1, 1, 5), deq(3, 1, 4, 6)});
  EXPECT_EQ(r2.status, verdict::invalid_history);
  EXPECT_NE(r2.explanation.find("thread T3 has overlapping operations"), std::string::npos) << r2.explanation;
}

TEST(LincheckInput, OverLongHistoryIsAClearError) {
  lc::history<Q> h;
  for (lc::timestamp i = 0; i < 65; ++i) h.push_back(enq(0, static_cast<std::int64_t>(i), 2 * i + 1, 2 * i + 2));
  const auto r = lc::check(h);
  EXPECT_EQ(r.status, verdict::too_large);
  EXPECT_EQ(r.steps, 0u);  // refused before searching
  EXPECT_NE(r.explanation.find("history too large to check: 65 operations, more than the bound of 64 per queue history"),
            std::string::npos)
      << r.explanation;
  h.pop_back();
  EXPECT_TRUE(lc::check(h).ok);  // 64 is fine

  // Sets: 128 per key; any number of keys.
  lc::history<Set> s;
  for (lc::timestamp i = 0; i < 129; ++i) s.push_back(has(0, 5, false, 2 * i + 1, 2 * i + 2));
  const auto rs = lc::check(s);
  EXPECT_EQ(rs.status, verdict::too_large);
  EXPECT_NE(rs.explanation.find("129 operations on key 5, more than the bound of 128 per key"), std::string::npos)
      << rs.explanation;
  s.clear();
  for (lc::timestamp i = 0; i < 1000; ++i)
    s.push_back(has(0, static_cast<std::int64_t>(i % 10), false, 2 * i + 1, 2 * i + 2));
  EXPECT_TRUE(lc::check(s).ok);
}

TEST(LincheckInput, SearchBudgetIsAClearErrorNotAHang) {
  // 16 mutually overlapping enqueues, then sequential dequeues of all 16
  // values and one of a value never enqueued: not linearizable, and a worst
  // case for the search, which must refute every order of the enqueues (each
  // a distinct queue state) before it can say so.
  lc::history<Q> h;
  for (lc::timestamp i = 0; i < 16; ++i)
    h.push_back(enq(static_cast<std::uint32_t>(i), static_cast<std::int64_t>(i), i + 1, 100));
  for (lc::timestamp i = 0; i < 16; ++i) h.push_back(deq(16, static_cast<std::int64_t>(i), 200 + 2 * i, 201 + 2 * i));
  h.push_back(deq(16, 99, 300, 301));
  lc::check_options o;
  o.max_steps = 20000;
  const auto r = lc::check(h, o);
  EXPECT_EQ(r.status, verdict::search_budget_exhausted);
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.explanation.find("search budget exhausted: 20000 configurations explored"), std::string::npos)
      << r.explanation;
  EXPECT_NE(r.explanation.find("check_options::max_steps"), std::string::npos);
  // Without the bad dequeue it is linearizable, and queue_spec's search
  // order (enqueues in the order their values are dequeued) finds the order
  // without backtracking: one configuration per operation. Likewise when
  // the values leave in the reverse of their invocation order.
  h.pop_back();
  const auto ok = lc::check(h, o);
  EXPECT_TRUE(ok.ok) << ok.explanation;
  EXPECT_EQ(ok.steps, 32u);
  for (lc::timestamp i = 0; i < 16; ++i) h[16 + i].result = static_cast<std::int64_t>(15 - i);
  const auto rev = lc::check(h, o);
  EXPECT_TRUE(rev.ok) << rev.explanation;
  EXPECT_EQ(rev.steps, 32u);
}

// ---- recorder ----

TEST(LincheckRecorder, TimestampsAreExactAndPerThreadOrdered) {
  std::mutex m;
  std::deque<std::int64_t> d;
  Q::callables c{.enqueue =
                     [&](std::int64_t v) {
                       std::scoped_lock l(m);
                       d.push_back(v);
                     },
                 .dequeue = [&]() -> std::optional<std::int64_t> {
                   std::scoped_lock l(m);
                   if (d.empty()) return std::nullopt;
                   const auto v = d.front();
                   d.pop_front();
                   return v;
                 }};
  const lc::random_options o{.threads = 4, .ops_per_thread = 50, .seed = 7};
  const auto h = lc::run_random<Q>(c, o);
  ASSERT_EQ(h.size(), 200u);
  std::set<lc::timestamp> stamps;
  std::vector<lc::timestamp> last(4, 0);
  std::set<std::int64_t> enqueued;
  for (std::size_t i = 0; i < h.size(); ++i) {
    const auto& op = h[i];
    ASSERT_LT(op.thread, 4u);
    EXPECT_LT(op.invoke, op.response);
    EXPECT_LT(last[op.thread], op.invoke);  // a thread's operations are sequential
    last[op.thread] = op.response;
    stamps.insert(op.invoke);
    stamps.insert(op.response);
    if (i > 0) {
      EXPECT_LT(h[i - 1].invoke, op.invoke);  // merged in invoke order
    }
    if (op.kind == Q::kind::enqueue) {
      EXPECT_TRUE(enqueued.insert(op.argument).second) << "values are distinct";
    }
  }
  EXPECT_EQ(stamps.size(), 400u);  // one counter: all distinct
  EXPECT_EQ(*stamps.begin(), 1u);
  EXPECT_EQ(*stamps.rbegin(), 400u);  // and dense: nothing else ticks it
}

TEST(LincheckRecorder, ExceptionInABodyIsRethrownAfterJoin) {
  EXPECT_THROW(lc::run_threads<Q>(3,
                                  [](lc::thread_log<Q>& log, std::size_t t) {
                                    log.record(Q::kind::enqueue, 1, [] {});
                                    if (t == 1) throw std::runtime_error("boom");
                                  }),
               std::runtime_error);
}

// ---- real threads on correct structures ----

constexpr int real_histories = 500;

// How much concurrency the real-thread runs saw: printed, never asserted
// (it depends on the machine's load and core count).
void report_overlap(const char* what, int with_overlap, std::size_t pairs) {
  std::printf("[ lincheck ] %s: %d of %d histories had overlapping operations (%zu pairs)\n", what, with_overlap,
              real_histories, pairs);
}

lc::random_options shape(int n) {
  return {.threads = 3 + static_cast<std::size_t>(n % 2),
          .ops_per_thread = 8 + static_cast<std::size_t>(n % 5),
          .seed = static_cast<std::uint64_t>(n) + 1,
          .key_range = 3};
}

// A mutex-protected sequence: put() appends at the back; take() removes from
// the end that From names (the *_while_two_or_more ones are the bugs of the
// broken structures below: the other end while it holds two or more).
enum class take_from { front, back, back_while_two_or_more, front_while_two_or_more };

template <class Container, take_from From>
class locked_sequence {
 public:
  void put(std::int64_t v) {
    std::scoped_lock l(m_);
    c_.push_back(v);
  }
  std::optional<std::int64_t> take() {
    std::scoped_lock l(m_);
    if (c_.empty()) return std::nullopt;
    const bool two_or_more = c_.size() >= 2;
    const bool front = From == take_from::front || (From == take_from::back_while_two_or_more && !two_or_more) ||
                       (From == take_from::front_while_two_or_more && two_or_more);
    std::int64_t v;
    if (front) {
      v = c_.front();
      c_.erase(c_.begin());
    } else {
      v = c_.back();
      c_.pop_back();
    }
    return v;
  }

 private:
  std::mutex m_;
  Container c_;
};

// Correct structures as run_random()'s callables: every history must pass.
struct locked_deque_queue : locked_sequence<std::deque<std::int64_t>, take_from::front> {
  Q::callables callables() {
    return {.enqueue = [this](std::int64_t v) { put(v); }, .dequeue = [this] { return take(); }};
  }
};

struct locked_vector_stack : locked_sequence<std::vector<std::int64_t>, take_from::back> {
  S::callables callables() {
    return {.push = [this](std::int64_t x) { put(x); }, .pop = [this] { return take(); }};
  }
};

struct locked_std_set {
  std::mutex m;
  std::set<std::int64_t> s;
  Set::callables callables() {
    return {.insert =
                [this](std::int64_t k) {
                  std::scoped_lock l(m);
                  return s.insert(k).second;
                },
            .erase =
                [this](std::int64_t k) {
                  std::scoped_lock l(m);
                  return s.erase(k) == 1;
                },
            .contains =
                [this](std::int64_t k) {
                  std::scoped_lock l(m);
                  return s.contains(k);
                }};
  }
};

// Runs real_histories random histories, each on a fresh Structure, checks
// that every one passes and reports how much concurrency they saw.
template <class Spec, class Structure>
void expect_real_histories_pass(const char* what) {
  int with_overlap = 0;
  std::size_t pairs = 0;
  for (int n = 0; n < real_histories; ++n) {
    Structure structure;
    auto c = structure.callables();
    const auto h = lc::run_random<Spec>(c, shape(n));
    const auto r = lc::check(h);
    ASSERT_TRUE(r.ok) << "history " << n << ": " << r.explanation << lc::to_string(h);
    const std::size_t p = lc::overlapping_pairs(h);
    pairs += p;
    with_overlap += p > 0 ? 1 : 0;
  }
  report_overlap(what, with_overlap, pairs);
}

TEST(LincheckRealThreads, LockedDequeQueuePasses) {
  expect_real_histories_pass<Q, locked_deque_queue>("LockedDequeQueuePasses");
}

TEST(LincheckRealThreads, LockedVectorStackPasses) {
  expect_real_histories_pass<S, locked_vector_stack>("LockedVectorStackPasses");
}

TEST(LincheckRealThreads, LockedStdSetPasses) {
  expect_real_histories_pass<Set, locked_std_set>("LockedStdSetPasses");
}

// ---- real threads on broken structures: caught in every history ----

constexpr int broken_histories = 20;

// Records broken_histories histories of a broken structure, record(threads)
// with 2 to 4 threads, and checks that every one is caught; then(result,
// threads) checks where.
template <class Record, class Then>
void expect_always_caught(Record record, Then then) {
  for (int n = 0; n < broken_histories; ++n) {
    const std::size_t threads = 2 + static_cast<std::size_t>(n % 3);
    const auto h = record(threads);
    const auto r = lc::check(h);
    ASSERT_EQ(r.status, verdict::not_linearizable) << "history " << n << " not caught:\n" << lc::to_string(h);
    then(r, threads);
  }
}

// The shape of the first two broken structures: T threads each put a_t then
// b_t (10t + 1 and 10t + 2), all concurrently; a barrier; then thread 0 alone
// takes 2T times.
template <class Spec, class Sequence>
lc::history<Spec> two_puts_each_then_drain(Sequence& seq, std::size_t threads, typename Spec::kind put,
                                           typename Spec::kind take) {
  auto take_one = [&] { return seq.take(); };
  std::barrier phase(static_cast<std::ptrdiff_t>(threads));
  return lc::run_threads<Spec>(threads, [&](lc::thread_log<Spec>& log, std::size_t t) {
    for (std::int64_t v : {static_cast<std::int64_t>(10 * t + 1), static_cast<std::int64_t>(10 * t + 2)})
      log.record(put, v, [&] { seq.put(v); });
    phase.arrive_and_wait();
    if (t == 0)
      for (std::size_t k = 0; k < 2 * threads; ++k) log.record(take, 0, take_one);
  });
}

// A queue that takes from the back (LIFO) while it holds two or more
// elements. Shape: T threads each enqueue a_t then b_t, all concurrently; a
// barrier; then thread 0 alone dequeues 2T times. Why every execution is a
// violation: the first dequeue sees all 2T >= 2 elements and returns the
// last one enqueued in lock order, which is some thread s's b_s (its a_s was
// enqueued before it). The dequeues are sequential and follow every enqueue
// in real time, so in any linearization the first dequeue returns the first
// linearized enqueue: b_s would have to be linearized before a_s, which
// returned before b_s was invoked.
TEST(LincheckBroken, QueueTakingFromTheWrongEndIsAlwaysCaught) {
  for (int n = 0; n < broken_histories; ++n) {
    const std::size_t threads = 2 + static_cast<std::size_t>(n % 3);
    locked_sequence<std::deque<std::int64_t>, take_from::back_while_two_or_more> d;
    const auto h = two_puts_each_then_drain<Q>(d, threads, Q::kind::enqueue, Q::kind::dequeue);
    ASSERT_EQ(h.size(), 4 * threads);
    const auto r = lc::check(h);
    ASSERT_EQ(r.status, verdict::not_linearizable) << "history " << n << " not caught:\n" << lc::to_string(h);
    // The first dequeue already fails: every enqueue plus one dequeue.
    EXPECT_EQ(r.failing_prefix_ops, 2 * threads + 1) << r.explanation;
    EXPECT_EQ(r.failing_operation.rfind("dequeue() -> ", 0), 0u) << r.explanation;
  }
}

// A stack that pops from the bottom while it holds two or more elements.
// Same shape and argument: the first pop returns the first element pushed
// in lock order, some a_s; LIFO needs a_s linearized after b_s, which was
// invoked after a_s returned.
TEST(LincheckBroken, StackPoppingTheBottomIsAlwaysCaught) {
  expect_always_caught(
      [](std::size_t threads) {
        locked_sequence<std::deque<std::int64_t>, take_from::front_while_two_or_more> d;  // back is the top
        return two_puts_each_then_drain<S>(d, threads, S::kind::push, S::kind::pop);
      },
      [](const auto& r, std::size_t threads) {
        EXPECT_EQ(r.failing_prefix_ops, 2 * threads + 1) << r.explanation;
        EXPECT_EQ(r.failing_operation.rfind("pop() -> ", 0), 0u) << r.explanation;
      });
}

// A queue whose dequeue forgets to remove the element while two or more are
// queued.
class queue_duplicating_values {
 public:
  void enqueue(std::int64_t v) {
    std::scoped_lock l(m_);
    d_.push_back(v);
  }
  std::optional<std::int64_t> dequeue() {
    std::scoped_lock l(m_);
    if (d_.empty()) return std::nullopt;
    const auto v = d_.front();
    if (d_.size() < 2) d_.pop_front();  // the bug: >= 2 leaves it there
    return v;
  }

 private:
  std::mutex m_;
  std::deque<std::int64_t> d_;
};

// Shape: every thread enqueues two distinct values then dequeues
// twice, all concurrently, no barrier. Why every execution is a violation:
// no dequeue runs before some thread's two enqueues, so the first dequeue
// sees >= 2 elements; from then on the size never drops below 2 (only a
// dequeue at size 1 removes), so all 2T >= 4 dequeues return the same front
// value, and a value enqueued once cannot be dequeued twice.
TEST(LincheckBroken, QueueDuplicatingValuesIsAlwaysCaught) {
  expect_always_caught(
      [](std::size_t threads) {
        queue_duplicating_values q;
        auto dequeue = [&q] { return q.dequeue(); };
        return lc::run_threads<Q>(threads, [&](lc::thread_log<Q>& log, std::size_t t) {
          for (std::int64_t v : {static_cast<std::int64_t>(10 * t + 1), static_cast<std::int64_t>(10 * t + 2)})
            log.record(Q::kind::enqueue, v, [&] { q.enqueue(v); });
          log.record(Q::kind::dequeue, 0, dequeue);
          log.record(Q::kind::dequeue, 0, dequeue);
        });
      },
      [](const auto& r, std::size_t) {
        EXPECT_EQ(r.failing_operation.rfind("dequeue() -> ", 0), 0u) << r.explanation;
      });
}

// A set whose erase reports success but leaves the key.
class set_whose_erase_forgets {
 public:
  bool insert(std::int64_t k) {
    std::scoped_lock l(m_);
    return s_.insert(k).second;
  }
  bool erase(std::int64_t k) {
    std::scoped_lock l(m_);
    return s_.contains(k);  // the bug: reports removal, removes nothing
  }
  bool contains(std::int64_t k) {
    std::scoped_lock l(m_);
    return s_.contains(k);
  }

 private:
  std::mutex m_;
  std::set<std::int64_t> s_;
};

// Shape: thread t
// works on its own key t, inserting, erasing and then asking contains, all
// threads concurrently on one shared set. Why every execution is a
// violation: contains(t) returns true after the completed erase(t) -> true
// with no other operation on key t; the per-key check isolates it.
TEST(LincheckBroken, SetWhoseEraseForgetsIsAlwaysCaught) {
  expect_always_caught(
      [](std::size_t threads) {
        set_whose_erase_forgets s;
        return lc::run_threads<Set>(threads, [&](lc::thread_log<Set>& log, std::size_t t) {
          const auto k = static_cast<std::int64_t>(t);
          log.record(Set::kind::insert, k, [&] { return s.insert(k); });
          log.record(Set::kind::erase, k, [&] { return s.erase(k); });
          log.record(Set::kind::contains, k, [&] { return s.contains(k); });
        });
      },
      [](const auto& r, std::size_t threads) {
        EXPECT_EQ(r.partitions, threads);
        EXPECT_EQ(r.failing_prefix_ops, 3u) << r.explanation;
        EXPECT_EQ(r.failing_operation, "contains(0) -> true") << r.explanation;  // key 0 is checked first
      });
}

}  // namespace
