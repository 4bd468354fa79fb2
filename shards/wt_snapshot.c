/* wt_snapshot.c: adding snapshots up (see wt_snapshot.h). */
#include "wt_snapshot.h"

/* acc[i] += s[i] over a struct made of uint64_t counters only. */
#define ADD_U64S(acc, s)                                                                           \
  do {                                                                                             \
    _Static_assert(sizeof(*(acc)) % sizeof(uint64_t) == 0, "counters only");                       \
    uint64_t *a_ = (uint64_t *)(void *)(acc);                                                      \
    const uint64_t *b_ = (const uint64_t *)(const void *)(s);                                      \
    for (size_t i_ = 0; i_ < sizeof(*(acc)) / sizeof(uint64_t); i_++) {                            \
      a_[i_] += b_[i_];                                                                            \
    }                                                                                              \
  } while (0)

void wt_snapshot_add(wt_snapshot *acc, const wt_snapshot *s) {
  if (s->uptime_ms > acc->uptime_ms) {
    acc->uptime_ms = s->uptime_ms;
  }
  ADD_U64S(&acc->engine, &s->engine);
  ADD_U64S(&acc->io, &s->io);
  ADD_U64S(&acc->app, &s->app);
  ADD_U64S(&acc->app_counters, &s->app_counters);
  ADD_U64S(&acc->loop, &s->loop);
  ADD_U64S(&acc->fwd, &s->fwd);
  ADD_U64S(&acc->links, &s->links);
}
