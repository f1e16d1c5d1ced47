/* SPDX-License-Identifier: Apache-2.0
 * Options: flag > environment > config file > default, and clear refusals
 * of unknown flags, unknown config keys and ill-typed values. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/options.h"
#include "tests/lib/testlib.h"

struct vals {
  const char *data;
  uint16_t port;
  uint32_t n;
  double lat;
  bool flag;
};

#define OPTS(v)                                              \
  struct opt opts[] = {                                      \
      {"data-dir", OPT_STR, &(v).data, "data"},              \
      {"port", OPT_U16, &(v).port, "port"},                  \
      {"count", OPT_U32, &(v).n, "count"},                   \
      {"lat", OPT_F64, &(v).lat, "lat"},                     \
      {"flag", OPT_BOOL, &(v).flag, "flag"},                 \
  }

static int parse(struct vals *v, int argc, char **argv, char **pos, size_t *npos,
                 struct dc_errmsg *err) {
  OPTS(*v);
  return opts_parse(opts, DC_ARRAY_LEN(opts), argc, argv, pos, npos, err);
}

static void test_precedence(void **state) {
  (void)state;
  char dir[256], cfg[300];
  dc_test_tmpdir(dir, sizeof dir);
  snprintf(cfg, sizeof cfg, "%s/c.json", dir);
  FILE *f = fopen(cfg, "w");
  fputs("{\"data-dir\": \"from-file\", \"count\": 7, \"lat\": 1.5, \"port\": 9}", f);
  fclose(f);
  setenv("DEEPCLOUD_COUNT", "8", 1);
  struct vals v = {.data = "default", .port = 1};
  char *argv[] = {"x", "--config", cfg, "--port=10", "pos1", "--flag", NULL};
  char *pos[2];
  size_t npos = 2;
  struct dc_errmsg err = {{0}};
  assert_int_equal(parse(&v, 6, argv, pos, &npos, &err), DC_OK);
  assert_string_equal(v.data, "from-file"); /* file over default */
  assert_int_equal(v.n, 8);                 /* env over file */
  assert_int_equal(v.port, 10);             /* flag over file */
  assert_true(v.lat == 1.5);
  assert_true(v.flag);
  assert_int_equal(npos, 1);
  assert_string_equal(pos[0], "pos1");
  unsetenv("DEEPCLOUD_COUNT");
  dc_test_rmrf(dir);
}

static void expect_error(char **argv, int argc, const char *needle) {
  struct vals v = {0};
  char *pos[1];
  size_t npos = 0;
  struct dc_errmsg err = {{0}};
  assert_int_equal(parse(&v, argc, argv, pos, &npos, &err), DC_EINVAL);
  if (!strstr(err.text, needle)) fail_msg("error \"%s\" lacks \"%s\"", err.text, needle);
}

static void test_refusals(void **state) {
  (void)state;
  char *a1[] = {"x", "--nope", NULL};
  expect_error(a1, 2, "unknown option");
  char *a2[] = {"x", "--port", "70000", NULL};
  expect_error(a2, 3, "port");
  char *a3[] = {"x", "--count", "-1", NULL};
  expect_error(a3, 3, "count");
  char *a4[] = {"x", "--lat", "nan", NULL};
  expect_error(a4, 3, "lat");
  char *a5[] = {"x", "--flag=maybe", NULL};
  expect_error(a5, 2, "true or false");
  char *a6[] = {"x", "--count", NULL};
  expect_error(a6, 2, "needs a value");
  char *a7[] = {"x", "stray", NULL};
  expect_error(a7, 2, "unexpected argument");

  char dir[256], cfg[300];
  dc_test_tmpdir(dir, sizeof dir);
  snprintf(cfg, sizeof cfg, "%s/c.json", dir);
  FILE *f = fopen(cfg, "w");
  fputs("{\"colour\": 1}", f);
  fclose(f);
  char *a8[] = {"x", "--config", cfg, NULL};
  expect_error(a8, 3, "unknown key \"colour\"");
  f = fopen(cfg, "w");
  fputs("{\"data-dir\": 5}", f);
  fclose(f);
  expect_error(a8, 3, "wrong type");
  f = fopen(cfg, "w");
  fputs("{\"count\": 1,", f);
  fclose(f);
  expect_error(a8, 3, "config");
  setenv("DEEPCLOUD_PORT", "http", 1);
  char *a9[] = {"x", NULL};
  expect_error(a9, 1, "port");
  unsetenv("DEEPCLOUD_PORT");
  dc_test_rmrf(dir);
}

static void test_hostport(void **state) {
  (void)state;
  char host[64];
  uint16_t port;
  assert_int_equal(opts_hostport("127.0.0.1:8420", host, sizeof host, &port), DC_OK);
  assert_string_equal(host, "127.0.0.1");
  assert_int_equal(port, 8420);
  assert_int_equal(opts_hostport("127.0.0.1", host, sizeof host, &port), DC_EINVAL);
  assert_int_equal(opts_hostport(":80", host, sizeof host, &port), DC_EINVAL);
  assert_int_equal(opts_hostport("h:99999", host, sizeof host, &port), DC_EINVAL);
  assert_int_equal(opts_hostport("h:", host, sizeof host, &port), DC_EINVAL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_precedence),
      cmocka_unit_test(test_refusals),
      cmocka_unit_test(test_hostport),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
