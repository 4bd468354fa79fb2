/* worker.c: one load thread of wtcast-bench: its own client engine, its
 * own UDP socket and its share of the sessions (one QUIC connection each).
 * The loop is that of every client program: ticks, then one turn of the
 * engine pump (client/wt_pump.h: wt_engine_write → wt_io_send → wt_io_wait →
 * wt_io_recv → wt_engine_recv → timers). */
#define WT_LOG_MODULE "bench"

#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "wt_keylog.h"
#include "wt_log.h"

#define WB_RX_SLICE      (250 * 1000) /* ns of handshake work before sending (as the shard) */
#define WB_PAT_LEN       (251 * 256)
#define WB_HS_TIMEOUT    (5 * WB_S)   /* one handshake attempt */
#define WB_OPEN_TIMEOUT  (10 * WB_S)  /* a long-lived session to open */
#define WB_DG_STALL_NS   (50 * WB_MS) /* flood: window full this long = presumed lost */
#define WB_PUB_BURST     256          /* fan-out messages per loop turn at most */
#define WB_KEEPALIVE_NS  (10 * WB_S)  /* idle: a datagram this often keeps NATs/timeouts away */
#define WB_MIXED_HS      4            /* mixed: handshake slots per thread */
#define WB_MIXED_DG_RATE 1000         /* mixed: datagrams/s per thread (without --rate) */

/* Session roles. */
enum { WB_K_HS, WB_K_DOWN, WB_K_UP, WB_K_ECHO, WB_K_DG, WB_K_PUB, WB_K_SUB, WB_K_IDLE };
enum { WB_S_FREE, WB_S_CONNECTING, WB_S_OPEN, WB_S_DONE, WB_S_FAILED };

static uint8_t wb_pat[WB_PAT_LEN]; /* byte i = i % 251 (the /source pattern) */

typedef struct wb_sess wb_sess;

/* Per-stream state (the stream's user pointer); every one is on its
 * thread's list so wt_engine_del (no callbacks) leaks none. */
typedef struct wb_strm {
  struct wb_strm *prev, *next;
  wb_sess *s;
  uint32_t gen; /* s->gen when created: a reused slot is not this stream's session */
  uint64_t tx, rx, want;
  uint8_t hdr[WB_MSG_HDR];
  int blocked, fin_sent, counted;
} wb_strm;

struct wb_sess {
  struct wb_w *w;
  int kind, state;
  uint32_t gen;
  wt_conn *wc;
  wt_session *ws;
  uint64_t t_start, deadline;
  int measured; /* handshake: attempt started while measuring */
  int reset0;   /* CONNECT reset before a reply (session_refused 0) */
  uint64_t echo_rx;
  /* datagrams */
  uint64_t dg_seq, dg_next, dg_inflight, dg_last_rx, dg_interval;
  /* bulk */
  uint32_t nstreams;
  uint64_t keepalive;
};

typedef struct wb_w {
  wb_thread *t;
  wb_run *run;
  const wb_opts *o;
  const wb_target *tg;
  wt_engine *eng;
  FILE *keylog; /* SSLKEYLOGFILE, or NULL */
  wt_io *io;
  wt_pump pump; /* drives eng over io */
  wt_path path;
  size_t max_udp_payload;
  wb_sess *sess;
  uint32_t nsess;
  wb_strm strms; /* list head */
  int phase;
  uint64_t bytes_total, bytes_at_measure;
  int measuring_bytes;
  wt_io_stats io_at_measure; /* the datapath's counters when MEASURE began */
  uint64_t waits, waits_rx, waits_at_measure, waits_rx_at_measure;
  uint64_t count_share, hs_started_measured;
  uint64_t dl_size; /* bytes of one /source transfer */
  int count_done_flagged, drained_flagged;
  uint64_t connecting, max_connecting;
  char path_buf[3][600]; /* CONNECT paths by role */
  /* fan-out publisher */
  uint64_t pub_next, pub_interval, pub_seq;
  uint8_t *msg;
  size_t msg_cap;
} wb_w;

void wb_pattern_init(void) {
  for (size_t i = 0; i < WB_PAT_LEN; i++) {
    wb_pat[i] = (uint8_t)(i % 251);
  }
}

uint64_t wb_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * WB_S + (uint64_t)ts.tv_nsec;
}

void wb_error(wb_thread *t, const char *fmt, ...) {
  t->c.errors++;
  atomic_fetch_add_explicit(&t->run->progress_errors, 1, memory_order_relaxed);
  if (t->nerr_texts++ == 0) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t->err, sizeof(t->err), fmt, ap);
    va_end(ap);
  }
}

static void put64(uint8_t *p, uint64_t v) {
  for (int i = 0; i < 8; i++) {
    p[i] = (uint8_t)(v >> (8 * i));
  }
}

static uint64_t get64(const uint8_t *p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; i++) {
    v |= (uint64_t)p[i] << (8 * i);
  }
  return v;
}

static uint64_t wb_min(uint64_t a, uint64_t b) {
  return a < b ? a : b;
}

/* ------------------------------------------------------------------ streams */

static wb_strm *strm_new(wb_sess *s) {
  wb_strm *x = calloc(1, sizeof(*x));
  if (!x) {
    return NULL;
  }
  wb_w *w = s->w;
  x->s = s;
  x->gen = s->gen;
  x->next = w->strms.next;
  x->prev = &w->strms;
  w->strms.next->prev = x;
  w->strms.next = x;
  return x;
}

static void strm_del(wb_strm *x) {
  x->prev->next = x->next;
  x->next->prev = x->prev;
  free(x);
}

static wb_sess *strm_sess(wb_strm *x) {
  return x && x->s && x->s->gen == x->gen && x->s->ws ? x->s : NULL;
}

/* ------------------------------------------------------------------ sessions */

static const char *sess_path(wb_w *w, int kind) {
  switch (kind) {
  case WB_K_DOWN:
    return w->path_buf[0];
  case WB_K_UP:
    return w->path_buf[1];
  case WB_K_PUB:
  case WB_K_SUB:
    return kind == WB_K_PUB ? w->path_buf[2] : w->path_buf[2] + strlen(w->path_buf[2]) + 1;
  default:
    return "/echo";
  }
}

/* Start a connection + CONNECT for s. */
static void sess_start(wb_sess *s, uint64_t now) {
  wb_w *w = s->w;
  s->gen++;
  s->state = WB_S_CONNECTING;
  s->t_start = now;
  s->deadline = now + (s->kind == WB_K_HS ? WB_HS_TIMEOUT : WB_OPEN_TIMEOUT);
  s->echo_rx = 0;
  s->reset0 = 0;
  s->nstreams = 0;
  s->dg_inflight = 0;
  s->measured = w->phase == WB_PH_MEASURE;
  s->wc = NULL;
  s->ws = NULL;
  w->connecting++;
  if (s->kind == WB_K_HS && s->measured) {
    w->t->c.attempted++;
    w->hs_started_measured++;
  }
  char full[900];
  const char *p = sess_path(w, s->kind);
  snprintf(full, sizeof(full), "%s%s", w->tg->base_path, p);
  int r = wt_engine_connect(w->eng, &w->path, w->tg->u.host, now, &s->wc);
  if (r == 0) {
    wt_conn_set_user(s->wc, s);
    r = wt_conn_open_session(s->wc, w->tg->u.authority, full, NULL, &s->ws);
    if (r == 0) {
      wt_session_set_user(s->ws, s);
      return;
    }
  }
  wb_error(w->t, "cannot start a connection: %s", wt_err_str(r));
  s->state = WB_S_FAILED;
  w->connecting--;
  if (s->wc) {
    wt_conn_set_user(s->wc, NULL);
    wt_conn_close(s->wc, WT_H3_NO_ERROR);
    s->wc = NULL;
  }
  s->ws = NULL;
  if (s->kind == WB_K_HS && s->measured) {
    w->t->c.failed++;
  }
}

/* Detach s from its connection and close it (no callbacks reach s after). */
static void sess_drop(wb_sess *s) {
  wt_conn *wc = s->wc;
  if (s->ws) {
    wt_session_set_user(s->ws, NULL);
  }
  s->ws = NULL;
  s->wc = NULL;
  s->gen++;
  if (wc) {
    wt_conn_set_user(wc, NULL);
    wt_conn_close(wc, WT_H3_NO_ERROR);
  }
}

/* The session (or its connection) went away before we were done with it. */
static void sess_lost(wb_sess *s, const char *why) {
  wb_w *w = s->w;
  int was = s->state;
  if (was == WB_S_CONNECTING) {
    w->connecting--;
  }
  sess_drop(s);
  s->state = WB_S_FAILED;
  if (s->kind == WB_K_HS) {
    if (s->measured) {
      w->t->c.failed++;
      wb_error(w->t, "handshake failed: %s", why);
    }
    s->state = WB_S_DONE; /* the slot starts the next attempt */
    return;
  }
  if (was == WB_S_CONNECTING) {
    w->t->c.sessions_failed++;
    if (s->kind == WB_K_SUB || s->kind == WB_K_IDLE) {
      atomic_fetch_add(&w->run->sessions_settled, 1);
    }
  } else {
    w->t->c.sessions_lost++;
    if (s->kind == WB_K_SUB || s->kind == WB_K_IDLE) {
      atomic_fetch_sub(&w->run->sessions_open, 1);
    }
  }
  if (w->phase < WB_PH_QUIT) {
    wb_error(w->t, "%s session %s: %s", s->kind == WB_K_SUB ? "subscriber" : "a",
             was == WB_S_CONNECTING ? "did not open" : "was lost", why);
  }
}

static void strm_write_pattern(wb_strm *x, wt_stream *st) {
  wb_sess *s = strm_sess(x);
  if (!s || x->fin_sent) {
    return;
  }
  while (x->tx < x->want) {
    size_t off = (size_t)(x->tx % 251);
    uint64_t left = x->want - x->tx;
    size_t n = (size_t)wb_min(left, WB_PAT_LEN - 251);
    int fin = n == left;
    int r = wt_stream_write(st, wb_pat + off, n, fin);
    if (r == WT_ERR_AGAIN) {
      x->blocked = 1;
      return;
    }
    if (r < 0) {
      return; /* reset or stopped: the session callbacks tell */
    }
    x->tx += (uint64_t)r;
    if (s->kind == WB_K_UP) {
      s->w->bytes_total += (uint64_t)r; /* upload: bytes the stream took */
    }
    if (fin && (size_t)r == n) {
      x->fin_sent = 1;
      return;
    }
    if ((size_t)r < n) {
      x->blocked = 1;
      return;
    }
  }
}

static void sess_open_streams(wb_sess *s) {
  wb_w *w = s->w;
  const wb_opts *o = w->o;
  uint64_t want = o->have_size ? o->size : WB_UNBOUNDED;
  while (s->nstreams < o->streams) {
    wt_stream *st = NULL;
    /* upload uses bidi streams too: /sink takes both, and Deno never
     * delivers a client uni stream to its application (2.9.6) */
    int r = wt_session_open_stream(s->ws, 1, &st);
    if (r == WT_ERR_AGAIN) {
      return; /* stream credit: retried from the tick */
    }
    if (r < 0) {
      wb_error(w->t, "cannot open a stream: %s", wt_err_str(r));
      s->nstreams = o->streams;
      return;
    }
    wb_strm *x = strm_new(s);
    if (!x) {
      wb_error(w->t, "out of memory");
      wt_stream_reset(st, 0);
      return;
    }
    x->want = want;
    wt_stream_set_user(st, x);
    s->nstreams++;
    strm_write_pattern(x, st);
  }
}

static int dg_send(wb_sess *s, uint64_t now) {
  wb_w *w = s->w;
  size_t len = w->o->size;
  put64(w->msg, s->dg_seq++);
  put64(w->msg + 8, now);
  w->msg[16] = w->phase == WB_PH_MEASURE;
  int r = wt_session_send_datagram(s->ws, w->msg, len);
  if (r == 0) {
    s->dg_inflight++;
  }
  if (w->phase == WB_PH_MEASURE) {
    if (r == 0) {
      w->t->c.dg_sent++;
    } else {
      w->t->c.dg_send_fail++;
    }
  }
  return r;
}

/* Fan-out publisher: one message (datagram, or one uni stream + FIN). */
static void pub_send(wb_sess *s, uint64_t now) {
  wb_w *w = s->w;
  size_t len = w->o->size;
  int measured = w->phase == WB_PH_MEASURE;
  put64(w->msg, w->pub_seq++);
  put64(w->msg + 8, now);
  w->msg[16] = (uint8_t)measured;
  int r;
  if (w->o->transport == WB_TX_DATAGRAM) {
    r = wt_session_send_datagram(s->ws, w->msg, len);
  } else {
    wt_stream *st = NULL;
    r = wt_session_open_stream(s->ws, 0, &st);
    if (r == 0) {
      r = wt_stream_write(st, w->msg, len, 1);
      r = r == (int)len ? 0 : (r < 0 ? r : WT_ERR_AGAIN);
      if (r < 0) {
        wt_stream_reset(st, 0);
      }
    }
  }
  if (!measured) {
    return;
  }
  if (r == 0) {
    w->t->c.published++;
    atomic_fetch_add_explicit(&w->run->pub_seq_measured, 1, memory_order_relaxed);
  } else {
    w->t->c.publish_fail++;
  }
}

/* A fan-out message or echoed datagram header arrived. */
static void msg_rx(wb_sess *s, const uint8_t *hdr, uint64_t now) {
  wb_w *w = s->w;
  uint64_t ts = get64(hdr + 8);
  if (!hdr[16]) {
    return; /* sent outside the measurement */
  }
  uint64_t lat = now > ts ? now - ts : 0;
  if (s->kind == WB_K_SUB) {
    w->t->c.delivered++;
    if (w->phase >= WB_PH_DRAIN) {
      w->t->c.delivered_late++;
    }
  } else {
    w->t->c.dg_received++;
  }
  wt_samples_add(&w->t->c.rtt, lat);
  atomic_fetch_add_explicit(&w->run->progress_ops, 1, memory_order_relaxed);
}

/* ------------------------------------------------------------------ callbacks */

static void cb_session_open(void *user, wt_session *ws) {
  wb_sess *s = wt_session_get_user(ws);
  if (!s) {
    return;
  }
  wb_w *w = s->w;
  w->connecting--;
  s->state = WB_S_OPEN;
  uint64_t now = wb_now();
  switch (s->kind) {
  case WB_K_HS: {
    wt_stream *st = NULL;
    int r = wt_session_open_stream(ws, 1, &st);
    if (r == 0) {
      wb_strm *x = strm_new(s);
      if (x) {
        x->want = WB_ECHO_MSG;
        wt_stream_set_user(st, x);
        strm_write_pattern(x, st);
        return;
      }
      r = WT_ERR_NOMEM;
    }
    sess_lost(s, wt_err_str(r));
    return;
  }
  case WB_K_DOWN:
  case WB_K_IDLE:
  case WB_K_SUB:
  case WB_K_PUB:
    w->t->c.sessions_opened++;
    if (s->kind == WB_K_SUB || s->kind == WB_K_IDLE) {
      atomic_fetch_add(&w->run->sessions_open, 1);
      atomic_fetch_add(&w->run->sessions_settled, 1);
    }
    if (s->kind == WB_K_PUB || s->kind == WB_K_SUB) {
      if (w->o->transport == WB_TX_DATAGRAM && wt_session_max_datagram(ws) < w->o->size) {
        wb_error(w->t, "--size %" PRIu64 " exceeds the datagram limit %zu", w->o->size,
                 wt_session_max_datagram(ws));
      }
    }
    s->keepalive = now + WB_KEEPALIVE_NS;
    return;
  case WB_K_UP:
  case WB_K_ECHO:
    w->t->c.sessions_opened++;
    sess_open_streams(s);
    return;
  case WB_K_DG:
    w->t->c.sessions_opened++;
    if (wt_session_max_datagram(ws) < w->o->size) {
      wb_error(w->t, "--size %" PRIu64 " exceeds the datagram limit %zu", w->o->size,
               wt_session_max_datagram(ws));
    }
    s->dg_next = now;
    s->dg_last_rx = now;
    return;
  default:
    return;
  }
}

static void cb_session_close(void *user, wt_session *ws, uint32_t code, const uint8_t *reason,
                             size_t reason_len, int clean) {
  wb_sess *s = wt_session_get_user(ws);
  if (!s) {
    return;
  }
  s->ws = NULL;
  char why[80];
  snprintf(why, sizeof(why), "session closed by the server (code %u, %s)", code,
           clean ? "clean" : "reset");
  sess_lost(s, why);
}

static void cb_session_refused(void *user, wt_session *ws, int status) {
  wb_sess *s = wt_session_get_user(ws);
  if (!s) {
    return;
  }
  s->ws = NULL;
  if (status == 0) {
    /* reset before a reply: usually the connection is going down, and its
     * conn_close (same engine call) tells why; else the tick fails it */
    s->reset0 = 1;
    s->deadline = wb_now();
    return;
  }
  char why[64];
  snprintf(why, sizeof(why), "CONNECT refused (status %d)", status);
  sess_lost(s, why);
}

static void cb_conn_close(void *user, wt_conn *c, uint64_t error_code, int is_app) {
  wb_sess *s = wt_conn_get_user(c);
  if (!s || s->wc != c) {
    return;
  }
  s->wc = NULL;
  if (s->ws) {
    wt_session_set_user(s->ws, NULL);
    s->ws = NULL;
  }
  char why[160];
  if (!is_app && error_code == 0x2) { /* CONNECTION_REFUSED */
    /* RFC 9000 section 20.1: the server is at a connection limit (wtcast:
     * --max-conns-per-ip or --max-conns, docs/operations.md) */
    snprintf(why, sizeof(why),
             "connection refused by the server (transport error 0x2 CONNECTION_REFUSED: a "
             "connection limit, e.g. wtcast's --max-conns-per-ip)");
  } else {
    snprintf(why, sizeof(why), "connection closed (%s error 0x%" PRIx64 ")",
             is_app ? "application" : "transport", error_code);
  }
  sess_lost(s, why);
}

static void cb_stream_open(void *user, wt_session *ws, wt_stream *st) {
  wb_sess *s = wt_session_get_user(ws);
  if (!s) {
    return;
  }
  wb_strm *x = strm_new(s);
  if (!x) {
    wb_error(s->w->t, "out of memory");
    wt_stream_stop_sending(st, 0);
    return;
  }
  wt_stream_set_user(st, x);
}

static void hs_done(wb_sess *s, uint64_t now) {
  wb_w *w = s->w;
  if (s->measured) {
    w->t->c.completed++;
    wt_samples_add(&w->t->c.hs_lat, now - s->t_start);
    atomic_fetch_add_explicit(&w->run->progress_ops, 1, memory_order_relaxed);
  }
  sess_drop(s);
  s->state = WB_S_DONE;
}

static int pat_ok(uint64_t off, const uint8_t *d, size_t len) {
  while (len) {
    size_t k = (size_t)(off % 251);
    size_t n = len < WB_PAT_LEN - k ? len : WB_PAT_LEN - k;
    if (memcmp(d, wb_pat + k, n) != 0) {
      return 0;
    }
    d += n;
    len -= n;
    off += n;
  }
  return 1;
}

static void cb_stream_data(void *user, wt_stream *st, const uint8_t *data, size_t len, int fin) {
  wb_strm *x = wt_stream_get_user(st);
  wb_sess *s = strm_sess(x);
  if (!s) {
    return;
  }
  wb_w *w = s->w;
  uint64_t now = wb_now();
  switch (s->kind) {
  case WB_K_HS:
    if (!pat_ok(x->rx, data, len)) {
      w->t->c.corrupt++;
      wb_error(w->t, "handshake echo: wrong bytes");
    }
    x->rx += len;
    if (x->rx >= WB_ECHO_MSG) {
      hs_done(s, now);
    }
    return;
  case WB_K_DOWN:
  case WB_K_ECHO:
    if (!pat_ok(x->rx, data, len)) {
      w->t->c.corrupt++;
      wb_error(w->t, "%s: bytes differ from the pattern at offset %" PRIu64,
               s->kind == WB_K_DOWN ? "download" : "echo", x->rx);
    }
    x->rx += len;
    w->bytes_total += len;
    if (s->kind == WB_K_DOWN && x->rx >= w->dl_size && !x->counted) {
      x->counted = 1; /* Deno never sends FIN: the byte count ends the transfer */
      if (w->phase == WB_PH_MEASURE) {
        w->t->c.streams_done++;
      }
      sess_drop(s);
      s->state = WB_S_DONE; /* the tick opens the next /source session */
    } else if (s->kind == WB_K_ECHO && w->o->have_size && x->rx >= w->o->size && !x->counted) {
      x->counted = 1;
      if (w->phase == WB_PH_MEASURE) {
        w->t->c.streams_done++;
      }
      s->nstreams--;
      sess_open_streams(s); /* the next stream of this session */
    }
    return;
  case WB_K_SUB: {
    size_t k = 0;
    if (x->rx < WB_MSG_HDR) {
      k = (size_t)wb_min(WB_MSG_HDR - x->rx, len);
      memcpy(x->hdr + x->rx, data, k);
    }
    x->rx += len;
    if (!x->counted && x->rx >= w->o->size && x->rx >= WB_MSG_HDR) {
      x->counted = 1;
      msg_rx(s, x->hdr, now);
      if (!fin) {
        wt_stream_stop_sending(st, 0); /* a peer that never FINs (Deno) */
      }
    }
    return;
  }
  default:
    return;
  }
}

static void cb_stream_writable(void *user, wt_stream *st) {
  wb_strm *x = wt_stream_get_user(st);
  if (x && x->blocked) {
    x->blocked = 0;
    strm_write_pattern(x, st);
  }
}

static void cb_stream_close(void *user, wt_stream *st) {
  wb_strm *x = wt_stream_get_user(st);
  if (!x) {
    return;
  }
  wt_stream_set_user(st, NULL);
  wb_sess *s = strm_sess(x);
  if (s && s->kind == WB_K_UP && x->fin_sent) {
    if (s->w->phase == WB_PH_MEASURE) {
      s->w->t->c.streams_done++;
    }
    s->nstreams--; /* the tick opens the next one */
  }
  strm_del(x);
}

static void cb_stream_reset(void *user, wt_stream *st, uint32_t code, int has_code) {
  wb_strm *x = wt_stream_get_user(st);
  wb_sess *s = strm_sess(x);
  if (s && s->kind != WB_K_SUB && s->w->phase < WB_PH_QUIT) {
    wb_error(s->w->t, "stream reset by the server (code %u)", code);
  }
}

static void cb_datagram(void *user, wt_session *ws, const uint8_t *data, size_t len) {
  wb_sess *s = wt_session_get_user(ws);
  if (!s || (s->kind != WB_K_DG && s->kind != WB_K_SUB)) {
    return;
  }
  uint64_t now = wb_now();
  if (len < WB_MSG_HDR || len != s->w->o->size) {
    if (s->kind == WB_K_DG && len == 4) {
      return; /* our keep-alive */
    }
    s->w->t->c.corrupt++;
    wb_error(s->w->t, "datagram of %zu bytes (expected %" PRIu64 ")", len, s->w->o->size);
    return;
  }
  if (s->kind == WB_K_DG) {
    s->dg_last_rx = now;
    if (s->dg_inflight) {
      s->dg_inflight--;
    }
  }
  msg_rx(s, data, now);
}

static void wb_callbacks(wt_engine_callbacks *cb) {
  memset(cb, 0, sizeof(*cb));
  cb->session_open = cb_session_open;
  cb->session_close = cb_session_close;
  cb->session_refused = cb_session_refused;
  cb->conn_close = cb_conn_close;
  cb->stream_open = cb_stream_open;
  cb->stream_data = cb_stream_data;
  cb->stream_writable = cb_stream_writable;
  cb->stream_close = cb_stream_close;
  cb->stream_reset = cb_stream_reset;
  cb->datagram = cb_datagram;
}

/* ------------------------------------------------------------------ set-up */

/* This thread's share of n (threads with a lower index take the rest). */
static uint32_t share(uint32_t n, uint32_t nthreads, uint32_t idx) {
  return n / nthreads + (idx < n % nthreads ? 1 : 0);
}

static int wb_plan(wb_w *w) {
  const wb_opts *o = w->o;
  wb_run *run = w->run;
  uint32_t T = run->nthreads, i = w->t->index;
  uint32_t n_hs = 0, n_bulk = 0, n_dg = 0, n_sub = 0, n_idle = 0, n_pub = 0;
  int bulk_kind = o->mode == WB_MODE_DOWNLOAD ? WB_K_DOWN
                  : o->mode == WB_MODE_UPLOAD ? WB_K_UP
                                              : WB_K_ECHO;
  switch (o->scenario) {
  case WB_SC_HANDSHAKE:
    n_hs = share(o->concurrency, T, i);
    break;
  case WB_SC_BULK:
    /* download: one /source stream per session, so N x M sessions */
    n_bulk = share(o->mode == WB_MODE_DOWNLOAD ? o->sessions * o->streams : o->sessions, T, i);
    break;
  case WB_SC_DATAGRAM:
    n_dg = share(o->sessions, T, i);
    break;
  case WB_SC_FANOUT:
    n_pub = i == 0;
    n_sub = share(o->subs, T, i);
    break;
  case WB_SC_IDLE:
    n_idle = share(o->sessions, T, i);
    break;
  case WB_SC_MIXED:
    n_hs = share(o->concurrency, T, i);
    n_bulk = share(o->sessions, T, i);
    n_dg = 1;
    break;
  default:
    break;
  }
  w->nsess = n_hs + n_bulk + n_dg + n_sub + n_idle + n_pub;
  w->sess = calloc(w->nsess ? w->nsess : 1, sizeof(*w->sess));
  if (!w->sess) {
    return WT_ERR_NOMEM;
  }
  uint32_t k = 0;
  for (uint32_t j = 0; j < n_pub; j++) {
    w->sess[k++].kind = WB_K_PUB;
  }
  for (uint32_t j = 0; j < n_sub; j++) {
    w->sess[k++].kind = WB_K_SUB;
  }
  for (uint32_t j = 0; j < n_hs; j++) {
    w->sess[k++].kind = WB_K_HS;
  }
  for (uint32_t j = 0; j < n_bulk; j++) {
    w->sess[k++].kind = o->scenario == WB_SC_MIXED ? WB_K_DOWN : bulk_kind;
  }
  for (uint32_t j = 0; j < n_dg; j++) {
    w->sess[k++].kind = WB_K_DG;
  }
  for (uint32_t j = 0; j < n_idle; j++) {
    w->sess[k++].kind = WB_K_IDLE;
  }
  uint64_t dl = o->scenario == WB_SC_MIXED || !o->have_size ? WB_UNBOUNDED : o->size;
  w->dl_size = dl;
  snprintf(w->path_buf[0], sizeof(w->path_buf[0]), "/source?bytes=%" PRIu64, dl);
  snprintf(w->path_buf[1], sizeof(w->path_buf[1]), "/sink");
  /* "/pub?ch=X\0/sub?ch=X" */
  int n = snprintf(w->path_buf[2], sizeof(w->path_buf[2]), "/pub?ch=%s", run->ch);
  snprintf(w->path_buf[2] + n + 1, sizeof(w->path_buf[2]) - (size_t)n - 1, "/sub?ch=%s", run->ch);
  for (uint32_t j = 0; j < w->nsess; j++) {
    w->sess[j].w = w;
    if (w->sess[j].kind == WB_K_SUB || w->sess[j].kind == WB_K_IDLE) {
      w->t->c.sessions_wanted++;
    }
  }
  /* pacing */
  uint64_t rate = o->rate;
  if (o->scenario == WB_SC_MIXED && !o->have_rate) {
    rate = WB_MIXED_DG_RATE * T;
  }
  for (uint32_t j = 0; j < w->nsess; j++) {
    wb_sess *s = &w->sess[j];
    if (s->kind == WB_K_DG) {
      uint64_t total = o->scenario == WB_SC_MIXED ? T : o->sessions;
      s->dg_interval = rate ? (WB_S * total) / rate : 0; /* 0 = flood with a window */
    }
  }
  w->pub_interval = o->rate ? WB_S / o->rate : 0;
  int msgs = o->scenario == WB_SC_DATAGRAM || o->scenario == WB_SC_FANOUT ||
             o->scenario == WB_SC_MIXED; /* bulk --size is bytes per stream */
  w->msg_cap = msgs && o->size > WB_MSG_HDR ? o->size : WB_MSG_HDR;
  w->msg = calloc(1, w->msg_cap);
  if (!w->msg) {
    return WT_ERR_NOMEM;
  }
  for (size_t j = WB_MSG_HDR; j < w->msg_cap; j++) {
    w->msg[j] = (uint8_t)(j * 31);
  }
  if (o->scenario == WB_SC_HANDSHAKE && o->count) {
    w->count_share = o->count / T + (i < o->count % T ? 1 : 0);
  }
  w->max_connecting = o->scenario == WB_SC_HANDSHAKE || o->scenario == WB_SC_MIXED
                          ? UINT64_MAX
                          : (o->concurrency ? o->concurrency : 64);
  return 0;
}

static int wb_setup(wb_w *w) {
  const wb_target *tg = w->tg;
  char err[200];
  int r = wt_pump_open_socket(&tg->u.peer, WT_IO_BACKEND_AUTO, &w->io, &w->path.local, err,
                              sizeof(err));
  if (r < 0) {
    wb_error(w->t, "%s", err);
    return r;
  }
  memcpy(&w->path.remote, &tg->u.peer, sizeof(w->path.remote));
  wt_engine_config ec;
  wt_engine_config_default(&ec, 0);
  wt_trust_apply(&tg->trust, &ec, 1);
  ec.max_conns = 1000000;
  ec.max_datagram_queue = 4096;
  ec.initial_max_streams_uni = 1000;
  ec.initial_max_streams_bidi = 1000;
  const char *keylog = getenv("SSLKEYLOGFILE"); /* debugging a peer: decrypt a capture */
  if (keylog) {
    w->keylog = wt_keylog_open(keylog);
    ec.keylog = w->keylog ? wt_keylog_write : NULL;
    ec.keylog_user = w->keylog;
  }
  ec.native_crypto = wt_engine_native_crypto_env(getenv("WTCAST_NATIVE_CRYPTO"));
  w->max_udp_payload = ec.max_udp_payload ? ec.max_udp_payload : 1452;
  wt_engine_callbacks cb;
  wb_callbacks(&cb);
  r = wt_engine_new(&w->eng, &ec, &cb, w, wb_now());
  if (r < 0) {
    w->eng = NULL;
    wb_error(w->t, "cannot create the engine: %s", wt_err_str(r));
    return r;
  }
  if (wt_pump_init(&w->pump, w->eng, w->io, w->max_udp_payload) < 0) {
    wb_error(w->t, "out of memory");
    return WT_ERR_NOMEM;
  }
  w->pump.rx.local = &w->path.local;
  w->pump.rx.slice_ns = WB_RX_SLICE; /* like the shard (wt_shard.c, rx_slice_ns) */
  return 0;
}

/* ------------------------------------------------------------------ loop */

static void phase_change(wb_w *w, int ph) {
  if (ph == WB_PH_MEASURE && w->phase == WB_PH_WARMUP) {
    w->bytes_at_measure = w->bytes_total;
    w->measuring_bytes = 1;
    w->io_at_measure = *wt_io_get_stats(w->io);
    w->waits_at_measure = w->waits;
    w->waits_rx_at_measure = w->waits_rx;
  }
  if (ph >= WB_PH_DRAIN && w->measuring_bytes) {
    wb_counts *c = &w->t->c;
    const wt_io_stats *st = wt_io_get_stats(w->io);
    c->bytes = w->bytes_total - w->bytes_at_measure;
    c->io_rx_packets = st->rx_packets - w->io_at_measure.rx_packets;
    c->io_rx_completions = st->rx_completions - w->io_at_measure.rx_completions;
    c->io_tx_packets = st->tx_packets - w->io_at_measure.tx_packets;
    c->io_syscalls = st->syscalls - w->io_at_measure.syscalls;
    c->waits = w->waits - w->waits_at_measure;
    c->waits_rx = w->waits_rx - w->waits_rx_at_measure;
    w->measuring_bytes = 0;
  }
  w->phase = ph;
}

/* Run the sessions; returns the next wake-up. */
static uint64_t wb_tick(wb_w *w, uint64_t now, int *inflight) {
  uint64_t wake = UINT64_MAX;
  const wb_opts *o = w->o;
  int starting = w->phase <= WB_PH_MEASURE;
  int fan_go = 1;
  if (o->scenario == WB_SC_FANOUT) {
    fan_go = atomic_load(&w->run->sessions_settled) >= o->subs;
  }
  *inflight = 0;
  for (uint32_t i = 0; i < w->nsess; i++) {
    wb_sess *s = &w->sess[i];
    switch (s->state) {
    case WB_S_FREE:
      if (s->kind == WB_K_PUB && !fan_go) {
        wake = wb_min(wake, now + WB_MS);
        break;
      }
      if (s->kind == WB_K_HS && w->count_share && w->hs_started_measured >= w->count_share &&
          w->phase == WB_PH_MEASURE) {
        break;
      }
      if (starting && w->connecting < w->max_connecting) {
        sess_start(s, now);
        wake = now;
      } else if (starting) {
        wake = wb_min(wake, now + WB_MS);
      }
      break;
    case WB_S_DONE:
      if (s->kind == WB_K_HS || s->kind == WB_K_DOWN) {
        s->state = WB_S_FREE; /* next attempt / next transfer */
        wake = now;
      }
      break;
    case WB_S_CONNECTING:
      if (s->kind == WB_K_HS && s->measured) {
        *inflight = 1;
      }
      if (now >= s->deadline) {
        sess_lost(s, s->reset0 ? "CONNECT stream reset before a reply" : "timeout");
        wake = now;
      } else {
        wake = wb_min(wake, s->deadline);
      }
      break;
    case WB_S_OPEN:
      if (s->kind == WB_K_HS) {
        if (s->measured) {
          *inflight = 1;
        }
        if (now >= s->deadline) {
          sess_lost(s, "timeout waiting for the echo");
          wake = now;
        } else {
          wake = wb_min(wake, s->deadline);
        }
      } else if (s->kind == WB_K_UP || s->kind == WB_K_ECHO) {
        if (s->nstreams < o->streams && starting) {
          sess_open_streams(s);
          wake = wb_min(wake, now + WB_MS);
        }
      } else if (s->kind == WB_K_DG) {
        if (!starting) {
          if (s->dg_inflight && now - s->dg_last_rx < 200 * WB_MS) {
            *inflight = 1;
          }
          break;
        }
        if (s->dg_interval) {
          uint32_t burst = 0;
          while (s->dg_next <= now && burst++ < 1024) {
            dg_send(s, now);
            s->dg_next += s->dg_interval;
          }
          if (s->dg_next + 100 * WB_MS < now) {
            s->dg_next = now; /* far behind (stopped?): no catch-up burst */
          }
          wake = wb_min(wake, s->dg_next);
        } else {
          if (s->dg_inflight >= o->window && now - s->dg_last_rx >= WB_DG_STALL_NS) {
            w->t->c.dg_window_stalls++;
            s->dg_inflight = 0; /* presumed lost: counted as lost at the end */
            s->dg_last_rx = now;
          }
          while (s->dg_inflight < o->window && dg_send(s, now) == 0) {
          }
          wake = wb_min(wake, now + WB_DG_STALL_NS);
        }
      } else if (s->kind == WB_K_PUB) {
        if (!starting || !fan_go) {
          break;
        }
        if (!w->pub_next) {
          w->pub_next = now;
        }
        uint32_t burst = 0;
        while (w->pub_next <= now && burst++ < WB_PUB_BURST) {
          pub_send(s, now);
          w->pub_next += w->pub_interval ? w->pub_interval : 1;
        }
        if (w->pub_next + 100 * WB_MS < now) {
          w->pub_next = now;
        }
        wake = wb_min(wake, w->pub_interval ? w->pub_next : now);
      } else if (s->kind == WB_K_IDLE || s->kind == WB_K_SUB) {
        if (now >= s->keepalive && s->ws && s->kind == WB_K_IDLE) {
          wt_session_send_datagram(s->ws, (const uint8_t *)"idle", 4);
          s->keepalive = now + WB_KEEPALIVE_NS;
        }
        wake = wb_min(wake, s->keepalive);
      }
      break;
    default:
      break;
    }
  }
  if (w->count_share && !w->count_done_flagged && w->hs_started_measured >= w->count_share &&
      !*inflight) {
    w->count_done_flagged = 1;
    atomic_fetch_add(&w->run->threads_count_done, 1);
  }
  return wake;
}

void *wb_worker(void *arg) {
  wb_thread *t = arg;
  wb_w *w = calloc(1, sizeof(*w));
  if (!w) {
    wb_error(t, "out of memory");
    atomic_fetch_add(&t->run->threads_drained, 1);
    atomic_fetch_add(&t->run->threads_count_done, 1);
    return NULL;
  }
  w->t = t;
  w->run = t->run;
  w->o = t->run->o;
  w->tg = t->run->t;
  w->strms.next = w->strms.prev = &w->strms;
  int ok = wb_plan(w) == 0 && wb_setup(w) == 0;
  if (!ok && !t->c.errors) {
    wb_error(t, "set-up failed");
  }
  uint64_t quit_at = 0;
  while (ok) {
    uint64_t now = wb_now();
    int ph = atomic_load_explicit(&w->run->phase, memory_order_acquire);
    if (ph != w->phase) {
      phase_change(w, ph);
    }
    if (w->phase == WB_PH_QUIT) {
      if (!quit_at) {
        quit_at = now;
        for (uint32_t i = 0; i < w->nsess; i++) {
          wb_sess *s = &w->sess[i];
          if (s->kind == WB_K_HS && s->measured &&
              (s->state == WB_S_CONNECTING || s->state == WB_S_OPEN)) {
            t->c.failed++;
            wb_error(t, "handshake still unfinished at the end of the run");
          }
          sess_drop(s);
          s->state = WB_S_DONE;
        }
      }
      if (now - quit_at > 20 * WB_MS || wt_engine_conn_count(w->eng) == 0) {
        wt_pump_tx_flush(&w->pump.tx, w->eng, w->io, now);
        break;
      }
    }
    int inflight = 0;
    uint64_t wake = w->phase == WB_PH_QUIT ? now + 5 * WB_MS : wb_tick(w, now, &inflight);
    if (w->phase == WB_PH_DRAIN && !inflight && !w->drained_flagged) {
      w->drained_flagged = 1;
      atomic_fetch_add(&w->run->threads_drained, 1);
    }
    wake = wb_min(wake, now + 20 * WB_MS); /* look at the phase often enough */
    int ev = wt_pump_turn(&w->pump, wake, now);
    if (ev < 0) {
      wb_error(t, "wait failed: %s", wt_err_str(ev));
      break;
    }
    if (w->pump.last_timeout != 0) {
      w->waits++;
      w->waits_rx += w->pump.last_rx > 0;
    }
  }
  if (!w->drained_flagged) {
    atomic_fetch_add(&w->run->threads_drained, 1);
  }
  if (w->count_share && !w->count_done_flagged) {
    atomic_fetch_add(&w->run->threads_count_done, 1);
  }
  if (w->measuring_bytes) {
    t->c.bytes = w->bytes_total - w->bytes_at_measure;
  }
  if (w->pump.io) {
    wt_pump_free(&w->pump); /* reaps sends still referencing the batch */
  }
  wt_engine_del(w->eng);
  wt_keylog_close(w->keylog);
  w->keylog = NULL;
  while (w->strms.next != &w->strms) {
    strm_del(w->strms.next);
  }
  wt_io_close(w->io);
  free(w->sess);
  free(w->msg);
  free(w);
  return NULL;
}
