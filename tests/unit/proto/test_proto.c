/* SPDX-License-Identifier: Apache-2.0
 * proto codecs: round trips of every command and message at every fixture
 * size, the fixed wire layout, truncation and trailing bytes, header checks,
 * and allocation failure. Limits and signatures are in test_limits.c. */
#include <stdlib.h>
#include <string.h>

#include "fixtures.h"
#include "proto/proto.h"
#include "tests/lib/testlib.h"

static bool cmd_zero(const struct dc_cmd *c) {
  static const struct dc_cmd z;
  return memcmp(c, &z, sizeof z) == 0;
}
static bool msg_zero(const struct dc_msg *m) {
  static const struct dc_msg z;
  return memcmp(m, &z, sizeof z) == 0;
}

/* Decodes from an exact-size heap copy, so ASan sees any over-read. */
static int decode_cmd_exact(const uint8_t *p, size_t n, struct dc_cmd *c) {
  uint8_t *q = malloc(n ? n : 1);
  assert_non_null(q);
  if (n) memcpy(q, p, n);
  int rc = dc_cmd_decode(q, n, c);
  free(q);
  return rc;
}
static int decode_msg_exact(uint8_t type, const uint8_t *p, size_t n,
                            struct dc_msg *m) {
  uint8_t *q = malloc(n ? n : 1);
  assert_non_null(q);
  if (n) memcpy(q, p, n);
  int rc = dc_msg_decode(type, q, n, m);
  free(q);
  return rc;
}

/* ---- round trips ------------------------------------------------------- */

static void test_cmd_roundtrip_all(void **state) {
  (void)state;
  for (size_t t = 0; t < fx_ncmd_types; t++) {
    for (int mode = 0; mode < FX_NMODES; mode++) {
      struct dc_cmd c, d;
      struct dc_buf b1 = {0}, b2 = {0};
      fx_cmd(fx_cmd_types[t], (enum fx_mode)mode, &c);
      assert_int_equal(dc_cmd_encode(&c, &b1), DC_OK);
      assert_true(b1.len <= DC_CMD_MAX_BYTES);
      assert_int_equal(decode_cmd_exact(b1.data, b1.len, &d), DC_OK);
      assert_true(fx_cmd_eq(&c, &d));
      assert_int_equal(dc_cmd_encode(&d, &b2), DC_OK);
      assert_int_equal(b1.len, b2.len);
      assert_memory_equal(b1.data, b2.data, b1.len);
      dc_cmd_free(&c);
      dc_cmd_free(&d);
      assert_true(cmd_zero(&d));
      dc_buf_free(&b1);
      dc_buf_free(&b2);
    }
  }
}

static void test_msg_roundtrip_all(void **state) {
  (void)state;
  for (size_t t = 0; t < fx_nmsg_types; t++) {
    for (int mode = 0; mode < FX_NMODES; mode++) {
      struct dc_msg m, d;
      struct dc_buf b1 = {0}, b2 = {0};
      fx_msg(fx_msg_types[t], (enum fx_mode)mode, &m);
      assert_int_equal(dc_msg_encode(&m, &b1), DC_OK);
      assert_true(b1.len <= DC_MSG_MAX_BYTES);
      assert_int_equal(decode_msg_exact(m.type, b1.data, b1.len, &d), DC_OK);
      assert_true(fx_msg_eq(&m, &d));
      assert_int_equal(dc_msg_encode(&d, &b2), DC_OK);
      assert_int_equal(b1.len, b2.len);
      assert_memory_equal(b1.data, b2.data, b1.len);
      dc_msg_free(&m);
      dc_msg_free(&d);
      assert_true(msg_zero(&d));
      dc_buf_free(&b1);
      dc_buf_free(&b2);
    }
  }
}

/* NULL strings are the empty string on the wire; decoders never return NULL. */
static void test_null_strings_decode_empty(void **state) {
  (void)state;
  struct dc_cmd c = {.type = DC_CMD_NODE_DEAD}, d;
  struct dc_buf b = {0};
  assert_int_equal(dc_cmd_encode(&c, &b), DC_OK);
  assert_int_equal(dc_cmd_decode(b.data, b.len, &d), DC_OK);
  assert_non_null(d.u.node_dead.reason);
  assert_string_equal(d.u.node_dead.reason, "");
  dc_cmd_free(&d);
  dc_buf_free(&b);
}

static void test_encode_appends_and_restores(void **state) {
  (void)state;
  struct dc_buf b = {0};
  assert_int_equal(dc_buf_append(&b, "PRE", 3), DC_OK);
  struct dc_cmd c;
  fx_cmd(DC_CMD_JOB_CANCEL, FX_SMALL, &c);
  assert_int_equal(dc_cmd_encode(&c, &b), DC_OK);
  assert_memory_equal(b.data, "PRE", 3);
  struct dc_cmd d;
  assert_int_equal(dc_cmd_decode(b.data + 3, b.len - 3, &d), DC_OK);
  assert_true(fx_cmd_eq(&c, &d));
  dc_cmd_free(&d);
  /* A failed encode leaves the caller's bytes as they were. */
  size_t len = b.len;
  c.u.job_cancel.job_id[0] = 'X';
  assert_int_equal(dc_cmd_encode(&c, &b), DC_EINVAL);
  assert_int_equal(b.len, len);
  /* ...and so does hitting the buffer's cap. */
  b.max = b.len + 10;
  c.u.job_cancel.job_id[0] = 'a';
  assert_int_equal(dc_cmd_encode(&c, &b), DC_ETOOBIG);
  assert_int_equal(b.len, len);
  dc_cmd_free(&c);
  dc_buf_free(&b);
}

/* ---- fixed layout: changing these bytes breaks replay of old logs ------ */

static void test_cmd_golden_bytes(void **state) {
  (void)state;
  struct dc_cmd c = {.type = DC_CMD_MIGRATE,
                     .proposal_id = 0x0102030405060708ull,
                     .ts_ms = -2,
                     .u.migrate.schema_version = 7};
  static const uint8_t want[] = {
      0xdc, 0x01, 0x01, 0x00, 0x01, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06,
      0x07, 0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe, 0x00,
      0x00, 0x00, 0x07};
  struct dc_buf b = {0};
  assert_int_equal(dc_cmd_encode(&c, &b), DC_OK);
  assert_int_equal(b.len, sizeof want);
  assert_memory_equal(b.data, want, sizeof want);
  assert_int_equal(DC_CMD_HEADER_BYTES, sizeof want - 4);

  /* JOB_CANCEL: header, 32 raw hex chars (no length), 32-byte owner. */
  dc_buf_reset(&b);
  fx_cmd(DC_CMD_JOB_CANCEL, FX_SMALL, &c);
  assert_int_equal(dc_cmd_encode(&c, &b), DC_OK);
  assert_int_equal(b.len, DC_CMD_HEADER_BYTES + 32 + 32);
  assert_memory_equal(b.data + 3, "\x00\x05", 2);
  assert_memory_equal(b.data + DC_CMD_HEADER_BYTES, c.u.job_cancel.job_id, 32);
  assert_memory_equal(b.data + DC_CMD_HEADER_BYTES + 32, c.u.job_cancel.owner,
                      32);
  dc_cmd_free(&c);

  /* TASK_STARTED message: u32 length + id, attempt, i64 ts. */
  struct dc_msg m = {.type = DC_MSG_TASK_STARTED,
                     .u.task_started = {.task_id = "ab", .attempt = 3,
                                        .ts_ms = 0x10}};
  static const uint8_t want_msg[] = {0, 0, 0, 2, 'a', 'b', 0, 0, 0, 3,
                                     0, 0, 0, 0, 0,   0,   0, 0x10};
  dc_buf_reset(&b);
  assert_int_equal(dc_msg_encode(&m, &b), DC_OK);
  assert_int_equal(b.len, sizeof want_msg);
  assert_memory_equal(b.data, want_msg, sizeof want_msg);
  dc_buf_free(&b);
}

/* ---- truncation, trailing bytes, headers ---------------------------------- */

static void test_cmd_truncated_every_offset(void **state) {
  (void)state;
  for (size_t t = 0; t < fx_ncmd_types; t++) {
    for (int mode = FX_EMPTY; mode <= FX_SMALL; mode++) {
      struct dc_cmd c, d;
      struct dc_buf b = {0};
      fx_cmd(fx_cmd_types[t], (enum fx_mode)mode, &c);
      assert_int_equal(dc_cmd_encode(&c, &b), DC_OK);
      /* The one exception, by design (commands.md, node_info): without its
       * optional last byte a dynamic node's registration is the same
       * node's registration as fixed. */
      bool role_byte = c.type == DC_CMD_NODE_REGISTER &&
                       c.u.node_register.node.role == DC_NODE_DYNAMIC;
      for (size_t k = 0; k < b.len; k++) {
        int rc = decode_cmd_exact(b.data, k, &d);
        if (role_byte && k == b.len - 1) {
          assert_int_equal(rc, DC_OK);
          assert_int_equal(d.u.node_register.node.role, DC_NODE_FIXED);
          d.u.node_register.node.role = DC_NODE_DYNAMIC;
          assert_true(fx_cmd_eq(&c, &d));
          dc_cmd_free(&d);
          continue;
        }
        assert_true(rc == DC_ETRUNCATED || rc == DC_EPROTO);
        assert_true(cmd_zero(&d));
      }
      dc_cmd_free(&c);
      dc_buf_free(&b);
    }
  }
}

static void test_msg_truncated_every_offset(void **state) {
  (void)state;
  for (size_t t = 0; t < fx_nmsg_types; t++) {
    for (int mode = FX_EMPTY; mode <= FX_SMALL; mode++) {
      struct dc_msg m, d;
      struct dc_buf b = {0};
      fx_msg(fx_msg_types[t], (enum fx_mode)mode, &m);
      assert_int_equal(dc_msg_encode(&m, &b), DC_OK);
      /* As for commands: REGISTER without its optional role byte. */
      bool role_byte = m.type == DC_MSG_REGISTER && m.u.reg.node.role == DC_NODE_DYNAMIC;
      for (size_t k = 0; k < b.len; k++) {
        int rc = decode_msg_exact(m.type, b.data, k, &d);
        if (role_byte && k == b.len - 1) {
          assert_int_equal(rc, DC_OK);
          assert_int_equal(d.u.reg.node.role, DC_NODE_FIXED);
          d.u.reg.node.role = DC_NODE_DYNAMIC;
          assert_true(fx_msg_eq(&m, &d));
          dc_msg_free(&d);
          continue;
        }
        assert_true(rc == DC_ETRUNCATED || rc == DC_EPROTO);
        assert_true(msg_zero(&d));
      }
      dc_msg_free(&m);
      dc_buf_free(&b);
    }
  }
}

static void test_trailing_byte_refused(void **state) {
  (void)state;
  for (size_t t = 0; t < fx_ncmd_types; t++) {
    struct dc_cmd c, d;
    struct dc_buf b = {0};
    fx_cmd(fx_cmd_types[t], FX_SMALL, &c);
    assert_int_equal(dc_cmd_encode(&c, &b), DC_OK);
    assert_int_equal(dc_buf_put_u8(&b, 0), DC_OK);
    assert_int_equal(decode_cmd_exact(b.data, b.len, &d), DC_EPROTO);
    assert_true(cmd_zero(&d));
    dc_cmd_free(&c);
    dc_buf_free(&b);
  }
  for (size_t t = 0; t < fx_nmsg_types; t++) {
    struct dc_msg m, d;
    struct dc_buf b = {0};
    fx_msg(fx_msg_types[t], FX_SMALL, &m);
    assert_int_equal(dc_msg_encode(&m, &b), DC_OK);
    assert_int_equal(dc_buf_put_u8(&b, 0), DC_OK);
    assert_int_equal(decode_msg_exact(m.type, b.data, b.len, &d), DC_EPROTO);
    assert_true(msg_zero(&d));
    dc_msg_free(&m);
    dc_buf_free(&b);
  }
}

static void test_cmd_header_refused(void **state) {
  (void)state;
  struct dc_cmd c, d;
  struct dc_buf b = {0};
  fx_cmd(DC_CMD_NODE_DEAD, FX_SMALL, &c);
  assert_int_equal(dc_cmd_encode(&c, &b), DC_OK);
  uint8_t *p = b.data;

  p[0] = 0xdd; /* magic */
  assert_int_equal(decode_cmd_exact(p, b.len, &d), DC_EPROTO);
  assert_true(cmd_zero(&d));
  p[0] = 0xdc;
  p[1] = 0x02;
  assert_int_equal(decode_cmd_exact(p, b.len, &d), DC_EPROTO);
  p[1] = 0x01;

  static const uint8_t bad_versions[] = {0, DC_CMD_CODEC_VERSION + 1, 0xff};
  for (size_t i = 0; i < sizeof bad_versions; i++) {
    p[2] = bad_versions[i];
    assert_int_equal(decode_cmd_exact(p, b.len, &d), DC_EVERSION);
    assert_true(cmd_zero(&d));
  }
  p[2] = DC_CMD_CODEC_VERSION;

  static const uint16_t bad_types[] = {0, 11, 0x100, 0xffff};
  for (size_t i = 0; i < DC_ARRAY_LEN(bad_types); i++) {
    p[3] = (uint8_t)(bad_types[i] >> 8);
    p[4] = (uint8_t)bad_types[i];
    assert_int_equal(decode_cmd_exact(p, b.len, &d), DC_EPROTO);
    assert_true(cmd_zero(&d));
  }
  p[3] = 0;
  p[4] = DC_CMD_NODE_DEAD;
  assert_int_equal(decode_cmd_exact(p, b.len, &d), DC_OK);
  dc_cmd_free(&d);

  assert_int_equal(decode_cmd_exact(p, 0, &d), DC_ETRUNCATED);
  assert_int_equal(dc_cmd_decode(NULL, 0, &d), DC_ETRUNCATED);

  /* Encoders refuse what decoders would. */
  c.type = 11;
  assert_int_equal(dc_cmd_encode(&c, &b), DC_EINVAL);
  c.type = DC_CMD_NODE_DEAD;
  dc_cmd_free(&c);
  dc_buf_free(&b);
}

static void test_msg_unknown_type_refused(void **state) {
  (void)state;
  struct dc_msg d;
  static const uint8_t bad[] = {0, 1, 31, 44, 0xff};
  static const uint8_t payload[64];
  for (size_t i = 0; i < sizeof bad; i++) {
    assert_int_equal(dc_msg_decode(bad[i], payload, sizeof payload, &d),
                     DC_EPROTO);
    assert_true(msg_zero(&d));
    struct dc_msg m = {.type = bad[i]};
    struct dc_buf b = {0};
    assert_int_equal(dc_msg_encode(&m, &b), DC_EINVAL);
    assert_int_equal(b.len, 0);
    dc_buf_free(&b);
  }
}

static void test_type_names(void **state) {
  (void)state;
  assert_string_equal(dc_cmd_type_name(DC_CMD_MIGRATE), "migrate");
  assert_string_equal(dc_cmd_type_name(DC_CMD_TASK_FINISHED), "task_finished");
  assert_string_equal(dc_cmd_type_name(0), "unknown");
  assert_string_equal(dc_cmd_type_name(11), "unknown");
  assert_string_equal(dc_cmd_type_name(0xffff), "unknown");
  assert_string_equal(dc_msg_type_name(DC_MSG_REGISTER), "register");
  assert_string_equal(dc_msg_type_name(DC_MSG_KILL_TASK), "kill_task");
  assert_string_equal(dc_msg_type_name(31), "unknown");
  assert_string_equal(dc_msg_type_name(44), "unknown");
  assert_string_equal(dc_msg_type_name(0), "unknown");
  for (size_t t = 0; t < fx_ncmd_types; t++)
    assert_string_not_equal(dc_cmd_type_name(fx_cmd_types[t]), "unknown");
  for (size_t t = 0; t < fx_nmsg_types; t++)
    assert_string_not_equal(dc_msg_type_name(fx_msg_types[t]), "unknown");
}

/* ---- allocation failure ------------------------------------------------------ */

/* Fails each allocation of a decode in turn: every run must report
 * DC_ENOMEM, leave out zeroed and (checked by LeakSanitizer) leak nothing. */
static void alloc_loop_cmd(const struct dc_cmd *c) {
  struct dc_buf b = {0};
  struct dc_cmd d;
  assert_int_equal(dc_cmd_encode(c, &b), DC_OK);
  dc_alloc_fail_after(0);
  assert_int_equal(dc_cmd_decode(b.data, b.len, &d), DC_OK);
  long total = dc_alloc_count();
  dc_cmd_free(&d);
  for (long i = 1; i <= total; i++) {
    dc_alloc_fail_after(i);
    int rc = dc_cmd_decode(b.data, b.len, &d);
    dc_alloc_fail_after(0);
    assert_int_equal(rc, DC_ENOMEM);
    assert_true(cmd_zero(&d));
  }
  /* Encoding into a fresh buffer fails cleanly too. */
  struct dc_buf e = {0};
  dc_alloc_fail_after(0);
  assert_int_equal(dc_cmd_encode(c, &e), DC_OK);
  total = dc_alloc_count();
  dc_buf_free(&e);
  for (long i = 1; i <= total; i++) {
    dc_alloc_fail_after(i);
    int rc = dc_cmd_encode(c, &e);
    dc_alloc_fail_after(0);
    assert_int_equal(rc, DC_ENOMEM);
    assert_int_equal(e.len, 0);
    dc_buf_free(&e);
  }
  dc_buf_free(&b);
}

static void alloc_loop_msg(const struct dc_msg *m) {
  struct dc_buf b = {0};
  struct dc_msg d;
  assert_int_equal(dc_msg_encode(m, &b), DC_OK);
  dc_alloc_fail_after(0);
  assert_int_equal(dc_msg_decode(m->type, b.data, b.len, &d), DC_OK);
  long total = dc_alloc_count();
  dc_msg_free(&d);
  for (long i = 1; i <= total; i++) {
    dc_alloc_fail_after(i);
    int rc = dc_msg_decode(m->type, b.data, b.len, &d);
    dc_alloc_fail_after(0);
    assert_int_equal(rc, DC_ENOMEM);
    assert_true(msg_zero(&d));
  }
  dc_buf_free(&b);
}

static void test_alloc_failure_decode(void **state) {
  (void)state;
  struct dc_cmd c;
  for (size_t t = 0; t < fx_ncmd_types; t++) {
    fx_cmd(fx_cmd_types[t], FX_SMALL, &c);
    alloc_loop_cmd(&c);
    dc_cmd_free(&c);
  }
  /* The large ones: a full result (32 files, 1 MiB) and 300 assignments. */
  fx_cmd(DC_CMD_TASK_FINISHED, FX_MAX, &c);
  alloc_loop_cmd(&c);
  dc_cmd_free(&c);
  fx_cmd(DC_CMD_NODE_REGISTER, FX_MAX, &c);
  alloc_loop_cmd(&c);
  dc_cmd_free(&c);
  fx_cmd(DC_CMD_TASK_ASSIGN, FX_SMALL, &c);
  struct dc_cmd_task_assign *a = &c.u.task_assign;
  dc_free(a->items[0].task_id);
  dc_free(a->items[1].task_id);
  dc_free(a->items[2].task_id);
  dc_free(a->items);
  a->n = 300;
  a->items = dc_calloc(a->n, sizeof *a->items);
  assert_non_null(a->items);
  for (size_t i = 0; i < a->n; i++) a->items[i].task_id = fx_str(40, 'k');
  alloc_loop_cmd(&c);
  dc_cmd_free(&c);

  struct dc_msg m;
  for (size_t t = 0; t < fx_nmsg_types; t++) {
    fx_msg(fx_msg_types[t], FX_SMALL, &m);
    alloc_loop_msg(&m);
    dc_msg_free(&m);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_cmd_roundtrip_all),
      cmocka_unit_test(test_msg_roundtrip_all),
      cmocka_unit_test(test_null_strings_decode_empty),
      cmocka_unit_test(test_encode_appends_and_restores),
      cmocka_unit_test(test_cmd_golden_bytes),
      cmocka_unit_test(test_cmd_truncated_every_offset),
      cmocka_unit_test(test_msg_truncated_every_offset),
      cmocka_unit_test(test_trailing_byte_refused),
      cmocka_unit_test(test_cmd_header_refused),
      cmocka_unit_test(test_msg_unknown_type_refused),
      cmocka_unit_test(test_type_names),
      cmocka_unit_test(test_alloc_failure_decode),
  };
  int failed = cmocka_run_group_tests_name("proto", tests, NULL, NULL);
  return failed + test_proto_limits_run();
}
