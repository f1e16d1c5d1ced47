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
  const struct rt_entry *user, *userapp; /* NULL: never seen */
  uint64_t nobs;
  double log_mean; /* mean log runtime of everything seen */
};
struct rt_learned;
#define RT_NFEAT 13 /* numeric features, see rt_features */
void rt_features(const struct dc_pred_job *j, const struct rt_ctx *x,
                 double log_ts, double f[RT_NFEAT]);
int learned_new(const struct dc_rtpred_config *c, struct rt_learned **out);
void learned_free(struct rt_learned *l);
/* Log runtime; log_ts is the Tsafrir prediction's log, one of the inputs. */
double learned_predict(struct rt_learned *l, const struct dc_pred_job *j,
                       const struct rt_ctx *x, double log_ts);
int learned_observe(struct rt_learned *l, const struct dc_pred_job *j,
                    const struct rt_ctx *x, double log_ts, double log_rt);
uint32_t learned_retrains(const struct rt_learned *l);
int learned_encode(const struct rt_learned *l, struct dc_buf *b);
int learned_decode(struct dc_reader *r, struct rt_learned *l);

#endif /* DC_PREDICT_INT_H */
