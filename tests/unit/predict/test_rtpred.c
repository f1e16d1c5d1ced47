/* SPDX-License-Identifier: Apache-2.0
 * Runtime predictors: the baselines' exact answers, the learned one beating
 * them where there is something to learn, bad input, save and load. */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "base/base.h"
#include "predict/predict.h"
#include "tests/unit/predict/predict_test.h"

static struct dc_rtpred *make(int kind) {
  struct dc_rtpred_config c;
  dc_rtpred_config_default(&c);
  c.kind = kind;
  struct dc_rtpred *p = NULL;
  assert_int_equal(dc_rtpred_new(&c, &p), 0);
  return p;
}

static struct dc_pred_job job(uint32_t user, double est) {
  struct dc_pred_job j = {.user = user, .group = 1, .app = 1, .queue = 1,
                          .req_cpus = 4, .req_mem_mb = 1024, .req_time_s = est,
                          .submit_s = 1000};
  return j;
}

static double value(struct dc_rtpred *p, struct dc_pred_job j) {
  struct dc_pred o;
  assert_int_equal(dc_rtpred_predict(p, &j, &o), 0);
  assert_true(o.lo <= o.value && o.value <= o.hi);
  assert_true(o.value >= 1);
  return o.value;
}

static void test_tsafrir(void **state) {
  (void)state;
  struct dc_rtpred *p = make(DC_RTPRED_TSAFRIR);
  assert_float_equal(value(p, job(1, 500)), 500, 1e-9); /* cold: estimate */
  assert_float_equal(value(p, job(1, 0)), 3600, 1e-9);  /* nothing at all */
  assert_int_equal(dc_rtpred_observe(p, &(struct dc_pred_job){.user = 1}, 100), 0);
  assert_float_equal(value(p, job(1, 500)), 100, 1e-9);
  assert_int_equal(dc_rtpred_observe(p, &(struct dc_pred_job){.user = 1}, 300), 0);
  assert_float_equal(value(p, job(1, 500)), 200, 1e-9);
  assert_float_equal(value(p, job(1, 150)), 150, 1e-9); /* capped */
  assert_int_equal(dc_rtpred_observe(p, &(struct dc_pred_job){.user = 1}, 50), 0);
  assert_float_equal(value(p, job(1, 0)), 175, 1e-9); /* only the last two */
  /* Another user is cold; with no estimate it gets the geometric mean. */
  assert_float_equal(value(p, job(2, 0)), cbrt(100.0 * 300 * 50), 1e-6);
  assert_int_equal(dc_rtpred_observed(p), 3);
  dc_rtpred_free(p);
}

static void test_user(void **state) {
  (void)state;
  struct dc_rtpred *p = make(DC_RTPRED_USER);
  for (int i = 0; i < 5; i++)
    assert_int_equal(dc_rtpred_observe(p, &(struct dc_pred_job){.user = 1}, 10), 0);
  assert_float_equal(value(p, job(1, 777)), 777, 1e-9);
  assert_float_equal(value(p, job(1, -1)), 10, 1e-9);
  /* Sub-second runtimes count as one second. */
  assert_int_equal(dc_rtpred_observe(p, &(struct dc_pred_job){.user = 1}, 0), 0);
  assert_float_equal(value(p, job(3, 0)), exp(5 * log(10.0) / 6), 1e-9);
  dc_rtpred_free(p);
}

static void test_bad_input(void **state) {
  (void)state;
  struct dc_rtpred_config c;
  dc_rtpred_config_default(&c);
  struct dc_rtpred *p = NULL;
  c.kind = 9;
  assert_int_equal(dc_rtpred_new(&c, &p), DC_EINVAL);
  c.kind = DC_RTPRED_TSAFRIR;
  c.window = 3;
  assert_int_equal(dc_rtpred_new(&c, &p), DC_EINVAL);
  p = make(DC_RTPRED_TSAFRIR);
  struct dc_pred_job j = job(1, 10);
  assert_int_equal(dc_rtpred_observe(p, &j, -1), DC_EINVAL);
  assert_int_equal(dc_rtpred_observe(p, &j, NAN), DC_EINVAL);
  assert_int_equal(dc_rtpred_observe(p, &j, INFINITY), DC_EINVAL);
  j.req_time_s = INFINITY;
  assert_int_equal(dc_rtpred_observe(p, &j, 5), DC_EINVAL);
  assert_int_equal(dc_rtpred_predict(p, &j, &(struct dc_pred){0}), DC_EINVAL);
  j.req_time_s = 10;
  j.submit_s = NAN;
  assert_int_equal(dc_rtpred_observe(p, &j, 5), DC_EINVAL);
  assert_int_equal(dc_rtpred_observed(p), 0);
  assert_int_equal(dc_rtpred_predict(p, NULL, &(struct dc_pred){0}), DC_EINVAL);
  assert_int_equal(dc_rtpred_kind_parse("tsafrir"), DC_RTPRED_TSAFRIR);
  assert_int_equal(dc_rtpred_kind_parse("nope"), -1);
  dc_rtpred_free(p);
}

/* A workload with structure: each user's jobs run a fixed fraction of the
 * estimate, with noise, and alternate between two apps of different length. */
static double synth(uint32_t i, struct dc_pred_job *j) {
  uint32_t user = 1 + i % 7, app = 1 + (i / 7) % 2;
  double est = 3600.0 * (1 + (i * 2654435761u >> 28) % 8);
  double frac = 0.05 + 0.1 * user;
  double noise = exp(0.2 * sin(i * 12.9898));
  *j = (struct dc_pred_job){.user = user, .group = 1 + user % 2, .app = app,
                            .queue = 1, .req_cpus = 1 + user, .req_time_s = est,
                            .submit_s = 60.0 * i};
  return DC_MIN(est, est * frac * (app == 2 ? 0.3 : 1.0) * noise);
}

static double run_mae(int kind, struct dc_rtpred **keep) {
  struct dc_rtpred *p = make(kind);
  double sum = 0;
  int n = 0;
  for (uint32_t i = 0; i < 3000; i++) {
    struct dc_pred_job j;
    double rt = synth(i, &j);
    struct dc_pred o;
    assert_int_equal(dc_rtpred_predict(p, &j, &o), 0);
    if (i >= 500) {
      sum += fabs(log(o.value) - log(rt));
      n++;
    }
    assert_int_equal(dc_rtpred_observe(p, &j, rt), 0);
  }
  if (keep) *keep = p;
  else dc_rtpred_free(p);
  return sum / n;
}

static void test_learned_beats_baselines(void **state) {
  (void)state;
  double user = run_mae(DC_RTPRED_USER, NULL);
  double ts = run_mae(DC_RTPRED_TSAFRIR, NULL);
  double learned = run_mae(DC_RTPRED_LEARNED, NULL);
  print_message("mae user %.3f tsafrir %.3f learned %.3f\n", user, ts, learned);
  assert_true(learned < 0.8 * ts);
  assert_true(learned < 0.8 * user);
  /* Repeatable: the same run gives the same figure. */
  assert_float_equal(run_mae(DC_RTPRED_LEARNED, NULL), learned, 0);
}

static void test_interval_coverage(void **state) {
  (void)state;
  struct dc_rtpred *p = make(DC_RTPRED_LEARNED);
  int inside = 0, n = 0;
  for (uint32_t i = 0; i < 3000; i++) {
    struct dc_pred_job j;
    double rt = synth(i, &j);
    struct dc_pred o;
    assert_int_equal(dc_rtpred_predict(p, &j, &o), 0);
    if (i >= 1000) {
      inside += rt >= o.lo * 0.999 && rt <= o.hi * 1.001;
      n++;
    }
    assert_int_equal(dc_rtpred_observe(p, &j, rt), 0);
  }
  double cover = (double)inside / n;
  print_message("80%% interval covers %.3f\n", cover);
  assert_true(cover > 0.65 && cover < 0.97);
  dc_rtpred_free(p);
}

static void test_save_load(void **state) {
  (void)state;
  char dir[256], path[300], bad[300];
  dc_test_tmpdir(dir, sizeof(dir));
  snprintf(path, sizeof(path), "%s/model", dir);
  snprintf(bad, sizeof(bad), "%s/bad", dir);
  struct dc_rtpred *p = NULL;
  run_mae(DC_RTPRED_LEARNED, &p);
  assert_int_equal(dc_rtpred_save(p, path), 0);
  struct dc_rtpred *q = make(DC_RTPRED_LEARNED);
  assert_int_equal(dc_rtpred_load(q, path), 0);
  assert_int_equal(dc_rtpred_observed(q), dc_rtpred_observed(p));
  for (uint32_t i = 3000; i < 3100; i++) {
    struct dc_pred_job j;
    double rt = synth(i, &j);
    struct dc_pred a, b;
    assert_int_equal(dc_rtpred_predict(p, &j, &a), 0);
    assert_int_equal(dc_rtpred_predict(q, &j, &b), 0);
    assert_float_equal(a.value, b.value, 1e-9);
    assert_float_equal(a.hi, b.hi, 1e-9);
    assert_int_equal(dc_rtpred_observe(p, &j, rt), 0);
    assert_int_equal(dc_rtpred_observe(q, &j, rt), 0);
  }
  /* A truncated or foreign file, or another kind, changes nothing. */
  char *data;
  size_t len;
  assert_int_equal(dc_read_file(path, 1 << 30, &data, &len), 0);
  struct dc_pred_job j;
  synth(5, &j);
  double before = value(q, j);
  for (size_t cut = 0; cut < len; cut += 1 + len / 50) {
    assert_int_equal(dc_write_file_atomic(bad, data, cut, 0600), 0);
    assert_int_not_equal(dc_rtpred_load(q, bad), 0);
    assert_float_equal(value(q, j), before, 0);
  }
  data[len / 2] ^= 0x7f;
  data[0] ^= 1;
  assert_int_equal(dc_write_file_atomic(bad, data, len, 0600), 0);
  assert_int_equal(dc_rtpred_load(q, bad), DC_EPROTO);
  dc_free(data);
  struct dc_rtpred *t = make(DC_RTPRED_TSAFRIR);
  assert_int_equal(dc_rtpred_load(t, path), DC_EINVAL);
  assert_int_not_equal(dc_rtpred_load(t, "/nonexistent/model"), 0);
  dc_rtpred_free(t);
  dc_rtpred_free(p);
  dc_rtpred_free(q);
  dc_test_rmrf(dir);
}

static void *train_thread(void *t) {
  dc_rtpred_train_run(t);
  return NULL;
}

/* The daemon's way: no inline fit, the fit runs on another thread while
 * the predictor keeps answering. */
static void test_train_off_thread(void **state) {
  (void)state;
  char dir[256], path[300];
  dc_test_tmpdir(dir, sizeof(dir));
  snprintf(path, sizeof(path), "%s/model", dir);
  struct dc_rtpred_config c;
  dc_rtpred_config_default(&c);
  c.retrain_every = 0;
  struct dc_rtpred *p, *ts = make(DC_RTPRED_TSAFRIR);
  assert_int_equal(dc_rtpred_new(&c, &p), 0);
  struct dc_rtpred_train *t = NULL;
  assert_int_equal(dc_rtpred_train_begin(p, &t), DC_EAGAIN);
  assert_int_equal(dc_rtpred_train_begin(ts, &t), DC_EINVAL);
  struct dc_pred_job j;
  for (uint32_t i = 0; i < 600; i++) {
    double rt = synth(i, &j);
    struct dc_pred o;
    assert_int_equal(dc_rtpred_predict(p, &j, &o), 0);
    assert_int_equal(dc_rtpred_observe(p, &j, rt), 0);
  }
  assert_int_equal(dc_rtpred_retrains(p), 0);
  assert_int_equal(dc_rtpred_train_begin(p, &t), 0);
  pthread_t th;
  assert_int_equal(pthread_create(&th, NULL, train_thread, t), 0);
  synth(600, &j);
  double during = value(p, j);
  pthread_join(th, NULL);
  assert_int_equal(dc_rtpred_train_finish(p, t), 0);
  assert_int_equal(dc_rtpred_retrains(p), 1);
  synth(601, &j);
  (void)value(p, j);
  (void)during;
  /* A fit taken before a reload is refused: it learned another history. */
  assert_int_equal(dc_rtpred_save(p, path), 0);
  assert_int_equal(dc_rtpred_train_begin(p, &t), 0);
  assert_int_equal(dc_rtpred_train_run(t), 0);
  assert_int_equal(dc_rtpred_load(p, path), 0);
  assert_int_equal(dc_rtpred_train_finish(p, t), DC_ESTALE);
  assert_int_equal(dc_rtpred_retrains(p), 1);
  /* And again after a second load: generations never repeat. */
  assert_int_equal(dc_rtpred_train_begin(p, &t), 0);
  assert_int_equal(dc_rtpred_train_run(t), 0);
  assert_int_equal(dc_rtpred_load(p, path), 0);
  assert_int_equal(dc_rtpred_train_finish(p, t), DC_ESTALE);
  /* A fit that was never run is refused, and freeing an unfinished one is
   * fine. */
  assert_int_equal(dc_rtpred_train_begin(p, &t), 0);
  assert_int_equal(dc_rtpred_train_finish(p, t), DC_EINVAL);
  assert_int_equal(dc_rtpred_train_begin(p, &t), 0);
  dc_rtpred_train_free(t);
  dc_rtpred_free(p);
  dc_rtpred_free(ts);
  dc_test_rmrf(dir);
}

int run_rtpred_tests(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_tsafrir), cmocka_unit_test(test_user),
      cmocka_unit_test(test_bad_input),
      cmocka_unit_test(test_learned_beats_baselines),
      cmocka_unit_test(test_interval_coverage), cmocka_unit_test(test_save_load),
      cmocka_unit_test(test_train_off_thread)};
  return cmocka_run_group_tests_name("rtpred", tests, NULL, NULL);
}
