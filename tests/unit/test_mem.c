/* test_mem.c: the process memory budget (core/base/wt_mem.h): batching,
 * the pressure levels with their hysteresis, the one transition function,
 * per-owner attribution, wt_buf pools charging it (idle buffers included)
 * and trimming under pressure and when idle, and the counting allocators
 * given to ngtcp2/nghttp3 (per account) and wolfSSL (process-wide). */
#include <pthread.h>
#include <stddef.h>
#include <string.h>

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

/* A level a flush raised long after the last poll holds for the dwell from
 * the next poll (it used to fall at that poll when the use had fallen: the
 * dwell was measured from the poll before the raise), and a spike to the
 * close threshold between two polls is reported once by wt_mem_close_due. */
static void test_spike_between_polls(void) {
  const uint64_t S = 1000000000ull;
  wt_mem_budget b;
  wt_mem_budget_init(&b, 100 * WT_MEM_BATCH);
  CHECK_EQ(wt_mem_poll(&b, 1 * S), WT_MEM_NORMAL);
  CHECK_EQ(wt_mem_close_due(&b), 0);
  wt_mem_charge(&b, 101 * WT_MEM_BATCH); /* a flush: normal -> close */
  CHECK_EQ(wt_mem_level(&b), WT_MEM_CLOSE);
  wt_mem_uncharge(&b, 101 * WT_MEM_BATCH);
  CHECK_EQ(wt_mem_used(&b), 0);
  CHECK_EQ(wt_mem_poll(&b, 10 * S), WT_MEM_CLOSE); /* the dwell starts here */
  CHECK_EQ(wt_mem_close_due(&b), 1);               /* the spike, once */
  CHECK_EQ(wt_mem_close_due(&b), 0);
  CHECK_EQ(wt_mem_poll(&b, 10 * S + WT_MEM_DWELL_NS - 1), WT_MEM_CLOSE);
  CHECK_EQ(wt_mem_poll(&b, 10 * S + WT_MEM_DWELL_NS), WT_MEM_NORMAL);
  CHECK_EQ(wt_mem_close_due(&b), 0);
  wt_mem_charge(&b, 100 * WT_MEM_BATCH); /* at the threshold now: due while it lasts */
  CHECK_EQ(wt_mem_close_due(&b), 1);
  CHECK_EQ(wt_mem_close_due(&b), 1);
  wt_mem_uncharge(&b, 100 * WT_MEM_BATCH);
  CHECK_EQ(wt_mem_close_due(&b), 0);
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
  uint64_t held = wt_buf_held(one);
  wt_buf_unref(one);
  wt_buf_unref(big);
  wt_mem_poll(&b, 0);
  /* the one-off is gone; the pooled buffer is idle, still held */
  CHECK_EQ(wt_mem_used(&b), held);
  /* reused from the free list: not charged twice */
  one = wt_buf_alloc(p, 10);
  wt_mem_poll(&b, 0);
  CHECK_EQ(wt_mem_used(&b), held);
  wt_buf_unref(one);
  /* freed on another thread: they come home idle (max_free 8 kept, the
   * rest freed), still charged until then */
  unref_job j = {.n = 64, .b = &b};
  for (int i = 0; i < j.n; i++) {
    j.bufs[i] = wt_buf_alloc(p, 100);
    CHECK_FATAL(j.bufs[i]);
  }
  wt_mem_poll(&b, 0);
  CHECK_EQ(wt_mem_used(&b), 64 * held);
  pthread_t t;
  CHECK_FATAL(pthread_create(&t, NULL, unref_thread, &j) == 0);
  pthread_join(t, NULL);
  CHECK_EQ(wt_mem_used(&b), 64 * held); /* on the remote-free stack: held */
  CHECK_EQ(wt_buf_pool_collect(p), 64);
  wt_mem_poll(&b, 0);
  CHECK_EQ(wt_mem_used(&b), 8 * held);
  wt_buf_pool_stats st;
  wt_buf_pool_get_stats(p, &st);
  CHECK_EQ(st.idle, 8);
  CHECK_EQ(st.trimmed_pressure + st.trimmed_idle, 0); /* over max_free: not a trim */
  wt_buf_pool_del(p);
  wt_mem_poll(&b, 0);
  CHECK_EQ(wt_mem_used(&b), 0);
  wt_mem_budget_fini(&b);
}

/* Idle buffers: counted, given back under pressure (all of them, the
 * count follows, a trim counted and logged once per episode), after
 * WT_BUF_IDLE_TURNS collects without use (to the reserve), and on demand;
 * a budget change moves the idle buffers' charge. */
static void test_buf_pool_trim(void) {
  enum { N = 200 };
  wt_mem_budget b;
  wt_mem_budget_init(&b, 100ull * 1024 * 1024);
  wt_buf_pool *p = NULL;
  CHECK_FATAL(wt_buf_pool_new(&p, 16384, 4096) == 0);
  wt_buf_pool_set_budget(p, &b);
  wt_buf *bufs[N];
  for (int i = 0; i < N; i++) {
    bufs[i] = wt_buf_alloc(p, 1);
    CHECK_FATAL(bufs[i]);
  }
  uint64_t held = wt_buf_held(bufs[0]);
  for (int i = 0; i < N; i++) {
    wt_buf_unref(bufs[i]);
  }
  wt_mem_poll(&b, 1);
  CHECK_EQ(wt_mem_used(&b), N * held);
  wt_buf_pool_stats st;
  wt_buf_pool_get_stats(p, &st);
  CHECK_EQ(st.idle, N);
  /* pressure: NO_CREDIT (60 %) */
  uint64_t push = 62ull * 1024 * 1024;
  wt_mem_charge(&b, push);
  CHECK_EQ(wt_mem_poll(&b, 2), WT_MEM_NO_CREDIT);
  wt_buf_pool_collect(p);
  wt_buf_pool_get_stats(p, &st);
  CHECK_EQ(st.idle, 0);
  CHECK_EQ(st.trimmed_pressure, N);
  wt_mem_poll(&b, 3);
  CHECK_EQ(wt_mem_used(&b), push);
  CHECK_EQ(b.trimmed[WT_MEM_TRIM_PRESSURE], N * held);
  CHECK_EQ(b.trim_logged, 1);
  /* still under pressure: buffers coming home go */
  for (int i = 0; i < N; i++) {
    bufs[i] = wt_buf_alloc(p, 1);
    CHECK_FATAL(bufs[i]);
  }
  for (int i = 0; i < N; i++) {
    wt_buf_unref(bufs[i]);
  }
  wt_buf_pool_get_stats(p, &st);
  CHECK_EQ(st.idle, 0);
  CHECK_EQ(st.trimmed_pressure, 2 * N);
  wt_mem_poll(&b, 4);
  CHECK_EQ(wt_mem_used(&b), push);
  /* pressure over (after the dwell): the episode ends, buffers are kept */
  wt_mem_uncharge(&b, push);
  CHECK_EQ(wt_mem_poll(&b, 4 + WT_MEM_DWELL_NS), WT_MEM_NORMAL);
  CHECK_EQ(b.trim_logged, 0);
  for (int i = 0; i < N; i++) {
    bufs[i] = wt_buf_alloc(p, 1);
  }
  for (int i = 0; i < N; i++) {
    wt_buf_unref(bufs[i]);
  }
  wt_buf_pool_get_stats(p, &st);
  CHECK_EQ(st.idle, N);
  /* idle for WT_BUF_IDLE_TURNS collects, a few in use each turn: what was
   * never needed goes, down to the reserve or the turn's need */
  for (int t = 0; t < 2 * WT_BUF_IDLE_TURNS + 1; t++) {
    wt_buf *x = wt_buf_alloc(p, 1);
    wt_buf_unref(x);
    wt_buf_pool_collect(p);
  }
  /* (one buffer was needed each turn: the reserve stays idle beside it) */
  wt_buf_pool_get_stats(p, &st);
  CHECK_EQ(st.idle, WT_BUF_RESERVE + 1);
  CHECK_EQ(st.trimmed_idle, N - WT_BUF_RESERVE - 1);
  wt_mem_poll(&b, 5 + WT_MEM_DWELL_NS);
  CHECK_EQ(wt_mem_used(&b), (WT_BUF_RESERVE + 1) * held);
  CHECK_EQ(b.trimmed[WT_MEM_TRIM_IDLE], (N - WT_BUF_RESERVE - 1) * held);
  /* a budget change moves the idle charge */
  wt_mem_budget b2;
  wt_mem_budget_init(&b2, 0);
  wt_buf_pool_set_budget(p, &b2);
  wt_mem_poll(&b, 6 + WT_MEM_DWELL_NS);
  CHECK_EQ(wt_mem_used(&b), 0);
  wt_mem_budget_fini(&b);
  wt_mem_poll(&b2, 0);
  CHECK_EQ(wt_mem_used(&b2), (WT_BUF_RESERVE + 1) * held);
  /* on demand: down to the reserve */
  CHECK_EQ(wt_buf_pool_trim(p), 1);
  wt_mem_poll(&b2, 0);
  CHECK_EQ(wt_mem_used(&b2), WT_BUF_RESERVE * held);
  wt_buf_pool_del(p);
  wt_mem_poll(&b2, 0);
  CHECK_EQ(wt_mem_used(&b2), 0);
  wt_mem_budget_fini(&b2);
}

/* The counting allocator (ngtcp2_mem / nghttp3_mem shape): sizes with
 * header charged to the account, its parents and its budget; calloc
 * zeroes and checks overflow; realloc charges the difference both ways,
 * 0 frees; alignment of max_align_t; everything back to 0. */
static void test_acct_allocator(void) {
  wt_mem_budget b;
  wt_mem_budget_init(&b, 0);
  wt_mem_acct parent = {.budget = &b};
  wt_mem_acct a = {.parent = &parent, .budget = &b};
  uint8_t *m = wt_mem_acct_malloc(100, &a);
  CHECK_FATAL(m != NULL);
  CHECK_EQ((uintptr_t)m % _Alignof(max_align_t), 0);
  uint64_t hdr = a.bytes - 100;
  CHECK(hdr >= sizeof(size_t) && hdr % _Alignof(max_align_t) == 0);
  CHECK_EQ(parent.bytes, a.bytes);
  memset(m, 0xaa, 100);
  uint32_t *z = wt_mem_acct_calloc(50, sizeof(uint32_t), &a);
  CHECK_FATAL(z != NULL);
  CHECK_EQ((uintptr_t)z % _Alignof(max_align_t), 0);
  for (int i = 0; i < 50; i++) {
    CHECK_EQ(z[i], 0);
  }
  CHECK_EQ(a.bytes, 100 + 200 + 2 * hdr);
  CHECK(wt_mem_acct_calloc(SIZE_MAX / 8, 16, &a) == NULL); /* overflow */
  CHECK(wt_mem_acct_malloc(SIZE_MAX - 4, &a) == NULL);
  CHECK_EQ(a.bytes, 100 + 200 + 2 * hdr);
  /* grow: contents kept, difference charged */
  m = wt_mem_acct_realloc(m, 5000, &a);
  CHECK_FATAL(m != NULL);
  CHECK_EQ((uintptr_t)m % _Alignof(max_align_t), 0);
  CHECK_EQ(m[0], 0xaa);
  CHECK_EQ(m[99], 0xaa);
  CHECK_EQ(wt_mem_acct_block_size(m), 5000);
  CHECK_EQ(a.bytes, 5000 + 200 + 2 * hdr);
  /* shrink */
  m = wt_mem_acct_realloc(m, 10, &a);
  CHECK_FATAL(m != NULL);
  CHECK_EQ(m[9], 0xaa);
  CHECK_EQ(a.bytes, 10 + 200 + 2 * hdr);
  /* realloc(NULL) allocates; realloc to 0 frees */
  void *r = wt_mem_acct_realloc(NULL, 64, &a);
  CHECK_FATAL(r != NULL);
  CHECK_EQ(a.bytes, 10 + 200 + 64 + 3 * hdr);
  CHECK(wt_mem_acct_realloc(r, 0, &a) == NULL);
  CHECK_EQ(a.bytes, 10 + 200 + 2 * hdr);
  /* a failed realloc leaves the block and its charge */
  CHECK(wt_mem_acct_realloc(z, SIZE_MAX - 4, &a) == NULL);
  CHECK_EQ(a.bytes, 10 + 200 + 2 * hdr);
  wt_mem_poll(&b, 0);
  CHECK_EQ(wt_mem_used(&b), a.bytes);
  wt_mem_acct_free(m, &a);
  wt_mem_acct_free(z, &a);
  wt_mem_acct_free(NULL, &a);
  CHECK_EQ(a.bytes, 0);
  CHECK_EQ(parent.bytes, 0);
  wt_mem_poll(&b, 0);
  CHECK_EQ(wt_mem_used(&b), 0);
  /* no account: works, counts nothing */
  void *u = wt_mem_acct_malloc(10, NULL);
  u = wt_mem_acct_realloc(u, 1000, NULL);
  CHECK(u != NULL);
  wt_mem_acct_free(u, NULL);
  wt_mem_budget_fini(&b);
}

/* The process-wide allocator: charged to the budget set; blocks from an
 * earlier setting are freed uncounted (the old budget is never touched
 * again, the new one never goes below what it was charged). */
static void test_lib_allocator(void) {
  wt_mem_budget b1, b2;
  wt_mem_budget_init(&b1, 0);
  wt_mem_budget_init(&b2, 0);
  void *none = wt_mem_lib_malloc(100); /* before any budget: uncounted */
  wt_mem_lib_set_budget(&b1);
  uint8_t *x = wt_mem_lib_malloc(1000);
  CHECK_FATAL(x != NULL);
  CHECK_EQ((uintptr_t)x % _Alignof(max_align_t), 0);
  memset(x, 0x5a, 1000);
  wt_mem_poll(&b1, 0);
  uint64_t one = wt_mem_used(&b1);
  CHECK(one >= 1000 && one <= 1000 + 2 * _Alignof(max_align_t));
  x = wt_mem_lib_realloc(x, 3000);
  CHECK_FATAL(x != NULL);
  CHECK_EQ(x[999], 0x5a);
  wt_mem_poll(&b1, 0);
  CHECK_EQ(wt_mem_used(&b1), one + 2000);
  wt_mem_lib_free(none); /* was not charged: nothing */
  wt_mem_poll(&b1, 0);
  CHECK_EQ(wt_mem_used(&b1), one + 2000);
  void *y = wt_mem_lib_malloc(500);
  wt_mem_lib_set_budget(&b2); /* b1's blocks now free uncounted */
  wt_mem_lib_free(y);
  x = wt_mem_lib_realloc(x, 4000);                           /* moves to b2, in full */
  CHECK_EQ(wt_mem_used(&b1), one + 2000 + 500 + one - 1000); /* untouched since */
  wt_mem_poll(&b2, 0);
  CHECK_EQ(wt_mem_used(&b2), one + 3000);
  wt_mem_lib_free(x);
  wt_mem_poll(&b2, 0);
  CHECK_EQ(wt_mem_used(&b2), 0);
  CHECK(wt_mem_lib_realloc(wt_mem_lib_malloc(8), 0) == NULL);
  wt_mem_lib_set_budget(NULL);
  wt_mem_budget_fini(&b1);
  wt_mem_budget_fini(&b2);
}

int main(void) {
  WT_RUN(test_levels_and_hysteresis);
  WT_RUN(test_set_state);
  WT_RUN(test_charge_walk);
  WT_RUN(test_spike_between_polls);
  WT_RUN(test_acct);
  WT_RUN(test_buf_pool_charges);
  WT_RUN(test_buf_pool_trim);
  WT_RUN(test_acct_allocator);
  WT_RUN(test_lib_allocator);
  WT_DONE();
}
