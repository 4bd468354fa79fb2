/* wt_http.c: the HTTP/1.1 side listener on libmicrohttpd (see wt_http.h). */
#define _GNU_SOURCE   /* pthread_getname_np, pthread_setname_np */
#define WT_LOG_MODULE "http"
#include "wt_http.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "wt_error.h"
#include "wt_io.h"
#include "wt_log.h"

#define WT_HTTP_PATH_MAX 256
#define WT_HTTP_BACKLOG  64

/* A source address's share of the connections: key[0] is the family,
 * then the IPv4 address or the IPv6 /64 prefix. */
#define IP_KEY_LEN 9

typedef struct ip_slot {
  uint8_t key[IP_KEY_LEN];
  uint32_t n; /* live connections; 0 = a free slot */
} ip_slot;

typedef struct route {
  char *path;
  struct MHD_Response *resp; /* static routes: built once, reused */
  wt_http_handler_fn fn;     /* dynamic routes */
  void *arg;
} route;

struct wt_http {
  wt_http_config cfg;
  struct MHD_Daemon *d;
  uint16_t port;
  pthread_mutex_t lock; /* guards routes/n_routes */
  route *routes;
  uint32_t n_routes;
  _Atomic uint64_t requests, errors, not_found, bad_method, handler_errors;
  _Atomic uint64_t refused_per_ip, refused_limit;
  /* live connections by source address (max_conns slots: every live
   * connection was admitted by on_accept, so they never run out). Written
   * on libmicrohttpd's thread; the lock makes that independent of its
   * threading mode. */
  pthread_mutex_t ip_lock;
  ip_slot *ips;
  uint32_t live;
};

/* Per-request state: the raw query string, captured before libmicrohttpd
 * splits it into decoded arguments. */
typedef struct req {
  char query[1];
} req;

void wt_http_config_default(wt_http_config *c) {
  memset(c, 0, sizeof(*c));
  c->max_conns = 64;
  c->max_conns_per_ip = 8;
  c->timeout_s = 5;
  c->max_routes = 32;
  c->max_reply_bytes = 1u << 20;
  c->thread_name = "wt-http";
}

/* ------------------------------------------------------------------ replies */

int wt_http_reply_append(wt_http_reply *r, const void *data, size_t len) {
  if (r->overflow) {
    return WT_ERR_LIMIT;
  }
  if (len > r->max - r->len) {
    r->overflow = 1;
    return WT_ERR_LIMIT;
  }
  if (r->len + len > r->cap) {
    size_t cap = r->cap ? r->cap : 256;
    while (cap < r->len + len) {
      cap *= 2;
    }
    if (cap > r->max) {
      cap = r->max;
    }
    char *b = realloc(r->body, cap);
    if (!b) {
      r->overflow = 1;
      return WT_ERR_NOMEM;
    }
    r->body = b;
    r->cap = cap;
  }
  if (len) {
    memcpy(r->body + r->len, data, len);
    r->len += len;
  }
  return 0;
}

int wt_http_reply_vprintf(wt_http_reply *r, const char *fmt, va_list ap) {
  char small[512];
  va_list again;
  va_copy(again, ap);
  int n = vsnprintf(small, sizeof(small), fmt, ap);
  if (n < 0) {
    va_end(again);
    return WT_ERR_INVAL;
  }
  if ((size_t)n < sizeof(small)) {
    va_end(again);
    return wt_http_reply_append(r, small, (size_t)n);
  }
  char *big = malloc((size_t)n + 1);
  if (!big) {
    va_end(again);
    r->overflow = 1;
    return WT_ERR_NOMEM;
  }
  vsnprintf(big, (size_t)n + 1, fmt, again);
  va_end(again);
  int rv = wt_http_reply_append(r, big, (size_t)n);
  free(big);
  return rv;
}

int wt_http_reply_printf(wt_http_reply *r, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int rv = wt_http_reply_vprintf(r, fmt, ap);
  va_end(ap);
  return rv;
}

/* ------------------------------------------------------------------ request path */

static void count(_Atomic uint64_t *c) {
  atomic_fetch_add_explicit(c, 1, memory_order_relaxed);
}

/* Queue resp with status; counts it. */
static enum MHD_Result send_resp(wt_http *h, struct MHD_Connection *c, unsigned status,
                                 struct MHD_Response *resp) {
  count(&h->requests);
  if (status >= 400) {
    count(&h->errors);
  }
  if (!resp) {
    return MHD_NO; /* out of memory: libmicrohttpd closes the connection */
  }
  enum MHD_Result rv = MHD_queue_response(c, status, resp);
  return rv;
}

/* A short text/plain error reply. */
static enum MHD_Result send_error(wt_http *h, struct MHD_Connection *c, unsigned status,
                                  const char *text) {
  struct MHD_Response *resp =
      MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_PERSISTENT);
  if (resp) {
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
    if (status == MHD_HTTP_METHOD_NOT_ALLOWED) {
      MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
    }
  }
  enum MHD_Result rv = send_resp(h, c, status, resp);
  if (resp) {
    MHD_destroy_response(resp);
  }
  return rv;
}

/* Run a dynamic handler and send what it built. */
static enum MHD_Result send_dynamic(wt_http *h, struct MHD_Connection *c, const route *rt,
                                    const char *path, const char *query) {
  wt_http_reply r;
  memset(&r, 0, sizeof(r));
  r.status = MHD_HTTP_OK;
  r.content_type = "text/plain; charset=utf-8";
  r.max = h->cfg.max_reply_bytes;
  int rv = rt->fn(rt->arg, path, query, &r);
  if (rv < 0 || r.overflow || r.status < 100 || r.status > 599) {
    WT_LOG_WARN("handler for %s failed: %s%s", path, wt_err_str(rv),
                r.overflow ? " (reply too large)" : "");
    free(r.body);
    count(&h->handler_errors);
    return send_error(h, c, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal error\n");
  }
  struct MHD_Response *resp;
  if (r.len) {
    resp = MHD_create_response_from_buffer(r.len, r.body, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
      free(r.body);
    }
  } else {
    free(r.body);
    resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
  }
  if (resp) {
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, r.content_type);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    if (r.any_origin) {
      MHD_add_response_header(resp, MHD_HTTP_HEADER_ACCESS_CONTROL_ALLOW_ORIGIN, "*");
    }
  }
  enum MHD_Result res = send_resp(h, c, (unsigned)r.status, resp);
  if (resp) {
    MHD_destroy_response(resp);
  }
  return res;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **req_cls) {
  wt_http *h = cls;
  if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD)) {
    count(&h->bad_method);
    return send_error(h, c, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed\n");
  }
  const req *rq = *req_cls;
  const char *query = rq ? rq->query : "";
  route rt = {0};
  int found = 0;
  pthread_mutex_lock(&h->lock);
  for (uint32_t i = 0; i < h->n_routes; i++) {
    if (!strcmp(h->routes[i].path, url)) {
      rt = h->routes[i];
      found = 1;
      break;
    }
  }
  pthread_mutex_unlock(&h->lock);
  if (!found) {
    count(&h->not_found);
    return send_error(h, c, MHD_HTTP_NOT_FOUND, "not found\n");
  }
  if (rt.resp) {
    return send_resp(h, c, MHD_HTTP_OK, rt.resp); /* routes are never removed while running */
  }
  return send_dynamic(h, c, &rt, url, query);
}

/* Called with the raw URI before parsing: keep its query string. */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *c) {
  const char *q = strchr(uri, '?');
  const char *s = q ? q + 1 : "";
  size_t n = strlen(s);
  req *rq = malloc(sizeof(req) + n);
  if (rq) {
    memcpy(rq->query, s, n + 1);
  }
  return rq; /* NULL: the handler sees "" */
}

static void on_completed(void *cls, struct MHD_Connection *c, void **req_cls,
                         enum MHD_RequestTerminationCode toe) {
  free(*req_cls);
  *req_cls = NULL;
}

/* ------------------------------------------------------------------ per-address limit */

/* The key of a source address (IPv4, IPv6 /64); -1 for another family. */
static int ip_key(const struct sockaddr *sa, uint8_t key[IP_KEY_LEN]) {
  memset(key, 0, IP_KEY_LEN);
  if (!sa) {
    return -1;
  }
  if (sa->sa_family == AF_INET) {
    key[0] = 4;
    memcpy(key + 1, &((const struct sockaddr_in *)sa)->sin_addr, 4);
    return 0;
  }
  if (sa->sa_family == AF_INET6) {
    key[0] = 6;
    memcpy(key + 1, &((const struct sockaddr_in6 *)sa)->sin6_addr, 8); /* the /64 */
    return 0;
  }
  return -1;
}

/* The key as text for a log line ("192.0.2.1", "2001:db8::/64"). */
static void ip_key_str(const uint8_t key[IP_KEY_LEN], char *buf, size_t cap) {
  if (key[0] == 4) {
    inet_ntop(AF_INET, key + 1, buf, (socklen_t)cap);
    return;
  }
  uint8_t a6[16] = {0};
  memcpy(a6, key + 1, 8);
  char t[INET6_ADDRSTRLEN] = "?";
  inet_ntop(AF_INET6, a6, t, sizeof(t));
  snprintf(buf, cap, "%s/64", t);
}

/* The slot of key, or NULL (with *free_slot the first free one, if any).
 * Under ip_lock. */
static ip_slot *ip_find(wt_http *h, const uint8_t key[IP_KEY_LEN], ip_slot **free_slot) {
  ip_slot *spare = NULL;
  for (uint32_t i = 0; i < h->cfg.max_conns; i++) {
    ip_slot *s = &h->ips[i];
    if (s->n && !memcmp(s->key, key, IP_KEY_LEN)) {
      return s;
    }
    if (!s->n && !spare) {
      spare = s;
    }
  }
  if (free_slot) {
    *free_slot = spare;
  }
  return NULL;
}

/* libmicrohttpd's accept policy: admit a new connection only within the
 * listener's limit and its address's share; a refused one is closed at
 * once (libmicrohttpd closes it), logged and counted. */
static enum MHD_Result on_accept(void *cls, const struct sockaddr *addr, socklen_t addrlen) {
  wt_http *h = cls;
  uint8_t key[IP_KEY_LEN];
  if (addrlen < sizeof(struct sockaddr_in) || ip_key(addr, key) < 0) {
    return MHD_YES; /* not an IP peer: libmicrohttpd's own limit applies */
  }
  pthread_mutex_lock(&h->ip_lock);
  int full = h->live >= h->cfg.max_conns;
  const ip_slot *s = ip_find(h, key, NULL);
  uint32_t mine = s ? s->n : 0;
  pthread_mutex_unlock(&h->ip_lock);
  if (!full && mine < h->cfg.max_conns_per_ip) {
    return MHD_YES;
  }
  char who[64];
  ip_key_str(key, who, sizeof(who));
  if (full) {
    count(&h->refused_limit);
    WT_LOG_WARN_RL(1, "%s: connection from %s refused: %u connections open (the limit)",
                   h->cfg.thread_name ? h->cfg.thread_name : "http", who, h->cfg.max_conns);
  } else {
    count(&h->refused_per_ip);
    WT_LOG_WARN_RL(1, "%s: connection from %s refused: it has %u open (the per-address limit)",
                   h->cfg.thread_name ? h->cfg.thread_name : "http", who, mine);
  }
  return MHD_NO;
}

/* Connection start and end: the per-address shares. */
static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe) {
  wt_http *h = cls;
  if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    uint8_t key[IP_KEY_LEN];
    *socket_context = NULL;
    if (!ci || ip_key(ci->client_addr, key) < 0) {
      return;
    }
    pthread_mutex_lock(&h->ip_lock);
    ip_slot *spare = NULL;
    ip_slot *s = ip_find(h, key, &spare);
    if (!s && spare) {
      s = spare;
      memcpy(s->key, key, IP_KEY_LEN);
    }
    if (s) {
      s->n++;
      h->live++;
      *socket_context = s;
    }
    pthread_mutex_unlock(&h->ip_lock);
  } else if (toe == MHD_CONNECTION_NOTIFY_CLOSED && *socket_context) {
    ip_slot *s = *socket_context;
    pthread_mutex_lock(&h->ip_lock);
    s->n--;
    h->live--;
    pthread_mutex_unlock(&h->ip_lock);
    *socket_context = NULL;
  }
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap) {
  char msg[512];
  vsnprintf(msg, sizeof(msg), fmt, ap);
  size_t n = strlen(msg);
  while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r')) {
    msg[--n] = '\0';
  }
  WT_LOG_WARN("libmicrohttpd: %s", msg);
}

/* ------------------------------------------------------------------ set-up */

static int set_why(char *why, size_t cap, int rv, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int set_why(char *why, size_t cap, int rv, const char *fmt, ...) {
  if (why && cap) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, cap, fmt, ap);
    va_end(ap);
  }
  return rv;
}

/* A bound, listening TCP socket for a; -1 with why filled. */
static int listen_socket(const wt_io_addr *a, const char *text, char *why, size_t cap) {
  int fd = socket(a->ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    set_why(why, cap, 0, "http: socket: %s", strerror(errno));
    return -1;
  }
  int one = 1;
  (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (a->ss.ss_family == AF_INET6) {
    (void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
  }
  if (bind(fd, (const struct sockaddr *)&a->ss, a->len) < 0) {
    set_why(why, cap, 0, "http: cannot bind %s: %s", text, strerror(errno));
    close(fd);
    return -1;
  }
  if (listen(fd, WT_HTTP_BACKLOG) < 0) {
    set_why(why, cap, 0, "http: listen on %s: %s", text, strerror(errno));
    close(fd);
    return -1;
  }
  return fd;
}

static uint16_t bound_port(int fd) {
  struct sockaddr_storage ss;
  socklen_t len = sizeof(ss);
  if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0) {
    return 0;
  }
  if (ss.ss_family == AF_INET) {
    return ntohs(((struct sockaddr_in *)&ss)->sin_port);
  }
  return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
}

/* ------------------------------------------------------------------ the thread's name */

#define HTTP_TASKS_MAX    256 /* threads of the process remembered at start */
#define HTTP_NAME_WAIT_MS 200

/* The thread ids of this process (at most max); returns how many. */
static size_t http_tasks(long *ids, size_t max) {
  size_t n = 0;
  DIR *d = opendir("/proc/self/task");
  if (!d) {
    return 0;
  }
  struct dirent *e;
  while ((e = readdir(d)) != NULL && n < max) {
    if (e->d_name[0] != '.') {
      ids[n++] = strtol(e->d_name, NULL, 10);
    }
  }
  closedir(d);
  return n;
}

/* libmicrohttpd names its listener thread itself ("MHD-single"), from the
 * new thread: wait (bounded) for a thread that was not among before[] to
 * take such a name and give it ours (the kernel lets a process rename its
 * own threads through /proc). Without a rename (a libmicrohttpd that names
 * nothing) the thread keeps the name it inherited: ours, set around
 * MHD_start_daemon. */
static void http_name_thread(const char *name, const long *before, size_t n_before) {
  for (int waited = 0; waited < HTTP_NAME_WAIT_MS; waited++) {
    long now[HTTP_TASKS_MAX];
    size_t n = http_tasks(now, HTTP_TASKS_MAX);
    for (size_t i = 0; i < n; i++) {
      size_t k = 0;
      while (k < n_before && before[k] != now[i]) {
        k++;
      }
      char path[64], comm[32] = "";
      snprintf(path, sizeof(path), "/proc/self/task/%ld/comm", now[i]);
      FILE *f = k == n_before ? fopen(path, "r+") : NULL;
      if (!f) {
        continue;
      }
      int mhd = fgets(comm, sizeof(comm), f) && strncmp(comm, "MHD", 3) == 0;
      if (mhd) {
        rewind(f);
        fputs(name, f);
      }
      fclose(f);
      if (mhd) {
        return;
      }
    }
    struct timespec ms = {0, 1000000};
    nanosleep(&ms, NULL);
  }
}

int wt_http_new(wt_http **out, const wt_http_config *cfg, char *why, size_t cap) {
  if (why && cap) {
    why[0] = '\0';
  }
  if (!out || !cfg) {
    return set_why(why, cap, WT_ERR_INVAL, "http: no configuration");
  }
  *out = NULL;
  wt_io_addr a;
  if (!cfg->listen || wt_io_addr_parse(cfg->listen, &a) < 0) {
    return set_why(why, cap, WT_ERR_INVAL, "http: '%s' is not ADDR:PORT",
                   cfg->listen ? cfg->listen : "(null)");
  }
  if (!cfg->max_conns || !cfg->max_conns_per_ip || !cfg->timeout_s || !cfg->max_routes ||
      !cfg->max_reply_bytes) {
    return set_why(why, cap, WT_ERR_INVAL, "http: a limit of the configuration is 0");
  }
  wt_http *h = calloc(1, sizeof(*h));
  if (!h || !(h->routes = calloc(cfg->max_routes, sizeof(route))) ||
      !(h->ips = calloc(cfg->max_conns, sizeof(ip_slot)))) {
    if (h) {
      free(h->routes);
    }
    free(h);
    return set_why(why, cap, WT_ERR_NOMEM, "http: out of memory");
  }
  h->cfg = *cfg;
  h->cfg.listen = NULL; /* not kept: the caller's string */
  if (h->cfg.max_conns_per_ip > h->cfg.max_conns) {
    h->cfg.max_conns_per_ip = h->cfg.max_conns;
  }
  pthread_mutex_init(&h->lock, NULL);
  pthread_mutex_init(&h->ip_lock, NULL);
  int fd = listen_socket(&a, cfg->listen, why, cap);
  if (fd < 0) {
    wt_http_del(h);
    return WT_ERR_IO;
  }
  h->port = bound_port(fd);

  unsigned flags = MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG;
  if (a.ss.ss_family == AF_INET6) {
    flags |= MHD_USE_IPv6;
  }
  /* The listener's thread inherits this mask: it must never take a process
   * signal meant for the runtime's signalfd. It inherits our name too
   * (libmicrohttpd does not name its thread): ours is borrowed meanwhile. */
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &old);
  long before[HTTP_TASKS_MAX];
  size_t n_before = cfg->thread_name ? http_tasks(before, HTTP_TASKS_MAX) : 0;
  char old_name[16] = "";
  int renamed = cfg->thread_name &&
                pthread_getname_np(pthread_self(), old_name, sizeof(old_name)) == 0 &&
                pthread_setname_np(pthread_self(), cfg->thread_name) == 0;
  /* on_accept enforces max_conns (and the per-address share) and counts
   * what it refuses; libmicrohttpd's own limit, one above, stays as a
   * backstop that would otherwise refuse first, uncounted. */
  h->d = MHD_start_daemon(flags, 0, on_accept, h, on_request, h,
                          /* first, so every message goes through wt_log */
                          MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, (void *)h,
                          MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd, MHD_OPTION_CONNECTION_LIMIT,
                          (unsigned)cfg->max_conns + 1, MHD_OPTION_CONNECTION_TIMEOUT,
                          (unsigned)cfg->timeout_s, MHD_OPTION_URI_LOG_CALLBACK, on_uri, (void *)h,
                          MHD_OPTION_NOTIFY_COMPLETED, on_completed, (void *)h,
                          MHD_OPTION_NOTIFY_CONNECTION, on_connection, (void *)h, MHD_OPTION_END);
  if (renamed) {
    pthread_setname_np(pthread_self(), old_name);
  }
  if (h->d && cfg->thread_name && n_before < HTTP_TASKS_MAX) {
    http_name_thread(cfg->thread_name, before, n_before);
  }
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (!h->d) {
    if (fcntl(fd, F_GETFD) >= 0) {
      close(fd);
    }
    wt_http_del(h);
    return set_why(why, cap, WT_ERR_IO, "http: libmicrohttpd could not start on %s", cfg->listen);
  }
  WT_LOG_DEBUG("listening on port %u", (unsigned)h->port);
  *out = h;
  return 0;
}

/* ------------------------------------------------------------------ routes */

static int add_route(wt_http *h, const char *path, const route *proto) {
  if (!h || !path || path[0] != '/' || strlen(path) >= WT_HTTP_PATH_MAX) {
    return WT_ERR_INVAL;
  }
  char *copy = strdup(path);
  if (!copy) {
    return WT_ERR_NOMEM;
  }
  int rv = 0;
  pthread_mutex_lock(&h->lock);
  for (uint32_t i = 0; i < h->n_routes; i++) {
    if (!strcmp(h->routes[i].path, path)) {
      rv = WT_ERR_STATE;
    }
  }
  if (rv == 0 && h->n_routes == h->cfg.max_routes) {
    rv = WT_ERR_LIMIT;
  }
  if (rv == 0) {
    h->routes[h->n_routes] = *proto;
    h->routes[h->n_routes].path = copy;
    h->n_routes++;
  }
  pthread_mutex_unlock(&h->lock);
  if (rv < 0) {
    free(copy);
  }
  return rv;
}

int wt_http_static(wt_http *h, const char *path, const char *content_type, const void *data,
                   size_t len) {
  if (!h || !content_type || (!data && len)) {
    return WT_ERR_INVAL;
  }
  route r = {0};
  r.resp = MHD_create_response_from_buffer(len, (void *)(data ? data : ""), MHD_RESPMEM_PERSISTENT);
  if (!r.resp) {
    return WT_ERR_NOMEM;
  }
  MHD_add_response_header(r.resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
  MHD_add_response_header(r.resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
  MHD_add_response_header(r.resp, "X-Content-Type-Options", "nosniff");
  int rv = add_route(h, path, &r);
  if (rv < 0) {
    MHD_destroy_response(r.resp);
  }
  return rv;
}

int wt_http_route(wt_http *h, const char *path, wt_http_handler_fn fn, void *arg) {
  if (!fn) {
    return WT_ERR_INVAL;
  }
  route r = {0};
  r.fn = fn;
  r.arg = arg;
  return add_route(h, path, &r);
}

uint16_t wt_http_port(const wt_http *h) {
  return h ? h->port : 0;
}

void wt_http_counters_get(const wt_http *h, wt_http_counters *out) {
  memset(out, 0, sizeof(*out));
  if (!h) {
    return;
  }
  out->requests = atomic_load_explicit(&h->requests, memory_order_relaxed);
  out->errors = atomic_load_explicit(&h->errors, memory_order_relaxed);
  out->not_found = atomic_load_explicit(&h->not_found, memory_order_relaxed);
  out->bad_method = atomic_load_explicit(&h->bad_method, memory_order_relaxed);
  out->handler_errors = atomic_load_explicit(&h->handler_errors, memory_order_relaxed);
  out->refused_per_ip = atomic_load_explicit(&h->refused_per_ip, memory_order_relaxed);
  out->refused_limit = atomic_load_explicit(&h->refused_limit, memory_order_relaxed);
}

void wt_http_del(wt_http *h) {
  if (!h) {
    return;
  }
  if (h->d) {
    MHD_stop_daemon(h->d); /* joins the thread, closes the listening socket */
  }
  for (uint32_t i = 0; i < h->n_routes; i++) {
    if (h->routes[i].resp) {
      MHD_destroy_response(h->routes[i].resp);
    }
    free(h->routes[i].path);
  }
  free(h->routes);
  free(h->ips);
  pthread_mutex_destroy(&h->lock);
  pthread_mutex_destroy(&h->ip_lock);
  free(h);
}
