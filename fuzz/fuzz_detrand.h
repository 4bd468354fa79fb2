/* fuzz_detrand.h: deterministic seeding of wolfSSL for the engine harnesses.
 *
 * wolfSSL seeds each WC_RNG (wc_InitRng) from /dev/urandom in
 * wc_GenerateSeed. Linked with -Wl,--wrap=open,--wrap=read,--wrap=close
 * (fuzz/CMakeLists.txt), opening /dev/urandom hands out a descriptor whose
 * reads come from a generator seeded by (the current stream, how many
 * /dev/urandom opens that stream made since the last reset). Every other
 * file goes to the real calls. With the clock also fixed, a server engine
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
