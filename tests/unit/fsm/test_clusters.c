/* SPDX-License-Identifier: Apache-2.0
 * Service clusters in the state: provider roles in registrations (and
 * their compatible encoding), schema v4, NODE_CLUSTER_SET moves and groups,
 * refusals that change nothing, and replay. */
#include "fixture.h"

/* The fixture's two identities serve as a dynamic provider (node) and a
 * fixed one (user). */
#define apply fx_apply

static void migrate_to(struct fx *x, uint32_t v) {
  struct dc_cmd c = {.type = DC_CMD_MIGRATE};
  c.u.migrate.schema_version = v;
  assert_int_equal(apply(x, &c).code, DC_OK);
}

static void reg(struct fx *x, const struct dc_identity *id, const char *classes,
                uint8_t role) {
  struct dc_cmd c = {.type = DC_CMD_NODE_REGISTER};
  struct dc_node_info *n = &c.u.node_register.node;
  memcpy(n->node_id, id->pk, 32);
  n->name = "p"; n->addr = ""; n->classes = (char *)classes; n->labels_json = "{}";
  n->sandbox = "cgroup1";
  n->cpu_millis = 4000; n->memory_mb = 4096; n->disk_mb = 10000;
  n->role = role;
  assert_int_equal(apply(x, &c).code, DC_OK);
}

/* One item: cluster ("" keeps it) and group (DC_GROUP_KEEP keeps it). */
static struct dc_fsm_result set1(struct fx *x, const uint8_t *pk, const char *cluster,
                                 uint32_t group) {
  struct dc_cmd c = {.type = DC_CMD_NODE_CLUSTER_SET};
  struct dc_cluster_item it = {.cluster = (char *)cluster, .group = group};
  memcpy(it.node_id, pk, 32);
  c.u.cluster_set.items = &it;
  c.u.cluster_set.n = 1;
  c.u.cluster_set.reason = "test";
  return apply(x, &c);
}

static void node_row(struct fx *x, const struct dc_identity *id, char *role,
                     char *cluster, int64_t *grp) {
  char hex[65];
  dc_hex_encode(id->pk, 32, hex);
  sqlite3_stmt *s;
  sqlite3_prepare_v2(dc_fsm_db(x->f), "SELECT role, cluster, grp FROM nodes WHERE id=?1",
                     -1, &s, NULL);
  sqlite3_bind_text(s, 1, hex, -1, SQLITE_STATIC);
  assert_int_equal(sqlite3_step(s), SQLITE_ROW);
  strcpy(role, (const char *)sqlite3_column_text(s, 0));
  strcpy(cluster, (const char *)sqlite3_column_text(s, 1));
  *grp = sqlite3_column_int64(s, 2);
  sqlite3_finalize(s);
}


static void test_register_roles(void **state) {
  struct fx *x = *state;
  migrate_to(x, DC_FSM_SCHEMA_VERSION);
  reg(x, &x->node, "compute,streaming,iot", DC_NODE_DYNAMIC);
  reg(x, &x->user, "compute,storage", DC_NODE_FIXED);
  char role[32], cl[600];
  int64_t g;
  node_row(x, &x->node, role, cl, &g);
  assert_string_equal(role, "dynamic");
  assert_string_equal(cl, "compute"); /* its first declared class */
  assert_int_equal(g, -1);
  node_row(x, &x->user, role, cl, &g);
  assert_string_equal(role, "fixed");
  assert_string_equal(cl, "compute,storage");
}

static void test_move_and_group(void **state) {
  struct fx *x = *state;
  migrate_to(x, DC_FSM_SCHEMA_VERSION);
  reg(x, &x->node, "compute,streaming,iot", DC_NODE_DYNAMIC);
  reg(x, &x->user, "compute", DC_NODE_FIXED);
  uint64_t at = x->next;
  struct dc_fsm_result r = set1(x, x->node.pk, "streaming", 2);
  assert_int_equal(r.code, DC_OK);
  assert_int_equal(r.count, 1);
  char role[32], cl[600];
  int64_t g;
  node_row(x, &x->node, role, cl, &g);
  assert_string_equal(cl, "streaming");
  assert_int_equal(g, 2);
  char q[200];
  snprintf(q, sizeof q,
           "SELECT COUNT(*) FROM cluster_moves WHERE idx=%llu AND from_cluster='compute'"
           " AND to_cluster='streaming' AND reason='test'",
           (unsigned long long)at);
  assert_int_equal(fx_count(x, q), 1);
  /* A fixed node may change group (similarity), never cluster. */
  r = set1(x, x->user.pk, "", 0);
  assert_int_equal(r.code, DC_OK);
  assert_int_equal(r.count, 0);
  node_row(x, &x->user, role, cl, &g);
  assert_string_equal(cl, "compute");
  assert_int_equal(g, 0);
  /* Setting the cluster a node already has is no move. */
  r = set1(x, x->node.pk, "streaming", DC_GROUP_KEEP);
  assert_int_equal(r.code, DC_OK);
  assert_int_equal(r.count, 0);
  node_row(x, &x->node, role, cl, &g);
  assert_int_equal(g, 2);
  assert_int_equal(fx_count(x, "SELECT COUNT(*) FROM cluster_moves"), 1);
}

static void test_refusals_change_nothing(void **state) {
  struct fx *x = *state;
  migrate_to(x, DC_FSM_SCHEMA_VERSION);
  reg(x, &x->node, "compute,streaming", DC_NODE_DYNAMIC);
  reg(x, &x->user, "compute,iot", DC_NODE_FIXED);
  uint8_t before[DC_FSM_HASH_BYTES], after[DC_FSM_HASH_BYTES];
  assert_int_equal(dc_fsm_state_hash(dc_fsm_db(x->f), before), DC_OK);

  struct dc_fsm_result r = set1(x, x->user.pk, "iot", DC_GROUP_KEEP);
  assert_int_equal(r.code, DC_EINVAL);
  assert_non_null(strstr(r.message, "is fixed"));
  r = set1(x, x->node.pk, "iot", DC_GROUP_KEEP);
  assert_int_equal(r.code, DC_EINVAL);
  assert_non_null(strstr(r.message, "does not accept service class iot"));
  uint8_t ghost[32];
  memset(ghost, 7, sizeof ghost);
  r = set1(x, ghost, "compute", DC_GROUP_KEEP);
  assert_int_equal(r.code, DC_ENOTFOUND);
  r = set1(x, x->node.pk, "", (uint32_t)INT32_MAX + 1u);
  assert_int_equal(r.code, DC_EINVAL);

  /* All or nothing: a good item before a bad one is rolled back too. */
  struct dc_cmd c = {.type = DC_CMD_NODE_CLUSTER_SET};
  struct dc_cluster_item it[2] = {{.cluster = "streaming", .group = 5},
                                  {.cluster = "iot", .group = DC_GROUP_KEEP}};
  memcpy(it[0].node_id, x->node.pk, 32);
  memcpy(it[1].node_id, x->user.pk, 32);
  c.u.cluster_set.items = it;
  c.u.cluster_set.n = 2;
  c.u.cluster_set.reason = "two";
  r = apply(x, &c);
  assert_int_equal(r.code, DC_EINVAL);
  assert_int_equal(dc_fsm_state_hash(dc_fsm_db(x->f), after), DC_OK);
  assert_memory_equal(before, after, sizeof before);
}

static void test_reregister_keeps_or_resets_cluster(void **state) {
  struct fx *x = *state;
  migrate_to(x, DC_FSM_SCHEMA_VERSION);
  reg(x, &x->node, "compute,streaming,iot", DC_NODE_DYNAMIC);
  assert_int_equal(set1(x, x->node.pk, "iot", DC_GROUP_KEEP).code, DC_OK);
  char role[32], cl[600];
  int64_t g;
  reg(x, &x->node, "compute,streaming,iot", DC_NODE_DYNAMIC); /* reconnect */
  node_row(x, &x->node, role, cl, &g);
  assert_string_equal(cl, "iot");
  reg(x, &x->node, "streaming,compute", DC_NODE_DYNAMIC); /* no longer iot */
  node_row(x, &x->node, role, cl, &g);
  assert_string_equal(cl, "streaming");
  assert_int_equal(fx_count(x, "SELECT COUNT(*) FROM cluster_moves WHERE"
                            " reason='re-registered' AND to_cluster='streaming'"),
                   1);
  reg(x, &x->node, "streaming,compute", DC_NODE_FIXED); /* now fixed */
  node_row(x, &x->node, role, cl, &g);
  assert_string_equal(role, "fixed");
  assert_string_equal(cl, "streaming,compute");
}

/* A log from before v4: nodes registered at v3 become fixed, serving their
 * classes; the command is refused before the migration. */
static void test_old_log_migrates(void **state) {
  struct fx *x = *state;
  migrate_to(x, 3);
  reg(x, &x->user, "compute,iot", DC_NODE_FIXED);
  assert_int_equal(set1(x, x->user.pk, "", 1).code, DC_EVERSION);
  migrate_to(x, 4);
  char role[32], cl[600];
  int64_t g;
  node_row(x, &x->user, role, cl, &g);
  assert_string_equal(role, "fixed");
  assert_string_equal(cl, "compute,iot");
  assert_int_equal(g, -1);
}

static void test_replay_is_deterministic(void **state) {
  struct fx *x = *state;
  migrate_to(x, DC_FSM_SCHEMA_VERSION);
  reg(x, &x->node, "compute,streaming,iot", DC_NODE_DYNAMIC);
  reg(x, &x->user, "compute", DC_NODE_FIXED);
  set1(x, x->node.pk, "streaming", 1);
  set1(x, x->user.pk, "iot", 0); /* refused */
  set1(x, x->node.pk, "iot", 0);
  struct dc_fsm *g = fx_replay(x);
  uint8_t a[DC_FSM_HASH_BYTES], b[DC_FSM_HASH_BYTES];
  assert_int_equal(dc_fsm_state_hash(dc_fsm_db(x->f), a), DC_OK);
  assert_int_equal(dc_fsm_state_hash(dc_fsm_db(g), b), DC_OK);
  assert_memory_equal(a, b, sizeof a);
  assert_int_equal(fx_count(x, "SELECT COUNT(*) FROM cluster_moves"), 2);
  dc_fsm_close(g);
}

/* The role is one optional trailing byte: an encoding from before roles
 * decodes as fixed, dynamic round-trips, and a zero byte (a second
 * encoding of fixed) or an unknown role is refused. */
static void test_role_encoding_compatible(void **state) {
  struct fx *x = *state;
  struct dc_cmd c = {.type = DC_CMD_NODE_REGISTER};
  struct dc_node_info *n = &c.u.node_register.node;
  memcpy(n->node_id, x->node.pk, 32);
  n->classes = "compute,iot";
  struct dc_buf fixed = {0}, dyn = {0};
  assert_int_equal(dc_cmd_encode(&c, &fixed), DC_OK);
  n->role = DC_NODE_DYNAMIC;
  assert_int_equal(dc_cmd_encode(&c, &dyn), DC_OK);
  assert_int_equal(dyn.len, fixed.len + 1);
  struct dc_cmd d;
  assert_int_equal(dc_cmd_decode(fixed.data, fixed.len, &d), DC_OK);
  assert_int_equal(d.u.node_register.node.role, DC_NODE_FIXED);
  dc_cmd_free(&d);
  assert_int_equal(dc_cmd_decode(dyn.data, dyn.len, &d), DC_OK);
  assert_int_equal(d.u.node_register.node.role, DC_NODE_DYNAMIC);
  dc_cmd_free(&d);
  dyn.data[dyn.len - 1] = 0;
  assert_int_equal(dc_cmd_decode(dyn.data, dyn.len, &d), DC_EPROTO);
  dyn.data[dyn.len - 1] = 2;
  assert_int_equal(dc_cmd_decode(dyn.data, dyn.len, &d), DC_EPROTO);
  n->role = 2;
  struct dc_buf bad = {0};
  assert_int_equal(dc_cmd_encode(&c, &bad), DC_EINVAL);
  /* The session message carries it after the running tasks. */
  struct dc_msg m = {.type = DC_MSG_REGISTER};
  m.u.reg.node = *n;
  m.u.reg.node.role = DC_NODE_DYNAMIC;
  struct dc_task_ref ref = {.task_id = "t1", .attempt = 1};
  m.u.reg.running = &ref;
  m.u.reg.nrunning = 1;
  struct dc_buf mb = {0};
  assert_int_equal(dc_msg_encode(&m, &mb), DC_OK);
  struct dc_msg md;
  assert_int_equal(dc_msg_decode(DC_MSG_REGISTER, mb.data, mb.len, &md), DC_OK);
  assert_int_equal(md.u.reg.node.role, DC_NODE_DYNAMIC);
  assert_int_equal(md.u.reg.nrunning, 1);
  dc_msg_free(&md);
  assert_int_equal(dc_msg_decode(DC_MSG_REGISTER, mb.data, mb.len - 1, &md), DC_OK);
  assert_int_equal(md.u.reg.node.role, DC_NODE_FIXED);
  dc_msg_free(&md);
  dc_buf_free(&mb);
  dc_buf_free(&bad);
  dc_buf_free(&fixed);
  dc_buf_free(&dyn);
}

static void test_cluster_set_codec(void **state) {
  (void)state;
  struct dc_cmd c = {.type = DC_CMD_NODE_CLUSTER_SET};
  struct dc_buf b = {0};
  assert_int_equal(dc_cmd_encode(&c, &b), DC_EINVAL); /* no items */
  struct dc_cluster_item it = {.cluster = "iot", .group = 3};
  memset(it.node_id, 1, 32);
  c.u.cluster_set.items = &it;
  c.u.cluster_set.n = 1;
  c.u.cluster_set.reason = "forecast";
  assert_int_equal(dc_cmd_encode(&c, &b), DC_OK);
  struct dc_cmd d;
  assert_int_equal(dc_cmd_decode(b.data, b.len, &d), DC_OK);
  assert_int_equal(d.u.cluster_set.n, 1);
  assert_string_equal(d.u.cluster_set.items[0].cluster, "iot");
  assert_int_equal(d.u.cluster_set.items[0].group, 3);
  assert_string_equal(d.u.cluster_set.reason, "forecast");
  assert_string_equal(dc_cmd_type_name(d.type), "node_cluster_set");
  dc_cmd_free(&d);
  assert_int_equal(dc_cmd_decode(b.data, b.len - 1, &d), DC_ETRUNCATED);
  dc_buf_free(&b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_register_roles, fx_setup, fx_teardown),
      cmocka_unit_test_setup_teardown(test_move_and_group, fx_setup, fx_teardown),
      cmocka_unit_test_setup_teardown(test_refusals_change_nothing, fx_setup, fx_teardown),
      cmocka_unit_test_setup_teardown(test_reregister_keeps_or_resets_cluster, fx_setup,
                                      fx_teardown),
      cmocka_unit_test_setup_teardown(test_old_log_migrates, fx_setup, fx_teardown),
      cmocka_unit_test_setup_teardown(test_replay_is_deterministic, fx_setup, fx_teardown),
      cmocka_unit_test_setup_teardown(test_role_encoding_compatible, fx_setup, fx_teardown),
      cmocka_unit_test_setup_teardown(test_cluster_set_codec, fx_setup, fx_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
