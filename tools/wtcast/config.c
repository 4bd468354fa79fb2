/* config.c: the INI configuration file (see config.h). */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const wtc_key wtc_keys[] = {
    {"server", "listen", "--listen"},
    {"server", "cert", "--cert"},
    {"server", "key", "--key"},
    {"server", "origins", "--origin"},
    {"server", "retry", "--retry"},
    {"server", "tls_ciphers", "--tls-ciphers"},
    {"server", "secret_file", "--key-file"},
    {"server", "max_conns", "--max-conns"},
    {"server", "max_sessions", "--max-sessions"},
    {"server", "idle_timeout_ms", "--idle-timeout"},
    {"server", "drain_timeout_ms", "--drain-timeout"},
    {"server", "cert_rotate_s", "--cert-rotate"},
    {"server", "max_conns_per_ip", "--max-conns-per-ip"},
    {"server", "handshake_timeout_ms", "--handshake-timeout"},
    {"runtime", "workers", "--workers"},
    {"runtime", "app_workers", "--app-workers"},
    {"runtime", "spin_us", "--spin-us"},
    {"runtime", "rx_slice_us", "--rx-slice-us"},
    {"runtime", "io", "--io"},
    {"runtime", "steering", "--steering"},
    {"apps", "stream_send_window", "--stream-send-window"},
    {"apps", "stream_send_window_max", "--stream-send-window-max"},
    {"apps", "source_max_bytes", "--source-max-bytes"},
    {"apps", "echo_max_pending", "--echo-max-pending"},
    {"apps", "relay_lag_max", "--relay-lag-max"},
    {"apps", "relay_group_max", "--relay-group-max"},
    {"apps", "relay_max_channels", "--relay-max-channels"},
    {"apps", "relay_max_subscribers", "--relay-max-subscribers"},
    {"log", "level", "--log-level"},
    {"log", "format", "--log-format"},
    {"metrics", "listen", "--metrics"},
    {"http", "listen", "--http"},
    {"debug", "qlog_dir", "--qlog-dir"},
    {"debug", "qlog_sample", "--qlog-sample"},
    {"debug", "keylog_file", "--keylog-file"},
};
const size_t wtc_n_keys = sizeof(wtc_keys) / sizeof(wtc_keys[0]);

#define WTC_MAX_KEYS (sizeof(wtc_keys) / sizeof(wtc_keys[0]))

const char *wtc_flag_of(const char *section, const char *key) {
  for (size_t i = 0; i < wtc_n_keys; i++) {
    if (!strcmp(section, wtc_keys[i].section) && !strcmp(key, wtc_keys[i].key)) {
      return wtc_keys[i].flag;
    }
  }
  return NULL;
}

static int section_known(const char *section) {
  for (size_t i = 0; i < wtc_n_keys; i++) {
    if (!strcmp(section, wtc_keys[i].section)) {
      return 1;
    }
  }
  return 0;
}

typedef struct wtc_state {
  const char *name;
  /* the reader: a FILE or a string */
  FILE *f;
  const char *text;
  size_t off;
  int next_line; /* number of the line the next chunk starts */
  int cur_line;  /* line of the chunk last returned */
  int handler_error_line;
  int long_line;     /* a line longer than libinih takes (0 = none yet) */
  int long_reported; /* ... already reported */
  int *chunk_line;   /* line of each reader call (libinih counts calls) */
  size_t n_chunks, cap_chunks;
  int errors;
  int seen_line[WTC_MAX_KEYS]; /* where each key was set (0 = not yet) */
  wtc_apply_fn apply;
  void *actx;
  wtc_diag_fn diag;
  void *dctx;
} wtc_state;

static void wtc_error(wtc_state *st, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void wtc_error(wtc_state *st, int line, const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  st->errors++;
  if (st->diag) {
    st->diag(st->dctx, st->name, line, msg);
  }
}

/* fgets-like; counts lines (a chunk without '\n' continues the line). */
static char *wtc_reader(char *str, int num, void *stream) {
  wtc_state *st = stream;
  char *r = NULL;
  if (st->f) {
    r = fgets(str, num, st->f);
  } else if (st->text[st->off]) {
    size_t i = 0;
    while (i + 1 < (size_t)num && st->text[st->off]) {
      char ch = st->text[st->off++];
      str[i++] = ch;
      if (ch == '\n') {
        break;
      }
    }
    str[i] = '\0';
    r = str;
  }
  if (r) {
    st->cur_line = st->next_line;
    size_t len = strlen(r);
    if (len > 0 && r[len - 1] == '\n') {
      st->next_line++;
    } else if (len + 1 >= (size_t)num) {
      st->long_line = st->cur_line;
    }
    if (st->n_chunks + 1 >= st->cap_chunks) {
      size_t cap = st->cap_chunks ? 2 * st->cap_chunks : 64;
      int *p = realloc(st->chunk_line, cap * sizeof(*p));
      if (p) {
        st->chunk_line = p;
        st->cap_chunks = cap;
      }
    }
    if (st->n_chunks + 1 < st->cap_chunks) {
      st->chunk_line[++st->n_chunks] = st->cur_line; /* libinih's line numbers start at 1 */
    }
  }
  return r;
}

static int wtc_handler(void *user, const char *section, const char *name, const char *value) {
  wtc_state *st = user;
  int line = st->cur_line;
  if (line == st->long_line) {
    if (!st->long_reported) {
      st->long_reported = 1;
      wtc_error(st, line, "line longer than %d bytes", INI_MAX_LINE - 1);
    }
    st->handler_error_line = line;
    return 1;
  }
  if (!section[0]) {
    wtc_error(st, line, "'%s' is outside any [section]", name);
    st->handler_error_line = line;
    return 1;
  }
  if (!section_known(section)) {
    wtc_error(st, line, "unknown section [%s]", section);
    st->handler_error_line = line;
    return 1;
  }
  size_t k = 0;
  while (k < wtc_n_keys &&
         (strcmp(section, wtc_keys[k].section) || strcmp(name, wtc_keys[k].key))) {
    k++;
  }
  if (k == wtc_n_keys) {
    wtc_error(st, line, "unknown key '%s' in [%s]", name, section);
    st->handler_error_line = line;
    return 1;
  }
  if (st->seen_line[k]) {
    wtc_error(st, line, "[%s] %s is already set on line %d", section, name, st->seen_line[k]);
    st->handler_error_line = line;
    return 1;
  }
  st->seen_line[k] = line;
  char *v = strdup(value);
  char err[256] = "";
  if (!v) {
    wtc_error(st, line, "out of memory");
    return 1;
  }
  if (st->apply && st->apply(st->actx, wtc_keys[k].flag, v, err, sizeof(err)) < 0) {
    wtc_error(st, line, "[%s] %s: %s", section, name, err[0] ? err : "invalid value");
    st->handler_error_line = line;
  } else if (!st->apply) {
    free(v);
  }
  return 1; /* keep going: report every error */
}

static int wtc_run(wtc_state *st) {
  st->next_line = 1;
  int rv = ini_parse_stream(wtc_reader, st, wtc_handler, st);
  if (rv > 0) {
    /* libinih reports its first error by reader call; map it to the line.
     * A handler error on that line was reported already. */
    int line = (size_t)rv <= st->n_chunks && st->chunk_line ? st->chunk_line[rv] : rv;
    if (line == st->long_line && !st->long_reported) {
      st->long_reported = 1;
      wtc_error(st, line, "line longer than %d bytes", INI_MAX_LINE - 1);
    } else if (line != st->handler_error_line && line != st->long_line) {
      wtc_error(st, line, "syntax error: expected '[section]' or 'key = value'");
    }
  } else if (rv < 0) {
    wtc_error(st, 0, "cannot parse (out of memory)");
  }
  return st->errors;
}

int wtc_config_load(const char *path, wtc_apply_fn apply, void *actx, wtc_diag_fn diag,
                    void *dctx) {
  wtc_state st;
  memset(&st, 0, sizeof(st));
  st.name = path;
  st.apply = apply;
  st.actx = actx;
  st.diag = diag;
  st.dctx = dctx;
  st.f = fopen(path, "r");
  if (!st.f) {
    wtc_error(&st, 0, "cannot read: %s", strerror(errno));
    return st.errors;
  }
  int n = wtc_run(&st);
  fclose(st.f);
  free(st.chunk_line);
  return n;
}

int wtc_config_load_string(const char *text, const char *name, wtc_apply_fn apply, void *actx,
                           wtc_diag_fn diag, void *dctx) {
  wtc_state st;
  memset(&st, 0, sizeof(st));
  st.name = name;
  st.text = text;
  st.apply = apply;
  st.actx = actx;
  st.diag = diag;
  st.dctx = dctx;
  int n = wtc_run(&st);
  free(st.chunk_line);
  return n;
}
