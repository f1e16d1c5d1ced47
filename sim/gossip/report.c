/* SPDX-License-Identifier: Apache-2.0
 * Scenarios and the report: JSON (the CLI's --json) and a text table. */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "sim/gossip/sim_int.h"
#include "sim/gossip/simgossip_report.h"

const struct simg_scenario simg_scenarios[] = {
    {"baseline", 0.00, 0.00, 0.01, 5},
    {"loss5", 0.05, 0.00, 0.01, 5},
    {"loss10", 0.10, 0.00, 0.01, 5},
    {"loss20", 0.20, 0.00, 0.01, 5},
    {"starved", 0.00, 0.02, 0.01, 5},
    /* No crashes: the steady load of probes, acks and ten tag updates,
     * whose bytes per member should not depend on N. */
    {"steady", 0.00, 0.00, 0.00, 0},
};
const unsigned simg_nscenarios = sizeof simg_scenarios / sizeof simg_scenarios[0];

const struct simg_scenario *simg_scenario_find(const char *name) {
  for (unsigned i = 0; i < simg_nscenarios; i++)
    if (!strcmp(simg_scenarios[i].name, name)) return &simg_scenarios[i];
  return NULL;
}

void simg_opts_default(struct simg_opts *o) {
  memset(o, 0, sizeof *o);
  o->members = 1000;
  o->seed = 1;
  o->warmup_s = 20;
  o->measure_s = 120;
  o->updates = 10;
  o->tcp_ping = true;
  o->coordinated = true;
  o->suspicion_checks = true;
}

/* The plain-SWIM run of the same scenario decides validity. */
static bool valid_for(const struct simg_result *r, size_t n, const char *scenario) {
  for (size_t i = 0; i < n; i++)
    if (!strcmp(r[i].scenario, scenario) && !strcmp(r[i].protocol, "swim"))
      return r[i].false_positives >= 100;
  return false;
}

json_t *simg_results_json(const struct simg_result *r, size_t n) {
  json_t *runs = json_array(), *notes = json_array();
  for (size_t i = 0; i < n; i++) {
    const struct simg_result *x = &r[i];
    bool valid = valid_for(r, n, x->scenario);
    json_array_append_new(runs, json_pack(
        "{s:s, s:s, s:I, s:f, s:I, s:f, s:I, s:I, s:I, s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:b, s:f,"
        " s:I, s:I, s:f, s:I, s:I}",
        "protocol", x->protocol, "scenario", x->scenario, "members", (json_int_t)x->members,
        "loss", x->loss, "false_positives", (json_int_t)x->false_positives,
        "false_positive_rate", x->false_positive_rate,
        "starved_declared_dead", (json_int_t)x->starved_declared_dead,
        "crashed", (json_int_t)x->crashed, "undetected", (json_int_t)x->undetected,
        "detect_p50_s", x->detect_p50_s, "detect_p99_s", x->detect_p99_s,
        "detect_all_p50_s", x->detect_all_p50_s, "detect_all_p99_s", x->detect_all_p99_s,
        "spread_p99_s", x->spread_p99_s, "bytes_per_member_s", x->bytes_per_member_s,
        "pushpull_bytes_per_member_s", x->pushpull_bytes_per_member_s,
        "vivaldi_median_rel_error", x->vivaldi_median_rel_error,
        "suspicion_min_s", x->suspicion_min_s, "valid", valid, "wall_s", x->wall_s,
        "tcp_pings", (json_int_t)x->tcp_pings, "tcp_ping_saves", (json_int_t)x->tcp_ping_saves,
        "tcp_ping_bytes_per_member_s", x->tcp_ping_bytes_per_member_s,
        "spread_missed", (json_int_t)x->spread_missed,
        "spread_missed_5s", (json_int_t)x->spread_missed_5s));
    if (!valid && !strcmp(x->protocol, "swim")) {
      char msg[200];
      snprintf(msg, sizeof msg,
               "scenario %s: plain SWIM made %llu false positives (< 100): its false-positive "
               "comparison is not valid",
               x->scenario, (unsigned long long)x->false_positives);
      json_array_append_new(notes, json_string(msg));
    }
  }
  return json_pack("{s:o, s:o}", "runs", runs, "notes", notes);
}

void simg_print_table(FILE *f, const struct simg_result *r, size_t n) {
  fprintf(f, "%-9s %-9s %6s %6s %7s %7s %7s %8s %8s %7s %8s %9s %9s %7s %6s %8s %8s\n",
          "scenario", "protocol", "N", "FP", "FPrate", "det50", "det99", "detall99", "spread99",
          "miss5s", "B/mbr/s", "pp B/m/s", "starvedDD", "vivErr", "valid", "tcpPings", "tcpSaves");
  for (size_t i = 0; i < n; i++) {
    const struct simg_result *x = &r[i];
    fprintf(f, "%-9s %-9s %6u %6llu %7.4f %7.2f %7.2f %8.2f %8.2f %7llu %8.1f %9.1f %9llu %7.3f %6s %8llu %8llu\n",
            x->scenario, x->protocol, x->members, (unsigned long long)x->false_positives,
            x->false_positive_rate, x->detect_p50_s, x->detect_p99_s, x->detect_all_p99_s,
            x->spread_p99_s, (unsigned long long)x->spread_missed_5s, x->bytes_per_member_s,
            x->pushpull_bytes_per_member_s,
            (unsigned long long)x->starved_declared_dead, x->vivaldi_median_rel_error,
            valid_for(r, n, x->scenario) ? "yes" : "NO", (unsigned long long)x->tcp_pings,
            (unsigned long long)x->tcp_ping_saves);
  }
}
