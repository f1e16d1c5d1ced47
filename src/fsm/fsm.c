/* SPDX-License-Identifier: Apache-2.0
 * Opening the state database and applying batches of log entries, each in
 * its own savepoint inside one transaction per batch. */
#include <inttypes.h>
#include <stdlib.h>

#include "fsm/fsm_int.h"

/* Hot pages (task rows, their indexes) are rewritten by every command; a
 * longer WAL between checkpoints copies each of them into the database
 * file (and syncs it) far less often. 8,192 pages ≈ 32 MiB of WAL. */
#define FSM_WAL_CHECKPOINT_PAGES 8192
/* Reading pages through a memory map instead of one pread each: a whole-
 * state snapshot reads every page, and system calls are not cheap. */
#define FSM_MMAP_BYTES (1LL << 30)

static int db_err(struct dc_fsm *f, const char *what) {
  dc_errmsg_set(&f->err, "%s: %s", what, sqlite3_errmsg(f->db));
  return DC_EDB;
}

sqlite3_stmt *fsm_stmt(struct dc_fsm *f, const char *sql) {
  size_t i;
  for (i = 0; i < FSM_STMT_CACHE && f->cache[i].sql; i++) {
    if (f->cache[i].sql == sql) {
      sqlite3_reset(f->cache[i].stmt);
      sqlite3_clear_bindings(f->cache[i].stmt);
      return f->cache[i].stmt;
    }
  }
  sqlite3_stmt *s = NULL;
  if (sqlite3_prepare_v3(f->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s,
                         NULL) != SQLITE_OK) {
    db_err(f, "prepare");
    return NULL;
  }
  if (i < FSM_STMT_CACHE) {
    f->cache[i].sql = sql;
    f->cache[i].stmt = s;
  } else {
    /* The cache is sized for every statement the fsm has; running out is a
     * programming error, not an operational one. */
    DC_ASSERT(!"fsm statement cache full");
  }
  return s;
}

int fsm_step_done(struct dc_fsm *f, sqlite3_stmt *s) {
  int rc = sqlite3_step(s);
  if (rc != SQLITE_DONE && rc != SQLITE_ROW) return db_err(f, "step");
  sqlite3_reset(s);
  return DC_OK;
}

/* sql must be a string literal: the statement cache keys on its address. */
int fsm_run(struct dc_fsm *f, const char *sql) {
  sqlite3_stmt *s = fsm_stmt(f, sql);
  return s ? fsm_step_done(f, s) : DC_EDB;
}

int fsm_exec(struct dc_fsm *f, const char *sql) {
  char *msg = NULL;
  if (sqlite3_exec(f->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
    dc_errmsg_set(&f->err, "exec: %s", msg ? msg : "?");
    sqlite3_free(msg);
    return DC_EDB;
  }
  return DC_OK;
}

int fsm_meta_set(struct dc_fsm *f, const char *key, int64_t value) {
  static const char *sql =
      "INSERT INTO meta(key, value) VALUES(?1, ?2) "
      "ON CONFLICT(key) DO UPDATE SET value = excluded.value";
  sqlite3_stmt *s = fsm_stmt(f, sql);
  if (!s) return DC_EDB;
  sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
  sqlite3_bind_int64(s, 2, value);
  return fsm_step_done(f, s);
}

int fsm_meta_read(sqlite3 *db, const char *key, int64_t *out) {
  sqlite3_stmt *s = NULL;
  *out = 0;
  if (sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key = ?1", -1, &s,
                         NULL) != SQLITE_OK)
    return DC_EDB;
  sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
  int rc = sqlite3_step(s);
  if (rc == SQLITE_ROW) *out = sqlite3_column_int64(s, 0);
  sqlite3_finalize(s);
  return rc == SQLITE_ROW || rc == SQLITE_DONE ? DC_OK : DC_EDB;
}

static int meta_get(struct dc_fsm *f, const char *key, int64_t *out) {
  return fsm_meta_read(f->db, key, out) ? db_err(f, "meta") : DC_OK;
}

int fsm_task_event(struct dc_fsm *f, const char *task_id, uint32_t attempt,
                   const char *state, const char *node_id, int64_t ts,
                   const char *reason) {
  static const char *sql =
      "INSERT INTO task_events(task_id, attempt, state, node_id, ts_ms, reason)"
      " VALUES(?1, ?2, ?3, ?4, ?5, ?6)";
  sqlite3_stmt *s = fsm_stmt(f, sql);
  if (!s) return DC_EDB;
  sqlite3_bind_text(s, 1, task_id, -1, SQLITE_STATIC);
  sqlite3_bind_int64(s, 2, attempt);
  sqlite3_bind_text(s, 3, state, -1, SQLITE_STATIC);
  if (node_id) sqlite3_bind_text(s, 4, node_id, -1, SQLITE_STATIC);
  sqlite3_bind_int64(s, 5, ts);
  if (reason) sqlite3_bind_text(s, 6, reason, -1, SQLITE_STATIC);
  return fsm_step_done(f, s);
}

int dc_fsm_open(const char *path, bool sync_full, struct dc_fsm **out,
                struct dc_errmsg *err) {
  /* No global allocation statistics: they put a process-wide mutex on every
   * sqlite3_malloc, which the raft back end's threads all share (its heap
   * is SQLite's). Only the first call in a process takes effect; later
   * ones are refused harmlessly. */
  static bool configured;
  if (!configured) {
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    configured = true;
  }
  struct dc_fsm *f = dc_calloc(1, sizeof *f);
  if (!f) return DC_ENOMEM;
  if (sqlite3_open_v2(path, &f->db,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                          SQLITE_OPEN_NOMUTEX,
                      NULL) != SQLITE_OK) {
    dc_errmsg_set(err, "open %s: %s", path,
                  f->db ? sqlite3_errmsg(f->db) : "out of memory");
    sqlite3_close(f->db);
    dc_free(f);
    return DC_EDB;
  }
  /* The log's durability rests on these: WAL so readers never block the
   * writer, and FULL sync when committed must survive power loss, not only
   * a crash of this process. */
  /* temp_store=MEMORY keeps the savepoint journal in memory. Every command
   * runs in its own savepoint, so the first change of each page a command
   * touches copies the page's previous content into that journal; on disk
   * (past 64 KiB) that was a 4 KiB pwrite per page per command, three times
   * the WAL's own writes on the commit thread. In memory it is truncated at
   * each RELEASE, so it never holds more than one command's pages. Sorts
   * on this connection stay in memory too: whole-table reads (the state
   * hash) go through a reader connection (dc_fsm_open_reader). */
  char pragmas[320];
  snprintf(pragmas, sizeof pragmas,
           "PRAGMA journal_mode=WAL; PRAGMA synchronous=%s;"
           "PRAGMA foreign_keys=OFF; PRAGMA busy_timeout=5000;"
           "PRAGMA temp_store=MEMORY;"
           "PRAGMA wal_autocheckpoint=%d; PRAGMA mmap_size=%lld;",
           sync_full ? "FULL" : "NORMAL", FSM_WAL_CHECKPOINT_PAGES,
           (long long)FSM_MMAP_BYTES);
  int rc = fsm_exec(f, pragmas);
  if (!rc)
    rc = fsm_exec(f,
                  "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY,"
                  " value INTEGER NOT NULL);"
                  "CREATE TABLE IF NOT EXISTS log(idx INTEGER PRIMARY KEY,"
                  " type INTEGER NOT NULL, data BLOB NOT NULL);");
  int64_t v = 0;
  if (!rc) rc = meta_get(f, "applied_index", &v);
  f->applied_index = (uint64_t)v;
  if (!rc) rc = meta_get(f, "schema_version", &v);
  f->schema_version = (uint32_t)v;
  if (rc) {
    dc_errmsg_set(err, "%s", f->err.text);
    dc_fsm_close(f);
    return rc;
  }
  *out = f;
  return DC_OK;
}

void dc_fsm_close(struct dc_fsm *f) {
  if (!f) return;
  for (size_t i = 0; i < FSM_STMT_CACHE && f->cache[i].sql; i++)
    sqlite3_finalize(f->cache[i].stmt);
  sqlite3_close(f->db);
  dc_free(f);
}

uint64_t dc_fsm_applied_index(const struct dc_fsm *f) {
  return f->applied_index;
}

uint32_t dc_fsm_schema_version(const struct dc_fsm *f) {
  return f->schema_version;
}

sqlite3 *dc_fsm_db(struct dc_fsm *f) { return f->db; }


int dc_fsm_open_reader(const char *path, sqlite3 **out) {
  sqlite3 *db = NULL;
  if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX,
                      NULL) != SQLITE_OK) {
    sqlite3_close(db);
    return DC_EDB;
  }
  sqlite3_busy_timeout(db, 5000);
  *out = db;
  return DC_OK;
}

static int dispatch(struct dc_fsm *f, const struct dc_cmd *c,
                    const struct dc_fsm_entry *e, struct dc_fsm_result *res) {
  if (c->type != DC_CMD_MIGRATE && f->schema_version == 0)
    FSM_REJECT(res, DC_EVERSION, "no schema yet: the log must start with a "
                                 "migrate command");
  if ((c->type == DC_CMD_TX || c->type == DC_CMD_LEDGER) &&
      f->schema_version < 2)
    FSM_REJECT(res, DC_EVERSION, "the ledger needs schema version 2 (at %u)",
               f->schema_version);
  switch (c->type) {
    case DC_CMD_MIGRATE:
      return fsm_migrate(f, c->u.migrate.schema_version, res);
    case DC_CMD_NODE_REGISTER: return fsm_node_register(f, c, res);
    case DC_CMD_NODE_DEAD: return fsm_node_dead(f, c, res);
    case DC_CMD_JOB_SUBMIT: return fsm_job_submit(f, c, e->index, res);
    case DC_CMD_JOB_CANCEL: return fsm_job_cancel(f, c, res);
    case DC_CMD_TASK_ASSIGN: return fsm_task_assign(f, c, res);
    case DC_CMD_TASK_STARTED: return fsm_task_started(f, c, res);
    case DC_CMD_TASK_FINISHED: return fsm_task_finished(f, c, res);
    case DC_CMD_MASTER_SET: return fsm_master_set(f, c, res);
    case DC_CMD_MASTER_REMOVE: return fsm_master_remove(f, c, res);
    case DC_CMD_NODE_CLUSTER_SET: return fsm_node_cluster_set(f, c, res);
    case DC_CMD_TX: return fsm_ledger_tx(f, c, e->index, res);
    case DC_CMD_LEDGER: return fsm_ledger_sys(f, c, e, res);
    default:
      FSM_REJECT(res, DC_EPROTO, "unknown command type %u", c->type);
  }
}

/* Every entry is kept with its outcome (from schema 2 on): the ledger seals
 * blocks from these rows, committing to each command and its result. */
static int log_insert(struct dc_fsm *f, const struct dc_fsm_entry *e,
                      uint16_t type, int code) {
  static const char *sql_v1 = "INSERT INTO log(idx, type, data) VALUES(?1, ?2, ?3)";
  static const char *sql_v2 =
      "INSERT INTO log(idx, type, data, code) VALUES(?1, ?2, ?3, ?4)";
  bool v2 = f->schema_version >= 2;
  sqlite3_stmt *s = fsm_stmt(f, v2 ? sql_v2 : sql_v1);
  if (!s) return DC_EDB;
  sqlite3_bind_int64(s, 1, (sqlite3_int64)e->index);
  sqlite3_bind_int(s, 2, type);
  sqlite3_bind_blob(s, 3, e->data, (int)e->len, SQLITE_STATIC);
  if (v2) sqlite3_bind_int(s, 4, code);
  return fsm_step_done(f, s);
}

static int apply_one(struct dc_fsm *f, const struct dc_fsm_entry *e,
                     struct dc_fsm_result *res) {
  struct dc_cmd c;
  int rc = dc_cmd_decode(e->data, e->len, &c);
  if (rc) {
    /* Undecodable bytes are deterministic garbage: every replica rejects
     * them the same way. They are still recorded in the log. */
    res->code = rc;
    snprintf(res->message, sizeof res->message, "undecodable command: %s",
             dc_strerror(rc));
    return log_insert(f, e, 0, rc) ? DC_EDB : DC_OK;
  }
  res->proposal_id = c.proposal_id;
  res->cmd_type = c.type;

  /* Prepared once: sqlite3_exec would parse these twice per command. */
  if (fsm_run(f, "SAVEPOINT cmd")) goto storage;
  f->rec_sub = 0;
  f->cur_index = e->index;
  rc = dispatch(f, &c, e, res);
  if (rc) goto storage;
  if (res->code != DC_OK) {
    if (fsm_run(f, "ROLLBACK TO cmd")) goto storage;
  }
  if (fsm_run(f, "RELEASE cmd")) goto storage;
  if (log_insert(f, e, c.type, res->code)) goto storage;
  dc_cmd_free(&c);
  return DC_OK;

storage:
  dc_cmd_free(&c);
  return DC_EDB;
}

int dc_fsm_apply_batch(struct dc_fsm *f, const struct dc_fsm_entry *entries,
                       size_t n, struct dc_fsm_result *results,
                       struct dc_errmsg *err) {
  memset(results, 0, n * sizeof *results);
  if (fsm_exec(f, "BEGIN IMMEDIATE")) goto fail;
  uint64_t applied = f->applied_index;
  uint32_t schema_before = f->schema_version;
  for (size_t i = 0; i < n; i++) {
    struct dc_fsm_result *res = &results[i];
    res->index = entries[i].index;
    if (entries[i].index <= applied) {
      snprintf(res->message, sizeof res->message, "already applied");
      continue;
    }
    /* Strictly increasing, not contiguous: a replicated log also holds
     * entries of its own (configuration changes, barriers). */
    DC_ASSERT(entries[i].index > applied);
    if (apply_one(f, &entries[i], res)) goto rollback;
    applied = entries[i].index;
  }
  if (applied != f->applied_index &&
      fsm_meta_set(f, "applied_index", (int64_t)applied))
    goto rollback;
  if (fsm_exec(f, "COMMIT")) goto rollback;
  f->applied_index = applied;
  return DC_OK;

rollback:
  f->schema_version = schema_before;
  sqlite3_exec(f->db, "ROLLBACK", NULL, NULL, NULL);
fail:
  dc_errmsg_set(err, "apply: %s", f->err.text);
  return DC_EDB;
}
