/* wt_apps.h: the built-in applications of wtcast.
 *
 *   /echo    streams and datagrams echoed back (wt_app_echo.c)
 *   /source  one server uni stream of N pattern bytes (wt_app_source.c)
 *   /sink    everything read and discarded (wt_app_source.c)
 *   /pub?ch=NAME, /sub?ch=NAME  the live fan-out relay (wt_app_relay.c)
 *   /moq, /moq/ROOT  a moq-lite relay on the same fan-out (wt_app_moq.c;
 *            docs/protocol.md section 9): subscriptions' priority and max
 *            latency honoured by the fan-out (pooled members, wt_app.h),
 *            start/end groups, with an authorizer the jwt of the CONNECT
 *            scoping publish/subscribe by ROOT (without "moq") + broadcast
 *
 * moq-lite cascade (docs/operations.md "The moq-lite cascade"): with a
 * locator, a broadcast published here is recorded as kind "moq", name
 * ROOT/PATH; a SUBSCRIBE to a broadcast not published here makes a remote
 * broadcast pulled through ONE upstream moq-lite session per broadcast
 * (wt_app_connect to /ROOT?hops=N[&jwt=relay_upstream_token]; one
 * SUBSCRIBE per track), fed into the fan-out like a browser publisher's
 * groups; its subscribers wait until the upstream announces it; upstream
 * loss re-resolved (the group in flight reset, the subscriptions kept); the
 * broadcast ended upstream ends it here; the last track released closes
 * the session after 2 s; /moq?hops=N past relay_max_hops: 508, a
 * SUBSCRIBE at the limit never pulled (0x21). Counted in cluster_*.
 *
 * The relay, per channel (NAME: 1-64 of [A-Za-z0-9_.-] and '/' between
 * non-empty segments, e.g. "demo/room", else 400):
 *  - with an authorizer (wt_apps_config.auth, wtcast --auth-keys) /pub
 *    needs publish and /sub subscribe rights on NAME, checked before any
 *    channel state is made: an unauthorized client can neither take
 *    (squat) a channel, nor take it over when its publisher leaves, nor
 *    use up channel slots (401 or 403);
 *  - one publisher at a time (a second gets 409 while one is live);
 *    subscribers may come before any publisher and stay when it leaves; the
 *    next publisher takes over. At most relay_max_channels channels per
 *    worker and relay_max_subscribers subscribers per channel (503).
 *  - each publisher datagram goes to every subscriber (dropped for one whose
 *    queue is full; counted);
 *  - each publisher uni stream is a "group", mirrored as one server uni
 *    stream to every subscriber: same bytes in order, FIN mirrored, a reset
 *    mirrored with the publisher's code (WT_APP_RELAY_PUBLISHER_GONE when
 *    the publisher vanished mid-group);
 *  - a late joiner first gets the current group (the publisher's newest
 *    stream) from its start, if it is at most relay_group_max bytes;
 *  - a subscriber whose unacknowledged data holds more than relay_lag_max
 *    bytes (the capacity of the publisher buffers it references, each
 *    counted once: wt_app.h fan-out groups) has its
 *    oldest mirrored streams reset with WT_APP_GROUP_LAGGED (0x10), and new
 *    groups are not opened for it until it is back under half the bound: whole
 *    groups dropped, never a torn one; the others are not slowed;
 *  - group headers: the publisher declares with /pub?ch=NAME&hdr=N (0 to
 *    WT_APP_GROUP_HDR_MAX = 64; absent = 0; else 400) that the first N bytes
 *    of each of its uni streams identify the group (e.g. a sequence number;
 *    the relay does not read them). With N > 0 and a subscriber whose QUIC
 *    stack negotiated reset_stream_at (docs/protocol.md section 2), a
 *    dropped group is never silent: a lagged reset keeps the WebTransport
 *    stream header and the group header deliverable (RESET_STREAM_AT), and
 *    a group that starts while the subscriber is over its bound is opened
 *    with the group header only and reset at once with 0x10 (at most
 *    WT_APP_GROUP_NOTICES_MAX such streams outstanding per subscriber); the
 *    subscriber reads the header, then sees the reset (wt_app.h "Group
 *    headers"). Without the parameter (or with N = 0, a stock ngtcp2, or a
 *    peer without reset_stream_at) a group dropped before it was opened, or
 *    reset before its header was sent, is a gap in the subscriber's group
 *    sequence. The server counts every dropped group (dropped
 *    streams_lagged) and, of those, the ones whose header the subscriber
 *    still gets (streams_lagged_hdr; wtcast_relay_lagged_with_header_total);
 *  - cascade (docs/operations.md "Cluster"): with a locator
 *    (wt_apps_config.locator), a channel with local subscribers and no
 *    local publisher is pulled from the node the locator names: ONE
 *    upstream /sub?ch=NAME&hops=N (wt_app_connect; N = 1 + the largest
 *    hops of the channel's subscribers; &jwt= relay_upstream_token) per
 *    channel, whose datagrams and uni streams feed the channel exactly as
 *    a publisher's (late joiners served from this node's cache). Upstream
 *    lost or refused: looked up again (next candidate on a refusal,
 *    backoff 100 ms .. 5 s); a local publisher takes over (the upstream is
 *    closed) and is announced (locator publish 1/0; never for an
 *    upstream-fed channel); the last local subscriber leaving closes it
 *    after 2 s. /sub?hops=N with N > relay_max_hops: 508
 *    (WT_APP_RELAY_HOP_LIMIT), logged, counted; a channel asked for with
 *    hops >= relay_max_hops is never pulled (a loop); a deeper /sub
 *    re-opens an upstream that delivered nothing yet with its count (a
 *    loop climbs to the limit; a flowing tree is never cut). A /sub answer
 *    carries the channel's group header length in the field
 *    wt-relay-hdr (when the channel has a publisher or an upstream), which
 *    the downstream node uses for the groups it mirrors; when a new
 *    publisher (or upstream) brings another length, the /subs of
 *    downstream nodes (those with &hops=) told the old one are closed
 *    with WT_APP_RELAY_HDR_CHANGED, and they subscribe again; a node
 *    whose publisher left starts pulling the channel from the node the
 *    locator names (it moved) and closes the downstream nodes' /subs once
 *    with WT_APP_RELAY_PUBLISHER_LEFT: they look it up again and pull from
 *    the publisher's node directly;
 *  - subscribers send nothing: their streams are refused
 *    (WT_APP_RELAY_REFUSED), their datagrams ignored; so are a publisher's
 *    bidi streams.
 *
 * /echo, per session:
 *  - a peer bidi stream: its bytes are written back on the same stream as
 *    they arrive; our FIN follows the peer's FIN.
 *  - a peer uni stream: at its first byte (or its FIN, if it is empty) a
 *    server uni stream is opened; it carries the same bytes as they arrive
 *    and FINs when the peer FINs (never waits for FIN before replying). If
 *    the peer's stream limit stops the open, the bytes wait and the open is
 *    retried every WT_APP_ECHO_RETRY_MS.
 *  - a peer RESET_STREAM is mirrored (our reply stream is reset with the same
 *    code); STOP_SENDING stops the reply.
 *  - datagrams: each is sent back with the same payload (dropped and counted
 *    when the queue is full or it no longer fits).
 *  - back-pressure: what wt_app_stream_write does not accept waits in a
 *    per-stream buffer and goes out on stream_writable. The incoming stream
 *    (bidi, or the peer uni stream) runs on manual credit
 *    (wt_app_stream_set_manual_credit): bytes are consumed only once
 *    wt_app_stream_write accepted them, so a peer that sends faster than
 *    the reply drains (slow reader, congestion, path validation after a
 *    migration) is held back by QUIC flow control and the buffer never
 *    holds more than one stream window. echo_max_pending (default 16 MiB,
 *    the engine's largest stream window) stays as a safety net, counted: a
 *    stream whose buffer would exceed it (or cannot grow) gets both
 *    directions aborted (RESET_STREAM and STOP_SENDING, code
 *    WT_APP_ECHO_OVERFLOW_CODE), counted in echo_overflow_resets. Once the
 *    reply is gone (reset, stopped, closed), whatever still arrives is read
 *    and discarded.
 *  - query "?push=1" (any non-zero number): right after the session opens,
 *    a server bidi stream carrying "server-bidi-hello" + FIN (whatever the
 *    peer sends back on it is read, counted in echo_push_reply_bytes and
 *    discarded) and a server uni stream carrying "server-uni-hello" + FIN.
 *  - query "?close=CODE[&reason=TEXT][&delay=MS]": MS milliseconds after the
 *    session opens (default 0), the server closes it with CLOSE_WEBTRANSPORT_
 *    SESSION(CODE, TEXT). CODE is a u32; TEXT is URL-decoded, at most 1024
 *    bytes (longer or malformed: no reason). The timer is cancelled if the
 *    session ends first.
 *
 * With an authorizer (wt_apps_config.auth) /echo, /source and /sink need a
 * token too (wt_apps_authorize: the route's name is the path), so turning
 * authorization on closes every built-in route to strangers.
 *
 * /source?bytes=N: after the session opens, one server uni stream carries N
 * bytes (default 0) of byte[i] = (uint8_t)(i % 251), then FIN. N above
 * source_max_bytes is refused with 400. Data written on peer streams is
 * read and discarded (counted as sink bytes) and peer bidi streams are FINed
 * when the peer FINs.
 *
 * /sink: every stream is read and discarded; our side of a peer bidi stream
 * is FINed when the peer FINs; datagrams are counted and discarded.
 *
 * The counters are plain integers of the owning thread (one wt_apps per
 * application worker).
 *
 * A program hands the built-in apps to the server as one module
 * (wt_apps_module_new: a wt_app_module, wt_app.h): its workers' routes and
 * state, the counters above (the "apps" keys of the SIGUSR1 line and the
 * wtcast_app_* metrics), the relay's channels (the "relay" member of the
 * line, the wtcast_relay_* metrics).
 *
 * Layer: apps/ sees only the application API (include/wtcast/) and
 * core/base headers. */
#ifndef WT_APPS_H
#define WT_APPS_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "wt_app.h"

/* WT_APP_ECHO_MAX_PENDING is the largest stream window the engine grants
 * (ngtcp2 window auto-tuning up to 16 x initial_max_stream_data, 16 MiB by
 * default; wt_conn.c conn_settings). The pending bytes of an echo are its
 * unconsumed bytes, which flow control keeps within that window: the bound
 * is then reached only if the buffer cannot be allocated. */
#define WT_APP_ECHO_OVERFLOW_CODE   0x100u         /* reset code for an overflowing echo */
#define WT_APP_ECHO_MAX_PENDING     (16u << 20)    /* default echo_max_pending */
#define WT_APP_ECHO_RETRY_MS        5              /* retry of a blocked stream open */
#define WT_APP_SOURCE_MAX_BYTES     1000000000000u /* default source_max_bytes: 1 TB */
#define WT_APP_RELAY_PUBLISHER_GONE 0x11u          /* mirrored stream reset: the publisher left */
#define WT_APP_RELAY_REFUSED        0x12u          /* a stream the relay does not take */
#define WT_APP_RELAY_UPSTREAM_CLOSE 0x15u /* an edge closes an upstream /sub it no longer wants */
#define WT_APP_RELAY_HDR_CHANGED                                                                   \
  0x16u /* a downstream node's /sub closed: the group header                                       \
           length changed (it subscribes again) */
#define WT_APP_RELAY_PUBLISHER_LEFT                                                                \
  0x17u /* a downstream node's /sub closed: the local publisher                                    \
           left this node (it looks the channel up again)*/
#define WT_APP_RELAY_LAG_MAX          (4u << 20) /* default relay_lag_max */
#define WT_APP_RELAY_GROUP_MAX        (2u << 20) /* default relay_group_max (< lag_max) */
#define WT_APP_RELAY_MAX_CHANNELS     4096
#define WT_APP_RELAY_MAX_SUBS         100000
#define WT_APP_RELAY_METRICS_CHANNELS 100 /* default relay_metrics_channels */
#define WT_APP_RELAY_MAX_HOPS         4   /* default relay_max_hops */
#define WT_APP_RELAY_HOP_LIMIT        508 /* a /sub past the hop limit (Loop Detected) */

/* The moq-lite relay (wt_app_moq.c). Every stream it refuses or aborts is
 * reset (our side) and stopped (the peer's side) with one of these codes
 * (docs/protocol.md section 9); a group dropped for lag is reset with
 * WT_APP_GROUP_LAGGED like the plain relay's. */
#define WT_APP_MOQ_PROTOCOL 0x20u /* malformed message, unknown stream kind, bad order */
#define WT_APP_MOQ_NOT_FOUND                                                                       \
  0x21u /* subscribe, track, fetch: no such broadcast or track (or the publisher refused); fetch:  \
           the group is not (or no longer) kept */
#define WT_APP_MOQ_LIMIT 0x22u /* a bound of the relay reached (counted) */
#define WT_APP_MOQ_UNSUPPORTED                                                                     \
  0x23u /* a stream the version does not have (FETCH before -05), or a subscriber and publisher    \
           whose frames differ (-05 timestamps vs -03/-04) */
#define WT_APP_MOQ_GONE           0x24u /* the publisher left or ended the track mid-way */
#define WT_APP_MOQ_CANCEL         0x25u /* the relay no longer wants it (last subscriber left) */
#define WT_APP_MOQ_FORBIDDEN      0x26u /* subscribe: outside the session's token's rights */
#define WT_APP_MOQ_MAX_ROOTS      4096  /* default moq_max_roots (per worker) */
#define WT_APP_MOQ_MAX_BROADCASTS 256   /* default moq_max_broadcasts (per root) */
#define WT_APP_MOQ_MAX_TRACKS     64    /* default moq_max_tracks (per broadcast) */
#define WT_APP_MOQ_MAX_SUBS       8  /* default moq_max_subs (per session; <= its fan-out groups) */
#define WT_APP_MOQ_MAX_INTERESTS  8  /* default moq_max_interests (announce streams per session) */
#define WT_APP_MOQ_MAX_PUBLISHED  16 /* default moq_max_published (broadcasts per session) */
#define WT_APP_MOQ_FETCH_GROUPS   4  /* default moq_fetch_groups (per track, the newest included) */
#define WT_APP_MOQ_FETCH_BYTES    (8u << 20) /* default moq_fetch_bytes (per track) */

/* Which built-in routes are served (wt_apps_config.enabled, --apps): a
 * route not enabled is not routed at all, so a request for it is answered
 * 404 like any unknown path. The default is the relay alone: /echo, /source
 * and /sink are test and benchmark tools (/source sends up to
 * source_max_bytes to whoever asks), served only when asked for. */
enum {
  WT_APPS_ECHO = 1u << 0,   /* /echo */
  WT_APPS_SOURCE = 1u << 1, /* /source */
  WT_APPS_SINK = 1u << 2,   /* /sink */
  WT_APPS_RELAY = 1u << 3,  /* /pub and /sub */
  WT_APPS_MOQ = 1u << 4,    /* /moq and /moq/ROOT (moq-lite) */
  WT_APPS_ALL = WT_APPS_ECHO | WT_APPS_SOURCE | WT_APPS_SINK | WT_APPS_RELAY | WT_APPS_MOQ,
  WT_APPS_DEFAULT = WT_APPS_RELAY,
};

typedef struct wt_apps_config {
  uint64_t source_max_bytes; /* largest N for /source?bytes=N */
  size_t echo_max_pending;   /* bytes an echo stream may hold back */
  uint64_t relay_lag_max;    /* unacknowledged bytes per subscriber before groups drop */
  uint64_t relay_group_max;  /* bytes of the current group kept for late joiners */
  uint32_t relay_max_channels, relay_max_subscribers;
  /* NULL: the relay is open (anyone may publish and subscribe); else every
   * /pub needs publish and every /sub subscribe rights on the channel
   * name, before any channel state exists (401/403 otherwise) */
  const wt_app_authorizer *auth;
  /* NULL: one node; else the relay records the channels published here
   * through it and pulls a channel that has subscribers here but no
   * publisher from the node its lookup names (wt_app.h wt_app_locator) */
  const wt_app_locator *locator;
  /* the cascade ("Cascade" above): the largest hop count a /sub may carry
   * (more: 508; default WT_APP_RELAY_MAX_HOPS), and the token an upstream
   * /sub presents as ?jwt= (NULL: none; wtcast --cluster-token FILE) */
  uint32_t relay_max_hops;
  const char *relay_upstream_token;
  uint32_t relay_metrics_channels; /* channels with their own metric series (the rest: "other") */
  uint32_t enabled;                /* WT_APPS_* routes served (default WT_APPS_DEFAULT) */
  /* for tests only (wtcast: WTCAST_TEST_RELAY_RETIRED_MAX): retired
   * channels whose counters the registry keeps; 0 = 1024 */
  uint32_t relay_retired_max;
  /* moq-lite bounds (WT_APP_MOQ_MAX_*); its fan-out uses relay_lag_max and
   * relay_group_max like the plain relay */
  uint32_t moq_max_roots, moq_max_broadcasts, moq_max_tracks, moq_max_subs;
  uint32_t moq_max_interests, moq_max_published;
  /* groups kept per track (the newest, for late joiners, included; 1 = no
   * past groups: every FETCH misses) and the buffer capacity they may hold
   * in all (the newest alone stays bounded by relay_group_max) */
  uint32_t moq_fetch_groups;
  uint64_t moq_fetch_bytes;
} wt_apps_config;

typedef struct wt_apps_counters {
  uint64_t echo_sessions, echo_bytes, echo_datagrams, echo_datagrams_dropped;
  uint64_t echo_overflow_resets, echo_push_reply_bytes;
  uint64_t source_sessions, source_bytes, source_streams_done;
  uint64_t sink_sessions, sink_bytes, sink_datagrams;
  /* moq-lite: sessions accepted / refused (no moq-lite version offered, bad
   * root, bounds); broadcasts announced by publishers; ANNOUNCEs sent to
   * subscribers; SUBSCRIBEs taken, refused as not found; subscriptions the
   * relay opened towards publishers; groups, frames and frame bytes read
   * from publishers; late subscribers given the newest group from its
   * start; streams reset for a malformed message or unknown kind, for an
   * unsupported stream, for a bound; SUBSCRIBE_UPDATEs applied (priority,
   * max latency; on a refused subscription's stream they are discarded
   * with the rest of it); subscriptions ended by their end group (our FIN); with tokens:
   * sessions refused 401, ANNOUNCEs ignored and SUBSCRIBEs refused (0x26)
   * outside the token's rights; moq-lite-05: FETCHes served from the kept
   * groups, FETCHes of a group not kept (evicted, never seen, unknown
   * track: reset 0x21), TRACK_INFOs answered */
  uint64_t moq_sessions, moq_refused, moq_broadcasts, moq_announces_sent;
  uint64_t moq_subscribes, moq_not_found, moq_upstream_subscribes;
  uint64_t moq_groups_in, moq_frames_in, moq_bytes_in, moq_catchups;
  uint64_t moq_malformed, moq_unsupported, moq_limit;
  uint64_t moq_updates, moq_subs_ended, moq_forbidden;
  uint64_t moq_fetches, moq_fetch_missed, moq_track_infos;
  /* the moq fan-outs, as the shards count them (wt_app_group_counters):
   * group streams and their bytes delivered to subscribers, groups dropped
   * for a lagging subscriber (reset 0x10) or its stream limit; of the
   * lagged, those dropped for a group of another of the subscriber's
   * tracks (its lowest priority first); groups dropped as older than the
   * subscriber's max latency (reset 0x10) */
  uint64_t moq_delivered_streams, moq_delivered_bytes, moq_dropped_lagged, moq_dropped_limit;
  uint64_t moq_dropped_priority, moq_dropped_latency;
  /* the relay cascade ("Cascade" above) and the moq-lite cascade (their
   * upstream moq sessions, groups and bytes the same way): upstream /sub sessions opened,
   * failed (refused, or lost before they opened), live now; groups, group
   * bytes and datagrams received from upstreams; /sub refused for their hop
   * count (508) and channels not pulled for it; re-resolutions after an
   * upstream was lost or refused */
  uint64_t cluster_upstream_opened, cluster_upstream_failed, cluster_upstream_live;
  uint64_t cluster_upstream_groups, cluster_upstream_bytes, cluster_upstream_datagrams;
  uint64_t cluster_hops_refused, cluster_reresolves;
} wt_apps_counters;

typedef struct wt_relay wt_relay;         /* one worker's relay channels */
typedef struct wt_relay_reg wt_relay_reg; /* every worker's channel counters */
typedef struct wt_moq_relay wt_moq_relay; /* one worker's moq-lite roots */
typedef struct wt_moq_reg wt_moq_reg;     /* every worker's live moq broadcasts' counters */

/* The arg of the built-in routes: configuration, counters and state (one
 * per worker). */
typedef struct wt_apps {
  wt_apps_config cfg;
  wt_apps_counters cnt;
  wt_relay *relay;     /* created at the first relay session */
  wt_relay_reg *reg;   /* the module's channel counters (NULL: the relay refuses, 503) */
  wt_moq_relay *moq;   /* created at the first moq-lite session */
  wt_moq_reg *moq_reg; /* the module's (NULL: no per-broadcast series) */
} wt_apps;

extern const wt_app_ops wt_app_echo_ops;
extern const wt_app_ops wt_app_source_ops;
extern const wt_app_ops wt_app_sink_ops;
extern const wt_app_ops wt_app_relay_pub_ops;
extern const wt_app_ops wt_app_relay_sub_ops;
extern const wt_app_ops wt_app_moq_ops;

void wt_relay_free(wt_relay *r);
void wt_moq_relay_free(wt_moq_relay *m);
/* Copy m's fan-out counters into c's moq_delivered_* / moq_dropped_*
 * (NULL m: unchanged). On m's worker thread. */
void wt_moq_relay_counters(const wt_moq_relay *m, wt_apps_counters *c);
/* The live moq broadcasts of a module's workers and their fan-out
 * counters, for /metrics: wtcast_moq_broadcast_delivered_total and
 * wtcast_moq_broadcast_dropped_total{broadcast="ROOT/PATH",...} for the
 * first max_series of them, the rest summed as broadcast="other" (names:
 * at most WT_MOQ_REG_NAME bytes, others than [A-Za-z0-9_./-] as '_'). Any
 * thread (a lock inside). del: after every worker freed its moq relay. */
#define WT_MOQ_REG_NAME 160
int wt_moq_reg_new(wt_moq_reg **out);
void wt_moq_reg_del(wt_moq_reg *g);
int wt_moq_reg_metrics(wt_moq_reg *g, size_t max_series, wt_app_print_fn print, void *sink);
/* The same broadcasts as JSON members (the demo listener's /moq.json and
 * the SIGUSR1 line): ,"broadcasts_live":N,"broadcasts":[{"name","subscribers"
 * (subscriptions, of any track), "delivered_streams", "delivered_bytes",
 * "dropped_lagged" (of which "dropped_priority"), "dropped_limit",
 * "dropped_latency" (groups, summed over its subscribers),
 * "subscriber_dropped_max" (the most groups one subscription lost)},...]:
 * the min(max, WT_MOQ_JSON_BROADCASTS) with the most subscribers. Any
 * thread. Returns 0 or print's error. */
#define WT_MOQ_JSON_BROADCASTS 16
int wt_moq_reg_json(wt_moq_reg *g, size_t max, wt_app_print_fn print, void *sink);

/* The channel counters of a module's workers: a channel's counters outlive
 * it (the next channel of that name continues them). Any thread (a lock
 * inside). del: after every worker freed its relay. */
int wt_relay_reg_new(wt_relay_reg **out);
/* Keep at most n retired channels (0: the default, 1024; tests set fewer,
 * wt_apps_config.relay_retired_max). Before any channel. */
void wt_relay_reg_set_retired_max(wt_relay_reg *g, uint32_t n);
void wt_relay_reg_del(wt_relay_reg *g);

/* Every relay channel of g as JSON ({"channels":[...]}) into buf.
 * Returns the length or WT_ERR_NOBUF. Any thread. */
int wt_relay_stats_json(wt_relay_reg *g, char *buf, size_t cap);

/* The same counters as a struct, one call of fn per channel (under the
 * registry's lock: fn must not call back into the relay). Any thread.
 * Returns the number of channels. */
typedef struct wt_relay_channel_stats {
  const char *name; /* valid during the call */
  int live;
  uint32_t worker;
  uint64_t subscribers, publishers, publishers_refused;
  uint64_t published_datagrams, published_streams, published_stream_bytes;
  uint64_t delivered_datagrams, delivered_streams, delivered_stream_bytes;
  uint64_t dropped_datagrams, dropped_streams_lagged, dropped_streams_limit;
  uint64_t dropped_streams_lagged_hdr; /* of dropped_streams_lagged: group header kept */
} wt_relay_channel_stats;
size_t wt_relay_stats_each(wt_relay_reg *g, void (*fn)(void *arg, const wt_relay_channel_stats *c),
                           void *arg);

/* The wtcast_relay_* metric families of channels c[0..n) (names already
 * escaped for a label value), through print. Channel names are chosen by
 * clients, so the label's cardinality is capped: the max_series most active
 * channels get their own series (channel="NAME"), the rest are summed into
 * one channel="other" series per family (wtcast_relay_channel_live then
 * counts their live channels, worker="all"). Most active = live first,
 * then the most bytes and datagrams published and delivered, then the most
 * subscribers, then the name (so the choice is stable between scrapes). A
 * channel literally named "other" never gets its own series (it would
 * collide with the aggregate): it is summed into "other". Also prints
 * wtcast_relay_metrics_channels{series="own"|"other"}: how many channels
 * each got. Sorts c in place. Returns 0 or print's first error. */
int wt_relay_metrics_print(wt_relay_channel_stats *c, size_t n, uint32_t max_series,
                           wt_app_print_fn print, void *sink);

static inline void wt_apps_config_default(wt_apps_config *c) {
  *c = (wt_apps_config){0}; /* the fields not named here (locator, ...) too */
  c->source_max_bytes = WT_APP_SOURCE_MAX_BYTES;
  c->echo_max_pending = WT_APP_ECHO_MAX_PENDING;
  c->relay_lag_max = WT_APP_RELAY_LAG_MAX;
  c->relay_group_max = WT_APP_RELAY_GROUP_MAX;
  c->relay_max_channels = WT_APP_RELAY_MAX_CHANNELS;
  c->relay_max_subscribers = WT_APP_RELAY_MAX_SUBS;
  c->auth = NULL;
  c->locator = NULL;
  c->relay_metrics_channels = WT_APP_RELAY_METRICS_CHANNELS;
  c->enabled = WT_APPS_DEFAULT;
  c->relay_retired_max = 0;
  c->relay_max_hops = WT_APP_RELAY_MAX_HOPS;
  c->relay_upstream_token = NULL;
  c->moq_max_roots = WT_APP_MOQ_MAX_ROOTS;
  c->moq_max_broadcasts = WT_APP_MOQ_MAX_BROADCASTS;
  c->moq_max_tracks = WT_APP_MOQ_MAX_TRACKS;
  c->moq_max_subs = WT_APP_MOQ_MAX_SUBS;
  c->moq_max_interests = WT_APP_MOQ_MAX_INTERESTS;
  c->moq_max_published = WT_APP_MOQ_MAX_PUBLISHED;
  c->moq_fetch_groups = WT_APP_MOQ_FETCH_GROUPS;
  c->moq_fetch_bytes = WT_APP_MOQ_FETCH_BYTES;
}

/* The routes of enabled (WT_APPS_*) as text, "echo,source,sink,relay,moq"
 * in that order ("" for none), into buf (cap bytes; 32 is enough). */
static inline void wt_apps_names(uint32_t enabled, char *buf, size_t cap) {
  static const char *const names[] = {"echo", "source", "sink", "relay", "moq"};
  size_t n = 0;
  if (cap) {
    buf[0] = '\0';
  }
  for (unsigned i = 0; i < 5; i++) {
    if (enabled & (1u << i)) {
      int w = snprintf(buf + n, cap - n, "%s%s", n ? "," : "", names[i]);
      if (w < 0 || (size_t)w >= cap - n) {
        return;
      }
      n += (size_t)w;
    }
  }
}

/* The authorizer's verdict (wt_apps_config.auth) on req wanting action
 * (WT_APP_AUTH_*) on path: 0 when allowed or when no authorizer is set,
 * else the status to refuse with (401, 403). With an authorizer every
 * built-in route needs a token: /pub and /sub on the channel name, /echo
 * and /sink publish on "echo" and "sink", /source subscribe on "source". */
static inline int wt_apps_authorize(const wt_apps *a, wt_app_session *as, const wt_app_request *req,
                                    int action, const char *path) {
  const wt_app_authorizer *auth = a->cfg.auth;
  return auth && auth->check ? auth->check(auth->arg, as, req, action, path) : 0;
}

/* Initialise a (cfg NULL = defaults) and zero its counters. */
static inline void wt_apps_init(wt_apps *a, const wt_apps_config *cfg) {
  memset(a, 0, sizeof(*a));
  if (cfg) {
    a->cfg = *cfg;
  } else {
    wt_apps_config_default(&a->cfg);
  }
}

/* Route the built-in apps of enabled (WT_APPS_*: /echo, /source, /sink,
 * /pub and /sub) with arg a (which must outlive the router). Returns 0 or
 * the first wt_app_router_add error. */
static inline int wt_apps_register_some(wt_app_router *r, wt_apps *a, uint32_t enabled) {
  int rv = 0;
  if (rv == 0 && (enabled & WT_APPS_ECHO)) {
    rv = wt_app_router_add(r, "/echo", &wt_app_echo_ops, a);
  }
  if (rv == 0 && (enabled & WT_APPS_SOURCE)) {
    rv = wt_app_router_add(r, "/source", &wt_app_source_ops, a);
  }
  if (rv == 0 && (enabled & WT_APPS_SINK)) {
    rv = wt_app_router_add(r, "/sink", &wt_app_sink_ops, a);
  }
  if (rv == 0 && (enabled & WT_APPS_RELAY)) {
    rv = wt_app_router_add(r, "/pub", &wt_app_relay_pub_ops, a);
  }
  if (rv == 0 && (enabled & WT_APPS_RELAY)) {
    rv = wt_app_router_add(r, "/sub", &wt_app_relay_sub_ops, a);
  }
  if (rv == 0 && (enabled & WT_APPS_MOQ)) {
    rv = wt_app_router_add(r, "/moq", &wt_app_moq_ops, a);
  }
  if (rv == 0 && (enabled & WT_APPS_MOQ)) {
    rv = wt_app_router_add(r, "/moq/*", &wt_app_moq_ops, a);
  }
  return rv;
}

/* Every built-in route (WT_APPS_ALL). */
static inline int wt_apps_register(wt_app_router *r, wt_apps *a) {
  return wt_apps_register_some(r, a, WT_APPS_ALL);
}

/* Free the apps' state (after every session of theirs closed). */
static inline void wt_apps_fini(wt_apps *a) {
  wt_relay_free(a->relay);
  a->relay = NULL;
  wt_moq_relay_free(a->moq);
  a->moq = NULL;
}

/* ------------------------------------------------------------------ the module */

typedef struct wt_apps_module wt_apps_module;

/* The built-in apps as one module with configuration cfg (NULL =
 * defaults): the routes of cfg->enabled (of /echo, /source, /sink, /pub
 * and /sub; the default: /pub and /sub) on every router, a wt_apps per
 * worker, the relay registry. Returns 0, WT_ERR_NOMEM. */
int wt_apps_module_new(wt_apps_module **out, const wt_apps_config *cfg);
/* What to give the server (valid until wt_apps_module_del). */
const wt_app_module *wt_apps_module_get(const wt_apps_module *m);
/* The module's relay channel counters (wt_relay_stats_each), as long as m. */
wt_relay_reg *wt_apps_module_relay_reg(const wt_apps_module *m);
/* After the server is gone. NULL is a no-op. */
void wt_apps_module_del(wt_apps_module *m);

#endif
