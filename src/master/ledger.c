/* SPDX-License-Identifier: Apache-2.0
 * The master's side of the ledger: proposing the genesis (dev mode), sealing
 * blocks every N commands or T ms while leader, checking transaction
 * signatures on the libuv worker pool (both cores, off the loop) before
 * proposing, per-account flood control, and the dev faucet. Everything it
 * decides goes through the log; the FSM has the final word. */
#include <inttypes.h>
#include <stdlib.h>

#include "master/api_int.h"

/* Dev genesis: a faucet (the master's key) and staked dev providers. */
#define DEV_CHAIN "deepcloud-dev"
#define DEV_FAUCET_AMOUNT (1000000000ULL * DC_MICRO_PER_DEEP)
#define DEV_PROVIDER_AMOUNT (1000ULL * DC_MICRO_PER_DEEP)
#define DEV_MIN_STAKE (100ULL * DC_MICRO_PER_DEEP)

/* ---- state read back from the replicated tables --------------------------- */

void master_ledger_refresh(struct dc_master *m) {
  static const char *sql =
      "SELECT chain_id, block_max, min_stake FROM ledger WHERE id = 1";
  /* Before the migration that creates it there is no ledger table and the
   * statement does not prepare. (The FSM's own fields are not read here:
   * the local log applies on its commit thread.) */
  sqlite3_stmt *s = master_read_stmt(m, sql);
  if (!s) return;
  if (sqlite3_step(s) == SQLITE_ROW) {
    snprintf(m->ledger.chain_id, sizeof m->ledger.chain_id, "%s",
             (const char *)sqlite3_column_text(s, 0));
    m->ledger.block_max = (uint32_t)sqlite3_column_int64(s, 1);
    m->ledger.min_stake = (uint64_t)sqlite3_column_int64(s, 2);
    m->ledger.ready = true;
  }
  sqlite3_reset(s);
}

/* Whether a provider may be given work: before the genesis every node may;
 * after it, only nodes whose account has at least the minimum stake (the
 * FSM refuses a paid job's reservation on any other anyway). */
bool master_node_staked(struct dc_master *m, const char *node_hex) {
  static const char *sql = "SELECT staked FROM accounts WHERE id = ?1";
  if (!m->ledger.ready) master_ledger_refresh(m);
  if (!m->ledger.ready || m->ledger.min_stake == 0) return true;
  uint8_t pk[DC_PK_BYTES];
  if (dc_hex_decode(node_hex, pk, DC_PK_BYTES)) return false;
  sqlite3_stmt *s = master_read_stmt(m, sql);
  if (!s) return false;
  sqlite3_bind_blob(s, 1, pk, DC_PK_BYTES, SQLITE_STATIC);
  bool ok = sqlite3_step(s) == SQLITE_ROW &&
            (uint64_t)sqlite3_column_int64(s, 0) >= m->ledger.min_stake;
  sqlite3_reset(s);
  return ok;
}

/* ---- genesis --------------------------------------------------------------- */

static void on_genesis(struct dc_master *m, const struct dc_fsm_result *r,
                       void *ud) {
  (void)ud;
  if (r->code == DC_OK)
    DC_INFO("ledger", "genesis applied block=%s", r->ref);
  else if (r->code != DC_EEXISTS)
    DC_ERROR("ledger", "genesis refused: %s", r->message);
  master_ledger_refresh(m);
}

/* "hex,hex,..." of dev provider keys to stake at genesis. */
static size_t parse_keys(const char *list, struct dc_alloc *out, size_t max) {
  size_t n = 0;
  const char *p = list;
  while (p && *p && n < max) {
    char hex[DC_PK_HEX_LEN + 1] = {0};
    size_t len = strcspn(p, ",");
    if (len == DC_PK_HEX_LEN) {
      memcpy(hex, p, len);
      if (!dc_hex_decode(hex, out[n].account, DC_PK_BYTES)) {
        out[n].amount = DEV_PROVIDER_AMOUNT;
        out[n].stake = DEV_MIN_STAKE;
        n++;
      }
    }
    p += len;
    if (*p == ',') p++;
  }
  return n;
}

static int propose_dev_genesis(struct dc_master *m) {
  struct dc_alloc al[65];
  memset(al, 0, sizeof al);
  memcpy(al[0].account, m->id.pk, DC_PK_BYTES);
  al[0].amount = DEV_FAUCET_AMOUNT;
  /* "@FILE" names a file holding the list. */
  const char *keys = m->cfg.dev_stake;
  char *text = NULL;
  if (keys && keys[0] == '@') {
    size_t len;
    if (dc_read_file(keys + 1, 64 * 1024, &text, &len)) {
      DC_ERROR("ledger", "cannot read the dev stake list %s", keys + 1);
      return DC_EIO;
    }
    keys = text;
  }
  size_t n = 1 + parse_keys(keys, al + 1, DC_ARRAY_LEN(al) - 1);
  dc_free(text);
  struct dc_sysop op = {.version = DC_SYSOP_VERSION, .kind = DC_SYS_GENESIS,
                        .allocs = al, .nallocs = n};
  snprintf(op.chain_id, sizeof op.chain_id, "%s", DEV_CHAIN);
  op.params = (struct dc_ledger_params){
      .unbonding_blocks = 10, .min_stake = DEV_MIN_STAKE,
      .block_max = m->cfg.block_max ? m->cfg.block_max : 1000,
      .channel_len_max = 1000000, .channel_timeout_min = 10};
  return master_propose_sysop(m, &op, on_genesis, NULL);
}

int master_propose_sysop(struct dc_master *m, const struct dc_sysop *op,
                         master_cmd_cb cb, void *ud) {
  struct dc_buf b = {.max = DC_CMD_LEDGER_MAX};
  int rc = dc_sysop_encode(op, &b);
  if (!rc) {
    struct dc_cmd c = {.type = DC_CMD_LEDGER};
    c.u.blob.data = b.data;
    c.u.blob.len = b.len;
    rc = master_propose(m, &c, cb, ud);
  }
  dc_buf_free(&b);
  return rc;
}

/* ---- sealing ---------------------------------------------------------------- */

static void on_sealed(struct dc_master *m, const struct dc_fsm_result *r,
                      void *ud) {
  (void)ud;
  m->ledger.seal_in_flight = false;
  if (r->code != DC_OK && r->code != DC_ECONFLICT)
    DC_WARN("ledger", "seal refused: %s", r->message);
}

static void seal_now(struct dc_master *m) {
  if (m->stopping || !m->ledger.ready || m->ledger.seal_in_flight ||
      m->ledger.since_seal == 0 || !dc_log_is_leader(m->log))
    return;
  struct dc_sysop op = {.version = DC_SYSOP_VERSION, .kind = DC_SYS_SEAL_BLOCK};
  memcpy(op.account, m->id.pk, DC_PK_BYTES);
  if (master_propose_sysop(m, &op, on_sealed, NULL) == DC_OK)
    m->ledger.seal_in_flight = true;
}

/* Also, on the same beat, the payees' lists of open channels. */
static void seal_timer_cb(uv_timer_t *t) {
  seal_now(t->data);
  master_channels_notify(t->data, NULL);
}

void master_ledger_applied(struct dc_master *m, const struct dc_fsm_result *res,
                           size_t n) {
  for (size_t i = 0; i < n; i++) {
    if (res[i].cmd_type == DC_CMD_LEDGER && res[i].code == DC_OK &&
        strncmp(res[i].message, "block ", 6) == 0) {
      m->ledger.since_seal = 0; /* a seal (or the genesis) closed a block */
      if (!m->ledger.ready) master_ledger_refresh(m);
      continue;
    }
    if (m->ledger.ready) m->ledger.since_seal++;
  }
  if (m->ledger.ready && m->ledger.block_max &&
      m->ledger.since_seal >= m->ledger.block_max)
    seal_now(m);
}

/* ---- signature checks on the worker pool --------------------------------
 * Transactions queue on the loop; at most VERIFY_WORKERS batches of up to
 * VERIFY_BATCH are on the pool at once (one per core). Batching keeps the
 * thread hand-offs per transaction low: under load they, not the
 * signature checks, would otherwise dominate. */
#define VERIFY_BATCH 64
#define VERIFY_WORKERS 2

struct vbatch {
  uv_work_t work;
  struct dc_master *m;
  struct master_txreq *q[VERIFY_BATCH];
  size_t n;
};

static void verify_work(uv_work_t *w) {
  struct vbatch *b = w->data;
  for (size_t i = 0; i < b->n; i++)
    b->q[i]->verify_rc = dc_tx_verify(&b->q[i]->tx, b->q[i]->chain_id);
}

static void verify_kick(struct dc_master *m);

static void verify_done(uv_work_t *w, int status) {
  struct vbatch *b = w->data;
  struct dc_master *m = b->m;
  m->ledger.verify_inflight--;
  for (size_t i = 0; i < b->n; i++) {
    if (status == UV_ECANCELED) b->q[i]->verify_rc = DC_ECANCELED;
    b->q[i]->done(m, b->q[i]);
  }
  dc_free(b);
  verify_kick(m);
}

static void verify_kick(struct dc_master *m) {
  while (m->ledger.vq_head && m->ledger.verify_inflight < VERIFY_WORKERS) {
    struct vbatch *b = dc_calloc(1, sizeof *b);
    if (!b) return; /* retried when a running batch completes */
    b->m = m;
    b->work.data = b;
    /* Share what is queued among the idle workers, so that a burst is
     * checked on every core rather than as one batch on one of them. */
    size_t idle = VERIFY_WORKERS - m->ledger.verify_inflight;
    size_t take = DC_MIN((size_t)VERIFY_BATCH, (m->ledger.vq_len + idle - 1) / idle);
    while (m->ledger.vq_head && b->n < take) {
      struct master_txreq *q = m->ledger.vq_head;
      m->ledger.vq_head = q->next;
      if (!m->ledger.vq_head) m->ledger.vq_tail = NULL;
      m->ledger.vq_len--;
      b->q[b->n++] = q;
    }
    if (uv_queue_work(m->loop, &b->work, verify_work, verify_done)) {
      for (size_t i = 0; i < b->n; i++) {
        b->q[i]->verify_rc = DC_ESYS;
        b->q[i]->done(m, b->q[i]);
      }
      dc_free(b);
      return;
    }
    m->ledger.verify_inflight++;
  }
}

void master_tx_verify_async(struct dc_master *m, struct master_txreq *q) {
  q->m = m;
  q->next = NULL;
  snprintf(q->chain_id, sizeof q->chain_id, "%s", m->ledger.chain_id);
  if (m->ledger.vq_tail) m->ledger.vq_tail->next = q;
  else m->ledger.vq_head = q;
  m->ledger.vq_tail = q;
  m->ledger.vq_len++;
  verify_kick(m);
}

/* ---- flood control ------------------------------------------------------------
 * Per account: a token bucket (rate per second, burst twice that) and a cap
 * on transactions proposed but not yet applied. Fees are zero, so this is
 * what keeps one key from filling the log. */
#define FLOOD_SLOTS 4096
#define FLOOD_PROBE 16

static struct flood *flood_slot(struct dc_master *m, const uint8_t pk[DC_PK_BYTES],
                                int64_t now) {
  if (!m->ledger.flood) {
    m->ledger.flood = dc_calloc(FLOOD_SLOTS, sizeof *m->ledger.flood);
    if (!m->ledger.flood) return NULL;
  }
  uint32_t h = ((uint32_t)pk[0] << 24 | (uint32_t)pk[1] << 16 |
                (uint32_t)pk[2] << 8 | pk[3]) % FLOOD_SLOTS;
  struct flood *victim = NULL;
  for (uint32_t i = 0; i < FLOOD_PROBE; i++) {
    struct flood *f = &m->ledger.flood[(h + i) % FLOOD_SLOTS];
    if (f->used && memcmp(f->pk, pk, DC_PK_BYTES) == 0) return f;
    /* A slot idle for a while (nothing pending, bucket refilled) is free. */
    if (!victim && (!f->used || (f->pending == 0 && now - f->last_ms > 10000)))
      victim = f;
  }
  if (!victim) return NULL;
  memset(victim, 0, sizeof *victim);
  victim->used = true;
  memcpy(victim->pk, pk, DC_PK_BYTES);
  victim->tokens_milli = 2000ULL * m->cfg.tx_rate;
  victim->last_ms = now;
  return victim;
}

int master_flood_take(struct dc_master *m, const uint8_t pk[DC_PK_BYTES],
                      char *why, size_t whysz) {
  int64_t now = dc_mono_ms();
  struct flood *f = flood_slot(m, pk, now);
  if (!f) {
    snprintf(why, whysz, "too many accounts active at once; retry shortly");
    return DC_EAGAIN;
  }
  uint64_t cap = 2000ULL * m->cfg.tx_rate; /* burst: two seconds' worth */
  uint64_t add = (uint64_t)(now - f->last_ms) * m->cfg.tx_rate;
  f->tokens_milli = DC_MIN(cap, f->tokens_milli + add);
  f->last_ms = now;
  if (f->pending >= m->cfg.tx_pending_max) {
    snprintf(why, whysz, "%u transactions of this account are still pending; "
             "wait for their results", f->pending);
    return DC_EAGAIN;
  }
  if (f->tokens_milli < 1000) {
    snprintf(why, whysz, "more than %u transactions per second from this "
             "account", m->cfg.tx_rate);
    return DC_EAGAIN;
  }
  f->tokens_milli -= 1000;
  f->pending++;
  return DC_OK;
}

void master_flood_done(struct dc_master *m, const uint8_t pk[DC_PK_BYTES]) {
  struct flood *f = flood_slot(m, pk, dc_mono_ms());
  if (f && f->pending) f->pending--;
}

/* ---- start / stop --------------------------------------------------------------- */

int master_ledger_start(struct dc_master *m) {
  uv_timer_init(m->loop, &m->ledger.seal_timer);
  m->ledger.seal_timer.data = m;
  m->ledger.timer_live = true;
  /* The genesis and the seal timer wait for leadership. */
  master_ledger_refresh(m);
  return DC_OK;
}

/* Only the leader seals and proposes the dev genesis; a follower's timer
 * stops until it leads again (seal_now also checks). Called once the
 * leader is ready, after the schema migration was proposed, so the genesis
 * lands after it in the log. */
void master_ledger_on_leader(struct dc_master *m, bool leader) {
  if (!m->ledger.timer_live) return;
  uint32_t t = m->cfg.seal_interval_ms ? m->cfg.seal_interval_ms : 1000;
  if (!leader) {
    uv_timer_stop(&m->ledger.seal_timer);
    return;
  }
  master_ledger_refresh(m);
  if (!m->ledger.ready && m->genesis &&
      master_propose_sysop(m, m->genesis, on_genesis, NULL))
    DC_ERROR("ledger", "cannot propose the genesis");
  else if (!m->ledger.ready && !m->genesis && m->cfg.dev && propose_dev_genesis(m))
    DC_ERROR("ledger", "cannot propose the dev genesis");
  uv_timer_start(&m->ledger.seal_timer, seal_timer_cb, t, t);
}

void master_ledger_stop(struct dc_master *m) {
  /* Checks not yet on the pool are answered now: nothing will run them. */
  while (m->ledger.vq_head) {
    struct master_txreq *q = m->ledger.vq_head;
    m->ledger.vq_head = q->next;
    m->ledger.vq_len--;
    q->verify_rc = DC_ECANCELED;
    q->done(m, q);
  }
  m->ledger.vq_tail = NULL;
  if (!m->ledger.timer_live) return;
  m->ledger.timer_live = false;
  uv_timer_stop(&m->ledger.seal_timer);
  uv_close((uv_handle_t *)&m->ledger.seal_timer, NULL);
}

void master_ledger_free(struct dc_master *m) { DC_FREE(m->ledger.flood); }
