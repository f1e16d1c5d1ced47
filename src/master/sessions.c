/* SPDX-License-Identifier: Apache-2.0
 * Provider sessions: one authenticated, encrypted TCP session per provider
 * agent. Messages from the agent become proposed commands; applied
 * assignments become RUN_TASK messages; tasks that are no longer current on
 * a node are killed there. */
#include <stdio.h>

#include "jobspec/jobspec.h"
#include "master/master_int.h"

static int send_msg(struct session *s, const struct dc_msg *msg) {
  struct dc_buf b = {.max = DC_FRAME_MAX};
  int rc = dc_msg_encode(msg, &b);
  if (!rc) rc = dc_conn_send(s->conn, msg->type, DC_MSG_VERSION, b.data, b.len);
  dc_buf_free(&b);
  if (rc)
    DC_WARN("session", "node=%.16s send=%s err=%s", s->node_hex,
            dc_msg_type_name(msg->type), dc_err_name(rc));
  return rc;
}

int master_session_send(struct session *s, const struct dc_msg *msg) {
  return send_msg(s, msg);
}

struct session *master_session_find(struct dc_master *m, const char *node_hex) {
  for (struct session *s = m->sessions; s; s = s->next)
    if (!s->closed && strcmp(s->node_hex, node_hex) == 0) return s;
  return NULL;
}

int master_session_live_count(struct dc_master *m) {
  int n = 0;
  for (struct session *s = m->sessions; s; s = s->next)
    if (!s->closed && s->registered) n++;
  return n;
}

static ssize_t sent_find(struct session *s, const char *task_id,
                         uint32_t attempt) {
  for (size_t i = 0; i < s->nsent; i++)
    if (s->sent[i].attempt == attempt && strcmp(s->sent[i].task_id, task_id) == 0)
      return (ssize_t)i;
  return -1;
}

static int sent_add(struct session *s, const char *task_id, uint32_t attempt) {
  if (s->nsent == s->capsent) {
    size_t cap = s->capsent ? s->capsent * 2 : 32;
    struct sent *v = dc_realloc(s->sent, cap * sizeof *v);
    if (!v) return DC_ENOMEM;
    s->sent = v;
    s->capsent = cap;
  }
  char *id = dc_strdup(task_id);
  if (!id) return DC_ENOMEM;
  s->sent[s->nsent++] = (struct sent){id, attempt};
  return DC_OK;
}

static void sent_remove(struct session *s, size_t i) {
  dc_free(s->sent[i].task_id);
  s->sent[i] = s->sent[--s->nsent];
}

/* ---- dispatch: applied assignments → RUN_TASK ---- */

static int run_task_msg(struct dc_master *m, const char *task_id,
                        uint32_t attempt, struct dc_msg *msg) {
  static const char *sql =
      "SELECT t.job_id, t.name, t.idx, j.spec FROM tasks t JOIN jobs j ON"
      " j.id = t.job_id WHERE t.id=?1";
  sqlite3_stmt *s = master_read_stmt(m, sql);
  if (!s) return DC_EDB;
  sqlite3_bind_text(s, 1, task_id, -1, SQLITE_STATIC);
  int rc = DC_ENOTFOUND;
  if (sqlite3_step(s) == SQLITE_ROW) {
    const char *spec_text = (const char *)sqlite3_column_text(s, 3);
    struct dc_jobspec *spec = NULL;
    struct dc_errmsg err;
    rc = dc_jobspec_parse(spec_text, strlen(spec_text), &spec, &err);
    const struct dc_jobspec_task *t =
        rc ? NULL
           : dc_jobspec_find_task(spec, (const char *)sqlite3_column_text(s, 1));
    char *json = NULL;
    if (!rc) rc = t ? dc_jobspec_task_json(t, &json) : DC_ENOTFOUND;
    if (!rc) {
      msg->type = DC_MSG_RUN_TASK;
      msg->u.run_task.task_id = dc_strdup(task_id);
      msg->u.run_task.attempt = attempt;
      msg->u.run_task.job_id = dc_strdup((const char *)sqlite3_column_text(s, 0));
      msg->u.run_task.task_name = dc_strdup((const char *)sqlite3_column_text(s, 1));
      msg->u.run_task.index = (uint32_t)sqlite3_column_int64(s, 2);
      msg->u.run_task.task_json = json;
      json = NULL;
    }
    dc_free(json);
    dc_jobspec_free(spec);
  }
  sqlite3_reset(s);
  return rc;
}

static void dispatch_all(struct dc_master *m);

void master_dispatch(struct dc_master *m) {
  /* One snapshot for the whole pass (see placement.c). */
  sqlite3_exec(m->rdb, "BEGIN", NULL, NULL, NULL);
  dispatch_all(m);
  sqlite3_exec(m->rdb, "COMMIT", NULL, NULL, NULL);
}

static void dispatch_all(struct dc_master *m) {
  static const char *sql =
      "SELECT id, attempt FROM tasks WHERE node_id=?1 AND state='assigned'"
      " ORDER BY assigned_ms, id";
  for (struct session *ss = m->sessions; ss; ss = ss->next) {
    if (ss->closed || !ss->registered) continue;
    sqlite3_stmt *s = master_read_stmt(m, sql);
    if (!s) return;
    sqlite3_bind_text(s, 1, ss->node_hex, -1, SQLITE_STATIC);
    while (sqlite3_step(s) == SQLITE_ROW) {
      const char *tid = (const char *)sqlite3_column_text(s, 0);
      uint32_t attempt = (uint32_t)sqlite3_column_int64(s, 1);
      if (sent_find(ss, tid, attempt) >= 0) continue;
      struct dc_msg msg = {0};
      if (run_task_msg(m, tid, attempt, &msg) == DC_OK &&
          send_msg(ss, &msg) == DC_OK)
        sent_add(ss, tid, attempt);
      dc_msg_free(&msg);
    }
    sqlite3_reset(s);
  }
}

/* A task this session was given that is no longer assigned to it at that
 * attempt (job canceled, node declared dead and the task moved) is killed
 * on the provider. */
static void reconcile_all(struct dc_master *m);

void master_reconcile(struct dc_master *m) {
  sqlite3_exec(m->rdb, "BEGIN", NULL, NULL, NULL);
  reconcile_all(m);
  sqlite3_exec(m->rdb, "COMMIT", NULL, NULL, NULL);
}

static void reconcile_all(struct dc_master *m) {
  static const char *sql =
      "SELECT 1 FROM tasks WHERE id=?1 AND attempt=?2 AND node_id=?3 AND"
      " state IN ('assigned','running')";
  for (struct session *ss = m->sessions; ss; ss = ss->next) {
    if (ss->closed) continue;
    for (size_t i = 0; i < ss->nsent;) {
      sqlite3_stmt *s = master_read_stmt(m, sql);
      if (!s) return;
      sqlite3_bind_text(s, 1, ss->sent[i].task_id, -1, SQLITE_STATIC);
      sqlite3_bind_int64(s, 2, ss->sent[i].attempt);
      sqlite3_bind_text(s, 3, ss->node_hex, -1, SQLITE_STATIC);
      bool current = sqlite3_step(s) == SQLITE_ROW;
      sqlite3_reset(s);
      if (current) {
        i++;
        continue;
      }
      struct dc_msg msg = {.type = DC_MSG_KILL_TASK};
      msg.u.kill_task.task_id = ss->sent[i].task_id;
      msg.u.kill_task.attempt = ss->sent[i].attempt;
      msg.u.kill_task.reason = "no longer current (canceled or reassigned)";
      send_msg(ss, &msg);
      sent_remove(ss, i);
    }
  }
}

/* ---- messages from the agent ---- */

struct ack_ctx {
  struct dc_master *m;
  char node_hex[2 * DC_PK_BYTES + 1];
  char *task_id;
  uint32_t attempt;
};

static void on_finished(struct dc_master *m, const struct dc_fsm_result *r,
                        void *ud) {
  struct ack_ctx *a = ud;
  /* Ack both acceptance and a deterministic refusal (a late result): in
   * either case the agent can forget the result. Other failures (log
   * closed) are not acked, so the agent resends after reconnecting. */
  bool final = r->code == DC_OK || r->code == DC_ECONFLICT ||
               r->code == DC_ENOTFOUND || r->code == DC_EBADSIG;
  struct session *s = master_session_find(m, a->node_hex);
  if (s && final) {
    struct dc_msg msg = {.type = DC_MSG_TASK_ACK};
    msg.u.task_ack.task_id = a->task_id;
    msg.u.task_ack.attempt = a->attempt;
    msg.u.task_ack.accepted = r->code == DC_OK;
    msg.u.task_ack.reason = (char *)r->message;
    send_msg(s, &msg);
  }
  if (r->code != DC_OK)
    DC_INFO("session", "node=%.16s task=%s attempt=%u result=%s msg=\"%s\"",
            a->node_hex, a->task_id, a->attempt, dc_err_name(r->code), r->message);
  dc_free(a->task_id);
  dc_free(a);
  m->work_dirty = true;
  master_schedule_soon(m);
}

static void on_registered(struct dc_master *m, const struct dc_fsm_result *r,
                          void *ud) {
  char *hex = ud;
  struct session *s = master_session_find(m, hex);
  dc_free(hex);
  if (!s) return;
  if (r->code != DC_OK) {
    dc_conn_close(s->conn, "registration refused");
    return;
  }
  s->registered = true;
  struct dc_msg msg = {.type = DC_MSG_REGISTERED};
  msg.u.registered.master_ts_ms = dc_now_ms();
  msg.u.registered.heartbeat_ms = 1000;
  send_msg(s, &msg);
  DC_INFO("session", "node=%.16s registered", s->node_hex);
  master_channels_notify(m, s);
  master_dispatch(m);
  master_schedule_soon(m);
}

static size_t count_orphans(struct dc_master *m, const char *node_hex,
                            const struct dc_msg_register *reg) {
  static const char *sql =
      "SELECT id, attempt FROM tasks WHERE node_id=?1 AND"
      " state IN ('assigned','running') ORDER BY id";
  sqlite3_stmt *q = master_read_stmt(m, sql);
  if (!q) return 0;
  sqlite3_bind_text(q, 1, node_hex, -1, SQLITE_STATIC);
  size_t n = 0;
  while (sqlite3_step(q) == SQLITE_ROW) {
    const char *id = (const char *)sqlite3_column_text(q, 0);
    uint32_t attempt = (uint32_t)sqlite3_column_int64(q, 1);
    bool held = false;
    for (size_t i = 0; i < reg->nrunning && !held; i++)
      held = reg->running[i].attempt == attempt &&
             strcmp(reg->running[i].task_id, id) == 0;
    if (!held) n++;
  }
  sqlite3_reset(q);
  return n;
}

static void handle_register(struct session *s, struct dc_msg_register *reg) {
  struct dc_master *m = s->m;
  if (memcmp(reg->node.node_id, s->node_id, DC_PK_BYTES) != 0) {
    dc_conn_close(s->conn, "register: node id is not the session's key");
    return;
  }
  /* Tasks the agent still holds (running, or finished and not yet acked)
   * stay ours: remember them so reconcile can kill stale ones, and so they
   * are not sent twice. */
  for (size_t i = 0; i < reg->nrunning; i++)
    if (sent_find(s, reg->running[i].task_id, reg->running[i].attempt) < 0)
      sent_add(s, reg->running[i].task_id, reg->running[i].attempt);
  /* Tasks the state says run here but the agent does not hold were lost
   * with its previous life (a restart, or a RUN_TASK that never arrived):
   * declare that life dead so they are requeued, then register anew. */
  size_t orphans = count_orphans(m, s->node_hex, reg);
  if (orphans > 0) {
    struct dc_cmd d = {.type = DC_CMD_NODE_DEAD};
    memcpy(d.u.node_dead.node_id, s->node_id, DC_PK_BYTES);
    char why[96];
    snprintf(why, sizeof why, "provider came back without %zu of its tasks",
             orphans);
    d.u.node_dead.reason = why;
    master_propose(m, &d, NULL, NULL);
    DC_WARN("session", "node=%.16s orphans=%zu requeueing", s->node_hex, orphans);
  }
  struct dc_cmd c = {.type = DC_CMD_NODE_REGISTER};
  c.u.node_register.node = reg->node;
  char *hex = dc_strdup(s->node_hex);
  if (!hex || master_propose(m, &c, on_registered, hex) != DC_OK) {
    dc_free(hex);
    dc_conn_close(s->conn, "register: could not propose");
  }
  memset(&c.u.node_register.node, 0, sizeof c.u.node_register.node);
  master_reconcile(m);
}

static void handle_done(struct session *s, struct dc_task_result *r) {
  struct dc_master *m = s->m;
  if (memcmp(r->node_id, s->node_id, DC_PK_BYTES) != 0 ||
      dc_task_result_verify(r) != DC_OK) {
    dc_conn_close(s->conn, "task result: bad signature");
    return;
  }
  ssize_t i = sent_find(s, r->task_id, r->attempt);
  if (i >= 0) sent_remove(s, (size_t)i);
  struct ack_ctx *a = dc_calloc(1, sizeof *a);
  if (!a) return;
  a->m = m;
  memcpy(a->node_hex, s->node_hex, sizeof a->node_hex);
  a->task_id = dc_strdup(r->task_id);
  a->attempt = r->attempt;
  struct dc_cmd c = {.type = DC_CMD_TASK_FINISHED};
  c.u.task_finished.r = *r;
  if (master_propose(m, &c, on_finished, a) != DC_OK) {
    dc_free(a->task_id);
    dc_free(a);
  }
}

static void on_started(struct dc_master *m, const struct dc_fsm_result *r,
                       void *ud) {
  (void)m; (void)r; (void)ud;
}

void master_session_frame(struct session *s, uint8_t type, const uint8_t *p,
                          size_t n);
void master_session_frame(struct session *s, uint8_t type, const uint8_t *p,
                          size_t n) {
  struct dc_master *m = s->m;
  struct dc_msg msg;
  int rc = dc_msg_decode(type, p, n, &msg);
  if (rc) {
    char why[96];
    snprintf(why, sizeof why, "malformed %s message: %s", dc_msg_type_name(type),
             dc_strerror(rc));
    dc_conn_close(s->conn, why);
    return;
  }
  master_seen(m, s->node_hex);
  switch (type) {
    case DC_MSG_REGISTER:
      handle_register(s, &msg.u.reg);
      break;
    case DC_MSG_HEARTBEAT:
      if (dc_msg_heartbeat_verify(&msg.u.heartbeat, s->node_id) != DC_OK) {
        dc_conn_close(s->conn, "heartbeat: bad signature");
        break;
      }
      if (s->has_hb) {
        struct dc_msg old = {.type = DC_MSG_HEARTBEAT};
        old.u.heartbeat = s->last_hb;
        dc_msg_free(&old);
      }
      s->last_hb = msg.u.heartbeat;
      s->has_hb = true;
      memset(&msg.u.heartbeat, 0, sizeof msg.u.heartbeat);
      break;
    case DC_MSG_TASK_STARTED: {
      struct dc_cmd c = {.type = DC_CMD_TASK_STARTED};
      c.u.task_started.task_id = msg.u.task_started.task_id;
      c.u.task_started.attempt = msg.u.task_started.attempt;
      memcpy(c.u.task_started.node_id, s->node_id, DC_PK_BYTES);
      master_propose(m, &c, on_started, NULL);
      break;
    }
    case DC_MSG_TASK_LOG:
      master_logs_append(m, msg.u.task_log.task_id, msg.u.task_log.attempt,
                         msg.u.task_log.stream, msg.u.task_log.data,
                         msg.u.task_log.len);
      break;
    case DC_MSG_TASK_DONE:
      handle_done(s, &msg.u.task_done);
      break;
    case DC_MSG_LEDGER_TX:
      master_channel_tx(s, &msg.u.ledger_tx);
      break;
    default:
      dc_conn_close(s->conn, "unexpected message type from a provider");
      break;
  }
  dc_msg_free(&msg);
}

void master_session_closed(struct session *s, const char *reason);
void master_session_closed(struct session *s, const char *reason) {
  struct dc_master *m = s->m;
  DC_INFO("session", "node=%.16s closed reason=\"%s\"", s->node_hex,
          reason ? reason : "");
  s->closed = true;
  /* The session is unlinked and freed here; the detector keeps the node's
   * last-seen time, so a provider that does not come back within the
   * heartbeat timeout is declared dead. */
  for (struct session **pp = &m->sessions; *pp; pp = &(*pp)->next) {
    if (*pp == s) {
      *pp = s->next;
      break;
    }
  }
  for (size_t i = 0; i < s->nsent; i++) dc_free(s->sent[i].task_id);
  dc_free(s->sent);
  if (s->has_hb) {
    struct dc_msg old = {.type = DC_MSG_HEARTBEAT};
    old.u.heartbeat = s->last_hb;
    dc_msg_free(&old);
  }
  dc_free(s);
}

/* ---- the listener: one session per authenticated provider ---- */

static void on_frame(struct dc_conn *c, uint8_t type, uint8_t version,
                     const uint8_t *payload, size_t len, void *ud) {
  struct session *s = ud;
  if (version != DC_MSG_VERSION) {
    dc_conn_close(c, "unsupported message version");
    return;
  }
  master_session_frame(s, type, payload, len);
}

static void on_close(struct dc_conn *c, int err, const char *reason, void *ud) {
  (void)c;
  (void)err;
  master_session_closed(ud, reason);
}

static void on_conn(struct dc_listener *l, struct dc_conn *c, void *ud) {
  (void)l;
  struct dc_master *m = ud;
  if (!dc_log_is_leader(m->log) || m->stopping || m->transferring) {
    /* Only the leader holds sessions; the provider moves on to the next
     * master in its list. */
    dc_conn_set_handlers(c, NULL, NULL, NULL);
    dc_conn_close(c, "not the leader");
    return;
  }
  struct session *s = dc_calloc(1, sizeof *s);
  if (!s) {
    dc_conn_set_handlers(c, NULL, NULL, NULL);
    dc_conn_close(c, "out of memory");
    return;
  }
  s->m = m;
  s->conn = c;
  memcpy(s->node_id, dc_conn_peer_pk(c), DC_PK_BYTES);
  dc_hex_encode(s->node_id, DC_PK_BYTES, s->node_hex);
  /* A provider that reconnects before its old session noticed the break
   * replaces it: one session per provider. */
  struct session *old = master_session_find(m, s->node_hex);
  if (old) {
    old->closed = true;
    dc_conn_close(old->conn, "replaced by a new session");
  }
  s->next = m->sessions;
  m->sessions = s;
  dc_conn_set_handlers(c, on_frame, on_close, s);
  master_seen(m, s->node_hex);
  DC_INFO("session", "node=%.16s addr=%s connected", s->node_hex,
          dc_conn_peer_addr(c));
}

int master_sessions_start(struct dc_master *m) {
  int rc = dc_listener_start(m->loop, m->cfg.listen_host, m->cfg.listen_port,
                             &m->id, NULL, on_conn, m, &m->listener);
  if (rc) return rc;
  char path[4200], text[16];
  snprintf(path, sizeof path, "%s/session.port", m->cfg.data_dir);
  int n = snprintf(text, sizeof text, "%u\n", dc_listener_port(m->listener));
  return dc_write_file_atomic(path, text, (size_t)n, 0644);
}

void master_sessions_stop(struct dc_master *m) {
  if (m->listener) dc_listener_stop(m->listener);
  m->listener = NULL;
  for (struct session *s = m->sessions; s; s = s->next)
    dc_conn_close(s->conn, "master shutting down");
}
