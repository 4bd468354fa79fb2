/* wt_testhook.c: fault injection for tests (see wt_testhook.h). */
#include "wt_testhook.h"

#include <stddef.h>
#include <string.h>

#include "wt_session.h"
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
    wt_ctx_mark_dirty(c);
  }
  return rv;
}

/* ------------------------------------------------------------ flow control */

int wt_testhook_ignore_flow_control(wt_session *s) {
  if (s == NULL) {
    return WT_ERR_INVAL;
  }
  if (s->state != WT_SS_OPEN || !s->fc.on) {
    return WT_ERR_STATE;
  }
  s->fc.tx_max_data = WT_VARINT_MAX;
  s->fc.tx_max_streams[WT_SFC_BIDI] = s->fc.tx_max_streams[WT_SFC_UNI] = WT_SFC_MAX_STREAMS;
  return 0;
}

int wt_testhook_hold_settings(wt_conn *c, int on) {
  if (c == NULL) {
    return WT_ERR_INVAL;
  }
  if (c->is_server) {
    return WT_ERR_STATE;
  }
  c->ctrl_held = on != 0;
  wt_ctx_mark_dirty(c);
  return 0;
}
