/* wt_datagram.h: the WebTransport datagram prefix (RFC 9297 section 2.1,
 * draft-ietf-webtrans-http3-16 section 4.5).
 *
 * A QUIC DATAGRAM frame payload carrying an HTTP/3 datagram is
 *   Quarter Stream ID (i) = Session ID / 4, HTTP Datagram Payload (..)
 * and for WebTransport the payload is the application datagram. Pure
 * functions over caller-owned buffers. */
#ifndef WT_DATAGRAM_H
#define WT_DATAGRAM_H

#include <stddef.h>
#include <stdint.h>

/* Largest Quarter Stream ID: stream IDs are at most 2^62 - 1
 * (RFC 9000 section 2.1), so quarter * 4 must stay below 2^62. */
#define WT_DATAGRAM_QUARTER_MAX ((UINT64_C(1) << 60) - 1)

/* Bytes wt_datagram_encode_prefix() writes for session_id (1, 2, 4 or 8), or
 * 0 if session_id is not a valid session ID. */
size_t wt_datagram_prefix_len(uint64_t session_id);

/* Write the Quarter Stream ID varint for session_id at buf (capacity cap).
 * Returns the bytes written (1..8); WT_ERR_INVAL if session_id is not a
 * client-initiated bidirectional stream ID (session_id % 4 != 0) or exceeds
 * 2^62 - 1; WT_ERR_NOBUF if cap is too small (nothing written). The payload
 * goes right after the returned length. */
int wt_datagram_encode_prefix(uint8_t *buf, size_t cap, uint64_t session_id);

/* Parse the prefix of a received datagram dgram[0..len). On success returns 0,
 * sets *session_id = quarter * 4 and *payload_off = the offset of the payload
 * in dgram (the payload may be empty: *payload_off == len). Returns
 * WT_ERR_MALFORMED if the varint is truncated (including len == 0) or
 * quarter > WT_DATAGRAM_QUARTER_MAX (RFC 9297 section 2.1: the peer must be
 * closed with H3_DATAGRAM_ERROR); outputs are untouched then. Whether the
 * session exists is the caller's business. */
int wt_datagram_decode(const uint8_t *dgram, size_t len, uint64_t *session_id, size_t *payload_off);

#endif
