// quiesce/disruptor/event_poller.hpp — a polling consumer: the caller's
// thread takes available events when it chooses, instead of a processor
// thread waiting for them (LMAX's EventPoller).
//
// What it is
//   event_poller<E, Sequencer> has its own sequence. poll(handler) hands
//   every event published (and passed by the dependents) since the last
//   poll to handler(event, seq, end_of_batch) -> bool (false: stop after
//   this event), advances the sequence, and says what it found. It never
//   waits. Add its sequence to the ring's gating sequences (as for any
//   consumer), or the producer will overwrite events it has not polled.
//
// When to use it: a thread that already runs a loop (an event loop, a game
// tick, an I/O poller) and wants to drain the ring between other work.
//
// Example
//   event_poller poller{ring};
//   ring.add_gating_sequences({&poller.sequence()});
//   while (poller.poll([](event& e, std::int64_t, bool) { use(e); return true; })
//          == poll_state::processing) {}
//
// Synchronisation table: poll — one thread at a time; sequence().get() — any.
#ifndef QUIESCE_DISRUPTOR_EVENT_POLLER_HPP
#define QUIESCE_DISRUPTOR_EVENT_POLLER_HPP

#include <concepts>
#include <cstdint>
#include <vector>

#include <quiesce/disruptor/ring_buffer.hpp>
#include <quiesce/disruptor/sequence.hpp>
#include <quiesce/disruptor/sequencer.hpp>

namespace quiesce::disruptor {

enum class poll_state {
  processing,  // handled at least one event
  gating,      // events are published but the dependents have not passed them
  idle,        // nothing published beyond what was handled
};

template <class E, sequencer Sequencer>
class event_poller {
  using sequence_type = quiesce::disruptor::sequence;

 public:
  // `dependents`: consumers this poller comes after (empty: the producer).
  explicit event_poller(ring_buffer<E, Sequencer>& ring, std::vector<const sequence_type*> dependents = {})
      : ring_(ring), deps_(ring.sequencer().cursor_sequence(), std::move(dependents)) {}
  event_poller(const event_poller&) = delete;
  event_poller& operator=(const event_poller&) = delete;

  // Handles every available event (see above). If the handler throws, the
  // events before the throwing one count as handled and the exception
  // propagates. Threads: one at a time. Progress: wait-free apart from the
  // handler. Ordering: acquire on the cursor/dependents and the slot flags
  // (the events are fully written); release on the poller's sequence (the
  // producer may reuse the slots only after the handler is done with them).
  template <class F>
    requires std::predicate<F&, E&, std::int64_t, bool>
  poll_state poll(F&& handler) {
    const std::int64_t current = sequence_.get_relaxed();
    std::int64_t next = current + 1;
    const std::int64_t available =
        ring_.sequencer().highest_published_sequence(next, deps_.get());
    if (next <= available) {
      struct commit {
        sequence_type& s;
        std::int64_t processed;
        ~commit() { s.set(processed); }  // release: see above
      } done{sequence_, current};
      bool more = true;
      for (; next <= available && more; ++next) {
        more = handler(ring_[next], next, next == available);
        done.processed = next;
      }
      return poll_state::processing;
    }
    return ring_.sequencer().cursor() >= next ? poll_state::gating : poll_state::idle;
  }

  [[nodiscard]] sequence_type& sequence() noexcept { return sequence_; }

 private:
  ring_buffer<E, Sequencer>& ring_;
  dependent_sequences deps_;
  sequence_type sequence_;
};

}  // namespace quiesce::disruptor

#endif  // QUIESCE_DISRUPTOR_EVENT_POLLER_HPP
