// quiesce/disruptor/wait_strategy.hpp — how a consumer waits for the next
// event: busy-spin, yielding, sleeping, blocking, lite-blocking,
// timeout-blocking and phased back-off (LMAX Disruptor 4.0's strategies).
//
// What it is
//   A wait strategy is a class with two members (checked by the
//   wait_strategy concept below):
//     std::int64_t wait_for(seq, cursor, dependents, alert)
//       waits until dependents.get() >= seq and returns it, or returns
//       alerted_sequence once `alert` is set, or (timeout strategies)
//       timeout_sequence when the timeout passes first;
//     void signal_all_when_blocking() noexcept
//       called by the producer after every publish and by halt(): wakes
//       blocked waiters (nothing at all for the spinning strategies).
//   The sequencer holds the strategy by value and calls it directly: no
//   virtual call, and for busy-spin the signal compiles to nothing.
//
// Which one
//   busy_spin_wait_strategy     lowest latency (one cache-line transfer
//                               after the publish; perf/disruptor_bench
//                               ping_pong/* against the SPSC queues); burns a
//                               whole CPU per consumer. Only with a dedicated (pinned) CPU
//                               per thread: oversubscribed, it starves the
//                               producer.
//   yielding_wait_strategy      spins 100 times, then sched_yield()s: near
//                               busy-spin latency, gives the CPU to runnable
//                               threads. The choice when threads outnumber
//                               CPUs but latency still matters.
//   sleeping_wait_strategy      spins, yields, then sleeps (100 ns requests,
//                               each a system call that the kernel's timer
//                               slack stretches, 50 us by default): low CPU,
//                               high and jittery latency; no producer cost.
//   blocking_wait_strategy      mutex + condition variable: idle consumers
//                               use no CPU; every publish takes the mutex
//                               and notifies; for throughput when CPU is
//                               scarce and latency does not matter.
//   lite_blocking_wait_strategy as blocking, but the producer takes the
//                               mutex only when a consumer is waiting (one
//                               atomic exchange per publish otherwise).
//   timeout_blocking_wait_strategy  blocking with a timeout: processors call
//                               their handler's on_timeout(seq) when no
//                               event came for `timeout` (heartbeats,
//                               flushing batches).
//   phased_backoff_wait_strategy<Fallback>  spins for `spin`, yields until
//                               `yield`, then waits with Fallback (blocking,
//                               lite-blocking or sleeping): bursty traffic
//                               with long idle gaps.
//
// Waiting on dependents: the blocking strategies block until the producer's
// cursor reaches seq, then (for consumers behind other consumers) spin on the
// upstream sequences, yielding after 100 spins (LMAX spins only; yielding
// keeps an oversubscribed pipeline moving).
//
// Example
//   quiesce::disruptor::single_producer_sequencer<quiesce::disruptor::yielding_wait_strategy> seq{1024};
//   quiesce::disruptor::timeout_blocking_wait_strategy w{std::chrono::milliseconds(5)};
#ifndef QUIESCE_DISRUPTOR_WAIT_STRATEGY_HPP
#define QUIESCE_DISRUPTOR_WAIT_STRATEGY_HPP

#include <atomic>
#include <chrono>
#include <concepts>
#include <condition_variable>
#include <cstdint>
#include <limits>
#include <mutex>
#include <stdexcept>
#include <thread>

#include <quiesce/disruptor/sequence.hpp>
#include <quiesce/base/config.hpp>

namespace quiesce::disruptor {

// Returned by wait_for() (and sequence_barrier::wait_for()) instead of a
// sequence: the barrier was alerted (halt()), or the timeout passed. Both are
// below every real sequence (>= -1).
inline constexpr std::int64_t alerted_sequence = std::numeric_limits<std::int64_t>::min();
inline constexpr std::int64_t timeout_sequence = std::numeric_limits<std::int64_t>::min() + 1;

template <class W>
concept wait_strategy = requires(W& w, std::int64_t s, const sequence& cursor, const dependent_sequences& deps,
                                 const std::atomic<bool>& alert) {
  { w.wait_for(s, cursor, deps, alert) } -> std::same_as<std::int64_t>;
  { w.signal_all_when_blocking() } noexcept;
};

namespace detail {

// Acquire: pairs with the release store in sequence_barrier::alert(), so a
// waiter that sees the flag also sees the halt request behind it.
inline bool is_alerted(const std::atomic<bool>& alert) noexcept { return alert.load(std::memory_order_acquire); }

// The part every blocking strategy shares: once the cursor has reached seq,
// wait for the upstream consumers by spinning, then yielding.
inline std::int64_t spin_then_yield_on(std::int64_t seq, const dependent_sequences& deps,
                                       const std::atomic<bool>& alert) noexcept {
  std::int64_t available;
  for (int spins = 0; (available = deps.get()) < seq; ++spins) {
    if (is_alerted(alert)) return alerted_sequence;
    if (spins < 100)
      quiesce::detail::base::cpu_relax();
    else
      std::this_thread::yield();
  }
  return available;
}

}  // namespace detail

// Spins (with the CPU's pause hint) until the event is there.
//   Latency: one cache-line transfer after the publish (the lowest).
//   CPU: 100% of one CPU per waiting consumer. Producer cost: none
//   directly, but a consumer that has caught up re-reads the cursor's line
//   after every publish, so each publish costs the producer a cache-line
//   transfer (its store must take the line back). pauses_per_poll > 1
//   polls less often: each wait adds up to that many pauses to the latency
//   and the consumer usually takes larger batches (perf/disruptor_bench
//   *_spin16 rows beside the default ones, with the batch sizes).
class busy_spin_wait_strategy {
 public:
  explicit busy_spin_wait_strategy(int pauses_per_poll = 1) noexcept
      : pauses_(pauses_per_poll < 1 ? 1 : pauses_per_poll) {}
  std::int64_t wait_for(std::int64_t seq, const sequence&, const dependent_sequences& deps,
                        const std::atomic<bool>& alert) noexcept {
    std::int64_t available;
    while ((available = deps.get()) < seq) {
      if (detail::is_alerted(alert)) return alerted_sequence;
      for (int i = 0; i < pauses_; ++i) quiesce::detail::base::cpu_relax();
    }
    return available;
  }
  void signal_all_when_blocking() noexcept {}

 private:
  int pauses_;
};

// Spins `spin_tries` times (default 100), then calls sched_yield() between
// checks. Producer cost: none.
class yielding_wait_strategy {
 public:
  explicit yielding_wait_strategy(int spin_tries = 100) noexcept : spin_tries_(spin_tries) {}
  std::int64_t wait_for(std::int64_t seq, const sequence&, const dependent_sequences& deps,
                        const std::atomic<bool>& alert) noexcept {
    std::int64_t available;
    for (int n = spin_tries_; (available = deps.get()) < seq;) {
      if (detail::is_alerted(alert)) return alerted_sequence;
      if (n > 0) {
        --n;
        quiesce::detail::base::cpu_relax();
      } else {
        std::this_thread::yield();
      }
    }
    return available;
  }
  void signal_all_when_blocking() noexcept {}

 private:
  int spin_tries_;
};

// Spins 100 times, yields 100 times, then sleeps `sleep` per check (LMAX's
// SleepingWaitStrategy: retries 200, 100 ns). Producer cost: none.
class sleeping_wait_strategy {
 public:
  explicit sleeping_wait_strategy(int retries = 200, std::chrono::nanoseconds sleep = std::chrono::nanoseconds(100))
      : retries_(retries), sleep_(sleep) {
    if (retries < 0 || sleep.count() < 0)
      throw std::invalid_argument("sleeping_wait_strategy: retries and sleep must not be negative");
  }
  std::int64_t wait_for(std::int64_t seq, const sequence&, const dependent_sequences& deps,
                        const std::atomic<bool>& alert) noexcept {
    std::int64_t available;
    for (int n = retries_; (available = deps.get()) < seq;) {
      if (detail::is_alerted(alert)) return alerted_sequence;
      if (n > 100) {
        --n;
        quiesce::detail::base::cpu_relax();
      } else if (n > 0) {
        --n;
        std::this_thread::yield();
      } else {
        std::this_thread::sleep_for(sleep_);
      }
    }
    return available;
  }
  void signal_all_when_blocking() noexcept {}

 private:
  int retries_;
  std::chrono::nanoseconds sleep_;
};

// Blocks on a condition variable until the cursor reaches seq.
//   Producer cost: every publish locks the mutex and notifies (plus a futex
//   wake system call when a consumer sleeps).
class blocking_wait_strategy {
 public:
  std::int64_t wait_for(std::int64_t seq, const sequence& cursor, const dependent_sequences& deps,
                        const std::atomic<bool>& alert) {
    if (cursor.get() < seq) {
      std::unique_lock lock(mutex_);
      // Checked under the mutex: a publisher stores the cursor (release)
      // before it takes the mutex to notify (signal_all_when_blocking), so
      // either this load sees the store or the notify comes after wait()
      // released the mutex. The same holds for the alert flag.
      while (cursor.get() < seq) {
        if (detail::is_alerted(alert)) return alerted_sequence;
        cond_.wait(lock);
      }
    }
    return detail::spin_then_yield_on(seq, deps, alert);
  }
  void signal_all_when_blocking() noexcept {
    std::lock_guard lock(mutex_);  // orders the caller's cursor store before a waiter's check (see above)
    cond_.notify_all();
  }

 private:
  std::mutex mutex_;
  std::condition_variable cond_;
};

// As blocking_wait_strategy, but a publisher takes the mutex only when a
// waiter announced itself: one atomic exchange per publish otherwise.
class lite_blocking_wait_strategy {
 public:
  std::int64_t wait_for(std::int64_t seq, const sequence& cursor, const dependent_sequences& deps,
                        const std::atomic<bool>& alert) {
    if (cursor.get() < seq) {
      std::unique_lock lock(mutex_);
      for (;;) {
        // seq_cst exchange, then the acquire cursor/alert loads. Pairs with
        // the publisher's cursor store (release) followed by its exchange in
        // signal_all_when_blocking(): the exchanges are totally ordered. If
        // the publisher's comes first, ours reads its `false` and acquires
        // its cursor store, so the check below sees it; if ours comes first,
        // the publisher reads our `true` and notifies under the mutex, which
        // we hold until wait() releases it.
        signal_needed_.exchange(true, std::memory_order_seq_cst);
        if (cursor.get() >= seq) break;
        if (detail::is_alerted(alert)) return alerted_sequence;
        cond_.wait(lock);
      }
    }
    return detail::spin_then_yield_on(seq, deps, alert);
  }
  void signal_all_when_blocking() noexcept {
    // seq_cst exchange: pairs with the waiter's exchange (see wait_for).
    if (signal_needed_.exchange(false, std::memory_order_seq_cst)) {
      std::lock_guard lock(mutex_);
      cond_.notify_all();
    }
  }

 private:
  std::mutex mutex_;
  std::condition_variable cond_;
  // Exchanged on every publish: alone on its 128-byte block (sequence.hpp).
  alignas(sequence_padding) std::atomic<bool> signal_needed_{false};
};

// blocking_wait_strategy with a timeout: wait_for returns timeout_sequence
// when the cursor has not reached seq `timeout` after the call began. The
// batch_event_processor then calls its handler's on_timeout(last sequence).
class timeout_blocking_wait_strategy {
 public:
  explicit timeout_blocking_wait_strategy(std::chrono::nanoseconds timeout) : timeout_(timeout) {
    if (timeout.count() <= 0)
      throw std::invalid_argument("timeout_blocking_wait_strategy: the timeout must be positive");
  }
  std::int64_t wait_for(std::int64_t seq, const sequence& cursor, const dependent_sequences& deps,
                        const std::atomic<bool>& alert) {
    if (cursor.get() < seq) {
      const auto deadline = std::chrono::steady_clock::now() + timeout_;
      std::unique_lock lock(mutex_);
      while (cursor.get() < seq) {  // under the mutex: see blocking_wait_strategy
        if (detail::is_alerted(alert)) return alerted_sequence;
        if (cond_.wait_until(lock, deadline) == std::cv_status::timeout && cursor.get() < seq)
          return detail::is_alerted(alert) ? alerted_sequence : timeout_sequence;
      }
    }
    return detail::spin_then_yield_on(seq, deps, alert);
  }
  void signal_all_when_blocking() noexcept {
    std::lock_guard lock(mutex_);
    cond_.notify_all();
  }
  [[nodiscard]] std::chrono::nanoseconds timeout() const noexcept { return timeout_; }

 private:
  std::chrono::nanoseconds timeout_;
  std::mutex mutex_;
  std::condition_variable cond_;
};

// Spins (pause hint) for `spin_timeout`, then yields until `yield_timeout`
// after the wait began, then waits with Fallback (LMAX's
// PhasedBackoffWaitStrategy). The clock is read once every 10,000 spins.
// Producer cost: Fallback's.
template <wait_strategy Fallback>
class phased_backoff_wait_strategy {
 public:
  template <class... FallbackArgs>
  phased_backoff_wait_strategy(std::chrono::nanoseconds spin_timeout, std::chrono::nanoseconds yield_timeout,
                               FallbackArgs&&... fallback_args)
      : spin_(spin_timeout), yield_(yield_timeout), fallback_(std::forward<FallbackArgs>(fallback_args)...) {
    if (spin_timeout.count() < 0 || yield_timeout < spin_timeout)
      throw std::invalid_argument(
          "phased_backoff_wait_strategy: need 0 <= spin_timeout <= yield_timeout (yield_timeout counts from the "
          "start of the wait, spinning included)");
  }
  std::int64_t wait_for(std::int64_t seq, const sequence& cursor, const dependent_sequences& deps,
                        const std::atomic<bool>& alert) {
    constexpr int spin_tries = 10'000;
    std::chrono::steady_clock::time_point start{};
    bool started = false;
    for (int counter = spin_tries;;) {
      const std::int64_t available = deps.get();
      if (available >= seq) return available;
      if (detail::is_alerted(alert)) return alerted_sequence;
      if (--counter > 0) {
        quiesce::detail::base::cpu_relax();
        continue;
      }
      counter = spin_tries;
      const auto now = std::chrono::steady_clock::now();
      if (!started) {
        start = now;
        started = true;
      } else if (now - start > yield_) {
        return fallback_.wait_for(seq, cursor, deps, alert);
      } else if (now - start > spin_) {
        std::this_thread::yield();
      }
    }
  }
  void signal_all_when_blocking() noexcept { fallback_.signal_all_when_blocking(); }
  [[nodiscard]] Fallback& fallback() noexcept { return fallback_; }

 private:
  std::chrono::nanoseconds spin_, yield_;
  Fallback fallback_;
};

static_assert(wait_strategy<busy_spin_wait_strategy> && wait_strategy<yielding_wait_strategy> &&
              wait_strategy<sleeping_wait_strategy> && wait_strategy<blocking_wait_strategy> &&
              wait_strategy<lite_blocking_wait_strategy> && wait_strategy<timeout_blocking_wait_strategy> &&
              wait_strategy<phased_backoff_wait_strategy<blocking_wait_strategy>>);

}  // namespace quiesce::disruptor

#endif  // QUIESCE_DISRUPTOR_WAIT_STRATEGY_HPP
