/* perf/hazard_pointer_ck_peer.h — Concurrency Kit's hazard pointers (ck_hp,
 * Debian libck-dev) as the peer of perf/hazard_pointer_bench.cpp.
 *
 * ck's headers are C only, so the peer lives in hazard_pointer_ck_peer.c,
 * compiled as C. Each function runs a whole batch, as the quiesce batches in
 * hazard_pointer_bench.cpp (also not inlined) do, so the call costs once per
 * batch and ck's inline functions are inlined inside it.
 *
 *   ckhp_thread_init()       registers the calling thread's ck_hp record
 *                            (1 hazard slot; threshold CK_HP_PEER_THRESHOLD,
 *                            quiesce's min_threshold; destructor free())
 *   ckhp_protect_batch(n)    n protect+clear pairs: load the source, ck_hp_set_fence
 *                            (a store and a full fence), re-load and compare,
 *                            ck_hp_clear; returns a checksum
 *   ckhp_retire_batch(n)     n objects: malloc, ck_hp_free (retire; scans when
 *                            the record's pending count passes the threshold)
 *   ckhp_purge()             reclaims everything (ck_hp_purge)
 */
#ifndef QUIESCE_PERF_HAZARD_POINTER_CK_PEER_H
#define QUIESCE_PERF_HAZARD_POINTER_CK_PEER_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

void ckhp_thread_init(void);
uint64_t ckhp_protect_batch(uint64_t n);
void ckhp_retire_batch(uint64_t n);
void ckhp_purge(void);

#ifdef __cplusplus
}
#endif

#endif
