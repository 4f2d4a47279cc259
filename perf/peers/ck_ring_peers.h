/* perf/ck_ring_peers.h — Concurrency Kit's ck_ring (SPSC) as a peer for
 * perf/disruptor_bench.cpp.
 *
 * ck's headers are C only, so the ring and its loops live in ck_ring_peers.c,
 * compiled as C. To keep the comparison fair each function runs a whole loop
 * (the call costs once per batch, as the C++ peers' loops), and inside it
 * ck's inline enqueue/dequeue are inlined as the other peers' calls are.
 *
 *   ck_ring_peer_init(size)        (re)creates the ring: size slots (a power
 *                                  of two; ck keeps one slot free)
 *   ck_ring_peer_produce(n, first) enqueues first .. first+n-1 one by one,
 *                                  spinning (pause) while the ring is full
 *   ck_ring_peer_consume(stop, done, sum)
 *                                  the consumer loop: dequeues until *stop is
 *                                  set, adding each value to *sum and storing
 *                                  the count so far to *done (release) after
 *                                  each run of dequeues
 *   ck_ring_peer_free()
 * The stop and done words are C11 atomics shared with the C++ side (same
 * representation as std::atomic<int64_t>/<int> on x86-64 gcc/clang).
 */
#ifndef QUIESCE_PERF_CK_RING_PEERS_H
#define QUIESCE_PERF_CK_RING_PEERS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

int ck_ring_peer_init(unsigned int size);
void ck_ring_peer_produce(uint64_t n, uint64_t first);
void ck_ring_peer_consume(const volatile int* stop, volatile int64_t* done, int64_t* sum);
void ck_ring_peer_free(void);

#ifdef __cplusplus
}
#endif

#endif /* QUIESCE_PERF_CK_RING_PEERS_H */
