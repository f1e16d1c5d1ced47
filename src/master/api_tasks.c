/* SPDX-License-Identifier: Apache-2.0
 * Task routes: the tasks of a job, one task with its history, its logs
 * and its collected output files. */
#include <sodium.h>
#include <stdlib.h>

#include "master/api_int.h"

#define TASK_COLS                                                          \
  "id, job_id, name, idx, state, attempt, IFNULL(node_id,''), retries,"    \
  " retries_used, lost, cpu_millis, memory_mb, disk_mb, gpu, timeout_s,"   \
  " created_ms, assigned_ms, started_ms, finished_ms, outcome, exit_code," \
  " term_signal, reason, cpu_user_us, cpu_sys_us, peak_memory_bytes,"      \
  " wall_ms, mechanism"

static void set_int_or_null(json_t *o, const char *k, sqlite3_stmt *s, int col) {
  json_object_set_new(o, k,
                      sqlite3_column_type(s, col) == SQLITE_NULL
                          ? json_null()
                          : json_integer(sqlite3_column_int64(s, col)));
}

static json_t *task_json(sqlite3_stmt *s) {
  json_t *t = json_pack(
      "{s:s, s:s, s:s, s:I, s:s, s:I, s:s, s:I, s:I, s:I}", "id",
      (const char *)sqlite3_column_text(s, 0), "job_id",
      (const char *)sqlite3_column_text(s, 1), "name",
      (const char *)sqlite3_column_text(s, 2), "index",
      (json_int_t)sqlite3_column_int64(s, 3), "state",
      (const char *)sqlite3_column_text(s, 4), "attempt",
      (json_int_t)sqlite3_column_int64(s, 5), "node",
      (const char *)sqlite3_column_text(s, 6), "retries",
      (json_int_t)sqlite3_column_int64(s, 7), "retries_used",
      (json_int_t)sqlite3_column_int64(s, 8), "lost",
      (json_int_t)sqlite3_column_int64(s, 9));
  json_object_set_new(t, "resources",
                      json_pack("{s:I, s:I, s:I, s:I}", "cpu_millis",
                                (json_int_t)sqlite3_column_int64(s, 10),
                                "memory_mb", (json_int_t)sqlite3_column_int64(s, 11),
                                "disk_mb", (json_int_t)sqlite3_column_int64(s, 12),
                                "gpu", (json_int_t)sqlite3_column_int64(s, 13)));
  set_int_or_null(t, "timeout_s", s, 14);
  set_int_or_null(t, "created_ms", s, 15);
  set_int_or_null(t, "assigned_ms", s, 16);
  set_int_or_null(t, "started_ms", s, 17);
  set_int_or_null(t, "finished_ms", s, 18);
  set_int_or_null(t, "exit_code", s, 20);
  set_int_or_null(t, "term_signal", s, 21);
  static const char *outcomes[] = {"", "succeeded", "failed", "timeout",
                                   "oom", "killed", "error"};
  int oc = sqlite3_column_int(s, 19);
  json_object_set_new(t, "outcome",
                      sqlite3_column_type(s, 19) == SQLITE_NULL || oc < 1 || oc > 6
                          ? json_null()
                          : json_string(outcomes[oc]));
  json_object_set_new(t, "reason", sqlite3_column_type(s, 22) == SQLITE_NULL
                                       ? json_null()
                                       : json_string((const char *)sqlite3_column_text(s, 22)));
  json_t *u = json_object();
  set_int_or_null(u, "cpu_user_us", s, 23);
  set_int_or_null(u, "cpu_sys_us", s, 24);
  set_int_or_null(u, "peak_memory_bytes", s, 25);
  set_int_or_null(u, "wall_ms", s, 26);
  json_object_set_new(t, "usage", u);
  json_object_set_new(t, "sandbox", sqlite3_column_type(s, 27) == SQLITE_NULL
                                        ? json_null()
                                        : json_string((const char *)sqlite3_column_text(s, 27)));
  return t;
}

void api_job_tasks(struct dc_master *m, struct dc_httpd_req *r, const char *id) {
  sqlite3_stmt *s = NULL;
  sqlite3_prepare_v2(m->rdb, "SELECT 1 FROM jobs WHERE id=?1", -1, &s, NULL);
  sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
  bool found = sqlite3_step(s) == SQLITE_ROW;
  sqlite3_finalize(s);
  if (!found) {
    dc_httpd_respond_error(r, 404, "NOTFOUND", "no job %s", id);
    return;
  }
  sqlite3_prepare_v2(m->rdb, "SELECT " TASK_COLS " FROM tasks WHERE job_id=?1 ORDER BY seq",
                     -1, &s, NULL);
  sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
  json_t *arr = json_array();
  while (sqlite3_step(s) == SQLITE_ROW) json_array_append_new(arr, task_json(s));
  sqlite3_finalize(s);
  api_reply_json(r, 200, json_pack("{s:s, s:o}", "job_id", id, "tasks", arr));
}

void api_task_show(struct dc_master *m, struct dc_httpd_req *r, const char *id) {
  sqlite3_stmt *s = NULL;
  sqlite3_prepare_v2(m->rdb, "SELECT " TASK_COLS " FROM tasks WHERE id=?1", -1, &s, NULL);
  sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
  if (sqlite3_step(s) != SQLITE_ROW) {
    sqlite3_finalize(s);
    dc_httpd_respond_error(r, 404, "NOTFOUND", "no task %s", id);
    return;
  }
  json_t *t = task_json(s);
  sqlite3_finalize(s);
  json_t *ev = json_array();
  sqlite3_prepare_v2(m->rdb,
                     "SELECT attempt, state, IFNULL(node_id,''), ts_ms,"
                     " IFNULL(reason,'') FROM task_events WHERE task_id=?1 ORDER BY seq",
                     -1, &s, NULL);
  sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
  while (sqlite3_step(s) == SQLITE_ROW)
    json_array_append_new(
        ev, json_pack("{s:I, s:s, s:s, s:I, s:s}", "attempt",
                      (json_int_t)sqlite3_column_int64(s, 0), "state",
                      (const char *)sqlite3_column_text(s, 1), "node",
                      (const char *)sqlite3_column_text(s, 2), "ts_ms",
                      (json_int_t)sqlite3_column_int64(s, 3), "reason",
                      (const char *)sqlite3_column_text(s, 4)));
  sqlite3_finalize(s);
  json_object_set_new(t, "events", ev);
  api_reply_json(r, 200, t);
}

/* The attempt a request asks for (?attempt=N), else the task's current
 * one. Returns -1 after answering the request when there is none. */
static int64_t task_attempt(struct dc_master *m, struct dc_httpd_req *r,
                            const char *id) {
  const char *q = dc_httpd_req_query(r, "attempt");
  sqlite3_stmt *s = NULL;
  sqlite3_prepare_v2(m->rdb, "SELECT attempt FROM tasks WHERE id=?1", -1, &s, NULL);
  sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
  int64_t a = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int64(s, 0) : -1;
  sqlite3_finalize(s);
  if (a < 0) {
    dc_httpd_respond_error(r, 404, "NOTFOUND", "no task %s", id);
    return -1;
  }
  if (q) {
    char *end;
    long long v = strtoll(q, &end, 10);
    if (!*q || *end || v < 0) {
      dc_httpd_respond_error(r, 400, "INVAL", "attempt must be a whole number");
      return -1;
    }
    a = v;
  }
  return a;
}

void api_task_logs(struct dc_master *m, struct dc_httpd_req *r, const char *id) {
  int64_t attempt = task_attempt(m, r, id);
  if (attempt < 0) return;
  json_t *o = json_pack("{s:s, s:I, s:s, s:s}", "task_id", id, "attempt",
                        (json_int_t)attempt, "stdout", "", "stderr", "");
  sqlite3_stmt *s = NULL;
  sqlite3_prepare_v2(m->ldb,
                     "SELECT stream, data FROM task_logs WHERE task_id=?1 AND"
                     " attempt=?2 ORDER BY stream",
                     -1, &s, NULL);
  sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
  sqlite3_bind_int64(s, 2, attempt);
  while (sqlite3_step(s) == SQLITE_ROW) {
    int stream = sqlite3_column_int(s, 0);
    json_object_set_new(o, stream == 2 ? "stderr" : "stdout",
                        api_text(sqlite3_column_blob(s, 1),
                                 (size_t)sqlite3_column_bytes(s, 1)));
  }
  sqlite3_finalize(s);
  api_reply_json(r, 200, o);
}

void api_task_outputs(struct dc_master *m, struct dc_httpd_req *r,
                      const char *id) {
  int64_t attempt = task_attempt(m, r, id);
  if (attempt < 0) return;
  json_t *files = json_array();
  sqlite3_stmt *s = NULL;
  sqlite3_prepare_v2(m->rdb,
                     "SELECT path, content FROM task_outputs WHERE task_id=?1 AND"
                     " attempt=?2 ORDER BY path",
                     -1, &s, NULL);
  sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
  sqlite3_bind_int64(s, 2, attempt);
  while (sqlite3_step(s) == SQLITE_ROW) {
    size_t n = (size_t)sqlite3_column_bytes(s, 1);
    const unsigned char *p = sqlite3_column_blob(s, 1);
    size_t b64len = sodium_base64_encoded_len(n, sodium_base64_VARIANT_ORIGINAL);
    char *b64 = dc_malloc(b64len);
    if (!b64) break;
    sodium_bin2base64(b64, b64len, p ? p : (const unsigned char *)"", n,
                      sodium_base64_VARIANT_ORIGINAL);
    json_t *f = json_pack("{s:s, s:I, s:s}", "path",
                          (const char *)sqlite3_column_text(s, 0), "size",
                          (json_int_t)n, "content_base64", b64);
    json_t *txt = json_stringn((const char *)(p ? p : (const unsigned char *)""), n);
    if (txt) json_object_set_new(f, "content", txt);
    json_array_append_new(files, f);
    dc_free(b64);
  }
  sqlite3_finalize(s);
  api_reply_json(r, 200, json_pack("{s:s, s:I, s:o}", "task_id", id, "attempt",
                                   (json_int_t)attempt, "outputs", files));
}

/* Why the task went where it did: the leader's record of each placement
 * decision (policy, best candidates with their cost, how many nodes each
 * constraint filtered, the choice). Kept by the master that decided. */
void api_task_explain(struct dc_master *m, struct dc_httpd_req *r, const char *id) {
  sqlite3_stmt *s = NULL;
  if (sqlite3_prepare_v2(m->ldb,
                         "SELECT json FROM explanations WHERE task_id = ?1"
                         " ORDER BY attempt",
                         -1, &s, NULL) != SQLITE_OK) {
    dc_httpd_respond_error(r, 500, "DB", "cannot read explanations");
    return;
  }
  sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
  json_t *arr = json_array();
  while (sqlite3_step(s) == SQLITE_ROW) {
    json_t *d = json_loads((const char *)sqlite3_column_text(s, 0), 0, NULL);
    if (d) json_array_append_new(arr, d);
  }
  sqlite3_finalize(s);
  if (json_array_size(arr) == 0) {
    json_decref(arr);
    dc_httpd_respond_error(r, 404, "NOTFOUND",
                           "no placement decision for %s on this master (decisions "
                           "are kept by the leader that made them; the v0 spread "
                           "policy records none)", id);
    return;
  }
  api_reply_json(r, 200, json_pack("{s:s, s:o}", "task_id", id, "decisions", arr));
}
