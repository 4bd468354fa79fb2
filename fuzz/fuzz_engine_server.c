/* fuzz_engine_server.c: whole UDP datagrams into a server wt_engine
 * (core/wt_engine.h): QUIC packet parsing and decryption, the TLS handshake,
 * HTTP/3, the extended CONNECT, WebTransport streams, capsules and
 * datagrams, timers.
 *
 * Input format: fuzz_engine_common.h. Each input runs against a new engine
 * (created and deleted per input, so state never grows across inputs);
 * wolfSSL is seeded deterministically (fuzz_detrand.h) and the clock is
 * fixed, so the handshakes recorded by gen_seeds in
 * fuzz/corpus/engine_server/ replay byte for byte and the fuzzer mutates
 * from deep states (the datagram order, duplicates, truncation, coalesced
 * and unprotected header bytes, the timing of timers). Oracles: the
 * sanitizers, wt_engine_recv/handle_expiry returning 0, and the output
 * batch contract (fuzz_server_step). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "fuzz_engine_common.h"
#include "fuzz_util.h"
#include "wt_log.h"

/* WTCAST_FUZZ_SKIP_EMPTY=1 skips zero-length datagrams: a way to keep
 * fuzzing past the known crash in fuzz/regressions/engine_server/ until it is
 * fixed. tools/test never sets it. */
static int g_skip_empty;

static void log_discard(void *ctx, int level, const char *module, const char *msg, size_t len) {}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  const char *cert, *key;
  /* Bad input is logged by design; keep the fuzzer's output readable. */
  if (getenv("WTCAST_FUZZ_VERBOSE") == NULL) {
    wt_log_set_sink(log_discard, NULL);
  }
  const char *skip = getenv("WTCAST_FUZZ_SKIP_EMPTY");
  g_skip_empty = skip && skip[0] == '1';
  if (fuzz_engine_files(&cert, &key) != 0) {
    fprintf(stderr, "fuzz_engine_server: cannot write the test certificate\n");
    abort();
  }
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  wt_engine *e = fuzz_server_new();
  FUZZ_CHECK(e != NULL);
  uint64_t now = FUZZ_T0_NS;
  size_t off = 0;
  while (off + 2 <= size) {
    uint16_t h = (uint16_t)(data[off] << 8 | data[off + 1]);
    off += 2;
    if (h & 0x8000) {
      now += (uint64_t)(h & 0x7fff) * 1000000u;
      fuzz_server_step(e, NULL, 0, now, NULL, NULL);
      continue;
    }
    size_t len = h < size - off ? h : size - off;
    if (len == 0 && g_skip_empty) {
      continue;
    }
    now += FUZZ_STEP_NS;
    fuzz_server_step(e, data + off, len, now, NULL, NULL);
    off += len;
  }
  /* Let the connections end (idle timeout, close) before the engine goes. */
  now += UINT64_C(60) * 1000000000u;
  fuzz_server_step(e, NULL, 0, now, NULL, NULL);
  wt_engine_del(e);
  return 0;
}
