/* wt_varint.h: QUIC variable-length integers (RFC 9000 section 16).
 *
 * A varint is 1, 2, 4 or 8 bytes; the two top bits of the first byte give
 * the length; values range over [0, 2^62 - 1]. Decoding accepts non-minimal
 * encodings (RFC 9000 section 16 allows them); encoding is always minimal. */
#ifndef WT_VARINT_H
#define WT_VARINT_H

#include <stddef.h>
#include <stdint.h>

#define WT_VARINT_MAX    ((UINT64_C(1) << 62) - 1)
#define WT_VARINT_MAXLEN 8

/* Bytes needed to encode v minimally: 1, 2, 4 or 8; 0 if v > WT_VARINT_MAX. */
size_t wt_varint_len(uint64_t v);

/* Length announced by a first byte: 1, 2, 4 or 8. */
static inline size_t wt_varint_len_from_first(uint8_t b0) {
  return (size_t)1 << (b0 >> 6);
}

/* Encode v at p (capacity cap). Returns the bytes written (1..8), or
 * WT_ERR_RANGE if v > WT_VARINT_MAX, or WT_ERR_NOBUF if cap is too small
 * (nothing is written then). */
int wt_varint_encode(uint8_t *p, size_t cap, uint64_t v);

/* Decode one varint from p[0..len). On success stores the value in *v and
 * returns the bytes consumed (1..8). Returns WT_ERR_TRUNCATED if len is
 * shorter than the encoding (including len == 0); *v is untouched then. */
int wt_varint_decode(const uint8_t *p, size_t len, uint64_t *v);

/* Unchecked encode for callers that sized the buffer with wt_varint_len:
 * v must be <= WT_VARINT_MAX; returns p advanced past the encoding. */
uint8_t *wt_varint_put(uint8_t *p, uint64_t v);

/* A varint read from a byte stream that arrives in arbitrary pieces: the
 * bytes of an unfinished varint are kept here between calls. Zero it (or
 * wt_varint_acc_reset) before the first varint. */
typedef struct wt_varint_acc {
  uint8_t buf[WT_VARINT_MAXLEN];
  uint8_t n; /* bytes held; 0 = between varints */
} wt_varint_acc;

static inline void wt_varint_acc_reset(wt_varint_acc *a) {
  a->n = 0;
}

/* Continue the varint in a with p[0..len). Takes only the bytes this varint
 * still needs (*used, possibly all of len). Returns 1 with *v set when the
 * varint is complete (a is then empty again), 0 when p ran out first
 * (including len == 0). Any split of the input gives the same values. */
int wt_varint_feed(wt_varint_acc *a, const uint8_t *p, size_t len, size_t *used, uint64_t *v);

#endif
