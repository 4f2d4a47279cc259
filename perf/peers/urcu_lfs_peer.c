/* perf/urcu_lfs_peer.c — cds_lfs + memb RCU, a peer of
 * lockfree_stack_queue_bench. See urcu_lfs_peer.h. */
#define _LGPL_SOURCE 1
#include "urcu_lfs_peer.h"
#include "peer_batch.h"

#include <urcu/urcu-memb.h>
#include <urcu/lfstack.h>
#include <urcu/compiler.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

struct lfs_node {
  struct cds_lfs_node node;
  struct rcu_head rcu;
  uint64_t value;
};

static struct {
  struct __cds_lfs_stack s;
} __attribute__((aligned(128))) g_lfs = {{NULL}};
static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static pthread_key_t g_key;
static __thread int t_registered;

static void unregister_thread(void* unused) {
  (void)unused;
  urcu_memb_unregister_thread();
}

static void init_once(void) {
  __cds_lfs_init(&g_lfs.s);
  if (pthread_key_create(&g_key, unregister_thread) != 0) {
    fprintf(stderr, "urcu_lfs_peer: pthread_key_create failed\n");
    abort();
  }
}

static void ensure_registered(void) {
  if (t_registered) return;
  pthread_once(&g_once, init_once);
  urcu_memb_register_thread();
  pthread_setspecific(g_key, (void*)1);
  t_registered = 1;
}

/* The stack, once the calling thread may use it (registered with memb). */
static struct __cds_lfs_stack* registered_stack(void) {
  ensure_registered();
  return &g_lfs.s;
}

static void free_node(struct rcu_head* head) { free(caa_container_of(head, struct lfs_node, rcu)); }

static inline void push_one(struct __cds_lfs_stack* s, uint64_t v) {
  struct lfs_node* n = (struct lfs_node*)malloc(sizeof *n);
  if (n == NULL) abort();
  cds_lfs_node_init(&n->node);
  n->value = v;
  cds_lfs_push(s, &n->node);
}

static inline int pop_one(struct __cds_lfs_stack* s, uint64_t* v) {
  urcu_memb_read_lock();
  struct cds_lfs_node* cn = __cds_lfs_pop(s);
  if (cn == NULL) {
    urcu_memb_read_unlock();
    return 0;
  }
  struct lfs_node* n = caa_container_of(cn, struct lfs_node, node);
  *v = n->value;
  urcu_memb_read_unlock();
  urcu_memb_call_rcu(&n->rcu, free_node);
  return 1;
}

QUIESCE_PEER_BATCH_FUNCTIONS(urcu_lfs, struct __cds_lfs_stack*, registered_stack, push_one, pop_one, caa_cpu_relax)

void urcu_lfs_barrier(void) {
  ensure_registered();
  urcu_memb_barrier();
}
