/* SPDX-License-Identifier: Apache-2.0
 * Sandbox tests of limits (memory, pids, CPU; cgroups and the rlimit
 * fallback), usage accounting, output delivery, setup errors and the
 * task and sandbox lifecycles, with real sandboxed processes. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "tests/unit/sandbox/fixture.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- limits and usage ------------------------------------------------------
 */

static bool is_cgroup(const struct fx *f) {
  return strncmp(dc_sandbox_mechanism(&f->sb), "cgroup", 6) == 0;
}

static void check_memory_limit(struct fx *f) {
  struct dc_sandbox_limits lim = {.memory_bytes = 64 * MB};
  struct run r = {0};
  char *argv[] = {"./sbx_helper", "alloc", "512", "0", NULL};
  run_task(f, &r, argv, &lim);
  const char *m = dc_sandbox_mechanism(&f->sb);
  fprintf(stderr, "memory: mechanism=%s oom=%d signal=%d exit=%d peak=%llu\n",
          r.res.mechanism, r.res.oom_killed, r.res.term_signal, r.res.exit_code,
          (unsigned long long)r.res.usage.peak_memory_bytes);
  assert_string_equal(r.res.mechanism, m);
  assert_null(strstr(out_of(&r), "alloc ok"));
  if (is_cgroup(f)) {
    assert_true(r.res.oom_killed);
    assert_int_equal(r.res.term_signal, SIGKILL);
    assert_true(r.res.usage.peak_memory_bytes <= 64 * MB);
    assert_true(r.res.usage.peak_memory_bytes >= 32 * MB);
  } else { /* RLIMIT_AS: the allocation itself fails */
    assert_non_null(strstr(out_of(&r), "alloc errno=12"));
  }
  run_free(&r);
}

static void check_pids_limit(struct fx *f) {
  struct dc_sandbox_limits lim = {.pids_max = 16};
  struct run r = {0};
  char *argv[] = {"./sbx_helper", "forkbomb", NULL};
  run_task(f, &r, argv, &lim);
  const char *o = strstr(out_of(&r), "forked=");
  assert_non_null(o);
  int n = atoi(o + 7);
  fprintf(stderr, "pids: mechanism=%s %s", r.res.mechanism, o);
  assert_true(n >= 8 && n <= 15);         /* 16 including the bomb itself */
  assert_non_null(strstr(o, "errno=11")); /* EAGAIN */
  run_free(&r);
}

void test_memory_limit(void **state) { check_memory_limit(*state); }
void test_pids_limit(void **state) { check_pids_limit(*state); }

void test_rlimit_fallback(void **state) {
  struct fx *f = *state;
  dc_sandbox_close(&f->sb);
  drain(f);
  assert_int_equal(fx_open(f, "rlimit", 0), 0);
  assert_string_equal(dc_sandbox_mechanism(&f->sb), "rlimit");
  check_memory_limit(f);
  check_pids_limit(f);
  struct run r = {0};
  char *argv[] = {"./sbx_helper", "burn", "300", NULL};
  run_task(f, &r, argv, &(struct dc_sandbox_limits){0});
  assert_true(r.res.usage.cpu_user_us + r.res.usage.cpu_sys_us >= 250000);
  run_free(&r);
}

void test_usage_cpu_time(void **state) {
  struct fx *f = *state;
  struct run r = {0};
  char *argv[] = {"./sbx_helper", "burn", "400", NULL};
  run_task(f, &r, argv, &(struct dc_sandbox_limits){0});
  const struct dc_sandbox_usage *u = &r.res.usage;
  fprintf(stderr, "cpu: user_us=%llu sys_us=%llu wall_ms=%llu\n",
          (unsigned long long)u->cpu_user_us, (unsigned long long)u->cpu_sys_us,
          (unsigned long long)u->wall_ms);
  assert_int_equal(r.res.exit_code, 0);
  /* burn counts user + system time of its own process */
  assert_true(u->cpu_user_us + u->cpu_sys_us >= 380000);
  assert_true(u->cpu_user_us >= 200000);
  assert_true(u->cpu_user_us + u->cpu_sys_us <= (u->wall_ms + 50) * 1000);
  assert_true(u->wall_ms >= 400 && u->wall_ms < 5000);
  run_free(&r);
}

void test_usage_peak_memory(void **state) {
  struct fx *f = *state;
  struct run r = {0};
  char *argv[] = {"./sbx_helper", "alloc", "100", "100", NULL};
  run_task(f, &r, argv, &(struct dc_sandbox_limits){0});
  uint64_t peak = r.res.usage.peak_memory_bytes;
  fprintf(stderr, "peak=%llu\n", (unsigned long long)peak);
  assert_int_equal(r.res.exit_code, 0);
  assert_true(peak >= 100 * MB && peak <= 300 * MB);
  run_free(&r);
}

void test_cpu_quota(void **state) {
  struct fx *f = *state;
  if (!is_cgroup(f)) {
    fprintf(stderr, "rlimit mechanism: a CPU rate needs cgroups\n");
    fail();
  }
  struct dc_sandbox_limits lim = {.cpu_millis = 200};
  struct run r = {0};
  char *argv[] = {"./sbx_helper", "spin", "1000", NULL};
  run_task(f, &r, argv, &lim);
  uint64_t cpu = r.res.usage.cpu_user_us + r.res.usage.cpu_sys_us;
  fprintf(stderr, "quota 200m: cpu_us=%llu wall_ms=%llu\n",
          (unsigned long long)cpu, (unsigned long long)r.res.usage.wall_ms);
  /* 200 millicores for ~1 s of spinning: about 200 ms of CPU, never a
   * full second; the floor is loose for a loaded machine. */
  assert_true(cpu >= 50000 && cpu <= 450000);
  run_free(&r);
}

/* ---- output, errors, lifecycle ----------------------------------------------
 */

void test_output_complete_and_ordered(void **state) {
  struct fx *f = *state;
  struct run r = {0};
  run_sh(f, &r,
         "i=0; while [ $i -lt 20000 ]; do echo \"line $i\"; i=$((i+1)); done; "
         "echo done >&2; head -c 3000000 /dev/zero | tr '\\0' 'z' >&2",
         NULL);
  struct dc_buf want = {0};
  for (int i = 0; i < 20000; i++) dc_buf_printf(&want, "line %d\n", i);
  assert_int_equal(r.out.len, want.len);
  assert_memory_equal(r.out.data, want.data, want.len);
  assert_int_equal(r.err.len, 5 + 3000000);
  assert_memory_equal(r.err.data, "done\nzzz", 8);
  assert_int_equal(r.err.data[r.err.len - 1], 'z');
  dc_buf_free(&want);
  run_free(&r);
}

void test_exec_failure_reported(void **state) {
  struct fx *f = *state;
  struct run r = {0};
  char *argv[] = {"no-such-command-dc", NULL};
  run_task(f, &r, argv, &(struct dc_sandbox_limits){0});
  assert_true(r.res.setup_failed);
  assert_int_equal(r.res.exit_code, 127);
  assert_int_equal(r.res.term_signal, 0);
  assert_string_equal(err_of(&r),
                      "sandbox: exec no-such-command-dc: No such file or "
                      "directory\n");
  run_free(&r);
}

void test_spawn_errors_run_no_callback(void **state) {
  struct fx *f = *state;
  struct run r = {0};
  char *argv[] = {"true", NULL};
  struct dc_sandbox_limits lim = {0};
  struct dc_sandbox_spec spec = {.argv = argv, .work_dir = "/nonexistent/x"};
  assert_int_equal(dc_sandbox_spawn(&f->sb, &spec, &lim, run_on_output,
                                    run_on_exit, &r, NULL),
                   DC_ENOTFOUND);
  spec.work_dir = "relative";
  assert_int_equal(dc_sandbox_spawn(&f->sb, &spec, &lim, run_on_output,
                                    run_on_exit, &r, NULL),
                   DC_EINVAL);
  char *empty[] = {NULL};
  spec.argv = empty;
  spec.work_dir = f->root;
  assert_int_equal(dc_sandbox_spawn(&f->sb, &spec, &lim, run_on_output,
                                    run_on_exit, &r, NULL),
                   DC_EINVAL);
  /* The same slot twice at once. */
  char *sl[] = {"sleep", "0.2", NULL};
  struct run a = {0}, b = {0};
  assert_int_equal(spawn_task(f, &a, sl, &lim, 7, NULL), 0);
  assert_int_equal(spawn_task(f, &b, sl, &lim, 7, NULL), DC_ECONFLICT);
  drain(f);
  assert_int_equal(a.exits, 1);
  assert_int_equal(b.exits, 0);
  assert_int_equal(r.exits, 0);
  run_free(&a);
  dc_sandbox_close(&f->sb);
  spec.argv = argv;
  assert_int_equal(dc_sandbox_spawn(&f->sb, &spec, &lim, run_on_output,
                                    run_on_exit, &r, NULL),
                   DC_ECLOSED);
  drain(f);
  assert_int_equal(r.exits, 0);
}

void test_close_kills_running_tasks(void **state) {
  struct fx *f = *state;
  char tok[32];
  unique_sleep(tok, sizeof tok, 302);
  char *argv[] = {"sleep", tok, NULL};
  struct run r = {0};
  assert_int_equal(
      spawn_task(f, &r, argv, &(struct dc_sandbox_limits){0}, 2, NULL), 0);
  uv_run(&f->loop, UV_RUN_NOWAIT);
  usleep(100 * 1000);
  dc_sandbox_close(&f->sb);
  drain(f);
  assert_int_equal(r.exits, 1);
  assert_true(r.res.killed);
  assert_int_equal(count_procs_with_arg(tok), 0);
  run_free(&r);
}
