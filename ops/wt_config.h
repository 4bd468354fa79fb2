/* wt_config.h: wtcast's configuration file (INI, parsed with libinih).
 *
 * Every key is the twin of a command-line option: the file is read first,
 * then the command line overrides it. The keys are the option table's
 * ([section] key of each row of wt_options.h; packaging/wtcast.conf.example
 * lists them all); the caller's apply function validates the value exactly
 * as it does for the command line (wt_options_set).
 *
 * Errors carry the line number: a syntax error (inih), an unknown section
 * or key, a key given twice, or a value the apply function refuses. Every
 * error is reported (not only the first), through the diag callback. Lines
 * are at most 200 bytes (libinih's limit); ';' and '#' start comments.
 *
 * Threads: any; nothing is shared between calls. */
#ifndef WT_CONFIG_H
#define WT_CONFIG_H

#include <stddef.h>

/* Validate and apply one value for the option named flag ("--max-conns");
 * val is valid during the call only. Return 0, or -1 with a one-line reason
 * in err (cap bytes). */
typedef int (*wt_config_apply_fn)(void *ctx, const char *flag, const char *val, char *err,
                                  size_t cap);

/* One error: file name, line (1-based; 0 = the file as a whole) and reason. */
typedef void (*wt_config_diag_fn)(void *ctx, const char *file, int line, const char *msg);

/* Read the file at path and apply each key (apply NULL: check the keys
 * only). Returns the number of errors (0 = valid), reported to diag. */
int wt_config_load(const char *path, wt_config_apply_fn apply, void *actx, wt_config_diag_fn diag,
                   void *dctx);

/* The same on text held in memory (tests); name is used in messages. */
int wt_config_load_string(const char *text, const char *name, wt_config_apply_fn apply, void *actx,
                          wt_config_diag_fn diag, void *dctx);

#endif
