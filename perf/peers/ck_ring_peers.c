/* perf/ck_ring_peers.c — Concurrency Kit's ck_ring (single producer, single
 * consumer) as a disruptor_bench peer. See ck_ring_peers.h.
 *
 * Layout: the ring header (ck_ring keeps producer and consumer indices on
 * separate cache lines itself) and a 64-byte-aligned slot array of
 * pointers; values travel as pointer-sized integers, as ck_ring is meant
 * to be used.
 */
#include "ck_ring_peers.h"

#include <ck_pr.h>
#include <ck_ring.h>
#include <stdlib.h>

static struct ck_ring ring __attribute__((aligned(128)));
static ck_ring_buffer_t* slots;

int ck_ring_peer_init(unsigned int size) {
  free(slots);
  slots = aligned_alloc(128, sizeof(ck_ring_buffer_t) * size);
  if (slots == NULL) return 0;
  ck_ring_init(&ring, size);
  return 1;
}

void ck_ring_peer_produce(uint64_t n, uint64_t first) {
  for (uint64_t i = 0; i < n; ++i) {
    void* v = (void*)(uintptr_t)(first + i);
    while (!ck_ring_enqueue_spsc(&ring, slots, v)) ck_pr_stall();
  }
}

void ck_ring_peer_consume(const volatile int* stop, volatile int64_t* done, int64_t* sum) {
  int64_t count = 0, s = 0;
  while (!__atomic_load_n(stop, __ATOMIC_ACQUIRE)) {
    void* v;
    int got = 0;
    while (ck_ring_dequeue_spsc(&ring, slots, &v)) {
      s += (int64_t)(uintptr_t)v;
      ++count;
      got = 1;
    }
    if (got)
      __atomic_store_n(done, count, __ATOMIC_RELEASE); /* pairs with the producer's acquire load */
    else
      ck_pr_stall();
  }
  *sum = s;
}

void ck_ring_peer_free(void) {
  free(slots);
  slots = NULL;
}
