/* check.h: the unit-test harness (header only, no dependencies).
 *
 * A test file defines `static void test_xxx(void)` functions and a main()
 * that runs them with WT_RUN(test_xxx); WT_DONE() ends main and returns the
 * exit status. A failed CHECK prints file:line and the expression, counts the
 * failure and goes on (so one run shows every failure); CHECK_FATAL returns
 * from the current test function. */
#ifndef WT_CHECK_H
#define WT_CHECK_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int wt_check_failures;
static int wt_check_count;

#define CHECK(cond)                                                                                \
  do {                                                                                             \
    wt_check_count++;                                                                              \
    if (!(cond)) {                                                                                 \
      wt_check_failures++;                                                                         \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);                     \
    }                                                                                              \
  } while (0)

#define CHECK_FATAL(cond)                                                                          \
  do {                                                                                             \
    wt_check_count++;                                                                              \
    if (!(cond)) {                                                                                 \
      wt_check_failures++;                                                                         \
      fprintf(stderr, "%s:%d: CHECK failed (fatal): %s\n", __FILE__, __LINE__, #cond);             \
      return;                                                                                      \
    }                                                                                              \
  } while (0)

#define CHECK_EQ(a, b)                                                                             \
  do {                                                                                             \
    wt_check_count++;                                                                              \
    uint64_t wt_a_ = (uint64_t)(a), wt_b_ = (uint64_t)(b);                                         \
    if (wt_a_ != wt_b_) {                                                                          \
      wt_check_failures++;                                                                         \
      fprintf(stderr, "%s:%d: CHECK_EQ failed: %s == %s (0x%" PRIx64 " != 0x%" PRIx64 ")\n",       \
              __FILE__, __LINE__, #a, #b, wt_a_, wt_b_);                                           \
    }                                                                                              \
  } while (0)

#define CHECK_MEM(a, b, n) CHECK(memcmp((a), (b), (n)) == 0)

#define WT_RUN(fn)                                                                                 \
  do {                                                                                             \
    int wt_before_ = wt_check_failures;                                                            \
    fn();                                                                                          \
    fprintf(stderr, "%-6s %s\n", wt_check_failures == wt_before_ ? "ok" : "FAIL", #fn);            \
  } while (0)

#define WT_DONE()                                                                                  \
  do {                                                                                             \
    fprintf(stderr, "%d checks, %d failed\n", wt_check_count, wt_check_failures);                  \
    return wt_check_failures ? 1 : 0;                                                              \
  } while (0)

#endif
