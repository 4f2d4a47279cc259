/* perf/urcu_lfs_peer.c — cds_lfs + memb RCU, a peer of
 * lockfree_stack_queue_bench. See urcu_lfs_peer.h. */
#define _LGPL_SOURCE 1
#include "urcu_lfs_peer.h"

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

static void free_node(struct rcu_head* head) { free(caa_container_of(head, struct lfs_node, rcu)); }

static inline void push_one(uint64_t v) {
  struct lfs_node* n = (struct lfs_node*)malloc(sizeof *n);
  if (n == NULL) abort();
  cds_lfs_node_init(&n->node);
  n->value = v;
  cds_lfs_push(&g_lfs.s, &n->node);
}

static inline int pop_one(uint64_t* v) {
  urcu_memb_read_lock();
  struct cds_lfs_node* cn = __cds_lfs_pop(&g_lfs.s);
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

uint64_t urcu_lfs_pairs(uint64_t n, uint64_t first) {
  ensure_registered();
  uint64_t sum = 0, v;
  for (uint64_t i = 0; i < n; ++i) {
    push_one(first + i);
    if (pop_one(&v)) sum += v;
  }
  return sum;
}

void urcu_lfs_push(uint64_t n, uint64_t first) {
  ensure_registered();
  for (uint64_t i = 0; i < n; ++i) push_one(first + i);
}

uint64_t urcu_lfs_pop(uint64_t n) {
  ensure_registered();
  uint64_t sum = 0, v;
  for (uint64_t got = 0; got < n;) {
    if (pop_one(&v)) {
      sum += v;
      ++got;
    } else {
      caa_cpu_relax();
    }
  }
  return sum;
}

uint64_t urcu_lfs_drain(void) {
  ensure_registered();
  uint64_t sum = 0, v;
  while (pop_one(&v)) sum += v;
  return sum;
}

void urcu_lfs_barrier(void) {
  ensure_registered();
  urcu_memb_barrier();
}
