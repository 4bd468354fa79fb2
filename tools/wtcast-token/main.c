/* wtcast-token: keys and tokens for wtcast --auth-keys, for operators
 * without Node: the same files and tokens as the moq-token CLI of
 * @moq/token (docs/operations.md, "Authorization").
 *
 *   wtcast-token generate --key FILE [--algorithm ALG] [--id KID] [--public FILE] [--base64]
 *   wtcast-token sign --key FILE [--id KID] [--root PATH] [--publish PATH]...
 *                     [--subscribe PATH]... [--expires UNIX | --ttl SECONDS]
 *                     [--not-before UNIX] [--issued UNIX]
 *   wtcast-token verify --key FILE [--publish PATH | --subscribe PATH] < token
 *
 * Key files are written as the JWK's JSON (with --base64: the base64url of
 * it), mode 0600, as moq-token 0.2 does; both tools and wtcast read either
 * form, and wtcast also JWK Sets. verify prints the claims as one JSON object and, with --publish /
 * --subscribe, also checks that they grant that path. Exit status: 0 done
 * (verify: valid and granted), 1 refused or failed (the reason on stderr),
 * 2 bad arguments. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "wt_base64.h"
#include "wt_error.h"
#include "wt_jwk.h"
#include "wt_jwt.h"

#define MAX_PATHS WT_JWT_MAX_GRANTS

static void usage(FILE *f) {
  fputs("usage:\n"
        "  wtcast-token generate --key FILE [--algorithm HS256|HS384|HS512|ES256|ES384]\n"
        "                        [--id KID] [--public FILE] [--base64]\n"
        "      a new key (default HS256) into FILE; --public: the public key of an ES key\n"
        "      (give wtcast --auth-keys the public file, keep FILE for signing); JSON, or\n"
        "      with --base64 the base64url of it (what older moq-token versions read)\n"
        "  wtcast-token sign --key FILE [--id KID] [--root PATH] [--publish PATH]...\n"
        "                    [--subscribe PATH]... [--expires UNIX | --ttl SECONDS]\n"
        "                    [--not-before UNIX] [--issued UNIX]\n"
        "      a token on stdout (iat defaults to now; no expiry unless given)\n"
        "  wtcast-token verify --key FILE [--publish PATH | --subscribe PATH] < token\n"
        "      check the token (signature, kid, alg, exp, nbf) and print its claims; with\n"
        "      --publish/--subscribe also that it grants PATH\n"
        "exit status: 0 ok, 1 refused or failed, 2 bad arguments\n",
        f);
}

static void die2(const char *fmt, const char *arg) __attribute__((noreturn));
static void die2(const char *fmt, const char *arg) {
  fprintf(stderr, "wtcast-token: ");
  fprintf(stderr, fmt, arg);
  fprintf(stderr, " (see wtcast-token --help)\n");
  exit(2);
}

typedef struct args {
  const char *key, *pub, *id, *root, *alg;
  const char *put[MAX_PATHS], *get[MAX_PATHS];
  size_t n_put, n_get;
  int64_t exp, nbf, iat, ttl;
  int base64;
} args;

static int64_t parse_i64(const char *opt, const char *v) {
  char *end;
  errno = 0;
  long long x = strtoll(v, &end, 10);
  if (errno || end == v || *end || x < 0) {
    die2("%s needs a non-negative number", opt);
  }
  return x;
}

static void parse(args *a, int argc, char **argv) {
  memset(a, 0, sizeof(*a));
  for (int i = 2; i < argc; i++) {
    const char *o = argv[i];
    if (!strcmp(o, "--help") || !strcmp(o, "-h")) {
      usage(stdout);
      exit(0);
    }
    if (!strcmp(o, "--base64")) {
      a->base64 = 1;
      continue;
    }
    if (i + 1 >= argc) {
      die2("%s needs a value", o);
    }
    const char *v = argv[++i];
    if (!strcmp(o, "--key")) {
      a->key = v;
    } else if (!strcmp(o, "--public")) {
      a->pub = v;
    } else if (!strcmp(o, "--id")) {
      a->id = v;
    } else if (!strcmp(o, "--algorithm")) {
      a->alg = v;
    } else if (!strcmp(o, "--root")) {
      a->root = v;
    } else if (!strcmp(o, "--publish") && a->n_put < MAX_PATHS) {
      a->put[a->n_put++] = v;
    } else if (!strcmp(o, "--subscribe") && a->n_get < MAX_PATHS) {
      a->get[a->n_get++] = v;
    } else if (!strcmp(o, "--expires")) {
      a->exp = parse_i64(o, v);
    } else if (!strcmp(o, "--ttl")) {
      a->ttl = parse_i64(o, v);
    } else if (!strcmp(o, "--not-before")) {
      a->nbf = parse_i64(o, v);
    } else if (!strcmp(o, "--issued")) {
      a->iat = parse_i64(o, v);
    } else {
      die2("unknown option or too many paths: '%s'", o);
    }
  }
  if (!a->key) {
    die2("%s", "--key FILE is required");
  }
}

/* Write json to path (mode 0600: a key), or the base64url of it. */
static int write_key(const char *path, const char *json, int base64) {
  size_t n = strlen(json);
  size_t cap = wt_base64_encoded_len(n, WT_B64_URL) + 2;
  char *b = malloc(cap > n + 2 ? cap : n + 2);
  if (!b) {
    return -1;
  }
  if (base64) {
    wt_base64_encode((const uint8_t *)json, n, b, cap, WT_B64_URL);
  } else {
    snprintf(b, n + 2, "%s\n", json);
  }
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
  int rv = -1;
  if (fd >= 0) {
    size_t len = strlen(b);
    rv = write(fd, b, len) == (ssize_t)len ? 0 : -1;
    if (close(fd) != 0) {
      rv = -1;
    }
  }
  if (rv < 0) {
    fprintf(stderr, "wtcast-token: cannot write %s: %s\n", path, strerror(errno));
  }
  free(b);
  return rv;
}

static int cmd_generate(const args *a) {
  wt_jwk_alg alg = wt_jwk_alg_parse(a->alg ? a->alg : "HS256");
  if (alg == WT_JWK_ALG_NONE) {
    die2("unknown --algorithm '%s'", a->alg);
  }
  char *priv = NULL, *pub = NULL;
  int rv = wt_jwk_generate(alg, a->id, &priv, a->pub ? &pub : NULL);
  if (rv == WT_ERR_INVAL) {
    die2("--id '%s': 1-64 of A-Z a-z 0-9 - _", a->id);
  }
  if (rv < 0) {
    fprintf(stderr, "wtcast-token: cannot make a %s key: %s%s\n", wt_jwk_alg_name(alg),
            wt_err_str(rv),
            alg == WT_JWK_EDDSA ? " (EdDSA needs wolfSSL with Ed25519; use ES256)" : "");
    return 1;
  }
  rv = write_key(a->key, priv, a->base64);
  if (rv == 0) {
    printf("Generated %s key: %s\n", wt_jwk_alg_name(alg), a->key);
  }
  if (rv == 0 && a->pub && pub) {
    rv = write_key(a->pub, pub, a->base64);
    if (rv == 0) {
      printf("Generated public key: %s\n", a->pub);
    }
  } else if (rv == 0 && a->pub) {
    fprintf(stderr, "wtcast-token: an %s key has no public half: no %s written\n",
            wt_jwk_alg_name(alg), a->pub);
  }
  free(priv);
  if (a->pub) {
    free(pub);
  }
  return rv < 0 ? 1 : 0;
}

static wt_jwk_set *load(const char *path) {
  wt_jwk_set *s;
  char err[512];
  if (wt_jwk_set_load(path, &s, err, sizeof(err)) < 0) {
    fprintf(stderr, "wtcast-token: %s\n", err);
    return NULL;
  }
  return s;
}

static int cmd_sign(const args *a) {
  wt_jwk_set *s = load(a->key);
  if (!s) {
    return 1;
  }
  const wt_jwk *k = a->id ? wt_jwk_set_find(s, a->id) : wt_jwk_set_signer(s);
  if (!k || !wt_jwk_can_sign(k)) {
    fprintf(stderr, "wtcast-token: %s holds no signing key%s%s\n", a->key,
            a->id ? " with kid " : "", a->id ? a->id : "");
    wt_jwk_set_free(s);
    return 1;
  }
  int64_t now = (int64_t)time(NULL);
  wt_jwt_grant g = {.root = a->root,
                    .put = a->put,
                    .get = a->get,
                    .n_put = a->n_put,
                    .n_get = a->n_get,
                    .exp = a->exp   ? a->exp
                           : a->ttl ? now + a->ttl
                                    : 0,
                    .nbf = a->nbf,
                    .iat = a->iat ? a->iat : now};
  char tok[WT_JWT_TOKEN_MAX + 1];
  int n = wt_jwt_sign(k, &g, tok, sizeof(tok));
  wt_jwk_set_free(s);
  if (n == WT_ERR_INVAL) {
    die2("%s", "nothing granted (give --publish and/or --subscribe), or a path over 256 bytes");
  }
  if (n < 0) {
    fprintf(stderr, "wtcast-token: cannot sign: %s\n", wt_err_str(n));
    return 1;
  }
  printf("%s\n", tok);
  return 0;
}

/* A JSON string (paths are printable; escape what JSON needs). */
static void print_str(const char *s) {
  putchar('"');
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\') {
      printf("\\%c", c);
    } else if (c < 0x20) {
      printf("\\u%04x", c);
    } else {
      putchar(c);
    }
  }
  putchar('"');
}

static void print_claims(const wt_jwt_claims *c) {
  printf("{\"root\":");
  print_str(c->root);
  static const char *const names[2] = {"put", "get"};
  for (int act = 0; act < 2; act++) {
    if (c->n_grants[act]) {
      printf(",\"%s\":[", names[act]);
      for (size_t i = 0; i < c->n_grants[act]; i++) {
        if (i) {
          putchar(',');
        }
        print_str(c->grants[act][i]);
      }
      putchar(']');
    }
  }
  if (c->has_exp) {
    printf(",\"exp\":%lld", (long long)c->exp);
  }
  if (c->has_nbf) {
    printf(",\"nbf\":%lld", (long long)c->nbf);
  }
  if (c->has_iat) {
    printf(",\"iat\":%lld", (long long)c->iat);
  }
  printf(",\"alg\":\"%s\"", wt_jwk_alg_name(c->alg));
  if (c->kid[0]) {
    printf(",\"kid\":");
    print_str(c->kid);
  }
  printf("}\n");
}

static int cmd_verify(const args *a) {
  if (a->n_put + a->n_get > 1) {
    die2("%s", "at most one --publish or --subscribe path to check");
  }
  char tok[WT_JWT_TOKEN_MAX + 2];
  size_t n = fread(tok, 1, sizeof(tok) - 1, stdin);
  while (n > 0 && (tok[n - 1] == '\n' || tok[n - 1] == '\r' || tok[n - 1] == ' ')) {
    n--;
  }
  tok[n] = '\0';
  wt_jwk_set *s = load(a->key);
  if (!s) {
    return 1;
  }
  static wt_jwt_claims c;
  char why[200];
  wt_jwt_result r = wt_jwt_verify(s, tok, n, (int64_t)time(NULL), &c, why, sizeof(why));
  wt_jwk_set_free(s);
  if (r != WT_JWT_OK) {
    fprintf(stderr, "wtcast-token: refused (%s): %s\n", wt_jwt_result_name(r), why);
    return 1;
  }
  print_claims(&c);
  if (a->n_put + a->n_get == 1) {
    wt_jwt_action act = a->n_put ? WT_JWT_PUT : WT_JWT_GET;
    const char *path = a->n_put ? a->put[0] : a->get[0];
    if (!wt_jwt_allows(&c, act, path)) {
      fprintf(stderr, "wtcast-token: refused (forbidden): %s is not granted for %s\n", path,
              act == WT_JWT_PUT ? "publish" : "subscribe");
      return 1;
    }
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
    usage(argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  args a;
  parse(&a, argc, argv);
  if (!strcmp(argv[1], "generate")) {
    return cmd_generate(&a);
  }
  if (!strcmp(argv[1], "sign")) {
    return cmd_sign(&a);
  }
  if (!strcmp(argv[1], "verify")) {
    return cmd_verify(&a);
  }
  die2("unknown command '%s'", argv[1]);
}
