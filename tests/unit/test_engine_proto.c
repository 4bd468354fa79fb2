/* test_engine_proto.c: the header fields of the extended CONNECT and
 * application protocol negotiation (core/wt_hdrs.h, docs/protocol.md
 * section 3), client engine and server engine on the simulated network of
 * tests/sim (wt_sim.h):
 *  - the client offers WT-Available-Protocols (serialized as a List of
 *    Strings) and adds a field; the server sees the offer in order and
 *    every other field; it answers WT-Protocol with its first preference
 *    that was offered and adds a response field; the client sees both;
 *  - an offer without overlap: no WT-Protocol; the server cannot choose a
 *    protocol that was not offered;
 *  - malformed offers (a Token member, a trailing comma, non-ASCII, too
 *    many members) count as absent and are counted; two field lines are
 *    one List;
 *  - request header bounds (fields, bytes): 431, counted;
 *  - the names an application may not add. */
#include "wt_sim_check.h"

#include "wt_session.h" /* internal: the raw field calls of wt_hdrs.h */

#define SEC WT_SIM_SEC

static wt_sim_certs g_certs;

/* What the server's application does and saw. */
static const char *const *g_prefs;
static size_t g_n_prefs;
static int g_set_bad_rv;
static size_t g_seen_protocols;
static char g_seen_first[64];
static char g_seen_xapp[64];
static size_t g_seen_headers;

static int hook_session_request(void *user, wt_session *s, const wt_request *req) {
  wt_sim_node *sd = user;
  g_seen_protocols = req->n_protocols;
  g_seen_first[0] = g_seen_xapp[0] = 0;
  if (req->n_protocols) {
    snprintf(g_seen_first, sizeof(g_seen_first), "%s", req->protocols[0]);
  }
  g_seen_headers = req->n_headers;
  for (size_t i = 0; i < req->n_headers; i++) {
    if (strcmp(req->headers[i].name, "x-app") == 0) {
      snprintf(g_seen_xapp, sizeof(g_seen_xapp), "%s", req->headers[i].value);
    }
  }
  /* the same view through the session handle */
  size_t n = 0;
  CHECK(wt_session_headers(s, &n) == req->headers && n == req->n_headers);
  /* never one that was not offered */
  g_set_bad_rv = wt_session_set_protocol(s, "not-offered");
  for (size_t i = 0; i < g_n_prefs; i++) {
    for (size_t k = 0; k < req->n_protocols; k++) {
      if (strcmp(g_prefs[i], req->protocols[k]) == 0) {
        CHECK_EQ(wt_session_set_protocol(s, g_prefs[i]), 0);
        goto chosen;
      }
    }
  }
chosen:
  CHECK_EQ(wt_session_add_header(s, "x-srv", "yes"), 0);
  wt_sim_sess_new(sd, s);
  return 200;
}

static const wt_engine_callbacks g_hooks = {.session_request = hook_session_request};

static int world_init(wt_sim *w, uint32_t max_fields, uint32_t max_bytes) {
  wt_sim_config cfg;
  wt_sim_config_default(&cfg);
  cfg.strict = 1;
  wt_sim_init(w, &cfg, &g_hooks);
  wt_engine_config sc, cc;
  wt_engine_config_default(&sc, 1);
  sc.cert_file = g_certs.cert[0];
  sc.key_file = g_certs.key[0];
  sc.max_request_headers = max_fields;
  sc.max_request_header_bytes = max_bytes;
  wt_engine_config_default(&cc, 0);
  cc.pin_sha256 = g_certs.pin[0];
  if (wt_sim_server_new(w, &sc) != 0 || wt_sim_client_add(w, &cc, NULL) != 0) {
    wt_sim_free(w);
    return -1;
  }
  return 0;
}

static const char *header_of(wt_session *s, const char *name) {
  size_t n = 0;
  const wt_header *h = wt_session_headers(s, &n);
  for (size_t i = 0; i < n; i++) {
    if (strcmp(h[i].name, name) == 0) {
      return h[i].value;
    }
  }
  return NULL;
}

/* One session to /echo on a new connection; prepare(s) runs before the
 * CONNECT goes out (it waits for the server's SETTINGS). */
static wt_sim_sess *session(wt_sim *w, wt_conn *unused, void (*prepare)(wt_session *s, void *arg),
                            void *arg) {
  (void)unused;
  wt_conn *c = wt_sim_connect(w, 0, NULL);
  if (c == NULL) {
    return NULL;
  }
  wt_sim_sess *cs = wt_sim_open_session(w, 0, c, "/echo", "https://example.test");
  if (cs == NULL) {
    return NULL;
  }
  if (prepare) {
    prepare(cs->s, arg);
  }
  CHECK(wt_sim_run_until(w, wt_sim_c_sess_settled, cs, 20 * SEC));
  return cs;
}

/* A session to /echo offering protos (NULL-terminated) with x-app: hello. */
static wt_sim_sess *offer_session(wt_sim *w, wt_conn *c, const char *const *protos) {
  size_t n = 0;
  while (protos[n]) {
    n++;
  }
  wt_header h = {"x-app", "hello"};
  wt_session_opts o = {.protocols = protos, .n_protocols = n, .headers = &h, .n_headers = 1};
  wt_session *s = NULL;
  CHECK_EQ(wt_conn_open_session_opts(c, "localhost:4433", "/echo", &o, &s), 0);
  if (s == NULL) {
    return NULL;
  }
  wt_sim_sess *cs = wt_sim_sess_new(&w->cli[0], s);
  CHECK(wt_sim_run_until(w, wt_sim_c_sess_settled, cs, 20 * SEC));
  return cs;
}

static void raw_offer(wt_session *s, void *arg) {
  const char *const *v = arg;
  for (size_t i = 0; v[i]; i++) {
    CHECK_EQ(wt_hdrs_add_raw(&s->hdrs, "wt-available-protocols", v[i]), 0);
  }
}

static void many_fields(wt_session *s, void *arg) {
  size_t n = (size_t)(uintptr_t)arg, len = n > 8 ? 200 : 10;
  char name[32], value[256];
  memset(value, 'v', len);
  value[len] = 0;
  for (size_t i = 0; i < n; i++) {
    snprintf(name, sizeof(name), "x-f%zu", i);
    CHECK_EQ(wt_session_add_header(s, name, value), 0);
  }
}

static void test_negotiation(void) {
  wt_sim w;
  CHECK_FATAL(world_init(&w, 0, 0) == 0);
  wt_conn *c = wt_sim_connect(&w, 0, NULL);
  CHECK_FATAL(c != NULL);
  CHECK(wt_sim_run_until(&w, wt_sim_c_handshake, NULL, 20 * SEC));
  const wt_engine_stats *st = wt_engine_get_stats(w.srv.e);

  /* overlap: the server's first preference that was offered */
  static const char *const prefs[] = {"moq-lite-04", "x", "moq-lite-03"};
  g_prefs = prefs;
  g_n_prefs = 3;
  static const char *const offered[] = {"moq-lite-03", "x", "q\"uote", NULL};
  wt_sim_sess *cs = offer_session(&w, c, offered);
  CHECK_FATAL(cs && cs->open);
  CHECK_EQ(g_seen_protocols, 3);
  CHECK(strcmp(g_seen_first, "moq-lite-03") == 0);
  CHECK(strcmp(g_seen_xapp, "hello") == 0);
  CHECK(g_seen_headers >= 3); /* origin, the draft-02 marker, wt-available-protocols, x-app */
  CHECK_EQ(g_set_bad_rv, WT_ERR_INVAL);
  CHECK(wt_session_protocol(cs->s) && strcmp(wt_session_protocol(cs->s), "x") == 0);
  CHECK(!wt_session_protocol_rejected(cs->s));
  CHECK(header_of(cs->s, "wt-protocol") && strcmp(header_of(cs->s, "wt-protocol"), "\"x\"") == 0);
  CHECK(header_of(cs->s, "x-srv") && strcmp(header_of(cs->s, "x-srv"), "yes") == 0);
  CHECK_EQ(st->protocols_chosen, 1);
  CHECK_EQ(st->protocols_malformed, 0);

  /* no overlap: no WT-Protocol */
  static const char *const other[] = {"moqt-16", NULL};
  cs = offer_session(&w, c, other);
  CHECK_FATAL(cs && cs->open);
  CHECK_EQ(g_seen_protocols, 1);
  CHECK(wt_session_protocol(cs->s) == NULL && header_of(cs->s, "wt-protocol") == NULL);
  CHECK(!wt_session_protocol_rejected(cs->s));
  CHECK_EQ(st->protocols_chosen, 1);

  /* no offer at all */
  cs = session(&w, c, NULL, NULL);
  CHECK_FATAL(cs && cs->open);
  CHECK_EQ(g_seen_protocols, 0);
  CHECK(header_of(cs->s, "wt-protocol") == NULL);

  /* malformed offers: absent, counted */
  static const char *const bad1[] = {"\"moq-lite-03\", x", NULL};
  static const char *const bad2[] = {"\"moq-lite-03\",", NULL};
  static const char *const bad3[] = {"\"moq-lite-03\", (\"x\")", NULL};
  static const char *const bad4[] = {"\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\","
                                     "\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\","
                                     "\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\","
                                     "\"a\",\"a\",\"x\"",
                                     NULL}; /* 33 members */
  static const char *const bad5[] = {"\"x\\u\"", NULL};
  const char *const *bads[] = {bad1, bad2, bad3, bad4, bad5};
  for (size_t i = 0; i < 5; i++) {
    cs = session(&w, c, raw_offer, (void *)bads[i]);
    CHECK_FATAL(cs && cs->open);
    CHECK_EQ(g_seen_protocols, 0);
    CHECK(header_of(cs->s, "wt-protocol") == NULL);
    CHECK_EQ(st->protocols_malformed, i + 1);
  }
  /* two field lines are one List (RFC 9651 section 4.2) */
  static const char *const split[] = {"\"moq-lite-05\"", "\"x\";q=1", NULL};
  cs = session(&w, c, raw_offer, (void *)split);
  CHECK_FATAL(cs && cs->open);
  CHECK_EQ(g_seen_protocols, 2);
  CHECK(header_of(cs->s, "wt-protocol") && strcmp(header_of(cs->s, "wt-protocol"), "\"x\"") == 0);
  /* this client offered nothing through the engine: "x" is refused */
  CHECK(wt_session_protocol(cs->s) == NULL && wt_session_protocol_rejected(cs->s));
  CHECK_EQ(st->protocols_malformed, 5);

  /* the names and values no application may add */
  wt_conn *c2 = wt_sim_connect(&w, 0, NULL);
  CHECK_FATAL(c2 != NULL);
  wt_sim_sess *ps = wt_sim_open_session(&w, 0, c2, "/echo", NULL);
  CHECK_FATAL(ps != NULL);
  const char *bad_names[] = {":path",
                             "Upper",
                             "connection",
                             "te",
                             "transfer-encoding",
                             "wt-protocol",
                             "",
                             "a b",
                             "keep-alive",
                             "wt-available-protocols",
                             "sec-webtransport-http3-draft02"};
  for (size_t i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++) {
    CHECK_EQ(wt_session_add_header(ps->s, bad_names[i], "v"), WT_ERR_INVAL);
  }
  CHECK_EQ(wt_session_add_header(ps->s, "x-ok", "a\r\nb"), WT_ERR_INVAL);
  CHECK_EQ(wt_session_add_header(ps->s, "x-ok", " lead"), WT_ERR_INVAL);
  CHECK_EQ(wt_session_set_protocol(ps->s, "x"), WT_ERR_STATE); /* a client session */
  static const char *const badp[] = {"\xc3\xbc"};
  wt_session_opts bo = {.protocols = badp, .n_protocols = 1};
  wt_session *bs = NULL;
  CHECK_EQ(wt_conn_open_session_opts(c, "localhost:4433", "/echo", &bo, &bs), WT_ERR_INVAL);
  wt_header bh = {"connection", "close"};
  wt_session_opts bo2 = {.headers = &bh, .n_headers = 1};
  CHECK_EQ(wt_conn_open_session_opts(c, "localhost:4433", "/echo", &bo2, &bs), WT_ERR_INVAL);
  CHECK(bs == NULL);
  for (int i = 0; i < WT_HFIELD_ADD_MAX; i++) {
    char name[16];
    snprintf(name, sizeof(name), "x-%d", i);
    CHECK_EQ(wt_session_add_header(ps->s, name, "v"), 0);
  }
  CHECK_EQ(wt_session_add_header(ps->s, "x-more", "v"), WT_ERR_LIMIT);
  CHECK(wt_sim_run_until(&w, wt_sim_c_sess_settled, ps, 20 * SEC));
  CHECK(ps->open);
  CHECK_EQ(wt_session_add_header(ps->s, "x-late", "v"), WT_ERR_STATE); /* sent already */

  CHECK_EQ(w.cli[0].conn_closed, 0);
  CHECK_EQ(wt_sim_close_all(&w, 20 * SEC), 1);
  wt_sim_free(&w);
}

static void test_bounds(void) {
  wt_sim w;
  /* 12 fields at most; 1500 bytes at most */
  CHECK_FATAL(world_init(&w, 12, 1500) == 0);
  wt_conn *c = wt_sim_connect(&w, 0, NULL);
  CHECK_FATAL(c != NULL);
  CHECK(wt_sim_run_until(&w, wt_sim_c_handshake, NULL, 20 * SEC));
  const wt_engine_stats *st = wt_engine_get_stats(w.srv.e);
  g_n_prefs = 0;
  /* the CONNECT has 5 pseudo-headers + origin + the draft-02 marker: 7
   * fields; 4 more fit, 6 more do not */
  wt_sim_sess *cs = session(&w, c, many_fields, (void *)(uintptr_t)4);
  CHECK_FATAL(cs != NULL);
  CHECK(cs->open);
  cs = session(&w, c, many_fields, (void *)(uintptr_t)6);
  CHECK_FATAL(cs != NULL);
  CHECK(cs->refused && cs->refused_status == 431);
  CHECK_EQ(st->requests_too_large, 1);
  /* bytes: 9 fields of 200-byte values pass the count bound... and not 1500 bytes */
  wt_sim_free(&w);
  CHECK_FATAL(world_init(&w, 64, 1500) == 0);
  c = wt_sim_connect(&w, 0, NULL);
  CHECK_FATAL(c != NULL);
  CHECK(wt_sim_run_until(&w, wt_sim_c_handshake, NULL, 20 * SEC));
  st = wt_engine_get_stats(w.srv.e);
  cs = session(&w, c, many_fields, (void *)(uintptr_t)9);
  CHECK_FATAL(cs != NULL);
  CHECK(cs->refused && cs->refused_status == 431);
  CHECK_EQ(st->requests_too_large, 1);
  /* the connection goes on */
  cs = session(&w, c, NULL, NULL);
  CHECK_FATAL(cs != NULL);
  CHECK(cs->open);
  CHECK_EQ(w.cli[0].conn_closed, 0);
  CHECK_EQ(wt_sim_close_all(&w, 20 * SEC), 1);
  wt_sim_free(&w);
}

int main(void) {
  if (wt_sim_test_init(&g_certs, 1) != 0) {
    return 1;
  }
  WT_RUN(test_negotiation);
  WT_RUN(test_bounds);
  wt_sim_certs_remove(&g_certs);
  WT_DONE();
}
