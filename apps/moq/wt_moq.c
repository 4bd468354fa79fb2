/* wt_moq.c: the moq-lite wire codec (see wt_moq.h; the message table is in
 * docs/protocol.md, section "MoQ"). */
#include "wt_moq.h"

#include <string.h>

#include "wt_error.h"
#include "wt_utf8.h"
#include "wt_varint.h"

int wt_moq_version_from_protocol(const char *proto, size_t len) {
  if (proto && len == 11 && !memcmp(proto, "moq-lite-03", 11)) {
    return WT_MOQ_LITE_03;
  }
  if (proto && len == 11 && !memcmp(proto, "moq-lite-04", 11)) {
    return WT_MOQ_LITE_04;
  }
  if (proto && len == 11 && !memcmp(proto, "moq-lite-05", 11)) {
    return WT_MOQ_LITE_05;
  }
  return WT_ERR_UNSUPPORTED;
}

static int version_ok(int v) {
  return v == WT_MOQ_LITE_03 || v == WT_MOQ_LITE_04 || v == WT_MOQ_LITE_05;
}

/* Whether message type t exists in version (0: WT_ERR_UNSUPPORTED). */
static int type_in(wt_moq_type t, int version) {
  switch (t) {
  case WT_MOQ_GOAWAY:
    return version >= WT_MOQ_LITE_04;
  case WT_MOQ_SUBSCRIBE_OK:
    return version < WT_MOQ_LITE_05; /* -05: implicit, TRACK_INFO + START */
  case WT_MOQ_SETUP:
  case WT_MOQ_ANNOUNCE_OK:
  case WT_MOQ_TRACK:
  case WT_MOQ_TRACK_INFO:
  case WT_MOQ_SUBSCRIBE_START:
  case WT_MOQ_SUBSCRIBE_END:
    return version >= WT_MOQ_LITE_05;
  default:
    return 1;
  }
}

wt_moq_type wt_moq_next(int version, uint64_t kind, int opener, uint64_t n) {
  if (!version_ok(version)) {
    return WT_MOQ_NONE;
  }
  switch (kind) {
  case WT_MOQ_KIND_ANNOUNCE:
    if (opener) {
      return n == 0 ? WT_MOQ_ANNOUNCE_PLEASE : WT_MOQ_NONE;
    }
    return version >= WT_MOQ_LITE_05 && n == 0 ? WT_MOQ_ANNOUNCE_OK : WT_MOQ_ANNOUNCE;
  case WT_MOQ_KIND_SUBSCRIBE:
    return opener ? (n == 0 ? WT_MOQ_SUBSCRIBE : WT_MOQ_SUBSCRIBE_UPDATE)
                  : WT_MOQ_SUBSCRIBE_RESPONSE;
  case WT_MOQ_KIND_FETCH:
    return opener && n == 0 ? WT_MOQ_FETCH : WT_MOQ_NONE;
  case WT_MOQ_KIND_PROBE:
    return opener ? WT_MOQ_NONE : WT_MOQ_PROBE;
  case WT_MOQ_KIND_GOAWAY:
    return version >= WT_MOQ_LITE_04 && opener && n == 0 ? WT_MOQ_GOAWAY : WT_MOQ_NONE;
  case WT_MOQ_KIND_TRACK:
    if (version < WT_MOQ_LITE_05 || n) {
      return WT_MOQ_NONE;
    }
    return opener ? WT_MOQ_TRACK : WT_MOQ_TRACK_INFO;
  default:
    return WT_MOQ_NONE; /* SESSION (-01/-02), unknown */
  }
}

/* Number of '/'-separated non-empty parts: the reference client folds
 * repeated, leading and trailing slashes, so "a//b/" has 2 parts. */
static size_t path_parts(const uint8_t *p, size_t len) {
  size_t n = 0;
  for (size_t i = 0; i < len; i++) {
    if (p[i] != '/' && (i == 0 || p[i - 1] == '/')) {
      n++;
    }
  }
  return n;
}

/* 0 if s may be sent as a path (is_path) or a name; else the reason. */
static const char *str_check(const uint8_t *p, size_t len, int is_path) {
  if (len > (is_path ? WT_MOQ_MAX_PATH : WT_MOQ_MAX_NAME)) {
    return is_path ? "path too long" : "name too long";
  }
  if (!wt_utf8_valid(p, len)) {
    return is_path ? "path is not UTF-8" : "name is not UTF-8";
  }
  if (is_path && path_parts(p, len) > WT_MOQ_MAX_PARTS) {
    return "path has too many parts";
  }
  return NULL;
}

/* ------------------------------------------------------------- encoding */

typedef struct wr {
  uint8_t *p;
  size_t n, cap;
  int err; /* first error */
} wr;

static void put_vi(wr *w, uint64_t v) {
  if (w->err) {
    return;
  }
  int rv = wt_varint_encode(w->p + w->n, w->cap - w->n, v);
  if (rv < 0) {
    w->err = rv == WT_ERR_RANGE ? WT_ERR_INVAL : rv;
    return;
  }
  w->n += (size_t)rv;
}

static void put_u53(wr *w, uint64_t v) {
  if (!w->err && v > WT_MOQ_MAX_U53) {
    w->err = WT_ERR_INVAL;
  }
  put_vi(w, v);
}

static void put_u8(wr *w, uint8_t b) {
  if (w->err) {
    return;
  }
  if (w->n >= w->cap) {
    w->err = WT_ERR_NOBUF;
    return;
  }
  w->p[w->n++] = b;
}

static void put_bool(wr *w, uint8_t b) {
  if (!w->err && b > 1) {
    w->err = WT_ERR_INVAL;
  }
  put_u8(w, b);
}

static void put_str(wr *w, wt_moq_str s, int is_path) {
  if (!w->err && ((s.len && !s.p) || str_check(s.p, s.len, is_path))) {
    w->err = WT_ERR_INVAL;
  }
  put_vi(w, s.len);
  if (w->err) {
    return;
  }
  if (w->cap - w->n < s.len) {
    w->err = WT_ERR_NOBUF;
    return;
  }
  if (s.len) {
    memcpy(w->p + w->n, s.p, s.len);
  }
  w->n += s.len;
}

/* start/end group: group + 1, 0 = none */
static void put_group_opt(wr *w, uint8_t has, uint64_t g) {
  if (!w->err && has && g >= WT_MOQ_MAX_U53) {
    w->err = WT_ERR_INVAL;
  }
  put_u53(w, has ? g + 1 : 0);
}

static void put_params(wr *w, const wt_moq_sub_params *s) {
  put_u8(w, s->priority);
  put_bool(w, s->ordered);
  put_u53(w, s->max_latency);
  put_group_opt(w, s->has_start, s->start_group);
  put_group_opt(w, s->has_end, s->end_group);
}

/* One SETUP parameter holding a varint (omitted when 0, the default). */
static void put_param_vi(wr *w, uint64_t id, uint64_t v) {
  if (!v) {
    return;
  }
  put_vi(w, id);
  put_vi(w, (uint64_t)wt_varint_len(v));
  put_vi(w, v);
}

/* The body of m into w; 0 or a negative code. */
static int encode_body(const wt_moq_msg *m, int version, wr *w) {
  if (!type_in(m->type, version)) {
    return WT_ERR_UNSUPPORTED;
  }
  switch (m->type) {
  case WT_MOQ_ANNOUNCE_PLEASE:
    put_str(w, m->u.announce_please.prefix, 1);
    if (version >= WT_MOQ_LITE_04) {
      put_vi(w, m->u.announce_please.exclude_hop);
    }
    break;
  case WT_MOQ_ANNOUNCE:
    if (m->u.announce.status > WT_MOQ_ANNOUNCE_ACTIVE || m->u.announce.n_hops > WT_MOQ_MAX_HOPS) {
      return WT_ERR_INVAL;
    }
    put_u8(w, m->u.announce.status);
    put_str(w, m->u.announce.suffix, 1);
    /* an ended one carries no hops (the client's encoder writes 0) */
    put_vi(w, m->u.announce.status == WT_MOQ_ANNOUNCE_ACTIVE ? m->u.announce.n_hops : 0);
    if (version >= WT_MOQ_LITE_04 && m->u.announce.status == WT_MOQ_ANNOUNCE_ACTIVE) {
      for (uint32_t i = 0; i < m->u.announce.n_hops; i++) {
        put_vi(w, m->u.announce.hops[i]);
      }
    }
    break;
  case WT_MOQ_SUBSCRIBE:
    put_vi(w, m->u.subscribe.id);
    put_str(w, m->u.subscribe.broadcast, 1);
    put_str(w, m->u.subscribe.track, 0);
    put_params(w, &m->u.subscribe.p);
    break;
  case WT_MOQ_SUBSCRIBE_UPDATE:
  case WT_MOQ_SUBSCRIBE_OK:
    put_params(w, &m->u.update);
    break;
  case WT_MOQ_SUBSCRIBE_DROP:
    put_u53(w, m->u.drop.start);
    put_u53(w, m->u.drop.end);
    put_u53(w, m->u.drop.error);
    break;
  case WT_MOQ_FETCH:
    put_str(w, m->u.fetch.broadcast, 1);
    put_str(w, m->u.fetch.track, 0);
    put_u8(w, m->u.fetch.priority);
    put_u53(w, m->u.fetch.group);
    break;
  case WT_MOQ_PROBE:
    put_u53(w, m->u.probe.bitrate);
    if (version >= WT_MOQ_LITE_04) {
      put_u53(w, m->u.probe.rtt);
    }
    break;
  case WT_MOQ_GOAWAY: /* moq-lite-04 added the goaway stream */
    put_str(w, m->u.goaway.uri, 0);
    break;
  case WT_MOQ_GROUP:
    put_vi(w, m->u.group.subscribe);
    put_u53(w, m->u.group.sequence);
    break;
  case WT_MOQ_SETUP: {
    const wt_moq_msg *x = m; /* the path only as read from a peer (a server never sends one) */
    put_vi(w, (uint64_t)(!!x->u.setup.probe + x->u.setup.has_path + !!x->u.setup.role +
                         !!x->u.setup.origin));
    put_param_vi(w, WT_MOQ_PARAM_PROBE, x->u.setup.probe);
    if (x->u.setup.has_path) {
      put_vi(w, WT_MOQ_PARAM_PATH);
      put_str(w, x->u.setup.path, 0); /* length + bytes, as the parameter's */
    }
    put_param_vi(w, WT_MOQ_PARAM_ROLE, x->u.setup.role);
    put_param_vi(w, WT_MOQ_PARAM_ORIGIN, x->u.setup.origin);
    break;
  }
  case WT_MOQ_ANNOUNCE_OK:
    put_vi(w, m->u.announce_ok.origin);
    put_u53(w, m->u.announce_ok.active);
    break;
  case WT_MOQ_TRACK:
    put_str(w, m->u.track.broadcast, 1);
    put_str(w, m->u.track.track, 0);
    break;
  case WT_MOQ_TRACK_INFO:
    if (m->u.track_info.timescale == 0) {
      return WT_ERR_INVAL;
    }
    put_u8(w, m->u.track_info.priority);
    put_bool(w, m->u.track_info.ordered);
    put_u53(w, m->u.track_info.max_latency);
    put_u53(w, m->u.track_info.timescale);
    break;
  case WT_MOQ_SUBSCRIBE_START:
  case WT_MOQ_SUBSCRIBE_END:
    put_u53(w, m->u.range.group);
    break;
  case WT_MOQ_SUBSCRIBE_RESPONSE:
  default:
    return WT_ERR_INVAL;
  }
  return w->err == WT_ERR_NOBUF ? WT_ERR_INVAL : w->err; /* body bound: WT_MOQ_MAX_MSG */
}

int wt_moq_encode(const wt_moq_msg *m, int version, uint8_t *out, size_t cap) {
  if (!m || !version_ok(version)) {
    return WT_ERR_INVAL;
  }
  uint8_t body[WT_MOQ_MAX_MSG];
  wr b = {.p = body, .cap = sizeof(body)};
  int rv = encode_body(m, version, &b);
  if (rv < 0) {
    return rv;
  }
  if (!out || !cap) {
    return WT_ERR_NOBUF;
  }
  wr w = {.p = out, .cap = cap};
  if (m->type == WT_MOQ_SUBSCRIBE_OK) {
    put_vi(&w, WT_MOQ_RESPONSE_OK);
  } else if (m->type == WT_MOQ_SUBSCRIBE_DROP) {
    put_vi(&w, version >= WT_MOQ_LITE_05 ? WT_MOQ_RESPONSE05_DROP : WT_MOQ_RESPONSE_DROP);
  } else if (m->type == WT_MOQ_SUBSCRIBE_START) {
    put_vi(&w, WT_MOQ_RESPONSE05_START);
  } else if (m->type == WT_MOQ_SUBSCRIBE_END) {
    put_vi(&w, WT_MOQ_RESPONSE05_END);
  }
  put_vi(&w, b.n);
  if (!w.err && cap - w.n < b.n) {
    w.err = WT_ERR_NOBUF;
  }
  if (w.err) {
    return w.err;
  }
  memcpy(out + w.n, body, b.n);
  return (int)(w.n + b.n);
}

/* ------------------------------------------------------------- decoding */

typedef struct rd {
  const uint8_t *p;
  size_t n;
  const char *why; /* first error */
} rd;

static uint64_t get_vi(rd *r, const char *trunc) {
  uint64_t v = 0;
  if (r->why) {
    return 0;
  }
  int rv = wt_varint_decode(r->p, r->n, &v);
  if (rv < 0) {
    r->why = trunc;
    return 0;
  }
  r->p += rv;
  r->n -= (size_t)rv;
  return v;
}

/* A field the reference client reads as a 53-bit number. */
static uint64_t get_u53(rd *r, const char *trunc) {
  uint64_t v = get_vi(r, trunc);
  if (!r->why && v > WT_MOQ_MAX_U53) {
    r->why = "value above 2^53-1";
  }
  return v;
}

static uint8_t get_u8(rd *r, const char *trunc) {
  if (r->why) {
    return 0;
  }
  if (!r->n) {
    r->why = trunc;
    return 0;
  }
  r->n--;
  return *r->p++;
}

static uint8_t get_bool(rd *r) {
  uint8_t b = get_u8(r, "truncated ordered flag");
  if (!r->why && b > 1) {
    r->why = "ordered flag not 0 or 1";
  }
  return b;
}

static wt_moq_str get_str(rd *r, int is_path) {
  wt_moq_str s = {NULL, 0};
  uint64_t len = get_vi(r, is_path ? "truncated path length" : "truncated name length");
  if (r->why) {
    return s;
  }
  if (len > (is_path ? WT_MOQ_MAX_PATH : WT_MOQ_MAX_NAME)) {
    r->why = is_path ? "path too long" : "name too long";
    return s;
  }
  if (len > r->n) {
    r->why = is_path ? "truncated path" : "truncated name";
    return s;
  }
  const char *bad = str_check(r->p, (size_t)len, is_path);
  if (bad) {
    r->why = bad;
    return s;
  }
  s.p = r->p;
  s.len = (size_t)len;
  r->p += len;
  r->n -= (size_t)len;
  return s;
}

static void get_group_opt(rd *r, uint8_t *has, uint64_t *g, const char *trunc) {
  uint64_t v = get_u53(r, trunc);
  *has = v != 0;
  *g = v ? v - 1 : 0;
}

static void get_params(rd *r, wt_moq_sub_params *s) {
  s->priority = get_u8(r, "truncated priority");
  s->ordered = get_bool(r);
  s->max_latency = get_u53(r, "truncated max latency");
  get_group_opt(r, &s->has_start, &s->start_group, "truncated start group");
  get_group_opt(r, &s->has_end, &s->end_group, "truncated end group");
}

/* SETUP's parameter bag: at most WT_MOQ_MAX_PARAMS, no id twice, the
 * known ones holding exactly one varint; unknown ones skipped. */
static void get_setup(rd *r, wt_moq_msg *out) {
  uint64_t ids[WT_MOQ_MAX_PARAMS];
  uint64_t n = get_u53(r, "truncated parameter count");
  if (!r->why && n > WT_MOQ_MAX_PARAMS) {
    r->why = "too many parameters";
  }
  for (uint64_t i = 0; i < n && !r->why; i++) {
    uint64_t id = get_vi(r, "truncated parameter id");
    uint64_t len = get_u53(r, "truncated parameter length");
    if (r->why) {
      return;
    }
    for (uint64_t k = 0; k < i; k++) {
      if (ids[k] == id) {
        r->why = "duplicate parameter";
        return;
      }
    }
    ids[i] = id;
    if (len > r->n) {
      r->why = "truncated parameter";
      return;
    }
    rd v = {.p = r->p, .n = (size_t)len};
    r->p += len;
    r->n -= (size_t)len;
    if (id == WT_MOQ_PARAM_PATH) {
      if (str_check(v.p, v.n, 0)) {
        r->why = "bad path parameter"; /* over 1024 bytes or not UTF-8 */
        return;
      }
      out->u.setup.has_path = 1;
      out->u.setup.path = (wt_moq_str){v.p, v.n};
      continue;
    }
    uint64_t *dst = id == WT_MOQ_PARAM_PROBE    ? &out->u.setup.probe
                    : id == WT_MOQ_PARAM_ROLE   ? &out->u.setup.role
                    : id == WT_MOQ_PARAM_ORIGIN ? &out->u.setup.origin
                                                : NULL;
    if (!dst) {
      continue; /* unknown: ignored */
    }
    *dst = get_vi(&v, "truncated parameter value");
    if (!v.why && v.n) {
      v.why = "trailing bytes after a varint parameter";
    }
    if (v.why) {
      r->why = v.why;
    }
  }
}

int wt_moq_decode_body(wt_moq_type t, int version, const uint8_t *body, size_t len, wt_moq_msg *out,
                       const char **why) {
  const char *ignored;
  why = why ? why : &ignored;
  *why = NULL;
  if (!out || !version_ok(version) || (!body && len)) {
    *why = "bad arguments";
    return WT_ERR_INVAL;
  }
  memset(out, 0, sizeof(*out));
  out->type = t;
  if (t > WT_MOQ_NONE && t < WT_MOQ_TYPE_COUNT_ && t != WT_MOQ_SUBSCRIBE_RESPONSE &&
      !type_in(t, version)) {
    *why = "message not in this moq-lite version";
    return WT_ERR_UNSUPPORTED;
  }
  rd r = {.p = body, .n = len};
  switch (t) {
  case WT_MOQ_ANNOUNCE_PLEASE:
    out->u.announce_please.prefix = get_str(&r, 1);
    if (version >= WT_MOQ_LITE_04) {
      out->u.announce_please.exclude_hop = get_vi(&r, "truncated exclude hop");
    }
    break;
  case WT_MOQ_ANNOUNCE: {
    uint8_t st = get_u8(&r, "truncated announce status");
    if (st == WT_MOQ_ANNOUNCE_RESTART && version >= WT_MOQ_LITE_05) {
      st = WT_MOQ_ANNOUNCE_ACTIVE; /* -05: a restart is read as an active one */
    }
    if (!r.why && st > WT_MOQ_ANNOUNCE_ACTIVE) {
      r.why = "unknown announce status";
    }
    out->u.announce.status = st;
    out->u.announce.suffix = get_str(&r, 1);
    uint64_t n = get_vi(&r, "truncated hop count");
    if (!r.why && n > WT_MOQ_MAX_HOPS) {
      r.why = "too many hops";
    }
    out->u.announce.n_hops = r.why ? 0 : (uint32_t)n;
    if (version >= WT_MOQ_LITE_04) { /* -03 carries the count alone */
      for (uint32_t i = 0; i < out->u.announce.n_hops && !r.why; i++) {
        out->u.announce.hops[i] = get_vi(&r, "truncated hop");
      }
    }
    break;
  }
  case WT_MOQ_SUBSCRIBE:
    out->u.subscribe.id = get_vi(&r, "truncated subscribe id");
    out->u.subscribe.broadcast = get_str(&r, 1);
    out->u.subscribe.track = get_str(&r, 0);
    get_params(&r, &out->u.subscribe.p);
    break;
  case WT_MOQ_SUBSCRIBE_UPDATE:
  case WT_MOQ_SUBSCRIBE_OK:
    get_params(&r, &out->u.update);
    break;
  case WT_MOQ_SUBSCRIBE_DROP:
    out->u.drop.start = get_u53(&r, "truncated drop start");
    out->u.drop.end = get_u53(&r, "truncated drop end");
    out->u.drop.error = get_u53(&r, "truncated drop error");
    break;
  case WT_MOQ_FETCH:
    out->u.fetch.broadcast = get_str(&r, 1);
    out->u.fetch.track = get_str(&r, 0);
    out->u.fetch.priority = get_u8(&r, "truncated priority");
    out->u.fetch.group = get_u53(&r, "truncated group");
    break;
  case WT_MOQ_PROBE:
    out->u.probe.bitrate = get_u53(&r, "truncated bitrate");
    if (version >= WT_MOQ_LITE_04) {
      out->u.probe.rtt = get_u53(&r, "truncated rtt");
    }
    break;
  case WT_MOQ_GOAWAY:
    out->u.goaway.uri = get_str(&r, 0);
    break;
  case WT_MOQ_GROUP:
    out->u.group.subscribe = get_vi(&r, "truncated subscribe id");
    out->u.group.sequence = get_u53(&r, "truncated group sequence");
    break;
  case WT_MOQ_SETUP:
    get_setup(&r, out);
    break;
  case WT_MOQ_ANNOUNCE_OK:
    out->u.announce_ok.origin = get_vi(&r, "truncated origin");
    out->u.announce_ok.active = get_u53(&r, "truncated active count");
    break;
  case WT_MOQ_TRACK:
    out->u.track.broadcast = get_str(&r, 1);
    out->u.track.track = get_str(&r, 0);
    break;
  case WT_MOQ_TRACK_INFO:
    out->u.track_info.priority = get_u8(&r, "truncated priority");
    out->u.track_info.ordered = get_bool(&r);
    out->u.track_info.max_latency = get_u53(&r, "truncated max latency");
    out->u.track_info.timescale = get_u53(&r, "truncated timescale");
    if (!r.why && out->u.track_info.timescale == 0) {
      r.why = "track timescale 0";
    }
    break;
  case WT_MOQ_SUBSCRIBE_START:
  case WT_MOQ_SUBSCRIBE_END:
    out->u.range.group = get_u53(&r, "truncated group");
    break;
  case WT_MOQ_SUBSCRIBE_RESPONSE:
  default:
    *why = "no such message type";
    return WT_ERR_INVAL;
  }
  if (!r.why && r.n) {
    r.why = "trailing bytes after the message";
  }
  if (r.why) {
    *why = r.why;
    return WT_ERR_MALFORMED;
  }
  return 0;
}

/* --------------------------------------------------------------- reader */

enum { ST_RESP = 0, ST_SIZE, ST_BODY };

void wt_moq_reader_init(wt_moq_reader *r, int version) {
  memset(r, 0, sizeof(*r));
  r->version = version;
  r->max_frame = WT_MOQ_DEFAULT_MAX_FRAME;
  r->stage = ST_RESP;
}

int wt_moq_read_varint(wt_moq_reader *r, const uint8_t *p, size_t len, size_t *used, uint64_t *v) {
  return wt_varint_feed(&r->acc, p, len, used, v);
}

int wt_moq_read_msg(wt_moq_reader *r, wt_moq_type t, const uint8_t *p, size_t len, size_t *used,
                    wt_moq_msg *out, const char **why) {
  const char *ignored;
  why = why ? why : &ignored;
  *why = NULL;
  *used = 0;
  if (t == WT_MOQ_NONE || t >= WT_MOQ_TYPE_COUNT_ || t == WT_MOQ_SUBSCRIBE_OK ||
      t == WT_MOQ_SUBSCRIBE_DROP || t == WT_MOQ_SUBSCRIBE_START ||
      t == WT_MOQ_SUBSCRIBE_END) { /* those come after a response type */
    *why = "no such message type";
    return WT_ERR_INVAL;
  }
  if (len == 0) { /* a message of size 0 is decoded in the call that reads its size */
    return 0;
  }
  size_t off = 0, n;
  uint64_t v;
  if (r->stage == ST_RESP) {
    if (t == WT_MOQ_SUBSCRIBE_RESPONSE) {
      if (!wt_varint_feed(&r->acc, p, len, &n, &v)) {
        *used = n;
        return 0;
      }
      off += n;
      if (v > (r->version >= WT_MOQ_LITE_05 ? WT_MOQ_RESPONSE05_DROP : WT_MOQ_RESPONSE_DROP)) {
        *used = off;
        *why = "unknown subscribe response type";
        return WT_ERR_MALFORMED;
      }
      r->resp = v;
    }
    r->stage = ST_SIZE;
  }
  if (r->stage == ST_SIZE) {
    if (!wt_varint_feed(&r->acc, p + off, len - off, &n, &v)) {
      *used = off + n;
      return 0;
    }
    off += n;
    if (v > WT_MOQ_MAX_MSG) {
      *used = off;
      *why = "message too large";
      return WT_ERR_MALFORMED;
    }
    r->size = v;
    r->have = 0;
    r->stage = ST_BODY;
  }
  const uint8_t *body;
  if (r->have == 0 && len - off >= r->size) {
    body = p + off; /* whole message in this read: decode in place */
    off += (size_t)r->size;
  } else {
    size_t take = (size_t)r->size - r->have;
    if (take > len - off) {
      take = len - off;
    }
    if (take) {
      memcpy(r->buf + r->have, p + off, take);
    }
    r->have += take;
    off += take;
    if (r->have < r->size) {
      *used = off;
      return 0;
    }
    body = r->buf;
  }
  *used = off;
  wt_moq_type bt = t;
  if (t == WT_MOQ_SUBSCRIBE_RESPONSE && r->version >= WT_MOQ_LITE_05) {
    bt = r->resp == WT_MOQ_RESPONSE05_START ? WT_MOQ_SUBSCRIBE_START
         : r->resp == WT_MOQ_RESPONSE05_END ? WT_MOQ_SUBSCRIBE_END
                                            : WT_MOQ_SUBSCRIBE_DROP;
  } else if (t == WT_MOQ_SUBSCRIBE_RESPONSE) {
    bt = r->resp == WT_MOQ_RESPONSE_OK ? WT_MOQ_SUBSCRIBE_OK : WT_MOQ_SUBSCRIBE_DROP;
  }
  int rv = wt_moq_decode_body(bt, r->version, body, (size_t)r->size, out, why);
  r->stage = ST_RESP;
  r->have = 0;
  return rv < 0 ? rv : 1;
}

int wt_moq_read_frame(wt_moq_reader *r, const uint8_t *p, size_t len, size_t *used, uint64_t *size,
                      const char **why) {
  const char *ignored;
  why = why ? why : &ignored;
  *why = NULL;
  uint64_t v;
  size_t off = 0;
  if (r->version >= WT_MOQ_LITE_05 && r->fstage == 0) {
    if (!wt_varint_feed(&r->acc, p, len, used, &r->frame_ts)) {
      return 0;
    }
    off = *used;
    r->fstage = 1;
  }
  if (!wt_varint_feed(&r->acc, p + off, len - off, used, &v)) {
    *used += off;
    return 0;
  }
  *used += off;
  r->fstage = 0;
  if (v > r->max_frame) {
    *why = "frame too large";
    return WT_ERR_MALFORMED;
  }
  *size = v;
  return 1;
}

int wt_moq_encode_frame_hdr(int version, uint64_t ts_zigzag, uint64_t size, uint8_t *out,
                            size_t cap) {
  if (!version_ok(version) || size > WT_MOQ_MAX_U53) {
    return WT_ERR_INVAL;
  }
  wr w = {.p = out, .cap = out ? cap : 0};
  if (version >= WT_MOQ_LITE_05) {
    put_vi(&w, ts_zigzag);
  }
  put_vi(&w, size);
  return w.err ? WT_ERR_NOBUF : (int)w.n;
}
