/* test_moq_app.c: the moq-lite relay (apps/wt_app_moq.c) driven through an
 * application worker's dispatcher (shards/wt_app_ctx.h) from the shard's
 * side of a link, on one thread: the test plays the shard and the clients
 * (it posts session, stream and data events with moq-lite bytes encoded by
 * apps/moq's codec) and reads the worker's commands back (what the relay
 * writes, opens, resets and stops, its fan-out group commands).
 *
 * Covered: version negotiation and the root (refusals); a publisher's
 * announce reaching an announce stream (active, then ended); a SUBSCRIBE
 * turned into one upstream SUBSCRIBE, its OK passed on, a group read once
 * and mirrored with the subscriber's own group header, a late joiner
 * caught up from the group's start; unsubscribe closes the upstream
 * subscription; bad input (unknown stream kind and data type, oversized
 * and trailing-byte messages, unknown broadcast, FETCH, reused id, unknown
 * subscription in a group, oversized frame, bounds) each answered on the
 * right stream with the documented code and counted; every session and
 * stream handle freed at the end. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "app_link.h"
#include "check.h"
#include "wt_app.h"
#include "wt_app_ctx.h"
#include "wt_apps.h"
#include "wt_buf.h"
#include "wt_error.h"
#include "wt_link.h"
#include "wt_moq.h"
#include "wt_timer.h"

/* ------------------------------------------------------------------ harness */

typedef struct cmd {
  uint16_t kind;
  uint64_t id, token, session, group, gsid;
  uint32_t code, hdr_len;
  int fin, bidi;
  int pooled, prio; /* GROUP_JOIN: the member's policy */
  uint64_t max_lat_ns;
  uint8_t data[256];
  size_t len;
} cmd;

#define MAX_CMDS 4096

typedef struct harness {
  wt_test_link t; /* the worker on its link (app_link.h) */
  wt_apps_module *am;
  void *state;
  cmd cmds[MAX_CMDS];
  size_t n;
} harness;

static harness g_h;

/* The built-in apps' module's routes (its worker state in h->state). */
static int routes(void *arg, wt_app_router *r) {
  harness *h = arg;
  const wt_app_module *mod = wt_apps_module_get(h->am);
  return mod->init(mod->arg, r, 1, 0, &h->state);
}

static int h_open(harness *h, const wt_apps_config *cfg) {
  memset(h, 0, sizeof(*h));
  if (wt_apps_module_new(&h->am, cfg) < 0) {
    return -1;
  }
  wt_app_ctx_config c = {.stream_credit = 1u << 20, .stream_credit_max = 1u << 20};
  return app_link_open(&h->t, 1024, 16384, routes, h, c);
}

/* Read the worker's commands into h->cmds (the bytes of writes copied). */
static void h_drain(harness *h) {
  wt_msg m[64];
  uint32_t n;
  for (int round = 0; round < 1000; round++) {
    int more = wt_app_ctx_flush(h->t.ctx);
    while ((n = wt_lring_poll(&h->t.link->cmd, m, 64)) > 0) {
      for (uint32_t i = 0; i < n; i++) {
        cmd c = {.kind = m[i].kind};
        switch (m[i].kind) {
        case WT_CMD_OPEN_STREAM:
          c.session = wt_msg_get_cmd_open_stream(&m[i])->session;
          c.token = wt_msg_get_cmd_open_stream(&m[i])->token;
          c.bidi = wt_msg_get_cmd_open_stream(&m[i])->bidi;
          break;
        case WT_CMD_WRITE:
          c.id = wt_msg_get_cmd_write(&m[i])->stream.id;
          c.token = wt_msg_get_cmd_write(&m[i])->stream.token;
          c.fin = wt_msg_get_cmd_write(&m[i])->fin;
          break;
        case WT_CMD_RESET:
          c.id = wt_msg_get_cmd_reset(&m[i])->stream.id;
          c.token = wt_msg_get_cmd_reset(&m[i])->stream.token;
          c.code = wt_msg_get_cmd_reset(&m[i])->code;
          break;
        case WT_CMD_STOP_SENDING:
          c.id = wt_msg_get_cmd_stop_sending(&m[i])->stream.id;
          c.token = wt_msg_get_cmd_stop_sending(&m[i])->stream.token;
          c.code = wt_msg_get_cmd_stop_sending(&m[i])->code;
          break;
        case WT_CMD_CONNECT: /* data: authority NUL path NUL ... */
          c.session = wt_msg_get_cmd_connect(&m[i])->session;
          break;
        case WT_CMD_CLOSE:
          c.session = wt_msg_get_cmd_close(&m[i])->session;
          c.code = wt_msg_get_cmd_close(&m[i])->code;
          break;
        case WT_CMD_RESPOND:
          c.session = wt_msg_get_cmd_respond(&m[i])->session;
          c.code = wt_msg_get_cmd_respond(&m[i])->status;
          break;
        case WT_CMD_GROUP_STREAM:
          c.group = wt_msg_get_cmd_group_stream(&m[i])->group;
          c.gsid = wt_msg_get_cmd_group_stream(&m[i])->gsid;
          c.hdr_len = wt_msg_get_cmd_group_stream(&m[i])->hdr_len;
          break;
        case WT_CMD_GROUP_WRITE:
          c.group = wt_msg_get_cmd_group_write(&m[i])->group;
          c.gsid = wt_msg_get_cmd_group_write(&m[i])->gsid;
          c.fin = wt_msg_get_cmd_group_write(&m[i])->fin;
          break;
        case WT_CMD_GROUP_RESET:
          c.group = wt_msg_get_cmd_group_reset(&m[i])->group;
          c.gsid = wt_msg_get_cmd_group_reset(&m[i])->gsid;
          c.code = wt_msg_get_cmd_group_reset(&m[i])->code;
          break;
        case WT_CMD_GROUP_DEL:
          c.group = wt_msg_get_cmd_group_del(&m[i])->group;
          c.code = wt_msg_get_cmd_group_del(&m[i])->code;
          break;
        case WT_CMD_GROUP_JOIN:
          c.group = wt_msg_get_cmd_group_join(&m[i])->group;
          c.session = wt_msg_get_cmd_group_join(&m[i])->session;
          c.pooled = wt_msg_get_cmd_group_join(&m[i])->pooled;
          c.prio = wt_msg_get_cmd_group_join(&m[i])->priority;
          c.max_lat_ns = wt_msg_get_cmd_group_join(&m[i])->max_latency_ns;
          break;
        case WT_CMD_GROUP_LEAVE:
          c.group = wt_msg_get_cmd_group_leave(&m[i])->group;
          c.session = wt_msg_get_cmd_group_leave(&m[i])->session;
          break;
        case WT_CMD_GROUP_CATCHUP:
          c.session = wt_msg_get_cmd_group_catchup(&m[i])->session;
          c.gsid = wt_msg_get_cmd_group_catchup(&m[i])->gsid;
          c.hdr_len = wt_msg_get_cmd_group_catchup(&m[i])->hdr_len;
          break;
        case WT_CMD_GROUP_CATCHUP_DATA:
          c.session = wt_msg_get_cmd_group_catchup_data(&m[i])->session;
          c.gsid = wt_msg_get_cmd_group_catchup_data(&m[i])->gsid;
          c.fin = wt_msg_get_cmd_group_catchup_data(&m[i])->fin;
          break;
        default:
          break;
        }
        if (m[i].buf && (m[i].len <= sizeof(c.data) || m[i].kind == WT_CMD_CONNECT)) {
          c.len = m[i].len <= sizeof(c.data) ? m[i].len : sizeof(c.data); /* a CONNECT's start */
          memcpy(c.data, m[i].buf->data + m[i].off, c.len);
        }
        if (h->n < MAX_CMDS) {
          h->cmds[h->n++] = c;
        }
        wt_msg_drop(&m[i]);
      }
    }
    if (!more) {
      return;
    }
  }
  CHECK(!"the worker's overflow never drained");
}

static void h_event(harness *h, wt_msg m) {
  app_link_event(&h->t, &m);
  h_drain(h);
}

static void h_close(harness *h) {
  h_drain(h);
  const wt_app_ctx_stats *st = wt_app_ctx_get_stats(h->t.ctx);
  CHECK_EQ(st->sessions_live, 0); /* nothing leaked */
  CHECK_EQ(st->streams_live, 0);
  wt_app_ctx_del(h->t.ctx);
  wt_msg m[64];
  uint32_t n;
  while ((n = wt_lring_poll(&h->t.link->cmd, m, 64)) > 0) {
    for (uint32_t i = 0; i < n; i++) {
      wt_msg_drop(&m[i]);
    }
  }
  const wt_app_module *mod = wt_apps_module_get(h->am);
  mod->fini(mod->arg, h->state);
  wt_apps_module_del(h->am);
  app_link_free(&h->t);
}

static const wt_apps_counters *counters(harness *h) {
  return &((const wt_apps *)h->state)->cnt;
}

/* A CONNECT for path offering protocols (NUL-separated, n of them); the
 * status answered. On 200 the session is opened. */
static uint32_t h_session(harness *h, uint64_t sid, const char *path, const char *protos,
                          size_t plen, uint32_t n_protos) {
  char req[512];
  size_t n = (size_t)snprintf(req, sizeof(req), "%s%chost%c%c", path, 0, 0, 0);
  memcpy(req + n, protos, plen);
  n += plen;
  wt_buf *b = wt_buf_alloc(h->t.pool, n);
  memcpy(b->data, req, n);
  size_t first = h->n;
  h_event(h, wt_msg_ev_session_request(sid, sid * 4, b, (uint32_t)n, 0, n_protos));
  uint32_t status = 0;
  for (size_t i = first; i < h->n; i++) {
    if (h->cmds[i].kind == WT_CMD_RESPOND && h->cmds[i].session == sid) {
      status = h->cmds[i].code;
    }
  }
  if (status == 200) {
    h_event(h, wt_msg_ev_session_open(sid, 1200));
  }
  return status;
}

/* what @moq/net 0.3.4 offers (-05 chosen), and the same without -05 (a
 * client offering -04 and -03 only: the -04 tests) */
#define V05 "moq-lite-05\0moq-lite-04\0moq-lite-03"
#define V04 "moq-lite-04\0moq-lite-03"

/* Bytes from the peer on stream sid. */
static void h_data(harness *h, uint64_t sid, const uint8_t *p, size_t n, int fin) {
  wt_buf *b = NULL;
  if (n) {
    b = wt_buf_alloc(h->t.pool, n);
    memcpy(b->data, p, n);
    b->len = n;
  }
  h_event(h, wt_msg_ev_stream_data(sid, b, (uint32_t)n, fin));
}

/* Encode m (with a leading varint when lead >= 0) into out. */
static size_t enc(const wt_moq_msg *m, int version, int64_t lead, uint8_t *out, size_t cap) {
  size_t n = 0;
  if (lead >= 0) {
    n = (size_t)wt_varint_encode(out, cap, (uint64_t)lead);
  }
  int rv = wt_moq_encode(m, version, out + n, cap - n);
  CHECK(rv > 0);
  return rv > 0 ? n + (size_t)rv : n;
}

static wt_moq_str S(const char *s) {
  return (wt_moq_str){(const uint8_t *)s, strlen(s)};
}

/* The index of the last command since `from` of kind on stream id (or
 * token, for streams the relay opened), or -1. */
static int find(harness *h, size_t from, uint16_t kind, uint64_t id, uint64_t token) {
  int last = -1;
  for (size_t i = from; i < h->n; i++) {
    const cmd *c = &h->cmds[i];
    if (c->kind == kind && (id == 0 || c->id == id) && (token == 0 || c->token == token)) {
      last = (int)i;
    }
  }
  return last;
}

/* A peer stream refused: reset and stopped with code (bidi), stopped (uni). */
static int refused(harness *h, size_t from, uint64_t id, uint32_t code, int bidi) {
  int s = find(h, from, WT_CMD_STOP_SENDING, id, 0);
  int r = find(h, from, WT_CMD_RESET, id, 0);
  return s >= 0 && h->cmds[s].code == code && (!bidi || (r >= 0 && h->cmds[r].code == code));
}

/* The relay's open streams on a session since from: tokens in order. */
static uint64_t opened(harness *h, size_t from, uint64_t session, int nth) {
  int k = 0;
  for (size_t i = from; i < h->n; i++) {
    if (h->cmds[i].kind == WT_CMD_OPEN_STREAM && h->cmds[i].session == session && k++ == nth) {
      return h->cmds[i].token;
    }
  }
  return 0;
}

/* The bytes written on (id or token) since from, concatenated. */
static size_t written(harness *h, size_t from, uint64_t id, uint64_t token, uint8_t *out,
                      size_t cap, int *fin) {
  size_t n = 0;
  *fin = 0;
  for (size_t i = from; i < h->n; i++) {
    const cmd *c = &h->cmds[i];
    if (c->kind == WT_CMD_WRITE && ((id && c->id == id) || (token && c->token == token)) &&
        n + c->len <= cap) {
      memcpy(out + n, c->data, c->len);
      n += c->len;
      *fin |= c->fin;
    }
  }
  return n;
}

/* ------------------------------------------------------------------ tests */

static void test_refusals(void) {
  harness *h = &g_h;
  wt_apps_config cfg;
  wt_apps_config_default(&cfg);
  cfg.enabled = WT_APPS_MOQ;
  CHECK_FATAL(h_open(h, &cfg) == 0);
  /* only -06-wip and IETF versions: nothing the relay speaks */
  CHECK_EQ(h_session(h, 1, "/moq/r", "moq-lite-06-wip\0moqt-17", 24, 2), 400);
  CHECK_EQ(h_session(h, 2, "/moq/r", "", 0, 0), 400);
  CHECK_EQ(h_session(h, 3, "/moq/a//b", V04, sizeof(V04), 2), 400); /* a bad root */
  CHECK_EQ(h_session(h, 4, "/moq/a b", V04, sizeof(V04), 2), 400);
  CHECK_EQ(counters(h)->moq_refused, 4);
  /* the root route and a nested one; moq-lite-04 preferred */
  CHECK_EQ(h_session(h, 5, "/moq", V04, sizeof(V04), 2), 200);
  CHECK_EQ(h_session(h, 6, "/moq/a/b?jwt=x", "moq-lite-03", 12, 1), 200);
  CHECK_EQ(counters(h)->moq_sessions, 2);
  /* a drain: GOAWAY (no URI) on a stream of its own, -04 only */
  size_t mark = h->n;
  h_event(h, wt_msg_ev_session_drain(5));
  h_event(h, wt_msg_ev_session_drain(6));
  int k = 0;
  uint64_t gtok = 0;
  for (size_t i = mark; i < h->n; i++) {
    if (h->cmds[i].kind == WT_CMD_OPEN_STREAM) {
      k++;
      gtok = h->cmds[i].token;
      CHECK_EQ(h->cmds[i].session, 5);
    }
  }
  CHECK_EQ(k, 1);
  int fin;
  uint8_t got[64];
  size_t n = written(h, mark, 0, gtok, got, sizeof(got), &fin);
  CHECK(n == 3 && !memcmp(got, "\x05\x01\x00", 3) && fin);
  h_event(h, wt_msg_ev_stream_close(0, gtok));
  for (size_t i = 0; i < h->n; i++) { /* the announce streams the relay opened */
    if (h->cmds[i].kind == WT_CMD_OPEN_STREAM && h->cmds[i].token != gtok) {
      h_event(h, wt_msg_ev_stream_close(0, h->cmds[i].token));
    }
  }
  h_event(h, wt_msg_ev_session_close(5, 0, 1, NULL, 0));
  h_event(h, wt_msg_ev_session_close(6, 0, 1, NULL, 0));
  h_close(h);
}

/* Publisher session 1, subscribers 2 and 3 on /moq/room. */
static void test_relay(void) {
  harness *h = &g_h;
  wt_apps_config cfg;
  wt_apps_config_default(&cfg);
  cfg.enabled = WT_APPS_MOQ;
  CHECK_FATAL(h_open(h, &cfg) == 0);
  uint8_t buf[8192], got[1024], want[1024];
  int fin;
  size_t n, w;
  wt_moq_msg m;

  /* the publisher: the relay asks it for its broadcasts at once */
  size_t mark = h->n;
  CHECK_EQ(h_session(h, 1, "/moq/room", V04, sizeof(V04), 2), 200);
  uint64_t ann_tok = opened(h, mark, 1, 0);
  CHECK(ann_tok != 0);
  memset(&m, 0, sizeof(m));
  m.type = WT_MOQ_ANNOUNCE_PLEASE;
  m.u.announce_please.prefix = S("");
  w = enc(&m, WT_MOQ_LITE_04, WT_MOQ_KIND_ANNOUNCE, want, sizeof(want));
  n = written(h, mark, 0, ann_tok, got, sizeof(got), &fin);
  CHECK(n == w && !memcmp(got, want, w));
  h_event(h, wt_msg_ev_stream_opened(100, ann_tok, 1));
  /* it announces bc (hop: its origin 7) */
  memset(&m, 0, sizeof(m));
  m.type = WT_MOQ_ANNOUNCE;
  m.u.announce.status = WT_MOQ_ANNOUNCE_ACTIVE;
  m.u.announce.suffix = S("/bc/");
  m.u.announce.n_hops = 1;
  m.u.announce.hops[0] = 7;
  n = enc(&m, WT_MOQ_LITE_04, -1, buf, sizeof(buf));
  h_data(h, 100, buf, n, 0);
  CHECK_EQ(counters(h)->moq_broadcasts, 1);

  /* a subscriber (-03): its announce stream gets bc */
  mark = h->n;
  CHECK_EQ(h_session(h, 2, "/moq/room", "moq-lite-03", 12, 1), 200);
  h_event(h, wt_msg_ev_stream_open(200, 2, 0, 1));
  memset(&m, 0, sizeof(m));
  m.type = WT_MOQ_ANNOUNCE_PLEASE;
  m.u.announce_please.prefix = S("");
  n = enc(&m, WT_MOQ_LITE_03, WT_MOQ_KIND_ANNOUNCE, buf, sizeof(buf));
  h_data(h, 200, buf, n, 0);
  memset(&m, 0, sizeof(m));
  m.type = WT_MOQ_ANNOUNCE;
  m.u.announce.status = WT_MOQ_ANNOUNCE_ACTIVE;
  m.u.announce.suffix = S("bc");
  m.u.announce.n_hops = 1;
  w = enc(&m, WT_MOQ_LITE_03, -1, want, sizeof(want));
  n = written(h, mark, 200, 0, got, sizeof(got), &fin);
  CHECK(n == w && !memcmp(got, want, w));

  /* it subscribes to bc/a: one SUBSCRIBE towards the publisher */
  mark = h->n;
  h_event(h, wt_msg_ev_stream_open(201, 2, 4, 1));
  memset(&m, 0, sizeof(m));
  m.type = WT_MOQ_SUBSCRIBE;
  m.u.subscribe.id = 0;
  m.u.subscribe.broadcast = S("bc");
  m.u.subscribe.track = S("a");
  m.u.subscribe.p.priority = 3;
  m.u.subscribe.p.max_latency = 500;
  n = enc(&m, WT_MOQ_LITE_03, WT_MOQ_KIND_SUBSCRIBE, buf, sizeof(buf));
  h_data(h, 201, buf, n, 0);
  uint64_t up_tok = opened(h, mark, 1, 0);
  CHECK(up_tok != 0);
  m.u.subscribe.p.max_latency = 0;
  w = enc(&m, WT_MOQ_LITE_04, WT_MOQ_KIND_SUBSCRIBE, want, sizeof(want));
  n = written(h, mark, 0, up_tok, got, sizeof(got), &fin);
  CHECK(n == w && !memcmp(got, want, w));
  CHECK(find(h, mark, WT_CMD_GROUP_JOIN, 0, 0) >= 0);
  CHECK_EQ(find(h, mark, WT_CMD_WRITE, 201, 0), -1); /* no OK before the publisher's */
  h_event(h, wt_msg_ev_stream_opened(101, up_tok, 5));
  /* the publisher's OK: the subscriber's own parameters come back */
  mark = h->n;
  memset(&m, 0, sizeof(m));
  m.type = WT_MOQ_SUBSCRIBE_OK;
  n = enc(&m, WT_MOQ_LITE_04, -1, buf, sizeof(buf));
  h_data(h, 101, buf, n, 0);
  m.u.update.priority = 3;
  m.u.update.max_latency = 500;
  w = enc(&m, WT_MOQ_LITE_03, -1, want, sizeof(want));
  n = written(h, mark, 201, 0, got, sizeof(got), &fin);
  CHECK(n == w && !memcmp(got, want, w));

  /* a group: header (subscribe 0, sequence 5) and two frames, in two reads */
  mark = h->n;
  h_event(h, wt_msg_ev_stream_open(300, 1, 3, 0));
  memset(&m, 0, sizeof(m));
  m.type = WT_MOQ_GROUP;
  m.u.group.subscribe = 0;
  m.u.group.sequence = 5;
  n = enc(&m, WT_MOQ_LITE_04, WT_MOQ_UNI_GROUP, buf, sizeof(buf));
  size_t hdr = n;
  memcpy(buf + n,
         "\x03"
         "abc\x02"
         "de",
         7);
  n += 7;
  h_data(h, 300, buf, hdr + 2, 0);
  int gs = find(h, mark, WT_CMD_GROUP_STREAM, 0, 0);
  CHECK_FATAL(gs >= 0);
  CHECK_EQ(h->cmds[gs].hdr_len, hdr); /* the same id: the same header here */
  uint64_t gsid = h->cmds[gs].gsid;
  h_data(h, 300, buf + hdr + 2, n - hdr - 2, 1);
  size_t k = 0;
  for (size_t i = mark; i < h->n; i++) {
    if (h->cmds[i].kind == WT_CMD_GROUP_WRITE && h->cmds[i].gsid == gsid) {
      memcpy(got + k, h->cmds[i].data, h->cmds[i].len);
      k += h->cmds[i].len;
      fin = h->cmds[i].fin;
    }
  }
  CHECK(k == n && !memcmp(got, buf, n) && fin);
  CHECK_EQ(counters(h)->moq_groups_in, 1);
  CHECK_EQ(counters(h)->moq_frames_in, 2);
  h_event(h, wt_msg_ev_stream_close(300, 0));

  /* a late joiner with the same id: OK, then the group from its start */
  mark = h->n;
  CHECK_EQ(h_session(h, 3, "/moq/room", V04, sizeof(V04), 2), 200);
  h_event(h, wt_msg_ev_stream_open(400, 3, 0, 1));
  memset(&m, 0, sizeof(m));
  m.type = WT_MOQ_SUBSCRIBE;
  m.u.subscribe.broadcast = S("bc");
  m.u.subscribe.track = S("a");
  n = enc(&m, WT_MOQ_LITE_04, WT_MOQ_KIND_SUBSCRIBE, buf, sizeof(buf));
  h_data(h, 400, buf, n, 0);
  CHECK_EQ(opened(h, mark, 1, 0), 0); /* no second upstream subscription */
  CHECK(find(h, mark, WT_CMD_WRITE, 400, 0) >= 0);
  int cu = find(h, mark, WT_CMD_GROUP_CATCHUP, 0, 0);
  CHECK(cu >= 0 && h->cmds[cu].session == 3 && h->cmds[cu].gsid == gsid);
  k = 0;
  for (size_t i = mark; i < h->n; i++) {
    if (h->cmds[i].kind == WT_CMD_GROUP_CATCHUP_DATA && h->cmds[i].session == 3) {
      memcpy(got + k, h->cmds[i].data, h->cmds[i].len);
      k += h->cmds[i].len;
      fin = h->cmds[i].fin;
    }
  }
  CHECK_EQ(counters(h)->moq_catchups, 1);
  CHECK(k == hdr + 7 &&
        !memcmp(got + hdr,
                "\x03"
                "abc\x02"
                "de",
                7) &&
        fin);

  /* bad input on subscriber 2's bidi streams */
  struct {
    uint64_t sid;
    const char *bytes;
    size_t len;
    uint32_t code;
  } bad[] = {
      {500, "\x09", 1, WT_APP_MOQ_PROTOCOL},             /* unknown kind */
      {501, "\x00", 1, WT_APP_MOQ_PROTOCOL},             /* SESSION kind: not on -03/-04 */
      {502, "\x05\x01\x00", 3, WT_APP_MOQ_PROTOCOL},     /* GOAWAY on -03 */
      {503, "\x01\x53\x88", 3, WT_APP_MOQ_PROTOCOL},     /* message size 5000 */
      {504, "\x01\x02\x00\x00", 4, WT_APP_MOQ_PROTOCOL}, /* a trailing byte */
      {505,
       "\x03\x07\x02"
       "bc\x01"
       "a\x00\x00",
       9, WT_APP_MOQ_UNSUPPORTED}, /* FETCH */
      {506,
       "\x02\x0d\x01\x04"
       "nope\x01"
       "a\x00\x00\x00\x00\x00",
       15, WT_APP_MOQ_NOT_FOUND}, /* no such broadcast */
      {507,
       "\x02\x0b\x00\x02"
       "bc\x01"
       "a\x00\x00\x00\x00\x00",
       13, WT_APP_MOQ_PROTOCOL},                 /* the id of a live subscription again */
      {508, "\x04\x00", 2, WT_APP_MOQ_PROTOCOL}, /* the probe opener sends nothing */
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    mark = h->n;
    h_event(h, wt_msg_ev_stream_open(bad[i].sid, 2, 8 + 4 * i, 1));
    h_data(h, bad[i].sid, (const uint8_t *)bad[i].bytes, bad[i].len, 0);
    CHECK(refused(h, mark, bad[i].sid, bad[i].code, 1));
    if (!refused(h, mark, bad[i].sid, bad[i].code, 1)) {
      fprintf(stderr, "bad input case %zu\n", i);
    }
  }
  CHECK_EQ(counters(h)->moq_not_found, 1);
  CHECK_EQ(counters(h)->moq_unsupported, 1); /* FETCH */
  CHECK_EQ(counters(h)->moq_malformed, 7);
  /* bad uni streams from the publisher */
  mark = h->n;
  h_event(h, wt_msg_ev_stream_open(600, 1, 7, 0));
  h_data(h, 600, (const uint8_t *)"\x07", 1, 0); /* unknown data type */
  CHECK(refused(h, mark, 600, WT_APP_MOQ_PROTOCOL, 0));
  h_event(h, wt_msg_ev_stream_open(601, 1, 11, 0));
  h_data(h, 601, (const uint8_t *)"\x00\x02\x09\x01", 4, 0); /* unknown subscription 9 */
  CHECK(refused(h, mark, 601, WT_APP_MOQ_PROTOCOL, 0));
  h_event(h, wt_msg_ev_stream_open(602, 1, 15, 0));
  h_data(h, 602, (const uint8_t *)"\x00\x02\x00\x06\xc0\x00\x00\x00\x10\x00\x00\x00", 12, 0);
  CHECK(refused(h, mark, 602, WT_APP_MOQ_PROTOCOL, 0)); /* a frame above 16 MiB */
  int gr = find(h, mark, WT_CMD_GROUP_RESET, 0, 0);
  CHECK(gr >= 0 && h->cmds[gr].code == WT_APP_MOQ_PROTOCOL);
  for (uint64_t s = 500; s <= 508; s++) {
    h_event(h, wt_msg_ev_stream_close(s, 0));
  }
  for (uint64_t s = 600; s <= 602; s++) {
    h_event(h, wt_msg_ev_stream_close(s, 0));
  }

  /* bounds: subscriber 2 at moq_max_subs (8) subscriptions */
  for (uint64_t i = 1; i <= 8; i++) {
    mark = h->n;
    h_event(h, wt_msg_ev_stream_open(700 + i, 2, 100 + 4 * i, 1));
    memset(&m, 0, sizeof(m));
    m.type = WT_MOQ_SUBSCRIBE;
    m.u.subscribe.id = i;
    m.u.subscribe.broadcast = S("bc");
    m.u.subscribe.track = S(i == 8 ? "z" : "a");
    n = enc(&m, WT_MOQ_LITE_03, WT_MOQ_KIND_SUBSCRIBE, buf, sizeof(buf));
    h_data(h, 700 + i, buf, n, 0);
    if (i < 8) {
      CHECK_EQ(find(h, mark, WT_CMD_RESET, 700 + i, 0), -1);
      CHECK(find(h, mark, WT_CMD_WRITE, 700 + i, 0) >= 0); /* OK at once: a live track */
    } else {
      CHECK(refused(h, mark, 700 + i, WT_APP_MOQ_LIMIT, 1));
    }
  }
  CHECK_EQ(counters(h)->moq_limit, 1);
  for (uint64_t i = 1; i <= 8; i++) {
    mark = h->n;
    h_data(h, 700 + i, NULL, 0, 1); /* unsubscribe: FIN back (the refused one: nothing) */
    int fw = find(h, mark, WT_CMD_WRITE, 700 + i, 0);
    CHECK(i == 8 ? fw < 0 : (fw >= 0 && h->cmds[fw].fin));
    h_event(h, wt_msg_ev_stream_close(700 + i, 0));
  }

  /* both leave bc/a: the upstream subscription is closed (FIN) */
  mark = h->n;
  h_data(h, 201, NULL, 0, 1);
  int wf = find(h, mark, WT_CMD_WRITE, 201, 0);
  CHECK(wf >= 0 && h->cmds[wf].fin);
  CHECK_EQ(find(h, mark, WT_CMD_WRITE, 101, 0), -1); /* session 3 still wants it */
  h_event(h, wt_msg_ev_stream_reset(400, 0x99, 1));  /* session 3 leaves abruptly */
  wf = find(h, mark, WT_CMD_WRITE, 101, 0);
  CHECK(wf >= 0 && h->cmds[wf].fin);
  CHECK(find(h, mark, WT_CMD_GROUP_DEL, 0, 0) >= 0);

  /* an announce stream FINed by its client: FIN back, no more ANNOUNCEs */
  h_event(h, wt_msg_ev_stream_open(210, 2, 60, 1));
  memset(&m, 0, sizeof(m));
  m.type = WT_MOQ_ANNOUNCE_PLEASE;
  m.u.announce_please.prefix = S("b");
  n = enc(&m, WT_MOQ_LITE_03, WT_MOQ_KIND_ANNOUNCE, buf, sizeof(buf));
  mark = h->n;
  h_data(h, 210, buf, n, 1);
  wf = find(h, mark, WT_CMD_WRITE, 210, 0);
  CHECK(wf >= 0 && h->cmds[wf].fin); /* "bc" is not under "b" (a path prefix, not a string one) */
  CHECK_EQ(h->cmds[wf].len, 0);
  h_event(h, wt_msg_ev_stream_open(211, 2, 64, 1));
  m.u.announce_please.prefix = S("");
  n = enc(&m, WT_MOQ_LITE_03, WT_MOQ_KIND_ANNOUNCE, buf, sizeof(buf));
  mark = h->n;
  h_data(h, 211, buf, n, 1); /* bc now, then our FIN */
  n = written(h, mark, 211, 0, got, sizeof(got), &fin);
  CHECK(n > 2 && got[1] == WT_MOQ_ANNOUNCE_ACTIVE && fin);
  size_t mark_end = h->n;

  /* the broadcast ends: announced as ended */
  mark = h->n;
  memset(&m, 0, sizeof(m));
  m.type = WT_MOQ_ANNOUNCE;
  m.u.announce.status = WT_MOQ_ANNOUNCE_ENDED;
  m.u.announce.suffix = S("bc");
  n = enc(&m, WT_MOQ_LITE_04, -1, buf, sizeof(buf));
  h_data(h, 100, buf, n, 0);
  m.u.announce.n_hops = 1;
  w = enc(&m, WT_MOQ_LITE_03, -1, want, sizeof(want));
  (void)w;
  n = written(h, mark, 200, 0, got, sizeof(got), &fin);
  CHECK(n >= 1 && got[1] == WT_MOQ_ANNOUNCE_ENDED);
  /* subscribing to it now: not found */
  mark = h->n;
  h_event(h, wt_msg_ev_stream_open(800, 3, 40, 1));
  memset(&m, 0, sizeof(m));
  m.type = WT_MOQ_SUBSCRIBE;
  m.u.subscribe.broadcast = S("bc");
  m.u.subscribe.track = S("a");
  n = enc(&m, WT_MOQ_LITE_04, WT_MOQ_KIND_SUBSCRIBE, buf, sizeof(buf));
  h_data(h, 800, buf, n, 0);
  CHECK(refused(h, mark, 800, WT_APP_MOQ_NOT_FOUND, 1));

  /* everything closes: streams first, then the sessions */
  CHECK_EQ(find(h, mark_end, WT_CMD_WRITE, 211, 0), -1); /* no "ended" after its FIN */
  CHECK_EQ(counters(h)->moq_limit, 1);
  uint64_t streams[] = {100, 101, 200, 201, 210, 211, 400, 800};
  for (size_t i = 0; i < sizeof(streams) / sizeof(streams[0]); i++) {
    h_event(h, wt_msg_ev_stream_close(streams[i], 0));
  }
  /* the relay's announce streams towards sessions 2 and 3 (never opened) */
  for (size_t i = 0; i < h->n; i++) {
    if (h->cmds[i].kind == WT_CMD_OPEN_STREAM && h->cmds[i].token != ann_tok &&
        h->cmds[i].token != up_tok) {
      h_event(h, wt_msg_ev_stream_close(0, h->cmds[i].token));
    }
  }
  for (uint64_t s = 1; s <= 3; s++) {
    h_event(h, wt_msg_ev_session_close(s, 0, 1, NULL, 0));
  }
  h_close(h);
}

/* Group seq of subscription 0 on -05: its uni stream bytes (type, GROUP,
 * frames each with a timestamp delta) into out; *hdr = the header's
 * length. Frames: "abc" at +1000, "de" at -10 from it, "s<seq>" at +5. */
static size_t group05(uint64_t seq, uint8_t *out, size_t cap, size_t *hdr) {
  wt_moq_msg m;
  memset(&m, 0, sizeof(m));
  m.type = WT_MOQ_GROUP;
  m.u.group.sequence = seq;
  size_t n = enc(&m, WT_MOQ_LITE_05, WT_MOQ_UNI_GROUP, out, cap);
  *hdr = n;
  const struct {
    int64_t d;
    const char *p;
  } fr[] = {{1000, "abc"}, {-10, "de"}, {5, "s?"}};
  for (size_t i = 0; i < 3; i++) {
    size_t l = strlen(fr[i].p);
    int k = wt_moq_encode_frame_hdr(WT_MOQ_LITE_05, wt_moq_zigzag(fr[i].d), l, out + n, cap - n);
    CHECK(k > 0);
    n += (size_t)k;
    memcpy(out + n, fr[i].p, l);
    if (i == 2) {
      out[n + 1] = (uint8_t)('0' + seq % 10);
    }
    n += l;
  }
  return n;
}

/* The bytes of gsid's group writes since from (fin in *fin). */
static size_t group_bytes(harness *h, size_t from, uint64_t gsid, uint8_t *out, int *fin) {
  size_t k = 0;
  for (size_t i = from; i < h->n; i++) {
    if (h->cmds[i].kind == WT_CMD_GROUP_WRITE && h->cmds[i].gsid == gsid) {
      memcpy(out + k, h->cmds[i].data, h->cmds[i].len);
      k += h->cmds[i].len;
      *fin = h->cmds[i].fin;
    }
  }
  return k;
}

/* A FETCH (-05) on a new bidi stream sid of session 2. */
static void h_fetch(harness *h, uint64_t sid, uint64_t qid, const char *track, uint64_t group) {
  uint8_t buf[256];
  wt_moq_msg m;
  memset(&m, 0, sizeof(m));
  m.type = WT_MOQ_FETCH;
  m.u.fetch.broadcast = S("bc");
  m.u.fetch.track = S(track);
  m.u.fetch.group = group;
  size_t n = enc(&m, WT_MOQ_LITE_05, WT_MOQ_KIND_FETCH, buf, sizeof(buf));
  h_event(h, wt_msg_ev_stream_open(sid, 2, qid, 1));
  h_data(h, sid, buf, n, 1);
}

/* moq-lite-05 end to end: SETUP both ways, ANNOUNCE_OK, TRACK answered
 * from the publisher's TRACK_INFO (asked once), implicit SUBSCRIBE with
 * SUBSCRIBE_START, frames with timestamps passed on unchanged, FETCH of
 * kept / evicted / unknown groups, SUBSCRIBE_END at the end; a -04 session
 * does not see the -05 broadcast; malformed -05 input. */
static void test_moq05(void) {
  harness *h = &g_h;
  wt_apps_config cfg;
  wt_apps_config_default(&cfg);
  cfg.enabled = WT_APPS_MOQ;
  cfg.moq_fetch_groups = 2; /* the newest and one before it */
  CHECK_FATAL(h_open(h, &cfg) == 0);
  uint8_t buf[1024], got[1024], want[1024];
  int fin;
  size_t n, w, hdr;
  wt_moq_msg m;

  /* the publisher: our SETUP (empty) on a uni stream, then the announce stream */
  size_t mark = h->n;
  CHECK_EQ(h_session(h, 1, "/moq/room", V05, sizeof(V05), 3), 200);
  uint64_t setup_tok = opened(h, mark, 1, 0), ann_tok = opened(h, mark, 1, 1);
  CHECK(setup_tok && ann_tok);
  n = written(h, mark, 0, setup_tok, got, sizeof(got), &fin);
  CHECK(n == 3 && !memcmp(got, "\x01\x01\x00", 3) && fin);
  h_event(h, wt_msg_ev_stream_opened(100, ann_tok, 1));
  /* its SETUP (probe, origin) on a uni stream: taken, nothing counted */
  h_event(h, wt_msg_ev_stream_open(150, 1, 2, 0));
  memset(&m, 0, sizeof(m));
  m.type = WT_MOQ_SETUP;
  m.u.setup.probe = 1;
  m.u.setup.origin = 0x99;
  n = enc(&m, WT_MOQ_LITE_05, WT_MOQ_UNI_SETUP, buf, sizeof(buf));
  h_data(h, 150, buf, n, 1);
  /* ANNOUNCE_OK (origin 0x99), then bc with no hops (-05 omits the sender) */
  memset(&m, 0, sizeof(m));
  m.type = WT_MOQ_ANNOUNCE_OK;
  m.u.announce_ok.origin = 0x99;
  m.u.announce_ok.active = 1;
  n = enc(&m, WT_MOQ_LITE_05, -1, buf, sizeof(buf));
  memset(&m, 0, sizeof(m));
  m.type = WT_MOQ_ANNOUNCE;
  m.u.announce.status = WT_MOQ_ANNOUNCE_ACTIVE;
  m.u.announce.suffix = S("bc");
  n += enc(&m, WT_MOQ_LITE_05, -1, buf + n, sizeof(buf) - n);
  h_data(h, 100, buf, n, 0);
  CHECK_EQ(counters(h)->moq_broadcasts, 1);
  /* a restart (the same ANNOUNCE again) is not a protocol error on -05 */
  n = enc(&m, WT_MOQ_LITE_05, -1, buf, sizeof(buf));
  h_data(h, 100, buf, n, 0);
  CHECK_EQ(counters(h)->moq_malformed, 0);
  CHECK_EQ(counters(h)->moq_broadcasts, 1);

  /* a -05 subscriber's announce stream: ANNOUNCE_OK {0, 1}, then bc with
   * the publisher's origin as its hop */
  mark = h->n;
  CHECK_EQ(h_session(h, 2, "/moq/room", V05, sizeof(V05), 3), 200);
  h_event(h, wt_msg_ev_stream_open(200, 2, 0, 1));
  memset(&m, 0, sizeof(m));
  m.type = WT_MOQ_ANNOUNCE_PLEASE;
  m.u.announce_please.prefix = S("");
  n = enc(&m, WT_MOQ_LITE_05, WT_MOQ_KIND_ANNOUNCE, buf, sizeof(buf));
  h_data(h, 200, buf, n, 0);
  memset(&m, 0, sizeof(m));
  m.type = WT_MOQ_ANNOUNCE_OK;
  m.u.announce_ok.active = 1;
  w = enc(&m, WT_MOQ_LITE_05, -1, want, sizeof(want));
  memset(&m, 0, sizeof(m));
  m.type = WT_MOQ_ANNOUNCE;
  m.u.announce.status = WT_MOQ_ANNOUNCE_ACTIVE;
  m.u.announce.suffix = S("bc");
  m.u.announce.n_hops = 1;
  m.u.announce.hops[0] = 0x99;
  w += enc(&m, WT_MOQ_LITE_05, -1, want + w, sizeof(want) - w);
  n = written(h, mark, 200, 0, got, sizeof(got), &fin);
  CHECK(n == w && !memcmp(got, want, w));

  /* TRACK: asked from the publisher once, its TRACK_INFO passed on */
  mark = h->n;
  h_event(h, wt_msg_ev_stream_open(202, 2, 8, 1));
  memset(&m, 0, sizeof(m));
  m.type = WT_MOQ_TRACK;
  m.u.track.broadcast = S("bc");
  m.u.track.track = S("a");
  n = enc(&m, WT_MOQ_LITE_05, WT_MOQ_KIND_TRACK, buf, sizeof(buf));
  h_data(h, 202, buf, n, 0);
  uint64_t tr_tok = opened(h, mark, 1, 0);
  CHECK(tr_tok != 0);
  w = enc(&m, WT_MOQ_LITE_05, WT_MOQ_KIND_TRACK, want, sizeof(want));
  n = written(h, mark, 0, tr_tok, got, sizeof(got), &fin);
  CHECK(n == w && !memcmp(got, want, w));
  CHECK_EQ(find(h, mark, WT_CMD_WRITE, 202, 0), -1);
  h_event(h, wt_msg_ev_stream_opened(102, tr_tok, 9));
  mark = h->n;
  memset(&m, 0, sizeof(m));
  m.type = WT_MOQ_TRACK_INFO;
  m.u.track_info.priority = 2;
  m.u.track_info.max_latency = 3000;
  m.u.track_info.timescale = 1000;
  size_t ti_n = enc(&m, WT_MOQ_LITE_05, -1, buf, sizeof(buf));
  h_data(h, 102, buf, ti_n, 1);
  n = written(h, mark, 202, 0, got, sizeof(got), &fin);
  CHECK(n == ti_n && !memcmp(got, buf, n) && fin);
  int wf = find(h, mark, WT_CMD_WRITE, 102, 0); /* our FIN towards the publisher */
  CHECK(wf >= 0 && h->cmds[wf].fin);
  h_data(h, 202, NULL, 0, 1);
  mark = h->n; /* a second TRACK: from what is kept, nothing asked */
  h_event(h, wt_msg_ev_stream_open(203, 2, 12, 1));
  n = enc(&(wt_moq_msg){.type = WT_MOQ_TRACK, .u.track = {.broadcast = S("bc"), .track = S("a")}},
          WT_MOQ_LITE_05, WT_MOQ_KIND_TRACK, want, sizeof(want));
  h_data(h, 203, want, n, 0);
  CHECK_EQ(opened(h, mark, 1, 0), 0);
  w = written(h, mark, 203, 0, got, sizeof(got), &fin);
  CHECK(w == ti_n && !memcmp(got, buf, w) && fin);
  CHECK_EQ(counters(h)->moq_track_infos, 2);

  /* SUBSCRIBE: accepted without a message; SUBSCRIBE_START with the first
   * group; the group's bytes (timestamps included) passed on as they are */
  mark = h->n;
  h_event(h, wt_msg_ev_stream_open(201, 2, 4, 1));
  memset(&m, 0, sizeof(m));
  m.type = WT_MOQ_SUBSCRIBE;
  m.u.subscribe.broadcast = S("bc");
  m.u.subscribe.track = S("a");
  n = enc(&m, WT_MOQ_LITE_05, WT_MOQ_KIND_SUBSCRIBE, buf, sizeof(buf));
  h_data(h, 201, buf, n, 0);
  uint64_t up_tok = opened(h, mark, 1, 0);
  CHECK(up_tok != 0);
  h_event(h, wt_msg_ev_stream_opened(101, up_tok, 5));
  CHECK_EQ(find(h, mark, WT_CMD_WRITE, 201, 0), -1);
  memset(&m, 0, sizeof(m));
  m.type = WT_MOQ_SUBSCRIBE_START;
  m.u.range.group = 5;
  n = enc(&m, WT_MOQ_LITE_05, -1, buf, sizeof(buf));
  h_data(h, 101, buf, n, 0);
  CHECK_EQ(find(h, mark, WT_CMD_WRITE, 201, 0), -1); /* no group yet: START waits */
  uint8_t g5[256];
  size_t g5n = group05(5, g5, sizeof(g5), &hdr);
  mark = h->n;
  h_event(h, wt_msg_ev_stream_open(300, 1, 3, 0));
  h_data(h, 300, g5, hdr + 3, 0); /* in two reads, the cut inside a timestamp */
  h_data(h, 300, g5 + hdr + 3, g5n - hdr - 3, 1);
  n = written(h, mark, 201, 0, got, sizeof(got), &fin);
  w = enc(&m, WT_MOQ_LITE_05, -1, want, sizeof(want));
  CHECK(n == w && !memcmp(got, want, w) && !fin); /* START 5 */
  int gs = find(h, mark, WT_CMD_GROUP_STREAM, 0, 0);
  CHECK_FATAL(gs >= 0);
  n = group_bytes(h, mark, h->cmds[gs].gsid, got, &fin);
  CHECK(n == g5n && !memcmp(got, g5, n) && fin);
  CHECK_EQ(counters(h)->moq_frames_in, 3);
  h_event(h, wt_msg_ev_stream_close(300, 0));

  /* FETCH of group 5 (kept): its frames as received, then FIN */
  mark = h->n;
  h_fetch(h, 204, 16, "a", 5);
  n = written(h, mark, 204, 0, got, sizeof(got), &fin);
  CHECK(n == g5n - hdr && !memcmp(got, g5 + hdr, n) && fin);
  CHECK_EQ(counters(h)->moq_fetches, 1);
  /* groups 6 and 7: 5 is evicted (two kept); 6 is fetched, 5 is not */
  for (uint64_t seq = 6; seq <= 7; seq++) {
    uint8_t g[256];
    size_t gn = group05(seq, g, sizeof(g), &hdr);
    h_event(h, wt_msg_ev_stream_open(300 + seq, 1, 3 + 4 * seq, 0));
    h_data(h, 300 + seq, g, gn, 1);
    h_event(h, wt_msg_ev_stream_close(300 + seq, 0));
  }
  mark = h->n;
  h_fetch(h, 205, 20, "a", 5);
  CHECK(refused(h, mark, 205, WT_APP_MOQ_NOT_FOUND, 1));
  mark = h->n;
  h_fetch(h, 206, 24, "a", 6);
  n = written(h, mark, 206, 0, got, sizeof(got), &fin);
  uint8_t g6[256];
  size_t g6n = group05(6, g6, sizeof(g6), &hdr);
  CHECK(n == g6n - hdr && !memcmp(got, g6 + hdr, n) && fin);
  mark = h->n;
  h_fetch(h, 207, 28, "a", 1000); /* never seen */
  CHECK(refused(h, mark, 207, WT_APP_MOQ_NOT_FOUND, 1));
  mark = h->n;
  h_fetch(h, 208, 32, "nope", 6); /* no such track held */
  CHECK(refused(h, mark, 208, WT_APP_MOQ_NOT_FOUND, 1));
  CHECK_EQ(counters(h)->moq_fetches, 2);
  CHECK_EQ(counters(h)->moq_fetch_missed, 3);

  /* a -04 session: bc is not announced to it, and cannot be subscribed */
  mark = h->n;
  CHECK_EQ(h_session(h, 3, "/moq/room", V04, sizeof(V04), 2), 200);
  h_event(h, wt_msg_ev_stream_open(400, 3, 0, 1));
  memset(&m, 0, sizeof(m));
  m.type = WT_MOQ_ANNOUNCE_PLEASE;
  m.u.announce_please.prefix = S("");
  n = enc(&m, WT_MOQ_LITE_04, WT_MOQ_KIND_ANNOUNCE, buf, sizeof(buf));
  h_data(h, 400, buf, n, 0);
  CHECK_EQ(find(h, mark, WT_CMD_WRITE, 400, 0), -1);
  h_event(h, wt_msg_ev_stream_open(401, 3, 4, 1));
  memset(&m, 0, sizeof(m));
  m.type = WT_MOQ_SUBSCRIBE;
  m.u.subscribe.broadcast = S("bc");
  m.u.subscribe.track = S("a");
  n = enc(&m, WT_MOQ_LITE_04, WT_MOQ_KIND_SUBSCRIBE, buf, sizeof(buf));
  h_data(h, 401, buf, n, 0);
  CHECK(refused(h, mark, 401, WT_APP_MOQ_UNSUPPORTED, 1));
  CHECK_EQ(counters(h)->moq_unsupported, 1);

  /* bad -05 input from subscriber 2 */
  struct {
    uint64_t sid;
    const char *bytes;
    size_t len;
    uint32_t code;
  } bad[] = {
      {500, "\x06\x53\x88", 3, WT_APP_MOQ_PROTOCOL}, /* TRACK of 5000 bytes */
      {501,
       "\x06\x03\x02"
       "bc",
       5, WT_APP_MOQ_PROTOCOL}, /* TRACK without a name */
      {502,
       "\x03\x04\x02"
       "bc\x01",
       6, WT_APP_MOQ_PROTOCOL}, /* FETCH cut short */
      {503,
       "\x02\x0c\x09\x02"
       "bc\x01"
       "a\x00\x00\x00\x06\x03",
       14, WT_APP_MOQ_PROTOCOL}, /* SUBSCRIBE start group 5 > end group 2 */
      {504,
       "\x06\x06\x04"
       "nope\x00",
       8, WT_APP_MOQ_NOT_FOUND}, /* TRACK of no broadcast */
  };
  uint64_t malformed = counters(h)->moq_malformed;
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    mark = h->n;
    h_event(h, wt_msg_ev_stream_open(bad[i].sid, 2, 100 + 4 * i, 1));
    h_data(h, bad[i].sid, (const uint8_t *)bad[i].bytes, bad[i].len, 0);
    if (!refused(h, mark, bad[i].sid, bad[i].code, 1)) {
      fprintf(stderr, "bad -05 input case %zu\n", i);
    }
    CHECK(refused(h, mark, bad[i].sid, bad[i].code, 1));
  }
  CHECK_EQ(counters(h)->moq_malformed, malformed + 4);
  /* a SETUP with a path (not on WebTransport), and a TRACK_INFO with
   * timescale 0 from the publisher: its waiter is refused when it closes */
  mark = h->n;
  h_event(h, wt_msg_ev_stream_open(600, 2, 6, 0));
  h_data(h, 600, (const uint8_t *)"\x01\x05\x01\x02\x02/x", 7, 0);
  CHECK(refused(h, mark, 600, WT_APP_MOQ_PROTOCOL, 0));
  h_event(h, wt_msg_ev_stream_open(209, 2, 200, 1));
  n = enc(&(wt_moq_msg){.type = WT_MOQ_TRACK, .u.track = {.broadcast = S("bc"), .track = S("b")}},
          WT_MOQ_LITE_05, WT_MOQ_KIND_TRACK, buf, sizeof(buf));
  h_data(h, 209, buf, n, 0);
  uint64_t tr2_tok = opened(h, mark, 1, 0);
  CHECK(tr2_tok != 0);
  h_event(h, wt_msg_ev_stream_opened(103, tr2_tok, 13));
  h_data(h, 103, (const uint8_t *)"\x04\x00\x00\x00\x00", 5, 0);
  CHECK(refused(h, mark, 103, WT_APP_MOQ_PROTOCOL, 1));
  h_event(h, wt_msg_ev_stream_close(103, 0));
  CHECK(refused(h, mark, 209, WT_APP_MOQ_NOT_FOUND, 1));
  CHECK_EQ(counters(h)->moq_malformed, malformed + 6);

  /* a range the track is past already (6..6, the newest is 7): SUBSCRIBE_END
   * {7} and FIN at once; the client's FIN then is not answered again */
  mark = h->n;
  h_event(h, wt_msg_ev_stream_open(210, 2, 204, 1));
  memset(&m, 0, sizeof(m));
  m.type = WT_MOQ_SUBSCRIBE;
  m.u.subscribe.id = 1;
  m.u.subscribe.broadcast = S("bc");
  m.u.subscribe.track = S("a");
  m.u.subscribe.p =
      (wt_moq_sub_params){.has_start = 1, .start_group = 6, .has_end = 1, .end_group = 6};
  n = enc(&m, WT_MOQ_LITE_05, WT_MOQ_KIND_SUBSCRIBE, buf, sizeof(buf));
  h_data(h, 210, buf, n, 0);
  memset(&m, 0, sizeof(m));
  m.type = WT_MOQ_SUBSCRIBE_END;
  m.u.range.group = 7;
  w = enc(&m, WT_MOQ_LITE_05, -1, want, sizeof(want));
  n = written(h, mark, 210, 0, got, sizeof(got), &fin);
  CHECK(n == w && !memcmp(got, want, w) && fin);
  uint64_t limit = counters(h)->moq_limit;
  mark = h->n;
  h_data(h, 210, NULL, 0, 1);
  CHECK_EQ(find(h, mark, WT_CMD_RESET, 210, 0), -1);
  CHECK_EQ(find(h, mark, WT_CMD_WRITE, 210, 0), -1);
  CHECK_EQ(counters(h)->moq_limit, limit);

  /* the broadcast ends: SUBSCRIBE_END (one past group 7), then our FIN */
  mark = h->n;
  memset(&m, 0, sizeof(m));
  m.type = WT_MOQ_ANNOUNCE;
  m.u.announce.status = WT_MOQ_ANNOUNCE_ENDED;
  m.u.announce.suffix = S("bc");
  n = enc(&m, WT_MOQ_LITE_05, -1, buf, sizeof(buf));
  h_data(h, 100, buf, n, 0);
  n = written(h, mark, 201, 0, got, sizeof(got), &fin);
  memset(&m, 0, sizeof(m));
  m.type = WT_MOQ_SUBSCRIBE_END;
  m.u.range.group = 8;
  w = enc(&m, WT_MOQ_LITE_05, -1, want, sizeof(want));
  CHECK(n == w && !memcmp(got, want, w) && fin);

  /* everything closes */
  uint64_t streams[] = {100, 101, 102, 150, 200, 201, 202, 203, 204, 205, 206, 207,
                        208, 209, 210, 400, 401, 500, 501, 502, 503, 504, 600};
  for (size_t i = 0; i < sizeof(streams) / sizeof(streams[0]); i++) {
    h_event(h, wt_msg_ev_stream_close(streams[i], 0));
  }
  for (size_t i = 0; i < h->n; i++) {
    uint64_t t = h->cmds[i].token;
    if (h->cmds[i].kind == WT_CMD_OPEN_STREAM && t != ann_tok && t != up_tok && t != tr_tok &&
        t != tr2_tok) {
      h_event(h, wt_msg_ev_stream_close(0, t));
    }
  }
  for (uint64_t s = 1; s <= 3; s++) {
    h_event(h, wt_msg_ev_session_close(s, 0, 1, NULL, 0));
  }
  h_close(h);
}

/* A publisher that leaves mid-group: the mirrored stream is reset, the
 * subscriber's stream ends, the broadcast is announced as ended. */
static void test_publisher_leaves(void) {
  harness *h = &g_h;
  wt_apps_config cfg;
  wt_apps_config_default(&cfg);
  cfg.enabled = WT_APPS_MOQ;
  CHECK_FATAL(h_open(h, &cfg) == 0);
  uint8_t buf[512];
  size_t n;
  wt_moq_msg m;
  size_t mark = h->n;
  CHECK_EQ(h_session(h, 1, "/moq/x", V04, sizeof(V04), 2), 200);
  uint64_t ann_tok = opened(h, mark, 1, 0);
  h_event(h, wt_msg_ev_stream_opened(100, ann_tok, 1));
  memset(&m, 0, sizeof(m));
  m.type = WT_MOQ_ANNOUNCE;
  m.u.announce.status = WT_MOQ_ANNOUNCE_ACTIVE;
  m.u.announce.suffix = S("b");
  n = enc(&m, WT_MOQ_LITE_04, -1, buf, sizeof(buf));
  h_data(h, 100, buf, n, 0);
  CHECK_EQ(h_session(h, 2, "/moq/x", V04, sizeof(V04), 2), 200);
  h_event(h, wt_msg_ev_stream_open(200, 2, 0, 1));
  memset(&m, 0, sizeof(m));
  m.type = WT_MOQ_SUBSCRIBE;
  m.u.subscribe.broadcast = S("b");
  m.u.subscribe.track = S("t");
  n = enc(&m, WT_MOQ_LITE_04, WT_MOQ_KIND_SUBSCRIBE, buf, sizeof(buf));
  mark = h->n;
  h_data(h, 200, buf, n, 0);
  uint64_t up_tok = opened(h, mark, 1, 0);
  h_event(h, wt_msg_ev_stream_opened(101, up_tok, 5));
  memset(&m, 0, sizeof(m));
  m.type = WT_MOQ_SUBSCRIBE_OK;
  n = enc(&m, WT_MOQ_LITE_04, -1, buf, sizeof(buf));
  h_data(h, 101, buf, n, 0);
  h_event(h, wt_msg_ev_stream_open(300, 1, 3, 0));
  h_data(h, 300, (const uint8_t *)"\x00\x02\x00\x00\x05he", 7, 0); /* a frame cut short */
  mark = h->n;
  /* the publisher's connection is gone: its streams close, then it */
  h_event(h, wt_msg_ev_stream_close(300, 0));
  int gr = find(h, mark, WT_CMD_GROUP_RESET, 0, 0);
  CHECK(gr >= 0 && h->cmds[gr].code == WT_APP_MOQ_GONE);
  h_event(h, wt_msg_ev_stream_close(101, 0));
  int wf = find(h, mark, WT_CMD_RESET, 200, 0); /* after the OK: reset, gone */
  CHECK(wf >= 0 && h->cmds[wf].code == WT_APP_MOQ_GONE);
  h_event(h, wt_msg_ev_stream_close(100, 0));
  h_event(h, wt_msg_ev_session_close(1, 0, 0, NULL, 0));
  h_event(h, wt_msg_ev_stream_close(200, 0));
  for (size_t i = 0; i < h->n; i++) {
    if (h->cmds[i].kind == WT_CMD_OPEN_STREAM && h->cmds[i].session == 2) {
      h_event(h, wt_msg_ev_stream_close(0, h->cmds[i].token));
    }
  }
  h_event(h, wt_msg_ev_session_close(2, 0, 1, NULL, 0));
  h_close(h);
}

/* Bounds on what one client can make: announce streams per session, and
 * broadcasts per publishing session (more ANNOUNCEs ignored, counted). */
static void test_bounds(void) {
  harness *h = &g_h;
  wt_apps_config cfg;
  wt_apps_config_default(&cfg);
  cfg.enabled = WT_APPS_MOQ;
  cfg.moq_max_interests = 2;
  cfg.moq_max_published = 3;
  CHECK_FATAL(h_open(h, &cfg) == 0);
  uint8_t buf[512];
  size_t n, mark = h->n;
  wt_moq_msg m;
  CHECK_EQ(h_session(h, 1, "/moq/b", V04, sizeof(V04), 2), 200);
  uint64_t ann_tok = opened(h, mark, 1, 0);
  h_event(h, wt_msg_ev_stream_opened(100, ann_tok, 1));
  for (int i = 0; i < 5; i++) {
    char name[8];
    snprintf(name, sizeof(name), "b%d", i);
    memset(&m, 0, sizeof(m));
    m.type = WT_MOQ_ANNOUNCE;
    m.u.announce.status = WT_MOQ_ANNOUNCE_ACTIVE;
    m.u.announce.suffix = S(name);
    n = enc(&m, WT_MOQ_LITE_04, -1, buf, sizeof(buf));
    h_data(h, 100, buf, n, 0);
  }
  CHECK_EQ(counters(h)->moq_broadcasts, 3);
  CHECK_EQ(counters(h)->moq_limit, 2);
  CHECK_EQ(find(h, 0, WT_CMD_RESET, 0, 0), -1); /* ignored, the stream lives on */
  for (uint64_t i = 0; i < 3; i++) {
    mark = h->n;
    h_event(h, wt_msg_ev_stream_open(200 + i, 1, 4 * i, 1));
    memset(&m, 0, sizeof(m));
    m.type = WT_MOQ_ANNOUNCE_PLEASE;
    m.u.announce_please.prefix = S("");
    n = enc(&m, WT_MOQ_LITE_04, WT_MOQ_KIND_ANNOUNCE, buf, sizeof(buf));
    h_data(h, 200 + i, buf, n, 0);
    if (i < 2) {
      CHECK_EQ(counters(h)->moq_announces_sent, 3 * (i + 1)); /* its own 3 broadcasts */
    } else {
      CHECK(refused(h, mark, 200 + i, WT_APP_MOQ_LIMIT, 1));
    }
  }
  CHECK_EQ(counters(h)->moq_limit, 3);
  for (uint64_t s = 100; s <= 202; s = s == 100 ? 200 : s + 1) {
    h_event(h, wt_msg_ev_stream_close(s, 0));
  }
  h_event(h, wt_msg_ev_session_close(1, 0, 1, NULL, 0));
  h_close(h);
}

/* Open subscription id on session sess's stream sid to bc/t with params p
 * (-04); the group its fan joined (0 when it was refused). */
static uint64_t subscribe(harness *h, uint64_t sess, uint64_t sid, uint64_t id,
                          const wt_moq_sub_params *p) {
  uint8_t buf[256];
  wt_moq_msg m;
  memset(&m, 0, sizeof(m));
  m.type = WT_MOQ_SUBSCRIBE;
  m.u.subscribe.id = id;
  m.u.subscribe.broadcast = S("bc");
  m.u.subscribe.track = S("t");
  m.u.subscribe.p = *p;
  size_t n = enc(&m, WT_MOQ_LITE_04, WT_MOQ_KIND_SUBSCRIBE, buf, sizeof(buf));
  size_t mark = h->n;
  h_event(h, wt_msg_ev_stream_open(sid, sess, sid * 4, 1));
  h_data(h, sid, buf, n, 0);
  int j = find(h, mark, WT_CMD_GROUP_JOIN, 0, 0);
  return j >= 0 ? h->cmds[j].group : 0;
}

/* The module's extra metric lines (per-broadcast series) into g_metrics. */
static char g_metrics[8192];
static size_t g_metrics_len;

static int metrics_print(void *sink, const char *fmt, ...) {
  (void)sink;
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(g_metrics + g_metrics_len, sizeof(g_metrics) - g_metrics_len, fmt, ap);
  va_end(ap);
  if (n < 0 || (size_t)n >= sizeof(g_metrics) - g_metrics_len) {
    return WT_ERR_NOBUF;
  }
  g_metrics_len += (size_t)n;
  return 0;
}

static const char *metrics(harness *h) {
  const wt_app_module *mod = wt_apps_module_get(h->am);
  g_metrics_len = 0;
  g_metrics[0] = '\0';
  CHECK_EQ(mod->metrics_extra(mod->arg, metrics_print, NULL), 0);
  return g_metrics;
}

/* The module's /moq.json members (json_extra "moq_"), then its SIGUSR1
 * "relay" value into g_stats. */
static char g_stats[16384];
static const char *moq_json(harness *h) {
  const wt_app_module *mod = wt_apps_module_get(h->am);
  g_metrics_len = 0;
  g_metrics[0] = '\0';
  CHECK_EQ(mod->json_extra(mod->arg, "relay_", metrics_print, NULL), 0);
  CHECK_EQ(g_metrics_len, 0); /* nothing for another prefix */
  CHECK_EQ(mod->json_extra(mod->arg, "moq_", metrics_print, NULL), 0);
  int n = mod->stats_json(mod->arg, g_stats, sizeof(g_stats));
  CHECK(n > 0 && (size_t)n < sizeof(g_stats));
  return g_metrics;
}

/* The fan-out groups of the test (bit k of pub_group's answer: g_ids[k]). */
static uint64_t g_ids[4];

/* One whole group seq from the publisher (session 1) on uni stream sid:
 * the fan groups that opened a mirrored stream for it, as a bit set of
 * their indexes in g_ids. */
static uint64_t pub_group(harness *h, uint64_t sid, uint64_t seq) {
  uint8_t buf[64];
  wt_moq_msg m;
  memset(&m, 0, sizeof(m));
  m.type = WT_MOQ_GROUP;
  m.u.group.subscribe = 0;
  m.u.group.sequence = seq;
  size_t n = enc(&m, WT_MOQ_LITE_04, WT_MOQ_UNI_GROUP, buf, sizeof(buf));
  memcpy(buf + n, "\x02hi", 3);
  size_t mark = h->n;
  h_event(h, wt_msg_ev_stream_open(sid, 1, sid * 4 + 3, 0));
  h_data(h, sid, buf, n + 3, 1);
  h_event(h, wt_msg_ev_stream_close(sid, 0));
  uint64_t set = 0;
  for (size_t i = mark; i < h->n; i++) {
    for (int k = 0; k < 4; k++) {
      if (h->cmds[i].kind == WT_CMD_GROUP_STREAM && g_ids[k] && h->cmds[i].group == g_ids[k]) {
        set |= UINT64_C(1) << k;
      }
    }
  }
  return set;
}

/* Priorities and max latency reach the fan-out (pooled members, updated by
 * SUBSCRIBE_UPDATE); start/end groups: a range has a fan of its own, gets
 * the cached group only when in range, and its subscription ends (our FIN)
 * after the end group; start > end, an update on a failed subscription. */
static void test_policy_and_ranges(void) {
  harness *h = &g_h;
  wt_apps_config cfg;
  wt_apps_config_default(&cfg);
  cfg.enabled = WT_APPS_MOQ;
  CHECK_FATAL(h_open(h, &cfg) == 0);
  uint8_t buf[256];
  size_t n, mark = h->n;
  wt_moq_msg m;
  int fin;
  CHECK_EQ(h_session(h, 1, "/moq/p", V04, sizeof(V04), 2), 200);
  uint64_t ann_tok = opened(h, mark, 1, 0);
  h_event(h, wt_msg_ev_stream_opened(100, ann_tok, 1));
  memset(&m, 0, sizeof(m));
  m.type = WT_MOQ_ANNOUNCE;
  m.u.announce.status = WT_MOQ_ANNOUNCE_ACTIVE;
  m.u.announce.suffix = S("bc");
  n = enc(&m, WT_MOQ_LITE_04, -1, buf, sizeof(buf));
  h_data(h, 100, buf, n, 0);
  CHECK_EQ(h_session(h, 2, "/moq/p", V04, sizeof(V04), 2), 200);

  /* live, priority 3, 500 ms: a pooled member with both */
  wt_moq_sub_params p = {.priority = 3, .max_latency = 500};
  mark = h->n;
  memset(g_ids, 0, sizeof(g_ids));
  uint64_t g_live = g_ids[0] = subscribe(h, 2, 200, 0, &p);
  CHECK_FATAL(g_live != 0);
  int j = find(h, mark, WT_CMD_GROUP_JOIN, 0, 0);
  CHECK(h->cmds[j].pooled == 1 && h->cmds[j].prio == 3 &&
        h->cmds[j].max_lat_ns == UINT64_C(500) * 1000000u);
  uint64_t up_tok = opened(h, mark, 1, 0);
  h_event(h, wt_msg_ev_stream_opened(101, up_tok, 5));
  memset(&m, 0, sizeof(m));
  m.type = WT_MOQ_SUBSCRIBE_OK;
  n = enc(&m, WT_MOQ_LITE_04, -1, buf, sizeof(buf));
  h_data(h, 101, buf, n, 0);
  /* SUBSCRIBE_UPDATE: priority 9, unbounded: the member is updated */
  memset(&m, 0, sizeof(m));
  m.type = WT_MOQ_SUBSCRIBE_UPDATE;
  m.u.update.priority = 9;
  n = enc(&m, WT_MOQ_LITE_04, -1, buf, sizeof(buf));
  mark = h->n;
  h_data(h, 200, buf, n, 0);
  j = find(h, mark, WT_CMD_GROUP_JOIN, 0, 0);
  CHECK(j >= 0 && h->cmds[j].group == g_live && h->cmds[j].prio == 9 && h->cmds[j].max_lat_ns == 0);
  CHECK_EQ(counters(h)->moq_updates, 1);

  /* groups 5 and 6 reach the live fan */
  CHECK_EQ(pub_group(h, 300, 5), 1);
  /* start 6 (not cached yet: 5 is), end 7: a fan of its own, nothing now */
  wt_moq_sub_params r = {.has_start = 1, .start_group = 6, .has_end = 1, .end_group = 7};
  mark = h->n;
  uint64_t g_range = g_ids[1] = subscribe(h, 2, 201, 1, &r);
  CHECK(g_range != 0 && g_range != g_live);
  CHECK_EQ(find(h, mark, WT_CMD_GROUP_STREAM, 0, 0), -1);
  /* start 5 (the cached group): it gets group 5 from its start */
  wt_moq_sub_params r5 = {.has_start = 1, .start_group = 5};
  mark = h->n;
  uint64_t g_r5 = g_ids[2] = subscribe(h, 2, 202, 2, &r5);
  int gs = find(h, mark, WT_CMD_GROUP_STREAM, 0, 0);
  CHECK(g_r5 != 0 && gs >= 0 && h->cmds[gs].group == g_r5);
  CHECK_EQ(counters(h)->moq_catchups, 1);
  CHECK_EQ(pub_group(h, 301, 6), 7);
  CHECK_EQ(counters(h)->moq_subs_ended, 0);
  mark = h->n;
  CHECK_EQ(pub_group(h, 302, 7), 7);
  n = written(h, mark, 201, 0, buf, sizeof(buf), &fin);
  CHECK(n == 0 && !fin); /* its end group complete: not yet ended */
  /* the group after its end group: the range's subscription ends (our FIN) */
  CHECK_EQ(pub_group(h, 303, 8), 5);
  n = written(h, mark, 201, 0, buf, sizeof(buf), &fin);
  CHECK(n == 0 && fin);
  CHECK_EQ(counters(h)->moq_subs_ended, 1);
  /* an end group already past: OK, then FIN at once */
  wt_moq_sub_params past = {.has_end = 1, .end_group = 3};
  mark = h->n;
  subscribe(h, 2, 203, 3, &past);
  n = written(h, mark, 203, 0, buf, sizeof(buf), &fin);
  CHECK(n > 0 && fin);
  CHECK_EQ(counters(h)->moq_subs_ended, 2);
  /* start after end: refused, nothing joined */
  wt_moq_sub_params bad = {.has_start = 1, .start_group = 9, .has_end = 1, .end_group = 8};
  mark = h->n;
  CHECK_EQ(subscribe(h, 2, 204, 4, &bad), 0);
  CHECK(refused(h, mark, 204, WT_APP_MOQ_PROTOCOL, 1));
  /* an update on the refused subscription's stream: discarded */
  memset(&m, 0, sizeof(m));
  m.type = WT_MOQ_SUBSCRIBE_UPDATE;
  m.u.update.priority = 1;
  n = enc(&m, WT_MOQ_LITE_04, -1, buf, sizeof(buf));
  mark = h->n;
  h_data(h, 204, buf, n, 0);
  CHECK_EQ(find(h, mark, WT_CMD_GROUP_JOIN, 0, 0), -1);
  CHECK_EQ(counters(h)->moq_updates, 1);
  n = enc(&m, WT_MOQ_LITE_04, WT_MOQ_KIND_SUBSCRIBE, buf, sizeof(buf));
  h_event(h, wt_msg_ev_stream_open(205, 2, 205 * 4, 1));
  mark = h->n;
  /* (a SUBSCRIBE_UPDATE where the SUBSCRIBE belongs is malformed) */
  h_data(h, 205, buf, n, 0);
  CHECK(refused(h, mark, 205, WT_APP_MOQ_PROTOCOL, 1));

  /* the broadcast's own series on /metrics while it lives */
  CHECK(
      strstr(metrics(h),
             "wtcast_moq_broadcast_delivered_total{broadcast=\"moq/p/bc\",kind=\"streams\"} 0\n"));
  CHECK(
      strstr(g_metrics,
             "wtcast_moq_broadcast_dropped_total{broadcast=\"moq/p/bc\",reason=\"priority\"} 0\n"));

  /* and on /moq.json and the SIGUSR1 line: its subscriptions, counters,
   * worst subscriber */
  CHECK(strstr(moq_json(h), ",\"broadcasts_live\":1,\"broadcasts\":[{\"name\":\"moq/p/bc\","
                            "\"subscribers\":"));
  CHECK(strstr(g_metrics, "\"dropped_latency\":0,\"subscriber_dropped_max\":0}]"));
  CHECK(strstr(g_stats, "],\"broadcasts_live\":1,\"broadcasts\":[{\"name\":\"moq/p/bc\","));

  /* the subscriber leaves its ended range: our FIN was sent, its FIN ends it */
  mark = h->n;
  h_data(h, 201, NULL, 0, 1);
  CHECK(find(h, mark, WT_CMD_GROUP_LEAVE, 0, 0) >= 0);
  uint64_t streams[] = {100, 101, 200, 201, 202, 203, 204, 205};
  for (size_t i = 0; i < sizeof(streams) / sizeof(streams[0]); i++) {
    h_event(h, wt_msg_ev_stream_close(streams[i], 0));
  }
  for (size_t i = 0; i < h->n; i++) {
    if (h->cmds[i].kind == WT_CMD_OPEN_STREAM && h->cmds[i].token != ann_tok &&
        h->cmds[i].token != up_tok) {
      h_event(h, wt_msg_ev_stream_close(0, h->cmds[i].token));
    }
  }
  h_event(h, wt_msg_ev_session_close(2, 0, 1, NULL, 0));
  h_event(h, wt_msg_ev_session_close(1, 0, 1, NULL, 0));
  CHECK(!strstr(metrics(h), "moq/p/bc")); /* ended: its series is gone */
  CHECK_EQ(strcmp(moq_json(h), ",\"broadcasts_live\":0,\"broadcasts\":[]"), 0);
  h_close(h);
}

/* A fake authorizer (the real one is ops/wt_authz.c over auth/): the jwt
 * query parameter names the rights. "all": everything under "room";
 * "pubcam": publish under "room/cam"; "subcam": subscribe under
 * "room/cam"; anything else, or none: 401. */
static int fake_grants(const char *prefix, const char *path) {
  size_t n = strlen(prefix);
  return !strncmp(prefix, path, n) && (path[n] == '\0' || path[n] == '/');
}

static int g_auth_checks;

static int fake_check(void *arg, wt_app_session *as, const wt_app_request *req, int action,
                      const char *path) {
  (void)arg, (void)as;
  char tok[32];
  g_auth_checks++;
  if (wt_app_query_get(req->query, "jwt", tok, sizeof(tok)) <= 0) {
    return 401;
  }
  if (!strcmp(tok, "all")) {
    return fake_grants("room", path) ? 0 : 403;
  }
  if (!strcmp(tok, "pubcam")) {
    return action == WT_APP_AUTH_PUBLISH && fake_grants("room/cam", path) ? 0 : 403;
  }
  if (!strcmp(tok, "subcam")) {
    return action == WT_APP_AUTH_SUBSCRIBE && fake_grants("room/cam", path) ? 0 : 403;
  }
  return 401;
}

static void announce(harness *h, uint64_t sid, const char *path, int version) {
  uint8_t buf[128];
  wt_moq_msg m;
  memset(&m, 0, sizeof(m));
  m.type = WT_MOQ_ANNOUNCE;
  m.u.announce.status = WT_MOQ_ANNOUNCE_ACTIVE;
  m.u.announce.suffix = S(path);
  size_t n = enc(&m, version, -1, buf, sizeof(buf));
  h_data(h, sid, buf, n, 0);
}

/* SUBSCRIBE to track "t" of broadcast bc on session sess's stream sid (-04). */
static void subscribe_to(harness *h, uint64_t sess, uint64_t sid, const char *bc) {
  uint8_t buf[256];
  wt_moq_msg m;
  memset(&m, 0, sizeof(m));
  m.type = WT_MOQ_SUBSCRIBE;
  m.u.subscribe.id = sid;
  m.u.subscribe.broadcast = S(bc);
  m.u.subscribe.track = S("t");
  size_t n = enc(&m, WT_MOQ_LITE_04, WT_MOQ_KIND_SUBSCRIBE, buf, sizeof(buf));
  h_event(h, wt_msg_ev_stream_open(sid, sess, sid * 4, 1));
  h_data(h, sid, buf, n, 0);
}

/* /moq.json's broadcasts (json_extra): the live ones with the most
 * subscriptions, at most --metrics-max-channels (here 2) of them, most
 * first; an unsubscribe counts down. */
static void test_broadcast_json(void) {
  harness *h = &g_h;
  wt_apps_config cfg;
  wt_apps_config_default(&cfg);
  cfg.enabled = WT_APPS_MOQ;
  cfg.relay_metrics_channels = 2;
  CHECK_FATAL(h_open(h, &cfg) == 0);
  size_t mark = h->n;
  CHECK_EQ(h_session(h, 1, "/moq/p", V04, sizeof(V04), 2), 200);
  uint64_t ann_tok = opened(h, mark, 1, 0);
  h_event(h, wt_msg_ev_stream_opened(100, ann_tok, 1));
  announce(h, 100, "b0", WT_MOQ_LITE_04);
  announce(h, 100, "b1", WT_MOQ_LITE_04);
  announce(h, 100, "b2", WT_MOQ_LITE_04);
  CHECK_EQ(h_session(h, 2, "/moq/p", V04, sizeof(V04), 2), 200);
  CHECK_EQ(h_session(h, 3, "/moq/p", V04, sizeof(V04), 2), 200);
  subscribe_to(h, 2, 200, "b1");
  subscribe_to(h, 3, 300, "b1");
  subscribe_to(h, 2, 201, "b2");
  const char *j = moq_json(h);
  CHECK(strstr(j, ",\"broadcasts_live\":3,\"broadcasts\":[{\"name\":\"moq/p/b1\","
                  "\"subscribers\":2,"));
  CHECK(strstr(j, "},{\"name\":\"moq/p/b2\",\"subscribers\":1,"));
  CHECK(!strstr(j, "moq/p/b0"));                     /* the third: not listed */
  CHECK(strstr(g_stats, "{\"name\":\"moq/p/b0\",")); /* SIGUSR1: up to 16 */
  /* both b1 subscriptions end: b2 comes first, then b1 and b0 (0 each:
   * the newest broadcast first) */
  h_data(h, 200, NULL, 0, 1);
  h_data(h, 300, NULL, 0, 1);
  j = moq_json(h);
  CHECK(strstr(j, "[{\"name\":\"moq/p/b2\",\"subscribers\":1,"));
  CHECK(strstr(j, "},{\"name\":\"moq/p/b1\",\"subscribers\":0,"));
  uint64_t streams[] = {100, 200, 201, 300};
  for (size_t i = 0; i < sizeof(streams) / sizeof(streams[0]); i++) {
    h_event(h, wt_msg_ev_stream_close(streams[i], 0));
  }
  for (size_t i = 0; i < h->n; i++) {
    if (h->cmds[i].kind == WT_CMD_OPEN_STREAM && h->cmds[i].token != ann_tok) {
      h_event(h, wt_msg_ev_stream_close(0, h->cmds[i].token));
    }
  }
  for (uint64_t s = 3; s >= 1; s--) {
    h_event(h, wt_msg_ev_session_close(s, 0, 1, NULL, 0));
  }
  CHECK_EQ(strcmp(moq_json(h), ",\"broadcasts_live\":0,\"broadcasts\":[]"), 0);
  h_close(h);
}

/* Tokens scoped by root: /moq/room is "room" in the token's namespace; no
 * or a bad token: 401 before any state; an ANNOUNCE outside the publish
 * rights is ignored, a SUBSCRIBE outside the subscribe rights reset with
 * 0x26 (even to a live broadcast), announces filtered by subscribe rights;
 * a token granting the whole root is checked once, not per broadcast. */
static void test_tokens(void) {
  harness *h = &g_h;
  wt_apps_config cfg;
  wt_apps_config_default(&cfg);
  cfg.enabled = WT_APPS_MOQ;
  wt_app_authorizer az = {.check = fake_check};
  cfg.auth = &az;
  CHECK_FATAL(h_open(h, &cfg) == 0);
  uint8_t buf[256], got[256];
  int fin;
  size_t n, mark;
  wt_moq_msg m;
  CHECK_EQ(h_session(h, 9, "/moq/room", V04, sizeof(V04), 2), 401);
  CHECK_EQ(h_session(h, 9, "/moq/room?jwt=forged", V04, sizeof(V04), 2), 401);
  CHECK_EQ(counters(h)->moq_refused, 2);
  CHECK_EQ(counters(h)->moq_forbidden, 2);
  CHECK_EQ(counters(h)->moq_sessions, 0);
  /* publishers: "pubcam" (cam allowed, other not), "all" (mic) */
  uint64_t tok[4] = {0};
  mark = h->n;
  CHECK_EQ(h_session(h, 1, "/moq/room?jwt=pubcam", V04, sizeof(V04), 2), 200);
  tok[1] = opened(h, mark, 1, 0);
  h_event(h, wt_msg_ev_stream_opened(100, tok[1], 1));
  announce(h, 100, "cam", WT_MOQ_LITE_04);
  announce(h, 100, "other", WT_MOQ_LITE_04);
  CHECK_EQ(counters(h)->moq_broadcasts, 1);
  CHECK_EQ(counters(h)->moq_forbidden, 3);
  mark = h->n;
  CHECK_EQ(h_session(h, 3, "/moq/room?jwt=all", V04, sizeof(V04), 2), 200);
  tok[3] = opened(h, mark, 3, 0);
  h_event(h, wt_msg_ev_stream_opened(300, tok[3], 1));
  int checks = g_auth_checks;
  announce(h, 300, "mic", WT_MOQ_LITE_04);
  CHECK_EQ(counters(h)->moq_broadcasts, 2);
  CHECK_EQ(g_auth_checks, checks); /* the whole root granted: no check per broadcast */
  /* a subscriber "subcam": told of cam only; mic refused 0x26; cam served */
  mark = h->n;
  CHECK_EQ(h_session(h, 2, "/moq/room?jwt=subcam", V04, sizeof(V04), 2), 200);
  tok[2] = opened(h, mark, 2, 0);
  h_event(h, wt_msg_ev_stream_open(200, 2, 0, 1));
  memset(&m, 0, sizeof(m));
  m.type = WT_MOQ_ANNOUNCE_PLEASE;
  m.u.announce_please.prefix = S("");
  n = enc(&m, WT_MOQ_LITE_04, WT_MOQ_KIND_ANNOUNCE, buf, sizeof(buf));
  mark = h->n;
  h_data(h, 200, buf, n, 0);
  n = written(h, mark, 200, 0, got, sizeof(got), &fin);
  CHECK(n > 5 && got[1] == WT_MOQ_ANNOUNCE_ACTIVE && got[2] == 3 && !memcmp(got + 3, "cam", 3));
  CHECK_EQ(counters(h)->moq_announces_sent, 1); /* not mic */
  struct {
    uint64_t sess, sid;
    const char *bc;
    uint32_t code; /* 0: accepted */
  } subs[] = {
      {2, 201, "mic", WT_APP_MOQ_FORBIDDEN},
      {2, 202, "nothing", WT_APP_MOQ_FORBIDDEN}, /* outside: not even "not found" */
      {2, 203, "cam", 0},
      {1, 101, "cam", WT_APP_MOQ_FORBIDDEN}, /* publish rights only */
  };
  for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
    memset(&m, 0, sizeof(m));
    m.type = WT_MOQ_SUBSCRIBE;
    m.u.subscribe.id = i;
    m.u.subscribe.broadcast = S(subs[i].bc);
    m.u.subscribe.track = S("t");
    n = enc(&m, WT_MOQ_LITE_04, WT_MOQ_KIND_SUBSCRIBE, buf, sizeof(buf));
    mark = h->n;
    h_event(h, wt_msg_ev_stream_open(subs[i].sid, subs[i].sess, subs[i].sid * 4, 1));
    h_data(h, subs[i].sid, buf, n, 0);
    if (subs[i].code) {
      CHECK(refused(h, mark, subs[i].sid, subs[i].code, 1));
    } else {
      CHECK(opened(h, mark, 1, 0) != 0); /* the upstream SUBSCRIBE to the publisher */
      CHECK(find(h, mark, WT_CMD_GROUP_JOIN, 0, 0) >= 0);
    }
  }
  CHECK_EQ(counters(h)->moq_forbidden, 6);
  CHECK_EQ(counters(h)->moq_not_found, 0);
  uint64_t streams[] = {100, 101, 200, 201, 202, 203, 300};
  for (size_t i = 0; i < sizeof(streams) / sizeof(streams[0]); i++) {
    h_event(h, wt_msg_ev_stream_close(streams[i], 0));
  }
  for (size_t i = 0; i < h->n; i++) {
    if (h->cmds[i].kind == WT_CMD_OPEN_STREAM && h->cmds[i].token != tok[1] &&
        h->cmds[i].token != tok[3]) {
      h_event(h, wt_msg_ev_stream_close(0, h->cmds[i].token));
    }
  }
  for (uint64_t sess = 1; sess <= 3; sess++) {
    h_event(h, wt_msg_ev_session_close(sess, 0, 1, NULL, 0));
  }
  h_close(h);
}

/* Nested roots: a session at /moq/n sees what is published at /moq/n/sub
 * ("cam" there is "sub/cam" here) and subscribes to it through the
 * publisher's own path; a session at /moq/n/x sees "x/mic" published at
 * /moq/n as "mic"; unrelated roots (/moq/nn) see nothing. */
static void test_nested_roots(void) {
  harness *h = &g_h;
  wt_apps_config cfg;
  wt_apps_config_default(&cfg);
  cfg.enabled = WT_APPS_MOQ;
  CHECK_FATAL(h_open(h, &cfg) == 0);
  uint8_t buf[256], got[512], want[256];
  int fin;
  size_t n, w, mark;
  wt_moq_msg m;
  const char *roots[] = {NULL, "/moq/n/sub", "/moq/n", "/moq/n/x", "/moq/nn"};
  uint64_t ann[5] = {0};
  for (uint64_t sess = 1; sess <= 4; sess++) {
    mark = h->n;
    CHECK_EQ(h_session(h, sess, roots[sess], V04, sizeof(V04), 2), 200);
    ann[sess] = opened(h, mark, sess, 0);
    h_event(h, wt_msg_ev_stream_opened(100 * sess, ann[sess], 1));
  }
  announce(h, 100, "cam", WT_MOQ_LITE_04);   /* at moq/n/sub */
  announce(h, 200, "x/mic", WT_MOQ_LITE_04); /* at moq/n */
  CHECK_EQ(counters(h)->moq_broadcasts, 2);
  /* each session's announce stream (prefix ""): what it sees */
  const char *seen[5][2] = {{0}, {"cam", NULL}, {"sub/cam", "x/mic"}, {"mic", NULL}, {NULL, NULL}};
  for (uint64_t sess = 1; sess <= 4; sess++) {
    uint64_t sid = 100 * sess + 1;
    h_event(h, wt_msg_ev_stream_open(sid, sess, 4 * sid, 1));
    memset(&m, 0, sizeof(m));
    m.type = WT_MOQ_ANNOUNCE_PLEASE;
    m.u.announce_please.prefix = S("");
    n = enc(&m, WT_MOQ_LITE_04, WT_MOQ_KIND_ANNOUNCE, buf, sizeof(buf));
    mark = h->n;
    h_data(h, sid, buf, n, 0);
    size_t k = written(h, mark, sid, 0, got, sizeof(got), &fin);
    size_t off = 0;
    for (int j = 0; j < 2; j++) {
      if (!seen[sess][j]) {
        continue;
      }
      memset(&m, 0, sizeof(m));
      m.type = WT_MOQ_ANNOUNCE;
      m.u.announce.status = WT_MOQ_ANNOUNCE_ACTIVE;
      m.u.announce.suffix = S(seen[sess][j]);
      w = enc(&m, WT_MOQ_LITE_04, -1, want, sizeof(want));
      /* in either order */
      int at = off + w <= k && !memcmp(got + off, want, w);
      int other = !at && k >= w && !memcmp(got + k - w, want, w);
      CHECK(at || other);
      off += at ? w : 0;
    }
    if (!seen[sess][0]) {
      CHECK_EQ(k, 0);
    }
  }
  /* session 2 (moq/n) subscribes to sub/cam: the upstream SUBSCRIBE to
   * session 1 names its own path "cam" */
  memset(&m, 0, sizeof(m));
  m.type = WT_MOQ_SUBSCRIBE;
  m.u.subscribe.broadcast = S("sub/cam");
  m.u.subscribe.track = S("t");
  n = enc(&m, WT_MOQ_LITE_04, WT_MOQ_KIND_SUBSCRIBE, buf, sizeof(buf));
  mark = h->n;
  h_event(h, wt_msg_ev_stream_open(202, 2, 4 * 202, 1));
  h_data(h, 202, buf, n, 0);
  uint64_t up = opened(h, mark, 1, 0);
  CHECK(up != 0);
  m.u.subscribe.broadcast = S("cam");
  w = enc(&m, WT_MOQ_LITE_04, WT_MOQ_KIND_SUBSCRIBE, want, sizeof(want));
  n = written(h, mark, 0, up, got, sizeof(got), &fin);
  CHECK(n == w && !memcmp(got, want, w));
  /* session 4 (moq/nn) cannot: not found; session 3 (moq/n/x) gets mic */
  m.u.subscribe.broadcast = S("sub/cam");
  n = enc(&m, WT_MOQ_LITE_04, WT_MOQ_KIND_SUBSCRIBE, buf, sizeof(buf));
  mark = h->n;
  h_event(h, wt_msg_ev_stream_open(402, 4, 4 * 402, 1));
  h_data(h, 402, buf, n, 0);
  CHECK(refused(h, mark, 402, WT_APP_MOQ_NOT_FOUND, 1));
  m.u.subscribe.broadcast = S("mic");
  n = enc(&m, WT_MOQ_LITE_04, WT_MOQ_KIND_SUBSCRIBE, buf, sizeof(buf));
  mark = h->n;
  h_event(h, wt_msg_ev_stream_open(302, 3, 4 * 302, 1));
  h_data(h, 302, buf, n, 0);
  CHECK(opened(h, mark, 2, 0) != 0); /* upstream to session 2, the publisher of x/mic */
  /* the same absolute path announced again from the nested root: taken */
  uint64_t lim = counters(h)->moq_limit;
  announce(h, 300, "mic", WT_MOQ_LITE_04); /* moq/n/x/mic is session 2's */
  CHECK_EQ(counters(h)->moq_limit, lim + 1);
  /* session 1 leaves: session 2's announce stream hears sub/cam ended */
  mark = h->n;
  for (size_t i = 0; i < h->n; i++) {
    if (h->cmds[i].kind == WT_CMD_OPEN_STREAM && h->cmds[i].session == 1 &&
        h->cmds[i].token != ann[1]) {
      h_event(h, wt_msg_ev_stream_close(0, h->cmds[i].token));
    }
  }
  h_event(h, wt_msg_ev_stream_close(100, 0));
  h_event(h, wt_msg_ev_stream_close(101, 0));
  h_event(h, wt_msg_ev_session_close(1, 0, 1, NULL, 0));
  n = written(h, mark, 201, 0, got, sizeof(got), &fin);
  memset(&m, 0, sizeof(m));
  m.type = WT_MOQ_ANNOUNCE;
  m.u.announce.status = WT_MOQ_ANNOUNCE_ENDED;
  m.u.announce.suffix = S("sub/cam");
  w = enc(&m, WT_MOQ_LITE_04, -1, want, sizeof(want));
  CHECK(n >= w && !memcmp(got, want, w));
  uint64_t streams[] = {200, 201, 202, 300, 301, 302, 400, 401, 402};
  for (size_t i = 0; i < sizeof(streams) / sizeof(streams[0]); i++) {
    h_event(h, wt_msg_ev_stream_close(streams[i], 0));
  }
  for (size_t i = 0; i < h->n; i++) {
    if (h->cmds[i].kind == WT_CMD_OPEN_STREAM && h->cmds[i].session != 1 &&
        h->cmds[i].token != ann[2] && h->cmds[i].token != ann[3] && h->cmds[i].token != ann[4]) {
      h_event(h, wt_msg_ev_stream_close(0, h->cmds[i].token));
    }
  }
  for (uint64_t sess = 2; sess <= 4; sess++) {
    h_event(h, wt_msg_ev_session_close(sess, 0, 1, NULL, 0));
  }
  h_close(h);
}

/* ------------------------------------------------------------------ the cascade */

/* A fake locator (wt_app.h): kind "moq" has two candidates (a static peer
 * list); the names looked up and published are recorded. */
static int g_lookups, g_publish[2];
static char g_looked[128], g_pubname[128];

static int fake_lookup(void *arg, const char *kind, const char *name, unsigned idx, char *addr,
                       size_t cap) {
  (void)arg;
  static const char *const peers[] = {"10.0.0.1:4433", "10.0.0.2:4433"};
  g_lookups++;
  snprintf(g_looked, sizeof(g_looked), "%s/%s", kind, name);
  if (strcmp(kind, "moq") || idx >= 2) {
    return 0;
  }
  snprintf(addr, cap, "%s", peers[idx]);
  return 1;
}

static void fake_publish(void *arg, const char *kind, const char *name, int live) {
  (void)arg;
  g_publish[live ? 1 : 0]++;
  snprintf(g_pubname, sizeof(g_pubname), "%s/%s", kind, name);
}

static const wt_app_locator g_loc = {.lookup = fake_lookup, .publish = fake_publish};

/* The CONNECTs since from: their count; the last one's session, authority
 * and path. */
static int connects(harness *h, size_t from, uint64_t *session, char *auth, char *path) {
  int k = 0;
  for (size_t i = from; i < h->n; i++) {
    if (h->cmds[i].kind == WT_CMD_CONNECT) {
      k++;
      *session = h->cmds[i].session;
      const char *d = (const char *)h->cmds[i].data;
      snprintf(auth, 64, "%.63s", d);
      snprintf(path, 128, "%.127s", d + strlen(d) + 1);
    }
  }
  return k;
}

static int count_kind(harness *h, size_t from, uint16_t kind) {
  int k = 0;
  for (size_t i = from; i < h->n; i++) {
    k += h->cmds[i].kind == kind;
  }
  return k;
}

/* The upstream session up opens, answering WT-Protocol "moq-lite-04". */
static void up_opens(harness *h, uint64_t up) {
  static const char f[] = "wt-protocol\0\"moq-lite-04\"";
  wt_buf *b = wt_buf_alloc(h->t.pool, sizeof(f));
  memcpy(b->data, f, sizeof(f));
  b->len = sizeof(f);
  h_event(h, wt_msg_ev_session_open_fields(up, 1200, b, sizeof(f), 1));
}

/* The upstream's group seq on its uni stream sid (id: the subscription
 * our SUBSCRIBE chose), one frame "hi", FIN when fin. */
static void up_group(harness *h, uint64_t up, uint64_t sid, uint64_t id, uint64_t seq, int fin) {
  uint8_t buf[64];
  wt_moq_msg m;
  memset(&m, 0, sizeof(m));
  m.type = WT_MOQ_GROUP;
  m.u.group.subscribe = id;
  m.u.group.sequence = seq;
  size_t n = enc(&m, WT_MOQ_LITE_04, WT_MOQ_UNI_GROUP, buf, sizeof(buf));
  memcpy(buf + n, "\x02hi", 3);
  h_event(h, wt_msg_ev_stream_open(sid, up, sid * 4 + 3, 0));
  h_data(h, sid, buf, n + 3, fin);
  if (fin) {
    h_event(h, wt_msg_ev_stream_close(sid, 0));
  }
}

static uint64_t g_now = 1000000000ull;

static void advance(harness *h, uint64_t ms) {
  g_now += ms * 1000000ull;
  wt_app_ctx_set_now(h->t.ctx, g_now);
  wt_timer_run(&h->t.timers, g_now);
  h_drain(h);
}

/* The moq-lite cascade (wt_apps.h): subscribers first, then the
 * publisher (upstream) appears; ONE upstream session and ONE SUBSCRIBE per
 * track whatever the number of local subscribers; the groups fan out;
 * the upstream lost mid-group: the group reset (a whole-group gap, nothing
 * torn), looked up again at once, subscribed again, and the same fan
 * carries on; hop counts: 508 past the limit, a subscription at the limit
 * never pulled; the last subscriber gone: closed after the linger;
 * publish(1/0) for a local publisher; nothing leaked. */
static void test_cascade(void) {
  harness *h = &g_h;
  wt_apps_config cfg;
  wt_apps_config_default(&cfg);
  cfg.enabled = WT_APPS_MOQ;
  cfg.locator = &g_loc;
  cfg.relay_upstream_token = "tok";
  CHECK_FATAL(h_open(h, &cfg) == 0);
  wt_app_ctx_set_now(h->t.ctx, g_now);
  uint8_t buf[512], got[512], want[512];
  int fin;
  size_t n, w;
  wt_moq_msg m;
  char auth[64], path[128];
  uint64_t up = 0;
  const wt_moq_sub_params p = {.priority = 2};

  /* two subscribers of cam/t before any publisher: one upstream session */
  size_t mark = h->n;
  CHECK_EQ(h_session(h, 2, "/moq/r", V04, sizeof(V04), 2), 200);
  CHECK_EQ(h_session(h, 3, "/moq/r", V04, sizeof(V04), 2), 200);
  memset(&m, 0, sizeof(m));
  m.type = WT_MOQ_SUBSCRIBE;
  m.u.subscribe.broadcast = S("cam");
  m.u.subscribe.track = S("t");
  m.u.subscribe.p = p;
  n = enc(&m, WT_MOQ_LITE_04, WT_MOQ_KIND_SUBSCRIBE, buf, sizeof(buf));
  h_event(h, wt_msg_ev_stream_open(201, 2, 4, 1));
  h_data(h, 201, buf, n, 0);
  h_event(h, wt_msg_ev_stream_open(301, 3, 4, 1));
  h_data(h, 301, buf, n, 0);
  CHECK_EQ(connects(h, mark, &up, auth, path), 1);
  CHECK(strcmp(g_looked, "moq/moq/r/cam") == 0);
  CHECK(strcmp(auth, "10.0.0.1:4433") == 0);
  CHECK(strcmp(path, "/moq/r?hops=1&jwt=tok") == 0);
  CHECK_EQ(counters(h)->moq_not_found, 0);
  CHECK_EQ(find(h, mark, WT_CMD_WRITE, 201, 0), -1); /* no answer yet */
  CHECK_EQ(find(h, mark, WT_CMD_RESET, 201, 0), -1);

  /* it opens: ANNOUNCE_PLEASE (prefix cam), then one SUBSCRIBE (id 0) */
  mark = h->n;
  up_opens(h, up);
  CHECK_EQ(counters(h)->cluster_upstream_opened, 1);
  uint64_t ann = opened(h, mark, up, 0), sub0 = opened(h, mark, up, 1);
  CHECK(ann && sub0 && !opened(h, mark, up, 2));
  memset(&m, 0, sizeof(m));
  m.type = WT_MOQ_ANNOUNCE_PLEASE;
  m.u.announce_please.prefix = S("cam");
  w = enc(&m, WT_MOQ_LITE_04, WT_MOQ_KIND_ANNOUNCE, want, sizeof(want));
  n = written(h, mark, 0, ann, got, sizeof(got), &fin);
  CHECK(n == w && !memcmp(got, want, w));
  memset(&m, 0, sizeof(m));
  m.type = WT_MOQ_SUBSCRIBE;
  m.u.subscribe.id = 0;
  m.u.subscribe.broadcast = S("cam");
  m.u.subscribe.track = S("t");
  m.u.subscribe.p.priority = 2;
  w = enc(&m, WT_MOQ_LITE_04, WT_MOQ_KIND_SUBSCRIBE, want, sizeof(want));
  n = written(h, mark, 0, sub0, got, sizeof(got), &fin);
  CHECK(n == w && !memcmp(got, want, w));
  h_event(h, wt_msg_ev_stream_opened(1000, ann, 0));
  h_event(h, wt_msg_ev_stream_opened(1001, sub0, 4));

  /* the upstream has no such broadcast yet: it refuses the SUBSCRIBE; the
   * local subscribers wait (no reset) */
  mark = h->n;
  h_event(h, wt_msg_ev_stream_reset(1001, WT_APP_MOQ_NOT_FOUND, 1));
  h_event(h, wt_msg_ev_stream_close(1001, 0));
  CHECK_EQ(find(h, mark, WT_CMD_RESET, 201, 0), -1);
  CHECK_EQ(find(h, mark, WT_CMD_RESET, 301, 0), -1);
  CHECK_EQ(count_kind(h, mark, WT_CMD_CONNECT), 0);

  /* the publisher appears there: its ANNOUNCE (suffix "") -> SUBSCRIBE again */
  mark = h->n;
  memset(&m, 0, sizeof(m));
  m.type = WT_MOQ_ANNOUNCE;
  m.u.announce.status = WT_MOQ_ANNOUNCE_ACTIVE;
  m.u.announce.suffix = S("");
  n = enc(&m, WT_MOQ_LITE_04, -1, buf, sizeof(buf));
  h_data(h, 1000, buf, n, 0);
  uint64_t sub1 = opened(h, mark, up, 0);
  CHECK(sub1 != 0);
  h_event(h, wt_msg_ev_stream_opened(1002, sub1, 8));
  /* its OK: both local subscribers answered */
  mark = h->n;
  memset(&m, 0, sizeof(m));
  m.type = WT_MOQ_SUBSCRIBE_OK;
  m.u.update.priority = 2;
  n = enc(&m, WT_MOQ_LITE_04, -1, buf, sizeof(buf));
  h_data(h, 1002, buf, n, 0);
  CHECK(find(h, mark, WT_CMD_WRITE, 201, 0) >= 0);
  CHECK(find(h, mark, WT_CMD_WRITE, 301, 0) >= 0);
  CHECK_EQ(counters(h)->moq_upstream_subscribes, 2); /* the refused one and this */

  /* a group from upstream (subscription 1): one mirrored stream in the fan */
  mark = h->n;
  up_group(h, up, 1100, 1, 0, 1);
  int gs = find(h, mark, WT_CMD_GROUP_STREAM, 0, 0);
  CHECK(gs >= 0);
  uint64_t fan = gs >= 0 ? h->cmds[gs].group : 0;
  CHECK_EQ(count_kind(h, mark, WT_CMD_GROUP_STREAM), 1);
  CHECK_EQ(counters(h)->cluster_upstream_groups, 1);
  CHECK(counters(h)->cluster_upstream_bytes > 0);

  /* the upstream lost mid-group: that group reset (whole), looked up again
   * at once; the subscribers stay */
  mark = h->n;
  up_group(h, up, 1101, 1, 1, 0);
  int gs1 = find(h, mark, WT_CMD_GROUP_STREAM, 0, 0);
  CHECK(gs1 >= 0);
  uint64_t gsid1 = gs1 >= 0 ? h->cmds[gs1].gsid : 0;
  h_event(h, wt_msg_ev_session_close(up, 0, 0, NULL, 0));
  int gr = find(h, mark, WT_CMD_GROUP_RESET, 0, 0);
  CHECK(gr >= 0 && h->cmds[gr].gsid == gsid1);
  CHECK_EQ(find(h, mark, WT_CMD_RESET, 201, 0), -1);
  CHECK_EQ(find(h, mark, WT_CMD_RESET, 301, 0), -1);
  uint64_t up2 = 0;
  CHECK_EQ(connects(h, mark, &up2, auth, path), 1);
  CHECK(up2 != up);
  CHECK_EQ(counters(h)->cluster_reresolves, 1);
  CHECK_EQ(counters(h)->cluster_upstream_live, 0);
  /* the new session: the waiting track subscribed again; groups carry on
   * in the same fan */
  mark = h->n;
  up_opens(h, up2);
  uint64_t sub2 = opened(h, mark, up2, 1);
  CHECK(opened(h, mark, up2, 0) != 0 && sub2 != 0);
  h_event(h, wt_msg_ev_stream_opened(1003, opened(h, mark, up2, 0), 0));
  h_event(h, wt_msg_ev_stream_opened(1004, sub2, 4));
  h_data(h, 1004, buf, n, 0); /* its OK (as before) */
  mark = h->n;
  up_group(h, up2, 1102, 0, 2, 1); /* subscription 0 of this session */
  gs = find(h, mark, WT_CMD_GROUP_STREAM, 0, 0);
  CHECK(gs >= 0 && h->cmds[gs].group == fan);

  /* the upstream cannot subscribe to its edge (nothing flows back up) */
  mark = h->n;
  h_event(h, wt_msg_ev_stream_open(1005, up2, 1, 1));
  memset(&m, 0, sizeof(m));
  m.type = WT_MOQ_SUBSCRIBE;
  m.u.subscribe.broadcast = S("cam");
  m.u.subscribe.track = S("t");
  n = enc(&m, WT_MOQ_LITE_04, WT_MOQ_KIND_SUBSCRIBE, buf, sizeof(buf));
  h_data(h, 1005, buf, n, 0);
  CHECK(refused(h, mark, 1005, WT_APP_MOQ_UNSUPPORTED, 1));

  /* hop counts: past the limit refused (508); at the limit never pulled */
  CHECK_EQ(h_session(h, 4, "/moq/r?hops=5", V04, sizeof(V04), 2), 508);
  CHECK_EQ(counters(h)->cluster_hops_refused, 1);
  mark = h->n;
  CHECK_EQ(h_session(h, 5, "/moq/r?hops=4", V04, sizeof(V04), 2), 200);
  memset(&m, 0, sizeof(m));
  m.type = WT_MOQ_SUBSCRIBE;
  m.u.subscribe.broadcast = S("other");
  m.u.subscribe.track = S("t");
  n = enc(&m, WT_MOQ_LITE_04, WT_MOQ_KIND_SUBSCRIBE, buf, sizeof(buf));
  h_event(h, wt_msg_ev_stream_open(501, 5, 4, 1));
  h_data(h, 501, buf, n, 0);
  CHECK(refused(h, mark, 501, WT_APP_MOQ_NOT_FOUND, 1));
  CHECK_EQ(counters(h)->cluster_hops_refused, 2);
  CHECK_EQ(count_kind(h, mark, WT_CMD_CONNECT), 0);
  /* ... and for the remote broadcast already pulled, too */
  h_event(h, wt_msg_ev_stream_open(502, 5, 8, 1));
  m.u.subscribe.id = 1;
  m.u.subscribe.broadcast = S("cam");
  n = enc(&m, WT_MOQ_LITE_04, WT_MOQ_KIND_SUBSCRIBE, buf, sizeof(buf));
  h_data(h, 502, buf, n, 0);
  CHECK(refused(h, mark, 502, WT_APP_MOQ_NOT_FOUND, 1));
  CHECK_EQ(counters(h)->cluster_hops_refused, 3);
  h_event(h, wt_msg_ev_session_close(5, 0, 1, NULL, 0));

  /* the local subscribers leave: the upstream closed after the linger */
  mark = h->n;
  h_event(h, wt_msg_ev_session_close(2, 0, 1, NULL, 0));
  h_event(h, wt_msg_ev_session_close(3, 0, 1, NULL, 0));
  advance(h, 1000);
  CHECK_EQ(count_kind(h, mark, WT_CMD_CLOSE), 0);
  advance(h, 1500);
  CHECK_EQ(count_kind(h, mark, WT_CMD_CLOSE), 1);
  h_event(h, wt_msg_ev_session_close(up2, WT_APP_RELAY_UPSTREAM_CLOSE, 1, NULL, 0));
  CHECK_EQ(count_kind(h, mark, WT_CMD_CONNECT), 0); /* not wanted: no re-resolve */
  CHECK_EQ(counters(h)->cluster_upstream_live, 0);

  /* the broadcast ends upstream (its publisher left, or moved): ended
   * here (the subscription FIN), the upstream closed; the next SUBSCRIBE
   * looks it up again */
  mark = h->n;
  CHECK_EQ(h_session(h, 7, "/moq/r", V04, sizeof(V04), 2), 200);
  memset(&m, 0, sizeof(m));
  m.type = WT_MOQ_SUBSCRIBE;
  m.u.subscribe.broadcast = S("cam");
  m.u.subscribe.track = S("t");
  n = enc(&m, WT_MOQ_LITE_04, WT_MOQ_KIND_SUBSCRIBE, buf, sizeof(buf));
  h_event(h, wt_msg_ev_stream_open(701, 7, 4, 1));
  h_data(h, 701, buf, n, 0);
  uint64_t up3 = 0;
  CHECK_EQ(connects(h, mark, &up3, auth, path), 1);
  up_opens(h, up3);
  uint64_t ann3 = opened(h, mark, up3, 0);
  h_event(h, wt_msg_ev_stream_opened(1010, ann3, 0));
  h_event(h, wt_msg_ev_stream_opened(1011, opened(h, mark, up3, 1), 4));
  memset(&m, 0, sizeof(m));
  m.type = WT_MOQ_ANNOUNCE;
  m.u.announce.status = WT_MOQ_ANNOUNCE_ACTIVE;
  m.u.announce.suffix = S("");
  n = enc(&m, WT_MOQ_LITE_04, -1, buf, sizeof(buf));
  h_data(h, 1010, buf, n, 0);
  memset(&m, 0, sizeof(m));
  m.type = WT_MOQ_SUBSCRIBE_OK;
  n = enc(&m, WT_MOQ_LITE_04, -1, buf, sizeof(buf));
  h_data(h, 1011, buf, n, 0);
  CHECK(find(h, mark, WT_CMD_WRITE, 701, 0) >= 0);
  mark = h->n;
  memset(&m, 0, sizeof(m));
  m.type = WT_MOQ_ANNOUNCE;
  m.u.announce.status = WT_MOQ_ANNOUNCE_ENDED;
  m.u.announce.suffix = S("");
  n = enc(&m, WT_MOQ_LITE_04, -1, buf, sizeof(buf));
  h_data(h, 1010, buf, n, 0);
  int wf = find(h, mark, WT_CMD_WRITE, 701, 0);
  CHECK(wf >= 0 && h->cmds[wf].fin);
  CHECK_EQ(count_kind(h, mark, WT_CMD_CLOSE), 1);
  h_event(h, wt_msg_ev_session_close(up3, WT_APP_RELAY_UPSTREAM_CLOSE, 1, NULL, 0));
  CHECK_EQ(count_kind(h, mark, WT_CMD_CONNECT), 0);
  h_data(h, 701, NULL, 0, 1);
  h_event(h, wt_msg_ev_stream_close(701, 0));
  mark = h->n;
  h_event(h, wt_msg_ev_stream_open(702, 7, 8, 1));
  memset(&m, 0, sizeof(m));
  m.type = WT_MOQ_SUBSCRIBE;
  m.u.subscribe.id = 1;
  m.u.subscribe.broadcast = S("cam");
  m.u.subscribe.track = S("t");
  n = enc(&m, WT_MOQ_LITE_04, WT_MOQ_KIND_SUBSCRIBE, buf, sizeof(buf));
  h_data(h, 702, buf, n, 0);
  uint64_t up4 = 0;
  CHECK_EQ(connects(h, mark, &up4, auth, path), 1);
  /* refused there (say, not published yet): the next candidate later */
  h_event(h, wt_msg_ev_session_refused(up4, 404));
  CHECK_EQ(counters(h)->cluster_upstream_failed, 1);
  advance(h, 150);
  CHECK_EQ(connects(h, mark, &up4, auth, path), 2);
  CHECK(strcmp(auth, "10.0.0.2:4433") == 0);
  h_event(h, wt_msg_ev_session_refused(up4, 0));
  h_event(h, wt_msg_ev_session_close(7, 0, 1, NULL, 0));
  advance(h, 2500); /* no subscriber left: forgotten */
  mark = h->n;
  advance(h, 6000);
  CHECK_EQ(count_kind(h, mark, WT_CMD_CONNECT), 0);

  /* a local publisher's broadcast is published through the locator; it
   * takes over one that was being pulled (that subscription ends, the
   * upstream is closed) */
  mark = h->n;
  CHECK_EQ(h_session(h, 8, "/moq/r", V04, sizeof(V04), 2), 200);
  memset(&m, 0, sizeof(m));
  m.type = WT_MOQ_SUBSCRIBE;
  m.u.subscribe.broadcast = S("live");
  m.u.subscribe.track = S("t");
  n = enc(&m, WT_MOQ_LITE_04, WT_MOQ_KIND_SUBSCRIBE, buf, sizeof(buf));
  h_event(h, wt_msg_ev_stream_open(801, 8, 4, 1));
  h_data(h, 801, buf, n, 0);
  uint64_t up5 = 0;
  CHECK_EQ(connects(h, mark, &up5, auth, path), 1);
  CHECK_EQ(h_session(h, 6, "/moq/r", V04, sizeof(V04), 2), 200);
  uint64_t pann = opened(h, mark, 6, 0);
  h_event(h, wt_msg_ev_stream_opened(600, pann, 1));
  memset(&m, 0, sizeof(m));
  m.type = WT_MOQ_ANNOUNCE;
  m.u.announce.status = WT_MOQ_ANNOUNCE_ACTIVE;
  m.u.announce.suffix = S("live");
  n = enc(&m, WT_MOQ_LITE_04, -1, buf, sizeof(buf));
  h_data(h, 600, buf, n, 0);
  CHECK_EQ(g_publish[1], 1);
  CHECK(strcmp(g_pubname, "moq/moq/r/live") == 0);
  wf = find(h, mark, WT_CMD_WRITE, 801, 0);
  CHECK(wf >= 0 && h->cmds[wf].fin); /* the pulled one ended */
  size_t m5 = h->n;
  up_opens(h, up5); /* it was connecting: closed at its open */
  CHECK_EQ(count_kind(h, m5, WT_CMD_CLOSE), 1);
  CHECK_EQ(opened(h, m5, up5, 0), 0);
  h_event(h, wt_msg_ev_session_close(up5, WT_APP_RELAY_UPSTREAM_CLOSE, 1, NULL, 0));
  h_event(h, wt_msg_ev_session_close(8, 0, 1, NULL, 0));
  h_event(h, wt_msg_ev_session_close(6, 0, 1, NULL, 0));
  CHECK_EQ(g_publish[0], 1);
  h_close(h);
}

int main(void) {
  WT_RUN(test_refusals);
  WT_RUN(test_bounds);
  WT_RUN(test_relay);
  WT_RUN(test_moq05);
  WT_RUN(test_publisher_leaves);
  WT_RUN(test_policy_and_ranges);
  WT_RUN(test_tokens);
  WT_RUN(test_nested_roots);
  WT_RUN(test_cascade);
  WT_RUN(test_broadcast_json);
  WT_DONE();
}
