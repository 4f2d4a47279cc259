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
// Pause rounds a commit waits for a held lock before it gives up (aborts,
// backs off, retries). A holder is itself committing (it runs no user
// code), so the wait is short unless the holder was preempted.
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

bool transaction::commit() noexcept {
  // Read-only: every read was checked against rv_ when it was made, so the
  // transaction read the snapshot at rv_ and is serialised there. No lock,
  // no clock increment, no validation.
  if (writes_.empty()) return true;

  // Lock the written tvars in address order (one global order: no cycle of
  // waiters). find_write() below relies on the sort.
  std::sort(writes_.begin(), writes_.end(),
            [](const detail::stm::write_entry& a, const detail::stm::write_entry& b) {
              return std::less<>{}(a.lock, b.lock);
            });
  for (std::size_t i = 0; i < writes_.size(); ++i) {
    if (!detail::stm::try_lock(writes_[i])) {
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
  if (wv != rv_ + 1 && !validate_reads()) {
    release_locks(writes_.size());
    return false;
  }
  for (const detail::stm::write_entry& e : writes_) e.write_back(e.data, &values_[e.offset]);
  // Release: pairs with the acquire loads in read(), tvar::load() and the
  // next committer's lock acquisition; publishes the words.
  for (const detail::stm::write_entry& e : writes_) e.lock->store(wv << 1, std::memory_order_release);
  return true;
}

bool transaction::validate_reads() const noexcept {
  for (const detail::stm::lock_word* lk : reads_) {
    // Acquire (a plain load on x86-64): the fetch_add in commit() already
    // ordered these loads after every earlier committer's locking.
    const std::uint64_t v = lk->load(std::memory_order_acquire);
    if ((v & 1) == 0) {
      if ((v >> 1) > rv_) return false;  // committed to since our snapshot
      continue;
    }
    // Locked: by us (then judge the version it had when we locked it) or
    // by another committer (a conflict). writes_ is sorted by lock address.
    const auto it = std::lower_bound(
        writes_.begin(), writes_.end(), lk,
        [](const detail::stm::write_entry& e, const detail::stm::lock_word* p) { return std::less<>{}(e.lock, p); });
    if (it == writes_.end() || it->lock != lk || (it->locked_from >> 1) > rv_) return false;
  }
  return true;
}

void transaction::release_locks(std::size_t n) noexcept {
  // Restore the versions: nothing was written. Release orders nothing we
  // wrote (we wrote nothing) but keeps each lock word's history monotone
  // for the acquire loads that read it.
  for (std::size_t i = 0; i < n; ++i) writes_[i].lock->store(writes_[i].locked_from, std::memory_order_release);
}

}  // namespace quiesce
