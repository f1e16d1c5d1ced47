/* SPDX-License-Identifier: Apache-2.0
 * Push-pull: a full-state exchange over a stream, on join and
 * periodically, so members that missed updates converge anyway. Also the
 * entry of every stream message (the TCP fallback ping is one). */
#include <math.h>

#include "gossip/gossip_int.h"

/* memberlist's pushPullScale: beyond 32 members the interval grows with
 * log2 N so that the cluster-wide stream load stays bounded. */
int64_t pp_interval_ms(const struct dc_gossip *g) {
  int64_t base = g->cfg.push_pull_interval_ms;
  if (g->alive <= 32) return base;
  double mult = ceil(log2((double)g->alive) - log2(32.0)) + 1.0;
  return (int64_t)(mult * (double)base);
}

void pp_send(struct dc_gossip *g, const struct dc_gossip_addr *to, bool join, bool reply) {
  struct dc_buf body = {0};
  int rc = 0;
  for (uint32_t i = 0; i < g->nm && !rc; i++) {
    const struct gossip_meta *e = member_meta(g, i);
    struct gossip_pp_entry pe = {.id = e->id, .addr = e->addr,
                                 .incarnation = g->m[i].incarnation,
                                 .state = g->m[i].state, .tags = e->tags,
                                 .tags_len = e->tags_len};
    rc = msg_pp_put(&body, &pe);
  }
  const struct gossip_meta *self = member_meta(g, g->self);
  struct gossip_msg m = {.type = GMSG_PUSHPULL, .join = join, .reply = reply, .from = self->id,
                         .from_addr = self->addr, .count = g->nm,
                         .entries = body.data, .entries_len = body.len};
  struct dc_buf out = {0};
  if (!rc) rc = msg_encode(&out, &m);
  if (!rc) {
    g->stats.push_pulls++;
    g->io.send_stream(g->io.data, to, out.data, out.len);
  }
  dc_buf_free(&out);
  dc_buf_free(&body);
}

int dc_gossip_recv_stream(struct dc_gossip *g, const uint8_t *p, size_t n, int64_t now_ms) {
  struct dc_reader r;
  dc_reader_init(&r, p, n);
  struct gossip_msg m;
  if (msg_decode(&r, &m) || (m.type != GMSG_PUSHPULL && m.type != GMSG_PING && m.type != GMSG_ACK) ||
      dc_reader_left(&r)) {
    g->stats.malformed++;
    return DC_EPROTO;
  }
  /* A stream carries one message: a push-pull, or memberlist's TCP
   * fallback ping and its ack. */
  if (m.type == GMSG_PING) {
    probe_on_stream_ping(g, &m);
    return DC_OK;
  }
  if (m.type == GMSG_ACK) {
    probe_on_stream_ack(g, &m);
    return DC_OK;
  }
  /* Validate every entry before applying any. */
  struct dc_reader er;
  struct gossip_pp_entry e;
  dc_reader_init(&er, m.entries, m.entries_len);
  for (uint32_t i = 0; i < m.count; i++)
    if (msg_pp_next(&er, &e)) break;
  if (dc_reader_finish(&er) != DC_OK) {
    g->stats.malformed++;
    return DC_EPROTO;
  }
  /* Answer first, with our view as it was; a reply is never answered. */
  if (!m.reply && m.from != member_meta(g, g->self)->id) pp_send(g, &m.from_addr, false, true);
  dc_reader_init(&er, m.entries, m.entries_len);
  for (uint32_t i = 0; i < m.count; i++) {
    msg_pp_next(&er, &e);
    /* As memberlist: accusations learnt by sync are made in our own name, so
     * they never pose as an independent Lifeguard confirmation. */
    struct gossip_msg u = {.id = e.id, .incarnation = e.incarnation,
                           .from = member_meta(g, g->self)->id};
    switch (e.state) {
    case DC_GOSSIP_ALIVE:
      u.type = GMSG_ALIVE;
      u.addr = e.addr;
      u.tags = e.tags;
      u.tags_len = e.tags_len;
      state_alive(g, &u, now_ms, false);
      break;
    case DC_GOSSIP_LEFT:
      u.type = GMSG_DEAD;
      u.from = e.id;
      state_dead(g, &u, now_ms);
      break;
    default:
      /* memberlist: a remote "dead" only makes us suspect; our own probes
       * and timer decide. */
      u.type = GMSG_SUSPECT;
      state_suspect(g, &u, now_ms);
      break;
    }
  }
  return DC_OK;
}
