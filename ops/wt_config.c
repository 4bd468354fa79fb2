/* wt_config.c: the INI configuration file (see wt_config.h). */
#include "wt_config.h"

#include <errno.h>
#include <stdarg.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wt_options.h"

static int section_known(const char *section) {
  for (size_t i = 0; i < wt_options_count; i++) {
    const char *s = wt_options_table[i].section;
    if (s && !strcmp(section, s)) {
      return 1;
    }
  }
  return 0;
}

typedef struct cfg_state {
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
  int *seen_line; /* [wt_options_count]: where each key was set (0 = not yet) */
  wt_config_apply_fn apply;
  void *actx;
  wt_config_diag_fn diag;
  void *dctx;
} cfg_state;

static void cfg_error(cfg_state *st, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void cfg_error(cfg_state *st, int line, const char *fmt, ...) {
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
static char *cfg_reader(char *str, int num, void *stream) {
  cfg_state *st = stream;
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

static int cfg_handler(void *user, const char *section, const char *name, const char *value) {
  cfg_state *st = user;
  int line = st->cur_line;
  if (line == st->long_line) {
    if (!st->long_reported) {
      st->long_reported = 1;
      cfg_error(st, line, "line longer than %d bytes", INI_MAX_LINE - 1);
    }
    st->handler_error_line = line;
    return 1;
  }
  if (!section[0]) {
    cfg_error(st, line, "'%s' is outside any [section]", name);
    st->handler_error_line = line;
    return 1;
  }
  if (!section_known(section)) {
    cfg_error(st, line, "unknown section [%s]", section);
    st->handler_error_line = line;
    return 1;
  }
  const wt_option *opt = wt_options_find_key(section, name);
  if (!opt) {
    cfg_error(st, line, "unknown key '%s' in [%s]", name, section);
    st->handler_error_line = line;
    return 1;
  }
  size_t k = (size_t)(opt - wt_options_table);
  if (st->seen_line[k]) {
    cfg_error(st, line, "[%s] %s is already set on line %d", section, name, st->seen_line[k]);
    st->handler_error_line = line;
    return 1;
  }
  st->seen_line[k] = line;
  char err[256] = "";
  if (st->apply && st->apply(st->actx, opt->name, value, err, sizeof(err)) < 0) {
    cfg_error(st, line, "[%s] %s: %s", section, name, err[0] ? err : "invalid value");
    st->handler_error_line = line;
  }
  return 1; /* keep going: report every error */
}

/* Parse, then free what the parse allocated; returns the error count. */
static int cfg_run(cfg_state *st) {
  st->next_line = 1;
  st->seen_line = calloc(wt_options_count, sizeof(*st->seen_line));
  int rv = st->seen_line ? ini_parse_stream(cfg_reader, st, cfg_handler, st) : -2;
  if (rv > 0) {
    /* libinih reports its first error by reader call; map it to the line.
     * A handler error on that line was reported already. */
    int line = (size_t)rv <= st->n_chunks && st->chunk_line ? st->chunk_line[rv] : rv;
    if (line == st->long_line && !st->long_reported) {
      st->long_reported = 1;
      cfg_error(st, line, "line longer than %d bytes", INI_MAX_LINE - 1);
    } else if (line != st->handler_error_line && line != st->long_line) {
      cfg_error(st, line, "syntax error: expected '[section]' or 'key = value'");
    }
  } else if (rv < 0) {
    cfg_error(st, 0, "cannot parse (out of memory)");
  }
  free(st->seen_line);
  free(st->chunk_line);
  return st->errors;
}

int wt_config_load(const char *path, wt_config_apply_fn apply, void *actx, wt_config_diag_fn diag,
                   void *dctx) {
  cfg_state st;
  memset(&st, 0, sizeof(st));
  st.name = path;
  st.apply = apply;
  st.actx = actx;
  st.diag = diag;
  st.dctx = dctx;
  st.f = fopen(path, "r");
  if (!st.f) {
    cfg_error(&st, 0, "cannot read: %s", strerror(errno));
    return st.errors;
  }
  int n = cfg_run(&st);
  fclose(st.f);
  return n;
}

int wt_config_load_string(const char *text, const char *name, wt_config_apply_fn apply, void *actx,
                          wt_config_diag_fn diag, void *dctx) {
  cfg_state st;
  memset(&st, 0, sizeof(st));
  st.name = name;
  st.text = text;
  st.apply = apply;
  st.actx = actx;
  st.diag = diag;
  st.dctx = dctx;
  return cfg_run(&st);
}
