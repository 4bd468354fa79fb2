/* wt_dlist.h: the two intrusive doubly linked lists.
 *  - WT_DLIST_*: through an object's own prev/next members, with a plain
 *    head pointer (push at the head, O(1) removal); for lists of whole
 *    objects of one type (the channel's sessions and streams).
 *  - wt_list_node / wt_list_*: an embedded node and a circular head (push
 *    at the tail, O(1) removal, wt_container_of back to the object); for
 *    objects that sit on several lists at once (core's connections,
 *    sessions and streams).
 * Neither allocates; the caller owns the nodes and the heads. Not
 * thread-safe: a list belongs to one thread. */
#ifndef WT_DLIST_H
#define WT_DLIST_H

#include <stddef.h>

/* Push x at the head of the list *head. */
#define WT_DLIST_PUSH(head, x)                                                                     \
  do {                                                                                             \
    (x)->prev = NULL;                                                                              \
    (x)->next = *(head);                                                                           \
    if (*(head)) {                                                                                 \
      (*(head))->prev = (x);                                                                       \
    }                                                                                              \
    *(head) = (x);                                                                                 \
  } while (0)

/* Unlink x from the list *head (x must be on it). */
#define WT_DLIST_REMOVE(head, x)                                                                   \
  do {                                                                                             \
    if ((x)->prev) {                                                                               \
      (x)->prev->next = (x)->next;                                                                 \
    } else {                                                                                       \
      *(head) = (x)->next;                                                                         \
    }                                                                                              \
    if ((x)->next) {                                                                               \
      (x)->next->prev = (x)->prev;                                                                 \
    }                                                                                              \
    (x)->prev = (x)->next = NULL;                                                                  \
  } while (0)

/* ---------------------------------------------------------------- wt_list */

typedef struct wt_list_node {
  struct wt_list_node *next, *prev;
} wt_list_node;

static inline void wt_list_init(wt_list_node *h) {
  h->next = h->prev = h;
}
static inline int wt_list_empty(const wt_list_node *h) {
  return h->next == h;
}
static inline int wt_list_linked(const wt_list_node *l) {
  return l->next != NULL;
}
static inline void wt_list_push(wt_list_node *h, wt_list_node *l) { /* at the tail */
  l->prev = h->prev;
  l->next = h;
  h->prev->next = l;
  h->prev = l;
}
static inline void wt_list_del(wt_list_node *l) {
  if (l->next) {
    l->prev->next = l->next;
    l->next->prev = l->prev;
    l->next = l->prev = NULL;
  }
}
#define wt_container_of(p, type, member) ((type *)((char *)(p)-offsetof(type, member)))

#endif
