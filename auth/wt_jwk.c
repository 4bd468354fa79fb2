/* wt_jwk.c: JSON Web Keys with wolfCrypt (see wt_jwk.h). */
#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/settings.h>
#include <wolfssl/wolfcrypt/ecc.h>
#include <wolfssl/wolfcrypt/hash.h>
#include <wolfssl/wolfcrypt/hmac.h>
#include <wolfssl/wolfcrypt/random.h>
#ifdef HAVE_ED25519
#include <wolfssl/wolfcrypt/ed25519.h>
#endif

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wt_base64.h"
#include "wt_error.h"
#include "wt_jose.h"
#include "wt_jwk.h"

#define ECC_MAX 48 /* P-384 coordinates */

enum { OP_VERIFY = 1, OP_SIGN = 2 };

struct wt_jwk {
  wt_jwk_alg alg;
  unsigned ops;
  int has_kid, has_priv;
  char kid[WT_JWK_KID_MAX + 1];
  uint8_t secret[WT_JWK_SECRET_MAX]; /* oct */
  size_t secret_len;
  uint8_t x[ECC_MAX], y[ECC_MAX], d[ECC_MAX]; /* EC (OKP: x and d, 32 bytes) */
  size_t coord;                               /* bytes of each */
};

struct wt_jwk_set {
  size_t n;
  wt_jwk keys[];
};

static const char *const alg_names[] = {
    [WT_JWK_ALG_NONE] = "none", [WT_JWK_HS256] = "HS256", [WT_JWK_HS384] = "HS384",
    [WT_JWK_HS512] = "HS512",   [WT_JWK_ES256] = "ES256", [WT_JWK_ES384] = "ES384",
    [WT_JWK_EDDSA] = "EdDSA",
};

const char *wt_jwk_alg_name(wt_jwk_alg alg) {
  return (unsigned)alg <= WT_JWK_EDDSA ? alg_names[alg] : "none";
}

wt_jwk_alg wt_jwk_alg_parse(const char *name) {
  for (unsigned a = WT_JWK_HS256; a <= WT_JWK_EDDSA; a++) {
    if (name && !strcmp(name, alg_names[a])) {
      return (wt_jwk_alg)a;
    }
  }
  return WT_JWK_ALG_NONE;
}

int wt_jwk_alg_supported(wt_jwk_alg alg) {
  switch (alg) {
  case WT_JWK_HS256:
  case WT_JWK_HS384:
  case WT_JWK_HS512:
  case WT_JWK_ES256:
  case WT_JWK_ES384:
    return 1;
  case WT_JWK_EDDSA:
#ifdef HAVE_ED25519
    return 1;
#else
    return 0;
#endif
  default:
    return 0;
  }
}

static int is_hmac(wt_jwk_alg a) {
  return a == WT_JWK_HS256 || a == WT_JWK_HS384 || a == WT_JWK_HS512;
}

static int hmac_type(wt_jwk_alg a) {
  return a == WT_JWK_HS256 ? WC_SHA256 : a == WT_JWK_HS384 ? WC_SHA384 : WC_SHA512;
}

static size_t hash_len(wt_jwk_alg a) {
  return a == WT_JWK_HS256 || a == WT_JWK_ES256   ? 32
         : a == WT_JWK_HS384 || a == WT_JWK_ES384 ? 48
                                                  : 64;
}

int wt_jwk_kid_ok(const char *s) {
  size_t n = s ? strlen(s) : 0;
  if (n == 0 || n > WT_JWK_KID_MAX) {
    return 0;
  }
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
          c == '_')) {
      return 0;
    }
  }
  return 1;
}

/* ------------------------------------------------------------------ parsing */

static int str_member(json_t *o, const char *name, const char **out) {
  json_t *m = json_object_get(o, name);
  if (!m) {
    *out = NULL;
    return 0;
  }
  if (!json_is_string(m)) {
    return -1;
  }
  *out = json_string_value(m);
  return 0;
}

static int parse_ops(wt_jwk *k, json_t *o, char *err, size_t cap) {
  json_t *ops = json_object_get(o, "key_ops");
  const char *use;
  if (str_member(o, "use", &use) < 0 || (use && strcmp(use, "sig"))) {
    snprintf(err, cap, "\"use\" is not \"sig\"");
    return WT_ERR_UNSUPPORTED;
  }
  if (!ops) {
    k->ops = OP_VERIFY | OP_SIGN;
    return 0;
  }
  if (!json_is_array(ops) || json_array_size(ops) > 8) {
    snprintf(err, cap, "\"key_ops\" is not an array of at most 8 names");
    return WT_ERR_MALFORMED;
  }
  k->ops = 0;
  size_t i;
  json_t *v;
  json_array_foreach(ops, i, v) {
    if (!json_is_string(v)) {
      snprintf(err, cap, "\"key_ops\" holds a non-string");
      return WT_ERR_MALFORMED;
    }
    if (!strcmp(json_string_value(v), "verify")) {
      k->ops |= OP_VERIFY;
    } else if (!strcmp(json_string_value(v), "sign")) {
      k->ops |= OP_SIGN;
    }
  }
  return 0;
}

static int parse_oct(wt_jwk *k, json_t *o, const char *alg, char *err, size_t cap) {
  k->alg = wt_jwk_alg_parse(alg);
  if (!is_hmac(k->alg)) {
    snprintf(err, cap, "oct key with alg %s (HS256, HS384 or HS512 needed)", alg ? alg : "absent");
    return WT_ERR_UNSUPPORTED;
  }
  int n = wt_jose_b64_member(o, "k", k->secret, sizeof(k->secret));
  if (n < 0) {
    snprintf(err, cap, "oct key without a base64url \"k\" of at most %u bytes", WT_JWK_SECRET_MAX);
    return WT_ERR_MALFORMED;
  }
  /* RFC 7518 section 3.2: a key at least as long as the hash */
  if ((size_t)n < hash_len(k->alg)) {
    snprintf(err, cap, "%s secret of %d bytes: at least %zu needed", alg, n, hash_len(k->alg));
    return WT_ERR_LIMIT;
  }
  k->secret_len = (size_t)n;
  k->has_priv = 1;
  return 0;
}

/* The raw point (and scalar) into an ecc_key of curve; 0 or a wolfCrypt
 * error. The caller frees key with wc_ecc_free. */
static int ecc_load(const wt_jwk *k, ecc_key *key, int with_priv) {
  int curve = k->alg == WT_JWK_ES256 ? ECC_SECP256R1 : ECC_SECP384R1;
  int rv = wc_ecc_init(key);
  if (rv == 0) {
    rv = wc_ecc_import_unsigned(key, k->x, k->y, with_priv ? k->d : NULL, curve);
  }
  return rv;
}

static int parse_ec(wt_jwk *k, json_t *o, const char *alg, char *err, size_t cap) {
  const char *crv;
  if (str_member(o, "crv", &crv) < 0 || !crv) {
    snprintf(err, cap, "EC key without \"crv\"");
    return WT_ERR_MALFORMED;
  }
  wt_jwk_alg want = !strcmp(crv, "P-256")   ? WT_JWK_ES256
                    : !strcmp(crv, "P-384") ? WT_JWK_ES384
                                            : WT_JWK_ALG_NONE;
  if (want == WT_JWK_ALG_NONE) {
    snprintf(err, cap, "EC curve %s (P-256 or P-384 supported)", crv);
    return WT_ERR_UNSUPPORTED;
  }
  if (alg && wt_jwk_alg_parse(alg) != want) {
    snprintf(err, cap, "EC key on %s with alg %s (%s expected)", crv, alg, wt_jwk_alg_name(want));
    return WT_ERR_MALFORMED;
  }
  k->alg = want;
  k->coord = want == WT_JWK_ES256 ? 32 : 48;
  int nx = wt_jose_b64_member(o, "x", k->x, sizeof(k->x));
  int ny = wt_jose_b64_member(o, "y", k->y, sizeof(k->y));
  if (nx != (int)k->coord || ny != (int)k->coord) {
    snprintf(err, cap, "EC key: \"x\" and \"y\" must be %zu bytes of base64url", k->coord);
    return WT_ERR_MALFORMED;
  }
  if (json_object_get(o, "d")) {
    if (wt_jose_b64_member(o, "d", k->d, sizeof(k->d)) != (int)k->coord) {
      snprintf(err, cap, "EC key: \"d\" must be %zu bytes of base64url", k->coord);
      return WT_ERR_MALFORMED;
    }
    k->has_priv = 1;
  }
  ecc_key key;
  int rv = ecc_load(k, &key, k->has_priv);
  if (rv == 0) {
    rv = wc_ecc_check_key(&key); /* on the curve (and d matches, when present) */
  }
  wc_ecc_free(&key);
  if (rv != 0) {
    snprintf(err, cap, "EC key: not a valid %s key (wolfCrypt %d)", crv, rv);
    return WT_ERR_CRYPTO;
  }
  return 0;
}

static int parse_okp(wt_jwk *k, json_t *o, const char *alg, char *err, size_t cap) {
  const char *crv;
  if (str_member(o, "crv", &crv) < 0 || !crv || strcmp(crv, "Ed25519")) {
    snprintf(err, cap, "OKP key: only crv Ed25519 is supported");
    return WT_ERR_UNSUPPORTED;
  }
  if (alg && strcmp(alg, "EdDSA")) {
    snprintf(err, cap, "OKP Ed25519 key with alg %s (EdDSA expected)", alg);
    return WT_ERR_MALFORMED;
  }
  if (!wt_jwk_alg_supported(WT_JWK_EDDSA)) {
    snprintf(err, cap,
             "EdDSA (Ed25519) keys need wolfSSL built with --enable-ed25519 "
             "(as tools/deps builds it); use ES256 or HS256");
    return WT_ERR_UNSUPPORTED;
  }
  k->alg = WT_JWK_EDDSA;
  k->coord = 32;
  if (wt_jose_b64_member(o, "x", k->x, sizeof(k->x)) != 32) {
    snprintf(err, cap, "OKP key: \"x\" must be 32 bytes of base64url");
    return WT_ERR_MALFORMED;
  }
  if (json_object_get(o, "d")) {
    if (wt_jose_b64_member(o, "d", k->d, sizeof(k->d)) != 32) {
      snprintf(err, cap, "OKP key: \"d\" must be 32 bytes of base64url");
      return WT_ERR_MALFORMED;
    }
    k->has_priv = 1;
  }
  return 0;
}

static int parse_key(wt_jwk *k, json_t *o, char *err, size_t cap) {
  if (!json_is_object(o)) {
    snprintf(err, cap, "not a JSON object");
    return WT_ERR_MALFORMED;
  }
  memset(k, 0, sizeof(*k));
  const char *kty, *alg, *kid;
  if (str_member(o, "kty", &kty) < 0 || str_member(o, "alg", &alg) < 0 ||
      str_member(o, "kid", &kid) < 0) {
    snprintf(err, cap, "\"kty\", \"alg\" and \"kid\" must be strings");
    return WT_ERR_MALFORMED;
  }
  if (kid) {
    if (!wt_jwk_kid_ok(kid)) {
      snprintf(err, cap, "kid must be 1..%d of A-Z a-z 0-9 - _", WT_JWK_KID_MAX);
      return WT_ERR_MALFORMED;
    }
    snprintf(k->kid, sizeof(k->kid), "%s", kid);
    k->has_kid = 1;
  }
  int rv = parse_ops(k, o, err, cap);
  if (rv < 0) {
    return rv;
  }
  if (!kty || !strcmp(kty, "oct")) {
    return parse_oct(k, o, alg, err, cap);
  }
  if (!strcmp(kty, "EC")) {
    return parse_ec(k, o, alg, err, cap);
  }
  if (!strcmp(kty, "OKP")) {
    return parse_okp(k, o, alg, err, cap);
  }
  snprintf(err, cap, "kty %s is not supported (oct, EC, OKP)", kty);
  return WT_ERR_UNSUPPORTED;
}

/* The JSON text of a key file: itself, or the base64url (or base64) of it. */
static int file_json(const char *text, size_t len, char **json, size_t *n, char *err, size_t cap) {
  while (len > 0 && (text[0] == ' ' || text[0] == '\n' || text[0] == '\r' || text[0] == '\t')) {
    text++;
    len--;
  }
  while (len > 0 && (text[len - 1] == ' ' || text[len - 1] == '\n' || text[len - 1] == '\r' ||
                     text[len - 1] == '\t')) {
    len--;
  }
  if (len > WT_JWK_FILE_MAX) {
    snprintf(err, cap, "larger than %u bytes", WT_JWK_FILE_MAX);
    return WT_ERR_LIMIT;
  }
  *json = malloc(len + 1);
  if (!*json) {
    return WT_ERR_NOMEM;
  }
  if (len > 0 && text[0] == '{') {
    memcpy(*json, text, len);
    *n = len;
    return 0;
  }
  int r = wt_base64_decode(text, len, (uint8_t *)*json, len, WT_B64_URL | WT_B64_PAD_OK);
  if (r < 0) {
    r = wt_base64_decode(text, len, (uint8_t *)*json, len, WT_B64_PAD_OK);
  }
  if (r <= 0 || (*json)[0] != '{') {
    free(*json);
    *json = NULL;
    snprintf(err, cap, "neither JSON nor the base64url of a JSON object");
    return WT_ERR_MALFORMED;
  }
  *n = (size_t)r;
  return 0;
}

int wt_jwk_set_parse(const char *text, size_t len, wt_jwk_set **out, char *err, size_t cap) {
  *out = NULL;
  err[0] = '\0';
  char *json;
  size_t n;
  int rv = file_json(text, len, &json, &n, err, cap);
  if (rv < 0) {
    return rv;
  }
  json_t *root = wt_jose_parse_object(json, n, WT_JWK_DEPTH_MAX, err, cap);
  free(json);
  if (!root) {
    return WT_ERR_MALFORMED;
  }
  json_t *keys = json_object_get(root, "keys");
  size_t count = keys ? json_array_size(keys) : 1;
  if (keys && (!json_is_array(keys) || count == 0)) {
    snprintf(err, cap, "\"keys\" is not a non-empty array");
    json_decref(root);
    return WT_ERR_MALFORMED;
  }
  if (count > WT_JWK_MAX_KEYS) {
    snprintf(err, cap, "%zu keys: at most %d", count, WT_JWK_MAX_KEYS);
    json_decref(root);
    return WT_ERR_LIMIT;
  }
  wt_jwk_set *s = calloc(1, sizeof(*s) + count * sizeof(wt_jwk));
  if (!s) {
    json_decref(root);
    return WT_ERR_NOMEM;
  }
  for (size_t i = 0; i < count && rv == 0; i++) {
    char why[200];
    rv = parse_key(&s->keys[i], keys ? json_array_get(keys, i) : root, why, sizeof(why));
    for (size_t j = 0; j < i && rv == 0; j++) {
      if (s->keys[i].has_kid && s->keys[j].has_kid && !strcmp(s->keys[i].kid, s->keys[j].kid)) {
        snprintf(why, sizeof(why), "kid %s appears twice", s->keys[i].kid);
        rv = WT_ERR_MALFORMED;
      }
    }
    if (rv < 0) {
      snprintf(err, cap, "key %zu%s%s%s: %s", i + 1, s->keys[i].has_kid ? " (kid " : "",
               s->keys[i].kid, s->keys[i].has_kid ? ")" : "", why);
    }
    s->n = i + 1;
  }
  json_decref(root);
  if (rv < 0) {
    wt_jwk_set_free(s);
    return rv;
  }
  *out = s;
  return 0;
}

int wt_jwk_set_load(const char *path, wt_jwk_set **out, char *err, size_t cap) {
  *out = NULL;
  FILE *f = fopen(path, "rb");
  if (!f) {
    snprintf(err, cap, "%s: %s", path, strerror(errno));
    return WT_ERR_IO;
  }
  char *buf = malloc(WT_JWK_FILE_MAX + 1);
  if (!buf) {
    fclose(f);
    return WT_ERR_NOMEM;
  }
  size_t n = fread(buf, 1, WT_JWK_FILE_MAX + 1, f);
  int bad = ferror(f);
  fclose(f);
  int rv;
  if (bad) {
    snprintf(err, cap, "%s: read error", path);
    rv = WT_ERR_IO;
  } else if (n > WT_JWK_FILE_MAX) {
    snprintf(err, cap, "%s: larger than %u bytes", path, WT_JWK_FILE_MAX);
    rv = WT_ERR_LIMIT;
  } else {
    char why[256];
    rv = wt_jwk_set_parse(buf, n, out, why, sizeof(why));
    if (rv < 0) {
      snprintf(err, cap, "%s: %s", path, why);
    }
  }
  /* the file may hold secrets */
  memset(buf, 0, n < WT_JWK_FILE_MAX + 1 ? n : WT_JWK_FILE_MAX + 1);
  free(buf);
  return rv;
}

void wt_jwk_set_free(wt_jwk_set *s) {
  if (s) {
    memset(s->keys, 0, s->n * sizeof(wt_jwk)); /* secrets */
    free(s);
  }
}

size_t wt_jwk_set_count(const wt_jwk_set *s) {
  return s ? s->n : 0;
}

const wt_jwk *wt_jwk_set_key(const wt_jwk_set *s, size_t i) {
  return s && i < s->n ? &s->keys[i] : NULL;
}

const wt_jwk *wt_jwk_set_find(const wt_jwk_set *s, const char *kid) {
  if (!s) {
    return NULL;
  }
  if (!kid) {
    return s->n == 1 ? &s->keys[0] : NULL;
  }
  for (size_t i = 0; i < s->n; i++) {
    if (s->keys[i].has_kid && !strcmp(s->keys[i].kid, kid)) {
      return &s->keys[i];
    }
  }
  return NULL;
}

const wt_jwk *wt_jwk_set_signer(const wt_jwk_set *s) {
  for (size_t i = 0; s && i < s->n; i++) {
    if (wt_jwk_can_sign(&s->keys[i])) {
      return &s->keys[i];
    }
  }
  return NULL;
}

wt_jwk_alg wt_jwk_alg_of(const wt_jwk *k) {
  return k->alg;
}

const char *wt_jwk_kid(const wt_jwk *k) {
  return k->has_kid ? k->kid : NULL;
}

int wt_jwk_can_verify(const wt_jwk *k) {
  return (k->ops & OP_VERIFY) != 0;
}

int wt_jwk_can_sign(const wt_jwk *k) {
  return (k->ops & OP_SIGN) && k->has_priv;
}

/* ------------------------------------------------------------------ signatures */

static int hmac(const wt_jwk *k, const uint8_t *msg, size_t n, uint8_t *mac) {
  Hmac h;
  int rv = wc_HmacInit(&h, NULL, INVALID_DEVID);
  if (rv != 0) {
    return rv;
  }
  rv = wc_HmacSetKey(&h, hmac_type(k->alg), k->secret, (word32)k->secret_len);
  if (rv == 0) {
    rv = wc_HmacUpdate(&h, msg, (word32)n);
  }
  if (rv == 0) {
    rv = wc_HmacFinal(&h, mac);
  }
  wc_HmacFree(&h);
  return rv;
}

static int ecc_digest(wt_jwk_alg alg, const uint8_t *msg, size_t n, uint8_t *out) {
  return alg == WT_JWK_ES256 ? wc_Sha256Hash(msg, (word32)n, out)
                             : wc_Sha384Hash(msg, (word32)n, out);
}

int wt_jwk_verify(const wt_jwk *k, const uint8_t *msg, size_t n, const uint8_t *sig, size_t sig_n) {
  if (!wt_jwk_can_verify(k)) {
    return WT_ERR_REFUSED;
  }
  if (n > UINT32_MAX) {
    return WT_ERR_CRYPTO;
  }
  if (is_hmac(k->alg)) {
    uint8_t mac[64];
    if (sig_n != hash_len(k->alg) || hmac(k, msg, n, mac) != 0) {
      return WT_ERR_CRYPTO;
    }
    uint8_t diff = 0; /* constant time: no timing oracle on the MAC */
    for (size_t i = 0; i < sig_n; i++) {
      diff |= (uint8_t)(mac[i] ^ sig[i]);
    }
    return diff ? WT_ERR_CRYPTO : 0;
  }
  if (k->alg == WT_JWK_ES256 || k->alg == WT_JWK_ES384) {
    /* RFC 7518 section 3.4: r and s, each the curve's size, big-endian */
    if (sig_n != 2 * k->coord) {
      return WT_ERR_CRYPTO;
    }
    uint8_t digest[48], der[2 * ECC_MAX + 16];
    word32 der_n = sizeof(der);
    int res = 0;
    ecc_key key;
    int rv = ecc_load(k, &key, 0);
    if (rv == 0) {
      rv = ecc_digest(k->alg, msg, n, digest);
    }
    if (rv == 0) {
      rv = wc_ecc_rs_raw_to_sig(sig, (word32)k->coord, sig + k->coord, (word32)k->coord, der,
                                &der_n);
    }
    if (rv == 0) {
      rv = wc_ecc_verify_hash(der, der_n, digest, (word32)hash_len(k->alg), &res, &key);
    }
    wc_ecc_free(&key);
    return rv == 0 && res == 1 ? 0 : WT_ERR_CRYPTO;
  }
#ifdef HAVE_ED25519
  if (k->alg == WT_JWK_EDDSA) {
    ed25519_key key;
    int res = 0;
    int rv = wc_ed25519_init(&key);
    if (rv == 0) {
      rv = wc_ed25519_import_public(k->x, 32, &key);
    }
    if (rv == 0 && sig_n == 64) {
      rv = wc_ed25519_verify_msg(sig, 64, msg, (word32)n, &res, &key);
    }
    wc_ed25519_free(&key);
    return rv == 0 && sig_n == 64 && res == 1 ? 0 : WT_ERR_CRYPTO;
  }
#endif
  return WT_ERR_UNSUPPORTED;
}

int wt_jwk_sign(const wt_jwk *k, const uint8_t *msg, size_t n, uint8_t *sig, size_t cap) {
  if (!wt_jwk_can_sign(k)) {
    return WT_ERR_REFUSED;
  }
  if (cap < WT_JWK_SIG_MAX) {
    return WT_ERR_NOBUF;
  }
  if (is_hmac(k->alg)) {
    return hmac(k, msg, n, sig) == 0 ? (int)hash_len(k->alg) : WT_ERR_CRYPTO;
  }
  if (k->alg == WT_JWK_ES256 || k->alg == WT_JWK_ES384) {
    uint8_t digest[48], der[2 * ECC_MAX + 16];
    word32 der_n = sizeof(der), rn = (word32)k->coord, sn = (word32)k->coord;
    uint8_t r[ECC_MAX], s[ECC_MAX];
    WC_RNG rng;
    ecc_key key;
    int rv = wc_InitRng(&rng);
    if (rv != 0) {
      return WT_ERR_CRYPTO;
    }
    rv = ecc_load(k, &key, 1);
    if (rv == 0) {
      rv = wc_ecc_set_rng(&key, &rng);
    }
    if (rv == 0) {
      rv = ecc_digest(k->alg, msg, n, digest);
    }
    if (rv == 0) {
      rv = wc_ecc_sign_hash(digest, (word32)hash_len(k->alg), der, &der_n, &rng, &key);
    }
    if (rv == 0) {
      rv = wc_ecc_sig_to_rs(der, der_n, r, &rn, s, &sn);
    }
    wc_ecc_free(&key);
    wc_FreeRng(&rng);
    if (rv != 0 || rn > k->coord || sn > k->coord) {
      return WT_ERR_CRYPTO;
    }
    /* fixed width, left-padded with zeros (RFC 7518 section 3.4) */
    memset(sig, 0, 2 * k->coord);
    memcpy(sig + k->coord - rn, r, rn);
    memcpy(sig + 2 * k->coord - sn, s, sn);
    return (int)(2 * k->coord);
  }
#ifdef HAVE_ED25519
  if (k->alg == WT_JWK_EDDSA) {
    ed25519_key key;
    word32 len = 64;
    int rv = wc_ed25519_init(&key);
    if (rv == 0) {
      rv = wc_ed25519_import_private_key(k->d, 32, k->x, 32, &key);
    }
    if (rv == 0) {
      rv = wc_ed25519_sign_msg(msg, (word32)n, sig, &len, &key);
    }
    wc_ed25519_free(&key);
    return rv == 0 ? (int)len : WT_ERR_CRYPTO;
  }
#endif
  return WT_ERR_UNSUPPORTED;
}

/* ------------------------------------------------------------------ generation */

static int set_b64(json_t *o, const char *name, const uint8_t *b, size_t n) {
  char s[WT_JWK_SECRET_MAX * 2];
  if (wt_base64_encode(b, n, s, sizeof(s), WT_B64_URL) < 0) {
    return -1;
  }
  return json_object_set_new(o, name, json_string(s));
}

/* The JSON text of k (private members too when priv). */
static char *key_json(const wt_jwk *k, int priv) {
  json_t *o = json_object();
  json_t *ops = json_array();
  int rv = o && ops ? 0 : -1;
  if (rv == 0 && priv) {
    rv = json_array_append_new(ops, json_string("sign"));
  }
  if (rv == 0) {
    rv = json_array_append_new(ops, json_string("verify"));
  }
  if (rv == 0) {
    rv = json_object_set_new(o, "alg", json_string(wt_jwk_alg_name(k->alg)));
  }
  if (rv == 0) {
    rv = json_object_set(o, "key_ops", ops);
  }
  if (rv == 0 && is_hmac(k->alg)) {
    rv = json_object_set_new(o, "kty", json_string("oct"));
    if (rv == 0) {
      rv = set_b64(o, "k", k->secret, k->secret_len);
    }
  } else if (rv == 0) {
    int ec = k->alg != WT_JWK_EDDSA;
    rv = json_object_set_new(o, "kty", json_string(ec ? "EC" : "OKP"));
    if (rv == 0) {
      rv = json_object_set_new(o, "crv",
                               json_string(!ec                      ? "Ed25519"
                                           : k->alg == WT_JWK_ES256 ? "P-256"
                                                                    : "P-384"));
    }
    if (rv == 0) {
      rv = set_b64(o, "x", k->x, k->coord);
    }
    if (rv == 0 && ec) {
      rv = set_b64(o, "y", k->y, k->coord);
    }
    if (rv == 0 && priv) {
      rv = set_b64(o, "d", k->d, k->coord);
    }
  }
  if (rv == 0 && k->has_kid) {
    rv = json_object_set_new(o, "kid", json_string(k->kid));
  }
  char *text = rv == 0 ? json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
  json_decref(ops);
  json_decref(o);
  return text;
}

static int generate_ecc(wt_jwk *k, WC_RNG *rng) {
  ecc_key key;
  word32 xn = (word32)k->coord, yn = (word32)k->coord, dn = (word32)k->coord;
  int rv = wc_ecc_init(&key);
  if (rv == 0) {
    rv = wc_ecc_make_key_ex(rng, (int)k->coord, &key,
                            k->alg == WT_JWK_ES256 ? ECC_SECP256R1 : ECC_SECP384R1);
  }
  if (rv == 0) {
    rv = wc_ecc_export_public_raw(&key, k->x, &xn, k->y, &yn);
  }
  if (rv == 0) {
    rv = wc_ecc_export_private_only(&key, k->d, &dn);
  }
  wc_ecc_free(&key);
  if (rv == 0 && (xn != k->coord || yn != k->coord || dn != k->coord)) {
    rv = -1; /* exports are fixed-width: cannot happen */
  }
  return rv;
}

int wt_jwk_generate(wt_jwk_alg alg, const char *kid, char **priv, char **pub) {
  *priv = NULL;
  if (pub) {
    *pub = NULL;
  }
  if (kid && !wt_jwk_kid_ok(kid)) {
    return WT_ERR_INVAL;
  }
  if (!wt_jwk_alg_supported(alg)) {
    return WT_ERR_UNSUPPORTED;
  }
  wt_jwk *k = calloc(1, sizeof(*k));
  if (!k) {
    return WT_ERR_NOMEM;
  }
  k->alg = alg;
  k->ops = OP_SIGN | OP_VERIFY;
  k->has_priv = 1;
  if (kid) {
    snprintf(k->kid, sizeof(k->kid), "%s", kid);
    k->has_kid = 1;
  }
  WC_RNG rng;
  int rv = wc_InitRng(&rng);
  if (rv == 0) {
    if (is_hmac(alg)) {
      k->secret_len = hash_len(alg);
      rv = wc_RNG_GenerateBlock(&rng, k->secret, (word32)k->secret_len);
    } else if (alg == WT_JWK_ES256 || alg == WT_JWK_ES384) {
      k->coord = alg == WT_JWK_ES256 ? 32 : 48;
      rv = generate_ecc(k, &rng);
    }
#ifdef HAVE_ED25519
    else {
      ed25519_key key;
      word32 xn = 32, dn = 32;
      k->coord = 32;
      rv = wc_ed25519_init(&key);
      if (rv == 0) {
        rv = wc_ed25519_make_key(&rng, 32, &key);
      }
      if (rv == 0) {
        rv = wc_ed25519_export_private_only(&key, k->d, &dn);
      }
      if (rv == 0) {
        rv = wc_ed25519_export_public(&key, k->x, &xn);
      }
      wc_ed25519_free(&key);
    }
#endif
    wc_FreeRng(&rng);
  }
  int out = WT_ERR_CRYPTO;
  if (rv == 0) {
    *priv = key_json(k, 1);
    if (pub && !is_hmac(alg)) {
      *pub = key_json(k, 0);
    }
    out = *priv && (!pub || is_hmac(alg) || *pub) ? 0 : WT_ERR_NOMEM;
  }
  memset(k, 0, sizeof(*k));
  free(k);
  if (out < 0) {
    free(*priv);
    *priv = NULL;
    if (pub) {
      free(*pub);
      *pub = NULL;
    }
  }
  return out;
}
