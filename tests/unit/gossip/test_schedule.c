/* SPDX-License-Identifier: Apache-2.0
 * Probe target selection: coordinated rounds probe every live member
 * exactly once per round in an agreed view, never oneself, the same way
 * for the same view, id and round whatever randomness was drawn; views
 * that disagree degrade the coverage a little, not to nothing; probes
 * really fire once per round at the member's phase; memberlist's shuffled
 * round-robin still probes everyone once per pass. */
#include <string.h>

#include "base/base.h"
#include "gossip/gossip_int.h"
#include "tests/lib/testlib.h"
#include "tests/unit/gossip/fixture.h"

void gossip_schedule_tests(const struct CMUnitTest **t, size_t *n);

static struct fx fx;

/* The node index (fixture) a member index of node at's table stands for. */
static uint32_t node_of(uint32_t at, uint32_t member) {
  return (uint32_t)(member_meta(fx.n[at].g, member)->id - 1);
}

static uint32_t target(uint32_t at, int64_t round) {
  uint32_t t = sched_round_target(fx.n[at].g, round);
  return t == GOSSIP_NONE ? GOSSIP_NONE : node_of(at, t);
}

static const int64_t rounds[] = {0, 1, 2, 3, 57, 1000, 1763000000, -5, INT64_MAX / 1000};

static void test_schedule_permutation(void **st) {
  (void)st;
  fx_init(&fx, FX_NODES, true);
  for (size_t k = 0; k < DC_ARRAY_LEN(rounds); k++)
    for (int64_t r = rounds[k]; r < rounds[k] + 40; r++) {
      uint32_t probed[FX_NODES] = {0};
      for (uint32_t i = 0; i < FX_NODES; i++) {
        uint32_t t = target(i, r);
        assert_true(t < FX_NODES);
        assert_int_not_equal(t, i); /* nobody probes itself */
        probed[t]++;
      }
      for (uint32_t i = 0; i < FX_NODES; i++) assert_int_equal(probed[i], 1);
    }
  /* Three successive rounds of one epoch bring three different probers to
   * each member: the first suspicion and Lifeguard's k = 2 independent
   * confirmations. (Across an epoch the ring is ranked anew, and the next
   * prober is as random as in memberlist's order.) */
  for (int64_t r = 0; r < 200; r++) {
    if ((r + 2) / SCHED_EPOCH_ROUNDS != r / SCHED_EPOCH_ROUNDS) continue;
    uint32_t by[3][FX_NODES];
    for (int j = 0; j < 3; j++)
      for (uint32_t i = 0; i < FX_NODES; i++) by[j][target(i, r + j)] = i;
    for (uint32_t x = 0; x < FX_NODES; x++) {
      assert_int_not_equal(by[0][x], by[1][x]);
      assert_int_not_equal(by[1][x], by[2][x]);
      assert_int_not_equal(by[0][x], by[2][x]);
    }
  }
  fx_close(&fx);
}

static void test_schedule_deterministic(void **st) {
  (void)st;
  enum { R = 64 };
  static uint32_t first[R][FX_NODES];
  fx_init(&fx, FX_NODES, true);
  for (int64_t r = 0; r < R; r++)
    for (uint32_t i = 0; i < FX_NODES; i++) {
      first[r][i] = target(i, 5000 + r);
      assert_int_equal(target(i, 5000 + r), first[r][i]);
    }
  fx_close(&fx);
  /* Fresh instances with other random streams, after time has passed and
   * every member drew randomness for its gossip: the same targets. */
  fx_init(&fx, FX_NODES, true);
  for (uint32_t i = 0; i < FX_NODES; i++) fx.n[i].rng ^= 0x5deece66dULL * (i + 7);
  fx_run(&fx, 7000);
  for (int64_t r = 0; r < R; r++)
    for (uint32_t i = 0; i < FX_NODES; i++) assert_int_equal(target(i, 5000 + r), first[r][i]);
  fx_close(&fx);
}

/* Half of the members hold member 15 dead, the other half (and 15 itself)
 * alive: their rings differ by one member. Every probe still goes to a
 * live member of the prober's own view, never itself, and coverage stays
 * far above that of independent random choices (each member missed by all
 * 15 others in a round with probability (14/15)^15 = 0.36). */
static void test_schedule_disagreeing_views(void **st) {
  (void)st;
  fx_init(&fx, FX_NODES, true);
  for (uint32_t i = 8; i < 15; i++) {
    struct gossip_msg d = {.type = GMSG_DEAD, .id = 16, .incarnation = 0, .from = 1};
    struct dc_buf b = {0};
    assert_int_equal(msg_encode(&b, &d), DC_OK);
    assert_int_equal(dc_gossip_recv(fx.n[i].g, b.data, b.len, fx.now), DC_OK);
    dc_buf_free(&b);
    assert_int_equal(fx_state(&fx, i, 15), DC_GOSSIP_DEAD);
  }
  enum { R = 1000 };
  uint32_t missed = 0, streak[FX_NODES] = {0}, worst = 0;
  for (int64_t r = 0; r < R; r++) {
    uint32_t probed[FX_NODES] = {0};
    for (uint32_t i = 0; i < FX_NODES; i++) {
      uint32_t t = target(i, r);
      assert_true(t < FX_NODES);
      assert_int_not_equal(t, i);
      assert_true(fx_state(&fx, i, t) == DC_GOSSIP_ALIVE);
      probed[t]++;
    }
    for (uint32_t x = 0; x < FX_NODES; x++) {
      if (probed[x]) {
        streak[x] = 0;
        continue;
      }
      missed++;
      if (++streak[x] > worst) worst = streak[x];
    }
  }
  print_message("disagreeing views: %.2f members unprobed per round, longest gap %u rounds\n",
                (double)missed / R, worst);
  /* Independent random choices: 5.7 unprobed per round, and over 16,000
   * member-rounds a longest gap of about 9 rounds. */
  assert_true((double)missed / R <= 2.5);
  assert_true(worst <= 7);
  fx_close(&fx);
}

static int64_t floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* Advances the fixture by 10 ms like fx_run, but hands every probe ping
 * sent in that step (the first message of a datagram) to on_ping before
 * the packets are delivered. */
static void step_pings(void (*on_ping)(uint32_t from, const struct gossip_msg *m, void *ctx),
                       void *ctx) {
  fx.now += 10;
  for (uint32_t i = 0; i < fx.count; i++)
    if (dc_gossip_next_deadline(fx.n[i].g) <= fx.now) dc_gossip_tick(fx.n[i].g, fx.now);
  for (uint32_t k = 0; k < fx.nq; k++) {
    struct fx_pkt *p = &fx.q[k];
    struct dc_reader rd;
    struct gossip_msg m;
    dc_reader_init(&rd, p->data, p->len);
    if (!p->stream && !msg_decode(&rd, &m) && m.type == GMSG_PING) on_ping(p->from, &m, ctx);
  }
  fx_deliver_all(&fx);
}

enum { ROUNDS = 30 };
struct in_time {
  int64_t r0;
  const int64_t *skew_ms; /* per member: its clock minus the fixture's; NULL: none */
  uint32_t got[ROUNDS][FX_NODES], sent[ROUNDS][FX_NODES];
};

static void in_time_ping(uint32_t from, const struct gossip_msg *m, void *ctx) {
  struct in_time *c = ctx;
  assert_int_equal(m->from, from + 1); /* a probe of our own, not relayed */
  int64_t ph = sched_phase_ms(fx.n[from].g);
  int64_t clock = fx.now + (c->skew_ms ? c->skew_ms[from] : 0); /* the member's own */
  int64_t r = floor_div(clock - ph + 500, 1000);
  if (r < c->r0 || r >= c->r0 + ROUNDS) return;
  /* It fires at its phase (within the 10 ms step of the fixture). */
  assert_true(clock - (r * 1000 + ph) >= 0 && clock - (r * 1000 + ph) < 10);
  assert_int_not_equal(m->id, from + 1);
  c->got[r - c->r0][m->id - 1]++;
  c->sent[r - c->r0][from]++;
}

static void assert_once_per_round(const struct in_time *c) {
  for (int r = 0; r < ROUNDS; r++)
    for (uint32_t i = 0; i < FX_NODES; i++) {
      assert_int_equal(c->got[r][i], 1);
      assert_int_equal(c->sent[r][i], 1);
    }
}

/* In time: each member starts one probe per round at its phase, and every
 * member receives exactly one probe ping per round. */
static void test_schedule_rounds_in_time(void **st) {
  (void)st;
  static struct in_time c;
  memset(&c, 0, sizeof c);
  fx_init(&fx, FX_NODES, true);
  c.r0 = fx.now / 1000 + 2; /* the first whole round after start */
  for (int64_t t = 0; t < (ROUNDS + 3) * 1000; t += 10) step_pings(in_time_ping, &c);
  assert_once_per_round(&c);
  struct dc_gossip_stats s;
  dc_gossip_get_stats(fx.n[0].g, &s);
  assert_int_equal(s.suspicions, 0);
  fx_close(&fx);
}

struct pass {
  uint32_t count[FX_NODES][FX_NODES];
  uint32_t probes[FX_NODES];
};

static void pass_ping(uint32_t from, const struct gossip_msg *m, void *ctx) {
  struct pass *c = ctx;
  /* The first full pass: the order is reshuffled after it. */
  if (c->probes[from]++ < FX_NODES - 1) c->count[from][m->id - 1]++;
}

/* memberlist's order: each member's successive probes walk a shuffled
 * list, so in 15 probes it probes each of the 15 others once. */
static void test_schedule_shuffled_round_robin(void **st) {
  (void)st;
  static struct pass c;
  memset(&c, 0, sizeof c);
  fx_init_shuffled(&fx, FX_NODES);
  for (int64_t t = 0; t < 40 * 1000; t += 10) step_pings(pass_ping, &c);
  for (uint32_t i = 0; i < FX_NODES; i++) {
    assert_true(c.probes[i] >= FX_NODES - 1);
    for (uint32_t j = 0; j < FX_NODES; j++) assert_int_equal(c.count[i][j], i == j ? 0 : 1);
  }
  fx_close(&fx);
}

/* Hosts whose wall clocks disagree by seconds: each member's rounds come
 * from its own clock (io.wall_ms), and still every member is probed once
 * per round index. */
static const int64_t skew_ms[FX_NODES] = {0, 3700, -2100, 40, -900, 12000, 5, -5,
                                          250, -250, 999, -999, 60000, 1, -1, 480};

static int64_t skewed_wall_ms(void *data) {
  const struct fx_node *n = data;
  return fx.now + skew_ms[n->idx];
}

static void test_schedule_clock_skew(void **st) {
  (void)st;
  static struct in_time c;
  memset(&c, 0, sizeof c);
  fx_init(&fx, FX_NODES, true);
  /* Given after creation: the first probe comes at the fixture's phase,
   * and the next ones realign to the member's own clock. */
  for (uint32_t i = 0; i < FX_NODES; i++) fx.n[i].g->io.wall_ms = skewed_wall_ms;
  /* Rounds every member has run whole, whatever its skew. */
  c.r0 = (fx.now + 60000) / 1000 + 2;
  c.skew_ms = skew_ms;
  for (int64_t t = 0; t < (ROUNDS + 65) * 1000; t += 10) step_pings(in_time_ping, &c);
  assert_once_per_round(&c);
  fx_close(&fx);
}

/* A probe timer a little early or late still names its own round and the
 * next probe starts at the start of the next round; later than an eighth
 * of an interval, the probe keeps a whole interval and the next round is
 * skipped; more than half an interval late, the probe takes the next
 * round. */
static void test_schedule_late_timer(void **st) {
  (void)st;
  fx_init(&fx, 2, true);
  struct dc_gossip *g = fx.n[0].g;
  int64_t ph = sched_phase_ms(g), next;
  const int64_t r = 5000, start = r * 1000 + ph;
  assert_int_equal(sched_round_now(g, start, &next), r);
  assert_int_equal(next, start + 1000);
  assert_int_equal(sched_round_now(g, start - 7, &next), r); /* early */
  assert_int_equal(next, start + 1000);
  assert_int_equal(sched_round_now(g, start + 60, &next), r); /* jitter: stays aligned */
  assert_int_equal(next, start + 1000);
  assert_int_equal(sched_round_now(g, start + 300, &next), r); /* late: a whole window */
  assert_int_equal(next, start + 2000);                        /* and round r + 1 skipped */
  assert_int_equal(sched_round_now(g, start + 700, &next), r + 1); /* round r skipped */
  assert_int_equal(next, start + 2000);
  /* Lifeguard's health stretches the interval to whole rounds. */
  g->awareness = 2;
  assert_int_equal(sched_round_now(g, start, &next), r);
  assert_int_equal(next, start + 3000);
  fx_close(&fx);
}

void gossip_schedule_tests(const struct CMUnitTest **t, size_t *n) {
  static const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_schedule_permutation),
      cmocka_unit_test(test_schedule_deterministic),
      cmocka_unit_test(test_schedule_disagreeing_views),
      cmocka_unit_test(test_schedule_rounds_in_time),
      cmocka_unit_test(test_schedule_shuffled_round_robin),
      cmocka_unit_test(test_schedule_clock_skew),
      cmocka_unit_test(test_schedule_late_timer),
  };
  *t = tests;
  *n = DC_ARRAY_LEN(tests);
}
