/* SPDX-License-Identifier: Apache-2.0
 * memberlist's TCP fallback ping in the core: a member whose datagrams are
 * lost but whose stream path works is never suspected; a member silent on
 * both is; a member may turn the fallback off; the stream ping and its ack
 * are answered and refused exactly. */
#include <string.h>

#include "base/base.h"
#include "gossip/gossip_int.h"
#include "tests/lib/testlib.h"
#include "tests/unit/gossip/fixture.h"

void gossip_tcpping_tests(const struct CMUnitTest **t, size_t *n);

static struct fx fx;

static void stats(uint32_t i, struct dc_gossip_stats *s) { dc_gossip_get_stats(fx.n[i].g, s); }

/* Sums of the first n members' counters. */
static struct dc_gossip_stats sum(uint32_t n) {
  struct dc_gossip_stats t = {0}, s;
  for (uint32_t i = 0; i < n; i++) {
    stats(i, &s);
    t.tcp_pings += s.tcp_pings;
    t.tcp_ping_saves += s.tcp_ping_saves;
    t.suspicions += s.suspicions;
    t.declared_dead += s.declared_dead;
  }
  return t;
}

/* UDP to and from member 3 is lost; TCP works. Nobody suspects anybody,
 * and the reprieves are counted on both sides of the broken path. */
static void udp_blocked_never_suspected(bool lifeguard) {
  fx_init_tcp(&fx, 4, lifeguard, true);
  fx.n[3].udp_blocked = true;
  fx_run(&fx, 60000);
  struct dc_gossip_stats t = sum(4);
  assert_int_equal(t.suspicions, 0);
  assert_int_equal(t.declared_dead, 0);
  for (uint32_t i = 0; i < 4; i++) {
    assert_int_equal(fx.n[i].nevents[DC_GOSSIP_EV_SUSPECT], 0);
    assert_int_equal(fx.n[i].nevents[DC_GOSSIP_EV_DEAD], 0);
    for (uint32_t j = 0; j < 4; j++) assert_int_equal(fx_state(&fx, i, j), DC_GOSSIP_ALIVE);
  }
  uint64_t pings = t.tcp_pings, saves = t.tcp_ping_saves;
  struct dc_gossip_stats s3;
  stats(3, &s3);
  /* Member 3 probes about 60 times and every probe falls back; each ping
   * but the one of a probe still running at the end spared a suspicion. */
  assert_true(s3.tcp_ping_saves >= 50);
  assert_true(s3.tcp_pings - s3.tcp_ping_saves <= 1);
  assert_true(saves >= 70 && pings - saves <= 4);
  /* The reprieve does not count as a failure against our own health. */
  if (lifeguard) assert_int_equal(dc_gossip_awareness(fx.n[3].g), 0);
  fx_close(&fx);
}

static void test_tcp_ping_spares_lifeguard(void **st) {
  (void)st;
  udp_blocked_never_suspected(true);
}

static void test_tcp_ping_spares_swim(void **st) {
  (void)st;
  udp_blocked_never_suspected(false);
}

/* A member silent on both paths is suspected, then declared dead, within
 * the same bound as without the fallback. */
static void test_both_paths_fail(void **st) {
  (void)st;
  fx_init_tcp(&fx, 4, false, true);
  fx.n[3].down = true;
  int64_t t0 = fx.now, dead = 0;
  for (int i = 0; i < 3000 && !dead; i++) {
    fx_run(&fx, 10);
    if (fx_state(&fx, 0, 3) == DC_GOSSIP_DEAD) dead = fx.now;
  }
  assert_true(dead > 0);
  assert_true(dead - t0 <= 3 * 1000 + 4000 + 1000);
  for (uint32_t i = 0; i < 3; i++) assert_int_equal(fx_state(&fx, i, 3), DC_GOSSIP_DEAD);
  struct dc_gossip_stats t = sum(3);
  assert_true(t.tcp_pings >= 1);
  assert_int_equal(t.tcp_ping_saves, 0);
  fx_close(&fx);
}

/* With the fallback off in its config a member sends no stream ping, so
 * a member it cannot reach over UDP is suspected and declared dead. */
static void test_tcp_ping_off(void **st) {
  (void)st;
  fx_init_tcp(&fx, 4, true, false);
  fx.n[3].udp_blocked = true;
  fx_run(&fx, 60000);
  struct dc_gossip_stats t = sum(4);
  assert_int_equal(t.tcp_pings, 0);
  assert_true(t.suspicions >= 1);
  assert_int_not_equal(fx_state(&fx, 0, 3), DC_GOSSIP_ALIVE);
  fx_close(&fx);
}

static void put(struct dc_buf *b, const struct gossip_msg *m) {
  b->len = 0;
  assert_int_equal(msg_encode(b, m), DC_OK);
}

/* The answering side: one ping for us gets one ack with its seq on the
 * same stream; a ping for another id gets none; anything but one ping,
 * one ack or one push-pull is malformed and changes nothing. */
static void test_stream_ping_answer(void **st) {
  (void)st;
  fx_init_tcp(&fx, 3, true, true);
  struct dc_gossip *g = fx.n[0].g;
  struct dc_buf b = {0};
  struct gossip_msg ping = {.type = GMSG_PING, .seq = 77, .id = 1, .from = 2};
  fx_addr(1, &ping.from_addr);
  put(&b, &ping);
  fx.replying = 1;
  assert_int_equal(dc_gossip_recv_stream(g, b.data, b.len, fx.now), DC_OK);
  assert_int_equal(fx.nq, 1);
  assert_true(fx.q[0].stream && fx.q[0].to == 1 && fx.q[0].from == 0);
  struct dc_reader r;
  struct gossip_msg ack;
  dc_reader_init(&r, fx.q[0].data, fx.q[0].len);
  assert_int_equal(msg_decode(&r, &ack), DC_OK);
  assert_int_equal(ack.type, GMSG_ACK);
  assert_int_equal(ack.seq, 77);
  assert_int_equal(dc_reader_left(&r), 0);
  fx.nq = 0;
  /* Meant for the member that held this address before: no answer. */
  ping.id = 3;
  put(&b, &ping);
  assert_int_equal(dc_gossip_recv_stream(g, b.data, b.len, fx.now), DC_OK);
  assert_int_equal(fx.nq, 0);
  /* A ping followed by anything, a nack, a suspicion: refused whole. */
  ping.id = 1;
  put(&b, &ping);
  dc_buf_put_u8(&b, 0);
  assert_int_equal(dc_gossip_recv_stream(g, b.data, b.len, fx.now), DC_EPROTO);
  struct gossip_msg nack = {.type = GMSG_NACK, .seq = 1};
  put(&b, &nack);
  assert_int_equal(dc_gossip_recv_stream(g, b.data, b.len, fx.now), DC_EPROTO);
  struct gossip_msg s = {.type = GMSG_SUSPECT, .id = 2, .incarnation = 0, .from = 3};
  put(&b, &s);
  assert_int_equal(dc_gossip_recv_stream(g, b.data, b.len, fx.now), DC_EPROTO);
  assert_int_equal(fx_state(&fx, 0, 1), DC_GOSSIP_ALIVE);
  /* A stray ack (no probe in flight) is harmless. */
  struct gossip_msg a = {.type = GMSG_ACK, .seq = 12345};
  put(&b, &a);
  assert_int_equal(dc_gossip_recv_stream(g, b.data, b.len, fx.now), DC_OK);
  assert_int_equal(fx.nq, 0);
  struct dc_gossip_stats st2;
  stats(0, &st2);
  assert_int_equal(st2.malformed, 3);
  dc_buf_free(&b);
  fx_close(&fx);
}

/* An ack over the stream after the probe ended (the next probe has begun)
 * spares nothing: the failed probe already raised its suspicion. */
static void test_late_stream_ack_ignored(void **st) {
  (void)st;
  fx_init_tcp(&fx, 3, false, true);
  fx.n[2].down = true;
  struct dc_gossip *g = fx.n[0].g;
  /* Run until member 0's own probe of member 2 has failed (streams to 2
   * are lost too): it sent its fallback ping and the probe is over. The
   * suspicion may have come first from member 1, whose round it was. */
  struct dc_gossip_stats s = {0};
  for (int i = 0; i < 2000 && (!s.tcp_pings || (g->probe.active && g->probe.indirect)); i++) {
    fx_run(&fx, 10);
    stats(0, &s);
  }
  assert_int_equal(fx_state(&fx, 0, 2), DC_GOSSIP_SUSPECT);
  assert_true(s.tcp_pings >= 1);
  /* Every seq member 0 may have used so far, acked over a stream late. */
  struct dc_buf b = {0};
  for (uint32_t seq = 1; seq <= g->seq; seq++) {
    struct gossip_msg a = {.type = GMSG_ACK, .seq = seq};
    put(&b, &a);
    assert_int_equal(dc_gossip_recv_stream(g, b.data, b.len, fx.now), DC_OK);
  }
  assert_int_equal(fx_state(&fx, 0, 2), DC_GOSSIP_SUSPECT);
  stats(0, &s);
  assert_int_equal(s.tcp_ping_saves, 0);
  dc_buf_free(&b);
  fx_close(&fx);
}

void gossip_tcpping_tests(const struct CMUnitTest **t, size_t *n) {
  static const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_tcp_ping_spares_lifeguard),
      cmocka_unit_test(test_tcp_ping_spares_swim),
      cmocka_unit_test(test_both_paths_fail),
      cmocka_unit_test(test_tcp_ping_off),
      cmocka_unit_test(test_stream_ping_answer),
      cmocka_unit_test(test_late_stream_ack_ignored),
  };
  *t = tests;
  *n = DC_ARRAY_LEN(tests);
}
