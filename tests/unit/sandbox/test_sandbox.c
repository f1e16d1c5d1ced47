/* SPDX-License-Identifier: Apache-2.0
 * Tests of the sandbox with real sandboxed processes (sh, coreutils,
 * python3 and the sbx_helper program): identity and privileges, namespaces,
 * kill and timeout of whole trees, network isolation, the read-only view
 * and hidden paths, the seccomp policy. test_limits.c (limits, usage,
 * errors) and test_zygote.c (the reapers' parent) have the rest; main runs
 * all three. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "tests/unit/sandbox/fixture.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- identity, privileges, namespaces ------------------------------------ */

static void test_init_mechanism(void **state) {
  struct fx *f = *state;
  const char *m = dc_sandbox_mechanism(&f->sb);
  assert_non_null(m);
  struct statfs sfs;
  bool v2 = statfs("/sys/fs/cgroup", &sfs) == 0 &&
            sfs.f_type == 0x63677270 /* CGROUP2_SUPER_MAGIC */;
  bool v1 = access("/sys/fs/cgroup/memory/cgroup.procs", F_OK) == 0 &&
            access("/sys/fs/cgroup/pids/cgroup.procs", F_OK) == 0;
  fprintf(stderr, "mechanism=%s (v2 mount=%d, v1 memory+pids=%d)\n", m, v2, v1);
  if (v2)
    assert_string_equal(m, "cgroup2");
  else if (v1)
    assert_string_equal(m, "cgroup1");
}

static void test_spawn_identity_and_privileges(void **state) {
  struct fx *f = *state;
  struct run r = {0};
  run_sh(f, &r,
         "id -u; id -g; grep -E '^(Uid|Gid|Groups|CapInh|CapPrm|CapEff|"
         "CapBnd|CapAmb|NoNewPrivs|Seccomp):' /proc/self/status; pwd; "
         "echo \"$DC_TASK_INDEX\"",
         NULL);
  const char *o = out_of(&r);
  fprintf(stderr, "%s", o);
  assert_int_equal(r.res.exit_code, 0);
  assert_int_equal(r.res.term_signal, 0);
  char want[128];
  uint32_t id = uid_base() + 1; /* slot 1 */
  SNP(want, sizeof want, "%u\n%u\n", id, id);
  assert_non_null(strstr(o, want));
  SNP(want, sizeof want, "Uid:\t%u\t%u\t%u\t%u\n", id, id, id, id);
  assert_non_null(strstr(o, want));
  SNP(want, sizeof want, "Gid:\t%u\t%u\t%u\t%u\n", id, id, id, id);
  assert_non_null(strstr(o, want));
  assert_true(strstr(o, "Groups:\t\n") || strstr(o, "Groups:\t \n"));
  assert_non_null(strstr(o, "CapInh:\t0000000000000000\n"));
  assert_non_null(strstr(o, "CapPrm:\t0000000000000000\n"));
  assert_non_null(strstr(o, "CapEff:\t0000000000000000\n"));
  assert_non_null(strstr(o, "CapBnd:\t0000000000000000\n"));
  assert_non_null(strstr(o, "CapAmb:\t0000000000000000\n"));
  assert_non_null(strstr(o, "NoNewPrivs:\t1\n"));
  assert_non_null(strstr(o, "Seccomp:\t2\n"));
  assert_non_null(strstr(o, "/work\n0\n"));
  run_free(&r);
}

static void test_spawn_namespaces(void **state) {
  struct fx *f = *state;
  struct run r = {0};
  run_sh(f, &r,
         "for n in pid mnt ipc uts net; do readlink /proc/self/ns/$n; done; "
         "echo procs=$(ls /proc | grep -c '^[0-9]'); hostname; echo sh=$$",
         NULL);
  const char *o = out_of(&r);
  assert_int_equal(r.res.exit_code, 0);
  static const char *const ns[] = {"pid", "mnt", "ipc", "uts", "net"};
  for (size_t i = 0; i < 5; i++) {
    char p[64], host[128];
    SNP(p, sizeof p, "/proc/self/ns/%s", ns[i]);
    ssize_t n = readlink(p, host, sizeof host - 1);
    assert_true(n > 0);
    host[n] = '\0';
    assert_non_null(strstr(o, ns[i])); /* the task saw its own... */
    assert_null(strstr(o, host));      /* ...and not the host's */
  }
  /* Only the reaper (1), sh and the pipeline: no host process. */
  const char *pc = strstr(o, "procs=");
  assert_non_null(pc);
  int procs = atoi(pc + 6);
  assert_true(procs >= 2 && procs <= 6);
  assert_non_null(strstr(o, "sandbox\n"));
  assert_non_null(strstr(o, "sh=2\n"));
  run_free(&r);
}

static void test_exit_kills_background_grandchild(void **state) {
  struct fx *f = *state;
  char tok[32], script[128];
  unique_sleep(tok, sizeof tok, 300);
  SNP(script, sizeof script, "(sleep %s &); sleep 0.1; exit 3", tok);
  struct run r = {0};
  run_sh(f, &r, script, NULL);
  assert_int_equal(r.res.exit_code, 3);
  assert_false(r.res.killed);
  assert_int_equal(count_procs_with_arg(tok), 0);
  run_free(&r);
}

static void test_kill_kills_tree(void **state) {
  struct fx *f = *state;
  char tok[32], script[128];
  unique_sleep(tok, sizeof tok, 301);
  SNP(script, sizeof script, "sleep %s & echo started; wait", tok);
  struct run r = {.kill_on = "started"};
  run_sh(f, &r, script, NULL);
  assert_true(r.kill_sent);
  assert_true(r.res.killed);
  assert_false(r.res.timed_out);
  assert_int_equal(r.res.term_signal, SIGKILL);
  assert_int_equal(count_procs_with_arg(tok), 0);
  run_free(&r);
}

static void test_timeout_kills_tree(void **state) {
  struct fx *f = *state;
  char tok[32], script[128];
  unique_sleep(tok, sizeof tok, 100);
  SNP(script, sizeof script, "sleep %s & sleep %s", tok, tok);
  struct dc_sandbox_limits lim = {.timeout_ms = 500};
  struct run r = {0};
  int64_t t0 = dc_mono_ms();
  run_sh(f, &r, script, &lim);
  int64_t took = dc_mono_ms() - t0;
  fprintf(stderr, "timeout: took=%lld wall_ms=%llu signal=%d\n",
          (long long)took, (unsigned long long)r.res.usage.wall_ms,
          r.res.term_signal);
  assert_true(r.res.timed_out);
  assert_false(r.res.killed);
  assert_int_equal(r.res.term_signal, SIGKILL);
  assert_true(took >= 500 && took < 2000);
  assert_true(r.res.usage.wall_ms >= 500 && r.res.usage.wall_ms < 2000);
  assert_int_equal(count_procs_with_arg(tok), 0);
  run_free(&r);
}

/* ---- network ---------------------------------------------------------------
 */

static int listen_local(int *port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  assert_true(fd >= 0);
  struct sockaddr_in a = {.sin_family = AF_INET};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
  assert_int_equal(listen(fd, 16), 0);
  socklen_t l = sizeof a;
  assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &l), 0);
  *port = ntohs(a.sin_port);
  return fd;
}

static void test_network_isolated_by_default(void **state) {
  struct fx *f = *state;
  int port, fd = listen_local(&port);
  char script[160];
  SNP(script, sizeof script,
      "./sbx_helper connect %d; tail -n +3 /proc/net/dev | cut -d: -f1", port);
  struct run r = {0};
  run_sh(f, &r, script, NULL);
  close(fd);
  const char *o = out_of(&r);
  assert_non_null(strstr(o, "connect errno="));
  /* Only a loopback interface exists, and it is down. */
  assert_string_equal(strstr(o, "\n") + 1, "    lo\n");
  run_free(&r);
}

static void test_network_host_when_asked(void **state) {
  struct fx *f = *state;
  int port, fd = listen_local(&port);
  char script[64];
  SNP(script, sizeof script, "./sbx_helper connect %d", port);
  struct dc_sandbox_limits lim = {.network = true};
  struct run r = {0};
  run_sh(f, &r, script, &lim);
  close(fd);
  assert_string_equal(out_of(&r), "connect ok\n");
  run_free(&r);
}

static void test_netns_never_shared_between_running_tasks(void **state) {
  struct fx *f = *state;
  enum { N = 6 }; /* more than the pool's 4: the pool grows lazily */
  struct run r[N];
  memset(r, 0, sizeof r);
  char *argv[] = {"sh", "-c",
                  "./sbx_helper abstract dcsbx-abstract 400; "
                  "readlink /proc/self/ns/net",
                  NULL};
  struct dc_sandbox_limits lim = {0};
  for (int i = 0; i < N; i++)
    assert_int_equal(spawn_task(f, &r[i], argv, &lim, (uint32_t)(10 + i), NULL),
                     0);
  drain(f);
  for (int i = 0; i < N; i++)
    fprintf(stderr, "task %d: exit=%d sig=%d %s%s", i, r[i].res.exit_code,
            r[i].res.term_signal, out_of(&r[i]), err_of(&r[i]));
  for (int i = 0; i < N; i++) {
    assert_int_equal(r[i].exits, 1);
    const char *o = out_of(&r[i]);
    assert_non_null(strstr(o, "abstract ok\nnet:["));
    for (int j = 0; j < i; j++)
      assert_string_not_equal(strstr(o, "net:"), strstr(out_of(&r[j]), "net:"));
  }
  for (int i = 0; i < N; i++) run_free(&r[i]);
}

/* A namespace goes back to the pool when its task is dead, and the next
 * task finds nothing of it: the background holder of @dcsbx-reuse was
 * killed with its task, so the name is free again in the same namespace. */
static void test_netns_reused_only_after_death(void **state) {
  struct fx *f = *state;
  struct run a = {0}, b = {0};
  run_sh(f, &a,
         "./sbx_helper abstract dcsbx-reuse 60000 & sleep 0.3; "
         "readlink /proc/self/ns/net",
         NULL);
  run_sh(f, &b,
         "./sbx_helper abstract dcsbx-reuse 0; readlink /proc/self/ns/net",
         NULL);
  const char *na = strstr(out_of(&a), "net:"), *nb = strstr(out_of(&b), "net:");
  assert_non_null(strstr(out_of(&a), "abstract ok\n"));
  assert_non_null(strstr(out_of(&b), "abstract ok\n"));
  assert_non_null(na);
  assert_non_null(nb);
  assert_string_equal(na, nb); /* the same namespace, reused */
  run_free(&a);
  run_free(&b);
}

/* ---- filesystem view ----------------------------------------------------- */

#define WRITE_PROBE                                                          \
  "for d in / /etc /usr /var /var/tmp /root /home /run /dev /sys /proc/sys " \
  "/work /tmp /dev/shm; do if touch $d/.dcw 2>/dev/null; then echo W $d; "   \
  "else echo R $d; fi; done; if echo x >/dev/null; then echo W /dev/null; "  \
  "fi; ./sbx_helper remount"

static void check_write_probe(const char *o) {
  static const char *const ro[] = {"/",        "/etc",  "/usr",     "/var",
                                   "/var/tmp", "/root", "/home",    "/run",
                                   "/dev",     "/sys",  "/proc/sys"};
  static const char *const rw[] = {"/work", "/tmp", "/dev/shm", "/dev/null"};
  char line[64];
  for (size_t i = 0; i < DC_ARRAY_LEN(ro); i++) {
    SNP(line, sizeof line, "R %s\n", ro[i]);
    if (!strstr(o, line)) fprintf(stderr, "expected read-only: %s\n", ro[i]);
    assert_non_null(strstr(o, line));
  }
  for (size_t i = 0; i < DC_ARRAY_LEN(rw); i++) {
    SNP(line, sizeof line, "W %s\n", rw[i]);
    assert_non_null(strstr(o, line));
  }
  assert_non_null(strstr(o, "remount errno=1\n")); /* EPERM */
}

static void test_view_is_read_only(void **state) {
  struct fx *f = *state;
  struct run r = {0};
  run_sh(f, &r, WRITE_PROBE, NULL);
  check_write_probe(out_of(&r));
  run_free(&r);
}

static void test_view_read_only_without_mount_setattr(void **state) {
  struct fx *f = *state;
  dc_sandbox_close(&f->sb);
  drain(f);
  assert_int_equal(fx_open(f, NULL, DC_SANDBOX_F_NO_MOUNT_SETATTR), 0);
  struct run r = {0};
  run_sh(f, &r, WRITE_PROBE, NULL);
  check_write_probe(out_of(&r));
  run_free(&r);
}

static void test_hidden_paths_invisible(void **state) {
  struct fx *f = *state;
  char script[PATH_MAX * 4];
  SNP(script, sizeof script,
      "cat %s/key; echo rc=$?; echo n=$(ls -A %s | wc -l); "
      "cat %s/visible.txt; echo hf=$(cat %s | wc -c); ls /work",
      f->data, f->data, f->root, f->hidden_file);
  struct run r = {0};
  run_sh(f, &r, script, NULL);
  const char *o = out_of(&r);
  assert_null(strstr(o, "SECRET"));
  assert_non_null(strstr(o, "rc=1\n"));
  assert_non_null(strstr(o, "n=0\n"));             /* the data dir is empty */
  assert_non_null(strstr(o, "visible-content\n")); /* its parent is not */
  assert_non_null(strstr(o, "hf=0\n"));            /* hidden file: empty */
  assert_non_null(strstr(o, "sbx_helper\n"));      /* /work is the work dir */
  run_free(&r);
}

/* ---- seccomp ---------------------------------------------------------------
 */

static void test_seccomp_denies_dangerous_calls(void **state) {
  struct fx *f = *state;
  struct run r = {0};
  run_sh(f, &r,
         "for op in mount ptrace unshare unshare-user clone-newnet clone3 "
         "socket-packet socket-vsock; do ./sbx_helper $op; done",
         NULL);
  assert_string_equal(out_of(&r),
                      "mount errno=1\nptrace errno=1\nunshare errno=1\n"
                      "unshare-user errno=1\nclone-newnet errno=1\n"
                      "clone3 errno=38\nsocket-packet errno=1\n"
                      "socket-vsock errno=1\n");
  run_free(&r);
}

/* Does int 0x80 work at all outside the sandbox? Some kernels and
 * hypervisors (this CI's PVM guest) refuse it with SIGSEGV. */
static bool host_has_i386_syscalls(void) {
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    int fd = open("/dev/null", O_WRONLY);
    dup2(fd, 1);
    execl(SBX_HELPER, "sbx_helper", "i386", (char *)NULL);
    _exit(126);
  }
  int st;
  assert_int_equal(waitpid(pid, &st, 0), pid);
  return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

static void test_seccomp_kills_foreign_arch(void **state) {
  struct fx *f = *state;
#ifdef __x86_64__
  /* x32 numbers (bit 30) reach seccomp even when the kernel lacks x32. */
  struct run r = {0};
  char *x32[] = {"./sbx_helper", "x32", NULL};
  run_task(f, &r, x32, &(struct dc_sandbox_limits){0});
  assert_int_equal(r.res.term_signal, SIGSYS);
  assert_null(strstr(out_of(&r), "survived"));
  run_free(&r);
  if (!host_has_i386_syscalls()) {
    fprintf(stderr,
            "kernel refuses int 0x80 even outside the sandbox "
            "(SIGSEGV): the i386 half is not checkable here\n");
    return;
  }
  struct run r2 = {0};
  char *i386[] = {"./sbx_helper", "i386", NULL};
  run_task(f, &r2, i386, &(struct dc_sandbox_limits){0});
  assert_int_equal(r2.res.term_signal, SIGSYS);
  assert_null(strstr(out_of(&r2), "survived"));
  run_free(&r2);
#else
  (void)f;
  fprintf(stderr, "not x86_64: no foreign ABI to try\n");
#endif
}

static void test_ordinary_programs_work(void **state) {
  struct fx *f = *state;
  struct run r = {0};
  run_sh(f, &r,
         "python3 -c 'import threading, subprocess, os, hashlib, json, "
         "tempfile, socket\n"
         "t = threading.Thread(target=lambda: None); t.start(); t.join()\n"
         "print(subprocess.run([\"echo\", \"sub\"], capture_output=True, "
         "text=True).stdout.strip())\n"
         "with tempfile.NamedTemporaryFile() as tf: tf.write(b\"x\")\n"
         "s = socket.socket(socket.AF_UNIX); s.close()\n"
         "print(\"py\", os.getuid(), len(os.listdir(\"/\")) > 3)' && "
         "ls -la / >/dev/null && sort </etc/passwd | head -1 >/dev/null && "
         "echo hi > f && cat f && mkdir -p d/e && cp f d/e/g && "
         "tar cf /tmp/t.tar d && gzip /tmp/t.tar && ls /tmp",
         NULL);
  if (r.res.exit_code) fprintf(stderr, "%s%s", out_of(&r), err_of(&r));
  assert_int_equal(r.res.exit_code, 0);
  char want[64];
  SNP(want, sizeof want, "sub\npy %u True\nhi\nt.tar.gz\n", uid_base() + 1);
  assert_string_equal(out_of(&r), want);
  run_free(&r);
}

int main(void) {
  if (geteuid() != 0) {
    fprintf(stderr, "test_sandbox needs root (namespaces, cgroups)\n");
    return 1;
  }
  const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)
      T(test_init_mechanism),
      T(test_spawn_identity_and_privileges),
      T(test_spawn_namespaces),
      T(test_exit_kills_background_grandchild),
      T(test_kill_kills_tree),
      T(test_timeout_kills_tree),
      T(test_network_isolated_by_default),
      T(test_network_host_when_asked),
      T(test_netns_never_shared_between_running_tasks),
      T(test_netns_reused_only_after_death),
      T(test_view_is_read_only),
      T(test_view_read_only_without_mount_setattr),
      T(test_hidden_paths_invisible),
      T(test_seccomp_denies_dangerous_calls),
      T(test_seccomp_kills_foreign_arch),
      T(test_ordinary_programs_work),
      T(test_memory_limit),
      T(test_pids_limit),
      T(test_rlimit_fallback),
      T(test_usage_cpu_time),
      T(test_usage_peak_memory),
      T(test_cpu_quota),
      T(test_output_complete_and_ordered),
      T(test_exec_failure_reported),
      T(test_spawn_errors_run_no_callback),
      T(test_close_kills_running_tasks),
      T(test_zygote_dies_with_agent),
      T(test_zygote_restarted_after_death),
      T(test_large_plan),
#undef T
  };
  if (getenv("SBX_FILTER")) cmocka_set_test_filter(getenv("SBX_FILTER"));
  return cmocka_run_group_tests(tests, NULL, NULL);
}
