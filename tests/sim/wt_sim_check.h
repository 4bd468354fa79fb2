/* wt_sim_check.h: for unit tests (tests/unit/check.h) that use wt_sim.h.
 * Include once, after check.h; call wt_sim_check_install() at the start of
 * main(): a failed check inside the harness then counts (and prints) as a
 * failed CHECK of the test, which goes on. */
#ifndef WT_SIM_CHECK_H
#define WT_SIM_CHECK_H

#include "check.h"
#include "wt_sim.h"

static void wt_sim_check_failed(const char *file, int line, const char *expr) {
  wt_check_count++;
  wt_check_failures++;
  fprintf(stderr, "%s:%d: CHECK failed (harness): %s\n", file, line, expr);
}

static inline void wt_sim_check_install(void) {
  wt_sim_set_check(wt_sim_check_failed);
}

#endif
