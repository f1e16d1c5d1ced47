/* SPDX-License-Identifier: Apache-2.0
 * The history storage of schema v5: a ledger built on schema 4 upgrades in
 * place (every history unchanged, links made for the old rows), new rows
 * wait in ledger_tx_recent until their block is sealed, every reader sees
 * both tables, and a replay from an empty database through the upgrade
 * reproduces every block and the whole state. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lfx.h"

static const struct dc_ledger_params params = {
    .unbonding_blocks = 3, .min_stake = 1000, .block_max = 64,
    .channel_len_max = 1000, .channel_timeout_min = 2};

/* n transfers between the fixture's accounts, a seal every seal_every. */
static void traffic(struct lfx *x, int n, int seal_every, int salt) {
  for (int i = 0; i < n; i++) {
    int from = (i * 5 + salt) % LFX_ACCOUNTS;
    int to = (from + 1 + (i + salt) % (LFX_ACCOUNTS - 1)) % LFX_ACCOUNTS;
    struct dc_tx t = {.kind = DC_TX_TRANSFER, .amount = 1 + (uint64_t)i};
    memcpy(t.peer, x->ids[to].pk, 32);
    lfx_prepare(x, from, &t);
    struct dc_fsm_result r;
    assert_int_equal(lfx_submit(x, &t, &r), DC_OK);
    assert_int_equal(r.code, DC_OK);
    if (seal_every && (i + 1) % seal_every == 0)
      assert_int_equal(lfx_seal(x).code, DC_OK);
  }
}

/* The rows (id, hash, kind, amount) of every history, as one text. */
static char *histories(struct lfx *x) {
  size_t cap = 1 << 20, len = 0;
  char *out = calloc(1, cap);
  int64_t ids[4096];
  for (int a = 0; a < LFX_ACCOUNTS; a++) {
    size_t n = 0;
    assert_int_equal(dc_fsm_history(dc_fsm_db(x->f), x->ids[a].pk, 4096, ids, &n),
                     DC_OK);
    assert_true(n > 0);
    for (size_t i = 0; i < n; i++) {
      char q[200];
      snprintf(q, sizeof q, "SELECT amount + 1000003 * length(kind) FROM"
                            " ledger_tx WHERE id = %lld", (long long)ids[i]);
      len += (size_t)snprintf(out + len, cap - len, "%d:%lld:%lld ", a,
                              (long long)ids[i], (long long)lfx_int(x, q));
      assert_true(len < cap);
    }
  }
  return out;
}

static void test_upgrade_v4_to_v5(void **state) {
  (void)state;
  struct lfx x;
  lfx_open_at(&x, 4);
  assert_int_equal(lfx_genesis(&x, 1000000, 5000, &params).code, DC_OK);
  traffic(&x, 300, 40, 0); /* 7 blocks and an unsealed tail */
  char *before = histories(&x);
  int64_t rows = lfx_int(&x, "SELECT COUNT(*) FROM ledger_tx");

  lfx_migrate(&x, 5);
  char *after = histories(&x);
  assert_string_equal(before, after);
  assert_int_equal(lfx_int(&x, "SELECT COUNT(*) FROM ledger_tx"), rows);
  assert_int_equal(lfx_int(&x, "SELECT COUNT(*) FROM ledger_tx_recent"), 0);
  assert_int_equal(lfx_check_history(&x), LFX_ACCOUNTS);
  /* The migration's scratch table is gone; it is not state. */
  assert_int_equal(lfx_int(&x, "SELECT COUNT(*) FROM sqlite_schema WHERE"
                               " name = 'mig_links'"), 0);

  /* New rows wait for their seal, and are read like the others meanwhile. */
  traffic(&x, 50, 0, 3);
  assert_int_equal(lfx_int(&x, "SELECT COUNT(*) FROM ledger_tx_recent"), 50);
  assert_int_equal(lfx_check_history(&x), LFX_ACCOUNTS);
  assert_int_equal(lfx_int(&x, "SELECT COUNT(*) FROM ledger_tx t WHERE"
                               " (SELECT COUNT(*) FROM ledger_tx u WHERE"
                               " substr(u.hash, 1, 8) = substr(t.hash, 1, 8)"
                               " AND u.hash = t.hash) = 1"), rows + 50);
  assert_int_equal(lfx_seal(&x).code, DC_OK);
  assert_int_equal(lfx_int(&x, "SELECT COUNT(*) FROM ledger_tx_recent"), 0);
  assert_int_equal(lfx_int(&x, "SELECT COUNT(*) FROM ledger_tx_sealed"), rows + 50);
  traffic(&x, 100, 30, 5);
  assert_int_equal(lfx_check_history(&x), LFX_ACCOUNTS);
  uint64_t held, supply;
  lfx_totals(&x, &held, &supply);
  assert_int_equal(held, supply);

  /* Replaying the log from empty (through schema 4 and the upgrade)
   * seals the same blocks and reaches the same state. */
  struct dc_fsm_verify_report rep;
  lfx_verify(&x, &rep);
  assert_true(rep.ok);
  assert_true(rep.tail_complete);
  free(before);
  free(after);
  lfx_close(&x);
}

/* An account that only ever received has its history too; one no row
 * names has none. */
static void test_receiver_only(void **state) {
  (void)state;
  struct lfx x;
  lfx_open(&x);
  struct dc_alloc al = {.amount = 1000000};
  memcpy(al.account, x.ids[0].pk, 32);
  struct dc_sysop op = {.kind = DC_SYS_GENESIS, .params = params, .allocs = &al,
                        .nallocs = 1};
  snprintf(op.chain_id, sizeof op.chain_id, "%s", LFX_CHAIN);
  assert_int_equal(lfx_sys(&x, &op).code, DC_OK);
  struct dc_tx t = {.kind = DC_TX_TRANSFER, .amount = 7};
  memcpy(t.peer, x.ids[5].pk, 32);
  lfx_prepare(&x, 0, &t);
  struct dc_fsm_result r;
  assert_int_equal(lfx_submit(&x, &t, &r), DC_OK);
  assert_int_equal(r.code, DC_OK);
  int64_t ids[8];
  size_t n = 0;
  assert_int_equal(dc_fsm_history(dc_fsm_db(x.f), x.ids[5].pk, 8, ids, &n), DC_OK);
  assert_int_equal(n, 1);
  /* An account no row names has no history. */
  assert_int_equal(dc_fsm_history(dc_fsm_db(x.f), x.ids[6].pk, 8, ids, &n), DC_OK);
  assert_int_equal(n, 0);
  assert_int_equal(lfx_check_history(&x), 2);
  lfx_close(&x);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_upgrade_v4_to_v5),
      cmocka_unit_test(test_receiver_only),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
