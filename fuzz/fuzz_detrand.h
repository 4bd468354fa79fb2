/* fuzz_detrand.h: deterministic seeding of wolfSSL for the engine harnesses.
 *
 * wolfSSL seeds each WC_RNG (wc_InitRng) in wc_GenerateSeed: with one
 * getrandom call (WOLFSSL_GETRANDOM, tools/deps), else from /dev/urandom.
 * Linked with -Wl,--wrap=open,--wrap=read,--wrap=close,--wrap=getrandom
 * (fuzz/CMakeLists.txt), a getrandom call, or opening /dev/urandom, starts
 * a generator seeded by (the current stream, how many seeds that stream
 * took since the last reset) that fills the call (or the descriptor's
 * reads). Every other file goes to the real calls. With the clock also fixed, a server engine
 * created after fuzz_detrand_reset() makes the same random choices (CIDs,
 * TLS randoms and key shares, tokens) each time, so a recorded client
 * handshake replays against it byte for byte. For fuzzing only. */
#ifndef FUZZ_DETRAND_H
#define FUZZ_DETRAND_H

#include <stdint.h>

#define FUZZ_DETRAND_SERVER  0
#define FUZZ_DETRAND_CLIENT  1
#define FUZZ_DETRAND_STREAMS 2

/* Attribute the next /dev/urandom opens to stream who (< FUZZ_DETRAND_STREAMS). */
void fuzz_detrand_select(uint32_t who);

/* Restart every stream's open counter (call before creating an engine). */
void fuzz_detrand_reset(void);

#endif
