/* test_steer.c: the ownership function and the reuseport cBPF program. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "wt_cbpf_interp.h"
#include "wt_error.h"
#include "wt_steer.h"

/* A long header: flags, version 1, DCID length 8, DCID, then filler. */
static size_t long_hdr(uint8_t *b, uint8_t dcid0) {
  static const uint8_t h[] = {0xc0, 0x00, 0x00, 0x00, 0x01, 0x08};
  memcpy(b, h, sizeof(h));
  b[6] = dcid0;
  memset(b + 7, 0xee, 33);
  return 40;
}

/* A short header: flags (0x40, fixed bit), DCID, filler. */
static size_t short_hdr(uint8_t *b, uint8_t dcid0) {
  b[0] = 0x40;
  b[1] = dcid0;
  memset(b + 2, 0xdd, 30);
  return 32;
}

static void test_owner(void) {
  uint8_t b[64];
  for (uint32_t n = 1; n <= 8; n++) {
    for (unsigned d = 0; d < 256; d++) {
      size_t len = long_hdr(b, (uint8_t)d);
      CHECK_EQ(wt_steer_owner(b, len, n, 0xff), d % n);
      CHECK_EQ(wt_steer_owner(b, len, n, 0x1f), (d & 0x1f) % n);
      len = short_hdr(b, (uint8_t)d);
      CHECK_EQ(wt_steer_owner(b, len, n, 0xff), d % n);
      CHECK_EQ(wt_steer_owner(b, len, n, 0x1f), (d & 0x1f) % n);
    }
  }
  /* QUIC-LB: the config rotation bits do not move a CID between shards */
  for (unsigned cr = 0; cr < 8; cr++) {
    short_hdr(b, (uint8_t)(cr << 5 | 19));
    CHECK_EQ(wt_steer_owner(b, 32, 7, 0x1f), 19 % 7);
  }
  /* the version byte and the DCID length do not matter, only byte 6 */
  long_hdr(b, 7);
  b[5] = 0;
  CHECK_EQ(wt_steer_owner(b, 7, 4, 0xff), 3);
  /* too short: no owner (n) */
  CHECK_EQ(wt_steer_owner(b, 0, 4, 0xff), 4);
  CHECK_EQ(wt_steer_owner(b, 6, 4, 0x1f), 4); /* long header without byte 6 */
  short_hdr(b, 5);
  CHECK_EQ(wt_steer_owner(b, 1, 4, 0xff), 4);
  CHECK_EQ(wt_steer_owner(b, 2, 4, 0xff), 1);
  CHECK_EQ(wt_steer_owner(NULL, 0, 3, 0xff), 3);
  CHECK_EQ(wt_steer_owner(b, 2, 0, 0xff), 0);
  /* a Version Negotiation-shaped or Initial packet: its DCID decides too */
  long_hdr(b, 200);
  CHECK_EQ(wt_steer_owner(b, 1200, 3, 0xff), 200 % 3);
}

/* wt_cbpf_run with the opcode check as a test failure. */
static uint32_t cbpf_run(const struct sock_filter *p, size_t n, const uint8_t *pkt, size_t len) {
  int bad;
  uint32_t r = wt_cbpf_run(p, n, pkt, len, &bad);
  CHECK(!bad);
  return bad ? 0xdeadbeef : r;
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint32_t rnd(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return (uint32_t)rng;
}

static void test_program_matches(void) {
  struct sock_filter prog[WT_STEER_PROG_LEN];
  CHECK_EQ(wt_steer_build(prog, WT_STEER_PROG_LEN - 1, 4, 0xff), WT_ERR_INVAL);
  CHECK_EQ(wt_steer_build(prog, WT_STEER_PROG_LEN, 0, 0xff), WT_ERR_INVAL);
  CHECK_EQ(wt_steer_build(prog, WT_STEER_PROG_LEN, 257, 0xff), WT_ERR_INVAL);
  CHECK_EQ(wt_steer_build(prog, WT_STEER_PROG_LEN, 33, 0x1f), WT_ERR_INVAL);
  uint8_t pkt[64];
  unsigned mismatches = 0;
  static const uint8_t masks[] = {0xff, 0x1f};
  for (size_t m = 0; m < sizeof(masks); m++) {
    uint32_t nmax = masks[m] == 0xff ? 64 : 32;
    for (uint32_t n = 1; n <= nmax; n++) {
      CHECK_FATAL(wt_steer_build(prog, WT_STEER_PROG_LEN, n, masks[m]) == WT_STEER_PROG_LEN);
      for (int i = 0; i < 2000; i++) {
        size_t len = rnd() % 24; /* many too-short ones */
        for (size_t k = 0; k < len; k++) {
          pkt[k] = (uint8_t)rnd();
        }
        uint32_t want = wt_steer_owner(pkt, len, n, masks[m]);
        uint32_t got = cbpf_run(prog, WT_STEER_PROG_LEN, pkt, len);
        if (want != got) {
          mismatches++;
        }
        CHECK(got <= n);
      }
    }
  }
  CHECK_EQ(mismatches, 0);
  /* QUIC-LB CIDs of every shard, every config rotation: program and C agree
   * on the shard in both header forms */
  for (uint32_t n = 1; n <= 32; n++) {
    CHECK_FATAL(wt_steer_build(prog, WT_STEER_PROG_LEN, n, 0x1f) == WT_STEER_PROG_LEN);
    for (uint32_t s = 0; s < n; s++) {
      uint8_t b0 = (uint8_t)((rnd() % 7) << 5 | s);
      size_t len = long_hdr(pkt, b0);
      CHECK_EQ(cbpf_run(prog, WT_STEER_PROG_LEN, pkt, len), s);
      len = short_hdr(pkt, b0);
      CHECK_EQ(cbpf_run(prog, WT_STEER_PROG_LEN, pkt, len), s);
      CHECK_EQ(wt_steer_owner(pkt, len, n, 0x1f), s);
    }
  }
}

/* A real reuseport group of 4 sockets on 127.0.0.1: each datagram arrives
 * at the socket its DCID byte names. Skipped if the kernel refuses. */
static void test_real_group(void) {
  enum { N = 4 };
  int fds[N];
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t alen = sizeof(a);
  for (int i = 0; i < N; i++) {
    fds[i] = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    CHECK_FATAL(fds[i] >= 0);
    int one = 1;
    CHECK(setsockopt(fds[i], SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) == 0);
    CHECK_FATAL(bind(fds[i], (struct sockaddr *)&a, sizeof(a)) == 0);
    if (i == 0) {
      CHECK_FATAL(getsockname(fds[0], (struct sockaddr *)&a, &alen) == 0);
    }
  }
  if (wt_steer_attach(fds[0], N, 0xff) < 0) {
    fprintf(stderr, "SKIP test_real_group: SO_ATTACH_REUSEPORT_CBPF refused\n");
  } else {
    int tx = socket(AF_INET, SOCK_DGRAM, 0);
    uint8_t b[64];
    for (unsigned d = 0; d < 16; d++) {
      size_t len = (d & 1) ? long_hdr(b, (uint8_t)d) : short_hdr(b, (uint8_t)d);
      CHECK(sendto(tx, b, len, 0, (struct sockaddr *)&a, sizeof(a)) == (ssize_t)len);
      int got = -1;
      for (int tries = 0; tries < 100 && got < 0; tries++) {
        for (int i = 0; i < N && got < 0; i++) {
          if (recv(fds[i], b, sizeof(b), 0) > 0) {
            got = i;
          }
        }
        if (got < 0) {
          usleep(1000);
        }
      }
      CHECK_EQ(got, d % N);
    }
    close(tx);
  }
  for (int i = 0; i < N; i++) {
    close(fds[i]);
  }
}

int main(void) {
  WT_RUN(test_owner);
  WT_RUN(test_program_matches);
  WT_RUN(test_real_group);
  WT_DONE();
}
