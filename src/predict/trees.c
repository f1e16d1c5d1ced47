/* SPDX-License-Identifier: Apache-2.0
 * Gradient-boosted trees through XGBoost's C API: train on a window of rows,
 * predict one row in place, and (de)serialise a booster. Everything XGBoost
 * reports as an error becomes DC_EIO with its message logged. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <xgboost/c_api.h>

#include "predict/predict_int.h"

#define TREES_ROUNDS 60
#define TREES_MODEL_MAX (64u << 20)

static int xgb_fail(const char *what) {
  DC_WARN("predict", "xgboost=%s err=\"%s\"", what, XGBGetLastError());
  return DC_EIO;
}

int trees_train(const float *x, const float *y, size_t n, uint64_t seed,
                int threads, void **out) {
  /* XGBoost's own logging would flood stderr. Its global configuration is
   * per thread, so this is set on whichever thread trains. */
  XGBSetGlobalConfig("{\"verbosity\":0}");
  DMatrixHandle d = NULL;
  BoosterHandle b = NULL;
  char buf[32];
  if (XGDMatrixCreateFromMat(x, (bst_ulong)n, RT_TFEAT, NAN, &d))
    return xgb_fail("dmatrix");
  int rc = 0;
  if (XGDMatrixSetFloatInfo(d, "label", y, (bst_ulong)n) ||
      XGBoosterCreate(&d, 1, &b)) {
    rc = xgb_fail("create");
    goto out;
  }
  /* Shallow trees and shrinkage: a few thousand noisy rows overfit fast.
   * The objective is squared error on log runtime (a multiplicative error
   * model); the seed fixes the row subsampling so runs repeat. */
  snprintf(buf, sizeof(buf), "%d", threads > 0 ? threads : 1);
  const char *kv[][2] = {{"objective", "reg:squarederror"}, {"max_depth", "5"},
                         {"eta", "0.1"},          {"subsample", "0.8"},
                         {"min_child_weight", "4"}, {"tree_method", "hist"},
                         {"nthread", buf}};
  for (size_t i = 0; i < DC_ARRAY_LEN(kv); i++)
    if (XGBoosterSetParam(b, kv[i][0], kv[i][1])) {
      rc = xgb_fail("param");
      goto out;
    }
  snprintf(buf, sizeof(buf), "%llu", (unsigned long long)(seed & 0x7fffffff));
  if (XGBoosterSetParam(b, "seed", buf)) {
    rc = xgb_fail("seed");
    goto out;
  }
  for (int it = 0; it < TREES_ROUNDS; it++)
    if (XGBoosterUpdateOneIter(b, it, d)) {
      rc = xgb_fail("train");
      goto out;
    }
out:
  XGDMatrixFree(d);
  if (rc) {
    if (b) XGBoosterFree(b);
    return rc;
  }
  *out = b;
  return 0;
}

int trees_predict(void *booster, const float *row, double *out) {
  char arr[160];
  /* In-place prediction from a dense row; "cache_id": 0 is required. */
  snprintf(arr, sizeof(arr),
           "{\"data\":[%llu,true],\"shape\":[1,%d],\"typestr\":\"<f4\",\"version\":3}",
           (unsigned long long)(uintptr_t)row, RT_TFEAT);
  static const char cfg[] =
      "{\"type\":0,\"training\":false,\"iteration_begin\":0,\"iteration_end\":0,"
      "\"strict_shape\":false,\"cache_id\":0,\"missing\":NaN}";
  const bst_ulong *shape;
  bst_ulong dim;
  const float *res;
  if (XGBoosterPredictFromDense(booster, arr, cfg, NULL, &shape, &dim, &res))
    return xgb_fail("predict");
  *out = res[0];
  return isfinite(*out) ? 0 : DC_EIO;
}

void trees_free(void *booster) {
  if (booster) XGBoosterFree(booster);
}

int trees_encode(void *booster, struct dc_buf *b) {
  bst_ulong len = 0;
  const char *p = NULL;
  if (XGBoosterSaveModelToBuffer(booster, "{\"format\":\"ubj\"}", &len, &p))
    return xgb_fail("save");
  return dc_buf_put_bytes(b, p, (size_t)len);
}

int trees_decode(struct dc_reader *r, int threads, void **out) {
  const uint8_t *p;
  size_t n;
  if (dc_get_bytes(r, &p, &n, TREES_MODEL_MAX) || !n) return DC_EPROTO;
  BoosterHandle b = NULL;
  if (XGBoosterCreate(NULL, 0, &b)) return xgb_fail("create");
  if (XGBoosterLoadModelFromBuffer(b, p, (bst_ulong)n)) {
    XGBoosterFree(b);
    xgb_fail("load");
    return DC_EPROTO;
  }
  /* A loaded booster would otherwise predict with every core. */
  char buf[16];
  snprintf(buf, sizeof(buf), "%d", threads > 0 ? threads : 1);
  if (XGBoosterSetParam(b, "nthread", buf)) {
    XGBoosterFree(b);
    return xgb_fail("param");
  }
  *out = b;
  return 0;
}
