/* SPDX-License-Identifier: Apache-2.0
 * Canonical JSON of a job spec and the per-task JSON for providers. Written
 * by hand rather than with json_dumps so the bytes depend on nothing but
 * the struct: no jansson version, no locale, no float printing. The writer
 * runs twice, once to measure and once to fill one exact allocation. */
#include <math.h>
#include <string.h>

#include "jobspec/jobspec_int.h"

/* p == NULL: only count bytes. */
struct jw {
  char *p;
  size_t n;
};

static void put(struct jw *w, const void *s, size_t n) {
  if (w->p && n) memcpy(w->p + w->n, s, n);
  w->n += n;
}

static void put_lit(struct jw *w, const char *s) { put(w, s, strlen(s)); }

static void put_str(struct jw *w, const char *s) {
  static const char hex[] = "0123456789abcdef";
  put(w, "\"", 1);
  size_t run = 0; /* bytes copied as they are, written in one go */
  for (size_t i = 0;; i++) {
    unsigned char ch = (unsigned char)s[i];
    if (ch >= 0x20 && ch != '"' && ch != '\\') {
      run++;
      continue;
    }
    put(w, s + i - run, run);
    run = 0;
    if (ch == 0) break;
    char esc[6] = {'\\', 0};
    size_t len = 2;
    switch (ch) {
      case '"': esc[1] = '"'; break;
      case '\\': esc[1] = '\\'; break;
      case '\b': esc[1] = 'b'; break;
      case '\f': esc[1] = 'f'; break;
      case '\n': esc[1] = 'n'; break;
      case '\r': esc[1] = 'r'; break;
      case '\t': esc[1] = 't'; break;
      default:
        memcpy(esc + 1, "u00", 3);
        esc[4] = hex[ch >> 4];
        esc[5] = hex[ch & 15];
        len = 6;
    }
    put(w, esc, len);
  }
  put(w, "\"", 1);
}

static void put_u64(struct jw *w, uint64_t v) {
  char tmp[24];
  size_t i = sizeof tmp;
  do {
    tmp[--i] = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  put(w, tmp + i, sizeof tmp - i);
}

/* q / 10^digits as a JSON number with trailing zeros dropped: 1500,3 ->
 * "1.5", 2000,3 -> "2", -5,7 -> "-0.0000005". */
static void put_fixed(struct jw *w, long long q, unsigned digits) {
  uint64_t scale = 1;
  for (unsigned i = 0; i < digits; i++) scale *= 10;
  if (q < 0) put(w, "-", 1);
  uint64_t a = q < 0 ? 0 - (uint64_t)q : (uint64_t)q;
  put_u64(w, a / scale);
  uint64_t frac = a % scale;
  if (!frac) return;
  char tmp[24];
  for (unsigned i = digits; i > 0; i--) {
    tmp[i] = (char)('0' + frac % 10);
    frac /= 10;
  }
  tmp[0] = '.';
  size_t len = digits + 1;
  while (tmp[len - 1] == '0') len--;
  put(w, tmp, len);
}

static void put_key(struct jw *w, const char *key, bool first) {
  if (!first) put(w, ",", 1);
  put(w, "\"", 1);
  put_lit(w, key); /* our own field names: nothing to escape */
  put(w, "\":", 2);
}

static void put_bool(struct jw *w, bool b) { put_lit(w, b ? "true" : "false"); }

static void put_map(struct jw *w, const struct dc_jobspec_kv *kv, size_t n) {
  put(w, "{", 1);
  for (size_t i = 0; i < n; i++) {
    if (i) put(w, ",", 1);
    put_str(w, kv[i].key);
    put(w, ":", 1);
    put_str(w, kv[i].value);
  }
  put(w, "}", 1);
}

static void put_strv(struct jw *w, char *const *v, size_t n) {
  put(w, "[", 1);
  for (size_t i = 0; i < n; i++) {
    if (i) put(w, ",", 1);
    put_str(w, v[i]);
  }
  put(w, "]", 1);
}

static void put_b64(struct jw *w, const uint8_t *p, size_t n) {
  char tmp[64]; /* 48 input bytes at a time: no allocation */
  put(w, "\"", 1);
  for (size_t i = 0; i < n; i += 48) {
    size_t k = DC_MIN(n - i, (size_t)48);
    jobspec_b64_encode(p + i, k, tmp);
    put(w, tmp, jobspec_b64_len(k));
  }
  put(w, "\"", 1);
}

static void put_files(struct jw *w, const struct dc_jobspec_task *t) {
  put(w, "[", 1);
  for (size_t i = 0; i < t->nfiles; i++) {
    const struct dc_jobspec_file *f = &t->files[i];
    put_lit(w, i ? ",{" : "{");
    put_key(w, "content_base64", true);
    put_b64(w, f->content, f->len);
    put_key(w, "mode", false);
    put_u64(w, f->mode);
    put_key(w, "path", false);
    put_str(w, f->path);
    put(w, "}", 1);
  }
  put(w, "]", 1);
}

static void put_task(struct jw *w, const struct dc_jobspec_task *t) {
  put_key(w, "after", true);
  put_strv(w, t->after, t->nafter);
  put_key(w, "command", false);
  put_strv(w, t->argv, t->argc);
  put_key(w, "count", false);
  put_u64(w, t->count);
  put_key(w, "env", false);
  put_map(w, t->env, t->nenv);
  put_key(w, "files", false);
  put_files(w, t);
  put_key(w, "name", false);
  put_str(w, t->name);
  put_key(w, "network", false);
  put_bool(w, t->network);
  put_key(w, "outputs", false);
  put_strv(w, t->outputs, t->noutputs);
  put_key(w, "resources", false);
  put(w, "{", 1);
  put_key(w, "cpu", true);
  put_fixed(w, t->cpu_millis, 3);
  put_key(w, "disk_mb", false);
  put_u64(w, t->disk_mb);
  put_key(w, "gpu", false);
  put_u64(w, t->gpu);
  put_key(w, "memory_mb", false);
  put_u64(w, t->memory_mb);
  put_lit(w, "}");
  put_key(w, "retries", false);
  put_u64(w, t->retries);
  put_key(w, "timeout_s", false);
  put_u64(w, t->timeout_s);
}

static void put_spec(struct jw *w, const struct dc_jobspec *s) {
  const struct dc_jobspec_constraints *k = &s->constraints;
  put(w, "{", 1);
  put_key(w, "budget", true);
  put_u64(w, s->budget);
  put_key(w, "constraints", false);
  put(w, "{", 1);
  put_key(w, "gpu", true);
  put_bool(w, k->gpu);
  put_key(w, "labels", false);
  put_map(w, k->labels, k->nlabels);
  if (k->has_max_price) {
    put_key(w, "max_price", false);
    put_u64(w, k->max_price);
  }
  if (k->has_near) {
    /* Parse stored these as q/scale; scaling back and rounding recovers q
     * exactly (the error of the product is far below 0.5). */
    put_key(w, "near", false);
    put(w, "{", 1);
    put_key(w, "lat", true);
    put_fixed(w, llround(k->near_lat * JOBSPEC_DEG_SCALE), 7);
    put_key(w, "lon", false);
    put_fixed(w, llround(k->near_lon * JOBSPEC_DEG_SCALE), 7);
    put_key(w, "max_km", false);
    put_fixed(w, llround(k->near_max_km * JOBSPEC_KM_SCALE), 3);
    put(w, "}", 1);
  }
  put_key(w, "service_class", false);
  put_str(w, k->service_class ? k->service_class : "any");
  put(w, "}", 1);
  put_key(w, "labels", false);
  put_map(w, s->labels, s->nlabels);
  put_key(w, "name", false);
  put_str(w, s->name);
  put_key(w, "priority", false);
  put_u64(w, (uint64_t)s->priority);
  put_key(w, "tasks", false);
  put(w, "[", 1);
  for (size_t i = 0; i < s->ntasks; i++) {
    put_lit(w, i ? ",{" : "{");
    put_task(w, &s->tasks[i]);
    put(w, "}", 1);
  }
  put(w, "]}", 2);
}

size_t jobspec_canonical_len(const struct dc_jobspec *spec) {
  struct jw w = {0};
  put_spec(&w, spec);
  return w.n;
}

int dc_jobspec_canonical(const struct dc_jobspec *spec, char **out_json) {
  DC_ASSERT(spec && out_json);
  struct jw w = {0};
  put_spec(&w, spec);
  if (w.n > DC_JOBSPEC_MAX_JSON) return DC_ETOOBIG;
  size_t len = w.n;
  if (!(w.p = dc_malloc(len + 1))) return DC_ENOMEM;
  w.n = 0;
  put_spec(&w, spec);
  DC_ASSERT(w.n == len);
  w.p[len] = '\0';
  *out_json = w.p;
  return DC_OK;
}

static void put_task_json(struct jw *w, const struct dc_jobspec_task *t) {
  put(w, "{", 1);
  put_key(w, "argv", true);
  put_strv(w, t->argv, t->argc);
  put_key(w, "cpu_millis", false);
  put_u64(w, t->cpu_millis);
  put_key(w, "disk_mb", false);
  put_u64(w, t->disk_mb);
  put_key(w, "env", false);
  put_map(w, t->env, t->nenv);
  put_key(w, "files", false);
  put_files(w, t);
  put_key(w, "gpu", false);
  put_u64(w, t->gpu);
  put_key(w, "memory_mb", false);
  put_u64(w, t->memory_mb);
  put_key(w, "name", false);
  put_str(w, t->name);
  put_key(w, "network", false);
  put_bool(w, t->network);
  put_key(w, "outputs", false);
  put_strv(w, t->outputs, t->noutputs);
  put_key(w, "timeout_s", false);
  put_u64(w, t->timeout_s);
  put(w, "}", 1);
}

int dc_jobspec_task_json(const struct dc_jobspec_task *t, char **out_json) {
  DC_ASSERT(t && out_json);
  struct jw w = {0};
  put_task_json(&w, t);
  size_t len = w.n;
  if (!(w.p = dc_malloc(len + 1))) return DC_ENOMEM;
  w.n = 0;
  put_task_json(&w, t);
  DC_ASSERT(w.n == len);
  w.p[len] = '\0';
  *out_json = w.p;
  return DC_OK;
}
