// quiesce/disruptor/sequence.hpp — a padded atomic 64-bit sequence number,
// the one shared counter of the Disruptor (LMAX's Sequence).
//
// What it is
//   A std::atomic<std::int64_t> alone on a 128-byte-aligned pair of cache
//   lines. Producers publish through one (the sequencer's cursor), each
//   consumer advertises its progress through its own. Sequences start at -1
//   (nothing published / nothing consumed) and only grow; 63 bits do not
//   wrap in any realistic lifetime (2^63 events at 10^9/s is 292 years).
//
// Why 128 bytes: x86's adjacent-line prefetcher fetches cache lines in
//   64-byte-line pairs, so two counters 64 bytes apart still falsely share
//   (LMAX pads to 128 bytes for the same reason). sizeof and alignof are
//   static_asserted below.
//
// Example
//   quiesce::disruptor::sequence consumed;        // -1
//   consumed.set(41);                             // release: "I am done with 0..41"
//   std::int64_t upto = consumed.get();           // acquire
//
// Costs: get() is a plain load and set() a plain store on x86-64 (acquire
// and release are free there); add_and_get()/compare_and_set() are one lock
// xadd/cmpxchg (plus a cache-line transfer when another core holds the
// line).
#ifndef QUIESCE_DISRUPTOR_SEQUENCE_HPP
#define QUIESCE_DISRUPTOR_SEQUENCE_HPP

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <utility>
#include <vector>

#include <quiesce/base/config.hpp>

namespace quiesce::disruptor {

// The value of a sequence before anything was published or consumed.
inline constexpr std::int64_t initial_sequence_value = -1;

// The block every shared sequence owns: a pair of 64-byte cache lines.
inline constexpr std::size_t sequence_padding = ::quiesce::detail::base::cache_block;

class alignas(sequence_padding) sequence {
 public:
  explicit sequence(std::int64_t initial = initial_sequence_value) noexcept : value_(initial) {}
  sequence(const sequence&) = delete;
  sequence& operator=(const sequence&) = delete;

  // Any thread; wait-free. Acquire: pairs with the release in set() (or the
  // RMWs below), so everything the setter wrote before set(v) is visible to
  // a reader that gets v or later.
  [[nodiscard]] std::int64_t get() const noexcept { return value_.load(std::memory_order_acquire); }
  // Relaxed read, for the owner re-reading its own sequence (nothing to order).
  [[nodiscard]] std::int64_t get_relaxed() const noexcept { return value_.load(std::memory_order_relaxed); }

  // Any thread (normally only the owner); wait-free. Release: pairs with the
  // acquire in get() — publishes everything this thread wrote before.
  void set(std::int64_t v) noexcept { value_.store(v, std::memory_order_release); }
  // set() followed by a full fence (LMAX's setVolatile): later loads of this
  // thread are ordered after the store (StoreLoad), one xchg on x86-64.
  void set_volatile(std::int64_t v) noexcept { value_.store(v, std::memory_order_seq_cst); }

  // Any thread; lock-free. Acquire-release: the winner of a claim sees the
  // previous claimants' writes to the counter's history and publishes its own.
  bool compare_and_set(std::int64_t expected, std::int64_t desired) noexcept {
    return value_.compare_exchange_strong(expected, desired, std::memory_order_acq_rel, std::memory_order_acquire);
  }
  // Returns the new value. Acquire-release, as compare_and_set().
  std::int64_t add_and_get(std::int64_t n) noexcept { return value_.fetch_add(n, std::memory_order_acq_rel) + n; }
  std::int64_t increment_and_get() noexcept { return add_and_get(1); }
  // Returns the old value. Acquire-release.
  std::int64_t get_and_add(std::int64_t n) noexcept { return value_.fetch_add(n, std::memory_order_acq_rel); }

 private:
  std::atomic<std::int64_t> value_;
};

static_assert(alignof(sequence) == sequence_padding && sizeof(sequence) == sequence_padding,
              "a quiesce::disruptor::sequence must own a whole 128-byte pair of cache lines");
static_assert(std::atomic<std::int64_t>::is_always_lock_free, "the Disruptor needs lock-free 64-bit atomics");

// The smallest value among `seqs`, or `minimum` if that is smaller (LMAX's
// Util.getMinimumSequence). Each load is an acquire (pairs with the owner's
// set()). Any thread; O(seqs.size()).
[[nodiscard]] inline std::int64_t minimum_sequence(std::span<const sequence* const> seqs,
                                                   std::int64_t minimum = std::numeric_limits<std::int64_t>::max()) noexcept {
  for (const sequence* s : seqs) minimum = std::min(minimum, s->get());
  return minimum;
}

// What a consumer waits for: the minimum of the sequences it depends on (the
// processors upstream of it), or the producer's cursor when it depends on
// none. Built once, read by the one thread that waits. Not copyable (it
// points into its owner's storage); movable.
class dependent_sequences {
 public:
  dependent_sequences(const sequence& cursor, std::vector<const sequence*> dependents)
      : deps_(std::move(dependents)), single_(deps_.empty() ? &cursor : deps_.size() == 1 ? deps_[0] : nullptr) {}

  // The highest sequence every dependent has reached. Acquire loads (pair
  // with the dependents' set()): their writes to events up to the result
  // are visible. Any thread; wait-free.
  [[nodiscard]] std::int64_t get() const noexcept {
    if (single_ != nullptr) return single_->get();
    return minimum_sequence(deps_);
  }
  [[nodiscard]] std::span<const sequence* const> sequences() const noexcept { return deps_; }

 private:
  std::vector<const sequence*> deps_;
  const sequence* single_;  // the cursor or the one dependent; null for several
};

}  // namespace quiesce::disruptor

#endif  // QUIESCE_DISRUPTOR_SEQUENCE_HPP
