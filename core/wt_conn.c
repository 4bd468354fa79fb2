/* wt_conn.c: one QUIC connection: ngtcp2 + wolfSSL, its callbacks, the
 * receive path, the packet write loop (one GSO run per call) and the
 * closing/draining periods (RFC 9000 section 10.2). */
#define WT_LOG_MODULE "conn"
/* the "conn=" of a log line: the original DCID in hex (server), "-" before
 * it is known or on a client */
#include "wt_conn.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include <ngtcp2/ngtcp2_crypto_wolfssl.h>

#include "wt_crypto.h"
#include "wt_dgram.h"
#include "wt_errmap.h"
#include "wt_h3.h"
#include "wt_log.h"
#include "wt_session.h"
#include "wt_stream.h"

/* ngtcp2's glitch limiter (conn_settings): tokens per second and burst;
 * ngtcp2's defaults are 330 and 10000. */
#define WT_GLITCH_RATE  2000u
#define WT_GLITCH_BURST 20000u

#define WT_CTRL_MARK(c, p) ((p) == (void *)&(c)->h3_mark || (p) == (void *)&(c)->h3_ctrl_mark)

static ngtcp2_conn *conn_get(ngtcp2_crypto_conn_ref *ref) {
  return ((wt_conn *)ref->user_data)->qc;
}

static void to_ngtcp2_path(ngtcp2_path *np, const wt_path *p) {
  np->local.addr = (ngtcp2_sockaddr *)&p->local.ss;
  np->local.addrlen = p->local.len;
  np->remote.addr = (ngtcp2_sockaddr *)&p->remote.ss;
  np->remote.addrlen = p->remote.len;
  np->user_data = NULL;
}

static void from_ngtcp2_addr(wt_addr *a, const ngtcp2_addr *na) {
  memset(a, 0, sizeof(*a));
  if (na->addr && na->addrlen <= sizeof(a->ss)) {
    memcpy(&a->ss, na->addr, na->addrlen);
    a->len = na->addrlen;
  }
}

/* A wt_stream hangs off ngtcp2 stream user data; HTTP/3 streams carry one of
 * two marker addresses; NULL means a stream not seen yet (or our own). */
static wt_stream *as_wt_stream(wt_conn *c, void *stream_ud) {
  if (stream_ud == NULL || WT_CTRL_MARK(c, stream_ud)) {
    return NULL;
  }
  return stream_ud;
}

/* ------------------------------------------------------------ state */

static const char *const cs_names[] = {"handshake", "open", "closing", "draining", "dead"};

static int cs_legal(int from, int to) {
  switch (from) {
  case WT_CS_HANDSHAKE:
    return to == WT_CS_OPEN || to == WT_CS_CLOSING || to == WT_CS_DRAINING || to == WT_CS_DEAD;
  case WT_CS_OPEN:
    return to == WT_CS_CLOSING || to == WT_CS_DRAINING || to == WT_CS_DEAD;
  case WT_CS_CLOSING:
  case WT_CS_DRAINING:
    return to == WT_CS_DEAD;
  case WT_CS_DEAD:
    return 0; /* final */
  default:
    return 0; /* unreachable: state is always a WT_CS_* */
  }
}

void wt_conn_set_state(wt_conn *c, int to) {
  if (c->state == to && to == WT_CS_DEAD) {
    return; /* found dead again on the way out: nothing moves */
  }
  int legal = to >= 0 && to < WT_CS_COUNT && cs_legal(c->state, to);
  if (!legal) {
    WT_LOG_ERROR("conn=%s: illegal state change %d -> %d", CONN_ID(c), c->state, to);
    assert(legal);
    return;
  }
  WT_LOG_DEBUG("conn=%s %s: %s -> %s", CONN_ID(c), c->is_server ? "server" : "client",
               cs_names[c->state], cs_names[to]);
  c->e->conn_entered[to]++;
  c->state = to;
  if (to >= WT_CS_CLOSING) {
    wt_ctx_ip_detach(c); /* a closing connection no longer counts for its source */
  }
}

/* ------------------------------------------------------------ callbacks */

static void cb_rand(uint8_t *dest, size_t len, const ngtcp2_rand_ctx *ctx) {
  wt_engine *e = ctx->native_handle;
  if (wt_ctx_rand(e, dest, len) != 0) {
    memset(dest, 0, len); /* the RNG never fails after init; be defined anyway */
  }
}

static int cb_get_new_cid(ngtcp2_conn *qc, ngtcp2_cid *cid, uint8_t *token, size_t cidlen,
                          void *ud) {
  wt_conn *c = ud;
  uint8_t buf[WT_CID_MAXLEN];
  if (cidlen > sizeof(buf)) {
    return NGTCP2_ERR_CALLBACK_FAILURE;
  }
  /* Same shard rule as the first CID (docs/architecture.md "Connection IDs"). */
  for (int tries = 0; tries < 4; tries++) {
    if (wt_ctx_new_cid(c->e, buf, cidlen, token) != 0) {
      return NGTCP2_ERR_CALLBACK_FAILURE;
    }
    int rv = wt_ctx_cid_add(c, buf, cidlen);
    if (rv == 0) {
      ngtcp2_cid_init(cid, buf, cidlen);
      return 0;
    }
    if (rv != WT_ERR_STATE) {
      break;
    }
  }
  return NGTCP2_ERR_CALLBACK_FAILURE;
}

static int cb_remove_cid(ngtcp2_conn *qc, const ngtcp2_cid *cid, void *ud) {
  wt_ctx_cid_remove(ud, cid->data, cid->datalen);
  return 0;
}

static int cb_recv_crypto_data(ngtcp2_conn *qc, ngtcp2_encryption_level level, uint64_t offset,
                               const uint8_t *data, size_t datalen, void *ud) {
  wt_conn *c = ud;
  if (c->ssl == NULL) {
    /* Server, after the handshake (conn_tls_release): a client has no TLS
     * message left to send (RFC 9001 sections 4.4 and 6: no post-handshake
     * authentication, no KeyUpdate), so new CRYPTO data is what TLS would
     * call an unexpected_message (10): CRYPTO_ERROR 0x10a. */
    WT_LOG_DEBUG("conn=%s: %zu byte(s) of CRYPTO data after the handshake", CONN_ID(c), datalen);
    ngtcp2_conn_set_tls_alert(qc, 10);
    return NGTCP2_ERR_CRYPTO;
  }
  if ((size_t)level >= WT_CRYPTO_LEVELS) {
    return ngtcp2_crypto_recv_crypto_data_cb(qc, level, offset, data, datalen, ud);
  }
  uint8_t held[4];
  size_t nheld;
  size_t deliver = wt_crypto_rx_feed(&c->crx[level], data, datalen, held, &nheld);
  if (deliver < datalen) {
    WT_LOG_DEBUG("crypto level %d: %zu byte(s) of a handshake header held back", (int)level,
                 (size_t)c->crx[level].n);
  }
  if (deliver == 0) {
    return 0; /* only (part of) a header so far */
  }
  if (nheld == 0) {
    return ngtcp2_crypto_recv_crypto_data_cb(qc, level, offset, data, deliver, ud);
  }
  uint8_t *buf = malloc(nheld + deliver);
  if (buf == NULL) {
    return NGTCP2_ERR_CALLBACK_FAILURE;
  }
  memcpy(buf, held, nheld);
  memcpy(buf + nheld, data, deliver);
  int rv = ngtcp2_crypto_recv_crypto_data_cb(qc, level, offset - nheld, buf, nheld + deliver, ud);
  free(buf);
  return rv;
}

static int cb_handshake_completed(ngtcp2_conn *qc, void *ud) {
  wt_conn *c = ud;
  if (!c->is_server && wt_tls_check_peer(wt_ctx_tls(c), c->ssl) != 0) {
    WT_LOG_WARN("server certificate does not match the pin");
    c->e->st.handshakes_failed++;
    /* RFC 8446 section 6.2: bad_certificate (42) as a QUIC CRYPTO_ERROR. */
    ngtcp2_conn_set_tls_alert(qc, 42);
    return NGTCP2_ERR_CALLBACK_FAILURE;
  }
  c->handshake_done = 1;
  if (c->state == WT_CS_HANDSHAKE) {
    wt_conn_set_state(c, WT_CS_OPEN);
  }
  wt_ctx_uncount_handshake(c);
  if (c->is_server) {
    /* RFC 9000 section 8.1.3: a NEW_TOKEN token lets the client skip the
     * Retry next time (derived from static_secret: any shard validates). */
    uint8_t tok[NGTCP2_CRYPTO_MAX_REGULAR_TOKENLEN];
    ngtcp2_ssize tn = ngtcp2_crypto_generate_regular_token(
        tok, c->e->secret, sizeof(c->e->secret), (const ngtcp2_sockaddr *)&c->path.remote.ss,
        c->path.remote.len, c->e->now);
    if (tn > 0) {
      ngtcp2_conn_submit_new_token(qc, tok, (size_t)tn);
    }
  }
  c->e->st.handshakes_ok++;
  if (c->h3 == NULL && wt_h3_setup(c) != 0) {
    return NGTCP2_ERR_CALLBACK_FAILURE;
  }
  return 0;
}

/* Bytes of a peer stream that is not HTTP/3 (yet): the demux decides on
 * its first bytes (docs/protocol.md section 6.1), then HTTP/3 takes it
 * or its WT session does. */
static int conn_recv_peer_stream(wt_conn *c, wt_stream *st, const uint8_t *data, size_t len,
                                 int fin) {
  if (st->kind == WT_SK_PENDING) {
    size_t consumed = 0;
    switch (wt_stream_classify(st, data, len, fin, &consumed)) {
    case WT_STREAM_RX_MORE:
    case WT_STREAM_RX_DROP:
      return 0;
    case WT_STREAM_RX_H3:
      return wt_h3_take_stream(c, st, data, len, fin);
    case WT_STREAM_RX_H3_END:
      return wt_h3_take_stream(c, st, NULL, 0, fin);
    case WT_STREAM_RX_WT:
      wt_session_route_stream(c, st);
      data += consumed;
      len -= consumed;
      break;
    default:
      return -1; /* unreachable: wt_stream_classify returns one of the above */
    }
  }
  wt_stream_deliver(st, data, len, fin);
  return 0;
}

static int cb_recv_stream_data(ngtcp2_conn *qc, uint32_t flags, int64_t sid, uint64_t offset,
                               const uint8_t *data, size_t len, void *ud, void *stream_ud) {
  wt_conn *c = ud;
  int fin = (flags & NGTCP2_STREAM_DATA_FLAG_FIN) != 0;
  if (c->h3 == NULL && wt_h3_setup(c) != 0) {
    return NGTCP2_ERR_CALLBACK_FAILURE;
  }
  int rv;
  if (stream_ud == &c->h3_mark || (stream_ud == NULL && ngtcp2_conn_is_local_stream2(qc, sid))) {
    rv = wt_h3_read(c, sid, data, len, fin);
  } else if (stream_ud == &c->h3_ctrl_mark) {
    rv = wt_h3_observe_ctrl(c, data, len);
    if (rv == 0) {
      rv = wt_h3_read(c, sid, data, len, fin);
    }
  } else {
    wt_stream *st = stream_ud;
    if (st == NULL) {
      st = wt_stream_new_peer(c, sid);
      if (st == NULL) {
        c->e->st.errors_internal++;
        return NGTCP2_ERR_CALLBACK_FAILURE;
      }
    }
    rv = conn_recv_peer_stream(c, st, data, len, fin);
  }
  return rv < 0 ? NGTCP2_ERR_CALLBACK_FAILURE : 0;
}

static int cb_acked_stream_data_offset(ngtcp2_conn *qc, int64_t sid, uint64_t offset,
                                       uint64_t datalen, void *ud, void *stream_ud) {
  wt_conn *c = ud;
  wt_stream *st = as_wt_stream(c, stream_ud);
  if (sid == c->ctrl_sid) {
    wt_sendbuf_ack(&c->ctrl_out, datalen); /* nghttp3 was told at write time */
  } else if (st) {
    wt_stream_on_acked(st, datalen);
  } else if (c->h3 && nghttp3_conn_add_ack_offset(c->h3, sid, datalen) != 0) {
    return NGTCP2_ERR_CALLBACK_FAILURE;
  }
  return 0;
}

static int cb_stream_close(ngtcp2_conn *qc, uint32_t flags, int64_t sid, uint64_t app_error_code,
                           void *ud, void *stream_ud) {
  wt_conn *c = ud;
  wt_stream *st = as_wt_stream(c, stream_ud);
  uint64_t code =
      (flags & NGTCP2_STREAM_CLOSE_FLAG_APP_ERROR_CODE_SET) ? app_error_code : WT_H3_NO_ERROR;
  if (st) {
    wt_stream_on_close(st, app_error_code,
                       (flags & NGTCP2_STREAM_CLOSE_FLAG_APP_ERROR_CODE_SET) != 0);
  } else if (c->h3) {
    int rv = nghttp3_conn_close_stream(c->h3, sid, code);
    if (rv != 0 && rv != NGHTTP3_ERR_STREAM_NOT_FOUND) {
      c->err_code = nghttp3_err_infer_quic_app_error_code(rv);
      c->err_is_app = 1;
      c->err_set = 1;
      return NGTCP2_ERR_CALLBACK_FAILURE;
    }
  }
  /* Give the peer its stream credit back (RFC 9000 section 4.6). */
  if (!ngtcp2_conn_is_local_stream2(qc, sid)) {
    if (ngtcp2_is_bidi_stream(sid)) {
      ngtcp2_conn_extend_max_streams_bidi(qc, 1);
    } else {
      ngtcp2_conn_extend_max_streams_uni(qc, 1);
    }
  }
  return 0;
}

/* The CONNECT stream of an open session was aborted by the peer. */
static void connect_stream_aborted(wt_conn *c, int64_t sid) {
  wt_session *s = wt_session_find(c, sid);
  if (s == NULL) {
    return;
  }
  if (s->state == WT_SS_OPEN) {
    wt_session_end(s, 0, NULL, 0, 0);
  } else if (s->state == WT_SS_SENT || s->state == WT_SS_REQUEST) {
    if (c->is_server && s->deferred) {
      wt_session_pending_end(s, 0, 1); /* also ends our side of the stream */
    } else if (c->is_server) {
      wt_session_set_state(s, WT_SS_REFUSED);
    } else {
      wt_session_refused_client(s, 0);
    }
  }
}

static int cb_stream_reset(ngtcp2_conn *qc, int64_t sid, uint64_t final_size,
                           uint64_t app_error_code, void *ud, void *stream_ud) {
  wt_conn *c = ud;
  wt_stream *st = as_wt_stream(c, stream_ud);
  if (st) {
    wt_stream_on_reset(st, app_error_code);
    return 0;
  }
  if (c->h3) {
    wt_session *s = wt_session_find(c, sid);
    if (s && s->peer_reset_code == UINT64_MAX) {
      s->peer_reset_code = app_error_code; /* wt_session_reset_code() in the callbacks */
    }
    connect_stream_aborted(c, sid);
    wt_session_peer_ended(c);
    if (nghttp3_conn_shutdown_stream_read(c->h3, sid) != 0) {
      return NGTCP2_ERR_CALLBACK_FAILURE;
    }
  }
  return 0;
}

/* ngtcp2 calls this when WE stop reading a stream (shutdown_stream_read),
 * not when the peer sends STOP_SENDING: ngtcp2 answers a peer STOP_SENDING
 * with RESET_STREAM by itself and tells nobody (see wt_stream_peer_stopped). */
static int cb_stream_stop_sending(ngtcp2_conn *qc, int64_t sid, uint64_t app_error_code, void *ud,
                                  void *stream_ud) {
  wt_conn *c = ud;
  wt_stream *st = as_wt_stream(c, stream_ud);
  if (st) {
    st->rx_done = 1;
    return 0;
  }
  if (c->h3) {
    if (nghttp3_conn_shutdown_stream_read(c->h3, sid) != 0) {
      return NGTCP2_ERR_CALLBACK_FAILURE;
    }
  }
  return 0;
}

static int cb_extend_max_stream_data(ngtcp2_conn *qc, int64_t sid, uint64_t max_data, void *ud,
                                     void *stream_ud) {
  wt_conn *c = ud;
  wt_stream *st = as_wt_stream(c, stream_ud);
  if (sid == c->ctrl_sid) {
    c->ctrl_blocked = 0;
  } else if (st) {
    wt_stream_on_unblocked(st);
  } else if (c->h3 && nghttp3_conn_unblock_stream(c->h3, sid) != 0) {
    return NGTCP2_ERR_CALLBACK_FAILURE;
  }
  return 0;
}

static int cb_extend_max_remote_streams_bidi(ngtcp2_conn *qc, uint64_t max_streams, void *ud) {
  wt_conn *c = ud;
  if (c->h3 && c->is_server) {
    nghttp3_conn_set_max_client_streams_bidi(c->h3, max_streams);
  }
  return 0;
}

static int cb_extend_max_local_streams_bidi(ngtcp2_conn *qc, uint64_t max_streams, void *ud) {
  wt_conn *c = ud;
  if (!c->is_server && c->h3) {
    wt_h3_pump_requests(c);
  }
  return 0;
}

static int cb_recv_datagram(ngtcp2_conn *qc, uint32_t flags, const uint8_t *data, size_t len,
                            void *ud) {
  wt_conn *c = ud;
  wt_session_recv_datagram(c, data, len);
  return c->err_set ? NGTCP2_ERR_CALLBACK_FAILURE : 0;
}

/* RFC 9000 section 10.3.1: the peer lost the connection (e.g. restarted);
 * read_pkt then returns NGTCP2_ERR_DRAINING. */
static int cb_recv_stateless_reset(ngtcp2_conn *qc, const ngtcp2_pkt_stateless_reset *sr,
                                   void *ud) {
  wt_conn *c = ud;
  c->stateless_reset = 1;
  WT_LOG_DEBUG("conn=%s %s: stateless reset received", CONN_ID(c),
               c->is_server ? "server" : "client");
  return 0;
}

static void conn_callbacks(ngtcp2_callbacks *cb, int is_server) {
  memset(cb, 0, sizeof(*cb));
  if (is_server) {
    cb->recv_client_initial = ngtcp2_crypto_recv_client_initial_cb;
  } else {
    cb->client_initial = ngtcp2_crypto_client_initial_cb;
    cb->recv_retry = ngtcp2_crypto_recv_retry_cb;
  }
  cb->recv_crypto_data = cb_recv_crypto_data;
  cb->encrypt = wt_crypto_encrypt_cb;
  cb->decrypt = wt_crypto_decrypt_cb;
  cb->hp_mask = wt_crypto_hp_mask_cb;
  cb->update_key = ngtcp2_crypto_update_key_cb;
  cb->delete_crypto_aead_ctx = ngtcp2_crypto_delete_crypto_aead_ctx_cb;
  cb->delete_crypto_cipher_ctx = ngtcp2_crypto_delete_crypto_cipher_ctx_cb;
  cb->get_path_challenge_data = ngtcp2_crypto_get_path_challenge_data_cb;
  cb->version_negotiation = ngtcp2_crypto_version_negotiation_cb;
  cb->rand = cb_rand;
  cb->get_new_connection_id = cb_get_new_cid;
  cb->remove_connection_id = cb_remove_cid;
  cb->handshake_completed = cb_handshake_completed;
  cb->recv_stream_data = cb_recv_stream_data;
  cb->acked_stream_data_offset = cb_acked_stream_data_offset;
  cb->stream_close = cb_stream_close;
  cb->stream_reset = cb_stream_reset;
  cb->stream_stop_sending = cb_stream_stop_sending;
  cb->extend_max_stream_data = cb_extend_max_stream_data;
  cb->extend_max_remote_streams_bidi = cb_extend_max_remote_streams_bidi;
  cb->extend_max_local_streams_bidi = cb_extend_max_local_streams_bidi;
  cb->recv_datagram = cb_recv_datagram;
  cb->recv_stateless_reset = cb_recv_stateless_reset;
}

/* ------------------------------------------------------------ creation */

static void conn_settings(wt_engine *e, ngtcp2_settings *s) {
  ngtcp2_settings_default(s);
  s->initial_ts = e->now;
  s->max_tx_udp_payload_size = e->cfg.max_udp_payload;
  s->rand_ctx.native_handle = e;
  s->handshake_timeout = e->cfg.handshake_timeout_ns; /* wt_engine_config */
  /* Receive windows grow (ngtcp2 auto-tuning) up to these as the app reads
   * (or, on manual-credit streams, consumes). The /echo safety net
   * (WT_APP_ECHO_MAX_PENDING, apps/wt_apps.h) assumes the 16 x. */
  s->max_stream_window = 16 * e->cfg.initial_max_stream_data;
  s->max_window = 4 * e->cfg.initial_max_data;
  /* ngtcp2's "glitch" limiter (frames for closed streams, needless frames;
   * each costs a token) closes a connection that runs out of tokens. A
   * WebTransport relay legitimately sees many frames for streams it has
   * just reset (one stream per group), so the steady rate is above
   * ngtcp2's default (330/s); counted in conns_glitch_closed. */
  s->glitch_ratelim_burst = WT_GLITCH_BURST;
  s->glitch_ratelim_rate = WT_GLITCH_RATE;
}

/* The transport parameters; the flow-control windows are c's (chosen at
 * accept from the memory budget on a server: wt_engine_grant_windows). */
static void conn_params(wt_engine *e, const wt_conn *c, ngtcp2_transport_params *p) {
  const wt_engine_config *cfg = &e->cfg;
  ngtcp2_transport_params_default(p);
  p->initial_max_stream_data_bidi_local = c->win.stream_data;
  p->initial_max_stream_data_bidi_remote = c->win.stream_data;
  p->initial_max_stream_data_uni = c->win.stream_data;
  p->initial_max_data = c->win.conn_data;
  p->initial_max_streams_bidi = cfg->initial_max_streams_bidi;
  /* docs/protocol.md section 2: >= 3 (control + 2 QPACK) + WT uni. */
  p->initial_max_streams_uni = cfg->initial_max_streams_uni < 3 ? 3 : cfg->initial_max_streams_uni;
  p->max_idle_timeout = cfg->idle_timeout_ns;
  p->active_connection_id_limit = 8;
  /* RFC 9297 section 2.1.1: H3_DATAGRAM needs max_datagram_frame_size > 0. */
  p->max_datagram_frame_size = 65535;
#ifdef NGTCP2_RESET_STREAM_AT_DRAFT
  /* docs/protocol.md section 2: advertised only when the linked ngtcp2
   * carries tools/patches/ngtcp2 (it then receives RESET_STREAM_AT). */
  p->reset_stream_at = 1;
#endif
}

int wt_conn_peer_reset_at(wt_conn *c) {
#ifdef NGTCP2_RESET_STREAM_AT_DRAFT
  const ngtcp2_transport_params *p = ngtcp2_conn_get_remote_transport_params(c->qc);
  return p != NULL && p->reset_stream_at;
#else
  (void)c;
  return 0;
#endif
}

int wt_conn_reset_stream_keep(wt_conn *c, int64_t id, uint64_t h3_code, uint64_t keep) {
#ifdef NGTCP2_RESET_STREAM_AT_DRAFT
  /* RESET_STREAM_AT when the peer advertised reset_stream_at (ngtcp2 falls
   * back to RESET_STREAM otherwise, and for keep 0). keep beyond what ngtcp2
   * has sent is refused: then a plain reset, as without the patch. */
  if (keep > 0 && ngtcp2_conn_shutdown_stream_write_at(c->qc, 0, id, h3_code, keep) == 0) {
    return 0;
  }
#else
  (void)keep;
#endif
  return ngtcp2_conn_shutdown_stream_write(c->qc, 0, id, h3_code);
}

/* Hand a completed handshake's held trace to the writer, one record per
 * call as ngtcp2 wrote them (JSON-SEQ: each record starts with RS, 0x1e,
 * which JSON text never holds unescaped), so the writer's budgets cut
 * between records. */
static void conn_qlog_flush(wt_conn *c) {
  size_t at = 0;
  while (at < c->qlog_held_len) {
    const uint8_t *next = memchr(c->qlog_held + at + 1, 0x1e, c->qlog_held_len - at - 1);
    size_t end = next ? (size_t)(next - c->qlog_held) : c->qlog_held_len;
    wt_ctx_call_qlog_write(c->e, c->qlog_name, c->qlog_held + at, end - at, 0);
    at = end;
  }
  if (c->qlog_held_cut) {
    WT_LOG_DEBUG("conn=%s qlog: the handshake's trace was past %u bytes: its end is cut",
                 CONN_ID(c), (unsigned)WT_QLOG_HOLD_MAX);
  }
  free(c->qlog_held);
  c->qlog_held = NULL;
  c->qlog_held_len = c->qlog_held_cap = 0;
}

/* ngtcp2's qlog output (user_data is the wt_conn). A server connection's
 * records are held in memory until its handshake completes: an Initial
 * that never becomes a connection (junk, a scan, a failed or abandoned
 * handshake) costs at most WT_QLOG_HOLD_MAX bytes for its lifetime and
 * never reaches the writer (no file, no disk). ngtcp2 hands one record
 * per call, so the hold keeps whole records. */
static void conn_qlog_write(void *user_data, uint32_t flags, const void *data, size_t len) {
  wt_conn *c = user_data;
  wt_engine *e = c->e;
  int fin = (flags & NGTCP2_QLOG_WRITE_FLAG_FIN) != 0;
  if (c->qlog_fin || e->cfg.qlog_write == NULL) {
    return;
  }
  if (c->is_server && !c->handshake_done) {
    if (fin) {
      c->qlog_fin = 1; /* ended before its handshake did: nothing written */
      free(c->qlog_held);
      c->qlog_held = NULL;
      c->qlog_held_len = c->qlog_held_cap = 0;
      return;
    }
    if (len > WT_QLOG_HOLD_MAX - c->qlog_held_len) {
      c->qlog_held_cut = 1;
      return;
    }
    if (c->qlog_held_len + len > c->qlog_held_cap) {
      size_t cap = c->qlog_held_cap ? c->qlog_held_cap : 2048;
      while (cap < c->qlog_held_len + len) {
        cap *= 2;
      }
      cap = cap < WT_QLOG_HOLD_MAX ? cap : WT_QLOG_HOLD_MAX;
      uint8_t *p = realloc(c->qlog_held, cap);
      if (!p) {
        c->qlog_held_cut = 1;
        return;
      }
      c->qlog_held = p;
      c->qlog_held_cap = cap;
    }
    memcpy(c->qlog_held + c->qlog_held_len, data, len);
    c->qlog_held_len += len;
    return;
  }
  if (c->qlog_held) {
    conn_qlog_flush(c);
  }
  c->qlog_fin = fin;
  wt_ctx_call_qlog_write(e, c->qlog_name, data, len, fin);
}

/* Server: name the connection after its original DCID (hex: the "conn="
 * of its log lines and the name of its qlog), and decide whether it is
 * sampled for qlog. */
static void conn_qlog_setup(wt_engine *e, wt_conn *c, ngtcp2_settings *s, const ngtcp2_cid *dcid) {
  static const char hex[] = "0123456789abcdef";
  size_t n = dcid->datalen < WT_CID_MAXLEN ? dcid->datalen : WT_CID_MAXLEN;
  for (size_t i = 0; i < n; i++) {
    c->qlog_name[2 * i] = hex[dcid->data[i] >> 4];
    c->qlog_name[2 * i + 1] = hex[dcid->data[i] & 15];
  }
  c->qlog_name[2 * n] = '\0';
  if (n == 0) {
    memcpy(c->qlog_name, "empty", 6);
  }
  if (e->cfg.qlog_write == NULL) {
    return;
  }
  uint32_t every = e->cfg.qlog_sample > 1 ? e->cfg.qlog_sample : 1;
  if (e->qlog_seq++ % every != 0) {
    return;
  }
  c->qlog_on = 1;
  s->qlog_write = conn_qlog_write;
}

static wt_conn *conn_alloc(wt_engine *e, const wt_path *path, int is_server) {
  wt_conn *c = calloc(1, sizeof(*c));
  if (c == NULL) {
    return NULL;
  }
  c->e = e;
  c->path = *path;
  c->is_server = is_server;
  /* a server engine's client connection (an upstream session) speaks the
   * client's default dialect: the server profile COMPAT is not one a
   * client can offer (wt_engine.h wt_profile) */
  c->profile = is_server || !e->cfg.is_server ? e->cfg.wt_profile : WT_PROFILE_DRAFT02;
  c->grace_code = WT_H3_NO_ERROR;
  c->state = WT_CS_HANDSHAKE;
  e->conn_entered[WT_CS_HANDSHAKE]++;
  c->conn_ref.get_conn = conn_get;
  c->conn_ref.user_data = c;
  c->ctrl_sid = c->qenc_sid = c->qdec_sid = c->peer_ctrl_sid = -1;
  c->heap_idx = SIZE_MAX;
  c->expiry = UINT64_MAX;
  c->mem.budget = e->cfg.mem;
  c->win = (wt_engine_windows){.conn_data = e->cfg.initial_max_data,
                               .stream_data = e->cfg.initial_max_stream_data,
                               .wt_data = e->cfg.wt_initial_max_data,
                               .wt_streams_bidi = e->cfg.wt_initial_max_streams_bidi,
                               .wt_streams_uni = e->cfg.wt_initial_max_streams_uni};
  for (size_t i = 0; i < WT_H3_OWED_SLOTS; i++) {
    c->h3_owed[i].sid = -1;
  }
  /* the libraries' own allocations count as this connection's (and the
   * budget's); c->mem outlives them: wt_conn_free deletes the libraries'
   * objects before it detaches the account */
  c->qmem = (ngtcp2_mem){.user_data = &c->mem,
                         .malloc = wt_mem_acct_malloc,
                         .free = wt_mem_acct_free,
                         .calloc = wt_mem_acct_calloc,
                         .realloc = wt_mem_acct_realloc};
  c->hmem = (nghttp3_mem){.user_data = &c->mem,
                          .malloc = wt_mem_acct_malloc,
                          .free = wt_mem_acct_free,
                          .calloc = wt_mem_acct_calloc,
                          .realloc = wt_mem_acct_realloc};
  wt_sendbuf_init(&c->ctrl_out);
  c->ctrl_out.acct = &c->mem;
  wt_list_init(&c->sessions);
  wt_list_init(&c->streams);
  wt_list_init(&c->sendq);
  wt_list_init(&c->buffered_streams);
  wt_list_init(&c->gc_streams);
  wt_list_init(&c->gc_sessions);
  return c;
}

int wt_conn_server_new(wt_conn **out, wt_engine *e, const wt_path *path, const ngtcp2_pkt_hd *hd,
                       const ngtcp2_cid *odcid, int token_type) {
  wt_conn *c = conn_alloc(e, path, 1);
  if (c == NULL) {
    return WT_ERR_NOMEM;
  }
  uint8_t scid[WT_CID_MAXLEN], token[NGTCP2_STATELESS_RESET_TOKENLEN];
  size_t scidlen = e->cfg.scid_len;
  int rv = WT_ERR_CRYPTO;
  ngtcp2_cid scid_c;
  for (int tries = 0;; tries++) {
    if (wt_ctx_new_cid(e, scid, scidlen, token) != 0) {
      goto fail;
    }
    rv = wt_ctx_cid_add(c, scid, scidlen);
    if (rv == 0) {
      break;
    }
    if (rv != WT_ERR_STATE || tries > 4) {
      goto fail;
    }
  }
  ngtcp2_cid_init(&scid_c, scid, scidlen);
  /* Retransmitted Initials still carry the client-chosen DCID. */
  rv = wt_ctx_cid_add(c, hd->dcid.data, hd->dcid.datalen);
  if (rv < 0) {
    goto fail;
  }
  ngtcp2_callbacks cb;
  ngtcp2_settings settings;
  ngtcp2_transport_params params;
  conn_callbacks(&cb, 1);
  conn_settings(e, &settings);
  conn_qlog_setup(e, c, &settings, odcid ? odcid : &hd->dcid);
  /* docs/operations.md "The memory budget": what the budget lets this
   * connection have before its first byte arrives */
  wt_engine_grant_windows(e, &c->win);
  if (c->win.conn_data < e->cfg.initial_max_data ||
      c->win.stream_data < e->cfg.initial_max_stream_data) {
    e->st.mem_small_windows++;
  }
  conn_params(e, c, &params);
  /* RFC 9000 section 7.3: after a Retry, original_destination_connection_id
   * is the DCID of the first Initial and retry_source_connection_id ours. */
  params.original_dcid = odcid ? *odcid : hd->dcid;
  params.original_dcid_present = 1;
  if (odcid) {
    params.retry_scid = hd->dcid;
    params.retry_scid_present = 1;
  }
  if (hd->tokenlen > 0) {
    settings.token = hd->token;
    settings.tokenlen = hd->tokenlen;
    settings.token_type = (ngtcp2_token_type)token_type;
  }
  params.stateless_reset_token_present = 1;
  memcpy(params.stateless_reset_token, token, sizeof(token));
  ngtcp2_path np;
  to_ngtcp2_path(&np, path);
  rv = WT_ERR_NOMEM;
  if (ngtcp2_conn_server_new(&c->qc, &hd->scid, &scid_c, &np, hd->version, &cb, &settings, &params,
                             &c->qmem, c) != 0) {
    goto fail;
  }
  if (e->cfg.keep_alive_ns) {
    ngtcp2_conn_set_keep_alive_timeout(c->qc, e->cfg.keep_alive_ns);
  }
  c->ssl = wt_tls_ssl_new(e->tls, &c->conn_ref, NULL);
  if (c->ssl == NULL) {
    rv = WT_ERR_CRYPTO;
    goto fail;
  }
  ngtcp2_conn_set_tls_native_handle(c->qc, c->ssl);
  c->hs_counted = 1;
  e->n_handshaking++;
  *out = c;
  return 0;
fail:
  wt_conn_free(c, 0);
  return rv;
}

int wt_conn_client_new(wt_conn **out, wt_engine *e, const wt_path *path, const char *server_name) {
  wt_conn *c = conn_alloc(e, path, 0);
  if (c == NULL) {
    return WT_ERR_NOMEM;
  }
  int rv = WT_ERR_NOMEM;
  if (server_name) {
    c->server_name = strdup(server_name);
    if (c->server_name == NULL) {
      goto fail;
    }
  }
  uint8_t scid[WT_CID_MAXLEN], dcid[18], token[NGTCP2_STATELESS_RESET_TOKENLEN];
  size_t scidlen = e->cfg.scid_len;
  rv = WT_ERR_CRYPTO;
  if (wt_ctx_new_cid(e, scid, scidlen, token) != 0 || wt_ctx_rand(e, dcid, sizeof(dcid)) != 0) {
    goto fail;
  }
  rv = wt_ctx_cid_add(c, scid, scidlen);
  if (rv < 0) {
    goto fail;
  }
  ngtcp2_cid scid_c, dcid_c;
  ngtcp2_cid_init(&scid_c, scid, scidlen);
  ngtcp2_cid_init(&dcid_c, dcid, sizeof(dcid));
  ngtcp2_callbacks cb;
  ngtcp2_settings settings;
  ngtcp2_transport_params params;
  conn_callbacks(&cb, 0);
  conn_settings(e, &settings);
  conn_params(e, c, &params);
  ngtcp2_path np;
  to_ngtcp2_path(&np, path);
  rv = WT_ERR_NOMEM;
  if (ngtcp2_conn_client_new(&c->qc, &dcid_c, &scid_c, &np, NGTCP2_PROTO_VER_V1, &cb, &settings,
                             &params, &c->qmem, c) != 0) {
    goto fail;
  }
  c->ssl = wt_tls_ssl_new(wt_ctx_tls(c), &c->conn_ref, server_name);
  /* PINGs after silence: the configured keep_alive_ns; a server engine's
   * client connection (an upstream session may carry nothing for a while;
   * a server's keep_alive_ns is 0 by default) every idle timeout / 3 */
  uint64_t ka = e->cfg.keep_alive_ns                ? e->cfg.keep_alive_ns
                : e->cfg.is_server && c->qc != NULL ? e->cfg.idle_timeout_ns / 3
                                                    : 0;
  if (ka) {
    ngtcp2_conn_set_keep_alive_timeout(c->qc, ka);
  }
  if (c->ssl == NULL) {
    rv = WT_ERR_CRYPTO;
    goto fail;
  }
  ngtcp2_conn_set_tls_native_handle(c->qc, c->ssl);
  *out = c;
  return 0;
fail:
  wt_conn_free(c, 0);
  return rv;
}

/* ------------------------------------------------------------ teardown */

void wt_conn_free(wt_conn *c, int notify) {
  wt_engine *e = c->e;
  wt_ctx_uncount_handshake(c);
  /* Sessions and streams the app still holds: tell it (connection loss). */
  wt_list_node *l;
  if (notify) {
    while (!wt_list_empty(&c->sessions)) {
      wt_session *s = wt_container_of(c->sessions.next, wt_session, link);
      if (s->state == WT_SS_OPEN) {
        wt_session_end(s, 0, NULL, 0, 0);
      } else if (!c->is_server && (s->state == WT_SS_REQUEST || s->state == WT_SS_SENT)) {
        wt_session_refused_client(s, 0);
      } else if (s->deferred) {
        wt_session_pending_end(s, 0, 0); /* connection lost while the app decides */
      }
      wt_list_del(&s->link);
      wt_list_del(&s->gc_link); /* refused_client may have queued it */
      wt_session_del(s);
    }
    /* Streams still visible (e.g. buffered ones never are): close them. */
    for (l = c->streams.next; l != &c->streams; l = l->next) {
      wt_stream *st = wt_container_of(l, wt_stream, all_link);
      if (st->app_visible) {
        st->app_visible = 0;
        wt_ctx_call_stream_close(e, st);
      }
    }
    wt_ctx_call_conn_close(e, c, c->err_code, c->err_is_app);
  }
  while (!wt_list_empty(&c->streams)) {
    wt_stream *st = wt_container_of(c->streams.next, wt_stream, all_link);
    wt_stream_free(st);
  }
  while (!wt_list_empty(&c->sessions)) {
    wt_session *s = wt_container_of(c->sessions.next, wt_session, link);
    wt_list_del(&s->link);
    wt_session_del(s);
  }
  while (!wt_list_empty(&c->gc_sessions)) {
    wt_session *s = wt_container_of(c->gc_sessions.next, wt_session, gc_link);
    wt_list_del(&s->gc_link);
    wt_session_del(s);
  }
  wt_dgram_free_all(c);
  for (size_t i = 0; i < c->ncids; i++) {
    wt_cid_table_remove(&e->cids, c->cids[i].data, c->cids[i].len);
  }
  free(c->cids);
  if (c->h3) {
    nghttp3_conn_del(c->h3);
  }
  if (c->qc) {
    ngtcp2_conn_del(c->qc);
    c->qc = NULL;
  }
  if (c->qlog_on && !c->qlog_fin && c->e->cfg.qlog_write && (!c->is_server || c->handshake_done)) {
    /* ngtcp2 does not always end the trace itself: tell the writer */
    if (c->qlog_held) {
      conn_qlog_flush(c);
    }
    c->qlog_fin = 1;
    wt_ctx_call_qlog_write(c->e, c->qlog_name, NULL, 0, 1);
  }
  free(c->qlog_held); /* a handshake that never completed: never written */
  c->qlog_held = NULL;
  if (c->ssl) {
    wolfSSL_set_app_data(c->ssl, NULL);
    wolfSSL_free(c->ssl);
  }
  wt_sendbuf_free(&c->ctrl_out);
  free(c->rw);
  wt_engine_mem_detach(c); /* last: the frees above gave the memory back */
  free(c->close_pkt);
  free(c->grace_reason);
  free(c->server_name);
  free(c);
}

int wt_conn_gc(wt_conn *c) {
  while (!wt_list_empty(&c->gc_streams)) {
    wt_stream *st = wt_container_of(c->gc_streams.next, wt_stream, gc_link);
    wt_stream_free(st);
  }
  while (!wt_list_empty(&c->gc_sessions)) {
    wt_session *s = wt_container_of(c->gc_sessions.next, wt_session, gc_link);
    wt_list_del(&s->gc_link);
    wt_session_del(s);
  }
  return c->state == WT_CS_DEAD;
}

/* ------------------------------------------------------------ closing */

static void conn_enter_closing(wt_conn *c, const ngtcp2_ccerr *ccerr) {
  if (c->state >= WT_CS_CLOSING) {
    return;
  }
  WT_LOG_DEBUG("conn=%s %s: closing, type=%d code=0x%llx", CONN_ID(c),
               c->is_server ? "server" : "client", (int)ccerr->type,
               (unsigned long long)ccerr->error_code);
  if (!c->err_set) {
    c->err_code = ccerr->error_code;
    c->err_is_app = ccerr->type == NGTCP2_CCERR_TYPE_APPLICATION;
    c->err_set = 1;
  }
  if (!c->handshake_done) {
    c->e->st.handshakes_failed++;
  }
  size_t cap = c->e->cfg.max_udp_payload;
  uint8_t *buf = malloc(cap);
  ngtcp2_path_storage ps;
  ngtcp2_path_storage_zero(&ps);
  ngtcp2_pkt_info pi = {0};
  ngtcp2_ssize n =
      buf ? ngtcp2_conn_write_connection_close(c->qc, &ps.path, &pi, buf, cap, ccerr, c->e->now)
          : -1;
  if (n <= 0) {
    free(buf);
    wt_conn_set_state(c, WT_CS_DEAD);
    return;
  }
  c->close_pkt = buf;
  c->close_pktlen = (size_t)n;
  if (ps.path.remote.addrlen > 0) {
    from_ngtcp2_addr(&c->path.remote, &ps.path.remote);
    from_ngtcp2_addr(&c->path.local, &ps.path.local);
  }
  c->close_send = 1;
  c->closing_rx = 0;
  c->closing_next = 1; /* wt_conn_recv: the next packet is answered */
  wt_conn_set_state(c, WT_CS_CLOSING);
  /* RFC 9000 section 10.2: the closing period lasts three PTOs. */
  c->close_deadline = c->e->now + 3 * ngtcp2_conn_get_pto2(c->qc);
  wt_ctx_mark_dirty(c);
}

void wt_conn_close_liberr(wt_conn *c, int liberr) {
  ngtcp2_ccerr ccerr;
  ngtcp2_ccerr_default(&ccerr);
  if (c->err_set) {
    /* A callback chose the code (e.g. an HTTP/3 error) before failing. */
    if (c->err_is_app) {
      ngtcp2_ccerr_set_application_error(&ccerr, c->err_code, NULL, 0);
    } else {
      ngtcp2_ccerr_set_transport_error(&ccerr, c->err_code, NULL, 0);
    }
  } else if (liberr == NGTCP2_ERR_CRYPTO) {
    ngtcp2_ccerr_set_tls_alert(&ccerr, ngtcp2_conn_get_tls_alert2(c->qc), NULL, 0);
  } else {
    ngtcp2_ccerr_set_liberr(&ccerr, liberr, NULL, 0);
  }
  conn_enter_closing(c, &ccerr);
}

void wt_conn_apply_close(wt_conn *c) {
  if (!c->close_req) {
    return;
  }
  c->close_req = 0;
  if (c->state >= WT_CS_CLOSING) {
    return;
  }
  ngtcp2_ccerr ccerr;
  ngtcp2_ccerr_default(&ccerr);
  /* the grace close carries the reason of our last session close
   * (wt_ctx_note_session_end) */
  int grace = c->close_req_grace && c->close_req_code == c->grace_code;
  if (c->close_req_reason != NULL) {
    /* a close for a server policy (the memory budget) says which */
    ngtcp2_ccerr_set_application_error(&ccerr, c->close_req_code,
                                       (const uint8_t *)c->close_req_reason,
                                       strlen(c->close_req_reason));
  } else {
    ngtcp2_ccerr_set_application_error(&ccerr, c->close_req_code, grace ? c->grace_reason : NULL,
                                       grace ? c->grace_reason_len : 0);
  }
  c->err_code = c->close_req_code;
  c->err_is_app = 1;
  c->err_set = 1;
  conn_enter_closing(c, &ccerr);
}

static void conn_enter_draining(wt_conn *c) {
  const ngtcp2_ccerr *cc = ngtcp2_conn_get_ccerr2(c->qc);
  WT_LOG_DEBUG("conn=%s %s: draining, ccerr type=%d code=0x%llx", CONN_ID(c),
               c->is_server ? "server" : "client", cc ? (int)cc->type : -1,
               cc ? (unsigned long long)cc->error_code : 0ULL);
  if (!c->err_set && cc) {
    c->err_code = cc->error_code;
    c->err_is_app = cc->type == NGTCP2_CCERR_TYPE_APPLICATION;
    c->err_set = 1;
  }
  if (!c->handshake_done) {
    c->e->st.handshakes_failed++;
  }
  wt_conn_set_state(c, WT_CS_DRAINING);
  c->close_deadline = c->e->now + 3 * ngtcp2_conn_get_pto2(c->qc);
}

/* ------------------------------------------------------------ receive */

/* Server, once the handshake is complete: the connection needs no TLS any
 * more. A client sends no TLS message after its Finished (RFC 9001 sections
 * 4.4 and 6); our NewSessionTicket and HANDSHAKE_DONE are already queued in
 * ngtcp2 (ngtcp2_conn_submit_crypto_data copies); key updates are derived
 * by ngtcp2_crypto from the AEAD contexts it keeps. Freeing the WOLFSSL, its
 * record buffers and handshake state gives back ~12 KB per idle connection
 * (of ~70 KB; measured with heaptrack). Called after ngtcp2_conn_read_pkt
 * returns, never from its callbacks: wolfSSL is on the stack there. */
static void conn_tls_release(wt_conn *c) {
  ngtcp2_conn_set_tls_native_handle(c->qc, NULL);
  wolfSSL_set_app_data(c->ssl, NULL);
  wolfSSL_free(c->ssl);
  c->ssl = NULL;
}

void wt_conn_recv(wt_conn *c, const wt_path *path, const uint8_t *pkt, size_t len, uint8_t ecn) {
  if (c->state == WT_CS_CLOSING) {
    /* RFC 9000 section 10.2.1: answer with the CONNECTION_CLOSE again, but
     * at a limited rate: after the 1st, 2nd, 4th, 8th ... packet received
     * while closing. Answering every packet lets two closing endpoints
     * (with duplication) or a flood keep each other sending. */
    if (++c->closing_rx >= c->closing_next) {
      c->closing_next = c->closing_next < UINT32_MAX / 2 ? c->closing_next * 2 : UINT32_MAX;
      c->close_send = 1;
      wt_ctx_mark_dirty(c);
    }
    return;
  }
  if (c->state >= WT_CS_DRAINING) {
    return;
  }
  ngtcp2_path np;
  to_ngtcp2_path(&np, path);
  ngtcp2_pkt_info pi = {.ecn = ecn};
  int rv = ngtcp2_conn_read_pkt(c->qc, &np, &pi, pkt, len, c->e->now);
  if (rv == 0 && c->is_server && c->handshake_done && c->ssl) {
    conn_tls_release(c);
  }
  if (rv == 0) {
    /* Follow migration / NAT rebinding (RFC 9000 section 9). */
    const ngtcp2_path *cur = ngtcp2_conn_get_path2(c->qc);
    if (cur->remote.addrlen != c->path.remote.len ||
        memcmp(cur->remote.addr, &c->path.remote.ss, cur->remote.addrlen) != 0) {
      from_ngtcp2_addr(&c->path.remote, &cur->remote);
      from_ngtcp2_addr(&c->path.local, &cur->local);
    }
  }
  if (rv != 0 && c->state < WT_CS_CLOSING) {
    switch (rv) {
    case NGTCP2_ERR_DRAINING:
      conn_enter_draining(c);
      break;
    case NGTCP2_ERR_DROP_CONN:
    case NGTCP2_ERR_RETRY:
      WT_LOG_DEBUG("conn=%s %s: read_pkt: %s", CONN_ID(c), c->is_server ? "server" : "client",
                   ngtcp2_strerror(rv));
      if (!c->handshake_done) {
        c->e->st.handshakes_failed++;
      }
      wt_conn_set_state(c, WT_CS_DEAD);
      break;
    default:
      if (rv == NGTCP2_ERR_CALLBACK_FAILURE && !c->err_set) {
        c->e->st.errors_internal++;
      } else if (rv == NGTCP2_ERR_INTERNAL) {
        /* ngtcp2's glitch limiter: read_pkt returns this only when the
         * peer's suspicious frames outran glitch_ratelim_rate */
        c->e->st.conns_glitch_closed++;
        WT_LOG_WARN_RL(5,
                       "conn=%s closed: the peer exceeded ngtcp2's glitch limit (%u/s, burst %u)",
                       CONN_ID(c), (unsigned)WT_GLITCH_RATE, (unsigned)WT_GLITCH_BURST);
      } else if (rv != NGTCP2_ERR_CALLBACK_FAILURE) {
        c->e->st.errors_proto++;
      }
      WT_LOG_DEBUG("conn=%s read_pkt: %s", CONN_ID(c), ngtcp2_strerror(rv));
      wt_conn_close_liberr(c, rv);
      break;
    }
  }
  wt_ctx_mark_dirty(c);
}

/* ------------------------------------------------------------ timers */

uint64_t wt_conn_expiry(wt_conn *c) {
  switch (c->state) {
  case WT_CS_CLOSING:
  case WT_CS_DRAINING:
    return c->close_deadline;
  case WT_CS_DEAD:
    return 0;
  default: {
    uint64_t exp = ngtcp2_conn_get_expiry2(c->qc);
    if (c->grace_deadline != 0 && c->grace_deadline < exp) {
      exp = c->grace_deadline;
    }
    if (c->settings_deadline != 0 && c->settings_deadline < exp) {
      exp = c->settings_deadline;
    }
    if (c->buffered_deadline != 0 && c->buffered_deadline < exp) {
      exp = c->buffered_deadline;
    }
    return exp;
  }
  }
}

void wt_conn_handle_expiry(wt_conn *c) {
  uint64_t now = c->e->now;
  if (c->state == WT_CS_CLOSING || c->state == WT_CS_DRAINING) {
    if (now >= c->close_deadline) {
      wt_conn_set_state(c, WT_CS_DEAD);
    }
    return;
  }
  if (c->state == WT_CS_DEAD) {
    return;
  }
  if (c->grace_deadline != 0 && now >= c->grace_deadline) {
    c->grace_deadline = 0;
    /* A session may have been requested meanwhile: then its own close
     * re-arms the timer. */
    if (wt_session_none_left(c)) {
      wt_ctx_close_grace(c);
    }
  }
  if (c->settings_deadline != 0 && now >= c->settings_deadline) {
    wt_h3_settings_expired(c);
  }
  if (c->buffered_deadline != 0 && now >= c->buffered_deadline) {
    wt_session_expire_buffered(c);
  }
  int rv = ngtcp2_conn_handle_expiry(c->qc, now);
  if (rv == NGTCP2_ERR_IDLE_CLOSE || rv == NGTCP2_ERR_HANDSHAKE_TIMEOUT) {
    WT_LOG_DEBUG("conn=%s %s: expiry: %s", CONN_ID(c), c->is_server ? "server" : "client",
                 ngtcp2_strerror(rv));
    /* RFC 9000 section 10.1: idle timeout closes silently. */
    if (!c->handshake_done) {
      c->e->st.handshakes_failed++;
    }
    wt_conn_set_state(c, WT_CS_DEAD);
    return;
  }
  if (rv != 0) {
    wt_conn_close_liberr(c, rv);
    return;
  }
  wt_ctx_mark_dirty(c);
}

/* ------------------------------------------------------------ write */

enum { SRC_NONE, SRC_CTRL, SRC_H3, SRC_WT };

typedef struct wt_pkt_ctx {
  int h3_done, dgram_done;
} wt_pkt_ctx;

static void account_stream(wt_conn *c, int src, int64_t sid, wt_stream *st, ngtcp2_ssize n,
                           size_t total, int fin) {
  if (n < 0) {
    return;
  }
  switch (src) {
  case SRC_CTRL:
    wt_sendbuf_consume(&c->ctrl_out, (size_t)n);
    break;
  case SRC_H3:
    nghttp3_conn_add_write_offset(c->h3, sid, (size_t)n);
    break;
  case SRC_WT:
    if (st->fc) {
      /* draft-16 section 5.4: the session's data limit counts stream
       * payload, not the stream header. */
      uint64_t h = st->tx_hdr_len, from = st->sb.sent, to = from + (uint64_t)n;
      wt_sfc_tx_sent(st->fc, (to > h ? to - h : 0) - (from > h ? from - h : 0));
    }
    wt_stream_on_written(st, (size_t)n, total, fin);
    break;
  default:
    break;
  }
}

static void stream_blocked(wt_conn *c, int src, int64_t sid, wt_stream *st, int shut) {
  switch (src) {
  case SRC_CTRL:
    c->ctrl_blocked = 1;
    break;
  case SRC_H3:
    if (shut) {
      nghttp3_conn_shutdown_stream_write(c->h3, sid);
    } else {
      nghttp3_conn_block_stream(c->h3, sid);
    }
    break;
  case SRC_WT:
    wt_stream_on_blocked(st, shut);
    break;
  default:
    break;
  }
}

/* Write one packet. Returns its length, 0 if nothing is to be sent, or a
 * negative ngtcp2 error (fatal). */
static ngtcp2_ssize conn_write_pkt(wt_conn *c, ngtcp2_path_storage *ps, ngtcp2_pkt_info *pi,
                                   uint8_t *buf, size_t cap) {
  wt_pkt_ctx pc = {0};
  for (int guard = 0; guard < 4096; guard++) {
    int src = SRC_NONE, fin = 0;
    int64_t sid = -1;
    wt_stream *st = NULL;
    ngtcp2_vec vec[16];
    size_t nvec = 0, total = 0;
    if (c->ctrl_sid >= 0 && !c->ctrl_blocked && !c->ctrl_held &&
        wt_sendbuf_unsent(&c->ctrl_out) > 0) {
      src = SRC_CTRL;
      sid = c->ctrl_sid;
      nvec = wt_sendbuf_peek(&c->ctrl_out, (wt_iov *)vec, 16, SIZE_MAX);
    } else if (c->h3 && !pc.h3_done) {
      nghttp3_vec hv[16];
      nghttp3_ssize hn = nghttp3_conn_writev_stream(c->h3, &sid, &fin, hv, 16);
      if (hn < 0) {
        c->err_code = nghttp3_err_infer_quic_app_error_code((int)hn);
        c->err_is_app = 1;
        c->err_set = 1;
        return NGTCP2_ERR_CALLBACK_FAILURE;
      }
      if (sid >= 0 && sid == c->ctrl_sid) {
        if (wt_h3_take_ctrl(c, hv, (size_t)hn) != 0) {
          return NGTCP2_ERR_CALLBACK_FAILURE;
        }
        continue;
      }
      if (sid >= 0 && (sid == c->qenc_sid || sid == c->qdec_sid)) {
        if (wt_h3_drop_qpack(c, sid, hv, (size_t)hn) != 0) {
          return NGTCP2_ERR_CALLBACK_FAILURE;
        }
        continue;
      }
      if (sid < 0) {
        pc.h3_done = 1;
        continue;
      }
      src = SRC_H3;
      nvec = (size_t)hn;
      for (size_t i = 0; i < nvec; i++) {
        vec[i].base = hv[i].base;
        vec[i].len = hv[i].len;
      }
    } else if (c->dq_head && !pc.dgram_done && c->handshake_done) {
      ngtcp2_ssize n = 0;
      int rv = wt_dgram_write(c, ps, pi, buf, cap, &pc.dgram_done, &n);
      if (rv < 0) {
        return rv;
      }
      if (rv == 1) {
        return n;
      }
      continue;
    } else if (!wt_list_empty(&c->sendq)) {
      st = wt_container_of(c->sendq.next, wt_stream, q_link);
      src = SRC_WT;
      sid = st->id;
      size_t maxb = 65536;
      if (st->fc) {
        /* Never beyond the peer's session data limit (draft-16 section
         * 5.4): out of credit, the stream waits for WT_MAX_DATA. */
        uint64_t hdr_left = st->sb.sent < st->tx_hdr_len ? st->tx_hdr_len - st->sb.sent : 0;
        uint64_t avail = wt_sfc_tx_avail(st->fc);
        if (avail < maxb - hdr_left) {
          maxb = (size_t)(hdr_left + avail);
        }
        if (maxb == 0 && wt_sendbuf_unsent(&st->sb) > 0) {
          wt_session_fc_data_blocked(st);
          continue;
        }
      }
      nvec = wt_sendbuf_peek(&st->sb, (wt_iov *)vec, 16, maxb);
      for (size_t i = 0; i < nvec; i++) {
        total += vec[i].len;
      }
      fin = st->tx_fin && !st->tx_done && total == wt_sendbuf_unsent(&st->sb);
      if (nvec == 0 && !fin) {
        wt_list_del(&st->q_link); /* nothing to send after all */
        st->in_sendq = 0;
        continue;
      }
    }
    if (src != SRC_WT) {
      for (size_t i = 0; i < nvec; i++) {
        total += vec[i].len;
      }
    }
    uint32_t flags = NGTCP2_WRITE_STREAM_FLAG_MORE;
    if (fin) {
      flags |= NGTCP2_WRITE_STREAM_FLAG_FIN;
    }
    if (src == SRC_NONE) {
      flags = NGTCP2_WRITE_STREAM_FLAG_NONE;
    }
    ngtcp2_ssize ndatalen = -1;
    ngtcp2_ssize n = ngtcp2_conn_writev_stream(c->qc, &ps->path, pi, buf, cap, &ndatalen, flags,
                                               sid, vec, nvec, c->e->now);
    if (n < 0) {
      switch (n) {
      case NGTCP2_ERR_STREAM_DATA_BLOCKED:
        stream_blocked(c, src, sid, st, 0);
        continue;
      case NGTCP2_ERR_STREAM_SHUT_WR:
      case NGTCP2_ERR_STREAM_NOT_FOUND:
        if (src == SRC_CTRL) {
          /* RFC 9114 section 6.2.1: our control stream must stay open. */
          c->err_code = WT_H3_CLOSED_CRITICAL_STREAM;
          c->err_is_app = 1;
          c->err_set = 1;
          return NGTCP2_ERR_CALLBACK_FAILURE;
        }
        stream_blocked(c, src, sid, st, 1);
        continue;
      case NGTCP2_ERR_WRITE_MORE:
        account_stream(c, src, sid, st, ndatalen, total, fin);
        continue;
      default:
        return n;
      }
    }
    account_stream(c, src, sid, st, ndatalen, total, fin);
    return n;
  }
  return 0;
}

/* ngtcp2_write_pkt for ngtcp2_conn_write_aggregate_pkt2: |path| is the
 * path of the ngtcp2_path_storage wt_conn_write passed. */
static ngtcp2_ssize conn_write_one(ngtcp2_conn *qc, ngtcp2_path *path, ngtcp2_pkt_info *pi,
                                   uint8_t *dest, size_t destlen, ngtcp2_tstamp ts, void *ud) {
  wt_conn *c = ud;
  size_t mtu = c->e->cfg.max_udp_payload;
  return conn_write_pkt(c, wt_container_of(path, ngtcp2_path_storage, path), pi, dest,
                        destlen < mtu ? destlen : mtu);
}

int wt_conn_write(wt_conn *c, wt_tx_batch *out) {
  wt_engine *e = c->e;
  wt_session_fc_flush(c); /* may reset sessions: before the close is applied */
  wt_conn_apply_close(c);
  size_t mtu = e->cfg.max_udp_payload;
  if (out->n >= out->max || out->cap - out->used < mtu) {
    return 1;
  }
  if (c->state == WT_CS_CLOSING) {
    if (c->close_send) {
      wt_tx_entry *ent = &out->ents[out->n++];
      memcpy(out->buf + out->used, c->close_pkt, c->close_pktlen);
      ent->data = out->buf + out->used;
      ent->len = ent->segsize = c->close_pktlen;
      ent->path = c->path;
      ent->ecn = 0;
      out->used += c->close_pktlen;
      c->close_send = 0;
      e->st.pkts_out++;
      e->st.bytes_out += c->close_pktlen;
    }
    return 0;
  }
  if (c->state != WT_CS_HANDSHAKE && c->state != WT_CS_OPEN) {
    return 0;
  }
  size_t max_segs = out->max_segments ? out->max_segments : 1;
  size_t quantum = ngtcp2_conn_get_send_quantum2(c->qc) / mtu;
  if (quantum < 1) {
    quantum = 1;
  }
  if (max_segs > quantum) {
    max_segs = quantum;
  }
  ngtcp2_path_storage ps;
  ngtcp2_path_storage_zero(&ps);
  size_t pkts = 0;
  int more = 0;
  for (;;) {
    /* Room for a full packet and an entry slot; each call below writes one
     * GSO run (equal segments, only the last shorter; one path and ECN
     * mark) into one entry. */
    if (pkts >= max_segs || out->cap - out->used < mtu || out->n >= out->max) {
      more = 1;
      break;
    }
    ngtcp2_pkt_info pi = {0};
    uint8_t *p = out->buf + out->used;
    size_t gso = 0;
    ngtcp2_ssize n =
        ngtcp2_conn_write_aggregate_pkt2(c->qc, &ps.path, &pi, p, out->cap - out->used, &gso,
                                         conn_write_one, max_segs - pkts, e->now);
    if (n < 0) {
      if (c->state < WT_CS_CLOSING) {
        if (n != NGTCP2_ERR_CALLBACK_FAILURE) {
          e->st.errors_internal++;
        }
        wt_conn_close_liberr(c, (int)n);
      }
      break;
    }
    if (n == 0) {
      break;
    }
    size_t npkt = ((size_t)n + gso - 1) / gso;
    wt_tx_entry *ent = &out->ents[out->n++];
    ent->data = p;
    ent->len = (size_t)n;
    ent->segsize = gso;
    from_ngtcp2_addr(&ent->path.local, &ps.path.local);
    from_ngtcp2_addr(&ent->path.remote, &ps.path.remote);
    ent->ecn = pi.ecn;
    out->used += (size_t)n;
    pkts += npkt;
    e->st.pkts_out += npkt;
    e->st.bytes_out += (size_t)n;
  }
  if (pkts > 0 && more) {
    ngtcp2_conn_update_pkt_tx_time(c->qc, e->now);
  } else if (pkts > 0) {
    /* ngtcp2 had nothing more it could send: keep the pacing delay for
     * the next burst, but arm no timer for it, so an idle connection is
     * not woken up (tools/patches/ngtcp2/0005; when pacing held a write
     * back, e.g. only an ACK went out, the timer stays). In fan-out at
     * light load that was ~40-65 % of the shard's loop turns. */
    ngtcp2_conn_update_pkt_tx_time_idle(c->qc, e->now);
  }
  if (c->n_stop_notify > 0) {
    wt_stream_notify_stops(c);
  }
  if (c->n_reset_due > 0 && wt_stream_run_resets(c)) {
    more = 1; /* their RESET_STREAM_AT frames */
  }
  return more;
}

/* ------------------------------------------------------------ public API */

int wt_conn_open_session(wt_conn *c, const char *authority, const char *path, const char *origin,
                         wt_session **out) {
  wt_session_opts o = {.origin = origin};
  return wt_conn_open_session_opts(c, authority, path, &o, out);
}

/* The offer and the extra fields of a new client session (wt_hdrs.h). */
static int session_opts_apply(wt_session *s, const wt_session_opts *o) {
  int rv = 0;
  if (o->protocols_raw) {
    rv = wt_hfield_value_ok(o->protocols_raw, strlen(o->protocols_raw))
             ? wt_hdrs_add_raw(&s->hdrs, "wt-available-protocols", o->protocols_raw)
             : WT_ERR_INVAL;
  } else if (o->n_protocols > 0) {
    rv = wt_hdrs_offer(&s->hdrs, o->protocols, o->n_protocols);
  }
  for (size_t i = 0; rv == 0 && i < o->n_headers; i++) {
    rv = wt_hdrs_add(&s->hdrs, o->headers[i].name, o->headers[i].value);
  }
  return rv;
}

int wt_conn_open_session_opts(wt_conn *c, const char *authority, const char *path,
                              const wt_session_opts *opts, wt_session **out) {
  const char *origin = opts ? opts->origin : NULL;
  if (c == NULL || c->is_server || !wt_ctx_conn_usable(c) || authority == NULL || path == NULL) {
    return c && c->is_server ? WT_ERR_STATE : (c ? WT_ERR_INVAL : WT_ERR_INVAL);
  }
  if (c->goaway_recv) {
    return WT_ERR_STATE;
  }
  wt_session *s = wt_session_new_client(c, authority, path, origin);
  if (s == NULL) {
    return WT_ERR_NOMEM;
  }
  int rv = opts ? session_opts_apply(s, opts) : 0;
  if (rv < 0) {
    wt_list_del(&s->link);
    wt_session_del(s);
    return rv;
  }
  if (out) {
    *out = s;
  }
  wt_h3_pump_requests(c);
  wt_ctx_mark_dirty(c);
  return 0;
}

const wt_path *wt_conn_path(const wt_conn *c) {
  return &c->path;
}
int wt_conn_get_info(const wt_conn *c, wt_conn_info *out) {
  if (!c || !out) {
    return WT_ERR_INVAL;
  }
  if (!c->qc) {
    return WT_ERR_STATE;
  }
  ngtcp2_conn_info ci;
  ngtcp2_conn_get_conn_info2(c->qc, &ci);
  *out = (wt_conn_info){.srtt_ns = ci.smoothed_rtt,
                        .min_rtt_ns = ci.min_rtt,
                        .cwnd = ci.cwnd,
                        .bytes_in_flight = ci.bytes_in_flight};
  return 0;
}
void wt_conn_set_user(wt_conn *c, void *u) {
  c->user = u;
}
void *wt_conn_get_user(const wt_conn *c) {
  return c->user;
}
wt_engine *wt_conn_engine(const wt_conn *c) {
  return c->e;
}

int wt_conn_stateless_reset(const wt_conn *c) {
  return c->stateless_reset;
}

int wt_conn_rebind(wt_conn *c, const wt_addr *local) {
  if (c == NULL || local == NULL || local->len == 0 || local->len > sizeof(local->ss)) {
    return WT_ERR_INVAL;
  }
  if (c->is_server || c->state >= WT_CS_CLOSING || c->qc == NULL) {
    return WT_ERR_STATE;
  }
  c->path.local = *local;
  ngtcp2_addr a;
  ngtcp2_addr_init(&a, (const ngtcp2_sockaddr *)&c->path.local.ss, c->path.local.len);
  ngtcp2_conn_set_local_addr(c->qc, &a);
  wt_ctx_mark_dirty(c);
  return 0;
}

int wt_conn_close(wt_conn *c, uint64_t error_code) {
  if (c->state >= WT_CS_CLOSING) {
    return WT_ERR_STATE;
  }
  wt_ctx_close_request(c, error_code); /* applied at the next wt_engine_write */
  return 0;
}
