/* SPDX-License-Identifier: Apache-2.0
 * The spine's failure detector: a provider that sends nothing for the
 * heartbeat timeout is declared dead by a proposed NODE_DEAD command. After
 * a master start every node gets a full timeout to reconnect first. */
#include "master/master_int.h"

struct seen *master_seen_get(struct dc_master *m, const char *id) {
  for (size_t i = 0; i < m->nseen; i++)
    if (strcmp(m->seen[i].id, id) == 0) return &m->seen[i];
  if (m->nseen == m->capseen) {
    size_t cap = m->capseen ? m->capseen * 2 : 16;
    struct seen *v = dc_realloc(m->seen, cap * sizeof *v);
    if (!v) return NULL;
    m->seen = v;
    m->capseen = cap;
  }
  struct seen *s = &m->seen[m->nseen++];
  memset(s, 0, sizeof *s);
  snprintf(s->id, sizeof s->id, "%s", id);
  /* A node we have not heard from since start gets the grace period. */
  s->last_mono_ms = m->started_mono_ms;
  return s;
}

void master_seen(struct dc_master *m, const char *node_hex) {
  struct seen *s = master_seen_get(m, node_hex);
  if (!s) return;
  s->last_mono_ms = dc_mono_ms();
}

static void on_dead(struct dc_master *m, const struct dc_fsm_result *r,
                    void *ud) {
  struct seen *s = master_seen_get(m, ud ? (const char *)ud : "");
  if (s) s->dead_proposed = false;
  DC_INFO("detector", "node=%.16s dead code=%s msg=\"%s\"", r->ref,
          dc_err_name(r->code), r->message);
  dc_free(ud);
  m->work_dirty = true;
  master_schedule_soon(m);
}

void master_propose_dead(struct dc_master *m, struct seen *sn, const char *detector,
                         const char *reason) {
  if (sn->dead_proposed) return;
  struct dc_cmd c = {.type = DC_CMD_NODE_DEAD};
  if (dc_hex_decode(sn->id, c.u.node_dead.node_id, DC_PK_BYTES)) return;
  char why[128];
  snprintf(why, sizeof why, "%s", reason);
  c.u.node_dead.reason = why;
  char *idc = dc_strdup(sn->id);
  if (idc && master_propose(m, &c, on_dead, idc) == DC_OK) {
    sn->dead_proposed = true;
    snprintf(sn->decided_by, sizeof sn->decided_by, "%s", detector);
    DC_WARN("detector", "node=%.16s proposing=dead by=%s reason=\"%s\"", sn->id,
            detector, reason);
  } else {
    dc_free(idc);
  }
}

void master_detector_tick(struct dc_master *m) {
  if (!dc_log_is_leader(m->log)) return;
  sqlite3_stmt *s = NULL;
  if (sqlite3_prepare_v2(m->rdb,
                         "SELECT id FROM nodes WHERE state='alive' ORDER BY id",
                         -1, &s, NULL) != SQLITE_OK)
    return;
  int64_t now = dc_mono_ms();
  while (sqlite3_step(s) == SQLITE_ROW) {
    const char *id = (const char *)sqlite3_column_text(s, 0);
    struct seen *sn = master_seen_get(m, id);
    if (!sn || sn->dead_proposed) continue;
    if (now - sn->last_mono_ms < (int64_t)m->cfg.heartbeat_timeout_ms) continue;
    /* An open session that stopped sending heartbeats is a hung agent. */
    struct session *ss = master_session_find(m, id);
    if (ss && !ss->closed) dc_conn_close(ss->conn, "heartbeat timeout");
    char reason[96];
    snprintf(reason, sizeof reason, "no heartbeat for %lld ms",
             (long long)(now - sn->last_mono_ms));
    master_propose_dead(m, sn, "heartbeat", reason);
  }
  sqlite3_finalize(s);
}
