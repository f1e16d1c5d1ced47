/* SPDX-License-Identifier: Apache-2.0
 * The gossip core over real UDP/TCP sockets on loopback: 50 members join
 * through one seed, five are killed (their sockets vanish without a
 * word), every survivor declares exactly those five dead and no one else,
 * then the five restart and rejoin. Prints the detection times seen by
 * the survivors and the bytes each member sent. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "gossip/gossip.h"
#include "tests/lib/testlib.h"
#include "tests/unit/gossip/loopback.h"

#define N 50
#define KILL 5
#define GROUP 0xdc01
#define FIRST_KILLED (N - KILL) /* member 0 is the seed everyone joins through */

struct member {
  uint16_t port;
  struct dc_gossip_udp *u;
  struct dc_gossip *g;
  bool killed;
  int64_t dead_seen[N]; /* when this member learnt member i died, or 0 */
  int false_dead;
};

static struct member m[N];
static uv_loop_t loop;
static uint16_t next_port;
static const uint8_t key[32] = {0x5a, 1, 2, 3};
static int64_t killed_at;

static void on_event(void *data, uint32_t group, const struct dc_gossip_event *ev) {
  struct member *me = data;
  (void)group;
  uint32_t about = (uint32_t)(ev->id - 1);
  if (about >= N || ev->type != DC_GOSSIP_EV_DEAD) return;
  if (m[about].killed) {
    if (!me->dead_seen[about]) me->dead_seen[about] = (int64_t)uv_now(&loop);
  } else {
    me->false_dead++;
  }
}

static void start_member(uint32_t i) {
  struct dc_gossip_config c;
  dc_gossip_config_default(&c);
  c.self_id = i + 1;
  char tags[32];
  snprintf(tags, sizeof tags, "role=provider;n=%u", i);
  /* First start: the next free port; a restart reuses the member's own. */
  lb_start(&loop, &m[i].port, &next_port, GROUP, key, &c, tags, on_event, &m[i],
           i > 0 ? m[0].port : 0, &m[i].u, &m[i].g);
}

static bool run_until(bool (*done)(void), int64_t timeout_ms) {
  return lb_run_until(&loop, done, timeout_ms);
}

static bool all_alive(void) {
  for (uint32_t i = 0; i < N; i++)
    if (!m[i].killed && dc_gossip_alive_count(m[i].g) != N) return false;
  return true;
}

static bool all_dead_seen(void) {
  for (uint32_t i = 0; i < FIRST_KILLED; i++)
    for (uint32_t k = FIRST_KILLED; k < N; k++)
      if (!m[i].dead_seen[k]) return false;
  return true;
}

static int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return x < y ? -1 : x > y;
}

static void stopped(void *d) { (void)d; }

/* How long a join may take to reach everyone here: until every member's
 * next push-pull. The first falls 1-2 intervals after a member starts,
 * later ones every interval scaled for 50 members (2 intervals). */
static int64_t repair_bound_ms(void) {
  struct dc_gossip_config c;
  dc_gossip_config_default(&c);
  return 2 * (int64_t)c.push_pull_interval_ms + 5000;
}

static void test_loopback_kill_and_rejoin(void **st) {
  (void)st;
  uv_loop_init(&loop);
  next_port = (uint16_t)(20000 + (getpid() % 20000));
  for (uint32_t i = 0; i < N; i++) start_member(i);
  /* Fifty members join through one seed at once. Gossip spreads each
   * join with a bounded retransmit count, so a given member misses a given
   * join with a small probability (about e^-8 here); over 50 x 49 pairs
   * that happens in about one start in ten, and push-pull repairs it (the
   * first periodic one falls 1-2 intervals after start, as the protocol
   * intends). Usually all are known within a second; the bound is the
   * repair's (repair_bound_ms). */
  assert_true(run_until(all_alive, repair_bound_ms()));
  /* Let the cluster settle, then kill three: no leave message. */
  run_until(lb_never, 3000);
  struct dc_gossip_udp_stats st0[N];
  for (uint32_t i = 0; i < N; i++) dc_gossip_udp_get_stats(m[i].u, &st0[i]);
  int64_t t0 = (int64_t)uv_now(&loop);
  killed_at = t0;
  for (uint32_t k = FIRST_KILLED; k < N; k++) {
    m[k].killed = true;
    dc_gossip_udp_stop(m[k].u, stopped, NULL);
    m[k].u = NULL;
  }
  assert_true(run_until(all_dead_seen, 90000));
  int64_t t1 = (int64_t)uv_now(&loop);
  int64_t d[(N - KILL) * KILL];
  size_t nd = 0;
  int false_dead = 0;
  uint64_t bytes = 0;
  for (uint32_t i = 0; i < FIRST_KILLED; i++) {
    for (uint32_t k = FIRST_KILLED; k < N; k++) d[nd++] = m[i].dead_seen[k] - t0;
    false_dead += m[i].false_dead;
    struct dc_gossip_udp_stats s;
    dc_gossip_udp_get_stats(m[i].u, &s);
    bytes += s.sent_bytes - st0[i].sent_bytes;
  }
  qsort(d, nd, sizeof d[0], cmp_i64);
  printf("loopback: %d members, %d killed: detection as seen by every survivor p50 %.2f s p99 %.2f s "
         "max %.2f s; %.0f bytes/member/s (datagrams); false dead %d\n",
         N, KILL, d[nd / 2] / 1000.0, d[(size_t)ceil(0.99 * nd) - 1] / 1000.0, d[nd - 1] / 1000.0,
         (double)bytes / (N - KILL) / ((double)(t1 - t0) / 1000.0), false_dead);
  assert_int_equal(false_dead, 0);
  /* Restart: fresh instances (incarnation 0) on the same ports rejoin. */
  for (uint32_t k = FIRST_KILLED; k < N; k++) {
    m[k].killed = false;
    memset(m[k].dead_seen, 0, sizeof m[k].dead_seen);
    start_member(k);
  }
  assert_true(run_until(all_alive, repair_bound_ms())); /* the same bound */
  for (uint32_t i = 0; i < N; i++) assert_int_equal(m[i].false_dead, 0);
  for (uint32_t i = 0; i < N; i++) dc_gossip_udp_stop(m[i].u, stopped, NULL);
  uv_run(&loop, UV_RUN_DEFAULT);
  assert_int_equal(uv_loop_close(&loop), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_loopback_kill_and_rejoin)};
  return cmocka_run_group_tests_name("gossip udp", tests, NULL, NULL);
}
