/* SPDX-License-Identifier: Apache-2.0
 * deepcloud ledger blocks|block N|tx HASH|verify: the chain through the API,
 * and an offline audit of a master's data folder. */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/wallet.h"
#include "fsm/fsm.h"

static int get_and_print(int argc, char **argv, const char *usage,
                         const char *prefix, size_t want,
                         void (*human)(json_t *r)) {
  struct client c;
  client_defaults(&c);
  struct opt opts[] = {CLIENT_OPTS(&c)};
  char *pos[2];
  size_t npos = 2;
  int rc = cli_parse(usage, opts, DC_ARRAY_LEN(opts), argc, argv, pos, &npos);
  if (rc >= 0) return rc;
  if (npos != want) {
    fprintf(stderr, "usage: %s\n", usage);
    return 2;
  }
  char path[256];
  snprintf(path, sizeof path, "%s%s", prefix, want ? pos[0] : "");
  json_t *r = NULL;
  if ((rc = client_get(&c, usage + 10, path, &r)) >= 0) return rc;
  if (c.json || !human)
    cli_print_json(r);
  else
    human(r);
  json_decref(r);
  return 0;
}

static void blocks_human(json_t *r) {
  printf("%-7s %-16s %6s %8s %8s  %s\n", "HEIGHT", "HASH", "CMDS", "FIRST", "LAST",
         "TIME_MS");
  size_t i;
  json_t *b;
  json_array_foreach(json_object_get(r, "blocks"), i, b)
    printf("%-7lld %-16.16s %6lld %8lld %8lld  %lld\n",
           (long long)json_integer_value(json_object_get(b, "height")),
           json_string_value(json_object_get(b, "hash")),
           (long long)json_integer_value(json_object_get(b, "ncmds")),
           (long long)json_integer_value(json_object_get(b, "first_index")),
           (long long)json_integer_value(json_object_get(b, "last_index")),
           (long long)json_integer_value(json_object_get(b, "time_ms")));
}

/* Copies a live database consistently (SQLite's online backup), so the
 * audit reads a fixed snapshot and never touches the master's file. */
static int snapshot(const char *src_path, const char *dst_path) {
  sqlite3 *src = NULL, *dst = NULL;
  int rc = sqlite3_open_v2(src_path, &src, SQLITE_OPEN_READONLY, NULL);
  if (rc == SQLITE_OK) rc = sqlite3_open(dst_path, &dst);
  if (rc == SQLITE_OK) {
    sqlite3_backup *b = sqlite3_backup_init(dst, "main", src, "main");
    rc = b ? sqlite3_backup_step(b, -1) : SQLITE_ERROR;
    if (b) sqlite3_backup_finish(b);
    rc = rc == SQLITE_DONE ? SQLITE_OK : rc;
  }
  sqlite3_close(src);
  sqlite3_close(dst);
  return rc == SQLITE_OK ? DC_OK : DC_EDB;
}

static int verify(int argc, char **argv) {
  struct client c;
  client_defaults(&c);
  const char *data = "./deepcloud-master";
  bool full = false;
  struct opt opts[] = {
      CLIENT_OPTS(&c),
      {"data", OPT_STR, &data, "the master's data folder (holds state.db)"},
      {"from-genesis", OPT_BOOL, &full,
       "also replay every command from the genesis and compare outcomes and state"},
  };
  char *pos[1];
  size_t npos = 0;
  const char *usage = "deepcloud ledger verify [--from-genesis] [--data DIR]";
  int rc = cli_parse(usage, opts, DC_ARRAY_LEN(opts), argc, argv, pos, &npos);
  if (rc >= 0) return rc;
  char src[4200], tmp[] = "/tmp/dc-verify.XXXXXX", copy[64], scratch[64];
  snprintf(src, sizeof src, "%s/state.db", data);
  if (access(src, R_OK) != 0) {
    fprintf(stderr, "error: no %s: --data names a master's data folder\n", src);
    return 2;
  }
  if (!mkdtemp(tmp)) return 1;
  snprintf(copy, sizeof copy, "%s/copy.db", tmp);
  snprintf(scratch, sizeof scratch, "%s/replay.db", tmp);
  uint64_t t0 = dc_mono_ns();
  if (snapshot(src, copy)) {
    fprintf(stderr, "error: cannot copy %s\n", src);
    return 1;
  }
  sqlite3 *db = NULL;
  struct dc_fsm_verify_report rep;
  struct dc_errmsg err = {{0}};
  rc = dc_fsm_open_reader(copy, &db);
  if (!rc) rc = dc_fsm_verify_chain(db, scratch, full, &rep, &err);
  sqlite3_close(db);
  double secs = (double)(dc_mono_ns() - t0) / 1e9;
  char cmd[4300];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
  if (system(cmd) != 0) fprintf(stderr, "warning: could not remove %s\n", tmp);
  if (rc) {
    fprintf(stderr, "error: verify: %s\n", err.text[0] ? err.text : dc_strerror(rc));
    return 1;
  }
  if (c.json) {
    json_t *j = json_pack("{s:b, s:I, s:I, s:I, s:I, s:b, s:f, s:f}", "ok", rep.ok,
                          "blocks", (json_int_t)rep.blocks, "commands",
                          (json_int_t)rep.commands, "txs", (json_int_t)rep.txs,
                          "tail", (json_int_t)rep.tail, "replayed", full,
                          "seconds", secs, "tx_per_s", secs > 0 ? (double)rep.txs / secs : 0.0);
    if (!rep.ok) {
      json_object_set_new(j, "height", json_integer(rep.bad_height));
      json_object_set_new(j, "message", json_string(rep.message));
    }
    cli_print_json(j);
    json_decref(j);
  } else if (rep.ok) {
    printf("ok: %llu blocks, %llu commands, %llu signed transactions%s in %.2f s "
           "(%.0f tx/s)\n", (unsigned long long)rep.blocks,
           (unsigned long long)rep.commands, (unsigned long long)rep.txs,
           full ? " replayed from the genesis" : " (hashes and signatures)", secs,
           secs > 0 ? (double)rep.txs / secs : 0.0);
  } else {
    printf("FAILED at block %lld: %s\n", (long long)rep.bad_height, rep.message);
  }
  return rep.ok ? 0 : 1;
}

int cli_ledger(int argc, char **argv) {
  const char *verb = argc > 1 ? argv[1] : "";
  if (!strcmp(verb, "blocks"))
    return get_and_print(argc - 1, argv + 1, "deepcloud ledger blocks",
                         "/v1/blocks?limit=50", 0, blocks_human);
  if (!strcmp(verb, "block"))
    return get_and_print(argc - 1, argv + 1, "deepcloud ledger block HEIGHT",
                         "/v1/blocks/", 1, NULL);
  if (!strcmp(verb, "tx"))
    return get_and_print(argc - 1, argv + 1, "deepcloud ledger tx HASH",
                         "/v1/tx/", 1, NULL);
  if (!strcmp(verb, "verify")) return verify(argc - 1, argv + 1);
  fprintf(stderr, "usage: deepcloud ledger blocks|block N|tx HASH|verify [--help]\n");
  return 2;
}
