/* wt_app_source.c: the /source and /sink applications (behaviour: wt_apps.h). */
#define WT_LOG_MODULE "source"
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "wt_apps.h"
#include "wt_error.h"
#include "wt_log.h"

#define SOURCE_CHUNK    65536
#define SOURCE_PERIOD   251
#define SOURCE_RETRY_NS (WT_APP_ECHO_RETRY_MS * 1000000ull)

/* byte[i] = i % 251 for i < SOURCE_CHUNK + SOURCE_PERIOD: the bytes from
 * offset o onwards start at pattern + o % 251, for up to SOURCE_CHUNK bytes. */
static uint8_t pattern[SOURCE_CHUNK + SOURCE_PERIOD];
static pthread_once_t pattern_once = PTHREAD_ONCE_INIT;

static void pattern_init(void) {
  for (size_t i = 0; i < sizeof(pattern); i++) {
    pattern[i] = (uint8_t)(i % SOURCE_PERIOD);
  }
}

/* ------------------------------------------------------------------ shared: discard */

/* Count and drop peer data; FIN our side of a peer bidi stream after the
 * peer's FIN. */
static void discard_data(wt_app_stream *st, size_t len, int fin, uint64_t *counter) {
  *counter += len;
  if (fin && wt_app_stream_is_bidi(st)) {
    int rv = wt_app_stream_write(st, NULL, 0, 1);
    if (rv < 0 && rv != WT_ERR_STATE && rv != WT_ERR_CLOSED) {
      WT_LOG_DEBUG("stream %llu: FIN: %s", (unsigned long long)wt_app_stream_id(st),
                   wt_err_str(rv));
    }
  }
}

/* ------------------------------------------------------------------ /source */

typedef struct source_session {
  wt_app_session *as;
  wt_apps *apps;
  wt_app_stream *out;
  uint64_t total, sent;
  uint64_t retry_timer;
  uint8_t done, failed;
} source_session;

static void source_pump(source_session *ss) {
  while (ss->out && !ss->done && !ss->failed) {
    uint64_t left = ss->total - ss->sent;
    size_t n = left > SOURCE_CHUNK ? SOURCE_CHUNK : (size_t)left;
    int fin = (uint64_t)n == left;
    int r = wt_app_stream_write(ss->out, pattern + ss->sent % SOURCE_PERIOD, n, fin);
    if (r == WT_ERR_AGAIN || (r == 0 && n > 0)) {
      return; /* stream_writable continues */
    }
    if (r < 0) {
      WT_LOG_DEBUG("session %llu: source write: %s", (unsigned long long)wt_app_session_id(ss->as),
                   wt_err_str(r));
      ss->failed = 1;
      return;
    }
    ss->sent += (uint64_t)r;
    ss->apps->cnt.source_bytes += (uint64_t)r;
    if (fin && (size_t)r == n) {
      ss->done = 1;
      ss->apps->cnt.source_streams_done++;
    }
  }
}

static void source_start(void *arg) {
  source_session *ss = arg;
  ss->retry_timer = 0;
  int rv = wt_app_open_stream(ss->as, 0, &ss->out);
  if (rv == WT_ERR_AGAIN) {
    ss->out = NULL;
    wt_app_timer_add(wt_app_session_ctx(ss->as), SOURCE_RETRY_NS, source_start, ss,
                     &ss->retry_timer);
    return;
  }
  if (rv < 0) {
    ss->out = NULL;
    ss->failed = 1;
    return;
  }
  wt_app_stream_set_user(ss->out, ss);
  source_pump(ss);
}

static int source_session_request(wt_app_session *as, const wt_app_request *req) {
  wt_apps *apps = wt_app_session_arg(as);
  int st = wt_apps_authorize(apps, as, req, WT_APP_AUTH_SUBSCRIBE, "source");
  if (st != 0) {
    return st;
  }
  uint64_t bytes = 0;
  wt_app_query_get_u64(req->query, "bytes", &bytes); /* absent or malformed: 0 */
  if (bytes > apps->cfg.source_max_bytes) {
    return 400;
  }
  source_session *ss = calloc(1, sizeof(*ss));
  if (!ss) {
    return 503;
  }
  pthread_once(&pattern_once, pattern_init);
  ss->as = as;
  ss->apps = apps;
  ss->total = bytes;
  wt_app_session_set_user(as, ss);
  return 200;
}

static void source_session_open(wt_app_session *as) {
  source_session *ss = wt_app_session_get_user(as);
  ss->apps->cnt.source_sessions++;
  source_start(ss);
}

static void source_session_close(wt_app_session *as, uint32_t code, const uint8_t *reason,
                                 size_t len, int clean) {
  source_session *ss = wt_app_session_get_user(as);
  if (ss) {
    wt_app_timer_cancel(wt_app_session_ctx(as), ss->retry_timer);
    free(ss);
    wt_app_session_set_user(as, NULL);
  }
}

static void source_stream_data(wt_app_stream *st, const uint8_t *data, size_t len, int fin) {
  source_session *ss = wt_app_session_get_user(wt_app_stream_session(st));
  discard_data(st, len, fin, &ss->apps->cnt.sink_bytes);
}

static void source_stream_writable(wt_app_stream *st) {
  source_session *ss = wt_app_stream_get_user(st);
  if (ss && ss->out == st) {
    source_pump(ss);
  }
}

static void source_stream_stop(wt_app_stream *st, uint32_t code, int has_code) {
  source_session *ss = wt_app_stream_get_user(st);
  if (ss && ss->out == st) {
    ss->failed = 1; /* the peer stopped reading */
    wt_app_stream_reset(st, has_code ? code : 0);
  }
}

static void source_stream_close(wt_app_stream *st) {
  source_session *ss = wt_app_stream_get_user(st);
  if (ss && ss->out == st) {
    ss->out = NULL;
  }
}

const wt_app_ops wt_app_source_ops = {
    .name = "source",
    .session_request = source_session_request,
    .session_open = source_session_open,
    .session_close = source_session_close,
    .stream_data = source_stream_data,
    .stream_stop = source_stream_stop,
    .stream_writable = source_stream_writable,
    .stream_close = source_stream_close,
};

/* ------------------------------------------------------------------ /sink */

static int sink_session_request(wt_app_session *as, const wt_app_request *req) {
  int st = wt_apps_authorize(wt_app_session_arg(as), as, req, WT_APP_AUTH_PUBLISH, "sink");
  return st != 0 ? st : 200;
}

static void sink_session_open(wt_app_session *as) {
  wt_apps *apps = wt_app_session_arg(as);
  apps->cnt.sink_sessions++;
}

static void sink_stream_data(wt_app_stream *st, const uint8_t *data, size_t len, int fin) {
  wt_apps *apps = wt_app_session_arg(wt_app_stream_session(st));
  discard_data(st, len, fin, &apps->cnt.sink_bytes);
}

static void sink_datagram(wt_app_session *as, const uint8_t *data, size_t len) {
  wt_apps *apps = wt_app_session_arg(as);
  apps->cnt.sink_datagrams++;
}

const wt_app_ops wt_app_sink_ops = {
    .name = "sink",
    .session_request = sink_session_request,
    .session_open = sink_session_open,
    .stream_data = sink_stream_data,
    .datagram = sink_datagram,
};
