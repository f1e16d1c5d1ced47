/* SPDX-License-Identifier: Apache-2.0
 * deepcloud sim: the simulators, one verb each. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

int cli_sim(int argc, char **argv) {
  if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
    fprintf(argc < 2 ? stderr : stdout,
            "usage: deepcloud sim <sched|recommend> [options] (see --help)\n"
            "  sched      replay a workload trace against the scheduling policies\n"
            "  recommend  right-sizing evaluation on a VM usage trace\n");
    return argc < 2 ? 2 : 0;
  }
  if (!strcmp(argv[1], "sched")) return cli_sim_sched(argc - 1, argv + 1);
  if (!strcmp(argv[1], "recommend")) return cli_sim_recommend(argc - 1, argv + 1);
  fprintf(stderr, "error: unknown simulator \"%s\"\n", argv[1]);
  return 2;
}
