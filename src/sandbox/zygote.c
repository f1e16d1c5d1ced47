/* SPDX-License-Identifier: Apache-2.0
 * The zygote: a small single-threaded process forked from the agent at init
 * that clones every task's reaper. A reaper cloned straight from the agent
 * is a copy-on-write image of it for the task's whole life, so every page
 * the agent writes meanwhile takes a COW fault and a TLB shoot-down on
 * every CPU; with the zygote in between, the agent's pages are shared once
 * (with the zygote, after init) and then only the zygote's few pages are.
 *
 * Protocol, over a socketpair(AF_UNIX, SOCK_SEQPACKET): the agent sends one
 * request (its child_plan with descriptor fields replaced by indices into
 * the SCM_RIGHTS array; argv, env and work_src in a memfd, since they may
 * be larger than a socket message) and waits for one reply (the reaper's
 * pid and errno, its pidfd attached). Reapers are the zygote's children: it
 * reaps them after SIGCHLD and writes their wait status and rusage (an
 * SB_REC_WAIT record) to the task's report pipe, whose write end it holds
 * until then, so the agent sees EOF on that pipe only once the reaper, and
 * so every process of the task, is gone.
 *
 * The zygote is a raw clone of an agent that may have other threads: like
 * the reaper (reaper.c) it makes system calls only, never malloc, stdio or
 * the log, and exits with _exit. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sandbox/sandbox_int.h"

#ifndef MFD_CLOEXEC
#define MFD_CLOEXEC 1u
#endif

#define Z_MAGIC 0x44435a59u
#define Z_MAXFDS (7 + CG_MAXH)
#define Z_REPLY_MS 10000 /* a live zygote answers in milliseconds */

struct zreq {
  uint32_t magic;
  uint32_t argc;
  int32_t envc; /* -1: env is NULL */
  uint32_t blob_len;
  struct child_plan plan; /* descriptor fields: index into the fds, or -1 */
};

struct zrep {
  int32_t pid;
  int32_t err;    /* errno of the clone, 0 on success */
  int32_t cg_err; /* CLONE_INTO_CGROUP fell back (debug log) */
};

/* The plan's descriptor fields the zygote must receive (null_fd is its
 * own copy, inherited at fork). */
static int plan_fds(struct child_plan *p, int **v) {
  int n = 0;
  v[n++] = &p->out_fd, v[n++] = &p->err_fd, v[n++] = &p->report_fd;
  v[n++] = &p->work_fd, v[n++] = &p->netns_fd, v[n++] = &p->cg_dir_fd;
  for (int i = 0; i < p->ncg && i < CG_MAXH; i++) v[n++] = &p->cg_fds[i];
  return n;
}

static void close_fd(int *fd) {
  if (*fd >= 0) close(*fd);
  *fd = -1;
}

/* ---- in the zygote --------------------------------------------------------
 */

struct zchild {
  pid_t pid;
  int report_fd; /* held until the reaper is reaped: see the top */
};

struct zstate {
  int sock, sigfd, self_pidfd;
  struct zchild *kids; /* mmap'd: no malloc here */
  size_t nkids, cap;
};

static void z_add(struct zstate *z, pid_t pid, int fd) {
  if (z->nkids == z->cap) {
    size_t cap = z->cap ? z->cap * 2 : 256;
    void *m = mmap(NULL, cap * sizeof *z->kids, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) _exit(1); /* the agent sees it die and restarts it */
    if (z->kids) {
      memcpy(m, z->kids, z->nkids * sizeof *z->kids);
      munmap(z->kids, z->cap * sizeof *z->kids);
    }
    z->kids = m;
    z->cap = cap;
  }
  z->kids[z->nkids++] = (struct zchild){pid, fd};
}

static void z_reap(struct zstate *z) {
  struct signalfd_siginfo si[16];
  while (read(z->sigfd, si, sizeof si) > 0) {
  }
  int st;
  struct rusage ru;
  pid_t w;
  while ((w = wait4(-1, &st, WNOHANG | __WALL, &ru)) > 0) {
    for (size_t i = 0; i < z->nkids; i++) {
      if (z->kids[i].pid != w) continue;
      struct sb_record r;
      memset(&r, 0, sizeof r);
      r.magic = SB_REC_MAGIC;
      r.type = SB_REC_WAIT;
      r.status = st;
      r.utime_us = ru.ru_utime.tv_sec * 1000000LL + ru.ru_utime.tv_usec;
      r.stime_us = ru.ru_stime.tv_sec * 1000000LL + ru.ru_stime.tv_usec;
      r.maxrss_kb = ru.ru_maxrss;
      /* SIGPIPE is blocked: a vanished agent gives EPIPE. */
      if (write(z->kids[i].report_fd, &r, sizeof r) < 0) {
      }
      close(z->kids[i].report_fd);
      z->kids[i] = z->kids[--z->nkids];
      break;
    }
  }
}

/* Turns the blob (argv strings, env strings, work_src) into the plan's
 * pointers; the arrays live in *arr (munmap'd by the caller). */
static bool z_unpack(struct zreq *q, char *blob, void **arr, size_t *arr_len) {
  size_t na = (size_t)q->argc + 1, ne = q->envc >= 0 ? (size_t)q->envc + 1 : 0;
  if (q->argc == 0 || q->argc > (1u << 24) || ne > (1u << 24)) return false;
  *arr_len = (na + ne) * sizeof(char *);
  *arr = mmap(NULL, *arr_len, PROT_READ | PROT_WRITE,
              MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (*arr == MAP_FAILED) return false;
  char **v = *arr;
  size_t off = 0, nstr = (na - 1) + (ne ? ne - 1 : 0) + 1;
  for (size_t i = 0, k = 0; i < nstr; i++) {
    char *end = memchr(blob + off, '\0', q->blob_len - off);
    if (!end) return false;
    if (i == na - 1) v[k++] = NULL; /* end of argv */
    if (i == nstr - 1)
      q->plan.work_src = blob + off;
    else
      v[k++] = blob + off;
    off = (size_t)(end - blob) + 1;
    if (off > q->blob_len) return false;
  }
  if (ne) v[na + ne - 1] = NULL;
  q->plan.argv = v;
  q->plan.env = ne ? v + na : NULL;
  return true;
}

static void z_request(struct zstate *z) {
  struct zreq q;
  union {
    char buf[CMSG_SPACE(sizeof(int) * (Z_MAXFDS + 1))];
    struct cmsghdr align;
  } cm;
  struct iovec iov = {&q, sizeof q};
  struct msghdr m = {.msg_iov = &iov,
                     .msg_iovlen = 1,
                     .msg_control = cm.buf,
                     .msg_controllen = sizeof cm.buf};
  ssize_t n = recvmsg(z->sock, &m, MSG_CMSG_CLOEXEC);
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return;
  if (n <= 0) _exit(0); /* the agent closed the sandbox or died */
  int fds[Z_MAXFDS + 1], nfd = 0;
  for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c))
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
      int k = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
      for (int i = 0; i < k; i++) {
        int fd;
        memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
        if (nfd <= Z_MAXFDS)
          fds[nfd++] = fd;
        else
          close(fd);
      }
    }
  struct zrep rep = {0, EINVAL, 0};
  char *blob = MAP_FAILED;
  void *arr = MAP_FAILED;
  size_t arr_len = 0;
  int pidfd = -1, *slot[Z_MAXFDS];
  bool ok = n == (ssize_t)sizeof q && q.magic == Z_MAGIC && nfd >= 1 &&
            q.blob_len > 0 && q.plan.ncg >= 0 && q.plan.ncg <= CG_MAXH;
  int ns = ok ? plan_fds(&q.plan, slot) : 0;
  for (int i = 0; ok && i < ns; i++) { /* index -> received descriptor */
    int ix = *slot[i];
    if (ix >= 0 && ix + 1 >= nfd) ok = false;
    *slot[i] = ix >= 0 && ok ? fds[ix + 1] : -1;
  }
  if (ok) {
    blob = mmap(NULL, q.blob_len, PROT_READ, MAP_PRIVATE, fds[0], 0);
    ok = blob != MAP_FAILED && z_unpack(&q, blob, &arr, &arr_len);
  }
  if (ok) {
    q.plan.parent_pidfd = z->self_pidfd;
    pid_t pid = 0;
    rep.err = reaper_clone(&q.plan, &pid, &pidfd, &rep.cg_err);
    rep.pid = pid;
  }
  union {
    char buf[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
  } out;
  struct iovec oiov = {&rep, sizeof rep};
  struct msghdr om = {.msg_iov = &oiov, .msg_iovlen = 1};
  if (rep.err == 0) {
    om.msg_control = out.buf;
    om.msg_controllen = sizeof out.buf;
    struct cmsghdr *c = CMSG_FIRSTHDR(&om);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &pidfd, sizeof pidfd);
  }
  /* Before the reply: the reaper's SIGCHLD may come at any time after. */
  if (rep.err == 0) {
    z_add(z, rep.pid, q.plan.report_fd);
    for (int i = 1; i < nfd; i++)
      if (fds[i] == q.plan.report_fd) fds[i] = -1;
  }
  if (sendmsg(z->sock, &om, MSG_NOSIGNAL) < 0) _exit(0);
  close_fd(&pidfd);
  for (int i = 0; i < nfd; i++) close_fd(&fds[i]);
  if (blob != MAP_FAILED) munmap(blob, q.blob_len);
  if (arr != MAP_FAILED) munmap(arr, arr_len);
}

static void zygote_main(int sock, int null_fd, pid_t agent)
    __attribute__((noreturn));
static void zygote_main(int sock, int null_fd, pid_t agent) {
  /* The agent's death ends us, and our death ends every reaper. */
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != agent) _exit(0);
  /* Not in the agent's process group: a terminal's ^C or a group signal is
   * the agent's to handle (it stops tasks through us). */
  setpgid(0, 0);
  int keep[] = {2, sock, null_fd}; /* stderr: sanitizer reports */
  if (sb_close_except(keep, (int)DC_ARRAY_LEN(keep)) != 0) _exit(1);
  /* The agent's handlers must not run here (libuv's write to the agent's
   * own pipes). Ignored signals stay ignored: the task resets exactly the
   * agent's ignored set (child_plan.sig_ignored). */
  for (int sig = 1; sig < 65; sig++) {
    struct sigaction sa;
    if (sigaction(sig, NULL, &sa) != 0) continue;
    if (sig == SIGCHLD ||
        (sa.sa_handler != SIG_IGN && sa.sa_handler != SIG_DFL)) {
      memset(&sa, 0, sizeof sa);
      sa.sa_handler = SIG_DFL;
      sigaction(sig, &sa, NULL);
    }
  }
  sigset_t ss;
  sigemptyset(&ss);
  sigaddset(&ss, SIGCHLD);
  sigaddset(&ss, SIGPIPE);
  sigprocmask(SIG_SETMASK, &ss, NULL);
  sigdelset(&ss, SIGPIPE);
  struct zstate z = {.sock = sock};
  z.sigfd = signalfd(-1, &ss, SFD_CLOEXEC | SFD_NONBLOCK);
  z.self_pidfd = (int)syscall(SYS_pidfd_open, getpid(), 0);
  if (z.sigfd < 0 || z.self_pidfd < 0) _exit(1);
  for (;;) {
    struct pollfd pf[2] = {{sock, POLLIN, 0}, {z.sigfd, POLLIN, 0}};
    if (poll(pf, 2, -1) < 0) {
      if (errno == EINTR) continue;
      _exit(1);
    }
    if (pf[1].revents) z_reap(&z);
    if (pf[0].revents) z_request(&z);
  }
}

/* ---- in the agent ---------------------------------------------------------
 */

void zygote_init(struct zygote *z) {
  z->pid = 0;
  z->pidfd = z->sock = -1;
}

int zygote_start(struct zygote *z, const struct dc_sandbox_state *s) {
  zygote_init(z);
  int sv[2], fd = -1;
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
    DC_WARN(SB_MOD, "zygote socketpair errno=%d", errno);
    return DC_ESYS;
  }
  pid_t agent = getpid();
  /* exit_signal 0, like the reapers before: libuv's SIGCHLD handling (or a
   * waitpid(-1) of the embedding program) never sees or reaps it. */
  struct sb_clone_args a = {.flags = CLONE_PIDFD,
                            .pidfd = (uint64_t)(uintptr_t)&fd};
  long r = syscall(SYS_clone3, &a, CLONE_ARGS_V0);
  if (r == 0) zygote_main(sv[1], s->null_fd, agent);
  int e = errno;
  close(sv[1]);
  if (r < 0) {
    close(sv[0]);
    DC_WARN(SB_MOD, "zygote clone errno=%d", e);
    return DC_ESYS;
  }
  z->pid = (pid_t)r;
  z->pidfd = fd;
  z->sock = sv[0];
  DC_INFO(SB_MOD, "zygote pid=%d", (int)z->pid);
  return 0;
}

void zygote_stop(struct zygote *z) {
  close_fd(&z->sock); /* it exits on EOF; SIGKILL in case it is stuck */
  if (z->pidfd >= 0) syscall(SYS_pidfd_send_signal, z->pidfd, SIGKILL, NULL, 0);
  if (z->pid > 0)
    while (waitpid(z->pid, NULL, __WALL) < 0 && errno == EINTR) {
    }
  close_fd(&z->pidfd);
  z->pid = 0;
}

static bool zygote_alive(const struct zygote *z) {
  struct pollfd pf = {.fd = z->pidfd, .events = POLLIN};
  return z->sock >= 0 && z->pidfd >= 0 && poll(&pf, 1, 0) == 0;
}

/* argv, env (if any) and work_src, NUL-terminated, in a memfd. */
static int make_blob(const struct child_plan *p, struct zreq *q, int *out) {
  size_t len = 0;
  q->argc = 0;
  q->envc = p->env ? 0 : -1;
  for (char *const *a = p->argv; *a; a++) len += strlen(*a) + 1, q->argc++;
  for (char *const *e = p->env; e && *e; e++) len += strlen(*e) + 1, q->envc++;
  len += strlen(p->work_src) + 1;
  if (len > UINT32_MAX) return DC_EINVAL;
  char *b = dc_malloc(len);
  if (!b) return DC_ENOMEM;
  size_t off = 0;
  for (char *const *a = p->argv; *a; a++)
    off += (size_t)(stpcpy(b + off, *a) - (b + off)) + 1;
  for (char *const *e = p->env; e && *e; e++)
    off += (size_t)(stpcpy(b + off, *e) - (b + off)) + 1;
  memcpy(b + off, p->work_src, strlen(p->work_src) + 1);
  int fd = (int)syscall(SYS_memfd_create, "dc-sandbox-plan", MFD_CLOEXEC);
  ssize_t w = fd >= 0 ? write(fd, b, len) : -1;
  dc_free(b);
  if (w != (ssize_t)len) {
    DC_WARN(SB_MOD, "zygote memfd errno=%d", errno);
    if (fd >= 0) close(fd);
    return DC_ESYS;
  }
  q->blob_len = (uint32_t)len;
  *out = fd;
  return 0;
}

/* Sends the request and waits for the reply. Returns 0, an errno of the
 * clone (rep->err), or -1 when the zygote is gone or confused. */
static int exchange(struct zygote *z, struct zreq *q, const int *fds, int nfd,
                    struct zrep *rep, int *pidfd) {
  union {
    char buf[CMSG_SPACE(sizeof(int) * (Z_MAXFDS + 1))];
    struct cmsghdr align;
  } cm;
  memset(&cm, 0, sizeof cm);
  struct iovec iov = {q, sizeof *q};
  struct msghdr m = {.msg_iov = &iov,
                     .msg_iovlen = 1,
                     .msg_control = cm.buf,
                     .msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfd)};
  struct cmsghdr *c = CMSG_FIRSTHDR(&m);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfd);
  memcpy(CMSG_DATA(c), fds, sizeof(int) * (size_t)nfd);
  ssize_t n;
  while ((n = sendmsg(z->sock, &m, MSG_NOSIGNAL)) < 0 && errno == EINTR) {
  }
  if (n != (ssize_t)sizeof *q) return -1;
  struct pollfd pf = {.fd = z->sock, .events = POLLIN};
  int pr;
  while ((pr = poll(&pf, 1, Z_REPLY_MS)) < 0 && errno == EINTR) {
  }
  if (pr != 1) return -1;
  iov = (struct iovec){rep, sizeof *rep};
  memset(&cm, 0, sizeof cm);
  m = (struct msghdr){.msg_iov = &iov,
                      .msg_iovlen = 1,
                      .msg_control = cm.buf,
                      .msg_controllen = sizeof cm.buf};
  while ((n = recvmsg(z->sock, &m, MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR) {
  }
  if (n != (ssize_t)sizeof *rep) return -1;
  for (c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c))
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
        c->cmsg_len >= CMSG_LEN(sizeof(int)))
      memcpy(pidfd, CMSG_DATA(c), sizeof *pidfd);
  if (rep->err == 0 && (*pidfd < 0 || rep->pid <= 0)) return -1;
  return rep->err;
}

int zygote_spawn(struct dc_sandbox_state *s, const struct child_plan *p,
                 pid_t *pid, int *pidfd) {
  struct zygote *z = &s->zyg;
  if (!zygote_alive(z)) {
    if (z->pid > 0) DC_WARN(SB_MOD, "zygote pid=%d died: restarting", z->pid);
    zygote_stop(z);
    if (zygote_start(z, s) != 0) return DC_ESYS;
  }
  struct zreq q;
  memset(&q, 0, sizeof q);
  q.magic = Z_MAGIC;
  q.plan = *p;
  int fds[Z_MAXFDS + 1], nfd = 1, *slot[Z_MAXFDS];
  int rc = make_blob(p, &q, &fds[0]);
  if (rc) return rc;
  q.plan.argv = q.plan.env = NULL;
  q.plan.work_src = NULL;
  int ns = plan_fds(&q.plan, slot);
  for (int i = 0; i < ns; i++) /* fds[0] is the blob: index i is fds[i+1] */
    if (*slot[i] >= 0) fds[nfd] = *slot[i], *slot[i] = nfd - 1, nfd++;
  struct zrep rep = {0, 0, 0};
  int fd = -1;
  int e = exchange(z, &q, fds, nfd, &rep, &fd);
  close(fds[0]);
  if (rep.cg_err) DC_DEBUG(SB_MOD, "clone_into_cgroup errno=%d", rep.cg_err);
  if (e == 0) {
    *pid = rep.pid;
    *pidfd = fd;
    return 0;
  }
  if (fd >= 0) close(fd);
  if (e < 0) { /* a reaper it may have made dies with it */
    DC_WARN(SB_MOD, "zygote pid=%d not answering: stopped", z->pid);
    zygote_stop(z);
  } else {
    DC_WARN(SB_MOD, "clone errno=%d", e);
  }
  return DC_ESYS;
}
