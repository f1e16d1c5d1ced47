/* SPDX-License-Identifier: Apache-2.0
 * ledger: the pure core of the DEEP ledger — checked micro-DEEP arithmetic,
 * the canonical codec of signed user transactions and of system operations
 * (proposed only by the leader), transaction signatures and hashes, PayWord
 * hash chains, the Merkle root of a block and the block header hash.
 * No disk, clock or network here: the FSM (src/fsm/apply_ledger.c) stores
 * the state, the master proposes, `ledger verify` replays. Layouts:
 * docs/ledger.md. */
#ifndef DC_LEDGER_H
#define DC_LEDGER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/base.h"
#include "crypto/crypto.h"

/* ---- amounts ---------------------------------------------------------------
 * Integers in micro-DEEP (1 DEEP = 10^6). Total supply is capped at
 * DC_AMOUNT_MAX so every stored amount fits SQLite's signed 64-bit INTEGER;
 * no floating point anywhere. The helpers return false on overflow (or
 * underflow) and leave *out unchanged. */
#define DC_MICRO_PER_DEEP 1000000ULL
#define DC_AMOUNT_MAX ((uint64_t)INT64_MAX)

static inline bool dc_amount_add(uint64_t a, uint64_t b, uint64_t *out) {
  uint64_t r;
  if (__builtin_add_overflow(a, b, &r) || r > DC_AMOUNT_MAX) return false;
  *out = r;
  return true;
}
static inline bool dc_amount_sub(uint64_t a, uint64_t b, uint64_t *out) {
  if (b > a) return false;
  *out = a - b;
  return true;
}
static inline bool dc_amount_mul(uint64_t a, uint64_t b, uint64_t *out) {
  uint64_t r;
  if (__builtin_mul_overflow(a, b, &r) || r > DC_AMOUNT_MAX) return false;
  *out = r;
  return true;
}

/* ---- limits ------------------------------------------------------------- */
#define DC_TX_VERSION 1
#define DC_SYSOP_VERSION 1
#define DC_CHAIN_ID_MAX 64        /* bytes, at least 1 */
#define DC_GENESIS_ALLOCS_MAX 4096
#define DC_EVIDENCE_MAX (16 * 1024)
#define DC_TX_MAX_BYTES 512       /* any user transaction encodes below this */
#define DC_SYSOP_MAX_BYTES (256 * 1024)
#define DC_TX_SIG_TAG "deepcloud/tx/v1"
#define DC_BLOCK_TAG "deepcloud/block/v1"

/* ---- user transactions ---------------------------------------------------
 * Signed by `account`. nonce is the account's next nonce (1 for its first
 * transaction) and prev its head (the hash of its previous transaction, all
 * zero before the first), so each account's history is a hash chain. */
enum dc_tx_kind {
  DC_TX_TRANSFER = 1,        /* balance -> to.balance */
  DC_TX_STAKE = 2,           /* balance -> staked */
  DC_TX_UNSTAKE = 3,         /* staked -> unbonding (for unbonding_blocks) */
  DC_TX_WITHDRAW = 4,        /* every matured unbonding entry -> balance */
  DC_TX_CHANNEL_OPEN = 5,    /* balance -> channel deposit */
  DC_TX_CHANNEL_CLOSE = 6,   /* by the payee, with the highest preimage */
  DC_TX_CHANNEL_RECLAIM = 7, /* by the payer, after the timeout */
};

struct dc_tx {
  uint8_t version;                 /* DC_TX_VERSION */
  uint8_t kind;                    /* enum dc_tx_kind */
  uint8_t account[DC_PK_BYTES];    /* signer */
  uint64_t nonce;
  uint8_t prev[DC_HASH_BYTES];
  uint8_t peer[DC_PK_BYTES];       /* transfer: to; channel open: payee */
  uint64_t amount;                 /* transfer/stake/unstake: amount;
                                      channel open: value of one tick */
  uint32_t length;                 /* channel open: chain length (ticks);
                                      close: ticks claimed */
  uint32_t timeout_blocks;         /* channel open */
  uint8_t hash[DC_HASH_BYTES];     /* open: anchor; close: preimage */
  uint8_t channel[DC_HASH_BYTES];  /* close, reclaim: channel id */
  uint8_t sig[DC_SIG_BYTES];
};

/* The canonical body: version, kind, account, nonce, prev, then only the
 * fields of that kind (docs/ledger.md). The encoding is body || sig.
 * Errors: DC_EINVAL (unknown kind or version), DC_ETOOBIG, DC_ENOMEM. */
int dc_tx_body(const struct dc_tx *tx, struct dc_buf *out);
int dc_tx_encode(const struct dc_tx *tx, struct dc_buf *out);
/* Exactly n bytes. Errors: DC_ETRUNCATED, DC_EPROTO (unknown kind, trailing
 * bytes), DC_EVERSION. */
int dc_tx_decode(const uint8_t *p, size_t n, struct dc_tx *out);
/* BLAKE2b-256 of the body: the transaction id and the next prev. */
int dc_tx_hash(const struct dc_tx *tx, uint8_t out[DC_HASH_BYTES]);
/* Signs DC_TX_SIG_TAG || u32 len || chain_id || body with id (whose key
 * must be tx->account: DC_EINVAL otherwise). */
int dc_tx_sign(struct dc_tx *tx, const char *chain_id,
               const struct dc_identity *id);
/* Errors: DC_EBADSIG, DC_EINVAL (unencodable). */
int dc_tx_verify(const struct dc_tx *tx, const char *chain_id);
/* "transfer", ...; "unknown" otherwise. */
const char *dc_tx_kind_name(uint8_t kind);
/* Parses a kind name; 0 when unknown. */
uint8_t dc_tx_kind_parse(const char *name);

/* ---- system operations ---------------------------------------------------
 * Proposed only by the leader (as DC_CMD_LEDGER commands): never accepted
 * from a client, carry no user signature. */
enum dc_sysop_kind {
  DC_SYS_GENESIS = 1,
  DC_SYS_ESCROW_LOCK = 2, /* owner balance -> job escrow */
  DC_SYS_RESERVE = 3,     /* job escrow -> one task attempt's reservation */
  DC_SYS_SETTLE = 4,      /* reservation -> provider (<= reserved), rest back */
  DC_SYS_REFUND = 5,      /* everything left for a job -> owner balance */
  DC_SYS_SLASH = 6,       /* staked stake destroyed, with evidence */
  DC_SYS_REWARD = 7,      /* new DEEP to an account */
  DC_SYS_SEAL_BLOCK = 8,  /* seals the commands applied since the last seal */
};

struct dc_ledger_params {
  uint32_t unbonding_blocks;   /* unstaked DEEP matures after this many blocks */
  uint64_t min_stake;          /* a provider needs this much staked for work */
  uint32_t block_max;          /* the leader seals after this many commands */
  uint32_t channel_len_max;    /* longest PayWord chain (closing costs hashes) */
  uint32_t channel_timeout_min;/* shortest reclaim timeout, in blocks */
};

struct dc_alloc {
  uint8_t account[DC_PK_BYTES];
  uint64_t amount;
  uint64_t stake;              /* staked from the start (dev providers) */
};

enum dc_evidence_kind { DC_EVIDENCE_RESULT_MISMATCH = 1, DC_EVIDENCE_OTHER = 2 };

struct dc_sysop {
  uint8_t version;             /* DC_SYSOP_VERSION */
  uint8_t kind;                /* enum dc_sysop_kind */
  uint8_t account[DC_PK_BYTES];/* escrow/refund: owner; slash/reward: subject;
                                  settle: provider; seal: proposer */
  uint64_t amount;
  char job_id[33];             /* escrow, reserve, settle, refund */
  char task_id[257];           /* reserve, settle */
  uint32_t attempt;            /* reserve, settle */
  /* genesis */
  char chain_id[DC_CHAIN_ID_MAX + 1];
  struct dc_ledger_params params;
  struct dc_alloc *allocs;     /* owned (dc_free via dc_sysop_free) */
  size_t nallocs;
  /* slash */
  uint8_t evidence_kind;       /* enum dc_evidence_kind */
  uint8_t *evidence;           /* owned, <= DC_EVIDENCE_MAX */
  size_t evidence_len;
};

/* Errors as dc_tx_encode / dc_tx_decode. Decoded sysops own allocs and
 * evidence: release with dc_sysop_free (safe on an all-zero struct). */
int dc_sysop_encode(const struct dc_sysop *op, struct dc_buf *out);
int dc_sysop_decode(const uint8_t *p, size_t n, struct dc_sysop *out);
void dc_sysop_free(struct dc_sysop *op);
const char *dc_sysop_kind_name(uint8_t kind);

/* ---- PayWord hash chains ---------------------------------------------------
 * w_n = seed, w_{i-1} = H(w_i), anchor = w_0. Tick i reveals w_i, checked by
 * i hashes down to the anchor (or by one hash against tick i-1). */
/* Computes the anchor of a chain of length n from seed. */
void dc_payword_anchor(const uint8_t seed[DC_HASH_BYTES], uint32_t n,
                       uint8_t anchor[DC_HASH_BYTES]);
/* w_i for i in [0, n]. */
void dc_payword_word(const uint8_t seed[DC_HASH_BYTES], uint32_t n, uint32_t i,
                     uint8_t out[DC_HASH_BYTES]);
/* True if hashing word i times gives anchor. */
bool dc_payword_check(const uint8_t anchor[DC_HASH_BYTES],
                      const uint8_t word[DC_HASH_BYTES], uint32_t i);
/* One-hash check of tick i+1 against the last accepted tick i. */
bool dc_payword_step(const uint8_t prev_word[DC_HASH_BYTES],
                     const uint8_t word[DC_HASH_BYTES]);

/* ---- blocks --------------------------------------------------------------- */
struct dc_block_header {
  uint64_t height;                 /* 0 is the genesis block */
  uint8_t prev[DC_HASH_BYTES];     /* zero for height 0 */
  uint8_t root[DC_HASH_BYTES];     /* Merkle root of the command leaves */
  uint64_t first_index;            /* log index of the first command */
  uint64_t last_index;             /* log index of the last (the seal) */
  uint32_t ncmds;
  uint8_t proposer[DC_PK_BYTES];
  int64_t time_ms;                 /* carried in the seal command */
};

/* A leaf: BLAKE2b(0x00 || u64 index || i32 result code || command bytes),
 * so a block commits to every command and to how the FSM judged it. */
void dc_block_leaf(uint64_t index, int32_t code, const uint8_t *cmd, size_t n,
                   uint8_t out[DC_HASH_BYTES]);
/* Merkle root over n leaves: inner nodes BLAKE2b(0x01 || l || r), an odd
 * node is promoted unchanged, zero leaves give all-zero. leaves is scratch:
 * it is overwritten. */
void dc_merkle_root(uint8_t (*leaves)[DC_HASH_BYTES], size_t n,
                    uint8_t out[DC_HASH_BYTES]);
/* BLAKE2b(DC_BLOCK_TAG || canonical header). */
void dc_block_hash(const struct dc_block_header *h, uint8_t out[DC_HASH_BYTES]);

#endif /* DC_LEDGER_H */
