/* test_datagram.c: Quarter Stream ID prefix of WebTransport datagrams. */
#include "check.h"
#include "wt_datagram.h"
#include "wt_error.h"
#include "wt_varint.h"

static void test_round_trip_boundaries(void) {
  /* Quarter IDs at each varint length boundary. */
  const uint64_t quarters[] = {0,
                               1,
                               63,
                               64,
                               16383,
                               16384,
                               (UINT64_C(1) << 30) - 1,
                               UINT64_C(1) << 30,
                               WT_DATAGRAM_QUARTER_MAX};
  const size_t lens[] = {1, 1, 1, 2, 2, 4, 4, 8, 8};
  for (size_t i = 0; i < sizeof(quarters) / sizeof(quarters[0]); i++) {
    uint64_t sid = quarters[i] * 4;
    uint8_t buf[32];
    memset(buf, 0xee, sizeof(buf));
    CHECK_EQ(wt_datagram_prefix_len(sid), lens[i]);
    int n = wt_datagram_encode_prefix(buf, sizeof(buf), sid);
    CHECK_EQ(n, (int)lens[i]);
    CHECK_EQ(buf[n], 0xee);
    memcpy(buf + n, "hello", 5);
    uint64_t got = 1;
    size_t off = 99;
    CHECK_EQ(wt_datagram_decode(buf, (size_t)n + 5, &got, &off), 0);
    CHECK_EQ(got, sid);
    CHECK_EQ(off, (size_t)n);
    CHECK_MEM(buf + off, "hello", 5);
    /* Empty payload is fine. */
    CHECK_EQ(wt_datagram_decode(buf, (size_t)n, &got, &off), 0);
    CHECK_EQ(off, (size_t)n);
    /* Every truncation of the prefix is malformed, outputs untouched. */
    for (int cut = 0; cut < n; cut++) {
      got = 77;
      off = 77;
      CHECK_EQ(wt_datagram_decode(buf, (size_t)cut, &got, &off), WT_ERR_MALFORMED);
      CHECK_EQ(got, 77);
      CHECK_EQ(off, 77);
    }
    /* Too small an output buffer. */
    if (n > 1) {
      CHECK_EQ(wt_datagram_encode_prefix(buf, (size_t)n - 1, sid), WT_ERR_NOBUF);
    }
  }
}

static void test_encode_invalid(void) {
  uint8_t buf[8];
  CHECK_EQ(wt_datagram_encode_prefix(buf, sizeof(buf), 1), WT_ERR_INVAL);
  CHECK_EQ(wt_datagram_encode_prefix(buf, sizeof(buf), 2), WT_ERR_INVAL);
  CHECK_EQ(wt_datagram_encode_prefix(buf, sizeof(buf), 7), WT_ERR_INVAL);
  CHECK_EQ(wt_datagram_encode_prefix(buf, sizeof(buf), UINT64_C(1) << 62), WT_ERR_INVAL);
  CHECK_EQ(wt_datagram_prefix_len(3), 0);
  CHECK_EQ(wt_datagram_encode_prefix(buf, 0, 0), WT_ERR_NOBUF);
  CHECK_EQ(wt_datagram_encode_prefix(buf, sizeof(buf), (UINT64_C(1) << 62) - 4), 8);
}

static void test_decode_overflow(void) {
  uint8_t buf[8];
  uint64_t sid = 5;
  size_t off = 5;
  /* quarter = 2^60: quarter * 4 = 2^62 is not a stream ID. */
  wt_varint_encode(buf, sizeof(buf), UINT64_C(1) << 60);
  CHECK_EQ(wt_datagram_decode(buf, 8, &sid, &off), WT_ERR_MALFORMED);
  wt_varint_encode(buf, sizeof(buf), WT_VARINT_MAX);
  CHECK_EQ(wt_datagram_decode(buf, 8, &sid, &off), WT_ERR_MALFORMED);
  CHECK_EQ(sid, 5);
  CHECK_EQ(wt_datagram_decode(NULL, 0, &sid, &off), WT_ERR_MALFORMED);
}

static void test_decode_non_minimal(void) {
  /* RFC 9000 section 16 allows non-minimal varints: quarter 1 in 2 bytes. */
  const uint8_t d[] = {0x40, 0x01, 0xaa};
  uint64_t sid;
  size_t off;
  CHECK_EQ(wt_datagram_decode(d, sizeof(d), &sid, &off), 0);
  CHECK_EQ(sid, 4);
  CHECK_EQ(off, 2);
}

int main(void) {
  WT_RUN(test_round_trip_boundaries);
  WT_RUN(test_encode_invalid);
  WT_RUN(test_decode_overflow);
  WT_RUN(test_decode_non_minimal);
  WT_DONE();
}
