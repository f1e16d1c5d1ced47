/* SPDX-License-Identifier: Apache-2.0
 * The master's local, unreplicated database: task logs (streamed output is
 * not a state transition, so it stays out of the command log) and the
 * nonces of signed requests seen recently (replay protection that survives
 * a restart). */
#include <stdio.h>

#include "master/master_int.h"

#define LOG_STREAM_MAX (1u << 20) /* per task attempt and stream */

int master_localdb_open(struct dc_master *m) {
  char path[4200];
  snprintf(path, sizeof path, "%s/local.db", m->cfg.data_dir);
  if (sqlite3_open_v2(path, &m->ldb,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                          SQLITE_OPEN_NOMUTEX,
                      NULL) != SQLITE_OK)
    return DC_EDB;
  const char *ddl =
      "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
      "CREATE TABLE IF NOT EXISTS task_logs(task_id TEXT NOT NULL,"
      " attempt INTEGER NOT NULL, stream INTEGER NOT NULL,"
      " data BLOB NOT NULL, PRIMARY KEY(task_id, attempt, stream));"
      "CREATE TABLE IF NOT EXISTS nonces(key TEXT NOT NULL, nonce TEXT NOT NULL,"
      " expires_ms INTEGER NOT NULL, PRIMARY KEY(key, nonce));"
      "CREATE TABLE IF NOT EXISTS explanations(task_id TEXT NOT NULL,"
      " attempt INTEGER NOT NULL, json TEXT NOT NULL,"
      " PRIMARY KEY(task_id, attempt));";
  return sqlite3_exec(m->ldb, ddl, NULL, NULL, NULL) == SQLITE_OK ? DC_OK
                                                                  : DC_EDB;
}

int master_logs_append(struct dc_master *m, const char *task_id,
                       uint32_t attempt, int stream, const uint8_t *p,
                       size_t n) {
  /* Append up to the cap; the rest of a chatty task's output is dropped
   * and the drop is visible as the cap being reached. */
  static const char *sql =
      "INSERT INTO task_logs(task_id, attempt, stream, data) VALUES(?1,?2,?3,?4)"
      " ON CONFLICT(task_id, attempt, stream) DO UPDATE SET data ="
      " CASE WHEN length(data) + length(excluded.data) <= ?5"
      " THEN data || excluded.data ELSE data END";
  sqlite3_stmt *s = NULL;
  if (sqlite3_prepare_v2(m->ldb, sql, -1, &s, NULL) != SQLITE_OK) return DC_EDB;
  sqlite3_bind_text(s, 1, task_id, -1, SQLITE_STATIC);
  sqlite3_bind_int64(s, 2, attempt);
  sqlite3_bind_int(s, 3, stream);
  sqlite3_bind_blob(s, 4, p, (int)n, SQLITE_STATIC);
  sqlite3_bind_int64(s, 5, LOG_STREAM_MAX);
  int rc = sqlite3_step(s);
  sqlite3_finalize(s);
  return rc == SQLITE_DONE ? DC_OK : DC_EDB;
}

int master_nonce_use(struct dc_master *m, const char *key_hex,
                     const char *nonce, int64_t expires_ms) {
  sqlite3_stmt *s = NULL;
  sqlite3_exec(m->ldb, "BEGIN", NULL, NULL, NULL);
  if (sqlite3_prepare_v2(m->ldb, "DELETE FROM nonces WHERE expires_ms < ?1",
                         -1, &s, NULL) == SQLITE_OK) {
    sqlite3_bind_int64(s, 1, dc_now_ms());
    sqlite3_step(s);
  }
  sqlite3_finalize(s);
  int out = DC_EDB;
  if (sqlite3_prepare_v2(m->ldb,
                         "INSERT INTO nonces(key, nonce, expires_ms)"
                         " VALUES(?1,?2,?3)",
                         -1, &s, NULL) == SQLITE_OK) {
    sqlite3_bind_text(s, 1, key_hex, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, nonce, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, expires_ms);
    int rc = sqlite3_step(s);
    out = rc == SQLITE_DONE ? DC_OK
          : rc == SQLITE_CONSTRAINT ? DC_EREPLAY
                                    : DC_EDB;
  }
  sqlite3_finalize(s);
  sqlite3_exec(m->ldb, "COMMIT", NULL, NULL, NULL);
  return out;
}

int master_explain_put(struct dc_master *m, const char *task_id, uint32_t attempt,
                       const char *json) {
  sqlite3_stmt *s = NULL;
  if (sqlite3_prepare_v2(m->ldb,
                         "INSERT OR REPLACE INTO explanations(task_id, attempt, json)"
                         " VALUES(?1, ?2, ?3)",
                         -1, &s, NULL) != SQLITE_OK)
    return DC_EDB;
  sqlite3_bind_text(s, 1, task_id, -1, SQLITE_STATIC);
  sqlite3_bind_int64(s, 2, attempt);
  sqlite3_bind_text(s, 3, json, -1, SQLITE_STATIC);
  int rc = sqlite3_step(s) == SQLITE_DONE ? DC_OK : DC_EDB;
  sqlite3_finalize(s);
  return rc;
}
