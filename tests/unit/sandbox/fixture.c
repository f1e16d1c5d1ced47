/* SPDX-License-Identifier: Apache-2.0
 * The sandbox tests' fixture (see fixture.h). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "tests/unit/sandbox/fixture.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void write_text(const char *path, const char *text, mode_t mode) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
  fchmod(fd, mode);
  close(fd);
}

static void copy_file(const char *from, const char *to, mode_t mode) {
  char *data = NULL;
  size_t len = 0;
  assert_int_equal(dc_read_file(from, 16 << 20, &data, &len), 0);
  int fd = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, data, len), (ssize_t)len);
  close(fd);
  dc_free(data);
}

uint32_t uid_base(void) { return 300000 + (uint32_t)(getpid() % 20000) * 100; }

int fx_open(struct fx *f, const char *mechanism, unsigned flags) {
  const char *hidden[] = {f->data, f->hidden_file, NULL};
  struct dc_sandbox_config cfg = {.state_dir = f->state,
                                  .hidden_paths = hidden,
                                  .uid_base = uid_base(),
                                  .mechanism = mechanism,
                                  .flags = flags};
  return dc_sandbox_init(&f->sb, &f->loop, &cfg);
}

int fx_setup(void **state) {
  struct fx *f = calloc(1, sizeof *f);
  assert_non_null(f);
  /* Not under /tmp: the task's /tmp is private anyway, so hiding would be
   * proven by nothing. /var/tmp is part of the task's view. */
  SNP(f->root, sizeof f->root, "/var/tmp/dcsbx.XXXXXX");
  assert_non_null(mkdtemp(f->root));
  chmod(f->root, 0755);
  SNP(f->data, sizeof f->data, "%s/data", f->root);
  SNP(f->state, sizeof f->state, "%s/sandbox", f->data);
  SNP(f->hidden_file, sizeof f->hidden_file, "%s/hidden.txt", f->root);
  assert_int_equal(mkdir(f->data, 0755), 0);
  char p[PATH_MAX];
  SNP(p, sizeof p, "%s/key", f->data);
  write_text(p, "SECRET-KEY\n", 0600);
  SNP(p, sizeof p, "%s/public.txt", f->data);
  write_text(p, "not secret but hidden\n", 0644);
  SNP(p, sizeof p, "%s/visible.txt", f->root);
  write_text(p, "visible-content\n", 0644);
  write_text(f->hidden_file, "hidden-file-content\n", 0644);
  assert_int_equal(uv_loop_init(&f->loop), 0);
  int rc = fx_open(f, NULL, 0);
  if (rc) fprintf(stderr, "dc_sandbox_init: %s\n", dc_err_name(rc));
  assert_int_equal(rc, 0);
  *state = f;
  return 0;
}

void drain(struct fx *f) { uv_run(&f->loop, UV_RUN_DEFAULT); }

int fx_teardown(void **state) {
  struct fx *f = *state;
  dc_sandbox_close(&f->sb);
  drain(f);
  assert_int_equal(uv_loop_close(&f->loop), 0);
  dc_test_rmrf(f->root);
  free(f);
  return 0;
}

void make_work(struct fx *f, char *out, size_t size) {
  char dir[PATH_MAX];
  SNP(dir, sizeof dir, "%s/task-dirs", f->data);
  mkdir(dir, 0700);
  SNP(out, size, "%s/task-dirs/%d", f->data, f->nwork++);
  assert_int_equal(mkdir(out, 0700), 0);
  char helper[PATH_MAX];
  SNP(helper, sizeof helper, "%s/sbx_helper", out);
  copy_file(SBX_HELPER, helper, 0755);
}

/* ---- running tasks ---------------------------------------------------------
 */

void run_on_output(struct dc_sandbox_task *t, int stream, const char *data,
                   size_t len, void *ud) {
  struct run *r = ud;
  assert_true(stream == 1 || stream == 2);
  assert_int_equal(dc_buf_append(stream == 1 ? &r->out : &r->err, data, len),
                   0);
  dc_buf_cstr(&r->out);
  if (r->kill_on && !r->kill_sent && r->out.data &&
      strstr((char *)r->out.data, r->kill_on)) {
    r->kill_sent = true;
    assert_int_equal(dc_sandbox_kill(t), 0);
    assert_int_equal(dc_sandbox_kill(t), 0); /* idempotent */
  }
}

void run_on_exit(struct dc_sandbox_task *t, const struct dc_sandbox_result *res,
                 void *ud) {
  struct run *r = ud;
  (void)t;
  r->exits++;
  r->res = *res;
  dc_buf_cstr(&r->out);
  dc_buf_cstr(&r->err);
}

int spawn_task(struct fx *f, struct run *r, char *const *argv,
               const struct dc_sandbox_limits *lim, uint32_t slot,
               char *const *env) {
  char work[PATH_MAX];
  make_work(f, work, sizeof work);
  struct dc_sandbox_spec spec = {
      .argv = argv, .env = env, .work_dir = work, .slot = slot};
  return dc_sandbox_spawn(&f->sb, &spec, lim, run_on_output, run_on_exit, r,
                          &r->task);
}

void run_task(struct fx *f, struct run *r, char *const *argv,
              const struct dc_sandbox_limits *lim) {
  static char *const env[] = {"HOME=/work", "LANG=C", "DC_TASK_INDEX=0", NULL};
  assert_int_equal(spawn_task(f, r, argv, lim, 1, env), 0);
  drain(f);
  assert_int_equal(r->exits, 1);
}

void run_sh(struct fx *f, struct run *r, const char *script,
            const struct dc_sandbox_limits *lim) {
  static const struct dc_sandbox_limits none = {0};
  char *argv[] = {"sh", "-c", (char *)script, NULL};
  run_task(f, r, argv, lim ? lim : &none);
}

void run_free(struct run *r) {
  dc_buf_free(&r->out);
  dc_buf_free(&r->err);
}

const char *out_of(const struct run *r) {
  return r->out.data ? (const char *)r->out.data : "";
}
const char *err_of(const struct run *r) {
  return r->err.data ? (const char *)r->err.data : "";
}

int count_procs_with_arg(const char *arg) {
  DIR *d = opendir("/proc");
  assert_non_null(d);
  struct dirent *de;
  int n = 0;
  while ((de = readdir(d)) != NULL) {
    if (de->d_name[0] < '0' || de->d_name[0] > '9') continue;
    char p[64], buf[4096];
    SNP(p, sizeof p, "/proc/%s/cmdline", de->d_name);
    int fd = open(p, O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    ssize_t len = read(fd, buf, sizeof buf - 1);
    close(fd);
    for (ssize_t i = 0; i < len; i += (ssize_t)strlen(buf + i) + 1) {
      buf[len] = '\0';
      if (strcmp(buf + i, arg) == 0) n++;
    }
  }
  closedir(d);
  return n;
}

void unique_sleep(char *buf, size_t size, int base) {
  SNP(buf, size, "%d.%d", base, (int)getpid());
}
