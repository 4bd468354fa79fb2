/* test_http.c: the HTTP side listener (wt_http.h) on 127.0.0.1, fetched with
 * raw sockets. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "check.h"
#include "wt_error.h"
#include "wt_http.h"

static const char page[] = "<!doctype html><title>t</title>";

/* A TCP socket from 127.0.0.<src> (any loopback address is ours) connected
 * to 127.0.0.1:port, with a 5 s receive timeout; -1 on error. */
static int connect_from(unsigned src, uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) {
    return -1;
  }
  struct timeval tv = {5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  struct sockaddr_in me = {.sin_family = AF_INET};
  me.sin_addr.s_addr = htonl(INADDR_LOOPBACK + (src - 1));
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, (struct sockaddr *)&me, sizeof(me)) < 0 ||
      connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
    close(fd);
    return -1;
  }
  return fd;
}

/* Send req from 127.0.0.<src> to 127.0.0.1:port and read the whole answer
 * (the server closes: every request says Connection: close). Returns its
 * length (0: closed without an answer), -1 on error. */
static int fetch_from(unsigned src, uint16_t port, const char *req, char *out, size_t cap) {
  int fd = connect_from(src, port);
  if (fd < 0) {
    return -1;
  }
  if (send(fd, req, strlen(req), MSG_NOSIGNAL) != (ssize_t)strlen(req)) {
    close(fd);
    return -1;
  }
  size_t n = 0;
  for (;;) {
    ssize_t r = recv(fd, out + n, cap - 1 - n, 0);
    if (r <= 0) {
      break;
    }
    n += (size_t)r;
    if (n == cap - 1) {
      break;
    }
  }
  out[n] = '\0';
  close(fd);
  return (int)n;
}

static int fetch(uint16_t port, const char *req, char *out, size_t cap) {
  return fetch_from(1, port, req, out, cap);
}

static int status_of(const char *resp) {
  int st = 0;
  return sscanf(resp, "HTTP/1.1 %d", &st) == 1 ? st : -1;
}

static const char *body_of(const char *resp) {
  const char *b = strstr(resp, "\r\n\r\n");
  return b ? b + 4 : "";
}

static int echo_handler(void *arg, const char *path, const char *query, wt_http_reply *out) {
  int *calls = arg;
  (*calls)++;
  out->content_type = "application/json";
  return wt_http_reply_printf(out, "{\"path\":\"%s\",\"query\":\"%s\"}", path, query);
}

static int failing_handler(void *arg, const char *path, const char *query, wt_http_reply *out) {
  return WT_ERR_INTERNAL;
}

static int big_handler(void *arg, const char *path, const char *query, wt_http_reply *out) {
  char chunk[1000];
  memset(chunk, 'x', sizeof(chunk));
  for (int i = 0; i < 100; i++) {
    wt_http_reply_append(out, chunk, sizeof(chunk)); /* stops growing at the limit */
  }
  return 0;
}

static int teapot_handler(void *arg, const char *path, const char *query, wt_http_reply *out) {
  out->status = 418;
  out->any_origin = 1; /* "Access-Control-Allow-Origin: *" */
  return wt_http_reply_printf(out, "short and stout\n");
}

static void test_serve(void) {
  wt_http_config cfg;
  wt_http_config_default(&cfg);
  cfg.listen = "127.0.0.1:0";
  cfg.max_reply_bytes = 4096;
  cfg.max_routes = 6;
  wt_http *h;
  char why[256];
  int rv = wt_http_new(&h, &cfg, why, sizeof(why));
  if (rv < 0) {
    fprintf(stderr, "wt_http_new: %s\n", why);
  }
  CHECK_FATAL(rv == 0);
  uint16_t port = wt_http_port(h);
  CHECK(port != 0);
  int calls = 0;
  CHECK_EQ(wt_http_static(h, "/", "text/html; charset=utf-8", page, strlen(page)), 0);
  CHECK_EQ(wt_http_route(h, "/config.json", echo_handler, &calls), 0);
  CHECK_EQ(wt_http_route(h, "/fail", failing_handler, NULL), 0);
  CHECK_EQ(wt_http_route(h, "/big", big_handler, NULL), 0);
  CHECK_EQ(wt_http_route(h, "/teapot", teapot_handler, NULL), 0);
  CHECK_EQ(wt_http_route(h, "/", failing_handler, NULL), WT_ERR_STATE);
  CHECK_EQ(wt_http_route(h, "nope", failing_handler, NULL), WT_ERR_INVAL);
  CHECK_EQ(wt_http_route(h, "/x", NULL, NULL), WT_ERR_INVAL);
  CHECK_EQ(wt_http_static(h, "/sixth", "text/plain", "", 0), 0);
  CHECK_EQ(wt_http_static(h, "/seventh", "text/plain", "", 0), WT_ERR_LIMIT);

  static char resp[16384];
  CHECK(fetch(port, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", resp, sizeof(resp)) >
        0);
  CHECK_EQ(status_of(resp), 200);
  CHECK(strstr(resp, "text/html; charset=utf-8") != NULL);
  CHECK(strcmp(body_of(resp), page) == 0);

  CHECK(fetch(port, "HEAD / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", resp, sizeof(resp)) >
        0);
  CHECK_EQ(status_of(resp), 200);
  CHECK(strcmp(body_of(resp), "") == 0);

  CHECK(fetch(port, "GET /config.json?a=1&b=%41 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
              resp, sizeof(resp)) > 0);
  CHECK_EQ(status_of(resp), 200);
  CHECK(strstr(resp, "application/json") != NULL);
  CHECK(strstr(resp, "no-store") != NULL);
  CHECK(strcmp(body_of(resp), "{\"path\":\"/config.json\",\"query\":\"a=1&b=%41\"}") == 0);
  CHECK(fetch(port, "GET /config.json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", resp,
              sizeof(resp)) > 0);
  CHECK(strcmp(body_of(resp), "{\"path\":\"/config.json\",\"query\":\"\"}") == 0);
  CHECK(strstr(resp, "Access-Control-Allow-Origin") == NULL); /* only when the handler asks */
  CHECK_EQ(calls, 2);

  CHECK(fetch(port, "GET /missing HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", resp,
              sizeof(resp)) > 0);
  CHECK_EQ(status_of(resp), 404);
  CHECK(fetch(port,
              "POST / HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 3\r\n\r\nabc",
              resp, sizeof(resp)) > 0);
  CHECK_EQ(status_of(resp), 405);
  CHECK(strstr(resp, "Allow: GET, HEAD") != NULL);
  CHECK(fetch(port, "GET /fail HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", resp,
              sizeof(resp)) > 0);
  CHECK_EQ(status_of(resp), 500);
  CHECK(fetch(port, "GET /big HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", resp,
              sizeof(resp)) > 0);
  CHECK_EQ(status_of(resp), 500);
  CHECK(fetch(port, "GET /teapot HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", resp,
              sizeof(resp)) > 0);
  CHECK_EQ(status_of(resp), 418);
  CHECK(strcmp(body_of(resp), "short and stout\n") == 0);
  CHECK(strstr(resp, "Access-Control-Allow-Origin: *\r\n") != NULL);

  /* Garbage is answered (400) or dropped, never crashes. */
  fetch(port, "\x01\x02 garbage\r\n\r\n", resp, sizeof(resp));
  CHECK(fetch(port, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", resp, sizeof(resp)) >
        0);
  CHECK_EQ(status_of(resp), 200);

  CHECK(fetch(port, "GET /config.json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", resp,
              sizeof(resp)) > 0);
  CHECK_EQ(calls, 3);

  wt_http_counters k;
  wt_http_counters_get(h, &k);
  CHECK_EQ(k.requests, 11);
  CHECK_EQ(k.not_found, 1);
  CHECK_EQ(k.bad_method, 1);
  CHECK_EQ(k.handler_errors, 2);
  CHECK(k.errors >= 5); /* 404, 405, 2 x 500, 2 x 418 */
  wt_http_del(h);
}

static void test_config_errors(void) {
  wt_http_config cfg;
  wt_http_config_default(&cfg);
  wt_http *h = (wt_http *)1;
  char why[256];
  CHECK_EQ(wt_http_new(&h, &cfg, why, sizeof(why)), WT_ERR_INVAL);
  CHECK(h == NULL);
  cfg.listen = "localhost:80";
  CHECK_EQ(wt_http_new(&h, &cfg, why, sizeof(why)), WT_ERR_INVAL);
  CHECK(strstr(why, "localhost:80") != NULL);
  cfg.listen = "127.0.0.1:0";
  cfg.max_conns = 0;
  CHECK_EQ(wt_http_new(&h, &cfg, why, sizeof(why)), WT_ERR_INVAL);

  /* The port is taken: WT_ERR_IO with the reason. */
  wt_http_config_default(&cfg);
  cfg.listen = "127.0.0.1:0";
  wt_http *a;
  CHECK_FATAL(wt_http_new(&a, &cfg, why, sizeof(why)) == 0);
  char addr[64];
  snprintf(addr, sizeof(addr), "127.0.0.1:%u", (unsigned)wt_http_port(a));
  cfg.listen = addr;
  CHECK_EQ(wt_http_new(&h, &cfg, why, sizeof(why)), WT_ERR_IO);
  CHECK(strstr(why, "Address already in use") != NULL);
  wt_http_del(a);
  wt_http_del(NULL);
}

/* Wait (2 s at most) until h counted at least want refusals of the kind. */
static uint64_t wait_refused(wt_http *h, int per_ip, uint64_t want) {
  wt_http_counters k;
  for (int i = 0; i < 200; i++) {
    wt_http_counters_get(h, &k);
    uint64_t n = per_ip ? k.refused_per_ip : k.refused_limit;
    if (n >= want) {
      return n;
    }
    usleep(10000);
  }
  return per_ip ? k.refused_per_ip : k.refused_limit;
}

/* Idle and slow clients from one address take their share (4) and no more:
 * another address still gets answered; the listener's limit (12) refuses
 * and counts the rest; closed sockets give their share back. The timeout
 * (60 s) is far beyond the test: only the shares can let the fetch in. */
static void test_slow_clients(void) {
  static const char get[] = "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  wt_http_config cfg;
  wt_http_config_default(&cfg);
  cfg.listen = "127.0.0.1:0";
  cfg.max_conns = 12;
  cfg.max_conns_per_ip = 4;
  cfg.timeout_s = 60;
  wt_http *h;
  char why[256];
  CHECK_FATAL(wt_http_new(&h, &cfg, why, sizeof(why)) == 0);
  uint16_t port = wt_http_port(h);
  CHECK_EQ(wt_http_static(h, "/metrics", "text/plain", "up 1\n", 5), 0);

  /* 12 sockets from 127.0.0.1: 4 idle, 8 trickling a request's first bytes */
  int idle[12];
  for (int i = 0; i < 12; i++) {
    idle[i] = connect_from(1, port);
    CHECK(idle[i] >= 0);
    if (idle[i] >= 0 && i % 3) {
      send(idle[i], "GET /met", 8, MSG_NOSIGNAL);
    }
  }
  CHECK_EQ(wait_refused(h, 1, 8), 8);
  static char resp[4096];
  CHECK(fetch_from(2, port, get, resp, sizeof(resp)) > 0);
  CHECK_EQ(status_of(resp), 200);
  CHECK(strcmp(body_of(resp), "up 1\n") == 0);
  /* 127.0.0.1 itself is over its share: closed without an answer */
  CHECK(fetch_from(1, port, get, resp, sizeof(resp)) <= 0);
  CHECK_EQ(wait_refused(h, 1, 9), 9);

  /* fill the listener: 4 more addresses x 2 = 8, with 127.0.0.1's 4 = 12 */
  int more[8];
  for (int i = 0; i < 8; i++) {
    more[i] = connect_from(3 + (unsigned)i / 2, port);
    CHECK(more[i] >= 0);
  }
  /* the listener is full once its thread took them all: 127.0.0.9 is
   * refused and counted as the listener's limit (not the per-address one) */
  int refused = 0;
  for (int tries = 0; tries < 50 && !refused; tries++) {
    refused = fetch_from(9, port, get, resp, sizeof(resp)) <= 0;
    if (!refused) {
      usleep(20000); /* answered: not all 8 were accepted yet */
    }
  }
  CHECK(refused);
  CHECK(wait_refused(h, 0, 1) >= 1);

  /* shares come back when sockets close */
  for (int i = 0; i < 12; i++) {
    if (idle[i] >= 0) {
      close(idle[i]);
    }
  }
  for (int i = 0; i < 8; i++) {
    if (more[i] >= 0) {
      close(more[i]);
    }
  }
  int ok = 0;
  for (int tries = 0; tries < 100 && !ok; tries++) {
    ok = fetch_from(1, port, get, resp, sizeof(resp)) > 0 && status_of(resp) == 200;
    if (!ok) {
      usleep(20000);
    }
  }
  CHECK(ok);
  wt_http_del(h);
}

int main(void) {
  WT_RUN(test_serve);
  WT_RUN(test_slow_clients);
  WT_RUN(test_config_errors);
  WT_DONE();
}
