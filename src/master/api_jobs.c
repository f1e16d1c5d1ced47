/* SPDX-License-Identifier: Apache-2.0
 * Job routes: submit, list, show, cancel, and the tasks of a job. A write
 * is answered only after its command is committed and applied. */
#include <stdlib.h>

#include "jobspec/jobspec.h"
#include "master/api_int.h"

#define IDEM_MAX 128
#define JOBS_LIST_MAX 100000

struct dc_jobspec *api_parse_spec(struct dc_httpd_req *r) {
  size_t blen = 0;
  const uint8_t *body = dc_httpd_req_body(r, &blen);
  struct dc_jobspec *spec = NULL;
  struct dc_errmsg err = {{0}};
  int rc = dc_jobspec_parse((const char *)body, blen, &spec, &err);
  if (rc) {
    dc_httpd_respond_error(r, rc == DC_ETOOBIG ? 413 : 400, "INVALID_SPEC",
                           "%s", err.text[0] ? err.text : dc_strerror(rc));
    return NULL;
  }
  return spec;
}

struct submit_ctx {
  struct dc_httpd_req *r;
  char job_id[33];
};

static void on_submitted(struct dc_master *m, const struct dc_fsm_result *res,
                         void *ud) {
  struct submit_ctx *ctx = ud;
  if (res->code != DC_OK) {
    dc_httpd_respond_error(ctx->r, api_status_for(res->code),
                           dc_err_name(res->code), "%s", res->message);
  } else {
    bool existing = strcmp(res->ref, ctx->job_id) != 0;
    api_reply_json(ctx->r, existing ? 200 : 201,
                   json_pack("{s:s, s:i, s:I, s:b}", "id", res->ref, "tasks",
                             (int)res->count, "index", (json_int_t)res->index,
                             "existing", existing));
    m->work_dirty = true;
    master_schedule_soon(m);
  }
  dc_free(ctx);
}

void api_jobs_submit(struct dc_master *m, struct dc_httpd_req *r) {
  uint8_t owner[DC_PK_BYTES];
  if (api_authenticate(m, r, owner)) return;
  const char *idem = dc_httpd_req_header(r, DC_IDEMPOTENCY_HEADER);
  if (idem && strlen(idem) > IDEM_MAX) {
    dc_httpd_respond_error(r, 400, "INVAL", "%s is longer than %d characters",
                           DC_IDEMPOTENCY_HEADER, IDEM_MAX);
    return;
  }
  struct dc_jobspec *spec = api_parse_spec(r);
  if (!spec) return;
  char *canon = NULL;
  int rc = dc_jobspec_canonical(spec, &canon);
  dc_jobspec_free(spec);
  if (rc) {
    dc_httpd_respond_error(r, 500, dc_err_name(rc), "could not encode the spec");
    return;
  }
  struct submit_ctx *ctx = dc_calloc(1, sizeof *ctx);
  if (!ctx) {
    dc_free(canon);
    dc_httpd_respond_error(r, 500, "NOMEM", "out of memory");
    return;
  }
  ctx->r = r;
  dc_random_hex(ctx->job_id, 16);
  struct dc_cmd c = {.type = DC_CMD_JOB_SUBMIT};
  memcpy(c.u.job_submit.job_id, ctx->job_id, sizeof ctx->job_id);
  memcpy(c.u.job_submit.owner, owner, DC_PK_BYTES);
  c.u.job_submit.idem_key = (char *)(idem ? idem : "");
  c.u.job_submit.spec_json = canon;
  rc = master_propose(m, &c, on_submitted, ctx);
  dc_free(canon);
  if (rc) {
    dc_free(ctx);
    dc_httpd_respond_error(r, api_status_for(rc), dc_err_name(rc),
                           "could not propose the job: %s", dc_strerror(rc));
  }
}

static json_t *job_json(sqlite3_stmt *s) {
  /* columns: id, owner, name, priority, state, submitted_ms, finished_ms,
   * ntasks, log_index */
  json_t *j = json_pack(
      "{s:s, s:s, s:s, s:i, s:s, s:I, s:I, s:I}", "id",
      (const char *)sqlite3_column_text(s, 0), "owner",
      (const char *)sqlite3_column_text(s, 1), "name",
      (const char *)sqlite3_column_text(s, 2), "priority",
      sqlite3_column_int(s, 3), "state", (const char *)sqlite3_column_text(s, 4),
      "submitted_ms", (json_int_t)sqlite3_column_int64(s, 5), "tasks",
      (json_int_t)sqlite3_column_int64(s, 7), "index",
      (json_int_t)sqlite3_column_int64(s, 8));
  if (sqlite3_column_type(s, 6) != SQLITE_NULL)
    json_object_set_new(j, "finished_ms",
                        json_integer(sqlite3_column_int64(s, 6)));
  else
    json_object_set_new(j, "finished_ms", json_null());
  return j;
}

#define JOB_COLS \
  "id, owner, name, priority, state, submitted_ms, finished_ms, ntasks, log_index"

void api_jobs_list(struct dc_master *m, struct dc_httpd_req *r) {
  const char *state = dc_httpd_req_query(r, "state");
  const char *owner = dc_httpd_req_query(r, "owner");
  const char *lim = dc_httpd_req_query(r, "limit");
  long limit = 500;
  if (lim) {
    char *end = NULL;
    limit = strtol(lim, &end, 10);
    if (!end || *end || limit < 1 || limit > JOBS_LIST_MAX) {
      dc_httpd_respond_error(r, 400, "INVAL", "limit must be 1..%d", JOBS_LIST_MAX);
      return;
    }
  }
  sqlite3_stmt *s = NULL;
  sqlite3_prepare_v2(m->rdb,
                     "SELECT " JOB_COLS " FROM jobs WHERE (?1 IS NULL OR state=?1)"
                     " AND (?2 IS NULL OR owner=?2)"
                     " ORDER BY submitted_ms DESC, id LIMIT ?3",
                     -1, &s, NULL);
  if (state) sqlite3_bind_text(s, 1, state, -1, SQLITE_STATIC);
  if (owner) sqlite3_bind_text(s, 2, owner, -1, SQLITE_STATIC);
  sqlite3_bind_int64(s, 3, limit);
  json_t *arr = json_array();
  while (sqlite3_step(s) == SQLITE_ROW) json_array_append_new(arr, job_json(s));
  sqlite3_finalize(s);
  api_reply_json(r, 200, json_pack("{s:o}", "jobs", arr));
}

void api_job_show(struct dc_master *m, struct dc_httpd_req *r, const char *id) {
  sqlite3_stmt *s = NULL;
  sqlite3_prepare_v2(m->rdb, "SELECT " JOB_COLS ", spec FROM jobs WHERE id=?1",
                     -1, &s, NULL);
  sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
  if (sqlite3_step(s) != SQLITE_ROW) {
    sqlite3_finalize(s);
    dc_httpd_respond_error(r, 404, "NOTFOUND", "no job %s", id);
    return;
  }
  json_t *j = job_json(s);
  json_object_set_new(j, "spec",
                      json_loads((const char *)sqlite3_column_text(s, 9), 0, NULL));
  sqlite3_finalize(s);
  json_t *counts = json_object();
  sqlite3_prepare_v2(m->rdb,
                     "SELECT state, COUNT(*) FROM tasks WHERE job_id=?1 GROUP BY"
                     " state ORDER BY state",
                     -1, &s, NULL);
  sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
  while (sqlite3_step(s) == SQLITE_ROW)
    json_object_set_new(counts, (const char *)sqlite3_column_text(s, 0),
                        json_integer(sqlite3_column_int64(s, 1)));
  sqlite3_finalize(s);
  json_object_set_new(j, "task_states", counts);
  api_reply_json(r, 200, j);
}

struct cancel_ctx {
  struct dc_httpd_req *r;
};

static void on_canceled(struct dc_master *m, const struct dc_fsm_result *res,
                        void *ud) {
  struct cancel_ctx *ctx = ud;
  if (res->code != DC_OK)
    dc_httpd_respond_error(ctx->r, api_status_for(res->code),
                           dc_err_name(res->code), "%s", res->message);
  else
    api_reply_json(ctx->r, 200,
                   json_pack("{s:s, s:s, s:i, s:I}", "id", res->ref, "state",
                             "canceled", "tasks_canceled", (int)res->count,
                             "index", (json_int_t)res->index));
  dc_free(ctx);
  master_reconcile(m); /* kill what was running */
}

void api_job_cancel(struct dc_master *m, struct dc_httpd_req *r, const char *id) {
  uint8_t owner[DC_PK_BYTES];
  if (api_authenticate(m, r, owner)) return;
  if (strlen(id) != 32) {
    dc_httpd_respond_error(r, 404, "NOTFOUND", "no job %s", id);
    return;
  }
  struct cancel_ctx *ctx = dc_calloc(1, sizeof *ctx);
  if (!ctx) {
    dc_httpd_respond_error(r, 500, "NOMEM", "out of memory");
    return;
  }
  ctx->r = r;
  struct dc_cmd c = {.type = DC_CMD_JOB_CANCEL};
  memcpy(c.u.job_cancel.job_id, id, 33);
  memcpy(c.u.job_cancel.owner, owner, DC_PK_BYTES);
  int rc = master_propose(m, &c, on_canceled, ctx);
  if (rc) {
    dc_free(ctx);
    dc_httpd_respond_error(r, api_status_for(rc), dc_err_name(rc),
                           "could not propose the cancel: %s", dc_strerror(rc));
  }
}
