/* test_certgen: client/wt_certgen.h: wt_certgen_files writes a certificate
 * that wolfSSL parses (ECDSA P-256, self-signed, CN and SAN = cn, the
 * validity asked for) with a key wolfSSL pairs with it, and returns the
 * SHA-256 of its DER; SAN parsing and de-duplication; errors. (The
 * wtcast-cert command line is tested by test_cert.) */
#include <wolfssl/options.h>
#include <wolfssl/ssl.h>
#include <wolfssl/wolfcrypt/asn.h>
#include <wolfssl/wolfcrypt/asn_public.h>
#include <wolfssl/wolfcrypt/hash.h>

#include <limits.h>
#include <unistd.h>

#include "check.h"
#include "wt_certgen.h"
#include "wt_error.h"

static char g_dir[PATH_MAX];

static int load_der(const char *path, uint8_t *der, size_t cap) {
  static char pem[32768];
  FILE *f = fopen(path, "rb");
  if (!f) {
    return -1;
  }
  size_t n = fread(pem, 1, sizeof(pem), f);
  fclose(f);
  return wc_CertPemToDer((const unsigned char *)pem, (int)n, der, (int)cap, CERT_TYPE);
}

static int has_dns_san(const DecodedCert *dc, const char *name) {
  for (const DNS_entry *e = dc->altNames; e; e = e->next) {
    if (e->type == ASN_DNS_TYPE && (size_t)e->len == strlen(name) &&
        memcmp(e->name, name, strlen(name)) == 0) {
      return 1;
    }
  }
  return 0;
}

static void test_files(void) {
  char cert[PATH_MAX + 16], key[PATH_MAX + 16];
  static uint8_t der[WT_CERTGEN_DER_MAX];
  uint8_t pin[32], h[32];
  snprintf(cert, sizeof(cert), "%s/c.pem", g_dir);
  snprintf(key, sizeof(key), "%s/k.pem", g_dir);
  CHECK_FATAL(wt_certgen_files(cert, key, "wt.example", 3, pin) == 0);
  int n = load_der(cert, der, sizeof(der));
  CHECK_FATAL(n > 0);
  CHECK_FATAL(wc_Sha256Hash(der, (word32)n, h) == 0);
  CHECK_MEM(h, pin, 32);

  DecodedCert dc;
  wc_InitDecodedCert(&dc, der, (word32)n, NULL);
  int rv = wc_ParseCert(&dc, CERT_TYPE, NO_VERIFY, NULL);
  CHECK_EQ(rv, 0);
  if (rv == 0) {
    CHECK_EQ(dc.keyOID, ECDSAk);
    CHECK_EQ(dc.pkCurveOID, ECC_SECP256R1_OID);
    CHECK(dc.selfSigned);
    CHECK(dc.subjectCN && dc.subjectCNLen == 10 && memcmp(dc.subjectCN, "wt.example", 10) == 0);
    CHECK(has_dns_san(&dc, "wt.example"));
    CHECK(!has_dns_san(&dc, "localhost"));
  }
  wc_FreeDecodedCert(&dc);

  WOLFSSL_CTX *ctx = wolfSSL_CTX_new(wolfTLS_server_method());
  CHECK_FATAL(ctx != NULL);
  CHECK_EQ(wolfSSL_CTX_use_certificate_file(ctx, cert, WOLFSSL_FILETYPE_PEM), WOLFSSL_SUCCESS);
  CHECK_EQ(wolfSSL_CTX_use_PrivateKey_file(ctx, key, WOLFSSL_FILETYPE_PEM), WOLFSSL_SUCCESS);
  CHECK_EQ(wolfSSL_CTX_check_private_key(ctx), WOLFSSL_SUCCESS);
  wolfSSL_CTX_free(ctx);

  /* a new pair replaces the old one, with another hash */
  uint8_t pin2[32];
  CHECK_FATAL(wt_certgen_files(cert, key, "localhost", 1, pin2) == 0);
  CHECK(memcmp(pin, pin2, 32) != 0);
  CHECK(wt_certgen_files(cert, key, "", 1, pin2) == WT_ERR_INVAL);
  CHECK(wt_certgen_files(cert, key, "localhost", 0, pin2) == WT_ERR_INVAL);
  CHECK(wt_certgen_files(cert, cert, "localhost", 1, pin2) < 0);
  unlink(cert);
  unlink(key);
}

static void test_make(void) {
  static wt_certgen_params p;
  static wt_certgen_cert c;
  char err[200];
  wt_certgen_params_init(&p);
  p.days = 14;
  CHECK_EQ(wt_certgen_add_default_sans(&p), 0);
  CHECK_EQ(p.nsans, 3);
  wt_certgen_san s;
  CHECK_EQ(wt_certgen_san_parse("LOCALHOST", &s, err, sizeof(err)), 0);
  CHECK_EQ(wt_certgen_add_san(&p, &s), 0);
  CHECK_EQ(p.nsans, 3); /* DNS names compare without case */
  CHECK_EQ(wt_certgen_san_parse("[::2]", &s, err, sizeof(err)), 0);
  CHECK_EQ(s.tag, WT_CERTGEN_SAN_IP);
  CHECK_EQ(s.len, 16);
  CHECK(wt_certgen_san_parse("[bad]", &s, err, sizeof(err)) == WT_ERR_INVAL);
  CHECK(strstr(err, "not an IPv6 address") != NULL);
  CHECK(wt_certgen_san_parse("a..b", &s, err, sizeof(err)) == WT_ERR_INVAL);
  CHECK(wt_certgen_san_parse("1.2.3", &s, err, sizeof(err)) == WT_ERR_INVAL);
  CHECK(!wt_certgen_cn_ok("") && !wt_certgen_cn_ok("a\tb") && wt_certgen_cn_ok("a b"));
  CHECK_FATAL(wolfCrypt_Init() == 0);
  CHECK_EQ(wt_certgen_make(&p, &c, err, sizeof(err)), 0);
  CHECK_EQ(c.not_after - c.not_before, 14 * 86400);
  CHECK(c.der_len > 0 && c.cert_pem_len > 0 && c.key_pem_len > 0 && c.spki_len > 0);
  CHECK(strstr(c.key_pem, "EC PRIVATE KEY") != NULL);
  wt_certgen_cert_wipe(&c);
  CHECK_EQ(c.key_pem_len, 0);
  CHECK_EQ(c.key_pem[0], 0);
  wolfCrypt_Cleanup();
}

int main(void) {
  snprintf(g_dir, sizeof(g_dir), "%s/wt_certgen.XXXXXX",
           getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
  if (!mkdtemp(g_dir)) {
    perror("mkdtemp");
    return 1;
  }
  wolfSSL_Init();
  WT_RUN(test_files);
  WT_RUN(test_make);
  wolfSSL_Cleanup();
  rmdir(g_dir);
  WT_DONE();
}
