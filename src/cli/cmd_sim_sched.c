/* SPDX-License-Identifier: Apache-2.0
 * deepcloud sim sched: replay a workload trace against every applicable
 * policy and print the figures side by side (JSON or a table). */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "sim/sched/simsched.h"

static const char usage_text[] =
    "deepcloud sim sched --workload FILE [--format swf|alibaba] [--nodes FILE] "
    "[--policies a,b,...] [--seed N] [--mtbf-h H] [--mttr-h H] "
    "[--speed-spread S] [--window N] [--provider-fair] [--json]";

static int parse_policies(const char *s, const struct sim_workload *w,
                          bool *on) {
  memset(on, 0, SIM_POLICIES * sizeof *on);
  if (!s) {
    for (int p = 0; p < SIM_POLICIES; p++)
      on[p] = sim_policy_applies((enum sim_policy)p, w);
    return DC_OK;
  }
  char buf[256];
  snprintf(buf, sizeof buf, "%s", s);
  char *save = NULL;
  for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
    enum sim_policy p;
    if (sim_policy_parse(t, &p)) {
      fprintf(stderr, "error: unknown policy \"%s\" (random, first-fit, "
                      "best-fit, k8s, easy-backfill, fgd, learned)\n", t);
      return DC_EINVAL;
    }
    if (!sim_policy_applies(p, w)) {
      fprintf(stderr, "error: policy %s does not apply to this workload "
                      "(easy-backfill needs SWF runtimes, fgd needs GPUs)\n", t);
      return DC_EINVAL;
    }
    on[p] = true;
  }
  return DC_OK;
}

static json_t *result_json(const struct sim_result *r) {
  json_t *o = json_object();
  json_object_set_new(o, "policy", json_string(sim_policy_name(r->policy)));
  for (int f = 0; f < SIM_NFIG; f++) {
    if (r->why[f]) {
      char key[64];
      json_object_set_new(o, sim_fig_names[f], json_null());
      snprintf(key, sizeof key, "%s_reason", sim_fig_names[f]);
      json_object_set_new(o, key, json_string(r->why[f]));
    } else if (f == SIM_UNPLACED) {
      json_object_set_new(o, sim_fig_names[f], json_integer((json_int_t)r->fig[f]));
    } else {
      json_object_set_new(o, sim_fig_names[f], json_real(r->fig[f]));
    }
  }
  json_object_set_new(o, "restarts_after_failure", json_integer((json_int_t)r->killed));
  return o;
}

static json_t *prediction_json(const struct sim_pred_result *p) {
  static const char *const names[3] = {"learned_male", "user_estimate_male",
                                       "tsafrir_male"};
  json_t *o = json_object();
  json_object_set_new(o, "metric", json_string("mean absolute log error, online"));
  json_object_set_new(o, "jobs", json_integer((json_int_t)p->n));
  for (int k = 0; k < 3; k++) {
    if (p->why[k]) {
      char key[64];
      snprintf(key, sizeof key, "%s_reason", names[k]);
      json_object_set_new(o, names[k], json_null());
      json_object_set_new(o, key, json_string(p->why[k]));
    } else {
      json_object_set_new(o, names[k], json_real(p->male[k]));
    }
  }
  return o;
}

static void print_table(const char *path, const struct sim_workload *w,
                        const struct sim_result *r, size_t n,
                        const struct sim_pred_result *p) {
  printf("workload %s: %zu jobs (%zu skipped), %zu nodes (%s)\n\n", path,
         w->njobs, w->skipped, w->nnodes, w->cluster_source);
  static const char *const head[SIM_NFIG] = {
      "wait", "p95 wait", "bsld", "makespan", "util", "cost", "unplaced",
      "gpu alloc", "gpu frag", "us p50", "us p99"};
  printf("%-14s", "policy");
  for (int f = 0; f < SIM_NFIG; f++) printf(" %10s", head[f]);
  printf("\n");
  for (size_t i = 0; i < n; i++) {
    printf("%-14s", sim_policy_name(r[i].policy));
    for (int f = 0; f < SIM_NFIG; f++) {
      if (r[i].why[f]) printf(" %10s", "-");
      else if (f == SIM_UTIL || f == SIM_GPU_ALLOC || f == SIM_GPU_FRAG)
        printf(" %10.4f", r[i].fig[f]);
      else printf(" %10.1f", r[i].fig[f]);
    }
    printf("\n");
  }
  printf("\nruntime prediction, mean absolute log error (%zu jobs):", p->n);
  static const char *const names[3] = {"learned", "user estimate", "tsafrir"};
  for (int k = 0; k < 3; k++) {
    if (p->why[k]) printf("  %s: - (%s)", names[k], p->why[k]);
    else printf("  %s: %.3f", names[k], p->male[k]);
  }
  printf("\n");
}

int cli_sim_sched(int argc, char **argv) {
  const char *workload = NULL, *format = NULL, *nodes = NULL, *policies = NULL;
  uint64_t seed = 1;
  uint32_t window = 1;
  bool provider_fair = false;
  double mtbf = 0, mttr = 1, spread = 0;
  bool json = false;
  struct opt opts[] = {
      {"workload", OPT_STR, &workload, "trace file (SWF log or Alibaba pod list CSV)"},
      {"format", OPT_STR, &format, "swf | alibaba (default: from the file name)"},
      {"nodes", OPT_STR, &nodes, "cluster: SWF .machines file or Alibaba node list CSV"},
      {"policies", OPT_STR, &policies, "comma-separated (default: every applicable one)"},
      {"seed", OPT_U64, &seed, "random seed (default 1)"},
      {"mtbf-h", OPT_F64, &mtbf, "inject node failures, mean hours between (SWF)"},
      {"mttr-h", OPT_F64, &mttr, "hours to repair a failed node (default 1)"},
      {"speed-spread", OPT_F64, &spread, "node speeds uniform in [1-S, 1+S] (SWF)"},
      {"window", OPT_U32, &window, "learned: pods assigned per batch (Alibaba, default 1)"},
      {"provider-fair", OPT_BOOL, &provider_fair, "learned: add proportional shares across providers to the cost (off; the daemon has it on)"},
      {"json", OPT_BOOL, &json, "machine-readable JSON output"},
  };
  char *pos[4];
  size_t npos = 4;
  int rc = cli_parse(usage_text, opts, sizeof opts / sizeof *opts, argc, argv, pos, &npos);
  if (rc >= 0) return rc;
  if (!workload || npos) {
    fprintf(stderr, "error: %s\nusage: %s\n",
            workload ? "unexpected argument" : "--workload is required", usage_text);
    return 2;
  }
  if (!format) format = strstr(workload, "pod_list") || strstr(workload, ".csv") ? "alibaba" : "swf";
  if (strcmp(format, "swf") && strcmp(format, "alibaba")) {
    fprintf(stderr, "error: --format must be swf or alibaba\n");
    return 2;
  }
  if (mtbf < 0 || mttr <= 0 || spread < 0 || spread >= 1) {
    fprintf(stderr, "error: --mtbf-h >= 0, --mttr-h > 0, 0 <= --speed-spread < 1\n");
    return 2;
  }
  struct sim_workload w;
  struct dc_errmsg err = {{0}};
  rc = !strcmp(format, "swf") ? sim_swf_read(workload, nodes, &w, &err)
                              : sim_alibaba_read(workload, nodes, &w, &err);
  if (rc) {
    fprintf(stderr, "error: %s\n", err.text[0] ? err.text : dc_strerror(rc));
    return 1;
  }
  bool on[SIM_POLICIES];
  struct sim_result res[SIM_POLICIES];
  size_t n = 0;
  struct sim_pred_result pred;
  struct sim_opts o;
  sim_opts_default(&o);
  o.seed = seed;
  o.mtbf_h = mtbf;
  o.mttr_h = mttr;
  o.speed_spread = spread;
  o.window = window ? window : 1;
  o.provider_fair = provider_fair;
  if (parse_policies(policies, &w, on)) {
    sim_workload_close(&w);
    return 2;
  }
  for (int p = 0; p < SIM_POLICIES && rc == DC_OK; p++)
    if (on[p]) rc = sim_run(&w, (enum sim_policy)p, &o, &res[n++]);
  if (rc == DC_OK) rc = sim_predict_eval(&w, seed, &pred);
  if (rc) {
    fprintf(stderr, "error: simulation failed: %s\n", dc_strerror(rc));
    sim_workload_close(&w);
    return 1;
  }
  if (json) {
    json_t *root = json_object(), *wl = json_object(), *arr = json_array();
    json_object_set_new(wl, "file", json_string(workload));
    json_object_set_new(wl, "format", json_string(format));
    json_object_set_new(wl, "jobs", json_integer((json_int_t)w.njobs));
    json_object_set_new(wl, "skipped", json_integer((json_int_t)w.skipped));
    json_object_set_new(wl, "nodes", json_integer((json_int_t)w.nnodes));
    json_object_set_new(wl, "cluster_source", json_string(w.cluster_source));
    json_object_set_new(wl, "seed", json_integer((json_int_t)seed));
    json_object_set_new(root, "workload", wl);
    for (size_t i = 0; i < n; i++) json_array_append_new(arr, result_json(&res[i]));
    json_object_set_new(root, "policies", arr);
    json_object_set_new(root, "prediction", prediction_json(&pred));
    cli_print_json(root);
    json_decref(root);
  } else {
    print_table(workload, &w, res, n, &pred);
  }
  sim_workload_close(&w);
  return 0;
}
