/* SPDX-License-Identifier: Apache-2.0
 * The registry of masters: addresses others use to reach each one. The
 * raft configuration decides who votes; this table only tells clients and
 * providers where to go, so it can never disagree with consensus about
 * anything that matters for safety. */
#include "fsm/fsm_int.h"

int fsm_master_set(struct dc_fsm *f, const struct dc_cmd *c,
                   struct dc_fsm_result *res) {
  const struct dc_cmd_master_set *m = &c->u.master_set;
  if (f->schema_version < 3)
    FSM_REJECT(res, DC_EVERSION, "the masters registry needs schema version 3");
  static const char *sql =
      "INSERT INTO masters(id, role, raft_addr, api_url, session_addr, updated_ms)"
      " VALUES(?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT(id) DO UPDATE SET"
      " role=excluded.role, raft_addr=excluded.raft_addr,"
      " api_url=excluded.api_url, session_addr=excluded.session_addr,"
      " updated_ms=excluded.updated_ms";
  sqlite3_stmt *s = fsm_stmt(f, sql);
  if (!s) return DC_EDB;
  sqlite3_bind_int64(s, 1, (sqlite3_int64)m->id);
  sqlite3_bind_text(s, 2, m->role == DC_MASTER_VOTER ? "voter" : "standby", -1,
                    SQLITE_STATIC);
  sqlite3_bind_text(s, 3, m->raft_addr, -1, SQLITE_STATIC);
  sqlite3_bind_text(s, 4, m->api_url ? m->api_url : "", -1, SQLITE_STATIC);
  sqlite3_bind_text(s, 5, m->session_addr ? m->session_addr : "", -1, SQLITE_STATIC);
  sqlite3_bind_int64(s, 6, c->ts_ms);
  int rc = fsm_step_done(f, s);
  if (rc) return rc;
  snprintf(res->ref, sizeof res->ref, "%llu", (unsigned long long)m->id);
  snprintf(res->message, sizeof res->message, "master %llu at %s",
           (unsigned long long)m->id, m->raft_addr);
  return DC_OK;
}

int fsm_master_remove(struct dc_fsm *f, const struct dc_cmd *c,
                      struct dc_fsm_result *res) {
  if (f->schema_version < 3)
    FSM_REJECT(res, DC_EVERSION, "the masters registry needs schema version 3");
  sqlite3_stmt *s = fsm_stmt(f, "DELETE FROM masters WHERE id = ?1");
  if (!s) return DC_EDB;
  sqlite3_bind_int64(s, 1, (sqlite3_int64)c->u.master_remove.id);
  int rc = fsm_step_done(f, s);
  if (rc) return rc;
  if (sqlite3_changes(f->db) == 0)
    FSM_REJECT(res, DC_ENOTFOUND, "no master %llu",
               (unsigned long long)c->u.master_remove.id);
  snprintf(res->ref, sizeof res->ref, "%llu",
           (unsigned long long)c->u.master_remove.id);
  return DC_OK;
}
