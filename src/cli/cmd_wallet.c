/* SPDX-License-Identifier: Apache-2.0
 * deepcloud wallet new|show|balance|transfer|stake|unstake|withdraw|history|
 * faucet: a key file of your own and signed transactions through the API.
 * Amounts are DEEP with up to six decimals ("12.5"); --json prints
 * micro-DEEP integers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/wallet.h"

struct wopts {
  struct client c;
  const char *passfile;
};

#define WALLET_OPTS(w)                                                         \
  CLIENT_OPTS(&(w)->c),                                                        \
  {"passphrase-file", OPT_STR, &(w)->passfile,                                 \
   "file whose first line is the wallet passphrase (or DEEPCLOUD_PASSPHRASE)"}

static int parse(struct wopts *w, const char *usage, int argc, char **argv,
                 char **pos, size_t *npos, size_t want) {
  client_defaults(&w->c);
  w->passfile = NULL;
  struct opt opts[] = {WALLET_OPTS(w)};
  int rc = cli_parse(usage, opts, DC_ARRAY_LEN(opts), argc, argv, pos, npos);
  if (rc >= 0) return rc;
  if (*npos != want) {
    fprintf(stderr, "usage: %s\n", usage);
    return 2;
  }
  return -1;
}

static int load(struct wopts *w, struct dc_identity *id) {
  return wallet_load(&w->c, wallet_passphrase(w->passfile), true, id) ? 1 : 0;
}

static int w_new(int argc, char **argv) {
  struct wopts w;
  char *pos[1];
  size_t npos = 0;
  int rc = parse(&w, "deepcloud wallet new [--passphrase-file FILE]", argc, argv,
                 pos, &npos, 0);
  if (rc >= 0) return rc;
  struct dc_identity id = {0};
  const char *pass = wallet_passphrase(w.passfile);
  if (wallet_create(&w.c, pass, &id)) return 1;
  char hex[DC_PK_HEX_LEN + 1];
  dc_identity_hex(&id, hex);
  dc_identity_close(&id);
  if (w.c.json) {
    json_t *j = json_pack("{s:s, s:b}", "account", hex, "sealed", pass != NULL);
    cli_print_json(j);
    json_decref(j);
  } else
    printf("new wallet %s (%s) in %s/%s\n", hex,
           pass ? "sealed with your passphrase" : "not encrypted", w.c.home,
           WALLET_FILE);
  return 0;
}

static int w_show(int argc, char **argv, bool balance_only) {
  struct wopts w;
  char *pos[1];
  size_t npos = 0;
  int rc = parse(&w, balance_only ? "deepcloud wallet balance" : "deepcloud wallet show",
                 argc, argv, pos, &npos, 0);
  if (rc >= 0) return rc;
  struct dc_identity id = {0};
  if (load(&w, &id)) return 1;
  char hex[DC_PK_HEX_LEN + 1], path[128];
  dc_identity_hex(&id, hex);
  dc_identity_close(&id);
  snprintf(path, sizeof path, "/v1/accounts/%s", hex);
  json_t *a = NULL;
  if ((rc = client_get(&w.c, "wallet balance", path, &a)) >= 0) return rc;
  if (w.c.json) {
    cli_print_json(a);
  } else {
    static const char *const f[] = {"balance", "staked", "unbonding", "locked"};
    if (!balance_only) printf("account   %s\n", hex);
    for (size_t i = 0; i < DC_ARRAY_LEN(f); i++) {
      char amt[40];
      wallet_format_amount((uint64_t)json_integer_value(json_object_get(a, f[i])),
                           amt, sizeof amt);
      printf("%-9s %s DEEP\n", f[i], amt);
    }
    if (!balance_only) {
      printf("nonce     %lld\nchain     %s\n",
             (long long)json_integer_value(json_object_get(a, "nonce")),
             json_string_value(json_object_get(a, "chain_id")));
      size_t i;
      json_t *u;
      json_array_foreach(json_object_get(a, "unbonding_entries"), i, u) {
        char amt[40];
        wallet_format_amount((uint64_t)json_integer_value(json_object_get(u, "amount")),
                             amt, sizeof amt);
        printf("unbonding %s DEEP spendable from block %lld (then: wallet withdraw)\n",
               amt, (long long)json_integer_value(json_object_get(u, "release_height")));
      }
    }
  }
  json_decref(a);
  return 0;
}

/* transfer TO AMOUNT | stake AMOUNT | unstake AMOUNT | withdraw */
static int w_tx(int argc, char **argv, uint8_t kind) {
  struct wopts w;
  char *pos[3];
  size_t npos = 3;
  const char *usage = kind == DC_TX_TRANSFER ? "deepcloud wallet transfer ACCOUNT AMOUNT"
                      : kind == DC_TX_STAKE  ? "deepcloud wallet stake AMOUNT"
                      : kind == DC_TX_UNSTAKE ? "deepcloud wallet unstake AMOUNT"
                                              : "deepcloud wallet withdraw";
  size_t want = kind == DC_TX_TRANSFER ? 2 : kind == DC_TX_WITHDRAW ? 0 : 1;
  int rc = parse(&w, usage, argc, argv, pos, &npos, want);
  if (rc >= 0) return rc;
  struct dc_tx tx = {.kind = kind};
  if (kind == DC_TX_TRANSFER &&
      (strlen(pos[0]) != DC_PK_HEX_LEN || dc_hex_decode(pos[0], tx.peer, DC_PK_BYTES))) {
    fprintf(stderr, "error: ACCOUNT is a 64-hex-character public key\n");
    return 2;
  }
  if (want && wallet_parse_amount(pos[want - 1], &tx.amount)) {
    fprintf(stderr, "error: AMOUNT is DEEP with at most 6 decimals, e.g. 12.5\n");
    return 2;
  }
  struct dc_identity id = {0};
  if (load(&w, &id)) return 1;
  rc = wallet_send(&w.c, &id, &tx, dc_tx_kind_name(kind));
  dc_identity_close(&id);
  return rc;
}

static int w_history(int argc, char **argv) {
  struct wopts w;
  char *pos[1];
  size_t npos = 0;
  int rc = parse(&w, "deepcloud wallet history", argc, argv, pos, &npos, 0);
  if (rc >= 0) return rc;
  struct dc_identity id = {0};
  if (load(&w, &id)) return 1;
  char hex[DC_PK_HEX_LEN + 1], path[160];
  dc_identity_hex(&id, hex);
  dc_identity_close(&id);
  snprintf(path, sizeof path, "/v1/accounts/%s/history?limit=1000", hex);
  json_t *h = NULL;
  if ((rc = client_get(&w.c, "wallet history", path, &h)) >= 0) return rc;
  if (w.c.json) {
    cli_print_json(h);
  } else {
    printf("%-8s %-6s %-15s %20s  %-16s %s\n", "INDEX", "BLOCK", "KIND", "AMOUNT",
           "COUNTERPARTY", "REF");
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(h, "history"), i, t) {
      const char *acct = json_string_value(json_object_get(t, "account"));
      const char *peer = json_string_value(json_object_get(t, "peer"));
      bool mine = acct && strcmp(acct, hex) == 0;
      const char *other = mine ? peer : acct;
      char amt[40];
      wallet_format_amount((uint64_t)json_integer_value(json_object_get(t, "amount")),
                           amt, sizeof amt);
      printf("%-8lld %-6lld %-15s %c%19s  %-16.16s %s\n",
             (long long)json_integer_value(json_object_get(t, "index")),
             (long long)json_integer_value(json_object_get(t, "block")),
             json_string_value(json_object_get(t, "kind")),
             peer && !mine ? '+' : ' ', amt, other ? other : "-",
             json_string_value(json_object_get(t, "ref")) ?: "");
    }
  }
  json_decref(h);
  return 0;
}

static int w_faucet(int argc, char **argv) {
  struct wopts w;
  char *pos[2];
  size_t npos = 2;
  client_defaults(&w.c);
  w.passfile = NULL;
  struct opt opts[] = {WALLET_OPTS(&w)};
  int rc = cli_parse("deepcloud wallet faucet [AMOUNT] (dev clouds only)", opts,
                     DC_ARRAY_LEN(opts), argc, argv, pos, &npos);
  if (rc >= 0) return rc;
  uint64_t amount = 1000 * DC_MICRO_PER_DEEP;
  if (npos > 1 || (npos == 1 && wallet_parse_amount(pos[0], &amount))) {
    fprintf(stderr, "usage: deepcloud wallet faucet [AMOUNT in DEEP]\n");
    return 2;
  }
  struct dc_identity id = {0};
  if (load(&w, &id)) return 1;
  char hex[DC_PK_HEX_LEN + 1];
  dc_identity_hex(&id, hex);
  dc_identity_close(&id);
  json_t *body = json_pack("{s:s, s:I}", "account", hex, "amount", (json_int_t)amount);
  char *text = json_dumps(body, JSON_COMPACT);
  json_decref(body);
  long status = 0;
  json_t *resp = NULL;
  rc = client_call(&w.c, "POST", "/v1/faucet", text, strlen(text), NULL, &status, &resp);
  free(text);
  if (rc) return 1;
  if (status != 200) {
    rc = client_report("wallet faucet", status, resp);
  } else if (w.c.json) {
    cli_print_json(resp);
  } else {
    char amt[40];
    wallet_format_amount(amount, amt, sizeof amt);
    printf("received %s DEEP (%s)\n", amt,
           json_string_value(json_object_get(resp, "hash")));
  }
  json_decref(resp);
  return rc;
}

int cli_wallet(int argc, char **argv) {
  const char *verb = argc > 1 ? argv[1] : "";
  if (!strcmp(verb, "new")) return w_new(argc - 1, argv + 1);
  if (!strcmp(verb, "show")) return w_show(argc - 1, argv + 1, false);
  if (!strcmp(verb, "balance")) return w_show(argc - 1, argv + 1, true);
  if (!strcmp(verb, "transfer")) return w_tx(argc - 1, argv + 1, DC_TX_TRANSFER);
  if (!strcmp(verb, "stake")) return w_tx(argc - 1, argv + 1, DC_TX_STAKE);
  if (!strcmp(verb, "unstake")) return w_tx(argc - 1, argv + 1, DC_TX_UNSTAKE);
  if (!strcmp(verb, "withdraw")) return w_tx(argc - 1, argv + 1, DC_TX_WITHDRAW);
  if (!strcmp(verb, "history")) return w_history(argc - 1, argv + 1);
  if (!strcmp(verb, "faucet")) return w_faucet(argc - 1, argv + 1);
  if (!strcmp(verb, "channel")) return cli_wallet_channel(argc - 1, argv + 1);
  fprintf(stderr, "usage: deepcloud wallet new|show|balance|transfer|stake|unstake|"
                  "withdraw|history|faucet|channel [--help]\n");
  return 2;
}
