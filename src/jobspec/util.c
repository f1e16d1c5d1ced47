/* SPDX-License-Identifier: Apache-2.0
 * Shared parsing helpers: the error path, typed field readers, string maps,
 * path rules and strict base64. Every reader reports errors with the exact
 * JSON path so a user can find the bad field without reading our code. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jobspec/jobspec_int.h"

void jobspec_sanitize(char *out, size_t outsz, const char *s) {
  size_t o = 0, i = 0;
  /* 64 shown bytes keep room in the 256-byte message for the path. */
  for (; s[i] && i < 64 && o + 1 < outsz; i++) {
    unsigned char ch = (unsigned char)s[i];
    out[o++] = (ch < 0x20 || ch >= 0x7f || ch == '"' || ch == '\\') ? '?'
                                                                    : (char)ch;
  }
  if (s[i] && o + 4 < outsz) {
    memcpy(out + o, "...", 3);
    o += 3;
  }
  out[o] = '\0';
}

static size_t path_append(struct js_ctx *c, const char *s) {
  size_t old = c->plen;
  int n = snprintf(c->path + c->plen, sizeof c->path - c->plen, "%s", s);
  if (n < 0 || (size_t)n >= sizeof c->path - c->plen)
    c->plen = sizeof c->path - 1; /* truncated; the message stays readable */
  else
    c->plen += (size_t)n;
  return old;
}

size_t jobspec_path_key(struct js_ctx *c, const char *key) {
  char clean[80];
  jobspec_sanitize(clean, sizeof clean, key);
  size_t old = c->plen;
  if (c->plen > 0) path_append(c, ".");
  path_append(c, clean);
  return old;
}

size_t jobspec_path_idx(struct js_ctx *c, size_t i) {
  char tmp[32];
  snprintf(tmp, sizeof tmp, "[%zu]", i);
  return path_append(c, tmp);
}

void jobspec_path_pop(struct js_ctx *c, size_t old) {
  c->plen = old;
  c->path[old] = '\0';
}

int jobspec_fail(struct js_ctx *c, const char *fmt, ...) {
  char msg[DC_ERRMSG_SIZE];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  dc_errmsg_set(c->err, "%s: %s", c->plen ? c->path : "spec", msg);
  return DC_EINVAL;
}

int jobspec_oom(struct js_ctx *c) {
  dc_errmsg_set(c->err, "out of memory");
  return DC_ENOMEM;
}

int jobspec_check_keys(struct js_ctx *c, json_t *obj,
                       const char *const *allowed) {
  const char *key;
  json_t *v;
  json_object_foreach(obj, key, v) {
    bool ok = false;
    for (size_t i = 0; allowed[i] && !ok; i++) ok = strcmp(key, allowed[i]) == 0;
    if (!ok) {
      jobspec_path_key(c, key);
      return jobspec_fail(c, "unknown field");
    }
  }
  return DC_OK;
}

int jobspec_get_int(struct js_ctx *c, json_t *obj, const char *key,
                    int64_t min, int64_t max, int64_t *out) {
  json_t *v = json_object_get(obj, key);
  if (!v) return DC_OK;
  json_int_t x = json_is_integer(v) ? json_integer_value(v) : 0;
  if (!json_is_integer(v) || x < min || x > max) {
    size_t old = jobspec_path_key(c, key);
    int rc = max == INT64_MAX
                 ? jobspec_fail(c, "must be an integer of at least %lld",
                                (long long)min)
                 : jobspec_fail(c, "must be an integer between %lld and %lld",
                                (long long)min, (long long)max);
    jobspec_path_pop(c, old);
    return rc;
  }
  *out = x;
  return DC_OK;
}

int jobspec_get_bool(struct js_ctx *c, json_t *obj, const char *key,
                     bool *out) {
  json_t *v = json_object_get(obj, key);
  if (!v) return DC_OK;
  if (!json_is_boolean(v)) {
    size_t old = jobspec_path_key(c, key);
    int rc = jobspec_fail(c, "must be true or false");
    jobspec_path_pop(c, old);
    return rc;
  }
  *out = json_is_true(v);
  return DC_OK;
}

int jobspec_get_number(struct js_ctx *c, json_t *obj, const char *key,
                       double min, double max, const char *msg, double *out,
                       bool *present) {
  json_t *v = json_object_get(obj, key);
  if (present) *present = v != NULL;
  if (!v) return DC_OK;
  double x = json_is_number(v) ? json_number_value(v) : NAN;
  /* jansson never yields NaN/inf from text, but a NaN must fail the range
   * test, which the negated comparison guarantees. */
  if (!json_is_number(v) || !isfinite(x) || !(x >= min && x <= max)) {
    size_t old = jobspec_path_key(c, key);
    int rc = jobspec_fail(c, "%s", msg);
    jobspec_path_pop(c, old);
    return rc;
  }
  *out = x;
  return DC_OK;
}

bool jobspec_is_slug(const char *s, size_t max) {
  size_t n = strlen(s);
  if (n < 1 || n > max) return false;
  for (size_t i = 0; i < n; i++) {
    char ch = s[i];
    if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_' ||
          ch == '-'))
      return false;
  }
  return true;
}

int jobspec_check_relpath(struct js_ctx *c, json_t *v) {
  if (!json_is_string(v)) return jobspec_fail(c, "must be a string");
  const char *s = json_string_value(v);
  size_t n = json_string_length(v);
  if (n == 0) return jobspec_fail(c, "must not be empty");
  if (n > DC_JOBSPEC_PATH_MAX)
    return jobspec_fail(c, "must be at most %d bytes", DC_JOBSPEC_PATH_MAX);
  if (s[0] == '/')
    return jobspec_fail(c, "must be a relative path (no leading /)");
  for (size_t i = 0; i < n; i++) {
    unsigned char ch = (unsigned char)s[i];
    if (ch < 0x20 || ch == 0x7f)
      return jobspec_fail(c, "must not contain control characters");
  }
  /* Component rules keep every path inside the task's work dir and give
   * each file exactly one spelling (no "a//b", "./a", "a/"). */
  for (const char *p = s;;) {
    const char *slash = strchr(p, '/');
    size_t len = slash ? (size_t)(slash - p) : strlen(p);
    if (len == 0 || (len == 1 && p[0] == '.') ||
        (len == 2 && p[0] == '.' && p[1] == '.'))
      return jobspec_fail(c,
                          "must not contain empty, \".\" or \"..\" components");
    if (!slash) break;
    p = slash + 1;
  }
  return DC_OK;
}

void jobspec_free_map(struct dc_jobspec_kv *kv, size_t n) {
  if (!kv) return;
  for (size_t i = 0; i < n; i++) {
    dc_free(kv[i].key);
    dc_free(kv[i].value);
  }
  dc_free(kv);
}

void jobspec_free_strv(char **v, size_t n) {
  if (!v) return;
  for (size_t i = 0; i < n; i++) dc_free(v[i]);
  dc_free(v);
}

static int kv_cmp(const void *a, const void *b) {
  return strcmp(((const struct dc_jobspec_kv *)a)->key,
                ((const struct dc_jobspec_kv *)b)->key);
}

int jobspec_get_map(struct js_ctx *c, json_t *obj, const char *key,
                    size_t max_entries, jobspec_key_rule rule,
                    size_t value_max, struct dc_jobspec_kv **out, size_t *n) {
  json_t *m = json_object_get(obj, key);
  if (!m) return DC_OK;
  size_t old = jobspec_path_key(c, key);
  int rc = DC_OK;
  if (!json_is_object(m) || json_object_size(m) > max_entries) {
    rc = jobspec_fail(c, "must be an object of at most %zu string entries",
                      max_entries);
    goto out;
  }
  const char *k;
  json_t *v;
  /* Validate everything before allocating anything. */
  json_object_foreach(m, k, v) {
    size_t o2 = jobspec_path_key(c, k);
    const char *why = rule(k);
    if (why) rc = jobspec_fail(c, "%s", why);
    else if (!json_is_string(v) || json_string_length(v) > value_max)
      rc = jobspec_fail(c, "must be a string of at most %zu bytes", value_max);
    jobspec_path_pop(c, o2);
    if (rc) goto out;
  }
  size_t cnt = json_object_size(m);
  if (cnt == 0) goto out;
  struct dc_jobspec_kv *kv = dc_calloc(cnt, sizeof *kv);
  if (!kv) {
    rc = jobspec_oom(c);
    goto out;
  }
  size_t i = 0;
  json_object_foreach(m, k, v) {
    kv[i].key = dc_strdup(k);
    kv[i].value = dc_strdup(json_string_value(v));
    i++;
    if (!kv[i - 1].key || !kv[i - 1].value) {
      jobspec_free_map(kv, i);
      rc = jobspec_oom(c);
      goto out;
    }
  }
  /* Keys are unique (duplicates are refused by the JSON reader), so the
   * sorted order is total and equal maps give equal arrays. */
  qsort(kv, cnt, sizeof *kv, kv_cmp);
  *out = kv;
  *n = cnt;
out:
  jobspec_path_pop(c, old);
  return rc;
}

/* ---- base64 ---------------------------------------------------------------- */

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int b64_val(unsigned char ch) {
  if (ch >= 'A' && ch <= 'Z') return ch - 'A';
  if (ch >= 'a' && ch <= 'z') return ch - 'a' + 26;
  if (ch >= '0' && ch <= '9') return ch - '0' + 52;
  if (ch == '+') return 62;
  if (ch == '/') return 63;
  return -1;
}

size_t jobspec_b64_len(size_t n) { return (n + 2) / 3 * 4; }

void jobspec_b64_encode(const uint8_t *in, size_t n, char *out) {
  size_t o = 0;
  for (size_t i = 0; i < n; i += 3) {
    uint32_t w = (uint32_t)in[i] << 16;
    if (i + 1 < n) w |= (uint32_t)in[i + 1] << 8;
    if (i + 2 < n) w |= in[i + 2];
    out[o++] = b64_alphabet[(w >> 18) & 63];
    out[o++] = b64_alphabet[(w >> 12) & 63];
    out[o++] = i + 1 < n ? b64_alphabet[(w >> 6) & 63] : '=';
    out[o++] = i + 2 < n ? b64_alphabet[w & 63] : '=';
  }
}

int jobspec_b64_decode(const char *s, size_t n, uint8_t **out, size_t *len) {
  if (n % 4) return DC_EINVAL;
  size_t pad = 0;
  if (n >= 1 && s[n - 1] == '=') pad++;
  if (n >= 2 && s[n - 2] == '=') pad++;
  size_t olen = n / 4 * 3 - pad;
  /* Check every character first so a bad input costs no allocation. */
  for (size_t i = 0; i < n - pad; i++)
    if (b64_val((unsigned char)s[i]) < 0) return DC_EINVAL;
  if (pad == 2 && (b64_val((unsigned char)s[n - 3]) & 0x0f)) return DC_EINVAL;
  if (pad == 1 && (b64_val((unsigned char)s[n - 2]) & 0x03)) return DC_EINVAL;
  *len = olen;
  *out = NULL;
  if (olen == 0) return DC_OK;
  uint8_t *buf = dc_malloc(olen);
  if (!buf) return DC_ENOMEM;
  size_t o = 0;
  for (size_t i = 0; i < n; i += 4) {
    uint32_t w = 0;
    for (size_t j = 0; j < 4; j++) {
      int v = s[i + j] == '=' ? 0 : b64_val((unsigned char)s[i + j]);
      w = w << 6 | (uint32_t)v;
    }
    uint8_t b[3] = {(uint8_t)(w >> 16), (uint8_t)(w >> 8), (uint8_t)w};
    for (size_t j = 0; j < 3 && o < olen; j++) buf[o++] = b[j];
  }
  *out = buf;
  return DC_OK;
}
