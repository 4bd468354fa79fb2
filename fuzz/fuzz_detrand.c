/* fuzz_detrand.c: see fuzz_detrand.h. */
#define _GNU_SOURCE
#include "fuzz_detrand.h"

#include <fcntl.h>
#include <stdarg.h>
#include <string.h>
#include <sys/random.h>
#include <sys/types.h>
#include <unistd.h>

int __real_open(const char *path, int flags, ...);
ssize_t __real_read(int fd, void *buf, size_t n);
int __real_close(int fd);
int __wrap_open(const char *path, int flags, ...);
ssize_t __wrap_read(int fd, void *buf, size_t n);
int __wrap_close(int fd);
ssize_t __wrap_getrandom(void *buf, size_t n, unsigned int flags);

#define MAX_FAKE 8

static struct {
  int fd; /* -1: free */
  uint64_t s;
} g_fake[MAX_FAKE] = {{-1, 0}, {-1, 0}, {-1, 0}, {-1, 0}, {-1, 0}, {-1, 0}, {-1, 0}, {-1, 0}};
static uint32_t g_who;
static uint32_t g_opens[FUZZ_DETRAND_STREAMS];

void fuzz_detrand_select(uint32_t who) {
  g_who = who < FUZZ_DETRAND_STREAMS ? who : 0;
}

void fuzz_detrand_reset(void) {
  memset(g_opens, 0, sizeof(g_opens));
}

static uint64_t splitmix(uint64_t *s) {
  uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

int __wrap_open(const char *path, int flags, ...) {
  mode_t mode = 0;
  if (flags & (O_CREAT | O_TMPFILE)) {
    va_list ap;
    va_start(ap, flags);
    mode = (mode_t)va_arg(ap, int);
    va_end(ap);
  }
  if (path == NULL || (strcmp(path, "/dev/urandom") != 0 && strcmp(path, "/dev/random") != 0)) {
    return __real_open(path, flags, mode);
  }
  for (int i = 0; i < MAX_FAKE; i++) {
    if (g_fake[i].fd < 0) {
      /* A real descriptor number, so nothing else can collide with it. */
      int fd = __real_open("/dev/null", O_RDONLY | O_CLOEXEC);
      if (fd < 0) {
        return fd;
      }
      g_fake[i].fd = fd;
      g_fake[i].s = 0x5eed000000000000ull ^ ((uint64_t)g_who << 32) ^ g_opens[g_who]++;
      return fd;
    }
  }
  return __real_open(path, flags, mode);
}

ssize_t __wrap_read(int fd, void *buf, size_t n) {
  for (int i = 0; i < MAX_FAKE; i++) {
    if (fd >= 0 && g_fake[i].fd == fd) {
      uint8_t *p = buf;
      for (size_t k = 0; k < n; k += 8) {
        uint64_t v = splitmix(&g_fake[i].s);
        memcpy(p + k, &v, n - k < 8 ? n - k : 8);
      }
      return (ssize_t)n;
    }
  }
  return __real_read(fd, buf, n);
}

int __wrap_close(int fd) {
  for (int i = 0; i < MAX_FAKE; i++) {
    if (fd >= 0 && g_fake[i].fd == fd) {
      g_fake[i].fd = -1;
    }
  }
  return __real_close(fd);
}

/* wolfSSL built with WOLFSSL_GETRANDOM (tools/deps) seeds with one
 * getrandom call per wc_GenerateSeed: each call is what an open of
 * /dev/urandom was, a new generator of the selected stream. */
ssize_t __wrap_getrandom(void *buf, size_t n, unsigned int flags) {
  (void)flags;
  uint64_t st = 0x5eed000000000000ull ^ ((uint64_t)g_who << 32) ^ g_opens[g_who]++;
  uint8_t *p = buf;
  for (size_t k = 0; k < n; k += 8) {
    uint64_t v = splitmix(&st);
    memcpy(p + k, &v, n - k < 8 ? n - k : 8);
  }
  return (ssize_t)n;
}
