/* perf/peers/peer_batch.h — the four batch functions every C peer of
 * perf/lockfree_stack_queue_bench.cpp exports (see ck_hp_peers.h for what
 * each does), written once for all of them.
 *
 * QUIESCE_PEER_BATCH_DECLARATIONS(P) declares them:
 *   uint64_t P_pairs(uint64_t n, uint64_t first);
 *   void P_push(uint64_t n, uint64_t first);
 *   uint64_t P_pop(uint64_t n);
 *   uint64_t P_drain(void);
 *
 * QUIESCE_PEER_BATCH_FUNCTIONS(P, CTX, ENTER, PUSH_ONE, POP_ONE, RELAX)
 * defines them in a peer's .c file from its one-operation functions, which
 * that file keeps static inline so that every operation is inline inside
 * the batch loop:
 *   CTX ctx = ENTER();    starts every function (the thread's registration,
 *                         or its hazard-pointer record)
 *   PUSH_ONE(ctx, v)      pushes v
 *   POP_ONE(ctx, &v)      pops into v: 1, or 0 when empty
 *   RELAX()               between two pops that found it empty
 */
#ifndef QUIESCE_PERF_PEER_BATCH_H
#define QUIESCE_PERF_PEER_BATCH_H

#include <stdint.h>

#define QUIESCE_PEER_BATCH_DECLARATIONS(P)         \
  uint64_t P##_pairs(uint64_t n, uint64_t first); \
  void P##_push(uint64_t n, uint64_t first);      \
  uint64_t P##_pop(uint64_t n);                   \
  uint64_t P##_drain(void);

#define QUIESCE_PEER_BATCH_FUNCTIONS(P, CTX, ENTER, PUSH_ONE, POP_ONE, RELAX) \
  uint64_t P##_pairs(uint64_t n, uint64_t first) {                          \
    CTX ctx = ENTER();                                                      \
    uint64_t sum = 0, v;                                                    \
    for (uint64_t i = 0; i < n; ++i) {                                      \
      PUSH_ONE(ctx, first + i);                                             \
      if (POP_ONE(ctx, &v)) sum += v;                                       \
    }                                                                       \
    return sum;                                                             \
  }                                                                         \
                                                                            \
  void P##_push(uint64_t n, uint64_t first) {                               \
    CTX ctx = ENTER();                                                      \
    for (uint64_t i = 0; i < n; ++i) PUSH_ONE(ctx, first + i);              \
  }                                                                         \
                                                                            \
  uint64_t P##_pop(uint64_t n) {                                            \
    CTX ctx = ENTER();                                                      \
    uint64_t sum = 0, v;                                                    \
    for (uint64_t got = 0; got < n;) {                                      \
      if (POP_ONE(ctx, &v)) {                                               \
        sum += v;                                                           \
        ++got;                                                              \
      } else {                                                              \
        RELAX();                                                            \
      }                                                                     \
    }                                                                       \
    return sum;                                                             \
  }                                                                         \
                                                                            \
  uint64_t P##_drain(void) {                                                \
    CTX ctx = ENTER();                                                      \
    uint64_t sum = 0, v;                                                    \
    while (POP_ONE(ctx, &v)) sum += v;                                      \
    return sum;                                                             \
  }

#endif /* QUIESCE_PERF_PEER_BATCH_H */
