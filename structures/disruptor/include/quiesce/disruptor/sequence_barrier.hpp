// quiesce/disruptor/sequence_barrier.hpp — where a consumer waits: for the
// producer's cursor, or for the consumers upstream of it.
//
// What it is
//   A sequence_barrier<Sequencer> ties together the sequencer (cursor, wait
//   strategy, per-slot availability), the sequences this consumer depends
//   on, and an alert flag that halt() raises to wake the consumer. wait_for
//   returns the highest sequence the consumer may read: every event up to it
//   has been published and handled by every upstream consumer. Consumers
//   read whole batches per call: one acquire load serves many events.
//
// Example (ring_buffer::new_barrier builds one)
//   auto barrier = ring.new_barrier();                  // waits on the cursor
//   std::int64_t next = 0;
//   std::int64_t avail = barrier.wait_for(next);       // >= next, or a sentinel (< -1)
//   if (avail >= next) { /* handle ring[next..avail] */ }
//
// Synchronisation table: wait_for — one consumer thread; alert,
// clear_alert, is_alerted — any thread.
#ifndef QUIESCE_DISRUPTOR_SEQUENCE_BARRIER_HPP
#define QUIESCE_DISRUPTOR_SEQUENCE_BARRIER_HPP

#include <atomic>
#include <cstdint>
#include <thread>
#include <utility>
#include <vector>

#include <quiesce/disruptor/sequence.hpp>
#include <quiesce/disruptor/sequencer.hpp>
#include <quiesce/disruptor/wait_strategy.hpp>
#include <quiesce/base/config.hpp>

namespace quiesce::disruptor {

template <sequencer Sequencer>
class sequence_barrier {
 public:
  // `dependents`: the sequences of upstream consumers (empty: the cursor).
  // They and the sequencer must outlive the barrier.
  sequence_barrier(Sequencer& s, std::vector<const sequence*> dependents)
      : sequencer_(&s), deps_(s.cursor_sequence(), std::move(dependents)) {}
  sequence_barrier(sequence_barrier&&) = delete;

  // Waits until `seq` is available and returns the highest available
  // sequence (>= seq: every event in [seq, result] is published and passed
  // by the dependents), or alerted_sequence after alert(), or
  // timeout_sequence (timeout_blocking strategy).
  //   Threads: the consumer that owns the barrier. Progress: the wait
  //   strategy's; with a multi-producer sequencer, also waits (spinning 64
  //   times, then yielding) for a slot that is claimed but not yet
  //   published. (LMAX returns at once and lets the processor spin: on a
  //   machine with fewer CPUs than threads that spin can hold the CPU the
  //   publishing producer needs for a whole time slice.)
  //   Ordering: acquire — the events up to the result, and upstream
  //   consumers' writes to them, are visible.
  [[nodiscard]] std::int64_t wait_for(std::int64_t seq) {
    for (int spins = 0;; ++spins) {
      if (detail::is_alerted(alert_)) return alerted_sequence;
      const std::int64_t available =
          sequencer_->wait_strategy().wait_for(seq, sequencer_->cursor_sequence(), deps_, alert_);
      if (available < seq) return available;  // a sentinel (alerted, timeout)
      const std::int64_t published = sequencer_->highest_published_sequence(seq, available);
      if (published >= seq) return published;
      if (spins < 64)
        quiesce::detail::base::cpu_relax();
      else
        std::this_thread::yield();
    }
  }

  // The highest sequence the dependents have reached (no waiting). Any thread.
  [[nodiscard]] std::int64_t cursor() const noexcept { return deps_.get(); }

  // Wakes the consumer: its wait_for returns alerted_sequence until
  // clear_alert(). Any thread. Release: pairs with the acquire in
  // detail::is_alerted(); then signals the wait strategy so that a blocked
  // consumer wakes.
  void alert() noexcept {
    alert_.store(true, std::memory_order_release);
    sequencer_->wait_strategy().signal_all_when_blocking();
  }
  void clear_alert() noexcept { alert_.store(false, std::memory_order_release); }
  [[nodiscard]] bool is_alerted() const noexcept { return detail::is_alerted(alert_); }
  [[nodiscard]] const dependent_sequences& dependents() const noexcept { return deps_; }

 private:
  Sequencer* sequencer_;
  dependent_sequences deps_;
  std::atomic<bool> alert_{false};
};

}  // namespace quiesce::disruptor

#endif  // QUIESCE_DISRUPTOR_SEQUENCE_BARRIER_HPP
