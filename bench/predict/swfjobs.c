/* SPDX-License-Identifier: Apache-2.0
 * A minimal SWF reader for the prediction benchmarks (the simulator has
 * the full one). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "bench/predict/swfjobs.h"

/* Fields 2-4, 8-10, 12-15 of SWF (1-based); -1 is unknown. */
static int parse_line(char *line, struct job *j) {
  double v[18];
  int n = 0;
  char *s = line, *end;
  while (n < 18) {
    errno = 0;
    v[n] = strtod(s, &end);
    if (end == s || errno) break;
    s = end;
    n++;
  }
  if (n < 15 || v[3] < 0 || v[1] < 0) return -1;
  memset(j, 0, sizeof(*j));
  j->f.submit_s = v[1];
  j->run_s = v[3];
  j->end_s = v[1] + DC_MAX(v[2], 0) + v[3];
  j->f.req_cpus = v[7] > 0 ? (uint32_t)v[7] : v[4] > 0 ? (uint32_t)v[4] : 0;
  j->f.req_time_s = v[8] > 0 ? v[8] : -1;
  j->f.req_mem_mb = v[9] > 0 ? v[9] / 1024.0 : -1;
  j->f.user = v[11] >= 0 ? (uint32_t)v[11] + 1 : 0; /* 0 is "unknown" */
  j->f.group = v[12] >= 0 ? (uint32_t)v[12] + 1 : 0;
  j->f.app = v[13] >= 0 ? (uint32_t)v[13] + 1 : 0;
  j->f.queue = v[14] >= 0 ? (uint32_t)v[14] + 1 : 0;
  return 0;
}

int read_swf(const char *path, struct job **out, size_t *n) {
  FILE *f = fopen(path, "r");
  if (!f) return DC_EIO;
  size_t cap = 0, len = 0;
  struct job *v = NULL;
  char *line = NULL;
  size_t lcap = 0;
  while (getline(&line, &lcap, f) > 0) {
    if (line[0] == ';') continue;
    if (len == cap) {
      cap = cap ? cap * 2 : 1024;
      struct job *nv = dc_realloc(v, cap * sizeof(*v));
      if (!nv) break;
      v = nv;
    }
    if (!parse_line(line, &v[len])) len++;
  }
  free(line);
  fclose(f);
  *out = v;
  *n = len;
  return len ? 0 : DC_EINVAL;
}

