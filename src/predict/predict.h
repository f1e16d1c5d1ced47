/* SPDX-License-Identifier: Apache-2.0
 * predict: the learned half of the matching engine. Runtime prediction from
 * what is known when a job is submitted, node speed and reliability from
 * task outcomes, usage right-sizing, demand forecasts and provider
 * clustering. Every model is pure: no clock, no I/O except the explicit
 * save/load calls, randomness only from the seed in its configuration, so
 * a simulator run repeats exactly.
 *
 * Thread safety: no object here locks. One object may be used by one thread
 * at a time; distinct objects are independent. The learned runtime
 * predictor can retrain off the caller's thread: see dc_rtpred_train_*.
 *
 * Contract with the scheduler (sched): the signatures of the structs and
 * functions in the "contract" blocks below do not change without a note
 * here. Everything else is additions. */
#ifndef DC_PREDICT_H
#define DC_PREDICT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- contract: runtime prediction ---------------------------------------- */

/* Features of one job/task known at submit time. */
struct dc_pred_job {
  uint32_t user, group, app, queue; /* interned ids; 0 = unknown */
  uint32_t req_cpus;                /* requested processors / millicores/1000 */
  double req_mem_mb;                /* <= 0 unknown */
  double req_time_s;                /* the user's estimate; <= 0 unknown */
  double submit_s;                  /* virtual or real submit time */
};
/* Every answer carries its uncertainty. */
struct dc_pred {
  double value;
  double lo, hi; /* ~80% interval */
  uint32_t n;    /* evidence count */
};

enum {
  DC_RTPRED_LEARNED = 0, /* online models + gradient-boosted trees */
  DC_RTPRED_TSAFRIR = 1, /* mean of the user's last two, capped by estimate */
  DC_RTPRED_USER = 2,    /* the user's own estimate */
};

struct dc_rtpred; /* runtime predictor */
struct dc_rtpred_config {
  int kind; /* DC_RTPRED_LEARNED, DC_RTPRED_TSAFRIR, DC_RTPRED_USER */
  uint32_t window;        /* jobs kept for tree training (sliding window) */
  uint32_t retrain_every; /* observations between retrains; 0 = only when
                             the caller runs dc_rtpred_train_* itself */
  uint64_t seed;
  int xgb_threads; /* 1 keeps results repeatable */
};
/* kind LEARNED, window 4096, retrain_every 512, seed 1, xgb_threads 1. */
void dc_rtpred_config_default(struct dc_rtpred_config *c);
/* DC_EINVAL on an unknown kind or window < 16; DC_ENOMEM. */
int dc_rtpred_new(const struct dc_rtpred_config *c, struct dc_rtpred **out);
void dc_rtpred_free(struct dc_rtpred *p);
/* Never fails for lack of history: a cold predictor falls back to the
 * user's estimate, then to the mean of everything seen, then to one hour.
 * value is in seconds and >= 1. DC_EINVAL on NULL arguments or a
 * non-finite time or memory field (also for observe). */
int dc_rtpred_predict(struct dc_rtpred *p, const struct dc_pred_job *j,
                      struct dc_pred *out);
/* Called when a job ends (only then is its runtime known: no peeking at the
 * future). Runtimes below 1 s count as 1 s. DC_EINVAL on a negative or
 * non-finite runtime (nothing changes). May retrain inline (LEARNED with
 * retrain_every > 0): DC_ENOMEM or DC_EIO if that fails, the old model
 * stays in use. */
int dc_rtpred_observe(struct dc_rtpred *p, const struct dc_pred_job *j,
                      double runtime_s);
/* Whole state (history, online models, trees) in one versioned file,
 * written atomically. Load replaces p's state only if the whole file is
 * valid and of the same kind (DC_EPROTO/DC_EVERSION/DC_EINVAL otherwise). */
int dc_rtpred_save(const struct dc_rtpred *p, const char *path);
int dc_rtpred_load(struct dc_rtpred *p, const char *path);

/* ---- additions: runtime prediction ---------------------------------------- */

const char *dc_rtpred_kind_name(int kind); /* "learned" "tsafrir" "user" */
/* -1 if unknown. */
int dc_rtpred_kind_parse(const char *name);
/* Jobs observed so far, and tree retrains done. */
uint64_t dc_rtpred_observed(const struct dc_rtpred *p);
uint32_t dc_rtpred_retrains(const struct dc_rtpred *p);

/* Retraining the trees off the caller's thread (the daemon's event loop
 * must not block for a fit). With retrain_every = 0 the predictor never
 * trains inline and the owner drives these three steps:
 *   begin  on the owner's thread: copies the window (O(window), no fit);
 *          DC_EINVAL unless LEARNED, DC_EAGAIN with fewer than 64 jobs seen;
 *   run    on any thread: the fit; touches only t (XGBoost boosters are
 *          independent objects, so predict may go on meanwhile on p);
 *   finish on the owner's thread: installs the new trees into p and frees
 *          t; returns run's error (p keeps its old trees), or DC_ESTALE if
 *          p was loaded from a file in between.
 * dc_rtpred_train_free discards a t that will not be finished. */
struct dc_rtpred_train;
int dc_rtpred_train_begin(const struct dc_rtpred *p, struct dc_rtpred_train **out);
int dc_rtpred_train_run(struct dc_rtpred_train *t);
int dc_rtpred_train_finish(struct dc_rtpred *p, struct dc_rtpred_train *t);
void dc_rtpred_train_free(struct dc_rtpred_train *t);

/* ---- contract: node speed and reliability -------------------------------- */

struct dc_reliab; /* node speed and reliability, Bayesian */
int dc_reliab_new(size_t nnodes, struct dc_reliab **out);
void dc_reliab_free(struct dc_reliab *r);
void dc_reliab_observe(struct dc_reliab *r, size_t node, bool ok,
                       double expected_s, double actual_s);
double dc_reliab_fail_prob(const struct dc_reliab *r, size_t node); /* posterior mean */
double dc_reliab_speed(const struct dc_reliab *r, size_t node); /* posterior mean, 1.0 = nominal */

/* ---- usage right-sizing --------------------------------------------------
 * One object per series and resource (a VM's memory, a service's CPU), fed
 * with samples in time order; it recommends what to reserve for the next
 * sample. Units are the caller's (MB, MHz, millicores). */
enum {
  DC_USAGE_LEARNED = 0, /* recent peak x learned headroom, see usage.c */
  DC_USAGE_VPA = 1,     /* Kubernetes VPA recommender: P90 + 15% */
};
struct dc_usage_config {
  int kind;
  double overrun_target; /* learned: share of samples allowed over (0.005) */
  uint32_t window;       /* learned: samples in the recent peak (288) */
  double percentile;     /* vpa: 0.90 */
  double margin;         /* vpa: 0.15 */
  double half_life_s;    /* vpa: 86400 */
  double peak_interval_s; /* vpa: 0 every sample (CPU); 86400 daily peaks (memory) */
  double bucket_first;   /* vpa: first histogram bucket, in the caller's unit */
  double min_value;      /* floor of any recommendation */
};
void dc_usage_config_default(struct dc_usage_config *c, int kind);
/* Headroom learned across every series that shares the pool. */
struct dc_usage_pool;
int dc_usage_pool_new(struct dc_usage_pool **out);
void dc_usage_pool_free(struct dc_usage_pool *p);
struct dc_usage;
/* pool is borrowed (must outlive u) and may be NULL. DC_EINVAL on a bad
 * configuration. */
int dc_usage_new(const struct dc_usage_config *c, struct dc_usage_pool *pool,
                 struct dc_usage **out);
void dc_usage_free(struct dc_usage *u);
/* What the series asked for (the VM's provisioned size), in the same unit;
 * 0 (the default) means none. learned blends toward it while the series'
 * history is short (weight 1 / (samples + 1)); vpa ignores it. May change
 * between samples. DC_EINVAL on a negative or non-finite value (nothing
 * changes). */
int dc_usage_set_request(struct dc_usage *u, double request);
/* DC_EAGAIN before the first sample (keep what was requested). */
int dc_usage_recommend(const struct dc_usage *u, double *out);
/* DC_EINVAL on a negative or non-finite sample (nothing changes). */
int dc_usage_observe(struct dc_usage *u, double t_s, double used);
uint64_t dc_usage_observed(const struct dc_usage *u);

/* ---- demand forecasting ---------------------------------------------------
 * Additive Holt-Winters on counts per bucket (arrivals per hour of one
 * service cluster): level + trend + a seasonal cycle of `period` buckets. */
struct dc_hw_params {
  double alpha, beta, gamma; /* level, trend, season smoothing */
};
struct dc_hw;
/* Picks the constants with the least one-step squared error over y (a grid,
 * so the choice repeats) and leaves the model after y's last bucket.
 * DC_EINVAL with fewer than two cycles or a non-finite value. */
int dc_hw_fit(const double *y, size_t n, uint32_t period, struct dc_hw **out);
void dc_hw_free(struct dc_hw *h);
/* Forecast `steps` buckets ahead (1 = the next). */
double dc_hw_forecast(const struct dc_hw *h, uint32_t steps);
/* Folds in the next bucket's actual value. */
void dc_hw_update(struct dc_hw *h, double y);
struct dc_hw_params dc_hw_params(const struct dc_hw *h);
/* Mean absolute scaled error: the forecasts' mean absolute error over the
 * in-sample mean absolute error of the lag-m naive forecast on train
 * (Hyndman and Koehler, 2006). < 1 beats that naive forecast. NAN if the
 * scale is zero or train is too short. */
double dc_mase(const double *actual, const double *forecast, size_t n,
               const double *train, size_t ntrain, uint32_t m);

/* ---- clustering --------------------------------------------------------------
 * k-means over n rows of d features (row-major), each feature standardised
 * first; k-means++ seeding from `seed`, so a seed gives one answer.
 * OUT: assign[n] cluster of each row; centroids[k*d] in the caller's units
 * (may be NULL); inertia: sum of squared standardised distances (may be
 * NULL). DC_EINVAL if k is 0 or above n, or a value is not finite. */
int dc_kmeans(const double *x, size_t n, size_t d, size_t k, uint64_t seed,
              uint32_t max_iter, uint32_t *assign, double *centroids,
              double *inertia);

/* ---- what to ask for -----------------------------------------------------
 * Behind `deepcloud recommend SPEC` and POST /v1/recommend: a task's request
 * plus the usage of similar past tasks (same user and app, oldest first)
 * gives a suggestion. All pointers are borrowed for the call. */
struct dc_rec_input {
  struct dc_pred_job job;       /* the task's submit-time features */
  double req_cpu_millis, req_mem_mb; /* what the spec asks; 0 = unset */
  const double *mem_used_mb;    /* peak memory of each similar past task */
  size_t nmem;
  const double *cpu_used_millis; /* mean CPU of each similar past task */
  size_t ncpu;
  double price_cpu_hour;        /* posted price per core-hour */
  double price_mem_gb_hour;     /* per GB-hour; 0 if memory is not priced */
};
struct dc_rec_output {
  double cpu_millis, mem_mb;    /* suggested; never above a set request */
  const char *cpu_basis, *mem_basis; /* "history" or "request" (< 5 tasks) */
  uint32_t cpu_evidence, mem_evidence; /* tasks behind each suggestion */
  struct dc_pred time_s;        /* expected runtime with its interval */
  double cost, cost_requested;  /* at posted prices, suggested vs requested */
};
/* Memory: the largest peak of the newest 50 similar tasks + 10% (an overrun
 * is an OOM kill). CPU: their P90 + 15% (an overrun only slows). Floors 64
 * MB and 100 millicores. rt (may be NULL: the estimate, else one hour) gives
 * the runtime. DC_EINVAL on negative or non-finite inputs. */
int dc_recommend_task(struct dc_rtpred *rt, const struct dc_rec_input *in,
                      struct dc_rec_output *out);

#endif /* DC_PREDICT_H */
