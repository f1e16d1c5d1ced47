/* SPDX-License-Identifier: Apache-2.0
 * Dissemination and the suspicion timing of our defaults: an update goes
 * out a fixed number of times, in gossip rounds and on probe traffic, and
 * then a few more times on probe traffic only (its tail); plain SWIM keeps
 * memberlist's log N count and no tail. A suspicion that nobody can
 * confirm keeps memberlist's fixed timeout. */
#include <string.h>

#include "base/base.h"
#include "gossip/gossip_int.h"
#include "tests/lib/testlib.h"
#include "tests/unit/gossip/fixture.h"

void gossip_dissemination_tests(const struct CMUnitTest **t, size_t *n);

static struct fx fx;

/* One fill of node 0's next packet: whether it carried the queued update. */
static bool fill(bool gossip_round) {
  struct dc_gossip *g = fx.n[0].g;
  g->out.len = 0;
  bcast_fill(g, g->cfg.packet_max, gossip_round);
  return g->out.len > 0;
}

/* Node 0 with nothing queued but one tag update of its own. */
static void one_update(bool lifeguard) {
  fx_init(&fx, 8, lifeguard);
  struct dc_gossip *g = fx.n[0].g;
  bcast_free(g);
  assert_int_equal(dc_gossip_set_tags(g, (const uint8_t *)"r=q", 3, fx.now), DC_OK);
  assert_int_equal(g->nbq, 1);
}

/* The update goes out push times anywhere, then twice more on probe
 * traffic only, then it is gone. */
static void sends_then_tail(uint32_t push) {
  struct dc_gossip *g = fx.n[0].g;
  for (uint32_t i = 0; i < push; i++) assert_true(fill(i % 2));
  /* Past the count, a gossip round carries nothing, and the update stays. */
  assert_false(fill(true));
  assert_int_equal(g->nbq, 1);
  assert_true(fill(false));
  assert_false(fill(true));
  assert_true(fill(false));
  assert_int_equal(g->nbq, 0);
  assert_false(fill(false));
}

static void test_tail_rides_probe_traffic_only(void **st) {
  (void)st;
  one_update(true);
  struct dc_gossip *g = fx.n[0].g;
  assert_int_equal(g->cfg.retransmit_max, 12);
  assert_int_equal(g->cfg.retransmit_tail, 2);
  /* Below the cap: memberlist's count, 4 at 8 members. */
  sends_then_tail(dc_gossip_retransmit_limit(4, 8));
  fx_close(&fx);
  /* The cap binds (12 from 1,000 members on; 3 here). */
  one_update(true);
  fx.n[0].g->cfg.retransmit_max = 3;
  sends_then_tail(3);
  fx_close(&fx);
}

static void test_plain_swim_keeps_memberlist_count(void **st) {
  (void)st;
  one_update(false);
  struct dc_gossip *g = fx.n[0].g;
  uint32_t limit = dc_gossip_retransmit_limit(4, 8);
  assert_int_equal(limit, 4);
  for (uint32_t i = 0; i < limit; i++) assert_true(fill(true));
  assert_int_equal(g->nbq, 0);
  assert_false(fill(false));
  fx_close(&fx);
}

/* A fresh update is sent before one in its tail, so the tail never takes
 * a packet's room from news. */
static void test_fresh_before_tail(void **st) {
  (void)st;
  one_update(true);
  struct dc_gossip *g = fx.n[0].g;
  for (int i = 0; i < 4; i++) assert_true(fill(true));
  struct gossip_msg s = {.type = GMSG_SUSPECT, .id = 5, .incarnation = 0, .from = 3};
  fx_recv(&fx, 0, &s);
  assert_int_equal(g->nbq, 2);
  g->out.len = 0;
  bcast_fill(g, g->cfg.packet_max, false);
  struct dc_reader r;
  struct gossip_msg m;
  dc_reader_init(&r, g->out.data, g->out.len);
  assert_int_equal(msg_decode(&r, &m), DC_OK);
  assert_int_equal(m.type, GMSG_SUSPECT);
  assert_int_equal(msg_decode(&r, &m), DC_OK);
  assert_int_equal(m.type, GMSG_ALIVE);
  assert_int_equal(m.id, 1);
  fx_close(&fx);
}

/* Our suspicion minimum is a quarter of memberlist's, because Lifeguard's
 * confirmations hold the timer up meanwhile; with three members nobody can
 * confirm, and the timer keeps memberlist's 4 intervals. */
static void test_unconfirmable_keeps_memberlist_timeout(void **st) {
  (void)st;
  struct gossip_msg s = {.type = GMSG_SUSPECT, .id = 2, .incarnation = 0, .from = 3};
  fx_init(&fx, 3, true);
  struct dc_gossip *g = fx.n[0].g;
  fx_recv(&fx, 0, &s);
  assert_int_equal(g->nsusp, 1);
  assert_int_equal(g->susp[0].k, 0);
  assert_int_equal(g->susp[0].deadline_ms, fx.now + dc_gossip_suspicion_min_ms(4, 3, 1000));
  fx_close(&fx);
  fx_init(&fx, 8, true);
  g = fx.n[0].g;
  fx_recv(&fx, 0, &s);
  assert_int_equal(g->susp[0].k, 2);
  assert_int_equal(g->susp[0].min_ms, dc_gossip_suspicion_min_ms(1, 8, 1000));
  assert_int_equal(g->susp[0].deadline_ms, fx.now + 24 * g->susp[0].min_ms);
  fx_close(&fx);
}

/* A suspicion check goes to a member that may well be dead: it carries the
 * buddy suspicion and nothing from the queue, whose sends would be lost. */
static void test_check_carries_no_piggyback(void **st) {
  (void)st;
  fx_init(&fx, 8, true);
  struct dc_gossip *g = fx.n[0].g;
  struct gossip_msg s = {.type = GMSG_SUSPECT, .id = 2, .incarnation = 0, .from = 3};
  fx_recv(&fx, 0, &s);
  int64_t check_at = fx.now + g->susp[0].min_ms;
  fx.nq = 0;
  bool fresh = false, found = false;
  while (!found && fx.now < check_at + 1000) {
    fx.now += 10;
    if (!fresh && fx.now >= check_at - 20) {
      fresh = true; /* a fresh update waits in the queue when the check leaves */
      assert_int_equal(dc_gossip_set_tags(g, (const uint8_t *)"r=q", 3, fx.now), DC_OK);
    }
    uint64_t checks = g->stats.suspicion_checks;
    dc_gossip_tick(g, fx.now);
    for (uint32_t q = 0; checks != g->stats.suspicion_checks && q < fx.nq; q++) {
      if (fx.q[q].to != 1) continue;
      struct dc_reader r;
      struct gossip_msg m;
      uint8_t types[8];
      size_t nt = 0;
      dc_reader_init(&r, fx.q[q].data, fx.q[q].len);
      while (nt < 8 && r.off < r.len && msg_decode(&r, &m) == DC_OK) types[nt++] = m.type;
      if (nt == 2 && types[0] == GMSG_PING && types[1] == GMSG_SUSPECT) found = true;
    }
    fx.nq = 0;
  }
  assert_true(fresh);
  assert_true(found);
  assert_int_equal(g->stats.suspicion_checks, 1);
  fx_close(&fx);
}

static void test_swim_config_is_memberlist(void **st) {
  (void)st;
  struct dc_gossip_config c;
  dc_gossip_config_swim(&c);
  assert_false(c.lifeguard);
  assert_false(c.coordinated_probes);
  assert_false(c.suspicion_checks);
  assert_true(c.tcp_ping);
  assert_int_equal(c.probe_interval_ms, 1000);
  assert_int_equal(c.probe_timeout_ms, 500);
  assert_int_equal(c.indirect_checks, 3);
  assert_int_equal(c.suspicion_mult, 4);
  assert_int_equal(c.retransmit_mult, 4);
  assert_int_equal(c.retransmit_max, 0);
  assert_int_equal(c.retransmit_tail, 0);
}

void gossip_dissemination_tests(const struct CMUnitTest **t, size_t *n) {
  static const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_tail_rides_probe_traffic_only),
      cmocka_unit_test(test_plain_swim_keeps_memberlist_count),
      cmocka_unit_test(test_fresh_before_tail),
      cmocka_unit_test(test_unconfirmable_keeps_memberlist_timeout),
      cmocka_unit_test(test_check_carries_no_piggyback),
      cmocka_unit_test(test_swim_config_is_memberlist),
  };
  *t = tests;
  *n = DC_ARRAY_LEN(tests);
}
