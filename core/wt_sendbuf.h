/* wt_sendbuf.h: the send buffer of one outgoing byte stream.
 *
 * ngtcp2 and nghttp3 do not copy stream data: the bytes handed to them must
 * stay at the same address until the peer acknowledges them (ngtcp2
 * acked_stream_data_offset, nghttp3 acked_stream_data). A sendbuf keeps
 * appended bytes in a list of chunks that never move, and tracks three stream
 * offsets: acked <= sent <= end. Chunks wholly below `acked` are freed.
 *
 * Used for WT streams, for our HTTP/3 control stream and for the capsules of
 * a CONNECT stream. Embed it; wt_sendbuf_init / wt_sendbuf_free. */
#ifndef WT_SENDBUF_H
#define WT_SENDBUF_H

#include <stddef.h>
#include <stdint.h>

typedef struct wt_sendbuf_chunk wt_sendbuf_chunk;

typedef struct wt_sendbuf {
  wt_sendbuf_chunk *head, *tail;
  wt_sendbuf_chunk *cur; /* chunk holding offset `sent` (NULL when sent == end) */
  size_t cur_off;        /* offset of `sent` inside cur */
  uint64_t head_base;    /* stream offset of head's first byte */
  uint64_t acked, sent, end;
} wt_sendbuf;

/* An I/O vector; same layout as ngtcp2_vec and nghttp3_vec. */
typedef struct wt_iov {
  uint8_t *base;
  size_t len;
} wt_iov;

void wt_sendbuf_init(wt_sendbuf *b);
/* Free every chunk (acknowledged or not). */
void wt_sendbuf_free(wt_sendbuf *b);

/* Copy data[0..len) to the end. Returns 0 or WT_ERR_NOMEM (nothing added). */
int wt_sendbuf_append(wt_sendbuf *b, const uint8_t *data, size_t len);

/* Fill iov[0..max) with the unsent bytes from offset `sent`, at most
 * max_bytes in all; returns the number of vectors (0 if nothing unsent). */
size_t wt_sendbuf_peek(const wt_sendbuf *b, wt_iov *iov, size_t max, size_t max_bytes);

/* Mark n more bytes as handed to the QUIC stack (n <= unsent). */
void wt_sendbuf_consume(wt_sendbuf *b, size_t n);

/* Mark n more bytes as acknowledged (acked + n <= sent); frees chunks. */
void wt_sendbuf_ack(wt_sendbuf *b, uint64_t n);

static inline uint64_t wt_sendbuf_unsent(const wt_sendbuf *b) {
  return b->end - b->sent;
}
/* Bytes held: appended and not yet acknowledged. */
static inline uint64_t wt_sendbuf_held(const wt_sendbuf *b) {
  return b->end - b->acked;
}

#endif
