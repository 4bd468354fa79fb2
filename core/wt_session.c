/* wt_session.c: WebTransport sessions (wt_session.h): the state machine,
 * capsules on the CONNECT stream, routing of peer streams and datagrams,
 * and the public session API. */
#define WT_LOG_MODULE "wt"
#include "wt_session.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wt_conn.h"
#include "wt_datagram.h"
#include "wt_dgram.h"
#include "wt_errmap.h"
#include "wt_log.h"
#include "wt_varint.h"

_Static_assert(WT_SS_COUNT <= WT_CTX_SESSION_STATES, "wt_engine.session_entered too small");

/* ------------------------------------------------------------ state machine */

static const char *const ss_names[WT_SS_COUNT] = {"request", "sent", "open", "closed", "refused"};

static int ss_legal(int from, int to) {
  switch (from) {
  case WT_SS_REQUEST:
    return to == WT_SS_SENT || to == WT_SS_OPEN || to == WT_SS_REFUSED;
  case WT_SS_SENT:
    return to == WT_SS_OPEN || to == WT_SS_REFUSED;
  case WT_SS_OPEN:
    return to == WT_SS_CLOSED;
  case WT_SS_CLOSED:
  case WT_SS_REFUSED:
    return 0; /* final */
  default:
    return 0; /* unreachable: state is always a WT_SS_* */
  }
}

void wt_session_set_state(wt_session *s, int to) {
  wt_conn *c = s->c;
  int legal = to >= 0 && to < WT_SS_COUNT && ss_legal(s->state, to);
  if (!legal) {
    WT_LOG_ERROR("conn=%s session=%lld: illegal state change %d -> %d", CONN_ID(c),
                 (long long)s->id, s->state, to);
    assert(legal);
    return;
  }
  WT_LOG_DEBUG("conn=%s session=%lld %s: %s -> %s", CONN_ID(c), (long long)s->id,
               c->is_server ? "server" : "client", ss_names[s->state], ss_names[to]);
  c->e->session_entered[to]++;
  s->state = to;
}

/* ------------------------------------------------------------ lifecycle */

wt_session *wt_session_new(wt_conn *c, int64_t id) {
  wt_session *s = calloc(1, sizeof(*s));
  if (s == NULL) {
    return NULL;
  }
  s->c = c;
  s->id = id;
  s->state = WT_SS_REQUEST;
  c->e->session_entered[WT_SS_REQUEST]++;
  s->peer_reset_code = UINT64_MAX;
  wt_hdrs_init(&s->hdrs);
  wt_sfc_init(&s->fc);
  wt_sendbuf_init(&s->cap_out);
  s->cap_out.acct = &c->mem;
  wt_list_init(&s->streams);
  wt_list_push(&c->sessions, &s->link);
  return s;
}

wt_session *wt_session_new_client(wt_conn *c, const char *authority, const char *path,
                                  const char *origin) {
  wt_session *s = wt_session_new(c, -1);
  if (s == NULL) {
    return NULL;
  }
  s->authority = strdup(authority);
  s->path = strdup(path);
  s->origin = origin ? strdup(origin) : NULL;
  if (s->authority == NULL || s->path == NULL || (origin && s->origin == NULL)) {
    wt_list_del(&s->link);
    wt_session_del(s);
    return NULL;
  }
  return s;
}

void wt_session_del(wt_session *s) {
  while (!wt_list_empty(&s->streams)) {
    wt_stream *st = wt_container_of(s->streams.next, wt_stream, s_link);
    wt_list_del(&st->s_link);
    st->s = NULL;
    if (st->fc_hold != WT_SFC_HOLD_NONE) {
      wt_list_del(&st->fc_link);
      st->fc_hold = WT_SFC_HOLD_NONE;
    }
    st->fc = NULL; /* s->fc goes with s */
  }
  free(s->method);
  free(s->protocol);
  free(s->scheme);
  free(s->authority);
  free(s->path);
  free(s->origin);
  wt_hdrs_free(&s->hdrs);
  wt_sendbuf_free(&s->cap_out);
  free(s->cp);
  free(s);
}

void wt_session_collect(wt_session *s) {
  if (!s->gc) {
    wt_list_del(&s->link);
    wt_list_push(&s->c->gc_sessions, &s->gc_link);
    s->gc = 1;
  }
}

wt_session *wt_session_find(wt_conn *c, int64_t id) {
  if (id < 0) {
    return NULL;
  }
  for (wt_list_node *l = c->sessions.next; l != &c->sessions; l = l->next) {
    wt_session *s = wt_container_of(l, wt_session, link);
    if (s->id == id) {
      return s;
    }
  }
  return NULL;
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

static void remember_closed(wt_conn *c, uint64_t id) {
  c->closed_ids[c->n_closed_ids++ % WT_CLOSED_IDS] = id;
}

int wt_session_none_left(wt_conn *c) {
  if (c->n_open_sessions > 0) {
    return 0;
  }
  for (wt_list_node *l = c->sessions.next; l != &c->sessions; l = l->next) {
    wt_session *o = wt_container_of(l, wt_session, link);
    if (o->state == WT_SS_OPEN || o->state == WT_SS_REQUEST) {
      return 0;
    }
  }
  return 1;
}

/* Server: arm the connection's close grace timer if no session is left. */
static void session_grace(wt_conn *c, const char *why) {
  /* Chromium leaves a connection without sessions open and silent until
   * the idle timeout; close it ourselves (H3_NO_ERROR) after the grace. */
  if (c->is_server && wt_session_none_left(c)) {
    wt_ctx_arm_grace(c, why);
  }
}

void wt_session_peer_ended(wt_conn *c) {
  session_grace(c, "peer ended its last session");
}

/* ------------------------------------------------------------ streams */

/* A peer stream for open session s: counted against our stream limit
 * (draft-16 section 5.3). Returns 0, or -1 after resetting the stream and
 * the session (WT_FLOW_CONTROL_ERROR) because the peer overran it. */
static int stream_fc_admit(wt_session *s, wt_stream *st) {
  if (!s->fc.on || wt_sfc_rx_stream(&s->fc, !st->bidi) == 0) {
    return 0;
  }
  wt_conn *c = s->c;
  WT_LOG_INFO("conn=%s session=%lld: peer opened a %s stream beyond our limit %llu: "
              "WT_FLOW_CONTROL_ERROR",
              CONN_ID(c), (long long)s->id, st->bidi ? "bidi" : "uni",
              (unsigned long long)s->fc.rx_max_streams[st->bidi ? WT_SFC_BIDI : WT_SFC_UNI]);
  c->e->st.fc_errors++;
  wt_stream_abort(st, WT_FLOW_CONTROL_ERROR);
  wt_session_abort(s, WT_FLOW_CONTROL_ERROR);
  return -1;
}

static void stream_attach(wt_session *s, wt_stream *st) {
  wt_stream_attach(st, s, &s->streams);
  st->fc = s->fc.on ? &s->fc : NULL;
  wt_ctx_call_stream_open(s->c->e, s, st);
}

/* A buffered stream meets its session: announce it, then hand over the
 * bytes held for it (draft-ietf-webtrans-http3 section 4.6). */
static void stream_adopt(wt_session *s, wt_stream *st) {
  wt_stream_unbuffer(st);
  if (stream_fc_admit(s, st) != 0) {
    return;
  }
  stream_attach(s, st);
  wt_stream_replay(st);
}

static void reject_buffered(wt_conn *c, uint64_t session_id, uint64_t h3_code) {
  for (wt_list_node *l = c->buffered_streams.next; l != &c->buffered_streams;) {
    wt_stream *st = wt_container_of(l, wt_stream, s_link);
    l = l->next;
    if (st->session_id == session_id) {
      wt_stream_abort(st, h3_code);
    }
  }
  wt_dgram_reject_buffered(c, session_id);
}

void wt_session_route_stream(wt_conn *c, wt_stream *st) {
  wt_engine *e = c->e;
  wt_session *s = wt_session_find(c, (int64_t)st->session_id);
  WT_LOG_DEBUG("conn=%s session=%llu stream=%lld %s: WT stream (session %s)", CONN_ID(c),
               (unsigned long long)st->session_id, (long long)st->id,
               c->is_server ? "server" : "client",
               s ? (s->state == WT_SS_OPEN ? "open" : "not open") : "unknown");
  if (s && s->state == WT_SS_OPEN) {
    if (stream_fc_admit(s, st) == 0) {
      stream_attach(s, st);
    }
    return;
  }
  if ((s && s->state != WT_SS_REQUEST && s->state != WT_SS_SENT) ||
      (s == NULL && recently_closed(c, st->session_id))) {
    wt_stream_abort(st, WT_SESSION_GONE);
    return;
  }
  /* draft-ietf-webtrans-http3 section 4.6: buffer streams for a session not
   * yet known, up to a limit; reject the rest. */
  if (c->n_buffered_streams >= e->cfg.max_buffered_streams) {
    e->st.buffered_rejected++;
    wt_stream_abort(st, WT_BUFFERED_STREAM_REJECTED);
    return;
  }
  wt_stream_buffer(st);
}

void wt_session_expire_buffered(wt_conn *c) {
  wt_engine *e = c->e;
  uint64_t next = 0;
  for (wt_list_node *l = c->buffered_streams.next; l != &c->buffered_streams;) {
    wt_stream *st = wt_container_of(l, wt_stream, s_link);
    l = l->next;
    if (wt_session_find(c, (int64_t)st->session_id) != NULL) {
      continue; /* its session's request is pending: it waits with it */
    }
    uint64_t due = st->buffered_at + e->cfg.buffered_timeout_ns;
    if (due <= e->now) {
      e->st.buffered_expired++;
      WT_LOG_DEBUG("conn=%s session=%llu stream=%lld: no such session after %llu ms: rejected",
                   CONN_ID(c), (unsigned long long)st->session_id, (long long)st->id,
                   (unsigned long long)(e->cfg.buffered_timeout_ns / 1000000));
      wt_stream_abort(st, WT_BUFFERED_STREAM_REJECTED); /* unlinks st */
      l = c->buffered_streams.next;                     /* restart: the list changed */
      next = 0;
    } else if (next == 0 || due < next) {
      next = due;
    }
  }
  c->buffered_deadline = next;
}

/* ------------------------------------------------------------ datagrams */

void wt_session_recv_datagram(wt_conn *c, const uint8_t *data, size_t len) {
  wt_engine *e = c->e;
  uint64_t sid;
  size_t off;
  e->st.datagrams_in++;
  if (c->is_server && wt_mem_level(e->cfg.mem) >= WT_MEM_NO_DGRAM) {
    /* memory pressure (wt_engine_config.mem): not copied for the app */
    e->st.datagrams_dropped++;
    e->st.mem_dgrams_dropped++;
    return;
  }
  if (wt_datagram_decode(data, len, &sid, &off) != 0) {
    /* RFC 9297 section 2.1: malformed -> H3_DATAGRAM_ERROR. */
    e->st.errors_proto++;
    c->err_code = WT_H3_DATAGRAM_ERROR;
    c->err_is_app = 1;
    c->err_set = 1;
    return;
  }
  wt_session *s = wt_session_find(c, (int64_t)sid);
  if (s && s->state == WT_SS_OPEN) {
    wt_ctx_call_datagram(e, s, data + off, len - off);
    return;
  }
  int may_come =
      s ? (s->state == WT_SS_REQUEST || s->state == WT_SS_SENT) : !recently_closed(c, sid);
  if (!may_come) {
    e->st.datagrams_dropped++;
    return;
  }
  wt_dgram_buffer(c, sid, data + off, len - off);
}

/* ------------------------------------------------------------ transitions */

void wt_session_opened(wt_session *s) {
  wt_conn *c = s->c;
  wt_engine *e = c->e;
  c->n_open_sessions++;
  e->st.sessions_opened++;
  e->st.sessions_active++;
  s->app_open = 1;
  wt_session_fc_start(s);
  WT_LOG_DEBUG("conn=%s session=%lld %s: session open path=%.*s protocol=%.64s", CONN_ID(c),
               (long long)s->id, c->is_server ? "server" : "client",
               WT_LOG_NOQUERY(s->path ? s->path : "-"), s->hdrs.protocol ? s->hdrs.protocol : "-");
  wt_ctx_call_session_open(e, s);
  /* Streams and datagrams that arrived before the session. */
  for (wt_list_node *l = c->buffered_streams.next;
       l != &c->buffered_streams && s->state == WT_SS_OPEN;) {
    wt_stream *st = wt_container_of(l, wt_stream, s_link);
    l = l->next;
    if (st->session_id == (uint64_t)s->id) {
      stream_adopt(s, st);
      l = c->buffered_streams.next; /* callbacks may have changed the list */
    }
  }
  wt_dgram *d;
  while ((d = wt_dgram_take_buffered(c, (uint64_t)s->id)) != NULL) {
    if (s->state == WT_SS_OPEN) {
      wt_ctx_call_datagram(e, s, d->data, d->len);
    }
    wt_dgram_free(e, d);
  }
  wt_ctx_mark_dirty(c);
}

void wt_session_resume(wt_session *s) {
  wt_conn *c = s->c;
  if (c->h3 && s->h3_submitted && !s->h3_closed && s->id >= 0) {
    nghttp3_conn_resume_stream(c->h3, s->id);
  }
  wt_ctx_mark_dirty(c);
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
  wt_session_set_state(s, WT_SS_CLOSED);
  wt_ctx_note_session_end(c, s->close_sent, code, reason, reason_len);
  c->n_open_sessions--;
  e->st.sessions_active--;
  e->st.sessions_closed++;
  remember_closed(c, (uint64_t)s->id);
  /* docs/protocol.md section 4: reset the send side and STOP_SENDING
   * the receive side of every stream with SESSION_GONE. */
  while (!wt_list_empty(&s->streams)) {
    wt_stream *st = wt_container_of(s->streams.next, wt_stream, s_link);
    wt_stream_abort(st, WT_SESSION_GONE);
  }
  wt_dgram_drop_session(c, (uint64_t)s->id);
  /* Our side of the CONNECT stream ends too (after any queued capsule). */
  if (!s->cap_fin) {
    s->cap_fin = 1;
    wt_session_resume(s);
  }
  if (s->app_open) {
    s->app_open = 0;
    wt_ctx_call_session_close(e, s, code, reason, reason_len, clean);
  }
  wt_ctx_mark_dirty(c);
}

void wt_session_refused_client(wt_session *s, int status) {
  wt_conn *c = s->c;
  wt_engine *e = c->e;
  if (s->state != WT_SS_REQUEST && s->state != WT_SS_SENT) {
    return;
  }
  wt_session_set_state(s, WT_SS_REFUSED);
  e->st.sessions_refused++;
  if (s->id >= 0) {
    reject_buffered(c, (uint64_t)s->id, WT_SESSION_GONE);
  }
  wt_ctx_call_session_refused(e, s, status);
  if (s->id >= 0 && !s->h3_closed) {
    s->cap_fin = 1;
    wt_session_resume(s);
  } else {
    wt_session_collect(s);
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

void wt_session_reject(wt_session *s, uint64_t h3_code) {
  wt_conn *c = s->c;
  /* draft-ietf-webtrans-http3 section 3.2 / docs/protocol.md section 3:
   * too many sessions -> reset the CONNECT stream with H3_REQUEST_REJECTED. */
  ngtcp2_conn_shutdown_stream(c->qc, 0, s->id, h3_code);
  wt_session_set_state(s, WT_SS_REFUSED);
  c->e->st.sessions_refused++;
  wt_ctx_mark_dirty(c);
}

void wt_session_drained(wt_session *s) {
  if (s->state == WT_SS_OPEN && s->app_open && !s->drain_told) {
    s->drain_told = 1;
    wt_ctx_call_session_drain(s->c->e, s);
  }
}

/* ------------------------------------------------------------ flow control */

/* Queue one flow-control capsule on the CONNECT stream (not after our
 * CLOSE or FIN). */
static void fc_send(wt_session *s, uint64_t type, uint64_t value) {
  if (s->state != WT_SS_OPEN || s->cap_fin) {
    return;
  }
  uint8_t buf[WT_CAPSULE_FC_ENCODED_MAX];
  int n = wt_capsule_fc_encode(buf, sizeof(buf), type, value);
  if (n > 0 && wt_session_queue_capsule(s, buf, (size_t)n, 0) != 0) {
    s->c->e->st.errors_internal++;
  }
}

void wt_session_fc_start(wt_session *s) {
  wt_conn *c = s->c;
  wt_engine *e = c->e;
  const wt_engine_config *cfg = &e->cfg;
  int offer = wt_settings_profile_offers_fc(c->profile) &&
              (cfg->wt_initial_max_data | cfg->wt_initial_max_streams_bidi |
               cfg->wt_initial_max_streams_uni) != 0;
  /* draft-16 section 5.1: on when both ends sent a non-zero WT_INITIAL_*. */
  if (s->fc.on || !wt_settings_fc_negotiated(&c->rd, offer)) {
    return;
  }
  uint64_t d = 0, b = 0, u = 0;
  wt_ctrl_reader_get(&c->rd, WT_SETTING_WT_INITIAL_MAX_DATA, &d);
  wt_ctrl_reader_get(&c->rd, WT_SETTING_WT_INITIAL_MAX_STREAMS_BIDI, &b);
  wt_ctrl_reader_get(&c->rd, WT_SETTING_WT_INITIAL_MAX_STREAMS_UNI, &u);
  /* what our SETTINGS granted: c's windows (wt_h3_setup) */
  wt_sfc_start(&s->fc, c->win.wt_data, c->win.wt_streams_bidi, c->win.wt_streams_uni,
               cfg->wt_max_data_window, d, b, u, e->now);
  s->cp_fc = 1;
  if (s->cp) {
    wt_capsule_parser_set_flow_control(s->cp, 1);
  }
  e->st.fc_sessions++;
  WT_LOG_DEBUG("conn=%s session=%lld %s: flow control on: we grant %llu bytes %llu/%llu "
               "streams, peer grants %llu bytes %llu/%llu streams",
               CONN_ID(c), (long long)s->id, c->is_server ? "server" : "client",
               (unsigned long long)c->win.wt_data, (unsigned long long)c->win.wt_streams_bidi,
               (unsigned long long)c->win.wt_streams_uni, (unsigned long long)d,
               (unsigned long long)b, (unsigned long long)u);
}

/* The peer overran a limit of s: reset the CONNECT stream with
 * WT_FLOW_CONTROL_ERROR (draft-16 section 5), which ends the session. */
static void fc_violation(wt_session *s, const char *what) {
  wt_conn *c = s->c;
  WT_LOG_INFO("conn=%s session=%lld: peer overran our %s limit: WT_FLOW_CONTROL_ERROR", CONN_ID(c),
              (long long)s->id, what);
  c->e->st.fc_errors++;
  wt_session_abort(s, WT_FLOW_CONTROL_ERROR);
}

void wt_session_fc_flush(wt_conn *c) {
  wt_engine *e = c->e;
  if (!c->fc_pending) {
    return;
  }
  c->fc_pending = 0;
  for (wt_list_node *l = c->sessions.next; l != &c->sessions;) {
    wt_session *s = wt_container_of(l, wt_session, link);
    l = l->next;
    if (!s->fc.on || s->state != WT_SS_OPEN) {
      continue;
    }
    if (s->fc.err) {
      fc_violation(s, "data");
      continue;
    }
    int due =
        s->fc.update_data | s->fc.update_streams[WT_SFC_BIDI] | s->fc.update_streams[WT_SFC_UNI];
    if (due && wt_engine_mem_withhold(c)) {
      if (!s->fc_held) {
        s->fc_held = 1;
        e->st.mem_session_credit_withheld++;
      }
      continue; /* the flags stay: wt_session_fc_repay */
    }
    s->fc_held = 0;
    if (s->fc.update_data) {
      s->fc.update_data = 0;
      fc_send(s, WT_CAPSULE_MAX_DATA, s->fc.rx_max_data);
      e->st.fc_updates_sent++;
    }
    for (int k = WT_SFC_BIDI; k <= WT_SFC_UNI; k++) {
      if (s->fc.update_streams[k]) {
        s->fc.update_streams[k] = 0;
        fc_send(s, k == WT_SFC_UNI ? WT_CAPSULE_MAX_STREAMS_UNI : WT_CAPSULE_MAX_STREAMS_BIDI,
                s->fc.rx_max_streams[k]);
        e->st.fc_updates_sent++;
      }
    }
  }
}

void wt_session_fc_repay(wt_conn *c) {
  for (wt_list_node *l = c->sessions.next; l != &c->sessions; l = l->next) {
    wt_session *s = wt_container_of(l, wt_session, link);
    if (s->fc_held) {
      c->fc_pending = 1; /* wt_session_fc_flush sends what is due */
    }
  }
  if (c->fc_pending) {
    wt_ctx_mark_dirty(c);
  }
}

void wt_session_fc_data_blocked(wt_stream *st) {
  wt_session *s = st->s;
  wt_stream_fc_hold(st, WT_SFC_HOLD_DATA);
  st->c->e->st.fc_data_blocked++;
  /* draft-16 section 5.6.3: tell the peer, once per limit. */
  if (s && wt_sfc_data_blocked_due(&s->fc)) {
    fc_send(s, WT_CAPSULE_DATA_BLOCKED, s->fc.tx_max_data);
  }
}

/* The peer raised its data limit: every stream held for data may try. */
static void fc_release_data(wt_session *s) {
  for (wt_list_node *l = s->fc.waitq.next; l != &s->fc.waitq;) {
    wt_stream *st = wt_container_of(l, wt_stream, fc_link);
    l = l->next;
    if (st->fc_hold == WT_SFC_HOLD_DATA) {
      wt_stream_fc_release(st);
    }
  }
}

/* The peer raised a stream limit: waiting streams of that type go, in the
 * order they were opened, while credit lasts. */
static void fc_release_streams(wt_session *s, int uni) {
  for (wt_list_node *l = s->fc.waitq.next; l != &s->fc.waitq;) {
    wt_stream *st = wt_container_of(l, wt_stream, fc_link);
    l = l->next;
    if (st->fc_hold != WT_SFC_HOLD_STREAM || (st->bidi ? 0 : 1) != uni) {
      continue;
    }
    if (!wt_sfc_tx_stream_take(&s->fc, uni)) {
      break;
    }
    wt_stream_fc_release(st);
  }
}

/* A flow-control capsule from the peer (known only when flow control is
 * on). Returns 0, or -1 when the session was reset. */
static int fc_recv(wt_session *s, const wt_capsule *cap) {
  wt_engine *e = s->c->e;
  uint64_t v;
  if (wt_capsule_fc_decode(cap, &v) != 0) {
    wt_session_abort(s, WT_H3_MESSAGE_ERROR); /* RFC 9297 section 3.3 */
    return -1;
  }
  switch (cap->type) {
  case WT_CAPSULE_MAX_DATA:
    if (wt_sfc_on_max_data(&s->fc, v) == 1) {
      fc_release_data(s);
    }
    return 0;
  case WT_CAPSULE_MAX_STREAMS_BIDI:
  case WT_CAPSULE_MAX_STREAMS_UNI: {
    int uni = cap->type == WT_CAPSULE_MAX_STREAMS_UNI;
    int rv = wt_sfc_on_max_streams(&s->fc, uni, v);
    if (rv < 0) {
      fc_violation(s, "stream count encoding");
      return -1;
    }
    if (rv == 1) {
      fc_release_streams(s, uni);
    }
    return 0;
  }
  case WT_CAPSULE_DATA_BLOCKED:
  case WT_CAPSULE_STREAMS_BLOCKED_BIDI:
  case WT_CAPSULE_STREAMS_BLOCKED_UNI:
    /* The peer waits for us; our limits grow as the application consumes
     * (wt_sfc_rx_consumed), so this is only counted. */
    e->st.fc_blocked_recv++;
    WT_LOG_DEBUG("conn=%s session=%lld: peer blocked (capsule 0x%llx at %llu)", CONN_ID(s->c),
                 (long long)s->id, (unsigned long long)cap->type, (unsigned long long)v);
    return 0;
  default:
    return 0; /* unreachable: the parser returns only known types */
  }
}

/* ------------------------------------------------------------ CONNECT stream */

void wt_session_recv_capsules(wt_session *s, const uint8_t *data, size_t len) {
  size_t off = 0;
  if (s->cp == NULL && len > 0 && s->state == WT_SS_OPEN) {
    s->cp = malloc(sizeof(*s->cp));
    if (s->cp == NULL) {
      wt_session_abort(s, WT_H3_INTERNAL_ERROR);
      return;
    }
    wt_capsule_parser_init(s->cp);
    wt_capsule_parser_set_flow_control(s->cp, s->cp_fc);
  }
  if (s->cp == NULL) {
    return; /* nothing to parse (or not open) */
  }
  while (s->state == WT_SS_OPEN) {
    size_t consumed = 0;
    wt_capsule cap;
    int rv = wt_capsule_parser_feed(s->cp, data + off, len - off, &consumed, &cap);
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
      wt_session_peer_ended(s->c);
      break;
    }
    if (cap.type == WT_CAPSULE_DRAIN_SESSION) {
      wt_session_drained(s);
    } else if (cap.type != WT_CAPSULE_CLOSE_SESSION && fc_recv(s, &cap) != 0) {
      break;
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
  wt_session_resume(s);
  return 0;
}

void wt_session_on_acked(wt_session *s, uint64_t datalen) {
  wt_conn *c = s->c;
  wt_sendbuf_ack(&s->cap_out, datalen);
  /* docs/protocol.md section 4: once our CLOSE capsule is acknowledged
   * and no session is left, close the connection (some clients never read
   * capsules and would keep it open), after a grace period. */
  if (c->is_server && s->close_sent && s->cap_out.acked >= s->close_end) {
    session_grace(c, "CLOSE capsule acked");
  }
}

/* Body of a CONNECT stream: the capsules we queued. WOULDBLOCK until one is
 * queued (wt_session_resume), EOF once cap_fin is set and all is given. */
nghttp3_ssize wt_session_read_capsules(nghttp3_conn *h3, int64_t sid, nghttp3_vec *vec,
                                       size_t veccnt, uint32_t *pflags, void *ud, void *sud) {
  wt_session *s = sud;
  if (s == NULL) {
    *pflags |= NGHTTP3_DATA_FLAG_EOF;
    return 0;
  }
  size_t n = wt_sendbuf_peek(&s->cap_out, (wt_iov *)vec, veccnt, SIZE_MAX);
  size_t total = 0;
  for (size_t i = 0; i < n; i++) {
    total += vec[i].len;
  }
  wt_sendbuf_consume(&s->cap_out, total);
  if (s->cap_fin && wt_sendbuf_unsent(&s->cap_out) == 0) {
    *pflags |= NGHTTP3_DATA_FLAG_EOF;
    return (nghttp3_ssize)n;
  }
  if (n == 0) {
    return NGHTTP3_ERR_WOULDBLOCK;
  }
  return (nghttp3_ssize)n;
}

int wt_session_submit_response(wt_session *s, int status) {
  wt_conn *c = s->c;
  char st[4];
  snprintf(st, sizeof(st), "%03d", status > 0 && status < 1000 ? status : 500);
  nghttp3_nv nva[2 + WT_HDRS_OUT_NV_MAX] = {
      {(uint8_t *)":status", (uint8_t *)st, 7, 3, NGHTTP3_NV_FLAG_NONE},
      /* docs/protocol.md section 3: draft-02 peers look for this. */
      {(uint8_t *)"sec-webtransport-http3-draft", (uint8_t *)"draft02", 28, 7,
       NGHTTP3_NV_FLAG_NONE},
  };
  nghttp3_data_reader dr = {.read_data = wt_session_read_capsules};
  /* The draft header goes to the dialects that may look for it: draft-02,
   * and draft-07 clients, which also offer draft-02 (Chromium, Deno);
   * drafts 13+ have none (docs/protocol.md section 3). */
  size_t nh = s->dialect <= WT_DIALECT_07 ? 2 : 1;
  int rv;
  if (status == 200) {
    /* WT-Protocol and the app's fields (wt_hdrs.h) after the dialect's */
    size_t n = nh + wt_hdrs_out_nv(&s->hdrs, nva + nh, WT_HDRS_OUT_NV_MAX, 1);
    rv = nghttp3_conn_submit_response(c->h3, s->id, nva, n, &dr);
    s->h3_submitted = rv == 0;
    c->e->st.protocols_chosen += rv == 0 && s->hdrs.protocol != NULL;
  } else {
    nva[1] = nva[0]; /* the app's fields follow :status */
    size_t n = 1 + wt_hdrs_out_nv(&s->hdrs, nva + 2, WT_HDRS_OUT_NV_MAX, 0);
    rv = nghttp3_conn_submit_response(c->h3, s->id, nva + 1, n, NULL);
  }
  wt_ctx_mark_dirty(c);
  return rv;
}

/* ------------------------------------------------------------ deferred CONNECT */

/* A pending session stops waiting (answered or given up). */
static void pending_done(wt_session *s) {
  s->deferred = 0;
  s->c->n_pending_sessions--;
}

/* Refused: streams and datagrams held for it go (SESSION_GONE). */
static void pending_refused(wt_session *s) {
  wt_conn *c = s->c;
  wt_session_set_state(s, WT_SS_REFUSED);
  c->e->st.sessions_refused++;
  remember_closed(c, (uint64_t)s->id);
  reject_buffered(c, (uint64_t)s->id, WT_SESSION_GONE);
  wt_ctx_mark_dirty(c);
}

void wt_session_pending_end(wt_session *s, int status, int reset) {
  wt_conn *c = s->c;
  if (!s->deferred) {
    return;
  }
  WT_LOG_DEBUG("conn=%s session=%lld server: deferred session given up (status %d)", CONN_ID(c),
               (long long)s->id, status);
  pending_done(s);
  int live = c->h3 && !s->h3_closed && c->state < WT_CS_CLOSING;
  if (live && status > 0) {
    wt_session_submit_response(s, status); /* best effort: the session ends either way */
  } else if (live && reset) {
    /* RFC 9114 section 4.1.1: a request we will not answer is cancelled. */
    ngtcp2_conn_shutdown_stream(c->qc, 0, s->id, WT_H3_REQUEST_CANCELLED);
    nghttp3_conn_shutdown_stream_write(c->h3, s->id);
  }
  pending_refused(s);
  wt_ctx_call_session_close(c->e, s, 0, NULL, 0, 0);
}

/* ------------------------------------------------------------ public API */

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
  int rv = wt_session_submit_response(s, status);
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
    wt_session_set_state(s, WT_SS_OPEN);
    wt_session_opened(s);
  } else {
    pending_refused(s);
  }
  return 0;
}

int wt_session_open_stream(wt_session *s, int bidi, wt_stream **out) {
  wt_conn *c = s->c;
  if (s->state != WT_SS_OPEN || !wt_ctx_conn_usable(c)) {
    return WT_ERR_STATE;
  }
  int uni = !bidi;
  int hold = 0;
  if (s->fc.on && !wt_sfc_tx_stream_take(&s->fc, uni)) {
    /* draft-16 section 5.3: beyond the peer's WT_MAX_STREAMS the stream
     * waits (header unsent) for more credit; bounded per session. */
    if (wt_sfc_streams_blocked_due(&s->fc, uni)) {
      fc_send(s, uni ? WT_CAPSULE_STREAMS_BLOCKED_UNI : WT_CAPSULE_STREAMS_BLOCKED_BIDI,
              s->fc.tx_max_streams[uni ? WT_SFC_UNI : WT_SFC_BIDI]);
    }
    if (s->fc.n_wait_streams >= c->e->cfg.wt_max_waiting_streams) {
      return WT_ERR_AGAIN;
    }
    hold = 1;
  }
  wt_stream *st = NULL;
  int rv = wt_stream_new_local(c, (uint64_t)s->id, bidi, &st);
  if (rv < 0) {
    if (s->fc.on && !hold) {
      s->fc.tx_streams[uni ? WT_SFC_UNI : WT_SFC_BIDI]--; /* not used after all */
    }
    return rv;
  }
  wt_stream_attach(st, s, &s->streams);
  st->fc = s->fc.on ? &s->fc : NULL;
  if (hold) {
    wt_stream_fc_hold(st, WT_SFC_HOLD_STREAM);
    c->e->st.fc_streams_waited++;
    c->e->st.fc_streams_blocked++;
  }
  if (out) {
    *out = st;
  }
  wt_ctx_mark_dirty(c);
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

/* Queue one outgoing datagram: copied, or referenced when is_ref. */
static int session_send_datagram(wt_session *s, const uint8_t *data, size_t len, int is_ref,
                                 wt_release_fn release, void *arg) {
  wt_conn *c = s->c;
  if (s->state != WT_SS_OPEN || c->state != WT_CS_OPEN) {
    return WT_ERR_STATE;
  }
  if (len > 0 && data == NULL) {
    return WT_ERR_INVAL;
  }
  if (len > wt_session_max_datagram(s)) {
    return WT_ERR_RANGE;
  }
  return wt_dgram_queue(c, (uint64_t)s->id, data, len, is_ref, release, arg);
}

int wt_session_send_datagram(wt_session *s, const uint8_t *data, size_t len) {
  return session_send_datagram(s, data, len, 0, NULL, NULL);
}

int wt_session_send_datagram_ref(wt_session *s, const uint8_t *data, size_t len,
                                 wt_release_fn release, void *arg) {
  return session_send_datagram(s, data, len, 1, release, arg);
}

uint64_t wt_session_id(const wt_session *s) {
  return s->id < 0 ? UINT64_MAX : (uint64_t)s->id;
}
uint64_t wt_session_reset_code(const wt_session *s) {
  return s->peer_reset_code;
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
const char *wt_session_path(const wt_session *s) {
  return s->path;
}

int wt_session_can_reset_at(const wt_session *s) {
  return wt_conn_peer_reset_at(s->c);
}
