/* SPDX-License-Identifier: Apache-2.0
 * The deepcloud command: one binary, `deepcloud <noun> <verb>`. Each noun
 * lives in its own file; they share the option table, the REST client and
 * these entry points. Every command returns the process exit status. */
#ifndef DC_CLI_H
#define DC_CLI_H

#include "cli/client.h"
#include "cli/options.h"

int cli_master(int argc, char **argv);
/* master list|add|remove (argv[1] is the verb) */
int cli_master_admin(int argc, char **argv);
int cli_master_backup(int argc, char **argv);
int cli_provider(int argc, char **argv);
int cli_dev(int argc, char **argv);
int cli_job(int argc, char **argv);
int cli_node(int argc, char **argv);
int cli_cluster(int argc, char **argv);
int cli_member(int argc, char **argv);
int cli_api(int argc, char **argv);
int cli_wallet(int argc, char **argv);
int cli_ledger(int argc, char **argv);
int cli_sim(int argc, char **argv);
int cli_recommend(int argc, char **argv);
int cli_sim_sched(int argc, char **argv);
int cli_sim_recommend(int argc, char **argv);

/* Global client options, shared by every command that talks to the API. */
#define CLIENT_OPTS(c)                                                       \
  {"api", OPT_STR, &(c)->api, "master API URLs, comma-separated (default " DC_API_DEFAULT ")"}, \
  {"home", OPT_STR, &(c)->home, "folder of your key (default ~/.deepcloud)"}, \
  {"json", OPT_BOOL, &(c)->json, "machine-readable JSON output"}

void client_defaults(struct client *c);
/* Parses opts for a client command; prints errors. Returns -1 to continue,
 * else an exit status (0 after --help). */
int cli_parse(const char *usage, const struct opt *opts, size_t nopts,
              int argc, char **argv, char **pos, size_t *npos);
/* Prints a JSON value (pretty) to stdout. */
void cli_print_json(json_t *v);

#endif
