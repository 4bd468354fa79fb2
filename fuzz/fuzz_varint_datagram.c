/* fuzz_varint_datagram.c: QUIC varints (core/base/wt_varint.h), the
 * WebTransport datagram prefix (core/wt_datagram.h) and the WebTransport <->
 * HTTP/3 error code mapping (core/wt_errmap.h).
 *
 * The whole input is a datagram payload and a varint; its first 8 and 4
 * bytes are also taken as a raw 64-bit and 32-bit number. Oracles:
 *  - varint: a decode re-encodes minimally to wt_varint_len bytes and
 *    decodes back to the same value; a minimal input re-encodes to the same
 *    bytes; a truncated input is refused; encoding refuses values above
 *    2^62 - 1 and buffers one byte too small, without writing;
 *  - datagram: a decoded prefix names a session ID that is a multiple of 4
 *    and re-encodes to a prefix that decodes to the same ID; the payload
 *    offset is the varint's length; refusals leave outputs untouched;
 *  - errmap: app -> h3 lands in [FIRST, LAST] off the GREASE points and
 *    maps back; h3 -> app succeeds exactly on that image. */
#include <stdint.h>
#include <string.h>

#include "fuzz_util.h"
#include "wt_datagram.h"
#include "wt_errmap.h"
#include "wt_error.h"
#include "wt_varint.h"

static void check_varint(const uint8_t *data, size_t size) {
  uint64_t v = 0xdeadbeef;
  int n = wt_varint_decode(data, size, &v);
  if (size == 0 || wt_varint_len_from_first(data[0]) > size) {
    FUZZ_CHECK(n == WT_ERR_TRUNCATED && v == 0xdeadbeef);
    return;
  }
  FUZZ_CHECK(n > 0 && (size_t)n == wt_varint_len_from_first(data[0]));
  FUZZ_CHECK(v <= WT_VARINT_MAX);
  uint8_t buf[8];
  size_t want = wt_varint_len(v);
  FUZZ_CHECK(want >= 1 && want <= (size_t)n);
  int m = wt_varint_encode(buf, sizeof(buf), v);
  FUZZ_CHECK(m > 0 && (size_t)m == want);
  uint64_t back;
  FUZZ_CHECK(wt_varint_decode(buf, (size_t)m, &back) == m && back == v);
  if ((size_t)m == (size_t)n) {
    FUZZ_CHECK(memcmp(buf, data, (size_t)n) == 0);
  }
  uint8_t small[8];
  memset(small, 0xa5, sizeof(small));
  FUZZ_CHECK(wt_varint_encode(small, want - 1, v) == WT_ERR_NOBUF);
  for (size_t i = 0; i < sizeof(small); i++) {
    FUZZ_CHECK(small[i] == 0xa5);
  }
  uint8_t put[8];
  FUZZ_CHECK(wt_varint_put(put, v) == put + want && memcmp(put, buf, want) == 0);
}

static void check_encode_raw(uint64_t raw) {
  uint8_t buf[8];
  int m = wt_varint_encode(buf, sizeof(buf), raw);
  if (raw > WT_VARINT_MAX) {
    FUZZ_CHECK(m == WT_ERR_RANGE && wt_varint_len(raw) == 0);
    return;
  }
  uint64_t back;
  FUZZ_CHECK(m > 0 && wt_varint_decode(buf, (size_t)m, &back) == m && back == raw);
}

static void check_datagram(const uint8_t *data, size_t size) {
  uint64_t sid = 7;
  size_t off = 99999;
  int rv = wt_datagram_decode(size ? data : NULL, size, &sid, &off);
  if (rv != 0) {
    FUZZ_CHECK(rv == WT_ERR_MALFORMED && sid == 7 && off == 99999);
    uint64_t q;
    int n = wt_varint_decode(data, size, &q);
    FUZZ_CHECK(n < 0 || q > WT_DATAGRAM_QUARTER_MAX);
    return;
  }
  FUZZ_CHECK(sid % 4 == 0 && sid / 4 <= WT_DATAGRAM_QUARTER_MAX);
  FUZZ_CHECK(off >= 1 && off <= size && off == wt_varint_len_from_first(data[0]));
  uint8_t buf[8];
  size_t plen = wt_datagram_prefix_len(sid);
  int m = wt_datagram_encode_prefix(buf, sizeof(buf), sid);
  FUZZ_CHECK(m > 0 && (size_t)m == plen && plen <= off);
  uint64_t sid2;
  size_t off2;
  FUZZ_CHECK(wt_datagram_decode(buf, (size_t)m, &sid2, &off2) == 0 && sid2 == sid &&
             off2 == (size_t)m);
  FUZZ_CHECK(wt_datagram_encode_prefix(buf, plen - 1, sid) == WT_ERR_NOBUF);
}

static void check_encode_prefix(uint64_t sid) {
  uint8_t buf[8];
  int m = wt_datagram_encode_prefix(buf, sizeof(buf), sid);
  if (sid % 4 != 0 || sid > WT_VARINT_MAX) {
    FUZZ_CHECK(m == WT_ERR_INVAL && wt_datagram_prefix_len(sid) == 0);
    return;
  }
  uint64_t back;
  size_t off;
  FUZZ_CHECK(m > 0 && wt_datagram_decode(buf, (size_t)m, &back, &off) == 0 && back == sid);
}

static void check_errmap(uint32_t n, uint64_t h) {
  uint64_t x = wt_errmap_app_to_h3(n);
  FUZZ_CHECK(x >= WT_APP_ERR_FIRST && x <= WT_APP_ERR_LAST);
  FUZZ_CHECK(!wt_errmap_is_grease(x));
  uint32_t back = ~n;
  FUZZ_CHECK(wt_errmap_h3_to_app(x, &back) == 0 && back == n);
  /* Monotonic: the next app code maps strictly higher. */
  if (n != UINT32_MAX) {
    FUZZ_CHECK(wt_errmap_app_to_h3(n + 1) > x);
  }

  uint32_t m = 0x5a5a5a5a;
  int rv = wt_errmap_h3_to_app(h, &m);
  if (rv == 0) {
    FUZZ_CHECK(wt_errmap_app_to_h3(m) == h);
  } else {
    FUZZ_CHECK(rv == WT_ERR_RANGE && m == 0x5a5a5a5a);
    FUZZ_CHECK(h < WT_APP_ERR_FIRST || h > WT_APP_ERR_LAST || wt_errmap_is_grease(h));
  }
  FUZZ_CHECK(wt_errmap_is_grease(h) == (h >= 0x21 && (h - 0x21) % 0x1f == 0));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  check_varint(data, size);
  check_datagram(data, size);
  uint8_t raw[12] = {0};
  memcpy(raw, data, size < sizeof(raw) ? size : sizeof(raw));
  uint64_t r64 = fuzz_load_be(raw, 8);
  uint32_t r32 = (uint32_t)fuzz_load_be(raw + 8, 4);
  check_encode_raw(r64);
  check_encode_raw(r64 >> 2);
  check_encode_prefix(r64);
  check_encode_prefix(r64 >> 2 & ~UINT64_C(3));
  /* h near the WT range, so both ends and GREASE points are hit often. */
  uint64_t h = (raw[0] & 0x80)
                   ? r64
                   : WT_APP_ERR_FIRST - 64 + r64 % (WT_APP_ERR_LAST - WT_APP_ERR_FIRST + 128);
  check_errmap(r32, h);
  return 0;
}
