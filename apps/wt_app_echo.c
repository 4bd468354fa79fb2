/* wt_app_echo.c: the /echo application (behaviour: wt_apps.h). */
#define WT_LOG_MODULE "echo"
#include <stdlib.h>
#include <string.h>

#include "wt_apps.h"
#include "wt_error.h"
#include "wt_log.h"

#define ECHO_REASON_MAX 1024
#define ECHO_MS         1000000ull
#define ECHO_MAX_DELAY  (7ull * 24 * 3600 * 1000) /* a week, in ms: keeps ns in range */

static const char push_bidi_msg[] = "server-bidi-hello";
static const char push_uni_msg[] = "server-uni-hello";

enum echo_kind {
  ECHO_BIDI, /* peer bidi: bytes go back on the same stream */
  ECHO_UNI,  /* peer uni: bytes go out on a server uni stream */
  PUSH_BIDI, /* ?push=1 server bidi: greeting out, replies counted */
  PUSH_UNI,  /* ?push=1 server uni: greeting out */
};

typedef struct echo_session echo_session;
typedef struct echo_stream echo_stream;

struct echo_stream {
  echo_session *es;
  wt_app_stream *in;                  /* the stream we read (bidi: also out); NULL once closed */
  wt_app_stream *out;                 /* the stream we write; NULL until opened / once closed */
  echo_stream *wait_prev, *wait_next; /* in es->waiting while out cannot be opened yet */
  uint8_t *buf;                       /* pending bytes buf[head .. head + len) */
  size_t head, len, cap;
  int refs; /* app stream handles whose user pointer is this */
  uint8_t kind;
  uint8_t fin_pending; /* FIN follows the pending bytes */
  uint8_t fin_sent;
  uint8_t out_dead; /* reply aborted: drop everything */
  uint8_t waiting;  /* on es->waiting */
};

struct echo_session {
  wt_app_session *as;
  wt_apps *apps;
  echo_stream *waiting; /* uni echoes whose server stream could not be opened yet */
  uint64_t close_timer, retry_timer;
  char *reason; /* ?reason=, owned */
  size_t reason_len;
  uint64_t close_delay_ms;
  uint32_t close_code;
  uint8_t close_armed;
  uint8_t push_bidi_todo, push_uni_todo;
};

static void echo_retry_fire(void *arg);

/* ------------------------------------------------------------------ pending buffer */

static void pending_drop(echo_stream *e) {
  free(e->buf);
  e->buf = NULL;
  e->head = e->len = e->cap = 0;
}

static int echo_kind_reads(const echo_stream *e) {
  return e->kind == ECHO_BIDI || e->kind == ECHO_UNI;
}

/* The reply is gone (aborted, refused, closed): what is pending is dropped
 * and whatever still arrives is read and discarded, so the incoming stream
 * goes back to automatic credit (which also returns the credit of the
 * dropped bytes). */
static void echo_reply_dead(echo_stream *e) {
  e->out_dead = 1;
  pending_drop(e);
  if (e->in && echo_kind_reads(e)) {
    wt_app_stream_set_manual_credit(e->in, 0);
  }
}

/* Abort both directions of an echo stream whose pending bytes overflowed.
 * Only a safety net: the incoming stream runs on manual credit, consumed as
 * bytes leave the pending buffer, so the peer cannot get further ahead than
 * its stream window. */
static void echo_overflow(echo_stream *e) {
  echo_session *es = e->es;
  es->apps->cnt.echo_overflow_resets++;
  WT_LOG_DEBUG("session %llu: echo stream over %zu pending bytes: reset",
               (unsigned long long)wt_app_session_id(es->as), es->apps->cfg.echo_max_pending);
  if (e->out) {
    wt_app_stream_reset(e->out, WT_APP_ECHO_OVERFLOW_CODE);
  }
  if (e->in) {
    wt_app_stream_stop_sending(e->in, WT_APP_ECHO_OVERFLOW_CODE);
  }
  echo_reply_dead(e);
}

/* Keep data[0..len) for later. Returns 0, or -1 after aborting the stream. */
static int pending_append(echo_stream *e, const uint8_t *data, size_t len) {
  size_t max = e->es->apps->cfg.echo_max_pending;
  if (len > max - e->len) {
    echo_overflow(e);
    return -1;
  }
  if (e->head + e->len + len > e->cap) {
    if (e->head > 0) {
      memmove(e->buf, e->buf + e->head, e->len);
      e->head = 0;
    }
    if (e->len + len > e->cap) {
      size_t cap = e->cap ? e->cap : 16384;
      while (cap < e->len + len) {
        cap *= 2;
      }
      if (cap > max) {
        cap = max;
      }
      uint8_t *nb = realloc(e->buf, cap);
      if (!nb) {
        echo_overflow(e);
        return -1;
      }
      e->buf = nb;
      e->cap = cap;
    }
  }
  memcpy(e->buf + e->head + e->len, data, len);
  e->len += len;
  return 0;
}

/* ------------------------------------------------------------------ writing */

/* Write data[0..len) (+ FIN) to e->out until done or blocked. *done gets the
 * bytes accepted. Returns 1 when all (and the FIN) went, 0 when blocked
 * (stream_writable follows), -1 when the stream refuses writes for good. */
static int echo_write(echo_stream *e, const uint8_t *data, size_t len, int fin, size_t *done) {
  *done = 0;
  if (len == 0 && !fin) {
    return 1;
  }
  for (;;) {
    int r = wt_app_stream_write(e->out, data + *done, len - *done, fin);
    if (r == WT_ERR_AGAIN) {
      return 0;
    }
    if (r < 0) {
      return -1; /* the caller calls echo_reply_dead */
    }
    if (r == 0 && len > *done) {
      return 0; /* accepted nothing without saying AGAIN: wait for writable */
    }
    *done += (size_t)r;
    if (echo_kind_reads(e)) {
      e->es->apps->cnt.echo_bytes += (uint64_t)r;
      /* accepted by the engine: the peer may send that much more */
      if (r > 0 && e->in) {
        wt_app_stream_consume(e->in, (size_t)r);
      }
    }
    if (*done == len) {
      if (fin) {
        e->fin_sent = 1;
      }
      return 1;
    }
    /* partial: try again, so a full buffer answers AGAIN and arms writable */
  }
}

/* Send what is pending (and a pending FIN). */
static void echo_flush(echo_stream *e) {
  if (!e->out || e->out_dead || e->fin_sent) {
    return;
  }
  if (e->len == 0 && !e->fin_pending) {
    return;
  }
  size_t done;
  int r = echo_write(e, e->buf + e->head, e->len, e->fin_pending, &done);
  if (r < 0) {
    echo_reply_dead(e);
    return;
  }
  e->head += done;
  e->len -= done;
  if (e->len == 0) {
    pending_drop(e); /* an idle stream holds no buffer */
  }
}

/* Forward data (+ FIN) to the reply stream: directly when nothing waits,
 * otherwise behind the pending bytes. */
static void echo_forward(echo_stream *e, const uint8_t *data, size_t len, int fin) {
  if (e->out_dead || e->fin_sent) {
    return;
  }
  if (e->out && e->len == 0) {
    size_t done;
    int r = echo_write(e, data, len, fin, &done);
    if (r < 0) {
      echo_reply_dead(e);
      return;
    }
    if (r > 0) {
      return; /* all sent */
    }
    data += done;
    len -= done;
  }
  if (len > 0 && pending_append(e, data, len) < 0) {
    return;
  }
  if (fin) {
    e->fin_pending = 1;
  }
}

/* ------------------------------------------------------------------ stream state */

static echo_stream *echo_stream_new(echo_session *es, int kind) {
  echo_stream *e = calloc(1, sizeof(*e));
  if (e) {
    e->es = es;
    e->kind = (uint8_t)kind;
  }
  return e;
}

static void wait_remove(echo_stream *e) {
  if (!e->waiting) {
    return;
  }
  if (e->wait_prev) {
    e->wait_prev->wait_next = e->wait_next;
  } else {
    e->es->waiting = e->wait_next;
  }
  if (e->wait_next) {
    e->wait_next->wait_prev = e->wait_prev;
  }
  e->wait_prev = e->wait_next = NULL;
  e->waiting = 0;
}

static void echo_stream_maybe_free(echo_stream *e) {
  if (e->refs > 0 || e->waiting) {
    return;
  }
  pending_drop(e);
  free(e);
}

static void arm_retry(echo_session *es) {
  if (es->retry_timer == 0) {
    wt_app_timer_add(wt_app_session_ctx(es->as), WT_APP_ECHO_RETRY_MS * ECHO_MS, echo_retry_fire,
                     es, &es->retry_timer);
  }
}

/* Open the server uni stream of a uni echo. Returns 1 if open, 0 if it has
 * to wait (queued for retry), -1 if it cannot be opened. */
static int echo_open_out(echo_stream *e) {
  wt_app_stream *out;
  int rv = wt_app_open_stream(e->es->as, 0, &out);
  if (rv == WT_ERR_AGAIN) {
    if (!e->waiting) {
      e->waiting = 1;
      e->wait_prev = NULL;
      e->wait_next = e->es->waiting;
      if (e->wait_next) {
        e->wait_next->wait_prev = e;
      }
      e->es->waiting = e;
    }
    arm_retry(e->es);
    return 0;
  }
  wait_remove(e);
  if (rv < 0) {
    echo_reply_dead(e);
    return -1;
  }
  e->out = out;
  e->refs++;
  wt_app_stream_set_user(out, e);
  return 1;
}

/* Open a ?push=1 stream carrying msg + FIN. Returns 0, or WT_ERR_AGAIN. */
static int push_open(echo_session *es, int bidi, const char *msg) {
  wt_app_stream *st;
  int rv = wt_app_open_stream(es->as, bidi, &st);
  if (rv == WT_ERR_AGAIN) {
    return rv;
  }
  if (rv < 0) {
    WT_LOG_DEBUG("session %llu: push stream: %s", (unsigned long long)wt_app_session_id(es->as),
                 wt_err_str(rv));
    return 0; /* the session is going away: nothing to retry */
  }
  echo_stream *e = echo_stream_new(es, bidi ? PUSH_BIDI : PUSH_UNI);
  if (!e) {
    wt_app_stream_reset(st, 0);
    return 0;
  }
  e->out = st;
  e->in = bidi ? st : NULL;
  e->refs = 1;
  wt_app_stream_set_user(st, e);
  echo_forward(e, (const uint8_t *)msg, strlen(msg), 1);
  return 0;
}

static void echo_push(echo_session *es) {
  if (es->push_bidi_todo && push_open(es, 1, push_bidi_msg) == 0) {
    es->push_bidi_todo = 0;
  }
  if (es->push_uni_todo && push_open(es, 0, push_uni_msg) == 0) {
    es->push_uni_todo = 0;
  }
  if (es->push_bidi_todo || es->push_uni_todo) {
    arm_retry(es);
  }
}

static void echo_retry_fire(void *arg) {
  echo_session *es = arg;
  es->retry_timer = 0;
  echo_push(es);
  while (es->waiting) {
    echo_stream *e = es->waiting;
    int r = echo_open_out(e);
    if (r == 0) {
      break; /* still no credit: echo_open_out re-armed the timer */
    }
    if (r > 0) {
      echo_flush(e);
    }
    echo_stream_maybe_free(e); /* its peer stream may be gone already */
  }
}

/* ------------------------------------------------------------------ session callbacks */

static void echo_parse_close(echo_session *es, const char *query) {
  uint64_t code;
  if (wt_app_query_get_u64(query, "close", &code) < 0 || code > UINT32_MAX) {
    return;
  }
  es->close_armed = 1;
  es->close_code = (uint32_t)code;
  uint64_t delay = 0;
  if (wt_app_query_get_u64(query, "delay", &delay) == 0) {
    es->close_delay_ms = delay > ECHO_MAX_DELAY ? ECHO_MAX_DELAY : delay;
  }
  char reason[ECHO_REASON_MAX + 1];
  int n = wt_app_query_get(query, "reason", reason, sizeof(reason));
  if (n > 0) {
    es->reason = malloc((size_t)n);
    if (es->reason) {
      memcpy(es->reason, reason, (size_t)n);
      es->reason_len = (size_t)n;
    }
  }
}

static int echo_session_request(wt_app_session *as, const wt_app_request *req) {
  int st = wt_apps_authorize(wt_app_session_arg(as), as, req, WT_APP_AUTH_PUBLISH, "echo");
  if (st != 0) {
    return st;
  }
  echo_session *es = calloc(1, sizeof(*es));
  if (!es) {
    return 503;
  }
  es->as = as;
  es->apps = wt_app_session_arg(as);
  uint64_t push = 0;
  if (wt_app_query_get_u64(req->query, "push", &push) == 0 && push != 0) {
    es->push_bidi_todo = es->push_uni_todo = 1;
  }
  echo_parse_close(es, req->query);
  wt_app_session_set_user(as, es);
  return 200;
}

static void echo_close_fire(void *arg) {
  echo_session *es = arg;
  es->close_timer = 0;
  int rv =
      wt_app_close_session(es->as, es->close_code, (const uint8_t *)es->reason, es->reason_len);
  if (rv == WT_ERR_INVAL && es->reason_len > 0) {
    /* e.g. a reason that is not UTF-8: close anyway, without it */
    rv = wt_app_close_session(es->as, es->close_code, NULL, 0);
  }
  if (rv < 0) {
    WT_LOG_DEBUG("session %llu: close: %s", (unsigned long long)wt_app_session_id(es->as),
                 wt_err_str(rv));
  }
}

static void echo_session_open(wt_app_session *as) {
  echo_session *es = wt_app_session_get_user(as);
  es->apps->cnt.echo_sessions++;
  echo_push(es);
  if (es->close_armed) {
    wt_app_timer_add(wt_app_session_ctx(as), es->close_delay_ms * ECHO_MS, echo_close_fire, es,
                     &es->close_timer);
  }
}

static void echo_session_close(wt_app_session *as, uint32_t code, const uint8_t *reason, size_t len,
                               int clean) {
  echo_session *es = wt_app_session_get_user(as);
  if (!es) {
    return;
  }
  WT_LOG_DEBUG("session %llu: closed code=%u clean=%d reason=%.*s",
               (unsigned long long)wt_app_session_id(as), code, clean, (int)(len > 128 ? 128 : len),
               reason ? (const char *)reason : "");
  wt_app_ctx *ctx = wt_app_session_ctx(as);
  wt_app_timer_cancel(ctx, es->close_timer);
  wt_app_timer_cancel(ctx, es->retry_timer);
  /* every stream was closed before this call: only waiting echoes remain */
  while (es->waiting) {
    echo_stream *e = es->waiting;
    wait_remove(e);
    echo_stream_maybe_free(e);
  }
  free(es->reason);
  free(es);
  wt_app_session_set_user(as, NULL);
}

static void echo_datagram(wt_app_session *as, const uint8_t *data, size_t len) {
  echo_session *es = wt_app_session_get_user(as);
  if (wt_app_send_datagram(as, data, len) == 0) {
    es->apps->cnt.echo_datagrams++;
  } else {
    es->apps->cnt.echo_datagrams_dropped++;
  }
}

/* ------------------------------------------------------------------ stream callbacks */

static void echo_stream_open(wt_app_stream *st) {
  echo_session *es = wt_app_session_get_user(wt_app_stream_session(st));
  int bidi = wt_app_stream_is_bidi(st);
  echo_stream *e = echo_stream_new(es, bidi ? ECHO_BIDI : ECHO_UNI);
  if (!e) {
    wt_app_stream_stop_sending(st, WT_APP_ECHO_OVERFLOW_CODE);
    if (bidi) {
      wt_app_stream_reset(st, WT_APP_ECHO_OVERFLOW_CODE);
    }
    return;
  }
  e->in = st;
  e->out = bidi ? st : NULL;
  e->refs = 1;
  wt_app_stream_set_user(st, e);
  /* Consume only what the reply accepted: a slow reply slows the peer. */
  wt_app_stream_set_manual_credit(st, 1);
}

static void echo_stream_data(wt_app_stream *st, const uint8_t *data, size_t len, int fin) {
  echo_stream *e = wt_app_stream_get_user(st);
  if (!e) {
    return;
  }
  switch (e->kind) {
  case PUSH_BIDI:
    e->es->apps->cnt.echo_push_reply_bytes += len;
    return;
  case ECHO_UNI:
    if (!e->out && !e->out_dead && !e->waiting && (len > 0 || fin)) {
      echo_open_out(e); /* at the first byte: never wait for the peer's FIN */
    }
    echo_forward(e, data, len, fin);
    return;
  case ECHO_BIDI:
    echo_forward(e, data, len, fin);
    return;
  default: /* PUSH_UNI has no receive side */
    return;
  }
}

static void echo_stream_writable(wt_app_stream *st) {
  echo_stream *e = wt_app_stream_get_user(st);
  if (e && st == e->out) {
    echo_flush(e);
  }
}

static void echo_stream_reset(wt_app_stream *st, uint32_t code, int has_code) {
  echo_stream *e = wt_app_stream_get_user(st);
  if (!e || st != e->in || e->kind == PUSH_BIDI) {
    return;
  }
  /* mirror the peer's reset onto the reply */
  if (e->out && !e->out_dead && !e->fin_sent) {
    wt_app_stream_reset(e->out, has_code ? code : 0);
  }
  echo_reply_dead(e); /* the engine released the unconsumed credit already */
  wait_remove(e);
}

static void echo_stream_stop(wt_app_stream *st, uint32_t code, int has_code) {
  echo_stream *e = wt_app_stream_get_user(st);
  if (!e || st != e->out) {
    return;
  }
  if (!e->out_dead && !e->fin_sent) {
    wt_app_stream_reset(e->out, has_code ? code : 0); /* RFC 9000 s3.5: answer with a reset */
  }
  echo_reply_dead(e); /* keep reading (and discarding) what the peer still sends */
}

static void echo_stream_close(wt_app_stream *st) {
  echo_stream *e = wt_app_stream_get_user(st);
  if (!e) {
    return;
  }
  if (e->in == st) {
    e->in = NULL;
  }
  if (e->out == st) {
    e->out = NULL;
    echo_reply_dead(e); /* nothing more can be written */
  }
  e->refs--;
  echo_stream_maybe_free(e);
}

const wt_app_ops wt_app_echo_ops = {
    .name = "echo",
    .session_request = echo_session_request,
    .session_open = echo_session_open,
    .session_close = echo_session_close,
    .stream_open = echo_stream_open,
    .stream_data = echo_stream_data,
    .stream_reset = echo_stream_reset,
    .stream_stop = echo_stream_stop,
    .stream_writable = echo_stream_writable,
    .stream_close = echo_stream_close,
    .datagram = echo_datagram,
};
