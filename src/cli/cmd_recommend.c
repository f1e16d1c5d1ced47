/* SPDX-License-Identifier: Apache-2.0
 * deepcloud recommend SPEC: what to ask for. The master compares each
 * task's request with the usage of your past runs of the same job and task
 * names and suggests CPU and memory, with the expected runtime and cost. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

int cli_recommend(int argc, char **argv) {
  struct client c;
  client_defaults(&c);
  struct opt opts[] = {CLIENT_OPTS(&c)};
  char *pos[2];
  size_t npos = 2;
  int rc = cli_parse("deepcloud recommend SPEC.json", opts, DC_ARRAY_LEN(opts), argc,
                     argv, pos, &npos);
  if (rc >= 0) return rc;
  if (npos != 1) {
    fprintf(stderr, "usage: deepcloud recommend SPEC.json (a job spec, see docs/jobspec.md)\n");
    return 2;
  }
  char *body = NULL;
  size_t len = 0;
  if (dc_read_file(pos[0], 1u << 20, &body, &len)) {
    fprintf(stderr, "error: cannot read %s (at most 1 MiB)\n", pos[0]);
    return 2;
  }
  long status = 0;
  json_t *r = NULL;
  rc = client_call(&c, "POST", "/v1/recommend", body, len, NULL, &status, &r);
  dc_free(body);
  if (rc) return 2;
  if (status != 200) {
    rc = client_report("recommend", status, r);
    json_decref(r);
    return rc;
  }
  if (c.json) {
    cli_print_json(r);
  } else {
    printf("%-20s  %13s  %13s  %12s  %10s  %s\n", "TASK", "CPU ask→use", "MEM ask→use",
           "TIME (s)", "COST", "BASIS");
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(r, "tasks"), i, t) {
      json_t *q = json_object_get(t, "requested"), *s = json_object_get(t, "suggested");
      json_t *e = json_object_get(t, "expected_runtime_s"), *b = json_object_get(t, "basis");
      json_t *ev = json_object_get(t, "evidence");
      printf("%-20.20s  %5lld→%-6.0f  %5lld→%-6.0f  %12.0f  %10.0f  cpu:%s mem:%s (%lld runs)\n",
             json_string_value(json_object_get(t, "task")),
             (long long)json_integer_value(json_object_get(q, "cpu_millis")),
             json_real_value(json_object_get(s, "cpu_millis")),
             (long long)json_integer_value(json_object_get(q, "memory_mb")),
             json_real_value(json_object_get(s, "memory_mb")),
             json_real_value(json_object_get(e, "value")),
             json_real_value(json_object_get(t, "cost")),
             json_string_value(json_object_get(b, "cpu")),
             json_string_value(json_object_get(b, "memory")),
             (long long)json_integer_value(json_object_get(ev, "memory")));
    }
    printf("CPU in millicores, memory in MB, cost in micro-DEEP at the cheapest provider.\n");
  }
  json_decref(r);
  return 0;
}
