/* SPDX-License-Identifier: Apache-2.0
 * Standard Workload Format reader (Feitelson's Parallel Workloads Archive):
 * 18 whitespace-separated fields per job, -1 for unknown, header lines
 * starting with ';' (MaxNodes, MaxProcs). Extra trailing fields, as in the
 * MetaCentrum log, are allowed. The cluster comes from --nodes, from a
 * .machines file beside the log, or from the header. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sim/sched/sim_int.h"

#define SWF_FIELDS 18
#define SWF_LINE_MAX (1u << 20)

static const char *const swf_field_names[SWF_FIELDS] = {
    "job number", "submit time", "wait time", "run time",
    "allocated processors", "average cpu time", "used memory",
    "requested processors", "requested time", "requested memory", "status",
    "user id", "group id", "executable number", "queue number",
    "partition number", "preceding job", "think time"};

struct machine {
  uint32_t nodes, cores;
  double speed, mem_kb;
};

/* ".machines": one cluster per line, "id name nodes cores speed memory_kb". */
static int read_machines(const char *path, struct sim_workload *w,
                         struct dc_errmsg *err) {
  FILE *f = fopen(path, "r");
  if (!f) {
    dc_errmsg_set(err, "%s: cannot open", path);
    return DC_EIO;
  }
  char line[1024];
  size_t lineno = 0, cap = 0;
  int rc = DC_OK;
  while (fgets(line, sizeof line, f)) {
    lineno++;
    char *fl[8];
    size_t n = sim_split(line, ' ', fl, 8);
    if (n == 0 || fl[0][0] == '#' || fl[0][0] == ';') continue;
    double v[4];
    if (n < 6 || !sim_num(fl[2], &v[0]) || !sim_num(fl[3], &v[1]) ||
        !sim_num(fl[4], &v[2]) || !sim_num(fl[5], &v[3]) || v[0] < 1 ||
        v[1] < 1 || v[0] > 1e6 || v[1] > 4e6 || v[2] <= 0 || v[3] < 0) {
      dc_errmsg_set(err,
                    "%s:%zu: expected \"id name nodes cores speed memory_kb\" "
                    "with nodes, cores >= 1 and speed > 0",
                    path, lineno);
      rc = DC_EPROTO;
      break;
    }
    struct machine m = {(uint32_t)v[0], (uint32_t)v[1], v[2], v[3]};
    if ((rc = sim_grow((void **)&w->nodes, &cap, w->nnodes + m.nodes,
                       sizeof *w->nodes)))
      break;
    for (uint32_t i = 0; i < m.nodes; i++)
      w->nodes[w->nnodes++] = (struct dc_sched_res){
          .cpu_millis = m.cores * 1000, .memory_mb = (uint64_t)(m.mem_kb / 1024),
          .speed = m.speed, .price_cpu_hour = m.speed};
  }
  fclose(f);
  if (rc == DC_OK && w->nnodes == 0) {
    dc_errmsg_set(err, "%s: no machines listed", path);
    rc = DC_EPROTO;
  }
  return rc;
}

/* "; MaxNodes: 128" style header values. */
static void header_value(const char *line, const char *key, double *out) {
  const char *p = line + 1;
  while (isspace((unsigned char)*p)) p++;
  size_t kl = strlen(key);
  if (strncasecmp(p, key, kl) != 0) return;
  p += kl;
  while (isspace((unsigned char)*p)) p++;
  if (*p != ':') return;
  double v = strtod(p + 1, NULL);
  if (v > 0) *out = v;
}

static uint32_t intern(double v) { return v < 0 ? 0 : (uint32_t)v + 1; }

static int cmp_submit(const void *a, const void *b) {
  const struct sim_job *x = a, *y = b;
  if (x->submit_s != y->submit_s) return x->submit_s < y->submit_s ? -1 : 1;
  return (x->seq > y->seq) - (x->seq < y->seq);
}

static int header_cluster(struct sim_workload *w, double max_nodes,
                          double max_procs, uint32_t widest,
                          struct dc_errmsg *err) {
  uint32_t nodes, cores;
  if (max_nodes > 0 && max_procs >= max_nodes) {
    nodes = (uint32_t)max_nodes;
    cores = (uint32_t)(max_procs / max_nodes);
    snprintf(w->cluster_source, sizeof w->cluster_source, "header MaxNodes/MaxProcs");
  } else if (max_procs > 0 || max_nodes > 0) {
    nodes = (uint32_t)(max_procs > 0 ? max_procs : max_nodes);
    cores = 1;
    snprintf(w->cluster_source, sizeof w->cluster_source, "header Max%s",
             max_procs > 0 ? "Procs" : "Nodes");
  } else {
    /* No size anywhere: the smallest machine that ran every job, one
     * processor per node (said in the output, so nobody mistakes it). */
    nodes = widest;
    cores = 1;
    snprintf(w->cluster_source, sizeof w->cluster_source,
             "inferred from the widest job");
  }
  if (nodes == 0 || nodes > 10000000) {
    dc_errmsg_set(err, "cluster size unknown: give --nodes");
    return DC_EPROTO;
  }
  w->nodes = dc_calloc(nodes, sizeof *w->nodes);
  if (!w->nodes) return DC_ENOMEM;
  for (uint32_t i = 0; i < nodes; i++)
    w->nodes[i] = (struct dc_sched_res){.cpu_millis = cores * 1000,
                                        .speed = 1, .price_cpu_hour = 1};
  w->nnodes = nodes;
  return DC_OK;
}

static int parse_line(char *line, size_t lineno, const char *path,
                      struct sim_job *j, bool *skip, struct dc_errmsg *err) {
  char *f[SWF_FIELDS + 1];
  size_t n = sim_split(line, ' ', f, SWF_FIELDS);
  double v[SWF_FIELDS];
  if (n < SWF_FIELDS) {
    dc_errmsg_set(err, "%s:%zu: %zu fields, a Standard Workload Format job has %d",
                  path, lineno, n, SWF_FIELDS);
    return DC_EPROTO;
  }
  for (size_t i = 0; i < SWF_FIELDS; i++)
    if (!sim_num(f[i], &v[i])) {
      dc_errmsg_set(err, "%s:%zu: field %zu (%s) is not a number: \"%.40s\"",
                    path, lineno, i + 1, swf_field_names[i], f[i]);
      return DC_EPROTO;
    }
  double procs = v[7] > 0 ? v[7] : v[4];
  *skip = v[3] <= 0 || procs <= 0 || v[1] < 0;
  if (*skip) return DC_OK;
  if (procs > 1e7) {
    dc_errmsg_set(err, "%s:%zu: field 8 (requested processors) is absurd: %.0f",
                  path, lineno, procs);
    return DC_EPROTO;
  }
  *j = (struct sim_job){.submit_s = v[1], .run_s = v[3],
                        .est_s = v[8] > 0 ? v[8] : 0,
                        .trace_wait_s = v[2] > 0 ? v[2] : 0,
                        .procs = (uint32_t)procs, .user = intern(v[11]),
                        .group = intern(v[12]), .app = intern(v[13]),
                        .queue = intern(v[14])};
  j->req.cpu_millis = 1000;
  j->req.type = -1;
  j->req.user = j->user;
  return DC_OK;
}

static bool file_exists(const char *p) {
  FILE *f = fopen(p, "r");
  if (f) fclose(f);
  return f != NULL;
}

int sim_swf_read(const char *path, const char *nodes_path,
                 struct sim_workload *w, struct dc_errmsg *err) {
  memset(w, 0, sizeof *w);
  w->format = SIM_SWF;
  FILE *f = fopen(path, "r");
  if (!f) {
    dc_errmsg_set(err, "%s: cannot open", path);
    return DC_EIO;
  }
  char *line = dc_malloc(SWF_LINE_MAX);
  size_t cap = 0, lineno = 0;
  double max_nodes = 0, max_procs = 0, *run = NULL, *est = NULL;
  uint32_t widest = 0;
  int rc = line ? DC_OK : DC_ENOMEM;
  while (rc == DC_OK && fgets(line, SWF_LINE_MAX, f)) {
    lineno++;
    if (!strchr(line, '\n') && !feof(f)) {
      dc_errmsg_set(err, "%s:%zu: line longer than %u bytes", path, lineno,
                    SWF_LINE_MAX);
      rc = DC_EPROTO;
      break;
    }
    const char *p = line;
    while (isspace((unsigned char)*p)) p++;
    if (!*p) continue;
    if (*p == ';') {
      header_value(p, "MaxNodes", &max_nodes);
      header_value(p, "MaxProcs", &max_procs);
      continue;
    }
    if ((rc = sim_grow((void **)&w->jobs, &cap, w->njobs + 1, sizeof *w->jobs)))
      break;
    bool skip;
    rc = parse_line(line, lineno, path, &w->jobs[w->njobs], &skip, err);
    if (rc == DC_OK && skip) w->skipped++;
    if (rc == DC_OK && !skip) {
      w->jobs[w->njobs].seq = (uint32_t)w->njobs;
      widest = DC_MAX(widest, w->jobs[w->njobs].procs);
      w->njobs++;
    }
  }
  fclose(f);
  dc_free(line);
  if (rc == DC_OK && w->njobs == 0) {
    dc_errmsg_set(err, "%s: no jobs with a run time and a width", path);
    rc = DC_EPROTO;
  }
  if (rc == DC_OK) {
    char mpath[4096];
    snprintf(mpath, sizeof mpath, "%s.machines", path);
    if (nodes_path) {
      rc = read_machines(nodes_path, w, err);
      snprintf(w->cluster_source, sizeof w->cluster_source, "--nodes");
    } else if (file_exists(mpath)) {
      rc = read_machines(mpath, w, err);
      snprintf(w->cluster_source, sizeof w->cluster_source, ".machines file");
    } else {
      rc = header_cluster(w, max_nodes, max_procs, widest, err);
    }
  }
  if (rc == DC_OK) {
    qsort(w->jobs, w->njobs, sizeof *w->jobs, cmp_submit);
    run = dc_malloc(w->njobs * sizeof *run);
    est = dc_malloc(w->njobs * sizeof *est);
    if (!run || !est) rc = DC_ENOMEM;
  }
  if (rc == DC_OK) {
    size_t ne = 0;
    for (size_t i = 0; i < w->njobs; i++) {
      run[i] = w->jobs[i].run_s;
      if (w->jobs[i].est_s > 0) est[ne++] = w->jobs[i].est_s;
    }
    w->distinct_run = sim_distinct(run, w->njobs, 50);
    w->distinct_est = sim_distinct(est, ne, 50);
  }
  dc_free(run);
  dc_free(est);
  if (rc) sim_workload_close(w);
  return rc;
}
