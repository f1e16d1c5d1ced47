/* SPDX-License-Identifier: Apache-2.0
 * Grid Workloads Archive VM traces (GWA-T-12 Bitbrains layout): one CSV per
 * VM, fields separated by ';' and white space, a header line, then
 *   timestamp; CPU cores; CPU provisioned [MHz]; CPU usage [MHz];
 *   CPU usage [%]; memory provisioned [KB]; memory usage [KB]; ...
 * The archive labels the timestamp [ms] but the values are seconds; values
 * above 1e11 are taken as milliseconds, so either reads right. */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "sim/recommend/simrecommend.h"

#define GWA_MAX_VMS 100000
#define GWA_MAX_ROWS (1u << 24)
#define GWA_FIELDS 7
#define GWA_MAX_TIME 1e14 /* ms in the year 5138: anything above is garbage */

static int parse_row(const char *line, double v[GWA_FIELDS]) {
  const char *s = line;
  for (int i = 0; i < GWA_FIELDS; i++) {
    while (*s == ' ' || *s == '\t' || (i && *s == ';')) s++;
    char *end;
    errno = 0;
    v[i] = strtod(s, &end);
    if (end == s || errno || !isfinite(v[i])) return -1;
    s = end;
    while (*s == ' ' || *s == '\t') s++;
    if (*s != ';' && *s != '\0' && *s != '\n' && *s != '\r') return -1;
  }
  return 0;
}

static void vm_free(struct gwa_vm *vm) {
  dc_free(vm->name);
  dc_free(vm->t_s);
  dc_free(vm->cpu_prov_mhz);
  dc_free(vm->cpu_used_mhz);
  dc_free(vm->mem_prov_mb);
  dc_free(vm->mem_used_mb);
  memset(vm, 0, sizeof(*vm));
}

static int vm_grow(struct gwa_vm *vm, size_t cap) {
  double **cols[] = {&vm->t_s, &vm->cpu_prov_mhz, &vm->cpu_used_mhz,
                     &vm->mem_prov_mb, &vm->mem_used_mb};
  for (size_t i = 0; i < DC_ARRAY_LEN(cols); i++) {
    double *p = dc_realloc(*cols[i], cap * sizeof(double));
    if (!p) return DC_ENOMEM;
    *cols[i] = p;
  }
  return 0;
}

static int read_vm(const char *path, const char *name, struct gwa_vm *vm,
                   char *err, size_t errsz) {
  FILE *f = fopen(path, "r");
  if (!f) {
    snprintf(err, errsz, "%s: %s", path, strerror(errno));
    return DC_EIO;
  }
  memset(vm, 0, sizeof(*vm));
  int rc = (vm->name = dc_strdup(name)) ? 0 : DC_ENOMEM;
  char *line = NULL;
  size_t lcap = 0, cap = 0, lineno = 0;
  while (!rc && getline(&line, &lcap, f) > 0) {
    lineno++;
    if (strspn(line, " \t\r\n") == strlen(line)) continue; /* blank */
    double v[GWA_FIELDS];
    if (parse_row(line, v)) {
      if (lineno == 1) continue; /* the header */
      snprintf(err, errsz, "%s:%zu: expected %d numeric fields", path, lineno,
               GWA_FIELDS);
      rc = DC_EPROTO;
      break;
    }
    if (v[0] < 0 || v[0] > GWA_MAX_TIME) {
      snprintf(err, errsz, "%s:%zu: timestamp out of range", path, lineno);
      rc = DC_EPROTO;
      break;
    }
    if (v[2] < 0 || v[3] < 0 || v[5] < 0 || v[6] < 0) {
      snprintf(err, errsz, "%s:%zu: negative capacity or usage", path, lineno);
      rc = DC_EPROTO;
      break;
    }
    if (vm->n == cap) {
      if (cap >= GWA_MAX_ROWS) {
        snprintf(err, errsz, "%s: more than %u rows", path, GWA_MAX_ROWS);
        rc = DC_ETOOBIG;
        break;
      }
      cap = cap ? cap * 2 : 1024;
      rc = vm_grow(vm, cap);
      if (rc) break;
    }
    size_t i = vm->n++;
    if (!i) vm->mhz_per_core = v[1] > 0 ? v[2] / v[1] : v[2];
    vm->t_s[i] = v[0] > 1e11 ? v[0] / 1000 : v[0];
    vm->cpu_prov_mhz[i] = v[2];
    vm->cpu_used_mhz[i] = v[3];
    vm->mem_prov_mb[i] = v[5] / 1024;
    vm->mem_used_mb[i] = v[6] / 1024;
    if (i && vm->t_s[i] < vm->t_s[i - 1]) {
      snprintf(err, errsz, "%s:%zu: time goes backwards", path, lineno);
      rc = DC_EPROTO;
    }
  }
  free(line);
  fclose(f);
  if (!rc && !vm->n) {
    snprintf(err, errsz, "%s: no samples", path);
    rc = DC_EPROTO;
  }
  if (rc) vm_free(vm);
  return rc;
}

static int cmp_name(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool is_csv(const char *n) {
  size_t l = strlen(n);
  return l > 4 && !strcmp(n + l - 4, ".csv") && n[0] != '.';
}

int gwa_read_dir(const char *dir, struct gwa_trace *out, char *err, size_t errsz) {
  DIR *d = opendir(dir);
  if (!d) {
    snprintf(err, errsz, "%s: %s", dir, strerror(errno));
    return DC_EIO;
  }
  char **names = NULL;
  size_t n = 0, cap = 0;
  int rc = 0;
  struct dirent *e;
  while (!rc && (e = readdir(d))) {
    if (!is_csv(e->d_name)) continue;
    if (n == cap) {
      cap = cap ? cap * 2 : 64;
      char **nn = cap <= GWA_MAX_VMS ? dc_realloc(names, cap * sizeof(*nn)) : NULL;
      if (!nn) {
        rc = cap > GWA_MAX_VMS ? DC_ETOOBIG : DC_ENOMEM;
        break;
      }
      names = nn;
    }
    if (!(names[n] = dc_strdup(e->d_name))) rc = DC_ENOMEM;
    else n++;
  }
  closedir(d);
  if (!rc && !n) {
    snprintf(err, errsz, "%s: no .csv files", dir);
    rc = DC_EINVAL;
  }
  struct gwa_trace t = {0};
  if (!rc) {
    qsort(names, n, sizeof(*names), cmp_name);
    t.vms = dc_calloc(n, sizeof(*t.vms));
    if (!t.vms) rc = DC_ENOMEM;
  }
  for (size_t i = 0; !rc && i < n; i++) {
    char path[4096];
    if (dc_path_join(path, sizeof(path), dir, names[i])) rc = DC_ETOOBIG;
    else if (!(rc = read_vm(path, names[i], &t.vms[i], err, errsz))) t.nvms++;
  }
  for (size_t i = 0; i < n; i++) dc_free(names[i]);
  dc_free(names);
  if (rc) {
    gwa_free(&t);
    return rc;
  }
  *out = t;
  return 0;
}

void gwa_free(struct gwa_trace *t) {
  for (size_t i = 0; i < t->nvms; i++) vm_free(&t->vms[i]);
  DC_FREE(t->vms);
  t->nvms = 0;
}
