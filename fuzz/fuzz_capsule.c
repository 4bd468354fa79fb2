/* fuzz_capsule.c: the capsule parser (core/wt_capsule.h).
 *
 * Input: byte 0 = options (bit 0: flow-control capsules known), bytes 1..8
 * seed the split points, the rest is the CONNECT stream's DATA payload.
 * Oracles:
 *  - the payload fed in one call and fed in pieces (split points drawn from
 *    the input) yields the same capsules, the same error and the same
 *    skip statistics ("any split of the input gives the same capsules");
 *  - every *consumed stays within the call's data; a returned capsule's
 *    length respects the per-type limits;
 *  - a CLOSE capsule that decodes re-encodes to the same value bytes, and
 *    the encoding parses back to the same capsule;
 *  - a flow-control capsule decodes iff its value is exactly one varint. */
#include <stdint.h>
#include <string.h>

#include "fuzz_util.h"
#include "wt_capsule.h"
#include "wt_error.h"
#include "wt_varint.h"

#define MAX_CAPS 512

typedef struct caps {
  size_t n;
  uint64_t type[MAX_CAPS];
  size_t len[MAX_CAPS];
  uint64_t hash[MAX_CAPS]; /* FNV-1a of the value */
  int err;
  int boundary;
  uint64_t skipped, skipped_bytes;
} caps;

static uint64_t fnv(const uint8_t *p, size_t n) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (size_t i = 0; i < n; i++) {
    h = (h ^ p[i]) * 0x100000001b3ull;
  }
  return h;
}

static int is_fc(uint64_t t) {
  return t == WT_CAPSULE_MAX_DATA || t == WT_CAPSULE_MAX_STREAMS_BIDI ||
         t == WT_CAPSULE_MAX_STREAMS_UNI || t == WT_CAPSULE_DATA_BLOCKED ||
         t == WT_CAPSULE_STREAMS_BLOCKED_BIDI || t == WT_CAPSULE_STREAMS_BLOCKED_UNI;
}

static void check_close_roundtrip(const wt_capsule *c) {
  uint32_t code;
  const uint8_t *reason;
  size_t rlen;
  int rv = wt_capsule_close_decode(c, &code, &reason, &rlen);
  FUZZ_CHECK(rv == 0 || rv == WT_ERR_MALFORMED);
  if (rv != 0) {
    return;
  }
  FUZZ_CHECK(rlen + 4 == c->len && reason == c->value + 4);
  static uint8_t enc[WT_CAPSULE_CLOSE_ENCODED_MAX];
  int n = wt_capsule_close_encode(enc, sizeof(enc), code, reason, rlen);
  FUZZ_CHECK(n > 0);
  /* Too small a buffer is refused without writing. */
  FUZZ_CHECK(wt_capsule_close_encode(enc, (size_t)n - 1, code, reason, rlen) == WT_ERR_NOBUF);
  wt_capsule_parser p;
  wt_capsule_parser_init(&p);
  wt_capsule back;
  size_t used = 0;
  FUZZ_CHECK(wt_capsule_parser_feed(&p, enc, (size_t)n, &used, &back) == 1);
  FUZZ_CHECK(used == (size_t)n && wt_capsule_parser_at_boundary(&p));
  FUZZ_CHECK(back.type == WT_CAPSULE_CLOSE_SESSION && back.len == c->len);
  FUZZ_CHECK(memcmp(back.value, c->value, c->len) == 0);
}

static void record(caps *out, const wt_capsule *c) {
  FUZZ_CHECK(c->value != NULL);
  if (c->type == WT_CAPSULE_CLOSE_SESSION) {
    FUZZ_CHECK(c->len <= WT_CAPSULE_VALUE_MAX);
    check_close_roundtrip(c);
  } else if (c->type == WT_CAPSULE_DRAIN_SESSION) {
    FUZZ_CHECK(c->len == 0);
  } else {
    FUZZ_CHECK(is_fc(c->type) && c->len <= 8);
    uint64_t v;
    int rv = wt_capsule_fc_decode(c, &v);
    int want = c->len > 0 && wt_varint_len_from_first(c->value[0]) == c->len;
    FUZZ_CHECK((rv == 0) == want);
    if (rv == 0) {
      FUZZ_CHECK(v <= WT_VARINT_MAX);
      /* the encoder gives a capsule that parses back to the same value */
      uint8_t enc[WT_CAPSULE_FC_ENCODED_MAX];
      int en = wt_capsule_fc_encode(enc, sizeof(enc), c->type, v);
      FUZZ_CHECK(en > 0);
      wt_capsule_parser p2;
      wt_capsule_parser_init(&p2);
      wt_capsule_parser_set_flow_control(&p2, 1);
      size_t used;
      wt_capsule c2;
      uint64_t v2;
      FUZZ_CHECK(wt_capsule_parser_feed(&p2, enc, (size_t)en, &used, &c2) == 1);
      FUZZ_CHECK(used == (size_t)en && c2.type == c->type);
      FUZZ_CHECK(wt_capsule_fc_decode(&c2, &v2) == 0 && v2 == v);
    }
  }
  if (out->n < MAX_CAPS) {
    out->type[out->n] = c->type;
    out->len[out->n] = c->len;
    out->hash[out->n] = fnv(c->value, c->len);
  }
  out->n++;
}

/* Feed data in chunks (chunk sizes from r, or everything at once if r is
 * NULL), collecting the capsules. */
static void run(caps *out, int fc, const uint8_t *data, size_t len, fuzz_split *r) {
  wt_capsule_parser p;
  wt_capsule_parser_init(&p);
  wt_capsule_parser_set_flow_control(&p, fc);
  memset(out, 0, sizeof(*out));
  size_t off = 0;
  while (off < len || (r == NULL && off == 0)) {
    size_t chunk = r ? fuzz_split_len(r, len - off) : len;
    const uint8_t *d = data + off;
    size_t left = chunk;
    for (;;) {
      size_t used = 0;
      wt_capsule c;
      int rv = wt_capsule_parser_feed(&p, left ? d : NULL, left, &used, &c);
      FUZZ_CHECK(used <= left);
      if (rv == 1) {
        record(out, &c);
        d += used;
        left -= used;
        continue;
      }
      if (rv == 0) {
        FUZZ_CHECK(used == left);
      } else {
        FUZZ_CHECK(rv == WT_ERR_MALFORMED);
        out->err = rv;
        /* Sticky. */
        size_t u2;
        FUZZ_CHECK(wt_capsule_parser_feed(&p, NULL, 0, &u2, &c) == WT_ERR_MALFORMED);
      }
      break;
    }
    off += chunk;
    if (out->err || r == NULL) {
      break;
    }
  }
  out->boundary = wt_capsule_parser_at_boundary(&p);
  out->skipped = p.skipped;
  out->skipped_bytes = p.skipped_bytes;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) {
    return 0;
  }
  int fc = data[0] & 1;
  size_t seedlen = size - 1 < 8 ? size - 1 : 8;
  fuzz_split r;
  fuzz_split_init(&r, data + 1, seedlen);
  const uint8_t *payload = data + 1 + seedlen;
  size_t plen = size - 1 - seedlen;

  static caps whole, split;
  run(&whole, fc, payload, plen, NULL);
  run(&split, fc, payload, plen, &r);
  FUZZ_CHECK(whole.err == split.err);
  FUZZ_CHECK(whole.n == split.n);
  size_t n = whole.n < MAX_CAPS ? whole.n : MAX_CAPS;
  for (size_t i = 0; i < n; i++) {
    FUZZ_CHECK(whole.type[i] == split.type[i]);
    FUZZ_CHECK(whole.len[i] == split.len[i]);
    FUZZ_CHECK(whole.hash[i] == split.hash[i]);
  }
  if (!whole.err) {
    FUZZ_CHECK(whole.boundary == split.boundary);
    FUZZ_CHECK(whole.skipped == split.skipped);
    FUZZ_CHECK(whole.skipped_bytes == split.skipped_bytes);
  }
  return 0;
}
