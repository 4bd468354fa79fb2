/* wt_sendbuf.c: chunked send buffer with stable addresses. */
#include "wt_sendbuf.h"

#include <stdlib.h>
#include <string.h>

#include "wt_error.h"

#define CHUNK_MIN 4096
#define CHUNK_MAX 65536

struct wt_sendbuf_chunk {
  wt_sendbuf_chunk *next;
  size_t cap, len;
  uint8_t data[];
};

void wt_sendbuf_init(wt_sendbuf *b) {
  memset(b, 0, sizeof(*b));
}

void wt_sendbuf_free(wt_sendbuf *b) {
  wt_sendbuf_chunk *c = b->head;
  while (c) {
    wt_sendbuf_chunk *n = c->next;
    free(c);
    c = n;
  }
  wt_sendbuf_init(b);
}

int wt_sendbuf_append(wt_sendbuf *b, const uint8_t *data, size_t len) {
  size_t done = 0;
  /* Allocate all chunks first so a failure adds nothing. */
  size_t room = b->tail ? b->tail->cap - b->tail->len : 0;
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
      c->next = NULL;
      c->cap = cap;
      c->len = 0;
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
    memcpy(b->tail->data + b->tail->len, data, n);
    if (b->cur == NULL) {
      b->cur = b->tail;
      b->cur_off = b->tail->len;
    }
    b->tail->len += n;
    done = n;
  }
  for (wt_sendbuf_chunk *c = first_new; c; c = c->next) {
    size_t n = len - done < c->cap ? len - done : c->cap;
    memcpy(c->data, data + done, n);
    c->len = n;
    done += n;
  }
  if (first_new) {
    if (b->tail) {
      b->tail->next = first_new;
    } else {
      b->head = first_new;
      b->head_base = b->end;
    }
    if (b->cur == NULL) {
      b->cur = first_new;
      b->cur_off = 0;
    }
    b->tail = last_new;
  }
  b->end += len;
  return 0;
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
      iov[n].base = (uint8_t *)c->data + off;
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
  if (b->sent == b->end && b->cur && b->cur_off == b->cur->len && b->cur->len == b->cur->cap) {
    /* Full chunk fully sent: the next append starts a new chunk. */
    b->cur = NULL;
    b->cur_off = 0;
  }
}

void wt_sendbuf_ack(wt_sendbuf *b, uint64_t n) {
  b->acked += n;
  if (b->acked > b->sent) {
    b->acked = b->sent;
  }
  while (b->head && b->head_base + b->head->len <= b->acked && b->head->len == b->head->cap) {
    wt_sendbuf_chunk *c = b->head;
    if (c == b->cur) {
      break;
    }
    b->head_base += c->len;
    b->head = c->next;
    if (b->tail == c) {
      b->tail = NULL;
    }
    free(c);
  }
  /* Everything acknowledged: drop the (partly filled) tail chunk too. */
  if (b->head && b->acked == b->end && b->head == b->tail) {
    free(b->head);
    b->head = b->tail = b->cur = NULL;
    b->cur_off = 0;
    b->head_base = b->end;
  }
}
