/* perf/ck_hp_peers.h — Concurrency Kit's hazard-pointer stack and queue
 * (ck_hp_stack, ck_hp_fifo; Debian libck-dev 0.7.1) as peers of
 * perf/lockfree_stack_queue_bench.cpp.
 *
 * ck's headers are C only, so the peers live in ck_hp_peers.c, compiled as
 * C. Reclamation is ck's own: ck_hp (one ck_hp_t per structure, one
 * ck_hp_record_t per thread, registered on the thread's first call and
 * unregistered at its exit so a later thread recycles it with its pending
 * list); dequeued nodes go to ck_hp_free() and are free()d by ck_hp_reclaim
 * once no hazard names them, a scan every CK_HP_PEER_THRESHOLD frees (the
 * same floor as quiesce's domains; perf/hazard_pointer_bench.cpp checks it
 * at compile time; perf/peers/hazard_pointer_ck_peer.c uses it too). Nodes come from malloc, values are
 * uint64_t. Each function runs a whole batch of operations, as the C++
 * peers' batch functions in the benchmark do (also not inlined), so a call
 * costs once per batch and every peer's operations are inline inside it.
 *
 * For P in stack (ck_hp_stack_push_mpmc / ck_hp_stack_pop_mpmc) and fifo
 * (ck_hp_fifo_enqueue_mpmc / ck_hp_fifo_dequeue_mpmc):
 *   ck_hp_P_pairs(n, first)  n times: push(first + i), then pop one;
 *                            returns the sum of the values popped
 *   ck_hp_P_push(n, first)   pushes first .. first + n - 1
 *   ck_hp_P_pop(n)           pops n values, retrying while empty; returns their sum
 *   ck_hp_P_drain()          pops until empty; returns the sum of the values popped
 */
#ifndef QUIESCE_PERF_CK_HP_PEERS_H
#define QUIESCE_PERF_CK_HP_PEERS_H

#include "peer_batch.h"

#define CK_HP_PEER_THRESHOLD 4000

#ifdef __cplusplus
extern "C" {
#endif

QUIESCE_PEER_BATCH_DECLARATIONS(ck_hp_stack)
QUIESCE_PEER_BATCH_DECLARATIONS(ck_hp_fifo)

#ifdef __cplusplus
}
#endif

#endif /* QUIESCE_PERF_CK_HP_PEERS_H */
