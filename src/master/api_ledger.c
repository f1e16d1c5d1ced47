/* SPDX-License-Identifier: Apache-2.0
 * Ledger routes: accounts and their history, transactions, blocks, the
 * ledger summary, and the dev faucet (submission: api_tx.c). Writes are
 * answered once applied. */
#include <inttypes.h>
#include <stdlib.h>

#include "master/api_int.h"

#define DEV_FAUCET_DEFAULT (1000ULL * DC_MICRO_PER_DEEP)
#define DEV_FAUCET_MAX (1000000ULL * DC_MICRO_PER_DEEP)

bool api_need_ledger(struct dc_master *m, struct dc_httpd_req *r) {
  if (!m->ledger.ready) master_ledger_refresh(m);
  if (m->ledger.ready) return true;
  dc_httpd_respond_error(r, 503, "NOTFOUND",
                         "the ledger has no genesis yet (start the master with "
                         "--dev, or propose a genesis)");
  return false;
}

static json_t *hexj(const void *p, size_t n) {
  char buf[2 * 64 + 1];
  if (!p || n > 64) return json_null();
  dc_hex_encode(p, n, buf);
  return json_string(buf);
}

static json_t *blob_hexj(sqlite3_stmt *s, int col) {
  return hexj(sqlite3_column_blob(s, col), (size_t)sqlite3_column_bytes(s, col));
}

/* ---- reads --------------------------------------------------------------------- */

void api_ledger_show(struct dc_master *m, struct dc_httpd_req *r) {
  if (!api_need_ledger(m, r)) return;
  sqlite3_stmt *s = NULL;
  sqlite3_prepare_v2(m->rdb,
                     "SELECT chain_id, unbonding_blocks, min_stake, block_max,"
                     " channel_len_max, channel_timeout_min, minted, burned,"
                     " height, tip, tip_time_ms FROM ledger WHERE id = 1",
                     -1, &s, NULL);
  if (sqlite3_step(s) != SQLITE_ROW) {
    sqlite3_finalize(s);
    dc_httpd_respond_error(r, 503, "NOTFOUND", "no ledger");
    return;
  }
  json_t *j = json_pack(
      "{s:s, s:{s:I, s:I, s:I, s:I, s:I}, s:I, s:I, s:I, s:I, s:o, s:I}",
      "chain_id", (const char *)sqlite3_column_text(s, 0), "params",
      "unbonding_blocks", (json_int_t)sqlite3_column_int64(s, 1), "min_stake",
      (json_int_t)sqlite3_column_int64(s, 2), "block_max",
      (json_int_t)sqlite3_column_int64(s, 3), "channel_len_max",
      (json_int_t)sqlite3_column_int64(s, 4), "channel_timeout_min",
      (json_int_t)sqlite3_column_int64(s, 5), "minted",
      (json_int_t)sqlite3_column_int64(s, 6), "burned",
      (json_int_t)sqlite3_column_int64(s, 7), "supply",
      (json_int_t)(sqlite3_column_int64(s, 6) - sqlite3_column_int64(s, 7)),
      "height", (json_int_t)sqlite3_column_int64(s, 8), "tip",
      blob_hexj(s, 9), "tip_time_ms", (json_int_t)sqlite3_column_int64(s, 10));
  sqlite3_finalize(s);
  api_reply_json(r, 200, j);
}

static bool parse_key(struct dc_httpd_req *r, const char *hex,
                      uint8_t out[DC_PK_BYTES], const char *what) {
  if (strlen(hex) == DC_PK_HEX_LEN && !dc_hex_decode(hex, out, DC_PK_BYTES))
    return true;
  dc_httpd_respond_error(r, 400, "INVAL", "%s must be 64 hex characters", what);
  return false;
}

void api_account_show(struct dc_master *m, struct dc_httpd_req *r,
                      const char *id) {
  uint8_t pk[DC_PK_BYTES];
  if (!parse_key(r, id, pk, "the account id") || !api_need_ledger(m, r)) return;
  sqlite3_stmt *s = NULL;
  sqlite3_prepare_v2(m->rdb,
                     "SELECT balance, staked, unbonding, locked, nonce, head"
                     " FROM accounts WHERE id = ?1",
                     -1, &s, NULL);
  sqlite3_bind_blob(s, 1, pk, DC_PK_BYTES, SQLITE_STATIC);
  bool found = sqlite3_step(s) == SQLITE_ROW;
  static const uint8_t zero[DC_HASH_BYTES];
  /* A key the ledger has never seen is an empty account, not an error:
   * `wallet balance` on a fresh key works. */
  json_t *j = json_pack(
      "{s:s, s:b, s:I, s:I, s:I, s:I, s:I, s:o, s:s}", "id", id, "exists",
      found, "balance", (json_int_t)(found ? sqlite3_column_int64(s, 0) : 0),
      "staked", (json_int_t)(found ? sqlite3_column_int64(s, 1) : 0),
      "unbonding", (json_int_t)(found ? sqlite3_column_int64(s, 2) : 0),
      "locked", (json_int_t)(found ? sqlite3_column_int64(s, 3) : 0), "nonce",
      (json_int_t)(found ? sqlite3_column_int64(s, 4) : 0), "head",
      found ? blob_hexj(s, 5) : hexj(zero, DC_HASH_BYTES), "chain_id",
      m->ledger.chain_id);
  sqlite3_finalize(s);
  json_t *ub = json_array();
  sqlite3_prepare_v2(m->rdb,
                     "SELECT release_height, amount FROM unbonding WHERE"
                     " account = ?1 ORDER BY release_height, seq",
                     -1, &s, NULL);
  sqlite3_bind_blob(s, 1, pk, DC_PK_BYTES, SQLITE_STATIC);
  while (sqlite3_step(s) == SQLITE_ROW)
    json_array_append_new(ub, json_pack("{s:I, s:I}", "release_height",
                                        (json_int_t)sqlite3_column_int64(s, 0),
                                        "amount",
                                        (json_int_t)sqlite3_column_int64(s, 1)));
  sqlite3_finalize(s);
  json_object_set_new(j, "unbonding_entries", ub);
  api_reply_json(r, 200, j);
}

#define TX_COLS "hash, idx, sub, height, kind, account, peer, amount, ref"

static json_t *txrow_json(sqlite3_stmt *s) {
  json_t *j = json_pack("{s:o, s:I, s:I, s:I, s:s, s:o, s:o, s:I}", "hash",
                        blob_hexj(s, 0), "index",
                        (json_int_t)sqlite3_column_int64(s, 1), "sub",
                        (json_int_t)sqlite3_column_int64(s, 2), "block",
                        (json_int_t)sqlite3_column_int64(s, 3), "kind",
                        (const char *)sqlite3_column_text(s, 4), "account",
                        blob_hexj(s, 5), "peer", blob_hexj(s, 6), "amount",
                        (json_int_t)sqlite3_column_int64(s, 7));
  json_object_set_new(j, "ref", sqlite3_column_type(s, 8) == SQLITE_NULL
                                    ? json_null()
                                    : json_string((const char *)
                                                      sqlite3_column_text(s, 8)));
  return j;
}

void api_account_history(struct dc_master *m, struct dc_httpd_req *r,
                         const char *id) {
  uint8_t pk[DC_PK_BYTES];
  if (!parse_key(r, id, pk, "the account id") || !api_need_ledger(m, r)) return;
  const char *lim = dc_httpd_req_query(r, "limit");
  long limit = lim ? strtol(lim, NULL, 10) : 100;
  if (limit <= 0 || limit > 1000) limit = 100;
  int64_t ids[1000];
  size_t n = 0;
  json_t *arr = json_array();
  sqlite3_stmt *s = NULL;
  sqlite3_prepare_v2(m->rdb, "SELECT " TX_COLS " FROM ledger_tx WHERE id = ?1",
                     -1, &s, NULL);
  if (dc_fsm_history(m->rdb, pk, (size_t)limit, ids, &n)) n = 0;
  for (size_t i = 0; i < n; i++) {
    sqlite3_bind_int64(s, 1, ids[i]);
    if (sqlite3_step(s) == SQLITE_ROW) json_array_append_new(arr, txrow_json(s));
    sqlite3_reset(s);
  }
  sqlite3_finalize(s);
  api_reply_json(r, 200, json_pack("{s:s, s:o}", "account", id, "history", arr));
}

void api_tx_show(struct dc_master *m, struct dc_httpd_req *r, const char *id) {
  uint8_t h[DC_HASH_BYTES];
  if (!parse_key(r, id, h, "the transaction hash") || !api_need_ledger(m, r)) return;
  sqlite3_stmt *s = NULL;
  sqlite3_prepare_v2(m->rdb,
                     "SELECT " TX_COLS ", COALESCE((SELECT data FROM log l WHERE"
                     " l.idx = t.idx), (SELECT data FROM block_cmds c WHERE"
                     " c.idx = t.idx)), (SELECT height FROM ledger) > height"
                     " FROM ledger_tx t WHERE substr(hash, 1, 8) = substr(?1, 1, 8)"
                     " AND hash = ?1", /* the index holds the prefix */
                     -1, &s, NULL);
  sqlite3_bind_blob(s, 1, h, DC_HASH_BYTES, SQLITE_STATIC);
  if (sqlite3_step(s) != SQLITE_ROW) {
    sqlite3_finalize(s);
    dc_httpd_respond_error(r, 404, "NOTFOUND",
                           "no applied transaction %s (refused transactions are "
                           "not kept: their error was the answer to POST)", id);
    return;
  }
  json_t *j = txrow_json(s);
  json_object_set_new(j, "sealed", json_boolean(sqlite3_column_int(s, 10)));
  const void *d = sqlite3_column_blob(s, 9);
  size_t n = (size_t)sqlite3_column_bytes(s, 9);
  char *hex = dc_malloc(2 * n + 1);
  if (hex) {
    dc_hex_encode(d, n, hex);
    json_object_set_new(j, "data", json_string(hex));
    dc_free(hex);
  }
  sqlite3_finalize(s);
  api_reply_json(r, 200, j);
}

#define BLOCK_COLS \
  "height, hash, prev, root, first_index, last_index, ncmds, proposer, time_ms"

static json_t *block_json(sqlite3_stmt *s) {
  return json_pack("{s:I, s:o, s:o, s:o, s:I, s:I, s:I, s:o, s:I}", "height",
                   (json_int_t)sqlite3_column_int64(s, 0), "hash",
                   blob_hexj(s, 1), "prev", blob_hexj(s, 2), "root",
                   blob_hexj(s, 3), "first_index",
                   (json_int_t)sqlite3_column_int64(s, 4), "last_index",
                   (json_int_t)sqlite3_column_int64(s, 5), "ncmds",
                   (json_int_t)sqlite3_column_int64(s, 6), "proposer",
                   blob_hexj(s, 7), "time_ms",
                   (json_int_t)sqlite3_column_int64(s, 8));
}

void api_blocks_list(struct dc_master *m, struct dc_httpd_req *r) {
  if (!api_need_ledger(m, r)) return;
  const char *lim = dc_httpd_req_query(r, "limit");
  const char *before = dc_httpd_req_query(r, "before");
  long limit = lim ? strtol(lim, NULL, 10) : 20;
  if (limit <= 0 || limit > 1000) limit = 20;
  sqlite3_stmt *s = NULL;
  sqlite3_prepare_v2(m->rdb,
                     "SELECT " BLOCK_COLS " FROM blocks WHERE ?1 IS NULL OR"
                     " height < ?1 ORDER BY height DESC LIMIT ?2",
                     -1, &s, NULL);
  if (before) sqlite3_bind_int64(s, 1, strtoll(before, NULL, 10));
  sqlite3_bind_int64(s, 2, limit);
  json_t *arr = json_array();
  while (sqlite3_step(s) == SQLITE_ROW) json_array_append_new(arr, block_json(s));
  sqlite3_finalize(s);
  api_reply_json(r, 200, json_pack("{s:o}", "blocks", arr));
}

void api_block_show(struct dc_master *m, struct dc_httpd_req *r,
                    const char *id) {
  char *end = NULL;
  long long h = strtoll(id, &end, 10);
  if (!end || *end || h < 0) {
    dc_httpd_respond_error(r, 400, "INVAL", "a block is named by its height");
    return;
  }
  if (!api_need_ledger(m, r)) return;
  sqlite3_stmt *s = NULL;
  sqlite3_prepare_v2(m->rdb, "SELECT " BLOCK_COLS " FROM blocks WHERE height = ?1",
                     -1, &s, NULL);
  sqlite3_bind_int64(s, 1, h);
  if (sqlite3_step(s) != SQLITE_ROW) {
    sqlite3_finalize(s);
    dc_httpd_respond_error(r, 404, "NOTFOUND", "no block %lld", h);
    return;
  }
  json_t *j = block_json(s);
  sqlite3_finalize(s);
  json_t *cmds = json_array();
  sqlite3_prepare_v2(m->rdb,
                     "SELECT c.idx, c.code, l.type, (SELECT hex(t.hash) FROM"
                     " ledger_tx t WHERE t.id = c.idx * 65536) FROM"
                     " block_cmds c LEFT JOIN log l ON l.idx = c.idx WHERE"
                     " c.height = ?1 ORDER BY c.pos",
                     -1, &s, NULL);
  sqlite3_bind_int64(s, 1, h);
  while (sqlite3_step(s) == SQLITE_ROW) {
    json_t *c = json_pack("{s:I, s:s, s:s}", "index",
                          (json_int_t)sqlite3_column_int64(s, 0), "result",
                          sqlite3_column_int(s, 1) ? dc_err_name(sqlite3_column_int(s, 1)) : "OK",
                          "type", dc_cmd_type_name((uint16_t)sqlite3_column_int(s, 2)));
    if (sqlite3_column_type(s, 3) != SQLITE_NULL) {
      char lower[65];
      snprintf(lower, sizeof lower, "%s", sqlite3_column_text(s, 3));
      for (char *p = lower; *p; p++) *p = (char)(*p >= 'A' && *p <= 'F' ? *p + 32 : *p);
      json_object_set_new(c, "tx", json_string(lower));
    }
    json_array_append_new(cmds, c);
  }
  sqlite3_finalize(s);
  json_object_set_new(j, "commands", cmds);
  api_reply_json(r, 200, j);
}

/* ---- dev faucet ------------------------------------------------------------------
 * Transfers from the faucet (the master's own account in dev). Nonces and
 * heads are pipelined in memory so requests need not wait for each other;
 * after a refusal the chain is read back once nothing is in flight. */

struct faucet_req {
  struct dc_httpd_req *r;
  uint64_t amount;
};

static void on_faucet(struct dc_master *m, const struct dc_fsm_result *res,
                      void *ud) {
  struct faucet_req *f = ud;
  m->ledger.faucet_inflight--;
  if (res->code != DC_OK) {
    m->ledger.faucet_synced = false;
    dc_httpd_respond_error(f->r, api_status_for(res->code),
                           dc_err_name(res->code), "faucet: %s", res->message);
  } else {
    api_reply_json(f->r, 200, json_pack("{s:s, s:I}", "hash", res->ref,
                                        "amount", (json_int_t)f->amount));
  }
  dc_free(f);
}

static bool faucet_sync(struct dc_master *m) {
  if (m->ledger.faucet_synced) return true;
  if (m->ledger.faucet_inflight) return false;
  sqlite3_stmt *s = NULL;
  sqlite3_prepare_v2(m->rdb, "SELECT nonce, head FROM accounts WHERE id = ?1",
                     -1, &s, NULL);
  sqlite3_bind_blob(s, 1, m->id.pk, DC_PK_BYTES, SQLITE_STATIC);
  memset(m->ledger.faucet_head, 0, DC_HASH_BYTES);
  m->ledger.faucet_nonce = 0;
  if (sqlite3_step(s) == SQLITE_ROW) {
    m->ledger.faucet_nonce = (uint64_t)sqlite3_column_int64(s, 0);
    if (sqlite3_column_bytes(s, 1) == DC_HASH_BYTES)
      memcpy(m->ledger.faucet_head, sqlite3_column_blob(s, 1), DC_HASH_BYTES);
  }
  sqlite3_finalize(s);
  m->ledger.faucet_synced = true;
  return true;
}

void api_faucet(struct dc_master *m, struct dc_httpd_req *r) {
  if (!m->cfg.dev) {
    dc_httpd_respond_error(r, 404, "NOTFOUND",
                           "the faucet exists only on a dev cloud");
    return;
  }
  if (!api_need_ledger(m, r)) return;
  size_t blen = 0;
  const uint8_t *body = dc_httpd_req_body(r, &blen);
  json_t *j = json_loadb((const char *)body, blen, 0, NULL);
  const char *acct = j ? json_string_value(json_object_get(j, "account")) : NULL;
  json_t *amt = j ? json_object_get(j, "amount") : NULL;
  json_int_t a = amt ? json_integer_value(amt) : (json_int_t)DEV_FAUCET_DEFAULT;
  bool amt_ok = !amt || json_is_integer(amt);
  struct dc_tx tx = {.version = DC_TX_VERSION, .kind = DC_TX_TRANSFER};
  if (!acct || !parse_key(r, acct, tx.peer, "account")) {
    if (!acct)
      dc_httpd_respond_error(r, 400, "INVAL",
                             "send {\"account\": \"<64 hex>\", \"amount\": "
                             "<micro-DEEP, optional>}");
    json_decref(j);
    return;
  }
  json_decref(j);
  if (!amt_ok || a <= 0 || (uint64_t)a > DEV_FAUCET_MAX) {
    dc_httpd_respond_error(r, 400, "INVAL",
                           "amount is an integer of micro-DEEP in 1..%llu",
                           (unsigned long long)DEV_FAUCET_MAX);
    return;
  }
  if (!faucet_sync(m)) {
    dc_httpd_respond_error(r, 503, "AGAIN", "the faucet is resynchronising; "
                                            "retry in a moment");
    return;
  }
  memcpy(tx.account, m->id.pk, DC_PK_BYTES);
  tx.nonce = m->ledger.faucet_nonce + 1;
  memcpy(tx.prev, m->ledger.faucet_head, DC_HASH_BYTES);
  tx.amount = (uint64_t)a;
  struct dc_buf b = {0};
  struct faucet_req *f = dc_calloc(1, sizeof *f);
  int rc = f ? dc_tx_sign(&tx, m->ledger.chain_id, &m->id) : DC_ENOMEM;
  if (!rc) rc = dc_tx_encode(&tx, &b);
  if (!rc) {
    struct dc_cmd c = {.type = DC_CMD_TX};
    c.u.blob.data = b.data;
    c.u.blob.len = b.len;
    f->r = r;
    f->amount = tx.amount;
    rc = master_propose(m, &c, on_faucet, f);
  }
  dc_buf_free(&b);
  if (rc) {
    dc_free(f);
    dc_httpd_respond_error(r, api_status_for(rc), dc_err_name(rc),
                           "faucet: %s", dc_strerror(rc));
    return;
  }
  m->ledger.faucet_inflight++;
  m->ledger.faucet_nonce = tx.nonce;
  dc_tx_hash(&tx, m->ledger.faucet_head);
}

/* ---- GET /v1/jobs/{id}/bill --------------------------------------------------
 * The job's escrow and every ledger line that moved its money, in log
 * order: the bill is the ledger, line by line. */
void api_job_bill(struct dc_master *m, struct dc_httpd_req *r, const char *id) {
  if (!api_need_ledger(m, r)) return;
  sqlite3_stmt *s = NULL;
  sqlite3_prepare_v2(m->rdb,
                     "SELECT owner, locked, available, reserved, paid, refunded,"
                     " state FROM escrows WHERE job_id = ?1",
                     -1, &s, NULL);
  sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
  if (sqlite3_step(s) != SQLITE_ROW) {
    sqlite3_finalize(s);
    dc_httpd_respond_error(r, 404, "NOTFOUND",
                           "job %s has no escrow (unknown, or submitted with "
                           "budget 0: unpaid)", id);
    return;
  }
  json_t *j = json_pack("{s:s, s:o, s:I, s:I, s:I, s:I, s:I, s:s}", "job_id", id,
                        "owner", blob_hexj(s, 0), "budget",
                        (json_int_t)sqlite3_column_int64(s, 1), "available",
                        (json_int_t)sqlite3_column_int64(s, 2), "reserved",
                        (json_int_t)sqlite3_column_int64(s, 3), "paid",
                        (json_int_t)sqlite3_column_int64(s, 4), "refunded",
                        (json_int_t)sqlite3_column_int64(s, 5), "state",
                        (const char *)sqlite3_column_text(s, 6));
  sqlite3_finalize(s);
  json_t *lines = json_array();
  sqlite3_prepare_v2(m->rdb,
                     "SELECT " TX_COLS " FROM ledger_tx WHERE ref = ?1 UNION"
                     " SELECT " TX_COLS " FROM ledger_tx WHERE ref IN (SELECT id"
                     " FROM tasks WHERE job_id = ?1) ORDER BY 2, 3",
                     -1, &s, NULL);
  sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
  while (sqlite3_step(s) == SQLITE_ROW) json_array_append_new(lines, txrow_json(s));
  sqlite3_finalize(s);
  json_object_set_new(j, "lines", lines);
  api_reply_json(r, 200, j);
}

/* ---- POST /v1/channels/{id}/ticks -----------------------------------------
 * Relays consecutive PayWord ticks to the payee's provider session, with the
 * channel's anchor and length from the ledger. Nothing is stored here: the
 * ticks authenticate themselves (a hash chain to the anchor), the provider
 * checks each and keeps the highest, and only its close reaches the log. */
void api_channel_ticks(struct dc_master *m, struct dc_httpd_req *r,
                       const char *id) {
  uint8_t ch[DC_HASH_BYTES];
  if (!parse_key(r, id, ch, "the channel id") || !api_need_ledger(m, r)) return;
  sqlite3_stmt *s = NULL;
  sqlite3_prepare_v2(m->rdb,
                     "SELECT payee, anchor, length, state FROM channels WHERE id = ?1",
                     -1, &s, NULL);
  sqlite3_bind_blob(s, 1, ch, DC_HASH_BYTES, SQLITE_STATIC);
  if (sqlite3_step(s) != SQLITE_ROW) {
    sqlite3_finalize(s);
    dc_httpd_respond_error(r, 404, "NOTFOUND", "no channel %s", id);
    return;
  }
  struct dc_msg msg = {.type = DC_MSG_TICKS};
  struct dc_msg_ticks *t = &msg.u.ticks;
  char payee[2 * DC_PK_BYTES + 1];
  dc_hex_encode(sqlite3_column_blob(s, 0), DC_PK_BYTES, payee);
  memcpy(t->anchor, sqlite3_column_blob(s, 1), DC_HASH_BYTES);
  t->length = (uint32_t)sqlite3_column_int64(s, 2);
  bool open = strcmp((const char *)sqlite3_column_text(s, 3), "open") == 0;
  sqlite3_finalize(s);
  memcpy(t->channel, ch, DC_HASH_BYTES);
  if (!open) {
    dc_httpd_respond_error(r, 409, "CONFLICT", "channel %.16s… is closed", id);
    return;
  }
  size_t blen = 0;
  const uint8_t *body = dc_httpd_req_body(r, &blen);
  json_t *j = json_loadb((const char *)body, blen, 0, NULL);
  json_t *words = j ? json_object_get(j, "words") : NULL;
  json_int_t from = j ? json_integer_value(json_object_get(j, "from")) : 0;
  size_t n = json_array_size(words);
  if (!json_is_array(words) || n == 0 || n > DC_TICKS_MAX || from < 1 ||
      (uint64_t)from + n - 1 > t->length) {
    json_decref(j);
    dc_httpd_respond_error(r, 400, "INVAL",
                           "send {\"from\": i, \"words\": [\"<hex w_i>\", "
                           "\"<hex w_i+1>\", …]} with 1..%d ticks within the "
                           "chain's %u", DC_TICKS_MAX, t->length);
    return;
  }
  t->ticks = dc_calloc(n, sizeof *t->ticks);
  int rc = t->ticks ? DC_OK : DC_ENOMEM;
  for (size_t i = 0; i < n && !rc; i++) {
    const char *w = json_string_value(json_array_get(words, i));
    t->ticks[i].index = (uint32_t)(from + (json_int_t)i);
    if (!w || strlen(w) != 2 * DC_HASH_BYTES ||
        dc_hex_decode(w, t->ticks[i].word, DC_HASH_BYTES))
      rc = DC_EINVAL;
  }
  t->n = n;
  json_decref(j);
  struct session *ss = rc ? NULL : master_session_find(m, payee);
  if (rc) {
    dc_httpd_respond_error(r, 400, dc_err_name(rc), "each word is 64 hex characters");
  } else if (!ss || !ss->registered) {
    dc_httpd_respond_error(r, 409, "CONFLICT",
                           "the payee %.16s… has no session with this master", payee);
  } else if ((rc = master_session_send(ss, &msg))) {
    dc_httpd_respond_error(r, 503, dc_err_name(rc), "could not relay the ticks");
  } else {
    api_reply_json(r, 202, json_pack("{s:I, s:I}", "relayed", (json_int_t)n,
                                     "highest", (json_int_t)(from + (json_int_t)n - 1)));
  }
  dc_free(t->ticks);
}
