/* test_held.c: what a stream's unacknowledged referenced bytes hold
 * (shards/wt_held.h), the measure of the relay's subscriber lag bound
 * (wt_bridge.c member_backlog, issue 17).
 *
 * The bound is checked as the bridge does before each mirrored write:
 * held + wt_held_cost(...) > bound. One-byte slices each in its own 16 KiB
 * buffer (one-byte groups) hit a 64 KiB bound after 4 slices (the bound
 * at buffer capacity, not at 65536 bytes); one-byte slices of one buffer
 * hold that buffer once; full-buffer slices count exactly their payload
 * (as the payload bound did); acknowledgements give back whole runs only,
 * in order, across the ring's growth and wrap-around. */
#include <stdint.h>

#include "check.h"
#include "wt_held.h"

#define CAP   16384u
#define BOUND 65536u

/* Slices of len bytes until the next would pass BOUND; returns how many
 * were taken. key(i) is the buffer of slice i. */
static uint32_t fill_to_bound(wt_held *h, const uint8_t *bufs, uint32_t per_buf, uint32_t len,
                              uint64_t *end) {
  uint32_t n = 0;
  for (;;) {
    const void *key = bufs + (n / per_buf);
    if (wt_held_total(h) + wt_held_cost(h, key, CAP) > BOUND || n > 1000000) {
      return n;
    }
    *end += len;
    CHECK(wt_held_add(h, key, CAP, *end) >= 0);
    n++;
  }
}

static uint8_t g_bufs[100000];

static void test_one_byte_per_buffer(void) {
  wt_held h;
  wt_held_init(&h);
  uint64_t end = 0;
  CHECK_EQ(fill_to_bound(&h, g_bufs, 1, 1, &end), BOUND / CAP); /* 4 bytes, 64 KiB held */
  CHECK_EQ(end, 4);
  CHECK_EQ(wt_held_total(&h), BOUND);
  /* the peer acknowledges 2 bytes: 2 buffers go home */
  CHECK_EQ(wt_held_ack(&h, 2), 2 * CAP);
  CHECK_EQ(wt_held_total(&h), 2 * CAP);
  CHECK_EQ(fill_to_bound(&h, g_bufs + 10, 1, 1, &end), 2);
  wt_held_free(&h);
}

static void test_one_buffer_many_slices(void) {
  wt_held h;
  wt_held_init(&h);
  uint64_t end = 0;
  for (uint32_t i = 0; i < CAP; i++) { /* one byte at a time, one buffer */
    end++;
    CHECK_EQ(wt_held_add(&h, g_bufs, CAP, end), i == 0 ? CAP : 0);
  }
  CHECK_EQ(wt_held_total(&h), CAP);
  CHECK_EQ(h.n, 1);
  CHECK_EQ(wt_held_ack(&h, CAP - 1), 0); /* one byte still unacknowledged: pinned */
  CHECK_EQ(wt_held_ack(&h, CAP), CAP);
  CHECK_EQ(wt_held_total(&h), 0);
  /* nothing held: the same address is a new buffer (the old one may be
   * gone and its memory reused) */
  CHECK_EQ(wt_held_cost(&h, g_bufs, CAP), CAP);
  wt_held_free(&h);
}

static void test_full_buffers(void) {
  wt_held h;
  wt_held_init(&h);
  uint64_t end = 0;
  /* as the payload bound: 4 full buffers = 64 KiB of payload */
  CHECK_EQ(fill_to_bound(&h, g_bufs, 1, CAP, &end), BOUND / CAP);
  CHECK_EQ(end, BOUND);
  CHECK_EQ(wt_held_total(&h), end);
  wt_held_free(&h);
}

static void test_ring(void) {
  wt_held h;
  wt_held_init(&h);
  uint64_t end = 0, acked = 0;
  uint32_t next = 0, live = 0;
  for (int round = 0; round < 50; round++) {
    for (int i = 0; i < 7 + round % 5; i++) { /* 2 slices per buffer */
      end += 3;
      int64_t c = wt_held_add(&h, g_bufs + next / 2, 100 + next / 2, end);
      CHECK_EQ(c, next % 2 ? 0 : 100 + next / 2);
      live += next % 2 ? 0 : 1;
      next++;
    }
    /* acknowledge all but the last 9 bytes: runs end every 6 bytes */
    uint64_t to = end - 9;
    uint64_t want = 0;
    for (uint64_t r = acked / 6; (r + 1) * 6 <= to && r < next / 2; r++) {
      want += 100 + r;
      live--;
    }
    acked = (to / 6) * 6;
    CHECK_EQ(wt_held_ack(&h, to), want);
    CHECK_EQ(h.n, live);
  }
  uint64_t sum = 0;
  for (uint32_t r = (uint32_t)(acked / 6); r < (next + 1) / 2; r++) {
    sum += 100 + r;
  }
  CHECK_EQ(wt_held_total(&h), sum);
  CHECK_EQ(wt_held_ack(&h, end), sum);
  CHECK_EQ(wt_held_total(&h), 0);
  wt_held_free(&h);
}

int main(void) {
  WT_RUN(test_one_byte_per_buffer);
  WT_RUN(test_one_buffer_many_slices);
  WT_RUN(test_full_buffers);
  WT_RUN(test_ring);
  WT_DONE();
}
