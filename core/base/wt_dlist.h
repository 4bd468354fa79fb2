/* wt_dlist.h: an intrusive doubly linked list through an object's own
 * prev/next members, with a plain head pointer (push at the head, O(1)
 * removal). For lists of whole objects (sessions, streams); core's
 * wt_link/wt_list (wt_conn.h) is the embedded-node variant. */
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

#endif
