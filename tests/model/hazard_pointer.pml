/* hazard_pointer.pml — quiesce hazard pointers
 * (structures/hazard_pointers/include/quiesce/hazard_pointer.hpp, the protect path;
 *  structures/hazard_pointers/include/quiesce/hazard_pointer/detail/hp.hpp, the fences;
 *  structures/hazard_pointers/src/hp_internal.hpp and fences.cpp, retire and scan).
 *
 * Properties
 *   (1) assertion in reader(): an object a reader protected (hazard
 *       published, then the source re-read and found unchanged) is never
 *       freed while the hazard still names it, in either fence mode;
 *   (2) no deadlock: every process reaches its end (spin reports any state
 *       where some process is blocked short of its end as an invalid end
 *       state).
 *
 * Memory model: x86-TSO. Each reader has a FIFO store buffer (two entries;
 * a reader stores only its hazard record, so the buffer holds hazard values
 * in program order); a store becomes visible to other threads when flushed
 * (process drain, at any time); a seq_cst fence flushes the thread's buffer;
 * locked RMWs (CAS, exchange) act on memory directly with an empty buffer.
 * The reclaimer's own stores are all locked RMWs (the unlink CAS, the
 * retired-list CAS/exchange), so it needs no buffer. membarrier(
 * PRIVATE_EXPEDITED) makes every running thread of the process execute a
 * full barrier: modelled as flushing every reader's buffer at one instant.
 * Why this is sound for the property: the only reordering that can free a
 * protected object is the reader's hazard store being delayed past its
 * re-load of the source (store->load reordering, the one reordering x86
 * allows), and that is exactly what the buffer models.
 * Not covered: ARM/POWER orderings beyond store->load (the C++ code's
 * release store of the hazard and acquire load of the source cover them; the
 * store->load case is the one that needs the fences, and that is the case
 * modelled); more than two readers / two objects; the retire batching and
 * the per-node lists (they only delay when a scan sees an object).
 *
 * Modes (chosen nondeterministically in init, both explored):
 *   FENCE (QUIESCE_HP_FENCE=fence or no membarrier): light_fence and
 *     heavy_fence are both seq_cst fences;
 *   MEMB (the default where the kernel has membarrier): light_fence is a
 *     compiler barrier, heavy_fence runs membarrier.
 *
 * BROKEN (-DBROKEN): light_fence is a compiler barrier in both modes (the
 * reader's seq_cst fence of the fallback mode removed). In FENCE mode the
 * hazard store then sits in the buffer while the reader validates, the
 * scan misses it and frees the object the reader is about to use.
 * BROKEN_NOVALIDATE (-DBROKEN_NOVALIDATE): try_protect() does not re-load
 * the source (hazard_pointer.hpp:292): a reader that loaded the pointer
 * before the unlink publishes its hazard after the scan read the hazards.
 */

#define NREADERS 2
#define NIL 0
#define OBJ_A 1
#define OBJ_B 2

mtype = { FENCE, MEMB };
mtype mode;

byte src = OBJ_A;               /* the shared std::atomic<T*> readers protect from */
bool freed[3];                  /* freed[o]: o's deleter has run */
bool retired[3];                /* o is on the retired list */
byte hz[NREADERS];              /* record::ptr of each reader's hazard record, in memory */

/* Reader i's store buffer (FIFO of hazard values). */
byte buf[NREADERS * 2];
byte cnt[NREADERS];
bool done[NREADERS];

inline store_hz(i, v) {
  atomic {
    cnt[i] < 2;                 /* a full buffer stalls the store until drain runs */
    buf[i * 2 + cnt[i]] = v;
    cnt[i]++
  }
}
inline flush_one(i) {           /* oldest buffered store becomes visible */
  hz[i] = buf[i * 2];
  buf[i * 2] = buf[i * 2 + 1];
  cnt[i]--
}
inline flush_all(i) {
  atomic {
    do
    :: cnt[i] > 0 -> flush_one(i)
    :: else -> break
    od
  }
}

proctype drain(byte i) {
  do
  :: atomic { cnt[i] > 0 -> flush_one(i) }
  :: atomic { done[i] && cnt[i] == 0 -> break }
  od
}

proctype reader(byte i) {
  byte p, q;
  /* protect(src) (hazard_pointer.hpp, protect()): p = src.load(relaxed);
   * while (!try_protect(p, src)) {} */
  p = src;
  do
  :: /* try_protect (hazard_pointer.hpp:288-298) */
     store_hz(i, p);                          /* set(old): rec_->ptr.store(p, release) (:325) */
#ifndef BROKEN
     if                                       /* detail::hp::light_fence() */
     :: mode == FENCE -> flush_all(i)         /*   detail/hazard_pointer.hpp:120 atomic_thread_fence(seq_cst) */
     :: else -> skip                          /*   :118 atomic_signal_fence: compiler barrier only */
     fi;
#endif
#ifndef BROKEN_NOVALIDATE
     q = src;                                 /* ptr = src.load(acquire) */
#else
     q = p;                                   /* the re-load of the source dropped */
#endif
     if
     :: q == p -> break                       /* validated: p is protected */
     :: else -> store_hz(i, NIL); p = q       /* set(nullptr); retry with the newer value */
     fi
  od;
  /* use the protected object (twice, with the other processes in between) */
  assert(p == NIL || !freed[p]);
  assert(p == NIL || !freed[p]);
  store_hz(i, NIL);                           /* reset_protection(): set(nullptr) */
  done[i] = true
}

/* One scan (domain_impl::scan, hp_internal.hpp) of the retired objects. */
inline scan() {
  /* word = nr.word.exchange(0, acquire): take the list (locked RMW) */
  /* detail::hp::heavy_fence() (fences.cpp) */
  atomic {
    if
    :: mode == MEMB ->                        /* membarrier(PRIVATE_EXPEDITED): */
       flush_all(0); flush_all(1)             /*   every reader runs a full barrier */
    :: else -> skip                           /* :64/:77 seq_cst fences: the reclaimer's buffer is empty */
    fi
  }
  /* :318-326 snapshot the hazards (acquire loads), one record at a time,
   * then :333-343 free every retired object no hazard names */
  h0 = hz[0];
  h1 = hz[1];
  o = OBJ_A;
  do
  :: o <= OBJ_B ->
     if
     :: retired[o] && !freed[o] && h0 != o && h1 != o ->
        freed[o] = true                       /* h->reclaim(h) */
     :: else -> skip                          /* kept (binary_search found it) or not retired */
     fi;
     o++
  :: else -> break
  od
}

/* Unlinks A, retires it, scans; unlinks B, retires it, scans again. */
proctype reclaimer() {
  byte h0, h1, o;
  /* the structure's remover: src.compare_exchange(A, B) (locked RMW) */
  atomic { src == OBJ_A -> src = OBJ_B };
  retired[OBJ_A] = true;                      /* retire(): push_chain CAS (hp_internal.hpp) */
  scan();
  atomic { src == OBJ_B -> src = NIL };
  retired[OBJ_B] = true;
  scan()
}

init {
  atomic {
    if
    :: mode = FENCE
    :: mode = MEMB
    fi;
    run drain(0);
    run drain(1);
    run reader(0);
    run reader(1);
    run reclaimer()
  }
}
