/* SPDX-License-Identifier: Apache-2.0
 * The payee's side of PayWord channels, on the master. Every second (and at
 * registration) each connected provider that is the payee of open channels
 * gets their list in a CHANNELS message, with the ledger's height and its
 * account's nonce and head, so that it can sign and send its own close
 * before the payer may reclaim, or when the paid service has ended. A
 * provider's close comes back as LEDGER_TX on its session and takes the
 * path of POST /v1/tx (flood control, signature check on the worker pool,
 * proposal, the FSM's rules). The master never closes for a provider: only
 * the payee's key can sign a close, and a session may submit only its own
 * node's channel closes. */
#include <inttypes.h>

#include "master/master_int.h"

/* ---- the lists ------------------------------------------------------------ */

static void send_list(struct dc_master *m, struct session *s,
                      struct dc_msg_channels *c) {
  static const char *sql = "SELECT nonce, head FROM accounts WHERE id = ?1";
  sqlite3_stmt *q = master_read_stmt(m, sql);
  c->nonce = 0;
  memset(c->head, 0, sizeof c->head);
  if (q) {
    sqlite3_bind_blob(q, 1, s->node_id, DC_PK_BYTES, SQLITE_STATIC);
    if (sqlite3_step(q) == SQLITE_ROW) {
      c->nonce = (uint64_t)sqlite3_column_int64(q, 0);
      if (sqlite3_column_bytes(q, 1) == DC_HASH_BYTES)
        memcpy(c->head, sqlite3_column_blob(q, 1), DC_HASH_BYTES);
    }
    sqlite3_reset(q);
  }
  struct dc_msg msg = {.type = DC_MSG_CHANNELS};
  msg.u.channels = *c;
  if (master_session_send(s, &msg) == DC_OK) s->channels_listed = c->n > 0;
}

/* only: one session (at its registration), or NULL for every session. A
 * session whose last list was not empty gets an empty one once its last
 * channel is gone, so it learns that its closes were applied. */
void master_channels_notify(struct dc_master *m, struct session *only) {
  static const char *hsql = "SELECT height FROM ledger WHERE id = 1";
  static const char *csql =
      "SELECT payee, id, open_height, open_height + timeout_blocks FROM"
      " channels WHERE state = 'open' ORDER BY payee";
  if (!m->ledger.ready) master_ledger_refresh(m);
  if (!m->ledger.ready || !m->sessions) return;
  sqlite3_stmt *q = master_read_stmt(m, hsql);
  if (!q) return;
  struct dc_msg_channels c = {.chain_id = m->ledger.chain_id};
  if (sqlite3_step(q) == SQLITE_ROW) c.height = (uint64_t)sqlite3_column_int64(q, 0);
  sqlite3_reset(q);
  for (struct session *s = m->sessions; s; s = s->next)
    s->channels_stale = s->channels_listed && (!only || s == only);
  struct dc_channel_due *v = dc_calloc(DC_CHANNELS_MAX, sizeof *v);
  if (!v || !(q = master_read_stmt(m, csql))) {
    dc_free(v);
    return;
  }
  /* Rows come grouped by payee: a list is sent when its payee's rows end. */
  struct session *cur = NULL;
  uint8_t payee[DC_PK_BYTES] = {0};
  bool more = true;
  while (more) {
    more = sqlite3_step(q) == SQLITE_ROW;
    if (more && sqlite3_column_bytes(q, 0) == DC_PK_BYTES &&
        memcmp(sqlite3_column_blob(q, 0), payee, DC_PK_BYTES) == 0) {
      if (cur && c.n < DC_CHANNELS_MAX && sqlite3_column_bytes(q, 1) == DC_HASH_BYTES) {
        memcpy(v[c.n].channel, sqlite3_column_blob(q, 1), DC_HASH_BYTES);
        v[c.n].open_height = (uint64_t)sqlite3_column_int64(q, 2);
        v[c.n].reclaim_height = (uint64_t)sqlite3_column_int64(q, 3);
        c.n++;
      }
      continue;
    }
    if (cur && c.n) {
      c.chans = v;
      send_list(m, cur, &c);
      cur->channels_stale = false;
    }
    c.n = 0;
    cur = NULL;
    if (!more || sqlite3_column_bytes(q, 0) != DC_PK_BYTES) continue;
    memcpy(payee, sqlite3_column_blob(q, 0), DC_PK_BYTES);
    char hex[2 * DC_PK_BYTES + 1];
    dc_hex_encode(payee, DC_PK_BYTES, hex);
    cur = master_session_find(m, hex);
    if (cur && (!cur->registered || (only && cur != only))) cur = NULL;
    if (cur && sqlite3_column_bytes(q, 1) == DC_HASH_BYTES) {
      memcpy(v[0].channel, sqlite3_column_blob(q, 1), DC_HASH_BYTES);
      v[0].open_height = (uint64_t)sqlite3_column_int64(q, 2);
      v[0].reclaim_height = (uint64_t)sqlite3_column_int64(q, 3);
      c.n = 1;
    }
  }
  sqlite3_reset(q);
  c.chans = NULL;
  c.n = 0;
  for (struct session *s = m->sessions; s; s = s->next)
    if (s->channels_stale && !s->closed && s->registered) send_list(m, s, &c);
  dc_free(v);
}

/* ---- a provider's own close ------------------------------------------------- */

static void close_free(struct master_txreq *q) {
  dc_free(q->enc);
  dc_free(q);
}

static void on_close_applied(struct dc_master *m, const struct dc_fsm_result *res,
                             void *ud) {
  struct master_txreq *q = ud;
  master_flood_done(m, q->tx.account);
  char ch[2 * DC_HASH_BYTES + 1];
  dc_hex_encode(q->tx.channel, DC_HASH_BYTES, ch);
  if (res->code == DC_OK)
    DC_INFO("ledger", "channel=%.16s closed by its payee ticks=%u index=%" PRIu64,
            ch, q->tx.length, res->index);
  else
    DC_WARN("ledger", "channel=%.16s close by its payee refused: %s", ch,
            res->message);
  close_free(q);
}

static void on_close_verified(struct dc_master *m, struct master_txreq *q) {
  int rc = q->verify_rc;
  if (rc == DC_OK && !m->stopping) {
    struct dc_cmd c = {.type = DC_CMD_TX};
    c.u.blob.data = q->enc;
    c.u.blob.len = q->enc_len;
    if ((rc = master_propose(m, &c, on_close_applied, q)) == DC_OK) return;
  }
  /* The provider sends it again while the channel is still listed. */
  DC_WARN("ledger", "a payee's channel close was not proposed: %s",
          dc_strerror(rc ? rc : DC_ECANCELED));
  master_flood_done(m, q->tx.account);
  close_free(q);
}

void master_channel_tx(struct session *s, const struct dc_msg_ledger_tx *t) {
  struct dc_master *m = s->m;
  struct master_txreq *q = dc_calloc(1, sizeof *q);
  uint8_t *enc = dc_malloc(t->len);
  int rc = q && enc ? dc_tx_decode(t->data, t->len, &q->tx) : DC_ENOMEM;
  if (!rc && (q->tx.kind != DC_TX_CHANNEL_CLOSE ||
              memcmp(q->tx.account, s->node_id, DC_PK_BYTES) != 0))
    rc = DC_EFORBIDDEN; /* a session carries only its node's own closes */
  if (!rc && !m->ledger.ready) rc = DC_ENOTFOUND;
  char why[160] = "";
  if (!rc) rc = master_flood_take(m, q->tx.account, why, sizeof why);
  if (rc) {
    DC_WARN("session", "node=%.16s ledger_tx refused: %s %s", s->node_hex,
            dc_strerror(rc), why);
    dc_free(enc);
    dc_free(q);
    return;
  }
  memcpy(enc, t->data, t->len);
  q->enc = enc;
  q->enc_len = t->len;
  dc_tx_hash(&q->tx, q->hash);
  q->done = on_close_verified;
  master_tx_verify_async(m, q);
}
