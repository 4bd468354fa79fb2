/* wt_json.c: the JSON writer (see wt_json.h). */
#include "wt_json.h"

#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "wt_utf8.h"

void wt_json_init(wt_json *j, FILE *f, int pretty) {
  memset(j, 0, sizeof(*j));
  j->f = f;
  j->pretty = pretty;
}

static void json_indent(wt_json *j) {
  fputc('\n', j->f);
  for (int i = 0; i < j->depth; i++) {
    fputs("  ", j->f);
  }
}

static void json_raw_str(wt_json *j, const char *s, size_t n) {
  int valid = wt_utf8_valid((const uint8_t *)s, n);
  fputc('"', j->f);
  for (size_t i = 0; i < n; i++) {
    unsigned char ch = (unsigned char)s[i];
    if (ch == '"' || ch == '\\') {
      fputc('\\', j->f);
      fputc(ch, j->f);
    } else if (ch == '\n') {
      fputs("\\n", j->f);
    } else if (ch == '\r') {
      fputs("\\r", j->f);
    } else if (ch == '\t') {
      fputs("\\t", j->f);
    } else if (ch < 0x20 || ch == 0x7f || (ch >= 0x80 && !valid)) {
      fprintf(j->f, "\\u%04x", ch);
    } else {
      fputc(ch, j->f);
    }
  }
  fputc('"', j->f);
}

/* Separator, indentation and "key": for the next member. */
static void json_member(wt_json *j, const char *key) {
  if (j->depth > 0) {
    if (!j->first[j->depth]) {
      fputc(',', j->f);
    }
    j->first[j->depth] = 0;
    if (j->pretty) {
      json_indent(j);
    }
  }
  if (key) {
    json_raw_str(j, key, strlen(key));
    fputs(j->pretty ? ": " : ":", j->f);
  }
}

static void json_open(wt_json *j, const char *key, char ch) {
  json_member(j, key);
  fputc(ch, j->f);
  if (j->depth < WT_JSON_DEPTH - 1) {
    j->depth++;
  }
  j->first[j->depth] = 1;
}

static void json_close(wt_json *j, char ch) {
  int empty = j->first[j->depth];
  if (j->depth > 0) {
    j->depth--;
  }
  if (!empty && j->pretty) {
    json_indent(j);
  }
  fputc(ch, j->f);
  if (j->depth == 0) {
    fputc('\n', j->f);
  }
}

void wt_json_begin_obj(wt_json *j, const char *key) {
  json_open(j, key, '{');
}

void wt_json_end_obj(wt_json *j) {
  json_close(j, '}');
}

void wt_json_begin_arr(wt_json *j, const char *key) {
  json_open(j, key, '[');
}

void wt_json_end_arr(wt_json *j) {
  json_close(j, ']');
}

void wt_json_strn(wt_json *j, const char *key, const char *s, size_t n) {
  json_member(j, key);
  json_raw_str(j, s ? s : "", s ? n : 0);
}

void wt_json_str(wt_json *j, const char *key, const char *s) {
  wt_json_strn(j, key, s, s ? strlen(s) : 0);
}

void wt_json_u64(wt_json *j, const char *key, uint64_t v) {
  json_member(j, key);
  fprintf(j->f, "%" PRIu64, v);
}

void wt_json_i64(wt_json *j, const char *key, int64_t v) {
  json_member(j, key);
  fprintf(j->f, "%" PRId64, v);
}

void wt_json_bool(wt_json *j, const char *key, int v) {
  json_member(j, key);
  fputs(v ? "true" : "false", j->f);
}

void wt_json_fixed3(wt_json *j, const char *key, double v) {
  json_member(j, key);
  if (!isfinite(v)) {
    fputs("null", j->f);
  } else {
    fprintf(j->f, "%.3f", v);
  }
}

void wt_json_num(wt_json *j, const char *key, double v) {
  json_member(j, key);
  fprintf(j->f, "%.6g", v);
}

void wt_json_null(wt_json *j, const char *key) {
  json_member(j, key);
  fputs("null", j->f);
}

void wt_json_hex64(wt_json *j, const char *key, uint64_t v) {
  char buf[17];
  snprintf(buf, sizeof(buf), "%016" PRIx64, v);
  wt_json_str(j, key, buf);
}
