/* wt_io.c: the backend-neutral half of wt_io.h: configuration checks, the
 * choice of backend (io_uring when its probe passes, else portable; the
 * reason is kept for the log), and the dispatch to the backend's
 * operations (wt_io_internal.h). */
#define WT_LOG_MODULE "io"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "wt_error.h"
#include "wt_io_internal.h"
#include "wt_log.h"

static int is_pow2(unsigned v) {
  return v != 0 && (v & (v - 1)) == 0;
}

/* Defaults for the zero fields, then the ranges of wt_io.h. */
static int check_config(wt_io_config *c) {
  if (c->backend != WT_IO_BACKEND_AUTO && c->backend != WT_IO_BACKEND_PORTABLE &&
      c->backend != WT_IO_BACKEND_URING) {
    return WT_ERR_CONFIG;
  }
  if (c->rx_batch == 0) {
    c->rx_batch = 64;
  }
  if (c->rx_bufsize == 0) {
    c->rx_bufsize = 65536;
  }
  if (c->rx_bufsize > 65536) {
    c->rx_bufsize = 65536;
  }
  if (c->rx_buffers == 0) {
    c->rx_buffers = 256;
  }
  if (c->ring_entries == 0) {
    c->ring_entries = 256;
  }
  if (c->rx_batch > WT_IO_RX_BATCH_MAX || c->rx_bufsize < 64) {
    return WT_ERR_CONFIG;
  }
  if (!is_pow2(c->rx_buffers) || c->rx_buffers < 2 || c->rx_buffers > 32768 ||
      !is_pow2(c->ring_entries) || c->ring_entries < 2 || c->ring_entries > 4096) {
    return WT_ERR_CONFIG;
  }
  return 0;
}

const char *wt_io_backend_name(int backend) {
  return backend == WT_IO_BACKEND_URING ? "io_uring" : "portable";
}

int wt_io_open(wt_io **out, const wt_io_config *cfg) {
  if (out == NULL) {
    return WT_ERR_INVAL;
  }
  *out = NULL;
  wt_io_config c;
  if (cfg != NULL) {
    c = *cfg;
  } else {
    wt_io_config_default(&c);
  }
  int rv = check_config(&c);
  if (rv != 0) {
    return rv;
  }
  char why[WT_IO_REASON_MAX] = "";
  const char *reason;
  if (c.backend == WT_IO_BACKEND_PORTABLE) {
    rv = wt_io_portable_open(out, &c);
    reason = "requested (--io=portable)";
  } else {
    /* The probe opens a throw-away ring and socket and passes one datagram
     * through multishot recvmsg and sendmsg: what a kernel lacks shows here,
     * with a reason, rather than in the middle of serving. */
    rv = wt_io_uring_probe(why, sizeof(why));
    if (rv == 0) {
      rv = wt_io_uring_open(out, &c, why, sizeof(why));
    }
    reason = c.backend == WT_IO_BACKEND_URING ? "requested (--io=uring)" : "io_uring probe passed";
    if (rv == WT_ERR_UNSUPPORTED && c.backend == WT_IO_BACKEND_URING) {
      WT_LOG_ERROR("io_uring requested but unavailable: %s", why);
      return rv;
    }
    if (rv == WT_ERR_UNSUPPORTED) {
      WT_LOG_INFO("io_uring unavailable (%s): using the portable backend", why);
      rv = wt_io_portable_open(out, &c);
      reason = NULL;
    }
  }
  if (rv != 0) {
    *out = NULL;
    return rv;
  }
  wt_io *io = *out;
  if (reason != NULL) {
    snprintf(io->reason, sizeof(io->reason), "%s", reason);
  } else {
    snprintf(io->reason, sizeof(io->reason), "io_uring unavailable: %.160s", why);
  }
  return 0;
}

void wt_io_close(wt_io *io) {
  if (io != NULL) {
    io->ops->close(io);
  }
}

int wt_io_fd(const wt_io *io) {
  return io->sock.fd;
}

int64_t wt_io_socket_drops(const wt_io *io) {
  struct stat st;
  if (!io || fstat(io->sock.fd, &st) < 0) {
    return -1;
  }
  static const char *const tables[] = {"/proc/net/udp", "/proc/net/udp6"};
  for (size_t t = 0; t < sizeof(tables) / sizeof(tables[0]); t++) {
    FILE *f = fopen(tables[t], "r");
    if (!f) {
      continue;
    }
    char line[512];
    /* sl local rem st tx:rx tr:when retrnsmt uid timeout inode ref ptr drops */
    while (fgets(line, sizeof(line), f)) {
      unsigned long inode;
      unsigned long long drops;
      if (sscanf(line, " %*s %*s %*s %*s %*s %*s %*s %*s %*s %lu %*s %*s %llu", &inode, &drops) ==
              2 &&
          inode == (unsigned long)st.st_ino) {
        fclose(f);
        return (int64_t)drops;
      }
    }
    fclose(f);
  }
  return -1;
}

const wt_io_addr *wt_io_local(const wt_io *io) {
  return &io->sock.local;
}

int wt_io_backend(const wt_io *io) {
  return io->backend;
}

const char *wt_io_backend_reason(const wt_io *io) {
  return io->reason;
}

int wt_io_gro_enabled(const wt_io *io) {
  return io->sock.gro;
}

unsigned wt_io_gso_max_segments(const wt_io *io) {
  return io->sock.gso ? WT_IO_GSO_MAX_SEGMENTS : 0;
}

const wt_io_stats *wt_io_get_stats(const wt_io *io) {
  return &io->stats;
}

int wt_io_recv(wt_io *io, wt_io_pkt *pkts, unsigned max) {
  if (io == NULL || (pkts == NULL && max > 0)) {
    return WT_ERR_INVAL;
  }
  if (max == 0) {
    return 0;
  }
  return io->ops->recv(io, pkts, max);
}

int wt_io_send(wt_io *io, const wt_io_tx *tx, unsigned n) {
  if (io == NULL || (tx == NULL && n > 0)) {
    return WT_ERR_INVAL;
  }
  for (unsigned i = 0; i < n; i++) {
    if (wt_io_tx_check(&io->sock, &tx[i]) != 0) {
      return WT_ERR_INVAL;
    }
  }
  if (n == 0) {
    return 0;
  }
  return io->ops->send(io, tx, n);
}

int wt_io_wait(wt_io *io, int64_t timeout_ns) {
  if (io == NULL) {
    return WT_ERR_INVAL;
  }
  return io->ops->wait(io, timeout_ns);
}

int wt_io_watch_fd(wt_io *io, int fd) {
  if (io == NULL || fd < 0 || fd == io->sock.fd) {
    return WT_ERR_INVAL;
  }
  return io->ops->watch(io, fd);
}

int wt_io_unwatch_fd(wt_io *io, int fd) {
  if (io == NULL || fd < 0 || fd == io->sock.fd) {
    return WT_ERR_INVAL;
  }
  return io->ops->unwatch(io, fd);
}
