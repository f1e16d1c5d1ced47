/* SPDX-License-Identifier: Apache-2.0
 * Internals shared by the jobspec .c files: the parse context that tracks
 * the field path for error messages, typed field readers, base64, and the
 * dependency graph. Nothing outside src/jobspec/ includes this. */
#ifndef DC_JOBSPEC_INT_H
#define DC_JOBSPEC_INT_H

#include <jansson.h>

#include "jobspec/jobspec.h"

/* Fixed-point scales: values are quantized at parse time so the canonical
 * form can print them exactly with integer arithmetic (no locale, no
 * shortest-float printing) and re-parse to the very same double. */
#define JOBSPEC_CPU_SCALE 1000        /* millicores */
#define JOBSPEC_DEG_SCALE 10000000    /* 1e-7 degree, about 1 cm */
#define JOBSPEC_KM_SCALE 1000         /* metre */
#define JOBSPEC_MAX_KM 40075          /* equator length; more means nothing */

/* Parse context. `path` is the JSON path of the value being read, e.g.
 * "tasks[1].resources"; it grows and shrinks as the parser descends. */
struct js_ctx {
  struct dc_errmsg *err;
  char path[160];
  size_t plen;
};

/* Path helpers return the old length for jobspec_path_pop. Keys are
 * sanitized (printable ASCII only, shortened) because they are user input
 * that ends up in API error JSON and logs. */
size_t jobspec_path_key(struct js_ctx *c, const char *key);
size_t jobspec_path_idx(struct js_ctx *c, size_t i);
void jobspec_path_pop(struct js_ctx *c, size_t old);
/* "<path>: <message>", returns DC_EINVAL. */
int jobspec_fail(struct js_ctx *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Sets "out of memory", returns DC_ENOMEM. */
int jobspec_oom(struct js_ctx *c);
/* Copies at most 64 bytes of s into out (size >= 72) with every byte that is
 * not printable ASCII or is '"' or '\\' replaced by '?'. */
void jobspec_sanitize(char *out, size_t outsz, const char *s);

/* Fails with "<path>.<key>: unknown field" for the first key of obj that is
 * not in the NULL-terminated list `allowed`. */
int jobspec_check_keys(struct js_ctx *c, json_t *obj,
                       const char *const *allowed);

/* Typed readers. Each reads obj[key]; when it is absent the output keeps its
 * default and *present (if given) is false. Errors name "<path>.<key>". */
int jobspec_get_int(struct js_ctx *c, json_t *obj, const char *key,
                    int64_t min, int64_t max, int64_t *out);
int jobspec_get_bool(struct js_ctx *c, json_t *obj, const char *key,
                     bool *out);
/* Any JSON number (integer or real) as a double, must lie in [min, max]. */
int jobspec_get_number(struct js_ctx *c, json_t *obj, const char *key,
                       double min, double max, const char *msg, double *out,
                       bool *present);

/* Validates a relative path (files[].path, outputs[]); on failure the message
 * names the current path. */
int jobspec_check_relpath(struct js_ctx *c, json_t *v);
/* 1..max bytes of [a-z0-9_-]. */
bool jobspec_is_slug(const char *s, size_t max);

/* Reads a string map into a key-sorted array. key_rule returns NULL when the
 * key is fine, else the reason. */
typedef const char *(*jobspec_key_rule)(const char *key);
int jobspec_get_map(struct js_ctx *c, json_t *obj, const char *key,
                    size_t max_entries, jobspec_key_rule rule,
                    size_t value_max, struct dc_jobspec_kv **out, size_t *n);
void jobspec_free_map(struct dc_jobspec_kv *kv, size_t n);
void jobspec_free_strv(char **v, size_t n);

/* Strict RFC 4648 base64 with padding; non-zero pad bits are refused so
 * every byte string has exactly one encoding. *out is dc_malloc'd (NULL
 * when the result is empty). Errors: DC_EINVAL, DC_ENOMEM. */
int jobspec_b64_decode(const char *s, size_t n, uint8_t **out, size_t *len);
size_t jobspec_b64_len(size_t n); /* encoded length, without NUL */
void jobspec_b64_encode(const uint8_t *in, size_t n, char *out); /* no NUL */

/* task.c: one element of "tasks". */
int jobspec_parse_task(struct js_ctx *c, json_t *v, struct dc_jobspec_task *t);
void jobspec_free_task(struct dc_jobspec_task *t);

/* graph.c: unique names, known dependencies, no cycles. */
int jobspec_check_graph(struct js_ctx *c, const struct dc_jobspec *spec);

/* canon.c: length of the canonical form without building it. */
size_t jobspec_canonical_len(const struct dc_jobspec *spec);

#endif /* DC_JOBSPEC_INT_H */
