/* perf/urcu_lfs_peer.h — liburcu's lock-free stack (cds_lfs, urcu/lfstack.h,
 * Debian liburcu-dev 0.13.2) as a peer of perf/lockfree_stack_queue_bench.cpp.
 *
 * In C because liburcu 0.13.2's inline lfstack (urcu/static/lfstack.h) does
 * not compile as C++ (it passes a struct pointer where C++ ignores the
 * transparent union it relies on). Pop is __cds_lfs_pop inside a read-side
 * section of liburcu's memb flavour (urcu_memb_read_lock/unlock, inline with
 * _LGPL_SOURCE: what quiesce::rcu_read_guard costs), the documented way to
 * pop concurrently without the stack's mutex; the popped node is freed with
 * urcu_memb_call_rcu (its callback runs on liburcu's call_rcu worker after a
 * grace period). Each thread registers with memb on its first call and
 * unregisters at exit. Nodes come from malloc; values are uint64_t.
 *
 * Batch functions, as in ck_hp_peers.h:
 *   urcu_lfs_pairs(n, first), urcu_lfs_push(n, first), urcu_lfs_pop(n),
 *   urcu_lfs_drain()
 */
#ifndef QUIESCE_PERF_URCU_LFS_PEER_H
#define QUIESCE_PERF_URCU_LFS_PEER_H

#include "peer_batch.h"

#ifdef __cplusplus
extern "C" {
#endif

QUIESCE_PEER_BATCH_DECLARATIONS(urcu_lfs)
/* Waits for every call_rcu callback queued so far (between benchmarks). */
void urcu_lfs_barrier(void);

#ifdef __cplusplus
}
#endif

#endif /* QUIESCE_PERF_URCU_LFS_PEER_H */
