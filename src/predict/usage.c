/* SPDX-License-Identifier: Apache-2.0
 * Usage right-sizing: from one series' past usage of one resource (a VM's
 * memory, a task's CPU), recommend how much to reserve next.
 *
 * learned: the recent peak (max of the last `window` samples) times a
 *   learned headroom exp(theta), blended toward the series' request while
 *   its history is short. theta tracks the (1 - overrun_target) quantile of
 *   log(usage / recent peak) by online quantile regression
 *   (theta += eta * (over - target)), so in the long run the share of
 *   samples over the recommendation is at most the target, whatever the
 *   series looks like. With a pool, theta is learned across every series
 *   in it (the fleet): a 0.05% quantile needs thousands of samples, and a
 *   VM's month holds only a handful of such jumps, so per-series estimates
 *   swing between too little and too much headroom. Series sharing a pool
 *   should share an overrun target.
 *   The request prior: after n samples, the chance that the next of n + 1
 *   exchangeable samples is the largest so far (a new peak, which no
 *   history bounds) is 1 / (n + 1). The recommendation moves that share of
 *   the way from the learned value up to the request: the request counts
 *   as one sample's worth of evidence, decisive for a new series, whose
 *   peak is least known and where a pooled headroom helps least, and down
 *   to 1/289 of the gap after a day of 5-minute samples.
 * vpa: the Kubernetes Vertical Pod Autoscaler's recommender: an
 *   exponentially decaying histogram (buckets growing by 5%, half-life
 *   24 h), its 90th percentile (the bucket's upper bound), plus a 15%
 *   safety margin and a floor. For memory VPA keeps one peak per
 *   aggregation interval (24 h) rather than every sample. It ignores the
 *   request, as Kubernetes' does. */
#include <math.h>
#include <string.h>

#include "predict/predict_int.h"

#define VPA_BUCKETS 800
#define VPA_RATIO 1.05
#define LEARN_ETA 0.01 /* log-space step: an overrun raises headroom ~1% */

struct dc_usage_pool {
  double theta; /* pooled headroom quantile */
  uint64_t n;
};

struct dc_usage {
  struct dc_usage_config cfg;
  struct dc_usage_pool *pool; /* borrowed, may be NULL */
  uint64_t n;
  /* learned */
  double *ring;
  uint32_t head, len;
  double theta;
  double request; /* 0: none */
  /* vpa */
  double *hist;
  double total, ref_s;
  double peak, peak_w; /* the current interval's peak, and its weight */
  double peak_interval; /* floor(t / interval): a double, any t fits */
  bool has_peak;
};

void dc_usage_config_default(struct dc_usage_config *c, int kind) {
  memset(c, 0, sizeof(*c));
  c->kind = kind;
  c->overrun_target = 0.005;
  c->window = 288; /* one day of 5-minute samples */
  c->percentile = 0.90;
  c->margin = 0.15;
  c->half_life_s = 86400;
  c->peak_interval_s = 0;
  c->bucket_first = 1;
  c->min_value = 0;
}

int dc_usage_pool_new(struct dc_usage_pool **out) {
  if (!out) return DC_EINVAL;
  *out = dc_calloc(1, sizeof(**out));
  return *out ? 0 : DC_ENOMEM;
}

void dc_usage_pool_free(struct dc_usage_pool *p) { dc_free(p); }

int dc_usage_new(const struct dc_usage_config *c, struct dc_usage_pool *pool,
                 struct dc_usage **out) {
  if (!c || !out || (c->kind != DC_USAGE_LEARNED && c->kind != DC_USAGE_VPA) ||
      !(c->overrun_target > 0 && c->overrun_target < 0.5) || !c->window ||
      c->window > (1u << 20) || !(c->percentile > 0 && c->percentile < 1) ||
      !(c->margin >= 0) || !(c->half_life_s > 0) || !(c->bucket_first > 0) ||
      !(c->peak_interval_s >= 0))
    return DC_EINVAL;
  struct dc_usage *u = dc_calloc(1, sizeof(*u));
  if (!u) return DC_ENOMEM;
  u->cfg = *c;
  u->pool = pool;
  if (c->kind == DC_USAGE_LEARNED) u->ring = dc_calloc(c->window, sizeof(double));
  else u->hist = dc_calloc(VPA_BUCKETS, sizeof(double));
  if (!u->ring && !u->hist) {
    dc_free(u);
    return DC_ENOMEM;
  }
  *out = u;
  return 0;
}

void dc_usage_free(struct dc_usage *u) {
  if (!u) return;
  dc_free(u->ring);
  dc_free(u->hist);
  dc_free(u);
}

uint64_t dc_usage_observed(const struct dc_usage *u) { return u->n; }

static double recent_peak(const struct dc_usage *u) {
  double m = 0;
  for (uint32_t i = 0; i < u->len; i++) m = fmax(m, u->ring[i]);
  return m;
}

static double learned_theta(const struct dc_usage *u) {
  return u->pool ? u->pool->theta : u->theta;
}

static size_t bucket(const struct dc_usage *u, double v) {
  if (v <= u->cfg.bucket_first) return 0;
  double b = log(v / u->cfg.bucket_first) / log(VPA_RATIO);
  return b >= VPA_BUCKETS - 1 ? VPA_BUCKETS - 1 : (size_t)b;
}

static double bucket_end(const struct dc_usage *u, size_t b) {
  return u->cfg.bucket_first * pow(VPA_RATIO, (double)(b + 1));
}

static double vpa_percentile(const struct dc_usage *u) {
  double want = u->cfg.percentile * u->total, acc = 0;
  for (size_t b = 0; b < VPA_BUCKETS; b++) {
    acc += u->hist[b];
    if (acc >= want && u->hist[b] > 0) return bucket_end(u, b);
  }
  return bucket_end(u, VPA_BUCKETS - 1);
}

int dc_usage_set_request(struct dc_usage *u, double request) {
  if (!u || !isfinite(request) || request < 0) return DC_EINVAL;
  u->request = request;
  return 0;
}

/* Only once a sample has been seen (u->n > 0). */
static double learned_recommend(const struct dc_usage *u) {
  double v = recent_peak(u) * exp(learned_theta(u));
  if (u->request > v) v += (u->request - v) / (double)(u->n + 1);
  return fmax(v, u->cfg.min_value);
}

int dc_usage_recommend(const struct dc_usage *u, double *out) {
  if (!u || !out) return DC_EINVAL;
  if (!u->n) return DC_EAGAIN; /* nothing seen: the caller keeps the request */
  if (u->cfg.kind == DC_USAGE_LEARNED) *out = learned_recommend(u);
  else *out = fmax(vpa_percentile(u) * (1 + u->cfg.margin), u->cfg.min_value);
  return 0;
}

/* VPA's decaying histogram: instead of shrinking old weights, new samples
 * weigh 2^(age/half-life) more; rescale before the numbers overflow. */
static double vpa_weight(struct dc_usage *u, double t_s) {
  if (!u->n) u->ref_s = t_s;
  double e = (t_s - u->ref_s) / u->cfg.half_life_s;
  if (e > 100) {
    double s = pow(2.0, -e);
    for (size_t b = 0; b < VPA_BUCKETS; b++) u->hist[b] *= s;
    u->total *= s;
    u->peak_w *= s;
    u->ref_s = t_s;
    e = 0;
  }
  return pow(2.0, e);
}

static void vpa_add(struct dc_usage *u, double v, double w) {
  u->hist[bucket(u, v)] += w;
  u->total += w;
}

static void vpa_observe(struct dc_usage *u, double t_s, double used) {
  double w = vpa_weight(u, t_s);
  if (u->cfg.peak_interval_s <= 0) {
    vpa_add(u, used, w);
    return;
  }
  double iv = floor(t_s / u->cfg.peak_interval_s);
  if (u->has_peak && iv == u->peak_interval) {
    if (used <= u->peak) return;
    /* A higher peak in the same interval replaces the old one. */
    u->hist[bucket(u, u->peak)] -= u->peak_w;
    u->total -= u->peak_w;
  }
  u->has_peak = true;
  u->peak_interval = iv;
  u->peak = used;
  u->peak_w = w;
  vpa_add(u, used, w);
}

static void learned_observe_usage(struct dc_usage *u, double used) {
  double base = recent_peak(u);
  if (u->len && base > 0) {
    /* Online quantile regression of log(usage / recent peak): the headroom
     * learns how usage behaves, not what the request prior covered, so
     * the prior's safety for young series is not spent on thinner
     * headroom for everyone. */
    double r = log(fmax(used, 1e-9) / base);
    double *theta = u->pool ? &u->pool->theta : &u->theta;
    *theta += LEARN_ETA * ((r > *theta) - u->cfg.overrun_target);
    if (u->pool) u->pool->n++;
  }
  u->ring[u->head] = used;
  u->head = (u->head + 1) % u->cfg.window;
  if (u->len < u->cfg.window) u->len++;
}

int dc_usage_observe(struct dc_usage *u, double t_s, double used) {
  if (!u || !isfinite(t_s) || !isfinite(used) || used < 0) return DC_EINVAL;
  if (u->cfg.kind == DC_USAGE_LEARNED) learned_observe_usage(u, used);
  else vpa_observe(u, t_s, used);
  u->n++;
  return 0;
}
