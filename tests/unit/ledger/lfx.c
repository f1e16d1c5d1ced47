/* SPDX-License-Identifier: Apache-2.0
 * The ledger test fixture (lfx.h). */
#include "lfx.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void lfx_open(struct lfx *x) { lfx_open_at(x, DC_FSM_SCHEMA_VERSION); }

void lfx_open_at(struct lfx *x, uint32_t schema_version) {
  memset(x, 0, sizeof *x);
  assert_int_equal(dc_crypto_init(), DC_OK);
  dc_test_tmpdir(x->dir, sizeof x->dir);
  snprintf(x->path, sizeof x->path, "%s/state.db", x->dir);
  struct dc_errmsg err;
  assert_int_equal(dc_fsm_open(x->path, false, &x->f, &err), DC_OK);
  x->next = 1;
  x->ts = 1700000000000LL;
  for (int i = 0; i < LFX_ACCOUNTS; i++)
    assert_int_equal(dc_identity_generate(&x->ids[i]), DC_OK);
  struct dc_cmd c = {.type = DC_CMD_MIGRATE, .ts_ms = x->ts};
  c.u.migrate.schema_version = schema_version;
  struct dc_buf b = {0};
  assert_int_equal(dc_cmd_encode(&c, &b), DC_OK);
  assert_int_equal(lfx_apply_raw(x, 0, b.data, b.len).code, DC_OK);
  dc_buf_free(&b);
}

void lfx_close(struct lfx *x) {
  dc_fsm_close(x->f);
  for (int i = 0; i < LFX_ACCOUNTS; i++) dc_identity_close(&x->ids[i]);
  dc_test_rmrf(x->dir);
}

/* type 0: p is already an encoded command. */
struct dc_fsm_result lfx_apply_raw(struct lfx *x, uint16_t type,
                                   const uint8_t *p, size_t n) {
  struct dc_buf b = {0};
  if (type) {
    struct dc_cmd c = {.type = type, .proposal_id = x->next, .ts_ms = ++x->ts};
    c.u.blob.data = (uint8_t *)p;
    c.u.blob.len = n;
    assert_int_equal(dc_cmd_encode(&c, &b), DC_OK);
    p = b.data;
    n = b.len;
  }
  struct dc_fsm_entry e = {x->next++, p, n};
  struct dc_fsm_result r;
  struct dc_errmsg err;
  assert_int_equal(dc_fsm_apply_batch(x->f, &e, 1, &r, &err), DC_OK);
  dc_buf_free(&b);
  return r;
}

struct dc_fsm_result lfx_sys(struct lfx *x, const struct dc_sysop *op) {
  struct dc_buf b = {0};
  struct dc_sysop o = *op;
  o.version = DC_SYSOP_VERSION;
  assert_int_equal(dc_sysop_encode(&o, &b), DC_OK);
  struct dc_fsm_result r = lfx_apply_raw(x, DC_CMD_LEDGER, b.data, b.len);
  dc_buf_free(&b);
  return r;
}

struct dc_fsm_result lfx_genesis(struct lfx *x, uint64_t amount, uint64_t stake,
                                 const struct dc_ledger_params *p) {
  struct dc_alloc al[LFX_ACCOUNTS];
  memset(al, 0, sizeof al);
  for (int i = 0; i < LFX_ACCOUNTS; i++) {
    memcpy(al[i].account, x->ids[i].pk, 32);
    al[i].amount = amount;
    al[i].stake = i >= LFX_ACCOUNTS - 2 ? stake : 0;
  }
  struct dc_sysop op = {.kind = DC_SYS_GENESIS, .params = *p, .allocs = al,
                        .nallocs = LFX_ACCOUNTS};
  snprintf(op.chain_id, sizeof op.chain_id, "%s", LFX_CHAIN);
  return lfx_sys(x, &op);
}

struct dc_fsm_result lfx_seal(struct lfx *x) {
  struct dc_sysop op = {.kind = DC_SYS_SEAL_BLOCK};
  memcpy(op.account, x->ids[0].pk, 32);
  return lfx_sys(x, &op);
}

void lfx_account(struct lfx *x, const uint8_t pk[32], struct lfx_acct *a) {
  sqlite3_stmt *s;
  memset(a, 0, sizeof *a);
  assert_int_equal(sqlite3_prepare_v2(dc_fsm_db(x->f),
                                      "SELECT balance, staked, unbonding, locked,"
                                      " nonce, head FROM accounts WHERE id = ?1",
                                      -1, &s, NULL), SQLITE_OK);
  sqlite3_bind_blob(s, 1, pk, 32, SQLITE_STATIC);
  if (sqlite3_step(s) == SQLITE_ROW) {
    a->balance = (uint64_t)sqlite3_column_int64(s, 0);
    a->staked = (uint64_t)sqlite3_column_int64(s, 1);
    a->unbonding = (uint64_t)sqlite3_column_int64(s, 2);
    a->locked = (uint64_t)sqlite3_column_int64(s, 3);
    a->nonce = (uint64_t)sqlite3_column_int64(s, 4);
    memcpy(a->head, sqlite3_column_blob(s, 5), 32);
  }
  sqlite3_finalize(s);
}

void lfx_prepare(struct lfx *x, int who, struct dc_tx *t) {
  struct lfx_acct a;
  lfx_account(x, x->ids[who].pk, &a);
  t->version = DC_TX_VERSION;
  memcpy(t->account, x->ids[who].pk, 32);
  t->nonce = a.nonce + 1;
  memcpy(t->prev, a.head, 32);
  assert_int_equal(dc_tx_sign(t, LFX_CHAIN, &x->ids[who]), DC_OK);
}

int lfx_submit(struct lfx *x, const struct dc_tx *t, struct dc_fsm_result *r) {
  int rc = dc_tx_verify(t, LFX_CHAIN);
  if (rc) return rc;
  struct dc_buf b = {0};
  assert_int_equal(dc_tx_encode(t, &b), DC_OK);
  *r = lfx_apply_raw(x, DC_CMD_TX, b.data, b.len);
  dc_buf_free(&b);
  return DC_OK;
}

int64_t lfx_int(struct lfx *x, const char *sql) {
  sqlite3_stmt *s;
  assert_int_equal(sqlite3_prepare_v2(dc_fsm_db(x->f), sql, -1, &s, NULL),
                   SQLITE_OK);
  int64_t v = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
  sqlite3_finalize(s);
  return v;
}

void lfx_totals(struct lfx *x, uint64_t *held, uint64_t *supply) {
  *held = (uint64_t)lfx_int(x, "SELECT COALESCE(SUM(balance + staked +"
                               " unbonding + locked), 0) FROM accounts") +
          (uint64_t)lfx_int(x, "SELECT COALESCE(SUM(deposit), 0) FROM channels"
                               " WHERE state = 'open'");
  *supply = (uint64_t)lfx_int(x, "SELECT minted - burned FROM ledger");
  /* Per account: locked is exactly what its open escrows hold, and
   * unbonding exactly its unbonding entries. */
  assert_int_equal(lfx_int(x, "SELECT COUNT(*) FROM accounts a WHERE locked <>"
                              " (SELECT COALESCE(SUM(available + reserved), 0)"
                              " FROM escrows e WHERE e.owner = a.id AND"
                              " e.state = 'open')"), 0);
  assert_int_equal(lfx_int(x, "SELECT COUNT(*) FROM accounts a WHERE unbonding"
                              " <> (SELECT COALESCE(SUM(amount), 0) FROM"
                              " unbonding u WHERE u.account = a.id)"), 0);
  assert_int_equal(lfx_int(x, "SELECT COUNT(*) FROM escrows WHERE reserved <>"
                              " (SELECT COALESCE(SUM(amount), 0) FROM"
                              " reservations r WHERE r.job_id = escrows.job_id"
                              " AND r.state = 'reserved')"), 0);
}

void lfx_state_hash(struct lfx *x, uint8_t out[32]) {
  assert_int_equal(dc_fsm_state_hash(dc_fsm_db(x->f), out), DC_OK);
}

int lfx_check_history(struct lfx *x) {
  sqlite3 *db = dc_fsm_db(x->f);
  sqlite3_stmt *who, *scan;
  assert_int_equal(sqlite3_prepare_v2(db, "SELECT account FROM ledger_tx WHERE"
                                          " account IS NOT NULL UNION SELECT peer"
                                          " FROM ledger_tx WHERE peer IS NOT NULL",
                                      -1, &who, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_prepare_v2(db, "SELECT id FROM ledger_tx WHERE"
                                          " account = ?1 OR peer = ?1"
                                          " ORDER BY id DESC",
                                      -1, &scan, NULL), SQLITE_OK);
  enum { MAX = 20000 };
  int64_t *want = malloc(MAX * sizeof *want), *got = malloc(MAX * sizeof *got);
  int accounts = 0;
  while (sqlite3_step(who) == SQLITE_ROW) {
    assert_int_equal(sqlite3_column_bytes(who, 0), 32);
    uint8_t pk[32];
    memcpy(pk, sqlite3_column_blob(who, 0), 32);
    size_t nw = 0, ng = 0;
    sqlite3_bind_blob(scan, 1, pk, 32, SQLITE_STATIC);
    while (sqlite3_step(scan) == SQLITE_ROW && nw < MAX)
      want[nw++] = sqlite3_column_int64(scan, 0);
    sqlite3_reset(scan);
    assert_int_equal(dc_fsm_history(db, pk, MAX, got, &ng), DC_OK);
    assert_int_equal(ng, nw);
    for (size_t i = 0; i < nw; i++) assert_int_equal(got[i], want[i]);
    size_t cut = nw / 2 + 1;
    assert_int_equal(dc_fsm_history(db, pk, cut, got, &ng), DC_OK);
    assert_int_equal(ng, nw < cut ? nw : cut);
    for (size_t i = 0; i < ng; i++) assert_int_equal(got[i], want[i]);
    accounts++;
  }
  sqlite3_finalize(who);
  sqlite3_finalize(scan);
  free(want);
  free(got);
  return accounts;
}

void lfx_migrate(struct lfx *x, uint32_t schema_version) {
  struct dc_cmd c = {.type = DC_CMD_MIGRATE, .ts_ms = ++x->ts};
  c.u.migrate.schema_version = schema_version;
  struct dc_buf b = {0};
  assert_int_equal(dc_cmd_encode(&c, &b), DC_OK);
  assert_int_equal(lfx_apply_raw(x, 0, b.data, b.len).code, DC_OK);
  dc_buf_free(&b);
  assert_int_equal(dc_fsm_schema_version(x->f), schema_version);
}

void lfx_verify(struct lfx *x, struct dc_fsm_verify_report *rep) {
  char scratch[400];
  snprintf(scratch, sizeof scratch, "%s/verify-%llu.db", x->dir,
           (unsigned long long)x->next);
  sqlite3 *src;
  assert_int_equal(dc_fsm_open_reader(x->path, &src), DC_OK);
  struct dc_errmsg err;
  assert_int_equal(dc_fsm_verify_chain(src, scratch, true, rep, &err), DC_OK);
  sqlite3_close(src);
}
