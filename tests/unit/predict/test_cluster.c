/* SPDX-License-Identifier: Apache-2.0
 * Holt-Winters and MASE on series with known structure; k-means on
 * separated groups, seeds, and edge cases. */
#include <math.h>
#include <string.h>

#include "base/base.h"
#include "predict/predict.h"
#include "tests/unit/predict/predict_test.h"

static void test_hw_seasonal(void **state) {
  (void)state;
  /* A daily cycle on a slow trend, no noise: the fit must find it. */
  double y[24 * 20];
  for (size_t i = 0; i < DC_ARRAY_LEN(y); i++)
    y[i] = 50 + 0.1 * (double)i + 20 * sin(2 * M_PI * (double)(i % 24) / 24);
  struct dc_hw *h;
  assert_int_equal(dc_hw_fit(y, 24 * 15, 24, &h), 0);
  double fc[24 * 5], naive[24 * 5];
  for (size_t t = 24 * 15, k = 0; t < DC_ARRAY_LEN(y); t++, k++) {
    fc[k] = dc_hw_forecast(h, 1);
    naive[k] = y[t - 1];
    dc_hw_update(h, y[t]);
  }
  double m_hw = dc_mase(&y[24 * 15], fc, 24 * 5, y, 24 * 15, 1);
  double m_naive = dc_mase(&y[24 * 15], naive, 24 * 5, y, 24 * 15, 1);
  print_message("mase hw %.3f naive %.3f\n", m_hw, m_naive);
  assert_true(m_hw < 0.1 * m_naive);
  /* A day ahead lands on the same phase of the cycle. */
  double ahead = dc_hw_forecast(h, 24);
  double want = 50 + 0.1 * (double)(DC_ARRAY_LEN(y) + 23) +
                20 * sin(2 * M_PI * (double)((DC_ARRAY_LEN(y) + 23) % 24) / 24);
  assert_true(fabs(ahead - want) < 2);
  dc_hw_free(h);
}

static void test_hw_bad_input(void **state) {
  (void)state;
  double y[30] = {0};
  struct dc_hw *h = NULL;
  assert_int_equal(dc_hw_fit(y, 30, 24, &h), DC_EINVAL); /* < two cycles */
  assert_int_equal(dc_hw_fit(y, 30, 0, &h), DC_EINVAL);
  y[3] = NAN;
  assert_int_equal(dc_hw_fit(y, 30, 10, &h), DC_EINVAL);
  y[3] = 0;
  assert_int_equal(dc_hw_fit(y, 30, 10, &h), 0); /* flat zero is fine */
  assert_float_equal(dc_hw_forecast(h, 1), 0, 1e-9);
  dc_hw_free(h);
  /* MASE needs a non-zero scale. */
  assert_true(isnan(dc_mase(y, y, 30, y, 30, 1)));
  double a[3] = {1, 2, 3}, f[3] = {2, 2, 2}, tr[4] = {0, 1, 0, 1};
  assert_float_equal(dc_mase(a, f, 3, tr, 4, 1), (2.0 / 3) / 1.0, 1e-12);
}

static void test_kmeans_groups(void **state) {
  (void)state;
  /* Three groups of providers: (cores, price, reliability). Price numbers
   * are large, reliability small: standardising lets both count. */
  enum { N = 90, D = 3 };
  double x[N * D];
  for (int i = 0; i < N; i++) {
    int g = i % 3;
    double jitter = (double)((i * 37) % 11) / 11.0 - 0.5;
    x[i * D + 0] = 8 + 0.1 * jitter;
    x[i * D + 1] = 1000 + (g == 1 ? 5000 : 0) + 50 * jitter;
    x[i * D + 2] = (g == 2 ? 0.5 : 0.99) + 0.01 * jitter;
  }
  uint32_t a[N], b[N];
  double c[3 * D], in1, in2;
  assert_int_equal(dc_kmeans(x, N, D, 3, 7, 100, a, c, &in1), 0);
  for (int i = 3; i < N; i++) assert_int_equal(a[i], a[i % 3]); /* same group */
  assert_int_not_equal(a[0], a[1]);
  assert_int_not_equal(a[1], a[2]);
  assert_int_not_equal(a[0], a[2]);
  assert_float_equal(c[a[1] * D + 1], 6000, 30); /* centroid in caller units */
  /* The same seed gives the same answer. */
  assert_int_equal(dc_kmeans(x, N, D, 3, 7, 100, b, NULL, &in2), 0);
  assert_memory_equal(a, b, sizeof a);
  assert_float_equal(in1, in2, 0);
}

static void test_kmeans_edges(void **state) {
  (void)state;
  double x[4] = {1, 1, 1, 1};
  uint32_t a[4];
  double in;
  assert_int_equal(dc_kmeans(x, 4, 1, 0, 1, 10, a, NULL, NULL), DC_EINVAL);
  assert_int_equal(dc_kmeans(x, 4, 1, 5, 1, 10, a, NULL, NULL), DC_EINVAL);
  /* Identical points, more clusters than distinct values: no crash, zero
   * inertia. */
  assert_int_equal(dc_kmeans(x, 4, 1, 3, 1, 10, a, NULL, &in), 0);
  assert_float_equal(in, 0, 0);
  double y[3] = {0, 5, 10};
  assert_int_equal(dc_kmeans(y, 3, 1, 3, 1, 10, a, NULL, &in), 0);
  assert_float_equal(in, 0, 1e-12); /* k == n: each point its own centre */
  y[1] = INFINITY;
  assert_int_equal(dc_kmeans(y, 3, 1, 2, 1, 10, a, NULL, NULL), DC_EINVAL);
}

int run_cluster_tests(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_hw_seasonal), cmocka_unit_test(test_hw_bad_input),
      cmocka_unit_test(test_kmeans_groups), cmocka_unit_test(test_kmeans_edges)};
  return cmocka_run_group_tests_name("forecast+cluster", tests, NULL, NULL);
}
