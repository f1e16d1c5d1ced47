/* SPDX-License-Identifier: Apache-2.0
 * Vivaldi network coordinates (Dabek, Cox, Kaashoek, Morris 2004) with a
 * height vector, the adjustment term and gravity, exactly as Serf's
 * coordinate package does it (8 dimensions, ce = cc = 0.25, error max 1.5,
 * a median-of-3 latency filter per peer, 20-sample adjustment window,
 * gravity rho 150). Distances are seconds. */
#include <math.h>
#include <string.h>

#include "gossip/gossip_int.h"

#define VIV_ERROR_MAX 1.5
#define VIV_CE 0.25
#define VIV_CC 0.25
#define VIV_HEIGHT_MIN 10.0e-6
#define VIV_GRAVITY_RHO 150.0
#define VIV_ZERO 1.0e-6
#define VIV_ADJ_WINDOW 20

void vivaldi_init(struct dc_vivaldi *c) {
  memset(c, 0, sizeof *c);
  c->error = VIV_ERROR_MAX;
  c->height = VIV_HEIGHT_MIN;
}

static double raw_distance(const struct dc_vivaldi *a, const struct dc_vivaldi *b) {
  double s = 0;
  for (int i = 0; i < DC_VIVALDI_DIM; i++) {
    double d = a->vec[i] - b->vec[i];
    s += d * d;
  }
  return sqrt(s) + a->height + b->height;
}

double dc_vivaldi_distance(const struct dc_vivaldi *a, const struct dc_vivaldi *b) {
  double dist = raw_distance(a, b);
  double adj = dist + a->adjustment + b->adjustment;
  return adj > 0.0 ? adj : dist;
}

static void apply_force(struct dc_gossip *g, struct dc_vivaldi *c, double force,
                        const struct dc_vivaldi *other) {
  double unit[DC_VIVALDI_DIM], mag = 0;
  for (int i = 0; i < DC_VIVALDI_DIM; i++) {
    unit[i] = c->vec[i] - other->vec[i];
    mag += unit[i] * unit[i];
  }
  mag = sqrt(mag);
  if (mag > VIV_ZERO) {
    for (int i = 0; i < DC_VIVALDI_DIM; i++) unit[i] /= mag;
  } else {
    /* Coincident points: push in a random direction. */
    double m2 = 0;
    for (int i = 0; i < DC_VIVALDI_DIM; i++) {
      unit[i] = (double)(gossip_rand(g) >> 11) / 9007199254740992.0 - 0.5;
      m2 += unit[i] * unit[i];
    }
    m2 = sqrt(m2);
    for (int i = 0; i < DC_VIVALDI_DIM; i++) unit[i] = m2 > 0 ? unit[i] / m2 : 0;
    mag = 0;
  }
  for (int i = 0; i < DC_VIVALDI_DIM; i++) c->vec[i] += unit[i] * force;
  if (mag > VIV_ZERO) {
    c->height = (c->height + other->height) * force / mag + c->height;
    if (c->height < VIV_HEIGHT_MIN) c->height = VIV_HEIGHT_MIN;
  }
}

static double filter(struct dc_gossip *g, uint64_t peer, double rtt) {
  struct gossip_viv_slot *s = &g->viv[gossip_mix64(peer) % GOSSIP_VIV_CACHE];
  if (s->id != peer) {
    memset(s, 0, sizeof *s);
    s->id = peer;
  }
  s->rtt[s->next] = rtt;
  s->next = (s->next + 1) % GOSSIP_VIV_FILTER;
  if (s->n < GOSSIP_VIV_FILTER) s->n++;
  double v[GOSSIP_VIV_FILTER];
  memcpy(v, s->rtt, sizeof v);
  for (uint32_t i = 1; i < s->n; i++)
    for (uint32_t j = i; j > 0 && v[j - 1] > v[j]; j--) {
      double t = v[j];
      v[j] = v[j - 1];
      v[j - 1] = t;
    }
  return v[s->n / 2];
}

void vivaldi_update(struct dc_gossip *g, uint64_t peer, const struct dc_vivaldi *other,
                    double rtt_s) {
  if (!(rtt_s >= 0) || rtt_s > 10.0) return; /* Serf refuses RTTs over 10 s */
  double rtt = filter(g, peer, rtt_s);
  if (g->pcoord) {
    struct gossip_peer_coord *pc = &g->pcoord[gossip_mix64(peer) % g->cfg.peer_coords];
    *pc = (struct gossip_peer_coord){peer, rtt, *other};
  }
  struct dc_vivaldi *c = &g->coord;
  /* Vivaldi step. */
  double dist = dc_vivaldi_distance(c, other);
  if (rtt < VIV_ZERO) rtt = VIV_ZERO;
  double wrongness = fabs(dist - rtt) / rtt;
  double total = c->error + other->error;
  if (total < VIV_ZERO) total = VIV_ZERO;
  double weight = c->error / total;
  c->error = VIV_CE * weight * wrongness + c->error * (1.0 - VIV_CE * weight);
  if (c->error > VIV_ERROR_MAX) c->error = VIV_ERROR_MAX;
  apply_force(g, c, VIV_CC * weight * (rtt - dist), other);
  /* Adjustment: the mean residual over a window, halved (both ends add it). */
  g->viv_adj[g->viv_adj_i] = rtt - raw_distance(c, other);
  g->viv_adj_i = (g->viv_adj_i + 1) % VIV_ADJ_WINDOW;
  double sum = 0;
  for (int i = 0; i < VIV_ADJ_WINDOW; i++) sum += g->viv_adj[i];
  c->adjustment = sum / (2.0 * VIV_ADJ_WINDOW);
  /* Gravity toward the origin keeps the whole system from drifting. */
  struct dc_vivaldi origin;
  vivaldi_init(&origin);
  double d0 = dc_vivaldi_distance(&origin, c);
  apply_force(g, c, -1.0 * pow(d0 / VIV_GRAVITY_RHO, 2.0), &origin);
  for (int i = 0; i < DC_VIVALDI_DIM; i++)
    if (!isfinite(c->vec[i])) { /* Serf resets on NaN/Inf */
      vivaldi_init(c);
      return;
    }
}

int dc_gossip_peer_coord(const struct dc_gossip *g, uint64_t id, struct dc_vivaldi *coord,
                         double *rtt_s) {
  if (!g->pcoord || !id) return DC_ENOTFOUND;
  const struct gossip_peer_coord *pc = &g->pcoord[gossip_mix64(id) % g->cfg.peer_coords];
  if (pc->id != id) return DC_ENOTFOUND;
  if (coord) *coord = pc->coord;
  if (rtt_s) *rtt_s = pc->rtt;
  return DC_OK;
}
