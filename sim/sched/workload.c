/* SPDX-License-Identifier: Apache-2.0
 * What both trace formats share: releasing a workload, counting distinct
 * values (a column with fewer than 50 is not measurable), node speeds. */
#include <stdlib.h>
#include <string.h>

#include "sim/sched/sim_int.h"

void sim_workload_close(struct sim_workload *w) {
  dc_free(w->jobs);
  dc_free(w->nodes);
  dc_free(w->types);
  memset(w, 0, sizeof *w);
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

size_t sim_distinct(const double *v, size_t n, size_t cap) {
  if (!n) return 0;
  double *c = dc_malloc(n * sizeof *c);
  if (!c) return 0;
  memcpy(c, v, n * sizeof *c);
  qsort(c, n, sizeof *c, cmp_double);
  size_t d = 1;
  for (size_t i = 1; i < n && d < cap; i++)
    if (c[i] != c[i - 1]) d++;
  dc_free(c);
  return d;
}

double sim_percentile(double *v, size_t n, double p) {
  if (!n) return 0;
  qsort(v, n, sizeof *v, cmp_double);
  double r = p / 100.0 * (double)(n - 1);
  size_t lo = (size_t)r;
  if (lo + 1 >= n) return v[n - 1];
  return v[lo] + (r - (double)lo) * (v[lo + 1] - v[lo]);
}

uint64_t sim_rand(uint64_t *s) {
  uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

double sim_rand01(uint64_t *s) {
  return (double)(sim_rand(s) >> 11) * (1.0 / 9007199254740992.0);
}

/* Splits line into whitespace- or sep-separated fields in place. */
size_t sim_split(char *line, char sep, char **f, size_t max) {
  size_t n = 0;
  char *p = line;
  if (sep == ' ') {
    while (*p && n < max) {
      while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n') p++;
      if (!*p) break;
      f[n++] = p;
      while (*p && *p != ' ' && *p != '\t' && *p != '\r' && *p != '\n') p++;
      if (*p) *p++ = 0;
    }
    return n;
  }
  size_t l = strlen(p);
  while (l && (p[l - 1] == '\n' || p[l - 1] == '\r')) p[--l] = 0;
  f[n++] = p;
  for (; *p && n < max; p++)
    if (*p == sep) {
      *p = 0;
      f[n++] = p + 1;
    }
  return n;
}

bool sim_num(const char *s, double *out) {
  char *end;
  if (!*s) return false;
  double v = strtod(s, &end);
  if (*end || v != v) return false;
  *out = v;
  return true;
}

int sim_grow(void **arr, size_t *cap, size_t need, size_t elem) {
  if (need <= *cap) return DC_OK;
  size_t nc = *cap ? *cap : 256;
  while (nc < need) nc *= 2;
  void *na = dc_realloc(*arr, nc * elem);
  if (!na) return DC_ENOMEM;
  *arr = na;
  *cap = nc;
  return DC_OK;
}
