/* wtcast-cert: create a short-lived self-signed ECDSA P-256 certificate for
 * WebTransport's serverCertificateHashes, or print the hash of an existing one.
 *
 * W3C WebTransport, "serverCertificateHashes": the browser accepts a pinned
 * certificate only if it is X.509v3, has an ECDSA P-256 key, is currently
 * valid, and its validity period is at most 14 days (docs/protocol.md). The
 * value to pin is the SHA-256 of the certificate DER. The certificate is made
 * by client/wt_certgen.h; this file is the command line and --print-hash.
 *
 * Exit status: 0 success; 1 failure (I/O, crypto, unreadable certificate);
 * 2 usage error; 3 (--print-hash only) the certificate is not valid now or
 * expires within --min-valid-hours. */
#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/settings.h>
#include <wolfssl/wolfcrypt/asn_public.h>
#include <wolfssl/wolfcrypt/coding.h>
#include <wolfssl/wolfcrypt/hash.h>
#include <wolfssl/wolfcrypt/wc_port.h>

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "wt_certgen.h"
#include "wt_error.h"

enum {
  CERT_EXIT_OK = 0,
  CERT_EXIT_FAIL = 1,
  CERT_EXIT_USAGE = 2,
  CERT_EXIT_EXPIRING = 3,
};

#define CERT_BROWSER_MAX_DAYS  WT_CERTGEN_BROWSER_MAX_DAYS
#define CERT_MAX_DAYS          36500 /* with --force-long */
#define CERT_DEFAULT_DAYS      10
#define CERT_MAX_USER_SANS     32
#define CERT_DEFAULT_MIN_HOURS 24

/* DER tags (X.690) that --print-hash reads. */
enum {
  DER_UTCTIME = 0x17,
  DER_GENTIME = 0x18,
  DER_SEQ = 0x30,
  DER_CTX0 = 0xa0, /* [0] constructed: TBSCertificate.version */
};

/* AlgorithmIdentifier of an ECDSA P-256 SubjectPublicKeyInfo (RFC 5480). */
static const uint8_t SPKI_ALG_P256[] = {0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48,
                                        0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a,
                                        0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};

static const char USAGE[] =
    "usage: wtcast-cert --out-cert FILE --out-key FILE [--days N] [--san NAME]... [--cn NAME]\n"
    "                   [--force-long] [--quiet]\n"
    "       wtcast-cert --print-hash FILE [--min-valid-hours H] [--quiet]\n"
    "\n"
    "Creates a self-signed ECDSA P-256 certificate for WebTransport's serverCertificateHashes\n"
    "(valid from 1 hour ago for N days) and prints the SHA-256 of its DER.\n"
    "  --out-cert FILE       certificate (PEM), replaced atomically\n"
    "  --out-key FILE        private key (PEM \"EC PRIVATE KEY\", mode 0600), replaced atomically\n"
    "  --days N              validity in days, 1..14 (default 10)\n"
    "  --force-long          allow --days above 14 (browsers then refuse the hash)\n"
    "  --san NAME            extra subjectAltName, repeatable (up to 32): an IPv4/IPv6 literal\n"
    "                        becomes an IP SAN, anything else a DNS SAN; localhost, 127.0.0.1\n"
    "                        and ::1 are always included\n"
    "  --cn NAME             subject common name (default localhost)\n"
    "  --print-hash FILE     print sha256/js/not_after of an existing PEM certificate\n"
    "  --min-valid-hours H   with --print-hash: exit 3 unless the certificate is valid now and\n"
    "                        for at least H more hours (default 24)\n"
    "  --quiet               print only the sha256:, js: and not_after: lines\n"
    "  --help                show this text\n"
    "Exit status: 0 ok, 1 failure, 2 usage error, 3 certificate expiring (--print-hash).\n";

static void errline(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Every error is one line on stderr. */
static void errline(const char *fmt, ...) {
  va_list ap;
  fputs("wtcast-cert: ", stderr);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
}

/* ------------------------------------------------------------ parameters */

struct opts {
  const char *out_cert, *out_key, *print_hash;
  long min_valid_hours;
  int force_long, quiet, gen_seen, min_seen;
  wt_certgen_params gen; /* cn, days, SANs */
};

/* Parses one --san value and adds it (wt_certgen_san_parse). */
static int san_option(struct opts *o, const char *arg) {
  char err[512];
  wt_certgen_san san;
  int rv = wt_certgen_san_parse(arg, &san, err, sizeof(err));
  if (rv != 0) {
    errline("%s", err);
    return rv;
  }
  return wt_certgen_add_san(&o->gen, &san);
}

static int parse_long(const char *opt, const char *s, long min, long max, long *out) {
  char *end;
  errno = 0;
  long v = (s[0] >= '0' && s[0] <= '9') ? strtol(s, &end, 10) : 0;
  if (s[0] < '0' || s[0] > '9' || *end != '\0' || errno != 0 || v < min || v > max) {
    errline("%s '%s': expected a whole number from %ld to %ld", opt, s, min, max);
    return WT_ERR_INVAL;
  }
  *out = v;
  return 0;
}

static int check_cn(const char *cn) {
  if (!wt_certgen_cn_ok(cn)) {
    errline("--cn: use 1 to %d printable ASCII characters", WT_CERTGEN_CN_MAX);
    return WT_ERR_INVAL;
  }
  return 0;
}

/* Checks option combinations after getopt; all failures are usage errors. */
static int check_opts(struct opts *o) {
  if (o->print_hash) {
    if (o->gen_seen) {
      errline("--print-hash cannot be combined with --out-cert, --out-key, --days, --san, --cn "
              "or --force-long");
      return WT_ERR_INVAL;
    }
    return 0;
  }
  if (o->min_seen) {
    errline("--min-valid-hours needs --print-hash");
    return WT_ERR_INVAL;
  }
  if (!o->out_cert || !o->out_key) {
    errline("both --out-cert and --out-key are required (see --help)");
    return WT_ERR_INVAL;
  }
  if (strcmp(o->out_cert, o->out_key) == 0) {
    errline("--out-cert and --out-key must be different files");
    return WT_ERR_INVAL;
  }
  if (o->gen.days > CERT_BROWSER_MAX_DAYS && !o->force_long) {
    errline("--days %ld: browsers accept serverCertificateHashes only for certificates valid at "
            "most %d days; pass --force-long to create it anyway",
            o->gen.days, CERT_BROWSER_MAX_DAYS);
    return WT_ERR_INVAL;
  }
  return 0;
}

/* Returns 0 to go on, 1 after --help, or WT_ERR_INVAL (message printed). */
static int parse_args(int argc, char **argv, struct opts *o) {
  static const struct option longopts[] = {{"out-cert", required_argument, NULL, 'c'},
                                           {"out-key", required_argument, NULL, 'k'},
                                           {"days", required_argument, NULL, 'd'},
                                           {"san", required_argument, NULL, 's'},
                                           {"cn", required_argument, NULL, 'n'},
                                           {"force-long", no_argument, NULL, 'F'},
                                           {"quiet", no_argument, NULL, 'q'},
                                           {"print-hash", required_argument, NULL, 'p'},
                                           {"min-valid-hours", required_argument, NULL, 'm'},
                                           {"help", no_argument, NULL, 'h'},
                                           {NULL, 0, NULL, 0}};
  size_t user_sans = 0;
  int c, rv = wt_certgen_add_default_sans(&o->gen);
  opterr = 0;
  while (rv == 0 && (c = getopt_long(argc, argv, ":", longopts, NULL)) != -1) {
    o->gen_seen |= c != 'q' && c != 'p' && c != 'm' && c != 'h';
    switch (c) {
    case 'c':
      o->out_cert = optarg;
      break;
    case 'k':
      o->out_key = optarg;
      break;
    case 'd':
      rv = parse_long("--days", optarg, 1, CERT_MAX_DAYS, &o->gen.days);
      break;
    case 's':
      if (++user_sans > CERT_MAX_USER_SANS) {
        errline("too many --san options (at most %d)", CERT_MAX_USER_SANS);
        return WT_ERR_INVAL;
      }
      rv = san_option(o, optarg);
      break;
    case 'n':
      o->gen.cn = optarg;
      rv = check_cn(optarg);
      break;
    case 'F':
      o->force_long = 1;
      break;
    case 'q':
      o->quiet = 1;
      break;
    case 'p':
      o->print_hash = optarg;
      break;
    case 'm':
      o->min_seen = 1;
      rv = parse_long("--min-valid-hours", optarg, 0, 1000000, &o->min_valid_hours);
      break;
    case 'h':
      fputs(USAGE, stdout);
      return 1;
    case ':':
      errline("option %s needs a value (see --help)", argv[optind - 1]);
      return WT_ERR_INVAL;
    default:
      if (optopt) { /* a short option, possibly inside a cluster like -quiet */
        errline("unknown option -%c (options are long: --name, see --help)", optopt);
      } else {
        errline("unknown option %s (see --help)", argv[optind - 1]);
      }
      return WT_ERR_INVAL;
    }
  }
  if (rv == 0 && optind < argc) {
    errline("unexpected argument '%s' (see --help)", argv[optind]);
    return WT_ERR_INVAL;
  }
  return rv == 0 ? check_opts(o) : rv;
}

/* ------------------------------------------------------------ output */

static void iso_time(time_t t, char *out, size_t outsz) {
  struct tm tm;
  gmtime_r(&t, &tm);
  strftime(out, outsz, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* The three lines scripts parse: sha256, js, not_after. */
static int print_hash_lines(const uint8_t *der, size_t len, time_t not_after) {
  uint8_t h[WC_SHA256_DIGEST_SIZE];
  char when[32];
  if (wc_Sha256Hash(der, (word32)len, h) != 0) {
    errline("SHA-256 failed");
    return WT_ERR_CRYPTO;
  }
  printf("sha256: ");
  for (size_t i = 0; i < sizeof(h); i++) {
    printf("%02x", h[i]);
  }
  printf("\njs: new Uint8Array([");
  for (size_t i = 0; i < sizeof(h); i++) {
    printf("%s0x%02x", i ? ", " : "", h[i]);
  }
  iso_time(not_after, when, sizeof(when));
  printf("])\nnot_after: %s\n", when);
  return 0;
}

/* Extra lines without --quiet: validity start and the base64 SHA-256 of the
 * SubjectPublicKeyInfo, the value Chromium's
 * --ignore-certificate-errors-spki-list takes. */
static void print_details(time_t not_before, const uint8_t *spki, size_t spki_len) {
  uint8_t h[WC_SHA256_DIGEST_SIZE];
  byte b64[64];
  word32 b64_len = sizeof(b64) - 1;
  char when[32];
  iso_time(not_before, when, sizeof(when));
  printf("not_before: %s\n", when);
  if (wc_Sha256Hash(spki, (word32)spki_len, h) == 0 &&
      Base64_Encode_NoNl(h, sizeof(h), b64, &b64_len) == 0) {
    b64[b64_len] = '\0';
    printf("spki_sha256_base64: %s\n", (const char *)b64);
  }
}

static void print_sans(const struct opts *o) {
  printf("san:");
  for (size_t i = 0; i < o->gen.nsans; i++) {
    const wt_certgen_san *s = &o->gen.sans[i];
    char ip[INET6_ADDRSTRLEN];
    if (s->tag == WT_CERTGEN_SAN_DNS) {
      printf(" DNS:%.*s", (int)s->len, (const char *)s->data);
    } else {
      inet_ntop(s->len == 4 ? AF_INET : AF_INET6, s->data, ip, sizeof(ip));
      printf(" IP:%s", ip);
    }
  }
  printf("\n");
}

static int run_generate(const struct opts *o) {
  wt_certgen_cert *m = calloc(1, sizeof(*m));
  char err[512];
  if (!m) {
    errline("out of memory");
    return CERT_EXIT_FAIL;
  }
  int rv = wt_certgen_make(&o->gen, m, err, sizeof(err));
  if (rv == 0) {
    rv = wt_certgen_write(m, o->out_cert, o->out_key, err, sizeof(err));
  }
  if (rv != 0) {
    errline("%s", err);
  }
  if (rv == 0) {
    rv = print_hash_lines(m->der, m->der_len, m->not_after);
  }
  if (rv == 0 && !o->quiet) {
    print_details(m->not_before, m->spki, m->spki_len);
    printf("valid_days: %ld\n", o->gen.days);
    print_sans(o);
    printf("cert: %s\nkey: %s\n", o->out_cert, o->out_key);
  }
  wt_certgen_cert_wipe(m);
  free(m);
  if (rv == WT_ERR_INVAL) {
    return CERT_EXIT_USAGE;
  }
  return rv == 0 ? CERT_EXIT_OK : CERT_EXIT_FAIL;
}

/* ------------------------------------------------------------ --print-hash */

struct rd {
  const uint8_t *p;
  size_t n;
};

/* Reads one DER value from r (X.690 section 8.1): val gets its contents,
 * whole (if not NULL) the whole encoding. */
static int rd_tlv(struct rd *r, uint8_t *tag, struct rd *val, struct rd *whole) {
  size_t hdr = 2, len;
  if (r->n < 2 || (r->p[0] & 0x1f) == 0x1f) {
    return WT_ERR_MALFORMED;
  }
  len = r->p[1];
  if (len & 0x80) {
    size_t nbytes = len & 0x7f;
    if (nbytes == 0 || nbytes > 4 || r->n < 2 + nbytes) {
      return WT_ERR_MALFORMED;
    }
    len = 0;
    for (size_t i = 0; i < nbytes; i++) {
      len = len << 8 | r->p[2 + i];
    }
    hdr += nbytes;
  }
  if (len > r->n - hdr) {
    return WT_ERR_MALFORMED;
  }
  *tag = r->p[0];
  val->p = r->p + hdr;
  val->n = len;
  if (whole) {
    whole->p = r->p;
    whole->n = hdr + len;
  }
  r->p += hdr + len;
  r->n -= hdr + len;
  return 0;
}

static int two_digits(const uint8_t *p) {
  return (p[0] - '0') * 10 + (p[1] - '0');
}

/* UTCTime YYMMDDHHMMSSZ or GeneralizedTime YYYYMMDDHHMMSSZ (RFC 5280
 * section 4.1.2.5.1 and 4.1.2.5.2). */
static int parse_time(uint8_t tag, struct rd v, time_t *out) {
  size_t digits = tag == DER_UTCTIME ? 12 : 14;
  struct tm tm = {0};
  if ((tag != DER_UTCTIME && tag != DER_GENTIME) || v.n != digits + 1 || v.p[digits] != 'Z') {
    return WT_ERR_MALFORMED;
  }
  for (size_t i = 0; i < digits; i++) {
    if (v.p[i] < '0' || v.p[i] > '9') {
      return WT_ERR_MALFORMED;
    }
  }
  const uint8_t *p = v.p;
  if (tag == DER_UTCTIME) {
    int yy = two_digits(p);
    tm.tm_year = (yy < 50 ? 2000 + yy : 1900 + yy) - 1900;
    p += 2;
  } else {
    tm.tm_year = two_digits(p) * 100 + two_digits(p + 2) - 1900;
    p += 4;
  }
  tm.tm_mon = two_digits(p) - 1;
  tm.tm_mday = two_digits(p + 2);
  tm.tm_hour = two_digits(p + 4);
  tm.tm_min = two_digits(p + 6);
  tm.tm_sec = two_digits(p + 8);
  if (tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 ||
      tm.tm_sec > 60) {
    return WT_ERR_MALFORMED;
  }
  *out = timegm(&tm);
  return 0;
}

struct cert_info {
  time_t not_before, not_after;
  struct rd spki; /* whole SubjectPublicKeyInfo */
};

/* Finds validity and SubjectPublicKeyInfo in a certificate (RFC 5280
 * section 4.1). */
static int cert_inspect(const uint8_t *der, size_t len, struct cert_info *ci) {
  struct rd top = {der, len}, cert, tbs, v, validity;
  uint8_t tag, t1, t2;
  struct rd nb, na;
  int rv = rd_tlv(&top, &tag, &cert, NULL);
  if (rv == 0 && tag == DER_SEQ) {
    rv = rd_tlv(&cert, &tag, &tbs, NULL);
  }
  if (rv != 0 || tag != DER_SEQ || tbs.n == 0) {
    return WT_ERR_MALFORMED;
  }
  if (tbs.p[0] == DER_CTX0) {
    rv = rd_tlv(&tbs, &tag, &v, NULL); /* version */
  }
  for (int i = 0; rv == 0 && i < 3; i++) { /* serial, signature, issuer */
    rv = rd_tlv(&tbs, &tag, &v, NULL);
  }
  if (rv == 0) {
    rv = rd_tlv(&tbs, &tag, &validity, NULL);
  }
  if (rv != 0 || tag != DER_SEQ || rd_tlv(&validity, &t1, &nb, NULL) != 0 ||
      rd_tlv(&validity, &t2, &na, NULL) != 0 || parse_time(t1, nb, &ci->not_before) != 0 ||
      parse_time(t2, na, &ci->not_after) != 0) {
    return WT_ERR_MALFORMED;
  }
  if (rd_tlv(&tbs, &tag, &v, NULL) != 0 || rd_tlv(&tbs, &tag, &v, &ci->spki) != 0 ||
      tag != DER_SEQ) {
    return WT_ERR_MALFORMED; /* subject, subjectPublicKeyInfo */
  }
  return 0;
}

/* Prints a note about what browsers will make of the certificate. */
static void print_browser_note(const struct cert_info *ci) {
  time_t period = ci->not_after - ci->not_before;
  int p256 = ci->spki.n > 2 + sizeof(SPKI_ALG_P256) &&
             memcmp(ci->spki.p + 2, SPKI_ALG_P256, sizeof(SPKI_ALG_P256)) == 0;
  printf("valid_hours_total: %lld\n", (long long)(period / 3600));
  if (!p256) {
    printf("browser_hash: no (key is not ECDSA P-256)\n");
  } else if (period > (time_t)CERT_BROWSER_MAX_DAYS * 86400) {
    printf("browser_hash: no (validity period longer than %d days)\n", CERT_BROWSER_MAX_DAYS);
  } else {
    printf("browser_hash: yes\n");
  }
}

static int run_print_hash(const struct opts *o) {
  uint8_t *der;
  size_t der_len;
  struct cert_info ci;
  char err[PATH_MAX + 64];
  if (wt_certgen_read_pem(o->print_hash, &der, &der_len, err, sizeof(err)) < 0) {
    errline("%s", err);
    return CERT_EXIT_FAIL;
  }
  int rv;
  if (cert_inspect(der, der_len, &ci) != 0) {
    errline("%s: malformed certificate", o->print_hash);
    free(der);
    return CERT_EXIT_FAIL;
  }
  rv = print_hash_lines(der, der_len, ci.not_after);
  if (rv == 0 && !o->quiet) {
    print_details(ci.not_before, ci.spki.p, ci.spki.n);
    print_browser_note(&ci);
  }
  free(der);
  if (rv != 0) {
    return CERT_EXIT_FAIL;
  }
  time_t now = time(NULL);
  long long left = (long long)(ci.not_after - now);
  if (now < ci.not_before || left < (long long)o->min_valid_hours * 3600) {
    if (!o->quiet && now < ci.not_before) {
      errline("%s: not valid yet", o->print_hash);
    } else if (!o->quiet) {
      errline("%s: valid for less than %ld more hours", o->print_hash, o->min_valid_hours);
    }
    return CERT_EXIT_EXPIRING;
  }
  return CERT_EXIT_OK;
}

int main(int argc, char **argv) {
  static struct opts o; /* large (SAN table); static keeps it off the stack */
  wt_certgen_params_init(&o.gen);
  o.gen.days = CERT_DEFAULT_DAYS;
  o.min_valid_hours = CERT_DEFAULT_MIN_HOURS;
  int rv = parse_args(argc, argv, &o);
  if (rv != 0) {
    return rv == 1 ? CERT_EXIT_OK : CERT_EXIT_USAGE;
  }
  if (wolfCrypt_Init() != 0) {
    errline("wolfCrypt_Init failed");
    return CERT_EXIT_FAIL;
  }
  int code = o.print_hash ? run_print_hash(&o) : run_generate(&o);
  wolfCrypt_Cleanup();
  if (fflush(stdout) != 0 && code == CERT_EXIT_OK) {
    errline("cannot write to stdout: %s", strerror(errno));
    code = CERT_EXIT_FAIL;
  }
  return code;
}
