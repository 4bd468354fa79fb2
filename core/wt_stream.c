/* wt_stream.c: WebTransport streams (wt_stream.h): demux, buffering,
 * receive credit, send side and the public stream API. */
#define WT_LOG_MODULE "wt"
#include "wt_stream.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "wt_conn.h"
#include "wt_errmap.h"
#include "wt_log.h"
#include "wt_varint.h"

/* ------------------------------------------------------------ credit */

/* Under memory pressure or over its connection / address budget
 * (wt_engine_mem_hold) a connection's receive credit is owed, not granted:
 * MAX_DATA / MAX_STREAM_DATA stay where they are until wt_stream_mem_repay
 * (docs/operations.md "Limits"). */
static int mem_withhold(wt_conn *c) {
  return wt_engine_mem_withhold(c);
}

static void credit_conn(wt_conn *c, uint64_t n) {
  if (n > 0 && c->qc) {
    if (mem_withhold(c)) {
      c->mem_owed += n;
      return;
    }
    ngtcp2_conn_extend_max_offset(c->qc, n);
  }
}

static void credit_stream(wt_conn *c, wt_stream *st, uint64_t n) {
  if (n > 0) {
    if (mem_withhold(c)) {
      st->mem_owed += n;
      c->mem_owed += n;
      return;
    }
    ngtcp2_conn_extend_max_stream_offset(c->qc, st->id, n);
    ngtcp2_conn_extend_max_offset(c->qc, n);
  }
}

void wt_stream_mem_repay(wt_conn *c) {
  if (c->qc == NULL) {
    return;
  }
  for (wt_list_node *l = c->streams.next; l != &c->streams; l = l->next) {
    wt_stream *st = wt_container_of(l, wt_stream, all_link);
    if (st->mem_owed > 0 && !st->q_closed) {
      ngtcp2_conn_extend_max_stream_offset(c->qc, st->id, st->mem_owed);
    }
    st->mem_owed = 0;
  }
  if (c->mem_owed > 0) {
    ngtcp2_conn_extend_max_offset(c->qc, c->mem_owed);
    c->mem_owed = 0;
  }
  wt_ctx_mark_dirty(c);
}

/* ------------------------------------------------------------ session flow control */

/* The application consumed n bytes of st: the session's window may grow
 * (wt_sfc.h); the WT_MAX_DATA goes out from wt_session_fc_flush. */
static void fc_consumed(wt_stream *st, uint64_t n) {
  wt_conn *c = st->c;
  if (st->fc == NULL || n == 0) {
    return;
  }
  uint64_t rtt = 0;
  if (c->qc) {
    ngtcp2_conn_info ci;
    ngtcp2_conn_get_conn_info(c->qc, &ci);
    rtt = ci.smoothed_rtt;
  }
  if (wt_sfc_rx_consumed(st->fc, n, c->e->now, rtt)) {
    c->fc_pending = 1;
    wt_ctx_mark_dirty(c);
  }
}

/* n payload bytes of st arrived. 0, or -1 when they overrun the session's
 * limit (the session is reset by wt_session_fc_flush). */
static int fc_received(wt_stream *st, uint64_t n) {
  if (st->fc == NULL || n == 0) {
    return 0;
  }
  if (wt_sfc_rx_data(st->fc, n) < 0) {
    st->c->fc_pending = 1;
    wt_ctx_mark_dirty(st->c);
    return -1;
  }
  return 0;
}

/* The waitq became empty: the session's blocked time ends. */
static void fc_unblocked(wt_stream *st) {
  wt_sfc *f = st->fc;
  if (wt_list_empty(&f->waitq) && f->blocked_since != 0) {
    uint64_t now = st->c->e->now;
    st->c->e->st.fc_blocked_ns += now > f->blocked_since ? now - f->blocked_since : 0;
    f->blocked_since = 0;
  }
}

void wt_stream_fc_hold(wt_stream *st, int why) {
  wt_sfc *f = st->fc;
  if (f == NULL || st->fc_hold != WT_SFC_HOLD_NONE) {
    return;
  }
  if (wt_list_empty(&f->waitq)) {
    f->blocked_since = st->c->e->now ? st->c->e->now : 1;
  }
  st->fc_hold = (uint8_t)why;
  if (why == WT_SFC_HOLD_STREAM) {
    f->n_wait_streams++;
  }
  wt_list_push(&f->waitq, &st->fc_link);
  if (st->in_sendq) {
    wt_list_del(&st->q_link);
    st->in_sendq = 0;
  }
}

static void fc_unhold(wt_stream *st) {
  if (st->fc_hold == WT_SFC_HOLD_NONE) {
    return;
  }
  if (st->fc_hold == WT_SFC_HOLD_STREAM) {
    st->fc->n_wait_streams--;
  }
  st->fc_hold = WT_SFC_HOLD_NONE;
  wt_list_del(&st->fc_link);
  fc_unblocked(st);
}

/* st leaves its session's flow control (closed, aborted, freed, or the
 * session goes): a peer stream gives its stream credit back. */
static void fc_detach(wt_stream *st) {
  if (st->fc == NULL) {
    return;
  }
  fc_unhold(st);
  if (!st->local && !st->fc_closed) {
    st->fc_closed = 1;
    if (wt_sfc_rx_stream_closed(st->fc, !st->bidi)) {
      st->c->fc_pending = 1;
      wt_ctx_mark_dirty(st->c);
    }
  }
  st->fc = NULL;
}

/* Return n bytes of a WT stream's receive credit: stream + connection while
 * ngtcp2 still has the stream, the connection's alone after. The session's
 * credit follows (the application consumed them). */
static void credit_back(wt_conn *c, wt_stream *st, uint64_t n) {
  if (!st->q_closed) {
    credit_stream(c, st, n);
  } else {
    credit_conn(c, n);
  }
  fc_consumed(st, n);
}

/* The app holds st's unconsumed bytes (as its own copies, which its buffer
 * pool charged to the budget): attributed to the connection as payload so
 * its budget and "costliest" see them. */
static void rx_attr_sync(wt_stream *st) {
  if (st->unconsumed > st->mem_rx) {
    wt_mem_acct_add(&st->c->mem, st->unconsumed - st->mem_rx, 0);
  } else {
    wt_mem_acct_sub(&st->c->mem, st->mem_rx - st->unconsumed, 0);
  }
  st->mem_rx = st->unconsumed;
}

/* A manual-credit stream will take no more data (reset, STOP_SENDING, closed,
 * aborted): what the app held back no longer needs the stream's window, but
 * the connection window must get it back or it leaks. */
static void stream_release_unconsumed(wt_stream *st) {
  if (st->unconsumed > 0) {
    credit_conn(st->c, st->unconsumed);
    fc_consumed(st, st->unconsumed);
    st->unconsumed = 0;
    rx_attr_sync(st);
    wt_ctx_mark_dirty(st->c);
  }
}

/* ------------------------------------------------------------ lifecycle */

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

static void stream_enqueue(wt_stream *st) {
  if (!st->in_sendq && !st->blocked && st->fc_hold == WT_SFC_HOLD_NONE) {
    wt_list_push(&st->c->sendq, &st->q_link);
    st->in_sendq = 1;
  }
}

/* Free what a buffered stream holds (rbuf), uncounting it. */
static void rbuf_release(wt_stream *st) {
  st->c->buffered_bytes -= st->rcap;
  wt_mem_acct_sub(&st->c->mem, st->rcap, 1);
  free(st->rbuf);
  st->rbuf = NULL;
  st->rlen = st->rcap = 0;
}

void wt_stream_unbuffer(wt_stream *st) {
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
    wt_ctx_call_stream_close(e, st);
  }
}

void wt_stream_abort(wt_stream *st, uint64_t h3_code) {
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
  rbuf_release(st);
  stream_unqueue(st);
  wt_stream_unbuffer(st);
  st->kind = WT_SK_ZOMBIE;
  stream_app_close(st); /* the app still sees its session here */
  fc_detach(st);
  if (st->s) {
    wt_list_del(&st->s_link);
    st->s = NULL;
  }
  if (st->q_closed) {
    stream_gc(st);
  }
  wt_ctx_mark_dirty(c);
}

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
  st->sb.acct = &c->mem;
  wt_list_push(&c->streams, &st->all_link);
  if (ngtcp2_conn_set_stream_user_data(c->qc, sid, st) != 0) {
    wt_list_del(&st->all_link);
    wt_pool_put(&c->e->stream_pool, st);
    return NULL;
  }
  return st;
}

int wt_stream_new_local(wt_conn *c, uint64_t session_id, int bidi, wt_stream **out) {
  wt_stream *st = stream_alloc(c);
  if (st == NULL) {
    return WT_ERR_NOMEM;
  }
  st->c = c;
  st->bidi = bidi != 0;
  st->local = 1;
  st->kind = WT_SK_WT;
  st->session_id = session_id;
  st->rx_done = !st->bidi;
  wt_sendbuf_init(&st->sb);
  st->sb.rq = &c->e->relq;
  st->sb.acct = &c->mem;
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
  p = wt_varint_put(p, session_id);
  st->tx_hdr_len = (uint8_t)(p - hdr);
  if (wt_sendbuf_append(&st->sb, hdr, (size_t)(p - hdr)) != 0) {
    ngtcp2_conn_shutdown_stream(c->qc, 0, st->id, WT_H3_INTERNAL_ERROR);
    ngtcp2_conn_set_stream_user_data(c->qc, st->id, NULL);
    wt_pool_put(&c->e->stream_pool, st);
    return WT_ERR_NOMEM;
  }
  wt_list_push(&c->streams, &st->all_link);
  wt_list_push(&c->sendq, &st->q_link);
  st->in_sendq = 1;
  *out = st;
  return 0;
}

void wt_stream_free(wt_stream *st) {
  if (st->stop_notify) {
    st->c->n_stop_notify--;
  }
  if (st->reset_at_state == 2) {
    st->c->n_reset_due--;
  }
  stream_unqueue(st);
  wt_stream_unbuffer(st);
  fc_detach(st);
  if (st->s) {
    wt_list_del(&st->s_link);
  }
  wt_list_del(&st->all_link);
  wt_list_del(&st->gc_link);
  wt_sendbuf_free(&st->sb);
  st->unconsumed = 0;
  rx_attr_sync(st);
  rbuf_release(st);
  wt_pool_put(&st->c->e->stream_pool, st);
}

/* ------------------------------------------------------------ receive */

/* Hand len bytes (+ fin) of a WT stream to the app. Auto credit: their
 * credit goes back once the callback returned (the app copied them).
 * Manual credit: they count as unconsumed before the callback runs (so the
 * app may consume them inside it) and their credit waits for
 * wt_stream_consume. */
static void stream_to_app(wt_stream *st, const uint8_t *data, size_t len, int fin) {
  wt_conn *c = st->c;
  if (fc_received(st, len) < 0) {
    credit_conn(c, len); /* dropped: the session is reset before the next write */
    return;
  }
  int held = st->manual_credit;
  if (held) {
    st->unconsumed += len;
    rx_attr_sync(st);
  }
  if ((len > 0 || fin) && st->app_visible) {
    wt_ctx_call_stream_data(c->e, st, data, len, fin);
  }
  if (held) {
    return; /* released by stream_app_close if the callback ended the stream */
  }
  if (st->manual_credit && st->app_visible && st->kind == WT_SK_WT) {
    st->unconsumed += len; /* switched on inside the callback: these bytes too */
    rx_attr_sync(st);
  } else {
    credit_back(c, st, len);
  }
}

void wt_stream_attach(wt_stream *st, wt_session *s, wt_list_node *list) {
  wt_engine *e = st->c->e;
  st->s = s;
  wt_list_push(list, &st->s_link);
  st->app_visible = 1;
  e->st.streams_opened++;
  e->st.streams_active++;
}

void wt_stream_replay(wt_stream *st) {
  wt_conn *c = st->c;
  uint8_t *buf = st->rbuf;
  size_t len = st->rlen;
  uint64_t held = st->uncredited;
  c->buffered_bytes -= st->rcap; /* buf is freed below */
  wt_mem_acct_sub(&c->mem, st->rcap, 1);
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
    stream_to_app(st, buf, len, st->rx_fin);
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

void wt_stream_buffer(wt_stream *st) {
  wt_conn *c = st->c;
  WT_LOG_DEBUG("conn=%s session=%llu stream=%lld buffered (session not open yet)", CONN_ID(c),
               (unsigned long long)st->session_id, (long long)st->id);
  st->buffered = 1;
  st->buffered_at = c->e->now;
  c->n_buffered_streams++;
  wt_list_push(&c->buffered_streams, &st->s_link);
  if (c->buffered_deadline == 0) {
    c->buffered_deadline = st->buffered_at + c->e->cfg.buffered_timeout_ns;
  }
}

void wt_stream_deliver(wt_stream *st, const uint8_t *data, size_t len, int fin) {
  wt_conn *c = st->c;
  wt_engine *e = c->e;
  if (st->kind != WT_SK_WT || st->rx_done) {
    credit_conn(c, len);
    if (fc_received(st, len) == 0) {
      fc_consumed(st, len); /* nobody reads them: consumed at once */
    }
    return;
  }
  if (st->buffered) {
    if (len > 0) {
      if (st->rlen + len > st->rcap) {
        size_t ncap = st->rcap ? st->rcap : 1024;
        while (ncap < st->rlen + len) {
          ncap *= 2;
        }
        if (c->buffered_bytes - st->rcap + ncap > e->cfg.max_buffered_bytes) {
          /* draft-ietf-webtrans-http3 section 4.6: bounded, by what is held */
          e->st.buffered_rejected++;
          WT_LOG_DEBUG("conn=%s stream=%lld: buffered bytes past %llu: rejected", CONN_ID(c),
                       (long long)st->id, (unsigned long long)e->cfg.max_buffered_bytes);
          credit_conn(c, len);
          wt_stream_abort(st, WT_BUFFERED_STREAM_REJECTED);
          return;
        }
        uint8_t *nb = realloc(st->rbuf, ncap);
        if (nb == NULL) {
          e->st.errors_internal++;
          credit_conn(c, len);
          wt_stream_abort(st, WT_H3_INTERNAL_ERROR);
          return;
        }
        st->rbuf = nb;
        c->buffered_bytes += ncap - st->rcap;
        wt_mem_acct_add(&c->mem, ncap - st->rcap, 1);
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
  stream_to_app(st, data, len, fin);
}

int wt_stream_classify(wt_stream *st, const uint8_t *data, size_t len, int fin, size_t *consumed) {
  size_t before = 0;
  *consumed = 0;
  wt_stream_hdr_buffered(&st->hdr, &before); /* bytes held so far */
  int rv = wt_stream_hdr_feed(&st->hdr, data, len, consumed);
  switch (rv) {
  case WT_STREAM_HDR_NEED_MORE:
    return fin ? WT_STREAM_RX_H3_END : WT_STREAM_RX_MORE; /* ended before a decision */
  case WT_STREAM_HDR_H3:
    return WT_STREAM_RX_H3;
  case WT_STREAM_HDR_WT:
    st->kind = WT_SK_WT;
    st->session_id = st->hdr.session_id;
    credit_stream(st->c, st, st->hdr.hdr_len);
    return WT_STREAM_RX_WT;
  default:
    /* Bad session ID (draft-ietf-webtrans-http3 section 4): H3_ID_ERROR
     * on this stream only; the connection carries on. */
    st->c->e->st.errors_proto++;
    st->uncredited += before + len;
    wt_stream_abort(st, WT_H3_ID_ERROR);
    return WT_STREAM_RX_DROP;
  }
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
    wt_stream_abort(st, h3_code);
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
  if (st->app_visible) {
    wt_ctx_call_stream_reset(e, st, code, has);
  }
}

/* ------------------------------------------------------------ send side events */

static void stream_tell_stop(wt_stream *st, uint32_t code, int has) {
  if (st->stop_notify) {
    st->stop_notify = 0;
    st->c->n_stop_notify--;
  }
  if (st->stop_told || !st->app_visible) {
    return;
  }
  st->stop_told = 1;
  wt_ctx_call_stream_stop(st->c->e, st, code, has);
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

void wt_stream_notify_stops(wt_conn *c) {
  for (wt_list_node *l = c->streams.next; l != &c->streams && c->n_stop_notify > 0;) {
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
  stream_app_close(st); /* returns unconsumed bytes: session credit too */
  fc_detach(st);
  stream_gc(st);
}

void wt_stream_on_acked(wt_stream *st, uint64_t datalen) {
  wt_engine *e = st->c->e;
  wt_sendbuf_ack(&st->sb, datalen);
  if (st->want_wake && st->app_visible && !st->tx_done &&
      wt_sendbuf_held(&st->sb) <= e->cfg.stream_send_buffer / 2) {
    st->want_wake = 0;
    wt_ctx_call_stream_writable(e, st);
  }
}

void wt_stream_on_written(wt_stream *st, size_t n, size_t total, int fin) {
  wt_sendbuf_consume(&st->sb, n);
  if (fin && n == total) {
    st->tx_done = 1; /* fin handed to ngtcp2 */
  }
  if (st->reset_at_state == 1 && st->sb.sent >= st->reset_at_size) {
    /* the kept bytes are in ngtcp2's hands: reset after this write run
     * (never from inside ngtcp2's write callback) */
    st->reset_at_state = 2;
    st->c->n_reset_due++;
  }
  if (wt_sendbuf_unsent(&st->sb) == 0 && (!st->tx_fin || st->tx_done)) {
    wt_list_del(&st->q_link);
    st->in_sendq = 0;
  } else if (st->in_sendq) {
    /* round robin between WT streams */
    wt_list_del(&st->q_link);
    wt_list_push(&st->c->sendq, &st->q_link);
  }
}

void wt_stream_on_blocked(wt_stream *st, int shut) {
  wt_list_del(&st->q_link);
  st->in_sendq = 0;
  if (shut) {
    wt_stream_peer_stopped(st); /* reported after the write run */
  } else {
    st->blocked = 1;
  }
}

void wt_stream_on_unblocked(wt_stream *st) {
  st->blocked = 0;
  if (!st->in_sendq && st->kind == WT_SK_WT && st->fc_hold == WT_SFC_HOLD_NONE &&
      (wt_sendbuf_unsent(&st->sb) > 0 || (st->tx_fin && !st->tx_done))) {
    wt_list_push(&st->c->sendq, &st->q_link);
    st->in_sendq = 1;
  }
}

void wt_stream_fc_release(wt_stream *st) {
  fc_unhold(st);
  if (st->kind == WT_SK_WT && !st->tx_done &&
      (wt_sendbuf_unsent(&st->sb) > 0 || (st->tx_fin && !st->tx_done))) {
    stream_enqueue(st);
  }
  wt_ctx_mark_dirty(st->c);
}

/* ------------------------------------------------------------ public API */

int wt_stream_write(wt_stream *st, const uint8_t *data, size_t len, int fin) {
  wt_conn *c = st->c;
  if (st->reset_at_state) {
    return WT_ERR_CLOSED; /* wt_stream_reset_at: the send side is ending */
  }
  if (!st->app_visible || st->kind != WT_SK_WT || st->tx_done || st->tx_fin ||
      !wt_ctx_conn_usable(c)) {
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
  stream_enqueue(st);
  wt_ctx_mark_dirty(c);
  return (int)n;
}

static int stream_write_ref(wt_stream *st, const uint8_t *data, size_t len, int fin,
                            wt_release_fn release, void *arg, int *joined) {
  wt_conn *c = st->c;
  if (!st->app_visible || st->kind != WT_SK_WT || (!st->bidi && !st->local) || st->tx_fin) {
    return WT_ERR_STATE;
  }
  if (st->tx_done || st->reset_at_state || !wt_ctx_conn_usable(c)) {
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
  /* Not bounded by stream_send_buffer (the caller bounds its backlog, e.g.
   * the worker's stream credit); joined writes keep what is held per write
   * at the bytes themselves (wt_sendbuf_append_ref_join). */
  int rv = joined ? wt_sendbuf_append_ref_join(&st->sb, data, len, release, arg)
                  : wt_sendbuf_append_ref(&st->sb, data, len, release, arg);
  if (rv < 0) {
    return rv;
  }
  if (joined) {
    *joined = rv;
  }
  if (fin) {
    st->tx_fin = 1;
  }
  stream_enqueue(st);
  wt_ctx_mark_dirty(c);
  return (int)len;
}

int wt_stream_write_ref(wt_stream *st, const uint8_t *data, size_t len, int fin,
                        wt_release_fn release, void *arg) {
  return stream_write_ref(st, data, len, fin, release, arg, NULL);
}

int wt_stream_write_ref_join(wt_stream *st, const uint8_t *data, size_t len, int fin,
                             wt_release_fn release, void *arg, int *joined) {
  *joined = 0;
  return stream_write_ref(st, data, len, fin, release, arg, joined);
}

size_t wt_stream_send_chunks(const wt_stream *st) {
  return wt_sendbuf_chunks(&st->sb);
}

uint64_t wt_stream_send_unsent(const wt_stream *st) {
  return wt_sendbuf_unsent(&st->sb);
}

uint64_t wt_stream_send_backlog(const wt_stream *st) {
  const wt_sendbuf *b = &st->sb;
  uint64_t from = b->acked > st->tx_hdr_len ? b->acked : st->tx_hdr_len;
  return b->end > from ? b->end - from : 0;
}

static int stream_reset_ok(const wt_stream *st) {
  return st->app_visible && st->kind == WT_SK_WT && !(st->tx_done && !st->tx_fin) &&
         !st->q_closed && (st->bidi || st->local);
}

/* Reset the send side now with h3_code, keeping [0, keep) deliverable when
 * ngtcp2 already has those bytes (else a plain RESET_STREAM). */
static void stream_reset_now(wt_stream *st, uint64_t h3_code, uint64_t keep) {
  wt_conn *c = st->c;
  if (keep > st->sb.sent) {
    keep = st->sb.sent;
  }
  wt_conn_reset_stream_keep(c, st->id, h3_code, keep);
  if (st->reset_at_state == 2) {
    c->n_reset_due--;
  }
  st->reset_at_state = 0;
  st->tx_done = 1;
  st->tx_fin = 0;
  stream_unqueue(st);
  wt_sendbuf_drop_unsent(&st->sb);
  wt_ctx_mark_dirty(c);
}

int wt_stream_reset(wt_stream *st, uint32_t code) {
  if (!stream_reset_ok(st)) {
    return WT_ERR_STATE;
  }
  /* draft-ietf-webtrans-http3 section 4.4: app codes travel as HTTP/3 codes;
   * the WT stream header stays deliverable (RESET_STREAM_AT) so the peer can
   * tell which session the reset stream belonged to. */
  stream_reset_now(st, wt_errmap_app_to_h3(code), st->tx_hdr_len);
  return 0;
}

int wt_stream_reset_at(wt_stream *st, uint32_t code, uint64_t keep) {
  if (!stream_reset_ok(st)) {
    return WT_ERR_STATE;
  }
  wt_conn *c = st->c;
  uint64_t h3 = wt_errmap_app_to_h3(code);
  uint64_t at = st->tx_hdr_len + keep;
  if (at > st->sb.end) {
    at = st->sb.end; /* never more than was written */
  }
  if (!wt_conn_peer_reset_at(c) || st->sb.sent >= at || st->tx_done) {
    stream_reset_now(st, h3, at);
    return 0;
  }
  /* draft-ietf-quic-reliable-stream-reset section 4 (docs/protocol.md
   * section 2): Reliable Size may not exceed what was sent, so the kept
   * bytes go out first; the rest never does. */
  wt_sendbuf_drop_from(&st->sb, at);
  st->tx_fin = 0;
  st->reset_at_state = 1;
  st->reset_at_code = h3;
  st->reset_at_size = at;
  stream_enqueue(st);
  wt_ctx_mark_dirty(c);
  return 0;
}

int wt_stream_run_resets(wt_conn *c) {
  int n = 0;
  for (wt_list_node *l = c->streams.next; l != &c->streams && c->n_reset_due > 0;) {
    wt_stream *st = wt_container_of(l, wt_stream, all_link);
    l = l->next;
    if (st->reset_at_state != 2) {
      continue;
    }
    if (st->tx_done || st->q_closed) {
      /* stopped or closed meanwhile: ngtcp2 already ended the send side */
      st->reset_at_state = 0;
      c->n_reset_due--;
      continue;
    }
    stream_reset_now(st, st->reset_at_code, st->reset_at_size);
    n++;
  }
  return n > 0;
}

int wt_stream_stop_sending(wt_stream *st, uint32_t code) {
  wt_conn *c = st->c;
  if (!st->app_visible || st->kind != WT_SK_WT || st->rx_done || st->q_closed) {
    return WT_ERR_STATE;
  }
  ngtcp2_conn_shutdown_stream_read(c->qc, 0, st->id, wt_errmap_app_to_h3(code));
  st->rx_done = 1;
  stream_release_unconsumed(st);
  wt_ctx_mark_dirty(c);
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
    rx_attr_sync(st);
    credit_back(st->c, st, n);
    wt_ctx_mark_dirty(st->c);
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
    rx_attr_sync(st);
    credit_back(st->c, st, n);
    wt_ctx_mark_dirty(st->c);
  }
  return (int)n;
}

uint64_t wt_stream_peer_reset_code(const wt_stream *st) {
  return st->peer_reset_code;
}
uint64_t wt_stream_peer_stop_code(const wt_stream *st) {
  return st->peer_stop_code;
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
void wt_stream_set_user(wt_stream *st, void *u) {
  st->user = u;
}
void *wt_stream_get_user(const wt_stream *st) {
  return st->user;
}
