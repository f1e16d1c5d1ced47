/* SPDX-License-Identifier: Apache-2.0
 * The error table and the per-object error message buffer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base.h"

const char *dc_strerror(int err) {
  switch (err) {
    case DC_OK: return "ok";
#define DC__ERR_TEXT(name, num, text) \
  case DC_E##name: return text;
    DC_ERR_MAP(DC__ERR_TEXT)
#undef DC__ERR_TEXT
    default: return "unknown error";
  }
}

const char *dc_err_name(int err) {
  switch (err) {
    case DC_OK: return "OK";
#define DC__ERR_NAME(name, num, text) \
  case DC_E##name: return #name;
    DC_ERR_MAP(DC__ERR_NAME)
#undef DC__ERR_NAME
    default: return "UNKNOWN";
  }
}

void dc_errmsg_set(struct dc_errmsg *e, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(e->text, sizeof e->text, fmt, ap);
  va_end(ap);
}

void dc_errmsg_wrap(struct dc_errmsg *e, const char *fmt, ...) {
  char prefix[DC_ERRMSG_SIZE];
  char old[DC_ERRMSG_SIZE];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(prefix, sizeof prefix, fmt, ap);
  va_end(ap);
  memcpy(old, e->text, sizeof old);
  /* Truncation is the intended behaviour: the newest context wins. */
  size_t pl = strnlen(prefix, sizeof prefix - 1);
  memcpy(e->text, prefix, pl);
  size_t off = pl;
  if (off + 2 < sizeof e->text) {
    memcpy(e->text + off, ": ", 2);
    off += 2;
  }
  size_t ol = strnlen(old, sizeof old - 1);
  if (ol > sizeof e->text - 1 - off) ol = sizeof e->text - 1 - off;
  memcpy(e->text + off, old, ol);
  e->text[off + ol] = '\0';
}

void dc_assert_fail(const char *expr, const char *file, int line) {
  fprintf(stderr, "assertion failed: %s (%s:%d)\n", expr, file, line);
  fflush(stderr);
  abort();
}
