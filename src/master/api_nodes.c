/* SPDX-License-Identifier: Apache-2.0
 * Node routes, health, and the Prometheus /metrics text. */
#include <stdlib.h>

#include "master/api_int.h"

#define NODE_COLS                                                          \
  "n.id, n.name, n.addr, n.cpu_millis, n.memory_mb, n.disk_mb, n.gpu,"     \
  " n.price_cpu_hour, n.price_mem_gb_hour, n.lat, n.lon, n.classes,"       \
  " n.labels, n.sandbox, n.state, n.registered_ms, n.updated_ms, n.deaths," \
  " (SELECT COUNT(*) FROM tasks t WHERE t.node_id=n.id AND t.state IN"     \
  " ('assigned','running'))"
/* Schema v4 adds the service cluster: role, cluster now, similarity group. */
#define NODE_COLS_V4 NODE_COLS ", n.role, n.cluster, n.grp"
#define NODE_COLS_NOW(m) (dc_fsm_schema_version((m)->fsm) >= 4 ? NODE_COLS_V4 : NODE_COLS)

static json_t *node_json(struct dc_master *m, sqlite3_stmt *s) {
  const char *id = (const char *)sqlite3_column_text(s, 0);
  json_t *n = json_pack(
      "{s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:I}", "id", id, "name",
      (const char *)sqlite3_column_text(s, 1), "addr",
      (const char *)sqlite3_column_text(s, 2), "state",
      (const char *)sqlite3_column_text(s, 14), "registered_ms",
      (json_int_t)sqlite3_column_int64(s, 15), "updated_ms",
      (json_int_t)sqlite3_column_int64(s, 16), "deaths",
      (json_int_t)sqlite3_column_int64(s, 17), "tasks_active",
      (json_int_t)sqlite3_column_int64(s, 18));
  json_object_set_new(
      n, "resources",
      json_pack("{s:I, s:I, s:I, s:I}", "cpu_millis",
                (json_int_t)sqlite3_column_int64(s, 3), "memory_mb",
                (json_int_t)sqlite3_column_int64(s, 4), "disk_mb",
                (json_int_t)sqlite3_column_int64(s, 5), "gpu",
                (json_int_t)sqlite3_column_int64(s, 6)));
  json_object_set_new(n, "price",
                      json_pack("{s:I, s:I}", "cpu_hour",
                                (json_int_t)sqlite3_column_int64(s, 7),
                                "mem_gb_hour",
                                (json_int_t)sqlite3_column_int64(s, 8)));
  json_object_set_new(n, "location",
                      json_pack("{s:f, s:f}", "lat", sqlite3_column_double(s, 9),
                                "lon", sqlite3_column_double(s, 10)));
  json_object_set_new(n, "classes",
                      json_string((const char *)sqlite3_column_text(s, 11)));
  json_t *labels = json_loads((const char *)sqlite3_column_text(s, 12), 0, NULL);
  json_object_set_new(n, "labels", labels ? labels : json_object());
  json_object_set_new(n, "sandbox",
                      json_string((const char *)sqlite3_column_text(s, 13)));
  bool v4 = sqlite3_column_count(s) > 21;
  int64_t grp = v4 ? sqlite3_column_int64(s, 21) : -1;
  json_object_set_new(n, "role", json_string(v4 ? (const char *)sqlite3_column_text(s, 19)
                                                : "fixed"));
  json_object_set_new(n, "cluster",
                      json_string((const char *)sqlite3_column_text(s, v4 ? 20 : 11)));
  json_object_set_new(n, "group", grp >= 0 ? json_integer(grp) : json_null());
  struct session *ss = master_session_find(m, id);
  json_object_set_new(n, "connected", json_boolean(ss && ss->registered));
  /* This master's own view, not replicated state. */
  json_t *gm = master_membership_node_json(m, id);
  json_object_set_new(n, "gossip", gm ? gm : json_null());
  struct seen *sn = NULL;
  for (size_t i = 0; i < m->nseen && !sn; i++)
    if (!strcmp(m->seen[i].id, id)) sn = &m->seen[i];
  json_object_set_new(n, "dead_decided_by",
                      sn && sn->decided_by[0] ? json_string(sn->decided_by) : json_null());
  if (ss && ss->has_hb) {
    const struct dc_msg_heartbeat *hb = &ss->last_hb;
    json_object_set_new(
        n, "usage",
        json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "ts_ms",
                  (json_int_t)hb->ts_ms, "cpu_millis_used",
                  (json_int_t)hb->cpu_millis_used, "mem_used_bytes",
                  (json_int_t)hb->mem_used_bytes, "mem_total_bytes",
                  (json_int_t)hb->mem_total_bytes, "disk_used_bytes",
                  (json_int_t)hb->disk_used_bytes, "disk_total_bytes",
                  (json_int_t)hb->disk_total_bytes, "net_rx_bytes",
                  (json_int_t)hb->net_rx_bytes, "net_tx_bytes",
                  (json_int_t)hb->net_tx_bytes, "tasks",
                  (json_int_t)hb->ntasks));
  }
  return n;
}

void api_nodes_list(struct dc_master *m, struct dc_httpd_req *r) {
  sqlite3_stmt *s = NULL;
  char sql[1024];
  snprintf(sql, sizeof sql, "SELECT %s FROM nodes n ORDER BY n.name, n.id",
           NODE_COLS_NOW(m));
  sqlite3_prepare_v2(m->rdb, sql, -1, &s, NULL);
  json_t *arr = json_array();
  while (sqlite3_step(s) == SQLITE_ROW) json_array_append_new(arr, node_json(m, s));
  sqlite3_finalize(s);
  api_reply_json(r, 200, json_pack("{s:o}", "nodes", arr));
}

void api_node_show(struct dc_master *m, struct dc_httpd_req *r, const char *id) {
  /* Accept a full id or a unique prefix of at least 8 characters, like
   * git and nomad do for ids. */
  size_t n = strlen(id);
  if (n < 8 || n > 64) {
    dc_httpd_respond_error(r, 404, "NOTFOUND",
                           "no node %s (give at least 8 characters of its id)", id);
    return;
  }
  sqlite3_stmt *s = NULL;
  char sql[1024];
  snprintf(sql, sizeof sql,
           "SELECT %s FROM nodes n WHERE substr(n.id,1,?2)=?1 ORDER BY n.id LIMIT 2",
           NODE_COLS_NOW(m));
  sqlite3_prepare_v2(m->rdb, sql, -1, &s, NULL);
  sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
  sqlite3_bind_int(s, 2, (int)n);
  json_t *found = NULL;
  int rows = 0;
  while (sqlite3_step(s) == SQLITE_ROW) {
    if (rows++ == 0) found = node_json(m, s);
  }
  sqlite3_finalize(s);
  if (rows != 1) {
    json_decref(found);
    dc_httpd_respond_error(r, rows ? 409 : 404, rows ? "CONFLICT" : "NOTFOUND",
                           rows ? "node id prefix %s is ambiguous" : "no node %s", id);
    return;
  }
  api_reply_json(r, 200, found);
}

void api_health(struct dc_master *m, struct dc_httpd_req *r) {
  const char *leader_api = master_leader_api(m);
  struct dc_log_raft_stats st;
  dc_log_raft_stats(m->log, &st);
  api_reply_json(
      r, 200,
      json_pack("{s:s, s:i, s:I, s:b, s:s, s:I, s:s?, s:s, s:s, s:s?, s:I, s:I}", "status",
                "ok", "providers_live", master_session_live_count(m), "applied_index",
                (json_int_t)m->log->ops->applied_index(m->log), "leader",
                dc_log_is_leader(m->log), "log", m->log->ops->name, "raft_id",
                (json_int_t)m->raft_id, "leader_api", leader_api, "api_url",
                m->advertise_api, "session_addr", m->advertise_session, "raft_addr",
                m->cfg.raft_addr, "term",
                (json_int_t)st.term, "commit_index", (json_int_t)st.commit_index));
}

static void count_by_state(struct dc_master *m, struct dc_buf *b,
                           const char *metric, const char *table,
                           const char *const *states, size_t nstates) {
  char sql[160];
  snprintf(sql, sizeof sql, "SELECT state, COUNT(*) FROM %s GROUP BY state", table);
  int64_t counts[16] = {0};
  sqlite3_stmt *s = NULL;
  sqlite3_prepare_v2(m->rdb, sql, -1, &s, NULL);
  while (sqlite3_step(s) == SQLITE_ROW)
    for (size_t i = 0; i < nstates; i++)
      if (strcmp((const char *)sqlite3_column_text(s, 0), states[i]) == 0)
        counts[i] = sqlite3_column_int64(s, 1);
  sqlite3_finalize(s);
  dc_buf_printf(b, "# TYPE %s gauge\n", metric);
  for (size_t i = 0; i < nstates; i++)
    dc_buf_printf(b, "%s{state=\"%s\"} %lld\n", metric, states[i],
                  (long long)counts[i]);
}

void api_metrics(struct dc_master *m, struct dc_httpd_req *r) {
  static const char *const job_states[] = {"running", "succeeded", "failed", "canceled"};
  static const char *const task_states[] = {"blocked", "pending", "assigned",
                                            "running", "succeeded", "failed",
                                            "canceled"};
  struct dc_buf b = {0};
  sqlite3_exec(m->rdb, "BEGIN", NULL, NULL, NULL);
  count_by_state(m, &b, "deepcloud_jobs", "jobs", job_states, DC_ARRAY_LEN(job_states));
  count_by_state(m, &b, "deepcloud_tasks", "tasks", task_states, DC_ARRAY_LEN(task_states));
  sqlite3_exec(m->rdb, "COMMIT", NULL, NULL, NULL);
  dc_buf_printf(&b, "# TYPE deepcloud_providers_live gauge\n"
                    "deepcloud_providers_live %d\n", master_session_live_count(m));
  dc_buf_printf(&b, "# TYPE deepcloud_log_applied_index gauge\n"
                    "deepcloud_log_applied_index %llu\n",
                (unsigned long long)m->log->ops->applied_index(m->log));
  dc_buf_printf(&b, "# HELP deepcloud_placement_latency_ms From placement pass "
                    "start to its assignment batch applied.\n"
                    "# TYPE deepcloud_placement_latency_ms histogram\n");
  uint64_t cum = 0;
  for (size_t i = 0; i < METRIC_LAT_BUCKETS; i++) {
    cum += m->placement_hist[i];
    dc_buf_printf(&b, "deepcloud_placement_latency_ms_bucket{le=\"%g\"} %llu\n",
                  dc_master_lat_bounds_ms[i], (unsigned long long)cum);
  }
  cum += m->placement_hist[METRIC_LAT_BUCKETS];
  dc_buf_printf(&b, "deepcloud_placement_latency_ms_bucket{le=\"+Inf\"} %llu\n"
                    "deepcloud_placement_latency_ms_sum %.3f\n"
                    "deepcloud_placement_latency_ms_count %llu\n",
                (unsigned long long)cum, m->placement_sum_ms,
                (unsigned long long)m->placement_count);
  struct dc_httpd_stats st;
  dc_httpd_stats(m->http, &st);
  dc_buf_printf(&b, "# TYPE deepcloud_api_requests_total counter\n");
  for (size_t i = 1; i < DC_ARRAY_LEN(st.responses); i++)
    dc_buf_printf(&b, "deepcloud_api_requests_total{status=\"%zuxx\"} %llu\n",
                  i, (unsigned long long)st.responses[i]);
  dc_httpd_respond(r, 200, "text/plain; version=0.0.4", b.data ? (const char *)b.data : "",
                   b.len);
  dc_buf_free(&b);
}
