/* wt_held.c: see wt_held.h. */
#include "wt_held.h"

#include <stdlib.h>
#include <string.h>

#include "wt_error.h"

void wt_held_init(wt_held *h) {
  memset(h, 0, sizeof(*h));
}

void wt_held_free(wt_held *h) {
  free(h->runs);
  wt_held_init(h);
}

static int held_grow(wt_held *h) {
  uint32_t size = h->size ? h->size * 2 : 8;
  if (size < h->size) {
    return WT_ERR_NOMEM;
  }
  wt_held_run *r = malloc((size_t)size * sizeof(*r));
  if (!r) {
    return WT_ERR_NOMEM;
  }
  for (uint32_t i = 0; i < h->n; i++) { /* unroll the ring, oldest first */
    r[i] = h->runs[(h->head + i) % h->size];
  }
  free(h->runs);
  h->runs = r;
  h->head = 0;
  h->size = size;
  return 0;
}

int64_t wt_held_add(wt_held *h, const void *key, uint32_t cap, uint64_t end) {
  if (h->n && h->last == key) {
    h->runs[(h->head + h->n - 1) % h->size].end = end; /* joins the newest run */
    return 0;
  }
  if (h->n == h->size && held_grow(h) < 0) {
    return WT_ERR_NOMEM;
  }
  h->runs[(h->head + h->n) % h->size] = (wt_held_run){.end = end, .cap = cap};
  h->n++;
  h->last = key;
  h->total += cap;
  return cap;
}

uint64_t wt_held_ack(wt_held *h, uint64_t acked) {
  uint64_t freed = 0;
  while (h->n && h->runs[h->head].end <= acked) {
    freed += h->runs[h->head].cap;
    h->head = (h->head + 1) % h->size;
    h->n--;
  }
  if (h->n == 0) {
    h->last = NULL; /* the buffer may be gone: its address means nothing now */
  }
  h->total -= freed;
  return freed;
}
