/* SPDX-License-Identifier: Apache-2.0
 * ledger internals: a sticky writer over dc_buf so the codecs read as plain
 * lists of fields. Only the .c files of src/ledger include this. */
#ifndef DC_LEDGER_INT_H
#define DC_LEDGER_INT_H

#include <string.h>

#include "ledger/ledger.h"

struct lw {
  struct dc_buf *b;
  size_t start;
  int err;
};

static inline void lw_init(struct lw *w, struct dc_buf *b) {
  w->b = b;
  w->start = b->len;
  w->err = DC_OK;
}
static inline void lw_fail(struct lw *w, int err) {
  if (!w->err) w->err = err;
}
static inline int lw_done(struct lw *w) {
  if (w->err) w->b->len = w->start;
  return w->err;
}
static inline void lw_u8(struct lw *w, uint8_t v) {
  if (!w->err) w->err = dc_buf_put_u8(w->b, v);
}
static inline void lw_u32(struct lw *w, uint32_t v) {
  if (!w->err) w->err = dc_buf_put_u32(w->b, v);
}
static inline void lw_u64(struct lw *w, uint64_t v) {
  if (!w->err) w->err = dc_buf_put_u64(w->b, v);
}
static inline void lw_raw(struct lw *w, const void *p, size_t n) {
  if (!w->err) w->err = dc_buf_append(w->b, p, n);
}
static inline void lw_bytes(struct lw *w, const void *p, size_t n, size_t max) {
  if (n > max) lw_fail(w, DC_ETOOBIG);
  if (!w->err) w->err = dc_buf_put_bytes(w->b, p, n);
}
static inline void lr_fail(struct dc_reader *r, int err) {
  if (!r->err) r->err = err;
}
/* A dc_buf over a caller's array that never reallocates (one spare byte,
 * as dc_buf keeps for dc_buf_cstr); appends past it fail with DC_ETOOBIG. */
#define LEDGER_STACK_BUF(mem) \
  {.data = (mem), .alloc = sizeof(mem) - 1, .max = sizeof(mem) - 1}

/* A length-prefixed string of 1..max bytes into a fixed array of max+1. */
void ledger_get_fixstr(struct dc_reader *r, char *out, size_t max, size_t min);
void ledger_put_fixstr(struct lw *w, const char *s, size_t max, size_t min);

#endif /* DC_LEDGER_INT_H */
