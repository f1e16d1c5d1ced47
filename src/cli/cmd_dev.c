/* SPDX-License-Identifier: Apache-2.0
 * deepcloud dev: a local cloud in one command. It supervises one master and
 * N providers, each its own process (so any of them can be killed alone),
 * with all data under one folder, and stops them cleanly on SIGINT/SIGTERM. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "cli/cli.h"
#include "crypto/crypto.h"

#define DEV_PROVIDERS_MAX 64
#define DEV_STOP_GRACE_MS 5000
#define DEV_RESTART_DELAY_MS 300

struct child {
  struct dev *d;
  char name[32];
  char log_path[4200];
  char *argv[24];
  char argbuf[24][512];
  uv_process_t proc;
  bool running;
  uv_timer_t restart;
};

struct dev {
  uv_loop_t *loop;
  struct child master;
  struct child prov[DEV_PROVIDERS_MAX];
  uint32_t nprov;
  bool stopping, restart;
  uv_signal_t sigint, sigterm;
  uv_timer_t grace;
  char exe[4096];
  char dir[4096];
};

static int start_child(struct child *c);

static void on_restart(uv_timer_t *t) {
  struct child *c = t->data;
  if (!c->d->stopping) start_child(c);
}

static void on_child_exit(uv_process_t *p, int64_t status, int sig) {
  struct child *c = p->data;
  c->running = false;
  uv_close((uv_handle_t *)p, NULL);
  if (c->d->stopping) {
    fprintf(stderr, "dev: %s stopped\n", c->name);
    return;
  }
  fprintf(stderr, "dev: %s exited (status %lld, signal %d)%s\n", c->name,
          (long long)status, sig, c->d->restart ? ", restarting" : "");
  if (c->d->restart) uv_timer_start(&c->restart, on_restart, DEV_RESTART_DELAY_MS, 0);
}

static int start_child(struct child *c) {
  int fd = open(c->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) {
    fprintf(stderr, "dev: cannot open %s\n", c->log_path);
    return DC_EIO;
  }
  uv_stdio_container_t stdio[3] = {
      {.flags = UV_IGNORE},
      {.flags = UV_INHERIT_FD, .data.fd = fd},
      {.flags = UV_INHERIT_FD, .data.fd = fd},
  };
  uv_process_options_t o = {0};
  o.file = c->d->exe;
  o.args = c->argv;
  o.exit_cb = on_child_exit;
  o.stdio = stdio;
  o.stdio_count = 3;
  c->proc.data = c;
  int rc = uv_spawn(c->d->loop, &c->proc, &o);
  close(fd);
  if (rc) {
    fprintf(stderr, "dev: cannot start %s: %s\n", c->name, uv_strerror(rc));
    return DC_ESYS;
  }
  c->running = true;
  char pidfile[4300], text[32];
  snprintf(pidfile, sizeof pidfile, "%s/%s.pid", c->d->dir, c->name);
  int n = snprintf(text, sizeof text, "%d\n", c->proc.pid);
  dc_write_file_atomic(pidfile, text, (size_t)n, 0644);
  return DC_OK;
}

static void child_init(struct dev *d, struct child *c, const char *name) {
  c->d = d;
  snprintf(c->name, sizeof c->name, "%s", name);
  snprintf(c->log_path, sizeof c->log_path, "%s/%s.log", d->dir, name);
  uv_timer_init(d->loop, &c->restart);
  c->restart.data = c;
}

static void child_args(struct child *c, const char *const *args) {
  size_t i = 0;
  for (; args[i] && i + 1 < DC_ARRAY_LEN(c->argv); i++) {
    snprintf(c->argbuf[i], sizeof c->argbuf[i], "%s", args[i]);
    c->argv[i] = c->argbuf[i];
  }
  c->argv[i] = NULL;
}

static void kill_all(struct dev *d, int sig) {
  for (uint32_t i = 0; i < d->nprov; i++)
    if (d->prov[i].running) uv_process_kill(&d->prov[i].proc, sig);
  if (d->master.running) uv_process_kill(&d->master.proc, sig);
}

static void close_all(struct dev *d) {
  uv_close((uv_handle_t *)&d->sigint, NULL);
  uv_close((uv_handle_t *)&d->sigterm, NULL);
  uv_close((uv_handle_t *)&d->grace, NULL);
  uv_close((uv_handle_t *)&d->master.restart, NULL);
  for (uint32_t i = 0; i < d->nprov; i++)
    uv_close((uv_handle_t *)&d->prov[i].restart, NULL);
}

static void on_grace(uv_timer_t *t) {
  struct dev *d = t->data;
  fprintf(stderr, "dev: children still running after %d ms, killing\n",
          DEV_STOP_GRACE_MS);
  kill_all(d, SIGKILL);
}

static void stop(struct dev *d) {
  if (d->stopping) return;
  d->stopping = true;
  fprintf(stderr, "dev: stopping\n");
  for (uint32_t i = 0; i < d->nprov; i++) uv_timer_stop(&d->prov[i].restart);
  uv_timer_stop(&d->master.restart);
  kill_all(d, SIGTERM);
  uv_timer_start(&d->grace, on_grace, DEV_STOP_GRACE_MS, 0);
  uv_unref((uv_handle_t *)&d->grace);
  close_all(d);
}

static void on_signal(uv_signal_t *s, int sig) {
  (void)sig;
  stop(s->data);
}

/* Waits for the master to write a port file; the master writes it once it
 * is listening. */
static int wait_port(struct dev *d, const char *file, unsigned *port) {
  char path[4300];
  snprintf(path, sizeof path, "%s/master/%s", d->dir, file);
  for (int i = 0; i < 300; i++) {
    char *text = NULL;
    if (dc_read_file(path, 32, &text, NULL) == DC_OK) {
      *port = (unsigned)strtoul(text, NULL, 10);
      dc_free(text);
      if (*port) return DC_OK;
    }
    uv_run(d->loop, UV_RUN_NOWAIT);
    if (!d->master.running) break;
    usleep(50 * 1000);
  }
  return DC_ETIMEOUT;
}

int cli_dev(int argc, char **argv) {
  static struct dev d;
  uint32_t nprov = 3;
  const char *data = "./deepcloud-dev", *api = "127.0.0.1:8420", *level = "info";
  uint32_t hb_timeout = 3000;
  bool restart = true;
  struct opt opts[] = {
      {"providers", OPT_U32, &nprov, "how many providers (default 3)"},
      {"data", OPT_STR, &data, "folder for all data and logs (default ./deepcloud-dev)"},
      {"api", OPT_STR, &api, "REST API host:port (default 127.0.0.1:8420)"},
      {"heartbeat-timeout-ms", OPT_U32, &hb_timeout, "provider silence before it is dead"},
      {"restart", OPT_BOOL, &restart, "restart a process that dies (default true)"},
      {"log-level", OPT_STR, &level, "log level of the children"},
  };
  char *pos[1];
  size_t npos = 0;
  int rc = cli_parse("deepcloud dev [--providers N] [--data DIR] [--api HOST:PORT]",
                     opts, DC_ARRAY_LEN(opts), argc, argv, pos, &npos);
  if (rc >= 0) return rc;
  char host[256];
  uint16_t port;
  if (opts_hostport(api, host, sizeof host, &port)) {
    fprintf(stderr, "error: --api takes host:port, e.g. 127.0.0.1:8420\n");
    return 2;
  }
  if (nprov < 1 || nprov > DEV_PROVIDERS_MAX) {
    fprintf(stderr, "error: --providers must be between 1 and %d\n", DEV_PROVIDERS_MAX);
    return 2;
  }
  if (geteuid() != 0) {
    fprintf(stderr, "error: providers sandbox their tasks with namespaces and "
                    "cgroups, which needs root: run deepcloud dev as root\n");
    return 2;
  }
  ssize_t n = readlink("/proc/self/exe", d.exe, sizeof d.exe - 1);
  if (n <= 0) {
    fprintf(stderr, "error: cannot find my own executable\n");
    return 1;
  }
  d.exe[n] = '\0';
  if (dc_mkdir_p(data, 0700) || !realpath(data, d.dir)) {
    fprintf(stderr, "error: cannot create %s\n", data);
    return 1;
  }
  d.loop = uv_default_loop();
  d.restart = restart;
  d.nprov = nprov;
  uv_signal_init(d.loop, &d.sigint);
  uv_signal_init(d.loop, &d.sigterm);
  uv_timer_init(d.loop, &d.grace);
  d.sigint.data = d.sigterm.data = d.grace.data = &d;
  uv_signal_start(&d.sigint, on_signal, SIGINT);
  uv_signal_start(&d.sigterm, on_signal, SIGTERM);

  char mdir[4300], hbt[32];
  snprintf(mdir, sizeof mdir, "%s/master", d.dir);
  snprintf(hbt, sizeof hbt, "%u", hb_timeout);
  /* A stale port file from an earlier run must not be mistaken for ours. */
  char pf[4400];
  snprintf(pf, sizeof pf, "%s/session.port", mdir);
  unlink(pf);
  /* Dev providers are staked from the genesis: their keys must exist
   * before the master proposes it. */
  static char stake[DEV_PROVIDERS_MAX * (DC_PK_HEX_LEN + 1) + 1];
  char stakefile[4400];
  stake[0] = '\0';
  for (uint32_t i = 0; i < nprov; i++) {
    char pdir[4300], kp[4400], hex[DC_PK_HEX_LEN + 1];
    struct dc_identity pid;
    snprintf(pdir, sizeof pdir, "%s/provider-%u", d.dir, i + 1);
    snprintf(kp, sizeof kp, "%s/provider.key", pdir);
    if (dc_mkdir_p(pdir, 0700) || dc_identity_load_or_create(kp, &pid, NULL)) {
      fprintf(stderr, "error: cannot create the key of %s\n", pdir);
      return 1;
    }
    dc_identity_hex(&pid, hex);
    dc_identity_close(&pid);
    if (i) strcat(stake, ",");
    strcat(stake, hex);
  }
  /* Through a file: 64 keys do not fit one argument buffer. */
  snprintf(stakefile, sizeof stakefile, "%s/dev-stake.txt", d.dir);
  if (dc_write_file_atomic(stakefile, stake, strlen(stake), 0600)) {
    fprintf(stderr, "error: cannot write %s\n", stakefile);
    return 1;
  }
  char stakearg[4410];
  snprintf(stakearg, sizeof stakearg, "@%s", stakefile);
  child_init(&d, &d.master, "master");
  const char *margs[] = {"deepcloud", "master", "--data-dir", mdir, "--api-addr", api,
                         "--listen", "127.0.0.1:0", "--heartbeat-timeout-ms", hbt,
                         "--dev", "--dev-stake", stakearg,
                         "--log-level", level, NULL};
  child_args(&d.master, margs);
  if (start_child(&d.master)) return 1;
  unsigned sport = 0;
  if (wait_port(&d, "session.port", &sport)) {
    fprintf(stderr, "error: the master did not start; see %s\n", d.master.log_path);
    stop(&d);
    uv_run(d.loop, UV_RUN_DEFAULT);
    return 1;
  }
  char maddr[64];
  snprintf(maddr, sizeof maddr, "127.0.0.1:%u", sport);
  /* A restarted master must listen where the providers reconnect: pin the
   * port it picked on first start. */
  for (size_t i = 0; d.master.argv[i]; i++)
    if (!strcmp(d.master.argv[i], "--listen") && d.master.argv[i + 1]) {
      snprintf(d.master.argbuf[i + 1], sizeof d.master.argbuf[i + 1], "%s", maddr);
      break;
    }
  for (uint32_t i = 0; i < nprov; i++) {
    char name[32], pdir[4300], cpu[16];
    snprintf(name, sizeof name, "provider-%u", i + 1);
    snprintf(pdir, sizeof pdir, "%s/%s", d.dir, name);
    snprintf(cpu, sizeof cpu, "%u", 2000u);
    child_init(&d, &d.prov[i], name);
    /* Each dev provider offers 2 cores and 2 GB, whatever the host has:
     * they share one machine, and equal shares keep placement readable. */
    const char *pargs[] = {"deepcloud", "provider", "--data-dir", pdir, "--master", maddr,
                           "--name", name, "--cpu-millis", cpu, "--memory-mb", "2048",
                           "--log-level", level, NULL};
    child_args(&d.prov[i], pargs);
    if (start_child(&d.prov[i])) {
      stop(&d);
      break;
    }
  }
  if (!d.stopping) {
    printf("DeepCloud dev cloud: 1 master, %u providers\n"
           "  API:   http://%s\n  data:  %s (logs: *.log)\n"
           "  try:   DEEPCLOUD_API=http://%s deepcloud node list\n"
           "Stop with Ctrl-C.\n",
           nprov, api, d.dir, api);
    fflush(stdout);
  }
  uv_run(d.loop, UV_RUN_DEFAULT);
  uv_loop_close(d.loop);
  return 0;
}
