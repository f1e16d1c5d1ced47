/* SPDX-License-Identifier: Apache-2.0
 * The daemon's membership glue: key and address parsing (rejects leave
 * nothing behind), two nodes on loopback joining through a seed that
 * starts later, peer coordinates after probes, tag updates, a rotated key
 * still accepted, and a graceful leave seen as "left". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/base.h"
#include "gossip/gossip.h"
#include "tests/lib/testlib.h"

static const char *K1 = "0101010101010101010101010101010101010101010101010101010101010101";
static const char *K2 = "0202020202020202020202020202020202020202020202020202020202020202";

static void test_keys_parse(void **state) {
  (void)state;
  uint8_t keys[DC_GOSSIP_KEYS_MAX][DC_GOSSIP_KEY_BYTES];
  size_t n = 99;
  struct dc_errmsg err = {{0}};
  char two[200];
  snprintf(two, sizeof two, "%s, %s", K2, K1);
  assert_int_equal(dc_gossip_keys_parse(two, NULL, keys, &n, &err), DC_OK);
  assert_int_equal(n, 2);
  assert_int_equal(keys[0][0], 2); /* the first is the primary */
  assert_int_equal(keys[1][31], 1);
  char path[] = "/tmp/dc-test-gossip-keysXXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  char text[300];
  int tl = snprintf(text, sizeof text, "# cluster keys\n%s\n\n%s\n", K1, K2);
  assert_int_equal(write(fd, text, (size_t)tl), tl);
  close(fd);
  assert_int_equal(dc_gossip_keys_parse(NULL, path, keys, &n, &err), DC_OK);
  assert_int_equal(n, 2);
  assert_int_equal(keys[0][0], 1);
  /* The same key from the flag and the file is refused. */
  assert_int_equal(dc_gossip_keys_parse(K1, path, keys, &n, &err), DC_EINVAL);
  unlink(path);
  assert_int_equal(dc_gossip_keys_parse(NULL, path, keys, &n, &err), DC_ENOTFOUND);
  assert_int_equal(dc_gossip_keys_parse("abcd", NULL, keys, &n, &err), DC_EINVAL);
  assert_non_null(strstr(err.text, "64 hex"));
  char bad[80];
  snprintf(bad, sizeof bad, "%.63sz", K1);
  assert_int_equal(dc_gossip_keys_parse(bad, NULL, keys, &n, &err), DC_EINVAL);
  assert_int_equal(dc_gossip_keys_parse("", NULL, keys, &n, &err), DC_EINVAL);
  assert_int_equal(n, 0);
}

static void test_addrs_parse(void **state) {
  (void)state;
  struct dc_gossip_addr a[4];
  size_t n = 0;
  assert_int_equal(dc_gossip_addrs_parse("127.0.0.1:7946,[::1]:7947", a, 4, &n), DC_OK);
  assert_int_equal(n, 2);
  assert_int_equal(a[0].family, 4);
  assert_int_equal(a[0].port, 7946);
  assert_int_equal(a[1].family, 6);
  assert_int_equal(a[1].port, 7947);
  const char *bad[] = {"127.0.0.1", "127.0.0.1:0", "127.0.0.1:65536", "localhost:1",
                       ":80", "127.0.0.1:8x", "1.2.3.4:1,,", NULL};
  for (int i = 0; bad[i]; i++)
    assert_int_equal(dc_gossip_addrs_parse(bad[i], a, 4, &n), DC_EINVAL);
  assert_int_equal(dc_gossip_addrs_parse("1.1.1.1:1,1.1.1.1:2", a, 1, &n), DC_EINVAL);
  uint8_t pk[32] = {0};
  assert_int_equal(dc_gossip_node_id(pk), 1);
  pk[0] = 0xab;
  pk[7] = 0x01;
  assert_int_equal(dc_gossip_node_id(pk), 0xab00000000000001ull);
}

struct seen_ev {
  int left, dead, updates;
};

static void on_event(void *data, uint32_t group, const struct dc_gossip_event *ev) {
  struct seen_ev *s = data;
  assert_int_equal(group, DC_GOSSIP_DAEMON_GROUP);
  if (ev->type == DC_GOSSIP_EV_DEAD) {
    if (ev->left) s->left++;
    else s->dead++;
  }
  if (ev->type == DC_GOSSIP_EV_UPDATE) s->updates++;
}

static uv_loop_t loop;
static bool stopped_a;
static void on_stopped(void *d) { *(bool *)d = true; }

static void run_until(bool (*cond)(void *), void *arg, int64_t ms) {
  uint64_t end = uv_now(&loop) + (uint64_t)ms;
  while (!cond(arg) && uv_now(&loop) < end) {
    uv_run(&loop, UV_RUN_ONCE);
    uv_update_time(&loop);
  }
}

static bool both_know(void *arg) {
  struct dc_gossip_node **n = arg;
  return n[0] && dc_gossip_alive_count(dc_gossip_node_core(n[0])) == 2 &&
         dc_gossip_alive_count(dc_gossip_node_core(n[1])) == 2;
}

static bool have_coord(void *arg) {
  struct dc_gossip_node **n = arg;
  return dc_gossip_peer_coord(dc_gossip_node_core(n[1]), 10, NULL, NULL) == DC_OK;
}

static bool tags_seen(void *arg) {
  struct dc_gossip_node **n = arg;
  struct dc_gossip_member_info mi;
  return dc_gossip_member_get(dc_gossip_node_core(n[1]), 10, &mi) == DC_OK &&
         mi.tags_len == 3 && !memcmp(mi.tags, "new", 3);
}

static bool left_seen(void *arg) { return ((struct seen_ev *)arg)->left > 0; }

static uint16_t free_udp_port(void) {
  static uint16_t next = 0;
  if (!next) next = (uint16_t)(30000 + (getpid() % 20000));
  return next++;
}

static void test_two_nodes(void **state) {
  (void)state;
  uv_loop_init(&loop);
  struct seen_ev ea = {0}, eb = {0};
  struct dc_gossip_node *n[2] = {NULL, NULL};
  char addr_a[32], addr_b[32];
  struct dc_errmsg err = {{0}};
  int rc = DC_EEXISTS;
  /* b starts first and joins a, which is not there yet: the node keeps
   * trying its seeds while it knows no one. */
  for (int t = 0; rc && t < 50; t++) {
    snprintf(addr_a, sizeof addr_a, "127.0.0.1:%u", free_udp_port());
    snprintf(addr_b, sizeof addr_b, "127.0.0.1:%u", free_udp_port());
    struct dc_gossip_node_opts ob = {.addr = addr_b, .join = addr_a, .keys = K1,
                                     .self_id = 20, .tags = (const uint8_t *)"b",
                                     .tags_len = 1};
    rc = dc_gossip_node_start(&loop, &ob, on_event, &eb, &n[1], &err);
  }
  assert_int_equal(rc, DC_OK);
  /* a is mid-rotation: the new key installed but not yet primary, so b,
   * which only has the old key, still opens what a sends. */
  char keys[200];
  snprintf(keys, sizeof keys, "%s,%s", K1, K2);
  struct dc_gossip_node_opts oa = {.addr = addr_a, .keys = keys, .self_id = 10,
                                   .tags = (const uint8_t *)"a", .tags_len = 1};
  uv_update_time(&loop);
  run_until(both_know, n, 300); /* nothing to know yet */
  assert_int_equal(dc_gossip_node_start(&loop, &oa, on_event, &ea, &n[0], &err), DC_OK);
  run_until(both_know, n, 8000);
  assert_true(both_know(n));
  run_until(have_coord, n, 8000);
  struct dc_vivaldi c;
  double rtt = -1;
  assert_int_equal(dc_gossip_peer_coord(dc_gossip_node_core(n[1]), 10, &c, &rtt), DC_OK);
  assert_true(rtt >= 0 && rtt < 1.0);
  assert_int_equal(dc_gossip_peer_coord(dc_gossip_node_core(n[1]), 99, &c, &rtt),
                   DC_ENOTFOUND);
  assert_int_equal(dc_gossip_node_set_tags(n[0], (const uint8_t *)"new", 3), DC_OK);
  run_until(tags_seen, n, 8000);
  assert_true(tags_seen(n));
  struct dc_gossip_udp_stats st;
  dc_gossip_node_stats(n[0], &st);
  assert_true(st.sent_packets > 0 && st.sent_bytes > 0);
  dc_gossip_node_stop(n[0], on_stopped, &stopped_a);
  run_until(left_seen, &eb, 5000);
  assert_int_equal(eb.left, 1);
  assert_int_equal(eb.dead, 0);
  assert_true(stopped_a);
  bool stopped_b = false;
  dc_gossip_node_stop(n[1], on_stopped, &stopped_b);
  uv_run(&loop, UV_RUN_DEFAULT);
  assert_true(stopped_b);
  assert_int_equal(uv_loop_close(&loop), 0);
}

static void test_start_rejects(void **state) {
  (void)state;
  uv_loop_init(&loop);
  struct dc_gossip_node *n = NULL;
  struct dc_errmsg err = {{0}};
  struct dc_gossip_node_opts o = {.addr = "127.0.0.1:0x", .keys = K1, .self_id = 1};
  assert_int_equal(dc_gossip_node_start(&loop, &o, NULL, NULL, &n, &err), DC_EINVAL);
  assert_null(n);
  o.addr = "127.0.0.1:1";
  o.keys = NULL;
  assert_int_equal(dc_gossip_node_start(&loop, &o, NULL, NULL, &n, &err), DC_EINVAL);
  o.keys = K1;
  o.join = "nohost";
  assert_int_equal(dc_gossip_node_start(&loop, &o, NULL, NULL, &n, &err), DC_EINVAL);
  assert_null(n);
  uv_run(&loop, UV_RUN_DEFAULT);
  assert_int_equal(uv_loop_close(&loop), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_keys_parse),
      cmocka_unit_test(test_addrs_parse),
      cmocka_unit_test(test_start_rejects),
      cmocka_unit_test(test_two_nodes),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
