// stm.cpp — the parts of <quiesce/stm.hpp> that must not be inline: the
// process's one registry of writer ids, and the commit (locking,
// validation, write-back), which is type-erased and too long to inline at
// every call.
//
// Learned from (no code taken): Dice, Shalev, Shavit, "Transactional
// Locking II", DISC 2006 (versioned locks, commit order and the read-only
// fast path); Avni, Shavit, "Maintaining Consistent Transactional States
// without a Global Clock", SIROCCO 2008 (per-thread clocks in place of TL2's
// global one); Riegel, Felber, Fetzer, "A Lazy Snapshot Algorithm with Eager
// Validation", DISC 2006 (extending a snapshot instead of aborting); Boehm,
// "Can seqlocks get along with programming language memory models?", MSPC
// 2012 (race-free speculative copies).

#include <quiesce/stm.hpp>

#include <quiesce/base/fork_safe.hpp>

#include <pthread.h>

#include <algorithm>
#include <functional>
#include <mutex>
#include <new>
#include <string>

namespace quiesce {

namespace detail::stm {

namespace {
// The registry of writer ids. Taken once per thread (its first
// atomically()) and given back at its exit, under a mutex. Constant-
// initialised and never destroyed (threads give their ids back during exit),
// with its fork handlers registered at load: no thread is ever inside its
// initialiser when another forks (quiesce/base/fork_safe.hpp).
struct writer_registry {
  std::mutex mu;
  bool used[max_writers] = {};
  std::uint64_t last_count[max_writers] = {};  // where each id's counts stopped
};
constinit base::immortal<writer_registry> g_registry;
writer_registry& registry() noexcept { return g_registry.value; }

// fork(): the child must not inherit the registry's mutex held by a thread
// that does not survive the fork. The ids of the threads left behind stay
// taken in the child (their counts died with them: handing an id out again
// from an older count could repeat a stamp).
void registry_before_fork() noexcept { registry().mu.lock(); }
void registry_after_fork_parent() noexcept { registry().mu.unlock(); }
void registry_after_fork_child() noexcept { new (&registry().mu) std::mutex; }
// Fails only for want of memory: fork() then runs without these handlers, and
// a child forked while a thread held the registry's mutex may hang (as
// before pthread_atfork existed); nothing else changes.
[[maybe_unused]] const int g_fork_handlers =
    pthread_atfork(registry_before_fork, registry_after_fork_parent, registry_after_fork_child);

// Id 0's counter, shared by the threads that found no free id, alone on a
// 128-byte block (detail/layout.hpp).
struct alignas(layout::false_sharing_block) shared_counter {
  std::atomic<std::uint64_t> value{0};
};
static_assert(layout::owns_blocks<shared_counter>);
shared_counter g_shared_count;

// Pause rounds a committer waits for a held lock before it gives up
// (aborts, backs off, retries), and a read waits for a locked tvar before
// it aborts. A holder is itself committing (it runs no user code), so the
// wait is short unless the holder was preempted.
constexpr int lock_spins = 64;

// Locks e's tvar. If the transaction read it (e.locked_from = v | 1), only
// while it still holds version v: the compare-exchange then also validates
// that read. False: held by another committer past the spin, or (read)
// written since.
bool try_lock(write_entry& e) noexcept {
  const std::uint64_t expected = e.locked_from;  // v | 1, or 0: any version
  std::uint64_t cur = (expected & 1) ? expected & ~std::uint64_t{1} : e.lock->load(std::memory_order_relaxed);
  for (int spins = 0;;) {
    if ((cur & 1) == 0) {
      if ((expected & 1) && cur != (expected & ~std::uint64_t{1})) return false;  // written since our read
      // Acquire on success: pairs with the release unlock of the previous
      // committer, so our word stores follow its stores in each word's
      // modification order. Seq_cst: commit()'s write-skew argument (a
      // lock cmpxchg on x86-64 either way).
      if (e.lock->compare_exchange_weak(cur, cur | 1, std::memory_order_seq_cst, std::memory_order_relaxed)) {
        e.locked_from = cur;
        return true;
      }
      continue;  // cur reloaded by the failed CAS
    }
    if (++spins > lock_spins) return false;
    base::cpu_relax();
    cur = e.lock->load(std::memory_order_relaxed);
  }
}
}  // namespace

std::uint32_t acquire_writer_id(std::uint64_t& count) noexcept {
  writer_registry& r = registry();
  {
    const std::lock_guard guard(r.mu);
    for (std::uint32_t id = 1; id < max_writers; ++id) {
      if (!r.used[id]) {
        r.used[id] = true;
        count = r.last_count[id];
        return id;
      }
    }
  }
  // All taken: share id 0. Acquire: pairs with the acq_rel increments
  // (commit()), so every id-0 commit up to `count` locked before our reads.
  count = g_shared_count.value.load(std::memory_order_acquire);
  return 0;
}

void release_writer_id(std::uint32_t id, std::uint64_t count) noexcept {
  if (id == 0) return;
  writer_registry& r = registry();
  const std::lock_guard guard(r.mu);
  r.last_count[id] = count;
  r.used[id] = false;
}

void throw_retry_limit(std::size_t max_retries) {
  throw retry_limit_exceeded(
      "quiesce::atomically: the transaction aborted on a conflict " + std::to_string(max_retries + 1) +
      " times in a row (stm_options::max_retries = " + std::to_string(max_retries) +
      "); nothing was committed. Raise stm_options::max_retries, make the transaction touch fewer "
      "contended tvars, or serialise this update with a lock");
}

}  // namespace detail::stm

namespace {
// Sorts pointers to the write log's entries by lock address: insertion sort
// for the usual few entries (no call; it moves 8-byte pointers, not the
// entries, whose just-written fields would stall wide loads on store
// forwarding), std::sort beyond.
void sort_by_lock(detail::stm::write_entry** first, detail::stm::write_entry** last) noexcept {
  const auto less = [](const detail::stm::write_entry* a, const detail::stm::write_entry* b) {
    return std::less<>{}(a->lock, b->lock);
  };
  if (last - first > 16) {
    std::sort(first, last, less);
    return;
  }
  for (detail::stm::write_entry** i = first + 1; i < last; ++i) {
    detail::stm::write_entry* const e = *i;
    detail::stm::write_entry** j = i;
    for (; j != first && less(e, *(j - 1)); --j) *j = *(j - 1);
    *j = e;
  }
}
}  // namespace

void transaction::wait_or_extend(const detail::stm::lock_word* lk) {
  // Locked: a committer is between its locking and its unlock, which runs
  // no user code and is a few stores long. Wait for it a little rather
  // than abort (an abort costs an exception and a re-run); give up if the
  // holder seems preempted.
  std::uint64_t w = lk->load(std::memory_order_acquire);
  for (int spins = 0; (w & 1) != 0; w = lk->load(std::memory_order_acquire)) {
    if (++spins > detail::stm::lock_spins) abort_conflict();
    detail::base::cpu_relax();
  }
  const std::uint32_t writer = detail::stm::writer_of(w);
  const std::uint64_t count = detail::stm::count_of(w);
  if (count <= known_[writer]) return;
  // Written by a commit we did not know of: extend the snapshot to it
  // (Riegel, Felber, Fetzer, DISC 2006) instead of aborting, with no shared
  // clock to read. Sound: the commits made under one writer id follow one
  // another (one thread's program order, the registry's mutex between its
  // holders, or for id 0 one acq_rel counter), each locked its tvars before
  // it unlocked any, and our acquire load above read the release unlock of
  // the one numbered `count`; so every commit of that id up to `count` has
  // locked its tvars before our loads below and after. If everything read
  // so far is unlocked and was written by commits we already knew, none of
  // those commits wrote it since we read it, so the reads are also the
  // snapshot that includes them.
  if (!validate_reads(false)) abort_conflict();
  known_[writer] = count;
}

bool transaction::commit() noexcept {
  // A read-modify-write of one or two one-word tvars with no other read
  // usually commits inline instead (commit_covered() in the header); it
  // comes here only when one of its locks was not free at once.
  // Read-only: every read was checked against known_ when it was made (or
  // revalidated when known_ grew), so the transaction read one snapshot
  // and is serialised there. No lock and no validation.
  if (writes_.empty()) return true;

  // Lock the written tvars in address order (one global order: no cycle of
  // waiters). One or two (the usual read-modify-write): straight-line, with
  // no store before the first lock (each would have to drain before the
  // lock's cmpxchg). More: sorted into order_, which validate_reads() also
  // searches beyond 16 writes.
  const std::size_t n = writes_.size();
  detail::stm::write_entry* first = &writes_[0];
  detail::stm::write_entry* second = &writes_[n - 1];  // first, for one write
  if (n <= 2) {
    if (std::less<>{}(second->lock, first->lock)) std::swap(first, second);
    if (!detail::stm::try_lock(*first)) return false;
    if (second != first && !detail::stm::try_lock(*second)) {
      unlock_unchanged(*first);
      return false;
    }
  } else {
    order_.clear();
    detail::stm::write_entry** const order = order_.extend(n);
    for (std::size_t i = 0; i < n; ++i) order[i] = &writes_[i];
    sort_by_lock(order, order + n);
    for (std::size_t i = 0; i < n; ++i) {
      if (!detail::stm::try_lock(*order[i])) {
        release_locks(i);
        return false;
      }
    }
  }
  // Release fence: pairs with the acquire fence in read() and tvar::load().
  // Orders the lock acquisitions before the word stores below, for readers
  // that copy any of those words.
  std::atomic_thread_fence(std::memory_order_release);

  // Our commit's count: the next of our id's (a thread-local increment:
  // nothing shared is written). Id 0 draws it from its shared counter;
  // acq_rel: release — a thread that learns a later id-0 count sees our
  // locks; acquire — the chain of increments orders id 0's commits.
  const std::uint64_t count = id_ != 0 ? count_ + 1
                                       : detail::stm::g_shared_count.value.fetch_add(1, std::memory_order_acq_rel) + 1;
  // Always validate: without a global clock nothing says that no one
  // committed since our reads. Two committers that each read what the
  // other writes cannot both pass: try_lock's seq_cst cmpxchg precedes our
  // seq_cst validation loads in the total order S, and theirs theirs, so
  // whichever validation comes later in S sees the other's lock.
  if (covered_ != reads_.size() && !validate_reads(true)) {
    if (n > 2) {
      release_locks(n);
    } else {
      unlock_unchanged(*first);
      if (second != first) unlock_unchanged(*second);
    }
    return false;
  }
  for (const detail::stm::write_entry& e : writes_) {
    std::atomic<detail::stm::word>* const dst = e.target();
    if (!e.in_value_log()) [[likely]] {
      dst->store(e.payload, std::memory_order_relaxed);
      continue;
    }
    const detail::stm::word* src = &values_[static_cast<std::size_t>(e.payload >> 32)];
    const auto words = static_cast<std::uint32_t>(e.payload);
    for (std::uint32_t i = 0; i < words; ++i) dst[i].store(src[i], std::memory_order_relaxed);
  }
  // Release: pairs with the acquire loads in read(), tvar::load() and the
  // next committer's lock acquisition; publishes the words, and with them
  // every earlier commit of our id.
  const std::uint64_t version = detail::stm::make_version(id_, count);
  for (const detail::stm::write_entry& e : writes_) e.lock->store(version, std::memory_order_release);
  count_ = count;
  known_[id_] = count;
  return true;
}

bool transaction::validate_reads(bool holding_locks) const noexcept {
  for (const detail::stm::lock_word* const lk : reads_) {
    // Seq_cst (a plain load on x86-64, ldar on AArch64): in commit(), after
    // our seq_cst lockings in S (commit()'s write-skew argument).
    const std::uint64_t v = lk->load(std::memory_order_seq_cst);
    if ((v & 1) == 0) {
      // Written by a commit we did not know of: since our read, as a read
      // that had met it would have extended known_ to it.
      if (!known(v)) return false;
      continue;
    }
    // Locked: by us (then judge the version it had when we locked it) or
    // by another committer (a conflict). We hold locks only inside
    // commit(), and there, beyond two writes, order_ holds the write log
    // sorted by lock address.
    if (!holding_locks || (bloom_ & detail::stm::bloom_bit(lk)) == 0) return false;
    const detail::stm::write_entry* e = nullptr;
    if (writes_.size() <= 16) {
      e = find_write(lk);
    } else {
      const auto it = std::lower_bound(
          order_.begin(), order_.end(), lk,
          [](const detail::stm::write_entry* w, const detail::stm::lock_word* p) { return std::less<>{}(w->lock, p); });
      if (it != order_.end() && (*it)->lock == lk) e = *it;
    }
    if (e == nullptr || !known(e->locked_from)) return false;
  }
  return true;
}

void transaction::release_locks(std::size_t n) noexcept {
  for (std::size_t i = 0; i < n; ++i) unlock_unchanged(*order_[i]);
}

}  // namespace quiesce
