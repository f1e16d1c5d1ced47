/* SPDX-License-Identifier: Apache-2.0
 * The sandbox's face on the event loop: init/close, and the per-task libuv
 * plumbing that watches the reaper's pidfd, streams output, enforces the
 * wall-clock limit, kills, and assembles the result (spawn.c starts tasks). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sandbox/sandbox_int.h"


#define STOP_GRACE_MS 1000 /* SIGTERM to the reaper, then SIGKILL */

const char *sb_mech_name(enum sb_mech m) {
  return m == SB_MECH_CGROUP2   ? "cgroup2"
         : m == SB_MECH_CGROUP1 ? "cgroup1"
                                : "rlimit";
}

static void sandbox_free(struct dc_sandbox_state *s) {
  zygote_stop(&s->zyg);
  if (s->cg.version) cg_close(&s->cg);
  view_free(&s->view);
  dc_free(s->filter.filter);
  if (s->pool.idle || s->pool.host_fd >= 0) netns_pool_close(&s->pool);
  if (s->null_fd >= 0) close(s->null_fd);
  dc_free(s->state_dir);
  dc_free(s);
}

/* ---- init / close ----------------------------------------------------------
 */

static int read_cap_last(void) {
  char buf[16] = {0};
  int fd = open("/proc/sys/kernel/cap_last_cap", O_RDONLY | O_CLOEXEC);
  ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
  if (fd >= 0) close(fd);
  int v = n > 0 ? atoi(buf) : 0;
  return v > 0 && v < 64 ? v : 63;
}

static int probe_mechanism(struct dc_sandbox_state *s, const char *forced) {
  static const enum sb_mech order[] = {SB_MECH_CGROUP2, SB_MECH_CGROUP1,
                                       SB_MECH_RLIMIT};
  for (size_t i = 0; i < DC_ARRAY_LEN(order); i++) {
    enum sb_mech m = order[i];
    if (forced && strcmp(forced, sb_mech_name(m)) != 0) continue;
    if (m == SB_MECH_RLIMIT) {
      s->mech = m;
      return 0;
    }
    int rc = cg_probe(&s->cg, m == SB_MECH_CGROUP2 ? 2 : 1, s->state_dir);
    if (rc == 0) {
      s->mech = m;
      return 0;
    }
    if (rc != DC_EUNSUPPORTED) return rc;
    DC_INFO(SB_MOD, "mechanism=%s usable=no", sb_mech_name(m));
  }
  return DC_EUNSUPPORTED;
}

int dc_sandbox_init(struct dc_sandbox *sb, uv_loop_t *loop,
                    const struct dc_sandbox_config *cfg) {
  if (!sb) return DC_EINVAL;
  memset(sb, 0, sizeof *sb);
  if (!loop || !cfg || !cfg->state_dir || cfg->state_dir[0] != '/')
    return DC_EINVAL;
  uint32_t base = cfg->uid_base ? cfg->uid_base : DC_SANDBOX_UID_BASE_DEFAULT;
  if ((uint64_t)base + DC_SANDBOX_SLOT_MAX >= UINT32_MAX) return DC_EINVAL;
  /* pidfds (Linux 5.3) are how we watch tasks. */
  int fd = (int)syscall(SYS_pidfd_open, getpid(), 0);
  if (fd < 0) return errno == ENOSYS ? DC_EUNSUPPORTED : DC_ESYS;
  close(fd);
  if (geteuid() != 0) return DC_EFORBIDDEN;

  struct dc_sandbox_state *s = dc_calloc(1, sizeof *s);
  if (!s) return DC_ENOMEM;
  s->loop = loop;
  s->uid_base = base;
  s->null_fd = -1;
  s->pool.host_fd = -1;
  zygote_init(&s->zyg);
  int rc = DC_ENOMEM;
  if (!(s->state_dir = dc_strdup(cfg->state_dir))) goto fail;
  if ((rc = dc_mkdir_p(s->state_dir, 0700)) != 0) goto fail;
  rc = DC_ESYS;
  if ((s->null_fd = open("/dev/null", O_RDWR | O_CLOEXEC)) < 0) goto fail;
  s->cap_last = read_cap_last();
  if ((rc = sb_seccomp_build(&s->filter)) != 0) goto fail;
  if ((rc = view_init(&s->view, s->state_dir, cfg->hidden_paths, cfg->flags)) !=
      0)
    goto fail;
  if ((rc = probe_mechanism(s, cfg->mechanism)) != 0) goto fail;
  uint32_t pool = cfg->netns_pool_size ? cfg->netns_pool_size
                                       : DC_SANDBOX_NETNS_POOL_DEFAULT;
  if ((rc = netns_pool_init(&s->pool, pool)) != 0) goto fail;
  /* Last: the zygote works from its copy of the state as it is now. */
  if ((rc = zygote_start(&s->zyg, s)) != 0) goto fail;
  DC_INFO(SB_MOD,
          "init mechanism=%s uid_base=%" PRIu32 " netns_pool=%" PRIu32
          " hidden=%zu top=%zu filter_insns=%u",
          sb_mech_name(s->mech), base, pool, s->view.nhidden, s->view.ntop,
          (unsigned)s->filter.len);
  sb->s = s;
  return 0;
fail:
  DC_WARN(SB_MOD, "init state_dir=%s err=%s", cfg->state_dir, dc_err_name(rc));
  sandbox_free(s);
  return rc;
}

const char *dc_sandbox_mechanism(const struct dc_sandbox *sb) {
  return sb && sb->s ? sb_mech_name(sb->s->mech) : NULL;
}

static int stop_task(struct dc_sandbox_task *t);

void dc_sandbox_close(struct dc_sandbox *sb) {
  if (!sb || !sb->s) return;
  struct dc_sandbox_state *s = sb->s;
  sb->s = NULL;
  s->closing = true;
  for (struct dc_sandbox_task *t = s->tasks; t; t = t->next) {
    if (t->exited) continue;
    t->res.killed = true;
    stop_task(t);
  }
  if (s->ntasks == 0) sandbox_free(s);
}

/* ---- task lifetime
 * ----------------------------------------------------------- */

static void unlink_task(struct dc_sandbox_task *t) {
  struct dc_sandbox_state *s = t->s;
  if (t->prev)
    t->prev->next = t->next;
  else if (s->tasks == t)
    s->tasks = t->next;
  if (t->next) t->next->prev = t->prev;
  t->next = t->prev = NULL;
}

static void close_fd(int *fd) {
  if (*fd >= 0) close(*fd);
  *fd = -1;
}

static void on_handle_closed(uv_handle_t *h) {
  struct dc_sandbox_task *t = h->data;
  if (--t->handles > 0) return;
  /* Only now: libuv forgets a polled descriptor at uv_close, and by then
   * its number must not belong to someone else. */
  close_fd(&t->report_fd);
  close_fd(&t->pidfd);
  struct dc_sandbox_state *s = t->s;
  if (!t->silent) t->on_exit(t, &t->res, t->ud);
  unlink_task(t);
  s->ntasks--;
  dc_free(t);
  if (s->closing && s->ntasks == 0) sandbox_free(s);
}

static void close_handle(struct dc_sandbox_task *t, uv_handle_t *h) {
  if (h->data && !uv_is_closing(h)) uv_close(h, on_handle_closed);
}

static void emit_setup_error(struct dc_sandbox_task *t) {
  const struct sb_record *r = &t->err_rec;
  char msg[320];
  int n = snprintf(msg, sizeof msg, "sandbox: %.32s%s%.200s: %s\n", r->what,
                   r->arg[0] ? " " : "", r->arg, strerror(r->err));
  DC_WARN(SB_MOD, "task=%" PRIu64 " setup failed: %.*s", t->seq,
          n > 0 ? n - 1 : 0, msg);
  if (t->on_output && n > 0)
    t->on_output(t, 2, msg, DC_MIN((size_t)n, sizeof msg - 1), t->ud);
}

static void maybe_finish(struct dc_sandbox_task *t) {
  if (!t->exited || !t->out_eof || !t->err_eof || t->finished) return;
  t->finished = true;
  if (t->has_err_rec) emit_setup_error(t);
  close_handle(t, (uv_handle_t *)&t->poll);
  close_handle(t, (uv_handle_t *)&t->timer);
}

/* After the reaper is reaped: every process of the task is dead. */
static void collect(struct dc_sandbox_task *t, int status,
                    const struct rusage *ru) {
  struct dc_sandbox_state *s = t->s;
  struct dc_sandbox_result *r = &t->res;
  const struct sb_record exit_rec = t->exit_rec;
  bool has_exit = t->has_exit_rec;
  r->usage.wall_ms = (uint64_t)(dc_mono_ms() - t->start_ms);
  if (has_exit) {
    uint64_t now = dc_mono_ns();
    DC_DEBUG(SB_MOD,
             "task=%" PRIu64 " clone_to_reaper_us=%" PRId64 " setup_us=%" PRIu64
             " run_us=%" PRIu64 " teardown_us=%" PRIu64,
             t->seq, (int64_t)(exit_rec.t_start_ns - t->t_clone_ns) / 1000,
             (exit_rec.t_forked_ns - exit_rec.t_start_ns) / 1000,
             (exit_rec.t_reaped_ns - exit_rec.t_forked_ns) / 1000,
             (now - exit_rec.t_reaped_ns) / 1000);
    status = exit_rec.status;
    r->usage.cpu_user_us = (uint64_t)exit_rec.utime_us;
    r->usage.cpu_sys_us = (uint64_t)exit_rec.stime_us;
    r->usage.peak_memory_bytes = (uint64_t)exit_rec.maxrss_kb * 1024;
  } else if (ru) { /* the reaper was killed: its own numbers are all we have */
    r->usage.cpu_user_us = (uint64_t)ru->ru_utime.tv_sec * 1000000 +
                           (uint64_t)ru->ru_utime.tv_usec;
    r->usage.cpu_sys_us = (uint64_t)ru->ru_stime.tv_sec * 1000000 +
                          (uint64_t)ru->ru_stime.tv_usec;
  }
  if (WIFSIGNALED(status))
    r->term_signal = WTERMSIG(status);
  else
    r->exit_code = WEXITSTATUS(status);
  if (t->has_err_rec) {
    r->setup_failed = true;
    r->exit_code = 127;
    r->term_signal = 0;
  }
  uint64_t c0 = dc_mono_ns();
  if (t->cg.n) {
    cg_task_usage(&s->cg, &t->cg, &r->usage, &r->oom_killed);
    cg_task_remove(&t->cg);
  }
  netns_pool_put(&s->pool, t->netns_fd, s->closing);
  t->netns_fd = -1;
  DC_DEBUG(SB_MOD,
           "task=%" PRIu64
           " exit=%d signal=%d timed_out=%d oom=%d killed=%d "
           "user_us=%" PRIu64 " sys_us=%" PRIu64 " peak=%" PRIu64
           " wall_ms=%" PRIu64 " cgroup_teardown_us=%" PRIu64,
           t->seq, r->exit_code, r->term_signal, r->timed_out, r->oom_killed,
           r->killed, r->usage.cpu_user_us, r->usage.cpu_sys_us,
           r->usage.peak_memory_bytes, r->usage.wall_ms,
           (dc_mono_ns() - c0) / 1000);
}

/* Reads the records that arrived; true at EOF, i.e. once the reaper exited
 * and the zygote, having reaped it, closed its copy of the pipe. */
static bool read_records(struct dc_sandbox_task *t) {
  for (;;) {
    struct sb_record rec;
    ssize_t n = read(t->report_fd, &rec, sizeof rec);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return false;
    if (n != (ssize_t)sizeof rec) {
      if (n != 0)
        DC_WARN(SB_MOD, "task=%" PRIu64 " report n=%zd errno=%d", t->seq, n,
                errno);
      return true;
    }
    if (rec.magic != SB_REC_MAGIC) continue;
    if (rec.type == SB_REC_ERROR && !t->has_err_rec) {
      t->err_rec = rec;
      t->has_err_rec = true;
    } else if (rec.type == SB_REC_EXIT) {
      t->exit_rec = rec;
      t->has_exit_rec = true;
    } else if (rec.type == SB_REC_WAIT) {
      t->wait_rec = rec;
      t->has_wait_rec = true;
    }
  }
}

static int send_signal(struct dc_sandbox_task *t, int sig);

/* The reaper's pidfd turns readable once it is a zombie, and PID 1 of a
 * namespace becomes one only after every other process in it is gone.
 * Needed only when the zygote died and reported nothing. */
static bool wait_reaper_gone(struct dc_sandbox_task *t) {
  for (int i = 0; i < 2; i++) {
    struct pollfd pf = {.fd = t->pidfd, .events = POLLIN};
    int r;
    while ((r = poll(&pf, 1, STOP_GRACE_MS)) < 0 && errno == EINTR) {
    }
    if (r == 1) return true;
    send_signal(t, SIGKILL);
  }
  DC_WARN(SB_MOD, "task=%" PRIu64 " reaper pid=%d does not die", t->seq,
          (int)t->pid);
  return false;
}

static void on_report(uv_poll_t *h, int status, int events) {
  (void)status, (void)events;
  struct dc_sandbox_task *t = h->data;
  if (!read_records(t)) return; /* not yet */
  uv_poll_stop(h);
  uv_timer_stop(&t->timer);
  t->exited = true;
  if (t->has_wait_rec) {
    const struct sb_record *w = &t->wait_rec;
    struct rusage ru;
    memset(&ru, 0, sizeof ru);
    ru.ru_utime.tv_sec = w->utime_us / 1000000;
    ru.ru_utime.tv_usec = w->utime_us % 1000000;
    ru.ru_stime.tv_sec = w->stime_us / 1000000;
    ru.ru_stime.tv_usec = w->stime_us % 1000000;
    ru.ru_maxrss = w->maxrss_kb;
    collect(t, w->status, &ru);
  } else { /* the zygote died, and its reapers with it (PR_SET_PDEATHSIG) */
    DC_WARN(SB_MOD, "task=%" PRIu64 " no wait status: zygote gone", t->seq);
    if (!wait_reaper_gone(t)) { /* never reuse a namespace still in use */
      close_fd(&t->netns_fd);
    }
    collect(t, SIGKILL & 0x7f, NULL);
  }
  maybe_finish(t);
}

static int send_signal(struct dc_sandbox_task *t, int sig) {
  if (syscall(SYS_pidfd_send_signal, t->pidfd, sig, NULL, 0) == 0 ||
      errno == ESRCH)
    return 0;
  DC_WARN(SB_MOD, "task=%" PRIu64 " signal=%d errno=%d", t->seq, sig, errno);
  return DC_ESYS;
}

static void on_timer(uv_timer_t *h) {
  struct dc_sandbox_task *t = h->data;
  if (t->exited) return;
  if (!t->stop_sent) {
    t->res.timed_out = true;
    stop_task(t);
    return;
  }
  send_signal(t, SIGKILL); /* the reaper did not finish in time */
}

/* The reaper kills everything in its namespace, reaps it and reports
 * usage; SIGKILL follows if it does not exit within STOP_GRACE_MS. */
static int stop_task(struct dc_sandbox_task *t) {
  if (t->stop_sent || t->exited) return 0;
  t->stop_sent = true;
  uv_timer_start(&t->timer, on_timer, STOP_GRACE_MS, 0);
  return send_signal(t, SIGTERM);
}

int dc_sandbox_kill(struct dc_sandbox_task *t) {
  if (!t) return DC_EINVAL;
  if (t->exited) return 0;
  t->res.killed = true;
  return stop_task(t);
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf) {
  (void)hint;
  struct dc_sandbox_task *t = h->data;
  /* libuv reads one stream at a time on the loop thread, and each read is
   * delivered before the next alloc: one buffer serves all tasks. */
  buf->base = t->s->readbuf;
  buf->len = sizeof t->s->readbuf;
}

static void on_read(uv_stream_t *st, ssize_t n, const uv_buf_t *buf) {
  struct dc_sandbox_task *t = st->data;
  bool is_out = st == (uv_stream_t *)&t->out;
  if (n > 0) {
    if (t->on_output)
      t->on_output(t, is_out ? 1 : 2, buf->base, (size_t)n, t->ud);
    return;
  }
  if (n == 0) return;
  if (n != UV_EOF)
    DC_WARN(SB_MOD, "task=%" PRIu64 " read stream=%d err=%s", t->seq,
            is_out ? 1 : 2, uv_err_name((int)n));
  uv_read_stop(st);
  close_handle(t, (uv_handle_t *)st);
  if (is_out)
    t->out_eof = true;
  else
    t->err_eof = true;
  maybe_finish(t);
}

/* ---- watching a started task ------------------------------------------ */

/* Handles that were initialised are closed; the task is freed without any
 * callback (the caller gets the error instead). */
static void abort_task(struct dc_sandbox_task *t) {
  t->silent = true;
  t->exited = t->finished = true;
  uv_handle_t *hs[] = {(uv_handle_t *)&t->poll, (uv_handle_t *)&t->timer,
                       (uv_handle_t *)&t->out, (uv_handle_t *)&t->err};
  for (size_t i = 0; i < DC_ARRAY_LEN(hs); i++) close_handle(t, hs[i]);
}

int task_watch(struct dc_sandbox_task *t, int *out_fd, int *err_fd,
               uint32_t timeout_ms) {
  struct dc_sandbox_state *s = t->s;
  t->next = s->tasks;
  if (s->tasks) s->tasks->prev = t;
  s->tasks = t;
  s->ntasks++;
  uv_handle_t *hs[] = {(uv_handle_t *)&t->poll, (uv_handle_t *)&t->timer,
                       (uv_handle_t *)&t->out, (uv_handle_t *)&t->err};
  uv_timer_init(s->loop, &t->timer);
  uv_pipe_init(s->loop, &t->out, 0);
  uv_pipe_init(s->loop, &t->err, 0);
  int uvrc = uv_poll_init(s->loop, &t->poll, t->report_fd);
  for (size_t i = 0; i < DC_ARRAY_LEN(hs); i++)
    if (i > 0 || uvrc == 0) hs[i]->data = t, t->handles++;
  if (uvrc == 0 && (uvrc = uv_pipe_open(&t->out, *out_fd)) == 0) *out_fd = -1;
  if (uvrc == 0 && (uvrc = uv_pipe_open(&t->err, *err_fd)) == 0) *err_fd = -1;
  if (uvrc == 0) uvrc = uv_poll_start(&t->poll, UV_READABLE, on_report);
  if (uvrc == 0)
    uvrc = uv_read_start((uv_stream_t *)&t->out, on_alloc, on_read);
  if (uvrc == 0)
    uvrc = uv_read_start((uv_stream_t *)&t->err, on_alloc, on_read);
  if (uvrc != 0) {
    DC_WARN(SB_MOD, "spawn uv err=%s", uv_err_name(uvrc));
    send_signal(t, SIGKILL);
    bool gone = wait_reaper_gone(t);
    close_fd(out_fd), close_fd(err_fd);
    cg_task_remove(&t->cg);
    if (gone)
      netns_pool_put(&s->pool, t->netns_fd, s->closing);
    else
      close_fd(&t->netns_fd);
    t->netns_fd = -1;
    abort_task(t); /* report_fd and pidfd: closed with the last handle */
    return DC_ESYS;
  }
  if (timeout_ms) {
    uv_update_time(s->loop); /* the loop's clock may be stale: not early */
    uv_timer_start(&t->timer, on_timer, timeout_ms, 0);
  }
  return 0;
}

int dc_sandbox_task_usage(const struct dc_sandbox_task *t,
                          struct dc_sandbox_usage *u) {
  memset(u, 0, sizeof *u);
  int64_t now = dc_mono_ms();
  u->wall_ms = now > t->start_ms ? (uint64_t)(now - t->start_ms) : 0;
  if (!t->cg.n) return DC_EUNSUPPORTED;
  bool oom = false;
  cg_task_usage(&t->s->cg, &t->cg, u, &oom);
  return DC_OK;
}
