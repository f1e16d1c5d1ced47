/* SPDX-License-Identifier: Apache-2.0
 * Start-up and shutdown of the master role: open the state, replay nothing
 * (the FSM's applied index makes restarts idempotent), migrate the schema
 * through the log, then serve sessions and the API on one loop. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "master/master_int.h"
#include "sched/sched.h"

void dc_master_config_default(struct dc_master_config *c) {
  memset(c, 0, sizeof *c);
  c->data_dir = "./deepcloud-master";
  c->api_host = "127.0.0.1";
  c->api_port = 8420;
  c->listen_host = "127.0.0.1";
  c->listen_port = 8421;
  c->heartbeat_timeout_ms = 0; /* 3000, or 60000 with gossip */
  c->sched_interval_ms = 500;
  c->max_body_bytes = 1u << 20;
  c->request_skew_ms = 300000;
  c->sync_full = true;
  c->policy = "learned";
  c->cluster_interval_ms = 30000;
  c->forecast_bucket_s = 3600;
  c->forecast_season = 24;
  c->seal_interval_ms = 1000;
  c->tx_rate = 5000;
  c->tx_pending_max = 1024;
}

sqlite3_stmt *master_read_stmt(struct dc_master *m, const char *sql) {
  size_t i;
  for (i = 0; i < MASTER_RCACHE && m->rcache[i].sql; i++) {
    if (m->rcache[i].sql == sql) {
      sqlite3_reset(m->rcache[i].stmt);
      sqlite3_clear_bindings(m->rcache[i].stmt);
      return m->rcache[i].stmt;
    }
  }
  DC_ASSERT(i < MASTER_RCACHE); /* sized for every hot-path read */
  sqlite3_stmt *s = NULL;
  if (sqlite3_prepare_v3(m->rdb, sql, -1, SQLITE_PREPARE_PERSISTENT, &s,
                         NULL) != SQLITE_OK)
    return NULL;
  m->rcache[i].sql = sql;
  m->rcache[i].stmt = s;
  return s;
}

void master_on_applied(void *ud, const struct dc_fsm_result *res, size_t n) {
  struct dc_master *m = ud;
  bool dispatch = false, reconcile = false;
  for (size_t i = 0; i < n; i++) {
    switch (res[i].cmd_type) {
      case DC_CMD_TASK_ASSIGN: dispatch = true; break;
      case DC_CMD_JOB_CANCEL:
      case DC_CMD_NODE_DEAD: reconcile = true; break;
      case DC_CMD_JOB_SUBMIT:
      case DC_CMD_TASK_FINISHED:
      case DC_CMD_NODE_REGISTER: m->work_dirty = true; break;
      default: break;
    }
  }
  if (m->parked) master_parked_check(m);
  master_ledger_applied(m, res, n); /* counts toward the next block; only a
                                       leader seals */
  if (!dc_log_is_leader(m->log)) return;
  if (reconcile) master_reconcile(m);
  if (dispatch) master_dispatch(m);
  if (m->work_dirty) master_schedule_soon(m);
}

static void tick_cb(uv_timer_t *t) {
  struct dc_master *m = t->data;
  if (m->parked) master_parked_check(m);
  if (!dc_log_is_leader(m->log)) return;
  master_membership_tick(m);
  master_detector_tick(m);
  master_learning_tick(m);
  master_shards_tick(m);
  master_reconcile(m);
  master_dispatch(m);
  /* A periodic pass catches what no event announced (e.g. capacity freed
   * by a node coming back). */
  master_schedule_soon(m);
}

static void on_http_stopped(void *data) { (void)data; }
static void on_log_closed(void *data) { (void)data; }

static void stop_now(struct dc_master *m) {
  m->stopping = true;
  DC_INFO("master", "stopping");
  master_parked_close(m);
  master_cluster_close(m);
  uv_timer_stop(&m->tick);
  uv_timer_stop(&m->sched);
  uv_close((uv_handle_t *)&m->tick, NULL);
  uv_close((uv_handle_t *)&m->sched, NULL);
  uv_close((uv_handle_t *)&m->sigint, NULL);
  uv_close((uv_handle_t *)&m->sigterm, NULL);
  if (m->http) dc_httpd_stop(m->http, on_http_stopped, m);
  m->http = NULL;
  master_sessions_stop(m);
  master_membership_stop(m);
  master_ledger_stop(m);
  if (m->log) m->log->ops->close(m->log, on_log_closed, m);
  m->log = NULL;
}

/* A planned stop hands leadership over first, so the cluster does not
 * wait an election timeout for a new leader. */
static void stop(struct dc_master *m) {
  if (m->stopping || m->transferring) return;
  if (!master_transfer_then(m, stop_now)) stop_now(m);
}

static void on_signal(uv_signal_t *h, int signum) {
  (void)signum;
  stop(h->data);
}

static int write_port(struct dc_master *m, const char *name, unsigned port) {
  char path[4200], text[16];
  snprintf(path, sizeof path, "%s/%s", m->cfg.data_dir, name);
  int n = snprintf(text, sizeof text, "%u\n", port);
  return dc_write_file_atomic(path, text, (size_t)n, 0644);
}

static int start(struct dc_master *m) {
  struct dc_errmsg err = {{0}};
  /* Handles first, so stop() can close them whatever fails later. */
  master_placement_init(m);
  uv_timer_init(m->loop, &m->tick);
  m->tick.data = m;
  uv_signal_init(m->loop, &m->sigint);
  uv_signal_init(m->loop, &m->sigterm);
  m->sigint.data = m->sigterm.data = m;
  uv_timer_init(m->loop, &m->park_timer);
  m->park_timer.data = m;
  master_cluster_init(m);
  int rc;
  /* Before anything is written: a bad backup or a data dir that already
   * holds state leaves everything as it was. */
  if (m->cfg.restore_path && (rc = master_restore_load(m))) return rc;
  rc = dc_mkdir_p(m->cfg.data_dir, 0700);
  if (rc) {
    DC_ERROR("master", "cannot create data dir %s", m->cfg.data_dir);
    return rc;
  }
  char keypath[4200];
  snprintf(keypath, sizeof keypath, "%s/master.key", m->cfg.data_dir);
  if ((rc = dc_identity_load_or_create(keypath, &m->id, NULL))) {
    DC_ERROR("master", "key %s: %s", keypath, dc_strerror(rc));
    return rc;
  }
  snprintf(m->state_path, sizeof m->state_path, "%s/state.db", m->cfg.data_dir);
  /* With raft, the raft log is what must survive power loss (c-raft fsyncs
   * it); a state that lost its last transactions is replayed from it. */
  bool sync_full = m->cfg.sync_full && !m->cfg.raft_addr;
  if ((rc = dc_fsm_open(m->state_path, sync_full, &m->fsm, &err))) {
    DC_ERROR("master", "state: %s", err.text);
    return rc;
  }
  if (m->restore_img && !m->cfg.raft_addr && (rc = master_restore_local(m)))
    return rc;
  if ((rc = dc_fsm_open_reader(m->state_path, &m->rdb))) return rc;
  if ((rc = master_localdb_open(m))) {
    DC_ERROR("master", "local.db could not be opened");
    return rc;
  }
  if (!strcmp(m->cfg.policy, "spread")) {
    m->policy = -1;
  } else {
    enum dc_sched_kind k;
    if (dc_sched_kind_parse(m->cfg.policy, &k)) {
      DC_ERROR("master", "unknown --policy %s (learned, spread, first-fit, best-fit, "
                         "k8s, random, fgd)", m->cfg.policy);
      return DC_EINVAL;
    }
    m->policy = (int)k;
  }
  if ((rc = master_learning_start(m))) return rc;
  if ((rc = master_shards_start(m))) return rc;
  if (m->cfg.genesis_path && (rc = master_genesis_load(m, m->cfg.genesis_path, &err))) {
    DC_ERROR("master", "%s", err.text);
    return rc;
  }
  if ((rc = master_ledger_start(m))) {
    DC_ERROR("master", "ledger: %s", dc_strerror(rc));
    return rc;
  }
  if ((rc = master_sessions_start(m))) {
    DC_ERROR("master", "cannot listen for providers on %s:%u: %s",
             m->cfg.listen_host, m->cfg.listen_port, dc_strerror(rc));
    return rc;
  }
  struct dc_httpd_config hc = {
      .bind_addr = m->cfg.api_host,
      .port = m->cfg.api_port,
      .max_body = m->cfg.max_body_bytes,
  };
  if ((rc = dc_httpd_start(m->loop, &hc, master_api_handle, m, &m->http, &err))) {
    DC_ERROR("master", "cannot serve the API on %s:%u: %s", m->cfg.api_host,
             m->cfg.api_port, err.text);
    return rc;
  }
  if ((rc = write_port(m, "api.port", dc_httpd_port(m->http)))) return rc;
  /* What others use to reach us: the bound addresses unless told. */
  if (m->cfg.advertise_api)
    snprintf(m->advertise_api, sizeof m->advertise_api, "%s", m->cfg.advertise_api);
  else
    snprintf(m->advertise_api, sizeof m->advertise_api, "http://%s:%u",
             m->cfg.api_host, dc_httpd_port(m->http));
  if (m->cfg.advertise_session)
    snprintf(m->advertise_session, sizeof m->advertise_session, "%s",
             m->cfg.advertise_session);
  else
    snprintf(m->advertise_session, sizeof m->advertise_session, "%s:%u",
             m->cfg.listen_host, dc_listener_port(m->listener));
  if ((rc = master_membership_start(m))) return rc;
  /* The log last: becoming leader may act at once, on everything above. */
  if ((rc = master_log_start(m))) return rc;
  uv_timer_start(&m->tick, tick_cb, m->cfg.sched_interval_ms,
                 m->cfg.sched_interval_ms);
  uv_signal_start(&m->sigint, on_signal, SIGINT);
  uv_signal_start(&m->sigterm, on_signal, SIGTERM);
  char pk[DC_PK_HEX_LEN + 1];
  dc_identity_hex(&m->id, pk);
  DC_INFO("master", "ready api=%s sessions=%s key=%.16s log=%s raft_id=%llu applied=%llu",
          m->advertise_api, m->advertise_session, pk, m->log->ops->name,
          (unsigned long long)m->raft_id,
          (unsigned long long)dc_fsm_applied_index(m->fsm));
  return DC_OK;
}

int dc_master_run(const struct dc_master_config *cfg) {
  signal(SIGPIPE, SIG_IGN);
  if (dc_crypto_init()) return DC_ECRYPTO;
  struct dc_master *m = dc_calloc(1, sizeof *m);
  if (!m) return DC_ENOMEM;
  m->cfg = *cfg;
  m->loop = uv_default_loop();
  m->started_mono_ms = dc_mono_ms();
  /* With gossip deciding, the heartbeat timeout is only a fallback: well
   * above gossip's worst-case detection (docs/gossip.md). */
  if (m->cfg.heartbeat_timeout_ms == 0)
    m->cfg.heartbeat_timeout_ms =
        m->cfg.gossip_addr && *m->cfg.gossip_addr ? 60000 : 3000;
  int rc = start(m);
  if (rc) {
    stop(m);
  }
  uv_run(m->loop, UV_RUN_DEFAULT);
  master_restore_free(m);
  dc_free(m->seen);
  master_ledger_free(m);
  master_learning_free(m);
  master_shards_free(m);
  master_genesis_free(m);
  for (size_t i = 0; i < MASTER_RCACHE && m->rcache[i].sql; i++)
    sqlite3_finalize(m->rcache[i].stmt);
  sqlite3_close(m->rdb);
  sqlite3_close(m->ldb);
  dc_fsm_close(m->fsm);
  dc_identity_close(&m->id);
  uv_loop_close(m->loop);
  dc_free(m);
  DC_INFO("master", "stopped");
  return rc;
}
