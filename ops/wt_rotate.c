/* wt_rotate.c: certificate rotation for serverCertificateHashes (see wt_rotate.h). */
#define _GNU_SOURCE   /* pthread_setname_np */
#define WT_LOG_MODULE "rotate"
#include "wt_rotate.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "wt_certgen.h"
#include "wt_log.h"

extern char **environ;

struct wt_rotate {
  char cert[PATH_MAX], key[PATH_MAX], cert_next[PATH_MAX + 8], key_next[PATH_MAX + 8];
  char tool[PATH_MAX]; /* wtcast-cert */
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

wt_rotate *wt_rotate_new(const char *cert_file, const char *key_file, uint32_t interval_s) {
  if (interval_s == 0 || interval_s > WT_ROTATE_MAX_S) {
    fprintf(stderr, "wtcast: --cert-rotate: must be in 1..%u seconds\n", WT_ROTATE_MAX_S);
    return NULL;
  }
  wt_rotate *r = calloc(1, sizeof(*r));
  if (!r) {
    return NULL;
  }
  pthread_mutex_init(&r->mu, NULL);
  pthread_cond_init(&r->cv, NULL);
  snprintf(r->cert, sizeof(r->cert), "%s", cert_file);
  snprintf(r->key, sizeof(r->key), "%s", key_file);
  snprintf(r->cert_next, sizeof(r->cert_next), "%s.next", cert_file);
  snprintf(r->key_next, sizeof(r->key_next), "%s.next", key_file);
  r->interval_s = interval_s;
  r->days = (2 * interval_s + 86399) / 86400 + 1;
  if (r->days > 14) {
    r->days = 14;
  }
  find_tool(r);
  if (access(r->cert, R_OK) != 0 || access(r->key, R_OK) != 0) {
    WT_LOG_INFO("cert rotation: %s missing: generating it", r->cert);
    if (make_cert(r, r->cert, r->key) < 0) {
      goto fail;
    }
  }
  if (pem_hash(r->cert_next, r->next_hash) < 0 || access(r->key_next, R_OK) != 0) {
    if (make_cert(r, r->cert_next, r->key_next) < 0 || pem_hash(r->cert_next, r->next_hash) < 0) {
      goto fail;
    }
  }
  if (pem_hash(r->cert, r->cur_hash) < 0) {
    fprintf(stderr, "wtcast: --cert-rotate: '%s' is not a PEM certificate\n", r->cert);
    goto fail;
  }
  r->next_rotation = (int64_t)time(NULL) + interval_s;
  return r;
fail:
  fprintf(stderr, "wtcast: --cert-rotate: cannot prepare the certificates (see the log)\n");
  wt_rotate_del(r);
  return NULL;
}

/* next -> current, reload, new next. */
static void rotate_once(wt_rotate *r) {
  if (rename(r->key_next, r->key) != 0 || rename(r->cert_next, r->cert) != 0) {
    WT_LOG_ERROR("cert rotation: cannot move %s into place: %s", r->cert_next, strerror(errno));
    return;
  }
  char cur[65], next[65] = "";
  if (pem_hash(r->cert, cur) < 0) {
    WT_LOG_ERROR("cert rotation: %s unreadable after the move", r->cert);
    return;
  }
  kill(getpid(), SIGHUP); /* the runtime reloads every shard */
  if (make_cert(r, r->cert_next, r->key_next) < 0 || pem_hash(r->cert_next, next) < 0) {
    WT_LOG_ERROR("cert rotation: cannot make the next certificate: will retry next time");
    next[0] = '\0';
  }
  pthread_mutex_lock(&r->mu);
  memcpy(r->cur_hash, cur, sizeof(cur));
  memcpy(r->next_hash, next, sizeof(next));
  pthread_mutex_unlock(&r->mu);
  WT_LOG_INFO("cert rotation: now serving sha256 %s; next %s", cur, next[0] ? next : "(none)");
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
        char h[65];
        if (make_cert(r, r->cert_next, r->key_next) == 0 && pem_hash(r->cert_next, h) == 0) {
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
