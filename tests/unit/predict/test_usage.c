/* SPDX-License-Identifier: Apache-2.0
 * Usage right-sizing: the learned recommender meets its overrun target, the
 * VPA-like one follows Kubernetes' recipe, bad input changes nothing. */
#include <math.h>

#include "base/base.h"
#include "predict/predict.h"
#include "tests/unit/predict/predict_test.h"

/* cmocka's assert_float_equal compares in single precision. */
#define assert_near(a, b, eps) assert_true(fabs((double)(a) - (double)(b)) <= (eps))

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

/* The request is a prior worth one sample: after n samples the
 * recommendation moves 1/(n+1) of the way from the learned value up to
 * the request. It never lowers a recommendation and never teaches the
 * headroom. */
static void test_learned_request(void **state) {
  (void)state;
  struct dc_usage_config c;
  dc_usage_config_default(&c, DC_USAGE_LEARNED);
  c.window = 4;
  struct dc_usage *u, *plain;
  assert_int_equal(dc_usage_new(&c, NULL, &u), 0);
  assert_int_equal(dc_usage_new(&c, NULL, &plain), 0);
  double r, p;
  /* Bad requests change nothing. */
  assert_int_equal(dc_usage_set_request(u, -1), DC_EINVAL);
  assert_int_equal(dc_usage_set_request(u, NAN), DC_EINVAL);
  assert_int_equal(dc_usage_set_request(u, INFINITY), DC_EINVAL);
  assert_int_equal(dc_usage_set_request(NULL, 1), DC_EINVAL);
  assert_int_equal(dc_usage_set_request(u, 1000), 0);
  /* Nothing seen: still no recommendation, the caller keeps the request. */
  assert_int_equal(dc_usage_recommend(u, &r), DC_EAGAIN);
  assert_int_equal(dc_usage_observe(u, 0, 100), 0);
  assert_int_equal(dc_usage_observe(plain, 0, 100), 0);
  /* One sample (theta still 0): halfway between 100 and the request. */
  assert_int_equal(dc_usage_recommend(u, &r), 0);
  assert_near(r, 550, 1e-9);
  assert_int_equal(dc_usage_recommend(plain, &p), 0);
  assert_near(p, 100, 1e-9);
  /* Second sample at the peak: not over, theta -= 0.01 * 0.005. */
  assert_int_equal(dc_usage_observe(u, 300, 100), 0);
  assert_int_equal(dc_usage_observe(plain, 300, 100), 0);
  double v = 100 * exp(-0.01 * 0.005);
  assert_int_equal(dc_usage_recommend(u, &r), 0);
  assert_near(r, v + (1000 - v) / 3, 1e-9);
  assert_int_equal(dc_usage_recommend(plain, &p), 0);
  assert_near(p, v, 1e-9);
  /* A jump the prior covers but the learned value does not: the headroom
   * learns the jump all the same, in both objects. */
  assert_true(300 < r && 300 > p);
  assert_int_equal(dc_usage_observe(u, 600, 300), 0);
  assert_int_equal(dc_usage_observe(plain, 600, 300), 0);
  /* A request below the learned value does nothing; 0 clears it. */
  assert_int_equal(dc_usage_set_request(u, 50), 0);
  assert_int_equal(dc_usage_recommend(u, &r), 0);
  assert_int_equal(dc_usage_recommend(plain, &p), 0);
  assert_near(r, p, 1e-12);
  assert_int_equal(dc_usage_set_request(u, 0), 0);
  assert_int_equal(dc_usage_recommend(u, &r), 0);
  assert_near(r, p, 1e-12);
  /* After 1,000 samples the prior's share of a 1e6 gap is 1/1001. */
  for (int i = 3; i < 1000; i++) {
    assert_int_equal(dc_usage_observe(u, 300.0 * i, 300), 0);
    assert_int_equal(dc_usage_observe(plain, 300.0 * i, 300), 0);
  }
  assert_int_equal(dc_usage_set_request(u, 1e6), 0);
  assert_int_equal(dc_usage_recommend(u, &r), 0);
  assert_int_equal(dc_usage_recommend(plain, &p), 0);
  assert_near(r, p + (1e6 - p) / 1001, 1e-6);
  dc_usage_free(u);
  dc_usage_free(plain);

  /* VPA ignores the request. */
  dc_usage_config_default(&c, DC_USAGE_VPA);
  assert_int_equal(dc_usage_new(&c, NULL, &u), 0);
  assert_int_equal(dc_usage_observe(u, 0, 100), 0);
  assert_int_equal(dc_usage_recommend(u, &p), 0);
  assert_int_equal(dc_usage_set_request(u, 1e6), 0);
  assert_int_equal(dc_usage_recommend(u, &r), 0);
  assert_near(r, p, 0);
  dc_usage_free(u);
}

/* Series that step up within their first 40 minutes: without the request
 * the fleet headroom, learned from nothing yet, misses every step; with it
 * they are covered. The headroom is the same either way (the prior does
 * not teach it), so a day later the two differ by exactly the prior's
 * 1/(n+1) share of the gap. */
static void test_learned_young_steps(void **state) {
  (void)state;
  struct dc_usage_config c;
  dc_usage_config_default(&c, DC_USAGE_LEARNED);
  c.overrun_target = 0.0005;
  c.window = 288;
  enum { VMS = 6, SAMPLES = 300 };
  int over[2] = {0, 0};
  double last[2][VMS];
  for (int with = 0; with < 2; with++) {
    struct dc_usage_pool *pool;
    assert_int_equal(dc_usage_pool_new(&pool), 0);
    struct dc_usage *u[VMS];
    for (int v = 0; v < VMS; v++) {
      assert_int_equal(dc_usage_new(&c, pool, &u[v]), 0);
      if (with) assert_int_equal(dc_usage_set_request(u[v], 8192), 0);
    }
    for (int i = 0; i < SAMPLES; i++)
      for (int v = 0; v < VMS; v++) {
        /* A slowly shrinking 200 MB (never above its own peak), then the
         * application starts: 1 GB from sample 2 + v. */
        double used = i < 2 + v ? 200 - i : 1024, rec;
        if (!dc_usage_recommend(u[v], &rec)) {
          over[with] += used > rec;
          last[with][v] = rec;
        }
        assert_int_equal(dc_usage_observe(u[v], 300.0 * i, used), 0);
      }
    for (int v = 0; v < VMS; v++) dc_usage_free(u[v]);
    dc_usage_pool_free(pool);
  }
  assert_int_equal(over[0], VMS); /* every step */
  assert_int_equal(over[1], 0);
  for (int v = 0; v < VMS; v++) {
    assert_true(last[0][v] >= 1024 && last[0][v] < 8192);
    assert_near(last[1][v] - last[0][v], (8192 - last[0][v]) / SAMPLES, 1e-6);
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
                                     cmocka_unit_test(test_learned_request),
                                     cmocka_unit_test(test_learned_young_steps),
                                     cmocka_unit_test(test_vpa)};
  return cmocka_run_group_tests_name("usage", tests, NULL, NULL);
}
