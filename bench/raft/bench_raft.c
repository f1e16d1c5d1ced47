/* SPDX-License-Identifier: Apache-2.0
 * bench_raft: the replicated log against the `local` back end, in the same
 * run, on the same command stream (NODE_REGISTER upserts of 64 nodes):
 *
 *   - committed-and-applied commands per second with 256 in flight;
 *   - commit latency (propose -> result) p50/p99, one command at a time and
 *     with 256 in flight;
 *   - snapshot time against database size (the pause c-raft takes on the
 *     loop), and restore time, against the election timeout;
 *   - CPU time per command (all threads of the process: less noisy than
 *     the rate on a shared machine) and how large the batches were;
 *   - with 256 in flight, the length of a round (results come back in
 *     bursts, one per commit; a round is the time between two bursts): the
 *     median, and the rounds longer than 3 medians (stalls: snapshots,
 *     segment changes, a descheduled thread) with their total time;
 *   - after those, the same on both back ends with 1024 and 4096 in flight
 *     (raft_vs_local_window), beside the figures above, not instead.
 *
 * The three raft servers run in one process but each on its own thread and
 * loop (as three processes would, minus the process boundary), talking TCP
 * over loopback, each with its own SQLite state. The local back end uses
 * synchronous=FULL (its log is SQLite, so that is its durability); the raft
 * servers use NORMAL for the state (raft's own log is fsynced, and a state
 * that lost its last transactions is replayed from it).
 * Prints one JSON line per measurement. Usage: bench_raft [commands]
 * [raft-only] (the second form skips local and snapshots, for profiling). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <malloc.h>
#include <pthread.h>
#include <sqlite3.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "crypto/crypto.h"
#include "log/log.h"
#include "proto/proto.h"

#define WINDOW 256
#define NODES 64
/* More in flight, measured after the figures above on the same logs: at a
 * fixed window a closed loop's rate is the window over one round, so
 * these show what a larger offered load gets from each back end. */
static const size_t g_sweep[] = {1024, 4096};
#define NSWEEP (sizeof g_sweep / sizeof g_sweep[0])

struct server {
  pthread_t t;
  uv_loop_t loop;
  uv_async_t stop;
  struct dc_fsm *fsm;
  struct dc_log *log;
  char dir[512], addr[64];
  uint64_t id;
  bool leader_ready;
  struct dc_log_raft_stats st; /* taken on the server's own thread */
};

struct run {
  struct dc_log *log;
  uv_loop_t *loop;
  size_t total, sent, done, failed;
  size_t window;
  uint64_t *t0, *lat;
  struct dc_buf *cmds;
};

static char g_root[256];

static unsigned free_port(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof a;
  bind(fd, (struct sockaddr *)&a, sizeof a);
  getsockname(fd, (struct sockaddr *)&a, &len);
  close(fd);
  return ntohs(a.sin_port);
}

static void encode_stream(struct dc_buf *out, size_t n) {
  uint8_t ids[NODES][DC_PK_BYTES];
  for (int i = 0; i < NODES; i++) dc_random(ids[i], DC_PK_BYTES);
  for (size_t i = 0; i < n; i++) {
    struct dc_cmd c = {.type = DC_CMD_NODE_REGISTER, .ts_ms = 1700000000000LL + (int64_t)i};
    struct dc_node_info *ni = &c.u.node_register.node;
    memcpy(ni->node_id, ids[i % NODES], DC_PK_BYTES);
    ni->name = "bench";
    ni->addr = "";
    ni->classes = "compute";
    ni->labels_json = "{}";
    ni->sandbox = "cgroup1";
    ni->cpu_millis = 1000 + (uint32_t)(i % 7000);
    ni->memory_mb = 4096;
    ni->disk_mb = 10000;
    c.proposal_id = 0; /* set at propose time */
    out[i] = (struct dc_buf){0};
    dc_cmd_encode(&c, &out[i]);
  }
}

/* The proposal id sits at a fixed offset of the header: refresh it so every
 * run proposes fresh ids (results route by it). */
static void set_pid(struct dc_buf *b, uint64_t pid) {
  for (int i = 0; i < 8; i++) b->data[5 + i] = (uint8_t)(pid >> (56 - 8 * i));
}

static void pump(struct run *r);

/* Results carry the index of the command in the stream via this table. */
static struct run *g_run;

static void result_cb(void *ud, const struct dc_fsm_result *res) {
  struct run *r = g_run;
  size_t i = (size_t)(uintptr_t)ud;
  r->lat[i] = uv_hrtime() - r->t0[i];
  r->done++;
  if (res->code != DC_OK) r->failed++;
  if (r->done == r->total) {
    uv_stop(r->loop);
    return;
  }
  pump(r);
}

static void pump(struct run *r) {
  while (r->sent < r->total && r->sent - r->done < r->window) {
    size_t i = r->sent;
    set_pid(&r->cmds[i], dc_log_next_proposal_id());
    r->t0[i] = uv_hrtime();
    int rc = dc_log_propose(r->log, r->cmds[i].data, r->cmds[i].len, result_cb,
                            (void *)(uintptr_t)i);
    if (rc) {
      fprintf(stderr, "propose: %s\n", dc_strerror(rc));
      exit(1);
    }
    r->sent++;
  }
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

struct figures {
  double per_s, p50_ms, p99_ms;
  double cpu_us; /* process CPU per command */
  double round_ms, stall_ms; /* median round; time in stalled rounds */
  size_t rounds, stalls;
};

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* Rounds from completion times (ns, sorted): results closer than 0.3 ms
 * belong to the same burst. */
static void rounds_of(const uint64_t *done, size_t n, struct figures *f) {
  double *gap = calloc(n, sizeof *gap);
  size_t g = 0;
  for (size_t i = 1; i < n; i++)
    if (done[i] - done[i - 1] > 300000) gap[g++] = (double)(done[i] - done[i - 1]) / 1e6;
  f->rounds = g;
  if (g) {
    double *sorted = calloc(g, sizeof *sorted);
    memcpy(sorted, gap, g * sizeof *gap);
    qsort(sorted, g, sizeof *sorted, cmp_double);
    f->round_ms = sorted[g / 2];
    free(sorted);
    for (size_t i = 0; i < g; i++)
      if (gap[i] > 3 * f->round_ms) {
        f->stalls++;
        f->stall_ms += gap[i];
      }
  }
  free(gap);
}

static double cpu_s(void) {
  struct rusage u;
  getrusage(RUSAGE_SELF, &u);
  return (double)(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         (double)(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

static struct figures measure(struct dc_log *log, uv_loop_t *loop, struct dc_buf *cmds,
                              size_t n, size_t window) {
  struct run r = {.log = log, .loop = loop, .total = n, .window = window, .cmds = cmds};
  r.t0 = calloc(n, sizeof *r.t0);
  r.lat = calloc(n, sizeof *r.lat);
  g_run = &r;
  double c0 = cpu_s();
  uint64_t t0 = uv_hrtime();
  pump(&r);
  uv_run(loop, UV_RUN_DEFAULT);
  double secs = (double)(uv_hrtime() - t0) / 1e9;
  double cpu = cpu_s() - c0;
  struct figures f = {.cpu_us = cpu * 1e6 / (double)n};
  uint64_t *done = calloc(n, sizeof *done);
  for (size_t i = 0; i < n; i++) done[i] = r.t0[i] + r.lat[i];
  qsort(done, n, sizeof *done, cmp_u64);
  rounds_of(done, n, &f);
  free(done);
  qsort(r.lat, n, sizeof *r.lat, cmp_u64);
  f.per_s = (double)n / secs;
  f.p50_ms = (double)r.lat[n / 2] / 1e6;
  f.p99_ms = (double)r.lat[(n * 99) / 100] / 1e6;
  if (r.failed) fprintf(stderr, "warning: %zu commands rejected\n", r.failed);
  free(r.t0);
  free(r.lat);
  return f;
}

/* ---- local ---- */

static void migrate(struct dc_log *log, uv_loop_t *loop) {
  struct dc_buf b = {0};
  struct dc_cmd c = {.type = DC_CMD_MIGRATE, .proposal_id = dc_log_next_proposal_id()};
  c.u.migrate.schema_version = DC_FSM_SCHEMA_VERSION;
  dc_cmd_encode(&c, &b);
  struct dc_buf one[1] = {b};
  measure(log, loop, one, 1, 1);
  dc_buf_free(&b);
}

static void closed(void *ud) { *(bool *)ud = true; }

static void bench_local(struct dc_buf *cmds, size_t n, struct figures *tput,
                        struct figures *seq, struct figures sweep[NSWEEP]) {
  char path[600];
  snprintf(path, sizeof path, "%s/local.db", g_root);
  struct dc_fsm *f;
  struct dc_errmsg err;
  if (dc_fsm_open(path, true, &f, &err)) exit(1);
  uv_loop_t loop;
  uv_loop_init(&loop);
  struct dc_log *log;
  dc_log_local_new(&loop, f, NULL, &log);
  migrate(log, &loop);
  *tput = measure(log, &loop, cmds, n, WINDOW);
  *seq = measure(log, &loop, cmds, n / 10, 1);
  for (size_t k = 0; k < NSWEEP; k++) sweep[k] = measure(log, &loop, cmds, n, g_sweep[k]);
  bool done = false;
  log->ops->close(log, closed, &done);
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
  dc_fsm_close(f);
}

/* ---- raft ---- */

static void on_leader(void *ud, bool leader) { ((struct server *)ud)->leader_ready = leader; }

static void stop_cb(uv_async_t *a) {
  struct server *s = a->data;
  dc_log_raft_stats(s->log, &s->st);
  uv_close((uv_handle_t *)&s->stop, NULL);
  s->log->ops->close(s->log, NULL, NULL);
}

static void *follower_main(void *arg) {
  struct server *s = arg;
  uv_run(&s->loop, UV_RUN_DEFAULT);
  return NULL;
}

static void start_server(struct server *s, int i, bool bootstrap) {
  s->id = (uint64_t)i + 1;
  snprintf(s->addr, sizeof s->addr, "127.0.0.1:%u", free_port());
  snprintf(s->dir, sizeof s->dir, "%s/raft%d", g_root, i);
  char db[600];
  snprintf(db, sizeof db, "%s/state%d.db", g_root, i);
  struct dc_errmsg err;
  if (dc_fsm_open(db, false, &s->fsm, &err)) exit(1);
  uv_loop_init(&s->loop);
  uv_async_init(&s->loop, &s->stop, stop_cb);
  s->stop.data = s;
  struct dc_log_raft_config rc = {.dir = s->dir, .id = s->id, .address = s->addr,
                                  .bootstrap = bootstrap};
  struct dc_log_hooks h = {.on_leader = on_leader, .ud = s};
  if (dc_log_raft_new(&s->loop, s->fsm, &rc, &h, &s->log, &err)) {
    fprintf(stderr, "raft: %s\n", err.text);
    exit(1);
  }
}

static bool g_changed;
static void change_cb(void *ud, int status, const char *msg) {
  (void)ud;
  if (status) fprintf(stderr, "add: %s\n", msg);
  g_changed = true;
}

static void bench_raft(struct dc_buf *cmds, size_t n, struct figures *tput,
                       struct figures *seq, struct figures sweep[NSWEEP]) {
  struct server s[3] = {0};
  start_server(&s[0], 0, true);
  while (!s[0].leader_ready) uv_run(&s[0].loop, UV_RUN_ONCE);
  for (int i = 1; i < 3; i++) {
    start_server(&s[i], i, false);
    pthread_create(&s[i].t, NULL, follower_main, &s[i]);
    g_changed = false;
    dc_log_raft_add(s[0].log, s[i].id, s[i].addr, DC_LOG_VOTER, change_cb, NULL);
    while (!g_changed) uv_run(&s[0].loop, UV_RUN_ONCE);
  }
  migrate(s[0].log, &s[0].loop);
  *tput = measure(s[0].log, &s[0].loop, cmds, n, WINDOW);
  *seq = measure(s[0].log, &s[0].loop, cmds, n / 10, 1);
  for (size_t k = 0; k < NSWEEP; k++)
    sweep[k] = measure(s[0].log, &s[0].loop, cmds, n, g_sweep[k]);
  dc_log_raft_stats(s[0].log, &s[0].st);
  printf("{\"bench\":\"raft_snapshots_during_run\",\"snapshots\":%llu,"
         "\"max_snapshot_ms\":%.2f,\"term\":%llu}\n",
         (unsigned long long)s[0].st.snapshots, s[0].st.max_snapshot_ms,
         (unsigned long long)s[0].st.term);
  for (int i = 1; i < 3; i++) {
    uv_async_send(&s[i].stop);
    pthread_join(s[i].t, NULL);
    uv_loop_close(&s[i].loop);
    dc_fsm_close(s[i].fsm);
  }
  /* All runs together (window 256, one at a time, the sweep): raft_apply
   * requests and their commands on the leader, SQLite commits and their
   * entries on every server. */
  for (int i = 0; i < 3; i++) {
    const struct dc_log_raft_stats *b = &s[i].st;
    printf("{\"bench\":\"raft_batching\",\"server\":%d,\"apply_requests\":%llu,"
           "\"commands_per_apply\":%.1f,\"sqlite_commits\":%llu,"
           "\"entries_per_commit\":%.1f}\n",
           i, (unsigned long long)b->apply_requests,
           b->apply_requests ? (double)b->apply_commands / (double)b->apply_requests : 0.0,
           (unsigned long long)b->flushes,
           b->flushes ? (double)b->flushed_entries / (double)b->flushes : 0.0);
  }
  uv_close((uv_handle_t *)&s[0].stop, NULL);
  bool done = false;
  s[0].log->ops->close(s[0].log, closed, &done);
  uv_run(&s[0].loop, UV_RUN_DEFAULT);
  uv_loop_close(&s[0].loop);
  dc_fsm_close(s[0].fsm);
}

/* ---- snapshot time against size ---- */

static void bench_snapshots(void) {
  static const size_t jobs[] = {1000, 10000, 50000};
  for (size_t k = 0; k < sizeof jobs / sizeof jobs[0]; k++) {
    char path[600];
    snprintf(path, sizeof path, "%s/snap%zu.db", g_root, k);
    struct dc_fsm *f;
    struct dc_errmsg err;
    dc_fsm_open(path, false, &f, &err);
    uv_loop_t loop;
    uv_loop_init(&loop);
    struct dc_log *log;
    dc_log_local_new(&loop, f, NULL, &log);
    migrate(log, &loop);
    size_t n = jobs[k];
    struct dc_buf *cmds = calloc(n, sizeof *cmds);
    uint8_t owner[DC_PK_BYTES];
    dc_random(owner, sizeof owner);
    for (size_t i = 0; i < n; i++) {
      struct dc_cmd c = {.type = DC_CMD_JOB_SUBMIT, .ts_ms = (int64_t)i};
      snprintf(c.u.job_submit.job_id, sizeof c.u.job_submit.job_id, "%032zx", i);
      memcpy(c.u.job_submit.owner, owner, DC_PK_BYTES);
      c.u.job_submit.idem_key = "";
      c.u.job_submit.spec_json =
          "{\"name\":\"s\",\"tasks\":[{\"name\":\"t\",\"count\":4,\"command\":[\"true\"]}]}";
      dc_cmd_encode(&c, &cmds[i]);
    }
    measure(log, &loop, cmds, n, 1024);
    for (size_t i = 0; i < n; i++) dc_buf_free(&cmds[i]);
    free(cmds);
    bool done = false;
    log->ops->close(log, closed, &done);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    /* Take it as the raft back end does (the image is handed to c-raft as
     * it is); the first is cold (fresh memory), later ones reuse memory. */
    double snap_ms = 0, cold_ms = 0;
    uint8_t *img = NULL;
    size_t len = 0;
    for (int rep = 0; rep < 3; rep++) {
      if (img) dc_fsm_snapshot_free(img);
      uint64_t t0 = uv_hrtime();
      dc_fsm_snapshot(f, &img, &len, &err);
      double ms = (double)(uv_hrtime() - t0) / 1e6;
      if (rep == 0) cold_ms = ms;
      else if (rep == 1 || ms < snap_ms) snap_ms = ms;
    }
    /* The raft back end's way: the image is written into a buffer a
     * thread allocated and faulted in beforehand (a little above the
     * state's size), fresh for every snapshot since c-raft keeps and frees
     * the one it was given. */
    double warm_ms = 0;
    size_t wlen = 0;
    for (int rep = 0; rep < 3; rep++) {
      size_t cap = dc_fsm_image_size(f) + dc_fsm_image_size(f) / 8 + (1u << 20);
      uint8_t *warm = sqlite3_malloc64(cap);
      memset(warm, 0, cap);
      uint64_t t0 = uv_hrtime();
      int wrc = dc_fsm_snapshot_into(f, warm, cap, &wlen, &err);
      double ms = (double)(uv_hrtime() - t0) / 1e6;
      if (wrc || wlen != len) fprintf(stderr, "warm snapshot failed: %s\n", err.text);
      if (rep == 0 || ms < warm_ms) warm_ms = ms;
      sqlite3_free(warm);
    }
    /* An online backup (GET /v1/backup): on a worker, through its own
     * read connection, image and state hash in one read transaction. */
    uint8_t *bimg = NULL;
    size_t blen = 0;
    struct dc_fsm_image_info binfo;
    uint64_t tb = uv_hrtime();
    if (dc_fsm_backup(path, &bimg, &blen, &binfo, &err))
      fprintf(stderr, "backup failed: %s\n", err.text);
    double backup_ms = (double)(uv_hrtime() - tb) / 1e6;
    dc_fsm_snapshot_free(bimg);
    char p2[600];
    snprintf(p2, sizeof p2, "%s/snap%zu-restored.db", g_root, k);
    struct dc_fsm *g;
    dc_fsm_open(p2, false, &g, &err);
    uint64_t t0 = uv_hrtime();
    dc_fsm_restore(g, img, len, &err);
    double restore_ms = (double)(uv_hrtime() - t0) / 1e6;
    dc_fsm_snapshot_free(img);
    printf("{\"bench\":\"snapshot_vs_size\",\"jobs\":%zu,\"db_mb\":%.1f,"
           "\"snapshot_cold_ms\":%.1f,\"snapshot_ms\":%.1f,\"snapshot_warm_ms\":%.1f,"
           "\"warm_over_serialize\":%.3f,\"restore_ms\":%.1f,\"backup_worker_ms\":%.1f,"
           "\"election_timeout_ms\":%d,\"warm_over_election\":%.3f}\n",
           n, (double)len / 1048576.0, cold_ms, snap_ms, warm_ms, warm_ms / snap_ms,
           restore_ms, backup_ms, DC_LOG_RAFT_ELECTION_MS, warm_ms / DC_LOG_RAFT_ELECTION_MS);
    fflush(stdout);
    dc_fsm_close(f);
    dc_fsm_close(g);
  }
}

int main(int argc, char **argv) {
  signal(SIGPIPE, SIG_IGN);
  if (dc_crypto_init()) return 1;
  size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 20000;
  snprintf(g_root, sizeof g_root, "/tmp/bench-raft-XXXXXX");
  if (!mkdtemp(g_root)) return 1;
  dc_log_min_level = DC_LOG_WARN;
  /* As the raft back end sets it (see raft.c): freed snapshot memory stays. */
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  struct dc_buf *cmds = calloc(n, sizeof *cmds);
  encode_stream(cmds, n);
  struct figures lt = {.per_s = 1, .p50_ms = 1, .p99_ms = 1, .cpu_us = 1}, ls = lt, rt, rs;
  bool raft_only = argc > 2 && !strcmp(argv[2], "raft-only");
  struct figures lsw[NSWEEP], rsw[NSWEEP];
  for (size_t k = 0; k < NSWEEP; k++) lsw[k] = lt;
  if (!raft_only) bench_local(cmds, n, &lt, &ls, lsw);
  bench_raft(cmds, n, &rt, &rs, rsw);
  printf("{\"bench\":\"raft_vs_local\",\"commands\":%zu,\"window\":%d,"
         "\"local_per_s\":%.0f,\"raft3_per_s\":%.0f,\"throughput_ratio\":%.3f,"
         "\"target_ratio\":0.5,\"local_cpu_us_per_cmd\":%.1f,"
         "\"raft3_cpu_us_per_cmd\":%.1f,\"cpu_ratio\":%.2f}\n",
         n, WINDOW, lt.per_s, rt.per_s, rt.per_s / lt.per_s, lt.cpu_us, rt.cpu_us,
         rt.cpu_us / lt.cpu_us);
  printf("{\"bench\":\"round_times\",\"window\":%d,\"local_rounds\":%zu,"
         "\"local_round_ms\":%.2f,\"local_stalls\":%zu,\"local_stall_ms\":%.0f,"
         "\"raft3_rounds\":%zu,\"raft3_round_ms\":%.2f,\"raft3_stalls\":%zu,"
         "\"raft3_stall_ms\":%.0f}\n",
         WINDOW, lt.rounds, lt.round_ms, lt.stalls, lt.stall_ms, rt.rounds, rt.round_ms,
         rt.stalls, rt.stall_ms);
  printf("{\"bench\":\"commit_latency\",\"window\":%d,\"local_p50_ms\":%.3f,"
         "\"local_p99_ms\":%.3f,\"raft3_p50_ms\":%.3f,\"raft3_p99_ms\":%.3f}\n",
         WINDOW, lt.p50_ms, lt.p99_ms, rt.p50_ms, rt.p99_ms);
  printf("{\"bench\":\"commit_latency\",\"window\":1,\"local_p50_ms\":%.3f,"
         "\"local_p99_ms\":%.3f,\"raft3_p50_ms\":%.3f,\"raft3_p99_ms\":%.3f,"
         "\"raft3_p99_over_local\":%.2f,\"target_raft3_p99_ms\":5}\n",
         ls.p50_ms, ls.p99_ms, rs.p50_ms, rs.p99_ms, rs.p99_ms / ls.p99_ms);
  for (size_t k = 0; k < NSWEEP; k++)
    printf("{\"bench\":\"raft_vs_local_window\",\"window\":%zu,\"local_per_s\":%.0f,"
           "\"raft3_per_s\":%.0f,\"throughput_ratio\":%.3f,\"local_cpu_us_per_cmd\":%.1f,"
           "\"raft3_cpu_us_per_cmd\":%.1f,\"local_round_ms\":%.2f,\"raft3_round_ms\":%.2f,"
           "\"raft3_p50_ms\":%.2f}\n",
           g_sweep[k], lsw[k].per_s, rsw[k].per_s, rsw[k].per_s / lsw[k].per_s, lsw[k].cpu_us,
           rsw[k].cpu_us, lsw[k].round_ms, rsw[k].round_ms, rsw[k].p50_ms);
  fflush(stdout);
  if (!raft_only) bench_snapshots();
  for (size_t i = 0; i < n; i++) dc_buf_free(&cmds[i]);
  free(cmds);
  char cmd[300];
  snprintf(cmd, sizeof cmd, "rm -rf %s", g_root);
  if (system(cmd)) return 1;
  return 0;
}
