/* SPDX-License-Identifier: Apache-2.0
 * Spawn rate of sandboxed tasks against bare posix_spawn, both running
 * /bin/true N times with P in flight. Prints one JSON object per line: the
 * bare rate (the physical baseline), the sandbox create+run+teardown rate
 * with the default sandbox (own netns, cgroup limits, seccomp, read-only
 * view) and their ratio, plus per-task latency percentiles.
 * Usage: bench_sandbox [--tasks N] [--parallel P] [--mechanism M] [--host-net]
 *   (short: -n -p -m -N). --host-net skips the netns pool. DC_BENCH_DEBUG=1
 *   prints the sandbox's per-phase debug log and the tasks' output. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <getopt.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/base.h"
#include "sandbox/sandbox.h"

#define PAR_MAX 64

extern char **environ;

static double bare_rate(int n, int par) {
  char *argv[] = {"/bin/true", NULL};
  int started = 0, done = 0, inflight = 0;
  uint64_t t0 = dc_mono_ns();
  while (done < n) {
    while (inflight < par && started < n) {
      pid_t pid;
      if (posix_spawn(&pid, argv[0], NULL, NULL, argv, environ) != 0) {
        perror("posix_spawn");
        exit(1);
      }
      started++, inflight++;
    }
    int st;
    if (waitpid(-1, &st, 0) < 0) {
      perror("waitpid");
      exit(1);
    }
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
      fprintf(stderr, "bare: /bin/true failed\n");
      exit(1);
    }
    done++, inflight--;
  }
  return n / ((double)(dc_mono_ns() - t0) / 1e9);
}

struct bench {
  struct dc_sandbox sb;
  struct dc_sandbox_limits lim;
  int n, started, done, failed;
  double *lat_ms;
};

struct slot_ctx {
  struct bench *b;
  uint32_t slot;
  uint64_t t0;
  char work[256];
};

static void start_one(struct slot_ctx *c);

static void on_exit_cb(struct dc_sandbox_task *t,
                       const struct dc_sandbox_result *r, void *ud) {
  (void)t;
  struct slot_ctx *c = ud;
  struct bench *b = c->b;
  b->lat_ms[b->done++] = (double)(dc_mono_ns() - c->t0) / 1e6;
  if (r->exit_code != 0 || r->term_signal != 0) b->failed++;
  if (b->started < b->n) start_one(c); /* the slot is free again */
}

/* With DC_BENCH_DEBUG set, task output goes to our stderr. */
static void on_output(struct dc_sandbox_task *t, int stream, const char *data,
                      size_t len, void *ud) {
  (void)t, (void)stream, (void)ud;
  fwrite(data, 1, len, stderr);
}

static void start_one(struct slot_ctx *c) {
  static char *const argv[] = {"/bin/true", NULL};
  static char *const env[] = {"PATH=/usr/bin:/bin", NULL};
  struct dc_sandbox_spec spec = {
      .argv = argv, .env = env, .work_dir = c->work, .slot = c->slot};
  c->t0 = dc_mono_ns();
  int rc = dc_sandbox_spawn(&c->b->sb, &spec, &c->b->lim,
                            getenv("DC_BENCH_DEBUG") ? on_output : NULL,
                            on_exit_cb, c, NULL);
  if (rc) {
    fprintf(stderr, "spawn: %s\n", dc_strerror(rc));
    exit(1);
  }
  c->b->started++;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
  int n = 1000, par = 2, opt;
  bool host_net = false;
  const char *mech = NULL;
  static const struct option longopts[] = {
      {"tasks", required_argument, NULL, 'n'},
      {"parallel", required_argument, NULL, 'p'},
      {"mechanism", required_argument, NULL, 'm'},
      {"host-net", no_argument, NULL, 'N'},
      {NULL, 0, NULL, 0}};
  while ((opt = getopt_long(argc, argv, "n:p:m:N", longopts, NULL)) != -1) {
    if (opt == 'n')
      n = atoi(optarg);
    else if (opt == 'p')
      par = atoi(optarg);
    else if (opt == 'm')
      mech = optarg;
    else if (opt == 'N')
      host_net = true;
    else {
      fprintf(stderr,
              "usage: %s [--tasks N] [--parallel P] "
              "[--mechanism cgroup2|cgroup1|rlimit] [--host-net]\n",
              argv[0]);
      return 2;
    }
  }
  if (n < 1 || par < 1 || par > PAR_MAX) {
    fprintf(stderr, "need n >= 1 and 1 <= p <= %d\n", PAR_MAX);
    return 2;
  }
  dc_log_min_level = getenv("DC_BENCH_DEBUG") ? DC_LOG_DEBUG : DC_LOG_WARN;

  char root[] = "/tmp/dcsbx-bench.XXXXXX", state[64];
  if (!mkdtemp(root)) {
    perror("mkdtemp");
    return 1;
  }
  snprintf(state, sizeof state, "%s/state", root);
  const char *hidden[] = {root, NULL};
  struct dc_sandbox_config cfg = {
      .state_dir = state, .hidden_paths = hidden, .mechanism = mech};
  uv_loop_t loop;
  uv_loop_init(&loop);
  struct bench b = {.n = n, .lim = {.network = host_net}};
  b.lat_ms = calloc((size_t)n, sizeof *b.lat_ms);
  int rc = dc_sandbox_init(&b.sb, &loop, &cfg);
  if (rc || !b.lat_ms) {
    fprintf(stderr, "dc_sandbox_init: %s\n", dc_strerror(rc));
    return 1;
  }

  double bare = bare_rate(n, par);

  struct slot_ctx ctx[PAR_MAX];
  for (int i = 0; i < par; i++) {
    ctx[i] = (struct slot_ctx){.b = &b, .slot = (uint32_t)i};
    snprintf(ctx[i].work, sizeof ctx[i].work, "%s/w%d", root, i);
    mkdir(ctx[i].work, 0700);
  }
  uint64_t t0 = dc_mono_ns();
  for (int i = 0; i < par && b.started < n; i++) start_one(&ctx[i]);
  uv_run(&loop, UV_RUN_DEFAULT);
  double secs = (double)(dc_mono_ns() - t0) / 1e9;
  double sbx = b.done / secs;
  qsort(b.lat_ms, (size_t)b.done, sizeof *b.lat_ms, cmp_double);

  printf(
      "{\"bench\":\"sandbox_loop\",\"tasks\":%d,\"parallel\":%d,"
      "\"mechanism\":\"%s\",\"network\":\"%s\",\"bare_spawn_per_s\":%.1f,"
      "\"sandbox_per_s\":%.1f,\"ratio\":%.3f,\"sandbox_p50_ms\":%.2f,"
      "\"sandbox_p99_ms\":%.2f,\"failed\":%d}\n",
      n, par, dc_sandbox_mechanism(&b.sb), host_net ? "host" : "none", bare,
      sbx, sbx / bare, b.lat_ms[b.done / 2],
      b.lat_ms[(size_t)((b.done - 1) * 0.99)], b.failed);
  dc_sandbox_close(&b.sb);
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
  free(b.lat_ms);
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
  if (system(cmd) != 0) fprintf(stderr, "cleanup of %s failed\n", root);
  return b.failed ? 1 : 0;
}
