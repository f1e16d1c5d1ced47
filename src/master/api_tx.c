/* SPDX-License-Identifier: Apache-2.0
 * Transaction submission, authenticated by each transaction's own
 * signature: POST /v1/tx (one) and POST /v1/txs (up to DC_TXS_BATCH_MAX in
 * one request). Every transaction goes its own way: decode, per-account
 * flood control, signature check on the worker pool, proposal, the FSM's
 * rules; and gets its own answer, so one bad transaction never affects the
 * others. A batch's checked transactions are proposed together and in the
 * order sent (so it may chain several transactions of one account), and
 * the batch is answered once every one of them has its result. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>

#include "master/api_int.h"

struct txbatch {
  struct dc_httpd_req *r;
  json_t *results;           /* one slot per element, filled in any order */
  struct master_txreq **q;   /* checked, waiting for the batch's proposal */
  size_t n, accepted;
  size_t unanswered;         /* + 1 while the handler is still queueing */
  size_t unchecked;          /* signature checks out, + 1 likewise */
};

static void txreq_free(struct master_txreq *q) {
  dc_free(q->enc);
  dc_free(q);
}

static void batch_answered(struct txbatch *b) {
  if (--b->unanswered) return;
  api_reply_json(b->r, 200,
                 json_pack("{s:o, s:I, s:I}", "results", b->results, "accepted",
                           (json_int_t)b->accepted, "refused",
                           (json_int_t)(b->n - b->accepted)));
  dc_free(b->q);
  dc_free(b);
}

/* Answers one transaction: the reply to POST /v1/tx (r), or slot of batch
 * b. ok is the success body (taken), or NULL for an error status/code with
 * a message; hash, when known, names the transaction in a batch answer. */
static void tx_answer(struct dc_httpd_req *r, struct txbatch *b, size_t slot,
                      const uint8_t *hash, unsigned status, const char *code,
                      const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));

static void tx_answer_ok(struct dc_httpd_req *r, struct txbatch *b, size_t slot,
                         json_t *ok) {
  if (!b) {
    api_reply_json(r, 200, ok);
    return;
  }
  json_object_set_new(ok, "status", json_integer(200));
  json_array_set_new(b->results, slot, ok);
  b->accepted++;
  batch_answered(b);
}

static void tx_answer(struct dc_httpd_req *r, struct txbatch *b, size_t slot,
                      const uint8_t *hash, unsigned status, const char *code,
                      const char *fmt, ...) {
  char msg[DC_HTTPD_ERRMSG_MAX + 1];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (!b) {
    dc_httpd_respond_error(r, status, code, "%s", msg);
    return;
  }
  json_t *e = json_pack("{s:I, s:{s:s, s:s}}", "status", (json_int_t)status,
                        "error", "code", code, "message", msg);
  if (hash) {
    char hex[2 * DC_HASH_BYTES + 1];
    dc_hex_encode(hash, DC_HASH_BYTES, hex);
    json_object_set_new(e, "hash", json_string(hex));
  }
  json_array_set_new(b->results, slot, e);
  batch_answered(b);
}

static void on_tx_applied(struct dc_master *m, const struct dc_fsm_result *res,
                          void *ud) {
  struct master_txreq *q = ud;
  master_flood_done(m, q->tx.account);
  char hash[2 * DC_HASH_BYTES + 1];
  dc_hex_encode(q->hash, DC_HASH_BYTES, hash);
  if (res->code != DC_OK)
    tx_answer(q->r, q->batch, q->slot, q->hash, api_status_for(res->code),
              dc_err_name(res->code), "%s", res->message);
  else
    tx_answer_ok(q->r, q->batch, q->slot,
                 json_pack("{s:s, s:I, s:s, s:s}", "hash", hash, "index",
                           (json_int_t)res->index, "kind",
                           dc_tx_kind_name(q->tx.kind), "message", res->message));
  txreq_free(q);
}

/* A transaction that will not reach the log: its answer says why. */
static void tx_refuse(struct dc_master *m, struct master_txreq *q, int rc) {
  master_flood_done(m, q->tx.account);
  if (rc == DC_ESYS || rc == DC_ECANCELED) {
    tx_answer(q->r, q->batch, q->slot, q->hash, 503, dc_err_name(rc),
              "the master is stopping or overloaded; retry");
  } else if (rc == DC_EBADSIG) {
    char acct[2 * DC_PK_BYTES + 1];
    dc_hex_encode(q->tx.account, DC_PK_BYTES, acct);
    tx_answer(q->r, q->batch, q->slot, q->hash, 401, "BADSIG",
              "the transaction's signature does not verify for account "
              "%.16s… on chain %s", acct, q->chain_id);
  } else {
    tx_answer(q->r, q->batch, q->slot, q->hash, api_status_for(rc),
              dc_err_name(rc), "could not propose the transaction: %s",
              dc_strerror(rc));
  }
  txreq_free(q);
}

static void tx_propose(struct dc_master *m, struct master_txreq *q) {
  struct dc_cmd c = {.type = DC_CMD_TX};
  c.u.blob.data = q->enc;
  c.u.blob.len = q->enc_len;
  int rc = master_propose(m, &c, on_tx_applied, q);
  if (rc) tx_refuse(m, q, rc);
}

static int verified_rc(struct dc_master *m, const struct master_txreq *q) {
  return q->verify_rc == DC_OK && m->stopping ? DC_ECANCELED : q->verify_rc;
}

static void on_tx_verified(struct dc_master *m, struct master_txreq *q) {
  int rc = verified_rc(m, q);
  if (rc) tx_refuse(m, q, rc);
  else tx_propose(m, q);
}

/* Once every check is back: proposes the batch's checked transactions, in
 * the order sent. (Answers given meanwhile may complete the batch: the
 * extra count keeps b alive until the loop is done.) */
static void batch_checked(struct dc_master *m, struct txbatch *b) {
  if (--b->unchecked) return;
  b->unanswered++;
  for (size_t i = 0; i < b->n; i++) {
    struct master_txreq *q = b->q[i];
    b->q[i] = NULL;
    if (q) tx_propose(m, q);
  }
  batch_answered(b);
}

static void on_batch_verified(struct dc_master *m, struct master_txreq *q) {
  struct txbatch *b = q->batch;
  int rc = verified_rc(m, q);
  b->unanswered++;
  if (rc) tx_refuse(m, q, rc);
  else b->q[q->slot] = q;
  batch_checked(m, b);
  batch_answered(b);
}

/* Decodes one hex transaction and takes its flood-control slot. On
 * success *out is ready for its signature check; otherwise the element (or
 * the request) has been answered. */
static int tx_start(struct dc_master *m, struct dc_httpd_req *r,
                    struct txbatch *b, size_t slot, const char *hex,
                    struct master_txreq **out) {
  size_t hlen = hex ? strlen(hex) : 0;
  if (!hex || hlen == 0 || hlen % 2 || hlen / 2 > DC_TX_MAX_BYTES) {
    if (b)
      tx_answer(r, b, slot, NULL, 400, "INVAL",
                "each element is the hex of one signed transaction (at most "
                "%d bytes)", DC_TX_MAX_BYTES);
    else
      tx_answer(r, b, slot, NULL, 400, "INVAL",
                "send {\"tx\": \"<hex of the signed transaction>\"} (at most "
                "%d bytes)", DC_TX_MAX_BYTES);
    return DC_EINVAL;
  }
  struct master_txreq *q = dc_calloc(1, sizeof *q);
  uint8_t *enc = dc_malloc(hlen / 2 + 1);
  if (!q || !enc) {
    dc_free(q);
    dc_free(enc);
    tx_answer(r, b, slot, NULL, 500, "NOMEM", "out of memory");
    return DC_ENOMEM;
  }
  int rc = dc_hex_decode(hex, enc, hlen / 2);
  if (!rc) rc = dc_tx_decode(enc, hlen / 2, &q->tx);
  if (!rc) rc = dc_tx_hash(&q->tx, q->hash);
  if (rc) {
    dc_free(enc);
    dc_free(q);
    tx_answer(r, b, slot, NULL, 400, dc_err_name(rc),
              "not a valid transaction encoding: %s", dc_strerror(rc));
    return rc;
  }
  q->enc = enc;
  q->enc_len = hlen / 2;
  q->r = b ? NULL : r;
  q->batch = b;
  q->slot = slot;
  q->done = b ? on_batch_verified : on_tx_verified;
  char why[160];
  if ((rc = master_flood_take(m, q->tx.account, why, sizeof why))) {
    tx_answer(r, b, slot, q->hash, 429, "AGAIN", "%s", why);
    txreq_free(q);
    return rc;
  }
  *out = q;
  return DC_OK;
}

void api_tx_submit(struct dc_master *m, struct dc_httpd_req *r) {
  if (!api_need_ledger(m, r)) return;
  size_t blen = 0;
  const uint8_t *body = dc_httpd_req_body(r, &blen);
  json_t *j = json_loadb((const char *)body, blen, 0, NULL);
  struct master_txreq *q = NULL;
  int rc = tx_start(m, r, NULL, 0,
                    j ? json_string_value(json_object_get(j, "tx")) : NULL, &q);
  json_decref(j);
  if (!rc) master_tx_verify_async(m, q);
}

void api_txs_submit(struct dc_master *m, struct dc_httpd_req *r) {
  if (!api_need_ledger(m, r)) return;
  size_t blen = 0;
  const uint8_t *body = dc_httpd_req_body(r, &blen);
  json_t *j = json_loadb((const char *)body, blen, 0, NULL);
  json_t *txs = j ? json_object_get(j, "txs") : NULL;
  size_t n = json_array_size(txs);
  if (!json_is_array(txs) || n == 0) {
    json_decref(j);
    dc_httpd_respond_error(r, 400, "INVAL",
                           "send {\"txs\": [\"<hex of a signed transaction>\", "
                           "…]} with 1..%d transactions", DC_TXS_BATCH_MAX);
    return;
  }
  if (n > DC_TXS_BATCH_MAX) {
    json_decref(j);
    dc_httpd_respond_error(r, 413, "TOOBIG",
                           "%zu transactions in one batch; at most %d (nothing "
                           "was submitted)", n, DC_TXS_BATCH_MAX);
    return;
  }
  struct txbatch *b = dc_calloc(1, sizeof *b);
  if (b) b->q = dc_calloc(n, sizeof *b->q);
  if (b) b->results = json_array();
  for (size_t i = 0; b && b->results && i < n; i++)
    if (json_array_append_new(b->results, json_null())) break;
  if (!b || !b->q || json_array_size(b->results) != n) {
    json_decref(j);
    if (b) json_decref(b->results);
    if (b) dc_free(b->q);
    dc_free(b);
    dc_httpd_respond_error(r, 500, "NOMEM", "out of memory");
    return;
  }
  b->r = r;
  b->n = n;
  b->unanswered = n + 1;
  b->unchecked = 1;
  for (size_t i = 0; i < n; i++) {
    struct master_txreq *q = NULL;
    if (tx_start(m, r, b, i, json_string_value(json_array_get(txs, i)), &q))
      continue;
    b->unchecked++;
    master_tx_verify_async(m, q);
  }
  json_decref(j);
  batch_checked(m, b);   /* the handler's hold on the checks */
  batch_answered(b);     /* and on the answer */
}
