/* wt_errlist.c: the report's error list (see wt_errlist.h). */
#include "wt_errlist.h"

#include <stdlib.h>
#include <string.h>

void wt_errlist_add(wt_errlist *l, const char *msg) {
  l->total++;
  if (l->max && l->n >= l->max) {
    return; /* keep the report bounded; the total says the rest */
  }
  if (l->n == l->cap) {
    size_t cap = l->cap ? 2 * l->cap : 16;
    char **e = realloc(l->v, cap * sizeof(*e));
    if (!e) {
      return;
    }
    l->v = e;
    l->cap = cap;
  }
  char *s = strdup(msg);
  if (s) {
    l->v[l->n++] = s;
  }
}

void wt_errlist_free(wt_errlist *l) {
  for (size_t i = 0; i < l->n; i++) {
    free(l->v[i]);
  }
  free(l->v);
  memset(l, 0, sizeof(*l));
}
