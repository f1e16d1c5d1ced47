/* SPDX-License-Identifier: Apache-2.0
 * `deepcloud sim <model>`: the deterministic simulators. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "sim/gossip/simgossip.h"
#include "sim/gossip/simgossip_report.h"

static int sim_gossip(int argc, char **argv) {
  struct simg_opts o;
  simg_opts_default(&o);
  double loss = -1;
  const char *scenario = NULL;
  bool json = false, no_tcp_ping = false, shuffled = false, no_checks = false;
  const char *timing = "lan";
  uint64_t seed = o.seed;
  const struct opt opts[] = {
      {"members", OPT_U32, &o.members, "simulated members (default 1000)"},
      {"loss", OPT_F64, &loss, "packet loss probability 0..1 (a custom scenario, or overrides --scenario's)"},
      {"scenario", OPT_STR, &scenario, "baseline | loss5 | loss10 | loss20 | starved | steady (default: all)"},
      {"seed", OPT_U64, &seed, "random seed (default 1)"},
      {"warmup", OPT_F64, &o.warmup_s, "virtual seconds before faults and measurement (default 20)"},
      {"duration", OPT_F64, &o.measure_s, "measured virtual seconds (default 120)"},
      {"timing", OPT_STR, &timing, "lifeguard's timing: lan (1 s / 500 ms probes, the daemon's default) or fast (the daemon's --gossip-fast: 500/250 ms probes)"},
      {"no-tcp-ping", OPT_BOOL, &no_tcp_ping, "both protocols without memberlist's TCP fallback ping (default: with it, as memberlist's defaults)"},
      {"shuffled", OPT_BOOL, &shuffled, "lifeguard on memberlist's shuffled round-robin instead of coordinated probe rounds"},
      {"swim-coordinated", OPT_BOOL, &o.swim_coordinated, "plain SWIM on the coordinated probe rounds too (default: memberlist's order)"},
      {"no-suspicion-checks", OPT_BOOL, &no_checks, "lifeguard without suspicion checks (docs/gossip.md)"},
      {"json", OPT_BOOL, &json, "machine-readable JSON output"},
  };
  char *pos[1];
  size_t npos = 0;
  int rc = cli_parse("deepcloud sim gossip [--members N] [--loss P] [--scenario NAME] [--seed S] [--json]",
                     opts, DC_ARRAY_LEN(opts), argc, argv, pos, &npos);
  if (rc >= 0) return rc;
  o.seed = seed;
  if (strcmp(timing, "lan") && strcmp(timing, "fast")) {
    fprintf(stderr, "error: --timing must be lan or fast\n");
    return 2;
  }
  o.daemon_timing = !strcmp(timing, "fast");
  o.tcp_ping = !no_tcp_ping;
  o.coordinated = !shuffled;
  o.suspicion_checks = !no_checks;
  if (loss != -1 && (loss < 0 || loss >= 1)) {
    fprintf(stderr, "error: --loss must be in [0, 1)\n");
    return 2;
  }
  struct simg_scenario list[8];
  size_t nsc = 0;
  if (scenario) {
    const struct simg_scenario *sc = simg_scenario_find(scenario);
    if (!sc) {
      fprintf(stderr, "error: unknown scenario %s (baseline, loss5, loss10, loss20, starved, steady)\n", scenario);
      return 2;
    }
    list[nsc++] = *sc;
    if (loss >= 0) list[0].loss = loss;
  } else if (loss >= 0) {
    list[nsc++] = (struct simg_scenario){"loss", loss, 0, 0.01, 5};
  } else {
    for (unsigned i = 0; i < simg_nscenarios; i++) list[nsc++] = simg_scenarios[i];
  }
  struct simg_result res[16];
  size_t nres = 0;
  for (size_t i = 0; i < nsc; i++) {
    for (int lg = 0; lg < 2; lg++) {
      if (!json) {
        fprintf(stderr, "running %s with %s at %u members...\n", list[i].name,
                lg ? "lifeguard" : "swim", o.members);
      }
      rc = simg_run(&o, &list[i], lg, &res[nres]);
      if (rc) {
        fprintf(stderr, "error: simulation failed: %s\n", dc_strerror(rc));
        return 1;
      }
      nres++;
    }
  }
  if (json) {
    json_t *j = simg_results_json(res, nres);
    cli_print_json(j);
    json_decref(j);
  } else {
    simg_print_table(stdout, res, nres);
  }
  return 0;
}

int cli_sim(int argc, char **argv) {
  if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
    FILE *f = argc < 2 ? stderr : stdout;
    fprintf(f, "usage: deepcloud sim <model> [options] (each takes --help)\n\n"
               "  gossip     SWIM and SWIM+Lifeguard side by side over a simulated network\n"
               "  sched      replay a workload trace against the scheduling policies\n"
               "  recommend  right-sizing evaluation on a VM usage trace\n");
    return argc < 2 ? 2 : 0;
  }
  if (!strcmp(argv[1], "gossip")) return sim_gossip(argc - 1, argv + 1);
  if (!strcmp(argv[1], "sched")) return cli_sim_sched(argc - 1, argv + 1);
  if (!strcmp(argv[1], "recommend")) return cli_sim_recommend(argc - 1, argv + 1);
  fprintf(stderr, "error: unknown simulator %s (see deepcloud sim --help)\n", argv[1]);
  return 2;
}
