/* SPDX-License-Identifier: Apache-2.0
 * Job commands: submit (expands a spec into task rows), cancel, and the
 * progress rule that moves dependents and closes jobs. */
#include "fsm/fsm_int.h"
#include "jobspec/jobspec.h"

static int job_exists(struct dc_fsm *f, const char *sql, const char *a,
                      const char *b, char *found, size_t foundsz, int *hit) {
  sqlite3_stmt *s = fsm_stmt(f, sql);
  if (!s) return DC_EDB;
  sqlite3_bind_text(s, 1, a, -1, SQLITE_STATIC);
  if (b) sqlite3_bind_text(s, 2, b, -1, SQLITE_STATIC);
  int rc = sqlite3_step(s);
  *hit = rc == SQLITE_ROW;
  if (*hit && found)
    snprintf(found, foundsz, "%s", (const char *)sqlite3_column_text(s, 0));
  sqlite3_reset(s);
  return rc == SQLITE_ROW || rc == SQLITE_DONE ? DC_OK : DC_EDB;
}

static int insert_tasks(struct dc_fsm *f, const char *job_id,
                        const struct dc_jobspec *spec, int64_t ts) {
  static const char *ins =
      "INSERT INTO tasks(id, job_id, name, idx, seq, state, retries,"
      " cpu_millis, memory_mb, disk_mb, gpu, priority, timeout_s, created_ms)"
      " VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14)";
  static const char *dep =
      "INSERT INTO task_deps(task_id, dep_name) VALUES(?1, ?2)";
  int64_t seq = 0;
  for (size_t t = 0; t < spec->ntasks; t++) {
    const struct dc_jobspec_task *tk = &spec->tasks[t];
    for (uint32_t i = 0; i < tk->count; i++, seq++) {
      char tid[160];
      snprintf(tid, sizeof tid, "%s.%s.%u", job_id, tk->name, i);
      sqlite3_stmt *s = fsm_stmt(f, ins);
      if (!s) return DC_EDB;
      sqlite3_bind_text(s, 1, tid, -1, SQLITE_TRANSIENT);
      sqlite3_bind_text(s, 2, job_id, -1, SQLITE_STATIC);
      sqlite3_bind_text(s, 3, tk->name, -1, SQLITE_STATIC);
      sqlite3_bind_int64(s, 4, i);
      sqlite3_bind_int64(s, 5, seq);
      sqlite3_bind_text(s, 6, tk->nafter ? DC_TASK_BLOCKED : DC_TASK_PENDING,
                        -1, SQLITE_STATIC);
      sqlite3_bind_int64(s, 7, tk->retries);
      sqlite3_bind_int64(s, 8, tk->cpu_millis);
      sqlite3_bind_int64(s, 9, (sqlite3_int64)tk->memory_mb);
      sqlite3_bind_int64(s, 10, (sqlite3_int64)tk->disk_mb);
      sqlite3_bind_int64(s, 11, tk->gpu);
      sqlite3_bind_int64(s, 12, spec->priority);
      sqlite3_bind_int64(s, 13, tk->timeout_s);
      sqlite3_bind_int64(s, 14, ts);
      int rc = fsm_step_done(f, s);
      if (rc) return rc;
      for (size_t d = 0; d < tk->nafter; d++) {
        s = fsm_stmt(f, dep);
        if (!s) return DC_EDB;
        sqlite3_bind_text(s, 1, tid, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(s, 2, tk->after[d], -1, SQLITE_STATIC);
        if ((rc = fsm_step_done(f, s))) return rc;
      }
    }
  }
  return DC_OK;
}

int fsm_job_submit(struct dc_fsm *f, const struct dc_cmd *c, uint64_t index,
                   struct dc_fsm_result *res) {
  const struct dc_cmd_job_submit *js = &c->u.job_submit;
  char owner[2 * DC_PK_BYTES + 1];
  dc_hex_encode(js->owner, DC_PK_BYTES, owner);
  const char *idem = js->idem_key ? js->idem_key : "";
  int hit = 0, rc;

  /* A retried submit with the same idempotency key finds the first job. */
  if (*idem) {
    rc = job_exists(f, "SELECT id FROM jobs WHERE owner=?1 AND idem_key=?2",
                    owner, idem, res->ref, sizeof res->ref, &hit);
    if (rc) return rc;
    if (hit) {
      snprintf(res->message, sizeof res->message,
               "job already submitted with this idempotency key");
      return DC_OK;
    }
  }
  rc = job_exists(f, "SELECT id FROM jobs WHERE id=?1", js->job_id, NULL,
                  NULL, 0, &hit);
  if (rc) return rc;
  if (hit) FSM_REJECT(res, DC_EEXISTS, "job id %s already exists", js->job_id);

  /* The proposer validated the spec; the FSM is still the final word, and
   * re-parsing the canonical text is deterministic. */
  struct dc_jobspec *spec = NULL;
  struct dc_errmsg perr = {{0}};
  const char *text = js->spec_json ? js->spec_json : "";
  rc = dc_jobspec_parse(text, strlen(text), &spec, &perr);
  if (rc == DC_ENOMEM) return DC_EDB;
  if (rc) FSM_REJECT(res, DC_EINVAL, "invalid job spec: %s", perr.text);

  static const char *ins =
      "INSERT INTO jobs(id, owner, idem_key, name, priority, spec, state,"
      " submitted_ms, ntasks, log_index) VALUES(?1,?2,?3,?4,?5,?6,'running',?7,?8,?9)";
  sqlite3_stmt *s = fsm_stmt(f, ins);
  if (!s) { dc_jobspec_free(spec); return DC_EDB; }
  sqlite3_bind_text(s, 1, js->job_id, -1, SQLITE_STATIC);
  sqlite3_bind_text(s, 2, owner, -1, SQLITE_STATIC);
  sqlite3_bind_text(s, 3, idem, -1, SQLITE_STATIC);
  sqlite3_bind_text(s, 4, spec->name, -1, SQLITE_STATIC);
  sqlite3_bind_int64(s, 5, spec->priority);
  sqlite3_bind_text(s, 6, text, -1, SQLITE_STATIC);
  sqlite3_bind_int64(s, 7, c->ts_ms);
  sqlite3_bind_int64(s, 8, (sqlite3_int64)spec->total_instances);
  sqlite3_bind_int64(s, 9, (sqlite3_int64)index);
  rc = fsm_step_done(f, s);
  if (!rc) rc = insert_tasks(f, js->job_id, spec, c->ts_ms);
  /* The budget is locked with the submit, or the submit is refused. */
  if (!rc) rc = fsm_pay_lock(f, js->job_id, js->owner, spec->budget, res);
  res->count = (uint32_t)spec->total_instances;
  dc_jobspec_free(spec);
  if (rc || res->code) return rc;
  snprintf(res->ref, sizeof res->ref, "%s", js->job_id);
  snprintf(res->message, sizeof res->message, "job accepted with %u task(s)",
           res->count);
  return DC_OK;
}

int fsm_job_cancel(struct dc_fsm *f, const struct dc_cmd *c,
                   struct dc_fsm_result *res) {
  const struct dc_cmd_job_cancel *jc = &c->u.job_cancel;
  char owner[2 * DC_PK_BYTES + 1];
  dc_hex_encode(jc->owner, DC_PK_BYTES, owner);
  sqlite3_stmt *s = fsm_stmt(f, "SELECT owner, state FROM jobs WHERE id=?1");
  if (!s) return DC_EDB;
  sqlite3_bind_text(s, 1, jc->job_id, -1, SQLITE_STATIC);
  int rc = sqlite3_step(s);
  if (rc == SQLITE_DONE) FSM_REJECT(res, DC_ENOTFOUND, "no job %s", jc->job_id);
  if (rc != SQLITE_ROW) return DC_EDB;
  bool mine = strcmp((const char *)sqlite3_column_text(s, 0), owner) == 0;
  bool running = strcmp((const char *)sqlite3_column_text(s, 1), DC_JOB_RUNNING) == 0;
  sqlite3_reset(s);
  if (!mine) FSM_REJECT(res, DC_EFORBIDDEN, "job %s belongs to another account", jc->job_id);
  if (!running) FSM_REJECT(res, DC_ECONFLICT, "job %s has already ended", jc->job_id);

  static const char *ev =
      "INSERT INTO task_events(task_id, attempt, state, node_id, ts_ms, reason)"
      " SELECT id, attempt, 'canceled', node_id, ?2, 'job canceled' FROM tasks"
      " WHERE job_id=?1 AND state NOT IN ('succeeded','failed','canceled')"
      " ORDER BY seq";
  s = fsm_stmt(f, ev);
  if (!s) return DC_EDB;
  sqlite3_bind_text(s, 1, jc->job_id, -1, SQLITE_STATIC);
  sqlite3_bind_int64(s, 2, c->ts_ms);
  if ((rc = fsm_step_done(f, s))) return rc;
  static const char *up =
      "UPDATE tasks SET state='canceled', finished_ms=?2, reason='job canceled'"
      " WHERE job_id=?1 AND state NOT IN ('succeeded','failed','canceled')";
  s = fsm_stmt(f, up);
  if (!s) return DC_EDB;
  sqlite3_bind_text(s, 1, jc->job_id, -1, SQLITE_STATIC);
  sqlite3_bind_int64(s, 2, c->ts_ms);
  if ((rc = fsm_step_done(f, s))) return rc;
  res->count = (uint32_t)sqlite3_changes(f->db);
  if ((rc = fsm_pay_refund(f, jc->job_id))) return rc;
  s = fsm_stmt(f, "UPDATE jobs SET state='canceled', finished_ms=?2 WHERE id=?1");
  if (!s) return DC_EDB;
  sqlite3_bind_text(s, 1, jc->job_id, -1, SQLITE_STATIC);
  sqlite3_bind_int64(s, 2, c->ts_ms);
  if ((rc = fsm_step_done(f, s))) return rc;
  snprintf(res->ref, sizeof res->ref, "%s", jc->job_id);
  snprintf(res->message, sizeof res->message, "job canceled");
  return DC_OK;
}

/* Fails every blocked task of the job that depends (directly) on a failed
 * task; repeated until nothing changes, which covers chains. */
static int fail_dependents(struct dc_fsm *f, const char *job_id, int64_t ts) {
  static const char *ev =
      "INSERT INTO task_events(task_id, attempt, state, node_id, ts_ms, reason)"
      " SELECT t.id, t.attempt, 'failed', NULL, ?2, 'dependency ' || d.dep_name"
      " || ' failed' FROM tasks t JOIN task_deps d ON d.task_id = t.id"
      " WHERE t.job_id=?1 AND t.state='blocked' AND EXISTS (SELECT 1 FROM tasks"
      " u WHERE u.job_id=?1 AND u.name=d.dep_name AND u.state IN"
      " ('failed','canceled')) GROUP BY t.id ORDER BY t.seq";
  static const char *up =
      "UPDATE tasks SET state='failed', finished_ms=?2, reason=(SELECT"
      " 'dependency ' || d.dep_name || ' failed' FROM task_deps d WHERE"
      " d.task_id=tasks.id AND EXISTS (SELECT 1 FROM tasks u WHERE u.job_id=?1"
      " AND u.name=d.dep_name AND u.state IN ('failed','canceled'))"
      " ORDER BY d.dep_name LIMIT 1)"
      " WHERE job_id=?1 AND state='blocked' AND EXISTS (SELECT 1 FROM task_deps"
      " d JOIN tasks u ON u.job_id=?1 AND u.name=d.dep_name WHERE"
      " d.task_id=tasks.id AND u.state IN ('failed','canceled'))";
  for (;;) {
    sqlite3_stmt *s = fsm_stmt(f, ev);
    if (!s) return DC_EDB;
    sqlite3_bind_text(s, 1, job_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, ts);
    int rc = fsm_step_done(f, s);
    if (rc) return rc;
    s = fsm_stmt(f, up);
    if (!s) return DC_EDB;
    sqlite3_bind_text(s, 1, job_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, ts);
    if ((rc = fsm_step_done(f, s))) return rc;
    if (sqlite3_changes(f->db) == 0) return DC_OK;
  }
}

int fsm_job_progress(struct dc_fsm *f, const char *job_id, int64_t ts) {
  int rc = fail_dependents(f, job_id, ts);
  if (rc) return rc;
  /* Unblock: every dependency name has all its instances succeeded. */
  static const char *unblock =
      "UPDATE tasks SET state='pending' WHERE job_id=?1 AND state='blocked'"
      " AND NOT EXISTS (SELECT 1 FROM task_deps d JOIN tasks u ON"
      " u.job_id=?1 AND u.name=d.dep_name WHERE d.task_id=tasks.id AND"
      " u.state <> 'succeeded')";
  sqlite3_stmt *s = fsm_stmt(f, unblock);
  if (!s) return DC_EDB;
  sqlite3_bind_text(s, 1, job_id, -1, SQLITE_STATIC);
  if ((rc = fsm_step_done(f, s))) return rc;

  /* Probes, not counts: with the (job_id, state) index each is one
   * lookup, so closing a job does not cost a scan of all its tasks. */
  static const char *open_q =
      "SELECT EXISTS (SELECT 1 FROM tasks WHERE job_id=?1 AND state IN"
      " ('blocked','pending','assigned','running')),"
      " EXISTS (SELECT 1 FROM tasks WHERE job_id=?1 AND state='failed')";
  s = fsm_stmt(f, open_q);
  if (!s) return DC_EDB;
  sqlite3_bind_text(s, 1, job_id, -1, SQLITE_STATIC);
  if (sqlite3_step(s) != SQLITE_ROW) return DC_EDB;
  int64_t open = sqlite3_column_int64(s, 0);
  int64_t failed = sqlite3_column_int64(s, 1);
  sqlite3_reset(s);
  if (open > 0) return DC_OK;
  static const char *close_job =
      "UPDATE jobs SET state=?2, finished_ms=?3 WHERE id=?1 AND state='running'";
  s = fsm_stmt(f, close_job);
  if (!s) return DC_EDB;
  sqlite3_bind_text(s, 1, job_id, -1, SQLITE_STATIC);
  sqlite3_bind_text(s, 2, failed ? DC_JOB_FAILED : DC_JOB_SUCCEEDED, -1,
                    SQLITE_STATIC);
  sqlite3_bind_int64(s, 3, ts);
  if ((rc = fsm_step_done(f, s))) return rc;
  /* The job ended: what its budget did not pay returns to its owner. */
  return sqlite3_changes(f->db) ? fsm_pay_refund(f, job_id) : DC_OK;
}
