/* perf/ck_hp_peers.c — ck_hp_stack and ck_hp_fifo with ck_hp reclamation,
 * peers of lockfree_stack_queue_bench. See ck_hp_peers.h for the contract
 * and the fairness rules.
 *
 * Usage follows ck's own regression tests: pop/dequeue under the thread's
 * record, then ck_hp_free() of the unlinked node. The hazard slots are left
 * as the operation set them (ck's idiom; the next operation overwrites
 * them), which saves a store per operation that quiesce's hazard_pointer
 * destructor does pay.
 */
#include "ck_hp_peers.h"
#include "peer_batch.h"

#include <ck_hp.h>
#include <ck_hp_fifo.h>
#include <ck_hp_stack.h>
#include <ck_pr.h>
#include <ck_stack.h>

#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

static void* xmalloc(size_t n) {
  void* p = malloc(n);
  if (p == NULL) {
    fprintf(stderr, "ck_hp_peers: out of memory\n");
    abort();
  }
  return p;
}

/* ---- per-structure hazard-pointer state ------------------------------- */

struct peer_hp {
  ck_hp_t hp;
  pthread_key_t key; /* unregisters the thread's record at thread exit */
};

static void unregister_record(void* rec) { ck_hp_unregister((ck_hp_record_t*)rec); }

static void destroy_node(void* p) { free(p); }

static void peer_hp_init(struct peer_hp* s, unsigned degree) {
  ck_hp_init(&s->hp, degree, CK_HP_PEER_THRESHOLD, destroy_node);
  if (pthread_key_create(&s->key, unregister_record) != 0) {
    fprintf(stderr, "ck_hp_peers: pthread_key_create failed\n");
    abort();
  }
}

/* The calling thread's record: a recycled one (left by an exited thread,
 * with its pending frees) or a new one. */
static ck_hp_record_t* peer_record(struct peer_hp* s, ck_hp_record_t** tls, unsigned degree) {
  ck_hp_record_t* r = *tls;
  if (r != NULL) return r;
  r = ck_hp_recycle(&s->hp);
  if (r == NULL) {
    r = (ck_hp_record_t*)xmalloc(sizeof *r);
    void** slots = (void**)xmalloc(sizeof(void*) * degree);
    ck_hp_register(&s->hp, r, slots);
  }
  pthread_setspecific(s->key, r);
  *tls = r;
  return r;
}

/* ---- ck_hp_stack -------------------------------------------------------- */

struct stack_node {
  ck_stack_entry_t entry; /* first: the hazard names the entry, ck_hp_free the node */
  ck_hp_hazard_t hazard;
  uint64_t value;
};

static struct {
  ck_stack_t stack;
} __attribute__((aligned(128))) g_stack = {CK_STACK_INITIALIZER};
static struct peer_hp g_stack_hp;
static pthread_once_t g_stack_once = PTHREAD_ONCE_INIT;
static __thread ck_hp_record_t* t_stack_rec;

static void stack_init(void) { peer_hp_init(&g_stack_hp, CK_HP_STACK_SLOTS_COUNT); }

static ck_hp_record_t* stack_record(void) {
  if (t_stack_rec == NULL) pthread_once(&g_stack_once, stack_init);
  return peer_record(&g_stack_hp, &t_stack_rec, CK_HP_STACK_SLOTS_COUNT);
}

static inline void stack_push_one(ck_hp_record_t* rec, uint64_t v) {
  (void)rec; /* ck_hp_stack_push_mpmc needs no hazard */
  struct stack_node* n = (struct stack_node*)xmalloc(sizeof *n);
  n->value = v;
  ck_hp_stack_push_mpmc(&g_stack.stack, &n->entry);
}

/* 1 and the value in *v, or 0 when empty. */
static inline int stack_pop_one(ck_hp_record_t* rec, uint64_t* v) {
  ck_stack_entry_t* e = ck_hp_stack_pop_mpmc(rec, &g_stack.stack);
  if (e == NULL) return 0;
  struct stack_node* n = (struct stack_node*)((char*)e - offsetof(struct stack_node, entry));
  *v = n->value;
  ck_hp_free(rec, &n->hazard, n, n);
  return 1;
}

QUIESCE_PEER_BATCH_FUNCTIONS(ck_hp_stack, ck_hp_record_t*, stack_record, stack_push_one, stack_pop_one, ck_pr_stall)

/* ---- ck_hp_fifo --------------------------------------------------------- */

static struct {
  ck_hp_fifo_t fifo;
} __attribute__((aligned(128))) g_fifo;
static struct peer_hp g_fifo_hp;
static pthread_once_t g_fifo_once = PTHREAD_ONCE_INIT;
static __thread ck_hp_record_t* t_fifo_rec;

static void fifo_init(void) {
  peer_hp_init(&g_fifo_hp, CK_HP_FIFO_SLOTS_COUNT);
  ck_hp_fifo_init(&g_fifo.fifo, (ck_hp_fifo_entry_t*)xmalloc(sizeof(ck_hp_fifo_entry_t)));
}

static ck_hp_record_t* fifo_record(void) {
  if (t_fifo_rec == NULL) pthread_once(&g_fifo_once, fifo_init);
  return peer_record(&g_fifo_hp, &t_fifo_rec, CK_HP_FIFO_SLOTS_COUNT);
}

static inline void fifo_push_one(ck_hp_record_t* rec, uint64_t v) {
  ck_hp_fifo_entry_t* e = (ck_hp_fifo_entry_t*)xmalloc(sizeof *e);
  ck_hp_fifo_enqueue_mpmc(rec, &g_fifo.fifo, e, (void*)(uintptr_t)v);
}

static inline int fifo_pop_one(ck_hp_record_t* rec, uint64_t* v) {
  void* value;
  ck_hp_fifo_entry_t* old = ck_hp_fifo_dequeue_mpmc(rec, &g_fifo.fifo, &value);
  if (old == NULL) return 0;
  *v = (uint64_t)(uintptr_t)value;
  ck_hp_free(rec, &old->hazard, old, old);
  return 1;
}

QUIESCE_PEER_BATCH_FUNCTIONS(ck_hp_fifo, ck_hp_record_t*, fifo_record, fifo_push_one, fifo_pop_one, ck_pr_stall)
