/* SPDX-License-Identifier: Apache-2.0
 * The net test program: shared helpers and main, which runs every group. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "net_test.h"

/* ---- log capture ---- */
#define LOG_CAP (256u << 10)
static char log_text[LOG_CAP];
static size_t log_len;
static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;

static void log_write(void *data, enum dc_log_level lvl, const char *line) {
  (void)data;
  (void)lvl;
  pthread_mutex_lock(&log_mu);
  size_t n = strlen(line);
  if (log_len + n + 2 < LOG_CAP) {
    memcpy(log_text + log_len, line, n);
    log_len += n;
    log_text[log_len++] = '\n';
    log_text[log_len] = '\0';
  }
  pthread_mutex_unlock(&log_mu);
  if (getenv("DC_TEST_VERBOSE")) fprintf(stderr, "%s\n", line);
}

bool log_has(const char *a, const char *b) {
  pthread_mutex_lock(&log_mu);
  bool found = false;
  for (char *line = log_text; line && *line && !found;) {
    char *end = strchr(line, '\n');
    if (end) *end = '\0';
    found = strstr(line, a) && (!b || strstr(line, b));
    if (end) *end = '\n';
    line = end ? end + 1 : NULL;
  }
  pthread_mutex_unlock(&log_mu);
  return found;
}

void log_clear(void) {
  pthread_mutex_lock(&log_mu);
  log_len = 0;
  log_text[0] = '\0';
  pthread_mutex_unlock(&log_mu);
}

/* ---- loop driving ---- */
static void on_tick(uv_timer_t *t) { (void)t; }

void run_until(uv_loop_t *loop, const int *done, int timeout_ms) {
  uv_timer_t tick;
  uv_timer_init(loop, &tick);
  uv_timer_start(&tick, on_tick, 5, 5);
  int64_t deadline = dc_mono_ms() + timeout_ms;
  while (!__atomic_load_n(done, __ATOMIC_SEQ_CST) && dc_mono_ms() < deadline)
    uv_run(loop, UV_RUN_ONCE);
  uv_close((uv_handle_t *)&tick, NULL);
  uv_run(loop, UV_RUN_NOWAIT);
  assert_true(__atomic_load_n(done, __ATOMIC_SEQ_CST));
}

void loop_finish(uv_loop_t *loop) {
  for (int i = 0; i < 1000 && uv_run(loop, UV_RUN_NOWAIT); i++) usleep(1000);
  assert_int_equal(uv_loop_close(loop), 0);
}

/* ---- raw sockets (no cmocka asserts: they run on helper threads) ---- */
int raw_connect(uint16_t port, int rcv_timeout_ms) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  struct timeval tv = {rcv_timeout_ms / 1000, (rcv_timeout_ms % 1000) * 1000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

bool raw_wait_eof(int fd) {
  uint8_t b[4096];
  for (;;) {
    ssize_t n = recv(fd, b, sizeof b, 0);
    if (n == 0) return true;
    if (n < 0) return false;
  }
}

bool raw_send(int fd, const void *p, size_t n) {
  return send(fd, p, n, MSG_NOSIGNAL) == (ssize_t)n;
}

/* ---- session pumping ---- */
int pump(struct dc_session *s, const struct dc_buf *in, struct dc_buf *out,
         struct dc_frame *last, int *frames) {
  struct dc_framer f;
  dc_framer_init(&f, DC_SEALED_BODY_MAX);
  const uint8_t *p = in->data;
  size_t n = in->len;
  int rc = DC_OK;
  while (n && !rc) {
    size_t used, blen;
    const uint8_t *body;
    rc = dc_framer_next(&f, p, n, &used, &body, &blen);
    p += used;
    n -= used;
    if (rc || !body) break;
    bool have = false;
    struct dc_frame fr;
    rc = dc_session_recv(s, body, blen, out, &fr, &have);
    if (have) {
      if (last) *last = fr;
      if (frames) (*frames)++;
    }
  }
  dc_framer_close(&f);
  return rc;
}

int main(void) {
  signal(SIGPIPE, SIG_IGN); /* the process's job, as net.h says */
  if (dc_crypto_init()) return 1;
  struct dc_log_sink sink = {.write = log_write};
  dc_log_set_sink(&sink);
  dc_log_min_level = DC_LOG_DEBUG;
  int fails = 0;
  fails += net_test_frame();
  fails += net_test_secure();
  fails += net_test_conn();
  fails += net_test_conn_abuse();
  return fails ? 1 : 0;
}
