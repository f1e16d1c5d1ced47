/* SPDX-License-Identifier: Apache-2.0
 * Runtime prediction on a Standard Workload Format log, replayed online:
 * each job is predicted at its submit time by every kind, and a predictor
 * learns a runtime only once the job has ended in the log (submit + wait +
 * run), so nothing sees the future. Prints the mean absolute log error of
 * each kind and the learned one's ratio against each baseline.
 *
 *   bench_rtpred FILE.swf [--window N] [--retrain N] [--seed N] */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "bench/predict/swfjobs.h"
#include "predict/predict.h"

/* Jobs waiting to end, as a binary min-heap on end time. */
static void heap_push(size_t *h, size_t *len, const struct job *jobs, size_t i) {
  size_t k = (*len)++;
  h[k] = i;
  while (k && jobs[h[(k - 1) / 2]].end_s > jobs[h[k]].end_s) {
    size_t p = (k - 1) / 2, t = h[p];
    h[p] = h[k];
    h[k] = t;
    k = p;
  }
}

static size_t heap_pop(size_t *h, size_t *len, const struct job *jobs) {
  size_t top = h[0];
  h[0] = h[--*len];
  for (size_t k = 0;;) {
    size_t l = 2 * k + 1, r = l + 1, m = k;
    if (l < *len && jobs[h[l]].end_s < jobs[h[m]].end_s) m = l;
    if (r < *len && jobs[h[r]].end_s < jobs[h[m]].end_s) m = r;
    if (m == k) break;
    size_t t = h[m];
    h[m] = h[k];
    h[k] = t;
    k = m;
  }
  return top;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: bench_rtpred FILE.swf [--window N] [--retrain N] [--seed N]\n");
    return 2;
  }
  struct dc_rtpred_config cfg;
  dc_rtpred_config_default(&cfg);
  for (int i = 2; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--window")) cfg.window = (uint32_t)atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--retrain")) cfg.retrain_every = (uint32_t)atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--seed")) cfg.seed = strtoull(argv[i + 1], NULL, 10);
  }
  struct job *jobs;
  size_t n;
  if (read_swf(argv[1], &jobs, &n)) {
    fprintf(stderr, "bench_rtpred: cannot read jobs from %s\n", argv[1]);
    return 1;
  }
  enum { K = 3 };
  struct dc_rtpred *p[K];
  double err[K] = {0}, t_pred[K] = {0};
  for (int k = 0; k < K; k++) {
    cfg.kind = k;
    if (dc_rtpred_new(&cfg, &p[k])) return 1;
  }
  size_t *heap = dc_malloc(n * sizeof(*heap)), hlen = 0, inside = 0;
  uint64_t t0 = dc_mono_ns();
  for (size_t i = 0; i < n; i++) {
    /* Learn from every job that has ended by this submit time. */
    while (hlen && jobs[heap[0]].end_s <= jobs[i].f.submit_s) {
      size_t e = heap_pop(heap, &hlen, jobs);
      for (int k = 0; k < K; k++)
        if (dc_rtpred_observe(p[k], &jobs[e].f, jobs[e].run_s)) return 1;
    }
    double actual = log(DC_MAX(jobs[i].run_s, 1.0));
    for (int k = 0; k < K; k++) {
      struct dc_pred o;
      uint64_t a = dc_mono_ns();
      dc_rtpred_predict(p[k], &jobs[i].f, &o);
      t_pred[k] += (double)(dc_mono_ns() - a);
      err[k] += fabs(log(o.value) - actual);
      if (k == DC_RTPRED_LEARNED)
        inside += jobs[i].run_s <= o.hi && DC_MAX(jobs[i].run_s, 1.0) >= o.lo;
    }
    heap_push(heap, &hlen, jobs, i);
  }
  double secs = (double)(dc_mono_ns() - t0) / 1e9;
  double m[K];
  for (int k = 0; k < K; k++) m[k] = err[k] / (double)n;
  printf("{\"bench\":\"rtpred\",\"jobs\":%zu,\"mae_log\":{\"learned\":%.4f,"
         "\"tsafrir\":%.4f,\"user\":%.4f},\"ratio_vs_tsafrir\":%.3f,"
         "\"ratio_vs_user\":%.3f,\"interval80_coverage\":%.3f,"
         "\"retrains\":%u,\"predict_us\":{\"learned\":%.2f,\"tsafrir\":%.2f},"
         "\"replay_s\":%.2f}\n",
         n, m[0], m[1], m[2], m[0] / m[1], m[0] / m[2], (double)inside / (double)n,
         dc_rtpred_retrains(p[0]), t_pred[0] / 1e3 / (double)n,
         t_pred[1] / 1e3 / (double)n, secs);
  for (int k = 0; k < K; k++) dc_rtpred_free(p[k]);
  dc_free(heap);
  dc_free(jobs);
  return 0;
}
