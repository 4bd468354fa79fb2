/* wt_log.h: project-wide logging.
 *
 * Five levels, most to least severe: error, warn, info, debug, trace. A
 * message is emitted when its level is <= the runtime level (default info)
 * and <= the compile-time floor WT_LOG_FLOOR (default trace: nothing
 * compiled out). The macros test the level before evaluating their
 * arguments, so a filtered call costs one relaxed load and a branch, and a
 * call above the floor is removed by the compiler (its arguments are still
 * type-checked but never evaluated).
 *
 * Each call produces exactly one line at the sink: the message is formatted
 * into a bounded buffer (longer ones are cut and end in "..."), newlines in
 * it become spaces, and the sink is called once. The default sink writes
 *   2025-01-31T12:34:56.789012Z WARN  [module] message
 * to stderr (UTC timestamp taken inside the sink, the only place in core/
 * that reads a clock). errno is preserved across a log call.
 *
 * Module tag: define WT_LOG_MODULE to a string literal before including this
 * header (default "wt"); the WT_LOG_<LEVEL> macros use it. WT_LOGM takes the
 * tag explicitly. Put connection IDs and other context in the message, first,
 * as key=value tokens (see WT_LOG_FORMAT_JSON).
 *
 * Threads: logging calls and wt_log_set_level are safe from any thread.
 * wt_log_set_sink must not race with logging calls: set it at start-up (or
 * in tests) before other threads log. A sink may be called from several
 * threads at once and must cope with that. */
#ifndef WT_LOG_H
#define WT_LOG_H

#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <string.h>

/* Levels (plain integers so #if can compare them). */
#define WT_LOG_LEVEL_ERROR 0
#define WT_LOG_LEVEL_WARN  1
#define WT_LOG_LEVEL_INFO  2
#define WT_LOG_LEVEL_DEBUG 3
#define WT_LOG_LEVEL_TRACE 4

#ifndef WT_LOG_FLOOR
#define WT_LOG_FLOOR WT_LOG_LEVEL_TRACE
#endif

#ifndef WT_LOG_MODULE
#define WT_LOG_MODULE "wt"
#endif

/* Longest message (after formatting, before the sink's prefix). */
#define WT_LOG_MSG_MAX 1024

/* A sink receives one formatted message (msg[len] == '\0', no newline). */
typedef void (*wt_log_sink_fn)(void *ctx, int level, const char *module, const char *msg,
                               size_t len);

/* The runtime level; read through wt_log_enabled, set with wt_log_set_level. */
extern _Atomic int wt_log_level_g;

/* Set the runtime level (clamped to [ERROR, TRACE]). Any thread. */
void wt_log_set_level(int level);

/* The current runtime level. */
int wt_log_get_level(void);

/* Parse a level name: "error", "warn"/"warning", "info", "debug", "trace"
 * (any case) or a digit 0..4. Returns the level or WT_ERR_INVAL (also for
 * NULL). */
int wt_log_level_parse(const char *s);

/* "ERROR", "WARN", "INFO", "DEBUG", "TRACE", or "?" for anything else. */
const char *wt_log_level_name(int level);

/* Route every line to fn(ctx, ...); fn == NULL restores the default sink
 * (wt_log_sink_stderr with ctx NULL). See the threading note above. */
void wt_log_set_sink(wt_log_sink_fn fn, void *ctx);

/* The default sink: writes "<ISO-8601 UTC time> <LEVEL> [module] msg\n" to
 * the FILE * given as ctx, or to stderr when ctx is NULL, in one write. */
void wt_log_sink_stderr(void *ctx, int level, const char *module, const char *msg, size_t len);

/* Line format of the default sink. TEXT (default): as above. JSON: one
 * object per line, machine-parsable:
 *   {"ts":"2025-01-31T12:34:56.789012Z","level":"warn","module":"shard","msg":"..."}
 * (msg JSON-escaped). Leading "key=value " tokens of the message become
 * fields of their own: "conn=ab12 session=4 closing" gives
 *   {...,"module":"conn","conn":"ab12","session":"4","msg":"closing"}
 * so call sites put identifiers first (conn= the original DCID in hex, the
 * name of the connection's qlog file too). Any thread; takes effect for the
 * next line. */
#define WT_LOG_FORMAT_TEXT 0
#define WT_LOG_FORMAT_JSON 1
void wt_log_set_format(int format);
int wt_log_get_format(void);

/* Rate limiting of noisy events (one static state per call site, see
 * WT_LOG_RL): at most `burst` lines per second from that site; the first
 * line let through after a suppressed stretch is followed by one line
 * saying how many were suppressed. Any thread (counts are approximate
 * under contention, never more than about burst per second). */
typedef struct wt_log_ratelimit {
  _Atomic unsigned long long window; /* second of the current window */
  _Atomic unsigned count;            /* lines let through in it */
  _Atomic unsigned long long suppressed;
} wt_log_ratelimit;

/* -1: drop this line; else the number of lines suppressed before it (to
 * report). Reads a coarse monotonic clock (the log module's one exception
 * to core/'s no-clock rule, like the sink's timestamp). */
long long wt_log_rl_check(wt_log_ratelimit *rl, unsigned burst);

#define WT_LOGM_RL(level, module, burst, ...)                                                      \
  do {                                                                                             \
    static wt_log_ratelimit wt_rl_;                                                                \
    if (wt_log_enabled(level)) {                                                                   \
      long long wt_sup_ = wt_log_rl_check(&wt_rl_, (burst));                                       \
      if (wt_sup_ >= 0) {                                                                          \
        wt_log_write((level), (module), __VA_ARGS__);                                              \
        if (wt_sup_ > 0) {                                                                         \
          wt_log_write((level), (module), "(%lld similar message(s) suppressed by rate limiting)", \
                       wt_sup_);                                                                   \
        }                                                                                          \
      }                                                                                            \
    }                                                                                              \
  } while (0)

/* WT_LOG_<LEVEL>_RL(burst, fmt, ...): rate-limited variants. */
#define WT_LOG_WARN_RL(burst, ...) WT_LOGM_RL(WT_LOG_LEVEL_WARN, WT_LOG_MODULE, burst, __VA_ARGS__)
#define WT_LOG_INFO_RL(burst, ...) WT_LOGM_RL(WT_LOG_LEVEL_INFO, WT_LOG_MODULE, burst, __VA_ARGS__)
#define WT_LOG_DEBUG_RL(burst, ...)                                                                \
  WT_LOGM_RL(WT_LOG_LEVEL_DEBUG, WT_LOG_MODULE, burst, __VA_ARGS__)

/* Format and emit one message unconditionally (the macros do the level
 * checks). level outside [ERROR, TRACE] is passed through to the sink. */
void wt_log_write(int level, const char *module, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void wt_log_vwrite(int level, const char *module, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

/* Non-zero if a message at `level` would be emitted. A constant level above
 * WT_LOG_FLOOR makes this a compile-time 0. */
#define wt_log_enabled(level)                                                                      \
  ((level) <= WT_LOG_FLOOR &&                                                                      \
   (level) <= atomic_load_explicit(&wt_log_level_g, memory_order_relaxed))

#define WT_LOGM(level, module, ...)                                                                \
  do {                                                                                             \
    if (wt_log_enabled(level)) {                                                                   \
      wt_log_write((level), (module), __VA_ARGS__);                                                \
    }                                                                                              \
  } while (0)

#define WT_LOG_ERROR(...) WT_LOGM(WT_LOG_LEVEL_ERROR, WT_LOG_MODULE, __VA_ARGS__)
#define WT_LOG_WARN(...)  WT_LOGM(WT_LOG_LEVEL_WARN, WT_LOG_MODULE, __VA_ARGS__)
#define WT_LOG_INFO(...)  WT_LOGM(WT_LOG_LEVEL_INFO, WT_LOG_MODULE, __VA_ARGS__)
#define WT_LOG_DEBUG(...) WT_LOGM(WT_LOG_LEVEL_DEBUG, WT_LOG_MODULE, __VA_ARGS__)
#define WT_LOG_TRACE(...) WT_LOGM(WT_LOG_LEVEL_TRACE, WT_LOG_MODULE, __VA_ARGS__)

/* A request path without its query, for "%.*s": queries carry secrets
 * (the "jwt" token of docs/operations.md "Authorization") and never reach a log
 * line. p must not be NULL. */
#define WT_LOG_NOQUERY(p) (int)strcspn((p), "?"), (p)

#endif
