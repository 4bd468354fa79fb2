/* wt_keylog.c: the TLS key log file of a program (wt_keylog.h). */
#define WT_LOG_MODULE "tls"
#include "wt_keylog.h"

#include "wt_log.h"

FILE *wt_keylog_open(const char *path) {
  FILE *f = fopen(path, "a");
  if (f == NULL) {
    WT_LOG_WARN("cannot open keylog file %s", path);
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
