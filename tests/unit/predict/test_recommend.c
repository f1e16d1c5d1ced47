/* SPDX-License-Identifier: Apache-2.0
 * dc_recommend_task: history-based cuts, the request as both fallback and
 * ceiling, expected time and cost. */
#include <math.h>

#include "base/base.h"
#include "predict/predict.h"
#include "tests/unit/predict/predict_test.h"

static void test_history(void **state) {
  (void)state;
  double mem[60], cpu[60];
  for (int i = 0; i < 60; i++) {
    mem[i] = i < 10 ? 4000 : 900 + i; /* old big peaks fall out of view */
    cpu[i] = 500 + 10 * (i % 10);
  }
  struct dc_rec_input in = {.job = {.user = 1, .app = 2, .req_time_s = 7200},
                            .req_cpu_millis = 4000, .req_mem_mb = 8192,
                            .mem_used_mb = mem, .nmem = 60,
                            .cpu_used_millis = cpu, .ncpu = 60,
                            .price_cpu_hour = 10, .price_mem_gb_hour = 1};
  struct dc_rec_output o;
  assert_int_equal(dc_recommend_task(NULL, &in, &o), 0);
  assert_float_equal(o.mem_mb, 959 * 1.10, 1e-9);
  assert_string_equal(o.mem_basis, "history");
  assert_int_equal(o.mem_evidence, 50);
  assert_true(o.cpu_millis > 580 * 1.15 - 1 && o.cpu_millis < 590 * 1.15 + 1);
  assert_float_equal(o.time_s.value, 7200, 1e-9);
  assert_float_equal(o.cost, 2 * (o.cpu_millis / 1000 * 10 + o.mem_mb / 1024), 1e-9);
  assert_float_equal(o.cost_requested, 2 * (4 * 10 + 8), 1e-9);
  assert_true(o.cost < o.cost_requested / 3);
}

static void test_request_rules(void **state) {
  (void)state;
  double mem[5] = {9000, 9000, 9000, 9000, 9000}, cpu[4] = {1, 1, 1, 1};
  struct dc_rec_input in = {.req_cpu_millis = 2000, .req_mem_mb = 4096,
                            .mem_used_mb = mem, .nmem = 5,
                            .cpu_used_millis = cpu, .ncpu = 4, .price_cpu_hour = 1};
  struct dc_rec_output o;
  assert_int_equal(dc_recommend_task(NULL, &in, &o), 0);
  assert_float_equal(o.mem_mb, 4096, 0);       /* never above the request */
  assert_float_equal(o.cpu_millis, 2000, 0);   /* four tasks are too few */
  assert_string_equal(o.cpu_basis, "request");
  assert_float_equal(o.time_s.value, 3600, 0); /* nothing known: one hour */
  in.req_mem_mb = 0; /* unset request: history alone */
  assert_int_equal(dc_recommend_task(NULL, &in, &o), 0);
  assert_float_equal(o.mem_mb, 9900, 1e-9);
  mem[2] = NAN;
  assert_int_equal(dc_recommend_task(NULL, &in, &o), DC_EINVAL);
  mem[2] = -1;
  assert_int_equal(dc_recommend_task(NULL, &in, &o), DC_EINVAL);
  mem[2] = 1;
  in.mem_used_mb = NULL;
  assert_int_equal(dc_recommend_task(NULL, &in, &o), DC_EINVAL);
}

static void test_with_predictor(void **state) {
  (void)state;
  struct dc_rtpred_config c;
  dc_rtpred_config_default(&c);
  c.kind = DC_RTPRED_TSAFRIR;
  struct dc_rtpred *p;
  assert_int_equal(dc_rtpred_new(&c, &p), 0);
  struct dc_pred_job j = {.user = 3, .req_time_s = 36000};
  assert_int_equal(dc_rtpred_observe(p, &j, 1800), 0);
  assert_int_equal(dc_rtpred_observe(p, &j, 5400), 0);
  struct dc_rec_input in = {.job = j, .req_cpu_millis = 1000, .price_cpu_hour = 6};
  struct dc_rec_output o;
  assert_int_equal(dc_recommend_task(p, &in, &o), 0);
  assert_float_equal(o.time_s.value, 3600, 1e-9);
  assert_float_equal(o.cost, 6, 1e-9);
  assert_true(o.time_s.lo <= 3600 && o.time_s.hi >= 3600);
  dc_rtpred_free(p);
}

int run_recommend_tests(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_history),
                                     cmocka_unit_test(test_request_rules),
                                     cmocka_unit_test(test_with_predictor)};
  return cmocka_run_group_tests_name("recommend", tests, NULL, NULL);
}
