/* wt_json.h: the streaming JSON writer of the client programs' reports.
 * Two layouts: pretty (two-space indent, "key": value, a newline after the
 * top-level value: wtcast-client) and compact (one line, "key":value:
 * wtcast-bench --scenario fanout --verify). Strings that are not valid UTF-8 have their
 * bytes >= 0x80 written as \u00XX, so the output always parses.
 *
 * Ownership: the writer borrows f. Threading: one writer per thread.
 * Nesting deeper than WT_JSON_DEPTH - 1 is written but not indented. */
#ifndef WT_JSON_H
#define WT_JSON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define WT_JSON_DEPTH 32

typedef struct wt_json {
  FILE *f;
  int pretty;
  int depth;
  int first[WT_JSON_DEPTH];
} wt_json;

void wt_json_init(wt_json *j, FILE *f, int pretty);

/* key NULL: an array element (or the top-level value). */
void wt_json_begin_obj(wt_json *j, const char *key);
void wt_json_end_obj(wt_json *j);
void wt_json_begin_arr(wt_json *j, const char *key);
void wt_json_end_arr(wt_json *j);
void wt_json_str(wt_json *j, const char *key, const char *s); /* NULL as "" */
void wt_json_strn(wt_json *j, const char *key, const char *s, size_t n);
void wt_json_u64(wt_json *j, const char *key, uint64_t v);
void wt_json_i64(wt_json *j, const char *key, int64_t v);
void wt_json_bool(wt_json *j, const char *key, int v);
void wt_json_fixed3(wt_json *j, const char *key, double v); /* %.3f, null if not finite */
void wt_json_num(wt_json *j, const char *key, double v);    /* %.6g */
void wt_json_null(wt_json *j, const char *key);
void wt_json_hex64(wt_json *j, const char *key, uint64_t v); /* "0123456789abcdef" */

#endif
