// Stress tests for quiesce/disruptor.hpp: long runs of every topology on
// tiny rings (2 slots: every event wraps the ring), three producers under
// contention with batch claims and try_next, and repeated shutdown/halt
// under load. Every handler checks exactly-once, in-order delivery (per
// producer for the multi-producer runs) and that upstream stages' writes
// are visible. Counts scale down under sanitizers (each test < 20 s under
// TSan on 2 CPUs).
#include <quiesce/disruptor.hpp>

#include <gtest/gtest.h>

#include "support/stress.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>
#include <initializer_list>
#include <thread>
#include <vector>

namespace {

using namespace quiesce::disruptor;

constexpr std::int64_t scale = quiesce::test::ndebug_scale(2, 5);  // tsan, no NDEBUG

struct event {
  std::int64_t value = -1;
  std::array<std::int64_t, 3> stage{-1, -1, -1};
  std::int64_t producer = -1, producer_seq = -1;
  std::array<std::int64_t, 4> payload{};  // all = value: a torn event is caught
};
event make_event() { return {}; }
void fill(event& e, std::int64_t v) {
  e.value = v;
  e.payload.fill(v);
}

struct stage_checker {
  int stage = 0;
  std::vector<int> upstream;
  std::int64_t expected = 0, errors = 0;
  void on_event(event& e, std::int64_t seq, bool) {
    bool ok = seq == expected && e.value == seq;
    for (std::int64_t w : e.payload) ok = ok && w == seq;
    for (int u : upstream) ok = ok && e.stage[u] == seq;
    errors += ok ? 0 : 1;
    e.stage[stage] = seq;
    expected = seq + 1;
  }
};

template <class Ring>
void produce(Ring& ring, std::int64_t n) {
  // Mixed claims: single events, batches of up to the ring size.
  std::int64_t i = 0;
  while (i < n) {
    const std::int64_t batch = std::min<std::int64_t>({n - i, 1 + (i % 3), static_cast<std::int64_t>(ring.buffer_size())});
    const std::int64_t hi = ring.next(batch);
    for (std::int64_t s = hi - batch + 1; s <= hi; ++s) fill(ring[s], s);
    ring.publish(hi - batch + 1, hi);
    i += batch;
  }
}

// Starts d, produces n events, shuts it down: every stage saw 0 .. n-1 once,
// in order and intact.
template <class Disruptor>
void produce_and_expect_clean(Disruptor& d, std::int64_t n, std::initializer_list<stage_checker*> stages) {
  auto& ring = d.start();
  produce(ring, n);
  d.shutdown();
  for (auto* s : stages) {
    EXPECT_EQ(s->errors, 0);
    EXPECT_EQ(s->expected, n);
  }
}

TEST(DisruptorStress, DiamondOnATwoSlotRing) {
  const std::int64_t n = 150'000 / scale;
  stage_checker a{0, {}}, b{1, {}}, c{2, {0, 1}};
  disruptor<event, single_producer_sequencer<yielding_wait_strategy>> d(2, make_event);
  d.handle_events_with(a, b).then(c);
  produce_and_expect_clean(d, n, {&a, &b, &c});
}

TEST(DisruptorStress, PipelineOnAFourSlotRingWithBatchLimit) {
  const std::int64_t n = 150'000 / scale;
  stage_checker a{0, {}}, b{1, {0}}, c{2, {1}};
  disruptor<event, single_producer_sequencer<lite_blocking_wait_strategy>> d(4, make_event);
  d.set_max_batch_size(3);
  d.handle_events_with(a).then(b).then(c);
  produce_and_expect_clean(d, n, {&a, &b, &c});
}

struct per_producer {
  std::array<std::int64_t, 3> next{0, 0, 0};
  std::int64_t expected = 0, errors = 0;
  void on_event(const event& e, std::int64_t seq, bool) {
    bool ok = seq == expected && e.producer >= 0 && e.producer < 3;
    if (ok) ok = e.producer_seq == next[e.producer];
    for (std::int64_t w : e.payload) ok = ok && w == e.producer_seq;
    errors += ok ? 0 : 1;
    if (e.producer >= 0 && e.producer < 3) next[e.producer] = e.producer_seq + 1;
    expected = seq + 1;
  }
};

template <class W>
void three_producers(std::size_t size, std::int64_t per) {
  per_producer c1, c2;
  disruptor<event, multi_producer_sequencer<W>> d(size, make_event);
  d.handle_events_with(c1, c2);
  auto& ring = d.start();
  std::vector<std::thread> producers;
  for (int p = 0; p < 3; ++p)
    producers.emplace_back([&, p] {
      std::int64_t k = 0;
      while (k < per) {
        // p 0: single next(); p 1: batches of 2 with next(n); p 2: try_next
        std::int64_t lo, hi;
        if (p == 2) {
          const auto got = ring.try_next(1);
          if (!got) {
            std::this_thread::yield();
            continue;
          }
          lo = hi = *got;
        } else {
          const std::int64_t n = (p == 1 && k + 1 < per && size >= 2) ? 2 : 1;
          hi = ring.next(n);
          lo = hi - n + 1;
        }
        for (std::int64_t s = lo; s <= hi; ++s) {
          event& e = ring[s];
          e.producer = p;
          e.producer_seq = k;
          e.payload.fill(k);
          ++k;
        }
        ring.publish(lo, hi);
      }
    });
  for (auto& t : producers) t.join();
  d.shutdown();
  for (auto* c : {&c1, &c2}) {
    EXPECT_EQ(c->errors, 0);
    EXPECT_EQ(c->expected, 3 * per);
    EXPECT_EQ(c->next, (std::array<std::int64_t, 3>{per, per, per}));
  }
}

TEST(DisruptorStress, ThreeProducersTwoConsumersContended) {
  three_producers<yielding_wait_strategy>(2, 100'000 / scale);
  three_producers<yielding_wait_strategy>(8, 100'000 / scale);
  three_producers<blocking_wait_strategy>(4, 50'000 / scale);
}

TEST(DisruptorStress, RepeatedShutdownAndHaltUnderLoad) {
  const int rounds = quiesce::detail::base::tsan ? 10 : 50;
  for (int round = 0; round < rounds; ++round) {
    stage_checker a{0, {}}, b{1, {0}};
    std::int64_t published = 0;
    {
      disruptor<event, single_producer_sequencer<yielding_wait_strategy>> d(4, make_event);
      d.handle_events_with(a).then(b);
      auto& ring = d.start();
      std::atomic<bool> stop{false};
      std::thread producer([&] {
        std::int64_t i = 0;
        while (!stop.load(std::memory_order_relaxed) || i < 100) {
          const auto s = ring.try_next();
          if (!s) {
            if (round % 2 == 1 && stop.load(std::memory_order_relaxed)) break;  // halted consumers: give up
            std::this_thread::yield();
            continue;
          }
          fill(ring[*s], *s);
          ring.publish(*s);
          ++i;
        }
        published = i;
      });
      while (ring.cursor() < 100) std::this_thread::yield();  // under load
      if (round % 2 == 0) {
        stop.store(true);
        producer.join();
        d.shutdown();  // drains: everything handled
        EXPECT_EQ(b.expected, published);
      } else {
        d.halt();  // stops mid-stream
        stop.store(true);
        producer.join();
        EXPECT_LE(b.expected, a.expected);
        EXPECT_LE(a.expected, published);
      }
    }
    EXPECT_EQ(a.errors, 0);
    EXPECT_EQ(b.errors, 0);
  }
}

}  // namespace

// LMAX's dynamic consumers: consumers (gating sequences) join and leave
// while producers run. A permanent consumer checks every event exactly once
// and in order; a churn thread repeatedly adds a fresh sequence with
// add_gating_sequences, reads the next few events through its own barrier
// (each must be intact: value and payload equal to its sequence, so an
// event the producer overwrote before the joined consumer passed it is
// caught), then removes the sequence. Producers must never overwrite a slot
// a joined consumer still needs, and never wait for one that left.
template <class Sequencer>
void consumers_join_and_leave(std::size_t size, int producers, std::int64_t n) {
  stage_checker keep{0, {}};
  disruptor<event, Sequencer> d(size, make_event);
  d.handle_events_with(keep);
  auto& ring = d.start();
  std::atomic<bool> produced{false};
  std::int64_t joins = 0, seen = 0, bad = 0;
  std::thread churn([&] {
    while (!produced.load(std::memory_order_acquire)) {
      sequence mine;
      auto barrier = ring.new_barrier();
      ring.add_gating_sequences({&mine});
      ++joins;
      std::int64_t next = mine.get() + 1;  // the present: the cursor when it joined
      const std::int64_t last = std::min(next + 2 * static_cast<std::int64_t>(size), n - 1);
      while (next <= last) {  // every sequence up to n - 1 is published: no endless wait
        const std::int64_t avail = std::min(barrier.wait_for(next), last);
        for (; next <= avail; ++next) {
          const event& e = ring[next];
          bool ok = e.value == next;
          for (std::int64_t w : e.payload) ok = ok && w == next;
          bad += ok ? 0 : 1;
          ++seen;
        }
        mine.set(avail);
      }
      EXPECT_TRUE(ring.remove_gating_sequence(mine));
      EXPECT_FALSE(ring.remove_gating_sequence(mine));
    }
  });
  std::vector<std::thread> ps;
  for (int p = 0; p < producers; ++p) ps.emplace_back([&] { produce(ring, n / producers); });
  for (auto& t : ps) t.join();
  produced.store(true, std::memory_order_release);
  churn.join();
  d.shutdown();
  EXPECT_EQ(keep.errors, 0);
  EXPECT_EQ(keep.expected, n);
  EXPECT_EQ(bad, 0) << "a consumer that joined read an event overwritten or torn (" << seen << " read, " << joins
                    << " joins)";
  EXPECT_GT(joins, 0);
  EXPECT_EQ(ring.sequencer().gating_sequences().size(), 1u) << "only the permanent consumer gates at the end";
}

TEST(DisruptorStress, ConsumersJoinAndLeaveWhileOneProducerRuns) {
  consumers_join_and_leave<single_producer_sequencer<yielding_wait_strategy>>(8, 1, 200'000 / scale);
  consumers_join_and_leave<single_producer_sequencer<yielding_wait_strategy>>(2, 1, 100'000 / scale);
}

TEST(DisruptorStress, ConsumersJoinAndLeaveWhileTwoProducersRun) {
  consumers_join_and_leave<multi_producer_sequencer<yielding_wait_strategy>>(8, 2, 200'000 / scale);
  consumers_join_and_leave<multi_producer_sequencer<yielding_wait_strategy>>(4, 2, 100'000 / scale);
}
