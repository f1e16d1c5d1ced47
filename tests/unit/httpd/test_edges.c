/* SPDX-License-Identifier: Apache-2.0
 * httpd edge cases over real sockets: body limits (413 without reading the
 * body), stop with requests pending (503), overload shedding (503 without
 * the loop), a taken port, slow clients and the connection limit, and a
 * client that leaves before its answer. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "tests/lib/testlib.h"
#include "tests/unit/httpd/fixture.h"

#define LIMIT_BODY 1000
#define STOP_CLIENTS 4
#define TEXT "text/plain"

/* ---- body limits ------------------------------------------------------ */

static void echo_len_handler(struct dc_httpd_req *r, void *ud) {
  struct fx *f = ud;
  atomic_fetch_add(&f->handler_calls, 1);
  size_t len;
  dc_httpd_req_body(r, &len);
  char out[64];
  int n = snprintf(out, sizeof out, "len=%zu", len);
  dc_httpd_respond(r, 200, TEXT, out, (size_t)n);
}

#define LIM_N 6
#define LIM_HUGE ((size_t)16 << 20)
static struct fx_resp lim_resp[LIM_N];

static void lim_client(struct fx *f) {
  static uint8_t small[LIMIT_BODY + 1];
  uint8_t *huge = dc_calloc(1, LIM_HUGE);
  memset(small, 'b', sizeof small);
  const struct fx_req reqs[LIM_N] = {
      {.path = "/over", .body = small, .len = LIMIT_BODY + 1},
      {.path = "/exact", .body = small, .len = LIMIT_BODY},
      {.path = "/exact-chunked",
       .body = small,
       .len = LIMIT_BODY,
       .chunked = true},
      {.path = "/over-chunked",
       .body = small,
       .len = LIMIT_BODY + 1,
       .chunked = true},
      {.path = "/huge", .body = huge, .len = LIM_HUGE},
      {.path = "/after"},
  };
  CURL *c = curl_easy_init();
  for (int i = 0; i < LIM_N; i++) fx_http(c, f->port, &reqs[i], &lim_resp[i]);
  curl_easy_cleanup(c);
  dc_free(huge);
}

void test_body_limit(void **state) {
  struct fx f = {0};
  struct dc_httpd_config cfg = {.max_body = LIMIT_BODY};
  fx_run(&f, &cfg, echo_len_handler, lim_client);
  char code[64], msg[256];
  assert_int_equal(lim_resp[0].status, 413);
  assert_string_equal(lim_resp[0].ctype, "application/json");
  assert_true(
      fx_error_fields(lim_resp[0].body, code, sizeof code, msg, sizeof msg));
  assert_string_equal(code, "TOOBIG");
  assert_string_equal(lim_resp[1].body, "len=1000");
  assert_string_equal(lim_resp[2].body, "len=1000");
  /* MHD 0.9.75 cannot answer once a body has started: the connection of an
   * oversized chunked body is dropped without reaching the handler. */
  assert_true(lim_resp[3].cc != CURLE_OK || lim_resp[3].status == 413);
  assert_int_equal(lim_resp[4].status, 413);
  assert_true(lim_resp[4].secs < 5.0); /* refused without reading 16 MiB */
  assert_string_equal(lim_resp[5].body, "len=0");
  /* Only /exact, /exact-chunked and /after reached the loop. */
  assert_int_equal(atomic_load(&f.handler_calls), 3);
  assert_int_equal(f.stats_at_end.too_large, 3);
  assert_int_equal(f.stats_at_end.responses[4], 2);
  for (int i = 0; i < LIM_N; i++) fx_resp_free(&lim_resp[i]);
}

/* ---- stop with requests pending ----------------------------------------- */

static int stop_cancels;

static void stop_cancel(struct dc_httpd_req *r, void *data) {
  (void)r;
  *(int *)data += 1;
}

/* Never answers; the last expected request stops the server from inside
 * the handler. */
static void stop_handler(struct dc_httpd_req *r, void *ud) {
  struct fx *f = ud;
  dc_httpd_req_set_cancel(r, stop_cancel, &stop_cancels);
  if (atomic_fetch_add(&f->handler_calls, 1) + 1 == STOP_CLIENTS) fx_stop(f);
}

struct stop_worker {
  pthread_t t;
  uint16_t port;
  struct fx_resp r;
};

static void *stop_worker_main(void *arg) {
  struct stop_worker *w = arg;
  CURL *c = curl_easy_init();
  fx_http(c, w->port, &(struct fx_req){.path = "/never"}, &w->r);
  curl_easy_cleanup(c);
  return NULL;
}

static struct stop_worker stop_w[STOP_CLIENTS];

static void stop_client(struct fx *f) {
  for (int i = 0; i < STOP_CLIENTS; i++) {
    stop_w[i].port = f->port;
    pthread_create(&stop_w[i].t, NULL, stop_worker_main, &stop_w[i]);
  }
  for (int i = 0; i < STOP_CLIENTS; i++) pthread_join(stop_w[i].t, NULL);
}

void test_stop_answers_pending_503(void **state) {
  struct fx f = {0};
  stop_cancels = 0;
  fx_run(&f, NULL, stop_handler, stop_client);
  char code[64], msg[256];
  for (int i = 0; i < STOP_CLIENTS; i++) {
    assert_int_equal(stop_w[i].r.cc, CURLE_OK);
    assert_int_equal(stop_w[i].r.status, 503);
    assert_true(
        fx_error_fields(stop_w[i].r.body, code, sizeof code, msg, sizeof msg));
    assert_string_equal(code, "CLOSED");
    fx_resp_free(&stop_w[i].r);
  }
  assert_int_equal(stop_cancels, STOP_CLIENTS);
  assert_int_equal(f.stats_at_end.pending, STOP_CLIENTS);
  /* The port is closed now. */
  CURL *c = curl_easy_init();
  struct fx_resp r;
  fx_http(c, f.port, &(struct fx_req){.path = "/gone"}, &r);
  assert_int_equal(r.cc, CURLE_COULDNT_CONNECT);
  fx_resp_free(&r);
  curl_easy_cleanup(c);
}

/* ---- overload: 503 from the MHD side ------------------------------------ */

#define OVL_PENDING_MAX 2
#define OVL_WAIT_MS 10000

struct ovl_state {
  struct dc_httpd_req *held[OVL_PENDING_MAX];
  atomic_int n_held;
};

static void ovl_handler(struct dc_httpd_req *r, void *ud) {
  struct fx *f = ud;
  struct ovl_state *st = f->test;
  atomic_fetch_add(&f->handler_calls, 1);
  if (strcmp(dc_httpd_req_path(r), "/hold") == 0) {
    st->held[atomic_load(&st->n_held)] = r;
    atomic_fetch_add(&st->n_held, 1);
    return;
  }
  dc_httpd_respond(r, 200, TEXT, "ok", 2);
}

static void ovl_release(struct fx *f) {
  struct ovl_state *st = f->test;
  int n = atomic_load(&st->n_held);
  for (int i = 0; i < n; i++)
    dc_httpd_respond(st->held[i], 200, TEXT, "held", 4);
  atomic_store(&st->n_held, 0);
}

struct ovl_worker {
  pthread_t t;
  uint16_t port;
  struct fx_resp r;
};

static void *ovl_worker_main(void *arg) {
  struct ovl_worker *w = arg;
  CURL *c = curl_easy_init();
  fx_http(c, w->port, &(struct fx_req){.path = "/hold"}, &w->r);
  curl_easy_cleanup(c);
  return NULL;
}

static struct ovl_worker ovl_w[OVL_PENDING_MAX];
static struct fx_resp ovl_shed, ovl_after;
static bool ovl_saw_full;

static void ovl_client(struct fx *f) {
  struct ovl_state *st = f->test;
  for (int i = 0; i < OVL_PENDING_MAX; i++) {
    ovl_w[i].port = f->port;
    pthread_create(&ovl_w[i].t, NULL, ovl_worker_main, &ovl_w[i]);
  }
  for (int ms = 0; ms < OVL_WAIT_MS && !ovl_saw_full; ms++) {
    ovl_saw_full = atomic_load(&st->n_held) == OVL_PENDING_MAX;
    if (!ovl_saw_full) uv_sleep(1);
  }
  CURL *c = curl_easy_init();
  fx_http(c, f->port, &(struct fx_req){.path = "/x"}, &ovl_shed);
  uv_async_send(&f->poke); /* loop: answer the held ones */
  for (int i = 0; i < OVL_PENDING_MAX; i++) pthread_join(ovl_w[i].t, NULL);
  fx_http(c, f->port, &(struct fx_req){.path = "/y"}, &ovl_after);
  curl_easy_cleanup(c);
}

void test_overload_sheds_503(void **state) {
  struct fx f = {.on_poke = ovl_release};
  struct ovl_state st = {0};
  f.test = &st;
  struct dc_httpd_config cfg = {.pending_max = OVL_PENDING_MAX};
  fx_run(&f, &cfg, ovl_handler, ovl_client);
  assert_true(ovl_saw_full);
  char code[64], msg[256];
  assert_int_equal(ovl_shed.status, 503);
  assert_true(
      fx_error_fields(ovl_shed.body, code, sizeof code, msg, sizeof msg));
  assert_string_equal(code, "AGAIN");
  for (int i = 0; i < OVL_PENDING_MAX; i++) {
    assert_int_equal(ovl_w[i].r.status, 200);
    assert_string_equal(ovl_w[i].r.body, "held");
    fx_resp_free(&ovl_w[i].r);
  }
  assert_int_equal(ovl_after.status, 200);
  /* /x never reached the loop. */
  assert_int_equal(atomic_load(&f.handler_calls), OVL_PENDING_MAX + 1);
  assert_int_equal(f.stats_at_end.shed, 1);
  assert_int_equal(f.stats_at_end.responses[5], 1);
  fx_resp_free(&ovl_shed);
  fx_resp_free(&ovl_after);
}

/* ---- start errors ------------------------------------------------------- */

static void never_handler(struct dc_httpd_req *r, void *ud) {
  dc_httpd_respond(r, 500, NULL, NULL, 0);
}

static void count_stop(void *data) {
  *(int *)data += 1;
}

void test_start_port_taken(void **state) {
  uv_loop_t loop;
  struct dc_httpd *h1 = NULL, *h2 = NULL;
  struct dc_errmsg err;
  int stops = 0;
  assert_int_equal(uv_loop_init(&loop), 0);
  assert_int_equal(dc_httpd_start(&loop, NULL, never_handler, NULL, &h1, &err),
                   0);
  struct dc_httpd_config cfg = {.port = dc_httpd_port(h1)};
  assert_int_equal(dc_httpd_start(&loop, &cfg, never_handler, NULL, &h2, &err),
                   DC_EIO);
  assert_null(h2);
  assert_non_null(strstr(err.text, "Address already in use"));
  cfg = (struct dc_httpd_config){.bind_addr = "localhost"};
  assert_int_equal(dc_httpd_start(&loop, &cfg, never_handler, NULL, &h2, &err),
                   DC_EINVAL);
  cfg = (struct dc_httpd_config){.threads = DC_HTTPD_THREADS_MAX + 1};
  assert_int_equal(dc_httpd_start(&loop, &cfg, never_handler, NULL, &h2, &err),
                   DC_EINVAL);
  cfg = (struct dc_httpd_config){.bind_addr = "::1"};
  assert_int_equal(dc_httpd_start(&loop, &cfg, never_handler, NULL, &h2, &err),
                   0);
  assert_true(dc_httpd_port(h2) != 0);
  dc_httpd_stop(h1, count_stop, &stops);
  dc_httpd_stop(h2, count_stop, &stops);
  uv_run(&loop, UV_RUN_DEFAULT);
  assert_int_equal(stops, 2);
  assert_int_equal(uv_loop_close(&loop), 0);
}

/* ---- slow clients and the connection limit --------------------------------
 */

#define SLOW_TIMEOUT_S 1u
#define SLOW_CONN_MAX 2u
#define SLOW_WAIT_S 6

static void ok_handler(struct dc_httpd_req *r, void *ud) {
  struct fx *f = ud;
  atomic_fetch_add(&f->handler_calls, 1);
  dc_httpd_respond(r, 200, TEXT, "ok", 2);
}

static int raw_connect(uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  struct timeval tv = {.tv_sec = SLOW_WAIT_S};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

static double since(uint64_t t0) {
  return (double)(uv_hrtime() - t0) / 1e9;
}

/* True once the server has closed fd (recv gives 0 or a reset). */
static bool closed_by_server(int fd) {
  char buf[256];
  for (;;) {
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n == 0 || (n < 0 && errno == ECONNRESET)) return true;
    if (n < 0) return false; /* SO_RCVTIMEO: still open */
  }
}

static double slow_c_answer_s, slow_ab_closed_s;
static bool slow_c_ok, slow_a_closed, slow_b_closed;
static struct fx_resp slow_after;

/* a sends half a request, b nothing: together they fill the limit, so c's
 * complete request waits until the idle timeout frees a slot. */
static void slow_client(struct fx *f) {
  static const char partial[] = "GET /slow HTTP/1.1\r\nHost: t\r\n";
  static const char full[] = "GET /c HTTP/1.1\r\nHost: t\r\n\r\n";
  uint64_t t0 = uv_hrtime();
  int a = raw_connect(f->port), b = raw_connect(f->port);
  if (a >= 0) (void)!write(a, partial, sizeof partial - 1);
  uv_sleep(100); /* let MHD accept a and b before c arrives */
  int c = raw_connect(f->port);
  char buf[512] = {0};
  if (c >= 0 && write(c, full, sizeof full - 1) == (ssize_t)(sizeof full - 1) &&
      recv(c, buf, sizeof buf - 1, 0) > 0) {
    slow_c_answer_s = since(t0);
    slow_c_ok = strncmp(buf, "HTTP/1.1 200", 12) == 0;
  }
  slow_a_closed = a >= 0 && closed_by_server(a);
  slow_b_closed = b >= 0 && closed_by_server(b);
  slow_ab_closed_s = since(t0);
  close(a);
  close(b);
  close(c);
  CURL *h = curl_easy_init();
  fx_http(h, f->port, &(struct fx_req){.path = "/after"}, &slow_after);
  curl_easy_cleanup(h);
}

void test_slow_clients_time_out(void **state) {
  struct fx f = {0};
  struct dc_httpd_config cfg = {.timeout_s = SLOW_TIMEOUT_S,
                                .conn_max = SLOW_CONN_MAX};
  fx_run(&f, &cfg, ok_handler, slow_client);
  /* c was held back by the limit, then served once a slot was freed. */
  assert_true(slow_c_ok);
  assert_true(slow_c_answer_s > SLOW_TIMEOUT_S * 0.5 &&
              slow_c_answer_s < SLOW_TIMEOUT_S * 4.0);
  /* The slow and the idle connection were cut by the server. */
  assert_true(slow_a_closed && slow_b_closed);
  assert_true(slow_ab_closed_s < SLOW_TIMEOUT_S * 4.0);
  assert_int_equal(slow_after.status, 200);
  assert_int_equal(atomic_load(&f.handler_calls), 2); /* /c and /after */
  fx_resp_free(&slow_after);
}

/* ---- the client leaves before the loop answers -----------------------------
 */

#define GONE_ANSWER_MS 300
#define GONE_CLIENT_TIMEOUT_MS 50

struct gone_state {
  uv_timer_t t;
  struct dc_httpd_req *r;
  int answered_rc;
};

static void gone_fire(uv_timer_t *t) {
  struct gone_state *st = t->data;
  st->answered_rc = dc_httpd_respond(st->r, 200, TEXT, "late", 4);
  st->r = NULL;
  uv_close((uv_handle_t *)t, NULL);
}

static void gone_handler(struct dc_httpd_req *r, void *ud) {
  struct fx *f = ud;
  struct gone_state *st = f->test;
  if (atomic_fetch_add(&f->handler_calls, 1) == 0) {
    st->r = r;
    uv_timer_init(&f->loop, &st->t);
    st->t.data = st;
    uv_timer_start(&st->t, gone_fire, GONE_ANSWER_MS, 0);
    return;
  }
  dc_httpd_respond(r, 200, TEXT, "fresh", 5);
}

static struct fx_resp gone_first, gone_second;

static void gone_client(struct fx *f) {
  CURL *c = curl_easy_init();
  fx_http(
      c, f->port,
      &(struct fx_req){.path = "/slow", .timeout_ms = GONE_CLIENT_TIMEOUT_MS},
      &gone_first);
  uv_sleep(GONE_ANSWER_MS * 2); /* the answer goes to a closed socket */
  fx_http(c, f->port, &(struct fx_req){.path = "/fresh"}, &gone_second);
  curl_easy_cleanup(c);
}

void test_client_gone_before_answer(void **state) {
  struct fx f = {0};
  struct gone_state st = {.answered_rc = -1};
  f.test = &st;
  fx_run(&f, NULL, gone_handler, gone_client);
  assert_int_equal(gone_first.cc, CURLE_OPERATION_TIMEDOUT);
  assert_int_equal(st.answered_rc, 0);
  assert_int_equal(gone_second.status, 200);
  assert_string_equal(gone_second.body, "fresh");
  fx_resp_free(&gone_first);
  fx_resp_free(&gone_second);
}
