/* wt_datagram.c: Quarter Stream ID prefix of WebTransport datagrams. */
#include "wt_datagram.h"

#include "wt_error.h"
#include "wt_varint.h"

size_t wt_datagram_prefix_len(uint64_t session_id) {
  if (session_id % 4 != 0 || session_id > WT_VARINT_MAX) {
    return 0;
  }
  return wt_varint_len(session_id / 4);
}

int wt_datagram_encode_prefix(uint8_t *buf, size_t cap, uint64_t session_id) {
  /* RFC 9297 section 2.1: the Quarter Stream ID is the client-initiated
   * bidirectional stream ID divided by four. */
  if (session_id % 4 != 0 || session_id > WT_VARINT_MAX) {
    return WT_ERR_INVAL;
  }
  return wt_varint_encode(buf, cap, session_id / 4);
}

int wt_datagram_decode(const uint8_t *dgram, size_t len, uint64_t *session_id,
                       size_t *payload_off) {
  uint64_t quarter;
  int n = wt_varint_decode(dgram, len, &quarter);
  if (n < 0) {
    return WT_ERR_MALFORMED;
  }
  /* RFC 9297 section 2.1: a Quarter Stream ID above 2^60 - 1 cannot name a
   * stream; such a datagram is malformed (H3_DATAGRAM_ERROR). */
  if (quarter > WT_DATAGRAM_QUARTER_MAX) {
    return WT_ERR_MALFORMED;
  }
  *session_id = quarter * 4;
  *payload_off = (size_t)n;
  return 0;
}
