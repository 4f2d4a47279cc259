// quiesce/vector_clock.hpp — vector clocks: a value type that characterises
// causality (happened-before) between the events of a set of processes.
//
// What it is
//   One counter per process (replica, node, actor), indexed by a dense small
//   id 0, 1, 2, .... A process increments its own entry at each local event
//   and each send, attaches a copy to every message, and on receipt takes the
//   pointwise maximum with the message's clock before incrementing its own
//   entry. Then for any two events e, f with clocks V(e), V(f):
//     e happened before f  <=>  V(e) < V(f)   (every entry <=, one entry <)
//     e, f concurrent      <=>  neither V(e) <= V(f) nor V(f) <= V(e)
//   (C. J. Fidge, "Timestamps in Message-Passing Systems That Preserve the
//   Partial Ordering", ACSC 1988; F. Mattern, "Virtual Time and Global
//   States of Distributed Systems", Parallel and Distributed Algorithms,
//   1989.) Lamport clocks only give e -> f  =>  L(e) < L(f); vector clocks
//   give both directions, so concurrency (a conflict, a race) is detected.
//
// Example (process `me` of a replicated store)
//   quiesce::vector_clock vc;
//   vc.increment(me);                      // local event (a write)
//   send(msg{payload, vc});                // a send is an event: increment first
//   vc.receive(me, incoming.clock);        // join, then count the receive
//   if (quiesce::concurrent_with(a.clock, b.clock)) resolve_conflict(a, b);
//   switch (a.clock <=> b.clock) { ... }   // std::partial_ordering
//
// Design
//   Size is dynamic: membership is usually known only at run time, and two
//   clocks of different lengths compare as if the shorter one had zeros in
//   the missing entries (a process that has never been heard of has counter
//   0). So {1, 2} == {1, 2, 0}, and increment(id)/merge() grow the clock as
//   needed. Storage is a small buffer of `Inline` counters (8 by default:
//   64 bytes, a replica group or a small cluster) in the object itself, and
//   a heap array beyond that, so clocks of small systems never allocate.
//   Counters are 64-bit and never wrap: increment() of a counter at its
//   maximum throws std::overflow_error and leaves the clock unchanged.
//   Ids above max_processes - 1 (65,535) throw std::out_of_range: ids are
//   meant to be dense, and a stray huge id would otherwise allocate
//   gigabytes.
//
// Costs (perf/logical_clock_bench; see structures/clocks/README.md "Logical clocks" for ratios)
//   merge, compare, ==: one pass over max(size) counters, no allocation
//   while both fit the small buffer or the target has capacity; compare()
//   stops soon after the clocks are known to be concurrent. Copying copies
//   size() counters (and allocates beyond Inline). Against a plain loop over
//   two std::vector<uint64_t>: merge does the same per-entry work; compare
//   adds the handling of different sizes, which shows on short clocks
//   (perf/logical_clock_bench vc_merge/* and vc_compare/*; table in the
//   main job's out/logical_clock_ratios.md).
//
// Thread safety
//   A plain value: const operations may run concurrently, anything that
//   modifies a clock needs exclusive access (as for std::vector). Share one
//   between threads under a lock, or give each thread its own.
#ifndef QUIESCE_VECTOR_CLOCK_HPP
#define QUIESCE_VECTOR_CLOCK_HPP

#include <algorithm>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>

namespace quiesce {

// A vector clock keeping up to Inline counters without allocating.
template <std::size_t Inline = 8>
class basic_vector_clock {
  static_assert(Inline >= 1, "basic_vector_clock<Inline> needs an inline capacity of at least 1");

 public:
  using counter_type = std::uint64_t;
  using id_type = std::uint32_t;
  // Process ids are 0 .. max_processes - 1.
  static constexpr std::size_t max_processes = std::size_t{1} << 16;
  static constexpr std::size_t inline_capacity = Inline;

  // The all-zero clock (no event yet). No allocation.
  basic_vector_clock() noexcept = default;

  // A clock with the given counters, entry i for process i (tests,
  // deserialisation). Throws std::length_error beyond max_processes entries.
  basic_vector_clock(std::initializer_list<counter_type> counters)
      : basic_vector_clock(std::span<const counter_type>(counters.begin(), counters.size())) {}
  explicit basic_vector_clock(std::span<const counter_type> counters) {
    if (counters.size() > max_processes) {
      throw std::length_error("quiesce::vector_clock: " + std::to_string(counters.size()) +
                              " entries, more than max_processes (" + std::to_string(max_processes) +
                              "); process ids must be dense small integers");
    }
    grow(counters.size());
    std::copy(counters.begin(), counters.end(), data_);
  }

  basic_vector_clock(const basic_vector_clock& o) {
    grow(o.size_);
    std::copy_n(o.data_, o.size_, data_);
  }
  basic_vector_clock(basic_vector_clock&& o) noexcept { steal(o); }
  basic_vector_clock& operator=(const basic_vector_clock& o) {
    if (this != &o) {
      if (o.size_ > capacity_) {
        basic_vector_clock copy(o);
        release();
        steal(copy);
      } else {
        std::copy_n(o.data_, o.size_, data_);
        size_ = o.size_;
      }
    }
    return *this;
  }
  basic_vector_clock& operator=(basic_vector_clock&& o) noexcept {
    if (this != &o) {
      release();
      steal(o);
    }
    return *this;
  }
  ~basic_vector_clock() { release(); }

  // Counter of process `id`; 0 for an id beyond size(). O(1), no throw.
  [[nodiscard]] counter_type operator[](id_type id) const noexcept { return id < size_ ? data_[id] : 0; }

  // Entries stored (1 + the highest id ever incremented, merged or given);
  // entries beyond it are 0. Two clocks may be equal with different sizes.
  [[nodiscard]] std::size_t size() const noexcept { return size_; }
  // The stored counters, entry i for process i.
  [[nodiscard]] std::span<const counter_type> counters() const noexcept { return {data_, size_}; }

  // A local event or a send at process `id`: its counter + 1, returned.
  // Throws std::out_of_range for id >= max_processes, std::overflow_error
  // when the counter is at its maximum (the clock is then unchanged), and
  // std::bad_alloc when growing past the inline capacity fails.
  counter_type increment(id_type id) {
    check_id(id, "increment");
    if (id < size_) {
      if (data_[id] == std::numeric_limits<counter_type>::max()) overflow(id);
    } else {
      grow(std::size_t{id} + 1);
    }
    return ++data_[id];
  }

  // The join: every entry becomes max(this[i], other[i]). Grows this clock
  // to other's size if shorter. No throw unless growing allocates and fails.
  basic_vector_clock& merge(const basic_vector_clock& other) {
    const std::size_t common = std::min(size_, other.size_);
    counter_type* a = data_;
    const counter_type* b = other.data_;
    for (std::size_t i = 0; i < common; ++i) a[i] = std::max(a[i], b[i]);
    if (other.size_ > size_) {
      const std::size_t old = size_;
      grow(other.size_);
      std::copy(other.data_ + old, other.data_ + other.size_, data_ + old);
    }
    return *this;
  }

  // A receive at process `id` of a message stamped `msg`: merge(msg), then
  // increment(id). Returns the new own counter. The overflow and range
  // checks come first: when they throw, the clock is unchanged.
  counter_type receive(id_type id, const basic_vector_clock& msg) {
    check_id(id, "receive");
    if (std::max((*this)[id], msg[id]) == std::numeric_limits<counter_type>::max()) overflow(id);
    merge(msg);
    return increment(id);
  }

  // Equality with missing entries read as 0: {1, 2} == {1, 2, 0}.
  friend bool operator==(const basic_vector_clock& a, const basic_vector_clock& b) noexcept {
    const std::size_t common = std::min(a.size_, b.size_);
    if (!std::equal(a.data_, a.data_ + common, b.data_)) return false;
    const basic_vector_clock& longer = a.size_ > b.size_ ? a : b;
    return std::all_of(longer.data_ + common, longer.data_ + longer.size_, [](counter_type x) { return x == 0; });
  }

  // The causal partial order: less (a happened before b), greater (b before
  // a), equivalent (equal clocks: the same event, or both empty), unordered
  // (concurrent). One pass; stops within 8 entries of the first pair that
  // shows the clocks concurrent.
  friend std::partial_ordering operator<=>(const basic_vector_clock& a, const basic_vector_clock& b) noexcept {
    bool less = false;     // some a[i] < b[i]
    bool greater = false;  // some a[i] > b[i]
    const std::size_t common = std::min(a.size_, b.size_);
    std::size_t i = 0;
    // Blocks of 8 without a branch inside (the compiler may vectorise them),
    // then the early exit: a per-entry exit adds a branch to every entry
    // and keeps the loop from vectorising.
    for (; i + 8 <= common; i += 8) {
#pragma GCC unroll 8
      for (std::size_t k = i; k < i + 8; ++k) {
        less |= a.data_[k] < b.data_[k];
        greater |= a.data_[k] > b.data_[k];
      }
      if (less && greater) return std::partial_ordering::unordered;
    }
    for (; i < common; ++i) {
      less |= a.data_[i] < b.data_[i];
      greater |= a.data_[i] > b.data_[i];
    }
    for (std::size_t i = common; i < a.size_; ++i) greater |= a.data_[i] != 0;
    for (std::size_t i = common; i < b.size_; ++i) less |= b.data_[i] != 0;
    if (less && greater) return std::partial_ordering::unordered;
    if (less) return std::partial_ordering::less;
    if (greater) return std::partial_ordering::greater;
    return std::partial_ordering::equivalent;
  }

 private:
  // Makes room for n entries (n > size_), new entries 0.
  void grow(std::size_t n) {
    const std::size_t old = size_;
    if (n > capacity_) {
      const std::size_t cap = std::min(max_processes, std::max(n, std::size_t{2} * capacity_));
      auto* fresh = new counter_type[cap];  // may throw: nothing changed yet
      std::copy_n(data_, old, fresh);
      release();
      data_ = fresh;
      capacity_ = static_cast<id_type>(cap);
    }
    std::fill(data_ + old, data_ + n, counter_type{0});
    size_ = static_cast<id_type>(n);
  }
  void release() noexcept {
    if (data_ != inline_) delete[] data_;
    data_ = inline_;
    capacity_ = Inline;
    size_ = 0;
  }
  // Takes o's contents; o is left empty (inline). *this must be released.
  void steal(basic_vector_clock& o) noexcept {
    if (o.data_ == o.inline_) {
      std::copy_n(o.inline_, o.size_, inline_);
      data_ = inline_;
      capacity_ = Inline;
    } else {
      data_ = o.data_;
      capacity_ = o.capacity_;
      o.data_ = o.inline_;
      o.capacity_ = Inline;
    }
    size_ = o.size_;
    o.size_ = 0;
  }
  static void check_id(id_type id, const char* op) {
    if (id >= max_processes) {
      throw std::out_of_range(std::string("quiesce::vector_clock::") + op + ": process id " + std::to_string(id) +
                              " is not below max_processes (" + std::to_string(max_processes) +
                              "); number processes densely from 0");
    }
  }
  [[noreturn]] static void overflow(id_type id) {
    throw std::overflow_error("quiesce::vector_clock: the counter of process " + std::to_string(id) +
                              " is at its maximum (2^64 - 1) and would wrap; the clock is unchanged");
  }

  counter_type* data_ = inline_;
  id_type size_ = 0;
  id_type capacity_ = Inline;
  counter_type inline_[Inline];
};

// The default: 8 counters inline.
using vector_clock = basic_vector_clock<>;

// a happened before b: a <= b entrywise and a != b.
template <std::size_t N>
[[nodiscard]] bool happens_before(const basic_vector_clock<N>& a, const basic_vector_clock<N>& b) noexcept {
  return (a <=> b) == std::partial_ordering::less;
}

// Neither happened before the other, and they differ (concurrent events).
template <std::size_t N>
[[nodiscard]] bool concurrent_with(const basic_vector_clock<N>& a, const basic_vector_clock<N>& b) noexcept {
  return (a <=> b) == std::partial_ordering::unordered;
}

// a <=> b, by name: less (a before b), greater, equivalent or unordered.
template <std::size_t N>
[[nodiscard]] std::partial_ordering compare(const basic_vector_clock<N>& a, const basic_vector_clock<N>& b) noexcept {
  return a <=> b;
}

}  // namespace quiesce

#endif  // QUIESCE_VECTOR_CLOCK_HPP
