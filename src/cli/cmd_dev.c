/* SPDX-License-Identifier: Apache-2.0
 * deepcloud dev: a local cloud in one command. It supervises one master and
 * N providers, each its own process (so any of them can be killed alone),
 * with all data under one folder, and stops them cleanly on SIGINT/SIGTERM. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "cli/cli.h"
#include "crypto/crypto.h"

#define DEV_PROVIDERS_MAX 64
#define DEV_MASTERS_MAX 5
#define DEV_STOP_GRACE_MS 5000

struct child {
  struct dev *d;
  char name[32];
  char log_path[4200];
  char *argv[32];
  char argbuf[32][512];
  uv_process_t proc;
  bool running;
  uv_timer_t restart;
};

struct dev {
  uv_loop_t *loop;
  struct child master[DEV_MASTERS_MAX];
  uint32_t nmasters;
  struct child prov[DEV_PROVIDERS_MAX];
  uint32_t nprov;
  bool stopping, restart;
  uint32_t restart_delay_ms;
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
  if (c->d->restart) uv_timer_start(&c->restart, on_restart, c->d->restart_delay_ms, 0);
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
  for (uint32_t i = 0; i < d->nmasters; i++)
    if (d->master[i].running) uv_process_kill(&d->master[i].proc, sig);
}

static void close_all(struct dev *d) {
  uv_close((uv_handle_t *)&d->sigint, NULL);
  uv_close((uv_handle_t *)&d->sigterm, NULL);
  uv_close((uv_handle_t *)&d->grace, NULL);
  for (uint32_t i = 0; i < d->nmasters; i++)
    uv_close((uv_handle_t *)&d->master[i].restart, NULL);
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
  for (uint32_t i = 0; i < d->nmasters; i++) uv_timer_stop(&d->master[i].restart);
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
  struct child *m0 = &d->master[0];
  for (int i = 0; i < 300; i++) {
    char *text = NULL;
    if (dc_read_file(path, 32, &text, NULL) == DC_OK) {
      *port = (unsigned)strtoul(text, NULL, 10);
      dc_free(text);
      if (*port) return DC_OK;
    }
    uv_run(d->loop, UV_RUN_NOWAIT);
    if (!m0->running) break;
    usleep(50 * 1000);
  }
  return DC_ETIMEOUT;
}

/* Whether port is free on loopback for TCP and UDP alike (gossip uses
 * both on one port). */
static bool port_free(unsigned port) {
  static const int types[] = {SOCK_STREAM, SOCK_DGRAM};
  for (size_t i = 0; i < 2; i++) {
    int fd = socket(AF_INET, types[i], 0);
    if (fd < 0) return false;
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    bool ok = bind(fd, (struct sockaddr *)&a, sizeof a) == 0;
    close(fd);
    if (!ok) return false;
  }
  return true;
}

/* A loopback port free right now, for the members of a dev cluster (their
 * addresses must be known before any of them starts, and a restarted
 * member comes back on its old one). It is drawn below the kernel's
 * ephemeral range: a port from that range, free when checked, can be
 * taken by any outgoing connection before the member binds it. */
/* Ports handed out (or kept from an earlier run) may not be bound yet:
 * never hand one out twice. */
static unsigned g_given[1024];
static size_t g_ngiven;

static bool port_given(unsigned port) {
  for (size_t i = 0; i < g_ngiven; i++)
    if (g_given[i] == port) return true;
  return false;
}

static void port_give(unsigned port) {
  if (port && !port_given(port) && g_ngiven < sizeof g_given / sizeof g_given[0])
    g_given[g_ngiven++] = port;
}

static unsigned free_port(void) {
  unsigned lo = 32768, hi = 60999;
  char *range = NULL;
  if (dc_read_file("/proc/sys/net/ipv4/ip_local_port_range", 64, &range, NULL) == DC_OK &&
      sscanf(range, "%u %u", &lo, &hi) != 2) {
    lo = 32768;
    hi = 60999;
  }
  dc_free(range);
  unsigned base = 10000, span = 55000; /* no room outside: anywhere */
  if (lo >= 12000) span = lo - base;
  else if (hi <= 63000) base = hi + 1, span = 65535 - hi;
  for (int tries = 0; tries < 200; tries++) {
    uint32_t r;
    dc_random(&r, sizeof r);
    unsigned port = base + r % span;
    if (port_given(port) || !port_free(port)) continue;
    port_give(port);
    return port;
  }
  return 0;
}

static unsigned g_api_ports[DEV_MASTERS_MAX];

/* Gossip in a dev cloud: a cluster key generated once in the data folder,
 * and one loopback port per member, kept in its folder so a restarted
 * member comes back at the address the others know. */
struct dev_gossip {
  bool on;
  bool fast;
  char key_file[4300];
  char masters[DEV_MASTERS_MAX * 24]; /* the masters' gossip IP:port list */
};
static struct dev_gossip g_gossip;
/* --restore: the backup the first master of a new cloud starts from. */
static const char *g_restore;

static int gossip_key_init(struct dev *d) {
  snprintf(g_gossip.key_file, sizeof g_gossip.key_file, "%s/gossip.key", d->dir);
  char *old = NULL;
  if (dc_read_file(g_gossip.key_file, 256, &old, NULL) == DC_OK && strlen(old) >= 64) {
    dc_free(old);
    return DC_OK;
  }
  dc_free(old);
  char key[65];
  dc_random_hex(key, 32);
  key[64] = '\n';
  return dc_write_file_atomic(g_gossip.key_file, key, 65, 0600);
}

/* The member's gossip port, chosen on first start and then kept. */
static unsigned gossip_port(const char *member_dir) {
  char pp[4400];
  snprintf(pp, sizeof pp, "%s/dev.gossip-port", member_dir);
  char *text = NULL;
  unsigned port = 0;
  if (dc_read_file(pp, 32, &text, NULL) == DC_OK) port = (unsigned)strtoul(text, NULL, 10);
  dc_free(text);
  port_give(port);
  if (!port) {
    port = free_port();
    char t[16];
    int n = snprintf(t, sizeof t, "%u\n", port);
    dc_mkdir_p(member_dir, 0700);
    dc_write_file_atomic(pp, t, (size_t)n, 0644);
  }
  return port;
}

/* Appends the gossip options of a member to args (at *n, NULL-terminated);
 * addr and join are buffers that live as long as args is used. */
static void gossip_args(const char **args, size_t *n, const char *member_dir,
                        char *addr, size_t addr_n, const char *join) {
  if (!g_gossip.on) return;
  snprintf(addr, addr_n, "127.0.0.1:%u", gossip_port(member_dir));
  args[(*n)++] = "--gossip-addr";
  args[(*n)++] = addr;
  args[(*n)++] = "--gossip-key-file";
  args[(*n)++] = g_gossip.key_file;
  if (g_gossip.fast) args[(*n)++] = "--gossip-fast";
  if (join && *join) {
    args[(*n)++] = "--gossip-join";
    args[(*n)++] = join;
  }
  args[*n] = NULL;
}

/* The masters' gossip addresses, for providers and other masters. */
static void gossip_masters(const struct dev *d, bool single) {
  size_t off = 0;
  g_gossip.masters[0] = '\0';
  if (!g_gossip.on) return;
  for (uint32_t i = 0; i < d->nmasters; i++) {
    char mdir[4300];
    if (single)
      snprintf(mdir, sizeof mdir, "%s/master", d->dir);
    else
      snprintf(mdir, sizeof mdir, "%s/master-%u", d->dir, i + 1);
    off += (size_t)snprintf(g_gossip.masters + off, sizeof g_gossip.masters - off,
                            "%s127.0.0.1:%u", i ? "," : "", gossip_port(mdir));
  }
}

static void api_urls(const struct dev *d, const char *api, char *out, size_t n) {
  if (d->nmasters == 1) {
    snprintf(out, n, "http://%s", api);
    return;
  }
  size_t off = 0;
  for (uint32_t i = 0; i < d->nmasters && off < n; i++)
    off += (size_t)snprintf(out + off, n - off, "%shttp://127.0.0.1:%u", i ? "," : "",
                            g_api_ports[i]);
}

static int start_single_master(struct dev *d, const char *api, const char *hbt,
                               const char *level, const char *stakearg, char *maddr,
                               size_t maddr_n) {
  char mdir[4300];
  snprintf(mdir, sizeof mdir, "%s/master", d->dir);
  char sp[4400];
  snprintf(sp, sizeof sp, "%s/state.db", mdir);
  if (g_restore && access(sp, F_OK) == 0) {
    fprintf(stderr, "error: --restore founds a new cloud: give a new --data folder "
                    "(%s already holds one)\n", d->dir);
    return 1;
  }
  /* A stale port file from an earlier run must not be mistaken for ours. */
  char pf[4400];
  snprintf(pf, sizeof pf, "%s/session.port", mdir);
  unlink(pf);
  struct child *m = &d->master[0];
  child_init(d, m, "master");
  const char *margs[32] = {"deepcloud", "master", "--data-dir", mdir, "--api-addr", api,
                           "--listen", "127.0.0.1:0", "--heartbeat-timeout-ms", hbt,
                           "--dev", "--dev-stake", stakearg, "--log-level", level, NULL};
  size_t na = 15;
  char gaddr[64];
  gossip_args(margs, &na, mdir, gaddr, sizeof gaddr, NULL);
  if (g_restore) {
    margs[na] = "--restore";
    margs[na + 1] = g_restore;
    margs[na + 2] = NULL;
  }
  child_args(m, margs);
  if (start_child(m)) return 1;
  /* Restored once: a restart goes on from the state it restored. */
  margs[na] = NULL;
  child_args(m, margs);
  unsigned sport = 0;
  if (wait_port(d, "session.port", &sport)) {
    fprintf(stderr, "error: the master did not start; see %s\n", m->log_path);
    stop(d);
    uv_run(d->loop, UV_RUN_DEFAULT);
    return 1;
  }
  snprintf(maddr, maddr_n, "127.0.0.1:%u", sport);
  /* A restarted master must listen where the providers reconnect: pin the
   * port it picked on first start. */
  for (size_t i = 0; m->argv[i]; i++)
    if (!strcmp(m->argv[i], "--listen") && m->argv[i + 1]) {
      snprintf(m->argbuf[i + 1], sizeof m->argbuf[i + 1], "%s", maddr);
      break;
    }
  return 0;
}

/* 3 or 5 masters on loopback: the first bootstraps, the others join
 * through it with a cluster token kept in the data folder. Ports are fixed
 * up front so a restarted master comes back where everyone expects it. */
static int start_cluster(struct dev *d, const char *api, const char *hbt,
                         const char *level, const char *stakearg, char *maddr,
                         size_t maddr_n) {
  char host[256];
  uint16_t port0;
  opts_hostport(api, host, sizeof host, &port0);
  port_give(port0);
  char tokpath[4300], token[65];
  snprintf(tokpath, sizeof tokpath, "%s/cluster.token", d->dir);
  char *old = NULL;
  bool fresh = true;
  if (dc_read_file(tokpath, 128, &old, NULL) == DC_OK && strlen(old) == 64) {
    snprintf(token, sizeof token, "%s", old);
    fresh = false;
  } else {
    dc_random_hex(token, 32);
    dc_write_file_atomic(tokpath, token, 64, 0600);
  }
  dc_free(old);
  if (g_restore && !fresh) {
    fprintf(stderr, "error: --restore founds a new cloud: give a new --data folder "
                    "(%s already holds one)\n", d->dir);
    return 1;
  }
  /* The dev faucet is the genesis proposer's key (the master key): the
   * masters of a dev cluster share one, so the faucet works under any
   * leader. Real clusters fund accounts from a genesis file instead. */
  char k0[4400], *key = NULL;
  size_t keylen = 0;
  snprintf(k0, sizeof k0, "%s/master-1/master.key", d->dir);
  struct dc_identity id0;
  char m1[4300];
  snprintf(m1, sizeof m1, "%s/master-1", d->dir);
  if (dc_mkdir_p(m1, 0700) || dc_identity_load_or_create(k0, &id0, NULL) ||
      dc_read_file(k0, 4096, &key, &keylen)) {
    fprintf(stderr, "error: cannot create %s\n", k0);
    return 1;
  }
  dc_identity_close(&id0);
  for (uint32_t i = 1; i < d->nmasters; i++) {
    char mk[4400], md[4300];
    snprintf(md, sizeof md, "%s/master-%u", d->dir, i + 1);
    snprintf(mk, sizeof mk, "%s/master.key", md);
    if (access(mk, F_OK) != 0 &&
        (dc_mkdir_p(md, 0700) || dc_write_file_atomic(mk, key, keylen, 0600))) {
      dc_free(key);
      fprintf(stderr, "error: cannot write %s\n", mk);
      return 1;
    }
  }
  dc_free(key);
  size_t off = 0;
  unsigned ports[DEV_MASTERS_MAX][3];
  for (uint32_t i = 0; i < d->nmasters; i++) {
    char mdir[4300];
    snprintf(mdir, sizeof mdir, "%s/master-%u", d->dir, i + 1);
    /* Ports persist in the master's folder, so a second `dev` run over the
     * same data finds the cluster where it left it. */
    char pp[4400];
    snprintf(pp, sizeof pp, "%s/dev.ports", mdir);
    unsigned a = 0, s = 0, r = 0;
    char *text = NULL;
    if (dc_read_file(pp, 128, &text, NULL) == DC_OK) {
      sscanf(text, "%u %u %u", &a, &s, &r);
      dc_free(text);
      port_give(a);
      port_give(s);
      port_give(r);
    }
    if (!a || !s || !r) {
      a = i == 0 ? port0 : free_port();
      s = free_port();
      r = free_port();
      char t[64];
      int n = snprintf(t, sizeof t, "%u %u %u\n", a, s, r);
      dc_mkdir_p(mdir, 0700);
      dc_write_file_atomic(pp, t, (size_t)n, 0644);
    }
    g_api_ports[i] = a;
    ports[i][0] = a;
    ports[i][1] = s;
    ports[i][2] = r;
  }
  for (uint32_t i = 0; i < d->nmasters; i++) {
    struct child *m = &d->master[i];
    char name[32], mdir[4300], apiaddr[64], listen[64], raft[64], join[DEV_MASTERS_MAX * 32];
    snprintf(name, sizeof name, "master-%u", i + 1);
    snprintf(mdir, sizeof mdir, "%s/%s", d->dir, name);
    snprintf(apiaddr, sizeof apiaddr, "127.0.0.1:%u", ports[i][0]);
    snprintf(listen, sizeof listen, "127.0.0.1:%u", ports[i][1]);
    snprintf(raft, sizeof raft, "127.0.0.1:%u", ports[i][2]);
    size_t joff = 0;
    join[0] = '\0';
    for (uint32_t k = 0; k < d->nmasters; k++)
      if (k != i)
        joff += (size_t)snprintf(join + joff, sizeof join - joff, "%shttp://127.0.0.1:%u",
                                 joff ? "," : "", ports[k][0]);
    off += (size_t)snprintf(maddr + off, maddr_n - off, "%s%s", i ? "," : "", listen);
    child_init(d, m, name);
    const char *args[32] = {"deepcloud", "master", "--data-dir", mdir, "--api-addr",
                            apiaddr, "--listen", listen, "--raft-addr", raft,
                            "--cluster-token", token, "--heartbeat-timeout-ms", hbt,
                            "--log-level", level, "--dev", "--dev-stake", stakearg,
                            "--join", join, NULL};
    /* The other masters are the gossip seeds of each master. */
    char gaddr[64], gjoin[DEV_MASTERS_MAX * 24];
    size_t gj = 0;
    gjoin[0] = '\0';
    for (uint32_t k = 0; k < d->nmasters && g_gossip.on; k++) {
      char kdir[4300];
      snprintf(kdir, sizeof kdir, "%s/master-%u", d->dir, k + 1);
      if (k != i)
        gj += (size_t)snprintf(gjoin + gj, sizeof gjoin - gj, "%s127.0.0.1:%u",
                               gj ? "," : "", gossip_port(kdir));
    }
    size_t na = 21;
    gossip_args(args, &na, mdir, gaddr, sizeof gaddr, gjoin);
    /* Only the very first start of a new cluster bootstraps. Every later
     * start (a restart, or a wiped data dir) joins through the others:
     * bootstrapping again would found a second cluster. */
    if (i == 0 && fresh) {
      args[19] = "--bootstrap=true";
      args[20] = "--dev"; /* a repeated flag in the slot --join's value had */
      if (g_restore) {
        args[na] = "--restore";
        args[na + 1] = g_restore;
        args[na + 2] = NULL;
      }
      child_args(m, args);
      if (start_child(m)) return 1;
      args[na] = NULL;
      args[19] = "--join";
      args[20] = join;
      child_args(m, args);
    } else {
      child_args(m, args);
      if (start_child(m)) return 1;
    }
  }
  char urls[DEV_MASTERS_MAX * 64];
  api_urls(d, api, urls, sizeof urls);
  char up[4300];
  snprintf(up, sizeof up, "%s/api.urls", d->dir);
  dc_write_file_atomic(up, urls, strlen(urls), 0644);
  return 0;
}

/* The i-th entry of a ';'-separated list, reused in turn; false if empty. */
static bool dev_provider_classes(const char *list, uint32_t i, char *out, size_t n) {
  size_t count = 1;
  for (const char *p = list; *p; p++) count += *p == ';';
  const char *p = list;
  for (size_t k = i % count; k; k--) p = strchr(p, ';') + 1;
  size_t l = strcspn(p, ";");
  snprintf(out, n, "%.*s", (int)l, p);
  return l > 0;
}

int cli_dev(int argc, char **argv) {
  static struct dev d;
  uint32_t nprov = 3;
  const char *data = "./deepcloud-dev", *api = "127.0.0.1:8420", *level = "info";
  uint32_t hb_timeout = 0, nmasters = 1;
  bool restart = true, gossip = true, gossip_fast = false;
  uint32_t restart_delay = 300, ndynamic = 0;
  const char *pclasses = NULL;
  struct opt opts[] = {
      {"providers", OPT_U32, &nprov, "how many providers (default 3)"},
      {"provider-classes", OPT_STR, &pclasses, "service classes of each provider, ';' between providers, reused in turn (e.g. \"compute;streaming\")"},
      {"dynamic", OPT_U32, &ndynamic, "the last N providers are dynamic: the masters move them between their classes"},
      {"masters", OPT_U32, &nmasters, "1 (local log) or 3 or 5 masters replicating with raft"},
      {"data", OPT_STR, &data, "folder for all data and logs (default ./deepcloud-dev)"},
      {"api", OPT_STR, &api, "REST API host:port (default 127.0.0.1:8420)"},
      {"heartbeat-timeout-ms", OPT_U32, &hb_timeout, "provider silence before it is dead (default: the master's)"},
      {"gossip", OPT_BOOL, &gossip, "gossip membership and failure detection (default true)"},
      {"gossip-fast", OPT_BOOL, &gossip_fast, "gossip's fast LAN timing (500/250 ms probes) on every member"},
      {"restart", OPT_BOOL, &restart, "restart a process that dies (default true)"},
      {"restart-delay-ms", OPT_U32, &restart_delay, "wait before restarting it (default 300)"},
      {"log-level", OPT_STR, &level, "log level of the children"},
      {"restore", OPT_STR, &g_restore, "start a new cloud from a backup (deepcloud master backup FILE)"},
  };
  char *pos[1];
  size_t npos = 0;
  int rc = cli_parse("deepcloud dev [--providers N] [--masters 1|3|5] [--data DIR] [--api HOST:PORT]",
                     opts, DC_ARRAY_LEN(opts), argc, argv, pos, &npos);
  if (rc >= 0) return rc;
  char host[256];
  uint16_t port;
  if (opts_hostport(api, host, sizeof host, &port)) {
    fprintf(stderr, "error: --api takes host:port, e.g. 127.0.0.1:8420\n");
    return 2;
  }
  static char restore_abs[4096];
  if (g_restore) {
    if (!realpath(g_restore, restore_abs)) {
      fprintf(stderr, "error: cannot find the backup %s\n", g_restore);
      return 2;
    }
    g_restore = restore_abs;
  }
  if (nmasters != 1 && nmasters != 3 && nmasters != 5) {
    fprintf(stderr, "error: --masters must be 1, 3 or 5\n");
    return 2;
  }
  if (nprov < 1 || nprov > DEV_PROVIDERS_MAX) {
    fprintf(stderr, "error: --providers must be between 1 and %d\n", DEV_PROVIDERS_MAX);
    return 2;
  }
  if (ndynamic > nprov) {
    fprintf(stderr, "error: --dynamic must be at most --providers\n");
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
  d.restart_delay_ms = restart_delay;
  d.nprov = nprov;
  d.nmasters = nmasters;
  uv_signal_init(d.loop, &d.sigint);
  uv_signal_init(d.loop, &d.sigterm);
  uv_timer_init(d.loop, &d.grace);
  d.sigint.data = d.sigterm.data = d.grace.data = &d;
  uv_signal_start(&d.sigint, on_signal, SIGINT);
  uv_signal_start(&d.sigterm, on_signal, SIGTERM);

  char hbt[32];
  snprintf(hbt, sizeof hbt, "%u", hb_timeout);
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
  g_gossip.on = gossip;
  g_gossip.fast = gossip_fast;
  if (gossip && gossip_key_init(&d)) {
    fprintf(stderr, "error: cannot write the gossip key in %s\n", d.dir);
    return 1;
  }
  gossip_masters(&d, nmasters == 1);
  char maddr[DEV_MASTERS_MAX * 32] = "";
  if (nmasters == 1) {
    if (start_single_master(&d, api, hbt, level, stakearg, maddr, sizeof maddr)) return 1;
  } else if (start_cluster(&d, api, hbt, level, stakearg, maddr, sizeof maddr)) {
    return 1;
  }
  for (uint32_t i = 0; i < nprov; i++) {
    char name[32], pdir[4300], cpu[16];
    snprintf(name, sizeof name, "provider-%u", i + 1);
    snprintf(pdir, sizeof pdir, "%s/%s", d.dir, name);
    snprintf(cpu, sizeof cpu, "%u", 2000u);
    child_init(&d, &d.prov[i], name);
    /* Each dev provider offers 2 cores and 2 GB, whatever the host has:
     * they share one machine, and equal shares keep placement readable. */
    const char *pargs[32] = {"deepcloud", "provider", "--data-dir", pdir, "--master", maddr,
                             "--name", name, "--cpu-millis", cpu, "--memory-mb", "2048",
                             "--log-level", level, NULL};
    size_t na = 14;
    char cls[513]; /* a provider's classes: at most 512 bytes */
    if (pclasses && dev_provider_classes(pclasses, i, cls, sizeof cls)) {
      pargs[na++] = "--classes";
      pargs[na++] = cls;
    }
    if (i >= nprov - ndynamic) {
      pargs[na++] = "--role";
      pargs[na++] = "dynamic";
    }
    pargs[na] = NULL;
    char gaddr[64];
    gossip_args(pargs, &na, pdir, gaddr, sizeof gaddr, g_gossip.masters);
    child_args(&d.prov[i], pargs);
    if (start_child(&d.prov[i])) {
      stop(&d);
      break;
    }
  }
  if (!d.stopping) {
    char urls[DEV_MASTERS_MAX * 64];
    api_urls(&d, api, urls, sizeof urls);
    printf("DeepCloud dev cloud: %u master%s, %u providers\n"
           "  API:   %s\n  data:  %s (logs: *.log)\n"
           "  try:   DEEPCLOUD_API=%s deepcloud node list\n"
           "Stop with Ctrl-C.\n",
           nmasters, nmasters > 1 ? "s (raft)" : "", nprov, urls, d.dir, urls);
    fflush(stdout);
  }
  uv_run(d.loop, UV_RUN_DEFAULT);
  uv_loop_close(d.loop);
  return 0;
}
