// quiesce/rcu/detail/liburcu.hpp — the one place that includes liburcu.
//
// Internal header: include <quiesce/rcu.hpp> instead.
//
// Supported: liburcu 0.13 (Debian 12: 0.13.2) to 0.15 (Debian 13: 0.15.2).
// liburcu's headers carry no version macro (0.15.2 has no URCU_VERSION in
// urcu/config.h or urcu/urcu.h), so the version is read from the headers
// each release added or removed, with __has_include, and published as
//   QUIESCE_URCU_VERSION_MINOR     13, 14 or 15 (15 also for anything newer)
//   QUIESCE_URCU_VERSION           0x000D00, 0x000E00, 0x000F00
//   QUIESCE_URCU_HAS_POLL          1 from 0.14 (<urcu/urcu-poll.h>: every flavour's
//                                  start_poll_synchronize_rcu / poll_state_synchronize_rcu)
//   QUIESCE_URCU_HAS_ANNOTATE      1 from 0.15 (<urcu/annotate.h>, ThreadSanitizer annotations)
//   QUIESCE_URCU_HAS_SIGNAL_FLAVOR 1 up to 0.14 (<urcu/urcu-signal.h>; 0.15 removed the
//                                  signal flavour; quiesce never used it)
// urcu_wrappers/src/liburcu_version.cpp checks at build time that this agrees
// with the version pkg-config reports, and CMake refuses a liburcu older than
// 0.13 at configure time. What changes between the versions, and what this
// header does about it:
//   * 0.14 made URCU_TLS_STORAGE_CLASS `__thread` in C++ too; for 0.13 it is
//     redefined here (see below).
//   * 0.14 grew struct rcu_flavor_struct (the poll members): quiesce only
//     takes its address (flavor.hpp), never its size or layout.
//   * 0.15 renamed uatomic_read/uatomic_set to uatomic_load/uatomic_store
//     (with a memory order); quiesce calls neither.
//   * 0.15.2's _rcu_cmpxchg_pointer (used by rcu_cmpxchg_pointer under
//     _LGPL_SOURCE) ends in a stray `;` after its statement expression, so it
//     does not compile as a subexpression; redefined below without it.
//
// liburcu lets several flavours live in one program through its
// flavour-prefixed names (urcu_memb_*, urcu_qsbr_*, ...). Two details make
// including all four flavours in one C++ translation unit awkward, and this
// header takes care of both:
//
//  * The read side is only inlinable when _LGPL_SOURCE is defined before the
//    first liburcu include (otherwise every read_lock and read_unlock is a
//    call into liburcu's shared library instead of a few inline
//    instructions). We define it here; a translation unit that
//    included liburcu earlier without it gets a clear #error below.
//  * liburcu's thread-locals are declared `thread_local` in C++; see below.
//  * <urcu/call-rcu.h> has one include guard for all flavours, so only the
//    first flavour included gets its call_rcu family declared. We declare the
//    other flavours' exported functions ourselves, with the exact prototypes
//    of call-rcu.h and flavor.h (checked against liburcu 0.13.2's symbols).
#ifndef QUIESCE_RCU_DETAIL_LIBURCU_HPP
#define QUIESCE_RCU_DETAIL_LIBURCU_HPP

#if defined(_URCU_MEMB_H) && !defined(_URCU_MEMB_STATIC_H)
#error "quiesce: <urcu/urcu-memb.h> was included before <quiesce/rcu.hpp> without _LGPL_SOURCE; include quiesce first or define _LGPL_SOURCE"
#endif

#if __has_include(<urcu/annotate.h>)
#define QUIESCE_URCU_VERSION_MINOR 15
#elif __has_include(<urcu/urcu-poll.h>)
#define QUIESCE_URCU_VERSION_MINOR 14
#else
#define QUIESCE_URCU_VERSION_MINOR 13
#endif
#define QUIESCE_URCU_VERSION (QUIESCE_URCU_VERSION_MINOR << 8)
#define QUIESCE_URCU_HAS_POLL (QUIESCE_URCU_VERSION_MINOR >= 14)
#define QUIESCE_URCU_HAS_ANNOTATE (QUIESCE_URCU_VERSION_MINOR >= 15)
#if __has_include(<urcu/urcu-signal.h>)
#define QUIESCE_URCU_HAS_SIGNAL_FLAVOR 1
#else
#define QUIESCE_URCU_HAS_SIGNAL_FLAVOR 0
#endif

#ifndef _LGPL_SOURCE
#define _LGPL_SOURCE 1
#define QUIESCE_DEFINED_LGPL_SOURCE 1
#endif

// liburcu 0.13 declares its per-thread reader records `thread_local` when compiled
// as C++ (0.14 and later: `__thread`, as below), which makes every access from C++ go through a TLS-init check (the
// variables might need dynamic initialisation, as far as the compiler knows).
// They are defined in liburcu's C sources with static initialisation, so
// `__thread` is exact, and saves three test-and-branch pairs per read-side
// section (perf/rcu_bench read/memb/*, out/rcu_ratios.md).
#include <urcu/tls-compat.h>
#if QUIESCE_URCU_VERSION_MINOR < 14
#undef URCU_TLS_STORAGE_CLASS
#define URCU_TLS_STORAGE_CLASS __thread
#endif

#include <urcu/urcu-memb.h>  // first: declares struct rcu_head and the memb call_rcu family
#include <urcu/urcu-qsbr.h>
#include <urcu/urcu-mb.h>
#include <urcu/urcu-bp.h>
#include <urcu/rculfhash.h>

#if QUIESCE_URCU_VERSION_MINOR >= 15 && defined(_rcu_cmpxchg_pointer)
// 0.15.2's definition is `({ ... });`: the trailing `;` breaks
// `if (rcu_cmpxchg_pointer(&p, old, new) == old)`. Same expansion, without it.
#undef _rcu_cmpxchg_pointer
#define _rcu_cmpxchg_pointer(p, old, _new)                                                        \
  __extension__({                                                                                 \
    __typeof__(*p) _________pold = (old);                                                         \
    __typeof__(*p) _________pnew = (_new);                                                        \
    uatomic_cmpxchg_mo(p, _________pold, _________pnew, CMM_SEQ_CST, CMM_RELAXED);                \
  })
#endif

#ifdef QUIESCE_DEFINED_LGPL_SOURCE
#undef _LGPL_SOURCE
#undef QUIESCE_DEFINED_LGPL_SOURCE
#endif

extern "C" {
// The call_rcu family of the flavours whose <urcu/call-rcu.h> declarations
// were suppressed by its include guard (see above). Prototypes as in
// <urcu/call-rcu.h> of liburcu 0.13.2 and 0.15.2 (unchanged between them).
void urcu_qsbr_call_rcu(struct rcu_head*, void (*)(struct rcu_head*));
struct call_rcu_data* urcu_qsbr_create_call_rcu_data(unsigned long flags, int cpu_affinity);
void urcu_qsbr_call_rcu_data_free(struct call_rcu_data*);
void urcu_qsbr_set_thread_call_rcu_data(struct call_rcu_data*);
struct call_rcu_data* urcu_qsbr_get_thread_call_rcu_data(void);
pthread_t urcu_qsbr_get_call_rcu_thread(struct call_rcu_data*);
int urcu_qsbr_create_all_cpu_call_rcu_data(unsigned long flags);
void urcu_qsbr_free_all_cpu_call_rcu_data(void);
void urcu_qsbr_call_rcu_before_fork(void);
void urcu_qsbr_call_rcu_after_fork_parent(void);
void urcu_qsbr_call_rcu_after_fork_child(void);
void urcu_qsbr_barrier(void);
extern const struct rcu_flavor_struct urcu_qsbr_flavor;

void urcu_mb_call_rcu(struct rcu_head*, void (*)(struct rcu_head*));
struct call_rcu_data* urcu_mb_create_call_rcu_data(unsigned long flags, int cpu_affinity);
void urcu_mb_call_rcu_data_free(struct call_rcu_data*);
void urcu_mb_set_thread_call_rcu_data(struct call_rcu_data*);
struct call_rcu_data* urcu_mb_get_thread_call_rcu_data(void);
pthread_t urcu_mb_get_call_rcu_thread(struct call_rcu_data*);
int urcu_mb_create_all_cpu_call_rcu_data(unsigned long flags);
void urcu_mb_free_all_cpu_call_rcu_data(void);
void urcu_mb_call_rcu_before_fork(void);
void urcu_mb_call_rcu_after_fork_parent(void);
void urcu_mb_call_rcu_after_fork_child(void);
void urcu_mb_barrier(void);
extern const struct rcu_flavor_struct urcu_mb_flavor;

void urcu_bp_call_rcu(struct rcu_head*, void (*)(struct rcu_head*));
struct call_rcu_data* urcu_bp_create_call_rcu_data(unsigned long flags, int cpu_affinity);
void urcu_bp_call_rcu_data_free(struct call_rcu_data*);
void urcu_bp_set_thread_call_rcu_data(struct call_rcu_data*);
struct call_rcu_data* urcu_bp_get_thread_call_rcu_data(void);
pthread_t urcu_bp_get_call_rcu_thread(struct call_rcu_data*);
int urcu_bp_create_all_cpu_call_rcu_data(unsigned long flags);
void urcu_bp_free_all_cpu_call_rcu_data(void);
void urcu_bp_call_rcu_before_fork(void);
void urcu_bp_call_rcu_after_fork_parent(void);
void urcu_bp_call_rcu_after_fork_child(void);
void urcu_bp_barrier(void);
extern const struct rcu_flavor_struct urcu_bp_flavor;
}  // extern "C"

#include <quiesce/rcu/detail/config.hpp>

#if QUIESCE_TSAN || QUIESCE_UBSAN
// ThreadSanitizer builds (and, for bp, UBSan builds: see config.hpp) call liburcu's exported (uninstrumented) read-side
// functions instead of inlining them: the inline versions update the shared
// grace-period futex word with plain volatile accesses (liburcu's uatomic on
// x86), which TSan would report as races between readers. With _LGPL_SOURCE
// the exported names are macros for the inline ones, hence the asm labels.
// Release builds always inline.
namespace quiesce::detail::rcu::urcu_exported {
extern "C" {
void memb_read_lock() __asm__("urcu_memb_read_lock");
void memb_read_unlock() __asm__("urcu_memb_read_unlock");
void mb_read_lock() __asm__("urcu_mb_read_lock");
void mb_read_unlock() __asm__("urcu_mb_read_unlock");
void bp_read_lock() __asm__("urcu_bp_read_lock");
void bp_read_unlock() __asm__("urcu_bp_read_unlock");
int bp_read_ongoing() __asm__("urcu_bp_read_ongoing");
void qsbr_quiescent_state() __asm__("urcu_qsbr_quiescent_state");
void qsbr_thread_offline() __asm__("urcu_qsbr_thread_offline");
void qsbr_thread_online() __asm__("urcu_qsbr_thread_online");
}
}  // namespace quiesce::detail::rcu::urcu_exported
#endif

#endif  // QUIESCE_RCU_DETAIL_LIBURCU_HPP
