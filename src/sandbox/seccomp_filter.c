/* SPDX-License-Identifier: Apache-2.0
 * The task's system call policy: deny by default (EPERM), allow what ordinary
 * programs (sh, coreutils, python3, compilers) need. The filter is compiled
 * once at init into BPF kept in memory, so a spawn only calls seccomp(2). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <sched.h>
#include <seccomp.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sandbox/sandbox_int.h"

/* Allowed without conditions. Anything absent is denied with EPERM, which
 * notably covers mount, umount2, pivot_root, chroot, ptrace,
 * process_vm_readv/writev, unshare, setns, bpf, perf_event_open, keyctl,
 * add_key, request_key, kexec_*, *_module, reboot, swapon/swapoff,
 * open_by_handle_at, name_to_handle_at, userfaultfd, io_uring_*, the new
 * mount API, set*id, capset, settimeofday and friends, sethostname, acct,
 * quotactl, iopl/ioperm, pidfd_getfd, kcmp. Names unknown to
 * this libseccomp are skipped (see extra_x86_64 below). */
/* clang-format off */
static const char *const allowed[] = {
    /* files and descriptors */
    "read", "write", "readv", "writev", "pread64", "pwrite64", "preadv",
    "pwritev", "preadv2", "pwritev2", "open", "openat", "openat2", "creat",
    "close", "close_range", "dup", "dup2", "dup3", "lseek", "fcntl", "flock",
    "fsync", "fdatasync", "sync", "syncfs", "sync_file_range", "truncate",
    "ftruncate", "fallocate", "fadvise64", "readahead", "sendfile", "splice",
    "tee", "vmsplice", "copy_file_range", "ioctl", "pipe", "pipe2",
    "stat", "fstat", "lstat", "newfstatat", "statx", "statfs", "fstatfs",
    "access", "faccessat", "faccessat2", "getdents", "getdents64", "getcwd",
    "chdir", "fchdir", "rename", "renameat", "renameat2", "mkdir", "mkdirat",
    "rmdir", "link", "linkat", "unlink", "unlinkat", "symlink", "symlinkat",
    "readlink", "readlinkat", "chmod", "fchmod", "fchmodat", "chown", "fchown",
    "lchown", "fchownat", "umask", "utime", "utimes", "utimensat", "futimesat",
    "mknod", "mknodat", "getxattr", "lgetxattr", "fgetxattr", "listxattr",
    "llistxattr", "flistxattr", "setxattr", "lsetxattr", "fsetxattr",
    "removexattr", "lremovexattr", "fremovexattr", "memfd_create",
    "inotify_init", "inotify_init1", "inotify_add_watch", "inotify_rm_watch",
    "eventfd", "eventfd2", "signalfd", "signalfd4", "timerfd_create",
    "timerfd_settime", "timerfd_gettime", "poll", "ppoll", "select",
    "pselect6", "epoll_create", "epoll_create1", "epoll_ctl", "epoll_wait",
    "epoll_pwait", "epoll_pwait2", "io_setup", "io_destroy", "io_submit",
    "io_getevents", "io_pgetevents", "io_cancel",
    /* memory */
    "brk", "mmap", "munmap", "mremap", "mprotect", "msync", "mincore",
    "madvise", "mlock", "mlock2", "munlock", "mlockall", "munlockall",
    "get_mempolicy", "set_mempolicy", "mbind", "membarrier", "pkey_alloc",
    "pkey_free", "pkey_mprotect",
    /* processes, threads, signals (clone is conditional, below) */
    "fork", "vfork", "execve", "execveat", "exit", "exit_group", "wait4",
    "waitid", "kill", "tkill", "tgkill", "rt_sigaction", "rt_sigprocmask",
    "rt_sigreturn", "rt_sigpending", "rt_sigtimedwait", "rt_sigsuspend",
    "rt_sigqueueinfo", "rt_tgsigqueueinfo", "sigaltstack", "pause",
    "set_tid_address", "set_robust_list", "get_robust_list", "futex",
    "futex_waitv", "rseq", "arch_prctl", "prctl", "seccomp", "gettid",
    "getpid", "getppid", "getpgrp", "getpgid", "setpgid", "getsid", "setsid",
    "getuid", "geteuid", "getgid", "getegid", "getresuid", "getresgid",
    "getgroups", "capget", "getpriority", "setpriority", "sched_yield",
    "sched_getaffinity", "sched_setaffinity", "sched_getparam",
    "sched_setparam", "sched_getscheduler", "sched_setscheduler",
    "sched_get_priority_max", "sched_get_priority_min",
    "sched_rr_get_interval", "sched_getattr", "sched_setattr", "ioprio_get",
    "ioprio_set", "getrlimit", "setrlimit", "prlimit64", "getrusage", "times",
    "pidfd_open", "pidfd_send_signal", "restart_syscall",
    "landlock_create_ruleset", "landlock_add_rule", "landlock_restrict_self",
    /* time */
    "nanosleep", "clock_nanosleep", "clock_gettime", "clock_getres",
    "gettimeofday", "time", "getitimer", "setitimer", "alarm", "timer_create",
    "timer_settime", "timer_gettime", "timer_getoverrun", "timer_delete",
    /* System V and POSIX IPC: private to the task's IPC namespace */
    "shmget", "shmat", "shmdt", "shmctl", "semget", "semop", "semtimedop",
    "semctl", "msgget", "msgsnd", "msgrcv", "msgctl", "mq_open", "mq_unlink",
    "mq_timedsend", "mq_timedreceive", "mq_notify", "mq_getsetattr",
    /* sockets (socket itself is conditional, below) */
    "socketpair", "bind", "listen", "accept", "accept4", "connect",
    "getsockname", "getpeername", "sendto", "recvfrom", "sendmsg", "recvmsg",
    "sendmmsg", "recvmmsg", "shutdown", "setsockopt", "getsockopt",
    /* information */
    "uname", "sysinfo", "getrandom", "getcpu",
};
/* clang-format on */

#ifdef __x86_64__
/* System calls newer than libseccomp 2.5.4's tables, by number. */
static const int extra_x86_64[] = {
    439, /* faccessat2 */
    441, /* epoll_pwait2 */
    449, /* futex_waitv */
    451, /* cachestat */
    452, /* fchmodat2 (glibc >= 2.39 uses it) */
};
#endif

/* Address families a task may open: no AF_PACKET, AF_VSOCK, AF_ALG, ... */
static const int families[] = {AF_UNIX, AF_INET, AF_INET6, AF_NETLINK};

#define NS_FLAGS                                                              \
  (CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | \
   CLONE_NEWNET | CLONE_NEWCGROUP)

static int add_rules(scmp_filter_ctx ctx) {
  int rc;
  for (size_t i = 0; i < DC_ARRAY_LEN(allowed); i++) {
    int nr = seccomp_syscall_resolve_name(allowed[i]);
    if (nr == __NR_SCMP_ERROR) continue; /* unknown here: stays denied */
    rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
    if (rc < 0 && rc != -EEXIST) {
      DC_WARN(SB_MOD, "seccomp=rule name=%s err=%d", allowed[i], -rc);
      return rc;
    }
  }
#ifdef __x86_64__
  if (seccomp_arch_native() == SCMP_ARCH_X86_64)
    for (size_t i = 0; i < DC_ARRAY_LEN(extra_x86_64); i++) {
      rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, extra_x86_64[i], 0);
      if (rc < 0 && rc != -EEXIST) return rc;
    }
#endif
  /* clone: threads and fork, but no new namespaces. The low byte is the exit
   * signal, so CLONE_NEWTIME (0x80) is not a flag here. */
  rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
                        SCMP_A0(SCMP_CMP_MASKED_EQ, NS_FLAGS, 0));
  if (rc < 0) return rc;
  /* clone3 passes its flags in memory a filter cannot read: ENOSYS makes
   * glibc fall back to clone, which is checked above. */
  rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
  if (rc < 0) return rc;
  /* personality: only querying and the harmless values Docker allows
   * (PER_LINUX, PER_LINUX32, UNAME26 variants), never READ_IMPLIES_EXEC
   * or ADDR_NO_RANDOMIZE. */
  static const scmp_datum_t personas[] = {0x0, 0x8, 0x20000, 0x20008,
                                          0xffffffff};
  for (size_t i = 0; i < DC_ARRAY_LEN(personas); i++) {
    rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(personality), 1,
                          SCMP_A0(SCMP_CMP_EQ, personas[i], 0));
    if (rc < 0) return rc;
  }
  for (size_t i = 0; i < DC_ARRAY_LEN(families); i++) {
    rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
                          SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)families[i], 0));
    if (rc < 0) return rc;
  }
  return 0;
}

int sb_seccomp_build(struct sock_fprog *prog) {
  memset(prog, 0, sizeof *prog);
  scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ERRNO(EPERM));
  if (!ctx) return DC_ENOMEM;
  int err = DC_ESYS, fd = -1;
  /* A foreign architecture (e.g. int 0x80 on x86_64) kills the process:
   * its numbers mean different calls. */
  int rc =
      seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
  /* A binary tree instead of a linear chain: fewer instructions run per
   * system call, and the kernel's load-time emulation of the filter for
   * every syscall number (its allow cache) gets much cheaper. */
  if (rc == 0) rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
  if (rc == 0) rc = add_rules(ctx);
  if (rc < 0) {
    DC_WARN(SB_MOD, "seccomp=build err=%d", -rc);
    goto out;
  }
  /* libseccomp 2.5 exports only to a descriptor: go through a memfd. */
  fd = memfd_create("dc-seccomp", MFD_CLOEXEC);
  if (fd < 0) goto out;
  rc = seccomp_export_bpf(ctx, fd);
  if (rc < 0) {
    DC_WARN(SB_MOD, "seccomp=export err=%d", -rc);
    goto out;
  }
  struct stat st;
  if (fstat(fd, &st) < 0 || st.st_size <= 0 ||
      st.st_size % sizeof(struct sock_filter) != 0 ||
      st.st_size / sizeof(struct sock_filter) > BPF_MAXINSNS)
    goto out;
  struct sock_filter *f = dc_malloc((size_t)st.st_size);
  if (!f) {
    err = DC_ENOMEM;
    goto out;
  }
  if (pread(fd, f, (size_t)st.st_size, 0) != st.st_size) {
    dc_free(f);
    goto out;
  }
  prog->filter = f;
  prog->len = (unsigned short)(st.st_size / sizeof(struct sock_filter));
  err = 0;
out:
  if (fd >= 0) close(fd);
  seccomp_release(ctx);
  return err;
}
