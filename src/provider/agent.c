/* SPDX-License-Identifier: Apache-2.0
 * The agent's life: identity, sandbox, the session to the master with
 * reconnects, registration, heartbeats, and the master's messages. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include "provider/provider_int.h"

#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 2000

void dc_provider_config_default(struct dc_provider_config *c) {
  memset(c, 0, sizeof *c);
  c->data_dir = "./deepcloud-provider";
  c->masters[0].host = "127.0.0.1";
  c->masters[0].port = 8421;
  c->nmasters = 1;
  c->classes = "compute";
  c->labels_json = "{}";
  c->heartbeat_ms = 1000;
  c->price_cpu_hour = 1000;
  c->price_mem_gb_hour = 100;
  c->channel_idle_s = 60;
  c->channel_close_margin = 5;
}

int provider_send(struct dc_provider *p, const struct dc_msg *m) {
  if (!p->conn) return DC_ECLOSED;
  struct dc_buf b = {.max = DC_FRAME_MAX};
  int rc = dc_msg_encode(m, &b);
  if (!rc) rc = dc_conn_send(p->conn, m->type, DC_MSG_VERSION, b.data, b.len);
  dc_buf_free(&b);
  if (rc)
    DC_WARN("agent", "send=%s err=%s", dc_msg_type_name(m->type), dc_err_name(rc));
  return rc;
}

static void send_register(struct dc_provider *p) {
  struct dc_msg m = {.type = DC_MSG_REGISTER};
  m.u.reg.node = p->node;
  size_t n = 0;
  for (struct ptask *t = p->tasks; t; t = t->next) n++;
  struct dc_task_ref *refs = dc_calloc(n ? n : 1, sizeof *refs);
  size_t i = 0;
  for (struct ptask *t = p->tasks; refs && t; t = t->next)
    refs[i++] = (struct dc_task_ref){t->task_id, t->attempt};
  m.u.reg.running = refs;
  m.u.reg.nrunning = refs ? n : 0;
  provider_send(p, &m);
  dc_free(refs);
}

static void heartbeat_cb(uv_timer_t *h) {
  struct dc_provider *p = h->data;
  if (!p->ready) return;
  struct dc_msg m = {.type = DC_MSG_HEARTBEAT};
  struct dc_msg_heartbeat *hb = &m.u.heartbeat;
  hb->seq = ++p->hb_seq;
  hb->ts_ms = dc_now_ms();
  provider_sample(p, hb);
  size_t n = 0;
  for (struct ptask *t = p->tasks; t; t = t->next)
    if (t->state == PT_RUNNING) n++;
  hb->tasks = dc_calloc(n ? n : 1, sizeof *hb->tasks);
  for (struct ptask *t = p->tasks; hb->tasks && t; t = t->next) {
    if (t->state != PT_RUNNING) continue;
    struct dc_sandbox_usage u = {0};
    if (t->sbt) dc_sandbox_task_usage(t->sbt, &u);
    hb->tasks[hb->ntasks++] = (struct dc_task_usage_sample){
        t->task_id, t->attempt, u.cpu_user_us + u.cpu_sys_us, u.peak_memory_bytes};
  }
  if (dc_msg_heartbeat_sign(hb, &p->id) == DC_OK) provider_send(p, &m);
  dc_free(hb->tasks);
}

static void connect_master(struct dc_provider *p);

/* Where the key first seen at master i is remembered (per address, so a
 * reordered list keeps its pins). */
static void pin_path(const struct dc_provider *p, size_t i, char *out, size_t n) {
  snprintf(out, n, "%s/master-%s-%u.pub", p->cfg.data_dir, p->cfg.masters[i].host,
           p->cfg.masters[i].port);
}

static void reconnect_cb(uv_timer_t *h) { connect_master(h->data); }

/* The next master in the list at once; after a whole round of failures,
 * back off (a leader election or a restart is under way). */
static void schedule_reconnect(struct dc_provider *p) {
  if (p->stopping) return;
  p->cur = (p->cur + 1) % p->cfg.nmasters;
  if (++p->failed_in_row < p->cfg.nmasters) {
    uv_timer_start(&p->reconnect, reconnect_cb, 20, 0);
    return;
  }
  p->failed_in_row = 0;
  p->backoff_ms = p->backoff_ms ? DC_MIN(p->backoff_ms * 2, BACKOFF_MAX_MS)
                                : BACKOFF_MIN_MS;
  uv_timer_start(&p->reconnect, reconnect_cb, p->backoff_ms, 0);
}

static void on_frame(struct dc_conn *c, uint8_t type, uint8_t version,
                     const uint8_t *payload, size_t len, void *ud) {
  struct dc_provider *p = ud;
  if (version != DC_MSG_VERSION) {
    dc_conn_close(c, "unsupported message version");
    return;
  }
  struct dc_msg m;
  int rc = dc_msg_decode(type, payload, len, &m);
  if (rc) {
    char why[96];
    snprintf(why, sizeof why, "malformed %s message: %s", dc_msg_type_name(type),
             dc_strerror(rc));
    dc_conn_close(c, why);
    return;
  }
  switch (type) {
    case DC_MSG_REGISTERED:
      p->ready = true;
      p->backoff_ms = 0;
      p->failed_in_row = 0;
      DC_INFO("agent", "registered with master");
      provider_member_session(p);
      /* Results the master has not acknowledged yet go again. */
      provider_resend_results(p);
      heartbeat_cb(&p->heartbeat);
      break;
    case DC_MSG_RUN_TASK: provider_run_task(p, &m.u.run_task); break;
    case DC_MSG_KILL_TASK:
      provider_kill_task(p, m.u.kill_task.task_id, m.u.kill_task.attempt);
      break;
    case DC_MSG_TASK_ACK:
      provider_ack(p, m.u.task_ack.task_id, m.u.task_ack.attempt);
      break;
    case DC_MSG_TICKS: provider_ticks(p, &m.u.ticks); break;
    case DC_MSG_CHANNELS: provider_channels(p, &m.u.channels); break;
    default:
      dc_conn_close(c, "unexpected message type from the master");
      break;
  }
  dc_msg_free(&m);
}

static void on_ready(struct dc_conn *c, void *ud) {
  struct dc_provider *p = ud;
  const uint8_t *pk = dc_conn_peer_pk(c);
  size_t i = p->cur;
  if (!p->pin_master[i]) {
    /* Trust on first use: remember this master's key for later sessions. */
    memcpy(p->master_pk[i], pk, DC_PK_BYTES);
    p->pin_master[i] = true;
    char hex[DC_PK_HEX_LEN + 1], path[4200];
    dc_hex_encode(pk, DC_PK_BYTES, hex);
    pin_path(p, i, path, sizeof path);
    dc_write_file_atomic(path, hex, DC_PK_HEX_LEN, 0644);
  }
  DC_INFO("agent", "session up master=%.16s", dc_conn_peer_addr(c));
  send_register(p);
}

static void on_close(struct dc_conn *c, int err, const char *reason, void *ud) {
  (void)c;
  struct dc_provider *p = ud;
  p->conn = NULL;
  bool was_ready = p->ready;
  p->ready = false;
  if (was_ready && !p->stopping) provider_member_session(p);
  if (!p->stopping)
    DC_WARN("agent", "session closed err=%s reason=\"%s\"", dc_err_name(err),
            reason ? reason : "");
  schedule_reconnect(p);
}

static void connect_master(struct dc_provider *p) {
  if (p->stopping || p->conn) return;
  size_t i = p->cur;
  int rc = dc_conn_connect(p->loop, p->cfg.masters[i].host, p->cfg.masters[i].port,
                           &p->id, p->pin_master[i] ? p->master_pk[i] : NULL,
                           on_ready, on_frame, on_close, p, &p->conn);
  if (rc) {
    p->conn = NULL;
    schedule_reconnect(p);
  }
}

static void stop(struct dc_provider *p) {
  if (p->stopping) return;
  p->stopping = true;
  DC_INFO("agent", "stopping");
  uv_close((uv_handle_t *)&p->reconnect, NULL);
  uv_close((uv_handle_t *)&p->heartbeat, NULL);
  uv_close((uv_handle_t *)&p->sigint, NULL);
  uv_close((uv_handle_t *)&p->sigterm, NULL);
  if (p->conn) dc_conn_close(p->conn, "provider shutting down");
  provider_member_stop(p);
  dc_sandbox_close(&p->sb);
}

static void on_signal(uv_signal_t *h, int signum) {
  (void)signum;
  stop(h->data);
}

static int load_master_pin(struct dc_provider *p) {
  for (size_t i = 0; i < p->cfg.nmasters; i++) {
    const char *hex = i == 0 && p->cfg.nmasters == 1 ? p->cfg.master_key : NULL;
    char *text = NULL;
    char path[4200];
    pin_path(p, i, path, sizeof path);
    if (!hex && dc_read_file(path, 256, &text, NULL) == DC_OK) hex = text;
    int rc = DC_OK;
    if (hex) {
      rc = dc_hex_decode(hex, p->master_pk[i], DC_PK_BYTES);
      p->pin_master[i] = rc == DC_OK;
    }
    dc_free(text);
    if (rc) return DC_EINVAL;
  }
  return DC_OK;
}

int dc_provider_run(const struct dc_provider_config *cfg) {
  signal(SIGPIPE, SIG_IGN);
  if (dc_crypto_init()) return DC_ECRYPTO;
  struct dc_provider *p = dc_calloc(1, sizeof *p);
  if (!p) return DC_ENOMEM;
  p->cfg = *cfg;
  p->loop = uv_default_loop();
  uv_timer_init(p->loop, &p->reconnect);
  uv_timer_init(p->loop, &p->heartbeat);
  uv_signal_init(p->loop, &p->sigint);
  uv_signal_init(p->loop, &p->sigterm);
  p->reconnect.data = p->heartbeat.data = p->sigint.data = p->sigterm.data = p;
  int rc = dc_mkdir_p(cfg->data_dir, 0700);
  char keypath[4200], sbdir[4200];
  snprintf(keypath, sizeof keypath, "%s/provider.key", cfg->data_dir);
  snprintf(p->tasks_dir, sizeof p->tasks_dir, "%s/tasks", cfg->data_dir);
  snprintf(sbdir, sizeof sbdir, "%s/sandbox", cfg->data_dir);
  if (!rc) rc = dc_mkdir_p(p->tasks_dir, 0700);
  if (!rc) rc = dc_identity_load_or_create(keypath, &p->id, NULL);
  if (rc) DC_ERROR("agent", "data dir or key %s: %s", keypath, dc_strerror(rc));
  if (!rc && (rc = load_master_pin(p)))
    DC_ERROR("agent", "master key must be 64 hex characters");
  const char *hidden[] = {cfg->data_dir, NULL};
  struct dc_sandbox_config sc = {.state_dir = sbdir, .hidden_paths = hidden};
  if (!rc && (rc = dc_sandbox_init(&p->sb, p->loop, &sc)))
    DC_ERROR("agent", "sandbox: %s (the agent must run as root)", dc_strerror(rc));
  if (!rc) rc = provider_discover(p);
  if (!rc) rc = provider_member_start(p);
  if (!rc) {
    char hex[DC_PK_HEX_LEN + 1];
    dc_identity_hex(&p->id, hex);
    DC_INFO("agent", "ready node=%.16s cpu_millis=%u memory_mb=%llu sandbox=%s "
            "masters=%zu first=%s:%u", hex, p->node.cpu_millis,
            (unsigned long long)p->node.memory_mb, dc_sandbox_mechanism(&p->sb),
            cfg->nmasters, cfg->masters[0].host, cfg->masters[0].port);
    uv_signal_start(&p->sigint, on_signal, SIGINT);
    uv_signal_start(&p->sigterm, on_signal, SIGTERM);
    uv_timer_start(&p->heartbeat, heartbeat_cb, cfg->heartbeat_ms, cfg->heartbeat_ms);
    connect_master(p);
  } else {
    stop(p);
  }
  uv_run(p->loop, UV_RUN_DEFAULT);
  while (p->tasks) {
    struct ptask *t = p->tasks;
    p->tasks = t->next;
    struct dc_msg m = {.type = DC_MSG_TASK_DONE};
    m.u.task_done = t->result;
    dc_msg_free(&m);
    for (size_t i = 0; i < t->noutputs; i++) dc_free(t->outputs[i]);
    dc_free(t->outputs);
    dc_free(t->task_id);
    dc_free(t);
  }
  struct dc_msg nm = {.type = DC_MSG_REGISTER};
  nm.u.reg.node = p->node;
  dc_msg_free(&nm);
  dc_identity_close(&p->id);
  uv_loop_close(p->loop);
  dc_free(p->chans);
  dc_free(p);
  return rc;
}
