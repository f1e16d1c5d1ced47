/* SPDX-License-Identifier: Apache-2.0
 * Usage right-sizing: the learned recommender meets its overrun target, the
 * VPA-like one follows Kubernetes' recipe, bad input changes nothing. */
#include <math.h>

#include "base/base.h"
#include "predict/predict.h"
#include "tests/unit/predict/predict_test.h"

static double lcg(uint64_t *s) { /* uniform in [0,1), repeatable */
  *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
  return (double)(*s >> 11) / 9007199254740992.0;
}

static void test_config(void **state) {
  (void)state;
  struct dc_usage_config c;
  struct dc_usage *u = NULL;
  dc_usage_config_default(&c, DC_USAGE_LEARNED);
  c.overrun_target = 0;
  assert_int_equal(dc_usage_new(&c, NULL, &u), DC_EINVAL);
  dc_usage_config_default(&c, 7);
  assert_int_equal(dc_usage_new(&c, NULL, &u), DC_EINVAL);
  dc_usage_config_default(&c, DC_USAGE_LEARNED);
  c.window = 0;
  assert_int_equal(dc_usage_new(&c, NULL, &u), DC_EINVAL);
  dc_usage_config_default(&c, DC_USAGE_VPA);
  assert_int_equal(dc_usage_new(&c, NULL, &u), 0);
  double r;
  assert_int_equal(dc_usage_recommend(u, &r), DC_EAGAIN);
  assert_int_equal(dc_usage_observe(u, 0, -1), DC_EINVAL);
  assert_int_equal(dc_usage_observe(u, 0, NAN), DC_EINVAL);
  assert_int_equal(dc_usage_observe(u, NAN, 1), DC_EINVAL);
  assert_int_equal(dc_usage_observed(u), 0);
  dc_usage_free(u);
}

/* Over a long noisy series with jumps, the share of samples above the
 * recommendation converges to the target, and the headroom stays modest. */
static void test_learned_target(void **state) {
  (void)state;
  const double targets[] = {0.01, 0.002};
  for (size_t k = 0; k < DC_ARRAY_LEN(targets); k++) {
    struct dc_usage_config c;
    dc_usage_config_default(&c, DC_USAGE_LEARNED);
    c.overrun_target = targets[k];
    c.window = 12;
    struct dc_usage_pool *pool;
    struct dc_usage *u;
    assert_int_equal(dc_usage_pool_new(&pool), 0);
    assert_int_equal(dc_usage_new(&c, pool, &u), 0);
    uint64_t seed = 42;
    int over = 0, n = 0;
    double slack = 0, level = 1000;
    for (int i = 0; i < 200000; i++) {
      if (lcg(&seed) < 0.001) level = 500 + 1500 * lcg(&seed); /* a jump */
      double used = level * (0.8 + 0.2 * lcg(&seed)), rec;
      if (!dc_usage_recommend(u, &rec) && i > 20000) {
        over += used > rec;
        slack += fmax(0, rec - used);
        n++;
      }
      assert_int_equal(dc_usage_observe(u, 300.0 * i, used), 0);
    }
    double rate = (double)over / n;
    print_message("target %.3f: over %.4f, mean slack %.1f\n", targets[k], rate,
                  slack / n);
    assert_true(rate < 2 * targets[k] && rate > targets[k] / 3);
    assert_true(slack / n < 600); /* about the noise band, not a multiple */
    dc_usage_free(u);
    dc_usage_pool_free(pool);
  }
}

static void test_vpa(void **state) {
  (void)state;
  struct dc_usage_config c;
  dc_usage_config_default(&c, DC_USAGE_VPA);
  c.bucket_first = 10;
  struct dc_usage *u;
  assert_int_equal(dc_usage_new(&c, NULL, &u), 0);
  for (int i = 0; i < 100; i++) assert_int_equal(dc_usage_observe(u, 60.0 * i, 1000), 0);
  double r;
  assert_int_equal(dc_usage_recommend(u, &r), 0);
  /* The bucket holding 1000 ends within 5% above it; plus 15%. */
  assert_true(r >= 1000 * 1.15 && r <= 1000 * 1.05 * 1.15);
  /* Old samples fade with a 24 h half-life: a week at 100 takes over. */
  for (int i = 0; i < 7 * 1440; i++)
    assert_int_equal(dc_usage_observe(u, 6000 + 60.0 * i, 100), 0);
  assert_int_equal(dc_usage_recommend(u, &r), 0);
  assert_true(r >= 115 && r <= 100 * 1.05 * 1.15);
  dc_usage_free(u);

  /* Memory keeps one peak per interval: three rising samples in a day count
   * once, at the highest. A floor applies. */
  c.peak_interval_s = 86400;
  c.min_value = 250;
  assert_int_equal(dc_usage_new(&c, NULL, &u), 0);
  assert_int_equal(dc_usage_observe(u, 10, 100), 0);
  assert_int_equal(dc_usage_recommend(u, &r), 0);
  assert_float_equal(r, 250, 1e-9);
  assert_int_equal(dc_usage_observe(u, 20, 3000), 0);
  assert_int_equal(dc_usage_observe(u, 30, 2000), 0);
  assert_int_equal(dc_usage_recommend(u, &r), 0);
  assert_true(r >= 3000 * 1.15 && r <= 3000 * 1.05 * 1.15);
  /* Times far beyond any integer, and backwards, neither crash nor poison
   * the recommendation. */
  assert_int_equal(dc_usage_observe(u, 1e300, 500), 0);
  assert_int_equal(dc_usage_observe(u, -1e300, 500), 0);
  assert_int_equal(dc_usage_recommend(u, &r), 0);
  assert_true(isfinite(r) && r >= 250);
  dc_usage_free(u);
}

int run_usage_tests(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_config),
                                     cmocka_unit_test(test_learned_target),
                                     cmocka_unit_test(test_vpa)};
  return cmocka_run_group_tests_name("usage", tests, NULL, NULL);
}
