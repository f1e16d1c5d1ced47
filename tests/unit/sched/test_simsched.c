/* SPDX-License-Identifier: Apache-2.0
 * The scheduling simulator: SWF and Alibaba readers (good files, files
 * never seen, bad lines), known waits under FCFS and EASY, the FGD replay,
 * and repeatability for a seed. */
#include <stdio.h>
#include <string.h>

#include "base/base.h"
#include "sim/sched/simsched.h"
#include "tests/lib/testlib.h"

static char dir[512];

static const char *write_file(const char *name, const char *text) {
  static char path[8][600];
  static int k;
  char *p = path[k++ % 8];
  snprintf(p, 600, "%s/%s", dir, name);
  FILE *f = fopen(p, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
  return p;
}

static int setup(void **state) {
  (void)state;
  dc_test_tmpdir(dir, sizeof dir);
  return 0;
}
static int teardown(void **state) {
  (void)state;
  dc_test_rmrf(dir);
  return 0;
}

/* 2 nodes x 4 cores. A takes 6 until 100; B (4) must wait for it; C (1,
 * 10 s) fits beside A now, but strict FCFS keeps it behind B. */
static const char swf3[] =
    "; MaxNodes: 2\n; MaxProcs: 8\n"
    "1 0 0 100 6 -1 -1 6 100 -1 1 1 1 -1 -1 -1 -1 -1\n"
    "2 10 0 50 4 -1 -1 4 50 -1 1 2 1 -1 -1 -1 -1 -1\n"
    "3 20 0 10 1 -1 -1 1 10 -1 1 3 1 -1 -1 -1 -1 -1 extra fields ok\n";

static void test_swf_fcfs_and_easy_known_waits(void **state) {
  (void)state;
  struct sim_workload w;
  struct dc_errmsg err = {{0}};
  const char *p = write_file("three.swf", swf3);
  assert_int_equal(sim_swf_read(p, NULL, &w, &err), DC_OK);
  assert_int_equal(w.njobs, 3);
  assert_int_equal(w.nnodes, 2);
  assert_int_equal(w.nodes[0].cpu_millis, 4000);
  struct sim_opts o;
  sim_opts_default(&o);
  struct sim_result r;
  assert_int_equal(sim_run(&w, SIM_FIRST_FIT, &o, &r), DC_OK);
  assert_true(r.fig[SIM_MEAN_WAIT] > 56.66 && r.fig[SIM_MEAN_WAIT] < 56.67);
  assert_true(r.fig[SIM_MAKESPAN] == 150);
  assert_null(r.why[SIM_BSLD]);
  assert_non_null(r.why[SIM_GPU_FRAG]);
  assert_int_equal(sim_run(&w, SIM_EASY, &o, &r), DC_OK);
  assert_true(r.fig[SIM_MEAN_WAIT] == 30.0);
  /* bounded slowdown: A 1, B (90+50)/50 = 2.8, C (0+10)/10 = 1 */
  assert_true(r.fig[SIM_BSLD] > 1.5999 && r.fig[SIM_BSLD] < 1.6001);
  assert_int_equal(sim_run(&w, SIM_FGD, &o, &r), DC_EINVAL);
  sim_workload_close(&w);
}

static void test_swf_machines_file_and_unplaced(void **state) {
  (void)state;
  const char *p = write_file("m.swf",
      "1 0 0 100 6 -1 -1 6 100 -1 1 1 1 -1 -1 -1 -1 -1\n"
      "2 5 0 100 64 -1 -1 64 100 -1 1 1 1 -1 -1 -1 -1 -1\n");
  write_file("m.swf.machines", "0 small 1 4 1 1048576\n1 fast 1 4 2 1048576\n");
  struct sim_workload w;
  struct dc_errmsg err = {{0}};
  assert_int_equal(sim_swf_read(p, NULL, &w, &err), DC_OK);
  assert_int_equal(w.nnodes, 2);
  assert_true(w.nodes[1].speed == 2);
  assert_string_equal(w.cluster_source, ".machines file");
  struct sim_opts o;
  sim_opts_default(&o);
  struct sim_result r;
  assert_int_equal(sim_run(&w, SIM_FIRST_FIT, &o, &r), DC_OK);
  assert_true(r.fig[SIM_UNPLACED] == 1); /* 64 wide on 8 cores */
  /* Gang on both nodes: the slow one sets the pace (100 s). */
  assert_true(r.fig[SIM_MAKESPAN] == 100);
  sim_workload_close(&w);
}

static void test_swf_bad_lines_named(void **state) {
  (void)state;
  struct sim_workload w;
  struct dc_errmsg err = {{0}};
  const char *p = write_file("bad1.swf", "; MaxProcs: 4\n1 0 0 100 1\n");
  assert_int_equal(sim_swf_read(p, NULL, &w, &err), DC_EPROTO);
  assert_non_null(strstr(err.text, ":2: 5 fields"));
  memset(&err, 0, sizeof err);
  p = write_file("bad2.swf",
                 "1 0 0 100 1 -1 -1 1 100 -1 1 1 1 -1 -1 -1 -1 -1\n"
                 "2 0 0 1x0 1 -1 -1 1 100 -1 1 1 1 -1 -1 -1 -1 -1\n");
  assert_int_equal(sim_swf_read(p, NULL, &w, &err), DC_EPROTO);
  assert_non_null(strstr(err.text, ":2: field 4 (run time)"));
  memset(&err, 0, sizeof err);
  assert_int_equal(sim_swf_read("/nonexistent/x.swf", NULL, &w, &err), DC_EIO);
  memset(&err, 0, sizeof err);
  const char *m = write_file("bad.machines", "0 a 2 x 1 1\n");
  p = write_file("ok.swf", swf3);
  assert_int_equal(sim_swf_read(p, m, &w, &err), DC_EPROTO);
  assert_non_null(strstr(err.text, ":1: expected"));
}

static const char nodes_csv[] =
    "sn,cpu_milli,memory_mib,gpu,model\n"
    "n0,32000,65536,2,T4\n"
    "n1,32000,65536,1,V100\n";

static void test_alibaba_replay_and_fgd(void **state) {
  (void)state;
  /* Columns reordered and one extra: found by name. */
  const char *pods = write_file("x_pod_list_t.csv",
      "name,num_gpu,gpu_milli,cpu_milli,memory_mib,gpu_spec,qos\n"
      "p0,1,500,1000,100,,LS\n"
      "p1,1,1000,1000,100,V100,LS\n"
      "p2,0,0,2000,100,,BE\n"
      "p3,1,500,1000,100,,LS\n"
      "p4,1,1000,1000,100,,LS\n");
  const char *nodes = write_file("x_node_list.csv", nodes_csv);
  struct sim_workload w;
  struct dc_errmsg err = {{0}};
  assert_int_equal(sim_alibaba_read(pods, nodes, &w, &err), DC_OK);
  assert_int_equal(w.njobs, 5);
  assert_int_equal(w.nnodes, 2);
  assert_int_equal(w.ntypes, 4);
  assert_int_equal(w.jobs[0].req.type, w.jobs[3].req.type);
  struct sim_opts o;
  sim_opts_default(&o);
  struct sim_result r;
  assert_int_equal(sim_run(&w, SIM_FGD, &o, &r), DC_OK);
  /* 3 GPUs; demand 0.5+1+0.5+1 = 3: everything fits, all allocated. */
  assert_true(r.fig[SIM_GPU_ALLOC] == 1.0);
  assert_true(r.fig[SIM_GPU_FRAG] == 0.0);
  assert_true(r.fig[SIM_UNPLACED] == 0);
  assert_non_null(r.why[SIM_MEAN_WAIT]);
  assert_int_equal(sim_run(&w, SIM_EASY, &o, &r), DC_EINVAL);
  struct sim_result r1, r2;
  assert_int_equal(sim_run(&w, SIM_RANDOM, &o, &r1), DC_OK);
  assert_int_equal(sim_run(&w, SIM_RANDOM, &o, &r2), DC_OK);
  assert_true(r1.fig[SIM_GPU_ALLOC] == r2.fig[SIM_GPU_ALLOC]);
  o.window = 4;
  assert_int_equal(sim_run(&w, SIM_LEARNED, &o, &r), DC_OK);
  assert_true(r.fig[SIM_GPU_ALLOC] == 1.0);
  sim_workload_close(&w);
}

static void test_alibaba_bad_rows(void **state) {
  (void)state;
  struct sim_workload w;
  struct dc_errmsg err = {{0}};
  const char *nodes = write_file("y_node_list.csv", nodes_csv);
  const char *pods = write_file("y_pod_list.csv",
      "name,cpu_milli,memory_mib,num_gpu,gpu_milli\n"
      "p0,1000,100,1,500\n"
      "p1,-4,100,1,500\n");
  assert_int_equal(sim_alibaba_read(pods, nodes, &w, &err), DC_EPROTO);
  assert_non_null(strstr(err.text, ":3: column cpu_milli"));
  memset(&err, 0, sizeof err);
  pods = write_file("z_pod_list.csv", "name,cpu_milli\np0,1\n");
  assert_int_equal(sim_alibaba_read(pods, nodes, &w, &err), DC_EPROTO);
  assert_non_null(strstr(err.text, "no column \"memory_mib\""));
  memset(&err, 0, sizeof err);
  pods = write_file("w_pod_list.csv",
      "name,cpu_milli,memory_mib,num_gpu,gpu_milli\np0,1,1,2,500\n");
  assert_int_equal(sim_alibaba_read(pods, nodes, &w, &err), DC_EPROTO);
  assert_non_null(strstr(err.text, "whole GPUs"));
}

static void test_swf_failures_repeat_for_a_seed(void **state) {
  (void)state;
  char text[8192] = "; MaxNodes: 4\n; MaxProcs: 16\n";
  for (int i = 0; i < 60; i++) {
    char line[128];
    snprintf(line, sizeof line, "%d %d 0 %d %d -1 -1 %d %d -1 1 %d 1 -1 -1 -1 -1 -1\n",
             i + 1, i * 300, 1000 + (i % 7) * 400, 1 + i % 6, 1 + i % 6,
             6000, 1 + i % 5);
    strcat(text, line);
  }
  const char *p = write_file("fail.swf", text);
  struct sim_workload w;
  struct dc_errmsg err = {{0}};
  assert_int_equal(sim_swf_read(p, NULL, &w, &err), DC_OK);
  struct sim_opts o;
  sim_opts_default(&o);
  o.mtbf_h = 2;
  o.mttr_h = 0.5;
  o.speed_spread = 0.3;
  o.seed = 5;
  for (int pol = 0; pol < SIM_POLICIES; pol++) {
    if (!sim_policy_applies((enum sim_policy)pol, &w)) continue;
    struct sim_result a, b;
    assert_int_equal(sim_run(&w, (enum sim_policy)pol, &o, &a), DC_OK);
    assert_int_equal(sim_run(&w, (enum sim_policy)pol, &o, &b), DC_OK);
    for (int f = 0; f < SIM_DEC_P50; f++) assert_true(a.fig[f] == b.fig[f]);
    assert_true(a.killed > 0); /* failures did hit running jobs */
    assert_true(a.fig[SIM_UNPLACED] == 0);
  }
  struct sim_pred_result pr;
  assert_int_equal(sim_predict_eval(&w, 1, &pr), DC_OK);
  assert_int_equal(pr.n, 60);
  assert_string_equal(pr.why[0], "not measurable"); /* < 50 distinct runtimes */
  sim_workload_close(&w);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_swf_fcfs_and_easy_known_waits),
      cmocka_unit_test(test_swf_machines_file_and_unplaced),
      cmocka_unit_test(test_swf_bad_lines_named),
      cmocka_unit_test(test_alibaba_replay_and_fgd),
      cmocka_unit_test(test_alibaba_bad_rows),
      cmocka_unit_test(test_swf_failures_repeat_for_a_seed),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
