/* SPDX-License-Identifier: Apache-2.0
 * sched: placement as a pure function. From the nodes' state and the
 * pending tasks it computes assignments and a one-line explanation for each
 * task it could not place. No I/O, no clock, no randomness: the master turns
 * the assignments into TASK_ASSIGN commands, and a simulator can call the
 * very same function in virtual time. */
#ifndef DC_SCHED_H
#define DC_SCHED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct dc_sched_label {
  const char *key, *value;
};

struct dc_sched_node {            /* all pointers borrowed for the call */
  const char *id;                 /* hex node id */
  uint32_t cpu_millis;            /* capacity */
  uint64_t memory_mb, disk_mb;
  uint32_t gpu;
  uint32_t used_cpu_millis;       /* reserved by tasks assigned or running */
  uint64_t used_memory_mb, used_disk_mb;
  uint32_t used_gpu;
  uint64_t price_cpu_hour;        /* micro-DEEP per core-hour */
  double lat, lon;
  const char *classes;            /* comma-separated service classes */
  const struct dc_sched_label *labels;
  size_t nlabels;
};

struct dc_sched_task {
  const char *id;
  uint32_t attempt;               /* the attempt this assignment creates */
  uint32_t cpu_millis;
  uint64_t memory_mb, disk_mb;
  uint32_t gpu;
  int priority;                   /* higher first */
  /* constraints (from the job) */
  const char *service_class;      /* NULL = any */
  const struct dc_sched_label *labels;
  size_t nlabels;
  bool has_max_price;
  uint64_t max_price;
  bool has_near;
  double near_lat, near_lon, near_max_km;
};

struct dc_sched_policy {
  double w_load;                  /* weight of "least loaded after placement" */
  double w_price;                 /* weight of low price */
  double w_distance;              /* weight of closeness to `near` */
};

struct dc_sched_assignment {
  size_t task;                    /* index into tasks[] */
  size_t node;                    /* index into nodes[] */
  double score;
};

struct dc_sched_reason {
  size_t task;
  char text[160];                 /* why no node fit, e.g. "no node has 4096 MB free (best: 2048)" */
};

void dc_sched_policy_default(struct dc_sched_policy *p);

/* Places tasks in order of priority (then the given order), updating a
 * private copy of the nodes' usage as it goes, so one call never
 * over-commits a node. nodes' used_* fields are not modified.
 * OUT: out[] gets up to ntasks assignments (*nout); reasons[] (may be NULL)
 * gets one entry per unplaced task (*nreasons).
 * Errors: DC_ENOMEM. */
int dc_sched_place(const struct dc_sched_node *nodes, size_t nnodes,
                   const struct dc_sched_task *tasks, size_t ntasks,
                   const struct dc_sched_policy *policy,
                   struct dc_sched_assignment *out, size_t *nout,
                   struct dc_sched_reason *reasons, size_t *nreasons);

/* Great-circle distance in km (haversine). */
double dc_sched_distance_km(double lat1, double lon1, double lat2, double lon2);

#endif /* DC_SCHED_H */
