/* wt_options.h: wtcast's option table, one row per option.
 *
 * A row holds everything about one option: its command-line name, its
 * configuration-file key ([section] key), its type and bounds, the field it
 * writes (an offset into wt_options, whose rt member is the runtime's own
 * configuration and rt.shard.engine the engine's: no value is copied by
 * hand afterwards), its default and its help text. From the table come:
 *   - the command line (wt_options_find, wt_options_set) and the
 *     configuration file's keys (wt_config.h reads the file through
 *     wt_options_find_key and wt_options_set), so both are checked the same;
 *   - `wtcast --help` (wt_options_print_help);
 *   - the example configuration, packaging/wtcast.conf.example
 *     (wt_options_print_config_example; `wtcast --print-config-example`);
 *   - the OPTIONS section of the man page, packaging/wtcast.1
 *     (wt_options_print_man; `wtcast --print-man-options`).
 * unit.config fails when the packaged files differ from the generated text,
 * and when a row's default is not the value the configuration structs
 * really start with.
 *
 * Adding an option: one row in wt_options.c (and, if the value lands in a
 * new place, that field in its struct), then regenerate the two packaged
 * files: `cmake --build build --target options-docs`
 * (packaging/options-docs.cmake). docs/architecture.md walks through it.
 *
 * Ownership: wt_options_set copies every string it keeps; the copies belong
 * to the wt_options and live until wt_options_free, so the pointers stored
 * in rt stay valid while the runtime runs. Threads: any, one wt_options per
 * thread; the table itself is constant. */
#ifndef WT_OPTIONS_H
#define WT_OPTIONS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "wt_apps.h"
#include "wt_http.h"
#include "wt_rotate.h"
#include "wt_runtime.h"

/* Where the options land. */
typedef struct wt_options {
  wt_runtime_config rt;          /* the runtime's settings; rt.shard.engine the engine's */
  wt_apps_config apps;           /* the built-in applications' settings (apps/wt_apps.h) */
  const char *http_listen;       /* --http ADDR:PORT; NULL = off */
  const char *metrics_listen;    /* --metrics ADDR:PORT; NULL = off */
  wt_http_config http;           /* both listeners' limits (--http-conns-per-ip, --http-timeout);
                                    listen and thread_name are set per listener */
  const char *secret_file;       /* --key-file; NULL = a random secret */
  const char *auth_keys;         /* --auth-keys: JWK / JWK Set file; NULL = no authorization */
  const char *cluster_url;       /* --cluster redis://...; NULL = no registry (ops/wt_cluster.h) */
  const char *node_id;           /* --node-id; NULL = the host name */
  const char *advertise;         /* --advertise HOST:PORT; NULL = --listen if not a wildcard */
  uint32_t cluster_ttl_ms;       /* --cluster-ttl */
  const char *cluster_auth_file; /* --cluster-auth-file: the registry password; NULL = the URL's */
  int cluster_strict;            /* --cluster-strict: no start without the registry */
  uint32_t cluster_stale_max_ms; /* --cluster-stale-max; 0 = six TTLs */
  /* [cluster] static mode and upstreams (docs/operations.md "Cluster"):
   * the static peers (--cluster-peers; ops/wt_peers.h), the upstream trust
   * pin as 64 hex digits (--cluster-pin; --cluster-ca and --cluster-insecure
   * land in rt.shard.engine.client_*), the token file an upstream /sub
   * presents (--cluster-token) */
  const char *const *cluster_peers;
  size_t n_cluster_peers;
  const char *cluster_pin;
  const char *cluster_token;
  uint32_t cert_rotate_s;      /* --cert-rotate; 0 = off */
  const char *cert_rotate_dir; /* --cert-rotate-dir; NULL = $STATE_DIRECTORY, else next to --cert */
  int log_level;               /* --log-level (WT_LOG_LEVEL_*); starts as wt_log_get_level() */
  int log_format;              /* --log-format (WT_LOG_FORMAT_*); starts as wt_log_get_format() */
  void **owned;                /* copies of values, freed by wt_options_free */
  size_t n_owned, cap_owned;
} wt_options;

/* Value types. */
enum {
  WT_OPT_STR,    /* const char *, copied */
  WT_OPT_ADDR,   /* const char *, "ADDR:PORT" (wt_io_addr_parse syntax), copied */
  WT_OPT_UINT,   /* decimal in [min, max], times scale, into a 4- or 8-byte field */
  WT_OPT_ENUM,   /* one of names[], its value into an int */
  WT_OPT_LIST,   /* comma-separated, no empty item or space: const char *const * +
                    a size_t count (off_count) */
  WT_OPT_FUNC,   /* parse() does it */
  WT_OPT_ACTION, /* handled by the program (--config, --check-config, --help) */
};

/* Row flags. */
enum {
  WT_OPT_REQUIRED = 1, /* must be given (command line or file) */
  WT_OPT_ZERO_MAX = 2, /* UINT: 0 stores UINT64_MAX ("never") */
};

typedef struct wt_option_name {
  const char *name;
  int value;
} wt_option_name;

typedef struct wt_option wt_option;
struct wt_option {
  const char *name;            /* "--max-conns" */
  const char *section, *key;   /* configuration file: [section] key; NULL = command line only */
  const char *arg;             /* the value's name in --help ("N", "ADDR:PORT"); NULL = none */
  int type;                    /* WT_OPT_* */
  unsigned flags;              /* WT_OPT_REQUIRED, ... */
  size_t off, size;            /* the field in wt_options (offsetof, sizeof) */
  size_t off_count;            /* LIST: the size_t count field */
  uint64_t min, max, scale;    /* UINT: bounds in the option's unit; field = value x scale */
  const wt_option_name *names; /* ENUM: the accepted names, ending with {NULL} */
  /* STR: refuses a value (0 or -1 with a reason in err); FUNC: parses and
   * stores it (the same) */
  int (*check)(const char *val, char *err, size_t cap);
  int (*parse)(wt_options *o, const wt_option *opt, const char *val, char *err, size_t cap);
  const char *hint;     /* ADDR: an example for the error message */
  const char *def;      /* the default, written as a value ("16", "auto"); NULL = none */
  const char *def_note; /* the default in words when it is not a value ("online CPUs") */
  const char *example;  /* the example configuration's value when def is NULL */
  const char *help;     /* what it does, one paragraph */
};

extern const wt_option wt_options_table[];
extern const size_t wt_options_count;

/* Defaults: wt_runtime_config_default, the log's current level and format,
 * nothing owned. */
void wt_options_init(wt_options *o);

/* Free the copies (o->rt's strings with them). */
void wt_options_free(wt_options *o);

/* The row of option name ("--listen"), or of [section] key; NULL if none. */
const wt_option *wt_options_find(const char *name);
const wt_option *wt_options_find_key(const char *section, const char *key);

/* Validate val for option name and store it. Returns 1 (stored; ACTION rows
 * store nothing), 0 (no such option taking a value) or -1 with a one-line
 * reason in err, which starts with the option's name ("--max-conns: must be
 * in 1..10000000"); o is unchanged then. */
int wt_options_set(wt_options *o, const char *name, const char *val, char *err, size_t cap);

/* The name of value of ENUM option name ("--retry", WT_RETRY_AUTO ->
 * "auto"), or "?" if there is none. */
const char *wt_options_enum_name(const char *name, int value);

/* The first REQUIRED row o lacks, or NULL. */
const wt_option *wt_options_missing(const wt_options *o);

/* The generated texts (see above). */
void wt_options_print_help(FILE *f);
void wt_options_print_config_example(FILE *f);
void wt_options_print_man(FILE *f);

#endif
