/* perf/hazard_pointer_ck_peer.c — see hazard_pointer_ck_peer.h. */
#include "hazard_pointer_ck_peer.h"

#include "ck_hp_peers.h" /* CK_HP_PEER_THRESHOLD */

#include <ck_hp.h>
#include <ck_pr.h>
#include <stdlib.h>

struct ckhp_obj {
  ck_hp_hazard_t hazard;
  uint64_t value;
};

static ck_hp_t hp;
static int hp_ready;
static struct ckhp_obj shared_obj = {.value = 1};
static struct ckhp_obj *shared_src = &shared_obj;
static _Thread_local ck_hp_record_t *record;
static _Thread_local void *slots[1];

static void destroy(void *p) { free(p); }

void ckhp_thread_init(void) {
  if (!ck_pr_load_int(&hp_ready)) {
    /* Benchmarks register threads one after another from one setup thread
     * first, so a plain once-check suffices here. */
    ck_hp_init(&hp, 1, CK_HP_PEER_THRESHOLD, destroy);
    ck_pr_store_int(&hp_ready, 1);
  }
  if (record == NULL) {
    record = malloc(sizeof *record);
    ck_hp_register(&hp, record, slots);
  }
}

uint64_t ckhp_protect_batch(uint64_t n) {
  uint64_t sum = 0;
  for (uint64_t i = 0; i < n; ++i) {
    struct ckhp_obj *p = ck_pr_load_ptr(&shared_src);
    for (;;) {
      ck_hp_set_fence(record, 0, p);
      struct ckhp_obj *q = ck_pr_load_ptr(&shared_src);
      if (q == p) break;
      p = q;
    }
    sum += p->value;
    ck_hp_clear(record);
  }
  return sum;
}

void ckhp_retire_batch(uint64_t n) {
  for (uint64_t i = 0; i < n; ++i) {
    struct ckhp_obj *o = malloc(sizeof *o);
    o->value = i;
    ck_hp_free(record, &o->hazard, o, o);
  }
}

void ckhp_purge(void) { ck_hp_purge(record); }
