/* SPDX-License-Identifier: Apache-2.0
 * Failure detection: one probe per (scaled) interval, its target from the
 * schedule (schedule.c), an indirect probe through k peers after the probe
 * timeout, suspicion at the end of the interval. Lifeguard adds the local
 * health multiplier (awareness), nacks from the indirect peers and the
 * buddy system. memberlist's TCP fallback ping runs beside the indirect
 * probe. Also the gossip rounds that push queued updates. */
#include <string.h>

#include "gossip/gossip_int.h"

void gossip_awareness_delta(struct dc_gossip *g, int delta) {
  int64_t a = (int64_t)g->awareness + delta;
  if (a < 0) a = 0;
  if (a > (int64_t)g->cfg.awareness_max - 1) a = (int64_t)g->cfg.awareness_max - 1;
  g->awareness = (uint32_t)a;
}

int64_t gossip_scaled(const struct dc_gossip *g, uint32_t ms) {
  return (int64_t)ms * (g->cfg.lifeguard ? g->awareness + 1 : 1);
}

void gossip_send_packet(struct dc_gossip *g, const struct dc_gossip_addr *to) {
  bcast_fill(g, g->cfg.packet_max, false);
  g->io.send(g->io.data, to, g->out.data, g->out.len);
}

static void send_msg(struct dc_gossip *g, const struct dc_gossip_addr *to,
                     const struct gossip_msg *m) {
  g->out.len = 0;
  if (msg_encode(&g->out, m)) return;
  gossip_send_packet(g, to);
}

static const struct dc_gossip_addr *self_addr(const struct dc_gossip *g) {
  return &member_meta(g, g->self)->addr;
}

static uint64_t self_id(const struct dc_gossip *g) { return member_meta(g, g->self)->id; }

/* A ping to member t; Lifeguard's buddy system adds our suspicion of it, so
 * a suspect hears of it first, in the probe itself, and can refute at once
 * (or, if it already has, answer with its newer incarnation). */
/* A suspicion check goes to a member that is probably dead, often one of
 * many at once after a crash: updates piggybacked on it would spend their
 * sends where nobody reads them, so it carries only the buddy suspicion. */
static void send_ping(struct dc_gossip *g, uint32_t t, uint32_t seq, bool piggyback) {
  uint64_t id = member_meta(g, t)->id;
  struct gossip_msg ping = {.type = GMSG_PING, .seq = seq, .id = id,
                            .from = self_id(g), .from_addr = *self_addr(g)};
  g->out.len = 0;
  if (msg_encode(&g->out, &ping)) return;
  if (g->cfg.lifeguard && g->m[t].state == DC_GOSSIP_SUSPECT) {
    struct gossip_msg s = {.type = GMSG_SUSPECT, .id = id,
                           .incarnation = g->m[t].incarnation, .from = self_id(g)};
    msg_encode(&g->out, &s);
  }
  if (piggyback)
    gossip_send_packet(g, &member_meta(g, t)->addr);
  else
    g->io.send(g->io.data, &member_meta(g, t)->addr, g->out.data, g->out.len);
}

static void probe_start(struct dc_gossip *g, int64_t now_ms) {
  struct gossip_probe *p = &g->probe;
  memset(p, 0, sizeof *p);
  uint32_t t = sched_next_target(g, now_ms, &g->next_probe_ms);
  if (t == GOSSIP_NONE) return;
  p->active = true;
  p->seq = ++g->seq;
  p->target = t;
  p->target_id = member_meta(g, t)->id;
  p->sent_ms = now_ms;
  p->timeout_at = now_ms + gossip_scaled(g, g->cfg.probe_timeout_ms);
  p->end_at = g->next_probe_ms;
  g->stats.probes++;
  send_ping(g, t, p->seq, true);
}

void probe_check(struct dc_gossip *g, uint32_t t) {
  if (g->left) return;
  g->stats.suspicion_checks++;
  send_ping(g, t, ++g->seq, false);
}

static void probe_indirect(struct dc_gossip *g, int64_t now_ms) {
  struct gossip_probe *p = &g->probe;
  p->indirect = true;
  g->stats.indirect_probes++;
  uint32_t peers[16];
  uint32_t k = g->cfg.indirect_checks < 16 ? g->cfg.indirect_checks : 16;
  uint32_t n = member_random(g, p->target, k, peers, -1);
  struct gossip_msg req = {.type = GMSG_PING_REQ, .seq = p->seq, .id = p->target_id,
                           .addr = member_meta(g, p->target)->addr,
                           .nack = g->cfg.lifeguard, .from = self_id(g),
                           .from_addr = *self_addr(g)};
  for (uint32_t j = 0; j < n; j++) send_msg(g, &member_meta(g, peers[j])->addr, &req);
  p->expected_nacks = g->cfg.lifeguard ? n : 0;
  /* memberlist's TCP fallback: the same ping over a stream, in parallel
   * with the indirect probes and bounded by the end of the probe. A full
   * socket buffer drops datagrams on a loaded host; TCP retransmits. */
  if (g->cfg.tcp_ping && g->io.ping_stream && p->end_at > now_ms) {
    struct gossip_msg ping = {.type = GMSG_PING, .seq = p->seq, .id = p->target_id,
                              .from = self_id(g), .from_addr = *self_addr(g)};
    struct dc_buf b = {0};
    if (!msg_encode(&b, &ping)) {
      g->stats.tcp_pings++;
      g->io.ping_stream(g->io.data, &member_meta(g, p->target)->addr, b.data, b.len,
                        (uint32_t)(p->end_at - now_ms));
    }
    dc_buf_free(&b);
  }
}

static void settle_late_nacks(struct dc_gossip *g) {
  if (!g->late_nacks.due) return;
  g->late_nacks.due = 0;
  if (g->late_nacks.nacks < g->late_nacks.expected)
    gossip_awareness_delta(g, (int)(g->late_nacks.expected - g->late_nacks.nacks));
}

static void probe_fail(struct dc_gossip *g, int64_t now_ms) {
  struct gossip_probe *p = &g->probe;
  p->active = false;
  /* memberlist: the target answered over TCP but not over UDP. The path,
   * not the member, is failing: no suspicion, and no change of our health
   * either way. */
  if (p->stream_acked) {
    g->stats.tcp_ping_saves++;
    return;
  }
  if (g->cfg.lifeguard) {
    /* With nacking peers, only missing nacks count against us: the peers
     * answered, so a silent target is its fault, not ours. */
    if (p->expected_nacks > 0) {
      /* A nack leaves its peer 80% of the probe timeout after our request
       * reached it, so at wide-area latencies it lands after the interval
       * ends: missing nacks are counted one probe timeout later, and a
       * nack that was merely late is not held against us. */
      settle_late_nacks(g);
      g->late_nacks.seq = p->seq;
      g->late_nacks.expected = p->expected_nacks;
      g->late_nacks.nacks = p->nacks;
      g->late_nacks.due = now_ms + gossip_scaled(g, g->cfg.probe_timeout_ms);
    } else {
      gossip_awareness_delta(g, 1);
    }
  }
  uint32_t t = member_find(g, p->target_id);
  if (t == GOSSIP_NONE) return;
  /* Already suspect (heard from others): our own failed probe is an
   * independent confirmation, which Lifeguard counts. */
  if (g->m[t].state == DC_GOSSIP_ALIVE) g->stats.suspicions++;
  else if (g->m[t].state != DC_GOSSIP_SUSPECT) return;
  struct gossip_msg s = {.type = GMSG_SUSPECT, .id = p->target_id,
                         .incarnation = g->m[t].incarnation, .from = self_id(g)};
  state_suspect(g, &s, now_ms);
}

static void gossip_round(struct dc_gossip *g, int64_t now_ms) {
  g->next_gossip_ms = now_ms + g->cfg.gossip_interval_ms;
  if (!g->nbq) return;
  uint32_t peers[16];
  uint32_t k = g->cfg.gossip_nodes < 16 ? g->cfg.gossip_nodes : 16;
  /* memberlist gossips to the recently dead too, so that a member wrongly
   * declared dead hears the news (and its refutation path) meanwhile. */
  uint32_t n = member_random(g, GOSSIP_NONE, k, peers, now_ms - g->cfg.gossip_to_dead_ms);
  for (uint32_t j = 0; j < n && g->nbq; j++) {
    g->out.len = 0;
    bcast_fill(g, g->cfg.packet_max, true);
    if (g->out.len) g->io.send(g->io.data, &member_meta(g, peers[j])->addr, g->out.data, g->out.len);
  }
}

static void forward_tick(struct dc_gossip *g, int64_t now_ms) {
  for (uint32_t j = 0; j < g->nfwd;) {
    struct gossip_forward *f = &g->fwd[j];
    if (f->nack && !f->nacked && f->nack_at <= now_ms) {
      f->nacked = true;
      struct gossip_msg n = {.type = GMSG_NACK, .seq = f->req_seq};
      send_msg(g, &f->requester, &n);
    }
    if (f->expire_at <= now_ms) {
      g->fwd[j] = g->fwd[--g->nfwd];
      continue;
    }
    j++;
  }
}

void probe_tick(struct dc_gossip *g, int64_t now_ms) {
  if (g->left) return;
  forward_tick(g, now_ms);
  if (g->late_nacks.due && now_ms >= g->late_nacks.due) settle_late_nacks(g);
  struct gossip_probe *p = &g->probe;
  if (p->active && !p->acked && !p->indirect && now_ms >= p->timeout_at) probe_indirect(g, now_ms);
  if (p->active && !p->acked && now_ms >= p->end_at) probe_fail(g, now_ms);
  if (now_ms >= g->next_probe_ms) probe_start(g, now_ms);
  if (now_ms >= g->next_gossip_ms) gossip_round(g, now_ms);
  if (now_ms >= g->next_pp_ms) {
    g->next_pp_ms = now_ms + pp_interval_ms(g);
    uint32_t peer;
    if (member_random(g, GOSSIP_NONE, 1, &peer, -1) == 1) pp_send(g, &member_meta(g, peer)->addr, false, false);
  }
}

int64_t probe_next_deadline(const struct dc_gossip *g) {
  if (g->left) return INT64_MAX;
  int64_t t = g->next_probe_ms;
  if (g->next_gossip_ms < t) t = g->next_gossip_ms;
  if (g->next_pp_ms < t) t = g->next_pp_ms;
  if (g->late_nacks.due && g->late_nacks.due < t) t = g->late_nacks.due;
  const struct gossip_probe *p = &g->probe;
  if (p->active && !p->acked) {
    if (!p->indirect && p->timeout_at < t) t = p->timeout_at;
    if (p->end_at < t) t = p->end_at;
  }
  for (uint32_t j = 0; j < g->nfwd; j++) {
    const struct gossip_forward *f = &g->fwd[j];
    if (f->nack && !f->nacked && f->nack_at < t) t = f->nack_at;
    if (f->expire_at < t) t = f->expire_at;
  }
  return t;
}

void probe_on_ping(struct dc_gossip *g, const struct gossip_msg *m, int64_t now_ms) {
  if (m->id != self_id(g) || g->left) return;
  struct gossip_msg ack = {.type = GMSG_ACK, .seq = m->seq, .has_coord = true,
                           .coord = g->coord};
  g->out.len = 0;
  if (msg_encode(&g->out, &ack)) return;
  /* The pinger holds us at an old incarnation (it missed our refutation):
   * the answer carries the current one, ahead of any queued update. */
  if (g->stale_accused) {
    struct gossip_msg a;
    state_self_alive(g, &a);
    msg_encode(&g->out, &a);
  }
  gossip_send_packet(g, &m->from_addr);
  (void)now_ms;
}

void probe_on_ping_req(struct dc_gossip *g, const struct gossip_msg *m, int64_t now_ms) {
  if (g->left) return;
  if (g->nfwd == GOSSIP_FORWARD_MAX) return; /* overloaded: the requester asks others too */
  struct gossip_forward *f = &g->fwd[g->nfwd++];
  memset(f, 0, sizeof *f);
  f->seq = ++g->seq;
  f->req_seq = m->seq;
  f->requester = m->from_addr;
  f->nack = m->nack;
  /* memberlist: nack at 80% of the probe timeout, give up at the timeout. */
  f->nack_at = now_ms + (int64_t)g->cfg.probe_timeout_ms * 80 / 100;
  f->expire_at = now_ms + g->cfg.probe_timeout_ms;
  struct gossip_msg ping = {.type = GMSG_PING, .seq = f->seq, .id = m->id,
                            .from = self_id(g), .from_addr = *self_addr(g)};
  send_msg(g, &m->addr, &ping);
}

void probe_on_ack(struct dc_gossip *g, const struct gossip_msg *m, int64_t now_ms) {
  struct gossip_probe *p = &g->probe;
  if (p->active && !p->acked && m->seq == p->seq) {
    p->acked = true;
    p->active = false;
    if (!p->indirect) {
      if (g->cfg.lifeguard) gossip_awareness_delta(g, -1);
      if (m->has_coord) vivaldi_update(g, p->target_id, &m->coord, (double)(now_ms - p->sent_ms) / 1000.0);
    }
    return;
  }
  for (uint32_t j = 0; j < g->nfwd; j++) {
    struct gossip_forward *f = &g->fwd[j];
    if (f->seq != m->seq) continue;
    struct gossip_msg ack = {.type = GMSG_ACK, .seq = f->req_seq};
    struct dc_gossip_addr to = f->requester;
    g->fwd[j] = g->fwd[--g->nfwd];
    send_msg(g, &to, &ack);
    return;
  }
}

void probe_on_nack(struct dc_gossip *g, const struct gossip_msg *m) {
  struct gossip_probe *p = &g->probe;
  if (p->active && p->indirect && m->seq == p->seq && p->nacks < p->expected_nacks) p->nacks++;
  else if (g->late_nacks.due && m->seq == g->late_nacks.seq &&
           g->late_nacks.nacks < g->late_nacks.expected)
    g->late_nacks.nacks++;
}

void probe_on_stream_ping(struct dc_gossip *g, const struct gossip_msg *m) {
  /* A ping meant for whoever held this address before us stays
   * unanswered, so the prober's probe fails as it should. */
  if (m->id != self_id(g) || g->left || !g->io.reply_stream) return;
  struct gossip_msg ack = {.type = GMSG_ACK, .seq = m->seq};
  struct dc_buf b = {0};
  if (!msg_encode(&b, &ack)) g->io.reply_stream(g->io.data, b.data, b.len);
  dc_buf_free(&b);
}

void probe_on_stream_ack(struct dc_gossip *g, const struct gossip_msg *m) {
  struct gossip_probe *p = &g->probe;
  /* Only the current probe's, and only as a reprieve: the round trip over
   * a fresh connection says nothing for Vivaldi or our own health. */
  if (p->active && !p->acked && p->indirect && m->seq == p->seq) p->stream_acked = true;
}
