/* wt_rotate.c: certificate rotation for serverCertificateHashes, in a
 * directory of generations switched by a symbolic link (see wt_rotate.h). */
#define _GNU_SOURCE   /* pthread_setname_np */
#define WT_LOG_MODULE "rotate"
#include "wt_rotate.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "wt_certgen.h"
#include "wt_log.h"

extern char **environ;

#define ROTATE_PATH 1024 /* DIR and the names under it */

struct wt_rotate {
  char dir[ROTATE_PATH];
  char cert[ROTATE_PATH + 32], key[ROTATE_PATH + 32]; /* DIR/current/{cert,key}.pem */
  char cert_next[ROTATE_PATH + 32];                   /* DIR/next/cert.pem */
  char prev[64];          /* the generation served before the last rotation ("" = none) */
  unsigned long long seq; /* the newest generation's number */
  char tool[PATH_MAX];    /* wtcast-cert */
  uint32_t interval_s;
  unsigned days;
  pthread_t thread;
  int started;
  pthread_mutex_t mu; /* guards the fields below */
  pthread_cond_t cv;
  int stop;
  char cur_hash[65], next_hash[65];
  int64_t next_rotation;
};

/* SHA-256 (hex) of the first certificate of a PEM file; 0 or -1. */
static int pem_hash(const char *path, char out[65]) {
  uint8_t h[32];
  char err[PATH_MAX + 64];
  return wt_certgen_pem_sha256(path, h, out, err, sizeof(err)) == 0 ? 0 : -1;
}

/* wtcast-cert --out-cert C --out-key K --days D --quiet; 0 or -1. */
static int make_cert(const wt_rotate *r, const char *cert, const char *key) {
  char days[16];
  snprintf(days, sizeof(days), "%u", r->days);
  char *argv[] = {(char *)r->tool, "--out-cert", (char *)cert, "--out-key", (char *)key,
                  "--days",        days,         "--quiet",    NULL};
  pid_t pid;
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  int e = posix_spawn(&pid, r->tool, &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  if (e != 0) {
    WT_LOG_ERROR("cannot run %s: %s", r->tool, strerror(e));
    return -1;
  }
  int st = 0;
  while (waitpid(pid, &st, 0) < 0) {
    if (errno != EINTR) {
      return -1;
    }
  }
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
    WT_LOG_ERROR("%s failed (status %d) making %s", r->tool, st, cert);
    return -1;
  }
  return 0;
}

/* wtcast-cert next to our own executable, else on PATH. */
static void find_tool(wt_rotate *r) {
  char self[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
  if (n > 0) {
    self[n] = '\0';
    char *slash = strrchr(self, '/');
    if (slash) {
      *slash = '\0';
      size_t len = strlen(self);
      if (len + sizeof("/wtcast-cert") <= sizeof(r->tool)) {
        memcpy(r->tool, self, len);
        memcpy(r->tool + len, "/wtcast-cert", sizeof("/wtcast-cert"));
        if (access(r->tool, X_OK) == 0) {
          return;
        }
      }
    }
  }
  snprintf(r->tool, sizeof(r->tool), "/usr/bin/wtcast-cert");
}

/* ------------------------------------------------------------------ the directory */

/* The generation a link of DIR points at ("rotate-N"), into out; 0 or -1. */
static int read_link(const wt_rotate *r, const char *link, char *out, size_t cap) {
  char path[ROTATE_PATH + 32];
  snprintf(path, sizeof(path), "%s/%s", r->dir, link);
  ssize_t n = readlink(path, out, cap - 1);
  if (n <= 0 || strncmp(out, "rotate-", 7) != 0) {
    return -1;
  }
  out[n] = '\0';
  return strchr(out, '/') ? -1 : 0;
}

/* Point DIR/link at gen, atomically: a new link, renamed over the old. */
static int set_link(const wt_rotate *r, const char *link, const char *gen) {
  char tmp[ROTATE_PATH + 32], path[ROTATE_PATH + 32];
  snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", r->dir, link);
  snprintf(path, sizeof(path), "%s/%s", r->dir, link);
  (void)unlink(tmp);
  if (symlink(gen, tmp) != 0 || rename(tmp, path) != 0) {
    WT_LOG_ERROR("cert rotation: cannot point %s at %s: %s", path, gen, strerror(errno));
    (void)unlink(tmp);
    return -1;
  }
  return 0;
}

/* Delete generation gen (its two files and its directory). */
static void remove_gen(const wt_rotate *r, const char *gen) {
  char path[ROTATE_PATH + 96];
  static const char *const files[] = {"cert.pem", "key.pem"};
  for (size_t i = 0; i < 2; i++) {
    snprintf(path, sizeof(path), "%s/%s/%s", r->dir, gen, files[i]);
    (void)unlink(path);
  }
  snprintf(path, sizeof(path), "%s/%s", r->dir, gen);
  if (rmdir(path) != 0 && errno != ENOENT) {
    WT_LOG_WARN("cert rotation: cannot remove %s: %s", path, strerror(errno));
  }
}

/* Copy src to dst (a new file, mode 0600); 0 or -1. */
static int copy_file(const char *src, const char *dst) {
  int in = open(src, O_RDONLY | O_CLOEXEC);
  int out = in >= 0 ? open(dst, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600) : -1;
  int rv = in >= 0 && out >= 0 ? 0 : -1;
  char buf[16384];
  ssize_t n;
  while (rv == 0 && (n = read(in, buf, sizeof(buf))) != 0) {
    if (n < 0 || write(out, buf, (size_t)n) != n) {
      rv = -1;
    }
  }
  if (in >= 0) {
    close(in);
  }
  if (out >= 0 && close(out) != 0) {
    rv = -1;
  }
  return rv;
}

/* A new generation, whole before anything points at it: its directory
 * (0700), then its pair, copied from seed_cert/seed_key (both given) or
 * made by wtcast-cert. Its name into gen; 0 or -1 (nothing left). */
static int make_gen(wt_rotate *r, const char *seed_cert, const char *seed_key, char gen[64]) {
  char dir[ROTATE_PATH + 64], cert[ROTATE_PATH + 96], key[ROTATE_PATH + 96];
  for (int tries = 0; tries < 16; tries++) {
    snprintf(gen, 64, "rotate-%llu", ++r->seq);
    snprintf(dir, sizeof(dir), "%s/%s", r->dir, gen);
    if (mkdir(dir, 0700) == 0) {
      snprintf(cert, sizeof(cert), "%s/cert.pem", dir);
      snprintf(key, sizeof(key), "%s/key.pem", dir);
      int rv = seed_cert
                   ? (copy_file(seed_cert, cert) == 0 && copy_file(seed_key, key) == 0 ? 0 : -1)
                   : make_cert(r, cert, key);
      if (rv < 0) {
        WT_LOG_ERROR("cert rotation: cannot fill %s", dir);
        remove_gen(r, gen);
      }
      return rv;
    }
    if (errno != EEXIST) {
      break;
    }
  }
  WT_LOG_ERROR("cert rotation: cannot create a generation in %s: %s", r->dir, strerror(errno));
  return -1;
}

/* At start: generations neither current nor next are left from an earlier
 * run (nothing reads them): delete them. */
static void remove_stale(const wt_rotate *r, const char *cur, const char *next) {
  DIR *d = opendir(r->dir);
  if (!d) {
    return;
  }
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (!strncmp(e->d_name, "rotate-", 7) && strcmp(e->d_name, cur) && strcmp(e->d_name, next) &&
        !strchr(e->d_name, '/')) {
      remove_gen(r, e->d_name);
    }
  }
  closedir(d);
}

/* The number of generation gen ("rotate-N"). */
static unsigned long long gen_seq(const char *gen) {
  return strtoull(gen + 7, NULL, 10);
}

wt_rotate *wt_rotate_new(const char *dir, const char *seed_cert, const char *seed_key,
                         uint32_t interval_s) {
  if (interval_s == 0 || interval_s > WT_ROTATE_MAX_S) {
    fprintf(stderr, "wtcast: --cert-rotate: must be in 1..%u seconds\n", WT_ROTATE_MAX_S);
    return NULL;
  }
  if (!dir || !*dir || strlen(dir) >= ROTATE_PATH) {
    fprintf(stderr, "wtcast: --cert-rotate-dir: no directory, or its name is too long\n");
    return NULL;
  }
  wt_rotate *r = calloc(1, sizeof(*r));
  if (!r) {
    return NULL;
  }
  pthread_mutex_init(&r->mu, NULL);
  pthread_cond_init(&r->cv, NULL);
  snprintf(r->dir, sizeof(r->dir), "%s", dir);
  snprintf(r->cert, sizeof(r->cert), "%s/current/cert.pem", dir);
  snprintf(r->key, sizeof(r->key), "%s/current/key.pem", dir);
  snprintf(r->cert_next, sizeof(r->cert_next), "%s/next/cert.pem", dir);
  r->interval_s = interval_s;
  r->days = (2 * interval_s + 86399) / 86400 + 1;
  if (r->days > 14) {
    r->days = 14;
  }
  find_tool(r);
  if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
    fprintf(stderr, "wtcast: --cert-rotate-dir: cannot create '%s': %s\n", dir, strerror(errno));
    goto fail;
  }
  if (access(dir, W_OK | X_OK) != 0) {
    fprintf(stderr, "wtcast: --cert-rotate-dir: '%s' is not a writable directory: %s\n", dir,
            strerror(errno));
    goto fail;
  }
  char cur[64] = "", next[64] = "";
  int have_cur = read_link(r, "current", cur, sizeof(cur)) == 0;
  int have_next = read_link(r, "next", next, sizeof(next)) == 0;
  r->seq = have_cur ? gen_seq(cur) : 0;
  if (have_next && gen_seq(next) > r->seq) {
    r->seq = gen_seq(next);
  }
  if (!have_cur || access(r->cert, R_OK) != 0 || access(r->key, R_OK) != 0) {
    int seed = seed_cert && seed_key && access(seed_cert, R_OK) == 0 && access(seed_key, R_OK) == 0;
    WT_LOG_INFO("cert rotation: no current pair in %s: %s", dir,
                seed ? "starting with the --cert/--key pair" : "generating one");
    if (make_gen(r, seed ? seed_cert : NULL, seed ? seed_key : NULL, cur) < 0 ||
        set_link(r, "current", cur) < 0) {
      goto fail;
    }
  }
  if (!have_next || !strcmp(next, cur) || pem_hash(r->cert_next, r->next_hash) < 0) {
    if (make_gen(r, NULL, NULL, next) < 0 || set_link(r, "next", next) < 0 ||
        pem_hash(r->cert_next, r->next_hash) < 0) {
      goto fail;
    }
  }
  if (pem_hash(r->cert, r->cur_hash) < 0) {
    fprintf(stderr, "wtcast: --cert-rotate: '%s' is not a PEM certificate\n", r->cert);
    goto fail;
  }
  remove_stale(r, cur, next);
  r->next_rotation = (int64_t)time(NULL) + interval_s;
  return r;
fail:
  fprintf(stderr, "wtcast: --cert-rotate: cannot prepare the certificates (see the log)\n");
  wt_rotate_del(r);
  return NULL;
}

const char *wt_rotate_cert_file(const wt_rotate *r) {
  return r->cert;
}

const char *wt_rotate_key_file(const wt_rotate *r) {
  return r->key;
}

/* next -> current (one rename: the pair switches whole), reload, a new
 * next; the generation served before the previous rotation goes. */
static void rotate_once(wt_rotate *r) {
  char cur_gen[64], next_gen[64];
  if (read_link(r, "current", cur_gen, sizeof(cur_gen)) < 0 ||
      read_link(r, "next", next_gen, sizeof(next_gen)) < 0) {
    WT_LOG_ERROR("cert rotation: %s/current or %s/next is gone", r->dir, r->dir);
    return;
  }
  if (set_link(r, "current", next_gen) < 0) {
    return;
  }
  char cur[65], next[65] = "";
  if (pem_hash(r->cert, cur) < 0) {
    WT_LOG_ERROR("cert rotation: %s unreadable after the switch", r->cert);
    return;
  }
  kill(getpid(), SIGHUP); /* the runtime reloads every shard */
  if (r->prev[0] && strcmp(r->prev, next_gen)) {
    remove_gen(r, r->prev);
  }
  snprintf(r->prev, sizeof(r->prev), "%s", cur_gen);
  char gen[64];
  if (make_gen(r, NULL, NULL, gen) < 0 || set_link(r, "next", gen) < 0 ||
      pem_hash(r->cert_next, next) < 0) {
    WT_LOG_ERROR("cert rotation: cannot make the next certificate: will retry next time");
    next[0] = '\0';
  }
  pthread_mutex_lock(&r->mu);
  memcpy(r->cur_hash, cur, sizeof(cur));
  memcpy(r->next_hash, next, sizeof(next));
  pthread_mutex_unlock(&r->mu);
  WT_LOG_INFO("cert rotation: now serving sha256 %s (%s/%s); next %s", cur, r->dir, next_gen,
              next[0] ? next : "(none)");
}

static void *rotate_thread(void *arg) {
  wt_rotate *r = arg;
  pthread_setname_np(pthread_self(), "wt-rotate");
  pthread_mutex_lock(&r->mu);
  while (!r->stop) {
    struct timespec ts = {.tv_sec = (time_t)r->next_rotation, .tv_nsec = 0};
    int e = pthread_cond_timedwait(&r->cv, &r->mu, &ts);
    if (r->stop) {
      break;
    }
    if (e == ETIMEDOUT || time(NULL) >= r->next_rotation) {
      r->next_rotation = (int64_t)time(NULL) + r->interval_s;
      if (!r->next_hash[0]) { /* the last generation failed: try again first */
        pthread_mutex_unlock(&r->mu);
        char h[65], gen[64];
        if (make_gen(r, NULL, NULL, gen) == 0 && set_link(r, "next", gen) == 0 &&
            pem_hash(r->cert_next, h) == 0) {
          pthread_mutex_lock(&r->mu);
          memcpy(r->next_hash, h, sizeof(h));
          pthread_mutex_unlock(&r->mu);
        }
        pthread_mutex_lock(&r->mu);
        continue;
      }
      pthread_mutex_unlock(&r->mu);
      rotate_once(r);
      pthread_mutex_lock(&r->mu);
    }
  }
  pthread_mutex_unlock(&r->mu);
  return NULL;
}

int wt_rotate_start(wt_rotate *r) {
  /* the runtime has blocked the signals it reads: the thread inherits that */
  if (pthread_create(&r->thread, NULL, rotate_thread, r) != 0) {
    return -1;
  }
  r->started = 1;
  WT_LOG_INFO("cert rotation every %u s (certificates valid %u days): serving %s, next %s",
              r->interval_s, r->days, r->cur_hash, r->next_hash);
  return 0;
}

void wt_rotate_hashes(wt_rotate *r, char current[65], char next[65], int64_t *next_rotation) {
  pthread_mutex_lock(&r->mu);
  memcpy(current, r->cur_hash, 65);
  memcpy(next, r->next_hash, 65);
  *next_rotation = r->next_rotation;
  pthread_mutex_unlock(&r->mu);
}

void wt_rotate_del(wt_rotate *r) {
  if (!r) {
    return;
  }
  if (r->started) {
    pthread_mutex_lock(&r->mu);
    r->stop = 1;
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
    pthread_join(r->thread, NULL);
  }
  pthread_mutex_destroy(&r->mu);
  pthread_cond_destroy(&r->cv);
  free(r);
}
