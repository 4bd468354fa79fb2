/* test_mem.c: the process memory budget (core/base/wt_mem.h): batching,
 * the pressure levels with their hysteresis, the one transition function,
 * per-owner attribution, and wt_buf pools charging it. */
#include <pthread.h>

#include "check.h"
#include "wt_buf.h"
#include "wt_mem.h"

#define KB 1024ull

static void test_levels_and_hysteresis(void) {
  wt_mem_budget b;
  wt_mem_budget_init(&b, 1000 * KB);
  /* up: straight to the level of the use */
  CHECK_EQ(wt_mem_level_for(&b, WT_MEM_NORMAL, 0), WT_MEM_NORMAL);
  CHECK_EQ(wt_mem_level_for(&b, WT_MEM_NORMAL, 599 * KB), WT_MEM_NORMAL);
  CHECK_EQ(wt_mem_level_for(&b, WT_MEM_NORMAL, 600 * KB), WT_MEM_NO_CREDIT);
  CHECK_EQ(wt_mem_level_for(&b, WT_MEM_NORMAL, 750 * KB), WT_MEM_NO_DGRAM);
  CHECK_EQ(wt_mem_level_for(&b, WT_MEM_NORMAL, 850 * KB), WT_MEM_REFUSE);
  CHECK_EQ(wt_mem_level_for(&b, WT_MEM_NORMAL, 1000 * KB), WT_MEM_CLOSE);
  CHECK_EQ(wt_mem_level_for(&b, WT_MEM_NORMAL, 5000 * KB), WT_MEM_CLOSE);
  /* down: a level is left only 5 points under its threshold */
  CHECK_EQ(wt_mem_level_for(&b, WT_MEM_CLOSE, 990 * KB), WT_MEM_CLOSE);
  CHECK_EQ(wt_mem_level_for(&b, WT_MEM_CLOSE, 950 * KB), WT_MEM_REFUSE);
  CHECK_EQ(wt_mem_level_for(&b, WT_MEM_REFUSE, 820 * KB), WT_MEM_REFUSE);
  CHECK_EQ(wt_mem_level_for(&b, WT_MEM_REFUSE, 800 * KB), WT_MEM_NO_DGRAM);
  CHECK_EQ(wt_mem_level_for(&b, WT_MEM_NO_CREDIT, 560 * KB), WT_MEM_NO_CREDIT);
  CHECK_EQ(wt_mem_level_for(&b, WT_MEM_NO_CREDIT, 550 * KB), WT_MEM_NORMAL);
  CHECK_EQ(wt_mem_level_for(&b, WT_MEM_CLOSE, 0), WT_MEM_NORMAL);
  /* no budget: never under pressure */
  wt_mem_budget none;
  wt_mem_budget_init(&none, 0);
  CHECK_EQ(wt_mem_level_for(&none, WT_MEM_NORMAL, UINT64_MAX / 2), WT_MEM_NORMAL);
}

static void test_set_state(void) {
  wt_mem_budget b;
  wt_mem_budget_init(&b, 1000 * KB);
  CHECK_EQ(wt_mem_set_state(&b, WT_MEM_NORMAL, WT_MEM_REFUSE), 1);
  CHECK_EQ(wt_mem_level(&b), WT_MEM_REFUSE);
  CHECK_EQ(b.entered[WT_MEM_REFUSE], 1);
  /* a stale from (another thread moved first): nothing happens */
  CHECK_EQ(wt_mem_set_state(&b, WT_MEM_NORMAL, WT_MEM_CLOSE), 0);
  CHECK_EQ(wt_mem_level(&b), WT_MEM_REFUSE);
  CHECK_EQ(b.entered[WT_MEM_CLOSE], 0);
  /* no move, illegal target: refused, uncounted */
  CHECK_EQ(wt_mem_set_state(&b, WT_MEM_REFUSE, WT_MEM_REFUSE), 0);
  CHECK_EQ(wt_mem_set_state(&b, WT_MEM_REFUSE, 17), 0);
  CHECK_EQ(wt_mem_level(&b), WT_MEM_REFUSE);
  CHECK(strcmp(wt_mem_level_name(WT_MEM_NO_DGRAM), "no_dgram") == 0);
  CHECK(strcmp(wt_mem_level_name(99), "?") == 0);
}

/* Charges batch per thread; the level follows the flushed use, in order,
 * each transition counted once; hysteresis on the way down. */
static void test_charge_walk(void) {
  wt_mem_budget b;
  wt_mem_budget_init(&b, 100 * WT_MEM_BATCH);
  wt_mem_charge(&b, WT_MEM_BATCH - 1);
  CHECK_EQ(wt_mem_used(&b), 0); /* still in this thread's batch */
  CHECK_EQ(wt_mem_poll(&b, 0), WT_MEM_NORMAL);
  CHECK_EQ(wt_mem_used(&b), WT_MEM_BATCH - 1);
  wt_mem_uncharge(&b, WT_MEM_BATCH - 1);
  wt_mem_poll(&b, 0);
  CHECK_EQ(wt_mem_used(&b), 0);
  int seen[WT_MEM_LEVELS] = {0};
  int last = WT_MEM_NORMAL, ordered = 1;
  for (int i = 0; i < 110; i++) {
    wt_mem_charge(&b, WT_MEM_BATCH);
    int l = wt_mem_level(&b);
    ordered &= l >= last;
    last = l;
    seen[l] = 1;
  }
  CHECK(ordered);
  /* one charge past several thresholds still enters each level in order */
  wt_mem_budget j;
  wt_mem_budget_init(&j, 100 * WT_MEM_BATCH);
  wt_mem_charge(&j, 100 * WT_MEM_BATCH);
  CHECK_EQ(wt_mem_level(&j), WT_MEM_CLOSE);
  for (int l = WT_MEM_NO_CREDIT; l < WT_MEM_LEVELS; l++) {
    CHECK_EQ(j.entered[l], 1);
  }
  wt_mem_uncharge(&j, 100 * WT_MEM_BATCH);
  wt_mem_budget_fini(&j);
  for (int l = 0; l < WT_MEM_LEVELS; l++) {
    CHECK(seen[l]);
  }
  CHECK_EQ(wt_mem_level(&b), WT_MEM_CLOSE);
  CHECK_EQ(b.entered[WT_MEM_NO_CREDIT], 1);
  CHECK_EQ(b.entered[WT_MEM_CLOSE], 1);
  CHECK_EQ(b.peak, 110 * WT_MEM_BATCH);
  /* down: never from a flush; from a poll only 5 points under a threshold
   * and only after the use stayed there WT_MEM_DWELL_NS */
  const uint64_t S = 1000000000ull;
  CHECK_EQ(wt_mem_poll(&b, 1 * S), WT_MEM_CLOSE);
  for (int i = 0; i < 12; i++) {
    wt_mem_uncharge(&b, WT_MEM_BATCH); /* 98 %: inside the hysteresis band */
  }
  CHECK_EQ(wt_mem_poll(&b, 2 * S), WT_MEM_CLOSE);
  for (int i = 0; i < 4; i++) {
    wt_mem_uncharge(&b, WT_MEM_BATCH); /* 94 %: REFUSE's band */
  }
  CHECK_EQ(wt_mem_level(&b), WT_MEM_CLOSE); /* flushes never move down */
  CHECK_EQ(wt_mem_poll(&b, 2 * S + WT_MEM_DWELL_NS - 1), WT_MEM_CLOSE);
  CHECK_EQ(wt_mem_poll(&b, 2 * S + WT_MEM_DWELL_NS), WT_MEM_REFUSE);
  for (int i = 0; i < 94; i++) {
    wt_mem_uncharge(&b, WT_MEM_BATCH);
  }
  CHECK_EQ(wt_mem_poll(&b, 2 * S + WT_MEM_DWELL_NS + 1), WT_MEM_REFUSE);
  /* a swing back up restarts the wait */
  wt_mem_charge(&b, 90 * WT_MEM_BATCH);
  CHECK_EQ(wt_mem_poll(&b, 3 * S), WT_MEM_REFUSE);
  wt_mem_uncharge(&b, 90 * WT_MEM_BATCH);
  CHECK_EQ(wt_mem_poll(&b, 3 * S + WT_MEM_DWELL_NS - 1), WT_MEM_REFUSE);
  CHECK_EQ(wt_mem_poll(&b, 3 * S + WT_MEM_DWELL_NS), WT_MEM_NORMAL); /* in one move */
  CHECK_EQ(wt_mem_used(&b), 0);
  CHECK_EQ(b.entered[WT_MEM_NORMAL], 1); /* came back once */
  CHECK_EQ(b.entered[WT_MEM_REFUSE], 2);
  CHECK_EQ(b.entered[WT_MEM_CLOSE], 1);
  wt_mem_budget_fini(&b);
}

static void test_acct(void) {
  wt_mem_budget b;
  wt_mem_budget_init(&b, 0);
  wt_mem_acct ip = {0}, c1 = {.parent = &ip, .budget = &b}, c2 = {.parent = &ip, .budget = &b};
  wt_mem_acct_add(&c1, 1000, 1);
  wt_mem_acct_add(&c2, 300, 0); /* referenced: attributed, not charged */
  CHECK_EQ(c1.bytes, 1000);
  CHECK_EQ(c2.bytes, 300);
  CHECK_EQ(ip.bytes, 1300);
  wt_mem_poll(&b, 0);
  CHECK_EQ(wt_mem_used(&b), 1000);
  wt_mem_acct_sub(&c1, 1000, 1);
  wt_mem_acct_sub(&c2, 300, 0);
  wt_mem_acct_add(NULL, 5, 1);
  CHECK_EQ(ip.bytes, 0);
  wt_mem_poll(&b, 0);
  CHECK_EQ(wt_mem_used(&b), 0);
  wt_mem_budget_fini(&b);
}

/* A pool with a budget charges capacity + header per buffer out, one-off
 * buffers too, and gives it back when the last reference drops, on any
 * thread. */
typedef struct {
  wt_buf *bufs[64];
  int n;
  wt_mem_budget *b;
} unref_job;

static void *unref_thread(void *arg) {
  unref_job *j = arg;
  for (int i = 0; i < j->n; i++) {
    wt_buf_unref(j->bufs[i]);
  }
  wt_mem_poll(j->b, 0); /* this thread's batch */
  wt_mem_budget_fini(j->b);
  return NULL;
}

static void test_buf_pool_charges(void) {
  wt_mem_budget b;
  wt_mem_budget_init(&b, 0);
  wt_buf_pool *p = NULL;
  CHECK_FATAL(wt_buf_pool_new(&p, 16384, 8) == 0);
  wt_buf_pool_set_budget(p, &b);
  wt_buf *one = wt_buf_alloc(p, 1); /* one byte still holds a whole buffer */
  wt_buf *big = wt_buf_alloc(p, 100000);
  CHECK_FATAL(one && big);
  wt_mem_poll(&b, 0);
  CHECK_EQ(wt_mem_used(&b), wt_buf_held(one) + wt_buf_held(big));
  CHECK(wt_buf_held(one) >= 16384);
  CHECK(wt_buf_held(big) >= 100000);
  wt_buf_ref(one);
  wt_buf_unref(one); /* not the last reference */
  wt_mem_poll(&b, 0);
  CHECK_EQ(wt_mem_used(&b), wt_buf_held(one) + wt_buf_held(big));
  wt_buf_unref(one);
  wt_buf_unref(big);
  wt_mem_poll(&b, 0);
  CHECK_EQ(wt_mem_used(&b), 0);
  /* freed on another thread */
  unref_job j = {.n = 64, .b = &b};
  for (int i = 0; i < j.n; i++) {
    j.bufs[i] = wt_buf_alloc(p, 100);
    CHECK_FATAL(j.bufs[i]);
  }
  wt_mem_poll(&b, 0);
  CHECK_EQ(wt_mem_used(&b), 64 * wt_buf_held(j.bufs[0]));
  pthread_t t;
  CHECK_FATAL(pthread_create(&t, NULL, unref_thread, &j) == 0);
  pthread_join(t, NULL);
  CHECK_EQ(wt_mem_used(&b), 0);
  wt_buf_pool_collect(p);
  wt_buf_pool_del(p);
  wt_mem_budget_fini(&b);
}

int main(void) {
  WT_RUN(test_levels_and_hysteresis);
  WT_RUN(test_set_state);
  WT_RUN(test_charge_walk);
  WT_RUN(test_acct);
  WT_RUN(test_buf_pool_charges);
  WT_DONE();
}
