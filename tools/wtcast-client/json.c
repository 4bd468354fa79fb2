/* json.c: a minimal streaming JSON writer for the client's report.
 * Pretty-printed (two-space indent); strings that are not valid UTF-8 have
 * their bytes >= 0x80 written as \u00XX so the output always parses. */
#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "client.h"
#include "wt_utf8.h"

static void cj_indent(cl_json *j) {
  fputc('\n', j->f);
  for (int i = 0; i < j->depth; i++) {
    fputs("  ", j->f);
  }
}

static void cj_raw_str(cl_json *j, const char *s, size_t n) {
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
static void cj_member(cl_json *j, const char *key) {
  if (j->depth > 0) {
    if (!j->first[j->depth]) {
      fputc(',', j->f);
    }
    j->first[j->depth] = 0;
    cj_indent(j);
  }
  if (key) {
    cj_raw_str(j, key, strlen(key));
    fputs(": ", j->f);
  }
}

static void cj_open(cl_json *j, const char *key, char ch) {
  cj_member(j, key);
  fputc(ch, j->f);
  if (j->depth < 31) {
    j->depth++;
  }
  j->first[j->depth] = 1;
}

static void cj_close(cl_json *j, char ch) {
  int empty = j->first[j->depth];
  if (j->depth > 0) {
    j->depth--;
  }
  if (!empty) {
    cj_indent(j);
  }
  fputc(ch, j->f);
  if (j->depth == 0) {
    fputc('\n', j->f);
  }
}

void cj_begin_obj(cl_json *j, const char *key) {
  cj_open(j, key, '{');
}

void cj_end_obj(cl_json *j) {
  cj_close(j, '}');
}

void cj_begin_arr(cl_json *j, const char *key) {
  cj_open(j, key, '[');
}

void cj_end_arr(cl_json *j) {
  cj_close(j, ']');
}

void cj_strn(cl_json *j, const char *key, const char *s, size_t n) {
  cj_member(j, key);
  cj_raw_str(j, s ? s : "", s ? n : 0);
}

void cj_str(cl_json *j, const char *key, const char *s) {
  cj_strn(j, key, s, s ? strlen(s) : 0);
}

void cj_u64(cl_json *j, const char *key, uint64_t v) {
  cj_member(j, key);
  fprintf(j->f, "%" PRIu64, v);
}

void cj_i64(cl_json *j, const char *key, int64_t v) {
  cj_member(j, key);
  fprintf(j->f, "%" PRId64, v);
}

void cj_bool(cl_json *j, const char *key, int v) {
  cj_member(j, key);
  fputs(v ? "true" : "false", j->f);
}

void cj_num(cl_json *j, const char *key, double v) {
  cj_member(j, key);
  if (!isfinite(v)) {
    fputs("null", j->f);
  } else {
    fprintf(j->f, "%.3f", v);
  }
}

void cj_null(cl_json *j, const char *key) {
  cj_member(j, key);
  fputs("null", j->f);
}

void cj_hex64(cl_json *j, const char *key, uint64_t v) {
  char buf[17];
  snprintf(buf, sizeof(buf), "%016" PRIx64, v);
  cj_str(j, key, buf);
}
