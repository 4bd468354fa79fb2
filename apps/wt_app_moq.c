/* wt_app_moq.c: a moq-lite relay (moq-lite-05, -04 and -03 as @moq/net
 * 0.3.4 negotiates them through WT-Protocol, -05 preferred) on the fan-out
 * groups of wt_app.h.
 * What it does on the wire, its codes and bounds: docs/protocol.md section
 * 9; the codec: apps/moq/wt_moq.h.
 *
 * Routes /moq and /moq/ROOT: the URL's path (without '/' and query) is the
 * broadcast root, e.g. "moq/room1"; every session of a root runs on the
 * worker its first segment hashes to (worker_hint: "moq/room1" for
 * "moq/room1/x", so nested roots see each other, bcast_rel), which keeps
 * the root: its
 * broadcasts (announced by publisher sessions), the announce streams of
 * the sessions that want them, and per track the one subscription the
 * relay holds towards the publisher and the fan-out to its subscribers.
 *
 * Per track: subscribers are grouped by the subscribe id they chose
 * (a "fan": one wt_app_group, since the group header on each of their
 * uni streams carries that id; @moq/net numbers its subscriptions from 0,
 * so subscribers of the same track usually share one fan). Each group the
 * publisher sends (a uni stream) is read once: its header is parsed, its
 * frames are checked (sizes) and passed on as the received buffers (no
 * copy), on one mirrored stream per fan whose first bytes are the fan's
 * own group header. The newest group is kept (references, bounded by
 * relay_group_max) for late joiners, who start at its beginning. A
 * subscription with a start/end group has a fan of its own (id and range).
 * Each subscriber is a pooled member of its fan's group with its
 * SUBSCRIBE's priority and max latency (wt_app_group_join_opts: the shards
 * drop a lagging session's lowest-priority groups first, and groups older
 * than its budget). Each broadcast's fans share its counters, listed for
 * /metrics in the module's wt_moq_reg (any thread, a lock).
 *
 * The cascade (section "cascade" at the end; wt_apps.h): with a locator,
 * a SUBSCRIBE to a broadcast published on another node makes a remote
 * broadcast whose publisher session is an upstream moq-lite session this
 * worker opens (wt_app_connect) and keeps across reconnections (moq_up).
 *
 * moq-lite-05 (docs/protocol.md section 9): frames carry timestamps, so a
 * broadcast is seen (announced, subscribed, fetched) only by sessions whose
 * frames match its publisher's (-05 with -05, -03/-04 with either): the
 * relay forwards frames as received and never re-times them. TRACK
 * requests are answered from the publisher's TRACK_INFO (asked once per
 * track, kept with the broadcast); SUBSCRIBE is accepted implicitly, with
 * SUBSCRIBE_START once the subscriber's first group is known and
 * SUBSCRIBE_END before the relay's FIN; FETCH is served from the last
 * moq_fetch_groups complete groups of a track kept in its cache (bounded
 * by moq_fetch_bytes of buffer capacity), while the track has subscribers.
 *
 * Tokens (wt_apps_config.auth): checked at the CONNECT on the root (401
 * without a valid one); a token not granting the whole root for an action
 * is checked again per broadcast from the copy kept in the session.
 *
 * Ownership: a wt_moq_relay per worker (wt_apps.moq), freed by
 * wt_apps_fini after every session closed (with the remote broadcasts
 * left waiting for a retry or their linger); every structure here belongs to
 * that worker's thread. Each stream's state (moq_strm) lives from its
 * stream_open (or wt_app_open_stream) to its stream_close. */
#define WT_LOG_MODULE "moq"
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wt_app_gcache.h"
#include "wt_apps.h"
#include "wt_error.h"
#include "wt_log.h"
#include "wt_moq.h"

typedef struct moq_root moq_root;
typedef struct moq_sess moq_sess;
typedef struct moq_bcast moq_bcast;
typedef struct moq_track moq_track;
typedef struct moq_fan moq_fan;
typedef struct moq_strm moq_strm;
typedef struct moq_up moq_up;
typedef struct moq_tinfo moq_tinfo;

/* What a stream is to the relay. */
enum {
  R_PEER_BIDI = 1, /* a client's bidi stream, kind not read yet */
  R_INTEREST,      /* a client's announce stream (ANNOUNCE_PLEASE): we send ANNOUNCEs */
  R_SUB,           /* a client's subscribe stream */
  R_PROBE,         /* a client's probe stream: we send nothing (no estimates) */
  R_GOAWAY,        /* a client's goaway stream (-04) */
  R_UP_ANNOUNCE,   /* ours towards a client: ANNOUNCE_PLEASE, it sends ANNOUNCEs */
  R_UP_SUB,        /* ours towards a publisher: SUBSCRIBE, it answers */
  R_GROUP_IN,      /* a publisher's uni stream: one group */
  R_TRACK,         /* a client's track stream (-05): we answer TRACK_INFO */
  R_UP_TRACK,      /* ours towards a publisher (-05): TRACK, it answers TRACK_INFO */
  R_FETCH,         /* a client's fetch stream (-05): we send the group's frames */
  R_SETUP_IN,      /* a client's setup stream (-05): one SETUP */
  R_DEAD,          /* refused or detached: whatever comes is discarded */
};

typedef struct moq_out { /* a group's mirrored stream in one fan */
  moq_fan *f;
  uint64_t gsid;
} moq_out;

struct moq_strm {
  int role;   /* what its bytes are read as now (R_DEAD: discarded) */
  int what;   /* what it is (R_*, never R_DEAD): what it holds until it closes */
  int listed; /* R_INTEREST: in its root's list */
  moq_sess *s;
  wt_app_stream *st;
  moq_strm *lprev, *lnext; /* in the list of its role (interests, subs, ins) */
  uint64_t kind;
  int have_kind;
  uint64_t n_msgs;
  /* R_INTEREST */
  char *prefix;
  size_t prefix_len;
  uint64_t exclude_hop;
  /* R_SUB, R_UP_SUB, R_GROUP_IN */
  moq_track *t;
  /* R_SUB */
  moq_fan *f;
  uint64_t id;
  wt_moq_sub_params p;
  int ok_sent;
  int ended; /* its end group was delivered: our FIN sent, the peer's awaited */
  /* R_GROUP_IN */
  int have_hdr;
  uint64_t seq, frame_rem;
  moq_out *outs;
  size_t n_outs;
  /* R_SUB on -05: SUBSCRIBE_START sent */
  int start_sent;
  /* R_TRACK (waiting), R_UP_TRACK */
  moq_tinfo *ti;
  /* R_FETCH: the group's slices (a reference each) and how far they went */
  wt_app_gcache_slice *fs;
  size_t fs_n, fs_i, fs_off;
  wt_moq_reader rd;
};

/* A track's TRACK_INFO (-05), asked from its publisher once. */
struct moq_tinfo {
  moq_tinfo *next;
  moq_bcast *b;
  char *name;
  size_t name_len;
  int have;
  wt_moq_msg info;   /* WT_MOQ_TRACK_INFO, when have */
  moq_strm *up;      /* our TRACK stream towards the publisher, while asking */
  moq_strm *waiters; /* R_TRACK streams waiting for it */
};

struct moq_fan {
  moq_fan *next;
  moq_track *t;
  uint64_t id;
  /* the group range of its subscribers (SUBSCRIBE start/end group): a fan
   * serves the subscriptions of one id and one range */
  uint8_t has_start, has_end, finished;
  uint64_t start, end;
  wt_app_group *g;
  size_t members;
  int has_cur; /* cur_gsid carries the group cur_seq */
  uint64_t cur_gsid, cur_seq;
};

struct moq_track {
  moq_track *prev, *next;
  moq_bcast *b;
  char *name;
  size_t name_len;
  moq_strm *up; /* our subscribe stream towards the publisher */
  uint64_t up_id;
  int up_ok;
  moq_strm *subs; /* R_SUB streams (pending or answered) */
  size_t n_subs;
  moq_fan *fans;
  moq_strm *ins;   /* R_GROUP_IN streams still open */
  uint8_t up_prio; /* the priority the subscription towards the publisher asks for */
  /* the newest group, for late joiners */
  int has_cur, cur_fin;
  uint64_t cur_seq;
  moq_strm *cur_in;
  wt_app_gcache gc;       /* its bytes, while it fits (relay_group_max); -05: past groups too */
  uint64_t end_seq;       /* one past the largest group seen (SUBSCRIBE_END), 0 = none */
  size_t n_start_pending; /* -05 subscribers that may still need SUBSCRIBE_START */
};

struct moq_bcast {
  moq_bcast *prev, *next;
  moq_root *root;
  moq_sess *pub;
  char *path;
  size_t len;
  uint32_t n_hops;
  uint64_t hops[WT_MOQ_MAX_HOPS];
  moq_track *tracks;
  size_t n_tracks;
  moq_tinfo *infos; /* -05 TRACK_INFOs (asked or known) */
  size_t n_infos;
  /* its fans' delivery and drop counters (written by the shards:
   * reference-counted, wt_app.h), listed for /metrics while it lives */
  wt_app_group_counters *gc;
  struct moq_reg_ent *reg;
};

struct moq_root {
  moq_root *prev, *next;
  char name[WT_APP_MAX_PATH_LEN + 1];
  moq_bcast *bcasts;
  size_t n_bcasts, n_sess;
  moq_strm *interests;
};

struct moq_sess {
  wt_app_session *as;
  wt_apps *a;
  moq_root *root;
  int version;
  size_t n_interests, n_published;
  moq_strm *subs[WT_APP_MOQ_MAX_SUBS];
  uint64_t next_up_id;
  moq_strm *up_ann;
  int goaway_sent;
  uint64_t pub_origin; /* -05: its ANNOUNCE_OK's origin (0 = none), first hop of its broadcasts */
  /* tokens (wt_apps_config.auth): the session's root in the token's
   * namespace, rights on all of it (checked once at the CONNECT), and what
   * the token was read from, for the checks of single broadcasts later */
  char *auth_root, *auth_query, *auth_bearer;
  uint8_t pub_all, sub_all;
  /* the cascade ("cascade" below): the hop count of a downstream node's
   * session (its CONNECT's ?hops=N; 0 for a client), and for the state of
   * an upstream session this node opened (one per remote broadcast, kept
   * across its reconnections: as is the current session or NULL) its up */
  uint32_t hops;
  moq_up *up;
};

/* A live broadcast's counters as /metrics lists them (wt_moq_reg). */
typedef struct moq_reg_ent {
  struct moq_reg_ent *prev, *next;
  char name[WT_MOQ_REG_NAME + 1]; /* ROOT/PATH, bytes outside [A-Za-z0-9_./-] as '_' */
  wt_app_group_counters *gc;      /* a reference of the entry's */
  _Atomic uint64_t subs;          /* its subscriptions (of any track), by its worker */
} moq_reg_ent;

struct wt_moq_reg {
  pthread_mutex_t mu;
  moq_reg_ent *head;
  size_t n;
};

/* The fan-out counters, as wt_apps_counters has them. */
typedef struct moq_fan_totals {
  uint64_t streams, bytes, lagged, limit, priority, latency;
} moq_fan_totals;

struct wt_moq_relay {
  moq_root *roots;
  size_t n_roots;
  wt_moq_reg *reg;        /* the module's (may be NULL: no per-broadcast series) */
  moq_fan_totals retired; /* the ended broadcasts' counters */
  moq_up *ups;            /* the cascade's remote broadcasts */
};

/* The cascade (wt_apps.h "moq-lite cascade"): a broadcast subscribed to
 * here but published on another node is pulled from it through ONE
 * upstream moq-lite session per broadcast per node (wt_app_connect to
 * /ROOT?hops=N); its state is a moq_sess of its own (s, the "publisher"
 * of the remote broadcast b: the relay treats it as a browser publisher's
 * session, its groups take the same fan-out path), kept across
 * reconnections. */
struct moq_up {
  moq_up *prev, *next;
  wt_apps *a;
  wt_app_ctx *ctx;
  moq_sess *s;   /* s->as: the current upstream session (connecting or open), else NULL */
  moq_bcast *b;  /* the remote broadcast it feeds (NULL once ended) */
  moq_strm *ann; /* our ANNOUNCE_PLEASE (prefix: b's path) on the current session */
  char key[WT_APP_MAX_PATH_LEN + WT_MOQ_MAX_PATH + 2]; /* ROOT/PATH: the locator's name */
  uint64_t timer;                                      /* retry or linger */
  unsigned idx;                                        /* the locator candidate */
  uint32_t backoff_ms;
  uint32_t hops;     /* what the current session carries */
  uint32_t hops_max; /* the largest hop count of the local subscribers' sessions */
  uint8_t open;      /* the current session is open */
  uint8_t live;      /* the upstream announced the broadcast (then announced here) */
  uint8_t fed;       /* the current session delivered a group */
  uint8_t ending;    /* up_end ran: the session closes, then up_free */
  uint8_t drained;   /* the upstream is going away: re-resolve after a moment */
};

#define LIST_ADD(head, x)                                                                          \
  do {                                                                                             \
    (x)->prev = NULL;                                                                              \
    (x)->next = (head);                                                                            \
    if (head) {                                                                                    \
      (head)->prev = (x);                                                                          \
    }                                                                                              \
    (head) = (x);                                                                                  \
  } while (0)
#define LIST_DEL(head, x)                                                                          \
  do {                                                                                             \
    if ((x)->prev) {                                                                               \
      (x)->prev->next = (x)->next;                                                                 \
    } else {                                                                                       \
      (head) = (x)->next;                                                                          \
    }                                                                                              \
    if ((x)->next) {                                                                               \
      (x)->next->prev = (x)->prev;                                                                 \
    }                                                                                              \
  } while (0)

static void slist_add(moq_strm **head, moq_strm *x) {
  x->lprev = NULL;
  x->lnext = *head;
  if (*head) {
    (*head)->lprev = x;
  }
  *head = x;
}

static void slist_del(moq_strm **head, moq_strm *x) {
  if (x->lprev) {
    x->lprev->lnext = x->lnext;
  } else if (*head == x) {
    *head = x->lnext;
  }
  if (x->lnext) {
    x->lnext->lprev = x->lprev;
  }
  x->lprev = x->lnext = NULL;
}

/* ------------------------------------------------------------------ counters */

#define LDC(x) atomic_load_explicit(&(x), memory_order_relaxed)

static void totals_add(moq_fan_totals *t, const wt_app_group_counters *g) {
  t->streams += LDC(g->delivered_streams);
  t->bytes += LDC(g->delivered_stream_bytes);
  t->lagged += LDC(g->dropped_streams_lagged);
  t->limit += LDC(g->dropped_streams_limit);
  t->priority += LDC(g->dropped_streams_priority);
  t->latency += LDC(g->dropped_streams_latency);
}

static void reg_add(wt_moq_reg *g, moq_bcast *b) {
  moq_reg_ent *e = g ? calloc(1, sizeof(*e)) : NULL;
  if (!e) {
    return; /* no series of its own; the totals still count it */
  }
  int n = snprintf(e->name, sizeof(e->name), "%s/%.*s", b->root->name, (int)b->len, b->path);
  for (int i = 0; i < n && i < WT_MOQ_REG_NAME; i++) {
    char c = e->name[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
          c == '.' || c == '/' || c == '-')) {
      e->name[i] = '_';
    }
  }
  wt_app_group_counters_ref(b->gc);
  e->gc = b->gc;
  pthread_mutex_lock(&g->mu);
  LIST_ADD(g->head, e);
  g->n++;
  pthread_mutex_unlock(&g->mu);
  b->reg = e;
}

static void reg_remove(wt_moq_reg *g, moq_bcast *b) {
  moq_reg_ent *e = b->reg;
  if (!e) {
    return;
  }
  pthread_mutex_lock(&g->mu);
  LIST_DEL(g->head, e);
  g->n--;
  pthread_mutex_unlock(&g->mu);
  wt_app_group_counters_unref(e->gc);
  free(e);
  b->reg = NULL;
}

static wt_apps_counters *cnt(moq_sess *s) {
  return &s->a->cnt;
}

/* ------------------------------------------------------------------ tokens */

/* Whether session s may do action (WT_APP_AUTH_*) on broadcast path
 * (relative to its root): always without an authorizer, or when its token
 * grants the whole root; else the token (saved from the CONNECT) is checked
 * again for ROOT/path: the namespace of the token is the relay's channel
 * names, "/moq/live" + broadcast "cam" being "live/cam" (docs/protocol.md
 * section 9). */
static int sess_may(moq_sess *s, int action, const char *path, size_t len) {
  if (!s->a->cfg.auth || (action == WT_APP_AUTH_PUBLISH ? s->pub_all : s->sub_all)) {
    return 1;
  }
  char full[WT_APP_MAX_PATH_LEN + WT_MOQ_MAX_PATH + 2];
  size_t rl = strlen(s->auth_root);
  if (rl + len + 2 > sizeof(full)) {
    return 0;
  }
  memcpy(full, s->auth_root, rl);
  if (rl && len) {
    full[rl++] = '/';
  }
  memcpy(full + rl, path, len);
  full[rl + len] = '\0';
  wt_app_header bearer = {.name = "authorization", .value = s->auth_bearer};
  wt_app_request rq = {.path = "",
                       .query = s->auth_query ? s->auth_query : "",
                       .headers = s->auth_bearer ? &bearer : NULL,
                       .n_headers = s->auth_bearer ? 1 : 0};
  return wt_apps_authorize(s->a, s->as, &rq, action, full) == 0;
}

static void sess_free(moq_sess *s) {
  free(s->auth_root);
  free(s->auth_query);
  free(s->auth_bearer);
  free(s);
}

/* ------------------------------------------------------------------ paths */

/* Fold a path as the client does: no leading, trailing or repeated '/'.
 * Returns a malloc'd copy (len in *out_len) or NULL. */
static char *path_fold(const uint8_t *p, size_t len, size_t *out_len) {
  char *d = malloc(len + 1);
  if (!d) {
    return NULL;
  }
  size_t n = 0;
  for (size_t i = 0; i < len; i++) {
    if (p[i] == '/' && (n == 0 || d[n - 1] == '/')) {
      continue;
    }
    d[n++] = (char)p[i];
  }
  if (n && d[n - 1] == '/') {
    n--;
  }
  d[n] = '\0';
  *out_len = n;
  return d;
}

/* The suffix of path under prefix (moq's stripPrefix), or NULL. */
static const char *path_strip(const char *prefix, size_t pl, const char *path, size_t len,
                              size_t *slen) {
  if (pl == 0) {
    *slen = len;
    return path;
  }
  if (len < pl || memcmp(prefix, path, pl)) {
    return NULL;
  }
  if (len == pl) {
    *slen = 0;
    return path + len;
  }
  if (path[pl] != '/') {
    return NULL;
  }
  *slen = len - pl - 1;
  return path + pl + 1;
}

/* ------------------------------------------------------------------ stream helpers */

/* Refuse or abort a stream: reset our side (bidi or ours), stop the
 * peer's (if it has one); what still arrives is discarded. */
static void strm_abort(moq_strm *ms, uint32_t code) {
  if (!ms->st) {
    ms->role = R_DEAD;
    return;
  }
  int bidi = wt_app_stream_is_bidi(ms->st), local = wt_app_stream_is_local(ms->st);
  if (bidi || local) {
    wt_app_stream_reset(ms->st, code);
  }
  if (bidi || !local) {
    wt_app_stream_stop_sending(ms->st, code);
  }
  ms->role = R_DEAD;
}

/* Write all of p[0..n) (and fin), or abort the stream (a stream's send
 * credit is far above what the relay writes on a control stream). */
static int strm_write(moq_strm *ms, const uint8_t *p, size_t n, int fin) {
  if (!ms->st || ms->role == R_DEAD) {
    return WT_ERR_STATE;
  }
  int rv = wt_app_stream_write(ms->st, p, n, fin);
  if (rv < 0 || (size_t)rv != n) {
    WT_LOG_DEBUG("session %llu: control stream write failed (%d): reset",
                 (unsigned long long)wt_app_session_id(ms->s->as), rv);
    cnt(ms->s)->moq_limit++;
    strm_abort(ms, WT_APP_MOQ_LIMIT);
    return rv < 0 ? rv : WT_ERR_AGAIN;
  }
  return 0;
}

static int strm_send(moq_strm *ms, const wt_moq_msg *m, uint64_t kind_first, int with_kind) {
  uint8_t buf[WT_MOQ_MAX_MSG + 32];
  size_t n = 0;
  if (with_kind) {
    n = (size_t)wt_varint_encode(buf, sizeof(buf), kind_first);
  }
  int rv = wt_moq_encode(m, ms->s->version, buf + n, sizeof(buf) - n);
  if (rv < 0) {
    WT_LOG_WARN("moq encode failed: %d", rv);
    strm_abort(ms, WT_APP_MOQ_PROTOCOL);
    return rv;
  }
  return strm_write(ms, buf, n + (size_t)rv, 0);
}

static moq_strm *strm_new(moq_sess *s, wt_app_stream *st, int role) {
  moq_strm *ms = calloc(1, sizeof(*ms));
  if (!ms) {
    return NULL;
  }
  ms->s = s;
  ms->st = st;
  ms->role = role;
  ms->what = role;
  wt_moq_reader_init(&ms->rd, s->version);
  wt_app_stream_set_user(st, ms);
  return ms;
}

/* ------------------------------------------------------------------ announces */

/* Nested roots: a session sees the broadcasts of its own root and of the
 * roots below it on this worker (its root "moq/a" sees "cam" published at
 * "moq/a/b" as "b/cam"), and those of a root above it that are under it
 * ("moq/a/b" sees "b/cam" published at "moq/a" as "cam"). Whether root
 * names a and b are the same or one is below the other. */
static int roots_related(const char *a, const char *b) {
  size_t al = strlen(a), bl = strlen(b), n = al < bl ? al : bl;
  return !memcmp(a, b, n) && (al == bl || (al < bl ? b[n] : a[n]) == '/');
}

/* b's path as seen from root name view: NULL when b is not under it; else
 * the path (length in *rl), in buf (cap bytes) when b is in a root below
 * view, else inside b->path. A broadcast at view's own path is not
 * visible from a root below its own (an empty path). */
static const char *bcast_rel(const moq_bcast *b, const char *view, char *buf, size_t cap,
                             size_t *rl) {
  const char *rn = b->root->name;
  size_t rnl = strlen(rn), vl = strlen(view);
  if (rnl == vl && !memcmp(rn, view, vl)) {
    *rl = b->len;
    return b->path;
  }
  if (rnl > vl && !memcmp(rn, view, vl) && rn[vl] == '/') { /* b's root below view */
    size_t k = rnl - vl - 1;
    if (k + 1 + b->len > cap) {
      return NULL;
    }
    memcpy(buf, rn + vl + 1, k);
    if (b->len) {
      buf[k++] = '/';
      memcpy(buf + k, b->path, b->len);
      k += b->len;
    }
    *rl = k;
    return buf;
  }
  if (vl > rnl && !memcmp(view, rn, rnl) && view[rnl] == '/') { /* view below b's root */
    const char *r = path_strip(view + rnl + 1, vl - rnl - 1, b->path, b->len, rl);
    return r && *rl ? r : NULL;
  }
  return NULL;
}

#define MOQ_REL_CAP (WT_APP_MAX_PATH_LEN + WT_MOQ_MAX_PATH + 2)

static int interest_wants(const moq_strm *in, const moq_bcast *b, const char *rel, size_t rlen,
                          const char **suf, size_t *slen) {
  *suf = path_strip(in->prefix, in->prefix_len, rel, rlen, slen);
  if (!*suf) {
    return 0;
  }
  if (in->s->version >= WT_MOQ_LITE_04 && in->exclude_hop) {
    for (uint32_t i = 0; i < b->n_hops; i++) {
      if (b->hops[i] == in->exclude_hop) {
        return 0; /* the asker's own broadcast, reflected */
      }
    }
  }
  return 1;
}

/* Whether sessions of versions a and b carry the same frames: -05's have
 * a timestamp each, -03/-04's not (the relay passes frames on as read). */
static int frames_match(int a, int b) {
  return (a >= WT_MOQ_LITE_05) == (b >= WT_MOQ_LITE_05);
}

/* Whether interest in is told about b (its suffix in *suf, inside buf of
 * MOQ_REL_CAP bytes or b's path). */
static int announce_visible(const moq_strm *in, const moq_bcast *b, char *buf, const char **suf,
                            size_t *slen) {
  const char *rel;
  size_t rlen;
  return in->role == R_INTEREST && frames_match(in->s->version, b->pub->version) &&
         (rel = bcast_rel(b, in->s->root->name, buf, MOQ_REL_CAP, &rlen)) &&
         interest_wants(in, b, rel, rlen, suf, slen) &&
         sess_may(in->s, WT_APP_AUTH_SUBSCRIBE, rel, rlen);
}

static void announce_to(moq_strm *in, const moq_bcast *b, int active) {
  const char *suf;
  size_t slen;
  char buf[MOQ_REL_CAP];
  if (b->pub->up && !b->pub->up->live) {
    return; /* a remote broadcast its upstream did not announce (yet) */
  }
  if (!announce_visible(in, b, buf, &suf, &slen)) {
    return;
  }
  wt_moq_msg m = {.type = WT_MOQ_ANNOUNCE};
  m.u.announce.status = active ? WT_MOQ_ANNOUNCE_ACTIVE : WT_MOQ_ANNOUNCE_ENDED;
  m.u.announce.suffix = (wt_moq_str){(const uint8_t *)suf, slen};
  m.u.announce.n_hops = b->n_hops;
  memcpy(m.u.announce.hops, b->hops, sizeof(b->hops[0]) * b->n_hops);
  if (strm_send(in, &m, 0, 0) == 0) {
    cnt(in->s)->moq_announces_sent++;
  }
}

static void announce_all(moq_bcast *b, int active) {
  for (moq_root *r = b->pub->a->moq->roots; r; r = r->next) {
    if (!roots_related(r->name, b->root->name)) {
      continue;
    }
    for (moq_strm *in = r->interests; in; in = in->lnext) {
      announce_to(in, b, active);
    }
  }
}

/* ------------------------------------------------------------------ tracks */

/* The group header of fan f for group seq: data type 0, GROUP{id, seq}. */
static wt_buf *group_hdr(wt_app_ctx *ctx, const moq_fan *f, uint64_t seq, int version) {
  wt_buf *b = wt_app_buf_alloc(ctx, WT_APP_GROUP_HDR_MAX);
  if (!b) {
    return NULL;
  }
  b->data[0] = WT_MOQ_UNI_GROUP;
  wt_moq_msg m = {.type = WT_MOQ_GROUP};
  m.u.group.subscribe = f->id;
  m.u.group.sequence = seq;
  int n = wt_moq_encode(&m, version, b->data + 1, WT_APP_GROUP_HDR_MAX - 1);
  if (n < 0) {
    wt_buf_unref(b);
    return NULL;
  }
  b->len = (size_t)n + 1;
  return b;
}

/* Whether group seq is in f's range. */
static int fan_wants(const moq_fan *f, uint64_t seq) {
  return !f->finished && (!f->has_start || seq >= f->start) && (!f->has_end || seq <= f->end);
}

/* -05: SUBSCRIBE_START / _END on a subscriber's stream (its start group,
 * or one past its last); 0 when sent. */
static int sub_range(moq_strm *sub, wt_moq_type type, uint64_t group) {
  wt_moq_msg m = {.type = type};
  m.u.range.group = group;
  return strm_send(sub, &m, 0, 0);
}

/* The relay ends a subscription cleanly: -05's SUBSCRIBE_END (end: one
 * past the last group), then our FIN. */
static void sub_fin(moq_strm *sub, uint64_t end) {
  if (sub->s->version >= WT_MOQ_LITE_05 && sub->role == R_SUB &&
      sub_range(sub, WT_MOQ_SUBSCRIBE_END, end) < 0) {
    return; /* reset */
  }
  if (sub->role == R_SUB) {
    wt_app_stream_write(sub->st, NULL, 0, 1);
  }
}

/* f's range is over: the publisher started a group after its end group
 * (not when the end group is complete: a -04 client drops the groups still
 * in flight once its subscription ends, so the end group gets a group's
 * time to arrive), or the track was past it already. Each of its
 * subscriptions ends cleanly (our FIN on the subscribe stream, as a
 * publisher's does when the track finishes); each stays in the fan, with
 * nothing more to receive, until the subscriber's FIN or reset (leaving at
 * once would reset a group still unacknowledged). */
static void fan_finish(moq_fan *f) {
  if (f->finished) {
    return;
  }
  f->finished = 1;
  for (moq_strm *sub = f->t->subs; sub; sub = sub->lnext) {
    if (sub->f == f && sub->role == R_SUB && !sub->ended && sub->ok_sent) {
      sub->ended = 1;
      sub_fin(sub, f->end + 1);
      sub->s->a->cnt.moq_subs_ended++;
    }
  }
}

/* Remove fan f from the open groups of its track. */
static void fan_forget(moq_fan *f) {
  for (moq_strm *in = f->t->ins; in; in = in->lnext) {
    for (size_t i = 0; i < in->n_outs; i++) {
      if (in->outs[i].f == f) {
        in->outs[i] = in->outs[--in->n_outs];
        break;
      }
    }
  }
}

static void fan_free(moq_fan *f, uint32_t code) {
  moq_track *t = f->t;
  fan_forget(f);
  for (moq_fan **pp = &t->fans; *pp; pp = &(*pp)->next) {
    if (*pp == f) {
      *pp = f->next;
      break;
    }
  }
  wt_app_group_del(f->g, code);
  free(f);
}

static int out_add(moq_strm *in, moq_fan *f, uint64_t gsid) {
  moq_out *o = realloc(in->outs, (in->n_outs + 1) * sizeof(*o));
  if (!o) {
    return WT_ERR_NOMEM;
  }
  in->outs = o;
  o[in->n_outs++] = (moq_out){.f = f, .gsid = gsid};
  return 0;
}

/* Open the newest group in fan f (new to it) and write what is kept. */
static void fan_start_cur(moq_fan *f, wt_app_ctx *ctx, int version) {
  moq_track *t = f->t;
  if (f->has_end && t->has_cur && t->cur_seq > f->end) {
    fan_finish(f); /* the track is past the range already */
    return;
  }
  if (!t->has_cur || !t->gc.on || !fan_wants(f, t->cur_seq)) {
    return;
  }
  wt_buf *h = group_hdr(ctx, f, t->cur_seq, version);
  if (!h) {
    return;
  }
  uint64_t gsid = wt_app_group_stream_open_hdr(f->g, (uint32_t)h->len);
  wt_app_group_stream_write(f->g, gsid, h, 0, h->len, 0);
  wt_buf_unref(h);
  const wt_app_gcache_slice *c;
  size_t nc;
  wt_app_gcache_cur(&t->gc, &c, &nc);
  for (size_t i = 0; i < nc; i++) {
    wt_app_group_stream_write(f->g, gsid, c[i].buf, c[i].off, c[i].len, 0);
  }
  if (t->cur_fin) {
    wt_app_group_stream_write(f->g, gsid, NULL, 0, 0, 1);
  } else if (!t->cur_in || out_add(t->cur_in, f, gsid) < 0) {
    wt_app_group_stream_reset(f->g, gsid, WT_APP_MOQ_GONE);
    return;
  }
  f->has_cur = 1;
  f->cur_gsid = gsid;
  f->cur_seq = t->cur_seq;
  f->t->b->pub->a->cnt.moq_catchups++;
}

/* A member joining fan f late: the newest group from its start (1 when
 * it gets it). */
static int fan_catchup(moq_fan *f, wt_app_session *as, int version) {
  moq_track *t = f->t;
  if (!t->has_cur || !t->gc.on || !f->has_cur || f->cur_seq != t->cur_seq) {
    return 0;
  }
  wt_buf *h = group_hdr(wt_app_session_ctx(as), f, t->cur_seq, version);
  if (!h || wt_app_group_catchup(f->g, as, f->cur_gsid) < 0) {
    if (h) {
      wt_buf_unref(h);
    }
    return 0;
  }
  t->b->pub->a->cnt.moq_catchups++;
  wt_app_group_catchup_data(f->g, as, f->cur_gsid, h, 0, h->len, 0);
  wt_buf_unref(h);
  wt_app_gcache_replay(&t->gc, f->g, as, f->cur_gsid, t->cur_fin);
  return 1;
}

static void sub_detach(moq_strm *sub, uint32_t code, int clean, uint32_t rel_code);
static void strm_drop(moq_strm *ms, uint32_t code);
static void track_release(moq_track *t, uint32_t code);
/* the cascade's hooks ("cascade" below) */
static void up_tracks_changed(moq_up *up);
static moq_bcast *up_bcast(moq_sess *s, const char *path, size_t len);
static int up_want(moq_up *up, uint32_t hops);
static void up_announce(moq_up *up, const wt_moq_msg *m);
static void up_publish(moq_bcast *b, int live);
static void up_end(moq_up *up, const char *why, uint32_t code, int clean);

/* The track ends (the publisher's answer or its broadcast ended):
 * subscribers' streams end (clean: FIN; else reset with code), then the
 * track is released with its last subscriber (or at once without one). */
static void track_free(moq_track *t, uint32_t code, int clean) {
  if (t->n_subs == 0) {
    track_release(t, code);
    return;
  }
  for (;;) {
    int last = t->n_subs == 1;
    sub_detach(t->subs, code, clean, code); /* the last one releases t */
    if (last) {
      return;
    }
  }
}

/* Free the track: the subscription towards the publisher is closed (FIN),
 * its groups in flight are stopped, the fans deleted (their open mirrored
 * streams reset with code). */
static void track_release(moq_track *t, uint32_t code) {
  moq_bcast *b = t->b;
  while (t->fans) {
    fan_free(t->fans, code);
  }
  while (t->ins) {
    moq_strm *in = t->ins;
    slist_del(&t->ins, in);
    in->t = NULL;
    in->n_outs = 0;
    strm_abort(in, WT_APP_MOQ_CANCEL);
  }
  if (t->up) {
    moq_strm *up = t->up;
    up->t = NULL;
    if (up->role == R_UP_SUB) {
      wt_app_stream_write(up->st, NULL, 0, 1); /* unsubscribe */
      up->role = R_DEAD;
    }
  }
  wt_app_gcache_free(&t->gc);
  LIST_DEL(b->tracks, t);
  b->n_tracks--;
  free(t->name);
  free(t);
  if (b->pub->up) {
    up_tracks_changed(b->pub->up);
  }
}

/* A subscriber's subscription ends: out of its fan (deleted when empty),
 * its stream ended (FIN when clean, else reset with code), the track
 * released (rel_code) when it was the last. */
static void sub_detach(moq_strm *sub, uint32_t code, int clean, uint32_t rel_code) {
  moq_track *t = sub->t;
  moq_sess *s = sub->s;
  if (!t) {
    return;
  }
  slist_del(&t->subs, sub);
  t->n_subs--;
  if (t->b->reg) {
    atomic_fetch_sub_explicit(&t->b->reg->subs, 1, memory_order_relaxed);
  }
  sub->t = NULL;
  for (size_t i = 0; i < WT_APP_MOQ_MAX_SUBS; i++) {
    if (s->subs[i] == sub) {
      s->subs[i] = NULL;
    }
  }
  moq_fan *f = sub->f;
  sub->f = NULL;
  if (f) {
    wt_app_group_leave(f->g, s->as);
    if (--f->members == 0) {
      fan_free(f, WT_APP_MOQ_CANCEL);
    }
  }
  if (sub->role == R_SUB && sub->st) {
    if (clean) {
      if (!sub->ended) { /* else its END and FIN went already */
        sub_fin(sub, t->end_seq);
      }
      sub->role = R_DEAD;
    } else {
      strm_abort(sub, code);
    }
  }
  if (t->n_subs == 0) {
    track_release(t, rel_code);
  }
}

/* SUBSCRIBE_OK (the subscriber's own parameters back; -05: accepted
 * without a message); 0 when sent. A subscription whose range is over
 * already ends at once after it. */
static int sub_ok(moq_strm *sub) {
  if (sub->s->version < WT_MOQ_LITE_05) {
    wt_moq_msg m = {.type = WT_MOQ_SUBSCRIBE_OK};
    m.u.update = sub->p;
    if (strm_send(sub, &m, 0, 0) < 0) {
      return -1;
    }
  }
  sub->ok_sent = 1;
  if (sub->f && sub->f->finished && !sub->ended) {
    sub->ended = 1;
    sub_fin(sub, sub->f->end + 1);
    sub->s->a->cnt.moq_subs_ended++;
  }
  return 0;
}

/* -05: SUBSCRIBE_START when the subscriber's first group is group seq of
 * its fan (got), else it waits for the next group (group_begin). */
static void sub_start(moq_strm *sub, int got, uint64_t seq) {
  if (sub->s->version < WT_MOQ_LITE_05 || sub->start_sent || sub->ended || sub->role != R_SUB) {
    return;
  }
  if (!got) {
    sub->t->n_start_pending++;
    return;
  }
  sub->start_sent = 1;
  sub_range(sub, WT_MOQ_SUBSCRIBE_START, seq);
}

static void sub_send_ok(moq_strm *sub) {
  if (sub_ok(sub) == 0 && !sub->ended) {
    moq_track *t = sub->t;
    sub_start(sub, fan_catchup(sub->f, sub->s->as, sub->s->version), t->cur_seq);
  }
}

/* ------------------------------------------------------------------ broadcasts */

static void tinfo_free(moq_tinfo *ti, uint32_t code);

static void bcast_end(moq_bcast *b) {
  announce_all(b, 0);
  while (b->infos) {
    tinfo_free(b->infos, WT_APP_MOQ_GONE);
  }
  while (b->tracks) {
    moq_track *t = b->tracks;
    if (t->n_subs) {
      track_free(t, WT_APP_MOQ_GONE, 1); /* releases it with the last subscriber */
    } else {
      track_release(t, WT_APP_MOQ_GONE);
    }
  }
  moq_root *r = b->root;
  wt_moq_relay *mr = b->pub->a->moq;
  if (b->pub->up) {
    b->pub->up->b = NULL;
  } else {
    up_publish(b, 0);
  }
  totals_add(&mr->retired, b->gc); /* what the shards count later is lost */
  reg_remove(mr->reg, b);
  wt_app_group_counters_unref(b->gc); /* the shards may hold theirs a while */
  LIST_DEL(r->bcasts, b);
  r->n_bcasts--;
  b->pub->n_published--;
  free(b->path);
  free(b);
}

static moq_bcast *bcast_find(moq_root *r, const char *path, size_t len) {
  for (moq_bcast *b = r->bcasts; b; b = b->next) {
    if (b->len == len && !memcmp(b->path, path, len)) {
      return b;
    }
  }
  return NULL;
}

/* The broadcast at path as session s sees it (its root and the related
 * ones: nested roots above), or NULL. */
static moq_bcast *bcast_find_view(moq_sess *s, const char *path, size_t len) {
  char buf[MOQ_REL_CAP];
  for (moq_root *r = s->a->moq->roots; r; r = r->next) {
    if (!roots_related(r->name, s->root->name)) {
      continue;
    }
    for (moq_bcast *b = r->bcasts; b; b = b->next) {
      size_t rl;
      const char *rel = bcast_rel(b, s->root->name, buf, sizeof(buf), &rl);
      if (rel && rl == len && !memcmp(rel, path, len)) {
        return b;
      }
    }
  }
  return NULL;
}

/* ANNOUNCE from a publisher (on our announce stream towards it). */
static void on_publisher_announce(moq_strm *ms, const wt_moq_msg *m) {
  moq_sess *s = ms->s;
  moq_root *r = s->root;
  if (s->up) {
    up_announce(s->up, m); /* our upstream's, about the broadcast we pull */
    return;
  }
  size_t len;
  char *path = path_fold(m->u.announce.suffix.p, m->u.announce.suffix.len, &len);
  if (!path) {
    cnt(s)->moq_limit++;
    return;
  }
  moq_bcast *b = bcast_find(r, path, len);
  if (!b && m->u.announce.status != WT_MOQ_ANNOUNCE_ENDED) {
    b = bcast_find_view(s, path, len); /* published at a nested root already */
  }
  if (m->u.announce.status == WT_MOQ_ANNOUNCE_ENDED) {
    if (b && b->pub == s) {
      bcast_end(b);
    }
    free(path);
    return;
  }
  if (!sess_may(s, WT_APP_AUTH_PUBLISH, path, len)) {
    WT_LOG_DEBUG("session %llu: ANNOUNCE of %s outside its token's publish rights: ignored",
                 (unsigned long long)wt_app_session_id(s->as), path);
    cnt(s)->moq_forbidden++;
    free(path);
    return;
  }
  if (b && b->pub->up) {
    /* pulled from another node until now: a local publisher takes over
     * (its subscribers' subscriptions end, as when a publisher leaves) */
    up_end(b->pub->up, "a local publisher took over", WT_APP_MOQ_GONE, 1);
    b = NULL;
  }
  if (b) {
    free(path);
    if (b->pub == s && s->version >= WT_MOQ_LITE_05) {
      return; /* -05: a restart (the same broadcast again): it stays as it is */
    }
    if (b->pub == s) {
      WT_LOG_DEBUG("session %llu: duplicate ANNOUNCE: reset",
                   (unsigned long long)wt_app_session_id(s->as));
      cnt(s)->moq_malformed++;
      strm_abort(ms, WT_APP_MOQ_PROTOCOL);
    } else {
      cnt(s)->moq_limit++; /* taken by another publisher: ignored */
    }
    return;
  }
  if (s->n_published >= s->a->cfg.moq_max_published ||
      r->n_bcasts >= s->a->cfg.moq_max_broadcasts) {
    cnt(s)->moq_limit++;
    free(path);
    return;
  }
  b = calloc(1, sizeof(*b));
  if (!b) {
    cnt(s)->moq_limit++;
    free(path);
    return;
  }
  b->root = r;
  b->pub = s;
  b->path = path;
  b->len = len;
  b->n_hops = 0;
  if (s->version >= WT_MOQ_LITE_05 && s->pub_origin) { /* -05: the sender is not in its list */
    b->hops[b->n_hops++] = s->pub_origin;
  }
  for (uint32_t i = 0; i < m->u.announce.n_hops && b->n_hops < WT_MOQ_MAX_HOPS; i++) {
    b->hops[b->n_hops++] = m->u.announce.hops[i];
  }
  if (!(b->gc = wt_app_group_counters_new())) {
    cnt(s)->moq_limit++;
    free(path);
    free(b);
    return;
  }
  reg_add(s->a->moq->reg, b);
  LIST_ADD(r->bcasts, b);
  r->n_bcasts++;
  s->n_published++;
  cnt(s)->moq_broadcasts++;
  up_publish(b, 1);
  announce_all(b, 1);
}

/* ------------------------------------------------------------------ subscriptions */

/* Open t's subscription towards its broadcast's publisher (session open):
 * SUBSCRIBE with t's priority (counted on s's counters). 0 or -1. */
static int track_subscribe_up(moq_track *t, moq_sess *s) {
  moq_bcast *b = t->b;
  moq_sess *pub = b->pub;
  wt_app_stream *st;
  moq_strm *up = NULL;
  if (wt_app_open_stream(pub->as, 1, &st) == 0 && !(up = strm_new(pub, st, R_UP_SUB))) {
    wt_app_stream_reset(st, WT_APP_MOQ_LIMIT);
  }
  if (!up) {
    return -1;
  }
  up->kind = WT_MOQ_KIND_SUBSCRIBE;
  up->have_kind = 1;
  up->t = t;
  t->up = up;
  t->up_id = pub->next_up_id++;
  wt_moq_msg sm = {.type = WT_MOQ_SUBSCRIBE};
  sm.u.subscribe.id = t->up_id;
  sm.u.subscribe.broadcast = (wt_moq_str){(const uint8_t *)b->path, b->len};
  sm.u.subscribe.track = (wt_moq_str){(const uint8_t *)t->name, t->name_len};
  sm.u.subscribe.p.priority = t->up_prio;
  cnt(s)->moq_upstream_subscribes++;
  strm_send(up, &sm, WT_MOQ_KIND_SUBSCRIBE, 1); /* a failure resets it: seen as its close */
  return 0;
}

static moq_track *track_get(moq_sess *s, moq_bcast *b, const wt_moq_msg *m, int *limit) {
  const wt_moq_str *tn = &m->u.subscribe.track;
  for (moq_track *t = b->tracks; t; t = t->next) {
    if (t->name_len == tn->len && !memcmp(t->name, tn->p, tn->len)) {
      return t;
    }
  }
  if (b->n_tracks >= s->a->cfg.moq_max_tracks) {
    *limit = 1;
    return NULL;
  }
  moq_track *t = calloc(1, sizeof(*t));
  char *name = t ? malloc(tn->len + 1) : NULL;
  if (!name) {
    free(t);
    *limit = 1;
    return NULL;
  }
  memcpy(name, tn->p, tn->len);
  name[tn->len] = '\0';
  t->name = name;
  t->name_len = tn->len;
  t->b = b;
  t->up_prio = m->u.subscribe.p.priority;
  LIST_ADD(b->tracks, t);
  b->n_tracks++;
  /* the one subscription towards the publisher; a remote broadcast's when
   * its upstream session is open (else at its open: the cascade) */
  if ((!b->pub->up || b->pub->up->open) && track_subscribe_up(t, s) < 0 && !b->pub->up) {
    LIST_DEL(b->tracks, t);
    b->n_tracks--;
    free(name);
    free(t);
    *limit = 1;
    return NULL;
  }
  return t;
}

/* A subscription's delivery policy on its fan (wt_app.h
 * wt_app_group_join_opts): its priority and max latency, pooled with the
 * session's other subscriptions (the lowest priority loses first). */
static int sub_join(moq_strm *sub, moq_fan *f) {
  wt_app_group_member_opts o = {.pooled = 1, .priority = sub->p.priority};
  uint64_t ms = sub->p.max_latency;
  o.max_latency_ns = ms > UINT64_MAX / 1000000u ? UINT64_MAX : ms * 1000000u;
  return wt_app_group_join_opts(f->g, sub->s->as, &o);
}

static void on_subscribe(moq_strm *sub, const wt_moq_msg *m) {
  moq_sess *s = sub->s;
  cnt(s)->moq_subscribes++;
  sub->id = m->u.subscribe.id;
  sub->p = m->u.subscribe.p;
  if (sub->p.has_start && sub->p.has_end && sub->p.start_group > sub->p.end_group) {
    WT_LOG_DEBUG("session %llu: SUBSCRIBE start group after its end group: reset",
                 (unsigned long long)wt_app_session_id(s->as));
    cnt(s)->moq_malformed++;
    strm_abort(sub, WT_APP_MOQ_PROTOCOL);
    return;
  }
  int slot = -1;
  size_t max =
      s->a->cfg.moq_max_subs < WT_APP_MOQ_MAX_SUBS ? s->a->cfg.moq_max_subs : WT_APP_MOQ_MAX_SUBS;
  for (size_t i = 0; i < WT_APP_MOQ_MAX_SUBS; i++) {
    if (s->subs[i] && s->subs[i]->id == sub->id) {
      WT_LOG_DEBUG("session %llu: SUBSCRIBE id %llu reused: reset",
                   (unsigned long long)wt_app_session_id(s->as), (unsigned long long)sub->id);
      cnt(s)->moq_malformed++;
      strm_abort(sub, WT_APP_MOQ_PROTOCOL);
      return;
    }
    if (!s->subs[i] && slot < 0 && i < max) {
      slot = (int)i;
    }
  }
  if (slot < 0) {
    cnt(s)->moq_limit++;
    strm_abort(sub, WT_APP_MOQ_LIMIT);
    return;
  }
  size_t len;
  char *path = path_fold(m->u.subscribe.broadcast.p, m->u.subscribe.broadcast.len, &len);
  if (path && !sess_may(s, WT_APP_AUTH_SUBSCRIBE, path, len)) {
    WT_LOG_DEBUG("session %llu: SUBSCRIBE to %s outside its token's subscribe rights: reset",
                 (unsigned long long)wt_app_session_id(s->as), path);
    free(path);
    cnt(s)->moq_forbidden++;
    strm_abort(sub, WT_APP_MOQ_FORBIDDEN);
    return;
  }
  moq_bcast *b = path ? bcast_find_view(s, path, len) : NULL;
  if (!b && path) {
    b = up_bcast(s, path, len); /* published on another node? (the cascade) */
  } else if (b && b->pub->up && !up_want(b->pub->up, s->hops)) {
    b = NULL; /* the hop limit */
  }
  free(path);
  if (!b) {
    WT_LOG_DEBUG("session %llu: SUBSCRIBE to an unknown broadcast: reset",
                 (unsigned long long)wt_app_session_id(s->as));
    cnt(s)->moq_not_found++;
    strm_abort(sub, WT_APP_MOQ_NOT_FOUND);
    return;
  }
  if (!frames_match(s->version, b->pub->version)) {
    WT_LOG_DEBUG("session %llu: SUBSCRIBE to a broadcast whose frames differ (its publisher "
                 "speaks moq-lite-0%d, this session -0%d): reset",
                 (unsigned long long)wt_app_session_id(s->as), b->pub->version, s->version);
    cnt(s)->moq_unsupported++;
    strm_abort(sub, WT_APP_MOQ_UNSUPPORTED);
    return;
  }
  int limit = 0;
  moq_track *t = track_get(s, b, m, &limit);
  if (!t) {
    cnt(s)->moq_limit++;
    strm_abort(sub, WT_APP_MOQ_LIMIT);
    return;
  }
  const wt_moq_sub_params *p = &sub->p;
  moq_fan *f = t->fans;
  while (f && (f->id != sub->id || f->finished || f->has_start != p->has_start ||
               f->has_end != p->has_end || (p->has_start && f->start != p->start_group) ||
               (p->has_end && f->end != p->end_group))) {
    f = f->next;
  }
  int new_fan = !f;
  if (new_fan) {
    f = calloc(1, sizeof(*f));
    if (!f ||
        wt_app_group_new(wt_app_session_ctx(s->as), s->a->cfg.relay_lag_max, b->gc, &f->g) < 0) {
      free(f);
      f = NULL;
    } else {
      f->t = t;
      f->id = sub->id;
      f->has_start = p->has_start;
      f->has_end = p->has_end;
      f->start = p->start_group;
      f->end = p->end_group;
      f->next = t->fans;
      t->fans = f;
    }
  }
  if (!f || sub_join(sub, f) < 0) {
    if (f && new_fan) {
      fan_free(f, WT_APP_MOQ_CANCEL);
    }
    cnt(s)->moq_limit++;
    strm_abort(sub, WT_APP_MOQ_LIMIT);
    if (t->n_subs == 0) {
      track_release(t, WT_APP_MOQ_CANCEL);
    }
    return;
  }
  f->members++;
  sub->t = t;
  sub->f = f;
  s->subs[slot] = sub;
  slist_add(&t->subs, sub);
  t->n_subs++;
  if (t->b->reg) {
    atomic_fetch_add_explicit(&t->b->reg->subs, 1, memory_order_relaxed);
  }
  if (t->up_ok) {
    if (new_fan) {
      fan_start_cur(f, wt_app_session_ctx(s->as), s->version);
      if (sub_ok(sub) == 0) {
        sub_start(sub, f->has_cur && t->has_cur && f->cur_seq == t->cur_seq, f->cur_seq);
      }
    } else {
      sub_send_ok(sub);
    }
  }
}

/* The publisher accepted our SUBSCRIBE (its SUBSCRIBE_OK; -05: its
 * SUBSCRIBE_START or first group): the waiting subscribers are answered. */
static void track_up_ok(moq_track *t) {
  if (t->up_ok) {
    return;
  }
  t->up_ok = 1;
  for (moq_strm *sub = t->subs; sub; sub = sub->lnext) {
    if (!sub->ok_sent && sub->role == R_SUB) {
      sub_send_ok(sub);
    }
  }
}

/* The publisher answered our SUBSCRIBE. */
static void on_upstream_response(moq_strm *up, const wt_moq_msg *m) {
  moq_track *t = up->t;
  if (!t) {
    return;
  }
  if (m->type == WT_MOQ_SUBSCRIBE_DROP) {
    WT_LOG_DEBUG("publisher dropped the subscription to %s/%s", t->b->path, t->name);
    track_free(t, WT_APP_MOQ_NOT_FOUND, 0);
    return;
  }
  if (m->type == WT_MOQ_SUBSCRIBE_END) {
    return; /* -05: its FIN follows */
  }
  track_up_ok(t); /* OK, or -05's START; a later one changes nothing */
}

/* ------------------------------------------------------------------ groups from publishers */

static moq_track *track_by_up_id(moq_sess *s, uint64_t id) {
  for (moq_bcast *b = s->root->bcasts; b; b = b->next) {
    if (b->pub != s) {
      continue;
    }
    for (moq_track *t = b->tracks; t; t = t->next) {
      if (t->up && t->up_id == id) {
        return t;
      }
    }
  }
  return NULL;
}

static void group_begin(moq_strm *in, const wt_moq_msg *m) {
  moq_sess *s = in->s;
  moq_track *t = track_by_up_id(s, m->u.group.subscribe);
  if (!t) {
    if (m->u.group.subscribe >= s->next_up_id) {
      cnt(s)->moq_malformed++;
      strm_abort(in, WT_APP_MOQ_PROTOCOL);
    } else {
      strm_abort(in, WT_APP_MOQ_CANCEL); /* a subscription we already closed */
    }
    return;
  }
  cnt(s)->moq_groups_in++;
  if (s->up) {
    cnt(s)->cluster_upstream_groups++;
    s->up->fed = 1;
  }
  if (s->version >= WT_MOQ_LITE_05) {
    track_up_ok(t); /* -05: a group may come before SUBSCRIBE_START */
  }
  in->t = t;
  in->seq = m->u.group.sequence;
  slist_add(&t->ins, in);
  if (in->seq >= t->end_seq) {
    t->end_seq = in->seq + 1;
  }
  /* the newest group is the one late joiners get; -05 keeps a few before
   * it for FETCH */
  wt_app_gcache_begin(&t->gc, in->seq,
                      s->version >= WT_MOQ_LITE_05 ? s->a->cfg.moq_fetch_groups : 1);
  t->has_cur = 1;
  t->cur_fin = 0;
  t->cur_seq = in->seq;
  t->cur_in = in;
  wt_app_ctx *ctx = wt_app_session_ctx(s->as);
  for (moq_fan *f = t->fans; f; f = f->next) {
    f->has_cur = 0;
    if (f->has_end && in->seq > f->end) {
      fan_finish(f); /* the group after its end group */
      continue;
    }
    if (!fan_wants(f, in->seq)) {
      continue;
    }
    wt_buf *h = group_hdr(ctx, f, in->seq, s->version);
    if (!h) {
      continue;
    }
    uint64_t gsid = wt_app_group_stream_open_hdr(f->g, (uint32_t)h->len);
    wt_app_group_stream_write(f->g, gsid, h, 0, h->len, 0);
    wt_buf_unref(h);
    if (out_add(in, f, gsid) < 0) {
      wt_app_group_stream_reset(f->g, gsid, WT_APP_MOQ_GONE);
      continue;
    }
    f->has_cur = 1;
    f->cur_gsid = gsid;
    f->cur_seq = in->seq;
  }
  if (t->n_start_pending) { /* -05 subscribers whose first group this is */
    size_t left = 0;
    for (moq_strm *sub = t->subs; sub; sub = sub->lnext) {
      if (sub->s->version < WT_MOQ_LITE_05 || sub->start_sent || !sub->ok_sent || sub->ended ||
          sub->role != R_SUB) {
        continue;
      }
      if (sub->f && sub->f->has_cur && sub->f->cur_seq == in->seq) {
        sub->start_sent = 1;
        sub_range(sub, WT_MOQ_SUBSCRIBE_START, in->seq);
      } else {
        left++;
      }
    }
    t->n_start_pending = left;
  }
}

static void group_abort(moq_strm *in, uint32_t code) {
  moq_track *t = in->t;
  if (!t) {
    return;
  }
  for (size_t i = 0; i < in->n_outs; i++) {
    wt_app_group_stream_reset(in->outs[i].f->g, in->outs[i].gsid, code);
  }
  in->n_outs = 0;
  if (t->cur_in == in) {
    wt_app_gcache_drop_cur(&t->gc); /* the complete ones before it stay */
    t->has_cur = 0;
    t->cur_in = NULL;
  }
  slist_del(&t->ins, in);
  in->t = NULL;
}

/* Frame bytes of a group: sizes checked, the bytes passed on as they are. */
static void group_data(moq_strm *in, wt_buf *b, size_t off, size_t len, int fin) {
  moq_sess *s = in->s;
  const uint8_t *p = b ? b->data + off : NULL;
  size_t i = 0;
  while (i < len) {
    if (in->frame_rem) {
      size_t take = len - i < in->frame_rem ? len - i : (size_t)in->frame_rem;
      in->frame_rem -= take;
      i += take;
      continue;
    }
    size_t used;
    uint64_t size;
    const char *why = NULL;
    int rv = wt_moq_read_frame(&in->rd, p + i, len - i, &used, &size, &why);
    i += used;
    if (rv < 0) {
      WT_LOG_DEBUG("session %llu: group: %s: reset", (unsigned long long)wt_app_session_id(s->as),
                   why ? why : "malformed");
      cnt(s)->moq_malformed++;
      group_abort(in, WT_APP_MOQ_PROTOCOL);
      strm_abort(in, WT_APP_MOQ_PROTOCOL);
      return;
    }
    if (rv == 0) {
      break;
    }
    cnt(s)->moq_frames_in++;
    in->frame_rem = size;
  }
  cnt(s)->moq_bytes_in += len;
  if (s->up) {
    cnt(s)->cluster_upstream_bytes += len;
  }
  if (fin && in->frame_rem) {
    WT_LOG_DEBUG("session %llu: group ends inside a frame: reset",
                 (unsigned long long)wt_app_session_id(s->as));
    cnt(s)->moq_malformed++;
    group_abort(in, WT_APP_MOQ_PROTOCOL);
    in->role = R_DEAD;
    return;
  }
  moq_track *t = in->t;
  for (size_t k = 0; k < in->n_outs; k++) {
    wt_app_group_stream_write(in->outs[k].f->g, in->outs[k].gsid, len ? b : NULL, off, len, fin);
  }
  if (t->cur_in == in) {
    if (len) {
      wt_app_gcache_retain_total(&t->gc, b, off, len, s->a->cfg.relay_group_max,
                                 s->a->cfg.moq_fetch_bytes);
    }
    if (fin) {
      t->cur_fin = 1;
      wt_app_gcache_fin(&t->gc);
    }
  }
  if (fin) {
    in->n_outs = 0;
    if (t->cur_in == in) {
      t->cur_in = NULL;
    }
    slist_del(&t->ins, in);
    in->t = NULL;
    in->role = R_DEAD;
  }
}

/* ------------------------------------------------------------------ -05: track info, fetch */

/* The broadcast a -05 TRACK / FETCH names, as session s may see it; NULL
 * after refusing ms (counted; *code the reset code). */
static moq_bcast *req_bcast(moq_strm *ms, wt_moq_str bp) {
  moq_sess *s = ms->s;
  size_t len;
  char *path = path_fold(bp.p, bp.len, &len);
  if (!path) {
    cnt(s)->moq_limit++;
    strm_abort(ms, WT_APP_MOQ_LIMIT);
    return NULL;
  }
  if (!sess_may(s, WT_APP_AUTH_SUBSCRIBE, path, len)) {
    free(path);
    cnt(s)->moq_forbidden++;
    strm_abort(ms, WT_APP_MOQ_FORBIDDEN);
    return NULL;
  }
  moq_bcast *b = bcast_find_view(s, path, len);
  free(path);
  if (b && !frames_match(s->version, b->pub->version)) {
    cnt(s)->moq_unsupported++;
    strm_abort(ms, WT_APP_MOQ_UNSUPPORTED);
    return NULL;
  }
  return b;
}

static void track_info_send(moq_strm *ms, const moq_tinfo *ti) {
  ms->ti = NULL;
  if (strm_send(ms, &ti->info, 0, 0) == 0) {
    wt_app_stream_write(ms->st, NULL, 0, 1);
    ms->role = R_DEAD; /* the client's FIN (or anything else) is discarded */
    cnt(ms->s)->moq_track_infos++;
  }
}

/* Forget ti: its waiters are reset with code, its TRACK stream too. */
static void tinfo_free(moq_tinfo *ti, uint32_t code) {
  moq_bcast *b = ti->b;
  for (moq_tinfo **pp = &b->infos; *pp; pp = &(*pp)->next) {
    if (*pp == ti) {
      *pp = ti->next;
      break;
    }
  }
  b->n_infos--;
  if (ti->up) {
    ti->up->ti = NULL;
    if (ti->up->role != R_DEAD) {
      strm_abort(ti->up, WT_APP_MOQ_CANCEL);
    }
  }
  while (ti->waiters) {
    moq_strm *w = ti->waiters;
    slist_del(&ti->waiters, w);
    w->ti = NULL;
    strm_abort(w, code);
  }
  free(ti->name);
  free(ti);
}

/* TRACK from a -05 client: the track's TRACK_INFO from the publisher (asked
 * once per track and kept with the broadcast). */
static void on_track_req(moq_strm *ms, const wt_moq_msg *m) {
  moq_sess *s = ms->s;
  moq_bcast *b = req_bcast(ms, m->u.track.broadcast);
  if (!b) {
    if (ms->role != R_DEAD) {
      cnt(s)->moq_not_found++;
      strm_abort(ms, WT_APP_MOQ_NOT_FOUND);
    }
    return;
  }
  const wt_moq_str *tn = &m->u.track.track;
  moq_tinfo *ti = b->infos;
  while (ti && (ti->name_len != tn->len || memcmp(ti->name, tn->p, tn->len))) {
    ti = ti->next;
  }
  if (!ti) {
    wt_app_stream *st;
    moq_strm *up = NULL;
    if (b->n_infos < s->a->cfg.moq_max_tracks && (ti = calloc(1, sizeof(*ti))) &&
        (ti->name = malloc(tn->len + 1)) && wt_app_open_stream(b->pub->as, 1, &st) == 0 &&
        !(up = strm_new(b->pub, st, R_UP_TRACK))) {
      wt_app_stream_reset(st, WT_APP_MOQ_LIMIT);
    }
    if (!up) {
      if (ti) {
        free(ti->name);
        free(ti);
      }
      cnt(s)->moq_limit++;
      strm_abort(ms, WT_APP_MOQ_LIMIT);
      return;
    }
    memcpy(ti->name, tn->p, tn->len);
    ti->name[tn->len] = '\0';
    ti->name_len = tn->len;
    ti->b = b;
    ti->next = b->infos;
    b->infos = ti;
    b->n_infos++;
    up->kind = WT_MOQ_KIND_TRACK;
    up->have_kind = 1;
    up->ti = ti;
    ti->up = up;
    wt_moq_msg tm = {.type = WT_MOQ_TRACK};
    tm.u.track.broadcast = (wt_moq_str){(const uint8_t *)b->path, b->len};
    tm.u.track.track = (wt_moq_str){(const uint8_t *)ti->name, ti->name_len};
    strm_send(up, &tm, WT_MOQ_KIND_TRACK, 1); /* a failure resets it: seen as its close */
  }
  if (ti->have) {
    track_info_send(ms, ti);
    return;
  }
  ms->ti = ti;
  slist_add(&ti->waiters, ms);
}

/* TRACK_INFO from the publisher: kept, and sent to every waiter. */
static void on_track_info(moq_strm *up, const wt_moq_msg *m) {
  moq_tinfo *ti = up->ti;
  if (!ti) {
    return;
  }
  ti->info = *m;
  ti->have = 1;
  ti->up = NULL;
  up->ti = NULL;
  wt_app_stream_write(up->st, NULL, 0, 1); /* the publisher FINs after it: ours too */
  up->role = R_DEAD;
  while (ti->waiters) {
    moq_strm *w = ti->waiters;
    slist_del(&ti->waiters, w);
    track_info_send(w, ti);
  }
}

/* Write what is left of a FETCH's group, then FIN; on no credit the rest
 * waits for stream_writable. */
static void fetch_pump(moq_strm *ms) {
  while (ms->role == R_FETCH && ms->fs_i < ms->fs_n) {
    const wt_app_gcache_slice *c = &ms->fs[ms->fs_i];
    int rv =
        wt_app_stream_write(ms->st, c->buf->data + c->off + ms->fs_off, c->len - ms->fs_off, 0);
    if (rv == WT_ERR_AGAIN) {
      return;
    }
    if (rv < 0) {
      strm_abort(ms, WT_APP_MOQ_CANCEL);
      return;
    }
    ms->fs_off += (size_t)rv;
    if (ms->fs_off == c->len) {
      ms->fs_i++;
      ms->fs_off = 0;
    } else if (rv == 0) {
      return;
    }
  }
  if (ms->role == R_FETCH) {
    wt_app_stream_write(ms->st, NULL, 0, 1);
    ms->role = R_DEAD;
  }
}

static void fetch_release(moq_strm *ms) {
  for (size_t i = 0; i < ms->fs_n; i++) {
    wt_buf_unref(ms->fs[i].buf);
  }
  free(ms->fs);
  ms->fs = NULL;
  ms->fs_n = ms->fs_i = 0;
}

/* FETCH from a -05 client: one past group of a track the relay holds a
 * subscription to, from its cache: its frames as received (timestamps
 * included), then FIN; a group not kept is refused 0x21, counted. */
static void on_fetch(moq_strm *ms, const wt_moq_msg *m) {
  moq_sess *s = ms->s;
  moq_bcast *b = req_bcast(ms, m->u.fetch.broadcast);
  moq_track *t = b ? b->tracks : NULL;
  const wt_moq_str *tn = &m->u.fetch.track;
  while (t && (t->name_len != tn->len || memcmp(t->name, tn->p, tn->len))) {
    t = t->next;
  }
  if (ms->role == R_DEAD) {
    return; /* refused by req_bcast */
  }
  const wt_app_gcache_slice *c = NULL;
  size_t n = 0;
  if (!t || !wt_app_gcache_find(&t->gc, m->u.fetch.group, &c, &n) ||
      (n && !(ms->fs = malloc(n * sizeof(*ms->fs))))) {
    WT_LOG_DEBUG("session %llu: FETCH of group %llu: %s: reset",
                 (unsigned long long)wt_app_session_id(s->as), (unsigned long long)m->u.fetch.group,
                 !b   ? "no such broadcast"
                 : !t ? "no such track held"
                      : "group not kept");
    cnt(s)->moq_fetch_missed++;
    strm_abort(ms, WT_APP_MOQ_NOT_FOUND);
    return;
  }
  for (size_t i = 0; i < n; i++) {
    ms->fs[i] = c[i];
    wt_buf_ref(c[i].buf);
  }
  ms->fs_n = n;
  cnt(s)->moq_fetches++;
  fetch_pump(ms);
}

/* ------------------------------------------------------------------ reading */

static void on_msg(moq_strm *ms, const wt_moq_msg *m) {
  moq_sess *s = ms->s;
  switch (ms->role) {
  case R_INTEREST: {
    if (s->up) {
      ms->role = R_DEAD; /* an upstream node learns nothing from us: no loop */
      return;
    }
    if (s->n_interests >= s->a->cfg.moq_max_interests) {
      cnt(s)->moq_limit++;
      strm_abort(ms, WT_APP_MOQ_LIMIT);
      return;
    }
    ms->prefix =
        path_fold(m->u.announce_please.prefix.p, m->u.announce_please.prefix.len, &ms->prefix_len);
    if (!ms->prefix) {
      cnt(s)->moq_limit++;
      strm_abort(ms, WT_APP_MOQ_LIMIT);
      return;
    }
    ms->exclude_hop = m->u.announce_please.exclude_hop;
    s->n_interests++;
    ms->listed = 1;
    slist_add(&s->root->interests, ms);
    if (s->version >= WT_MOQ_LITE_05) { /* ANNOUNCE_OK: how many ANNOUNCEs follow at once */
      wt_moq_msg ok = {.type = WT_MOQ_ANNOUNCE_OK};
      char buf[MOQ_REL_CAP];
      const char *suf;
      size_t sl;
      for (moq_root *r = s->a->moq->roots; r; r = r->next) {
        for (moq_bcast *b = roots_related(r->name, s->root->name) ? r->bcasts : NULL; b;
             b = b->next) {
          ok.u.announce_ok.active += (uint64_t)announce_visible(ms, b, buf, &suf, &sl);
        }
      }
      if (strm_send(ms, &ok, 0, 0) < 0) {
        return;
      }
    }
    for (moq_root *r = s->a->moq->roots; r && ms->role == R_INTEREST; r = r->next) {
      if (!roots_related(r->name, s->root->name)) {
        continue;
      }
      for (moq_bcast *b = r->bcasts; b && ms->role == R_INTEREST; b = b->next) {
        announce_to(ms, b, 1);
      }
    }
    return;
  }
  case R_SUB:
    if (m->type == WT_MOQ_SUBSCRIBE) {
      on_subscribe(ms, m);
    } else if (ms->t) { /* SUBSCRIBE_UPDATE: priority and max latency change */
      ms->p.priority = m->u.update.priority;
      ms->p.ordered = m->u.update.ordered;
      ms->p.max_latency = m->u.update.max_latency;
      cnt(s)->moq_updates++;
      if (ms->f) {
        sub_join(ms, ms->f);
      }
    }
    return;
  case R_GOAWAY:
    WT_LOG_DEBUG("session %llu: GOAWAY from the client",
                 (unsigned long long)wt_app_session_id(s->as));
    return;
  case R_UP_ANNOUNCE:
    if (m->type == WT_MOQ_ANNOUNCE_OK) { /* -05: its origin, the first hop of what follows */
      s->pub_origin = m->u.announce_ok.origin;
      return;
    }
    on_publisher_announce(ms, m);
    return;
  case R_UP_SUB:
    on_upstream_response(ms, m);
    return;
  case R_TRACK:
    on_track_req(ms, m);
    return;
  case R_UP_TRACK:
    on_track_info(ms, m);
    return;
  case R_FETCH:
    on_fetch(ms, m);
    return;
  case R_SETUP_IN:
    if (m->u.setup.has_path) { /* a path is for transports without a URL */
      WT_LOG_DEBUG("session %llu: SETUP with a path on WebTransport: stopped",
                   (unsigned long long)wt_app_session_id(s->as));
      cnt(s)->moq_malformed++;
      strm_abort(ms, WT_APP_MOQ_PROTOCOL);
    }
    return;
  default:
    return;
  }
}

/* The role of a client's bidi stream from its kind. */
static void on_kind(moq_strm *ms) {
  moq_sess *s = ms->s;
  if (wt_moq_next(s->version, ms->kind, 1, 0) == WT_MOQ_NONE && ms->kind != WT_MOQ_KIND_PROBE) {
    WT_LOG_DEBUG("session %llu: bidi stream of unknown kind %llu: reset",
                 (unsigned long long)wt_app_session_id(s->as), (unsigned long long)ms->kind);
    cnt(s)->moq_malformed++;
    strm_abort(ms, WT_APP_MOQ_PROTOCOL);
    return;
  }
  switch (ms->kind) {
  case WT_MOQ_KIND_ANNOUNCE:
    ms->role = ms->what = R_INTEREST;
    break;
  case WT_MOQ_KIND_SUBSCRIBE:
    if (s->up) { /* an upstream pulls nothing from its edge (the cascade) */
      cnt(s)->moq_unsupported++;
      strm_abort(ms, WT_APP_MOQ_UNSUPPORTED);
      break;
    }
    ms->role = ms->what = R_SUB;
    break;
  case WT_MOQ_KIND_PROBE:
    ms->role = ms->what = R_PROBE;
    break;
  case WT_MOQ_KIND_GOAWAY:
    ms->role = ms->what = R_GOAWAY;
    break;
  case WT_MOQ_KIND_TRACK: /* -05 (wt_moq_next refused it before) */
    ms->role = ms->what = R_TRACK;
    break;
  case WT_MOQ_KIND_FETCH:
    if (s->version >= WT_MOQ_LITE_05) {
      ms->role = ms->what = R_FETCH;
      break;
    }
    __attribute__((fallthrough)); /* -03/-04 frames carry no timestamps: not served */
  default:
    cnt(s)->moq_unsupported++;
    strm_abort(ms, WT_APP_MOQ_UNSUPPORTED);
    break;
  }
}

static void strm_read(moq_strm *ms, const uint8_t *p, size_t len, wt_buf *b, size_t boff) {
  moq_sess *s = ms->s;
  int uni_in = ms->role == R_GROUP_IN;
  while (len && ms->role != R_DEAD) {
    size_t used = 0;
    if (!ms->have_kind) {
      if (!wt_moq_read_varint(&ms->rd, p, len, &used, &ms->kind)) {
        return;
      }
      p += used, len -= used, boff += used;
      ms->have_kind = 1;
      if (uni_in && ms->kind == WT_MOQ_UNI_SETUP && s->version >= WT_MOQ_LITE_05) {
        ms->role = ms->what = R_SETUP_IN;
        uni_in = 0;
      } else if (uni_in) {
        if (ms->kind != WT_MOQ_UNI_GROUP) {
          WT_LOG_DEBUG("session %llu: uni stream of unknown type %llu: stopped",
                       (unsigned long long)wt_app_session_id(s->as), (unsigned long long)ms->kind);
          cnt(s)->moq_malformed++;
          strm_abort(ms, WT_APP_MOQ_PROTOCOL);
        }
      } else {
        on_kind(ms);
      }
      continue;
    }
    if (uni_in && ms->have_hdr) {
      if (ms->t) {
        group_data(ms, b, boff, len, 0);
      }
      return;
    }
    wt_moq_type t =
        uni_in ? WT_MOQ_GROUP
        : ms->role == R_SETUP_IN
            ? (ms->n_msgs ? WT_MOQ_NONE : WT_MOQ_SETUP)
            : wt_moq_next(s->version, ms->kind, !wt_app_stream_is_local(ms->st), ms->n_msgs);
    if (t == WT_MOQ_NONE) {
      WT_LOG_DEBUG("session %llu: bytes after the last message of a kind %llu stream: reset",
                   (unsigned long long)wt_app_session_id(s->as), (unsigned long long)ms->kind);
      cnt(s)->moq_malformed++;
      strm_abort(ms, WT_APP_MOQ_PROTOCOL);
      return;
    }
    wt_moq_msg m;
    const char *why = NULL;
    int rv = wt_moq_read_msg(&ms->rd, t, p, len, &used, &m, &why);
    p += used, len -= used, boff += used;
    if (rv < 0) {
      WT_LOG_DEBUG("session %llu: kind %llu stream: %s: reset",
                   (unsigned long long)wt_app_session_id(s->as), (unsigned long long)ms->kind,
                   why ? why : "unsupported message");
      if (rv == WT_ERR_UNSUPPORTED) {
        cnt(s)->moq_unsupported++;
      } else {
        cnt(s)->moq_malformed++;
      }
      if (uni_in) {
        group_abort(ms, WT_APP_MOQ_PROTOCOL);
      }
      strm_abort(ms, rv == WT_ERR_UNSUPPORTED ? WT_APP_MOQ_UNSUPPORTED : WT_APP_MOQ_PROTOCOL);
      return;
    }
    if (rv == 0) {
      return;
    }
    ms->n_msgs++;
    if (uni_in) {
      ms->have_hdr = 1;
      group_begin(ms, &m);
    } else {
      on_msg(ms, &m);
    }
  }
}

/* ------------------------------------------------------------------ sessions */

static uint32_t moq_hash(const char *p, size_t n) {
  uint32_t h = 2166136261u; /* FNV-1a */
  for (size_t i = 0; i < n; i++) {
    h = (h ^ (uint8_t)p[i]) * 16777619u;
  }
  return h;
}

static size_t path_only_len(const char *path) {
  const char *q = strchr(path, '?');
  return q ? (size_t)(q - path) : strlen(path);
}

/* The worker of a root: the one its first segment under /moq hashes to
 * ("/moq/a" for "/moq/a/b/c"), so nested roots share a worker and see
 * each other (bcast_rel); "/moq" alone is a root of its own. */
static uint32_t moq_worker_hint(const wt_app_request *req) {
  size_t n = path_only_len(req->path);
  const char *p = n > 5 ? memchr(req->path + 5, '/', n - 5) : NULL;
  return moq_hash(req->path, p ? (size_t)(p - req->path) : n);
}

/* The root of a request: the path without its '/' and query, segments of
 * [A-Za-z0-9_.-] joined by single '/'. */
static int root_ok(const char *p, size_t n) {
  if (n == 0 || n > WT_APP_MAX_PATH_LEN || p[n - 1] == '/') {
    return 0;
  }
  for (size_t i = 0; i < n; i++) {
    char c = p[i];
    if (c == '/' && i > 0 && p[i - 1] != '/') {
      continue;
    }
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
          c == '.' || c == '-')) {
      return 0;
    }
  }
  return 1;
}

static const char *const moq_versions[] = {"moq-lite-05", "moq-lite-04", "moq-lite-03"};

static int moq_request(wt_app_session *as, const wt_app_request *req) {
  wt_apps *a = wt_app_session_arg(as);
  size_t n = path_only_len(req->path);
  const char *root = req->path + 1;
  if (n < 2 || !root_ok(root, n - 1)) {
    a->cnt.moq_refused++;
    return 400;
  }
  /* the cascade's hop count (a downstream node's upstream session):
   * absent = 0 (a client); malformed: 400; past relay_max_hops: 508 */
  uint64_t hops = 0;
  char hv[24];
  if (wt_app_query_get(req->query, "hops", hv, sizeof(hv)) != WT_ERR_NOTFOUND &&
      wt_app_query_get_u64(req->query, "hops", &hops) < 0) {
    a->cnt.moq_refused++;
    return 400;
  }
  if (hops > a->cfg.relay_max_hops) {
    a->cnt.moq_refused++;
    a->cnt.cluster_hops_refused++;
    WT_LOG_ERROR("moq session at /%.*s with hops=%llu refused (limit %u): a cluster loop?",
                 (int)(n - 1), root, (unsigned long long)hops, a->cfg.relay_max_hops);
    return WT_APP_RELAY_HOP_LIMIT;
  }
  /* tokens: the root in the token's namespace (without the route's "moq") */
  const char *aroot = n - 1 > 3 ? root + 4 : "";
  size_t arl = n - 1 > 3 ? n - 5 : 0;
  int st_pub = 0, st_sub = 0;
  if (a->cfg.auth) {
    char rb[WT_APP_MAX_PATH_LEN + 1];
    memcpy(rb, aroot, arl);
    rb[arl] = '\0';
    st_pub = wt_apps_authorize(a, as, req, WT_APP_AUTH_PUBLISH, rb);
    st_sub = wt_apps_authorize(a, as, req, WT_APP_AUTH_SUBSCRIBE, rb);
    if (st_pub == 401 || st_sub == 401) { /* no token, or not a valid one */
      a->cnt.moq_refused++;
      a->cnt.moq_forbidden++;
      return 401;
    }
  }
  const char *proto = wt_app_choose_protocol(req, moq_versions, 3);
  if (!proto) {
    a->cnt.moq_refused++;
    return 400;
  }
  if (!a->moq) {
    wt_moq_relay *m = calloc(1, sizeof(*m));
    if (!m) {
      return 503;
    }
    m->reg = a->moq_reg;
    a->moq = m;
  }
  moq_root *r = a->moq->roots;
  while (r && (strlen(r->name) != n - 1 || memcmp(r->name, root, n - 1))) {
    r = r->next;
  }
  if (!r) {
    if (a->moq->n_roots >= a->cfg.moq_max_roots || !(r = calloc(1, sizeof(*r)))) {
      a->cnt.moq_refused++;
      return 503;
    }
    memcpy(r->name, root, n - 1);
    LIST_ADD(a->moq->roots, r);
    a->moq->n_roots++;
  }
  moq_sess *s = calloc(1, sizeof(*s));
  if (s && a->cfg.auth) {
    s->pub_all = st_pub == 0;
    s->sub_all = st_sub == 0;
    s->auth_root = strndup(aroot, arl);
    s->auth_query = strdup(req->query ? req->query : "");
    for (size_t i = 0; i < req->n_headers; i++) {
      if (!strcmp(req->headers[i].name, "authorization") && !s->auth_bearer) {
        s->auth_bearer = strdup(req->headers[i].value);
      }
    }
    if (!s->auth_root || !s->auth_query) {
      sess_free(s);
      s = NULL;
    }
  }
  if (!s || wt_app_session_set_protocol(as, proto) < 0) {
    if (s) {
      sess_free(s);
    }
    if (r->n_sess == 0) {
      LIST_DEL(a->moq->roots, r);
      a->moq->n_roots--;
      free(r);
    }
    return 503;
  }
  s->as = as;
  s->a = a;
  s->root = r;
  s->hops = (uint32_t)hops;
  s->version = wt_moq_version_from_protocol(proto, strlen(proto));
  r->n_sess++;
  a->cnt.moq_sessions++;
  wt_app_session_set_user(as, s);
  return 200;
}

/* -05: our SETUP (no capabilities: no probes, no origin), alone on a uni
 * stream of Data Type 1. */
static void send_setup(moq_sess *s) {
  wt_app_stream *st;
  uint8_t buf[16];
  buf[0] = WT_MOQ_UNI_SETUP;
  wt_moq_msg m = {.type = WT_MOQ_SETUP};
  int n = wt_moq_encode(&m, s->version, buf + 1, sizeof(buf) - 1);
  if (n > 0 && wt_app_open_stream(s->as, 0, &st) == 0) {
    wt_app_stream_write(st, buf, (size_t)n + 1, 1);
  }
}

/* Every client may publish: ask it for its broadcasts at once. */
static void moq_open(wt_app_session *as) {
  moq_sess *s = wt_app_session_get_user(as);
  wt_app_stream *st;
  if (s && s->version >= WT_MOQ_LITE_05) {
    send_setup(s);
  }
  if (!s || wt_app_open_stream(as, 1, &st) < 0) {
    return;
  }
  moq_strm *ms = strm_new(s, st, R_UP_ANNOUNCE);
  if (!ms) {
    wt_app_stream_reset(st, WT_APP_MOQ_LIMIT);
    return;
  }
  ms->kind = WT_MOQ_KIND_ANNOUNCE;
  ms->have_kind = 1;
  s->up_ann = ms;
  wt_moq_msg m = {.type = WT_MOQ_ANNOUNCE_PLEASE};
  m.u.announce_please.prefix = (wt_moq_str){(const uint8_t *)"", 0};
  strm_send(ms, &m, WT_MOQ_KIND_ANNOUNCE, 1);
}

/* The server drains (or the peer asked to): moq-lite-04 has GOAWAY, on a
 * stream of its own (kind 5), without a new URI; -03 has nothing. */
static void moq_drain(wt_app_session *as) {
  moq_sess *s = wt_app_session_get_user(as);
  wt_app_stream *st;
  if (!s || s->version < WT_MOQ_LITE_04 || s->goaway_sent || wt_app_open_stream(as, 1, &st) < 0) {
    return;
  }
  moq_strm *ms = strm_new(s, st, R_GOAWAY);
  if (!ms) {
    wt_app_stream_reset(st, WT_APP_MOQ_LIMIT);
    return;
  }
  s->goaway_sent = 1;
  ms->kind = WT_MOQ_KIND_GOAWAY;
  ms->have_kind = 1;
  wt_moq_msg m = {.type = WT_MOQ_GOAWAY};
  m.u.goaway.uri = (wt_moq_str){(const uint8_t *)"", 0};
  if (strm_send(ms, &m, WT_MOQ_KIND_GOAWAY, 1) == 0) {
    wt_app_stream_write(st, NULL, 0, 1);
  }
}

static void moq_close(wt_app_session *as, uint32_t code, const uint8_t *reason, size_t len,
                      int clean) {
  (void)code, (void)reason, (void)len, (void)clean;
  moq_sess *s = wt_app_session_get_user(as);
  if (!s) {
    return;
  }
  wt_apps *a = s->a;
  moq_root *r = s->root;
  for (moq_bcast *b = r->bcasts, *nb; b; b = nb) {
    nb = b->next;
    if (b->pub == s) {
      bcast_end(b);
    }
  }
  if (--r->n_sess == 0) {
    LIST_DEL(a->moq->roots, r);
    a->moq->n_roots--;
    free(r);
  }
  sess_free(s);
  wt_app_session_set_user(as, NULL);
}

static void moq_stream_open(wt_app_stream *st) {
  moq_sess *s = wt_app_session_get_user(wt_app_stream_session(st));
  if (!s) {
    return;
  }
  int bidi = wt_app_stream_is_bidi(st);
  moq_strm *ms = strm_new(s, st, bidi ? R_PEER_BIDI : R_GROUP_IN);
  if (!ms) {
    cnt(s)->moq_limit++;
    wt_app_stream_stop_sending(st, WT_APP_MOQ_LIMIT);
    if (bidi) {
      wt_app_stream_reset(st, WT_APP_MOQ_LIMIT);
    }
  }
}

static void moq_stream_data(wt_app_stream *st, const uint8_t *data, size_t len, int fin) {
  moq_strm *ms = wt_app_stream_get_user(st);
  if (!ms) {
    return;
  }
  size_t off = 0;
  wt_buf *b = len ? wt_app_event_buf(wt_app_session_ctx(ms->s->as), &off) : NULL;
  if (len && !b) { /* not from a ring buffer (cannot happen today) */
    cnt(ms->s)->moq_limit++;
    if (ms->role == R_GROUP_IN) {
      group_abort(ms, WT_APP_MOQ_LIMIT);
    }
    strm_abort(ms, WT_APP_MOQ_LIMIT);
    return;
  }
  strm_read(ms, data, len, b, off);
  if (!fin || ms->role == R_DEAD) {
    return;
  }
  /* the peer's side ended */
  switch (ms->role) {
  case R_GROUP_IN:
    if (ms->t) {
      group_data(ms, NULL, 0, 0, 1);
    } else {
      cnt(ms->s)->moq_malformed++; /* no group header */
    }
    break;
  case R_SUB:
    if (ms->t) {
      sub_detach(ms, 0, 1, WT_APP_MOQ_CANCEL); /* unsubscribe: our FIN follows */
    } else {
      wt_app_stream_write(st, NULL, 0, 1);
    }
    break;
  case R_UP_SUB:
    if (ms->t) {
      track_free(ms->t, WT_APP_MOQ_GONE, 1); /* the track ended */
    }
    break;
  case R_UP_ANNOUNCE:
    strm_drop(ms, WT_APP_MOQ_GONE); /* its broadcasts end */
    wt_app_stream_write(st, NULL, 0, 1);
    ms->role = R_DEAD;
    break;
  case R_SETUP_IN:
    if (!ms->n_msgs) {
      cnt(ms->s)->moq_malformed++; /* FIN before its SETUP */
    }
    ms->role = R_DEAD;
    break;
  case R_TRACK:
  case R_FETCH:
    if (ms->n_msgs) {
      break; /* asked: the answer (or the rest of it) still comes */
    }
    __attribute__((fallthrough));
  case R_UP_TRACK: /* FIN without TRACK_INFO: the waiters are refused */
  default:         /* interest (no more ANNOUNCEs), probe, goaway, a kind not read yet: our FIN */
    strm_drop(ms, WT_APP_MOQ_CANCEL);
    wt_app_stream_write(st, NULL, 0, 1);
    ms->role = R_DEAD;
    break;
  }
}

/* The stream is gone (or its peer side aborted): undo what it holds. */
static void strm_drop(moq_strm *ms, uint32_t code) {
  moq_sess *s = ms->s;
  if (ms->listed) {
    slist_del(&s->root->interests, ms);
    s->n_interests--;
    ms->listed = 0;
    ms->role = R_DEAD;
  }
  switch (ms->what) {
  case R_SUB:
    if (ms->t) {
      sub_detach(ms, WT_APP_MOQ_CANCEL, 0, WT_APP_MOQ_CANCEL);
    }
    break;
  case R_GROUP_IN:
    group_abort(ms, code);
    break;
  case R_UP_SUB:
    if (ms->t && s->up) {
      /* a remote broadcast's: the upstream refused it or its session was
       * lost: the track waits (its subscribers stay) and is subscribed
       * again at the upstream's next ANNOUNCE or session (the cascade) */
      ms->t->up = NULL;
      ms->t = NULL;
    } else if (ms->t) {
      track_free(ms->t, ms->t->up_ok ? WT_APP_MOQ_GONE : WT_APP_MOQ_NOT_FOUND, 0);
    }
    break;
  case R_TRACK:
    if (ms->ti) {
      slist_del(&ms->ti->waiters, ms);
      ms->ti = NULL;
    }
    break;
  case R_UP_TRACK:
    if (ms->ti) {
      moq_tinfo *ti = ms->ti;
      ti->up = NULL;
      ms->ti = NULL;
      tinfo_free(ti, WT_APP_MOQ_NOT_FOUND); /* no answer: its waiters are refused */
    }
    break;
  case R_FETCH:
    fetch_release(ms);
    break;
  case R_UP_ANNOUNCE:
    if (s->up_ann == ms) {
      s->up_ann = NULL;
      for (moq_bcast *b = s->root->bcasts, *nb; b; b = nb) {
        nb = b->next;
        if (b->pub == s) {
          bcast_end(b);
        }
      }
    }
    break;
  default:
    break;
  }
}

static void moq_stream_reset(wt_app_stream *st, uint32_t code, int has_code) {
  moq_strm *ms = wt_app_stream_get_user(st);
  if (!ms) {
    return;
  }
  strm_drop(ms, has_code ? code : WT_APP_MOQ_GONE);
  if (ms->role != R_DEAD) {
    strm_abort(ms, WT_APP_MOQ_CANCEL);
  }
}

static void moq_stream_stop(wt_app_stream *st, uint32_t code, int has_code) {
  (void)code, (void)has_code;
  moq_strm *ms = wt_app_stream_get_user(st);
  if (!ms) {
    return;
  }
  strm_drop(ms, WT_APP_MOQ_GONE);
  if (ms->role != R_DEAD) {
    strm_abort(ms, WT_APP_MOQ_CANCEL);
  }
}

static void moq_stream_close(wt_app_stream *st) {
  moq_strm *ms = wt_app_stream_get_user(st);
  if (!ms) {
    return;
  }
  strm_drop(ms, WT_APP_MOQ_GONE);
  if (ms->s->up_ann == ms) {
    ms->s->up_ann = NULL;
  }
  if (ms->s->up && ms->s->up->ann == ms) {
    ms->s->up->ann = NULL;
  }
  if (ms->t && ms->t->up == ms) {
    ms->t->up = NULL;
  }
  free(ms->prefix);
  free(ms->outs);
  free(ms);
  wt_app_stream_set_user(st, NULL);
}

static void moq_stream_writable(wt_app_stream *st) {
  moq_strm *ms = wt_app_stream_get_user(st);
  if (ms && ms->role == R_FETCH && ms->fs) {
    fetch_pump(ms);
  }
}

/* ------------------------------------------------------------------ cascade */

/* wt_apps.h "moq-lite cascade"; docs/operations.md "Cluster". A SUBSCRIBE
 * here to a broadcast this node does not have makes a remote broadcast
 * (the same moq_bcast as a publisher's, whose publisher session is the
 * upstream's moq_sess) and ONE upstream session to the node the locator
 * names (kind "moq", name ROOT/PATH), at the subscriber's root with
 * ?hops=N (N = 1 + the largest hop count of the local subscribers'
 * sessions) and ?jwt= relay_upstream_token. On it this node asks for the
 * broadcast's announces (prefix: its path) and subscribes once per track
 * local subscribers want; the groups come back as a browser publisher's
 * and take the same fan-out path. The upstream announcing the broadcast
 * makes it visible here (announced to local interests). Faults: a track
 * the upstream refuses waits for its ANNOUNCE; a lost session is looked up
 * again at once (a refusal: the next candidate, backoff 100 ms .. 5 s) and
 * the waiting tracks are subscribed again (their subscribers see whole
 * groups reset, nothing torn); the broadcast ended upstream (ANNOUNCE
 * ended) ends it here (a move: the next SUBSCRIBE looks it up again); the
 * last track released closes the session after UP_LINGER_MS; a hop count
 * at the limit is never pulled (the subscribers reset NOT_FOUND, logged
 * once per remote broadcast, counted). The timings and counters are the
 * relay cascade's (apps/wt_app_relay.c). */

#define UP_BACKOFF_MIN_MS 100
#define UP_BACKOFF_MAX_MS 5000
#define UP_LINGER_MS      2000 /* the upstream outlives the last local subscriber so long */
#define UP_WAIT_MS        250  /* published nowhere known yet: looked up again so often */

static const wt_app_ops moq_up_ops;
static void up_start(moq_up *up);

static void up_publish(moq_bcast *b, int live) {
  const wt_app_locator *loc = b->pub->a->cfg.locator;
  char key[sizeof(((moq_up *)0)->key)];
  if (!loc || !loc->publish) {
    return;
  }
  snprintf(key, sizeof(key), "%s%s%.*s", b->root->name, b->len ? "/" : "", (int)b->len, b->path);
  loc->publish(loc->arg, "moq", key, live);
}

static void up_timer(void *arg);

static void up_arm(moq_up *up, uint64_t delay_ms) {
  if (up->timer) {
    wt_app_timer_cancel(up->ctx, up->timer);
    up->timer = 0;
  }
  if (wt_app_timer_add(up->ctx, delay_ms * 1000000ull, up_timer, up, &up->timer) < 0) {
    up->timer = 0;
  }
}

static void up_retry(moq_up *up) {
  uint32_t d = up->backoff_ms ? up->backoff_ms : UP_BACKOFF_MIN_MS;
  up->backoff_ms = d * 2 > UP_BACKOFF_MAX_MS ? UP_BACKOFF_MAX_MS : d * 2;
  up_arm(up, d);
}

/* Forget up: its session is gone (or never was). */
static void up_free(moq_up *up) {
  wt_moq_relay *mr = up->a->moq;
  moq_root *r = up->s->root;
  LIST_DEL(mr->ups, up);
  if (--r->n_sess == 0) {
    LIST_DEL(mr->roots, r);
    mr->n_roots--;
    free(r);
  }
  sess_free(up->s);
  free(up);
}

/* The remote broadcast ends here: its tracks' subscribers end (clean: FIN,
 * else reset with code), then the session is closed and up freed. */
static void up_end(moq_up *up, const char *why, uint32_t code, int clean) {
  if (up->ending) {
    return;
  }
  up->ending = 1;
  if (up->timer) {
    wt_app_timer_cancel(up->ctx, up->timer);
    up->timer = 0;
  }
  WT_LOG_INFO("broadcast %s: upstream closed: %s", up->key, why);
  if (up->b) {
    moq_bcast *b = up->b;
    while (b->tracks) {
      moq_track *t = b->tracks;
      if (t->n_subs) {
        track_free(t, code, clean);
      } else {
        track_release(t, code);
      }
    }
    bcast_end(b); /* announced ended here if it was announced */
  }
  up->live = 0;
  if (!up->s->as) {
    up_free(up);
  } else if (up->open) {
    wt_app_close_session(up->s->as, WT_APP_RELAY_UPSTREAM_CLOSE, (const uint8_t *)why, strlen(why));
  } /* a connecting one is closed at its open */
}

/* A subscription of a session at the hop limit is never pulled: a loop
 * (or too deep a tree). Logged, counted; the caller refuses it. */
static void up_hop_refused(wt_apps *a, const char *root, const char *path, uint32_t hops) {
  a->cnt.cluster_hops_refused++;
  WT_LOG_ERROR("broadcast %s/%s: not pulled: a subscription came with hops=%u, the limit is %u "
               "(a cluster loop?)",
               root, path, hops, a->cfg.relay_max_hops);
}

static void up_start(moq_up *up) {
  wt_apps *a = up->a;
  if (up->ending || up->s->as) {
    return;
  }
  char addr[128];
  int rv = a->cfg.locator->lookup(a->cfg.locator->arg, "moq", up->key, up->idx, addr, sizeof(addr));
  if (rv == 0 && up->idx > 0) {
    up->idx = 0; /* past the last candidate: from the first again, later */
    up_retry(up);
    return;
  }
  if (rv == 0) {
    up_arm(up, UP_WAIT_MS); /* not published anywhere known (yet) */
    return;
  }
  if (rv < 0) {
    WT_LOG_WARN("broadcast %s: cannot look up its node: %s (the cluster registry unreachable?)",
                up->key, wt_err_str(rv));
    up_retry(up);
    return;
  }
  const char *tok = a->cfg.relay_upstream_token;
  char path[WT_APP_MAX_PATH_LEN + 4096 + 64];
  int n = snprintf(path, sizeof(path), "/%s?hops=%u%s%s", up->s->root->name, up->hops_max + 1,
                   tok ? "&jwt=" : "", tok ? tok : "");
  /* -04/-03 only: the cascade's client side speaks the versions without
   * -05's SETUP and TRACK streams, and a remote broadcast carries -03/-04
   * frames (frames_match: a -05 subscriber is not pulled for, up_new) */
  wt_app_connect_req req = {.authority = addr,
                            .path = path,
                            .protocols = moq_versions + 1,
                            .n_protocols = sizeof(moq_versions) / sizeof(moq_versions[0]) - 1};
  wt_app_session *as = NULL;
  if (n < 0 || (size_t)n >= sizeof(path) ||
      wt_app_connect(up->ctx, &req, &moq_up_ops, a, &as) < 0) {
    a->cnt.cluster_upstream_failed++;
    up_retry(up);
    return;
  }
  wt_app_session_set_user(as, up->s);
  up->s->as = as;
  up->hops = up->hops_max + 1;
  up->fed = 0;
  WT_LOG_INFO("broadcast %s: pulling from %s (hops=%u)", up->key, addr, up->hops);
}

static void up_timer(void *arg) {
  moq_up *up = arg;
  up->timer = 0;
  if (!up->b || up->b->n_tracks == 0) {
    up_end(up, "no local subscriber left", WT_APP_MOQ_CANCEL, 0);
  } else if (!up->s->as) {
    up_start(up);
  }
}

/* The remote broadcast's tracks changed (one released): with none left,
 * the upstream lingers, then closes. */
static void up_tracks_changed(moq_up *up) {
  if (up->ending || !up->b || up->b->n_tracks) {
    return;
  }
  up_arm(up, UP_LINGER_MS);
}

/* Subscribe every waiting track of up's broadcast (session open). */
static void up_subscribe_all(moq_up *up) {
  if (!up->open || !up->b) {
    return;
  }
  for (moq_track *t = up->b->tracks; t; t = t->next) {
    if (!t->up) {
      track_subscribe_up(t, up->s);
    }
  }
}

/* A local subscriber (of a session with hop count hops) wants up's
 * broadcast: 1, or 0 when it must be refused (the hop limit). Invariant:
 * hops_max < relay_max_hops, so an upstream carries at most the limit. */
static int up_want(moq_up *up, uint32_t hops) {
  if (up->ending) {
    return 0;
  }
  if (hops >= up->a->cfg.relay_max_hops) {
    up_hop_refused(up->a, up->s->root->name, up->b ? up->b->path : "", hops);
    return 0;
  }
  if (up->timer && up->s->as) {
    wt_app_timer_cancel(up->ctx, up->timer); /* lingering: wanted again */
    up->timer = 0;
  }
  if (hops > up->hops_max) {
    up->hops_max = hops;
    if (up->open && up->hops_max + 1 > up->hops && !up->fed) {
      /* a deeper subscriber while nothing flows: the upstream must carry
       * its hop count (how a loop, where nothing ever flows, reaches the
       * limit); once groups flow it is kept (no gap) */
      wt_app_close_session(up->s->as, WT_APP_RELAY_UPSTREAM_CLOSE,
                           (const uint8_t *)"hop count grew", 14);
    }
  }
  return 1;
}

/* SUBSCRIBE from session s to path (relative to s's root), unknown here:
 * the remote broadcast (its upstream started), or NULL (no locator, a
 * hop count at the limit, a moq-lite-05 session, bounds). */
static moq_bcast *up_bcast(moq_sess *s, const char *path, size_t len) {
  wt_apps *a = s->a;
  moq_root *r = s->root;
  if (!a->cfg.locator || !a->cfg.locator->lookup) {
    return NULL;
  }
  if (s->hops >= a->cfg.relay_max_hops) {
    up_hop_refused(a, r->name, path, s->hops);
    return NULL;
  }
  if (s->version >= WT_MOQ_LITE_05) { /* the upstream speaks -04 (up_start) */
    WT_LOG_DEBUG("broadcast %s/%.*s: not pulled for a moq-lite-05 session", r->name, (int)len,
                 path);
    return NULL;
  }
  if (r->n_bcasts >= a->cfg.moq_max_broadcasts) {
    return NULL;
  }
  moq_up *up = calloc(1, sizeof(*up));
  moq_sess *us = calloc(1, sizeof(*us));
  moq_bcast *b = calloc(1, sizeof(*b));
  char *p = malloc(len + 1);
  wt_app_group_counters *gc = wt_app_group_counters_new();
  if (!up || !us || !b || !p || !gc) {
    free(up);
    free(us);
    free(b);
    free(p);
    wt_app_group_counters_unref(gc);
    return NULL;
  }
  memcpy(p, path, len);
  p[len] = '\0';
  snprintf(up->key, sizeof(up->key), "%s%s%s", r->name, len ? "/" : "", p);
  up->a = a;
  up->ctx = wt_app_session_ctx(s->as);
  up->s = us;
  up->b = b;
  up->hops_max = s->hops;
  us->a = a;
  us->root = r;
  us->up = up;
  us->version = WT_MOQ_LITE_04; /* until a session answers another */
  us->n_published = 1;
  r->n_sess++; /* the up's session state holds the root */
  b->root = r;
  b->pub = us;
  b->path = p;
  b->len = len;
  b->gc = gc;
  reg_add(a->moq->reg, b);
  LIST_ADD(r->bcasts, b);
  r->n_bcasts++;
  LIST_ADD(a->moq->ups, up);
  up_start(up); /* never ends up (hops_max < the limit) */
  return b;
}

/* ANNOUNCE from the upstream (prefix: our broadcast's path, so the suffix
 * "" is it; anything below it is not ours). */
static void up_announce(moq_up *up, const wt_moq_msg *m) {
  size_t len;
  char *suf = path_fold(m->u.announce.suffix.p, m->u.announce.suffix.len, &len);
  free(suf);
  if (!suf || len || !up->b || up->ending) {
    return;
  }
  if (m->u.announce.status == WT_MOQ_ANNOUNCE_ACTIVE) {
    if (!up->live) {
      up->live = 1;
      up->b->n_hops = m->u.announce.n_hops;
      memcpy(up->b->hops, m->u.announce.hops, sizeof(up->b->hops[0]) * up->b->n_hops);
      announce_all(up->b, 1);
    }
    up_subscribe_all(up); /* the tracks it refused before */
  } else if (up->live) {
    /* ended on its node (the publisher left): ended here; a later
     * SUBSCRIBE looks it up again (it may have moved) */
    up_end(up, "the broadcast ended upstream", WT_APP_MOQ_GONE, 1);
  }
}

static void up_open(wt_app_session *as) {
  moq_sess *s = wt_app_session_get_user(as);
  moq_up *up = s->up;
  wt_apps *a = up->a;
  up->open = 1;
  a->cnt.cluster_upstream_opened++;
  a->cnt.cluster_upstream_live++;
  up->backoff_ms = 0;
  up->idx = 0;
  /* the version the upstream answered in WT-Protocol (a String) */
  const char *v = wt_app_session_response_field(as, "wt-protocol");
  size_t vl = v ? strlen(v) : 0;
  if (vl >= 2 && v[0] == '"' && v[vl - 1] == '"') {
    v++, vl -= 2;
  }
  int ver = v ? wt_moq_version_from_protocol(v, vl) : WT_MOQ_LITE_04;
  s->version = ver > 0 ? ver : WT_MOQ_LITE_04;
  s->next_up_id = 0;
  WT_LOG_INFO("broadcast %s: upstream open (%.*s)", up->key, v ? (int)vl : 19,
              v ? v : "no WT-Protocol: -04");
  if (up->ending || !up->b) {
    wt_app_close_session(as, WT_APP_RELAY_UPSTREAM_CLOSE, (const uint8_t *)"not wanted", 10);
    return;
  }
  if (up->hops_max + 1 > up->hops) {
    wt_app_close_session(as, WT_APP_RELAY_UPSTREAM_CLOSE, (const uint8_t *)"hop count grew", 14);
    return;
  }
  wt_app_stream *st;
  moq_strm *ms = NULL;
  if (wt_app_open_stream(as, 1, &st) == 0 && !(ms = strm_new(s, st, R_UP_ANNOUNCE))) {
    wt_app_stream_reset(st, WT_APP_MOQ_LIMIT);
  }
  if (ms) {
    ms->kind = WT_MOQ_KIND_ANNOUNCE;
    ms->have_kind = 1;
    up->ann = ms;
    wt_moq_msg m = {.type = WT_MOQ_ANNOUNCE_PLEASE};
    m.u.announce_please.prefix = (wt_moq_str){(const uint8_t *)up->b->path, up->b->len};
    strm_send(ms, &m, WT_MOQ_KIND_ANNOUNCE, 1);
  }
  up_subscribe_all(up);
}

/* The upstream session is gone (refused, closed, lost): re-resolve while
 * wanted. */
static void up_gone(moq_up *up, int opened, int status) {
  wt_apps *a = up->a;
  up->s->as = NULL;
  up->ann = NULL;
  if (opened) {
    up->open = 0;
    a->cnt.cluster_upstream_live--;
  } else {
    a->cnt.cluster_upstream_failed++;
    up->idx++; /* the next candidate */
  }
  if (up->ending) {
    up_free(up);
    return;
  }
  if (status == WT_APP_RELAY_HOP_LIMIT) {
    WT_LOG_ERROR("broadcast %s: the upstream refused our hop count %u (a cluster loop?)", up->key,
                 up->hops);
    up_end(up, "hop limit", WT_APP_MOQ_NOT_FOUND, 0);
    return;
  }
  if (!up->b || up->b->n_tracks == 0) {
    up_end(up, "no local subscriber left", WT_APP_MOQ_CANCEL, 0);
    return;
  }
  a->cnt.cluster_reresolves++;
  if (up->drained) {
    up->drained = 0;
    up_retry(up); /* the node is stopping: give it (or its restart) a moment */
  } else if (opened && up->backoff_ms == 0) {
    up_start(up); /* lost while fine: at once */
    if (!up->s->as && !up->timer && !up->ending) {
      up_retry(up);
    }
  } else {
    up_retry(up);
  }
}

static void up_refused(wt_app_session *as, int status) {
  moq_sess *s = wt_app_session_get_user(as);
  WT_LOG_WARN("broadcast %s: upstream refused: %s %d", s->up->key,
              status ? "status" : "no answer, status", status);
  up_gone(s->up, 0, status);
}

static void up_close(wt_app_session *as, uint32_t code, const uint8_t *reason, size_t len,
                     int clean) {
  moq_sess *s = wt_app_session_get_user(as);
  if (!s) {
    return;
  }
  wt_app_session_set_user(as, NULL);
  if (code != WT_APP_RELAY_UPSTREAM_CLOSE && !s->up->ending) {
    WT_LOG_WARN("broadcast %s: upstream lost (code 0x%x, %s): %.*s", s->up->key, code,
                clean ? "closed" : "reset or connection lost", (int)(len > 128 ? 128 : len),
                reason ? (const char *)reason : "");
  }
  up_gone(s->up, 1, 0);
}

/* The upstream node is going away (GOAWAY / DRAIN): leave at once and
 * re-resolve, rather than hold its drain. */
static void up_drain(wt_app_session *as) {
  moq_sess *s = wt_app_session_get_user(as);
  if (s && s->up->open && !s->up->ending) {
    WT_LOG_INFO("broadcast %s: upstream session draining (a node stopping): leaving it",
                s->up->key);
    s->up->drained = 1;
    wt_app_close_session(as, WT_APP_RELAY_UPSTREAM_CLOSE, (const uint8_t *)"upstream draining", 17);
  }
}

static const wt_app_ops moq_up_ops = {
    .name = "moq-upstream",
    .session_open = up_open,
    .session_close = up_close,
    .session_refused = up_refused,
    .session_drain = up_drain,
    .stream_open = moq_stream_open,
    .stream_data = moq_stream_data,
    .stream_reset = moq_stream_reset,
    .stream_stop = moq_stream_stop,
    .stream_close = moq_stream_close,
};

void wt_moq_relay_free(wt_moq_relay *m) {
  if (!m) {
    return;
  }
  /* every session closed before: what is left is the cascade's remote
   * broadcasts waiting for a retry or their linger (no subscriber, no
   * session); then no root is left */
  while (m->ups) {
    moq_up *up = m->ups;
    if (up->b) {
      bcast_end(up->b);
    }
    up_free(up);
  }
  free(m);
}

void wt_moq_relay_counters(const wt_moq_relay *m, wt_apps_counters *c) {
  if (!m) {
    return;
  }
  moq_fan_totals t = m->retired;
  for (const moq_root *r = m->roots; r; r = r->next) {
    for (const moq_bcast *b = r->bcasts; b; b = b->next) {
      totals_add(&t, b->gc);
    }
  }
  c->moq_delivered_streams = t.streams;
  c->moq_delivered_bytes = t.bytes;
  c->moq_dropped_lagged = t.lagged;
  c->moq_dropped_limit = t.limit;
  c->moq_dropped_priority = t.priority;
  c->moq_dropped_latency = t.latency;
}

/* ------------------------------------------------------------------ per-broadcast series */

int wt_moq_reg_new(wt_moq_reg **out) {
  wt_moq_reg *g = calloc(1, sizeof(*g));
  if (!g) {
    return WT_ERR_NOMEM;
  }
  pthread_mutex_init(&g->mu, NULL);
  *out = g;
  return 0;
}

void wt_moq_reg_del(wt_moq_reg *g) {
  if (!g) {
    return;
  }
  while (g->head) { /* none after every worker's relay ended: defensive */
    moq_reg_ent *e = g->head;
    g->head = e->next;
    wt_app_group_counters_unref(e->gc);
    free(e);
  }
  pthread_mutex_destroy(&g->mu);
  free(g);
}

int wt_moq_reg_metrics(wt_moq_reg *g, size_t max_series, wt_app_print_fn print, void *sink) {
  static const struct {
    const char *name, *label;
  } fams[] = {
      {"moq_broadcast_delivered_total", "kind=\"streams\""},
      {"moq_broadcast_delivered_total", "kind=\"stream_bytes\""},
      {"moq_broadcast_dropped_total", "reason=\"lagged\""},
      {"moq_broadcast_dropped_total", "reason=\"limit\""},
      {"moq_broadcast_dropped_total", "reason=\"priority\""},
      {"moq_broadcast_dropped_total", "reason=\"latency\""},
  };
  int rv = print(sink, "# HELP wtcast_moq_broadcast_delivered_total group streams and bytes the "
                       "subscribers of a live moq-lite broadcast got (broadcast=\"other\": the "
                       "rest summed)\n# TYPE wtcast_moq_broadcast_delivered_total counter\n"
                       "# HELP wtcast_moq_broadcast_dropped_total groups its subscribers lost: "
                       "lagged (of which priority: for a higher-priority track of theirs), "
                       "stream limit, latency (older than their max latency)\n"
                       "# TYPE wtcast_moq_broadcast_dropped_total counter\n");
  pthread_mutex_lock(&g->mu);
  moq_fan_totals other = {0};
  size_t k = 0;
  int any_other = 0;
  for (moq_reg_ent *e = g->head; e && rv == 0; e = e->next, k++) {
    moq_fan_totals t = {0};
    totals_add(&t, e->gc);
    if (k >= max_series) {
      totals_add(&other, e->gc);
      any_other = 1;
      continue;
    }
    const uint64_t v[6] = {t.streams, t.bytes, t.lagged, t.limit, t.priority, t.latency};
    for (size_t f = 0; f < 6 && rv == 0; f++) {
      rv = print(sink, "wtcast_%s{broadcast=\"%s\",%s} %llu\n", fams[f].name, e->name,
                 fams[f].label, (unsigned long long)v[f]);
    }
  }
  if (any_other) {
    const uint64_t v[6] = {other.streams, other.bytes,    other.lagged,
                           other.limit,   other.priority, other.latency};
    for (size_t f = 0; f < 6 && rv == 0; f++) {
      rv = print(sink, "wtcast_%s{broadcast=\"other\",%s} %llu\n", fams[f].name, fams[f].label,
                 (unsigned long long)v[f]);
    }
  }
  pthread_mutex_unlock(&g->mu);
  return rv;
}

int wt_moq_reg_json(wt_moq_reg *g, size_t max, wt_app_print_fn print, void *sink) {
  moq_reg_ent *top[WT_MOQ_JSON_BROADCASTS];
  uint64_t top_subs[WT_MOQ_JSON_BROADCASTS];
  size_t n_top = 0;
  if (max > WT_MOQ_JSON_BROADCASTS) {
    max = WT_MOQ_JSON_BROADCASTS;
  }
  pthread_mutex_lock(&g->mu);
  /* the max with the most subscriptions (ties: the newest first, the list's order) */
  for (moq_reg_ent *e = g->head; e; e = e->next) {
    uint64_t subs = atomic_load_explicit(&e->subs, memory_order_relaxed);
    size_t i = n_top < max ? n_top++ : max;
    while (i > 0 && top_subs[i - 1] < subs) {
      if (i < max) {
        top[i] = top[i - 1];
        top_subs[i] = top_subs[i - 1];
      }
      i--;
    }
    if (i < max) {
      top[i] = e;
      top_subs[i] = subs;
    }
  }
  int rv = print(sink, ",\"broadcasts_live\":%zu,\"broadcasts\":[", g->n);
  for (size_t i = 0; i < n_top && rv == 0; i++) {
    moq_fan_totals t = {0};
    totals_add(&t, top[i]->gc);
    rv = print(sink,
               "%s{\"name\":\"%s\",\"subscribers\":%llu,\"delivered_streams\":%llu,"
               "\"delivered_bytes\":%llu,\"dropped_lagged\":%llu,\"dropped_priority\":%llu,"
               "\"dropped_limit\":%llu,\"dropped_latency\":%llu,"
               "\"subscriber_dropped_max\":%llu}",
               i ? "," : "", top[i]->name, (unsigned long long)top_subs[i],
               (unsigned long long)t.streams, (unsigned long long)t.bytes,
               (unsigned long long)t.lagged, (unsigned long long)t.priority,
               (unsigned long long)t.limit, (unsigned long long)t.latency,
               (unsigned long long)LDC(top[i]->gc->member_dropped_max));
  }
  pthread_mutex_unlock(&g->mu);
  return rv == 0 ? print(sink, "]") : rv;
}

const wt_app_ops wt_app_moq_ops = {
    .name = "moq",
    .session_request = moq_request,
    .session_open = moq_open,
    .session_drain = moq_drain,
    .session_close = moq_close,
    .stream_open = moq_stream_open,
    .stream_data = moq_stream_data,
    .stream_reset = moq_stream_reset,
    .stream_stop = moq_stream_stop,
    .stream_close = moq_stream_close,
    .stream_writable = moq_stream_writable,
    .worker_hint = moq_worker_hint,
};
