/* SPDX-License-Identifier: Apache-2.0
 * Test fixture for httpd: a real server on 127.0.0.1 (port 0) whose loop
 * runs in the test's main thread, and libcurl clients on other threads. */
#ifndef DC_TEST_HTTPD_FIXTURE_H
#define DC_TEST_HTTPD_FIXTURE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include <curl/curl.h>
#include <uv.h>

#include "httpd/httpd.h"

#define FX_WATCHDOG_MS 60000 /* a hung test aborts with a message */
#define FX_CURL_TIMEOUT_S 20L
#define FX_CHUNK 700 /* bytes per chunk of a chunked upload */

struct fx;
typedef void (*fx_client_fn)(struct fx *f);

struct fx {
  uv_loop_t loop;
  struct dc_httpd *h;
  uint16_t port;
  uv_async_t client_done; /* client thread -> loop: stop the server */
  uv_async_t poke;        /* client thread -> loop: test-specific nudge */
  uv_timer_t watchdog;
  pthread_t thread;
  fx_client_fn client;
  void (*on_poke)(struct fx *f);
  void (*on_start)(struct fx *f); /* loop thread, after the server started */
  void (*on_stop)(struct fx *f);  /* loop thread, just before stopping it */
  bool stop_called;               /* loop thread */
  bool stopped;                   /* loop thread: stop callback ran */
  bool client_finished;           /* loop thread: client_done seen */
  void *test;                     /* per-test state */
  atomic_int handler_calls;
  struct dc_httpd_stats stats_at_end; /* taken just before stop */
};

/* Starts the server with cfg and handler (ud = f), runs client(f) on a
 * thread, stops the server when it returns (unless stopped already), and
 * returns when the loop has no more work. Fails the test on any error. */
void fx_run(struct fx *f, const struct dc_httpd_config *cfg,
            dc_httpd_handler_cb handler, fx_client_fn client);
/* Requests dc_httpd_stop from the loop thread (idempotent). */
void fx_stop(struct fx *f);

/* ---- client side (any thread) ----------------------------------------- */
struct fx_resp {
  CURLcode cc;
  long status;
  char ctype[128];
  long connects; /* new connections this request opened */
  double secs;
  char *body; /* dc_malloc'd, NUL-terminated */
  size_t len;
};
struct fx_req {
  const char *method; /* NULL = GET */
  const char *path;   /* with query */
  const char *header; /* one "Name: value" line or NULL */
  const void *body;
  size_t len;
  bool chunked;    /* send the body with Transfer-Encoding: chunked */
  long timeout_ms; /* 0 = FX_CURL_TIMEOUT_S */
};
/* Performs req on the easy handle c (kept between calls for keep-alive).
 * out->body must be freed with fx_resp_free. */
void fx_http(CURL *c, uint16_t port, const struct fx_req *req,
             struct fx_resp *out);
void fx_resp_free(struct fx_resp *r);
/* The "code" and "message" of an error JSON body, or false. */
bool fx_error_fields(const char *json, char *code, size_t codesz, char *msg,
                     size_t msgsz);

/* Tests in test_edges.c, listed by test_httpd.c's main. */
void test_body_limit(void **state);
void test_stop_answers_pending_503(void **state);
void test_overload_sheds_503(void **state);
void test_start_port_taken(void **state);
void test_slow_clients_time_out(void **state);
void test_client_gone_before_answer(void **state);

#endif
