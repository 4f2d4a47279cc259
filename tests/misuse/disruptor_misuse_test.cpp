// Fatal misuse of the Disruptor: the default exception handler aborts with
// the sequence and the exception; publishing sequences that were never
// claimed (or twice) and two producers on a single-producer sequencer abort
// with a message naming the fix. Built with QUIESCE_CHECKS=1.
#include <quiesce/disruptor.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <thread>

#include "support/misuse.hpp"

namespace {

using namespace quiesce::disruptor;
static_assert(quiesce::detail::base::checks_enabled, "this file must be built with QUIESCE_CHECKS=1");

struct event {
  std::int64_t value = 0;
};
event make_event() { return {}; }

using DisruptorMisuseDeathTest = quiesce::test::threadsafe_death_test;

struct throws_at_3 {
  void on_event(event&, std::int64_t seq, bool) {
    if (seq == 3) throw std::runtime_error("handler failed on purpose");
  }
};

[[noreturn]] void throw_with_default_handler() {
  throws_at_3 h;
  disruptor<event, single_producer_sequencer<blocking_wait_strategy>> d(8, make_event);
  d.handle_events_with(h);
  auto& ring = d.start();
  for (int i = 0; i < 8; ++i) ring.publish_event([](event& e, std::int64_t s) { e.value = s; });
  d.shutdown();
  std::fputs("the handler's exception was not fatal\n", stderr);
  std::_Exit(0);
}

TEST_F(DisruptorMisuseDeathTest, DefaultExceptionHandlerIsFatal) {
  EXPECT_DEATH(throw_with_default_handler(),
               "an event handler threw while handling sequence 3: handler failed on purpose");
}

using sp_ring = ring_buffer<event, single_producer_sequencer<busy_spin_wait_strategy>>;
using mp_ring = ring_buffer<event, multi_producer_sequencer<busy_spin_wait_strategy>>;

void sp_publish_unclaimed() {
  sp_ring ring(8, make_event);
  (void)ring.next();
  ring.publish(5);
}
template <class Ring>
void publish_twice() {
  Ring ring(8, make_event);
  const auto s = ring.next();
  ring.publish(s);
  ring.publish(s);
}
void sp_publish_backwards() {
  sp_ring ring(8, make_event);
  (void)ring.next(4);
  ring.publish(3, 1);
}
void mp_publish_unclaimed() {
  mp_ring ring(8, make_event);
  (void)ring.next(2);
  ring.publish(0, 4);
}

TEST_F(DisruptorMisuseDeathTest, SingleProducerPublishOfAnUnclaimedSequence) {
  EXPECT_DEATH(sp_publish_unclaimed(), "single_producer_sequencer::publish: range not claimed or already published");
}
TEST_F(DisruptorMisuseDeathTest, SingleProducerPublishTwice) {
  EXPECT_DEATH(publish_twice<sp_ring>(), "range not claimed or already published");
}
TEST_F(DisruptorMisuseDeathTest, SingleProducerBackwardsRange) {
  EXPECT_DEATH(sp_publish_backwards(), "range not claimed or already published");
}
TEST_F(DisruptorMisuseDeathTest, MultiProducerPublishTwice) {
  EXPECT_DEATH(publish_twice<mp_ring>(), "multi_producer_sequencer::publish: range not claimed or already published");
}
TEST_F(DisruptorMisuseDeathTest, MultiProducerPublishOfAnUnclaimedSequence) {
  EXPECT_DEATH(mp_publish_unclaimed(), "multi_producer_sequencer::publish: range not claimed or already published");
}

// Two threads claim from a single-producer sequencer (support/misuse.hpp:
// overlap is a matter of scheduling).
[[noreturn]] void two_producers_on_single_producer_sequencer() {
  sp_ring ring(1024, make_event);
  auto producer = [&ring] {
    for (;;) (void)ring.try_next();  // no gating: never full
  };
  quiesce::test::race_until_caught(producer, producer);
}

TEST_F(DisruptorMisuseDeathTest, TwoProducersOnASingleProducerSequencer) {
  EXPECT_DEATH(two_producers_on_single_producer_sequencer(),
               "two threads claimed slots of a single_producer_sequencer at once.*multi_producer_sequencer");
}

}  // namespace
