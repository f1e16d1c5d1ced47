/* SPDX-License-Identifier: Apache-2.0
 * Loading and storing ledger rows: the ledger's single row, accounts and
 * history. Amounts are stored as INTEGER; the supply cap (INT64_MAX) makes
 * the cast exact both ways. */
#include "fsm/acct_int.h"

int led_state_load(struct dc_fsm *f, struct led_state *st) {
  static const char *sql =
      "SELECT chain_id, unbonding_blocks, min_stake, block_max,"
      " channel_len_max, channel_timeout_min, minted, burned, height,"
      " sealed_index, tip, tip_time_ms FROM ledger WHERE id = 1";
  memset(st, 0, sizeof *st);
  sqlite3_stmt *s = fsm_stmt(f, sql);
  if (!s) return DC_EDB;
  int rc = sqlite3_step(s);
  if (rc == SQLITE_DONE) return DC_OK;
  if (rc != SQLITE_ROW) return fsm_step_done(f, s);
  st->exists = true;
  snprintf(st->chain_id, sizeof st->chain_id, "%s",
           (const char *)sqlite3_column_text(s, 0));
  st->params.unbonding_blocks = (uint32_t)sqlite3_column_int64(s, 1);
  st->params.min_stake = (uint64_t)sqlite3_column_int64(s, 2);
  st->params.block_max = (uint32_t)sqlite3_column_int64(s, 3);
  st->params.channel_len_max = (uint32_t)sqlite3_column_int64(s, 4);
  st->params.channel_timeout_min = (uint32_t)sqlite3_column_int64(s, 5);
  st->minted = (uint64_t)sqlite3_column_int64(s, 6);
  st->burned = (uint64_t)sqlite3_column_int64(s, 7);
  st->height = (uint64_t)sqlite3_column_int64(s, 8);
  st->sealed_index = (uint64_t)sqlite3_column_int64(s, 9);
  if (sqlite3_column_bytes(s, 10) == DC_HASH_BYTES)
    memcpy(st->tip, sqlite3_column_blob(s, 10), DC_HASH_BYTES);
  st->tip_time_ms = sqlite3_column_int64(s, 11);
  sqlite3_reset(s);
  return DC_OK;
}

int led_state_store(struct dc_fsm *f, const struct led_state *st) {
  static const char *sql =
      "INSERT INTO ledger(id, chain_id, unbonding_blocks, min_stake,"
      " block_max, channel_len_max, channel_timeout_min, minted, burned,"
      " height, sealed_index, tip, tip_time_ms)"
      " VALUES(1, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"
      " ON CONFLICT(id) DO UPDATE SET minted = excluded.minted,"
      " burned = excluded.burned, height = excluded.height,"
      " sealed_index = excluded.sealed_index, tip = excluded.tip,"
      " tip_time_ms = excluded.tip_time_ms";
  sqlite3_stmt *s = fsm_stmt(f, sql);
  if (!s) return DC_EDB;
  sqlite3_bind_text(s, 1, st->chain_id, -1, SQLITE_STATIC);
  sqlite3_bind_int64(s, 2, st->params.unbonding_blocks);
  sqlite3_bind_int64(s, 3, (sqlite3_int64)st->params.min_stake);
  sqlite3_bind_int64(s, 4, st->params.block_max);
  sqlite3_bind_int64(s, 5, st->params.channel_len_max);
  sqlite3_bind_int64(s, 6, st->params.channel_timeout_min);
  sqlite3_bind_int64(s, 7, (sqlite3_int64)st->minted);
  sqlite3_bind_int64(s, 8, (sqlite3_int64)st->burned);
  sqlite3_bind_int64(s, 9, (sqlite3_int64)st->height);
  sqlite3_bind_int64(s, 10, (sqlite3_int64)st->sealed_index);
  sqlite3_bind_blob(s, 11, st->tip, DC_HASH_BYTES, SQLITE_STATIC);
  sqlite3_bind_int64(s, 12, st->tip_time_ms);
  return fsm_step_done(f, s);
}

int acct_load(struct dc_fsm *f, const uint8_t id[DC_PK_BYTES],
              struct acct *a) {
  static const char *sql =
      "SELECT balance, staked, unbonding, locked, nonce, head FROM accounts"
      " WHERE id = ?1";
  memset(a, 0, sizeof *a);
  memcpy(a->id, id, DC_PK_BYTES);
  sqlite3_stmt *s = fsm_stmt(f, sql);
  if (!s) return DC_EDB;
  sqlite3_bind_blob(s, 1, id, DC_PK_BYTES, SQLITE_STATIC);
  int rc = sqlite3_step(s);
  if (rc == SQLITE_ROW) {
    a->balance = (uint64_t)sqlite3_column_int64(s, 0);
    a->staked = (uint64_t)sqlite3_column_int64(s, 1);
    a->unbonding = (uint64_t)sqlite3_column_int64(s, 2);
    a->locked = (uint64_t)sqlite3_column_int64(s, 3);
    a->nonce = (uint64_t)sqlite3_column_int64(s, 4);
    if (sqlite3_column_bytes(s, 5) == DC_HASH_BYTES)
      memcpy(a->head, sqlite3_column_blob(s, 5), DC_HASH_BYTES);
  }
  return fsm_step_done(f, s);
}

int acct_store(struct dc_fsm *f, const struct acct *a) {
  static const char *sql =
      "INSERT INTO accounts(id, balance, staked, unbonding, locked, nonce,"
      " head) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT(id) DO UPDATE"
      " SET balance = excluded.balance, staked = excluded.staked,"
      " unbonding = excluded.unbonding, locked = excluded.locked,"
      " nonce = excluded.nonce, head = excluded.head";
  /* Pair assertion: what is written must be readable back exactly. */
  DC_ASSERT(a->balance <= DC_AMOUNT_MAX && a->staked <= DC_AMOUNT_MAX &&
            a->unbonding <= DC_AMOUNT_MAX && a->locked <= DC_AMOUNT_MAX);
  sqlite3_stmt *s = fsm_stmt(f, sql);
  if (!s) return DC_EDB;
  sqlite3_bind_blob(s, 1, a->id, DC_PK_BYTES, SQLITE_STATIC);
  sqlite3_bind_int64(s, 2, (sqlite3_int64)a->balance);
  sqlite3_bind_int64(s, 3, (sqlite3_int64)a->staked);
  sqlite3_bind_int64(s, 4, (sqlite3_int64)a->unbonding);
  sqlite3_bind_int64(s, 5, (sqlite3_int64)a->locked);
  sqlite3_bind_int64(s, 6, (sqlite3_int64)a->nonce);
  sqlite3_bind_blob(s, 7, a->head, DC_HASH_BYTES, SQLITE_STATIC);
  return fsm_step_done(f, s);
}

static void led_bind(sqlite3_stmt *s, const struct led_row *r) {
  sqlite3_bind_blob(s, 1, r->hash, DC_HASH_BYTES, SQLITE_STATIC);
  sqlite3_bind_int64(s, 2, (sqlite3_int64)r->index);
  sqlite3_bind_int64(s, 3, r->sub);
  sqlite3_bind_int64(s, 4, (sqlite3_int64)r->height);
  sqlite3_bind_text(s, 5, r->kind, -1, SQLITE_STATIC);
  if (r->account) sqlite3_bind_blob(s, 6, r->account, DC_PK_BYTES, SQLITE_STATIC);
  if (r->peer) sqlite3_bind_blob(s, 7, r->peer, DC_PK_BYTES, SQLITE_STATIC);
  sqlite3_bind_int64(s, 8, (sqlite3_int64)r->amount);
  if (r->ref) sqlite3_bind_text(s, 9, r->ref, -1, SQLITE_STATIC);
}

/* Schema v5: the row joins the history lists of its account and peer (its
 * links are their newest rows so far), then becomes their newest. */
static int record_v5(struct dc_fsm *f, const struct led_row *r) {
  static const char *sql =
      "INSERT INTO ledger_tx_recent(id, hash, idx, sub, height, kind, account,"
      " peer, amount, ref, prev_a, prev_p) VALUES(?2 * 65536 + ?3, ?1, ?2, ?3,"
      " ?4, ?5, ?6, ?7, ?8, ?9, (SELECT hist FROM accounts WHERE id = ?6),"
      " (SELECT hist FROM accounts WHERE id = ?7))";
  /* An account a row names always has an accounts row (all zero if it
   * never held anything), so its list has a head. */
  static const char *head =
      "INSERT INTO accounts(id, balance, staked, unbonding, locked, nonce,"
      " head, hist) VALUES(?1, 0, 0, 0, 0, 0, zeroblob(32), ?2)"
      " ON CONFLICT(id) DO UPDATE SET hist = excluded.hist";
  sqlite3_stmt *s = fsm_stmt(f, sql);
  if (!s) return DC_EDB;
  led_bind(s, r);
  int rc = fsm_step_done(f, s);
  const uint8_t *party[2] = {r->account, r->peer};
  for (int i = 0; i < 2 && !rc; i++) {
    if (!party[i] || (i == 1 && r->account &&
                      memcmp(r->account, r->peer, DC_PK_BYTES) == 0))
      continue;
    if (!(s = fsm_stmt(f, head))) return DC_EDB;
    sqlite3_bind_blob(s, 1, party[i], DC_PK_BYTES, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, (sqlite3_int64)(r->index * 65536 + r->sub));
    rc = fsm_step_done(f, s);
  }
  return rc;
}

int led_record(struct dc_fsm *f, const struct led_row *r) {
  static const char *sql =
      "INSERT INTO ledger_tx(id, hash, idx, sub, height, kind, account, peer,"
      " amount, ref) VALUES(?2 * 65536 + ?3, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";
  DC_ASSERT(r->sub < 65536);
  if (f->schema_version >= 5) return record_v5(f, r);
  sqlite3_stmt *s = fsm_stmt(f, sql);
  if (!s) return DC_EDB;
  led_bind(s, r);
  return fsm_step_done(f, s);
}

int led_seal_history(struct dc_fsm *f) {
  if (f->schema_version < 5) return DC_OK;
  /* One INSERT in rowid order appends to the table; the index entries of a
   * whole block go in together, so each index page they share is written
   * once per block, not once per commit. The DELETE without WHERE empties
   * the table page by page: its pages go to the free list and are reused. */
  return fsm_exec(f, "INSERT INTO ledger_tx_sealed SELECT * FROM"
                     " ledger_tx_recent ORDER BY id;"
                     "DELETE FROM ledger_tx_recent;");
}

void led_sys_hash(uint64_t index, uint32_t sub, const uint8_t *data,
                  size_t len, uint8_t out[DC_HASH_BYTES]) {
  struct dc_buf b = {0};
  /* Allocation failure here would be fatal anyway; hash what we have. */
  if (dc_buf_put_str(&b, "deepcloud/sys/v1") || dc_buf_put_u64(&b, index) ||
      dc_buf_put_u32(&b, sub) || dc_buf_append(&b, data, len)) {
    DC_ASSERT(!"out of memory hashing a system operation");
  }
  dc_hash(b.data, b.len, out);
  dc_buf_free(&b);
}
