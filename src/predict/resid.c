/* SPDX-License-Identifier: Apache-2.0
 * Residual quantiles: the spread of recent log errors gives each prediction
 * an honest ~80% interval without assuming a distribution. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "predict/predict_int.h"

#define RESID_MIN 20     /* fewer residuals than this: a wide interval */
#define RESID_REFRESH 32 /* re-sort only every so many adds */

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

double pred_quantile(double *v, size_t n, double q) {
  if (!n) return 0;
  qsort(v, n, sizeof(*v), cmp_double);
  double pos = q * (double)(n - 1);
  size_t i = (size_t)pos;
  if (i + 1 >= n) return v[n - 1];
  double f = pos - (double)i;
  return v[i] * (1 - f) + v[i + 1] * f;
}

void resid_init(struct rt_resid *r) {
  memset(r, 0, sizeof(*r));
  r->q_lo = -log(10.0);
  r->q_hi = log(10.0);
}

static void refresh(struct rt_resid *r) {
  double tmp[RESID_CAP];
  memcpy(tmp, r->ring, r->len * sizeof(double));
  r->q_lo = pred_quantile(tmp, r->len, 0.10);
  r->q_hi = pred_quantile(tmp, r->len, 0.90);
  r->since = 0;
}

void resid_add(struct rt_resid *r, double log_err) {
  if (!isfinite(log_err)) return;
  r->ring[r->head] = log_err;
  r->head = (r->head + 1) % RESID_CAP;
  if (r->len < RESID_CAP) r->len++;
  r->since++;
  if (r->len >= RESID_MIN && (r->len == RESID_MIN || r->since >= RESID_REFRESH))
    refresh(r);
}

void resid_interval(struct rt_resid *r, double value, double *lo, double *hi) {
  /* The interval always contains the point, even if the model is biased. */
  *lo = value * exp(DC_MIN(r->q_lo, 0.0));
  *hi = value * exp(DC_MAX(r->q_hi, 0.0));
}

int resid_encode(const struct rt_resid *r, struct dc_buf *b) {
  int rc = dc_buf_put_u32(b, r->len);
  if (!rc) rc = dc_buf_put_u32(b, r->head);
  if (!rc) rc = dc_buf_put_u32(b, r->since);
  if (!rc) rc = dc_buf_put_f64(b, r->q_lo);
  if (!rc) rc = dc_buf_put_f64(b, r->q_hi);
  for (uint32_t i = 0; !rc && i < r->len; i++) rc = dc_buf_put_f64(b, r->ring[i]);
  return rc;
}

int resid_decode(struct dc_reader *rd, struct rt_resid *out) {
  struct rt_resid r;
  resid_init(&r);
  dc_get_u32(rd, &r.len);
  dc_get_u32(rd, &r.head);
  dc_get_u32(rd, &r.since);
  dc_get_f64(rd, &r.q_lo);
  /* The cached quantiles travel too, so a reloaded model answers exactly as
   * the saved one would have. */
  if (dc_get_f64(rd, &r.q_hi) || r.len > RESID_CAP || r.head >= RESID_CAP ||
      (r.len < RESID_CAP && r.head != r.len) || r.since > RESID_CAP ||
      !isfinite(r.q_lo) || !isfinite(r.q_hi) || r.q_lo > r.q_hi)
    return DC_EPROTO;
  for (uint32_t i = 0; i < r.len; i++)
    if (dc_get_f64(rd, &r.ring[i]) || !isfinite(r.ring[i])) return DC_EPROTO;
  *out = r;
  return 0;
}
