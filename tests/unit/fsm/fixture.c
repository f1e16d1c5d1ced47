/* SPDX-License-Identifier: Apache-2.0
 * The fsm tests' fixture (fixture.h). */
#include "fixture.h"

int fx_setup(void **state) {
  struct fx *x = calloc(1, sizeof *x);
  assert_int_equal(dc_crypto_init(), DC_OK);
  dc_test_tmpdir(x->dir, sizeof x->dir);
  snprintf(x->path, sizeof x->path, "%s/state.db", x->dir);
  struct dc_errmsg err;
  assert_int_equal(dc_fsm_open(x->path, false, &x->f, &err), DC_OK);
  assert_int_equal(dc_identity_generate(&x->node), DC_OK);
  assert_int_equal(dc_identity_generate(&x->user), DC_OK);
  x->next = 1;
  *state = x;
  return 0;
}

int fx_teardown(void **state) {
  struct fx *x = *state;
  dc_fsm_close(x->f);
  dc_identity_close(&x->node);
  dc_identity_close(&x->user);
  dc_test_rmrf(x->dir);
  free(x);
  return 0;
}

struct dc_fsm_result fx_apply(struct fx *x, struct dc_cmd *c) {
  struct dc_buf b = {0};
  c->proposal_id = 1000 + x->next;
  c->ts_ms = (int64_t)(1700000000000LL + (int64_t)x->next);
  assert_int_equal(dc_cmd_encode(c, &b), DC_OK);
  struct dc_fsm_entry e = {x->next, b.data, b.len};
  struct dc_fsm_result r;
  struct dc_errmsg err;
  assert_int_equal(dc_fsm_apply_batch(x->f, &e, 1, &r, &err), DC_OK);
  x->next++;
  dc_buf_free(&b);
  return r;
}

struct dc_fsm *fx_replay(struct fx *x) {
  char p2[320];
  snprintf(p2, sizeof p2, "%s/replica.db", x->dir);
  struct dc_fsm *g;
  struct dc_errmsg err;
  assert_int_equal(dc_fsm_open(p2, false, &g, &err), DC_OK);
  sqlite3_stmt *s;
  sqlite3_prepare_v2(dc_fsm_db(x->f), "SELECT idx, data FROM log ORDER BY idx", -1, &s, NULL);
  while (sqlite3_step(s) == SQLITE_ROW) {
    struct dc_fsm_entry e = {(uint64_t)sqlite3_column_int64(s, 0), sqlite3_column_blob(s, 1),
                             (size_t)sqlite3_column_bytes(s, 1)};
    struct dc_fsm_result r;
    assert_int_equal(dc_fsm_apply_batch(g, &e, 1, &r, &err), DC_OK);
  }
  sqlite3_finalize(s);
  return g;
}

int64_t fx_count(struct fx *x, const char *sql) {
  sqlite3_stmt *s;
  sqlite3_prepare_v2(dc_fsm_db(x->f), sql, -1, &s, NULL);
  int64_t n = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int64(s, 0) : -1;
  sqlite3_finalize(s);
  return n;
}
