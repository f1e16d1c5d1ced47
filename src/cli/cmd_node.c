/* SPDX-License-Identifier: Apache-2.0
 * deepcloud node list|show */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

static int node_list(int argc, char **argv) {
  struct client c;
  client_defaults(&c);
  struct opt opts[] = {CLIENT_OPTS(&c)};
  char *pos[1];
  size_t npos = 0;
  int rc = cli_parse("deepcloud node list", opts, DC_ARRAY_LEN(opts), argc, argv, pos, &npos);
  if (rc >= 0) return rc;
  json_t *r = NULL;
  if ((rc = client_get(&c, "node list", "/v1/nodes", &r)) >= 0) return rc;
  if (c.json) {
    cli_print_json(r);
  } else {
    printf("%-16s  %-16s  %-6s  %5s  %8s  %6s  %-8s  %-7s  %8s  %-7s  %-16s  %5s  %s\n",
           "ID", "NAME", "STATE", "CPU", "MEM_MB", "TASKS", "SANDBOX", "GOSSIP", "RTT_MS",
           "ROLE", "CLUSTER", "GROUP", "CLASSES");
    size_t i;
    json_t *n;
    json_array_foreach(json_object_get(r, "nodes"), i, n) {
      json_t *res = json_object_get(n, "resources");
      /* Gossip columns: the master's own view, "-" with gossip off. */
      json_t *g = json_object_get(n, "gossip");
      const char *gs = json_string_value(json_object_get(g, "state"));
      json_t *rtt = json_object_get(g, "rtt_ms");
      char rtts[32] = "-";
      if (json_is_number(rtt)) snprintf(rtts, sizeof rtts, "%.3f", json_number_value(rtt));
      json_t *grp = json_object_get(n, "group");
      char grps[24] = "-";
      if (json_is_integer(grp)) snprintf(grps, sizeof grps, "%lld", (long long)json_integer_value(grp));
      const char *role = json_string_value(json_object_get(n, "role"));
      const char *cl = json_string_value(json_object_get(n, "cluster"));
      printf("%-16.16s  %-16.16s  %-6s  %5.1f  %8lld  %6lld  %-8s  %-7s  %8s  %-7s  %-16.16s  %5s  %s\n",
             json_string_value(json_object_get(n, "id")),
             json_string_value(json_object_get(n, "name")),
             json_string_value(json_object_get(n, "state")),
             (double)json_integer_value(json_object_get(res, "cpu_millis")) / 1000.0,
             (long long)json_integer_value(json_object_get(res, "memory_mb")),
             (long long)json_integer_value(json_object_get(n, "tasks_active")),
             json_string_value(json_object_get(n, "sandbox")), gs ? gs : "-", rtts,
             role ? role : "-", cl ? cl : "-", grps,
             json_string_value(json_object_get(n, "classes")));
    }
  }
  json_decref(r);
  return 0;
}

static int node_show(int argc, char **argv) {
  struct client c;
  client_defaults(&c);
  struct opt opts[] = {CLIENT_OPTS(&c)};
  char *pos[2];
  size_t npos = 2;
  int rc = cli_parse("deepcloud node show NODE_ID", opts, DC_ARRAY_LEN(opts), argc, argv, pos, &npos);
  if (rc >= 0) return rc;
  if (npos != 1) {
    fprintf(stderr, "usage: deepcloud node show NODE_ID (8 or more characters of the id)\n");
    return 2;
  }
  char path[256];
  snprintf(path, sizeof path, "/v1/nodes/%s", pos[0]);
  json_t *r = NULL;
  if ((rc = client_get(&c, "node show", path, &r)) >= 0) return rc;
  /* A node is a nested record: the pretty JSON is the readable form too. */
  cli_print_json(r);
  json_decref(r);
  return 0;
}

int cli_node(int argc, char **argv) {
  static const char *usage =
      "usage: deepcloud node <verb> [options]\n"
      "  list             providers known to the master\n"
      "  show NODE_ID     one provider, with live usage\n";
  if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
    fputs(usage, argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  if (!strcmp(argv[1], "list")) return node_list(argc - 1, argv + 1);
  if (!strcmp(argv[1], "show")) return node_show(argc - 1, argv + 1);
  fprintf(stderr, "error: unknown verb \"node %s\"\n%s", argv[1], usage);
  return 2;
}
