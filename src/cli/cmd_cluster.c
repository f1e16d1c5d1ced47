/* SPDX-License-Identifier: Apache-2.0
 * deepcloud cluster list: the service clusters (the classes providers
 * serve), their capacity, queue and demand forecast, and the last moves of
 * dynamic providers between them. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

static int cluster_list(int argc, char **argv) {
  struct client c;
  client_defaults(&c);
  struct opt opts[] = {CLIENT_OPTS(&c)};
  char *pos[1];
  size_t npos = 0;
  int rc = cli_parse("deepcloud cluster list", opts, DC_ARRAY_LEN(opts), argc, argv, pos, &npos);
  if (rc >= 0) return rc;
  json_t *r = NULL;
  if ((rc = client_get(&c, "cluster list", "/v1/clusters", &r)) >= 0) return rc;
  if (c.json) {
    cli_print_json(r);
    json_decref(r);
    return 0;
  }
  printf("%-16s  %5s  %5s  %8s  %8s  %8s  %-12s  %6s\n", "CLASS", "NODES", "DYN", "CORES",
         "QUEUED", "DEMAND", "FORECAST", "MASE");
  size_t i;
  json_t *cl;
  json_t *arr = json_object_get(r, "clusters");
  json_array_foreach(arr, i, cl) {
    json_t *f = json_object_get(cl, "forecast");
    json_t *mase = json_object_get(cl, "mase");
    char ms[32] = "-";
    if (json_is_number(mase)) snprintf(ms, sizeof ms, "%.3f", json_number_value(mase));
    printf("%-16.16s  %5lld  %5lld  %8.1f  %8.1f  %8.1f  %-12s  %6s\n",
           json_string_value(json_object_get(cl, "class")),
           (long long)json_integer_value(json_object_get(cl, "nodes")),
           (long long)json_integer_value(json_object_get(cl, "dynamic")),
           json_number_value(json_object_get(cl, "capacity_cores")),
           json_number_value(json_object_get(cl, "queued_cores")),
           json_number_value(json_object_get(f, "demand_cores")),
           json_string_value(json_object_get(f, "method")), ms);
  }
  printf("\nbucket %llds, season %lld buckets, every %lld ms, k-means k=%lld%s\n",
         (long long)json_integer_value(json_object_get(r, "bucket_s")),
         (long long)json_integer_value(json_object_get(r, "season_buckets")),
         (long long)json_integer_value(json_object_get(r, "interval_ms")),
         (long long)json_integer_value(json_object_get(r, "k")),
         json_is_true(json_object_get(r, "leader")) ? "" : " (not the leader: no forecasts)");
  bool header = false;
  json_array_foreach(arr, i, cl) {
    size_t k;
    json_t *mv;
    json_array_foreach(json_object_get(cl, "moves"), k, mv) {
      /* Each move is listed under both its classes: print it once. */
      if (strcmp(json_string_value(json_object_get(mv, "to")),
                 json_string_value(json_object_get(cl, "class"))) != 0)
        continue;
      if (!header) printf("\nrecent moves (log index, node, from -> to, why):\n");
      header = true;
      printf("  %8lld  %.16s  %s -> %s  %s\n",
             (long long)json_integer_value(json_object_get(mv, "index")),
             json_string_value(json_object_get(mv, "node")),
             json_string_value(json_object_get(mv, "from")),
             json_string_value(json_object_get(mv, "to")),
             json_string_value(json_object_get(mv, "reason")));
    }
  }
  json_decref(r);
  return 0;
}

int cli_cluster(int argc, char **argv) {
  static const char *usage =
      "usage: deepcloud cluster <verb> [options]\n"
      "  list             service clusters: capacity, queue, forecast, recent moves\n";
  if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
    fputs(usage, argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  if (!strcmp(argv[1], "list")) return cluster_list(argc - 1, argv + 1);
  fprintf(stderr, "deepcloud cluster: unknown verb %s\n%s", argv[1], usage);
  return 2;
}
