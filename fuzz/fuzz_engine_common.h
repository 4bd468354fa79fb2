/* fuzz_engine_common.h: the server engine as fuzz_engine_server drives it,
 * shared with gen_seeds (which records the seed corpus) so that both make
 * exactly the same calls. Addresses and output draining are the engine
 * harness's (tests/sim/wt_sim.h).
 *
 * Input format (fuzz/corpus/engine_server/): a sequence of records, each a
 * 2-byte big-endian header h then
 *   h < 0x8000: a UDP datagram of h bytes (fewer if the input ends) from the
 *               fixed client address; the clock advances FUZZ_STEP_NS first;
 *   h >= 0x8000: no payload; the clock advances (h & 0x7fff) ms (timers:
 *               loss recovery, idle, close).
 * After each record the server runs due timers and writes everything it has
 * (the output is discarded, or handed to a callback in gen_seeds). */
#ifndef FUZZ_ENGINE_COMMON_H
#define FUZZ_ENGINE_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include "wt_engine.h"
#include "wt_sim.h"

#define FUZZ_T0_NS   (UINT64_C(1000) * 1000000000u)
#define FUZZ_STEP_NS UINT64_C(1000000)

/* Write the test certificate and key into a temporary directory (once per
 * process; removed at exit). Returns 0 or -1. */
int fuzz_engine_files(const char **cert, const char **key);

/* The fixed client and server addresses. */
void fuzz_engine_path(wt_path *to_server);

/* A new server engine at FUZZ_T0_NS with a freshly reset deterministic
 * RNG, running a tiny echo application (/echo accepted, anything else 404).
 * Returns NULL on failure. */
wt_engine *fuzz_server_new(void);

/* Deliver one datagram (pkt may be NULL: a clock-only record), run due
 * timers, and drain the output with wt_sim_drain (tests/sim/wt_sim.h: it
 * checks the output contract; each packet to out, if not NULL). */
void fuzz_server_step(wt_engine *e, const uint8_t *pkt, size_t len, uint64_t now, wt_sim_out_fn out,
                      void *arg);

#endif
