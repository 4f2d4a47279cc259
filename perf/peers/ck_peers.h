/* perf/ck_peers.h — Concurrency Kit peers for perf/seqlock_bench.cpp.
 *
 * ck's headers are C only, so its seqlock (ck_sequence) lives in ck_peers.c,
 * compiled as C. To keep the comparison fair, each function runs a whole
 * batch of reads or writes: the call costs once per batch, exactly as the
 * quiesce and std peers' batch functions in seqlock_bench.cpp (also not
 * inlined) do, and inside the batch ck's inline functions are inlined as
 * quiesce's are.
 *
 * For BYTES in 16, 64, 256:
 *   ck_seq_read_BYTES(n)         n reads of the BYTES-byte payload, each a
 *                                consistent copy made under ck_sequence
 *                                (read_begin, struct copy, read_retry) and
 *                                handed to an empty asm with a memory clobber
 *   ck_seq_write_BYTES(n, first) n writes of the payloads first .. first+n-1
 *                                (word i = value + i) under a ck_spinlock_fas
 *                                and ck_sequence_write_begin/end
 *   ck_seq_check_BYTES()         1 if the current payload is consistent
 */
#ifndef QUIESCE_PERF_CK_PEERS_H
#define QUIESCE_PERF_CK_PEERS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

void ck_seq_read_16(uint64_t n);
void ck_seq_read_64(uint64_t n);
void ck_seq_read_256(uint64_t n);
void ck_seq_write_16(uint64_t n, uint64_t first);
void ck_seq_write_64(uint64_t n, uint64_t first);
void ck_seq_write_256(uint64_t n, uint64_t first);
int ck_seq_check_16(void);
int ck_seq_check_64(void);
int ck_seq_check_256(void);

#ifdef __cplusplus
}
#endif

#endif /* QUIESCE_PERF_CK_PEERS_H */
