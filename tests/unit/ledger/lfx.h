/* SPDX-License-Identifier: Apache-2.0
 * A ledger on a real SQLite FSM for tests: accounts with keys, the submit
 * path of the API (signature checked, then proposed), system operations,
 * state hashes and the conservation invariant. */
#ifndef DC_TEST_LFX_H
#define DC_TEST_LFX_H

#include <sqlite3.h>

#include "fsm/fsm.h"
#include "ledger/ledger.h"
#include "proto/proto.h"
#include "tests/lib/testlib.h"

#define LFX_ACCOUNTS 8
#define LFX_CHAIN "test-chain"

struct lfx {
  char dir[256], path[300];
  struct dc_fsm *f;
  uint64_t next;                    /* next log index */
  int64_t ts;                       /* proposer clock */
  struct dc_identity ids[LFX_ACCOUNTS];
};

struct lfx_acct {
  uint64_t balance, staked, unbonding, locked, nonce;
  uint8_t head[32];
};

void lfx_open(struct lfx *x);       /* fresh dir, FSM, migrate, identities */
void lfx_open_at(struct lfx *x, uint32_t schema_version); /* an older schema */
void lfx_migrate(struct lfx *x, uint32_t schema_version);
void lfx_close(struct lfx *x);
struct dc_fsm_result lfx_apply_raw(struct lfx *x, uint16_t type,
                                   const uint8_t *p, size_t n);
struct dc_fsm_result lfx_sys(struct lfx *x, const struct dc_sysop *op);
/* Genesis: amount to every account, the last two staked `stake` too. */
struct dc_fsm_result lfx_genesis(struct lfx *x, uint64_t amount, uint64_t stake,
                                 const struct dc_ledger_params *p);
struct dc_fsm_result lfx_seal(struct lfx *x);
void lfx_account(struct lfx *x, const uint8_t pk[32], struct lfx_acct *a);
/* Fills account, nonce and prev from the state, signs as ids[who]. */
void lfx_prepare(struct lfx *x, int who, struct dc_tx *t);
/* The API path: DC_EBADSIG without proposing when the signature fails,
 * else the FSM's result in *r and DC_OK. */
int lfx_submit(struct lfx *x, const struct dc_tx *t, struct dc_fsm_result *r);
/* Sum of balance + staked + unbonding + locked + open channel deposits, and
 * minted - burned from the ledger row; asserts each account's locked equals
 * its open escrows. */
void lfx_totals(struct lfx *x, uint64_t *held, uint64_t *supply);
void lfx_state_hash(struct lfx *x, uint8_t out[32]);
int64_t lfx_int(struct lfx *x, const char *sql); /* first column, 0 if none */
/* For every account any history row names: dc_fsm_history (whole, and cut
 * at a limit) equals a scan of all rows naming it, newest first. Returns
 * the number of accounts checked. */
int lfx_check_history(struct lfx *x);
/* `ledger verify --from-genesis` on a copy of the state: every block and,
 * through the unsealed tail, the whole state replayed from empty. */
void lfx_verify(struct lfx *x, struct dc_fsm_verify_report *rep);

/* test_ledger_prop.c */
void test_prop_random_ops(void **state);

#endif
