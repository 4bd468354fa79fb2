/* ops.c: the engine callbacks of wtcast-client and the operations it runs
 * on each session (stream echo, download, upload, datagrams, pushed
 * streams, close). See client.h for who owns what. */
#define WT_LOG_MODULE "client"

#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "wt_capsule.h"
#include "wt_errmap.h"
#include "wt_log.h"
#include "wt_testhook.h"
#include "wt_varint.h"

/* Fixed seeds, so every run sends the same bytes. */
#define CL_SEED_BIDI   UINT64_C(0x9e3779b97f4a7c15)
#define CL_SEED_UPLOAD UINT64_C(0xd1b54a32d192ed03)
#define CL_SEED_UNI    UINT64_C(0x8cb92ba72f3d8dd7)

#define CL_PUSH_BIDI_TEXT "server-bidi-hello"
#define CL_PUSH_UNI_TEXT  "server-uni-hello"

#define CL_DG_SIZE     64                   /* bytes per datagram (less if the path allows less) */
#define CL_DG_HDR      12                   /* "wtdg" + u32 sequence + u32 session index */
#define CL_DG_BURST    16                   /* datagrams per pacing tick */
#define CL_DG_TICK_NS  1000000              /* one burst per millisecond */
#define CL_DG_WINDOW   128                  /* unanswered datagrams before we wait... */
#define CL_DG_STALL_NS 20000000             /* ...for at most this long */
#define CL_DG_QUIET_NS 500000000            /* after the last send: how long to wait for echoes */
#define CL_RETRY_NS    1000000              /* retry a stream open refused for lack of credit */
#define CL_INJ_WAIT_NS UINT64_C(5000000000) /* how long the server has to answer an injection */
#define CL_INJ_PAYLOAD "zzz"                /* sent after the malformed stream header */

/* ------------------------------------------------------------------ patterns */

void cl_pat_init_text(cl_pat *p, const char *text) {
  memset(p, 0, sizeof(*p));
  p->kind = CL_PAT_TEXT;
  p->text = (const uint8_t *)text;
}

void cl_pat_init_xorshift(cl_pat *p, uint64_t seed) {
  memset(p, 0, sizeof(*p));
  p->kind = CL_PAT_XORSHIFT;
  p->seed = seed;
  p->state = seed ? seed : 1;
}

/* i % 251 for i in [0, 251 + CL_SCRATCH): the bytes from any stream offset
 * o on, CL_SCRATCH at a time, are cl_mod251_tab + o % 251. */
static uint8_t cl_mod251_tab[251 + CL_SCRATCH];
static int cl_mod251_ready;

void cl_pat_init_mod251(cl_pat *p) {
  memset(p, 0, sizeof(*p));
  p->kind = CL_PAT_MOD251;
  if (!cl_mod251_ready) {
    for (size_t i = 0; i < sizeof(cl_mod251_tab); i++) {
      cl_mod251_tab[i] = (uint8_t)(i % 251);
    }
    cl_mod251_ready = 1;
  }
}

/* xorshift64 (Marsaglia 2003, shifts 13/7/17). */
static uint64_t cl_xorshift(uint64_t *s) {
  uint64_t x = *s;
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  *s = x;
  return x;
}

static void cl_put_le64(uint8_t *out, uint64_t w) {
  for (int i = 0; i < 8; i++) {
    out[i] = (uint8_t)(w >> (8 * i));
  }
}

void cl_pat_fill(cl_pat *p, uint8_t *out, size_t n) {
  switch (p->kind) {
  case CL_PAT_TEXT:
    memcpy(out, p->text + p->pos, n);
    p->pos += n;
    break;
  case CL_PAT_MOD251:
    while (n > 0) {
      size_t k = n < CL_SCRATCH ? n : CL_SCRATCH;
      memcpy(out, cl_mod251_tab + p->pos % 251, k);
      out += k;
      n -= k;
      p->pos += k;
    }
    break;
  case CL_PAT_XORSHIFT:
    while (n > 0) {
      if ((p->pos & 7) == 0) {
        uint64_t w = cl_xorshift(&p->state);
        if (n >= 8) { /* whole words straight to the output */
          cl_put_le64(out, w);
          out += 8;
          n -= 8;
          p->pos += 8;
          continue;
        }
        cl_put_le64(p->word, w);
      }
      *out++ = p->word[p->pos & 7];
      p->pos++;
      n--;
    }
    break;
  default: /* unreachable: kinds are set by the init functions only */
    memset(out, 0, n);
    break;
  }
}

/* Index of the first byte where a and b differ (they are known to differ). */
static size_t cl_first_diff(const uint8_t *a, const uint8_t *b, size_t n) {
  size_t i = 0;
  while (i < n && a[i] == b[i]) {
    i++;
  }
  return i;
}

size_t cl_pat_verify(cl_pat *p, const uint8_t *data, size_t n, uint8_t *scratch) {
  size_t bad = n;
  switch (p->kind) {
  case CL_PAT_TEXT:
    if (memcmp(p->text + p->pos, data, n) != 0) {
      bad = cl_first_diff(p->text + p->pos, data, n);
    }
    p->pos += n;
    break;
  case CL_PAT_MOD251:
    for (size_t done = 0; done < n;) {
      size_t k = n - done < CL_SCRATCH ? n - done : CL_SCRATCH;
      const uint8_t *want = cl_mod251_tab + (p->pos + done) % 251;
      if (memcmp(want, data + done, k) != 0) {
        bad = done + cl_first_diff(want, data + done, k);
        break;
      }
      done += k;
    }
    p->pos += n;
    break;
  default: /* XORSHIFT: sequential, generated 8 bytes per step */
    for (size_t done = 0; done < n;) {
      size_t k = n - done < CL_SCRATCH ? n - done : CL_SCRATCH;
      cl_pat_fill(p, scratch, k);
      if (bad == n && memcmp(scratch, data + done, k) != 0) {
        bad = done + cl_first_diff(scratch, data + done, k);
      }
      done += k;
    }
    break;
  }
  return bad;
}

/* ------------------------------------------------------------------ stream hash */

#define CL_HASH_SEED UINT64_C(0xcbf29ce484222325)
#define CL_HASH_MUL  UINT64_C(0x9fb21c651e98df25) /* odd: the multiply is a bijection */

static uint64_t cl_get_le64(const uint8_t *p) {
  uint64_t w;
  memcpy(&w, p, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
  w = __builtin_bswap64(w);
#endif
  return w;
}

/* One word into the state. For a fixed h it is a bijection of w, and for a
 * fixed w a bijection of h, so a single corrupted word always changes the
 * final value. */
static inline uint64_t cl_hash_word(uint64_t h, uint64_t w) {
  h = (h ^ w) * CL_HASH_MUL;
  return h ^ (h >> 29);
}

void cl_hash_init(cl_hash *x) {
  memset(x, 0, sizeof(*x));
  x->h = CL_HASH_SEED;
}

void cl_hash_update(cl_hash *x, const uint8_t *p, size_t n) {
  size_t have = (size_t)(x->len & 7);
  x->len += n;
  if (have) { /* complete the carried word first */
    size_t take = 8 - have < n ? 8 - have : n;
    memcpy(x->carry + have, p, take);
    p += take;
    n -= take;
    if (have + take < 8) {
      return;
    }
    x->h = cl_hash_word(x->h, cl_get_le64(x->carry));
  }
  uint64_t h = x->h;
  for (; n >= 8; p += 8, n -= 8) {
    h = cl_hash_word(h, cl_get_le64(p));
  }
  x->h = h;
  if (n) {
    memcpy(x->carry, p, n);
  }
}

uint64_t cl_hash_final(const cl_hash *x) {
  uint64_t h = x->h;
  size_t rest = (size_t)(x->len & 7);
  if (rest) { /* zero-padded; the length below tells the padding apart */
    uint8_t last[8] = {0};
    memcpy(last, x->carry, rest);
    h = cl_hash_word(h, cl_get_le64(last));
  }
  h ^= x->len;
  h ^= h >> 33; /* fmix64 (MurmurHash3) */
  h *= UINT64_C(0xff51afd7ed558ccd);
  h ^= h >> 33;
  h *= UINT64_C(0xc4ceb9fe1a85ec53);
  h ^= h >> 33;
  return h;
}

/* ------------------------------------------------------------------ stream refs */

/* Every cl_sref is on this list until freed, so the ones whose stream never
 * saw stream_close (connection torn down) are freed at exit. */
typedef struct cl_sref_node {
  struct cl_sref_node *prev, *next;
  cl_sref ref;
} cl_sref_node;

static cl_sref_node cl_srefs = {&cl_srefs, &cl_srefs, {0}};

static cl_sref *cl_sref_new(cl_session *s) {
  cl_sref_node *n = calloc(1, sizeof(*n));
  if (!n) {
    return NULL;
  }
  n->next = &cl_srefs;
  n->prev = cl_srefs.prev;
  cl_srefs.prev->next = n;
  cl_srefs.prev = n;
  n->ref.sess = s;
  return &n->ref;
}

static void cl_sref_del(cl_sref *r) {
  cl_sref_node *n = (cl_sref_node *)((char *)r - offsetof(cl_sref_node, ref));
  n->prev->next = n->next;
  n->next->prev = n->prev;
  free(n);
}

void cl_srefs_orphan_all(void) {
  for (cl_sref_node *n = cl_srefs.next; n != &cl_srefs; n = n->next) {
    n->ref.sess = NULL;
    n->ref.op = NULL;
    n->ref.inject = 0;
  }
}

void cl_srefs_free_all(void) {
  while (cl_srefs.next != &cl_srefs) {
    cl_sref_del(&cl_srefs.next->ref);
  }
}

/* ------------------------------------------------------------------ operations */

static void cl_op_fail(cl_op *op, uint64_t now, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void cl_op_fail(cl_op *op, uint64_t now, const char *fmt, ...) {
  if (op->done) {
    return;
  }
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(op->err, sizeof(op->err), fmt, ap);
  va_end(ap);
  op->done = 1;
  op->ok = 0;
  op->t_end = now;
  cl_session *s = op->sess;
  cl_error(s->cl, "conn %u session %u %s: %s", s->conn->index, s->index, op->name, op->err);
}

/* An op is done when everything it sends was accepted with FIN (and, for an
 * upload, the stream closed: the peer has it all) and everything it expects
 * arrived with FIN. */
static void cl_op_check(cl_op *op, uint64_t now) {
  if (op->done) {
    return;
  }
  int tx_ok = !op->tx_local || (op->tx_fin && (op->expect_rx || op->tx_closed));
  int rx_ok = !op->expect_rx || op->rx_fin;
  if (op->expect_rx && op->rx_fin && op->rx_off != op->rx_total) {
    cl_op_fail(op, now, "FIN after %" PRIu64 " of %" PRIu64 " bytes", op->rx_off, op->rx_total);
    return;
  }
  if (!tx_ok || !rx_ok) {
    return;
  }
  op->done = 1;
  op->t_end = now;
  op->ok = op->mismatch_at < 0 && op->tx_off == op->tx_total;
  if (op->expect_rx) {
    op->ok = op->ok && op->rx_off == op->rx_total;
  }
  if (op->tx_local && op->expect_rx) { /* echoes: both directions hash alike */
    op->ok = op->ok && cl_hash_final(&op->tx_hash) == cl_hash_final(&op->rx_hash);
  }
  if (!op->ok) {
    if (op->mismatch_at >= 0) {
      snprintf(op->err, sizeof(op->err), "data differs from offset %" PRId64, op->mismatch_at);
    } else {
      snprintf(op->err, sizeof(op->err), "hash or length mismatch");
    }
    cl_session *s = op->sess;
    cl_error(s->cl, "conn %u session %u %s: %s", s->conn->index, s->index, op->name, op->err);
  }
}

/* Write as much as the stream takes. */
static void cl_op_pump(cl_op *op, uint64_t now) {
  cl_client *c = op->sess->cl;
  while (!op->done && op->tx_st && !op->tx_fin && !op->tx_blocked) {
    if (op->tx_buf_off == op->tx_buf_len && op->tx_off < op->tx_total) {
      uint64_t left = op->tx_total - op->tx_off;
      size_t n = left < CL_TX_CHUNK ? (size_t)left : CL_TX_CHUNK;
      cl_pat_fill(&op->tx_pat, op->tx_buf, n);
      op->tx_buf_off = 0;
      op->tx_buf_len = n;
    }
    size_t len = op->tx_buf_len - op->tx_buf_off;
    int fin = op->tx_off + len == op->tx_total;
    int r = wt_stream_write(op->tx_st, op->tx_buf + op->tx_buf_off, len, fin);
    if (r == WT_ERR_AGAIN) {
      op->tx_blocked = 1;
      break;
    }
    if (r < 0) {
      cl_op_fail(op, now, "stream write: %s", wt_err_str(r));
      break;
    }
    cl_hash_update(&op->tx_hash, op->tx_buf + op->tx_buf_off, (size_t)r);
    op->tx_buf_off += (size_t)r;
    op->tx_off += (uint64_t)r;
    c->bytes_sent += (uint64_t)r;
    if ((size_t)r == len && fin) {
      op->tx_fin = 1;
      cl_op_check(op, now);
    }
  }
}

/* Verify received bytes against the expected pattern. */
static void cl_op_rx(cl_op *op, const uint8_t *data, size_t len, int fin, uint64_t now) {
  cl_client *c = op->sess->cl;
  if (op->done) {
    return;
  }
  if (!op->t_first_rx) {
    op->t_first_rx = now;
  }
  c->bytes_received += len;
  if (op->rx_keep && op->rx_keep_len < CL_ECHO_KEEP) {
    size_t k = len < CL_ECHO_KEEP - op->rx_keep_len ? len : CL_ECHO_KEEP - op->rx_keep_len;
    memcpy(op->rx_keep + op->rx_keep_len, data, k);
    op->rx_keep_len += k;
  }
  cl_hash_update(&op->rx_hash, data, len);
  size_t in_range = len;
  if (op->rx_off + len > op->rx_total) {
    in_range = (size_t)(op->rx_total - op->rx_off);
  }
  if (in_range > 0 && op->mismatch_at < 0) {
    size_t bad = cl_pat_verify(&op->rx_pat, data, in_range, c->scratch);
    if (bad < in_range) {
      op->mismatch_at = (int64_t)(op->rx_off + bad);
    }
  }
  op->rx_off += len;
  if (op->rx_off > op->rx_total) {
    cl_op_fail(op, now, "received %" PRIu64 " bytes, more than the %" PRIu64 " expected",
               op->rx_off, op->rx_total);
    return;
  }
  if (fin) {
    op->rx_fin = 1;
  }
  cl_op_check(op, now);
}

static void cl_op_start(cl_op *op, uint64_t now) {
  cl_session *s = op->sess;
  wt_stream *st = NULL;
  int r = wt_session_open_stream(s->ws, op->tx_bidi, &st);
  if (r == WT_ERR_AGAIN) {
    return; /* no stream credit yet: the tick retries */
  }
  op->started = 1;
  op->t_start = now;
  if (r < 0) {
    cl_op_fail(op, now, "open stream: %s", wt_err_str(r));
    return;
  }
  cl_sref *ref = cl_sref_new(s);
  if (!ref) {
    wt_stream_reset(st, 0);
    cl_op_fail(op, now, "out of memory");
    return;
  }
  ref->op = op;
  ref->bidi = op->tx_bidi;
  ref->tx_role = 1;
  ref->rx_role = op->tx_bidi;
  ref->classified = 1;
  wt_stream_set_user(st, ref);
  op->tx_st = st;
  if (op->tx_bidi) {
    op->rx_st = st;
  }
  cl_op_pump(op, now);
}

static void cl_op_init(cl_op *op, cl_session *s, const char *name) {
  memset(op, 0, sizeof(*op));
  op->name = name;
  op->sess = s;
  cl_hash_init(&op->tx_hash);
  cl_hash_init(&op->rx_hash);
  op->mismatch_at = -1;
}

const char *const cl_op_names[CL_OP_N] = {"echo", "bidi_bytes", "download", "upload",
                                          "uni",  "push_bidi",  "push_uni"};

int cl_session_setup(cl_session *s) {
  const cl_opts *o = s->cl->o;
  for (int i = 0; i < CL_OP_N; i++) {
    cl_op_init(&s->ops[i], s, cl_op_names[i]);
  }
  memset(&s->inj, 0, sizeof(s->inj));
  memset(&s->dg, 0, sizeof(s->dg));
  if (o->inject != CL_INJ_NONE && s->index == o->sessions - 1) {
    /* The injecting session runs no operation of its own. */
    s->inj.kind = o->inject;
    s->inj.stream_id = -1;
    s->inj.expected_code = o->inject == CL_INJ_STREAM_HEADER ? (uint64_t)WT_H3_ID_ERROR
                           : o->inject == CL_INJ_FC_OVERRUN  ? (uint64_t)WT_FLOW_CONTROL_ERROR
                                                             : (uint64_t)WT_H3_MESSAGE_ERROR;
    return 0;
  }
  cl_op *op = &s->ops[CL_OP_ECHO];
  if (o->echo_text) {
    op->active = op->tx_local = op->tx_bidi = op->expect_rx = 1;
    op->tx_total = op->rx_total = strlen(o->echo_text);
    cl_pat_init_text(&op->tx_pat, o->echo_text);
    cl_pat_init_text(&op->rx_pat, o->echo_text);
    op->rx_keep = malloc(CL_ECHO_KEEP);
    if (!op->rx_keep) {
      return WT_ERR_NOMEM;
    }
  }
  op = &s->ops[CL_OP_BIDI];
  if (o->bidi_bytes >= 0) {
    op->active = op->tx_local = op->tx_bidi = op->expect_rx = 1;
    op->tx_total = op->rx_total = (uint64_t)o->bidi_bytes;
    cl_pat_init_xorshift(&op->tx_pat, CL_SEED_BIDI);
    cl_pat_init_xorshift(&op->rx_pat, CL_SEED_BIDI);
  }
  op = &s->ops[CL_OP_DOWNLOAD];
  if (o->download >= 0) {
    op->active = op->rx_peer = op->expect_rx = 1;
    op->rx_total = (uint64_t)o->download;
    cl_pat_init_mod251(&op->rx_pat);
  }
  op = &s->ops[CL_OP_UPLOAD];
  if (o->upload >= 0) {
    op->active = op->tx_local = 1;
    op->tx_total = (uint64_t)o->upload;
    cl_pat_init_xorshift(&op->tx_pat, CL_SEED_UPLOAD);
  }
  op = &s->ops[CL_OP_UNI];
  if (o->uni >= 0) {
    op->active = op->tx_local = op->rx_peer = op->expect_rx = 1;
    op->tx_total = op->rx_total = (uint64_t)o->uni;
    cl_pat_init_xorshift(&op->tx_pat, CL_SEED_UNI);
    cl_pat_init_xorshift(&op->rx_pat, CL_SEED_UNI);
  }
  if (o->expect_push) {
    op = &s->ops[CL_OP_PUSH_BIDI];
    op->active = op->rx_peer = op->rx_peer_bidi = op->expect_rx = 1;
    op->rx_total = strlen(CL_PUSH_BIDI_TEXT);
    cl_pat_init_text(&op->rx_pat, CL_PUSH_BIDI_TEXT);
    op = &s->ops[CL_OP_PUSH_UNI];
    op->active = op->rx_peer = op->expect_rx = 1;
    op->rx_total = strlen(CL_PUSH_UNI_TEXT);
    cl_pat_init_text(&op->rx_pat, CL_PUSH_UNI_TEXT);
  }
  for (int i = 0; i < CL_OP_N; i++) {
    op = &s->ops[i];
    if (op->active && op->tx_local) {
      op->tx_buf = malloc(CL_TX_CHUNK);
      if (!op->tx_buf) {
        return WT_ERR_NOMEM;
      }
    }
  }
  memset(&s->dp, 0, sizeof(s->dp));
  if (o->dgram_rtt || o->dgram_rate) {
    cl_dprobe *p = &s->dp;
    p->mode = o->dgram_rtt ? CL_DP_RTT : CL_DP_RATE;
    p->n = o->dgram_rtt ? o->dgram_rtt : o->dgram_rate;
    p->size = (size_t)o->dgram_size;
    p->buf = malloc(p->size);
    p->want = malloc(p->size);
    if (p->mode == CL_DP_RTT) {
      p->rtt_ns = malloc(p->n * sizeof(*p->rtt_ns));
    } else {
      p->seen = calloc(p->n, 1);
    }
    if (!p->buf || !p->want || (!p->rtt_ns && !p->seen)) {
      return WT_ERR_NOMEM;
    }
  }
  if (o->datagrams >= 0) {
    s->dg.active = 1;
    s->dg.n = (uint64_t)o->datagrams;
    s->dg.seen = calloc(s->dg.n ? s->dg.n : 1, 1);
    if (!s->dg.seen) {
      return WT_ERR_NOMEM;
    }
  }
  return 0;
}

void cl_session_free(cl_session *s) {
  for (int i = 0; i < CL_OP_N; i++) {
    free(s->ops[i].tx_buf);
    free(s->ops[i].rx_keep);
    s->ops[i].tx_buf = NULL;
    s->ops[i].rx_keep = NULL;
  }
  free(s->dg.seen);
  s->dg.seen = NULL;
  free(s->dp.buf);
  free(s->dp.want);
  free(s->dp.seen);
  free(s->dp.rtt_ns);
  s->dp.buf = s->dp.want = s->dp.seen = NULL;
  s->dp.rtt_ns = NULL;
  free(s->close_reason);
  s->close_reason = NULL;
}

/* ------------------------------------------------------------------ datagrams */

static void cl_put_be32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24);
  p[1] = (uint8_t)(v >> 16);
  p[2] = (uint8_t)(v >> 8);
  p[3] = (uint8_t)v;
}

static uint32_t cl_get_be32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Payload of datagram seq: "wtdg", seq, session index, then a fill that
 * depends on seq, so a payload mixed up with another one is noticed. */
static void cl_dg_build_magic(const cl_session *s, const char *magic, uint64_t seq, uint8_t *out,
                              size_t size) {
  memcpy(out, magic, 4);
  cl_put_be32(out + 4, (uint32_t)seq);
  cl_put_be32(out + 8, s->index);
  for (size_t i = CL_DG_HDR; i < size; i++) {
    out[i] = (uint8_t)(seq * 31 + i);
  }
}

static void cl_dg_build(const cl_session *s, uint64_t seq, uint8_t *out, size_t size) {
  cl_dg_build_magic(s, "wtdg", seq, out, size);
}

static void cl_dg_fail(cl_session *s, uint64_t now, const char *why) {
  cl_dgram *d = &s->dg;
  if (d->done) {
    return;
  }
  snprintf(d->err, sizeof(d->err), "%s", why);
  d->done = 1;
  d->ok = 0;
  cl_error(s->cl, "conn %u session %u datagrams: %s", s->conn->index, s->index, why);
  (void)now;
}

static void cl_dg_finish(cl_session *s) {
  cl_dgram *d = &s->dg;
  if (d->done) {
    return;
  }
  d->done = 1;
  d->ok = d->sent == d->n && d->bad == 0 && d->dup == 0 && (d->n == 0 || d->received > 0);
  if (!d->ok) {
    snprintf(d->err, sizeof(d->err),
             "sent %" PRIu64 "/%" PRIu64 ", received %" PRIu64 ", bad %" PRIu64 ", dup %" PRIu64,
             d->sent, d->n, d->received, d->bad, d->dup);
    cl_error(s->cl, "conn %u session %u datagrams: %s", s->conn->index, s->index, d->err);
  }
}

/* Send the next burst when its time has come. Returns when to come back. */
static uint64_t cl_dg_pump(cl_session *s, uint64_t now) {
  cl_dgram *d = &s->dg;
  if (!d->active || d->done) {
    return UINT64_MAX;
  }
  if (!d->t_start) {
    d->t_start = now;
    size_t max = wt_session_max_datagram(s->ws);
    d->size = max < CL_DG_SIZE ? max : CL_DG_SIZE;
    if (d->n > 0 && d->size < CL_DG_HDR) {
      cl_dg_fail(s, now, "datagrams not available on this session");
      return UINT64_MAX;
    }
  }
  if (d->sent < d->n && now >= d->next_send) {
    uint64_t last = d->t_last_rx > d->t_last_send ? d->t_last_rx : d->t_last_send;
    uint8_t buf[CL_DG_SIZE];
    for (int i = 0; i < CL_DG_BURST && d->sent < d->n; i++) {
      if (d->sent - d->received >= CL_DG_WINDOW && now - last < CL_DG_STALL_NS) {
        break; /* let the echoes catch up */
      }
      cl_dg_build(s, d->sent, buf, d->size);
      int r = wt_session_send_datagram(s->ws, buf, d->size);
      if (r == WT_ERR_AGAIN) {
        break; /* queue full: this one was dropped, send it again next tick */
      }
      if (r < 0) {
        char why[96];
        snprintf(why, sizeof(why), "send datagram: %s", wt_err_str(r));
        cl_dg_fail(s, now, why);
        return UINT64_MAX;
      }
      d->sent++;
      d->t_last_send = now;
    }
    d->next_send = now + CL_DG_TICK_NS;
  }
  if (d->sent < d->n) {
    return d->next_send;
  }
  uint64_t last = d->t_last_rx > d->t_last_send ? d->t_last_rx : d->t_last_send;
  if (d->received == d->n || now >= last + CL_DG_QUIET_NS) {
    cl_dg_finish(s);
    return UINT64_MAX;
  }
  return last + CL_DG_QUIET_NS;
}

static void cl_dg_rx(cl_session *s, const uint8_t *data, size_t len, uint64_t now) {
  cl_dgram *d = &s->dg;
  s->cl->bytes_received += len;
  if (!d->active) {
    d->bad++;
    return;
  }
  d->t_last_rx = now;
  uint8_t want[CL_DG_SIZE];
  if (len != d->size || len < CL_DG_HDR || memcmp(data, "wtdg", 4) != 0) {
    d->bad++;
    return;
  }
  uint64_t seq = cl_get_be32(data + 4);
  if (seq >= d->sent) {
    d->bad++;
    return;
  }
  cl_dg_build(s, seq, want, d->size);
  if (memcmp(want, data, len) != 0) {
    d->bad++;
  } else if (d->seen[seq]) {
    d->dup++;
  } else {
    d->seen[seq] = 1;
    d->received++;
  }
}

/* ------------------------------------------------------------------ datagram RTT / rate */

#define CL_DP_MAGIC    "wtrt"
#define CL_DP_STALL_NS UINT64_C(20000000)  /* RATE: window full this long: give up on it */
#define CL_DP_QUIET_NS UINT64_C(200000000) /* RATE: after the last send/echo: wait for echoes */

static void cl_dp_end(cl_session *s, const char *why) {
  cl_dprobe *p = &s->dp;
  if (p->done) {
    return;
  }
  p->done = 1;
  p->ok = !why && p->sent == p->n && p->bad == 0 && p->dup == 0 && p->received > 0;
  if (!p->ok) {
    if (why) {
      snprintf(p->err, sizeof(p->err), "%s", why);
    } else {
      snprintf(p->err, sizeof(p->err),
               "sent %" PRIu64 "/%" PRIu64 ", received %" PRIu64 ", bad %" PRIu64 ", dup %" PRIu64,
               p->sent, p->n, p->received, p->bad, p->dup);
    }
    cl_error(s->cl, "conn %u session %u %s: %s", s->conn->index, s->index,
             p->mode == CL_DP_RTT ? "dgram_rtt" : "dgram_rate", p->err);
  }
}

/* Queue datagram p->sent. Returns 1 sent, 0 queue full, -1 failed. */
static int cl_dp_send(cl_session *s, uint64_t now) {
  cl_dprobe *p = &s->dp;
  cl_dg_build_magic(s, CL_DP_MAGIC, p->sent, p->buf, p->size);
  uint64_t t = cl_now();
  int r = wt_session_send_datagram(s->ws, p->buf, p->size);
  if (r == WT_ERR_AGAIN) {
    return 0;
  }
  if (r < 0) {
    char why[96];
    snprintf(why, sizeof(why), "send datagram: %s", wt_err_str(r));
    cl_dp_end(s, why);
    return -1;
  }
  if (!p->t_first_send) {
    p->t_first_send = t;
  }
  p->t_sent = p->t_last_send = t;
  p->sent++;
  s->cl->bytes_sent += p->size;
  (void)now;
  return 1;
}

static uint64_t cl_dp_pump(cl_session *s, uint64_t now) {
  cl_dprobe *p = &s->dp;
  if (p->mode == CL_DP_OFF || p->done) {
    return UINT64_MAX;
  }
  if (!p->started) {
    p->started = 1;
    size_t max = wt_session_max_datagram(s->ws);
    if (max < p->size) {
      char why[128];
      snprintf(why, sizeof(why), "datagrams of %zu bytes do not fit (the session allows %zu)",
               p->size, max);
      cl_dp_end(s, why);
      return UINT64_MAX;
    }
  }
  if (p->mode == CL_DP_RTT) {
    if (p->waiting && now < p->deadline) {
      return p->deadline;
    }
    p->waiting = 0; /* answered, or timed out (lost) */
    if (p->sent == p->n) {
      cl_dp_end(s, NULL);
      return UINT64_MAX;
    }
    int r = cl_dp_send(s, now);
    if (r < 0) {
      return UINT64_MAX;
    }
    if (r == 0) {
      return now + CL_RETRY_NS;
    }
    p->waiting = 1;
    p->deadline = p->t_sent + CL_DP_RTT_TIMEOUT_NS;
    return p->deadline;
  }
  /* RATE */
  for (;;) {
    uint64_t out = p->sent - p->received;
    out = out > p->written_off ? out - p->written_off : 0;
    if (p->sent == p->n) {
      break;
    }
    if (out >= CL_DP_WINDOW) {
      uint64_t last = p->t_progress > p->t_last_send ? p->t_progress : p->t_last_send;
      if (now < last + CL_DP_STALL_NS) {
        return last + CL_DP_STALL_NS; /* an echo wakes us earlier */
      }
      p->written_off += out; /* no echo for a while: count those as lost */
      p->t_progress = now;
      continue;
    }
    int r = cl_dp_send(s, now);
    if (r < 0) {
      return UINT64_MAX;
    }
    if (r == 0) {
      return now; /* queue full: the loop writes it out, then we go on */
    }
  }
  uint64_t last = p->t_last_rx > p->t_last_send ? p->t_last_rx : p->t_last_send;
  if (p->received == p->n || now >= last + CL_DP_QUIET_NS) {
    cl_dp_end(s, NULL);
    return UINT64_MAX;
  }
  return last + CL_DP_QUIET_NS;
}

static void cl_dp_rx(cl_session *s, const uint8_t *data, size_t len, uint64_t now) {
  cl_dprobe *p = &s->dp;
  s->cl->bytes_received += len;
  if (p->done) {
    return; /* e.g. --hold echoes */
  }
  if (len != p->size || memcmp(data, CL_DP_MAGIC, 4) != 0) {
    p->bad++;
    return;
  }
  uint64_t seq = cl_get_be32(data + 4);
  if (seq >= p->sent) {
    p->bad++;
    return;
  }
  cl_dg_build_magic(s, CL_DP_MAGIC, seq, p->want, p->size);
  if (memcmp(p->want, data, len) != 0) {
    p->bad++;
    return;
  }
  if (p->mode == CL_DP_RTT) {
    if (p->waiting && seq == p->sent - 1) {
      p->rtt_ns[p->received++] = now - p->t_sent;
      p->waiting = 0;
      p->t_last_rx = now;
    } else {
      p->late++; /* after its timeout, or a duplicate */
    }
    return;
  }
  if (p->seen[seq]) {
    p->dup++;
    return;
  }
  p->seen[seq] = 1;
  p->received++;
  p->t_last_rx = p->t_progress = now;
}

/* ------------------------------------------------------------------ fault injection */

const char *const cl_inject_names[] = {"none", "stream-header", "capsule", "capsule-utf8",
                                       "fc-overrun"};

static void cl_inj_fail(cl_session *s, uint64_t now, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void cl_inj_fail(cl_session *s, uint64_t now, const char *fmt, ...) {
  cl_inject *in = &s->inj;
  if (in->done) {
    return;
  }
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(in->err, sizeof(in->err), fmt, ap);
  va_end(ap);
  in->done = 1;
  in->ok = 0;
  cl_error(s->cl, "conn %u session %u inject %s: %s", s->conn->index, s->index,
           cl_inject_names[in->kind], in->err);
  (void)now;
}

/* Record the raw HTTP/3 code the server answered with (engine API:
 * wt_stream_peer_reset_code / wt_stream_peer_stop_code /
 * wt_session_reset_code); UINT64_MAX = none. The first one wins. */
static void cl_inj_code(cl_session *s, uint64_t code, int how) {
  cl_inject *in = &s->inj;
  if (code != UINT64_MAX && !in->have_code) {
    in->have_code = 1;
    in->code = code;
    in->code_how = how;
  }
}

/* The server's answer is complete: judge it. */
static void cl_inj_judge(cl_session *s, uint64_t now, int answered, const char *what) {
  cl_inject *in = &s->inj;
  if (in->done) {
    return;
  }
  if (!answered) {
    cl_inj_fail(s, now, "%s", what);
    return;
  }
  if (!in->have_code) {
    cl_inj_fail(s, now, "%s, but no error code was recorded", what);
    return;
  }
  if (in->code != in->expected_code) {
    cl_inj_fail(s, now, "%s with code 0x%" PRIx64 ", expected 0x%" PRIx64, what, in->code,
                in->expected_code);
    return;
  }
  in->done = 1;
  in->ok = 1;
}

static int cl_inj_start(cl_session *s, uint64_t now) {
  cl_inject *in = &s->inj;
  uint8_t *p = in->sent;
  int r;
  switch (in->kind) {
  case CL_INJ_STREAM_HEADER: {
    /* Signal 0x41, then a Session ID that is not a client-initiated bidi
     * stream ID (draft-ietf-webtrans-http3 section 4.2): H3_ID_ERROR. */
    p = wt_varint_put(p, 0x41);
    p = wt_varint_put(p, s->session_id + 1);
    in->sent_len = (size_t)(p - in->sent);
    wt_stream *st = NULL;
    r = wt_testhook_open_raw_stream(s->ws, 1, in->sent, in->sent_len, &st);
    if (r == WT_ERR_AGAIN) {
      return 0; /* no stream credit yet */
    }
    if (r < 0) {
      in->started = 1;
      cl_inj_fail(s, now, "open raw stream: %s", wt_err_str(r));
      return 1;
    }
    cl_sref *ref = cl_sref_new(s);
    if (!ref) {
      wt_stream_reset(st, 0);
      in->started = 1;
      cl_inj_fail(s, now, "out of memory");
      return 1;
    }
    ref->inject = 1;
    ref->bidi = 1;
    ref->classified = 1;
    wt_stream_set_user(st, ref);
    in->st = st;
    in->stream_id = (int64_t)wt_stream_id(st);
    wt_stream_write(st, (const uint8_t *)CL_INJ_PAYLOAD, strlen(CL_INJ_PAYLOAD), 1);
    break;
  }
  case CL_INJ_CAPSULE:
  case CL_INJ_CAPSULE_UTF8: {
    /* CLOSE_WEBTRANSPORT_SESSION: too short for its u32 code, or a reason
     * that is not UTF-8 (RFC 9297 section 3.3: H3_MESSAGE_ERROR). */
    int utf8 = in->kind == CL_INJ_CAPSULE_UTF8;
    static const uint8_t bad_short[2] = {0, 0};
    static const uint8_t bad_utf8[6] = {0, 0, 0, 7, 0xff, 0xfe};
    const uint8_t *v = utf8 ? bad_utf8 : bad_short;
    size_t vlen = utf8 ? sizeof(bad_utf8) : sizeof(bad_short);
    int n = wt_capsule_encode_header(in->sent, sizeof(in->sent), WT_CAPSULE_CLOSE_SESSION, vlen);
    if (n < 0 || (size_t)n + vlen > sizeof(in->sent)) {
      in->started = 1;
      cl_inj_fail(s, now, "cannot encode the capsule");
      return 1;
    }
    memcpy(in->sent + n, v, vlen);
    in->sent_len = (size_t)n + vlen;
    in->stream_id = (int64_t)s->session_id;
    r = wt_testhook_send_raw_capsule(s->ws, in->sent, in->sent_len);
    if (r < 0) {
      in->started = 1;
      cl_inj_fail(s, now, "send raw capsule: %s", wt_err_str(r));
      return 1;
    }
    break;
  }
  case CL_INJ_FC_OVERRUN: {
    /* Send as if the server had granted everything (draft-16 section 5):
     * it must reset the session with WT_FLOW_CONTROL_ERROR. */
    r = wt_testhook_ignore_flow_control(s->ws);
    if (r < 0) {
      in->started = 1;
      cl_inj_fail(s, now, "flow control is off for this session (--wt-draft 14|16): %s",
                  wt_err_str(r));
      return 1;
    }
    static uint8_t junk[4096];
    in->stream_id = (int64_t)s->session_id;
    for (int i = 0; i < 3 && s->ws; i++) {
      wt_stream *st = NULL;
      if (wt_session_open_stream(s->ws, 0, &st) == 0) {
        wt_stream_write(st, junk, sizeof(junk), 1);
      }
    }
    break;
  }
  default:
    in->started = 1;
    cl_inj_fail(s, now, "unknown kind");
    return 1;
  }
  in->started = 1;
  in->t_start = now;
  in->deadline = now + CL_INJ_WAIT_NS;
  return 1;
}

/* The injecting session's turn. */
static uint64_t cl_inj_tick(cl_session *s, uint64_t now) {
  cl_inject *in = &s->inj;
  if (!in->started && !cl_inj_start(s, now)) {
    return now + CL_RETRY_NS;
  }
  if (!in->done && now >= in->deadline) {
    cl_inj_fail(s, now, "no answer from the server within %u ms",
                (unsigned)(CL_INJ_WAIT_NS / 1000000));
  }
  if (in->done) {
    s->ops_done = 1;
    s->finished = 1;
    return UINT64_MAX;
  }
  return in->deadline;
}

/* ------------------------------------------------------------------ sessions */

static int cl_session_ops_done(const cl_session *s) {
  for (int i = 0; i < CL_OP_N; i++) {
    if (s->ops[i].active && !s->ops[i].done) {
      return 0;
    }
  }
  return (!s->dg.active || s->dg.done) && (s->dp.mode == CL_DP_OFF || s->dp.done);
}

void cl_session_abort(cl_session *s, const char *why) {
  uint64_t now = cl_now();
  if (s->inj.kind && !s->inj.done) {
    cl_inj_fail(s, now, "%s", why);
  }
  for (int i = 0; i < CL_OP_N; i++) {
    cl_op *op = &s->ops[i];
    if (op->active && !op->done) {
      cl_op_fail(op, now, "%s (sent %" PRIu64 "/%" PRIu64 ", received %" PRIu64 "/%" PRIu64 ")",
                 why, op->tx_off, op->tx_total, op->rx_off, op->rx_total);
    }
  }
  if (s->dg.active && !s->dg.done) {
    if (s->dg.sent == s->dg.n && s->dg.received > 0) {
      cl_dg_finish(s); /* echoes still in flight are just lost ones */
    } else {
      cl_dg_fail(s, now, why);
    }
  }
  if (s->dp.mode != CL_DP_OFF && !s->dp.done) {
    s->dp.waiting = 0; /* one still in flight is a lost one */
    cl_dp_end(s, s->dp.sent == s->dp.n && s->dp.received > 0 ? NULL : why);
  }
  s->ops_done = 1;
}

uint64_t cl_session_tick(cl_session *s, uint64_t now) {
  const cl_opts *o = s->cl->o;
  uint64_t wake = UINT64_MAX;
  if (s->finished || s->state != CL_SS_OPEN || !s->ws) {
    return wake;
  }
  if (s->inj.kind) {
    return cl_inj_tick(s, now);
  }
  if (!s->ops_done) {
    for (int i = 0; i < CL_OP_N; i++) {
      cl_op *op = &s->ops[i];
      if (!op->active || op->done || !op->tx_local) {
        continue;
      }
      if (!op->started) {
        cl_op_start(op, now);
        if (!op->started) {
          wake = now + CL_RETRY_NS;
        }
      } else if (!op->tx_blocked) {
        cl_op_pump(op, now);
      }
    }
    uint64_t w = cl_dg_pump(s, now);
    wake = w < wake ? w : wake;
    w = cl_dp_pump(s, now);
    wake = w < wake ? w : wake;
    s->ops_done = cl_session_ops_done(s);
  }
  if (!s->ops_done || !s->ws) {
    return wake;
  }
  if (o->have_close && !s->close_sent) {
    s->close_sent = 1;
    s->t_close_sent = now;
    int r = wt_session_close(s->ws, o->close_code, (const uint8_t *)o->close_reason,
                             strlen(o->close_reason));
    if (r < 0) {
      cl_error(s->cl, "conn %u session %u: close: %s", s->conn->index, s->index, wt_err_str(r));
      s->finished = 1;
    }
    return wake; /* session_close follows (maybe it already ran) */
  }
  if (!s->close_sent && !o->wait_close) {
    s->finished = 1;
  }
  return wake;
}

int cl_session_ok(const cl_session *s) {
  const cl_opts *o = s->cl->o;
  if (s->status != 200) {
    return 0;
  }
  if (s->inj.kind) {
    return s->inj.done && s->inj.ok;
  }
  for (int i = 0; i < CL_OP_N; i++) {
    if (s->ops[i].active && !(s->ops[i].done && s->ops[i].ok)) {
      return 0;
    }
  }
  if (s->dg.active && !(s->dg.done && s->dg.ok)) {
    return 0;
  }
  if (s->dp.mode != CL_DP_OFF && !(s->dp.done && s->dp.ok)) {
    return 0;
  }
  if (o->have_close && !(s->close_sent && s->closed && !s->closed_by_server)) {
    return 0;
  }
  if (o->wait_close && !o->have_close && !(s->closed && s->closed_by_server)) {
    return 0;
  }
  return 1;
}

/* ------------------------------------------------------------------ callbacks */

static void cb_session_open(void *user, wt_session *ws) {
  cl_session *s = wt_session_get_user(ws);
  if (!s) {
    return;
  }
  uint64_t now = cl_now();
  s->state = CL_SS_OPEN;
  s->status = 200;
  s->t_reply = now;
  s->session_id = wt_session_id(ws);
  if (!s->conn->t_first_reply) {
    s->conn->t_first_reply = now;
  }
  WT_LOG_DEBUG("conn %u session %u (id %" PRIu64 ") open", s->conn->index, s->index, s->session_id);
  cl_session_protocol(s, ws);
  cl_session_tick(s, now);
}

static void cb_session_refused(void *user, wt_session *ws, int status) {
  cl_session *s = wt_session_get_user(ws);
  if (!s) {
    return;
  }
  uint64_t now = cl_now();
  s->ws = NULL;
  s->state = CL_SS_REFUSED;
  s->status = status;
  s->t_reply = now;
  s->finished = 1;
  if (status && !s->conn->t_first_reply) { /* a reset is no reply: the handshake may have failed */
    s->conn->t_first_reply = now;
  }
  if (status) {
    cl_error(s->cl, "conn %u session %u: refused with status %d", s->conn->index, s->index, status);
  } else {
    cl_error(s->cl, "conn %u session %u: CONNECT stream reset before a reply", s->conn->index,
             s->index);
  }
  cl_session_abort(s, "session refused");
}

static void cb_session_close(void *user, wt_session *ws, uint32_t code, const uint8_t *reason,
                             size_t reason_len, int clean) {
  cl_session *s = wt_session_get_user(ws);
  if (!s) {
    return;
  }
  wt_session_set_user(ws, NULL);
  s->ws = NULL;
  s->closed = 1;
  s->state = CL_SS_CLOSED;
  s->close_code = code;
  s->close_clean = clean;
  /* Ours if we sent a CLOSE capsule or closed the whole connection. */
  s->closed_by_server = !s->close_sent && !s->conn->closed_by_us;
  free(s->close_reason);
  s->close_reason = malloc(reason_len + 1);
  if (s->close_reason) {
    if (reason_len) {
      memcpy(s->close_reason, reason, reason_len);
    }
    s->close_reason[reason_len] = '\0';
    s->close_reason_len = reason_len;
  }
  WT_LOG_DEBUG("conn %u session %u closed (%s, clean %d): code %u", s->conn->index, s->index,
               s->closed_by_server ? "by server" : "by us", clean, code);
  if (s->inj.kind && s->inj.started && !s->inj.done) {
    uint64_t now = cl_now();
    s->inj.session_closed = 1;
    s->inj.session_clean = clean;
    s->inj.session_code = code;
    if (s->inj.kind == CL_INJ_STREAM_HEADER) {
      cl_inj_fail(s, now, "the session ended before the stream was answered");
    } else {
      cl_inj_code(s, wt_session_reset_code(ws), CL_CODE_CONNECT_RESET);
      cl_inj_judge(s, now, !clean && s->closed_by_server,
                   clean ? "the session was closed cleanly" : "session reset by the server");
    }
  }
  if (!s->ops_done) {
    cl_session_abort(s, s->closed_by_server ? "session closed by the server" : "session closed");
  }
  s->finished = 1;
}

static void cb_session_drain(void *user, wt_session *ws) {
  cl_session *s = wt_session_get_user(ws);
  if (s) {
    s->drained = 1;
    WT_LOG_INFO("conn %u session %u: drain requested by the server", s->conn->index, s->index);
  }
}

/* Which operation a peer-initiated stream belongs to, from its first bytes.
 * Returns NULL with *wait set when more bytes are needed to decide. */
static cl_op *cl_classify(cl_sref *ref, int fin, int *wait) {
  cl_session *s = ref->sess;
  cl_op *first = NULL;
  *wait = 0;
  for (int i = 0; i < CL_OP_N; i++) {
    cl_op *op = &s->ops[i];
    if (!op->active || !op->rx_peer || op->rx_assigned || op->rx_peer_bidi != ref->bidi ||
        op->done) {
      continue;
    }
    if (!first) {
      first = op;
    }
    size_t k = op->rx_total < sizeof(ref->pre) ? (size_t)op->rx_total : sizeof(ref->pre);
    size_t m = ref->pre_len < k ? ref->pre_len : k;
    uint8_t want[sizeof(ref->pre)];
    cl_pat probe = op->rx_pat; /* a copy: the op's own generator stays at 0 */
    cl_pat_fill(&probe, want, m);
    if (memcmp(want, ref->pre, m) != 0) {
      continue;
    }
    if (ref->pre_len >= k || fin) {
      return op;
    }
    *wait = 1;
  }
  if (*wait) {
    return NULL;
  }
  return first; /* nothing matches: let the first candidate report the mismatch */
}

static void cb_stream_open(void *user, wt_session *ws, wt_stream *st) {
  cl_session *s = wt_session_get_user(ws);
  if (!s) {
    wt_stream_stop_sending(st, 0);
    return;
  }
  cl_sref *ref = cl_sref_new(s);
  if (!ref) {
    wt_stream_stop_sending(st, 0);
    return;
  }
  ref->peer = 1;
  ref->bidi = wt_stream_is_bidi(st);
  wt_stream_set_user(st, ref);
  if (ref->bidi) {
    wt_stream_write(st, NULL, 0, 1); /* we never answer on server bidi streams */
  }
}

static void cb_stream_data(void *user, wt_stream *st, const uint8_t *data, size_t len, int fin) {
  cl_sref *ref = wt_stream_get_user(st);
  if (!ref || !ref->sess) {
    return;
  }
  uint64_t now = cl_now();
  if (!ref->classified) {
    size_t take = sizeof(ref->pre) - ref->pre_len;
    take = take < len ? take : len;
    memcpy(ref->pre + ref->pre_len, data, take);
    ref->pre_len += take;
    data += take;
    len -= take;
    int wait;
    cl_op *op = cl_classify(ref, fin && len == 0, &wait);
    if (wait) {
      return; /* len is 0 here: pre is not full */
    }
    ref->classified = 1;
    if (!op) {
      ref->sess->unexpected_streams++;
      WT_LOG_INFO("conn %u session %u: ignoring unexpected server stream %" PRIu64,
                  ref->sess->conn->index, ref->sess->index, wt_stream_id(st));
      return;
    }
    ref->op = op;
    ref->rx_role = 1;
    op->rx_st = st;
    op->rx_assigned = 1;
    if (!op->started) {
      op->started = 1;
      /* from the 200 on; a stream may overtake the reply (then: now) */
      op->t_start = ref->sess->t_reply ? ref->sess->t_reply : now;
    }
    cl_op_rx(op, ref->pre, ref->pre_len, fin && len == 0, now);
    if (len == 0) {
      return;
    }
  }
  if (ref->op && ref->rx_role) {
    cl_op_rx(ref->op, data, len, fin, now);
  }
}

static void cb_stream_reset(void *user, wt_stream *st, uint32_t code, int has_code) {
  cl_sref *ref = wt_stream_get_user(st);
  if (ref && ref->inject) {
    ref->sess->inj.reset_seen = 1;
    ref->sess->inj.reset_has_app = has_code;
    ref->sess->inj.reset_app = code;
    cl_inj_code(ref->sess, wt_stream_peer_reset_code(st), CL_CODE_RESET_STREAM);
    return;
  }
  if (ref && ref->op && ref->rx_role) {
    cl_op_fail(ref->op, cl_now(), "stream reset by the server (code %s%u)", has_code ? "" : "none/",
               code);
  }
}

static void cb_stream_stop(void *user, wt_stream *st, uint32_t code, int has_code) {
  cl_sref *ref = wt_stream_get_user(st);
  if (ref && ref->inject) {
    ref->sess->inj.stop_seen = 1;
    return;
  }
  if (ref && ref->op && ref->tx_role && !ref->op->tx_fin) {
    cl_op_fail(ref->op, cl_now(), "STOP_SENDING from the server (code %s%u)",
               has_code ? "" : "none/", code);
  }
}

static void cb_stream_writable(void *user, wt_stream *st) {
  cl_sref *ref = wt_stream_get_user(st);
  if (ref && ref->op && ref->tx_role) {
    ref->op->tx_blocked = 0;
    cl_op_pump(ref->op, cl_now());
  }
}

static void cb_stream_close(void *user, wt_stream *st) {
  cl_sref *ref = wt_stream_get_user(st);
  if (!ref) {
    return;
  }
  wt_stream_set_user(st, NULL);
  if (ref->inject) {
    cl_session *s = ref->sess;
    cl_inject *in = &s->inj;
    in->st = NULL;
    in->session_open_after = s->state == CL_SS_OPEN && s->ws != NULL;
    cl_inj_code(s, wt_stream_peer_reset_code(st), CL_CODE_RESET_STREAM);
    cl_inj_code(s, wt_stream_peer_stop_code(st), CL_CODE_STOP_SENDING);
    if (!in->session_open_after) {
      cl_inj_fail(s, cl_now(), "the session ended with the stream");
    } else {
      cl_inj_judge(s, cl_now(), in->reset_seen || in->stop_seen || in->have_code,
                   in->reset_seen ? "stream reset by the server" : "stream ended without a reset");
    }
    cl_sref_del(ref);
    return;
  }
  cl_op *op = ref->op;
  if (op) {
    uint64_t now = cl_now();
    if (ref->tx_role && op->tx_st == st) {
      op->tx_st = NULL;
      op->tx_closed = 1;
    }
    if (ref->rx_role && op->rx_st == st) {
      op->rx_st = NULL;
    }
    cl_op_check(op, now);
    if (!op->done && ref->rx_role && !op->rx_fin) {
      cl_op_fail(op, now, "stream closed before FIN (%" PRIu64 " of %" PRIu64 " bytes)", op->rx_off,
                 op->rx_total);
    } else if (!op->done && ref->tx_role && !op->tx_fin) {
      cl_op_fail(op, now, "stream closed after %" PRIu64 " of %" PRIu64 " bytes were sent",
                 op->tx_off, op->tx_total);
    }
  }
  cl_sref_del(ref);
}

static void cb_datagram(void *user, wt_session *ws, const uint8_t *data, size_t len) {
  cl_session *s = wt_session_get_user(ws);
  if (s) {
    if (s->dp.mode != CL_DP_OFF) {
      cl_dp_rx(s, data, len, cl_now());
    } else {
      cl_dg_rx(s, data, len, cl_now());
    }
  }
}

/* A few words on a CONNECTION_CLOSE code, for the error list. */
static void cl_describe_close(char *buf, size_t cap, uint64_t code, int is_app) {
  static const struct {
    uint64_t code;
    const char *name;
  } transport[] = {
      {0x0, "NO_ERROR"},
      {0x1, "INTERNAL_ERROR"},
      {0x2, "CONNECTION_REFUSED"},
      {0x3, "FLOW_CONTROL_ERROR"},
      {0x4, "STREAM_LIMIT_ERROR"},
      {0x7, "FRAME_ENCODING_ERROR"},
      {0x8, "TRANSPORT_PARAMETER_ERROR"},
      {0xa, "PROTOCOL_VIOLATION"},
  };
  static const struct {
    unsigned alert;
    const char *name;
  } alerts[] = {
      {40, "handshake_failure"},       {42, "bad_certificate"},
      {43, "unsupported_certificate"}, {45, "certificate_expired"},
      {46, "certificate_unknown"},     {48, "unknown_ca"},
      {80, "internal_error"},          {120, "no_application_protocol"},
  };
  const char *name = NULL;
  if (is_app) {
    snprintf(buf, cap, "application error 0x%" PRIx64 "%s", code,
             code == WT_H3_NO_ERROR ? " (H3_NO_ERROR)" : "");
    return;
  }
  if (code >= 0x100 && code <= 0x1ff) { /* RFC 9001 section 4.8: CRYPTO_ERROR = 0x100 + alert */
    unsigned alert = (unsigned)(code - 0x100);
    for (size_t i = 0; i < sizeof(alerts) / sizeof(alerts[0]); i++) {
      name = alerts[i].alert == alert ? alerts[i].name : name;
    }
    snprintf(buf, cap, "TLS handshake failed: alert %u (%s), transport error 0x%" PRIx64, alert,
             name ? name : "see RFC 8446 section 6", code);
    return;
  }
  for (size_t i = 0; i < sizeof(transport) / sizeof(transport[0]); i++) {
    name = transport[i].code == code ? transport[i].name : name;
  }
  snprintf(buf, cap, "transport error 0x%" PRIx64 "%s%s%s", code, name ? " (" : "",
           name ? name : "", name ? ")" : "");
}

static void cb_conn_close(void *user, wt_conn *wc, uint64_t error_code, int is_app) {
  cl_conn *cn = wt_conn_get_user(wc);
  if (!cn) {
    return;
  }
  wt_conn_set_user(wc, NULL);
  cn->wc = NULL;
  cn->conn_closed = 1;
  cn->close_error = error_code;
  cn->close_is_app = is_app;
  cn->stateless_reset = wt_conn_stateless_reset(wc);
  cn->t_close = cl_now();
  if (cn->state == CL_CS_HOLD) {
    /* --hold watches how the connection ends: reported, not an error */
    cn->closed_in_hold = 1;
    return;
  }
  int lost = 0;
  for (uint32_t i = 0; i < cn->n_sess; i++) {
    cl_session *s = &cn->sess[i];
    if (s->finished) {
      continue;
    }
    lost = 1;
    if (s->state == CL_SS_PENDING) {
      s->state = CL_SS_FAILED;
    }
    s->ws = NULL;
    cl_session_abort(s, "connection closed");
    s->finished = 1;
  }
  if (lost || (!cn->closed_by_us && !(is_app && error_code == WT_H3_NO_ERROR))) {
    char why[160];
    cl_describe_close(why, sizeof(why), error_code, is_app);
    cl_error(cn->cl, "conn %u: connection closed: %s%s", cn->index, why,
             lost ? ", while sessions were still running" : "");
  }
}

void cl_callbacks(wt_engine_callbacks *cb) {
  memset(cb, 0, sizeof(*cb));
  cb->session_open = cb_session_open;
  cb->session_close = cb_session_close;
  cb->session_drain = cb_session_drain;
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
