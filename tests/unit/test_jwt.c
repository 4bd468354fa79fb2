/* test_jwt.c: auth/ (wt_jwk keys, wt_jwt tokens and grants) and the
 * base64 codec they use (core/base/wt_base64.h). Known answers from RFC
 * 7515 appendix A for HS256 and ES256; every refusal reason; the path
 * rules of @moq/token; key file formats and their refusals. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "wt_base64.h"
#include "wt_error.h"
#include "wt_jwk.h"
#include "wt_jwt.h"

#define NOW ((int64_t)1700000000)

/* ------------------------------------------------------------------ helpers */

static wt_jwk_set *set_of(const char *text) {
  wt_jwk_set *s = NULL;
  char err[256];
  int rv = wt_jwk_set_parse(text, strlen(text), &s, err, sizeof(err));
  if (rv < 0) {
    fprintf(stderr, "    set_of: %s\n", err);
  }
  return s;
}

static int parse_err(const char *text, char *err, size_t cap) {
  wt_jwk_set *s = NULL;
  int rv = wt_jwk_set_parse(text, strlen(text), &s, err, cap);
  CHECK(rv < 0 ? s == NULL : s != NULL);
  wt_jwk_set_free(s);
  return rv;
}

/* header.payload (given as JSON) signed by k (NULL: signature sig_b64
 * verbatim). */
static void make_token(char *out, size_t cap, const char *header, const char *payload,
                       const wt_jwk *k, const char *sig_b64) {
  size_t at = 0;
  int w = wt_base64_encode((const uint8_t *)header, strlen(header), out, cap, WT_B64_URL);
  at = (size_t)w;
  out[at++] = '.';
  w = wt_base64_encode((const uint8_t *)payload, strlen(payload), out + at, cap - at, WT_B64_URL);
  at += (size_t)w;
  out[at] = '\0';
  if (k) {
    uint8_t sig[WT_JWK_SIG_MAX];
    int n = wt_jwk_sign(k, (const uint8_t *)out, at, sig, sizeof(sig));
    CHECK(n > 0);
    out[at++] = '.';
    wt_base64_encode(sig, (size_t)n, out + at, cap - at, WT_B64_URL);
  } else {
    snprintf(out + at, cap - at, ".%s", sig_b64 ? sig_b64 : "");
  }
}

static wt_jwt_result verify_at(const wt_jwk_set *s, const char *tok, int64_t now) {
  wt_jwt_claims c;
  char why[200];
  wt_jwt_result r = wt_jwt_verify(s, tok, strlen(tok), now, &c, why, sizeof(why));
  return r;
}

/* A generated key (private JSON) and, for EC, its public JSON. */
static void gen(wt_jwk_alg alg, const char *kid, char **priv, char **pub) {
  int rv = wt_jwk_generate(alg, kid, priv, pub);
  CHECK_EQ(rv, 0);
}

/* ------------------------------------------------------------------ base64 */

static void test_base64(void) {
  const char *in = "any carnal pleas";
  char enc[64];
  uint8_t dec[64];
  CHECK_EQ(wt_base64_encode((const uint8_t *)in, 16, enc, sizeof(enc), 0), 24);
  CHECK(!strcmp(enc, "YW55IGNhcm5hbCBwbGVhcw=="));
  CHECK_EQ(wt_base64_encode((const uint8_t *)in, 16, enc, sizeof(enc), WT_B64_URL), 22);
  CHECK(!strcmp(enc, "YW55IGNhcm5hbCBwbGVhcw"));
  CHECK_EQ(wt_base64_encode((const uint8_t *)in, 15, enc, sizeof(enc), 0), 20);
  CHECK(!strcmp(enc, "YW55IGNhcm5hbCBwbGVh"));
  CHECK_EQ(wt_base64_encode((const uint8_t *)in, 14, enc, sizeof(enc), 0), 20);
  CHECK(!strcmp(enc, "YW55IGNhcm5hbCBwbGU="));
  CHECK_EQ(wt_base64_decode("YW55IGNhcm5hbCBwbGVhcw", 22, dec, sizeof(dec), WT_B64_URL), 16);
  CHECK_MEM(dec, in, 16);
  CHECK_EQ(wt_base64_decode("YW55IGNhcm5hbCBwbGVhcw==", 24, dec, sizeof(dec), WT_B64_PAD_OK), 16);
  /* padding only where allowed, alphabets kept apart, strict pad bits */
  CHECK_EQ(wt_base64_decode("YW55IGNhcm5hbCBwbGVhcw==", 24, dec, sizeof(dec), WT_B64_URL),
           WT_ERR_MALFORMED);
  CHECK_EQ(wt_base64_decode("-_8", 3, dec, sizeof(dec), WT_B64_URL), 2);
  CHECK_EQ(wt_base64_decode("-_8", 3, dec, sizeof(dec), 0), WT_ERR_MALFORMED);
  CHECK_EQ(wt_base64_decode("+/8", 3, dec, sizeof(dec), WT_B64_URL), WT_ERR_MALFORMED);
  CHECK_EQ(wt_base64_decode("QR", 2, dec, sizeof(dec), WT_B64_URL), 1);
  CHECK_EQ(wt_base64_decode("QR", 2, dec, sizeof(dec), WT_B64_URL | WT_B64_STRICT),
           WT_ERR_MALFORMED);
  CHECK_EQ(wt_base64_decode("QQ", 2, dec, sizeof(dec), WT_B64_URL | WT_B64_STRICT), 1);
  CHECK_EQ(wt_base64_decode("Q", 1, dec, sizeof(dec), WT_B64_URL), WT_ERR_MALFORMED);
  CHECK_EQ(wt_base64_decode("QUJD", 4, dec, 2, WT_B64_URL), WT_ERR_NOBUF);
  CHECK_EQ(wt_base64_decode("", 0, dec, sizeof(dec), WT_B64_URL), 0);
  CHECK_EQ(wt_base64_encode((const uint8_t *)in, 16, enc, 22, WT_B64_URL), WT_ERR_NOBUF);
}

/* ------------------------------------------------------------------ known answers */

/* RFC 7515 A.1 (HS256) and A.3 (ES256). Their claims grant nothing in our
 * format, so a valid signature ends in MALFORMED ("grants neither"), a
 * wrong one in BAD_SIGNATURE: the signature check is what is known. */
static const char rfc_hs_key[] =
    "{\"kty\":\"oct\",\"alg\":\"HS256\",\"k\":\"AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-"
    "1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow\"}";
static const char rfc_hs_tok[] =
    "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0"
    "dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
static const char rfc_es_key[] = "{\"kty\":\"EC\",\"crv\":\"P-256\","
                                 "\"x\":\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\","
                                 "\"y\":\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0\"}";
static const char rfc_es_tok[] =
    "eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNv"
    "bS9pc19yb290Ijp0cnVlfQ.DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfK"
    "TUJqPP3-Kg6NU1Q";

static void test_known_answers(void) {
  wt_jwk_set *hs = set_of(rfc_hs_key), *es = set_of(rfc_es_key);
  CHECK_FATAL(hs && es);
  CHECK_EQ(verify_at(hs, rfc_hs_tok, 1300819000), WT_JWT_MALFORMED);
  CHECK_EQ(verify_at(es, rfc_es_tok, 1300819000), WT_JWT_MALFORMED);
  char bad[sizeof(rfc_es_tok)];
  memcpy(bad, rfc_hs_tok, sizeof(rfc_hs_tok));
  bad[strlen(bad) - 2] ^= 1;
  CHECK_EQ(verify_at(hs, bad, 1300819000), WT_JWT_BAD_SIGNATURE);
  memcpy(bad, rfc_es_tok, sizeof(rfc_es_tok));
  bad[strlen(bad) - 5] = bad[strlen(bad) - 5] == 'A' ? 'B' : 'A';
  CHECK_EQ(verify_at(es, bad, 1300819000), WT_JWT_BAD_SIGNATURE);
  /* the other's token: alg does not match the key */
  CHECK_EQ(verify_at(hs, rfc_es_tok, 1300819000), WT_JWT_BAD_ALG);
  CHECK_EQ(verify_at(es, rfc_hs_tok, 1300819000), WT_JWT_BAD_ALG);
  wt_jwk_set_free(hs);
  wt_jwk_set_free(es);
}

/* RFC 8037 A.4/A.5 (Ed25519): the payload is not a claims set, so the
 * signature is checked through wt_jwk_verify directly, and signing with the
 * RFC's private key must give the RFC's signature (Ed25519 is
 * deterministic). */
static const char rfc_ed_key[] = "{\"kty\":\"OKP\",\"crv\":\"Ed25519\","
                                 "\"d\":\"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A\","
                                 "\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\"}";
static const char rfc_ed_input[] = "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc";
static const char rfc_ed_sig[] =
    "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg";

static void test_known_answer_eddsa(void) {
  wt_jwk_set *ed = set_of(rfc_ed_key);
  CHECK_FATAL(ed);
  const wt_jwk *k = wt_jwk_set_key(ed, 0);
  CHECK_EQ(wt_jwk_alg_of(k), WT_JWK_EDDSA);
  uint8_t sig[64], mine[WT_JWK_SIG_MAX];
  CHECK_EQ(wt_base64_decode(rfc_ed_sig, strlen(rfc_ed_sig), sig, sizeof(sig), WT_B64_URL), 64);
  const uint8_t *in = (const uint8_t *)rfc_ed_input;
  size_t n = strlen(rfc_ed_input);
  CHECK_EQ(wt_jwk_verify(k, in, n, sig, sizeof(sig)), 0);
  CHECK_EQ(wt_jwk_sign(k, in, n, mine, sizeof(mine)), 64);
  CHECK(memcmp(mine, sig, 64) == 0);
  sig[10] ^= 0x01;
  CHECK(wt_jwk_verify(k, in, n, sig, sizeof(sig)) != 0);
  sig[10] ^= 0x01;
  CHECK(wt_jwk_verify(k, in, n - 1, sig, sizeof(sig)) != 0);
  CHECK(wt_jwk_verify(k, in, n, sig, 63) != 0);
  wt_jwk_set_free(ed);
}

/* ------------------------------------------------------------------ good tokens */

static void round_trip(wt_jwk_alg alg) {
  char *priv = NULL, *pub = NULL;
  gen(alg, "k-1", &priv, alg == WT_JWK_ES256 || alg == WT_JWK_ES384 ? &pub : NULL);
  CHECK_FATAL(priv);
  wt_jwk_set *sp = set_of(priv), *sv = set_of(pub ? pub : priv);
  CHECK_FATAL(sp && sv);
  const wt_jwk *k = wt_jwk_set_signer(sp);
  CHECK_FATAL(k);
  CHECK_EQ(wt_jwk_alg_of(k), alg);
  CHECK(!strcmp(wt_jwk_kid(k), "k-1"));
  const char *put[] = {"room"}, *get[] = {"", "other"};
  wt_jwt_grant g = {.root = "demo",
                    .put = put,
                    .get = get,
                    .n_put = 1,
                    .n_get = 2,
                    .exp = NOW + 3600,
                    .iat = NOW};
  char tok[WT_JWT_TOKEN_MAX + 1];
  int n = wt_jwt_sign(k, &g, tok, sizeof(tok));
  CHECK_FATAL(n > 0);
  CHECK_EQ(strlen(tok), (size_t)n);
  static wt_jwt_claims c;
  char why[200];
  CHECK_EQ(wt_jwt_verify(sv, tok, (size_t)n, NOW, &c, why, sizeof(why)), WT_JWT_OK);
  CHECK(!strcmp(c.root, "demo"));
  CHECK_EQ(c.n_grants[WT_JWT_PUT], 1);
  CHECK_EQ(c.n_grants[WT_JWT_GET], 2);
  CHECK(c.has_exp && c.exp == NOW + 3600 && c.has_iat && c.iat == NOW && !c.has_nbf);
  CHECK(!strcmp(c.kid, "k-1"));
  CHECK(wt_jwt_allows(&c, WT_JWT_PUT, "demo/room"));
  CHECK(!wt_jwt_allows(&c, WT_JWT_PUT, "demo/other"));
  CHECK(wt_jwt_allows(&c, WT_JWT_GET, "demo/anything"));
  if (pub) {
    /* a public key verifies but cannot sign */
    CHECK(!wt_jwk_set_signer(sv));
    CHECK_EQ(wt_jwt_sign(wt_jwk_set_key(sv, 0), &g, tok, sizeof(tok)), WT_ERR_REFUSED);
  }
  wt_jwk_set_free(sp);
  wt_jwk_set_free(sv);
  free(priv);
  free(pub);
}

static void test_good_tokens(void) {
  round_trip(WT_JWK_HS256);
  round_trip(WT_JWK_HS384);
  round_trip(WT_JWK_HS512);
  round_trip(WT_JWK_ES256);
  round_trip(WT_JWK_ES384);
  /* tools/deps builds wolfSSL with --enable-ed25519: EdDSA is required */
  CHECK_FATAL(wt_jwk_alg_supported(WT_JWK_EDDSA));
  round_trip(WT_JWK_EDDSA);
}

/* ------------------------------------------------------------------ refusals */

static void test_refusals(void) {
  char *hpriv, *epriv, *epub;
  gen(WT_JWK_HS256, "hs", &hpriv, NULL);
  gen(WT_JWK_ES256, "ec", &epriv, &epub);
  char set_text[4096];
  snprintf(set_text, sizeof(set_text), "{\"keys\":[%s,%s]}", hpriv, epub);
  wt_jwk_set *s = set_of(set_text), *hs = set_of(hpriv), *es = set_of(epriv);
  CHECK_FATAL(s && hs && es);
  const wt_jwk *hk = wt_jwk_set_signer(hs), *ek = wt_jwk_set_signer(es);
  const char *pay = "{\"root\":\"\",\"put\":\"a\",\"exp\":1700003600}";
  char tok[8192];

  make_token(tok, sizeof(tok), "{\"alg\":\"HS256\",\"kid\":\"hs\"}", pay, hk, NULL);
  CHECK_EQ(verify_at(s, tok, NOW), WT_JWT_OK);
  make_token(tok, sizeof(tok), "{\"alg\":\"ES256\",\"kid\":\"ec\"}", pay, ek, NULL);
  CHECK_EQ(verify_at(s, tok, NOW), WT_JWT_OK);

  /* alg none, with and without a signature */
  make_token(tok, sizeof(tok), "{\"alg\":\"none\",\"kid\":\"hs\"}", pay, NULL, "");
  CHECK_EQ(verify_at(s, tok, NOW), WT_JWT_BAD_ALG);
  make_token(tok, sizeof(tok), "{\"alg\":\"none\",\"kid\":\"ec\"}", pay, NULL, "AAAA");
  CHECK_EQ(verify_at(s, tok, NOW), WT_JWT_BAD_ALG);
  make_token(tok, sizeof(tok), "{\"alg\":\"none\"}", pay, NULL, "");
  CHECK_EQ(verify_at(hs, tok, NOW), WT_JWT_BAD_ALG);

  /* algorithm confusion: HS256 "signed" with the EC public key (its JWK
   * text, or its raw x as the HMAC secret) under the EC key's kid */
  char conf[4096];
  snprintf(conf, sizeof(conf), "{\"kty\":\"oct\",\"alg\":\"HS256\",\"kid\":\"ec\",\"k\":\"");
  size_t at = strlen(conf);
  wt_base64_encode((const uint8_t *)epub, strlen(epub), conf + at, sizeof(conf) - at, WT_B64_URL);
  strcat(conf, "\"}");
  wt_jwk_set *cs = set_of(conf);
  CHECK_FATAL(cs);
  make_token(tok, sizeof(tok), "{\"alg\":\"HS256\",\"kid\":\"ec\"}", pay, wt_jwk_set_signer(cs),
             NULL);
  CHECK_EQ(verify_at(s, tok, NOW), WT_JWT_BAD_ALG);
  CHECK_EQ(verify_at(es, tok, NOW), WT_JWT_BAD_ALG);
  wt_jwk_set_free(cs);

  /* kid: unknown; absent with two keys; absent with one key is fine */
  make_token(tok, sizeof(tok), "{\"alg\":\"HS256\",\"kid\":\"nope\"}", pay, hk, NULL);
  CHECK_EQ(verify_at(s, tok, NOW), WT_JWT_UNKNOWN_KID);
  make_token(tok, sizeof(tok), "{\"alg\":\"HS256\"}", pay, hk, NULL);
  CHECK_EQ(verify_at(s, tok, NOW), WT_JWT_UNKNOWN_KID);
  CHECK_EQ(verify_at(hs, tok, NOW), WT_JWT_OK);

  /* time: exp and nbf with the 60 s leeway */
  make_token(tok, sizeof(tok), "{\"alg\":\"HS256\"}", "{\"put\":\"a\",\"exp\":1699999900}", hk,
             NULL);
  CHECK_EQ(verify_at(hs, tok, NOW), WT_JWT_EXPIRED);
  make_token(tok, sizeof(tok), "{\"alg\":\"HS256\"}", "{\"put\":\"a\",\"exp\":1699999970}", hk,
             NULL);
  CHECK_EQ(verify_at(hs, tok, NOW), WT_JWT_OK);
  make_token(tok, sizeof(tok), "{\"alg\":\"HS256\"}", "{\"put\":\"a\",\"exp\":1699999940.5}", hk,
             NULL);
  CHECK_EQ(verify_at(hs, tok, NOW), WT_JWT_EXPIRED);
  make_token(tok, sizeof(tok), "{\"alg\":\"HS256\"}", "{\"put\":\"a\",\"nbf\":1700000100}", hk,
             NULL);
  CHECK_EQ(verify_at(hs, tok, NOW), WT_JWT_NOT_YET_VALID);
  make_token(tok, sizeof(tok), "{\"alg\":\"HS256\"}", "{\"put\":\"a\",\"nbf\":1700000030}", hk,
             NULL);
  CHECK_EQ(verify_at(hs, tok, NOW), WT_JWT_OK);
  make_token(tok, sizeof(tok), "{\"alg\":\"HS256\"}", "{\"put\":\"a\",\"exp\":null}", hk, NULL);
  CHECK_EQ(verify_at(hs, tok, NOW), WT_JWT_OK);
  make_token(tok, sizeof(tok), "{\"alg\":\"HS256\"}", "{\"put\":\"a\",\"exp\":\"soon\"}", hk, NULL);
  CHECK_EQ(verify_at(hs, tok, NOW), WT_JWT_MALFORMED);

  /* bad signature: the signature, the payload or the header changed */
  make_token(tok, sizeof(tok), "{\"alg\":\"ES256\",\"kid\":\"ec\"}", pay, ek, NULL);
  char t2[8192];
  strcpy(t2, tok);
  char *last = strrchr(t2, '.') + 3;
  *last = *last == 'x' ? 'y' : 'x';
  CHECK_EQ(verify_at(s, t2, NOW), WT_JWT_BAD_SIGNATURE);
  strcpy(t2, tok);
  char *mid = strchr(t2, '.') + 4;
  *mid = *mid == 'x' ? 'y' : 'x';
  CHECK_EQ(verify_at(s, t2, NOW), WT_JWT_BAD_SIGNATURE);
  /* a signature of the wrong length */
  strcpy(t2, tok);
  strcpy(strrchr(t2, '.') + 1, "AAAA");
  CHECK_EQ(verify_at(s, t2, NOW), WT_JWT_BAD_SIGNATURE);

  /* claims that grant nothing, or of the wrong type */
  const char *bad_claims[] = {
      "{\"root\":\"x\"}",
      "{\"put\":[]}",
      "{\"put\":7}",
      "{\"put\":[\"a\",7]}",
      "{\"root\":5,\"put\":\"a\"}",
      "[\"put\"]",
      "{\"put\":\"a\",\"put\":\"b\"}",
      "not json",
  };
  for (size_t i = 0; i < sizeof(bad_claims) / sizeof(bad_claims[0]); i++) {
    make_token(tok, sizeof(tok), "{\"alg\":\"HS256\"}", bad_claims[i], hk, NULL);
    CHECK_EQ(verify_at(hs, tok, NOW), WT_JWT_MALFORMED);
  }
  wt_jwk_set_free(s);
  wt_jwk_set_free(hs);
  wt_jwk_set_free(es);
  free(hpriv);
  free(epriv);
  free(epub);
}

static void test_malformed(void) {
  char *hpriv;
  gen(WT_JWK_HS256, NULL, &hpriv, NULL);
  wt_jwk_set *hs = set_of(hpriv);
  CHECK_FATAL(hs);
  const wt_jwk *hk = wt_jwk_set_signer(hs);
  char tok[8192];
  const char *shapes[] = {"abc", "a.b", "a.b.c.d", ".", "..", "e30.e30.", "!!!.e30.AAAA"};
  for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
    CHECK_EQ(verify_at(hs, shapes[i], NOW), WT_JWT_MALFORMED);
  }
  CHECK_EQ(wt_jwt_verify(hs, "", 0, NOW, NULL, NULL, 0), WT_JWT_MISSING);
  /* headers: not JSON, no alg, crit, nested deeper than allowed, a
   * duplicate member, kid not a string */
  const char *bad_headers[] = {"nope",
                               "{}",
                               "{\"alg\":\"HS256\",\"crit\":[\"b64\"]}",
                               "{\"alg\":\"HS256\",\"x\":[[[[[1]]]]]}",
                               "{\"alg\":\"HS256\",\"alg\":\"HS256\"}",
                               "{\"alg\":\"HS256\",\"kid\":7}",
                               "[1]"};
  for (size_t i = 0; i < sizeof(bad_headers) / sizeof(bad_headers[0]); i++) {
    make_token(tok, sizeof(tok), bad_headers[i], "{\"put\":\"a\"}", hk, NULL);
    CHECK_EQ(verify_at(hs, tok, NOW), WT_JWT_MALFORMED);
  }
  /* padding is not base64url as JWS has it */
  make_token(tok, sizeof(tok), "{\"alg\":\"HS256\"}", "{\"put\":\"a\"}", hk, NULL);
  CHECK_EQ(verify_at(hs, tok, NOW), WT_JWT_OK);
  char t2[8192 + 2];
  snprintf(t2, sizeof(t2), "%s=", tok);
  CHECK_EQ(verify_at(hs, t2, NOW), WT_JWT_BAD_SIGNATURE);
  /* oversize: a valid token grown past 4096 bytes */
  char big[6000];
  memset(big, 'a', sizeof(big) - 1);
  big[sizeof(big) - 1] = '\0';
  char pay[7000];
  snprintf(pay, sizeof(pay), "{\"put\":\"a\",\"pad\":\"%.3200s\"}", big);
  make_token(tok, sizeof(tok), "{\"alg\":\"HS256\"}", pay, hk, NULL);
  CHECK(strlen(tok) > WT_JWT_TOKEN_MAX);
  CHECK_EQ(verify_at(hs, tok, NOW), WT_JWT_MALFORMED);
  /* too many grants, a path too long */
  char many[2000] = "{\"put\":[";
  for (int i = 0; i < 33; i++) {
    strcat(many, i ? ",\"a\"" : "\"a\"");
  }
  strcat(many, "]}");
  make_token(tok, sizeof(tok), "{\"alg\":\"HS256\"}", many, hk, NULL);
  CHECK_EQ(verify_at(hs, tok, NOW), WT_JWT_MALFORMED);
  snprintf(pay, sizeof(pay), "{\"put\":\"%.300s\"}", big);
  make_token(tok, sizeof(tok), "{\"alg\":\"HS256\"}", pay, hk, NULL);
  CHECK_EQ(verify_at(hs, tok, NOW), WT_JWT_MALFORMED);
  wt_jwk_set_free(hs);
  free(hpriv);
}

/* ------------------------------------------------------------------ paths */

static wt_jwt_claims *claims_for(const wt_jwk_set *hs, const wt_jwk *hk, const char *payload) {
  static wt_jwt_claims c;
  char tok[8192];
  make_token(tok, sizeof(tok), "{\"alg\":\"HS256\"}", payload, hk, NULL);
  wt_jwt_result r = wt_jwt_verify(hs, tok, strlen(tok), NOW, &c, NULL, 0);
  CHECK_EQ(r, WT_JWT_OK);
  return &c;
}

static void test_paths(void) {
  char out[64];
  CHECK_EQ(wt_jwt_path_normalize("/demo//room/", out, sizeof(out)), 9);
  CHECK(!strcmp(out, "demo/room"));
  CHECK_EQ(wt_jwt_path_normalize("///", out, sizeof(out)), 0);
  CHECK_EQ(wt_jwt_path_normalize("abcdef", out, 4), WT_ERR_NOBUF);

  char *hpriv;
  gen(WT_JWK_HS256, NULL, &hpriv, NULL);
  wt_jwk_set *hs = set_of(hpriv);
  CHECK_FATAL(hs);
  const wt_jwk *hk = wt_jwk_set_signer(hs);
  wt_jwt_claims *c = claims_for(hs, hk, "{\"root\":\"demo\",\"put\":\"room\"}");
  CHECK(wt_jwt_allows(c, WT_JWT_PUT, "demo/room"));
  CHECK(wt_jwt_allows(c, WT_JWT_PUT, "demo/room/cam"));
  CHECK(wt_jwt_allows(c, WT_JWT_PUT, "/demo//room/"));
  CHECK(!wt_jwt_allows(c, WT_JWT_PUT, "demo/roomba")); /* segment boundary */
  CHECK(!wt_jwt_allows(c, WT_JWT_PUT, "demo"));
  CHECK(!wt_jwt_allows(c, WT_JWT_PUT, "room"));
  CHECK(!wt_jwt_allows(c, WT_JWT_GET, "demo/room")); /* put-only token */
  c = claims_for(hs, hk, "{\"root\":\"/demo/\",\"get\":[\"\"]}");
  CHECK(wt_jwt_allows(c, WT_JWT_GET, "demo"));
  CHECK(wt_jwt_allows(c, WT_JWT_GET, "demo/x/y"));
  CHECK(!wt_jwt_allows(c, WT_JWT_GET, "demox"));
  CHECK(!wt_jwt_allows(c, WT_JWT_PUT, "demo/x"));
  c = claims_for(hs, hk, "{\"put\":\"\",\"get\":\"a/b\"}");
  CHECK(wt_jwt_allows(c, WT_JWT_PUT, "anything/at/all"));
  CHECK(wt_jwt_allows(c, WT_JWT_PUT, ""));
  CHECK(wt_jwt_allows(c, WT_JWT_GET, "a/b/c"));
  CHECK(!wt_jwt_allows(c, WT_JWT_GET, "a"));
  CHECK(!wt_jwt_allows(c, WT_JWT_GET, "a/bc"));
  c = claims_for(hs, hk, "{\"root\":null,\"put\":[\"x\",\"y/z\"],\"cluster\":false}");
  CHECK(wt_jwt_allows(c, WT_JWT_PUT, "x"));
  CHECK(wt_jwt_allows(c, WT_JWT_PUT, "y/z/w"));
  CHECK(!wt_jwt_allows(c, WT_JWT_PUT, "y"));
  wt_jwk_set_free(hs);
  free(hpriv);
}

/* ------------------------------------------------------------------ key files */

static void test_key_files(void) {
  char err[256];
  char *priv;
  gen(WT_JWK_HS256, "b64", &priv, NULL);
  /* the base64url form the MoQ tools write, with whitespace around */
  char b64[4096] = "\n  ";
  wt_base64_encode((const uint8_t *)priv, strlen(priv), b64 + 3, sizeof(b64) - 4, WT_B64_URL);
  strcat(b64, "\n");
  wt_jwk_set *s = set_of(b64);
  CHECK(s && wt_jwk_set_count(s) == 1 && !strcmp(wt_jwk_kid(wt_jwk_set_key(s, 0)), "b64"));
  wt_jwk_set_free(s);
  free(priv);
  /* legacy oct key without kty, padded base64url secret */
  s = set_of("{\"alg\":\"HS256\",\"key_ops\":[\"verify\"],"
             "\"k\":\"Fp8kipWUJeUFqeSqWym_tRC_tyI8z-QpqopIGrbrD68=\"}");
  CHECK_FATAL(s);
  CHECK(wt_jwk_can_verify(wt_jwk_set_key(s, 0)) && !wt_jwk_can_sign(wt_jwk_set_key(s, 0)));
  CHECK(wt_jwk_set_find(s, NULL) == wt_jwk_set_key(s, 0));
  wt_jwk_set_free(s);
  /* refusals, each with a reason */
  CHECK_EQ(parse_err("{\"alg\":\"HS256\",\"k\":\"c2hvcnQ\"}", err, sizeof(err)), WT_ERR_LIMIT);
  CHECK(strstr(err, "at least 32") != NULL);
  CHECK_EQ(parse_err("{\"kty\":\"RSA\",\"alg\":\"RS256\",\"n\":\"AQAB\",\"e\":\"AQAB\"}", err,
                     sizeof(err)),
           WT_ERR_UNSUPPORTED);
  CHECK_EQ(parse_err("{\"kty\":\"oct\",\"alg\":\"none\",\"k\":\"AAAA\"}", err, sizeof(err)),
           WT_ERR_UNSUPPORTED);
  CHECK_EQ(parse_err("{\"kty\":\"OKP\",\"crv\":\"X25519\","
                     "\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\"}",
                     err, sizeof(err)),
           WT_ERR_UNSUPPORTED);
  CHECK_EQ(parse_err("{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"c2hvcnQ\"}", err, sizeof(err)),
           WT_ERR_MALFORMED);
  /* a point not on the curve (the RFC key with y changed) */
  CHECK_EQ(parse_err("{\"kty\":\"EC\",\"crv\":\"P-256\","
                     "\"x\":\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\","
                     "\"y\":\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5b0\"}",
                     err, sizeof(err)),
           WT_ERR_CRYPTO);
  /* alg that does not fit the curve */
  CHECK_EQ(parse_err("{\"kty\":\"EC\",\"crv\":\"P-256\",\"alg\":\"ES384\","
                     "\"x\":\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\","
                     "\"y\":\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0\"}",
                     err, sizeof(err)),
           WT_ERR_MALFORMED);
  CHECK_EQ(parse_err("{\"keys\":[]}", err, sizeof(err)), WT_ERR_MALFORMED);
  CHECK_EQ(parse_err("not a key", err, sizeof(err)), WT_ERR_MALFORMED);
  CHECK_EQ(parse_err("{\"keys\":[[[[[[[[[1]]]]]]]]]}", err, sizeof(err)), WT_ERR_MALFORMED);
  CHECK_EQ(parse_err("{\"alg\":\"HS256\",\"kid\":\"a b\","
                     "\"k\":\"Fp8kipWUJeUFqeSqWym_tRC_tyI8z-QpqopIGrbrD68\"}",
                     err, sizeof(err)),
           WT_ERR_MALFORMED);
  /* duplicate kid, too many keys */
  const char *k1 =
      "{\"alg\":\"HS256\",\"kid\":\"a\",\"k\":\"Fp8kipWUJeUFqeSqWym_tRC_tyI8z-QpqopIGrbrD68\"}";
  char set[8192];
  snprintf(set, sizeof(set), "{\"keys\":[%s,%s]}", k1, k1);
  CHECK_EQ(parse_err(set, err, sizeof(err)), WT_ERR_MALFORMED);
  CHECK(strstr(err, "twice") != NULL);
  char *many = malloc(70 * 100 + 32);
  strcpy(many, "{\"keys\":[");
  for (int i = 0; i < WT_JWK_MAX_KEYS + 1; i++) {
    char one[128];
    snprintf(one, sizeof(one),
             "%s{\"alg\":\"HS256\",\"kid\":\"k%d\",\"k\":\"Fp8kipWUJeUFqeSqWym_tRC_tyI8z-"
             "QpqopIGrbrD68\"}",
             i ? "," : "", i);
    strcat(many, one);
  }
  strcat(many, "]}");
  CHECK_EQ(parse_err(many, err, sizeof(err)), WT_ERR_LIMIT);
  free(many);
  /* files: missing, and too large */
  wt_jwk_set *fs;
  CHECK_EQ(wt_jwk_set_load("/nonexistent/keys.jwk", &fs, err, sizeof(err)), WT_ERR_IO);
  char path[] = "/tmp/wtcast-test-jwt-XXXXXX";
  int fd = mkstemp(path);
  CHECK_FATAL(fd >= 0);
  FILE *f = fdopen(fd, "w");
  for (unsigned i = 0; i < WT_JWK_FILE_MAX + 10; i++) {
    fputc(' ', f);
  }
  fclose(f);
  CHECK_EQ(wt_jwk_set_load(path, &fs, err, sizeof(err)), WT_ERR_LIMIT);
  unlink(path);
}

int main(void) {
  WT_RUN(test_base64);
  WT_RUN(test_known_answers);
  WT_RUN(test_known_answer_eddsa);
  WT_RUN(test_good_tokens);
  WT_RUN(test_refusals);
  WT_RUN(test_malformed);
  WT_RUN(test_paths);
  WT_RUN(test_key_files);
  WT_DONE();
}
