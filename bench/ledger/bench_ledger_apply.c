/* SPDX-License-Identifier: Apache-2.0
 * bench_ledger_apply: the FSM's side of the transfer path alone, the work
 * of the `local` log's commit thread. Pre-signed transfers among 64
 * accounts are applied through dc_fsm_apply_batch in commits of `commit`
 * transfers (synchronous=FULL, as a master), with a seal_block every
 * `block` transfers. Prints transfers/s, CPU µs and bytes written to
 * storage (WAL, checkpoints) per transfer, and the ratio of the apply rate
 * to the Ed25519 verify rate of one core measured in the same run: the
 * thread that applies the log must outpace the signature checks of the
 * cores for the whole path to reach its target.
 * schema (default: this build's) applies on an older schema's storage, to
 * compare layouts with one binary (4: before the history of v5).
 * Usage: bench_ledger_apply [transfers] [commit] [block] [schema] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "crypto/crypto.h"
#include "fsm/fsm.h"
#include "ledger/ledger.h"
#include "proto/proto.h"
#include "procio.h"

#define CHAIN "bench-apply"
#define NACCTS 64

static double now_s(void) { return (double)dc_mono_ns() / 1e9; }

static double cpu_s(void) {
  struct rusage u;
  getrusage(RUSAGE_SELF, &u);
  return (double)(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         (double)(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

/* Commands are encoded up front; the log assigns indexes at apply. */
struct cmds {
  struct dc_buf *b;
  size_t n;
  int64_t ts;
};

static void add(struct cmds *c, uint16_t type, const struct dc_buf *payload,
                uint32_t schema) {
  struct dc_cmd cmd = {.type = type, .proposal_id = c->n + 1, .ts_ms = ++c->ts};
  if (type == DC_CMD_MIGRATE) cmd.u.migrate.schema_version = schema;
  else {
    cmd.u.blob.data = payload->data;
    cmd.u.blob.len = payload->len;
  }
  c->b[c->n] = (struct dc_buf){0};
  if (dc_cmd_encode(&cmd, &c->b[c->n++])) abort();
}

static void add_sys(struct cmds *c, struct dc_sysop *op) {
  struct dc_buf b = {0};
  op->version = DC_SYSOP_VERSION;
  if (dc_sysop_encode(op, &b)) abort();
  add(c, DC_CMD_LEDGER, &b, 0);
  dc_buf_free(&b);
}

static uint64_t next_index = 1;

static void apply(struct dc_fsm *f, struct dc_buf *b, size_t n) {
  struct dc_fsm_entry *e = calloc(n, sizeof *e);
  struct dc_fsm_result *r = calloc(n, sizeof *r);
  struct dc_errmsg err;
  for (size_t i = 0; i < n; i++) e[i] = (struct dc_fsm_entry){next_index++, b[i].data, b[i].len};
  if (dc_fsm_apply_batch(f, e, n, r, &err)) {
    fprintf(stderr, "apply: %s\n", err.text);
    exit(1);
  }
  for (size_t i = 0; i < n; i++)
    if (r[i].code) {
      fprintf(stderr, "refused: %s\n", r[i].message);
      exit(1);
    }
  free(e);
  free(r);
}

static double verify_rate_1core(void) {
  struct dc_identity id;
  dc_identity_generate(&id);
  struct dc_tx tx = {.version = 1, .kind = DC_TX_TRANSFER, .nonce = 1, .amount = 1};
  memcpy(tx.account, id.pk, 32);
  dc_tx_sign(&tx, CHAIN, &id);
  uint64_t n = 0;
  double t0 = now_s();
  while (now_s() - t0 < 1.0) {
    for (int k = 0; k < 64; k++)
      if (dc_tx_verify(&tx, CHAIN)) abort();
    n += 64;
  }
  dc_identity_close(&id);
  return (double)n / (now_s() - t0);
}

int main(int argc, char **argv) {
  int total = argc > 1 ? atoi(argv[1]) : 60000;
  int commit = argc > 2 ? atoi(argv[2]) : 300;
  int block = argc > 3 ? atoi(argv[3]) : 1000;
  int schema = argc > 4 ? atoi(argv[4]) : DC_FSM_SCHEMA_VERSION;
  if (total < 1 || commit < 1 || block < 1 || schema < 2 ||
      schema > DC_FSM_SCHEMA_VERSION)
    return 2;
  if (dc_crypto_init()) return 1;
  char dir[] = "/tmp/dc-bench-apply.XXXXXX", path[64];
  if (!mkdtemp(dir)) return 1;
  snprintf(path, sizeof path, "%s/state.db", dir);
  struct dc_fsm *f;
  struct dc_errmsg err;
  if (dc_fsm_open(path, true, &f, &err)) return 1;

  /* Schema, genesis, then every transfer signed outside the timing. */
  struct cmds c = {.b = calloc((size_t)total + (size_t)total / block + 4,
                               sizeof *c.b), .ts = 1700000000000LL};
  add(&c, DC_CMD_MIGRATE, NULL, (uint32_t)schema);
  static struct dc_identity id[NACCTS];
  static uint8_t head[NACCTS][DC_HASH_BYTES];
  uint64_t nonce[NACCTS] = {0};
  struct dc_alloc al[NACCTS];
  memset(al, 0, sizeof al);
  for (int i = 0; i < NACCTS; i++) {
    dc_identity_generate(&id[i]);
    memcpy(al[i].account, id[i].pk, 32);
    al[i].amount = 1000000000000ULL;
  }
  struct dc_sysop g = {.kind = DC_SYS_GENESIS, .allocs = al, .nallocs = NACCTS,
                       .params = {.unbonding_blocks = 10, .min_stake = 1,
                                  .block_max = (uint32_t)block,
                                  .channel_len_max = 1000,
                                  .channel_timeout_min = 1}};
  snprintf(g.chain_id, sizeof g.chain_id, CHAIN);
  add_sys(&c, &g);
  apply(f, c.b, c.n);
  size_t setup = c.n;
  for (int k = 0; k < total; k++) {
    int a = k % NACCTS;
    struct dc_tx tx = {.version = DC_TX_VERSION, .kind = DC_TX_TRANSFER,
                       .nonce = ++nonce[a], .amount = 1};
    memcpy(tx.account, id[a].pk, 32);
    memcpy(tx.prev, head[a], DC_HASH_BYTES);
    memcpy(tx.peer, id[(a + 1) % NACCTS].pk, 32);
    dc_tx_sign(&tx, CHAIN, &id[a]);
    dc_tx_hash(&tx, head[a]);
    struct dc_buf b = {0};
    dc_tx_encode(&tx, &b);
    add(&c, DC_CMD_TX, &b, 0);
    dc_buf_free(&b);
    if ((k + 1) % block == 0) {
      struct dc_sysop s = {.kind = DC_SYS_SEAL_BLOCK};
      memcpy(s.account, id[0].pk, 32);
      add_sys(&c, &s);
    }
  }
  double v1 = verify_rate_1core();

  double w0 = bench_written_bytes(0), c0 = cpu_s(), t0 = now_s();
  for (size_t i = setup; i < c.n;) {
    size_t n = DC_MIN((size_t)commit, c.n - i);
    apply(f, c.b + i, n);
    i += n;
  }
  double secs = now_s() - t0, cpu = cpu_s() - c0, wb = bench_written_bytes(0) - w0;
  double rate = total / secs;
  printf("{\"bench\":\"ledger_apply\",\"schema\":%u,\"transfers\":%d,\"commit\":%d,"
         "\"block\":%d,\"transfers_per_s\":%.0f,\"cpu_us_per_transfer\":%.1f,"
         "\"bytes_written_per_transfer\":%.0f,\"ed25519_verify_per_s_1core\":%.0f,"
         "\"ratio_vs_verify_1core\":%.2f}\n",
         dc_fsm_schema_version(f), total, commit, block, rate, cpu * 1e6 / total,
         wb / total, v1, rate / v1);
  dc_fsm_close(f);
  for (size_t i = 0; i < c.n; i++) dc_buf_free(&c.b[i]);
  free(c.b);
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  if (system(cmd)) fprintf(stderr, "could not remove %s\n", dir);
  return 0;
}
