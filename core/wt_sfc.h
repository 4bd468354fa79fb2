/* wt_sfc.h: WebTransport session flow control (draft-ietf-webtrans-http3-16
 * section 5; docs/protocol.md section 7) as accounting: the limits we grant
 * the peer and what it used, the limits the peer granted us and what we
 * used, when to advertise more (auto-tuned like QUIC's connection window)
 * and when a BLOCKED capsule is due. No I/O, no allocation; the session
 * (wt_session.c) sends the capsules, the streams (wt_stream.c) and the
 * write loop (wt_conn.c) report bytes and streams.
 *
 * What counts (draft-16 section 5.4): stream payload bytes of every WT
 * stream of the session in each direction, without the stream header
 * (signal/type and session ID); streams by type, counted when their header
 * is seen (peer) or sent (ours).
 *
 * Ownership: embedded in its wt_session; waitq lists wt_stream.fc_link of
 * the session's streams that wait for credit. Threading: the engine's. */
#ifndef WT_SFC_H
#define WT_SFC_H

#include <stdint.h>

#include "wt_dlist.h"

enum { WT_SFC_BIDI = 0, WT_SFC_UNI = 1 };

/* wt_stream.fc_hold: why a stream of ours does not send */
enum {
  WT_SFC_HOLD_NONE = 0,
  WT_SFC_HOLD_STREAM, /* waiting for stream credit (WT_MAX_STREAMS): header not sent */
  WT_SFC_HOLD_DATA,   /* waiting for data credit (WT_MAX_DATA) */
};

/* Largest stream limit (draft-16 section 5.6.2: 2^60, as RFC 9000 19.11). */
#define WT_SFC_MAX_STREAMS (UINT64_C(1) << 60)
/* Largest data limit a capsule can carry (2^62 - 1). */
#define WT_SFC_MAX_DATA ((UINT64_C(1) << 62) - 1)

typedef struct wt_sfc {
  int on;  /* flow control negotiated for this session */
  int err; /* the peer overran a limit (sticky): reset the session */
  /* receive side: what we grant the peer */
  uint64_t rx_max_data;       /* the limit we advertised last */
  uint64_t rx_data;           /* payload bytes received */
  uint64_t rx_consumed;       /* of those, consumed by the application */
  uint64_t rx_window;         /* current window (auto-tuned) */
  uint64_t rx_window_max;     /* its bound */
  uint64_t rx_update_ns;      /* when rx_max_data was last raised */
  uint64_t rx_max_streams[2]; /* limits we advertised, [WT_SFC_BIDI / _UNI] */
  uint64_t rx_streams[2];     /* streams the peer opened */
  uint64_t rx_closed[2];      /* of those, closed */
  uint64_t rx_stream_window[2];
  uint8_t update_data;       /* a WT_MAX_DATA is due */
  uint8_t update_streams[2]; /* a WT_MAX_STREAMS is due */
  /* send side: what the peer grants us */
  uint64_t tx_max_data, tx_data;
  uint64_t tx_max_streams[2], tx_streams[2];
  uint64_t data_blocked_at;       /* tx_max_data + 1 of our last WT_DATA_BLOCKED, 0 = none */
  uint64_t streams_blocked_at[2]; /* same for WT_STREAMS_BLOCKED */
  /* our streams held back (wt_stream.fc_link), in the order they stopped */
  wt_list_node waitq;
  uint32_t n_wait_streams; /* of those, holding for stream credit */
  uint64_t blocked_since;  /* ns since waitq is non-empty; 0 = not blocked */
} wt_sfc;

/* Off (no limits); waitq empty. */
void wt_sfc_init(wt_sfc *f);
/* Switch it on: we grant rx_* (our WT_INITIAL_* settings), the peer grants
 * tx_* (its settings); the data window may grow up to window_max. */
void wt_sfc_start(wt_sfc *f, uint64_t rx_data, uint64_t rx_bidi, uint64_t rx_uni,
                  uint64_t window_max, uint64_t tx_data, uint64_t tx_bidi, uint64_t tx_uni,
                  uint64_t now_ns);

/* ---- receive side */

/* The peer opened a stream of the session (uni: 1 for a uni stream).
 * Returns 0, or WT_ERR_LIMIT (sets err) when that exceeds our limit. */
int wt_sfc_rx_stream(wt_sfc *f, int uni);
/* n payload bytes arrived. 0, or WT_ERR_LIMIT (sets err) beyond our limit. */
int wt_sfc_rx_data(wt_sfc *f, uint64_t n);
/* The application consumed n bytes. When less than half the window is left
 * the limit is raised to consumed + window (update_data set; returns 1);
 * the window doubles (up to rx_window_max) if the previous raise was less
 * than 2 x rtt_ns ago. Else returns 0. */
int wt_sfc_rx_consumed(wt_sfc *f, uint64_t n, uint64_t now_ns, uint64_t rtt_ns);
/* A peer stream of the session closed: when at most half of the initial
 * stream window is left, the limit becomes closed + window
 * (update_streams[uni] set; returns 1); else 0. */
int wt_sfc_rx_stream_closed(wt_sfc *f, int uni);

/* ---- send side */

/* Bytes we may still send (UINT64_MAX when off). */
uint64_t wt_sfc_tx_avail(const wt_sfc *f);
/* We sent n payload bytes. */
void wt_sfc_tx_sent(wt_sfc *f, uint64_t n);
/* Take one stream credit of type uni: 1 taken (or off), 0 none left. */
int wt_sfc_tx_stream_take(wt_sfc *f, int uni);
/* The peer's WT_MAX_DATA / WT_MAX_STREAMS: 1 if it raised the limit, 0 if
 * not (a smaller value is ignored, section 5.6); WT_ERR_RANGE for a stream
 * limit above WT_SFC_MAX_STREAMS (sets err). */
int wt_sfc_on_max_data(wt_sfc *f, uint64_t v);
int wt_sfc_on_max_streams(wt_sfc *f, int uni, uint64_t v);
/* 1 once per limit value when we are blocked by it: a WT_DATA_BLOCKED /
 * WT_STREAMS_BLOCKED carrying that limit is due; else 0. */
int wt_sfc_data_blocked_due(wt_sfc *f);
int wt_sfc_streams_blocked_due(wt_sfc *f, int uni);

#endif
