/* SPDX-License-Identifier: Apache-2.0
 * The master as a member of a cluster: which log back end runs, what
 * happens when leadership moves, joining through another member, and
 * handing leadership over before a planned stop.
 *
 * Only the leader acts: it proposes (scheduler, detector, migrations), holds
 * provider sessions and accepts writes. On becoming leader it first waits
 * for the log's barrier (done inside the raft back end), then gives every
 * provider a full heartbeat timeout to find it before anyone can be
 * declared dead. */
#include <curl/curl.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdlib.h>

#include "master/master_int.h"

#define JOIN_RETRY_MS 1000
#define JOIN_ATTEMPTS_MAX 120

/* ---- the raft id of this data dir --------------------------------------- */

/* Each data dir has its own id, created on first start and never reused: a
 * master whose data dir is wiped comes back as a new server, since reusing
 * the old id without its vote record could elect two leaders in a term. */
static int load_or_create_id(struct dc_master *m) {
  char path[4200];
  snprintf(path, sizeof path, "%s/raft.id", m->cfg.data_dir);
  char *text = NULL;
  if (dc_read_file(path, 64, &text, NULL) == DC_OK) {
    char *end = NULL;
    unsigned long long v = strtoull(text, &end, 10);
    bool bad = !v || !end || (*end && *end != '\n');
    dc_free(text);
    if (bad) {
      DC_ERROR("cluster", "%s is corrupt", path);
      return DC_EINVAL;
    }
    m->raft_id = v;
    return DC_OK;
  }
  uint64_t v = 0;
  while (!v) {
    dc_random(&v, sizeof v);
    v &= 0x7fffffffffffffffull; /* fits a JSON integer */
  }
  char out[32];
  int n = snprintf(out, sizeof out, "%" PRIu64 "\n", v);
  int rc = dc_write_file_atomic(path, out, (size_t)n, 0600);
  if (rc) return rc;
  m->raft_id = v;
  return DC_OK;
}

/* ---- registry --------------------------------------------------------------- */

const char *master_leader_api(struct dc_master *m) {
  static char url[256];
  uint64_t id = 0;
  const char *addr = NULL;
  if (!m->log || !m->log->ops->leader(m->log, &id, &addr)) return NULL;
  if (m->log->ops->is_leader(m->log) || id == m->raft_id) return m->advertise_api;
  sqlite3_stmt *s = master_read_stmt(m, "SELECT api_url FROM masters WHERE id = ?1");
  if (!s) return NULL;
  sqlite3_bind_int64(s, 1, (sqlite3_int64)id);
  const char *out = NULL;
  if (sqlite3_step(s) == SQLITE_ROW) {
    snprintf(url, sizeof url, "%s", (const char *)sqlite3_column_text(s, 0));
    out = url[0] ? url : NULL;
  }
  sqlite3_reset(s);
  return out;
}

/* Registry rows of servers outside the raft configuration are stale: a
 * membership change edits the configuration first and the registry after,
 * so a row without a server is one whose removal was never recorded, or a
 * master of the cluster a backup came from (a restored cluster has new
 * ids). The leader forgets them, as Nomad's autopilot cleans up dead
 * servers. */
static void forget_stale(struct dc_master *m) {
  struct dc_log_server sv[16];
  size_t n = 0;
  if (dc_log_raft_servers(m->log, sv, DC_ARRAY_LEN(sv), &n) || !n ||
      n > DC_ARRAY_LEN(sv))
    return;
  sqlite3_stmt *s = NULL;
  if (sqlite3_prepare_v2(m->rdb, "SELECT id FROM masters ORDER BY id", -1, &s, NULL) !=
      SQLITE_OK)
    return;
  uint64_t stale[16];
  size_t ns = 0;
  while (ns < DC_ARRAY_LEN(stale) && sqlite3_step(s) == SQLITE_ROW) {
    uint64_t id = (uint64_t)sqlite3_column_int64(s, 0);
    bool member = false;
    for (size_t i = 0; i < n; i++) member |= sv[i].id == id;
    if (!member) stale[ns++] = id;
  }
  sqlite3_finalize(s);
  for (size_t i = 0; i < ns; i++) {
    struct dc_cmd c = {.type = DC_CMD_MASTER_REMOVE};
    c.u.master_remove.id = stale[i];
    DC_INFO("cluster", "forgetting master %" PRIu64 ": not in the configuration", stale[i]);
    master_propose(m, &c, NULL, NULL);
  }
}

/* The leader keeps its own row current (its ports may have changed). */
static void register_self(struct dc_master *m) {
  if (!m->raft_id) return;
  forget_stale(m);
  sqlite3_stmt *s = master_read_stmt(
      m, "SELECT api_url, session_addr, raft_addr FROM masters WHERE id = ?1");
  if (!s) return; /* schema not migrated yet: the migrate callback retries */
  sqlite3_bind_int64(s, 1, (sqlite3_int64)m->raft_id);
  bool same = sqlite3_step(s) == SQLITE_ROW &&
              !strcmp((const char *)sqlite3_column_text(s, 0), m->advertise_api) &&
              !strcmp((const char *)sqlite3_column_text(s, 1), m->advertise_session) &&
              !strcmp((const char *)sqlite3_column_text(s, 2), m->cfg.raft_addr);
  sqlite3_reset(s);
  if (same) return;
  struct dc_cmd c = {.type = DC_CMD_MASTER_SET};
  c.u.master_set = (struct dc_cmd_master_set){
      .id = m->raft_id,
      .role = DC_MASTER_VOTER,
      .raft_addr = (char *)m->cfg.raft_addr,
      .api_url = m->advertise_api,
      .session_addr = m->advertise_session,
  };
  int rc = master_propose(m, &c, NULL, NULL);
  if (rc) DC_WARN("cluster", "cannot register this master: %s", dc_strerror(rc));
}

/* ---- leadership ------------------------------------------------------------- */

static void on_migrated(struct dc_master *m, const struct dc_fsm_result *r,
                        void *ud) {
  (void)ud;
  if (r->code != DC_OK) {
    DC_ERROR("master", "migrate failed: %s", r->message);
    return;
  }
  DC_INFO("master", "%s", r->message);
  register_self(m);
}

static void on_leader(void *ud, bool leader) {
  struct dc_master *m = ud;
  if (m->stopping) return;
  if (!leader) {
    DC_WARN("cluster", "lost leadership: closing provider sessions");
    for (struct session *s = m->sessions; s; s = s->next)
      if (!s->closed) dc_conn_close(s->conn, "this master is not the leader any more");
    m->assign_in_flight = false;
    master_ledger_on_leader(m, false);
    return;
  }
  /* A new leader cannot know how long providers have been silent: each
   * gets a full heartbeat timeout from now. */
  int64_t now = dc_mono_ms();
  m->started_mono_ms = now;
  for (size_t i = 0; i < m->nseen; i++) {
    m->seen[i].last_mono_ms = now;
    m->seen[i].dead_proposed = false;
  }
  DC_INFO("cluster", "leader id=%" PRIu64 " applied=%llu", m->raft_id,
          (unsigned long long)dc_fsm_applied_index(m->fsm));
  if (dc_fsm_schema_version(m->fsm) < DC_FSM_SCHEMA_VERSION) {
    struct dc_cmd c = {.type = DC_CMD_MIGRATE};
    c.u.migrate.schema_version = DC_FSM_SCHEMA_VERSION;
    if (master_propose(m, &c, on_migrated, NULL))
      DC_ERROR("master", "cannot propose the schema migration");
  } else {
    register_self(m);
  }
  master_ledger_on_leader(m, true);
  master_schedule_soon(m);
}

/* ---- joining ------------------------------------------------------------------ */

struct join_job {
  uv_work_t work;
  struct dc_master *m;
  char url[512];
  char path[32];
  char *body;
  char token_hdr[300];
  char sig_hdrs[4][DC_REQSIG_HEADER_MAX];
  long status;
  char answer[512];
};

static size_t join_sink(char *p, size_t sz, size_t n, void *ud) {
  struct join_job *j = ud;
  size_t have = strlen(j->answer), take = sz * n;
  if (have + 1 < sizeof j->answer)
    snprintf(j->answer + have, sizeof j->answer - have, "%.*s",
             (int)DC_MIN(take, sizeof j->answer - have - 1), p);
  return take;
}

/* Off the loop: a blocking HTTP call must not stall raft's timers. */
static void join_work(uv_work_t *w) {
  struct join_job *j = w->data;
  CURL *h = curl_easy_init();
  if (!h) return;
  struct curl_slist *hdrs = NULL;
  for (int i = 0; i < 4; i++) hdrs = curl_slist_append(hdrs, j->sig_hdrs[i]);
  hdrs = curl_slist_append(hdrs, j->token_hdr);
  hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
  hdrs = curl_slist_append(hdrs, "Expect:");
  curl_easy_setopt(h, CURLOPT_URL, j->url);
  curl_easy_setopt(h, CURLOPT_POSTFIELDS, j->body);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, join_sink);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, j);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 2000L);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 30000L);
  /* A follower answers 307 with the leader's URL; the signature covers
   * method, path and body, which a redirect keeps. */
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(h, CURLOPT_POSTREDIR, (long)CURL_REDIR_POST_ALL);
  curl_easy_setopt(h, CURLOPT_MAXREDIRS, 3L);
  if (curl_easy_perform(h) == CURLE_OK)
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &j->status);
  curl_slist_free_all(hdrs);
  curl_easy_cleanup(h);
}

static void join_retry(uv_timer_t *t);

static void join_done(uv_work_t *w, int status) {
  struct join_job *j = w->data;
  struct dc_master *m = j->m;
  m->join_busy = false;
  if (status == 0 && j->status >= 200 && j->status < 300) {
    DC_INFO("cluster", "joined through %s: %s", j->url, j->answer);
  } else if (j->status >= 400 && j->status < 500 && j->status != 409) {
    DC_ERROR("cluster", "join refused by %s (HTTP %ld): %s", j->url, j->status,
             j->answer);
  } else if (!m->stopping && ++m->join_attempts < JOIN_ATTEMPTS_MAX) {
    DC_WARN("cluster", "join through %s not done yet (HTTP %ld %s), retrying",
            j->url, j->status, j->answer);
    uv_timer_start(&m->join_timer, join_retry, JOIN_RETRY_MS, 0);
  } else {
    DC_ERROR("cluster", "gave up joining through %s", m->cfg.join_url);
  }
  dc_free(j->body);
  dc_free(j);
}

static void join_start(struct dc_master *m) {
  if (m->join_busy || m->stopping) return;
  size_t n = 0;
  struct dc_log_server sv[1];
  if (dc_log_raft_servers(m->log, sv, 1, &n) == DC_OK && n > 0) return;
  struct join_job *j = dc_calloc(1, sizeof *j);
  if (!j) return;
  j->m = m;
  snprintf(j->path, sizeof j->path, "/v1/masters");
  /* --join may list several members: try them in turn. */
  char list[1024], *urls[16], *save = NULL;
  size_t nurls = 0;
  snprintf(list, sizeof list, "%s", m->cfg.join_url);
  for (char *t = strtok_r(list, ",", &save); t && nurls < 16;
       t = strtok_r(NULL, ",", &save))
    urls[nurls++] = t;
  snprintf(j->url, sizeof j->url, "%s%s",
           nurls ? urls[(size_t)m->join_attempts % nurls] : "", j->path);
  json_t *o = json_pack("{s:I, s:s, s:s, s:s, s:s}", "id", (json_int_t)m->raft_id,
                        "raft_addr", m->cfg.raft_addr, "api_url", m->advertise_api,
                        "session_addr", m->advertise_session, "role",
                        m->cfg.standby ? "standby" : "voter");
  char *body = o ? json_dumps(o, JSON_COMPACT) : NULL;
  json_decref(o);
  j->body = body ? dc_strdup(body) : NULL;
  free(body);
  if (!j->body || dc_reqsig_headers(&m->id, "POST", j->path, j->body,
                                    strlen(j->body), j->sig_hdrs)) {
    dc_free(j->body);
    dc_free(j);
    return;
  }
  snprintf(j->token_hdr, sizeof j->token_hdr, "%s: %s", DC_HDR_CLUSTER_TOKEN,
           m->cfg.cluster_token ? m->cfg.cluster_token : "");
  j->work.data = j;
  m->join_busy = true;
  if (uv_queue_work(m->loop, &j->work, join_work, join_done)) {
    m->join_busy = false;
    dc_free(j->body);
    dc_free(j);
  }
}

static void join_retry(uv_timer_t *t) { join_start(t->data); }

/* ---- start and stop ---------------------------------------------------------- */

static void on_fatal(void *ud, const char *why) {
  (void)ud;
  fprintf(stderr, "deepcloud master: storage failure, stopping: %s\n", why);
}

void master_cluster_init(struct dc_master *m) {
  uv_timer_init(m->loop, &m->join_timer);
  m->join_timer.data = m;
  uv_timer_init(m->loop, &m->transfer_timer);
  m->transfer_timer.data = m;
}

int master_log_start(struct dc_master *m) {
  struct dc_log_hooks hooks = {.on_applied = master_on_applied,
                               .on_leader = on_leader,
                               .on_fatal = on_fatal,
                               .ud = m};
  if (!m->cfg.raft_addr) {
    int rc = dc_log_local_new(m->loop, m->fsm, &hooks, &m->log);
    if (rc) return rc;
    /* `local` is leader from the start and never announces it. */
    on_leader(m, true);
    return DC_OK;
  }
  int rc = load_or_create_id(m);
  if (rc) return rc;
  char dir[4200];
  snprintf(dir, sizeof dir, "%s/raft", m->cfg.data_dir);
  /* A new cluster founded from a backup: the image becomes raft's first
   * snapshot, which the log restores as it starts. */
  if (m->restore_img && (rc = master_restore_raft(m, dir))) return rc;
  struct dc_log_raft_config rc_cfg = {
      .dir = dir,
      .id = m->raft_id,
      .address = m->cfg.raft_addr,
      .bootstrap = m->cfg.bootstrap,
      .election_timeout_ms = m->cfg.raft_election_ms,
      .heartbeat_timeout_ms = m->cfg.raft_heartbeat_ms,
      .snapshot_threshold = m->cfg.raft_snapshot_threshold,
  };
  struct dc_errmsg err = {{0}};
  rc = dc_log_raft_new(m->loop, m->fsm, &rc_cfg, &hooks, &m->log, &err);
  if (rc) {
    DC_ERROR("cluster", "%s", err.text);
    m->log = NULL;
    return rc;
  }
  if (m->cfg.join_url) join_start(m);
  return DC_OK;
}

void master_cluster_close(struct dc_master *m) {
  uv_timer_stop(&m->join_timer);
  uv_timer_stop(&m->transfer_timer);
  uv_close((uv_handle_t *)&m->join_timer, NULL);
  uv_close((uv_handle_t *)&m->transfer_timer, NULL);
}

static void (*transfer_then)(struct dc_master *);

static void transfer_finished(struct dc_master *m) {
  if (!m->transferring) return;
  m->transferring = false;
  uv_timer_stop(&m->transfer_timer);
  uint64_t id = 0;
  const char *addr = NULL;
  m->log->ops->leader(m->log, &id, &addr);
  DC_INFO("cluster", "leadership handed over to %" PRIu64, id);
  transfer_then(m);
}

static void on_transferred(void *ud) { transfer_finished(ud); }
static void on_transfer_timeout(uv_timer_t *t) { transfer_finished(t->data); }

bool master_transfer_then(struct dc_master *m, void (*then)(struct dc_master *)) {
  if (!m->raft_id || !m->log || !dc_log_is_leader(m->log)) return false;
  size_t n = 0;
  struct dc_log_server sv[8];
  if (dc_log_raft_servers(m->log, sv, 8, &n) || n < 2) return false;
  transfer_then = then;
  if (dc_log_raft_transfer(m->log, 0, on_transferred, m)) return false;
  m->transferring = true;
  /* c-raft gives up after an election timeout; don't wait much longer. */
  uv_timer_start(&m->transfer_timer, on_transfer_timeout,
                 3 * (m->cfg.raft_election_ms ? m->cfg.raft_election_ms
                                              : DC_LOG_RAFT_ELECTION_MS), 0);
  DC_INFO("cluster", "handing leadership over before stopping");
  return true;
}
