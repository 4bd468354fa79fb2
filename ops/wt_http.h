/* wt_http.h: a small HTTP/1.1 listener (libmicrohttpd) for side content:
 * the demo page, its configuration, later /metrics.
 *
 * It runs on libmicrohttpd's own internal thread (epoll when available), so
 * it never touches a shard's loop. Only GET and HEAD are served (anything
 * else: 405 with "Allow: GET, HEAD"); an unknown path is 404. The number of
 * connections, the idle timeout and the size of a dynamic reply are bounded
 * (wt_http_config). Every route is an exact path match (no prefixes).
 *
 * Slow and idle clients: a connection is accepted only while its source
 * address (an IPv4 address, an IPv6 /64) has fewer than max_conns_per_ip
 * connections and the listener fewer than max_conns: one host holding
 * sockets open (idle, or trickling a request) takes its own share and no
 * more, so another client (the Prometheus server scraping /metrics) still
 * gets in. A refused connection is closed at once, logged (rate-limited)
 * and counted (refused_per_ip, refused_limit). timeout_s closes a
 * connection on which nothing arrived for that long (libmicrohttpd's
 * inactivity timeout: a request trickled byte by byte keeps it, which the
 * per-address share bounds).
 *
 * Two kinds of routes:
 *   - static: bytes that live at least as long as the listener (e.g. the
 *     demo page embedded into the binary), with their content type;
 *   - dynamic: a handler called on the HTTP thread for every request, which
 *     fills a wt_http_reply. The handler must be safe to call from that
 *     thread while the rest of the process runs (read-only data, atomics or
 *     its own lock).
 * Routes may be added at any time (a lock guards the table); a path added
 * twice is WT_ERR_STATE.
 *
 * Threads: the listener's thread is named cfg.thread_name ("wt-http").
 * Signals: the listener's thread blocks every signal, so process signals
 * (SIGTERM, SIGUSR1, ...) keep reaching whoever waits for them. */
#ifndef WT_HTTP_H
#define WT_HTTP_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

typedef struct wt_http wt_http;

typedef struct wt_http_config {
  const char *listen; /* "a.b.c.d:PORT" or "[ipv6]:PORT"; port 0 picks a free one (required) */
  uint32_t max_conns; /* concurrent connections at most (default 64) */
  uint32_t max_conns_per_ip; /* ... from one address (IPv4, IPv6 /64) at most (default 8;
                                at most max_conns) */
  uint32_t timeout_s;        /* close a connection idle for this long (default 5 s) */
  uint32_t max_routes;       /* routes at most (default 32) */
  size_t max_reply_bytes;    /* largest dynamic reply body (default 1 MiB); more is a 500 */
  const char *thread_name;   /* the listener thread's name (ps -T, top -H; at most 15
                                bytes; default "wt-http"; NULL = unnamed) */
} wt_http_config;

void wt_http_config_default(wt_http_config *c);

/* What a dynamic handler fills. status defaults to 200 and content_type to
 * "text/plain; charset=utf-8" (a string that must outlive the call: a
 * literal). any_origin != 0 adds "Access-Control-Allow-Origin: *" (for a
 * public value pages of any origin may read). The body is built with the
 * two functions below. */
typedef struct wt_http_reply {
  int status;
  const char *content_type;
  int any_origin;
  /* private: the body being built */
  char *body;
  size_t len, cap, max;
  int overflow;
} wt_http_reply;

/* Append bytes / formatted text to the body. 0, or WT_ERR_LIMIT when the
 * body would exceed max_reply_bytes (the request then fails with 500), or
 * WT_ERR_NOMEM. */
int wt_http_reply_append(wt_http_reply *r, const void *data, size_t len);
int wt_http_reply_printf(wt_http_reply *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int wt_http_reply_vprintf(wt_http_reply *r, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

/* A dynamic handler. path is the request path (no query), query the raw
 * query string after '?' ("" when none; not percent-decoded). Return 0 to
 * send the reply, a negative WT_ERR_* code to answer 500 instead. */
typedef int (*wt_http_handler_fn)(void *arg, const char *path, const char *query,
                                  wt_http_reply *out);

/* Counters (read with wt_http_counters_get; monotonic). */
typedef struct wt_http_counters {
  uint64_t requests;       /* requests answered (any status) */
  uint64_t errors;         /* of which answered with status >= 400 */
  uint64_t not_found;      /* 404 */
  uint64_t bad_method;     /* 405 */
  uint64_t handler_errors; /* 500: a handler failed or its reply was too large */
  uint64_t refused_per_ip; /* connections closed at accept: their address had max_conns_per_ip */
  uint64_t refused_limit;  /* connections closed at accept: the listener had max_conns */
} wt_http_counters;

/* Bind cfg->listen and start the listener thread. On failure returns
 * WT_ERR_INVAL (bad config or address), WT_ERR_IO (cannot bind or start:
 * why says which), WT_ERR_NOMEM, with why filled (NUL-terminated, cap
 * bytes) and nothing left running. */
int wt_http_new(wt_http **out, const wt_http_config *cfg, char *why, size_t cap);

/* Serve data (len bytes, not copied: it must outlive h) at path with the
 * given content type (a literal or otherwise long-lived string).
 * 0, WT_ERR_INVAL (path not starting with '/'), WT_ERR_LIMIT (max_routes),
 * WT_ERR_STATE (path already routed), WT_ERR_NOMEM. */
int wt_http_static(wt_http *h, const char *path, const char *content_type, const void *data,
                   size_t len);

/* Call fn(arg, ...) for every request of path. Same errors as wt_http_static. */
int wt_http_route(wt_http *h, const char *path, wt_http_handler_fn fn, void *arg);

/* The bound port (the real one when the config asked for port 0). */
uint16_t wt_http_port(const wt_http *h);

void wt_http_counters_get(const wt_http *h, wt_http_counters *out);

/* Stop the thread (waits for it), close every connection, free. NULL is a
 * no-op. */
void wt_http_del(wt_http *h);

#endif
