/* SPDX-License-Identifier: Apache-2.0
 * Task commands: assignment batches, start, and results. A result is
 * accepted at most once: only for the current attempt, from the node it was
 * assigned to, while the task is still assigned or running. */
#include "fsm/fsm_int.h"

struct cur_task {
  int found;
  char state[16];
  char node[2 * DC_PK_BYTES + 1];
  char job[64];
  int64_t attempt, retries, retries_used;
};

static int load_task(struct dc_fsm *f, const char *id, struct cur_task *t) {
  static const char *sql =
      "SELECT state, IFNULL(node_id,''), job_id, attempt, retries,"
      " retries_used FROM tasks WHERE id=?1";
  memset(t, 0, sizeof *t);
  sqlite3_stmt *s = fsm_stmt(f, sql);
  if (!s) return DC_EDB;
  sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
  int rc = sqlite3_step(s);
  if (rc == SQLITE_ROW) {
    t->found = 1;
    snprintf(t->state, sizeof t->state, "%s", sqlite3_column_text(s, 0));
    snprintf(t->node, sizeof t->node, "%s", sqlite3_column_text(s, 1));
    snprintf(t->job, sizeof t->job, "%s", sqlite3_column_text(s, 2));
    t->attempt = sqlite3_column_int64(s, 3);
    t->retries = sqlite3_column_int64(s, 4);
    t->retries_used = sqlite3_column_int64(s, 5);
  }
  sqlite3_reset(s);
  return rc == SQLITE_ROW || rc == SQLITE_DONE ? DC_OK : DC_EDB;
}

static int node_alive(struct dc_fsm *f, const char *id, int *alive) {
  sqlite3_stmt *s = fsm_stmt(f, "SELECT state='alive' FROM nodes WHERE id=?1");
  if (!s) return DC_EDB;
  sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
  int rc = sqlite3_step(s);
  *alive = rc == SQLITE_ROW && sqlite3_column_int(s, 0);
  sqlite3_reset(s);
  return rc == SQLITE_ROW || rc == SQLITE_DONE ? DC_OK : DC_EDB;
}

int fsm_task_assign(struct dc_fsm *f, const struct dc_cmd *c,
                    struct dc_fsm_result *res) {
  const struct dc_cmd_task_assign *a = &c->u.task_assign;
  uint32_t ok = 0;
  static const char *up =
      "UPDATE tasks SET state='assigned', attempt=?2, node_id=?3,"
      " assigned_ms=?4, started_ms=NULL WHERE id=?1";
  /* Items are independent: one that lost a race (job canceled, node died)
   * is skipped and the rest of the batch still applies. */
  for (size_t i = 0; i < a->n; i++) {
    const struct dc_assignment *it = &a->items[i];
    char node[2 * DC_PK_BYTES + 1];
    dc_hex_encode(it->node_id, DC_PK_BYTES, node);
    struct cur_task t;
    int alive = 0, rc = load_task(f, it->task_id, &t);
    if (!rc) rc = node_alive(f, node, &alive);
    if (rc) return rc;
    if (!t.found || strcmp(t.state, DC_TASK_PENDING) != 0 || !alive ||
        it->attempt != (uint64_t)t.attempt + 1)
      continue;
    /* A paid job's worst case must be reserved first; a provider without
     * the minimum stake, or a budget that cannot cover it, skips the item. */
    bool paid_ok;
    if ((rc = fsm_pay_reserve(f, it->task_id, it->attempt, node, &paid_ok)))
      return rc;
    if (!paid_ok) continue;
    sqlite3_stmt *s = fsm_stmt(f, up);
    if (!s) return DC_EDB;
    sqlite3_bind_text(s, 1, it->task_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, it->attempt);
    sqlite3_bind_text(s, 3, node, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, 4, c->ts_ms);
    if ((rc = fsm_step_done(f, s))) return rc;
    if ((rc = fsm_task_event(f, it->task_id, it->attempt, DC_TASK_ASSIGNED,
                             node, c->ts_ms, NULL)))
      return rc;
    ok++;
  }
  res->count = ok;
  snprintf(res->message, sizeof res->message, "%u of %zu assignment(s) applied",
           ok, a->n);
  if (ok == 0 && a->n > 0)
    FSM_REJECT(res, DC_ECONFLICT, "no assignment of the batch was valid");
  return DC_OK;
}

int fsm_task_started(struct dc_fsm *f, const struct dc_cmd *c,
                     struct dc_fsm_result *res) {
  const struct dc_cmd_task_started *st = &c->u.task_started;
  char node[2 * DC_PK_BYTES + 1];
  dc_hex_encode(st->node_id, DC_PK_BYTES, node);
  struct cur_task t;
  int rc = load_task(f, st->task_id, &t);
  if (rc) return rc;
  if (!t.found) FSM_REJECT(res, DC_ENOTFOUND, "no task %s", st->task_id);
  if (strcmp(t.state, DC_TASK_ASSIGNED) != 0 || t.attempt != st->attempt ||
      strcmp(t.node, node) != 0)
    FSM_REJECT(res, DC_ECONFLICT, "stale start: task %s attempt %u is not "
               "assigned to this node", st->task_id, st->attempt);
  sqlite3_stmt *s =
      fsm_stmt(f, "UPDATE tasks SET state='running', started_ms=?2 WHERE id=?1");
  if (!s) return DC_EDB;
  sqlite3_bind_text(s, 1, st->task_id, -1, SQLITE_STATIC);
  sqlite3_bind_int64(s, 2, c->ts_ms);
  if ((rc = fsm_step_done(f, s))) return rc;
  snprintf(res->ref, sizeof res->ref, "%s", st->task_id);
  return fsm_task_event(f, st->task_id, st->attempt, DC_TASK_RUNNING, node,
                        c->ts_ms, NULL);
}

static int store_outputs(struct dc_fsm *f, const struct dc_task_result *r) {
  static const char *ins =
      "INSERT OR REPLACE INTO task_outputs(task_id, attempt, path, content)"
      " VALUES(?1, ?2, ?3, ?4)";
  for (size_t i = 0; i < r->noutputs; i++) {
    sqlite3_stmt *s = fsm_stmt(f, ins);
    if (!s) return DC_EDB;
    sqlite3_bind_text(s, 1, r->task_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, r->attempt);
    sqlite3_bind_text(s, 3, r->outputs[i].path, -1, SQLITE_STATIC);
    sqlite3_bind_blob(s, 4, r->outputs[i].data ? (const void *)r->outputs[i].data : "",
                      (int)r->outputs[i].len, SQLITE_STATIC);
    int rc = fsm_step_done(f, s);
    if (rc) return rc;
  }
  return DC_OK;
}

int fsm_task_finished(struct dc_fsm *f, const struct dc_cmd *c,
                      struct dc_fsm_result *res) {
  const struct dc_task_result *r = &c->u.task_finished.r;
  char node[2 * DC_PK_BYTES + 1];
  dc_hex_encode(r->node_id, DC_PK_BYTES, node);
  if (dc_task_result_verify(r) != DC_OK)
    FSM_REJECT(res, DC_EBADSIG, "result signature does not match node %.16s",
               node);
  struct cur_task t;
  int rc = load_task(f, r->task_id, &t);
  if (rc) return rc;
  if (!t.found) FSM_REJECT(res, DC_ENOTFOUND, "no task %s", r->task_id);
  snprintf(res->ref, sizeof res->ref, "%s", r->task_id);
  if ((strcmp(t.state, DC_TASK_ASSIGNED) != 0 &&
       strcmp(t.state, DC_TASK_RUNNING) != 0) ||
      t.attempt != r->attempt || strcmp(t.node, node) != 0)
    FSM_REJECT(res, DC_ECONFLICT,
               "late result refused: task %s attempt %u is %s (current "
               "attempt %lld)", r->task_id, r->attempt, t.state,
               (long long)t.attempt);

  bool success = r->outcome == DC_OUTCOME_SUCCEEDED;
  bool retry = !success && t.retries_used < t.retries;
  const char *next = success ? DC_TASK_SUCCEEDED
                     : retry ? DC_TASK_PENDING
                             : DC_TASK_FAILED;
  static const char *up =
      "UPDATE tasks SET state=?2, outcome=?3, exit_code=?4, term_signal=?5,"
      " reason=?6, cpu_user_us=?7, cpu_sys_us=?8, peak_memory_bytes=?9,"
      " wall_ms=?10, mechanism=?11, retries_used=retries_used+?12,"
      " finished_ms=CASE WHEN ?2 IN ('succeeded','failed') THEN ?13 END,"
      " node_id=CASE WHEN ?2='pending' THEN NULL ELSE node_id END WHERE id=?1";
  sqlite3_stmt *s = fsm_stmt(f, up);
  if (!s) return DC_EDB;
  sqlite3_bind_text(s, 1, r->task_id, -1, SQLITE_STATIC);
  sqlite3_bind_text(s, 2, next, -1, SQLITE_STATIC);
  sqlite3_bind_int(s, 3, r->outcome);
  sqlite3_bind_int(s, 4, r->exit_code);
  sqlite3_bind_int(s, 5, r->term_signal);
  sqlite3_bind_text(s, 6, r->reason ? r->reason : "", -1, SQLITE_STATIC);
  sqlite3_bind_int64(s, 7, (sqlite3_int64)r->usage.cpu_user_us);
  sqlite3_bind_int64(s, 8, (sqlite3_int64)r->usage.cpu_sys_us);
  sqlite3_bind_int64(s, 9, (sqlite3_int64)r->usage.peak_memory_bytes);
  sqlite3_bind_int64(s, 10, (sqlite3_int64)r->usage.wall_ms);
  sqlite3_bind_text(s, 11, r->mechanism ? r->mechanism : "", -1, SQLITE_STATIC);
  sqlite3_bind_int(s, 12, retry ? 1 : 0);
  sqlite3_bind_int64(s, 13, c->ts_ms);
  if ((rc = fsm_step_done(f, s))) return rc;
  if ((rc = store_outputs(f, r))) return rc;
  if ((rc = fsm_pay_settle(f, r->task_id, r->attempt, node, &r->usage)))
    return rc;
  const char *ev = success ? DC_TASK_SUCCEEDED : DC_TASK_FAILED;
  if ((rc = fsm_task_event(f, r->task_id, r->attempt, ev, node, c->ts_ms,
                           r->reason)))
    return rc;
  if (retry &&
      (rc = fsm_task_event(f, r->task_id, r->attempt, "retrying", NULL,
                           c->ts_ms, NULL)))
    return rc;
  snprintf(res->message, sizeof res->message, "result accepted: %s", next);
  if (retry) return DC_OK;
  return fsm_job_progress(f, t.job, c->ts_ms);
}
