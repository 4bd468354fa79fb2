/* test_errmap.c: WebTransport <-> HTTP/3 application error code mapping. */
#include "check.h"
#include "wt_errmap.h"
#include "wt_error.h"

static uint64_t rng_state = UINT64_C(0x9e3779b97f4a7c15);

static uint64_t rng(void) {
  /* xorshift64*: deterministic for a fixed seed. */
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return rng_state * UINT64_C(0x2545f4914f6cdd1d);
}

static void test_constants(void) {
  CHECK_EQ(WT_BUFFERED_STREAM_REJECTED, 0x3994bd84);
  CHECK_EQ(WT_SESSION_GONE, 0x170d7b68);
  CHECK_EQ(WT_FLOW_CONTROL_ERROR, 0x045d4487);
  CHECK_EQ(WT_APP_ERR_FIRST, UINT64_C(0x52e4a40fa8db));
  CHECK_EQ(WT_APP_ERR_LAST, UINT64_C(0x52e5ac983162));
}

static void test_end_points(void) {
  uint32_t n = 12345;
  CHECK_EQ(wt_errmap_app_to_h3(0), WT_APP_ERR_FIRST);
  CHECK_EQ(wt_errmap_app_to_h3(0xffffffffu), WT_APP_ERR_LAST);
  CHECK_EQ(wt_errmap_h3_to_app(WT_APP_ERR_FIRST, &n), 0);
  CHECK_EQ(n, 0);
  CHECK_EQ(wt_errmap_h3_to_app(WT_APP_ERR_LAST, &n), 0);
  CHECK_EQ(n, 0xffffffffu);
}

static void test_check_values(void) {
  uint32_t n = 0;
  CHECK_EQ(wt_errmap_app_to_h3(0x1d), UINT64_C(0x52e4a40fa8f8));
  CHECK_EQ(wt_errmap_app_to_h3(0x1e), UINT64_C(0x52e4a40fa8fa));
  /* The point between them is GREASE. */
  CHECK(wt_errmap_is_grease(UINT64_C(0x52e4a40fa8f9)));
  CHECK_EQ(wt_errmap_h3_to_app(UINT64_C(0x52e4a40fa8f9), &n), WT_ERR_RANGE);
  CHECK_EQ(wt_errmap_h3_to_app(UINT64_C(0x52e4a40fa8f8), &n), 0);
  CHECK_EQ(n, 0x1d);
  CHECK_EQ(wt_errmap_h3_to_app(UINT64_C(0x52e4a40fa8fa), &n), 0);
  CHECK_EQ(n, 0x1e);
}

static void test_grease_points_rejected(void) {
  /* Every GREASE point in a window at each end of the range, and count them:
   * one per 0x1f codes. */
  uint64_t starts[2] = {WT_APP_ERR_FIRST, WT_APP_ERR_LAST - 5000};
  for (int w = 0; w < 2; w++) {
    int grease = 0;
    for (uint64_t h = starts[w]; h <= starts[w] + 5000; h++) {
      uint32_t n = 0xabcdef;
      if ((h - 0x21) % 0x1f == 0) {
        grease++;
        CHECK_EQ(wt_errmap_h3_to_app(h, &n), WT_ERR_RANGE);
        CHECK_EQ(n, 0xabcdef); /* untouched */
      } else {
        CHECK_EQ(wt_errmap_h3_to_app(h, &n), 0);
      }
    }
    CHECK(grease >= 5001 / 0x1f && grease <= 5001 / 0x1f + 1);
  }
  /* No n ever maps onto a GREASE point (spot sweep). */
  for (uint32_t n = 0; n < 100000; n++) {
    CHECK(!wt_errmap_is_grease(wt_errmap_app_to_h3(n)));
  }
}

static void test_outside_range(void) {
  uint32_t n = 7;
  CHECK_EQ(wt_errmap_h3_to_app(WT_APP_ERR_FIRST - 1, &n), WT_ERR_RANGE);
  CHECK_EQ(wt_errmap_h3_to_app(WT_APP_ERR_LAST + 1, &n), WT_ERR_RANGE);
  CHECK_EQ(wt_errmap_h3_to_app(0, &n), WT_ERR_RANGE);
  CHECK_EQ(wt_errmap_h3_to_app(0x10c, &n), WT_ERR_RANGE); /* H3_REQUEST_CANCELLED */
  CHECK_EQ(wt_errmap_h3_to_app(WT_SESSION_GONE, &n), WT_ERR_RANGE);
  CHECK_EQ(wt_errmap_h3_to_app(UINT64_MAX, &n), WT_ERR_RANGE);
  CHECK_EQ(n, 7);
}

static void test_random_round_trips(void) {
  int bad = 0;
  for (int i = 0; i < 100000; i++) {
    uint32_t n = (uint32_t)rng(), back = 0;
    uint64_t h = wt_errmap_app_to_h3(n);
    if (h < WT_APP_ERR_FIRST || h > WT_APP_ERR_LAST || wt_errmap_h3_to_app(h, &back) != 0 ||
        back != n) {
      bad++;
    }
  }
  CHECK_EQ(bad, 0);
}

static void test_inverse_sweep(void) {
  /* Over consecutive h: every valid h maps to n with app_to_h3(n) == h, and
   * the valid h values map to consecutive n values. */
  uint64_t starts[3] = {WT_APP_ERR_FIRST, WT_APP_ERR_FIRST + UINT64_C(0x80000000),
                        WT_APP_ERR_LAST - 200000};
  for (int w = 0; w < 3; w++) {
    int have_prev = 0, bad = 0;
    uint32_t prev = 0;
    for (uint64_t h = starts[w]; h <= starts[w] + 200000 && h <= WT_APP_ERR_LAST; h++) {
      uint32_t n;
      if (wt_errmap_h3_to_app(h, &n) != 0) {
        continue;
      }
      if (wt_errmap_app_to_h3(n) != h || (have_prev && n != prev + 1)) {
        bad++;
      }
      prev = n;
      have_prev = 1;
    }
    CHECK_EQ(bad, 0);
  }
}

int main(void) {
  WT_RUN(test_constants);
  WT_RUN(test_end_points);
  WT_RUN(test_check_values);
  WT_RUN(test_grease_points_rejected);
  WT_RUN(test_outside_range);
  WT_RUN(test_random_round_trips);
  WT_RUN(test_inverse_sweep);
  WT_DONE();
}
