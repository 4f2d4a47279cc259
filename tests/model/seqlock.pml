/* seqlock.pml — quiesce::seqlock<T> (structures/seqlock/include/quiesce/seqlock.hpp):
 * a reader never accepts a torn value.
 *
 * Property (assertions in reader()): every value read_once() accepts is one
 * writer's complete value (both words equal) and is the value of the store
 * whose even sequence the reader saw first (word == begin/2); the values one
 * reader accepts never go backwards.
 *
 * Memory model: PSO-like store buffers (weaker than x86-TSO). Each store of
 * the writer goes into a per-location buffer and becomes visible to the
 * reader only when flushed; buffers of different locations flush in any
 * order (store->store reordering, which ARM/POWER allow and which the
 * seqlock's release fence in lock() exists to forbid); flushes happen at any
 * time (process flusher). A release fence or release store first flushes
 * every pending store of the thread (a release store is then buffered
 * itself). Loads read memory in program order (the writer never loads what
 * it stored, so store-to-load forwarding is not needed).
 * Why this is sound for the property: a torn read needs the reader to see
 * some data word of a write before the odd sequence of that write, which is
 * exactly store->store reordering on the writer's side; that is modelled.
 * x86-TSO is the special case where the buffers flush in FIFO order, so the
 * correct model's result holds on x86 too.
 * Not covered: load->load reordering on the reader's side (ARM/POWER; the
 * acquire load of the sequence and the acquire fence before the re-load
 * forbid it in the C++ code, and this model treats them as the in-order
 * loads they guarantee); several concurrent writers (serialised by the CAS
 * in lock(); modelled as one writer); T of more than two words.
 * Bounds: one writer doing two stores, one reader doing two loads.
 *
 * BROKEN (-DBROKEN): drops the release fence in lock() (seqlock.hpp:341).
 * The odd sequence may then become visible after the new data words, and a
 * reader that saw the old even sequence both times accepts a torn value.
 * BROKEN_RECHECK (-DBROKEN_RECHECK): read_once() accepts without re-loading
 * the sequence (seqlock.hpp:322): a copy that overlapped a store is kept.
 */

#define NWORDS 2

byte seq = 0;          /* seq_ (seqlock.hpp:351), as memory holds it */
byte w[NWORDS];        /* data_ words (seqlock.hpp:352), initially 0 */

/* The writer's store buffer: one pending store per location. */
bool pend_seq = false;
byte buf_seq;
bool pend_w[NWORDS];
byte buf_w[NWORDS];
bool writer_done = false;

/* A store to a location whose previous store is still buffered first makes
 * that one visible: stores to one location are seen in order. */
inline store_seq(v) {
  atomic {
    if :: pend_seq -> seq = buf_seq :: else -> skip fi;
    buf_seq = v; pend_seq = true
  }
}
inline store_w(i, v) {
  atomic {
    if :: pend_w[i] -> w[i] = buf_w[i] :: else -> skip fi;
    buf_w[i] = v; pend_w[i] = true
  }
}
/* Release fence / the ordering part of a release store: every store before
 * it is visible before any store after it. */
inline flush_all() {
  atomic {
    if :: pend_seq -> seq = buf_seq; pend_seq = false :: else -> skip fi;
    if :: pend_w[0] -> w[0] = buf_w[0]; pend_w[0] = false :: else -> skip fi;
    if :: pend_w[1] -> w[1] = buf_w[1]; pend_w[1] = false :: else -> skip fi
  }
}

proctype writer() {
  byte v = 1;
  byte s = 0;  /* the writer's own view of seq_ (only it writes seq_) */
  do
  :: v <= 2 ->
     /* lock() (seqlock.hpp:326-342): the CAS even -> odd. Acquire-only, so
      * its store is not ordered before later stores: buffered. */
     store_seq(s + 1);                      /* :333 compare_exchange_weak(s, s + 1) */
#ifndef BROKEN
     flush_all();                           /* :341 atomic_thread_fence(release) */
#endif
     /* data_.write(&value) (seqlock.hpp:267 -> :129-143): relaxed word stores */
     store_w(0, v);
     store_w(1, v);
     /* unlock() (seqlock.hpp:345-349): release store of the even sequence */
     flush_all();                           /* :348 release: earlier stores first */
     store_seq(s + 2);                      /* :348 seq_.store(odd + 1) */
     s = s + 2;
     v++
  :: else -> break
  od;
  writer_done = true
}

/* Makes buffered stores visible, one location at a time, in any order. */
proctype flusher() {
  do
  :: atomic { pend_seq -> seq = buf_seq; pend_seq = false }
  :: atomic { pend_w[0] -> w[0] = buf_w[0]; pend_w[0] = false }
  :: atomic { pend_w[1] -> w[1] = buf_w[1]; pend_w[1] = false }
  :: atomic { writer_done && !pend_seq && !pend_w[0] && !pend_w[1] -> break }
  od
}

proctype reader() {
  byte b, e, r0, r1;
  byte last = 0;
  byte n = 0;
  do
  :: n < 2 ->
     /* load() (seqlock.hpp:299-302): retry read_once() until it succeeds */
     do
     :: b = seq;                            /* :315 begin = seq_.load(acquire) */
        if
        :: (b % 2) == 1 -> skip             /* :316 a writer holds the lock: retry */
        :: else ->
           r0 = w[0];                       /* :317 data_.read(dst), word 0 */
           r1 = w[1];                       /*      word 1 */
           /* :321 acquire fence: keeps the loads above before the load
            * below; loads are in program order in this model. */
#ifndef BROKEN_RECHECK
           e = seq;                         /* :322 seq_.load(relaxed) == begin */
#else
           e = b;                           /* the re-load of the sequence dropped */
#endif
           if
           :: e == b -> break               /* accepted */
           :: else -> skip                  /* a writer ran: retry */
           fi
        fi
     od;
     assert(r0 == r1);                      /* not torn */
     assert(r0 == b / 2);                   /* the value of the store that made seq_ == begin */
     assert(r0 >= last);                    /* never goes backwards */
     last = r0;
     n++
  :: else -> break
  od
}

init {
  atomic {
    run writer();
    run flusher();
    run reader()
  }
}
