/* SPDX-License-Identifier: Apache-2.0
 * The policies over resource vectors: fit and take, FGD's fragmentation,
 * each node-choice policy, EASY backfilling and batch assignment. */
#include <string.h>

#include "base/base.h"
#include "sched/sched.h"
#include "tests/lib/testlib.h"

static struct dc_sched_res node(uint32_t cpu, uint64_t mem, uint32_t ngpu) {
  struct dc_sched_res n = {.cpu_millis = cpu, .memory_mb = mem, .ngpu = ngpu,
                           .speed = 1, .price_cpu_hour = 1};
  for (uint32_t g = 0; g < ngpu; g++) n.gpu_free[g] = 1000;
  return n;
}

static struct dc_sched_req req(uint32_t cpu, uint64_t mem, uint32_t ngpu,
                               uint32_t milli) {
  return (struct dc_sched_req){.cpu_millis = cpu, .memory_mb = mem,
                               .num_gpu = ngpu, .gpu_milli = milli, .type = -1};
}

static void test_take_share_best_fit_and_release(void **state) {
  (void)state;
  struct dc_sched_res n = node(8000, 1000, 2);
  n.gpu_free[1] = 600;
  struct dc_sched_req t = req(1000, 100, 1, 500);
  assert_int_equal(dc_sched_fits(&n, &t), DC_SCHED_OK);
  struct dc_sched_alloc a;
  dc_sched_take(&n, &t, &a);
  /* The fuller GPU (600 free) holds the share, GPU 0 stays whole. */
  assert_int_equal(n.gpu_free[0], 1000);
  assert_int_equal(n.gpu_free[1], 100);
  struct dc_sched_req whole2 = req(1000, 100, 2, 1000);
  assert_int_equal(dc_sched_fits(&n, &whole2), DC_SCHED_GPU);
  dc_sched_release(&n, &t, &a);
  assert_int_equal(n.gpu_free[1], 600);
  assert_int_equal(n.used_cpu_millis, 0);
  struct dc_sched_req big = req(9000, 0, 0, 0);
  assert_int_equal(dc_sched_fits(&n, &big), DC_SCHED_CPU);
  struct dc_sched_req mem = req(1, 2000, 0, 0);
  assert_int_equal(dc_sched_fits(&n, &mem), DC_SCHED_MEM);
  n.down = true;
  assert_int_equal(dc_sched_fits(&n, &t), DC_SCHED_DOWN);
}

static void test_fits_model_mask(void **state) {
  (void)state;
  struct dc_sched_res n = node(8000, 1000, 1);
  n.model = 1u << 2;
  struct dc_sched_req t = req(1000, 1, 1, 1000);
  t.models = 1u << 1;
  assert_int_equal(dc_sched_fits(&n, &t), DC_SCHED_MODEL);
  t.models |= 1u << 2;
  assert_int_equal(dc_sched_fits(&n, &t), DC_SCHED_OK);
}

/* Mix: half the tasks want half a GPU, half a whole GPU. */
static struct dc_sched_tasktype mix[2];
static void set_mix(void) {
  mix[0] = (struct dc_sched_tasktype){req(1000, 1, 1, 500), 0.5};
  mix[0].req.type = 0;
  mix[1] = (struct dc_sched_tasktype){req(1000, 1, 1, 1000), 0.5};
  mix[1].req.type = 1;
}

static void test_frag_known_values(void **state) {
  (void)state;
  set_mix();
  struct dc_sched_res a = node(8000, 1000, 1), b = node(8000, 1000, 1);
  a.gpu_free[0] = 500;
  /* a: the share fits (no fragment), the whole GPU does not (500 idle). */
  assert_true(dc_sched_frag(&a, mix, 2) == 250.0);
  assert_true(dc_sched_frag(&b, mix, 2) == 0.0);
  /* Without cpu every idle share is a fragment. */
  a.used_cpu_millis = 8000;
  assert_true(dc_sched_frag(&a, mix, 2) == 500.0);
  struct dc_sched_res none = node(8000, 1000, 0);
  assert_true(dc_sched_frag(&none, mix, 2) == 0.0);
}

static void test_choose_fgd_fills_the_fragment(void **state) {
  (void)state;
  set_mix();
  struct dc_sched_res n[2] = {node(8000, 1000, 1), node(8000, 1000, 1)};
  n[1].gpu_free[0] = 500;
  struct dc_sched_req t = mix[0].req;
  struct dc_sched_ctx c = {.kind = DC_SCHED_FGD, .types = mix, .ntypes = 2};
  size_t pick;
  assert_int_equal(dc_sched_ctx_cache(&c, 2), DC_OK);
  assert_int_equal(dc_sched_choose(&c, n, 2, &t, NULL, &pick), DC_OK);
  assert_int_equal(pick, 1);
  /* Cached answer is the same, and a changed node is recomputed. */
  assert_int_equal(dc_sched_choose(&c, n, 2, &t, NULL, &pick), DC_OK);
  assert_int_equal(pick, 1);
  struct dc_sched_alloc a;
  dc_sched_take(&n[1], &t, &a);
  assert_int_equal(dc_sched_choose(&c, n, 2, &t, NULL, &pick), DC_OK);
  assert_int_equal(pick, 0);
  dc_sched_ctx_close(&c);
  struct dc_sched_ctx ff = {.kind = DC_SCHED_FIRST_FIT};
  n[1].gpu_free[0] = 500;
  assert_int_equal(dc_sched_choose(&ff, n, 2, &t, NULL, &pick), DC_OK);
  assert_int_equal(pick, 0);
}

static void test_choose_best_fit_and_k8s(void **state) {
  (void)state;
  struct dc_sched_res n[3] = {node(4000, 4000, 0), node(4000, 4000, 0),
                              node(4000, 4000, 0)};
  n[0].used_cpu_millis = 1000; n[0].used_memory_mb = 1000;
  n[1].used_cpu_millis = 3000; n[1].used_memory_mb = 3000;
  n[2].used_cpu_millis = 2000; n[2].used_memory_mb = 0;
  struct dc_sched_req t = req(1000, 1000, 0, 0);
  size_t pick;
  struct dc_sched_ctx bf = {.kind = DC_SCHED_BEST_FIT};
  assert_int_equal(dc_sched_choose(&bf, n, 3, &t, NULL, &pick), DC_OK);
  assert_int_equal(pick, 1); /* leaves nothing free */
  /* k8s: n0 least 50+ balanced 100 = 150; n2 least (25+75)/2=50 +
   * balanced (1-|0.75-0.25|/2)*100 = 75 -> 125; n1 0 + 100. */
  struct dc_sched_ctx k = {.kind = DC_SCHED_K8S};
  struct dc_sched_cand cand[3];
  struct dc_sched_explain ex = {.cand = cand, .cap = 3};
  assert_int_equal(dc_sched_choose(&k, n, 3, &t, &ex, &pick), DC_OK);
  assert_int_equal(pick, 0);
  assert_int_equal(ex.n, 3);
  assert_true(cand[0].score == -150.0);
  assert_true(cand[2].score == -125.0);
  assert_true(cand[1].score == -100.0);
  assert_int_equal(ex.chosen, 0);
}

static void test_choose_empty_one_infeasible(void **state) {
  (void)state;
  struct dc_sched_req t = req(1000, 10, 0, 0);
  size_t pick = 77;
  struct dc_sched_cand cand[2];
  struct dc_sched_explain ex = {.cand = cand, .cap = 2};
  for (int k = 0; k < DC_SCHED_KINDS; k++) {
    struct dc_sched_ctx c = {.kind = (enum dc_sched_kind)k, .rng = 3};
    dc_sched_weights_default(&c.w);
    assert_int_equal(dc_sched_choose(&c, NULL, 0, &t, &ex, &pick), DC_ENOTFOUND);
    assert_non_null(strstr(ex.text, "no nodes"));
    struct dc_sched_res one = node(2000, 100, 0);
    assert_int_equal(dc_sched_choose(&c, &one, 1, &t, &ex, &pick), DC_OK);
    assert_int_equal(pick, 0);
    struct dc_sched_req big = req(1000, 1000, 0, 0);
    assert_int_equal(dc_sched_choose(&c, &one, 1, &big, &ex, &pick), DC_ENOTFOUND);
    assert_int_equal(ex.filtered[DC_SCHED_MEM], 1);
    assert_non_null(strstr(ex.text, "not enough memory"));
    assert_int_equal(ex.chosen, SIZE_MAX);
  }
}

static void test_choose_random_feasible_and_repeatable(void **state) {
  (void)state;
  struct dc_sched_res n[8];
  for (int i = 0; i < 8; i++) n[i] = node(1000, 100, 0);
  n[3].used_cpu_millis = 1000;
  struct dc_sched_req t = req(1000, 1, 0, 0);
  size_t a[64], b[64], hits[8] = {0};
  struct dc_sched_ctx c1 = {.kind = DC_SCHED_RANDOM, .rng = 42};
  struct dc_sched_ctx c2 = {.kind = DC_SCHED_RANDOM, .rng = 42};
  for (int i = 0; i < 64; i++) {
    assert_int_equal(dc_sched_choose(&c1, n, 8, &t, NULL, &a[i]), DC_OK);
    assert_int_equal(dc_sched_choose(&c2, n, 8, &t, NULL, &b[i]), DC_OK);
    assert_int_equal(a[i], b[i]);
    assert_int_not_equal(a[i], 3);
    hits[a[i]]++;
  }
  int used = 0;
  for (int i = 0; i < 8; i++) used += hits[i] > 0;
  assert_true(used >= 5); /* spread, not stuck on one node */
}

static void test_choose_learned_prefers_fast_safe(void **state) {
  (void)state;
  struct dc_sched_res n[3] = {node(4000, 100, 0), node(4000, 100, 0),
                              node(4000, 100, 0)};
  n[0].speed = 0.5;
  n[1].fail_prob = 0.5;
  struct dc_sched_req t = req(1000, 1, 0, 0);
  t.runtime_s = 7200;
  struct dc_sched_ctx c = {.kind = DC_SCHED_LEARNED};
  dc_sched_weights_default(&c.w);
  size_t pick;
  assert_int_equal(dc_sched_choose(&c, n, 3, &t, NULL, &pick), DC_OK);
  assert_int_equal(pick, 2);
  /* Far from where the task wants to be, the fast and safe node loses to a
   * near one that is slower. */
  n[2].has_loc = n[0].has_loc = true;
  n[2].lat = 35.7; n[2].lon = 139.7;  /* Tokyo */
  n[0].lat = 48.9; n[0].lon = 2.35;   /* Paris */
  t.has_near = true;
  t.near_lat = 50.1; t.near_lon = 8.7; /* Frankfurt */
  n[0].speed = 0.9;
  assert_int_equal(dc_sched_choose(&c, n, 3, &t, NULL, &pick), DC_OK);
  assert_int_equal(pick, 0);
}

static void test_easy_backfills_without_delaying_head(void **state) {
  (void)state;
  /* 10 processors, 6 busy until t=100. Head wants 8: reserved at 100 with
   * 2 spare. j1 (2 procs, long) uses the spare; j2 (2, long) would delay
   * the head; j3 (2, ends by 100) may run... but no processor is left. */
  struct dc_sched_running run[1] = {{100, 6}};
  struct dc_sched_waiting q[4] = {{8, 50}, {2, 500}, {2, 500}, {1, 40}};
  size_t start[4], ns;
  double shadow;
  assert_int_equal(dc_sched_easy(0, 4, run, 1, q, 4, NULL, start, &ns, &shadow), DC_OK);
  assert_true(shadow == 100);
  assert_int_equal(ns, 2);
  assert_int_equal(start[0], 1);
  assert_int_equal(start[1], 3);
  /* A different backfill order tries j3 first. */
  size_t bf[4] = {3, 2, 1, 0};
  assert_int_equal(dc_sched_easy(0, 4, run, 1, q, 4, bf, start, &ns, &shadow), DC_OK);
  assert_int_equal(ns, 2);
  assert_int_equal(start[0], 3);
  assert_int_equal(start[1], 2);
  /* Head fits: plain FCFS. Empty queue: nothing. */
  struct dc_sched_waiting q2[2] = {{3, 10}, {1, 10}};
  assert_int_equal(dc_sched_easy(0, 4, run, 1, q2, 2, NULL, start, &ns, &shadow), DC_OK);
  assert_int_equal(ns, 2);
  assert_true(shadow == -1);
  assert_int_equal(dc_sched_easy(0, 4, run, 1, q2, 0, NULL, start, &ns, &shadow), DC_OK);
  assert_int_equal(ns, 0);
}

static uint64_t lcg(uint64_t *s) {
  *s = *s * 6364136223846793005ull + 1442695040888963407ull;
  return *s >> 33;
}

static void test_batch_flow_beats_or_ties_greedy(void **state) {
  (void)state;
  enum { NN = 20, NT = 60 };
  struct dc_sched_res n[NN], g[NN];
  struct dc_sched_req t[NT];
  uint64_t s = 9;
  for (int i = 0; i < NN; i++) {
    n[i] = node(4000 + 1000 * (uint32_t)(lcg(&s) % 5), 8000, 0);
    n[i].speed = 0.5 + (double)(lcg(&s) % 100) / 100.0;
    n[i].price_cpu_hour = 1 + (double)(lcg(&s) % 3);
  }
  for (int i = 0; i < NT; i++) {
    t[i] = req(500 * (1 + (uint32_t)(lcg(&s) % 4)), 100 + lcg(&s) % 900, 0, 0);
    t[i].runtime_s = 600 + (double)(lcg(&s) % 7200);
  }
  memcpy(g, n, sizeof n);
  struct dc_sched_ctx c = {.kind = DC_SCHED_LEARNED};
  dc_sched_weights_default(&c.w);
  size_t of[NT], og[NT];
  struct dc_sched_alloc al[NT];
  struct dc_sched_batch_result rf, rg;
  struct dc_sched_batch_opts o = {.topk = 8, .max_exact = 4096};
  assert_int_equal(dc_sched_batch(&c, n, NN, t, NT, &o, of, al, &rf), DC_OK);
  assert_int_equal(rf.solver, DC_SCHED_SOLVER_FLOW);
  struct dc_sched_batch_opts og_opts = {.topk = 8, .max_exact = 1};
  assert_int_equal(dc_sched_batch(&c, g, NN, t, NT, &og_opts, og, al, &rg), DC_OK);
  assert_int_equal(rg.solver, DC_SCHED_SOLVER_GREEDY);
  assert_true(rf.placed >= rg.placed);
  /* Never over-committed. */
  for (int i = 0; i < NN; i++) {
    assert_true(n[i].used_cpu_millis <= n[i].cpu_millis);
    assert_true(n[i].used_memory_mb <= n[i].memory_mb);
  }
  uint64_t used = 0, asked = 0;
  for (int i = 0; i < NT; i++)
    if (of[i] != SIZE_MAX) asked += t[i].cpu_millis;
  for (int i = 0; i < NN; i++) used += n[i].used_cpu_millis;
  assert_int_equal(used, asked);
}

static void test_batch_infeasible_and_empty(void **state) {
  (void)state;
  struct dc_sched_res n[1] = {node(1000, 100, 0)};
  struct dc_sched_req t[2] = {req(2000, 1, 0, 0), req(1000, 1, 0, 0)};
  size_t of[2];
  struct dc_sched_alloc al[2];
  struct dc_sched_batch_result r;
  struct dc_sched_ctx c = {.kind = DC_SCHED_K8S};
  assert_int_equal(dc_sched_batch(&c, n, 1, t, 2, NULL, of, al, &r), DC_OK);
  assert_int_equal(of[0], SIZE_MAX);
  assert_int_equal(of[1], 0);
  assert_int_equal(r.placed, 1);
  assert_int_equal(dc_sched_batch(&c, n, 1, t, 0, NULL, of, al, &r), DC_OK);
  assert_int_equal(r.placed, 0);
  assert_int_equal(dc_sched_batch(&c, NULL, 0, t, 2, NULL, of, al, &r), DC_OK);
  assert_int_equal(r.placed, 0);
}

/* One node with room for two of four tasks, each half the cluster; users
 * 1 (tasks 0, 1) and 2 (tasks 2, 3). Returns the solver that ran. */
static enum dc_sched_solver drf_batch(const struct dc_sched_batch_opts *o,
                                      size_t *of) {
  struct dc_sched_req t[4] = {req(1000, 1, 0, 0), req(1000, 1, 0, 0),
                              req(1000, 1, 0, 0), req(1000, 1, 0, 0)};
  t[0].user = t[1].user = 1;
  t[2].user = t[3].user = 2;
  struct dc_sched_res n[1] = {node(2000, 100, 0)};
  struct dc_sched_alloc al[4];
  struct dc_sched_batch_result r;
  struct dc_sched_ctx c = {.kind = DC_SCHED_BEST_FIT};
  assert_int_equal(dc_sched_batch(&c, n, 1, t, 4, o, of, al, &r), DC_OK);
  assert_int_equal(r.placed, 2);
  return r.solver;
}

static void test_batch_drf_serves_the_poorer_user(void **state) {
  (void)state;
  /* User 1 already holds 0.9 of the cluster, so user 2's tasks go first,
   * whatever their order, in the flow and in the greedy fallback. */
  double share[3] = {0, 0.9, 0};
  struct dc_sched_batch_opts o = {.topk = 4, .max_exact = 16,
                                  .user_share = share, .nusers = 3};
  size_t of[4];
  for (int pass = 0; pass < 2; pass++) {
    assert_int_equal(drf_batch(&o, of),
                     pass ? DC_SCHED_SOLVER_GREEDY : DC_SCHED_SOLVER_FLOW);
    assert_int_equal(of[0], SIZE_MAX);
    assert_int_equal(of[1], SIZE_MAX);
    assert_int_equal(of[2], 0);
    assert_int_equal(of[3], 0);
    o.max_exact = 1;
  }
  /* Equal shares: users alternate, so each gets one. */
  share[1] = 0;
  o.max_exact = 16;
  drf_batch(&o, of);
  assert_int_equal(of[0], 0);
  assert_int_equal(of[2], 0);
  assert_int_equal(of[1], SIZE_MAX);
  assert_int_equal(of[3], SIZE_MAX);
}

static void test_kind_names_round_trip(void **state) {
  (void)state;
  for (int k = 0; k < DC_SCHED_KINDS; k++) {
    enum dc_sched_kind out;
    assert_int_equal(dc_sched_kind_parse(dc_sched_kind_name((enum dc_sched_kind)k), &out), DC_OK);
    assert_int_equal(out, k);
  }
  enum dc_sched_kind out;
  assert_int_equal(dc_sched_kind_parse("fastest", &out), DC_EINVAL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_take_share_best_fit_and_release),
      cmocka_unit_test(test_fits_model_mask),
      cmocka_unit_test(test_frag_known_values),
      cmocka_unit_test(test_choose_fgd_fills_the_fragment),
      cmocka_unit_test(test_choose_best_fit_and_k8s),
      cmocka_unit_test(test_choose_empty_one_infeasible),
      cmocka_unit_test(test_choose_random_feasible_and_repeatable),
      cmocka_unit_test(test_choose_learned_prefers_fast_safe),
      cmocka_unit_test(test_easy_backfills_without_delaying_head),
      cmocka_unit_test(test_batch_flow_beats_or_ties_greedy),
      cmocka_unit_test(test_batch_infeasible_and_empty),
      cmocka_unit_test(test_batch_drf_serves_the_poorer_user),
      cmocka_unit_test(test_kind_names_round_trip),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
