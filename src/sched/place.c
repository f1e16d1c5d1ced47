/* SPDX-License-Identifier: Apache-2.0
 * Scheduler v0: filter the nodes that can run a task, score the rest
 * (least loaded after placement, price, distance), take the best. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "sched/sched.h"

void dc_sched_policy_default(struct dc_sched_policy *p) {
  p->w_load = 1.0;
  p->w_price = 0.3;
  p->w_distance = 0.3;
}

double dc_sched_distance_km(double lat1, double lon1, double lat2,
                            double lon2) {
  const double r = 6371.0, d2r = M_PI / 180.0;
  double dlat = (lat2 - lat1) * d2r, dlon = (lon2 - lon1) * d2r;
  double a = sin(dlat / 2) * sin(dlat / 2) +
             cos(lat1 * d2r) * cos(lat2 * d2r) * sin(dlon / 2) * sin(dlon / 2);
  return 2 * r * atan2(sqrt(a), sqrt(1 - a));
}

static bool has_labels(const struct dc_sched_node *n,
                       const struct dc_sched_task *t) {
  for (size_t i = 0; i < t->nlabels; i++) {
    bool ok = false;
    for (size_t j = 0; j < n->nlabels && !ok; j++)
      ok = strcmp(n->labels[j].key, t->labels[i].key) == 0 &&
           strcmp(n->labels[j].value, t->labels[i].value) == 0;
    if (!ok) return false;
  }
  return true;
}

struct usage {
  uint64_t cpu, mem, disk, gpu;
};

enum why { W_NONE, W_CLASS, W_LABELS, W_PRICE, W_NEAR, W_CPU, W_MEM, W_DISK, W_GPU };

static enum why fits(const struct dc_sched_node *n, const struct usage *u,
                     const struct dc_sched_task *t) {
  if (t->service_class && *t->service_class &&
      !dc_csv_has(n->classes, t->service_class))
    return W_CLASS;
  if (!has_labels(n, t)) return W_LABELS;
  if (t->has_max_price && n->price_cpu_hour > t->max_price) return W_PRICE;
  if (t->has_near &&
      dc_sched_distance_km(n->lat, n->lon, t->near_lat, t->near_lon) >
          t->near_max_km)
    return W_NEAR;
  if (u->cpu + t->cpu_millis > n->cpu_millis) return W_CPU;
  if (u->mem + t->memory_mb > n->memory_mb) return W_MEM;
  if (u->disk + t->disk_mb > n->disk_mb) return W_DISK;
  if (u->gpu + t->gpu > n->gpu) return W_GPU;
  return W_NONE;
}

const char *dc_sched_eligible(const struct dc_sched_node *n,
                              const struct dc_sched_task *t) {
  struct usage u = {0};
  switch (fits(n, &u, t)) {
    case W_CLASS: return "class";
    case W_LABELS: return "labels";
    case W_PRICE: return "price";
    case W_NEAR: return "distance";
    default: return NULL; /* resources are the policies' business */
  }
}

static double score(const struct dc_sched_node *n, const struct usage *u,
                    const struct dc_sched_task *t,
                    const struct dc_sched_policy *p, uint64_t max_price) {
  /* Least allocated after placement, averaged over cpu and memory (the
   * Kubernetes LeastAllocated shape), in [0,1]. */
  double cpu_free = n->cpu_millis
                        ? 1.0 - (double)(u->cpu + t->cpu_millis) / n->cpu_millis
                        : 0;
  double mem_free = n->memory_mb
                        ? 1.0 - (double)(u->mem + t->memory_mb) / n->memory_mb
                        : 0;
  double s = p->w_load * (cpu_free + mem_free) / 2.0;
  if (max_price > 0)
    s += p->w_price * (1.0 - (double)n->price_cpu_hour / (double)max_price);
  if (t->has_near) {
    double d = dc_sched_distance_km(n->lat, n->lon, t->near_lat, t->near_lon);
    s += p->w_distance * (1.0 - d / (t->near_max_km > 0 ? t->near_max_km : 1));
  }
  return s;
}

struct order {
  int priority;
  size_t idx;
};
static int by_priority(const void *a, const void *b) {
  const struct order *x = a, *y = b;
  if (x->priority != y->priority) return y->priority - x->priority;
  return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static void explain(struct dc_sched_reason *r, size_t task, enum why w,
                    const struct dc_sched_task *t, size_t nnodes) {
  r->task = task;
  switch (w) {
    case W_CLASS: snprintf(r->text, sizeof r->text, "no node offers service class %s", t->service_class); break;
    case W_LABELS: snprintf(r->text, sizeof r->text, "no node has the required labels"); break;
    case W_PRICE: snprintf(r->text, sizeof r->text, "no node at or below max_price %llu", (unsigned long long)t->max_price); break;
    case W_NEAR: snprintf(r->text, sizeof r->text, "no node within %.0f km", t->near_max_km); break;
    case W_CPU: snprintf(r->text, sizeof r->text, "no node has %u millicores free", t->cpu_millis); break;
    case W_MEM: snprintf(r->text, sizeof r->text, "no node has %llu MB memory free", (unsigned long long)t->memory_mb); break;
    case W_DISK: snprintf(r->text, sizeof r->text, "no node has %llu MB disk free", (unsigned long long)t->disk_mb); break;
    case W_GPU: snprintf(r->text, sizeof r->text, "no node has %u GPU(s) free", t->gpu); break;
    default: snprintf(r->text, sizeof r->text, nnodes ? "no node fits" : "no live provider"); break;
  }
}

int dc_sched_place(const struct dc_sched_node *nodes, size_t nnodes,
                   const struct dc_sched_task *tasks, size_t ntasks,
                   const struct dc_sched_policy *policy,
                   struct dc_sched_assignment *out, size_t *nout,
                   struct dc_sched_reason *reasons, size_t *nreasons) {
  *nout = 0;
  if (nreasons) *nreasons = 0;
  struct usage *u = dc_calloc(nnodes ? nnodes : 1, sizeof *u);
  struct order *order = dc_calloc(ntasks ? ntasks : 1, sizeof *order);
  if (!u || !order) {
    dc_free(u);
    dc_free(order);
    return DC_ENOMEM;
  }
  uint64_t max_price = 0;
  for (size_t i = 0; i < nnodes; i++) {
    u[i] = (struct usage){nodes[i].used_cpu_millis, nodes[i].used_memory_mb,
                          nodes[i].used_disk_mb, nodes[i].used_gpu};
    max_price = DC_MAX(max_price, nodes[i].price_cpu_hour);
  }
  for (size_t i = 0; i < ntasks; i++)
    order[i] = (struct order){tasks[i].priority, i};
  qsort(order, ntasks, sizeof *order, by_priority);

  for (size_t k = 0; k < ntasks; k++) {
    size_t ti = order[k].idx;
    const struct dc_sched_task *t = &tasks[ti];
    size_t best = SIZE_MAX;
    double best_s = -1e300;
    enum why last = W_NONE;
    for (size_t ni = 0; ni < nnodes; ni++) {
      enum why w = fits(&nodes[ni], &u[ni], t);
      if (w != W_NONE) {
        if (w > last) last = w;
        continue;
      }
      double s = score(&nodes[ni], &u[ni], t, policy, max_price);
      /* Ties go to the lower node id, so the result never depends on the
       * order rows came out of the database. */
      if (s > best_s + 1e-12 ||
          (fabs(s - best_s) <= 1e-12 && best != SIZE_MAX &&
           strcmp(nodes[ni].id, nodes[best].id) < 0)) {
        best = ni;
        best_s = s;
      }
    }
    if (best == SIZE_MAX) {
      if (reasons) explain(&reasons[(*nreasons)++], ti, last, t, nnodes);
      continue;
    }
    u[best].cpu += t->cpu_millis;
    u[best].mem += t->memory_mb;
    u[best].disk += t->disk_mb;
    u[best].gpu += t->gpu;
    out[(*nout)++] = (struct dc_sched_assignment){ti, best, best_s};
  }
  dc_free(u);
  dc_free(order);
  return DC_OK;
}
