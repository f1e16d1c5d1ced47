/* SPDX-License-Identifier: Apache-2.0
 * The few Standard Workload Format fields the prediction benchmarks need:
 * submit, wait and run time, requested processors, time and memory, user,
 * group, executable and queue. */
#ifndef DC_BENCH_SWFJOBS_H
#define DC_BENCH_SWFJOBS_H

#include <stddef.h>

#include "predict/predict.h"

struct job {
  struct dc_pred_job f;
  double run_s, end_s;
};
/* Jobs with a known runtime, in file order (dc_free the array). */
int read_swf(const char *path, struct job **out, size_t *n);

#endif
