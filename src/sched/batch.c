/* SPDX-License-Identifier: Apache-2.0
 * Batch assignment: top-k candidates per task, an exact min-cost flow over
 * them (shortest augmenting paths from one task at a time, Dijkstra with
 * potentials, as in the Hungarian method), then a repair pass for the
 * resources a single-capacity flow cannot see. */
#include <float.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "sched/sched.h"
#include "sched/sched_int.h"

struct cand {
  uint32_t node;                  /* compressed node index */
  double c;                       /* cost, shifted to >= 0 */
};

struct flow {
  size_t nt, nn, k;
  struct cand *cand;              /* nt * k, unused slots have node UINT32_MAX */
  uint32_t *match;                /* task -> compressed node, UINT32_MAX = none */
  uint32_t *slots;                /* free places left per compressed node */
  uint32_t **holders;             /* node -> tasks matched to it */
  uint32_t *nhold, *caphold;
  double *pot_t, *pot_n;
  /* Dijkstra scratch, reset through the touched lists. */
  double *dist_t, *dist_n;
  uint32_t *prev_n;               /* node reached from task */
  uint32_t *prev_t;               /* task reached from node (UINT32_MAX = root) */
  uint8_t *done_t, *done_n;
  uint32_t *touched_t, *touched_n;
  size_t ntt, ntn;
};

struct heap_item {
  double d;
  uint32_t v;                     /* tasks 0..nt-1, nodes nt.. */
};
struct heap {
  struct heap_item *a;
  size_t n, cap;
};

static int heap_push(struct heap *h, double d, uint32_t v) {
  if (h->n == h->cap) {
    size_t nc = h->cap ? h->cap * 2 : 256;
    struct heap_item *na = dc_realloc(h->a, nc * sizeof *na);
    if (!na) return DC_ENOMEM;
    h->a = na;
    h->cap = nc;
  }
  size_t i = h->n++;
  while (i > 0 && h->a[(i - 1) / 2].d > d) {
    h->a[i] = h->a[(i - 1) / 2];
    i = (i - 1) / 2;
  }
  h->a[i] = (struct heap_item){d, v};
  return DC_OK;
}

static struct heap_item heap_pop(struct heap *h) {
  struct heap_item top = h->a[0], last = h->a[--h->n];
  size_t i = 0;
  for (;;) {
    size_t c = 2 * i + 1;
    if (c >= h->n) break;
    if (c + 1 < h->n && h->a[c + 1].d < h->a[c].d) c++;
    if (h->a[c].d >= last.d) break;
    h->a[i] = h->a[c];
    i = c;
  }
  if (h->n) h->a[i] = last;
  return top;
}

static int hold_add(struct flow *f, uint32_t node, uint32_t task) {
  if (f->nhold[node] == f->caphold[node]) {
    uint32_t nc = f->caphold[node] ? f->caphold[node] * 2 : 4;
    uint32_t *na = dc_realloc(f->holders[node], nc * sizeof *na);
    if (!na) return DC_ENOMEM;
    f->holders[node] = na;
    f->caphold[node] = nc;
  }
  f->holders[node][f->nhold[node]++] = task;
  return DC_OK;
}

static void hold_del(struct flow *f, uint32_t node, uint32_t task) {
  for (uint32_t i = 0; i < f->nhold[node]; i++)
    if (f->holders[node][i] == task) {
      f->holders[node][i] = f->holders[node][--f->nhold[node]];
      return;
    }
}

static double cand_cost(const struct flow *f, uint32_t t, uint32_t node) {
  for (size_t j = 0; j < f->k; j++)
    if (f->cand[t * f->k + j].node == node) return f->cand[t * f->k + j].c;
  return DBL_MAX;
}

/* One shortest augmenting path from task `root` to any node with a free
 * slot. Returns DC_OK (augmented), DC_ENOTFOUND (no path), DC_ENOMEM. */
static int augment(struct flow *f, struct heap *h, uint32_t root) {
  const uint32_t nt = (uint32_t)f->nt;
  h->n = 0;
  f->ntt = f->ntn = 0;
  f->dist_t[root] = 0;
  f->prev_t[root] = UINT32_MAX;
  f->touched_t[f->ntt++] = root;
  if (heap_push(h, 0, root)) return DC_ENOMEM;
  uint32_t sink_node = UINT32_MAX;
  double dsink = 0;
  while (h->n) {
    struct heap_item it = heap_pop(h);
    if (it.v < nt) {
      uint32_t t = it.v;
      if (f->done_t[t] || it.d > f->dist_t[t]) continue;
      f->done_t[t] = 1;
      for (size_t j = 0; j < f->k; j++) {
        const struct cand *c = &f->cand[t * f->k + j];
        if (c->node == UINT32_MAX || f->match[t] == c->node) continue;
        double rc = c->c + f->pot_t[t] - f->pot_n[c->node];
        if (rc < 0) rc = 0; /* rounding only: potentials keep it >= 0 */
        double nd = it.d + rc;
        if (nd < f->dist_n[c->node]) {
          if (f->dist_n[c->node] == DBL_MAX) f->touched_n[f->ntn++] = c->node;
          f->dist_n[c->node] = nd;
          f->prev_n[c->node] = t;
          if (heap_push(h, nd, nt + c->node)) return DC_ENOMEM;
        }
      }
    } else {
      uint32_t n = it.v - nt;
      if (f->done_n[n] || it.d > f->dist_n[n]) continue;
      f->done_n[n] = 1;
      if (f->slots[n] > 0) {
        sink_node = n;
        dsink = it.d;
        break;
      }
      /* Full node: re-route one of its tasks along the reverse edge. */
      for (uint32_t i = 0; i < f->nhold[n]; i++) {
        uint32_t t = f->holders[n][i];
        double rc = -cand_cost(f, t, n) + f->pot_n[n] - f->pot_t[t];
        if (rc < 0) rc = 0;
        double nd = it.d + rc;
        if (nd < f->dist_t[t]) {
          if (f->dist_t[t] == DBL_MAX) f->touched_t[f->ntt++] = t;
          f->dist_t[t] = nd;
          f->prev_t[t] = n;
          if (heap_push(h, nd, t)) return DC_ENOMEM;
        }
      }
    }
  }
  if (sink_node != UINT32_MAX) {
    /* Potentials: every vertex settled before the sink moves by its
     * distance less the sink's, which keeps reduced costs non-negative. */
    for (size_t i = 0; i < f->ntt; i++) {
      uint32_t t = f->touched_t[i];
      if (f->done_t[t]) f->pot_t[t] += f->dist_t[t] - dsink;
    }
    for (size_t i = 0; i < f->ntn; i++) {
      uint32_t n = f->touched_n[i];
      if (f->done_n[n]) f->pot_n[n] += f->dist_n[n] - dsink;
    }
    f->slots[sink_node]--;
    uint32_t n = sink_node;
    for (;;) {
      uint32_t t = f->prev_n[n];
      uint32_t old = f->match[t];
      f->match[t] = n;
      if (hold_add(f, n, t)) return DC_ENOMEM;
      if (old != UINT32_MAX) hold_del(f, old, t);
      if (f->prev_t[t] == UINT32_MAX) break;
      n = f->prev_t[t];
    }
  }
  for (size_t i = 0; i < f->ntt; i++) {
    f->dist_t[f->touched_t[i]] = DBL_MAX;
    f->done_t[f->touched_t[i]] = 0;
  }
  for (size_t i = 0; i < f->ntn; i++) {
    f->dist_n[f->touched_n[i]] = DBL_MAX;
    f->done_n[f->touched_n[i]] = 0;
  }
  return sink_node != UINT32_MAX ? DC_OK : DC_ENOTFOUND;
}

static void flow_free(struct flow *f) {
  if (f->holders)
    for (size_t i = 0; i < f->nn; i++) dc_free(f->holders[i]);
  dc_free(f->holders);
  dc_free(f->cand);
  dc_free(f->match);
  dc_free(f->slots);
  dc_free(f->nhold);
  dc_free(f->caphold);
  dc_free(f->pot_t);
  dc_free(f->pot_n);
  dc_free(f->dist_t);
  dc_free(f->dist_n);
  dc_free(f->prev_n);
  dc_free(f->prev_t);
  dc_free(f->done_t);
  dc_free(f->done_n);
  dc_free(f->touched_t);
  dc_free(f->touched_n);
}

static int flow_alloc(struct flow *f, size_t nt, size_t nn, size_t k) {
  memset(f, 0, sizeof *f);
  f->nt = nt;
  f->nn = nn;
  f->k = k;
  size_t a = nt ? nt : 1, b = nn ? nn : 1;
  f->cand = dc_malloc(a * k * sizeof *f->cand);
  f->match = dc_malloc(a * sizeof *f->match);
  f->pot_t = dc_calloc(a, sizeof *f->pot_t);
  f->dist_t = dc_malloc(a * sizeof *f->dist_t);
  f->prev_t = dc_malloc(a * sizeof *f->prev_t);
  f->done_t = dc_calloc(a, 1);
  f->touched_t = dc_malloc(a * sizeof *f->touched_t);
  f->slots = dc_calloc(b, sizeof *f->slots);
  f->holders = dc_calloc(b, sizeof *f->holders);
  f->nhold = dc_calloc(b, sizeof *f->nhold);
  f->caphold = dc_calloc(b, sizeof *f->caphold);
  f->pot_n = dc_calloc(b, sizeof *f->pot_n);
  f->dist_n = dc_malloc(b * sizeof *f->dist_n);
  f->prev_n = dc_malloc(b * sizeof *f->prev_n);
  f->done_n = dc_calloc(b, 1);
  f->touched_n = dc_malloc(b * sizeof *f->touched_n);
  if (!f->cand || !f->match || !f->pot_t || !f->dist_t || !f->prev_t ||
      !f->done_t || !f->touched_t || !f->slots || !f->holders || !f->nhold ||
      !f->caphold || !f->pot_n || !f->dist_n || !f->prev_n || !f->done_n ||
      !f->touched_n) {
    flow_free(f);
    return DC_ENOMEM;
  }
  for (size_t i = 0; i < a; i++) {
    f->match[i] = UINT32_MAX;
    f->dist_t[i] = DBL_MAX;
  }
  for (size_t i = 0; i < b; i++) f->dist_n[i] = DBL_MAX;
  return DC_OK;
}

/* Keeps the k cheapest (cost, node) pairs of one task, sorted. */
static void topk_insert(struct cand *row, size_t k, size_t *n, uint32_t node,
                        double c) {
  if (*n == k && c >= row[k - 1].c) return;
  size_t i = *n < k ? (*n)++ : k - 1;
  while (i > 0 && row[i - 1].c > c) {
    row[i] = row[i - 1];
    i--;
  }
  row[i] = (struct cand){node, c};
}

static int greedy(struct dc_sched_ctx *ctx, struct dc_sched_res *nodes,
                  size_t nnodes, const struct dc_sched_req *tasks,
                  const size_t *which, size_t n, size_t *node_of,
                  struct dc_sched_alloc *allocs, double *objective,
                  size_t *placed) {
  for (size_t k = 0; k < n; k++) {
    size_t i = which ? which[k] : k, best;
    if (dc_sched_choose(ctx, nodes, nnodes, &tasks[i], NULL, &best)) continue;
    *objective += sched_cost(ctx, nodes, best, &tasks[i]);
    dc_sched_take(&nodes[best], &tasks[i], &allocs[i]);
    node_of[i] = best;
    (*placed)++;
  }
  return DC_OK;
}

/* Places on a node in the flow: its free cpu and memory over the average
 * candidate's. Sized by the largest candidate the flow strands capacity
 * (and did worse than greedy in bench_sched); by the smallest it
 * over-commits most nodes. What overflows is repaired afterwards. */
static uint32_t slots_for(const struct dc_sched_res *n, uint64_t avg_cpu,
                          uint64_t avg_mem, uint32_t ntasks) {
  uint64_t s = ntasks;
  if (avg_cpu) s = DC_MIN(s, (n->cpu_millis - n->used_cpu_millis) / avg_cpu);
  if (avg_mem) s = DC_MIN(s, (n->memory_mb - n->used_memory_mb) / avg_mem);
  return (uint32_t)s;
}

/* Dominant Resource Fairness order (Ghodsi et al., NSDI'11): repeatedly
 * the next task of the user with the lowest dominant share, whose share
 * then grows by that task's dominant share of the cluster. Within a user,
 * the given order. OUT: order[ntasks]. Errors: DC_ENOMEM. */
static int drf_order(const struct dc_sched_res *nodes, size_t nnodes,
                     const struct dc_sched_req *tasks, size_t ntasks,
                     const struct dc_sched_batch_opts *o, size_t *order) {
  double tc = 0, tm = 0, tg = 0;
  for (size_t j = 0; j < nnodes; j++) {
    tc += nodes[j].cpu_millis;
    tm += (double)nodes[j].memory_mb;
    tg += 1000.0 * nodes[j].ngpu;
  }
  uint32_t *users = dc_malloc((ntasks ? ntasks : 1) * sizeof *users);
  double *share = dc_malloc((ntasks ? ntasks : 1) * sizeof *share);
  size_t *next = dc_calloc(ntasks ? ntasks : 1, sizeof *next);
  if (!users || !share || !next) {
    dc_free(users);
    dc_free(share);
    dc_free(next);
    return DC_ENOMEM;
  }
  size_t nu = 0;
  for (size_t i = 0; i < ntasks; i++) {
    size_t u = 0;
    while (u < nu && users[u] != tasks[i].user) u++;
    if (u == nu) {
      users[nu] = tasks[i].user;
      share[nu++] = o && o->user_share && tasks[i].user < o->nusers
                        ? o->user_share[tasks[i].user]
                        : 0;
    }
  }
  for (size_t k = 0; k < ntasks; k++) {
    /* The user with the least share that still has tasks (ties: lower id). */
    size_t best = SIZE_MAX;
    for (size_t u = 0; u < nu; u++) {
      while (next[u] < ntasks && tasks[next[u]].user != users[u]) next[u]++;
      if (next[u] == ntasks) continue;
      if (best == SIZE_MAX || share[u] < share[best] ||
          (share[u] == share[best] && users[u] < users[best]))
        best = u;
    }
    size_t i = next[best]++;
    order[k] = i;
    const struct dc_sched_req *t = &tasks[i];
    double d = tc > 0 ? t->cpu_millis / tc : 0;
    if (tm > 0) d = DC_MAX(d, (double)t->memory_mb / tm);
    if (tg > 0) d = DC_MAX(d, (double)t->num_gpu * t->gpu_milli / tg);
    share[best] += d;
  }
  dc_free(users);
  dc_free(share);
  dc_free(next);
  return DC_OK;
}

int dc_sched_batch(struct dc_sched_ctx *ctx, struct dc_sched_res *nodes,
                   size_t nnodes, const struct dc_sched_req *tasks,
                   size_t ntasks, const struct dc_sched_batch_opts *o,
                   size_t *node_of, struct dc_sched_alloc *allocs,
                   struct dc_sched_batch_result *res) {
  size_t k = o && o->topk ? o->topk : 8;
  size_t max_exact = o && o->max_exact ? o->max_exact : 4096;
  memset(res, 0, sizeof *res);
  for (size_t i = 0; i < ntasks; i++) node_of[i] = SIZE_MAX;
  size_t *order = dc_malloc((ntasks ? ntasks : 1) * sizeof *order);
  if (!order || drf_order(nodes, nnodes, tasks, ntasks, o, order)) {
    dc_free(order);
    return DC_ENOMEM;
  }
  if (ntasks > max_exact || ctx->kind == DC_SCHED_RANDOM) {
    res->solver = DC_SCHED_SOLVER_GREEDY;
    greedy(ctx, nodes, nnodes, tasks, order, ntasks, node_of, allocs,
           &res->objective, &res->placed);
    dc_free(order);
    return DC_OK;
  }
  res->solver = DC_SCHED_SOLVER_FLOW;
  struct flow f;
  /* Nodes are not compressed: candidate lists index them directly. */
  if (flow_alloc(&f, ntasks, nnodes, k)) {
    dc_free(order);
    return DC_ENOMEM;
  }
  uint64_t *sum_cpu = dc_calloc(nnodes ? nnodes : 1, sizeof *sum_cpu);
  uint64_t *sum_mem = dc_calloc(nnodes ? nnodes : 1, sizeof *sum_mem);
  uint32_t *cnt = dc_calloc(nnodes ? nnodes : 1, sizeof *cnt);
  size_t *late = dc_malloc((ntasks ? ntasks : 1) * sizeof *late);
  struct heap h = {0};
  int rc = DC_OK;
  if (!sum_cpu || !sum_mem || !cnt || !late) {
    rc = DC_ENOMEM;
    goto out;
  }
  double cmin = DBL_MAX;
  for (size_t i = 0; i < ntasks; i++) {
    struct cand *row = &f.cand[i * k];
    size_t n = 0;
    /* Same scoring budget as one decision (rotating start on large
     * clusters), so the batch and the greedy path see the same nodes. */
    size_t limit = dc_sched_nodes_to_score(nnodes), feas = 0, s = 0;
    size_t first = limit < nnodes ? ctx->next_start % nnodes : 0;
    for (; s < nnodes && feas < limit; s++) {
      size_t j = first + s < nnodes ? first + s : first + s - nnodes;
      if (dc_sched_fits(&nodes[j], &tasks[i]) != DC_SCHED_OK) continue;
      feas++;
      topk_insert(row, k, &n, (uint32_t)j, sched_cost(ctx, nodes, j, &tasks[i]));
    }
    if (limit < nnodes) ctx->next_start = first + s;
    for (size_t j = 0; j < n; j++) {
      uint32_t nd = row[j].node;
      cmin = DC_MIN(cmin, row[j].c);
      sum_cpu[nd] += tasks[i].cpu_millis;
      sum_mem[nd] += tasks[i].memory_mb;
      cnt[nd]++;
    }
    for (size_t j = n; j < k; j++) row[j] = (struct cand){UINT32_MAX, 0};
  }
  for (size_t i = 0; i < ntasks * k; i++)
    if (f.cand[i].node != UINT32_MAX) f.cand[i].c -= cmin;
  for (size_t j = 0; j < nnodes; j++)
    if (cnt[j])
      f.slots[j] = slots_for(&nodes[j], sum_cpu[j] / cnt[j], sum_mem[j] / cnt[j], cnt[j]);
  /* Tasks enter in DRF order: once matched a task stays matched (later
   * paths only move it), so when the window does not fit, the users with
   * the least share are the ones served. */
  for (size_t q = 0; q < ntasks && rc == DC_OK; q++) {
    rc = augment(&f, &h, (uint32_t)order[q]);
    if (rc == DC_ENOTFOUND) rc = DC_OK;
  }
  if (rc) goto out;
  /* Repair: take resources in DRF order; a task whose node no longer
   * holds it (memory, GPUs, or uneven cpu the slot count could not see)
   * is placed again by the scored greedy path, as is one the flow left out. */
  size_t nlate = 0;
  for (size_t q = 0; q < ntasks; q++) {
    size_t i = order[q];
    uint32_t nd = f.match[i];
    if (nd == UINT32_MAX || dc_sched_fits(&nodes[nd], &tasks[i]) != DC_SCHED_OK) {
      if (nd != UINT32_MAX) res->repaired++;
      late[nlate++] = i;
      continue;
    }
    res->objective += cand_cost(&f, (uint32_t)i, nd) + cmin;
    dc_sched_take(&nodes[nd], &tasks[i], &allocs[i]);
    node_of[i] = nd;
    res->placed++;
  }
  greedy(ctx, nodes, nnodes, tasks, late, nlate, node_of, allocs,
         &res->objective, &res->placed);
out:
  dc_free(h.a);
  dc_free(sum_cpu);
  dc_free(sum_mem);
  dc_free(cnt);
  dc_free(late);
  dc_free(order);
  flow_free(&f);
  return rc;
}
