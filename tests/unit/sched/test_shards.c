/* SPDX-License-Identifier: Apache-2.0
 * dc_shard_plan: moves of dynamic providers toward forecast shortfalls,
 * with known inputs and known outputs. */
#include "sched/sched.h"
#include "tests/lib/testlib.h"

/* Two fixed providers (compute; streaming) and two dynamic ones that
 * accept both and sit in compute; every provider has 2 cores. */
static struct dc_shard_node nodes[4];
static struct dc_shard_class classes[2];

static int setup(void **state) {
  (void)state;
  nodes[0] = (struct dc_shard_node){.classes = "compute", .cluster = "compute", .cores = 2};
  nodes[1] = (struct dc_shard_node){.classes = "streaming", .cluster = "streaming", .cores = 2};
  for (int i = 2; i < 4; i++)
    nodes[i] = (struct dc_shard_node){.classes = "compute,streaming", .cluster = "compute",
                                      .dynamic = true, .movable = true, .cores = 2};
  classes[0] = (struct dc_shard_class){.name = "compute"};
  classes[1] = (struct dc_shard_class){.name = "streaming"};
  return 0;
}

static void test_capacity_counts_fixed_in_each_class(void **state) {
  (void)state;
  double cap[2];
  dc_shard_capacity(nodes, 4, classes, 2, cap);
  assert_true(cap[0] == 6 && cap[1] == 2);
  nodes[0].classes = "compute,streaming"; /* fixed, serves both */
  dc_shard_capacity(nodes, 4, classes, 2, cap);
  assert_true(cap[0] == 6 && cap[1] == 4);
}

static void test_moves_toward_the_shortfall(void **state) {
  (void)state;
  classes[1].demand_cores = 8;
  struct dc_shard_move mv[4];
  size_t n;
  dc_shard_plan(nodes, 4, classes, 2, 0.5, 4, mv, &n);
  assert_int_equal(n, 2);
  assert_int_equal(mv[0].node, 2);
  assert_int_equal(mv[0].from, 0);
  assert_int_equal(mv[0].to, 1);
  assert_true(mv[0].shortfall_cores == 6 && mv[0].spare_cores == 6);
  assert_int_equal(mv[1].node, 3);
  assert_true(mv[1].shortfall_cores == 4 && mv[1].spare_cores == 4);
}

/* The class left behind keeps its own demand: only one of the two moves. */
static void test_never_opens_a_shortfall(void **state) {
  (void)state;
  classes[0].demand_cores = 4;
  classes[1].demand_cores = 8;
  struct dc_shard_move mv[4];
  size_t n;
  dc_shard_plan(nodes, 4, classes, 2, 0.5, 4, mv, &n);
  assert_int_equal(n, 1);
  assert_int_equal(mv[0].node, 2);
  /* And with the demand the other way round, nothing moves back. */
  nodes[2].cluster = nodes[3].cluster = "streaming";
  classes[0].demand_cores = 2;
  classes[1].demand_cores = 5;
  dc_shard_plan(nodes, 4, classes, 2, 0.5, 4, mv, &n);
  assert_int_equal(n, 0);
}

static void test_limits(void **state) {
  (void)state;
  classes[1].demand_cores = 8;
  struct dc_shard_move mv[4];
  size_t n;
  dc_shard_plan(nodes, 4, classes, 2, 0.5, 1, mv, &n); /* at most one move */
  assert_int_equal(n, 1);
  nodes[2].movable = false; /* busy or just moved */
  nodes[3].classes = "compute,iot"; /* does not accept streaming */
  dc_shard_plan(nodes, 4, classes, 2, 0.5, 4, mv, &n);
  assert_int_equal(n, 0);
  setup(NULL);
  classes[1].demand_cores = 2.3; /* below the dead band */
  dc_shard_plan(nodes, 4, classes, 2, 0.5, 4, mv, &n);
  assert_int_equal(n, 0);
  classes[1].demand_cores = 0; /* no demand anywhere: stable */
  dc_shard_plan(nodes, 4, classes, 2, 0.5, 4, mv, &n);
  assert_int_equal(n, 0);
  dc_shard_plan(nodes, 0, classes, 2, 0.5, 4, mv, &n); /* no providers */
  assert_int_equal(n, 0);
}

/* The largest shortfall is served first; a class nobody can serve does not
 * block the next one. */
static void test_largest_shortfall_first(void **state) {
  (void)state;
  struct dc_shard_class three[3] = {{.name = "compute"}, {.name = "streaming", .demand_cores = 4},
                                    {.name = "gpu", .demand_cores = 50}};
  struct dc_shard_move mv[4];
  size_t n;
  dc_shard_plan(nodes, 4, three, 3, 0.5, 4, mv, &n);
  assert_int_equal(n, 1); /* gpu is stuck; streaming needs one provider */
  assert_int_equal(mv[0].to, 1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup(test_capacity_counts_fixed_in_each_class, setup),
      cmocka_unit_test_setup(test_moves_toward_the_shortfall, setup),
      cmocka_unit_test_setup(test_never_opens_a_shortfall, setup),
      cmocka_unit_test_setup(test_limits, setup),
      cmocka_unit_test_setup(test_largest_shortfall_first, setup),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
