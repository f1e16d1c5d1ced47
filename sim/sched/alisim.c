/* SPDX-License-Identifier: Apache-2.0
 * The FGD replay of the Alibaba GPU trace (Weng et al., ATC'23): pods
 * arrive in trace order and never leave; arrivals stop once the GPU they
 * asked for reaches the cluster's GPU capacity. When the trace runs out
 * first, pods are drawn from it at random (seeded), as the paper's Monte
 * Carlo replay does. Reported at that point: the share of GPU allocated
 * and the fragmentation (FGD's measure against the trace's task mix). */
#include <string.h>

#include "sim/sched/sim_int.h"

static enum dc_sched_kind kind_of(enum sim_policy p) {
  switch (p) {
    case SIM_RANDOM: return DC_SCHED_RANDOM;
    case SIM_FIRST_FIT: return DC_SCHED_FIRST_FIT;
    case SIM_BEST_FIT: return DC_SCHED_BEST_FIT;
    case SIM_K8S: return DC_SCHED_K8S;
    case SIM_FGD: return DC_SCHED_FGD;
    default: return DC_SCHED_LEARNED;
  }
}

static uint64_t gpu_ask(const struct dc_sched_req *r) {
  return (uint64_t)r->num_gpu * r->gpu_milli;
}

int sim_run_alibaba(const struct sim_workload *w, enum sim_policy p,
                    const struct sim_opts *o, struct sim_result *r) {
  struct dc_sched_res *nodes = dc_malloc((w->nnodes ? w->nnodes : 1) * sizeof *nodes);
  size_t win = p == SIM_LEARNED && o->window > 1 ? o->window : 1;
  struct dc_sched_req *batch = dc_malloc(win * sizeof *batch);
  size_t *node_of = dc_malloc(win * sizeof *node_of);
  struct dc_sched_alloc *allocs = dc_malloc(win * sizeof *allocs);
  struct sim_timer tm = {0};
  struct dc_sched_ctx ctx = {.kind = kind_of(p), .rng = o->seed,
                             .types = w->types, .ntypes = w->ntypes};
  dc_sched_weights_default(&ctx.w);
  int rc = DC_OK;
  /* Provider shares: pods never leave, so a node's work is what it holds. */
  bool fairness = p == SIM_LEARNED && o->provider_fair;
  double *work = NULL, *fair = NULL;
  if (!nodes || !batch || !node_of || !allocs ||
      (p == SIM_FGD || p == SIM_LEARNED
           ? dc_sched_ctx_cache(&ctx, w->nnodes)
           : DC_OK)) {
    rc = DC_ENOMEM;
    goto out;
  }
  memcpy(nodes, w->nodes, w->nnodes * sizeof *nodes);
  if (fairness) {
    work = dc_calloc(w->nnodes, sizeof *work);
    fair = dc_calloc(w->nnodes, sizeof *fair);
    if (!work || !fair) {
      rc = DC_ENOMEM;
      goto out;
    }
  }
  uint64_t cap_gpu = 0, cap_cpu = 0, arrived = 0;
  for (size_t i = 0; i < w->nnodes; i++) {
    cap_gpu += (uint64_t)nodes[i].ngpu * 1000;
    cap_cpu += nodes[i].cpu_millis;
  }
  uint64_t rng = o->seed ^ 0x5eedull;
  size_t unplaced = 0, nb = 0, k = 0;
  /* Each pod is one arrival; a batch of `win` arrivals is assigned at once
   * by the learned policy (win 1 = one at a time). */
  for (;;) {
    bool stop = cap_gpu == 0 ? k >= w->njobs : arrived >= cap_gpu;
    if (!stop) {
      size_t j = k < w->njobs ? k : (size_t)(sim_rand(&rng) % w->njobs);
      batch[nb++] = w->jobs[j].req;
      arrived += gpu_ask(&w->jobs[j].req);
      k++;
    }
    if (nb == 0 || (!stop && nb < win)) {
      if (stop) break;
      continue;
    }
    double t0 = sim_now_us();
    if (fairness) {
      for (size_t i = 0; i < w->nnodes; i++) work[i] = nodes[i].used_cpu_millis;
      dc_sched_provider_fair(nodes, w->nnodes, work, ctx.w.provider_fair, fair);
      ctx.provider_fair = fair;
    }
    if (win > 1) {
      struct dc_sched_batch_result br;
      rc = dc_sched_batch(&ctx, nodes, w->nnodes, batch, nb, NULL, node_of,
                          allocs, &br);
      if (rc) goto out;
      unplaced += nb - br.placed;
    } else {
      size_t best;
      if (dc_sched_choose(&ctx, nodes, w->nnodes, &batch[0], NULL, &best) == DC_OK)
        dc_sched_take(&nodes[best], &batch[0], &allocs[0]);
      else
        unplaced++;
    }
    double dt = (sim_now_us() - t0) / (double)nb;
    for (size_t i = 0; i < nb; i++)
      if ((rc = sim_timer_add(&tm, dt))) goto out;
    nb = 0;
    if (stop) break;
  }
  uint64_t idle = 0, used_cpu = 0;
  double frag = 0;
  for (size_t i = 0; i < w->nnodes; i++) {
    for (uint32_t g = 0; g < nodes[i].ngpu; g++) idle += nodes[i].gpu_free[g];
    used_cpu += nodes[i].used_cpu_millis;
    frag += dc_sched_frag(&nodes[i], w->types, w->ntypes);
  }
  static const char *const no_time =
      "pods never leave in the FGD replay: no waits or runtimes";
  r->why[SIM_MEAN_WAIT] = r->why[SIM_P95_WAIT] = r->why[SIM_BSLD] = no_time;
  r->why[SIM_MAKESPAN] = r->why[SIM_COST] = no_time;
  r->fig[SIM_UTIL] = cap_cpu ? (double)used_cpu / (double)cap_cpu : 0;
  r->fig[SIM_UNPLACED] = (double)unplaced;
  if (cap_gpu) {
    r->fig[SIM_GPU_ALLOC] = (double)(cap_gpu - idle) / (double)cap_gpu;
    r->fig[SIM_GPU_FRAG] = frag / (double)cap_gpu;
  } else {
    r->why[SIM_GPU_ALLOC] = r->why[SIM_GPU_FRAG] = "no GPUs in the cluster";
  }
  r->started = k - unplaced;
  r->fig[SIM_DEC_P50] = sim_percentile(tm.us, tm.n, 50);
  r->fig[SIM_DEC_P99] = sim_percentile(tm.us, tm.n, 99);
out:
  dc_free(work);
  dc_free(fair);
  dc_sched_ctx_close(&ctx);
  dc_free(tm.us);
  dc_free(nodes);
  dc_free(batch);
  dc_free(node_of);
  dc_free(allocs);
  return rc;
}
