/* SPDX-License-Identifier: Apache-2.0
 * Demand forecasting: additive Holt-Winters (level, trend, one seasonal
 * cycle) on counts per time bucket, with its smoothing constants chosen by
 * the one-step error over the history it is fitted on, and MASE to judge a
 * forecast against the naive one. */
#include <math.h>
#include <string.h>

#include "predict/predict_int.h"

#define HW_PERIOD_MAX 10000

struct dc_hw {
  struct dc_hw_params p;
  uint32_t period;
  double level, trend;
  double *season; /* period slots; slot of step t is t % period */
  uint64_t t;     /* steps consumed */
};

static int hw_alloc(uint32_t period, const struct dc_hw_params *p, struct dc_hw **out) {
  if (!period || period > HW_PERIOD_MAX || !p || !(p->alpha > 0 && p->alpha <= 1) ||
      !(p->beta >= 0 && p->beta <= 1) || !(p->gamma >= 0 && p->gamma <= 1))
    return DC_EINVAL;
  struct dc_hw *h = dc_calloc(1, sizeof(*h));
  if (!h) return DC_ENOMEM;
  h->season = dc_calloc(period, sizeof(double));
  if (!h->season) {
    dc_free(h);
    return DC_ENOMEM;
  }
  h->p = *p;
  h->period = period;
  *out = h;
  return 0;
}

void dc_hw_free(struct dc_hw *h) {
  if (!h) return;
  dc_free(h->season);
  dc_free(h);
}

/* Classic start from the first two cycles: level at the first cycle's
 * mean, trend from the change between the cycles' means, seasonal slots as
 * deviations from the first mean. */
static void hw_start(struct dc_hw *h, const double *y) {
  uint32_t m = h->period;
  double a = 0, b = 0;
  for (uint32_t i = 0; i < m; i++) {
    a += y[i];
    b += y[m + i];
  }
  a /= m;
  b /= m;
  h->level = a;
  h->trend = (b - a) / m;
  for (uint32_t i = 0; i < m; i++) h->season[i] = y[i] - a;
  h->t = m;
  /* The level stands at the end of the first cycle. */
  h->level = a + h->trend * (m - 1) / 2.0;
}

double dc_hw_forecast(const struct dc_hw *h, uint32_t steps) {
  uint32_t k = steps ? steps : 1;
  return h->level + k * h->trend + h->season[(h->t + k - 1) % h->period];
}

void dc_hw_update(struct dc_hw *h, double y) {
  if (!isfinite(y)) return;
  double s = h->season[h->t % h->period];
  double level = h->p.alpha * (y - s) + (1 - h->p.alpha) * (h->level + h->trend);
  h->trend = h->p.beta * (level - h->level) + (1 - h->p.beta) * h->trend;
  h->season[h->t % h->period] = h->p.gamma * (y - level) + (1 - h->p.gamma) * s;
  h->level = level;
  h->t++;
}

/* Runs a model through y (after the start cycles), returning the sum of
 * squared one-step errors. */
static double hw_run(struct dc_hw *h, const double *y, size_t n) {
  hw_start(h, y);
  double sse = 0;
  for (size_t i = h->period; i < n; i++) {
    double e = y[i] - dc_hw_forecast(h, 1);
    sse += e * e;
    dc_hw_update(h, y[i]);
  }
  return sse;
}

int dc_hw_fit(const double *y, size_t n, uint32_t period, struct dc_hw **out) {
  if (!y || !out || !period || period > HW_PERIOD_MAX || n < 2 * (size_t)period)
    return DC_EINVAL;
  for (size_t i = 0; i < n; i++)
    if (!isfinite(y[i])) return DC_EINVAL;
  /* A coarse grid is enough: the error surface is flat near its minimum,
   * and a grid is deterministic where an optimiser's start point is not. */
  static const double A[] = {0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9};
  static const double B[] = {0, 0.001, 0.01, 0.05, 0.1};
  static const double G[] = {0.01, 0.05, 0.1, 0.2, 0.4};
  struct dc_hw_params best = {0};
  double best_sse = INFINITY;
  for (size_t a = 0; a < DC_ARRAY_LEN(A); a++)
    for (size_t b = 0; b < DC_ARRAY_LEN(B); b++)
      for (size_t g = 0; g < DC_ARRAY_LEN(G); g++) {
        struct dc_hw_params p = {A[a], B[b], G[g]};
        struct dc_hw *h;
        int rc = hw_alloc(period, &p, &h);
        if (rc) return rc;
        double sse = hw_run(h, y, n);
        dc_hw_free(h);
        if (sse < best_sse) {
          best_sse = sse;
          best = p;
        }
      }
  struct dc_hw *h;
  int rc = hw_alloc(period, &best, &h);
  if (rc) return rc;
  hw_run(h, y, n);
  *out = h;
  return 0;
}

struct dc_hw_params dc_hw_params(const struct dc_hw *h) { return h->p; }

double dc_mase(const double *actual, const double *forecast, size_t n,
               const double *train, size_t ntrain, uint32_t m) {
  if (!n || !m || ntrain <= m) return NAN;
  double scale = 0, err = 0;
  for (size_t i = m; i < ntrain; i++) scale += fabs(train[i] - train[i - m]);
  scale /= (double)(ntrain - m);
  for (size_t i = 0; i < n; i++) err += fabs(actual[i] - forecast[i]);
  err /= (double)n;
  return scale > 0 ? err / scale : NAN;
}
