/* SPDX-License-Identifier: Apache-2.0
 * The task dependency graph: unique task names, `after` names resolved to
 * indices, cycle detection with a readable cycle in the message, and the
 * deterministic topological order the scheduler and the FSM rely on. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jobspec/jobspec_int.h"

struct name_ix {
  const char *name;
  size_t idx;
};

/* Dependencies in compressed rows: task i runs after dep[off[i]..off[i+1]). */
struct graph {
  size_t n;
  size_t *off;
  size_t *dep;
};

static int name_ix_cmp(const void *a, const void *b) {
  const struct name_ix *x = a, *y = b;
  int r = strcmp(x->name, y->name);
  if (r) return r;
  return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* Sorted by (name, index): bsearch-able, and equal names sit together with
 * the first declared one first. */
static struct name_ix *build_index(const struct dc_jobspec *spec) {
  struct name_ix *ix = dc_calloc(spec->ntasks, sizeof *ix);
  if (!ix) return NULL;
  for (size_t i = 0; i < spec->ntasks; i++)
    ix[i] = (struct name_ix){spec->tasks[i].name, i};
  qsort(ix, spec->ntasks, sizeof *ix, name_ix_cmp);
  return ix;
}

/* Index of the first task called `name`, or (size_t)-1. */
static size_t lookup(const struct name_ix *ix, size_t n, const char *name) {
  size_t lo = 0, hi = n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (strcmp(ix[mid].name, name) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo < n && strcmp(ix[lo].name, name) == 0 ? ix[lo].idx : (size_t)-1;
}

static void graph_free(struct graph *g) {
  dc_free(g->off);
  dc_free(g->dep);
}

/* Resolves every `after` name. With c->err set, problems get a message that
 * names tasks[i].after[j]. */
static int graph_build(struct js_ctx *c, const struct dc_jobspec *spec,
                       const struct name_ix *ix, struct graph *g) {
  size_t n = spec->ntasks, edges = 0;
  for (size_t i = 0; i < n; i++) edges += spec->tasks[i].nafter;
  g->n = n;
  g->off = dc_calloc(n + 1, sizeof *g->off);
  g->dep = dc_calloc(edges, sizeof *g->dep);
  size_t *seen = dc_calloc(n, sizeof *seen); /* seen[k] == i+1: i lists k */
  int rc = DC_OK;
  if (!g->off || !g->dep || !seen) {
    rc = jobspec_oom(c);
    goto out;
  }
  size_t e = 0;
  for (size_t i = 0; i < n && !rc; i++) {
    const struct dc_jobspec_task *t = &spec->tasks[i];
    for (size_t j = 0; j < t->nafter && !rc; j++) {
      size_t k = lookup(ix, n, t->after[j]);
      if (k != (size_t)-1 && k != i && seen[k] != i + 1) {
        seen[k] = i + 1;
        g->dep[e++] = k;
        continue;
      }
      char nm[80];
      jobspec_sanitize(nm, sizeof nm, t->after[j]);
      size_t old = jobspec_path_idx(c, i);
      jobspec_path_key(c, "after");
      jobspec_path_idx(c, j);
      if (k == (size_t)-1) rc = jobspec_fail(c, "unknown task \"%s\"", nm);
      else if (k == i) rc = jobspec_fail(c, "task \"%s\" cannot depend on itself", nm);
      else rc = jobspec_fail(c, "duplicate dependency \"%s\"", nm);
      jobspec_path_pop(c, old);
    }
    g->off[i + 1] = e;
  }
out:
  dc_free(seen);
  if (rc) graph_free(g);
  return rc;
}

/* Kahn's algorithm, always taking the lowest ready index. Writes *done
 * entries of order; done < n means the rest is on or behind a cycle, and
 * `left` (n entries) then holds each task's count of unfinished deps. */
static int graph_topo(const struct graph *g, size_t *order, size_t *done,
                      size_t **left_out) {
  size_t n = g->n;
  size_t *left = dc_calloc(n, sizeof *left);
  size_t *roff = dc_calloc(n + 1, sizeof *roff);
  size_t *rdep = dc_calloc(g->off[n], sizeof *rdep);
  size_t *fill = dc_calloc(n, sizeof *fill);
  int rc = DC_OK;
  if (!left || !roff || !rdep || !fill) {
    rc = DC_ENOMEM;
    goto out;
  }
  /* Reverse rows: who waits for task k. */
  for (size_t i = 0; i < n; i++) {
    left[i] = g->off[i + 1] - g->off[i];
    for (size_t e = g->off[i]; e < g->off[i + 1]; e++) roff[g->dep[e] + 1]++;
  }
  for (size_t k = 0; k < n; k++) roff[k + 1] += roff[k];
  for (size_t i = 0; i < n; i++)
    for (size_t e = g->off[i]; e < g->off[i + 1]; e++) {
      size_t k = g->dep[e];
      rdep[roff[k] + fill[k]++] = i;
    }
  /* fill[] is reused as "emitted". n <= 1000, so the O(n^2) scan for the
   * lowest ready index is cheaper than a heap in code and in time. */
  memset(fill, 0, n * sizeof *fill);
  size_t cnt = 0, lo = 0;
  while (cnt < n) {
    size_t i = lo;
    while (i < n && (fill[i] || left[i])) i++;
    if (i == n) break;
    fill[i] = 1;
    order[cnt++] = i;
    lo = i + 1;
    for (size_t e = roff[i]; e < roff[i + 1]; e++) {
      size_t w = rdep[e];
      if (--left[w] == 0 && w < lo) lo = w;
    }
  }
  *done = cnt;
out:
  dc_free(roff);
  dc_free(rdep);
  dc_free(fill);
  if (rc == DC_OK && left_out) *left_out = left;
  else dc_free(left);
  return rc;
}

/* First dependency of x that is still unfinished. */
static size_t next_dep(const struct graph *g, const size_t *left, size_t x) {
  for (size_t e = g->off[x]; e < g->off[x + 1]; e++)
    if (left[g->dep[e]]) return g->dep[e];
  DC_ASSERT(!"unfinished task without unfinished dependency");
  return 0;
}

/* Names one cycle among the unfinished tasks. Each unfinished task has an
 * unfinished dependency, so following next_dep from anywhere enters a cycle
 * within n steps; the lowest index on it is reported so the message does
 * not depend on where the walk started. */
static int cycle_fail(struct js_ctx *c, const struct dc_jobspec *spec,
                      const struct graph *g, const size_t *left) {
  size_t n = g->n, cur = 0;
  while (cur < n && left[cur] == 0) cur++;
  DC_ASSERT(cur < n);
  for (size_t s = 0; s < n; s++) cur = next_dep(g, left, cur);
  size_t low = cur;
  for (size_t x = next_dep(g, left, cur); x != cur; x = next_dep(g, left, x))
    if (x < low) low = x;
  /* "a after b after a": a runs after b, which runs after a. */
  char chain[160] = "", nm[80], first[80];
  jobspec_sanitize(first, sizeof first, spec->tasks[low].name);
  /* Room always kept for the ending: " after <first>" or " after ...". */
  size_t tail = DC_MAX(sizeof " after ...", sizeof " after " + strlen(first));
  size_t o = 0, x = low;
  do {
    jobspec_sanitize(nm, sizeof nm, spec->tasks[x].name);
    if (o + sizeof " after " + strlen(nm) + tail > sizeof chain) {
      memcpy(chain + o, " after ...", sizeof " after ...");
      break;
    }
    o += (size_t)snprintf(chain + o, sizeof chain - o, "%s%s",
                          o ? " after " : "", nm);
    x = next_dep(g, left, x);
  } while (x != low);
  if (x == low) snprintf(chain + o, sizeof chain - o, " after %s", first);
  return jobspec_fail(c, "dependency cycle through \"%s\" (%s)", first, chain);
}

int jobspec_check_graph(struct js_ctx *c, const struct dc_jobspec *spec) {
  size_t n = spec->ntasks;
  struct name_ix *ix = build_index(spec);
  if (!ix) return jobspec_oom(c);
  int rc = DC_OK;
  /* Report the first task (by declaration) whose name was used before. */
  size_t dup = (size_t)-1, first = 0;
  for (size_t i = 0, start = 0; i < n; i++) {
    if (i > 0 && strcmp(ix[i].name, ix[i - 1].name) == 0) {
      if (ix[i].idx < dup) {
        dup = ix[i].idx;
        first = ix[start].idx;
      }
    } else {
      start = i;
    }
  }
  if (dup != (size_t)-1) {
    char nm[80];
    jobspec_sanitize(nm, sizeof nm, spec->tasks[dup].name);
    size_t old = jobspec_path_idx(c, dup);
    jobspec_path_key(c, "name");
    rc = jobspec_fail(c, "duplicate task name \"%s\" (also tasks[%zu])", nm,
                      first);
    jobspec_path_pop(c, old);
    dc_free(ix);
    return rc;
  }
  struct graph g = {0};
  rc = graph_build(c, spec, ix, &g);
  dc_free(ix);
  if (rc) return rc;
  size_t *order = dc_calloc(n, sizeof *order), *left = NULL, done = 0;
  rc = order ? graph_topo(&g, order, &done, &left) : DC_ENOMEM;
  if (rc == DC_ENOMEM) rc = jobspec_oom(c);
  else if (done < n) rc = cycle_fail(c, spec, &g, left);
  dc_free(order);
  dc_free(left);
  graph_free(&g);
  return rc;
}

int dc_jobspec_topo_order(const struct dc_jobspec *spec, size_t *order) {
  DC_ASSERT(spec && (order || spec->ntasks == 0));
  struct dc_errmsg scratch;
  struct js_ctx c = {.err = &scratch};
  if (spec->ntasks == 0) return DC_OK;
  struct name_ix *ix = build_index(spec);
  if (!ix) return DC_ENOMEM;
  struct graph g = {0};
  int rc = graph_build(&c, spec, ix, &g);
  dc_free(ix);
  if (rc) return rc;
  size_t done = 0;
  rc = graph_topo(&g, order, &done, NULL);
  graph_free(&g);
  if (rc) return rc;
  return done == spec->ntasks ? DC_OK : DC_EINVAL;
}

const struct dc_jobspec_task *dc_jobspec_find_task(
    const struct dc_jobspec *spec, const char *name) {
  for (size_t i = 0; i < spec->ntasks; i++)
    if (strcmp(spec->tasks[i].name, name) == 0) return &spec->tasks[i];
  return NULL;
}
