/* SPDX-License-Identifier: Apache-2.0
 * Demand forecasting on an SWF log: job arrivals per hour, Holt-Winters
 * (daily cycle) fitted on the first half, then rolled forward over the
 * second half bucket by bucket, forecasting 1 and 24 hours ahead before
 * each bucket is seen. Prints MASE (scaled by the one-hour naive forecast's
 * in-sample error) of Holt-Winters, the naive and the seasonal-naive
 * forecasts, and Holt-Winters' ratio to each.
 *
 *   bench_forecast FILE.swf [--period H] */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "bench/predict/swfjobs.h"
#include "predict/predict.h"

enum { M_HW, M_NAIVE, M_SNAIVE, M_N };

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: bench_forecast FILE.swf [--period H]\n");
    return 2;
  }
  uint32_t period = argc == 4 && !strcmp(argv[2], "--period") ? (uint32_t)atoi(argv[3]) : 24;
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
  dc_free(jobs);
  struct dc_hw *hw;
  if (dc_hw_fit(y, ntrain, period, &hw)) {
    fprintf(stderr, "bench_forecast: too short for a %u-hour cycle\n", period);
    return 1;
  }
  const uint32_t H[2] = {1, 24};
  size_t ntest = hours - ntrain;
  double *act = dc_calloc(ntest, sizeof(double));
  double *fc[2][M_N];
  for (int h = 0; h < 2; h++)
    for (int m = 0; m < M_N; m++) fc[h][m] = dc_calloc(ntest, sizeof(double));
  size_t cnt[2] = {0, 0};
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
  double mase[2][M_N];
  for (int k = 0; k < 2; k++) {
    double *a = k == 0 ? act : act + (H[k] - 1); /* h-ahead targets shift */
    for (int m = 0; m < M_N; m++) mase[k][m] = dc_mase(a, fc[k][m], cnt[k], y, ntrain, 1);
  }
  struct dc_hw_params p = dc_hw_params(hw);
  printf("{\"bench\":\"forecast\",\"hours\":%zu,\"train_hours\":%zu,\"period\":%u,"
         "\"alpha\":%.3f,\"beta\":%.3f,\"gamma\":%.3f",
         hours, ntrain, period, p.alpha, p.beta, p.gamma);
  for (int k = 0; k < 2; k++)
    printf(",\"mase_h%u\":{\"holt_winters\":%.3f,\"naive\":%.3f,\"seasonal_naive\":%.3f},"
           "\"ratio_h%u_vs_naive\":%.3f,\"ratio_h%u_vs_seasonal_naive\":%.3f",
           H[k], mase[k][M_HW], mase[k][M_NAIVE], mase[k][M_SNAIVE], H[k],
           mase[k][M_HW] / mase[k][M_NAIVE], H[k], mase[k][M_HW] / mase[k][M_SNAIVE]);
  printf("}\n");
  dc_hw_free(hw);
  for (int h = 0; h < 2; h++)
    for (int m = 0; m < M_N; m++) dc_free(fc[h][m]);
  dc_free(act);
  dc_free(y);
  return 0;
}
