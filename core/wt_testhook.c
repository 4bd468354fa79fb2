/* wt_testhook.c: fault injection for tests (see wt_testhook.h). */
#include "wt_testhook.h"

#include <malloc.h>
#include <stddef.h>
#include <string.h>

#include "wt_conn.h"
#include "wt_varint.h"

/* ------------------------------------------------------------ raw streams */

int wt_testhook_open_raw_stream(wt_session *s, int bidi, const uint8_t *prefix, size_t len,
                                wt_stream **out) {
  if (s == NULL || prefix == NULL || len == 0 || len > WT_TESTHOOK_PREFIX_MAX) {
    return WT_ERR_INVAL;
  }
  /* Build the replacement first, so a failure leaves nothing behind. */
  wt_sendbuf nb;
  wt_sendbuf_init(&nb);
  if (wt_sendbuf_append(&nb, prefix, len) != 0) {
    wt_sendbuf_free(&nb);
    return WT_ERR_NOMEM;
  }
  wt_stream *st = NULL;
  int rv = wt_session_open_stream(s, bidi, &st);
  if (rv < 0) {
    wt_sendbuf_free(&nb);
    return rv;
  }
  /* A new local stream holds just its header, nothing handed to ngtcp2 yet
   * (streams are written only by wt_engine_write). Swap the header. */
  if (st->sb.sent != 0 || st->sb.acked != 0 || st->sb.end > 2 * WT_VARINT_MAXLEN) {
    wt_sendbuf_free(&nb); /* cannot happen; keep the normal stream then */
    wt_stream_reset(st, 0);
    return WT_ERR_STATE;
  }
  wt_sendbuf_free(&st->sb);
  st->sb = nb;
  if (out) {
    *out = st;
  }
  return 0;
}

/* ------------------------------------------------------------ raw capsules */

int wt_testhook_send_raw_capsule(wt_session *s, const uint8_t *bytes, size_t len) {
  if (s == NULL || bytes == NULL || len == 0 || len > WT_TESTHOOK_CAPSULE_MAX) {
    return WT_ERR_INVAL;
  }
  wt_conn *c = s->c;
  if (s->state != WT_SS_OPEN || s->id < 0 || s->cap_fin || s->close_sent || s->h3_closed ||
      c == NULL || (c->state != WT_CS_OPEN && c->state != WT_CS_HANDSHAKE)) {
    return WT_ERR_STATE;
  }
  int rv = wt_session_queue_capsule(s, bytes, len, 0);
  if (rv == 0) {
    wt_engine_mark_dirty(c->e, c);
  }
  return rv;
}

/* ------------------------------------------------------------ peer codes */

#define TH_RECS 64

typedef struct th_rec {
  const ngtcp2_conn *qc;
  int64_t sid;
  uint64_t code;
  int how;
} th_rec;

static _Thread_local th_rec th_recs[TH_RECS];
static _Thread_local unsigned th_next;

/* The engine's own callbacks (the same functions for every connection). */
static _Thread_local ngtcp2_stream_reset th_orig_reset;
static _Thread_local ngtcp2_stream_close th_orig_close;

static void th_record(const ngtcp2_conn *qc, int64_t sid, uint64_t code, int how) {
  th_rec *r = &th_recs[th_next++ % TH_RECS];
  r->qc = qc;
  r->sid = sid;
  r->code = code;
  r->how = how;
}

/* Record first: the engine callback may end the session and the app asks
 * for the code from inside it. */
static int th_stream_reset(ngtcp2_conn *qc, int64_t sid, uint64_t final_size, uint64_t code,
                           void *ud, void *sud) {
  th_record(qc, sid, code, WT_TESTHOOK_CODE_RESET);
  return th_orig_reset ? th_orig_reset(qc, sid, final_size, code, ud, sud) : 0;
}

static int th_stream_close(ngtcp2_conn *qc, uint32_t flags, int64_t sid, uint64_t code, void *ud,
                           void *sud) {
  if (flags & NGTCP2_STREAM_CLOSE_FLAG_APP_ERROR_CODE_SET) {
    th_record(qc, sid, code, WT_TESTHOOK_CODE_CLOSE);
  }
  return th_orig_close ? th_orig_close(qc, sid, flags, code, ud, sud) : 0;
}

/* Fields of ngtcp2_callbacks that wt_conn.c sets to the public
 * ngtcp2_crypto helpers for every connection (client and server). */
static int th_is_engine_table(const ngtcp2_callbacks *cb) {
  return cb->recv_crypto_data == ngtcp2_crypto_recv_crypto_data_cb &&
         cb->encrypt == ngtcp2_crypto_encrypt_cb && cb->decrypt == ngtcp2_crypto_decrypt_cb &&
         cb->hp_mask == ngtcp2_crypto_hp_mask_cb && cb->update_key == ngtcp2_crypto_update_key_cb &&
         cb->delete_crypto_aead_ctx == ngtcp2_crypto_delete_crypto_aead_ctx_cb &&
         cb->delete_crypto_cipher_ctx == ngtcp2_crypto_delete_crypto_cipher_ctx_cb &&
         cb->get_path_challenge_data == ngtcp2_crypto_get_path_challenge_data_cb &&
         cb->version_negotiation == ngtcp2_crypto_version_negotiation_cb &&
         cb->stream_reset != NULL && cb->stream_close != NULL;
}

int wt_testhook_watch_codes(wt_conn *c) {
  if (c == NULL || c->qc == NULL) {
    return WT_ERR_INVAL;
  }
  /* Only the ngtcp2 release this was checked against (its ngtcp2_conn keeps
   * a copy of ngtcp2_callbacks near its start). */
  const ngtcp2_info *info = ngtcp2_version(0);
  if (info == NULL || info->version_num != NGTCP2_VERSION_NUM ||
      (NGTCP2_VERSION_NUM >> 8) != 0x010b) {
    return WT_ERR_STATE;
  }
  /* Search within the allocation only (ngtcp2's default allocator is
   * malloc; the sanitizer build reports the exact requested size). */
  size_t size = malloc_usable_size(c->qc);
  const size_t window = 2048;
  if (size < sizeof(ngtcp2_callbacks)) {
    return WT_ERR_STATE;
  }
  size_t last = size - sizeof(ngtcp2_callbacks);
  if (last > window) {
    last = window;
  }
  ngtcp2_callbacks *found = NULL;
  for (size_t off = 0; off <= last; off += _Alignof(ngtcp2_callbacks)) {
    ngtcp2_callbacks *cb = (ngtcp2_callbacks *)(void *)((char *)c->qc + off);
    if (th_is_engine_table(cb)) {
      if (found) {
        return WT_ERR_STATE; /* ambiguous: leave everything alone */
      }
      found = cb;
    }
  }
  if (found == NULL) {
    return WT_ERR_STATE;
  }
  if (found->stream_reset == th_stream_reset) {
    return 0; /* already watching */
  }
  if ((th_orig_reset && th_orig_reset != found->stream_reset) ||
      (th_orig_close && th_orig_close != found->stream_close)) {
    return WT_ERR_STATE;
  }
  th_orig_reset = found->stream_reset;
  th_orig_close = found->stream_close;
  /* Forget what an earlier connection at the same address left. */
  for (size_t i = 0; i < TH_RECS; i++) {
    if (th_recs[i].qc == c->qc) {
      th_recs[i].qc = NULL;
    }
  }
  found->stream_reset = th_stream_reset;
  found->stream_close = th_stream_close;
  return 0;
}

int wt_testhook_peer_code(const wt_conn *c, int64_t stream_id, uint64_t *code, int *how) {
  if (c == NULL || code == NULL || how == NULL) {
    return WT_ERR_INVAL;
  }
  const th_rec *best = NULL;
  for (unsigned i = 1; i <= TH_RECS; i++) { /* newest first */
    const th_rec *r = &th_recs[(th_next - i) % TH_RECS];
    if (r->qc == NULL || r->qc != c->qc || r->sid != stream_id) {
      continue;
    }
    if (r->how == WT_TESTHOOK_CODE_RESET) {
      best = r;
      break;
    }
    if (best == NULL) {
      best = r;
    }
  }
  if (best == NULL) {
    return WT_ERR_STATE;
  }
  *code = best->code;
  *how = best->how;
  return 0;
}
