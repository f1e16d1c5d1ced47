/* SPDX-License-Identifier: Apache-2.0
 * POST /v1/recommend: what to ask for. For each task of a job spec, the
 * usage of the caller's similar past tasks (same job and task name, newest
 * first) gives a suggested CPU and memory, never above what the spec asks,
 * with the expected runtime from the master's runtime model and the cost
 * at the cheapest live provider's posted price, beside the cost of the
 * request. It reads the state and proposes nothing. */
#include "jobspec/jobspec.h"
#include "master/api_int.h"
#include "predict/predict.h"

#define SIMILAR_MAX 50

static json_t *recommend_task(struct dc_master *m, const char *owner,
                              const struct dc_jobspec *spec,
                              const struct dc_jobspec_task *t, double price_cpu,
                              double price_mem) {
  char app[300];
  snprintf(app, sizeof app, "%s/%s", spec->name, t->name);
  static const char *sql =
      "SELECT t.peak_memory_bytes, t.cpu_user_us + t.cpu_sys_us, t.wall_ms"
      " FROM tasks t JOIN jobs j ON j.id = t.job_id WHERE j.owner = ?1"
      " AND j.name = ?2 AND t.name = ?3 AND t.state = 'succeeded'"
      " AND t.wall_ms > 0 ORDER BY t.finished_ms DESC, t.id LIMIT ?4";
  sqlite3_stmt *s = master_read_stmt(m, sql);
  double mem[SIMILAR_MAX], cpu[SIMILAR_MAX];
  size_t n = 0;
  if (s) {
    sqlite3_bind_text(s, 1, owner, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, spec->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, t->name, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 4, SIMILAR_MAX);
    while (n < SIMILAR_MAX && sqlite3_step(s) == SQLITE_ROW) {
      mem[n] = (double)sqlite3_column_int64(s, 0) / 1048576.0;
      /* mean CPU over the task's wall time, in millicores */
      cpu[n] = (double)sqlite3_column_int64(s, 1) / (double)sqlite3_column_int64(s, 2);
      n++;
    }
    sqlite3_reset(s);
  }
  /* The helper wants the oldest first. */
  for (size_t i = 0; i < n / 2; i++) {
    double a = mem[i], b = cpu[i];
    mem[i] = mem[n - 1 - i];
    cpu[i] = cpu[n - 1 - i];
    mem[n - 1 - i] = a;
    cpu[n - 1 - i] = b;
  }
  struct dc_rec_input in = {.req_cpu_millis = t->cpu_millis,
                            .req_mem_mb = (double)t->memory_mb,
                            .mem_used_mb = mem, .nmem = n,
                            .cpu_used_millis = cpu, .ncpu = n,
                            .price_cpu_hour = price_cpu, .price_mem_gb_hour = price_mem};
  master_task_features(owner, app, t->cpu_millis, t->memory_mb, t->timeout_s,
                       dc_now_ms(), &in.job);
  struct dc_rec_output out;
  if (dc_recommend_task(m->rtpred, &in, &out)) return NULL;
  return json_pack("{s:s, s:{s:i, s:I}, s:{s:f, s:f}, s:{s:s, s:s}, s:{s:i, s:i},"
                   " s:{s:f, s:f, s:f}, s:f, s:f}",
                   "task", t->name, "requested", "cpu_millis", (int)t->cpu_millis,
                   "memory_mb", (json_int_t)t->memory_mb, "suggested", "cpu_millis",
                   out.cpu_millis, "memory_mb", out.mem_mb, "basis", "cpu", out.cpu_basis,
                   "memory", out.mem_basis, "evidence", "cpu", (int)out.cpu_evidence,
                   "memory", (int)out.mem_evidence, "expected_runtime_s", "value",
                   out.time_s.value, "lo", out.time_s.lo, "hi", out.time_s.hi, "cost",
                   out.cost, "cost_requested", out.cost_requested);
}

void api_recommend(struct dc_master *m, struct dc_httpd_req *r) {
  uint8_t owner[DC_PK_BYTES];
  if (api_authenticate(m, r, owner)) return;
  struct dc_jobspec *spec = api_parse_spec(r);
  if (!spec) return;
  char owner_hex[2 * DC_PK_BYTES + 1];
  dc_hex_encode(owner, DC_PK_BYTES, owner_hex);
  /* Priced at the cheapest live provider: what the job would pay at best. */
  double price_cpu = 0, price_mem = 0;
  sqlite3_stmt *s = master_read_stmt(
      m, "SELECT price_cpu_hour, price_mem_gb_hour FROM nodes WHERE state='alive'"
         " ORDER BY price_cpu_hour, id LIMIT 1");
  if (s && sqlite3_step(s) == SQLITE_ROW) {
    price_cpu = (double)sqlite3_column_int64(s, 0);
    price_mem = (double)sqlite3_column_int64(s, 1);
  }
  if (s) sqlite3_reset(s);
  json_t *arr = json_array();
  for (size_t i = 0; i < spec->ntasks; i++) {
    json_t *t = recommend_task(m, owner_hex, spec, &spec->tasks[i], price_cpu, price_mem);
    if (!t) {
      json_decref(arr);
      dc_jobspec_free(spec);
      dc_httpd_respond_error(r, 500, "INTERNAL", "could not compute a recommendation");
      return;
    }
    json_array_append_new(arr, t);
  }
  json_t *o = json_pack("{s:s, s:o, s:f, s:s}", "job", spec->name, "tasks", arr,
                        "price_cpu_hour", price_cpu, "note",
                        "suggestions come from your own past runs of the same job and "
                        "task names; with fewer than 5 the request is kept");
  dc_jobspec_free(spec);
  api_reply_json(r, 200, o);
}
