// stm.cpp — the parts of <quiesce/stm.hpp> that must not be inline: the
// process's one global version clock, and the commit (locking, validation,
// write-back), which is type-erased and too long to inline at every call.
//
// Learned from (no code taken): Dice, Shalev, Shavit, "Transactional
// Locking II", DISC 2006 (the clock, versioned locks, commit order and the
// read-only fast path); Boehm, "Can seqlocks get along with programming
// language memory models?", MSPC 2012 (race-free speculative copies).

#include <quiesce/stm.hpp>

#include <algorithm>
#include <functional>
#include <string>

namespace quiesce {

namespace detail::stm {

clock_cell g_clock;

namespace {
// Pause rounds a committer waits for a held lock before it gives up
// (aborts, backs off, retries), and a read waits for a locked tvar before
// it aborts. A holder is itself committing (it runs no user code), so the
// wait is short unless the holder was preempted.
constexpr int lock_spins = 64;

bool try_lock(write_entry& e) noexcept {
  std::uint64_t cur = e.lock->load(std::memory_order_relaxed);
  for (int spins = 0;;) {
    if ((cur & 1) == 0) {
      // Acquire on success: pairs with the release unlock of the previous
      // committer, so our word stores follow its stores in each word's
      // modification order.
      if (e.lock->compare_exchange_weak(cur, cur | 1, std::memory_order_acquire, std::memory_order_relaxed)) {
        e.locked_from = cur;
        return true;
      }
      continue;  // cur reloaded by the failed CAS
    }
    if (++spins > lock_spins) return false;
    structures::cpu_relax();
    cur = e.lock->load(std::memory_order_relaxed);
  }
}
}  // namespace

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
    detail::structures::cpu_relax();
  }
  if ((w >> 1) <= rv_) return;
  // Newer than the snapshot: extend it (Riegel, Felber, Fetzer, "A Lazy
  // Snapshot Algorithm with Eager Validation", DISC 2006) instead of
  // aborting. Acquire: the clock value now covers the commit that wrote
  // lk (it incremented the clock before its release unlock, which our
  // acquire load above read), and every commit up to it had locked its
  // tvars before its increment. If everything read so far still has a
  // version <= rv_ and is unlocked, none of those commits wrote it, so the
  // reads are also the snapshot at `now`.
  const std::uint64_t now = detail::stm::g_clock.value.load(std::memory_order_acquire);
  if (!validate_reads(false)) abort_conflict();
  rv_ = now;
}

bool transaction::commit() noexcept {
  // Read-only: every read was checked against rv_ when it was made (or
  // revalidated when rv_ moved), so the transaction read the snapshot at
  // rv_ and is serialised there. No lock, no clock increment, no
  // validation; rv_ stays the thread's snapshot for its next transaction.
  if (writes_.empty()) return true;

  // Lock the written tvars in address order (one global order: no cycle of
  // waiters). validate_reads() and release_locks() use order_.
  const std::size_t n = writes_.size();
  detail::stm::write_entry** const order = order_.extend(n);
  for (std::size_t i = 0; i < n; ++i) order[i] = &writes_[i];
  sort_by_lock(order, order + n);
  for (std::size_t i = 0; i < n; ++i) {
    if (!detail::stm::try_lock(*order[i])) {
      release_locks(i);
      return false;
    }
  }
  // Release fence: pairs with the acquire fence in read() and tvar::load().
  // Orders the lock acquisitions before the word stores below, for readers
  // that copy any of those words.
  std::atomic_thread_fence(std::memory_order_release);

  // acq_rel: release — a transaction whose rv is >= wv sees our locks
  // (they precede this increment); acquire — we see the locks of every
  // committer whose increment precedes ours, so validation below finds them.
  const std::uint64_t wv = detail::stm::g_clock.value.fetch_add(1, std::memory_order_acq_rel) + 1;
  if (wv != rv_ + 1 && !validate_reads(true)) {
    release_locks(writes_.size());
    return false;
  }
  for (const detail::stm::write_entry& e : writes_) {
    const detail::stm::word* src = &values_[e.offset];
    for (std::uint32_t i = 0; i < e.count; ++i) e.words[i].store(src[i], std::memory_order_relaxed);
  }
  // Release: pairs with the acquire loads in read(), tvar::load() and the
  // next committer's lock acquisition; publishes the words.
  for (const detail::stm::write_entry& e : writes_) e.lock->store(wv << 1, std::memory_order_release);
  // The thread's next snapshot: every commit with a version <= wv locked
  // its tvars before our increment (acquire, above).
  rv_ = wv;
  return true;
}

bool transaction::validate_reads(bool holding_locks) const noexcept {
  for (const detail::stm::lock_word* lk : reads_) {
    // Acquire (a plain load on x86-64): the fetch_add in commit() (or the
    // clock load in wait_or_extend()) already ordered these loads after
    // every earlier committer's locking.
    const std::uint64_t v = lk->load(std::memory_order_acquire);
    if ((v & 1) == 0) {
      if ((v >> 1) > rv_) return false;  // committed to since our snapshot
      continue;
    }
    // Locked: by us (then judge the version it had when we locked it) or
    // by another committer (a conflict). We hold locks only inside
    // commit(), and there order_ holds the write log sorted by lock address.
    if (!holding_locks || (bloom_ & detail::stm::bloom_bit(lk)) == 0) return false;
    const detail::stm::write_entry* e = nullptr;
    if (writes_.size() <= 16) {
      for (const detail::stm::write_entry& w : writes_)
        if (w.lock == lk) e = &w;
    } else {
      const auto it = std::lower_bound(
          order_.begin(), order_.end(), lk,
          [](const detail::stm::write_entry* w, const detail::stm::lock_word* p) { return std::less<>{}(w->lock, p); });
      if (it != order_.end() && (*it)->lock == lk) e = *it;
    }
    if (e == nullptr || (e->locked_from >> 1) > rv_) return false;
  }
  return true;
}

void transaction::release_locks(std::size_t n) noexcept {
  // Restore the versions: nothing was written. Release orders nothing we
  // wrote (we wrote nothing) but keeps each lock word's history monotone
  // for the acquire loads that read it.
  for (std::size_t i = 0; i < n; ++i) order_[i]->lock->store(order_[i]->locked_from, std::memory_order_release);
}

}  // namespace quiesce
