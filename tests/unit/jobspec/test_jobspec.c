/* SPDX-License-Identifier: Apache-2.0
 * The good paths of the job spec: a full spec parses to the expected
 * struct, defaults are filled, the canonical form is exact and a fixed
 * point, numbers survive the round trip, topo order, per-task JSON, the
 * shipped examples and docs parse, and every allocation failure is clean. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jobspec_test.h"

char *jt_json(const char *sq) {
  char *s = strdup(sq);
  assert_non_null(s);
  for (char *p = s; *p; p++)
    if (*p == '\'') *p = '"';
  return s;
}

void jt_expect_fail_raw(const char *json, size_t len, int code,
                        const char *msg) {
  struct dc_jobspec *sentinel = (struct dc_jobspec *)&sentinel, *s = sentinel;
  struct dc_errmsg err = {{0}};
  int rc = dc_jobspec_parse(json, len, &s, &err);
  if (rc != code)
    fail_msg("%.200s\nexpected %s, got %s: %s", json, dc_err_name(code),
             dc_err_name(rc), err.text);
  assert_ptr_equal(s, sentinel); /* untouched on failure */
  size_t ml = strlen(msg);
  bool prefix = ml && msg[ml - 1] == '*';
  if (prefix ? strncmp(err.text, msg, ml - 1) != 0 : strcmp(err.text, msg) != 0)
    fail_msg("%.200s\nexpected message: %s\n     got message: %s", json, msg,
             err.text);
}

void jt_expect_fail(const char *sq, int code, const char *msg) {
  char *j = jt_json(sq);
  jt_expect_fail_raw(j, strlen(j), code, msg);
  free(j);
}

struct dc_jobspec *jt_expect_ok(const char *sq) {
  char *j = jt_json(sq);
  struct dc_jobspec *s = NULL;
  struct dc_errmsg err = {{0}};
  int rc = dc_jobspec_parse(j, strlen(j), &s, &err);
  if (rc) fail_msg("%.200s\nexpected OK, got %s: %s", j, dc_err_name(rc), err.text);
  free(j);
  return s;
}

/* ---- deep equality -------------------------------------------------------- */

static bool str_eq(const char *a, const char *b) {
  return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static bool strv_eq(char **a, size_t na, char **b, size_t nb) {
  if (na != nb) return false;
  for (size_t i = 0; i < na; i++)
    if (!str_eq(a[i], b[i])) return false;
  return true;
}

static bool kv_eq(const struct dc_jobspec_kv *a, size_t na,
                  const struct dc_jobspec_kv *b, size_t nb) {
  if (na != nb) return false;
  for (size_t i = 0; i < na; i++)
    if (!str_eq(a[i].key, b[i].key) || !str_eq(a[i].value, b[i].value))
      return false;
  return true;
}

static bool task_eq(const struct dc_jobspec_task *a,
                    const struct dc_jobspec_task *b) {
  if (!str_eq(a->name, b->name) || !strv_eq(a->argv, a->argc, b->argv, b->argc) ||
      !kv_eq(a->env, a->nenv, b->env, b->nenv) || a->nfiles != b->nfiles ||
      !strv_eq(a->outputs, a->noutputs, b->outputs, b->noutputs) ||
      a->cpu_millis != b->cpu_millis || a->memory_mb != b->memory_mb ||
      a->disk_mb != b->disk_mb || a->gpu != b->gpu ||
      a->timeout_s != b->timeout_s || a->retries != b->retries ||
      a->count != b->count || !strv_eq(a->after, a->nafter, b->after, b->nafter) ||
      a->network != b->network)
    return false;
  for (size_t i = 0; i < a->nfiles; i++) {
    const struct dc_jobspec_file *x = &a->files[i], *y = &b->files[i];
    if (!str_eq(x->path, y->path) || x->len != y->len || x->mode != y->mode ||
        (x->len && memcmp(x->content, y->content, x->len) != 0))
      return false;
  }
  return true;
}

static bool spec_eq(const struct dc_jobspec *a, const struct dc_jobspec *b) {
  const struct dc_jobspec_constraints *x = &a->constraints, *y = &b->constraints;
  if (!str_eq(a->name, b->name) || a->priority != b->priority ||
      !kv_eq(a->labels, a->nlabels, b->labels, b->nlabels) ||
      a->budget != b->budget || !str_eq(x->service_class, y->service_class) ||
      !kv_eq(x->labels, x->nlabels, y->labels, y->nlabels) ||
      x->has_max_price != y->has_max_price || x->max_price != y->max_price ||
      x->gpu != y->gpu || x->has_near != y->has_near ||
      memcmp(&x->near_lat, &y->near_lat, sizeof(double)) != 0 ||
      memcmp(&x->near_lon, &y->near_lon, sizeof(double)) != 0 ||
      memcmp(&x->near_max_km, &y->near_max_km, sizeof(double)) != 0 ||
      a->ntasks != b->ntasks || a->total_instances != b->total_instances)
    return false;
  for (size_t i = 0; i < a->ntasks; i++)
    if (!task_eq(&a->tasks[i], &b->tasks[i])) return false;
  return true;
}

/* canonical(s) parses back to an equal struct and is a fixed point. Returns
 * the canonical text (dc_free). */
static char *check_roundtrip(const struct dc_jobspec *s) {
  char *c1 = NULL, *c2 = NULL;
  assert_int_equal(dc_jobspec_canonical(s, &c1), DC_OK);
  struct dc_jobspec *s2 = NULL;
  struct dc_errmsg err = {{0}};
  if (dc_jobspec_parse(c1, strlen(c1), &s2, &err))
    fail_msg("canonical does not parse: %s\n%s", err.text, c1);
  assert_true(spec_eq(s, s2));
  assert_int_equal(dc_jobspec_canonical(s2, &c2), DC_OK);
  assert_string_equal(c1, c2);
  dc_jobspec_free(s2);
  dc_free(c2);
  return c1;
}

/* ---- tests ------------------------------------------------------------------ */

static const char full_spec[] =
    "{'name':'Render \\u00e9 \\\"frames\\\"','priority':90,"
    "'labels':{'team':'vfx','app.io/tier':'1'},'budget':5000000,"
    "'constraints':{'service_class':'compute','labels':{'zone':'eu-1','arch':'x86_64'},"
    "'max_price':1200,'gpu':true,'near':{'lat':48.8566,'lon':-2.3522,'max_km':150.5}},"
    "'tasks':["
    "{'name':'prep','command':['/bin/sh','-c','echo hi > out.txt'],"
    "'env':{'Z':'last','A':'first'},"
    "'files':[{'path':'in/data.txt','content':'l1\\nl2\\t\\u0001'},"
    "{'path':'bin.dat','content_base64':'AAEC/w==','mode':493}],"
    "'outputs':['out.txt','logs/run.log'],"
    "'resources':{'cpu':0.25,'memory_mb':512,'disk_mb':0,'gpu':1},"
    "'timeout_s':60,'retries':2,'count':3,'network':true},"
    "{'network':false,'after':['prep'],'command':['true'],'name':'post'}]}";

static const char full_canonical[] =
    "{'budget':5000000,'constraints':{'gpu':true,'labels':{'arch':'x86_64','zone':'eu-1'},"
    "'max_price':1200,'near':{'lat':48.8566,'lon':-2.3522,'max_km':150.5},"
    "'service_class':'compute'},'labels':{'app.io/tier':'1','team':'vfx'},"
    "'name':'Render \xc3\xa9 \\'frames\\'','priority':90,'tasks':["
    "{'after':[],'command':['/bin/sh','-c','echo hi > out.txt'],'count':3,"
    "'env':{'A':'first','Z':'last'},'files':[{'content_base64':'bDEKbDIJAQ==',"
    "'mode':420,'path':'in/data.txt'},{'content_base64':'AAEC/w==','mode':493,"
    "'path':'bin.dat'}],'name':'prep','network':true,'outputs':['out.txt',"
    "'logs/run.log'],'resources':{'cpu':0.25,'disk_mb':0,'gpu':1,'memory_mb':512},"
    "'retries':2,'timeout_s':60},"
    "{'after':['prep'],'command':['true'],'count':1,'env':{},'files':[],"
    "'name':'post','network':false,'outputs':[],'resources':{'cpu':1,"
    "'disk_mb':1024,'gpu':0,'memory_mb':256},'retries':0,'timeout_s':3600}]}";

static void test_parse_full(void **state) {
  (void)state;
  struct dc_jobspec *s = jt_expect_ok(full_spec);
  assert_string_equal(s->name, "Render \xc3\xa9 \"frames\"");
  assert_int_equal(s->priority, 90);
  assert_int_equal(s->nlabels, 2);
  assert_string_equal(s->labels[0].key, "app.io/tier"); /* sorted */
  assert_int_equal(s->budget, 5000000);
  const struct dc_jobspec_constraints *k = &s->constraints;
  assert_string_equal(k->service_class, "compute");
  assert_int_equal(k->nlabels, 2);
  assert_string_equal(k->labels[0].key, "arch");
  assert_true(k->has_max_price && k->max_price == 1200 && k->gpu && k->has_near);
  assert_true(k->near_lat == 48.8566 && k->near_lon == -2.3522 &&
              k->near_max_km == 150.5);
  assert_int_equal(s->ntasks, 2);
  assert_int_equal(s->total_instances, 4);
  const struct dc_jobspec_task *t = &s->tasks[0];
  assert_string_equal(t->name, "prep");
  assert_int_equal(t->argc, 3);
  assert_string_equal(t->argv[2], "echo hi > out.txt");
  assert_int_equal(t->nenv, 2);
  assert_string_equal(t->env[0].key, "A");
  assert_string_equal(t->env[1].value, "last");
  assert_int_equal(t->nfiles, 2);
  assert_int_equal(t->files[0].len, 7);
  assert_memory_equal(t->files[0].content, "l1\nl2\t\x01", 7);
  assert_int_equal(t->files[0].mode, 0644);
  assert_int_equal(t->files[1].len, 4);
  assert_memory_equal(t->files[1].content, "\x00\x01\x02\xff", 4);
  assert_int_equal(t->files[1].mode, 0755);
  assert_int_equal(t->noutputs, 2);
  assert_int_equal(t->cpu_millis, 250);
  assert_true(t->memory_mb == 512 && t->disk_mb == 0 && t->gpu == 1);
  assert_true(t->timeout_s == 60 && t->retries == 2 && t->count == 3 && t->network);
  assert_int_equal(t->nafter, 0);
  assert_int_equal(s->tasks[1].nafter, 1);
  assert_string_equal(s->tasks[1].after[0], "prep");
  char *c = check_roundtrip(s);
  char *want = jt_json(full_canonical);
  assert_string_equal(c, want);
  free(want);
  dc_free(c);
  dc_jobspec_free(s);
}

static void test_parse_defaults(void **state) {
  (void)state;
  struct dc_jobspec *s = jt_expect_ok("{'name':'j','tasks':[{'name':'a','command':['x']}]}");
  assert_int_equal(s->priority, 50);
  assert_true(s->nlabels == 0 && s->labels == NULL && s->budget == 0);
  assert_null(s->constraints.service_class); /* any */
  assert_false(s->constraints.has_max_price || s->constraints.gpu ||
               s->constraints.has_near || s->constraints.nlabels);
  const struct dc_jobspec_task *t = &s->tasks[0];
  assert_true(t->nenv == 0 && t->nfiles == 0 && t->noutputs == 0 && t->nafter == 0);
  assert_true(t->cpu_millis == 1000 && t->memory_mb == 256 && t->disk_mb == 1024);
  assert_true(t->gpu == 0 && t->timeout_s == 3600 && t->retries == 0);
  assert_true(t->count == 1 && !t->network && s->total_instances == 1);
  char *c = check_roundtrip(s);
  /* Writing a default out gives the same spec as leaving it away. */
  struct dc_jobspec *s2 = jt_expect_ok(
      "{'name':'j','priority':50,'constraints':{'service_class':'any','gpu':false},"
      "'tasks':[{'name':'a','command':['x'],'resources':{'cpu':1}}]}");
  char *c2 = NULL;
  assert_int_equal(dc_jobspec_canonical(s2, &c2), DC_OK);
  assert_string_equal(c, c2);
  assert_null(s2->constraints.service_class);
  dc_free(c2);
  dc_jobspec_free(s2);
  char *want = jt_json(
      "{'budget':0,'constraints':{'gpu':false,'labels':{},'service_class':'any'},"
      "'labels':{},'name':'j','priority':50,'tasks':[{'after':[],'command':['x'],"
      "'count':1,'env':{},'files':[],'name':'a','network':false,'outputs':[],"
      "'resources':{'cpu':1,'disk_mb':1024,'gpu':0,'memory_mb':256},'retries':0,"
      "'timeout_s':3600}]}");
  assert_string_equal(c, want);
  free(want);
  dc_free(c);
  dc_jobspec_free(s);
}

static void test_canonical_escapes(void **state) {
  (void)state;
  /* Control characters, quotes, backslashes, DEL and non-ASCII survive. */
  struct dc_jobspec *s = jt_expect_ok(
      "{'name':'q\\\\\\'\\u2028\\ud83d\\ude00','labels':"
      "{'k':'\\b\\f\\n\\r\\t\\u001f/\\u007f'},'tasks':[{'name':'a',"
      "'command':['x'],'env':{'_':''}}]}");
  char *c = check_roundtrip(s);
  assert_non_null(strstr(c, "\"k\":\"\\b\\f\\n\\r\\t\\u001f/\x7f\""));
  assert_non_null(strstr(c, "\"name\":\"q\\\\\\\"\xe2\x80\xa8\xf0\x9f\x98\x80\""));
  dc_free(c);
  dc_jobspec_free(s);
}

/* Every millicore value survives text -> double -> millicores, written the
 * way users write them, and the usual binary-fraction traps round right. */
static void test_parse_cpu_millis(void **state) {
  (void)state;
  char buf[160];
  for (unsigned m = 1; m <= 256000; m += (m < 3000 ? 1 : 997)) {
    snprintf(buf, sizeof buf, "{'name':'j','tasks':[{'name':'a','command':['x'],"
             "'resources':{'cpu':%u.%03u}}]}", m / 1000, m % 1000);
    struct dc_jobspec *s = jt_expect_ok(buf);
    assert_int_equal(s->tasks[0].cpu_millis, m);
    char *c = check_roundtrip(s);
    dc_free(c);
    dc_jobspec_free(s);
  }
  static const struct { const char *txt; unsigned m; } cases[] = {
      {"0.7", 700}, {"0.1", 100}, {"0.3", 300}, {"2.675", 2675}, {"0.0011", 2},
      {"1e-9", 1}, {"0.3333", 334}, {"255.9999", 256000}, {"256", 256000},
      {"4", 4000}, {"1.0000001", 1001}, {"5e-1", 500},
  };
  for (size_t i = 0; i < DC_ARRAY_LEN(cases); i++) {
    snprintf(buf, sizeof buf, "{'name':'j','tasks':[{'name':'a','command':['x'],"
             "'resources':{'cpu':%s}}]}", cases[i].txt);
    struct dc_jobspec *s = jt_expect_ok(buf);
    if (s->tasks[0].cpu_millis != cases[i].m)
      fail_msg("cpu %s: got %u want %u", cases[i].txt, s->tasks[0].cpu_millis, cases[i].m);
    dc_jobspec_free(s);
  }
}

/* Coordinates are kept to 1e-7 degree and distances to 1 m, and what is kept
 * comes back bit for bit from the canonical text. */
static void test_parse_near_quantized(void **state) {
  (void)state;
  uint64_t x = 88172645463325252ull; /* xorshift: deterministic */
  char buf[256];
  for (int i = 0; i < 2000; i++) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    double lat = (double)(x % 1800000001ull) / 1e7 - 90 + (double)(x >> 60) * 1e-9;
    double lon = (double)((x >> 20) % 3600000001ull) / 1e7 - 180;
    double km = (double)(x % 40075000ull + 1) / 1000;
    if (lat < -90) lat = -90;
    if (lat > 90) lat = 90;
    snprintf(buf, sizeof buf, "{'name':'j','constraints':{'near':{'lat':%.17g,"
             "'lon':%.17g,'max_km':%.17g}},'tasks':[{'name':'a','command':['x']}]}",
             lat, lon, km);
    struct dc_jobspec *s = jt_expect_ok(buf);
    assert_true(s->constraints.near_lat == (double)llround(lat * 1e7) / 1e7);
    assert_true(s->constraints.near_lon == (double)llround(lon * 1e7) / 1e7);
    assert_true(s->constraints.near_max_km == (double)llround(km * 1e3) / 1e3);
    dc_free(check_roundtrip(s));
    dc_jobspec_free(s);
  }
  struct dc_jobspec *s = jt_expect_ok(
      "{'name':'j','constraints':{'near':{'lat':-0.0,'lon':-1e-9,'max_km':0.0005}},"
      "'tasks':[{'name':'a','command':['x']}]}");
  char *c = check_roundtrip(s);
  assert_non_null(strstr(c, "\"near\":{\"lat\":0,\"lon\":0,\"max_km\":0.001}"));
  dc_free(c);
  dc_jobspec_free(s);
}

static void test_topo_order(void **state) {
  (void)state;
  /* Diamond declared backwards, plus an independent task. */
  struct dc_jobspec *s = jt_expect_ok(
      "{'name':'j','tasks':[{'name':'d','command':['x'],'after':['c','b']},"
      "{'name':'c','command':['x'],'after':['a']},{'name':'z','command':['x']},"
      "{'name':'b','command':['x'],'after':['a']},{'name':'a','command':['x']}]}");
  size_t order[5];
  assert_int_equal(dc_jobspec_topo_order(s, order), DC_OK);
  size_t want[5] = {2, 4, 1, 3, 0};
  assert_memory_equal(order, want, sizeof want);
  assert_ptr_equal(dc_jobspec_find_task(s, "b"), &s->tasks[3]);
  assert_null(dc_jobspec_find_task(s, "nope"));
  dc_jobspec_free(s);
}

static void test_task_json(void **state) {
  (void)state;
  struct dc_jobspec *s = jt_expect_ok(full_spec);
  char *j = NULL;
  assert_int_equal(dc_jobspec_task_json(&s->tasks[0], &j), DC_OK);
  char *want = jt_json(
      "{'argv':['/bin/sh','-c','echo hi > out.txt'],'cpu_millis':250,'disk_mb':0,"
      "'env':{'A':'first','Z':'last'},'files':[{'content_base64':'bDEKbDIJAQ==',"
      "'mode':420,'path':'in/data.txt'},{'content_base64':'AAEC/w==','mode':493,"
      "'path':'bin.dat'}],'gpu':1,'memory_mb':512,'name':'prep','network':true,"
      "'outputs':['out.txt','logs/run.log'],'timeout_s':60}");
  assert_string_equal(j, want);
  free(want);
  dc_free(j);
  dc_jobspec_free(s);
}

static struct dc_jobspec *parse_file(const char *rel) {
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", DC_SOURCE_DIR, rel);
  char *text = NULL;
  size_t len = 0;
  assert_int_equal(dc_read_file(path, 1 << 22, &text, &len), DC_OK);
  struct dc_jobspec *s = NULL;
  struct dc_errmsg err = {{0}};
  int rc = dc_jobspec_parse(text, len, &s, &err);
  if (rc) fail_msg("%s: %s", rel, err.text);
  dc_free(text);
  dc_free(check_roundtrip(s));
  return s;
}

static void test_examples(void **state) {
  (void)state;
  struct dc_jobspec *s = parse_file("examples/hello.json");
  assert_int_equal(s->ntasks, 1);
  dc_jobspec_free(s);
  s = parse_file("examples/pipeline.json");
  assert_int_equal(s->ntasks, 3);
  size_t order[3];
  assert_int_equal(dc_jobspec_topo_order(s, order), DC_OK);
  const struct dc_jobspec_task *w = dc_jobspec_find_task(s, "work");
  assert_non_null(w);
  assert_int_equal(w->count, 4);
  assert_true(order[0] == 0 && order[1] == 1 && order[2] == 2);
  assert_int_equal(s->total_instances, 6);
  dc_jobspec_free(s);
}

/* Every ```json block of docs/jobspec.md is a complete, valid spec. */
static void test_docs_examples(void **state) {
  (void)state;
  char path[1024];
  snprintf(path, sizeof path, "%s/docs/jobspec.md", DC_SOURCE_DIR);
  char *text = NULL;
  size_t len = 0, blocks = 0;
  assert_int_equal(dc_read_file(path, 1 << 22, &text, &len), DC_OK);
  for (char *p = text; (p = strstr(p, "```json\n"));) {
    p += 8;
    char *end = strstr(p, "```");
    assert_non_null(end);
    struct dc_jobspec *s = NULL;
    struct dc_errmsg err = {{0}};
    if (dc_jobspec_parse(p, (size_t)(end - p), &s, &err))
      fail_msg("docs block %zu: %s", blocks, err.text);
    dc_jobspec_free(s);
    blocks++;
    p = end + 3;
  }
  assert_true(blocks >= 3);
  dc_free(text);
}

/* Fail allocation 1, 2, ... until the call succeeds: each failure must be
 * DC_ENOMEM with nothing returned and nothing leaked (ASan checks leaks). */
static void test_alloc_failures(void **state) {
  (void)state;
  char *j = jt_json(full_spec);
  long n;
  for (n = 1;; n++) {
    struct dc_jobspec *s = NULL;
    struct dc_errmsg err = {{0}};
    dc_alloc_fail_after(n);
    int rc = dc_jobspec_parse(j, strlen(j), &s, &err);
    dc_alloc_fail_after(0);
    if (rc == DC_OK) {
      dc_jobspec_free(s);
      break;
    }
    assert_int_equal(rc, DC_ENOMEM);
    assert_null(s);
    assert_string_equal(err.text, "out of memory");
    assert_true(n < 10000);
  }
  assert_true(n > 20); /* the loop did reach the deep allocations */
  struct dc_jobspec *s = jt_expect_ok(full_spec);
  for (n = 1;; n++) {
    char *c = NULL, *t = NULL;
    size_t order[2];
    dc_alloc_fail_after(n);
    int r1 = dc_jobspec_canonical(s, &c);
    int r2 = dc_jobspec_task_json(&s->tasks[0], &t);
    int r3 = dc_jobspec_topo_order(s, order);
    dc_alloc_fail_after(0);
    dc_free(c);
    dc_free(t);
    if (!r1 && !r2 && !r3) break;
    assert_true(r1 == DC_OK || r1 == DC_ENOMEM);
    assert_true(r2 == DC_OK || r2 == DC_ENOMEM);
    assert_true(r3 == DC_OK || r3 == DC_ENOMEM);
    assert_true((r1 == DC_OK) == (c != NULL) && (r2 == DC_OK) == (t != NULL));
  }
  dc_jobspec_free(s);
  free(j);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_parse_full),
      cmocka_unit_test(test_parse_defaults),
      cmocka_unit_test(test_canonical_escapes),
      cmocka_unit_test(test_parse_cpu_millis),
      cmocka_unit_test(test_parse_near_quantized),
      cmocka_unit_test(test_topo_order),
      cmocka_unit_test(test_task_json),
      cmocka_unit_test(test_examples),
      cmocka_unit_test(test_docs_examples),
      cmocka_unit_test(test_alloc_failures),
  };
  int failed = cmocka_run_group_tests_name("jobspec", tests, NULL, NULL);
  return failed + jobspec_limits_tests();
}
