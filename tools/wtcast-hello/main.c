/* wtcast-hello: embedding wtcast with an application of your own.
 *
 * A complete program around the public API (include/wtcast/: wt_app.h,
 * wt_server.h): one module whose init hook registers one route, /hello
 * (called for every shard's router, for lookups, and for every application
 * worker's router, where the app runs), and a server with no other
 * module (so the built-in apps are not there). Per session
 * /hello:
 *   - opens a server bidi stream carrying "server-bidi-hello" and a server
 *     uni stream carrying "server-uni-hello" (each + FIN);
 *   - answers each datagram with "hello, " + the datagram;
 *   - closes the session with code 7 and reason "bye" 50 ms after it opened.
 * Each worker keeps its own counter (per-worker state, no locks).
 *
 *   wtcast-hello --listen 127.0.0.1:4433 --cert cert.pem --key key.pem
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wt_app.h"
#include "wt_error.h"
#include "wt_server.h"

typedef struct hello_worker {
  uint64_t sessions; /* this worker's sessions (its thread only) */
} hello_worker;

static hello_worker g_workers[WT_SERVER_MAX_WORKERS];

static void hello_close_timer(void *arg) {
  wt_app_session *as = arg;
  wt_app_close_session(as, 7, (const uint8_t *)"bye", 3);
}

static void hello_send(wt_app_session *as, int bidi, const char *text) {
  wt_app_stream *st;
  if (wt_app_open_stream(as, bidi, &st) == 0) {
    wt_app_stream_write(st, (const uint8_t *)text, strlen(text), 1);
  }
}

static void hello_open(wt_app_session *as) {
  hello_worker *hw = wt_app_session_arg(as);
  hw->sessions++;
  hello_send(as, 1, "server-bidi-hello");
  hello_send(as, 0, "server-uni-hello");
  uint64_t id;
  if (wt_app_timer_add(wt_app_session_ctx(as), 50ull * 1000 * 1000, hello_close_timer, as, &id) ==
      0) {
    wt_app_session_set_user(as, (void *)(uintptr_t)id);
  }
}

static void hello_session_close(wt_app_session *as, uint32_t code, const uint8_t *reason,
                                size_t len, int clean) {
  /* the timer must not fire for a session that is gone */
  uint64_t id = (uint64_t)(uintptr_t)wt_app_session_get_user(as);
  if (id) {
    wt_app_timer_cancel(wt_app_session_ctx(as), id);
  }
}

static void hello_stream_close(wt_app_stream *st) {
  (void)st;
}

static void hello_datagram(wt_app_session *as, const uint8_t *data, size_t len) {
  uint8_t out[1500];
  static const char prefix[] = "hello, ";
  size_t n = sizeof(prefix) - 1;
  if (len > sizeof(out) - n) {
    len = sizeof(out) - n;
  }
  memcpy(out, prefix, n);
  memcpy(out + n, data, len);
  wt_app_send_datagram(as, out, n + len);
}

static const wt_app_ops hello_ops = {
    .name = "hello",
    .session_open = hello_open,
    .session_close = hello_session_close,
    .stream_close = hello_stream_close,
    .datagram = hello_datagram,
};

static int hello_init(void *arg, wt_app_router *r, int on_worker, uint32_t index, void **state) {
  (void)arg;
  (void)state;
  return wt_app_router_add(r, "/hello", &hello_ops, on_worker ? &g_workers[index] : NULL);
}

static const wt_app_module hello_module = {.name = "hello", .init = hello_init};

static void usage(void) {
  fprintf(stderr, "usage: wtcast-hello --listen ADDR:PORT --cert FILE --key FILE [--workers N] "
                  "[--io auto|uring|portable]\n");
  exit(2);
}

int main(int argc, char **argv) {
  const wt_app_module *mods[] = {&hello_module};
  wt_server_config sc;
  wt_server_config_default(&sc);
  sc.modules = mods;
  sc.n_modules = 1;
  for (int i = 1; i < argc; i++) {
    if (i + 1 >= argc) {
      usage();
    }
    if (!strcmp(argv[i], "--listen")) {
      sc.listen = argv[++i];
    } else if (!strcmp(argv[i], "--cert")) {
      sc.cert_file = argv[++i];
    } else if (!strcmp(argv[i], "--key")) {
      sc.key_file = argv[++i];
    } else if (!strcmp(argv[i], "--io")) {
      const char *v = argv[++i];
      sc.io = !strcmp(v, "uring")      ? WT_SERVER_IO_URING
              : !strcmp(v, "portable") ? WT_SERVER_IO_PORTABLE
                                       : WT_SERVER_IO_AUTO;
    } else if (!strcmp(argv[i], "--workers")) {
      sc.shards = (uint32_t)strtoul(argv[++i], NULL, 10);
    } else {
      usage();
    }
  }
  if (!sc.listen || !sc.cert_file || !sc.key_file) {
    usage();
  }
  char why[256];
  wt_server *srv;
  int rv = wt_server_new(&srv, &sc, why, sizeof(why));
  if (rv < 0) {
    fprintf(stderr, "wtcast-hello: %s\n", why);
    return 1;
  }
  char addr[64];
  wt_server_address(srv, addr, sizeof(addr));
  printf("listening on %s\n", addr);
  fflush(stdout);
  rv = wt_server_run(srv);
  wt_server_del(srv);
  uint64_t total = 0;
  for (int i = 0; i < WT_SERVER_MAX_WORKERS; i++) {
    total += g_workers[i].sessions;
  }
  fprintf(stderr, "wtcast-hello: %llu session(s) served\n", (unsigned long long)total);
  return rv < 0 ? 1 : 0;
}
