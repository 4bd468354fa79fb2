/* churn.c: wtcast-flood --mode churn (see churn.h). */
#include "churn.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define CH_PER_CONN   8 /* sessions per connection (the server allows 16) */
#define CH_TIMEOUT_NS (UINT64_C(10) * 1000000000u)
#define CH_NAME_MAX   64

enum { R_SUB, R_STALL, R_PUB, R_N, R_ANCHOR = R_N };

typedef struct ch_slot ch_slot;
typedef struct ch_tag { /* a session's or stream's user pointer */
  ch_slot *slot;        /* NULL for an anchor */
  int role;
  wt_session *anchor; /* R_ANCHOR: the session, NULL once closed */
} ch_tag;

struct ch_slot {
  int active, finish;
  uint32_t idx;          /* channel number */
  uint32_t group;        /* its connection group */
  wt_session *s[R_N];    /* NULL: not requested, or closed */
  int open[R_N];         /* session_open seen */
  uint32_t groups_ended; /* groups the reading subscriber finished (FIN or reset) */
  uint64_t deadline;
  ch_tag tag[R_N];
};

struct fl_churn {
  wt_engine *e;
  fl_churn_config cfg;
  wt_conn **conns; /* NULL once closed */
  uint32_t n_groups, window;
  ch_slot *slots;
  uint32_t started, done, live_conns;
  uint8_t *payload;
  ch_tag *anchors; /* one per connection (see churn_new) */
  int anchors_closed;
  /* counters */
  uint64_t timeouts, refused, closed_by_server, pub_groups, pub_dgrams, groups_fin, groups_reset;
  uint64_t stall_streams, stall_bytes, sub_bytes, conns_lost, anchors_lost;
};

fl_churn *churn_new(wt_engine *e, const fl_churn_config *cfg, const wt_path *paths, size_t n_paths,
                    uint64_t now) {
  if (cfg->n_conns < 3 || cfg->n_conns % 3 || n_paths == 0 || cfg->groups == 0) {
    fprintf(stderr, "wtcast-flood: churn: --conns must be a multiple of 3\n");
    return NULL;
  }
  fl_churn *c = calloc(1, sizeof(*c));
  if (!c) {
    return NULL;
  }
  c->e = e;
  c->cfg = *cfg;
  c->n_groups = cfg->n_conns / 3;
  c->window = c->n_groups * CH_PER_CONN;
  c->conns = calloc(cfg->n_conns, sizeof(*c->conns));
  c->slots = calloc(c->window, sizeof(*c->slots));
  c->payload = malloc(cfg->group_bytes ? cfg->group_bytes : 1);
  c->anchors = calloc(cfg->n_conns, sizeof(*c->anchors));
  if (!c->conns || !c->slots || !c->payload || !c->anchors) {
    churn_del(c);
    return NULL;
  }
  for (uint32_t i = 0; i < cfg->group_bytes; i++) {
    c->payload[i] = (uint8_t)(i % 251);
  }
  for (uint32_t i = 0; i < cfg->n_conns; i++) {
    if (wt_engine_connect(e, &paths[i % n_paths], "localhost", now, &c->conns[i]) != 0) {
      fprintf(stderr, "wtcast-flood: churn: connect %u failed\n", i);
      churn_del(c);
      return NULL;
    }
    c->live_conns++;
    /* An anchor: one subscriber session per connection for the whole run,
     * so the server never finds a connection without a session (it closes
     * those after its close grace, 200 ms: a loaded machine can take that
     * long between a channel's end and the next one's first session). */
    char path[32 + CH_NAME_MAX];
    snprintf(path, sizeof(path), "/sub?ch=%s-anchor-%" PRIu32, cfg->prefix, i);
    c->anchors[i].role = R_ANCHOR;
    if (wt_conn_open_session(c->conns[i], "localhost", path, NULL, &c->anchors[i].anchor) != 0) {
      fprintf(stderr, "wtcast-flood: churn: session on connection %u failed\n", i);
      churn_del(c);
      return NULL;
    }
    wt_session_set_user(c->anchors[i].anchor, &c->anchors[i]);
  }
  for (uint32_t k = 0; k < c->window; k++) {
    for (int r = 0; r < R_N; r++) {
      c->slots[k].tag[r] = (ch_tag){.slot = &c->slots[k], .role = r};
    }
  }
  return c;
}

void churn_del(fl_churn *c) {
  if (!c) {
    return;
  }
  free(c->conns);
  free(c->slots);
  free(c->payload);
  free(c->anchors);
  free(c);
}

static wt_conn *conn_of(const fl_churn *c, const ch_slot *sl, int role) {
  return c->conns[sl->group * 3 + (uint32_t)role];
}

static int open_role(fl_churn *c, ch_slot *sl, int role) {
  static const char *const kind[R_N] = {"sub", "sub", "pub"};
  wt_conn *conn = conn_of(c, sl, role);
  char path[32 + CH_NAME_MAX];
  snprintf(path, sizeof(path), "/%s?ch=%s-%" PRIu32, kind[role], c->cfg.prefix, sl->idx);
  if (!conn || wt_conn_open_session(conn, "localhost", path, NULL, &sl->s[role]) != 0) {
    sl->s[role] = NULL;
    return -1;
  }
  wt_session_set_user(sl->s[role], &sl->tag[role]);
  return 0;
}

/* End the slot's channel: close what is open; a session still pending
 * loses its tag and is closed when it opens (churn_session_open). */
static void finish(fl_churn *c, ch_slot *sl) {
  for (int r = 0; r < R_N; r++) {
    wt_session *s = sl->s[r];
    if (!s) {
      continue;
    }
    sl->s[r] = NULL;
    wt_session_set_user(s, NULL);
    if (sl->open[r]) {
      (void)wt_session_close(s, 0, NULL, 0);
    }
  }
  sl->active = 0;
  c->done++;
}

static int group_usable(const fl_churn *c, uint32_t g) {
  return c->conns[3 * g] && c->conns[3 * g + 1] && c->conns[3 * g + 2];
}

void churn_step(fl_churn *c, uint64_t now) {
  if (!c->anchors_closed && c->started == c->cfg.channels && c->done == c->started) {
    c->anchors_closed = 1;
    for (uint32_t i = 0; i < c->cfg.n_conns; i++) {
      wt_session *s = c->anchors[i].anchor;
      if (s) {
        c->anchors[i].anchor = NULL;
        wt_session_set_user(s, NULL);
        (void)wt_session_close(s, 0, NULL, 0); /* WT_ERR_STATE if still pending: left */
      }
    }
  }
  for (uint32_t k = 0; k < c->window; k++) {
    ch_slot *sl = &c->slots[k];
    if (sl->active && (sl->finish || now >= sl->deadline)) {
      if (!sl->finish) {
        c->timeouts++;
      }
      finish(c, sl);
    }
    if (!sl->active && c->started < c->cfg.channels && group_usable(c, k / CH_PER_CONN)) {
      memset(sl->s, 0, sizeof(sl->s));
      memset(sl->open, 0, sizeof(sl->open));
      sl->active = 1;
      sl->finish = 0;
      sl->groups_ended = 0;
      sl->idx = c->started++;
      sl->group = k / CH_PER_CONN;
      sl->deadline = now + CH_TIMEOUT_NS;
      if (open_role(c, sl, R_SUB) != 0 || open_role(c, sl, R_STALL) != 0) {
        sl->finish = 1;
      }
    }
  }
}

int churn_done(const fl_churn *c) {
  if (c->done < c->started || (c->started == c->cfg.channels && !c->anchors_closed)) {
    return 0;
  }
  for (uint32_t g = 0; g < c->n_groups && c->started < c->cfg.channels; g++) {
    if (group_usable(c, g)) {
      return 0;
    }
  }
  return 1;
}

static void publish(fl_churn *c, ch_slot *sl) {
  wt_session *s = sl->s[R_PUB];
  for (uint32_t g = 0; g < c->cfg.groups; g++) {
    wt_stream *st;
    if (wt_session_open_stream(s, 0, &st) != 0) {
      break;
    }
    /* the send buffer (64 KiB by default) takes a group at once */
    if (wt_stream_write(st, c->payload, c->cfg.group_bytes, 1) == (int)c->cfg.group_bytes) {
      c->pub_groups++;
    }
  }
  uint8_t d[64];
  memset(d, 0x5a, sizeof(d));
  if (wt_session_send_datagram(s, d, sizeof(d)) == 0) {
    c->pub_dgrams++;
  }
}

void churn_session_open(fl_churn *c, wt_session *s) {
  ch_tag *t = wt_session_get_user(s);
  if (!t) {
    (void)wt_session_close(s, 0, NULL, 0); /* its channel ended while it was pending */
    return;
  }
  if (t->role == R_ANCHOR) {
    return;
  }
  ch_slot *sl = t->slot;
  sl->open[t->role] = 1;
  if (t->role == R_PUB) {
    publish(c, sl);
  } else if (sl->open[R_SUB] && sl->open[R_STALL] && !sl->s[R_PUB] && !sl->finish) {
    if (open_role(c, sl, R_PUB) != 0) {
      sl->finish = 1;
    }
  }
}

void churn_session_refused(fl_churn *c, wt_session *s, int status) {
  (void)status;
  ch_tag *t = wt_session_get_user(s);
  if (!t) {
    return;
  }
  if (t->role == R_ANCHOR) {
    t->anchor = NULL;
    c->anchors_lost++;
    return;
  }
  c->refused++;
  t->slot->s[t->role] = NULL;
  t->slot->finish = 1;
}

void churn_session_close(fl_churn *c, wt_session *s) {
  ch_tag *t = wt_session_get_user(s);
  if (!t) {
    return; /* ours (finish) */
  }
  if (t->role == R_ANCHOR) {
    t->anchor = NULL;
    c->anchors_lost++;
    return;
  }
  c->closed_by_server++;
  t->slot->s[t->role] = NULL;
  t->slot->open[t->role] = 0;
  t->slot->finish = 1;
}

void churn_stream_open(fl_churn *c, wt_session *s, wt_stream *st) {
  ch_tag *t = wt_session_get_user(s);
  if (!t || t->role == R_ANCHOR) {
    return;
  }
  wt_stream_set_user(st, t);
  if (t->role == R_STALL) {
    (void)wt_stream_set_manual_credit(st, 1); /* and never wt_stream_consume */
    c->stall_streams++;
  }
}

static void group_ended(fl_churn *c, ch_slot *sl) {
  if (++sl->groups_ended >= c->cfg.groups) {
    sl->finish = 1;
  }
}

void churn_stream_data(fl_churn *c, wt_stream *st, size_t len, int fin) {
  ch_tag *t = wt_stream_get_user(st);
  if (!t) {
    return;
  }
  if (t->role == R_STALL) {
    c->stall_bytes += len;
    return;
  }
  c->sub_bytes += len;
  if (fin) {
    c->groups_fin++;
    group_ended(c, t->slot);
  }
}

void churn_stream_reset(fl_churn *c, wt_stream *st) {
  ch_tag *t = wt_stream_get_user(st);
  if (!t || t->role != R_SUB) {
    return;
  }
  c->groups_reset++;
  group_ended(c, t->slot);
}

void churn_conn_close(fl_churn *c, wt_conn *conn) {
  for (uint32_t i = 0; i < c->cfg.n_conns; i++) {
    if (c->conns[i] == conn) {
      c->conns[i] = NULL;
      c->live_conns--;
      /* the server closes a connection left without a session (close
       * grace): only a loss while channels remain to be made counts */
      c->conns_lost += c->started < c->cfg.channels;
    }
  }
}

void churn_report(const fl_churn *c, FILE *out) {
  fprintf(out,
          ",\"churn\":{\"channels\":%" PRIu32 ",\"started\":%" PRIu32 ",\"done\":%" PRIu32
          ",\"timeouts\":%" PRIu64 ",\"refused\":%" PRIu64 ",\"closed_by_server\":%" PRIu64
          ",\"pub_groups\":%" PRIu64 ",\"pub_datagrams\":%" PRIu64 ",\"groups_fin\":%" PRIu64
          ",\"groups_reset\":%" PRIu64 ",\"sub_bytes\":%" PRIu64 ",\"stall_streams\":%" PRIu64
          ",\"stall_bytes\":%" PRIu64 ",\"conns_lost\":%" PRIu64 ",\"anchors_lost\":%" PRIu64 "}",
          c->cfg.channels, c->started, c->done, c->timeouts, c->refused, c->closed_by_server,
          c->pub_groups, c->pub_dgrams, c->groups_fin, c->groups_reset, c->sub_bytes,
          c->stall_streams, c->stall_bytes, c->conns_lost, c->anchors_lost);
}
