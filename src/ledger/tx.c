/* SPDX-License-Identifier: Apache-2.0
 * User transactions: the canonical body (only the fields of its kind), its
 * hash (the transaction id, and the next transaction's prev), and the
 * Ed25519 signature over a domain tag, the chain id and the body. */
#include "ledger/ledger_int.h"

static const char *const kind_names[] = {
    [DC_TX_TRANSFER] = "transfer",
    [DC_TX_STAKE] = "stake",
    [DC_TX_UNSTAKE] = "unstake",
    [DC_TX_WITHDRAW] = "withdraw",
    [DC_TX_CHANNEL_OPEN] = "channel_open",
    [DC_TX_CHANNEL_CLOSE] = "channel_close",
    [DC_TX_CHANNEL_RECLAIM] = "channel_reclaim",
};

static bool kind_known(uint8_t k) {
  return k < DC_ARRAY_LEN(kind_names) && kind_names[k];
}

const char *dc_tx_kind_name(uint8_t kind) {
  return kind_known(kind) ? kind_names[kind] : "unknown";
}

uint8_t dc_tx_kind_parse(const char *name) {
  for (uint8_t k = 1; k < DC_ARRAY_LEN(kind_names); k++)
    if (strcmp(kind_names[k], name) == 0) return k;
  return 0;
}

void ledger_put_fixstr(struct lw *w, const char *s, size_t max, size_t min) {
  size_t n = strnlen(s, max + 1);
  if (n < min) lw_fail(w, DC_EINVAL);
  lw_bytes(w, s, n, max);
}

void ledger_get_fixstr(struct dc_reader *r, char *out, size_t max,
                       size_t min) {
  const uint8_t *p;
  size_t n;
  memset(out, 0, max + 1);
  if (dc_get_bytes(r, &p, &n, max)) return;
  if (n < min || memchr(p, 0, n)) {
    lr_fail(r, DC_EPROTO);
    return;
  }
  memcpy(out, p, n);
}

int dc_tx_body(const struct dc_tx *tx, struct dc_buf *out) {
  struct lw w;
  lw_init(&w, out);
  if (tx->version != DC_TX_VERSION) lw_fail(&w, DC_EINVAL);
  if (!kind_known(tx->kind)) lw_fail(&w, DC_EINVAL);
  lw_u8(&w, tx->version);
  lw_u8(&w, tx->kind);
  lw_raw(&w, tx->account, DC_PK_BYTES);
  lw_u64(&w, tx->nonce);
  lw_raw(&w, tx->prev, DC_HASH_BYTES);
  switch (tx->kind) {
  case DC_TX_TRANSFER:
    lw_raw(&w, tx->peer, DC_PK_BYTES);
    lw_u64(&w, tx->amount);
    break;
  case DC_TX_STAKE:
  case DC_TX_UNSTAKE:
    lw_u64(&w, tx->amount);
    break;
  case DC_TX_CHANNEL_OPEN:
    lw_raw(&w, tx->peer, DC_PK_BYTES);
    lw_u64(&w, tx->amount);
    lw_u32(&w, tx->length);
    lw_u32(&w, tx->timeout_blocks);
    lw_raw(&w, tx->hash, DC_HASH_BYTES);
    break;
  case DC_TX_CHANNEL_CLOSE:
    lw_raw(&w, tx->channel, DC_HASH_BYTES);
    lw_u32(&w, tx->length);
    lw_raw(&w, tx->hash, DC_HASH_BYTES);
    break;
  case DC_TX_CHANNEL_RECLAIM:
    lw_raw(&w, tx->channel, DC_HASH_BYTES);
    break;
  default: /* withdraw: no fields */
    break;
  }
  return lw_done(&w);
}

int dc_tx_encode(const struct dc_tx *tx, struct dc_buf *out) {
  size_t start = out->len;
  int rc = dc_tx_body(tx, out);
  if (!rc) rc = dc_buf_append(out, tx->sig, DC_SIG_BYTES);
  if (rc) out->len = start;
  return rc;
}

int dc_tx_decode(const uint8_t *p, size_t n, struct dc_tx *out) {
  memset(out, 0, sizeof *out);
  struct dc_reader r;
  dc_reader_init(&r, p, n);
  struct dc_tx t = {0};
  if (!dc_get_u8(&r, &t.version) && t.version != DC_TX_VERSION)
    lr_fail(&r, DC_EVERSION);
  if (!dc_get_u8(&r, &t.kind) && !kind_known(t.kind)) lr_fail(&r, DC_EPROTO);
  dc_get_raw(&r, t.account, DC_PK_BYTES);
  dc_get_u64(&r, &t.nonce);
  dc_get_raw(&r, t.prev, DC_HASH_BYTES);
  switch (r.err ? 0 : t.kind) {
  case DC_TX_TRANSFER:
    dc_get_raw(&r, t.peer, DC_PK_BYTES);
    dc_get_u64(&r, &t.amount);
    break;
  case DC_TX_STAKE:
  case DC_TX_UNSTAKE:
    dc_get_u64(&r, &t.amount);
    break;
  case DC_TX_CHANNEL_OPEN:
    dc_get_raw(&r, t.peer, DC_PK_BYTES);
    dc_get_u64(&r, &t.amount);
    dc_get_u32(&r, &t.length);
    dc_get_u32(&r, &t.timeout_blocks);
    dc_get_raw(&r, t.hash, DC_HASH_BYTES);
    break;
  case DC_TX_CHANNEL_CLOSE:
    dc_get_raw(&r, t.channel, DC_HASH_BYTES);
    dc_get_u32(&r, &t.length);
    dc_get_raw(&r, t.hash, DC_HASH_BYTES);
    break;
  case DC_TX_CHANNEL_RECLAIM:
    dc_get_raw(&r, t.channel, DC_HASH_BYTES);
    break;
  default:
    break;
  }
  dc_get_raw(&r, t.sig, DC_SIG_BYTES);
  int rc = dc_reader_finish(&r);
  if (rc) return rc;
  *out = t;
  return DC_OK;
}

int dc_tx_hash(const struct dc_tx *tx, uint8_t out[DC_HASH_BYTES]) {
  uint8_t mem[DC_TX_MAX_BYTES];
  struct dc_buf b = LEDGER_STACK_BUF(mem);
  int rc = dc_tx_body(tx, &b);
  if (!rc) dc_hash(b.data, b.len, out);
  return rc;
}

/* The signed message, in a stack buffer: signing and verifying are the hot
 * path of every transaction and should not allocate. */
static int signing_msg(const struct dc_tx *tx, const char *chain_id,
                       struct dc_buf *b) {
  struct lw w;
  lw_init(&w, b);
  lw_raw(&w, DC_TX_SIG_TAG, sizeof DC_TX_SIG_TAG - 1);
  ledger_put_fixstr(&w, chain_id ? chain_id : "", DC_CHAIN_ID_MAX, 1);
  int rc = lw_done(&w);
  return rc ? rc : dc_tx_body(tx, b);
}

#define SIGNING_MAX (DC_TX_MAX_BYTES + DC_CHAIN_ID_MAX + 32)

int dc_tx_sign(struct dc_tx *tx, const char *chain_id,
               const struct dc_identity *id) {
  if (!id->sk || memcmp(id->pk, tx->account, DC_PK_BYTES) != 0)
    return DC_EINVAL;
  uint8_t mem[SIGNING_MAX];
  struct dc_buf b = LEDGER_STACK_BUF(mem);
  int rc = signing_msg(tx, chain_id, &b);
  return rc ? rc : dc_sign(id, b.data, b.len, tx->sig);
}

int dc_tx_verify(const struct dc_tx *tx, const char *chain_id) {
  uint8_t mem[SIGNING_MAX];
  struct dc_buf b = LEDGER_STACK_BUF(mem);
  int rc = signing_msg(tx, chain_id, &b);
  if (rc) return rc;
  return dc_verify(tx->account, b.data, b.len, tx->sig) ? DC_EBADSIG : DC_OK;
}
