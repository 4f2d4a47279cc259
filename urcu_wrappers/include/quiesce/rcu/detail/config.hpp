// quiesce/rcu/detail/config.hpp — build-time switches and sanitizer hooks.
//
// Internal header. The switches themselves are defined once, in
// quiesce/base/config.hpp; what they mean for the RCU wrappers:
//
//  * QUIESCE_CHECKS (default: on unless NDEBUG) enables the misuse checks that
//    cost something on a fast path: a QSBR read-side guard in an offline
//    thread, rcu_synchronize/rcu_barrier inside a QSBR guard, and retiring
//    the same object twice (rcu_retire() or rcu_obj_base::retire()). Checks
//    that are free relative to the call they guard (rcu_synchronize or
//    rcu_barrier inside a memb/mb/bp read-side section, rcu_barrier inside a
//    deleter) are always on.
//    All translation units of one program must agree on QUIESCE_CHECKS; the
//    libraries of a build are compiled with its default (tests/ links
//    checks-on variants, cmake/quiesce_component.cmake, for its misuse tests).
//  * ThreadSanitizer annotations are compiled in when the compiler instruments
//    for TSan. They teach TSan the happens-before edges that liburcu creates
//    with membarrier()/futexes inside uninstrumented code (see rcu_domain.hpp).
#ifndef QUIESCE_RCU_DETAIL_CONFIG_HPP
#define QUIESCE_RCU_DETAIL_CONFIG_HPP

#include <quiesce/base/config.hpp>

// QUIESCE_UBSAN (quiesce/base/config.hpp; 1 in quiesce's own address
// build): liburcu-bp's registry arena places its reader records at 32-byte
// offsets although the type is declared 128-byte aligned; UBSan's alignment
// check flags every inlined bp read-side access. The flag makes the bp
// domain call liburcu's exported (uninstrumented) read side instead.

#if QUIESCE_TSAN
extern "C" {
void __tsan_acquire(void* addr);
void __tsan_release(void* addr);
}
#endif

namespace quiesce::detail::rcu {

inline constexpr bool checks_enabled = base::checks_enabled;

// Happens-before annotations for ThreadSanitizer; no code in other builds.
// tsan_release(a) publishes everything this thread did so far to whoever
// later calls tsan_acquire(a).
inline void tsan_release([[maybe_unused]] const void* addr) noexcept {
#if QUIESCE_TSAN
  __tsan_release(const_cast<void*>(addr));
#endif
}
inline void tsan_acquire([[maybe_unused]] const void* addr) noexcept {
#if QUIESCE_TSAN
  __tsan_acquire(const_cast<void*>(addr));
#endif
}

// Prints "quiesce: <what>" and a hint on stderr, then aborts. Used for misuse
// that would otherwise deadlock or corrupt memory.
[[noreturn]] void fatal(const char* what, const char* hint) noexcept;

// QUIESCE_CHECKS as the library (rcu_domain.cpp) was compiled: a program's
// translation units must agree with it (the misuse tests check they do).
bool rcu_library_checks() noexcept;

}  // namespace quiesce::detail::rcu

#endif  // QUIESCE_RCU_DETAIL_CONFIG_HPP
