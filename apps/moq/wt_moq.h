/* wt_moq.h: the moq-lite wire codec (draft-lcurley-moq-lite as spoken by
 * the @moq/net 0.3.4 client with WT-Protocol "moq-lite-03", "moq-lite-04"
 * and "moq-lite-05"; the message table, its limits and what each version
 * changes are in docs/protocol.md, section "MoQ"). Every function takes
 * the version explicitly; one encoder and one decoder per message, with
 * the version's differences inside.
 *
 * moq-lite runs on WebTransport streams:
 *   - a bidirectional stream opened by either side starts with a Stream
 *     Kind varint (WT_MOQ_KIND_*), then size-prefixed messages whose order
 *     the kind fixes (announce: ANNOUNCE_PLEASE then ANNOUNCEs back;
 *     subscribe: SUBSCRIBE then SUBSCRIBE_UPDATEs, and back a response
 *     type varint before each SUBSCRIBE_OK / SUBSCRIBE_DROP (-05: before
 *     each SUBSCRIBE_START / _END / _DROP, no OK); fetch: FETCH, and back
 *     the group's frames (-05); probe: PROBEs back; goaway: GOAWAY (-04+);
 *     track (-05): TRACK, and back one TRACK_INFO). On -05 an announce
 *     stream's answer starts with ANNOUNCE_OK;
 *   - a unidirectional stream starts with a Data Type varint (0 = group,
 *     1 = setup on -05: one SETUP message, then FIN), then one GROUP
 *     message, then frames until FIN (a reset drops the group): each frame
 *     a size varint and that many payload bytes, on -05 preceded by a
 *     timestamp varint (the zigzag-coded delta from the group's previous
 *     frame, in the track's TRACK_INFO timescale; read, not re-timed).
 * A message is `size (i)` then `size` bytes of body; the body must be
 * consumed exactly (trailing bytes are malformed).
 *
 * Ownership: everything here is pure (no allocation, no I/O, no clock).
 * A wt_moq_reader is a value embedded in its stream's state (about 4.1 KiB:
 * its buffer holds one message that arrives in pieces); strings in a
 * decoded wt_moq_msg point into the caller's input or into the reader's
 * buffer and are valid until the next call on that reader (or until the
 * caller's input is released, whichever is first): copy what must live
 * longer. Threading: a reader belongs to one stream and so to one thread;
 * the encode/decode functions are reentrant.
 *
 * Errors: WT_ERR_MALFORMED for bytes that break the encoding or a limit
 * (the reason is a constant string in *why, for the log line), and
 * WT_ERR_UNSUPPORTED for a message the version does not have (GOAWAY on
 * moq-lite-03, SUBSCRIBE_OK on -05, TRACK / SETUP / ANNOUNCE_OK /
 * SUBSCRIBE_START / _END before -05). The stream that carried them is reset by the caller. */
#ifndef WT_MOQ_H
#define WT_MOQ_H

#include <stddef.h>
#include <stdint.h>

#include "wt_varint.h"

/* The versions (the draft's numbers; negotiated by WT-Protocol). */
#define WT_MOQ_LITE_03 3
#define WT_MOQ_LITE_04 4
#define WT_MOQ_LITE_05 5

/* Stream Kind: the first varint of a bidirectional stream. SESSION (a
 * setup stream of moq-lite-01/02 reached through "moql") is not used by
 * the WT-Protocol versions; TRACK is moq-lite-05's. */
#define WT_MOQ_KIND_SESSION   0
#define WT_MOQ_KIND_ANNOUNCE  1
#define WT_MOQ_KIND_SUBSCRIBE 2
#define WT_MOQ_KIND_FETCH     3
#define WT_MOQ_KIND_PROBE     4
#define WT_MOQ_KIND_GOAWAY    5
#define WT_MOQ_KIND_TRACK     6

/* Data Type: the first varint of a unidirectional stream. */
#define WT_MOQ_UNI_GROUP 0
#define WT_MOQ_UNI_SETUP 1 /* moq-lite-05 */

/* Limits every decoder enforces (and every encoder, so wtcast never sends
 * what a peer must reject). */
#define WT_MOQ_MAX_MSG    4096                      /* message body bytes */
#define WT_MOQ_MAX_PATH   1024                      /* broadcast path / prefix bytes */
#define WT_MOQ_MAX_PARTS  32                        /* '/'-separated parts of a path */
#define WT_MOQ_MAX_NAME   1024                      /* track name, GOAWAY URI bytes */
#define WT_MOQ_MAX_HOPS   32                        /* hop list of an ANNOUNCE */
#define WT_MOQ_MAX_U53    ((UINT64_C(1) << 53) - 1) /* fields the reference client reads as u53 */
#define WT_MOQ_MAX_PARAMS 64                        /* parameters of a SETUP (the client's cap) */
#define WT_MOQ_DEFAULT_MAX_FRAME                                                                   \
  (UINT64_C(16) << 20) /* a frame's payload, unless the reader says */

/* ANNOUNCE status (a byte). -05 also reads 2 (restart: an ANNOUNCE of a
 * path already active, replacing it), decoded as ACTIVE. */
#define WT_MOQ_ANNOUNCE_ENDED   0
#define WT_MOQ_ANNOUNCE_ACTIVE  1
#define WT_MOQ_ANNOUNCE_RESTART 2

/* Subscribe response types (the varint before a response message):
 * -03/-04: 0 SUBSCRIBE_OK, 1 SUBSCRIBE_DROP; -05: 0 SUBSCRIBE_START,
 * 1 SUBSCRIBE_END, 2 SUBSCRIBE_DROP. */
#define WT_MOQ_RESPONSE_OK      0
#define WT_MOQ_RESPONSE_DROP    1
#define WT_MOQ_RESPONSE05_START 0
#define WT_MOQ_RESPONSE05_END   1
#define WT_MOQ_RESPONSE05_DROP  2

/* SETUP parameters (moq-lite-05) and the values wtcast reads. */
#define WT_MOQ_PARAM_PROBE  1
#define WT_MOQ_PARAM_PATH   2 /* URI-less transports only: a violation on WebTransport */
#define WT_MOQ_PARAM_ROLE   3
#define WT_MOQ_PARAM_ORIGIN 5

typedef enum wt_moq_type {
  WT_MOQ_NONE = 0,
  WT_MOQ_ANNOUNCE_PLEASE,    /* subscriber -> publisher: the prefix it wants announced */
  WT_MOQ_ANNOUNCE,           /* publisher -> subscriber: a broadcast under it, active/ended */
  WT_MOQ_SUBSCRIBE,          /* subscriber -> publisher: first message of a subscribe stream */
  WT_MOQ_SUBSCRIBE_UPDATE,   /* subscriber -> publisher: later messages of the stream */
  WT_MOQ_SUBSCRIBE_RESPONSE, /* reader only: a response type varint, then OK or DROP */
  WT_MOQ_SUBSCRIBE_OK,       /* publisher -> subscriber (encoded with its type varint) */
  WT_MOQ_SUBSCRIBE_DROP,     /* publisher -> subscriber (encoded with its type varint) */
  WT_MOQ_FETCH,              /* subscriber -> publisher: one past group */
  WT_MOQ_PROBE,              /* publisher -> subscriber: bitrate (and RTT on -04) */
  WT_MOQ_GOAWAY,             /* either way, moq-lite-04: drain, optional new URI */
  WT_MOQ_GROUP,              /* group header on a uni stream (after the Data Type) */
  /* moq-lite-05 */
  WT_MOQ_SETUP,           /* either way, alone on a uni stream of Data Type 1 */
  WT_MOQ_ANNOUNCE_OK,     /* publisher -> subscriber: first on an announce stream */
  WT_MOQ_TRACK,           /* subscriber -> publisher: a track's properties, please */
  WT_MOQ_TRACK_INFO,      /* publisher -> subscriber: the answer, then FIN */
  WT_MOQ_SUBSCRIBE_START, /* publisher -> subscriber (encoded with its type varint) */
  WT_MOQ_SUBSCRIBE_END,   /* publisher -> subscriber (encoded with its type varint) */
  WT_MOQ_TYPE_COUNT_,     /* not a type */
} wt_moq_type;

/* A byte string inside a message (not NUL-terminated). */
typedef struct wt_moq_str {
  const uint8_t *p;
  size_t len;
} wt_moq_str;

/* Subscription parameters shared by SUBSCRIBE, SUBSCRIBE_UPDATE and
 * SUBSCRIBE_OK. On the wire a start/end group is `group + 1`, 0 = none. */
typedef struct wt_moq_sub_params {
  uint8_t priority;     /* higher is more important */
  uint8_t ordered;      /* 0 / 1 */
  uint64_t max_latency; /* milliseconds, 0 = unbounded */
  uint8_t has_start, has_end;
  uint64_t start_group, end_group; /* valid when has_*; at most WT_MOQ_MAX_U53 - 1 */
} wt_moq_sub_params;

typedef struct wt_moq_msg {
  wt_moq_type type;
  union {
    struct {
      wt_moq_str prefix;
      uint64_t exclude_hop; /* moq-lite-04 only (0 = none); not on the wire on -03 */
    } announce_please;
    struct {
      uint8_t status; /* WT_MOQ_ANNOUNCE_* */
      wt_moq_str suffix;
      uint32_t n_hops;                /* hop count (both versions) */
      uint64_t hops[WT_MOQ_MAX_HOPS]; /* origin ids, moq-lite-04 only (-03: all 0) */
    } announce;
    struct {
      uint64_t id;
      wt_moq_str broadcast, track;
      wt_moq_sub_params p;
    } subscribe;
    wt_moq_sub_params update; /* SUBSCRIBE_UPDATE, SUBSCRIBE_OK */
    struct {
      uint64_t start, end, error;
    } drop;
    struct {
      wt_moq_str broadcast, track;
      uint8_t priority;
      uint64_t group;
    } fetch;
    struct {
      uint64_t bitrate; /* bits/s, 0 = unknown */
      uint64_t rtt;     /* ms, 0 = unknown; moq-lite-04 only */
    } probe;
    struct {
      wt_moq_str uri; /* "" = no redirect */
    } goaway;
    struct {
      uint64_t probe;  /* probe level: 0 none, 1 report, 2 increase */
      uint64_t role;   /* 0 both, 1 publisher, 2 subscriber */
      uint64_t origin; /* 0 = none */
      uint8_t has_path;
      wt_moq_str path; /* a client's on URI-less transports (a violation on WebTransport) */
    } setup;
    struct {
      uint64_t origin; /* the responder's origin id, 0 = unknown */
      uint64_t active; /* ANNOUNCEs (active) that follow at once */
    } announce_ok;
    struct {
      wt_moq_str broadcast, track;
    } track;
    struct {
      uint8_t priority, ordered;
      uint64_t max_latency; /* ms */
      uint64_t timescale;   /* frame timestamp units per second, never 0 */
    } track_info;
    struct {
      uint64_t group; /* START: the first group; END: one past the last (0 = none) */
    } range;
    struct {
      uint64_t subscribe; /* the subscription id the group answers */
      uint64_t sequence;
    } group;
  } u;
} wt_moq_msg;

/* The version for a WT-Protocol value: WT_MOQ_LITE_03 / _04 / _05, or
 * WT_ERR_UNSUPPORTED for anything else ("moql", moq-lite-06-wip, moqt-*). */
int wt_moq_version_from_protocol(const char *proto, size_t len);

/* The message that comes next on a bidirectional stream of Stream Kind
 * kind, from the side that opened it (opener != 0) or from the side that
 * accepted it, after n messages in that direction; 0 when none may come
 * (the direction must end with FIN) or the kind is unknown to version:
 *   ANNOUNCE   opener: ANNOUNCE_PLEASE once       acceptor: (-05: ANNOUNCE_OK) ANNOUNCE ...
 *   SUBSCRIBE  opener: SUBSCRIBE, then UPDATE ... acceptor: SUBSCRIBE_RESPONSE ...
 *   FETCH      opener: FETCH once                 acceptor: nothing (-05: frames, not messages)
 *   PROBE      opener: nothing                    acceptor: PROBE ...
 *   GOAWAY     opener: GOAWAY once (-04+)         acceptor: nothing
 *   TRACK      opener: TRACK once (-05)           acceptor: TRACK_INFO once (-05) */
wt_moq_type wt_moq_next(int version, uint64_t kind, int opener, uint64_t n);

/* Encode m for version into out[0..cap): for SUBSCRIBE_OK / _DROP /
 * _START / _END the response type varint, then the size varint and the
 * body. Returns the bytes written, WT_ERR_NOBUF (nothing usable written),
 * WT_ERR_INVAL (a field outside the limits above, an unknown type or
 * version, a TRACK_INFO timescale of 0),
 * WT_ERR_UNSUPPORTED (a message the version does not have). */
int wt_moq_encode(const wt_moq_msg *m, int version, uint8_t *out, size_t cap);

/* Decode the body of one message of type t (not SUBSCRIBE_RESPONSE) from
 * body[0..len), which must be consumed exactly. 0, WT_ERR_MALFORMED (with
 * *why) or WT_ERR_UNSUPPORTED. Strings in *out point into body. */
int wt_moq_decode_body(wt_moq_type t, int version, const uint8_t *body, size_t len, wt_moq_msg *out,
                       const char **why);

/* Incremental reader of one stream's varints and messages. */
typedef struct wt_moq_reader {
  int version;
  uint64_t max_frame; /* largest frame payload accepted (WT_MOQ_DEFAULT_MAX_FRAME) */
  int stage;          /* internal */
  uint64_t resp;      /* internal: a subscribe response type read */
  uint64_t size;      /* internal: the current message's size */
  uint64_t frame_ts;  /* -05: the last frame's timestamp varint (zigzag delta), as read */
  int fstage;         /* internal: -05 frame header: 0 timestamp next, 1 size */
  size_t have;        /* internal: bytes of it in buf */
  wt_varint_acc acc;  /* internal: a varint in pieces */
  uint8_t buf[WT_MOQ_MAX_MSG];
} wt_moq_reader;

void wt_moq_reader_init(wt_moq_reader *r, int version);

/* Read one varint (a Stream Kind, a Data Type) from p[0..len): 1 with *v
 * set, 0 when p ran out first (all of it kept). *used = bytes taken. */
int wt_moq_read_varint(wt_moq_reader *r, const uint8_t *p, size_t len, size_t *used, uint64_t *v);

/* Read one message of type t from p[0..len) (for SUBSCRIBE_RESPONSE: the
 * type varint, then SUBSCRIBE_OK or _DROP, on -05 SUBSCRIBE_START / _END /
 * _DROP, which out->type says). Returns 1
 * with *out set, 0 when p ran out first (its bytes are kept: at most the
 * message's own, bounded by WT_MOQ_MAX_MSG), WT_ERR_MALFORMED with *why
 * (a size above WT_MOQ_MAX_MSG is refused before any of it is buffered), or
 * WT_ERR_UNSUPPORTED; WT_ERR_INVAL for a t that is not read this way
 * (WT_MOQ_NONE, SUBSCRIBE_OK / _DROP: ask for SUBSCRIBE_RESPONSE). *used =
 * bytes taken from p. After an error the reader must not be used again. */
int wt_moq_read_msg(wt_moq_reader *r, wt_moq_type t, const uint8_t *p, size_t len, size_t *used,
                    wt_moq_msg *out, const char **why);

/* Read a frame's header (on -05 its timestamp varint, kept in
 * r->frame_ts, then its size varint): 1 with *size set (the caller then
 * takes that many payload bytes from the stream itself: nothing is
 * buffered here), 0 for more, WT_ERR_MALFORMED if *size > r->max_frame. */
int wt_moq_read_frame(wt_moq_reader *r, const uint8_t *p, size_t len, size_t *used, uint64_t *size,
                      const char **why);

/* Encode a frame's header for version into out[0..cap): on -05 the
 * timestamp varint ts_zigzag first, then the size. Bytes written or
 * WT_ERR_NOBUF / WT_ERR_INVAL (size above 2^53-1). */
int wt_moq_encode_frame_hdr(int version, uint64_t ts_zigzag, uint64_t size, uint8_t *out,
                            size_t cap);

/* The zigzag code of a signed timestamp delta, and back (the client's). */
static inline uint64_t wt_moq_zigzag(int64_t d) {
  return ((uint64_t)d << 1) ^ (uint64_t)(d >> 63);
}
static inline int64_t wt_moq_unzigzag(uint64_t v) {
  return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

#endif
