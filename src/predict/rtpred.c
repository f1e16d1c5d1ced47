/* SPDX-License-Identifier: Apache-2.0
 * The runtime predictor: one object for the three kinds (learned, Tsafrir,
 * user estimate), so a simulator can run them side by side through the same
 * calls. The baselines live here; the learned models in learned.c. */
#include <math.h>
#include <string.h>

#include "predict/predict_int.h"

#define RT_FILE_MAGIC 0x44435254u /* "DCRT" */
#define RT_FILE_VERSION 1u
#define RT_FILE_MAX (512u << 20)

struct dc_rtpred {
  struct dc_rtpred_config cfg;
  struct rt_hist users;    /* key: user id */
  struct rt_hist userapps; /* key: user << 32 | app */
  uint64_t nobs;
  double log_sum; /* of every observed runtime: the cold fallback */
  struct rt_resid resid;
  struct rt_learned *learned; /* kind LEARNED only */
  struct rt_pending *pending;  /* PENDING_CAP slots */
};

void dc_rtpred_config_default(struct dc_rtpred_config *c) {
  memset(c, 0, sizeof(*c));
  c->kind = DC_RTPRED_LEARNED;
  c->window = 4096;
  c->retrain_every = 512;
  c->seed = 1;
  c->xgb_threads = 1;
}

const char *dc_rtpred_kind_name(int kind) {
  switch (kind) {
  case DC_RTPRED_LEARNED: return "learned";
  case DC_RTPRED_TSAFRIR: return "tsafrir";
  case DC_RTPRED_USER: return "user";
  default: return "unknown";
  }
}

int dc_rtpred_kind_parse(const char *name) {
  for (int k = DC_RTPRED_LEARNED; k <= DC_RTPRED_USER; k++)
    if (name && !strcmp(name, dc_rtpred_kind_name(k))) return k;
  return -1;
}

int dc_rtpred_new(const struct dc_rtpred_config *c, struct dc_rtpred **out) {
  if (!c || !out || dc_rtpred_kind_parse(dc_rtpred_kind_name(c->kind)) < 0 ||
      c->window < 16)
    return DC_EINVAL;
  struct dc_rtpred *p = dc_calloc(1, sizeof(*p));
  if (!p) return DC_ENOMEM;
  p->cfg = *c;
  resid_init(&p->resid);
  p->pending = dc_calloc(PENDING_CAP, sizeof(*p->pending));
  if (!p->pending) {
    dc_free(p);
    return DC_ENOMEM;
  }
  if (c->kind == DC_RTPRED_LEARNED) {
    int rc = learned_new(c, &p->learned);
    if (rc) {
      dc_rtpred_free(p);
      return rc;
    }
  }
  *out = p;
  return 0;
}

void dc_rtpred_free(struct dc_rtpred *p) {
  if (!p) return;
  hist_free(&p->users);
  hist_free(&p->userapps);
  learned_free(p->learned);
  dc_free(p->pending);
  dc_free(p);
}

uint64_t dc_rtpred_observed(const struct dc_rtpred *p) { return p->nobs; }
uint32_t dc_rtpred_retrains(const struct dc_rtpred *p) {
  return p->learned ? learned_retrains(p->learned) : 0;
}

int dc_rtpred_train_begin(const struct dc_rtpred *p, struct dc_rtpred_train **out) {
  if (!p || !out || !p->learned) return DC_EINVAL;
  return learned_train_begin(p->learned, out);
}

int dc_rtpred_train_run(struct dc_rtpred_train *t) {
  return t ? learned_train_run(t) : DC_EINVAL;
}

int dc_rtpred_train_finish(struct dc_rtpred *p, struct dc_rtpred_train *t) {
  if (!t) return DC_EINVAL;
  if (!p || !p->learned) {
    learned_train_free(t);
    return DC_EINVAL;
  }
  return learned_train_finish(p->learned, t);
}

void dc_rtpred_train_free(struct dc_rtpred_train *t) { learned_train_free(t); }

static uint64_t userapp_key(const struct dc_pred_job *j) {
  return (uint64_t)j->user << 32 | j->app;
}

/* What the predictor knows about this job's submitter, right now. */
static void context(const struct dc_rtpred *p, const struct dc_pred_job *j,
                    struct rt_ctx *x) {
  const struct rt_entry *u = hist_find(&p->users, j->user);
  x->user = u && u->n ? u : NULL;
  x->userapp = hist_find(&p->userapps, userapp_key(j));
  x->since_submit_s = u && u->last_submit_s > 0 && j->submit_s >= u->last_submit_s
                          ? j->submit_s - u->last_submit_s
                          : -1;
  x->inflight = u ? u->inflight : 0;
  x->nobs = p->nobs;
  x->log_mean = p->nobs ? p->log_sum / (double)p->nobs : log(RT_COLD_S);
}

/* With no estimate and no history, the geometric mean of all runtimes seen
 * (one hour before anything was seen) is the least-wrong guess in log space. */
static double cold(const struct rt_ctx *x, const struct dc_pred_job *j) {
  if (j->req_time_s > 0) return j->req_time_s;
  return exp(x->log_mean);
}

/* Tsafrir, Etsion and Feitelson (2007): the mean of the user's last two
 * runtimes, never above the user's estimate (the job would be killed there). */
static double tsafrir(const struct rt_ctx *x, const struct dc_pred_job *j) {
  if (!x->user) return cold(x, j);
  double v = x->user->n >= 2 ? (x->user->last[0] + x->user->last[1]) / 2
                             : x->user->last[0];
  if (j->req_time_s > 0) v = DC_MIN(v, j->req_time_s);
  return v;
}

/* The point prediction as what a pending slot holds: its log, and for the
 * learned kind the features and experts' opinions behind it. */
static void point(struct dc_rtpred *p, const struct dc_pred_job *j,
                  const struct rt_ctx *x, struct rt_pending *out) {
  double v;
  switch (p->cfg.kind) {
  case DC_RTPRED_TSAFRIR: v = tsafrir(x, j); break;
  case DC_RTPRED_USER: v = cold(x, j); break;
  default:
    v = exp(learned_predict(p->learned, j, x, log(tsafrir(x, j)), out->f, out->e));
    if (j->req_time_s > 0) v = DC_MIN(v, j->req_time_s);
    break;
  }
  if (!isfinite(v) || v < RT_MIN_S) v = RT_MIN_S;
  out->value = log(v);
}

/* Non-finite fields would poison the features and, through the tree
 * window, every later fit. */
static bool job_ok(const struct dc_pred_job *j) {
  return j && isfinite(j->req_mem_mb) && isfinite(j->req_time_s) &&
         isfinite(j->submit_s);
}

int dc_rtpred_predict(struct dc_rtpred *p, const struct dc_pred_job *j,
                      struct dc_pred *out) {
  if (!p || !job_ok(j) || !out) return DC_EINVAL;
  struct rt_ctx x;
  context(p, j, &x);
  uint64_t key = pending_key(j);
  struct rt_pending *s = pending_slot(p->pending, key), now;
  point(p, j, &x, &now);
  /* Asked again later (a job waiting in a queue), the answer uses the
   * newest history, but learning remembers the first answer. */
  if (!s->used || s->key != key) {
    *s = now;
    s->used = 1;
    s->key = key;
    struct rt_entry *u;
    if (!hist_upsert(&p->users, j->user, &u)) { /* else: no burst features */
      u->last_submit_s = DC_MAX(u->last_submit_s, j->submit_s);
      u->inflight++;
    }
  }
  out->value = exp(now.value);
  resid_interval(&p->resid, out->value, &out->lo, &out->hi);
  out->n = x.user ? x.user->n : 0;
  return 0;
}

int dc_rtpred_observe(struct dc_rtpred *p, const struct dc_pred_job *j,
                      double runtime_s) {
  if (!p || !job_ok(j) || !isfinite(runtime_s) || runtime_s < 0) return DC_EINVAL;
  double rt = DC_MAX(runtime_s, RT_MIN_S);
  /* Learn from what was said at submit time; a job never predicted (or
   * forgotten) is judged by what would be said now. */
  uint64_t key = pending_key(j);
  struct rt_pending *s = pending_slot(p->pending, key), now;
  if (!s->used || s->key != key) {
    struct rt_ctx x;
    context(p, j, &x);
    point(p, j, &x, &now);
    s = &now;
  }
  int lrc = 0;
  if (p->learned) lrc = learned_observe(p->learned, j, s->f, s->e, log(rt));
  resid_add(&p->resid, log(rt) - s->value);
  s->used = 0;
  /* A failed inline retrain is reported, but the history still moves on. */
  struct rt_entry *u, *ua;
  int rc = hist_upsert(&p->users, j->user, &u);
  if (!rc) rc = hist_upsert(&p->userapps, userapp_key(j), &ua);
  if (rc) return rc;
  if (u->inflight) u->inflight--;
  hist_add(u, rt, j->req_time_s);
  hist_add(ua, rt, j->req_time_s);
  p->nobs++;
  p->log_sum += log(rt);
  return lrc;
}

int dc_rtpred_save(const struct dc_rtpred *p, const char *path) {
  if (!p || !path) return DC_EINVAL;
  struct dc_buf b = {.max = RT_FILE_MAX};
  int rc = dc_buf_put_u32(&b, RT_FILE_MAGIC);
  if (!rc) rc = dc_buf_put_u32(&b, RT_FILE_VERSION);
  if (!rc) rc = dc_buf_put_u32(&b, (uint32_t)p->cfg.kind);
  if (!rc) rc = dc_buf_put_u64(&b, p->nobs);
  if (!rc) rc = dc_buf_put_f64(&b, p->log_sum);
  if (!rc) rc = hist_encode(&p->users, &b);
  if (!rc) rc = hist_encode(&p->userapps, &b);
  if (!rc) rc = resid_encode(&p->resid, &b);
  if (!rc) rc = pending_encode(p->pending, &b);
  if (!rc && p->learned) rc = learned_encode(p->learned, &b);
  if (!rc) rc = dc_write_file_atomic(path, b.data, b.len, 0600);
  dc_buf_free(&b);
  return rc;
}

int dc_rtpred_load(struct dc_rtpred *p, const char *path) {
  if (!p || !path) return DC_EINVAL;
  char *data = NULL;
  size_t len = 0;
  int rc = dc_read_file(path, RT_FILE_MAX, &data, &len);
  if (rc) return rc;
  /* Decode into a fresh object; p changes only if everything is valid. */
  struct dc_rtpred *n = NULL;
  rc = dc_rtpred_new(&p->cfg, &n);
  if (rc) {
    dc_free(data);
    return rc;
  }
  struct dc_reader r;
  dc_reader_init(&r, data, len);
  uint32_t magic = 0, version = 0, kind = 0;
  dc_get_u32(&r, &magic);
  dc_get_u32(&r, &version);
  dc_get_u32(&r, &kind);
  dc_get_u64(&r, &n->nobs);
  dc_get_f64(&r, &n->log_sum);
  if (r.err || magic != RT_FILE_MAGIC) rc = DC_EPROTO;
  else if (version != RT_FILE_VERSION) rc = DC_EVERSION;
  else if (kind != (uint32_t)p->cfg.kind) rc = DC_EINVAL;
  else if (!isfinite(n->log_sum)) rc = DC_EPROTO;
  if (!rc) rc = hist_decode(&r, &n->users);
  if (!rc) rc = hist_decode(&r, &n->userapps);
  if (!rc) rc = resid_decode(&r, &n->resid);
  if (!rc) rc = pending_decode(&r, n->pending);
  if (!rc && n->learned) rc = learned_decode(&r, n->learned);
  if (!rc) rc = dc_reader_finish(&r);
  dc_free(data);
  if (rc) {
    dc_rtpred_free(n);
    return rc;
  }
  /* Swap the contents; the old state goes with the shell. */
  struct dc_rtpred old = *p;
  *p = *n;
  *n = old;
  if (p->learned) learned_set_generation(p->learned, learned_generation(n->learned) + 1);
  dc_rtpred_free(n);
  return 0;
}
