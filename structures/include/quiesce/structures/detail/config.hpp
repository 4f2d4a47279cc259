// quiesce/structures/detail/config.hpp — build-time switches and small
// helpers shared by the structures component (seqlock, latch, ...).
//
// Internal header. It needs nothing from the other components, so that the
// header-only structures do not pull in liburcu or libnuma.
//
//  * QUIESCE_CHECKS (default: on unless NDEBUG) enables misuse checks that
//    cost something on a fast path (for example two concurrent
//    seqcount_latch::store() calls). It is the same switch, with the same
//    default, as urcu_wrappers' quiesce/rcu/detail/config.hpp; all
//    translation units of one program must agree on it. Checks change what a
//    buggy program does (it aborts with a message), never what a correct one
//    does, and never the layout of a type.
//  * structures::tsan is true when the compiler instruments for
//    ThreadSanitizer (tests use it to scale their iteration counts down).
#ifndef QUIESCE_STRUCTURES_DETAIL_CONFIG_HPP
#define QUIESCE_STRUCTURES_DETAIL_CONFIG_HPP

#include <quiesce/base/fatal.hpp>

#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <cstdlib>

#ifndef QUIESCE_CHECKS
#ifdef NDEBUG
#define QUIESCE_CHECKS 0
#else
#define QUIESCE_CHECKS 1
#endif
#endif

// GCC before 14 has no __has_feature: the test must be nested, not &&-ed.
#if defined(__SANITIZE_THREAD__)
#define QUIESCE_STRUCTURES_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define QUIESCE_STRUCTURES_TSAN 1
#endif
#endif
#ifndef QUIESCE_STRUCTURES_TSAN
#define QUIESCE_STRUCTURES_TSAN 0
#endif

namespace quiesce::detail::structures {

inline constexpr bool checks_enabled = QUIESCE_CHECKS != 0;
inline constexpr bool tsan = QUIESCE_STRUCTURES_TSAN != 0;

// The block the structures align their shared state to, so that no
// neighbouring object shares (and falsely shares) it. 64 bytes on x86-64 and
// on most AArch64 parts. (std::hardware_destructive_interference_size would
// make the layout depend on -mtune; GCC warns about it in headers.)
inline constexpr std::size_t cache_line = 64;

// A spin-wait hint: lets the sibling hyperthread run and stops the CPU from
// speculating far ahead in a tight loop.
inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield" ::: "memory");
#endif
}

// Prints "quiesce: fatal: <what>" and a hint on stderr, then aborts. For
// misuse found by the checks. Async-signal-safe (some checks fire inside
// signal handlers): quiesce/base/fatal.hpp.
[[noreturn]] inline void misuse(const char* what, const char* hint) noexcept { base::fatal(what, hint); }

}  // namespace quiesce::detail::structures

#endif  // QUIESCE_STRUCTURES_DETAIL_CONFIG_HPP
