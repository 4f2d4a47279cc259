// quiesce/disruptor/sequencer.hpp — claiming and publishing ring slots:
// single_producer_sequencer<W> and multi_producer_sequencer<W>.
//
// What it is
//   A sequencer hands out sequence numbers (next(n) claims n consecutive
//   slots), makes them visible to consumers (publish) and keeps producers
//   from overwriting slots that the slowest gating consumer has not finished
//   (its "gating sequences"). It owns the wait strategy W that consumers
//   block in, and signals it after each publish.
//
//   single_producer_sequencer: one producing thread at a time. The claim
//   counter and a cached copy of the slowest consumer's sequence are plain
//   fields of the producer; the cursor (what is published) is one release
//   store per publish. next() reads the consumers' sequences only when the
//   cached value says the ring might be full: once per ring-lap at best.
//   multi_producer_sequencer: any number of producing threads. The cursor is
//   the claim counter (one lock xadd per next()); publication is marked per
//   slot in an availability array (the lap number of the sequence stored at
//   the slot's index), so producers publish out of order without waiting for
//   each other and consumers find the highest contiguous published sequence.
//
// When to use which: single when one thread (or one at a time, with
// synchronisation between them) produces — it is cheaper by a lock xadd per
// claim and a scan per consumer batch. Multi otherwise.
//
// Example (normally reached through ring_buffer, which owns one)
//   quiesce::disruptor::single_producer_sequencer<quiesce::disruptor::busy_spin_wait_strategy> s{1024};
//   quiesce::disruptor::sequence consumer;
//   s.add_gating_sequences({&consumer});
//   std::int64_t hi = s.next(4);         // claims hi-3 .. hi
//   /* write the four slots */
//   s.publish(hi - 3, hi);
//
// Costs: single_producer next()+publish() are plain loads and stores (the
// cursor store is a release store: a mov on x86-64); multi_producer adds
// one lock xadd per claim and a release store per slot. What dominates is
// the cursor's cache line: when the consumer has caught up and re-reads it
// after every publish, each publish costs a cross-core line transfer.
// perf/disruptor_bench measures the shapes against the SPSC and MPMC queues
// (the main job's out/disruptor_ratios.md, with the consumer's batch size).
//
// Full ring: next() waits for the slowest gating sequence, spinning 64 times
// with the pause hint, then yielding between checks (LMAX parks for 1 ns,
// which the kernel's timer slack stretches, 50 us by default). try_next()
// never waits.
//
// Synchronisation table
//   next/try_next/publish: single_producer — one thread at a time (checks
//     builds abort on overlapping claims); multi_producer — any threads.
//   add_gating_sequences/remove_gating_sequence/gating_sequences: any thread,
//     also while producers claim and consumers run (LMAX's dynamic
//     consumers): the gating set is an immutable array replaced as a whole
//     under a mutex (copy on write); producers read it without locking,
//     announcing themselves on a reader count that keeps a replaced array
//     alive until no producer can still be reading it. Cost to producers:
//     two atomic RMWs on the reader count each time they read the gating
//     sequences, i.e. only when the ring may be full (about once per lap).
//   cursor/is_available/highest_published_sequence/remaining_capacity: any
//     thread (remaining_capacity of a single_producer: the producer thread).
#ifndef QUIESCE_DISRUPTOR_SEQUENCER_HPP
#define QUIESCE_DISRUPTOR_SEQUENCER_HPP

#include <algorithm>
#include <atomic>
#include <bit>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include <quiesce/disruptor/sequence.hpp>
#include <quiesce/disruptor/wait_strategy.hpp>
#include <quiesce/numa/node_allocator.hpp>
#include <quiesce/base/config.hpp>
#include <quiesce/base/fatal.hpp>

namespace quiesce::disruptor {

// Largest ring: 2^30 slots (the multi-producer's availability flags hold the
// lap number in 32 bits; larger rings also would not fit most machines).
inline constexpr std::size_t max_buffer_size = std::size_t{1} << 30;

// Where a ring lives: node -1 (default) is ordinary heap memory, node >= 0
// pages bound to that NUMA node. Passed to a ring_buffer (its events) and to
// its sequencer (the cursor, the producers' fields and the multi-producer
// availability array: everything producers and consumers write).
struct ring_memory {
  int node = -1;
};

namespace detail {

// True when a constructor's first extra argument is a ring_memory (the
// sequencers' placement overload), false for wait-strategy arguments.
template <class... A>
inline constexpr bool starts_with_ring_memory = false;
template <class A0, class... A>
inline constexpr bool starts_with_ring_memory<A0, A...> = std::is_same_v<std::remove_cvref_t<A0>, ring_memory>;

inline void check_buffer_size(std::size_t size) {
  if (size == 0 || !std::has_single_bit(size))
    throw std::invalid_argument("quiesce::disruptor: ring size " + std::to_string(size) +
                                " is not a power of two; use a power of two such as " +
                                std::to_string(size == 0 ? 1024 : std::bit_ceil(size)));
  if (size > max_buffer_size)
    throw std::invalid_argument("quiesce::disruptor: ring size " + std::to_string(size) +
                                " is too large; the maximum is 2^30 (1073741824) slots");
}

[[noreturn, gnu::cold, gnu::noinline]] inline void throw_bad_claim(std::int64_t n, std::size_t size) {
  throw std::invalid_argument("quiesce::disruptor: cannot claim " + std::to_string(n) + " slots of a ring of " +
                              std::to_string(size) + "; claim between 1 and the ring size (publish larger batches in parts)");
}
// Every claim runs this: two compares inline, the message out of line (the
// whole check used to be one call per claim: too large to inline).
inline void check_claim(std::int64_t n, std::size_t size) {
  if (n < 1 || static_cast<std::uint64_t>(n) > size) [[unlikely]]
    throw_bad_claim(n, size);
}

// The producer's back-off while the ring is full.
class producer_backoff {
 public:
  void pause() noexcept {
    if (spins_ < 64) {
      ++spins_;
      quiesce::detail::base::cpu_relax();
    } else {
      std::this_thread::yield();
    }
  }

 private:
  int spins_ = 0;
};

// The gating sequences: an immutable array, replaced as a whole.
struct gating_set {
  std::vector<const sequence*> seqs;
};

struct alignas(sequence_padding) reader_count {
  std::atomic<std::int64_t> value{0};
};
// The fields producers and consumers write, each in its own 128-byte slot:
// the cursor, the producers' own fields P, the count of producers reading the
// gating set. One block per sequencer, on the ring's node.
template <class P>
struct sequencer_shared_state {
  sequence cursor;
  P producer;
  reader_count gating_readers;  // producers RMW it when they read the gating set
};

// What both sequencers share: the size, the wait strategy, the cursor and
// the gating sequences. The fields producers and consumers write (the
// cursor, the producers' own fields P, the gating reader count) live in one
// block of 128-byte-aligned slots on the ring's node (make_on_node).
//
// The object itself is aligned to, and fills, whole 128-byte blocks: every
// claim reads its fields (the size, the pointer to the shared block, the
// wait strategy), so a neighbour that another thread writes must not share
// their cache lines. Without this, a sequencer (or the ring_buffer holding
// it) declared on the producer's stack beside a handler that the consumer
// updates per event costs the producer a cache miss per claim, and whether
// the two share a line depends on where the stack happens to start (see
// the Disruptor README, "why the per-event rate swings").
template <wait_strategy W, class P>
class alignas(sequence_padding) sequencer_base {
 public:
  using wait_strategy_type = W;

  sequencer_base(const sequencer_base&) = delete;
  sequencer_base& operator=(const sequencer_base&) = delete;

  [[nodiscard]] std::size_t buffer_size() const noexcept { return size_; }
  // The highest claimed (multi) or published (single) sequence. Acquire.
  [[nodiscard]] std::int64_t cursor() const noexcept { return cursor_.get(); }
  [[nodiscard]] const sequence& cursor_sequence() const noexcept { return cursor_; }
  [[nodiscard]] W& wait_strategy() noexcept { return wait_; }

  // Adds consumers whose progress the producer must not overtake. Each is
  // set to the cursor, and set to the cursor again once the producers can
  // see it: a consumer added late starts at the present, after every slot a
  // producer may have claimed against the old set (as LMAX's
  // addGatingSequences). Add a consumer before it starts reading. With no
  // gating sequence at all, producers never wait and overwrite unconsumed
  // slots. Any thread, any time (see the synchronisation table);
  // std::invalid_argument for a null sequence (nothing is added then).
  void add_gating_sequences(std::initializer_list<sequence*> seqs) { add_gating_sequences(std::span(seqs.begin(), seqs.size())); }
  void add_gating_sequences(std::span<sequence* const> seqs) {
    for (sequence* s : seqs)
      if (s == nullptr) throw std::invalid_argument("quiesce::disruptor: add_gating_sequences: null sequence");
    std::lock_guard lock(gating_mutex_);
    auto next = std::make_unique<gating_set>(*gating_.load(std::memory_order_relaxed));
    const std::int64_t before = cursor_.get();
    for (sequence* s : seqs) {
      s->set(before);
      next->seqs.push_back(s);
    }
    replace_gating(std::move(next));
    const std::int64_t after = cursor_.get();
    for (sequence* s : seqs) s->set(after);
  }
  // Removes every occurrence of `s`; false if it was not there. Any thread,
  // any time: once it returns, producers no longer wait for `s` (a producer
  // in the middle of a claim may still read it once).
  bool remove_gating_sequence(const sequence& s) {
    std::lock_guard lock(gating_mutex_);
    auto next = std::make_unique<gating_set>(*gating_.load(std::memory_order_relaxed));
    if (std::erase(next->seqs, &s) == 0) return false;
    replace_gating(std::move(next));
    return true;
  }
  // A copy of the gating sequences as they are now. Any thread.
  [[nodiscard]] std::vector<const sequence*> gating_sequences() const {
    std::lock_guard lock(gating_mutex_);
    return gating_.load(std::memory_order_relaxed)->seqs;
  }
  // The slowest gating consumer's sequence, or `fallback` (no gating
  // sequences, or all ahead of it). Acquire loads: pairs with each
  // consumer's release set(), so its reads of the slots it passed are done
  // before the producer rewrites them. Any thread; lock-free.
  [[nodiscard]] std::int64_t minimum_gating_sequence(std::int64_t fallback) const noexcept {
    // Seq_cst increment, then seq_cst load of the set: against the writer's
    // seq_cst exchange, then seq_cst load of the count (replace_gating), one
    // of the two sees the other: a reader that got the old set is counted
    // when the writer looks, or it got the new set.
    state_->gating_readers.value.fetch_add(1, std::memory_order_seq_cst);
    const gating_set* g = gating_.load(std::memory_order_seq_cst);
    const std::int64_t m = minimum_sequence(g->seqs, fallback);
    // Release: this reader's reads of the set happen before a writer that
    // sees the count it leaves frees the set.
    state_->gating_readers.value.fetch_sub(1, std::memory_order_release);
    return m;
  }

  // The node the shared fields were placed on (-1: ordinary heap memory).
  [[nodiscard]] int node() const noexcept { return state_.get_deleter().node(); }

  ~sequencer_base() { delete gating_.load(std::memory_order_relaxed); }

 protected:
  using shared_state = sequencer_shared_state<P>;

  template <class... WaitArgs>
  sequencer_base(std::size_t size, ring_memory where, WaitArgs&&... wait_args)
      : size_((check_buffer_size(size), size)),
        state_(numa::make_on_node<shared_state>(where.node)),
        wait_(std::forward<WaitArgs>(wait_args)...) {}

  // The sequence the slowest consumer must have reached before slot `seq`
  // may be written: the slot's previous occupant, a lap earlier. The claims
  // wait while it is above the consumers' minimum; cached_free() compares
  // it with the producer's cached minimum.
  [[nodiscard]] std::int64_t wrap_point_of(std::int64_t seq) const noexcept {
    return seq - static_cast<std::int64_t>(size_);
  }

  // The shared block, for placement checks.
  [[nodiscard]] std::span<const std::byte> state_bytes() const noexcept {
    return {reinterpret_cast<const std::byte*>(state_.get()), sizeof(shared_state)};
  }

  std::size_t size_;
  std::unique_ptr<shared_state, numa::node_deleter<shared_state>> state_;
  sequence& cursor_ = state_->cursor;
  W wait_;

 private:
  // Publishes `next` as the gating set and frees the replaced sets that no
  // producer can still be reading. Under gating_mutex_.
  void replace_gating(std::unique_ptr<gating_set> next) {
    retired_gating_.emplace_back(gating_.exchange(next.release(), std::memory_order_seq_cst));
    // Acquire (seq_cst): pairs with the readers' release decrement. Zero
    // readers now: none holds a replaced set (one that arrives later reads
    // the new one). Otherwise keep them for the next replacement (or the
    // destructor): producers read the set rarely, so this stays short.
    if (state_->gating_readers.value.load(std::memory_order_seq_cst) == 0) retired_gating_.clear();
  }

  std::atomic<const gating_set*> gating_{new gating_set{}};
  mutable std::mutex gating_mutex_;      // serialises add/remove
  std::vector<std::unique_ptr<const gating_set>> retired_gating_;  // under gating_mutex_
};

}  // namespace detail

namespace detail {
// The single producer's own fields (never read by consumers).
struct alignas(sequence_padding) single_producer_fields {
  std::int64_t next_value = initial_sequence_value;     // highest claimed
  std::int64_t cached_gating = initial_sequence_value;  // slowest consumer, as last read
};
}  // namespace detail

// single_producer_sequencer<W>: see the file comment. The ring size must be
// a power of two (std::invalid_argument naming the size otherwise).
template <wait_strategy W>
class single_producer_sequencer : public detail::sequencer_base<W, detail::single_producer_fields> {
  using base = detail::sequencer_base<W, detail::single_producer_fields>;

 public:
  // W is built from wait_args (wait strategies hold mutexes: built in
  // place). With a ring_memory{node}, the cursor and the producer's fields
  // are on that node (std::invalid_argument for a node the machine lacks);
  // without one, on the heap, each on its own 128-byte block.
  template <class... WaitArgs>
    requires(!detail::starts_with_ring_memory<WaitArgs...>)
  explicit single_producer_sequencer(std::size_t buffer_size, WaitArgs&&... wait_args)
      : base(buffer_size, ring_memory{}, std::forward<WaitArgs>(wait_args)...) {}
  template <class... WaitArgs>
  single_producer_sequencer(std::size_t buffer_size, ring_memory where, WaitArgs&&... wait_args)
      : base(buffer_size, where, std::forward<WaitArgs>(wait_args)...) {}

  // The memory producers and consumers write (for placement checks:
  // numa::nodes_of_range): the block with the cursor and the producer's fields.
  [[nodiscard]] std::vector<std::span<const std::byte>> memory_blocks() const { return {this->state_bytes()}; }

  // Claims the next n slots (1 <= n <= buffer_size(), else
  // std::invalid_argument) and returns the highest; the slots are
  // [result - n + 1, result]. Waits while the ring is full (see above).
  //   Threads: the producer (one at a time). Progress: blocking (on the
  //   slowest gating consumer). Ordering: acquire on the gating sequences it
  //   reads, so consumers are done with the returned slots.
  std::int64_t next(std::int64_t n = 1) {
    detail::check_claim(n, this->size_);
    claim_scope scope(*this);
    const std::int64_t current = p_.next_value;
    const std::int64_t next_value = current + n;
    const std::int64_t wrap_point = this->wrap_point_of(next_value);
    const std::int64_t cached = p_.cached_gating;
    if (wrap_point > cached || cached > current) {
      std::int64_t min_seq;
      detail::producer_backoff backoff;
      while (wrap_point > (min_seq = this->minimum_gating_sequence(current))) backoff.pause();
      p_.cached_gating = min_seq;
    }
    p_.next_value = next_value;
    return next_value;
  }

  // As next(n), but never waits: std::nullopt when fewer than n slots are
  // free. Threads: the producer. Progress: wait-free.
  std::optional<std::int64_t> try_next(std::int64_t n = 1) {
    detail::check_claim(n, this->size_);
    claim_scope scope(*this);
    if (!has_capacity(n)) return std::nullopt;
    p_.next_value += n;
    return p_.next_value;
  }

  // True if n more slots could be claimed now without waiting. The producer.
  [[nodiscard]] bool has_available_capacity(std::int64_t n) { return has_capacity(n); }
  // Free slots: buffer_size() minus claimed-but-unconsumed. The producer.
  [[nodiscard]] std::int64_t remaining_capacity() const noexcept {
    const std::int64_t produced = p_.next_value;
    return static_cast<std::int64_t>(this->size_) - (produced - this->minimum_gating_sequence(produced));
  }

  // Makes every claimed slot up to `seq` visible to consumers.
  //   Threads: the producer. Progress: wait-free (plus the wait strategy's
  //   signal: blocking strategies take a mutex). Ordering: release — pairs
  //   with the consumers' acquire loads of the cursor; the slot writes
  //   before it are visible to a consumer that sees seq.
  //   Checks builds: publishing a sequence never claimed, or one at or
  //   below the cursor, is fatal.
  void publish(std::int64_t seq) noexcept {
    if constexpr (quiesce::detail::base::checks_enabled) check_publish(seq, seq);
    this->cursor_.set(seq);  // release: pairs with the acquire in dependent_sequences::get() via the barrier
    this->wait_.signal_all_when_blocking();
  }
  // Publishes [lo, hi] (one cursor store: a single producer publishes in order).
  void publish(std::int64_t lo, std::int64_t hi) noexcept {
    if constexpr (quiesce::detail::base::checks_enabled) check_publish(lo, hi);
    this->cursor_.set(hi);  // release, as publish(seq)
    this->wait_.signal_all_when_blocking();
  }

  // True if `seq` is published and not yet overwritable. Any thread.
  [[nodiscard]] bool is_available(std::int64_t seq) const noexcept {
    const std::int64_t c = this->cursor_.get();
    return seq <= c && seq > this->wrap_point_of(c);
  }
  // The highest published sequence in [lo, available] (here: available; the
  // single producer publishes in order). Any thread.
  [[nodiscard]] std::int64_t highest_published_sequence(std::int64_t, std::int64_t available) const noexcept {
    return available;
  }

  // True if slot `seq` was consumed a lap ago by the slowest consumer as the
  // producer last read it (its cached copy; no shared load). A hint for
  // ring_buffer's write prefetch, never a claim: the producer's thread.
  [[nodiscard]] bool cached_free(std::int64_t seq) const noexcept {
    return this->wrap_point_of(seq) <= p_.cached_gating;
  }

 private:
  bool has_capacity(std::int64_t n) {
    const std::int64_t current = p_.next_value;
    const std::int64_t wrap_point = this->wrap_point_of(current + n);
    const std::int64_t cached = p_.cached_gating;
    if (wrap_point > cached || cached > current) {
      const std::int64_t min_seq = this->minimum_gating_sequence(current);
      p_.cached_gating = min_seq;
      if (wrap_point > min_seq) return false;
    }
    return true;
  }

  void check_publish(std::int64_t lo, std::int64_t hi) const noexcept {
    if (lo > hi || hi > p_.next_value || lo <= this->cursor_.get_relaxed())
      quiesce::detail::base::fatal(
          "single_producer_sequencer::publish: range not claimed or already published",
          "publish exactly the sequences next()/try_next() returned, once each, in order");
  }

  // Checks builds: two claims at once on a single-producer sequencer are fatal.
  struct claim_scope {
    explicit claim_scope(single_producer_sequencer& s) noexcept : self(s) {
      if constexpr (quiesce::detail::base::checks_enabled) {
        // Acquire: pairs with the release in ~claim_scope of the previous claim.
        if (self.claiming_.exchange(true, std::memory_order_acquire))
          quiesce::detail::base::fatal(
              "two threads claimed slots of a single_producer_sequencer at once",
              "use multi_producer_sequencer (or a ring_buffer made with it) for several producer threads");
      }
    }
    ~claim_scope() {
      if constexpr (quiesce::detail::base::checks_enabled) self.claiming_.store(false, std::memory_order_release);
    }
    single_producer_sequencer& self;
  };

  // The producer's own fields, on their own 128-byte block (never read by consumers).
  detail::single_producer_fields& p_ = this->state_->producer;  // in the shared block
  // Present in every build (layout does not depend on QUIESCE_CHECKS).
  std::atomic<bool> claiming_{false};
};

// multi_producer_sequencer<W>: see the file comment.
template <wait_strategy W>
class multi_producer_sequencer : public detail::sequencer_base<W, sequence> {
  using base = detail::sequencer_base<W, sequence>;

 public:
  // As single_producer_sequencer's; with a ring_memory{node}, the
  // availability array is on that node too.
  template <class... WaitArgs>
    requires(!detail::starts_with_ring_memory<WaitArgs...>)
  explicit multi_producer_sequencer(std::size_t buffer_size, WaitArgs&&... wait_args)
      : multi_producer_sequencer(buffer_size, ring_memory{}, std::forward<WaitArgs>(wait_args)...) {}
  template <class... WaitArgs>
  multi_producer_sequencer(std::size_t buffer_size, ring_memory where, WaitArgs&&... wait_args)
      : base(buffer_size, where, std::forward<WaitArgs>(wait_args)...),
        mask_(static_cast<std::int64_t>(buffer_size) - 1),
        shift_(std::countr_zero(buffer_size)),
        available_(numa::make_array_on_node<std::atomic<std::int32_t>>(where.node, buffer_size)) {
    for (std::size_t i = 0; i < buffer_size; ++i) available_[i].store(-1, std::memory_order_relaxed);
  }

  // The memory producers and consumers write (for placement checks): the
  // block with the cursor and the shared gating cache, and the availability array.
  [[nodiscard]] std::vector<std::span<const std::byte>> memory_blocks() const {
    return {this->state_bytes(), {reinterpret_cast<const std::byte*>(available_.get()), available_.get_deleter().bytes()}};
  }

  // Claims n slots (1 <= n <= buffer_size()); returns the highest.
  //   Threads: any. Progress: one lock xadd, then blocking while the ring is
  //   full. Ordering: acquire on the gating sequences (as the single one).
  std::int64_t next(std::int64_t n = 1) {
    detail::check_claim(n, this->size_);
    // Acquire-release xadd: claims are totally ordered on the cursor.
    const std::int64_t current = this->cursor_.get_and_add(n);
    const std::int64_t next_value = current + n;
    const std::int64_t wrap_point = this->wrap_point_of(next_value);
    // Acquire: pairs with the release in gating_cache_.set() by the producer
    // that read the consumers' sequences (acquire), so their reads of the
    // slots happen before our writes even when we skip the scan (TSan found
    // the race with a relaxed load here).
    const std::int64_t cached = gating_cache_.get();
    if (wrap_point > cached || cached > current) {
      std::int64_t min_seq;
      detail::producer_backoff backoff;
      while (wrap_point > (min_seq = this->minimum_gating_sequence(current))) backoff.pause();
      // Shared between producers (release: pairs with the acquire load of
      // the cache above). A value read from it is never above the real
      // minimum (gating sequences only grow), so skipping the scan is safe.
      gating_cache_.set(min_seq);
    }
    return next_value;
  }

  // As the single producer's cached_free(seq), from the producers' shared
  // cache of the slowest consumer (one relaxed load of a line next() has
  // just read). A hint for ring_buffer's write prefetch, never a claim.
  [[nodiscard]] bool cached_free(std::int64_t seq) const noexcept {
    return this->wrap_point_of(seq) <= gating_cache_.get_relaxed();
  }

  // As next(n) but never waits: std::nullopt when fewer than n slots are
  // free. Threads: any. Progress: lock-free (a CAS loop on the cursor).
  std::optional<std::int64_t> try_next(std::int64_t n = 1) {
    detail::check_claim(n, this->size_);
    std::int64_t current = this->cursor_.get();
    for (;;) {
      const std::int64_t next_value = current + n;
      if (!has_capacity(n, current)) return std::nullopt;
      if (this->cursor_.compare_and_set(current, next_value)) return next_value;
      current = this->cursor_.get();
    }
  }

  [[nodiscard]] bool has_available_capacity(std::int64_t n) { return has_capacity(n, this->cursor_.get()); }
  // Free slots: buffer_size() minus claimed-but-unconsumed. Any thread.
  [[nodiscard]] std::int64_t remaining_capacity() const noexcept {
    const std::int64_t produced = this->cursor_.get();
    return static_cast<std::int64_t>(this->size_) - (produced - this->minimum_gating_sequence(produced));
  }

  // Marks `seq` published. Threads: the producer that claimed it. Wait-free.
  // Ordering: release store of the slot's flag — pairs with the acquire in
  // is_available()/highest_published_sequence(). Checks builds: a sequence
  // not claimed, or published twice, is fatal.
  void publish(std::int64_t seq) noexcept {
    if constexpr (quiesce::detail::base::checks_enabled) check_publish(seq, seq);
    set_available(seq);
    this->wait_.signal_all_when_blocking();
  }
  void publish(std::int64_t lo, std::int64_t hi) noexcept {
    if constexpr (quiesce::detail::base::checks_enabled) check_publish(lo, hi);
    for (std::int64_t s = lo; s <= hi; ++s) set_available(s);
    this->wait_.signal_all_when_blocking();
  }

  // True if `seq` has been published in its current lap. Any thread.
  [[nodiscard]] bool is_available(std::int64_t seq) const noexcept {
    // Acquire: pairs with the release in set_available(); the slot's
    // contents written before the publish are visible.
    return available_[seq & mask_].load(std::memory_order_acquire) == lap(seq);
  }
  // The highest s in [lo - 1, available] with lo..s all published. Any thread.
  [[nodiscard]] std::int64_t highest_published_sequence(std::int64_t lo, std::int64_t available) const noexcept {
    for (std::int64_t s = lo; s <= available; ++s)
      if (!is_available(s)) return s - 1;
    return available;
  }

 private:
  [[nodiscard]] std::int32_t lap(std::int64_t seq) const noexcept { return static_cast<std::int32_t>(seq >> shift_); }
  void set_available(std::int64_t seq) noexcept {
    // Release: pairs with the acquire in is_available().
    available_[seq & mask_].store(lap(seq), std::memory_order_release);
  }
  bool has_capacity(std::int64_t n, std::int64_t current) {
    const std::int64_t wrap_point = this->wrap_point_of(current + n);
    // Acquire: pairs with the release in gating_cache_.set() by the producer
    // that read the consumers' sequences (acquire), so their reads of the
    // slots happen before our writes even when we skip the scan (TSan found
    // the race with a relaxed load here).
    const std::int64_t cached = gating_cache_.get();
    if (wrap_point > cached || cached > current) {
      const std::int64_t min_seq = this->minimum_gating_sequence(current);
      gating_cache_.set(min_seq);
      if (wrap_point > min_seq) return false;
    }
    return true;
  }
  void check_publish(std::int64_t lo, std::int64_t hi) const noexcept {
    // (No lower bound from the cursor: producers claim before they wait for
    // capacity, so the cursor may run ahead of a legitimate claim by up to
    // a ring per waiting producer.)
    const std::int64_t claimed = this->cursor_.get();
    bool ok = lo <= hi && lo >= 0 && hi <= claimed && hi - lo < static_cast<std::int64_t>(this->size_);
    for (std::int64_t s = lo; ok && s <= hi; ++s) ok = !is_available(s);
    if (!ok)
      quiesce::detail::base::fatal(
          "multi_producer_sequencer::publish: range not claimed or already published",
          "publish exactly the sequences next()/try_next() returned, once each");
  }

  std::int64_t mask_;
  int shift_;
  // The slowest consumer as last read by any producer (a shared hint; in
  // the shared block, on the ring's node).
  sequence& gating_cache_ = this->state_->producer;
  std::unique_ptr<std::atomic<std::int32_t>[], numa::node_deleter<std::atomic<std::int32_t>>> available_;
};

template <class S>
concept sequencer = requires(S& s, const S& cs, std::int64_t a) {
  typename S::wait_strategy_type;
  { s.next(a) } -> std::same_as<std::int64_t>;
  { s.try_next(a) } -> std::same_as<std::optional<std::int64_t>>;
  s.publish(a);
  s.publish(a, a);
  { cs.cursor() } -> std::same_as<std::int64_t>;
  { cs.cursor_sequence() } -> std::same_as<const sequence&>;
  { cs.is_available(a) } -> std::same_as<bool>;
  { cs.highest_published_sequence(a, a) } -> std::same_as<std::int64_t>;
  { cs.remaining_capacity() } -> std::same_as<std::int64_t>;
  { cs.buffer_size() } -> std::same_as<std::size_t>;
  { s.wait_strategy() } -> std::same_as<typename S::wait_strategy_type&>;
};

}  // namespace quiesce::disruptor

#endif  // QUIESCE_DISRUPTOR_SEQUENCER_HPP
