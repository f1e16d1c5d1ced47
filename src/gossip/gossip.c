/* SPDX-License-Identifier: Apache-2.0
 * The instance: creation, the packet dispatcher, timers and views. */
#include <string.h>

#include "gossip/gossip_int.h"

void dc_gossip_config_swim(struct dc_gossip_config *c) {
  memset(c, 0, sizeof *c);
  c->probe_interval_ms = 1000;
  c->probe_timeout_ms = 500;
  c->indirect_checks = 3;
  c->suspicion_mult = DC_GOSSIP_MEMBERLIST_SUSP_MULT;
  c->suspicion_max_mult = 6;
  c->suspicion_confirmations = 2;
  c->awareness_max = 8;
  c->retransmit_mult = 4;
  c->gossip_interval_ms = 200;
  c->gossip_nodes = 3;
  c->push_pull_interval_ms = 30000;
  c->dead_reclaim_ms = 30000;
  c->gossip_to_dead_ms = 30000;
  c->packet_max = DC_GOSSIP_FRAME_MAX - DC_GOSSIP_SEAL_OVERHEAD;
  c->tcp_ping = true; /* memberlist: DisableTcpPings = false */
}

void dc_gossip_config_default(struct dc_gossip_config *c) {
  dc_gossip_config_swim(c);
  c->lifeguard = true;
  c->coordinated_probes = true;
  c->suspicion_checks = true;
  /* The same maximum as memberlist's (24 log10 N intervals) with a
   * minimum a quarter of its own: confirmations, not the clock, end a
   * suspicion. An update's sends are capped, then end with a pull on
   * probe traffic (docs/gossip.md, "Timing and dissemination"). */
  c->suspicion_mult = 1;
  c->suspicion_max_mult = 24;
  c->retransmit_max = 12;
  c->retransmit_tail = 2;
}

int dc_gossip_new(const struct dc_gossip_config *cfg, const struct dc_gossip_io *io,
                  struct dc_gossip_dir *dir, const uint8_t *tags, size_t tags_len,
                  int64_t now_ms, struct dc_gossip **out) {
  *out = NULL;
  if (!cfg->self_id || !io->rand || !io->send || !io->send_stream ||
      tags_len > DC_GOSSIP_TAGS_MAX || (tags_len && !tags) ||
      cfg->packet_max < 128 || cfg->packet_max > DC_GOSSIP_FRAME_MAX - DC_GOSSIP_SEAL_OVERHEAD ||
      !cfg->probe_interval_ms || !cfg->probe_timeout_ms ||
      cfg->probe_timeout_ms > cfg->probe_interval_ms || !cfg->awareness_max ||
      !cfg->gossip_interval_ms || !cfg->push_pull_interval_ms || !cfg->suspicion_mult ||
      !cfg->suspicion_max_mult || !cfg->retransmit_mult ||
      cfg->suspicion_confirmations > GOSSIP_SUSP_CONFIRM_MAX ||
      (cfg->self_addr.family != 4 && cfg->self_addr.family != 6))
    return DC_EINVAL;
  struct dc_gossip *g = dc_calloc(1, sizeof *g);
  if (!g) return DC_ENOMEM;
  g->cfg = *cfg;
  g->io = *io;
  g->out.max = cfg->packet_max;
  g->dir = dir;
  int rc = DC_OK;
  if (!dir) {
    rc = dc_gossip_dir_new(&g->dir);
    g->own_dir = true;
  }
  if (!rc) {
    g->index_cap = 64;
    g->index = dc_calloc(g->index_cap, sizeof *g->index);
    if (!g->index) rc = DC_ENOMEM;
  }
  if (!rc && cfg->peer_coords) {
    g->pcoord = dc_calloc(cfg->peer_coords, sizeof *g->pcoord);
    if (!g->pcoord) rc = DC_ENOMEM;
  }
  if (!rc) rc = member_add(g, cfg->self_id, &cfg->self_addr, tags, tags_len, 0, now_ms, &g->self);
  if (rc) {
    dc_gossip_free(g);
    return rc;
  }
  vivaldi_init(&g->coord);
  /* Spread the first timers over one interval so that nodes started
   * together do not probe in lockstep. */
  if (cfg->coordinated_probes)
    g->next_probe_ms = sched_first_probe_ms(g, now_ms); /* at our phase of the next round */
  else
    g->next_probe_ms = now_ms + (int64_t)(gossip_rand(g) % cfg->probe_interval_ms);
  g->next_gossip_ms = now_ms + (int64_t)(gossip_rand(g) % cfg->gossip_interval_ms);
  g->next_pp_ms = now_ms + cfg->push_pull_interval_ms +
                  (int64_t)(gossip_rand(g) % cfg->push_pull_interval_ms);
  *out = g;
  return DC_OK;
}

void dc_gossip_free(struct dc_gossip *g) {
  if (!g) return;
  if (g->dir)
    for (uint32_t i = 0; i < g->nm; i++) dir_release(g->dir, g->m[i].meta);
  if (g->own_dir) dc_gossip_dir_free(g->dir);
  bcast_free(g);
  dc_free(g->m);
  dc_free(g->order);
  dc_free(g->index);
  dc_free(g->susp);
  dc_free(g->pcoord);
  dc_buf_free(&g->out);
  dc_buf_free(&g->scratch);
  dc_free(g);
}

int dc_gossip_join(struct dc_gossip *g, const struct dc_gossip_addr *seeds, size_t n,
                   int64_t now_ms) {
  if (!n) return DC_EINVAL;
  for (size_t i = 0; i < n; i++) pp_send(g, &seeds[i], true, false);
  (void)now_ms;
  return DC_OK;
}

int dc_gossip_seed(struct dc_gossip *g, uint64_t id, const struct dc_gossip_addr *addr,
                   const uint8_t *tags, size_t tags_len, uint32_t incarnation) {
  if (!id || tags_len > DC_GOSSIP_TAGS_MAX || (addr->family != 4 && addr->family != 6))
    return DC_EINVAL;
  if (member_find(g, id) != GOSSIP_NONE) return DC_EEXISTS;
  uint32_t i;
  return member_add(g, id, addr, tags, tags_len, incarnation, 0, &i);
}

int dc_gossip_set_tags(struct dc_gossip *g, const uint8_t *tags, size_t n, int64_t now_ms) {
  if (n > DC_GOSSIP_TAGS_MAX || (n && !tags)) return DC_EINVAL;
  const struct gossip_meta *e = member_meta(g, g->self);
  uint32_t meta = dir_intern(g->dir, e->id, &e->addr, tags, n);
  if (meta == GOSSIP_NONE) return DC_ENOMEM;
  dir_release(g->dir, g->m[g->self].meta);
  g->m[g->self].meta = meta;
  g->m[g->self].incarnation = ++g->incarnation;
  struct gossip_msg a;
  state_self_alive(g, &a);
  bcast_queue(g, &a);
  (void)now_ms;
  return DC_OK;
}

void dc_gossip_leave(struct dc_gossip *g, int64_t now_ms) {
  uint64_t id = member_meta(g, g->self)->id;
  struct gossip_msg d = {.type = GMSG_DEAD, .id = id, .incarnation = g->incarnation, .from = id};
  bcast_queue(g, &d);
  /* Push the leave out at once; the caller closes after a short linger. */
  uint32_t peers[8];
  uint32_t n = member_random(g, GOSSIP_NONE, 3, peers, -1);
  for (uint32_t j = 0; j < n; j++) {
    g->out.len = 0;
    bcast_fill(g, g->cfg.packet_max, true);
    if (g->out.len) g->io.send(g->io.data, &member_meta(g, peers[j])->addr, g->out.data, g->out.len);
  }
  g->left = true;
  member_set_state(g, g->self, DC_GOSSIP_LEFT, now_ms);
}

static void dispatch(struct dc_gossip *g, const struct gossip_msg *m, int64_t now_ms) {
  switch (m->type) {
  case GMSG_PING: probe_on_ping(g, m, now_ms); break;
  case GMSG_PING_REQ: probe_on_ping_req(g, m, now_ms); break;
  case GMSG_ACK: probe_on_ack(g, m, now_ms); break;
  case GMSG_NACK: probe_on_nack(g, m); break;
  case GMSG_ALIVE: state_alive(g, m, now_ms, false); break;
  case GMSG_SUSPECT: state_suspect(g, m, now_ms); break;
  case GMSG_DEAD: state_dead(g, m, now_ms); break;
  default: break;
  }
}

int dc_gossip_recv(struct dc_gossip *g, const uint8_t *p, size_t n, int64_t now_ms) {
  struct dc_reader r;
  struct gossip_msg m;
  /* Check the whole packet first: a malformed one changes nothing. */
  dc_reader_init(&r, p, n);
  size_t count = 0;
  while (dc_reader_left(&r)) {
    if (msg_decode(&r, &m) || m.type == GMSG_PUSHPULL) {
      g->stats.malformed++;
      return DC_EPROTO;
    }
    count++;
  }
  if (!count) {
    g->stats.malformed++;
    return DC_EPROTO;
  }
  /* With suspicion checks, updates go first and pings after, so that an
   * answer carries what the packet taught us (the refutation of a
   * suspicion it brought). memberlist (plain SWIM) answers in order. */
  bool pings_last = g->cfg.lifeguard && g->cfg.suspicion_checks;
  g->stale_accused = false; /* set by this packet only (a stream may have set it) */
  for (int pass = 0; pass < (pings_last ? 2 : 1); pass++) {
    dc_reader_init(&r, p, n);
    while (dc_reader_left(&r)) {
      msg_decode(&r, &m);
      if (!pings_last || (m.type == GMSG_PING) == (pass == 1)) dispatch(g, &m, now_ms);
    }
  }
  return DC_OK;
}

void dc_gossip_tick(struct dc_gossip *g, int64_t now_ms) {
  state_tick(g, now_ms);
  probe_tick(g, now_ms);
}

int64_t dc_gossip_next_deadline(const struct dc_gossip *g) {
  int64_t a = state_next_deadline(g), b = probe_next_deadline(g);
  return a < b ? a : b;
}

const struct dc_vivaldi *dc_gossip_coord(const struct dc_gossip *g) { return &g->coord; }
uint32_t dc_gossip_awareness(const struct dc_gossip *g) { return g->awareness; }
uint32_t dc_gossip_incarnation(const struct dc_gossip *g) { return g->incarnation; }
void dc_gossip_get_stats(const struct dc_gossip *g, struct dc_gossip_stats *out) {
  *out = g->stats;
}
