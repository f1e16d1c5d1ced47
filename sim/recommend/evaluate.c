/* SPDX-License-Identifier: Apache-2.0
 * The right-sizing replay: every VM's samples in time order, interleaved
 * across VMs. Before each sample every method says what it would reserve;
 * the sample then scores it (slack, overrun) and only afterwards teaches
 * the learning methods. Provisioned is what the VM asked for at that time. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "predict/predict.h"
#include "sim/recommend/simrecommend.h"

#define RS_MIN_DISTINCT 50
#define VPA_MIN_MEM_MB 250.0 /* VPA's pod minimum for memory */
#define VPA_MIN_CPU_CORES 0.025 /* and for CPU (25 millicores) */

const char *rs_method_name(int m) {
  static const char *n[RS_NMETHODS] = {"learned", "provisioned", "vpa"};
  return m >= 0 && m < RS_NMETHODS ? n[m] : "unknown";
}

void rs_options_default(struct rs_options *o) {
  memset(o, 0, sizeof(*o));
  o->mem_overrun_target = 0.0005;
  o->cpu_overrun_target = 0.01;
  o->mem_request_prior = true;
}

struct event {
  double t;
  uint32_t vm, i;
};

static int cmp_event(const void *a, const void *b) {
  const struct event *x = a, *y = b;
  if (x->t != y->t) return x->t < y->t ? -1 : 1;
  if (x->vm != y->vm) return x->vm < y->vm ? -1 : 1;
  return (x->i > y->i) - (x->i < y->i);
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Distinct values of one column over every VM. */
static int distinct(const struct gwa_trace *t, size_t total, size_t off,
                    size_t *out) {
  double *v = dc_malloc(total * sizeof(double));
  if (!v) return DC_ENOMEM;
  size_t k = 0;
  for (size_t i = 0; i < t->nvms; i++) {
    const double *col = *(double *const *)((const char *)&t->vms[i] + off);
    memcpy(&v[k], col, t->vms[i].n * sizeof(double));
    k += t->vms[i].n;
  }
  qsort(v, total, sizeof(double), cmp_double);
  size_t d = total ? 1 : 0;
  for (size_t i = 1; i < total; i++) d += v[i] != v[i - 1];
  dc_free(v);
  *out = d;
  return 0;
}

/* The two recommenders of one resource of one VM. */
struct vm_models {
  struct dc_usage *learned, *vpa;
  /* Memory tells learned what was provisioned: a young VM's peak is not
   * known yet and running out of memory kills it, so the request is its
   * prior. CPU does not: running out only throttles for a sample, and its
   * 1% target is met without it (with it: less overrun, more slack; see
   * docs/predict.md). */
  bool request_prior;
};

static int models_new(struct vm_models *m, const struct rs_options *o,
                      struct dc_usage_pool *pool, bool memory, double mhz_per_core) {
  struct dc_usage_config lc, vc;
  dc_usage_config_default(&lc, DC_USAGE_LEARNED);
  lc.overrun_target = memory ? o->mem_overrun_target : o->cpu_overrun_target;
  /* Memory is sticky (caches fill, heaps rarely shrink): the last day's
   * peak is the base. CPU follows load from minute to minute: the last
   * hour's. */
  lc.window = memory ? 288 : 12;
  dc_usage_config_default(&vc, DC_USAGE_VPA);
  if (memory) {
    vc.peak_interval_s = 86400; /* VPA keeps daily memory peaks */
    vc.bucket_first = 10;       /* VPA: 1e7 bytes */
    vc.min_value = VPA_MIN_MEM_MB;
  } else {
    vc.bucket_first = 0.01 * mhz_per_core; /* VPA: 0.01 cores */
    vc.min_value = VPA_MIN_CPU_CORES * mhz_per_core;
  }
  m->request_prior = memory && o->mem_request_prior;
  int rc = dc_usage_new(&lc, pool, &m->learned);
  if (!rc) rc = dc_usage_new(&vc, NULL, &m->vpa);
  return rc;
}

static void score(struct rs_figures *f, double rec, double used) {
  f->slack += fmax(0, rec - used);
  f->overrun_rate += used > rec;
}

static void step(struct vm_models *m, struct rs_figures fig[RS_NMETHODS],
                 double t, double prov, double used) {
  double rec;
  /* The request is known before the sample: what the VM has now. */
  if (m->request_prior) dc_usage_set_request(m->learned, prov);
  if (dc_usage_recommend(m->learned, &rec)) rec = prov; /* cold: the request */
  score(&fig[RS_LEARNED], rec, used);
  score(&fig[RS_PROVISIONED], prov, used);
  if (dc_usage_recommend(m->vpa, &rec)) rec = prov;
  score(&fig[RS_VPA], rec, used);
  dc_usage_observe(m->learned, t, used);
  dc_usage_observe(m->vpa, t, used);
}

int rs_evaluate(const struct gwa_trace *t, const struct rs_options *o,
                struct rs_result *out) {
  if (!t || !o || !out || !t->nvms) return DC_EINVAL;
  memset(out, 0, sizeof(*out));
  size_t total = 0;
  for (size_t i = 0; i < t->nvms; i++) total += t->vms[i].n;
  struct event *ev = dc_malloc(total * sizeof(*ev));
  struct vm_models *mem = dc_calloc(t->nvms, sizeof(*mem));
  struct vm_models *cpu = dc_calloc(t->nvms, sizeof(*cpu));
  struct dc_usage_pool *mem_pool = NULL, *cpu_pool = NULL;
  int rc = ev && mem && cpu ? 0 : DC_ENOMEM;
  if (!rc) rc = dc_usage_pool_new(&mem_pool);
  if (!rc) rc = dc_usage_pool_new(&cpu_pool);
  if (!rc) rc = distinct(t, total, offsetof(struct gwa_vm, mem_used_mb), &out->mem_distinct);
  if (!rc) rc = distinct(t, total, offsetof(struct gwa_vm, cpu_used_mhz), &out->cpu_distinct);
  size_t k = 0;
  for (size_t i = 0; !rc && i < t->nvms; i++) {
    const struct gwa_vm *vm = &t->vms[i];
    for (size_t j = 0; j < vm->n; j++)
      ev[k++] = (struct event){.t = vm->t_s[j], .vm = (uint32_t)i, .i = (uint32_t)j};
    rc = models_new(&mem[i], o, mem_pool, true, 0);
    if (!rc) rc = models_new(&cpu[i], o, cpu_pool, false, fmax(vm->mhz_per_core, 1));
  }
  if (!rc) {
    qsort(ev, total, sizeof(*ev), cmp_event);
    for (size_t e = 0; e < total; e++) {
      const struct gwa_vm *vm = &t->vms[ev[e].vm];
      size_t j = ev[e].i;
      step(&mem[ev[e].vm], out->mem, vm->t_s[j], vm->mem_prov_mb[j], vm->mem_used_mb[j]);
      step(&cpu[ev[e].vm], out->cpu, vm->t_s[j], vm->cpu_prov_mhz[j], vm->cpu_used_mhz[j]);
    }
    for (int m = 0; m < RS_NMETHODS; m++) {
      struct rs_figures *f[2] = {&out->mem[m], &out->cpu[m]};
      for (int r = 0; r < 2; r++) {
        f[r]->slack /= (double)total;
        f[r]->overrun_rate /= (double)total;
      }
    }
    out->vms = t->nvms;
    out->samples = total;
    out->mem_measurable = out->mem_distinct >= RS_MIN_DISTINCT;
    out->cpu_measurable = out->cpu_distinct >= RS_MIN_DISTINCT;
  }
  for (size_t i = 0; mem && cpu && i < t->nvms; i++) {
    dc_usage_free(mem[i].learned);
    dc_usage_free(mem[i].vpa);
    dc_usage_free(cpu[i].learned);
    dc_usage_free(cpu[i].vpa);
  }
  dc_usage_pool_free(mem_pool);
  dc_usage_pool_free(cpu_pool);
  dc_free(mem);
  dc_free(cpu);
  dc_free(ev);
  return rc;
}
