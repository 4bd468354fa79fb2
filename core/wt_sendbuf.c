/* wt_sendbuf.c: chunked send buffer with stable addresses, owned (copied)
 * and external (referenced) chunks. */
#include "wt_sendbuf.h"

#include <stdlib.h>
#include <string.h>

#include "wt_error.h"

#define CHUNK_MIN 4096
#define CHUNK_MAX 65536

struct wt_sendbuf_chunk {
  wt_ref ref; /* first: an external chunk is queued and freed as its wt_ref */
  wt_sendbuf_chunk *next;
  size_t cap, len;
  uint8_t *ptr; /* the bytes: data[] (owned) or the caller's (external) */
  uint8_t ext;  /* external: ref describes the caller's buffer */
  /* attributed to the buffer's acct: held_own bytes this module allocated
   * (charged to the budget too), held_ref referenced bytes (the owner of
   * the referenced memory charged the budget) */
  size_t held_own, held_ref;
  uint8_t data[];
};

/* ------------------------------------------------------------ release queue */

void wt_relq_push(wt_relq *q, wt_ref *r) {
  r->next = NULL;
  if (q->tail) {
    q->tail->next = r;
  } else {
    q->head = r;
  }
  q->tail = r;
}

void wt_relq_run(wt_relq *q) {
  if (q->running) {
    return; /* inside a release: the outer loop takes what was queued */
  }
  q->running = 1;
  while (q->head) {
    wt_ref *r = q->head;
    q->head = r->next;
    if (q->head == NULL) {
      q->tail = NULL;
    }
    if (r->release) {
      q->released++;
      r->release(r->arg, r->data, r->len);
    }
    if (r->pool) {
      wt_pool_put(r->pool, r);
    } else {
      free(r);
    }
  }
  q->running = 0;
}

/* ------------------------------------------------------------ chunks */

static void chunk_count(wt_sendbuf *b, wt_sendbuf_chunk *c) {
  wt_mem_acct_add(b->acct, c->held_own, 1);
  wt_mem_acct_add(b->acct, c->held_ref, 0);
}

static void chunk_free(wt_sendbuf *b, wt_sendbuf_chunk *c) {
  wt_mem_acct_sub(b->acct, c->held_own, 1);
  wt_mem_acct_sub(b->acct, c->held_ref, 0);
  b->n_chunks--;
  if (c->ext && c->ref.release) {
    if (b->rq) {
      wt_relq_push(b->rq, &c->ref);
      return;
    }
    c->ref.release(c->ref.arg, c->ref.data, c->ref.len);
  }
  free(c);
}

/* The tail is open while appends may still fill it (owned, not full). */
static int chunk_open(const wt_sendbuf *b, const wt_sendbuf_chunk *c) {
  return c == b->tail && !c->ext && c->len < c->cap;
}

void wt_sendbuf_init(wt_sendbuf *b) {
  memset(b, 0, sizeof(*b));
}

void wt_sendbuf_free(wt_sendbuf *b) {
  wt_relq *rq = b->rq;
  wt_mem_acct *acct = b->acct;
  wt_sendbuf_chunk *c = b->head;
  while (c) {
    wt_sendbuf_chunk *n = c->next;
    chunk_free(b, c);
    c = n;
  }
  wt_sendbuf_init(b);
  b->rq = rq;
  b->acct = acct;
}

/* Link the chunk list first..last after the tail. */
static void link_chunks(wt_sendbuf *b, wt_sendbuf_chunk *first, wt_sendbuf_chunk *last) {
  for (wt_sendbuf_chunk *c = first; c; c = c->next) {
    b->n_chunks++;
  }
  if (b->tail) {
    b->tail->next = first;
  } else {
    b->head = first;
    b->head_base = b->end;
  }
  if (b->cur == NULL) {
    b->cur = first;
    b->cur_off = 0;
  }
  b->tail = last;
}

int wt_sendbuf_append(wt_sendbuf *b, const uint8_t *data, size_t len) {
  size_t done = 0;
  /* Allocate all chunks first so a failure adds nothing. */
  size_t room = b->tail && chunk_open(b, b->tail) ? b->tail->cap - b->tail->len : 0;
  wt_sendbuf_chunk *first_new = NULL, *last_new = NULL;
  if (len > room) {
    size_t need = len - room;
    while (need > 0) {
      size_t cap = need < CHUNK_MIN ? CHUNK_MIN : (need > CHUNK_MAX ? CHUNK_MAX : need);
      wt_sendbuf_chunk *c = malloc(sizeof(*c) + cap);
      if (c == NULL) {
        while (first_new) {
          wt_sendbuf_chunk *n = first_new->next;
          free(first_new);
          first_new = n;
        }
        return WT_ERR_NOMEM;
      }
      memset(c, 0, sizeof(*c));
      c->cap = cap;
      c->ptr = c->data;
      c->held_own = sizeof(*c) + cap;
      if (last_new) {
        last_new->next = c;
      } else {
        first_new = c;
      }
      last_new = c;
      need -= cap < need ? cap : need;
    }
  }
  if (room > 0 && len > 0) {
    size_t n = len < room ? len : room;
    memcpy(b->tail->ptr + b->tail->len, data, n);
    if (b->cur == NULL) {
      b->cur = b->tail;
      b->cur_off = b->tail->len;
    }
    b->tail->len += n;
    done = n;
  }
  for (wt_sendbuf_chunk *c = first_new; c; c = c->next) {
    chunk_count(b, c);
    size_t n = len - done < c->cap ? len - done : c->cap;
    memcpy(c->data, data + done, n);
    c->len = n;
    done += n;
  }
  if (first_new) {
    link_chunks(b, first_new, last_new);
  }
  b->end += len;
  return 0;
}

int wt_sendbuf_append_ref(wt_sendbuf *b, const uint8_t *data, size_t len, wt_release_fn release,
                          void *arg) {
  if (len == 0 || data == NULL) {
    return WT_ERR_INVAL;
  }
  wt_sendbuf_chunk *c = malloc(sizeof(*c));
  if (c == NULL) {
    return WT_ERR_NOMEM;
  }
  memset(c, 0, sizeof(*c));
  c->ext = 1;
  c->ref.release = release;
  c->ref.arg = arg;
  c->ref.data = data;
  c->ref.len = len;
  c->ptr = (uint8_t *)data; /* read only: handed to ngtcp2 as an iovec */
  c->cap = c->len = len;
  c->held_own = sizeof(*c);
  c->held_ref = len;
  chunk_count(b, c);
  link_chunks(b, c, c);
  b->end += len;
  return 0;
}

int wt_sendbuf_append_ref_join(wt_sendbuf *b, const uint8_t *data, size_t len,
                               wt_release_fn release, void *arg) {
  wt_sendbuf_chunk *t = b->tail;
  if (len == 0 || data == NULL || t == NULL || !t->ext || t->ref.release != release ||
      t->ref.arg != arg || t->len != t->ref.len || t->ptr + t->len != data ||
      t->len > SIZE_MAX - len) {
    return wt_sendbuf_append_ref(b, data, len, release, arg);
  }
  if (b->cur == NULL) {
    /* everything before was handed to the QUIC stack: sending resumes here */
    b->cur = t;
    b->cur_off = t->len;
  }
  t->len += len;
  t->cap = t->len;
  t->ref.len = t->len;
  t->held_ref += len; /* attributed as it is held (released with the chunk) */
  wt_mem_acct_add(b->acct, len, 0);
  b->end += len;
  return 1;
}

size_t wt_sendbuf_peek(const wt_sendbuf *b, wt_iov *iov, size_t max, size_t max_bytes) {
  size_t n = 0;
  const wt_sendbuf_chunk *c = b->cur;
  size_t off = b->cur_off;
  while (c && n < max && max_bytes > 0) {
    size_t avail = c->len - off;
    if (avail > 0) {
      if (avail > max_bytes) {
        avail = max_bytes;
      }
      iov[n].base = c->ptr + off;
      iov[n].len = avail;
      n++;
      max_bytes -= avail;
    }
    c = c->next;
    off = 0;
  }
  return n;
}

void wt_sendbuf_consume(wt_sendbuf *b, size_t n) {
  if (n > b->end - b->sent) {
    n = (size_t)(b->end - b->sent);
  }
  b->sent += n;
  while (n > 0 && b->cur) {
    size_t avail = b->cur->len - b->cur_off;
    if (n < avail) {
      b->cur_off += n;
      n = 0;
      break;
    }
    n -= avail;
    b->cur_off += avail;
    if (b->cur->next) {
      b->cur = b->cur->next;
      b->cur_off = 0;
    } else {
      break;
    }
  }
  if (b->sent == b->end && b->cur && b->cur_off == b->cur->len && !chunk_open(b, b->cur)) {
    /* Closed chunk fully sent: the next append starts a new chunk. */
    b->cur = NULL;
    b->cur_off = 0;
  }
}

void wt_sendbuf_ack(wt_sendbuf *b, uint64_t n) {
  b->acked += n;
  if (b->acked > b->sent) {
    b->acked = b->sent;
  }
  while (b->head && b->head_base + b->head->len <= b->acked) {
    wt_sendbuf_chunk *c = b->head;
    /* An open tail may still be filled: keep it unless everything is
     * acknowledged (then the next append starts a new chunk). */
    if (chunk_open(b, c) && b->acked != b->end) {
      break;
    }
    if (c == b->cur) {
      /* sent is at c's end: it moves to the next chunk, if any */
      b->cur = c->next;
      b->cur_off = 0;
    }
    b->head_base += c->len;
    b->head = c->next;
    if (b->tail == c) {
      b->tail = NULL;
    }
    chunk_free(b, c);
  }
  if (b->head == NULL) {
    b->head_base = b->end;
  }
}

uint64_t wt_sendbuf_drop_from(wt_sendbuf *b, uint64_t off) {
  if (off < b->sent) {
    off = b->sent; /* what was handed to the QUIC stack stays */
  }
  if (off >= b->end) {
    return 0;
  }
  uint64_t dropped = b->end - off;
  wt_sendbuf_chunk **pp = &b->head, *last = NULL;
  uint64_t base = b->head_base;
  while (*pp) {
    wt_sendbuf_chunk *c = *pp;
    if (base >= off) {
      /* wholly beyond off, so unsent: nobody references it */
      *pp = c->next;
      chunk_free(b, c);
      continue;
    }
    if (base + c->len > off) {
      /* partly kept: keep [base, off) (the QUIC stack may reference the
       * sent part); an external chunk keeps its whole reference until then */
      c->len = (size_t)(off - base);
      if (!c->ext) {
        c->cap = c->len; /* closed: no append goes here any more */
      }
    }
    base += c->len;
    last = c;
    pp = &c->next;
  }
  b->tail = last;
  b->end = off;
  if (off == b->sent) {
    b->cur = NULL;
    b->cur_off = 0;
  }
  if (b->head == NULL) {
    b->head_base = b->end;
  }
  return dropped;
}

uint64_t wt_sendbuf_drop_unsent(wt_sendbuf *b) {
  return wt_sendbuf_drop_from(b, b->sent);
}
