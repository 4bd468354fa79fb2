/* wt_log.c: level filter, formatting and the default stderr sink. */
#include "wt_log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "wt_error.h"

_Atomic int wt_log_level_g = WT_LOG_LEVEL_INFO;

/* Set before threads start (see wt_log_set_sink), read-only afterwards. */
static wt_log_sink_fn log_sink = wt_log_sink_stderr;
static void *log_sink_ctx;

static _Atomic int log_format = WT_LOG_FORMAT_TEXT;

void wt_log_set_format(int format) {
  atomic_store_explicit(&log_format,
                        format == WT_LOG_FORMAT_JSON ? WT_LOG_FORMAT_JSON : WT_LOG_FORMAT_TEXT,
                        memory_order_relaxed);
}

int wt_log_get_format(void) {
  return atomic_load_explicit(&log_format, memory_order_relaxed);
}

long long wt_log_rl_check(wt_log_ratelimit *rl, unsigned burst) {
  struct timespec ts;
  if (clock_gettime(CLOCK_MONOTONIC_COARSE, &ts) != 0) { /* layering-ok: log rate limit */
    return 0;
  }
  unsigned long long now = (unsigned long long)ts.tv_sec + 1; /* 0 = never */
  unsigned long long w = atomic_load_explicit(&rl->window, memory_order_relaxed);
  if (w != now && atomic_compare_exchange_strong(&rl->window, &w, now)) {
    atomic_store_explicit(&rl->count, 0, memory_order_relaxed);
  }
  if (atomic_fetch_add_explicit(&rl->count, 1, memory_order_relaxed) >= burst) {
    atomic_fetch_add_explicit(&rl->suppressed, 1, memory_order_relaxed);
    return -1;
  }
  return (long long)atomic_exchange_explicit(&rl->suppressed, 0, memory_order_relaxed);
}

static const char *const level_names[] = {"ERROR", "WARN", "INFO", "DEBUG", "TRACE"};

void wt_log_set_level(int level) {
  if (level < WT_LOG_LEVEL_ERROR) {
    level = WT_LOG_LEVEL_ERROR;
  } else if (level > WT_LOG_LEVEL_TRACE) {
    level = WT_LOG_LEVEL_TRACE;
  }
  atomic_store_explicit(&wt_log_level_g, level, memory_order_relaxed);
}

int wt_log_get_level(void) {
  return atomic_load_explicit(&wt_log_level_g, memory_order_relaxed);
}

int wt_log_level_parse(const char *s) {
  static const struct {
    const char *name;
    int level;
  } names[] = {
      {"error", WT_LOG_LEVEL_ERROR}, {"warn", WT_LOG_LEVEL_WARN},   {"warning", WT_LOG_LEVEL_WARN},
      {"info", WT_LOG_LEVEL_INFO},   {"debug", WT_LOG_LEVEL_DEBUG}, {"trace", WT_LOG_LEVEL_TRACE},
  };
  if (s == NULL) {
    return WT_ERR_INVAL;
  }
  if (s[0] >= '0' && s[0] <= '0' + WT_LOG_LEVEL_TRACE && s[1] == '\0') {
    return s[0] - '0';
  }
  for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
    if (strcasecmp(s, names[i].name) == 0) {
      return names[i].level;
    }
  }
  return WT_ERR_INVAL;
}

const char *wt_log_level_name(int level) {
  if (level < WT_LOG_LEVEL_ERROR || level > WT_LOG_LEVEL_TRACE) {
    return "?";
  }
  return level_names[level];
}

void wt_log_set_sink(wt_log_sink_fn fn, void *ctx) {
  if (fn == NULL) {
    log_sink = wt_log_sink_stderr;
    log_sink_ctx = NULL;
    return;
  }
  log_sink = fn;
  log_sink_ctx = ctx;
}

/* JSON-escape src[0..len) into dst (cap bytes, NUL-terminated; cut short
 * when full). Returns the length written. */
static size_t log_json_escape(char *dst, size_t cap, const char *src, size_t len) {
  static const char hex[] = "0123456789abcdef";
  size_t n = 0;
  for (size_t i = 0; i < len && n + 7 < cap; i++) {
    unsigned char ch = (unsigned char)src[i];
    if (ch == '"' || ch == '\\') {
      dst[n++] = '\\';
      dst[n++] = (char)ch;
    } else if (ch < 0x20 || ch == 0x7f) {
      memcpy(dst + n, "\\u00", 4);
      dst[n + 4] = hex[ch >> 4];
      dst[n + 5] = hex[ch & 15];
      n += 6;
    } else {
      dst[n++] = (char)ch;
    }
  }
  dst[n] = '\0';
  return n;
}

/* Leading "key=value " tokens of a message (key: [a-z_]{1,32}; value: no
 * space, quote or backslash) become JSON fields of their own: the
 * connection and session identifiers that call sites put first. */
static size_t log_json_fields(char *dst, size_t cap, const char **msg, size_t *len) {
  size_t n = 0;
  for (int fields = 0; fields < 8; fields++) {
    const char *p = *msg, *end = *msg + *len;
    const char *k = p;
    while (p < end && ((*p >= 'a' && *p <= 'z') || *p == '_') && p - k < 32) {
      p++;
    }
    if (p == k || p >= end || *p != '=') {
      break;
    }
    size_t klen = (size_t)(p - k);
    const char *v = ++p;
    while (p < end && *p != ' ' && *p != '"' && *p != '\\' && (unsigned char)*p > 0x20 &&
           (unsigned char)*p != 0x7f && p - v < 128) {
      p++;
    }
    if (p == v || (p < end && *p != ' ')) {
      break;
    }
    static const char *const reserved[] = {"ts", "level", "module", "msg"};
    int clash = 0;
    for (size_t i = 0; i < 4; i++) {
      clash |= strlen(reserved[i]) == klen && memcmp(reserved[i], k, klen) == 0;
    }
    if (clash) {
      break;
    }
    int w = snprintf(dst + n, cap - n, "\"%.*s\":\"%.*s\",", (int)klen, k, (int)(p - v), v);
    if (w < 0 || (size_t)w >= cap - n) {
      break;
    }
    n += (size_t)w;
    if (p < end) {
      p++; /* the space */
    }
    *len -= (size_t)(p - *msg);
    *msg = p;
  }
  dst[n] = '\0';
  return n;
}

static void log_json_line(FILE *out, const struct tm *tm, long nsec, int level, const char *module,
                          const char *msg, size_t len) {
  char emsg[WT_LOG_MSG_MAX * 6 + 8], emod[96], lvl[8], fields[512];
  log_json_fields(fields, sizeof(fields), &msg, &len);
  log_json_escape(emsg, sizeof(emsg), msg, len);
  const char *m = module != NULL ? module : "-";
  log_json_escape(emod, sizeof(emod), m, strlen(m));
  const char *ln = wt_log_level_name(level);
  size_t k = 0;
  for (; ln[k] && k + 1 < sizeof(lvl); k++) {
    lvl[k] = (char)(ln[k] >= 'A' && ln[k] <= 'Z' ? ln[k] - 'A' + 'a' : ln[k]);
  }
  lvl[k] = '\0';
  char line[sizeof(emsg) + sizeof(fields) + 256];
  int n = snprintf(
      line, sizeof(line),
      "{\"ts\":\"%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ\",\"level\":\"%s\",\"module\":\"%s\","
      "%s\"msg\":\"%s\"}\n",
      tm->tm_year + 1900, tm->tm_mon + 1, tm->tm_mday, tm->tm_hour, tm->tm_min, tm->tm_sec,
      nsec / 1000, lvl, emod, fields, emsg);
  if (n < 0 || (size_t)n >= sizeof(line)) {
    return;
  }
  fwrite(line, 1, (size_t)n, out);
  fflush(out);
}

void wt_log_sink_stderr(void *ctx, int level, const char *module, const char *msg, size_t len) {
  FILE *out = ctx != NULL ? (FILE *)ctx : stderr;
  struct timespec ts;
  struct tm tm;
  char line[WT_LOG_MSG_MAX + 128];

  if (clock_gettime(CLOCK_REALTIME, &ts) != 0) { /* layering-ok: log sink */
    ts.tv_sec = 0;
    ts.tv_nsec = 0;
  }
  gmtime_r(&ts.tv_sec, &tm);
  if (atomic_load_explicit(&log_format, memory_order_relaxed) == WT_LOG_FORMAT_JSON) {
    log_json_line(out, &tm, ts.tv_nsec, level, module, msg, len);
    return;
  }
  int n = snprintf(line, sizeof(line), "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ %-5s [%s] %.*s\n",
                   tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                   (long)(ts.tv_nsec / 1000), wt_log_level_name(level),
                   module != NULL ? module : "-", (int)len, msg);
  if (n < 0) {
    return;
  }
  if ((size_t)n >= sizeof(line)) {
    /* Only a very long module tag gets here: keep the line a line. */
    n = (int)sizeof(line) - 1;
    line[n - 1] = '\n';
  }
  /* One fwrite per line: stdio locks the stream per call, so lines from
   * different threads do not interleave. */
  fwrite(line, 1, (size_t)n, out);
  fflush(out);
}

void wt_log_vwrite(int level, const char *module, const char *fmt, va_list ap) {
  int saved_errno = errno;
  char msg[WT_LOG_MSG_MAX];
  int n = vsnprintf(msg, sizeof(msg), fmt, ap);
  size_t len;

  if (n < 0) {
    len = (size_t)snprintf(msg, sizeof(msg), "(bad log format: %s)", fmt);
    if (len >= sizeof(msg)) {
      len = sizeof(msg) - 1;
    }
  } else if ((size_t)n >= sizeof(msg)) {
    /* Truncated: say so rather than cut silently. */
    len = sizeof(msg) - 1;
    memcpy(msg + len - 3, "...", 3);
  } else {
    len = (size_t)n;
  }
  /* One call, one line: a newline inside the message would forge a line. */
  for (size_t i = 0; i < len; i++) {
    if (msg[i] == '\n' || msg[i] == '\r') {
      msg[i] = ' ';
    }
  }
  log_sink(log_sink_ctx, level, module, msg, len);
  errno = saved_errno;
}

void wt_log_write(int level, const char *module, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  wt_log_vwrite(level, module, fmt, ap);
  va_end(ap);
}
