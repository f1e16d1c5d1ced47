/* SPDX-License-Identifier: Apache-2.0
 * Suspicion checks: a member that missed a refutation and holds an
 * unconfirmed suspicion asks the suspect once the minimum timeout has
 * passed, and the suspect's ack carries its current incarnation, so no
 * live member is declared dead for a refutation that was lost on the way.
 * A confirmed suspicion checks once, just before its timer; plain SWIM
 * never does. */
#include <string.h>

#include "base/base.h"
#include "gossip/gossip_int.h"
#include "tests/lib/testlib.h"
#include "tests/unit/gossip/fixture.h"

void gossip_suspicion_tests(const struct CMUnitTest **t, size_t *n);

static struct fx fx;

static void recv_at(uint32_t to, const struct gossip_msg *m) { fx_recv(&fx, to, m); }

/* Node 1 (id 2) refutes a suspicion, and nobody hears the refutation; node
 * 0 then learns of the old suspicion, from accuser id 3 and from the ids
 * in confirm[] (0-terminated). */
static void stale_suspicion(bool lifeguard, const uint64_t *confirm) {
  fx_init(&fx, 8, lifeguard);
  struct gossip_msg s = {.type = GMSG_SUSPECT, .id = 2, .incarnation = 0, .from = 3};
  recv_at(1, &s);
  assert_int_equal(dc_gossip_incarnation(fx.n[1].g), 1);
  bcast_free(fx.n[1].g);
  recv_at(0, &s);
  for (; *confirm; confirm++) {
    s.from = *confirm;
    recv_at(0, &s);
  }
  assert_int_equal(fx_state(&fx, 0, 1), DC_GOSSIP_SUSPECT);
  bcast_free(fx.n[0].g);
  fx.nq = 0;
}

/* Ticks node 0 alone for ms, dropping what it sends unless deliver. */
static void tick_alone(int64_t ms, bool deliver) {
  for (int64_t end = fx.now + ms; fx.now < end;) {
    fx.now += 10;
    dc_gossip_tick(fx.n[0].g, fx.now);
    if (deliver) fx_deliver_all(&fx);
    fx.nq = 0;
  }
}

static void test_check_learns_the_refutation(void **st) {
  (void)st;
  const uint64_t none[] = {0};
  stale_suspicion(true, none);
  struct dc_gossip *g = fx.n[0].g;
  int64_t min = dc_gossip_suspicion_min_ms(g->cfg.suspicion_mult, 8, 1000);
  int64_t t0 = fx.now;
  /* Before the minimum timeout: no check, the suspicion stands. */
  tick_alone(min - 10, false);
  assert_int_equal(g->stats.suspicion_checks, 0);
  assert_int_equal(fx_state(&fx, 0, 1), DC_GOSSIP_SUSPECT);
  /* At it: one check, repeated every half minimum while unanswered. */
  tick_alone(20, false);
  assert_int_equal(g->stats.suspicion_checks, 1);
  tick_alone(min / 2, false);
  assert_int_equal(g->stats.suspicion_checks, 2);
  /* Answered: the suspect's ack brings its incarnation 1, which only it
   * knows (its queue was emptied), and the suspicion ends. */
  tick_alone(min / 2, true);
  assert_true(g->stats.suspicion_checks >= 3);
  assert_int_equal(fx_state(&fx, 0, 1), DC_GOSSIP_ALIVE);
  struct dc_gossip_member_info mi;
  assert_int_equal(dc_gossip_member_get(g, 2, &mi), DC_OK);
  assert_int_equal(mi.incarnation, 1);
  assert_int_equal(dc_gossip_incarnation(fx.n[1].g), 1); /* no new refutation */
  /* Past the maximum timeout: nobody was declared dead. */
  fx_run(&fx, g->cfg.suspicion_max_mult * min - (fx.now - t0) + 1000);
  assert_int_equal(g->stats.declared_dead, 0);
  assert_int_equal(fx_state(&fx, 0, 1), DC_GOSSIP_ALIVE);
  fx_close(&fx);
}

static void test_confirmed_checks_once_plain_never(void **st) {
  (void)st;
  /* Two independent confirmations (Lifeguard's k at 8 members): the timer
   * is at the minimum, and one check goes a probe timeout before it. */
  const uint64_t two[] = {4, 5, 0};
  stale_suspicion(true, two);
  struct dc_gossip *g = fx.n[0].g;
  int64_t min = dc_gossip_suspicion_min_ms(g->cfg.suspicion_mult, 8, 1000);
  tick_alone(min - 500 - 10, false);
  assert_int_equal(g->stats.suspicion_checks, 0);
  tick_alone(20, false);
  assert_int_equal(g->stats.suspicion_checks, 1);
  tick_alone(500, false); /* its answer was lost: the timer decides */
  assert_int_equal(g->stats.suspicion_checks, 1);
  assert_int_equal(fx_state(&fx, 0, 1), DC_GOSSIP_DEAD);
  fx_close(&fx);
  /* The same, answered: the suspect is alive at incarnation 1 in time. */
  stale_suspicion(true, two);
  g = fx.n[0].g;
  tick_alone(min - 500 - 10, false);
  tick_alone(400, true);
  assert_int_equal(g->stats.suspicion_checks, 1);
  assert_int_equal(fx_state(&fx, 0, 1), DC_GOSSIP_ALIVE);
  tick_alone(1000, false);
  assert_int_equal(g->stats.declared_dead, 0);
  fx_close(&fx);
  /* Plain SWIM (memberlist): no checks, its fixed timeout decides. */
  const uint64_t none[] = {0};
  stale_suspicion(false, none);
  tick_alone(dc_gossip_suspicion_min_ms(4, 8, 1000) + 500, false);
  assert_int_equal(fx.n[0].g->stats.suspicion_checks, 0);
  assert_int_equal(fx_state(&fx, 0, 1), DC_GOSSIP_DEAD);
  fx_close(&fx);
}

/* The answer itself: a ping that carries an accusation at an incarnation
 * already refuted is acked with the current one; a fresh accusation is
 * refuted inside the ack. */
static void test_ack_carries_the_incarnation(void **st) {
  (void)st;
  fx_init(&fx, 3, true);
  struct gossip_msg s = {.type = GMSG_SUSPECT, .id = 2, .incarnation = 0, .from = 3};
  recv_at(1, &s); /* node 1 refutes: incarnation 1 */
  bcast_free(fx.n[1].g);
  fx.nq = 0;
  for (int fresh = 0; fresh < 2; fresh++) {
    struct dc_buf b = {0};
    struct gossip_msg ping = {.type = GMSG_PING, .seq = 77, .id = 2, .from = 1};
    fx_addr(0, &ping.from_addr);
    assert_int_equal(msg_encode(&b, &ping), DC_OK);
    s.incarnation = fresh ? 1 : 0;
    assert_int_equal(msg_encode(&b, &s), DC_OK);
    assert_int_equal(dc_gossip_recv(fx.n[1].g, b.data, b.len, fx.now), DC_OK);
    dc_buf_free(&b);
    assert_int_equal(fx.nq, 1);
    struct dc_reader r;
    struct gossip_msg m;
    dc_reader_init(&r, fx.q[0].data, fx.q[0].len);
    assert_int_equal(msg_decode(&r, &m), DC_OK);
    assert_int_equal(m.type, GMSG_ACK);
    assert_int_equal(m.seq, 77);
    assert_int_equal(msg_decode(&r, &m), DC_OK);
    assert_int_equal(m.type, GMSG_ALIVE);
    assert_int_equal(m.id, 2);
    assert_int_equal(m.incarnation, fresh ? 2 : 1);
    fx.nq = 0;
  }
  fx_close(&fx);
}

void gossip_suspicion_tests(const struct CMUnitTest **t, size_t *n) {
  static const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_check_learns_the_refutation),
      cmocka_unit_test(test_confirmed_checks_once_plain_never),
      cmocka_unit_test(test_ack_carries_the_incarnation),
  };
  *t = tests;
  *n = DC_ARRAY_LEN(tests);
}
