/* SPDX-License-Identifier: Apache-2.0
 * The gossip core: each state transition, refutation, Lifeguard's
 * confirmations, nacks and health, push-pull, suspicion arithmetic, and
 * the rejection of malformed packets. */
#include <math.h>
#include <string.h>

#include "base/base.h"
#include "gossip/gossip_int.h"
#include "tests/lib/testlib.h"
#include "tests/unit/gossip/fixture.h"

void gossip_wire_tests(const struct CMUnitTest **t, size_t *n);
void gossip_tcpping_tests(const struct CMUnitTest **t, size_t *n);
void gossip_schedule_tests(const struct CMUnitTest **t, size_t *n);
void gossip_suspicion_tests(const struct CMUnitTest **t, size_t *n);
void gossip_dissemination_tests(const struct CMUnitTest **t, size_t *n);

static struct fx fx;

static void send_to(uint32_t to, const struct gossip_msg *m) { fx_recv(&fx, to, m); }

static void test_suspicion_min_ms(void **st) {
  (void)st;
  assert_int_equal(dc_gossip_suspicion_min_ms(4, 1, 1000), 4000);
  assert_int_equal(dc_gossip_suspicion_min_ms(4, 10, 1000), 4000);
  assert_int_equal(dc_gossip_suspicion_min_ms(4, 100, 1000), 8000);
  assert_int_equal(dc_gossip_suspicion_min_ms(4, 1000, 1000), 12000);
  assert_int_equal(dc_gossip_suspicion_min_ms(4, 10000, 1000), 16000);
  assert_int_equal(dc_gossip_suspicion_min_ms(5, 50, 200), (int64_t)floor(5 * log10(50.0) * 200));
}

static void test_suspicion_timeout_ms(void **st) {
  (void)st;
  /* Lifeguard: max with no confirmation, min once k arrived, log scale between. */
  assert_int_equal(dc_gossip_suspicion_timeout_ms(0, 2, 12000, 72000), 72000);
  assert_int_equal(dc_gossip_suspicion_timeout_ms(2, 2, 12000, 72000), 12000);
  assert_int_equal(dc_gossip_suspicion_timeout_ms(1, 2, 12000, 72000),
                   (int64_t)floor(72000 - log(2.0) / log(3.0) * 60000));
  assert_int_equal(dc_gossip_suspicion_timeout_ms(5, 2, 12000, 72000), 12000); /* never below min */
  assert_int_equal(dc_gossip_suspicion_timeout_ms(0, 0, 12000, 72000), 12000); /* k = 0 */
}

static void test_retransmit_limit(void **st) {
  (void)st;
  assert_int_equal(dc_gossip_retransmit_limit(4, 9), 4);
  assert_int_equal(dc_gossip_retransmit_limit(4, 10), 8);
  assert_int_equal(dc_gossip_retransmit_limit(4, 100), 12);
  assert_int_equal(dc_gossip_retransmit_limit(4, 10000), 20);
}

static uint64_t inert_rand(void *data) {
  (void)data;
  return 4; /* only construction is tested: nothing is drawn */
}
static void inert_send(void *data, const struct dc_gossip_addr *to, const uint8_t *p, size_t n) {
  (void)data, (void)to, (void)p, (void)n;
}

static void test_new_rejects_bad_config(void **st) {
  (void)st;
  struct dc_gossip_config c;
  dc_gossip_config_default(&c);
  c.self_addr.family = 4;
  struct dc_gossip_io io = {0};
  struct dc_gossip *g = (void *)1;
  assert_int_equal(dc_gossip_new(&c, &io, NULL, NULL, 0, 0, &g), DC_EINVAL); /* id 0, no io */
  assert_null(g);
  /* A valid configuration but for a confirmation count the suspicion
   * cannot hold (it remembers GOSSIP_SUSP_CONFIRM_MAX confirmers). */
  c.self_id = 1;
  io = (struct dc_gossip_io){.rand = inert_rand, .send = inert_send, .send_stream = inert_send};
  c.suspicion_confirmations = GOSSIP_SUSP_CONFIRM_MAX + 1;
  assert_int_equal(dc_gossip_new(&c, &io, NULL, NULL, 0, 0, &g), DC_EINVAL);
  assert_null(g);
  c.suspicion_confirmations = GOSSIP_SUSP_CONFIRM_MAX;
  assert_int_equal(dc_gossip_new(&c, &io, NULL, NULL, 0, 0, &g), DC_OK);
  dc_gossip_free(g);
}

static void test_probe_ack_keeps_alive(void **st) {
  (void)st;
  fx_init(&fx, 3, true);
  fx_run(&fx, 20000);
  for (uint32_t i = 0; i < 3; i++)
    for (uint32_t j = 0; j < 3; j++) assert_int_equal(fx_state(&fx, i, j), DC_GOSSIP_ALIVE);
  struct dc_gossip_stats s;
  dc_gossip_get_stats(fx.n[0].g, &s);
  assert_true(s.probes >= 15);
  assert_int_equal(s.suspicions, 0);
  assert_int_equal(dc_gossip_awareness(fx.n[0].g), 0);
  fx_close(&fx);
}

/* Plain SWIM: a silent member is suspected after a failed probe (direct
 * and indirect), and declared dead after the fixed timeout. */
static void test_crash_suspect_then_dead_swim(void **st) {
  (void)st;
  fx_init(&fx, 4, false);
  fx.n[3].down = true;
  int64_t t0 = fx.now;
  int64_t suspected = 0, dead = 0;
  for (int i = 0; i < 3000 && !dead; i++) {
    fx_run(&fx, 10);
    if (!suspected && fx_state(&fx, 0, 3) == DC_GOSSIP_SUSPECT) suspected = fx.now;
    if (fx_state(&fx, 0, 3) == DC_GOSSIP_DEAD) dead = fx.now;
  }
  assert_true(suspected > 0);
  assert_true(dead > 0);
  struct dc_gossip_stats s0, s1, s2;
  dc_gossip_get_stats(fx.n[0].g, &s0);
  dc_gossip_get_stats(fx.n[1].g, &s1);
  dc_gossip_get_stats(fx.n[2].g, &s2);
  assert_true(s0.indirect_probes + s1.indirect_probes + s2.indirect_probes >= 1);
  /* Fixed timeout: min = 4 * max(1, log10 4) s after the suspicion, give
   * or take the tick and the gossip hop. */
  assert_true(dead - suspected <= 4000 + 100);
  assert_true(dead - t0 <= 3 * 1000 + 4000 + 1000);
  for (uint32_t i = 0; i < 3; i++) assert_int_equal(fx_state(&fx, i, 3), DC_GOSSIP_DEAD);
  assert_int_equal(s0.declared_dead + s1.declared_dead + s2.declared_dead >= 1, 1);
  fx_close(&fx);
}

static void test_refute_raises_incarnation(void **st) {
  (void)st;
  fx_init(&fx, 3, true);
  struct gossip_msg m = {.type = GMSG_SUSPECT, .id = 1, .incarnation = 0, .from = 2};
  send_to(0, &m);
  assert_int_equal(dc_gossip_incarnation(fx.n[0].g), 1);
  assert_int_equal(dc_gossip_awareness(fx.n[0].g), 1); /* Lifeguard: refuting costs health */
  /* The refutation spreads: the accuser's view goes back to alive. */
  struct gossip_msg s = {.type = GMSG_SUSPECT, .id = 1, .incarnation = 0, .from = 3};
  send_to(1, &s);
  assert_int_equal(fx_state(&fx, 1, 0), DC_GOSSIP_SUSPECT);
  fx_run(&fx, 3000);
  assert_int_equal(fx_state(&fx, 1, 0), DC_GOSSIP_ALIVE);
  struct dc_gossip_member_info mi;
  assert_int_equal(dc_gossip_member_get(fx.n[1].g, 1, &mi), DC_OK);
  assert_int_equal(mi.incarnation, 1);
  /* A dead message about us is refuted too, unless it is our own leave. */
  struct gossip_msg d = {.type = GMSG_DEAD, .id = 1, .incarnation = 1, .from = 2};
  send_to(0, &d);
  assert_int_equal(dc_gossip_incarnation(fx.n[0].g), 2);
  fx_close(&fx);
}

static void test_incarnation_orders_messages(void **st) {
  (void)st;
  fx_init(&fx, 3, true);
  struct gossip_msg a = {.type = GMSG_ALIVE, .id = 2, .incarnation = 5,
                         .tags = (const uint8_t *)"x=1", .tags_len = 3};
  fx_addr(1, &a.addr);
  send_to(0, &a);
  assert_int_equal(fx.n[0].last.type, DC_GOSSIP_EV_UPDATE);
  struct dc_gossip_member_info mi;
  dc_gossip_member_get(fx.n[0].g, 2, &mi);
  assert_int_equal(mi.incarnation, 5);
  assert_memory_equal(mi.tags, "x=1", 3);
  /* Older news changes nothing. */
  struct gossip_msg s = {.type = GMSG_SUSPECT, .id = 2, .incarnation = 4, .from = 3};
  send_to(0, &s);
  assert_int_equal(fx_state(&fx, 0, 1), DC_GOSSIP_ALIVE);
  struct gossip_msg d = {.type = GMSG_DEAD, .id = 2, .incarnation = 4, .from = 3};
  send_to(0, &d);
  assert_int_equal(fx_state(&fx, 0, 1), DC_GOSSIP_ALIVE);
  /* alive → suspect at the same incarnation → dead. */
  s.incarnation = 5;
  send_to(0, &s);
  assert_int_equal(fx_state(&fx, 0, 1), DC_GOSSIP_SUSPECT);
  assert_int_equal(fx.n[0].last.type, DC_GOSSIP_EV_SUSPECT);
  /* An alive at the same incarnation does not clear a suspicion. */
  send_to(0, &a);
  assert_int_equal(fx_state(&fx, 0, 1), DC_GOSSIP_SUSPECT);
  d.incarnation = 5;
  send_to(0, &d);
  assert_int_equal(fx_state(&fx, 0, 1), DC_GOSSIP_DEAD);
  assert_int_equal(fx.n[0].last.type, DC_GOSSIP_EV_DEAD);
  assert_false(fx.n[0].last.by_self);
  /* dead → alive needs a higher incarnation: a rejoin. */
  send_to(0, &a);
  assert_int_equal(fx_state(&fx, 0, 1), DC_GOSSIP_DEAD);
  a.incarnation = 6;
  send_to(0, &a);
  assert_int_equal(fx_state(&fx, 0, 1), DC_GOSSIP_ALIVE);
  assert_int_equal(fx.n[0].last.type, DC_GOSSIP_EV_JOIN);
  /* A member's own dead message is a leave. */
  struct gossip_msg l = {.type = GMSG_DEAD, .id = 2, .incarnation = 6, .from = 2};
  send_to(0, &l);
  assert_int_equal(fx_state(&fx, 0, 1), DC_GOSSIP_LEFT);
  assert_true(fx.n[0].last.left);
  /* Unknown members: alive adds, suspect and dead are ignored. */
  struct gossip_msg u = {.type = GMSG_SUSPECT, .id = 99, .incarnation = 0, .from = 3};
  send_to(0, &u);
  assert_int_equal(dc_gossip_member_get(fx.n[0].g, 99, &mi), DC_ENOTFOUND);
  struct gossip_msg na = {.type = GMSG_ALIVE, .id = 99, .incarnation = 0};
  fx_addr(9, &na.addr);
  send_to(0, &na);
  assert_int_equal(fx.n[0].last.type, DC_GOSSIP_EV_JOIN);
  assert_int_equal(dc_gossip_count(fx.n[0].g), 4);
  fx_close(&fx);
}

/* Lifeguard: a suspicion starts at the maximum timeout, and each
 * independent accuser brings it down toward the minimum. */
static void test_lifeguard_confirmations_shorten(void **st) {
  (void)st;
  fx_init(&fx, 8, true);
  struct dc_gossip *g = fx.n[0].g;
  int64_t min = dc_gossip_suspicion_min_ms(1, 8, 1000), max = 24 * min;
  assert_int_equal(g->cfg.suspicion_mult, 1);
  assert_int_equal(g->cfg.suspicion_max_mult, 24);
  struct gossip_msg s = {.type = GMSG_SUSPECT, .id = 5, .incarnation = 0, .from = 2};
  int64_t t0 = fx.now;
  send_to(0, &s);
  assert_int_equal(g->susp[0].deadline_ms, t0 + max);
  send_to(0, &s); /* the same accuser again: no confirmation */
  assert_int_equal(g->susp[0].deadline_ms, t0 + max);
  s.from = 3;
  send_to(0, &s);
  assert_int_equal(g->susp[0].deadline_ms, t0 + dc_gossip_suspicion_timeout_ms(1, 2, min, max));
  s.from = 4;
  send_to(0, &s);
  assert_int_equal(g->susp[0].deadline_ms, t0 + min);
  fx_close(&fx);
  /* Plain SWIM: memberlist's fixed timeout, accusers change nothing. */
  fx_init(&fx, 8, false);
  g = fx.n[0].g;
  s.from = 2;
  send_to(0, &s);
  assert_int_equal(g->susp[0].deadline_ms, fx.now + dc_gossip_suspicion_min_ms(4, 8, 1000));
  fx_close(&fx);
}

/* Lifeguard: the intermediary of an indirect probe nacks when the target
 * stays silent, so the prober knows the path works and keeps its health. */
static void test_nack_keeps_health(void **st) {
  (void)st;
  fx_init(&fx, 5, true);
  fx.n[4].down = true;
  fx_run(&fx, 40000);
  assert_int_equal(fx_state(&fx, 0, 4), DC_GOSSIP_DEAD);
  /* Every healthy member's health score stays low: failures were the
   * target's and the nacks said so. */
  for (uint32_t i = 0; i < 4; i++) assert_true(dc_gossip_awareness(fx.n[i].g) <= 1);
  fx_close(&fx);
  /* An isolated prober gets no nack: its own health score rises and its
   * probe interval stretches. */
  fx_init(&fx, 5, true);
  for (uint32_t i = 1; i < 5; i++) fx.n[i].down = true;
  fx_run(&fx, 8000);
  assert_true(dc_gossip_awareness(fx.n[0].g) >= 3);
  fx_close(&fx);
}

static void test_buddy_suspect_rides_the_probe(void **st) {
  (void)st;
  fx_init(&fx, 3, true);
  /* Node 0 suspects 1 (told by 2); its next probe of 1 carries the news,
   * and 1 refutes at once. */
  struct gossip_msg s = {.type = GMSG_SUSPECT, .id = 2, .incarnation = 0, .from = 3};
  send_to(0, &s);
  fx.nq = 0; /* drop the gossip and the piggyback queue: only the probe's */
  bcast_free(fx.n[0].g); /* buddy message may tell node 1 */
  fx.n[2].down = true;
  for (int i = 0; i < 500 && dc_gossip_incarnation(fx.n[1].g) == 0; i++) {
    fx.now += 10;
    dc_gossip_tick(fx.n[0].g, fx.now);
    for (uint32_t k = 0; k < fx.nq; k++) /* keep only 0's probes of 1 */
      if (fx.q[k].to == 1 && !fx.q[k].stream) {
        struct dc_reader r;
        struct gossip_msg m;
        dc_reader_init(&r, fx.q[k].data, fx.q[k].len);
        assert_int_equal(msg_decode(&r, &m), DC_OK);
        if (m.type == GMSG_PING) dc_gossip_recv(fx.n[1].g, fx.q[k].data, fx.q[k].len, fx.now);
      }
    fx.nq = 0;
  }
  assert_int_equal(dc_gossip_incarnation(fx.n[1].g), 1);
  fx_close(&fx);
}

static void test_pushpull_join(void **st) {
  (void)st;
  fx_init(&fx, 4, true);
  /* A fifth node that knows nobody joins through node 0. */
  fx_start_node(&fx, 4, true);
  struct fx_node *n = &fx.n[4];
  struct dc_gossip_addr seed;
  fx_addr(0, &seed);
  assert_int_equal(dc_gossip_join(n->g, &seed, 1, fx.now), DC_OK);
  fx_deliver_all(&fx);
  assert_int_equal(dc_gossip_count(n->g), 5);
  assert_int_equal(dc_gossip_count(fx.n[0].g), 5);
  fx_run(&fx, 5000);
  for (uint32_t i = 0; i < 5; i++) assert_int_equal(dc_gossip_count(fx.n[i].g), 5);
  assert_int_equal(fx_state(&fx, 2, 4), DC_GOSSIP_ALIVE);
  fx_close(&fx);
}

static void test_rejoin_after_restart(void **st) {
  (void)st;
  fx_init(&fx, 4, true);
  fx.n[3].down = true;
  fx_run(&fx, 120000);
  assert_int_equal(fx_state(&fx, 0, 3), DC_GOSSIP_DEAD);
  /* Restart: a fresh instance (incarnation 0) joins; it learns it is dead
   * and outbids the old incarnation. */
  fx_start_node(&fx, 3, true);
  struct dc_gossip_addr seed;
  fx_addr(0, &seed);
  dc_gossip_join(fx.n[3].g, &seed, 1, fx.now);
  fx_run(&fx, 5000);
  for (uint32_t i = 0; i < 3; i++) assert_int_equal(fx_state(&fx, i, 3), DC_GOSSIP_ALIVE);
  assert_true(dc_gossip_incarnation(fx.n[3].g) >= 1);
  assert_int_equal(fx.n[0].last.type == DC_GOSSIP_EV_JOIN || fx.n[0].nevents[DC_GOSSIP_EV_JOIN] > 0, 1);
  fx_close(&fx);
}

static void test_malformed_changes_nothing(void **st) {
  (void)st;
  fx_init(&fx, 3, true);
  struct dc_gossip *g = fx.n[0].g;
  /* A valid suspect followed by garbage: the whole packet is refused. */
  struct dc_buf b = {0};
  struct gossip_msg s = {.type = GMSG_SUSPECT, .id = 2, .incarnation = 0, .from = 3};
  msg_encode(&b, &s);
  dc_buf_put_u8(&b, 77);
  assert_int_equal(dc_gossip_recv(g, b.data, b.len, fx.now), DC_EPROTO);
  assert_int_equal(fx_state(&fx, 0, 1), DC_GOSSIP_ALIVE);
  /* Truncated, empty, unknown type, zero id, push-pull in a datagram. */
  assert_int_equal(dc_gossip_recv(g, b.data, b.len - 3, fx.now), DC_EPROTO);
  assert_int_equal(dc_gossip_recv(g, b.data, 0, fx.now), DC_EPROTO);
  uint8_t unk[] = {99, 0, 0};
  assert_int_equal(dc_gossip_recv(g, unk, sizeof unk, fx.now), DC_EPROTO);
  b.len = 0;
  s.id = 0;
  msg_encode(&b, &s);
  assert_int_equal(dc_gossip_recv(g, b.data, b.len, fx.now), DC_EPROTO);
  b.len = 0;
  struct gossip_msg pp = {.type = GMSG_PUSHPULL, .from = 2};
  fx_addr(1, &pp.from_addr);
  msg_encode(&b, &pp);
  assert_int_equal(dc_gossip_recv(g, b.data, b.len, fx.now), DC_EPROTO);
  /* A push-pull whose count disagrees with its entries. */
  pp.count = 3;
  b.len = 0;
  msg_encode(&b, &pp);
  assert_int_equal(dc_gossip_recv_stream(g, b.data, b.len, fx.now), DC_EPROTO);
  struct dc_gossip_stats st2;
  dc_gossip_get_stats(g, &st2);
  assert_int_equal(st2.malformed, 7);
  assert_int_equal(dc_gossip_count(g), 3);
  dc_buf_free(&b);
  fx_close(&fx);
}

/* Vivaldi: repeated RTT samples toward a fixed peer pull the estimated
 * distance to the measured RTT; the error estimate falls from its max. */
static void test_vivaldi_converges(void **st) {
  (void)st;
  fx_init(&fx, 2, true);
  struct dc_gossip *g = fx.n[0].g;
  struct dc_vivaldi peer = {.vec = {0.02, -0.01}, .error = 0.2, .height = 0.005};
  assert_true(g->coord.error >= 1.5);
  for (int i = 0; i < 200; i++) vivaldi_update(g, 2, &peer, 0.080);
  double d = dc_vivaldi_distance(&g->coord, &peer);
  assert_true(fabs(d - 0.080) < 0.008);
  assert_true(g->coord.error < 0.5);
  /* Absurd samples (> 10 s, negative, NaN) are ignored. */
  struct dc_vivaldi before = g->coord;
  vivaldi_update(g, 2, &peer, 11.0);
  vivaldi_update(g, 2, &peer, -1.0);
  vivaldi_update(g, 2, &peer, NAN);
  assert_memory_equal(&before, &g->coord, sizeof before);
  fx_close(&fx);
}

static void test_msg_round_trip(void **st) {
  (void)st;
  struct gossip_msg in[] = {
      {.type = GMSG_PING, .seq = 7, .id = 3, .from = 9},
      {.type = GMSG_PING_REQ, .seq = 8, .id = 3, .nack = true, .from = 9},
      {.type = GMSG_ACK, .seq = 9, .has_coord = true, .coord = {.vec = {0.5, -0.25}, .error = 1.5, .height = 0.001}},
      {.type = GMSG_NACK, .seq = 10},
      {.type = GMSG_ALIVE, .id = 4, .incarnation = 3, .tags = (const uint8_t *)"abc", .tags_len = 3},
      {.type = GMSG_SUSPECT, .id = 4, .incarnation = 3, .from = 5},
      {.type = GMSG_DEAD, .id = 4, .incarnation = 3, .from = 4},
  };
  struct dc_buf b = {0};
  for (size_t i = 0; i < DC_ARRAY_LEN(in); i++) {
    fx_addr(1, &in[i].addr);
    fx_addr(2, &in[i].from_addr);
    assert_int_equal(msg_encode(&b, &in[i]), DC_OK);
  }
  struct dc_reader r;
  dc_reader_init(&r, b.data, b.len);
  for (size_t i = 0; i < DC_ARRAY_LEN(in); i++) {
    struct gossip_msg m;
    assert_int_equal(msg_decode(&r, &m), DC_OK);
    assert_int_equal(m.type, in[i].type);
    assert_int_equal(m.seq, in[i].seq);
    assert_int_equal(m.id, in[i].id);
    assert_int_equal(m.incarnation, in[i].incarnation);
    if (m.type == GMSG_PING || m.type == GMSG_PING_REQ) {
      assert_int_equal(m.from, in[i].from);
      assert_true(gossip_addr_eq(&m.from_addr, &in[i].from_addr));
    }
    if (m.type == GMSG_ACK) {
      assert_true(m.has_coord);
      assert_true(fabs(m.coord.vec[1] + 0.25) < 1e-6 && fabs(m.coord.error - 1.5) < 1e-6);
    }
    if (m.type == GMSG_ALIVE) assert_memory_equal(m.tags, "abc", 3);
  }
  assert_int_equal(dc_reader_left(&r), 0);
  dc_buf_free(&b);
}

int main(void) {
  const struct CMUnitTest core[] = {
      cmocka_unit_test(test_suspicion_min_ms),
      cmocka_unit_test(test_suspicion_timeout_ms),
      cmocka_unit_test(test_retransmit_limit),
      cmocka_unit_test(test_new_rejects_bad_config),
      cmocka_unit_test(test_probe_ack_keeps_alive),
      cmocka_unit_test(test_crash_suspect_then_dead_swim),
      cmocka_unit_test(test_refute_raises_incarnation),
      cmocka_unit_test(test_incarnation_orders_messages),
      cmocka_unit_test(test_lifeguard_confirmations_shorten),
      cmocka_unit_test(test_nack_keeps_health),
      cmocka_unit_test(test_buddy_suspect_rides_the_probe),
      cmocka_unit_test(test_pushpull_join),
      cmocka_unit_test(test_rejoin_after_restart),
      cmocka_unit_test(test_malformed_changes_nothing),
      cmocka_unit_test(test_msg_round_trip),
      cmocka_unit_test(test_vivaldi_converges),
  };
  const struct CMUnitTest *wire;
  size_t nwire;
  gossip_wire_tests(&wire, &nwire);
  const struct CMUnitTest *tcp;
  size_t ntcp;
  gossip_tcpping_tests(&tcp, &ntcp);
  const struct CMUnitTest *sched;
  size_t nsched;
  gossip_schedule_tests(&sched, &nsched);
  const struct CMUnitTest *susp;
  size_t nsusp;
  gossip_suspicion_tests(&susp, &nsusp);
  const struct CMUnitTest *diss;
  size_t ndiss;
  gossip_dissemination_tests(&diss, &ndiss);
  int rc = cmocka_run_group_tests_name("gossip core", core, NULL, NULL);
  rc |= _cmocka_run_group_tests("gossip wire", wire, nwire, NULL, NULL);
  rc |= _cmocka_run_group_tests("gossip tcp fallback", tcp, ntcp, NULL, NULL);
  rc |= _cmocka_run_group_tests("gossip probe schedule", sched, nsched, NULL, NULL);
  rc |= _cmocka_run_group_tests("gossip suspicion checks", susp, nsusp, NULL, NULL);
  rc |= _cmocka_run_group_tests("gossip dissemination", diss, ndiss, NULL, NULL);
  return rc;
}
