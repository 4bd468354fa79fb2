/* test_settings.c: settings profiles, dialect detection, control-stream
 * rewriter and reader. */
#include "check.h"
#include "wt_engine.h"
#include "wt_error.h"
#include "wt_settings.h"
#include "wt_varint.h"

/* ---------------------------------------------------------------- helpers */

static size_t put_setting(uint8_t *p, uint64_t id, uint64_t v) {
  uint8_t *q = wt_varint_put(p, id);
  q = wt_varint_put(q, v);
  return (size_t)(q - p);
}

/* A control stream as nghttp3 writes it: type 0x00, SETTINGS with
 * 0x01=4096, 0x07=100, 0x08=1, 0x33=1; then (later) a GOAWAY frame and an
 * unknown reserved frame. Returns the length; *settings_end is the offset
 * just past the SETTINGS frame. */
static size_t build_ctrl(uint8_t *s, size_t *settings_end) {
  uint8_t pl[64];
  size_t n = 0;
  n += put_setting(pl + n, WT_SETTING_QPACK_MAX_TABLE_CAPACITY, 4096);
  n += put_setting(pl + n, WT_SETTING_QPACK_BLOCKED_STREAMS, 100);
  n += put_setting(pl + n, WT_SETTING_ENABLE_CONNECT_PROTOCOL, 1);
  n += put_setting(pl + n, WT_SETTING_H3_DATAGRAM, 1);
  uint8_t *q = s;
  q = wt_varint_put(q, WT_H3_STREAM_CONTROL);
  q = wt_varint_put(q, WT_H3_FRAME_SETTINGS);
  q = wt_varint_put(q, n);
  memcpy(q, pl, n);
  q += n;
  *settings_end = (size_t)(q - s);
  /* GOAWAY (0x07) with stream ID 16384 (4-byte varint). */
  q = wt_varint_put(q, WT_H3_FRAME_GOAWAY);
  q = wt_varint_put(q, 4);
  q = wt_varint_put(q, 16384);
  /* Reserved frame type 0x21 + 0x1f with 3 bytes. */
  q = wt_varint_put(q, 0x40);
  q = wt_varint_put(q, 3);
  *q++ = 0xaa, *q++ = 0xbb, *q++ = 0xcc;
  return (size_t)(q - s);
}

/* Feed s[0..len) to a fresh rewriter cut at cuts[0..ncuts); concatenate the
 * output into out. Returns the output length, or a negative error. Checks
 * that nothing comes out before the SETTINGS frame is complete. */
static long rewrite(const wt_setting *extra, size_t n_extra, const uint8_t *s, size_t len,
                    size_t settings_end, const size_t *cuts, size_t ncuts, uint8_t *out,
                    size_t outcap) {
  wt_ctrl_rewriter r;
  wt_ctrl_rewriter_init(&r, extra, n_extra);
  size_t start = 0, total = 0;
  for (size_t i = 0; i <= ncuts; i++) {
    size_t end = i < ncuts ? cuts[i] : len;
    size_t olen = 12345;
    int rv = wt_ctrl_rewriter_feed(&r, s + start, end - start, out + total, outcap - total, &olen);
    if (rv < 0) {
      return rv;
    }
    if (end < settings_end && (olen != 0 || wt_ctrl_rewriter_done(&r))) {
      return -1000; /* emitted before the frame was complete */
    }
    if (end >= settings_end && !wt_ctrl_rewriter_done(&r)) {
      return -1001;
    }
    total += olen;
    start = end;
  }
  return (long)total;
}

/* Parse a control stream with the reader fed byte by byte (bytes = 1) or in
 * one go (bytes = 0). Returns the reader's final result. */
static int read_ctrl(wt_ctrl_reader *rd, const uint8_t *s, size_t len, int bytes) {
  wt_ctrl_reader_init(rd, 0);
  int rv = 0;
  if (!bytes) {
    return wt_ctrl_reader_feed(rd, s, len);
  }
  for (size_t i = 0; i < len; i++) {
    rv = wt_ctrl_reader_feed(rd, s + i, 1);
    if (rv < 0) {
      return rv;
    }
  }
  return rv;
}

/* The three settings the rewriter tests append: 0xffd277 = 1,
 * 0x2b603742 = 1, 0xc671706a = ms. Returns 3. */
static size_t three_settings(wt_setting *out, uint64_t ms) {
  out[0] = (wt_setting){WT_SETTING_H3_DATAGRAM_OLD, 1};
  out[1] = (wt_setting){WT_SETTING_ENABLE_WEBTRANSPORT, 1};
  out[2] = (wt_setting){WT_SETTING_WEBTRANSPORT_MAX_SESSIONS, ms};
  return 3;
}

/* ------------------------------------------------------------------ tests */

static uint64_t find(const wt_setting *s, size_t n, uint64_t id) {
  for (size_t i = 0; i < n; i++) {
    if (s[i].id == id) {
      return s[i].value;
    }
  }
  return UINT64_MAX;
}

static void test_profiles(void) {
  wt_setting s[WT_SETTINGS_PROFILE_MAX + 1];
  wt_settings_params p = {WT_PROFILE_COMPAT, 8, 1024, 2, 3};
  memset(s, 0, sizeof(s));
  /* compat: every dialect's settings (docs/protocol.md section 2) */
  size_t n = wt_settings_profile(&p, s, WT_SETTINGS_PROFILE_MAX + 1);
  CHECK_EQ(n, 8);
  CHECK_EQ(find(s, n, WT_SETTING_H3_DATAGRAM_OLD), 1);
  CHECK_EQ(find(s, n, WT_SETTING_ENABLE_WEBTRANSPORT), 1);
  CHECK_EQ(find(s, n, WT_SETTING_WEBTRANSPORT_MAX_SESSIONS), 8);
  CHECK_EQ(find(s, n, WT_SETTING_WT_MAX_SESSIONS), 8);
  CHECK_EQ(find(s, n, WT_SETTING_WT_ENABLED), 1);
  CHECK_EQ(find(s, n, WT_SETTING_WT_INITIAL_MAX_DATA), 1024);
  CHECK_EQ(find(s, n, WT_SETTING_WT_INITIAL_MAX_STREAMS_BIDI), 2);
  CHECK_EQ(find(s, n, WT_SETTING_WT_INITIAL_MAX_STREAMS_UNI), 3);
  CHECK_EQ(s[8].id, 0);
  CHECK_EQ(wt_settings_profile(&p, s, 2), 2); /* cap respected */
  /* draft02: only the draft-02 enable setting (+ the old datagram one) */
  p.profile = WT_PROFILE_DRAFT02;
  n = wt_settings_profile(&p, s, WT_SETTINGS_PROFILE_MAX);
  CHECK_EQ(n, 2);
  CHECK_EQ(find(s, n, WT_SETTING_ENABLE_WEBTRANSPORT), 1);
  CHECK_EQ(find(s, n, WT_SETTING_WT_INITIAL_MAX_DATA), UINT64_MAX);
  p.profile = WT_PROFILE_DRAFT07;
  p.max_sessions = 0; /* raised to 1 */
  n = wt_settings_profile(&p, s, WT_SETTINGS_PROFILE_MAX);
  CHECK_EQ(n, 2);
  CHECK_EQ(find(s, n, WT_SETTING_WEBTRANSPORT_MAX_SESSIONS), 1);
  CHECK_EQ(find(s, n, WT_SETTING_ENABLE_WEBTRANSPORT), UINT64_MAX);
  p.profile = WT_PROFILE_DRAFT14;
  n = wt_settings_profile(&p, s, WT_SETTINGS_PROFILE_MAX);
  CHECK_EQ(n, 4);
  CHECK_EQ(find(s, n, WT_SETTING_WT_MAX_SESSIONS), 1);
  CHECK_EQ(find(s, n, WT_SETTING_WT_INITIAL_MAX_DATA), 1024);
  CHECK_EQ(find(s, n, WT_SETTING_H3_DATAGRAM_OLD), UINT64_MAX);
  p.profile = WT_PROFILE_DRAFT16;
  n = wt_settings_profile(&p, s, WT_SETTINGS_PROFILE_MAX);
  CHECK_EQ(n, 4);
  CHECK_EQ(find(s, n, WT_SETTING_WT_ENABLED), 1);
  CHECK_EQ(find(s, n, WT_SETTING_WT_MAX_SESSIONS), UINT64_MAX);
  /* all WT_INITIAL_* 0: flow control not offered, the settings left out */
  p.initial_max_data = p.initial_max_streams_bidi = p.initial_max_streams_uni = 0;
  n = wt_settings_profile(&p, s, WT_SETTINGS_PROFILE_MAX);
  CHECK_EQ(n, 1);
  CHECK(wt_settings_profile_offers_fc(WT_PROFILE_COMPAT));
  CHECK(wt_settings_profile_offers_fc(WT_PROFILE_DRAFT16));
  CHECK(!wt_settings_profile_offers_fc(WT_PROFILE_DRAFT02));
  CHECK(!wt_settings_profile_offers_fc(WT_PROFILE_DRAFT07));
}

/* A peer SETTINGS frame with the given settings, read into rd. */
static void peer_settings(wt_ctrl_reader *rd, const wt_setting *set, size_t n) {
  uint8_t pl[256], s[300];
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    k += put_setting(pl + k, set[i].id, set[i].value);
  }
  uint8_t *q = wt_varint_put(s, WT_H3_STREAM_CONTROL);
  q = wt_varint_put(q, WT_H3_FRAME_SETTINGS);
  q = wt_varint_put(q, k);
  memcpy(q, pl, k);
  q += k;
  wt_ctrl_reader_init(rd, 0);
  CHECK_EQ(wt_ctrl_reader_feed(rd, s, (size_t)(q - s)), 1);
}

static void test_dialect(void) {
  wt_ctrl_reader rd;
  /* Chromium's default: 0x2b603742 only */
  wt_setting chromium[] = {{0x33, 1}, {0xffd277, 1}, {0x2b603742, 1}};
  peer_settings(&rd, chromium, 3);
  CHECK_EQ(wt_dialect_detect(&rd, "webtransport"), WT_DIALECT_02);
  CHECK_EQ(wt_dialect_detect(&rd, "webtransport-h3"), WT_DIALECT_16);
  CHECK_EQ(wt_settings_fc_negotiated(&rd, 1), 0);
  CHECK_EQ(wt_settings_check_peer(&rd), 0);
  /* nothing at all: draft-02 (what a bare CONNECT speaks) */
  peer_settings(&rd, NULL, 0);
  CHECK_EQ(wt_dialect_detect(&rd, NULL), WT_DIALECT_02);
  CHECK_EQ(wt_dialect_detect(NULL, NULL), WT_DIALECT_02);
  /* draft-07 (also offering draft-02, as Chromium with the flag) */
  wt_setting d07[] = {{0x2b603742, 1}, {0xc671706a, 4}};
  peer_settings(&rd, d07, 2);
  CHECK_EQ(wt_dialect_detect(&rd, "webtransport"), WT_DIALECT_07);
  /* draft-14 with flow control */
  wt_setting d14[] = {{0x14e9cd29, 1}, {0x2b61, 1024}, {0x2b64, 0}, {0x2b65, 0}};
  peer_settings(&rd, d14, 4);
  CHECK_EQ(wt_dialect_detect(&rd, "webtransport"), WT_DIALECT_14);
  CHECK_EQ(wt_settings_fc_negotiated(&rd, 1), 1);
  CHECK_EQ(wt_settings_fc_negotiated(&rd, 0), 0); /* we did not offer */
  /* draft-16 */
  wt_setting d16[] = {{0x2c7cf000, 1}, {0x2b65, 2}};
  peer_settings(&rd, d16, 2);
  CHECK_EQ(wt_dialect_detect(&rd, "webtransport"), WT_DIALECT_16);
  CHECK_EQ(wt_settings_fc_negotiated(&rd, 1), 1);
  /* only zeros: flow control stays off */
  wt_setting zeros[] = {{0x2c7cf000, 1}, {0x2b61, 0}, {0x2b64, 0}, {0x2b65, 0}};
  peer_settings(&rd, zeros, 4);
  CHECK_EQ(wt_settings_fc_negotiated(&rd, 1), 0);
  /* draft-16 section 9.2: WT_ENABLED > 1 is H3_SETTINGS_ERROR; 0 disables */
  wt_setting bad[] = {{0x2c7cf000, 2}};
  peer_settings(&rd, bad, 1);
  CHECK_EQ(wt_settings_check_peer(&rd), WT_H3_SETTINGS_ERROR);
  wt_setting off[] = {{0x2c7cf000, 0}, {0x2b603742, 1}};
  peer_settings(&rd, off, 2);
  CHECK_EQ(wt_settings_check_peer(&rd), 0);
  CHECK_EQ(wt_dialect_detect(&rd, "webtransport"), WT_DIALECT_02);
}

static void test_grease_ids(void) {
  CHECK(wt_setting_is_grease(0x21));
  CHECK(wt_setting_is_grease(0x40));
  CHECK(wt_setting_is_grease(UINT64_C(0x1f) * 123456789 + 0x21));
  CHECK(!wt_setting_is_grease(0x20));
  CHECK(!wt_setting_is_grease(0x33));
  CHECK(!wt_setting_is_grease(0));
}

static void check_rewritten(const uint8_t *out, size_t olen, const uint8_t *trail, size_t trail_len,
                            size_t expect_n) {
  for (int bytes = 0; bytes < 2; bytes++) {
    wt_ctrl_reader rd;
    CHECK_EQ(read_ctrl(&rd, out, olen, bytes), 1);
    CHECK_EQ(rd.n, expect_n);
    uint64_t v;
    CHECK(wt_ctrl_reader_get(&rd, 0x01, &v) && v == 4096);
    CHECK(wt_ctrl_reader_get(&rd, 0x07, &v) && v == 100);
    CHECK(wt_ctrl_reader_get(&rd, 0x08, &v) && v == 1);
    CHECK(wt_ctrl_reader_get(&rd, 0x33, &v) && v == 1);
    CHECK(wt_ctrl_reader_get(&rd, 0xffd277, &v) && v == 1);
    CHECK(wt_ctrl_reader_get(&rd, 0x2b603742, &v) && v == 1);
    CHECK(wt_ctrl_reader_get(&rd, 0xc671706a, &v) && v == 16);
    CHECK(!wt_ctrl_reader_get(&rd, 0x06, &v));
  }
  /* The trailing frames come out unchanged. */
  CHECK(olen >= trail_len);
  CHECK_MEM(out + olen - trail_len, trail, trail_len);
}

static void test_rewrite_every_split(void) {
  uint8_t s[128], ref[512], out[512];
  size_t send;
  size_t len = build_ctrl(s, &send);
  wt_setting extra[4];
  size_t n_extra = three_settings(extra, 16);
  /* Also ask for 0x33, which nghttp3 already wrote: must not be repeated. */
  extra[n_extra].id = WT_SETTING_H3_DATAGRAM;
  extra[n_extra].value = 1;
  n_extra++;

  long rl = rewrite(extra, n_extra, s, len, send, NULL, 0, ref, sizeof(ref));
  CHECK_FATAL(rl > 0);
  /* 4 original settings + 3 compat ones, 0x33 once. */
  check_rewritten(ref, (size_t)rl, s + send, len - send, 7);
  /* The stream type and frame type bytes are kept; the length grows. */
  CHECK_EQ(ref[0], 0x00);
  CHECK_EQ(ref[1], 0x04);

  int bad = 0;
  for (size_t a = 0; a <= len; a++) {
    size_t c1[1] = {a};
    long l = rewrite(extra, n_extra, s, len, send, c1, 1, out, sizeof(out));
    bad += l != rl || memcmp(out, ref, (size_t)rl) != 0;
    for (size_t b = a; b <= len; b++) {
      size_t c2[2] = {a, b};
      l = rewrite(extra, n_extra, s, len, send, c2, 2, out, sizeof(out));
      bad += l != rl || memcmp(out, ref, (size_t)rl) != 0;
    }
  }
  size_t cuts[128];
  for (size_t i = 0; i < len; i++) {
    cuts[i] = i + 1;
  }
  long l = rewrite(extra, n_extra, s, len, send, cuts, len, out, sizeof(out));
  bad += l != rl || memcmp(out, ref, (size_t)rl) != 0;
  CHECK_EQ(bad, 0);
}

static void test_rewrite_length_grows(void) {
  /* A 60-byte payload (1-byte length varint) that grows past 63 bytes: the
   * length must be re-encoded as a 2-byte varint. Also a non-minimal input
   * length (2 bytes for 2) comes out minimal. */
  uint8_t s[256], out[512];
  uint8_t *q = s;
  q = wt_varint_put(q, 0);
  q = wt_varint_put(q, 4);
  *q++ = 60;
  for (uint64_t i = 0; i < 20; i++) {
    q += put_setting(q, 0x40 + i, 0); /* 2-byte id, 1-byte value; 0x40 is GREASE */
  }
  size_t len = (size_t)(q - s);
  CHECK_EQ(len, 63);
  wt_setting extra[3];
  three_settings(extra, 16);
  size_t olen;
  wt_ctrl_rewriter r;
  wt_ctrl_rewriter_init(&r, extra, 3);
  CHECK_EQ(wt_ctrl_rewriter_feed(&r, s, len, out, sizeof(out), &olen), 0);
  uint64_t flen;
  CHECK_EQ(wt_varint_decode(out + 2, olen - 2, &flen), 2);
  /* 0xffd277 (4-byte id), 0x2b603742 (4-byte id), 0xc671706a (8-byte id),
   * each with a 1-byte value. */
  CHECK_EQ(flen, 60 + 5 + 5 + 9);
  CHECK_EQ(olen, 2 + 2 + flen);
  wt_ctrl_reader rd;
  CHECK_EQ(read_ctrl(&rd, out, olen, 1), 1);
  CHECK_EQ(rd.n, 19 + 3);
  CHECK_EQ(rd.n_grease, 1);

  const uint8_t nm[] = {0x00, 0x04, 0x40, 0x02, 0x06, 0x10};
  wt_ctrl_rewriter_init(&r, NULL, 0);
  CHECK_EQ(wt_ctrl_rewriter_feed(&r, nm, sizeof(nm), out, sizeof(out), &olen), 0);
  CHECK_EQ(olen, 5);
  CHECK_MEM(out, "\x00\x04\x02\x06\x10", 5);
}

static void test_rewrite_nobuf(void) {
  uint8_t s[128], ref[512], out[512];
  size_t send;
  size_t len = build_ctrl(s, &send);
  wt_setting extra[3];
  three_settings(extra, 16);
  long rl = rewrite(extra, 3, s, len, send, NULL, 0, ref, sizeof(ref));
  CHECK_FATAL(rl > 0);
  /* First part buffered, then the completing call gets too small an out. */
  for (size_t cut = 0; cut < send; cut++) {
    wt_ctrl_rewriter r;
    size_t olen;
    wt_ctrl_rewriter_init(&r, extra, 3);
    CHECK_EQ(wt_ctrl_rewriter_feed(&r, s, cut, out, sizeof(out), &olen), 0);
    CHECK_EQ(olen, 0);
    CHECK_EQ(wt_ctrl_rewriter_feed(&r, s + cut, len - cut, out, (size_t)rl - 1, &olen),
             WT_ERR_NOBUF);
    CHECK_EQ(olen, (size_t)rl);
    CHECK(!wt_ctrl_rewriter_done(&r));
    /* Retry with the same input: nothing was consumed. */
    CHECK_EQ(wt_ctrl_rewriter_feed(&r, s + cut, len - cut, out, (size_t)rl, &olen), 0);
    CHECK_EQ(olen, (size_t)rl);
    CHECK_MEM(out, ref, (size_t)rl);
    /* Pass-through NOBUF too. */
    CHECK_EQ(wt_ctrl_rewriter_feed(&r, s, 10, out, 9, &olen), WT_ERR_NOBUF);
    CHECK_EQ(olen, 10);
    CHECK_EQ(wt_ctrl_rewriter_feed(&r, s, 10, out, 10, &olen), 0);
    CHECK_EQ(olen, 10);
    CHECK_MEM(out, s, 10);
  }
  /* The documented bound is always enough. */
  wt_ctrl_rewriter r;
  size_t olen;
  wt_ctrl_rewriter_init(&r, extra, 3);
  CHECK_EQ(wt_ctrl_rewriter_feed(&r, s, send - 1, out, 0, &olen), 0);
  CHECK(1 + WT_CTRL_SETTINGS_MAX + WT_CTRL_REWRITE_GROWTH >= (size_t)rl);
}

static void test_rewrite_dedup_extra(void) {
  /* Duplicate ids among the extras: the first one wins. Out-of-range ones
   * are dropped. */
  const wt_setting extra[] = {
      {0x2b603742, 1}, {0x2b603742, 7}, {WT_VARINT_MAX + 1, 1}, {0x14e9cd29, WT_VARINT_MAX + 1}};
  wt_ctrl_rewriter r;
  wt_ctrl_rewriter_init(&r, extra, 4);
  CHECK_EQ(r.n_extra, 1);
  const uint8_t in[] = {0x00, 0x04, 0x00};
  uint8_t out[64];
  size_t olen;
  CHECK_EQ(wt_ctrl_rewriter_feed(&r, in, sizeof(in), out, sizeof(out), &olen), 0);
  wt_ctrl_reader rd;
  CHECK_EQ(read_ctrl(&rd, out, olen, 0), 1);
  uint64_t v;
  CHECK(wt_ctrl_reader_get(&rd, 0x2b603742, &v) && v == 1);
  CHECK_EQ(rd.n, 1);
  /* More than WT_CTRL_EXTRA_MAX extras: only the first 16 are kept. */
  wt_setting many[20];
  for (int i = 0; i < 20; i++) {
    many[i].id = 0x1000 + (uint64_t)i;
    many[i].value = (uint64_t)i;
  }
  wt_ctrl_rewriter_init(&r, many, 20);
  CHECK_EQ(r.n_extra, WT_CTRL_EXTRA_MAX);
}

static void test_rewrite_errors(void) {
  uint8_t out[2048];
  size_t olen;
  wt_ctrl_rewriter r;
  /* Stream type not 0x00. */
  wt_ctrl_rewriter_init(&r, NULL, 0);
  CHECK_EQ(wt_ctrl_rewriter_feed(&r, (const uint8_t[]){0x02, 0x04}, 2, out, sizeof(out), &olen),
           WT_ERR_MALFORMED);
  CHECK_EQ(wt_ctrl_rewriter_feed(&r, (const uint8_t[]){0x00}, 1, out, sizeof(out), &olen),
           WT_ERR_MALFORMED); /* sticky */
  /* First frame GOAWAY, split so the error shows on the second call. */
  wt_ctrl_rewriter_init(&r, NULL, 0);
  CHECK_EQ(wt_ctrl_rewriter_feed(&r, (const uint8_t[]){0x00}, 1, out, sizeof(out), &olen), 0);
  CHECK_EQ(
      wt_ctrl_rewriter_feed(&r, (const uint8_t[]){0x07, 0x01, 0x00}, 3, out, sizeof(out), &olen),
      WT_ERR_MALFORMED);
  /* A payload that ends inside a setting (id without value). */
  wt_ctrl_rewriter_init(&r, NULL, 0);
  CHECK_EQ(wt_ctrl_rewriter_feed(&r, (const uint8_t[]){0x00, 0x04, 0x03, 0x01, 0x02, 0x06}, 6, out,
                                 sizeof(out), &olen),
           WT_ERR_MALFORMED);
  /* A varint that overruns the payload. */
  wt_ctrl_rewriter_init(&r, NULL, 0);
  CHECK_EQ(wt_ctrl_rewriter_feed(&r, (const uint8_t[]){0x00, 0x04, 0x02, 0x01, 0x80, 0, 0, 0}, 8,
                                 out, sizeof(out), &olen),
           WT_ERR_MALFORMED);
  /* SETTINGS larger than the buffer. */
  wt_ctrl_rewriter_init(&r, NULL, 0);
  CHECK_EQ(wt_ctrl_rewriter_feed(&r, (const uint8_t[]){0x00, 0x04, 0x44, 0x00}, 4, out, sizeof(out),
                                 &olen),
           WT_ERR_LIMIT);
  /* The largest SETTINGS that fits: 1024 - 4 header bytes. */
  static uint8_t big[WT_CTRL_SETTINGS_MAX];
  big[0] = 0x00, big[1] = 0x04;
  wt_varint_put(big + 2, WT_CTRL_SETTINGS_MAX - 4); /* 2-byte varint */
  for (size_t i = 4; i < WT_CTRL_SETTINGS_MAX; i += 2) {
    big[i] = 0x21; /* GREASE id 0x21 = 0 (repeated: the rewriter passes it) */
    big[i + 1] = 0;
  }
  wt_ctrl_rewriter_init(&r, NULL, 0);
  CHECK_EQ(wt_ctrl_rewriter_feed(&r, big, sizeof(big), out, sizeof(out), &olen), 0);
  CHECK_EQ(olen, sizeof(big));
  /* One byte more does not. */
  wt_varint_put(big + 2, WT_CTRL_SETTINGS_MAX - 3);
  wt_ctrl_rewriter_init(&r, NULL, 0);
  CHECK_EQ(wt_ctrl_rewriter_feed(&r, big, sizeof(big), out, sizeof(out), &olen), WT_ERR_LIMIT);
}

static void test_reader_basic(void) {
  uint8_t s[128];
  size_t send;
  size_t len = build_ctrl(s, &send);
  /* Every split point: 0 before the frame is complete, 1 at and after. */
  for (size_t cut = 0; cut <= len; cut++) {
    wt_ctrl_reader rd;
    wt_ctrl_reader_init(&rd, 0);
    int rv = wt_ctrl_reader_feed(&rd, s, cut);
    CHECK_EQ(rv, cut >= send ? 1 : 0);
    CHECK_EQ(wt_ctrl_reader_feed(&rd, s + cut, len - cut), 1);
    CHECK_EQ(rd.n, 4);
    uint64_t v;
    CHECK(wt_ctrl_reader_get(&rd, 0x07, &v) && v == 100);
    CHECK_EQ(wt_ctrl_reader_h3_error(&rd), WT_H3_NO_ERROR);
  }
  /* Bytes after the SETTINGS frame are ignored, even garbage. */
  wt_ctrl_reader rd;
  CHECK_EQ(read_ctrl(&rd, s, send, 0), 1);
  CHECK_EQ(wt_ctrl_reader_feed(&rd, (const uint8_t[]){0xff, 0xff}, 2), 1);
  /* Empty SETTINGS. */
  CHECK_EQ(read_ctrl(&rd, (const uint8_t[]){0x00, 0x04, 0x00}, 3, 1), 1);
  CHECK_EQ(rd.n, 0);
  CHECK_EQ(wt_ctrl_reader_feed(&rd, NULL, 0), 1);
}

static void test_reader_duplicate(void) {
  uint8_t s[64], *q = s;
  q = wt_varint_put(q, 0);
  q = wt_varint_put(q, 4);
  uint8_t *lenp = q++;
  size_t n = 0;
  n += put_setting(q + n, 0x33, 1);
  n += put_setting(q + n, 0x2b603742, 1);
  n += put_setting(q + n, 0x33, 1);
  *lenp = (uint8_t)n;
  size_t len = (size_t)(q - s) + n;
  for (int bytes = 0; bytes < 2; bytes++) {
    wt_ctrl_reader rd;
    CHECK_EQ(read_ctrl(&rd, s, len, bytes), WT_ERR_MALFORMED);
    CHECK_EQ(wt_ctrl_reader_h3_error(&rd), WT_H3_SETTINGS_ERROR);
    CHECK_EQ(wt_ctrl_reader_feed(&rd, s, 1), WT_ERR_MALFORMED); /* sticky */
  }
}

static void test_reader_not_settings_first(void) {
  const uint8_t goaway[] = {0x00, 0x07, 0x01, 0x00};
  wt_ctrl_reader rd;
  CHECK_EQ(read_ctrl(&rd, goaway, sizeof(goaway), 1), WT_ERR_MALFORMED);
  CHECK_EQ(wt_ctrl_reader_h3_error(&rd), WT_H3_MISSING_SETTINGS);
  const uint8_t not_ctrl[] = {0x02, 0x04, 0x00};
  CHECK_EQ(read_ctrl(&rd, not_ctrl, sizeof(not_ctrl), 0), WT_ERR_MALFORMED);
}

static void test_reader_oversize(void) {
  uint8_t s[64];
  uint8_t *q = s;
  q = wt_varint_put(q, 0);
  q = wt_varint_put(q, 4);
  q = wt_varint_put(q, 17);
  wt_ctrl_reader rd;
  wt_ctrl_reader_init(&rd, 16);
  CHECK_EQ(wt_ctrl_reader_feed(&rd, s, (size_t)(q - s)), WT_ERR_LIMIT);
  CHECK_EQ(wt_ctrl_reader_h3_error(&rd), WT_H3_EXCESSIVE_LOAD);
  /* Default limit 4096: 4097 refused, 4096 accepted (as far as announced). */
  q = s;
  q = wt_varint_put(q, 0);
  q = wt_varint_put(q, 4);
  q = wt_varint_put(q, 4097);
  wt_ctrl_reader_init(&rd, 0);
  CHECK_EQ(wt_ctrl_reader_feed(&rd, s, (size_t)(q - s)), WT_ERR_LIMIT);
  q = s;
  q = wt_varint_put(q, 0);
  q = wt_varint_put(q, 4);
  q = wt_varint_put(q, 4096);
  wt_ctrl_reader_init(&rd, 0);
  CHECK_EQ(wt_ctrl_reader_feed(&rd, s, (size_t)(q - s)), 0);
}

static void test_reader_grease_ignored(void) {
  uint8_t s[128], *q = s;
  q = wt_varint_put(q, 0);
  q = wt_varint_put(q, 4);
  uint8_t *lenp = q++;
  size_t n = 0;
  n += put_setting(q + n, 0x21, 5);
  n += put_setting(q + n, 0x33, 1);
  n += put_setting(q + n, UINT64_C(0x1f) * 0x12345678 + 0x21, 77);
  n += put_setting(q + n, 0x2b603742, 1);
  n += put_setting(q + n, 0x40, UINT64_C(1) << 40);
  *lenp = (uint8_t)n;
  size_t len = (size_t)(q - s) + n;
  for (int bytes = 0; bytes < 2; bytes++) {
    wt_ctrl_reader rd;
    CHECK_EQ(read_ctrl(&rd, s, len, bytes), 1);
    CHECK_EQ(rd.n, 2);
    CHECK_EQ(rd.n_grease, 3);
    uint64_t v;
    CHECK(!wt_ctrl_reader_get(&rd, 0x21, &v));
    CHECK(wt_ctrl_reader_get(&rd, 0x2b603742, &v) && v == 1);
  }
}

static void test_reader_overrun(void) {
  /* Frame length 3, but the second varint needs 4 bytes. */
  const uint8_t a[] = {0x00, 0x04, 0x03, 0x01, 0x80, 0x00, 0x00, 0x01};
  /* Frame length 1: an id with no room for its value. */
  const uint8_t b[] = {0x00, 0x04, 0x01, 0x01, 0x00};
  /* An 8-byte id in a 4-byte frame. */
  const uint8_t c[] = {0x00, 0x04, 0x04, 0xc0, 0, 0, 0, 0, 0, 0, 1};
  const uint8_t *cases[] = {a, b, c};
  const size_t lens[] = {sizeof(a), sizeof(b), sizeof(c)};
  for (int i = 0; i < 3; i++) {
    for (int bytes = 0; bytes < 2; bytes++) {
      wt_ctrl_reader rd;
      CHECK_EQ(read_ctrl(&rd, cases[i], lens[i], bytes), WT_ERR_MALFORMED);
      CHECK_EQ(wt_ctrl_reader_h3_error(&rd), WT_H3_FRAME_ERROR);
    }
  }
  /* Reserved HTTP/2 setting ids 0x02..0x05 are H3_SETTINGS_ERROR. */
  for (uint8_t id = 2; id <= 5; id++) {
    const uint8_t d[] = {0x00, 0x04, 0x02, id, 0x00};
    wt_ctrl_reader rd;
    CHECK_EQ(read_ctrl(&rd, d, sizeof(d), 0), WT_ERR_MALFORMED);
    CHECK_EQ(wt_ctrl_reader_h3_error(&rd), WT_H3_SETTINGS_ERROR);
  }
}

static void test_reader_many(void) {
  /* 40 distinct settings: 32 stored, 8 counted. */
  uint8_t s[256], *q = s;
  q = wt_varint_put(q, 0);
  q = wt_varint_put(q, 4);
  uint8_t pl[200];
  size_t n = 0;
  uint64_t ids[40], id = 0x100;
  for (int i = 0; i < 40; i++, id++) {
    while (wt_setting_is_grease(id)) {
      id++;
    }
    ids[i] = id;
    n += put_setting(pl + n, id, (uint64_t)i);
  }
  q = wt_varint_put(q, n);
  memcpy(q, pl, n);
  size_t len = (size_t)(q - s) + n;
  wt_ctrl_reader rd;
  CHECK_EQ(read_ctrl(&rd, s, len, 1), 1);
  CHECK_EQ(rd.n, WT_CTRL_READER_SETTINGS);
  CHECK_EQ(rd.n_dropped, 8);
  uint64_t v;
  CHECK_EQ(rd.n_grease, 0);
  CHECK(wt_ctrl_reader_get(&rd, ids[31], &v) && v == 31);
  CHECK(!wt_ctrl_reader_get(&rd, ids[32], &v));
}

int main(void) {
  WT_RUN(test_profiles);
  WT_RUN(test_dialect);
  WT_RUN(test_grease_ids);
  WT_RUN(test_rewrite_every_split);
  WT_RUN(test_rewrite_length_grows);
  WT_RUN(test_rewrite_nobuf);
  WT_RUN(test_rewrite_dedup_extra);
  WT_RUN(test_rewrite_errors);
  WT_RUN(test_reader_basic);
  WT_RUN(test_reader_duplicate);
  WT_RUN(test_reader_not_settings_first);
  WT_RUN(test_reader_oversize);
  WT_RUN(test_reader_grease_ignored);
  WT_RUN(test_reader_overrun);
  WT_RUN(test_reader_many);
  WT_DONE();
}
