/* wt_sendbuf.h: the send buffer of one outgoing byte stream.
 *
 * ngtcp2 and nghttp3 do not copy stream data: the bytes handed to them must
 * stay at the same address until the peer acknowledges them (ngtcp2
 * acked_stream_data_offset, nghttp3 acked_stream_data). A sendbuf keeps
 * appended bytes in a list of chunks that never move, and tracks three stream
 * offsets: acked <= sent <= end. Chunks wholly below `acked` are freed.
 *
 * Two kinds of chunks, freely interleaved on one buffer: owned chunks hold a
 * copy (wt_sendbuf_append), external chunks reference the caller's bytes
 * (wt_sendbuf_append_ref, zero-copy). An external chunk is released (its
 * release function called once) when all its bytes are acknowledged, when
 * wt_sendbuf_drop_unsent drops it, or when the buffer is freed. Offsets and
 * the ack logic are the same for both kinds.
 *
 * Releases go through a release queue (wt_relq) when the buffer has one, so
 * the owner decides when the callbacks run (the engine runs them at the end
 * of its entry points, never nested); without a queue they are called at
 * once.
 *
 * Used for WT streams, for our HTTP/3 control stream and for the capsules of
 * a CONNECT stream. Embed it; wt_sendbuf_init / wt_sendbuf_free. */
#ifndef WT_SENDBUF_H
#define WT_SENDBUF_H

#include <stddef.h>
#include <stdint.h>

#include "wt_mem.h"
#include "wt_pool.h"

#ifndef WT_RELEASE_FN_DEFINED
#define WT_RELEASE_FN_DEFINED
/* Gives referenced bytes back to their owner (also in wt_engine.h). */
typedef void (*wt_release_fn)(void *arg, const uint8_t *data, size_t len);
#endif

/* One reference to be released: release(arg, data, len). A wt_ref is the
 * first member of a block (an external chunk, a queued datagram) that
 * wt_relq_run frees after the call: with free(), or put back into pool
 * when it came from one. */
typedef struct wt_ref {
  struct wt_ref *next;
  wt_release_fn release;
  void *arg;
  const uint8_t *data;
  size_t len;
  wt_pool *pool; /* the block's pool (wt_pool_get), or NULL: malloc'd */
} wt_ref;

/* A FIFO of references whose release is due. */
typedef struct wt_relq {
  wt_ref *head, *tail;
  uint64_t released; /* releases called so far (statistics) */
  int running;       /* wt_relq_run is on the stack */
} wt_relq;

/* Queue r (release may be NULL: r is then only freed by wt_relq_run). */
void wt_relq_push(wt_relq *q, wt_ref *r);
/* Call release for every queued reference, in order, and free each block,
 * including those queued by the releases themselves. A nested call (from
 * inside a release) returns at once: the outer loop takes the new ones. */
void wt_relq_run(wt_relq *q);

typedef struct wt_sendbuf_chunk wt_sendbuf_chunk;

typedef struct wt_sendbuf {
  wt_sendbuf_chunk *head, *tail;
  wt_sendbuf_chunk *cur; /* chunk holding offset `sent` (NULL when sent == end) */
  size_t cur_off;        /* offset of `sent` inside cur */
  uint64_t head_base;    /* stream offset of head's first byte */
  uint64_t acked, sent, end;
  size_t n_chunks; /* chunks in the list */
  wt_relq *rq;     /* where external chunks go when released; NULL = call at once.
                      Set after wt_sendbuf_init; kept by wt_sendbuf_free. */
  /* NULL, or the owner the held memory is attributed to (wt_mem.h): each
   * chunk from its append until it is freed; owned chunks as their capacity
   * plus header (also charged to acct->budget), external ones as their
   * header (charged) plus the referenced length (attributed only: the
   * referenced memory's owner charged the budget). Set after
   * wt_sendbuf_init; kept by wt_sendbuf_free. */
  wt_mem_acct *acct;
} wt_sendbuf;

/* An I/O vector; same layout as ngtcp2_vec and nghttp3_vec. */
typedef struct wt_iov {
  uint8_t *base;
  size_t len;
} wt_iov;

void wt_sendbuf_init(wt_sendbuf *b);
/* Free every chunk (acknowledged or not); external chunks are released. The
 * buffer is empty afterwards (offsets back to 0) and keeps its rq. */
void wt_sendbuf_free(wt_sendbuf *b);

/* Copy data[0..len) to the end. Returns 0 or WT_ERR_NOMEM (nothing added). */
int wt_sendbuf_append(wt_sendbuf *b, const uint8_t *data, size_t len);

/* Append data[0..len) (len > 0) by reference: the bytes must stay valid and
 * unchanged until release(arg, data, len) is called (exactly once, see
 * above; release may be NULL). Returns 0, WT_ERR_INVAL (len 0 or data NULL)
 * or WT_ERR_NOMEM; on error nothing is added and release is not called. */
int wt_sendbuf_append_ref(wt_sendbuf *b, const uint8_t *data, size_t len, wt_release_fn release,
                          void *arg);

/* wt_sendbuf_append_ref, but when data continues the last chunk (an
 * external chunk with the same release and arg whose bytes end exactly at
 * data, none of them dropped) the bytes join that chunk: returns 1 and the
 * buffer takes no new reference (the caller keeps, and drops, the one it
 * meant to hand over); that chunk's release later reports the joined length
 * once. Returns 0 when a new chunk was added (as wt_sendbuf_append_ref), or
 * its errors. Many small writes into one caller buffer so hold one chunk,
 * not one per write. */
int wt_sendbuf_append_ref_join(wt_sendbuf *b, const uint8_t *data, size_t len,
                               wt_release_fn release, void *arg);

/* Chunks held (owned and external): what the buffer costs besides the bytes. */
static inline size_t wt_sendbuf_chunks(const wt_sendbuf *b) {
  return b->n_chunks;
}

/* Fill iov[0..max) with the unsent bytes from offset `sent`, at most
 * max_bytes in all; returns the number of vectors (0 if nothing unsent). */
size_t wt_sendbuf_peek(const wt_sendbuf *b, wt_iov *iov, size_t max, size_t max_bytes);

/* Mark n more bytes as handed to the QUIC stack (n <= unsent). */
void wt_sendbuf_consume(wt_sendbuf *b, size_t n);

/* Mark n more bytes as acknowledged (acked + n <= sent); frees chunks and
 * releases external chunks that are wholly acknowledged. */
void wt_sendbuf_ack(wt_sendbuf *b, uint64_t n);

/* Forget the unsent bytes [sent, end) (the stream was reset: they will
 * never be sent). Chunks wholly unsent are freed/released now; a chunk
 * partly handed to the QUIC stack stays until acked or freed. Afterwards
 * end == sent. Returns the bytes dropped. */
uint64_t wt_sendbuf_drop_unsent(wt_sendbuf *b);
/* The same from offset off (clamped to [sent, end]): forget [off, end), keep
 * the unsent bytes below off (a reset that keeps them deliverable). */
uint64_t wt_sendbuf_drop_from(wt_sendbuf *b, uint64_t off);

static inline uint64_t wt_sendbuf_unsent(const wt_sendbuf *b) {
  return b->end - b->sent;
}
/* Bytes held: appended and not yet acknowledged. */
static inline uint64_t wt_sendbuf_held(const wt_sendbuf *b) {
  return b->end - b->acked;
}

#endif
