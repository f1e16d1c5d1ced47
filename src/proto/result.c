/* SPDX-License-Identifier: Apache-2.0
 * The task result: one codec for the TASK_FINISHED command and the TASK_DONE
 * message, and the provider's signature over it. Signing bytes are the
 * encoding minus the signature, so what is signed is exactly what is logged. */
#include "proto/proto_int.h"

#define RESULT_TAG "dc-result-v1"
/* path (u32 + >=1 byte) + data length u32 */
#define OUTPUT_MIN_BYTES 9

static void put_result_fields(struct proto_w *w, const void *obj) {
  const struct dc_task_result *tr = obj;
  if (tr->outcome < DC_OUTCOME_SUCCEEDED || tr->outcome > DC_OUTCOME_ERROR)
    pw_fail(w, DC_EINVAL);
  proto_put_task_id(w, tr->task_id);
  pw_u32(w, tr->attempt);
  pw_raw(w, tr->node_id, DC_PK_BYTES);
  pw_u8(w, tr->outcome);
  pw_i32(w, tr->exit_code);
  pw_i32(w, tr->term_signal);
  pw_u64(w, tr->usage.cpu_user_us);
  pw_u64(w, tr->usage.cpu_sys_us);
  pw_u64(w, tr->usage.peak_memory_bytes);
  pw_u64(w, tr->usage.wall_ms);
  pw_str(w, tr->mechanism, DC_MECHANISM_MAX);
  pw_str(w, tr->reason, DC_RESULT_REASON_MAX);
  pw_count(w, tr->noutputs, 0, DC_OUTPUTS_MAX);
  if (tr->noutputs && !tr->outputs) pw_fail(w, DC_EINVAL);
  size_t total = 0;
  for (size_t i = 0; i < tr->noutputs && !w->err; i++) {
    const struct dc_output_file *f = &tr->outputs[i];
    if (!f->path || !*f->path || (f->len && !f->data)) pw_fail(w, DC_EINVAL);
    pw_str(w, f->path, DC_OUTPUT_PATH_MAX);
    /* The budget left for this file is what the decoder will allow. */
    pw_bytes(w, f->data, f->len, DC_OUTPUTS_BYTES_MAX - total);
    total += f->len;
  }
}

void proto_put_task_result(struct proto_w *w, const struct dc_task_result *tr) {
  put_result_fields(w, tr);
  pw_raw(w, tr->sig, DC_SIG_BYTES);
}

void proto_get_task_result(struct dc_reader *r, struct dc_task_result *tr) {
  proto_get_task_id(r, &tr->task_id);
  dc_get_u32(r, &tr->attempt);
  dc_get_raw(r, tr->node_id, DC_PK_BYTES);
  if (!dc_get_u8(r, &tr->outcome) &&
      (tr->outcome < DC_OUTCOME_SUCCEEDED || tr->outcome > DC_OUTCOME_ERROR))
    pr_fail(r, DC_EPROTO);
  pr_i32(r, &tr->exit_code);
  pr_i32(r, &tr->term_signal);
  dc_get_u64(r, &tr->usage.cpu_user_us);
  dc_get_u64(r, &tr->usage.cpu_sys_us);
  dc_get_u64(r, &tr->usage.peak_memory_bytes);
  dc_get_u64(r, &tr->usage.wall_ms);
  dc_get_str(r, &tr->mechanism, DC_MECHANISM_MAX);
  dc_get_str(r, &tr->reason, DC_RESULT_REASON_MAX);
  tr->outputs = proto_get_list(r, &tr->noutputs, sizeof *tr->outputs, 0,
                               DC_OUTPUTS_MAX, OUTPUT_MIN_BYTES);
  size_t total = 0;
  for (size_t i = 0; i < tr->noutputs && !r->err; i++) {
    struct dc_output_file *f = &tr->outputs[i];
    if (!dc_get_str(r, &f->path, DC_OUTPUT_PATH_MAX) && !*f->path)
      pr_fail(r, DC_EPROTO);
    proto_get_bytes_dup(r, &f->data, &f->len, DC_OUTPUTS_BYTES_MAX - total);
    total += f->len;
  }
  dc_get_raw(r, tr->sig, DC_SIG_BYTES);
}

void proto_task_result_free(struct dc_task_result *tr) {
  dc_free(tr->task_id);
  dc_free(tr->mechanism);
  dc_free(tr->reason);
  for (size_t i = 0; i < tr->noutputs; i++) {
    dc_free(tr->outputs[i].path);
    dc_free(tr->outputs[i].data);
  }
  dc_free(tr->outputs);
  memset(tr, 0, sizeof *tr);
}

int dc_task_result_signing_bytes(const struct dc_task_result *r,
                                 struct dc_buf *out) {
  return proto_signing_bytes(RESULT_TAG, put_result_fields, r, out);
}

int dc_task_result_sign(struct dc_task_result *r,
                        const struct dc_identity *id) {
  /* A signature by any other key could never verify against node_id. */
  if (!id->sk || memcmp(id->pk, r->node_id, DC_PK_BYTES) != 0)
    return DC_EINVAL;
  return proto_sign(RESULT_TAG, put_result_fields, r, id, r->sig);
}

int dc_task_result_verify(const struct dc_task_result *r) {
  return proto_verify(RESULT_TAG, put_result_fields, r, r->node_id, r->sig);
}
