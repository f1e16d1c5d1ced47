/* SPDX-License-Identifier: Apache-2.0
 * The secure session as a pure state machine: two in-process sessions talk
 * through buffers, and a man in the middle edits the bytes between them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "net_test.h"

struct pair {
  struct dc_identity cid, sid;
  struct dc_session c, s;
  struct dc_buf c2s, s2c; /* bytes in flight */
  bool accept;            /* server's verdict */
  int accept_calls;
};

static bool accept_cb(const uint8_t pk[DC_PK_BYTES], void *ud) {
  struct pair *p = ud;
  p->accept_calls++;
  assert_memory_equal(pk, p->cid.pk, DC_PK_BYTES);
  return p->accept;
}

static int setup(void **state) {
  struct pair *p = calloc(1, sizeof *p);
  assert_int_equal(dc_identity_generate(&p->cid), 0);
  assert_int_equal(dc_identity_generate(&p->sid), 0);
  p->accept = true;
  *state = p;
  return 0;
}

static int teardown(void **state) {
  struct pair *p = *state;
  dc_session_close(&p->c);
  dc_session_close(&p->s);
  dc_buf_free(&p->c2s);
  dc_buf_free(&p->s2c);
  dc_identity_close(&p->cid);
  dc_identity_close(&p->sid);
  free(p);
  return 0;
}

static void init_pair(struct pair *p, const uint8_t *pin) {
  assert_int_equal(dc_session_init(&p->c, DC_SESSION_CLIENT, &p->cid, pin,
                                   NULL, NULL),
                   0);
  assert_int_equal(dc_session_init(&p->s, DC_SESSION_SERVER, &p->sid, NULL,
                                   accept_cb, p),
                   0);
}

/* Moves `from` into the receiver, clearing it; replies go to `reply`. */
static int deliver(struct dc_session *to, struct dc_buf *from,
                   struct dc_buf *reply) {
  struct dc_buf in = *from;
  memset(from, 0, sizeof *from);
  int rc = pump(to, &in, reply, NULL, NULL);
  dc_buf_free(&in);
  return rc;
}

/* Runs the handshake step by step: 1 = HELLO_C, 2 = HELLO_S, 3 = AUTH_C,
 * 4 = READY; `tamper` edits the bytes of message `at` before delivery. */
static void step_to(struct pair *p, int upto, int at,
                    void (*tamper)(struct dc_buf *), int *rc_out) {
  int rc = 0;
  if (upto >= 1) rc = dc_session_start(&p->c, &p->c2s);
  if (!rc && at == 1) tamper(&p->c2s);
  if (!rc && upto >= 2) rc = deliver(&p->s, &p->c2s, &p->s2c);
  if (!rc && at == 2) tamper(&p->s2c);
  if (!rc && upto >= 3) rc = deliver(&p->c, &p->s2c, &p->c2s);
  if (!rc && at == 3) tamper(&p->c2s);
  if (!rc && upto >= 4) rc = deliver(&p->s, &p->c2s, &p->s2c);
  if (!rc && upto >= 5) rc = deliver(&p->c, &p->s2c, &p->c2s);
  *rc_out = rc;
}

static void handshake(struct pair *p) {
  int rc;
  step_to(p, 5, 0, NULL, &rc);
  assert_int_equal(rc, 0);
  assert_true(dc_session_established(&p->c));
  assert_true(dc_session_established(&p->s));
}

static void test_session_handshake_happy(void **state) {
  struct pair *p = *state;
  init_pair(p, p->sid.pk); /* pinned to the right key */
  assert_null(dc_session_peer_pk(&p->s));
  handshake(p);
  assert_memory_equal(dc_session_peer_pk(&p->c), p->sid.pk, DC_PK_BYTES);
  assert_memory_equal(dc_session_peer_pk(&p->s), p->cid.pk, DC_PK_BYTES);
  assert_int_equal(p->accept_calls, 1);
  assert_int_equal(dc_session_record_max(&p->c), DC_SEALED_BODY_MAX);

  /* Frames both ways, in order, payload intact, ciphertext not plaintext. */
  for (int i = 0; i < 3; i++) {
    char msg[32];
    int n = snprintf(msg, sizeof msg, "c2s-%d", i);
    assert_int_equal(dc_session_seal(&p->c, 40, 3, msg, (size_t)n, &p->c2s), 0);
  }
  for (size_t i = 0; i + 4 <= p->c2s.len; i++)
    assert_false(memcmp(p->c2s.data + i, "c2s-", 4) == 0);
  struct dc_frame fr;
  int frames = 0;
  assert_int_equal(pump(&p->s, &p->c2s, &p->s2c, &fr, &frames), 0);
  assert_int_equal(frames, 3);
  assert_int_equal(fr.type, 40);
  assert_int_equal(fr.version, 3);
  assert_memory_equal(fr.payload, "c2s-2", 5);
  dc_buf_reset(&p->c2s);
  uint8_t *big = malloc(DC_FRAME_MAX);
  memset(big, 0xab, DC_FRAME_MAX);
  assert_int_equal(dc_session_seal(&p->s, 255, 0, big, DC_FRAME_MAX, &p->s2c),
                   0);
  frames = 0;
  assert_int_equal(pump(&p->c, &p->s2c, &p->c2s, &fr, &frames), 0);
  assert_int_equal(frames, 1);
  assert_int_equal(fr.len, DC_FRAME_MAX);
  assert_memory_equal(fr.payload, big, DC_FRAME_MAX);
  free(big);
  dc_buf_reset(&p->s2c);

  /* PING is answered with PONG inside the session, nothing delivered. */
  assert_int_equal(dc_session_seal_ping(&p->c, "abc", 3, &p->c2s), 0);
  frames = 0;
  assert_int_equal(pump(&p->s, &p->c2s, &p->s2c, NULL, &frames), 0);
  assert_int_equal(frames, 0);
  assert_true(p->s2c.len > 0);
  assert_int_equal(pump(&p->c, &p->s2c, &p->c2s, NULL, &frames), 0);
  assert_int_equal(frames, 0);
}

static void flip_last(struct dc_buf *b) { b->data[b->len - 1] ^= 1; }
/* HELLO_S record: 4-byte length, then body; the server key starts at body
 * offset 8. */
static void flip_server_pk(struct dc_buf *b) { b->data[4 + 8] ^= 1; }
static void flip_client_eph(struct dc_buf *b) { b->data[4 + 40] ^= 1; }
static void zero_client_eph(struct dc_buf *b) {
  memset(b->data + 4 + 40, 0, DC_KX_PK_BYTES);
}

static void expect_fail(struct pair *p, struct dc_session *who, int upto,
                        int at, void (*tamper)(struct dc_buf *), int err,
                        const char *reason) {
  int rc;
  step_to(p, upto, at, tamper, &rc);
  assert_int_equal(rc, err);
  assert_non_null(strstr(dc_session_reason(who), reason));
  assert_false(dc_session_established(who));
  /* Sticky: it stays failed. */
  struct dc_frame fr;
  bool have;
  assert_int_equal(dc_session_recv(who, (const uint8_t *)"\x10\x01", 2,
                                   &p->c2s, &fr, &have),
                   err);
  assert_int_equal(dc_session_seal(who, 16, 1, "x", 1, &p->c2s), err);
}

static void test_session_bad_server_signature(void **state) {
  struct pair *p = *state;
  init_pair(p, NULL);
  expect_fail(p, &p->c, 3, 2, flip_last, DC_EBADSIG,
              "handshake: bad server signature");
}

/* An attacker swapping the server key (TOFU client) cannot sign for it. */
static void test_session_substituted_server_key(void **state) {
  struct pair *p = *state;
  init_pair(p, NULL);
  expect_fail(p, &p->c, 3, 2, flip_server_pk, DC_EBADSIG,
              "bad server signature");
}

/* A man in the middle replacing the client's ephemeral key changes the
 * transcript the server signs, so the client refuses the server. */
static void test_session_transcript_binding(void **state) {
  struct pair *p = *state;
  init_pair(p, NULL);
  expect_fail(p, &p->c, 3, 1, flip_client_eph, DC_EBADSIG,
              "bad server signature");
}

static void test_session_wrong_pinned_key(void **state) {
  struct pair *p = *state;
  uint8_t other[DC_PK_BYTES];
  memcpy(other, p->sid.pk, sizeof other);
  other[0] ^= 0xff;
  init_pair(p, other);
  expect_fail(p, &p->c, 3, 0, NULL, DC_EFORBIDDEN,
              "does not match pinned key");
}

static void test_session_bad_client_signature(void **state) {
  struct pair *p = *state;
  init_pair(p, NULL);
  expect_fail(p, &p->s, 4, 3, flip_last, DC_EBADSIG,
              "handshake: bad client signature");
  assert_int_equal(p->accept_calls, 0);
}

static void test_session_client_not_accepted(void **state) {
  struct pair *p = *state;
  p->accept = false;
  init_pair(p, NULL);
  expect_fail(p, &p->s, 4, 0, NULL, DC_EFORBIDDEN, "not accepted");
  /* The server told the client why, under the session keys. */
  int rc = deliver(&p->c, &p->s2c, &p->c2s);
  assert_int_equal(rc, DC_EFORBIDDEN);
  assert_string_equal(dc_session_reason(&p->c),
                      "peer closed: client key not accepted");
}

static void test_session_low_order_ephemeral(void **state) {
  struct pair *p = *state;
  init_pair(p, NULL);
  expect_fail(p, &p->s, 2, 1, zero_client_eph, DC_ECRYPTO,
              "bad client ephemeral key");
}

/* Malformed HELLO_C bodies, each with its own error. */
static void test_session_malformed_hello(void **state) {
  struct pair *p = *state;
  struct {
    size_t off; /* byte of the body to change, or SIZE_MAX */
    uint8_t val;
    int trunc;  /* bytes removed (negative: added) */
    int err;
    const char *reason;
  } cases[] = {
      {0, DC_NET_MSG_AUTH_C, 0, DC_EPROTO, "expected HELLO_C, got type 3"},
      {1, 2, 0, DC_EVERSION, "unsupported message version 2"},
      {2, 'X', 0, DC_EPROTO, "bad magic"},
      {7, 2, 0, DC_EVERSION, "unsupported protocol version 2"},
      {SIZE_MAX, 0, 1, DC_ETRUNCATED, "HELLO_C truncated (103 of 104"},
      {SIZE_MAX, 0, 102, DC_ETRUNCATED, "HELLO_C truncated (2 of 104"},
      {SIZE_MAX, 0, -3, DC_EPROTO, "HELLO_C has 3 trailing bytes"},
  };
  for (size_t i = 0; i < DC_ARRAY_LEN(cases); i++) {
    struct dc_session c, s;
    struct dc_buf hello = {0}, rec = {0}, out = {0};
    assert_int_equal(dc_session_init(&c, DC_SESSION_CLIENT, &p->cid, NULL,
                                     NULL, NULL),
                     0);
    assert_int_equal(dc_session_init(&s, DC_SESSION_SERVER, &p->sid, NULL,
                                     NULL, NULL),
                     0);
    assert_int_equal(dc_session_start(&c, &hello), 0);
    uint8_t body[DC_HELLO_C_BODY_BYTES + 3] = {0};
    memcpy(body, hello.data + 4, DC_HELLO_C_BODY_BYTES);
    if (cases[i].off != SIZE_MAX) body[cases[i].off] = cases[i].val;
    size_t len = (size_t)((int)DC_HELLO_C_BODY_BYTES - cases[i].trunc);
    dc_buf_put_u32(&rec, (uint32_t)len);
    dc_buf_append(&rec, body, len);
    assert_int_equal(pump(&s, &rec, &out, NULL, NULL), cases[i].err);
    assert_non_null(strstr(dc_session_reason(&s), cases[i].reason));
    assert_int_equal(out.len, 0); /* nothing said to a bad peer */
    dc_session_close(&c);
    dc_session_close(&s);
    dc_buf_free(&hello);
    dc_buf_free(&rec);
    dc_buf_free(&out);
  }
}

/* Seals three frames from client to server and returns them as separate
 * records in recs[0..2]. */
static void three_records(struct pair *p, struct dc_buf recs[3]) {
  for (int i = 0; i < 3; i++) {
    memset(&recs[i], 0, sizeof recs[i]);
    assert_int_equal(dc_session_seal(&p->c, 16, 1, "frame", 5, &recs[i]), 0);
  }
}

static void test_session_replay_reorder_tamper(void **state) {
  struct pair *p = *state;
  struct dc_buf r[3];
  /* Replay. */
  init_pair(p, NULL);
  handshake(p);
  three_records(p, r);
  assert_int_equal(pump(&p->s, &r[0], &p->s2c, NULL, NULL), 0);
  assert_int_equal(pump(&p->s, &r[0], &p->s2c, NULL, NULL), DC_EREPLAY);
  assert_non_null(strstr(dc_session_reason(&p->s), "replayed frame"));
  for (int i = 0; i < 3; i++) dc_buf_free(&r[i]);
  dc_session_close(&p->c);
  dc_session_close(&p->s);
  dc_buf_reset(&p->s2c);

  /* Reorder (a gap). */
  init_pair(p, NULL);
  handshake(p);
  three_records(p, r);
  assert_int_equal(pump(&p->s, &r[1], &p->s2c, NULL, NULL), DC_EPROTO);
  assert_non_null(strstr(dc_session_reason(&p->s), "counter gap"));
  for (int i = 0; i < 3; i++) dc_buf_free(&r[i]);
  dc_session_close(&p->c);
  dc_session_close(&p->s);

  /* Tampered ciphertext, tag, and counter-consistent truncation. */
  for (int what = 0; what < 3; what++) {
    init_pair(p, NULL);
    handshake(p);
    three_records(p, r);
    if (what == 0) r[0].data[4 + 8] ^= 0x40;   /* ciphertext: the type */
    if (what == 1) r[0].data[r[0].len - 1] ^= 1; /* tag */
    if (what == 2) { /* drop a byte and fix the length prefix */
      r[0].len--;
      r[0].data[3]--;
    }
    assert_int_equal(pump(&p->s, &r[0], &p->s2c, NULL, NULL), DC_ECRYPTO);
    assert_non_null(strstr(dc_session_reason(&p->s), "failed authentication"));
    for (int i = 0; i < 3; i++) dc_buf_free(&r[i]);
    dc_session_close(&p->c);
    dc_session_close(&p->s);
  }
}

static void test_session_seal_rules_and_close(void **state) {
  struct pair *p = *state;
  init_pair(p, NULL);
  struct dc_buf out = {0};
  assert_int_equal(dc_session_seal(&p->c, 16, 1, "x", 1, &out), DC_EUNAUTH);
  assert_int_equal(dc_session_seal_close(&p->c, DC_ECLOSED, "x", &out),
                   DC_EUNAUTH);
  handshake(p);
  assert_int_equal(dc_session_seal(&p->c, DC_NET_MSG_CLOSE, 1, "x", 1, &out),
                   DC_EINVAL);
  assert_int_equal(dc_session_seal(&p->c, 16, 1, NULL, DC_FRAME_MAX + 1, &out),
                   DC_ETOOBIG);
  assert_int_equal(out.len, 0);
  /* A long, hostile reason is cut and sanitised on the way in. */
  char reason[400];
  memset(reason, 'a', sizeof reason);
  reason[0] = '"';
  reason[sizeof reason - 1] = '\0';
  assert_int_equal(dc_session_seal_close(&p->c, DC_ECLOSED, reason, &p->c2s),
                   0);
  assert_int_equal(pump(&p->s, &p->c2s, &p->s2c, NULL, NULL), DC_ECLOSED);
  const char *why = dc_session_reason(&p->s);
  assert_true(strncmp(why, "peer closed: ?aaa", 17) == 0);
  assert_int_equal(strlen(why), strlen("peer closed: ") + DC_CLOSE_REASON_MAX);
  dc_buf_free(&out);
}

/* Every allocation failing in turn: the handshake either completes or fails
 * with DC_ENOMEM, never crashes or leaks (ASan checks the leaks). */
static void test_session_alloc_failures(void **state) {
  struct pair *p = *state;
  bool completed = false;
  for (long n = 1; n < 200 && !completed; n++) {
    init_pair(p, NULL);
    dc_alloc_fail_after(n);
    int rc;
    step_to(p, 5, 0, NULL, &rc);
    if (!rc) rc = dc_session_seal(&p->c, 16, 1, "x", 1, &p->c2s);
    if (!rc) rc = deliver(&p->s, &p->c2s, &p->s2c);
    dc_alloc_fail_after(0);
    if (rc && rc != DC_ENOMEM)
      fail_msg("allocation %ld: %s (%s)", n, dc_err_name(rc),
               dc_session_reason(&p->s));
    completed = rc == 0;
    dc_session_close(&p->c);
    dc_session_close(&p->s);
    dc_buf_free(&p->c2s);
    dc_buf_free(&p->s2c);
  }
  assert_true(completed);
}

/* Writes the fuzz seed corpus when DC_NET_WRITE_CORPUS names a folder. */
static void write_seed(const char *dir, const char *name, const void *p,
                       size_t n) {
  char path[512];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  assert_int_equal(fwrite(p, 1, n, f), n);
  fclose(f);
}

static void test_write_fuzz_corpus(void **state) {
  struct pair *p = *state;
  const char *dir = getenv("DC_NET_WRITE_CORPUS");
  mkdir(dir, 0755);
  struct dc_buf b = {0};
  dc_frame_encode(&b, 16, 1, "hello", 5);
  dc_frame_encode(&b, 17, 2, NULL, 0);
  dc_frame_encode(&b, 255, 255, "a longer payload for the framer", 31);
  write_seed(dir, "frames_valid", b.data, b.len);
  write_seed(dir, "frames_cut", b.data, b.len - 3);
  write_seed(dir, "len_too_big", "\xff\xff\xff\xff\x10\x01", 6);
  write_seed(dir, "len_max_plus_one", "\x00\x10\x00\x03\x10\x01", 6);
  write_seed(dir, "len_too_small", "\x00\x00\x00\x01\x10", 5);
  write_seed(dir, "len_zero", "\x00\x00\x00\x00", 4);
  dc_buf_reset(&b);
  init_pair(p, NULL);
  assert_int_equal(dc_session_start(&p->c, &p->c2s), 0);
  write_seed(dir, "hello_c", p->c2s.data, p->c2s.len);
  struct dc_buf bad = {0};
  dc_buf_append(&bad, p->c2s.data, p->c2s.len);
  bad.data[6] = 'X';
  write_seed(dir, "hello_c_bad_magic", bad.data, bad.len);
  write_seed(dir, "hello_c_truncated", p->c2s.data, p->c2s.len - 10);
  assert_int_equal(deliver(&p->s, &p->c2s, &p->s2c), 0);
  write_seed(dir, "hello_s", p->s2c.data, p->s2c.len);
  assert_int_equal(deliver(&p->c, &p->s2c, &p->c2s), 0);
  /* HELLO_C followed by an AUTH_C: reaches the AUTH_C parser. */
  dc_buf_reset(&bad);
  dc_buf_put_u32(&bad, DC_HELLO_C_BODY_BYTES);
  dc_buf_append(&bad, p->c.hello_c, DC_HELLO_C_BODY_BYTES);
  dc_buf_append(&bad, p->c2s.data, p->c2s.len);
  write_seed(dir, "hello_c_auth_c", bad.data, bad.len);
  assert_int_equal(deliver(&p->s, &p->c2s, &p->s2c), 0);
  write_seed(dir, "sealed_ready", p->s2c.data, p->s2c.len);
  dc_buf_free(&b);
  dc_buf_free(&bad);
}

int net_test_secure(void) {
  const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
      T(test_session_handshake_happy),
      T(test_session_bad_server_signature),
      T(test_session_substituted_server_key),
      T(test_session_transcript_binding),
      T(test_session_wrong_pinned_key),
      T(test_session_bad_client_signature),
      T(test_session_client_not_accepted),
      T(test_session_low_order_ephemeral),
      T(test_session_malformed_hello),
      T(test_session_replay_reorder_tamper),
      T(test_session_seal_rules_and_close),
      T(test_session_alloc_failures),
  };
  /* The seed-corpus writer is a tool, not a test: it runs only when asked
   * (DC_NET_WRITE_CORPUS=<dir>), so a normal run never reports a skip. */
  const struct CMUnitTest tools[] = {T(test_write_fuzz_corpus)};
#undef T
  if (getenv("DC_NET_WRITE_CORPUS"))
    return cmocka_run_group_tests_name("corpus", tools, NULL, NULL);
  return cmocka_run_group_tests_name("secure", tests, NULL, NULL);
}
