/* perf/ck_peers.c — Concurrency Kit's ck_sequence as a seqlock_bench peer.
 * See ck_peers.h for what each function does and why whole batches run here.
 *
 * Layout, as quiesce::seqlock<T>'s: the sequence and the payload share one
 * 64-byte-aligned block (the writer's spinlock too, as in the kernel's
 * seqlock_t: ck_sequence needs an external writer lock, and quiesce's is the
 * sequence itself). The payload is copied as a plain struct, racing with the
 * writer: that is how ck_sequence is meant to be used in C, and what
 * quiesce's relaxed atomic words replace.
 */
#include "ck_peers.h"

#include <ck_pr.h>
#include <ck_sequence.h>
#include <ck_spinlock.h>

/* The same sink as seqlock_bench.cpp's: the copy must exist in memory. */
static inline void sink(const void* p) { __asm__ __volatile__("" : : "r"(p) : "memory"); }

#define QUIESCE_CK_PEER(BYTES)                                                    \
  struct payload_##BYTES {                                                        \
    uint64_t w[(BYTES) / 8];                                                      \
  };                                                                              \
  static struct {                                                                 \
    ck_sequence_t seq;                                                            \
    ck_spinlock_fas_t lock;                                                       \
    struct payload_##BYTES data;                                                  \
  } __attribute__((aligned(64))) obj_##BYTES = {CK_SEQUENCE_INITIALIZER, CK_SPINLOCK_FAS_INITIALIZER, {{0}}}; \
                                                                                  \
  /* One consistent copy of the payload (ck_sequence's read loop). */             \
  static inline void read_copy_##BYTES(struct payload_##BYTES* copy) {            \
    unsigned int version;                                                         \
    do {                                                                          \
      version = ck_sequence_read_begin(&obj_##BYTES.seq);                         \
      *copy = obj_##BYTES.data;                                                   \
    } while (ck_sequence_read_retry(&obj_##BYTES.seq, version));                  \
  }                                                                               \
                                                                                  \
  void ck_seq_read_##BYTES(uint64_t n) {                                          \
    for (uint64_t i = 0; i < n; ++i) {                                            \
      struct payload_##BYTES copy;                                                \
      read_copy_##BYTES(&copy);                                                   \
      sink(&copy);                                                                \
    }                                                                             \
  }                                                                               \
                                                                                  \
  void ck_seq_write_##BYTES(uint64_t n, uint64_t first) {                         \
    for (uint64_t i = 0; i < n; ++i) {                                            \
      struct payload_##BYTES v;                                                   \
      for (unsigned j = 0; j < (BYTES) / 8; ++j) v.w[j] = first + i + j;          \
      ck_spinlock_fas_lock(&obj_##BYTES.lock);                                    \
      ck_sequence_write_begin(&obj_##BYTES.seq);                                  \
      obj_##BYTES.data = v;                                                       \
      ck_sequence_write_end(&obj_##BYTES.seq);                                    \
      ck_spinlock_fas_unlock(&obj_##BYTES.lock);                                  \
    }                                                                             \
  }                                                                               \
                                                                                  \
  int ck_seq_check_##BYTES(void) {                                                \
    struct payload_##BYTES copy;                                                  \
    read_copy_##BYTES(&copy);                                                     \
    for (unsigned j = 1; j < (BYTES) / 8; ++j)                                    \
      if (copy.w[j] != copy.w[0] + j) return 0;                                   \
    return 1;                                                                     \
  }

QUIESCE_CK_PEER(16)
QUIESCE_CK_PEER(64)
QUIESCE_CK_PEER(256)
