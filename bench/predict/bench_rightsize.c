/* SPDX-License-Identifier: Apache-2.0
 * Right-sizing on a GWA VM trace folder: memory and CPU slack and overrun
 * rate of the learned recommender, of what was provisioned and of a
 * VPA-like recommender, replayed from the past only; prints the figures,
 * the learned slack cut against provisioned and the ratios against VPA.
 * With --split it also replays, each on its own from a cold start, the
 * first and second halves of the VMs (in file name order) and the first
 * and second halves of the trace's time span: a change that only helps
 * the whole run is fitted to it. --stagger D makes the VM number i (in
 * name order) join D * (i mod 10) days late, as VMs join a real fleet
 * over time (in a GWA trace they all start together). --no-prior replays
 * learned memory without the request prior, to measure what it does.
 *
 *   bench_rightsize DIR [--mem-target F] [--cpu-target F] [--split]
 *                       [--stagger D] [--no-prior] */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "sim/recommend/simrecommend.h"

static double ratio(double a, double b) { return b > 0 ? a / b : NAN; }

static int report(const char *part, const struct gwa_trace *t,
                  const struct rs_options *o) {
  struct rs_result r;
  uint64_t t0 = dc_mono_ns();
  int rc = rs_evaluate(t, o, &r);
  double secs = (double)(dc_mono_ns() - t0) / 1e9;
  if (rc) {
    fprintf(stderr, "bench_rightsize: %s: %s\n", part, dc_strerror(rc));
    return rc;
  }
  const struct rs_figures *lm = &r.mem[RS_LEARNED], *vm = &r.mem[RS_VPA];
  const struct rs_figures *lc = &r.cpu[RS_LEARNED], *vc = &r.cpu[RS_VPA];
  printf("{\"bench\":\"rightsize\",\"part\":\"%s\",\"vms\":%zu,\"samples\":%zu,"
         "\"mem_distinct\":%zu,\"cpu_distinct\":%zu", part, r.vms, r.samples,
         r.mem_distinct, r.cpu_distinct);
  for (int m = 0; m < RS_NMETHODS; m++)
    printf(",\"%s\":{\"mem_slack_mb\":%.1f,\"mem_over\":%.6f,\"mem_over_samples\":%.0f,"
           "\"cpu_slack_mhz\":%.1f,\"cpu_over\":%.6f}", rs_method_name(m),
           r.mem[m].slack, r.mem[m].overrun_rate,
           round(r.mem[m].overrun_rate * (double)r.samples), r.cpu[m].slack,
           r.cpu[m].overrun_rate);
  printf(",\"mem_slack_cut_vs_provisioned\":%.3f,\"mem_slack_ratio_vs_vpa\":%.3f,"
         "\"mem_over_ratio_vs_vpa\":%.3f,\"cpu_slack_ratio_vs_vpa\":%.3f,"
         "\"cpu_over_ratio_vs_vpa\":%.3f,\"beats_vpa_mem\":%s,\"beats_vpa_cpu\":%s,"
         "\"replay_s\":%.2f}\n",
         1 - ratio(lm->slack, r.mem[RS_PROVISIONED].slack), ratio(lm->slack, vm->slack),
         ratio(lm->overrun_rate, vm->overrun_rate), ratio(lc->slack, vc->slack),
         ratio(lc->overrun_rate, vc->overrun_rate),
         lm->slack < vm->slack && lm->overrun_rate < vm->overrun_rate ? "true" : "false",
         lc->slack < vc->slack && lc->overrun_rate < vc->overrun_rate ? "true" : "false",
         secs);
  return 0;
}

/* The samples of every VM in [lo, hi), VM i from its start plus
 * delay_s * (i mod 10): views into t, nothing copied. */
static int time_part(const struct gwa_trace *t, double lo, double hi,
                     double delay_s, struct gwa_trace *out) {
  out->vms = dc_calloc(t->nvms, sizeof(*out->vms));
  out->nvms = 0;
  if (!out->vms) return DC_ENOMEM;
  for (size_t i = 0; i < t->nvms; i++) {
    const struct gwa_vm *vm = &t->vms[i];
    double from = fmax(lo, vm->t_s[0] + delay_s * (double)(i % 10));
    size_t a = 0, b;
    while (a < vm->n && vm->t_s[a] < from) a++;
    for (b = a; b < vm->n && vm->t_s[b] < hi;) b++;
    if (a == b) continue;
    struct gwa_vm *v = &out->vms[out->nvms++];
    *v = *vm;
    v->n = b - a;
    v->t_s += a;
    v->cpu_prov_mhz += a;
    v->cpu_used_mhz += a;
    v->mem_prov_mb += a;
    v->mem_used_mb += a;
  }
  return 0;
}

static int splits(const struct gwa_trace *t, const struct rs_options *o) {
  /* t is already staggered if asked: halves of what is replayed. */
  size_t h = t->nvms / 2;
  struct gwa_trace first = {.vms = t->vms, .nvms = h};
  struct gwa_trace second = {.vms = t->vms + h, .nvms = t->nvms - h};
  int rc = 0;
  if (h) rc = report("vms-first-half", &first, o);
  if (!rc && h) rc = report("vms-second-half", &second, o);
  double t0 = INFINITY, t1 = -INFINITY;
  for (size_t i = 0; i < t->nvms; i++) {
    t0 = fmin(t0, t->vms[i].t_s[0]);
    t1 = fmax(t1, t->vms[i].t_s[t->vms[i].n - 1]);
  }
  double mid = t0 + (t1 - t0) / 2;
  const char *names[2] = {"time-first-half", "time-second-half"};
  double bounds[3] = {-INFINITY, mid, INFINITY};
  for (int p = 0; !rc && p < 2; p++) {
    struct gwa_trace part;
    rc = time_part(t, bounds[p], bounds[p + 1], 0, &part);
    if (!rc && part.nvms) rc = report(names[p], &part, o);
    dc_free(part.vms);
  }
  return rc;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: bench_rightsize DIR [--mem-target F] [--cpu-target F] "
                    "[--split] [--stagger D] [--no-prior]\n");
    return 2;
  }
  struct rs_options o;
  rs_options_default(&o);
  bool split = false;
  double stagger_days = 0;
  for (int i = 2; i < argc; i++) {
    if (!strcmp(argv[i], "--split")) split = true;
    else if (!strcmp(argv[i], "--no-prior")) o.mem_request_prior = false;
    else if (i + 1 < argc && !strcmp(argv[i], "--stagger")) stagger_days = atof(argv[++i]);
    else if (i + 1 < argc && !strcmp(argv[i], "--mem-target")) o.mem_overrun_target = atof(argv[++i]);
    else if (i + 1 < argc && !strcmp(argv[i], "--cpu-target")) o.cpu_overrun_target = atof(argv[++i]);
    else {
      fprintf(stderr, "bench_rightsize: unknown argument %s\n", argv[i]);
      return 2;
    }
  }
  struct gwa_trace t;
  char err[512] = "";
  if (gwa_read_dir(argv[1], &t, err, sizeof err)) {
    fprintf(stderr, "bench_rightsize: %s\n", err);
    return 1;
  }
  struct gwa_trace run = t;
  int rc = 0;
  if (stagger_days > 0) rc = time_part(&t, -INFINITY, INFINITY, stagger_days * 86400, &run);
  if (!rc) rc = report(stagger_days > 0 ? "staggered" : "all", &run, &o);
  if (!rc && split) rc = splits(&run, &o);
  if (run.vms != t.vms) dc_free(run.vms);
  gwa_free(&t);
  return rc ? 1 : 0;
}
