/* SPDX-License-Identifier: Apache-2.0
 * Resource vectors: whether a task fits a node, taking and giving back its
 * share, and FGD's fragmentation measure (Weng et al., USENIX ATC'23). */
#include <string.h>

#include "base/base.h"
#include "sched/sched.h"

static bool is_share(const struct dc_sched_req *t) {
  return t->num_gpu == 1 && t->gpu_milli > 0 && t->gpu_milli < 1000;
}

/* Whole GPUs a node has free, and the largest partial share. */
static void gpu_free_stats(const struct dc_sched_res *n, uint32_t *whole,
                           uint32_t *best) {
  *whole = 0;
  *best = 0;
  for (uint32_t g = 0; g < n->ngpu; g++) {
    if (n->gpu_free[g] >= 1000) (*whole)++;
    if (n->gpu_free[g] > *best) *best = n->gpu_free[g];
  }
}

enum dc_sched_why dc_sched_fits(const struct dc_sched_res *n,
                                const struct dc_sched_req *t) {
  if (n->down) return DC_SCHED_DOWN;
  if ((uint64_t)n->used_cpu_millis + t->cpu_millis > n->cpu_millis)
    return DC_SCHED_CPU;
  if (n->used_memory_mb + t->memory_mb > n->memory_mb) return DC_SCHED_MEM;
  if (t->num_gpu == 0) return DC_SCHED_OK;
  if (t->models && !(t->models & n->model)) return DC_SCHED_MODEL;
  uint32_t whole, best;
  gpu_free_stats(n, &whole, &best);
  if (is_share(t)) return best >= t->gpu_milli ? DC_SCHED_OK : DC_SCHED_GPU;
  return whole >= t->num_gpu ? DC_SCHED_OK : DC_SCHED_GPU;
}

void dc_sched_take(struct dc_sched_res *n, const struct dc_sched_req *t,
                   struct dc_sched_alloc *a) {
  memset(a, 0, sizeof *a);
  n->used_cpu_millis += t->cpu_millis;
  n->used_memory_mb += t->memory_mb;
  n->version++;
  if (t->num_gpu == 0) return;
  if (is_share(t)) {
    /* Best fit among GPUs: the fullest one that still holds the share, so
     * whole GPUs stay whole for the tasks that need them. */
    uint32_t pick = UINT32_MAX;
    for (uint32_t g = 0; g < n->ngpu; g++)
      if (n->gpu_free[g] >= t->gpu_milli &&
          (pick == UINT32_MAX || n->gpu_free[g] < n->gpu_free[pick]))
        pick = g;
    DC_ASSERT(pick != UINT32_MAX);
    n->gpu_free[pick] -= (uint16_t)t->gpu_milli;
    a->gpu[pick] = (uint16_t)t->gpu_milli;
    return;
  }
  uint32_t left = t->num_gpu;
  for (uint32_t g = 0; g < n->ngpu && left; g++)
    if (n->gpu_free[g] >= 1000) {
      n->gpu_free[g] -= 1000;
      a->gpu[g] = 1000;
      left--;
    }
  DC_ASSERT(left == 0);
}

void dc_sched_release(struct dc_sched_res *n, const struct dc_sched_req *t,
                      const struct dc_sched_alloc *a) {
  n->used_cpu_millis -= t->cpu_millis;
  n->used_memory_mb -= t->memory_mb;
  for (uint32_t g = 0; g < n->ngpu; g++) n->gpu_free[g] += a->gpu[g];
  n->version++;
}

/* F_n(m): the idle GPU share of n that a task m could not use. If m cannot
 * run on n at all, every idle share counts; if it can, the GPUs whose free
 * share is below what m needs per GPU count. A task that asks for no GPU
 * can use none of them, so for it every idle share is a fragment (this
 * term does not depend on where a task goes, only on how much GPU it takes). */
static double frag_for(const struct dc_sched_res *n,
                       const struct dc_sched_req *m) {
  uint32_t idle = 0;
  for (uint32_t g = 0; g < n->ngpu; g++) idle += n->gpu_free[g];
  if (idle == 0) return 0;
  if (m->num_gpu == 0 || dc_sched_fits(n, m) != DC_SCHED_OK) return idle;
  uint32_t need = is_share(m) ? m->gpu_milli : 1000, f = 0;
  for (uint32_t g = 0; g < n->ngpu; g++)
    if (n->gpu_free[g] < need) f += n->gpu_free[g];
  return f;
}

double dc_sched_frag(const struct dc_sched_res *n,
                     const struct dc_sched_tasktype *types, size_t ntypes) {
  if (n->ngpu == 0) return 0;
  double f = 0;
  for (size_t i = 0; i < ntypes; i++)
    if (types[i].p > 0) f += types[i].p * frag_for(n, &types[i].req);
  return f;
}
