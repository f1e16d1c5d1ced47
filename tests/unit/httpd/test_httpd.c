/* SPDX-License-Identifier: Apache-2.0
 * httpd over real sockets: libcurl clients on threads, the server's loop on
 * the main thread. Covers the MHD -> loop -> MHD handoff, deferred answers,
 * keep-alive under concurrency, body limits, overload and stop. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/lib/testlib.h"
#include "tests/unit/httpd/fixture.h"

#define BIG_RESPONSE ((size_t)4 << 20)
#define LATER_MS 50
#define CONC_THREADS 8
#define CONC_REQUESTS 200
#define CONC_FLUSH_MS 1
#define TEXT "text/plain"

static const char *nz(const char *s) {
  return s ? s : "-";
}

/* ---- round trip ---------------------------------------------------------- */

struct rt_state {
  int bad_status_rc;
};

static void rt_handler(struct dc_httpd_req *r, void *ud) {
  struct fx *f = ud;
  struct rt_state *st = f->test;
  atomic_fetch_add(&f->handler_calls, 1);
  const char *path = dc_httpd_req_path(r);
  if (strcmp(path, "/big") == 0) {
    uint8_t *p = dc_malloc(BIG_RESPONSE);
    for (size_t i = 0; i < BIG_RESPONSE; i++) p[i] = (uint8_t)('a' + i % 26);
    assert_int_equal(dc_httpd_respond_take(r, 200, TEXT, p, BIG_RESPONSE), 0);
    return;
  }
  if (strcmp(path, "/err") == 0) {
    dc_httpd_respond_error(r, 404, "NOTFOUND", "no job \"%s\"\n\t\xff", "j1");
    return;
  }
  if (strcmp(path, "/badstatus") == 0) {
    st->bad_status_rc = dc_httpd_respond(r, 42, TEXT, "x", 1);
    return;
  }
  size_t len;
  const uint8_t *body = dc_httpd_req_body(r, &len);
  char out[512];
  int n = snprintf(
      out, sizeof out, "%s|%s|a=%s|flag=%s|none=%s|hdr=%s|len=%zu|%s",
      dc_httpd_req_method(r), path, nz(dc_httpd_req_query(r, "a")),
      nz(dc_httpd_req_query(r, "flag")), nz(dc_httpd_req_query(r, "none")),
      nz(dc_httpd_req_header(r, "x-TEST")), len,
      len < 64 ? (const char *)body : "");
  assert_int_equal(dc_httpd_respond(r, 200, TEXT, out, (size_t)n), 0);
}

#define RT_N 8
static struct fx_resp rt_resp[RT_N];
static uint8_t rt_chunked_body[3000];

static void rt_client(struct fx *f) {
  CURL *c = curl_easy_init();
  memset(rt_chunked_body, 'z', sizeof rt_chunked_body);
  const struct fx_req reqs[RT_N] = {
      {.path = "/v1/a%20b?a=1&flag", .header = "X-Test: hi"},
      {.path = "/v1/post?a=2",
       .header = "X-Test: yo",
       .body = "hello world",
       .len = 11},
      {.path = "/v1/chunked",
       .body = rt_chunked_body,
       .len = sizeof rt_chunked_body,
       .chunked = true},
      {.method = "DELETE", .path = "/v1/jobs/7"},
      {.path = "/big"},
      {.path = "/err"},
      {.path = "/badstatus"},
      {.path = "/v1/last"},
  };
  for (int i = 0; i < RT_N; i++) fx_http(c, f->port, &reqs[i], &rt_resp[i]);
  curl_easy_cleanup(c);
}

static void test_roundtrip_get_post(void **state) {
  struct fx f = {0};
  struct rt_state st = {0};
  f.test = &st;
  fx_run(&f, NULL, rt_handler, rt_client);
  long connects = 0;
  for (int i = 0; i < RT_N; i++) {
    assert_int_equal(rt_resp[i].cc, CURLE_OK);
    connects += rt_resp[i].connects;
  }
  assert_int_equal(rt_resp[0].status, 200);
  assert_string_equal(rt_resp[0].ctype, TEXT);
  assert_string_equal(rt_resp[0].body,
                      "GET|/v1/a b|a=1|flag=|none=-|hdr=hi|len=0|");
  assert_string_equal(
      rt_resp[1].body,
      "POST|/v1/post|a=2|flag=-|none=-|hdr=yo|len=11|hello world");
  assert_string_equal(rt_resp[2].body,
                      "POST|/v1/chunked|a=-|flag=-|none=-|hdr=-|len=3000|");
  assert_string_equal(rt_resp[3].body,
                      "DELETE|/v1/jobs/7|a=-|flag=-|none=-|hdr=-|len=0|");
  assert_int_equal(rt_resp[4].status, 200);
  assert_int_equal(rt_resp[4].len, BIG_RESPONSE);
  for (size_t i = 0; i < BIG_RESPONSE; i += 4099)
    assert_int_equal(rt_resp[4].body[i], 'a' + i % 26);
  char code[64], msg[256];
  assert_int_equal(rt_resp[5].status, 404);
  assert_string_equal(rt_resp[5].ctype, "application/json");
  assert_true(
      fx_error_fields(rt_resp[5].body, code, sizeof code, msg, sizeof msg));
  assert_string_equal(code, "NOTFOUND");
  assert_string_equal(msg, "no job \"j1\"\n\t?"); /* bad UTF-8 replaced */
  assert_int_equal(rt_resp[6].status, 500);
  assert_int_equal(st.bad_status_rc, DC_EINVAL);
  assert_int_equal(rt_resp[7].status, 200);
  /* Every answer kept the connection: one connect for all requests. */
  assert_int_equal(connects, 1);
  assert_int_equal(f.stats_at_end.responses[2], RT_N - 2);
  assert_int_equal(f.stats_at_end.responses[4], 1);
  assert_int_equal(f.stats_at_end.responses[5], 1);
  assert_int_equal(f.stats_at_end.pending, 0);
  for (int i = 0; i < RT_N; i++) fx_resp_free(&rt_resp[i]);
}

/* ---- answering later ------------------------------------------------------
 */

struct later {
  uv_timer_t t;
  struct dc_httpd_req *r;
};

static void later_closed(uv_handle_t *hd) {
  dc_free(hd->data);
}

static void later_fire(uv_timer_t *t) {
  struct later *l = t->data;
  char out[128];
  int n = snprintf(out, sizeof out, "late %s", dc_httpd_req_path(l->r));
  assert_int_equal(dc_httpd_respond(l->r, 200, TEXT, out, (size_t)n), 0);
  uv_close((uv_handle_t *)t, later_closed);
}

static void later_handler(struct dc_httpd_req *r, void *ud) {
  struct fx *f = ud;
  atomic_fetch_add(&f->handler_calls, 1);
  struct later *l = dc_malloc(sizeof *l);
  l->r = r;
  uv_timer_init(&f->loop, &l->t);
  l->t.data = l;
  uv_timer_start(&l->t, later_fire, LATER_MS, 0);
}

#define LATER_N 3
static struct fx_resp later_resp[LATER_N];

static void later_client(struct fx *f) {
  CURL *c = curl_easy_init();
  const char *paths[LATER_N] = {"/one", "/two", "/three"};
  for (int i = 0; i < LATER_N; i++)
    fx_http(c, f->port, &(struct fx_req){.path = paths[i]}, &later_resp[i]);
  curl_easy_cleanup(c);
}

static void test_respond_later(void **state) {
  struct fx f = {0};
  fx_run(&f, NULL, later_handler, later_client);
  const char *want[LATER_N] = {"late /one", "late /two", "late /three"};
  for (int i = 0; i < LATER_N; i++) {
    assert_int_equal(later_resp[i].status, 200);
    assert_string_equal(later_resp[i].body, want[i]);
    assert_true(later_resp[i].secs >= (LATER_MS - 5) / 1000.0);
    fx_resp_free(&later_resp[i]);
  }
}

/* ---- many concurrent keep-alive clients, answers out of order ------------ */

struct conc_state {
  uv_timer_t flush;
  struct dc_httpd_req *held[CONC_THREADS * 2];
  int n_held;
  int max_held;
};

static void conc_answer(struct dc_httpd_req *r) {
  char out[64];
  int n = snprintf(out, sizeof out, "id=%s", nz(dc_httpd_req_query(r, "id")));
  assert_int_equal(dc_httpd_respond(r, 200, TEXT, out, (size_t)n), 0);
}

/* Answers held requests newest first, so answers leave in another order
 * than the requests came in. */
static void conc_flush(uv_timer_t *t) {
  struct conc_state *st = t->data;
  while (st->n_held) conc_answer(st->held[--st->n_held]);
}

static void conc_handler(struct dc_httpd_req *r, void *ud) {
  struct fx *f = ud;
  struct conc_state *st = f->test;
  int n = atomic_fetch_add(&f->handler_calls, 1);
  if (n % 2 == 0 || st->n_held == (int)DC_ARRAY_LEN(st->held)) {
    conc_answer(r);
    return;
  }
  st->held[st->n_held++] = r;
  if (st->n_held > st->max_held) st->max_held = st->n_held;
}

struct conc_worker {
  pthread_t t;
  uint16_t port;
  int idx;
  int ok;
  long connects;
  char first_bad[128];
};

static void *conc_worker_main(void *arg) {
  struct conc_worker *w = arg;
  CURL *c = curl_easy_init();
  for (int i = 0; i < CONC_REQUESTS; i++) {
    char path[64], want[64];
    int id = w->idx * 100000 + i;
    snprintf(path, sizeof path, "/echo?id=%d", id);
    snprintf(want, sizeof want, "id=%d", id);
    struct fx_resp r;
    fx_http(c, w->port, &(struct fx_req){.path = path}, &r);
    w->connects += r.connects;
    if (r.cc == CURLE_OK && r.status == 200 && strcmp(r.body, want) == 0)
      w->ok++;
    else if (!w->first_bad[0])
      snprintf(w->first_bad, sizeof w->first_bad, "cc=%d status=%ld body=%s",
               (int)r.cc, r.status, nz(r.body));
    fx_resp_free(&r);
  }
  curl_easy_cleanup(c);
  return NULL;
}

static struct conc_worker conc_w[CONC_THREADS];

static void conc_client(struct fx *f) {
  for (int i = 0; i < CONC_THREADS; i++) {
    conc_w[i] = (struct conc_worker){.port = f->port, .idx = i};
    pthread_create(&conc_w[i].t, NULL, conc_worker_main, &conc_w[i]);
  }
  for (int i = 0; i < CONC_THREADS; i++) pthread_join(conc_w[i].t, NULL);
}

static void conc_on_start(struct fx *f) {
  struct conc_state *st = f->test;
  uv_timer_init(&f->loop, &st->flush);
  st->flush.data = st;
  uv_timer_start(&st->flush, conc_flush, CONC_FLUSH_MS, CONC_FLUSH_MS);
}

static void conc_on_stop(struct fx *f) {
  struct conc_state *st = f->test;
  conc_flush(&st->flush);
  uv_close((uv_handle_t *)&st->flush, NULL);
}

static void conc_run(unsigned threads) {
  struct fx f = {.on_start = conc_on_start, .on_stop = conc_on_stop};
  struct conc_state st = {0};
  f.test = &st;
  struct dc_httpd_config cfg = {.threads = threads};
  fx_run(&f, &cfg, conc_handler, conc_client);
  long connects = 0;
  for (int i = 0; i < CONC_THREADS; i++) {
    if (conc_w[i].ok != CONC_REQUESTS)
      fail_msg("worker %d: %d/%d ok, first bad: %s", i, conc_w[i].ok,
               CONC_REQUESTS, conc_w[i].first_bad);
    connects += conc_w[i].connects;
  }
  assert_int_equal(atomic_load(&f.handler_calls), CONC_THREADS * CONC_REQUESTS);
  assert_true(st.max_held > 1); /* answers really were deferred */
  /* Keep-alive held: one connection per client thread. */
  assert_int_equal(connects, CONC_THREADS);
  assert_int_equal(f.stats_at_end.responses[2], CONC_THREADS * CONC_REQUESTS);
}

static void test_concurrent_keepalive_epoll(void **state) {
  conc_run(0);
}
static void test_concurrent_keepalive_pool(void **state) {
  conc_run(2);
}

int main(void) {
  curl_global_init(CURL_GLOBAL_ALL); /* not thread-safe: before any client */
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_roundtrip_get_post),
      cmocka_unit_test(test_respond_later),
      cmocka_unit_test(test_concurrent_keepalive_epoll),
      cmocka_unit_test(test_concurrent_keepalive_pool),
      cmocka_unit_test(test_body_limit),
      cmocka_unit_test(test_stop_answers_pending_503),
      cmocka_unit_test(test_overload_sheds_503),
      cmocka_unit_test(test_start_port_taken),
      cmocka_unit_test(test_slow_clients_time_out),
      cmocka_unit_test(test_client_gone_before_answer),
  };
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  curl_global_cleanup();
  return rc;
}
