/* wt_keylog.h: the TLS key-log file of a program (debugging: SSLKEYLOGFILE
 * format, for Wireshark). The engine hands each line to a callback
 * (wt_engine_config.keylog) and does no I/O itself; this is the file end.
 *
 * Ownership: the caller opens one log per engine with wt_keylog_open and
 * closes it with wt_keylog_close after wt_engine_del. Threading: one log is
 * written by its engine's thread only (the file is opened in append mode,
 * so several engines may log to the same path). It lives in io/ because it
 * is file I/O that both the server's shards and the client programs need,
 * and it knows nothing of TLS or QUIC: it writes the lines it is given. */
#ifndef WT_KEYLOG_H
#define WT_KEYLOG_H

#include <stdio.h>

/* Open path for appending; a new file is created with mode 0600 (it holds
 * secrets), and a symbolic link is refused (O_NOFOLLOW). NULL (a warning is
 * logged) if it cannot be opened: the engine then runs without a key log. */
FILE *wt_keylog_open(const char *path);
/* wt_engine_config.keylog with keylog_user = the FILE from wt_keylog_open:
 * the line and a newline, flushed at once. */
void wt_keylog_write(void *file, const char *line);
void wt_keylog_close(FILE *f);

#endif
