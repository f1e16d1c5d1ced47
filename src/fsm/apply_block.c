/* SPDX-License-Identifier: Apache-2.0
 * Genesis and blocks. A block holds exactly the log entries applied since
 * the previous one, the seal command last, each with its outcome; its body
 * is copied out of the log (which compaction may discard) into block_cmds.
 * Block 0 holds every entry up to and including the genesis, so replaying
 * the blocks from 0 rebuilds the whole state (`ledger verify`). */
#include <inttypes.h>

#include "fsm/acct_int.h"

/* Closing a channel costs one hash per tick on every master: a chain longer
 * than this would let one transaction stall the log for seconds. */
#define CHANNEL_LEN_CAP 10000000u

struct pending {
  uint64_t *idx;
  int32_t *code;
  uint8_t **data;
  size_t *len;
  size_t n, cap;
};

static void pending_free(struct pending *p) {
  for (size_t i = 0; i < p->n; i++) dc_free(p->data[i]);
  dc_free(p->idx);
  dc_free(p->code);
  dc_free(p->data);
  dc_free(p->len);
}

static int pending_add(struct pending *p, uint64_t idx, int32_t code,
                       const void *data, size_t len) {
  if (p->n == p->cap) {
    size_t cap = p->cap ? 2 * p->cap : 64;
    uint64_t *a = dc_realloc(p->idx, cap * sizeof *a);
    if (a) p->idx = a;
    int32_t *b = dc_realloc(p->code, cap * sizeof *b);
    if (b) p->code = b;
    uint8_t **c = dc_realloc(p->data, cap * sizeof *c);
    if (c) p->data = c;
    size_t *d = dc_realloc(p->len, cap * sizeof *d);
    if (d) p->len = d;
    if (!a || !b || !c || !d) return DC_ENOMEM;
    p->cap = cap;
  }
  uint8_t *copy = dc_malloc(len ? len : 1);
  if (!copy) return DC_ENOMEM;
  if (len) memcpy(copy, data, len);
  p->idx[p->n] = idx;
  p->code[p->n] = code;
  p->data[p->n] = copy;
  p->len[p->n] = len;
  p->n++;
  return DC_OK;
}

/* Log entries after `after`, in order. zero_codes: block 0 commits to no
 * outcome (entries before the ledger existed have none recorded). */
static int pending_load(struct dc_fsm *f, uint64_t after, bool zero_codes,
                        struct pending *p) {
  static const char *sql =
      "SELECT idx, COALESCE(code, 0), data FROM log WHERE idx > ?1"
      " ORDER BY idx";
  sqlite3_stmt *s = fsm_stmt(f, sql);
  if (!s) return DC_EDB;
  sqlite3_bind_int64(s, 1, (sqlite3_int64)after);
  int rc;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    int err = pending_add(p, (uint64_t)sqlite3_column_int64(s, 0),
                          zero_codes ? 0 : sqlite3_column_int(s, 1),
                          sqlite3_column_blob(s, 2),
                          (size_t)sqlite3_column_bytes(s, 2));
    if (err) {
      sqlite3_reset(s);
      return err;
    }
  }
  return fsm_step_done(f, s);
}

static int block_store(struct dc_fsm *f, const struct dc_block_header *h,
                       const uint8_t hash[DC_HASH_BYTES],
                       const struct pending *p) {
  static const char *bsql =
      "INSERT INTO blocks(height, hash, prev, root, first_index, last_index,"
      " ncmds, proposer, time_ms) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";
  static const char *csql =
      "INSERT INTO block_cmds(height, pos, idx, code, data)"
      " VALUES(?1, ?2, ?3, ?4, ?5)";
  sqlite3_stmt *s = fsm_stmt(f, bsql);
  if (!s) return DC_EDB;
  sqlite3_bind_int64(s, 1, (sqlite3_int64)h->height);
  sqlite3_bind_blob(s, 2, hash, DC_HASH_BYTES, SQLITE_STATIC);
  sqlite3_bind_blob(s, 3, h->prev, DC_HASH_BYTES, SQLITE_STATIC);
  sqlite3_bind_blob(s, 4, h->root, DC_HASH_BYTES, SQLITE_STATIC);
  sqlite3_bind_int64(s, 5, (sqlite3_int64)h->first_index);
  sqlite3_bind_int64(s, 6, (sqlite3_int64)h->last_index);
  sqlite3_bind_int64(s, 7, h->ncmds);
  sqlite3_bind_blob(s, 8, h->proposer, DC_PK_BYTES, SQLITE_STATIC);
  sqlite3_bind_int64(s, 9, h->time_ms);
  int rc = fsm_step_done(f, s);
  for (size_t i = 0; i < p->n && !rc; i++) {
    if (!(s = fsm_stmt(f, csql))) return DC_EDB;
    sqlite3_bind_int64(s, 1, (sqlite3_int64)h->height);
    sqlite3_bind_int64(s, 2, (sqlite3_int64)i);
    sqlite3_bind_int64(s, 3, (sqlite3_int64)p->idx[i]);
    sqlite3_bind_int(s, 4, p->code[i]);
    sqlite3_bind_blob(s, 5, p->data[i], (int)p->len[i], SQLITE_STATIC);
    rc = fsm_step_done(f, s);
  }
  return rc;
}

/* Builds, stores and chains the block of p (the entry e last, accepted). */
static int seal(struct dc_fsm *f, struct led_state *st, struct pending *p,
                const uint8_t proposer[DC_PK_BYTES], int64_t time_ms,
                struct dc_fsm_result *res) {
  struct dc_block_header h = {.height = st->height, .time_ms = time_ms};
  memcpy(h.prev, st->tip, DC_HASH_BYTES);
  memcpy(h.proposer, proposer, DC_PK_BYTES);
  h.first_index = p->idx[0];
  h.last_index = p->idx[p->n - 1];
  h.ncmds = (uint32_t)p->n;
  uint8_t(*leaves)[DC_HASH_BYTES] = dc_malloc(p->n * DC_HASH_BYTES);
  if (!leaves) return DC_ENOMEM;
  for (size_t i = 0; i < p->n; i++)
    dc_block_leaf(p->idx[i], p->code[i], p->data[i], p->len[i], leaves[i]);
  dc_merkle_root(leaves, p->n, h.root);
  dc_free(leaves);
  uint8_t hash[DC_HASH_BYTES];
  dc_block_hash(&h, hash);
  int rc = block_store(f, &h, hash, p);
  if (!rc) rc = led_seal_history(f);
  if (rc) return rc;
  st->height++;
  st->sealed_index = h.last_index;
  memcpy(st->tip, hash, DC_HASH_BYTES);
  st->tip_time_ms = time_ms;
  dc_hex_encode(hash, DC_HASH_BYTES, res->ref);
  res->count = (uint32_t)h.height;
  snprintf(res->message, sizeof res->message, "block %" PRIu64 " sealed (%u commands)",
           h.height, h.ncmds);
  return led_state_store(f, st);
}

static int genesis_accounts(struct dc_fsm *f, const struct dc_sysop *op,
                            const struct dc_fsm_entry *e, uint64_t *minted,
                            struct dc_fsm_result *res) {
  uint64_t sum = 0;
  for (size_t i = 0; i < op->nallocs; i++) {
    const struct dc_alloc *al = &op->allocs[i];
    struct acct a;
    uint64_t both;
    int rc = acct_load(f, al->account, &a);
    if (rc) return rc;
    if (a.balance || a.staked)
      FSM_REJECT(res, DC_EINVAL, "allocation %zu repeats an account", i);
    if (!dc_amount_add(al->amount, al->stake, &both) || both == 0 ||
        !dc_amount_add(sum, both, &sum))
      FSM_REJECT(res, DC_EINVAL, "allocation %zu is zero or overflows the supply", i);
    a.balance = al->amount;
    a.staked = al->stake;
    if ((rc = acct_store(f, &a))) return rc;
    uint8_t h[DC_HASH_BYTES];
    led_sys_hash(e->index, (uint32_t)i, e->data, e->len, h);
    struct led_row r = {.hash = h, .index = e->index, .sub = (uint32_t)i,
                        .kind = "genesis", .account = al->account,
                        .amount = both};
    if ((rc = led_record(f, &r))) return rc;
  }
  *minted = sum;
  return DC_OK;
}

int fsm_ledger_genesis(struct dc_fsm *f, const struct dc_sysop *op,
                       const struct dc_cmd *c, const struct dc_fsm_entry *e,
                       struct led_state *st, struct dc_fsm_result *res) {
  const struct dc_ledger_params *pr = &op->params;
  if (st->exists) FSM_REJECT(res, DC_EEXISTS, "the ledger already has a genesis");
  if (pr->block_max == 0) FSM_REJECT(res, DC_EINVAL, "block_max must be positive");
  if (pr->channel_len_max == 0 || pr->channel_len_max > CHANNEL_LEN_CAP)
    FSM_REJECT(res, DC_EINVAL, "channel_len_max must be in 1..%u", CHANNEL_LEN_CAP);
  if (pr->min_stake > DC_AMOUNT_MAX)
    FSM_REJECT(res, DC_EINVAL, "min_stake over the supply cap");
  int rc = genesis_accounts(f, op, e, &st->minted, res);
  if (rc || res->code) return rc;
  st->exists = true;
  snprintf(st->chain_id, sizeof st->chain_id, "%s", op->chain_id);
  st->params = *pr;
  st->height = 0;
  struct pending p = {0};
  rc = pending_load(f, 0, true, &p);
  if (!rc) rc = pending_add(&p, e->index, 0, e->data, e->len);
  static const uint8_t none[DC_PK_BYTES];
  if (!rc) rc = seal(f, st, &p, none, c->ts_ms, res);
  pending_free(&p);
  return rc;
}

int fsm_ledger_seal(struct dc_fsm *f, const struct dc_sysop *op,
                    const struct dc_cmd *c, const struct dc_fsm_entry *e,
                    struct led_state *st, struct dc_fsm_result *res) {
  if (c->ts_ms < st->tip_time_ms)
    FSM_REJECT(res, DC_EINVAL, "seal time %" PRId64 " is before block %" PRIu64
               "'s %" PRId64, c->ts_ms, st->height - 1, st->tip_time_ms);
  struct pending p = {0};
  int rc = pending_load(f, st->sealed_index, false, &p);
  /* Nothing applied since the last seal (indexes alone cannot tell: a
   * replicated log numbers entries of its own too). */
  if (!rc && p.n == 0) {
    pending_free(&p);
    FSM_REJECT(res, DC_ECONFLICT, "nothing to seal since block %" PRIu64,
               st->height - 1);
  }
  if (!rc) rc = pending_add(&p, e->index, 0, e->data, e->len);
  if (!rc) rc = seal(f, st, &p, op->account, c->ts_ms, res);
  pending_free(&p);
  return rc;
}
