/* SPDX-License-Identifier: Apache-2.0
 * Field-level helpers shared by every proto codec, the node-info body used by
 * both NODE_REGISTER and REGISTER, and domain-tagged signing. Each wire rule
 * (id formats, list bounds, coordinate ranges) is written once, here. */
#include "proto/proto_int.h"

/* ---- ids ----------------------------------------------------------------- */

void proto_put_task_id(struct proto_w *w, const char *s) {
  /* An empty id would collide across tasks in every table keyed by it. */
  if (!s || !*s) pw_fail(w, DC_EINVAL);
  pw_str(w, s, DC_TASK_ID_MAX);
}

void proto_get_task_id(struct dc_reader *r, char **out) {
  if (dc_get_str(r, out, DC_TASK_ID_MAX)) return;
  if (!**out) pr_fail(r, DC_EPROTO);
}

static bool job_id_ok(const char *s) {
  /* Lowercase only: ids are compared bytewise, so "AB" and "ab" must not
   * both be valid spellings of one job. */
  for (size_t i = 0; i < DC_JOB_ID_LEN; i++) {
    char c = s[i];
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

void proto_put_job_id(struct proto_w *w, const char *s) {
  if (!s || strlen(s) != DC_JOB_ID_LEN || !job_id_ok(s)) {
    pw_fail(w, DC_EINVAL);
    return;
  }
  pw_raw(w, s, DC_JOB_ID_LEN);
}

void proto_get_job_id(struct dc_reader *r, char out[DC_JOB_ID_LEN + 1]) {
  memset(out, 0, DC_JOB_ID_LEN + 1);
  if (dc_get_raw(r, out, DC_JOB_ID_LEN)) return;
  if (!job_id_ok(out)) pr_fail(r, DC_EPROTO);
}

/* ---- bytes and lists --------------------------------------------------- */

void proto_get_bytes_dup(struct dc_reader *r, uint8_t **out, size_t *n,
                         size_t max) {
  const uint8_t *p;
  size_t len;
  if (dc_get_bytes(r, &p, &len, max)) return;
  if (len == 0) return;
  uint8_t *d = dc_malloc(len);
  if (!d) {
    pr_fail(r, DC_ENOMEM);
    return;
  }
  memcpy(d, p, len);
  *out = d;
  *n = len;
}

void *proto_get_list(struct dc_reader *r, size_t *n, size_t size, size_t min,
                     size_t max, size_t item_min_bytes) {
  uint32_t count;
  if (dc_get_u32(r, &count)) return NULL;
  if (count > max) {
    pr_fail(r, DC_ETOOBIG);
    return NULL;
  }
  if (count < min) {
    pr_fail(r, DC_EPROTO);
    return NULL;
  }
  if (count == 0) return NULL;
  /* Ten garbage bytes must not make us allocate for 4096 items. */
  if ((size_t)count > dc_reader_left(r) / item_min_bytes) {
    pr_fail(r, DC_ETRUNCATED);
    return NULL;
  }
  void *items = dc_calloc(count, size);
  if (!items) {
    pr_fail(r, DC_ENOMEM);
    return NULL;
  }
  *n = count;
  return items;
}

/* ---- node info ----------------------------------------------------------- */

static bool coords_ok(double lat, double lon) {
  /* Written so that NaN fails every comparison and is refused. */
  return lat >= -90.0 && lat <= 90.0 && lon >= -180.0 && lon <= 180.0;
}

void proto_put_node_info(struct proto_w *w, const struct dc_node_info *ni) {
  if (!coords_ok(ni->lat, ni->lon)) pw_fail(w, DC_EINVAL);
  pw_raw(w, ni->node_id, DC_PK_BYTES);
  pw_str(w, ni->name, DC_NODE_NAME_MAX);
  pw_str(w, ni->addr, DC_NODE_ADDR_MAX);
  pw_u32(w, ni->cpu_millis);
  pw_u64(w, ni->memory_mb);
  pw_u64(w, ni->disk_mb);
  pw_u32(w, ni->gpu);
  pw_u64(w, ni->price_cpu_hour);
  pw_u64(w, ni->price_mem_gb_hour);
  pw_f64(w, ni->lat);
  pw_f64(w, ni->lon);
  pw_str(w, ni->classes, DC_NODE_CLASSES_MAX);
  pw_str(w, ni->labels_json, DC_NODE_LABELS_MAX);
  pw_str(w, ni->sandbox, DC_NODE_SANDBOX_MAX);
}

void proto_get_node_info(struct dc_reader *r, struct dc_node_info *ni) {
  dc_get_raw(r, ni->node_id, DC_PK_BYTES);
  dc_get_str(r, &ni->name, DC_NODE_NAME_MAX);
  dc_get_str(r, &ni->addr, DC_NODE_ADDR_MAX);
  dc_get_u32(r, &ni->cpu_millis);
  dc_get_u64(r, &ni->memory_mb);
  dc_get_u64(r, &ni->disk_mb);
  dc_get_u32(r, &ni->gpu);
  dc_get_u64(r, &ni->price_cpu_hour);
  dc_get_u64(r, &ni->price_mem_gb_hour);
  if (!dc_get_f64(r, &ni->lat) && !dc_get_f64(r, &ni->lon) &&
      !coords_ok(ni->lat, ni->lon))
    pr_fail(r, DC_EPROTO);
  dc_get_str(r, &ni->classes, DC_NODE_CLASSES_MAX);
  dc_get_str(r, &ni->labels_json, DC_NODE_LABELS_MAX);
  dc_get_str(r, &ni->sandbox, DC_NODE_SANDBOX_MAX);
}

void proto_put_node_role(struct proto_w *w, uint8_t role) {
  if (role > DC_NODE_DYNAMIC) pw_fail(w, DC_EINVAL);
  if (role != DC_NODE_FIXED) pw_u8(w, role);
}

void proto_get_node_role(struct dc_reader *r, uint8_t *role) {
  *role = DC_NODE_FIXED;
  if (r->err || r->off == r->len) return;
  /* Present means dynamic: a zero byte would be a second encoding of fixed. */
  if (!dc_get_u8(r, role) && *role != DC_NODE_DYNAMIC) pr_fail(r, DC_EPROTO);
}

void proto_node_info_free(struct dc_node_info *ni) {
  dc_free(ni->name);
  dc_free(ni->addr);
  dc_free(ni->classes);
  dc_free(ni->labels_json);
  dc_free(ni->sandbox);
  memset(ni, 0, sizeof *ni);
}

/* ---- signing --------------------------------------------------------------- */

/* Longest domain tag we use; the tag is ours, never input. */
#define TAG_MAX 32

int proto_signing_bytes(const char *tag, proto_body_fn body, const void *obj,
                        struct dc_buf *out) {
  struct proto_w w;
  pw_init(&w, out);
  pw_str(&w, tag, TAG_MAX);
  body(&w, obj);
  return pw_done(&w);
}

int proto_sign(const char *tag, proto_body_fn body, const void *obj,
               const struct dc_identity *id, uint8_t sig[DC_SIG_BYTES]) {
  struct dc_buf b = {0};
  int rc = proto_signing_bytes(tag, body, obj, &b);
  if (!rc) rc = dc_sign(id, b.data, b.len, sig);
  dc_buf_free(&b);
  return rc;
}

int proto_verify(const char *tag, proto_body_fn body, const void *obj,
                 const uint8_t pk[DC_PK_BYTES],
                 const uint8_t sig[DC_SIG_BYTES]) {
  struct dc_buf b = {0};
  int rc = proto_signing_bytes(tag, body, obj, &b);
  if (!rc) rc = dc_verify(pk, b.data, b.len, sig) ? DC_EBADSIG : DC_OK;
  dc_buf_free(&b);
  return rc;
}
