/* SPDX-License-Identifier: Apache-2.0
 * proto internals: field-level read/write helpers shared by the command and
 * message codecs, and the codecs of the bodies both use (node info, task
 * result). Only the .c files of src/proto include this. */
#ifndef DC_PROTO_INT_H
#define DC_PROTO_INT_H

#include <string.h>

#include "proto/proto.h"

/* A sticky writer, the mirror of dc_reader: after the first error every later
 * put is a no-op, so encoders read as a plain list of fields and check once.
 * On error the buffer is cut back to where encoding started. */
struct proto_w {
  struct dc_buf *b;
  size_t start;
  int err;
};

static inline void pw_init(struct proto_w *w, struct dc_buf *b) {
  w->b = b;
  w->start = b->len;
  w->err = DC_OK;
}
static inline void pw_fail(struct proto_w *w, int err) {
  if (!w->err) w->err = err;
}
static inline int pw_done(struct proto_w *w) {
  if (w->err) w->b->len = w->start;
  return w->err;
}
static inline void pw_u8(struct proto_w *w, uint8_t v) {
  if (!w->err) w->err = dc_buf_put_u8(w->b, v);
}
static inline void pw_u16(struct proto_w *w, uint16_t v) {
  if (!w->err) w->err = dc_buf_put_u16(w->b, v);
}
static inline void pw_u32(struct proto_w *w, uint32_t v) {
  if (!w->err) w->err = dc_buf_put_u32(w->b, v);
}
static inline void pw_i32(struct proto_w *w, int32_t v) {
  pw_u32(w, (uint32_t)v);
}
static inline void pw_u64(struct proto_w *w, uint64_t v) {
  if (!w->err) w->err = dc_buf_put_u64(w->b, v);
}
static inline void pw_i64(struct proto_w *w, int64_t v) {
  if (!w->err) w->err = dc_buf_put_i64(w->b, v);
}
static inline void pw_f64(struct proto_w *w, double v) {
  if (!w->err) w->err = dc_buf_put_f64(w->b, v);
}
static inline void pw_raw(struct proto_w *w, const void *p, size_t n) {
  if (!w->err) w->err = dc_buf_append(w->b, p, n);
}
static inline void pw_bytes(struct proto_w *w, const void *p, size_t n,
                            size_t max) {
  if (n > max) pw_fail(w, DC_ETOOBIG);
  if (!w->err) w->err = dc_buf_put_bytes(w->b, p, n);
}
/* u32 length + bytes; NULL is "". */
static inline void pw_str(struct proto_w *w, const char *s, size_t max) {
  pw_bytes(w, s ? s : "", s ? strlen(s) : 0, max);
}
/* A list count; min is 0 or 1. */
static inline void pw_count(struct proto_w *w, size_t n, size_t min,
                            size_t max) {
  if (n > max) pw_fail(w, DC_ETOOBIG);
  if (n < min) pw_fail(w, DC_EINVAL);
  pw_u32(w, (uint32_t)n);
}

/* Reader side: failures go into the dc_reader's sticky error. */
static inline void pr_fail(struct dc_reader *r, int err) {
  if (!r->err) r->err = err;
}
static inline void pr_i32(struct dc_reader *r, int32_t *v) {
  uint32_t u = 0;
  dc_get_u32(r, &u);
  *v = (int32_t)u;
}

/* Field helpers with one definition each (codec.c). */
void proto_put_task_id(struct proto_w *w, const char *s); /* 1..DC_TASK_ID_MAX */
void proto_get_task_id(struct dc_reader *r, char **out);
/* Job ids travel as their 32 raw hex chars, no length prefix. */
void proto_put_job_id(struct proto_w *w, const char *s);
void proto_get_job_id(struct dc_reader *r, char out[DC_JOB_ID_LEN + 1]);
/* Allocated copy of a length-prefixed byte string (NULL when empty). */
void proto_get_bytes_dup(struct dc_reader *r, uint8_t **out, size_t *n,
                         size_t max);
/* Reads a u32 list count in [min, max] (DC_ETOOBIG above max, DC_EPROTO
 * below min) and returns that many zeroed items of size bytes, setting *n
 * only then, so the caller's free routine is safe at every point. An item
 * encodes to at least item_min_bytes: counts the input cannot hold are
 * refused (DC_ETRUNCATED) before anything is allocated for them. Returns
 * NULL with *n untouched for an empty list or on error. */
void *proto_get_list(struct dc_reader *r, size_t *n, size_t size, size_t min,
                     size_t max, size_t item_min_bytes);

/* Shared bodies. The put functions validate what the get functions check. */
void proto_put_node_info(struct proto_w *w, const struct dc_node_info *ni);
void proto_get_node_info(struct dc_reader *r, struct dc_node_info *ni);
void proto_node_info_free(struct dc_node_info *ni);
/* The role travels as one optional byte at the very end of a body, present
 * only for a dynamic node, so encodings from before roles still decode (as
 * fixed) and every value keeps exactly one encoding. */
void proto_put_node_role(struct proto_w *w, uint8_t role);
void proto_get_node_role(struct dc_reader *r, uint8_t *role);

void proto_put_task_result(struct proto_w *w, const struct dc_task_result *tr);
void proto_get_task_result(struct dc_reader *r, struct dc_task_result *tr);
void proto_task_result_free(struct dc_task_result *tr);

/* Signs / verifies the bytes a writer callback produces; the domain tag
 * comes first so a signature for one kind can never pass as another. */
typedef void (*proto_body_fn)(struct proto_w *w, const void *obj);
int proto_signing_bytes(const char *tag, proto_body_fn body, const void *obj,
                        struct dc_buf *out);
int proto_sign(const char *tag, proto_body_fn body, const void *obj,
               const struct dc_identity *id, uint8_t sig[DC_SIG_BYTES]);
int proto_verify(const char *tag, proto_body_fn body, const void *obj,
                 const uint8_t pk[DC_PK_BYTES],
                 const uint8_t sig[DC_SIG_BYTES]);

#endif /* DC_PROTO_INT_H */
