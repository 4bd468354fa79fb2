/* wt_stream_hdr.h: the demultiplexing prefix of a new peer-initiated stream
 * (draft-ietf-webtrans-http3-16 sections 4.2 and 4.3).
 *
 * A WebTransport stream starts with
 *   bidirectional:  Signal Value (i) = 0x41, Session ID (i), payload
 *   unidirectional: Stream Type (i) = 0x54,  Session ID (i), payload
 * and never reaches nghttp3; any other first varint (a HEADERS frame 0x01 on
 * a request stream, stream type 0x00 control, 0x02/0x03 QPACK, 0x01 push,
 * GREASE types, ...) makes the stream an HTTP/3 stream that nghttp3 must see
 * from its first byte. Both varints may arrive split across packets, so the
 * parser buffers up to 16 bytes (two 8-byte varints). No allocation.
 *
 * Byte accounting (no byte is lost or duplicated):
 *  - A call that returns WT_STREAM_HDR_NEED_MORE consumed and buffered all of
 *    its data (*consumed == len).
 *  - WT_STREAM_HDR_WT: the header is complete. *consumed is the number of
 *    bytes of THIS call's data that belong to the header; data + *consumed
 *    onward is WebTransport payload. Bytes buffered by earlier calls were all
 *    header bytes; there is no payload in the buffer.
 *  - WT_STREAM_HDR_H3: *consumed is 0 and this call's data is untouched.
 *    wt_stream_hdr_buffered() returns exactly the bytes of the EARLIER calls
 *    (those that returned NEED_MORE; possibly none). The caller hands
 *    nghttp3 first those buffered bytes, then all of this call's data.
 *  - Negative: WT_ERR_MALFORMED if the Session ID is not a client-initiated
 *    bidirectional stream ID (session_id % 4 != 0; section 4: close the
 *    connection with H3_ID_ERROR). *consumed is 0. Sticky.
 * After a decision (or an error) the parser is finished: further feed calls
 * return WT_ERR_STATE. If the stream ends (FIN/reset) before a decision, the
 * bytes so far are in wt_stream_hdr_buffered(). */
#ifndef WT_STREAM_HDR_H
#define WT_STREAM_HDR_H

#include <stddef.h>
#include <stdint.h>

#define WT_STREAM_HDR_NEED_MORE 0
#define WT_STREAM_HDR_WT        1
#define WT_STREAM_HDR_H3        2

/* First varint of a bidirectional WebTransport stream (WT_STREAM signal). */
#define WT_STREAM_SIGNAL_BIDI UINT64_C(0x41)
/* Unidirectional stream type of a WebTransport stream. */
#define WT_STREAM_TYPE_UNI UINT64_C(0x54)
/* Longest header: two 8-byte varints. */
#define WT_STREAM_HDR_MAX 16

/* Per-stream prefix state; embed it in the stream, init with
 * wt_stream_hdr_init(). Read session_id and hdr_len after WT_STREAM_HDR_WT. */
typedef struct wt_stream_hdr {
  uint8_t buf[WT_STREAM_HDR_MAX];
  size_t nbuf;         /* bytes in buf */
  size_t nprev;        /* bytes wt_stream_hdr_buffered() reports */
  int bidi;            /* 1: bidirectional stream, 0: unidirectional */
  int state;           /* internal */
  uint64_t type;       /* first varint, once decoded */
  uint64_t session_id; /* valid after WT_STREAM_HDR_WT */
  size_t hdr_len;      /* total header length in bytes, valid after WT_STREAM_HDR_WT */
} wt_stream_hdr;

/* Prepare h for a new stream: bidi != 0 for a bidirectional stream. */
void wt_stream_hdr_init(wt_stream_hdr *h, int bidi);

/* Feed stream bytes data[0..len) in order, starting at stream offset 0.
 * Returns WT_STREAM_HDR_NEED_MORE, WT_STREAM_HDR_WT, WT_STREAM_HDR_H3,
 * WT_ERR_MALFORMED or WT_ERR_STATE, with *consumed as described above.
 * data may be NULL if len == 0 (returns NEED_MORE). */
int wt_stream_hdr_feed(wt_stream_hdr *h, const uint8_t *data, size_t len, size_t *consumed);

/* The bytes the parser holds that the caller must still hand on: after
 * WT_STREAM_HDR_H3, the bytes of the earlier calls (pass them to nghttp3
 * before the deciding call's data); before a decision, every byte fed so
 * far. After WT_STREAM_HDR_WT or an error, *len is 0. Points into h. */
const uint8_t *wt_stream_hdr_buffered(const wt_stream_hdr *h, size_t *len);

/* The first varint (signal value or stream type); valid after a decision. */
uint64_t wt_stream_hdr_type(const wt_stream_hdr *h);

#endif
