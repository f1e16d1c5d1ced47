/* SPDX-License-Identifier: Apache-2.0
 * Re-checking a chain: `ledger verify` — every block's hash chain and Merkle root recomputed
 * from its stored body, every transaction signature checked, and every
 * block replayed through a fresh FSM whose outcomes, block hashes and final
 * state must match. The first discrepancy is reported with its height. */
#include <inttypes.h>
#include <sodium.h>

#include "fsm/acct_int.h"

static bool table_exists(sqlite3 *db, const char *name) {
  sqlite3_stmt *s = NULL;
  bool yes = false;
  if (sqlite3_prepare_v2(db,
                         "SELECT 1 FROM sqlite_master WHERE type = 'table'"
                         " AND name = ?1",
                         -1, &s, NULL) == SQLITE_OK) {
    sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
    yes = sqlite3_step(s) == SQLITE_ROW;
  }
  sqlite3_finalize(s);
  return yes;
}

/* ---- verify ---------------------------------------------------------------- */

struct vctx {
  sqlite3 *src;
  struct dc_fsm *fresh;
  char chain_id[DC_CHAIN_ID_MAX + 1];
  bool replay;              /* also re-apply into `fresh` and compare */
  struct dc_fsm_verify_report *rep;
};

#define FAIL(v, h, ...)                                                      \
  do {                                                                       \
    (v)->rep->ok = false;                                                    \
    (v)->rep->bad_height = (int64_t)(h);                                     \
    snprintf((v)->rep->message, sizeof (v)->rep->message, __VA_ARGS__);      \
    return DC_OK;                                                            \
  } while (0)

struct vblock {
  struct dc_block_header h;
  uint8_t hash[DC_HASH_BYTES];
};

static int load_header(sqlite3 *db, uint64_t height, struct vblock *b,
                       bool *found) {
  sqlite3_stmt *s = NULL;
  if (sqlite3_prepare_v2(db,
                         "SELECT hash, prev, root, first_index, last_index,"
                         " ncmds, proposer, time_ms FROM blocks"
                         " WHERE height = ?1",
                         -1, &s, NULL) != SQLITE_OK)
    return DC_EDB;
  sqlite3_bind_int64(s, 1, (sqlite3_int64)height);
  *found = sqlite3_step(s) == SQLITE_ROW;
  if (*found) {
    memset(b, 0, sizeof *b);
    b->h.height = height;
    if (sqlite3_column_bytes(s, 0) == DC_HASH_BYTES)
      memcpy(b->hash, sqlite3_column_blob(s, 0), DC_HASH_BYTES);
    if (sqlite3_column_bytes(s, 1) == DC_HASH_BYTES)
      memcpy(b->h.prev, sqlite3_column_blob(s, 1), DC_HASH_BYTES);
    if (sqlite3_column_bytes(s, 2) == DC_HASH_BYTES)
      memcpy(b->h.root, sqlite3_column_blob(s, 2), DC_HASH_BYTES);
    b->h.first_index = (uint64_t)sqlite3_column_int64(s, 3);
    b->h.last_index = (uint64_t)sqlite3_column_int64(s, 4);
    b->h.ncmds = (uint32_t)sqlite3_column_int64(s, 5);
    if (sqlite3_column_bytes(s, 6) == DC_PK_BYTES)
      memcpy(b->h.proposer, sqlite3_column_blob(s, 6), DC_PK_BYTES);
    b->h.time_ms = sqlite3_column_int64(s, 7);
  }
  sqlite3_finalize(s);
  return DC_OK;
}

/* A signed transaction inside a command: its signature must hold. */
static bool tx_sig_ok(const struct vctx *v, const uint8_t *p, size_t n,
                      bool *is_tx) {
  struct dc_cmd c;
  *is_tx = false;
  if (dc_cmd_decode(p, n, &c)) return true; /* garbage: the FSM rejected it */
  bool ok = true;
  if (c.type == DC_CMD_TX) {
    struct dc_tx tx;
    *is_tx = true;
    if (!dc_tx_decode(c.u.blob.data, c.u.blob.len, &tx))
      ok = dc_tx_verify(&tx, v->chain_id) == DC_OK;
  }
  dc_cmd_free(&c);
  return ok;
}

#define VERIFY_BATCH 256

static int verify_block(struct vctx *v, const struct vblock *b,
                        const uint8_t prev[DC_HASH_BYTES]) {
  uint64_t h = b->h.height;
  if (memcmp(b->h.prev, prev, DC_HASH_BYTES) != 0)
    FAIL(v, h, "block %" PRIu64 ": prev hash does not match block %" PRId64, h,
         (int64_t)h - 1);
  uint8_t want[DC_HASH_BYTES];
  dc_block_hash(&b->h, want);
  if (memcmp(want, b->hash, DC_HASH_BYTES) != 0)
    FAIL(v, h, "block %" PRIu64 ": header hash mismatch", h);

  sqlite3_stmt *s = NULL;
  if (sqlite3_prepare_v2(v->src,
                         "SELECT idx, code, data FROM block_cmds"
                         " WHERE height = ?1 ORDER BY pos",
                         -1, &s, NULL) != SQLITE_OK)
    return DC_EDB;
  sqlite3_bind_int64(s, 1, (sqlite3_int64)h);
  uint8_t(*leaves)[DC_HASH_BYTES] = dc_malloc((b->h.ncmds + 1) * DC_HASH_BYTES);
  struct dc_fsm_entry *ents = dc_calloc(VERIFY_BATCH, sizeof *ents);
  uint8_t **copies = dc_calloc(VERIFY_BATCH, sizeof *copies);
  int32_t *codes = dc_calloc(VERIFY_BATCH, sizeof *codes);
  struct dc_fsm_result *res = dc_calloc(VERIFY_BATCH, sizeof *res);
  int rc = (!leaves || !ents || !copies || !codes || !res) ? DC_ENOMEM : DC_OK;
  size_t n = 0, nb = 0;
  uint64_t expect_idx = b->h.first_index;
  char msg[192] = "";
  while (!rc && !msg[0] && sqlite3_step(s) == SQLITE_ROW) {
    uint64_t idx = (uint64_t)sqlite3_column_int64(s, 0);
    int32_t code = sqlite3_column_int(s, 1);
    const uint8_t *p = sqlite3_column_blob(s, 2);
    size_t len = (size_t)sqlite3_column_bytes(s, 2);
    bool is_tx;
    /* Indexes rise strictly from first_index to last_index; they need not
     * be contiguous: a replicated log has entries of its own (raft's
     * configuration changes and barriers) that are not commands. */
    if (n >= b->h.ncmds || idx < expect_idx || idx > b->h.last_index ||
        (n == 0 && idx != b->h.first_index)) {
      snprintf(msg, sizeof msg, "block %" PRIu64 ": body does not match its "
               "header (entry %" PRIu64 ")", h, idx);
      break;
    }
    expect_idx = idx + 1;
    dc_block_leaf(idx, code, p, len, leaves[n++]);
    if (!tx_sig_ok(v, p, len, &is_tx)) {
      snprintf(msg, sizeof msg, "block %" PRIu64 ": bad signature on the "
               "transaction at log index %" PRIu64, h, idx);
      break;
    }
    copies[nb] = dc_malloc(len ? len : 1);
    if (!copies[nb]) { rc = DC_ENOMEM; break; }
    if (len) memcpy(copies[nb], p, len);
    ents[nb] = (struct dc_fsm_entry){idx, copies[nb], len};
    codes[nb] = code;
    nb++;
    if (!v->replay) {
      DC_FREE(copies[0]);
      nb = 0;
      continue;
    }
    if (nb == VERIFY_BATCH || n == b->h.ncmds) {
      struct dc_errmsg err;
      if (dc_fsm_apply_batch(v->fresh, ents, nb, res, &err)) {
        rc = DC_EDB;
        snprintf(v->rep->message, sizeof v->rep->message, "%s", err.text);
      }
      /* Block 0 commits to no outcomes (see apply_block.c). */
      for (size_t i = 0; i < nb && !rc && !msg[0] && h > 0; i++)
        if (res[i].code != codes[i])
          snprintf(msg, sizeof msg, "block %" PRIu64 ": log index %" PRIu64
                   " replays as %s, the chain says %s", h, ents[i].index,
                   dc_err_name(res[i].code), dc_err_name(codes[i]));
      for (size_t i = 0; i < nb; i++) DC_FREE(copies[i]);
      nb = 0;
    }
  }
  for (size_t i = 0; i < nb; i++) dc_free(copies[i]);
  sqlite3_finalize(s);
  if (!rc && !msg[0] && n != b->h.ncmds)
    snprintf(msg, sizeof msg, "block %" PRIu64 ": %zu commands stored, header "
             "says %u", h, n, b->h.ncmds);
  if (!rc && !msg[0] && n && expect_idx != b->h.last_index + 1)
    snprintf(msg, sizeof msg, "block %" PRIu64 ": body ends before its header's "
             "last index %" PRIu64, h, b->h.last_index);
  uint8_t root[DC_HASH_BYTES];
  if (!rc && !msg[0]) {
    dc_merkle_root(leaves, n, root);
    if (memcmp(root, b->h.root, DC_HASH_BYTES) != 0)
      snprintf(msg, sizeof msg, "block %" PRIu64 ": Merkle root mismatch (a "
               "stored command was altered)", h);
  }
  dc_free(leaves);
  dc_free(ents);
  dc_free(copies);
  dc_free(codes);
  dc_free(res);
  if (rc) return rc;
  if (msg[0]) FAIL(v, h, "%s", msg);

  if (!v->replay) return DC_OK;
  /* The replayed FSM must have sealed the very same block. */
  struct vblock mine;
  bool found;
  if ((rc = load_header(dc_fsm_db(v->fresh), h, &mine, &found))) return rc;
  if (!found || memcmp(mine.hash, b->hash, DC_HASH_BYTES) != 0)
    FAIL(v, h, "block %" PRIu64 ": replay produces a different block", h);
  return DC_OK;
}

static int count_txs(sqlite3 *db, uint64_t *out) {
  sqlite3_stmt *s = NULL;
  if (sqlite3_prepare_v2(db, "SELECT COUNT(*) FROM log WHERE type = ?1", -1,
                         &s, NULL) != SQLITE_OK)
    return DC_EDB;
  sqlite3_bind_int(s, 1, DC_CMD_TX);
  *out = sqlite3_step(s) == SQLITE_ROW ? (uint64_t)sqlite3_column_int64(s, 0) : 0;
  sqlite3_finalize(s);
  return DC_OK;
}

/* Applies the entries after the last block, as the source's log holds them,
 * comparing outcomes. tail_complete stays false when the log no longer has
 * them all (compacted): the final state cannot be compared then. */
static int replay_tail(struct vctx *v) {
  sqlite3_stmt *s = NULL;
  int64_t applied = 0;
  if (fsm_meta_read(v->src, "applied_index", &applied)) return DC_EDB;
  if (sqlite3_prepare_v2(v->src, "SELECT idx, COALESCE(code, 0), data FROM log"
                         " WHERE idx > ?1 ORDER BY idx", -1, &s, NULL) != SQLITE_OK)
    return DC_EDB;
  sqlite3_bind_int64(s, 1, (sqlite3_int64)v->rep->last_index);
  uint64_t next = v->rep->last_index + 1;
  int rc = DC_OK, step = SQLITE_ROW;
  while (rc == DC_OK && v->rep->ok && (step = sqlite3_step(s)) == SQLITE_ROW) {
    struct dc_fsm_entry e = {(uint64_t)sqlite3_column_int64(s, 0),
                             sqlite3_column_blob(s, 2),
                             (size_t)sqlite3_column_bytes(s, 2)};
    int32_t code = sqlite3_column_int(s, 1);
    struct dc_fsm_result r;
    struct dc_errmsg err;
    bool is_tx;
    if (e.index < next) break; /* rising, gaps allowed (see verify_block) */
    if (!tx_sig_ok(v, e.data, e.len, &is_tx)) {
      v->rep->ok = false;
      v->rep->bad_height = (int64_t)v->rep->blocks;
      snprintf(v->rep->message, sizeof v->rep->message,
               "unsealed tail: bad signature at log index %" PRIu64, e.index);
      break;
    }
    if (dc_fsm_apply_batch(v->fresh, &e, 1, &r, &err)) {
      rc = DC_EDB;
      break;
    }
    if (r.code != code) {
      v->rep->ok = false;
      v->rep->bad_height = (int64_t)v->rep->blocks;
      snprintf(v->rep->message, sizeof v->rep->message,
               "unsealed tail: log index %" PRIu64 " replays as %s, the log "
               "says %s", e.index, dc_err_name(r.code), dc_err_name(code));
      break;
    }
    next = e.index + 1;
    v->rep->tail++;
  }
  sqlite3_finalize(s);
  /* Complete when every stored entry after the last block was replayed, up
   * to the applied index (which may be an entry of raft's own). */
  v->rep->tail_complete = rc == DC_OK && step == SQLITE_DONE &&
                          (int64_t)next <= applied + 1;
  return rc;
}

/* The replayed state's hash, read through a connection of its own: the
 * fsm's keeps temporary data in memory (for its savepoint journal), where
 * the hash's whole-table sorts would hold every table at once. */
static int fresh_state_hash(const char *path, uint8_t out[DC_FSM_HASH_BYTES]) {
  sqlite3 *db = NULL;
  int rc = dc_fsm_open_reader(path, &db);
  if (!rc) rc = dc_fsm_state_hash(db, out);
  sqlite3_close(db);
  return rc;
}

int dc_fsm_verify_chain(sqlite3 *src, const char *scratch_path, bool replay,
                        struct dc_fsm_verify_report *rep,
                        struct dc_errmsg *err) {
  memset(rep, 0, sizeof *rep);
  err->text[0] = '\0';
  rep->ok = true;
  rep->bad_height = -1;
  struct vctx v = {.src = src, .rep = rep, .replay = replay};
  sqlite3_stmt *s = NULL;
  if (!table_exists(src, "ledger") ||
      sqlite3_prepare_v2(src, "SELECT chain_id FROM ledger WHERE id = 1", -1,
                         &s, NULL) != SQLITE_OK) {
    dc_errmsg_set(err, "no ledger in this database");
    return DC_ENOTFOUND;
  }
  bool have = sqlite3_step(s) == SQLITE_ROW;
  if (have)
    snprintf(v.chain_id, sizeof v.chain_id, "%s", sqlite3_column_text(s, 0));
  sqlite3_finalize(s);
  if (!have) {
    dc_errmsg_set(err, "the ledger has no genesis yet");
    return DC_ENOTFOUND;
  }
  int rc = replay ? dc_fsm_open(scratch_path, false, &v.fresh, err) : DC_OK;
  if (rc) return rc;
  uint8_t prev[DC_HASH_BYTES] = {0};
  for (uint64_t h = 0;; h++) {
    struct vblock b;
    bool found;
    if ((rc = load_header(src, h, &b, &found))) break;
    if (!found) break;
    if ((rc = verify_block(&v, &b, prev)) || !rep->ok) break;
    memcpy(prev, b.hash, DC_HASH_BYTES);
    rep->blocks++;
    rep->commands += b.h.ncmds;
    rep->last_index = b.h.last_index;
  }
  if (!rc && rep->ok && !replay) rc = count_txs(src, &rep->txs);
  if (!rc && rep->ok && replay) {
    uint8_t a[32], bh[32];
    /* The state as of the last block must be the source's state once the
     * source's unsealed tail (if its log still holds it) is applied too. */
    rc = replay_tail(&v);
    if (!rc) rc = count_txs(dc_fsm_db(v.fresh), &rep->txs);
    if (!rc && rep->ok && rep->tail_complete) {
      if ((rc = dc_fsm_state_hash(src, a)) == DC_OK &&
          (rc = fresh_state_hash(scratch_path, bh)) == DC_OK &&
          memcmp(a, bh, 32) != 0) {
        rep->ok = false;
        rep->bad_height = (int64_t)rep->blocks;
        snprintf(rep->message, sizeof rep->message,
                 "after block %" PRIu64 " the replayed state differs from the "
                 "stored state (balances or tables were altered)",
                 rep->blocks ? rep->blocks - 1 : 0);
      }
    }
  }
  if (rc && !err->text[0]) dc_errmsg_set(err, "verify: %s", dc_strerror(rc));
  dc_fsm_close(v.fresh);
  return rc;
}
