// quiesce/base/config.hpp — the build-time switches, sanitizer detection and
// machine constants every component shares. Internal header
// (quiesce::detail::base); the structures' components use it directly, the
// rcu component re-exports what it uses (quiesce/rcu/detail/config.hpp).
// It needs nothing but the compiler,
// so that header-only components pull in no library.
//
//  * QUIESCE_CHECKS (default: on unless NDEBUG) enables the misuse checks
//    that cost something on a fast path (a QSBR guard in an offline thread,
//    a second retire of one object, two concurrent seqcount_latch::store()
//    calls, ...). Checks change what a buggy program does (it aborts with a
//    message), never what a correct one does, and never the layout of a
//    type. All translation units of one program must agree on it.
//  * QUIESCE_TSAN is 1 when the compiler instruments for ThreadSanitizer
//    (GCC's __SANITIZE_THREAD__, clang's __has_feature(thread_sanitizer)).
//  * QUIESCE_ASAN is 1 when the compiler instruments for AddressSanitizer
//    (__SANITIZE_ADDRESS__, __has_feature(address_sanitizer)).
//  * QUIESCE_UBSAN: define it to 1 when building with -fsanitize=undefined
//    (GCC has no macro for it; quiesce's CMake does it for its address
//    build). See quiesce/rcu/detail/config.hpp for what it changes.
#ifndef QUIESCE_BASE_CONFIG_HPP
#define QUIESCE_BASE_CONFIG_HPP

#include <cstddef>

#ifndef QUIESCE_CHECKS
#ifdef NDEBUG
#define QUIESCE_CHECKS 0
#else
#define QUIESCE_CHECKS 1
#endif
#endif

// GCC before 14 has no __has_feature: the test must be nested, not &&-ed.
#if defined(__SANITIZE_THREAD__)
#define QUIESCE_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define QUIESCE_TSAN 1
#endif
#endif
#ifndef QUIESCE_TSAN
#define QUIESCE_TSAN 0
#endif

#if defined(__SANITIZE_ADDRESS__)
#define QUIESCE_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define QUIESCE_ASAN 1
#endif
#endif
#ifndef QUIESCE_ASAN
#define QUIESCE_ASAN 0
#endif

#ifndef QUIESCE_UBSAN
#define QUIESCE_UBSAN 0
#endif

namespace quiesce::detail::base {

inline constexpr bool checks_enabled = QUIESCE_CHECKS != 0;
inline constexpr bool tsan = QUIESCE_TSAN != 0;
inline constexpr bool asan = QUIESCE_ASAN != 0;

// One cache line: 64 bytes on x86-64 and on most AArch64 parts.
// (std::hardware_destructive_interference_size would make the layout depend
// on -mtune; GCC warns about it in headers.)
inline constexpr std::size_t cache_line = 64;
// The block that shared, written state is aligned and padded to: two lines,
// because the adjacent-line prefetcher (Intel's spatial prefetcher, AMD's
// too) fetches 64-byte lines in 128-byte pairs, so a neighbour on the other
// line of the pair still causes false sharing.
inline constexpr std::size_t cache_block = 2 * cache_line;

// A spin-wait hint: lets the sibling hyperthread run and stops the CPU from
// speculating far ahead in a tight loop (x86 pause, AArch64 yield).
inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield" ::: "memory");
#endif
}

// A hint that this thread will soon write the cache line holding p: the line
// is fetched in an exclusive state, so a later store or locked instruction
// to it does not need a second coherence transaction (read, then upgrade).
// Only a hint: no fault for any address, no effect on the program's result.
// x86-64: PREFETCHW, inline because GCC emits it for __builtin_prefetch(p, 1)
// only under -mprfchw (a generic build gets PREFETCHT0, a read prefetch);
// Intel processors before Broadwell execute it as a NOP.
inline void prefetch_for_write(const void* p) noexcept {
#if defined(__x86_64__)
  asm volatile("prefetchw %0" : : "m"(*static_cast<const char*>(p)));
#else
  __builtin_prefetch(p, 1);
#endif
}

}  // namespace quiesce::detail::base

#endif  // QUIESCE_BASE_CONFIG_HPP
