/* SPDX-License-Identifier: Apache-2.0
 * The learned runtime predictor: several cheap online experts in log space
 * (Tsafrir, the user's and the user+app's exponentially weighted mean, the
 * estimate scaled by the user's usual actual/estimate ratio, a recursive
 * least-squares regression) and gradient-boosted trees retrained on a
 * sliding window, mixed by their recent accuracy. Each expert is
 * weighted by the inverse square of its exponentially weighted mean
 * absolute log error, so the mix follows whichever works on this workload
 * without a tuned constant per trace. */
#include <math.h>
#include <string.h>

#include "predict/predict_int.h"

enum { EX_TSAFRIR, EX_USERAPP, EX_RATIO, EX_RLS, EX_TREES, EX_N };
_Static_assert(EX_N == RT_NEXPERT, "experts");
#define ERR_ALPHA 0.02 /* about the last 50 jobs decide an expert's weight */
#define RLS_LAMBDA 0.9995 /* forgetting: a half-life of ~1400 jobs */
#define RLS_P0 10.0
#define TRAIN_MIN 64 /* rows before the first trees */

/* The last `window` jobs as tree rows: a ring. */
struct rt_window {
  float *x, *y;
  uint32_t cap, len, head;
};

struct dc_rtpred_train {
  float *x, *y;
  size_t n;
  uint64_t seed;
  int threads;
  void *booster; /* the result of run */
  int rc;
  uint64_t generation; /* of the predictor it was taken from */
};

struct rt_learned {
  double err[EX_N]; /* EW mean absolute log error per expert */
  uint32_t nerr[EX_N];
  double w[RT_NFEAT];           /* RLS weights */
  double P[RT_NFEAT * RT_NFEAT]; /* RLS inverse covariance */
  uint32_t retrains, since; /* since: observations since the last retrain */
  struct rt_window win;
  void *booster; /* NULL until the first retrain */
  uint64_t seed;
  int threads;
  uint32_t retrain_every;
  uint64_t generation; /* changes when the window's contents are replaced */
};

void rt_tree_row(const struct dc_pred_job *j, const double f[RT_NFEAT],
                 float row[RT_TFEAT]) {
  for (int i = 1; i < RT_NFEAT; i++) row[i - 1] = (float)f[i];
  row[RT_NFEAT - 1] = (float)j->user;
  row[RT_NFEAT] = (float)j->group;
  row[RT_NFEAT + 1] = (float)j->app;
  row[RT_NFEAT + 2] = (float)j->queue;
}

void rt_features(const struct dc_pred_job *j, const struct rt_ctx *x,
                 double log_ts, double f[RT_NFEAT]) {
  double est = j->req_time_s > 0 ? log(DC_MAX(j->req_time_s, RT_MIN_S)) : x->log_mean;
  const struct rt_entry *u = x->user;
  double ua = x->userapp ? x->userapp->log_ewma : u ? u->log_ewma : x->log_mean;
  double hour = fmod(j->submit_s > 0 ? j->submit_s : 0, 86400.0) / 86400.0;
  f[0] = 1;
  f[1] = est;
  f[2] = j->req_time_s > 0;
  f[3] = log1p((double)j->req_cpus);
  f[4] = j->req_mem_mb > 0 ? log1p(j->req_mem_mb) : 0;
  f[5] = u ? u->log_ewma : x->log_mean;
  f[6] = u ? log(u->last[0]) : x->log_mean;
  f[7] = u && u->nratio ? u->ratio_ewma : 0;
  f[8] = ua;
  f[9] = log_ts;
  f[10] = sin(2 * M_PI * hour);
  f[11] = cos(2 * M_PI * hour);
  f[12] = log1p(u ? (double)u->n : 0);
  /* Bursts: jobs a user submits seconds apart are usually alike, and many
   * in flight means the history is about to be stale. */
  f[13] = x->since_submit_s >= 0 ? log1p(x->since_submit_s) : 20;
  f[14] = log1p((double)x->inflight);
}

static void rls_reset(struct rt_learned *l) {
  memset(l->w, 0, sizeof(l->w));
  memset(l->P, 0, sizeof(l->P));
  for (int i = 0; i < RT_NFEAT; i++) l->P[i * RT_NFEAT + i] = RLS_P0;
}

int learned_new(const struct dc_rtpred_config *c, struct rt_learned **out) {
  struct rt_learned *l = dc_calloc(1, sizeof(*l));
  if (!l) return DC_ENOMEM;
  l->win.cap = c->window;
  l->win.x = dc_malloc((size_t)c->window * RT_TFEAT * sizeof(float));
  l->win.y = dc_malloc((size_t)c->window * sizeof(float));
  if (!l->win.x || !l->win.y) {
    learned_free(l);
    return DC_ENOMEM;
  }
  l->seed = c->seed;
  l->threads = c->xgb_threads;
  l->retrain_every = c->retrain_every;
  rls_reset(l);
  *out = l;
  return 0;
}

void learned_free(struct rt_learned *l) {
  if (!l) return;
  trees_free(l->booster);
  dc_free(l->win.x);
  dc_free(l->win.y);
  dc_free(l);
}
uint32_t learned_retrains(const struct rt_learned *l) { return l->retrains; }
uint64_t learned_generation(const struct rt_learned *l) { return l->generation; }
void learned_set_generation(struct rt_learned *l, uint64_t g) { l->generation = g; }

static double dot(const double *a, const double *b) {
  double s = 0;
  for (int i = 0; i < RT_NFEAT; i++) s += a[i] * b[i];
  return s;
}

/* Each expert's log prediction; NAN when it has nothing to say. */
static void experts(const struct rt_learned *l, const struct dc_pred_job *j,
                    const struct rt_ctx *x, const double *f, double log_ts,
                    double out[EX_N]) {
  float row[RT_TFEAT];
  double t = NAN;
  if (l->booster) {
    rt_tree_row(j, f, row);
    if (trees_predict(l->booster, row, &t)) t = NAN;
  }
  out[EX_TREES] = t;
  out[EX_TSAFRIR] = log_ts;
  out[EX_USERAPP] = x->userapp ? x->userapp->log_ewma
                    : x->user  ? x->user->log_ewma
                               : NAN;
  out[EX_RATIO] = j->req_time_s > 0 && x->user && x->user->nratio
                      ? log(DC_MAX(j->req_time_s, RT_MIN_S)) + x->user->ratio_ewma
                      : NAN;
  out[EX_RLS] = x->nobs >= 2 * RT_NFEAT ? dot(l->w, f) : NAN;
}

double learned_predict(struct rt_learned *l, const struct dc_pred_job *j,
                       const struct rt_ctx *x, double log_ts,
                       double f[RT_NFEAT], double e[RT_NEXPERT]) {
  double num = 0, den = 0;
  rt_features(j, x, log_ts, f);
  experts(l, j, x, f, log_ts, e);
  for (int i = 0; i < EX_N; i++) {
    if (!isfinite(e[i])) continue;
    /* Unproven experts get the error of a factor e, so they join gently. */
    double err = l->nerr[i] >= 10 ? l->err[i] : 1.0;
    double w = 1 / (err * err + 1e-3);
    num += w * e[i];
    den += w;
  }
  return den > 0 ? num / den : log_ts;
}

static void rls_update(struct rt_learned *l, const double *f, double y) {
  double Pf[RT_NFEAT], denom = RLS_LAMBDA;
  for (int i = 0; i < RT_NFEAT; i++) {
    Pf[i] = dot(&l->P[i * RT_NFEAT], f);
    denom += f[i] * Pf[i];
  }
  double err = y - dot(l->w, f);
  for (int i = 0; i < RT_NFEAT; i++) l->w[i] += Pf[i] / denom * err;
  bool ok = true;
  for (int i = 0; i < RT_NFEAT; i++)
    for (int k = 0; k < RT_NFEAT; k++) {
      double v = (l->P[i * RT_NFEAT + k] - Pf[i] * Pf[k] / denom) / RLS_LAMBDA;
      l->P[i * RT_NFEAT + k] = v;
      ok = ok && isfinite(v) && fabs(v) < 1e8;
    }
  /* Forgetting can let P grow without bound on features that stop varying;
   * start the regression over rather than let it go numerically wild. */
  if (!ok || !isfinite(dot(l->w, f))) rls_reset(l);
}

int learned_observe(struct rt_learned *l, const struct dc_pred_job *j,
                    const double f[RT_NFEAT], const double e[RT_NEXPERT],
                    double log_rt) {
  for (int i = 0; i < EX_N; i++) {
    if (!isfinite(e[i])) continue;
    double a = fabs(log_rt - e[i]);
    l->err[i] = l->nerr[i] ? (1 - ERR_ALPHA) * l->err[i] + ERR_ALPHA * a : a;
    l->nerr[i]++;
  }
  rls_update(l, f, log_rt);
  struct rt_window *w = &l->win;
  rt_tree_row(j, f, &w->x[(size_t)w->head * RT_TFEAT]);
  w->y[w->head] = (float)log_rt;
  w->head = (w->head + 1) % w->cap;
  if (w->len < w->cap) w->len++;
  l->since++;
  if (!l->retrain_every || l->since < l->retrain_every || w->len < TRAIN_MIN)
    return 0;
  /* Inline retrain: the same three steps a worker thread would run. */
  struct dc_rtpred_train *t;
  int rc = learned_train_begin(l, &t);
  if (!rc) {
    learned_train_run(t);
    rc = learned_train_finish(l, t);
  }
  return rc;
}

int learned_train_begin(const struct rt_learned *l, struct dc_rtpred_train **out) {
  const struct rt_window *w = &l->win;
  if (w->len < TRAIN_MIN) return DC_EAGAIN;
  struct dc_rtpred_train *t = dc_calloc(1, sizeof(*t));
  if (!t) return DC_ENOMEM;
  t->x = dc_malloc((size_t)w->len * RT_TFEAT * sizeof(float));
  t->y = dc_malloc((size_t)w->len * sizeof(float));
  if (!t->x || !t->y) {
    learned_train_free(t);
    return DC_ENOMEM;
  }
  /* Oldest first, so the same window always gives the same matrix. */
  uint32_t start = w->len < w->cap ? 0 : w->head;
  for (uint32_t i = 0; i < w->len; i++) {
    uint32_t k = (start + i) % w->cap;
    memcpy(&t->x[(size_t)i * RT_TFEAT], &w->x[(size_t)k * RT_TFEAT],
           RT_TFEAT * sizeof(float));
    t->y[i] = w->y[k];
  }
  t->n = w->len;
  t->seed = l->seed + l->retrains;
  t->threads = l->threads;
  t->generation = l->generation;
  *out = t;
  return 0;
}

int learned_train_run(struct dc_rtpred_train *t) {
  t->rc = trees_train(t->x, t->y, t->n, t->seed, t->threads, &t->booster);
  return t->rc;
}

int learned_train_finish(struct rt_learned *l, struct dc_rtpred_train *t) {
  int rc = t->rc;
  if (!rc && !t->booster) rc = DC_EINVAL; /* run was never called */
  if (!rc && t->generation != l->generation) rc = DC_ESTALE; /* reloaded since */
  if (!rc) {
    trees_free(l->booster);
    l->booster = t->booster;
    t->booster = NULL;
    l->retrains++;
    l->since = 0;
  }
  learned_train_free(t);
  return rc;
}

void learned_train_free(struct dc_rtpred_train *t) {
  if (!t) return;
  trees_free(t->booster);
  dc_free(t->x);
  dc_free(t->y);
  dc_free(t);
}

int learned_encode(const struct rt_learned *l, struct dc_buf *b) {
  int rc = dc_buf_put_u32(b, EX_N);
  for (int i = 0; !rc && i < EX_N; i++) {
    rc = dc_buf_put_f64(b, l->err[i]);
    if (!rc) rc = dc_buf_put_u32(b, l->nerr[i]);
  }
  for (int i = 0; !rc && i < RT_NFEAT; i++) rc = dc_buf_put_f64(b, l->w[i]);
  for (int i = 0; !rc && i < RT_NFEAT * RT_NFEAT; i++) rc = dc_buf_put_f64(b, l->P[i]);
  if (!rc) rc = dc_buf_put_u32(b, l->retrains);
  if (!rc) rc = dc_buf_put_u32(b, l->since);
  if (!rc) rc = dc_buf_put_u32(b, l->win.len);
  if (!rc) rc = dc_buf_put_u32(b, l->win.head);
  for (uint32_t i = 0; !rc && i < l->win.len; i++) {
    for (int k = 0; !rc && k < RT_TFEAT; k++)
      rc = dc_buf_put_f64(b, l->win.x[(size_t)i * RT_TFEAT + k]);
    if (!rc) rc = dc_buf_put_f64(b, l->win.y[i]);
  }
  if (!rc) rc = dc_buf_put_u8(b, l->booster != NULL);
  if (!rc && l->booster) rc = trees_encode(l->booster, b);
  return rc;
}

int learned_decode(struct dc_reader *r, struct rt_learned *l) {
  struct rt_learned v = *l;
  uint32_t n = 0;
  if (dc_get_u32(r, &n) || n != EX_N) return DC_EPROTO;
  for (int i = 0; i < EX_N; i++) {
    dc_get_f64(r, &v.err[i]);
    dc_get_u32(r, &v.nerr[i]);
    if (!isfinite(v.err[i]) || v.err[i] < 0) return DC_EPROTO;
  }
  for (int i = 0; i < RT_NFEAT; i++)
    if (dc_get_f64(r, &v.w[i]) || !isfinite(v.w[i])) return DC_EPROTO;
  for (int i = 0; i < RT_NFEAT * RT_NFEAT; i++)
    if (dc_get_f64(r, &v.P[i]) || !isfinite(v.P[i])) return DC_EPROTO;
  dc_get_u32(r, &v.retrains);
  dc_get_u32(r, &v.since);
  dc_get_u32(r, &v.win.len);
  if (dc_get_u32(r, &v.win.head) || v.win.len > v.win.cap ||
      v.win.head >= v.win.cap || (v.win.len < v.win.cap && v.win.head != v.win.len))
    return DC_EPROTO; /* a window saved with another size is refused */
  /* Rows are decoded straight into l's window: the caller discards l if
   * anything below fails. */
  for (uint32_t i = 0; i < v.win.len; i++) {
    double d;
    for (int k = 0; k < RT_TFEAT; k++) {
      if (dc_get_f64(r, &d) || !isfinite(d)) return DC_EPROTO;
      v.win.x[(size_t)i * RT_TFEAT + k] = (float)d;
    }
    if (dc_get_f64(r, &d) || !isfinite(d)) return DC_EPROTO;
    v.win.y[i] = (float)d;
  }
  uint8_t has = 0;
  if (dc_get_u8(r, &has) || has > 1) return DC_EPROTO;
  v.booster = NULL;
  if (has) {
    int rc = trees_decode(r, v.threads, &v.booster);
    if (rc) return rc;
  }
  trees_free(l->booster);
  *l = v;
  return 0;
}
