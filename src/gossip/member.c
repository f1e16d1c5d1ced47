/* SPDX-License-Identifier: Apache-2.0
 * The member table: compact entries, an id → index hash (open addressing),
 * random peer choice and events (the probe order is in schedule.c). Members are
 * never removed: a dead member keeps its entry so that its incarnation
 * still orders later messages about it, and a rejoin reuses the entry. */
#include <string.h>

#include "gossip/gossip_int.h"

static uint32_t slot_of(uint64_t id, uint32_t cap) {
  return (uint32_t)gossip_mix64(id) & (cap - 1);
}

uint32_t member_find(const struct dc_gossip *g, uint64_t id) {
  for (uint32_t s = slot_of(id, g->index_cap);; s = (s + 1) & (g->index_cap - 1)) {
    uint32_t v = g->index[s];
    if (!v) return GOSSIP_NONE;
    if (member_meta(g, v - 1)->id == id) return v - 1;
  }
}

static int index_grow(struct dc_gossip *g) {
  uint32_t cap = g->index_cap ? g->index_cap * 2 : 64;
  uint32_t *ix = dc_calloc(cap, sizeof *ix);
  if (!ix) return DC_ENOMEM;
  for (uint32_t i = 0; i < g->nm; i++) {
    uint32_t s = slot_of(member_meta(g, i)->id, cap);
    while (ix[s]) s = (s + 1) & (cap - 1);
    ix[s] = i + 1;
  }
  dc_free(g->index);
  g->index = ix;
  g->index_cap = cap;
  return DC_OK;
}

int member_add(struct dc_gossip *g, uint64_t id, const struct dc_gossip_addr *addr,
               const uint8_t *tags, size_t tags_len, uint32_t inc, int64_t now_ms,
               uint32_t *out) {
  if (g->nm >= DC_GOSSIP_MEMBERS_MAX) return DC_ETOOBIG;
  if (g->nm == g->cap_m) {
    uint32_t nc = g->cap_m ? g->cap_m * 2 : 16;
    struct gossip_member *m = dc_realloc(g->m, (size_t)nc * sizeof *m);
    if (!m) return DC_ENOMEM;
    g->m = m;
    uint32_t *o = dc_realloc(g->order, (size_t)nc * sizeof *o);
    if (!o) return DC_ENOMEM;
    g->order = o;
    g->cap_m = nc;
    g->cap_order = nc;
  }
  if ((g->nm + 1) * 2 > g->index_cap && index_grow(g)) return DC_ENOMEM;
  uint32_t meta = dir_intern(g->dir, id, addr, tags, tags_len);
  if (meta == GOSSIP_NONE) return DC_ENOMEM;
  uint32_t i = g->nm++;
  g->m[i] = (struct gossip_member){.change_ms = now_ms, .meta = meta,
                                   .incarnation = inc, .susp = GOSSIP_NONE,
                                   .state = DC_GOSSIP_ALIVE};
  uint32_t s = slot_of(id, g->index_cap);
  while (g->index[s]) s = (s + 1) & (g->index_cap - 1);
  g->index[s] = i + 1;
  g->alive++;
  sched_member_added(g, i);
  *out = i;
  return DC_OK;
}

static bool live(uint8_t s) { return s == DC_GOSSIP_ALIVE || s == DC_GOSSIP_SUSPECT; }

void member_set_state(struct dc_gossip *g, uint32_t i, uint8_t state, int64_t now_ms) {
  struct gossip_member *m = &g->m[i];
  if (live(m->state) && !live(state)) {
    g->alive--;
    sched_liveness(g, i, false);
  }
  if (!live(m->state) && live(state)) {
    g->alive++;
    sched_liveness(g, i, true);
  }
  if (m->state != state) m->change_ms = now_ms;
  m->state = state;
  if (state != DC_GOSSIP_SUSPECT && m->susp != GOSSIP_NONE) susp_remove(g, i);
}

void member_emit(struct dc_gossip *g, uint32_t i, enum dc_gossip_event_type t,
                 bool by_self) {
  if (!g->io.event) return;
  const struct gossip_meta *e = member_meta(g, i);
  struct dc_gossip_event ev = {
      .type = t, .id = e->id, .incarnation = g->m[i].incarnation,
      .state = g->m[i].state, .by_self = by_self,
      .left = g->m[i].state == DC_GOSSIP_LEFT, .addr = &e->addr,
      .tags = e->tags, .tags_len = e->tags_len};
  g->io.event(g->io.data, &ev);
}

uint32_t member_random(struct dc_gossip *g, uint32_t skip, uint32_t k, uint32_t *out,
                       int64_t dead_since_ms) {
  uint32_t n = 0;
  if (g->nm <= 1) return 0;
  /* Rejection sampling: cheap at any size while most members are alive;
   * the attempt bound keeps it finite when few are. */
  for (uint32_t tries = 0; n < k && tries < 8 * k + 32; tries++) {
    uint32_t i = (uint32_t)(gossip_rand(g) % g->nm);
    if (i == g->self || i == skip) continue;
    if (!live(g->m[i].state) && (dead_since_ms < 0 || g->m[i].change_ms < dead_since_ms)) continue;
    bool dup = false;
    for (uint32_t j = 0; j < n; j++) dup |= out[j] == i;
    if (!dup) out[n++] = i;
  }
  return n;
}

size_t dc_gossip_count(const struct dc_gossip *g) { return g->nm; }
size_t dc_gossip_alive_count(const struct dc_gossip *g) { return g->alive; }

int dc_gossip_member_at(const struct dc_gossip *g, size_t i,
                        struct dc_gossip_member_info *out) {
  if (i >= g->nm) return DC_ENOTFOUND;
  const struct gossip_meta *e = member_meta(g, (uint32_t)i);
  *out = (struct dc_gossip_member_info){
      .id = e->id, .addr = e->addr, .incarnation = g->m[i].incarnation,
      .state = g->m[i].state, .state_change_ms = g->m[i].change_ms,
      .tags = e->tags, .tags_len = e->tags_len};
  return DC_OK;
}

int dc_gossip_member_get(const struct dc_gossip *g, uint64_t id,
                         struct dc_gossip_member_info *out) {
  uint32_t i = member_find(g, id);
  if (i == GOSSIP_NONE) return DC_ENOTFOUND;
  return dc_gossip_member_at(g, i, out);
}

const char *dc_gossip_state_name(int s) {
  switch (s) {
  case DC_GOSSIP_ALIVE: return "alive";
  case DC_GOSSIP_SUSPECT: return "suspect";
  case DC_GOSSIP_DEAD: return "dead";
  case DC_GOSSIP_LEFT: return "left";
  }
  return "unknown";
}
