// quiesce/disruptor.hpp — the LMAX-style Disruptor: a preallocated ring of
// events handed from producers to pipelines of consumers without locks, in
// batches (LMAX Disruptor 4.0, in C++: templates, no virtual call on the
// hot path).
//
// One header per concept, all included here:
//   disruptor/sequence.hpp          sequence: padded atomic int64 (128 bytes)
//   disruptor/wait_strategy.hpp     busy-spin, yielding, sleeping, blocking,
//                                   lite-blocking, timeout-blocking, phased back-off
//   disruptor/sequencer.hpp         single_producer_sequencer, multi_producer_sequencer
//   disruptor/sequence_barrier.hpp  sequence_barrier: where consumers wait
//   disruptor/ring_buffer.hpp       ring_buffer: the events, translators, batch publishing
//   disruptor/exception_handler.hpp fatal/ignore/custom exception handlers, batch rewind
//   disruptor/event_processor.hpp   batch_event_processor: a consumer's loop
//   disruptor/event_poller.hpp      event_poller: a polling consumer
//   disruptor/disruptor.hpp         the DSL: handle_events_with(a, b).then(c), start, shutdown
//
// Example
//   #include <quiesce/disruptor.hpp>
//   using namespace quiesce::disruptor;
//   struct event { std::int64_t value; };
//   struct sum { std::int64_t total = 0;
//                void on_event(event& e, std::int64_t, bool) { total += e.value; } } s;
//   disruptor<event, single_producer_sequencer<yielding_wait_strategy>> d{1024, [] { return event{}; }};
//   d.handle_events_with(s);
//   auto& ring = d.start();
//   for (int i = 0; i < 100; ++i) ring.publish_event([](event& e, std::int64_t, int v) { e.value = v; }, i);
//   d.shutdown();   // s.total == 4950
//
// Compared with the alternatives: structures/disruptor/README.md; measured
// costs: perf/disruptor_bench.cpp and the main job's out/disruptor_ratios.md.
#ifndef QUIESCE_DISRUPTOR_HPP
#define QUIESCE_DISRUPTOR_HPP

#include <quiesce/disruptor/disruptor.hpp>
#include <quiesce/disruptor/event_poller.hpp>
#include <quiesce/disruptor/event_processor.hpp>
#include <quiesce/disruptor/exception_handler.hpp>
#include <quiesce/disruptor/ring_buffer.hpp>
#include <quiesce/disruptor/sequence.hpp>
#include <quiesce/disruptor/sequence_barrier.hpp>
#include <quiesce/disruptor/sequencer.hpp>
#include <quiesce/disruptor/wait_strategy.hpp>

#endif  // QUIESCE_DISRUPTOR_HPP
