/* SPDX-License-Identifier: Apache-2.0
 * Property test of the ledger on the real FSM: thousands of random
 * operations, valid and invalid (random amounts, wrong nonces and heads,
 * bad signatures, overdrafts, double settles, out-of-order channel closes).
 * After every step: held == genesis + rewards - slashes; every refused
 * operation left every state table unchanged. At the end the log replays
 * into an empty database with the same block hashes and state hash, and
 * `ledger verify` passes. DC_PROP_SEED / DC_PROP_STEPS override the run. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lfx.h"

#define MAX_CH 64
#define MAX_JOBS 32
#define MAX_TASKS 128

struct ch { uint8_t id[32], seed[32]; uint32_t len; int payer, payee; };
struct task { int job; char id[40]; int node; uint32_t attempt; };

struct prop {
  struct lfx x;
  uint64_t rng;
  uint64_t supply;                  /* model: genesis + rewards - slashes */
  struct ch ch[MAX_CH];
  int nch;
  char jobs[MAX_JOBS][33];
  int job_owner[MAX_JOBS];
  int njobs;
  struct task tasks[MAX_TASKS];
  int ntasks;
  unsigned accepted, refused, presig;
};

static uint64_t rnd(struct prop *p) {
  /* splitmix64: the run is reproducible from its seed. */
  uint64_t z = (p->rng += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}
static uint64_t below(struct prop *p, uint64_t n) { return n ? rnd(p) % n : 0; }
static int who(struct prop *p) { return (int)below(p, LFX_ACCOUNTS); }

/* An amount: mostly small, sometimes huge (overdrafts, overflow). */
static uint64_t amount(struct prop *p) {
  switch (below(p, 8)) {
  case 0: return 0;
  case 1: return rnd(p);
  case 2: return below(p, 10000000);
  default: return 1 + below(p, 5000);
  }
}

/* Signs as ids[w], then maybe corrupts nonce, prev or signature. */
static int user_tx(struct prop *p, int w, struct dc_tx *t,
                   struct dc_fsm_result *r) {
  lfx_prepare(&p->x, w, t);
  switch (below(p, 12)) {
  case 0: /* wrong nonce */
    t->nonce += below(p, 2) ? 1 : (uint64_t)-1;
    dc_tx_sign(t, LFX_CHAIN, &p->x.ids[w]);
    break;
  case 1: /* wrong head */
    t->prev[below(p, 32)] ^= 0x40;
    dc_tx_sign(t, LFX_CHAIN, &p->x.ids[w]);
    break;
  case 2: /* bad signature */
    t->sig[below(p, 64)] ^= 0x01;
    break;
  case 3: /* signed, then altered */
    t->amount ^= 1;
    break;
  default:
    break;
  }
  return lfx_submit(&p->x, t, r);
}

static void op_channel_open(struct prop *p, struct dc_fsm_result *r, int *pre) {
  int w = who(p), to = who(p);
  struct dc_tx t = {.kind = DC_TX_CHANNEL_OPEN, .amount = 1 + below(p, 20),
                    .length = (uint32_t)(1 + below(p, 1200)),
                    .timeout_blocks = (uint32_t)below(p, 5)};
  uint8_t seed[32];
  dc_random(seed, 32);
  dc_payword_anchor(seed, t.length, t.hash);
  memcpy(t.peer, p->x.ids[to].pk, 32);
  *pre = user_tx(p, w, &t, r);
  if (!*pre && r->code == DC_OK && p->nch < MAX_CH) {
    struct ch *c = &p->ch[p->nch++];
    dc_hex_decode(r->ref, c->id, 32);
    memcpy(c->seed, seed, 32);
    c->len = t.length;
    c->payer = w;
    c->payee = to;
  }
}

static void op_channel_end(struct prop *p, struct dc_fsm_result *r, int *pre) {
  struct dc_tx t = {0};
  struct ch none = {.len = 5};
  struct ch *c = p->nch && below(p, 8) ? &p->ch[below(p, (uint64_t)p->nch)] : &none;
  if (c == &none) dc_random(none.id, 32);
  memcpy(t.channel, c->id, 32);
  int w;
  if (below(p, 3) == 0) {
    t.kind = DC_TX_CHANNEL_RECLAIM;
    w = below(p, 5) ? c->payer : who(p);
  } else {
    t.kind = DC_TX_CHANNEL_CLOSE;
    t.length = (uint32_t)below(p, (uint64_t)c->len + 2);
    /* Right preimage for the claimed count, or one tick off. */
    uint32_t real = below(p, 4) ? t.length : t.length + 1;
    dc_payword_word(c->seed, c->len, DC_MIN(real, c->len), t.hash);
    w = below(p, 5) ? c->payee : who(p);
  }
  *pre = user_tx(p, w, &t, r);
}

static void op_escrow(struct prop *p, struct dc_fsm_result *r) {
  struct dc_sysop op = {.amount = amount(p)};
  int j = p->njobs && below(p, 4) ? (int)below(p, (uint64_t)p->njobs) : -1;
  switch (below(p, 4)) {
  case 0: /* lock a new (or, sometimes, an existing) job */
    op.kind = DC_SYS_ESCROW_LOCK;
    if (j < 0 || below(p, 2)) {
      dc_random_hex(op.job_id, 16);
      j = -1;
    } else {
      memcpy(op.job_id, p->jobs[j], 33);
    }
    {
      int w = who(p);
      memcpy(op.account, p->x.ids[w].pk, 32);
      *r = lfx_sys(&p->x, &op);
      if (r->code == DC_OK && j < 0 && p->njobs < MAX_JOBS) {
        memcpy(p->jobs[p->njobs], op.job_id, 33);
        p->job_owner[p->njobs++] = w;
      }
    }
    return;
  case 1: { /* reserve for a task attempt on some node */
    if (j < 0) j = p->njobs ? 0 : -1;
    op.kind = DC_SYS_RESERVE;
    if (j < 0) dc_random_hex(op.job_id, 16); else memcpy(op.job_id, p->jobs[j], 33);
    int node = who(p);
    memcpy(op.account, p->x.ids[node].pk, 32);
    op.amount = below(p, 3) ? 1 + below(p, 3000) : amount(p);
    struct task tk = {.job = j, .node = node, .attempt = (uint32_t)below(p, 3)};
    snprintf(tk.id, sizeof tk.id, "t%u", (unsigned)below(p, 40));
    snprintf(op.task_id, sizeof op.task_id, "%s", tk.id);
    op.attempt = tk.attempt;
    *r = lfx_sys(&p->x, &op);
    if (r->code == DC_OK && p->ntasks < MAX_TASKS) p->tasks[p->ntasks++] = tk;
    return;
  }
  case 2: { /* settle (maybe twice, maybe over, maybe the wrong node) */
    op.kind = DC_SYS_SETTLE;
    struct task *tk = p->ntasks ? &p->tasks[below(p, (uint64_t)p->ntasks)] : NULL;
    if (!tk || tk->job < 0) {
      dc_random_hex(op.job_id, 16);
      snprintf(op.task_id, sizeof op.task_id, "nope");
    } else {
      memcpy(op.job_id, p->jobs[tk->job], 33);
      snprintf(op.task_id, sizeof op.task_id, "%s", tk->id);
      op.attempt = below(p, 6) ? tk->attempt : tk->attempt + 1;
    }
    int node = tk && below(p, 6) ? tk->node : who(p);
    memcpy(op.account, p->x.ids[node].pk, 32);
    op.amount = below(p, 4) ? below(p, 3000) : amount(p);
    *r = lfx_sys(&p->x, &op);
    return;
  }
  default: /* refund, by the owner or not */
    op.kind = DC_SYS_REFUND;
    op.amount = below(p, 6) ? 0 : 1;
    if (j < 0) dc_random_hex(op.job_id, 16); else memcpy(op.job_id, p->jobs[j], 33);
    memcpy(op.account, p->x.ids[j >= 0 && below(p, 5) ? p->job_owner[j] : who(p)].pk, 32);
    *r = lfx_sys(&p->x, &op);
    return;
  }
}

static void step(struct prop *p) {
  uint8_t before[32], after[32];
  lfx_state_hash(&p->x, before);
  struct dc_fsm_result r;
  memset(&r, 0, sizeof r);
  int pre = DC_OK;
  int w = who(p);
  struct dc_tx t = {.amount = amount(p)};
  uint64_t k = below(p, 100);
  if (k < 30) {
    t.kind = DC_TX_TRANSFER;
    memcpy(t.peer, p->x.ids[who(p)].pk, 32);
    pre = user_tx(p, w, &t, &r);
  } else if (k < 38) {
    t.kind = DC_TX_STAKE;
    pre = user_tx(p, w, &t, &r);
  } else if (k < 44) {
    t.kind = DC_TX_UNSTAKE;
    pre = user_tx(p, w, &t, &r);
  } else if (k < 48) {
    t.kind = DC_TX_WITHDRAW;
    pre = user_tx(p, w, &t, &r);
  } else if (k < 55) {
    op_channel_open(p, &r, &pre);
  } else if (k < 64) {
    op_channel_end(p, &r, &pre);
  } else if (k < 84) {
    op_escrow(p, &r);
  } else if (k < 88) {
    struct dc_sysop op = {.kind = DC_SYS_SLASH, .amount = amount(p) % 3000,
                          .evidence_kind = below(p, 5) ? 1 : 9};
    uint8_t ev[16];
    dc_random(ev, sizeof ev);
    op.evidence = below(p, 6) ? ev : NULL;
    op.evidence_len = op.evidence ? sizeof ev : 0;
    memcpy(op.account, p->x.ids[w].pk, 32);
    r = lfx_sys(&p->x, &op);
    if (r.code == DC_OK) p->supply -= op.amount;
  } else if (k < 91) {
    struct dc_sysop op = {.kind = DC_SYS_REWARD, .amount = amount(p)};
    memcpy(op.account, p->x.ids[w].pk, 32);
    r = lfx_sys(&p->x, &op);
    if (r.code == DC_OK) p->supply += op.amount;
  } else if (k < 93) {
    uint8_t junk[40];
    dc_random(junk, sizeof junk);
    r = lfx_apply_raw(&p->x, below(p, 2) ? DC_CMD_TX : DC_CMD_LEDGER, junk,
                      1 + below(p, sizeof junk));
  } else {
    r = lfx_seal(&p->x);
  }
  lfx_state_hash(&p->x, after);
  if (pre != DC_OK) {
    p->presig++;
    assert_memory_equal(before, after, 32);
  } else if (r.code != DC_OK) {
    p->refused++;
    if (memcmp(before, after, 32) != 0)
      fail_msg("refused op changed state: %s", r.message);
  } else {
    p->accepted++;
  }
  uint64_t held, supply;
  lfx_totals(&p->x, &held, &supply);
  assert_int_equal(supply, p->supply);
  assert_int_equal(held, p->supply);
}

static void replay_matches(struct prop *p) {
  char path[400];
  snprintf(path, sizeof path, "%s/replay.db", p->x.dir);
  struct dc_fsm *g;
  struct dc_errmsg err;
  assert_int_equal(dc_fsm_open(path, false, &g, &err), DC_OK);
  sqlite3_stmt *s;
  assert_int_equal(sqlite3_prepare_v2(dc_fsm_db(p->x.f),
                                      "SELECT idx, data FROM log ORDER BY idx",
                                      -1, &s, NULL), SQLITE_OK);
  /* In uneven batches: batching must not change any outcome. */
  struct dc_fsm_entry e[64];
  uint8_t *copies[64];
  struct dc_fsm_result res[64];
  size_t n = 0, want = 1;
  for (;;) {
    bool row = sqlite3_step(s) == SQLITE_ROW;
    if (row) {
      size_t len = (size_t)sqlite3_column_bytes(s, 1);
      copies[n] = malloc(len);
      memcpy(copies[n], sqlite3_column_blob(s, 1), len);
      e[n] = (struct dc_fsm_entry){(uint64_t)sqlite3_column_int64(s, 0), copies[n], len};
      n++;
    }
    if ((n == want || !row) && n) {
      assert_int_equal(dc_fsm_apply_batch(g, e, n, res, &err), DC_OK);
      for (size_t i = 0; i < n; i++) free(copies[i]);
      n = 0;
      want = want % 63 + 1;
    }
    if (!row) break;
  }
  sqlite3_finalize(s);
  uint8_t a[32], b[32];
  lfx_state_hash(&p->x, a);
  assert_int_equal(dc_fsm_state_hash(dc_fsm_db(g), b), DC_OK);
  assert_memory_equal(a, b, 32); /* includes every block hash */
  dc_fsm_close(g);

  struct dc_fsm_verify_report rep;
  sqlite3 *src;
  snprintf(path, sizeof path, "%s/verify.db", p->x.dir);
  assert_int_equal(dc_fsm_open_reader(p->x.path, &src), DC_OK);
  assert_int_equal(dc_fsm_verify_chain(src, path, true, &rep, &err), DC_OK);
  sqlite3_close(src);
  if (!rep.ok) fail_msg("verify: %s", rep.message);
  assert_true(rep.tail_complete);
}

void test_prop_random_ops(void **state) {
  (void)state;
  struct prop *p = calloc(1, sizeof *p);
  const char *seed = getenv("DC_PROP_SEED"), *steps = getenv("DC_PROP_STEPS");
  p->rng = seed ? strtoull(seed, NULL, 0) : 0x5eed1edbeefULL;
  unsigned n = steps ? (unsigned)strtoul(steps, NULL, 0) : 3000;
  lfx_open(&p->x);
  static const struct dc_ledger_params pr = {
      .unbonding_blocks = 2, .min_stake = 500, .block_max = 32,
      .channel_len_max = 1000, .channel_timeout_min = 1};
  assert_int_equal(lfx_genesis(&p->x, 20000, 1000, &pr).code, DC_OK);
  p->supply = 20000ULL * LFX_ACCOUNTS + 2000;
  for (unsigned i = 0; i < n; i++) step(p);
  print_message("prop: %u steps, %u accepted, %u refused by the FSM, %u "
                "refused before proposing; %lld blocks\n", n, p->accepted,
                p->refused, p->presig,
                (long long)lfx_int(&p->x, "SELECT COUNT(*) FROM blocks"));
  /* Each kind of rule really fired (on a run long enough to say). */
  if (n >= 1000) {
    assert_true(p->accepted > n / 5);
    assert_true(p->refused > n / 5);
    assert_true(lfx_int(&p->x, "SELECT COUNT(*) FROM channels WHERE state = 'closed'") > 0);
    assert_true(lfx_int(&p->x, "SELECT COUNT(*) FROM reservations WHERE state = 'settled'") > 0);
    assert_true(lfx_int(&p->x, "SELECT COUNT(*) FROM ledger_tx WHERE kind = 'withdraw'") > 0);
  }
  /* Every kind of row (transfers, channels, escrow, slash, reward) is in
   * the history of each account it names, in order. */
  assert_true(lfx_check_history(&p->x) > 0);
  replay_matches(p);
  lfx_close(&p->x);
  free(p);
}
