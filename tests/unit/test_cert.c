/* test_cert: runs $WTCAST_BIN/wtcast-cert in a temporary directory and checks
 * what it writes with wolfSSL's own parser: an ECDSA P-256 key, the validity
 * period browsers accept for serverCertificateHashes, the SANs, a SHA-256
 * that matches the printed one, and a private key wolfSSL loads and pairs
 * with the certificate. */
#include <wolfssl/options.h>
#include <wolfssl/ssl.h>
#include <wolfssl/wolfcrypt/asn.h>
#include <wolfssl/wolfcrypt/asn_public.h>
#include <wolfssl/wolfcrypt/hash.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

extern char **environ;

#define DAY          86400
#define SLACK        60 /* seconds of tolerance on times */
#define MAX_ARGS     16
#define OUT_MAX      8192
#define CERT_DER_MAX 16384

static char g_dir[PATH_MAX];  /* mkdtemp() directory, removed at the end */
static char g_tool[PATH_MAX]; /* $WTCAST_BIN/wtcast-cert */

struct run {
  int status; /* exit code, or -1 if it did not exit normally */
  char out[OUT_MAX];
  char err[OUT_MAX];
};

static void path_in_dir(char *out, size_t outsz, const char *name) {
  snprintf(out, outsz, "%s/%s", g_dir, name);
}

static size_t slurp(const char *path, void *buf, size_t cap) {
  FILE *f = fopen(path, "rb");
  size_t n = 0;
  if (f) {
    n = fread(buf, 1, cap, f);
    fclose(f);
  }
  return n;
}

/* Runs the tool with args (NULL-terminated, without argv[0]); stdout and
 * stderr go through files in g_dir so neither can block the child. */
static void run_tool(struct run *r, const char *const *args) {
  char out_path[PATH_MAX + 16], err_path[PATH_MAX + 16];
  char *argv[MAX_ARGS + 2];
  size_t argc = 0;
  posix_spawn_file_actions_t fa;
  pid_t pid;
  int ws;
  memset(r, 0, sizeof(*r));
  r->status = -1;
  path_in_dir(out_path, sizeof(out_path), "run.stdout");
  path_in_dir(err_path, sizeof(err_path), "run.stderr");
  argv[argc++] = g_tool;
  for (; args[argc - 1] && argc <= MAX_ARGS; argc++) {
    argv[argc] = (char *)args[argc - 1];
  }
  argv[argc] = NULL;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addopen(&fa, 2, err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  int rv = posix_spawn(&pid, g_tool, &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rv != 0) {
    fprintf(stderr, "posix_spawn %s: %s\n", g_tool, strerror(rv));
    return;
  }
  if (waitpid(pid, &ws, 0) == pid && WIFEXITED(ws)) {
    r->status = WEXITSTATUS(ws);
  }
  slurp(out_path, r->out, sizeof(r->out) - 1);
  slurp(err_path, r->err, sizeof(r->err) - 1);
  unlink(out_path);
  unlink(err_path);
}

/* The text after "name: " on the line starting so, copied into out. */
static int find_line(const char *text, const char *name, char *out, size_t outsz) {
  size_t n = strlen(name);
  for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
    if (strncmp(p, name, n) == 0 && p[n] == ':' && p[n + 1] == ' ') {
      const char *v = p + n + 2, *end = strchr(v, '\n');
      size_t len = end ? (size_t)(end - v) : strlen(v);
      if (len >= outsz) {
        return -1;
      }
      memcpy(out, v, len);
      out[len] = '\0';
      return 0;
    }
  }
  return -1;
}

/* Parses the 32 bytes of "new Uint8Array([0x.., ...])". */
static int parse_js(const char *js, uint8_t out[32]) {
  const char *prefix = "new Uint8Array([", *p = js;
  if (strncmp(p, prefix, strlen(prefix)) != 0) {
    return -1;
  }
  p += strlen(prefix);
  for (int i = 0; i < 32; i++) {
    unsigned v;
    int used;
    if (sscanf(p, "0x%2x%n", &v, &used) != 1 || used != 4) {
      return -1;
    }
    out[i] = (uint8_t)v;
    p += used;
    const char *sep = i < 31 ? ", " : "])";
    if (strncmp(p, sep, 2) != 0) {
      return -1;
    }
    p += 2;
  }
  return *p == '\0' ? 0 : -1;
}

static void hex(const uint8_t *b, size_t n, char *out) {
  for (size_t i = 0; i < n; i++) {
    sprintf(out + 2 * i, "%02x", b[i]);
  }
}

/* Reads a PEM certificate file and converts it to DER; returns the DER size
 * or -1. */
static int load_der(const char *path, uint8_t *der, size_t cap) {
  static uint8_t pem[CERT_DER_MAX * 2];
  size_t n = slurp(path, pem, sizeof(pem));
  if (n == 0) {
    return -1;
  }
  int rv = wc_CertPemToDer(pem, (int)n, der, (int)cap, CERT_TYPE);
  return rv > 0 ? rv : -1;
}

static int date_to_time(const byte *tlv, int len, time_t *out) {
  const byte *date;
  byte format;
  int date_len;
  struct tm tm;
  if (wc_GetDateInfo(tlv, len, &date, &format, &date_len) != 0 ||
      wc_GetDateAsCalendarTime(date, date_len, format, &tm) != 0) {
    return -1;
  }
  *out = timegm(&tm);
  return 0;
}

/* Whether dc lists a SAN of type with exactly these bytes. */
static int has_san(const DecodedCert *dc, int type, const void *data, size_t len) {
  for (const DNS_entry *e = dc->altNames; e; e = e->next) {
    if (e->type == type && (size_t)e->len == len && memcmp(e->name, data, len) == 0) {
      return 1;
    }
  }
  return 0;
}

static int has_ip_san(const DecodedCert *dc, const char *text) {
  uint8_t addr[16];
  if (inet_pton(AF_INET, text, addr) == 1) {
    return has_san(dc, ASN_IP_TYPE, addr, 4);
  }
  return inet_pton(AF_INET6, text, addr) == 1 && has_san(dc, ASN_IP_TYPE, addr, 16);
}

/* Checks a certificate file against the tool's output r and the expected
 * validity in days. */
static void check_cert_file(const char *cert_path, const struct run *r, long days) {
  static uint8_t der[CERT_DER_MAX];
  uint8_t h[WC_SHA256_DIGEST_SIZE], js[32];
  char line[512], hexh[2 * WC_SHA256_DIGEST_SIZE + 1];
  DecodedCert dc;
  time_t nb = 0, na = 0, now = time(NULL);

  int der_len = load_der(cert_path, der, sizeof(der));
  CHECK_FATAL(der_len > 0);
  CHECK_FATAL(wc_Sha256Hash(der, (word32)der_len, h) == 0);
  hex(h, sizeof(h), hexh);
  CHECK_FATAL(find_line(r->out, "sha256", line, sizeof(line)) == 0);
  CHECK(strcmp(line, hexh) == 0);
  CHECK_FATAL(find_line(r->out, "js", line, sizeof(line)) == 0);
  CHECK(parse_js(line, js) == 0);
  CHECK_MEM(js, h, sizeof(h));

  wc_InitDecodedCert(&dc, der, (word32)der_len, NULL);
  int rv = wc_ParseCert(&dc, CERT_TYPE, NO_VERIFY, NULL);
  CHECK_EQ(rv, 0);
  if (rv == 0) {
    CHECK_EQ(dc.version, 2); /* the raw field: 2 is v3 (RFC 5280 section 4.1.2.1) */
    CHECK_EQ(dc.keyOID, ECDSAk);
    CHECK_EQ(dc.pkCurveOID, ECC_SECP256R1_OID);
    CHECK_EQ(dc.signatureOID, CTC_SHA256wECDSA);
    CHECK(dc.selfSigned);
    CHECK(dc.extBasicConstSet && !dc.isCA);
    CHECK(dc.extKeyUsageSet && (dc.extKeyUsage & KEYUSE_DIGITAL_SIG));
    CHECK(dc.extExtKeyUsageSet && (dc.extExtKeyUsage & EXTKEYUSE_SERVER_AUTH));
    CHECK(dc.subjectCN && dc.subjectCNLen == 9 && memcmp(dc.subjectCN, "localhost", 9) == 0);
    CHECK(has_san(&dc, ASN_DNS_TYPE, "localhost", 9));
    CHECK(has_san(&dc, ASN_DNS_TYPE, "example.test", 12));
    CHECK(has_ip_san(&dc, "127.0.0.1"));
    CHECK(has_ip_san(&dc, "::1"));
    CHECK(has_ip_san(&dc, "10.1.2.3"));
    CHECK(date_to_time(dc.beforeDate, dc.beforeDateLen, &nb) == 0);
    CHECK(date_to_time(dc.afterDate, dc.afterDateLen, &na) == 0);
    /* notBefore is an hour back for clock skew; the period is exactly days. */
    CHECK(nb >= now - 3600 - SLACK && nb <= now - 3600 + SLACK);
    CHECK(na - nb >= days * DAY - SLACK && na - nb <= days * DAY + SLACK);
    CHECK(days > 14 || na - nb <= 14 * DAY);
    char iso[32];
    struct tm tm;
    gmtime_r(&na, &tm);
    strftime(iso, sizeof(iso), "%Y-%m-%dT%H:%M:%SZ", &tm);
    CHECK(find_line(r->out, "not_after", line, sizeof(line)) == 0 && strcmp(line, iso) == 0);
  }
  wc_FreeDecodedCert(&dc);
}

/* wolfSSL loads the key, pairs it with the certificate, and the
 * certificate's signature verifies with its own key. */
static void check_key_pair(const char *cert_path, const char *key_path) {
  WOLFSSL_CTX *ctx = wolfSSL_CTX_new(wolfTLS_server_method());
  CHECK_FATAL(ctx != NULL);
  CHECK_EQ(wolfSSL_CTX_use_certificate_file(ctx, cert_path, WOLFSSL_FILETYPE_PEM), WOLFSSL_SUCCESS);
  CHECK_EQ(wolfSSL_CTX_use_PrivateKey_file(ctx, key_path, WOLFSSL_FILETYPE_PEM), WOLFSSL_SUCCESS);
  CHECK_EQ(wolfSSL_CTX_check_private_key(ctx), WOLFSSL_SUCCESS);
  wolfSSL_CTX_free(ctx);

  WOLFSSL_X509 *x509 = wolfSSL_X509_load_certificate_file(cert_path, WOLFSSL_FILETYPE_PEM);
  CHECK_FATAL(x509 != NULL);
  WOLFSSL_EVP_PKEY *pub = wolfSSL_X509_get_pubkey(x509);
  CHECK(pub != NULL && wolfSSL_X509_verify(x509, pub) == WOLFSSL_SUCCESS);
  wolfSSL_EVP_PKEY_free(pub);
  wolfSSL_X509_free(x509);
}

/* A key from another run must not pass as this certificate's key, or the
 * check above proves nothing. */
static void check_key_mismatch(const char *cert_path, const char *other_key) {
  WOLFSSL_CTX *ctx = wolfSSL_CTX_new(wolfTLS_server_method());
  CHECK_FATAL(ctx != NULL);
  CHECK_EQ(wolfSSL_CTX_use_certificate_file(ctx, cert_path, WOLFSSL_FILETYPE_PEM), WOLFSSL_SUCCESS);
  CHECK_EQ(wolfSSL_CTX_use_PrivateKey_file(ctx, other_key, WOLFSSL_FILETYPE_PEM), WOLFSSL_SUCCESS);
  CHECK(wolfSSL_CTX_check_private_key(ctx) != WOLFSSL_SUCCESS);
  wolfSSL_CTX_free(ctx);
}

static char g_cert[PATH_MAX + 16], g_key[PATH_MAX + 16];
static char g_hash[2 * WC_SHA256_DIGEST_SIZE + 1];

static void test_generate(void) {
  struct run r;
  struct stat st;
  const char *args[] = {"--out-cert", g_cert,     "--out-key", g_key, "--san", "example.test",
                        "--san",      "10.1.2.3", "--days",    "7",   NULL};
  run_tool(&r, args);
  if (r.status != 0) {
    fprintf(stderr, "wtcast-cert stderr: %s", r.err);
  }
  CHECK_FATAL(r.status == 0);
  CHECK(r.err[0] == '\0');
  CHECK(find_line(r.out, "sha256", g_hash, sizeof(g_hash)) == 0 && strlen(g_hash) == 64);
  check_cert_file(g_cert, &r, 7);
  CHECK_FATAL(stat(g_key, &st) == 0);
  CHECK_EQ(st.st_mode & 07777, 0600);
  check_key_pair(g_cert, g_key);
}

static void test_days_limit(void) {
  struct run r;
  char cert2[PATH_MAX + 16], key2[PATH_MAX + 16];
  path_in_dir(cert2, sizeof(cert2), "long.pem");
  path_in_dir(key2, sizeof(key2), "long.key");
  const char *refused[] = {"--out-cert", cert2, "--out-key", key2, "--days", "15", NULL};
  run_tool(&r, refused);
  CHECK_EQ(r.status, 2);
  CHECK(strstr(r.err, "--force-long") != NULL);
  CHECK(strchr(r.err, '\n') == r.err + strlen(r.err) - 1); /* one line */
  CHECK(r.out[0] == '\0');
  CHECK(access(cert2, F_OK) != 0 && access(key2, F_OK) != 0);

  const char *forced[] = {"--out-cert", cert2,      "--out-key",    key2,    "--days",       "15",
                          "--san",      "10.1.2.3", "--force-long", "--san", "example.test", NULL};
  run_tool(&r, forced);
  CHECK_FATAL(r.status == 0);
  check_cert_file(cert2, &r, 15);
  check_key_mismatch(g_cert, key2);
}

static void test_print_hash(void) {
  struct run r;
  char line[512];
  const char *plain[] = {"--print-hash", g_cert, NULL};
  run_tool(&r, plain);
  CHECK_EQ(r.status, 0);
  CHECK(find_line(r.out, "sha256", line, sizeof(line)) == 0 && strcmp(line, g_hash) == 0);
  CHECK(find_line(r.out, "js", line, sizeof(line)) == 0);
  CHECK(find_line(r.out, "not_after", line, sizeof(line)) == 0);

  const char *long_wait[] = {"--print-hash", g_cert, "--min-valid-hours", "1000", NULL};
  run_tool(&r, long_wait);
  CHECK_EQ(r.status, 3);
  CHECK(find_line(r.out, "sha256", line, sizeof(line)) == 0 && strcmp(line, g_hash) == 0);

  const char *short_wait[] = {"--print-hash", g_cert, "--min-valid-hours", "1", "--quiet", NULL};
  run_tool(&r, short_wait);
  CHECK_EQ(r.status, 0);
  CHECK(find_line(r.out, "sha256", line, sizeof(line)) == 0 && strcmp(line, g_hash) == 0);
  /* --quiet: exactly the sha256, js and not_after lines. */
  int lines = 0;
  for (const char *p = r.out; (p = strchr(p, '\n')) != NULL; p++) {
    lines++;
  }
  CHECK_EQ(lines, 3);

  const char *not_pem[] = {"--print-hash", g_key, NULL};
  run_tool(&r, not_pem);
  CHECK_EQ(r.status, 1);
  CHECK(r.err[0] != '\0');
}

static void test_bad_args(void) {
  static const char *const cases[][5] = {
      {"--days", "0", NULL},
      {"--days", "7x", NULL},
      {"--san", "bad_name!", NULL},
      {"--san", "10.1.2.300", NULL},
      {"--san", "[10.1.2.3]", NULL},
      {"--cn", "", NULL},
      {"--bogus", NULL},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    struct run r;
    char cert[PATH_MAX + 16], key[PATH_MAX + 16];
    const char *args[MAX_ARGS] = {"--out-cert", cert, "--out-key", key};
    size_t n = 4;
    path_in_dir(cert, sizeof(cert), "bad.pem");
    path_in_dir(key, sizeof(key), "bad.key");
    for (size_t j = 0; cases[i][j]; j++) {
      args[n++] = cases[i][j];
    }
    args[n] = NULL;
    run_tool(&r, args);
    CHECK_EQ(r.status, 2);
    CHECK(r.err[0] != '\0' && strchr(r.err, '\n') == r.err + strlen(r.err) - 1);
    CHECK(access(cert, F_OK) != 0);
  }
  struct run r;
  const char *no_key[] = {"--out-cert", g_cert, NULL};
  run_tool(&r, no_key);
  CHECK_EQ(r.status, 2);
}

/* Only the files the tests made are left: no temporary file survives a
 * successful or refused run. */
static void test_no_leftovers(void) {
  static const char *const expected[] = {"cert.pem", "key.pem", "long.pem", "long.key"};
  DIR *d = opendir(g_dir);
  struct dirent *e;
  CHECK_FATAL(d != NULL);
  while ((e = readdir(d)) != NULL) {
    int known = strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0;
    for (size_t i = 0; i < sizeof(expected) / sizeof(expected[0]); i++) {
      known |= strcmp(e->d_name, expected[i]) == 0;
    }
    if (!known) {
      fprintf(stderr, "unexpected file %s\n", e->d_name);
    }
    CHECK(known);
  }
  closedir(d);
}

static void remove_dir(void) {
  DIR *d = opendir(g_dir);
  struct dirent *e;
  char path[PATH_MAX + 256];
  if (!d) {
    return;
  }
  while ((e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
      snprintf(path, sizeof(path), "%s/%s", g_dir, e->d_name);
      unlink(path);
    }
  }
  closedir(d);
  rmdir(g_dir);
}

int main(void) {
  const char *bin = getenv("WTCAST_BIN");
  const char *tmp = getenv("TMPDIR");
  if (!bin || !*bin) {
    fprintf(stderr, "WTCAST_BIN is not set (run through ctest)\n");
    return 1;
  }
  snprintf(g_tool, sizeof(g_tool), "%s/wtcast-cert", bin);
  snprintf(g_dir, sizeof(g_dir), "%s/wtcast-cert-test.XXXXXX", tmp && *tmp ? tmp : "/tmp");
  if (access(g_tool, X_OK) != 0 || !mkdtemp(g_dir)) {
    fprintf(stderr, "cannot run %s or create %s: %s\n", g_tool, g_dir, strerror(errno));
    return 1;
  }
  path_in_dir(g_cert, sizeof(g_cert), "cert.pem");
  path_in_dir(g_key, sizeof(g_key), "key.pem");
  wolfSSL_Init();
  WT_RUN(test_generate);
  WT_RUN(test_days_limit);
  WT_RUN(test_print_hash);
  WT_RUN(test_bad_args);
  WT_RUN(test_no_leftovers);
  wolfSSL_Cleanup();
  remove_dir();
  WT_DONE();
}
