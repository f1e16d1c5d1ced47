/* SPDX-License-Identifier: Apache-2.0
 * Frame encoding and the streaming record decoder. The decoder hands out
 * records straight from the caller's chunk when a record lies wholly inside
 * it, and copies only records that span chunks. */
#include <string.h>

#include "net_int.h"

/* A buffer grown for a big spanning record is dropped before a small one, so
 * one megabyte frame does not pin a megabyte per idle connection. */
#define FRAMER_KEEP_BYTES (64u << 10)

int dc_frame_encode(struct dc_buf *out, uint8_t type, uint8_t version,
                    const void *payload, size_t len) {
  if (len > DC_FRAME_MAX) return DC_ETOOBIG;
  size_t old = out->len;
  int rc = dc_buf_reserve(out, DC_FRAME_HDR_BYTES + DC_FRAME_BODY_MIN + len);
  if (rc) return rc;
  rc = dc_buf_put_u32(out, (uint32_t)(len + DC_FRAME_BODY_MIN));
  if (!rc) rc = dc_buf_put_u8(out, type);
  if (!rc) rc = dc_buf_put_u8(out, version);
  if (!rc) rc = dc_buf_append(out, payload, len);
  if (rc) out->len = old; /* cannot happen after reserve; keep out intact */
  return rc;
}

int dc_frame_parse(const uint8_t *body, size_t len, struct dc_frame *out) {
  if (len < DC_FRAME_BODY_MIN) return DC_EPROTO;
  if (len > DC_FRAME_BODY_MAX) return DC_ETOOBIG;
  out->type = body[0];
  out->version = body[1];
  out->payload = body + DC_FRAME_BODY_MIN;
  out->len = len - DC_FRAME_BODY_MIN;
  return DC_OK;
}

static uint32_t clamp_max(uint32_t body_max) {
  return body_max > DC_SEALED_BODY_MAX ? DC_SEALED_BODY_MAX : body_max;
}

void dc_framer_init(struct dc_framer *f, uint32_t body_max) {
  memset(f, 0, sizeof *f);
  f->body_max = clamp_max(body_max);
  f->body.max = DC_SEALED_BODY_MAX;
}

void dc_framer_set_max(struct dc_framer *f, uint32_t body_max) {
  f->body_max = clamp_max(body_max);
}

void dc_framer_close(struct dc_framer *f) {
  dc_buf_free(&f->body);
  f->in_body = false;
  f->hdr_len = 0;
}

static uint32_t be32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
         (uint32_t)p[3];
}

/* Validates a record length; on failure the framer stays failed. */
static int check_len(struct dc_framer *f, uint32_t len) {
  if (len < DC_FRAME_BODY_MIN) {
    f->bad_len = len;
    f->err = DC_EPROTO;
  } else if (len > f->body_max) {
    f->bad_len = len;
    f->err = DC_ETOOBIG;
  }
  return f->err;
}

int dc_framer_next(struct dc_framer *f, const uint8_t *p, size_t n,
                   size_t *used, const uint8_t **body, size_t *body_len) {
  *used = 0;
  *body = NULL;
  *body_len = 0;
  if (f->err) return f->err;
  size_t off = 0;

  /* Fast path: nothing buffered and a whole record in the chunk. */
  if (!f->in_body && f->hdr_len == 0 && n - off >= DC_FRAME_HDR_BYTES) {
    uint32_t len = be32(p);
    if (check_len(f, len)) return f->err;
    if (n - DC_FRAME_HDR_BYTES >= len) {
      *used = DC_FRAME_HDR_BYTES + (size_t)len;
      *body = p + DC_FRAME_HDR_BYTES;
      *body_len = len;
      return DC_OK;
    }
  }

  if (!f->in_body) {
    size_t take = DC_MIN((size_t)(DC_FRAME_HDR_BYTES - f->hdr_len), n - off);
    if (take) memcpy(f->hdr + f->hdr_len, p + off, take);
    f->hdr_len = (uint8_t)(f->hdr_len + take);
    off += take;
    if (f->hdr_len < DC_FRAME_HDR_BYTES) {
      *used = off;
      return DC_OK;
    }
    uint32_t len = be32(f->hdr);
    if (check_len(f, len)) {
      *used = off;
      return f->err;
    }
    f->need = len;
    f->in_body = true;
    if (f->body.alloc > FRAMER_KEEP_BYTES && len <= FRAMER_KEEP_BYTES)
      dc_buf_free(&f->body);
    dc_buf_reset(&f->body);
  }

  size_t want = f->need - f->body.len;
  size_t take = DC_MIN(want, n - off);
  /* Grow to the full record at once: the length is already bounded. */
  int rc = dc_buf_reserve(&f->body, want);
  if (rc) {
    f->err = rc;
    *used = off;
    return rc;
  }
  if (take) dc_buf_append(&f->body, p + off, take); /* reserved: cannot fail */
  off += take;
  *used = off;
  if (f->body.len < f->need) return DC_OK;

  f->in_body = false;
  f->hdr_len = 0;
  *body = f->body.data;
  *body_len = f->body.len;
  return DC_OK;
}
