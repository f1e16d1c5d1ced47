/* SPDX-License-Identifier: Apache-2.0
 * The ledger on the real FSM: genesis, transfers and their hash chains,
 * staking with unbonding counted in blocks, PayWord channels, job escrow
 * with capped settlements, slashes and rewards, blocks and `ledger verify`
 * (including a tampered byte), and the upgrade of a version-1 database. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lfx.h"

static const struct dc_ledger_params params = {
    .unbonding_blocks = 3, .min_stake = 1000, .block_max = 64,
    .channel_len_max = 1000, .channel_timeout_min = 2};

static int setup(void **state) {
  struct lfx *x = calloc(1, sizeof *x);
  lfx_open(x);
  *state = x;
  return 0;
}

static int teardown(void **state) {
  lfx_close(*state);
  free(*state);
  return 0;
}

static struct dc_fsm_result xfer(struct lfx *x, int from, int to, uint64_t amt) {
  struct dc_tx t = {.kind = DC_TX_TRANSFER, .amount = amt};
  memcpy(t.peer, x->ids[to].pk, 32);
  lfx_prepare(x, from, &t);
  struct dc_fsm_result r;
  assert_int_equal(lfx_submit(x, &t, &r), DC_OK);
  return r;
}

static void assert_conserved(struct lfx *x) {
  uint64_t held, supply;
  lfx_totals(x, &held, &supply);
  assert_int_equal(held, supply);
}

static void test_genesis_and_transfer(void **state) {
  struct lfx *x = *state;
  /* Nothing before the genesis. */
  assert_int_equal(xfer(x, 0, 1, 5).code, DC_ECONFLICT);
  struct dc_fsm_result r = lfx_genesis(x, 1000000, 5000, &params);
  assert_int_equal(r.code, DC_OK);
  assert_int_equal(lfx_genesis(x, 1, 0, &params).code, DC_EEXISTS);
  assert_int_equal(lfx_int(x, "SELECT COUNT(*) FROM blocks"), 1);
  /* Block 0: migrate, the refused early transfer, the genesis. */
  assert_int_equal(lfx_int(x, "SELECT ncmds FROM blocks WHERE height = 0"), 3);

  r = xfer(x, 0, 1, 250);
  assert_int_equal(r.code, DC_OK);
  assert_int_equal(strlen(r.ref), 64); /* the tx hash */
  struct lfx_acct a, b;
  lfx_account(x, x->ids[0].pk, &a);
  lfx_account(x, x->ids[1].pk, &b);
  assert_int_equal(a.balance, 999750);
  assert_int_equal(b.balance, 1000250);
  assert_int_equal(a.nonce, 1);
  char head[65];
  dc_hex_encode(a.head, 32, head);
  assert_string_equal(head, r.ref);

  /* Replaying the same signed transaction: wrong nonce. */
  struct dc_tx t = {.kind = DC_TX_TRANSFER, .amount = 1};
  memcpy(t.peer, x->ids[1].pk, 32);
  lfx_prepare(x, 0, &t);
  assert_int_equal(lfx_submit(x, &t, &r), DC_OK);
  assert_int_equal(r.code, DC_OK);
  uint8_t before[32], after[32];
  lfx_state_hash(x, before);
  assert_int_equal(lfx_submit(x, &t, &r), DC_OK);
  assert_int_equal(r.code, DC_ECONFLICT);
  assert_non_null(strstr(r.message, "nonce"));
  /* Right nonce, wrong prev. */
  t.nonce++;
  assert_int_equal(dc_tx_sign(&t, LFX_CHAIN, &x->ids[0]), DC_OK);
  assert_int_equal(lfx_submit(x, &t, &r), DC_OK);
  assert_int_equal(r.code, DC_ECONFLICT);
  assert_non_null(strstr(r.message, "prev"));
  /* Overdraft, zero, self. */
  assert_int_equal(xfer(x, 0, 1, 5000000).code, DC_EINVAL);
  assert_int_equal(xfer(x, 0, 1, 0).code, DC_EINVAL);
  assert_int_equal(xfer(x, 0, 0, 1).code, DC_EINVAL);
  /* A forged signature never reaches the log. */
  struct dc_tx f = {.kind = DC_TX_TRANSFER, .amount = 1};
  memcpy(f.peer, x->ids[1].pk, 32);
  lfx_prepare(x, 0, &f);
  f.amount = 100000;
  uint64_t idx = x->next;
  assert_int_equal(lfx_submit(x, &f, &r), DC_EBADSIG);
  assert_int_equal(x->next, idx);
  lfx_state_hash(x, after);
  assert_memory_equal(before, after, 32);
  assert_conserved(x);
}

static void test_stake_unbond_withdraw(void **state) {
  struct lfx *x = *state;
  assert_int_equal(lfx_genesis(x, 10000, 0, &params).code, DC_OK);
  struct dc_tx t = {.kind = DC_TX_STAKE, .amount = 4000};
  struct dc_fsm_result r;
  lfx_prepare(x, 2, &t);
  assert_int_equal(lfx_submit(x, &t, &r), DC_OK);
  assert_int_equal(r.code, DC_OK);
  t = (struct dc_tx){.kind = DC_TX_UNSTAKE, .amount = 5000};
  lfx_prepare(x, 2, &t);
  assert_int_equal(lfx_submit(x, &t, &r), DC_OK);
  assert_int_equal(r.code, DC_EINVAL); /* more than staked */
  t = (struct dc_tx){.kind = DC_TX_UNSTAKE, .amount = 1500};
  lfx_prepare(x, 2, &t);
  assert_int_equal(lfx_submit(x, &t, &r), DC_OK);
  assert_int_equal(r.code, DC_OK);
  assert_non_null(strstr(r.message, "block 4")); /* height 1 + 3 */
  struct lfx_acct a;
  lfx_account(x, x->ids[2].pk, &a);
  assert_int_equal(a.balance, 6000);
  assert_int_equal(a.staked, 2500);
  assert_int_equal(a.unbonding, 1500);
  /* Not before the delay, counted in blocks. */
  for (int blk = 1; blk <= 3; blk++) {
    t = (struct dc_tx){.kind = DC_TX_WITHDRAW};
    lfx_prepare(x, 2, &t);
    assert_int_equal(lfx_submit(x, &t, &r), DC_OK);
    assert_int_equal(r.code, DC_EINVAL);
    assert_non_null(strstr(r.message, "matured"));
    assert_int_equal(lfx_seal(x).code, DC_OK);
  }
  t = (struct dc_tx){.kind = DC_TX_WITHDRAW};
  lfx_prepare(x, 2, &t);
  assert_int_equal(lfx_submit(x, &t, &r), DC_OK);
  assert_int_equal(r.code, DC_OK);
  lfx_account(x, x->ids[2].pk, &a);
  assert_int_equal(a.balance, 7500);
  assert_int_equal(a.unbonding, 0);
  assert_conserved(x);
}

static void test_channels(void **state) {
  struct lfx *x = *state;
  assert_int_equal(lfx_genesis(x, 100000, 0, &params).code, DC_OK);
  uint8_t seed[32], anchor[32], w[32], id[32];
  dc_random(seed, 32);
  dc_payword_anchor(seed, 100, anchor);
  struct dc_tx t = {.kind = DC_TX_CHANNEL_OPEN, .amount = 10, .length = 100,
                    .timeout_blocks = 2};
  memcpy(t.peer, x->ids[1].pk, 32);
  memcpy(t.hash, anchor, 32);
  struct dc_fsm_result r;
  /* Over the length cap, under the timeout minimum. */
  t.length = 1001;
  lfx_prepare(x, 0, &t);
  assert_int_equal(lfx_submit(x, &t, &r), DC_OK);
  assert_int_equal(r.code, DC_EINVAL);
  t.length = 100;
  t.timeout_blocks = 1;
  lfx_prepare(x, 0, &t);
  assert_int_equal(lfx_submit(x, &t, &r), DC_OK);
  assert_int_equal(r.code, DC_EINVAL);
  t.timeout_blocks = 2;
  lfx_prepare(x, 0, &t);
  assert_int_equal(lfx_submit(x, &t, &r), DC_OK);
  assert_int_equal(r.code, DC_OK);
  assert_int_equal(dc_hex_decode(r.ref, id, 32), DC_OK);
  assert_conserved(x);
  struct lfx_acct a;
  lfx_account(x, x->ids[0].pk, &a);
  assert_int_equal(a.balance, 99000);

  /* The payer cannot close; the payee needs the right preimage. */
  struct dc_tx c = {.kind = DC_TX_CHANNEL_CLOSE, .length = 37};
  memcpy(c.channel, id, 32);
  dc_payword_word(seed, 100, 37, w);
  memcpy(c.hash, w, 32);
  lfx_prepare(x, 0, &c);
  assert_int_equal(lfx_submit(x, &c, &r), DC_OK);
  assert_int_equal(r.code, DC_EFORBIDDEN);
  c.length = 38;
  lfx_prepare(x, 1, &c);
  assert_int_equal(lfx_submit(x, &c, &r), DC_OK);
  assert_int_equal(r.code, DC_EBADSIG);
  /* Reclaim before the timeout is refused. */
  struct dc_tx rc = {.kind = DC_TX_CHANNEL_RECLAIM};
  memcpy(rc.channel, id, 32);
  lfx_prepare(x, 0, &rc);
  assert_int_equal(lfx_submit(x, &rc, &r), DC_OK);
  assert_int_equal(r.code, DC_EINVAL);
  c.length = 37;
  lfx_prepare(x, 1, &c);
  assert_int_equal(lfx_submit(x, &c, &r), DC_OK);
  assert_int_equal(r.code, DC_OK);
  lfx_account(x, x->ids[0].pk, &a);
  assert_int_equal(a.balance, 99000 + 630);
  lfx_account(x, x->ids[1].pk, &a);
  assert_int_equal(a.balance, 100370);
  /* Closed once: a second close or a reclaim is refused. */
  dc_payword_word(seed, 100, 90, w);
  memcpy(c.hash, w, 32);
  c.length = 90;
  lfx_prepare(x, 1, &c);
  assert_int_equal(lfx_submit(x, &c, &r), DC_OK);
  assert_int_equal(r.code, DC_ECONFLICT);
  assert_int_equal(lfx_seal(x).code, DC_OK);
  assert_int_equal(lfx_seal(x).code, DC_ECONFLICT); /* an empty block */
  assert_int_equal(lfx_seal(x).code, DC_OK); /* holds the refused seal */
  lfx_prepare(x, 0, &rc);
  assert_int_equal(lfx_submit(x, &rc, &r), DC_OK);
  assert_int_equal(r.code, DC_ECONFLICT);
  assert_conserved(x);
}

static void test_channel_reclaim(void **state) {
  struct lfx *x = *state;
  assert_int_equal(lfx_genesis(x, 1000, 0, &params).code, DC_OK);
  uint8_t id[32];
  struct dc_tx t = {.kind = DC_TX_CHANNEL_OPEN, .amount = 3, .length = 100,
                    .timeout_blocks = 2};
  memcpy(t.peer, x->ids[1].pk, 32);
  struct dc_fsm_result r;
  lfx_prepare(x, 0, &t);
  assert_int_equal(lfx_submit(x, &t, &r), DC_OK);
  assert_int_equal(r.code, DC_OK);
  dc_hex_decode(r.ref, id, 32);
  assert_int_equal(lfx_seal(x).code, DC_OK);
  assert_int_equal(lfx_seal(x).code, DC_ECONFLICT); /* nothing to seal */
  struct dc_tx rc = {.kind = DC_TX_CHANNEL_RECLAIM};
  memcpy(rc.channel, id, 32);
  lfx_prepare(x, 0, &rc);
  assert_int_equal(lfx_submit(x, &rc, &r), DC_OK);
  assert_int_equal(r.code, DC_EINVAL);
  assert_int_equal(lfx_seal(x).code, DC_OK);
  lfx_prepare(x, 0, &rc);
  assert_int_equal(lfx_submit(x, &rc, &r), DC_OK);
  assert_int_equal(r.code, DC_OK);
  struct lfx_acct a;
  lfx_account(x, x->ids[0].pk, &a);
  assert_int_equal(a.balance, 1000);
  assert_conserved(x);
}

#define JOB "0123456789abcdef0123456789abcdef"

static struct dc_fsm_result esc(struct lfx *x, uint8_t kind, int who,
                                const char *task, uint32_t attempt,
                                uint64_t amount) {
  struct dc_sysop op = {.kind = kind, .amount = amount, .attempt = attempt};
  memcpy(op.account, x->ids[who].pk, 32);
  snprintf(op.job_id, sizeof op.job_id, "%s", JOB);
  snprintf(op.task_id, sizeof op.task_id, "%s", task ? task : "");
  return lfx_sys(x, &op);
}

static void test_escrow_settle_refund(void **state) {
  struct lfx *x = *state;
  /* ids[6] and ids[7] are staked providers; ids[5] is not. */
  assert_int_equal(lfx_genesis(x, 50000, 2000, &params).code, DC_OK);
  assert_int_equal(esc(x, DC_SYS_ESCROW_LOCK, 0, NULL, 0, 60000).code, DC_EINVAL);
  assert_int_equal(esc(x, DC_SYS_ESCROW_LOCK, 0, NULL, 0, 30000).code, DC_OK);
  assert_int_equal(esc(x, DC_SYS_ESCROW_LOCK, 0, NULL, 0, 1).code, DC_EEXISTS);
  assert_conserved(x);
  assert_int_equal(esc(x, DC_SYS_RESERVE, 5, "t0", 1, 100).code, DC_EFORBIDDEN);
  assert_int_equal(esc(x, DC_SYS_RESERVE, 6, "t0", 1, 40000).code, DC_EINVAL);
  assert_int_equal(esc(x, DC_SYS_RESERVE, 6, "t0", 1, 10000).code, DC_OK);
  assert_int_equal(esc(x, DC_SYS_RESERVE, 7, "t0", 1, 10).code, DC_EEXISTS);
  assert_int_equal(esc(x, DC_SYS_RESERVE, 7, "t1", 1, 10000).code, DC_OK);
  assert_int_equal(esc(x, DC_SYS_RESERVE, 7, "t2", 1, 5000).code, DC_OK);
  /* Settled at most its reservation, only to its holder, only once. */
  assert_int_equal(esc(x, DC_SYS_SETTLE, 6, "t0", 1, 10001).code, DC_EINVAL);
  assert_int_equal(esc(x, DC_SYS_SETTLE, 7, "t0", 1, 100).code, DC_EFORBIDDEN);
  assert_int_equal(esc(x, DC_SYS_SETTLE, 6, "t0", 1, 4321).code, DC_OK);
  assert_int_equal(esc(x, DC_SYS_SETTLE, 6, "t0", 1, 4321).code, DC_ECONFLICT);
  /* A task lost with its provider: released unpaid. */
  assert_int_equal(esc(x, DC_SYS_SETTLE, 7, "t1", 1, 0).code, DC_OK);
  assert_conserved(x);
  struct lfx_acct a;
  lfx_account(x, x->ids[6].pk, &a);
  assert_int_equal(a.balance, 54321);
  lfx_account(x, x->ids[0].pk, &a);
  assert_int_equal(a.balance, 20000);
  assert_int_equal(a.locked, 30000 - 4321);
  /* Refund returns budget and the unsettled reservation (t2). */
  assert_int_equal(esc(x, DC_SYS_REFUND, 1, NULL, 0, 0).code, DC_EFORBIDDEN);
  assert_int_equal(esc(x, DC_SYS_REFUND, 0, NULL, 0, 0).code, DC_OK);
  assert_int_equal(esc(x, DC_SYS_REFUND, 0, NULL, 0, 0).code, DC_ECONFLICT);
  assert_int_equal(esc(x, DC_SYS_SETTLE, 7, "t2", 1, 10).code, DC_ECONFLICT);
  lfx_account(x, x->ids[0].pk, &a);
  assert_int_equal(a.balance, 50000 - 4321);
  assert_int_equal(a.locked, 0);
  assert_conserved(x);
}

static void test_slash_reward(void **state) {
  struct lfx *x = *state;
  assert_int_equal(lfx_genesis(x, 100, 2000, &params).code, DC_OK);
  struct dc_sysop op = {.kind = DC_SYS_SLASH, .amount = 500};
  memcpy(op.account, x->ids[7].pk, 32);
  assert_int_equal(lfx_sys(x, &op).code, DC_EINVAL); /* no evidence */
  uint8_t ev[] = "result hash mismatch: task t0 attempt 1";
  op.evidence = ev;
  op.evidence_len = sizeof ev;
  op.evidence_kind = DC_EVIDENCE_RESULT_MISMATCH;
  assert_int_equal(lfx_sys(x, &op).code, DC_OK);
  op.amount = 1501;
  assert_int_equal(lfx_sys(x, &op).code, DC_EINVAL);
  struct dc_sysop rw = {.kind = DC_SYS_REWARD, .amount = 77};
  memcpy(rw.account, x->ids[3].pk, 32);
  assert_int_equal(lfx_sys(x, &rw).code, DC_OK);
  rw.amount = DC_AMOUNT_MAX;
  assert_int_equal(lfx_sys(x, &rw).code, DC_EINVAL);
  assert_int_equal(lfx_int(x, "SELECT minted FROM ledger"), 800 + 4000 + 77);
  assert_int_equal(lfx_int(x, "SELECT burned FROM ledger"), 500);
  assert_conserved(x);
}

static void test_blocks_verify_and_tamper(void **state) {
  struct lfx *x = *state;
  assert_int_equal(lfx_genesis(x, 100000, 2000, &params).code, DC_OK);
  for (int i = 0; i < 30; i++) {
    assert_int_equal(xfer(x, i % 4, (i + 1) % 4, 10 + (uint64_t)i).code, DC_OK);
    if (i % 10 == 9) assert_int_equal(lfx_seal(x).code, DC_OK);
  }
  assert_int_equal(xfer(x, 0, 1, 1).code, DC_OK); /* an unsealed tail */
  struct dc_fsm_verify_report rep;
  lfx_verify(x, &rep);
  assert_true(rep.ok);
  assert_int_equal(rep.blocks, 4);
  assert_int_equal(rep.txs, 31);
  assert_true(rep.tail_complete);
  assert_int_equal(rep.tail, 1);
  /* Each block links to the previous one. */
  assert_int_equal(lfx_int(x, "SELECT COUNT(*) FROM blocks b JOIN blocks p ON"
                              " p.height = b.height - 1 WHERE b.prev <> p.hash"),
                   0);

  /* A balance changed behind the log: the replay's state hash differs. */
  sqlite3 *db = dc_fsm_db(x->f);
  static const char *const bump =
      "UPDATE accounts SET balance = balance + %d"
      " WHERE id = (SELECT MIN(id) FROM accounts)";
  char sql[200];
  snprintf(sql, sizeof sql, bump, 1);
  assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
  lfx_verify(x, &rep);
  assert_false(rep.ok);
  assert_non_null(strstr(rep.message, "replayed state differs"));
  snprintf(sql, sizeof sql, bump, -1);
  assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
  lfx_verify(x, &rep);
  assert_true(rep.ok);

  /* Flip one byte of one stored transaction in block 2. */
  sqlite3_stmt *s;
  assert_int_equal(sqlite3_prepare_v2(db, "SELECT data FROM block_cmds WHERE"
                                      " height = 2 AND pos = 3", -1, &s, NULL),
                   SQLITE_OK);
  assert_int_equal(sqlite3_step(s), SQLITE_ROW);
  size_t n = (size_t)sqlite3_column_bytes(s, 0);
  uint8_t *blob = malloc(n);
  memcpy(blob, sqlite3_column_blob(s, 0), n);
  sqlite3_finalize(s);
  blob[n - 70] ^= 0x01; /* inside the amount or the signature */
  assert_int_equal(sqlite3_prepare_v2(db, "UPDATE block_cmds SET data = ?1"
                                      " WHERE height = 2 AND pos = 3", -1, &s,
                                      NULL), SQLITE_OK);
  sqlite3_bind_blob(s, 1, blob, (int)n, SQLITE_TRANSIENT);
  assert_int_equal(sqlite3_step(s), SQLITE_DONE);
  sqlite3_finalize(s);
  free(blob);
  lfx_verify(x, &rep);
  assert_false(rep.ok);
  assert_int_equal(rep.bad_height, 2);
}

/* A database created by the previous build (schema 1, a job in it) is
 * upgraded by MIGRATE to 2, keeps its rows, and gets a ledger. */
static void test_upgrade_from_v1(void **state) {
  (void)state;
  struct lfx x;
  memset(&x, 0, sizeof x);
  assert_int_equal(dc_crypto_init(), DC_OK);
  dc_test_tmpdir(x.dir, sizeof x.dir);
  snprintf(x.path, sizeof x.path, "%s/state.db", x.dir);
  struct dc_errmsg err;
  assert_int_equal(dc_fsm_open(x.path, false, &x.f, &err), DC_OK);
  x.next = 1;
  for (int i = 0; i < LFX_ACCOUNTS; i++) dc_identity_generate(&x.ids[i]);
  struct dc_cmd c = {.type = DC_CMD_MIGRATE};
  c.u.migrate.schema_version = 1;
  struct dc_buf b = {0};
  assert_int_equal(dc_cmd_encode(&c, &b), DC_OK);
  assert_int_equal(lfx_apply_raw(&x, 0, b.data, b.len).code, DC_OK);
  dc_buf_free(&b);
  assert_int_equal(dc_fsm_schema_version(x.f), 1);
  /* A ledger command on schema 1 is refused, not a storage failure. */
  assert_int_not_equal(lfx_genesis(&x, 1, 0, &params).code, DC_OK);
  c.u.migrate.schema_version = 2;
  assert_int_equal(dc_cmd_encode(&c, &b), DC_OK);
  assert_int_equal(lfx_apply_raw(&x, 0, b.data, b.len).code, DC_OK);
  dc_buf_free(&b);
  assert_int_equal(lfx_genesis(&x, 1, 0, &params).code, DC_OK);
  /* Block 0 holds every entry so far: 2 migrates, the refused genesis, the
   * genesis. */
  assert_int_equal(lfx_int(&x, "SELECT ncmds FROM blocks WHERE height = 0"), 4);
  struct dc_fsm_verify_report rep;
  lfx_verify(&x, &rep);
  assert_true(rep.ok);
  lfx_close(&x);
}

/* ---- jobs pay ----------------------------------------------------------- */

static struct dc_fsm_result cmd(struct lfx *x, struct dc_cmd *c) {
  struct dc_buf b = {0};
  c->ts_ms = ++x->ts;
  assert_int_equal(dc_cmd_encode(c, &b), DC_OK);
  struct dc_fsm_result r = lfx_apply_raw(x, 0, b.data, b.len);
  dc_buf_free(&b);
  return r;
}

static void register_node(struct lfx *x, int who) {
  struct dc_cmd c = {.type = DC_CMD_NODE_REGISTER};
  struct dc_node_info *n = &c.u.node_register.node;
  memcpy(n->node_id, x->ids[who].pk, 32);
  n->name = "p"; n->addr = ""; n->classes = "compute"; n->labels_json = "{}";
  n->sandbox = "cgroup1";
  n->cpu_millis = 4000; n->memory_mb = 4096; n->disk_mb = 10000;
  n->price_cpu_hour = 3600000;      /* 1 micro-DEEP per core-ms */
  n->price_mem_gb_hour = 36864;
  assert_int_equal(cmd(x, &c).code, DC_OK);
}

#define PAYJOB "00000000000000000000000000000001"
#define PAYJOB2 "00000000000000000000000000000002"

static struct dc_fsm_result submit_paid(struct lfx *x, const char *id,
                                        int owner, uint64_t budget) {
  char spec[600];
  snprintf(spec, sizeof spec,
           "{\"budget\":%llu,\"name\":\"pay\",\"tasks\":[{\"name\":\"t\","
           "\"command\":[\"true\"],\"resources\":{\"cpu\":1,\"memory_mb\":256},"
           "\"timeout_s\":100}]}", (unsigned long long)budget);
  struct dc_cmd c = {.type = DC_CMD_JOB_SUBMIT};
  snprintf(c.u.job_submit.job_id, sizeof c.u.job_submit.job_id, "%s", id);
  memcpy(c.u.job_submit.owner, x->ids[owner].pk, 32);
  c.u.job_submit.idem_key = "";
  c.u.job_submit.spec_json = spec;
  return cmd(x, &c);
}

static struct dc_fsm_result assign_to(struct lfx *x, const char *task,
                                      uint32_t attempt, int node) {
  struct dc_cmd c = {.type = DC_CMD_TASK_ASSIGN};
  struct dc_assignment a = {.task_id = (char *)task, .attempt = attempt};
  memcpy(a.node_id, x->ids[node].pk, 32);
  c.u.task_assign.items = &a;
  c.u.task_assign.n = 1;
  return cmd(x, &c);
}

static void test_jobs_pay(void **state) {
  struct lfx *x = *state;
  /* ids[6], ids[7] staked providers; ids[5] funded but not staked. */
  assert_int_equal(lfx_genesis(x, 1000000, 2000, &params).code, DC_OK);
  register_node(x, 5);
  register_node(x, 7);
  /* A budget the account cannot cover refuses the job. */
  struct dc_fsm_result r = submit_paid(x, PAYJOB, 0, 2000000);
  assert_int_equal(r.code, DC_EINVAL);
  assert_int_equal(lfx_int(x, "SELECT COUNT(*) FROM jobs"), 0);
  assert_int_equal(submit_paid(x, PAYJOB, 0, 150000).code, DC_OK);
  struct lfx_acct a;
  lfx_account(x, x->ids[0].pk, &a);
  assert_int_equal(a.locked, 150000);
  const char *task = PAYJOB ".t.0";
  /* The unstaked provider cannot take it. */
  assert_int_equal(assign_to(x, task, 1, 5).code, DC_ECONFLICT);
  /* Worst case: 1 core x 100 s + 256 MB x 100 s at the node's prices. */
  assert_int_equal(assign_to(x, task, 1, 7).code, DC_OK);
  assert_int_equal(lfx_int(x, "SELECT amount FROM reservations"), 100000 + 256);
  /* The result settles its metered usage: 2.5 CPU-s, 128 MiB for 5 s. */
  struct dc_cmd c = {.type = DC_CMD_TASK_FINISHED};
  struct dc_task_result *tr = &c.u.task_finished.r;
  tr->task_id = (char *)task;
  tr->attempt = 1;
  memcpy(tr->node_id, x->ids[7].pk, 32);
  tr->outcome = DC_OUTCOME_SUCCEEDED;
  tr->mechanism = "cgroup1";
  tr->reason = "";
  tr->usage = (struct dc_usage){.cpu_user_us = 2000000, .cpu_sys_us = 500000,
                                .peak_memory_bytes = 128u << 20, .wall_ms = 5000};
  assert_int_equal(dc_task_result_sign(tr, &x->ids[7]), DC_OK);
  assert_int_equal(cmd(x, &c).code, DC_OK);
  /* 2500 for CPU + ceil(6.4) for memory; the job ended: the rest refunded. */
  lfx_account(x, x->ids[7].pk, &a);
  assert_int_equal(a.balance, 1000000 + 2507);
  lfx_account(x, x->ids[0].pk, &a);
  assert_int_equal(a.balance, 1000000 - 2507);
  assert_int_equal(a.locked, 0);
  assert_int_equal(lfx_int(x, "SELECT COUNT(*) FROM escrows WHERE state = 'closed'"), 1);
  assert_int_equal(lfx_int(x, "SELECT refunded FROM escrows"), 150000 - 2507);
  /* The same result again is refused and pays nothing more. */
  assert_int_not_equal(cmd(x, &c).code, DC_OK);
  lfx_account(x, x->ids[7].pk, &a);
  assert_int_equal(a.balance, 1000000 + 2507);
  assert_conserved(x);

  /* A task lost with its provider is not paid to it; cancel refunds all. */
  assert_int_equal(submit_paid(x, PAYJOB2, 1, 500000).code, DC_OK);
  assert_int_equal(assign_to(x, PAYJOB2 ".t.0", 1, 7).code, DC_OK);
  struct dc_cmd d = {.type = DC_CMD_NODE_DEAD};
  memcpy(d.u.node_dead.node_id, x->ids[7].pk, 32);
  d.u.node_dead.reason = "test";
  assert_int_equal(cmd(x, &d).code, DC_OK);
  assert_int_equal(lfx_int(x, "SELECT COUNT(*) FROM reservations WHERE state"
                              " = 'released' AND paid = 0"), 1);
  struct dc_cmd k = {.type = DC_CMD_JOB_CANCEL};
  snprintf(k.u.job_cancel.job_id, sizeof k.u.job_cancel.job_id, "%s", PAYJOB2);
  memcpy(k.u.job_cancel.owner, x->ids[1].pk, 32);
  assert_int_equal(cmd(x, &k).code, DC_OK);
  lfx_account(x, x->ids[1].pk, &a);
  assert_int_equal(a.balance, 1000000);
  assert_int_equal(a.locked, 0);
  lfx_account(x, x->ids[7].pk, &a);
  assert_int_equal(a.balance, 1000000 + 2507);
  assert_conserved(x);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_genesis_and_transfer, setup, teardown),
      cmocka_unit_test_setup_teardown(test_stake_unbond_withdraw, setup, teardown),
      cmocka_unit_test_setup_teardown(test_channels, setup, teardown),
      cmocka_unit_test_setup_teardown(test_channel_reclaim, setup, teardown),
      cmocka_unit_test_setup_teardown(test_escrow_settle_refund, setup, teardown),
      cmocka_unit_test_setup_teardown(test_slash_reward, setup, teardown),
      cmocka_unit_test_setup_teardown(test_blocks_verify_and_tamper, setup, teardown),
      cmocka_unit_test(test_upgrade_from_v1),
      cmocka_unit_test_setup_teardown(test_jobs_pay, setup, teardown),
      cmocka_unit_test(test_prop_random_ops),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
