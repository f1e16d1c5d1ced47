/* SPDX-License-Identifier: Apache-2.0
 * Tests of the zygote that clones reapers (src/sandbox/zygote.c): it dies
 * with the agent and takes the tasks with it, a dead zygote ends its tasks
 * and is restarted by the next spawn, many spawns leak nothing, and a plan
 * bigger than a socket message still reaches the task. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "tests/unit/sandbox/fixture.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static const struct dc_sandbox_limits no_limits = {0};

/* ppid and state of pid from /proc/pid/stat; false if it is gone. */
static bool proc_stat(pid_t pid, pid_t *ppid, char *state) {
  char p[64], buf[1024];
  SNP(p, sizeof p, "/proc/%d/stat", (int)pid);
  int fd = open(p, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return false;
  buf[n] = '\0';
  const char *rp = strrchr(buf, ')');
  int pp = 0;
  char st = '?';
  if (!rp || sscanf(rp + 1, " %c %d", &st, &pp) != 2) return false;
  *ppid = pp, *state = st;
  return true;
}

/* The one live child of parent (the zygote, for a sandbox's agent). */
static pid_t only_child_of(pid_t parent) {
  DIR *d = opendir("/proc");
  assert_non_null(d);
  struct dirent *de;
  pid_t found = 0;
  int n = 0;
  while ((de = readdir(d)) != NULL) {
    pid_t pid = (pid_t)atoi(de->d_name), pp;
    char st;
    if (pid > 0 && proc_stat(pid, &pp, &st) && pp == parent && st != 'Z')
      found = pid, n++;
  }
  closedir(d);
  return n == 1 ? found : -1;
}

static bool gone(pid_t pid) {
  pid_t pp;
  char st;
  return !proc_stat(pid, &pp, &st) || st == 'Z';
}

static int count_fds(void) {
  DIR *d = opendir("/proc/self/fd");
  assert_non_null(d);
  int n = 0;
  while (readdir(d)) n++;
  closedir(d);
  return n;
}

/* Runs the loop until the task printed want (or 10 s passed). */
static bool wait_output(uv_loop_t *loop, struct run *r, const char *want) {
  for (int i = 0; i < 1000 && !strstr(out_of(r), want); i++) {
    uv_run(loop, UV_RUN_NOWAIT);
    usleep(10 * 1000);
  }
  return strstr(out_of(r), want) != NULL;
}

void test_zygote_dies_with_agent(void **state) {
  struct fx *f = *state;
  char tok[32], script[96];
  unique_sleep(tok, sizeof tok, 304);
  SNP(script, sizeof script, "echo started; exec sleep %s", tok);
  struct fx g = *f; /* a second agent: same dirs, its own state dir */
  SNP(g.state, sizeof g.state, "%s/sandbox2", f->data);
  g.nwork = 1000;
  int pfd[2];
  assert_int_equal(pipe(pfd), 0);
  pid_t agent = fork();
  assert_true(agent >= 0);
  if (agent == 0) { /* the agent: start a task, report the zygote, wait */
    close(pfd[0]);
    pid_t z = -1;
    struct run r = {0};
    char *argv[] = {"sh", "-c", script, NULL};
    if (uv_loop_init(&g.loop) == 0 && fx_open(&g, NULL, 0) == 0 &&
        spawn_task(&g, &r, argv, &no_limits, 1, NULL) == 0 &&
        wait_output(&g.loop, &r, "started"))
      z = only_child_of(getpid());
    if (write(pfd[1], &z, sizeof z) != sizeof z) _exit(1);
    for (;;) pause(); /* killed by the test */
  }
  close(pfd[1]);
  pid_t z = -1;
  struct pollfd pf = {.fd = pfd[0], .events = POLLIN};
  assert_int_equal(poll(&pf, 1, 30000), 1);
  assert_int_equal(read(pfd[0], &z, sizeof z), (ssize_t)sizeof z);
  close(pfd[0]);
  kill(agent, SIGKILL);
  assert_int_equal(waitpid(agent, NULL, 0), agent);
  assert_true(z > 0);
  bool dead = false;
  for (int i = 0; i < 500 && !dead; i++) {
    dead = gone(z) && count_procs_with_arg(tok) == 0;
    if (!dead) usleep(10 * 1000);
  }
  assert_true(dead);
  /* The next sandbox on that state dir removes what the crash left. */
  assert_int_equal(uv_loop_init(&g.loop), 0);
  assert_int_equal(fx_open(&g, NULL, 0), 0);
  dc_sandbox_close(&g.sb);
  uv_run(&g.loop, UV_RUN_DEFAULT);
  assert_int_equal(uv_loop_close(&g.loop), 0);
}

void test_zygote_restarted_after_death(void **state) {
  struct fx *f = *state;
  char tok[32], script[96];
  unique_sleep(tok, sizeof tok, 305);
  SNP(script, sizeof script, "echo started; exec sleep %s", tok);
  char *argv[] = {"sh", "-c", script, NULL};
  struct run r = {0};
  assert_int_equal(spawn_task(f, &r, argv, &no_limits, 2, NULL), 0);
  assert_true(wait_output(&f->loop, &r, "started"));
  pid_t z = only_child_of(getpid());
  assert_true(z > 0);
  assert_int_equal(kill(z, SIGKILL), 0);
  drain(f); /* the task ends with its reaper, killed with the zygote */
  assert_int_equal(r.exits, 1);
  assert_int_equal(r.res.term_signal, SIGKILL);
  assert_false(r.res.killed);
  assert_int_equal(count_procs_with_arg(tok), 0);
  run_free(&r);

  /* The next spawn starts a new zygote; then many tasks leak nothing. */
  int fds = -1;
  for (int i = 0; i < 60; i++) {
    struct run s = {0};
    char want[32];
    SNP(want, sizeof want, "ok %d\n", i);
    SNP(script, sizeof script, "echo ok %d", i);
    run_sh(f, &s, script, NULL);
    assert_int_equal(s.res.exit_code, 0);
    assert_string_equal(out_of(&s), want);
    run_free(&s);
    if (i == 0) fds = count_fds();
  }
  assert_int_equal(count_fds(), fds);
  pid_t z2 = only_child_of(getpid());
  assert_true(z2 > 0 && z2 != z);
}

/* argv and env travel to the zygote in a memfd: bigger than a message. */
void test_large_plan(void **state) {
  struct fx *f = *state;
  size_t n = 100000; /* < MAX_ARG_STRLEN (128 KiB) per string */
  char *big = malloc(n + 5);
  assert_non_null(big);
  memcpy(big, "BIG=", 4);
  memset(big + 4, 'x', n);
  big[n + 4] = '\0';
  char *env[] = {big, NULL};
  char *argv[] = {"sh", "-c", "echo ${#BIG} $1", "sh", big + 4 + n - 3, NULL};
  struct run r = {0};
  assert_int_equal(spawn_task(f, &r, argv, &no_limits, 1, env), 0);
  drain(f);
  assert_int_equal(r.exits, 1);
  assert_int_equal(r.res.exit_code, 0);
  assert_string_equal(out_of(&r), "100000 xxx\n");
  run_free(&r);
  free(big);
}
