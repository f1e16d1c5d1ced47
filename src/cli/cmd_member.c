/* SPDX-License-Identifier: Apache-2.0
 * deepcloud member list: the gossip view of the master the client talks to. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

/* "1.234" ms or "-" when the master has no coordinate for the member. */
static const char *rtt_text(json_t *v, char *buf, size_t n) {
  if (!json_is_number(v)) return "-";
  snprintf(buf, n, "%.3f", json_number_value(v));
  return buf;
}

static int member_list(int argc, char **argv) {
  struct client c;
  client_defaults(&c);
  struct opt opts[] = {CLIENT_OPTS(&c)};
  char *pos[1];
  size_t npos = 0;
  int rc = cli_parse("deepcloud member list", opts, DC_ARRAY_LEN(opts), argc, argv, pos, &npos);
  if (rc >= 0) return rc;
  json_t *r = NULL;
  if ((rc = client_get(&c, "member list", "/v1/members", &r)) >= 0) return rc;
  if (c.json) {
    cli_print_json(r);
  } else {
    printf("%-16s  %-16s  %-21s  %-7s  %5s  %-8s  %8s  %s\n", "ID", "NAME", "ADDRESS",
           "STATE", "INC", "ROLE", "RTT_MS", "SESSION");
    size_t i;
    json_t *m;
    json_array_foreach(json_object_get(r, "members"), i, m) {
      json_t *tags = json_object_get(m, "tags");
      const char *role = json_string_value(json_object_get(tags, "role"));
      const char *session = json_string_value(json_object_get(tags, "session"));
      char rtt[32];
      printf("%-16.16s  %-16.16s  %-21s  %-7s  %5lld  %-8s  %8s  %s\n",
             json_string_value(json_object_get(m, "id")),
             json_string_value(json_object_get(m, "name")),
             json_string_value(json_object_get(m, "addr")),
             json_string_value(json_object_get(m, "state")),
             (long long)json_integer_value(json_object_get(m, "incarnation")),
             role ? role : "-", rtt_text(json_object_get(m, "rtt_ms"), rtt, sizeof rtt),
             session && *session ? session : "-");
    }
  }
  json_decref(r);
  return 0;
}

int cli_member(int argc, char **argv) {
  static const char *usage =
      "usage: deepcloud member <verb> [options]\n"
      "  list             gossip members as the master sees them: state,\n"
      "                   incarnation, tags, Vivaldi RTT estimate (--json: all)\n";
  if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
    fputs(usage, argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  if (!strcmp(argv[1], "list")) return member_list(argc - 1, argv + 1);
  fprintf(stderr, "error: unknown verb \"member %s\"\n%s", argv[1], usage);
  return 2;
}
