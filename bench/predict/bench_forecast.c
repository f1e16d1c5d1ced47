/* SPDX-License-Identifier: Apache-2.0
 * Demand forecasting on an SWF log: job arrivals per hour, for the whole
 * log and per service cluster (jobs grouped by k-means over their shape,
 * log processors and log requested time, learned on the first half only).
 * Holt-Winters (daily cycle by default) is fitted on the first half, then
 * rolled over the second half bucket by bucket, forecasting 1 and 24 hours
 * ahead before each bucket is seen. Prints MASE (scaled by the one-hour
 * naive forecast's in-sample error) of Holt-Winters, the naive and the
 * seasonal-naive forecasts, and Holt-Winters' ratio to each.
 *
 *   bench_forecast FILE.swf [--period H] [--clusters K] */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "bench/predict/swfjobs.h"
#include "predict/predict.h"

enum { M_HW, M_NAIVE, M_SNAIVE, M_N };
static const uint32_t H[2] = {1, 24};

/* MASE per horizon and method for one hourly series; -1 if too short. */
static int evaluate(const double *y, size_t hours, size_t ntrain, uint32_t period,
                    double mase[2][M_N], struct dc_hw_params *params) {
  struct dc_hw *hw;
  if (dc_hw_fit(y, ntrain, period, &hw)) return -1;
  *params = dc_hw_params(hw);
  size_t ntest = hours - ntrain, cnt[2] = {0, 0};
  double *act = dc_calloc(ntest, sizeof(double)), *fc[2][M_N];
  for (int k = 0; k < 2; k++)
    for (int m = 0; m < M_N; m++) fc[k][m] = dc_calloc(ntest, sizeof(double));
  for (size_t t = ntrain; t < hours; t++) {
    /* Known: y[0..t-1]. Forecast bucket t+h-1 for each horizon h. */
    for (int k = 0; k < 2; k++) {
      size_t target = t + H[k] - 1;
      if (target >= hours) continue;
      size_t back = period * ((H[k] + period - 1) / period);
      fc[k][M_HW][cnt[k]] = dc_hw_forecast(hw, H[k]);
      fc[k][M_NAIVE][cnt[k]] = y[t - 1];
      fc[k][M_SNAIVE][cnt[k]] = y[target - back];
      if (k == 0) act[cnt[k]] = y[target];
      cnt[k]++;
    }
    dc_hw_update(hw, y[t]);
  }
  for (int k = 0; k < 2; k++) {
    const double *a = act + (H[k] - 1); /* the h-ahead targets, shifted */
    for (int m = 0; m < M_N; m++) mase[k][m] = dc_mase(a, fc[k][m], cnt[k], y, ntrain, 1);
  }
  for (int k = 0; k < 2; k++)
    for (int m = 0; m < M_N; m++) dc_free(fc[k][m]);
  dc_free(act);
  dc_hw_free(hw);
  return 0;
}

static void print_mase(double mase[2][M_N]) {
  for (int k = 0; k < 2; k++)
    printf("%s\"mase_h%u\":{\"holt_winters\":%.3f,\"naive\":%.3f,\"seasonal_naive\":%.3f},"
           "\"ratio_h%u_vs_naive\":%.3f,\"ratio_h%u_vs_seasonal_naive\":%.3f",
           k ? "," : "", H[k], mase[k][M_HW], mase[k][M_NAIVE], mase[k][M_SNAIVE],
           H[k], mase[k][M_HW] / mase[k][M_NAIVE], H[k], mase[k][M_HW] / mase[k][M_SNAIVE]);
}

static void shape(const struct job *j, double f[2]) {
  f[0] = log1p((double)j->f.req_cpus);
  f[1] = log1p(j->f.req_time_s > 0 ? j->f.req_time_s : j->run_s);
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: bench_forecast FILE.swf [--period H] [--clusters K]\n");
    return 2;
  }
  uint32_t period = 24, k = 3;
  for (int i = 2; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--period")) period = (uint32_t)atoi(argv[i + 1]);
    if (!strcmp(argv[i], "--clusters")) k = (uint32_t)atoi(argv[i + 1]);
  }
  struct job *jobs;
  size_t n;
  if (read_swf(argv[1], &jobs, &n)) {
    fprintf(stderr, "bench_forecast: cannot read jobs from %s\n", argv[1]);
    return 1;
  }
  double t0 = INFINITY, t1 = -INFINITY;
  for (size_t i = 0; i < n; i++) {
    t0 = fmin(t0, jobs[i].f.submit_s);
    t1 = fmax(t1, jobs[i].f.submit_s);
  }
  size_t hours = (size_t)((t1 - t0) / 3600) + 1, ntrain = hours / 2;
  double *y = dc_calloc(hours, sizeof(double));
  for (size_t i = 0; i < n; i++) y[(size_t)((jobs[i].f.submit_s - t0) / 3600)] += 1;
  double mase[2][M_N];
  struct dc_hw_params p;
  if (evaluate(y, hours, ntrain, period, mase, &p)) {
    fprintf(stderr, "bench_forecast: too short for a %u-hour cycle\n", period);
    return 1;
  }
  printf("{\"bench\":\"forecast\",\"hours\":%zu,\"train_hours\":%zu,\"period\":%u,"
         "\"alpha\":%.3f,\"beta\":%.3f,\"gamma\":%.3f,\"all\":{",
         hours, ntrain, period, p.alpha, p.beta, p.gamma);
  print_mase(mase);
  printf("}");

  /* Service clusters from the first half's job shapes; every job then goes
   * to the nearest centre, so the second half never shaped the clusters. */
  size_t ntr = 0;
  for (size_t i = 0; i < n; i++) ntr += (jobs[i].f.submit_s - t0) / 3600 < (double)ntrain;
  double *x = dc_malloc(ntr * 2 * sizeof(double)), *c = dc_malloc(k * 2 * sizeof(double));
  uint32_t *as = dc_malloc(ntr * sizeof(uint32_t));
  for (size_t i = 0, r = 0; i < n; i++)
    if ((jobs[i].f.submit_s - t0) / 3600 < (double)ntrain) shape(&jobs[i], &x[2 * r++]);
  if (k && ntr >= k && !dc_kmeans(x, ntr, 2, k, 1, 100, as, c, NULL)) {
    double *yc = dc_calloc(hours * k, sizeof(double)), sum[2][M_N] = {{0}};
    for (size_t i = 0; i < n; i++) {
      double f[2];
      shape(&jobs[i], f);
      uint32_t best = 0;
      for (uint32_t q = 1; q < k; q++)
        if (hypot(f[0] - c[2 * q], f[1] - c[2 * q + 1]) <
            hypot(f[0] - c[2 * best], f[1] - c[2 * best + 1]))
          best = q;
      yc[best * hours + (size_t)((jobs[i].f.submit_s - t0) / 3600)] += 1;
    }
    uint32_t used = 0;
    printf(",\"clusters\":[");
    for (uint32_t q = 0; q < k; q++) {
      double m[2][M_N];
      if (evaluate(&yc[q * hours], hours, ntrain, period, m, &p)) continue;
      printf("%s{\"cpus\":%.0f,\"req_time_s\":%.0f,", used ? "," : "",
             expm1(c[2 * q]), expm1(c[2 * q + 1]));
      print_mase(m);
      printf("}");
      for (int h = 0; h < 2; h++)
        for (int mm = 0; mm < M_N; mm++) sum[h][mm] += m[h][mm];
      used++;
    }
    printf("],\"clusters_mean\":{");
    for (int h = 0; h < 2; h++)
      for (int mm = 0; mm < M_N; mm++) sum[h][mm] /= used ? used : 1;
    print_mase(sum);
    printf("}");
    dc_free(yc);
  }
  printf("}\n");
  dc_free(x);
  dc_free(c);
  dc_free(as);
  dc_free(jobs);
  dc_free(y);
  return 0;
}
