/* wt_rotate.h: automatic rotation of short-lived certificates for
 * serverCertificateHashes deployments (wtcast --cert-rotate SECONDS).
 *
 * Browsers accept a pinned self-signed certificate only while it is valid
 * for at most 14 days, so a long-running server must change it, and pages
 * must learn the new hash before it is used. wtcast keeps two
 * certificates: the current one (the --cert/--key files, served) and the
 * next one (FILE.next, generated ahead). Both hashes are published (e.g. at
 * /cert-hashes.json) so a page can pin both. Every interval the next
 * certificate becomes the current one (renamed over the --cert/--key
 * files, then the process sends itself SIGHUP: the shards reload, live
 * sessions are kept), and a new next one is generated. Certificates are
 * made by wtcast-cert (installed next to wtcast), valid for
 * 2 x interval + 1 day (at most 14 days: interval <= 6 days). */
#ifndef WT_ROTATE_H
#define WT_ROTATE_H

#include <stdint.h>

#define WT_ROTATE_MAX_S (6u * 86400u)

typedef struct wt_rotate wt_rotate;

/* Prepare: generate the current certificate if cert_file is missing, and
 * the next one (cert_file.next, key_file.next) if missing or unreadable.
 * Returns NULL with a message on stderr on failure. */
wt_rotate *wt_rotate_new(const char *cert_file, const char *key_file, uint32_t interval_s);

/* Start the rotation thread ("wt-rotate"; after the server is up). 0 or -1. */
int wt_rotate_start(wt_rotate *r);

/* The two hashes (lowercase hex) and the time of the next rotation (Unix
 * seconds). Any thread. */
void wt_rotate_hashes(wt_rotate *r, char current[65], char next[65], int64_t *next_rotation);

/* Stop the thread, free. NULL is a no-op. */
void wt_rotate_del(wt_rotate *r);

#endif
