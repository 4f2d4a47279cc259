// perf/bench_pair.hpp — the paired rows' two-thread segments (stm_bench's
// transfer_2t_paired, lockfree_stack_queue_bench's <kind>/paired/...): a
// helper thread, pinned to the helper CPU once, runs thread 1's half of
// each segment while the calling (measuring) thread runs thread 0's, so
// that segments of different implementations can alternate on the same two
// pinned threads, back to back, with no thread started inside the timing.
#ifndef QUIESCE_PERF_BENCH_PAIR_HPP
#define QUIESCE_PERF_BENCH_PAIR_HPP

#include <pthread.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <utility>

#include <quiesce/base/config.hpp>

#include "bench_placement.hpp"

namespace quiesce::perf {

// A helper thread pinned to the helper CPU that runs each segment's second
// half while the measuring thread runs the first. run(f) returns the
// seconds from the start until both have run f(thread index).
class alignas(128) segment_pair {
 public:
  segment_pair() : helper_([this] { helper_loop(); }) {}
  ~segment_pair() {
    round_.store(-1, std::memory_order_release);
    helper_.join();
  }
  segment_pair(const segment_pair&) = delete;
  segment_pair& operator=(const segment_pair&) = delete;
  [[nodiscard]] bool pinned() {
    while (state_.load(std::memory_order_acquire) == 0) std::this_thread::yield();
    return state_.load(std::memory_order_acquire) == 1;
  }
  template <class F>
  double run(F& f) {
    job_ = [](void* p, int t) { (*static_cast<F*>(p))(t); };
    arg_ = &f;
    const int r = ++rounds_;
    const auto t0 = std::chrono::steady_clock::now();
    round_.store(r, std::memory_order_release);  // publishes job_ and arg_
    f(0);
    while (finished_.load(std::memory_order_acquire) != r) quiesce::detail::base::cpu_relax();
    const std::chrono::duration<double> took = std::chrono::steady_clock::now() - t0;
    return took.count();
  }

 private:
  void helper_loop() {
    state_.store(pin_thread(pthread_self(), g_cpus.helper) ? 1 : 2,
                 std::memory_order_release);
    for (int seen = 0;;) {
      int r;
      while ((r = round_.load(std::memory_order_acquire)) == seen) quiesce::detail::base::cpu_relax();
      if (r < 0) return;
      seen = r;
      job_(arg_, 1);
      finished_.store(r, std::memory_order_release);
    }
  }

  void (*job_)(void*, int) = nullptr;
  void* arg_ = nullptr;
  int rounds_ = 0;
  alignas(128) std::atomic<int> round_{0};
  alignas(128) std::atomic<int> finished_{0};
  alignas(128) std::atomic<int> state_{0};  // 1: pinned, 2: could not pin
  std::thread helper_;  // last: starts after the members above exist
};

// A segment's closure on a 128-byte block of its own: both threads read it
// (the helper through run()'s pointer), so it must not share a line with
// what the measuring thread writes next to it, such as its own stack
// frames (stm_bench's bm_transfer_paired: one implementation's halves paid
// a line transfer per transfer before it was). Read it into locals before a
// segment's loop.
template <class F>
struct alignas(128) segment_job {
  explicit segment_job(F f) : f(std::move(f)) {}
  void operator()(int t) { f(t); }
  F f;
};

}  // namespace quiesce::perf

#endif  // QUIESCE_PERF_BENCH_PAIR_HPP
