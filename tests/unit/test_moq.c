/* test_moq.c: the moq-lite codec (apps/moq/wt_moq.h): byte-exact vectors
 * (tests/data/moq_vectors.txt, produced by the @moq/net client's own
 * encoder: tests/unit/moq_vectors.mjs) both ways, every split of the input,
 * and each malformed or oversized input with its reason. */
#include "check.h"
#include "wt_error.h"
#include "wt_moq.h"
#include "wt_varint.h"

#define S(lit) ((wt_moq_str){(const uint8_t *)(lit), sizeof(lit) - 1})

/* ------------------------------------------------------------ vectors */

typedef struct vec {
  const char *name;
  int version;
  wt_moq_type read_as; /* what the reader is asked for */
  wt_moq_msg m;
} vec;

static vec vectors[48];
static size_t n_vectors;

static void add(const char *name, int version, wt_moq_type read_as, wt_moq_msg m) {
  vectors[n_vectors++] = (vec){name, version, read_as, m};
}

static void build_vectors(void) {
  wt_moq_msg m;
  memset(&m, 0, sizeof(m));
  m.type = WT_MOQ_ANNOUNCE_PLEASE;
  m.u.announce_please.prefix = S("demo/room");
  add("announce_please_03", WT_MOQ_LITE_03, m.type, m);
  m.u.announce_please.prefix = S("demo");
  m.u.announce_please.exclude_hop = 0x1234;
  add("announce_please_04", WT_MOQ_LITE_04, m.type, m);

  memset(&m, 0, sizeof(m));
  m.type = WT_MOQ_ANNOUNCE;
  m.u.announce.status = WT_MOQ_ANNOUNCE_ACTIVE;
  m.u.announce.suffix = S("cam1");
  m.u.announce.n_hops = 2;
  add("announce_active_03", WT_MOQ_LITE_03, m.type, m);
  m.u.announce.hops[0] = 5;
  m.u.announce.hops[1] = 300;
  add("announce_active_04", WT_MOQ_LITE_04, m.type, m);
  memset(&m.u.announce, 0, sizeof(m.u.announce));
  m.u.announce.status = WT_MOQ_ANNOUNCE_ENDED;
  m.u.announce.suffix = S("cam1");
  add("announce_ended_04", WT_MOQ_LITE_04, m.type, m);

  memset(&m, 0, sizeof(m));
  m.type = WT_MOQ_SUBSCRIBE;
  m.u.subscribe.id = 7;
  m.u.subscribe.broadcast = S("demo/cam1");
  m.u.subscribe.track = S("video");
  m.u.subscribe.p = (wt_moq_sub_params){
      .priority = 3, .ordered = 1, .max_latency = 500, .has_start = 1, .start_group = 10};
  add("subscribe_03", WT_MOQ_LITE_03, m.type, m);
  m.u.subscribe.id = 1000;
  m.u.subscribe.track = S("audio");
  m.u.subscribe.p = (wt_moq_sub_params){
      .priority = 255, .ordered = 0, .max_latency = 20000, .has_end = 1, .end_group = 99};
  add("subscribe_04", WT_MOQ_LITE_04, m.type, m);

  memset(&m, 0, sizeof(m));
  m.type = WT_MOQ_SUBSCRIBE_UPDATE;
  m.u.update = (wt_moq_sub_params){.priority = 200, .has_start = 1, .start_group = 0};
  add("subscribe_update_04", WT_MOQ_LITE_04, m.type, m);
  m.type = WT_MOQ_SUBSCRIBE_OK;
  m.u.update = (wt_moq_sub_params){.priority = 1, .ordered = 1, .max_latency = 100};
  add("subscribe_ok_04", WT_MOQ_LITE_04, WT_MOQ_SUBSCRIBE_RESPONSE, m);
  memset(&m, 0, sizeof(m));
  m.type = WT_MOQ_SUBSCRIBE_DROP;
  m.u.drop.start = 4;
  m.u.drop.end = 6;
  m.u.drop.error = 2;
  add("subscribe_drop_03", WT_MOQ_LITE_03, WT_MOQ_SUBSCRIBE_RESPONSE, m);

  memset(&m, 0, sizeof(m));
  m.type = WT_MOQ_FETCH;
  m.u.fetch.broadcast = S("demo/cam1");
  m.u.fetch.track = S("video");
  m.u.fetch.priority = 2;
  m.u.fetch.group = 17;
  add("fetch_04", WT_MOQ_LITE_04, m.type, m);

  memset(&m, 0, sizeof(m));
  m.type = WT_MOQ_PROBE;
  m.u.probe.bitrate = 2500000;
  add("probe_03", WT_MOQ_LITE_03, m.type, m);
  m.u.probe.rtt = 35;
  add("probe_04", WT_MOQ_LITE_04, m.type, m);

  memset(&m, 0, sizeof(m));
  m.type = WT_MOQ_GOAWAY;
  m.u.goaway.uri = S("https://relay2.example/demo");
  add("goaway_04", WT_MOQ_LITE_04, m.type, m);

  memset(&m, 0, sizeof(m));
  m.type = WT_MOQ_GROUP;
  m.u.group.subscribe = 7;
  m.u.group.sequence = 70000;
  add("group", WT_MOQ_LITE_04, m.type, m);

  /* moq-lite-05 */
  memset(&m, 0, sizeof(m));
  m.type = WT_MOQ_SETUP;
  m.u.setup.probe = 1;
  m.u.setup.role = 2;
  m.u.setup.origin = 0x1234;
  add("setup_05", WT_MOQ_LITE_05, m.type, m);
  memset(&m.u.setup, 0, sizeof(m.u.setup));
  add("setup_empty_05", WT_MOQ_LITE_05, m.type, m);
  memset(&m, 0, sizeof(m));
  m.type = WT_MOQ_ANNOUNCE_PLEASE;
  m.u.announce_please.prefix = S("demo");
  m.u.announce_please.exclude_hop = 77;
  add("announce_please_05", WT_MOQ_LITE_05, m.type, m);
  memset(&m, 0, sizeof(m));
  m.type = WT_MOQ_ANNOUNCE_OK;
  m.u.announce_ok.origin = 0x2a5;
  m.u.announce_ok.active = 2;
  add("announce_ok_05", WT_MOQ_LITE_05, m.type, m);
  memset(&m, 0, sizeof(m));
  m.type = WT_MOQ_ANNOUNCE;
  m.u.announce.status = WT_MOQ_ANNOUNCE_ACTIVE;
  m.u.announce.suffix = S("cam1");
  m.u.announce.n_hops = 1;
  m.u.announce.hops[0] = 9;
  add("announce_active_05", WT_MOQ_LITE_05, m.type, m);
  memset(&m.u.announce, 0, sizeof(m.u.announce));
  m.u.announce.status = WT_MOQ_ANNOUNCE_ENDED;
  m.u.announce.suffix = S("cam1");
  add("announce_ended_05", WT_MOQ_LITE_05, m.type, m);
  memset(&m, 0, sizeof(m));
  m.type = WT_MOQ_TRACK;
  m.u.track.broadcast = S("demo/cam1");
  m.u.track.track = S("video");
  add("track_05", WT_MOQ_LITE_05, m.type, m);
  memset(&m, 0, sizeof(m));
  m.type = WT_MOQ_TRACK_INFO;
  m.u.track_info.priority = 2;
  m.u.track_info.ordered = 1;
  m.u.track_info.max_latency = 3000;
  m.u.track_info.timescale = 1000000;
  add("track_info_05", WT_MOQ_LITE_05, m.type, m);
  memset(&m, 0, sizeof(m));
  m.type = WT_MOQ_SUBSCRIBE;
  m.u.subscribe.id = 3;
  m.u.subscribe.broadcast = S("demo/cam1");
  m.u.subscribe.track = S("video");
  m.u.subscribe.p = (wt_moq_sub_params){
      .priority = 1, .has_start = 1, .start_group = 4, .has_end = 1, .end_group = 8};
  add("subscribe_05", WT_MOQ_LITE_05, m.type, m);
  memset(&m, 0, sizeof(m));
  m.type = WT_MOQ_SUBSCRIBE_START;
  m.u.range.group = 41;
  add("subscribe_start_05", WT_MOQ_LITE_05, WT_MOQ_SUBSCRIBE_RESPONSE, m);
  m.type = WT_MOQ_SUBSCRIBE_END;
  m.u.range.group = 42;
  add("subscribe_end_05", WT_MOQ_LITE_05, WT_MOQ_SUBSCRIBE_RESPONSE, m);
  memset(&m, 0, sizeof(m));
  m.type = WT_MOQ_SUBSCRIBE_DROP;
  m.u.drop.start = 1;
  m.u.drop.end = 2;
  m.u.drop.error = 3;
  add("subscribe_drop_05", WT_MOQ_LITE_05, WT_MOQ_SUBSCRIBE_RESPONSE, m);
  memset(&m, 0, sizeof(m));
  m.type = WT_MOQ_FETCH;
  m.u.fetch.broadcast = S("demo/cam1");
  m.u.fetch.track = S("video");
  m.u.fetch.priority = 2;
  m.u.fetch.group = 17;
  add("fetch_05", WT_MOQ_LITE_05, m.type, m);
  memset(&m, 0, sizeof(m));
  m.type = WT_MOQ_PROBE;
  m.u.probe.bitrate = 2500000;
  m.u.probe.rtt = 35;
  add("probe_05", WT_MOQ_LITE_05, m.type, m);
}

/* The expected bytes of a vector, from tests/data/moq_vectors.txt. */
static int expected(const char *name, uint8_t *out, size_t cap, size_t *len) {
  const char *src = getenv("WTCAST_SRC");
  char path[4096];
  snprintf(path, sizeof(path), "%s/tests/data/moq_vectors.txt", src ? src : ".");
  FILE *f = fopen(path, "r");
  if (!f) {
    fprintf(stderr, "cannot open %s\n", path);
    return -1;
  }
  char line[8192], hex[8192], n[128];
  int found = -1;
  while (fgets(line, sizeof(line), f)) {
    if (line[0] == '#' || sscanf(line, "%127s %8191s", n, hex) != 2 || strcmp(n, name)) {
      continue;
    }
    size_t hl = strlen(hex);
    if (hl % 2 || hl / 2 > cap) {
      break;
    }
    for (size_t i = 0; i < hl / 2; i++) {
      unsigned b;
      sscanf(hex + 2 * i, "%2x", &b);
      out[i] = (uint8_t)b;
    }
    *len = hl / 2;
    found = 0;
    break;
  }
  fclose(f);
  if (found < 0) {
    fprintf(stderr, "vector %s missing from %s\n", name, path);
  }
  return found;
}

/* Read one message of v from s[0..len) cut at every position in cuts
 * (pieces of the input handed over one by one); re-encode what was decoded
 * into re. Returns the reader's last result. */
static int read_split(const vec *v, const uint8_t *s, size_t len, const size_t *cuts, size_t ncuts,
                      uint8_t *re, int *relen, size_t *total_used) {
  static wt_moq_reader r;
  wt_moq_reader_init(&r, v->version);
  wt_moq_msg out;
  const char *why = NULL;
  size_t start = 0;
  int rv = 0;
  *total_used = 0;
  for (size_t i = 0; i <= ncuts && rv == 0; i++) {
    size_t end = i < ncuts ? cuts[i] : len;
    size_t used = 0;
    rv = wt_moq_read_msg(&r, v->read_as, s + start, end - start, &used, &out, &why);
    *total_used += used;
    if (rv == 0 && used != end - start) {
      return -999; /* "need more" must take every byte */
    }
    start = end;
  }
  if (rv == 1) {
    *relen = wt_moq_encode(&out, v->version, re, 8192);
  }
  return rv;
}

static void test_vectors(void) {
  for (size_t i = 0; i < n_vectors; i++) {
    const vec *v = &vectors[i];
    uint8_t want[8192], got[8192], re[8192];
    size_t wl = 0;
    CHECK_FATAL(expected(v->name, want, sizeof(want), &wl) == 0);
    int gl = wt_moq_encode(&v->m, v->version, got, sizeof(got));
    if (gl != (int)wl || memcmp(got, want, wl)) {
      fprintf(stderr, "  vector %s: encode differs (%d vs %zu bytes)\n", v->name, gl, wl);
    }
    CHECK_EQ(gl, wl);
    CHECK_MEM(got, want, wl);
    /* every encode shorter by one byte than needed fails cleanly */
    CHECK_EQ(wt_moq_encode(&v->m, v->version, got, wl - 1), WT_ERR_NOBUF);
    /* decode whole, then in two and three pieces at every position */
    int rl = -1;
    size_t used;
    CHECK_EQ(read_split(v, want, wl, NULL, 0, re, &rl, &used), 1);
    CHECK_EQ(used, wl);
    CHECK_EQ(rl, wl);
    CHECK_MEM(re, want, wl);
    int bad = 0;
    for (size_t a = 0; a <= wl; a++) {
      for (size_t b = a; b <= wl; b++) {
        size_t cuts[2] = {a, b};
        rl = -1;
        if (read_split(v, want, wl, cuts, 2, re, &rl, &used) != 1 || used != wl || rl != (int)wl ||
            memcmp(re, want, wl)) {
          bad++;
        }
      }
    }
    if (bad) {
      fprintf(stderr, "  vector %s: %d splits decode differently\n", v->name, bad);
    }
    CHECK_EQ(bad, 0);
  }
}

/* A few decoded fields, explicitly (the round trip above checks the rest). */
static void test_decoded_fields(void) {
  uint8_t b[256];
  size_t n = 0;
  wt_moq_reader r;
  wt_moq_msg m;
  size_t used;
  const char *why;
  CHECK_FATAL(expected("subscribe_03", b, sizeof(b), &n) == 0);
  wt_moq_reader_init(&r, WT_MOQ_LITE_03);
  CHECK_EQ(wt_moq_read_msg(&r, WT_MOQ_SUBSCRIBE, b, n, &used, &m, &why), 1);
  CHECK_EQ(m.type, WT_MOQ_SUBSCRIBE);
  CHECK_EQ(m.u.subscribe.id, 7);
  CHECK(m.u.subscribe.broadcast.len == 9 && !memcmp(m.u.subscribe.broadcast.p, "demo/cam1", 9));
  CHECK(m.u.subscribe.track.len == 5 && !memcmp(m.u.subscribe.track.p, "video", 5));
  CHECK_EQ(m.u.subscribe.p.priority, 3);
  CHECK_EQ(m.u.subscribe.p.ordered, 1);
  CHECK_EQ(m.u.subscribe.p.max_latency, 500);
  CHECK(m.u.subscribe.p.has_start && m.u.subscribe.p.start_group == 10);
  CHECK(!m.u.subscribe.p.has_end);

  CHECK_FATAL(expected("subscribe_drop_03", b, sizeof(b), &n) == 0);
  wt_moq_reader_init(&r, WT_MOQ_LITE_03);
  CHECK_EQ(wt_moq_read_msg(&r, WT_MOQ_SUBSCRIBE_RESPONSE, b, n, &used, &m, &why), 1);
  CHECK_EQ(m.type, WT_MOQ_SUBSCRIBE_DROP);
  CHECK(m.u.drop.start == 4 && m.u.drop.end == 6 && m.u.drop.error == 2);

  CHECK_FATAL(expected("announce_active_04", b, sizeof(b), &n) == 0);
  wt_moq_reader_init(&r, WT_MOQ_LITE_04);
  CHECK_EQ(wt_moq_read_msg(&r, WT_MOQ_ANNOUNCE, b, n, &used, &m, &why), 1);
  CHECK(m.u.announce.n_hops == 2 && m.u.announce.hops[0] == 5 && m.u.announce.hops[1] == 300);
  /* the -04 bytes read as -03 (no hop ids): the ids are trailing bytes */
  wt_moq_reader_init(&r, WT_MOQ_LITE_03);
  CHECK_EQ(wt_moq_read_msg(&r, WT_MOQ_ANNOUNCE, b, n, &used, &m, &why), WT_ERR_MALFORMED);
  CHECK(why && !strcmp(why, "trailing bytes after the message"));
}

/* One stream: kind, SUBSCRIBE, two UPDATEs, in one buffer and byte by byte;
 * a group stream: type, GROUP, two frames. */
static void test_stream_sequence(void) {
  uint8_t s[512];
  size_t n = 0;
  int k = wt_varint_encode(s, sizeof(s), WT_MOQ_KIND_SUBSCRIBE);
  n += (size_t)k;
  const vec *sub = NULL, *upd = NULL;
  for (size_t i = 0; i < n_vectors; i++) {
    if (!strcmp(vectors[i].name, "subscribe_04")) {
      sub = &vectors[i];
    }
    if (!strcmp(vectors[i].name, "subscribe_update_04")) {
      upd = &vectors[i];
    }
  }
  CHECK_FATAL(sub && upd);
  n += (size_t)wt_moq_encode(&sub->m, WT_MOQ_LITE_04, s + n, sizeof(s) - n);
  n += (size_t)wt_moq_encode(&upd->m, WT_MOQ_LITE_04, s + n, sizeof(s) - n);
  n += (size_t)wt_moq_encode(&upd->m, WT_MOQ_LITE_04, s + n, sizeof(s) - n);
  for (size_t step = 1; step <= n; step = step == 1 ? n : n + 1) {
    wt_moq_reader r;
    wt_moq_reader_init(&r, WT_MOQ_LITE_04);
    int stage = 0, msgs = 0;
    uint64_t kind = 99;
    for (size_t off = 0; off < n;) {
      size_t len = n - off < step ? n - off : step, used = 0;
      while (len) {
        wt_moq_msg m;
        const char *why;
        int rv;
        if (stage == 0) {
          rv = wt_moq_read_varint(&r, s + off, len, &used, &kind);
        } else {
          rv = wt_moq_read_msg(&r, stage == 1 ? WT_MOQ_SUBSCRIBE : WT_MOQ_SUBSCRIBE_UPDATE, s + off,
                               len, &used, &m, &why);
          if (rv == 1) {
            CHECK_EQ(m.type, stage == 1 ? WT_MOQ_SUBSCRIBE : WT_MOQ_SUBSCRIBE_UPDATE);
            msgs++;
          }
        }
        CHECK(rv >= 0);
        if (rv < 0) {
          return;
        }
        stage += rv == 1 && stage < 2;
        off += used;
        len -= used;
      }
    }
    CHECK_EQ(kind, WT_MOQ_KIND_SUBSCRIBE);
    CHECK_EQ(msgs, 3);
  }

  /* group stream: the frame sizes come out, payload stays with the caller */
  const vec *grp = NULL;
  for (size_t i = 0; i < n_vectors; i++) {
    if (!strcmp(vectors[i].name, "group")) {
      grp = &vectors[i];
    }
  }
  CHECK_FATAL(grp);
  uint8_t frame[64];
  size_t fl = 0;
  CHECK_FATAL(expected("frame", frame, sizeof(frame), &fl) == 0);
  n = (size_t)wt_varint_encode(s, sizeof(s), WT_MOQ_UNI_GROUP);
  n += (size_t)wt_moq_encode(&grp->m, WT_MOQ_LITE_04, s + n, sizeof(s) - n);
  memcpy(s + n, frame, fl);
  n += fl;
  memcpy(s + n, frame, fl);
  n += fl;
  wt_moq_reader r;
  wt_moq_reader_init(&r, WT_MOQ_LITE_04);
  size_t off = 0, used;
  uint64_t v, size;
  wt_moq_msg m;
  const char *why;
  CHECK_EQ(wt_moq_read_varint(&r, s, n, &used, &v), 1);
  CHECK_EQ(v, WT_MOQ_UNI_GROUP);
  off += used;
  CHECK_EQ(wt_moq_read_msg(&r, WT_MOQ_GROUP, s + off, n - off, &used, &m, &why), 1);
  CHECK(m.u.group.subscribe == 7 && m.u.group.sequence == 70000);
  off += used;
  for (int i = 0; i < 2; i++) {
    CHECK_EQ(wt_moq_read_frame(&r, s + off, n - off, &used, &size, &why), 1);
    CHECK_EQ(size, 5);
    CHECK_MEM(s + off + used, "hello", 5);
    off += used + (size_t)size;
  }
  CHECK_EQ(off, n);
  CHECK_EQ(wt_moq_read_frame(&r, s + off, 0, &used, &size, &why), 0); /* FIN here ends it */
}

/* ------------------------------------------------------------ malformed */

typedef struct bad {
  const char *what;
  int version;
  wt_moq_type t;
  const char *hex; /* size + body, or the whole input */
  int rv;
  const char *why;
} bad;

static size_t unhex(const char *h, uint8_t *out) {
  size_t n = 0;
  for (; h[0] && h[1]; h += 2) {
    unsigned b;
    sscanf(h, "%2x", &b);
    out[n++] = (uint8_t)b;
  }
  return n;
}

static void test_malformed(void) {
  static const bad cases[] = {
      {"size above the limit", 4, WT_MOQ_SUBSCRIBE, "5001", WT_ERR_MALFORMED, "message too large"},
      {"size 2^62-1", 4, WT_MOQ_GROUP, "ffffffffffffffff", WT_ERR_MALFORMED, "message too large"},
      {"announce status 2 (-05's restart) on -04", 4, WT_MOQ_ANNOUNCE, "0402016100",
       WT_ERR_MALFORMED, "unknown announce status"},
      {"announce status missing", 4, WT_MOQ_ANNOUNCE, "00", WT_ERR_MALFORMED,
       "truncated announce status"},
      {"33 hops", 3, WT_MOQ_ANNOUNCE, "0401016121", WT_ERR_MALFORMED, "too many hops"},
      {"hop count 2^62-1", 4, WT_MOQ_ANNOUNCE, "0b010161ffffffffffffffff", WT_ERR_MALFORMED,
       "too many hops"},
      {"hop ids missing (-04)", 4, WT_MOQ_ANNOUNCE, "0401016102", WT_ERR_MALFORMED,
       "truncated hop"},
      {"path not UTF-8", 3, WT_MOQ_ANNOUNCE_PLEASE, "0201ff", WT_ERR_MALFORMED,
       "path is not UTF-8"},
      {"path longer than its message", 3, WT_MOQ_ANNOUNCE_PLEASE, "020561", WT_ERR_MALFORMED,
       "truncated path"},
      {"path length 1025", 3, WT_MOQ_ANNOUNCE_PLEASE, "024401", WT_ERR_MALFORMED, "path too long"},
      {"exclude hop missing (-04)", 4, WT_MOQ_ANNOUNCE_PLEASE, "020161", WT_ERR_MALFORMED,
       "truncated exclude hop"},
      {"ordered flag 2", 4, WT_MOQ_SUBSCRIBE_UPDATE, "050002000000", WT_ERR_MALFORMED,
       "ordered flag not 0 or 1"},
      {"update truncated", 4, WT_MOQ_SUBSCRIBE_UPDATE, "0400010000", WT_ERR_MALFORMED,
       "truncated end group"},
      {"trailing byte", 4, WT_MOQ_SUBSCRIBE_UPDATE, "06000100000000", WT_ERR_MALFORMED,
       "trailing bytes after the message"},
      {"start group 2^53", 4, WT_MOQ_SUBSCRIBE_UPDATE, "0c000100c02000000000000000",
       WT_ERR_MALFORMED, "value above 2^53-1"},
      {"subscribe name not UTF-8", 4, WT_MOQ_SUBSCRIBE, "0b07016102c0af0100000000",
       WT_ERR_MALFORMED, "name is not UTF-8"},
      {"subscribe id truncated", 4, WT_MOQ_SUBSCRIBE, "0140", WT_ERR_MALFORMED,
       "truncated subscribe id"},
      {"group sequence 2^53", 4, WT_MOQ_GROUP, "0907c020000000000000", WT_ERR_MALFORMED,
       "value above 2^53-1"},
      {"empty group header", 4, WT_MOQ_GROUP, "00", WT_ERR_MALFORMED, "truncated subscribe id"},
      {"probe rtt missing (-04)", 4, WT_MOQ_PROBE, "0101", WT_ERR_MALFORMED, "truncated rtt"},
      {"probe with rtt on -03", 3, WT_MOQ_PROBE, "020101", WT_ERR_MALFORMED,
       "trailing bytes after the message"},
      {"goaway on -03", 3, WT_MOQ_GOAWAY, "0100", WT_ERR_UNSUPPORTED,
       "message not in this moq-lite version"},
      /* moq-lite-05 */
      {"track on -04", 4, WT_MOQ_TRACK, "020161", WT_ERR_UNSUPPORTED,
       "message not in this moq-lite version"},
      {"setup on -04", 4, WT_MOQ_SETUP, "0100", WT_ERR_UNSUPPORTED,
       "message not in this moq-lite version"},
      {"announce ok on -04", 4, WT_MOQ_ANNOUNCE_OK, "020000", WT_ERR_UNSUPPORTED,
       "message not in this moq-lite version"},
      {"track info timescale 0", 5, WT_MOQ_TRACK_INFO, "0400000000", WT_ERR_MALFORMED,
       "track timescale 0"},
      {"track info ordered 2", 5, WT_MOQ_TRACK_INFO, "0400020001", WT_ERR_MALFORMED,
       "ordered flag not 0 or 1"},
      {"track info truncated", 5, WT_MOQ_TRACK_INFO, "03000100", WT_ERR_MALFORMED,
       "truncated timescale"},
      {"track name missing", 5, WT_MOQ_TRACK, "020161", WT_ERR_MALFORMED, "truncated name length"},
      {"setup 65 parameters", 5, WT_MOQ_SETUP, "024041", WT_ERR_MALFORMED, "too many parameters"},
      {"setup duplicate parameter", 5, WT_MOQ_SETUP, "0702010101010101", WT_ERR_MALFORMED,
       "duplicate parameter"},
      {"setup parameter longer than its message", 5, WT_MOQ_SETUP, "0401070501", WT_ERR_MALFORMED,
       "truncated parameter"},
      {"setup varint parameter with a trailing byte", 5, WT_MOQ_SETUP, "050101020101",
       WT_ERR_MALFORMED, "trailing bytes after a varint parameter"},
      {"setup varint parameter empty", 5, WT_MOQ_SETUP, "03010300", WT_ERR_MALFORMED,
       "truncated parameter value"},
      {"announce ok count 2^53", 5, WT_MOQ_ANNOUNCE_OK, "0900c020000000000000", WT_ERR_MALFORMED,
       "value above 2^53-1"},
      {"announce status 3 (-05)", 5, WT_MOQ_ANNOUNCE, "0403016100", WT_ERR_MALFORMED,
       "unknown announce status"},
      {"subscribe response type 3 (-05)", 5, WT_MOQ_SUBSCRIBE_RESPONSE, "0300", WT_ERR_MALFORMED,
       "unknown subscribe response type"},
      {"subscribe start truncated (-05)", 5, WT_MOQ_SUBSCRIBE_RESPONSE, "0000", WT_ERR_MALFORMED,
       "truncated group"},
      {"subscribe response type 2", 4, WT_MOQ_SUBSCRIBE_RESPONSE, "0200", WT_ERR_MALFORMED,
       "unknown subscribe response type"},
      {"fetch group missing", 4, WT_MOQ_FETCH, "050161016102", WT_ERR_MALFORMED, "truncated group"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    const bad *c = &cases[i];
    uint8_t in[64];
    size_t n = unhex(c->hex, in);
    /* whole, then byte by byte: same verdict, and never more bytes taken
     * than the input has */
    for (int bytewise = 0; bytewise < 2; bytewise++) {
      wt_moq_reader r;
      wt_moq_reader_init(&r, c->version);
      wt_moq_msg m;
      const char *why = NULL;
      size_t off = 0, used = 0;
      int rv = 0;
      while (rv == 0 && off < n) {
        size_t len = bytewise ? 1 : n - off;
        rv = wt_moq_read_msg(&r, c->t, in + off, len, &used, &m, &why);
        CHECK(used <= len);
        off += used;
      }
      if (rv != c->rv || !why || strcmp(why, c->why)) {
        fprintf(stderr, "  %s (%s): rv %d why '%s'\n", c->what, bytewise ? "bytewise" : "whole", rv,
                why ? why : "(null)");
      }
      CHECK_EQ(rv, c->rv);
      CHECK(why && !strcmp(why, c->why));
    }
  }
}

/* Limits at their edge: the last allowed value passes, the next one fails. */
static void test_limits(void) {
  static uint8_t path[WT_MOQ_MAX_PATH + 1], enc[8192];
  memset(path, 'a', sizeof(path));
  wt_moq_msg m;
  memset(&m, 0, sizeof(m));
  m.type = WT_MOQ_ANNOUNCE_PLEASE;
  m.u.announce_please.prefix = (wt_moq_str){path, WT_MOQ_MAX_PATH};
  int n = wt_moq_encode(&m, WT_MOQ_LITE_03, enc, sizeof(enc));
  CHECK(n > 0);
  wt_moq_reader r;
  wt_moq_msg out;
  size_t used;
  const char *why;
  wt_moq_reader_init(&r, WT_MOQ_LITE_03);
  CHECK_EQ(wt_moq_read_msg(&r, WT_MOQ_ANNOUNCE_PLEASE, enc, (size_t)n, &used, &out, &why), 1);
  CHECK_EQ(out.u.announce_please.prefix.len, WT_MOQ_MAX_PATH);
  m.u.announce_please.prefix.len = WT_MOQ_MAX_PATH + 1;
  CHECK_EQ(wt_moq_encode(&m, WT_MOQ_LITE_03, enc, sizeof(enc)), WT_ERR_INVAL);

  /* 32 parts pass, 33 fail, either way; repeated slashes do not count */
  static const char p32[] = "a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a//a/";
  static const char p33[] = "/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a";
  m.u.announce_please.prefix = (wt_moq_str){(const uint8_t *)p32, sizeof(p32) - 1};
  n = wt_moq_encode(&m, WT_MOQ_LITE_03, enc, sizeof(enc));
  CHECK(n > 0);
  m.u.announce_please.prefix = (wt_moq_str){(const uint8_t *)p33, sizeof(p33) - 1};
  CHECK_EQ(wt_moq_encode(&m, WT_MOQ_LITE_03, enc, sizeof(enc)), WT_ERR_INVAL);
  uint8_t raw[128];
  size_t rl = (size_t)wt_varint_encode(raw, 8, wt_varint_len(sizeof(p33) - 1) + sizeof(p33) - 1);
  rl += (size_t)wt_varint_encode(raw + rl, 8, sizeof(p33) - 1);
  memcpy(raw + rl, p33, sizeof(p33) - 1);
  rl += sizeof(p33) - 1;
  wt_moq_reader_init(&r, WT_MOQ_LITE_03);
  CHECK_EQ(wt_moq_read_msg(&r, WT_MOQ_ANNOUNCE_PLEASE, raw, rl, &used, &out, &why),
           WT_ERR_MALFORMED);
  CHECK(why && !strcmp(why, "path has too many parts"));

  /* 32 hops pass */
  memset(&m, 0, sizeof(m));
  m.type = WT_MOQ_ANNOUNCE;
  m.u.announce.status = WT_MOQ_ANNOUNCE_ACTIVE;
  m.u.announce.n_hops = WT_MOQ_MAX_HOPS;
  for (int i = 0; i < WT_MOQ_MAX_HOPS; i++) {
    m.u.announce.hops[i] = WT_VARINT_MAX - (uint64_t)i;
  }
  n = wt_moq_encode(&m, WT_MOQ_LITE_04, enc, sizeof(enc));
  CHECK(n > 0);
  wt_moq_reader_init(&r, WT_MOQ_LITE_04);
  CHECK_EQ(wt_moq_read_msg(&r, WT_MOQ_ANNOUNCE, enc, (size_t)n, &used, &out, &why), 1);
  CHECK_EQ(out.u.announce.hops[31], WT_VARINT_MAX - 31);
  m.u.announce.n_hops = WT_MOQ_MAX_HOPS + 1;
  CHECK_EQ(wt_moq_encode(&m, WT_MOQ_LITE_04, enc, sizeof(enc)), WT_ERR_INVAL);

  /* encode refuses what the decoder would */
  memset(&m, 0, sizeof(m));
  m.type = WT_MOQ_SUBSCRIBE_UPDATE;
  m.u.update.ordered = 2;
  CHECK_EQ(wt_moq_encode(&m, WT_MOQ_LITE_04, enc, sizeof(enc)), WT_ERR_INVAL);
  m.u.update.ordered = 0;
  m.u.update.has_start = 1;
  m.u.update.start_group = WT_MOQ_MAX_U53 - 1; /* on the wire: 2^53 - 1 */
  CHECK(wt_moq_encode(&m, WT_MOQ_LITE_04, enc, sizeof(enc)) > 0);
  m.u.update.start_group = WT_MOQ_MAX_U53;
  CHECK_EQ(wt_moq_encode(&m, WT_MOQ_LITE_04, enc, sizeof(enc)), WT_ERR_INVAL);
  m.type = WT_MOQ_GOAWAY;
  CHECK_EQ(wt_moq_encode(&m, WT_MOQ_LITE_03, enc, sizeof(enc)), WT_ERR_UNSUPPORTED);
  m.type = WT_MOQ_SUBSCRIBE_RESPONSE;
  CHECK_EQ(wt_moq_encode(&m, WT_MOQ_LITE_04, enc, sizeof(enc)), WT_ERR_INVAL);
  m.type = WT_MOQ_PROBE;
  CHECK_EQ(wt_moq_encode(&m, 6, enc, sizeof(enc)), WT_ERR_INVAL);

  /* a message of exactly WT_MOQ_MAX_MSG bytes is read (in pieces) */
  static uint8_t big[WT_MOQ_MAX_MSG + 8];
  size_t bl = (size_t)wt_varint_encode(big, 8, WT_MOQ_MAX_MSG);
  bl += (size_t)wt_varint_encode(big + bl, 8, 7); /* group: subscribe 7, sequence 1 */
  big[bl++] = 1;
  memset(big + bl, 0, WT_MOQ_MAX_MSG - 2); /* then padding the decoder refuses */
  bl += WT_MOQ_MAX_MSG - 2;
  wt_moq_reader_init(&r, WT_MOQ_LITE_04);
  size_t off = 0;
  int rv = 0;
  while (rv == 0 && off < bl) {
    rv = wt_moq_read_msg(&r, WT_MOQ_GROUP, big + off, bl - off > 1000 ? 1000 : bl - off, &used,
                         &out, &why);
    off += used;
  }
  CHECK_EQ(off, bl);
  CHECK_EQ(rv, WT_ERR_MALFORMED);
  CHECK(why && !strcmp(why, "trailing bytes after the message"));

  /* frames: the bound is the reader's */
  wt_moq_reader_init(&r, WT_MOQ_LITE_04);
  r.max_frame = 10;
  uint64_t size;
  CHECK_EQ(wt_moq_read_frame(&r, (const uint8_t *)"\x0a", 1, &used, &size, &why), 1);
  CHECK_EQ(wt_moq_read_frame(&r, (const uint8_t *)"\x0b", 1, &used, &size, &why), WT_ERR_MALFORMED);
  CHECK(why && !strcmp(why, "frame too large"));
  wt_moq_reader_init(&r, WT_MOQ_LITE_04);
  CHECK_EQ(wt_moq_read_frame(&r, (const uint8_t *)"\xc0\x00\x00\x01\x00\x00\x00\x00", 8, &used,
                             &size, &why),
           WT_ERR_MALFORMED); /* 2^32 bytes > 16 MiB default */
}

static void test_next(void) {
  CHECK_EQ(wt_moq_next(3, WT_MOQ_KIND_ANNOUNCE, 1, 0), WT_MOQ_ANNOUNCE_PLEASE);
  CHECK_EQ(wt_moq_next(3, WT_MOQ_KIND_ANNOUNCE, 1, 1), WT_MOQ_NONE);
  CHECK_EQ(wt_moq_next(3, WT_MOQ_KIND_ANNOUNCE, 0, 5), WT_MOQ_ANNOUNCE);
  CHECK_EQ(wt_moq_next(4, WT_MOQ_KIND_SUBSCRIBE, 1, 0), WT_MOQ_SUBSCRIBE);
  CHECK_EQ(wt_moq_next(4, WT_MOQ_KIND_SUBSCRIBE, 1, 9), WT_MOQ_SUBSCRIBE_UPDATE);
  CHECK_EQ(wt_moq_next(4, WT_MOQ_KIND_SUBSCRIBE, 0, 0), WT_MOQ_SUBSCRIBE_RESPONSE);
  CHECK_EQ(wt_moq_next(4, WT_MOQ_KIND_FETCH, 1, 0), WT_MOQ_FETCH);
  CHECK_EQ(wt_moq_next(4, WT_MOQ_KIND_FETCH, 0, 0), WT_MOQ_NONE);
  CHECK_EQ(wt_moq_next(4, WT_MOQ_KIND_PROBE, 1, 0), WT_MOQ_NONE);
  CHECK_EQ(wt_moq_next(4, WT_MOQ_KIND_PROBE, 0, 3), WT_MOQ_PROBE);
  CHECK_EQ(wt_moq_next(4, WT_MOQ_KIND_GOAWAY, 1, 0), WT_MOQ_GOAWAY);
  CHECK_EQ(wt_moq_next(3, WT_MOQ_KIND_GOAWAY, 1, 0), WT_MOQ_NONE);
  CHECK_EQ(wt_moq_next(4, WT_MOQ_KIND_SESSION, 1, 0), WT_MOQ_NONE);
  CHECK_EQ(wt_moq_next(4, WT_MOQ_KIND_TRACK, 1, 0), WT_MOQ_NONE);
  CHECK_EQ(wt_moq_next(4, 0x3fff, 1, 0), WT_MOQ_NONE);
  CHECK_EQ(wt_moq_next(6, WT_MOQ_KIND_ANNOUNCE, 1, 0), WT_MOQ_NONE);
  /* -05: ANNOUNCE_OK first; the TRACK stream */
  CHECK_EQ(wt_moq_next(5, WT_MOQ_KIND_ANNOUNCE, 1, 0), WT_MOQ_ANNOUNCE_PLEASE);
  CHECK_EQ(wt_moq_next(5, WT_MOQ_KIND_ANNOUNCE, 0, 0), WT_MOQ_ANNOUNCE_OK);
  CHECK_EQ(wt_moq_next(5, WT_MOQ_KIND_ANNOUNCE, 0, 1), WT_MOQ_ANNOUNCE);
  CHECK_EQ(wt_moq_next(4, WT_MOQ_KIND_ANNOUNCE, 0, 0), WT_MOQ_ANNOUNCE);
  CHECK_EQ(wt_moq_next(5, WT_MOQ_KIND_TRACK, 1, 0), WT_MOQ_TRACK);
  CHECK_EQ(wt_moq_next(5, WT_MOQ_KIND_TRACK, 1, 1), WT_MOQ_NONE);
  CHECK_EQ(wt_moq_next(5, WT_MOQ_KIND_TRACK, 0, 0), WT_MOQ_TRACK_INFO);
  CHECK_EQ(wt_moq_next(5, WT_MOQ_KIND_TRACK, 0, 1), WT_MOQ_NONE);
  CHECK_EQ(wt_moq_next(5, WT_MOQ_KIND_GOAWAY, 1, 0), WT_MOQ_GOAWAY);
  CHECK_EQ(wt_moq_next(5, WT_MOQ_KIND_FETCH, 1, 0), WT_MOQ_FETCH);
}

/* -05 frames: a timestamp varint before each size, in pieces; encoders
 * refuse what a version does not have. */
static void test_frames_05(void) {
  uint8_t b[32];
  int n = wt_moq_encode_frame_hdr(WT_MOQ_LITE_05, wt_moq_zigzag(-33000), 5, b, sizeof(b));
  CHECK_EQ(n, 5); /* 65999: 4 bytes, size: 1 */
  CHECK_EQ(wt_moq_encode_frame_hdr(WT_MOQ_LITE_04, 7, 5, b, sizeof(b)), 1);
  CHECK_EQ(wt_moq_encode_frame_hdr(WT_MOQ_LITE_05, 7, 5, b, 1), WT_ERR_NOBUF);
  CHECK_EQ(wt_moq_unzigzag(wt_moq_zigzag(-33000)), -33000);
  CHECK_EQ(wt_moq_unzigzag(wt_moq_zigzag(INT64_MAX)), INT64_MAX);
  CHECK_EQ(wt_moq_zigzag(-1), 1);
  CHECK_EQ(wt_moq_zigzag(1), 2);
  n = wt_moq_encode_frame_hdr(WT_MOQ_LITE_05, wt_moq_zigzag(-33000), 5, b, sizeof(b));
  for (int split = 0; split <= n; split++) {
    wt_moq_reader r;
    wt_moq_reader_init(&r, WT_MOQ_LITE_05);
    size_t used, total = 0;
    uint64_t size = 0;
    const char *why;
    int rv = wt_moq_read_frame(&r, b, (size_t)split, &used, &size, &why);
    total += used;
    if (rv == 0) {
      rv = wt_moq_read_frame(&r, b + split, (size_t)(n - split), &used, &size, &why);
      total += used;
    }
    CHECK_EQ(rv, 1);
    CHECK_EQ(total, n);
    CHECK_EQ(size, 5);
    CHECK_EQ(wt_moq_unzigzag(r.frame_ts), -33000);
  }
  /* the same bytes on -04: the timestamp is read as a size (too large) */
  wt_moq_reader r;
  wt_moq_reader_init(&r, WT_MOQ_LITE_04);
  r.max_frame = 1000;
  size_t used;
  uint64_t size;
  const char *why;
  CHECK_EQ(wt_moq_read_frame(&r, b, (size_t)n, &used, &size, &why), WT_ERR_MALFORMED);
  wt_moq_msg m = {.type = WT_MOQ_SUBSCRIBE_OK};
  CHECK_EQ(wt_moq_encode(&m, WT_MOQ_LITE_05, b, sizeof(b)), WT_ERR_UNSUPPORTED);
  m.type = WT_MOQ_SUBSCRIBE_START;
  CHECK_EQ(wt_moq_encode(&m, WT_MOQ_LITE_04, b, sizeof(b)), WT_ERR_UNSUPPORTED);
  m.type = WT_MOQ_TRACK_INFO; /* timescale 0 */
  CHECK_EQ(wt_moq_encode(&m, WT_MOQ_LITE_05, b, sizeof(b)), WT_ERR_INVAL);
  memset(&m, 0, sizeof(m));
  m.type = WT_MOQ_SETUP;
  m.u.setup.has_path = 1;
  m.u.setup.path = (wt_moq_str){(const uint8_t *)"\xff", 1}; /* not UTF-8 */
  CHECK_EQ(wt_moq_encode(&m, WT_MOQ_LITE_05, b, sizeof(b)), WT_ERR_INVAL);
  /* a restart (status 2) is an active announce on -05, malformed before */
  const uint8_t rs[] = {0x04, 0x02, 0x01, 'a', 0x00};
  wt_moq_reader_init(&r, WT_MOQ_LITE_05);
  CHECK_EQ(wt_moq_read_msg(&r, WT_MOQ_ANNOUNCE, rs, sizeof(rs), &used, &m, &why), 1);
  CHECK_EQ(m.u.announce.status, WT_MOQ_ANNOUNCE_ACTIVE);
  /* a SETUP with a path and an unknown parameter decodes (the relay refuses the path) */
  const uint8_t st[] = {0x09, 0x02, 0x02, 0x02, 'a', 'b', 0x21, 0x02, 0x00, 0x00};
  wt_moq_reader_init(&r, WT_MOQ_LITE_05);
  CHECK_EQ(wt_moq_read_msg(&r, WT_MOQ_SETUP, st, sizeof(st), &used, &m, &why), 1);
  CHECK(m.u.setup.has_path && m.u.setup.path.len == 2);
  /* it encodes again (the unknown parameter dropped), and reads back the same */
  uint8_t re[32], re2[32];
  int rl = wt_moq_encode(&m, WT_MOQ_LITE_05, re, sizeof(re));
  CHECK(rl == 6 && !memcmp(re,
                           "\x05\x01\x02\x02"
                           "ab",
                           6));
  wt_moq_reader_init(&r, WT_MOQ_LITE_05);
  CHECK_EQ(wt_moq_read_msg(&r, WT_MOQ_SETUP, re, (size_t)rl, &used, &m, &why), 1);
  CHECK_EQ(wt_moq_encode(&m, WT_MOQ_LITE_05, re2, sizeof(re2)), rl);
  CHECK(!memcmp(re, re2, (size_t)rl));
  /* a path that is not UTF-8 is refused */
  const uint8_t bp[] = {0x05, 0x01, 0x02, 0x02, 'a', 0xff};
  wt_moq_reader_init(&r, WT_MOQ_LITE_05);
  CHECK_EQ(wt_moq_read_msg(&r, WT_MOQ_SETUP, bp, sizeof(bp), &used, &m, &why), WT_ERR_MALFORMED);
  CHECK(why && !strcmp(why, "bad path parameter"));
}

static void test_protocol_names(void) {
  CHECK_EQ(wt_moq_version_from_protocol("moq-lite-03", 11), WT_MOQ_LITE_03);
  CHECK_EQ(wt_moq_version_from_protocol("moq-lite-04", 11), WT_MOQ_LITE_04);
  CHECK_EQ(wt_moq_version_from_protocol("moq-lite-05", 11), WT_MOQ_LITE_05);
  CHECK_EQ(wt_moq_version_from_protocol("moq-lite-06-wip", 15), WT_ERR_UNSUPPORTED);
  CHECK_EQ(wt_moq_version_from_protocol("moql", 4), WT_ERR_UNSUPPORTED);
  CHECK_EQ(wt_moq_version_from_protocol("moq-lite-0", 10), WT_ERR_UNSUPPORTED);
  CHECK_EQ(wt_moq_version_from_protocol(NULL, 0), WT_ERR_UNSUPPORTED);
}

int main(void) {
  build_vectors();
  WT_RUN(test_vectors);
  WT_RUN(test_decoded_fields);
  WT_RUN(test_stream_sequence);
  WT_RUN(test_malformed);
  WT_RUN(test_limits);
  WT_RUN(test_next);
  WT_RUN(test_frames_05);
  WT_RUN(test_protocol_names);
  WT_DONE();
}
