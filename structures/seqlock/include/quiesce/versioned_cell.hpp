// quiesce/versioned_cell.hpp — versioned_cell<T>: a value with a version,
// read optimistically and committed only if nobody committed since the read
// (optimistic concurrency control, as databases validate a row's version).
//
// What it is
//   A small trivially copyable T and a 64-bit version that grows by exactly
//   1 per commit. read() returns both, consistent (never a torn T, never a
//   T with another commit's version). try_commit(seen, desired) installs
//   desired as version seen.version + 1 if, and only if, the version is
//   still seen.version. update(f) is the loop: read, compute f(value), try
//   to commit, and on a conflict back off (bounded exponential back-off
//   with jitter) and retry, up to options.max_retries, then throw
//   quiesce::retry_limit_exceeded (<quiesce/retry_limit.hpp>).
//   (Kung & Robinson, "On optimistic methods for concurrency control",
//   ACM TODS 6(2), 1981: read phase, validation, write phase.)
//
// Implementation: the seqlock of <quiesce/seqlock.hpp> with the lock made a
// version check. The sequence is 2 x version while the cell is stable and
// odd while a commit copies the new value in. try_commit CASes the sequence
// from 2v to 2v+1 (succeeding iff no commit began since the read: this CAS is
// the commit's linearisation point), stores T as relaxed atomic words (the
// seqlock's race-free copy, Boehm MSPC 2012), then releases 2v+2. read() is
// the seqlock read loop. Committers never wait for one another: a CAS that
// finds an odd or different sequence fails at once.
//
// Why not one CAS over value and version: for T of up to 8 bytes that is a
// 16-byte CAS, which g++ 12 always and clang 14 without -mcx16 compile to
// libatomic calls (is_always_lock_free is false); libatomic implements the
// 16-byte load with cmpxchg16b too, so every read would write the line and
// readers would contend. For T of up to 4 bytes a 32-bit version fits one
// 64-bit word beside it: one CAS per commit, readers never spin. It writes
// the line once per commit where this design writes it twice (the CAS,
// then the release store), so with two threads committing to one cell the
// other thread can take the line away between the two (perf/counter_bench
// vc_update/*/packed64_4B vs versioned_cell_4B; table in the main job's
// out/counter_ratios.md). It is not used because its version wraps after
// 2^32 commits (within reach of one busy writer): a snapshot held across a
// wrap validates wrongly (ABA) and the versions users see go backwards. So there is one design, whatever T
// is, and its versions never wrap.
//
// When to use it
//   A small record (a few words) updated by read-compute-write where the
//   computation should not run under a lock: a configuration tuple, an
//   account balance, a bounding box, a (value, timestamp) pair. Readers
//   never write shared memory. Also as the building block of a read set: a
//   transaction records snapshot versions and validates them at commit.
// When not to
//   A counter or a sum (std::atomic::fetch_add or quiesce::sharded_counter),
//   a hot cell written by many threads at once (every conflict wastes an f
//   call and a round trip; past a few writers a mutex or seqlock::update
//   serialises better), large T (every read copies it, every retry re-reads
//   it), T holding pointers a reader would follow (use RCU or hazard
//   pointers), T that is not trivially copyable (rejected at compile time).
//
// Example
//   struct account { std::int64_t balance; std::uint64_t ops; };
//   quiesce::versioned_cell<account> acct{{100, 0}};
//   auto s = acct.read();                               // s.value, s.version
//   if (!acct.try_commit(s, {s.value.balance - 30, s.value.ops + 1})) { /* conflict: re-read */ }
//   acct.update([](account a) { a.balance += 10; ++a.ops; return a; });  // retried for you
//
// Costs: perf/counter_bench.cpp vc_* rows, tabled in the main job's
// out/counter_ratios.md (structures/seqlock/README.md "Versioned cells").
//
// Synchronisation table
//   read / version vs anything: nothing. try_commit / update / store vs each
//   other: nothing (validated or serialised inside). Destruction vs
//   anything: the caller.
#ifndef QUIESCE_VERSIONED_CELL_HPP
#define QUIESCE_VERSIONED_CELL_HPP

#include <atomic>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <type_traits>
#include <utility>

#include <quiesce/retry_limit.hpp>
#include <quiesce/seqlock.hpp>  // detail::seqlock::atomic_words, raw_copy
#include <quiesce/base/backoff.hpp>
#include <quiesce/base/config.hpp>
#include <quiesce/base/layout.hpp>

namespace quiesce {

// Options of versioned_cell<T>::update().
struct versioned_cell_options {
  // Failed commits tolerated before update() throws retry_limit_exceeded
  // (0: one attempt only). A livelock detector, not a timeout: each failure
  // means another thread committed.
  std::uint32_t max_retries = 10'000;
  // Back-off after the k-th consecutive failure: a random number of pauses
  // below min(initial_backoff * 2^k, max_backoff) (both powers of two), and
  // a sched_yield per failure after yield_after of them.
  std::uint32_t initial_backoff = 4;
  std::uint32_t max_backoff = 1024;
  std::uint32_t yield_after = 16;
};

// versioned_cell<T>: one T with a version, committed optimistically.
//
// Layout: the sequence and T's words share a block aligned to 128 bytes, in
// whole 128-byte blocks (quiesce/base/layout.hpp): committers
// write it, so no neighbour may share its lines.
// Invariant: sequence = 2 x version when no commit is in progress, odd
// while one is; it only grows, so 64 bits never wrap (2^63 commits).
template <class T>
class alignas(detail::layout::false_sharing_block) versioned_cell {
  static_assert(detail::seqlock::value_type_ok<T>);  // or a message naming what T lacks

 public:
  using value_type = T;
  using options = versioned_cell_options;

  // A value and the version it was committed as (0 for the initial value,
  // +1 per commit).
  struct snapshot {
    T value;
    std::uint64_t version;
  };

  // A value-initialised T, version 0. Not thread-safe (nothing is shared yet).
  versioned_cell() noexcept
    requires std::is_default_constructible_v<T>
      : versioned_cell(T{}) {}
  explicit versioned_cell(const T& initial) noexcept {
    static_assert(detail::layout::owns_blocks<versioned_cell>);
    data_.write(&initial);
  }
  versioned_cell(const versioned_cell&) = delete;
  versioned_cell& operator=(const versioned_cell&) = delete;

  // read: a consistent (value, version) pair: the value committed as that
  // version, of a commit no older than the last one this thread saw.
  //   Threads: any (not from a signal handler that may interrupt a commit
  //   of this cell on the same thread: it would spin forever).
  //   Progress: spins while a commit is copying its value in and retries if
  //   one ran during the copy; never writes shared memory. A committer
  //   descheduled mid-copy stalls readers until it runs again.
  //   Ordering: acquire — everything the committer of the returned version
  //   did before its commit is visible after read() returns.
  //   Cost: as seqlock::load (two loads of the sequence, sizeof(T)/8 loads).
  [[nodiscard]] snapshot read() const noexcept {
    detail::seqlock::raw_copy<T> raw;
    std::uint64_t seq;
    while (!read_once(raw.bytes, seq)) detail::base::cpu_relax();
    return snapshot{raw.value(), seq >> 1};
  }

  // version: the version of the last completed commit (a commit in progress
  // is not counted). Threads: any. Wait-free. Ordering: acquire, as read().
  [[nodiscard]] std::uint64_t version() const noexcept { return seq_.load(std::memory_order_acquire) >> 1; }

  // try_commit: installs desired as version seen.version + 1, iff the cell
  // is still at seen.version (no commit began since the read that produced
  // `seen`); false, nothing written, otherwise — including while another
  // commit is in progress (which will change the version).
  //   Threads: any. Progress: wait-free (one CAS, then sizeof(T)/8 + 1
  //   plain stores; never waits for another thread).
  //   Ordering: a successful commit is a release (pairs with the acquire in
  //   read() returning it) and acquires the previous commit; a failed one
  //   orders nothing.
  [[nodiscard]] bool try_commit(const snapshot& seen, const T& desired) noexcept {
    // A version of 2^63 or more is never current (the sequence, 2 x version,
    // never reaches 2^64). Without this check the shift below would drop its
    // top bit, and a forged or corrupt snapshot of version v + 2^63 (say, a
    // version a client sent back) would commit over version v.
    if (seen.version > max_version) [[unlikely]]
      return false;
    const std::uint64_t expected = seen.version << 1;
    // The sequence protocol and its ordering: seqlock/detail/seqcount.hpp.
    if (!detail::seqlock::seq_try_write_lock(seq_, expected)) return false;
    publish(expected + 1, desired);
    return true;
  }

  // update: value = f(value) as one commit, retried on conflicts; returns
  // the value committed. f(const T&) -> T (convertible) may run several
  // times, on values that turn out stale: it must have no side effects that
  // may not repeat. If f throws, nothing is committed and the exception
  // propagates.
  //   Throws retry_limit_exceeded (nothing committed) after
  //   opts.max_retries consecutive conflicts.
  //   Threads: any. Progress: lock-free as a system (every conflict is
  //   another thread's commit); a single update may starve, hence the limit.
  //   Cost: read() + f + try_commit(), plus back-off per conflict.
  template <class F>
    requires std::is_invocable_r_v<T, F&, const T&>
  T update(F f, const options& opts = {}) {
    detail::base::exponential_backoff backoff{
        detail::base::backoff_limits{opts.initial_backoff, opts.max_backoff, opts.yield_after}};
    for (std::uint32_t failures = 0;; ++failures) {
      const snapshot seen = read();
      const T desired = std::invoke(f, std::as_const(seen.value));
      if (try_commit(seen, desired)) return desired;
      if (failures == opts.max_retries) throw_retry_limit(opts.max_retries);
      backoff.pause();
    }
  }

  // store: replaces the value unconditionally as one commit (version + 1).
  //   Threads: any. Progress: blocking only while another commit is copying
  //   its value in (spins on the odd sequence, as seqlock::store).
  //   Ordering: as a successful try_commit.
  void store(const T& value) noexcept {
    publish(detail::seqlock::seq_write_lock(seq_, [] {}), value);
  }

 private:
  // Copies the value in under the odd sequence `odd` (the lock taken, by
  // store() or try_commit()) and completes the commit.
  void publish(std::uint64_t odd, const T& value) noexcept {
    data_.write(&value);
    detail::seqlock::seq_write_unlock(seq_, odd);
  }

  // One reader attempt: true if dst holds the value of the stable sequence `seq`.
  bool read_once(void* dst, std::uint64_t& seq) const noexcept {
    seq = detail::seqlock::seq_read_begin(seq_);
    if (seq & 1) return false;  // a commit is copying its value in
    data_.read(dst);
    return detail::seqlock::seq_read_valid(seq_, seq);
  }

  [[noreturn]] static void throw_retry_limit(std::uint32_t limit) {
    throw retry_limit_exceeded("quiesce::versioned_cell::update: gave up after " + std::to_string(limit + 1ULL) +
                               " attempts, each beaten by another thread's commit (options.max_retries = " +
                               std::to_string(limit) +
                               "); nothing was committed. The cell is too contended for optimistic updates: "
                               "raise max_retries, shard the data, or serialise the writers (quiesce::seqlock "
                               "update(), a mutex)");
  }

  // The largest version the sequence (2 x version, 64 bits) can hold.
  static constexpr std::uint64_t max_version = std::numeric_limits<std::uint64_t>::max() >> 1;

  std::atomic<std::uint64_t> seq_{0};
  detail::seqlock::atomic_words<T> data_;
};

}  // namespace quiesce

#endif  // QUIESCE_VERSIONED_CELL_HPP
