// quiesce/base/backoff.hpp — bounded exponential back-off for
// retry loops that lost a race (a failed CAS, a failed version check, an
// aborted transaction).
//
// Internal header, shared by every optimistic retry loop of the structures
// component (versioned cells, the STM). One concept, one place.
//
// Policy: after the k-th consecutive failure the caller pauses for a random
// number of cpu_relax() rounds in [0, min(2^k * initial, max)) — "full
// jitter" — so two threads that collided do not collide again in lock-step
// (Anderson, "The performance of spin lock alternatives for shared-memory
// multiprocessors", IEEE TPDS 1990; Herlihy & Shavit, "The Art of
// Multiprocessor Programming", 7.4). Past `yield_after` failures it also
// yields the CPU, so a preempted lock holder or committer on an
// oversubscribed machine gets to run. The delay never exceeds `max` pauses
// plus one yield: the back-off is bounded, never a sleep.
//
// Cost: a pause() is a few cycles of arithmetic plus the pauses themselves;
// nothing is shared between threads (the jitter generator is thread-local).
#ifndef QUIESCE_BASE_BACKOFF_HPP
#define QUIESCE_BASE_BACKOFF_HPP

#include <cstdint>
#include <thread>

#include <quiesce/base/config.hpp>

namespace quiesce::detail::base {

struct backoff_limits {
  std::uint32_t initial = 4;        // pauses in the first window (a power of two)
  std::uint32_t max = 1024;         // the largest window, in pauses (a power of two)
  std::uint32_t yield_after = 16;   // consecutive failures before each pause() also yields
};

class exponential_backoff {
 public:
  constexpr exponential_backoff() noexcept = default;
  constexpr explicit exponential_backoff(backoff_limits limits) noexcept : limits_(limits) {}

  // Waits after one more failure: pause_after(failures so far).
  void pause() noexcept { pause_after(++failures_, limits_); }

  // Forgets the failures (after a success, before reusing the object).
  constexpr void reset() noexcept { failures_ = 0; }

  constexpr std::uint32_t failures() const noexcept { return failures_; }

  // The window after the k-th consecutive failure (k >= 1): limits.initial
  // (1 if 0), doubled k - 1 times while below limits.max.
  static constexpr std::uint32_t window_after(std::uint32_t k, backoff_limits limits) noexcept {
    std::uint32_t w = limits.initial != 0 ? limits.initial : 1;
    for (std::uint32_t i = 1; i < k && w < limits.max; ++i) w <<= 1;
    return w;
  }

  // The policy without an object, for a loop that counts its failures
  // anyway: after the k-th consecutive failure (k >= 1), a random number of
  // pauses in [0, window_after(k)), and a yield once k >= yield_after. A
  // loop whose first attempt usually succeeds (atomically()) then builds no
  // back-off state before it: no stores on the fast path.
  static void pause_after(std::uint32_t k, backoff_limits limits = {}) noexcept {
    const std::uint32_t n = static_cast<std::uint32_t>(next_random() & (window_after(k, limits) - 1));
    for (std::uint32_t i = 0; i < n; ++i) cpu_relax();
    if (k >= limits.yield_after) std::this_thread::yield();
  }

 private:
  // xorshift64 (Marsaglia 2003), one state per thread, seeded from the
  // state's own address so that threads start apart.
  static std::uint64_t next_random() noexcept {
    thread_local std::uint64_t state = 0;
    if (state == 0) state = reinterpret_cast<std::uintptr_t>(&state) | 1;
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
  }

  backoff_limits limits_{};
  std::uint32_t failures_ = 0;
};

// The windows pause() has always used: initial, doubling up to max.
static_assert(exponential_backoff::window_after(1, {}) == 4 && exponential_backoff::window_after(2, {}) == 8 &&
              exponential_backoff::window_after(9, {}) == 1024 && exponential_backoff::window_after(4000, {}) == 1024);
static_assert(exponential_backoff::window_after(1, {0, 8, 16}) == 1 && exponential_backoff::window_after(5, {0, 8, 16}) == 8);

}  // namespace quiesce::detail::base

#endif  // QUIESCE_BASE_BACKOFF_HPP
