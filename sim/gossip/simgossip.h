/* SPDX-License-Identifier: Apache-2.0
 * The gossip simulator: the pure gossip core driven in virtual time over a
 * modelled network (synthetic geography whose latencies break the triangle
 * inequality, loss, CPU-starved members, crashes). Deterministic: the same
 * options and seed give the same figures. */
#ifndef DC_SIMGOSSIP_H
#define DC_SIMGOSSIP_H

#include <stdbool.h>
#include <stdint.h>

struct simg_scenario {
  const char *name;
  double loss;            /* probability that a datagram is lost */
  double starved_frac;    /* members whose packet handling starves */
  double crash_frac;      /* members killed at the end of the warm-up */
  uint32_t crash_min;
};

struct simg_opts {
  uint32_t members;
  uint64_t seed;
  double warmup_s;        /* before crashes and measurements */
  double measure_s;       /* measured window */
  uint32_t updates;       /* tag updates whose spread is timed */
  bool tcp_ping;          /* memberlist's TCP fallback ping, both protocols
                             (default on, as memberlist's defaults) */
  bool coordinated;       /* Lifeguard probes in coordinated rounds (default on,
                             the core's default); off: memberlist's shuffled
                             round-robin, as before */
  bool swim_coordinated;  /* plain SWIM too (default off: the baseline keeps
                             memberlist's shuffled round-robin) */
  bool suspicion_checks;  /* Lifeguard's suspicion checks (default on, the
                             core's default) */
  bool daemon_timing;     /* Lifeguard runs with the daemon's fast timing
                             (dc_gossip_config_daemon(c, true)); plain SWIM keeps
                             memberlist's defaults, the baseline */
};
void simg_opts_default(struct simg_opts *o);

/* Looks a scenario up by name (baseline, loss5, loss10, loss20, starved,
 * steady). */
const struct simg_scenario *simg_scenario_find(const char *name);
extern const struct simg_scenario simg_scenarios[];
extern const unsigned simg_nscenarios;

struct simg_result {
  const char *protocol;   /* "swim" or "lifeguard" */
  const char *scenario;
  uint32_t members;
  double loss;
  uint64_t false_positives;        /* healthy members declared dead (by the declaring node) */
  double false_positive_rate;      /* share of healthy members declared dead at least once */
  uint64_t starved_declared_dead;  /* declarations of starved members */
  uint32_t crashed;
  double detect_p50_s, detect_p99_s;          /* crash → first dead declaration */
  double detect_all_p50_s, detect_all_p99_s;  /* crash → each survivor knows */
  uint32_t undetected;                        /* crashed members never declared dead */
  double spread_p99_s;             /* update → 99% of members (median of updates) */
  uint64_t spread_missed;          /* (update, live member) pairs it never reached
                                      in the window (push-pull included) */
  uint64_t spread_missed_5s;       /* ... not within 5 s: what dissemination left out */
  double bytes_per_member_s;       /* datagrams, push-pull excluded */
  double pushpull_bytes_per_member_s;
  double tcp_ping_bytes_per_member_s; /* the fallback pings' share of bytes_per_member_s */
  uint64_t tcp_pings;              /* fallback pings sent in the window */
  uint64_t tcp_ping_saves;         /* failed UDP probes spared by a TCP ack, in the window */
  double vivaldi_median_rel_error;
  double suspicion_min_s;          /* fixed / minimum suspicion timeout at N */
  double probe_interval_s;
  double detect_bound_s;           /* 3 probe intervals + memberlist's suspicion
                                      timeout at N (the bound) */
  double wall_s;                   /* real time the run took */
  uint64_t events;
};

/* Runs one scenario with one protocol. Errors: DC_ENOMEM, DC_EINVAL. */
int simg_run(const struct simg_opts *o, const struct simg_scenario *sc, bool lifeguard,
             struct simg_result *out);

#endif
