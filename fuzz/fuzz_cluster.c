/* fuzz_cluster.c: the registry client's parsers (ops/wt_cluster.h): change
 * notices, channel and node record values, the --cluster URL, and the map
 * under a sequence of notices.
 *
 * Input: byte 0 picks the mode, the rest is the text (an exact-size heap
 * copy, so ASan sees any read past it):
 *  - 'u': a URL (NUL-terminated copy);
 *  - 'c' / 'n': a channel / node record value;
 *  - 'm': lines of notices applied to a map, as the cluster thread does;
 *  - anything else: one notice.
 * Oracles: nothing reads or writes outside its buffers; a parsed notice
 * formats back to exactly the input (the grammar is canonical: single
 * spaces, no other spelling of a number but for leading zeros, which the
 * check allows for) and parses again to the same fields; parsed fields are
 * tokens within their bounds; the map never holds more than its limit and
 * every entry it holds is found by its key. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "wt_cluster.h"
#include "wt_error.h"

static void check_token(const char *s, size_t max) {
  FUZZ_CHECK(wt_cluster_token_ok(s, strlen(s), max));
}

static void one_notice(const char *s, size_t n) {
  wt_cluster_notice a, b;
  if (wt_cluster_notice_parse(s, n, &a) != 0) {
    return;
  }
  check_token(a.node, WT_CLUSTER_ID_MAX);
  FUZZ_CHECK(wt_cluster_id_ok(a.node));
  if (a.type == WT_CLUSTER_N_ADD || a.type == WT_CLUSTER_N_HB) {
    check_token(a.addr, WT_CLUSTER_ADDR_MAX);
    FUZZ_CHECK(a.ttl_ms >= WT_CLUSTER_TTL_MIN_MS && a.ttl_ms <= WT_CLUSTER_TTL_MAX_MS);
  }
  if (a.type == WT_CLUSTER_N_ADD || a.type == WT_CLUSTER_N_DEL) {
    check_token(a.key, WT_CLUSTER_KEY_MAX);
    FUZZ_CHECK(strchr(a.key, '/') != NULL);
  }
  char buf[WT_CLUSTER_NOTICE_MAX + 1];
  int len = wt_cluster_notice_format(&a, buf, sizeof(buf));
  FUZZ_CHECK(len > 0 && (size_t)len <= n); /* only leading zeros of a TTL can shrink */
  FUZZ_CHECK(wt_cluster_notice_parse(buf, (size_t)len, &b) == 0);
  FUZZ_CHECK(a.type == b.type && a.ttl_ms == b.ttl_ms && !strcmp(a.node, b.node) &&
             !strcmp(a.addr, b.addr) && !strcmp(a.key, b.key) && !strcmp(a.info, b.info));
}

static void map_run(const char *s, size_t n) {
  wt_cluster_map chans, nodes;
  wt_cluster_map_init(&chans, 8);
  wt_cluster_map_init(&nodes, 4);
  uint64_t now = 0;
  for (size_t i = 0; i < n;) {
    size_t j = i;
    while (j < n && s[j] != '\n') {
      j++;
    }
    wt_cluster_notice x;
    now += 500;
    if (wt_cluster_notice_parse(s + i, j - i, &x) == 0) {
      switch (x.type) {
      case WT_CLUSTER_N_ADD:
        wt_cluster_map_put(&chans, x.key, x.node, x.addr, NULL, now + x.ttl_ms);
        FUZZ_CHECK(wt_cluster_map_count(&chans) < 8 || wt_cluster_map_count(&chans) == 8);
        break;
      case WT_CLUSTER_N_DEL:
        wt_cluster_map_del(&chans, x.key, x.node);
        break;
      case WT_CLUSTER_N_HB:
        wt_cluster_map_put(&nodes, x.node, x.node, x.addr, x.info, now + x.ttl_ms);
        break;
      default:
        wt_cluster_map_drop_node(&chans, x.node);
        wt_cluster_map_del(&nodes, x.node, NULL);
        break;
      }
    }
    wt_cluster_map_expire(&chans, &nodes, now);
    FUZZ_CHECK(wt_cluster_map_count(&chans) <= 8 && wt_cluster_map_count(&nodes) <= 4);
    WT_HMAP_FOREACH(&chans.h, e) {
      const wt_cluster_entry *ent = e->val;
      FUZZ_CHECK(wt_cluster_map_get(&chans, ent->key) == ent);
      FUZZ_CHECK(wt_cluster_entry_live(ent, &nodes, now));
    }
    i = j + 1;
  }
  wt_cluster_map_free(&chans);
  wt_cluster_map_free(&nodes);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1 || size > 4096) {
    return 0;
  }
  size_t n = size - 1;
  char *s = malloc(n + 1);
  if (!s) {
    return 0;
  }
  memcpy(s, data + 1, n);
  char node[WT_CLUSTER_ID_MAX + 1], addr[WT_CLUSTER_ADDR_MAX + 1], info[WT_CLUSTER_INFO_MAX + 1];
  switch (data[0]) {
  case 'u': {
    s[n] = '\0';
    wt_cluster_url u;
    char err[512];
    if (wt_cluster_url_parse(s, &u, err, sizeof(err)) == 0) {
      FUZZ_CHECK(u.host[0] && u.port > 0 && u.db <= 65535);
      FUZZ_CHECK(u.has_pass == (u.pass[0] != '\0'));
      FUZZ_CHECK(strlen(u.user) <= WT_CLUSTER_USER_MAX && strlen(u.pass) <= WT_CLUSTER_PASS_MAX);
      for (const char *q = u.pass; *q; q++) {
        FUZZ_CHECK((unsigned char)*q > 0x20 && *q != 0x7f); /* decoded: no controls or spaces */
      }
    }
    break;
  }
  case 'c':
    if (wt_cluster_chan_value_parse(s, n, node, addr) == 0) {
      FUZZ_CHECK(wt_cluster_id_ok(node));
      check_token(addr, WT_CLUSTER_ADDR_MAX);
    }
    break;
  case 'n':
    if (wt_cluster_node_value_parse(s, n, addr, info) == 0) {
      check_token(addr, WT_CLUSTER_ADDR_MAX);
      check_token(info, WT_CLUSTER_INFO_MAX);
    }
    break;
  case 'm':
    map_run(s, n);
    break;
  default:
    one_notice(s, n);
    break;
  }
  free(s);
  return 0;
}
