/* SPDX-License-Identifier: Apache-2.0
 * Codec of the session messages between a provider agent and the masters.
 * The net frame carries type and version, so a payload is just the body; the
 * provider's heartbeat is signed, as its usage reports feed billing. */
#include "proto/proto_int.h"

#define USAGE_TAG "dc-usage-v1"
/* task_id (u32 + >=1 byte) + attempt u32 [+ cpu_us u64 + memory_bytes u64] */
#define TASK_REF_MIN_BYTES (5 + 4)
#define SAMPLE_MIN_BYTES (5 + 4 + 8 + 8)

#define MSG_BASE DC_MSG_REGISTER
static const char *const msg_names[] = {
    [DC_MSG_REGISTER - MSG_BASE] = "register",
    [DC_MSG_REGISTERED - MSG_BASE] = "registered",
    [DC_MSG_HEARTBEAT - MSG_BASE] = "heartbeat",
    [DC_MSG_RUN_TASK - MSG_BASE] = "run_task",
    [DC_MSG_TASK_STARTED - MSG_BASE] = "task_started",
    [DC_MSG_TASK_LOG - MSG_BASE] = "task_log",
    [DC_MSG_TASK_DONE - MSG_BASE] = "task_done",
    [DC_MSG_TASK_ACK - MSG_BASE] = "task_ack",
    [DC_MSG_KILL_TASK - MSG_BASE] = "kill_task",
    [DC_MSG_TICKS - MSG_BASE] = "ticks",
    [DC_MSG_CHANNELS - MSG_BASE] = "channels",
    [DC_MSG_LEDGER_TX - MSG_BASE] = "ledger_tx",
};

static bool msg_type_known(uint8_t type) {
  return type >= MSG_BASE && type - MSG_BASE < (int)DC_ARRAY_LEN(msg_names) &&
         msg_names[type - MSG_BASE];
}

const char *dc_msg_type_name(uint8_t type) {
  return msg_type_known(type) ? msg_names[type - MSG_BASE] : "unknown";
}

/* ---- encode ------------------------------------------------------------- */

static void put_register(struct proto_w *w, const struct dc_msg_register *m) {
  proto_put_node_info(w, &m->node);
  pw_count(w, m->nrunning, 0, DC_RUNNING_MAX);
  if (m->nrunning && !m->running) pw_fail(w, DC_EINVAL);
  for (size_t i = 0; i < m->nrunning && !w->err; i++) {
    proto_put_task_id(w, m->running[i].task_id);
    pw_u32(w, m->running[i].attempt);
  }
  proto_put_node_role(w, m->node.role);
}

static void put_heartbeat_fields(struct proto_w *w, const void *obj) {
  const struct dc_msg_heartbeat *m = obj;
  pw_u64(w, m->seq);
  pw_i64(w, m->ts_ms);
  pw_u32(w, m->cpu_millis_used);
  pw_u64(w, m->mem_used_bytes);
  pw_u64(w, m->mem_total_bytes);
  pw_u64(w, m->disk_used_bytes);
  pw_u64(w, m->disk_total_bytes);
  pw_u64(w, m->net_rx_bytes);
  pw_u64(w, m->net_tx_bytes);
  pw_count(w, m->ntasks, 0, DC_HB_TASKS_MAX);
  if (m->ntasks && !m->tasks) pw_fail(w, DC_EINVAL);
  for (size_t i = 0; i < m->ntasks && !w->err; i++) {
    proto_put_task_id(w, m->tasks[i].task_id);
    pw_u32(w, m->tasks[i].attempt);
    pw_u64(w, m->tasks[i].cpu_us);
    pw_u64(w, m->tasks[i].memory_bytes);
  }
}

static void put_body(struct proto_w *w, const struct dc_msg *m) {
  switch (m->type) {
  case DC_MSG_REGISTER:
    put_register(w, &m->u.reg);
    break;
  case DC_MSG_REGISTERED:
    pw_i64(w, m->u.registered.master_ts_ms);
    pw_u32(w, m->u.registered.heartbeat_ms);
    break;
  case DC_MSG_HEARTBEAT:
    put_heartbeat_fields(w, &m->u.heartbeat);
    pw_raw(w, m->u.heartbeat.sig, DC_SIG_BYTES);
    break;
  case DC_MSG_RUN_TASK:
    proto_put_task_id(w, m->u.run_task.task_id);
    pw_u32(w, m->u.run_task.attempt);
    proto_put_job_id(w, m->u.run_task.job_id);
    pw_str(w, m->u.run_task.task_name, DC_TASK_NAME_MAX);
    pw_u32(w, m->u.run_task.index);
    pw_str(w, m->u.run_task.task_json, DC_TASK_JSON_MAX);
    break;
  case DC_MSG_TASK_STARTED:
    proto_put_task_id(w, m->u.task_started.task_id);
    pw_u32(w, m->u.task_started.attempt);
    pw_i64(w, m->u.task_started.ts_ms);
    break;
  case DC_MSG_TASK_LOG: {
    const struct dc_msg_task_log *l = &m->u.task_log;
    if (l->stream != DC_STREAM_STDOUT && l->stream != DC_STREAM_STDERR)
      pw_fail(w, DC_EINVAL);
    if (l->len && !l->data) pw_fail(w, DC_EINVAL);
    proto_put_task_id(w, l->task_id);
    pw_u32(w, l->attempt);
    pw_u8(w, l->stream);
    pw_u64(w, l->offset);
    pw_bytes(w, l->data, l->len, DC_LOG_CHUNK_MAX);
    break;
  }
  case DC_MSG_TASK_DONE:
    proto_put_task_result(w, &m->u.task_done);
    break;
  case DC_MSG_TASK_ACK:
    /* Only 0 and 1: any other byte would be a second spelling of "yes". */
    if (m->u.task_ack.accepted > 1) pw_fail(w, DC_EINVAL);
    proto_put_task_id(w, m->u.task_ack.task_id);
    pw_u32(w, m->u.task_ack.attempt);
    pw_u8(w, m->u.task_ack.accepted);
    pw_str(w, m->u.task_ack.reason, DC_MSG_REASON_MAX);
    break;
  case DC_MSG_KILL_TASK:
    proto_put_task_id(w, m->u.kill_task.task_id);
    pw_u32(w, m->u.kill_task.attempt);
    pw_str(w, m->u.kill_task.reason, DC_MSG_REASON_MAX);
    break;
  case DC_MSG_TICKS: {
    const struct dc_msg_ticks *t = &m->u.ticks;
    pw_raw(w, t->channel, DC_HASH_BYTES);
    pw_raw(w, t->anchor, DC_HASH_BYTES);
    pw_u32(w, t->length);
    pw_count(w, t->n, 1, DC_TICKS_MAX);
    if (t->n && !t->ticks) pw_fail(w, DC_EINVAL);
    for (size_t i = 0; i < t->n && !w->err; i++) {
      pw_u32(w, t->ticks[i].index);
      pw_raw(w, t->ticks[i].word, DC_HASH_BYTES);
    }
    break;
  }
  case DC_MSG_CHANNELS: {
    const struct dc_msg_channels *c = &m->u.channels;
    pw_str(w, c->chain_id, DC_MSG_CHAIN_ID_MAX);
    pw_u64(w, c->height);
    pw_u64(w, c->nonce);
    pw_raw(w, c->head, DC_HASH_BYTES);
    pw_count(w, c->n, 0, DC_CHANNELS_MAX);
    if (c->n && !c->chans) pw_fail(w, DC_EINVAL);
    for (size_t i = 0; i < c->n && !w->err; i++) {
      pw_raw(w, c->chans[i].channel, DC_HASH_BYTES);
      pw_u64(w, c->chans[i].open_height);
      pw_u64(w, c->chans[i].reclaim_height);
    }
    break;
  }
  case DC_MSG_LEDGER_TX:
    if (m->u.ledger_tx.len == 0) pw_fail(w, DC_EINVAL);
    pw_bytes(w, m->u.ledger_tx.data, m->u.ledger_tx.len, DC_MSG_LEDGER_TX_MAX);
    break;
  default:
    pw_fail(w, DC_EINVAL);
  }
}

int dc_msg_encode(const struct dc_msg *m, struct dc_buf *out) {
  struct proto_w w;
  pw_init(&w, out);
  put_body(&w, m);
  return pw_done(&w);
}

/* ---- decode --------------------------------------------------------------- */

static void get_register(struct dc_reader *r, struct dc_msg_register *m) {
  proto_get_node_info(r, &m->node);
  m->running = proto_get_list(r, &m->nrunning, sizeof *m->running, 0,
                              DC_RUNNING_MAX, TASK_REF_MIN_BYTES);
  for (size_t i = 0; i < m->nrunning && !r->err; i++) {
    proto_get_task_id(r, &m->running[i].task_id);
    dc_get_u32(r, &m->running[i].attempt);
  }
  proto_get_node_role(r, &m->node.role);
}

static void get_heartbeat(struct dc_reader *r, struct dc_msg_heartbeat *m) {
  dc_get_u64(r, &m->seq);
  dc_get_i64(r, &m->ts_ms);
  dc_get_u32(r, &m->cpu_millis_used);
  dc_get_u64(r, &m->mem_used_bytes);
  dc_get_u64(r, &m->mem_total_bytes);
  dc_get_u64(r, &m->disk_used_bytes);
  dc_get_u64(r, &m->disk_total_bytes);
  dc_get_u64(r, &m->net_rx_bytes);
  dc_get_u64(r, &m->net_tx_bytes);
  m->tasks = proto_get_list(r, &m->ntasks, sizeof *m->tasks, 0,
                            DC_HB_TASKS_MAX, SAMPLE_MIN_BYTES);
  for (size_t i = 0; i < m->ntasks && !r->err; i++) {
    proto_get_task_id(r, &m->tasks[i].task_id);
    dc_get_u32(r, &m->tasks[i].attempt);
    dc_get_u64(r, &m->tasks[i].cpu_us);
    dc_get_u64(r, &m->tasks[i].memory_bytes);
  }
  dc_get_raw(r, m->sig, DC_SIG_BYTES);
}

static void get_run_task(struct dc_reader *r, struct dc_msg_run_task *m) {
  char job_id[DC_JOB_ID_LEN + 1];
  proto_get_task_id(r, &m->task_id);
  dc_get_u32(r, &m->attempt);
  proto_get_job_id(r, job_id);
  if (!r->err && !(m->job_id = dc_strdup(job_id))) pr_fail(r, DC_ENOMEM);
  dc_get_str(r, &m->task_name, DC_TASK_NAME_MAX);
  dc_get_u32(r, &m->index);
  dc_get_str(r, &m->task_json, DC_TASK_JSON_MAX);
}

static void get_body(struct dc_reader *r, struct dc_msg *m) {
  switch (m->type) {
  case DC_MSG_REGISTER:
    get_register(r, &m->u.reg);
    break;
  case DC_MSG_REGISTERED:
    dc_get_i64(r, &m->u.registered.master_ts_ms);
    dc_get_u32(r, &m->u.registered.heartbeat_ms);
    break;
  case DC_MSG_HEARTBEAT:
    get_heartbeat(r, &m->u.heartbeat);
    break;
  case DC_MSG_RUN_TASK:
    get_run_task(r, &m->u.run_task);
    break;
  case DC_MSG_TASK_STARTED:
    proto_get_task_id(r, &m->u.task_started.task_id);
    dc_get_u32(r, &m->u.task_started.attempt);
    dc_get_i64(r, &m->u.task_started.ts_ms);
    break;
  case DC_MSG_TASK_LOG: {
    struct dc_msg_task_log *l = &m->u.task_log;
    proto_get_task_id(r, &l->task_id);
    dc_get_u32(r, &l->attempt);
    if (!dc_get_u8(r, &l->stream) && l->stream != DC_STREAM_STDOUT &&
        l->stream != DC_STREAM_STDERR)
      pr_fail(r, DC_EPROTO);
    dc_get_u64(r, &l->offset);
    proto_get_bytes_dup(r, &l->data, &l->len, DC_LOG_CHUNK_MAX);
    break;
  }
  case DC_MSG_TASK_DONE:
    proto_get_task_result(r, &m->u.task_done);
    break;
  case DC_MSG_TASK_ACK:
    proto_get_task_id(r, &m->u.task_ack.task_id);
    dc_get_u32(r, &m->u.task_ack.attempt);
    if (!dc_get_u8(r, &m->u.task_ack.accepted) && m->u.task_ack.accepted > 1)
      pr_fail(r, DC_EPROTO);
    dc_get_str(r, &m->u.task_ack.reason, DC_MSG_REASON_MAX);
    break;
  case DC_MSG_KILL_TASK:
    proto_get_task_id(r, &m->u.kill_task.task_id);
    dc_get_u32(r, &m->u.kill_task.attempt);
    dc_get_str(r, &m->u.kill_task.reason, DC_MSG_REASON_MAX);
    break;
  case DC_MSG_TICKS: {
    struct dc_msg_ticks *t = &m->u.ticks;
    dc_get_raw(r, t->channel, DC_HASH_BYTES);
    dc_get_raw(r, t->anchor, DC_HASH_BYTES);
    dc_get_u32(r, &t->length);
    t->ticks = proto_get_list(r, &t->n, sizeof *t->ticks, 1, DC_TICKS_MAX,
                              4 + DC_HASH_BYTES);
    for (size_t i = 0; i < t->n && !r->err; i++) {
      dc_get_u32(r, &t->ticks[i].index);
      dc_get_raw(r, t->ticks[i].word, DC_HASH_BYTES);
    }
    break;
  }
  case DC_MSG_CHANNELS: {
    struct dc_msg_channels *c = &m->u.channels;
    dc_get_str(r, &c->chain_id, DC_MSG_CHAIN_ID_MAX);
    dc_get_u64(r, &c->height);
    dc_get_u64(r, &c->nonce);
    dc_get_raw(r, c->head, DC_HASH_BYTES);
    c->chans = proto_get_list(r, &c->n, sizeof *c->chans, 0, DC_CHANNELS_MAX,
                              DC_HASH_BYTES + 16);
    for (size_t i = 0; i < c->n && !r->err; i++) {
      dc_get_raw(r, c->chans[i].channel, DC_HASH_BYTES);
      dc_get_u64(r, &c->chans[i].open_height);
      dc_get_u64(r, &c->chans[i].reclaim_height);
    }
    break;
  }
  case DC_MSG_LEDGER_TX:
    proto_get_bytes_dup(r, &m->u.ledger_tx.data, &m->u.ledger_tx.len,
                        DC_MSG_LEDGER_TX_MAX);
    if (!r->err && m->u.ledger_tx.len == 0) pr_fail(r, DC_EPROTO);
    break;
  default:
    pr_fail(r, DC_EPROTO);
  }
}

int dc_msg_decode(uint8_t type, const uint8_t *p, size_t n,
                  struct dc_msg *out) {
  memset(out, 0, sizeof *out);
  if (!msg_type_known(type)) return DC_EPROTO;
  struct dc_reader r;
  dc_reader_init(&r, p, n);
  struct dc_msg m = {.type = type};
  get_body(&r, &m);
  int rc = dc_reader_finish(&r);
  if (rc) {
    dc_msg_free(&m);
    return rc;
  }
  *out = m;
  return DC_OK;
}

void dc_msg_free(struct dc_msg *m) {
  switch (m->type) {
  case DC_MSG_REGISTER:
    proto_node_info_free(&m->u.reg.node);
    for (size_t i = 0; i < m->u.reg.nrunning; i++)
      dc_free(m->u.reg.running[i].task_id);
    dc_free(m->u.reg.running);
    break;
  case DC_MSG_HEARTBEAT:
    for (size_t i = 0; i < m->u.heartbeat.ntasks; i++)
      dc_free(m->u.heartbeat.tasks[i].task_id);
    dc_free(m->u.heartbeat.tasks);
    break;
  case DC_MSG_RUN_TASK:
    dc_free(m->u.run_task.task_id);
    dc_free(m->u.run_task.job_id);
    dc_free(m->u.run_task.task_name);
    dc_free(m->u.run_task.task_json);
    break;
  case DC_MSG_TASK_STARTED:
    dc_free(m->u.task_started.task_id);
    break;
  case DC_MSG_TASK_LOG:
    dc_free(m->u.task_log.task_id);
    dc_free(m->u.task_log.data);
    break;
  case DC_MSG_TASK_DONE:
    proto_task_result_free(&m->u.task_done);
    break;
  case DC_MSG_TASK_ACK:
    dc_free(m->u.task_ack.task_id);
    dc_free(m->u.task_ack.reason);
    break;
  case DC_MSG_KILL_TASK:
    dc_free(m->u.kill_task.task_id);
    dc_free(m->u.kill_task.reason);
    break;
  case DC_MSG_TICKS:
    dc_free(m->u.ticks.ticks);
    break;
  case DC_MSG_CHANNELS:
    dc_free(m->u.channels.chain_id);
    dc_free(m->u.channels.chans);
    break;
  case DC_MSG_LEDGER_TX:
    dc_free(m->u.ledger_tx.data);
    break;
  default: /* registered, unknown: nothing owned */
    break;
  }
  memset(m, 0, sizeof *m);
}

/* ---- heartbeat signature ---------------------------------------------------- */

int dc_msg_heartbeat_signing_bytes(const struct dc_msg_heartbeat *hb,
                                   struct dc_buf *out) {
  return proto_signing_bytes(USAGE_TAG, put_heartbeat_fields, hb, out);
}

int dc_msg_heartbeat_sign(struct dc_msg_heartbeat *hb,
                          const struct dc_identity *id) {
  if (!id->sk) return DC_EINVAL;
  return proto_sign(USAGE_TAG, put_heartbeat_fields, hb, id, hb->sig);
}

int dc_msg_heartbeat_verify(const struct dc_msg_heartbeat *hb,
                            const uint8_t pk[DC_PK_BYTES]) {
  return proto_verify(USAGE_TAG, put_heartbeat_fields, hb, pk, hb->sig);
}
