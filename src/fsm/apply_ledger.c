/* SPDX-License-Identifier: Apache-2.0
 * Applying signed user transactions: nonce and head (the account's hash
 * chain), then the rules of each kind with checked arithmetic. The
 * signature was verified once before the transaction was proposed (and is
 * re-checked by `ledger verify`); everything here is deterministic. A
 * rejection returns before the savepoint is released, so it changes nothing. */
#include <inttypes.h>

#include "fsm/acct_int.h"

#define HEX8(p, buf) (dc_hex_encode((p), 8, (buf)), (buf))

struct txctx {
  struct dc_fsm *f;
  const struct dc_tx *tx;
  uint8_t hash[DC_HASH_BYTES];
  uint64_t index;
  struct led_state st;
  struct acct a;                     /* the signer */
};

static int record(struct txctx *t, const uint8_t *peer, uint64_t amount,
                  const char *ref) {
  struct led_row r = {.hash = t->hash, .index = t->index,
                      .height = t->st.height,
                      .kind = dc_tx_kind_name(t->tx->kind),
                      .account = t->tx->account, .peer = peer,
                      .amount = amount, .ref = ref};
  return led_record(t->f, &r);
}

static int do_transfer(struct txctx *t, struct dc_fsm_result *res) {
  const struct dc_tx *tx = t->tx;
  if (tx->amount == 0) FSM_REJECT(res, DC_EINVAL, "amount must be positive");
  if (memcmp(tx->peer, tx->account, DC_PK_BYTES) == 0)
    FSM_REJECT(res, DC_EINVAL, "transfer to the same account");
  if (!dc_amount_sub(t->a.balance, tx->amount, &t->a.balance))
    FSM_REJECT(res, DC_EINVAL,
               "insufficient balance: %" PRIu64 " < %" PRIu64, t->a.balance,
               tx->amount);
  struct acct to;
  int rc = acct_load(t->f, tx->peer, &to);
  if (rc) return rc;
  if (!dc_amount_add(to.balance, tx->amount, &to.balance))
    FSM_REJECT(res, DC_EINVAL, "recipient balance would overflow");
  if ((rc = acct_store(t->f, &to))) return rc;
  return record(t, tx->peer, tx->amount, NULL);
}

static int do_stake(struct txctx *t, struct dc_fsm_result *res) {
  uint64_t amt = t->tx->amount;
  if (amt == 0) FSM_REJECT(res, DC_EINVAL, "amount must be positive");
  if (!dc_amount_sub(t->a.balance, amt, &t->a.balance))
    FSM_REJECT(res, DC_EINVAL, "insufficient balance: %" PRIu64 " < %" PRIu64,
               t->a.balance, amt);
  if (!dc_amount_add(t->a.staked, amt, &t->a.staked))
    FSM_REJECT(res, DC_EINVAL, "stake would overflow");
  return record(t, NULL, amt, NULL);
}

static int do_unstake(struct txctx *t, struct dc_fsm_result *res) {
  static const char *sql =
      "INSERT INTO unbonding(account, release_height, amount)"
      " VALUES(?1, ?2, ?3)";
  uint64_t amt = t->tx->amount;
  if (amt == 0) FSM_REJECT(res, DC_EINVAL, "amount must be positive");
  if (!dc_amount_sub(t->a.staked, amt, &t->a.staked))
    FSM_REJECT(res, DC_EINVAL, "insufficient stake: %" PRIu64 " < %" PRIu64,
               t->a.staked, amt);
  if (!dc_amount_add(t->a.unbonding, amt, &t->a.unbonding))
    FSM_REJECT(res, DC_EINVAL, "unbonding would overflow");
  uint64_t release = t->st.height + t->st.params.unbonding_blocks;
  sqlite3_stmt *s = fsm_stmt(t->f, sql);
  if (!s) return DC_EDB;
  sqlite3_bind_blob(s, 1, t->tx->account, DC_PK_BYTES, SQLITE_STATIC);
  sqlite3_bind_int64(s, 2, (sqlite3_int64)release);
  sqlite3_bind_int64(s, 3, (sqlite3_int64)amt);
  int rc = fsm_step_done(t->f, s);
  if (rc) return rc;
  snprintf(res->message, sizeof res->message,
           "unbonding until block %" PRIu64, release);
  return record(t, NULL, amt, NULL);
}

static int do_withdraw(struct txctx *t, struct dc_fsm_result *res) {
  static const char *sum_sql =
      "SELECT COALESCE(SUM(amount), 0), COUNT(*) FROM unbonding"
      " WHERE account = ?1 AND release_height <= ?2";
  static const char *next_sql =
      "SELECT MIN(release_height) FROM unbonding WHERE account = ?1";
  static const char *del_sql =
      "DELETE FROM unbonding WHERE account = ?1 AND release_height <= ?2";
  sqlite3_stmt *s = fsm_stmt(t->f, sum_sql);
  if (!s) return DC_EDB;
  sqlite3_bind_blob(s, 1, t->tx->account, DC_PK_BYTES, SQLITE_STATIC);
  sqlite3_bind_int64(s, 2, (sqlite3_int64)t->st.height);
  if (sqlite3_step(s) != SQLITE_ROW) return fsm_step_done(t->f, s);
  uint64_t sum = (uint64_t)sqlite3_column_int64(s, 0);
  sqlite3_reset(s);
  if (sum == 0) {
    s = fsm_stmt(t->f, next_sql);
    if (!s) return DC_EDB;
    sqlite3_bind_blob(s, 1, t->tx->account, DC_PK_BYTES, SQLITE_STATIC);
    int64_t next = sqlite3_step(s) == SQLITE_ROW && sqlite3_column_type(s, 0) !=
                   SQLITE_NULL ? sqlite3_column_int64(s, 0) : -1;
    int rc = fsm_step_done(t->f, s);
    if (rc) return rc;
    if (next < 0) FSM_REJECT(res, DC_EINVAL, "nothing is unbonding");
    FSM_REJECT(res, DC_EINVAL,
               "nothing has matured yet: next release at block %" PRId64
               " (now %" PRIu64 ")", next, t->st.height);
  }
  if (!dc_amount_sub(t->a.unbonding, sum, &t->a.unbonding) ||
      !dc_amount_add(t->a.balance, sum, &t->a.balance))
    FSM_REJECT(res, DC_ECONFLICT, "unbonding entries disagree with account");
  s = fsm_stmt(t->f, del_sql);
  if (!s) return DC_EDB;
  sqlite3_bind_blob(s, 1, t->tx->account, DC_PK_BYTES, SQLITE_STATIC);
  sqlite3_bind_int64(s, 2, (sqlite3_int64)t->st.height);
  int rc = fsm_step_done(t->f, s);
  return rc ? rc : record(t, NULL, sum, NULL);
}

static int do_channel_open(struct txctx *t, struct dc_fsm_result *res) {
  static const char *sql =
      "INSERT INTO channels(id, payer, payee, tick_value, length, anchor,"
      " deposit, open_height, timeout_blocks, state, ticks)"
      " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 'open', 0)";
  const struct dc_tx *tx = t->tx;
  const struct dc_ledger_params *p = &t->st.params;
  uint64_t deposit;
  if (tx->amount == 0) FSM_REJECT(res, DC_EINVAL, "tick value must be positive");
  if (tx->length == 0 || tx->length > p->channel_len_max)
    FSM_REJECT(res, DC_EINVAL, "chain length %u outside 1..%u", tx->length,
               p->channel_len_max);
  if (tx->timeout_blocks < p->channel_timeout_min)
    FSM_REJECT(res, DC_EINVAL, "timeout %u blocks is below the minimum %u",
               tx->timeout_blocks, p->channel_timeout_min);
  if (memcmp(tx->peer, tx->account, DC_PK_BYTES) == 0)
    FSM_REJECT(res, DC_EINVAL, "channel to the same account");
  if (!dc_amount_mul(tx->amount, tx->length, &deposit))
    FSM_REJECT(res, DC_EINVAL, "deposit would overflow");
  if (!dc_amount_sub(t->a.balance, deposit, &t->a.balance))
    FSM_REJECT(res, DC_EINVAL,
               "insufficient balance for deposit: %" PRIu64 " < %" PRIu64,
               t->a.balance, deposit);
  sqlite3_stmt *s = fsm_stmt(t->f, sql);
  if (!s) return DC_EDB;
  sqlite3_bind_blob(s, 1, t->hash, DC_HASH_BYTES, SQLITE_STATIC);
  sqlite3_bind_blob(s, 2, tx->account, DC_PK_BYTES, SQLITE_STATIC);
  sqlite3_bind_blob(s, 3, tx->peer, DC_PK_BYTES, SQLITE_STATIC);
  sqlite3_bind_int64(s, 4, (sqlite3_int64)tx->amount);
  sqlite3_bind_int64(s, 5, tx->length);
  sqlite3_bind_blob(s, 6, tx->hash, DC_HASH_BYTES, SQLITE_STATIC);
  sqlite3_bind_int64(s, 7, (sqlite3_int64)deposit);
  sqlite3_bind_int64(s, 8, (sqlite3_int64)t->st.height);
  sqlite3_bind_int64(s, 9, tx->timeout_blocks);
  int rc = fsm_step_done(t->f, s);
  if (rc) return rc;
  char ref[2 * DC_HASH_BYTES + 1];
  dc_hex_encode(t->hash, DC_HASH_BYTES, ref);
  return record(t, tx->peer, deposit, ref);
}

struct channel {
  uint8_t payer[DC_PK_BYTES], payee[DC_PK_BYTES], anchor[DC_HASH_BYTES];
  uint64_t tick_value, deposit, open_height, timeout_blocks;
  uint32_t length;
  char state[16];
};

static int channel_load(struct dc_fsm *f, const uint8_t id[DC_HASH_BYTES],
                        struct channel *ch, bool *found) {
  static const char *sql =
      "SELECT payer, payee, anchor, tick_value, deposit, open_height,"
      " timeout_blocks, length, state FROM channels WHERE id = ?1";
  sqlite3_stmt *s = fsm_stmt(f, sql);
  if (!s) return DC_EDB;
  sqlite3_bind_blob(s, 1, id, DC_HASH_BYTES, SQLITE_STATIC);
  *found = sqlite3_step(s) == SQLITE_ROW;
  if (*found) {
    memcpy(ch->payer, sqlite3_column_blob(s, 0), DC_PK_BYTES);
    memcpy(ch->payee, sqlite3_column_blob(s, 1), DC_PK_BYTES);
    memcpy(ch->anchor, sqlite3_column_blob(s, 2), DC_HASH_BYTES);
    ch->tick_value = (uint64_t)sqlite3_column_int64(s, 3);
    ch->deposit = (uint64_t)sqlite3_column_int64(s, 4);
    ch->open_height = (uint64_t)sqlite3_column_int64(s, 5);
    ch->timeout_blocks = (uint64_t)sqlite3_column_int64(s, 6);
    ch->length = (uint32_t)sqlite3_column_int64(s, 7);
    snprintf(ch->state, sizeof ch->state, "%s", sqlite3_column_text(s, 8));
  }
  return fsm_step_done(f, s);
}

static int channel_finish(struct dc_fsm *f, const uint8_t id[DC_HASH_BYTES],
                          const char *state, uint32_t ticks) {
  static const char *sql = "UPDATE channels SET state = ?2, ticks = ?3 WHERE id = ?1";
  sqlite3_stmt *s = fsm_stmt(f, sql);
  if (!s) return DC_EDB;
  sqlite3_bind_blob(s, 1, id, DC_HASH_BYTES, SQLITE_STATIC);
  sqlite3_bind_text(s, 2, state, -1, SQLITE_STATIC);
  sqlite3_bind_int64(s, 3, ticks);
  return fsm_step_done(f, s);
}

/* The open channel a close (by its payee) or a reclaim (by its payer)
 * names; res is set when there is none or the signer has the wrong role. */
static int channel_for(struct txctx *t, bool payee, struct channel *ch,
                       struct dc_fsm_result *res) {
  bool found;
  int rc = channel_load(t->f, t->tx->channel, ch, &found);
  if (rc) return rc;
  if (!found) FSM_REJECT(res, DC_ENOTFOUND, "no such channel");
  if (strcmp(ch->state, "open") != 0)
    FSM_REJECT(res, DC_ECONFLICT, "channel is already %s", ch->state);
  if (memcmp(payee ? ch->payee : ch->payer, t->tx->account, DC_PK_BYTES) != 0)
    FSM_REJECT(res, DC_EFORBIDDEN, "only the %s %s a channel",
               payee ? "payee" : "payer", payee ? "closes" : "reclaims");
  return DC_OK;
}

static int do_channel_close(struct txctx *t, struct dc_fsm_result *res) {
  const struct dc_tx *tx = t->tx;
  struct channel ch;
  char ref[2 * DC_HASH_BYTES + 1];
  int rc = channel_for(t, true, &ch, res);
  if (rc || res->code) return rc;
  if (tx->length > ch.length)
    FSM_REJECT(res, DC_EINVAL, "%u ticks claimed on a chain of %u",
               tx->length, ch.length);
  if (!dc_payword_check(ch.anchor, tx->hash, tx->length))
    FSM_REJECT(res, DC_EBADSIG,
               "preimage does not hash to the anchor in %u steps", tx->length);
  uint64_t pay = ch.tick_value * tx->length; /* <= deposit: no overflow */
  struct acct payer;
  if ((rc = acct_load(t->f, ch.payer, &payer))) return rc;
  if (!dc_amount_add(t->a.balance, pay, &t->a.balance) ||
      !dc_amount_add(payer.balance, ch.deposit - pay, &payer.balance))
    FSM_REJECT(res, DC_EINVAL, "balance would overflow");
  if ((rc = acct_store(t->f, &payer))) return rc;
  if ((rc = channel_finish(t->f, tx->channel, "closed", tx->length))) return rc;
  dc_hex_encode(tx->channel, DC_HASH_BYTES, ref);
  return record(t, ch.payer, pay, ref);
}

static int do_channel_reclaim(struct txctx *t, struct dc_fsm_result *res) {
  const struct dc_tx *tx = t->tx;
  struct channel ch;
  char ref[2 * DC_HASH_BYTES + 1];
  int rc = channel_for(t, false, &ch, res);
  if (rc || res->code) return rc;
  uint64_t due = ch.open_height + ch.timeout_blocks;
  if (t->st.height < due)
    FSM_REJECT(res, DC_EINVAL,
               "channel times out at block %" PRIu64 " (now %" PRIu64 ")", due,
               t->st.height);
  if (!dc_amount_add(t->a.balance, ch.deposit, &t->a.balance))
    FSM_REJECT(res, DC_EINVAL, "balance would overflow");
  if ((rc = channel_finish(t->f, tx->channel, "reclaimed", 0))) return rc;
  dc_hex_encode(tx->channel, DC_HASH_BYTES, ref);
  return record(t, ch.payee, ch.deposit, ref);
}

int fsm_ledger_tx(struct dc_fsm *f, const struct dc_cmd *c, uint64_t index,
                  struct dc_fsm_result *res) {
  struct dc_tx tx;
  struct txctx t = {.f = f, .tx = &tx, .index = index};
  int rc = dc_tx_decode(c->u.blob.data, c->u.blob.len, &tx);
  if (rc) FSM_REJECT(res, rc, "undecodable transaction: %s", dc_strerror(rc));
  if ((rc = led_state_load(f, &t.st))) return rc;
  if (!t.st.exists) FSM_REJECT(res, DC_ECONFLICT, "no genesis yet");
  if ((rc = dc_tx_hash(&tx, t.hash)))
    FSM_REJECT(res, rc, "unencodable transaction");
  dc_hex_encode(t.hash, DC_HASH_BYTES, res->ref);
  if ((rc = acct_load(f, tx.account, &t.a))) return rc;
  if (tx.nonce != t.a.nonce + 1)
    FSM_REJECT(res, DC_ECONFLICT, "nonce %" PRIu64 " refused: expected %" PRIu64,
               tx.nonce, t.a.nonce + 1);
  if (memcmp(tx.prev, t.a.head, DC_HASH_BYTES) != 0) {
    char want[17], got[17];
    FSM_REJECT(res, DC_ECONFLICT, "prev %s… is not the account head %s…",
               HEX8(tx.prev, got), HEX8(t.a.head, want));
  }
  switch (tx.kind) {
  case DC_TX_TRANSFER: rc = do_transfer(&t, res); break;
  case DC_TX_STAKE: rc = do_stake(&t, res); break;
  case DC_TX_UNSTAKE: rc = do_unstake(&t, res); break;
  case DC_TX_WITHDRAW: rc = do_withdraw(&t, res); break;
  case DC_TX_CHANNEL_OPEN: rc = do_channel_open(&t, res); break;
  case DC_TX_CHANNEL_CLOSE: rc = do_channel_close(&t, res); break;
  case DC_TX_CHANNEL_RECLAIM: rc = do_channel_reclaim(&t, res); break;
  default: FSM_REJECT(res, DC_EPROTO, "unknown transaction kind");
  }
  if (rc || res->code) return rc;
  /* The signer's row last: the kind may have loaded other accounts, and the
   * signer (never the same as a peer) carries nonce and head. */
  t.a.nonce = tx.nonce;
  memcpy(t.a.head, t.hash, DC_HASH_BYTES);
  return acct_store(f, &t.a);
}
