/* SPDX-License-Identifier: Apache-2.0
 * Policy names, which policy fits which workload, decision timing. */
#include <string.h>
#include <time.h>

#include "sim/sched/sim_int.h"

static const char *const policy_names[SIM_POLICIES] = {
    "random", "first-fit", "best-fit", "k8s", "easy-backfill", "fgd", "learned"};

const char *const sim_fig_names[SIM_NFIG] = {
    "mean_wait_s", "p95_wait_s", "mean_bounded_slowdown", "makespan_s",
    "utilisation", "cost", "unplaced", "gpu_alloc_ratio", "gpu_fragmentation",
    "decision_us_p50", "decision_us_p99"};

const char *sim_policy_name(enum sim_policy p) {
  return p < SIM_POLICIES ? policy_names[p] : "?";
}

int sim_policy_parse(const char *s, enum sim_policy *out) {
  for (int p = 0; p < SIM_POLICIES; p++)
    if (!strcmp(s, policy_names[p])) {
      *out = (enum sim_policy)p;
      return DC_OK;
    }
  return DC_EINVAL;
}

bool sim_policy_applies(enum sim_policy p, const struct sim_workload *w) {
  /* EASY needs runtimes and a queue; FGD needs GPUs. Pods of the FGD
   * replay never leave, and SWF logs have no GPUs. */
  if (p == SIM_EASY) return w->format == SIM_SWF;
  if (p == SIM_FGD) return w->format == SIM_ALIBABA;
  return true;
}

void sim_opts_default(struct sim_opts *o) {
  *o = (struct sim_opts){.seed = 1, .mttr_h = 1.0, .window = 1};
}

int sim_run(const struct sim_workload *w, enum sim_policy p,
            const struct sim_opts *o, struct sim_result *r) {
  memset(r, 0, sizeof *r);
  r->policy = p;
  if (!sim_policy_applies(p, w)) return DC_EINVAL;
  return w->format == SIM_SWF ? sim_run_swf(w, p, o, r)
                              : sim_run_alibaba(w, p, o, r);
}

int sim_timer_add(struct sim_timer *t, double us) {
  if (t->n == t->cap) {
    size_t nc = t->cap ? t->cap * 2 : 1024;
    double *nu = dc_realloc(t->us, nc * sizeof *nu);
    if (!nu) return DC_ENOMEM;
    t->us = nu;
    t->cap = nc;
  }
  t->us[t->n++] = us;
  return DC_OK;
}

/* Measuring only: decision time is reported, never fed back into the run. */
double sim_now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}
