/* SPDX-License-Identifier: Apache-2.0
 * Builders of every command and message at empty / small / maximal size, and
 * deep equality, so round-trip tests compare values and not just bytes. */
#include "fixtures.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const uint16_t fx_cmd_types[] = {
    DC_CMD_MIGRATE,    DC_CMD_NODE_REGISTER, DC_CMD_NODE_DEAD,
    DC_CMD_JOB_SUBMIT, DC_CMD_JOB_CANCEL,    DC_CMD_TASK_ASSIGN,
    DC_CMD_TASK_STARTED, DC_CMD_TASK_FINISHED, DC_CMD_TX, DC_CMD_LEDGER,
    DC_CMD_NODE_CLUSTER_SET};
const size_t fx_ncmd_types = DC_ARRAY_LEN(fx_cmd_types);
const uint8_t fx_msg_types[] = {
    DC_MSG_REGISTER,  DC_MSG_REGISTERED, DC_MSG_HEARTBEAT,
    DC_MSG_RUN_TASK,  DC_MSG_TASK_STARTED, DC_MSG_TASK_LOG,
    DC_MSG_TASK_DONE, DC_MSG_TASK_ACK,   DC_MSG_KILL_TASK, DC_MSG_TICKS,
    DC_MSG_CHANNELS,  DC_MSG_LEDGER_TX};
const size_t fx_nmsg_types = DC_ARRAY_LEN(fx_msg_types);

/* Fixtures must not fail: injection is off while they are built. */
static void *must(void *p) {
  if (!p) abort();
  return p;
}

char *fx_str(size_t len, char fill) {
  char *s = must(dc_malloc(len + 1));
  memset(s, fill, len);
  s[len] = '\0';
  return s;
}

static char *txt(enum fx_mode m, size_t max, const char *small) {
  if (m == FX_EMPTY) return fx_str(0, 0);
  if (m == FX_SMALL) return must(dc_strdup(small));
  return fx_str(max, 'm');
}

static char *task_id(enum fx_mode m, size_t i) {
  char s[64];
  if (m == FX_EMPTY) return fx_str(1, 't'); /* ids are never empty */
  if (m == FX_MAX) return fx_str(DC_TASK_ID_MAX, 'm');
  snprintf(s, sizeof s, "0123456789abcdef0123456789abcdef/t%zu", i);
  return must(dc_strdup(s));
}

static uint32_t u32v(enum fx_mode m, uint32_t small) {
  return m == FX_EMPTY ? 0 : m == FX_SMALL ? small : UINT32_MAX;
}
static uint64_t u64v(enum fx_mode m, uint64_t small) {
  return m == FX_EMPTY ? 0 : m == FX_SMALL ? small : UINT64_MAX;
}
static int64_t i64v(enum fx_mode m, int64_t small) {
  return m == FX_EMPTY ? 0 : m == FX_SMALL ? small : INT64_MIN;
}

static void pk(enum fx_mode m, uint8_t *p, size_t n, uint8_t seed) {
  for (size_t i = 0; i < n; i++)
    p[i] = m == FX_EMPTY ? 0 : m == FX_MAX ? 0xff : (uint8_t)(seed + 7 * i);
}

static void job_id(enum fx_mode m, char out[DC_JOB_ID_LEN + 1]) {
  const char *s = m == FX_EMPTY   ? "00000000000000000000000000000000"
                  : m == FX_SMALL ? "0123456789abcdef0123456789abcdef"
                                  : "ffffffffffffffffffffffffffffffff";
  memcpy(out, s, DC_JOB_ID_LEN + 1);
}

static size_t count(enum fx_mode m, size_t empty, size_t small, size_t max) {
  return m == FX_EMPTY ? empty : m == FX_SMALL ? small : max;
}

static void node_info(enum fx_mode m, struct dc_node_info *ni) {
  pk(m, ni->node_id, DC_PK_BYTES, 11);
  ni->name = txt(m, DC_NODE_NAME_MAX, "paris-1");
  ni->addr = txt(m, DC_NODE_ADDR_MAX, "10.0.0.7:7700");
  ni->cpu_millis = u32v(m, 8000);
  ni->memory_mb = u64v(m, 32768);
  ni->disk_mb = u64v(m, 512000);
  ni->gpu = u32v(m, 1);
  ni->price_cpu_hour = u64v(m, 12000);
  ni->price_mem_gb_hour = u64v(m, 3000);
  /* -0.0 proves floats travel bit-exact. */
  ni->lat = m == FX_EMPTY ? -0.0 : m == FX_SMALL ? 48.8566 : 90.0;
  ni->lon = m == FX_EMPTY ? 0.0 : m == FX_SMALL ? 2.3522 : -180.0;
  ni->classes = txt(m, DC_NODE_CLASSES_MAX, "batch,ml");
  ni->labels_json = txt(m, DC_NODE_LABELS_MAX, "{\"rack\":\"a1\"}");
  ni->sandbox = txt(m, DC_NODE_SANDBOX_MAX, "cgroup2");
  /* Fixed (no role byte) when empty, dynamic (one trailing byte) else. */
  ni->role = m == FX_EMPTY ? DC_NODE_FIXED : DC_NODE_DYNAMIC;
}

static void result(enum fx_mode m, struct dc_task_result *r) {
  r->task_id = task_id(m, 0);
  r->attempt = u32v(m, 2);
  pk(m, r->node_id, DC_PK_BYTES, 11);
  r->outcome = m == FX_EMPTY ? DC_OUTCOME_SUCCEEDED
               : m == FX_SMALL ? DC_OUTCOME_FAILED : DC_OUTCOME_ERROR;
  r->exit_code = m == FX_EMPTY ? 0 : m == FX_SMALL ? -1 : INT32_MIN;
  r->term_signal = m == FX_EMPTY ? 0 : m == FX_SMALL ? 9 : INT32_MAX;
  r->usage.cpu_user_us = u64v(m, 1234567);
  r->usage.cpu_sys_us = u64v(m, 2345);
  r->usage.peak_memory_bytes = u64v(m, 1u << 30);
  r->usage.wall_ms = u64v(m, 60001);
  r->mechanism = txt(m, DC_MECHANISM_MAX, "cgroup2");
  r->reason = txt(m, DC_RESULT_REASON_MAX, "exit status 1");
  r->noutputs = count(m, 0, 2, DC_OUTPUTS_MAX);
  if (!r->noutputs) return;
  r->outputs = must(dc_calloc(r->noutputs, sizeof *r->outputs));
  for (size_t i = 0; i < r->noutputs; i++) {
    struct dc_output_file *f = &r->outputs[i];
    if (m == FX_MAX) {
      f->path = fx_str(DC_OUTPUT_PATH_MAX, 'm');
      f->len = DC_OUTPUTS_BYTES_MAX / DC_OUTPUTS_MAX;
    } else {
      f->path = must(dc_strdup(i ? "out/empty.txt" : "out/result.csv"));
      f->len = i ? 0 : 5;
    }
    if (f->len) {
      f->data = must(dc_malloc(f->len));
      for (size_t j = 0; j < f->len; j++) f->data[j] = (uint8_t)(j * 31 + i);
    }
  }
  for (size_t i = 0; i < DC_SIG_BYTES; i++) r->sig[i] = (uint8_t)(0xa0 + i);
}

void fx_cmd(uint16_t type, enum fx_mode m, struct dc_cmd *c) {
  memset(c, 0, sizeof *c);
  c->type = type;
  c->proposal_id = u64v(m, 0x0102030405060708ull);
  c->ts_ms = i64v(m, 1700000000123);
  switch (type) {
  case DC_CMD_MIGRATE:
    c->u.migrate.schema_version = u32v(m, 3);
    break;
  case DC_CMD_NODE_REGISTER:
    node_info(m, &c->u.node_register.node);
    break;
  case DC_CMD_NODE_DEAD:
    pk(m, c->u.node_dead.node_id, DC_PK_BYTES, 5);
    c->u.node_dead.reason = txt(m, DC_DEAD_REASON_MAX, "suspect timeout");
    break;
  case DC_CMD_JOB_SUBMIT:
    job_id(m, c->u.job_submit.job_id);
    pk(m, c->u.job_submit.owner, DC_PK_BYTES, 3);
    c->u.job_submit.idem_key = txt(m, DC_IDEM_KEY_MAX, "req-42");
    c->u.job_submit.spec_json = txt(m, DC_SPEC_JSON_MAX, "{\"tasks\":[]}");
    break;
  case DC_CMD_JOB_CANCEL:
    job_id(m, c->u.job_cancel.job_id);
    pk(m, c->u.job_cancel.owner, DC_PK_BYTES, 3);
    break;
  case DC_CMD_TASK_ASSIGN: {
    struct dc_cmd_task_assign *a = &c->u.task_assign;
    a->n = count(m, 1, 3, DC_ASSIGN_MAX);
    a->items = must(dc_calloc(a->n, sizeof *a->items));
    for (size_t i = 0; i < a->n; i++) {
      a->items[i].task_id = task_id(m, i);
      a->items[i].attempt = u32v(m, (uint32_t)i + 1);
      pk(m, a->items[i].node_id, DC_PK_BYTES, (uint8_t)i);
    }
    break;
  }
  case DC_CMD_TASK_STARTED:
    c->u.task_started.task_id = task_id(m, 1);
    c->u.task_started.attempt = u32v(m, 1);
    pk(m, c->u.task_started.node_id, DC_PK_BYTES, 9);
    break;
  case DC_CMD_TASK_FINISHED:
    result(m, &c->u.task_finished.r);
    break;
  case DC_CMD_NODE_CLUSTER_SET: {
    struct dc_cmd_node_cluster_set *a = &c->u.cluster_set;
    a->n = count(m, 1, 2, DC_CLUSTER_SET_MAX);
    a->items = must(dc_calloc(a->n, sizeof *a->items));
    for (size_t i = 0; i < a->n; i++) {
      pk(m, a->items[i].node_id, DC_PK_BYTES, (uint8_t)(i + 1));
      a->items[i].cluster = txt(m, DC_CLUSTER_NAME_MAX, i ? "" : "streaming");
      a->items[i].group = m == FX_MAX ? DC_GROUP_KEEP : (uint32_t)i;
    }
    a->reason = txt(m, DC_CLUSTER_REASON_MAX, "forecast: streaming needs 6.0 cores");
    break;
  }
  case DC_CMD_TX:
  case DC_CMD_LEDGER: {
    /* Opaque here (the ledger's codec is tested in tests/unit/ledger):
     * 1 byte, a small body, or the limit. */
    size_t max = type == DC_CMD_TX ? DC_CMD_TX_MAX : DC_CMD_LEDGER_MAX;
    size_t n = m == FX_MAX ? max : m == FX_SMALL ? 150 : 1;
    c->u.blob.data = must(dc_malloc(n));
    for (size_t i = 0; i < n; i++) c->u.blob.data[i] = (uint8_t)(i * 7 + type);
    c->u.blob.len = n;
    break;
  }
  default:
    abort();
  }
}

void fx_msg(uint8_t type, enum fx_mode m, struct dc_msg *g) {
  memset(g, 0, sizeof *g);
  g->type = type;
  switch (type) {
  case DC_MSG_REGISTER:
    node_info(m, &g->u.reg.node);
    g->u.reg.nrunning = count(m, 0, 2, DC_RUNNING_MAX);
    if (g->u.reg.nrunning)
      g->u.reg.running = must(dc_calloc(g->u.reg.nrunning, sizeof(struct dc_task_ref)));
    for (size_t i = 0; i < g->u.reg.nrunning; i++) {
      g->u.reg.running[i].task_id = task_id(m, i);
      g->u.reg.running[i].attempt = u32v(m, 1);
    }
    break;
  case DC_MSG_REGISTERED:
    g->u.registered.master_ts_ms = i64v(m, 1700000000999);
    g->u.registered.heartbeat_ms = u32v(m, 1000);
    break;
  case DC_MSG_HEARTBEAT: {
    struct dc_msg_heartbeat *h = &g->u.heartbeat;
    h->seq = u64v(m, 77);
    h->ts_ms = i64v(m, 1700000000500);
    h->cpu_millis_used = u32v(m, 2500);
    h->mem_used_bytes = u64v(m, 1ull << 32);
    h->mem_total_bytes = u64v(m, 1ull << 35);
    h->disk_used_bytes = u64v(m, 1ull << 36);
    h->disk_total_bytes = u64v(m, 1ull << 40);
    h->net_rx_bytes = u64v(m, 123456789);
    h->net_tx_bytes = u64v(m, 987654321);
    h->ntasks = count(m, 0, 2, DC_HB_TASKS_MAX);
    if (h->ntasks) h->tasks = must(dc_calloc(h->ntasks, sizeof *h->tasks));
    for (size_t i = 0; i < h->ntasks; i++) {
      h->tasks[i].task_id = task_id(m, i);
      h->tasks[i].attempt = u32v(m, 1);
      h->tasks[i].cpu_us = u64v(m, 1000 * (i + 1));
      h->tasks[i].memory_bytes = u64v(m, 1u << 20);
    }
    for (size_t i = 0; i < DC_SIG_BYTES; i++) h->sig[i] = (uint8_t)(0x50 + i);
    break;
  }
  case DC_MSG_RUN_TASK: {
    char jid[DC_JOB_ID_LEN + 1];
    job_id(m, jid);
    g->u.run_task.task_id = task_id(m, 4);
    g->u.run_task.attempt = u32v(m, 1);
    g->u.run_task.job_id = must(dc_strdup(jid));
    g->u.run_task.task_name = txt(m, DC_TASK_NAME_MAX, "train");
    g->u.run_task.index = u32v(m, 4);
    g->u.run_task.task_json = txt(m, DC_TASK_JSON_MAX, "{\"cmd\":[\"true\"]}");
    break;
  }
  case DC_MSG_TASK_STARTED:
    g->u.task_started.task_id = task_id(m, 2);
    g->u.task_started.attempt = u32v(m, 3);
    g->u.task_started.ts_ms = i64v(m, 1700000000777);
    break;
  case DC_MSG_TASK_LOG: {
    struct dc_msg_task_log *l = &g->u.task_log;
    l->task_id = task_id(m, 3);
    l->attempt = u32v(m, 1);
    l->stream = m == FX_SMALL ? DC_STREAM_STDERR : DC_STREAM_STDOUT;
    l->offset = u64v(m, 4096);
    l->len = count(m, 0, 6, DC_LOG_CHUNK_MAX);
    if (l->len) l->data = (uint8_t *)fx_str(l->len, 'L');
    break;
  }
  case DC_MSG_TASK_DONE:
    result(m, &g->u.task_done);
    break;
  case DC_MSG_TASK_ACK:
    g->u.task_ack.task_id = task_id(m, 5);
    g->u.task_ack.attempt = u32v(m, 2);
    g->u.task_ack.accepted = m == FX_EMPTY ? 0 : 1;
    g->u.task_ack.reason = txt(m, DC_MSG_REASON_MAX, "committed");
    break;
  case DC_MSG_KILL_TASK:
    g->u.kill_task.task_id = task_id(m, 6);
    g->u.kill_task.attempt = u32v(m, 2);
    g->u.kill_task.reason = txt(m, DC_MSG_REASON_MAX, "job canceled");
    break;
  case DC_MSG_TICKS: {
    struct dc_msg_ticks *t = &g->u.ticks;
    pk(m, t->channel, DC_HASH_BYTES, 4);
    pk(m, t->anchor, DC_HASH_BYTES, 6);
    t->length = u32v(m, 1000);
    t->n = count(m, 1, 3, DC_TICKS_MAX);
    t->ticks = must(dc_calloc(t->n, sizeof *t->ticks));
    for (size_t i = 0; i < t->n; i++) {
      t->ticks[i].index = u32v(m, (uint32_t)i + 1);
      pk(m, t->ticks[i].word, DC_HASH_BYTES, (uint8_t)i);
    }
    break;
  }
  case DC_MSG_CHANNELS: {
    struct dc_msg_channels *c = &g->u.channels;
    c->chain_id = txt(m, DC_MSG_CHAIN_ID_MAX, "deepcloud-dev");
    c->height = u64v(m, 77);
    c->nonce = u64v(m, 5);
    pk(m, c->head, DC_HASH_BYTES, 8);
    c->n = count(m, 0, 2, DC_CHANNELS_MAX);
    c->chans = c->n ? must(dc_calloc(c->n, sizeof *c->chans)) : NULL;
    for (size_t i = 0; i < c->n; i++) {
      pk(m, c->chans[i].channel, DC_HASH_BYTES, (uint8_t)i);
      c->chans[i].open_height = u64v(m, 80 + i);
      c->chans[i].reclaim_height = u64v(m, 90 + i);
    }
    break;
  }
  case DC_MSG_LEDGER_TX: {
    struct dc_msg_ledger_tx *t = &g->u.ledger_tx;
    t->len = m == FX_EMPTY ? 1 : m == FX_SMALL ? 178 : DC_MSG_LEDGER_TX_MAX;
    t->data = must(dc_malloc(t->len));
    memset(t->data, 0xab, t->len);
    break;
  }
  default:
    abort();
  }
}

/* ---- equality ---------------------------------------------------------- */

static bool s_eq(const char *a, const char *b) {
  return strcmp(a ? a : "", b ? b : "") == 0;
}
static bool b_eq(const void *a, size_t an, const void *b, size_t bn) {
  return an == bn && (an == 0 || memcmp(a, b, an) == 0);
}
/* Bitwise, so -0.0 != 0.0 and the encoding is checked to be exact. */
static bool d_eq(double a, double b) { return memcmp(&a, &b, sizeof a) == 0; }
#define EQ(f) (a->f == b->f)
#define MEQ(f) (memcmp(a->f, b->f, sizeof a->f) == 0)
#define SEQ(f) s_eq(a->f, b->f)

static bool node_eq(const struct dc_node_info *a, const struct dc_node_info *b) {
  return MEQ(node_id) && SEQ(name) && SEQ(addr) && EQ(cpu_millis) &&
         EQ(memory_mb) && EQ(disk_mb) && EQ(gpu) && EQ(price_cpu_hour) &&
         EQ(price_mem_gb_hour) && d_eq(a->lat, b->lat) &&
         d_eq(a->lon, b->lon) && SEQ(classes) && SEQ(labels_json) &&
         SEQ(sandbox) && EQ(role);
}

static bool result_eq(const struct dc_task_result *a,
                      const struct dc_task_result *b) {
  if (!(SEQ(task_id) && EQ(attempt) && MEQ(node_id) && EQ(outcome) &&
        EQ(exit_code) && EQ(term_signal) && EQ(usage.cpu_user_us) &&
        EQ(usage.cpu_sys_us) && EQ(usage.peak_memory_bytes) &&
        EQ(usage.wall_ms) && SEQ(mechanism) && SEQ(reason) && MEQ(sig) &&
        EQ(noutputs)))
    return false;
  for (size_t i = 0; i < a->noutputs; i++)
    if (!s_eq(a->outputs[i].path, b->outputs[i].path) ||
        !b_eq(a->outputs[i].data, a->outputs[i].len, b->outputs[i].data,
              b->outputs[i].len))
      return false;
  return true;
}

bool fx_cmd_eq(const struct dc_cmd *a, const struct dc_cmd *b) {
  if (!(EQ(type) && EQ(proposal_id) && EQ(ts_ms))) return false;
  switch (a->type) {
  case DC_CMD_MIGRATE:
    return EQ(u.migrate.schema_version);
  case DC_CMD_NODE_REGISTER:
    return node_eq(&a->u.node_register.node, &b->u.node_register.node);
  case DC_CMD_NODE_DEAD:
    return MEQ(u.node_dead.node_id) && SEQ(u.node_dead.reason);
  case DC_CMD_JOB_SUBMIT:
    return MEQ(u.job_submit.job_id) && MEQ(u.job_submit.owner) &&
           SEQ(u.job_submit.idem_key) && SEQ(u.job_submit.spec_json);
  case DC_CMD_JOB_CANCEL:
    return MEQ(u.job_cancel.job_id) && MEQ(u.job_cancel.owner);
  case DC_CMD_TASK_ASSIGN:
    if (!EQ(u.task_assign.n)) return false;
    for (size_t i = 0; i < a->u.task_assign.n; i++) {
      const struct dc_assignment *x = &a->u.task_assign.items[i];
      const struct dc_assignment *y = &b->u.task_assign.items[i];
      if (!s_eq(x->task_id, y->task_id) || x->attempt != y->attempt ||
          memcmp(x->node_id, y->node_id, DC_PK_BYTES))
        return false;
    }
    return true;
  case DC_CMD_TASK_STARTED:
    return SEQ(u.task_started.task_id) && EQ(u.task_started.attempt) &&
           MEQ(u.task_started.node_id);
  case DC_CMD_TASK_FINISHED:
    return result_eq(&a->u.task_finished.r, &b->u.task_finished.r);
  case DC_CMD_NODE_CLUSTER_SET:
    if (!EQ(u.cluster_set.n) || !SEQ(u.cluster_set.reason)) return false;
    for (size_t i = 0; i < a->u.cluster_set.n; i++) {
      const struct dc_cluster_item *x = &a->u.cluster_set.items[i];
      const struct dc_cluster_item *y = &b->u.cluster_set.items[i];
      if (!s_eq(x->cluster, y->cluster) || x->group != y->group ||
          memcmp(x->node_id, y->node_id, DC_PK_BYTES))
        return false;
    }
    return true;
  case DC_CMD_TX:
  case DC_CMD_LEDGER:
    return b_eq(a->u.blob.data, a->u.blob.len, b->u.blob.data, b->u.blob.len);
  default:
    return false;
  }
}

bool fx_msg_eq(const struct dc_msg *a, const struct dc_msg *b) {
  if (!EQ(type)) return false;
  switch (a->type) {
  case DC_MSG_REGISTER:
    if (!node_eq(&a->u.reg.node, &b->u.reg.node) || !EQ(u.reg.nrunning))
      return false;
    for (size_t i = 0; i < a->u.reg.nrunning; i++)
      if (!s_eq(a->u.reg.running[i].task_id, b->u.reg.running[i].task_id) ||
          a->u.reg.running[i].attempt != b->u.reg.running[i].attempt)
        return false;
    return true;
  case DC_MSG_REGISTERED:
    return EQ(u.registered.master_ts_ms) && EQ(u.registered.heartbeat_ms);
  case DC_MSG_HEARTBEAT:
    if (!(EQ(u.heartbeat.seq) && EQ(u.heartbeat.ts_ms) &&
          EQ(u.heartbeat.cpu_millis_used) && EQ(u.heartbeat.mem_used_bytes) &&
          EQ(u.heartbeat.mem_total_bytes) && EQ(u.heartbeat.disk_used_bytes) &&
          EQ(u.heartbeat.disk_total_bytes) && EQ(u.heartbeat.net_rx_bytes) &&
          EQ(u.heartbeat.net_tx_bytes) && MEQ(u.heartbeat.sig) &&
          EQ(u.heartbeat.ntasks)))
      return false;
    for (size_t i = 0; i < a->u.heartbeat.ntasks; i++) {
      const struct dc_task_usage_sample *x = &a->u.heartbeat.tasks[i];
      const struct dc_task_usage_sample *y = &b->u.heartbeat.tasks[i];
      if (!s_eq(x->task_id, y->task_id) || x->attempt != y->attempt ||
          x->cpu_us != y->cpu_us || x->memory_bytes != y->memory_bytes)
        return false;
    }
    return true;
  case DC_MSG_RUN_TASK:
    return SEQ(u.run_task.task_id) && EQ(u.run_task.attempt) &&
           SEQ(u.run_task.job_id) && SEQ(u.run_task.task_name) &&
           EQ(u.run_task.index) && SEQ(u.run_task.task_json);
  case DC_MSG_TASK_STARTED:
    return SEQ(u.task_started.task_id) && EQ(u.task_started.attempt) &&
           EQ(u.task_started.ts_ms);
  case DC_MSG_TASK_LOG:
    return SEQ(u.task_log.task_id) && EQ(u.task_log.attempt) &&
           EQ(u.task_log.stream) && EQ(u.task_log.offset) &&
           b_eq(a->u.task_log.data, a->u.task_log.len, b->u.task_log.data,
                b->u.task_log.len);
  case DC_MSG_TASK_DONE:
    return result_eq(&a->u.task_done, &b->u.task_done);
  case DC_MSG_TASK_ACK:
    return SEQ(u.task_ack.task_id) && EQ(u.task_ack.attempt) &&
           EQ(u.task_ack.accepted) && SEQ(u.task_ack.reason);
  case DC_MSG_KILL_TASK:
    return SEQ(u.kill_task.task_id) && EQ(u.kill_task.attempt) &&
           SEQ(u.kill_task.reason);
  case DC_MSG_TICKS:
    if (!MEQ(u.ticks.channel) || !MEQ(u.ticks.anchor) || !EQ(u.ticks.length) ||
        !EQ(u.ticks.n))
      return false;
    for (size_t i = 0; i < a->u.ticks.n; i++)
      if (a->u.ticks.ticks[i].index != b->u.ticks.ticks[i].index ||
          memcmp(a->u.ticks.ticks[i].word, b->u.ticks.ticks[i].word, DC_HASH_BYTES))
        return false;
    return true;
  case DC_MSG_CHANNELS:
    if (!SEQ(u.channels.chain_id) || !EQ(u.channels.height) || !EQ(u.channels.nonce) ||
        !MEQ(u.channels.head) || !EQ(u.channels.n))
      return false;
    for (size_t i = 0; i < a->u.channels.n; i++)
      if (a->u.channels.chans[i].reclaim_height != b->u.channels.chans[i].reclaim_height ||
          a->u.channels.chans[i].open_height != b->u.channels.chans[i].open_height ||
          memcmp(a->u.channels.chans[i].channel, b->u.channels.chans[i].channel,
                 DC_HASH_BYTES))
        return false;
    return true;
  case DC_MSG_LEDGER_TX:
    return b_eq(a->u.ledger_tx.data, a->u.ledger_tx.len, b->u.ledger_tx.data,
                b->u.ledger_tx.len);
  default:
    return false;
  }
}

/* ---- byte patching --------------------------------------------------------- */

void fx_put_be32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24);
  p[1] = (uint8_t)(v >> 16);
  p[2] = (uint8_t)(v >> 8);
  p[3] = (uint8_t)v;
}

size_t fx_find_len(const uint8_t *p, size_t n, uint32_t v, char c) {
  uint8_t pat[6];
  fx_put_be32(pat, v);
  pat[4] = pat[5] = (uint8_t)c;
  for (size_t i = 0; i + sizeof pat <= n; i++)
    if (memcmp(p + i, pat, sizeof pat) == 0) return i;
  return SIZE_MAX;
}

void fx_grow_field(const uint8_t *p, size_t n, size_t off, char c,
                   struct dc_buf *out) {
  uint32_t len = ((uint32_t)p[off] << 24) | ((uint32_t)p[off + 1] << 16) |
                 ((uint32_t)p[off + 2] << 8) | p[off + 3];
  uint8_t be[4];
  fx_put_be32(be, len + 1);
  size_t end = off + 4 + len;
  if (dc_buf_append(out, p, off) || dc_buf_append(out, be, 4) ||
      dc_buf_append(out, p + off + 4, len) || dc_buf_append(out, &c, 1) ||
      dc_buf_append(out, p + end, n - end))
    abort();
}
