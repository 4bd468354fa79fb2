/* test_timer.c: the shard timer heap (shards/wt_timer.h). */
#include "check.h"

#include "wt_error.h"
#include "wt_timer.h"

#define LOG_MAX 4096

static int fired[LOG_MAX];
static int n_fired;

static void record(void *arg) {
  if (n_fired < LOG_MAX) {
    fired[n_fired] = (int)(intptr_t)arg;
  }
  n_fired++;
}

static void reset_log(void) {
  n_fired = 0;
  memset(fired, 0, sizeof(fired));
}

static void test_empty(void) {
  wt_timer_heap h;
  CHECK_EQ(wt_timer_init(&h), 0);
  CHECK_EQ(wt_timer_next(&h), UINT64_MAX);
  CHECK_EQ(wt_timer_count(&h), 0);
  CHECK_EQ(wt_timer_run(&h, 1000), 0);
  CHECK_EQ(wt_timer_cancel(&h, 0), WT_ERR_NOTFOUND);
  CHECK_EQ(wt_timer_cancel(&h, 12345), WT_ERR_NOTFOUND);
  CHECK_EQ(wt_timer_add(&h, 1, NULL, NULL, NULL), WT_ERR_INVAL);
  CHECK_EQ(wt_timer_add(NULL, 1, record, NULL, NULL), WT_ERR_INVAL);
  CHECK_EQ(wt_timer_init(NULL), WT_ERR_INVAL);
  wt_timer_free(&h);
  wt_timer_free(&h); /* twice is fine */
}

static void test_ordering(void) {
  wt_timer_heap h;
  wt_timer_init(&h);
  reset_log();
  /* deadlines out of order, with ties: ties fire in add order */
  static const uint64_t dl[] = {50, 10, 30, 10, 40, 20, 30, 10};
  for (size_t i = 0; i < sizeof(dl) / sizeof(dl[0]); i++) {
    CHECK_EQ(wt_timer_add(&h, dl[i], record, (void *)(intptr_t)i, NULL), 0);
  }
  CHECK_EQ(wt_timer_count(&h), 8);
  CHECK_EQ(wt_timer_next(&h), 10);
  CHECK_EQ(wt_timer_run(&h, 9), 0); /* nothing due yet */
  CHECK_EQ(wt_timer_run(&h, 10), 3);
  CHECK_EQ(n_fired, 3);
  CHECK_EQ(fired[0], 1);
  CHECK_EQ(fired[1], 3);
  CHECK_EQ(fired[2], 7);
  CHECK_EQ(wt_timer_next(&h), 20);
  CHECK_EQ(wt_timer_run(&h, 1000), 5);
  static const int want[] = {1, 3, 7, 5, 2, 6, 4, 0};
  CHECK_EQ(n_fired, 8);
  for (int i = 0; i < 8; i++) {
    CHECK_EQ(fired[i], want[i]);
  }
  CHECK_EQ(wt_timer_count(&h), 0);
  CHECK_EQ(wt_timer_next(&h), UINT64_MAX);
  wt_timer_free(&h);
}

static void test_cancel(void) {
  wt_timer_heap h;
  wt_timer_init(&h);
  reset_log();
  uint64_t id[6];
  for (int i = 0; i < 6; i++) {
    CHECK_EQ(wt_timer_add(&h, (uint64_t)(100 - i * 10), record, (void *)(intptr_t)i, &id[i]), 0);
    CHECK(id[i] != 0);
  }
  CHECK_EQ(wt_timer_cancel(&h, id[5]), 0);               /* the earliest (top of the heap) */
  CHECK_EQ(wt_timer_cancel(&h, id[2]), 0);               /* one in the middle */
  CHECK_EQ(wt_timer_cancel(&h, id[2]), WT_ERR_NOTFOUND); /* twice */
  CHECK_EQ(wt_timer_count(&h), 4);
  CHECK_EQ(wt_timer_next(&h), 60);
  CHECK_EQ(wt_timer_run(&h, 200), 4);
  CHECK_EQ(n_fired, 4);
  CHECK_EQ(fired[0], 4);
  CHECK_EQ(fired[1], 3);
  CHECK_EQ(fired[2], 1);
  CHECK_EQ(fired[3], 0);
  /* a fired timer cannot be cancelled, and its slot's new timer is not hit */
  CHECK_EQ(wt_timer_cancel(&h, id[0]), WT_ERR_NOTFOUND);
  uint64_t fresh;
  CHECK_EQ(wt_timer_add(&h, 5, record, (void *)(intptr_t)99, &fresh), 0);
  for (int i = 0; i < 6; i++) {
    CHECK(fresh != id[i]);
    CHECK_EQ(wt_timer_cancel(&h, id[i]), WT_ERR_NOTFOUND);
  }
  CHECK_EQ(wt_timer_count(&h), 1);
  CHECK_EQ(wt_timer_cancel(&h, fresh), 0);
  CHECK_EQ(wt_timer_count(&h), 0);
  wt_timer_free(&h);
}

/* Callbacks that add and cancel timers while the heap runs. */
static wt_timer_heap *g_heap;
static uint64_t g_victim;
static int g_rearms;

static void cancel_victim(void *arg) {
  record(arg);
  CHECK_EQ(wt_timer_cancel(g_heap, g_victim), 0);
}

static void rearm_zero(void *arg) {
  record(arg);
  if (++g_rearms < 5) {
    CHECK_EQ(wt_timer_add(g_heap, 0, rearm_zero, arg, NULL), 0); /* deadline in the past */
  }
}

static void test_reentrant(void) {
  wt_timer_heap h;
  wt_timer_init(&h);
  g_heap = &h;
  reset_log();
  CHECK_EQ(wt_timer_add(&h, 10, cancel_victim, (void *)(intptr_t)1, NULL), 0);
  CHECK_EQ(wt_timer_add(&h, 10, record, (void *)(intptr_t)2, &g_victim), 0);
  CHECK_EQ(wt_timer_add(&h, 10, record, (void *)(intptr_t)3, NULL), 0);
  CHECK_EQ(wt_timer_run(&h, 10), 2); /* 1 cancels 2 before it is due to run */
  CHECK_EQ(n_fired, 2);
  CHECK_EQ(fired[0], 1);
  CHECK_EQ(fired[1], 3);

  /* a timer re-arming itself with delay 0 runs once per wt_timer_run */
  reset_log();
  g_rearms = 0;
  CHECK_EQ(wt_timer_add(&h, 20, rearm_zero, (void *)(intptr_t)7, NULL), 0);
  CHECK_EQ(wt_timer_add(&h, 20, record, (void *)(intptr_t)8, NULL), 0);
  CHECK_EQ(wt_timer_run(&h, 30), 2);
  CHECK_EQ(fired[0], 7);
  CHECK_EQ(fired[1], 8);
  CHECK_EQ(wt_timer_next(&h), 30); /* raised to the run's now */
  size_t total = 2;
  for (int i = 0; i < 10 && wt_timer_count(&h); i++) {
    CHECK_EQ(wt_timer_run(&h, 30), 1);
    total++;
  }
  CHECK_EQ(total, 6);
  CHECK_EQ(g_rearms, 5);
  wt_timer_free(&h);
}

/* Deterministic pseudo-random numbers (xorshift64). */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rng(void) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return rng_state;
}

static uint64_t many_deadline[LOG_MAX];
static int many_cancelled[LOG_MAX];

static void test_many(void) {
  wt_timer_heap h;
  wt_timer_init(&h);
  reset_log();
  uint64_t ids[LOG_MAX];
  for (int i = 0; i < LOG_MAX; i++) {
    many_deadline[i] = rng() % 1000;
    many_cancelled[i] = 0;
    CHECK_EQ(wt_timer_add(&h, many_deadline[i], record, (void *)(intptr_t)i, &ids[i]), 0);
  }
  int cancelled = 0;
  for (int i = 0; i < LOG_MAX; i += 3) {
    CHECK_EQ(wt_timer_cancel(&h, ids[i]), 0);
    many_cancelled[i] = 1;
    cancelled++;
  }
  CHECK_EQ(wt_timer_count(&h), (size_t)(LOG_MAX - cancelled));
  /* run in steps; every fired timer is due, in (deadline, add order) order */
  for (uint64_t now = 0; now <= 1000; now += 37) {
    wt_timer_run(&h, now);
  }
  CHECK_EQ(n_fired, LOG_MAX - cancelled);
  for (int i = 1; i < n_fired; i++) {
    int a = fired[i - 1], b = fired[i];
    CHECK(!many_cancelled[a] && !many_cancelled[b]);
    if (many_deadline[a] == many_deadline[b]) {
      CHECK(a < b);
    } else {
      CHECK(many_deadline[a] < many_deadline[b]);
    }
  }
  CHECK_EQ(wt_timer_count(&h), 0);
  /* slots are reused: adding again needs no growth beyond what exists */
  uint32_t slots = h.n_slots;
  for (int i = 0; i < LOG_MAX; i++) {
    CHECK_EQ(wt_timer_add(&h, 1, record, NULL, NULL), 0);
  }
  CHECK_EQ(h.n_slots, slots);
  wt_timer_free(&h); /* pending timers are dropped */
}

int main(void) {
  WT_RUN(test_empty);
  WT_RUN(test_ordering);
  WT_RUN(test_cancel);
  WT_RUN(test_reentrant);
  WT_RUN(test_many);
  WT_DONE();
}
