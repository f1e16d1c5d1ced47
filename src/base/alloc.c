/* SPDX-License-Identifier: Apache-2.0
 * Allocation wrappers with a failure-injection hook for tests. */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "base.h"

static atomic_long alloc_count;
static atomic_long alloc_fail_at; /* 0 = off */

void dc_alloc_fail_after(long n) {
  atomic_store(&alloc_count, 0);
  atomic_store(&alloc_fail_at, n);
}

long dc_alloc_count(void) { return atomic_load(&alloc_count); }

static bool should_fail(void) {
  long c = atomic_fetch_add(&alloc_count, 1) + 1;
  long at = atomic_load(&alloc_fail_at);
  return at > 0 && c >= at;
}

void *dc_malloc(size_t n) {
  if (should_fail()) return NULL;
  return malloc(n ? n : 1);
}

void *dc_calloc(size_t n, size_t size) {
  if (should_fail()) return NULL;
  return calloc(n ? n : 1, size ? size : 1);
}

void *dc_realloc(void *p, size_t n) {
  if (should_fail()) return NULL;
  return realloc(p, n ? n : 1);
}

char *dc_strdup(const char *s) { return dc_strndup(s, strlen(s)); }

char *dc_strndup(const char *s, size_t n) {
  char *d = dc_malloc(n + 1);
  if (!d) return NULL;
  memcpy(d, s, n);
  d[n] = '\0';
  return d;
}

void dc_free(void *p) { free(p); }
