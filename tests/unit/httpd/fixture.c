/* SPDX-License-Identifier: Apache-2.0
 * httpd test fixture: server on the main thread's loop, libcurl clients on
 * their own threads. Client code never calls cmocka (not thread-safe); it
 * records results that the test checks after the threads are joined. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "tests/lib/testlib.h"
#include "tests/unit/httpd/fixture.h"

static void on_watchdog(uv_timer_t *t) {
  fprintf(stderr, "test_httpd: watchdog fired after %d ms\n", FX_WATCHDOG_MS);
  abort();
}

static void on_closed(uv_handle_t *hd) {
  (void)hd;
}

static void on_stopped(void *data) {
  struct fx *f = data;
  f->stopped = true;
  f->h = NULL;
  uv_close((uv_handle_t *)&f->poke, on_closed);
  if (f->client_finished) uv_close((uv_handle_t *)&f->watchdog, on_closed);
}

void fx_stop(struct fx *f) {
  if (f->stop_called) return;
  f->stop_called = true;
  if (f->on_stop) f->on_stop(f);
  dc_httpd_stats(f->h, &f->stats_at_end);
  dc_httpd_stop(f->h, on_stopped, f);
}

static void on_client_done(uv_async_t *a) {
  struct fx *f = a->data;
  uv_close((uv_handle_t *)a, on_closed);
  f->client_finished = true;
  if (f->stopped)
    uv_close((uv_handle_t *)&f->watchdog, on_closed);
  else
    fx_stop(f);
}

static void on_poke(uv_async_t *a) {
  struct fx *f = a->data;
  if (f->on_poke) f->on_poke(f);
}

static void *client_main(void *arg) {
  struct fx *f = arg;
  f->client(f);
  uv_async_send(&f->client_done);
  return NULL;
}

void fx_run(struct fx *f, const struct dc_httpd_config *cfg,
            dc_httpd_handler_cb handler, fx_client_fn client) {
  struct dc_errmsg err;
  assert_int_equal(uv_loop_init(&f->loop), 0);
  int rc = dc_httpd_start(&f->loop, cfg, handler, f, &f->h, &err);
  if (rc) fail_msg("dc_httpd_start: %s: %s", dc_err_name(rc), err.text);
  f->port = dc_httpd_port(f->h);
  assert_true(f->port != 0);
  f->client = client;
  assert_int_equal(uv_async_init(&f->loop, &f->client_done, on_client_done), 0);
  f->client_done.data = f;
  assert_int_equal(uv_async_init(&f->loop, &f->poke, on_poke), 0);
  f->poke.data = f;
  uv_timer_init(&f->loop, &f->watchdog);
  uv_timer_start(&f->watchdog, on_watchdog, FX_WATCHDOG_MS, 0);
  if (f->on_start) f->on_start(f);
  assert_int_equal(pthread_create(&f->thread, NULL, client_main, f), 0);
  uv_run(&f->loop, UV_RUN_DEFAULT);
  pthread_join(f->thread, NULL);
  assert_true(f->stopped);
  assert_int_equal(uv_loop_close(&f->loop), 0);
}

/* ---- client ------------------------------------------------------------ */

struct upload {
  const uint8_t *p;
  size_t left;
};

static size_t read_cb(char *buf, size_t size, size_t n, void *ud) {
  struct upload *u = ud;
  size_t k = size * n;
  if (k > u->left) k = u->left;
  if (k > FX_CHUNK) k = FX_CHUNK; /* several chunks even for small bodies */
  memcpy(buf, u->p, k);
  u->p += k;
  u->left -= k;
  return k;
}

static size_t write_cb(char *p, size_t size, size_t n, void *ud) {
  struct dc_buf *b = ud;
  return dc_buf_append(b, p, size * n) ? 0 : size * n;
}

void fx_http(CURL *c, uint16_t port, const struct fx_req *req,
             struct fx_resp *out) {
  char url[512];
  struct dc_buf body = {0};
  struct curl_slist *hdrs = NULL;
  struct upload up = {req->body, req->len};
  memset(out, 0, sizeof *out);
  snprintf(url, sizeof url, "http://127.0.0.1:%u%s", (unsigned)port, req->path);
  curl_easy_reset(c); /* keeps the connection cache: keep-alive */
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, FX_CURL_TIMEOUT_S);
  if (req->timeout_ms) curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, req->timeout_ms);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write_cb);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
  if (req->header) hdrs = curl_slist_append(hdrs, req->header);
  if (req->body) {
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    if (req->chunked) {
      hdrs = curl_slist_append(hdrs, "Transfer-Encoding: chunked");
      curl_easy_setopt(c, CURLOPT_READFUNCTION, read_cb);
      curl_easy_setopt(c, CURLOPT_READDATA, &up);
    } else {
      curl_easy_setopt(c, CURLOPT_POSTFIELDS, req->body);
      curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->len);
    }
  }
  if (req->method) curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, req->method);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
  out->cc = curl_easy_perform(c);
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
  curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &out->connects);
  curl_easy_getinfo(c, CURLINFO_TOTAL_TIME, &out->secs);
  char *ct = NULL;
  curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct);
  if (ct) snprintf(out->ctype, sizeof out->ctype, "%s", ct);
  curl_slist_free_all(hdrs);
  dc_buf_cstr(&body);
  out->body = (char *)body.data;
  out->len = body.len;
}

void fx_resp_free(struct fx_resp *r) {
  DC_FREE(r->body);
}

bool fx_error_fields(const char *json, char *code, size_t codesz, char *msg,
                     size_t msgsz) {
  json_error_t e;
  json_t *o = json_loads(json ? json : "", 0, &e);
  const char *c = NULL, *m = NULL;
  bool ok = o && json_unpack(o, "{s:{s:s,s:s}}", "error", "code", &c, "message",
                             &m) == 0;
  if (ok) {
    snprintf(code, codesz, "%s", c);
    snprintf(msg, msgsz, "%s", m);
  }
  json_decref(o);
  return ok;
}
