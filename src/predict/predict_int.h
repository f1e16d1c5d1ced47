/* SPDX-License-Identifier: Apache-2.0
 * predict: private pieces shared by the module's files (history tables,
 * residual quantiles, the online models and the tree wrapper). */
#ifndef DC_PREDICT_INT_H
#define DC_PREDICT_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/base.h"
#include "predict/predict.h"

/* Runtimes are modelled in log space: jobs span seconds to weeks, and a
 * factor of two is the same mistake at any scale. */
#define RT_MIN_S 1.0
#define RT_COLD_S 3600.0

/* ---- per-key history (hist.c) ---------------------------------------------
 * Open-addressing table keyed by a u64 (a user, or user<<32|app). Holds the
 * little each predictor needs: the last two runtimes (Tsafrir), EWMAs of log
 * runtime and of log(actual/estimate). */
struct rt_entry {
  uint64_t key;
  uint32_t used;    /* slot taken */
  uint32_t n;       /* jobs observed */
  double last[2];   /* seconds, most recent first */
  double log_ewma;  /* EWMA of log runtime */
  double ratio_ewma; /* EWMA of log(actual/estimate) where estimate known */
  uint32_t nratio;
  double last_submit_s; /* of the newest job predicted; users only */
  uint32_t inflight;    /* predicted, not yet observed; users only */
};
struct rt_hist {
  struct rt_entry *slots;
  size_t cap, len; /* cap is 0 or a power of two */
};
/* NULL if absent. */
const struct rt_entry *hist_find(const struct rt_hist *h, uint64_t key);
/* Finds or inserts; DC_ENOMEM leaves the table as it was. */
int hist_upsert(struct rt_hist *h, uint64_t key, struct rt_entry **out);
/* Folds one finished job into e. */
void hist_add(struct rt_entry *e, double runtime_s, double est_s);
void hist_free(struct rt_hist *h);
int hist_encode(const struct rt_hist *h, struct dc_buf *b);
int hist_decode(struct dc_reader *r, struct rt_hist *h);

/* ---- residual quantiles (resid.c) -----------------------------------------
 * A ring of the latest log(actual/predicted); its 10th and 90th percentiles
 * turn a point prediction into an ~80% interval. */
#define RESID_CAP 1024
struct rt_resid {
  double ring[RESID_CAP];
  uint32_t len, head, since; /* since: adds since the cached quantiles */
  double q_lo, q_hi;
};
void resid_init(struct rt_resid *r);
void resid_add(struct rt_resid *r, double log_err);
/* Interval around value (seconds). Wide (x/10..x*10) until 20 residuals. */
void resid_interval(struct rt_resid *r, double value, double *lo, double *hi);
int resid_encode(const struct rt_resid *r, struct dc_buf *b);
int resid_decode(struct dc_reader *r, struct rt_resid *out);

/* Quantile q in [0,1] of v[0..n) (sorted in place), linear interpolation. */
double pred_quantile(double *v, size_t n, double q);

/* ---- the learned predictor (learned.c) ------------------------------------ */
/* What the predictor knows about a job's submitter when it is asked. */
struct rt_ctx {
  const struct rt_entry *user, *userapp; /* NULL: no job of theirs ended */
  double since_submit_s; /* since the user's previous submit; -1 none */
  uint32_t inflight;     /* the user's jobs predicted and not yet ended */
  uint64_t nobs;
  double log_mean; /* mean log runtime of everything seen */
};
struct rt_learned;
#define RT_NFEAT 15 /* numeric features, see rt_features */
void rt_features(const struct dc_pred_job *j, const struct rt_ctx *x,
                 double log_ts, double f[RT_NFEAT]);
int learned_new(const struct dc_rtpred_config *c, struct rt_learned **out);
void learned_free(struct rt_learned *l);
#define RT_NEXPERT 5
/* Log runtime; log_ts is the Tsafrir prediction's log, one of the inputs.
 * OUT: f the job's features, e each expert's log prediction (NAN: none). */
double learned_predict(struct rt_learned *l, const struct dc_pred_job *j,
                       const struct rt_ctx *x, double log_ts,
                       double f[RT_NFEAT], double e[RT_NEXPERT]);
/* Learns from a finished job, given what was known when it was submitted. */
int learned_observe(struct rt_learned *l, const struct dc_pred_job *j,
                    const double f[RT_NFEAT], const double e[RT_NEXPERT],
                    double log_rt);
uint32_t learned_retrains(const struct rt_learned *l);
/* Changes whenever the window is replaced (a load), so a fit begun before
 * cannot be installed after. */
uint64_t learned_generation(const struct rt_learned *l);
void learned_set_generation(struct rt_learned *l, uint64_t g);
/* The three steps of a retrain (see dc_rtpred_train_*). */
int learned_train_begin(const struct rt_learned *l, struct dc_rtpred_train **out);
int learned_train_run(struct dc_rtpred_train *t);
int learned_train_finish(struct rt_learned *l, struct dc_rtpred_train *t);
void learned_train_free(struct dc_rtpred_train *t);
int learned_encode(const struct rt_learned *l, struct dc_buf *b);
int learned_decode(struct dc_reader *r, struct rt_learned *l);

/* ---- what was said at submit time (pending.c) -----------------------------
 * A job is predicted at submit and observed at its end, often after other
 * jobs of the same user have ended. Learning from features recomputed at
 * the end would train on fresher history than prediction ever sees, and
 * the residuals behind the interval would look better than they are. So
 * the first prediction of each job is remembered, keyed by a hash of its
 * submit-time fields, in a direct-mapped cache (a collision forgets the
 * older job, which then falls back to end-time features). */
#define PENDING_CAP 16384
struct rt_pending {
  uint64_t key;
  uint32_t used;
  double value; /* log of the prediction made */
  double f[RT_NFEAT];
  double e[RT_NEXPERT];
};
uint64_t pending_key(const struct dc_pred_job *j);
/* The slot for key: holds it if s->used && s->key == key. */
struct rt_pending *pending_slot(struct rt_pending *tab, uint64_t key);
int pending_encode(const struct rt_pending *tab, struct dc_buf *b);
int pending_decode(struct dc_reader *r, struct rt_pending *tab);

/* ---- gradient-boosted trees (trees.c) ------------------------------------- */
/* Tree rows: the numeric features but the bias, then user, group, app and
 * queue ids (trees can split on an id where a linear model cannot). */
#define RT_TFEAT (RT_NFEAT - 1 + 4)
void rt_tree_row(const struct dc_pred_job *j, const double f[RT_NFEAT],
                 float row[RT_TFEAT]);
/* Trains on n rows of x (row-major, RT_TFEAT wide) with targets y. Pure:
 * touches nothing but its arguments, so it may run on any thread. */
int trees_train(const float *x, const float *y, size_t n, uint64_t seed,
                int threads, void **out);
int trees_predict(void *booster, const float *row, double *out);
void trees_free(void *booster);
int trees_encode(void *booster, struct dc_buf *b);
int trees_decode(struct dc_reader *r, int threads, void **out);

#endif /* DC_PREDICT_INT_H */
