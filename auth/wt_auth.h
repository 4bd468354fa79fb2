/* wt_auth.h: publish/subscribe authorization with signed tokens: the keys
 * of one key file (wt_jwk.h), reloadable, and the verdict on a token for
 * an action on a path (wt_jwt.h), counted by result.
 *
 * The program makes one wt_auth from --auth-keys (wt_auth_new: the file
 * must load), reloads it on SIGHUP (wt_auth_reload: a file that does not
 * load leaves the keys in use, logs why and counts a failed reload), and
 * hands applications an authorizer built on wt_auth_check (the built-in
 * relay: ops/wt_authz.h).
 *
 * Threads: wt_auth_check from any number of threads at once (the
 * application workers); wt_auth_reload from one thread at a time (the main
 * thread), concurrently with checks: the key set is swapped under a
 * read-write lock, checks in progress finish with the set they started
 * with. Counters are relaxed atomics, read from any thread. Logging: one
 * rate-limited line per refusal (module "auth"), never the token. */
#ifndef WT_AUTH_H
#define WT_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include "wt_jwt.h"

typedef struct wt_auth wt_auth;

/* Load path (copied). Returns 0 or the wt_jwk_set_load error with the
 * reason in err. */
int wt_auth_new(wt_auth **out, const char *path, char *err, size_t cap);
void wt_auth_del(wt_auth *a);

/* Read the file again; on success the new keys serve every later check.
 * Returns 0, or the error (old keys kept; reason in err and in the log). */
int wt_auth_reload(wt_auth *a, char *err, size_t cap);

/* The verdict on token[0..len) (len 0: none was given) for action on path
 * at time now (seconds since the epoch), counted under its result. what
 * names the request in the log line ("/pub ch=demo"). */
wt_jwt_result wt_auth_check(wt_auth *a, const char *token, size_t len, wt_jwt_action action,
                            const char *path, int64_t now, const char *what);

/* wt_auth_check, and on WT_JWT_OK *exp_out (may be NULL) receives when
 * the admission ends, in seconds since the epoch: the token's exp plus
 * WT_JWT_LEEWAY_S (what verification allows), or INT64_MAX when it has no
 * exp. A session admitted on it is to be closed then (wt_authz). */
wt_jwt_result wt_auth_check_until(wt_auth *a, const char *token, size_t len, wt_jwt_action action,
                                  const char *path, int64_t now, const char *what,
                                  int64_t *exp_out);

/* A session admitted on a token was closed because the token expired:
 * counted (sessions_expired), logged (info, module "auth") with what. */
void wt_auth_count_expired(wt_auth *a, const char *what);

/* The HTTP status of a result: 0 for WT_JWT_OK, 403 for WT_JWT_FORBIDDEN,
 * 401 for every other refusal. */
int wt_auth_status(wt_jwt_result r);

typedef struct wt_auth_stats {
  uint64_t results[WT_JWT_RESULTS]; /* checks by result */
  uint64_t reloads_ok, reloads_failed;
  uint64_t keys;             /* keys in use now */
  uint64_t sessions_expired; /* admitted sessions closed at their token's exp + leeway */
} wt_auth_stats;
void wt_auth_get_stats(wt_auth *a, wt_auth_stats *out);

#endif
