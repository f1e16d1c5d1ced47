/* SPDX-License-Identifier: Apache-2.0 */
#include "tests/unit/gossip/fixture.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "gossip/gossip_int.h"
#include "tests/lib/testlib.h"

void fx_addr(uint32_t i, struct dc_gossip_addr *a) {
  memset(a, 0, sizeof *a);
  a->family = 4;
  a->ip[0] = 10;
  a->ip[3] = (uint8_t)i;
  a->port = 7946;
}

static uint64_t fx_rand(void *d) {
  struct fx_node *n = d;
  n->rng = n->rng * 6364136223846793005ULL + 1442695040888963407ULL;
  return n->rng >> 11 ^ n->rng << 7;
}

static struct fx_pkt *enqueue_to(struct fx_node *n, uint32_t to, const uint8_t *p, size_t len,
                                 bool stream) {
  struct fx *fx = n->fx;
  if (fx->nq == FX_QUEUE || len > 65536) abort();
  struct fx_pkt *k = &fx->q[fx->nq++];
  memset(k, 0, offsetof(struct fx_pkt, data));
  k->from = n->idx;
  k->to = to;
  k->stream = stream;
  k->len = len;
  memcpy(k->data, p, len);
  return k;
}

static void enqueue(struct fx_node *n, const struct dc_gossip_addr *to, const uint8_t *p,
                    size_t len, bool stream) {
  enqueue_to(n, to->ip[3], p, len, stream);
}

static void fx_ping_stream(void *d, const struct dc_gossip_addr *to, const uint8_t *p, size_t n,
                           uint32_t timeout_ms) {
  struct fx_node *nd = d;
  struct fx_pkt *k = enqueue_to(nd, to->ip[3], p, n, true);
  k->ping = true;
  k->deadline = nd->fx->now + timeout_ms;
}

static void fx_reply_stream(void *d, const uint8_t *p, size_t n) {
  struct fx_node *nd = d;
  struct fx_pkt *k = enqueue_to(nd, nd->fx->replying, p, n, true);
  k->deadline = nd->fx->reply_deadline;
}

static void fx_send(void *d, const struct dc_gossip_addr *to, const uint8_t *p, size_t n) {
  if (n > DC_GOSSIP_FRAME_MAX - DC_GOSSIP_SEAL_OVERHEAD) abort(); /* the core's own bound */
  enqueue(d, to, p, n, false);
}

static void fx_stream(void *d, const struct dc_gossip_addr *to, const uint8_t *p, size_t n) {
  enqueue(d, to, p, n, true);
}

static void fx_event(void *d, const struct dc_gossip_event *ev) {
  struct fx_node *n = d;
  n->last = *ev;
  n->last.addr = NULL;
  n->last.tags = NULL;
  n->nevents[ev->type]++;
}

void fx_start_node(struct fx *fx, uint32_t i, bool lifeguard) {
  struct fx_node *n = &fx->n[i];
  dc_gossip_free(n->g);
  memset(n, 0, sizeof *n);
  n->fx = fx;
  n->idx = i;
  n->rng = 42 + i;
  if (i >= fx->count) fx->count = i + 1;
  struct dc_gossip_config c;
  if (lifeguard)
    dc_gossip_config_default(&c);
  else
    dc_gossip_config_swim(&c);
  c.self_id = i + 1;
  fx_addr(i, &c.self_addr);
  struct dc_gossip_io io = {.data = n, .rand = fx_rand, .send = fx_send,
                            .send_stream = fx_stream, .event = fx_event};
  if (fx->tcp_ping) {
    io.ping_stream = fx_ping_stream;
    io.reply_stream = fx_reply_stream;
  }
  c.tcp_ping = !fx->tcp_ping_off;
  c.coordinated_probes = !fx->shuffled;
  if (dc_gossip_new(&c, &io, NULL, (const uint8_t *)"r=p", 3, fx->now, &n->g)) abort();
}

static void init(struct fx *fx, uint32_t count, bool lifeguard, bool tcp_ping, bool tcp_off,
                 bool shuffled) {
  memset(fx, 0, sizeof *fx);
  fx->shuffled = shuffled;
  fx->tcp_ping = tcp_ping;
  fx->tcp_ping_off = tcp_off;
  fx->q = calloc(FX_QUEUE, sizeof *fx->q);
  fx->count = count;
  fx->now = 1000;
  for (uint32_t i = 0; i < count; i++) fx_start_node(fx, i, lifeguard);
  for (uint32_t i = 0; i < count; i++)
    for (uint32_t j = 0; j < count; j++) {
      if (i == j) continue;
      struct dc_gossip_addr a;
      fx_addr(j, &a);
      if (dc_gossip_seed(fx->n[i].g, j + 1, &a, (const uint8_t *)"r=p", 3, 0)) abort();
    }
}

void fx_init(struct fx *fx, uint32_t count, bool lifeguard) {
  init(fx, count, lifeguard, false, false, false);
}

void fx_init_shuffled(struct fx *fx, uint32_t count) { init(fx, count, true, false, false, true); }

void fx_init_tcp(struct fx *fx, uint32_t count, bool lifeguard, bool enabled) {
  init(fx, count, lifeguard, true, !enabled, false);
}

void fx_close(struct fx *fx) {
  for (uint32_t i = 0; i < fx->count; i++) dc_gossip_free(fx->n[i].g);
  free(fx->q);
}

void fx_deliver_all(struct fx *fx) {
  /* FIFO; packets sent while delivering are appended and delivered too. */
  for (uint32_t k = 0; k < fx->nq; k++) {
    struct fx_pkt *p = &fx->q[k];
    if (p->to >= fx->count || fx->n[p->to].down || fx->n[p->from].down) continue;
    if (!p->stream && (fx->n[p->to].udp_blocked || fx->n[p->from].udp_blocked)) continue;
    if (p->deadline && fx->now > p->deadline) continue;
    if (p->ping) {
      fx->replying = p->from;
      fx->reply_deadline = p->deadline;
    }
    if (p->stream) dc_gossip_recv_stream(fx->n[p->to].g, p->data, p->len, fx->now);
    else dc_gossip_recv(fx->n[p->to].g, p->data, p->len, fx->now);
  }
  fx->nq = 0;
}

void fx_run(struct fx *fx, int64_t ms) {
  for (int64_t t = 0; t < ms; t += 10) {
    fx->now += 10;
    for (uint32_t i = 0; i < fx->count; i++)
      if (!fx->n[i].down && dc_gossip_next_deadline(fx->n[i].g) <= fx->now)
        dc_gossip_tick(fx->n[i].g, fx->now);
    fx_deliver_all(fx);
  }
}

int fx_state(struct fx *fx, uint32_t at, uint32_t about) {
  struct dc_gossip_member_info mi;
  if (dc_gossip_member_get(fx->n[at].g, about + 1, &mi)) return -1;
  return mi.state;
}

void fx_recv(struct fx *fx, uint32_t to, const struct gossip_msg *m) {
  struct dc_buf b = {0};
  assert_int_equal(msg_encode(&b, m), DC_OK);
  assert_int_equal(dc_gossip_recv(fx->n[to].g, b.data, b.len, fx->now), DC_OK);
  dc_buf_free(&b);
}
