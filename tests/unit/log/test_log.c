/* SPDX-License-Identifier: Apache-2.0
 * The local log back end on a real loop and database: results come back
 * once per proposal, proposals of one loop turn share one batch, what is
 * proposed while a batch commits forms the next one (group commit), closing
 * cancels what was not committed, and a reopened log continues numbering. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "log/log.h"
#include "proto/proto.h"
#include "tests/lib/testlib.h"

struct counter {
  int calls;
  int ok;
  int canceled;
  uint64_t last_index;
  size_t batches;
  size_t largest_batch;
};

static void on_result(void *ud, const struct dc_fsm_result *r) {
  struct counter *c = ud;
  c->calls++;
  if (r->code == DC_OK) c->ok++;
  if (r->code == DC_ECANCELED) c->canceled++;
  if (r->index) {
    assert_true(r->index > c->last_index);
    c->last_index = r->index;
  }
}

static void on_applied(void *ud, const struct dc_fsm_result *r, size_t n) {
  (void)r;
  struct counter *c = ud;
  c->batches++;
  if (n > c->largest_batch) c->largest_batch = n;
}

static void encode_migrate(struct dc_buf *b) {
  struct dc_cmd c = {.type = DC_CMD_MIGRATE, .proposal_id = dc_log_next_proposal_id()};
  c.u.migrate.schema_version = DC_FSM_SCHEMA_VERSION;
  dc_buf_reset(b);
  assert_int_equal(dc_cmd_encode(&c, b), DC_OK);
}

/* A fresh state in a scratch folder and a local log on loop, counting
 * into c. OUT: dir, path, *f, *log. */
static void open_fresh(char dir[256], char path[300], uv_loop_t *loop,
                       struct counter *c, struct dc_fsm **f, struct dc_log **log) {
  dc_test_tmpdir(dir, 256);
  snprintf(path, 300, "%s/s.db", dir);
  struct dc_errmsg err;
  assert_int_equal(dc_fsm_open(path, true, f, &err), DC_OK);
  uv_loop_init(loop);
  struct dc_log_hooks hooks = {.on_applied = on_applied, .ud = c};
  assert_int_equal(dc_log_local_new(loop, *f, &hooks, log), DC_OK);
}

static void test_local_batches_and_results(void **state) {
  (void)state;
  char dir[256], path[300];
  uv_loop_t loop;
  struct counter c = {0};
  struct dc_fsm *f;
  struct dc_log *log;
  open_fresh(dir, path, &loop, &c, &f, &log);
  assert_true(dc_log_is_leader(log));
  struct dc_buf b = {0};
  for (int i = 0; i < 100; i++) {
    encode_migrate(&b);
    assert_int_equal(dc_log_propose(log, b.data, b.len, on_result, &c), DC_OK);
  }
  /* The commit runs on the log's thread: the loop waits for it. */
  while (c.calls < 100) uv_run(&loop, UV_RUN_ONCE);
  assert_int_equal(c.calls, 100);
  assert_int_equal(c.ok, 100);
  assert_int_equal(c.batches, 1); /* one loop turn, one transaction */
  assert_int_equal(c.largest_batch, 100);
  assert_int_equal(log->ops->applied_index(log), 100);
  /* Oversized entries are refused up front and never call back. */
  uint8_t *big = calloc(1, DC_LOG_ENTRY_MAX + 1);
  assert_int_equal(dc_log_propose(log, big, DC_LOG_ENTRY_MAX + 1, on_result, &c), DC_ETOOBIG);
  free(big);
  /* Closing cancels what was not applied yet. */
  encode_migrate(&b);
  assert_int_equal(dc_log_propose(log, b.data, b.len, on_result, &c), DC_OK);
  log->ops->close(log, NULL, NULL);
  uv_run(&loop, UV_RUN_DEFAULT);
  assert_int_equal(c.calls, 101);
  assert_int_equal(c.canceled, 1);
  dc_fsm_close(f);

  /* Reopen: numbering continues after the stored applied index. */
  struct dc_errmsg err;
  assert_int_equal(dc_fsm_open(path, true, &f, &err), DC_OK);
  assert_int_equal(dc_fsm_applied_index(f), 100);
  assert_int_equal(dc_log_local_new(&loop, f, NULL, &log), DC_OK);
  encode_migrate(&b);
  struct counter c2 = {0};
  assert_int_equal(dc_log_propose(log, b.data, b.len, on_result, &c2), DC_OK);
  while (c2.calls < 1) uv_run(&loop, UV_RUN_ONCE);
  assert_int_equal(c2.last_index, 101);
  log->ops->close(log, NULL, NULL);
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
  dc_fsm_close(f);
  dc_buf_free(&b);
  dc_test_rmrf(dir);
}

/* A fresh local log and what the tests below count with. */
struct fx {
  struct counter c;
  char dir[256], path[300];
  uv_loop_t loop;
  struct dc_fsm *f;
  struct dc_log *log;
  struct dc_buf b;
};

static void fx_propose(struct fx *x, dc_log_propose_cb cb) {
  encode_migrate(&x->b);
  assert_int_equal(dc_log_propose(x->log, x->b.data, x->b.len, cb, &x->c), DC_OK);
}

static void fx_done(struct fx *x, uint64_t applied) {
  uv_loop_close(&x->loop);
  assert_int_equal(dc_fsm_applied_index(x->f), applied);
  dc_fsm_close(x->f);
  dc_buf_free(&x->b);
  dc_test_rmrf(x->dir);
}

/* Group commit: one proposal starts a commit; the 50 proposed while it is
 * in flight are not committed one by one but together, as the next batch,
 * and every result arrives only after its batch is durable. */
static void test_local_group_commit(void **state) {
  (void)state;
  struct fx x = {0};
  open_fresh(x.dir, x.path, &x.loop, &x.c, &x.f, &x.log);
  fx_propose(&x, on_result);
  uv_run(&x.loop, UV_RUN_NOWAIT); /* the first batch goes to the commit thread */
  assert_int_equal(x.c.calls, 0); /* not answered before its commit is back */
  for (int i = 0; i < 50; i++) fx_propose(&x, on_result);
  while (x.c.calls < 51) uv_run(&x.loop, UV_RUN_ONCE);
  assert_int_equal(x.c.ok, 51);
  assert_int_equal(x.c.batches, 2);
  assert_int_equal(x.c.largest_batch, 50);
  assert_int_equal(x.c.last_index, 51);
  assert_int_equal(x.log->ops->applied_index(x.log), 51);
  x.log->ops->close(x.log, NULL, NULL);
  uv_run(&x.loop, UV_RUN_DEFAULT);
  fx_done(&x, 51);
}

/* A result callback that closes the log (as a stopping master does): the
 * rest of the committed batch is still answered with its real results,
 * what was queued behind it is cancelled, and the log closes once. */
static struct dc_log *g_closing_log;
static void on_result_close(void *ud, const struct dc_fsm_result *r) {
  on_result(ud, r);
  if (g_closing_log) {
    g_closing_log->ops->close(g_closing_log, NULL, NULL);
    g_closing_log = NULL;
  }
}

static void test_local_close_from_callback(void **state) {
  (void)state;
  struct fx x = {0};
  open_fresh(x.dir, x.path, &x.loop, &x.c, &x.f, &x.log);
  for (int i = 0; i < 3; i++) fx_propose(&x, on_result_close);
  uv_run(&x.loop, UV_RUN_NOWAIT); /* the three go to the commit thread */
  fx_propose(&x, on_result);
  g_closing_log = x.log;
  uv_run(&x.loop, UV_RUN_DEFAULT);
  assert_int_equal(x.c.calls, 4);
  assert_int_equal(x.c.ok, 3);
  assert_int_equal(x.c.canceled, 1);
  fx_done(&x, 3);
}

static void test_proposal_ids_unique(void **state) {
  (void)state;
  uint64_t a = dc_log_next_proposal_id(), b = dc_log_next_proposal_id();
  assert_true(a != b);
  assert_true((a >> 32) == (b >> 32)); /* same process prefix */
}

int main(void) {
  assert_int_equal(dc_crypto_init(), DC_OK);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_local_batches_and_results),
      cmocka_unit_test(test_local_group_commit),
      cmocka_unit_test(test_local_close_from_callback),
      cmocka_unit_test(test_proposal_ids_unique),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
