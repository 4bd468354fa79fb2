/* wt_h3.c: the HTTP/3 layer of a connection (nghttp3) and the WebTransport
 * parts around it: our control stream taken over from nghttp3 so the WT
 * SETTINGS can be appended, no QPACK dynamic table and no QPACK stream on
 * the wire (docs/protocol.md section 6.2), the peer's SETTINGS observed,
 * and the extended CONNECT (RFC 9220, draft-ietf-webtrans-http3 section 3)
 * on both sides. */
#define WT_LOG_MODULE "h3"
#include "wt_h3.h"

#include <stdlib.h>
#include <string.h>

#include "wt_connect.h"
#include "wt_errmap.h"
#include "wt_log.h"
#include "wt_session.h"
#include "wt_stream.h"

/* The slot of sid's withheld credit (a free one if make), or NULL. */
static int h3_owed_slot(wt_conn *c, int64_t sid, int make) {
  int free_i = -1;
  for (int i = 0; i < WT_H3_OWED_SLOTS; i++) {
    if (c->h3_owed[i].sid == sid) {
      return i;
    }
    if (free_i < 0 && c->h3_owed[i].sid < 0) {
      free_i = i;
    }
  }
  return make ? free_i : -1;
}

/* wt_h3.h WT_H3_CREDIT_FLOOR: what goes back to the peer for n bytes
 * HTTP/3 consumed on sid. */
static void h3_credit(wt_conn *c, int64_t sid, uint64_t n) {
  if (n == 0 || c->qc == NULL) {
    return;
  }
  ngtcp2_conn_extend_max_offset(c->qc, n);
  uint64_t give = n;
  /* What the peer may still send on sid is the window (at least what was
   * granted at accept: ngtcp2's auto-tuning grows it, adding the growth as
   * credit) less what is owed, less what ngtcp2 has not announced yet: it
   * sends MAX_STREAM_DATA once a quarter of the window has built up. So
   * with at most 3/4 of the window - WT_H3_CREDIT_FLOOR owed, the peer
   * always sees WT_H3_CREDIT_FLOOR bytes open. */
  uint64_t w = c->win.stream_data / 4 * 3;
  uint64_t keep = w > WT_H3_CREDIT_FLOOR ? w - WT_H3_CREDIT_FLOOR : 0;
  int i;
  if (keep > 0 && wt_engine_mem_withhold(c) && (i = h3_owed_slot(c, sid, 1)) >= 0) {
    uint64_t owed = c->h3_owed[i].owed;
    uint64_t owe = owed >= keep ? 0 : keep - owed < n ? keep - owed : n;
    if (owe > 0) {
      if (owed == 0) {
        c->e->st.mem_h3_credit_withheld++;
      }
      c->h3_owed[i].sid = sid;
      c->h3_owed[i].owed = owed + owe;
      give -= owe;
    }
  }
  if (give > 0) {
    ngtcp2_conn_extend_max_stream_offset(c->qc, sid, give);
  }
}

void wt_h3_mem_repay(wt_conn *c) {
  for (int i = 0; i < WT_H3_OWED_SLOTS; i++) {
    if (c->h3_owed[i].sid >= 0 && c->h3_owed[i].owed > 0 && c->qc) {
      /* a stream ngtcp2 closed meanwhile: nothing to extend */
      (void)ngtcp2_conn_extend_max_stream_offset(c->qc, c->h3_owed[i].sid, c->h3_owed[i].owed);
    }
    c->h3_owed[i].sid = -1;
    c->h3_owed[i].owed = 0;
  }
  wt_ctx_mark_dirty(c);
}

/* ------------------------------------------------------------ callbacks */

static int h3_acked_stream_data(nghttp3_conn *h3, int64_t sid, uint64_t datalen, void *ud,
                                void *sud) {
  wt_session *s = sud;
  if (s != NULL) {
    wt_session_on_acked(s, datalen);
  }
  return 0;
}

static int h3_stream_close(nghttp3_conn *h3, int64_t sid, uint64_t app_error_code, void *ud,
                           void *sud) {
  wt_conn *c = ud;
  wt_session *s = sud;
  int i = h3_owed_slot(c, sid, 0);
  if (i >= 0) {
    c->h3_owed[i].sid = -1; /* the stream is gone: nothing is owed on it */
    c->h3_owed[i].owed = 0;
  }
  if (s == NULL) {
    return 0;
  }
  if (s->state == WT_SS_OPEN) {
    wt_session_end(s, 0, NULL, 0, 0);
  } else if (!c->is_server && (s->state == WT_SS_SENT || s->state == WT_SS_REQUEST)) {
    wt_session_refused_client(s, 0);
  } else if (s->deferred) {
    s->h3_closed = 1; /* the CONNECT stream is gone: nothing to answer */
    wt_session_pending_end(s, 0, 0);
  } else if (s->held) {
    s->held = 0; /* gone before the client's SETTINGS came */
    c->n_held--;
    c->n_pending_sessions--;
  }
  s->h3_closed = 1;
  wt_session_collect(s);
  return 0;
}

static int h3_recv_data(nghttp3_conn *h3, int64_t sid, const uint8_t *data, size_t len, void *ud,
                        void *sud) {
  wt_conn *c = ud;
  wt_session *s = sud;
  if (s && s->state == WT_SS_OPEN) {
    wt_session_recv_capsules(s, data, len);
  }
  /* Capsules are consumed as they arrive: return the credit now. */
  h3_credit(c, sid, len);
  return 0;
}

static int h3_deferred_consume(nghttp3_conn *h3, int64_t sid, size_t consumed, void *ud,
                               void *sud) {
  h3_credit(ud, sid, consumed);
  return 0;
}

static int h3_begin_headers(nghttp3_conn *h3, int64_t sid, void *ud, void *sud) {
  wt_conn *c = ud;
  if (!c->is_server || sud != NULL) {
    return 0;
  }
  wt_session *s = wt_session_new(c, sid);
  if (s == NULL) {
    c->e->st.errors_internal++;
    return NGHTTP3_ERR_CALLBACK_FAILURE;
  }
  wt_ctx_cancel_grace(c); /* a new session request */
  if (nghttp3_conn_set_stream_user_data(h3, sid, s) != 0) {
    return NGHTTP3_ERR_CALLBACK_FAILURE;
  }
  return 0;
}

static void set_str(char **dst, nghttp3_rcbuf *value) {
  nghttp3_vec v = nghttp3_rcbuf_get_buf(value);
  (void)wt_connect_field_set(dst, v.base, v.len); /* OOM: absent, refused later */
}

static int h3_recv_header(nghttp3_conn *h3, int64_t sid, int32_t token, nghttp3_rcbuf *name,
                          nghttp3_rcbuf *value, uint8_t flags, void *ud, void *sud) {
  wt_conn *c = ud;
  wt_session *s = sud;
  if (s == NULL) {
    return 0;
  }
  /* Every field of the request (server) or response (client) header
   * section, bounded (wt_hdrs.h); trailers are not kept. */
  if (c->is_server ? (s->state == WT_SS_REQUEST && !s->deferred) : s->state == WT_SS_SENT) {
    nghttp3_vec n = nghttp3_rcbuf_get_buf(name), v = nghttp3_rcbuf_get_buf(value);
    (void)wt_hdrs_recv(&s->hdrs, n.base, n.len, v.base, v.len, c->e->cfg.max_request_headers,
                       c->e->cfg.max_request_header_bytes);
  }
  if (!c->is_server) {
    if (token == NGHTTP3_QPACK_TOKEN__STATUS) {
      nghttp3_vec v = nghttp3_rcbuf_get_buf(value);
      int st = 0;
      for (size_t i = 0; i < v.len && i < 3; i++) {
        st = st * 10 + (v.base[i] - '0');
      }
      s->status = v.len == 3 ? st : 0;
    }
    return 0;
  }
  switch (token) {
  case NGHTTP3_QPACK_TOKEN__METHOD:
    set_str(&s->method, value);
    break;
  case NGHTTP3_QPACK_TOKEN__PROTOCOL:
    set_str(&s->protocol, value);
    break;
  case NGHTTP3_QPACK_TOKEN__SCHEME:
    set_str(&s->scheme, value);
    break;
  case NGHTTP3_QPACK_TOKEN__AUTHORITY:
    set_str(&s->authority, value);
    break;
  case NGHTTP3_QPACK_TOKEN__PATH:
    set_str(&s->path, value);
    break;
  case NGHTTP3_QPACK_TOKEN_ORIGIN:
    set_str(&s->origin, value);
    break;
  default:
    break;
  }
  return 0;
}

/* Server: the request's other fields and offered protocols into req, or
 * the status that refuses it: 431 past the header bounds (RFC 9114
 * section 4.2.2), 503 without memory. */
static int h3_request_fields(wt_conn *c, wt_session *s, wt_request *req) {
  wt_hdrs *h = &s->hdrs;
  if (h->overflow) {
    c->e->st.requests_too_large++;
    WT_LOG_WARN_RL(10,
                   "conn=%s stream=%lld: request header section past the bounds (%u fields, "
                   "%u bytes): 431",
                   CONN_ID(c), (long long)s->id, c->e->cfg.max_request_headers,
                   c->e->cfg.max_request_header_bytes);
    return 431;
  }
  if (wt_hdrs_finish(h, 1) != 0) {
    c->e->st.errors_internal++;
    return 503;
  }
  if (h->protos_malformed) {
    c->e->st.protocols_malformed++;
    WT_LOG_DEBUG("conn=%s stream=%lld: wt-available-protocols is not a List of Strings: ignored",
                 CONN_ID(c), (long long)s->id);
  }
  req->headers = h->view;
  req->n_headers = h->n_in;
  req->protocols = h->protos;
  req->n_protocols = h->n_protos;
  return 0;
}

/* Sessions a connection may carry for a client of dialect d: draft-16
 * section 5.2 allows a draft-15+ client without session flow control one
 * session per connection; older dialects keep several (docs/protocol.md
 * section 7). */
static uint32_t h3_session_limit(wt_conn *c, int dialect) {
  const wt_engine_config *cfg = &c->e->cfg;
  int offer = wt_settings_profile_offers_fc(c->profile) &&
              (cfg->wt_initial_max_data | cfg->wt_initial_max_streams_bidi |
               cfg->wt_initial_max_streams_uni) != 0;
  if (dialect >= WT_DIALECT_16 && !wt_settings_fc_negotiated(&c->rd, offer)) {
    return 1;
  }
  return cfg->max_sessions_per_conn;
}

/* Server: a complete request header section. */
static int h3_server_request(wt_conn *c, wt_session *s, int fin) {
  wt_engine *e = c->e;
  wt_request req = {.method = s->method,
                    .protocol = s->protocol,
                    .scheme = s->scheme,
                    .authority = s->authority,
                    .path = s->path,
                    .origin = s->origin};
  int status = h3_request_fields(c, s, &req);
  if (status == 0) {
    status = wt_connect_validate(&req, fin);
  }
  s->dialect = wt_dialect_detect(&c->rd, s->protocol);
  WT_LOG_DEBUG("conn=%s session=%lld server: CONNECT %.64s, client dialect draft-%02d", CONN_ID(c),
               (long long)s->id, s->protocol ? s->protocol : "-", s->dialect);
  if (status != 0) {
    /* refused below with that status */
  } else if (e->shutting_down || c->goaway_sent) {
    wt_session_reject(s, WT_H3_REQUEST_REJECTED);
    return 0;
  } else if (!wt_connect_origin_allowed(e->cfg.origins, e->cfg.n_origins, s->origin)) {
    status = 403; /* docs/protocol.md section 3 */
  } else if (c->n_open_sessions + c->n_pending_sessions >= h3_session_limit(c, s->dialect)) {
    if (c->n_open_sessions + c->n_pending_sessions < e->cfg.max_sessions_per_conn) {
      e->st.sessions_rejected_single++;
    }
    wt_session_reject(s, WT_H3_REQUEST_REJECTED);
    return 0;
  } else {
    status = wt_ctx_call_session_request(e, s, &req);
    if (status == WT_SESSION_DEFER) {
      /* Answered later by wt_session_respond; until then the session is
       * like a CONNECT still arriving (its streams and datagrams wait). */
      s->deferred = 1;
      c->n_pending_sessions++;
      return 0;
    }
  }
  if (status == 200) {
    if (wt_session_submit_response(s, 200) != 0) {
      return NGHTTP3_ERR_CALLBACK_FAILURE;
    }
    wt_session_set_state(s, WT_SS_OPEN);
    wt_session_opened(s);
    return 0;
  }
  wt_session_set_state(s, WT_SS_REFUSED);
  e->st.sessions_refused++;
  return wt_session_submit_response(s, status) == 0 ? 0 : NGHTTP3_ERR_CALLBACK_FAILURE;
}

static int h3_end_headers(nghttp3_conn *h3, int64_t sid, int fin, void *ud, void *sud) {
  wt_conn *c = ud;
  wt_session *s = sud;
  if (s == NULL) {
    return 0;
  }
  if (c->is_server) {
    if (s->state != WT_SS_REQUEST || s->deferred || s->held) {
      return 0; /* trailers, or a second header section while deferred */
    }
    if (!c->peer_settings) {
      /* draft-16 section 3.1: no WebTransport request is processed before
       * the client's SETTINGS; hold it (bounded: it counts as pending
       * against max_sessions_per_conn, and waits settings_wait_ns). */
      if (c->n_open_sessions + c->n_pending_sessions >= c->e->cfg.max_sessions_per_conn) {
        wt_session_reject(s, WT_H3_REQUEST_REJECTED);
        return 0;
      }
      s->held = 1;
      s->held_fin = (uint8_t)(fin != 0);
      c->n_pending_sessions++;
      c->n_held++;
      c->e->st.sessions_held++;
      if (c->settings_deadline == 0) {
        c->settings_deadline = c->e->now + c->e->cfg.settings_wait_ns;
      }
      WT_LOG_DEBUG("conn=%s session=%lld server: CONNECT held until the client's SETTINGS",
                   CONN_ID(c), (long long)sid);
      return 0;
    }
    return h3_server_request(c, s, fin);
  }
  if (s->state != WT_SS_SENT || (s->status >= 100 && s->status < 200)) {
    return 0; /* interim responses are skipped */
  }
  (void)wt_hdrs_finish(&s->hdrs, 0); /* out of memory: no fields, no protocol */
  if (s->status == 200 && !fin) {
    wt_session_set_state(s, WT_SS_OPEN);
    wt_session_opened(s);
  } else {
    wt_session_refused_client(s, s->status);
  }
  return 0;
}

static int h3_end_stream(nghttp3_conn *h3, int64_t sid, void *ud, void *sud) {
  wt_conn *c = ud;
  wt_session *s = sud;
  if (s && s->state == WT_SS_OPEN) {
    /* The peer FINed the CONNECT stream: the session ends cleanly
     * (draft-ietf-webtrans-http3 section 6), code 0 without a capsule. */
    wt_session_end(s, 0, NULL, 0, 1);
    wt_session_peer_ended(c);
  } else if (s && s->deferred) {
    /* The client ended the CONNECT stream before our answer: the session
     * can never be used; cancel the request. */
    wt_session_pending_end(s, 0, 1);
    wt_session_peer_ended(c);
  }
  return 0;
}

static int h3_stop_sending(nghttp3_conn *h3, int64_t sid, uint64_t code, void *ud, void *sud) {
  wt_conn *c = ud;
  if (ngtcp2_conn_shutdown_stream_read(c->qc, 0, sid, code) != 0) {
    return NGHTTP3_ERR_CALLBACK_FAILURE;
  }
  return 0;
}

static int h3_reset_stream(nghttp3_conn *h3, int64_t sid, uint64_t code, void *ud, void *sud) {
  wt_conn *c = ud;
  if (ngtcp2_conn_shutdown_stream_write(c->qc, 0, sid, code) != 0) {
    return NGHTTP3_ERR_CALLBACK_FAILURE;
  }
  return 0;
}

static int h3_shutdown_cb(nghttp3_conn *h3, int64_t id, void *ud) {
  wt_conn *c = ud;
  /* GOAWAY means drain for every session (docs/protocol.md section 1). */
  c->goaway_recv = 1;
  for (wt_list_node *l = c->sessions.next; l != &c->sessions;) {
    wt_session *s = wt_container_of(l, wt_session, link);
    l = l->next;
    wt_session_drained(s);
  }
  return 0;
}

/* Server: the held CONNECTs (h3_end_headers) go on now (settings = 1) or
 * are refused because the client's SETTINGS did not come in time. */
static int h3_release_held(wt_conn *c, int settings) {
  c->settings_deadline = 0;
  for (wt_list_node *l = c->sessions.next; l != &c->sessions && c->n_held > 0;) {
    wt_session *s = wt_container_of(l, wt_session, link);
    l = l->next;
    if (!s->held) {
      continue;
    }
    s->held = 0;
    c->n_held--;
    c->n_pending_sessions--;
    if (s->h3_closed || s->state != WT_SS_REQUEST) {
      continue; /* the stream went away meanwhile */
    }
    if (!settings) {
      c->e->st.sessions_held_expired++;
      wt_session_reject(s, WT_H3_REQUEST_REJECTED);
      continue;
    }
    if (h3_server_request(c, s, s->held_fin) != 0) {
      return -1;
    }
    l = c->sessions.next; /* callbacks may have changed the list */
  }
  return 0;
}

void wt_h3_settings_expired(wt_conn *c) {
  if (c->n_held > 0) {
    WT_LOG_DEBUG("conn=%s server: no SETTINGS from the client in time: %u CONNECTs refused",
                 CONN_ID(c), c->n_held);
    h3_release_held(c, 0);
  }
  c->settings_deadline = 0;
  wt_ctx_mark_dirty(c);
}

static int h3_recv_settings(nghttp3_conn *h3, const nghttp3_proto_settings *settings, void *ud) {
  wt_conn *c = ud;
  c->peer_settings = 1;
  /* nghttp3 reports only the settings it knows (the WebTransport ones come
   * from our own reader, wt_ctrl_reader, which saw the frame first); up to
   * 1.8 it never reported the peer's ENABLE_CONNECT_PROTOCOL to a client, so
   * the reader's value counts too. */
  uint64_t v = 0;
  c->peer_connect_ok =
      settings->enable_connect_protocol != 0 ||
      (wt_ctrl_reader_get(&c->rd, WT_SETTING_ENABLE_CONNECT_PROTOCOL, &v) && v == 1);
  if (!c->is_server) {
    wt_h3_pump_requests(c);
  } else if (c->n_held > 0 && h3_release_held(c, 1) != 0) {
    return NGHTTP3_ERR_CALLBACK_FAILURE;
  }
  return 0;
}

/* ------------------------------------------------------------ setup */

/* The k-th largest unidirectional stream ID of our side (RFC 9000 section
 * 2.1: the two low bits are 0x2 for a client's, 0x3 for a server's; the
 * largest ID is below 2^62). */
static int64_t h3_unopened_uni_sid(int is_server, int k) {
  return ((int64_t)1 << 62) - 4 + (is_server ? 3 : 2) - 4 * (int64_t)k;
}

int wt_h3_setup(wt_conn *c) {
  if (c->h3) {
    return 0;
  }
  nghttp3_callbacks cb = {
      .acked_stream_data = h3_acked_stream_data,
      .stream_close = h3_stream_close,
      .recv_data = h3_recv_data,
      .deferred_consume = h3_deferred_consume,
      .begin_headers = h3_begin_headers,
      .recv_header = h3_recv_header,
      .end_headers = h3_end_headers,
      .stop_sending = h3_stop_sending,
      .end_stream = h3_end_stream,
      .reset_stream = h3_reset_stream,
      .shutdown = h3_shutdown_cb,
      .recv_settings2 = h3_recv_settings,
  };
  nghttp3_settings settings;
  nghttp3_settings_default(&settings);
  /* No QPACK dynamic table in either direction (docs/protocol.md 6.2):
   * QPACK_MAX_TABLE_CAPACITY 0 keeps the peer's encoder off it, and our
   * encoder's capacity is the smaller of this bound and the peer's
   * setting. Field sections then need neither QPACK stream. */
  settings.qpack_max_dtable_capacity = 0;
  settings.qpack_encoder_max_dtable_capacity = 0;
  settings.qpack_blocked_streams = 0;
  settings.h3_datagram = 1; /* RFC 9297 section 2.1.1 */
  int rv;
  if (c->is_server) {
    settings.enable_connect_protocol = 1; /* RFC 9220 section 3 */
    rv = nghttp3_conn_server_new(&c->h3, &cb, &settings, &c->hmem, c);
  } else {
    rv = nghttp3_conn_client_new(&c->h3, &cb, &settings, &c->hmem, c);
  }
  if (rv != 0) {
    c->h3 = NULL;
    wt_ctx_set_error(c, WT_H3_INTERNAL_ERROR);
    return -1;
  }
  if (c->is_server) {
    const ngtcp2_transport_params *p = ngtcp2_conn_get_local_transport_params(c->qc);
    nghttp3_conn_set_max_client_streams_bidi(c->h3, p->initial_max_streams_bidi);
  }
  /* The control stream first (QUIC stream 3 on a server): Deno takes the
   * first uni stream as the control stream (docs/protocol.md 5). */
  if (ngtcp2_conn_open_uni_stream(c->qc, &c->ctrl_sid, NULL) != 0) {
    wt_ctx_set_error(c, WT_H3_STREAM_CREATION_ERROR);
    return -1;
  }
  /* nghttp3 needs QPACK streams bound, but none is opened on the wire
   * (docs/protocol.md 6.2): they get the two largest uni stream IDs of our
   * side, which ngtcp2 would hand out only after 2^60 - 2 other uni
   * streams, and what nghttp3 writes there is dropped (wt_h3_drop_qpack).
   * The WebTransport uni streams follow the control stream without a gap. */
  c->qenc_sid = h3_unopened_uni_sid(c->is_server, 0);
  c->qdec_sid = h3_unopened_uni_sid(c->is_server, 1);
  if (nghttp3_conn_bind_control_stream(c->h3, c->ctrl_sid) != 0 ||
      nghttp3_conn_bind_qpack_streams(c->h3, c->qenc_sid, c->qdec_sid) != 0) {
    wt_ctx_set_error(c, WT_H3_INTERNAL_ERROR);
    return -1;
  }
  const wt_engine_config *cfg = &c->e->cfg;
  wt_settings_params sp = {
      .profile = c->profile,
      .max_sessions = cfg->max_sessions_per_conn,
      /* c's, chosen at accept from the memory budget (a client's: the
       * configured ones) */
      .initial_max_data = c->win.wt_data,
      .initial_max_streams_bidi = c->win.wt_streams_bidi,
      .initial_max_streams_uni = c->win.wt_streams_uni,
  };
  wt_setting extra[WT_SETTINGS_PROFILE_MAX];
  size_t n = wt_settings_profile(&sp, extra, WT_SETTINGS_PROFILE_MAX);
  c->rw = malloc(sizeof(*c->rw));
  if (c->rw == NULL) {
    wt_ctx_set_error(c, WT_H3_INTERNAL_ERROR);
    return -1;
  }
  wt_ctrl_rewriter_init(c->rw, extra, n);
  wt_ctrl_reader_init(&c->rd, 0);
  wt_ctx_mark_dirty(c);
  return 0;
}

int wt_h3_read(wt_conn *c, int64_t sid, const uint8_t *data, size_t len, int fin) {
  if (len == 0 && !fin) {
    return 0;
  }
  nghttp3_ssize n = nghttp3_conn_read_stream(c->h3, sid, data, len, fin);
  if (n < 0) {
    WT_LOG_DEBUG("nghttp3 read stream %lld: %s", (long long)sid, nghttp3_strerror((int)n));
    c->e->st.errors_proto++;
    wt_ctx_set_error(c, nghttp3_err_infer_quic_app_error_code((int)n));
    return -1;
  }
  /* RFC 9000 section 4.1: return the credit of what HTTP/3 consumed. */
  h3_credit(c, sid, (uint64_t)n);
  return 0;
}

int wt_h3_observe_ctrl(wt_conn *c, const uint8_t *data, size_t len) {
  int done = c->rd.state != 0 && wt_ctrl_reader_feed(&c->rd, NULL, 0) == 1;
  int rv = wt_ctrl_reader_feed(&c->rd, data, len);
  if (rv < 0) {
    c->e->st.errors_proto++;
    wt_ctx_set_error(c, wt_ctrl_reader_h3_error(&c->rd));
    return -1;
  }
  uint64_t h3err;
  if (rv == 1 && !done && (h3err = wt_settings_check_peer(&c->rd)) != 0) {
    WT_LOG_INFO("conn=%s %s: bad WebTransport setting in the peer's SETTINGS", CONN_ID(c),
                c->is_server ? "server" : "client");
    c->e->st.errors_proto++;
    wt_ctx_set_error(c, h3err);
    return -1;
  }
  return 0;
}

int wt_h3_take_ctrl(wt_conn *c, const nghttp3_vec *v, size_t n) {
  size_t total = 0;
  for (size_t i = 0; i < n; i++) {
    if (c->rw == NULL) { /* SETTINGS rewritten: the rest passes unchanged */
      if (wt_sendbuf_append(&c->ctrl_out, v[i].base, v[i].len) < 0) {
        c->e->st.errors_internal++;
        wt_ctx_set_error(c, WT_H3_INTERNAL_ERROR);
        return -1;
      }
      total += v[i].len;
      continue;
    }
    size_t cap = v[i].len + WT_CTRL_SETTINGS_MAX + WT_CTRL_REWRITE_GROWTH;
    uint8_t stackbuf[2048];
    uint8_t *out = cap <= sizeof(stackbuf) ? stackbuf : malloc(cap);
    size_t outlen = 0;
    if (out == NULL) {
      wt_ctx_set_error(c, WT_H3_INTERNAL_ERROR);
      return -1;
    }
    int rv = wt_ctrl_rewriter_feed(c->rw, v[i].base, v[i].len, out, cap, &outlen);
    if (rv == 0 && outlen > 0) {
      rv = wt_sendbuf_append(&c->ctrl_out, out, outlen);
    }
    if (out != stackbuf) {
      free(out);
    }
    if (rv < 0) {
      c->e->st.errors_internal++;
      wt_ctx_set_error(c, WT_H3_INTERNAL_ERROR);
      return -1;
    }
    if (wt_ctrl_rewriter_done(c->rw)) { /* an idle connection need not keep it */
      free(c->rw);
      c->rw = NULL;
    }
    total += v[i].len;
  }
  /* The bytes are ours now: nghttp3 may forget them. */
  if (nghttp3_conn_add_write_offset(c->h3, c->ctrl_sid, total) != 0 ||
      nghttp3_conn_add_ack_offset(c->h3, c->ctrl_sid, total) != 0) {
    wt_ctx_set_error(c, WT_H3_INTERNAL_ERROR);
    return -1;
  }
  return 0;
}

int wt_h3_drop_qpack(wt_conn *c, int64_t sid, const nghttp3_vec *v, size_t n) {
  int enc = sid == c->qenc_sid;
  uint64_t total = 0;
  for (size_t i = 0; i < n; i++) {
    total += v[i].len;
  }
  /* The first byte is the stream type (RFC 9204 section 4.2). Our encoder
   * has no dynamic table, so it never writes an encoder instruction; one
   * here would be something the peer needs, so the connection fails
   * rather than lose it. Our decoder's instructions can only be Stream
   * Cancellations (Section Acknowledgments and Insert Count Increments
   * need a dynamic table), which RFC 9204 section 4.4.2 lets a decoder
   * with table capacity 0 omit; they are dropped. */
  uint64_t *seen = enc ? &c->qenc_bytes : &c->qdec_bytes;
  *seen += total;
  if (enc && *seen > 1) {
    WT_LOG_WARN("nghttp3 wrote a QPACK encoder instruction without a dynamic table");
    c->e->st.errors_internal++;
    wt_ctx_set_error(c, WT_H3_INTERNAL_ERROR);
    return -1;
  }
  if (nghttp3_conn_add_write_offset(c->h3, sid, total) != 0 ||
      nghttp3_conn_add_ack_offset(c->h3, sid, total) != 0) {
    wt_ctx_set_error(c, WT_H3_INTERNAL_ERROR);
    return -1;
  }
  return 0;
}

int wt_h3_take_stream(wt_conn *c, wt_stream *st, const uint8_t *data, size_t len, int fin) {
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

/* ------------------------------------------------------------ client */

static int h3_submit_connect(wt_conn *c, wt_session *s) {
  nghttp3_nv nva[7 + WT_HDRS_OUT_NV_MAX];
  size_t n = 0;
#define NV(nm, val)                                                                                \
  do {                                                                                             \
    nva[n].name = (uint8_t *)(nm);                                                                 \
    nva[n].namelen = strlen(nm);                                                                   \
    nva[n].value = (uint8_t *)(val);                                                               \
    nva[n].valuelen = strlen(val);                                                                 \
    nva[n].flags = NGHTTP3_NV_FLAG_NONE;                                                           \
    n++;                                                                                           \
  } while (0)
  int prof = c->profile;
  NV(":method", "CONNECT");
  /* draft-ietf-webtrans-http3-16 section 3.2: webtransport-h3 from draft 15. */
  NV(":protocol", prof == WT_PROFILE_DRAFT16 ? "webtransport-h3" : "webtransport");
  NV(":scheme", "https");
  NV(":authority", s->authority);
  NV(":path", s->path);
  if (s->origin) {
    NV("origin", s->origin);
  }
  if (prof == WT_PROFILE_DRAFT02 || prof == WT_PROFILE_COMPAT) {
    NV("sec-webtransport-http3-draft02", "1"); /* as Chromium's draft-02 */
  }
#undef NV
  n += wt_hdrs_out_nv(&s->hdrs, nva + n, WT_HDRS_OUT_NV_MAX, 0); /* offer, app fields */
  nghttp3_data_reader dr = {.read_data = wt_session_read_capsules};
  int rv = nghttp3_conn_submit_request(c->h3, s->id, nva, n, &dr, s);
  if (rv != 0) {
    return rv;
  }
  s->h3_submitted = 1;
  return 0;
}

void wt_h3_pump_requests(wt_conn *c) {
  if (c->h3 == NULL || !c->peer_settings || c->state != WT_CS_OPEN) {
    return;
  }
  for (wt_list_node *l = c->sessions.next; l != &c->sessions;) {
    wt_session *s = wt_container_of(l, wt_session, link);
    l = l->next;
    if (s->state != WT_SS_REQUEST) {
      continue;
    }
    if (!c->peer_connect_ok || c->goaway_recv) {
      /* RFC 9220 section 3: no extended CONNECT without the server's
       * SETTINGS_ENABLE_CONNECT_PROTOCOL. */
      wt_session_refused_client(s, 0);
      continue;
    }
    int64_t sid;
    int rv = ngtcp2_conn_open_bidi_stream(c->qc, &sid, NULL);
    if (rv == NGTCP2_ERR_STREAM_ID_BLOCKED) {
      break; /* extend_max_local_streams_bidi calls us again */
    }
    if (rv != 0) {
      wt_session_refused_client(s, 0);
      continue;
    }
    s->id = sid;
    s->dialect = c->profile == WT_PROFILE_DRAFT16   ? WT_DIALECT_16
                 : c->profile == WT_PROFILE_DRAFT14 ? WT_DIALECT_14
                 : c->profile == WT_PROFILE_DRAFT07 ? WT_DIALECT_07
                                                    : WT_DIALECT_02;
    wt_session_set_state(s, WT_SS_SENT);
    if (h3_submit_connect(c, s) != 0) {
      ngtcp2_conn_shutdown_stream(c->qc, 0, sid, WT_H3_INTERNAL_ERROR);
      wt_session_refused_client(s, 0);
    }
  }
  wt_ctx_mark_dirty(c);
}

void wt_h3_shutdown(wt_conn *c) {
  if (c->h3 && c->is_server && !c->goaway_sent) {
    /* RFC 9114 section 5.2: GOAWAY; requests already received still run. */
    if (nghttp3_conn_submit_shutdown_notice(c->h3) == 0) {
      c->goaway_sent = 1;
    }
  }
  wt_ctx_mark_dirty(c);
}
