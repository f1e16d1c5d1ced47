/* SPDX-License-Identifier: Apache-2.0
 * Host-side preparation of a task: checks the request, makes its cgroup,
 * picks a network namespace, opens pipes, writes the plan the child follows,
 * has the zygote clone the reaper and hands the task to the loop
 * (task_watch). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sandbox/sandbox_int.h"

#define TMP_DEFAULT (256ull << 20) /* /tmp size without a memory limit */

/* Signals the agent ignores right now: they would stay ignored in the task
 * across execve, so the task resets exactly these. */
static uint64_t ignored_signals(void) {
  char buf[4096];
  int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ~0ull; /* unknown: reset them all */
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  buf[n > 0 ? n : 0] = '\0';
  const char *l = strstr(buf, "\nSigIgn:");
  return l ? strtoull(l + 9, NULL, 16) : ~0ull;
}

static int check_args(const struct dc_sandbox_state *s,
                      const struct dc_sandbox_spec *sp,
                      const struct dc_sandbox_limits *lim,
                      dc_sandbox_exit_cb on_exit) {
  if (!sp || !lim || !on_exit || !sp->argv || !sp->argv[0] || !sp->argv[0][0] ||
      !sp->work_dir || sp->work_dir[0] != '/' || sp->slot > DC_SANDBOX_SLOT_MAX)
    return DC_EINVAL;
  if (s->closing) return DC_ECLOSED;
  for (const struct dc_sandbox_task *t = s->tasks; t; t = t->next)
    if (t->slot == sp->slot && !t->exited) return DC_ECONFLICT;
  return 0;
}

static void plan_limits(struct child_plan *p, enum sb_mech mech,
                        const struct dc_sandbox_limits *lim) {
  uint64_t tmp =
      lim->memory_bytes ? DC_MAX(lim->memory_bytes, 1ull << 20) : TMP_DEFAULT;
  snprintf(p->tmp_opts, sizeof p->tmp_opts, "size=%" PRIu64 ",mode=1777",
           (uint64_t)DC_MIN(tmp, TMP_DEFAULT));
  if (mech != SB_MECH_RLIMIT) return;
  p->use_rlimit = true;
  if (lim->memory_bytes) {
    p->has_rl_as = true;
    p->rl_as.rlim_cur = p->rl_as.rlim_max = lim->memory_bytes;
  }
  p->has_rl_nproc = true;
  p->rl_nproc.rlim_cur = p->rl_nproc.rlim_max =
      lim->pids_max ? lim->pids_max : DC_SANDBOX_PIDS_DEFAULT;
  /* RLIMIT_CPU is a budget, not a rate: the quota over the whole timeout. */
  if (lim->cpu_millis && lim->timeout_ms) {
    uint64_t ms =
        (uint64_t)lim->timeout_ms * DC_MAX(lim->cpu_millis, 10u) / 1000;
    p->has_rl_cpu = true;
    p->rl_cpu.rlim_cur = (ms + 999) / 1000;
    p->rl_cpu.rlim_max = p->rl_cpu.rlim_cur + 1; /* SIGXCPU, then SIGKILL */
  }
}

static void close_fd(int *fd) {
  if (*fd >= 0) close(*fd);
  *fd = -1;
}

int dc_sandbox_spawn(struct dc_sandbox *sb, const struct dc_sandbox_spec *spec,
                     const struct dc_sandbox_limits *lim,
                     dc_sandbox_output_cb on_output, dc_sandbox_exit_cb on_exit,
                     void *ud, struct dc_sandbox_task **out) {
  struct dc_sandbox_state *s = sb ? sb->s : NULL;
  if (!s) return sb ? DC_ECLOSED : DC_EINVAL;
  int rc = check_args(s, spec, lim, on_exit);
  if (rc) return rc;
  struct dc_sandbox_task *t = dc_calloc(1, sizeof *t);
  if (!t) return DC_ENOMEM;
  t->s = s;
  t->seq = s->seq++;
  t->slot = spec->slot;
  t->on_output = on_output, t->on_exit = on_exit, t->ud = ud;
  t->pidfd = t->report_fd = t->netns_fd = -1;
  cg_task_init(&t->cg);
  t->res.mechanism = sb_mech_name(s->mech);
  t->start_ms = dc_mono_ms();
  uint64_t t0 = dc_mono_ns();
  int work = -1, pout[2] = {-1, -1}, perr[2] = {-1, -1}, prep[2] = {-1, -1};
  uint32_t id = s->uid_base + spec->slot;

  work = open(spec->work_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (work < 0) {
    rc = errno == ENOENT || errno == ENOTDIR || errno == ELOOP ? DC_ENOTFOUND
                                                               : DC_ESYS;
    DC_WARN(SB_MOD, "spawn work_dir=%s errno=%d", spec->work_dir, errno);
    goto fail;
  }
  rc = DC_ESYS;
  if (fchown(work, id, id) != 0) {
    DC_WARN(SB_MOD, "spawn work_dir=%s chown errno=%d", spec->work_dir, errno);
    goto fail;
  }
  if (!lim->network && (rc = netns_pool_take(&s->pool, &t->netns_fd)) != 0)
    goto fail;
  if (s->mech != SB_MECH_RLIMIT &&
      (rc = cg_task_create(&s->cg, &t->cg, t->seq, lim)) != 0)
    goto fail;
  rc = DC_ESYS;
  if (pipe2(pout, O_CLOEXEC) || pipe2(perr, O_CLOEXEC) ||
      pipe2(prep, O_CLOEXEC)) {
    DC_WARN(SB_MOD, "spawn pipe errno=%d", errno);
    goto fail;
  }
  struct child_plan p;
  memset(&p, 0, sizeof p);
  p.view = &s->view;
  p.filter = &s->filter;
  p.argv = spec->argv;
  p.env = spec->env;
  p.uid = id;
  p.gid = id;
  p.netns_fd = t->netns_fd;
  p.work_fd = work;
  p.work_src = spec->work_dir;
  p.out_fd = pout[1], p.err_fd = perr[1], p.report_fd = prep[1];
  p.null_fd = s->null_fd;
  for (int i = 0; i < t->cg.n; i++)
    if (t->cg.procs_fd[i] >= 0) p.cg_fds[p.ncg++] = t->cg.procs_fd[i];
  p.cg_dir_fd = t->cg.dir_fd;
  p.parent_pidfd = -1; /* the zygote's, set there */
  p.sig_ignored = ignored_signals();
  p.cap_last = s->cap_last;
  plan_limits(&p, s->mech, lim);

  t->t_clone_ns = dc_mono_ns();
  if ((rc = zygote_spawn(s, &p, &t->pid, &t->pidfd)) != 0) goto fail;
  /* The reaper has its copies; ours of its ends would hide EOF. */
  close_fd(&pout[1]), close_fd(&perr[1]), close_fd(&prep[1]), close_fd(&work);
  cg_task_close_fds(&t->cg);
  t->report_fd = prep[0];
  prep[0] = -1;
  fcntl(t->report_fd, F_SETFL, O_NONBLOCK);

  rc = task_watch(t, &pout[0], &perr[0], lim->timeout_ms);
  if (rc) return rc; /* the task is gone, silently */
  DC_DEBUG(SB_MOD,
           "task=%" PRIu64 " slot=%" PRIu32
           " pid=%d argv0=%s net=%d "
           "spawn_us=%" PRIu64,
           t->seq, spec->slot, (int)t->pid, spec->argv[0], (int)lim->network,
           (dc_mono_ns() - t0) / 1000);
  if (out) *out = t;
  return 0;
fail:
  close_fd(&work);
  close_fd(&pout[0]), close_fd(&pout[1]), close_fd(&perr[0]);
  close_fd(&perr[1]), close_fd(&prep[0]), close_fd(&prep[1]);
  cg_task_remove(&t->cg);
  netns_pool_put(&s->pool, t->netns_fd, s->closing);
  dc_free(t);
  return rc;
}
