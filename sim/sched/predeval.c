/* SPDX-License-Identifier: Apache-2.0
 * Online runtime-prediction error on an SWF log. Replays submissions and
 * completions in the trace's own time: a job is predicted when it is
 * submitted and learned from only once it has ended (submit + recorded
 * wait + runtime), so no predictor sees the future. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "predict/predict.h"
#include "sim/sched/sim_int.h"

struct pev {
  double t;
  uint32_t job;
  uint8_t end;                    /* ends sort before submits at one instant */
};

static int cmp_pev(const void *a, const void *b) {
  const struct pev *x = a, *y = b;
  if (x->t != y->t) return x->t < y->t ? -1 : 1;
  if (x->end != y->end) return x->end ? -1 : 1;
  return (x->job > y->job) - (x->job < y->job);
}

int sim_predict_eval(const struct sim_workload *w, uint64_t seed,
                     struct sim_pred_result *r) {
  memset(r, 0, sizeof *r);
  if (w->format != SIM_SWF) {
    r->why[0] = r->why[1] = r->why[2] =
        "pods never leave in the FGD replay: no runtimes to predict";
    return DC_OK;
  }
  static const int kinds[3] = {DC_RTPRED_LEARNED, DC_RTPRED_USER, DC_RTPRED_TSAFRIR};
  struct dc_rtpred *p[3] = {0};
  struct pev *ev = dc_malloc(2 * w->njobs * sizeof *ev);
  int rc = ev ? DC_OK : DC_ENOMEM;
  for (int k = 0; k < 3 && rc == DC_OK; k++) {
    struct dc_rtpred_config c;
    dc_rtpred_config_default(&c);
    c.kind = kinds[k];
    c.seed = seed;
    c.xgb_threads = 1;
    rc = dc_rtpred_new(&c, &p[k]);
  }
  double sum[3] = {0};
  size_t n = 0;
  if (rc == DC_OK) {
    for (size_t j = 0; j < w->njobs; j++) {
      const struct sim_job *jb = &w->jobs[j];
      ev[2 * j] = (struct pev){jb->submit_s, (uint32_t)j, 0};
      ev[2 * j + 1] = (struct pev){jb->submit_s + jb->trace_wait_s + jb->run_s,
                                   (uint32_t)j, 1};
    }
    qsort(ev, 2 * w->njobs, sizeof *ev, cmp_pev);
  }
  for (size_t i = 0; rc == DC_OK && i < 2 * w->njobs; i++) {
    const struct sim_job *jb = &w->jobs[ev[i].job];
    struct dc_pred_job f = {.user = jb->user, .group = jb->group, .app = jb->app,
                            .queue = jb->queue, .req_cpus = jb->procs,
                            .req_time_s = jb->est_s, .submit_s = jb->submit_s};
    for (int k = 0; k < 3 && rc == DC_OK; k++) {
      if (ev[i].end) {
        rc = dc_rtpred_observe(p[k], &f, jb->run_s);
        continue;
      }
      struct dc_pred pr;
      rc = dc_rtpred_predict(p[k], &f, &pr);
      sum[k] += fabs(log(DC_MAX(pr.value, 1.0)) - log(DC_MAX(jb->run_s, 1.0)));
    }
    if (!ev[i].end) n++;
  }
  for (int k = 0; k < 3; k++) {
    dc_rtpred_free(p[k]);
    r->male[k] = n ? sum[k] / (double)n : 0;
  }
  dc_free(ev);
  r->n = n;
  if (w->distinct_run < 50)
    r->why[0] = r->why[1] = r->why[2] = "not measurable";
  else if (w->distinct_est < 50)
    r->why[1] = "not measurable";
  return rc;
}
