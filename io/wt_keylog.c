/* wt_keylog.c: the TLS key log file of a program (wt_keylog.h). */
#define WT_LOG_MODULE "tls"
#include "wt_keylog.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "wt_log.h"

FILE *wt_keylog_open(const char *path) {
  /* The file holds the connections' secrets: created 0600, never through
   * a symbolic link; an existing file is appended to as it is. */
  int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  FILE *f = fd >= 0 ? fdopen(fd, "a") : NULL;
  if (f == NULL) {
    WT_LOG_WARN("cannot open keylog file %s: %s", path, strerror(errno));
    if (fd >= 0) {
      close(fd);
    }
  }
  return f;
}

void wt_keylog_write(void *file, const char *line) {
  fprintf(file, "%s\n", line);
  fflush(file);
}

void wt_keylog_close(FILE *f) {
  if (f) {
    fclose(f);
  }
}
