/* SPDX-License-Identifier: Apache-2.0
 * Proportional shares across providers: dc_sched_provider_fair with known
 * inputs and outputs, and its effect on the learned cost (choose and
 * batch): it decides between near-equal nodes and never outweighs a real
 * difference. */
#include <math.h>

#include "base/base.h"
#include "sched/sched.h"
#include "tests/lib/testlib.h"

static struct dc_sched_res node(uint32_t cpu) {
  return (struct dc_sched_res){.cpu_millis = cpu, .memory_mb = 4096, .speed = 1,
                               .price_cpu_hour = 1};
}

static void test_shares_known_values(void **state) {
  (void)state;
  struct dc_sched_res n[3] = {node(1000), node(1000), node(2000)};
  double fair[3];
  /* Targets 1/4, 1/4, 1/2; actual 1/2, 0, 1/2. */
  dc_sched_provider_fair(n, 3, (double[]){10, 0, 10}, 0.01, fair);
  assert_true(fabs(fair[0] - 0.01) < 1e-12);
  assert_true(fabs(fair[1] + 0.01) < 1e-12);
  assert_true(fabs(fair[2]) < 1e-12);
  /* Clamped at +w: all the work on a quarter of the cpu is 3x its share. */
  dc_sched_provider_fair(n, 3, (double[]){100, 0, 0}, 0.01, fair);
  assert_true(fabs(fair[0] - 0.01) < 1e-12 && fabs(fair[2] + 0.01) < 1e-12);
  /* Proportional work is fair: no term at all. */
  dc_sched_provider_fair(n, 3, (double[]){5, 5, 10}, 0.01, fair);
  for (int i = 0; i < 3; i++) assert_true(fabs(fair[i]) < 1e-12);
  /* No work recorded (a cold master), negative noise, no cpu: zeros. */
  dc_sched_provider_fair(n, 3, (double[]){0, 0, 0}, 0.01, fair);
  for (int i = 0; i < 3; i++) assert_true(fair[i] == 0);
  dc_sched_provider_fair(n, 3, (double[]){-4, 0, 0}, 0.01, fair);
  for (int i = 0; i < 3; i++) assert_true(fair[i] == 0);
  n[1].cpu_millis = 0;
  dc_sched_provider_fair(n, 3, (double[]){1, 1, 1}, 0.01, fair);
  assert_true(fair[1] == 0);
}

static void test_under_served_wins_a_tie(void **state) {
  (void)state;
  struct dc_sched_res n[2] = {node(4000), node(4000)};
  struct dc_sched_req t = {.cpu_millis = 1000, .memory_mb = 100, .type = -1, .runtime_s = 60};
  struct dc_sched_ctx c = {.kind = DC_SCHED_LEARNED};
  dc_sched_weights_default(&c.w);
  size_t pick;
  assert_int_equal(dc_sched_choose(&c, n, 2, &t, NULL, &pick), DC_OK);
  assert_int_equal(pick, 0); /* a tie goes to the lower index */
  double fair[2];
  dc_sched_provider_fair(n, 2, (double[]){3600, 600}, c.w.provider_fair, fair);
  c.provider_fair = fair;
  assert_int_equal(dc_sched_choose(&c, n, 2, &t, NULL, &pick), DC_OK);
  assert_int_equal(pick, 1);
  /* The batch path sees the same cost: two tasks, one slot each way would
   * tie; the under-served node takes the first. */
  struct dc_sched_req two[2] = {t, t};
  size_t of[2];
  struct dc_sched_alloc al[2];
  struct dc_sched_batch_result br;
  struct dc_sched_batch_opts o = {.topk = 8, .max_exact = 4096};
  struct dc_sched_res m[2] = {node(1000), node(1000)};
  assert_int_equal(dc_sched_batch(&c, m, 2, two, 1, &o, of, al, &br), DC_OK);
  assert_int_equal(br.solver, DC_SCHED_SOLVER_FLOW);
  assert_int_equal(of[0], 1);
}

static void test_never_outweighs_a_real_difference(void **state) {
  (void)state;
  struct dc_sched_res n[2] = {node(4000), node(4000)};
  n[1].fail_prob = 0.05; /* riskier: costs 2 x 0.05 x (1 + h) more */
  struct dc_sched_req t = {.cpu_millis = 1000, .memory_mb = 100, .type = -1, .runtime_s = 600};
  struct dc_sched_ctx c = {.kind = DC_SCHED_LEARNED};
  dc_sched_weights_default(&c.w);
  double fair[2];
  /* The safe node had all the recent work, the risky one none. */
  dc_sched_provider_fair(n, 2, (double[]){1000, 0}, c.w.provider_fair, fair);
  c.provider_fair = fair;
  size_t pick;
  assert_int_equal(dc_sched_choose(&c, n, 2, &t, NULL, &pick), DC_OK);
  assert_int_equal(pick, 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_shares_known_values),
      cmocka_unit_test(test_under_served_wins_a_tie),
      cmocka_unit_test(test_never_outweighs_a_real_difference),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
