/* wt_jwt.h: signed JSON Web Tokens (RFC 7519, JWS compact form RFC 7515)
 * in the format of the MoQ relay tools (moq-relay, @moq/token, moq-token),
 * and the publish/subscribe grants they carry.
 *
 * A token is header.payload.signature, each base64url without padding.
 *   header: {"alg":..., "kid":... (optional), "typ":... (ignored)}; a
 *     "crit" member is refused (no extension is understood, RFC 7515
 *     section 4.1.11).
 *   payload (the claims): "root" (string, default ""), "put" (publish) and
 *     "get" (subscribe): a string or an array of strings, at least one
 *     granted path between them (a token granting nothing is malformed, as
 *     in moq-token); "exp", "nbf", "iat": numbers (NumericDate) or null;
 *     other members are ignored ("cluster" ...).
 * Verification (wt_jwt_verify), in this order: size and shape; the header;
 * the key: by kid, or the only key of a one-key set (wt_jwk.h); the
 * header's alg must be exactly the key's algorithm (so "none" and
 * algorithm confusion are refused); the signature over the ASCII
 * header.payload; only then the payload; exp and nbf with
 * WT_JWT_LEEWAY_S seconds of clock skew allowed either way.
 *
 * Paths (wt_jwt_allows): '/'-separated, leading, trailing and repeated
 * slashes ignored ("/demo//room/" is "demo/room"). A path is granted for
 * an action when one of the action's prefixes, joined under root, is a
 * prefix of it on a segment boundary: root "demo" + put "room" grants
 * "demo/room" and "demo/room/cam", not "demo/roomba"; an empty prefix
 * grants everything under root; with root "" and put "" everything. This
 * is @moq/token's authorize() seen from the server's top path ""
 * (docs/operations.md, "Authorization").
 *
 * Bounds: WT_JWT_TOKEN_MAX bytes, JSON nested at most 4 deep,
 * WT_JWT_MAX_GRANTS prefixes per action, WT_JWT_PATH_MAX bytes per path.
 *
 * Pure functions (the time is an argument), any thread; claims live in
 * the caller's wt_jwt_claims (no allocation survives a call). */
#ifndef WT_JWT_H
#define WT_JWT_H

#include <stddef.h>
#include <stdint.h>

#include "wt_jwk.h"

#define WT_JWT_TOKEN_MAX  4096
#define WT_JWT_MAX_GRANTS 32
#define WT_JWT_PATH_MAX   256
#define WT_JWT_LEEWAY_S   60

/* Every outcome of a check; the names are the label values of
 * wtcast_auth_total{result=...} (a fixed set). */
typedef enum wt_jwt_result {
  WT_JWT_OK = 0,
  WT_JWT_MISSING,       /* no token (wt_auth) */
  WT_JWT_MALFORMED,     /* not a token of this format, oversize, bad claim types, grants nothing */
  WT_JWT_UNKNOWN_KID,   /* no key with its kid (or no kid and several keys) */
  WT_JWT_BAD_ALG,       /* its alg is not its key's ("none" included) */
  WT_JWT_BAD_SIGNATURE, /* the signature does not verify */
  WT_JWT_EXPIRED,       /* exp + leeway passed */
  WT_JWT_NOT_YET_VALID, /* nbf - leeway not reached */
  WT_JWT_FORBIDDEN,     /* valid, but the path is not granted for the action */
  WT_JWT_RESULTS
} wt_jwt_result;

/* "ok", "missing", "malformed", "unknown_kid", "bad_alg", "bad_signature",
 * "expired", "not_yet_valid", "forbidden". */
const char *wt_jwt_result_name(wt_jwt_result r);

typedef enum wt_jwt_action { WT_JWT_PUT = 0, WT_JWT_GET = 1 } wt_jwt_action;

/* The claims of a verified token. Strings point into arena. */
typedef struct wt_jwt_claims {
  char kid[WT_JWK_KID_MAX + 1]; /* "" when the header had none */
  wt_jwk_alg alg;
  int has_exp, has_nbf, has_iat;
  int64_t exp, nbf, iat;                    /* seconds since the epoch (fractions cut off) */
  const char *root;                         /* normalized */
  const char *grants[2][WT_JWT_MAX_GRANTS]; /* [WT_JWT_PUT], [WT_JWT_GET]; normalized */
  size_t n_grants[2];
  char arena[WT_JWT_TOKEN_MAX];
} wt_jwt_claims;

/* Verify token[0..len) against the keys of set at time now (seconds since
 * the epoch) and fill *c (may be NULL). A token of length 0 is
 * WT_JWT_MISSING. Returns WT_JWT_OK or the reason it is refused; why
 * (may be NULL) gets a short detail for the log line (never the token). */
wt_jwt_result wt_jwt_verify(const wt_jwk_set *set, const char *token, size_t len, int64_t now,
                            wt_jwt_claims *c, char *why, size_t cap);

/* 1 if c grants action on path (see above), else 0. */
int wt_jwt_allows(const wt_jwt_claims *c, wt_jwt_action action, const char *path);

/* Normalize path into out (cap bytes): slashes at the ends dropped,
 * repeated ones collapsed. Returns the length or WT_ERR_NOBUF. */
int wt_jwt_path_normalize(const char *path, char *out, size_t cap);

/* What a new token says (wt_jwt_sign). */
typedef struct wt_jwt_grant {
  const char *root;                    /* NULL or "": none */
  const char *const *put, *const *get; /* n_put / n_get paths */
  size_t n_put, n_get;
  int64_t exp, nbf, iat; /* 0: member left out */
} wt_jwt_grant;

/* Sign a token for g with key k (header alg = k's, kid = k's when it has
 * one, typ "JWT") into out (cap bytes, NUL-terminated). Returns its
 * length, WT_ERR_INVAL (nothing granted, a path longer than
 * WT_JWT_PATH_MAX, too many prefixes), WT_ERR_REFUSED (k cannot sign),
 * WT_ERR_NOBUF, WT_ERR_CRYPTO or WT_ERR_NOMEM. */
int wt_jwt_sign(const wt_jwk *k, const wt_jwt_grant *g, char *out, size_t cap);

#endif
