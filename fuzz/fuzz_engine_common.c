/* fuzz_engine_common.c: see fuzz_engine_common.h. */
#define _GNU_SOURCE
#include "fuzz_engine_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz_cert.h"
#include "fuzz_detrand.h"
#include "fuzz_util.h"
#include "wt_sim.h"

static char g_dir[256], g_cert[300], g_key[300];

static void remove_files(void) {
  unlink(g_cert);
  unlink(g_key);
  rmdir(g_dir);
}

static int write_file(const char *path, const char *s) {
  FILE *f = fopen(path, "w");
  if (f == NULL) {
    return -1;
  }
  size_t n = strlen(s);
  int ok = fwrite(s, 1, n, f) == n;
  return fclose(f) == 0 && ok ? 0 : -1;
}

int fuzz_engine_files(const char **cert, const char **key) {
  if (g_dir[0] == 0) {
    const char *tmp = getenv("TMPDIR");
    snprintf(g_dir, sizeof(g_dir), "%s/wtfuzz.XXXXXX", tmp && strlen(tmp) < 200 ? tmp : "/tmp");
    if (mkdtemp(g_dir) == NULL) {
      g_dir[0] = 0;
      return -1;
    }
    snprintf(g_cert, sizeof(g_cert), "%s/cert.pem", g_dir);
    snprintf(g_key, sizeof(g_key), "%s/key.pem", g_dir);
    atexit(remove_files);
    if (write_file(g_cert, fuzz_cert_pem) != 0 || write_file(g_key, fuzz_key_pem) != 0) {
      return -1;
    }
  }
  *cert = g_cert;
  *key = g_key;
  return 0;
}

/* The addresses of tests/sim (wt_sim.h): server 127.0.0.1:4433, the first
 * client 127.0.0.1:50000. */
void fuzz_engine_path(wt_path *to_server) {
  wt_sim_addr(&to_server->local, "127.0.0.1", 4433);
  wt_sim_addr(&to_server->remote, "127.0.0.1", 50000);
}

/* ------------------------------------------------------------ echo app */

static int app_request(void *user, wt_session *s, const wt_request *req) {
  FUZZ_CHECK(req != NULL);
  return req->path && strncmp(req->path, "/echo", 5) == 0 ? 200 : 404;
}

static void app_stream_data(void *user, wt_stream *st, const uint8_t *data, size_t len, int fin) {
  if (wt_stream_is_bidi(st)) {
    (void)wt_stream_write(st, data, len, fin); /* what does not fit is dropped */
  }
}

static void app_datagram(void *user, wt_session *s, const uint8_t *data, size_t len) {
  if (len == 3 && memcmp(data, "bye", 3) == 0) {
    (void)wt_session_close(s, 0x77, (const uint8_t *)"bye", 3);
    return;
  }
  (void)wt_session_send_datagram(s, data, len);
}

static const uint8_t g_secret[32] = {0x77, 0x74, 0x63, 0x61, 0x73, 0x74, 0x2d, 0x66,
                                     0x75, 0x7a, 0x7a, 1,    2,    3,    4,    5};

static wt_engine *server_new(void) {
  const char *cert, *key;
  if (fuzz_engine_files(&cert, &key) != 0) {
    return NULL;
  }
  wt_engine_config c;
  wt_engine_config_default(&c, 1);
  c.cert_file = cert;
  c.key_file = key;
  c.shard_id = 0;
  c.n_shards = 1;
  c.static_secret = g_secret;
  c.max_conns = 8;
  c.stream_send_buffer = 64 * 1024;
  /* Small session flow-control limits (draft-14/16 clients): an input soon
   * reaches both the waiting and the overrun paths. */
  c.wt_initial_max_data = 2048;
  c.wt_initial_max_streams_bidi = 4;
  c.wt_initial_max_streams_uni = 4;
  wt_engine_callbacks cb;
  memset(&cb, 0, sizeof(cb));
  cb.session_request = app_request;
  cb.stream_data = app_stream_data;
  cb.datagram = app_datagram;
  fuzz_detrand_reset();
  fuzz_detrand_select(FUZZ_DETRAND_SERVER);
  wt_engine *e = NULL;
  if (wt_engine_new(&e, &c, &cb, NULL, FUZZ_T0_NS) != 0) {
    return NULL;
  }
  return e;
}

wt_engine *fuzz_server_new(void) {
  static int warm;
  if (!warm) {
    /* The first engine of a process also initializes wolfSSL's globals,
     * which draws seeds of its own; do that once, outside the recording. */
    wt_engine *e = server_new();
    if (e == NULL) {
      return NULL;
    }
    wt_engine_del(e);
    warm = 1;
  }
  return server_new();
}

void fuzz_server_step(wt_engine *e, const uint8_t *pkt, size_t len, uint64_t now, wt_sim_out_fn out,
                      void *arg) {
  static const wt_sim_tx tx = {.cap = 32 * 1500, .max = 32, .max_segments = 8};
  fuzz_detrand_select(FUZZ_DETRAND_SERVER);
  if (pkt) {
    wt_path p;
    fuzz_engine_path(&p);
    FUZZ_CHECK(wt_engine_recv(e, &p, pkt, len, 0, now) == 0);
  }
  if (wt_engine_next_expiry(e) <= now) {
    FUZZ_CHECK(wt_engine_handle_expiry(e, now) == 0);
  }
  /* the output contract is checked there (a failed check aborts) */
  FUZZ_CHECK(wt_sim_drain(e, now, &tx, out, arg) >= 0);
}
