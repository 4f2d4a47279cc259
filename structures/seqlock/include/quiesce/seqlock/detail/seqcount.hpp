// quiesce/seqlock/detail/seqcount.hpp — the machinery under every reader
// that copies a value optimistically and checks a sequence afterwards:
// seqlock, seqcount_latch, versioned_cell and the STM's tvar. Internal
// (quiesce::detail::seqlock); include <quiesce/seqlock.hpp>.
//
// The sequence protocol, once (Linux's read_seqcount_begin() /
// read_seqcount_retry() and write_seqcount_begin() / write_seqcount_end(),
// include/linux/seqlock.h; Boehm, "Can seqlocks get along with programming
// language memory models?", MSPC 2012, for the fences):
//
//   reader                                  writer
//   s = seq_read_begin(seq)   (acquire)     odd = seq_write_lock(seq)  (CAS even->odd,
//   copy the words (relaxed)                      acquire; then a release fence)
//   seq_read_valid(seq, s)    (acquire      store the words (relaxed)
//     fence, relaxed re-load == s)          seq_write_unlock(seq, odd) (release)
//
// Why it is enough: the acquire load of s pairs with the release store that
// made the sequence s, so the copy sees at least that writer's words. If any
// word copied came from a later writer, the acquire fence before the re-load
// pairs with that writer's release fence after its lock, so the re-load sees
// its odd value (or later) and differs from s. Every word is an atomic, so a
// torn copy is a stale value, never a data race; it becomes a T only once
// validated (raw_copy). seqcount_latch's writer keeps the same reader
// contract with two copies (quiesce/seqlock.hpp); the STM's commit locks its
// words with its own bounded, seq_cst CAS (stm.cpp).
#ifndef QUIESCE_SEQLOCK_DETAIL_SEQCOUNT_HPP
#define QUIESCE_SEQLOCK_DETAIL_SEQCOUNT_HPP

#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include <quiesce/base/config.hpp>

namespace quiesce {

namespace detail::seqlock {

// A T kept as relaxed atomic 64-bit words (the last one zero-padded). The
// owner orders the accesses with its sequence.
template <class T>
class atomic_words {
  static constexpr std::size_t word = sizeof(std::uint64_t);
  static constexpr std::size_t full = sizeof(T) / word;
  static constexpr std::size_t tail = sizeof(T) % word;

 public:
  static constexpr std::size_t count = full + (tail != 0);

  // Relaxed loads of every word into the sizeof(T) bytes at dst.
  //
  // The loops are unrolled and move 8 bytes at a time on purpose: a copy
  // that reloads just-stored words with wider (vector) loads stalls on store
  // forwarding (the wide load waits until the narrow stores reach the
  // cache), which is why load() writes straight into
  // its result and try_load() copies word by word.
  void read(void* dst) const noexcept {
    auto* out = static_cast<unsigned char*>(dst);
#pragma GCC unroll 32
    for (std::size_t i = 0; i < full; ++i) {
      const std::uint64_t w = words_[i].load(std::memory_order_relaxed);
      std::memcpy(out + i * word, &w, word);
    }
    if constexpr (tail != 0) {
      const std::uint64_t w = words_[full].load(std::memory_order_relaxed);
      std::memcpy(out + full * word, &w, tail);
    }
  }
  // Relaxed stores of the sizeof(T) bytes at src (a T's object representation).
  void write(const void* src) noexcept {
    const auto* in = static_cast<const unsigned char*>(src);
#pragma GCC unroll 32
    for (std::size_t i = 0; i < full; ++i) {
      std::uint64_t w;
      std::memcpy(&w, in + i * word, word);
      words_[i].store(w, std::memory_order_relaxed);
    }
    if constexpr (tail != 0) {
      std::uint64_t w = 0;
      std::memcpy(&w, in + full * word, tail);
      words_[full].store(w, std::memory_order_relaxed);
    }
  }
  // The words themselves, for an owner that stores logged words back
  // without knowing T (the STM's type-erased commit).
  std::atomic<std::uint64_t>* words() noexcept { return words_; }

  // Copies sizeof(T) bytes, 8 at a time (see read()).
  static void copy(void* dst, const void* src) noexcept {
    auto* out = static_cast<unsigned char*>(dst);
    const auto* in = static_cast<const unsigned char*>(src);
#pragma GCC unroll 32
    for (std::size_t i = 0; i < full; ++i) {
      std::uint64_t w;
      std::memcpy(&w, in + i * word, word);
      std::memcpy(out + i * word, &w, word);
    }
    if constexpr (tail != 0) std::memcpy(out + full * word, in + full * word, tail);
  }

 private:
  std::atomic<std::uint64_t> words_[count] = {};
};

// The bytes of a copy of T not yet known to be consistent. A torn copy may
// hold an invalid object representation (a bool that is 2), so it becomes a
// T (value()) only once the sequence has vouched for it.
template <class T>
struct raw_copy {
  alignas(T) unsigned char bytes[sizeof(T)];
  T value() const noexcept { return std::bit_cast<T>(*this); }
};

template <class T>
inline constexpr bool plain_object_type = !std::is_const_v<T> && !std::is_volatile_v<T> && !std::is_array_v<T>;

// The value types of the structures that copy their value word by word
// (seqlock, seqcount_latch, versioned_cell, tvar): checked once for all
// four, each failure with its own message (the compiler's "required from"
// line names the structure).
template <class T>
struct value_checks {
  static_assert(std::is_trivially_copyable_v<T>,
                "quiesce::seqlock/seqcount_latch/versioned_cell/tvar<T> needs a trivially copyable T (readers copy "
                "it word by word while a writer may be storing it): keep the value in a trivially copyable struct, "
                "or keep a pointer (or an index) and protect the pointee with quiesce::rcu_ptr<T>, hazard pointers "
                "or a mutex");
  static_assert(plain_object_type<T>,
                "quiesce::seqlock/seqcount_latch/versioned_cell/tvar<T>: T must be a non-const, non-volatile, "
                "non-array object type; name the structure of U for a const U, or wrap an array in std::array");
  // Signal-handler readers (the latch's) need atomics not emulated with a lock.
  static_assert(std::atomic<std::uint64_t>::is_always_lock_free,
                "quiesce::seqlock/seqcount_latch/versioned_cell/tvar need lock-free 64-bit atomics");
  static constexpr bool ok = true;
};
template <class T>
inline constexpr bool value_type_ok = value_checks<T>::ok;

// ---- the sequence protocol (see the top of this file) ----

// The sequence at the start of a read attempt. Acquire: pairs with the
// release store that made it (seq_write_unlock, or the latch's stores).
[[nodiscard]] inline std::uint64_t seq_read_begin(const std::atomic<std::uint64_t>& seq) noexcept {
  return seq.load(std::memory_order_acquire);
}

// After copying the words: true if they are all from the writer that made
// `begin` (no writer started since). Acquire fence: pairs with the release
// fence after a writer's lock; the re-load then sees that writer's odd value.
[[nodiscard]] inline bool seq_read_valid(const std::atomic<std::uint64_t>& seq, std::uint64_t begin) noexcept {
  std::atomic_thread_fence(std::memory_order_acquire);
  return seq.load(std::memory_order_relaxed) == begin;
}

// The readers' loop over one attempt, shared by seqlock and seqcount_latch.
// attempt(dst) is one read attempt: true if the sizeof(T) bytes at dst now
// hold one writer's complete value. pause() runs between failed attempts.
// A T with a trivial default constructor is read straight into the returned
// object (one named return value, so GCC applies NRVO: no second copy,
// whose wide loads of just-stored words would stall on store forwarding); a
// torn attempt is overwritten by the next one before anything reads it as a
// T. Any other T goes through raw bytes and becomes a T once vouched for.
// (Two functions, each with one return statement: with both returns in one
// function GCC 12 gives up NRVO and copies T, which seqlock_bench's
// read/256B rows show.)
template <class T, class Attempt, class Pause>
[[nodiscard]] T seq_load_in_place(Attempt& attempt, Pause& pause) noexcept {
  T out;
  while (!attempt(static_cast<void*>(&out))) pause();
  return out;
}
template <class T, class Attempt, class Pause>
[[nodiscard]] T seq_load_via_raw(Attempt& attempt, Pause& pause) noexcept {
  raw_copy<T> raw;
  while (!attempt(static_cast<void*>(raw.bytes))) pause();
  return raw.value();
}
template <class T, class Attempt, class Pause>
[[nodiscard]] T seq_load(Attempt attempt, Pause pause) noexcept {
  if constexpr (std::is_trivially_default_constructible_v<T>)
    return seq_load_in_place<T>(attempt, pause);  // guaranteed elision: no copy of T
  else
    return seq_load_via_raw<T>(attempt, pause);
}

// One attempt into out; false leaves out untouched.
template <class T, class Attempt>
[[nodiscard]] bool seq_try_load(T& out, Attempt attempt) noexcept {
  raw_copy<T> raw;
  if (!attempt(static_cast<void*>(raw.bytes))) return false;
  atomic_words<T>::copy(&out, raw.bytes);  // consistent: now a valid T
  return true;
}

// Takes the writer lock: waits for an even sequence and makes it odd.
// Returns the odd value. `on_busy()` runs each time the lock was held (a
// misuse check, say) before the next try. Acquire on success: pairs with the
// previous writer's seq_write_unlock, so our word stores follow its stores in
// each word's modification order. Then a release fence: pairs with the
// acquire fence in seq_read_valid (a reader that sees any word stored after
// this sees the odd sequence at its re-check).
template <class OnBusy>
[[nodiscard]] std::uint64_t seq_write_lock(std::atomic<std::uint64_t>& seq, OnBusy&& on_busy) noexcept {
  std::uint64_t s = seq.load(std::memory_order_relaxed);
  for (;;) {
    if ((s & 1) == 0 && seq.compare_exchange_weak(s, s + 1, std::memory_order_acquire, std::memory_order_relaxed))
      break;
    on_busy();
    base::cpu_relax();
    s = seq.load(std::memory_order_relaxed);
  }
  std::atomic_thread_fence(std::memory_order_release);
  return s + 1;
}

// Takes the writer lock only if the sequence is still `even` (a
// compare-and-swap commit: versioned_cell::try_commit). Ordering as
// seq_write_lock; relaxed on failure (nothing read matters).
[[nodiscard]] inline bool seq_try_write_lock(std::atomic<std::uint64_t>& seq, std::uint64_t even) noexcept {
  if (!seq.compare_exchange_strong(even, even + 1, std::memory_order_acquire, std::memory_order_relaxed))
    return false;
  std::atomic_thread_fence(std::memory_order_release);
  return true;
}

// Releases the lock taken at `odd`. Release: pairs with seq_read_begin and
// the next writer's acquire CAS; publishes the word stores.
inline void seq_write_unlock(std::atomic<std::uint64_t>& seq, std::uint64_t odd) noexcept {
  seq.store(odd + 1, std::memory_order_release);
}

}  // namespace detail::seqlock

}  // namespace quiesce

#endif  // QUIESCE_SEQLOCK_DETAIL_SEQCOUNT_HPP
