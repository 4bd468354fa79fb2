/* wt_session.c: WebTransport sessions, streams and datagrams
 * (draft-ietf-webtrans-http3, docs/protocol.md sections 1 and 4):
 * the session state machine, the peer-stream demux (WT streams never reach
 * nghttp3), buffering of streams/datagrams that arrive before their session,
 * flow-control credit for WT streams, and the public session/stream API. */
#define WT_LOG_MODULE "wt"
#include "wt_conn.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "wt_datagram.h"
#include "wt_errmap.h"
#include "wt_log.h"
#include "wt_varint.h"

/* ------------------------------------------------------------ helpers */

static void credit_conn(wt_conn *c, uint64_t n) {
  if (n > 0 && c->qc) {
    ngtcp2_conn_extend_max_offset(c->qc, n);
  }
}

static void credit_stream(wt_conn *c, int64_t sid, uint64_t n) {
  if (n > 0) {
    ngtcp2_conn_extend_max_stream_offset(c->qc, sid, n);
    ngtcp2_conn_extend_max_offset(c->qc, n);
  }
}

/* Return n bytes of a WT stream's receive credit: stream + connection while
 * ngtcp2 still has the stream, the connection's alone after. */
static void credit_back(wt_conn *c, wt_stream *st, uint64_t n) {
  if (!st->q_closed) {
    credit_stream(c, st->id, n);
  } else {
    credit_conn(c, n);
  }
}

/* A manual-credit stream will take no more data (reset, STOP_SENDING, closed,
 * aborted): what the app held back no longer needs the stream's window, but
 * the connection window must get it back or it leaks. */
static void stream_release_unconsumed(wt_stream *st) {
  if (st->unconsumed > 0) {
    credit_conn(st->c, st->unconsumed);
    st->unconsumed = 0;
    wt_engine_mark_dirty(st->c->e, st->c);
  }
}

static int recently_closed(const wt_conn *c, uint64_t id) {
  size_t n = c->n_closed_ids < WT_CLOSED_IDS ? c->n_closed_ids : WT_CLOSED_IDS;
  for (size_t i = 0; i < n; i++) {
    if (c->closed_ids[i] == id) {
      return 1;
    }
  }
  return 0;
}

static void stream_gc(wt_stream *st) {
  if (!st->gc) {
    st->gc = 1;
    wt_list_push(&st->c->gc_streams, &st->gc_link);
  }
}

static void stream_unqueue(wt_stream *st) {
  if (st->in_sendq) {
    wt_list_del(&st->q_link);
    st->in_sendq = 0;
  }
}

static void stream_unbuffer(wt_stream *st) {
  if (st->buffered) {
    wt_list_del(&st->s_link);
    st->buffered = 0;
    st->c->n_buffered_streams--;
  }
}

static void stream_app_close(wt_stream *st) {
  wt_engine *e = st->c->e;
  stream_release_unconsumed(st); /* the handle dies: nobody can consume */
  if (st->app_visible) {
    st->app_visible = 0;
    e->st.streams_active--;
    if (e->cb.stream_close) {
      e->cb.stream_close(e->user, st);
    }
  }
}

/* Abort both directions of a stream with h3_code and make it a zombie
 * (docs/protocol.md section 4: SESSION_GONE; section 4 buffering:
 * BUFFERED_STREAM_REJECTED). */
static void stream_abort(wt_stream *st, uint64_t h3_code) {
  wt_conn *c = st->c;
  if (!st->q_closed) {
    if (!st->tx_done && (st->bidi || st->local)) {
      ngtcp2_conn_shutdown_stream_write(c->qc, 0, st->id, h3_code);
    }
    if (!st->rx_done && (st->bidi || !st->local)) {
      ngtcp2_conn_shutdown_stream_read(c->qc, 0, st->id, h3_code);
    }
  }
  st->tx_done = st->rx_done = 1;
  /* Unsent bytes will never go out: referenced ones are released now, what
   * ngtcp2 holds when it closes the stream. */
  wt_sendbuf_drop_unsent(&st->sb);
  credit_conn(c, st->uncredited);
  st->uncredited = 0;
  free(st->rbuf);
  st->rbuf = NULL;
  st->rlen = st->rcap = 0;
  stream_unqueue(st);
  stream_unbuffer(st);
  st->kind = WT_SK_ZOMBIE;
  stream_app_close(st); /* the app still sees its session here */
  if (st->s) {
    wt_list_del(&st->s_link);
    st->s = NULL;
  }
  if (st->q_closed) {
    stream_gc(st);
  }
  wt_engine_mark_dirty(c->e, c);
}

/* ------------------------------------------------------------ sessions */

wt_session *wt_session_alloc(wt_conn *c, int64_t id) {
  wt_session *s = calloc(1, sizeof(*s));
  if (s == NULL) {
    return NULL;
  }
  s->c = c;
  s->id = id;
  s->state = WT_SS_REQUEST;
  s->peer_reset_code = UINT64_MAX;
  wt_capsule_parser_init(&s->cp);
  wt_sendbuf_init(&s->cap_out);
  wt_list_init(&s->streams);
  wt_list_push(&c->sessions, &s->link);
  return s;
}

void wt_session_gc_free(wt_session *s) {
  while (!wt_list_empty(&s->streams)) {
    wt_stream *st = wt_container_of(s->streams.next, wt_stream, s_link);
    wt_list_del(&st->s_link);
    st->s = NULL;
  }
  free(s->method);
  free(s->protocol);
  free(s->scheme);
  free(s->authority);
  free(s->path);
  free(s->origin);
  wt_sendbuf_free(&s->cap_out);
  free(s);
}

wt_session *wt_conn_find_session(wt_conn *c, int64_t id) {
  if (id < 0) {
    return NULL;
  }
  for (wt_link *l = c->sessions.next; l != &c->sessions; l = l->next) {
    wt_session *s = wt_container_of(l, wt_session, link);
    if (s->id == id) {
      return s;
    }
  }
  return NULL;
}

static void deliver(wt_conn *c, wt_stream *st, const uint8_t *data, size_t len, int fin);

/* Hand len bytes (+ fin) of a WT stream to the app. Auto credit: their
 * credit goes back once the callback returned (the app copied them).
 * Manual credit: they count as unconsumed before the callback runs (so the
 * app may consume them inside it) and their credit waits for
 * wt_stream_consume. */
static void stream_to_app(wt_conn *c, wt_stream *st, const uint8_t *data, size_t len, int fin) {
  wt_engine *e = c->e;
  int held = st->manual_credit;
  if (held) {
    st->unconsumed += len;
  }
  if ((len > 0 || fin) && st->app_visible && e->cb.stream_data) {
    e->cb.stream_data(e->user, st, data, len, fin);
  }
  if (held) {
    return; /* released by stream_app_close if the callback ended the stream */
  }
  if (st->manual_credit && st->app_visible && st->kind == WT_SK_WT) {
    st->unconsumed += len; /* switched on inside the callback: these bytes too */
  } else {
    credit_back(c, st, len);
  }
}

static void stream_attach_local(wt_session *s, wt_stream *st) {
  wt_engine *e = s->c->e;
  st->s = s;
  wt_list_push(&s->streams, &st->s_link);
  st->app_visible = 1;
  e->st.streams_opened++;
  e->st.streams_active++;
}

static void stream_attach(wt_session *s, wt_stream *st) {
  wt_engine *e = s->c->e;
  stream_attach_local(s, st);
  if (e->cb.stream_open) {
    e->cb.stream_open(e->user, s, st);
  }
}

/* A buffered stream meets its session: announce it, then hand over the
 * bytes held for it (draft-ietf-webtrans-http3 section 4.6). */
static void stream_adopt(wt_session *s, wt_stream *st) {
  wt_conn *c = s->c;
  stream_unbuffer(st);
  stream_attach(s, st);
  uint8_t *buf = st->rbuf;
  size_t len = st->rlen;
  uint64_t held = st->uncredited;
  st->rbuf = NULL;
  st->rlen = st->rcap = 0;
  st->uncredited = 0;
  if (st->kind == WT_SK_WT && !st->rx_done && (len > 0 || st->rx_fin)) {
    /* held covers the len payload bytes: their credit follows the app's
     * choice (stream_to_app), anything beyond goes back now. */
    held = held > len ? held - len : 0;
    if (st->rx_fin) {
      st->rx_done = 1;
    }
    stream_to_app(c, st, buf, len, st->rx_fin);
  } else if (st->rx_fin) {
    st->rx_done = 1;
  }
  credit_back(c, st, held);
  free(buf);
  if (st->q_closed) {
    stream_app_close(st);
    stream_gc(st);
  }
}

static void reject_buffered(wt_conn *c, uint64_t session_id, uint64_t h3_code) {
  for (wt_link *l = c->buffered_streams.next; l != &c->buffered_streams;) {
    wt_stream *st = wt_container_of(l, wt_stream, s_link);
    l = l->next;
    if (st->session_id == session_id) {
      stream_abort(st, h3_code);
    }
  }
  wt_dgram **pp = &c->bdg_head;
  c->bdg_tail = NULL;
  while (*pp) {
    wt_dgram *d = *pp;
    if (d->session_id == session_id) {
      *pp = d->next;
      c->n_buffered_dgrams--;
      c->e->st.datagrams_dropped++;
      free(d);
    } else {
      c->bdg_tail = d;
      pp = &d->next;
    }
  }
}

void wt_session_opened(wt_session *s) {
  wt_conn *c = s->c;
  wt_engine *e = c->e;
  c->n_open_sessions++;
  e->st.sessions_opened++;
  e->st.sessions_active++;
  s->app_open = 1;
  WT_LOG_DEBUG("conn=%s session=%lld %s: session open path=%.128s", CONN_ID(c), (long long)s->id,
               c->is_server ? "server" : "client", s->path ? s->path : "-");
  if (e->cb.session_open) {
    e->cb.session_open(e->user, s);
  }
  /* Streams and datagrams that arrived before the session. */
  for (wt_link *l = c->buffered_streams.next;
       l != &c->buffered_streams && s->state == WT_SS_OPEN;) {
    wt_stream *st = wt_container_of(l, wt_stream, s_link);
    l = l->next;
    if (st->session_id == (uint64_t)s->id) {
      stream_adopt(s, st);
      l = c->buffered_streams.next; /* callbacks may have changed the list */
    }
  }
  wt_dgram **pp = &c->bdg_head;
  c->bdg_tail = NULL;
  while (*pp) {
    wt_dgram *d = *pp;
    if (d->session_id == (uint64_t)s->id) {
      *pp = d->next;
      c->n_buffered_dgrams--;
      if (s->state == WT_SS_OPEN && e->cb.datagram) {
        e->cb.datagram(e->user, s, d->data, d->len);
      }
      free(d);
    } else {
      c->bdg_tail = d;
      pp = &d->next;
    }
  }
  wt_engine_mark_dirty(e, c);
}

void wt_session_end(wt_session *s, uint32_t code, const uint8_t *reason, size_t reason_len,
                    int clean) {
  wt_conn *c = s->c;
  wt_engine *e = c->e;
  if (s->state != WT_SS_OPEN) {
    return;
  }
  WT_LOG_DEBUG("conn=%s session=%lld %s: session ends code=%u clean=%d", CONN_ID(c),
               (long long)s->id, c->is_server ? "server" : "client", code, clean);
  s->state = WT_SS_CLOSED;
  c->n_open_sessions--;
  e->st.sessions_active--;
  e->st.sessions_closed++;
  c->closed_ids[c->n_closed_ids++ % WT_CLOSED_IDS] = (uint64_t)s->id;
  /* docs/protocol.md section 4: reset the send side and STOP_SENDING
   * the receive side of every stream with SESSION_GONE. */
  while (!wt_list_empty(&s->streams)) {
    wt_stream *st = wt_container_of(s->streams.next, wt_stream, s_link);
    stream_abort(st, WT_SESSION_GONE);
  }
  wt_conn_drop_dgrams(c, (uint64_t)s->id);
  /* Our side of the CONNECT stream ends too (after any queued capsule). */
  if (!s->cap_fin) {
    s->cap_fin = 1;
    wt_h3_session_resume(s);
  }
  if (s->app_open) {
    s->app_open = 0;
    if (e->cb.session_close) {
      e->cb.session_close(e->user, s, code, reason, reason_len, clean);
    }
  }
  wt_engine_mark_dirty(e, c);
}

void wt_session_refused_client(wt_session *s, int status) {
  wt_conn *c = s->c;
  wt_engine *e = c->e;
  if (s->state != WT_SS_REQUEST && s->state != WT_SS_SENT) {
    return;
  }
  s->state = WT_SS_REFUSED;
  e->st.sessions_refused++;
  if (s->id >= 0) {
    reject_buffered(c, (uint64_t)s->id, WT_SESSION_GONE);
  }
  if (e->cb.session_refused) {
    e->cb.session_refused(e->user, s, status);
  }
  if (s->id >= 0 && !s->h3_closed) {
    s->cap_fin = 1;
    wt_h3_session_resume(s);
  } else if (!s->gc) {
    wt_list_del(&s->link);
    wt_list_push(&c->gc_sessions, &s->gc_link);
    s->gc = 1;
  }
}

void wt_session_abort(wt_session *s, uint64_t h3_code) {
  wt_conn *c = s->c;
  c->e->st.errors_proto++;
  if (s->id >= 0 && !s->h3_closed) {
    ngtcp2_conn_shutdown_stream(c->qc, 0, s->id, h3_code);
    if (c->h3) {
      nghttp3_conn_shutdown_stream_write(c->h3, s->id);
    }
  }
  wt_session_end(s, 0, NULL, 0, 0);
}

void wt_session_recv_capsules(wt_session *s, const uint8_t *data, size_t len) {
  size_t off = 0;
  while (s->state == WT_SS_OPEN) {
    size_t consumed = 0;
    wt_capsule cap;
    int rv = wt_capsule_parser_feed(&s->cp, data + off, len - off, &consumed, &cap);
    off += consumed;
    if (rv == 0) {
      break;
    }
    if (rv < 0) {
      /* RFC 9297 section 3.3: malformed capsule -> H3_MESSAGE_ERROR on this
       * stream only; other sessions carry on. */
      wt_session_abort(s, WT_H3_MESSAGE_ERROR);
      break;
    }
    if (cap.type == WT_CAPSULE_CLOSE_SESSION) {
      uint32_t code;
      const uint8_t *reason;
      size_t rlen;
      if (wt_capsule_close_decode(&cap, &code, &reason, &rlen) != 0) {
        wt_session_abort(s, WT_H3_MESSAGE_ERROR);
        break;
      }
      wt_session_end(s, code, reason, rlen, 1);
      wt_conn_session_ended_by_peer(s->c);
      break;
    }
    if (cap.type == WT_CAPSULE_DRAIN_SESSION) {
      wt_session_drained(s);
    }
  }
}

void wt_session_drained(wt_session *s) {
  wt_engine *e = s->c->e;
  if (s->state == WT_SS_OPEN && s->app_open && !s->drain_told) {
    s->drain_told = 1;
    if (e->cb.session_drain) {
      e->cb.session_drain(e->user, s);
    }
  }
}

int wt_session_queue_capsule(wt_session *s, const uint8_t *data, size_t len, int fin) {
  int rv = wt_sendbuf_append(&s->cap_out, data, len);
  if (rv < 0) {
    return rv;
  }
  if (fin) {
    s->cap_fin = 1;
  }
  wt_h3_session_resume(s);
  return 0;
}

/* ------------------------------------------------------------ peer streams */

/* Streams come from the engine's pool (docs/architecture.md: per-owner pools;
 * the sanitizer build makes each one a plain malloc). */
static wt_stream *stream_alloc(wt_conn *c) {
  wt_stream *st = wt_pool_get(&c->e->stream_pool);
  if (st) {
    memset(st, 0, sizeof(*st));
    st->peer_reset_code = st->peer_stop_code = UINT64_MAX;
  }
  return st;
}

wt_stream *wt_stream_new_peer(wt_conn *c, int64_t sid) {
  wt_stream *st = stream_alloc(c);
  if (st == NULL) {
    return NULL;
  }
  st->c = c;
  st->id = sid;
  st->bidi = ngtcp2_is_bidi_stream(sid) != 0;
  st->local = 0;
  st->kind = WT_SK_PENDING;
  st->tx_done = !st->bidi; /* a peer uni stream has no send side */
  wt_stream_hdr_init(&st->hdr, st->bidi);
  wt_sendbuf_init(&st->sb);
  st->sb.rq = &c->e->relq;
  wt_list_push(&c->streams, &st->all_link);
  if (ngtcp2_conn_set_stream_user_data(c->qc, sid, st) != 0) {
    wt_list_del(&st->all_link);
    wt_pool_put(&c->e->stream_pool, st);
    return NULL;
  }
  return st;
}

void wt_stream_free(wt_stream *st) {
  if (st->stop_notify) {
    st->c->n_stop_notify--;
  }
  stream_unqueue(st);
  stream_unbuffer(st);
  if (st->s) {
    wt_list_del(&st->s_link);
  }
  wt_list_del(&st->all_link);
  wt_list_del(&st->gc_link);
  wt_sendbuf_free(&st->sb);
  free(st->rbuf);
  wt_pool_put(&st->c->e->stream_pool, st);
}

/* The stream is HTTP/3 after all: replay its prefix to nghttp3
 * (docs/protocol.md section 6.1). */
static int stream_to_h3(wt_conn *c, wt_stream *st, const uint8_t *data, size_t len, int fin) {
  size_t blen = 0;
  const uint8_t *b = wt_stream_hdr_buffered(&st->hdr, &blen);
  uint8_t pre[WT_STREAM_HDR_MAX];
  memcpy(pre, b, blen);
  int64_t sid = st->id;
  int is_ctrl = !st->bidi && st->hdr.state != 0 && c->peer_ctrl_sid < 0 &&
                wt_stream_hdr_type(&st->hdr) == WT_H3_STREAM_CONTROL;
  void *mark = is_ctrl ? (void *)&c->h3_ctrl_mark : (void *)&c->h3_mark;
  ngtcp2_conn_set_stream_user_data(c->qc, sid, mark);
  wt_stream_free(st);
  if (is_ctrl) {
    c->peer_ctrl_sid = sid;
    if (wt_h3_observe_ctrl(c, pre, blen) != 0 || wt_h3_observe_ctrl(c, data, len) != 0) {
      return -1;
    }
  }
  if (len == 0) {
    return wt_h3_read(c, sid, pre, blen, fin);
  }
  if (wt_h3_read(c, sid, pre, blen, 0) != 0) {
    return -1;
  }
  return wt_h3_read(c, sid, data, len, fin);
}

static void stream_classified(wt_conn *c, wt_stream *st) {
  wt_engine *e = c->e;
  st->kind = WT_SK_WT;
  st->session_id = st->hdr.session_id;
  credit_stream(c, st->id, st->hdr.hdr_len);
  wt_session *s = wt_conn_find_session(c, (int64_t)st->session_id);
  WT_LOG_DEBUG("conn=%s session=%llu stream=%lld %s: WT stream (session %s)", CONN_ID(c),
               (unsigned long long)st->session_id, (long long)st->id,
               c->is_server ? "server" : "client",
               s ? (s->state == WT_SS_OPEN ? "open" : "not open") : "unknown");
  if (s && s->state == WT_SS_OPEN) {
    stream_attach(s, st);
    return;
  }
  if ((s && s->state != WT_SS_REQUEST && s->state != WT_SS_SENT) ||
      (s == NULL && recently_closed(c, st->session_id))) {
    stream_abort(st, WT_SESSION_GONE);
    return;
  }
  /* draft-ietf-webtrans-http3 section 4.6: buffer streams for a session not
   * yet known, up to a limit; reject the rest. */
  if (c->n_buffered_streams >= e->cfg.max_buffered_streams) {
    e->st.buffered_rejected++;
    stream_abort(st, WT_BUFFERED_STREAM_REJECTED);
    return;
  }
  WT_LOG_DEBUG("conn=%s session=%llu stream=%lld buffered (session not open yet)", CONN_ID(c),
               (unsigned long long)st->session_id, (long long)st->id);
  st->buffered = 1;
  c->n_buffered_streams++;
  wt_list_push(&c->buffered_streams, &st->s_link);
}

static void deliver(wt_conn *c, wt_stream *st, const uint8_t *data, size_t len, int fin) {
  wt_engine *e = c->e;
  if (st->kind != WT_SK_WT || st->rx_done) {
    credit_conn(c, len);
    return;
  }
  if (st->buffered) {
    if (len > 0) {
      if (st->rlen + len > st->rcap) {
        size_t ncap = st->rcap ? st->rcap : 1024;
        while (ncap < st->rlen + len) {
          ncap *= 2;
        }
        uint8_t *nb = realloc(st->rbuf, ncap);
        if (nb == NULL) {
          e->st.errors_internal++;
          credit_conn(c, len);
          stream_abort(st, WT_H3_INTERNAL_ERROR);
          return;
        }
        st->rbuf = nb;
        st->rcap = ncap;
      }
      memcpy(st->rbuf + st->rlen, data, len);
      st->rlen += len;
      st->uncredited += len;
    }
    if (fin) {
      st->rx_fin = 1;
    }
    return;
  }
  if (fin) {
    st->rx_done = 1;
  }
  stream_to_app(c, st, data, len, fin);
}

int wt_stream_recv(wt_conn *c, wt_stream *st, const uint8_t *data, size_t len, int fin) {
  if (st->kind == WT_SK_PENDING) {
    size_t consumed = 0, before = 0;
    wt_stream_hdr_buffered(&st->hdr, &before); /* bytes held so far */
    int rv = wt_stream_hdr_feed(&st->hdr, data, len, &consumed);
    switch (rv) {
    case WT_STREAM_HDR_NEED_MORE:
      if (fin) {
        return stream_to_h3(c, st, NULL, 0, fin); /* ended before a decision */
      }
      return 0;
    case WT_STREAM_HDR_H3:
      return stream_to_h3(c, st, data, len, fin);
    case WT_STREAM_HDR_WT:
      stream_classified(c, st);
      data += consumed;
      len -= consumed;
      break;
    default: {
      /* Bad session ID (draft-ietf-webtrans-http3 section 4): H3_ID_ERROR
       * on this stream only; the connection carries on. */
      c->e->st.errors_proto++;
      st->uncredited += before + len;
      stream_abort(st, WT_H3_ID_ERROR);
      return 0;
    }
    }
  }
  deliver(c, st, data, len, fin);
  return 0;
}

void wt_stream_on_reset(wt_stream *st, uint64_t h3_code) {
  wt_engine *e = st->c->e;
  if (st->peer_reset_code == UINT64_MAX) {
    st->peer_reset_code = h3_code; /* before any callback: the app may ask */
  }
  if (st->kind == WT_SK_PENDING || st->buffered) {
    size_t blen = 0;
    if (st->kind == WT_SK_PENDING) {
      wt_stream_hdr_buffered(&st->hdr, &blen);
    }
    st->uncredited += blen;
    st->rx_done = 1;
    st->tx_done = st->tx_done || !st->bidi;
    stream_abort(st, h3_code);
    return;
  }
  if (st->kind != WT_SK_WT || st->rx_done) {
    return;
  }
  st->rx_done = 1;
  e->st.streams_reset++;
  stream_release_unconsumed(st); /* no more data: the app's consume is moot */
  uint32_t code = 0;
  int has = wt_errmap_h3_to_app(h3_code, &code) == 0;
  if (st->app_visible && e->cb.stream_reset) {
    e->cb.stream_reset(e->user, st, code, has);
  }
}

static void stream_tell_stop(wt_stream *st, uint32_t code, int has) {
  wt_engine *e = st->c->e;
  if (st->stop_notify) {
    st->stop_notify = 0;
    st->c->n_stop_notify--;
  }
  if (st->stop_told || !st->app_visible) {
    return;
  }
  st->stop_told = 1;
  if (e->cb.stream_stop) {
    e->cb.stream_stop(e->user, st, code, has);
  }
}

void wt_stream_peer_stopped(wt_stream *st) {
  /* RFC 9000 section 3.5: ngtcp2 already answered with RESET_STREAM. */
  int was_done = st->tx_done;
  st->tx_done = 1;
  stream_unqueue(st);
  wt_sendbuf_drop_unsent(&st->sb); /* ngtcp2 reset the send side */
  if (!was_done && st->app_visible && !st->stop_told && !st->stop_notify) {
    st->stop_notify = 1;
    st->c->n_stop_notify++;
  }
}

void wt_conn_notify_stops(wt_conn *c) {
  for (wt_link *l = c->streams.next; l != &c->streams && c->n_stop_notify > 0;) {
    wt_stream *st = wt_container_of(l, wt_stream, all_link);
    l = l->next;
    if (st->stop_notify) {
      /* ngtcp2 does not expose the code of a received STOP_SENDING. */
      stream_tell_stop(st, 0, 0);
    }
  }
}

void wt_stream_on_close(wt_stream *st, uint64_t h3_code, int has_code) {
  int stopped = !st->tx_done && (st->bidi || st->local) && st->kind == WT_SK_WT;
  st->q_closed = 1;
  st->tx_done = 1;
  stream_unqueue(st);
  if (st->buffered) {
    return; /* bytes (and fin) wait for the session */
  }
  st->rx_done = 1;
  if (stopped || st->stop_notify) {
    /* Our send side ended without our fin/reset: the peer stopped it, and
     * here ngtcp2 hands us the code. */
    if (has_code && st->peer_stop_code == UINT64_MAX) {
      st->peer_stop_code = h3_code;
    }
    uint32_t code = 0;
    int has = has_code && wt_errmap_h3_to_app(h3_code, &code) == 0;
    stream_tell_stop(st, code, has);
  }
  stream_app_close(st);
  stream_gc(st);
}

void wt_stream_on_acked(wt_stream *st, uint64_t datalen) {
  wt_engine *e = st->c->e;
  wt_sendbuf_ack(&st->sb, datalen);
  if (st->want_wake && st->app_visible && !st->tx_done &&
      wt_sendbuf_held(&st->sb) <= e->cfg.stream_send_buffer / 2) {
    st->want_wake = 0;
    if (e->cb.stream_writable) {
      e->cb.stream_writable(e->user, st);
    }
  }
}

/* ------------------------------------------------------------ datagrams */

void wt_conn_recv_datagram(wt_conn *c, const uint8_t *data, size_t len) {
  wt_engine *e = c->e;
  uint64_t sid;
  size_t off;
  e->st.datagrams_in++;
  if (wt_datagram_decode(data, len, &sid, &off) != 0) {
    /* RFC 9297 section 2.1: malformed -> H3_DATAGRAM_ERROR. */
    e->st.errors_proto++;
    c->err_code = WT_H3_DATAGRAM_ERROR;
    c->err_is_app = 1;
    c->err_set = 1;
    return;
  }
  wt_session *s = wt_conn_find_session(c, (int64_t)sid);
  if (s && s->state == WT_SS_OPEN) {
    if (e->cb.datagram) {
      e->cb.datagram(e->user, s, data + off, len - off);
    }
    return;
  }
  int may_come =
      s ? (s->state == WT_SS_REQUEST || s->state == WT_SS_SENT) : !recently_closed(c, sid);
  if (!may_come || c->n_buffered_dgrams >= e->cfg.max_buffered_datagrams) {
    e->st.datagrams_dropped++;
    return;
  }
  wt_dgram *d = malloc(sizeof(*d) + (len - off));
  if (d == NULL) {
    e->st.datagrams_dropped++;
    return;
  }
  d->next = NULL;
  d->session_id = sid;
  d->len = len - off;
  memcpy(d->data, data + off, len - off);
  if (c->bdg_tail) {
    c->bdg_tail->next = d;
  } else {
    c->bdg_head = d;
  }
  c->bdg_tail = d;
  c->n_buffered_dgrams++;
}

void wt_conn_drop_dgrams(wt_conn *c, uint64_t session_id) {
  wt_dgram **pp = &c->dq_head;
  c->dq_tail = NULL;
  while (*pp) {
    wt_dgram *d = *pp;
    if (d->session_id == session_id) {
      *pp = d->next;
      c->dq_len--;
      c->e->st.datagrams_dropped++;
      wt_dgram_free(c->e, d);
    } else {
      c->dq_tail = d;
      pp = &d->next;
    }
  }
  c->dq_tries = 0;
}

/* ------------------------------------------------------------ public API */

static int conn_usable(const wt_conn *c) {
  return c->state == WT_CS_OPEN || c->state == WT_CS_HANDSHAKE;
}

int wt_conn_open_session(wt_conn *c, const char *authority, const char *path, const char *origin,
                         wt_session **out) {
  if (c == NULL || c->is_server || !conn_usable(c) || authority == NULL || path == NULL) {
    return c && c->is_server ? WT_ERR_STATE : (c ? WT_ERR_INVAL : WT_ERR_INVAL);
  }
  if (c->goaway_recv) {
    return WT_ERR_STATE;
  }
  wt_session *s = wt_session_alloc(c, -1);
  if (s == NULL) {
    return WT_ERR_NOMEM;
  }
  s->authority = strdup(authority);
  s->path = strdup(path);
  s->origin = origin ? strdup(origin) : NULL;
  if (s->authority == NULL || s->path == NULL || (origin && s->origin == NULL)) {
    wt_list_del(&s->link);
    wt_session_gc_free(s);
    return WT_ERR_NOMEM;
  }
  if (out) {
    *out = s;
  }
  wt_h3_pump_requests(c);
  wt_engine_mark_dirty(c->e, c);
  return 0;
}

int wt_session_open_stream(wt_session *s, int bidi, wt_stream **out) {
  wt_conn *c = s->c;
  if (s->state != WT_SS_OPEN || !conn_usable(c)) {
    return WT_ERR_STATE;
  }
  wt_stream *st = stream_alloc(c);
  if (st == NULL) {
    return WT_ERR_NOMEM;
  }
  st->c = c;
  st->bidi = bidi != 0;
  st->local = 1;
  st->kind = WT_SK_WT;
  st->session_id = (uint64_t)s->id;
  st->rx_done = !st->bidi;
  wt_sendbuf_init(&st->sb);
  st->sb.rq = &c->e->relq;
  int rv = st->bidi ? ngtcp2_conn_open_bidi_stream(c->qc, &st->id, st)
                    : ngtcp2_conn_open_uni_stream(c->qc, &st->id, st);
  if (rv != 0) {
    wt_pool_put(&c->e->stream_pool, st);
    return rv == NGTCP2_ERR_STREAM_ID_BLOCKED ? WT_ERR_AGAIN : WT_ERR_STATE;
  }
  /* draft-ietf-webtrans-http3 sections 4.2/4.3: signal 0x41 (bidi) or
   * stream type 0x54 (uni), then the session ID. */
  uint8_t hdr[2 * WT_VARINT_MAXLEN];
  uint8_t *p = wt_varint_put(hdr, bidi ? WT_STREAM_SIGNAL_BIDI : WT_STREAM_TYPE_UNI);
  p = wt_varint_put(p, (uint64_t)s->id);
  st->tx_hdr_len = (uint8_t)(p - hdr);
  if (wt_sendbuf_append(&st->sb, hdr, (size_t)(p - hdr)) != 0) {
    ngtcp2_conn_shutdown_stream(c->qc, 0, st->id, WT_H3_INTERNAL_ERROR);
    ngtcp2_conn_set_stream_user_data(c->qc, st->id, NULL);
    wt_pool_put(&c->e->stream_pool, st);
    return WT_ERR_NOMEM;
  }
  wt_list_push(&c->streams, &st->all_link);
  stream_attach_local(s, st);
  wt_list_push(&c->sendq, &st->q_link);
  st->in_sendq = 1;
  if (out) {
    *out = st;
  }
  wt_engine_mark_dirty(c->e, c);
  return 0;
}

int wt_stream_write(wt_stream *st, const uint8_t *data, size_t len, int fin) {
  wt_conn *c = st->c;
  if (!st->app_visible || st->kind != WT_SK_WT || st->tx_done || st->tx_fin || !conn_usable(c)) {
    return WT_ERR_STATE;
  }
  if (len > INT_MAX) {
    len = INT_MAX;
    fin = 0;
  }
  if (len == 0 && !fin) {
    return 0;
  }
  size_t limit = c->e->cfg.stream_send_buffer;
  uint64_t held = wt_sendbuf_held(&st->sb);
  size_t n = held >= limit ? 0 : (size_t)(limit - held);
  if (n > len) {
    n = len;
  }
  if (n == 0 && len > 0) {
    st->want_wake = 1;
    return WT_ERR_AGAIN;
  }
  if (n > 0 && wt_sendbuf_append(&st->sb, data, n) != 0) {
    return WT_ERR_NOMEM;
  }
  if (n < len) {
    st->want_wake = 1;
  } else if (fin) {
    st->tx_fin = 1;
  }
  if (!st->in_sendq && !st->blocked) {
    wt_list_push(&c->sendq, &st->q_link);
    st->in_sendq = 1;
  }
  wt_engine_mark_dirty(c->e, c);
  return (int)n;
}

int wt_stream_reset(wt_stream *st, uint32_t code) {
  wt_conn *c = st->c;
  if (!st->app_visible || st->kind != WT_SK_WT || (st->tx_done && !st->tx_fin) || st->q_closed ||
      (!st->bidi && !st->local)) {
    return WT_ERR_STATE;
  }
  /* draft-ietf-webtrans-http3 section 4.4: app codes travel as HTTP/3 codes. */
  ngtcp2_conn_shutdown_stream_write(c->qc, 0, st->id, wt_errmap_app_to_h3(code));
  st->tx_done = 1;
  st->tx_fin = 0;
  stream_unqueue(st);
  wt_sendbuf_drop_unsent(&st->sb);
  wt_engine_mark_dirty(c->e, c);
  return 0;
}

int wt_stream_stop_sending(wt_stream *st, uint32_t code) {
  wt_conn *c = st->c;
  if (!st->app_visible || st->kind != WT_SK_WT || st->rx_done || st->q_closed) {
    return WT_ERR_STATE;
  }
  ngtcp2_conn_shutdown_stream_read(c->qc, 0, st->id, wt_errmap_app_to_h3(code));
  st->rx_done = 1;
  stream_release_unconsumed(st);
  wt_engine_mark_dirty(c->e, c);
  return 0;
}

int wt_stream_set_manual_credit(wt_stream *st, int on) {
  if (!st->app_visible || st->kind != WT_SK_WT || (st->local && !st->bidi)) {
    return WT_ERR_STATE;
  }
  if (on) {
    st->manual_credit = 1;
    return 0;
  }
  st->manual_credit = 0;
  if (st->unconsumed > 0) {
    uint64_t n = st->unconsumed;
    st->unconsumed = 0;
    credit_back(st->c, st, n);
    wt_engine_mark_dirty(st->c->e, st->c);
  }
  return 0;
}

int wt_stream_consume(wt_stream *st, size_t n) {
  if (!st->app_visible || st->kind != WT_SK_WT) {
    return WT_ERR_STATE;
  }
  if (n > INT_MAX) {
    n = INT_MAX;
  }
  if (n > st->unconsumed) {
    n = (size_t)st->unconsumed;
  }
  if (n > 0) {
    st->unconsumed -= n;
    credit_back(st->c, st, n);
    wt_engine_mark_dirty(st->c->e, st->c);
  }
  return (int)n;
}

size_t wt_session_max_datagram(const wt_session *s) {
  const wt_conn *c = s->c;
  if (s->state != WT_SS_OPEN || !c->handshake_done || c->state != WT_CS_OPEN) {
    return 0;
  }
  const ngtcp2_transport_params *rp = ngtcp2_conn_get_remote_transport_params(c->qc);
  if (rp == NULL || rp->max_datagram_frame_size == 0) {
    return 0;
  }
  /* RFC 9221 section 3: max_datagram_frame_size bounds the whole frame
   * (type + length + payload). */
  uint64_t fmax = rp->max_datagram_frame_size;
  uint64_t m1 = fmax > 1 + wt_varint_len(fmax) ? fmax - 1 - wt_varint_len(fmax) : 0;
  /* And it must fit one short-header packet: flags + DCID + packet number
   * (<= 4) + AEAD tag (16) + frame header (<= 3). */
  size_t pkt = ngtcp2_conn_get_path_max_tx_udp_payload_size(c->qc);
  size_t over = 1 + ngtcp2_conn_get_dcid(c->qc)->datalen + 4 + 16 + 3;
  uint64_t m2 = pkt > over ? pkt - over : 0;
  uint64_t m = m1 < m2 ? m1 : m2;
  size_t pl = wt_datagram_prefix_len((uint64_t)s->id);
  return m > pl ? (size_t)(m - pl) : 0;
}

void wt_dgram_free(wt_engine *e, wt_dgram *d) {
  if (d->is_ref && d->ref.release) {
    wt_relq_push(&e->relq, &d->ref); /* released (and freed) at the end of the entry point */
    return;
  }
  free(d);
}

/* Queue one outgoing datagram: copied, or referenced when is_ref. */
static int dgram_queue(wt_session *s, const uint8_t *data, size_t len, int is_ref,
                       wt_release_fn release, void *arg) {
  wt_conn *c = s->c;
  wt_engine *e = c->e;
  if (s->state != WT_SS_OPEN || c->state != WT_CS_OPEN) {
    return WT_ERR_STATE;
  }
  if (len > 0 && data == NULL) {
    return WT_ERR_INVAL;
  }
  if (len > wt_session_max_datagram(s)) {
    return WT_ERR_RANGE;
  }
  if (c->dq_len >= e->cfg.max_datagram_queue) {
    e->st.datagrams_dropped++;
    return WT_ERR_AGAIN;
  }
  size_t pl = wt_datagram_prefix_len((uint64_t)s->id);
  size_t copy = is_ref ? 0 : len;
  wt_dgram *d = malloc(sizeof(*d) + pl + copy);
  if (d == NULL) {
    e->st.datagrams_dropped++;
    return WT_ERR_NOMEM;
  }
  memset(d, 0, sizeof(*d));
  d->session_id = (uint64_t)s->id;
  d->len = pl + copy;
  wt_datagram_encode_prefix(d->data, pl, (uint64_t)s->id);
  if (copy > 0) {
    memcpy(d->data + pl, data, copy);
  }
  if (is_ref) {
    d->is_ref = 1;
    d->ref.release = release;
    d->ref.arg = arg;
    d->ref.data = data;
    d->ref.len = len;
  }
  if (c->dq_tail) {
    c->dq_tail->next = d;
  } else {
    c->dq_head = d;
  }
  c->dq_tail = d;
  c->dq_len++;
  wt_engine_mark_dirty(e, c);
  return 0;
}

int wt_session_send_datagram(wt_session *s, const uint8_t *data, size_t len) {
  return dgram_queue(s, data, len, 0, NULL, NULL);
}

int wt_session_send_datagram_ref(wt_session *s, const uint8_t *data, size_t len,
                                 wt_release_fn release, void *arg) {
  return dgram_queue(s, data, len, 1, release, arg);
}

int wt_stream_write_ref(wt_stream *st, const uint8_t *data, size_t len, int fin,
                        wt_release_fn release, void *arg) {
  wt_conn *c = st->c;
  if (!st->app_visible || st->kind != WT_SK_WT || (!st->bidi && !st->local) || st->tx_fin) {
    return WT_ERR_STATE;
  }
  if (st->tx_done || !conn_usable(c)) {
    return WT_ERR_CLOSED; /* reset, stopped, or the connection is closing */
  }
  if (len > INT_MAX) {
    return WT_ERR_RANGE;
  }
  if (len > 0 && data == NULL) {
    return WT_ERR_INVAL;
  }
  if (len == 0) {
    /* Nothing to reference, but the caller handed over a reference: give it
     * back at the end of the next engine call, like any other. */
    wt_ref *r = NULL;
    if (release) {
      r = calloc(1, sizeof(*r));
      if (r == NULL) {
        return WT_ERR_NOMEM;
      }
      r->release = release;
      r->arg = arg;
      r->data = data;
    }
    if (fin) {
      int rv = wt_stream_write(st, NULL, 0, 1);
      if (rv < 0) {
        free(r);
        return rv;
      }
    }
    if (r) {
      wt_relq_push(&c->e->relq, r);
    }
    return 0;
  }
  /* Not bounded by stream_send_buffer: the caller bounds its backlog. */
  int rv = wt_sendbuf_append_ref(&st->sb, data, len, release, arg);
  if (rv < 0) {
    return rv;
  }
  if (fin) {
    st->tx_fin = 1;
  }
  if (!st->in_sendq && !st->blocked) {
    wt_list_push(&c->sendq, &st->q_link);
    st->in_sendq = 1;
  }
  wt_engine_mark_dirty(c->e, c);
  return (int)len;
}

uint64_t wt_stream_send_backlog(const wt_stream *st) {
  const wt_sendbuf *b = &st->sb;
  uint64_t from = b->acked > st->tx_hdr_len ? b->acked : st->tx_hdr_len;
  return b->end > from ? b->end - from : 0;
}

/* ------------------------------------------------------------ deferred CONNECT */

static void remember_closed(wt_conn *c, uint64_t id) {
  c->closed_ids[c->n_closed_ids++ % WT_CLOSED_IDS] = id;
}

/* A pending session stops waiting (answered or given up). */
static void pending_done(wt_session *s) {
  s->deferred = 0;
  s->c->n_pending_sessions--;
}

/* Refused: streams and datagrams held for it go (SESSION_GONE). */
static void pending_refused(wt_session *s) {
  wt_conn *c = s->c;
  s->state = WT_SS_REFUSED;
  c->e->st.sessions_refused++;
  remember_closed(c, (uint64_t)s->id);
  reject_buffered(c, (uint64_t)s->id, WT_SESSION_GONE);
  wt_engine_mark_dirty(c->e, c);
}

void wt_session_pending_end(wt_session *s, int status, int reset) {
  wt_conn *c = s->c;
  wt_engine *e = c->e;
  if (!s->deferred) {
    return;
  }
  WT_LOG_DEBUG("conn=%s session=%lld server: deferred session given up (status %d)", CONN_ID(c),
               (long long)s->id, status);
  pending_done(s);
  int live = c->h3 && !s->h3_closed && c->state < WT_CS_CLOSING;
  if (live && status > 0) {
    wt_h3_respond(c, s, status); /* best effort: the session ends either way */
  } else if (live && reset) {
    /* RFC 9114 section 4.1.1: a request we will not answer is cancelled. */
    ngtcp2_conn_shutdown_stream(c->qc, 0, s->id, WT_H3_REQUEST_CANCELLED);
    nghttp3_conn_shutdown_stream_write(c->h3, s->id);
  }
  pending_refused(s);
  if (e->cb.session_close) {
    e->cb.session_close(e->user, s, 0, NULL, 0, 0);
  }
}

int wt_session_respond(wt_session *s, int status) {
  if (s == NULL || (status != 200 && (status < 400 || status > 599))) {
    return WT_ERR_INVAL;
  }
  wt_conn *c = s->c;
  if (!c->is_server || !s->deferred || s->state != WT_SS_REQUEST) {
    return WT_ERR_STATE;
  }
  if (c->state != WT_CS_OPEN || c->h3 == NULL || s->h3_closed) {
    return WT_ERR_STATE; /* session_close(clean = 0) follows */
  }
  int rv = wt_h3_respond(c, s, status);
  if (rv == NGHTTP3_ERR_NOMEM) {
    return WT_ERR_NOMEM; /* still pending */
  }
  if (rv != 0) {
    c->e->st.errors_internal++;
    wt_session_pending_end(s, 0, 1);
    return WT_ERR_INTERNAL;
  }
  pending_done(s);
  if (status == 200) {
    s->state = WT_SS_OPEN;
    wt_session_opened(s);
  } else {
    pending_refused(s);
  }
  return 0;
}

int wt_session_close(wt_session *s, uint32_t code, const uint8_t *reason, size_t reason_len) {
  if (s->state != WT_SS_OPEN) {
    return WT_ERR_STATE;
  }
  uint8_t buf[WT_CAPSULE_CLOSE_ENCODED_MAX];
  int n = wt_capsule_close_encode(buf, sizeof(buf), code, reason, reason_len);
  if (n < 0) {
    return n;
  }
  /* draft-ietf-webtrans-http3 section 6: CLOSE capsule, then FIN. */
  int rv = wt_session_queue_capsule(s, buf, (size_t)n, 1);
  if (rv < 0) {
    return rv;
  }
  s->close_sent = 1;
  s->close_end = s->cap_out.end;
  wt_session_end(s, code, reason, reason_len, 1);
  return 0;
}

int wt_session_drain(wt_session *s) {
  if (s->state != WT_SS_OPEN) {
    return WT_ERR_STATE;
  }
  if (s->drain_sent) {
    return 0;
  }
  uint8_t buf[8];
  int n = wt_capsule_drain_encode(buf, sizeof(buf));
  if (n < 0) {
    return n;
  }
  int rv = wt_session_queue_capsule(s, buf, (size_t)n, 0);
  if (rv == 0) {
    s->drain_sent = 1;
  }
  return rv;
}

uint64_t wt_session_id(const wt_session *s) {
  return s->id < 0 ? UINT64_MAX : (uint64_t)s->id;
}
uint64_t wt_stream_peer_reset_code(const wt_stream *st) {
  return st->peer_reset_code;
}
uint64_t wt_stream_peer_stop_code(const wt_stream *st) {
  return st->peer_stop_code;
}
uint64_t wt_session_reset_code(const wt_session *s) {
  return s->peer_reset_code;
}
uint64_t wt_stream_id(const wt_stream *st) {
  return (uint64_t)st->id;
}
wt_session *wt_stream_session(const wt_stream *st) {
  return st->s;
}
int wt_stream_is_bidi(const wt_stream *st) {
  return st->bidi;
}
wt_conn *wt_session_conn(const wt_session *s) {
  return s->c;
}
void wt_session_set_user(wt_session *s, void *u) {
  s->user = u;
}
void *wt_session_get_user(const wt_session *s) {
  return s->user;
}
void wt_stream_set_user(wt_stream *st, void *u) {
  st->user = u;
}
void *wt_stream_get_user(const wt_stream *st) {
  return st->user;
}
const char *wt_session_path(const wt_session *s) {
  return s->path;
}
