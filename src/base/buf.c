/* SPDX-License-Identifier: Apache-2.0
 * Growable byte buffer with a hard cap, and a sticky bounds-checked reader.
 * All multi-byte integers are big-endian on the wire and on disk. */
#include <stdio.h>
#include <string.h>

#include "base.h"

int dc_buf_reserve(struct dc_buf *b, size_t extra) {
  if (extra > SIZE_MAX - b->len) return DC_ETOOBIG;
  size_t need = b->len + extra;
  if (b->max && need > b->max) return DC_ETOOBIG;
  if (need <= b->alloc) return DC_OK;
  size_t n = b->alloc ? b->alloc : 64;
  while (n < need) n = n > SIZE_MAX / 2 ? need : n * 2;
  if (b->max && n > b->max) n = b->max;
  if (n < need) n = need;
  uint8_t *p = dc_realloc(b->data, n + 1); /* +1: room for dc_buf_cstr */
  if (!p) return DC_ENOMEM;
  b->data = p;
  b->alloc = n;
  return DC_OK;
}

int dc_buf_append(struct dc_buf *b, const void *p, size_t n) {
  int rc = dc_buf_reserve(b, n);
  if (rc) return rc;
  if (n) memcpy(b->data + b->len, p, n);
  b->len += n;
  return DC_OK;
}

int dc_buf_printf(struct dc_buf *b, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n < 0) return DC_EINVAL;
  int rc = dc_buf_reserve(b, (size_t)n + 1);
  if (rc) return rc;
  va_start(ap, fmt);
  vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  b->len += (size_t)n;
  return DC_OK;
}

int dc_buf_cstr(struct dc_buf *b) {
  if (!b->data) {
    int rc = dc_buf_reserve(b, 1);
    if (rc) return rc;
  }
  /* reserve always keeps one spare byte past alloc */
  b->data[b->len] = '\0';
  return DC_OK;
}

void dc_buf_reset(struct dc_buf *b) { b->len = 0; }

void dc_buf_free(struct dc_buf *b) {
  size_t max = b->max;
  dc_free(b->data);
  memset(b, 0, sizeof *b);
  b->max = max;
}

int dc_buf_put_u8(struct dc_buf *b, uint8_t v) { return dc_buf_append(b, &v, 1); }

int dc_buf_put_u16(struct dc_buf *b, uint16_t v) {
  uint8_t x[2] = {(uint8_t)(v >> 8), (uint8_t)v};
  return dc_buf_append(b, x, 2);
}

int dc_buf_put_u32(struct dc_buf *b, uint32_t v) {
  uint8_t x[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8),
                  (uint8_t)v};
  return dc_buf_append(b, x, 4);
}

int dc_buf_put_u64(struct dc_buf *b, uint64_t v) {
  uint8_t x[8];
  for (int i = 0; i < 8; i++) x[i] = (uint8_t)(v >> (56 - 8 * i));
  return dc_buf_append(b, x, 8);
}

int dc_buf_put_i64(struct dc_buf *b, int64_t v) {
  return dc_buf_put_u64(b, (uint64_t)v);
}

int dc_buf_put_f64(struct dc_buf *b, double v) {
  uint64_t u;
  memcpy(&u, &v, sizeof u);
  return dc_buf_put_u64(b, u);
}

int dc_buf_put_bytes(struct dc_buf *b, const void *p, size_t n) {
  if (n > UINT32_MAX) return DC_ETOOBIG;
  int rc = dc_buf_put_u32(b, (uint32_t)n);
  if (rc) return rc;
  return dc_buf_append(b, p, n);
}

int dc_buf_put_str(struct dc_buf *b, const char *s) {
  return dc_buf_put_bytes(b, s ? s : "", s ? strlen(s) : 0);
}

/* ---- reader ---- */

void dc_reader_init(struct dc_reader *r, const void *p, size_t len) {
  r->p = p;
  r->len = len;
  r->off = 0;
  r->err = 0;
}

static int take(struct dc_reader *r, size_t n, const uint8_t **out) {
  if (r->err) return r->err;
  if (n > r->len - r->off) {
    r->err = DC_ETRUNCATED;
    return r->err;
  }
  *out = r->p + r->off;
  r->off += n;
  return DC_OK;
}

int dc_get_u8(struct dc_reader *r, uint8_t *v) {
  const uint8_t *p;
  int rc = take(r, 1, &p);
  if (rc) return rc;
  *v = p[0];
  return DC_OK;
}

int dc_get_u16(struct dc_reader *r, uint16_t *v) {
  const uint8_t *p;
  int rc = take(r, 2, &p);
  if (rc) return rc;
  *v = (uint16_t)((p[0] << 8) | p[1]);
  return DC_OK;
}

int dc_get_u32(struct dc_reader *r, uint32_t *v) {
  const uint8_t *p;
  int rc = take(r, 4, &p);
  if (rc) return rc;
  *v = ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) |
       p[3];
  return DC_OK;
}

int dc_get_u64(struct dc_reader *r, uint64_t *v) {
  const uint8_t *p;
  int rc = take(r, 8, &p);
  if (rc) return rc;
  uint64_t x = 0;
  for (int i = 0; i < 8; i++) x = (x << 8) | p[i];
  *v = x;
  return DC_OK;
}

int dc_get_i64(struct dc_reader *r, int64_t *v) {
  uint64_t u;
  int rc = dc_get_u64(r, &u);
  if (rc) return rc;
  *v = (int64_t)u;
  return DC_OK;
}

int dc_get_f64(struct dc_reader *r, double *v) {
  uint64_t u;
  int rc = dc_get_u64(r, &u);
  if (rc) return rc;
  memcpy(v, &u, sizeof *v);
  return DC_OK;
}

int dc_get_bytes(struct dc_reader *r, const uint8_t **p, size_t *n,
                 size_t max) {
  uint32_t len;
  int rc = dc_get_u32(r, &len);
  if (rc) return rc;
  if (len > max) {
    r->err = DC_ETOOBIG;
    return r->err;
  }
  rc = take(r, len, p);
  if (rc) return rc;
  *n = len;
  return DC_OK;
}

int dc_get_raw(struct dc_reader *r, void *out, size_t n) {
  const uint8_t *p;
  int rc = take(r, n, &p);
  if (rc) return rc;
  memcpy(out, p, n);
  return DC_OK;
}

int dc_get_str(struct dc_reader *r, char **out, size_t max) {
  const uint8_t *p;
  size_t n;
  int rc = dc_get_bytes(r, &p, &n, max);
  if (rc) return rc;
  if (memchr(p, 0, n)) {
    r->err = DC_EPROTO;
    return r->err;
  }
  char *s = dc_strndup((const char *)p, n);
  if (!s) {
    r->err = DC_ENOMEM;
    return r->err;
  }
  *out = s;
  return DC_OK;
}

size_t dc_reader_left(const struct dc_reader *r) { return r->len - r->off; }

int dc_reader_finish(const struct dc_reader *r) {
  if (r->err) return r->err;
  if (r->off != r->len) return DC_EPROTO;
  return DC_OK;
}
