/* test_spsc.c: single-producer/single-consumer ring. */
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdalign.h>
#include <stddef.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "wt_error.h"
#include "wt_spsc.h"

#define ITEM(i) ((void *)(uintptr_t)(i))

static void test_init_errors(void) {
  wt_spsc r;
  static const uint32_t bad[] = {0, 1, 3, 6, 100, 1023, 1025, UINT32_MAX, (UINT32_C(1) << 31) + 2};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    CHECK_EQ(wt_spsc_init(&r, bad[i]), WT_ERR_INVAL);
    wt_spsc_free(&r); /* safe after a failed init */
  }
  CHECK_EQ(wt_spsc_init(NULL, 8), WT_ERR_INVAL);
  CHECK_EQ(wt_spsc_init(&r, 2), 0);
  CHECK_EQ(wt_spsc_capacity(&r), 2);
  wt_spsc_free(&r);
  wt_spsc_free(&r); /* idempotent */
  wt_spsc_free(NULL);
}

static void test_layout(void) {
  /* Producer and consumer indices on their own cache lines. */
  CHECK_EQ(alignof(wt_spsc), WT_SPSC_CACHELINE);
  CHECK(offsetof(wt_spsc, tail) / WT_SPSC_CACHELINE != offsetof(wt_spsc, head) / WT_SPSC_CACHELINE);
  CHECK(offsetof(wt_spsc, tail) / WT_SPSC_CACHELINE !=
        offsetof(wt_spsc, slots) / WT_SPSC_CACHELINE);
  CHECK(offsetof(wt_spsc, head) / WT_SPSC_CACHELINE !=
        offsetof(wt_spsc, slots) / WT_SPSC_CACHELINE);
  CHECK_EQ(offsetof(wt_spsc, head_cache) / WT_SPSC_CACHELINE,
           offsetof(wt_spsc, tail) / WT_SPSC_CACHELINE);
  CHECK_EQ(offsetof(wt_spsc, tail_cache) / WT_SPSC_CACHELINE,
           offsetof(wt_spsc, head) / WT_SPSC_CACHELINE);
}

static void test_fifo_single(void) {
  wt_spsc r;
  CHECK_FATAL(wt_spsc_init(&r, 8) == 0);
  void *out = ITEM(0xdead);
  CHECK_EQ(wt_spsc_dequeue(&r, &out), WT_ERR_AGAIN);
  CHECK(out == ITEM(0xdead));
  CHECK_EQ(wt_spsc_count(&r), 0);
  CHECK_EQ(wt_spsc_free_count(&r), 8);
  for (uintptr_t i = 1; i <= 8; i++) {
    CHECK_EQ(wt_spsc_enqueue(&r, ITEM(i)), 0);
  }
  CHECK_EQ(wt_spsc_enqueue(&r, ITEM(9)), WT_ERR_AGAIN);
  CHECK_EQ(wt_spsc_count(&r), 8);
  CHECK_EQ(wt_spsc_free_count(&r), 0);
  for (uintptr_t i = 1; i <= 8; i++) {
    CHECK_EQ(wt_spsc_dequeue(&r, &out), 0);
    CHECK(out == ITEM(i));
  }
  CHECK_EQ(wt_spsc_dequeue(&r, &out), WT_ERR_AGAIN);
  CHECK_EQ(wt_spsc_count(&r), 0);
  wt_spsc_free(&r);
}

static void test_burst_partial(void) {
  wt_spsc r;
  CHECK_FATAL(wt_spsc_init(&r, 8) == 0);
  void *in[16], *out[16];
  for (uintptr_t i = 0; i < 16; i++) {
    in[i] = ITEM(i + 100);
  }
  CHECK_EQ(wt_spsc_dequeue_burst(&r, out, 16), 0); /* empty */
  CHECK_EQ(wt_spsc_enqueue_burst(&r, in, 0), 0);
  CHECK_EQ(wt_spsc_enqueue_burst(&r, in, 5), 5);
  CHECK_EQ(wt_spsc_enqueue_burst(&r, in + 5, 5), 3); /* full: partial */
  CHECK_EQ(wt_spsc_enqueue_burst(&r, in + 8, 5), 0);
  CHECK_EQ(wt_spsc_count(&r), 8);
  CHECK_EQ(wt_spsc_dequeue_burst(&r, out, 3), 3);
  CHECK_EQ(wt_spsc_dequeue_burst(&r, out + 3, 16), 5); /* partial */
  for (int i = 0; i < 8; i++) {
    CHECK(out[i] == in[i]);
  }
  CHECK_EQ(wt_spsc_dequeue_burst(&r, out, 16), 0);
  CHECK_EQ(wt_spsc_dequeue_burst(&r, out, 0), 0);
  wt_spsc_free(&r);
}

/* Bursts of every size start at every offset, so each burst that can
 * straddle the end of the slot array does. */
static void test_wrap_bursts(void) {
  enum { CAP = 16 };
  wt_spsc r;
  CHECK_FATAL(wt_spsc_init(&r, CAP) == 0);
  uintptr_t next_in = 1, next_out = 1;
  int bad = 0;
  for (uint32_t offset = 0; offset < CAP; offset++) {
    for (uint32_t burst = 1; burst <= CAP; burst++) {
      /* Move the indices so the next burst starts at `offset`. */
      while (((uint32_t)(next_in - 1) & (CAP - 1)) != offset) {
        void *o;
        if (wt_spsc_enqueue(&r, ITEM(next_in)) != 0 || wt_spsc_dequeue(&r, &o) != 0 ||
            o != ITEM(next_out)) {
          bad++;
        }
        next_in++;
        next_out++;
      }
      void *in[CAP], *out[CAP];
      for (uint32_t i = 0; i < burst; i++) {
        in[i] = ITEM(next_in + i);
      }
      if (wt_spsc_enqueue_burst(&r, in, burst) != burst) {
        bad++;
      }
      next_in += burst;
      if (wt_spsc_dequeue_burst(&r, out, CAP) != burst) {
        bad++;
      }
      for (uint32_t i = 0; i < burst; i++) {
        if (out[i] != ITEM(next_out + i)) {
          bad++;
        }
      }
      next_out += burst;
    }
  }
  CHECK_EQ(bad, 0);
  CHECK_EQ(wt_spsc_count(&r), 0);
  wt_spsc_free(&r);
}

/* Many laps with uneven enqueue and dequeue burst sizes, and the free-running
 * 32-bit indices carried across their own overflow. */
static void test_wrap_many(void) {
  enum { CAP = 8 };
  wt_spsc r;
  CHECK_FATAL(wt_spsc_init(&r, CAP) == 0);
  /* Start just below 2^32 so the indices wrap during the test. */
  uint32_t start = UINT32_MAX - 1000;
  atomic_store(&r.head, start);
  atomic_store(&r.tail, start);
  r.head_cache = start;
  r.tail_cache = start;
  uintptr_t next_in = 1, next_out = 1;
  uint32_t seed = 12345;
  int bad = 0;
  for (int round = 0; round < 200000; round++) {
    seed = seed * 1103515245u + 12345u;
    uint32_t ne = (seed >> 16) % (CAP + 3);
    seed = seed * 1103515245u + 12345u;
    uint32_t nd = (seed >> 16) % (CAP + 3);
    void *in[CAP + 3], *out[CAP + 3];
    uint32_t before = wt_spsc_count(&r);
    for (uint32_t i = 0; i < ne; i++) {
      in[i] = ITEM(next_in + i);
    }
    uint32_t put = wt_spsc_enqueue_burst(&r, in, ne);
    uint32_t want_put = ne < CAP - before ? ne : CAP - before;
    if (put != want_put) {
      bad++;
    }
    next_in += put;
    uint32_t got = wt_spsc_dequeue_burst(&r, out, nd);
    uint32_t want_got = nd < before + put ? nd : before + put;
    if (got != want_got) {
      bad++;
    }
    for (uint32_t i = 0; i < got; i++) {
      if (out[i] != ITEM(next_out + i)) {
        bad++;
      }
    }
    next_out += got;
    if (wt_spsc_count(&r) != next_in - next_out ||
        wt_spsc_free_count(&r) != CAP - (next_in - next_out)) {
      bad++;
    }
  }
  CHECK_EQ(bad, 0);
  CHECK(next_out > 100000);            /* many laps of an 8-slot ring */
  CHECK(atomic_load(&r.tail) < start); /* the index did wrap */
  wt_spsc_free(&r);
}

/* ---------------------------------------------------------------- threads */

#define STRESS_ITEMS  10000000u
#define STRESS_MAXB   64u
#define WATCHDOG_SECS 120

typedef struct {
  wt_spsc *r;
  uint32_t seed;
  uint64_t count;
  uint64_t errors;
} stress_arg;

static uint32_t rnd(uint32_t *s) {
  /* xorshift32 */
  uint32_t x = *s;
  x ^= x << 13;
  x ^= x >> 17;
  x ^= x << 5;
  return *s = x;
}

static void *producer(void *p) {
  stress_arg *a = p;
  uintptr_t next = 1;
  void *buf[STRESS_MAXB];
  while (next <= STRESS_ITEMS) {
    uint32_t n = rnd(&a->seed) % STRESS_MAXB + 1;
    if (n > STRESS_ITEMS - next + 1) {
      n = (uint32_t)(STRESS_ITEMS - next + 1);
    }
    if (n == 1 && (a->seed & 0x100)) {
      /* Mix in the single-item path. */
      while (wt_spsc_enqueue(a->r, ITEM(next)) != 0) {
        sched_yield();
      }
      next++;
      continue;
    }
    for (uint32_t i = 0; i < n; i++) {
      buf[i] = ITEM(next + i);
    }
    uint32_t done = 0;
    while (done < n) {
      uint32_t k = wt_spsc_enqueue_burst(a->r, buf + done, n - done);
      if (k == 0) {
        sched_yield();
      }
      done += k;
    }
    next += n;
  }
  a->count = next - 1;
  return NULL;
}

static void *consumer(void *p) {
  stress_arg *a = p;
  uintptr_t expect = 1;
  void *buf[STRESS_MAXB];
  while (expect <= STRESS_ITEMS) {
    uint32_t n = rnd(&a->seed) % STRESS_MAXB + 1;
    uint32_t k;
    if (n == 1) {
      k = wt_spsc_dequeue(a->r, &buf[0]) == 0;
    } else {
      k = wt_spsc_dequeue_burst(a->r, buf, n);
    }
    if (k == 0) {
      sched_yield();
      continue;
    }
    for (uint32_t i = 0; i < k; i++) {
      if (buf[i] != ITEM(expect + i) && a->errors++ < 5) {
        fprintf(stderr, "order: got %" PRIuPTR " expected %" PRIuPTR "\n", (uintptr_t)buf[i],
                expect + i);
      }
    }
    expect += k;
  }
  a->count = expect - 1;
  return NULL;
}

static void watchdog(int sig) {
  (void)sig;
  static const char msg[] = "test_spsc: watchdog: stress test exceeded time limit\n";
  ssize_t w = write(2, msg, sizeof(msg) - 1);
  (void)w;
  _exit(1);
}

static void stress(uint32_t capacity) {
  static wt_spsc r; /* static: keeps the 64-byte alignment without aligned_alloc */
  CHECK_FATAL(wt_spsc_init(&r, capacity) == 0);
  stress_arg pa = {.r = &r, .seed = 0x9e3779b9u ^ capacity};
  stress_arg ca = {.r = &r, .seed = 0x7f4a7c15u ^ capacity};
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  pthread_t pt, ct;
  CHECK_FATAL(pthread_create(&ct, NULL, consumer, &ca) == 0);
  CHECK_FATAL(pthread_create(&pt, NULL, producer, &pa) == 0);
  pthread_join(pt, NULL);
  pthread_join(ct, NULL);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
  fprintf(stderr, "  capacity %u: %u items in %.2f s\n", capacity, STRESS_ITEMS, secs);
  CHECK_EQ(pa.count, STRESS_ITEMS);
  CHECK_EQ(ca.count, STRESS_ITEMS);
  CHECK_EQ(ca.errors, 0);
  CHECK_EQ(wt_spsc_count(&r), 0);
  void *extra;
  CHECK_EQ(wt_spsc_dequeue(&r, &extra), WT_ERR_AGAIN);
  wt_spsc_free(&r);
}

static void test_two_threads(void) {
  signal(SIGALRM, watchdog);
  alarm(WATCHDOG_SECS);
  stress(64);   /* often full: exercises the producer's refresh of head */
  stress(1024); /* the common size */
  alarm(0);
}

int main(void) {
  WT_RUN(test_init_errors);
  WT_RUN(test_layout);
  WT_RUN(test_fifo_single);
  WT_RUN(test_burst_partial);
  WT_RUN(test_wrap_bursts);
  WT_RUN(test_wrap_many);
  WT_RUN(test_two_threads);
  WT_DONE();
}
