/* wt_stream_hdr.c: WebTransport stream prefix demultiplexer. */
#include "wt_stream_hdr.h"

#include <string.h>

#include "wt_error.h"
#include "wt_varint.h"

enum {
  ST_FIRST,   /* reading the signal value / stream type */
  ST_SESSION, /* WT stream: reading the Session ID */
  ST_DONE_WT,
  ST_DONE_H3,
  ST_ERROR,
};

void wt_stream_hdr_init(wt_stream_hdr *h, int bidi) {
  memset(h, 0, sizeof(*h));
  h->bidi = bidi != 0;
  h->state = ST_FIRST;
}

const uint8_t *wt_stream_hdr_buffered(const wt_stream_hdr *h, size_t *len) {
  switch (h->state) {
  case ST_FIRST:
  case ST_SESSION:
    *len = h->nbuf;
    break;
  case ST_DONE_H3:
    *len = h->nprev;
    break;
  default:
    *len = 0;
    break;
  }
  return h->buf;
}

uint64_t wt_stream_hdr_type(const wt_stream_hdr *h) {
  return h->type;
}

/* The complete varint starting at buf[at], if buf[at..nbuf) holds all of
 * it: returns its length, or 0 if more bytes are needed. */
static size_t varint_at(const wt_stream_hdr *h, size_t at, uint64_t *v) {
  if (at >= h->nbuf) {
    return 0;
  }
  int n = wt_varint_decode(h->buf + at, h->nbuf - at, v);
  return n > 0 ? (size_t)n : 0;
}

int wt_stream_hdr_feed(wt_stream_hdr *h, const uint8_t *data, size_t len, size_t *consumed) {
  *consumed = 0;
  if (h->state != ST_FIRST && h->state != ST_SESSION) {
    return WT_ERR_STATE;
  }
  /* Append tentatively: the header is at most 16 bytes, so at most that many
   * bytes of data can matter. prev marks where this call's bytes start. */
  size_t prev = h->nbuf;
  size_t take = WT_STREAM_HDR_MAX - prev;
  if (take > len) {
    take = len;
  }
  if (take) {
    memcpy(h->buf + prev, data, take);
  }
  h->nbuf = prev + take;

  size_t n1 = varint_at(h, 0, &h->type);
  if (n1 == 0) {
    *consumed = len; /* all of data (< 8 bytes) is buffered */
    return WT_STREAM_HDR_NEED_MORE;
  }
  /* Sections 4.2/4.3: 0x41 on a bidi stream, 0x54 on a uni stream; any
   * other first varint belongs to HTTP/3 (RFC 9114 sections 6.1, 6.2). */
  uint64_t want = h->bidi ? WT_STREAM_SIGNAL_BIDI : WT_STREAM_TYPE_UNI;
  if (h->type != want) {
    h->nbuf = prev; /* this call's data stays with the caller */
    h->nprev = prev;
    h->state = ST_DONE_H3;
    return WT_STREAM_HDR_H3;
  }
  h->state = ST_SESSION;
  uint64_t sid;
  size_t n2 = varint_at(h, n1, &sid);
  if (n2 == 0) {
    *consumed = len; /* all of data (< 16 bytes) is buffered */
    return WT_STREAM_HDR_NEED_MORE;
  }
  /* Section 4: a Session ID that is not a client-initiated bidirectional
   * stream ID (RFC 9000 section 2.1) is a connection error H3_ID_ERROR. */
  if (sid % 4 != 0) {
    h->state = ST_ERROR;
    return WT_ERR_MALFORMED;
  }
  h->session_id = sid;
  h->hdr_len = n1 + n2;
  h->state = ST_DONE_WT;
  *consumed = h->hdr_len - prev;
  return WT_STREAM_HDR_WT;
}
