/* churn.h: wtcast-flood --mode churn: relay channels made and retired one
 * after another, each with a subscriber that never reads.
 *
 * Channel i (i = 0 .. channels-1, name PREFIX-i, at most `window` at once)
 * has three sessions, each on its own connection of a group of three (the
 * connections come from --conns, a multiple of 3; their shards are the
 * kernel's choice): a subscriber that reads everything (/sub), a "stalled"
 * subscriber whose streams are on manual credit and never consumed (/sub:
 * the server's shard holds what the stream window does not take, so its
 * relay member is backlogged, up to --relay-lag-max, then lagged), and, once
 * both answered, the publisher (/pub), which sends `groups` uni streams of
 * `group_bytes` bytes + FIN and one datagram. When the reading subscriber
 * has every group (FIN or reset), or after 10 s, all three sessions are
 * closed and the channel is done: its name is retired on the server (no
 * publisher, no subscriber), while the stalled member's backlog is dropped
 * on its shard. Each connection also holds one "anchor" subscriber session
 * (PREFIX-anchor-N) for the whole run, so the server never closes it for
 * having no session (its close grace); the anchors close at the end.
 *
 * Ownership: the churn state belongs to the caller (churn_new / churn_del);
 * it holds the engine's connections and sessions by handle only and is fed
 * the engine's callbacks by the tool's own (single thread). */
#ifndef WTCAST_FLOOD_CHURN_H
#define WTCAST_FLOOD_CHURN_H

#include <stdint.h>
#include <stdio.h>

#include "wt_engine.h"

typedef struct fl_churn fl_churn;

typedef struct fl_churn_config {
  uint32_t channels;    /* channels in all */
  uint32_t n_conns;     /* connections, a multiple of 3 */
  uint32_t group_bytes; /* bytes per published group */
  uint32_t groups;      /* groups per channel */
  const char *prefix;   /* channel names: PREFIX-i */
} fl_churn_config;

/* Connect cfg->n_conns connections from paths[i % n_paths] (now). NULL on
 * a failure (said on stderr). */
fl_churn *churn_new(wt_engine *e, const fl_churn_config *cfg, const wt_path *paths, size_t n_paths,
                    uint64_t now);
void churn_del(fl_churn *c);

/* Start channels up to the window; time out stuck ones. */
void churn_step(fl_churn *c, uint64_t now);
/* 1 once every channel started is done and no more can start (all
 * started, or no group of three connections is left). */
int churn_done(const fl_churn *c);

/* The engine's callbacks, forwarded. */
void churn_session_open(fl_churn *c, wt_session *s);
void churn_session_refused(fl_churn *c, wt_session *s, int status);
void churn_session_close(fl_churn *c, wt_session *s);
void churn_stream_open(fl_churn *c, wt_session *s, wt_stream *st);
void churn_stream_data(fl_churn *c, wt_stream *st, size_t len, int fin);
void churn_stream_reset(fl_churn *c, wt_stream *st);
void churn_conn_close(fl_churn *c, wt_conn *conn);

/* ,"churn":{...} (for the tool's JSON line). */
void churn_report(const fl_churn *c, FILE *out);

#endif
