/* SPDX-License-Identifier: Apache-2.0
 * sandbox internals shared by the module's .c files: the sandbox state, the
 * per-task record, the plan handed to the cloned child, and the functions
 * each concept file (cgroup, mounts, seccomp filter, netns pool, reaper)
 * offers the others. Other modules include only sandbox.h. */
#ifndef DC_SANDBOX_INT_H
#define DC_SANDBOX_INT_H

#include <linux/filter.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/types.h>

#include "base/base.h"
#include "sandbox/sandbox.h"

#define SB_MOD "sandbox"

enum sb_mech { SB_MECH_CGROUP2 = 0, SB_MECH_CGROUP1, SB_MECH_RLIMIT };
const char *sb_mech_name(enum sb_mech m);

/* ---- cgroups (cgroup.c) ---------------------------------------------------
 * One directory per hierarchy holds this sandbox's task cgroups: one
 * hierarchy for v2, up to four (memory, pids, cpu, cpuacct) for v1. */
#define CG_MEMORY 1u
#define CG_PIDS 2u
#define CG_CPU 4u
#define CG_CPUACCT 8u
#define CG_MAXH 4

struct cg_root {
  char *dir;      /* our parent cgroup in this hierarchy */
  unsigned ctrls; /* CG_* served by this hierarchy */
};

struct cgroups {
  int version; /* 2, 1, or 0 = none (rlimit) */
  struct cg_root h[CG_MAXH];
  int nh;
  char *list_path; /* state_dir/cgroups: what to clean up after a crash */
};

struct cg_task {
  char *dir[CG_MAXH]; /* NULL where not created */
  int procs_fd[CG_MAXH];
  int dir_fd; /* v2: the cgroup itself, for CLONE_INTO_CGROUP */
  int n;
};

/* Errors: DC_EUNSUPPORTED (no usable hierarchy of that version), DC_ESYS. */
int cg_probe(struct cgroups *cg, int version, const char *state_dir);
void cg_close(struct cgroups *cg);
/* Creates the task's cgroup(s) with limits, opens cgroup.procs for the child
 * to join. Errors: DC_ESYS, DC_ENOMEM. */
int cg_task_create(const struct cgroups *cg, struct cg_task *t, uint64_t seq,
                   const struct dc_sandbox_limits *lim);
void cg_task_init(struct cg_task *t); /* empty: nothing to close */
void cg_task_close_fds(struct cg_task *t);
/* After the task is dead: fills usage fields it can (leaves others), sets
 * *oom. Returns bitmask of what it filled: 1 cpu, 2 memory. */
unsigned cg_task_usage(const struct cgroups *cg, const struct cg_task *t,
                       struct dc_sandbox_usage *u, bool *oom);
void cg_task_remove(struct cg_task *t);

/* ---- seccomp filter (seccomp_filter.c) ------------------------------------
 */
/* Builds the deny-by-default filter as BPF in memory, so the child only has
 * to call seccomp(2). OUT: *prog (free filter with dc_free).
 * Errors: DC_ESYS, DC_ENOMEM. */
int sb_seccomp_build(struct sock_fprog *prog);

/* ---- view of the host (mounts.c) ------------------------------------------
 */
struct view_entry {
  char *name;   /* top-level name, e.g. "usr" */
  char *src;    /* "/usr" */
  char *dst;    /* root + "/usr" */
  char *target; /* symlink target, or NULL for a directory */
};

struct view_hidden {
  char *dst; /* root + canonical host path */
  bool is_dir;
};

struct view {
  char *root; /* state_dir/root: mount point of the new root */
  struct view_entry *top;
  size_t ntop;
  struct view_hidden *hidden;
  size_t nhidden;
  char *empty_file;              /* bound over hidden files */
  char *resolv_src, *resolv_dst; /* /etc/resolv.conf target under /run */
  char *resolv_dir;              /* its directory under root/run */
  /* Precomputed destinations, so the child only calls mount(2). */
  char *d_proc, *d_dev, *d_shm, *d_tmp, *d_work, *d_run;
  bool no_setattr;
};

/* Errors: DC_ENOTFOUND (hidden path missing), DC_ESYS, DC_ENOMEM. */
int view_init(struct view *v, const char *state_dir, const char *const *hidden,
              unsigned flags);
void view_free(struct view *v);

/* ---- netns pool (netns_pool.c) ---------------------------------------------
 */
struct netns_pool {
  int *idle; /* fds of empty network namespaces, none in use */
  size_t nidle, cap;
  size_t want;
  int host_fd; /* our own netns, to return to after unshare */
};
int netns_pool_init(struct netns_pool *p, size_t want);
/* OUT: *fd, owned by the caller until netns_pool_put. Errors: DC_ESYS. */
int netns_pool_take(struct netns_pool *p, int *fd);
/* Only once every process that was in the namespace is dead. */
void netns_pool_put(struct netns_pool *p, int fd, bool closing);
void netns_pool_close(struct netns_pool *p);

/* ---- the cloned child (reaper.c) ----------------------------------------- */
/* Records the child writes on the report pipe: at most one error and one
 * exit record, each < PIPE_BUF so the write is atomic. */
#define SB_REC_MAGIC 0x44435342u
/* SB_REC_WAIT comes from the zygote after it reaped the reaper: the
 * reaper's wait status and rusage, as wait4 gave them (see zygote.c). */
enum { SB_REC_ERROR = 1, SB_REC_EXIT = 2, SB_REC_WAIT = 3 };
struct sb_record {
  uint32_t magic;
  uint32_t type;
  int32_t err;                           /* errno of a setup failure */
  int32_t status;                        /* wait status of the task */
  int64_t utime_us, stime_us, maxrss_kb; /* summed over reaped processes */
  uint64_t t_start_ns, t_forked_ns, t_reaped_ns; /* CLOCK_MONOTONIC, for
                                                    the debug log */
  char what[32]; /* "exec", "mount /proc", ... */
  char arg[200];
};

/* Everything the child needs, prepared by the parent: the child only makes
 * system calls with it (no allocation, no locks: see reaper.c). */
struct child_plan {
  const struct view *view;
  const struct sock_fprog *filter;
  char *const *argv;
  char *const *env;
  uid_t uid;
  gid_t gid;
  int netns_fd; /* -1: host network */
  int work_fd;
  const char *work_src; /* the work dir's host path; work_fd is checked
                            against what ends up mounted */
  char tmp_opts[64];    /* tmpfs options of /tmp */
  int out_fd, err_fd, null_fd, report_fd;
  int cg_fds[CG_MAXH]; /* cgroup.procs to write "0" into... */
  int ncg;
  int cg_dir_fd;        /* ...unless born there (v2, -1 otherwise) */
  bool cg_joined;       /* set by reaper_clone */
  int parent_pidfd;     /* the zygote's pidfd (set by the zygote): lets the
                           reaper see a zygote that died before it set
                           PR_SET_PDEATHSIG; -1 = none */
  uint64_t sig_ignored; /* SigIgn of the agent: reset in the task */
  int cap_last;         /* /proc/sys/kernel/cap_last_cap */
  bool use_rlimit;
  struct rlimit rl_as, rl_nproc, rl_cpu;
  bool has_rl_as, has_rl_nproc, has_rl_cpu;
};

/* Clones the reaper, with SIGCHLD as its exit signal (sets p->cg_joined
 * first). Runs in the zygote: it does not log. OUT: *pid, *pidfd, *cg_err
 * (errno of a failed CLONE_INTO_CGROUP that fell back to cgroup.procs, else
 * 0). Returns 0 or the clone's errno. */
int reaper_clone(struct child_plan *p, pid_t *pid, int *pidfd, int *cg_err);
/* Closes every descriptor but keep[0..n) (sorted in place; entries < 0 are
 * ignored). Only system calls. Returns 0 or an errno. */
int sb_close_except(int *keep, int n);
/* Used by the child's mount code to report a failure and exit. */
void child_fail(const struct child_plan *p, const char *what, const char *arg,
                int err) __attribute__((noreturn));
/* Builds the new root and pivots into it (child only). */
void view_enter(const struct view *v, const struct child_plan *p);

#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif
#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif
#ifndef SYS_clone3
#define SYS_clone3 435
#endif
#ifndef SYS_close_range
#define SYS_close_range 436
#endif
#ifndef PR_CAP_AMBIENT
#define PR_CAP_AMBIENT 47
#define PR_CAP_AMBIENT_CLEAR_ALL 4
#endif
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif

/* clone3's struct up to version 2 (88 bytes, with cgroup); avoids
 * <linux/sched.h>, which clashes with <sched.h> on some libcs. */
struct sb_clone_args {
  uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size,
      tls, set_tid, set_tid_size, cgroup;
};
#define CLONE_ARGS_V0 64
#define CLONE_ARGS_V2 88

/* ---- zygote (zygote.c) -----------------------------------------------------
 * A small process forked at init that clones every reaper, so that reapers
 * share no pages with the agent (see zygote.c and README.md). */
struct zygote {
  pid_t pid; /* 0: not running */
  int pidfd; /* ours, to see it die and to stop it */
  int sock;  /* SOCK_SEQPACKET: one request, one reply */
};
void zygote_init(struct zygote *z); /* not running: nothing to stop */
struct dc_sandbox_state;
/* Forks the zygote: call once s->view, s->filter and s->null_fd are final
 * (the zygote uses its copies). Errors: DC_ESYS. */
int zygote_start(struct zygote *z, const struct dc_sandbox_state *s);
/* Kills and reaps it (its reapers die with it). */
void zygote_stop(struct zygote *z);
/* Has the zygote clone a reaper following *p (restarting a dead zygote
 * first). OUT: *pid, *pidfd. Errors: DC_ESYS, DC_ENOMEM. */
int zygote_spawn(struct dc_sandbox_state *s, const struct child_plan *p,
                 pid_t *pid, int *pidfd);

/* ---- sandbox state (sandbox.c) --------------------------------------------
 */
struct dc_sandbox_state {
  uv_loop_t *loop;
  char *state_dir;
  uint32_t uid_base;
  enum sb_mech mech;
  struct cgroups cg;
  struct view view;
  struct sock_fprog filter;
  struct netns_pool pool;
  struct zygote zyg;
  int null_fd;
  int cap_last;
  uint64_t seq;
  struct dc_sandbox_task *tasks; /* running, doubly linked */
  size_t ntasks;
  bool closing;
  char readbuf[65536]; /* one read at a time per loop: shared */
};

/* A task: created by spawn, freed after on_exit once all four handles are
 * closed. States: running -> exited (reaped: EOF on the report pipe) ->
 * finished (EOF on both output pipes, handles closing) -> freed. `poll`
 * watches report_fd; pidfd is for signals. */
struct dc_sandbox_task {
  struct dc_sandbox_state *s;
  struct dc_sandbox_task *next, *prev;
  uint64_t seq;
  uint32_t slot;
  pid_t pid;
  int pidfd, report_fd, netns_fd;
  struct cg_task cg;
  uv_poll_t poll;
  uv_pipe_t out, err;
  uv_timer_t timer;
  int handles; /* initialised and not yet closed */
  bool exited, out_eof, err_eof, finished, stop_sent, silent;
  int64_t start_ms;
  uint64_t t_clone_ns;
  struct dc_sandbox_result res;
  struct sb_record err_rec, exit_rec, wait_rec; /* from the report pipe */
  bool has_err_rec, has_exit_rec, has_wait_rec;
  dc_sandbox_output_cb on_output;
  dc_sandbox_exit_cb on_exit;
  void *ud;
};

/* After the reaper is cloned: links t, starts watching its pidfd and
 * reading *out_fd and *err_fd (taken, set to -1), arms the timeout. On
 * failure the task is killed, reaped and freed without any callback.
 * Errors: DC_ESYS. */
int task_watch(struct dc_sandbox_task *t, int *out_fd, int *err_fd,
               uint32_t timeout_ms);

#endif /* DC_SANDBOX_INT_H */
