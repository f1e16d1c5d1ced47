/* SPDX-License-Identifier: Apache-2.0
 * The versioned schema. Version n's DDL runs when a MIGRATE command to a
 * version >= n is applied; never edit a released step, append a new one. */
#include "fsm/fsm_int.h"

static const char *const migration_v1 =
    "CREATE TABLE nodes ("
    "  id TEXT PRIMARY KEY, name TEXT NOT NULL, addr TEXT NOT NULL,"
    "  cpu_millis INTEGER NOT NULL, memory_mb INTEGER NOT NULL,"
    "  disk_mb INTEGER NOT NULL, gpu INTEGER NOT NULL,"
    "  price_cpu_hour INTEGER NOT NULL, price_mem_gb_hour INTEGER NOT NULL,"
    "  lat REAL NOT NULL, lon REAL NOT NULL, classes TEXT NOT NULL,"
    "  labels TEXT NOT NULL, sandbox TEXT NOT NULL, state TEXT NOT NULL,"
    "  registered_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL,"
    "  deaths INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE jobs ("
    "  id TEXT PRIMARY KEY, owner TEXT NOT NULL, idem_key TEXT NOT NULL,"
    "  name TEXT NOT NULL, priority INTEGER NOT NULL, spec TEXT NOT NULL,"
    "  state TEXT NOT NULL, submitted_ms INTEGER NOT NULL,"
    "  finished_ms INTEGER, ntasks INTEGER NOT NULL, log_index INTEGER NOT NULL);"
    "CREATE UNIQUE INDEX jobs_idem ON jobs(owner, idem_key) WHERE idem_key <> '';"
    "CREATE INDEX jobs_state ON jobs(state, submitted_ms);"
    "CREATE TABLE tasks ("
    "  id TEXT PRIMARY KEY, job_id TEXT NOT NULL, name TEXT NOT NULL,"
    "  idx INTEGER NOT NULL, seq INTEGER NOT NULL, state TEXT NOT NULL,"
    "  attempt INTEGER NOT NULL DEFAULT 0, node_id TEXT,"
    "  retries INTEGER NOT NULL, retries_used INTEGER NOT NULL DEFAULT 0,"
    "  lost INTEGER NOT NULL DEFAULT 0,"
    "  cpu_millis INTEGER NOT NULL, memory_mb INTEGER NOT NULL,"
    "  disk_mb INTEGER NOT NULL, gpu INTEGER NOT NULL,"
    "  priority INTEGER NOT NULL, timeout_s INTEGER NOT NULL,"
    "  created_ms INTEGER NOT NULL, assigned_ms INTEGER, started_ms INTEGER,"
    "  finished_ms INTEGER, outcome INTEGER, exit_code INTEGER,"
    "  term_signal INTEGER, reason TEXT, cpu_user_us INTEGER,"
    "  cpu_sys_us INTEGER, peak_memory_bytes INTEGER, wall_ms INTEGER,"
    "  mechanism TEXT);"
    "CREATE INDEX tasks_job ON tasks(job_id, seq);"
    "CREATE INDEX tasks_job_state ON tasks(job_id, state);"
    /* Partial: only the queue. Transitions between other states (assigned,
     * running, done) then leave this index alone. */
    "CREATE INDEX tasks_queue ON tasks(priority DESC, created_ms, job_id, seq)"
    "  WHERE state = 'pending';"
    "CREATE INDEX tasks_node ON tasks(node_id, state);"
    "CREATE TABLE task_deps (task_id TEXT NOT NULL, dep_name TEXT NOT NULL,"
    "  PRIMARY KEY(task_id, dep_name));"
    "CREATE TABLE task_outputs (task_id TEXT NOT NULL, attempt INTEGER NOT NULL,"
    "  path TEXT NOT NULL, content BLOB NOT NULL,"
    "  PRIMARY KEY(task_id, attempt, path));"
    "CREATE TABLE task_events (seq INTEGER PRIMARY KEY, task_id TEXT NOT NULL,"
    "  attempt INTEGER NOT NULL, state TEXT NOT NULL, node_id TEXT,"
    "  ts_ms INTEGER NOT NULL, reason TEXT);"
    "CREATE INDEX task_events_task ON task_events(task_id, seq);";

/* v2: the registry of masters (how to reach each one), for redirects and
 * for providers following the leader. */
static const char *const migration_v2 =
    "CREATE TABLE masters (id INTEGER PRIMARY KEY, role TEXT NOT NULL,"
    "  raft_addr TEXT NOT NULL, api_url TEXT NOT NULL,"
    "  session_addr TEXT NOT NULL, updated_ms INTEGER NOT NULL);";

static const char *const migrations[] = {migration_v1, migration_v2};

int fsm_migrate(struct dc_fsm *f, uint32_t target, struct dc_fsm_result *res) {
  if (target > DC_ARRAY_LEN(migrations)) {
    res->code = DC_EVERSION;
    snprintf(res->message, sizeof res->message,
             "schema version %u is newer than this build knows (%zu)", target,
             DC_ARRAY_LEN(migrations));
    return DC_OK;
  }
  uint32_t cur = f->schema_version;
  for (uint32_t v = cur + 1; v <= target; v++) {
    int rc = fsm_exec(f, migrations[v - 1]);
    if (rc) return rc;
  }
  if (target > cur) {
    int rc = fsm_meta_set(f, "schema_version", target);
    if (rc) return rc;
    f->schema_version = target;
  }
  snprintf(res->message, sizeof res->message, "schema at version %u",
           f->schema_version);
  return DC_OK;
}
