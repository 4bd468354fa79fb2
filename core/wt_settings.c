/* wt_settings.c: WebTransport SETTINGS, our control-stream rewriter and the
 * peer control-stream reader (RFC 9114 sections 6.2.1, 7.1, 7.2.4). */
#include "wt_settings.h"

#include <string.h>

#include "wt_engine.h"
#include "wt_error.h"
#include "wt_varint.h"

int wt_setting_is_grease(uint64_t id) {
  /* RFC 9114 section 7.2.4.1: 0x1f * N + 0x21 is reserved, to be ignored. */
  return id >= 0x21 && (id - 0x21) % 0x1f == 0;
}

int wt_settings_profile_offers_fc(int profile) {
  return profile == WT_PROFILE_COMPAT || profile == WT_PROFILE_DRAFT14 ||
         profile == WT_PROFILE_DRAFT16;
}

/* A setting's value is a varint (RFC 9114 section 7.2.4.1): larger ones
 * are sent as the largest varint instead of being dropped. */
static uint64_t clamp_varint(uint64_t v) {
  return v > WT_VARINT_MAX ? WT_VARINT_MAX : v;
}

size_t wt_settings_profile(const wt_settings_params *p, wt_setting *out, size_t cap) {
  wt_setting all[WT_SETTINGS_PROFILE_MAX];
  size_t n = 0;
  int pr = p->profile;
  if (pr != WT_PROFILE_DRAFT02 && pr != WT_PROFILE_DRAFT07 && pr != WT_PROFILE_DRAFT14 &&
      pr != WT_PROFILE_DRAFT16) {
    pr = WT_PROFILE_COMPAT;
  }
  int compat = pr == WT_PROFILE_COMPAT;
  uint64_t ms = p->max_sessions ? clamp_varint(p->max_sessions) : 1;
  uint64_t md = clamp_varint(p->initial_max_data);
  uint64_t mb = clamp_varint(p->initial_max_streams_bidi);
  uint64_t mu = clamp_varint(p->initial_max_streams_uni);
  if (pr != WT_PROFILE_DRAFT14 && pr != WT_PROFILE_DRAFT16) {
    all[n++] = (wt_setting){WT_SETTING_H3_DATAGRAM_OLD, 1}; /* pre-RFC 9297 stacks */
  }
  if (compat || pr == WT_PROFILE_DRAFT02) {
    /* Exactly 1: Chromium, Firefox, Deno, aioquic and wtransport require it
     * (docs/protocol.md section 2). */
    all[n++] = (wt_setting){WT_SETTING_ENABLE_WEBTRANSPORT, 1};
  }
  if (compat || pr == WT_PROFILE_DRAFT07) {
    all[n++] = (wt_setting){WT_SETTING_WEBTRANSPORT_MAX_SESSIONS, ms};
  }
  if (compat || pr == WT_PROFILE_DRAFT14) {
    all[n++] = (wt_setting){WT_SETTING_WT_MAX_SESSIONS, ms};
  }
  if (compat || pr == WT_PROFILE_DRAFT16) {
    /* draft-ietf-webtrans-http3-16 section 9.2: 0 or 1 only. */
    all[n++] = (wt_setting){WT_SETTING_WT_ENABLED, 1};
  }
  if (wt_settings_profile_offers_fc(pr) && (md | mb | mu) != 0) {
    all[n++] = (wt_setting){WT_SETTING_WT_INITIAL_MAX_DATA, md};
    all[n++] = (wt_setting){WT_SETTING_WT_INITIAL_MAX_STREAMS_UNI, mu};
    all[n++] = (wt_setting){WT_SETTING_WT_INITIAL_MAX_STREAMS_BIDI, mb};
  }
  size_t k = cap < n ? cap : n;
  for (size_t i = 0; i < k; i++) {
    out[i] = all[i];
  }
  return k;
}

/* ------------------------------------------------------------------ dialect */

int wt_dialect_detect(const struct wt_ctrl_reader *rd, const char *protocol) {
  uint64_t v = 0;
  if (rd && wt_ctrl_reader_get(rd, WT_SETTING_WT_ENABLED, &v) && v == 1) {
    return WT_DIALECT_16;
  }
  if (protocol && strcmp(protocol, "webtransport-h3") == 0) {
    return WT_DIALECT_16; /* the token of drafts 15+ (section 3.2) */
  }
  if (rd && wt_ctrl_reader_get(rd, WT_SETTING_WT_MAX_SESSIONS, &v)) {
    return WT_DIALECT_14;
  }
  if (rd && wt_ctrl_reader_get(rd, WT_SETTING_WEBTRANSPORT_MAX_SESSIONS, &v)) {
    return WT_DIALECT_07;
  }
  return WT_DIALECT_02; /* 0x2b603742, or nothing: what Chromium's default speaks */
}

int wt_settings_fc_negotiated(const struct wt_ctrl_reader *rd, int we_offer) {
  static const uint64_t ids[3] = {WT_SETTING_WT_INITIAL_MAX_DATA,
                                  WT_SETTING_WT_INITIAL_MAX_STREAMS_UNI,
                                  WT_SETTING_WT_INITIAL_MAX_STREAMS_BIDI};
  if (!we_offer || rd == NULL) {
    return 0;
  }
  for (size_t i = 0; i < 3; i++) {
    uint64_t v = 0;
    if (wt_ctrl_reader_get(rd, ids[i], &v) && v != 0) {
      return 1;
    }
  }
  return 0;
}

uint64_t wt_settings_check_peer(const struct wt_ctrl_reader *rd) {
  uint64_t v = 0;
  /* draft-ietf-webtrans-http3-16 section 9.2: SETTINGS_WT_ENABLED is 0 or 1;
   * any other value is a connection error of type H3_SETTINGS_ERROR. */
  if (wt_ctrl_reader_get(rd, WT_SETTING_WT_ENABLED, &v) && v > 1) {
    return WT_H3_SETTINGS_ERROR;
  }
  return 0;
}

/* ------------------------------------------------------------------ rewriter */

enum {
  RW_BUFFERING = 0, /* collecting the stream type and first SETTINGS frame */
  RW_PASS = 1,      /* SETTINGS rewritten: copy bytes through */
};

void wt_ctrl_rewriter_init(wt_ctrl_rewriter *r, const wt_setting *extra, size_t n_extra) {
  memset(r, 0, offsetof(wt_ctrl_rewriter, buf));
  r->state = RW_BUFFERING;
  for (size_t i = 0; i < n_extra && r->n_extra < WT_CTRL_EXTRA_MAX; i++) {
    if (extra[i].id > WT_VARINT_MAX || extra[i].value > WT_VARINT_MAX) {
      continue;
    }
    int dup = 0;
    for (size_t k = 0; k < r->n_extra; k++) {
      dup |= r->extra[k].id == extra[i].id;
    }
    if (!dup) {
      r->extra[r->n_extra++] = extra[i];
    }
  }
}

int wt_ctrl_rewriter_done(const wt_ctrl_rewriter *r) {
  return r->state == RW_PASS;
}

/* Walk a SETTINGS payload; set bit k of *present when extra[k].id occurs.
 * Returns 0, or WT_ERR_MALFORMED if the payload is not a whole number of
 * id/value varint pairs (RFC 9114 section 7.1: H3_FRAME_ERROR). */
static int scan_payload(const wt_ctrl_rewriter *r, const uint8_t *p, size_t len,
                        uint32_t *present) {
  size_t off = 0;
  *present = 0;
  while (off < len) {
    uint64_t id, value;
    int a = wt_varint_decode(p + off, len - off, &id);
    if (a < 0) {
      return WT_ERR_MALFORMED;
    }
    off += (size_t)a;
    int b = wt_varint_decode(p + off, len - off, &value);
    if (b < 0) {
      return WT_ERR_MALFORMED;
    }
    off += (size_t)b;
    for (size_t k = 0; k < r->n_extra; k++) {
      if (r->extra[k].id == id) {
        *present |= UINT32_C(1) << k;
      }
    }
  }
  return 0;
}

static int rewriter_fail(wt_ctrl_rewriter *r, int err) {
  r->state = err;
  return err;
}

int wt_ctrl_rewriter_feed(wt_ctrl_rewriter *r, const uint8_t *in, size_t inlen, uint8_t *out,
                          size_t outcap, size_t *outlen) {
  *outlen = 0;
  if (r->state < 0) {
    return r->state;
  }
  if (r->state == RW_PASS) {
    if (inlen > outcap) {
      *outlen = inlen;
      return WT_ERR_NOBUF;
    }
    if (inlen) {
      memcpy(out, in, inlen);
    }
    *outlen = inlen;
    return 0;
  }

  /* Append tentatively; a NOBUF below rolls nbuf back to prev. When the frame
   * is still incomplete, all of in fits (the frame is at most the buffer). */
  size_t prev = r->nbuf;
  size_t take = WT_CTRL_SETTINGS_MAX - prev < inlen ? WT_CTRL_SETTINGS_MAX - prev : inlen;
  if (take) {
    memcpy(r->buf + prev, in, take);
  }
  r->nbuf = prev + take;

  uint64_t stype, ftype, flen;
  int a = wt_varint_decode(r->buf, r->nbuf, &stype);
  if (a < 0) {
    return 0;
  }
  /* RFC 9114 section 6.2.1: the control stream is type 0x00. */
  if (stype != WT_H3_STREAM_CONTROL) {
    return rewriter_fail(r, WT_ERR_MALFORMED);
  }
  int b = wt_varint_decode(r->buf + a, r->nbuf - (size_t)a, &ftype);
  if (b < 0) {
    return 0;
  }
  /* RFC 9114 section 6.2.1: its first frame is SETTINGS. */
  if (ftype != WT_H3_FRAME_SETTINGS) {
    return rewriter_fail(r, WT_ERR_MALFORMED);
  }
  int c = wt_varint_decode(r->buf + a + b, r->nbuf - (size_t)(a + b), &flen);
  if (c < 0) {
    return 0;
  }
  size_t hdr = (size_t)(a + b + c);
  if (flen > WT_CTRL_SETTINGS_MAX - hdr) {
    return rewriter_fail(r, WT_ERR_LIMIT);
  }
  size_t total = hdr + (size_t)flen;
  if (r->nbuf < total) {
    return 0; /* all of in is buffered */
  }

  const uint8_t *payload = r->buf + hdr;
  uint32_t present;
  if (scan_payload(r, payload, (size_t)flen, &present) < 0) {
    return rewriter_fail(r, WT_ERR_MALFORMED);
  }
  /* Append only ids nghttp3 did not write: RFC 9114 section 7.2.4 forbids a
   * repeated setting id. */
  size_t add = 0;
  for (size_t k = 0; k < r->n_extra; k++) {
    if (!(present & (UINT32_C(1) << k))) {
      add += wt_varint_len(r->extra[k].id) + wt_varint_len(r->extra[k].value);
    }
  }
  uint64_t newlen = flen + add;
  size_t rest = inlen - (total - prev); /* bytes of in after the frame */
  size_t need = (size_t)(a + b) + wt_varint_len(newlen) + (size_t)newlen + rest;
  if (need > outcap) {
    r->nbuf = prev;
    *outlen = need;
    return WT_ERR_NOBUF;
  }

  uint8_t *q = out;
  memcpy(q, r->buf, (size_t)(a + b)); /* stream type and frame type, as written */
  q += a + b;
  q = wt_varint_put(q, newlen);
  memcpy(q, payload, (size_t)flen);
  q += flen;
  for (size_t k = 0; k < r->n_extra; k++) {
    if (!(present & (UINT32_C(1) << k))) {
      q = wt_varint_put(q, r->extra[k].id);
      q = wt_varint_put(q, r->extra[k].value);
    }
  }
  if (rest) {
    memcpy(q, in + (total - prev), rest);
    q += rest;
  }
  *outlen = (size_t)(q - out);
  r->nbuf = 0;
  r->state = RW_PASS;
  return 0;
}

/* ------------------------------------------------------------------- reader */

enum {
  RD_STREAM_TYPE,
  RD_FRAME_TYPE,
  RD_FRAME_LEN,
  RD_ID,
  RD_VALUE,
  RD_DONE,
};

void wt_ctrl_reader_init(wt_ctrl_reader *r, size_t max_settings_len) {
  memset(r, 0, sizeof(*r));
  r->state = RD_STREAM_TYPE;
  r->h3_error = WT_H3_NO_ERROR;
  r->max_len = max_settings_len ? max_settings_len : WT_CTRL_READER_DEFAULT_MAX;
}

int wt_ctrl_reader_get(const wt_ctrl_reader *r, uint64_t id, uint64_t *value) {
  for (size_t i = 0; i < r->n; i++) {
    if (r->settings[i].id == id) {
      *value = r->settings[i].value;
      return 1;
    }
  }
  return 0;
}

uint64_t wt_ctrl_reader_h3_error(const wt_ctrl_reader *r) {
  return r->h3_error;
}

static int reader_fail(wt_ctrl_reader *r, int err, uint64_t h3) {
  r->err = err;
  r->h3_error = h3;
  return err;
}

/* Take one varint from in[*off..len) (it may continue one begun in an
 * earlier call). Returns 1 with *v set when complete, 0 when in ran out. */
static int reader_varint(wt_ctrl_reader *r, const uint8_t *in, size_t len, size_t *off,
                         uint64_t *v) {
  size_t used;
  int done = wt_varint_feed(&r->acc, in + *off, len - *off, &used, v);
  *off += used;
  return done;
}

/* Record one setting (RFC 9114 section 7.2.4). Returns 0 or an error. */
static int reader_store(wt_ctrl_reader *r, uint64_t id, uint64_t value) {
  /* Section 7.2.4.1: HTTP/2-only ids 0x02..0x05 are H3_SETTINGS_ERROR. */
  if (id >= 0x02 && id <= 0x05) {
    return reader_fail(r, WT_ERR_MALFORMED, WT_H3_SETTINGS_ERROR);
  }
  /* Section 7.2.4.1: reserved (GREASE) ids carry no meaning: ignore. */
  if (wt_setting_is_grease(id)) {
    r->n_grease++;
    return 0;
  }
  for (size_t i = 0; i < r->n; i++) {
    /* Section 7.2.4: the same id MUST NOT occur twice: H3_SETTINGS_ERROR. */
    if (r->settings[i].id == id) {
      return reader_fail(r, WT_ERR_MALFORMED, WT_H3_SETTINGS_ERROR);
    }
  }
  if (r->n < WT_CTRL_READER_SETTINGS) {
    r->settings[r->n].id = id;
    r->settings[r->n].value = value;
    r->n++;
  } else {
    r->n_dropped++;
  }
  return 0;
}

int wt_ctrl_reader_feed(wt_ctrl_reader *r, const uint8_t *in, size_t inlen) {
  size_t off = 0;
  uint64_t v;
  if (r->err) {
    return r->err;
  }
  while (r->state != RD_DONE && off < inlen) {
    if (r->state >= RD_ID && r->acc.n == 0 && wt_varint_len_from_first(in[off]) > r->remaining) {
      /* RFC 9114 section 7.1: a field overrunning the frame is
       * H3_FRAME_ERROR. */
      return reader_fail(r, WT_ERR_MALFORMED, WT_H3_FRAME_ERROR);
    }
    size_t before = off;
    int done = reader_varint(r, in, inlen, &off, &v);
    if (r->state >= RD_ID) {
      r->remaining -= off - before;
    }
    if (!done) {
      break;
    }
    switch (r->state) {
    case RD_STREAM_TYPE:
      /* Section 6.2.1: only the control stream (type 0x00) is observed. */
      if (v != WT_H3_STREAM_CONTROL) {
        return reader_fail(r, WT_ERR_MALFORMED, WT_H3_STREAM_CREATION_ERROR);
      }
      r->state = RD_FRAME_TYPE;
      break;
    case RD_FRAME_TYPE:
      /* Section 6.2.1: the first frame must be SETTINGS, else
       * H3_MISSING_SETTINGS. */
      if (v != WT_H3_FRAME_SETTINGS) {
        return reader_fail(r, WT_ERR_MALFORMED, WT_H3_MISSING_SETTINGS);
      }
      r->state = RD_FRAME_LEN;
      break;
    case RD_FRAME_LEN:
      if (v > r->max_len) {
        return reader_fail(r, WT_ERR_LIMIT, WT_H3_EXCESSIVE_LOAD);
      }
      r->remaining = v;
      r->state = v ? RD_ID : RD_DONE;
      break;
    case RD_ID:
      if (r->remaining == 0) {
        /* Section 7.1: the value is missing, the frame ends early. */
        return reader_fail(r, WT_ERR_MALFORMED, WT_H3_FRAME_ERROR);
      }
      r->cur_id = v;
      r->state = RD_VALUE;
      break;
    case RD_VALUE:
      if (reader_store(r, r->cur_id, v) < 0) {
        return r->err;
      }
      r->state = r->remaining ? RD_ID : RD_DONE;
      break;
    default:
      /* Unreachable: RD_DONE exits the loop; no other state is assigned. */
      return reader_fail(r, WT_ERR_INTERNAL, WT_H3_INTERNAL_ERROR);
    }
  }
  return r->state == RD_DONE ? 1 : 0;
}
