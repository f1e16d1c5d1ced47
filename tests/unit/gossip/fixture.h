/* SPDX-License-Identifier: Apache-2.0
 * A small in-process gossip cluster for the unit tests: every node's
 * sends land in one queue that the test delivers (or drops) explicitly. */
#ifndef TEST_GOSSIP_FIXTURE_H
#define TEST_GOSSIP_FIXTURE_H

#include <stdbool.h>

#include "gossip/gossip.h"

#define FX_NODES 16
#define FX_QUEUE 4096

struct fx_pkt {
  uint32_t from, to;
  bool stream;
  bool ping;          /* a TCP fallback ping: answered on its stream */
  int64_t deadline;   /* ping and its answer: dropped after this time */
  size_t len;
  uint8_t data[65536 + 64];
};

struct fx_node {
  struct fx *fx;
  uint32_t idx;
  uint64_t rng;
  struct dc_gossip *g;
  bool down; /* packets to it are dropped */
  bool udp_blocked; /* datagrams to and from it are dropped, streams pass */
  struct dc_gossip_event last;
  int nevents[5];
};

struct fx {
  struct fx_node n[FX_NODES];
  uint32_t count;
  struct fx_pkt *q;
  uint32_t nq;
  int64_t now;
  bool tcp_ping;      /* nodes get io.ping_stream / io.reply_stream */
  bool tcp_ping_off;  /* ... but their config turns the fallback off */
  bool shuffled;      /* memberlist's shuffled round-robin, not coordinated rounds */
  uint32_t replying;  /* the stream ping being delivered: its sender */
  int64_t reply_deadline;
};

/* n nodes that all know each other (seeded), lifeguard on or off. */
void fx_init(struct fx *fx, uint32_t n, bool lifeguard);
/* The same with the TCP fallback ping wired (streams are reliable; a ping
 * or its answer delivered after the ping's deadline is dropped) and
 * cfg.tcp_ping = enabled. */
void fx_init_tcp(struct fx *fx, uint32_t n, bool lifeguard, bool enabled);
/* n nodes (lifeguard on) whose probe targets follow memberlist's shuffled
 * round-robin (cfg.coordinated_probes = false). */
void fx_init_shuffled(struct fx *fx, uint32_t n);
void fx_close(struct fx *fx);
/* (Re)starts node i as a fresh instance that knows only itself. */
void fx_start_node(struct fx *fx, uint32_t i, bool lifeguard);
/* Delivers queued packets (and those they cause) until none is left. */
void fx_deliver_all(struct fx *fx);
/* Advances time by ms in 10 ms steps, ticking every node and delivering. */
void fx_run(struct fx *fx, int64_t ms);
void fx_addr(uint32_t i, struct dc_gossip_addr *a);
int fx_state(struct fx *fx, uint32_t at, uint32_t about);
struct gossip_msg;
/* Node to receives one message, as a packet of its own, now. */
void fx_recv(struct fx *fx, uint32_t to, const struct gossip_msg *m);

#endif
