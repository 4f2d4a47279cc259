/* rcu_grace_period.pml — the retire / grace-period path of quiesce's RCU
 * wrappers over liburcu's memb flavour (urcu_wrappers/include/quiesce/rcu/
 * rcu_domain.hpp: read_lock()/read_unlock() at :209/:216 call the flavour's
 * rcu_read_lock()/rcu_read_unlock(); retire() at :282-288 -> enqueue() ->
 * :321 Flavor::call = call_rcu(); liburcu's call_rcu worker then runs
 * synchronize_rcu() and the deleters, detail::rcu::run_reclaim).
 *
 * The reader side and the grace period are liburcu's (urcu-memb: include/
 * urcu/static/urcu-memb.h _urcu_memb_read_lock/_unlock, src/urcu.c
 * synchronize_rcu and wait_for_readers), modelled abstractly: a reader's
 * counter is 0 (inactive) or active with the phase of the global counter it
 * copied; synchronize_rcu() = membarrier; wait until no reader is active in
 * the old phase (readers active in the current phase are remembered); flip
 * the phase; wait for the remembered readers; membarrier.
 *
 * Property (assertion in reader()): no deleter runs while a reader that
 * began before the retire (and so may hold the retired pointer) is still
 * inside its critical section: the object a reader loaded is not freed
 * before the reader's read_unlock. No deadlock (invalid end states).
 *
 * Memory model: x86-TSO with the memb flavour's asymmetric fences. Each
 * reader has a FIFO store buffer for its counter (the only location it
 * stores); its loads (global counter, the published pointer) read memory
 * (a reader never loads its own counter). cmm_smp_mb_slave() in the memb
 * flavour is a compiler barrier only (membarrier available): nothing. The
 * grace period's smp_mb_master() = membarrier(PRIVATE_EXPEDITED): flushes
 * every reader's buffer at one instant. The updater's pointer store and the
 * call_rcu enqueue are locked RMWs / followed by a full fence (memory).
 * Why sound for the property: the reordering that can let a grace period
 * miss a reader is the reader's counter store being delayed past its load of
 * the pointer (store->load, the one x86 allows): modelled by the buffer.
 * Not covered: ARM/POWER (on those liburcu's memb flavour relies on the
 * same membarrier, whose kernel-side barrier is a full smp_mb on every CPU;
 * the load->load/load->store orders the barriers also provide are not
 * modelled); nested read-side sections (nesting only increments the count);
 * the call_rcu batching (a batch waits for one grace period, as here).
 * Bounds: 2 readers, 2 critical sections each; the updater unlinks A (src
 * A -> B) and B (B -> NIL), retiring each; one call_rcu worker.
 *
 * BROKEN (-DBROKEN): synchronize_rcu() without its first smp_mb_master()
 * (membarrier): a reader's counter store still in its buffer is missed,
 * the reader counts as inactive, and the object it is using is freed.
 */

#define NREADERS 2
#define NIL 0
#define OBJ_A 1
#define OBJ_B 2
#define INACTIVE 0

byte src = OBJ_A;               /* the published pointer (rcu_ptr<T>) */
bit gp_phase = 0;               /* rcu_gp.ctr's phase bit */
byte ctr[NREADERS];             /* reader ctr in memory: 0 inactive, 1 + phase when active */
bool freed[3];
byte queued[3];                 /* call_rcu queue: 1 = retired, waiting for a batch */
bool updater_done = false;

byte buf[NREADERS * 2];         /* reader i's store buffer of its ctr */
byte cnt[NREADERS];
bool done[NREADERS];

inline store_ctr(i, v) {
  atomic {
    cnt[i] < 2;
    buf[i * 2 + cnt[i]] = v;
    cnt[i]++
  }
}
inline flush_one(i) {
  ctr[i] = buf[i * 2];
  buf[i * 2] = buf[i * 2 + 1];
  cnt[i]--
}
inline membarrier() {           /* smp_mb_master(): every reader runs a full barrier */
  atomic {
    do :: cnt[0] > 0 -> flush_one(0) :: else -> break od;
    do :: cnt[1] > 0 -> flush_one(1) :: else -> break od
  }
}

proctype drain(byte i) {
  do
  :: atomic { cnt[i] > 0 -> flush_one(i) }
  :: atomic { done[i] && cnt[i] == 0 -> break }
  od
}

proctype reader(byte i) {
  byte p, g;
  byte n = 0;
  do
  :: n < 2 ->
     /* rcu_read_lock() (rcu_domain.hpp:209 -> _urcu_memb_read_lock, outermost) */
     g = gp_phase;                      /* tmp = rcu_gp.ctr (load) */
     store_ctr(i, 1 + g);               /* ctr = tmp (count 1, phase g): a plain store */
     /* cmm_smp_mb_slave(): compiler barrier only under membarrier */
     p = src;                           /* rcu_ptr::load (rcu_dereference) */
     assert(p == NIL || !freed[p]);     /* use the object ... */
     assert(p == NIL || !freed[p]);     /* ... with other processes in between */
     /* rcu_read_unlock() (rcu_domain.hpp:216 -> _urcu_memb_read_unlock):
      * cmm_smp_mb_slave() (compiler barrier); ctr = 0 (a store after the
      * loads above: TSO keeps load->store order) */
     store_ctr(i, INACTIVE);
     p = NIL; g = 0;
     n++
  :: else -> break
  od;
  done[i] = true
}

/* The updater: publishes a new version and retires the old one. */
proctype updater() {
  atomic { src == OBJ_A -> src = OBJ_B };     /* rcu_ptr exchange (xchg: locked) */
  queued[OBJ_A] = 1;                          /* retire(A): rcu_domain.hpp:282-288, :321 call_rcu */
  atomic { src == OBJ_B -> src = NIL };
  queued[OBJ_B] = 1;                          /* retire(B) */
  updater_done = true
}

/* A reader is in the old phase if active with a phase other than gp_phase. */
#define ACTIVE_OLD(r) (ctr[r] != INACTIVE && ctr[r] != 1 + gp_phase)
#define ACTIVE_CURRENT(r) (ctr[r] == 1 + gp_phase)

/* liburcu's call_rcu worker: takes the queued callbacks, waits for a grace
 * period (synchronize_rcu), runs them (detail::rcu::run_reclaim -> deleter). */
proctype worker() {
  bool batch[3];
  bool snap[NREADERS];
  byte o;
  do
  :: atomic { (queued[OBJ_A] == 1 || queued[OBJ_B] == 1) ->
       batch[OBJ_A] = (queued[OBJ_A] == 1); batch[OBJ_B] = (queued[OBJ_B] == 1);
       if :: batch[OBJ_A] -> queued[OBJ_A] = 2 :: else -> skip fi;
       if :: batch[OBJ_B] -> queued[OBJ_B] = 2 :: else -> skip fi }
     /* synchronize_rcu() (src/urcu.c) */
#ifndef BROKEN
     membarrier();                              /* smp_mb_master() */
#endif
     /* wait_for_readers(registry, cur_snap_readers, qsreaders): wait for
      * readers active in the old phase; remember those in the current one */
     atomic { !ACTIVE_OLD(0) -> snap[0] = ACTIVE_CURRENT(0) };
     atomic { !ACTIVE_OLD(1) -> snap[1] = ACTIVE_CURRENT(1) };
     gp_phase = 1 - gp_phase;                   /* cmm_smp_mb(); rcu_gp.ctr ^= PHASE; cmm_smp_mb() */
     /* wait_for_readers(cur_snap_readers, NULL, qsreaders) */
     if :: snap[0] -> !ACTIVE_OLD(0) :: else -> skip fi;
     if :: snap[1] -> !ACTIVE_OLD(1) :: else -> skip fi;
     membarrier();                              /* smp_mb_master() */
     /* run the callbacks: detail::rcu::run_reclaim -> the deleter */
     o = OBJ_A;
     do
     :: o <= OBJ_B ->
        if :: batch[o] -> freed[o] = true; batch[o] = false :: else -> skip fi;
        o++
     :: else -> break
     od;
     snap[0] = false; snap[1] = false; o = 0
  :: atomic { updater_done && queued[OBJ_A] == 2 && queued[OBJ_B] == 2 -> break }
  od
}

init {
  atomic {
    run drain(0);
    run drain(1);
    run reader(0);
    run reader(1);
    run updater();
    run worker()
  }
}
