/* SPDX-License-Identifier: Apache-2.0
 * One task, one node: the baseline policies and the learned cost, each a
 * pure function of the nodes' state (and, for random, of the caller's
 * random state). Lower cost wins; ties go to the lower node index so that
 * a run repeats exactly. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/base.h"
#include "sched/sched.h"
#include "sched/sched_int.h"

static const char *const kind_names[DC_SCHED_KINDS] = {
    "random", "first-fit", "best-fit", "k8s", "fgd", "learned"};
static const char *const why_names[DC_SCHED_WHYS] = {
    "ok", "node down", "not enough cpu", "not enough memory",
    "not enough GPU", "GPU model not allowed"};

const char *dc_sched_kind_name(enum dc_sched_kind k) {
  return k < DC_SCHED_KINDS ? kind_names[k] : "?";
}

int dc_sched_kind_parse(const char *s, enum dc_sched_kind *out) {
  for (int k = 0; k < DC_SCHED_KINDS; k++)
    if (!strcmp(s, kind_names[k])) {
      *out = (enum dc_sched_kind)k;
      return DC_OK;
    }
  return DC_EINVAL;
}

const char *dc_sched_why_name(enum dc_sched_why w) {
  return w < DC_SCHED_WHYS ? why_names[w] : "?";
}

void dc_sched_weights_default(struct dc_sched_weights *w) {
  /* Fragmentation dominates on GPU workloads (in GPUs); the rest are in
   * hours or fractions and break ties between equally fragmenting nodes. */
  *w = (struct dc_sched_weights){
      .frag = 1.0, .time = 0.5, .price = 0.1, .risk = 2.0, .pack = 0.01,
      .distance = 0.5, .provider_fair = 0.01};
}

int dc_sched_ctx_cache(struct dc_sched_ctx *ctx, size_t nnodes) {
  size_t cells = nnodes * (ctx->ntypes + 1);
  double *c = dc_calloc(cells ? cells : 1, sizeof *c);
  uint32_t *v = dc_calloc(cells ? cells : 1, sizeof *v);
  if (!c || !v) {
    dc_free(c);
    dc_free(v);
    return DC_ENOMEM;
  }
  dc_sched_ctx_close(ctx);
  ctx->frag_cache = c;
  ctx->frag_ver = v;
  ctx->cache_nodes = nnodes;
  return DC_OK;
}

void dc_sched_ctx_close(struct dc_sched_ctx *ctx) {
  DC_FREE(ctx->frag_cache);
  DC_FREE(ctx->frag_ver);
  ctx->cache_nodes = 0;
}

/* splitmix64: small, good enough for choosing among candidates. */
static uint64_t next_rand(uint64_t *s) {
  uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

/* Fragmentation increase of placing t on node i (FGD's gradient). Cached
 * per (node, task type) and node version: a node's value only changes when
 * a task lands on it or leaves it. */
static double frag_delta(struct dc_sched_ctx *ctx,
                         const struct dc_sched_res *nodes, size_t i,
                         const struct dc_sched_req *t) {
  const struct dc_sched_res *n = &nodes[i];
  if (n->ngpu == 0 || !ctx->ntypes) return 0;
  if (t->num_gpu == 0) {
    /* A task without GPUs changes a node's fragmentation only by leaving
     * too little cpu or memory for a task of the mix that had enough
     * before; if it flips none, nothing changes. */
    uint64_t fc = n->cpu_millis - n->used_cpu_millis;
    uint64_t fm = n->memory_mb - n->used_memory_mb;
    bool flips = false;
    for (size_t k = 0; k < ctx->ntypes && !flips; k++) {
      const struct dc_sched_req *m = &ctx->types[k].req;
      if (ctx->types[k].p <= 0 || m->cpu_millis > fc || m->memory_mb > fm) continue;
      flips = m->cpu_millis + t->cpu_millis > fc || m->memory_mb + t->memory_mb > fm;
    }
    if (!flips) return 0;
  }
  bool cached = ctx->frag_cache && i < ctx->cache_nodes && t->type >= 0 &&
                (size_t)t->type < ctx->ntypes;
  size_t row = i * (ctx->ntypes + 1);
  if (cached && ctx->frag_ver[row + (size_t)t->type] == n->version + 1)
    return ctx->frag_cache[row + (size_t)t->type];
  double before;
  if (ctx->frag_cache && i < ctx->cache_nodes &&
      ctx->frag_ver[row + ctx->ntypes] == n->version + 1) {
    before = ctx->frag_cache[row + ctx->ntypes];
  } else {
    before = dc_sched_frag(n, ctx->types, ctx->ntypes);
    if (ctx->frag_cache && i < ctx->cache_nodes) {
      ctx->frag_cache[row + ctx->ntypes] = before;
      ctx->frag_ver[row + ctx->ntypes] = n->version + 1;
    }
  }
  struct dc_sched_res after = *n;
  struct dc_sched_alloc a;
  dc_sched_take(&after, t, &a);
  double d = dc_sched_frag(&after, ctx->types, ctx->ntypes) - before;
  if (cached) {
    ctx->frag_cache[row + (size_t)t->type] = d;
    ctx->frag_ver[row + (size_t)t->type] = n->version + 1;
  }
  return d;
}

static double share_after(uint64_t used, uint64_t req, uint64_t cap) {
  return cap ? (double)(used + req) / (double)cap : 1.0;
}

/* Fraction of the node left free after placement, averaged over the
 * resources the node has (best fit minimises it). */
static double leftover(const struct dc_sched_res *n,
                       const struct dc_sched_req *t) {
  double s = 1.0 - share_after(n->used_cpu_millis, t->cpu_millis, n->cpu_millis);
  int k = 1;
  if (n->memory_mb) {
    s += 1.0 - share_after(n->used_memory_mb, t->memory_mb, n->memory_mb);
    k++;
  }
  if (n->ngpu) {
    uint32_t idle = 0;
    for (uint32_t g = 0; g < n->ngpu; g++) idle += n->gpu_free[g];
    uint32_t want = t->num_gpu * (t->gpu_milli ? t->gpu_milli : 1000);
    s += (double)(idle - DC_MIN(idle, want)) / (1000.0 * n->ngpu);
    k++;
  }
  return s / k;
}

/* Kubernetes' default scoring: NodeResourcesFit LeastAllocated plus
 * NodeResourcesBalancedAllocation, both on cpu and memory, each 0..100. */
static double k8s_score(const struct dc_sched_res *n,
                        const struct dc_sched_req *t) {
  double fc = share_after(n->used_cpu_millis, t->cpu_millis, n->cpu_millis);
  double fm = n->memory_mb
                  ? share_after(n->used_memory_mb, t->memory_mb, n->memory_mb)
                  : fc;
  double least = ((1.0 - fc) + (1.0 - fm)) / 2.0 * 100.0;
  double balanced = (1.0 - fabs(fc - fm) / 2.0) * 100.0;
  return least + balanced;
}

static double learned_cost(struct dc_sched_ctx *ctx,
                           const struct dc_sched_res *nodes, size_t i,
                           const struct dc_sched_req *t) {
  const struct dc_sched_res *n = &nodes[i];
  const struct dc_sched_weights *w = &ctx->w;
  double speed = n->speed > 0 ? n->speed : 1.0;
  double run_h = t->runtime_s > 0 ? t->runtime_s / speed / 3600.0 : 0;
  double c = w->frag * frag_delta(ctx, nodes, i, t) / 1000.0;
  c += w->time * run_h;
  c += w->price * n->price_cpu_hour * (t->cpu_millis / 1000.0) * run_h;
  /* Risk: the work expected to be lost, at least the bare probability when
   * the runtime is unknown. */
  c += w->risk * n->fail_prob * (run_h > 0 ? 1.0 + run_h : 1.0);
  c += w->pack * leftover(n, t);
  if (t->has_near && n->has_loc)
    c += w->distance *
         dc_sched_distance_km(n->lat, n->lon, t->near_lat, t->near_lon) / 1000.0;
  if (ctx->provider_fair) c += ctx->provider_fair[i];
  return c;
}

void dc_sched_provider_fair(const struct dc_sched_res *nodes, size_t n,
                            const double *work, double w, double *fair) {
  double total_work = 0, total_cpu = 0;
  for (size_t j = 0; j < n; j++) {
    total_work += work[j] > 0 ? work[j] : 0;
    total_cpu += nodes[j].cpu_millis;
  }
  for (size_t j = 0; j < n; j++) {
    fair[j] = 0;
    if (total_work <= 0 || total_cpu <= 0 || !nodes[j].cpu_millis) continue;
    double target = nodes[j].cpu_millis / total_cpu;
    double actual = (work[j] > 0 ? work[j] : 0) / total_work;
    double r = actual / target - 1.0;
    fair[j] = w * (r > 1 ? 1 : r < -1 ? -1 : r);
  }
}

double dc_sched_cost(struct dc_sched_ctx *ctx, const struct dc_sched_res *nodes,
                     size_t i, const struct dc_sched_req *t) {
  return sched_cost(ctx, nodes, i, t);
}

double sched_cost(struct dc_sched_ctx *ctx, const struct dc_sched_res *nodes,
                  size_t i, const struct dc_sched_req *t) {
  switch (ctx->kind) {
    case DC_SCHED_FIRST_FIT: return (double)i;
    case DC_SCHED_BEST_FIT: return leftover(&nodes[i], t);
    case DC_SCHED_K8S: return -k8s_score(&nodes[i], t);
    case DC_SCHED_FGD: return frag_delta(ctx, nodes, i, t);
    case DC_SCHED_LEARNED: return learned_cost(ctx, nodes, i, t);
    default: return 0;
  }
}

static void note(struct dc_sched_explain *ex, size_t i, enum dc_sched_why w,
                 double c) {
  if (!ex) return;
  if (w != DC_SCHED_OK) ex->filtered[w]++;
  if (ex->n < ex->cap)
    ex->cand[ex->n] = (struct dc_sched_cand){(uint32_t)i, (uint8_t)w, c};
  ex->n++;
}

size_t dc_sched_nodes_to_score(size_t nnodes) {
  if (nnodes <= DC_SCHED_SCORE_ALL) return nnodes;
  return DC_MAX((size_t)500, nnodes / 20);
}

int dc_sched_choose(struct dc_sched_ctx *ctx, const struct dc_sched_res *nodes,
                    size_t nnodes, const struct dc_sched_req *t,
                    struct dc_sched_explain *ex, size_t *node) {
  if (ex) {
    ex->n = 0;
    memset(ex->filtered, 0, sizeof ex->filtered);
    ex->chosen = SIZE_MAX;
    ex->text[0] = 0;
  }
  size_t best = SIZE_MAX, feasible = 0, limit = dc_sched_nodes_to_score(nnodes);
  size_t first = limit < nnodes ? ctx->next_start % nnodes : 0, k = 0;
  double best_c = 0;
  enum dc_sched_why worst = DC_SCHED_OK;
  for (; k < nnodes && feasible < limit; k++) {
    size_t i = first + k < nnodes ? first + k : first + k - nnodes;
    enum dc_sched_why w = dc_sched_fits(&nodes[i], t);
    if (w != DC_SCHED_OK) {
      if (w > worst) worst = w;
      note(ex, i, w, 0);
      continue;
    }
    feasible++;
    if (ctx->kind == DC_SCHED_RANDOM) {
      /* Reservoir sampling: uniform over the feasible nodes in one pass. */
      if (next_rand(&ctx->rng) % feasible == 0) best = i;
      note(ex, i, w, 0);
      continue;
    }
    double c = sched_cost(ctx, nodes, i, t);
    note(ex, i, w, c);
    if (best == SIZE_MAX || c < best_c - 1e-12 ||
        (c <= best_c + 1e-12 && i < best)) {
      best = i;
      best_c = c;
    }
    if (ctx->kind == DC_SCHED_FIRST_FIT && !ex && limit == nnodes) break;
  }
  if (limit < nnodes) ctx->next_start = first + k;
  if (best == SIZE_MAX) {
    if (ex)
      snprintf(ex->text, sizeof ex->text, "%s: none of %zu nodes fits (%s)",
               dc_sched_kind_name(ctx->kind), nnodes,
               nnodes ? dc_sched_why_name(worst) : "no nodes");
    return DC_ENOTFOUND;
  }
  if (ex) {
    ex->chosen = best;
    snprintf(ex->text, sizeof ex->text,
             "%s: node %zu of %zu feasible (cost %.4g)",
             dc_sched_kind_name(ctx->kind), best, feasible, best_c);
  }
  *node = best;
  return DC_OK;
}
