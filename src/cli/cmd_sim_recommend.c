/* SPDX-License-Identifier: Apache-2.0
 * deepcloud sim recommend: right-sizing replayed on a VM usage trace, the
 * learned recommender beside what was provisioned and a VPA-like one. */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "sim/recommend/simrecommend.h"

static const char usage_text[] =
    "deepcloud sim recommend --workload DIR --format gwa [--mem-target F] "
    "[--cpu-target F] [--json]";

/* One resource of one method: figures, or null with the reason. */
static void put_figures(json_t *o, const char *res, const char *unit,
                        const struct rs_figures *f, bool measurable) {
  char k1[64], k2[64];
  snprintf(k1, sizeof k1, "%s_slack_%s", res, unit);
  snprintf(k2, sizeof k2, "%s_overrun_rate", res);
  if (!measurable) {
    char r[80];
    json_object_set_new(o, k1, json_null());
    json_object_set_new(o, k2, json_null());
    snprintf(r, sizeof r, "%s_reason", res);
    json_object_set_new(o, r, json_string("not measurable"));
    return;
  }
  json_object_set_new(o, k1, json_real(f->slack));
  json_object_set_new(o, k2, json_real(f->overrun_rate));
}

static json_t *result_json(const char *dir, const struct rs_result *r,
                           const struct rs_options *o) {
  json_t *root = json_object(), *methods = json_array();
  json_object_set_new(root, "workload", json_string(dir));
  json_object_set_new(root, "format", json_string("gwa"));
  json_object_set_new(root, "vms", json_integer((json_int_t)r->vms));
  json_object_set_new(root, "samples", json_integer((json_int_t)r->samples));
  json_object_set_new(root, "mem_overrun_target", json_real(o->mem_overrun_target));
  json_object_set_new(root, "cpu_overrun_target", json_real(o->cpu_overrun_target));
  for (int m = 0; m < RS_NMETHODS; m++) {
    json_t *x = json_object();
    json_object_set_new(x, "method", json_string(rs_method_name(m)));
    put_figures(x, "mem", "mb", &r->mem[m], r->mem_measurable);
    put_figures(x, "cpu", "mhz", &r->cpu[m], r->cpu_measurable);
    json_array_append_new(methods, x);
  }
  json_object_set_new(root, "methods", methods);
  if (r->mem_measurable && r->mem[RS_PROVISIONED].slack > 0) {
    json_object_set_new(root, "mem_slack_cut_vs_provisioned",
                        json_real(1 - r->mem[RS_LEARNED].slack /
                                          r->mem[RS_PROVISIONED].slack));
  }
  if (r->mem_measurable && r->mem[RS_VPA].slack > 0)
    json_object_set_new(root, "mem_slack_ratio_vs_vpa",
                        json_real(r->mem[RS_LEARNED].slack / r->mem[RS_VPA].slack));
  return root;
}

static void print_table(const char *dir, const struct rs_result *r) {
  printf("workload %s: %zu VMs, %zu samples of 5 minutes\n", dir, r->vms, r->samples);
  printf("%-12s %14s %12s %14s %12s\n", "method", "mem slack MB", "mem over",
         "cpu slack MHz", "cpu over");
  for (int m = 0; m < RS_NMETHODS; m++) {
    printf("%-12s", rs_method_name(m));
    if (r->mem_measurable)
      printf(" %14.1f %11.3f%%", r->mem[m].slack, 100 * r->mem[m].overrun_rate);
    else
      printf(" %14s %12s", "n/a", "n/a");
    if (r->cpu_measurable)
      printf(" %14.1f %11.3f%%\n", r->cpu[m].slack, 100 * r->cpu[m].overrun_rate);
    else
      printf(" %14s %12s\n", "n/a", "n/a");
  }
  if (!r->mem_measurable || !r->cpu_measurable)
    printf("n/a: not measurable (a usage column with fewer than 50 distinct values)\n");
}

int cli_sim_recommend(int argc, char **argv) {
  const char *workload = NULL, *format = "gwa";
  bool json = false;
  struct rs_options ro;
  rs_options_default(&ro);
  struct opt opts[] = {
      {"workload", OPT_STR, &workload, "folder of per-VM CSV files"},
      {"format", OPT_STR, &format, "trace format: gwa (Grid Workloads Archive VMs)"},
      {"mem-target", OPT_F64, &ro.mem_overrun_target,
       "share of samples learned memory may be under (default 0.0005)"},
      {"cpu-target", OPT_F64, &ro.cpu_overrun_target,
       "share of samples learned CPU may be under (default 0.01)"},
      {"json", OPT_BOOL, &json, "machine-readable JSON output"}};
  char *pos[1];
  size_t npos = 0;
  int rc = cli_parse(usage_text, opts, DC_ARRAY_LEN(opts), argc, argv, pos, &npos);
  if (rc >= 0) return rc;
  if (!workload || npos) {
    fprintf(stderr, "error: --workload DIR is required\nusage: %s\n", usage_text);
    return 2;
  }
  if (strcmp(format, "gwa")) {
    fprintf(stderr, "error: format \"%s\" has no usage samples; use gwa\n", format);
    return 2;
  }
  struct gwa_trace t;
  char err[512] = "";
  rc = gwa_read_dir(workload, &t, err, sizeof err);
  if (rc) {
    fprintf(stderr, "error: %s (%s)\n", err[0] ? err : dc_strerror(rc), dc_strerror(rc));
    return 1;
  }
  struct rs_result r;
  rc = rs_evaluate(&t, &ro, &r);
  gwa_free(&t);
  if (rc) {
    fprintf(stderr, "error: evaluation: %s\n", dc_strerror(rc));
    return 1;
  }
  if (json) {
    json_t *j = result_json(workload, &r, &ro);
    cli_print_json(j);
    json_decref(j);
  } else {
    print_table(workload, &r);
  }
  return 0;
}
