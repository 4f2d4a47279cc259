/* disruptor_mp.pml — the Disruptor's multi-producer sequencer with gating
 * consumers (structures/disruptor/include/quiesce/disruptor/sequencer.hpp,
 * multi_producer_sequencer; consumers as event_processor.hpp's run loop and
 * sequence_barrier.hpp's wait_for()).
 *
 * Properties (assertions in consumer(), end states)
 *   - no consumer reads an unpublished slot, and no slot is overwritten
 *     before every gating consumer has read it: when consumer c handles
 *     sequence s, the slot holds exactly the event published as s (an
 *     unpublished slot holds an older lap's event or nothing; an overwritten
 *     one holds s + size);
 *   - no event is lost or read twice: each consumer handles 0, 1, ..., N-1
 *     in order, each once (the loop advances by one per handled event and
 *     the assertion ties the event to the sequence), and every process
 *     reaches its end (no deadlock: spin reports an invalid end state if
 *     producers waiting for capacity and consumers waiting for events ever
 *     block each other).
 *
 * Memory model: PSO-like store buffers for the producers (weaker than
 * x86-TSO): a producer's stores to the slots and the availability flags go
 * into per-location buffers and become visible when flushed, locations in any
 * order (process drain); a release store first flushes the producer's
 * pending stores. The cursor's fetch-add is a locked RMW (acts on memory).
 * The gating cache, the consumers' sequences and all loads are sequentially
 * consistent (in program order).
 * Why this is sound for the properties: the ordering a consumer depends on is
 * "event written before the flag says it is published" (store->store on the
 * producer, the release in set_available), modelled by the buffers; the
 * ordering a producer depends on (consumer's reads before its sequence
 * store, the gating loads before the slot write) is load->store, which PSO
 * and TSO keep. Not covered: ARM/POWER load->load and load->store
 * reordering (the C++ code's acquire loads of the flags, the cursor and the
 * gating sequences, and the consumers' release stores, forbid them); claims
 * of more than one slot (next(n), publish(lo, hi)); try_next().
 * Bounds: a 2-slot ring, 2 producers publishing 2 events each (4 events,
 * so every slot is reused once), 2 gating consumers that each read all 4.
 *
 * BROKEN (-DBROKEN): set_available's store is relaxed (no release: the
 * flag may become visible before the event): a consumer reads a slot the
 * flag calls published while it still holds the previous lap's contents.
 * BROKEN_WRAP (-DBROKEN_WRAP): next() skips the wrap check against the
 * minimum gating sequence: a producer overwrites a slot a consumer has not
 * yet read.
 */

#define SIZE 2                  /* ring size: mask 1, shift 1 */
#define NPROD 2
#define PER_PROD 2
#define NEVENTS 4               /* NPROD * PER_PROD */
#define NCONS 2

short cursor = -1;              /* cursor_: the highest claimed sequence */
short gating_cache = -1;        /* gating_cache_ */
short cons_seq[NCONS];          /* the consumers' sequences (gating), -1 at start */
short slot[SIZE];               /* ring slots: the event = the sequence it was published as; -1 empty */
short avail[SIZE];              /* available_: lap number of the last publish, -1 at start */

/* producer p's store buffer: one pending store per location (slot i, flag i) */
bool pend_slot[NPROD * SIZE];
short buf_slot[NPROD * SIZE];
bool pend_av[NPROD * SIZE];
short buf_av[NPROD * SIZE];
bool prod_done[NPROD];

inline store_slot(p, i, v) {
  atomic {
    if :: pend_slot[p * SIZE + i] -> slot[i] = buf_slot[p * SIZE + i] :: else -> skip fi;
    buf_slot[p * SIZE + i] = v; pend_slot[p * SIZE + i] = true
  }
}
inline store_av(p, i, v) {
  atomic {
    if :: pend_av[p * SIZE + i] -> avail[i] = buf_av[p * SIZE + i] :: else -> skip fi;
    buf_av[p * SIZE + i] = v; pend_av[p * SIZE + i] = true
  }
}
inline flush_all(p) {
  atomic {
    k = 0;
    do
    :: k < SIZE ->
       if :: pend_slot[p * SIZE + k] -> slot[k] = buf_slot[p * SIZE + k]; pend_slot[p * SIZE + k] = false :: else -> skip fi;
       if :: pend_av[p * SIZE + k] -> avail[k] = buf_av[p * SIZE + k]; pend_av[p * SIZE + k] = false :: else -> skip fi;
       k++
    :: else -> break
    od;
    k = 0
  }
}

proctype drain(byte p) {
  do
  :: atomic { pend_slot[p * SIZE + 0] -> slot[0] = buf_slot[p * SIZE + 0]; pend_slot[p * SIZE + 0] = false }
  :: atomic { pend_slot[p * SIZE + 1] -> slot[1] = buf_slot[p * SIZE + 1]; pend_slot[p * SIZE + 1] = false }
  :: atomic { pend_av[p * SIZE + 0] -> avail[0] = buf_av[p * SIZE + 0]; pend_av[p * SIZE + 0] = false }
  :: atomic { pend_av[p * SIZE + 1] -> avail[1] = buf_av[p * SIZE + 1]; pend_av[p * SIZE + 1] = false }
  :: atomic { prod_done[p] && !pend_slot[p * SIZE] && !pend_slot[p * SIZE + 1] &&
              !pend_av[p * SIZE] && !pend_av[p * SIZE + 1] -> break }
  od
}

proctype producer(byte p) {
  short current, next_value, wrap_point, cached, min_seq, g;
  byte n = 0;
  byte k = 0;
  do
  :: n < PER_PROD ->
     /* next(1) (sequencer.hpp:325-346) */
     atomic { current = cursor; cursor++ };     /* :328 cursor_.get_and_add(n) (lock xadd) */
     next_value = current + 1;                  /* :329 */
     wrap_point = next_value - SIZE;            /* :330 */
#ifndef BROKEN_WRAP
     cached = gating_cache;                     /* :335 gating_cache_.get() */
     if
     :: wrap_point > cached || cached > current ->   /* :336 */
        /* :339 while (wrap_point > (min_seq = minimum_gating_sequence(current))) pause();
         * minimum_sequence reads each gating sequence in turn */
        do
        :: min_seq = current;
           g = cons_seq[0]; if :: g < min_seq -> min_seq = g :: else -> skip fi;
           g = cons_seq[1]; if :: g < min_seq -> min_seq = g :: else -> skip fi;
           if
           :: wrap_point > min_seq -> g = 0     /* full: pause, read again */
           :: else -> break
           fi
        od;
        gating_cache = min_seq                  /* :343 gating_cache_.set(min_seq) */
     :: else -> skip                            /* the cache says there is room */
     fi;
#endif
     /* the caller writes the event into ring_[next_value] (ring_buffer) */
     store_slot(p, next_value % SIZE, next_value);
     /* publish(seq) (:372-376) -> set_available (:398-401) */
#ifndef BROKEN
     flush_all(p);                              /* :400 release: the event before the flag */
#endif
     store_av(p, next_value % SIZE, next_value / SIZE);   /* :400 available_[seq & mask_].store(lap(seq)) */
     current = 0; wrap_point = 0; cached = 0; min_seq = 0; g = 0;   /* dead locals */
     n++
  :: else -> break
  od;
  prod_done[p] = true
}

proctype consumer(byte c) {
  short next = 0;
  short available, published, s, v;
  do
  :: next < NEVENTS ->
     /* sequence_barrier::wait_for(next) (sequence_barrier.hpp:57-70):
      * wait for the cursor, then the highest contiguous published sequence */
     /* wait strategy: cursor_sequence().get() (acquire) until >= next; a
      * failed read changes nothing but locals, so it is modelled as blocking */
     atomic { cursor >= next -> available = cursor };
     if
     :: true ->
        /* highest_published_sequence(next, available) (sequencer.hpp:390-394) */
        published = next - 1;
        s = next;
        do
        :: s <= available && avail[s % SIZE] == s / SIZE -> published = s; s++  /* :387 is_available(s) (acquire) */
        :: else -> break
        od;
        /* event_processor.hpp:175 on_event for next..published, then :180 sequence_.set(end) */
        do
        :: next <= published ->
           v = slot[next % SIZE];               /* handler reads ring_[next] */
           assert(v == next);                   /* published, not stale, not overwritten */
           next++
        :: else -> break
        od;
        if                                      /* event_processor.hpp:180 sequence_.set(end) (release) */
        :: published >= 0 -> cons_seq[c] = published
        :: else -> skip                         /* claimed, not yet published: wait_for loops */
        fi;
        s = 0; v = 0; available = 0; published = 0   /* dead locals: keep the state space small */
     fi
  :: else -> break
  od
}

init {
  atomic {
    cons_seq[0] = -1; cons_seq[1] = -1;
    slot[0] = -1; slot[1] = -1;
    avail[0] = -1; avail[1] = -1;
    run drain(0);
    run drain(1);
    run producer(0);
    run producer(1);
    run consumer(0);
    run consumer(1)
  }
}
