/* wt_errlist.h: the error messages a client program collects for its
 * report ("errors": [...]), in order, optionally bounded.
 *
 * Ownership: the list owns its strings (wt_errlist_free). Threading: one
 * owner; not thread-safe. */
#ifndef WT_ERRLIST_H
#define WT_ERRLIST_H

#include <stddef.h>
#include <stdint.h>

typedef struct wt_errlist {
  char **v; /* v[0..n): the messages kept */
  size_t n, cap;
  uint64_t total; /* messages added, kept or not */
  size_t max;     /* keep at most this many (0 = all); the rest are counted */
} wt_errlist;

/* Keep a copy of msg (dropped, but counted, when out of memory or past max). */
void wt_errlist_add(wt_errlist *l, const char *msg);
void wt_errlist_free(wt_errlist *l);

#endif
