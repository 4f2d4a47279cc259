// Stress tests for quiesce/disruptor.hpp: long runs of every topology on
// tiny rings (2 slots: every event wraps the ring), three producers under
// contention with batch claims and try_next, and repeated shutdown/halt
// under load. Every handler checks exactly-once, in-order delivery (per
// producer for the multi-producer runs) and that upstream stages' writes
// are visible. Counts scale down under sanitizers (each test < 20 s under
// TSan on 2 CPUs).
#include <quiesce/disruptor.hpp>

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

namespace {

using namespace quiesce::disruptor;

constexpr bool optimised =
#ifdef NDEBUG
    true;
#else
    false;
#endif
constexpr std::int64_t scale = quiesce::detail::structures::tsan ? 2 : optimised ? 1 : 5;

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

TEST(DisruptorStress, DiamondOnATwoSlotRing) {
  const std::int64_t n = 150'000 / scale;
  stage_checker a{0, {}}, b{1, {}}, c{2, {0, 1}};
  disruptor<event, single_producer_sequencer<yielding_wait_strategy>> d(2, make_event);
  d.handle_events_with(a, b).then(c);
  auto& ring = d.start();
  produce(ring, n);
  d.shutdown();
  for (auto* s : {&a, &b, &c}) {
    EXPECT_EQ(s->errors, 0);
    EXPECT_EQ(s->expected, n);
  }
}

TEST(DisruptorStress, PipelineOnAFourSlotRingWithBatchLimit) {
  const std::int64_t n = 150'000 / scale;
  stage_checker a{0, {}}, b{1, {0}}, c{2, {1}};
  disruptor<event, single_producer_sequencer<lite_blocking_wait_strategy>> d(4, make_event);
  d.set_max_batch_size(3);
  d.handle_events_with(a).then(b).then(c);
  auto& ring = d.start();
  produce(ring, n);
  d.shutdown();
  for (auto* s : {&a, &b, &c}) {
    EXPECT_EQ(s->errors, 0);
    EXPECT_EQ(s->expected, n);
  }
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
  const int rounds = quiesce::detail::structures::tsan ? 10 : 50;
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
