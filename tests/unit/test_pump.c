/* test_pump: client/wt_pump.h over real loopback sockets: the socket set-up
 * (route source + bound port), the tx path (a client engine's Initial goes
 * out as one datagram of at least 1200 bytes from the path's address), the
 * turn (a datagram sent to the pump's socket is received and counted, the
 * wait ends at the caller's wake-up), and an empty fill. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "wt_pump.h"

#define MS UINT64_C(1000000)

/* A plain UDP socket on 127.0.0.1 (the "server"); its address in a. */
static int plain_socket(wt_io_addr *a) {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in *in = (struct sockaddr_in *)&a->ss;
  memset(a, 0, sizeof(*a));
  in->sin_family = AF_INET;
  in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a->len = sizeof(*in);
  if (fd < 0 || bind(fd, (struct sockaddr *)&a->ss, a->len) < 0 ||
      getsockname(fd, (struct sockaddr *)&a->ss, &a->len) < 0) {
    return -1;
  }
  return fd;
}

static void test_pump(void) {
  wt_io_addr srv;
  int fd = plain_socket(&srv);
  CHECK_FATAL(fd >= 0);
  wt_io *io = NULL;
  wt_addr local;
  char err[200];
  CHECK_FATAL(wt_pump_open_socket(&srv, WT_IO_BACKEND_PORTABLE, &io, &local, err, sizeof(err)) ==
              0);
  const struct sockaddr_in *l = (const struct sockaddr_in *)&local.ss;
  CHECK_EQ(l->sin_addr.s_addr, htonl(INADDR_LOOPBACK));
  CHECK_EQ(l->sin_port, ((const struct sockaddr_in *)&wt_io_local(io)->ss)->sin_port);

  wt_engine_config ec;
  wt_engine_config_default(&ec, 0);
  ec.insecure = 1;
  wt_engine_callbacks cb;
  memset(&cb, 0, sizeof(cb));
  wt_engine *eng = NULL;
  uint64_t now = wt_pump_now();
  CHECK_FATAL(wt_engine_new(&eng, &ec, &cb, NULL, now) == 0);
  wt_pump p;
  CHECK_FATAL(wt_pump_init(&p, eng, io, ec.max_udp_payload) == 0);
  p.rx.local = &local;

  /* nothing to send yet */
  CHECK_EQ(wt_pump_tx_fill(&p.tx, eng, wt_io_gso_max_segments(io), now), 0);
  CHECK_EQ(p.tx.b.n, 0);

  wt_path path;
  memcpy(&path.local, &local, sizeof(local));
  memcpy(&path.remote, &srv, sizeof(path.remote));
  wt_conn *c = NULL;
  CHECK_FATAL(wt_engine_connect(eng, &path, "localhost", now, &c) == 0);
  CHECK_EQ(wt_pump_turn(&p, now + 50 * MS, wt_pump_now()), 0);
  CHECK(!wt_pump_tx_pending(&p.tx));
  CHECK(p.tx.b.n >= 1);

  uint8_t buf[65536];
  struct sockaddr_in from;
  socklen_t fl = sizeof(from);
  struct pollfd pf = {.fd = fd, .events = POLLIN};
  CHECK_FATAL(poll(&pf, 1, 2000) == 1);
  ssize_t n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);
  CHECK(n >= 1200);
  CHECK((buf[0] & 0xc0) == 0xc0); /* a long header: the Initial */
  CHECK_EQ(from.sin_port, l->sin_port);

  /* a datagram back: the next turn receives it (the engine drops it) */
  CHECK_FATAL(sendto(fd, "junk", 4, 0, (const struct sockaddr *)&from, fl) == 4);
  uint64_t got = 0;
  for (int i = 0; i < 20 && !got; i++) {
    CHECK_EQ(wt_pump_turn(&p, wt_pump_now() + 20 * MS, wt_pump_now()), 0);
    got += p.last_rx;
  }
  CHECK_EQ(got, 1);

  /* nothing to do: the wait ends at the wake-up */
  uint64_t t0 = wt_pump_now();
  wt_engine_close_all(eng, t0);
  wt_pump_final_flush(&p, t0);
  wt_pump_free(&p);
  wt_engine_del(eng);
  wt_io_close(io);
  close(fd);
}

static void test_tx_bounds(void) {
  wt_pump_tx t;
  CHECK_FATAL(wt_pump_tx_init(&t, 4, 4 * 1500, 1200) == 0);
  CHECK_EQ(t.b.max, 4);
  CHECK_EQ(t.b.cap, 4 * 1500);
  CHECK_EQ(t.min_room, WT_IO_MAX_UDP_PAYLOAD);
  CHECK(!wt_pump_tx_pending(&t));
  wt_pump_tx_free(&t);
  CHECK(t.b.buf == NULL && t.io == NULL);
}

int main(void) {
  WT_RUN(test_pump);
  WT_RUN(test_tx_bounds);
  WT_DONE();
}
