/* SPDX-License-Identifier: Apache-2.0
 * EASY backfilling: start the queue's head when it fits, otherwise reserve
 * the earliest time it will, and let later jobs jump ahead only if they
 * cannot delay that reservation. Estimates come from the caller: the
 * user's (classic EASY) or predicted ones (the learned policy). */
#include <stdlib.h>

#include "base/base.h"
#include "sched/sched.h"

static int by_end(const void *a, const void *b) {
  const struct dc_sched_running *x = a, *y = b;
  if (x->end_s != y->end_s) return x->end_s < y->end_s ? -1 : 1;
  return (x->procs > y->procs) - (x->procs < y->procs);
}

int dc_sched_easy(double now_s, uint32_t free_procs,
                  const struct dc_sched_running *run, size_t nrun,
                  const struct dc_sched_waiting *q, size_t nq,
                  const size_t *bf, size_t *start, size_t *nstart,
                  double *shadow_s) {
  *nstart = 0;
  *shadow_s = -1;
  uint64_t free = free_procs;
  size_t head = 0;
  /* FCFS while the head fits. */
  while (head < nq && q[head].procs <= free) {
    start[(*nstart)++] = head;
    free -= q[head].procs;
    head++;
  }
  if (head == nq) return DC_OK;

  /* Reservation for the head: walk the running jobs by estimated end,
   * counting the processors they give back. Jobs just started above count
   * as running too. */
  size_t n = nrun + *nstart;
  struct dc_sched_running *ends = dc_malloc((n ? n : 1) * sizeof *ends);
  bool *taken = dc_calloc(nq, sizeof *taken);
  if (!ends || !taken) {
    dc_free(ends);
    dc_free(taken);
    *nstart = 0;
    return DC_ENOMEM;
  }
  for (size_t i = 0; i < nrun; i++) ends[i] = run[i];
  for (size_t i = 0; i < *nstart; i++) {
    const struct dc_sched_waiting *j = &q[start[i]];
    ends[nrun + i] = (struct dc_sched_running){now_s + j->est_s, j->procs};
    taken[start[i]] = true;
  }
  qsort(ends, n, sizeof *ends, by_end);
  uint64_t avail = free;
  double shadow = -1;
  for (size_t i = 0; i < n && shadow < 0; i++) {
    avail += ends[i].procs;
    if (avail >= q[head].procs) shadow = ends[i].end_s > now_s ? ends[i].end_s : now_s;
  }
  dc_free(ends);
  if (shadow < 0) {
    /* The head can never fit (wider than the machine): it must not block
     * the queue forever, so nothing is reserved for it. */
    shadow = 1e300;
    avail = q[head].procs;
  }
  *shadow_s = shadow;
  uint64_t extra = avail - q[head].procs; /* free at the shadow beyond the head */
  taken[head] = true;

  for (size_t k = 0; k < nq && free > 0; k++) {
    size_t j = bf ? bf[k] : k;
    if (j >= nq || taken[j] || q[j].procs > free) continue;
    bool ends_in_time = now_s + q[j].est_s <= shadow;
    if (!ends_in_time && q[j].procs > extra) continue;
    if (!ends_in_time) extra -= q[j].procs;
    free -= q[j].procs;
    taken[j] = true;
    start[(*nstart)++] = j;
  }
  dc_free(taken);
  return DC_OK;
}
