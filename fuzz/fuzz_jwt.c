/* fuzz_jwt.c: the token and key-file parsers of auth/ (wt_jwt.h,
 * wt_jwk.h) and the base64 codec under them (core/base/wt_base64.h).
 *
 * Input: byte 0 picks the mode, the rest is
 *  - 'k': a key file (JWK or JWK Set, JSON or base64url of it);
 *  - anything else: a token, verified against a fixed HS256 + ES256 set.
 * Oracles: nothing reads or writes outside its buffers (ASan); a parsed
 * set has 1..WT_JWK_MAX_KEYS keys; a verified token has normalized paths
 * (no empty segment) and at least one grant; the verdict does not depend
 * on the bytes after the input (the token is copied into an exact-size
 * heap buffer); base64url decodes what it encodes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "wt_base64.h"
#include "wt_error.h"
#include "wt_jwk.h"
#include "wt_jwt.h"

static const char keys_json[] = "{\"keys\":[{\"kty\":\"oct\",\"alg\":\"HS256\",\"kid\":\"hs\","
                                "\"k\":\"Fp8kipWUJeUFqeSqWym_tRC_tyI8z-QpqopIGrbrD68\"},"
                                "{\"kty\":\"EC\",\"crv\":\"P-256\",\"kid\":\"ec\","
                                "\"x\":\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\","
                                "\"y\":\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0\"}]}";

static wt_jwk_set *fixed;

static void check_path(const char *p) {
  size_t n = strlen(p);
  FUZZ_CHECK(n <= WT_JWT_PATH_MAX);
  FUZZ_CHECK(n == 0 || (p[0] != '/' && p[n - 1] != '/' && !strstr(p, "//")));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!fixed) {
    char err[256];
    FUZZ_CHECK(wt_jwk_set_parse(keys_json, strlen(keys_json), &fixed, err, sizeof(err)) == 0);
  }
  if (size == 0) {
    return 0;
  }
  size_t n = size - 1;
  char *in = malloc(n ? n : 1);
  memcpy(in, data + 1, n);
  if (data[0] == 'k') {
    wt_jwk_set *s = NULL;
    char err[256];
    int rv = wt_jwk_set_parse(in, n, &s, err, sizeof(err));
    FUZZ_CHECK(rv == 0 ? s != NULL : s == NULL);
    if (s) {
      FUZZ_CHECK(wt_jwk_set_count(s) >= 1 && wt_jwk_set_count(s) <= WT_JWK_MAX_KEYS);
      wt_jwk_set_free(s);
    }
  } else {
    static wt_jwt_claims c;
    char why[128];
    wt_jwt_result r = wt_jwt_verify(fixed, in, n, 1700000000, &c, why, sizeof(why));
    FUZZ_CHECK((unsigned)r < WT_JWT_RESULTS && r != WT_JWT_FORBIDDEN);
    FUZZ_CHECK(n > 0 || r == WT_JWT_MISSING);
    if (r == WT_JWT_OK) {
      check_path(c.root);
      FUZZ_CHECK(c.n_grants[WT_JWT_PUT] + c.n_grants[WT_JWT_GET] > 0);
      for (int a = 0; a < 2; a++) {
        for (size_t i = 0; i < c.n_grants[a]; i++) {
          check_path(c.grants[a][i]);
        }
      }
      (void)wt_jwt_allows(&c, WT_JWT_PUT, "a/b");
    }
    /* base64url round trip of the input bytes */
    if (n <= 2048) {
      static char enc[2048 * 4 / 3 + 8];
      static uint8_t dec[2048];
      int e = wt_base64_encode((const uint8_t *)in, n, enc, sizeof(enc), WT_B64_URL);
      FUZZ_CHECK(e >= 0);
      int d = wt_base64_decode(enc, (size_t)e, dec, sizeof(dec), WT_B64_URL | WT_B64_STRICT);
      FUZZ_CHECK(d == (int)n && memcmp(dec, in, n) == 0);
    }
  }
  free(in);
  return 0;
}
