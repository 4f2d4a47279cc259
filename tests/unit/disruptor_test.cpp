// Unit tests for quiesce/disruptor.hpp: layout, bad input, the sequencers'
// claim/publish/capacity rules, barriers and alerts, every wait strategy,
// every topology of the DSL (unicast, pipeline, multicast, diamond, after,
// 3 producers) with exactly-once-in-order checks inside the handlers, small
// rings (2 and 4 slots: every event wraps), batch sizes and hooks, the
// polling consumer, exception handlers and batch rewind, timeouts, halt and
// drain under load, pinning. Longer runs under contention:
// tests/stress/disruptor_stress_test.cpp; fatal misuse:
// tests/misuse/disruptor_misuse_test.cpp.
#include <quiesce/disruptor.hpp>
#include <quiesce/numa/affinity.hpp>
#include <quiesce/numa/placement.hpp>
#include <quiesce/numa/topology.hpp>

#include <gtest/gtest.h>

#include "support/stress.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace quiesce::disruptor;
using namespace std::chrono_literals;

constexpr std::int64_t scale = quiesce::test::ndebug_scale(20, 4);  // tsan, no NDEBUG

struct event {
  std::int64_t value = -1;
  std::array<std::int64_t, 3> stage{-1, -1, -1};  // written by pipeline/diamond stages
  std::int64_t producer = -1;
  std::int64_t producer_seq = -1;
};
event make_event() { return event{}; }

void set_value(event& e, std::int64_t, std::int64_t v) { e.value = v; }

// Checks that it sees sequences 0, 1, 2, ... each once, in order, with the
// value the producer wrote (value == seq), and (for a stage after others)
// that every upstream stage has written its mark on the event.
struct checker {
  int stage = 0;              // the mark this handler writes: event.stage[stage] = seq
  std::vector<int> upstream;  // stages that must have marked the event first
  std::int64_t expected = 0;
  std::int64_t errors = 0;
  std::int64_t count = 0;
  std::int64_t end_of_batch_flags = 0;
  std::string first_error;

  checker(int s = 0, std::vector<int> up = {}) : stage(s), upstream(std::move(up)) {}
  void fail(std::string what) {
    if (errors++ == 0) first_error = std::move(what);
  }
  void on_event(event& e, std::int64_t seq, bool end_of_batch) {
    if (seq != expected) fail("sequence " + std::to_string(seq) + " where " + std::to_string(expected) + " was due");
    if (e.value != seq) fail("event " + std::to_string(seq) + " holds value " + std::to_string(e.value));
    for (int u : upstream)
      if (e.stage[u] != seq) fail("event " + std::to_string(seq) + " not yet marked by stage " + std::to_string(u));
    e.stage[stage] = seq;
    expected = seq + 1;
    ++count;
    end_of_batch_flags += end_of_batch ? 1 : 0;
  }
};

void expect_clean(const checker& c, std::int64_t n) {
  EXPECT_EQ(c.errors, 0) << c.first_error;
  EXPECT_EQ(c.count, n);
  EXPECT_EQ(c.expected, n);
}

// Starts d, publishes the values 0 .. n-1 one event at a time, and shuts it
// down (every handler has seen every event).
template <class Disruptor>
void publish_values(Disruptor& d, std::int64_t n) {
  auto& ring = d.start();
  for (std::int64_t i = 0; i < n; ++i) ring.publish_event(set_value, i);
  d.shutdown();
}

// Wait strategies with default constructors, for the typed tests.
struct timeout_blocking : timeout_blocking_wait_strategy {
  timeout_blocking() : timeout_blocking_wait_strategy(1ms) {}
};
struct phased_blocking : phased_backoff_wait_strategy<blocking_wait_strategy> {
  phased_blocking() : phased_backoff_wait_strategy(1us, 20us) {}
};
struct phased_lite : phased_backoff_wait_strategy<lite_blocking_wait_strategy> {
  phased_lite() : phased_backoff_wait_strategy(1us, 20us) {}
};
struct phased_sleeping : phased_backoff_wait_strategy<sleeping_wait_strategy> {
  phased_sleeping() : phased_backoff_wait_strategy(1us, 20us) {}
};

// ---------------------------------------------------------------- layout ----
static_assert(sizeof(sequence) == 128 && alignof(sequence) == 128);
static_assert(sequencer<single_producer_sequencer<busy_spin_wait_strategy>>);
static_assert(sequencer<multi_producer_sequencer<blocking_wait_strategy>>);
static_assert(wait_strategy<timeout_blocking> && wait_strategy<phased_sleeping>);

TEST(DisruptorSequence, StartsAtMinusOneAndCounts) {
  sequence s;
  EXPECT_EQ(s.get(), -1);
  s.set(5);
  EXPECT_EQ(s.get(), 5);
  EXPECT_EQ(s.add_and_get(3), 8);
  EXPECT_EQ(s.get_and_add(2), 8);
  EXPECT_EQ(s.increment_and_get(), 11);
  EXPECT_TRUE(s.compare_and_set(11, 20));
  EXPECT_FALSE(s.compare_and_set(11, 30));
  s.set_volatile(21);
  EXPECT_EQ(s.get(), 21);
  sequence a{4}, b{2}, c{9};
  const sequence* all[] = {&a, &b, &c};
  EXPECT_EQ(minimum_sequence(all), 2);
  EXPECT_EQ(minimum_sequence(all, 1), 1);
  EXPECT_EQ(minimum_sequence({}, 7), 7);
}

TEST(DisruptorSequence, EachSequenceOwnsItsPairOfLines) {
  sequence pair[2];
  const auto a = reinterpret_cast<std::uintptr_t>(&pair[0]);
  const auto b = reinterpret_cast<std::uintptr_t>(&pair[1]);
  EXPECT_EQ(a % 128, 0u);
  EXPECT_EQ(b - a, 128u);
}

// The producer reads the ring's and the sequencer's own fields on every
// claim: no neighbour that another thread writes (a handler declared beside
// the ring on the producer's stack, say) may share their 128-byte blocks.
template <class Ring>
void expect_ring_owns_its_blocks() {
  static_assert(alignof(Ring) == 128 && sizeof(Ring) % 128 == 0);
  static_assert(alignof(typename Ring::sequencer_type) == 128 && sizeof(typename Ring::sequencer_type) % 128 == 0);
  struct neighbours {
    std::int64_t before = 0;
    Ring ring{8, [] { return event{}; }};
    std::int64_t after = 0;
  };
  auto n = std::make_unique<neighbours>();
  const auto block = [](const void* p) { return reinterpret_cast<std::uintptr_t>(p) / 128; };
  const auto first = block(&n->ring);
  const auto last = block(reinterpret_cast<const char*>(&n->ring) + sizeof(Ring) - 1);
  for (const std::int64_t* other : {&n->before, &n->after}) EXPECT_TRUE(block(other) < first || block(other) > last);
}

TEST(DisruptorRingBuffer, RingAndSequencerShareNoBlockWithTheirNeighbours) {
  expect_ring_owns_its_blocks<ring_buffer<event, single_producer_sequencer<busy_spin_wait_strategy>>>();
  expect_ring_owns_its_blocks<ring_buffer<event, multi_producer_sequencer<busy_spin_wait_strategy>>>();
  expect_ring_owns_its_blocks<ring_buffer<event, single_producer_sequencer<blocking_wait_strategy>>>();
}

// ------------------------------------------------------------- bad input ----
using sp_ring = ring_buffer<event, single_producer_sequencer<blocking_wait_strategy>>;
using mp_ring = ring_buffer<event, multi_producer_sequencer<blocking_wait_strategy>>;

TEST(DisruptorBadInput, RingSizeMustBeAPowerOfTwo) {
  for (std::size_t bad : {std::size_t{0}, std::size_t{3}, std::size_t{1000}, std::size_t{1} << 31}) {
    try {
      sp_ring r(bad, make_event);
      FAIL() << "size " << bad << " accepted";
    } catch (const std::invalid_argument& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find(std::to_string(bad)), std::string::npos) << what;
      EXPECT_TRUE(what.find("power of two") != std::string::npos || what.find("too large") != std::string::npos) << what;
    }
  }
  EXPECT_THROW(mp_ring(6, make_event), std::invalid_argument);
  try {
    sp_ring r(1000, make_event);
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("1024"), std::string::npos) << "the message should suggest 1024: " << e.what();
  }
  EXPECT_NO_THROW(sp_ring(1, make_event));
  EXPECT_NO_THROW(sp_ring(2, make_event));
}

TEST(DisruptorBadInput, ClaimsMustFitTheRing) {
  sp_ring sp(8, make_event);
  mp_ring mp(8, make_event);
  EXPECT_THROW(sp.next(0), std::invalid_argument);
  EXPECT_THROW(sp.next(9), std::invalid_argument);
  EXPECT_THROW((void)sp.try_next(-1), std::invalid_argument);
  EXPECT_THROW(mp.next(9), std::invalid_argument);
  EXPECT_THROW((void)mp.try_next(0), std::invalid_argument);
  std::vector<std::int64_t> too_many(9, 1);
  EXPECT_THROW(sp.publish_events(set_value, too_many), std::invalid_argument);
  EXPECT_EQ(sp.cursor(), -1);  // nothing claimed by the failed calls
  EXPECT_EQ(sp.next(8), 7);
}

TEST(DisruptorBadInput, StrategyArguments) {
  EXPECT_THROW(timeout_blocking_wait_strategy(0ns), std::invalid_argument);
  EXPECT_THROW(sleeping_wait_strategy(-1), std::invalid_argument);
  EXPECT_THROW((phased_backoff_wait_strategy<blocking_wait_strategy>(10us, 1us)), std::invalid_argument);
  EXPECT_THROW(eventually_give_up_batch_rewind_strategy(0), std::invalid_argument);
}

struct noop {
  void on_event(event&, std::int64_t, bool) {}
};

TEST(DisruptorBadInput, DslMisuseThrows) {
  disruptor<event, single_producer_sequencer<blocking_wait_strategy>> d(8, make_event);
  noop a, b, never_added;
  EXPECT_THROW(d.start(), std::logic_error);  // no handlers
  EXPECT_THROW(d.drain(), std::logic_error);  // not running
  EXPECT_THROW(d.set_max_batch_size(0), std::invalid_argument);
  d.handle_events_with(a);
  EXPECT_THROW(d.handle_events_with(a), std::invalid_argument);  // twice
  EXPECT_THROW(d.after(never_added), std::invalid_argument);
  EXPECT_THROW(d.set_placement(processor_placement::on_cpus({1 << 20})), std::invalid_argument);
  EXPECT_THROW(d.set_placement(processor_placement::on_cpus({})), std::invalid_argument);
  EXPECT_THROW(d.set_placement(processor_placement::on_node(4096)), std::invalid_argument);
  d.set_placement(processor_placement::unpinned());
  d.start();
  EXPECT_THROW(d.start(), std::logic_error);  // twice
  EXPECT_THROW(d.handle_events_with(b), std::logic_error);
  d.shutdown();
  EXPECT_THROW(d.drain(), std::logic_error);  // halted
}

TEST(DisruptorBadInput, ProcessorBatchSizeZeroAndRunningTwice) {
  sp_ring ring(8, make_event);
  noop h;
  using proc = batch_event_processor<event, single_producer_sequencer<blocking_wait_strategy>, noop>;
  EXPECT_THROW(proc(ring, h, {}, 0), std::invalid_argument);
  proc p(ring, h);
  std::thread t([&] { p.run(); });
  while (!p.is_running()) std::this_thread::yield();
  EXPECT_THROW(p.run(), std::logic_error);
  p.halt();
  t.join();
  EXPECT_FALSE(p.is_running());
}

TEST(DisruptorBadInput, RingOnANodeThatDoesNotExist) {
  EXPECT_THROW(sp_ring(8, make_event, ring_memory{4096}), std::invalid_argument);
  sp_ring on0(8, make_event, ring_memory{0});
  EXPECT_EQ(on0.node(), 0);
  EXPECT_EQ(on0[3].value, -1);
}

// The sequencer's shared fields follow the ring's node; without one they are
// on the heap, each field group on its own 128-byte block. (Page placement on
// several nodes: tests/multinode/disruptor_multinode_test.cpp.)
TEST(DisruptorRingBuffer, SequencerFieldsFollowTheRingsNode) {
  sp_ring on0(8, make_event, ring_memory{0});
  EXPECT_EQ(on0.sequencer().node(), 0);
  mp_ring mp_on0(8, make_event, ring_memory{0});
  EXPECT_EQ(mp_on0.sequencer().node(), 0);
  const auto blocks = mp_on0.sequencer().memory_blocks();
  ASSERT_EQ(blocks.size(), 2u);
  EXPECT_EQ(blocks[1].size(), 8 * sizeof(std::int32_t));
  for (const auto& b : blocks)
    for (int n : quiesce::numa::nodes_of_range(b.data(), b.size())) EXPECT_EQ(n, 0);
  sp_ring heap(8, make_event);
  EXPECT_EQ(heap.sequencer().node(), -1);
  for (const auto& b : heap.sequencer().memory_blocks()) EXPECT_EQ(reinterpret_cast<std::uintptr_t>(b.data()) % 128, 0u);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(&heap.sequencer().cursor_sequence()) % 128, 0u);
  // Standalone sequencers take the placement too, and reject a missing node.
  EXPECT_THROW(single_producer_sequencer<busy_spin_wait_strategy>(8, ring_memory{4096}), std::invalid_argument);
  EXPECT_THROW(multi_producer_sequencer<busy_spin_wait_strategy>(8, ring_memory{4096}), std::invalid_argument);
  single_producer_sequencer<busy_spin_wait_strategy> s(8, ring_memory{0}, 4);  // then the strategy's argument
  EXPECT_EQ(s.node(), 0);
  EXPECT_EQ(s.next(2), 1);
  s.publish(0, 1);
  EXPECT_EQ(s.cursor(), 1);
}

// ----------------------------------------------------------- ring buffer ----
TEST(DisruptorRingBuffer, FactoryBuildsEveryEventOnceAndEventsAreReused) {
  int built = 0;
  ring_buffer<event, single_producer_sequencer<busy_spin_wait_strategy>> ring(4, [&] {
    ++built;
    return event{};
  });
  EXPECT_EQ(built, 4);
  EXPECT_EQ(ring.buffer_size(), 4u);
  EXPECT_EQ(&ring[0], &ring[4]);
  EXPECT_EQ(&ring[1], &ring[-3]);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(ring.data()) % 128, 0u);
}

TEST(DisruptorRingBuffer, FactoryThatThrowsLeaksNothing) {
  int built = 0;
  auto bad = [&] {
    if (++built == 3) throw std::runtime_error("factory");
    return event{};
  };
  EXPECT_THROW((ring_buffer<event, single_producer_sequencer<busy_spin_wait_strategy>>(8, bad)), std::runtime_error);
}

TEST(DisruptorRingBuffer, SingleProducerCapacityAndTryNext) {
  ring_buffer<event, single_producer_sequencer<busy_spin_wait_strategy>> ring(4, make_event);
  sequence consumer;
  ring.add_gating_sequences({&consumer});
  EXPECT_EQ(ring.remaining_capacity(), 4);
  EXPECT_EQ(ring.next(), 0);
  EXPECT_EQ(ring.remaining_capacity(), 3);
  EXPECT_EQ(*ring.try_next(3), 3);
  EXPECT_EQ(ring.remaining_capacity(), 0);
  EXPECT_FALSE(ring.try_next());
  EXPECT_FALSE(ring.has_available_capacity(1));
  ring.publish(0, 3);
  EXPECT_EQ(ring.cursor(), 3);
  EXPECT_TRUE(ring.is_available(2));
  consumer.set(1);  // consumed 0 and 1
  EXPECT_EQ(ring.remaining_capacity(), 2);
  EXPECT_EQ(*ring.try_next(2), 5);
  EXPECT_FALSE(ring.try_next());
  ring.publish(4, 5);
  EXPECT_TRUE(ring.remove_gating_sequence(consumer));
  EXPECT_FALSE(ring.remove_gating_sequence(consumer));
  EXPECT_TRUE(ring.try_next(4));  // no gating: never full
}

// The producer's write prefetch (ring_buffer's prefetch_ahead) touches the
// slot prefetch_slots past each claim only when the sequencer's
// cached_free() says a lap ago's event in it was consumed. It must never
// say so of a slot a consumer may still read: for every s it accepts,
// s - size <= the slowest consumer's real sequence. Both sequencers, as the
// ring fills, drains and wraps with the consumer lagging by every amount.
template <class Ring>
void check_cached_free(Ring& ring, sequence& consumer) {
  const auto size = static_cast<std::int64_t>(ring.buffer_size());
  std::int64_t claimed = -1;
  int accepted = 0, refused = 0;
  for (std::int64_t round = 0; round < 300; ++round) {
    for (std::int64_t k = 0; k <= round % (size + 1); ++k) {  // 1 .. size+1 claims, as many as fit
      const std::optional<std::int64_t> hi = ring.try_next();
      if (!hi) break;
      ring.publish(*hi);
      claimed = *hi;
    }
    for (std::int64_t s = claimed - size; s <= claimed + 2 * size; ++s) {
      if (ring.sequencer().cached_free(s)) {
        EXPECT_LE(s - size, consumer.get()) << "slot " << s << " is still held by the consumer";
        ++accepted;
      } else {
        ++refused;
      }
    }
    consumer.set(std::min(claimed, consumer.get() + 1 + (round * 7) % size));  // consume some
  }
  EXPECT_GT(accepted, 0);  // it does let the producer prefetch
  EXPECT_GT(refused, 0);   // and holds it back near a full ring
}

TEST(DisruptorRingBuffer, CachedFreeNeverNamesASlotAConsumerMayRead) {
  sp_ring sp(16, make_event);
  sequence sp_consumer;
  sp.add_gating_sequences({&sp_consumer});
  check_cached_free(sp, sp_consumer);
  mp_ring mp(16, make_event);
  sequence mp_consumer;
  mp.add_gating_sequences({&mp_consumer});
  check_cached_free(mp, mp_consumer);
}

// About one and a half cache lines of events ahead, at least the next slot.
TEST(DisruptorRingBuffer, PrefetchDistanceIsAboutALineAndAHalf) {
  struct e8 { std::int64_t a; };
  struct e16 { std::int64_t a, b; };
  struct e64 { char c[64]; };
  struct e96 { char c[96]; };
  struct e200 { char c[200]; };
  EXPECT_EQ((ring_buffer<e8, single_producer_sequencer<busy_spin_wait_strategy>>::prefetch_slots), 12);
  EXPECT_EQ((ring_buffer<e16, single_producer_sequencer<busy_spin_wait_strategy>>::prefetch_slots), 6);
  EXPECT_EQ((ring_buffer<e64, single_producer_sequencer<busy_spin_wait_strategy>>::prefetch_slots), 1);
  EXPECT_EQ((ring_buffer<e96, single_producer_sequencer<busy_spin_wait_strategy>>::prefetch_slots), 1);
  EXPECT_EQ((ring_buffer<e200, multi_producer_sequencer<busy_spin_wait_strategy>>::prefetch_slots), 1);
}

TEST(DisruptorRingBuffer, MultiProducerPublishesOutOfOrder) {
  mp_ring ring(8, make_event);
  sequence consumer;
  ring.add_gating_sequences({&consumer});
  const std::int64_t a = ring.next(), b = ring.next(), c = ring.next();
  EXPECT_EQ(a, 0);
  EXPECT_EQ(c, 2);
  EXPECT_EQ(ring.cursor(), 2);  // claimed, not published
  ring.publish(c);
  ring.publish(a);
  auto barrier = ring.new_barrier();
  EXPECT_FALSE(ring.is_available(b));
  EXPECT_TRUE(ring.is_available(c));
  EXPECT_EQ(barrier.wait_for(0), 0);  // 1 missing: only 0 is readable
  EXPECT_EQ(ring.sequencer().highest_published_sequence(0, 2), 0);
  ring.publish(b);
  EXPECT_EQ(barrier.wait_for(0), 2);
  EXPECT_EQ(ring.remaining_capacity(), 5);
  EXPECT_EQ(*ring.try_next(5), 7);
  EXPECT_FALSE(ring.try_next());
  ring.publish(3, 7);
  consumer.set(7);
  // second lap: the slot flags hold the lap number
  EXPECT_EQ(ring.next(), 8);
  EXPECT_FALSE(ring.is_available(8));
  EXPECT_TRUE(ring.is_available(7));
  ring.publish(8);
  EXPECT_TRUE(ring.is_available(8));
  EXPECT_FALSE(ring.is_available(0));  // overwritten lap
}

TEST(DisruptorRingBuffer, TranslatorsAndBatchPublishing) {
  ring_buffer<event, single_producer_sequencer<busy_spin_wait_strategy>> ring(8, make_event);
  ring.publish_event(set_value, std::int64_t{0});
  ring.publish_event([](event& e, std::int64_t seq, int a, int b) { e.value = seq + a - b; }, 5, 5);
  EXPECT_TRUE(ring.try_publish_event(set_value, std::int64_t{2}));
  std::vector<std::int64_t> batch{3, 4, 5};
  ring.publish_events(set_value, batch);
  EXPECT_TRUE(ring.try_publish_events(set_value, std::vector<std::int64_t>{6, 7}));
  EXPECT_TRUE(ring.try_publish_events(set_value, std::vector<std::int64_t>{}));
  EXPECT_EQ(ring.cursor(), 7);
  for (std::int64_t s = 0; s <= 7; ++s) EXPECT_EQ(ring[s].value, s);
  sequence consumer;
  ring.add_gating_sequences({&consumer});  // at the cursor: 7
  ring.publish_events(set_value, std::vector<std::int64_t>(8, 1));
  EXPECT_FALSE(ring.try_publish_event(set_value, std::int64_t{9}));
  EXPECT_FALSE(ring.try_publish_events(set_value, std::vector<std::int64_t>{1}));
}

TEST(DisruptorRingBuffer, ATranslatorThatThrowsStillPublishes) {
  ring_buffer<event, single_producer_sequencer<busy_spin_wait_strategy>> ring(8, make_event);
  EXPECT_THROW(ring.publish_event([](event&, std::int64_t, int) { throw std::runtime_error("translator"); }, 1),
               std::runtime_error);
  EXPECT_EQ(ring.cursor(), 0);
  ring.publish_event(set_value, std::int64_t{1});
  EXPECT_EQ(ring.cursor(), 1);
}

// ------------------------------------------------------ barrier / alert ----
template <class W>
class DisruptorWaitStrategy : public ::testing::Test {};
using all_strategies = ::testing::Types<busy_spin_wait_strategy, yielding_wait_strategy, sleeping_wait_strategy,
                                        blocking_wait_strategy, lite_blocking_wait_strategy, timeout_blocking,
                                        phased_blocking, phased_lite, phased_sleeping>;
TYPED_TEST_SUITE(DisruptorWaitStrategy, all_strategies);

TYPED_TEST(DisruptorWaitStrategy, AlertWakesAWaitingConsumer) {
  ring_buffer<event, single_producer_sequencer<TypeParam>> ring(8, make_event);
  auto barrier = ring.new_barrier();
  std::atomic<std::int64_t> got{0};
  std::thread waiter([&] {
    std::int64_t r;
    do r = barrier.wait_for(0);
    while (r == timeout_sequence);
    got.store(r);
  });
  barrier.alert();
  waiter.join();
  EXPECT_EQ(got.load(), alerted_sequence);
  EXPECT_TRUE(barrier.is_alerted());
  barrier.clear_alert();
  ring.publish_event(set_value, std::int64_t{0});
  EXPECT_EQ(barrier.wait_for(0), 0);
}

TYPED_TEST(DisruptorWaitStrategy, UnicastDeliversEveryEventOnceInOrder) {
  const std::int64_t n = 100'000 / scale;
  for (std::size_t size : {std::size_t{2}, std::size_t{64}}) {
    checker c;
    {
      disruptor<event, single_producer_sequencer<TypeParam>> d(size, make_event);
      d.set_placement(processor_placement::unpinned());
      d.handle_events_with(c);
      publish_values(d, n);
    }
    expect_clean(c, n);
  }
}

TYPED_TEST(DisruptorWaitStrategy, MultiProducerUnicast) {
  const std::int64_t n = 50'000 / scale;
  checker c;
  disruptor<event, multi_producer_sequencer<TypeParam>> d(4, make_event);
  d.handle_events_with(c);
  publish_values(d, n);
  expect_clean(c, n);
}

// ------------------------------------------------------------ topologies ----
// Oversubscribed on 2 CPUs: these use yielding, blocking and lite-blocking.
template <class W>
class DisruptorTopology : public ::testing::Test {};
using shared_cpu_strategies = ::testing::Types<yielding_wait_strategy, blocking_wait_strategy, lite_blocking_wait_strategy>;
TYPED_TEST_SUITE(DisruptorTopology, shared_cpu_strategies);

constexpr std::size_t small_rings[] = {2, 4, 1024};

TYPED_TEST(DisruptorTopology, Pipeline) {
  const std::int64_t n = 30'000 / scale;
  for (std::size_t size : small_rings) {
    checker a(0), b(1, {0}), c(2, {1});
    disruptor<event, single_producer_sequencer<TypeParam>> d(size, make_event);
    d.handle_events_with(a).then(b).then(c);
    publish_values(d, n);
    expect_clean(a, n);
    expect_clean(b, n);
    expect_clean(c, n);
  }
}

// Multicast handlers only read the event (they run concurrently on it).
struct reader {
  std::int64_t expected = 0, errors = 0, count = 0;
  void on_event(const event& e, std::int64_t seq, bool) {
    errors += (seq != expected || e.value != seq) ? 1 : 0;
    expected = seq + 1;
    ++count;
  }
};

TYPED_TEST(DisruptorTopology, Multicast) {
  const std::int64_t n = 30'000 / scale;
  for (std::size_t size : small_rings) {
    reader a, b, c;
    disruptor<event, single_producer_sequencer<TypeParam>> d(size, make_event);
    d.handle_events_with(a, b, c);
    publish_values(d, n);
    for (const reader* r : {&a, &b, &c}) {
      EXPECT_EQ(r->errors, 0);
      EXPECT_EQ(r->count, n);
    }
  }
}

TYPED_TEST(DisruptorTopology, Diamond) {
  const std::int64_t n = 30'000 / scale;
  for (std::size_t size : small_rings) {
    checker a(0), b(1), c(2, {0, 1});
    disruptor<event, single_producer_sequencer<TypeParam>> d(size, make_event);
    d.handle_events_with(a, b).then(c);
    publish_values(d, n);
    expect_clean(a, n);
    expect_clean(b, n);
    expect_clean(c, n);
  }
}

TYPED_TEST(DisruptorTopology, AfterAndAnd) {
  const std::int64_t n = 20'000 / scale;
  checker a(0), b(1), c(2, {0, 1});
  disruptor<event, single_producer_sequencer<TypeParam>> d(4, make_event);
  auto ga = d.handle_events_with(a);
  auto gb = d.handle_events_with(b);
  ga.and_(gb).then(c);
  EXPECT_EQ(d.after(a, b).sequences().size(), 2u);
  publish_values(d, n);
  expect_clean(c, n);
}

// Three producers, one consumer: per-producer numbers arrive in order, each once.
struct per_producer_checker {
  std::array<std::int64_t, 3> next{0, 0, 0};
  std::int64_t expected_seq = 0, errors = 0, count = 0;
  void on_event(const event& e, std::int64_t seq, bool) {
    if (seq != expected_seq || e.producer < 0 || e.producer > 2 || e.producer_seq != next[e.producer]) ++errors;
    if (e.producer >= 0 && e.producer <= 2) next[e.producer] = e.producer_seq + 1;
    expected_seq = seq + 1;
    ++count;
  }
};

TYPED_TEST(DisruptorTopology, ThreeProducersOneConsumer) {
  const std::int64_t per = 20'000 / scale;
  for (std::size_t size : {std::size_t{2}, std::size_t{4}, std::size_t{256}}) {
    per_producer_checker c;
    disruptor<event, multi_producer_sequencer<TypeParam>> d(size, make_event);
    d.handle_events_with(c);
    auto& ring = d.start();
    std::vector<std::thread> producers;
    for (int p = 0; p < 3; ++p)
      producers.emplace_back([&, p] {
        for (std::int64_t i = 0; i < per; ++i)
          ring.publish_event(
              [](event& e, std::int64_t, int who, std::int64_t k) {
                e.producer = who;
                e.producer_seq = k;
              },
              p, i);
      });
    for (auto& t : producers) t.join();
    d.shutdown();
    EXPECT_EQ(c.errors, 0);
    EXPECT_EQ(c.count, 3 * per);
    EXPECT_EQ(c.next, (std::array<std::int64_t, 3>{per, per, per}));
  }
}

TEST(DisruptorTopologyGating, OnlyLeavesGateTheProducer) {
  checker a(0), b(1, {0}), c(2, {1});
  disruptor<event, single_producer_sequencer<yielding_wait_strategy>> d(8, make_event);
  d.handle_events_with(a).then(b).then(c);
  auto& ring = d.start();
  ASSERT_EQ(ring.sequencer().gating_sequences().size(), 1u);
  d.shutdown();
  disruptor<event, single_producer_sequencer<yielding_wait_strategy>> d2(8, make_event);
  checker x(0), y(1), z(2, {0, 1});
  reader w;
  d2.handle_events_with(x, y).then(z);
  d2.handle_events_with(w);
  auto& ring2 = d2.start();
  EXPECT_EQ(ring2.sequencer().gating_sequences().size(), 2u);  // z and w
  d2.shutdown();
}

// ----------------------------------------------------- batches and hooks ----
struct hooked {
  std::int64_t max_batch_seen = 0, batches = 0, events = 0, ends = 0, bad_depth = 0;
  std::int64_t current_batch = 0, in_batch = 0, bad_batch = 0;
  int starts = 0, shutdowns = 0;
  void on_start() { ++starts; }
  void on_shutdown() { ++shutdowns; }
  void on_batch_start(std::int64_t size, std::int64_t depth) {
    ++batches;
    if (depth < size) ++bad_depth;
    if (in_batch != current_batch) ++bad_batch;  // previous batch delivered fully
    current_batch = size;
    in_batch = 0;
    max_batch_seen = std::max(max_batch_seen, size);
  }
  void on_event(event&, std::int64_t, bool end) {
    ++events;
    ++in_batch;
    if (end) {
      ++ends;
      if (in_batch != current_batch) ++bad_batch;
    }
  }
};

TEST(DisruptorProcessor, MaxBatchSizeHooksAndEndOfBatch) {
  hooked h;
  disruptor<event, single_producer_sequencer<blocking_wait_strategy>> d(64, make_event);
  d.set_max_batch_size(5);
  d.handle_events_with(h);
  auto& ring = d.start();
  for (int round = 0; round < 20; ++round) ring.publish_events(set_value, std::vector<std::int64_t>(60, 0));
  d.shutdown();
  EXPECT_EQ(h.events, 1200);
  EXPECT_LE(h.max_batch_seen, 5);
  EXPECT_GE(h.batches, 1200 / 5);
  EXPECT_EQ(h.ends, h.batches);
  EXPECT_EQ(h.bad_depth, 0);
  EXPECT_EQ(h.bad_batch, 0);
  EXPECT_EQ(h.starts, 1);
  EXPECT_EQ(h.shutdowns, 1);
}

TEST(DisruptorProcessor, HaltBeforeRunCallsStartAndShutdown) {
  sp_ring ring(8, make_event);
  hooked h;
  batch_event_processor<event, single_producer_sequencer<blocking_wait_strategy>, hooked> p(ring, h);
  p.halt();
  p.run();  // returns at once
  EXPECT_EQ(h.starts, 1);
  EXPECT_EQ(h.shutdowns, 1);
  EXPECT_FALSE(p.is_running());
}

// A processor can be halted and run again; it resumes after its sequence.
TEST(DisruptorProcessor, RunAgainAfterHaltResumes) {
  sp_ring ring(8, make_event);
  checker c;
  batch_event_processor<event, single_producer_sequencer<blocking_wait_strategy>, checker> p(ring, c);
  ring.add_gating_sequences({&p.sequence()});
  for (int round = 0; round < 3; ++round) {
    std::thread t([&] { p.run(); });
    for (int i = 0; i < 5; ++i) ring.publish_event(set_value, std::int64_t{round * 5 + i});
    while (p.sequence().get() < ring.cursor()) std::this_thread::yield();
    p.halt();
    t.join();
  }
  expect_clean(c, 15);
}

struct releases_early {
  sequence* seq = nullptr;
  std::int64_t count = 0;
  void set_sequence_callback(sequence& s) { seq = &s; }
  void on_event(event&, std::int64_t s, bool) {
    ++count;
    seq->set(s);  // frees the slot before the batch ends
  }
};

TEST(DisruptorProcessor, SequenceCallback) {
  releases_early h;
  disruptor<event, single_producer_sequencer<yielding_wait_strategy>> d(2, make_event);
  d.handle_events_with(h);
  auto& ring = d.start();
  ASSERT_NE(h.seq, nullptr);
  for (std::int64_t i = 0; i < 1000; ++i) ring.publish_event(set_value, i);
  d.shutdown();
  EXPECT_EQ(h.count, 1000);
}

// ---------------------------------------------------------------- poller ----
TEST(DisruptorPoller, ReportsIdleProcessingAndGating) {
  ring_buffer<event, single_producer_sequencer<busy_spin_wait_strategy>> ring(8, make_event);
  event_poller<event, single_producer_sequencer<busy_spin_wait_strategy>> first(ring);
  event_poller<event, single_producer_sequencer<busy_spin_wait_strategy>> second(ring, {&first.sequence()});
  ring.add_gating_sequences({&second.sequence()});
  std::vector<std::int64_t> seen;
  auto take = [&](event& e, std::int64_t seq, bool) {
    seen.push_back(e.value == seq ? seq : -100);
    return true;
  };
  EXPECT_EQ(first.poll(take), poll_state::idle);
  for (std::int64_t i = 0; i < 5; ++i) ring.publish_event(set_value, i);
  EXPECT_EQ(second.poll(take), poll_state::gating);  // first has not passed them
  EXPECT_EQ(first.poll(take), poll_state::processing);
  EXPECT_EQ(seen, (std::vector<std::int64_t>{0, 1, 2, 3, 4}));
  // stop early: the handler returns false after the first event
  seen.clear();
  EXPECT_EQ(second.poll([&](event&, std::int64_t seq, bool) {
    seen.push_back(seq);
    return false;
  }), poll_state::processing);
  EXPECT_EQ(seen, (std::vector<std::int64_t>{0}));
  EXPECT_EQ(second.sequence().get(), 0);
  EXPECT_EQ(second.poll(take), poll_state::processing);
  EXPECT_EQ(second.sequence().get(), 4);
  EXPECT_EQ(second.poll(take), poll_state::idle);
  // a handler that throws: the events before it count as handled
  ring.publish_event(set_value, std::int64_t{5});
  ring.publish_event(set_value, std::int64_t{6});
  EXPECT_EQ(first.poll(take), poll_state::processing);
  EXPECT_THROW(second.poll([](event&, std::int64_t seq, bool) -> bool {
    if (seq == 6) throw std::runtime_error("poll");
    return true;
  }), std::runtime_error);
  EXPECT_EQ(second.sequence().get(), 5);
}

TEST(DisruptorPoller, MultiProducerPollerSkipsUnpublished) {
  mp_ring ring(8, make_event);
  event_poller<event, multi_producer_sequencer<blocking_wait_strategy>> poller(ring);
  ring.add_gating_sequences({&poller.sequence()});
  const std::int64_t a = ring.next(), b = ring.next();
  ring.publish(b);
  std::int64_t count = 0;
  auto take = [&](event&, std::int64_t, bool) { return ++count > 0; };
  EXPECT_EQ(poller.poll(take), poll_state::gating);  // 0 claimed, unpublished
  ring.publish(a);
  EXPECT_EQ(poller.poll(take), poll_state::processing);
  EXPECT_EQ(count, 2);
}

// ------------------------------------------------------------ exceptions ----
struct thrower {
  std::int64_t throw_every = 10;
  std::int64_t handled = 0, expected = 0, errors = 0;
  void on_event(event& e, std::int64_t seq, bool) {
    if (seq != expected || e.value != seq) ++errors;
    expected = seq + 1;
    if (seq % throw_every == 3) throw std::runtime_error("bad event " + std::to_string(seq));
    ++handled;
  }
};

TEST(DisruptorExceptions, IgnoreHandlerSkipsAndGoesOn) {
  const std::int64_t n = 1000;
  thrower t;
  reader after_t;
  ignore_exception_handler<event> ignore;
  disruptor<event, single_producer_sequencer<blocking_wait_strategy>> d(4, make_event);
  d.handle_events_with(t).then(after_t);
  d.set_exception_handler(t, ignore);
  publish_values(d, n);
  EXPECT_EQ(t.errors, 0);
  EXPECT_EQ(t.expected, n);
  EXPECT_EQ(ignore.ignored(), static_cast<std::uint64_t>(n / 10));
  EXPECT_EQ(t.handled, n - n / 10);
  EXPECT_EQ(after_t.count, n);  // the skipped events still flow downstream
  EXPECT_EQ(after_t.errors, 0);
}

struct recording_handler final : exception_handler<event> {
  std::vector<std::int64_t> seqs;
  std::vector<std::string> messages;
  int starts = 0, shutdowns = 0;
  void handle_event_exception(std::exception_ptr e, std::int64_t seq, event* ev) noexcept override {
    seqs.push_back(ev != nullptr && ev->value == seq ? seq : -1);
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& x) {
      messages.emplace_back(x.what());
    }
  }
  void handle_on_start_exception(std::exception_ptr) noexcept override { ++starts; }
  void handle_on_shutdown_exception(std::exception_ptr) noexcept override { ++shutdowns; }
};

struct throws_in_hooks : thrower {
  void on_start() { throw std::runtime_error("start"); }
  void on_shutdown() { throw std::runtime_error("shutdown"); }
};

TEST(DisruptorExceptions, UserSuppliedHandlerSeesSequenceEventAndException) {
  throws_in_hooks t;
  t.throw_every = 7;
  recording_handler rec;
  disruptor<event, single_producer_sequencer<yielding_wait_strategy>> d(8, make_event);
  d.set_default_exception_handler(rec);
  d.handle_events_with(t);
  publish_values(d, 30);
  EXPECT_EQ(rec.seqs, (std::vector<std::int64_t>{3, 10, 17, 24}));
  ASSERT_EQ(rec.messages.size(), 4u);
  EXPECT_EQ(rec.messages[1], "bad event 10");
  EXPECT_EQ(rec.starts, 1);
  EXPECT_EQ(rec.shutdowns, 1);
  EXPECT_EQ(t.errors, 0);
}

// Throws rewindable_error the first `fail_times` times it sees seq 5.
struct rewinder {
  int fail_times = 2;
  int failures = 0;
  std::vector<std::int64_t> deliveries;
  void on_event(event&, std::int64_t seq, bool) {
    deliveries.push_back(seq);
    if (seq == 5 && failures < fail_times) {
      ++failures;
      throw rewindable_error("retry the batch");
    }
  }
};

// A processor over a 16-slot ring whose handler is a rewinder.
struct rewinding_processor {
  sp_ring ring{16, make_event};
  rewinder r;
  batch_event_processor<event, single_producer_sequencer<blocking_wait_strategy>, rewinder> p{ring, r};

  // Gates the ring on p, publishes events 0..7 in one batch before p runs
  // (each event's value set to its sequence when `numbered`, else left 0),
  // runs p on a thread until it has processed them all, and halts it.
  void run_over_one_batch_of_eight(bool numbered) {
    ring.add_gating_sequences({&p.sequence()});
    ring.publish_events(set_value, std::vector<std::int64_t>(8, 0));  // one batch: 0..7, published before run
    if (numbered)
      for (std::int64_t s = 0; s < 8; ++s) ring[s].value = s;
    std::thread t([&] { p.run(); });
    while (p.sequence().get() < 7) std::this_thread::yield();
    p.halt();
    t.join();
  }
};

TEST(DisruptorExceptions, BatchRewindRedeliversTheWholeBatch) {
  simple_batch_rewind_strategy rewind;
  rewinding_processor rp;
  rp.p.set_rewind_strategy(rewind);
  rp.run_over_one_batch_of_eight(false);
  // 0..5 fails twice, then 0..7 goes through
  std::vector<std::int64_t> want;
  for (int k = 0; k < 2; ++k)
    for (std::int64_t s = 0; s <= 5; ++s) want.push_back(s);
  for (std::int64_t s = 0; s <= 7; ++s) want.push_back(s);
  EXPECT_EQ(rp.r.deliveries, want);
}

TEST(DisruptorExceptions, RewindGivesUpToTheExceptionHandler) {
  eventually_give_up_batch_rewind_strategy give_up(3);
  recording_handler rec;
  rewinding_processor rp;
  rp.r.fail_times = 100;
  rp.p.set_rewind_strategy(give_up);
  rp.p.set_exception_handler(rec);
  rp.run_over_one_batch_of_eight(true);
  EXPECT_EQ(rp.r.failures, 3);
  EXPECT_EQ(rec.seqs, (std::vector<std::int64_t>{5}));
  EXPECT_EQ(rec.messages, (std::vector<std::string>{"retry the batch"}));
  // after giving up: 6 and 7 once more (the processor goes on after 5)
  EXPECT_EQ(rp.r.deliveries.back(), 7);
}

TEST(DisruptorExceptions, RewindableErrorWithoutStrategyIsAnOrdinaryException) {
  recording_handler rec;
  rewinding_processor rp;
  rp.p.set_exception_handler(rec);
  rp.run_over_one_batch_of_eight(true);
  EXPECT_EQ(rec.seqs, (std::vector<std::int64_t>{5}));
  EXPECT_EQ(rp.r.deliveries, (std::vector<std::int64_t>{0, 1, 2, 3, 4, 5, 6, 7}));
}

// -------------------------------------------------------------- timeouts ----
struct timeout_counter {
  std::atomic<int> timeouts{0};
  std::atomic<std::int64_t> last_timeout_seq{-100};
  std::int64_t count = 0;
  void on_event(event&, std::int64_t, bool) { ++count; }
  void on_timeout(std::int64_t seq) {
    last_timeout_seq.store(seq);
    timeouts.fetch_add(1);
  }
};

TEST(DisruptorTimeout, TimeoutBlockingCallsOnTimeoutWhenIdle) {
  timeout_counter h;
  disruptor<event, single_producer_sequencer<timeout_blocking_wait_strategy>> d(8, make_event, ring_memory{}, 2ms);
  d.handle_events_with(h);
  auto& ring = d.start();
  for (std::int64_t i = 0; i < 3; ++i) ring.publish_event(set_value, i);
  d.drain();
  const int before = h.timeouts.load();
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (h.timeouts.load() < before + 2 && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
  EXPECT_GE(h.timeouts.load(), before + 2);
  EXPECT_EQ(h.last_timeout_seq.load(), 2);  // the last handled sequence
  d.shutdown();
  EXPECT_EQ(h.count, 3);
}

TEST(DisruptorTimeout, TimeoutBlockingWaitForReturnsTheSentinel) {
  ring_buffer<event, single_producer_sequencer<timeout_blocking_wait_strategy>> ring(8, make_event, ring_memory{}, 1ms);
  auto barrier = ring.new_barrier();
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(barrier.wait_for(0), timeout_sequence);
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 1ms);
}

// ------------------------------------------------------- halt and drain ----
TEST(DisruptorLifecycle, ShutdownUnderLoadHandlesEveryPublishedEvent) {
  checker a(0), b(1, {0});
  disruptor<event, single_producer_sequencer<yielding_wait_strategy>> d(4, make_event);
  d.handle_events_with(a).then(b);
  auto& ring = d.start();
  std::atomic<bool> stop{false};
  std::atomic<std::int64_t> published{0};
  std::thread producer([&] {
    std::int64_t i = 0;
    for (; !stop.load(std::memory_order_relaxed); ++i) ring.publish_event(set_value, i);
    published.store(i);
  });
  while (d.sequence_of(b) < 1000 / scale) std::this_thread::yield();  // under load before stopping
  stop.store(true);
  producer.join();
  d.shutdown();
  expect_clean(a, published.load());
  expect_clean(b, published.load());
}

TEST(DisruptorLifecycle, HaltUnderLoadStopsCleanly) {
  checker a(0), b(1, {0});
  disruptor<event, multi_producer_sequencer<blocking_wait_strategy>> d(4, make_event);
  d.handle_events_with(a).then(b);
  auto& ring = d.start();
  std::atomic<bool> stop{false};
  std::thread producer([&] {
    while (!stop.load(std::memory_order_relaxed)) {
      const auto seq = ring.try_next();  // never waits: the consumers will be halted
      if (!seq) {
        std::this_thread::yield();
        continue;
      }
      ring[*seq].value = *seq;
      ring.publish(*seq);
    }
  });
  while (ring.cursor() < 2000 / scale) std::this_thread::yield();
  d.halt();  // consumers stop mid-stream
  stop.store(true);
  producer.join();
  EXPECT_EQ(a.errors, 0) << a.first_error;
  EXPECT_EQ(b.errors, 0) << b.first_error;
  EXPECT_LE(b.expected, a.expected);
  EXPECT_EQ(d.sequence_of(a) + 1, a.expected);
  EXPECT_EQ(d.sequence_of(b) + 1, b.expected);
  d.halt();  // idempotent
}

TEST(DisruptorLifecycle, DrainForTimesOutWhenAConsumerIsStuck) {
  struct stuck {
    std::atomic<bool>* release;
    void on_event(event&, std::int64_t, bool) {
      while (!release->load()) std::this_thread::yield();
    }
  };
  std::atomic<bool> release{false};
  stuck s{&release};
  disruptor<event, single_producer_sequencer<blocking_wait_strategy>> d(8, make_event);
  d.handle_events_with(s);
  auto& ring = d.start();
  ring.publish_event(set_value, std::int64_t{0});
  EXPECT_FALSE(d.drain_for(5ms));
  EXPECT_TRUE(d.has_backlog());
  release.store(true);
  EXPECT_TRUE(d.drain_for(60s));
  d.shutdown();
}

TEST(DisruptorLifecycle, DestructorHaltsARunningDisruptor) {
  reader r;
  {
    disruptor<event, single_producer_sequencer<blocking_wait_strategy>> d(8, make_event);
    d.handle_events_with(r);
    d.start().publish_event(set_value, std::int64_t{0});
  }  // halts and joins
  EXPECT_LE(r.count, 1);
}

// --------------------------------------------------------------- pinning ----
struct where_am_i {
  std::atomic<int> cpu{-2};
  std::vector<int> mask;
  void on_start() {
    mask = quiesce::numa::current_affinity();
    cpu.store(quiesce::numa::current_cpu());
  }
  void on_event(event&, std::int64_t, bool) {}
};

TEST(DisruptorPinning, ProcessorsRunOnTheChosenCpus) {
  const auto& cpus = quiesce::numa::topology::system().cpus();
  const int last = cpus.back().cpu;
  where_am_i a, b;
  disruptor<event, single_producer_sequencer<blocking_wait_strategy>> d(8, make_event);
  d.set_placement(processor_placement::on_cpus({last, cpus.front().cpu}));
  d.handle_events_with(a, b);
  d.start();
  d.shutdown();
  EXPECT_EQ(a.mask, std::vector<int>{last});
  EXPECT_EQ(a.cpu.load(), last);
  EXPECT_EQ(b.mask, std::vector<int>{cpus.front().cpu});
}

TEST(DisruptorPinning, UnpinnedAndNodePlacement) {
  where_am_i a;
  {
    disruptor<event, single_producer_sequencer<blocking_wait_strategy>> d(8, make_event);
    d.set_placement(processor_placement::unpinned());
    d.handle_events_with(a);
    d.start();
    d.shutdown();
  }
  EXPECT_EQ(a.mask, quiesce::numa::current_affinity());
  where_am_i b;
  const int node = quiesce::numa::topology::system().nodes().front();
  {
    disruptor<event, single_producer_sequencer<blocking_wait_strategy>> d(8, make_event, ring_memory{node});
    d.set_placement(processor_placement::on_node(node));
    d.handle_events_with(b);
    d.start();
    d.shutdown();
  }
  EXPECT_EQ(b.mask, quiesce::numa::topology::system().cpus_of_node(node));
}

}  // namespace
