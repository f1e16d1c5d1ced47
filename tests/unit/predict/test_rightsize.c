/* SPDX-License-Identifier: Apache-2.0
 * The GWA reader and the right-sizing replay on small generated traces. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/base.h"
#include "sim/recommend/simrecommend.h"
#include "tests/unit/predict/predict_test.h"

static const char header[] =
    "Timestamp [ms];\tCPU cores;\tCPU capacity provisioned [MHZ];\tCPU usage "
    "[MHZ];\tCPU usage [%];\tMemory capacity provisioned [KB];\tMemory usage "
    "[KB];\tDisk read throughput [KB/s]\n";

static void write_file(const char *dir, const char *name, const char *text) {
  char path[512];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  assert_int_equal(dc_write_file_atomic(path, text, strlen(text), 0600), 0);
}

/* A VM provisioned 8 GB and 4 cores that uses about 1 GB and 1 core. */
static void write_vm(const char *dir, const char *name, int rows, int distinct,
                     uint64_t seed) {
  struct dc_buf b = {0};
  assert_int_equal(dc_buf_printf(&b, "%s", header), 0);
  for (int i = 0; i < rows; i++) {
    seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
    int k = (int)((seed >> 33) % (uint64_t)distinct);
    double mem = 1048576.0 * (1 + 0.3 * k / distinct);
    double cpu = 2900.0 * (1 + 0.5 * k / distinct);
    assert_int_equal(dc_buf_printf(&b, "%d;\t4;\t11600.0;\t%.1f;\t10.0;\t8388608.0;\t%.1f;\t0.0\n",
                                   1372629804 + 300 * i, cpu, mem), 0);
  }
  assert_int_equal(dc_buf_cstr(&b), 0);
  write_file(dir, name, (const char *)b.data);
  dc_buf_free(&b);
}

static void test_read(void **state) {
  (void)state;
  char dir[256], err[512];
  dc_test_tmpdir(dir, sizeof dir);
  struct gwa_trace t;
  assert_int_equal(gwa_read_dir(dir, &t, err, sizeof err), DC_EINVAL);
  write_vm(dir, "2.csv", 10, 5, 1);
  write_vm(dir, "1.csv", 20, 5, 2);
  write_file(dir, "notes.txt", "ignored");
  assert_int_equal(gwa_read_dir(dir, &t, err, sizeof err), 0);
  assert_int_equal(t.nvms, 2);
  assert_string_equal(t.vms[0].name, "1.csv");
  assert_int_equal(t.vms[0].n, 20);
  assert_float_equal(t.vms[0].mem_prov_mb[0], 8192, 1e-9);
  assert_float_equal(t.vms[0].mhz_per_core, 2900, 1e-9);
  assert_float_equal((t.vms[1].t_s[1] - t.vms[1].t_s[0]), 300, 1e-9);
  gwa_free(&t);
  /* Malformed input names the file and line and returns nothing. */
  write_file(dir, "3.csv", "1;\t1;\t1;\t1;\t1;\t1;\t1\n2;\t1;\tx;\t1;\t1;\t1;\t1\n");
  assert_int_equal(gwa_read_dir(dir, &t, err, sizeof err), DC_EPROTO);
  assert_non_null(strstr(err, "3.csv:2"));
  write_file(dir, "3.csv", "9;\t1;\t1;\t1;\t1;\t1;\t1\n2;\t1;\t1;\t1;\t1;\t1;\t1\n");
  assert_int_equal(gwa_read_dir(dir, &t, err, sizeof err), DC_EPROTO);
  assert_non_null(strstr(err, "backwards"));
  write_file(dir, "3.csv", "1;\t1;\t1;\t-1;\t1;\t1;\t1\n");
  assert_int_equal(gwa_read_dir(dir, &t, err, sizeof err), DC_EPROTO);
  write_file(dir, "3.csv", "1e20;\t1;\t1;\t1;\t1;\t1;\t1\n");
  assert_int_equal(gwa_read_dir(dir, &t, err, sizeof err), DC_EPROTO);
  assert_non_null(strstr(err, "timestamp"));
  write_file(dir, "3.csv", header);
  assert_int_equal(gwa_read_dir(dir, &t, err, sizeof err), DC_EPROTO);
  assert_int_equal(gwa_read_dir("/nonexistent-dir", &t, err, sizeof err), DC_EIO);
  dc_test_rmrf(dir);
}

/* Reads dir and replays it with the default options; t is the caller's. */
static void replay(const char *dir, struct gwa_trace *t, struct rs_options *o,
                   struct rs_result *r) {
  char err[512];
  assert_int_equal(gwa_read_dir(dir, t, err, sizeof err), 0);
  rs_options_default(o);
  assert_int_equal(rs_evaluate(t, o, r), 0);
}

static void test_evaluate(void **state) {
  (void)state;
  char dir[256], err[512];
  dc_test_tmpdir(dir, sizeof dir);
  for (int v = 0; v < 4; v++) {
    char name[32];
    snprintf(name, sizeof name, "%d.csv", v);
    write_vm(dir, name, 3000, 200, 7 + (uint64_t)v);
  }
  struct gwa_trace t;
  struct rs_options o;
  struct rs_result r;
  replay(dir, &t, &o, &r);
  assert_int_equal(r.samples, 12000);
  assert_true(r.mem_measurable && r.cpu_measurable);
  /* Provisioned never overruns here and wastes about 7 GB. */
  assert_float_equal(r.mem[RS_PROVISIONED].overrun_rate, 0, 0);
  assert_true(r.mem[RS_PROVISIONED].slack > 6500);
  assert_true(r.mem[RS_LEARNED].slack < 0.6 * r.mem[RS_PROVISIONED].slack);
  assert_true(r.mem[RS_LEARNED].overrun_rate <= 0.01);
  assert_true(r.cpu[RS_LEARNED].overrun_rate <= 0.03);
  /* Deterministic. */
  struct rs_result r2;
  assert_int_equal(rs_evaluate(&t, &o, &r2), 0);
  assert_memory_equal(&r, &r2, sizeof r);
  gwa_free(&t);
  dc_test_rmrf(dir);

  /* Usage that takes few values is not measurable. */
  dc_test_tmpdir(dir, sizeof dir);
  write_vm(dir, "1.csv", 500, 10, 3);
  assert_int_equal(gwa_read_dir(dir, &t, err, sizeof err), 0);
  assert_int_equal(rs_evaluate(&t, &o, &r), 0);
  assert_false(r.mem_measurable);
  assert_false(r.cpu_measurable);
  assert_int_equal(r.mem_distinct, 10);
  gwa_free(&t);
  dc_test_rmrf(dir);
}

/* VMs whose memory steps from 200 MB (slowly shrinking, so never above its
 * own peak) to 1 GB in their first quarter hour:
 * the replay gives learned the provisioned size as its prior, which covers
 * the steps; VPA, which ignores it, misses them. */
static void test_evaluate_young_steps(void **state) {
  (void)state;
  char dir[256];
  dc_test_tmpdir(dir, sizeof dir);
  for (int v = 0; v < 4; v++) {
    struct dc_buf b = {0};
    assert_int_equal(dc_buf_printf(&b, "%s", header), 0);
    for (int i = 0; i < 300; i++)
      assert_int_equal(dc_buf_printf(&b, "%d;\t4;\t11600.0;\t%.1f;\t10.0;\t8388608.0;\t%.1f;\t0.0\n",
                                     1372629804 + 300 * i, 1000.0 + 10 * (i % 7),
                                     i < 2 + v ? 204800.0 - 1024 * i : 1048576.0), 0);
    assert_int_equal(dc_buf_cstr(&b), 0);
    char name[32];
    snprintf(name, sizeof name, "%d.csv", v);
    write_file(dir, name, (const char *)b.data);
    dc_buf_free(&b);
  }
  struct gwa_trace t;
  struct rs_options o;
  struct rs_result r;
  replay(dir, &t, &o, &r);
  assert_float_equal(r.mem[RS_LEARNED].overrun_rate, 0, 0);
  assert_float_equal(r.mem[RS_VPA].overrun_rate, 4.0 / 1200, 1e-9);
  /* Without the prior learned misses every step too. */
  o.mem_request_prior = false;
  assert_int_equal(rs_evaluate(&t, &o, &r), 0);
  assert_float_equal(r.mem[RS_LEARNED].overrun_rate, 4.0 / 1200, 1e-9);
  gwa_free(&t);
  dc_test_rmrf(dir);
}

int run_rightsize_tests(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_read),
                                     cmocka_unit_test(test_evaluate),
                                     cmocka_unit_test(test_evaluate_young_steps)};
  return cmocka_run_group_tests_name("rightsize", tests, NULL, NULL);
}
