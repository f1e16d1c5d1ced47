/* SPDX-License-Identifier: Apache-2.0
 * Node commands: a provider registers (or re-registers), or is declared
 * dead and its unfinished tasks go back to the queue. */
#include "fsm/fsm_int.h"

int fsm_node_register(struct dc_fsm *f, const struct dc_cmd *c,
                      struct dc_fsm_result *res) {
  const struct dc_node_info *n = &c->u.node_register.node;
  char id[2 * DC_PK_BYTES + 1];
  dc_hex_encode(n->node_id, DC_PK_BYTES, id);
  static const char *sql =
      "INSERT INTO nodes(id, name, addr, cpu_millis, memory_mb, disk_mb, gpu,"
      " price_cpu_hour, price_mem_gb_hour, lat, lon, classes, labels, sandbox,"
      " state, registered_ms, updated_ms)"
      " VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,'alive',?15,?15)"
      " ON CONFLICT(id) DO UPDATE SET name=excluded.name, addr=excluded.addr,"
      " cpu_millis=excluded.cpu_millis, memory_mb=excluded.memory_mb,"
      " disk_mb=excluded.disk_mb, gpu=excluded.gpu,"
      " price_cpu_hour=excluded.price_cpu_hour,"
      " price_mem_gb_hour=excluded.price_mem_gb_hour, lat=excluded.lat,"
      " lon=excluded.lon, classes=excluded.classes, labels=excluded.labels,"
      " sandbox=excluded.sandbox, state='alive', updated_ms=excluded.updated_ms";
  sqlite3_stmt *s = fsm_stmt(f, sql);
  if (!s) return DC_EDB;
  sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
  sqlite3_bind_text(s, 2, n->name ? n->name : "", -1, SQLITE_STATIC);
  sqlite3_bind_text(s, 3, n->addr ? n->addr : "", -1, SQLITE_STATIC);
  sqlite3_bind_int64(s, 4, n->cpu_millis);
  sqlite3_bind_int64(s, 5, (sqlite3_int64)n->memory_mb);
  sqlite3_bind_int64(s, 6, (sqlite3_int64)n->disk_mb);
  sqlite3_bind_int64(s, 7, n->gpu);
  sqlite3_bind_int64(s, 8, (sqlite3_int64)n->price_cpu_hour);
  sqlite3_bind_int64(s, 9, (sqlite3_int64)n->price_mem_gb_hour);
  sqlite3_bind_double(s, 10, n->lat);
  sqlite3_bind_double(s, 11, n->lon);
  sqlite3_bind_text(s, 12, n->classes ? n->classes : "", -1, SQLITE_STATIC);
  sqlite3_bind_text(s, 13, n->labels_json && *n->labels_json ? n->labels_json : "{}", -1,
                    SQLITE_STATIC);
  sqlite3_bind_text(s, 14, n->sandbox ? n->sandbox : "", -1, SQLITE_STATIC);
  sqlite3_bind_int64(s, 15, c->ts_ms);
  int rc = fsm_step_done(f, s);
  if (rc) return rc;
  /* Before schema v4 (an old log replayed) there is no role to store; the
   * migration then makes every such node fixed. */
  if (f->schema_version >= 4 && (rc = fsm_node_role_set(f, id, n, c->ts_ms)))
    return rc;
  snprintf(res->ref, sizeof res->ref, "%s", id);
  snprintf(res->message, sizeof res->message, "node registered");
  return DC_OK;
}

int fsm_node_dead(struct dc_fsm *f, const struct dc_cmd *c,
                  struct dc_fsm_result *res) {
  char id[2 * DC_PK_BYTES + 1];
  dc_hex_encode(c->u.node_dead.node_id, DC_PK_BYTES, id);
  static const char *q_node = "SELECT state FROM nodes WHERE id = ?1";
  sqlite3_stmt *s = fsm_stmt(f, q_node);
  if (!s) return DC_EDB;
  sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
  int rc = sqlite3_step(s);
  if (rc == SQLITE_DONE) FSM_REJECT(res, DC_ENOTFOUND, "unknown node %.16s", id);
  if (rc != SQLITE_ROW) return DC_EDB;
  bool alive = strcmp((const char *)sqlite3_column_text(s, 0), "alive") == 0;
  sqlite3_reset(s);
  if (!alive) FSM_REJECT(res, DC_ECONFLICT, "node %.16s is already dead", id);

  static const char *u_node =
      "UPDATE nodes SET state='dead', updated_ms=?2, deaths=deaths+1 WHERE id=?1";
  s = fsm_stmt(f, u_node);
  if (!s) return DC_EDB;
  sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
  sqlite3_bind_int64(s, 2, c->ts_ms);
  if ((rc = fsm_step_done(f, s))) return rc;

  /* Every unfinished task on the node is lost. Losing a provider is not
   * the task's fault, so it does not use up a retry, but a task that keeps
   * killing its providers fails after DC_FSM_MAX_LOST losses. */
  static const char *q_tasks =
      "SELECT id, attempt, lost, job_id FROM tasks WHERE node_id=?1 AND"
      " state IN ('assigned','running') ORDER BY id";
  s = fsm_stmt(f, q_tasks);
  if (!s) return DC_EDB;
  sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
  struct lost { char *id; char *job; int64_t attempt, lost; } *v = NULL;
  size_t nv = 0, cap = 0;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    if (nv == cap) {
      cap = cap ? cap * 2 : 16;
      struct lost *nvp = dc_realloc(v, cap * sizeof *v);
      if (!nvp) { rc = SQLITE_NOMEM; break; }
      v = nvp;
    }
    v[nv].id = dc_strdup((const char *)sqlite3_column_text(s, 0));
    v[nv].attempt = sqlite3_column_int64(s, 1);
    v[nv].lost = sqlite3_column_int64(s, 2);
    v[nv].job = dc_strdup((const char *)sqlite3_column_text(s, 3));
    nv++;
  }
  sqlite3_reset(s);
  int out = rc == SQLITE_DONE ? DC_OK : DC_EDB;
  static const char *u_task =
      "UPDATE tasks SET state=?2, node_id=NULL, lost=lost+1, reason=?3,"
      " finished_ms=CASE WHEN ?2='failed' THEN ?4 ELSE NULL END WHERE id=?1";
  for (size_t i = 0; i < nv && out == DC_OK; i++) {
    bool fail = v[i].lost + 1 >= DC_FSM_MAX_LOST;
    const char *st = fail ? DC_TASK_FAILED : DC_TASK_PENDING;
    const char *why = fail ? "lost: its provider died too many times"
                           : "lost: provider declared dead";
    s = fsm_stmt(f, u_task);
    if (!s) { out = DC_EDB; break; }
    sqlite3_bind_text(s, 1, v[i].id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, st, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, why, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 4, c->ts_ms);
    out = fsm_step_done(f, s);
    if (!out)
      out = fsm_task_event(f, v[i].id, (uint32_t)v[i].attempt, "lost", id,
                           c->ts_ms, c->u.node_dead.reason);
    /* Lost with its provider: the reservation goes back unpaid. */
    if (!out) out = fsm_pay_settle(f, v[i].id, (uint32_t)v[i].attempt, id, NULL);
    if (!out && fail) out = fsm_job_progress(f, v[i].job, c->ts_ms);
  }
  for (size_t i = 0; i < nv; i++) {
    dc_free(v[i].id);
    dc_free(v[i].job);
  }
  dc_free(v);
  if (out) return out;
  res->count = (uint32_t)nv;
  snprintf(res->ref, sizeof res->ref, "%s", id);
  snprintf(res->message, sizeof res->message, "node dead, %zu task(s) requeued",
           nv);
  return DC_OK;
}
