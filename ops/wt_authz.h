/* wt_authz.h: token authorization for the applications (wt_app_authorizer
 * of wt_app.h) over an auth/wt_auth.h, and its statistics as an
 * application module.
 *
 * The token of a request: its "jwt" query parameter (URL-decoded; what
 * moq-relay and browsers use: WebTransport cannot set headers), else an
 * "authorization: Bearer TOKEN" field (RFC 6750 section 2.1). A refusal
 * with 401 carries "www-authenticate: Bearer" (RFC 6750 section 3).
 *
 * The module (no routes) adds the "auth" member of the SIGUSR1 line,
 *   "auth":{"ok":N,"missing":N,...,"forbidden":N,"reloads_ok":N,
 *           "reloads_failed":N,"keys":N,"sessions_expired":N}
 * and the metric families wtcast_auth_total{result=...} (the fixed result
 * names of wt_jwt.h), wtcast_auth_reloads_total{result="ok"|"failed"},
 * wtcast_auth_keys and wtcast_auth_sessions_expired_total.
 *
 * A session admitted on a token with "exp" is closed when the token
 * expires (exp + WT_JWT_LEEWAY_S, the leeway verification allows) with
 * CLOSE_WEBTRANSPORT_SESSION(WT_APP_CLOSE_EXPIRED, "token expired")
 * (wt_app_session_expire_after: a timer of the session's worker), logged
 * and counted in sessions_expired.
 *
 * Both point into the wt_authz, which must outlive the server. Threads: as
 * wt_app_authorizer and wt_app_module require (check and the hooks from
 * any thread). */
#ifndef WT_AUTHZ_H
#define WT_AUTHZ_H

#include <stddef.h>

#include "wt_app.h"
#include "wt_auth.h"

typedef struct wt_authz {
  wt_auth *auth; /* not owned */
  wt_app_authorizer authorizer;
  wt_app_module module;
} wt_authz;

/* Fill z for auth. */
void wt_authz_init(wt_authz *z, wt_auth *auth);

/* The token of req (see above) into buf (cap bytes, NUL-terminated).
 * Returns its length (0: none), or -1 when it is longer than cap - 1
 * (the caller refuses it as malformed). */
int wt_authz_token(const wt_app_request *req, char *buf, size_t cap);

#endif
