/* SPDX-License-Identifier: Apache-2.0
 * Right-sizing on a GWA VM trace folder: memory and CPU slack and overrun
 * rate of the learned recommender, of what was provisioned and of a
 * VPA-like recommender, replayed from the past only; prints the figures,
 * the learned slack cut against provisioned and the ratio against VPA.
 *
 *   bench_rightsize DIR [--mem-target F] [--cpu-target F] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "sim/recommend/simrecommend.h"

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: bench_rightsize DIR [--mem-target F] [--cpu-target F]\n");
    return 2;
  }
  struct rs_options o;
  rs_options_default(&o);
  for (int i = 2; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--mem-target")) o.mem_overrun_target = atof(argv[i + 1]);
    if (!strcmp(argv[i], "--cpu-target")) o.cpu_overrun_target = atof(argv[i + 1]);
  }
  struct gwa_trace t;
  char err[512] = "";
  if (gwa_read_dir(argv[1], &t, err, sizeof err)) {
    fprintf(stderr, "bench_rightsize: %s\n", err);
    return 1;
  }
  struct rs_result r;
  uint64_t t0 = dc_mono_ns();
  int rc = rs_evaluate(&t, &o, &r);
  double secs = (double)(dc_mono_ns() - t0) / 1e9;
  gwa_free(&t);
  if (rc) return 1;
  printf("{\"bench\":\"rightsize\",\"vms\":%zu,\"samples\":%zu,\"mem_distinct\":%zu,"
         "\"cpu_distinct\":%zu", r.vms, r.samples, r.mem_distinct, r.cpu_distinct);
  for (int m = 0; m < RS_NMETHODS; m++)
    printf(",\"%s\":{\"mem_slack_mb\":%.1f,\"mem_over\":%.6f,\"cpu_slack_mhz\":%.1f,"
           "\"cpu_over\":%.6f}", rs_method_name(m), r.mem[m].slack,
           r.mem[m].overrun_rate, r.cpu[m].slack, r.cpu[m].overrun_rate);
  printf(",\"mem_slack_cut_vs_provisioned\":%.3f,\"mem_slack_ratio_vs_vpa\":%.3f,"
         "\"cpu_slack_ratio_vs_vpa\":%.3f,\"replay_s\":%.2f}\n",
         1 - r.mem[RS_LEARNED].slack / r.mem[RS_PROVISIONED].slack,
         r.mem[RS_LEARNED].slack / r.mem[RS_VPA].slack,
         r.cpu[RS_LEARNED].slack / r.cpu[RS_VPA].slack, secs);
  return 0;
}
