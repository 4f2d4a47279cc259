// quiesce/seqlock.hpp — sequence locks: seqlock<T> and seqcount_latch<T>,
// small values that many threads read and few threads write, read without
// taking a lock or writing shared memory.
//
// What it is
//   seqlock<T> holds one T. A writer makes the sequence counter odd, stores
//   the new value and makes the counter even again; a reader copies the value
//   between two reads of the counter and keeps the copy only if the counter
//   was even and unchanged (the Linux kernel's seqlock_t). Writers are
//   serialised by the counter itself (an odd counter is a held lock).
//   seqcount_latch<T> keeps two copies and a counter whose low bit tells
//   readers which copy is stable (the kernel's raw_write_seqcount_latch()):
//   readers never wait for a writer, so they may run in a signal handler or
//   an NMI-like context that interrupted the writer. One writer at a time.
//
//   Both are data-race free in the C++ memory model (Boehm, "Can seqlocks get
//   along with programming language memory models?", MSPC 2012): T is kept as
//   an array of std::atomic<std::uint64_t> words, copied with relaxed loads
//   and stores, and ordered by acquire/release operations and fences on the
//   counter. Nothing relies on x86's ordering; on x86-64 every fence below
//   compiles to nothing and every reader access to a plain mov, as
//   ck_sequence's do (a seqlock writer adds one lock cmpxchg).
//
// When to use it
//   A small (up to a few cache lines), trivially copyable value read far more
//   often than written, whose readers want the latest value and must not slow
//   each other down: a clock/offset pair, statistics snapshots, a config
//   tuple, a bounding box. The latch when readers can interrupt the writer
//   (signal handlers, tracing hooks), or when a reader must never spin.
// When not to
//   Large values (readers copy all of T on every attempt, retry on every
//   concurrent write; use rcu_ptr<T>), values holding pointers a reader would
//   follow (the pointee may be freed; use RCU or hazard pointers), T that is
//   not trivially copyable (rejected at compile time), write-mostly data
//   (readers starve; use a mutex), and seqlock<T> reads from a signal
//   handler that may interrupt a writer on the same thread.
//   WARNING: such a read spins forever — the writer it waits for is the
//   thread the handler interrupted, which cannot resume until the handler
//   returns. Use seqcount_latch<T> for values that signal handlers (or
//   tracing hooks, or anything that can interrupt the writer) read: its
//   readers never wait for the writer. Checks builds (QUIESCE_CHECKS) turn
//   the hang into an abort with a message (also for a load() or store() of
//   a seqlock inside its own update()).
//
// Example
//   struct clock_params { std::int64_t base_ns; std::uint64_t mult; };
//   quiesce::seqlock<clock_params> params{{0, 1}};
//   // readers, any thread:
//   clock_params p = params.load();
//   // writers, any thread:
//   params.store({now, m});
//   params.update([](clock_params& p) { p.mult += 1; });  // read-modify-write
//   quiesce::seqcount_latch<clock_params> latch{{0, 1}};  // signal-safe reads
//   latch.store({now, m});                                // one writer at a time
//
// Costs (operation counts; perf/seqlock_bench measures them for 16, 64 and
// 256-byte T against Concurrency Kit's ck_sequence and std::shared_mutex,
// table in the main job's out/seqlock_ratios.md)
//   read, no writer:     seqlock::load: an acquire load of the sequence,
//                        one relaxed load per 8-byte word of T, an acquire
//                        fence (nothing on x86-64) and a re-load of the
//                        sequence; no store. seqcount_latch::load: the same
//                        plus an index computation. std::shared_mutex: an
//                        atomic RMW on the lock word to lock and another to
//                        unlock.
//   read, with a writer: one cache miss per write the reader sees, and a
//                        retry when the write overlapped the copy.
//   store, uncontended:  seqlock: one lock cmpxchg, the words of T, one
//                        release store; latch: no atomic RMW, T written
//                        twice.
//   Beyond 16 bytes the race-free copy issues more loads than ck's: relaxed
//   atomic loads are never merged into vector loads, ck's plain (racy)
//   struct copy is. Under a writer storing back to back, readers of both
//   spin and retry most of the time; that figure depends on how often the
//   writer gets the line and is no guide (perf/seqlock_ratios.py prints it
//   with the pace).
//
// Compared with the alternatives
//   std::shared_mutex: every reader writes the lock word (two atomic RMWs
//   per read), so readers on different cores contend, each taking the line
//   in turn; seqlock readers only read.
//   rcu_ptr<T>: readers pay a read-side section (memb: a TLS counter update
//   and a compiler barrier at each end) and one load, and never retry,
//   whatever T's size, but each update allocates, and frees through a grace
//   period; a seqlock updates in place with no allocation. ck_sequence and
//   rigtorp's Seqlock copy T with plain loads under a data race (undefined
//   behaviour in C++; TSan reports it); this one is race free, at the cost
//   of word-by-word copies for larger T (see Costs).
//
// Synchronisation table (who must synchronise with whom)
//   seqlock:  load/try_load vs anything: nothing. store/update vs
//             store/update: nothing (serialised inside).
//   latch:    load/try_load vs anything: nothing. store vs store: the
//             caller (one writer at a time; checks builds abort otherwise).
#ifndef QUIESCE_SEQLOCK_HPP
#define QUIESCE_SEQLOCK_HPP

#include <atomic>
#include <bit>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <type_traits>
#include <utility>

#include <quiesce/base/layout.hpp>
#include <quiesce/seqlock/detail/seqcount.hpp>  // atomic_words, raw_copy, the sequence protocol
#include <quiesce/base/config.hpp>
#include <quiesce/base/fatal.hpp>

namespace quiesce {

namespace detail::seqlock {

// Checks builds only: which seqlock's writer lock this thread holds (the
// innermost one) and the odd sequence value it locked it at. A load() or
// store() that finds that seqlock locked at exactly that value would wait
// for this very thread: a signal handler that interrupted its own thread's
// store(), or an update() whose f touches its own seqlock. It aborts with a
// message instead of spinning forever. The odd value makes the test exact
// (the sequence only grows, so no other writer's lock has the same value):
// never a false alarm, including in the instant after our unlock when
// another thread may already hold the lock. Set after the lock is taken and
// cleared after it is released, so the only window it misses is the few
// instructions between the CAS and the mark.
struct seqlock_writer_mark {
  const void* lock = nullptr;
  std::uint64_t odd = 0;
};
inline thread_local seqlock_writer_mark seqlock_held_by_this_thread{};

}  // namespace detail::seqlock

// seqlock<T>: one T, read optimistically, written under the sequence.
//
// Layout: the 64-bit sequence and T's words share one 64-byte-aligned block
// whose size is a multiple of 64 bytes, so no neighbour shares its lines. For
// T of up to 56 bytes the whole seqlock is one cache line (the kernel's
// choice: a read touches one line; a writer invalidates it once per store).
//
// Invariant: the sequence is even when no writer holds the lock, odd while
// one does; it only grows (by 2 per store/update), so 64 bits never wrap.
template <class T>
class alignas(detail::base::cache_line) seqlock {
  static_assert(detail::seqlock::value_type_ok<T>);  // or a message naming what T lacks

 public:
  using value_type = T;

  // A value-initialised T. Not thread-safe (no object is shared yet).
  seqlock() noexcept
    requires std::is_default_constructible_v<T>
      : seqlock(T{}) {}
  explicit seqlock(const T& initial) noexcept {
    static_assert(detail::layout::owns_blocks<seqlock, detail::base::cache_line>);  // whole cache lines
    static_assert(sizeof(T) > detail::base::cache_line - sizeof(seq_) ||
                      sizeof(seqlock) == detail::base::cache_line,
                  "a small seqlock must fit one cache line");
    data_.write(&initial);
  }
  seqlock(const seqlock&) = delete;
  seqlock& operator=(const seqlock&) = delete;

  // load: a consistent copy of the value of some store() or update() that
  // completed no earlier than the last one this thread saw complete (reads
  // by one thread never go backwards).
  //   Threads: any. Async-signal-safe only if the handler cannot interrupt a
  //   writer of this seqlock on the same thread (it would spin forever;
  //   checks builds abort with a message naming seqcount_latch<T> instead).
  //   Progress: spins while a writer holds the lock and retries if a writer
  //   ran during the copy; never blocks other readers or writers. Not
  //   lock-free in the formal sense: a writer descheduled in mid-store
  //   stalls readers until it runs again (with no writer active, a load
  //   takes a bounded number of steps).
  //   Cost: with no writer, two loads of the sequence and one relaxed load
  //   per 8-byte word of T, all plain movs on x86-64 (see Costs above;
  //   seqlock_bench read/<B>B/quiesce_seqlock/*).
  //   Ordering: acquire — everything the writer of the returned value did
  //   before its store() is visible after load() returns.
  [[nodiscard]] T load() const noexcept {
    return detail::seqlock::seq_load<T>([this](void* dst) { return read_once(dst); }, [this] { retry_pause(); });
  }

  // try_load: one attempt at load(). True with out = a consistent copy (as
  // load()); false, out untouched, if a writer held the lock or ran during
  // the copy. For callers with something better to do than spin.
  //   Threads: any, including a signal handler (it never spins).
  //   Progress: wait-free.
  [[nodiscard]] bool try_load(T& out) const noexcept {
    return detail::seqlock::seq_try_load(out, [this](void* dst) { return read_once(dst); });
  }

  // store: replaces the value.
  //   Threads: any; concurrent writers are serialised (spin on the sequence,
  //   test-and-test-and-set; not fair). Never from a signal handler that may
  //   interrupt a writer of this seqlock on the same thread (deadlock).
  //   Progress: blocking (spins while another writer holds the lock).
  //   Cost: one lock cmpxchg on the sequence plus sizeof(T)/8 + 1 plain
  //   stores (seqlock_bench write/<B>B/quiesce_seqlock); readers on other
  //   cores miss once after.
  //   Ordering: release — pairs with the acquire in load()/try_load() that
  //   returns this value; writers are ordered among themselves (each one's
  //   lock acquisition pairs with the previous one's release).
  void store(const T& value) noexcept {
    const std::uint64_t odd = lock();
    const held mark(this, odd);
    data_.write(&value);
    unlock(odd);
  }

  // update: read-modify-write under the lock: calls f(T&) on a copy of the
  // current value and stores the result. If f throws, nothing is stored
  // and the exception propagates (the lock is released).
  //   Threads: as store(). f runs with the lock held and readers spinning:
  //   keep it short, and never touch this seqlock from inside f (deadlock).
  //   Progress: blocking. Ordering: as store(), and f sees the value of the
  //   last store()/update() (the lock acquisition acquires it).
  template <class F>
    requires std::invocable<F&, T&>
  void update(F f) noexcept(std::is_nothrow_invocable_v<F&, T&>) {
    const std::uint64_t odd = lock();
    struct unlock_on_exit {
      seqlock* self;
      std::uint64_t odd;
      held mark;  // a member: cleared after the destructor's unlock
      ~unlock_on_exit() { self->unlock(odd); }
    } guard{this, odd, held(this, odd)};
    detail::seqlock::raw_copy<T> raw;
    data_.read(raw.bytes);  // stable: we hold the lock
    T value = raw.value();
    std::invoke(f, value);
    data_.write(&value);
  }

 private:
  // Between failed read attempts. Checks builds: abort if the writer we
  // wait for is this very thread (only on this retry path: a load that
  // succeeds first time pays nothing).
  void retry_pause() const noexcept {
    fatal_if_held_by_this_thread(
        "seqlock::load() while this thread holds the same seqlock's writer lock: it would spin forever "
        "(a signal handler that interrupted this thread's store(), or an update() whose function reads "
        "its own seqlock)",
        "use quiesce::seqcount_latch<T> when readers may interrupt the writer (signal handlers, tracing "
        "hooks); inside update(), use the value passed to the function");
    detail::base::cpu_relax();
  }

  // Checks builds: abort with `what` and `hint` if this thread holds the
  // writer lock (a wait for it would never end). Nothing otherwise.
  void fatal_if_held_by_this_thread(const char* what, const char* hint) const noexcept {
    if constexpr (detail::base::checks_enabled) {
      if (held_by_this_thread()) detail::base::fatal(what, hint);
    }
  }

  // Checks builds: true if this thread holds the writer lock right now.
  bool held_by_this_thread() const noexcept {
    const detail::seqlock::seqlock_writer_mark& m = detail::seqlock::seqlock_held_by_this_thread;
    return m.lock == this && seq_.load(std::memory_order_relaxed) == m.odd;
  }

  // Checks builds: marks this thread as the holder of the writer lock (at
  // sequence `odd`) for its lifetime; restores the previous mark (a thread
  // may hold several seqlocks: update() of one storing another). The
  // compiler barriers keep the mark's stores where a signal handler on this
  // thread expects them: after the lock is taken, until it is released.
  class held {
   public:
    held(const seqlock* s, std::uint64_t odd) noexcept {
      if constexpr (detail::base::checks_enabled) {
        prev_ = detail::seqlock::seqlock_held_by_this_thread;
        std::atomic_signal_fence(std::memory_order_seq_cst);
        detail::seqlock::seqlock_held_by_this_thread = {s, odd};
        std::atomic_signal_fence(std::memory_order_seq_cst);
      }
    }
    ~held() {
      if constexpr (detail::base::checks_enabled) {
        std::atomic_signal_fence(std::memory_order_seq_cst);
        detail::seqlock::seqlock_held_by_this_thread = prev_;
        std::atomic_signal_fence(std::memory_order_seq_cst);
      }
    }
    held(const held&) = delete;
    held& operator=(const held&) = delete;

   private:
    detail::seqlock::seqlock_writer_mark prev_{};
  };

  // One reader attempt: true if the sizeof(T) bytes at dst now hold one
  // writer's complete value.
  // The sequence protocol and its ordering: seqlock/detail/seqcount.hpp.
  bool read_once(void* dst) const noexcept {
    const std::uint64_t begin = detail::seqlock::seq_read_begin(seq_);
    if (begin & 1) return false;  // a writer holds the lock
    data_.read(dst);
    return detail::seqlock::seq_read_valid(seq_, begin);
  }

  // Takes the writer lock (makes the sequence odd); returns the odd value.
  std::uint64_t lock() noexcept {
    // While the lock is busy: a writer waiting for its own thread's lock
    // would wait forever.
    return detail::seqlock::seq_write_lock(seq_, [this] {
      fatal_if_held_by_this_thread(
          "seqlock::store()/update() while this thread already holds the same seqlock's writer lock "
          "(deadlock: a signal handler that interrupted this thread's store(), or an update() whose "
          "function writes its own seqlock)",
          "write a seqlock only from code that cannot interrupt its writer; for values that signal "
          "handlers read, use quiesce::seqcount_latch<T>");
    });
  }

  void unlock(std::uint64_t odd) noexcept { detail::seqlock::seq_write_unlock(seq_, odd); }

  std::atomic<std::uint64_t> seq_{0};
  detail::seqlock::atomic_words<T> data_;
};

// seqcount_latch<T>: two copies of one T, so that readers never wait for a
// writer (the kernel's latch: raw_write_seqcount_latch() and
// read_seqcount_latch()).
//
// The writer moves readers to copy 1 (sequence odd), rewrites copy 0, moves
// them back to copy 0 (sequence even) and rewrites copy 1. Whatever point a
// writer stopped at, one copy is complete and the sequence points at it.
//
// Layout: the sequence and both copies share one 64-byte-aligned block,
// whole cache lines (one line for T up to 24 bytes).
template <class T>
class alignas(detail::base::cache_line) seqcount_latch {
  static_assert(detail::seqlock::value_type_ok<T>);  // or a message naming what T lacks

 public:
  using value_type = T;

  // Both copies hold a value-initialised T. Not thread-safe.
  seqcount_latch() noexcept
    requires std::is_default_constructible_v<T>
      : seqcount_latch(T{}) {}
  explicit seqcount_latch(const T& initial) noexcept {
    static_assert(detail::layout::owns_blocks<seqcount_latch, detail::base::cache_line>);  // whole cache lines
    copy_[0].write(&initial);
    copy_[1].write(&initial);
  }
  seqcount_latch(const seqcount_latch&) = delete;
  seqcount_latch& operator=(const seqcount_latch&) = delete;

  // load: a consistent copy of the value of some store() that began no
  // earlier than the last one this thread saw complete; while a store() is
  // in progress that is the previous value or the new one. Reads by one
  // thread never go backwards.
  //   Threads: any, including signal handlers, also one that interrupted
  //   the writer on its own thread: it runs only lock-free atomic loads
  //   (static_assert above), an acquire fence (a compiler barrier on
  //   x86-64) and memcpy — no lock, no call into the C library, no spinning
  //   on the writer, no write to shared memory.
  //   Progress: lock-free; retries only when the writer advanced the
  //   sequence during the copy (twice per store()). A stopped writer never
  //   delays it; with one store() in progress and no further one started it
  //   retries at most twice.
  //   Cost: as seqlock::load plus an index computation (seqlock_bench
  //   read/<B>B/quiesce_latch/*).
  //   Ordering: acquire, as seqlock::load.
  [[nodiscard]] T load() const noexcept {
    return detail::seqlock::seq_load<T>([this](void* dst) { return read_once(dst); }, [] {});
  }

  // try_load: one attempt at load(); false, out untouched, if the writer
  // advanced the sequence during the copy. Threads: any. Wait-free.
  [[nodiscard]] bool try_load(T& out) const noexcept {
    return detail::seqlock::seq_try_load(out, [this](void* dst) { return read_once(dst); });
  }

  // store: replaces the value (writes it into both copies in turn).
  //   Threads: one writer at a time — concurrent store() calls must be
  //   serialised by the caller (a mutex, or a single writing thread); the
  //   writing thread may change if that hand-over synchronises. Checks
  //   builds (QUIESCE_CHECKS) abort on two overlapping store() calls. Not
  //   from a signal handler that may interrupt a store() of this latch.
  //   Progress: wait-free (no atomic read-modify-write in release builds).
  //   Cost: two copies of T and two sequence stores, all plain stores on
  //   x86-64 (seqlock_bench write/<B>B/quiesce_latch).
  //   Ordering: release — pairs with the acquire in load()/try_load().
  void store(const T& value) noexcept {
    if constexpr (detail::base::checks_enabled) {
      // Acquire: pairs with the release store of false at the end of the
      // previous store() (the flag orders nothing but the check itself).
      if (writing_.exchange(true, std::memory_order_acquire))
        detail::base::fatal(
            "two seqcount_latch::store() calls overlapped (the latch allows one writer at a time)",
            "serialise the writers (a mutex around store(), or one writing thread), or use quiesce::seqlock<T>");
    }
    // Relaxed: only writers change the sequence, and writers are
    // serialised by the caller (whose synchronisation orders this load).
    const std::uint64_t s = seq_.load(std::memory_order_relaxed);
    // (1) Readers switch to copy[1]. Release: pairs with the acquire load in
    // read_once() — a reader that sees s+1 also sees the previous store()'s
    // writes of copy[1].
    seq_.store(s + 1, std::memory_order_release);
    // (2) Release fence: pairs with the acquire fence in read_once(). A
    // reader that sees any copy[0] word written below sees s+1 or later at
    // its re-check, and retries.
    std::atomic_thread_fence(std::memory_order_release);
    copy_[0].write(&value);
    // (3) Readers switch back to copy[0]. Release: pairs with the acquire
    // load in read_once() — a reader that sees s+2 sees the copy[0] writes.
    seq_.store(s + 2, std::memory_order_release);
    // (4) Release fence: pairs with the acquire fence in read_once(), as (2)
    // for the copy[1] writes below.
    std::atomic_thread_fence(std::memory_order_release);
    copy_[1].write(&value);
    // Release: pairs with the acquire exchange in the next store().
    if constexpr (detail::base::checks_enabled) writing_.store(false, std::memory_order_release);
  }

 private:
  // The reader's half of the sequence protocol (seqlock/detail/seqcount.hpp):
  // seq_read_begin pairs with the release stores (1) and (3) in store(), so
  // the copy the low bit selects is complete up to that point;
  // seq_read_valid's fence pairs with the release fences (2) and (4), so a
  // copy rewritten meanwhile shows as a newer sequence.
  bool read_once(void* dst) const noexcept {
    const std::uint64_t begin = detail::seqlock::seq_read_begin(seq_);
    copy_[begin & 1].read(dst);
    return detail::seqlock::seq_read_valid(seq_, begin);
  }

  std::atomic<std::uint64_t> seq_{0};
  // Set during store() in checks builds only; present in every build so that
  // the layout does not depend on QUIESCE_CHECKS.
  std::atomic<bool> writing_{false};
  detail::seqlock::atomic_words<T> copy_[2];
};

}  // namespace quiesce

#endif  // QUIESCE_SEQLOCK_HPP
