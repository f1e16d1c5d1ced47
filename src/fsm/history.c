/* SPDX-License-Identifier: Apache-2.0
 * Reading an account's ledger history (docs/ledger.md, "Storing the
 * history"). From schema v5 each account's rows form a list from
 * accounts.hist, newest first: a row links to the previous row of its
 * account (prev_a) and of its peer (prev_p), so `limit` rows cost `limit`
 * lookups whatever the length of the history. Before v5 the account and
 * peer indexes answer. */
#include <string.h>

#include "fsm/fsm_int.h"

static int walk(sqlite3 *db, const uint8_t pk[DC_PK_BYTES], size_t limit,
                int64_t *ids, size_t *n) {
  sqlite3_stmt *s = NULL;
  int64_t next = 0;
  if (sqlite3_prepare_v2(db, "SELECT hist FROM accounts WHERE id = ?1", -1, &s,
                         NULL) != SQLITE_OK)
    return DC_EDB;
  sqlite3_bind_blob(s, 1, pk, DC_PK_BYTES, SQLITE_STATIC);
  if (sqlite3_step(s) == SQLITE_ROW) next = sqlite3_column_int64(s, 0);
  sqlite3_finalize(s);
  if (sqlite3_prepare_v2(db, "SELECT account, prev_a, prev_p FROM ledger_tx"
                             " WHERE id = ?1", -1, &s, NULL) != SQLITE_OK)
    return DC_EDB;
  while (next > 0 && *n < limit) {
    sqlite3_bind_int64(s, 1, next);
    if (sqlite3_step(s) != SQLITE_ROW) break;
    ids[(*n)++] = next;
    bool mine = sqlite3_column_bytes(s, 0) == DC_PK_BYTES &&
                memcmp(sqlite3_column_blob(s, 0), pk, DC_PK_BYTES) == 0;
    int64_t prev = sqlite3_column_int64(s, mine ? 1 : 2);
    /* Links only go back: a damaged file cannot make this loop. */
    next = prev < next ? prev : 0;
    sqlite3_reset(s);
  }
  sqlite3_finalize(s);
  return DC_OK;
}

static int indexed(sqlite3 *db, const uint8_t pk[DC_PK_BYTES], size_t limit,
                   int64_t *ids, size_t *n) {
  sqlite3_stmt *s = NULL;
  if (sqlite3_prepare_v2(db, "SELECT id FROM ledger_tx WHERE account = ?1 UNION"
                             " SELECT id FROM ledger_tx WHERE peer = ?1"
                             " ORDER BY 1 DESC LIMIT ?2", -1, &s, NULL) != SQLITE_OK)
    return DC_EDB;
  sqlite3_bind_blob(s, 1, pk, DC_PK_BYTES, SQLITE_STATIC);
  sqlite3_bind_int64(s, 2, (sqlite3_int64)limit);
  while (sqlite3_step(s) == SQLITE_ROW) ids[(*n)++] = sqlite3_column_int64(s, 0);
  sqlite3_finalize(s);
  return DC_OK;
}

int dc_fsm_history(sqlite3 *db, const uint8_t pk[32], size_t limit,
                   int64_t *ids, size_t *n) {
  *n = 0;
  /* One read transaction: the walk sees one state, and its lookups share
   * the locking. */
  bool txn = sqlite3_get_autocommit(db) &&
             sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) == SQLITE_OK;
  int64_t v = 0;
  int rc = fsm_meta_read(db, "schema_version", &v);
  if (!rc) rc = v >= 5 ? walk(db, pk, limit, ids, n) : indexed(db, pk, limit, ids, n);
  if (txn) sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
  return rc;
}
