/* SPDX-License-Identifier: Apache-2.0
 * Node reliability and speed posteriors: priors, updates, edge cases. */
#include <math.h>

#include "base/base.h"
#include "predict/predict.h"
#include "tests/unit/predict/predict_test.h"

static void test_prior(void **state) {
  (void)state;
  struct dc_reliab *r;
  assert_int_equal(dc_reliab_new(3, &r), 0);
  assert_float_equal(dc_reliab_fail_prob(r, 0), 0.05, 1e-12);
  assert_float_equal(dc_reliab_speed(r, 2), 1.0, 1e-12);
  /* Unknown nodes answer the prior and observing them changes nothing. */
  dc_reliab_observe(r, 7, false, 10, 10);
  assert_float_equal(dc_reliab_fail_prob(r, 7), 0.05, 1e-12);
  dc_reliab_free(r);
}

static void test_failures(void **state) {
  (void)state;
  struct dc_reliab *r;
  assert_int_equal(dc_reliab_new(2, &r), 0);
  for (int i = 0; i < 10; i++) dc_reliab_observe(r, 0, false, 0, 0);
  for (int i = 0; i < 80; i++) dc_reliab_observe(r, 1, true, 10, 10);
  assert_float_equal(dc_reliab_fail_prob(r, 0), 11.0 / 30.0, 1e-12);
  assert_float_equal(dc_reliab_fail_prob(r, 1), 1.0 / 100.0, 1e-12);
  assert_true(dc_reliab_fail_prob(r, 0) > dc_reliab_fail_prob(r, 1));
  dc_reliab_free(r);
}

static void test_speed(void **state) {
  (void)state;
  struct dc_reliab *r;
  assert_int_equal(dc_reliab_new(2, &r), 0);
  /* One fast task: pulled toward nominal by the prior worth two tasks. */
  dc_reliab_observe(r, 0, true, 100, 50);
  assert_float_equal(dc_reliab_speed(r, 0), exp(log(2.0) / 3), 1e-12);
  for (int i = 0; i < 200; i++) dc_reliab_observe(r, 0, true, 100, 50);
  assert_true(fabs(dc_reliab_speed(r, 0) - 2.0) < 0.02);
  for (int i = 0; i < 200; i++) dc_reliab_observe(r, 1, true, 100, 200);
  assert_true(fabs(dc_reliab_speed(r, 1) - 0.5) < 0.01);
  /* Failed or unmeasurable tasks do not move the speed. */
  double before = dc_reliab_speed(r, 1);
  dc_reliab_observe(r, 1, false, 100, 1);
  dc_reliab_observe(r, 1, true, 0, 10);
  dc_reliab_observe(r, 1, true, NAN, 10);
  assert_float_equal(dc_reliab_speed(r, 1), before, 1e-15);
  dc_reliab_free(r);
}

static void test_zero_nodes(void **state) {
  (void)state;
  struct dc_reliab *r;
  assert_int_equal(dc_reliab_new(0, &r), 0);
  dc_reliab_observe(r, 0, true, 1, 1);
  assert_float_equal(dc_reliab_speed(r, 0), 1.0, 1e-12);
  dc_reliab_free(r);
  assert_int_equal(dc_reliab_new(SIZE_MAX, &r), DC_EINVAL);
}

int run_reliab_tests(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_prior), cmocka_unit_test(test_failures),
      cmocka_unit_test(test_speed), cmocka_unit_test(test_zero_nodes)};
  return cmocka_run_group_tests_name("reliab", tests, NULL, NULL);
}
