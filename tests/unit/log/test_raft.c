/* SPDX-License-Identifier: Apache-2.0
 * The raft log back end: real c-raft servers over TCP on loopback, each with
 * its own SQLite FSM, driven by one loop. The same random command stream
 * must give the same state hash on every replica, including one that
 * joined late and was restored from a snapshot; results come back by
 * proposal id; a follower refuses proposals; a new leader resumes after the
 * old one goes away; c-raft's open log segments are written blocks, not
 * reserved ones (raft_prealloc.c). */
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "crypto/crypto.h"
#include "log/log.h"
#include "proto/proto.h"
#include "tests/lib/testlib.h"

#define MAXS 4

struct server {
  struct dc_fsm *fsm;
  struct dc_log *log;
  uint64_t id;
  char addr[64];
  char dir[320];
  bool closed;
  int leader_events;
};

struct cluster {
  uv_loop_t loop;
  char root[256];
  struct server s[MAXS];
  int answered, ok, rejected, notleader;
  uint64_t max_index;
  struct dc_identity node, user;
  uint64_t rng;
};

static uint16_t free_port(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
  socklen_t len = sizeof a;
  getsockname(fd, (struct sockaddr *)&a, &len);
  close(fd);
  return ntohs(a.sin_port);
}

static void on_leader(void *ud, bool leader) {
  struct server *s = ud;
  if (leader) s->leader_events++;
}

static void start_server(struct cluster *c, int i, bool bootstrap,
                         unsigned threshold, unsigned trailing) {
  struct server *s = &c->s[i];
  s->id = (uint64_t)i + 1;
  if (!s->addr[0]) /* a seeded server keeps the address it was seeded with */
    snprintf(s->addr, sizeof s->addr, "127.0.0.1:%u", free_port());
  snprintf(s->dir, sizeof s->dir, "%s/s%d", c->root, i);
  char db[400];
  snprintf(db, sizeof db, "%s/state%d.db", c->root, i);
  struct dc_errmsg err = {{0}};
  assert_int_equal(dc_fsm_open(db, false, &s->fsm, &err), DC_OK);
  struct dc_log_raft_config rc = {.dir = s->dir, .id = s->id, .address = s->addr,
                                  .bootstrap = bootstrap,
                                  .election_timeout_ms = 1000,
                                  .heartbeat_timeout_ms = 100,
                                  .snapshot_threshold = threshold,
                                  .snapshot_trailing = trailing,
                                  /* tiny states here: warm buffers all the same */
                                  .snapshot_warm_min = 1};
  struct dc_log_hooks h = {.on_leader = on_leader, .ud = s};
  int rv = dc_log_raft_new(&c->loop, s->fsm, &rc, &h, &s->log, &err);
  if (rv) fail_msg("raft: %s", err.text);
}

static void wake(uv_timer_t *t) { (void)t; }

/* Runs the loop until pred holds or the deadline passes. */
static bool run_until(struct cluster *c, bool (*pred)(struct cluster *), int ms) {
  uint64_t end = uv_now(&c->loop) + (uint64_t)ms;
  uv_timer_t tick;
  uv_timer_init(&c->loop, &tick);
  uv_timer_start(&tick, wake, 5, 5);
  bool ok = false;
  while (!(ok = pred(c)) && uv_now(&c->loop) < end) uv_run(&c->loop, UV_RUN_ONCE);
  uv_close((uv_handle_t *)&tick, NULL);
  uv_run(&c->loop, UV_RUN_NOWAIT);
  return ok;
}

static int leader_of(struct cluster *c) {
  for (int i = 0; i < MAXS; i++)
    if (c->s[i].log && !c->s[i].closed && dc_log_is_leader(c->s[i].log)) return i;
  return -1;
}
static bool has_leader(struct cluster *c) { return leader_of(c) >= 0; }

struct change_wait {
  bool done;
  int status;
};
static void change_cb(void *ud, int status, const char *msg) {
  struct change_wait *w = ud;
  w->done = true;
  w->status = status;
  if (status) fprintf(stderr, "change failed: %s\n", msg);
}
static struct change_wait *g_change;
static bool change_done(struct cluster *c) {
  (void)c;
  return g_change->done;
}

/* Adds server i as a voter through whoever leads. A loaded machine can
 * cost the leader its term mid-change; an operator would retry, so does
 * the test (the change is idempotent once it committed). */
static void add_server(struct cluster *c, int i) {
  for (int attempt = 0; attempt < 5; attempt++) {
    assert_true(run_until(c, has_leader, 10000));
    int leader = leader_of(c);
    size_t n = 0;
    struct dc_log_server sv[MAXS];
    dc_log_raft_servers(c->s[leader].log, sv, MAXS, &n);
    for (size_t k = 0; k < n && k < MAXS; k++)
      if (sv[k].id == c->s[i].id && sv[k].role == DC_LOG_VOTER) return;
    struct change_wait w = {0};
    g_change = &w;
    bool known = false;
    for (size_t k = 0; k < n && k < MAXS; k++) known |= sv[k].id == c->s[i].id;
    int rc = known ? dc_log_raft_assign(c->s[leader].log, c->s[i].id,
                                        DC_LOG_VOTER, change_cb, &w)
                   : dc_log_raft_add(c->s[leader].log, c->s[i].id, c->s[i].addr,
                                     DC_LOG_VOTER, change_cb, &w);
    if (rc == DC_OK) {
      assert_true(run_until(c, change_done, 10000));
      if (w.status == DC_OK) return;
    }
  }
  fail_msg("could not add server %d", i);
}

static void on_result(void *ud, const struct dc_fsm_result *r) {
  struct cluster *c = ud;
  c->answered++;
  if (r->code == DC_OK) c->ok++;
  else if (r->code == DC_ENOTLEADER) c->notleader++;
  else c->rejected++;
  if (r->index > c->max_index) c->max_index = r->index;
}

static uint64_t rnd(struct cluster *c) {
  c->rng ^= c->rng << 13;
  c->rng ^= c->rng >> 7;
  c->rng ^= c->rng << 17;
  return c->rng;
}

/* A random command: valid or not, the FSM must decide the same way on
 * every replica. */
static void random_cmd(struct cluster *c, int k, struct dc_buf *b) {
  struct dc_cmd cmd = {.proposal_id = dc_log_next_proposal_id(),
                       .ts_ms = 1700000000000LL + k};
  char job[33], task[64], spec[256];
  snprintf(job, sizeof job, "%032llx", (unsigned long long)(rnd(c) % 40));
  snprintf(task, sizeof task, "%s.t.%u", job, (unsigned)(rnd(c) % 3));
  struct dc_assignment a = {.task_id = task, .attempt = (uint32_t)(rnd(c) % 3)};
  memcpy(a.node_id, c->node.pk, DC_PK_BYTES);
  switch (k == 0 ? 0 : 1 + rnd(c) % 5) {
    case 0:
      cmd.type = DC_CMD_MIGRATE;
      cmd.u.migrate.schema_version = DC_FSM_SCHEMA_VERSION;
      break;
    case 1: {
      cmd.type = DC_CMD_NODE_REGISTER;
      struct dc_node_info *n = &cmd.u.node_register.node;
      memcpy(n->node_id, c->node.pk, DC_PK_BYTES);
      n->name = "p"; n->addr = ""; n->classes = "compute"; n->labels_json = "{}";
      n->sandbox = "rlimit";
      n->cpu_millis = 1000 + (uint32_t)(rnd(c) % 8000);
      n->memory_mb = 4096;
      n->disk_mb = 1000;
      break;
    }
    case 2:
    case 3:
      cmd.type = DC_CMD_JOB_SUBMIT;
      memcpy(cmd.u.job_submit.job_id, job, sizeof job);
      memcpy(cmd.u.job_submit.owner, c->user.pk, DC_PK_BYTES);
      cmd.u.job_submit.idem_key = "";
      snprintf(spec, sizeof spec,
               "{\"name\":\"r\",\"tasks\":[{\"name\":\"t\",\"count\":%u,"
               "\"command\":[\"true\"]}]}", 1 + (unsigned)(rnd(c) % 3));
      cmd.u.job_submit.spec_json = spec;
      break;
    case 4:
      cmd.type = DC_CMD_TASK_ASSIGN;
      cmd.u.task_assign.items = &a;
      cmd.u.task_assign.n = 1;
      break;
    default:
      cmd.type = DC_CMD_NODE_DEAD;
      memcpy(cmd.u.node_dead.node_id, c->node.pk, DC_PK_BYTES);
      cmd.u.node_dead.reason = "test";
      break;
  }
  dc_buf_reset(b);
  assert_int_equal(dc_cmd_encode(&cmd, b), DC_OK);
}

static int g_want;
static bool all_answered(struct cluster *c) { return c->answered >= g_want; }
static bool replicas_caught_up(struct cluster *c) {
  for (int i = 0; i < MAXS; i++)
    if (c->s[i].log && !c->s[i].closed &&
        dc_fsm_applied_index(c->s[i].fsm) < c->max_index)
      return false;
  return true;
}

static void propose_n(struct cluster *c, int leader, int n, int *k) {
  struct dc_buf b = {0};
  g_want = c->answered + n;
  for (int i = 0; i < n; i++, (*k)++) {
    random_cmd(c, *k, &b);
    assert_int_equal(dc_log_propose(c->s[leader].log, b.data, b.len, on_result, c), DC_OK);
    if (i % 50 == 49) uv_run(&c->loop, UV_RUN_NOWAIT);
  }
  dc_buf_free(&b);
  assert_true(run_until(c, all_answered, 20000));
  assert_true(run_until(c, replicas_caught_up, 20000));
}

static void assert_same_state(struct cluster *c) {
  uint8_t ref[DC_FSM_HASH_BYTES], h[DC_FSM_HASH_BYTES];
  int first = -1;
  for (int i = 0; i < MAXS; i++) {
    if (!c->s[i].log || c->s[i].closed) continue;
    assert_int_equal(dc_fsm_state_hash(dc_fsm_db(c->s[i].fsm), h), DC_OK);
    if (first < 0) {
      memcpy(ref, h, sizeof h);
      first = i;
    } else {
      assert_memory_equal(ref, h, sizeof h);
    }
  }
}

static void setup_cluster(struct cluster *c) {
  memset(c, 0, sizeof *c);
  uv_loop_init(&c->loop);
  dc_test_tmpdir(c->root, sizeof c->root);
  assert_int_equal(dc_identity_generate(&c->node), DC_OK);
  assert_int_equal(dc_identity_generate(&c->user), DC_OK);
  c->rng = 0x9E3779B97F4A7C15ull;
}

static void closed_cb(void *ud) { *(bool *)ud = true; }

static void stop_server(struct cluster *c, int i) {
  bool done = false;
  c->s[i].log->ops->close(c->s[i].log, closed_cb, &done);
  while (!done) uv_run(&c->loop, UV_RUN_ONCE);
  c->s[i].closed = true;
  dc_fsm_close(c->s[i].fsm);
}

static void teardown_cluster(struct cluster *c) {
  for (int i = 0; i < MAXS; i++)
    if (c->s[i].log && !c->s[i].closed) stop_server(c, i);
  uv_run(&c->loop, UV_RUN_DEFAULT);
  assert_int_equal(uv_loop_close(&c->loop), 0);
  dc_identity_close(&c->node);
  dc_identity_close(&c->user);
  dc_test_rmrf(c->root);
}

static void barrier_cb(void *ud, int status) { *(int *)ud = status; }
static int *g_barrier;
static bool barrier_done(struct cluster *c) {
  (void)c;
  return *g_barrier != -1;
}

/* Whether every open segment c-raft has in dir is made of written blocks
 * (raft_prealloc.c zero-fills them when c-raft reserves them). A segment
 * being prepared on a worker right now may not be yet: callers retry. */
static bool segments_written(const char *dir) {
  DIR *d = opendir(dir);
  assert_non_null(d);
  int seen = 0, unwritten = 0;
  struct dirent *e;
  while ((e = readdir(d))) {
    if (strncmp(e->d_name, "open-", 5) != 0) continue;
    char p[600];
    snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
    int fd = open(p, O_RDONLY);
    if (fd < 0) continue; /* renamed or removed meanwhile */
    int u = dc_test_unwritten_extents(fd);
    close(fd);
    if (u < 0) {
      closedir(d);
      return true; /* no FIEMAP on this file system: nothing to check */
    }
    seen++;
    unwritten += u;
  }
  closedir(d);
  return seen > 0 && unwritten == 0;
}

static bool all_segments_written(struct cluster *c) {
  for (int i = 0; i < 3; i++)
    if (!segments_written(c->s[i].dir)) return false;
  return true;
}

static void test_three_replicas_agree(void **state) {
  (void)state;
  struct cluster c;
  setup_cluster(&c);
  start_server(&c, 0, true, 0, 0);
  start_server(&c, 1, false, 0, 0);
  start_server(&c, 2, false, 0, 0);
  assert_true(run_until(&c, has_leader, 5000));
  assert_int_equal(leader_of(&c), 0);
  add_server(&c, 1);
  add_server(&c, 2);
  size_t n = 0;
  struct dc_log_server sv[4];
  assert_int_equal(dc_log_raft_servers(c.s[0].log, sv, 4, &n), DC_OK);
  assert_int_equal(n, 3);

  /* Followers refuse proposals up front. */
  struct dc_buf b = {0};
  int k = 0;
  random_cmd(&c, 0, &b);
  assert_int_equal(dc_log_propose(c.s[(leader_of(&c) + 1) % 3].log, b.data, b.len, on_result, &c), DC_ENOTLEADER);
  dc_buf_free(&b);

  propose_n(&c, leader_of(&c), 600, &k);
  assert_int_equal(c.answered, 600);
  assert_int_equal(c.notleader, 0);
  assert_true(c.ok > 0);
  assert_true(c.rejected > 0); /* the stream has invalid commands too */
  assert_same_state(&c);
  /* c-raft's log writes go into written blocks, not reserved ones, so a
   * synchronous write commits no file system journal. */
  assert_true(run_until(&c, all_segments_written, 5000));

  /* A barrier on the leader answers once everything before it is applied;
   * followers refuse it. */
  g_want = 0;
  int barrier_status = -1;
  int l = leader_of(&c);
  assert_int_equal(dc_log_barrier(c.s[(l + 1) % 3].log, barrier_cb, &barrier_status), DC_ENOTLEADER);
  assert_int_equal(dc_log_barrier(c.s[l].log, barrier_cb, &barrier_status), DC_OK);
  g_barrier = &barrier_status;
  assert_true(run_until(&c, barrier_done, 5000));
  assert_int_equal(barrier_status, DC_OK);
  teardown_cluster(&c);
}

static void test_snapshot_install_and_failover(void **state) {
  (void)state;
  struct cluster c;
  setup_cluster(&c);
  /* Tiny snapshot threshold: the late joiner cannot get the log from the
   * start and must be sent a snapshot. */
  start_server(&c, 0, true, 64, 16);
  start_server(&c, 1, false, 64, 16);
  assert_true(run_until(&c, has_leader, 5000));
  add_server(&c, 1);
  int k = 0;
  propose_n(&c, leader_of(&c), 500, &k);
  struct dc_log_raft_stats st;
  dc_log_raft_stats(c.s[leader_of(&c)].log, &st);
  assert_true(st.snapshots >= 1);
  /* Snapshots are written into the buffer prepared off the loop. */
  assert_true(st.warm_snapshots >= 1);

  start_server(&c, 2, false, 64, 16);
  add_server(&c, 2);
  c.max_index = dc_fsm_applied_index(c.s[leader_of(&c)].fsm);
  assert_true(run_until(&c, replicas_caught_up, 10000));
  dc_log_raft_stats(c.s[2].log, &st);
  assert_true(st.restores >= 1);
  assert_same_state(&c);

  /* More entries on top of the restored state still agree. */
  propose_n(&c, leader_of(&c), 200, &k);
  assert_same_state(&c);

  /* The leader goes away: one of the other two takes over and the cluster
   * keeps committing; both survivors agree. */
  int old = leader_of(&c);
  stop_server(&c, old);
  assert_true(run_until(&c, has_leader, 10000));
  int l = leader_of(&c);
  assert_true(l != old);
  assert_true(c.s[l].leader_events >= 1);
  propose_n(&c, l, 200, &k);
  assert_same_state(&c);
  teardown_cluster(&c);
}

/* A new cluster founded from a backup: the image is seeded as raft's first
 * snapshot; the server starts from it at the image's index with an equal
 * state hash, numbers new entries after it, and a joiner receives the
 * state by snapshot. A raft dir already in use is refused. */
static void test_seed_from_backup(void **state) {
  (void)state;
  struct cluster a;
  setup_cluster(&a);
  start_server(&a, 0, true, 64, 16);
  assert_true(run_until(&a, has_leader, 5000));
  int k = 0;
  propose_n(&a, 0, 300, &k);
  uint8_t *img;
  size_t len;
  struct dc_errmsg err = {{0}};
  assert_int_equal(dc_fsm_snapshot(a.s[0].fsm, &img, &len, &err), DC_OK);
  uint64_t at = dc_fsm_applied_index(a.s[0].fsm);
  uint8_t want[DC_FSM_HASH_BYTES], h[DC_FSM_HASH_BYTES];
  assert_int_equal(dc_fsm_state_hash(dc_fsm_db(a.s[0].fsm), want), DC_OK);
  /* a used raft dir is refused and left alone */
  assert_int_equal(dc_log_raft_seed(a.s[0].dir, 99, "127.0.0.1:1", img, len, at, &err),
                   DC_EEXISTS);
  teardown_cluster(&a);

  struct cluster b;
  setup_cluster(&b);
  struct server *s = &b.s[0];
  snprintf(s->addr, sizeof s->addr, "127.0.0.1:%u", free_port());
  char dir[400];
  snprintf(dir, sizeof dir, "%s/s0", b.root);
  assert_int_equal(dc_log_raft_seed(dir, 1, s->addr, img, len, at, &err), DC_OK);
  dc_fsm_snapshot_free(img);
  start_server(&b, 0, true, 64, 16);
  assert_true(run_until(&b, has_leader, 5000));
  assert_int_equal(dc_fsm_applied_index(s->fsm), at);
  assert_int_equal(dc_fsm_state_hash(dc_fsm_db(s->fsm), h), DC_OK);
  assert_memory_equal(h, want, sizeof h);
  propose_n(&b, 0, 100, &k);
  assert_true(dc_fsm_applied_index(s->fsm) > at + 100);
  start_server(&b, 1, false, 64, 16);
  add_server(&b, 1);
  b.max_index = dc_fsm_applied_index(s->fsm);
  assert_true(run_until(&b, replicas_caught_up, 10000));
  assert_same_state(&b);
  struct dc_log_raft_stats st;
  dc_log_raft_stats(b.s[1].log, &st);
  assert_true(st.restores >= 1);
  propose_n(&b, leader_of(&b), 100, &k);
  assert_same_state(&b);
  teardown_cluster(&b);
}

int main(void) {
  signal(SIGPIPE, SIG_IGN);
  assert_int_equal(dc_crypto_init(), DC_OK);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_three_replicas_agree),
      cmocka_unit_test(test_snapshot_install_and_failover),
      cmocka_unit_test(test_seed_from_backup),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
