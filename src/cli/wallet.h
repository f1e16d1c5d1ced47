/* SPDX-License-Identifier: Apache-2.0
 * The wallet's key file and the transactions the CLI builds. Private to the
 * cli (cmd_wallet.c, cmd_ledger.c, wallet_key.c). */
#ifndef DC_CLI_WALLET_H
#define DC_CLI_WALLET_H

#include "cli/cli.h"
#include "crypto/crypto.h"
#include "ledger/ledger.h"

/* The wallet is the CLI's own key (<home>/key, 0600: the account that owns
 * your jobs and pays their budgets), unless a sealed wallet exists:
 * <home>/wallet.key, mode 0600, JSON {"version":1,"pk":hex,"sealed":
 * {"kdf":"argon2id13","opslimit","memlimit","salt","nonce","box"}}
 * (crypto_pwhash + crypto_secretbox), created by `wallet new` with a
 * passphrase. */
#define WALLET_FILE "wallet.key"

/* The passphrase from --passphrase-file FILE (first line) or the
 * DEEPCLOUD_PASSPHRASE environment variable; NULL when neither. */
const char *wallet_passphrase(const char *file);
/* Creates a new wallet key (refuses to overwrite: DC_EEXISTS). */
int wallet_create(const struct client *c, const char *pass,
                  struct dc_identity *id);
/* Loads the wallet key; a missing one is created (unencrypted) when
 * create is set, so commands work on a fresh home. A sealed key needs
 * pass (DC_EUNAUTH when missing or wrong). Prints its errors. */
int wallet_load(const struct client *c, const char *pass, bool create,
                struct dc_identity *id);
/* Parses "12", "0.5", "1.000001" DEEP into micro-DEEP; no floating point.
 * Errors: DC_EINVAL. */
int wallet_parse_amount(const char *s, uint64_t *out);
/* "12.345678" */
void wallet_format_amount(uint64_t micro, char *out, size_t outsz);
/* Fills version, account, nonce and prev from the API and signs with id;
 * returns an exit status (0: ready to post). */
int wallet_prepare(const struct client *c, const struct dc_identity *id,
                   struct dc_tx *tx, const char *what);
/* Posts a signed transaction and prints the result (or --json). */
int wallet_post(const struct client *c, const struct dc_tx *tx,
                const char *what);
/* prepare + post. Returns the exit status. */
int wallet_send(const struct client *c, const struct dc_identity *id,
                struct dc_tx *tx, const char *what);

/* deepcloud wallet channel … (cmd_channel.c) */
int cli_wallet_channel(int argc, char **argv);

#endif
