/* test_relay_cascade.c: the relay's cascade state machine (apps/wt_app_relay.c,
 * apps/wt_apps.h "Cascade") and the worker's outgoing sessions
 * (wt_app_connect, shards/wt_app_ctx.c) through an application worker's
 * dispatcher, with a fake locator (two candidates). The test plays the
 * shard: it reads the worker's commands (WT_CMD_CONNECT, WT_CMD_CLOSE,
 * the fan-out group's commands) and answers with events (the upstream
 * session's open with its response fields, refusal, close, its streams and
 * datagrams), and drives the timers by hand.
 *
 * Covered: one upstream /sub per channel whatever the number of local
 * subscribers, with hops=1; the group header length from the response
 * field; upstream groups, FIN and datagrams fed into the channel (counted);
 * a late joiner caught up from the upstream group's start; another edge
 * joining a flowing channel does not re-open the upstream; upstream loss
 * -> re-resolved at once; a refusal -> the next candidate after the
 * backoff; a local publisher takes over (the upstream is closed,
 * publish(1) / publish(0) to the locator) and its leaving pulls again; hop
 * counts: 508 past the limit, a channel asked for at the limit never
 * pulled; a downstream node's /sub told the group header length and closed
 * when a new publisher changes it; the last subscriber leaving closes the upstream after the
 * linger; no session or stream leaked. */
#include <string.h>

#include "app_link.h"
#include "check.h"
#include "wt_app.h"
#include "wt_app_ctx.h"
#include "wt_apps.h"
#include "wt_buf.h"
#include "wt_error.h"
#include "wt_link.h"
#include "wt_timer.h"

#define MS 1000000ull

/* ------------------------------------------------------------------ fake locator */

static int g_publish[2]; /* publish(live = 0 / 1) calls */
static int g_unknown;    /* the fake locator knows no channel (a publisher not started yet) */
static int g_lookups;
static char g_published[80];

static int fake_lookup(void *arg, const char *kind, const char *name, unsigned idx, char *addr,
                       size_t cap) {
  (void)arg;
  static const char *const peers[] = {"10.0.0.1:4433", "10.0.0.2:4433"};
  g_lookups++;
  if (strcmp(kind, "relay") || idx >= 2 || g_unknown) {
    return 0;
  }
  (void)name;
  snprintf(addr, cap, "%s", peers[idx]);
  return 1;
}

static void fake_publish(void *arg, const char *kind, const char *name, int live) {
  (void)arg;
  (void)kind;
  g_publish[live ? 1 : 0]++;
  snprintf(g_published, sizeof(g_published), "%s", name);
}

static const wt_app_locator g_loc = {.lookup = fake_lookup, .publish = fake_publish};

/* ------------------------------------------------------------------ harness */

typedef struct cmd {
  uint16_t kind;
  uint64_t session, gsid;
  uint32_t code, hdr_len;
  int fin;
  char data[256];
  size_t len;
} cmd;

#define MAX_CMDS 1024

typedef struct harness {
  wt_test_link t; /* app_link.h: the link, router, timers, pool and dispatcher */
  wt_apps_module *am;
  void *state;
  uint64_t now;
  cmd cmds[MAX_CMDS];
  size_t n;
} harness;

/* app_link_open's routes hook: the built-in apps' module on worker 0. */
static int h_routes(void *arg, wt_app_router *r) {
  harness *h = arg;
  const wt_app_module *mod = wt_apps_module_get(h->am);
  return mod->init(mod->arg, r, 1, 0, &h->state);
}

static int h_open(harness *h, const wt_apps_config *cfg) {
  memset(h, 0, sizeof(*h));
  if (wt_apps_module_new(&h->am, cfg) < 0 ||
      app_link_open(&h->t, 1024, 16384, h_routes, h, (wt_app_ctx_config){0}) < 0) {
    return -1;
  }
  h->now = 1000 * MS;
  wt_app_ctx_set_now(h->t.ctx, h->now);
  return 0;
}

static void h_drain(harness *h) {
  wt_msg m[64];
  uint32_t n;
  wt_app_ctx_flush(h->t.ctx);
  while ((n = wt_lring_poll(&h->t.link->cmd, m, 64)) > 0) {
    for (uint32_t i = 0; i < n; i++) {
      cmd c = {.kind = m[i].kind};
      switch (m[i].kind) {
      case WT_CMD_CONNECT:
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
        c.gsid = wt_msg_get_cmd_group_stream(&m[i])->gsid;
        c.hdr_len = wt_msg_get_cmd_group_stream(&m[i])->hdr_len;
        break;
      case WT_CMD_GROUP_WRITE:
        c.gsid = wt_msg_get_cmd_group_write(&m[i])->gsid;
        c.fin = wt_msg_get_cmd_group_write(&m[i])->fin;
        break;
      case WT_CMD_GROUP_RESET:
        c.gsid = wt_msg_get_cmd_group_reset(&m[i])->gsid;
        c.code = wt_msg_get_cmd_group_reset(&m[i])->code;
        break;
      case WT_CMD_GROUP_CATCHUP:
        c.session = wt_msg_get_cmd_group_catchup(&m[i])->session;
        c.gsid = wt_msg_get_cmd_group_catchup(&m[i])->gsid;
        c.hdr_len = wt_msg_get_cmd_group_catchup(&m[i])->hdr_len;
        break;
      default:
        break;
      }
      if (m[i].buf && m[i].len < sizeof(c.data)) {
        memcpy(c.data, m[i].buf->data + m[i].off, m[i].len);
        c.len = m[i].len;
      }
      if (h->n < MAX_CMDS) {
        h->cmds[h->n++] = c;
      }
      wt_msg_drop(&m[i]);
    }
  }
}

static void h_event(harness *h, wt_msg m) {
  app_link_event(&h->t, &m);
  h_drain(h);
}

/* Move the clock by ms and run the timers due. */
static void h_advance(harness *h, uint64_t ms) {
  h->now += ms * MS;
  wt_app_ctx_set_now(h->t.ctx, h->now);
  wt_timer_run(&h->t.timers, h->now);
  h_drain(h);
}

static void h_close(harness *h) {
  h_drain(h);
  wt_app_ctx_del(h->t.ctx); /* closes what is left (sessions refused or closed) */
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

static const wt_apps_counters *cnt(harness *h) {
  return &((const wt_apps *)h->state)->cnt;
}

/* A CONNECT for path; the status answered; opened on 200. */
static uint32_t h_session(harness *h, uint64_t sid, const char *path) {
  char req[256];
  size_t n = (size_t)snprintf(req, sizeof(req), "%s%chost%c%c", path, 0, 0, 0);
  wt_buf *b = wt_buf_alloc(h->t.pool, n);
  memcpy(b->data, req, n);
  b->len = (uint32_t)n;
  size_t first = h->n;
  h_event(h, wt_msg_ev_session_request(sid, sid * 4, b, (uint32_t)n, 0, 0));
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

/* The CONNECTs since index from: how many, the last one's session, and its
 * buffer (authority \0 path \0 ...) split. */
static int connects(harness *h, size_t from, uint64_t *session, char *authority, char *path) {
  int k = 0;
  for (size_t i = from; i < h->n; i++) {
    if (h->cmds[i].kind == WT_CMD_CONNECT) {
      k++;
      *session = h->cmds[i].session;
      snprintf(authority, 64, "%.63s", h->cmds[i].data);
      snprintf(path, 128, "%.127s", h->cmds[i].data + strlen(h->cmds[i].data) + 1);
    }
  }
  return k;
}

static int count_kind(harness *h, size_t from, uint16_t kind, uint64_t session) {
  int k = 0;
  for (size_t i = from; i < h->n; i++) {
    k += h->cmds[i].kind == kind && (!session || h->cmds[i].session == session);
  }
  return k;
}

/* The upstream session up opens, answering wt-relay-hdr: hdr. */
static void up_open(harness *h, uint64_t up, const char *hdr) {
  char f[64];
  size_t n = (size_t)snprintf(f, sizeof(f), "wt-relay-hdr%c%s%c", 0, hdr, 0);
  wt_buf *b = wt_buf_alloc(h->t.pool, n);
  memcpy(b->data, f, n);
  b->len = (uint32_t)n;
  h_event(h, wt_msg_ev_session_open_fields(up, 1200, b, (uint32_t)n, 1));
}

static void h_data(harness *h, uint64_t sid, const char *p, int fin) {
  size_t n = strlen(p);
  wt_buf *b = NULL;
  if (n) {
    b = wt_buf_alloc(h->t.pool, n);
    memcpy(b->data, p, n);
    b->len = (uint32_t)n;
  }
  h_event(h, wt_msg_ev_stream_data(sid, b, (uint32_t)n, fin));
}

/* ------------------------------------------------------------------ tests */

static void test_cascade(void) {
  wt_apps_config cfg;
  wt_apps_config_default(&cfg);
  cfg.locator = &g_loc;
  harness h;
  CHECK_FATAL(h_open(&h, &cfg) == 0);
  char auth[64], path[128];
  uint64_t up = 0;

  /* two local subscribers: ONE upstream /sub, hops=1, candidate 0 */
  CHECK_EQ(h_session(&h, 1, "/sub?ch=x"), 200);
  CHECK_EQ(h_session(&h, 2, "/sub?ch=x"), 200);
  CHECK_EQ(connects(&h, 0, &up, auth, path), 1);
  CHECK(strcmp(auth, "10.0.0.1:4433") == 0);
  CHECK(strcmp(path, "/sub?ch=x&hops=1") == 0);
  CHECK(up >> 63);
  up_open(&h, up, "8");
  CHECK_EQ(cnt(&h)->cluster_upstream_opened, 1);
  CHECK_EQ(cnt(&h)->cluster_upstream_live, 1);

  /* a group and a datagram from upstream go to the channel's group */
  size_t from = h.n;
  h_event(&h, wt_msg_ev_stream_open(101, up, 3, 0));
  h_data(&h, 101, "HEADER01payload", 0);
  CHECK_EQ(count_kind(&h, from, WT_CMD_GROUP_STREAM, 0), 1);
  for (size_t i = from; i < h.n; i++) {
    if (h.cmds[i].kind == WT_CMD_GROUP_STREAM) {
      CHECK_EQ(h.cmds[i].hdr_len, 8); /* from the response field */
    }
  }
  /* a late joiner starts at the group's start (the edge's own cache) */
  size_t late = h.n;
  CHECK_EQ(h_session(&h, 3, "/sub?ch=x"), 200);
  CHECK_EQ(count_kind(&h, late, WT_CMD_GROUP_CATCHUP, 3), 1);
  CHECK_EQ(count_kind(&h, late, WT_CMD_CONNECT, 0), 0); /* still one upstream */
  h_data(&h, 101, "", 1);
  h_event(&h, wt_msg_ev_stream_close(101, 0));
  wt_buf *d = wt_buf_alloc(h.t.pool, 4);
  memcpy(d->data, "dgrm", 4);
  d->len = 4;
  h_event(&h, wt_msg_ev_datagram(up, d, 4));
  CHECK_EQ(count_kind(&h, from, WT_CMD_GROUP_DATAGRAM, 0), 1);
  CHECK_EQ(cnt(&h)->cluster_upstream_groups, 1);
  CHECK_EQ(cnt(&h)->cluster_upstream_bytes, 15);
  CHECK_EQ(cnt(&h)->cluster_upstream_datagrams, 1);

  /* another edge (hops=1) joins while data flows: the upstream is kept */
  from = h.n;
  CHECK_EQ(h_session(&h, 4, "/sub?ch=x&hops=1"), 200);
  CHECK_EQ(count_kind(&h, from, WT_CMD_CLOSE, up), 0);
  CHECK_EQ(count_kind(&h, from, WT_CMD_CONNECT, 0), 0);
  h_event(&h, wt_msg_ev_session_close(4, 0, 1, NULL, 0));

  /* upstream lost: re-resolved at once (same candidate) */
  from = h.n;
  h_event(&h, wt_msg_ev_session_close(up, 0, 0, NULL, 0));
  CHECK_EQ(cnt(&h)->cluster_upstream_live, 0);
  CHECK_EQ(cnt(&h)->cluster_reresolves, 1);
  CHECK_EQ(connects(&h, from, &up, auth, path), 1);
  CHECK(strcmp(auth, "10.0.0.1:4433") == 0);

  /* refused: the next candidate, after the backoff */
  from = h.n;
  h_event(&h, wt_msg_ev_session_refused(up, 503));
  CHECK_EQ(cnt(&h)->cluster_upstream_failed, 1);
  CHECK_EQ(count_kind(&h, from, WT_CMD_CONNECT, 0), 0);
  h_advance(&h, 150);
  CHECK_EQ(connects(&h, from, &up, auth, path), 1);
  CHECK(strcmp(auth, "10.0.0.2:4433") == 0);
  up_open(&h, up, "8");

  /* a local publisher takes over: the upstream is closed, publish(1) */
  from = h.n;
  CHECK_EQ(h_session(&h, 10, "/pub?ch=x&hdr=8"), 200);
  CHECK_EQ(count_kind(&h, from, WT_CMD_CLOSE, up), 1);
  CHECK_EQ(g_publish[1], 1);
  CHECK(strcmp(g_published, "x") == 0);
  h_event(&h, wt_msg_ev_session_close(up, 0x15, 1, NULL, 0));
  CHECK_EQ(count_kind(&h, from, WT_CMD_CONNECT, 0), 0); /* not while it publishes */
  /* it leaves: publish(0), and the channel is pulled again */
  from = h.n;
  h_event(&h, wt_msg_ev_session_close(10, 0, 1, NULL, 0));
  CHECK_EQ(g_publish[0], 1);
  h_advance(&h, 10);
  CHECK_EQ(connects(&h, from, &up, auth, path), 1);
  up_open(&h, up, "0");

  /* the last subscriber leaves: the upstream lingers, then is closed */
  for (uint64_t s = 1; s <= 3; s++) {
    h_event(&h, wt_msg_ev_session_close(s, 0, 1, NULL, 0));
  }
  from = h.n;
  h_advance(&h, 1000);
  CHECK_EQ(count_kind(&h, from, WT_CMD_CLOSE, up), 0);
  h_advance(&h, 1500);
  CHECK_EQ(count_kind(&h, from, WT_CMD_CLOSE, up), 1);
  h_event(&h, wt_msg_ev_session_close(up, 0x15, 1, NULL, 0));
  CHECK_EQ(cnt(&h)->cluster_upstream_live, 0);
  h_close(&h);
}

/* A subscriber that comes before the publisher: the channel is looked up
 * again at a fixed 250 ms (a read of local state), not on the doubling
 * backoff, so the upstream opens within one poll of the channel appearing
 * anywhere (it could miss up to 5 s of it before). */
static void test_subscriber_first(void) {
  wt_apps_config cfg;
  wt_apps_config_default(&cfg);
  cfg.locator = &g_loc;
  harness h;
  CHECK_FATAL(h_open(&h, &cfg) == 0);
  char auth[64], path[128];
  uint64_t up = 0;
  g_unknown = 1;
  g_lookups = 0;
  CHECK_EQ(h_session(&h, 1, "/sub?ch=early"), 200);
  CHECK_EQ(connects(&h, 0, &up, auth, path), 0);
  /* 10 s with nothing published anywhere: polled at the fixed pace */
  for (int i = 0; i < 40; i++) {
    h_advance(&h, 250);
  }
  CHECK(g_lookups >= 40 && g_lookups <= 42);
  CHECK_EQ(connects(&h, 0, &up, auth, path), 0);
  CHECK_EQ(cnt(&h)->cluster_upstream_failed, 0);
  /* the publisher starts somewhere: pulled within one poll */
  g_unknown = 0;
  h_advance(&h, 250);
  CHECK_EQ(connects(&h, 0, &up, auth, path), 1);
  CHECK(strcmp(auth, "10.0.0.1:4433") == 0);
  h_close(&h);
}

/* The publisher leaves a node: the downstream nodes' /subs (hops > 0) are
 * closed with WT_APP_RELAY_PUBLISHER_LEFT so each looks the channel up again
 * (with a registry: the publisher's new node, directly); the local
 * subscribers stay. An edge told so re-resolves after a moment, not at
 * once (the registry learns of the move first). */
static void test_rehome(void) {
  wt_apps_config cfg;
  wt_apps_config_default(&cfg);
  cfg.locator = &g_loc;
  harness h;
  CHECK_FATAL(h_open(&h, &cfg) == 0);
  char auth[64], path[128];
  uint64_t up = 0;
  CHECK_EQ(h_session(&h, 1, "/pub?ch=m"), 200);
  CHECK_EQ(h_session(&h, 2, "/sub?ch=m"), 200);
  CHECK_EQ(h_session(&h, 3, "/sub?ch=m&hops=1"), 200);
  /* a publisher that leaves while the channel is published nowhere else:
   * the downstream node's /sub is kept (nothing to gain), the next one here
   * serves it */
  g_unknown = 1;
  size_t from = h.n;
  h_event(&h, wt_msg_ev_session_close(1, 0, 1, NULL, 0));
  h_advance(&h, 1000);
  CHECK_EQ(count_kind(&h, from, WT_CMD_CLOSE, 3), 0);
  CHECK_EQ(connects(&h, from, &up, auth, path), 0);
  CHECK_EQ(h_session(&h, 4, "/pub?ch=m"), 200);
  /* this one leaves and the channel is published elsewhere (it moved) */
  g_unknown = 0;
  from = h.n;
  h_event(&h, wt_msg_ev_session_close(4, 0, 1, NULL, 0));
  int closed3 = 0, closed2 = 0;
  for (size_t i = from; i < h.n; i++) {
    if (h.cmds[i].kind == WT_CMD_CLOSE) {
      closed3 += h.cmds[i].session == 3 && h.cmds[i].code == WT_APP_RELAY_PUBLISHER_LEFT;
      closed2 += h.cmds[i].session == 2;
    }
  }
  CHECK_EQ(closed3, 1);
  CHECK_EQ(closed2, 0);
  /* the node still has subscribers: it pulls the channel itself */
  CHECK_EQ(connects(&h, from, &up, auth, path), 1);
  h_event(&h, wt_msg_ev_session_close(3, WT_APP_RELAY_PUBLISHER_LEFT, 1, NULL, 0));
  up_open(&h, up, "0");

  /* as the edge: its upstream says the publisher left: looked up again
   * after the backoff's first step */
  from = h.n;
  h_event(&h, wt_msg_ev_session_close(up, WT_APP_RELAY_PUBLISHER_LEFT, 1, NULL, 0));
  CHECK_EQ(connects(&h, from, &up, auth, path), 0);
  h_advance(&h, 150);
  CHECK_EQ(connects(&h, from, &up, auth, path), 1);
  CHECK(strcmp(auth, "10.0.0.1:4433") == 0);
  h_close(&h);
}

static void test_hops(void) {
  wt_apps_config cfg;
  wt_apps_config_default(&cfg);
  cfg.locator = &g_loc;
  harness h;
  CHECK_FATAL(h_open(&h, &cfg) == 0);
  /* past the limit: 508, counted; malformed: 400 */
  CHECK_EQ(h_session(&h, 1, "/sub?ch=y&hops=5"), WT_APP_RELAY_HOP_LIMIT);
  CHECK_EQ(h_session(&h, 2, "/sub?ch=y&hops=x"), 400);
  CHECK_EQ(cnt(&h)->cluster_hops_refused, 1);
  CHECK_EQ(count_kind(&h, 0, WT_CMD_CONNECT, 0), 0);
  /* a deeper subscriber re-opens the upstream with its hop count */
  char auth[64], path[128];
  uint64_t up = 0;
  CHECK_EQ(h_session(&h, 3, "/sub?ch=y&hops=1"), 200);
  CHECK_EQ(connects(&h, 0, &up, auth, path), 1);
  CHECK(strcmp(path, "/sub?ch=y&hops=2") == 0);
  up_open(&h, up, "0");
  size_t from = h.n;
  CHECK_EQ(h_session(&h, 4, "/sub?ch=y&hops=2"), 200);
  CHECK_EQ(count_kind(&h, from, WT_CMD_CLOSE, up), 1);
  h_event(&h, wt_msg_ev_session_close(up, 0x15, 1, NULL, 0));
  CHECK_EQ(connects(&h, from, &up, auth, path), 1);
  CHECK(strcmp(path, "/sub?ch=y&hops=3") == 0);
  up_open(&h, up, "0");
  /* at the limit: accepted, the upstream closed, never pulled again */
  from = h.n;
  CHECK_EQ(h_session(&h, 5, "/sub?ch=y&hops=4"), 200);
  h_event(&h, wt_msg_ev_session_close(up, 0x15, 1, NULL, 0));
  h_advance(&h, 6000);
  CHECK_EQ(count_kind(&h, from, WT_CMD_CONNECT, 0), 0);
  CHECK_EQ(cnt(&h)->cluster_hops_refused, 2);
  /* an upstream refusing our hop count (508) stops the pulls too */
  CHECK_EQ(h_session(&h, 6, "/sub?ch=z"), 200);
  from = h.n;
  CHECK_EQ(connects(&h, 0, &up, auth, path) >= 1, 1);
  h_event(&h, wt_msg_ev_session_refused(up, WT_APP_RELAY_HOP_LIMIT));
  h_advance(&h, 6000);
  CHECK_EQ(count_kind(&h, from, WT_CMD_CONNECT, 0), 0);
  for (uint64_t s = 3; s <= 6; s++) {
    h_event(&h, wt_msg_ev_session_close(s, 0, 1, NULL, 0));
  }
  h_close(&h);
}

/* The origin side: a downstream node's /sub (&hops=) is told the group
 * header length (wt-relay-hdr) and closed with WT_APP_RELAY_HDR_CHANGED
 * when a new publisher brings another one; a client /sub is not. */
static void test_hdr_change(void) {
  wt_apps_config cfg;
  wt_apps_config_default(&cfg);
  harness h;
  CHECK_FATAL(h_open(&h, &cfg) == 0);
  CHECK_EQ(h_session(&h, 1, "/pub?ch=w&hdr=8"), 200);
  size_t from = h.n;
  CHECK_EQ(h_session(&h, 2, "/sub?ch=w&hops=1"), 200);
  int told = 0;
  for (size_t i = from; i < h.n; i++) {
    if (h.cmds[i].kind == WT_CMD_RESPOND && h.cmds[i].session == 2) {
      /* protocol \0 (none), then wt-relay-hdr \0 8 \0 */
      told = h.cmds[i].len == 16 && !memcmp(h.cmds[i].data,
                                            "\0wt-relay-hdr\0"
                                            "8\0",
                                            16);
    }
  }
  CHECK(told);
  CHECK_EQ(h_session(&h, 3, "/sub?ch=w"), 200); /* a client */
  h_event(&h, wt_msg_ev_session_close(1, 0, 1, NULL, 0));
  from = h.n;
  CHECK_EQ(h_session(&h, 4, "/pub?ch=w&hdr=4"), 200);
  CHECK_EQ(count_kind(&h, from, WT_CMD_CLOSE, 2), 1);
  CHECK_EQ(count_kind(&h, from, WT_CMD_CLOSE, 3), 0);
  for (size_t i = from; i < h.n; i++) {
    if (h.cmds[i].kind == WT_CMD_CLOSE) {
      CHECK_EQ(h.cmds[i].code, WT_APP_RELAY_HDR_CHANGED);
    }
  }
  for (uint64_t sid = 2; sid <= 4; sid++) {
    h_event(&h, wt_msg_ev_session_close(sid, 0, 1, NULL, 0));
  }
  h_close(&h);
}

/* wt_app_connect's argument checks and the refusal path with no locator. */
static void test_connect_api(void) {
  wt_apps_config cfg;
  wt_apps_config_default(&cfg);
  harness h;
  CHECK_FATAL(h_open(&h, &cfg) == 0);
  static const wt_app_ops ops = {.name = "t"};
  wt_app_session *as = NULL;
  wt_app_connect_req bad = {.authority = "", .path = "/x"};
  CHECK_EQ(wt_app_connect(h.t.ctx, &bad, &ops, NULL, &as), WT_ERR_INVAL);
  wt_app_connect_req ok = {.authority = "127.0.0.1:1", .path = "/x", .server_name = "n"};
  CHECK_EQ(wt_app_connect(h.t.ctx, &ok, &ops, NULL, &as), 0);
  CHECK(as != NULL);
  h_drain(&h);
  uint64_t up = 0;
  char auth[64], path[128];
  CHECK_EQ(connects(&h, 0, &up, auth, path), 1);
  CHECK(strcmp(auth, "127.0.0.1:1") == 0 && strcmp(path, "/x") == 0);
  CHECK_EQ(wt_app_ctx_get_stats(h.t.ctx)->sessions_live, 1);
  h_event(&h, wt_msg_ev_session_refused(up, 0)); /* no callback set: just freed */
  CHECK_EQ(wt_app_ctx_get_stats(h.t.ctx)->sessions_live, 0);
  /* one left connecting at shutdown is freed too */
  CHECK_EQ(wt_app_connect(h.t.ctx, &ok, &ops, NULL, &as), 0);
  h_close(&h);
}

int main(void) {
  WT_RUN(test_cascade);
  WT_RUN(test_subscriber_first);
  WT_RUN(test_rehome);
  WT_RUN(test_hops);
  WT_RUN(test_hdr_change);
  WT_RUN(test_connect_api);
  WT_DONE();
}
