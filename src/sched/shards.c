/* SPDX-License-Identifier: Apache-2.0
 * Service clusters: where the dynamic providers should be, given forecast
 * demand per class. Greedy on the largest shortfall; a move never opens a
 * shortfall in the class it leaves. */
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "sched/sched.h"

static size_t class_index(const struct dc_shard_class *classes, size_t nc,
                          const char *name) {
  for (size_t c = 0; c < nc; c++)
    if (name && !strcmp(classes[c].name, name)) return c;
  return SIZE_MAX;
}

void dc_shard_capacity(const struct dc_shard_node *nodes, size_t n,
                       const struct dc_shard_class *classes, size_t nc,
                       double *cap) {
  for (size_t c = 0; c < nc; c++) cap[c] = 0;
  for (size_t i = 0; i < n; i++) {
    if (nodes[i].dynamic) {
      size_t c = class_index(classes, nc, nodes[i].cluster);
      if (c != SIZE_MAX) cap[c] += nodes[i].cores;
      continue;
    }
    for (size_t c = 0; c < nc; c++)
      if (dc_csv_has(nodes[i].classes, classes[c].name)) cap[c] += nodes[i].cores;
  }
}

void dc_shard_plan(const struct dc_shard_node *nodes, size_t n,
                   const struct dc_shard_class *classes, size_t nc,
                   double min_shortfall, size_t max_moves,
                   struct dc_shard_move *moves, size_t *nmoves) {
  *nmoves = 0;
  double *cap = dc_calloc(nc ? nc : 1, sizeof *cap);
  bool *moved = dc_calloc(n ? n : 1, sizeof *moved);
  bool *stuck = dc_calloc(nc ? nc : 1, sizeof *stuck); /* no provider can help */
  size_t *where = dc_calloc(n ? n : 1, sizeof *where);
  if (!cap || !moved || !stuck || !where) goto out;
  dc_shard_capacity(nodes, n, classes, nc, cap);
  for (size_t i = 0; i < n; i++) where[i] = class_index(classes, nc, nodes[i].cluster);
  while (*nmoves < max_moves) {
    size_t to = SIZE_MAX;
    double worst = min_shortfall;
    for (size_t c = 0; c < nc; c++) {
      double sf = classes[c].demand_cores - cap[c];
      if (!stuck[c] && sf >= worst && (to == SIZE_MAX || sf > worst)) {
        to = c;
        worst = sf;
      }
    }
    if (to == SIZE_MAX) break;
    size_t best = SIZE_MAX;
    double best_spare = 0;
    for (size_t i = 0; i < n; i++) {
      const struct dc_shard_node *d = &nodes[i];
      if (!d->dynamic || !d->movable || moved[i] || where[i] == to ||
          !dc_csv_has(d->classes, classes[to].name))
        continue;
      size_t from = where[i];
      /* A node outside every known class has no demand to keep. */
      double spare = from == SIZE_MAX ? d->cores : cap[from] - classes[from].demand_cores;
      if (spare - d->cores < 0) continue;
      if (best == SIZE_MAX || spare > best_spare) {
        best = i;
        best_spare = spare;
      }
    }
    if (best == SIZE_MAX) {
      stuck[to] = true;
      continue;
    }
    size_t from = where[best];
    moves[*nmoves] = (struct dc_shard_move){.node = best, .from = from, .to = to,
                                            .shortfall_cores = worst,
                                            .spare_cores = best_spare};
    (*nmoves)++;
    if (from != SIZE_MAX) cap[from] -= nodes[best].cores;
    cap[to] += nodes[best].cores;
    where[best] = to;
    moved[best] = true;
  }
out:
  dc_free(cap);
  dc_free(moved);
  dc_free(stuck);
  dc_free(where);
}
