/* wt_ctx.c: the operations every core module needs on the engine and a
 * connection, and the wrappers that call the embedding program
 * (wt_ctx.h). */
#define WT_LOG_MODULE "conn"
#include "wt_ctx.h"

#include <stdlib.h>
#include <string.h>

#include "wt_errmap.h"
#include "wt_log.h"

/* ------------------------------------------------------------ scheduling */

void wt_ctx_mark_dirty(wt_conn *c) {
  if (!c->dirty && c->state != WT_CS_DEAD) {
    c->dirty = 1;
    wt_list_push(&c->e->dirty, &c->dirty_link);
  }
}

void wt_ctx_run_releases(wt_engine *e) {
  /* wt_engine.h "Release rules": at the end of an entry point, outside
   * every library callback, never nested. A call from inside a release
   * returns at once: the outer loop takes what it queued. */
  if (e->relq.running) {
    return;
  }
  wt_relq_run(&e->relq);
}

/* ------------------------------------------------------------ closing */

void wt_ctx_close_request(wt_conn *c, uint64_t h3_code) {
  if (c->state >= WT_CS_CLOSING || c->close_req) {
    return;
  }
  /* Deferred: this may run inside an ngtcp2/nghttp3 callback, where
   * writing the CONNECTION_CLOSE would re-enter ngtcp2. */
  c->close_req = 1;
  c->close_req_code = h3_code;
  wt_ctx_mark_dirty(c);
}

void wt_ctx_close_request_reason(wt_conn *c, uint64_t h3_code, const char *reason) {
  if (c->state >= WT_CS_CLOSING || c->close_req) {
    return;
  }
  wt_ctx_close_request(c, h3_code);
  c->close_req_reason = reason;
}

void wt_ctx_close_grace(wt_conn *c) {
  if (c->state >= WT_CS_CLOSING || c->close_req) {
    return;
  }
  wt_ctx_close_request(c, c->grace_code);
  c->close_req_grace = 1;
}

void wt_ctx_ip_detach(wt_conn *c) {
  if (c->ip_key == 0) {
    return;
  }
  wt_engine *e = c->e;
  uintptr_t n = (uintptr_t)wt_hmap_get(&e->per_ip, c->ip_key);
  if (n <= 1) {
    wt_hmap_del(&e->per_ip, c->ip_key);
  } else {
    (void)wt_hmap_put(&e->per_ip, c->ip_key, (void *)(n - 1)); /* replaces: no allocation */
  }
  c->ip_key = 0;
}

void wt_ctx_set_error(wt_conn *c, uint64_t h3_code) {
  if (!c->err_set) {
    c->err_code = h3_code;
    c->err_is_app = 1;
    c->err_set = 1;
  }
}

#define WT_CLOSE_GRACE_PTO_CAP (2000ULL * 1000 * 1000) /* 3 x PTO counts up to 2 s */

void wt_ctx_arm_grace(wt_conn *c, const char *why) {
  if (!c->is_server || c->state >= WT_CS_CLOSING || c->close_req || c->grace_deadline != 0) {
    return;
  }
  /* Not at once: Chromium posts the close to the page as a task, and a
   * CONNECTION_CLOSE processed before that task runs turns the close into
   * "Connection lost" (docs/protocol.md section 4). */
  uint64_t grace = 3 * ngtcp2_conn_get_pto2(c->qc);
  if (grace > WT_CLOSE_GRACE_PTO_CAP) {
    grace = WT_CLOSE_GRACE_PTO_CAP;
  }
  if (grace < c->e->cfg.close_grace_ns) {
    grace = c->e->cfg.close_grace_ns;
  }
  if (grace == 0) {
    wt_ctx_close_grace(c);
    return;
  }
  c->grace_deadline = c->e->now + grace;
  WT_LOG_DEBUG("conn=%s server: %s, no session left: closing in %llu ms", CONN_ID(c), why,
               (unsigned long long)(grace / 1000000));
  wt_ctx_mark_dirty(c);
}

uint64_t wt_ctx_conn_close_code(uint32_t n) {
  if (n == WT_H3_DATAGRAM_ERROR || (n >= WT_H3_NO_ERROR && n <= WT_H3_VERSION_FALLBACK) ||
      (n >= 0x200 && n <= 0x202)) {
    return WT_H3_NO_ERROR;
  }
  return n;
}

void wt_ctx_note_session_end(wt_conn *c, int by_us, uint32_t code, const uint8_t *reason,
                             size_t reason_len) {
  if (!c->is_server) {
    return;
  }
  free(c->grace_reason);
  c->grace_reason = NULL;
  c->grace_reason_len = 0;
  c->grace_code = WT_H3_NO_ERROR;
  if (!by_us) {
    return;
  }
  c->grace_code = wt_ctx_conn_close_code(code);
  if (reason_len > WT_CTX_CLOSE_REASON_MAX) {
    reason_len = WT_CTX_CLOSE_REASON_MAX;
    /* back up over continuation bytes to a character boundary */
    while (reason_len > 0 && (reason[reason_len] & 0xc0) == 0x80) {
      reason_len--;
    }
  }
  if (reason_len > 0 && (c->grace_reason = malloc(reason_len)) != NULL) {
    memcpy(c->grace_reason, reason, reason_len);
    c->grace_reason_len = reason_len;
  }
}

void wt_ctx_cancel_grace(wt_conn *c) {
  if (c->grace_deadline != 0) {
    WT_LOG_DEBUG("conn=%s server: new session request, close grace cancelled", CONN_ID(c));
    c->grace_deadline = 0;
  }
}

void wt_ctx_uncount_handshake(wt_conn *c) {
  if (c->hs_counted) {
    c->hs_counted = 0;
    c->e->n_handshaking--;
  }
}

/* ------------------------------------------------------------ CIDs */

int wt_ctx_rand(wt_engine *e, uint8_t *out, size_t len) {
  return wt_tls_rand(e->tls, out, len);
}

int wt_ctx_new_cid(wt_engine *e, uint8_t *cid, size_t len, uint8_t *token) {
  if (wt_ctx_rand(e, cid, len) != 0) {
    return WT_ERR_CRYPTO;
  }
  if (e->cfg.is_server &&
      wt_cid_apply_shard(cid, len, e->cfg.shard_id, e->cfg.n_shards, e->cid_mask) != 0) {
    return WT_ERR_CONFIG;
  }
  if (e->qlb) {
    /* QUIC-LB (core/wt_qlb.h): the shard bits just chosen stay in byte 0
     * under the config rotation bits; the random bytes after it are the
     * nonce, then server ID || nonce are written (encrypted with a key). */
    uint8_t nonce[WT_QLB_NONCE_MAX];
    memcpy(nonce, cid + 1, wt_qlb_params_of(e->qlb)->nonce_len);
    if (wt_qlb_encode(e->qlb, nonce, cid[0], cid, len) != 0) {
      return WT_ERR_CONFIG;
    }
  }
  if (token) {
    ngtcp2_cid nc;
    ngtcp2_cid_init(&nc, cid, len);
    /* Tokens derive from the process-wide secret so any shard can produce
     * them (docs/architecture.md "Connection IDs and steering"). */
    if (ngtcp2_crypto_generate_stateless_reset_token(token, e->secret, sizeof(e->secret), &nc) !=
        0) {
      return WT_ERR_CRYPTO;
    }
  }
  return 0;
}

int wt_ctx_cid_add(wt_conn *c, const uint8_t *cid, size_t len) {
  if (c->ncids == c->cidcap) {
    size_t ncap = c->cidcap ? c->cidcap * 2 : 4;
    wt_cid_rec *n = realloc(c->cids, ncap * sizeof(*n));
    if (n == NULL) {
      return WT_ERR_NOMEM;
    }
    c->cids = n;
    c->cidcap = ncap;
  }
  int rv = wt_cid_table_insert(&c->e->cids, cid, len, c);
  if (rv < 0) {
    return rv;
  }
  c->cids[c->ncids].len = (uint8_t)len;
  memcpy(c->cids[c->ncids].data, cid, len);
  c->ncids++;
  return 0;
}

void wt_ctx_cid_remove(wt_conn *c, const uint8_t *cid, size_t len) {
  for (size_t i = 0; i < c->ncids; i++) {
    if (c->cids[i].len == len && memcmp(c->cids[i].data, cid, len) == 0) {
      wt_cid_table_remove(&c->e->cids, cid, len);
      c->cids[i] = c->cids[--c->ncids];
      return;
    }
  }
}

/* ------------------------------------------------------------ callbacks */

int wt_ctx_call_session_request(wt_engine *e, wt_session *s, const wt_request *req) {
  /* No handler: nothing is served here (RFC 9110 section 15.5.5). */
  return e->cb.session_request ? e->cb.session_request(e->user, s, req) : 404;
}

void wt_ctx_call_session_open(wt_engine *e, wt_session *s) {
  if (e->cb.session_open) {
    e->cb.session_open(e->user, s);
  }
}

void wt_ctx_call_session_close(wt_engine *e, wt_session *s, uint32_t code, const uint8_t *reason,
                               size_t reason_len, int clean) {
  if (e->cb.session_close) {
    e->cb.session_close(e->user, s, code, reason, reason_len, clean);
  }
}

void wt_ctx_call_session_drain(wt_engine *e, wt_session *s) {
  if (e->cb.session_drain) {
    e->cb.session_drain(e->user, s);
  }
}

void wt_ctx_call_session_refused(wt_engine *e, wt_session *s, int status) {
  if (e->cb.session_refused) {
    e->cb.session_refused(e->user, s, status);
  }
}

void wt_ctx_call_stream_open(wt_engine *e, wt_session *s, wt_stream *st) {
  if (e->cb.stream_open) {
    e->cb.stream_open(e->user, s, st);
  }
}

void wt_ctx_call_stream_data(wt_engine *e, wt_stream *st, const uint8_t *data, size_t len,
                             int fin) {
  if (e->cb.stream_data) {
    e->cb.stream_data(e->user, st, data, len, fin);
  }
}

void wt_ctx_call_stream_reset(wt_engine *e, wt_stream *st, uint32_t code, int has_code) {
  if (e->cb.stream_reset) {
    e->cb.stream_reset(e->user, st, code, has_code);
  }
}

void wt_ctx_call_stream_stop(wt_engine *e, wt_stream *st, uint32_t code, int has_code) {
  if (e->cb.stream_stop) {
    e->cb.stream_stop(e->user, st, code, has_code);
  }
}

void wt_ctx_call_stream_writable(wt_engine *e, wt_stream *st) {
  if (e->cb.stream_writable) {
    e->cb.stream_writable(e->user, st);
  }
}

void wt_ctx_call_stream_close(wt_engine *e, wt_stream *st) {
  if (e->cb.stream_close) {
    e->cb.stream_close(e->user, st);
  }
}

void wt_ctx_call_datagram(wt_engine *e, wt_session *s, const uint8_t *data, size_t len) {
  if (e->cb.datagram) {
    e->cb.datagram(e->user, s, data, len);
  }
}

void wt_ctx_call_conn_close(wt_engine *e, wt_conn *c, uint64_t error_code, int is_app) {
  if (e->cb.conn_close) {
    e->cb.conn_close(e->user, c, error_code, is_app);
  }
}

void wt_ctx_call_qlog_write(wt_engine *e, const char *name, const void *data, size_t len, int fin) {
  if (e->cfg.qlog_write) {
    e->cfg.qlog_write(e->cfg.qlog_user, name, data, len, fin);
  }
}
