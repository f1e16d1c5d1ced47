/* SPDX-License-Identifier: Apache-2.0
 * Scheduler speed at scale, with the configuration of the quality runs
 * (the learned cost, FGD's task mix on the GPU part):
 *  1. placements per second, 10,000 nodes and 100,000 pending tasks of
 *     varied shapes (random cpu and memory, one in 20 asking for GPUs; the
 *     cluster can hold them all, about 60% of its cpu), one
 *     decision per task against the live cluster state; target 50,000/s,
 *     printed beside the v0 greedy path (dc_sched_place) on the same data;
 *  2. one batch of 1,000 tasks on 10,000 nodes, target < 100 ms, with the
 *     solver path that ran and its objective against greedy's.
 * Output: one JSON object per figure. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/base.h"
#include "sched/sched.h"

enum { NODES = 10000, TASKS = 100000, BATCH = 1000, V0_TASKS = 5000 };

static uint64_t rng = 12345;
static uint64_t rnd(void) {
  uint64_t z = (rng += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}
/* CPU time of this process: the machine is shared, and wall time would
 * count other programs' work. Wall time is printed beside it. */
static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
static double wall_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
/* Sum of the static costs (against the state before the batch) of an
 * assignment: both solvers are judged on the same numbers. */
static double static_objective(struct dc_sched_ctx *c,
                               const struct dc_sched_res *before,
                               const struct dc_sched_req *t, size_t n,
                               const size_t *node_of) {
  double o = 0;
  for (size_t i = 0; i < n; i++)
    if (node_of[i] != SIZE_MAX) o += dc_sched_cost(c, before, node_of[i], &t[i]);
  return o;
}

/* GPU task shapes (the mix FGD measures against): shares and whole GPUs. */
static struct dc_sched_tasktype mix[8];
static size_t nmix;
static void make_mix(void) {
  static const uint32_t shape[8][3] = {{1, 250, 4000}, {1, 500, 8000},
    {1, 1000, 8000}, {2, 1000, 16000}, {4, 1000, 32000}, {8, 1000, 64000},
    {1, 100, 2000}, {0, 0, 4000}};
  static const double p[8] = {.15, .15, .25, .1, .05, .05, .05, .2};
  for (size_t i = 0; i < 8; i++) {
    mix[i].req = (struct dc_sched_req){.cpu_millis = shape[i][2],
        .memory_mb = shape[i][2] * 2, .num_gpu = shape[i][0],
        .gpu_milli = shape[i][1], .type = (int32_t)i};
    mix[i].p = p[i];
  }
  nmix = 8;
}

static void make_nodes(struct dc_sched_res *n, struct dc_sched_node *v0) {
  static const uint32_t cores[5] = {8, 16, 32, 64, 96};
  static char ids[NODES][8];
  for (size_t i = 0; i < NODES; i++) {
    struct dc_sched_res r = {.cpu_millis = cores[rnd() % 5] * 1000,
                             .speed = 0.6 + (double)(rnd() % 80) / 100.0,
                             .fail_prob = (double)(rnd() % 50) / 1000.0,
                             .price_cpu_hour = 1 + (double)(rnd() % 4)};
    r.memory_mb = r.cpu_millis * (4 + rnd() % 4);
    if (rnd() % 100 < 25) {
      r.ngpu = 1u << (rnd() % 4);
      r.model = 1;
      for (uint32_t g = 0; g < r.ngpu; g++) r.gpu_free[g] = 1000;
    }
    n[i] = r;
    snprintf(ids[i], sizeof ids[i], "%05zu", i);
    v0[i] = (struct dc_sched_node){.id = ids[i], .cpu_millis = r.cpu_millis,
        .memory_mb = r.memory_mb, .disk_mb = 1u << 20, .gpu = r.ngpu,
        .price_cpu_hour = (uint64_t)r.price_cpu_hour, .classes = ""};
  }
}

static void make_tasks(struct dc_sched_req *t, struct dc_sched_task *v0,
                       size_t n) {
  for (size_t i = 0; i < n; i++) {
    struct dc_sched_req r = {.cpu_millis = 100 + 50 * (uint32_t)(rnd() % 100),
                             .memory_mb = 64 + rnd() % 16000, .type = -1,
                             .runtime_s = 60 + (double)(rnd() % 86400),
                             .user = (uint32_t)(rnd() % 100)};
    if (rnd() % 20 == 0) {
      r = mix[rnd() % (nmix - 1)].req; /* a GPU shape of the mix */
      r.runtime_s = 60 + (double)(rnd() % 86400);
    }
    t[i] = r;
    v0[i] = (struct dc_sched_task){.id = "t", .attempt = 1,
        .cpu_millis = r.cpu_millis, .memory_mb = r.memory_mb,
        .gpu = r.num_gpu};
  }
}

int main(void) {
  struct dc_sched_res *nodes = calloc(NODES, sizeof *nodes);
  struct dc_sched_res *copy = calloc(NODES, sizeof *copy);
  struct dc_sched_node *v0n = calloc(NODES, sizeof *v0n);
  struct dc_sched_req *tasks = calloc(TASKS, sizeof *tasks);
  struct dc_sched_task *v0t = calloc(TASKS, sizeof *v0t);
  struct dc_sched_assignment *v0a = calloc(V0_TASKS, sizeof *v0a);
  struct dc_sched_reason *v0r = calloc(V0_TASKS, sizeof *v0r);
  size_t *node_of = calloc(BATCH, sizeof *node_of);
  size_t *gnode_of = calloc(BATCH, sizeof *gnode_of);
  struct dc_sched_alloc *al = calloc(TASKS, sizeof *al);
  if (!nodes || !copy || !v0n || !tasks || !v0t || !v0a || !v0r || !node_of || !al) {
    fprintf(stderr, "bench_sched: out of memory\n");
    return 1;
  }
  make_mix();
  make_nodes(nodes, v0n);
  make_tasks(tasks, v0t, TASKS);
  memcpy(copy, nodes, NODES * sizeof *nodes);

  /* 1. One decision per task, learned cost, live state. */
  struct dc_sched_ctx ctx = {.kind = DC_SCHED_LEARNED, .types = mix, .ntypes = nmix};
  dc_sched_weights_default(&ctx.w);
  if (dc_sched_ctx_cache(&ctx, NODES)) return 1;
  size_t placed = 0;
  double w0 = wall_s(), t0 = now_s();
  for (size_t i = 0; i < TASKS; i++) {
    size_t n;
    if (dc_sched_choose(&ctx, copy, NODES, &tasks[i], NULL, &n) == DC_OK) {
      dc_sched_take(&copy[n], &tasks[i], &al[i]);
      placed++;
    }
  }
  double dt = now_s() - t0, rate = TASKS / dt, wrate = TASKS / (wall_s() - w0);
  dc_sched_ctx_close(&ctx);

  /* The v0 path (full scan, one call per task so every decision sees the
   * state left by the previous one, as the learned loop above does). */
  size_t na, nr, v0placed = 0;
  struct dc_sched_policy pol;
  dc_sched_policy_default(&pol);
  t0 = now_s();
  for (size_t i = 0; i < V0_TASKS; i++) {
    if (dc_sched_place(v0n, NODES, &v0t[i], 1, &pol, v0a, &na, v0r, &nr)) return 1;
    if (na) {
      struct dc_sched_node *x = &v0n[v0a[0].node];
      x->used_cpu_millis += v0t[i].cpu_millis;
      x->used_memory_mb += v0t[i].memory_mb;
      x->used_gpu += v0t[i].gpu;
      v0placed++;
    }
  }
  double v0rate = V0_TASKS / (now_s() - t0);
  printf("{\"bench\":\"sched_place\",\"nodes\":%d,\"tasks\":%d,\"placed\":%zu,"
         "\"placements_per_s\":%.0f,\"wall_placements_per_s\":%.0f,\"target_per_s\":50000,\"ratio_vs_target\":%.2f,"
         "\"v0_greedy_per_s\":%.0f,\"v0_tasks\":%d,\"ratio_vs_v0\":%.2f,"
         "\"nodes_scored_per_decision\":%zu}\n",
         NODES, TASKS, placed, rate, wrate, rate / 50000.0, v0rate, V0_TASKS,
         rate / v0rate, dc_sched_nodes_to_score(NODES));

  /* 2. One batch of 1,000 tasks on a cluster a third full. */
  memcpy(copy, nodes, NODES * sizeof *nodes);
  for (size_t i = 0; i < 30000; i++) {
    size_t n = i % NODES;
    if (dc_sched_fits(&copy[n], &tasks[i]) == DC_SCHED_OK)
      dc_sched_take(&copy[n], &tasks[i], &al[i]);
  }
  struct dc_sched_req *batch = &tasks[TASKS - BATCH];
  struct dc_sched_res *g = calloc(NODES, sizeof *g);
  struct dc_sched_res *before = calloc(NODES, sizeof *before);
  if (!g || !before || !gnode_of) return 1;
  memcpy(g, copy, NODES * sizeof *g);
  memcpy(before, copy, NODES * sizeof *before);
  struct dc_sched_ctx bc = {.kind = DC_SCHED_LEARNED, .types = mix, .ntypes = nmix};
  dc_sched_weights_default(&bc.w);
  struct dc_sched_ctx gc = bc;
  if (dc_sched_ctx_cache(&bc, NODES) || dc_sched_ctx_cache(&gc, NODES)) return 1;
  struct dc_sched_batch_opts o = {.topk = 8, .max_exact = 4096};
  struct dc_sched_batch_result rb, rg;
  t0 = now_s();
  if (dc_sched_batch(&bc, copy, NODES, batch, BATCH, &o, node_of, al, &rb)) return 1;
  double bms = (now_s() - t0) * 1e3;
  struct dc_sched_batch_opts og = {.topk = 8, .max_exact = 1}; /* forces greedy */
  t0 = now_s();
  if (dc_sched_batch(&gc, g, NODES, batch, BATCH, &og, gnode_of, al, &rg)) return 1;
  double gms = (now_s() - t0) * 1e3;
  struct dc_sched_ctx ec = {.kind = DC_SCHED_LEARNED, .types = mix, .ntypes = nmix};
  dc_sched_weights_default(&ec.w);
  rb.objective = static_objective(&ec, before, batch, BATCH, node_of);
  rg.objective = static_objective(&ec, before, batch, BATCH, gnode_of);
  printf("{\"bench\":\"sched_batch\",\"tasks\":%d,\"nodes\":%d,\"solver\":\"%s\","
         "\"ms\":%.1f,\"target_ms\":100,\"ratio_vs_target\":%.2f,\"placed\":%zu,"
         "\"repaired\":%zu,\"objective\":%.4f,\"greedy_ms\":%.1f,"
         "\"greedy_placed\":%zu,\"greedy_objective\":%.4f,"
         "\"objective_vs_greedy\":%.4f}\n",
         BATCH, NODES, rb.solver == DC_SCHED_SOLVER_FLOW ? "min-cost-flow" : "greedy",
         bms, bms / 100.0, rb.placed, rb.repaired, rb.objective, gms, rg.placed,
         rg.objective, rg.objective != 0 ? rb.objective / rg.objective : 0);
  dc_sched_ctx_close(&bc);
  dc_sched_ctx_close(&gc);
  free(g); free(before); free(gnode_of); free(nodes); free(copy); free(v0n); free(tasks); free(v0t);
  free(v0a); free(v0r); free(node_of); free(al);
  return 0;
}
