/* SPDX-License-Identifier: Apache-2.0
 * simsched: the trace-driven scheduling simulator. Reads Standard Workload
 * Format logs and the Alibaba GPU pod and node lists, replays them in
 * virtual time against the real sched policies and reports, per policy,
 * the figures the matching engine is judged by. Deterministic for a seed. */
#ifndef DC_SIMSCHED_H
#define DC_SIMSCHED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/base.h"
#include "sched/sched.h"

enum sim_format { SIM_SWF, SIM_ALIBABA };

struct sim_job {
  double submit_s, run_s, est_s;  /* est_s <= 0: unknown */
  double trace_wait_s;            /* as recorded (for the online prediction replay) */
  uint32_t procs;
  uint32_t user, group, app, queue; /* interned, 0 = unknown */
  struct dc_sched_req req;        /* Alibaba pods */
  uint32_t seq;                   /* row order, breaks submit-time ties */
};

#define SIM_MODELS_MAX 31

struct sim_workload {
  enum sim_format format;
  struct sim_job *jobs;
  size_t njobs, skipped;          /* skipped: rows without a runtime or width */
  struct dc_sched_res *nodes;
  size_t nnodes;
  char cluster_source[64];        /* "machines file", "header", "--nodes", ... */
  struct dc_sched_tasktype *types;
  size_t ntypes;
  char models[SIM_MODELS_MAX][32];
  size_t nmodels;
  size_t distinct_run, distinct_est, distinct_mem; /* capped at 50 */
};

void sim_workload_close(struct sim_workload *w);

/* SWF: jobs from path; nodes from nodes_path (a .machines file: "id name
 * nodes cores speed memory_kb" per line), else path + ".machines" if it
 * exists, else the MaxNodes/MaxProcs header. Errors: DC_EIO (cannot read),
 * DC_EPROTO (bad line: err says which line and field). */
int sim_swf_read(const char *path, const char *nodes_path,
                 struct sim_workload *w, struct dc_errmsg *err);
/* Alibaba: pods from path; nodes from nodes_path, else the
 * openb_node_list_gpu_node.csv beside a file named *openb_pod_list_*.csv. */
int sim_alibaba_read(const char *path, const char *nodes_path,
                     struct sim_workload *w, struct dc_errmsg *err);

struct sim_opts {
  uint64_t seed;
  double mtbf_h;                  /* mean time between node failures; 0 = none */
  double mttr_h;                  /* repair time */
  double speed_spread;            /* speeds uniform in [1-s, 1+s] x nominal */
  size_t window;                  /* learned batch window (Alibaba pods) */
  bool provider_fair;             /* learned: proportional shares across
                                     providers in the cost (off by default,
                                     docs/matching.md) */
};
void sim_opts_default(struct sim_opts *o);

enum sim_policy {
  SIM_RANDOM, SIM_FIRST_FIT, SIM_BEST_FIT, SIM_K8S, SIM_EASY, SIM_FGD,
  SIM_LEARNED, SIM_POLICIES
};
const char *sim_policy_name(enum sim_policy p);
int sim_policy_parse(const char *s, enum sim_policy *out);
bool sim_policy_applies(enum sim_policy p, const struct sim_workload *w);

#define SIM_NFIG 11
struct sim_result {
  enum sim_policy policy;
  double fig[SIM_NFIG];           /* in the order of sim_fig_names */
  const char *why[SIM_NFIG];      /* non-NULL: the figure is null, and why */
  size_t started, killed;
};
extern const char *const sim_fig_names[SIM_NFIG];
enum {
  SIM_MEAN_WAIT, SIM_P95_WAIT, SIM_BSLD, SIM_MAKESPAN, SIM_UTIL, SIM_COST,
  SIM_UNPLACED, SIM_GPU_ALLOC, SIM_GPU_FRAG, SIM_DEC_P50, SIM_DEC_P99
};

/* Runs one policy. Errors: DC_ENOMEM, DC_EINVAL (policy does not apply). */
int sim_run(const struct sim_workload *w, enum sim_policy p,
            const struct sim_opts *o, struct sim_result *r);

/* Online runtime prediction error (mean absolute log error) of the learned
 * predictor, the user's estimate and Tsafrir's: each job is predicted at
 * submission and learned from when it ends in the trace. */
struct sim_pred_result {
  double male[3];                 /* learned, user, tsafrir */
  const char *why[3];
  size_t n;
};
int sim_predict_eval(const struct sim_workload *w, uint64_t seed,
                     struct sim_pred_result *r);

/* Percentile p in [0,100] of v[0..n) (sorted in place). */
double sim_percentile(double *v, size_t n, double p);

#endif
