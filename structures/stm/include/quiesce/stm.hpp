// quiesce/stm.hpp — software transactional memory in the style of TL2:
// tvar<T> cells read and written inside atomically(), which commits all of a
// transaction's writes at once or none of them.
//
// What it is
//   Transactional Locking II (Dice, Shalev, Shavit, "Transactional Locking
//   II", DISC 2006), word-based, with per-location locks:
//   * no global version clock: per-thread commit counters instead (after
//     Avni, Shavit, "Maintaining Consistent Transactional States without
//     a Global Clock", SIROCCO 2008). Each thread holds a writer id
//     (1..1023, taken at its first transaction, given back at its exit
//     with the count it reached) and counts its own commits; a commit
//     stamps the tvars it wrote with (id, count). Nothing shared is written
//     to commit, so two threads that touch different tvars share no cache
//     line. (Threads beyond 1,023 alive at once share id 0, whose counts
//     come from one shared atomic counter, like TL2's clock.)
//   * in every tvar<T>, a versioned write-lock: count << 11 | id << 1 |
//     locked;
//   * a transaction's snapshot is, per writer id, the count up to which
//     its thread knows that id's commits (known_, kept from one
//     transaction to the next). Each read checks that the tvar is unlocked
//     and written by a known commit, copies the value, and checks the lock
//     word again: a value that passes belongs to the snapshot, so a
//     transaction never observes an inconsistent state, not even one that
//     will abort ("opacity"; a zombie never acts on torn or mixed data).
//   * a read that finds a tvar locked waits for the committer (a few
//     stores; 64 pauses at most, then it aborts); one that finds a commit
//     (id, c) it does not know extends the snapshot — checks that nothing
//     read so far changed, and learns id's commits up to c — and aborts
//     only if something did (Riegel, Felber, Fetzer, "A Lazy Snapshot
//     Algorithm with Eager Validation", DISC 2006). Learning from the
//     tvar alone is sound: one id's commits follow one another, each
//     locked all its tvars before unlocking any, and the read acquired the
//     unlock of commit c, so every commit of that id up to c has its locks
//     visible to the reader. A transaction sees every commit that finished
//     before it started (an unknown one is learnt, not skipped).
//   * writes go to a redo log (reads see the transaction's own writes);
//     shared memory is untouched until commit;
//   * commit: lock the written tvars in address order (try-lock with a
//     short spin; a lock still held after it aborts the transaction), take
//     the thread's next count c, re-validate the read set (every read tvar
//     still unlocked, or locked by us, and written by a known commit; the
//     lockings and these loads are seq_cst, so of two committers that each
//     read what the other writes, one sees the other's lock), write the
//     values back and unlock with (id, c). A tvar read and then written
//     (read-modify-write; write() finds the read among the last 8) is
//     locked only from the version the read saw: the lock's
//     compare-exchange is that read's validation, and when every read is
//     such a read (a transfer) the re-validation is skipped. Locks are held
//     only inside commit, which runs no user code,
//     and are taken in one global order, so there is no deadlock; a failed
//     try-lock releases everything, so a preempted committer delays others
//     by one abort, never forever.
//   * a transaction that wrote nothing commits without a lock or a
//     validation (TL2's read-only fast path): each of its reads was
//     already checked against the snapshot.
//   On abort, atomically() backs off (exponential, full jitter:
//   detail/backoff.hpp) and runs the function again, until it commits or
//   stm_options::max_retries retries have failed (then it throws
//   quiesce::retry_limit_exceeded, nothing committed).
//
//   Per-location locks, not TL2's striped lock table: no false conflicts
//   between tvars that hash to one stripe, no hashing on the read path, and
//   the lock shares a cache line with the value it guards (one miss per read
//   instead of two). The price is 8 bytes per tvar and no way to make plain
//   memory transactional (only tvar<T> is).
//
//   Values are kept as relaxed std::atomic<std::uint64_t> words (the
//   seqlock's detail::seqlock::atomic_words<T>), ordered by
//   acquire/release operations and fences on the lock word, so a read that
//   races with a commit is not a data race in the C++ memory model (Boehm,
//   MSPC 2012); ThreadSanitizer agrees. Hence T must be trivially copyable.
//
// When to use it
//   Updates that touch a few of many shared cells chosen at run time and
//   must be atomic together — transfers between accounts, moving an item
//   between two containers' counters, multi-field invariants — where one
//   global mutex serialises unrelated updates and per-cell mutexes need a
//   lock order the code cannot easily know in advance. Readers that need a
//   consistent view of many cells (an audit, a snapshot) without blocking
//   writers.
// When not to
//   One cell (use std::atomic or quiesce::seqlock<T>); large values (every
//   read copies T, every commit writes it back); long transactions over
//   hot cells (they abort again and again: split them, or use a mutex);
//   anything with side effects that cannot be undone (I/O, allocation
//   visible to others, std::atomic stores): the function may run several
//   times, and its last run is the one that counts.
//
// Example
//   quiesce::tvar<long> from{100}, to{0};
//   quiesce::atomically([&](quiesce::transaction& tx) {
//     const long a = tx.read(from);
//     if (a < 10) throw std::runtime_error("insufficient funds");  // nothing committed
//     tx.write(from, a - 10);
//     tx.write(to, tx.read(to) + 10);
//   });
//   long total = quiesce::atomically([&](quiesce::transaction& tx) {
//     return tx.read(from) + tx.read(to);                           // read-only: no locks
//   });
//
// Costs (in instructions; perf/stm_bench measures them against one
//   std::mutex and per-account std::mutexes, and structures/stm/README.md "Software
//   transactional memory" has its table). A two-account transfer is two
//   atomic read-modify-writes (the two lock cmpxchg), as for one mutex and
//   against four for per-account mutexes, and writes no shared line other
//   than the two tvars'.
//   A read is a log lookup when the transaction has written (a 64-bit Bloom
//   filter in front of it), two loads of the lock word, a load of the
//   snapshot's count for the writer id, the copy and a store into the read
//   log (inline in the thread's descriptor: no allocation until a
//   transaction reads more than 64 tvars or writes more than 16).
//   A write appends a 32-byte entry to the redo log, which holds a value of
//   up to 8 bytes itself (a longer one goes to a value log), after a scan
//   of at most the last 8 reads for a read of the tvar. A writing commit of
//   one or two tvars orders them with one compare; of more, it sorts
//   pointers to them by address. Then one lock cmpxchg per written tvar, a
//   re-read of the lock word of every read tvar unless each read was of a
//   tvar it then wrote, and one store per written word plus one per
//   unlock. Every store a transaction makes before its first lock cmpxchg
//   must drain before the cmpxchg runs, and with two CPUs trading the
//   tvars' lines each one costs several times what it costs on one CPU
//   (structures/stm/README.md, "Stores before the lock"): the logs are
//   laid out to take few, and the usual read-modify-write (one or two
//   one-word tvars, each read and then written, nothing else read) commits
//   inline in atomically(), with no call (whose return address and saved
//   registers would be stores) and no back-off state built before a first
//   abort. While the thread's last transaction wrote what
//   it read, each read also prefetches the tvar's line for writing
//   (PREFETCHW), so the commit's cmpxchg finds it exclusive instead of
//   upgrading a shared copy (one cross-CPU transfer instead of two); a
//   thread of read-only transactions does not, so readers do not take lines
//   from each other.
//   A snapshot extension is a re-read of the read set's lock words. An
//   abort in a read throws and catches an internal exception (thousands of
//   instructions in the unwinder; perf/stm_bench's abort_cost_1t); a
//   failed commit retries without one. Memory: 8 KiB per thread
//   that uses the STM (the snapshot's 1,024 counts), plus the logs.
//
// Synchronisation table (who must synchronise with whom)
//   atomically() vs atomically() on any thread: nothing (serialisable, and
//   opaque: every run of a function sees a consistent snapshot).
//   tvar::load() vs anything: nothing (one tvar, atomically).
//   Destroying a tvar vs transactions that may touch it: the caller (as for
//   any object). Memory reachable from a tvar's value (a pointer) and freed
//   by a committed transaction may still be dereferenced by a concurrent
//   transaction that read the pointer before the commit (it aborts at its
//   next read): free it after a grace period (quiesce::rcu, hazard pointers).
#ifndef QUIESCE_STM_HPP
#define QUIESCE_STM_HPP

#include <algorithm>
#include <atomic>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>

#include <quiesce/retry_limit.hpp>
#include <quiesce/seqlock.hpp>  // detail::seqlock::atomic_words, raw_copy, plain_object_type, the sequence protocol
#include <quiesce/base/backoff.hpp>
#include <quiesce/base/config.hpp>
#include <quiesce/base/fatal.hpp>
#include <quiesce/base/layout.hpp>

namespace quiesce {

template <class T>
class tvar;
class transaction;
struct stm_options;
template <class F>
auto atomically(F&& f, stm_options opts) -> std::invoke_result_t<F&, transaction&>;

// How atomically() retries.
struct stm_options {
  static constexpr std::size_t unlimited = std::numeric_limits<std::size_t>::max();
  // Retries after the first attempt before atomically() gives up and throws
  // quiesce::retry_limit_exceeded (0: one attempt only). Only aborts caused
  // by conflicts count; an exception from the function propagates at once.
  std::size_t max_retries = unlimited;
};

// atomically(f) with the default options (defined below).
template <class F>
auto atomically(F&& f) -> std::invoke_result_t<F&, transaction&> {
  return atomically(std::forward<F>(f), stm_options{});
}

namespace detail::stm {

using word = std::uint64_t;
using lock_word = std::atomic<std::uint64_t>;  // version << 1 | locked

// The internal abort: thrown by a read that finds a conflict, caught by
// atomically(). Deliberately not a std::exception, so that a user's
// catch (const std::exception&) does not swallow it.
struct conflict {};

// Versions: a lock word is count << 11 | writer << 1 | locked. `writer` is
// the id (0..1023) of the thread whose commit wrote the tvar and `count`
// that thread's commit counter at that commit (53 bits: at 10^8 commits a
// second on one id, 2.8 years). Each id's counts grow with every commit
// made under it, also across the threads that hold it one after another.
// A tvar's initial word, 0, is writer 0, count 0.
inline constexpr unsigned writer_bits = 10;
inline constexpr std::size_t max_writers = std::size_t{1} << writer_bits;
inline constexpr unsigned count_shift = writer_bits + 1;
constexpr std::uint32_t writer_of(std::uint64_t w) noexcept {
  return static_cast<std::uint32_t>((w >> 1) & (max_writers - 1));
}
constexpr std::uint64_t count_of(std::uint64_t w) noexcept { return w >> count_shift; }
constexpr std::uint64_t make_version(std::uint32_t writer, std::uint64_t count) noexcept {
  return count << count_shift | std::uint64_t{writer} << 1;
}

// Writer ids (stm.cpp): a thread's descriptor takes a free id 1..1023 when
// it is created, with the count its last holder reached, and returns both
// when the thread exits. Id 0 is shared by the threads that found none
// free: their commits draw counts from one shared counter instead.
std::uint32_t acquire_writer_id(std::uint64_t& count) noexcept;
void release_writer_id(std::uint32_t id, std::uint64_t count) noexcept;

// One read in a transaction's read log: the tvar's lock word. 8 bytes, as
// a read-only transaction's log stays.
using read_entry = const lock_word*;

// One written tvar in a transaction's redo log: 32 bytes, four stores
// per write (every store before the commit's first lock cmpxchg must drain
// before it, and with two CPUs trading lines each one costs more: see
// structures/stm/README.md, "Stores before the lock"). Type-free: a value of
// one word is kept in the entry itself; a longer one in the value log,
// `payload` then holding its first word's index << 32 | its word count, and
// `words` tagged in bit 0.
struct write_entry {
  lock_word* lock;
  std::uintptr_t words;  // the tvar's std::atomic<word>* (atomic_words<T>), | 1: the value is in the value log
  // Before commit: 0, or v | 1 when the transaction read version v of this
  // tvar before writing it (the commit then locks only v). From the lock on:
  // the lock word commit replaced.
  std::uint64_t locked_from;
  word payload;  // the value (one word), or where it is in the value log (above)

  [[nodiscard]] std::atomic<word>* target() const noexcept {
    return reinterpret_cast<std::atomic<word>*>(words & ~std::uintptr_t{1});
  }
  [[nodiscard]] bool in_value_log() const noexcept { return (words & 1) != 0; }
};
static_assert(sizeof(write_entry) == 32);

// How far back write() looks in the read log for a read of the tvar it
// writes (the usual read-modify-write reads it just before). A read further
// back stays uncovered: the commit's validation checks it instead.
inline constexpr std::size_t cover_window = 8;

// A growable array of a trivially copyable T with N elements inside the
// object: a transaction's logs live in the thread's descriptor, keep their
// capacity from one transaction to the next, and allocate only when a
// transaction outgrows the inline part (then it throws std::bad_alloc if it
// cannot grow, nothing committed).
template <class T, std::size_t N>
class small_log {
  static_assert(std::is_trivially_copyable_v<T> && N > 0);

 public:
  small_log() noexcept = default;
  small_log(const small_log&) = delete;
  small_log& operator=(const small_log&) = delete;

  [[nodiscard]] std::size_t size() const noexcept { return size_; }
  [[nodiscard]] bool empty() const noexcept { return size_ == 0; }
  T* begin() noexcept { return data_; }
  T* end() noexcept { return data_ + size_; }
  const T* begin() const noexcept { return data_; }
  const T* end() const noexcept { return data_ + size_; }
  T& operator[](std::size_t i) noexcept { return data_[i]; }
  const T& operator[](std::size_t i) const noexcept { return data_[i]; }
  void clear() noexcept { size_ = 0; }
  void push_back(const T& v) {
    if (size_ == capacity_) [[unlikely]]
      grow(1);
    data_[size_++] = v;
  }
  // n more elements, uninitialised; a pointer to the first.
  T* extend(std::size_t n) {
    if (capacity_ - size_ < n) [[unlikely]]
      grow(n);
    T* p = data_ + size_;
    size_ += n;
    return p;
  }

 private:
  [[gnu::noinline]] void grow(std::size_t n) {
    std::size_t cap = capacity_ * 2;
    while (cap - size_ < n) cap *= 2;
    std::unique_ptr<T[]> bigger(new T[cap]);
    std::memcpy(bigger.get(), data_, size_ * sizeof(T));
    heap_ = std::move(bigger);
    data_ = heap_.get();
    capacity_ = cap;
  }

  T* data_ = inline_;
  std::size_t size_ = 0;
  std::size_t capacity_ = N;
  std::unique_ptr<T[]> heap_;
  T inline_[N];
};

// A Bloom filter bit per lock address (tvars are at least 16 bytes apart).
inline std::uint64_t bloom_bit(const void* p) noexcept {
  return std::uint64_t{1} << ((reinterpret_cast<std::uintptr_t>(p) >> 4) & 63);
}

transaction& this_thread() noexcept;

}  // namespace detail::stm

// tvar<T>: a transactional variable. Read and written through a
// transaction (atomically()); load() reads it alone outside one.
//
// Layout: the 64-bit versioned lock word followed by T as 64-bit words;
// sizeof(tvar<T>) = 8 + sizeof(T) rounded up to 8. Not padded: tvars next to
// each other share cache lines (falsely, when different threads commit to
// them); wrap a hot one in an alignas(64) struct if that matters.
template <class T>
class tvar {
  static_assert(detail::seqlock::value_type_ok<T>);  // or a message naming what T lacks

 public:
  using value_type = T;

  // A value-initialised T. Not thread-safe (no object is shared yet).
  tvar() noexcept
    requires std::is_default_constructible_v<T>
      : tvar(T{}) {}
  explicit tvar(const T& initial) noexcept { data_.write(&initial); }
  tvar(const tvar&) = delete;
  tvar& operator=(const tvar&) = delete;

  // load: the value of the last transaction that committed to this tvar
  // (or the initial value), read on its own, outside any transaction. Two
  // load()s of two tvars are not a snapshot: read them in one transaction.
  //   Threads: any, also inside a transaction (it then ignores the
  //   transaction's own writes and its snapshot). Progress: spins while a
  //   commit holds this tvar's lock (a few stores long).
  //   Ordering: acquire — what the committer did before its commit is visible.
  [[nodiscard]] T load() const noexcept {
    detail::seqlock::raw_copy<T> raw;
    // The seqlock reader (seqlock/detail/seqcount.hpp) over the lock word:
    // its acquire pairs with a commit's release unlock, its fence with the
    // release fence after the commit's locking (stm.cpp).
    for (;;) {
      const std::uint64_t before = detail::seqlock::seq_read_begin(lock_);
      if ((before & 1) == 0) {
        data_.read(raw.bytes);
        if (detail::seqlock::seq_read_valid(lock_, before)) return raw.value();
      }
      detail::base::cpu_relax();
    }
  }

 private:
  friend class transaction;

  mutable detail::stm::lock_word lock_{0};
  detail::seqlock::atomic_words<T> data_;
};

// transaction: the handle atomically() passes to its function. Only valid
// inside that call, on that thread; not constructible, copyable or movable.
class transaction {
 public:
  transaction(const transaction&) = delete;
  transaction& operator=(const transaction&) = delete;

  // read: v's value in this transaction's snapshot — its own last write to
  // v if it wrote one, otherwise the value committed to v as of the
  // transaction's snapshot. A value newer than the snapshot moves the
  // snapshot forward if everything read so far is still current, and
  // aborts the transaction here otherwise (an internal exception: do not
  // swallow it with catch (...); if you do, atomically() still retries).
  //   Cost: see the header's Costs. Ordering: acquire, as tvar::load().
  template <class T>
  [[nodiscard]] T read(const tvar<T>& v) {
    check_usable();
    detail::stm::lock_word* const lk = &v.lock_;
    detail::seqlock::raw_copy<T> raw;
    if (bloom_ & detail::stm::bloom_bit(lk)) {
      if (const detail::stm::write_entry* e = find_write(lk)) {
        std::memcpy(raw.bytes, logged_value<T>(*e), sizeof(T));
        return raw.value();
      }
    }
    // Fetch the line for writing when this thread's transactions write what
    // they read (rmw_hint_): the commit's lock then finds it exclusive.
    if (rmw_hint_) detail::base::prefetch_for_write(lk);
    for (;;) {
      // TL2's speculative read: the seqlock reader over the lock word, as in
      // tvar::load() (seqlock/detail/seqcount.hpp).
      const std::uint64_t before = detail::seqlock::seq_read_begin(*lk);
      if ((before & 1) != 0 || !known(before))
          [[unlikely]] {
        wait_or_extend(lk);  // returns once worth another try; throws on a conflict
        continue;
      }
      v.data_.read(raw.bytes);
      if (detail::seqlock::seq_read_valid(*lk, before)) [[likely]]
        break;
      // A commit wrote v during the copy: read it again (the check above
      // judges the new lock word).
    }
    reads_.push_back(lk);
    return raw.value();  // consistent: now a valid T
  }

  // write: buffers value as v's new value; shared memory is written only
  // if and when the transaction commits. Later reads in this transaction
  // return it. Throws std::bad_alloc if the log cannot grow (nothing
  // committed).
  template <class T>
  void write(tvar<T>& v, const T& value) {
    check_usable();
    detail::stm::lock_word* const lk = &v.lock_;
    const std::uint64_t bit = detail::stm::bloom_bit(lk);
    if (bloom_ & bit) {
      if (detail::stm::write_entry* e = find_write(lk)) {
        store_value(*e, value);
        return;
      }
    }
    constexpr std::size_t n = detail::seqlock::atomic_words<T>::count;
    detail::stm::write_entry e{lk, reinterpret_cast<std::uintptr_t>(v.data_.words()), cover_read(lk), 0};
    if constexpr (n > 1) {
      const std::size_t offset = values_.size();
      values_.extend(n)[n - 1] = 0;  // the padding of a partial last word, as atomic_words stores it
      e.words |= 1;
      e.payload = static_cast<detail::stm::word>(offset) << 32 | n;
    }
    store_value(e, value);
    writes_.push_back(e);
    bloom_ |= bit;
  }

  // True while the transaction has written nothing (it will then commit
  // without locks or validation).
  [[nodiscard]] bool read_only() const noexcept { return writes_.empty(); }

 private:
  template <class F>
  friend auto atomically(F&& f, stm_options opts) -> std::invoke_result_t<F&, transaction&>;
  friend transaction& detail::stm::this_thread() noexcept;

  transaction() noexcept : id_(detail::stm::acquire_writer_id(count_)) {
    // Our id's earlier commits, by us or its earlier holders, are known:
    // the registry's mutex ordered them before this.
    known_[id_] = count_;
  }
  ~transaction() { detail::stm::release_writer_id(id_, count_); }

  void begin() noexcept {
    reads_.clear();
    writes_.clear();
    if (!values_.empty()) values_.clear();  // only values longer than a word use it: no store in the usual case
    covered_ = 0;
    bloom_ = 0;
    doomed_ = false;
    active_ = true;
    // known_ is not reset: what a thread has learnt of other threads'
    // commits stays true (stm.cpp, wait_or_extend()), and a read that meets
    // a newer commit extends the snapshot.
  }
  // Commits (stm.cpp). False: a conflict, nothing written, locks released.
  bool commit() noexcept;
  // commit() for the usual read-modify-write, inline: one or two one-word
  // writes, each covering a read (cover_read()), and no other read, so that
  // the locks' compare-exchanges check every read and nothing is left to
  // validate. Inline in finish(), it stores nothing before the first lock:
  // no call (a return address and saved registers), and no store into the
  // log (README, "Stores before the lock"). True if it committed. False if
  // the transaction is not of that shape or a lock failed, with nothing
  // held and the log unchanged: commit() then decides (and waits for a
  // held lock as it does).
  bool commit_covered() noexcept {
    const std::size_t n = writes_.size();
    if (id_ == 0 || n - 1 > 1 || covered_ != reads_.size()) return false;  // n - 1 > 1: n is not 1 or 2
    detail::stm::write_entry* first = &writes_[0];
    detail::stm::write_entry* second = &writes_[n - 1];  // first, for one write
    if ((first->locked_from & second->locked_from & 1) == 0 || ((first->words | second->words) & 1) != 0)
      return false;  // a blind write (locked from any version), or a value in the value log
    if (std::less<>{}(second->lock, first->lock)) std::swap(first, second);
    // A covered entry's locked_from is the version its read saw | 1: the
    // locked word. Seq_cst and acquire on success, as commit()'s try_lock.
    const std::uint64_t locked1 = first->locked_from;
    std::uint64_t seen = locked1 & ~std::uint64_t{1};
    if (!first->lock->compare_exchange_strong(seen, locked1, std::memory_order_seq_cst, std::memory_order_relaxed))
      return false;
    if (second != first) {
      const std::uint64_t locked2 = second->locked_from;
      seen = locked2 & ~std::uint64_t{1};
      if (!second->lock->compare_exchange_strong(seen, locked2, std::memory_order_seq_cst,
                                                 std::memory_order_relaxed)) {
        // As unlock_unchanged(): the version we locked, released.
        first->lock->store(locked1 & ~std::uint64_t{1}, std::memory_order_release);
        return false;
      }
    }
    // From here on as commit() (stm.cpp), which has the ordering argument.
    std::atomic_thread_fence(std::memory_order_release);
    const std::uint64_t count = count_ + 1;
    first->target()->store(first->payload, std::memory_order_relaxed);
    if (second != first) second->target()->store(second->payload, std::memory_order_relaxed);
    const std::uint64_t version = detail::stm::make_version(id_, count);
    first->lock->store(version, std::memory_order_release);
    if (second != first) second->lock->store(version, std::memory_order_release);
    count_ = count;
    known_[id_] = count;
    return true;
  }
  bool finish() noexcept {
    const bool ok = !doomed_ && (commit_covered() || commit());
    active_ = false;
    // Read-modify-write: at least half of the reads were of tvars this
    // transaction then wrote. Guides the next transaction's reads.
    rmw_hint_ = covered_ != 0 && 2 * covered_ >= reads_.size();
    return ok;
  }
  [[noreturn]] void abort_conflict() {
    doomed_ = true;
    throw detail::stm::conflict{};
  }
  void check_usable() {
    if constexpr (detail::base::checks_enabled) {
      if (!active_ || this != &detail::stm::this_thread())
        detail::base::fatal(
            "quiesce::transaction used outside the atomically() call that passed it (after it returned, "
            "or from another thread)",
            "use the transaction only inside the function given to atomically(), on the calling thread");
    }
    if (doomed_) throw detail::stm::conflict{};  // a conflict the function swallowed: keep aborting
  }
  // The write log's entry for lk, or null (a linear search from the newest
  // entry; each tvar has at most one entry).
  const detail::stm::write_entry* find_write(const detail::stm::lock_word* lk) const noexcept {
    for (std::size_t i = writes_.size(); i-- > 0;)
      if (writes_[i].lock == lk) return &writes_[i];
    return nullptr;
  }
  detail::stm::write_entry* find_write(const detail::stm::lock_word* lk) noexcept {
    return const_cast<detail::stm::write_entry*>(std::as_const(*this).find_write(lk));
  }
  // Where e's logged value of type T is: in the entry (one word) or in the
  // value log.
  template <class T>
  const detail::stm::word* logged_value(const detail::stm::write_entry& e) const noexcept {
    if constexpr (detail::seqlock::atomic_words<T>::count == 1) return &e.payload;
    else return &values_[static_cast<std::size_t>(e.payload >> 32)];
  }
  template <class T>
  void store_value(detail::stm::write_entry& e, const T& value) noexcept {
    if constexpr (detail::seqlock::atomic_words<T>::count == 1) {
      e.payload = 0;  // the padding of a value shorter than a word, as atomic_words stores it
      std::memcpy(&e.payload, &value, sizeof(T));
    } else {
      std::memcpy(&values_[static_cast<std::size_t>(e.payload >> 32)], &value, sizeof(T));
    }
  }
  // A first write of lk: if one of the last cover_window reads read lk and
  // lk still holds a version of the snapshot (the one that read saw: a
  // version written since would be of a commit not in known_, since known_
  // grows only through extensions that re-check every read), counts lk as
  // covered and returns the version | 1 (write_entry::locked_from before
  // commit): the commit's lock then validates every read of lk. Else 0: the
  // commit's validation judges the reads of lk. Nothing is marked in the
  // read log (a store less per write): each tvar is covered at most once,
  // and at least one of its reads is in the log, so covered_ ==
  // reads_.size() only when every read is of a distinct covered tvar.
  std::uint64_t cover_read(const detail::stm::lock_word* lk) noexcept {
    const std::size_t stop = reads_.size() > detail::stm::cover_window ? reads_.size() - detail::stm::cover_window : 0;
    for (std::size_t i = reads_.size(); i-- > stop;) {
      if (reads_[i] != lk) continue;
      // Relaxed: only the expected value of the commit's compare-exchange,
      // which fails (an abort) if this load was stale.
      const std::uint64_t v = lk->load(std::memory_order_relaxed);
      if ((v & 1) != 0 || !known(v)) return 0;
      ++covered_;
      return v | 1;
    }
    return 0;
  }
  // True if `version` (a lock word) was stamped by a commit in the snapshot
  // (known_): one its thread had made by the count known_ holds for its id.
  [[nodiscard]] bool known(std::uint64_t version) const noexcept {
    return detail::stm::count_of(version) <= known_[detail::stm::writer_of(version)];
  }
  // read()'s slow path (stm.cpp): lk was locked or written by a commit
  // not in known_.
  void wait_or_extend(const detail::stm::lock_word* lk);
  // True if every read tvar is unlocked (or locked by this commit) and was
  // last written by a commit in known_.
  bool validate_reads(bool holding_locks) const noexcept;
  // Restores the lock words of order_[0..n) (commit of more than two writes).
  void release_locks(std::size_t n) noexcept;
  // Restores the lock word e's commit replaced: nothing was written.
  static void unlock_unchanged(detail::stm::write_entry& e) noexcept {
    // Release orders nothing we wrote (we wrote nothing) but keeps each lock
    // word's history monotone for the acquire loads that read it.
    e.lock->store(e.locked_from, std::memory_order_release);
  }

  std::uint64_t bloom_ = 0;  // over writes_' lock addresses
  std::uint64_t count_;      // our writer id's last commit count
  std::uint32_t id_;         // our writer id (0: shared; stm.cpp)
  bool active_ = false;
  bool doomed_ = false;
  std::size_t covered_ = 0;  // written tvars whose write covers a read (cover_read())
  bool rmw_hint_ = false;  // the last finished transaction was read-modify-write (finish())
  detail::stm::small_log<detail::stm::read_entry, 64> reads_;
  detail::stm::small_log<detail::stm::write_entry, 16> writes_;
  detail::stm::small_log<detail::stm::word, 32> values_;  // the redo log's values longer than a word (write_entry)
  detail::stm::small_log<detail::stm::write_entry*, 16> order_;  // commit of 3 or more writes: writes_ by lock address
  // The snapshot: for each writer id, the count up to which this thread
  // knows that id's commits (kept across transactions; 8 KiB).
  std::uint64_t known_[detail::stm::max_writers] = {};
};

namespace detail::stm {
[[noreturn]] void throw_retry_limit(std::size_t max_retries);

// The calling thread's transaction descriptor, reused by every atomically()
// on the thread (its logs keep their capacity).
inline transaction& this_thread() noexcept {
  thread_local transaction tx;
  return tx;
}
}  // namespace detail::stm

// atomically: runs f(tx) as one transaction and returns what f returned.
// Either every write f made through tx takes effect at one instant (commit)
// or none does. On a conflict f runs again from the start (after a
// back-off), so f must be free of side effects other than tx.write() — and
// of any state it carries from one run to the next.
//   Exceptions: one thrown by f (other than the internal abort) propagates
//   after rollback — nothing committed; the value f threw on was read from
//   a consistent snapshot. retry_limit_exceeded after opts.max_retries
//   failed retries. std::bad_alloc if a log cannot grow.
//   Nesting: atomically() called inside f on the same thread joins the
//   enclosing transaction (flat nesting): the inner function runs once with
//   the outer transaction, its writes commit or abort with the outer's, and
//   the inner opts are ignored. An exception the outer function catches
//   from an inner atomically() does not undo the inner writes already made.
//   Threads: any. Progress: obstruction-free in spirit — a transaction
//   aborts only because another committed (or was committing), so some
//   transaction always makes progress; an individual one may starve under
//   heavy contention (bound it with max_retries).
//   Ordering: a committed transaction is serialisable with every other and
//   acquires what the transactions it read from released.
template <class F>
auto atomically(F&& f, stm_options opts) -> std::invoke_result_t<F&, transaction&> {
  using result = std::invoke_result_t<F&, transaction&>;
  transaction& tx = detail::stm::this_thread();
  if (tx.active_) return std::invoke(f, tx);  // flat nesting
  // No back-off state before a failure: every store before the commit's
  // first lock costs (README, "Stores before the lock").
  for (std::size_t retries = 0;; ++retries) {
    tx.begin();
    try {
      if constexpr (std::is_void_v<result>) {
        std::invoke(f, tx);
        if (tx.finish()) return;
      } else {
        result r = std::invoke(f, tx);
        if (tx.finish()) return r;
      }
    } catch (const detail::stm::conflict&) {
      tx.active_ = false;
    } catch (...) {
      tx.active_ = false;
      if (!tx.doomed_) throw;  // f's own exception: nothing was written, propagate
      // f swallowed a conflict and then threw: the exception may come from
      // code that ran instead of the aborted read; retry.
    }
    if (retries >= opts.max_retries) detail::stm::throw_retry_limit(opts.max_retries);
    detail::base::exponential_backoff::pause_after(
        static_cast<std::uint32_t>(std::min<std::size_t>(retries + 1, std::numeric_limits<std::uint32_t>::max())));
  }
}

}  // namespace quiesce

#endif  // QUIESCE_STM_HPP
