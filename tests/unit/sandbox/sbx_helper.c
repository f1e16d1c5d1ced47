/* SPDX-License-Identifier: Apache-2.0
 * A tiny program the sandbox tests run inside a task: each subcommand makes
 * raw system calls and prints "<op> ok" or "<op> errno=<n>", so a test can
 * check what the kernel and the seccomp filter allowed. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static int report(const char *op, long rc) {
  if (rc < 0)
    printf("%s errno=%d\n", op, errno);
  else
    printf("%s ok\n", op);
  fflush(stdout);
  return 0;
}

static double now(clockid_t c) {
  struct timespec ts;
  clock_gettime(c, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int main(int argc, char **argv) {
  if (argc < 2) return 2;
  const char *op = argv[1];
  long arg = argc > 2 ? atol(argv[2]) : 0;
  if (!strcmp(op, "mount"))
    return report(op, syscall(SYS_mount, "none", "/tmp", "tmpfs", 0, NULL));
  if (!strcmp(op, "remount"))
    return report(
        op, syscall(SYS_mount, NULL, "/", NULL, MS_REMOUNT | MS_BIND, NULL));
  if (!strcmp(op, "ptrace"))
    return report(op, syscall(SYS_ptrace, PTRACE_TRACEME, 0, 0, 0));
  if (!strcmp(op, "unshare"))
    return report(op, syscall(SYS_unshare, CLONE_NEWNS));
  if (!strcmp(op, "unshare-user"))
    return report(op, syscall(SYS_unshare, CLONE_NEWUSER));
  if (!strcmp(op, "clone-newnet")) {
    long r = syscall(SYS_clone, CLONE_NEWNET | SIGCHLD, 0, 0, 0, 0);
    if (r == 0) _exit(0);
    return report(op, r);
  }
  if (!strcmp(op, "clone3")) {
    uint64_t args[8] = {0};
    long r = syscall(SYS_clone3, args, sizeof args);
    if (r == 0) _exit(0);
    return report(op, r);
  }
  if (!strcmp(op, "socket-packet"))
    return report(op, socket(AF_PACKET, SOCK_RAW, 0));
  if (!strcmp(op, "socket-vsock"))
    return report(op, socket(40 /* AF_VSOCK */, SOCK_STREAM, 0));
  if (!strcmp(op, "i386")) { /* 32-bit entry: a foreign arch for seccomp */
#ifdef __x86_64__
    long r;
    __asm__ volatile("int $0x80" : "=a"(r) : "a"(20) : "memory");
    printf("i386 survived r=%ld\n", r);
#endif
    return 0;
  }
  if (!strcmp(op, "x32")) { /* x32 ABI getpid: another ABI for seccomp */
    long r = syscall(0x40000000 | 39);
    printf("x32 survived r=%ld errno=%d\n", r, r < 0 ? errno : 0);
    return 0;
  }
  if (!strcmp(op, "forkbomb")) { /* fork until refused */
    int n = 0;
    for (;;) {
      pid_t p = fork();
      if (p == 0) {
        pause();
        _exit(0);
      }
      if (p < 0) break;
      n++;
      if (n > 10000) break;
    }
    printf("forked=%d errno=%d\n", n, errno);
    fflush(stdout);
    return 0;
  }
  if (!strcmp(op, "alloc")) { /* touch arg MiB, then hold argv[3] ms */
    size_t sz = (size_t)arg << 20;
    char *p = malloc(sz);
    if (!p) return report(op, -1);
    for (size_t i = 0; i < sz; i += 4096) p[i] = 1;
    printf("alloc ok\n");
    fflush(stdout);
    if (argc > 3) usleep((useconds_t)atol(argv[3]) * 1000);
    return 0;
  }
  if (!strcmp(op, "burn") || !strcmp(op, "spin")) { /* CPU or wall ms */
    clockid_t c =
        !strcmp(op, "burn") ? CLOCK_PROCESS_CPUTIME_ID : CLOCK_MONOTONIC;
    double end = now(c) + (double)arg;
    volatile unsigned long x = 0;
    while (now(c) < end)
      for (int i = 0; i < 10000; i++) x += (unsigned long)i;
    (void)x;
    printf("%s ok\n", op);
    return 0;
  }
  if (!strcmp(op, "connect")) { /* 127.0.0.1:arg */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return report("socket", -1);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)arg)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return report(op, connect(fd, (struct sockaddr *)&a, sizeof a));
  }
  if (!strcmp(op, "abstract")) { /* bind @argv[2], hold argv[3] ms */
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    size_t l = strlen(argv[2]);
    memcpy(a.sun_path + 1, argv[2], l);
    long r = bind(fd, (struct sockaddr *)&a,
                  (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + l));
    report(op, r);
    if (argc > 3) usleep((useconds_t)atol(argv[3]) * 1000);
    return 0;
  }
  return 2;
}
