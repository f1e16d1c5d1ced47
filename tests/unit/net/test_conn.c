/* SPDX-License-Identifier: Apache-2.0
 * Real libuv connections on 127.0.0.1 between well-behaved peers: bulk
 * exchange in order, back-pressure, closes from either side, pinning and
 * admission, refused and stalled connects. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net_test.h"

#define N_FRAMES 10000

struct side {
  struct env *env;
  struct dc_conn *conn;
  int received, closed, close_err, ready;
  char reason[DC_ERRMSG_SIZE];
  bool bad;
};

struct env {
  uv_loop_t loop;
  struct dc_identity sid, cid;
  struct dc_listener *l;
  struct side srv, cli;
  int done;   /* both sides closed, or the client closed when alone */
  int mode;   /* which test */
  bool accept;
  int sent;   /* back-pressure test */
  int eagain, drains;
};

enum { MODE_EXCHANGE, MODE_BULK, MODE_SERVER_CLOSES, MODE_CLIENT_ONLY };

static size_t make_payload(int seq, uint8_t *buf) {
  size_t n = 4 + (size_t)(seq % 300);
  buf[0] = (uint8_t)(seq >> 24);
  buf[1] = (uint8_t)(seq >> 16);
  buf[2] = (uint8_t)(seq >> 8);
  buf[3] = (uint8_t)seq;
  for (size_t i = 4; i < n; i++) buf[i] = (uint8_t)(seq + i);
  return n;
}

static void send_all(struct side *sd) {
  uint8_t buf[512];
  for (int i = 0; i < N_FRAMES; i++) {
    size_t n = make_payload(i, buf);
    if (dc_conn_send(sd->conn, (uint8_t)(16 + i % 200), (uint8_t)i, buf, n))
      sd->bad = true;
  }
}

static void check_done(struct env *e) {
  bool both = e->srv.closed && e->cli.closed;
  if (both || (e->mode == MODE_CLIENT_ONLY && e->cli.closed)) e->done = 1;
}

static void on_close(struct dc_conn *c, int err, const char *reason,
                     void *ud) {
  struct side *sd = ud;
  sd->closed++;
  sd->close_err = err;
  snprintf(sd->reason, sizeof sd->reason, "%s", reason);
  check_done(sd->env);
}

static void on_frame(struct dc_conn *c, uint8_t type, uint8_t version,
                     const uint8_t *p, size_t len, void *ud) {
  struct side *sd = ud;
  struct env *e = sd->env;
  if (e->mode == MODE_SERVER_CLOSES) {
    dc_conn_close(c, "go away");
    dc_conn_close(c, "twice"); /* no effect */
    if (dc_conn_send(c, 16, 1, "x", 1) != DC_ECLOSED) sd->bad = true;
    return;
  }
  if (e->mode == MODE_BULK) {
    if (len != DC_FRAME_MAX) sd->bad = true;
    if (++sd->received == 40) dc_conn_close(c, "enough");
    return;
  }
  uint8_t want[512];
  int seq = sd->received++;
  size_t n = make_payload(seq, want);
  if (type != 16 + seq % 200 || version != (uint8_t)seq || len != n ||
      memcmp(p, want, n) != 0)
    sd->bad = true;
  if (e->srv.received == N_FRAMES && e->cli.received == N_FRAMES)
    dc_conn_close(e->cli.conn, "done");
}

static void bulk_pump(struct env *e) {
  static uint8_t big[DC_FRAME_MAX];
  while (e->sent < 40) {
    int rc = dc_conn_send(e->cli.conn, 16, 1, big, sizeof big);
    if (rc == DC_EAGAIN) {
      e->eagain++;
      if (dc_conn_queued_bytes(e->cli.conn) > DC_CONN_SENDQ_MAX)
        e->cli.bad = true;
      return;
    }
    if (rc) e->cli.bad = true;
    e->sent++;
  }
}

static void on_drain(struct dc_conn *c, void *ud) {
  struct side *sd = ud;
  sd->env->drains++;
  bulk_pump(sd->env);
}

static void on_ready(struct dc_conn *c, void *ud) {
  struct side *sd = ud;
  struct env *e = sd->env;
  sd->ready++;
  const uint8_t *pk = dc_conn_peer_pk(c);
  if (!pk || memcmp(pk, e->sid.pk, DC_PK_BYTES)) sd->bad = true;
  if (e->mode == MODE_EXCHANGE) send_all(sd);
  if (e->mode == MODE_SERVER_CLOSES) dc_conn_send(c, 16, 1, "hi", 2);
  if (e->mode == MODE_BULK) {
    dc_conn_set_drain_cb(c, on_drain);
    bulk_pump(e);
  }
}

static void on_conn(struct dc_listener *l, struct dc_conn *c, void *ud) {
  struct env *e = ud;
  e->srv.conn = c;
  dc_conn_set_handlers(c, on_frame, on_close, &e->srv);
  const uint8_t *pk = dc_conn_peer_pk(c);
  if (!pk || memcmp(pk, e->cid.pk, DC_PK_BYTES)) e->srv.bad = true;
  if (e->mode == MODE_EXCHANGE) send_all(&e->srv);
}

static bool accept_cb(const uint8_t pk[DC_PK_BYTES], void *ud) {
  return ((struct env *)ud)->accept;
}

static int setup(void **state) {
  struct env *e = calloc(1, sizeof *e);
  assert_int_equal(uv_loop_init(&e->loop), 0);
  assert_int_equal(dc_identity_generate(&e->sid), 0);
  assert_int_equal(dc_identity_generate(&e->cid), 0);
  e->srv.env = e->cli.env = e;
  e->accept = true;
  assert_int_equal(dc_listener_start(&e->loop, "127.0.0.1", 0, &e->sid,
                                     accept_cb, on_conn, e, &e->l),
                   0);
  assert_true(dc_listener_port(e->l) != 0);
  *state = e;
  return 0;
}

static int teardown(void **state) {
  struct env *e = *state;
  if (e->l) dc_listener_stop(e->l);
  loop_finish(&e->loop);
  dc_identity_close(&e->sid);
  dc_identity_close(&e->cid);
  free(e);
  return 0;
}

static void connect_client(struct env *e, const uint8_t *pin) {
  uint16_t port = dc_listener_port(e->l);
  assert_int_equal(dc_conn_connect(&e->loop, "127.0.0.1", port,
                                   &e->cid, pin, on_ready, on_frame, on_close,
                                   &e->cli, &e->cli.conn),
                   0);
}

static void test_conn_exchange_10k_frames(void **state) {
  struct env *e = *state;
  e->mode = MODE_EXCHANGE;
  connect_client(e, e->sid.pk);
  run_until(&e->loop, &e->done, 60000);
  assert_int_equal(e->cli.ready, 1);
  assert_int_equal(e->srv.received, N_FRAMES);
  assert_int_equal(e->cli.received, N_FRAMES);
  assert_false(e->srv.bad);
  assert_false(e->cli.bad);
  assert_int_equal(e->cli.closed, 1);
  assert_int_equal(e->cli.close_err, 0);
  assert_string_equal(e->cli.reason, "done");
  assert_int_equal(e->srv.closed, 1);
  assert_int_equal(e->srv.close_err, DC_ECLOSED);
  assert_string_equal(e->srv.reason, "peer closed: done");
}

static void test_conn_backpressure(void **state) {
  struct env *e = *state;
  e->mode = MODE_BULK;
  connect_client(e, NULL);
  run_until(&e->loop, &e->done, 60000);
  assert_int_equal(e->sent, 40);
  assert_int_equal(e->srv.received, 40);
  assert_true(e->eagain > 0); /* 40 MiB never fit the 16 MiB queue */
  assert_true(e->drains > 0);
  assert_false(e->cli.bad);
  assert_false(e->srv.bad);
  assert_int_equal(e->cli.close_err, DC_ECLOSED);
  assert_string_equal(e->cli.reason, "peer closed: enough");
}

static void test_conn_server_closes_from_callback(void **state) {
  struct env *e = *state;
  e->mode = MODE_SERVER_CLOSES;
  connect_client(e, NULL);
  run_until(&e->loop, &e->done, 10000);
  assert_int_equal(e->srv.closed, 1);
  assert_int_equal(e->srv.close_err, 0);
  assert_string_equal(e->srv.reason, "go away");
  assert_int_equal(e->cli.closed, 1);
  assert_int_equal(e->cli.close_err, DC_ECLOSED);
  assert_string_equal(e->cli.reason, "peer closed: go away");
  assert_false(e->srv.bad);
}

static void test_conn_wrong_pin(void **state) {
  struct env *e = *state;
  e->mode = MODE_CLIENT_ONLY;
  connect_client(e, e->cid.pk); /* not the server's key */
  run_until(&e->loop, &e->done, 10000);
  assert_int_equal(e->cli.ready, 0);
  assert_int_equal(e->cli.close_err, DC_EFORBIDDEN);
  assert_non_null(strstr(e->cli.reason, "does not match pinned key"));
  assert_null(e->srv.conn); /* never handed out */
}

static void test_conn_client_not_accepted(void **state) {
  struct env *e = *state;
  e->mode = MODE_CLIENT_ONLY;
  e->accept = false;
  connect_client(e, NULL);
  run_until(&e->loop, &e->done, 10000);
  assert_int_equal(e->cli.ready, 0);
  assert_int_equal(e->cli.close_err, DC_EFORBIDDEN);
  assert_string_equal(e->cli.reason, "peer closed: client key not accepted");
  assert_null(e->srv.conn);
  assert_true(log_has("err=FORBIDDEN", "not accepted"));
}

/* A socket bound but not listening refuses; one listening but never
 * answering stalls the handshake into its timeout. */
static int bound_socket(bool listening, uint16_t *port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
  if (listening) assert_int_equal(listen(fd, 4), 0);
  socklen_t len = sizeof a;
  getsockname(fd, (struct sockaddr *)&a, &len);
  *port = ntohs(a.sin_port);
  return fd;
}

static void test_conn_refused(void **state) {
  struct env *e = *state;
  e->mode = MODE_CLIENT_ONLY;
  uint16_t port;
  int fd = bound_socket(false, &port);
  assert_int_equal(dc_conn_connect(&e->loop, "127.0.0.1", port, &e->cid, NULL,
                                   on_ready, on_frame, on_close, &e->cli, NULL),
                   0);
  run_until(&e->loop, &e->done, 10000);
  close(fd);
  assert_int_equal(e->cli.closed, 1);
  assert_int_equal(e->cli.close_err, DC_EIO);
  assert_non_null(strstr(e->cli.reason, "connect to 127.0.0.1:"));
}

static void test_conn_client_handshake_timeout(void **state) {
  struct env *e = *state;
  e->mode = MODE_CLIENT_ONLY;
  uint16_t port;
  int fd = bound_socket(true, &port);
  struct dc_conn *c;
  assert_int_equal(dc_conn_connect(&e->loop, "127.0.0.1", port, &e->cid, NULL,
                                   on_ready, on_frame, on_close, &e->cli, &c),
                   0);
  assert_int_equal(dc_conn_set_handshake_timeout(c, 0), DC_EINVAL);
  assert_int_equal(dc_conn_set_handshake_timeout(c, 200), 0);
  int64_t t0 = dc_mono_ms();
  run_until(&e->loop, &e->done, 10000);
  close(fd);
  assert_true(dc_mono_ms() - t0 >= 190);
  assert_int_equal(e->cli.close_err, DC_ETIMEOUT);
  assert_string_equal(e->cli.reason, "handshake: timed out after 200 ms");
}

/* Closing at every early stage calls on_close exactly once, with err 0. */
static void test_conn_close_early(void **state) {
  struct env *e = *state;
  e->mode = MODE_CLIENT_ONLY;
  connect_client(e, NULL);
  assert_int_equal(dc_conn_send(e->cli.conn, 16, 1, "x", 1), DC_EUNAUTH);
  dc_conn_close(e->cli.conn, "changed my mind");
  dc_conn_close(e->cli.conn, "again");
  run_until(&e->loop, &e->done, 10000);
  assert_int_equal(e->cli.closed, 1);
  assert_int_equal(e->cli.close_err, 0);
  assert_string_equal(e->cli.reason, "changed my mind");
  /* Bad arguments: an error and no callback. */
  assert_int_equal(dc_conn_connect(&e->loop, "127.0.0.1", 0, &e->cid, NULL,
                                   NULL, NULL, on_close, &e->cli, NULL),
                   DC_EINVAL);
  struct dc_listener *l2;
  assert_int_equal(dc_listener_start(&e->loop, "not-an-ip", 0, &e->sid, NULL,
                                     on_conn, e, &l2),
                   DC_EINVAL);
  assert_int_equal(dc_listener_start(&e->loop, "127.0.0.1",
                                     dc_listener_port(e->l), &e->sid, NULL,
                                     on_conn, e, &l2),
                   DC_EEXISTS);
  uv_run(&e->loop, UV_RUN_NOWAIT);
  assert_int_equal(e->cli.closed, 1);
}

int net_test_conn(void) {
  const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
      T(test_conn_exchange_10k_frames),
      T(test_conn_backpressure),
      T(test_conn_server_closes_from_callback),
      T(test_conn_wrong_pin),
      T(test_conn_client_not_accepted),
      T(test_conn_refused),
      T(test_conn_client_handshake_timeout),
      T(test_conn_close_early),
#undef T
  };
  return cmocka_run_group_tests_name("conn", tests, NULL, NULL);
}
