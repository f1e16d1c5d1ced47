/* SPDX-License-Identifier: Apache-2.0
 * The deepcloud command: dispatch on the noun. */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "crypto/crypto.h"

#define DC_VERSION "0.1.0"

void client_defaults(struct client *c) {
  static char home[4096];
  memset(c, 0, sizeof *c);
  c->api = getenv("DEEPCLOUD_API") ? getenv("DEEPCLOUD_API") : DC_API_DEFAULT;
  const char *h = getenv("DEEPCLOUD_HOME");
  if (h && *h) {
    c->home = h;
  } else {
    snprintf(home, sizeof home, "%s/.deepcloud", getenv("HOME") ? getenv("HOME") : ".");
    c->home = home;
  }
}

int cli_parse(const char *usage, const struct opt *opts, size_t nopts,
              int argc, char **argv, char **pos, size_t *npos) {
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--")) break;
    if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
      printf("usage: %s\noptions:\n", usage);
      opts_usage(opts, nopts);
      return 0;
    }
  }
  struct dc_errmsg err = {{0}};
  if (opts_parse(opts, nopts, argc, argv, pos, npos, &err)) {
    fprintf(stderr, "error: %s\nusage: %s (see --help)\n", err.text, usage);
    return 2;
  }
  return -1;
}

void cli_print_json(json_t *v) {
  char *s = json_dumps(v, JSON_INDENT(2) | JSON_ENCODE_ANY);
  if (s) puts(s);
  free(s);
}

static int usage(FILE *f) {
  fprintf(f,
          "usage: deepcloud <command> [options]\n"
          "\n"
          "Roles:\n"
          "  dev        a local cloud: one master and N providers on this machine\n"
          "  master     run a master node\n"
          "  provider   run a provider agent (as root: it sandboxes tasks)\n"
          "\n"
          "Client commands (talk to --api URL, DEEPCLOUD_API, default %s):\n"
          "  job        run | list | status | logs | cancel\n"
          "  node       list | show\n"
          "  cluster    list: service clusters, demand forecasts, moves of dynamic providers\n"
          "  member     list: gossip membership as a master sees it\n"
          "  wallet     new | show | balance | transfer | stake | unstake | withdraw |\n"
          "             history | faucet\n"
          "  ledger     blocks | block N | tx HASH | verify [--from-genesis]\n"
          "  api        METHOD PATH: a signed request to any API route\n"
          "  recommend  SPEC: what to ask for, from your past runs (cpu, memory, time, cost)\n"
          "  sim        gossip | sched | recommend: the deterministic simulators\n"
          "  version    print the version\n"
          "\n"
          "Every command takes --help. Exit status is 0 only on success.\n",
          DC_API_DEFAULT);
  return f == stderr ? 2 : 0;
}

int main(int argc, char **argv) {
  if (dc_crypto_init()) {
    fprintf(stderr, "error: libsodium failed to initialise\n");
    return 1;
  }
  if (argc < 2) return usage(stderr);
  const char *noun = argv[1];
  if (!strcmp(noun, "--help") || !strcmp(noun, "-h") || !strcmp(noun, "help"))
    return usage(stdout);
  if (!strcmp(noun, "version") || !strcmp(noun, "--version")) {
    printf("deepcloud %s\n", DC_VERSION);
    return 0;
  }
  if (!strcmp(noun, "master")) return cli_master(argc - 1, argv + 1);
  if (!strcmp(noun, "provider")) return cli_provider(argc - 1, argv + 1);
  if (!strcmp(noun, "dev")) return cli_dev(argc - 1, argv + 1);
  if (!strcmp(noun, "sim")) return cli_sim(argc - 1, argv + 1);
  curl_global_init(CURL_GLOBAL_DEFAULT);
  int rc;
  if (!strcmp(noun, "job")) rc = cli_job(argc - 1, argv + 1);
  else if (!strcmp(noun, "node")) rc = cli_node(argc - 1, argv + 1);
  else if (!strcmp(noun, "cluster")) rc = cli_cluster(argc - 1, argv + 1);
  else if (!strcmp(noun, "member")) rc = cli_member(argc - 1, argv + 1);
  else if (!strcmp(noun, "api")) rc = cli_api(argc - 1, argv + 1);
  else if (!strcmp(noun, "wallet")) rc = cli_wallet(argc - 1, argv + 1);
  else if (!strcmp(noun, "recommend")) rc = cli_recommend(argc - 1, argv + 1);
  else if (!strcmp(noun, "ledger")) rc = cli_ledger(argc - 1, argv + 1);
  else {
    fprintf(stderr, "error: unknown command \"%s\"\n", noun);
    rc = usage(stderr);
  }
  curl_global_cleanup();
  return rc;
}
