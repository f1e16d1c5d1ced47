/* SPDX-License-Identifier: Apache-2.0
 * simrecommend: right-sizing evaluated on VM usage traces. Reads a Grid
 * Workloads Archive VM trace (a folder of per-VM CSVs, what was provisioned
 * beside what was used, one row per 5 minutes) and replays it through the
 * recommenders of predict, each learning only from the past. */
#ifndef DC_SIMRECOMMEND_H
#define DC_SIMRECOMMEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct gwa_vm {
  char *name; /* the file's name */
  double mhz_per_core; /* from the first row: VPA's CPU floors are in cores */
  size_t n;
  double *t_s, *cpu_prov_mhz, *cpu_used_mhz, *mem_prov_mb, *mem_used_mb;
};
struct gwa_trace {
  struct gwa_vm *vms;
  size_t nvms;
};
/* Every regular *.csv file of dir, in name order. DC_EINVAL/DC_EPROTO with
 * the file and line in err on malformed input (nothing is returned). */
int gwa_read_dir(const char *dir, struct gwa_trace *out, char *err, size_t errsz);
void gwa_free(struct gwa_trace *t);

enum { RS_LEARNED, RS_PROVISIONED, RS_VPA, RS_NMETHODS };
const char *rs_method_name(int m);

struct rs_figures {
  double slack;        /* mean of max(0, recommended - used) per sample */
  double overrun_rate; /* share of samples with used > recommended */
};
struct rs_result {
  size_t vms, samples;
  /* A column with fewer than 50 distinct values cannot show right-sizing:
   * its figures are not measurable. */
  bool mem_measurable, cpu_measurable;
  size_t mem_distinct, cpu_distinct;
  struct rs_figures mem[RS_NMETHODS]; /* MB */
  struct rs_figures cpu[RS_NMETHODS]; /* MHz */
};
struct rs_options {
  /* learned's target share of samples over, per resource: running out of
   * memory kills, running out of CPU only slows down. */
  double mem_overrun_target, cpu_overrun_target;
  /* learned memory takes the provisioned size as its prior (true); false
   * only to measure what the prior does. */
  bool mem_request_prior;
};
void rs_options_default(struct rs_options *o);
/* Replays every VM in time order (all VMs interleaved, so the pooled
 * headroom only ever holds the past). */
int rs_evaluate(const struct gwa_trace *t, const struct rs_options *o,
                struct rs_result *out);

#endif /* DC_SIMRECOMMEND_H */
