/* SPDX-License-Identifier: Apache-2.0
 * Entry point of the job spec parser: JSON reading with jansson, the
 * top-level fields and constraints, and freeing. A spec is either fully
 * valid and returned, or refused with one precise message and nothing kept. */
#include <math.h>
#include <string.h>

#include "jobspec/jobspec_int.h"

static const char *const top_keys[] = {"name",   "priority",    "labels",
                                       "budget", "constraints", "tasks",
                                       NULL};
static const char *const cons_keys[] = {"service_class", "labels", "max_price",
                                        "gpu", "near", NULL};
static const char *const near_keys[] = {"lat", "lon", "max_km", NULL};

static const char *label_rule(const char *k) {
  size_t n = strlen(k);
  bool ok = n >= 1 && n <= DC_JOBSPEC_LABEL_KEY_MAX;
  for (size_t i = 0; ok && i < n; i++) {
    char ch = k[i];
    ok = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
         (ch >= '0' && ch <= '9') || ch == '_' || ch == '.' || ch == '-' ||
         ch == '/';
  }
  return ok ? NULL : "label keys must be 1 to 64 characters of [A-Za-z0-9_.-/]";
}

static int parse_name(struct js_ctx *c, json_t *root, struct dc_jobspec *s) {
  json_t *v = json_object_get(root, "name");
  size_t old = jobspec_path_key(c, "name");
  int rc = DC_OK;
  bool ok = json_is_string(v) && json_string_length(v) >= 1 &&
            json_string_length(v) <= DC_JOBSPEC_NAME_MAX;
  for (size_t i = 0; ok && i < json_string_length(v); i++) {
    unsigned char ch = (unsigned char)json_string_value(v)[i];
    ok = ch >= 0x20 && ch != 0x7f;
  }
  if (!v)
    rc = jobspec_fail(c, "required");
  else if (!ok)
    rc = jobspec_fail(c, "must be a string of 1 to %d bytes without control "
                         "characters",
                      DC_JOBSPEC_NAME_MAX);
  else if (!(s->name = dc_strdup(json_string_value(v))))
    rc = jobspec_oom(c);
  jobspec_path_pop(c, old);
  return rc;
}

/* Reads a coordinate-like number and quantizes it to 1/scale, so that the
 * canonical form can print it exactly (see canon.c). */
static int get_fixed(struct js_ctx *c, json_t *obj, const char *key,
                     double min, double max, long long qmin, double scale,
                     const char *msg, double *out) {
  if (!json_object_get(obj, key)) {
    size_t old = jobspec_path_key(c, key);
    int rc = jobspec_fail(c, "required");
    jobspec_path_pop(c, old);
    return rc;
  }
  double v = 0;
  int rc = jobspec_get_number(c, obj, key, min, max, msg, &v, NULL);
  if (rc) return rc;
  long long q = llround(v * scale);
  if (q < qmin) {
    size_t old = jobspec_path_key(c, key);
    rc = jobspec_fail(c, "%s", msg);
    jobspec_path_pop(c, old);
    return rc;
  }
  /* A correctly rounded division gives the double nearest q/scale, the very
   * double strtod returns for the canonical decimal text: exact round trip. */
  *out = (double)q / scale;
  return DC_OK;
}

static int parse_near(struct js_ctx *c, json_t *cons,
                      struct dc_jobspec_constraints *k) {
  json_t *n = json_object_get(cons, "near");
  if (!n) return DC_OK;
  size_t old = jobspec_path_key(c, "near");
  int rc = DC_OK;
  if (!json_is_object(n))
    rc = jobspec_fail(c, "must be an object with lat, lon and max_km");
  if (!rc) rc = jobspec_check_keys(c, n, near_keys);
  if (!rc)
    rc = get_fixed(c, n, "lat", -90, 90, -900000000LL, JOBSPEC_DEG_SCALE,
                   "must be a number between -90 and 90", &k->near_lat);
  if (!rc)
    rc = get_fixed(c, n, "lon", -180, 180, -1800000000LL, JOBSPEC_DEG_SCALE,
                   "must be a number between -180 and 180", &k->near_lon);
  if (!rc)
    rc = get_fixed(c, n, "max_km", 0, JOBSPEC_MAX_KM, 1, JOBSPEC_KM_SCALE,
                   "must be a number between 0.001 and 40075",
                   &k->near_max_km);
  k->has_near = rc == DC_OK;
  jobspec_path_pop(c, old);
  return rc;
}

static int parse_constraints(struct js_ctx *c, json_t *root,
                             struct dc_jobspec_constraints *k) {
  json_t *v = json_object_get(root, "constraints");
  size_t old = jobspec_path_key(c, "constraints");
  int rc = DC_OK;
  if (v && !json_is_object(v)) {
    rc = jobspec_fail(c, "must be an object");
    goto out;
  }
  if (v) {
    if ((rc = jobspec_check_keys(c, v, cons_keys))) goto out;
    json_t *s = json_object_get(v, "service_class");
    if (s && (!json_is_string(s) ||
              !jobspec_is_slug(json_string_value(s), DC_JOBSPEC_CLASS_MAX))) {
      jobspec_path_key(c, "service_class");
      rc = jobspec_fail(c, "must be a string matching [a-z0-9_-]{1,64}");
      goto out;
    }
    /* "any" and no constraint are the same spec, so they must parse to the
     * same struct; NULL is what the scheduler reads as "any". */
    if (s && strcmp(json_string_value(s), "any") != 0 &&
        !(k->service_class = dc_strdup(json_string_value(s)))) {
      rc = jobspec_oom(c);
      goto out;
    }
    rc = jobspec_get_map(c, v, "labels", DC_JOBSPEC_LABELS_MAX, label_rule,
                         DC_JOBSPEC_LABEL_VALUE_MAX, &k->labels, &k->nlabels);
    if (rc) goto out;
    int64_t price = -1;
    if ((rc = jobspec_get_int(c, v, "max_price", 0, INT64_MAX, &price)))
      goto out;
    k->has_max_price = price >= 0;
    k->max_price = k->has_max_price ? (uint64_t)price : 0;
    if ((rc = jobspec_get_bool(c, v, "gpu", &k->gpu))) goto out;
    rc = parse_near(c, v, k);
  }
out:
  jobspec_path_pop(c, old);
  return rc;
}

static int parse_tasks(struct js_ctx *c, json_t *root, struct dc_jobspec *s) {
  json_t *a = json_object_get(root, "tasks");
  size_t old = jobspec_path_key(c, "tasks");
  int rc = DC_OK;
  if (!a) {
    rc = jobspec_fail(c, "required");
    goto out;
  }
  if (!json_is_array(a) || json_array_size(a) < 1 ||
      json_array_size(a) > DC_JOBSPEC_TASKS_MAX) {
    rc = jobspec_fail(c, "must be an array of 1 to %d tasks",
                      DC_JOBSPEC_TASKS_MAX);
    goto out;
  }
  size_t n = json_array_size(a);
  if (!(s->tasks = dc_calloc(n, sizeof *s->tasks))) {
    rc = jobspec_oom(c);
    goto out;
  }
  for (size_t i = 0; i < n && !rc; i++) {
    size_t o2 = jobspec_path_idx(c, i);
    rc = jobspec_parse_task(c, json_array_get(a, i), &s->tasks[i]);
    s->ntasks = i + 1;
    s->total_instances += s->tasks[i].count;
    jobspec_path_pop(c, o2);
  }
  if (!rc && s->total_instances > DC_JOBSPEC_INSTANCES_MAX)
    rc = jobspec_fail(c, "%zu task instances in total (sum of count), over "
                         "the limit of %d",
                      s->total_instances, DC_JOBSPEC_INSTANCES_MAX);
  if (!rc) rc = jobspec_check_graph(c, s);
out:
  jobspec_path_pop(c, old);
  return rc;
}

/* jansson's message may quote input bytes; keep only printable ASCII so the
 * text is safe in API JSON and logs. */
static void json_error(struct dc_errmsg *err, const json_error_t *je) {
  char text[sizeof je->text];
  size_t o = 0;
  for (size_t i = 0; je->text[i] && o + 1 < sizeof text; i++) {
    unsigned char ch = (unsigned char)je->text[i];
    text[o++] = ch < 0x20 || ch >= 0x7f ? '?' : (char)ch;
  }
  text[o] = '\0';
  dc_errmsg_set(err, "json: line %d column %d: %s", je->line, je->column,
                text);
}

int dc_jobspec_parse(const char *json, size_t len, struct dc_jobspec **out,
                     struct dc_errmsg *err) {
  struct dc_errmsg scratch;
  if (!err) err = &scratch;
  DC_ASSERT(out && (json || len == 0));
  if (len > DC_JOBSPEC_MAX_JSON) {
    dc_errmsg_set(err, "spec: %zu bytes of JSON, over the limit of %u", len,
                  DC_JOBSPEC_MAX_JSON);
    return DC_ETOOBIG;
  }
  json_error_t je;
  /* Without JSON_DISABLE_EOF_CHECK jansson refuses trailing garbage; without
   * JSON_ALLOW_NUL it refuses \u0000, so every string is a C string. */
  json_t *root = json_loadb(json ? json : "", len, JSON_REJECT_DUPLICATES, &je);
  if (!root) {
    if (json_error_code(&je) == json_error_out_of_memory) {
      dc_errmsg_set(err, "out of memory");
      return DC_ENOMEM;
    }
    json_error(err, &je);
    return DC_EINVAL;
  }
  struct js_ctx c = {.err = err};
  struct dc_jobspec *s = NULL;
  int rc = DC_OK;
  if (!json_is_object(root)) {
    rc = jobspec_fail(&c, "must be a JSON object");
    goto out;
  }
  if ((rc = jobspec_check_keys(&c, root, top_keys))) goto out;
  if (!(s = dc_calloc(1, sizeof *s))) {
    rc = jobspec_oom(&c);
    goto out;
  }
  s->priority = DC_JOBSPEC_DEFAULT_PRIORITY;
  if ((rc = parse_name(&c, root, s))) goto out;
  int64_t v = s->priority;
  if ((rc = jobspec_get_int(&c, root, "priority", 0, 100, &v))) goto out;
  s->priority = (int)v;
  rc = jobspec_get_map(&c, root, "labels", DC_JOBSPEC_LABELS_MAX, label_rule,
                       DC_JOBSPEC_LABEL_VALUE_MAX, &s->labels, &s->nlabels);
  if (rc) goto out;
  v = 0;
  if ((rc = jobspec_get_int(&c, root, "budget", 0, INT64_MAX, &v))) goto out;
  s->budget = (uint64_t)v;
  if ((rc = parse_constraints(&c, root, &s->constraints))) goto out;
  if ((rc = parse_tasks(&c, root, s))) goto out;
  /* The masters store the canonical form and re-parse it on replay, so it
   * must itself fit the input limit (base64 and defaults make it larger). */
  size_t clen = jobspec_canonical_len(s);
  if (clen > DC_JOBSPEC_MAX_JSON) {
    dc_errmsg_set(err, "spec: canonical form would be %zu bytes, over the "
                  "limit of %u (it spells out every default and holds file "
                  "contents as base64)",
                  clen, DC_JOBSPEC_MAX_JSON);
    rc = DC_ETOOBIG;
  }
out:
  json_decref(root);
  if (rc) {
    dc_jobspec_free(s);
    return rc;
  }
  *out = s;
  return DC_OK;
}

void dc_jobspec_free(struct dc_jobspec *spec) {
  if (!spec) return;
  dc_free(spec->name);
  jobspec_free_map(spec->labels, spec->nlabels);
  dc_free(spec->constraints.service_class);
  jobspec_free_map(spec->constraints.labels, spec->constraints.nlabels);
  for (size_t i = 0; spec->tasks && i < spec->ntasks; i++)
    jobspec_free_task(&spec->tasks[i]);
  dc_free(spec->tasks);
  dc_free(spec);
}
