/* wt_varint.c: QUIC variable-length integer codec (RFC 9000 section 16). */
#include <string.h>

#include "wt_varint.h"

#include "wt_error.h"

size_t wt_varint_len(uint64_t v) {
  /* RFC 9000 section 16, table 4: 6, 14, 30 and 62 usable bits. */
  if (v < (UINT64_C(1) << 6)) {
    return 1;
  }
  if (v < (UINT64_C(1) << 14)) {
    return 2;
  }
  if (v < (UINT64_C(1) << 30)) {
    return 4;
  }
  if (v <= WT_VARINT_MAX) {
    return 8;
  }
  return 0;
}

int wt_varint_feed(wt_varint_acc *a, const uint8_t *p, size_t len, size_t *used, uint64_t *v) {
  *used = 0;
  if (len == 0) {
    return 0;
  }
  size_t need = wt_varint_len_from_first(a->n ? a->buf[0] : p[0]);
  if (a->n == 0 && len >= need) { /* the common case: the whole varint is here */
    wt_varint_decode(p, need, v);
    *used = need;
    return 1;
  }
  size_t take = need - a->n;
  if (take > len) {
    take = len;
  }
  memcpy(a->buf + a->n, p, take);
  a->n = (uint8_t)(a->n + take);
  *used = take;
  if (a->n < need) {
    return 0;
  }
  wt_varint_decode(a->buf, need, v);
  a->n = 0;
  return 1;
}

uint8_t *wt_varint_put(uint8_t *p, uint64_t v) {
  size_t n = wt_varint_len(v);
  /* The two most significant bits of the first byte encode log2(length);
   * the value follows in network byte order (RFC 9000 section 16). */
  switch (n) {
  case 1:
    p[0] = (uint8_t)v;
    return p + 1;
  case 2:
    p[0] = (uint8_t)(0x40 | (v >> 8));
    p[1] = (uint8_t)v;
    return p + 2;
  case 4:
    p[0] = (uint8_t)(0x80 | (v >> 24));
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
    return p + 4;
  default:
    /* n == 8 by the caller's contract (v <= WT_VARINT_MAX). */
    p[0] = (uint8_t)(0xc0 | (v >> 56));
    p[1] = (uint8_t)(v >> 48);
    p[2] = (uint8_t)(v >> 40);
    p[3] = (uint8_t)(v >> 32);
    p[4] = (uint8_t)(v >> 24);
    p[5] = (uint8_t)(v >> 16);
    p[6] = (uint8_t)(v >> 8);
    p[7] = (uint8_t)v;
    return p + 8;
  }
}

int wt_varint_encode(uint8_t *p, size_t cap, uint64_t v) {
  size_t n = wt_varint_len(v);
  if (n == 0) {
    return WT_ERR_RANGE;
  }
  if (cap < n) {
    return WT_ERR_NOBUF;
  }
  wt_varint_put(p, v);
  return (int)n;
}

int wt_varint_decode(const uint8_t *p, size_t len, uint64_t *v) {
  if (len == 0) {
    return WT_ERR_TRUNCATED;
  }
  size_t n = wt_varint_len_from_first(p[0]);
  if (len < n) {
    return WT_ERR_TRUNCATED;
  }
  /* Non-minimal encodings are valid (RFC 9000 section 16), so no check that
   * the value needed this many bytes. */
  uint64_t x = p[0] & 0x3f;
  for (size_t i = 1; i < n; i++) {
    x = (x << 8) | p[i];
  }
  *v = x;
  return (int)n;
}
