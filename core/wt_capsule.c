/* wt_capsule.c: streaming capsule parser and capsule encoders
 * (RFC 9297 section 3.2, draft-ietf-webtrans-http3-16). */
#include "wt_capsule.h"

#include <limits.h>
#include <string.h>

#include "wt_error.h"
#include "wt_utf8.h"
#include "wt_varint.h"

enum {
  ST_TYPE,  /* reading the Type varint */
  ST_LEN,   /* reading the Length varint */
  ST_VALUE, /* buffering the value of a known capsule */
  ST_SKIP,  /* discarding the value of an unknown capsule */
};

static int is_fc_type(uint64_t type) {
  return type == WT_CAPSULE_MAX_DATA || type == WT_CAPSULE_MAX_STREAMS_BIDI ||
         type == WT_CAPSULE_MAX_STREAMS_UNI || type == WT_CAPSULE_DATA_BLOCKED ||
         type == WT_CAPSULE_STREAMS_BLOCKED_BIDI || type == WT_CAPSULE_STREAMS_BLOCKED_UNI;
}

/* Longest value a known type can carry, or -1 if the type is unknown. */
static int64_t known_max_len(const wt_capsule_parser *p, uint64_t type) {
  if (type == WT_CAPSULE_CLOSE_SESSION) {
    return WT_CAPSULE_VALUE_MAX; /* draft-ietf-webtrans-http3-16 section 6 */
  }
  if (type == WT_CAPSULE_DRAIN_SESSION) {
    return 0; /* section 4.7: Length (i) = 0 */
  }
  if (p->flow_control && is_fc_type(type)) {
    return WT_VARINT_MAXLEN; /* section 5.6: one varint */
  }
  return -1;
}

void wt_capsule_parser_init(wt_capsule_parser *p) {
  memset(p, 0, offsetof(wt_capsule_parser, buf));
  p->state = ST_TYPE;
}

void wt_capsule_parser_set_flow_control(wt_capsule_parser *p, int on) {
  p->flow_control = on != 0;
}

int wt_capsule_parser_at_boundary(const wt_capsule_parser *p) {
  return p->state == ST_TYPE && p->vacc.n == 0;
}

static int emit(wt_capsule_parser *p, const uint8_t *value, wt_capsule *out) {
  out->type = p->type;
  out->value = value;
  out->len = (size_t)p->len;
  p->state = ST_TYPE;
  return 1;
}

int wt_capsule_parser_feed(wt_capsule_parser *p, const uint8_t *data, size_t len, size_t *consumed,
                           wt_capsule *out) {
  size_t off = 0, used;
  *consumed = 0;
  if (p->err) {
    return p->err;
  }
  while (off < len || p->state == ST_VALUE) {
    switch (p->state) {
    case ST_TYPE:
      if (!wt_varint_feed(&p->vacc, data + off, len - off, &used, &p->type)) {
        off += used;
        goto need_more;
      }
      off += used;
      p->state = ST_LEN;
      break;
    case ST_LEN: {
      if (!wt_varint_feed(&p->vacc, data + off, len - off, &used, &p->len)) {
        off += used;
        goto need_more;
      }
      off += used;
      int64_t max = known_max_len(p, p->type);
      if (max < 0) {
        /* RFC 9297 section 3.2: unknown capsule types (GREASE included,
         * section 5.4) are silently dropped; never buffer them. */
        p->remaining = p->len;
        p->state = ST_SKIP;
        if (p->remaining == 0) {
          p->skipped++;
          p->state = ST_TYPE;
        }
        break;
      }
      if (p->len > (uint64_t)max) {
        /* RFC 9297 section 3.3: a malformed capsule makes the HTTP message
         * malformed (H3_MESSAGE_ERROR, RFC 9114 section 4.1.2). */
        *consumed = off;
        p->err = WT_ERR_MALFORMED;
        return p->err;
      }
      p->have = 0;
      p->state = ST_VALUE;
      break;
    }
    case ST_VALUE: {
      size_t want = (size_t)p->len - p->have;
      if (p->have == 0 && len - off >= want) {
        /* The whole value is in data: hand it out without a copy. */
        *consumed = off + want;
        return emit(p, want ? data + off : p->buf, out);
      }
      if (off == len) {
        goto need_more;
      }
      size_t take = len - off < want ? len - off : want;
      memcpy(p->buf + p->have, data + off, take);
      p->have += take;
      off += take;
      if (p->have == (size_t)p->len) {
        *consumed = off;
        return emit(p, p->buf, out);
      }
      goto need_more;
    }
    case ST_SKIP: {
      uint64_t take = len - off < p->remaining ? len - off : p->remaining;
      p->remaining -= take;
      p->skipped_bytes += take;
      off += (size_t)take;
      if (p->remaining == 0) {
        p->skipped++;
        p->state = ST_TYPE;
      }
      break;
    }
    default:
      /* Unreachable: the four states above are the only ones assigned. */
      p->err = WT_ERR_INTERNAL;
      return p->err;
    }
  }
need_more:
  *consumed = off;
  return 0;
}

int wt_capsule_close_decode(const wt_capsule *c, uint32_t *code, const uint8_t **reason,
                            size_t *reason_len) {
  if (c->type != WT_CAPSULE_CLOSE_SESSION) {
    return WT_ERR_INVAL;
  }
  /* draft-ietf-webtrans-http3-16 section 6: a 32-bit code, then a message of
   * at most 1024 bytes of valid UTF-8, else H3_MESSAGE_ERROR. */
  if (c->len < 4 || c->len - 4 > WT_CLOSE_REASON_MAX) {
    return WT_ERR_MALFORMED;
  }
  const uint8_t *v = c->value;
  if (!wt_utf8_valid(v + 4, c->len - 4)) {
    return WT_ERR_MALFORMED;
  }
  *code = (uint32_t)v[0] << 24 | (uint32_t)v[1] << 16 | (uint32_t)v[2] << 8 | v[3];
  *reason = v + 4;
  *reason_len = c->len - 4;
  return 0;
}

int wt_capsule_fc_decode(const wt_capsule *c, uint64_t *value) {
  uint64_t v;
  int n = wt_varint_decode(c->value, c->len, &v);
  /* draft-ietf-webtrans-http3-16 section 5.6: the value is exactly one
   * varint; a shorter or longer capsule is malformed. */
  if (n < 0 || (size_t)n != c->len) {
    return WT_ERR_MALFORMED;
  }
  *value = v;
  return 0;
}

int wt_capsule_encode_header(uint8_t *buf, size_t cap, uint64_t type, uint64_t len) {
  size_t tl = wt_varint_len(type), ll = wt_varint_len(len);
  if (tl == 0 || ll == 0) {
    return WT_ERR_RANGE;
  }
  if (cap < tl + ll) {
    return WT_ERR_NOBUF;
  }
  wt_varint_put(wt_varint_put(buf, type), len);
  return (int)(tl + ll);
}

int wt_capsule_encode(uint8_t *buf, size_t cap, uint64_t type, const uint8_t *val, size_t len) {
  size_t tl = wt_varint_len(type), ll = wt_varint_len(len);
  if (tl == 0 || ll == 0 || len > (size_t)INT_MAX - tl - ll) {
    return WT_ERR_RANGE;
  }
  size_t total = tl + ll + len;
  if (cap < total) {
    return WT_ERR_NOBUF;
  }
  uint8_t *q = wt_varint_put(wt_varint_put(buf, type), len);
  if (len) {
    memcpy(q, val, len);
  }
  return (int)total;
}

int wt_capsule_close_encode(uint8_t *buf, size_t cap, uint32_t code, const uint8_t *reason,
                            size_t reason_len) {
  /* draft-ietf-webtrans-http3-16 section 6: the message is at most 1024
   * bytes of UTF-8; refuse rather than truncate (truncating is the
   * application's call, at a character boundary). */
  if (reason_len > WT_CLOSE_REASON_MAX || (reason_len && !wt_utf8_valid(reason, reason_len))) {
    return WT_ERR_RANGE;
  }
  size_t len = 4 + reason_len;
  size_t hl = wt_varint_len(WT_CAPSULE_CLOSE_SESSION) + wt_varint_len(len);
  if (cap < hl + len) {
    return WT_ERR_NOBUF;
  }
  uint8_t *q = wt_varint_put(wt_varint_put(buf, WT_CAPSULE_CLOSE_SESSION), len);
  q[0] = (uint8_t)(code >> 24);
  q[1] = (uint8_t)(code >> 16);
  q[2] = (uint8_t)(code >> 8);
  q[3] = (uint8_t)code;
  if (reason_len) {
    memcpy(q + 4, reason, reason_len);
  }
  return (int)(hl + len);
}

int wt_capsule_drain_encode(uint8_t *buf, size_t cap) {
  return wt_capsule_encode(buf, cap, WT_CAPSULE_DRAIN_SESSION, NULL, 0);
}

int wt_capsule_fc_encode(uint8_t *buf, size_t cap, uint64_t type, uint64_t value) {
  switch (type) {
  case WT_CAPSULE_MAX_DATA:
  case WT_CAPSULE_MAX_STREAMS_BIDI:
  case WT_CAPSULE_MAX_STREAMS_UNI:
  case WT_CAPSULE_DATA_BLOCKED:
  case WT_CAPSULE_STREAMS_BLOCKED_BIDI:
  case WT_CAPSULE_STREAMS_BLOCKED_UNI:
    break;
  default:
    return WT_ERR_INVAL;
  }
  size_t vl = wt_varint_len(value);
  if (vl == 0) {
    return WT_ERR_RANGE;
  }
  uint8_t v[WT_VARINT_MAXLEN];
  wt_varint_put(v, value);
  return wt_capsule_encode(buf, cap, type, v, vl);
}
