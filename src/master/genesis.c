/* SPDX-License-Identifier: Apache-2.0
 * The genesis of a real (non-dev) ledger, from a JSON file every master is
 * given: the chain id, the ledger's parameters and the initial allocations.
 * The leader proposes it as the first ledger command when the state has no
 * ledger yet; the FSM accepts only one genesis, so every master derives the
 * same state from the log whichever file a later leader holds. The file is
 * checked whole at start: a bad one stops the master with the reason.
 *
 *   {"chain_id": "deepcloud-main",
 *    "params": {"unbonding_blocks": 100, "min_stake": 1000000,
 *               "block_max": 1000, "channel_len_max": 1000000,
 *               "channel_timeout_min": 10},
 *    "allocations": [{"account": "<64 hex>", "amount": 5000000, "stake": 0}]}
 *
 * `amount` is the account's spendable balance and `stake` (optional) is
 * staked on top of it: the supply is the sum of both over all accounts. */
#include <jansson.h>

#include "master/master_int.h"

static int fail(struct dc_errmsg *err, const char *path, const char *why) {
  dc_errmsg_set(err, "genesis %s: %s", path, why);
  return DC_EINVAL;
}

int master_genesis_load(struct dc_master *m, const char *path, struct dc_errmsg *err) {
  json_error_t je;
  json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
  if (!root) {
    dc_errmsg_set(err, "genesis %s: line %d: %s", path, je.line, je.text);
    return DC_EINVAL;
  }
  const char *chain = NULL;
  json_t *params = NULL, *allocs = NULL;
  json_int_t unb = 0, stake = 0, bmax = 0, clen = 0, ctmo = 0;
  int rc = DC_OK;
  if (json_unpack_ex(root, &je, JSON_STRICT, "{s:s, s:o, s:o}", "chain_id", &chain,
                     "params", &params, "allocations", &allocs) ||
      json_unpack_ex(params, &je, JSON_STRICT, "{s:I, s:I, s:I, s:I, s:I}",
                     "unbonding_blocks", &unb, "min_stake", &stake, "block_max", &bmax,
                     "channel_len_max", &clen, "channel_timeout_min", &ctmo)) {
    rc = fail(err, path, je.text);
    goto done;
  }
  if (!*chain || strlen(chain) > DC_CHAIN_ID_MAX) {
    rc = fail(err, path, "chain_id must be 1 to 64 bytes");
    goto done;
  }
  if (unb < 0 || unb > UINT32_MAX || stake < 0 || bmax < 1 || bmax > UINT32_MAX ||
      clen < 1 || clen > UINT32_MAX || ctmo < 0 || ctmo > UINT32_MAX) {
    rc = fail(err, path, "params out of range (block_max and channel_len_max >= 1, "
                         "all fit 32 bits, min_stake >= 0)");
    goto done;
  }
  size_t n = json_array_size(allocs);
  if (!json_is_array(allocs) || n == 0 || n > DC_GENESIS_ALLOCS_MAX) {
    rc = fail(err, path, "allocations must be an array of 1 to 4096 entries");
    goto done;
  }
  struct dc_alloc *al = dc_calloc(n, sizeof *al);
  if (!al) {
    rc = DC_ENOMEM;
    goto done;
  }
  for (size_t i = 0; i < n && !rc; i++) {
    const char *acct = NULL;
    json_int_t amount = 0, st = 0;
    if (json_unpack_ex(json_array_get(allocs, i), &je, JSON_STRICT, "{s:s, s:I, s?I}",
                       "account", &acct, "amount", &amount, "stake", &st)) {
      char why[300];
      snprintf(why, sizeof why, "allocations[%zu]: %s", i, je.text);
      rc = fail(err, path, why);
    } else if (strlen(acct) != DC_PK_HEX_LEN ||
               dc_hex_decode(acct, al[i].account, DC_PK_BYTES)) {
      char why[120];
      snprintf(why, sizeof why, "allocations[%zu].account must be 64 hex chars", i);
      rc = fail(err, path, why);
    } else if (amount < 0 || st < 0) {
      char why[120];
      snprintf(why, sizeof why, "allocations[%zu]: amounts are micro-DEEP >= 0", i);
      rc = fail(err, path, why);
    } else {
      al[i].amount = (uint64_t)amount;
      al[i].stake = (uint64_t)st;
    }
  }
  if (rc) {
    dc_free(al);
    goto done;
  }
  /* The FSM checks the rest (supply overflow, stakes against amounts):
   * a genesis it refuses is reported when the leader proposes it. */
  struct dc_sysop *op = dc_calloc(1, sizeof *op);
  if (!op) {
    dc_free(al);
    rc = DC_ENOMEM;
    goto done;
  }
  *op = (struct dc_sysop){.version = DC_SYSOP_VERSION, .kind = DC_SYS_GENESIS,
                          .allocs = al, .nallocs = n};
  snprintf(op->chain_id, sizeof op->chain_id, "%s", chain);
  op->params = (struct dc_ledger_params){
      .unbonding_blocks = (uint32_t)unb, .min_stake = (uint64_t)stake,
      .block_max = (uint32_t)bmax, .channel_len_max = (uint32_t)clen,
      .channel_timeout_min = (uint32_t)ctmo};
  m->genesis = op;
done:
  json_decref(root);
  return rc;
}

void master_genesis_free(struct dc_master *m) {
  if (!m->genesis) return;
  dc_free(m->genesis->allocs);
  dc_free(m->genesis);
  m->genesis = NULL;
}
