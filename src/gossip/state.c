/* SPDX-License-Identifier: Apache-2.0
 * The SWIM state rules. Incarnation numbers order every message about a
 * member: a higher one wins, and only the member itself raises it (to
 * refute a suspicion). Suspicion timers follow memberlist: plain SWIM uses
 * a fixed timeout; Lifeguard starts at the maximum and shrinks it on a log
 * scale as independent confirmations arrive. */
#include <math.h>
#include <string.h>

#include "gossip/gossip_int.h"

int64_t dc_gossip_suspicion_min_ms(uint32_t mult, size_t n, uint32_t interval_ms) {
  double scale = n > 1 ? log10((double)n) : 0.0;
  if (scale < 1.0) scale = 1.0;
  return (int64_t)floor((double)mult * scale * (double)interval_ms);
}

int64_t dc_gossip_suspicion_timeout_ms(uint32_t c, uint32_t k, int64_t min_ms,
                                       int64_t max_ms) {
  if (k == 0) return min_ms;
  double frac = log((double)c + 1.0) / log((double)k + 1.0);
  double raw = (double)max_ms - frac * (double)(max_ms - min_ms);
  int64_t t = (int64_t)floor(raw);
  return t < min_ms ? min_ms : t;
}

static void queue_and_emit(struct dc_gossip *g, const struct gossip_msg *m) {
  bcast_queue(g, m);
}

void state_self_alive(const struct dc_gossip *g, struct gossip_msg *out) {
  const struct gossip_meta *e = member_meta(g, g->self);
  *out = (struct gossip_msg){.type = GMSG_ALIVE, .id = e->id, .incarnation = g->incarnation,
                             .addr = e->addr, .tags = e->tags, .tags_len = e->tags_len};
}

void state_refute(struct dc_gossip *g, uint32_t accused_inc, int64_t now_ms) {
  if (g->left) return;
  g->incarnation = (accused_inc >= g->incarnation ? accused_inc : g->incarnation) + 1;
  g->m[g->self].incarnation = g->incarnation;
  g->stats.refutations++;
  /* Lifeguard: being suspected is a hint that we are the slow one. */
  if (g->cfg.lifeguard) gossip_awareness_delta(g, 1);
  struct gossip_msg a;
  state_self_alive(g, &a);
  queue_and_emit(g, &a);
  (void)now_ms;
}

/* Whoever sent this packet holds us suspect or dead at an incarnation we
 * have already refuted; if the packet is a ping, its ack carries the
 * current one (probe_on_ping). */
static void note_stale_accusation(struct dc_gossip *g) {
  if (g->cfg.lifeguard && g->cfg.suspicion_checks) g->stale_accused = true;
}

void state_alive(struct dc_gossip *g, const struct gossip_msg *m, int64_t now_ms,
                 bool bootstrap) {
  if (m->id == member_meta(g, g->self)->id) {
    /* Someone holds a newer incarnation of us (we restarted): outbid it. */
    if (m->incarnation > g->incarnation && !bootstrap) state_refute(g, m->incarnation, now_ms);
    return;
  }
  uint32_t i = member_find(g, m->id);
  if (i == GOSSIP_NONE) {
    if (member_add(g, m->id, &m->addr, m->tags, m->tags_len, m->incarnation, now_ms, &i))
      return;
    if (!bootstrap) {
      bcast_queue(g, m);
      member_emit(g, i, DC_GOSSIP_EV_JOIN, false);
    }
    return;
  }
  struct gossip_member *mb = &g->m[i];
  const struct gossip_meta *e = member_meta(g, i);
  bool moved = !gossip_addr_eq(&e->addr, &m->addr);
  bool reclaim = (mb->state == DC_GOSSIP_DEAD || mb->state == DC_GOSSIP_LEFT) && moved &&
                 now_ms - mb->change_ms > (int64_t)g->cfg.dead_reclaim_ms;
  if (m->incarnation <= mb->incarnation && !reclaim) return;
  bool changed = moved || e->tags_len != m->tags_len ||
                 (m->tags_len && memcmp(e->tags, m->tags, m->tags_len));
  if (changed) {
    uint32_t meta = dir_intern(g->dir, m->id, &m->addr, m->tags, m->tags_len);
    if (meta == GOSSIP_NONE) return;
    dir_release(g->dir, mb->meta);
    mb->meta = meta;
  }
  bool was_down = mb->state == DC_GOSSIP_DEAD || mb->state == DC_GOSSIP_LEFT;
  mb->incarnation = m->incarnation;
  member_set_state(g, i, DC_GOSSIP_ALIVE, now_ms);
  bcast_queue(g, m);
  member_emit(g, i, was_down ? DC_GOSSIP_EV_JOIN : DC_GOSSIP_EV_UPDATE, false);
}

void susp_remove(struct dc_gossip *g, uint32_t member) {
  uint32_t s = g->m[member].susp;
  if (s == GOSSIP_NONE) return;
  g->m[member].susp = GOSSIP_NONE;
  g->susp[s] = g->susp[--g->nsusp];
  if (s < g->nsusp) g->m[g->susp[s].member].susp = s;
}

static void susp_start(struct dc_gossip *g, uint32_t i, const struct gossip_msg *m,
                       int64_t now_ms) {
  if (g->nsusp == g->cap_susp) {
    uint32_t nc = g->cap_susp ? g->cap_susp * 2 : 16;
    struct gossip_susp *v = dc_realloc(g->susp, (size_t)nc * sizeof *v);
    if (!v) return; /* no timer: the member stays suspect until refuted or reported dead */
    g->susp = v;
    g->cap_susp = nc;
  }
  struct gossip_susp *s = &g->susp[g->nsusp];
  memset(s, 0, sizeof *s);
  s->member = i;
  s->incarnation = m->incarnation;
  s->from = m->from;
  s->start_ms = now_ms;
  s->min_ms = dc_gossip_suspicion_min_ms(g->cfg.suspicion_mult, g->alive,
                                         g->cfg.probe_interval_ms);
  if (g->cfg.lifeguard) {
    s->max_ms = s->min_ms * g->cfg.suspicion_max_mult;
    /* None in tiny clusters, where there is nobody left to confirm
     * (memberlist's rule). With no confirmation to wait for, a minimum
     * below memberlist's would be all that stands between one lost probe
     * and a death, so such a suspicion keeps memberlist's fixed timeout. */
    uint32_t k = g->cfg.suspicion_confirmations;
    if (g->alive < k + 2) k = 0;
    s->k = k;
    if (!k) {
      int64_t alone = dc_gossip_suspicion_min_ms(DC_GOSSIP_MEMBERLIST_SUSP_MULT, g->alive,
                                                 g->cfg.probe_interval_ms);
      if (s->min_ms < alone) s->min_ms = alone;
    }
  } else {
    s->max_ms = s->min_ms;
    s->k = 0;
  }
  s->deadline_ms = now_ms + dc_gossip_suspicion_timeout_ms(0, s->k, s->min_ms, s->max_ms);
  /* A suspicion still held near its end may be one whose refutation we
   * missed: ask the suspect (state_tick, susp_check_at). */
  s->check_ms = g->cfg.lifeguard && g->cfg.suspicion_checks && s->k ? now_ms + s->min_ms
                                                                       : INT64_MAX;
  g->m[i].susp = g->nsusp++;
}

/* Lifeguard: an accusation from a new member shortens the timer. */
static bool susp_confirm(struct dc_gossip *g, struct gossip_susp *s, uint64_t from) {
  if (s->n >= s->k || from == s->from) return false;
  for (uint32_t j = 0; j < s->n && j < GOSSIP_SUSP_CONFIRM_MAX; j++)
    if (s->confirmers[j] == from) return false;
  if (s->n < GOSSIP_SUSP_CONFIRM_MAX) s->confirmers[s->n] = from;
  s->n++;
  s->deadline_ms = s->start_ms + dc_gossip_suspicion_timeout_ms(s->n, s->k, s->min_ms,
                                                                s->max_ms);
  return true;
}

void state_suspect(struct dc_gossip *g, const struct gossip_msg *m, int64_t now_ms) {
  if (m->id == member_meta(g, g->self)->id) {
    if (m->incarnation >= g->incarnation) state_refute(g, m->incarnation, now_ms);
    else note_stale_accusation(g);
    return;
  }
  uint32_t i = member_find(g, m->id);
  if (i == GOSSIP_NONE) return;
  struct gossip_member *mb = &g->m[i];
  if (m->incarnation < mb->incarnation) return;
  if (mb->state == DC_GOSSIP_SUSPECT) {
    if (mb->susp != GOSSIP_NONE && m->incarnation == mb->incarnation &&
        susp_confirm(g, &g->susp[mb->susp], m->from))
      bcast_queue(g, m); /* pass the confirmation on */
    return;
  }
  if (mb->state != DC_GOSSIP_ALIVE) return;
  mb->incarnation = m->incarnation;
  member_set_state(g, i, DC_GOSSIP_SUSPECT, now_ms);
  susp_start(g, i, m, now_ms);
  bcast_queue(g, m);
  member_emit(g, i, DC_GOSSIP_EV_SUSPECT, false);
}

static void mark_dead(struct dc_gossip *g, uint32_t i, const struct gossip_msg *m,
                      int64_t now_ms, bool by_self) {
  g->m[i].incarnation = m->incarnation;
  member_set_state(g, i, m->from == m->id ? DC_GOSSIP_LEFT : DC_GOSSIP_DEAD, now_ms);
  bcast_queue(g, m);
  if (by_self) g->stats.declared_dead++;
  member_emit(g, i, DC_GOSSIP_EV_DEAD, by_self);
}

void state_dead(struct dc_gossip *g, const struct gossip_msg *m, int64_t now_ms) {
  uint64_t self_id = member_meta(g, g->self)->id;
  if (m->id == self_id) {
    if (m->from == self_id) return; /* our own leave */
    if (m->incarnation >= g->incarnation) state_refute(g, m->incarnation, now_ms);
    else note_stale_accusation(g);
    return;
  }
  uint32_t i = member_find(g, m->id);
  if (i == GOSSIP_NONE) return;
  struct gossip_member *mb = &g->m[i];
  if (m->incarnation < mb->incarnation) return;
  if (mb->state == DC_GOSSIP_DEAD || mb->state == DC_GOSSIP_LEFT) return;
  mark_dead(g, i, m, now_ms, false);
}

/* When the suspicion check of sp is due (suspicion_checks). */
static int64_t susp_check_at(const struct dc_gossip *g, const struct gossip_susp *sp) {
  if (sp->n < sp->k || sp->check_ms == INT64_MAX) return sp->check_ms;
  /* Confirmed: the timer fires at the minimum; the last check goes one
   * probe timeout ahead of it so that an answer can still arrive. */
  int64_t t = sp->deadline_ms - g->cfg.probe_timeout_ms;
  return t < sp->start_ms ? sp->start_ms : t;
}

void state_tick(struct dc_gossip *g, int64_t now_ms) {
  for (uint32_t s = 0; s < g->nsusp;) {
    struct gossip_susp *sp = &g->susp[s];
    if (sp->deadline_ms > now_ms) {
      s++;
      continue;
    }
    uint32_t i = sp->member;
    struct gossip_msg d = {.type = GMSG_DEAD, .id = member_meta(g, i)->id,
                           .incarnation = sp->incarnation,
                           .from = member_meta(g, g->self)->id};
    DC_DEBUG("gossip", "member=%016llx declared=dead incarnation=%u",
             (unsigned long long)d.id, d.incarnation);
    mark_dead(g, i, &d, now_ms, true); /* removes sp: s now holds another */
  }
  for (uint32_t s = 0; s < g->nsusp; s++) {
    struct gossip_susp *sp = &g->susp[s];
    if (susp_check_at(g, sp) > now_ms) continue;
    /* Unconfirmed: again every half minimum timeout, as a check or its
     * answer may be lost. Confirmed: once, just before the timer fires. */
    if (sp->n < sp->k) sp->check_ms = now_ms + (sp->min_ms / 2 > 1 ? sp->min_ms / 2 : 1);
    else sp->check_ms = INT64_MAX;
    probe_check(g, sp->member);
  }
}

int64_t state_next_deadline(const struct dc_gossip *g) {
  int64_t t = INT64_MAX;
  for (uint32_t s = 0; s < g->nsusp; s++) {
    const struct gossip_susp *sp = &g->susp[s];
    if (sp->deadline_ms < t) t = sp->deadline_ms;
    int64_t c = susp_check_at(g, sp);
    if (c < t) t = c;
  }
  return t;
}
