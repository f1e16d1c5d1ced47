/* SPDX-License-Identifier: Apache-2.0
 * Every way a job spec can be wrong, each with the exact message a user
 * sees: bad values per field, unknown fields at every level, graph errors,
 * JSON-level errors and every size limit on both sides of the boundary. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jobspec_test.h"

/* A task with only the required fields; X appends more fields. */
#define T(name, x) "{'name':'" name "','command':['true']" x "}"
/* A job with extra top-level fields `top` and one task with extras `x`. */
#define J(top, x) "{'name':'j'" top ",'tasks':[" T("a", x) "]}"
#define NEAR(x) J(",'constraints':{'near':{" x "}}", "")
#define FILE1(x) J("", ",'files':[{" x "}]")

struct bad {
  const char *json;
  const char *msg;
};

static const struct bad bad_values[] = {
    /* top level */
    {"{'tasks':[" T("a", "") "]}", "name: required"},
    {"{'name':'','tasks':[" T("a", "") "]}",
     "name: must be a string of 1 to 128 bytes without control characters"},
    {"{'name':5,'tasks':[" T("a", "") "]}",
     "name: must be a string of 1 to 128 bytes without control characters"},
    {"{'name':'a\\tb','tasks':[" T("a", "") "]}",
     "name: must be a string of 1 to 128 bytes without control characters"},
    {J(",'priority':101", ""), "priority: must be an integer between 0 and 100"},
    {J(",'priority':-1", ""), "priority: must be an integer between 0 and 100"},
    {J(",'priority':1.5", ""), "priority: must be an integer between 0 and 100"},
    {J(",'priority':50.0", ""), "priority: must be an integer between 0 and 100"},
    {J(",'priority':'5'", ""), "priority: must be an integer between 0 and 100"},
    {J(",'labels':[]", ""), "labels: must be an object of at most 64 string entries"},
    {J(",'labels':{'a b':'x'}", ""),
     "labels.a b: label keys must be 1 to 64 characters of [A-Za-z0-9_.-/]"},
    {J(",'labels':{'k':1}", ""), "labels.k: must be a string of at most 256 bytes"},
    {J(",'budget':-1", ""), "budget: must be an integer of at least 0"},
    {J(",'budget':1e3", ""), "budget: must be an integer of at least 0"},
    {J(",'constraints':1", ""), "constraints: must be an object"},
    {J(",'constraints':{'service_class':'GPU'}", ""),
     "constraints.service_class: must be a string matching [a-z0-9_-]{1,64}"},
    {J(",'constraints':{'service_class':''}", ""),
     "constraints.service_class: must be a string matching [a-z0-9_-]{1,64}"},
    {J(",'constraints':{'labels':{'k':false}}", ""),
     "constraints.labels.k: must be a string of at most 256 bytes"},
    {J(",'constraints':{'labels':{'k/\\u00e9':'v'}}", ""),
     "constraints.labels.k/??: label keys must be 1 to 64 characters of "
     "[A-Za-z0-9_.-/]"},
    {J(",'constraints':{'max_price':-5}", ""),
     "constraints.max_price: must be an integer of at least 0"},
    {J(",'constraints':{'gpu':1}", ""), "constraints.gpu: must be true or false"},
    {J(",'constraints':{'near':[]}", ""),
     "constraints.near: must be an object with lat, lon and max_km"},
    {NEAR("'lat':91,'lon':0,'max_km':1"),
     "constraints.near.lat: must be a number between -90 and 90"},
    {NEAR("'lat':'1','lon':0,'max_km':1"),
     "constraints.near.lat: must be a number between -90 and 90"},
    {NEAR("'lat':0,'lon':-180.5,'max_km':1"),
     "constraints.near.lon: must be a number between -180 and 180"},
    {NEAR("'lat':0,'lon':0"), "constraints.near.max_km: required"},
    {NEAR("'lon':0,'max_km':1"), "constraints.near.lat: required"},
    {NEAR("'lat':0,'lon':0,'max_km':0"),
     "constraints.near.max_km: must be a number between 0.001 and 40075"},
    {NEAR("'lat':0,'lon':0,'max_km':0.0004"),
     "constraints.near.max_km: must be a number between 0.001 and 40075"},
    {NEAR("'lat':0,'lon':0,'max_km':40076"),
     "constraints.near.max_km: must be a number between 0.001 and 40075"},
    {"{'name':'j'}", "tasks: required"},
    {"{'name':'j','tasks':[]}", "tasks: must be an array of 1 to 1000 tasks"},
    {"{'name':'j','tasks':{}}", "tasks: must be an array of 1 to 1000 tasks"},
    {"{'name':'j','tasks':[5]}", "tasks[0]: must be an object"},
    /* task fields */
    {"{'name':'j','tasks':[{'command':['x']}]}", "tasks[0].name: required"},
    {"{'name':'j','tasks':[" T("A", "") "]}",
     "tasks[0].name: must be a string matching [a-z0-9_-]{1,64}"},
    {"{'name':'j','tasks':[" T("a.b", "") "]}",
     "tasks[0].name: must be a string matching [a-z0-9_-]{1,64}"},
    {"{'name':'j','tasks':[{'name':'a'}]}", "tasks[0].command: required"},
    {"{'name':'j','tasks':[{'name':'a','command':[]}]}",
     "tasks[0].command: must be a non-empty array of at most 256 strings"},
    {"{'name':'j','tasks':[{'name':'a','command':'ls'}]}",
     "tasks[0].command: must be a non-empty array of at most 256 strings"},
    {"{'name':'j','tasks':[{'name':'a','command':['']}]}",
     "tasks[0].command[0]: program name must not be empty"},
    {"{'name':'j','tasks':[{'name':'a','command':['x',2]}]}",
     "tasks[0].command[1]: must be a string of at most 4096 bytes"},
    {J("", ",'env':[]"), "tasks[0].env: must be an object of at most 128 string entries"},
    {J("", ",'env':{'1A':'x'}"),
     "tasks[0].env.1A: variable names must match [A-Za-z_][A-Za-z0-9_]* (at most 128)"},
    {J("", ",'env':{'A-B':'x'}"),
     "tasks[0].env.A-B: variable names must match [A-Za-z_][A-Za-z0-9_]* (at most 128)"},
    {J("", ",'env':{'DC_TASK_INDEX':'1'}"),
     "tasks[0].env.DC_TASK_INDEX: names starting with DC_ are reserved"},
    {J("", ",'env':{'A':1}"), "tasks[0].env.A: must be a string of at most 4096 bytes"},
    {J("", ",'files':{}"), "tasks[0].files: must be an array of at most 256 file objects"},
    {J("", ",'files':[1]"), "tasks[0].files[0]: must be an object"},
    {FILE1("'content':''"), "tasks[0].files[0].path: required"},
    {FILE1("'path':5,'content':''"), "tasks[0].files[0].path: must be a string"},
    {FILE1("'path':'','content':''"), "tasks[0].files[0].path: must not be empty"},
    {FILE1("'path':'/etc/passwd','content':''"),
     "tasks[0].files[0].path: must be a relative path (no leading /)"},
    {FILE1("'path':'a/../../b','content':''"),
     "tasks[0].files[0].path: must not contain empty, \".\" or \"..\" components"},
    {FILE1("'path':'..','content':''"),
     "tasks[0].files[0].path: must not contain empty, \".\" or \"..\" components"},
    {FILE1("'path':'a//b','content':''"),
     "tasks[0].files[0].path: must not contain empty, \".\" or \"..\" components"},
    {FILE1("'path':'a/','content':''"),
     "tasks[0].files[0].path: must not contain empty, \".\" or \"..\" components"},
    {FILE1("'path':'./a','content':''"),
     "tasks[0].files[0].path: must not contain empty, \".\" or \"..\" components"},
    {FILE1("'path':'a\\nb','content':''"),
     "tasks[0].files[0].path: must not contain control characters"},
    {FILE1("'path':'a'"),
     "tasks[0].files[0]: needs exactly one of content and content_base64"},
    {FILE1("'path':'a','content':'','content_base64':''"),
     "tasks[0].files[0]: needs exactly one of content and content_base64"},
    {FILE1("'path':'a','content':5"), "tasks[0].files[0].content: must be a string"},
    {FILE1("'path':'a','content_base64':'abc'"),
     "tasks[0].files[0].content_base64: must be valid base64 (RFC 4648, padded, no whitespace)"},
    {FILE1("'path':'a','content_base64':'QR=='"),
     "tasks[0].files[0].content_base64: must be valid base64 (RFC 4648, padded, no whitespace)"},
    {FILE1("'path':'a','content_base64':'QQ=A'"),
     "tasks[0].files[0].content_base64: must be valid base64 (RFC 4648, padded, no whitespace)"},
    {FILE1("'path':'a','content_base64':'QUJD\\nREVG'"),
     "tasks[0].files[0].content_base64: must be valid base64 (RFC 4648, padded, no whitespace)"},
    {FILE1("'path':'a','content':'','mode':512"),
     "tasks[0].files[0].mode: must be an integer between 0 and 511 (octal 0777)"},
    {FILE1("'path':'a','content':'','mode':'0644'"),
     "tasks[0].files[0].mode: must be an integer between 0 and 511 (octal 0777)"},
    {J("", ",'files':[{'path':'a','content':''},{'path':'a','content':'x'}]"),
     "tasks[0].files[1].path: duplicate of files[0]"},
    {J("", ",'files':[{'path':'a/b','content':''},{'path':'a','content':'x'}]"),
     "tasks[0].files[1].path: conflicts with files[0] (a path cannot be both "
     "a file and a directory)"},
    {J("", ",'outputs':'a'"), "tasks[0].outputs: must be an array of at most 32 paths"},
    {J("", ",'outputs':['/a']"), "tasks[0].outputs[0]: must be a relative path (no leading /)"},
    {J("", ",'outputs':['x','b/../c']"),
     "tasks[0].outputs[1]: must not contain empty, \".\" or \"..\" components"},
    {J("", ",'outputs':['a','a']"), "tasks[0].outputs[1]: duplicate of outputs[0]"},
    {J("", ",'resources':1"), "tasks[0].resources: must be an object"},
    {J("", ",'resources':{'cpu':0}"),
     "tasks[0].resources.cpu: must be a number greater than 0 and at most 256"},
    {J("", ",'resources':{'cpu':-1}"),
     "tasks[0].resources.cpu: must be a number greater than 0 and at most 256"},
    {J("", ",'resources':{'cpu':256.001}"),
     "tasks[0].resources.cpu: must be a number greater than 0 and at most 256"},
    {J("", ",'resources':{'cpu':'1'}"),
     "tasks[0].resources.cpu: must be a number greater than 0 and at most 256"},
    {J("", ",'resources':{'memory_mb':0}"),
     "tasks[0].resources.memory_mb: must be an integer between 1 and 1048576"},
    {J("", ",'resources':{'memory_mb':1.5}"),
     "tasks[0].resources.memory_mb: must be an integer between 1 and 1048576"},
    {J("", ",'resources':{'memory_mb':1048577}"),
     "tasks[0].resources.memory_mb: must be an integer between 1 and 1048576"},
    {J("", ",'resources':{'disk_mb':-1}"),
     "tasks[0].resources.disk_mb: must be an integer between 0 and 10485760"},
    {J("", ",'resources':{'disk_mb':10485761}"),
     "tasks[0].resources.disk_mb: must be an integer between 0 and 10485760"},
    {J("", ",'resources':{'gpu':65}"),
     "tasks[0].resources.gpu: must be an integer between 0 and 64"},
    {J("", ",'timeout_s':0"), "tasks[0].timeout_s: must be an integer between 1 and 604800"},
    {J("", ",'timeout_s':604801"),
     "tasks[0].timeout_s: must be an integer between 1 and 604800"},
    {J("", ",'retries':101"), "tasks[0].retries: must be an integer between 0 and 100"},
    {J("", ",'count':0"), "tasks[0].count: must be an integer between 1 and 10000"},
    {J("", ",'count':10001"), "tasks[0].count: must be an integer between 1 and 10000"},
    {J("", ",'after':'b'"), "tasks[0].after: must be an array of at most 999 task names"},
    {J("", ",'after':[1]"), "tasks[0].after[0]: must be a task name (string)"},
    {J("", ",'network':'yes'"), "tasks[0].network: must be true or false"},
    /* the index in the path is the failing task's */
    {"{'name':'j','tasks':[" T("a", "") "," T("b", ",'resources':{'memory_mb':0}") "]}",
     "tasks[1].resources.memory_mb: must be an integer between 1 and 1048576"},
    /* unknown fields at every level */
    {J(",'colour':'red'", ""), "colour: unknown field"},
    {J(",'constraints':{'colour':1}", ""), "constraints.colour: unknown field"},
    {NEAR("'lat':0,'lon':0,'max_km':1,'alt':3"), "constraints.near.alt: unknown field"},
    {J("", ",'colour':'red'"), "tasks[0].colour: unknown field"},
    {J("", ",'resources':{'ram':1}"), "tasks[0].resources.ram: unknown field"},
    {FILE1("'path':'a','content':'','owner':'root'"), "tasks[0].files[0].owner: unknown field"},
    {J(",'\\u0001\\\"x':1", ""), "??x: unknown field"},
    /* the dependency graph */
    {"{'name':'j','tasks':[" T("a", "") "," T("a", "") "]}",
     "tasks[1].name: duplicate task name \"a\" (also tasks[0])"},
    {"{'name':'j','tasks':[" T("b", "") "," T("a", "") "," T("b", "") "," T("a", "") "]}",
     "tasks[2].name: duplicate task name \"b\" (also tasks[0])"},
    {J("", ",'after':['build']"), "tasks[0].after[0]: unknown task \"build\""},
    {J("", ",'after':['a']"), "tasks[0].after[0]: task \"a\" cannot depend on itself"},
    {"{'name':'j','tasks':[" T("a", "") "," T("b", ",'after':['a','a']") "]}",
     "tasks[1].after[1]: duplicate dependency \"a\""},
    {"{'name':'j','tasks':[" T("a", ",'after':['b']") "," T("b", ",'after':['a']") "]}",
     "tasks: dependency cycle through \"a\" (a after b after a)"},
    {"{'name':'j','tasks':[" T("d", ",'after':['b']") "," T("c", ",'after':['b']") ","
     T("b", ",'after':['e']") "," T("e", ",'after':['c']") "," T("z", "") "]}",
     "tasks: dependency cycle through \"c\" (c after b after e after c)"},
};

static void test_parse_bad_values(void **state) {
  (void)state;
  for (size_t i = 0; i < DC_ARRAY_LEN(bad_values); i++)
    jt_expect_fail(bad_values[i].json, DC_EINVAL, bad_values[i].msg);
}

static void test_parse_json_errors(void **state) {
  (void)state;
  jt_expect_fail("{'name':'j','name':'k','tasks':[" T("a", "") "]}", DC_EINVAL,
                 "json: line 1 column 18: duplicate object key near '\"name\"'");
  jt_expect_fail(J("", ",'env':{'A':'1','A':'2'}"), DC_EINVAL,
                 "json: line 1 column *");
  jt_expect_fail(J("", "") " x", DC_EINVAL, "json: line 1 column *");
  jt_expect_fail(J("", "") "{}", DC_EINVAL, "json: *");
  jt_expect_fail("", DC_EINVAL, "json: *");
  jt_expect_fail("5", DC_EINVAL, "json: *");
  jt_expect_fail("[1]", DC_EINVAL, "spec: must be a JSON object");
  jt_expect_fail(J(",'labels':{'a':'\\u0000'}", ""), DC_EINVAL, "json: *");
  jt_expect_fail("{'name':'j',}", DC_EINVAL, "json: *");
  /* Invalid UTF-8 is refused, and the message stays printable ASCII. */
  static const char bad_utf8[] = "{\"name\":\"\xff\xfe\",\"tasks\":[]}";
  struct dc_errmsg err;
  struct dc_jobspec *s = NULL;
  assert_int_equal(dc_jobspec_parse(bad_utf8, sizeof bad_utf8 - 1, &s, &err),
                   DC_EINVAL);
  assert_null(s);
  for (const char *p = err.text; *p; p++) assert_true(*p >= 0x20 && *p < 0x7f);
  /* Trailing whitespace is fine; NULL err is allowed. */
  char *j = jt_json(J("", "") " \n\t ");
  assert_int_equal(dc_jobspec_parse(j, strlen(j), &s, NULL), DC_OK);
  dc_jobspec_free(s);
  free(j);
}

/* A spec with top-level extra `top` and n tasks t0..t{n-1} each with
 * `task_extra` (single quotes already swapped by caller if needed). */
static char *build(const char *top, size_t ntasks, const char *task_extra) {
  struct dc_buf b = {0};
  assert_int_equal(dc_buf_printf(&b, "{\"name\":\"j\"%s,\"tasks\":[", top), 0);
  for (size_t i = 0; i < ntasks; i++)
    assert_int_equal(dc_buf_printf(&b, "%s{\"name\":\"t%zu\",\"command\":[\"x\"]%s}",
                                   i ? "," : "", i, task_extra),
                     0);
  assert_int_equal(dc_buf_printf(&b, "]}"), 0);
  assert_int_equal(dc_buf_cstr(&b), 0);
  return (char *)b.data;
}

/* open, then n entries "<pre><i><post>" separated by commas, then close. */
static char *rep(const char *pre, const char *post, size_t n, const char *open,
                 const char *close) {
  struct dc_buf b = {0};
  assert_int_equal(dc_buf_printf(&b, "%s", open), 0);
  for (size_t i = 0; i < n; i++)
    assert_int_equal(dc_buf_printf(&b, "%s%s%zu%s", i ? "," : "", pre, i, post), 0);
  assert_int_equal(dc_buf_printf(&b, "%s", close), 0);
  assert_int_equal(dc_buf_cstr(&b), 0);
  return (char *)b.data;
}

static char *str_of(char ch, size_t n) {
  char *s = malloc(n + 1);
  memset(s, ch, n);
  s[n] = '\0';
  return s;
}

/* Parses a built spec; expects DC_OK when ok, else `msg`. Frees json. */
static void check(char *json, bool ok, const char *msg) {
  struct dc_jobspec *s = NULL;
  struct dc_errmsg err = {{0}};
  int rc = dc_jobspec_parse(json, strlen(json), &s, &err);
  if (ok) {
    if (rc) fail_msg("expected OK, got %s: %s", dc_err_name(rc), err.text);
    dc_jobspec_free(s);
  } else {
    jt_expect_fail_raw(json, strlen(json), DC_EINVAL, msg);
  }
  dc_free(json);
}

/* Each limit both exactly at the boundary (accepted) and one past it. */
static void test_parse_limits(void **state) {
  (void)state;
  char top[2048], ext[8192];
  for (int over = 0; over <= 1; over++) {
    char *s = str_of('n', 128 + (size_t)over);
    snprintf(top, sizeof top, ",\"priority\":1,\"labels\":{},\"budget\":0");
    struct dc_buf b = {0};
    dc_buf_printf(&b, "{\"name\":\"%s\",\"tasks\":[{\"name\":\"a\",\"command\":[\"x\"]}]}", s);
    dc_buf_cstr(&b);
    check((char *)b.data, !over,
          "name: must be a string of 1 to 128 bytes without control characters");
    free(s);

    char *m = rep("\"k", "\":\"v\"", 64 + (size_t)over, "{", "}");
    snprintf(top, sizeof top, ",\"labels\":%s", m);
    check(build(top, 1, ""), !over, "labels: must be an object of at most 64 string entries");
    dc_free(m);

    s = str_of('k', 64 + (size_t)over);
    snprintf(top, sizeof top, ",\"constraints\":{\"labels\":{\"%s\":\"v\"}}", s);
    char msg[512];
    snprintf(msg, sizeof msg, "constraints.labels.%.64s...: label keys must be 1 to 64 "
             "characters of [A-Za-z0-9_.-/]", s);
    check(build(top, 1, ""), !over, msg);
    free(s);

    s = str_of('v', 256 + (size_t)over);
    snprintf(top, sizeof top, ",\"labels\":{\"k\":\"%s\"}", s);
    check(build(top, 1, ""), !over, "labels.k: must be a string of at most 256 bytes");
    free(s);

    check(build("", 1000 + (size_t)over, ""), !over, "tasks: must be an array of 1 to 1000 tasks");
    check(build("", 2, over ? ",\"count\":5001" : ",\"count\":5000"), !over,
          "tasks: 10002 task instances in total (sum of count), over the limit of 10000");

    m = rep("\"a", "\"", 256 + (size_t)over, "[", "]");
    struct dc_buf t = {0};
    dc_buf_printf(&t, "{\"name\":\"j\",\"tasks\":[{\"name\":\"a\",\"command\":%s}]}", m);
    dc_buf_cstr(&t);
    check((char *)t.data, !over,
          "tasks[0].command: must be a non-empty array of at most 256 strings");
    dc_free(m);

    s = str_of('a', 4096 + (size_t)over);
    struct dc_buf u = {0};
    dc_buf_printf(&u, "{\"name\":\"j\",\"tasks\":[{\"name\":\"a\","
                  "\"command\":[\"x\",\"%s\"]}]}", s);
    dc_buf_cstr(&u);
    check((char *)u.data, !over, "tasks[0].command[1]: must be a string of at most 4096 bytes");
    free(s);

    m = rep("\"V", "\":\"1\"", 128 + (size_t)over, "{", "}");
    snprintf(ext, sizeof ext, ",\"env\":%s", m);
    check(build("", 1, ext), !over,
          "tasks[0].env: must be an object of at most 128 string entries");
    dc_free(m);

    s = str_of('A', 128 + (size_t)over);
    snprintf(ext, sizeof ext, ",\"env\":{\"%s\":\"1\"}", s);
    snprintf(msg, sizeof msg, "tasks[0].env.%.64s...: variable names must match "
             "[A-Za-z_][A-Za-z0-9_]* (at most 128)", s);
    check(build("", 1, ext), !over, msg);
    free(s);

    s = str_of('v', 4096 + (size_t)over);
    snprintf(ext, sizeof ext, ",\"env\":{\"A\":\"%s\"}", s);
    check(build("", 1, ext), !over, "tasks[0].env.A: must be a string of at most 4096 bytes");
    free(s);

    m = rep("{\"path\":\"f", "\",\"content\":\"\"}",
            256 + (size_t)over, "[", "]");
    struct dc_buf f = {0};
    dc_buf_printf(&f, "{\"name\":\"j\",\"tasks\":[{\"name\":\"a\","
                  "\"command\":[\"x\"],\"files\":%s}]}", m);
    dc_buf_cstr(&f);
    check((char *)f.data, !over, "tasks[0].files: must be an array of at most 256 file objects");
    dc_free(m);

    /* 256 KiB of decoded content per task, split over two files. */
    s = str_of('c', 131072 + (size_t)over);
    char *s2 = str_of('d', 131072);
    struct dc_buf g = {0};
    dc_buf_printf(&g, "{\"name\":\"j\",\"tasks\":[{\"name\":\"a\",\"command\":[\"x\"],\"files\":"
                  "[{\"path\":\"p\",\"content\":\"%s\"},{\"path\":\"q\",\"content\":\"%s\"}]}]}",
                  s, s2);
    dc_buf_cstr(&g);
    check((char *)g.data, !over,
          "tasks[0].files[1]: file contents of this task exceed 262144 bytes in total");
    free(s);
    free(s2);

    m = rep("\"o", "\"", 32 + (size_t)over, "[", "]");
    snprintf(ext, sizeof ext, ",\"outputs\":%s", m);
    check(build("", 1, ext), !over, "tasks[0].outputs: must be an array of at most 32 paths");
    dc_free(m);

    s = str_of('p', 256 + (size_t)over);
    s[100] = '/';
    snprintf(ext, sizeof ext, ",\"outputs\":[\"%s\"]", s);
    check(build("", 1, ext), !over, "tasks[0].outputs[0]: must be at most 256 bytes");
    snprintf(ext, sizeof ext, ",\"files\":[{\"path\":\"%s\",\"content\":\"\"}]", s);
    check(build("", 1, ext), !over, "tasks[0].files[0].path: must be at most 256 bytes");
    free(s);
  }
  /* "after" can name each other task once: 999 is the most that can work. */
  char *m = rep("\"t", "\"", 1000, "[", "]");
  char *big = malloc(strlen(m) + 32);
  sprintf(big, ",\"after\":%s", m);
  check(build("", 1, big), false, "tasks[0].after: must be an array of at most 999 task names");
  free(big);
  dc_free(m);
  /* A cycle through all 1000 tasks: found, and its listing is cut short. */
  struct dc_buf b = {0};
  dc_buf_printf(&b, "{\"name\":\"j\",\"tasks\":[");
  for (int i = 0; i < 1000; i++)
    dc_buf_printf(&b, "%s{\"name\":\"t%d\",\"command\":[\"x\"],\"after\":[\"t%d\"]}",
                  i ? "," : "", i, (i + 1) % 1000);
  dc_buf_printf(&b, "]}");
  dc_buf_cstr(&b);
  check((char *)b.data, false,
        "tasks: dependency cycle through \"t0\" (t0 after t1 after t2 after *");
}

static void test_parse_size_caps(void **state) {
  (void)state;
  /* Exactly 1 MiB (padded with spaces) is accepted, one byte more is not. */
  char *base = jt_json(J("", ""));
  size_t n = DC_JOBSPEC_MAX_JSON;
  char *buf = malloc(n + 1);
  memset(buf, ' ', n + 1);
  memcpy(buf, base, strlen(base));
  struct dc_jobspec *s = NULL;
  struct dc_errmsg err;
  assert_int_equal(dc_jobspec_parse(buf, n, &s, &err), DC_OK);
  dc_jobspec_free(s);
  s = NULL;
  jt_expect_fail_raw(buf, n + 1, DC_ETOOBIG,
                     "spec: 1048577 bytes of JSON, over the limit of 1048576");
  free(buf);
  free(base);
  /* 800 KiB of text becomes ~1.07 MiB of base64: refused so that the
   * stored canonical form can always be parsed again. */
  struct dc_buf b = {0};
  char *c = str_of('x', 200 * 1024);
  dc_buf_printf(&b, "{\"name\":\"j\",\"tasks\":[");
  for (int i = 0; i < 4; i++)
    dc_buf_printf(&b, "%s{\"name\":\"t%d\",\"command\":[\"x\"],\"files\":[{\"path\":\"f\","
                  "\"content\":\"%s\"}]}", i ? "," : "", i, c);
  dc_buf_printf(&b, "]}");
  dc_buf_cstr(&b);
  assert_true(b.len <= DC_JOBSPEC_MAX_JSON);
  jt_expect_fail_raw((char *)b.data, b.len, DC_ETOOBIG, "spec: canonical form would be *");
  dc_buf_free(&b);
  free(c);
}

int jobspec_limits_tests(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_parse_bad_values),
      cmocka_unit_test(test_parse_json_errors),
      cmocka_unit_test(test_parse_limits),
      cmocka_unit_test(test_parse_size_caps),
  };
  return cmocka_run_group_tests_name("jobspec_limits", tests, NULL, NULL);
}
