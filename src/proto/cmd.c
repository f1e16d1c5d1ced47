/* SPDX-License-Identifier: Apache-2.0
 * Codec of the replicated-log commands: a fixed header (magic, codec version,
 * type, proposal id, proposer timestamp) then a per-type body. Entries are
 * kept forever, so decoding is keyed on the entry's own codec version. */
#include "proto/proto_int.h"

/* task_id (u32 + >=1 byte) + attempt u32 + node id */
#define ASSIGN_MIN_BYTES (5 + 4 + DC_PK_BYTES)

static const char *const cmd_names[] = {
    [DC_CMD_MIGRATE] = "migrate",
    [DC_CMD_NODE_REGISTER] = "node_register",
    [DC_CMD_NODE_DEAD] = "node_dead",
    [DC_CMD_JOB_SUBMIT] = "job_submit",
    [DC_CMD_JOB_CANCEL] = "job_cancel",
    [DC_CMD_TASK_ASSIGN] = "task_assign",
    [DC_CMD_TASK_STARTED] = "task_started",
    [DC_CMD_TASK_FINISHED] = "task_finished",
    [DC_CMD_MASTER_SET] = "master_set",
    [DC_CMD_MASTER_REMOVE] = "master_remove",
    [DC_CMD_NODE_CLUSTER_SET] = "node_cluster_set",
    [DC_CMD_TX] = "tx",
    [DC_CMD_LEDGER] = "ledger",
};

static bool cmd_type_known(uint16_t type) {
  return type < DC_ARRAY_LEN(cmd_names) && cmd_names[type];
}

const char *dc_cmd_type_name(uint16_t type) {
  return cmd_type_known(type) ? cmd_names[type] : "unknown";
}

/* ---- encode ------------------------------------------------------------- */

static size_t blob_max(uint16_t type) {
  return type == DC_CMD_TX ? DC_CMD_TX_MAX : DC_CMD_LEDGER_MAX;
}

static void put_assign(struct proto_w *w, const struct dc_cmd_task_assign *a) {
  pw_count(w, a->n, 1, DC_ASSIGN_MAX);
  if (a->n && !a->items) pw_fail(w, DC_EINVAL);
  for (size_t i = 0; i < a->n && !w->err; i++) {
    proto_put_task_id(w, a->items[i].task_id);
    pw_u32(w, a->items[i].attempt);
    pw_raw(w, a->items[i].node_id, DC_PK_BYTES);
  }
}

/* node id + cluster (u32 + 0 bytes) + group u32 */
#define CLUSTER_ITEM_MIN_BYTES (DC_PK_BYTES + 4 + 4)

static void put_cluster_set(struct proto_w *w, const struct dc_cmd_node_cluster_set *a) {
  pw_count(w, a->n, 1, DC_CLUSTER_SET_MAX);
  if (a->n && !a->items) pw_fail(w, DC_EINVAL);
  for (size_t i = 0; i < a->n && !w->err; i++) {
    pw_raw(w, a->items[i].node_id, DC_PK_BYTES);
    pw_str(w, a->items[i].cluster, DC_CLUSTER_NAME_MAX);
    pw_u32(w, a->items[i].group);
  }
  pw_str(w, a->reason, DC_CLUSTER_REASON_MAX);
}

static void put_body(struct proto_w *w, const struct dc_cmd *c) {
  switch (c->type) {
  case DC_CMD_MIGRATE:
    pw_u32(w, c->u.migrate.schema_version);
    break;
  case DC_CMD_NODE_REGISTER:
    proto_put_node_info(w, &c->u.node_register.node);
    proto_put_node_role(w, c->u.node_register.node.role);
    break;
  case DC_CMD_NODE_DEAD:
    pw_raw(w, c->u.node_dead.node_id, DC_PK_BYTES);
    pw_str(w, c->u.node_dead.reason, DC_DEAD_REASON_MAX);
    break;
  case DC_CMD_JOB_SUBMIT:
    proto_put_job_id(w, c->u.job_submit.job_id);
    pw_raw(w, c->u.job_submit.owner, DC_PK_BYTES);
    pw_str(w, c->u.job_submit.idem_key, DC_IDEM_KEY_MAX);
    pw_str(w, c->u.job_submit.spec_json, DC_SPEC_JSON_MAX);
    break;
  case DC_CMD_JOB_CANCEL:
    proto_put_job_id(w, c->u.job_cancel.job_id);
    pw_raw(w, c->u.job_cancel.owner, DC_PK_BYTES);
    break;
  case DC_CMD_TASK_ASSIGN:
    put_assign(w, &c->u.task_assign);
    break;
  case DC_CMD_TASK_STARTED:
    proto_put_task_id(w, c->u.task_started.task_id);
    pw_u32(w, c->u.task_started.attempt);
    pw_raw(w, c->u.task_started.node_id, DC_PK_BYTES);
    break;
  case DC_CMD_TASK_FINISHED:
    proto_put_task_result(w, &c->u.task_finished.r);
    break;
  case DC_CMD_MASTER_SET: {
    const struct dc_cmd_master_set *m = &c->u.master_set;
    if (!m->id || m->role > DC_MASTER_VOTER || !m->raft_addr || !*m->raft_addr)
      pw_fail(w, DC_EINVAL);
    pw_u64(w, m->id);
    pw_u8(w, m->role);
    pw_str(w, m->raft_addr, DC_MASTER_ADDR_MAX);
    pw_str(w, m->api_url, DC_MASTER_ADDR_MAX);
    pw_str(w, m->session_addr, DC_MASTER_ADDR_MAX);
    break;
  }
  case DC_CMD_MASTER_REMOVE:
    if (!c->u.master_remove.id) pw_fail(w, DC_EINVAL);
    pw_u64(w, c->u.master_remove.id);
    break;
  case DC_CMD_NODE_CLUSTER_SET:
    put_cluster_set(w, &c->u.cluster_set);
    break;
  case DC_CMD_TX:
  case DC_CMD_LEDGER:
    if (!c->u.blob.len || !c->u.blob.data) pw_fail(w, DC_EINVAL);
    pw_bytes(w, c->u.blob.data, c->u.blob.len, blob_max(c->type));
    break;
  default:
    pw_fail(w, DC_EINVAL);
  }
}

int dc_cmd_encode(const struct dc_cmd *c, struct dc_buf *out) {
  struct proto_w w;
  pw_init(&w, out);
  pw_u16(&w, DC_CMD_MAGIC);
  pw_u8(&w, DC_CMD_CODEC_VERSION);
  pw_u16(&w, c->type);
  pw_u64(&w, c->proposal_id);
  pw_i64(&w, c->ts_ms);
  put_body(&w, c);
  return pw_done(&w);
}

/* ---- decode --------------------------------------------------------------- */

static void get_assign(struct dc_reader *r, struct dc_cmd_task_assign *a) {
  a->items = proto_get_list(r, &a->n, sizeof *a->items, 1, DC_ASSIGN_MAX,
                            ASSIGN_MIN_BYTES);
  for (size_t i = 0; i < a->n && !r->err; i++) {
    proto_get_task_id(r, &a->items[i].task_id);
    dc_get_u32(r, &a->items[i].attempt);
    dc_get_raw(r, a->items[i].node_id, DC_PK_BYTES);
  }
}

static void get_cluster_set(struct dc_reader *r, struct dc_cmd_node_cluster_set *a) {
  a->items = proto_get_list(r, &a->n, sizeof *a->items, 1, DC_CLUSTER_SET_MAX,
                            CLUSTER_ITEM_MIN_BYTES);
  for (size_t i = 0; i < a->n && !r->err; i++) {
    dc_get_raw(r, a->items[i].node_id, DC_PK_BYTES);
    dc_get_str(r, &a->items[i].cluster, DC_CLUSTER_NAME_MAX);
    dc_get_u32(r, &a->items[i].group);
  }
  dc_get_str(r, &a->reason, DC_CLUSTER_REASON_MAX);
}

/* ver is the entry's codec version. Version 1 is the only one so far; when a
 * body gains a field, version 2 reads it under `if (ver >= 2)` and version 1
 * entries keep decoding with the field zeroed. */
static void get_body(struct dc_reader *r, unsigned ver, struct dc_cmd *c) {
  (void)ver;
  switch (c->type) {
  case DC_CMD_MIGRATE:
    dc_get_u32(r, &c->u.migrate.schema_version);
    break;
  case DC_CMD_NODE_REGISTER:
    proto_get_node_info(r, &c->u.node_register.node);
    proto_get_node_role(r, &c->u.node_register.node.role);
    break;
  case DC_CMD_NODE_DEAD:
    dc_get_raw(r, c->u.node_dead.node_id, DC_PK_BYTES);
    dc_get_str(r, &c->u.node_dead.reason, DC_DEAD_REASON_MAX);
    break;
  case DC_CMD_JOB_SUBMIT:
    proto_get_job_id(r, c->u.job_submit.job_id);
    dc_get_raw(r, c->u.job_submit.owner, DC_PK_BYTES);
    dc_get_str(r, &c->u.job_submit.idem_key, DC_IDEM_KEY_MAX);
    dc_get_str(r, &c->u.job_submit.spec_json, DC_SPEC_JSON_MAX);
    break;
  case DC_CMD_JOB_CANCEL:
    proto_get_job_id(r, c->u.job_cancel.job_id);
    dc_get_raw(r, c->u.job_cancel.owner, DC_PK_BYTES);
    break;
  case DC_CMD_TASK_ASSIGN:
    get_assign(r, &c->u.task_assign);
    break;
  case DC_CMD_TASK_STARTED:
    proto_get_task_id(r, &c->u.task_started.task_id);
    dc_get_u32(r, &c->u.task_started.attempt);
    dc_get_raw(r, c->u.task_started.node_id, DC_PK_BYTES);
    break;
  case DC_CMD_TASK_FINISHED:
    proto_get_task_result(r, &c->u.task_finished.r);
    break;
  case DC_CMD_MASTER_SET: {
    struct dc_cmd_master_set *m = &c->u.master_set;
    dc_get_u64(r, &m->id);
    dc_get_u8(r, &m->role);
    dc_get_str(r, &m->raft_addr, DC_MASTER_ADDR_MAX);
    dc_get_str(r, &m->api_url, DC_MASTER_ADDR_MAX);
    dc_get_str(r, &m->session_addr, DC_MASTER_ADDR_MAX);
    if (!r->err && (!m->id || m->role > DC_MASTER_VOTER || !*m->raft_addr))
      pr_fail(r, DC_EPROTO);
    break;
  }
  case DC_CMD_MASTER_REMOVE:
    dc_get_u64(r, &c->u.master_remove.id);
    if (!r->err && !c->u.master_remove.id) pr_fail(r, DC_EPROTO);
    break;
  case DC_CMD_NODE_CLUSTER_SET:
    get_cluster_set(r, &c->u.cluster_set);
    break;
  case DC_CMD_TX:
  case DC_CMD_LEDGER:
    proto_get_bytes_dup(r, &c->u.blob.data, &c->u.blob.len, blob_max(c->type));
    if (!r->err && !c->u.blob.len) pr_fail(r, DC_EPROTO);
    break;
  default: /* unreachable: the type was checked against cmd_names */
    pr_fail(r, DC_EPROTO);
  }
}

int dc_cmd_decode(const uint8_t *p, size_t n, struct dc_cmd *out) {
  memset(out, 0, sizeof *out);
  struct dc_reader r;
  dc_reader_init(&r, p, n);
  uint16_t magic = 0, type = 0;
  uint8_t ver = 0;
  if (!dc_get_u16(&r, &magic) && magic != DC_CMD_MAGIC) pr_fail(&r, DC_EPROTO);
  if (!dc_get_u8(&r, &ver) &&
      (ver < DC_CMD_CODEC_MIN_VERSION || ver > DC_CMD_CODEC_VERSION))
    pr_fail(&r, DC_EVERSION);
  if (!dc_get_u16(&r, &type) && !cmd_type_known(type)) pr_fail(&r, DC_EPROTO);

  struct dc_cmd c = {.type = type};
  dc_get_u64(&r, &c.proposal_id);
  dc_get_i64(&r, &c.ts_ms);
  if (!r.err) get_body(&r, ver, &c);
  int rc = dc_reader_finish(&r);
  if (rc) {
    dc_cmd_free(&c);
    return rc;
  }
  *out = c;
  return DC_OK;
}

int dc_cmd_peek(const uint8_t *p, size_t n, uint16_t *type,
                uint64_t *proposal_id) {
  struct dc_reader r;
  dc_reader_init(&r, p, n);
  uint16_t magic = 0;
  uint8_t ver = 0;
  dc_get_u16(&r, &magic);
  dc_get_u8(&r, &ver);
  dc_get_u16(&r, type);
  dc_get_u64(&r, proposal_id);
  if (r.err) return r.err;
  return magic == DC_CMD_MAGIC ? DC_OK : DC_EPROTO;
}

void dc_cmd_free(struct dc_cmd *c) {
  switch (c->type) {
  case DC_CMD_NODE_REGISTER:
    proto_node_info_free(&c->u.node_register.node);
    break;
  case DC_CMD_NODE_DEAD:
    dc_free(c->u.node_dead.reason);
    break;
  case DC_CMD_JOB_SUBMIT:
    dc_free(c->u.job_submit.idem_key);
    dc_free(c->u.job_submit.spec_json);
    break;
  case DC_CMD_TASK_ASSIGN:
    for (size_t i = 0; i < c->u.task_assign.n; i++)
      dc_free(c->u.task_assign.items[i].task_id);
    dc_free(c->u.task_assign.items);
    break;
  case DC_CMD_TASK_STARTED:
    dc_free(c->u.task_started.task_id);
    break;
  case DC_CMD_TASK_FINISHED:
    proto_task_result_free(&c->u.task_finished.r);
    break;
  case DC_CMD_MASTER_SET:
    dc_free(c->u.master_set.raft_addr);
    dc_free(c->u.master_set.api_url);
    dc_free(c->u.master_set.session_addr);
    break;
  case DC_CMD_NODE_CLUSTER_SET:
    for (size_t i = 0; i < c->u.cluster_set.n; i++)
      dc_free(c->u.cluster_set.items[i].cluster);
    dc_free(c->u.cluster_set.items);
    dc_free(c->u.cluster_set.reason);
    break;
  case DC_CMD_TX:
  case DC_CMD_LEDGER:
    dc_free(c->u.blob.data);
    break;
  default: /* migrate, job_cancel, unknown: nothing owned */
    break;
  }
  memset(c, 0, sizeof *c);
}
