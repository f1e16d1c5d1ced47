/* SPDX-License-Identifier: Apache-2.0
 * Service clusters: which class a dynamic provider serves now, and each
 * provider's similarity group. The leader proposes moves (ahead of
 * forecast demand) and groups (k-means); this file checks them against
 * the state and applies them all or nothing. */
#include "fsm/fsm_int.h"

static int record_move(struct dc_fsm *f, uint32_t sub, const char *id,
                       const char *from, const char *to, const char *reason,
                       int64_t ts) {
  static const char *sql =
      "INSERT INTO cluster_moves(idx, sub, node_id, from_cluster, to_cluster,"
      " reason, ts_ms) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)";
  sqlite3_stmt *s = fsm_stmt(f, sql);
  if (!s) return DC_EDB;
  sqlite3_bind_int64(s, 1, (sqlite3_int64)f->cur_index);
  sqlite3_bind_int64(s, 2, sub);
  sqlite3_bind_text(s, 3, id, -1, SQLITE_STATIC);
  sqlite3_bind_text(s, 4, from, -1, SQLITE_STATIC);
  sqlite3_bind_text(s, 5, to, -1, SQLITE_STATIC);
  sqlite3_bind_text(s, 6, reason ? reason : "", -1, SQLITE_STATIC);
  sqlite3_bind_int64(s, 7, ts);
  return fsm_step_done(f, s);
}

int fsm_node_role_set(struct dc_fsm *f, const char *id,
                      const struct dc_node_info *n, int64_t ts) {
  static const char *q = "SELECT role, cluster FROM nodes WHERE id = ?1";
  sqlite3_stmt *s = fsm_stmt(f, q);
  if (!s) return DC_EDB;
  sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
  if (sqlite3_step(s) != SQLITE_ROW) {
    sqlite3_reset(s);
    return DC_EDB; /* the caller has just upserted the row */
  }
  bool was_dynamic = !strcmp((const char *)sqlite3_column_text(s, 0), "dynamic");
  char old[DC_NODE_CLASSES_MAX + 1];
  snprintf(old, sizeof old, "%s", (const char *)sqlite3_column_text(s, 1));
  sqlite3_reset(s);

  const char *classes = n->classes ? n->classes : "";
  char cluster[DC_NODE_CLASSES_MAX + 1];
  bool dynamic = n->role == DC_NODE_DYNAMIC;
  if (!dynamic) {
    snprintf(cluster, sizeof cluster, "%s", classes);
  } else if (was_dynamic && dc_csv_has(classes, old)) {
    snprintf(cluster, sizeof cluster, "%s", old);
  } else {
    size_t l = strcspn(classes, ",");
    snprintf(cluster, sizeof cluster, "%.*s", (int)l, classes);
  }
  static const char *u = "UPDATE nodes SET role = ?2, cluster = ?3 WHERE id = ?1";
  s = fsm_stmt(f, u);
  if (!s) return DC_EDB;
  sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
  sqlite3_bind_text(s, 2, dynamic ? "dynamic" : "fixed", -1, SQLITE_STATIC);
  sqlite3_bind_text(s, 3, cluster, -1, SQLITE_STATIC);
  int rc = fsm_step_done(f, s);
  /* A dynamic node whose cluster a re-registration changed: say so, as
   * for any move (a first registration is not a move). */
  if (!rc && was_dynamic && strcmp(old, cluster) != 0)
    rc = record_move(f, 0, id, old, cluster, "re-registered", ts);
  return rc;
}

/* Checks one item against the state; FSM_REJECT-style message on refusal. */
static int check_item(struct dc_fsm *f, const struct dc_cluster_item *it,
                      const char *id, struct dc_fsm_result *res, bool *ok,
                      char *old, size_t oldsz) {
  *ok = false;
  const char *want = it->cluster ? it->cluster : "";
  static const char *q = "SELECT role, classes, cluster FROM nodes WHERE id = ?1";
  sqlite3_stmt *s = fsm_stmt(f, q);
  if (!s) return DC_EDB;
  sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
  int rc = sqlite3_step(s);
  if (rc == SQLITE_DONE) {
    sqlite3_reset(s);
    FSM_REJECT(res, DC_ENOTFOUND, "unknown node %.16s", id);
  }
  if (rc != SQLITE_ROW) return DC_EDB;
  bool dynamic = !strcmp((const char *)sqlite3_column_text(s, 0), "dynamic");
  bool listed = dc_csv_has((const char *)sqlite3_column_text(s, 1), want);
  snprintf(old, oldsz, "%s", (const char *)sqlite3_column_text(s, 2));
  sqlite3_reset(s);
  if (*want && strcmp(old, want) != 0) {
    if (!dynamic)
      FSM_REJECT(res, DC_EINVAL,
                 "node %.16s is fixed: only a dynamic provider changes cluster", id);
    if (!listed)
      FSM_REJECT(res, DC_EINVAL,
                 "node %.16s does not accept service class %s", id, want);
  }
  if (it->group != DC_GROUP_KEEP && it->group > INT32_MAX)
    FSM_REJECT(res, DC_EINVAL, "group %u out of range", it->group);
  *ok = true;
  return DC_OK;
}

int fsm_node_cluster_set(struct dc_fsm *f, const struct dc_cmd *c,
                         struct dc_fsm_result *res) {
  const struct dc_cmd_node_cluster_set *a = &c->u.cluster_set;
  if (f->schema_version < 4)
    FSM_REJECT(res, DC_EVERSION, "service clusters need schema version 4");
  uint32_t moved = 0;
  for (size_t i = 0; i < a->n; i++) {
    const struct dc_cluster_item *it = &a->items[i];
    char id[2 * DC_PK_BYTES + 1], old[DC_NODE_CLASSES_MAX + 1];
    dc_hex_encode(it->node_id, DC_PK_BYTES, id);
    bool ok;
    int rc = check_item(f, it, id, res, &ok, old, sizeof old);
    /* A refusal leaves earlier items written: the caller rolls the whole
     * command back, so the command applies all or nothing. */
    if (rc || !ok) return rc;
    const char *want = it->cluster ? it->cluster : "";
    bool move = *want && strcmp(old, want) != 0;
    static const char *u =
        "UPDATE nodes SET cluster = CASE WHEN ?2 = '' THEN cluster ELSE ?2 END,"
        " grp = CASE WHEN ?3 < 0 THEN grp ELSE ?3 END WHERE id = ?1";
    sqlite3_stmt *s = fsm_stmt(f, u);
    if (!s) return DC_EDB;
    sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, want, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, it->group == DC_GROUP_KEEP ? -1 : (sqlite3_int64)it->group);
    if ((rc = fsm_step_done(f, s))) return rc;
    if (move && (rc = record_move(f, (uint32_t)i, id, old, want, a->reason,
                                  c->ts_ms)))
      return rc;
    moved += move;
  }
  res->count = moved;
  snprintf(res->message, sizeof res->message, "%u node(s) moved, %zu updated",
           moved, a->n);
  return DC_OK;
}
