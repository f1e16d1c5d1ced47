/* SPDX-License-Identifier: Apache-2.0
 * What to ask for: from a task's request and the usage of similar past tasks
 * (same user and app), suggest CPU and memory, with the expected runtime and
 * the cost at posted prices. Pure: the caller gathers the history (the
 * daemon from its task table, `deepcloud recommend` through the API). */
#include <math.h>
#include <string.h>

#include "predict/predict_int.h"

#define REC_MIN_EVIDENCE 5  /* fewer similar tasks: keep the request */
#define REC_RECENT 50       /* the newest tasks speak for the next one */
#define REC_MEM_HEADROOM 1.10 /* over the largest recent peak: OOM kills */
#define REC_CPU_PCT 0.90      /* CPU: VPA-like P90 + 15%, throttling only slows */
#define REC_CPU_MARGIN 1.15
#define REC_MEM_FLOOR_MB 64.0
#define REC_CPU_FLOOR_MILLIS 100.0

static double newest_max(const double *v, size_t n) {
  double m = 0;
  for (size_t i = n > REC_RECENT ? n - REC_RECENT : 0; i < n; i++) m = fmax(m, v[i]);
  return m;
}

static double newest_quantile(const double *v, size_t n, double q) {
  double tmp[REC_RECENT];
  size_t k = 0;
  for (size_t i = n > REC_RECENT ? n - REC_RECENT : 0; i < n; i++) tmp[k++] = v[i];
  return pred_quantile(tmp, k, q);
}

static bool all_finite(const double *v, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (!isfinite(v[i]) || v[i] < 0) return false;
  return true;
}

int dc_recommend_task(struct dc_rtpred *rt, const struct dc_rec_input *in,
                      struct dc_rec_output *out) {
  if (!in || !out || (in->nmem && !in->mem_used_mb) ||
      (in->ncpu && !in->cpu_used_millis) || !all_finite(in->mem_used_mb, in->nmem) ||
      !all_finite(in->cpu_used_millis, in->ncpu) || !(in->req_cpu_millis >= 0) ||
      !(in->req_mem_mb >= 0) || !(in->price_cpu_hour >= 0) ||
      !(in->price_mem_gb_hour >= 0))
    return DC_EINVAL;
  memset(out, 0, sizeof(*out));
  out->cpu_millis = in->req_cpu_millis;
  out->mem_mb = in->req_mem_mb;
  out->mem_basis = out->cpu_basis = "request";
  if (in->nmem >= REC_MIN_EVIDENCE) {
    double m = fmax(newest_max(in->mem_used_mb, in->nmem) * REC_MEM_HEADROOM,
                    REC_MEM_FLOOR_MB);
    /* Suggest less than asked, never more: a request is also a limit the
     * user chose, and more would only be a guess about a failure. */
    out->mem_mb = in->req_mem_mb > 0 ? fmin(m, in->req_mem_mb) : m;
    out->mem_basis = "history";
    out->mem_evidence = (uint32_t)DC_MIN(in->nmem, (size_t)REC_RECENT);
  }
  if (in->ncpu >= REC_MIN_EVIDENCE) {
    double c = fmax(newest_quantile(in->cpu_used_millis, in->ncpu, REC_CPU_PCT) *
                        REC_CPU_MARGIN,
                    REC_CPU_FLOOR_MILLIS);
    out->cpu_millis = in->req_cpu_millis > 0 ? fmin(c, in->req_cpu_millis) : c;
    out->cpu_basis = "history";
    out->cpu_evidence = (uint32_t)DC_MIN(in->ncpu, (size_t)REC_RECENT);
  }
  /* The runtime does not change with the cut: the past tasks did not use
   * what is cut (that is how it was chosen). */
  struct dc_pred_job j = in->job;
  if (rt) {
    int rc = dc_rtpred_predict(rt, &j, &out->time_s);
    if (rc) return rc;
  } else {
    double t = j.req_time_s > 0 ? j.req_time_s : RT_COLD_S;
    out->time_s = (struct dc_pred){.value = t, .lo = t, .hi = t, .n = 0};
  }
  double hours = out->time_s.value / 3600;
  out->cost = hours * (out->cpu_millis / 1000 * in->price_cpu_hour +
                       out->mem_mb / 1024 * in->price_mem_gb_hour);
  out->cost_requested = hours * (in->req_cpu_millis / 1000 * in->price_cpu_hour +
                                 in->req_mem_mb / 1024 * in->price_mem_gb_hour);
  return 0;
}
