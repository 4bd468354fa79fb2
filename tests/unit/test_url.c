/* test_url: client/wt_url.h: URLs (hosts, ports, paths, errors), the base
 * path, certificate pins, option numbers and the trust options. */
#include <arpa/inet.h>
#include <netinet/in.h>

#include "check.h"
#include "wt_url.h"

static uint16_t port_of(const wt_url *u) {
  const struct sockaddr_in *v4 = (const struct sockaddr_in *)&u->peer.ss;
  return ntohs(v4->sin_port); /* sin6_port is at the same offset */
}

static void test_url_forms(void) {
  wt_url u;
  char err[200], base[64];
  CHECK_EQ(wt_url_parse(&u, "https://127.0.0.1:4433/echo?x=1#frag", err, sizeof(err)), 0);
  CHECK(strcmp(u.host, "127.0.0.1") == 0);
  CHECK(strcmp(u.authority, "127.0.0.1:4433") == 0);
  CHECK(strcmp(u.path, "/echo?x=1") == 0);
  CHECK_EQ(u.peer.ss.ss_family, AF_INET);
  CHECK_EQ(port_of(&u), 4433);
  CHECK_EQ(wt_url_base_path(&u, base, sizeof(base)), 0);
  CHECK(strcmp(base, "/echo") == 0);

  CHECK_EQ(wt_url_parse(&u, "HTTPS://localhost", err, sizeof(err)), 0);
  CHECK(strcmp(u.path, "/") == 0);
  CHECK_EQ(port_of(&u), 443);
  CHECK_EQ(wt_url_base_path(&u, base, sizeof(base)), 0);
  CHECK(strcmp(base, "") == 0);

  CHECK_EQ(wt_url_parse(&u, "https://[::1]:8443?q", err, sizeof(err)), 0);
  CHECK(strcmp(u.host, "::1") == 0);
  CHECK(strcmp(u.authority, "[::1]:8443") == 0);
  CHECK(strcmp(u.path, "/?q") == 0);
  CHECK_EQ(u.peer.ss.ss_family, AF_INET6);
  CHECK_EQ(port_of(&u), 8443);

  CHECK_EQ(wt_url_parse(&u, "https://127.0.0.1:1/a/b//", err, sizeof(err)), 0);
  CHECK_EQ(wt_url_base_path(&u, base, sizeof(base)), 0);
  CHECK(strcmp(base, "/a/b") == 0);
  CHECK(wt_url_base_path(&u, base, 3) < 0);
}

static void test_url_errors(void) {
  wt_url u;
  char err[200];
  static const char *const bad[] = {
      "http://127.0.0.1:1/",     "https://",
      "https://user@127.0.0.1/", "https://[::1/",
      "https://[::1]x/",         "https://127.0.0.1:0/",
      "https://127.0.0.1:65536", "https://127.0.0.1:x",
      "https://example.com/",    "https://127.0.0.1:-1",
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    err[0] = '\0';
    CHECK(wt_url_parse(&u, bad[i], err, sizeof(err)) < 0);
    CHECK(err[0] != '\0');
  }
  CHECK(wt_url_parse(&u, "https://example.com/", err, sizeof(err)) < 0);
  CHECK(strstr(err, "not an IP literal") != NULL);
}

static void test_pin(void) {
  uint8_t pin[32], want[32];
  const char *hex = "00112233445566778899aabbccddeeff00112233445566778899AABBCCDDEEFF";
  for (int i = 0; i < 32; i++) {
    want[i] = (uint8_t)((i % 16) * 0x11);
  }
  CHECK_EQ(wt_url_parse_pin(hex, pin), 0);
  CHECK_MEM(pin, want, 32);
  CHECK_EQ(wt_url_parse_pin("sha256:00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff:00:11:22:33:"
                            "44:55:66:77:88:99:aa:bb:cc:dd:ee:ff",
                            pin),
           0);
  CHECK_MEM(pin, want, 32);
  CHECK(wt_url_parse_pin("0011", pin) < 0);
  CHECK(wt_url_parse_pin("zz112233445566778899aabbccddeeff00112233445566778899aabbccddeeff", pin) <
        0);
  CHECK(wt_url_parse_pin("00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff00",
                         pin) < 0);
}

static void test_u64(void) {
  uint64_t v = 7;
  CHECK_EQ(wt_url_parse_u64("42", 10, 100, &v), 0);
  CHECK_EQ(v, 42);
  CHECK_EQ(wt_url_parse_u64("0x10", 0, 100, &v), 0);
  CHECK_EQ(v, 16);
  CHECK(wt_url_parse_u64("0x10", 10, 100, &v) < 0);
  CHECK(wt_url_parse_u64("101", 10, 100, &v) < 0);
  CHECK(wt_url_parse_u64("-1", 10, 100, &v) < 0);
  CHECK(wt_url_parse_u64(" 1", 10, 100, &v) < 0);
  CHECK(wt_url_parse_u64("", 10, 100, &v) < 0);
  CHECK(wt_url_parse_u64(NULL, 10, 100, &v) < 0);
  CHECK(wt_url_parse_u64("99999999999999999999999", 10, UINT64_MAX, &v) < 0);
}

static void test_trust(void) {
  wt_trust t;
  wt_engine_config ec;
  memset(&t, 0, sizeof(t));
  wt_engine_config_default(&ec, 0);
  wt_trust_apply(&t, &ec, 0);
  CHECK(ec.pin_sha256 == NULL && ec.ca_file == NULL && !ec.insecure);
  wt_trust_apply(&t, &ec, 1);
  CHECK(ec.insecure);
  CHECK(wt_trust_pin(&t, "nope") < 0);
  CHECK_EQ(wt_trust_pin(&t, "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"), 0);
  wt_trust_ca(&t, "ca.pem");
  CHECK_EQ(t.given, 3);
  wt_trust_apply(&t, &ec, 1);
  CHECK(ec.pin_sha256 == t.pin && strcmp(ec.ca_file, "ca.pem") == 0 && !ec.insecure);
  memset(&t, 0, sizeof(t));
  wt_trust_insecure(&t);
  wt_trust_apply(&t, &ec, 0);
  CHECK(ec.insecure && ec.pin_sha256 == NULL);
}

int main(void) {
  WT_RUN(test_url_forms);
  WT_RUN(test_url_errors);
  WT_RUN(test_pin);
  WT_RUN(test_u64);
  WT_RUN(test_trust);
  WT_DONE();
}
