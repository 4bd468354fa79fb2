/* wt_sim_check.h: for unit tests (tests/unit/check.h) that use wt_sim.h.
 * Include it instead of check.h and start main() with wt_sim_test_init: a
 * failed check inside the harness then counts (and prints) as a failed
 * CHECK of the test, which goes on. */
#ifndef WT_SIM_CHECK_H
#define WT_SIM_CHECK_H

#include "check.h"
#include "wt_log.h"
#include "wt_sim.h"

static void wt_sim_check_failed(const char *file, int line, const char *expr) {
  wt_check_count++;
  wt_check_failures++;
  fprintf(stderr, "%s:%d: CHECK failed (harness): %s\n", file, line, expr);
}

/* Harness checks count as CHECKs; WT_TEST_VERBOSE set: debug logging;
 * certs (if not NULL): n certificates (wt_sim_certs_make). Returns 0, or -1
 * (said on stderr) when the certificates cannot be made. */
static inline int wt_sim_test_init(wt_sim_certs *certs, int n) {
  wt_sim_set_check(wt_sim_check_failed);
  if (getenv("WT_TEST_VERBOSE")) {
    wt_log_set_level(WT_LOG_LEVEL_DEBUG);
  }
  if (certs && wt_sim_certs_make(certs, n) != 0) {
    fprintf(stderr, "cannot create a test certificate\n");
    return -1;
  }
  return 0;
}

#endif
