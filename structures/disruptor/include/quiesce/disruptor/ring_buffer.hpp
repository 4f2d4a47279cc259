// quiesce/disruptor/ring_buffer.hpp — the Disruptor's ring: preallocated
// events, reused forever, claimed and published through a sequencer.
//
// What it is
//   ring_buffer<E, Sequencer> owns buffer_size() events of type E, built
//   once by an event factory, and a sequencer (single_producer_sequencer<W>
//   or multi_producer_sequencer<W>). Producers claim slots, write into the
//   events in place and publish; consumers (batch_event_processor,
//   event_poller) read them through sequence barriers. No allocation after
//   construction; the events are reused every lap, so an E that owns memory
//   (a std::string, a vector) keeps its capacity between laps.
//
// When to use it: hand-offs between threads at high rates where producers
// and consumers can be fixed up front (pipelines, fan-out to several
// consumers, batching I/O). When not: unbounded queues, consumers that come
// and go often, or one-off messages (a mutex queue is simpler). Compared
// with a SPSC queue (boost::lockfree::spsc_queue): several consumers can
// read each event (multicast, pipelines, diamonds) without copies, the
// consumer takes a whole batch per acquire load, and the producer reads the
// consumer's position only once per lap.
//
// Example
//   using namespace quiesce::disruptor;
//   struct event { std::int64_t value; };
//   ring_buffer<event, single_producer_sequencer<yielding_wait_strategy>> ring{1024, [] { return event{}; }};
//   sequence consumed;                             // a consumer's progress
//   ring.add_gating_sequences({&consumed});
//   ring.publish_event([](event& e, std::int64_t, std::int64_t v) { e.value = v; }, 42);
//   auto barrier = ring.new_barrier();
//   std::int64_t avail = barrier.wait_for(0);      // 0
//   /* use ring[0] */ consumed.set(avail);
//
// Memory and placement: the events live in one block aligned to and padded
// to 128 bytes (no neighbour shares its lines), or, with ring_memory{node},
// in pages bound to that NUMA node (numa::allocate_on_node, strict; throws
// std::invalid_argument for a node that does not exist). The sequencer's
// shared fields (the cursor, the producers' fields, the multi-producer
// availability array) go to the same node: sequencer().memory_blocks().
#ifndef QUIESCE_DISRUPTOR_RING_BUFFER_HPP
#define QUIESCE_DISRUPTOR_RING_BUFFER_HPP

#include <algorithm>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <iterator>
#include <new>
#include <optional>
#include <ranges>
#include <type_traits>
#include <utility>
#include <vector>

#include <quiesce/disruptor/sequence.hpp>
#include <quiesce/disruptor/sequence_barrier.hpp>
#include <quiesce/disruptor/sequencer.hpp>
#include <quiesce/disruptor/wait_strategy.hpp>
#include <quiesce/base/config.hpp>  // prefetch_for_write
#include <quiesce/numa/node_allocator.hpp>

namespace quiesce::disruptor {

// Aligned to, and filling, whole 128-byte blocks (as its sequencer): the
// producer reads the mask and the events' address on every claim, so no
// object another thread writes may share their lines.
template <class E, sequencer Sequencer>
class alignas(sequence_padding) ring_buffer {
  static_assert(std::is_object_v<E> && !std::is_const_v<E> && !std::is_array_v<E>,
                "ring_buffer<E, ...>: E must be a non-const, non-array object type (the events are rewritten in place)");
  static_assert(alignof(E) <= 4096, "ring_buffer<E, ...>: E is aligned beyond a page");

 public:
  using event_type = E;
  using sequencer_type = Sequencer;
  using barrier_type = sequence_barrier<Sequencer>;

  // Builds buffer_size events with factory() (called buffer_size times, in
  // order, on this thread) and the sequencer, whose wait strategy is built
  // from wait_args. Throws std::invalid_argument for a size that is not a
  // power of two (or 0, or above 2^30) and for a node that does not exist,
  // and whatever the factory throws (nothing leaks).
  template <class Factory, class... WaitArgs>
    requires std::is_invocable_r_v<E, Factory&>
  ring_buffer(std::size_t buffer_size, Factory&& factory, ring_memory where = {}, WaitArgs&&... wait_args)
      : sequencer_(make_sequencer(buffer_size, where, std::forward<WaitArgs>(wait_args)...)),
        mask_(static_cast<std::int64_t>(buffer_size) - 1),
        node_(where.node),
        bytes_(round_up(buffer_size * sizeof(E))) {
    entries_ = static_cast<E*>(allocate());
    std::size_t built = 0;
    try {
      for (; built < buffer_size; ++built) ::new (static_cast<void*>(entries_ + built)) E(std::invoke(factory));
    } catch (...) {
      destroy(built);
      throw;
    }
  }
  ~ring_buffer() { destroy(buffer_size()); }
  ring_buffer(const ring_buffer&) = delete;
  ring_buffer& operator=(const ring_buffer&) = delete;

  // The event for `seq` (slot seq mod buffer_size()). Any thread; the
  // caller owns the slot: claimed by it (producer) or made available to it
  // by a barrier and not yet released by its sequence (consumer).
  [[nodiscard]] E& operator[](std::int64_t seq) noexcept { return entries_[seq & mask_]; }
  [[nodiscard]] const E& operator[](std::int64_t seq) const noexcept { return entries_[seq & mask_]; }
  [[nodiscard]] E& get(std::int64_t seq) noexcept { return entries_[seq & mask_]; }

  // ---- producers (see sequencer.hpp for threads, progress and ordering) ----
  // Every claim also prefetches, for writing, the slot prefetch_slots past
  // the last one claimed (see prefetch_ahead()): a hint, nothing else.
  std::int64_t next(std::int64_t n = 1) { return prefetch_ahead(sequencer_.next(n)); }
  std::optional<std::int64_t> try_next(std::int64_t n = 1) {
    std::optional<std::int64_t> hi = sequencer_.try_next(n);
    if (hi) prefetch_ahead(*hi);
    return hi;
  }
  void publish(std::int64_t seq) noexcept { sequencer_.publish(seq); }
  void publish(std::int64_t lo, std::int64_t hi) noexcept { sequencer_.publish(lo, hi); }

  // Event translators: claims a slot, calls translator(event, seq, args...)
  // and publishes it. If the translator throws, the slot is published anyway
  // (as LMAX does: an unpublished claimed slot would stall every consumer)
  // and the exception propagates; write the translator so that a partly
  // written event is harmless, or catch inside it.
  template <class F, class... Args>
    requires std::invocable<F&, E&, std::int64_t, Args&...>
  void publish_event(F&& translator, Args&&... args) {
    const std::int64_t seq = next(1);
    publish_on_exit guard{this, seq, seq};
    std::invoke(translator, get(seq), seq, args...);
  }
  // As publish_event, but false (nothing claimed) when the ring is full.
  template <class F, class... Args>
    requires std::invocable<F&, E&, std::int64_t, Args&...>
  bool try_publish_event(F&& translator, Args&&... args) {
    const std::optional<std::int64_t> seq = try_next(1);
    if (!seq) return false;
    publish_on_exit guard{this, *seq, *seq};
    std::invoke(translator, get(*seq), *seq, args...);
    return true;
  }
  // Batch publishing: one claim and one publish for the whole range;
  // translator(event, seq, element) per element of `args`, in order. At
  // most buffer_size() elements (std::invalid_argument otherwise); an empty
  // range publishes nothing.
  template <class F, std::ranges::sized_range R>
    requires std::invocable<F&, E&, std::int64_t, std::ranges::range_reference_t<R>>
  void publish_events(F&& translator, R&& args) {
    const auto n = static_cast<std::int64_t>(std::ranges::size(args));
    if (n == 0) return;
    const std::int64_t hi = next(n);
    translate_all(translator, args, hi - n + 1, hi);
  }
  template <class F, std::ranges::sized_range R>
    requires std::invocable<F&, E&, std::int64_t, std::ranges::range_reference_t<R>>
  bool try_publish_events(F&& translator, R&& args) {
    const auto n = static_cast<std::int64_t>(std::ranges::size(args));
    if (n == 0) return true;
    const std::optional<std::int64_t> hi = try_next(n);
    if (!hi) return false;
    translate_all(translator, args, *hi - n + 1, *hi);
    return true;
  }

  [[nodiscard]] std::int64_t remaining_capacity() const noexcept { return sequencer_.remaining_capacity(); }
  [[nodiscard]] bool has_available_capacity(std::int64_t n) { return sequencer_.has_available_capacity(n); }
  [[nodiscard]] std::int64_t cursor() const noexcept { return sequencer_.cursor(); }
  [[nodiscard]] bool is_available(std::int64_t seq) const noexcept { return sequencer_.is_available(seq); }
  [[nodiscard]] std::size_t buffer_size() const noexcept { return sequencer_.buffer_size(); }

  // ---- consumers ----
  // A barrier that waits for the cursor (no dependents) or for the given
  // upstream consumers' sequences. The ring must outlive it.
  [[nodiscard]] barrier_type new_barrier(std::vector<const sequence*> dependents = {}) {
    return barrier_type(sequencer_, std::move(dependents));
  }
  // Consumers that gate the producers; any thread, also while producers run
  // (see sequencer.hpp: a consumer added late starts at the present).
  void add_gating_sequences(std::initializer_list<sequence*> seqs) { sequencer_.add_gating_sequences(seqs); }
  void add_gating_sequences(std::span<sequence* const> seqs) { sequencer_.add_gating_sequences(seqs); }
  bool remove_gating_sequence(const sequence& s) { return sequencer_.remove_gating_sequence(s); }
  [[nodiscard]] std::int64_t minimum_gating_sequence() const noexcept {
    return sequencer_.minimum_gating_sequence(sequencer_.cursor());
  }

  [[nodiscard]] Sequencer& sequencer() noexcept { return sequencer_; }
  // The node the events were placed on (-1: not placed).
  [[nodiscard]] int node() const noexcept { return node_; }
  // The events' memory block, for placement checks (numa::nodes_of_range).
  [[nodiscard]] const void* data() const noexcept { return entries_; }
  [[nodiscard]] std::size_t data_bytes() const noexcept { return bytes_; }

  // How far ahead of its claims a producer prefetches, in slots: about one
  // and a half cache lines of events (12 slots of 8-byte events; the next
  // slot for events of 96 bytes or more). structures/disruptor/README.md,
  // "Why the per-event rate swings", says how it was chosen.
  static constexpr std::int64_t prefetch_slots = std::max<std::int64_t>(1, static_cast<std::int64_t>(96 / sizeof(E)));

 private:
  // Called with the highest sequence of each claim. Prefetches, for writing,
  // the line of the slot prefetch_slots further on, so that the producer's
  // store to it, an event or two from now, finds the line already
  // exclusive. Without it, that store is the first to touch a line the
  // consumer last read a lap ago (or its hardware prefetcher fetched ahead
  // of it): the store waits in the store buffer for the invalidation, and
  // on x86 every later store, the cursor's release included, waits behind
  // it; once the buffer fills, the producer stalls. Only while that slot is
  // free by the sequencer's cached view of the slowest consumer
  // (cached_free(): no shared load for the single producer): when the ring
  // is full, or too small for the distance, the slot ahead is one a
  // consumer may still be reading, and taking its line would slow that
  // consumer. A sequencer without cached_free() gets no prefetch. A hint
  // only: no value, order or visibility changes.
  std::int64_t prefetch_ahead(std::int64_t hi) noexcept {
    if constexpr (requires(const Sequencer& cs) {
                    { cs.cached_free(hi) } -> std::same_as<bool>;
                  }) {
      if (sequencer_.cached_free(hi + prefetch_slots))
        quiesce::detail::base::prefetch_for_write(&entries_[(hi + prefetch_slots) & mask_]);
    }
    return hi;
  }

  // The sequencer, on the events' node when it takes a ring_memory (both
  // of quiesce's do); guaranteed elision: Sequencer need not be movable.
  template <class... WaitArgs>
  static Sequencer make_sequencer(std::size_t buffer_size, ring_memory where, WaitArgs&&... wait_args) {
    if constexpr (std::is_constructible_v<Sequencer, std::size_t, ring_memory, WaitArgs&&...>)
      return Sequencer(buffer_size, where, std::forward<WaitArgs>(wait_args)...);
    else
      return Sequencer(buffer_size, std::forward<WaitArgs>(wait_args)...);
  }
  static std::size_t round_up(std::size_t bytes) noexcept {
    return (bytes + sequence_padding - 1) / sequence_padding * sequence_padding;
  }
  void* allocate() {
    if (node_ >= 0) return numa::allocate_on_node(bytes_, node_, numa::placement::strict);
    return ::operator new(bytes_, std::align_val_t{alignment});
  }
  void destroy(std::size_t built) noexcept {
    if (entries_ == nullptr) return;
    for (std::size_t i = 0; i < built; ++i) entries_[i].~E();
    if (node_ >= 0)
      numa::deallocate_on_node(entries_, bytes_);
    else
      ::operator delete(static_cast<void*>(entries_), std::align_val_t{alignment});
    entries_ = nullptr;
  }
  template <class F, class R>
  void translate_all(F& translator, R& args, std::int64_t lo, std::int64_t hi) {
    publish_on_exit guard{this, lo, hi};
    std::int64_t seq = lo;
    for (auto&& a : args) {
      std::invoke(translator, get(seq), seq, a);
      ++seq;
    }
  }
  struct publish_on_exit {
    ring_buffer* self;
    std::int64_t lo, hi;
    ~publish_on_exit() { self->sequencer_.publish(lo, hi); }
  };

  static constexpr std::size_t alignment = alignof(E) > sequence_padding ? alignof(E) : sequence_padding;

  Sequencer sequencer_;
  std::int64_t mask_;
  int node_;
  std::size_t bytes_;
  E* entries_ = nullptr;
};

}  // namespace quiesce::disruptor

#endif  // QUIESCE_DISRUPTOR_RING_BUFFER_HPP
