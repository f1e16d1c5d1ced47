/* SPDX-License-Identifier: Apache-2.0
 * The code that runs in the cloned children. The reaper is PID 1 of the
 * task's PID namespace: it joins the task's cgroups and network namespace,
 * builds the filesystem view, starts the task and reaps every process until
 * the task ends, then kills the rest and reports the task's status and
 * usage. The task drops every privilege, loads the seccomp filter and execs.
 *
 * The reaper is a raw clone (no CLONE_VM, no atfork handlers) of the
 * zygote, itself a raw clone of an agent that may have other threads, so it
 * must not take a lock a vanished thread might hold: no malloc, no stdio, no
 * glibc set*id wrappers (they signal every thread of the parent, which do not
 * exist here). It makes system calls on data the parent prepared. The task is a
 * vfork of the reaper: it shares the reaper's memory until execve, so it writes
 * no global. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sandbox/sandbox_int.h"


static int g_report_fd = -1;         /* reaper copy only */
static volatile sig_atomic_t g_stop; /* reaper: SIGTERM seen */
static uint64_t g_t_start, g_t_forked, g_t_reaped;

static uint64_t mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void copy_str(char *dst, size_t size, const char *src) {
  size_t i = 0;
  for (; src && src[i] && i + 1 < size; i++) dst[i] = src[i];
  dst[i] = '\0';
}

void child_fail(const struct child_plan *p, const char *what, const char *arg,
                int err) {
  (void)p;
  struct sb_record r;
  memset(&r, 0, sizeof r);
  r.magic = SB_REC_MAGIC;
  r.type = SB_REC_ERROR;
  r.err = err;
  copy_str(r.what, sizeof r.what, what);
  copy_str(r.arg, sizeof r.arg, arg);
  if (g_report_fd >= 0 && write(g_report_fd, &r, sizeof r) < 0) {
    /* the parent is gone: nobody to tell */
  }
  _exit(127);
}

int sb_close_except(int *keep, int n) {
  for (int i = 1; i < n; i++) /* insertion sort: n is tiny */
    for (int j = i; j > 0 && keep[j] < keep[j - 1]; j--) {
      int x = keep[j];
      keep[j] = keep[j - 1];
      keep[j - 1] = x;
    }
  unsigned lo = 0;
  for (int i = 0; i <= n; i++) {
    if (i < n && keep[i] < 0) continue;
    unsigned hi = i < n ? (unsigned)keep[i] : ~0u; /* exclusive */
    if (hi > lo && syscall(SYS_close_range, lo, i < n ? hi - 1 : ~0u, 0) != 0) {
      if (errno != ENOSYS) return errno;
      struct rlimit rl; /* Linux < 5.9: by hand up to the fd limit */
      unsigned top =
          getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 1u << 20
              ? (unsigned)rl.rlim_cur
              : 1u << 20;
      for (unsigned fd = lo; fd < hi && fd < top; fd++) close((int)fd);
    }
    if (i < n) lo = hi + 1;
  }
  return 0;
}

/* Descriptors the task dup2()s onto 0..2 must not be 0..2 themselves (an
 * agent may run with stdio closed). */
static int rehome(const struct child_plan *p, int fd) {
  if (fd < 0 || fd > 2) return fd;
  int r = fcntl(fd, F_DUPFD_CLOEXEC, 3);
  if (r < 0) child_fail(p, "dup", "", errno);
  return r;
}

struct task_fds {
  int in, out, err;
};

static void drop_privileges(const struct child_plan *p) {
  for (int cap = 0; cap <= p->cap_last; cap++)
    if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL)
      child_fail(p, "capbset", "", errno);
  if (syscall(SYS_setgroups, 0, NULL) != 0)
    child_fail(p, "setgroups", "", errno);
  if (syscall(SYS_setresgid, p->gid, p->gid, p->gid) != 0)
    child_fail(p, "setresgid", "", errno);
  if (syscall(SYS_setresuid, p->uid, p->uid, p->uid) != 0)
    child_fail(p, "setresuid", "", errno);
  struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct d[2];
  memset(d, 0, sizeof d);
  if (syscall(SYS_capset, &h, d) != 0) child_fail(p, "capset", "", errno);
  prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
    child_fail(p, "no_new_privs", "", errno);
}

static void set_rlimits(const struct child_plan *p) {
  struct rlimit zero = {0, 0};
  setrlimit(RLIMIT_CORE, &zero); /* no core files in /work */
  if (!p->use_rlimit) return;
  if (p->has_rl_as && setrlimit(RLIMIT_AS, &p->rl_as) != 0)
    child_fail(p, "setrlimit", "RLIMIT_AS", errno);
  if (p->has_rl_nproc && setrlimit(RLIMIT_NPROC, &p->rl_nproc) != 0)
    child_fail(p, "setrlimit", "RLIMIT_NPROC", errno);
  if (p->has_rl_cpu && setrlimit(RLIMIT_CPU, &p->rl_cpu) != 0)
    child_fail(p, "setrlimit", "RLIMIT_CPU", errno);
}

/* argv[0] without a slash is looked up in a fixed PATH, like execvp but
 * without allocating and without the caller's PATH. */
static void exec_task(const struct child_plan *p) {
  static char *const empty_env[] = {NULL};
  char *const *env = p->env ? p->env : empty_env;
  const char *a0 = p->argv[0];
  if (strchr(a0, '/')) {
    execve(a0, p->argv, env);
    child_fail(p, "exec", a0, errno);
  }
  static const char *const dirs[] = {"/usr/local/bin", "/usr/bin", "/bin"};
  int err = ENOENT;
  bool eacces = false;
  size_t al = strlen(a0);
  for (size_t i = 0; i < DC_ARRAY_LEN(dirs); i++) {
    char path[PATH_MAX];
    size_t dl = strlen(dirs[i]);
    if (dl + 1 + al + 1 > sizeof path) {
      err = ENAMETOOLONG;
      break;
    }
    memcpy(path, dirs[i], dl);
    path[dl] = '/';
    memcpy(path + dl + 1, a0, al + 1);
    execve(path, p->argv, env);
    if (errno == EACCES) {
      eacces = true;
    } else if (errno != ENOENT && errno != ENOTDIR) {
      err = errno;
      break;
    }
  }
  child_fail(p, "exec", a0, eacces && err == ENOENT ? EACCES : err);
}

/* In the vfork child: only system calls and locals until execve. */
static void task_main(const struct child_plan *p, const struct task_fds *f) {
  if (setsid() < 0) child_fail(p, "setsid", "", errno); /* no tty */
  /* Handlers reset at execve by themselves; ignored signals (the agent's
   * SIGPIPE, say) stay ignored, so those go back to default. Raw calls:
   * SIG_DFL needs no restorer. */
  struct {
    void *handler;
    unsigned long flags;
    void *restorer;
    uint64_t mask;
  } ksa = {SIG_DFL, 0, NULL, 0};
  for (int sig = 1; sig <= 64; sig++)
    if (p->sig_ignored & (1ull << (sig - 1)))
      syscall(SYS_rt_sigaction, sig, &ksa, NULL, sizeof ksa.mask);
  uint64_t none = 0;
  syscall(SYS_rt_sigprocmask, SIG_SETMASK, &none, NULL, sizeof none);
  /* dup2 clears close-on-exec on 0..2; every other descriptor the reaper
   * still holds is close-on-exec. */
  if (dup2(f->in, 0) < 0 || dup2(f->out, 1) < 0 || dup2(f->err, 2) < 0)
    child_fail(p, "dup2", "stdio", errno);
  umask(022);
  if (chdir("/work") != 0) child_fail(p, "chdir", "/work", errno);
  set_rlimits(p);
  drop_privileges(p);
  if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, p->filter) != 0)
    child_fail(p, "seccomp", "", errno);
  exec_task(p);
}

static void on_term(int sig) {
  (void)sig;
  g_stop = 1;
  kill(-1, SIGKILL); /* every process of the namespace but us */
}

static void write_exit(int status, const struct rusage *sum) {
  struct sb_record r;
  memset(&r, 0, sizeof r);
  r.magic = SB_REC_MAGIC;
  r.type = SB_REC_EXIT;
  r.status = status;
  r.utime_us = sum->ru_utime.tv_sec * 1000000LL + sum->ru_utime.tv_usec;
  r.stime_us = sum->ru_stime.tv_sec * 1000000LL + sum->ru_stime.tv_usec;
  r.maxrss_kb = sum->ru_maxrss;
  r.t_start_ns = g_t_start, r.t_forked_ns = g_t_forked;
  r.t_reaped_ns = g_t_reaped;
  if (write(g_report_fd, &r, sizeof r) < 0) {
    /* the parent is gone */
  }
}

/* Waits for everyone; returns the task's wait status. Usage is summed over
 * every reaped process (orphans come to us as PID 1). */
static int reap_all(pid_t task, struct rusage *sum) {
  int task_status = 0;
  int64_t ut = 0, st = 0;
  memset(sum, 0, sizeof *sum);
  for (;;) {
    int ws;
    struct rusage ru;
    pid_t w = wait4(-1, &ws, __WALL, &ru);
    if (w < 0) {
      if (errno == EINTR) continue;
      break; /* ECHILD: everyone is reaped */
    }
    ut += ru.ru_utime.tv_sec * 1000000LL + ru.ru_utime.tv_usec;
    st += ru.ru_stime.tv_sec * 1000000LL + ru.ru_stime.tv_usec;
    if (ru.ru_maxrss > sum->ru_maxrss) sum->ru_maxrss = ru.ru_maxrss;
    if (w == task) {
      g_t_reaped = mono_ns();
      task_status = ws;
      kill(-1, SIGKILL); /* the task is over: so is everything it left */
    }
  }
  sum->ru_utime.tv_sec = ut / 1000000, sum->ru_utime.tv_usec = ut % 1000000;
  sum->ru_stime.tv_sec = st / 1000000, sum->ru_stime.tv_usec = st % 1000000;
  return task_status;
}

static void reaper_main(const struct child_plan *p) {
  g_t_start = mono_ns();
  g_report_fd = p->report_fd;
  /* First, so that a stop request during setup is not lost: a PID 1 only
   * receives the signals it handles. */
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_term;
  sigaction(SIGTERM, &sa, NULL); /* no SA_RESTART: wait4 sees EINTR */
  sigset_t all;
  sigemptyset(&all);
  sigprocmask(SIG_SETMASK, &all, NULL);
  /* Other tasks' pipes must not be held open by this process. */
  int keep[7 + CG_MAXH] = {p->report_fd,   p->out_fd,  p->err_fd,
                           p->null_fd,     p->work_fd, p->netns_fd,
                           p->parent_pidfd};
  int nk = 7;
  for (int i = 0; i < p->ncg; i++) keep[nk++] = p->cg_fds[i];
  int e = sb_close_except(keep, nk);
  if (e) child_fail(p, "close_range", "", e);
  for (int i = 0; i < p->ncg; i++) { /* "0" means the writer itself */
    if (!p->cg_joined && write(p->cg_fds[i], "0", 1) != 1)
      child_fail(p, "join", "cgroup", errno);
    close(p->cg_fds[i]);
  }
  /* Tasks do not outlive the zygote, which does not outlive the agent. */
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  struct pollfd pf = {.fd = p->report_fd, .events = POLLOUT};
  if (poll(&pf, 1, 0) == 1 && (pf.revents & POLLERR)) /* agent died already */
    _exit(127);
  if (p->parent_pidfd >= 0) { /* the zygote died before our prctl */
    struct pollfd zf = {.fd = p->parent_pidfd, .events = POLLIN};
    if (poll(&zf, 1, 0) == 1) _exit(127);
    close(p->parent_pidfd);
  }
  if (p->netns_fd >= 0) {
    if (setns(p->netns_fd, CLONE_NEWNET) != 0)
      child_fail(p, "setns", "net", errno);
    close(p->netns_fd);
  }
  if (sethostname("sandbox", 7) != 0) child_fail(p, "sethostname", "", errno);
  umask(0);
  view_enter(p->view, p);
  close(p->work_fd);
  /* The reaper is a copy of the agent's memory: keep /proc/1/mem & co
   * closed to the task even beyond the uid check. */
  prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  struct task_fds f = {rehome(p, p->null_fd), rehome(p, p->out_fd),
                       rehome(p, p->err_fd)};
  g_report_fd = rehome(p, p->report_fd);

  g_t_forked = mono_ns();
  /* vfork: no copy of our page tables, and we resume once the task has
   * exec'd (or failed). */
  pid_t task = vfork();
  if (task == 0) {
    task_main(p, &f);
    _exit(127);
  }
  if (task < 0) child_fail(p, "fork", "", errno);
  if (g_stop) kill(-1, SIGKILL);
  /* Under a memory limit the OOM killer must pick the task, not us. */
  int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
  if (fd >= 0) {
    if (write(fd, "-1000", 5) < 0) { /* best effort */
    }
    close(fd);
  }
  close(f.in), close(f.out), close(f.err);
  struct rusage sum;
  int status = reap_all(task, &sum);
  write_exit(status, &sum);
  _exit(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
}

int reaper_clone(struct child_plan *p, pid_t *pid, int *pidfd, int *cg_err) {
  int fd = -1;
  uint64_t ns = CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS;
  /* The zygote reaps reapers after SIGCHLD (a signalfd); the agent never
   * sees them as children. */
  struct sb_clone_args a = {.flags = ns | CLONE_PIDFD,
                            .pidfd = (uint64_t)(uintptr_t)&fd,
                            .exit_signal = SIGCHLD};
  long r = -1;
  *cg_err = 0;
  if (p->cg_dir_fd >= 0) {
    /* cgroup v2: born in the task's cgroup, which spares the costly
     * migration (a write to cgroup.procs) in the child. */
    a.flags |= CLONE_INTO_CGROUP;
    a.cgroup = (uint64_t)p->cg_dir_fd;
    p->cg_joined = true;
    r = syscall(SYS_clone3, &a, CLONE_ARGS_V2);
    if (r < 0) { /* Linux < 5.7: join by writing cgroup.procs instead */
      *cg_err = errno;
      p->cg_joined = false;
      a.flags &= ~CLONE_INTO_CGROUP;
      a.cgroup = 0;
    }
  }
  if (r < 0) r = syscall(SYS_clone3, &a, CLONE_ARGS_V0);
  if (r < 0 && errno == ENOSYS) /* Linux < 5.3 has no pidfds anyway */
    r = syscall(SYS_clone, (unsigned long)(ns | CLONE_PIDFD | SIGCHLD), NULL,
                &fd, NULL, NULL);
  if (r == 0) {
    reaper_main(p);
    _exit(127);
  }
  if (r < 0) return errno;
  *pid = (pid_t)r;
  *pidfd = fd;
  return 0;
}
