/* SPDX-License-Identifier: Apache-2.0
 * deepcloud master list|add|remove: operating a cluster of masters through
 * any member's API (writes are redirected to the leader). */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "master/master.h"

static int master_list(int argc, char **argv) {
  struct client c;
  client_defaults(&c);
  struct opt opts[] = {CLIENT_OPTS(&c)};
  char *pos[1];
  size_t npos = 0;
  int rc = cli_parse("deepcloud master list", opts, DC_ARRAY_LEN(opts), argc, argv, pos, &npos);
  if (rc >= 0) return rc;
  json_t *r = NULL;
  if ((rc = client_get(&c, "master list", "/v1/masters", &r)) >= 0) return rc;
  if (c.json) {
    cli_print_json(r);
  } else {
    printf("%-20s  %-8s  %-6s  %-21s  %-28s  %s\n", "ID", "ROLE", "LEADER", "RAFT",
           "API", "SESSIONS");
    size_t i;
    json_t *mm;
    json_array_foreach(json_object_get(r, "masters"), i, mm) {
      const char *raft = json_string_value(json_object_get(mm, "raft_addr"));
      printf("%-20lld  %-8s  %-6s  %-21s  %-28s  %s\n",
             (long long)json_integer_value(json_object_get(mm, "id")),
             json_string_value(json_object_get(mm, "role")),
             json_is_true(json_object_get(mm, "leader")) ? "yes" : "",
             raft ? raft : "-", json_string_value(json_object_get(mm, "api_url")),
             json_string_value(json_object_get(mm, "session_addr")));
    }
    printf("log: %s  applied index: %lld  term: %lld\n",
           json_string_value(json_object_get(r, "log")),
           (long long)json_integer_value(json_object_get(r, "applied_index")),
           (long long)json_integer_value(json_object_get(r, "term")));
  }
  json_decref(r);
  return 0;
}

static int token_header(const char *token, char *out, size_t n) {
  if (!token || !*token) token = getenv("DEEPCLOUD_CLUSTER_TOKEN");
  if (!token || !*token) {
    fprintf(stderr, "error: adding and removing masters needs the cluster token: "
                    "--token or DEEPCLOUD_CLUSTER_TOKEN\n");
    return 2;
  }
  snprintf(out, n, "%s: %s", DC_HDR_CLUSTER_TOKEN, token);
  return 0;
}

static int master_add(int argc, char **argv) {
  struct client c;
  client_defaults(&c);
  const char *token = NULL;
  bool standby = false;
  struct opt opts[] = {
      CLIENT_OPTS(&c),
      {"token", OPT_STR, &token, "the cluster token (or DEEPCLOUD_CLUSTER_TOKEN)"},
      {"standby", OPT_BOOL, &standby, "add as a standby: replicates, does not vote"},
  };
  char *pos[2];
  size_t npos = 2;
  int rc = cli_parse("deepcloud master add NEW_MASTER_API_URL [--standby]", opts,
                     DC_ARRAY_LEN(opts), argc, argv, pos, &npos);
  if (rc >= 0) return rc;
  if (npos != 1) {
    fprintf(stderr, "usage: deepcloud master add NEW_MASTER_API_URL (a master started "
                    "with --raft-addr and no --bootstrap)\n");
    return 2;
  }
  char hdr[600];
  if ((rc = token_header(token, hdr, sizeof hdr))) return rc;
  /* Ask the newcomer who it is, then tell the cluster. */
  struct client nc = c;
  nc.api = pos[0];
  json_t *h = NULL;
  if ((rc = client_get(&nc, "master add (reading the new master)", "/v1/health", &h)) >= 0)
    return rc;
  json_int_t id = json_integer_value(json_object_get(h, "raft_id"));
  const char *raft = json_string_value(json_object_get(h, "raft_addr"));
  if (id <= 0 || !raft) {
    fprintf(stderr, "error: %s is not a raft master (start it with --raft-addr)\n", pos[0]);
    json_decref(h);
    return 1;
  }
  json_t *body = json_pack("{s:I, s:s, s:O, s:O, s:s}", "id", id, "raft_addr", raft,
                           "api_url", json_object_get(h, "api_url"), "session_addr",
                           json_object_get(h, "session_addr"), "role",
                           standby ? "standby" : "voter");
  json_decref(h);
  char *text = json_dumps(body, JSON_COMPACT);
  json_decref(body);
  long status = 0;
  json_t *r = NULL;
  rc = client_call(&c, "POST", "/v1/masters", text, strlen(text), hdr, &status, &r);
  free(text);
  if (rc) return 2;
  if (status != 200) {
    rc = client_report("master add", status, r);
    json_decref(r);
    return rc;
  }
  if (c.json) cli_print_json(r);
  else printf("master %lld added as %s (index %lld)\n", (long long)id,
              standby ? "standby" : "voter",
              (long long)json_integer_value(json_object_get(r, "index")));
  json_decref(r);
  return 0;
}

static int master_remove(int argc, char **argv) {
  struct client c;
  client_defaults(&c);
  const char *token = NULL;
  struct opt opts[] = {
      CLIENT_OPTS(&c),
      {"token", OPT_STR, &token, "the cluster token (or DEEPCLOUD_CLUSTER_TOKEN)"},
  };
  char *pos[2];
  size_t npos = 2;
  int rc = cli_parse("deepcloud master remove ID", opts, DC_ARRAY_LEN(opts), argc, argv,
                     pos, &npos);
  if (rc >= 0) return rc;
  if (npos != 1 || strspn(pos[0], "0123456789") != strlen(pos[0])) {
    fprintf(stderr, "usage: deepcloud master remove ID (see deepcloud master list)\n");
    return 2;
  }
  char hdr[600], path[64];
  if ((rc = token_header(token, hdr, sizeof hdr))) return rc;
  snprintf(path, sizeof path, "/v1/masters/%s", pos[0]);
  long status = 0;
  json_t *r = NULL;
  if (client_call(&c, "DELETE", path, NULL, 0, hdr, &status, &r)) return 2;
  if (status != 200) {
    rc = client_report("master remove", status, r);
    json_decref(r);
    return rc;
  }
  if (c.json) cli_print_json(r);
  else printf("master %s removed\n", pos[0]);
  json_decref(r);
  return 0;
}

int cli_master_admin(int argc, char **argv) {
  curl_global_init(CURL_GLOBAL_DEFAULT);
  int rc;
  if (!strcmp(argv[1], "list")) rc = master_list(argc - 1, argv + 1);
  else if (!strcmp(argv[1], "add")) rc = master_add(argc - 1, argv + 1);
  else rc = master_remove(argc - 1, argv + 1);
  curl_global_cleanup();
  return rc;
}
