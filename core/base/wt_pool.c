/* wt_pool.c: fixed-size object pool (see wt_pool.h). */
#include "wt_pool.h"

#include <stdlib.h>
#include <string.h>

#include "wt_error.h"

/* Chunked mode: a chunk is this header followed by per_chunk objects.
 * Malloc mode: every object gets this header, linking the live objects so
 * wt_pool_free can release the ones never put back. Either way the header
 * is WT_POOL_ALIGN bytes so what follows keeps the alignment. */
struct wt_pool_chunk {
  _Alignas(WT_POOL_ALIGN) wt_pool_chunk *next;
  wt_pool_chunk *prev;
};

_Static_assert(sizeof(wt_pool_chunk) % WT_POOL_ALIGN == 0, "chunk header keeps alignment");

int wt_pool_init(wt_pool *p, size_t obj_size, size_t per_chunk, size_t max_objects) {
  if (p == NULL) {
    return WT_ERR_INVAL;
  }
  memset(p, 0, sizeof(*p));
  if (per_chunk == 0 || obj_size > SIZE_MAX / 2) {
    return WT_ERR_INVAL;
  }
  /* An object must at least hold the free-list link; rounding up to the
   * alignment covers that and size 0 alike. */
  size_t sz = (obj_size + WT_POOL_ALIGN - 1) & ~(size_t)(WT_POOL_ALIGN - 1);
  if (sz == 0) {
    sz = WT_POOL_ALIGN;
  }
  if (per_chunk > (SIZE_MAX - sizeof(wt_pool_chunk)) / sz) {
    return WT_ERR_INVAL;
  }
  p->obj_size = sz;
  p->per_chunk = per_chunk;
  p->max_objects = max_objects;
  return 0;
}

static void pool_note_get(wt_pool *p) {
  p->in_use++;
  if (p->in_use > p->high_water) {
    p->high_water = p->in_use;
  }
}

/* Both modes keep every allocation on the chunks list: whole chunks, or
 * single live objects in malloc mode. */
void wt_pool_free(wt_pool *p) {
  if (p == NULL) {
    return;
  }
  wt_pool_chunk *c = p->chunks;
  while (c != NULL) {
    wt_pool_chunk *next = c->next;
    free(c);
    c = next;
  }
  p->chunks = NULL;
  p->free_list = NULL;
  p->in_use = 0;
  p->allocated = 0;
}

#ifdef WT_POOL_MALLOC

void *wt_pool_get(wt_pool *p) {
  if (p->max_objects != 0 && p->in_use >= p->max_objects) {
    return NULL;
  }
  wt_pool_chunk *c = aligned_alloc(WT_POOL_ALIGN, sizeof(*c) + p->obj_size);
  if (c == NULL) {
    return NULL;
  }
  c->prev = NULL;
  c->next = p->chunks;
  if (p->chunks != NULL) {
    p->chunks->prev = c;
  }
  p->chunks = c;
  p->allocated++;
  pool_note_get(p);
  return c + 1;
}

void wt_pool_put(wt_pool *p, void *obj) {
  if (obj == NULL) {
    return;
  }
  wt_pool_chunk *c = (wt_pool_chunk *)obj - 1;
  if (c->prev != NULL) {
    c->prev->next = c->next;
  } else {
    p->chunks = c->next;
  }
  if (c->next != NULL) {
    c->next->prev = c->prev;
  }
  free(c);
  p->allocated--;
  p->in_use--;
}

#else /* chunked mode */

/* Add one chunk and thread its objects onto the free list. The last chunk
 * is cut short so allocated never exceeds max_objects. */
static int pool_grow(wt_pool *p) {
  size_t n = p->per_chunk;
  if (p->max_objects != 0) {
    size_t left = p->max_objects - p->allocated;
    if (left == 0) {
      return WT_ERR_LIMIT;
    }
    if (n > left) {
      n = left;
    }
  }
  size_t bytes = sizeof(wt_pool_chunk) + n * p->obj_size;
  wt_pool_chunk *c = aligned_alloc(WT_POOL_ALIGN, bytes);
  if (c == NULL) {
    return WT_ERR_NOMEM;
  }
  c->prev = NULL;
  c->next = p->chunks;
  p->chunks = c;
  /* Push in reverse so gets walk the chunk in address order. */
  unsigned char *base = (unsigned char *)(c + 1);
  for (size_t i = n; i-- > 0;) {
    void *obj = base + i * p->obj_size;
    *(void **)obj = p->free_list;
    p->free_list = obj;
  }
  p->allocated += n;
  return 0;
}

void *wt_pool_get(wt_pool *p) {
  if (p->free_list == NULL && pool_grow(p) != 0) {
    return NULL;
  }
  void *obj = p->free_list;
  p->free_list = *(void **)obj;
  pool_note_get(p);
  return obj;
}

void wt_pool_put(wt_pool *p, void *obj) {
  if (obj == NULL) {
    return;
  }
  /* LIFO: the object just put back is the next one handed out, while it is
   * still warm in the cache. */
  *(void **)obj = p->free_list;
  p->free_list = obj;
  p->in_use--;
}

#endif

void wt_pool_get_stats(const wt_pool *p, wt_pool_stats *st) {
  st->in_use = p->in_use;
  st->allocated = p->allocated;
  st->high_water = p->high_water;
}
