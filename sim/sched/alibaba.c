/* SPDX-License-Identifier: Apache-2.0
 * Alibaba GPU cluster trace (cluster-trace-gpu-v2023, "openb"): the node
 * list (sn,cpu_milli,memory_mib,gpu,model) and the pod list (name,
 * cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,...). Columns are found
 * by their header names, so reordered or extended files still read. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/sched/sim_int.h"

#define CSV_COLS 64

struct csv {
  FILE *f;
  const char *path;
  char line[4096];
  char *fl[CSV_COLS];
  size_t n, lineno;
};

static int csv_open(struct csv *c, const char *path, struct dc_errmsg *err) {
  memset(c, 0, sizeof *c);
  c->path = path;
  c->f = fopen(path, "r");
  if (!c->f) {
    dc_errmsg_set(err, "%s: cannot open", path);
    return DC_EIO;
  }
  return DC_OK;
}

/* Next non-empty row; 1 = got one, 0 = end, -1 = error. */
static int csv_next(struct csv *c, struct dc_errmsg *err) {
  while (fgets(c->line, sizeof c->line, c->f)) {
    c->lineno++;
    if (!strchr(c->line, '\n') && !feof(c->f)) {
      dc_errmsg_set(err, "%s:%zu: line longer than %zu bytes", c->path,
                    c->lineno, sizeof c->line - 1);
      return -1;
    }
    if (c->line[0] == '\n' || c->line[0] == '\r' || !c->line[0]) continue;
    c->n = sim_split(c->line, ',', c->fl, CSV_COLS);
    return 1;
  }
  return 0;
}

/* Column index of each wanted name in the header row, or an error naming
 * the missing one. */
static int csv_header(struct csv *c, const char *const *names, size_t nnames,
                      size_t *idx, size_t nrequired, struct dc_errmsg *err) {
  if (csv_next(c, err) != 1) {
    if (!err->text[0]) dc_errmsg_set(err, "%s: empty file", c->path);
    return DC_EPROTO;
  }
  for (size_t k = 0; k < nnames; k++) {
    idx[k] = SIZE_MAX;
    for (size_t i = 0; i < c->n; i++)
      if (!strcmp(c->fl[i], names[k])) idx[k] = i;
    if (idx[k] == SIZE_MAX && k < nrequired) {
      dc_errmsg_set(err, "%s:1: no column \"%s\" in the header", c->path,
                    names[k]);
      return DC_EPROTO;
    }
  }
  return DC_OK;
}

static int num_field(struct csv *c, size_t col, const char *name, double lo,
                     double hi, double *out, struct dc_errmsg *err) {
  if (col >= c->n || !sim_num(c->fl[col], out) || *out < lo || *out > hi) {
    dc_errmsg_set(err, "%s:%zu: column %s must be a number in [%g, %g], got \"%.40s\"",
                  c->path, c->lineno, name, lo, hi,
                  col < c->n ? c->fl[col] : "");
    return DC_EPROTO;
  }
  return DC_OK;
}

static int model_id(struct sim_workload *w, const char *name, bool add) {
  for (size_t i = 0; i < w->nmodels; i++)
    if (!strcmp(w->models[i], name)) return (int)i;
  if (!add || w->nmodels == SIM_MODELS_MAX || strlen(name) >= 32) return -1;
  snprintf(w->models[w->nmodels], 32, "%s", name);
  return (int)w->nmodels++;
}

static int read_nodes(const char *path, struct sim_workload *w,
                      struct dc_errmsg *err) {
  static const char *const names[] = {"cpu_milli", "memory_mib", "gpu", "model"};
  struct csv c;
  size_t idx[4], cap = 0;
  int rc = csv_open(&c, path, err);
  if (rc) return rc;
  rc = csv_header(&c, names, 4, idx, 3, err);
  int got;
  while (rc == DC_OK && (got = csv_next(&c, err)) == 1) {
    double cpu, mem, gpu;
    if ((rc = num_field(&c, idx[0], "cpu_milli", 1, 4e9, &cpu, err)) ||
        (rc = num_field(&c, idx[1], "memory_mib", 0, 1e15, &mem, err)) ||
        (rc = num_field(&c, idx[2], "gpu", 0, DC_SCHED_GPUS_MAX, &gpu, err)))
      break;
    if ((rc = sim_grow((void **)&w->nodes, &cap, w->nnodes + 1, sizeof *w->nodes)))
      break;
    struct dc_sched_res n = {.cpu_millis = (uint32_t)cpu,
                             .memory_mb = (uint64_t)mem, .ngpu = (uint32_t)gpu,
                             .speed = 1, .price_cpu_hour = 1};
    for (uint32_t g = 0; g < n.ngpu; g++) n.gpu_free[g] = 1000;
    const char *model = idx[3] != SIZE_MAX && idx[3] < c.n ? c.fl[idx[3]] : "";
    if (n.ngpu && *model) {
      int id = model_id(w, model, true);
      if (id < 0) {
        dc_errmsg_set(err, "%s:%zu: more than %d GPU models", path, c.lineno,
                      SIM_MODELS_MAX);
        rc = DC_EPROTO;
        break;
      }
      n.model = 1u << id;
    }
    w->nodes[w->nnodes++] = n;
  }
  if (rc == DC_OK && got < 0) rc = DC_EPROTO;
  fclose(c.f);
  if (rc == DC_OK && w->nnodes == 0) {
    dc_errmsg_set(err, "%s: no nodes", path);
    rc = DC_EPROTO;
  }
  return rc;
}

/* GPU spec "V100M16|V100M32": the models allowed. A spec naming only models
 * the cluster lacks can run nowhere (bit 31, which no node has). */
static uint32_t spec_mask(struct sim_workload *w, char *spec) {
  if (!*spec) return 0;
  uint32_t m = 0;
  char *save = NULL;
  for (char *tok = strtok_r(spec, "|", &save); tok;
       tok = strtok_r(NULL, "|", &save)) {
    int id = model_id(w, tok, false);
    if (id >= 0) m |= 1u << id;
  }
  return m ? m : 1u << 31;
}

static int cmp_req(const void *a, const void *b) {
  const struct dc_sched_req *x = a, *y = b;
#define CMP(f) if (x->f != y->f) return x->f < y->f ? -1 : 1
  CMP(cpu_millis); CMP(memory_mb); CMP(num_gpu); CMP(gpu_milli); CMP(models);
#undef CMP
  return 0;
}

/* The task mix: distinct pod shapes and how often each occurs. */
static int build_types(struct sim_workload *w) {
  struct dc_sched_req *s = dc_malloc(w->njobs * sizeof *s);
  if (!s) return DC_ENOMEM;
  for (size_t i = 0; i < w->njobs; i++) {
    s[i] = w->jobs[i].req;
    s[i].type = -1;
  }
  qsort(s, w->njobs, sizeof *s, cmp_req);
  w->types = dc_calloc(w->njobs, sizeof *w->types);
  if (!w->types) {
    dc_free(s);
    return DC_ENOMEM;
  }
  for (size_t i = 0; i < w->njobs; i++) {
    if (w->ntypes && !cmp_req(&w->types[w->ntypes - 1].req, &s[i])) {
      w->types[w->ntypes - 1].p += 1;
      continue;
    }
    w->types[w->ntypes].req = s[i];
    w->types[w->ntypes].req.type = (int32_t)w->ntypes;
    w->types[w->ntypes++].p = 1;
  }
  dc_free(s);
  for (size_t t = 0; t < w->ntypes; t++) w->types[t].p /= (double)w->njobs;
  for (size_t i = 0; i < w->njobs; i++) {
    struct dc_sched_tasktype key = {.req = w->jobs[i].req};
    size_t lo = 0, hi = w->ntypes;
    while (lo < hi) {
      size_t mid = (lo + hi) / 2;
      int c = cmp_req(&w->types[mid].req, &key.req);
      if (c == 0) {
        lo = mid;
        break;
      }
      if (c < 0) lo = mid + 1;
      else hi = mid;
    }
    w->jobs[i].req.type = (int32_t)lo;
  }
  return DC_OK;
}

static int read_pods(const char *path, struct sim_workload *w,
                     struct dc_errmsg *err) {
  static const char *const names[] = {"cpu_milli", "memory_mib", "num_gpu",
                                      "gpu_milli", "gpu_spec", "creation_time"};
  struct csv c;
  size_t idx[6], cap = 0, mcap = 0;
  int rc = csv_open(&c, path, err);
  if (rc) return rc;
  rc = csv_header(&c, names, 6, idx, 4, err);
  int got;
  double *mem = NULL;
  while (rc == DC_OK && (got = csv_next(&c, err)) == 1) {
    double cpu, m, ng, gm, ct = 0;
    if ((rc = num_field(&c, idx[0], "cpu_milli", 0, 4e9, &cpu, err)) ||
        (rc = num_field(&c, idx[1], "memory_mib", 0, 1e15, &m, err)) ||
        (rc = num_field(&c, idx[2], "num_gpu", 0, DC_SCHED_GPUS_MAX, &ng, err)) ||
        (rc = num_field(&c, idx[3], "gpu_milli", 0, 1000, &gm, err)))
      break;
    if (idx[5] != SIZE_MAX && idx[5] < c.n) sim_num(c.fl[idx[5]], &ct);
    if (ng > 1 && gm != 1000 && gm != 0) {
      dc_errmsg_set(err, "%s:%zu: a pod with %g GPUs must take whole GPUs "
                    "(gpu_milli 1000), got %g", path, c.lineno, ng, gm);
      rc = DC_EPROTO;
      break;
    }
    if ((rc = sim_grow((void **)&w->jobs, &cap, w->njobs + 1, sizeof *w->jobs)) ||
        (rc = sim_grow((void **)&mem, &mcap, w->njobs + 1, sizeof *mem)))
      break;
    char spec[256] = "";
    if (idx[4] != SIZE_MAX && idx[4] < c.n)
      snprintf(spec, sizeof spec, "%s", c.fl[idx[4]]);
    struct sim_job *j = &w->jobs[w->njobs];
    *j = (struct sim_job){.submit_s = ct, .procs = 1, .seq = (uint32_t)w->njobs};
    j->req = (struct dc_sched_req){
        .cpu_millis = (uint32_t)cpu, .memory_mb = (uint64_t)m,
        .num_gpu = ng > 0 && gm > 0 ? (uint32_t)ng : 0,
        .gpu_milli = ng > 0 && gm > 0 ? (uint32_t)gm : 0,
        .models = ng > 0 && gm > 0 ? spec_mask(w, spec) : 0, .type = -1};
    mem[w->njobs++] = m;
  }
  if (rc == DC_OK && got < 0) rc = DC_EPROTO;
  fclose(c.f);
  if (rc == DC_OK && w->njobs == 0) {
    dc_errmsg_set(err, "%s: no pods", path);
    rc = DC_EPROTO;
  }
  if (rc == DC_OK) {
    w->distinct_mem = sim_distinct(mem, w->njobs, 50);
    rc = build_types(w);
  }
  dc_free(mem);
  return rc;
}

int sim_alibaba_read(const char *path, const char *nodes_path,
                     struct sim_workload *w, struct dc_errmsg *err) {
  memset(w, 0, sizeof *w);
  w->format = SIM_ALIBABA;
  char guess[4096];
  if (!nodes_path) {
    const char *p = strstr(path, "pod_list_");
    if (!p) {
      dc_errmsg_set(err, "%s: give --nodes (the node list CSV)", path);
      return DC_EINVAL;
    }
    snprintf(guess, sizeof guess, "%.*snode_list_gpu_node.csv",
             (int)(p - path), path);
    nodes_path = guess;
    snprintf(w->cluster_source, sizeof w->cluster_source, "gpu node list beside the pods");
  } else {
    snprintf(w->cluster_source, sizeof w->cluster_source, "--nodes");
  }
  /* Nodes first: the pods' GPU specs name the models the nodes have. */
  int rc = read_nodes(nodes_path, w, err);
  if (rc == DC_OK) rc = read_pods(path, w, err);
  if (rc) sim_workload_close(w);
  return rc;
}
