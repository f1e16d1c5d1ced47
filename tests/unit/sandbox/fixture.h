/* SPDX-License-Identifier: Apache-2.0
 * The sandbox tests' fixture: a sandbox on its own loop whose agent data dir
 * (hidden from tasks) lives under /var/tmp, work dirs holding sbx_helper,
 * and helpers that run a task to its end and collect its output. */
#ifndef DC_TEST_SANDBOX_FIXTURE_H
#define DC_TEST_SANDBOX_FIXTURE_H

#include "tests/lib/testlib.h"

#include <limits.h>
#include <stdbool.h>
#include <stdio.h>

#include "base/base.h"
#include "sandbox/sandbox.h"

#define MB (1024ull * 1024)
/* snprintf that fails the test instead of truncating. */
#define SNP(buf, size, ...) \
  assert_true(snprintf((buf), (size), __VA_ARGS__) < (int)(size))

struct fx {
  uv_loop_t loop;
  struct dc_sandbox sb;
  char root[PATH_MAX];  /* /var/tmp/dcsbx.XXXXXX: visible to tasks... */
  char data[PATH_MAX];  /* ...except root/data, the agent's hidden dir */
  char state[PATH_MAX]; /* root/data/sandbox */
  char hidden_file[PATH_MAX];
  int nwork;
};

struct run {
  struct dc_buf out, err;
  struct dc_sandbox_result res;
  int exits;
  struct dc_sandbox_task *task;
  const char *kill_on; /* kill once stdout contains this */
  bool kill_sent;
};

/* Slot uids must not be shared by sandboxes running at once (RLIMIT_NPROC
 * counts per uid): each test process takes its own range. */
uint32_t uid_base(void);
int fx_open(struct fx *f, const char *mechanism, unsigned flags);
int fx_setup(void **state);
int fx_teardown(void **state);
void drain(struct fx *f); /* runs the loop until no handle is left */
/* A fresh work dir under the hidden data dir, with the helper in it. */
void make_work(struct fx *f, char *out, size_t size);
int spawn_task(struct fx *f, struct run *r, char *const *argv,
               const struct dc_sandbox_limits *lim, uint32_t slot,
               char *const *env);
/* Spawns in slot 1 and runs the loop until the task is over. */
void run_task(struct fx *f, struct run *r, char *const *argv,
              const struct dc_sandbox_limits *lim);
void run_sh(struct fx *f, struct run *r, const char *script,
            const struct dc_sandbox_limits *lim);
void run_free(struct run *r);
/* The callbacks spawn_task passes, ud being a struct run. */
void run_on_output(struct dc_sandbox_task *t, int stream, const char *data,
                   size_t len, void *ud);
void run_on_exit(struct dc_sandbox_task *t, const struct dc_sandbox_result *res,
                 void *ud);
const char *out_of(const struct run *r);
const char *err_of(const struct run *r);
/* Host processes whose argv contains arg exactly. */
int count_procs_with_arg(const char *arg);
/* A sleep duration unique to this test process, e.g. "300.<pid>". */
void unique_sleep(char *buf, size_t size, int base);

/* test_limits.c */
void test_memory_limit(void **state);
void test_pids_limit(void **state);
void test_rlimit_fallback(void **state);
void test_usage_cpu_time(void **state);
void test_usage_peak_memory(void **state);
void test_cpu_quota(void **state);
void test_output_complete_and_ordered(void **state);
void test_exec_failure_reported(void **state);
void test_spawn_errors_run_no_callback(void **state);

/* test_zygote.c */
void test_zygote_dies_with_agent(void **state);
void test_zygote_restarted_after_death(void **state);
void test_large_plan(void **state);
void test_close_kills_running_tasks(void **state);

#endif
