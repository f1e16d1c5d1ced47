/* SPDX-License-Identifier: Apache-2.0
 * System operations: what only the leader proposes (genesis, job escrow,
 * reservations, settlements, refunds, slashes, rewards, block seals). Same
 * canonical style as user transactions, without a user signature. */
#include "ledger/ledger_int.h"

/* account (32) + amount (8) */
#define ALLOC_BYTES (DC_PK_BYTES + 8 + 8)

static const char *const sys_names[] = {
    [DC_SYS_GENESIS] = "genesis",   [DC_SYS_ESCROW_LOCK] = "escrow_lock",
    [DC_SYS_RESERVE] = "reserve",   [DC_SYS_SETTLE] = "settle",
    [DC_SYS_REFUND] = "refund",     [DC_SYS_SLASH] = "slash",
    [DC_SYS_REWARD] = "reward",     [DC_SYS_SEAL_BLOCK] = "seal_block",
};

static bool sys_known(uint8_t k) {
  return k < DC_ARRAY_LEN(sys_names) && sys_names[k];
}

const char *dc_sysop_kind_name(uint8_t kind) {
  return sys_known(kind) ? sys_names[kind] : "unknown";
}

static bool job_id_ok(const char *s) {
  if (strlen(s) != 32) return false;
  for (size_t i = 0; i < 32; i++)
    if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
      return false;
  return true;
}

int dc_sysop_encode(const struct dc_sysop *op, struct dc_buf *out) {
  struct lw w;
  lw_init(&w, out);
  if (op->version != DC_SYSOP_VERSION || !sys_known(op->kind))
    lw_fail(&w, DC_EINVAL);
  lw_u8(&w, op->version);
  lw_u8(&w, op->kind);
  switch (op->kind) {
  case DC_SYS_GENESIS:
    ledger_put_fixstr(&w, op->chain_id, DC_CHAIN_ID_MAX, 1);
    lw_u32(&w, op->params.unbonding_blocks);
    lw_u64(&w, op->params.min_stake);
    lw_u32(&w, op->params.block_max);
    lw_u32(&w, op->params.channel_len_max);
    lw_u32(&w, op->params.channel_timeout_min);
    if (op->nallocs > DC_GENESIS_ALLOCS_MAX) lw_fail(&w, DC_ETOOBIG);
    if (op->nallocs && !op->allocs) lw_fail(&w, DC_EINVAL);
    lw_u32(&w, (uint32_t)op->nallocs);
    for (size_t i = 0; i < op->nallocs && !w.err; i++) {
      lw_raw(&w, op->allocs[i].account, DC_PK_BYTES);
      lw_u64(&w, op->allocs[i].amount);
      lw_u64(&w, op->allocs[i].stake);
    }
    break;
  case DC_SYS_ESCROW_LOCK:
  case DC_SYS_REFUND:
    if (!job_id_ok(op->job_id)) lw_fail(&w, DC_EINVAL);
    lw_raw(&w, op->account, DC_PK_BYTES);
    lw_raw(&w, op->job_id, 32);
    lw_u64(&w, op->amount);
    break;
  case DC_SYS_RESERVE:
  case DC_SYS_SETTLE:
    if (!job_id_ok(op->job_id)) lw_fail(&w, DC_EINVAL);
    lw_raw(&w, op->account, DC_PK_BYTES);
    lw_raw(&w, op->job_id, 32);
    ledger_put_fixstr(&w, op->task_id, sizeof op->task_id - 1, 1);
    lw_u32(&w, op->attempt);
    lw_u64(&w, op->amount);
    break;
  case DC_SYS_SLASH:
    lw_raw(&w, op->account, DC_PK_BYTES);
    lw_u64(&w, op->amount);
    lw_u8(&w, op->evidence_kind);
    lw_bytes(&w, op->evidence, op->evidence_len, DC_EVIDENCE_MAX);
    break;
  case DC_SYS_REWARD:
    lw_raw(&w, op->account, DC_PK_BYTES);
    lw_u64(&w, op->amount);
    break;
  case DC_SYS_SEAL_BLOCK:
    lw_raw(&w, op->account, DC_PK_BYTES);
    break;
  default:
    break;
  }
  return lw_done(&w);
}

static void get_job_id(struct dc_reader *r, char out[33]) {
  memset(out, 0, 33);
  if (!dc_get_raw(r, out, 32) && !job_id_ok(out)) lr_fail(r, DC_EPROTO);
}

static void get_genesis(struct dc_reader *r, struct dc_sysop *op) {
  ledger_get_fixstr(r, op->chain_id, DC_CHAIN_ID_MAX, 1);
  dc_get_u32(r, &op->params.unbonding_blocks);
  dc_get_u64(r, &op->params.min_stake);
  dc_get_u32(r, &op->params.block_max);
  dc_get_u32(r, &op->params.channel_len_max);
  dc_get_u32(r, &op->params.channel_timeout_min);
  uint32_t n = 0;
  if (dc_get_u32(r, &n)) return;
  if (n > DC_GENESIS_ALLOCS_MAX) return lr_fail(r, DC_ETOOBIG);
  if ((size_t)n > dc_reader_left(r) / ALLOC_BYTES)
    return lr_fail(r, DC_ETRUNCATED);
  if (n == 0) return;
  op->allocs = dc_calloc(n, sizeof *op->allocs);
  if (!op->allocs) return lr_fail(r, DC_ENOMEM);
  op->nallocs = n;
  for (size_t i = 0; i < n; i++) {
    dc_get_raw(r, op->allocs[i].account, DC_PK_BYTES);
    dc_get_u64(r, &op->allocs[i].amount);
    dc_get_u64(r, &op->allocs[i].stake);
  }
}

int dc_sysop_decode(const uint8_t *p, size_t n, struct dc_sysop *out) {
  memset(out, 0, sizeof *out);
  struct dc_reader r;
  dc_reader_init(&r, p, n);
  struct dc_sysop op = {0};
  if (!dc_get_u8(&r, &op.version) && op.version != DC_SYSOP_VERSION)
    lr_fail(&r, DC_EVERSION);
  if (!dc_get_u8(&r, &op.kind) && !sys_known(op.kind)) lr_fail(&r, DC_EPROTO);
  switch (r.err ? 0 : op.kind) {
  case DC_SYS_GENESIS:
    get_genesis(&r, &op);
    break;
  case DC_SYS_ESCROW_LOCK:
  case DC_SYS_REFUND:
    dc_get_raw(&r, op.account, DC_PK_BYTES);
    get_job_id(&r, op.job_id);
    dc_get_u64(&r, &op.amount);
    break;
  case DC_SYS_RESERVE:
  case DC_SYS_SETTLE:
    dc_get_raw(&r, op.account, DC_PK_BYTES);
    get_job_id(&r, op.job_id);
    ledger_get_fixstr(&r, op.task_id, sizeof op.task_id - 1, 1);
    dc_get_u32(&r, &op.attempt);
    dc_get_u64(&r, &op.amount);
    break;
  case DC_SYS_SLASH: {
    dc_get_raw(&r, op.account, DC_PK_BYTES);
    dc_get_u64(&r, &op.amount);
    dc_get_u8(&r, &op.evidence_kind);
    const uint8_t *ev;
    size_t evn;
    if (!dc_get_bytes(&r, &ev, &evn, DC_EVIDENCE_MAX) && evn) {
      op.evidence = dc_malloc(evn);
      if (!op.evidence) {
        lr_fail(&r, DC_ENOMEM);
        break;
      }
      memcpy(op.evidence, ev, evn);
      op.evidence_len = evn;
    }
    break;
  }
  case DC_SYS_REWARD:
    dc_get_raw(&r, op.account, DC_PK_BYTES);
    dc_get_u64(&r, &op.amount);
    break;
  case DC_SYS_SEAL_BLOCK:
    dc_get_raw(&r, op.account, DC_PK_BYTES);
    break;
  default:
    break;
  }
  int rc = dc_reader_finish(&r);
  if (rc) {
    dc_sysop_free(&op);
    return rc;
  }
  *out = op;
  return DC_OK;
}

void dc_sysop_free(struct dc_sysop *op) {
  dc_free(op->allocs);
  dc_free(op->evidence);
  memset(op, 0, sizeof *op);
}
