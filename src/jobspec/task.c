/* SPDX-License-Identifier: Apache-2.0
 * Parsing and validation of one task of a job spec: command, env, files,
 * outputs, resources and the scalar knobs. Cross-task rules (unique names,
 * dependencies) live in graph.c because they need every task first. */
#include <math.h>
#include <string.h>

#include "jobspec/jobspec_int.h"

static const char *const task_keys[] = {
    "name",    "command", "env",   "files", "outputs", "resources",
    "timeout_s", "retries", "count", "after", "network", NULL};
static const char *const file_keys[] = {"path", "content", "content_base64",
                                        "mode", NULL};
static const char *const res_keys[] = {"cpu", "memory_mb", "disk_mb", "gpu",
                                       NULL};

static const char *env_rule(const char *k) {
  size_t n = strlen(k);
  bool ok = n >= 1 && n <= DC_JOBSPEC_ENV_NAME_MAX && !(k[0] >= '0' && k[0] <= '9');
  for (size_t i = 0; ok && i < n; i++) {
    char ch = k[i];
    ok = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
         (ch >= '0' && ch <= '9') || ch == '_';
  }
  if (!ok) return "variable names must match [A-Za-z_][A-Za-z0-9_]* (at most 128)";
  /* The provider sets DC_TASK_INDEX, DC_TASK_NAME, DC_JOB_ID; a user value
   * must never shadow them, now or for names we add later. */
  if (strncmp(k, "DC_", 3) == 0) return "names starting with DC_ are reserved";
  return NULL;
}

/* Copies a JSON array of strings, already validated, into a dc_malloc'd
 * vector. Empty arrays give NULL. */
static int copy_strv(struct js_ctx *c, json_t *arr, char ***out, size_t *n) {
  size_t cnt = json_array_size(arr);
  if (cnt == 0) return DC_OK;
  char **v = dc_calloc(cnt, sizeof *v);
  if (!v) return jobspec_oom(c);
  for (size_t i = 0; i < cnt; i++) {
    v[i] = dc_strdup(json_string_value(json_array_get(arr, i)));
    if (!v[i]) {
      jobspec_free_strv(v, i);
      return jobspec_oom(c);
    }
  }
  *out = v;
  *n = cnt;
  return DC_OK;
}

static int parse_command(struct js_ctx *c, json_t *task,
                         struct dc_jobspec_task *t) {
  json_t *a = json_object_get(task, "command");
  size_t old = jobspec_path_key(c, "command");
  int rc = DC_OK;
  if (!a) {
    rc = jobspec_fail(c, "required");
  } else if (!json_is_array(a) || json_array_size(a) < 1 ||
             json_array_size(a) > DC_JOBSPEC_ARGV_MAX) {
    rc = jobspec_fail(c, "must be a non-empty array of at most %d strings",
                      DC_JOBSPEC_ARGV_MAX);
  } else {
    size_t i;
    json_t *v;
    json_array_foreach(a, i, v) {
      size_t o2 = jobspec_path_idx(c, i);
      if (!json_is_string(v) || json_string_length(v) > DC_JOBSPEC_ARG_MAX)
        rc = jobspec_fail(c, "must be a string of at most %d bytes",
                          DC_JOBSPEC_ARG_MAX);
      else if (i == 0 && json_string_length(v) == 0)
        rc = jobspec_fail(c, "program name must not be empty");
      jobspec_path_pop(c, o2);
      if (rc) break;
    }
    if (!rc) rc = copy_strv(c, a, &t->argv, &t->argc);
  }
  jobspec_path_pop(c, old);
  return rc;
}

/* 0: unrelated, 1: same path, 2: one is a directory of the other. */
static int path_conflict(const char *a, const char *b) {
  size_t la = strlen(a), lb = strlen(b);
  if (la == lb) return strcmp(a, b) == 0;
  if (la > lb) {
    const char *tmp = a;
    a = b;
    b = tmp;
    size_t l = la;
    la = lb;
    lb = l;
  }
  return strncmp(a, b, la) == 0 && b[la] == '/' ? 2 : 0;
}

/* Fails at "<path>[k]..." when entry k clashes with an earlier one. `paths`
 * is read through get(i) so files and outputs share it. */
static int check_conflicts(struct js_ctx *c, size_t n,
                           const char *(*get)(const void *, size_t),
                           const void *arr, const char *what, bool field) {
  for (size_t k = 1; k < n; k++)
    for (size_t j = 0; j < k; j++) {
      int how = path_conflict(get(arr, j), get(arr, k));
      if (!how) continue;
      size_t old = jobspec_path_idx(c, k);
      if (field) jobspec_path_key(c, "path");
      int rc = jobspec_fail(c, how == 1 ? "duplicate of %s[%zu]"
                                        : "conflicts with %s[%zu] (a path "
                                          "cannot be both a file and a "
                                          "directory)",
                            what, j);
      jobspec_path_pop(c, old);
      return rc;
    }
  return DC_OK;
}

static const char *file_path_at(const void *arr, size_t i) {
  return ((const struct dc_jobspec_file *)arr)[i].path;
}

static const char *str_at(const void *arr, size_t i) {
  return ((char *const *)arr)[i];
}

static int parse_file(struct js_ctx *c, json_t *v, struct dc_jobspec_file *f) {
  if (!json_is_object(v)) return jobspec_fail(c, "must be an object");
  int rc = jobspec_check_keys(c, v, file_keys);
  if (rc) return rc;
  json_t *p = json_object_get(v, "path");
  size_t old = jobspec_path_key(c, "path");
  rc = p ? jobspec_check_relpath(c, p) : jobspec_fail(c, "required");
  jobspec_path_pop(c, old);
  if (rc) return rc;
  json_t *txt = json_object_get(v, "content");
  json_t *b64 = json_object_get(v, "content_base64");
  if (!txt == !b64)
    return jobspec_fail(c, "needs exactly one of content and content_base64");
  int64_t mode = DC_JOBSPEC_DEFAULT_MODE;
  json_t *m = json_object_get(v, "mode");
  if (m && (!json_is_integer(m) || json_integer_value(m) < 0 ||
            json_integer_value(m) > 0777)) {
    old = jobspec_path_key(c, "mode");
    rc = jobspec_fail(c, "must be an integer between 0 and 511 (octal 0777)");
    jobspec_path_pop(c, old);
    return rc;
  }
  if (m) mode = json_integer_value(m);
  old = jobspec_path_key(c, txt ? "content" : "content_base64");
  json_t *cv = txt ? txt : b64;
  if (!json_is_string(cv)) {
    rc = jobspec_fail(c, "must be a string");
  } else if (txt) {
    /* jansson has already checked UTF-8 and refused embedded NULs. */
    f->len = json_string_length(cv);
    if (f->len) {
      f->content = dc_malloc(f->len);
      if (!f->content) rc = jobspec_oom(c);
      else memcpy(f->content, json_string_value(cv), f->len);
    }
  } else {
    rc = jobspec_b64_decode(json_string_value(cv), json_string_length(cv),
                            &f->content, &f->len);
    if (rc == DC_EINVAL)
      rc = jobspec_fail(c, "must be valid base64 (RFC 4648, padded, no "
                           "whitespace)");
    else if (rc == DC_ENOMEM)
      rc = jobspec_oom(c);
  }
  jobspec_path_pop(c, old);
  if (rc) return rc;
  f->mode = (uint32_t)mode;
  f->path = dc_strdup(json_string_value(p));
  return f->path ? DC_OK : jobspec_oom(c);
}

static int parse_files(struct js_ctx *c, json_t *task,
                       struct dc_jobspec_task *t) {
  json_t *a = json_object_get(task, "files");
  if (!a) return DC_OK;
  size_t old = jobspec_path_key(c, "files");
  int rc = DC_OK;
  if (!json_is_array(a) || json_array_size(a) > DC_JOBSPEC_FILES_MAX) {
    rc = jobspec_fail(c, "must be an array of at most %d file objects",
                      DC_JOBSPEC_FILES_MAX);
    goto out;
  }
  size_t n = json_array_size(a), total = 0;
  if (n == 0) goto out;
  t->files = dc_calloc(n, sizeof *t->files);
  if (!t->files) {
    rc = jobspec_oom(c);
    goto out;
  }
  for (size_t i = 0; i < n && !rc; i++) {
    size_t o2 = jobspec_path_idx(c, i);
    rc = parse_file(c, json_array_get(a, i), &t->files[i]);
    t->nfiles = i + 1; /* so free() sees what was filled, even on error */
    total += t->files[i].len;
    if (!rc && total > DC_JOBSPEC_FILE_BYTES_MAX)
      rc = jobspec_fail(c, "file contents of this task exceed %u bytes in "
                           "total",
                        DC_JOBSPEC_FILE_BYTES_MAX);
    jobspec_path_pop(c, o2);
  }
  if (!rc) rc = check_conflicts(c, n, file_path_at, t->files, "files", true);
out:
  jobspec_path_pop(c, old);
  return rc;
}

static int parse_outputs(struct js_ctx *c, json_t *task,
                         struct dc_jobspec_task *t) {
  json_t *a = json_object_get(task, "outputs");
  if (!a) return DC_OK;
  size_t old = jobspec_path_key(c, "outputs");
  int rc = DC_OK;
  if (!json_is_array(a) || json_array_size(a) > DC_JOBSPEC_OUTPUTS_MAX) {
    rc = jobspec_fail(c, "must be an array of at most %d paths",
                      DC_JOBSPEC_OUTPUTS_MAX);
    goto out;
  }
  size_t i;
  json_t *v;
  json_array_foreach(a, i, v) {
    size_t o2 = jobspec_path_idx(c, i);
    rc = jobspec_check_relpath(c, v);
    jobspec_path_pop(c, o2);
    if (rc) goto out;
  }
  rc = copy_strv(c, a, &t->outputs, &t->noutputs);
  if (!rc)
    rc = check_conflicts(c, t->noutputs, str_at, t->outputs, "outputs", false);
out:
  jobspec_path_pop(c, old);
  return rc;
}

static int parse_resources(struct js_ctx *c, json_t *task,
                           struct dc_jobspec_task *t) {
  json_t *r = json_object_get(task, "resources");
  if (!r) return DC_OK;
  size_t old = jobspec_path_key(c, "resources");
  int rc = DC_OK;
  if (!json_is_object(r)) {
    rc = jobspec_fail(c, "must be an object");
    goto out;
  }
  rc = jobspec_check_keys(c, r, res_keys);
  if (rc) goto out;
  static const char cpu_msg[] =
      "must be a number greater than 0 and at most 256";
  double cpu = 0;
  bool has_cpu = false;
  rc = jobspec_get_number(c, r, "cpu", 0, 256, cpu_msg, &cpu, &has_cpu);
  if (rc) goto out;
  if (has_cpu) {
    if (!(cpu > 0)) {
      jobspec_path_key(c, "cpu");
      rc = jobspec_fail(c, "%s", cpu_msg);
      goto out;
    }
    /* Round up to whole millicores, but forgive the last bits of binary
     * error: 0.7 is 0.69999999999999996 as a double and must mean 700, not
     * 701. The slack (1e-6 millicore) is far above double error at this
     * magnitude (< 1e-10) and far below anything a user means. */
    double m = ceil(cpu * JOBSPEC_CPU_SCALE - 1e-6);
    t->cpu_millis = m < 1 ? 1 : (uint32_t)m;
  }
  int64_t v = (int64_t)t->memory_mb;
  if ((rc = jobspec_get_int(c, r, "memory_mb", 1, 1048576, &v))) goto out;
  t->memory_mb = (uint64_t)v;
  v = (int64_t)t->disk_mb;
  if ((rc = jobspec_get_int(c, r, "disk_mb", 0, 10485760, &v))) goto out;
  t->disk_mb = (uint64_t)v;
  v = t->gpu;
  if ((rc = jobspec_get_int(c, r, "gpu", 0, 64, &v))) goto out;
  t->gpu = (uint32_t)v;
out:
  jobspec_path_pop(c, old);
  return rc;
}

/* Only the shape of "after" is checked here; graph.c resolves the names. */
static int parse_after(struct js_ctx *c, json_t *task,
                       struct dc_jobspec_task *t) {
  json_t *a = json_object_get(task, "after");
  if (!a) return DC_OK;
  size_t old = jobspec_path_key(c, "after");
  int rc = DC_OK;
  /* A task can depend on at most every other task, once each. */
  if (!json_is_array(a) || json_array_size(a) >= DC_JOBSPEC_TASKS_MAX) {
    rc = jobspec_fail(c, "must be an array of at most %d task names",
                      DC_JOBSPEC_TASKS_MAX - 1);
    goto out;
  }
  size_t i;
  json_t *v;
  json_array_foreach(a, i, v) {
    if (json_is_string(v)) continue;
    jobspec_path_idx(c, i);
    rc = jobspec_fail(c, "must be a task name (string)");
    goto out;
  }
  rc = copy_strv(c, a, &t->after, &t->nafter);
out:
  jobspec_path_pop(c, old);
  return rc;
}

int jobspec_parse_task(struct js_ctx *c, json_t *v, struct dc_jobspec_task *t) {
  t->cpu_millis = DC_JOBSPEC_DEFAULT_CPU_MILLIS;
  t->memory_mb = DC_JOBSPEC_DEFAULT_MEMORY_MB;
  t->disk_mb = DC_JOBSPEC_DEFAULT_DISK_MB;
  t->timeout_s = DC_JOBSPEC_DEFAULT_TIMEOUT_S;
  t->count = 1;
  if (!json_is_object(v)) return jobspec_fail(c, "must be an object");
  int rc = jobspec_check_keys(c, v, task_keys);
  if (rc) return rc;

  json_t *name = json_object_get(v, "name");
  size_t old = jobspec_path_key(c, "name");
  if (!name)
    rc = jobspec_fail(c, "required");
  else if (!json_is_string(name) ||
           !jobspec_is_slug(json_string_value(name), DC_JOBSPEC_TASK_NAME_MAX))
    rc = jobspec_fail(c, "must be a string matching [a-z0-9_-]{1,64}");
  else if (!(t->name = dc_strdup(json_string_value(name))))
    rc = jobspec_oom(c);
  jobspec_path_pop(c, old);
  if (rc) return rc;

  if ((rc = parse_command(c, v, t))) return rc;
  if ((rc = jobspec_get_map(c, v, "env", DC_JOBSPEC_ENV_MAX, env_rule,
                            DC_JOBSPEC_ENV_VALUE_MAX, &t->env, &t->nenv)))
    return rc;
  if ((rc = parse_files(c, v, t))) return rc;
  if ((rc = parse_outputs(c, v, t))) return rc;
  if ((rc = parse_resources(c, v, t))) return rc;
  int64_t x = t->timeout_s;
  if ((rc = jobspec_get_int(c, v, "timeout_s", 1, 604800, &x))) return rc;
  t->timeout_s = (uint32_t)x;
  x = t->retries;
  if ((rc = jobspec_get_int(c, v, "retries", 0, 100, &x))) return rc;
  t->retries = (uint32_t)x;
  x = t->count;
  if ((rc = jobspec_get_int(c, v, "count", 1, DC_JOBSPEC_INSTANCES_MAX, &x)))
    return rc;
  t->count = (uint32_t)x;
  if ((rc = parse_after(c, v, t))) return rc;
  return jobspec_get_bool(c, v, "network", &t->network);
}

void jobspec_free_task(struct dc_jobspec_task *t) {
  dc_free(t->name);
  jobspec_free_strv(t->argv, t->argc);
  jobspec_free_map(t->env, t->nenv);
  for (size_t i = 0; t->files && i < t->nfiles; i++) {
    dc_free(t->files[i].path);
    dc_free(t->files[i].content);
  }
  dc_free(t->files);
  jobspec_free_strv(t->outputs, t->noutputs);
  jobspec_free_strv(t->after, t->nafter);
}
