/* config.h: wtcast's configuration file (INI, parsed with libinih).
 *
 * Every key is the twin of a command-line option: the file is read first,
 * then the command line overrides it. The table (wtc_keys) maps
 * "[section] key" to the option name; the caller's apply function validates
 * the value exactly as it does for the command line.
 *
 *   [server]   listen, cert, key, origins, retry, secret_file, max_conns,
 *              max_sessions, idle_timeout_ms, drain_timeout_ms, cert_rotate_s,
 *              max_conns_per_ip, handshake_timeout_ms
 *   [runtime]  workers, app_workers, io, steering
 *   [apps]     source_max_bytes, echo_max_pending, relay_lag_max,
 *              relay_group_max, relay_max_channels, relay_max_subscribers
 *   [log]      level, format
 *   [metrics]  listen
 *   [http]     listen
 *   [debug]    qlog_dir, qlog_sample, keylog_file
 *
 * Errors carry the line number: a syntax error (inih), an unknown section
 * or key, a key given twice, or a value the apply function refuses. Every
 * error is reported (not only the first), through the diag callback. Lines
 * are at most 200 bytes (libinih's limit); ';' and '#' start comments. */
#ifndef WTCAST_CONFIG_H
#define WTCAST_CONFIG_H

#include <stddef.h>

/* Validate and apply one value (val is owned by the callee from now on: it
 * was allocated with malloc and must eventually be freed by it). Return 0,
 * or -1 with a one-line reason in err (cap bytes). */
typedef int (*wtc_apply_fn)(void *ctx, const char *flag, char *val, char *err, size_t cap);

/* One error: file name, line (1-based; 0 = the file as a whole) and reason. */
typedef void (*wtc_diag_fn)(void *ctx, const char *file, int line, const char *msg);

typedef struct wtc_key {
  const char *section, *key, *flag;
} wtc_key;

extern const wtc_key wtc_keys[];
extern const size_t wtc_n_keys;

/* Read the file at path (name: how errors call it; NULL = path) and apply
 * each key. Returns the number of errors (0 = valid), reported to diag. */
int wtc_config_load(const char *path, wtc_apply_fn apply, void *actx, wtc_diag_fn diag, void *dctx);

/* The same on text held in memory (tests); name is used in messages. */
int wtc_config_load_string(const char *text, const char *name, wtc_apply_fn apply, void *actx,
                           wtc_diag_fn diag, void *dctx);

/* The option name of [section] key, or NULL. */
const char *wtc_flag_of(const char *section, const char *key);

#endif
