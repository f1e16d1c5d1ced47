/* SPDX-License-Identifier: Apache-2.0
 * Probe target selection, two ways.
 *
 * Shuffled round-robin (memberlist's; cfg.coordinated_probes = false):
 * each member walks its own shuffled list of the table. Every member picks
 * its targets independently, so a given member is probed by about one
 * member per interval as a Poisson process: no probe at all for t
 * intervals with probability e^-t, which is what makes the tail of crash
 * detection long.
 *
 * Coordinated rounds (cfg.coordinated_probes = true): every member ranks
 * the live (alive or suspect) members of its view by a hash of their ids,
 * the ring, and in round r probes the member d(r) places after itself,
 * where d(r) in [1, n-1] is the same for everyone. A shift of a ring is a
 * permutation, so in an agreed view every live member is probed by exactly
 * one member in each round and nobody probes itself. Rounds come from a
 * clock the group shares (io.wall_ms; the simulator's virtual time): round
 * r of a member starts at r * interval + its phase, a fixed offset drawn
 * from its id so that probes do not all fire at once. d(r) follows a Weyl
 * sequence, so successive rounds bring probers far apart on the ring (the
 * independent confirmations Lifeguard waits for) and a view that differs
 * by one member moves d(r) and the ring position by at most one each: the
 * target is then a close neighbour on the ring, and the schedule degrades
 * towards today's random coverage rather than collapsing. The ring's hash
 * takes the epoch (SCHED_EPOCH_ROUNDS rounds) too, so each epoch ranks
 * the members anew and every member's peers are mixed again. No randomness
 * is drawn: the same view, id and round give the same target. */
#include <stdlib.h>
#include <string.h>

#include "gossip/gossip_int.h"

/* Salts keep the ring order and the phase independent of each other and of
 * the member index hash. */
#define SCHED_RING_SALT 0x6a09e667f3bcc909ULL
#define SCHED_PHASE_SALT 0xbb67ae8584caa73bULL
#define SCHED_WEYL 0x9e3779b97f4a7c15ULL /* 2^64 / golden ratio */

static uint64_t ring_key(const struct dc_gossip *g, uint32_t i) {
  /* mix64 is a bijection: distinct ids never tie within an epoch. */
  return gossip_mix64(member_meta(g, i)->id ^ SCHED_RING_SALT ^
                      gossip_mix64((uint64_t)g->ring_epoch));
}

/* First ring position whose key is >= key. */
static uint32_t ring_lower_bound(const struct dc_gossip *g, uint64_t key) {
  uint32_t lo = 0, hi = g->norder;
  while (lo < hi) {
    uint32_t mid = lo + (hi - lo) / 2;
    if (ring_key(g, g->order[mid]) < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

static uint32_t ring_find(const struct dc_gossip *g, uint32_t i) {
  uint32_t p = ring_lower_bound(g, ring_key(g, i));
  return p < g->norder && g->order[p] == i ? p : GOSSIP_NONE;
}

static void ring_insert(struct dc_gossip *g, uint32_t i) {
  uint32_t p = ring_lower_bound(g, ring_key(g, i));
  if (p < g->norder && g->order[p] == i) return;
  memmove(&g->order[p + 1], &g->order[p], (size_t)(g->norder - p) * sizeof *g->order);
  g->order[p] = i;
  g->norder++;
}

static void ring_remove(struct dc_gossip *g, uint32_t i) {
  uint32_t p = ring_find(g, i);
  if (p == GOSSIP_NONE) return;
  g->norder--;
  memmove(&g->order[p], &g->order[p + 1], (size_t)(g->norder - p) * sizeof *g->order);
}

void sched_member_added(struct dc_gossip *g, uint32_t i) {
  if (g->cfg.coordinated_probes) {
    ring_insert(g, i);
    return;
  }
  /* Shuffled: a random place of the order, as memberlist does, so a new
   * member is probed within one round on average. */
  uint32_t pos = g->norder ? (uint32_t)(gossip_rand(g) % (g->norder + 1)) : 0;
  g->order[g->norder++] = i;
  uint32_t t = g->order[pos];
  g->order[pos] = i;
  g->order[g->norder - 1] = t;
}

void sched_liveness(struct dc_gossip *g, uint32_t i, bool live) {
  /* The shuffled order holds every member and skips the dead as it goes. */
  if (!g->cfg.coordinated_probes) return;
  if (live) ring_insert(g, i);
  else ring_remove(g, i);
}

struct ring_ent {
  uint64_t key;
  uint32_t member;
};

static int ring_ent_cmp(const void *a, const void *b) {
  const struct ring_ent *x = a, *y = b;
  return x->key < y->key ? -1 : x->key > y->key;
}

static int64_t floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* Re-ranks the ring for the epoch of a round. Within an epoch the probes
 * of all rounds are shifts of one ring, so each member's peers are one
 * fixed set of ring offsets away; over long runs that shared structure
 * made Vivaldi's coordinates worse (at 3,000 members a median error of
 * 0.136 against 0.125 for independent choices). A new order every epoch
 * mixes the peers again. Without memory for the sort the old order stays:
 * the targets are then those of a view that disagrees. */
static void ring_set_epoch(struct dc_gossip *g, int64_t round) {
  int64_t e = floor_div(round, SCHED_EPOCH_ROUNDS);
  if (e == g->ring_epoch) return;
  struct ring_ent *v = dc_malloc((size_t)(g->norder ? g->norder : 1) * sizeof *v);
  if (!v) return;
  g->ring_epoch = e;
  for (uint32_t k = 0; k < g->norder; k++) v[k] = (struct ring_ent){ring_key(g, g->order[k]), g->order[k]};
  qsort(v, g->norder, sizeof *v, ring_ent_cmp);
  for (uint32_t k = 0; k < g->norder; k++) g->order[k] = v[k].member;
  dc_free(v);
}

uint32_t sched_round_target(struct dc_gossip *g, int64_t round) {
  ring_set_epoch(g, round);
  uint32_t n = g->norder;
  if (n < 2) return GOSSIP_NONE;
  uint32_t p = ring_find(g, g->self);
  if (p == GOSSIP_NONE) return GOSSIP_NONE; /* left: we probe no one */
  uint64_t u = ((uint64_t)round * SCHED_WEYL) >> 32;
  uint32_t d = 1 + (uint32_t)((u * (uint64_t)(n - 1)) >> 32);
  return g->order[((uint64_t)p + d) % n];
}

static int64_t shared_ms(const struct dc_gossip *g, int64_t now_ms) {
  return g->io.wall_ms ? g->io.wall_ms(g->io.data) : now_ms;
}

int64_t sched_phase_ms(const struct dc_gossip *g) {
  return (int64_t)(gossip_mix64(member_meta(g, g->self)->id ^ SCHED_PHASE_SALT) %
                   g->cfg.probe_interval_ms);
}

int64_t sched_first_probe_ms(const struct dc_gossip *g, int64_t now_ms) {
  int64_t I = g->cfg.probe_interval_ms, s = shared_ms(g, now_ms), ph = sched_phase_ms(g);
  int64_t next_start = (floor_div(s - ph, I) + 1) * I + ph;
  return now_ms + (next_start - s);
}

int64_t sched_round_now(const struct dc_gossip *g, int64_t now_ms, int64_t *next_ms) {
  int64_t I = g->cfg.probe_interval_ms, s = shared_ms(g, now_ms), ph = sched_phase_ms(g);
  /* The probe timer fires at the start of a round; the nearest start names
   * the round, so a timer a little late (a busy loop) or a little early
   * (the shared clock and the timer's clock disagree by a few ms) still
   * finds its own round. */
  int64_t r = floor_div(s - ph + I / 2, I);
  int64_t step = gossip_scaled(g, g->cfg.probe_interval_ms) / I; /* Lifeguard's health stretches it */
  int64_t wait = (r + step) * I + ph - s;
  /* The next probe starts at the start of our next round, so timer delays
   * do not add up. A start a little late (up to an eighth of an interval:
   * the jitter of a loop) only shortens this probe by as much; a later one
   * keeps the whole (scaled) interval, as in memberlist, and the next
   * probe skips a round instead of cutting this one short. */
  int64_t full = gossip_scaled(g, g->cfg.probe_interval_ms);
  while (wait < full - I / 8) wait += I;
  *next_ms = now_ms + wait;
  return r;
}

/* Shuffled round-robin: the next member of the order that is alive or
 * suspect, reshuffling after each full pass. */
static uint32_t shuffled_next(struct dc_gossip *g) {
  for (uint32_t tries = 0; tries < 2 * g->norder + 1; tries++) {
    if (g->probe_pos >= g->norder) {
      for (uint32_t i = g->norder; i > 1; i--) {
        uint32_t j = (uint32_t)(gossip_rand(g) % i);
        uint32_t t = g->order[i - 1];
        g->order[i - 1] = g->order[j];
        g->order[j] = t;
      }
      g->probe_pos = 0;
    }
    uint32_t i = g->order[g->probe_pos++];
    if (i != g->self && (g->m[i].state == DC_GOSSIP_ALIVE || g->m[i].state == DC_GOSSIP_SUSPECT))
      return i;
  }
  return GOSSIP_NONE;
}

uint32_t sched_next_target(struct dc_gossip *g, int64_t now_ms, int64_t *next_ms) {
  if (!g->cfg.coordinated_probes) {
    *next_ms = now_ms + gossip_scaled(g, g->cfg.probe_interval_ms);
    return shuffled_next(g);
  }
  return sched_round_target(g, sched_round_now(g, now_ms, next_ms));
}
