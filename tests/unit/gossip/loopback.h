/* SPDX-License-Identifier: Apache-2.0
 * Helpers for the gossip tests on real loopback sockets. */
#ifndef TEST_GOSSIP_LOOPBACK_H
#define TEST_GOSSIP_LOOPBACK_H

#include <stdbool.h>
#include <stdint.h>

#include "gossip/gossip.h"

/* Binds a transport on 127.0.0.1 at *port, or the next free port from
 * *next_port (*port 0 or taken); adds the group; joins through seed_port
 * unless it is 0. Asserts on failure. */
void lb_start(uv_loop_t *loop, uint16_t *port, uint16_t *next_port, uint32_t group,
              const uint8_t key[32], const struct dc_gossip_config *c, const char *tags,
              dc_gossip_udp_event_cb cb, void *data, uint16_t seed_port,
              struct dc_gossip_udp **u, struct dc_gossip **g);
/* Runs the loop until done() or timeout_ms; returns done(). */
bool lb_run_until(uv_loop_t *loop, bool (*done)(void), int64_t timeout_ms);
bool lb_never(void);

#endif
