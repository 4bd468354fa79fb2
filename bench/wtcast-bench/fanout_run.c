/* fanout_run.c: the fan-out verifier's event loop (ticks, then one turn of the engine pump,
 * client/wt_pump.h), the publisher, and the subscriber checks. */
#define WT_LOG_MODULE "fanout"

#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "fanout.h"
#include "wt_log.h"

#define FO_PUB_BUDGET    512 /* messages per loop turn */
#define FO_CLOSE_WAIT_NS (300 * FO_MS)
#define FO_STALL_NS      (1000 * FO_MS) /* a loop turn this long: we were stopped */
#define FO_US            UINT64_C(1000)

/* ------------------------------------------------------------------ stream state */

typedef struct fo_rx {
  fo_stag tag; /* kind 1 */
  struct fo_rx *prev, *next;
  fo_ep *e; /* NULL once orphaned */
  uint8_t hdr[FO_PREFIX + FO_HDR];
  size_t hlen;
  uint32_t rlen;
  size_t rpos;
  uint64_t seq, ts, idx;
  fo_epoch *epoch;
  uint64_t group;
  uint64_t nrec, last_idx;
  int bad; /* torn or corrupt: the rest is ignored */
  int expect_fin, ended;
  uint64_t bytes;
  /* --moq: the framing around the records (fo_rx_moq) */
  int mstage; /* 0 Data Type, 1 GROUP, 2 a frame's size, 3 its payload */
  uint64_t frem;
  wt_moq_reader mrd;
} fo_rx;

/* --moq: a bidi stream carrying moq-lite messages: ours (own: the
 * subscriber's subscribe stream) or the relay's towards the publisher
 * (ANNOUNCE_PLEASE, SUBSCRIBE). */
typedef struct fo_mctl {
  fo_stag tag; /* kind 2 */
  struct fo_mctl *prev, *next;
  fo_ep *e; /* NULL once orphaned */
  int own, have_kind, dead;
  uint64_t kind, n;
  wt_moq_reader rd;
} fo_mctl;

static fo_mctl fo_mctl_list = {.prev = &fo_mctl_list, .next = &fo_mctl_list};
static fo_stag fo_ignored = {.kind = 3};

#define FO_MOQ_BROADCAST "b"
#define FO_MOQ_TRACK     "t"

static fo_mctl *fo_mctl_new(fo_ep *e, int own) {
  fo_mctl *m = calloc(1, sizeof(*m));
  if (!m) {
    return NULL;
  }
  m->tag.kind = 2;
  m->e = e;
  m->own = own;
  wt_moq_reader_init(&m->rd, WT_MOQ_LITE_04);
  m->next = fo_mctl_list.next;
  m->prev = &fo_mctl_list;
  fo_mctl_list.next->prev = m;
  fo_mctl_list.next = m;
  return m;
}

static void fo_mctl_del(fo_mctl *m) {
  m->prev->next = m->next;
  m->next->prev = m->prev;
  free(m);
}

static fo_rx fo_rx_list = {.prev = &fo_rx_list, .next = &fo_rx_list};

static fo_rx *fo_rx_new(fo_ep *e) {
  fo_rx *r = calloc(1, sizeof(*r));
  if (!r) {
    return NULL;
  }
  r->tag.kind = 1;
  r->e = e;
  r->group = UINT64_MAX;
  wt_moq_reader_init(&r->mrd, WT_MOQ_LITE_04);
  r->next = fo_rx_list.next;
  r->prev = &fo_rx_list;
  fo_rx_list.next->prev = r;
  fo_rx_list.next = r;
  return r;
}

static void fo_rx_del(fo_rx *r) {
  r->prev->next = r->next;
  r->next->prev = r->prev;
  free(r);
}

void fo_rx_free_all(void) {
  while (fo_rx_list.next != &fo_rx_list) {
    fo_rx_del(fo_rx_list.next);
  }
  while (fo_mctl_list.next != &fo_mctl_list) {
    fo_mctl_del(fo_mctl_list.next);
  }
}

/* ------------------------------------------------------------------ helpers */

static uint64_t fo_min(uint64_t a, uint64_t b) {
  return a < b ? a : b;
}

static int fo_bit(const uint8_t *m, uint64_t i) {
  return (m[i >> 3] >> (i & 7)) & 1;
}

static void fo_set_bit(uint8_t *m, uint64_t i) {
  m[i >> 3] |= (uint8_t)(1u << (i & 7));
}

static fo_epoch *fo_epoch_get(fo_ep *e, uint32_t pub_id) {
  for (uint32_t i = 0; i < e->n_epochs; i++) {
    if (e->ep[i].pub_id == pub_id) {
      return &e->ep[i];
    }
  }
  if (e->n_epochs == FO_MAX_EPOCHS) {
    return NULL;
  }
  const fo_opts *o = e->c->o;
  fo_epoch *x = &e->ep[e->n_epochs];
  x->dg_seen = calloc((size_t)(o->count + 7) / 8, 1);
  x->grp_seen = calloc((size_t)(e->c->ngroups + 7) / 8, 1);
  if (!x->dg_seen || !x->grp_seen) {
    free(x->dg_seen);
    free(x->grp_seen);
    x->dg_seen = x->grp_seen = NULL;
    return NULL;
  }
  x->pub_id = pub_id;
  x->first_dg = x->first_group = UINT64_MAX;
  e->n_epochs++;
  return x;
}

static void fo_lat(fo_ep *e, int stream, uint64_t ts, uint64_t now) {
  wt_hist_add(&e->c->lat[e->kind][stream], now > ts ? (now - ts) / FO_US : 0);
}

/* Expected datagrams / groups of one epoch for e. */
static uint64_t fo_dg_expected(const fo_ep *e, const fo_epoch *x) {
  const fo_opts *o = e->c->o;
  if (e->kind != FO_K_LATE) {
    return o->count;
  }
  uint64_t start = x->first_dg;
  if (e->have_join && e->join_idx < start) {
    start = e->join_idx;
  }
  return start >= o->count ? 0 : o->count - start;
}

static uint64_t fo_grp_expected(const fo_ep *e, const fo_epoch *x) {
  uint64_t n = e->c->ngroups;
  if (e->kind != FO_K_LATE) {
    return n;
  }
  return x->first_group >= n ? 0 : n - x->first_group;
}

uint64_t fo_expected(const fo_ep *e, int stream) {
  const fo_opts *o = e->c->o;
  uint32_t want = (o->role & FO_ROLE_PUB) ? 1 : o->pubs;
  uint64_t n = 0;
  for (uint32_t i = 0; i < e->n_epochs; i++) {
    n += stream ? fo_grp_expected(e, &e->ep[i]) : fo_dg_expected(e, &e->ep[i]);
  }
  if (e->kind != FO_K_LATE && e->n_epochs < want) {
    n += (want - e->n_epochs) * (stream ? e->c->ngroups : o->count);
  }
  return n;
}

static void fo_check_complete(fo_ep *e) {
  const fo_opts *o = e->c->o;
  uint32_t want = (o->role & FO_ROLE_PUB) ? 1 : o->pubs;
  if (e->complete || e->n_epochs < want) {
    return;
  }
  for (uint32_t i = 0; i < e->n_epochs; i++) {
    const fo_epoch *x = &e->ep[i];
    if ((o->transport & FO_TX_DGRAM) &&
        (x->first_dg == UINT64_MAX || x->dg_rx < fo_dg_expected(e, x))) {
      return;
    }
    if ((o->transport & FO_TX_STREAM) &&
        (x->first_group == UINT64_MAX || x->groups_done < fo_grp_expected(e, x))) {
      return;
    }
  }
  e->complete = 1;
}

int fo_ep_finished(const fo_ep *e) {
  return e->state == FO_EP_REFUSED || e->state == FO_EP_FAILED || e->state == FO_EP_CLOSED ||
         (e->state == FO_EP_OPEN && e->complete);
}

/* The publisher's current group (the newest stream it opened). */
static uint64_t fo_pub_group(const fo_client *c) {
  const fo_pub *p = &c->pub;
  if (p->st || p->stage == 1) {
    return p->idx / c->o->group;
  }
  return p->idx ? (p->idx - 1) / c->o->group : 0;
}

/* ------------------------------------------------------------------ subscriber checks */

static void fo_dg_rx(fo_ep *e, const uint8_t *d, size_t len, uint64_t now) {
  fo_client *c = e->c;
  const fo_opts *o = c->o;
  e->t_last_rx = now;
  if (len != o->size || len < FO_HDR) {
    e->dg_corrupt++;
    fo_error(c, "sub %u: datagram of %zu bytes (expected %" PRIu64 ")", e->index, len, o->size);
    return;
  }
  uint64_t seq = fo_get_le64(d), ts = fo_get_le64(d + 8);
  uint64_t idx = seq & FO_IDX_MASK;
  if (idx >= o->count || ts > now || !fo_pat_ok(seq, FO_HDR, d + FO_HDR, len - FO_HDR)) {
    e->dg_corrupt++;
    fo_error(c, "sub %u: corrupt datagram (seq %" PRIx64 ")", e->index, seq);
    return;
  }
  fo_epoch *x = fo_epoch_get(e, (uint32_t)(seq >> FO_IDX_BITS));
  if (!x) {
    e->dg_other_pub++;
    return;
  }
  if (fo_bit(x->dg_seen, idx)) {
    e->dg_dup++;
    fo_error(c, "sub %u: duplicate datagram %" PRIu64, e->index, idx);
    return;
  }
  fo_set_bit(x->dg_seen, idx);
  x->dg_rx++;
  e->dg_rx++;
  x->first_dg = idx < x->first_dg ? idx : x->first_dg;
  if (idx + 1 > c->max_idx_seen) {
    c->max_idx_seen = idx + 1;
  }
  fo_lat(e, 0, ts, now);
  fo_check_complete(e);
}

static void fo_rx_bad(fo_rx *r, int corrupt, const char *why) {
  fo_ep *e = r->e;
  r->bad = 1;
  if (corrupt) {
    e->records_corrupt++;
  } else {
    e->groups_torn++;
  }
  fo_error(e->c, "sub %u: %s stream at byte %" PRIu64 " (index %" PRIu64 "): %s", e->index,
           corrupt ? "corrupt" : "torn", r->bytes, r->idx, why);
}

/* A complete record header (prefix + seq + timestamp) is in r->hdr. */
static void fo_rx_header(fo_rx *r, uint64_t now) {
  fo_ep *e = r->e;
  fo_client *c = e->c;
  const fo_opts *o = c->o;
  r->rlen = fo_get_le32(r->hdr);
  r->seq = fo_get_le64(r->hdr + FO_PREFIX);
  r->ts = fo_get_le64(r->hdr + FO_PREFIX + 8);
  r->idx = r->seq & FO_IDX_MASK;
  r->rpos = FO_HDR;
  if (r->rlen != o->size) {
    fo_rx_bad(r, 1, "bad record length");
    return;
  }
  if (r->idx >= o->count || r->ts > now) {
    fo_rx_bad(r, 1, "bad index or timestamp");
    return;
  }
  fo_epoch *x = fo_epoch_get(e, (uint32_t)(r->seq >> FO_IDX_BITS));
  if (r->nrec == 0) {
    if (!x) {
      e->dg_other_pub++;
      r->bad = 1;
      return;
    }
    r->epoch = x;
    r->group = r->idx / o->group;
    if (!e->first_stream_seen) {
      e->first_stream_seen = 1;
      e->first_stream_at_start = r->idx % o->group == 0;
      e->first_group_seen = r->group;
    }
    if (r->group < x->first_group) {
      x->first_group = r->group;
    }
    if (r->idx % o->group != 0) {
      fo_rx_bad(r, 0, "the stream does not start at the beginning of a group");
    }
    return;
  }
  if (x != r->epoch || r->idx != r->last_idx + 1 || r->idx / o->group != r->group) {
    fo_rx_bad(r, 0, "records out of sequence (a gap, repeat or reorder inside the group)");
  }
}

static int fo_group_last(const fo_opts *o, uint64_t idx) {
  return idx % o->group == o->group - 1 || idx == o->count - 1;
}

/* The group of r is done (complete or reset): count it once. */
static void fo_rx_group_done(fo_rx *r, int complete) {
  fo_ep *e = r->e;
  fo_epoch *x = r->epoch;
  if (!x) { /* reset before any record: the group is unknown, credit the newest publisher */
    if (e->n_epochs) {
      e->ep[e->n_epochs - 1].groups_done++;
    }
    return;
  }
  if (r->group < e->c->ngroups && fo_bit(x->grp_seen, r->group)) {
    if (complete) {
      e->groups_dup++;
      fo_error(e->c, "sub %u: group %" PRIu64 " received twice", e->index, r->group);
    }
    return;
  }
  if (r->group < e->c->ngroups) {
    fo_set_bit(x->grp_seen, r->group);
  }
  x->groups_done++;
}

static void fo_rx_data(fo_rx *r, const uint8_t *d, size_t len, int fin, uint64_t now) {
  fo_ep *e = r->e;
  const fo_opts *o = e->c->o;
  e->t_last_rx = now;
  e->stream_bytes += len;
  while (len && !r->bad && !r->ended) {
    if (r->expect_fin) {
      fo_rx_bad(r, 0, "data after the last record of the group");
      break;
    }
    if (r->hlen < sizeof(r->hdr)) {
      size_t take = fo_min(sizeof(r->hdr) - r->hlen, len);
      memcpy(r->hdr + r->hlen, d, take);
      r->hlen += take;
      r->bytes += take;
      d += take;
      len -= take;
      if (r->hlen < sizeof(r->hdr)) {
        break;
      }
      fo_rx_header(r, now);
      continue;
    }
    size_t take = fo_min(r->rlen - r->rpos, len);
    if (!fo_pat_ok(r->seq, r->rpos, d, take)) {
      fo_rx_bad(r, 1, "pattern mismatch");
      break;
    }
    r->rpos += take;
    r->bytes += take;
    d += take;
    len -= take;
    if (r->rpos == r->rlen) {
      e->records++;
      r->nrec++;
      r->last_idx = r->idx;
      r->hlen = 0;
      if (r->idx + 1 > e->c->max_idx_seen) {
        e->c->max_idx_seen = r->idx + 1;
      }
      fo_lat(e, 1, r->ts, now);
      r->expect_fin = fo_group_last(o, r->idx);
    }
  }
  if (fin && !r->bad && !r->ended) {
    r->ended = 1;
    if (r->hlen != 0 || r->nrec == 0 || !r->expect_fin) {
      fo_rx_bad(r, 0, r->nrec == 0 ? "FIN before any record" : "FIN inside the group");
    } else {
      e->groups_complete++;
      fo_rx_group_done(r, 1);
      fo_check_complete(e);
    }
  }
  if (fin) {
    r->ended = 1;
  }
}

/* --moq: a group stream's bytes: Data Type, GROUP, then frames whose
 * payloads (one record each) go to fo_rx_data. */
static void fo_rx_moq(fo_rx *r, const uint8_t *d, size_t len, int fin, uint64_t now) {
  const fo_opts *o = r->e->c->o;
  while (len && !r->bad && !r->ended) {
    size_t used = 0;
    const char *why = "malformed";
    int k = 1;
    if (r->mstage == 0) {
      uint64_t v = 0;
      k = wt_moq_read_varint(&r->mrd, d, len, &used, &v);
      if (k == 1 && v != WT_MOQ_UNI_GROUP) {
        fo_rx_bad(r, 1, "moq: not a group stream");
        break;
      }
      r->mstage += k == 1;
    } else if (r->mstage == 1) {
      wt_moq_msg m;
      k = wt_moq_read_msg(&r->mrd, WT_MOQ_GROUP, d, len, &used, &m, &why);
      if (k == 1 && m.u.group.subscribe != 0) {
        fo_rx_bad(r, 1, "moq: GROUP of another subscription");
        break;
      }
      r->mstage += k == 1;
    } else if (r->mstage == 2) {
      uint64_t size = 0;
      k = wt_moq_read_frame(&r->mrd, d, len, &used, &size, &why);
      if (k == 1 && size != FO_PREFIX + o->size) {
        fo_rx_bad(r, 1, "moq: a frame that is not one record");
        break;
      }
      if (k == 1) {
        r->frem = size;
        r->mstage = 3;
      }
    } else {
      used = (size_t)fo_min(r->frem, len);
      fo_rx_data(r, d, used, 0, now);
      r->frem -= used;
      r->mstage = r->frem ? 3 : 2;
    }
    if (k < 0) {
      fo_rx_bad(r, 1, why);
      break;
    }
    d += used;
    len -= used;
  }
  if (fin && !r->bad && !r->ended) {
    if (r->mstage != 2) {
      fo_rx_bad(r, 0, "moq: FIN inside the group header or a frame");
    } else {
      fo_rx_data(r, NULL, 0, 1, now);
    }
  }
  if (fin) {
    r->ended = 1;
  }
}

/* ------------------------------------------------------------------ publisher */

static void fo_pub_fail(fo_client *c, const char *what, int r) {
  fo_error(c, "publisher: %s: %s", what, wt_err_str(r));
  c->pub.done = 1;
  c->pub.t_done = fo_now();
}

static double fo_read_cpu(long pid, int *ok) {
  char path[64], buf[1024];
  snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
  *ok = 0;
  FILE *f = fopen(path, "r");
  if (!f) {
    return 0;
  }
  size_t n = fread(buf, 1, sizeof(buf) - 1, f);
  fclose(f);
  buf[n] = '\0';
  char *p = strrchr(buf, ')'); /* the command name may hold spaces */
  unsigned long ut = 0, st = 0;
  if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2) {
    return 0;
  }
  long hz = sysconf(_SC_CLK_TCK);
  *ok = 1;
  return (double)(ut + st) / (double)(hz > 0 ? hz : 100);
}

static double fo_self_cpu(void) {
  struct rusage ru;
  if (getrusage(RUSAGE_SELF, &ru) != 0) {
    return 0;
  }
  return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
         (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static void fo_cpu_mark(fo_client *c, int end) {
  if (!end && c->cli_cpu0 == 0) {
    c->cli_cpu0 = fo_self_cpu();
  } else if (end && c->cli_cpu1 == 0) {
    c->cli_cpu1 = fo_self_cpu();
  }
  if (!c->o->server_pid) {
    return;
  }
  if (!end && !c->have_cpu0) {
    c->srv_cpu0 = fo_read_cpu(c->o->server_pid, &c->have_cpu0);
  } else if (end && !c->have_cpu1) {
    c->srv_cpu1 = fo_read_cpu(c->o->server_pid, &c->have_cpu1);
  }
}

/* Publish what is due. Returns when to come back. */
static uint64_t fo_pub_pump(fo_client *c, uint64_t now) {
  fo_pub *p = &c->pub;
  const fo_opts *o = c->o;
  fo_ep *e = p->ep;
  if (!e || p->done || e->state != FO_EP_OPEN || !e->ws || !c->t_ready) {
    return UINT64_MAX;
  }
  if (!p->t_first) {
    p->t_first = now;
    fo_cpu_mark(c, 0);
  }
  size_t total = p->pre + (size_t)o->size + FO_PREFIX;
  for (int budget = FO_PUB_BUDGET; p->idx < o->count; budget--) {
    if (budget == 0) {
      return now;
    }
    if (p->stage == 0) {
      if (o->rate) {
        uint64_t due = p->t_first + (uint64_t)((double)p->idx * 1e9 / (double)o->rate);
        if (due > now) {
          return due;
        }
      }
      if (p->pre) { /* --moq: the frame's size */
        wt_varint_put(p->buf, (uint64_t)o->size + FO_PREFIX);
      }
      fo_put_le32(p->buf + p->pre, (uint32_t)o->size);
      fo_msg_build(p->buf + p->pre + FO_PREFIX, (size_t)o->size,
                   ((uint64_t)p->id << FO_IDX_BITS) | p->idx, fo_now());
      p->off = 0;
      p->stage = (o->transport & FO_TX_STREAM) ? 1 : 2;
    }
    if (p->stage == 1) {
      if (p->blocked) {
        return UINT64_MAX; /* stream_writable */
      }
      if (!p->st) {
        wt_stream *st = NULL;
        int r = wt_session_open_stream(e->ws, 0, &st);
        if (r == WT_ERR_AGAIN) {
          return now + FO_MS; /* no stream credit yet */
        }
        if (r < 0) {
          fo_pub_fail(c, "open stream", r);
          return UINT64_MAX;
        }
        wt_stream_set_user(st, &e->pub_tag);
        p->st = st;
        p->groups_opened++;
        p->streams_open++;
        p->ghlen = p->ghoff = 0;
        if (o->moq) { /* Data Type, then GROUP (the relay's subscription, group number) */
          wt_moq_msg g = {.type = WT_MOQ_GROUP};
          g.u.group.subscribe = p->up_id;
          g.u.group.sequence = p->idx / o->group;
          p->ghdr[0] = WT_MOQ_UNI_GROUP;
          int n = wt_moq_encode(&g, WT_MOQ_LITE_04, p->ghdr + 1, sizeof(p->ghdr) - 1);
          if (n < 0) {
            fo_pub_fail(c, "moq GROUP", n);
            return UINT64_MAX;
          }
          p->ghlen = 1 + (size_t)n;
        }
      }
      while (p->ghoff < p->ghlen) {
        int r = wt_stream_write(p->st, p->ghdr + p->ghoff, p->ghlen - p->ghoff, 0);
        if (r == WT_ERR_AGAIN) {
          p->blocked = 1;
          return UINT64_MAX;
        }
        if (r < 0) {
          fo_pub_fail(c, "stream write", r);
          return UINT64_MAX;
        }
        p->ghoff += (size_t)r;
        p->stream_bytes += (uint64_t)r;
      }
      int last = fo_group_last(o, p->idx);
      int r = wt_stream_write(p->st, p->buf + p->off, total - p->off, last);
      if (r == WT_ERR_AGAIN) {
        p->blocked = 1;
        return UINT64_MAX;
      }
      if (r < 0) {
        fo_pub_fail(c, "stream write", r);
        return UINT64_MAX;
      }
      p->off += (size_t)r;
      p->stream_bytes += (uint64_t)r;
      if (p->off < total) {
        continue; /* the next write says AGAIN (then stream_writable follows) */
      }
      if (last) {
        p->st = NULL; /* FIN accepted; the engine keeps the stream until acked */
      }
      p->stage = (o->transport & FO_TX_DGRAM) ? 2 : 3;
    }
    if (p->stage == 2) {
      int r = wt_session_send_datagram(e->ws, p->buf + p->pre + FO_PREFIX, (size_t)o->size);
      if (r == WT_ERR_AGAIN) {
        p->dgram_queue_full++; /* not queued: the same message is sent again */
        return now + 200 * FO_US;
      }
      if (r < 0) {
        fo_pub_fail(c, "send datagram", r);
        return UINT64_MAX;
      }
      p->dgrams_sent++;
      p->stage = 3;
    }
    p->published++;
    p->idx++;
    p->stage = 0;
  }
  p->done = 1;
  p->t_done = now;
  return now;
}

/* ------------------------------------------------------------------ endpoints */

static int fo_ep_start(fo_client *c, fo_ep *e, uint64_t now) {
  const fo_opts *o = c->o;
  char path[2200];
  if (o->moq) {
    snprintf(path, sizeof(path), "%s/moq/%s", o->base_path, o->ch);
  } else {
    snprintf(path, sizeof(path), "%s/%s?ch=%s", o->base_path, e->kind == FO_K_PUB ? "pub" : "sub",
             o->ch);
  }
  if (e->kind == FO_K_PUB && o->group_hdr) {
    size_t n = strlen(path);
    snprintf(path + n, sizeof(path) - n, "&hdr=%u", o->group_hdr);
  }
  e->t_start = now;
  e->state = FO_EP_CONNECTING;
  if (e->kind == FO_K_LATE && c->pub.ep) {
    e->join_group_lo = fo_pub_group(c);
  }
  int r = wt_engine_connect(c->eng, &c->path, o->u.host, now, &e->wc);
  if (r < 0) {
    e->wc = NULL;
    e->state = FO_EP_FAILED;
    e->failed = 1;
    fo_error(c, "%s %u: connect: %s", e->kind == FO_K_PUB ? "pub" : "sub", e->index, wt_err_str(r));
    return r;
  }
  wt_conn_set_user(e->wc, e);
  static const char *const moq_protocols[] = {"moq-lite-04"};
  wt_session_opts so = {.protocols = moq_protocols, .n_protocols = o->moq ? 1 : 0};
  r = wt_conn_open_session_opts(e->wc, o->u.authority, path, &so, &e->ws);
  if (r < 0) {
    e->ws = NULL;
    e->state = FO_EP_FAILED;
    e->failed = 1;
    fo_error(c, "%s %u: open session: %s", e->kind == FO_K_PUB ? "pub" : "sub", e->index,
             wt_err_str(r));
    return r;
  }
  wt_session_set_user(e->ws, e);
  return 0;
}

static void fo_write_ready(fo_client *c) {
  if (c->ready_written || !c->o->ready_file) {
    return;
  }
  c->ready_written = 1;
  FILE *f = fopen(c->o->ready_file, "w");
  if (!f) {
    fo_error(c, "cannot write %s: %s", c->o->ready_file, strerror(errno));
    return;
  }
  fprintf(f, "%d\n", (int)getpid());
  fclose(f);
}

static void fo_finish(fo_client *c, uint64_t now) {
  c->finishing = 1;
  c->t_finish = now;
  c->t_end = now;
  fo_cpu_mark(c, 1);
  for (uint32_t i = 0; i < c->n_eps; i++) {
    fo_ep *e = &c->eps[i];
    e->closing = 1;
    if (e->wc) {
      wt_conn_close(e->wc, WT_H3_NO_ERROR); /* may run conn_close at once */
    }
  }
}

/* Connection pacing, late joiners, the publisher, and the end of the run. */
static uint64_t fo_tick(fo_client *c, uint64_t now) {
  const fo_opts *o = c->o;
  uint64_t wake = UINT64_MAX;
  fo_pub *p = &c->pub;
  /* late joiners: after half the messages */
  if (o->late && !c->late_started &&
      (p->ep ? p->idx >= o->count / 2 && p->t_first : c->max_idx_seen >= o->count / 2 + 1)) {
    c->late_started = 1;
  }
  uint32_t connecting = 0;
  for (uint32_t i = 0; i < c->n_eps; i++) {
    connecting += c->eps[i].state == FO_EP_CONNECTING;
  }
  for (uint32_t i = 0; i < c->n_eps && connecting < o->max_handshakes; i++) {
    fo_ep *e = &c->eps[i];
    if (e->state == FO_EP_IDLE && (e->kind != FO_K_LATE || c->late_started) &&
        (!o->moq || e->kind == FO_K_PUB || p->announced || !(o->role & FO_ROLE_PUB))) {
      connecting += fo_ep_start(c, e, now) == 0;
    }
  }
  /* ready: every initial endpoint answered */
  if (!c->t_ready) {
    int ready = 1;
    for (uint32_t i = 0; i < c->n_eps; i++) {
      const fo_ep *e = &c->eps[i];
      ready = ready &&
              (e->kind == FO_K_LATE || (e->state != FO_EP_IDLE && e->state != FO_EP_CONNECTING));
      /* --moq: and every subscription answered (or its session gone) */
      ready = ready && (!o->moq || e->kind != FO_K_SUB || e->msub_ok || e->state != FO_EP_OPEN);
    }
    ready = ready && (!o->moq || p->up_ok || !p->ep || p->ep->state != FO_EP_OPEN);
    if (ready) {
      c->t_ready = now;
      fo_write_ready(c);
    }
  }
  wake = fo_min(wake, fo_pub_pump(c, now));
  /* the end */
  uint64_t last_rx = 0;
  int subs_done = 1;
  for (uint32_t i = c->first_sub; i < c->n_eps; i++) {
    const fo_ep *e = &c->eps[i];
    last_rx = e->t_last_rx > last_rx ? e->t_last_rx : last_rx;
    subs_done = subs_done && (e->kind != FO_K_LATE || c->late_started) && fo_ep_finished(e);
  }
  uint64_t idle = o->idle_ms * FO_MS;
  int end = 0;
  if (p->ep) {
    int pub_gone = p->ep->state != FO_EP_OPEN && p->ep->state != FO_EP_CONNECTING &&
                   p->ep->state != FO_EP_IDLE;
    if (o->role == FO_ROLE_PUB) {
      if (pub_gone) {
        end = 1;
      } else if (p->done) {
        uint64_t t = p->t_done + o->linger_ms * FO_MS;
        end = p->streams_open == 0 && now >= t;
        wake = fo_min(wake, p->streams_open == 0 ? t : now + 10 * FO_MS);
      }
    } else if (pub_gone && c->t_ready) {
      end = 1;
    } else if (p->done) {
      uint64_t from = last_rx > p->t_done ? last_rx : p->t_done;
      end = subs_done || now >= from + idle;
      wake = fo_min(wake, from + idle);
    }
  } else {
    end = subs_done || (last_rx && now >= last_rx + idle);
    if (last_rx) {
      wake = fo_min(wake, last_rx + idle);
    }
  }
  if (end) {
    fo_finish(c, now);
    return now;
  }
  return wake;
}

/* ------------------------------------------------------------------ datapath */

static int fo_all_closed(const fo_client *c) {
  for (uint32_t i = 0; i < c->n_eps; i++) {
    if (c->eps[i].wc) {
      return 0;
    }
  }
  return 1;
}

int fo_run(fo_client *c) {
  if (wt_pump_init(&c->pump, c->eng, c->io, c->max_udp_payload) < 0) {
    fo_error(c, "out of memory");
    return WT_ERR_NOMEM;
  }
  c->pump.rx.local = &c->path.local;
  int rv = 0;
  uint64_t back_by = UINT64_MAX; /* when the last wait should have returned */
  for (;;) {
    uint64_t now = fo_now();
    if (back_by != UINT64_MAX && now > back_by + FO_STALL_NS) {
      /* We were stopped (SIGSTOP) or starved: restart the idle clocks so
       * the backlog can arrive before the run ends. */
      for (uint32_t i = 0; i < c->n_eps; i++) {
        if (c->eps[i].t_last_rx) {
          c->eps[i].t_last_rx = now;
        }
      }
      if (c->pub.done && c->pub.t_done) {
        c->pub.t_done = now;
      }
    }
    uint64_t wake = c->deadline;
    if (c->finishing) {
      if (fo_all_closed(c) || now >= c->t_finish + FO_CLOSE_WAIT_NS) {
        wt_pump_final_flush(&c->pump, now);
        break;
      }
      wake = c->t_finish + FO_CLOSE_WAIT_NS;
    } else if (now >= c->deadline) {
      c->timed_out = 1;
      fo_error(c, "timeout after %" PRIu64 " ms", c->o->timeout_ms);
      fo_finish(c, now);
      continue;
    } else {
      wake = fo_min(wake, fo_tick(c, now));
    }
    int ev = wt_pump_turn(&c->pump, wake, now);
    back_by = now + (uint64_t)c->pump.last_timeout;
    if (ev < 0) {
      fo_error(c, "wait failed: %s", wt_err_str(ev));
      rv = ev;
      break;
    }
  }
  if (!c->t_end) {
    c->t_end = fo_now();
  }
  wt_pump_free(&c->pump);
  return rv;
}

/* ------------------------------------------------------------------ setup */

int fo_setup(fo_client *c, const wt_engine_callbacks *cb) {
  const fo_opts *o = c->o;
  char err[200];
  int r = wt_pump_open_socket(&o->u.peer, o->io_backend, &c->io, &c->path.local, err, sizeof(err));
  if (r < 0) {
    fo_error(c, "%s", err);
    return r;
  }
  memcpy(&c->path.remote, &o->u.peer, sizeof(c->path.remote));
  wt_engine_config ec;
  wt_engine_config_default(&ec, 0);
  wt_trust_apply(&o->trust, &ec, 0);
  ec.max_datagram_queue = o->dgram_queue;
  ec.max_conns = c->n_eps + 16;
  ec.native_crypto = wt_engine_native_crypto_env(getenv("WTCAST_NATIVE_CRYPTO"));
  c->max_udp_payload = ec.max_udp_payload ? ec.max_udp_payload : 1452;
  r = wt_engine_new(&c->eng, &ec, cb, c, fo_now());
  if (r < 0) {
    c->eng = NULL;
    fo_error(c, "cannot create the engine: %s", wt_err_str(r));
    return r;
  }
  if (c->pub.ep) {
    c->pub.pre = o->moq ? wt_varint_len(o->size + FO_PREFIX) : 0;
    c->pub.buf = malloc(c->pub.pre + (size_t)o->size + FO_PREFIX);
    if (!c->pub.buf) {
      fo_error(c, "out of memory");
      return WT_ERR_NOMEM;
    }
  }
  return 0;
}

/* ------------------------------------------------------------------ callbacks */

static const char *fo_name(const fo_ep *e) {
  return e->kind == FO_K_PUB ? "pub" : e->kind == FO_K_SUB ? "sub" : "late";
}

/* --moq: write one message (after the Stream Kind varint when kind >= 0)
 * on a control stream; it is small and the stream new: all of it is taken. */
static int fo_moq_send(fo_ep *e, wt_stream *st, int64_t kind, const wt_moq_msg *m) {
  uint8_t buf[WT_MOQ_MAX_MSG + 16];
  size_t n = 0;
  if (kind >= 0) {
    buf[n++] = (uint8_t)kind;
  }
  int k = wt_moq_encode(m, WT_MOQ_LITE_04, buf + n, sizeof(buf) - n);
  int r = k < 0 ? k : wt_stream_write(st, buf, n + (size_t)k, 0);
  if (r < 0 || (size_t)r != n + (size_t)k) {
    fo_error(e->c, "%s %u: moq: cannot send message %d (%s)", fo_name(e), e->index, (int)m->type,
             r < 0 ? wt_err_str(r) : "short write");
    return -1;
  }
  return 0;
}

static wt_moq_str fo_moq_str(const char *s) {
  return (wt_moq_str){(const uint8_t *)s, strlen(s)};
}

/* --moq: the bytes of a control stream: a subscriber's answers on its
 * subscribe stream; the publisher's ANNOUNCE_PLEASE (answered with the
 * broadcast) and SUBSCRIBE (answered with SUBSCRIBE_OK) from the relay. */
static void fo_mctl_data(fo_mctl *m, wt_stream *st, const uint8_t *d, size_t len) {
  fo_ep *e = m->e;
  fo_client *c = e->c;
  while (len && !m->dead) {
    size_t used = 0;
    const char *why = "malformed";
    wt_moq_msg msg;
    int k;
    if (m->own) {
      k = wt_moq_read_msg(&m->rd, WT_MOQ_SUBSCRIBE_RESPONSE, d, len, &used, &msg, &why);
      if (k == 1 && msg.type == WT_MOQ_SUBSCRIBE_OK) {
        e->msub_ok = 1;
      } else if (k == 1) {
        e->failed = 1;
        fo_error(c, "%s %u: moq: SUBSCRIBE_DROP", fo_name(e), e->index);
      }
    } else if (!m->have_kind) {
      k = wt_moq_read_varint(&m->rd, d, len, &used, &m->kind);
      m->have_kind = k == 1;
      if (k == 1 && m->kind != WT_MOQ_KIND_ANNOUNCE && m->kind != WT_MOQ_KIND_SUBSCRIBE) {
        why = "unexpected stream kind";
        k = WT_ERR_MALFORMED;
      }
    } else if (m->kind == WT_MOQ_KIND_ANNOUNCE) {
      k = wt_moq_read_msg(&m->rd, WT_MOQ_ANNOUNCE_PLEASE, d, len, &used, &msg, &why);
      if (k == 1) {
        wt_moq_msg a = {.type = WT_MOQ_ANNOUNCE};
        a.u.announce.status = WT_MOQ_ANNOUNCE_ACTIVE;
        a.u.announce.suffix = fo_moq_str(FO_MOQ_BROADCAST);
        if (fo_moq_send(e, st, -1, &a) == 0) {
          c->pub.announced = 1;
          c->pub.t_announced = fo_now();
        }
        m->dead = 1; /* nothing else comes on it */
      }
    } else {
      k = wt_moq_read_msg(&m->rd, m->n ? WT_MOQ_SUBSCRIBE_UPDATE : WT_MOQ_SUBSCRIBE, d, len, &used,
                          &msg, &why);
      if (k == 1 && m->n++ == 0) {
        wt_moq_msg ok = {.type = WT_MOQ_SUBSCRIBE_OK};
        ok.u.update = msg.u.subscribe.p;
        c->pub.up_id = msg.u.subscribe.id;
        c->pub.up_ok = fo_moq_send(e, st, -1, &ok) == 0;
      }
    }
    if (k < 0) {
      fo_error(c, "%s %u: moq: %s", fo_name(e), e->index, why);
      m->dead = 1;
      break;
    }
    d += used;
    len -= used;
  }
}

static void cb_session_open(void *user, wt_session *ws) {
  fo_ep *e = wt_session_get_user(ws);
  if (!e) {
    return;
  }
  fo_client *c = e->c;
  e->state = FO_EP_OPEN;
  e->status = 200;
  e->t_open = fo_now();
  if (e->kind == FO_K_PUB) {
    int want = c->o->expect_status ? c->o->expect_status : 200;
    if (want != 200) {
      fo_error(c, "pub: accepted with 200, expected %d", want);
    }
    if ((c->o->transport & FO_TX_DGRAM) && wt_session_max_datagram(ws) < c->o->size) {
      fo_error(c, "pub: --size %" PRIu64 " exceeds the datagram limit %zu", c->o->size,
               wt_session_max_datagram(ws));
      c->pub.done = 1;
      c->pub.t_done = e->t_open;
    }
  }
  if (e->kind == FO_K_LATE && c->pub.ep) {
    e->have_join = 1;
    e->join_idx = c->pub.idx;
    e->join_group_hi = fo_pub_group(c);
  }
  if (c->o->moq && e->kind != FO_K_PUB) { /* SUBSCRIBE id 0 to b/t */
    wt_stream *st = NULL;
    fo_mctl *m = fo_mctl_new(e, 1);
    int r = m ? wt_session_open_stream(ws, 1, &st) : WT_ERR_NOMEM;
    if (r < 0) {
      if (m) {
        fo_mctl_del(m);
      }
      e->failed = 1;
      fo_error(c, "%s %u: moq: cannot open the subscribe stream: %s", fo_name(e), e->index,
               wt_err_str(r));
      return;
    }
    wt_stream_set_user(st, m);
    e->msub = st;
    wt_moq_msg sub = {.type = WT_MOQ_SUBSCRIBE};
    sub.u.subscribe.id = 0;
    sub.u.subscribe.broadcast = fo_moq_str(FO_MOQ_BROADCAST);
    sub.u.subscribe.track = fo_moq_str(FO_MOQ_TRACK);
    sub.u.subscribe.p.ordered = 1;
    if (fo_moq_send(e, st, WT_MOQ_KIND_SUBSCRIBE, &sub) < 0) {
      e->failed = 1;
    }
  }
}

static void cb_session_refused(void *user, wt_session *ws, int status) {
  fo_ep *e = wt_session_get_user(ws);
  if (!e) {
    return;
  }
  e->ws = NULL;
  e->state = FO_EP_REFUSED;
  e->status = status;
  int want = e->kind == FO_K_PUB && e->c->o->expect_status ? e->c->o->expect_status : 200;
  if (status != want) {
    e->failed = 1;
    fo_error(e->c, "%s %u: refused with status %d", fo_name(e), e->index, status);
  }
}

static void cb_session_close(void *user, wt_session *ws, uint32_t code, const uint8_t *reason,
                             size_t reason_len, int clean) {
  fo_ep *e = wt_session_get_user(ws);
  if (!e) {
    return;
  }
  wt_session_set_user(ws, NULL);
  e->ws = NULL;
  e->state = FO_EP_CLOSED;
  e->t_close = fo_now();
  if (!e->closing) {
    e->failed = 1;
    snprintf(e->err, sizeof(e->err), "session closed by the server (code %u, clean %d)", code,
             clean);
    fo_error(e->c, "%s %u: %s", fo_name(e), e->index, e->err);
  }
  if (e->kind == FO_K_PUB && e->c->pub.st) {
    e->c->pub.st = NULL;
  }
}

static void cb_stream_open(void *user, wt_session *ws, wt_stream *st) {
  fo_ep *e = wt_session_get_user(ws);
  int bidi = wt_stream_is_bidi(st);
  if (e && e->c->o->moq && bidi) {
    /* the relay's announce stream (to everyone) and subscribe (to the
     * publisher): the publisher answers, a subscriber leaves it be */
    fo_mctl *m = e->kind == FO_K_PUB ? fo_mctl_new(e, 0) : NULL;
    wt_stream_set_user(st, m ? &m->tag : &fo_ignored);
    return;
  }
  if (bidi) {
    wt_stream_write(st, NULL, 0, 1);
  }
  if (!e || e->kind == FO_K_PUB || bidi) {
    if (e) {
      e->unexpected++;
      fo_error(e->c, "%s %u: unexpected %s stream from the server", fo_name(e), e->index,
               bidi ? "bidi" : "uni");
    }
    wt_stream_stop_sending(st, 0);
    return;
  }
  fo_rx *r = fo_rx_new(e);
  if (r) {
    r->mstage = e->c->o->moq ? 0 : -1;
  }
  if (!r) {
    fo_error(e->c, "out of memory");
    wt_stream_stop_sending(st, 0);
    return;
  }
  wt_stream_set_user(st, r);
}

static void cb_stream_data(void *user, wt_stream *st, const uint8_t *data, size_t len, int fin) {
  fo_stag *tag = wt_stream_get_user(st);
  if (tag && tag->kind == 2 && ((fo_mctl *)tag)->e) {
    fo_mctl_data((fo_mctl *)tag, st, data, len);
    return;
  }
  if (!tag || tag->kind != 1) {
    return;
  }
  fo_rx *r = (fo_rx *)tag;
  if (r->e && r->mstage >= 0) {
    fo_rx_moq(r, data, len, fin, fo_now());
  } else if (r->e) {
    fo_rx_data(r, data, len, fin, fo_now());
  }
}

static void cb_stream_reset(void *user, wt_stream *st, uint32_t code, int has_code) {
  fo_stag *tag = wt_stream_get_user(st);
  if (tag && tag->kind == 2) {
    fo_mctl *m = (fo_mctl *)tag;
    if (m->e && !m->e->closing) {
      m->e->failed = m->e->failed || m->own;
      fo_error(m->e->c, "%s %u: moq: the relay reset a control stream (code 0x%x)", fo_name(m->e),
               m->e->index, code);
    }
    return;
  }
  if (!tag || tag->kind != 1) {
    return;
  }
  fo_rx *r = (fo_rx *)tag;
  fo_ep *e = r->e;
  if (!e || r->ended) {
    return;
  }
  r->ended = 1;
  e->t_last_rx = fo_now();
  if (has_code && code == FO_CODE_LAGGED) {
    e->groups_reset_lagged++;
    if (r->epoch) {
      e->groups_reset_lagged_hdr++; /* the relay kept the group header: we know the group */
      if (r->nrec == 0 && r->rpos == FO_HDR) {
        e->groups_reset_lagged_only++; /* nothing after it (e.g. a lag notice, wt_app.h) */
      }
    }
  } else if (has_code && code == FO_CODE_GONE) {
    e->groups_reset_gone++;
  } else {
    e->groups_reset_other++;
  }
  if (r->nrec == 0 && r->hlen == 0) {
    e->groups_reset_empty++;
  }
  if (!r->bad) {
    fo_rx_group_done(r, 0);
    fo_check_complete(e);
  }
}

static void cb_stream_stop(void *user, wt_stream *st, uint32_t code, int has_code) {
  fo_stag *tag = wt_stream_get_user(st);
  if (tag && tag->kind == 0) {
    fo_ep *e = (fo_ep *)((char *)tag - offsetof(fo_ep, pub_tag));
    e->c->pub.streams_stopped++;
    fo_error(e->c, "pub: STOP_SENDING from the server (code %s%u)", has_code ? "" : "none/", code);
  }
}

static void cb_stream_writable(void *user, wt_stream *st) {
  fo_stag *tag = wt_stream_get_user(st);
  if (tag && tag->kind == 0) {
    fo_ep *e = (fo_ep *)((char *)tag - offsetof(fo_ep, pub_tag));
    e->c->pub.blocked = 0;
  }
}

static void cb_stream_close(void *user, wt_stream *st) {
  fo_stag *tag = wt_stream_get_user(st);
  if (!tag) {
    return;
  }
  wt_stream_set_user(st, NULL);
  if (tag->kind == 2) {
    fo_mctl *m = (fo_mctl *)tag;
    if (m->e && m->e->msub == st) {
      m->e->msub = NULL;
    }
    fo_mctl_del(m);
    return;
  }
  if (tag->kind == 3) {
    return;
  }
  if (tag->kind == 0) {
    fo_ep *e = (fo_ep *)((char *)tag - offsetof(fo_ep, pub_tag));
    fo_pub *p = &e->c->pub;
    p->streams_open--;
    if (p->st == st) {
      p->st = NULL;
      p->blocked = 0;
      if (!p->done && !e->closing) {
        fo_error(e->c, "pub: group stream closed before its FIN");
      }
    }
    return;
  }
  fo_rx_del((fo_rx *)tag);
}

static void cb_datagram(void *user, wt_session *ws, const uint8_t *data, size_t len) {
  fo_ep *e = wt_session_get_user(ws);
  if (!e) {
    return;
  }
  if (e->kind == FO_K_PUB) {
    e->unexpected++;
    fo_error(e->c, "pub: unexpected datagram from the server");
    return;
  }
  fo_dg_rx(e, data, len, fo_now());
}

static void cb_conn_close(void *user, wt_conn *wc, uint64_t error_code, int is_app) {
  fo_ep *e = wt_conn_get_user(wc);
  if (!e) {
    return;
  }
  wt_conn_set_user(wc, NULL);
  e->wc = NULL;
  if (e->ws) {
    e->ws = NULL;
  }
  if (e->state == FO_EP_CONNECTING || e->state == FO_EP_OPEN) {
    if (!e->closing) {
      e->failed = 1;
      fo_error(e->c, "%s %u: connection closed (error 0x%" PRIx64 "%s)", fo_name(e), e->index,
               error_code, is_app ? ", application" : "");
    }
    e->state = e->state == FO_EP_CONNECTING ? FO_EP_FAILED : FO_EP_CLOSED;
  }
  if (e->kind == FO_K_PUB) {
    e->c->pub.st = NULL;
  }
}

void fo_callbacks(wt_engine_callbacks *cb) {
  memset(cb, 0, sizeof(*cb));
  cb->session_open = cb_session_open;
  cb->session_close = cb_session_close;
  cb->session_refused = cb_session_refused;
  cb->stream_open = cb_stream_open;
  cb->stream_data = cb_stream_data;
  cb->stream_reset = cb_stream_reset;
  cb->stream_stop = cb_stream_stop;
  cb->stream_writable = cb_stream_writable;
  cb->stream_close = cb_stream_close;
  cb->datagram = cb_datagram;
  cb->conn_close = cb_conn_close;
}
