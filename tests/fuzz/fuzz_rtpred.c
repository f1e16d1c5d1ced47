/* SPDX-License-Identifier: Apache-2.0
 * Fuzzes the runtime predictor's model file: the first byte picks the kind
 * (Tsafrir or learned), the rest is the file. Any file must load or be
 * refused leaving the predictor exactly as it was; whatever loads must
 * predict a finite runtime and save again. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "base/base.h"
#include "predict/predict.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!size) return 0;
  char path[64];
  snprintf(path, sizeof path, "/tmp/fuzz_rtpred.%d", (int)getpid());
  if (dc_write_file_atomic(path, data + 1, size - 1, 0600)) abort();
  struct dc_rtpred_config c;
  dc_rtpred_config_default(&c);
  c.kind = data[0] & 1 ? DC_RTPRED_LEARNED : DC_RTPRED_TSAFRIR;
  c.retrain_every = 0; /* no fit inside the fuzzer */
  c.window = 64;
  struct dc_rtpred *p;
  if (dc_rtpred_new(&c, &p)) abort();
  struct dc_pred_job j = {.user = 1, .req_time_s = 100, .submit_s = 5};
  struct dc_pred before, after;
  if (dc_rtpred_predict(p, &j, &before)) abort();
  if (dc_rtpred_load(p, path)) {
    if (dc_rtpred_predict(p, &j, &after) || after.value != before.value ||
        dc_rtpred_observed(p) != 0)
      abort();
  } else {
    if (dc_rtpred_predict(p, &j, &after) || !isfinite(after.value) ||
        !(after.value >= 1) || !(after.lo <= after.value) || !(after.hi >= after.value))
      abort();
    if (dc_rtpred_observe(p, &j, 50)) abort();
    if (dc_rtpred_save(p, path)) abort();
  }
  dc_rtpred_free(p);
  unlink(path);
  return 0;
}
