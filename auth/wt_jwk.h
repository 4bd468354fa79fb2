/* wt_jwk.h: JSON Web Keys (RFC 7517) that sign and verify tokens (wt_jwt.h).
 *
 * A key file holds one JWK or a JWK Set ({"keys":[...]}, RFC 7517 section
 * 5), as JSON text or as the base64url of that text (what @moq/token and
 * moq-token write; docs/operations.md, "Authorization"). Members read:
 *   kty  "oct" (absent = "oct", as the MoQ tools accept), "EC", "OKP";
 *        "RSA" and anything else are refused with that reason;
 *   alg  HS256 / HS384 / HS512 (oct: required), ES256 (EC P-256), ES384
 *        (EC P-384), EdDSA (OKP Ed25519; needs wolfSSL built with Ed25519,
 *        as tools/deps builds it; without it refused with that reason);
 *        for EC and OKP it may be absent (taken from crv) and must
 *        match crv when present;
 *   kid  optional, 1..WT_JWK_KID_MAX of [A-Za-z0-9_-] (the MoQ tools' rule),
 *        unique within a set;
 *   key_ops  optional array: "verify" lets the key verify, "sign" sign
 *        (absent: both); use, when present, must be "sig";
 *   k (oct, base64url, at least as many bytes as the hash: 32/48/64, at most
 *   WT_JWK_SECRET_MAX), x y d (EC: exactly the curve's size; the point is
 *   checked to lie on the curve), x d (OKP).
 * base64url members may carry '=' padding (the MoQ tools accept both).
 *
 * The algorithm of a key is fixed when it is loaded: a token is verified
 * with its key's algorithm and refused when its header names another one
 * ("none", or HS256 against an EC key: no algorithm confusion).
 *
 * Bounds: a file of at most WT_JWK_FILE_MAX bytes, at most WT_JWK_MAX_KEYS
 * keys, JSON nested at most WT_JWK_DEPTH_MAX deep (checked before the JSON
 * parser runs).
 *
 * Ownership and threads: a set is immutable once parsed; any number of
 * threads may verify with it at once (every operation builds its wolfCrypt
 * objects on the stack). wt_jwk_set_free frees it and its keys; key
 * pointers are valid until then. Uses wolfCrypt and jansson; file I/O only
 * in wt_jwk_set_load. */
#ifndef WT_JWK_H
#define WT_JWK_H

#include <stddef.h>
#include <stdint.h>

#define WT_JWK_FILE_MAX   (64u << 10)
#define WT_JWK_MAX_KEYS   64
#define WT_JWK_DEPTH_MAX  8
#define WT_JWK_KID_MAX    64
#define WT_JWK_SECRET_MAX 1024
#define WT_JWK_SIG_MAX    96 /* ES384's r||s; HMAC-SHA512 is 64, Ed25519 64 */

typedef enum wt_jwk_alg {
  WT_JWK_ALG_NONE = 0,
  WT_JWK_HS256,
  WT_JWK_HS384,
  WT_JWK_HS512,
  WT_JWK_ES256,
  WT_JWK_ES384,
  WT_JWK_EDDSA,
} wt_jwk_alg;

typedef struct wt_jwk wt_jwk;
typedef struct wt_jwk_set wt_jwk_set;

/* "HS256" ... "EdDSA" ("none" for WT_JWK_ALG_NONE); the JWS name. */
const char *wt_jwk_alg_name(wt_jwk_alg alg);
/* The algorithm named exactly (case-sensitive) name, or WT_JWK_ALG_NONE. */
wt_jwk_alg wt_jwk_alg_parse(const char *name);
/* 1 if this build can verify and sign with alg (EdDSA needs wolfSSL's
 * Ed25519). */
int wt_jwk_alg_supported(wt_jwk_alg alg);

/* Parse the text of a key file (len bytes; see above). On failure *out is
 * NULL and err holds one line saying why ("key 2 (kid k2): EC key without
 * y"). Returns 0, WT_ERR_MALFORMED, WT_ERR_LIMIT, WT_ERR_UNSUPPORTED,
 * WT_ERR_CRYPTO or WT_ERR_NOMEM. */
int wt_jwk_set_parse(const char *text, size_t len, wt_jwk_set **out, char *err, size_t cap);
/* The same from a file (WT_ERR_IO when it cannot be read, WT_ERR_LIMIT
 * when it is larger than WT_JWK_FILE_MAX). */
int wt_jwk_set_load(const char *path, wt_jwk_set **out, char *err, size_t cap);
void wt_jwk_set_free(wt_jwk_set *s);

size_t wt_jwk_set_count(const wt_jwk_set *s);
const wt_jwk *wt_jwk_set_key(const wt_jwk_set *s, size_t i);
/* The key a token names: the one with this kid (kid non-NULL), else the
 * only key of a one-key set (the MoQ tools' rule). NULL when none. */
const wt_jwk *wt_jwk_set_find(const wt_jwk_set *s, const char *kid);
/* The first key that can sign, or NULL. */
const wt_jwk *wt_jwk_set_signer(const wt_jwk_set *s);

wt_jwk_alg wt_jwk_alg_of(const wt_jwk *k);
const char *wt_jwk_kid(const wt_jwk *k); /* NULL when it has none */
int wt_jwk_can_verify(const wt_jwk *k);
int wt_jwk_can_sign(const wt_jwk *k); /* verify-only, or a public key: 0 */

/* Verify sig (the JWS signature bytes: an HMAC, or ECDSA's r||s of the
 * curve's size, RFC 7518 section 3.4) over msg with k's own algorithm.
 * Returns 0 (valid), WT_ERR_CRYPTO (invalid), WT_ERR_REFUSED (k may not
 * verify) or WT_ERR_UNSUPPORTED. */
int wt_jwk_verify(const wt_jwk *k, const uint8_t *msg, size_t n, const uint8_t *sig, size_t sig_n);

/* Sign msg with k into sig (cap >= WT_JWK_SIG_MAX). Returns the signature's
 * length, WT_ERR_REFUSED (k cannot sign), WT_ERR_CRYPTO, WT_ERR_NOBUF. */
int wt_jwk_sign(const wt_jwk *k, const uint8_t *msg, size_t n, uint8_t *sig, size_t cap);

/* A new key for alg with kid (may be NULL) as JWK JSON text (malloc'd,
 * the caller frees): *priv the whole key (key_ops sign and verify), *pub
 * (may be NULL; NULL for HMAC keys, which have no public half) the public
 * key (key_ops verify). Returns 0, WT_ERR_INVAL (bad kid),
 * WT_ERR_UNSUPPORTED, WT_ERR_CRYPTO or WT_ERR_NOMEM. */
int wt_jwk_generate(wt_jwk_alg alg, const char *kid, char **priv, char **pub);

/* 1 if s is a valid kid (see above). */
int wt_jwk_kid_ok(const char *s);

#endif
