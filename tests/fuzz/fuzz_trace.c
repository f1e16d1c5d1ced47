/* SPDX-License-Identifier: Apache-2.0
 * Fuzz target for the simulator's trace readers: arbitrary bytes as an SWF
 * log, and (split at the first NUL) as an Alibaba node list and pod list.
 * A rejected file must say why and leave nothing behind; an accepted small
 * one must replay without tripping an assertion. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sim/sched/simsched.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[256], swf[300], nodes[300], pods[300];

static void cleanup(void) {
  unlink(swf);
  unlink(nodes);
  unlink(pods);
  rmdir(dir);
}

static void put(const char *path, const uint8_t *d, size_t n) {
  FILE *f = fopen(path, "wb");
  if (!f) abort();
  if (n && fwrite(d, 1, n, f) != n) abort();
  fclose(f);
}

static void check(int rc, struct sim_workload *w, const struct dc_errmsg *err) {
  if (rc != DC_OK) {
    if (rc != DC_ENOMEM && !err->text[0]) {
      fprintf(stderr, "fuzz_trace: failure without a message\n");
      abort();
    }
    if (w->jobs || w->nodes) {
      fprintf(stderr, "fuzz_trace: output left on failure\n");
      abort();
    }
    return;
  }
  if (w->njobs <= 64 && w->nnodes <= 64) {
    struct sim_opts o;
    sim_opts_default(&o);
    struct sim_result r;
    for (int p = 0; p < SIM_POLICIES; p++)
      if (sim_policy_applies((enum sim_policy)p, w) && p != SIM_LEARNED)
        sim_run(w, (enum sim_policy)p, &o, &r);
  }
  sim_workload_close(w);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!dir[0]) {
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/fuzz_trace.%d", tmp && *tmp ? tmp : "/tmp",
             (int)getpid());
    if (mkdir(dir, 0700) && access(dir, W_OK)) abort();
    snprintf(swf, sizeof swf, "%s/t.swf", dir);
    snprintf(nodes, sizeof nodes, "%s/n.csv", dir);
    snprintf(pods, sizeof pods, "%s/openb_pod_list_t.csv", dir);
    atexit(cleanup);
  }
  struct sim_workload w;
  struct dc_errmsg err = {{0}};
  put(swf, data, size);
  check(sim_swf_read(swf, NULL, &w, &err), &w, &err);

  const uint8_t *nul = memchr(data, 0, size);
  size_t n1 = nul ? (size_t)(nul - data) : size;
  put(nodes, data, n1);
  put(pods, nul ? nul + 1 : data, nul ? size - n1 - 1 : 0);
  memset(&err, 0, sizeof err);
  check(sim_alibaba_read(pods, nodes, &w, &err), &w, &err);
  return 0;
}
