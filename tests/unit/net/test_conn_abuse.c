/* SPDX-License-Identifier: Apache-2.0
 * Misbehaving peers against a real listener: garbage before the handshake,
 * a too-large length or forged ciphertext after it, a handshake that stops
 * half-way. Each bad session ends with a logged reason and the server keeps
 * serving others. The bad peers are blocking sockets on helper threads. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "net_test.h"

enum {
  RAW_GARBAGE,
  RAW_SHORT_GARBAGE,
  RAW_BIG_LEN,
  RAW_FORGED,
  RAW_STALL,
  RAW_PING_FLOOD,
};

#define FLOOD_MAX_BYTES (48u << 20)

struct raw {
  int what;
  uint16_t port;
  struct dc_identity *id;
  /* results, published through `done` */
  int hs_rc;       /* handshake result (authenticated cases) */
  int end_rc;      /* session error from the server's CLOSE */
  char end_reason[DC_ERRMSG_SIZE];
  bool eof;
  int64_t eof_ms;  /* time from the last send to EOF */
  size_t flooded;  /* bytes of PING the server took before blocking us */
  int done;
};

/* Runs records from p through s; replies to out. */
static int feed(struct dc_session *s, struct dc_framer *f, const uint8_t *p,
                size_t n, struct dc_buf *out) {
  while (n) {
    size_t used, blen;
    const uint8_t *body;
    int rc = dc_framer_next(f, p, n, &used, &body, &blen);
    p += used;
    n -= used;
    if (rc) return rc;
    if (!body) break;
    struct dc_frame fr;
    bool have;
    if ((rc = dc_session_recv(s, body, blen, out, &fr, &have))) return rc;
    dc_framer_set_max(f, dc_session_record_max(s));
  }
  return DC_OK;
}

/* Client handshake over a blocking socket, then one bad record, then read
 * what the server says until it hangs up. */
static void raw_authenticated(struct raw *r, int fd) {
  struct dc_session s;
  struct dc_framer f;
  struct dc_buf out = {0};
  uint8_t buf[4096];
  dc_framer_init(&f, DC_HANDSHAKE_BODY_MAX);
  r->hs_rc = dc_session_init(&s, DC_SESSION_CLIENT, r->id, NULL, NULL, NULL);
  if (!r->hs_rc) r->hs_rc = dc_session_start(&s, &out);
  while (!r->hs_rc && !dc_session_established(&s)) {
    if (out.len && !raw_send(fd, out.data, out.len)) r->hs_rc = DC_EIO;
    dc_buf_reset(&out);
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) r->hs_rc = DC_EIO;
    else r->hs_rc = feed(&s, &f, buf, (size_t)n, &out);
  }
  if (!r->hs_rc && out.len) raw_send(fd, out.data, out.len);
  if (!r->hs_rc && r->what == RAW_PING_FLOOD) {
    /* PINGs until the server stops reading us; we never read its PONGs.
     * A send that makes no progress for 2 s means the server paused
     * reading: shorter stalls happen on a loaded machine while the server's
     * loop simply has not run yet, and giving up then (closing with its
     * PONGs unread) ends the test before the server's queue ever filled. */
    struct timeval tv = {2, 0};
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    uint8_t ping[DC_PING_MAX] = {0};
    while (r->flooded < FLOOD_MAX_BYTES) {
      dc_buf_reset(&out);
      for (int i = 0; i < 1000; i++)
        dc_session_seal_ping(&s, ping, sizeof ping, &out);
      if (!raw_send(fd, out.data, out.len)) break;
      r->flooded += out.len;
    }
  } else if (!r->hs_rc) {
    if (r->what == RAW_BIG_LEN) {
      raw_send(fd, "\x00\xff\xff\xff", 4); /* 16 MiB > any record */
    } else {
      uint8_t forged[4 + DC_SEALED_BODY_MIN + 8] = {0, 0, 0,
                                                    DC_SEALED_BODY_MIN + 8};
      /* Counter 0 is the one the server expects next (the handshake sent
       * nothing sealed client-to-server), so the tag check is what fails. */
      raw_send(fd, forged, sizeof forged);
    }
    for (;;) { /* the server's CLOSE, then EOF */
      ssize_t n = recv(fd, buf, sizeof buf, 0);
      if (n <= 0) {
        r->eof = n == 0;
        break;
      }
      int rc = feed(&s, &f, buf, (size_t)n, &out);
      if (rc && !r->end_rc) {
        r->end_rc = rc;
        snprintf(r->end_reason, sizeof r->end_reason, "%s",
                 dc_session_reason(&s));
      }
    }
  }
  dc_session_close(&s);
  dc_framer_close(&f);
  dc_buf_free(&out);
}

static void *raw_main(void *arg) {
  struct raw *r = arg;
  int fd = raw_connect(r->port, 10000);
  if (fd >= 0) {
    int64_t t0 = dc_mono_ms();
    if (r->what == RAW_GARBAGE) {
      raw_send(fd, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 27);
    } else if (r->what == RAW_SHORT_GARBAGE) {
      raw_send(fd, "\x00\x00\x00\x05hello", 9);
    } else if (r->what == RAW_STALL) {
      raw_send(fd, "\x00\x00\x00\x68\x01\x01" DC_WIRE_MAGIC, 10);
    } else {
      raw_authenticated(r, fd);
    }
    if (r->what < RAW_BIG_LEN || r->what == RAW_STALL)
      r->eof = raw_wait_eof(fd);
    r->eof_ms = dc_mono_ms() - t0;
    close(fd);
  }
  __atomic_store_n(&r->done, 1, __ATOMIC_SEQ_CST);
  return NULL;
}

struct srv {
  uv_loop_t loop;
  struct dc_identity sid, cid, rid;
  struct dc_listener *l;
  int conns, closed, close_err, frames;
  char reason[DC_ERRMSG_SIZE];
  int good_done;
  struct dc_conn *last; /* most recent handed-out connection, until closed */
  size_t max_queued;
  uv_timer_t sampler;
};

static void srv_on_close(struct dc_conn *c, int err, const char *reason,
                         void *ud) {
  struct srv *s = ud;
  if (s->last == c) s->last = NULL;
  s->closed++;
  s->close_err = err;
  snprintf(s->reason, sizeof s->reason, "%s", reason);
}

/* Echo server for the good client that follows each bad one. */
static void srv_on_frame(struct dc_conn *c, uint8_t type, uint8_t version,
                         const uint8_t *p, size_t len, void *ud) {
  struct srv *s = ud;
  s->frames++;
  dc_conn_send(c, type, version, p, len);
}

static void srv_on_conn(struct dc_listener *l, struct dc_conn *c, void *ud) {
  struct srv *s = ud;
  s->conns++;
  s->last = c;
  dc_conn_set_handlers(c, srv_on_frame, srv_on_close, s);
}

static void good_ready(struct dc_conn *c, void *ud) {
  dc_conn_send(c, 99, 1, "ping?", 5);
}

static void good_frame(struct dc_conn *c, uint8_t type, uint8_t version,
                       const uint8_t *p, size_t len, void *ud) {
  if (type == 99 && len == 5 && !memcmp(p, "ping?", 5)) dc_conn_close(c, "ok");
}

static void good_close(struct dc_conn *c, int err, const char *reason,
                       void *ud) {
  struct srv *s = ud;
  if (err == 0 && !strcmp(reason, "ok")) s->good_done = 1;
  else s->good_done = -1;
}

static void run_bad_then_good(struct srv *s, struct raw *r) {
  r->port = dc_listener_port(s->l);
  r->id = &s->rid;
  pthread_t th;
  assert_int_equal(pthread_create(&th, NULL, raw_main, r), 0);
  run_until(&s->loop, &r->done, 15000);
  pthread_join(th, NULL);
  /* The server still serves a well-behaved client. */
  s->good_done = 0;
  assert_int_equal(dc_conn_connect(&s->loop, "127.0.0.1", r->port, &s->cid,
                                   s->sid.pk, good_ready, good_frame,
                                   good_close, s, NULL),
                   0);
  run_until(&s->loop, &s->good_done, 10000);
  assert_int_equal(s->good_done, 1);
}

static int setup(void **state) {
  struct srv *s = calloc(1, sizeof *s);
  assert_int_equal(uv_loop_init(&s->loop), 0);
  dc_identity_generate(&s->sid);
  dc_identity_generate(&s->cid);
  dc_identity_generate(&s->rid);
  assert_int_equal(dc_listener_start(&s->loop, "127.0.0.1", 0, &s->sid, NULL,
                                     srv_on_conn, s, &s->l),
                   0);
  log_clear();
  *state = s;
  return 0;
}

static int teardown(void **state) {
  struct srv *s = *state;
  dc_listener_stop(s->l);
  loop_finish(&s->loop);
  dc_identity_close(&s->sid);
  dc_identity_close(&s->cid);
  dc_identity_close(&s->rid);
  free(s);
  return 0;
}

static void test_abuse_garbage_before_handshake(void **state) {
  struct srv *s = *state;
  struct raw r = {.what = RAW_GARBAGE};
  run_bad_then_good(s, &r);
  assert_true(r.eof);
  assert_true(log_has("err=TOOBIG", "reason=\"frame too big (length"));
  assert_int_equal(s->conns, 1); /* only the good client was handed out */

  struct raw r2 = {.what = RAW_SHORT_GARBAGE};
  run_bad_then_good(s, &r2);
  assert_true(r2.eof);
  assert_true(log_has("err=PROTO", "expected HELLO_C, got type 104"));
  assert_int_equal(s->conns, 2);
}

static void test_abuse_too_big_after_handshake(void **state) {
  struct srv *s = *state;
  struct raw r = {.what = RAW_BIG_LEN};
  run_bad_then_good(s, &r);
  assert_int_equal(r.hs_rc, 0);
  /* The server said why, under the session keys, then hung up. */
  assert_int_equal(r.end_rc, DC_ETOOBIG);
  assert_non_null(strstr(r.end_reason, "peer closed: frame too big"));
  assert_true(r.eof);
  char hex[DC_PK_HEX_LEN + 1], want[32];
  dc_identity_hex(&s->rid, hex);
  snprintf(want, sizeof want, "peer=%.8s", hex);
  assert_true(log_has(want, "reason=\"frame too big (length 16777215"));
  assert_int_equal(s->conns, 2); /* the bad one, then the good one */
}

static void test_abuse_forged_ciphertext(void **state) {
  struct srv *s = *state;
  struct raw r = {.what = RAW_FORGED};
  run_bad_then_good(s, &r);
  assert_int_equal(r.hs_rc, 0);
  assert_int_equal(r.end_rc, DC_ECRYPTO);
  assert_non_null(strstr(r.end_reason, "frame failed authentication"));
  assert_true(log_has("err=CRYPTO", "failed authentication"));
}

static void test_abuse_truncated_handshake_times_out(void **state) {
  struct srv *s = *state;
  dc_listener_set_handshake_timeout(s->l, 300);
  struct raw r = {.what = RAW_STALL};
  run_bad_then_good(s, &r);
  assert_true(r.eof);
  assert_true(r.eof_ms >= 280 && r.eof_ms < 5000);
  assert_true(log_has("err=TIMEOUT", "handshake: timed out after 300 ms"));
}

static void sample_queue(uv_timer_t *t) {
  struct srv *s = t->data;
  if (s->last)
    s->max_queued = DC_MAX(s->max_queued, dc_conn_queued_bytes(s->last));
}

/* A peer that sends PINGs and never reads: the server's queue of PONGs stays
 * bounded because the server stops reading that peer. */
static void test_abuse_ping_flood_bounded(void **state) {
  struct srv *s = *state;
  uv_timer_init(&s->loop, &s->sampler);
  s->sampler.data = s;
  uv_timer_start(&s->sampler, sample_queue, 1, 1);
  struct raw r = {.what = RAW_PING_FLOOD};
  run_bad_then_good(s, &r);
  uv_close((uv_handle_t *)&s->sampler, NULL); /* s outlives the loop run */
  assert_int_equal(r.hs_rc, 0);
  if (getenv("DC_TEST_VERBOSE"))
    fprintf(stderr, "flooded=%zu max_queued=%zu\n", r.flooded, s->max_queued);
  assert_true(r.flooded < FLOOD_MAX_BYTES); /* we were blocked */
  assert_true(s->max_queued > DC_CONN_SENDQ_MAX / 2);
  assert_true(s->max_queued <= DC_CONN_SENDQ_MAX + DC_CONN_READ_BYTES);
}

int net_test_conn_abuse(void) {
  const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
      T(test_abuse_garbage_before_handshake),
      T(test_abuse_too_big_after_handshake),
      T(test_abuse_forged_ciphertext),
      T(test_abuse_truncated_handshake_times_out),
      T(test_abuse_ping_flood_bounded),
#undef T
  };
  return cmocka_run_group_tests_name("conn_abuse", tests, NULL, NULL);
}
