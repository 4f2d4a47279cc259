// quiesce/disruptor/event_processor.hpp — batch_event_processor: the loop
// that runs one consumer (an event handler) on its own thread.
//
// What it is
//   batch_event_processor<E, Sequencer, Handler> waits on a sequence barrier
//   (the producer's cursor, or the sequences of the consumers before it),
//   takes every event available at once (up to a maximum batch size), calls
//   handler.on_event(event, seq, end_of_batch) for each, then advances its
//   own sequence once per batch (one release store). Its sequence is what
//   later consumers wait on and what, for a leaf consumer, holds the
//   producer back (gating). The handler is a template parameter: on_event is
//   called directly and usually inlined; nothing is virtual on the hot path.
//
// The handler (any class; only on_event is required, the rest is detected):
//   void on_event(E& event, std::int64_t seq, bool end_of_batch);
//   void on_batch_start(std::int64_t batch_size, std::int64_t queue_depth);
//        before each batch: its size, and how many events were available
//   void on_start();  void on_shutdown();   on the processor's thread
//   void on_timeout(std::int64_t last_handled);   timeout_blocking strategy
//   void set_sequence_callback(sequence& s);   once, at construction: a
//        handler may s.set(seq) itself to release slots before the batch ends
//
// Example
//   struct printer { void on_event(event& e, std::int64_t seq, bool) { std::printf("%ld\n", e.value); } } h;
//   batch_event_processor<event, single_producer_sequencer<blocking_wait_strategy>, printer> p{ring, h};
//   ring.add_gating_sequences({&p.sequence()});
//   std::thread t([&] { p.run(); });
//   ... publish ...
//   p.halt(); t.join();
//
// (disruptor.hpp's DSL builds processors, threads and gating for you.)
//
// Exceptions: see exception_handler.hpp (fatal by default; ignore; yours;
// batch rewind).
//
// Synchronisation table: run — one thread at a time (a second concurrent
// run() throws std::logic_error); halt, is_running, sequence().get() — any
// thread; set_exception_handler / set_rewind_strategy — before run().
#ifndef QUIESCE_DISRUPTOR_EVENT_PROCESSOR_HPP
#define QUIESCE_DISRUPTOR_EVENT_PROCESSOR_HPP

#include <algorithm>
#include <atomic>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <limits>
#include <stdexcept>
#include <vector>

#include <quiesce/disruptor/exception_handler.hpp>
#include <quiesce/disruptor/ring_buffer.hpp>
#include <quiesce/disruptor/sequence.hpp>
#include <quiesce/disruptor/sequence_barrier.hpp>
#include <quiesce/disruptor/sequencer.hpp>

namespace quiesce::disruptor {

template <class H, class E>
concept event_handler = requires(H& h, E& e, std::int64_t s, bool b) { h.on_event(e, s, b); };

// No maximum batch size: a processor takes everything available.
inline constexpr std::size_t unlimited_batch_size = std::numeric_limits<std::size_t>::max();

// What every processor offers, for code that manages processors of
// different handler types (the DSL). Virtual, but never on the hot path.
class event_processor {
 public:
  virtual ~event_processor() = default;
  virtual void run() = 0;
  virtual void halt() noexcept = 0;
  [[nodiscard]] virtual bool is_running() const noexcept = 0;
  [[nodiscard]] virtual sequence& get_sequence() noexcept = 0;
};

template <class E, sequencer Sequencer, event_handler<E> Handler>
class batch_event_processor final : public event_processor {
 using sequence_type = quiesce::disruptor::sequence;

 public:
  // `dependents`: the sequences of the consumers this one comes after
  // (empty: straight after the producer). ring, handler and dependents must
  // outlive the processor. max_batch_size: at most this many events per
  // batch (0 throws std::invalid_argument).
  batch_event_processor(ring_buffer<E, Sequencer>& ring, Handler& handler, std::vector<const sequence_type*> dependents = {},
                        std::size_t max_batch_size = unlimited_batch_size)
      : ring_(ring),
        handler_(handler),
        barrier_(ring.sequencer(), std::move(dependents)),
        max_batch_(static_cast<std::int64_t>(std::min<std::size_t>(checked_batch(max_batch_size),
                                                                     std::numeric_limits<std::int64_t>::max()))) {
    if constexpr (requires { handler.set_sequence_callback(sequence_); }) handler.set_sequence_callback(sequence_);
  }
  batch_event_processor(const batch_event_processor&) = delete;
  batch_event_processor& operator=(const batch_event_processor&) = delete;

  // Runs the loop on the calling thread until halt(). Throws
  // std::logic_error if the processor is already running. If halt() came
  // before run(), calls on_start and on_shutdown and returns at once. A
  // halted processor may run() again; it resumes after its sequence.
  void run() override {
    int expected = idle;
    // Acquire-release: pairs with the release store of idle at the end of
    // a previous run (its sequence and handler state are visible).
    if (!state_.compare_exchange_strong(expected, running, std::memory_order_acq_rel)) {
      if (expected == running)
        throw std::logic_error(
            "quiesce::disruptor: batch_event_processor::run() called while it is already running; run each "
            "processor on one thread (start the disruptor once)");
      // halted before it ran (LMAX's early exit)
      notify_start();
      notify_shutdown();
      state_.store(idle, std::memory_order_release);
      return;
    }
    barrier_.clear_alert();
    notify_start();
    // Acquire: pairs with the release store in halt().
    if (state_.load(std::memory_order_acquire) == running) process_events();
    notify_shutdown();
    state_.store(idle, std::memory_order_release);  // pairs with the acq_rel CAS of the next run()
  }

  // Asks the loop to stop after the batch in hand, and wakes it. Events
  // published but not yet handled stay unhandled (the DSL's shutdown()
  // drains first). Any thread; returns at once (join the thread to wait).
  void halt() noexcept override {
    // Release: pairs with the acquire loads in run()/process_events().
    state_.store(halted, std::memory_order_release);
    barrier_.alert();
  }
  [[nodiscard]] bool is_running() const noexcept override { return state_.load(std::memory_order_acquire) != idle; }

  // This consumer's progress: every event up to sequence().get() is handled.
  [[nodiscard]] sequence_type& get_sequence() noexcept override { return sequence_; }
  [[nodiscard]] sequence_type& sequence() noexcept { return sequence_; }
  [[nodiscard]] sequence_barrier<Sequencer>& barrier() noexcept { return barrier_; }

  // h must outlive the processor. Before run().
  void set_exception_handler(exception_handler<E>& h) noexcept { exceptions_ = &h; }
  // Enables batch rewind (see exception_handler.hpp). Before run().
  void set_rewind_strategy(batch_rewind_strategy& s) noexcept { rewind_ = &s; }

 private:
  enum : int { idle, halted, running };

  static std::size_t checked_batch(std::size_t n) {
    if (n == 0)
      throw std::invalid_argument(
          "quiesce::disruptor: max_batch_size 0; use at least 1 (or unlimited_batch_size)");
    return n;
  }

  void process_events() {
    std::int64_t next = sequence_.get_relaxed() + 1;
    int attempts = 0;  // of the current batch, for the rewind strategy
    for (;;) {
      const std::int64_t start_of_batch = next;
      try {
        try {
          const std::int64_t available = barrier_.wait_for(next);
          if (available < next) {
            if (available == alerted_sequence) {
              // Acquire: pairs with the release store in halt().
              if (state_.load(std::memory_order_acquire) != running) return;
            } else if (available == timeout_sequence) {
              notify_timeout(sequence_.get_relaxed());
            }
            continue;
          }
          const std::int64_t end = available - next < max_batch_ ? available : next + max_batch_ - 1;  // no overflow
          if constexpr (requires { handler_.on_batch_start(end, available); })
            handler_.on_batch_start(end - next + 1, available - next + 1);
          for (; next <= end; ++next) handler_.on_event(ring_[next], next, next == end);
          // Release: pairs with the acquire loads of this sequence by
          // downstream barriers (dependent_sequences::get) and by the
          // producer's gating check: our reads and writes of these events
          // happen before they are read downstream or rewritten.
          sequence_.set(end);
          attempts = 0;
        } catch (const rewindable_error& e) {
          if (rewind_ == nullptr) throw;
          if (rewind_->handle_rewind_exception(e, ++attempts) == rewind_action::rewind) {
            next = start_of_batch;
            continue;
          }
          attempts = 0;
          throw;
        }
      } catch (...) {
        exceptions_->handle_event_exception(std::current_exception(), next, &ring_[next]);
        sequence_.set(next);  // release, as above: the event counts as handled
        ++next;
      }
    }
  }

  void notify_timeout(std::int64_t last) {
    if constexpr (requires { handler_.on_timeout(last); }) {
      try {
        handler_.on_timeout(last);
      } catch (...) {
        exceptions_->handle_event_exception(std::current_exception(), last, nullptr);
      }
    }
  }
  void notify_start() {
    if constexpr (requires { handler_.on_start(); }) {
      try {
        handler_.on_start();
      } catch (...) {
        exceptions_->handle_on_start_exception(std::current_exception());
      }
    }
  }
  void notify_shutdown() {
    if constexpr (requires { handler_.on_shutdown(); }) {
      try {
        handler_.on_shutdown();
      } catch (...) {
        exceptions_->handle_on_shutdown_exception(std::current_exception());
      }
    }
  }

  ring_buffer<E, Sequencer>& ring_;
  Handler& handler_;
  sequence_type sequence_;
  sequence_barrier<Sequencer> barrier_;
  std::int64_t max_batch_;
  exception_handler<E>* exceptions_ = &fatal_exception_handler<E>::instance();
  batch_rewind_strategy* rewind_ = nullptr;
  alignas(sequence_padding) std::atomic<int> state_{idle};
};

}  // namespace quiesce::disruptor

#endif  // QUIESCE_DISRUPTOR_EVENT_PROCESSOR_HPP
