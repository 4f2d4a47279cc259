// quiesce/disruptor/exception_handler.hpp — what a batch_event_processor
// does when its handler throws: exception handlers and the batch rewind
// strategy.
//
// What it is
//   exception_handler<E>: called (on the processor's thread) when the event
//   handler throws from on_event, on_start or on_shutdown. Three kinds:
//     fatal_exception_handler<E>  (the default) prints the sequence and the
//                                 exception's what() and aborts: an event
//                                 handler that throws is a bug, and going on
//                                 would skip the event silently;
//     ignore_exception_handler<E> skips the event (its sequence counts as
//                                 handled) and goes on; counts what it
//                                 ignored;
//     your own: derive from exception_handler<E>. To stop the processor,
//                 call its halt() from handle_event_exception.
//   After handle_event_exception returns, the processor marks the event
//   handled and continues with the next one.
//
//   Batch rewind (LMAX 4's RewindableEventHandler): a handler that throws
//   rewindable_error asks for the whole current batch to be delivered again
//   (e.g. a downstream call failed transiently and the batch must be
//   retried as a unit). The processor asks its batch_rewind_strategy:
//   rewind (re-deliver from the first event of the batch; nothing of the
//   batch is marked handled) or give up (the error goes to the exception
//   handler as any other). simple_batch_rewind_strategy always rewinds;
//   eventually_give_up_batch_rewind_strategy gives up after n attempts.
//   Without a rewind strategy, rewindable_error is an ordinary exception.
//
// These are off the hot path: virtual calls are fine here.
//
// Example
//   struct my_handler : quiesce::disruptor::exception_handler<event> {
//     void handle_event_exception(std::exception_ptr e, std::int64_t seq, event* ev) noexcept override {
//       log(seq, e); }  // and go on
//   } h;
//   processor.set_exception_handler(h);   // h must outlive the processor
#ifndef QUIESCE_DISRUPTOR_EXCEPTION_HANDLER_HPP
#define QUIESCE_DISRUPTOR_EXCEPTION_HANDLER_HPP

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <stdexcept>
#include <string>

namespace quiesce::disruptor {

namespace detail {
// what() of the exception in e, or a placeholder for non-std exceptions.
inline std::string describe(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& x) {
    return x.what();
  } catch (...) {
    return "an exception not derived from std::exception";
  }
}
}  // namespace detail

template <class E>
class exception_handler {
 public:
  virtual ~exception_handler() = default;
  // The handler threw from on_event (or on_batch_start: then event is the
  // batch's first event) for `seq`. Called on the processor's thread; must
  // not throw (noexcept: std::terminate).
  virtual void handle_event_exception(std::exception_ptr e, std::int64_t seq, E* event) noexcept = 0;
  // The handler threw from on_start / on_shutdown. The processor goes on
  // (start: it processes events anyway; shutdown: it stops anyway).
  virtual void handle_on_start_exception(std::exception_ptr e) noexcept = 0;
  virtual void handle_on_shutdown_exception(std::exception_ptr e) noexcept = 0;
};

// The default: prints "quiesce: fatal: ..." naming the sequence and the
// exception, then aborts.
template <class E>
class fatal_exception_handler final : public exception_handler<E> {
 public:
  void handle_event_exception(std::exception_ptr e, std::int64_t seq, E*) noexcept override {
    die("an event handler threw while handling sequence " + std::to_string(seq), e);
  }
  void handle_on_start_exception(std::exception_ptr e) noexcept override { die("an event handler's on_start threw", e); }
  void handle_on_shutdown_exception(std::exception_ptr e) noexcept override {
    die("an event handler's on_shutdown threw", e);
  }
  static fatal_exception_handler& instance() noexcept {
    static fatal_exception_handler h;
    return h;
  }

 private:
  [[noreturn]] static void die(const std::string& what, const std::exception_ptr& e) noexcept {
    std::fprintf(stderr,
                 "quiesce: fatal: %s: %s\nquiesce: hint: catch inside the handler, or give the processor another "
                 "exception handler (ignore_exception_handler or your own)\n",
                 what.c_str(), detail::describe(e).c_str());
    std::abort();
  }
};

// Skips the event and goes on; counts the exceptions it swallowed.
template <class E>
class ignore_exception_handler final : public exception_handler<E> {
 public:
  void handle_event_exception(std::exception_ptr, std::int64_t, E*) noexcept override {
    ignored_.fetch_add(1, std::memory_order_relaxed);  // a statistic: orders nothing
  }
  void handle_on_start_exception(std::exception_ptr) noexcept override { ignored_.fetch_add(1, std::memory_order_relaxed); }
  void handle_on_shutdown_exception(std::exception_ptr) noexcept override {
    ignored_.fetch_add(1, std::memory_order_relaxed);
  }
  [[nodiscard]] std::uint64_t ignored() const noexcept { return ignored_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> ignored_{0};
};

// Thrown by an event handler to have the current batch re-delivered (see above).
class rewindable_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

enum class rewind_action { rewind, give_up };

class batch_rewind_strategy {
 public:
  virtual ~batch_rewind_strategy() = default;
  // `attempts`: how many times this batch has thrown so far (1 the first
  // time). Called on the processor's thread.
  virtual rewind_action handle_rewind_exception(const rewindable_error& e, int attempts) noexcept = 0;
};

// Always rewinds (retries the batch forever).
class simple_batch_rewind_strategy final : public batch_rewind_strategy {
 public:
  rewind_action handle_rewind_exception(const rewindable_error&, int) noexcept override { return rewind_action::rewind; }
};

// Rewinds until the batch has thrown `max_attempts` times, then gives up.
class eventually_give_up_batch_rewind_strategy final : public batch_rewind_strategy {
 public:
  explicit eventually_give_up_batch_rewind_strategy(int max_attempts) : max_(max_attempts) {
    if (max_attempts < 1)
      throw std::invalid_argument("eventually_give_up_batch_rewind_strategy: max_attempts must be at least 1");
  }
  rewind_action handle_rewind_exception(const rewindable_error&, int attempts) noexcept override {
    return attempts >= max_ ? rewind_action::give_up : rewind_action::rewind;
  }

 private:
  int max_;
};

}  // namespace quiesce::disruptor

#endif  // QUIESCE_DISRUPTOR_EXCEPTION_HANDLER_HPP
