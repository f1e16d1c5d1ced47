/* SPDX-License-Identifier: Apache-2.0
 * Scheduler v0: filtering, scoring, no over-commit, explanations. */
#include <string.h>

#include "base/base.h"
#include "sched/sched.h"
#include "tests/lib/testlib.h"

static struct dc_sched_node node(const char *id, uint32_t cpu, uint64_t mem) {
  struct dc_sched_node n = {0};
  n.id = id;
  n.cpu_millis = cpu;
  n.memory_mb = mem;
  n.disk_mb = 10000;
  n.classes = "compute";
  return n;
}

static struct dc_sched_task task(const char *id, uint32_t cpu, uint64_t mem) {
  struct dc_sched_task t = {0};
  t.id = id;
  t.attempt = 1;
  t.cpu_millis = cpu;
  t.memory_mb = mem;
  return t;
}

static void test_place_least_loaded(void **state) {
  (void)state;
  struct dc_sched_node n[2] = {node("a", 4000, 4096), node("b", 4000, 4096)};
  n[0].used_cpu_millis = 3000;
  n[0].used_memory_mb = 3000;
  struct dc_sched_task t[1] = {task("t", 500, 256)};
  struct dc_sched_policy p;
  dc_sched_policy_default(&p);
  struct dc_sched_assignment a[1];
  size_t na, nr;
  struct dc_sched_reason r[1];
  assert_int_equal(dc_sched_place(n, 2, t, 1, &p, a, &na, r, &nr), DC_OK);
  assert_int_equal(na, 1);
  assert_int_equal(a[0].node, 1);
}

static void test_place_never_overcommits(void **state) {
  (void)state;
  struct dc_sched_node n[1] = {node("a", 2000, 4096)};
  struct dc_sched_task t[3] = {task("1", 1000, 10), task("2", 1000, 10),
                               task("3", 1000, 10)};
  struct dc_sched_policy p;
  dc_sched_policy_default(&p);
  struct dc_sched_assignment a[3];
  struct dc_sched_reason r[3];
  size_t na, nr;
  assert_int_equal(dc_sched_place(n, 1, t, 3, &p, a, &na, r, &nr), DC_OK);
  assert_int_equal(na, 2);
  assert_int_equal(nr, 1);
  assert_int_equal(r[0].task, 2);
  assert_non_null(strstr(r[0].text, "millicores"));
}

static void test_place_priority_first(void **state) {
  (void)state;
  struct dc_sched_node n[1] = {node("a", 1000, 4096)};
  struct dc_sched_task t[2] = {task("low", 1000, 10), task("high", 1000, 10)};
  t[1].priority = 90;
  struct dc_sched_policy p;
  dc_sched_policy_default(&p);
  struct dc_sched_assignment a[2];
  size_t na, nr;
  assert_int_equal(dc_sched_place(n, 1, t, 2, &p, a, &na, NULL, &nr), DC_OK);
  assert_int_equal(na, 1);
  assert_int_equal(a[0].task, 1);
}

static void test_place_constraints(void **state) {
  (void)state;
  struct dc_sched_label gpu_label = {"zone", "eu"};
  struct dc_sched_node n[3] = {node("a", 4000, 4096), node("b", 4000, 4096),
                               node("c", 4000, 4096)};
  n[0].classes = "storage";
  n[1].price_cpu_hour = 100;
  n[1].labels = &gpu_label;
  n[1].nlabels = 1;
  n[1].lat = 48.85; n[1].lon = 2.35; /* Paris */
  n[2].price_cpu_hour = 500;
  n[2].labels = &gpu_label;
  n[2].nlabels = 1;
  n[2].lat = 40.71; n[2].lon = -74.0; /* New York */
  struct dc_sched_task t = task("t", 100, 10);
  t.service_class = "compute";
  t.labels = &gpu_label;
  t.nlabels = 1;
  t.has_near = true;
  t.near_lat = 52.52; t.near_lon = 13.40; /* Berlin */
  t.near_max_km = 1500;
  struct dc_sched_policy p;
  dc_sched_policy_default(&p);
  struct dc_sched_assignment a[1];
  struct dc_sched_reason r[1];
  size_t na, nr;
  assert_int_equal(dc_sched_place(n, 3, &t, 1, &p, a, &na, r, &nr), DC_OK);
  assert_int_equal(na, 1);
  assert_int_equal(a[0].node, 1);
  t.has_max_price = true;
  t.max_price = 50;
  assert_int_equal(dc_sched_place(n, 3, &t, 1, &p, a, &na, r, &nr), DC_OK);
  assert_int_equal(na, 0);
  assert_int_equal(nr, 1);
}

static void test_place_no_nodes(void **state) {
  (void)state;
  struct dc_sched_task t = task("t", 100, 10);
  struct dc_sched_policy p;
  dc_sched_policy_default(&p);
  struct dc_sched_assignment a[1];
  struct dc_sched_reason r[1];
  size_t na, nr;
  assert_int_equal(dc_sched_place(NULL, 0, &t, 1, &p, a, &na, r, &nr), DC_OK);
  assert_int_equal(na, 0);
  assert_string_equal(r[0].text, "no live provider");
}

static void test_distance_km(void **state) {
  (void)state;
  double d = dc_sched_distance_km(48.85, 2.35, 52.52, 13.40);
  assert_true(d > 850 && d < 900); /* Paris–Berlin ≈ 878 km */
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_place_least_loaded),
      cmocka_unit_test(test_place_never_overcommits),
      cmocka_unit_test(test_place_priority_first),
      cmocka_unit_test(test_place_constraints),
      cmocka_unit_test(test_place_no_nodes),
      cmocka_unit_test(test_distance_km),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
