/* SPDX-License-Identifier: Apache-2.0 */
#include "tests/unit/gossip/loopback.h"

#include <string.h>

#include "tests/lib/testlib.h"

void lb_start(uv_loop_t *loop, uint16_t *port, uint16_t *next_port, uint32_t group,
              const uint8_t key[32], const struct dc_gossip_config *c, const char *tags,
              dc_gossip_udp_event_cb cb, void *data, uint16_t seed_port,
              struct dc_gossip_udp **u, struct dc_gossip **g) {
  int rc = DC_EEXISTS;
  for (int tries = 0; rc == DC_EEXISTS && tries < 200; tries++) {
    if (!*port || tries) *port = (*next_port)++;
    rc = dc_gossip_udp_start(loop, "127.0.0.1", *port, u);
  }
  assert_int_equal(rc, DC_OK);
  assert_int_equal(dc_gossip_udp_add_group(*u, group, key, c, (const uint8_t *)tags, strlen(tags),
                                           cb, data, g), DC_OK);
  if (seed_port) {
    struct dc_gossip_addr seed;
    dc_gossip_addr_parse("127.0.0.1", seed_port, &seed);
    assert_int_equal(dc_gossip_join(*g, &seed, 1, (int64_t)uv_now(loop)), DC_OK);
    dc_gossip_udp_kick(*u);
  }
}

static void wake(uv_timer_t *t) { (void)t; }

bool lb_never(void) { return false; }

bool lb_run_until(uv_loop_t *loop, bool (*done)(void), int64_t timeout_ms) {
  int64_t end = (int64_t)uv_now(loop) + timeout_ms;
  uv_timer_t guard;
  uv_timer_init(loop, &guard);
  while (!done() && (int64_t)uv_now(loop) < end) {
    uv_timer_start(&guard, wake, 50, 0);
    uv_run(loop, UV_RUN_ONCE);
  }
  uv_close((uv_handle_t *)&guard, NULL);
  uv_run(loop, UV_RUN_NOWAIT);
  return done();
}
