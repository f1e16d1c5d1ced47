/* SPDX-License-Identifier: Apache-2.0
 * The FSM on a real SQLite database: every command, the task life cycle,
 * idempotent replay, rejections that change nothing, determinism. */
#include "fixture.h"

#define setup fx_setup
#define teardown fx_teardown
#define apply fx_apply

static void migrate(struct fx *x) {
  struct dc_cmd c = {.type = DC_CMD_MIGRATE};
  c.u.migrate.schema_version = DC_FSM_SCHEMA_VERSION;
  assert_int_equal(apply(x, &c).code, DC_OK);
}

static void reg(struct fx *x) {
  struct dc_cmd c = {.type = DC_CMD_NODE_REGISTER};
  struct dc_node_info *n = &c.u.node_register.node;
  memcpy(n->node_id, x->node.pk, 32);
  n->name = "p1"; n->addr = ""; n->classes = "compute"; n->labels_json = "{}";
  n->sandbox = "cgroup1";
  n->cpu_millis = 4000; n->memory_mb = 4096; n->disk_mb = 10000;
  assert_int_equal(apply(x, &c).code, DC_OK);
}

static struct dc_fsm_result submit(struct fx *x, const char *id, const char *idem,
                                   const char *spec) {
  struct dc_cmd c = {.type = DC_CMD_JOB_SUBMIT};
  snprintf(c.u.job_submit.job_id, sizeof c.u.job_submit.job_id, "%s", id);
  memcpy(c.u.job_submit.owner, x->user.pk, 32);
  c.u.job_submit.idem_key = (char *)idem;
  c.u.job_submit.spec_json = (char *)spec;
  return apply(x, &c);
}

static struct dc_fsm_result assign(struct fx *x, const char *task, uint32_t attempt) {
  struct dc_cmd c = {.type = DC_CMD_TASK_ASSIGN};
  struct dc_assignment a = {.task_id = (char *)task, .attempt = attempt};
  memcpy(a.node_id, x->node.pk, 32);
  c.u.task_assign.items = &a;
  c.u.task_assign.n = 1;
  return apply(x, &c);
}

static struct dc_fsm_result finish(struct fx *x, const char *task, uint32_t attempt,
                                   uint8_t outcome) {
  struct dc_cmd c = {.type = DC_CMD_TASK_FINISHED};
  struct dc_task_result *r = &c.u.task_finished.r;
  r->task_id = (char *)task;
  r->attempt = attempt;
  memcpy(r->node_id, x->node.pk, 32);
  r->outcome = outcome;
  r->exit_code = outcome == DC_OUTCOME_SUCCEEDED ? 0 : 1;
  r->mechanism = "cgroup1";
  r->reason = "";
  struct dc_output_file o = {.path = "out.txt", .data = (uint8_t *)"42\n", .len = 3};
  r->outputs = &o;
  r->noutputs = 1;
  assert_int_equal(dc_task_result_sign(r, &x->node), DC_OK);
  return apply(x, &c);
}

static const char *task_state(struct fx *x, const char *id) {
  static char buf[32];
  sqlite3_stmt *s;
  sqlite3_prepare_v2(dc_fsm_db(x->f), "SELECT state FROM tasks WHERE id=?1", -1, &s, NULL);
  sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
  buf[0] = '\0';
  if (sqlite3_step(s) == SQLITE_ROW) snprintf(buf, sizeof buf, "%s", sqlite3_column_text(s, 0));
  sqlite3_finalize(s);
  return buf;
}


#define JOB "0123456789abcdef0123456789abcdef"
#define DAG                                                                  \
  "{\"name\":\"d\",\"tasks\":[{\"name\":\"a\",\"command\":[\"true\"]},"      \
  "{\"name\":\"b\",\"command\":[\"true\"],\"after\":[\"a\"],\"count\":2,"    \
  "\"retries\":1}]}"

static void test_apply_requires_migrate_first(void **state) {
  struct fx *x = *state;
  struct dc_fsm_result r = submit(x, JOB, "", DAG);
  assert_int_equal(r.code, DC_EVERSION);
  assert_int_equal(dc_fsm_applied_index(x->f), 1); /* recorded, rejected */
}

static void test_job_dag_life_cycle(void **state) {
  struct fx *x = *state;
  migrate(x);
  reg(x);
  struct dc_fsm_result r = submit(x, JOB, "", DAG);
  assert_int_equal(r.code, DC_OK);
  assert_int_equal(r.count, 3);
  assert_string_equal(task_state(x, JOB ".a.0"), "pending");
  assert_string_equal(task_state(x, JOB ".b.1"), "blocked");
  assert_int_equal(assign(x, JOB ".a.0", 1).code, DC_OK);
  assert_string_equal(task_state(x, JOB ".a.0"), "assigned");
  assert_int_equal(finish(x, JOB ".a.0", 1, DC_OUTCOME_SUCCEEDED).code, DC_OK);
  assert_string_equal(task_state(x, JOB ".b.0"), "pending");
  assert_string_equal(task_state(x, JOB ".b.1"), "pending");
  /* b.0 fails once (one retry), then succeeds on attempt 2. */
  assert_int_equal(assign(x, JOB ".b.0", 1).code, DC_OK);
  assert_int_equal(finish(x, JOB ".b.0", 1, DC_OUTCOME_FAILED).code, DC_OK);
  assert_string_equal(task_state(x, JOB ".b.0"), "pending");
  assert_int_equal(assign(x, JOB ".b.0", 1).code, DC_ECONFLICT); /* attempt must be 2 */
  assert_int_equal(assign(x, JOB ".b.0", 2).code, DC_OK);
  assert_int_equal(finish(x, JOB ".b.0", 2, DC_OUTCOME_SUCCEEDED).code, DC_OK);
  assert_int_equal(assign(x, JOB ".b.1", 1).code, DC_OK);
  assert_int_equal(finish(x, JOB ".b.1", 1, DC_OUTCOME_SUCCEEDED).code, DC_OK);
  assert_int_equal(fx_count(x, "SELECT COUNT(*) FROM jobs WHERE state='succeeded'"), 1);
  assert_int_equal(fx_count(x, "SELECT COUNT(*) FROM task_outputs"), 4);
}

static void test_result_accepted_at_most_once(void **state) {
  struct fx *x = *state;
  migrate(x);
  reg(x);
  submit(x, JOB, "", DAG);
  assign(x, JOB ".a.0", 1);
  assert_int_equal(finish(x, JOB ".a.0", 1, DC_OUTCOME_SUCCEEDED).code, DC_OK);
  struct dc_fsm_result r = finish(x, JOB ".a.0", 1, DC_OUTCOME_SUCCEEDED);
  assert_int_equal(r.code, DC_ECONFLICT);
  assert_non_null(strstr(r.message, "late result"));
  assert_int_equal(fx_count(x, "SELECT COUNT(*) FROM task_events WHERE state='succeeded'"), 1);
}

static void test_bad_signature_refused(void **state) {
  struct fx *x = *state;
  migrate(x);
  reg(x);
  submit(x, JOB, "", DAG);
  assign(x, JOB ".a.0", 1);
  struct dc_cmd c = {.type = DC_CMD_TASK_FINISHED};
  struct dc_task_result *r = &c.u.task_finished.r;
  r->task_id = JOB ".a.0";
  r->attempt = 1;
  memcpy(r->node_id, x->node.pk, 32);
  r->outcome = DC_OUTCOME_SUCCEEDED;
  r->mechanism = "";
  r->reason = "";
  assert_int_equal(dc_task_result_sign(r, &x->node), DC_OK);
  r->sig[5] ^= 1; /* forged: not the node's signature any more */
  assert_int_equal(apply(x, &c).code, DC_EBADSIG);
  assert_string_equal(task_state(x, JOB ".a.0"), "assigned");
}

static void test_node_dead_requeues(void **state) {
  struct fx *x = *state;
  migrate(x);
  reg(x);
  submit(x, JOB, "", DAG);
  assign(x, JOB ".a.0", 1);
  struct dc_cmd c = {.type = DC_CMD_NODE_DEAD};
  memcpy(c.u.node_dead.node_id, x->node.pk, 32);
  c.u.node_dead.reason = "silent";
  struct dc_fsm_result r = apply(x, &c);
  assert_int_equal(r.code, DC_OK);
  assert_int_equal(r.count, 1);
  assert_string_equal(task_state(x, JOB ".a.0"), "pending");
  assert_int_equal(fx_count(x, "SELECT lost FROM tasks WHERE name='a'"), 1);
  /* The dead node's late result is refused; assigning to it too. */
  assert_int_equal(finish(x, JOB ".a.0", 1, DC_OUTCOME_SUCCEEDED).code, DC_ECONFLICT);
  assert_int_equal(assign(x, JOB ".a.0", 2).code, DC_ECONFLICT);
  assert_int_equal(apply(x, &c).code, DC_ECONFLICT); /* already dead */
}

static void test_idempotent_submit_and_replay(void **state) {
  struct fx *x = *state;
  migrate(x);
  struct dc_fsm_result r1 = submit(x, JOB, "k1", DAG);
  struct dc_fsm_result r2 = submit(x, "ffffffffffffffffffffffffffffffff", "k1", DAG);
  assert_int_equal(r1.code, DC_OK);
  assert_int_equal(r2.code, DC_OK);
  assert_string_equal(r2.ref, JOB);
  assert_int_equal(fx_count(x, "SELECT COUNT(*) FROM jobs"), 1);
  /* Re-applying an index at or below the applied one changes nothing. */
  uint64_t applied = dc_fsm_applied_index(x->f);
  struct dc_buf b = {0};
  struct dc_cmd c = {.type = DC_CMD_JOB_SUBMIT, .proposal_id = 9, .ts_ms = 1};
  snprintf(c.u.job_submit.job_id, 33, "%s", "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee");
  c.u.job_submit.idem_key = "";
  c.u.job_submit.spec_json = DAG;
  assert_int_equal(dc_cmd_encode(&c, &b), DC_OK);
  struct dc_fsm_entry e = {applied, b.data, b.len};
  struct dc_fsm_result r;
  struct dc_errmsg err;
  assert_int_equal(dc_fsm_apply_batch(x->f, &e, 1, &r, &err), DC_OK);
  assert_string_equal(r.message, "already applied");
  assert_int_equal(fx_count(x, "SELECT COUNT(*) FROM jobs"), 1);
  dc_buf_free(&b);
}

static void test_rejections_change_nothing(void **state) {
  struct fx *x = *state;
  migrate(x);
  int64_t before = fx_count(x, "SELECT COUNT(*) FROM tasks");
  struct dc_fsm_result r = submit(x, JOB, "", "{\"name\":\"x\",\"tasks\":[]}");
  assert_int_equal(r.code, DC_EINVAL);
  assert_int_equal(fx_count(x, "SELECT COUNT(*) FROM jobs"), 0);
  assert_int_equal(fx_count(x, "SELECT COUNT(*) FROM tasks"), before);
  /* Undecodable bytes: rejected, recorded in the log, applied index moves. */
  uint8_t junk[7] = {1, 2, 3, 4, 5, 6, 7};
  struct dc_fsm_entry e = {x->next++, junk, sizeof junk};
  struct dc_errmsg err;
  assert_int_equal(dc_fsm_apply_batch(x->f, &e, 1, &r, &err), DC_OK);
  assert_int_not_equal(r.code, DC_OK);
  assert_int_equal(dc_fsm_applied_index(x->f), e.index);
  /* Cancel by another account. */
  submit(x, JOB, "", DAG);
  struct dc_cmd c = {.type = DC_CMD_JOB_CANCEL};
  memcpy(c.u.job_cancel.job_id, JOB, 33);
  memcpy(c.u.job_cancel.owner, x->node.pk, 32);
  assert_int_equal(apply(x, &c).code, DC_EFORBIDDEN);
  memcpy(c.u.job_cancel.owner, x->user.pk, 32);
  assert_int_equal(apply(x, &c).code, DC_OK);
  assert_int_equal(fx_count(x, "SELECT COUNT(*) FROM tasks WHERE state='canceled'"), 3);
  assert_int_equal(apply(x, &c).code, DC_ECONFLICT);
}

static void test_restart_keeps_applied_index(void **state) {
  struct fx *x = *state;
  migrate(x);
  reg(x);
  submit(x, JOB, "", DAG);
  uint64_t applied = dc_fsm_applied_index(x->f);
  dc_fsm_close(x->f);
  struct dc_errmsg err;
  assert_int_equal(dc_fsm_open(x->path, false, &x->f, &err), DC_OK);
  assert_int_equal(dc_fsm_applied_index(x->f), applied);
  assert_int_equal(dc_fsm_schema_version(x->f), DC_FSM_SCHEMA_VERSION);
  assert_int_equal(fx_count(x, "SELECT COUNT(*) FROM tasks"), 3);
}

/* Two replicas fed the same log end with byte-identical tables. */
static void test_deterministic_replay(void **state) {
  struct fx *x = *state;
  migrate(x);
  reg(x);
  submit(x, JOB, "", DAG);
  assign(x, JOB ".a.0", 1);
  finish(x, JOB ".a.0", 1, DC_OUTCOME_FAILED);
  struct dc_fsm *g = fx_replay(x);
  const char *dump =
      "SELECT group_concat(x, '|') FROM (SELECT id||state||attempt||IFNULL(node_id,'')||"
      "retries_used||IFNULL(finished_ms,'') AS x FROM tasks ORDER BY id)";
  sqlite3_stmt *a, *b;
  sqlite3_prepare_v2(dc_fsm_db(x->f), dump, -1, &a, NULL);
  sqlite3_prepare_v2(dc_fsm_db(g), dump, -1, &b, NULL);
  assert_int_equal(sqlite3_step(a), SQLITE_ROW);
  assert_int_equal(sqlite3_step(b), SQLITE_ROW);
  assert_string_equal(sqlite3_column_text(a, 0), sqlite3_column_text(b, 0));
  sqlite3_finalize(a);
  sqlite3_finalize(b);
  dc_fsm_close(g);
}

/* A snapshot restored into another database gives the same state hash; the
 * hash sees any change; a reader connection opened before the restore keeps
 * working and sees the restored state; garbage images change nothing. */
static void test_snapshot_restore_and_hash(void **state) {
  struct fx *x = *state;
  migrate(x);
  reg(x);
  submit(x, JOB, "", DAG);
  assign(x, JOB ".a.0", 1);
  uint8_t *img;
  size_t len;
  struct dc_errmsg err;
  assert_int_equal(dc_fsm_snapshot(x->f, &img, &len, &err), DC_OK);
  uint64_t idx = 0;
  assert_int_equal(dc_fsm_image_applied_index(img, len, &idx), DC_OK);
  assert_int_equal(idx, dc_fsm_applied_index(x->f));

  char p2[320];
  snprintf(p2, sizeof p2, "%s/other.db", x->dir);
  struct dc_fsm *g;
  assert_int_equal(dc_fsm_open(p2, false, &g, &err), DC_OK);
  sqlite3 *reader;
  assert_int_equal(dc_fsm_open_reader(p2, &reader), DC_OK);
  /* garbage changes nothing */
  uint8_t junk[200] = "SQLite format 3";
  assert_int_not_equal(dc_fsm_restore(g, junk, sizeof junk, &err), DC_OK);
  assert_int_not_equal(dc_fsm_restore(g, junk + 1, 50, &err), DC_OK);
  assert_int_equal(dc_fsm_applied_index(g), 0);

  assert_int_equal(dc_fsm_restore(g, img, len, &err), DC_OK);
  dc_fsm_snapshot_free(img);
  assert_int_equal(dc_fsm_applied_index(g), dc_fsm_applied_index(x->f));
  assert_int_equal(dc_fsm_schema_version(g), DC_FSM_SCHEMA_VERSION);
  uint8_t h1[DC_FSM_HASH_BYTES], h2[DC_FSM_HASH_BYTES];
  assert_int_equal(dc_fsm_state_hash(dc_fsm_db(x->f), h1), DC_OK);
  assert_int_equal(dc_fsm_state_hash(dc_fsm_db(g), h2), DC_OK);
  assert_memory_equal(h1, h2, sizeof h1);
  sqlite3_stmt *s;
  assert_int_equal(sqlite3_prepare_v2(reader, "SELECT count(*) FROM tasks", -1, &s, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_step(s), SQLITE_ROW);
  assert_int_equal(sqlite3_column_int(s, 0), 3);
  sqlite3_finalize(s);

  /* Both go on applying the same entries and stay equal; the restored one
   * keeps its WAL journal mode. */
  uint64_t next = x->next;
  finish(x, JOB ".a.0", 1, DC_OUTCOME_SUCCEEDED);
  struct dc_fsm_result r;
  sqlite3_prepare_v2(dc_fsm_db(x->f), "SELECT idx, data FROM log WHERE idx >= ?1", -1, &s, NULL);
  sqlite3_bind_int64(s, 1, (sqlite3_int64)next);
  while (sqlite3_step(s) == SQLITE_ROW) {
    struct dc_fsm_entry e = {(uint64_t)sqlite3_column_int64(s, 0), sqlite3_column_blob(s, 0 + 1),
                             (size_t)sqlite3_column_bytes(s, 1)};
    assert_int_equal(dc_fsm_apply_batch(g, &e, 1, &r, &err), DC_OK);
    assert_int_equal(r.code, DC_OK);
  }
  sqlite3_finalize(s);
  assert_int_equal(dc_fsm_state_hash(dc_fsm_db(x->f), h1), DC_OK);
  assert_int_equal(dc_fsm_state_hash(dc_fsm_db(g), h2), DC_OK);
  assert_memory_equal(h1, h2, sizeof h1);
  sqlite3_prepare_v2(dc_fsm_db(g), "PRAGMA journal_mode", -1, &s, NULL);
  assert_int_equal(sqlite3_step(s), SQLITE_ROW);
  assert_string_equal(sqlite3_column_text(s, 0), "wal");
  sqlite3_finalize(s);
  /* The per-command savepoint journal stays in memory (2 = MEMORY): on
   * disk it cost a page write per page per command. */
  sqlite3_prepare_v2(dc_fsm_db(g), "PRAGMA temp_store", -1, &s, NULL);
  assert_int_equal(sqlite3_step(s), SQLITE_ROW);
  assert_int_equal(sqlite3_column_int(s, 0), 2);
  sqlite3_finalize(s);

  /* One changed value changes the hash. */
  assert_int_equal(sqlite3_exec(dc_fsm_db(g), "UPDATE tasks SET retries = retries + 1 WHERE rowid = 1", NULL, NULL, NULL), SQLITE_OK);
  assert_int_equal(dc_fsm_state_hash(dc_fsm_db(g), h2), DC_OK);
  assert_memory_not_equal(h1, h2, sizeof h1);
  sqlite3_close(reader);
  dc_fsm_close(g);
}

/* Restores img into a fresh database and returns it; its hash must equal
 * the source's. */
static void restore_equals(struct fx *x, const uint8_t *img, size_t len, const char *name) {
  char p2[320];
  snprintf(p2, sizeof p2, "%s/%s", x->dir, name);
  struct dc_fsm *g;
  struct dc_errmsg err;
  assert_int_equal(dc_fsm_open(p2, false, &g, &err), DC_OK);
  assert_int_equal(dc_fsm_restore(g, img, len, &err), DC_OK);
  assert_int_equal(dc_fsm_applied_index(g), dc_fsm_applied_index(x->f));
  uint8_t h1[DC_FSM_HASH_BYTES], h2[DC_FSM_HASH_BYTES];
  assert_int_equal(dc_fsm_state_hash(dc_fsm_db(x->f), h1), DC_OK);
  assert_int_equal(dc_fsm_state_hash(dc_fsm_db(g), h2), DC_OK);
  assert_memory_equal(h1, h2, sizeof h1);
  dc_fsm_close(g);
}

/* The snapshot written into a prepared buffer is the same image: it
 * restores to an equal state hash. A buffer too small is refused with
 * DC_ETOOBIG (the caller's fallback, a plain snapshot, then works), and a
 * buffer exactly the state's size is enough. */
static void test_snapshot_into_warm_buffer(void **state) {
  struct fx *x = *state;
  migrate(x);
  reg(x);
  for (int i = 0; i < 40; i++) {
    char id[33];
    snprintf(id, sizeof id, "%032x", i + 1);
    submit(x, id, "", DAG);
  }
  struct dc_errmsg err;
  size_t need = dc_fsm_image_size(x->f);
  assert_true(need > 4096);
  size_t cap = need + need / 8 + 4096, len = 0;
  uint8_t *buf = sqlite3_malloc64(cap);
  assert_non_null(buf);
  memset(buf, 0xA5, cap);
  assert_int_equal(dc_fsm_snapshot_into(x->f, buf, cap, &len, &err), DC_OK);
  assert_int_equal(len, need);
  uint8_t *plain;
  size_t plen;
  assert_int_equal(dc_fsm_snapshot(x->f, &plain, &plen, &err), DC_OK);
  assert_int_equal(plen, len);
  struct dc_fsm_image_info info;
  assert_int_equal(dc_fsm_image_check(buf, len, &info, &err), DC_OK);
  assert_int_equal(info.applied_index, dc_fsm_applied_index(x->f));
  restore_equals(x, buf, len, "warm.db");
  sqlite3_free(buf);

  /* Exactly the state's size fits. */
  buf = sqlite3_malloc64(need);
  assert_int_equal(dc_fsm_snapshot_into(x->f, buf, need, &len, &err), DC_OK);
  restore_equals(x, buf, len, "exact.db");
  sqlite3_free(buf);

  /* Outgrown: refused as such, and the fallback gives a good image. */
  buf = sqlite3_malloc64(need / 2);
  assert_int_equal(dc_fsm_snapshot_into(x->f, buf, need / 2, &len, &err), DC_ETOOBIG);
  sqlite3_free(buf);
  restore_equals(x, plain, plen, "fallback.db");
  /* The live state is untouched by any of it. */
  assert_int_equal(fx_count(x, "SELECT count(*) FROM jobs"), 40);
  dc_fsm_snapshot_free(plain);
}

/* A backup taken through its own read connection is a checked image of the
 * same state; damaged, truncated or foreign files are refused. */
static void test_backup_and_image_check(void **state) {
  struct fx *x = *state;
  migrate(x);
  reg(x);
  submit(x, JOB, "", DAG);
  uint8_t *img;
  size_t len;
  struct dc_fsm_image_info info, back;
  struct dc_errmsg err;
  assert_int_equal(dc_fsm_backup(x->path, &img, &len, &info, &err), DC_OK);
  assert_int_equal(info.applied_index, dc_fsm_applied_index(x->f));
  uint8_t h[DC_FSM_HASH_BYTES];
  assert_int_equal(dc_fsm_state_hash(dc_fsm_db(x->f), h), DC_OK);
  assert_memory_equal(h, info.hash, sizeof h);
  assert_int_equal(dc_fsm_image_check(img, len, &back, &err), DC_OK);
  assert_memory_equal(back.hash, info.hash, sizeof h);
  assert_int_equal(back.schema_version, DC_FSM_SCHEMA_VERSION);
  restore_equals(x, img, len, "backup.db");

  /* truncated */
  assert_int_equal(dc_fsm_image_check(img, len - 4096, &back, &err), DC_EPROTO);
  assert_non_null(strstr(err.text, "truncated"));
  /* not SQLite */
  uint8_t junk[4096] = "hello";
  assert_int_equal(dc_fsm_image_check(junk, sizeof junk, &back, &err), DC_EPROTO);
  /* damaged pages */
  uint8_t *bad = malloc(len);
  memcpy(bad, img, len);
  memset(bad + 4096, 0, len > 3 * 4096 ? 2 * 4096 : 4096);
  assert_int_equal(dc_fsm_image_check(bad, len, &back, &err), DC_EPROTO);
  assert_non_null(strstr(err.text, "corrupt"));
  free(bad);
  dc_fsm_snapshot_free(img);

  /* another SQLite database: not ours */
  sqlite3 *o;
  char p2[320];
  snprintf(p2, sizeof p2, "%s/foreign.db", x->dir);
  assert_int_equal(sqlite3_open(p2, &o), SQLITE_OK);
  assert_int_equal(sqlite3_exec(o, "CREATE TABLE t(x); INSERT INTO t VALUES(1)", NULL, NULL, NULL), SQLITE_OK);
  sqlite3_int64 sz;
  uint8_t *fimg = sqlite3_serialize(o, "main", &sz, 0);
  sqlite3_close(o);
  assert_int_equal(dc_fsm_image_check(fimg, (size_t)sz, &back, &err), DC_EPROTO);
  assert_non_null(strstr(err.text, "no table"));
  sqlite3_free(fimg);
}

/* A full disk during apply is a storage error for the caller (who stops the
 * master), never a rejected command, and nothing of the batch sticks. */
static void test_storage_error_is_not_a_rejection(void **state) {
  struct fx *x = *state;
  migrate(x);
  sqlite3 *db = dc_fsm_db(x->f);
  sqlite3_exec(db, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL);
  int64_t pages = fx_count(x, "PRAGMA page_count");
  char sql[64];
  snprintf(sql, sizeof sql, "PRAGMA max_page_count=%lld", (long long)pages);
  sqlite3_exec(db, sql, NULL, NULL, NULL);
  uint64_t applied = dc_fsm_applied_index(x->f);
  /* A job of 2,000 tasks needs more pages than the file may now have. */
  const char *big =
      "{\"name\":\"big\",\"tasks\":[{\"name\":\"t\",\"count\":2000,"
      "\"command\":[\"true\"]}]}";
  struct dc_cmd c = {.type = DC_CMD_JOB_SUBMIT, .proposal_id = 1, .ts_ms = 1};
  snprintf(c.u.job_submit.job_id, 33, "%s", JOB);
  memcpy(c.u.job_submit.owner, x->user.pk, 32);
  c.u.job_submit.idem_key = "";
  c.u.job_submit.spec_json = (char *)big;
  struct dc_buf b = {0};
  assert_int_equal(dc_cmd_encode(&c, &b), DC_OK);
  struct dc_fsm_entry e = {applied + 1, b.data, b.len};
  struct dc_fsm_result r;
  struct dc_errmsg err = {{0}};
  assert_int_equal(dc_fsm_apply_batch(x->f, &e, 1, &r, &err), DC_EDB);
  assert_non_null(strstr(err.text, "full"));
  assert_int_equal(dc_fsm_applied_index(x->f), applied);
  sqlite3_exec(db, "PRAGMA max_page_count=1073741823", NULL, NULL, NULL);
  assert_int_equal(fx_count(x, "SELECT COUNT(*) FROM tasks"), 0);
  assert_int_equal(fx_count(x, "SELECT COUNT(*) FROM log"), (int64_t)applied);
  /* With room again, the same entry applies. */
  assert_int_equal(dc_fsm_apply_batch(x->f, &e, 1, &r, &err), DC_OK);
  assert_int_equal(r.code, DC_OK);
  assert_int_equal(fx_count(x, "SELECT COUNT(*) FROM tasks"), 2000);
  dc_buf_free(&b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_apply_requires_migrate_first, setup, teardown),
      cmocka_unit_test_setup_teardown(test_job_dag_life_cycle, setup, teardown),
      cmocka_unit_test_setup_teardown(test_result_accepted_at_most_once, setup, teardown),
      cmocka_unit_test_setup_teardown(test_bad_signature_refused, setup, teardown),
      cmocka_unit_test_setup_teardown(test_node_dead_requeues, setup, teardown),
      cmocka_unit_test_setup_teardown(test_idempotent_submit_and_replay, setup, teardown),
      cmocka_unit_test_setup_teardown(test_rejections_change_nothing, setup, teardown),
      cmocka_unit_test_setup_teardown(test_restart_keeps_applied_index, setup, teardown),
      cmocka_unit_test_setup_teardown(test_deterministic_replay, setup, teardown),
      cmocka_unit_test_setup_teardown(test_storage_error_is_not_a_rejection, setup, teardown),
      cmocka_unit_test_setup_teardown(test_snapshot_restore_and_hash, setup, teardown),
      cmocka_unit_test_setup_teardown(test_snapshot_into_warm_buffer, setup, teardown),
      cmocka_unit_test_setup_teardown(test_backup_and_image_check, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
