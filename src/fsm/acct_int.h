/* SPDX-License-Identifier: Apache-2.0
 * Ledger state as the fsm stores it: the ledger row (parameters, supply,
 * block tip), accounts, and the history rows every ledger change writes.
 * Private to src/fsm (apply_ledger.c, apply_escrow.c, apply_block.c). */
#ifndef DC_FSM_ACCT_INT_H
#define DC_FSM_ACCT_INT_H

#include "fsm/fsm_int.h"
#include "ledger/ledger.h"

struct led_state {
  bool exists;                        /* false before genesis */
  char chain_id[DC_CHAIN_ID_MAX + 1];
  struct dc_ledger_params params;
  uint64_t minted, burned;            /* genesis + rewards; slashes */
  uint64_t height;                    /* the block being filled */
  uint64_t sealed_index;              /* last log index inside a block */
  uint8_t tip[DC_HASH_BYTES];         /* hash of the last sealed block */
  int64_t tip_time_ms;
};

struct acct {
  uint8_t id[DC_PK_BYTES];
  uint64_t balance, staked, unbonding, locked, nonce;
  uint8_t head[DC_HASH_BYTES];
};

int led_state_load(struct dc_fsm *f, struct led_state *st);
/* Inserts (at genesis) or updates the single ledger row. */
int led_state_store(struct dc_fsm *f, const struct led_state *st);
/* A missing account loads as all-zero (balance 0, nonce 0, head zero). */
int acct_load(struct dc_fsm *f, const uint8_t id[DC_PK_BYTES],
              struct acct *a);
int acct_store(struct dc_fsm *f, const struct acct *a);

/* One history row. hash is the user transaction's hash, or for a system
 * operation led_sys_hash(index, sub, bytes). */
struct led_row {
  const uint8_t *hash;
  uint64_t index;
  uint32_t sub;                       /* several rows of one command: 0, 1, ... */
  uint64_t height;
  const char *kind;
  const uint8_t *account, *peer;      /* may be NULL */
  uint64_t amount;
  const char *ref;                    /* job id, task id, channel: may be NULL */
};
int led_record(struct dc_fsm *f, const struct led_row *r);
/* At a seal: the block's history rows move from ledger_tx_recent into
 * ledger_tx_sealed (schema v5; nothing to do before). */
int led_seal_history(struct dc_fsm *f);
void led_sys_hash(uint64_t index, uint32_t sub, const uint8_t *data,
                  size_t len, uint8_t out[DC_HASH_BYTES]);

/* Money movements shared by the system operations and the job commands
 * (apply_escrow.c). mv names the command being applied (for the history
 * rows) and the ledger state. Each checks everything before writing, and
 * refuses through res (code set, DC_OK returned) having written nothing. */
struct led_move {
  struct led_state *st;
  uint64_t index;
  const uint8_t *data;               /* the command's bytes */
  size_t len;
};
int led_move_record(struct dc_fsm *f, const struct led_move *mv,
                    const char *kind, const uint8_t *account,
                    const uint8_t *peer, uint64_t amount, const char *ref);
int led_lock(struct dc_fsm *f, const struct led_move *mv,
             const uint8_t owner[DC_PK_BYTES], const char *job_id,
             uint64_t amount, struct dc_fsm_result *res);
int led_reserve(struct dc_fsm *f, const struct led_move *mv,
                const uint8_t node_pk[DC_PK_BYTES], const char *job_id,
                const char *task_id, uint32_t attempt, uint64_t amount,
                struct dc_fsm_result *res);
/* final_state: "settled" (a result, even at 0) or "released" (lost). */
int led_settle(struct dc_fsm *f, const struct led_move *mv,
               const uint8_t node_pk[DC_PK_BYTES], const char *job_id,
               const char *task_id, uint32_t attempt, uint64_t amount,
               const char *final_state, struct dc_fsm_result *res);
/* owner NULL: no ownership check (the job's own end). */
int led_refund(struct dc_fsm *f, const struct led_move *mv,
               const uint8_t *owner, const char *job_id,
               struct dc_fsm_result *res);

/* apply_block.c: the genesis (block 0: every command up to and including
 * it) and the seal of the commands applied since the last block. */
int fsm_ledger_genesis(struct dc_fsm *f, const struct dc_sysop *op,
                       const struct dc_cmd *c, const struct dc_fsm_entry *e,
                       struct led_state *st, struct dc_fsm_result *res);
int fsm_ledger_seal(struct dc_fsm *f, const struct dc_sysop *op,
                    const struct dc_cmd *c, const struct dc_fsm_entry *e,
                    struct led_state *st, struct dc_fsm_result *res);

#endif /* DC_FSM_ACCT_INT_H */
