/* SPDX-License-Identifier: Apache-2.0
 * sandbox: isolated task execution for the provider agent. This header
 * defines the whole interface: spawn a command with limits, kill it, and get
 * its exit status, output and measured usage through libuv callbacks.
 * Callers never see namespaces, mounts, seccomp or cgroups; README.md in
 * this folder describes what is enforced and how. */
#ifndef DC_SANDBOX_H
#define DC_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#define DC_SANDBOX_UID_BASE_DEFAULT 200000
#define DC_SANDBOX_NETNS_POOL_DEFAULT 4
#define DC_SANDBOX_PIDS_DEFAULT 256
#define DC_SANDBOX_SLOT_MAX 65535 /* slots are 0..DC_SANDBOX_SLOT_MAX */

/* Switches for operators and tests (config.flags). */
#define DC_SANDBOX_F_NO_MOUNT_SETATTR \
  1u /* make the view read-only by    \
        remounting each mount, as on  \
        kernels < 5.12 */

struct dc_sandbox_config {
  const char *state_dir;           /* absolute; the sandbox's own files;
                                      created if missing; hidden from every
                                      task; one per live sandbox */
  const char *const *hidden_paths; /* NULL-terminated host paths (dirs or
                                      files, must exist) covered by an empty
                                      read-only mount in every task; may be
                                      NULL */
  uint32_t uid_base;               /* slot s runs as uid = gid = uid_base + s;
                                      0 = DC_SANDBOX_UID_BASE_DEFAULT; the
                                      range must be used by no one else
                                      (RLIMIT_NPROC and file ownership are
                                      per uid) */
  uint32_t netns_pool_size;        /* idle network namespaces kept ready;
                                      0 = DC_SANDBOX_NETNS_POOL_DEFAULT */
  const char *mechanism;           /* NULL = probe "cgroup2", "cgroup1",
                                      "rlimit" in that order; a name forces
                                      that one (init fails if it can't) */
  uint32_t flags;                  /* DC_SANDBOX_F_* */
};

struct dc_sandbox_limits {
  uint64_t memory_bytes; /* 0 = no limit; swap is always 0 */
  uint32_t pids_max;     /* processes + threads; 0 = DC_SANDBOX_PIDS_DEFAULT */
  uint32_t cpu_millis;   /* CPU quota in millicores (1000 = one core);
                            0 = none; values below 10 are raised to 10 */
  uint32_t timeout_ms;   /* wall clock from spawn; 0 = none */
  bool network;          /* false: own network namespace with no usable
                            interface; true: the host's network */
};

struct dc_sandbox_spec {
  char *const *argv;    /* NULL-terminated, argv[0] non-empty; a bare name is
                           looked up in /usr/local/bin:/usr/bin:/bin inside */
  char *const *env;     /* NULL-terminated full environment; NULL = empty */
  const char *work_dir; /* absolute host dir made by the caller (not a
                           symlink); becomes /work, the cwd, writable; the
                           dir itself (not its contents) is chowned to the
                           slot's uid */
  uint32_t slot;        /* distinct among running tasks, <= SLOT_MAX */
};

/* Of every process of the task, from its cgroup when there is one, else
 * from the rusage of every process the task's reaper reaped. */
struct dc_sandbox_usage {
  uint64_t cpu_user_us;
  uint64_t cpu_sys_us;
  uint64_t peak_memory_bytes; /* cgroup peak; rlimit: largest ru_maxrss */
  uint64_t wall_ms;           /* spawn to exit */
};

struct dc_sandbox_result {
  int exit_code;     /* valid when term_signal == 0 */
  int term_signal;   /* signal that ended the task, else 0 */
  bool timed_out;    /* the timeout_ms limit fired */
  bool oom_killed;   /* the memory limit's OOM killer fired (cgroups) */
  bool killed;       /* dc_sandbox_kill or dc_sandbox_close ended it */
  bool setup_failed; /* the command never ran (e.g. not found): exit_code
                        is 127 and the reason was sent on stream 2 */
  struct dc_sandbox_usage usage;
  const char *mechanism; /* static string: "cgroup2", "cgroup1", "rlimit" */
};

struct dc_sandbox_task;  /* opaque; owned by the sandbox */
struct dc_sandbox_state; /* private */

/* Caller-allocated. Private: the state lives on the heap so that *sb may be
 * freed right after dc_sandbox_close while remaining tasks wind down. */
struct dc_sandbox {
  struct dc_sandbox_state *s;
};

/* stream is 1 (stdout) or 2 (stderr). data is borrowed for the call. Within
 * one stream, bytes arrive in order and complete up to EOF; there is no order
 * between the two streams. May call dc_sandbox_kill. */
typedef void (*dc_sandbox_output_cb)(struct dc_sandbox_task *t, int stream,
                                     const char *data, size_t len, void *ud);
/* Runs exactly once per successful spawn, after all output was delivered.
 * r is borrowed for the call; t is freed when the callback returns. */
typedef void (*dc_sandbox_exit_cb)(struct dc_sandbox_task *t,
                                   const struct dc_sandbox_result *r, void *ud);

/* Probes the limit mechanism, builds the seccomp filter and the view of the
 * host, and fills the network namespace pool. Needs root (CAP_SYS_ADMIN).
 * loop: borrowed, must outlive the sandbox. cfg and everything it points to:
 * copied. Call on the loop's thread; every other function too.
 * Errors: DC_EINVAL (bad cfg), DC_ENOTFOUND (a hidden path is missing),
 *   DC_EFORBIDDEN (not privileged enough), DC_EUNSUPPORTED (forced mechanism
 *   unavailable, kernel without pidfds), DC_ESYS, DC_EIO, DC_ENOMEM.
 *   On error *sb is left all-zero. */
int dc_sandbox_init(struct dc_sandbox *sb, uv_loop_t *loop,
                    const struct dc_sandbox_config *cfg);

/* "cgroup2", "cgroup1" or "rlimit" (static string). */
const char *dc_sandbox_mechanism(const struct dc_sandbox *sb);

/* Starts spec under lim. spec, lim and the strings they point to: copied
 * (borrowed for the call only). on_output may be NULL (output discarded);
 * on_exit must not be NULL. ud: borrowed, passed back. OUT: *out (may be
 * NULL), valid until on_exit returns.
 * libuv rule: on error no callback ever runs; on 0, on_exit runs exactly
 * once. Failures inside the sandbox (mount, exec) are not errors here: they
 * end the task with setup_failed, exit_code 127 and a "sandbox: ..." line
 * on stream 2.
 * Errors: DC_EINVAL (bad spec/limits), DC_ECONFLICT (slot in use),
 *   DC_ENOTFOUND (work_dir missing, not a directory, or a symlink),
 *   DC_ECLOSED (closing or closed), DC_EFORBIDDEN (no right to make a network
 *   namespace), DC_ESYS (clone, pipe, chown, cgroup or netns failed),
 *   DC_ENOMEM. */
int dc_sandbox_spawn(struct dc_sandbox *sb, const struct dc_sandbox_spec *spec,
                     const struct dc_sandbox_limits *lim,
                     dc_sandbox_output_cb on_output, dc_sandbox_exit_cb on_exit,
                     void *ud, struct dc_sandbox_task **out);

/* Kills the task's whole process tree; on_exit still runs, with killed set.
 * Idempotent until on_exit returns; t must not be used after that.
 * Errors: DC_ESYS (signal could not be sent). */
int dc_sandbox_kill(struct dc_sandbox_task *t);

/* Usage of a running task so far (CPU time and peak memory; wall_ms since
 * spawn), for live reports. OUT: *u. Errors: DC_EUNSUPPORTED when only
 * rlimits are in force (then only wall_ms is filled in). */
int dc_sandbox_task_usage(const struct dc_sandbox_task *t,
                          struct dc_sandbox_usage *u);

/* Kills remaining tasks (their on_exit runs with killed set) and releases
 * the pool. Afterwards *sb is all-zero and may be freed; run the loop until
 * it has no more sandbox handles. Safe on an all-zero *sb. */
void dc_sandbox_close(struct dc_sandbox *sb);

#endif /* DC_SANDBOX_H */
