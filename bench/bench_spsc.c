/* bench_spsc.c: SPSC ring throughput between two pinned threads.
 *
 *   bench_spsc [--items N] [--runs R]
 *
 * For burst sizes 1, 8 and 32 over a 1024-slot ring, a producer thread on
 * CPU 0 pushes N pointers and a consumer on CPU 1 pops them, R times; prints
 * each run's items/s and the median. Burst size 1 uses the single-item
 * inline calls. Measures only; asserts nothing. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "wt_spsc.h"

#define RING_CAPACITY 1024u
#define MAX_BURST     32u
#define MAX_RUNS      101

typedef struct {
  wt_spsc *ring;
  uint64_t items;
  uint32_t burst;
  int cpu;
  pthread_barrier_t *start;
  uint64_t sum; /* consumer: checksum, so the work cannot be optimised out */
} side;

static int pin_failed;

static void pin(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  int rc = pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
  if (rc != 0) {
    if (__atomic_exchange_n(&pin_failed, 1, __ATOMIC_RELAXED) == 0) {
      fprintf(stderr, "bench_spsc: warning: cannot pin to CPU %d (%s); running unpinned\n", cpu,
              strerror(rc));
    }
  }
}

static void *producer(void *p) {
  side *s = p;
  pin(s->cpu);
  void *buf[MAX_BURST];
  pthread_barrier_wait(s->start);
  uint64_t next = 1;
  if (s->burst == 1) {
    while (next <= s->items) {
      if (wt_spsc_enqueue(s->ring, (void *)(uintptr_t)next) == 0) {
        next++;
      }
    }
    return NULL;
  }
  while (next <= s->items) {
    uint64_t left = s->items - next + 1;
    uint32_t n = left < s->burst ? (uint32_t)left : s->burst;
    for (uint32_t i = 0; i < n; i++) {
      buf[i] = (void *)(uintptr_t)(next + i);
    }
    uint32_t done = 0;
    while (done < n) {
      done += wt_spsc_enqueue_burst(s->ring, buf + done, n - done);
    }
    next += n;
  }
  return NULL;
}

static void *consumer(void *p) {
  side *s = p;
  pin(s->cpu);
  void *buf[MAX_BURST];
  uint64_t got = 0, sum = 0;
  pthread_barrier_wait(s->start);
  if (s->burst == 1) {
    while (got < s->items) {
      void *item;
      if (wt_spsc_dequeue(s->ring, &item) == 0) {
        sum += (uintptr_t)item;
        got++;
      }
    }
  } else {
    while (got < s->items) {
      uint32_t k = wt_spsc_dequeue_burst(s->ring, buf, s->burst);
      for (uint32_t i = 0; i < k; i++) {
        sum += (uintptr_t)buf[i];
      }
      got += k;
    }
  }
  s->sum = sum;
  return NULL;
}

static double now_sec(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double run_once(uint32_t burst, uint64_t items) {
  static wt_spsc ring; /* static keeps the 64-byte alignment */
  if (wt_spsc_init(&ring, RING_CAPACITY) != 0) {
    fprintf(stderr, "bench_spsc: wt_spsc_init failed\n");
    exit(1);
  }
  pthread_barrier_t start;
  pthread_barrier_init(&start, NULL, 3);
  side prod = {.ring = &ring, .items = items, .burst = burst, .cpu = 0, .start = &start};
  side cons = {.ring = &ring, .items = items, .burst = burst, .cpu = 1, .start = &start};
  pthread_t pt, ct;
  if (pthread_create(&ct, NULL, consumer, &cons) != 0 ||
      pthread_create(&pt, NULL, producer, &prod) != 0) {
    fprintf(stderr, "bench_spsc: pthread_create failed\n");
    exit(1);
  }
  pthread_barrier_wait(&start);
  double t0 = now_sec();
  pthread_join(pt, NULL);
  pthread_join(ct, NULL);
  double t1 = now_sec();
  pthread_barrier_destroy(&start);
  wt_spsc_free(&ring);
  if (cons.sum != items * (items + 1) / 2) {
    fprintf(stderr, "bench_spsc: warning: checksum mismatch\n");
  }
  return (double)items / (t1 - t0);
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static void usage(void) {
  fprintf(stderr, "usage: bench_spsc [--items N] [--runs R]\n");
  exit(2);
}

int main(int argc, char **argv) {
  uint64_t items = 20000000;
  int runs = 5;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--items") == 0 && i + 1 < argc) {
      char *end;
      errno = 0;
      items = strtoull(argv[++i], &end, 10);
      if (errno != 0 || *end != '\0' || items == 0) {
        usage();
      }
    } else if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc) {
      runs = atoi(argv[++i]);
      if (runs < 1 || runs > MAX_RUNS) {
        usage();
      }
    } else {
      usage();
    }
  }
  static const uint32_t bursts[] = {1, 8, 32};
  long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
  printf("bench_spsc: ring capacity %u, %" PRIu64 " items per run, %d runs, producer CPU 0, "
         "consumer CPU 1 (%ld CPUs online)\n",
         RING_CAPACITY, items, runs, ncpu);
  for (size_t b = 0; b < sizeof(bursts) / sizeof(bursts[0]); b++) {
    double rate[MAX_RUNS];
    printf("burst %2u:", bursts[b]);
    fflush(stdout);
    for (int r = 0; r < runs; r++) {
      rate[r] = run_once(bursts[b], items);
      printf(" %.1fM", rate[r] / 1e6);
      fflush(stdout);
    }
    qsort(rate, (size_t)runs, sizeof(rate[0]), cmp_double);
    double median = runs % 2 ? rate[runs / 2] : (rate[runs / 2 - 1] + rate[runs / 2]) / 2;
    printf("  items/s; median %.1fM items/s\n", median / 1e6);
  }
  if (pin_failed) {
    printf("note: threads ran unpinned (see warning above)\n");
  }
  return 0;
}
