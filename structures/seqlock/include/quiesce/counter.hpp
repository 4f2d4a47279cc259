// quiesce/counter.hpp — shared event counters: cas_counter (one word, read
// exactly, updated by a compare-and-swap loop) and sharded_counter (one slot
// per CPU, increments never contend, reads sum the slots).
//
// What they are
//   cas_counter is the textbook lock-free read-modify-write: load the word,
//   compute the new value, compare_exchange_weak it in, retry if another
//   thread got there first (Herlihy & Shavit, "The Art of Multiprocessor
//   Programming", 5.8). Its add()/increment() exist for comparison and for
//   symmetry; its reason to exist is update(f), which applies any function
//   (a saturating add, a running maximum, a bounded decrement) atomically.
//
//   sharded_counter is the Linux kernel's percpu_counter / the "statistical
//   counter" of McKenney's "Is Parallel Programming Hard, And, If So, What
//   Can You Do About It?" (chapter 5): one 128-byte slot per CPU; add() goes
//   to the slot of the CPU the calling thread runs on, so threads on
//   different CPUs never write the same cache line; load() sums the slots.
//
// When to use which
//   * A plain std::atomic<std::int64_t>::fetch_add is the baseline and wins
//     whenever it fits: it is one `lock xadd` on x86-64 that cannot fail, so
//     it never retries. cas_counter::add() does the same work plus a load and
//     a compare, and under contention it can lose the race and loop (each
//     failure is another cache-line round trip; more threads lose more
//     races): perf/counter_bench inc/*/cas_counter vs inc/*/fetch_add, table
//     in the main job's out/counter_ratios.md (structures/seqlock/README.md "Counters"). Use
//     cas_counter for update(f), i.e. when the new value is not a sum.
//   * sharded_counter when many threads increment and few read: statistics,
//     event counts, bytes sent. Its add() costs about one uncontended
//     fetch_add wherever the other threads run; its load() costs one load per
//     slot and is not a snapshot (below). Not for a value that decisions
//     depend on exactly (an allocation limit, a reference count): use
//     std::atomic or cas_counter.
//
// Example
//   quiesce::sharded_counter requests;               // one slot per CPU
//   requests.increment();                            // hot path, any thread
//   std::int64_t seen = requests.load();             // stats thread
//   quiesce::cas_counter peak;
//   peak.update([&](std::int64_t v) { return std::max(v, depth); });  // running maximum
//   quiesce::cas_counter tokens{100};
//   tokens.update([](std::int64_t v) { return v > 0 ? v - 1 : 0; });  // saturating decrement
//
// Costs: perf/counter_bench.cpp, tabled by perf/counter_ratios.py in the
// main job's out/counter_ratios.md (structures/seqlock/README.md "Counters").
//
// Synchronisation table
//   cas_counter:     any call vs any call: nothing (one atomic word).
//   sharded_counter: add/increment/load vs each other: nothing.
//                    Destruction vs anything: the caller.
#ifndef QUIESCE_COUNTER_HPP
#define QUIESCE_COUNTER_HPP

#include <sched.h>
#include <unistd.h>

#include <atomic>
#include <bit>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <type_traits>

#include <quiesce/base/config.hpp>
#include <quiesce/base/layout.hpp>

namespace quiesce {

namespace detail::seqlock {

// The load half of a read-modify-write order (what a failed CAS, or an
// update that writes nothing, may use).
constexpr std::memory_order load_order(std::memory_order order) noexcept {
  if (order == std::memory_order_release) return std::memory_order_relaxed;
  if (order == std::memory_order_acq_rel) return std::memory_order_acquire;
  return order;
}

// Wrapping addition (the counter's arithmetic is modulo 2^64, as
// std::atomic<std::int64_t>::fetch_add's; signed overflow would be UB).
constexpr std::int64_t wrapping_add(std::int64_t a, std::int64_t b) noexcept {
  return static_cast<std::int64_t>(static_cast<std::uint64_t>(a) + static_cast<std::uint64_t>(b));
}

}  // namespace detail::seqlock

// cas_counter: a 64-bit counter updated by a compare-and-swap loop.
//
// Layout: alone on a 128-byte block (quiesce/base/layout.hpp),
// so that no neighbour's writes bounce its line.
//
// Progress: lock-free (a failed CAS means another thread's succeeded); not
// wait-free — a thread can in principle lose every race. No back-off: a
// failed lock cmpxchg leaves the line exclusive in this core's cache with
// the fresh value, so an immediate retry is the one most likely to win.
// Ordering: every operation takes a std::memory_order, seq_cst by default as
// std::atomic's (on x86-64 every RMW is a full barrier whatever it says);
// the counter orders nothing but itself under relaxed.
class alignas(detail::layout::false_sharing_block) cas_counter {
 public:
  using value_type = std::int64_t;

  constexpr cas_counter() noexcept = default;
  constexpr explicit cas_counter(std::int64_t initial) noexcept : value_(initial) {}
  cas_counter(const cas_counter&) = delete;
  cas_counter& operator=(const cas_counter&) = delete;

  // add: value += delta (modulo 2^64); returns the value it replaced, as
  // fetch_add does. Threads: any. Cost: a load plus one lock cmpxchg per
  // attempt; prefer std::atomic::fetch_add, which never retries (see above).
  std::int64_t add(std::int64_t delta, std::memory_order order = std::memory_order_seq_cst) noexcept {
    std::int64_t old = value_.load(std::memory_order_relaxed);
    // Failure order relaxed: a failed CAS only refreshes `old`; `order`
    // applies to the successful exchange, which is the operation.
    while (!value_.compare_exchange_weak(old, detail::seqlock::wrapping_add(old, delta), order,
                                         std::memory_order_relaxed)) {
    }
    return old;
  }
  std::int64_t increment(std::memory_order order = std::memory_order_seq_cst) noexcept { return add(1, order); }

  // load: the current value. Threads: any. Cost: one plain load on x86-64.
  [[nodiscard]] std::int64_t load(std::memory_order order = std::memory_order_seq_cst) const noexcept {
    return value_.load(order);
  }

  // update: value = f(value), atomically; returns the value f was applied
  // to (the one replaced). f(std::int64_t) -> std::int64_t may run several
  // times (once per attempt), on values other threads overwrite before it
  // commits: it must be a pure function of its argument (no side effects
  // that may not repeat). When f returns its argument unchanged nothing is
  // written (no cache-line invalidation): the update then takes effect at the
  // load that read the value, with load_order(order). If f throws, nothing
  // is written and the exception propagates.
  //   Examples: running maximum `[&](v) { return std::max(v, x); }`,
  //   saturating add `[&](v) { return v > cap - d ? cap : v + d; }`.
  //   Threads: any. Progress: lock-free, as add().
  template <class F>
    requires std::is_invocable_r_v<std::int64_t, F&, std::int64_t>
  std::int64_t update(F f, std::memory_order order = std::memory_order_seq_cst) noexcept(
      std::is_nothrow_invocable_v<F&, std::int64_t>) {
    const std::memory_order load = detail::seqlock::load_order(order);
    std::int64_t old = value_.load(load);
    for (;;) {
      const std::int64_t desired = std::invoke(f, old);
      if (desired == old) return old;  // nothing to write: linearises at the load of `old`
      // Failure order `load`: a failed CAS hands f a value read with the
      // caller's load ordering, and may end the loop through the early return.
      if (value_.compare_exchange_weak(old, desired, order, load)) return old;
    }
  }

 private:
  std::atomic<std::int64_t> value_{0};
};
static_assert(detail::layout::owns_blocks<cas_counter>);

namespace detail::seqlock {

// One shard of a sharded_counter, alone on its 128-byte block.
struct alignas(layout::false_sharing_block) shard_slot {
  std::atomic<std::int64_t> value{0};
};
static_assert(layout::owns_blocks<shard_slot>);

// Shards by default: the number of configured CPUs rounded up to a power of
// two (CPU numbers are below it, so per-CPU slots never collide), at most
// max_shards.
inline constexpr std::size_t max_shards = std::size_t{1} << 16;
inline std::size_t default_shards() noexcept {
  const long n = ::sysconf(_SC_NPROCESSORS_CONF);
  if (n <= 1) return 1;
  const auto u = static_cast<std::size_t>(n);
  return u >= max_shards ? max_shards : std::bit_ceil(u);
}

// Slot pickers: each returns an index, reduced modulo the shard count by the
// counter. Only contention depends on the choice, never the count: every
// slot is updated by atomic RMW, whichever threads share it.

// A per-thread number handed out round-robin at the thread's first use
// (shared by every counter: consecutive threads get consecutive slots).
inline constinit std::atomic<unsigned> next_thread_number{0};
inline constinit thread_local unsigned tls_thread_number = 0;  // 0: none yet, else number + 1
inline unsigned thread_number() noexcept {
  unsigned n = tls_thread_number;
  if (n == 0) [[unlikely]] {
    // Relaxed: only uniqueness-ish spreading matters, not order.
    n = next_thread_number.fetch_add(1, std::memory_order_relaxed) + 1;
    tls_thread_number = n;
  }
  return n - 1;
}
struct round_robin_picker {
  static unsigned index() noexcept { return thread_number(); }
};

// The calling thread's CPU (sched_getcpu(): glibc 2.35+ reads it from the
// thread's rseq area, a library call and one load) at every call.
inline unsigned current_cpu() noexcept {
  const int cpu = ::sched_getcpu();
  return cpu >= 0 ? static_cast<unsigned>(cpu) : thread_number();  // no getcpu: spread by thread
}
struct cpu_picker {
  static unsigned index() noexcept { return current_cpu(); }
};

// The calling thread's CPU, re-read every `refresh` calls (as the hazard
// pointers' node cache does): a thread-local decrement and test per call,
// sched_getcpu() once per `refresh` calls. A thread that migrates
// keeps using its old CPU's slot for at most `refresh` more adds — shared,
// for that while, with the thread now running there (contention, never a
// wrong count).
struct cpu_cache {
  unsigned cpu = 0;
  unsigned left = 0;
};
inline constinit thread_local cpu_cache tls_cpu{};
struct cached_cpu_picker {
  static constexpr unsigned refresh = 64;
  static unsigned index() noexcept {
    cpu_cache& c = tls_cpu;
    if (c.left == 0) [[unlikely]] {
      c.cpu = current_cpu();
      c.left = refresh;
    }
    --c.left;
    return c.cpu;
  }
};

// The whole of sharded_counter, with the slot picker as a parameter (the
// benchmark measures the other pickers through it).
template <class Picker>
class sharded_counter_base {
 public:
  sharded_counter_base() : sharded_counter_base(default_shards()) {}
  explicit sharded_counter_base(std::size_t shards) : mask_(checked_shards(shards) - 1), slots_(new shard_slot[mask_ + 1]) {}
  sharded_counter_base(const sharded_counter_base&) = delete;
  sharded_counter_base& operator=(const sharded_counter_base&) = delete;

  void add(std::int64_t delta) noexcept {
    // Relaxed: the count orders no other memory (documented); atomicity
    // alone makes every add count, even when threads share a slot.
    slots_[Picker::index() & mask_].value.fetch_add(delta, std::memory_order_relaxed);
  }
  void increment() noexcept { add(1); }

  [[nodiscard]] std::int64_t load() const noexcept {
    // Relaxed loads, summed modulo 2^64 (a slot may wrap, the total is
    // still right). Each slot's loads by one thread never go backwards
    // (read-read coherence), so with only positive adds the sum never
    // decreases between two loads ordered by happens-before.
    std::uint64_t sum = 0;
    for (std::size_t i = 0; i <= mask_; ++i)
      sum += static_cast<std::uint64_t>(slots_[i].value.load(std::memory_order_relaxed));
    return static_cast<std::int64_t>(sum);
  }

  [[nodiscard]] std::size_t shards() const noexcept { return mask_ + 1; }

 private:
  static std::size_t checked_shards(std::size_t shards) {
    if (shards == 0 || shards > max_shards)
      throw std::invalid_argument("quiesce::sharded_counter: " + std::to_string(shards) +
                                  " shards requested; pass 1 to " + std::to_string(max_shards) +
                                  " (rounded up to a power of two), or use the default constructor (one per CPU)");
    return std::bit_ceil(shards);
  }

  std::size_t mask_;  // shards - 1 (shards a power of two); immutable
  std::unique_ptr<shard_slot[]> slots_;
};

}  // namespace detail::seqlock

// sharded_counter: a 64-bit counter split into per-CPU slots.
//
//   sharded_counter()           one slot per configured CPU, rounded up to
//                               a power of two (sysconf(_SC_NPROCESSORS_CONF))
//   sharded_counter(n)          n slots rounded up to a power of two; n of 0
//                               or above 65,536: std::invalid_argument
//   void add(int64_t) noexcept  add to the calling CPU's slot (any thread)
//   void increment() noexcept   add(1)
//   int64_t load() const noexcept  the sum of the slots (any thread)
//   size_t shards() const noexcept
//
// Slot choice: the CPU the thread last ran on, from sched_getcpu(), cached in
// a thread-local and re-read every 64 adds (detail::seqlock::
// cached_cpu_picker). Threads that run at the same time run on different
// CPUs, so they write different lines; a migrated thread shares a slot for at
// most 64 adds. The alternatives (perf/counter_bench inc/*/sharded_getcpu
// and inc/*/sharded_rr vs inc/*/sharded; table in the main job's
// out/counter_ratios.md): calling sched_getcpu() on every add puts a call
// and a load on every add; a thread number handed out round-robin (one
// thread-local load) is as cheap as the cache, but puts threads that run at
// the same time in one slot whenever thread creation and exit have left
// their numbers congruent modulo the shard count: two threads then write
// one cache line.
//
// Memory: 128 bytes per slot, heap-allocated (256 bytes on 2 CPUs, 32 KiB on
// 256): for many counters on a big machine, pass a smaller shard count.
//
// Contract of load(): NOT a linearizable snapshot. It reads the slots one by
// one while adds go on, so it may count an add that happened after another
// add it misses. What holds:
//   * exact when quiescent: if every add() happens-before the load() (the
//     adding threads were joined, or published "done" with release and the
//     reader acquired it), load() returns the exact sum;
//   * monotone for increment-only use: with only non-negative deltas, a
//     load() that happens-after another returns at least as much (each slot
//     only grows, and coherence never lets a later read of it see less);
//   * with negative deltas, a concurrent load() may return a value the
//     counter never held (even one below every true value) — a gauge that
//     goes up and down should be read quiescent, or kept in a std::atomic.
// Ordering: all relaxed. add() publishes nothing and load() acquires
// nothing: do not use the count to decide that other data is ready.
// Cost: add() one uncontended lock xadd plus a thread-local check; load()
// one load per slot (one cache miss per slot written since the last load).
class sharded_counter : public detail::seqlock::sharded_counter_base<detail::seqlock::cached_cpu_picker> {
  using base = detail::seqlock::sharded_counter_base<detail::seqlock::cached_cpu_picker>;

 public:
  using value_type = std::int64_t;
  using base::base;
};

}  // namespace quiesce

#endif  // QUIESCE_COUNTER_HPP
