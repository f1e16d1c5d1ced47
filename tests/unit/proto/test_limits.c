/* SPDX-License-Identifier: Apache-2.0
 * proto limits and validation: every bounded field accepted at its limit and
 * refused one byte over (by encoder and decoder), list counts, coordinates,
 * enum-like bytes, and the provider signatures over results and heartbeats. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fixtures.h"
#include "proto/proto.h"
#include "tests/lib/testlib.h"

union obj {
  struct dc_cmd c;
  struct dc_msg m;
};

static bool obj_zero(const union obj *o, bool msg) {
  static const union obj z;
  return msg ? memcmp(&o->m, &z.m, sizeof z.m) == 0
             : memcmp(&o->c, &z.c, sizeof z.c) == 0;
}
static int enc(bool msg, const union obj *o, struct dc_buf *b) {
  return msg ? dc_msg_encode(&o->m, b) : dc_cmd_encode(&o->c, b);
}
static int dec(bool msg, unsigned type, const uint8_t *p, size_t n,
               union obj *o) {
  return msg ? dc_msg_decode((uint8_t)type, p, n, &o->m)
             : dc_cmd_decode(p, n, &o->c);
}
static void obj_free(bool msg, union obj *o) {
  if (msg)
    dc_msg_free(&o->m);
  else
    dc_cmd_free(&o->c);
}
static void obj_fx(bool msg, unsigned type, enum fx_mode mode, union obj *o) {
  if (msg)
    fx_msg((uint8_t)type, mode, &o->m);
  else
    fx_cmd((uint16_t)type, mode, &o->c);
}

/* ---- every bounded string / bytes field ------------------------------------ */

#define SET_STR(fn, T, f)                                                   \
  static void fn(union obj *o, char *s, size_t n) {                         \
    T *x = (T *)o;                                                          \
    (void)n;                                                                \
    dc_free(x->f);                                                          \
    x->f = s;                                                               \
  }
#define SET_BYTES(fn, T, f, lf)                                             \
  static void fn(union obj *o, char *s, size_t n) {                         \
    T *x = (T *)o;                                                          \
    dc_free(x->f);                                                          \
    x->f = (uint8_t *)s;                                                    \
    x->lf = n;                                                              \
  }
SET_STR(c_name, struct dc_cmd, u.node_register.node.name)
SET_STR(c_addr, struct dc_cmd, u.node_register.node.addr)
SET_STR(c_classes, struct dc_cmd, u.node_register.node.classes)
SET_STR(c_labels, struct dc_cmd, u.node_register.node.labels_json)
SET_STR(c_sandbox, struct dc_cmd, u.node_register.node.sandbox)
SET_STR(c_dead_reason, struct dc_cmd, u.node_dead.reason)
SET_STR(c_idem, struct dc_cmd, u.job_submit.idem_key)
SET_STR(c_spec, struct dc_cmd, u.job_submit.spec_json)
SET_STR(c_assign_tid, struct dc_cmd, u.task_assign.items[0].task_id)
SET_STR(c_started_tid, struct dc_cmd, u.task_started.task_id)
SET_STR(c_res_tid, struct dc_cmd, u.task_finished.r.task_id)
SET_STR(c_res_mech, struct dc_cmd, u.task_finished.r.mechanism)
SET_STR(c_res_reason, struct dc_cmd, u.task_finished.r.reason)
SET_STR(c_res_path, struct dc_cmd, u.task_finished.r.outputs[0].path)
SET_BYTES(c_res_data, struct dc_cmd, u.task_finished.r.outputs[0].data,
          u.task_finished.r.outputs[0].len)
SET_STR(m_reg_sandbox, struct dc_msg, u.reg.node.sandbox)
SET_STR(m_reg_tid, struct dc_msg, u.reg.running[1].task_id)
SET_STR(m_hb_tid, struct dc_msg, u.heartbeat.tasks[0].task_id)
SET_STR(m_run_tid, struct dc_msg, u.run_task.task_id)
SET_STR(m_run_name, struct dc_msg, u.run_task.task_name)
SET_STR(m_run_json, struct dc_msg, u.run_task.task_json)
SET_STR(m_started_tid, struct dc_msg, u.task_started.task_id)
SET_STR(m_log_tid, struct dc_msg, u.task_log.task_id)
SET_BYTES(m_log_data, struct dc_msg, u.task_log.data, u.task_log.len)
SET_STR(m_done_reason, struct dc_msg, u.task_done.reason)
SET_STR(m_done_path, struct dc_msg, u.task_done.outputs[1].path)
SET_STR(m_ack_tid, struct dc_msg, u.task_ack.task_id)
SET_STR(m_ack_reason, struct dc_msg, u.task_ack.reason)
SET_STR(m_kill_tid, struct dc_msg, u.kill_task.task_id)
SET_STR(m_kill_reason, struct dc_msg, u.kill_task.reason)

struct bounded {
  bool msg;
  unsigned type;
  void (*set)(union obj *o, char *s, size_t n);
  size_t max;
};
static const struct bounded bounded[] = {
    {false, DC_CMD_NODE_REGISTER, c_name, DC_NODE_NAME_MAX},
    {false, DC_CMD_NODE_REGISTER, c_addr, DC_NODE_ADDR_MAX},
    {false, DC_CMD_NODE_REGISTER, c_classes, DC_NODE_CLASSES_MAX},
    {false, DC_CMD_NODE_REGISTER, c_labels, DC_NODE_LABELS_MAX},
    {false, DC_CMD_NODE_REGISTER, c_sandbox, DC_NODE_SANDBOX_MAX},
    {false, DC_CMD_NODE_DEAD, c_dead_reason, DC_DEAD_REASON_MAX},
    {false, DC_CMD_JOB_SUBMIT, c_idem, DC_IDEM_KEY_MAX},
    {false, DC_CMD_JOB_SUBMIT, c_spec, DC_SPEC_JSON_MAX},
    {false, DC_CMD_TASK_ASSIGN, c_assign_tid, DC_TASK_ID_MAX},
    {false, DC_CMD_TASK_STARTED, c_started_tid, DC_TASK_ID_MAX},
    {false, DC_CMD_TASK_FINISHED, c_res_tid, DC_TASK_ID_MAX},
    {false, DC_CMD_TASK_FINISHED, c_res_mech, DC_MECHANISM_MAX},
    {false, DC_CMD_TASK_FINISHED, c_res_reason, DC_RESULT_REASON_MAX},
    {false, DC_CMD_TASK_FINISHED, c_res_path, DC_OUTPUT_PATH_MAX},
    {false, DC_CMD_TASK_FINISHED, c_res_data, DC_OUTPUTS_BYTES_MAX},
    {true, DC_MSG_REGISTER, m_reg_sandbox, DC_NODE_SANDBOX_MAX},
    {true, DC_MSG_REGISTER, m_reg_tid, DC_TASK_ID_MAX},
    {true, DC_MSG_HEARTBEAT, m_hb_tid, DC_TASK_ID_MAX},
    {true, DC_MSG_RUN_TASK, m_run_tid, DC_TASK_ID_MAX},
    {true, DC_MSG_RUN_TASK, m_run_name, DC_TASK_NAME_MAX},
    {true, DC_MSG_RUN_TASK, m_run_json, DC_TASK_JSON_MAX},
    {true, DC_MSG_TASK_STARTED, m_started_tid, DC_TASK_ID_MAX},
    {true, DC_MSG_TASK_LOG, m_log_tid, DC_TASK_ID_MAX},
    {true, DC_MSG_TASK_LOG, m_log_data, DC_LOG_CHUNK_MAX},
    {true, DC_MSG_TASK_DONE, m_done_reason, DC_RESULT_REASON_MAX},
    {true, DC_MSG_TASK_DONE, m_done_path, DC_OUTPUT_PATH_MAX},
    {true, DC_MSG_TASK_ACK, m_ack_tid, DC_TASK_ID_MAX},
    {true, DC_MSG_TASK_ACK, m_ack_reason, DC_MSG_REASON_MAX},
    {true, DC_MSG_KILL_TASK, m_kill_tid, DC_TASK_ID_MAX},
    {true, DC_MSG_KILL_TASK, m_kill_reason, DC_MSG_REASON_MAX},
};

static void test_every_bounded_field(void **state) {
  (void)state;
  for (size_t i = 0; i < DC_ARRAY_LEN(bounded); i++) {
    const struct bounded *e = &bounded[i];
    union obj o, d;
    struct dc_buf b = {0}, g = {0};
    print_message("field %zu (%s, max %zu)\n", i,
                  e->msg ? dc_msg_type_name((uint8_t)e->type)
                         : dc_cmd_type_name((uint16_t)e->type),
                  e->max);
    obj_fx(e->msg, e->type, FX_SMALL, &o);
    /* At the limit: accepted both ways. */
    e->set(&o, fx_str(e->max, '~'), e->max);
    assert_int_equal(enc(e->msg, &o, &b), DC_OK);
    assert_int_equal(dec(e->msg, e->type, b.data, b.len, &d), DC_OK);
    obj_free(e->msg, &d);
    /* One byte over, as bytes on the wire: the decoder refuses. */
    size_t off = fx_find_len(b.data, b.len, (uint32_t)e->max, '~');
    assert_true(off != SIZE_MAX);
    fx_grow_field(b.data, b.len, off, '~', &g);
    assert_int_equal(dec(e->msg, e->type, g.data, g.len, &d), DC_ETOOBIG);
    assert_true(obj_zero(&d, e->msg));
    /* One byte over, as a value: the encoder refuses and writes nothing. */
    dc_buf_reset(&b);
    e->set(&o, fx_str(e->max + 1, '~'), e->max + 1);
    assert_int_equal(enc(e->msg, &o, &b), DC_ETOOBIG);
    assert_int_equal(b.len, 0);
    obj_free(e->msg, &o);
    dc_buf_free(&b);
    dc_buf_free(&g);
  }
}

/* ---- list counts ------------------------------------------------------------ */

struct counted {
  bool msg;
  unsigned type;
  size_t max;
  size_t min;
  size_t from_end; /* count offset from the end of the EMPTY-list encoding */
};

static void patch_count(const struct counted *e, const uint8_t *p, size_t n,
                        size_t off, uint32_t v, int want) {
  union obj d;
  uint8_t *q = malloc(n);
  assert_non_null(q);
  memcpy(q, p, n);
  fx_put_be32(q + off, v);
  dc_alloc_fail_after(0);
  assert_int_equal(dec(e->msg, e->type, q, n, &d), want);
  assert_true(obj_zero(&d, e->msg));
  free(q);
}

static void test_list_counts(void **state) {
  (void)state;
  static const struct counted lists[] = {
      {false, DC_CMD_TASK_ASSIGN, DC_ASSIGN_MAX, 1, 0},
      {true, DC_MSG_REGISTER, DC_RUNNING_MAX, 0, 4},
      {true, DC_MSG_HEARTBEAT, DC_HB_TASKS_MAX, 0, 4 + DC_SIG_BYTES},
      {true, DC_MSG_TASK_DONE, DC_OUTPUTS_MAX, 0, 4 + DC_SIG_BYTES},
  };
  for (size_t i = 0; i < DC_ARRAY_LEN(lists); i++) {
    const struct counted *e = &lists[i];
    union obj o;
    struct dc_buf b = {0};
    obj_fx(e->msg, e->type, FX_EMPTY, &o);
    assert_int_equal(enc(e->msg, &o, &b), DC_OK);
    /* TASK_ASSIGN's count follows the header; the others sit near the end. */
    size_t off = e->msg ? b.len - e->from_end : DC_CMD_HEADER_BYTES;
    patch_count(e, b.data, b.len, off, (uint32_t)e->max + 1, DC_ETOOBIG);
    patch_count(e, b.data, b.len, off, UINT32_MAX, DC_ETOOBIG);
    /* A count the remaining bytes cannot hold allocates nothing. */
    patch_count(e, b.data, b.len, off, (uint32_t)e->max, DC_ETRUNCATED);
    assert_true(dc_alloc_count() <= 8);
    if (e->min) patch_count(e, b.data, b.len, off, 0, DC_EPROTO);
    obj_free(e->msg, &o);
    dc_buf_free(&b);
  }
  /* Encoders refuse over-long lists (and TASK_ASSIGN with none). */
  struct dc_cmd c;
  struct dc_buf b = {0};
  fx_cmd(DC_CMD_TASK_ASSIGN, FX_SMALL, &c);
  size_t n = c.u.task_assign.n;
  c.u.task_assign.n = DC_ASSIGN_MAX + 1;
  assert_int_equal(dc_cmd_encode(&c, &b), DC_ETOOBIG);
  c.u.task_assign.n = 0;
  assert_int_equal(dc_cmd_encode(&c, &b), DC_EINVAL);
  c.u.task_assign.n = n;
  dc_cmd_free(&c);
  struct dc_msg m;
  fx_msg(DC_MSG_REGISTER, FX_SMALL, &m);
  n = m.u.reg.nrunning;
  m.u.reg.nrunning = DC_RUNNING_MAX + 1;
  assert_int_equal(dc_msg_encode(&m, &b), DC_ETOOBIG);
  m.u.reg.nrunning = n;
  dc_msg_free(&m);
  fx_msg(DC_MSG_HEARTBEAT, FX_SMALL, &m);
  n = m.u.heartbeat.ntasks;
  m.u.heartbeat.ntasks = DC_HB_TASKS_MAX + 1;
  assert_int_equal(dc_msg_encode(&m, &b), DC_ETOOBIG);
  m.u.heartbeat.ntasks = n;
  dc_msg_free(&m);
  fx_msg(DC_MSG_TASK_DONE, FX_SMALL, &m);
  n = m.u.task_done.noutputs;
  m.u.task_done.noutputs = DC_OUTPUTS_MAX + 1;
  assert_int_equal(dc_msg_encode(&m, &b), DC_ETOOBIG);
  m.u.task_done.noutputs = n;
  dc_msg_free(&m);
  assert_int_equal(b.len, 0);
  dc_buf_free(&b);
}

/* The output budget is shared by all files of a result. */
static void test_outputs_total(void **state) {
  (void)state;
  const size_t half = DC_OUTPUTS_BYTES_MAX / 2;
  struct dc_msg m, d;
  struct dc_buf b = {0}, g = {0};
  fx_msg(DC_MSG_TASK_DONE, FX_SMALL, &m);
  struct dc_output_file *f = m.u.task_done.outputs;
  dc_free(f[0].data);
  dc_free(f[1].data);
  f[0].data = (uint8_t *)fx_str(half, '~');
  f[0].len = half;
  f[1].data = (uint8_t *)fx_str(half, '^');
  f[1].len = half;
  assert_int_equal(dc_msg_encode(&m, &b), DC_OK);
  assert_int_equal(dc_msg_decode(m.type, b.data, b.len, &d), DC_OK);
  dc_msg_free(&d);
  size_t off = fx_find_len(b.data, b.len, (uint32_t)half, '^');
  assert_true(off != SIZE_MAX);
  fx_grow_field(b.data, b.len, off, '^', &g);
  assert_int_equal(dc_msg_decode(m.type, g.data, g.len, &d), DC_ETOOBIG);
  dc_buf_reset(&b);
  f[1].len = half + 1; /* reads one byte of the NUL: never sent */
  assert_int_equal(dc_msg_encode(&m, &b), DC_ETOOBIG);
  f[1].len = half;
  dc_msg_free(&m);
  dc_buf_free(&b);
  dc_buf_free(&g);
}

/* ---- values ------------------------------------------------------------------ */

static size_t find(const uint8_t *p, size_t n, const void *pat, size_t k) {
  for (size_t i = 0; i + k <= n; i++)
    if (memcmp(p + i, pat, k) == 0) return i;
  return SIZE_MAX;
}
static void be64(uint8_t *p, double v) {
  uint64_t u;
  memcpy(&u, &v, sizeof u);
  for (int i = 0; i < 8; i++) p[i] = (uint8_t)(u >> (56 - 8 * i));
}

static void test_coordinates(void **state) {
  (void)state;
  static const double bad[][2] = {{NAN, 0},      {0, NAN},      {INFINITY, 0},
                                  {0, -INFINITY}, {90.0001, 0}, {-90.5, 0},
                                  {0, 180.0001}, {0, -181}};
  struct dc_cmd c, d;
  struct dc_buf b = {0};
  fx_cmd(DC_CMD_NODE_REGISTER, FX_SMALL, &c);
  struct dc_node_info *ni = &c.u.node_register.node;
  for (size_t i = 0; i < DC_ARRAY_LEN(bad); i++) {
    ni->lat = bad[i][0];
    ni->lon = bad[i][1];
    assert_int_equal(dc_cmd_encode(&c, &b), DC_EINVAL);
    assert_int_equal(b.len, 0);
  }
  ni->lat = 12.25;
  ni->lon = -180.0;
  assert_int_equal(dc_cmd_encode(&c, &b), DC_OK);
  uint8_t pat[8];
  be64(pat, 12.25);
  size_t off = find(b.data, b.len, pat, 8);
  assert_true(off != SIZE_MAX);
  /* The same values as bytes on the wire: the decoder refuses them. */
  for (size_t i = 0; i < DC_ARRAY_LEN(bad); i++) {
    uint8_t saved[16];
    memcpy(saved, b.data + off, 16);
    be64(b.data + off, bad[i][0]);
    be64(b.data + off + 8, bad[i][1]);
    int rc = dc_cmd_decode(b.data, b.len, &d);
    memcpy(b.data + off, saved, 16);
    assert_int_equal(rc, DC_EPROTO);
    assert_true(memcmp(&d, &(struct dc_cmd){0}, sizeof d) == 0);
  }
  assert_int_equal(dc_cmd_decode(b.data, b.len, &d), DC_OK);
  assert_true(d.u.node_register.node.lon == -180.0);
  dc_cmd_free(&d);
  dc_cmd_free(&c);
  dc_buf_free(&b);
}

static void patch_dec_msg(const struct dc_buf *b, uint8_t type, size_t off,
                          uint8_t v, int want) {
  struct dc_msg d;
  uint8_t saved = b->data[off];
  b->data[off] = v;
  int rc = dc_msg_decode(type, b->data, b->len, &d);
  b->data[off] = saved;
  assert_int_equal(rc, want);
  if (rc) assert_true(memcmp(&d, &(struct dc_msg){0}, sizeof d) == 0);
  dc_msg_free(&d);
}

static void test_invalid_values(void **state) {
  (void)state;
  struct dc_buf b = {0};
  struct dc_cmd c, d;

  /* Job ids: exactly 32 lowercase hex chars. */
  fx_cmd(DC_CMD_JOB_CANCEL, FX_SMALL, &c);
  assert_int_equal(dc_cmd_encode(&c, &b), DC_OK);
  static const char bad_hex[] = {'A', 'g', ' ', '\0', (char)0xc3};
  for (size_t i = 0; i < sizeof bad_hex; i++) {
    uint8_t saved = b.data[DC_CMD_HEADER_BYTES + 5];
    b.data[DC_CMD_HEADER_BYTES + 5] = (uint8_t)bad_hex[i];
    assert_int_equal(dc_cmd_decode(b.data, b.len, &d), DC_EPROTO);
    b.data[DC_CMD_HEADER_BYTES + 5] = saved;
  }
  dc_buf_reset(&b);
  c.u.job_cancel.job_id[5] = 'A';
  assert_int_equal(dc_cmd_encode(&c, &b), DC_EINVAL);
  c.u.job_cancel.job_id[5] = '\0'; /* 5 chars */
  assert_int_equal(dc_cmd_encode(&c, &b), DC_EINVAL);
  dc_cmd_free(&c);

  /* Task ids are never empty. */
  fx_cmd(DC_CMD_TASK_STARTED, FX_SMALL, &c);
  c.u.task_started.task_id[0] = '\0';
  assert_int_equal(dc_cmd_encode(&c, &b), DC_EINVAL);
  dc_free(c.u.task_started.task_id);
  c.u.task_started.task_id = NULL;
  assert_int_equal(dc_cmd_encode(&c, &b), DC_EINVAL);
  dc_cmd_free(&c);
  struct dc_msg m;
  assert_int_equal(dc_buf_put_str(&b, ""), DC_OK);
  assert_int_equal(dc_buf_put_u32(&b, 1), DC_OK);
  assert_int_equal(dc_buf_put_i64(&b, 5), DC_OK);
  assert_int_equal(dc_msg_decode(DC_MSG_TASK_STARTED, b.data, b.len, &m),
                   DC_EPROTO);
  dc_buf_reset(&b);

  /* Embedded NUL in a string. */
  fx_cmd(DC_CMD_NODE_DEAD, FX_SMALL, &c);
  assert_int_equal(dc_cmd_encode(&c, &b), DC_OK);
  size_t off = find(b.data, b.len, "suspect", 7);
  b.data[off + 2] = 0;
  assert_int_equal(dc_cmd_decode(b.data, b.len, &d), DC_EPROTO);
  dc_cmd_free(&c);
  dc_buf_reset(&b);

  /* Outcome 1..6, stream 1|2, accepted 0|1: one spelling per value. */
  fx_msg(DC_MSG_TASK_DONE, FX_SMALL, &m);
  assert_int_equal(dc_msg_encode(&m, &b), DC_OK);
  size_t oc = 4 + strlen(m.u.task_done.task_id) + 4 + DC_PK_BYTES;
  assert_int_equal(b.data[oc], m.u.task_done.outcome);
  patch_dec_msg(&b, m.type, oc, 0, DC_EPROTO);
  patch_dec_msg(&b, m.type, oc, 7, DC_EPROTO);
  patch_dec_msg(&b, m.type, oc, DC_OUTCOME_KILLED, DC_OK);
  dc_buf_reset(&b);
  m.u.task_done.outcome = 0;
  assert_int_equal(dc_msg_encode(&m, &b), DC_EINVAL);
  m.u.task_done.outcome = 7;
  assert_int_equal(dc_msg_encode(&m, &b), DC_EINVAL);
  m.u.task_done.outcome = 1;
  dc_free(m.u.task_done.outputs[0].path);
  m.u.task_done.outputs[0].path = fx_str(0, 0);
  assert_int_equal(dc_msg_encode(&m, &b), DC_EINVAL);
  dc_msg_free(&m);

  fx_msg(DC_MSG_TASK_LOG, FX_SMALL, &m);
  assert_int_equal(dc_msg_encode(&m, &b), DC_OK);
  size_t so = 4 + strlen(m.u.task_log.task_id) + 4;
  patch_dec_msg(&b, m.type, so, 0, DC_EPROTO);
  patch_dec_msg(&b, m.type, so, 3, DC_EPROTO);
  patch_dec_msg(&b, m.type, so, DC_STREAM_STDOUT, DC_OK);
  dc_buf_reset(&b);
  m.u.task_log.stream = 3;
  assert_int_equal(dc_msg_encode(&m, &b), DC_EINVAL);
  m.u.task_log.stream = DC_STREAM_STDOUT;
  dc_free(m.u.task_log.data);
  m.u.task_log.data = NULL; /* len still 6 */
  assert_int_equal(dc_msg_encode(&m, &b), DC_EINVAL);
  dc_msg_free(&m);

  fx_msg(DC_MSG_TASK_ACK, FX_SMALL, &m);
  assert_int_equal(dc_msg_encode(&m, &b), DC_OK);
  size_t ao = 4 + strlen(m.u.task_ack.task_id) + 4;
  patch_dec_msg(&b, m.type, ao, 2, DC_EPROTO);
  patch_dec_msg(&b, m.type, ao, 0xff, DC_EPROTO);
  patch_dec_msg(&b, m.type, ao, 0, DC_OK);
  dc_buf_reset(&b);
  m.u.task_ack.accepted = 2;
  assert_int_equal(dc_msg_encode(&m, &b), DC_EINVAL);
  dc_msg_free(&m);

  fx_msg(DC_MSG_RUN_TASK, FX_SMALL, &m);
  dc_free(m.u.run_task.job_id);
  m.u.run_task.job_id = NULL;
  assert_int_equal(dc_msg_encode(&m, &b), DC_EINVAL);
  dc_msg_free(&m);
  assert_int_equal(b.len, 0);
  dc_buf_free(&b);
}

/* ---- signatures -------------------------------------------------------------- */

static int setup_crypto(void **state) {
  (void)state;
  return dc_crypto_init();
}

/* Flips one bit at every offset of an encoded message: each variant must be
 * refused by the decoder or fail verification. Returns how many decoded. */
static size_t flip_all(const struct dc_buf *b, uint8_t type,
                       const uint8_t pk[DC_PK_BYTES]) {
  size_t decoded = 0;
  for (size_t i = 0; i < b->len; i++) {
    for (int bit = 0; bit < 8; bit += 7) {
      struct dc_msg d;
      b->data[i] ^= (uint8_t)(1u << bit);
      int rc = dc_msg_decode(type, b->data, b->len, &d);
      b->data[i] ^= (uint8_t)(1u << bit);
      if (rc) continue;
      decoded++;
      if (type == DC_MSG_TASK_DONE)
        assert_int_equal(dc_task_result_verify(&d.u.task_done), DC_EBADSIG);
      else
        assert_int_equal(dc_msg_heartbeat_verify(&d.u.heartbeat, pk),
                         DC_EBADSIG);
      dc_msg_free(&d);
    }
  }
  return decoded;
}

static void test_result_signature(void **state) {
  (void)state;
  struct dc_identity id, other;
  assert_int_equal(dc_identity_generate(&id), DC_OK);
  assert_int_equal(dc_identity_generate(&other), DC_OK);
  struct dc_msg m, d;
  struct dc_buf b = {0}, sb = {0};
  fx_msg(DC_MSG_TASK_DONE, FX_SMALL, &m);
  struct dc_task_result *r = &m.u.task_done;
  memcpy(r->node_id, id.pk, DC_PK_BYTES);
  assert_int_equal(dc_task_result_sign(r, &other), DC_EINVAL);
  assert_int_equal(dc_task_result_sign(r, &id), DC_OK);
  assert_int_equal(dc_task_result_verify(r), DC_OK);

  /* Signing bytes = tag, then the encoding without the signature. */
  assert_int_equal(dc_msg_encode(&m, &b), DC_OK);
  assert_int_equal(dc_task_result_signing_bytes(r, &sb), DC_OK);
  assert_int_equal(sb.len, 4 + 12 + b.len - DC_SIG_BYTES);
  assert_memory_equal(sb.data, "\0\0\0\x0c" "dc-result-v1", 16);
  assert_memory_equal(sb.data + 16, b.data, b.len - DC_SIG_BYTES);

  /* The signature survives the wire and the log. */
  assert_int_equal(dc_msg_decode(m.type, b.data, b.len, &d), DC_OK);
  assert_int_equal(dc_task_result_verify(&d.u.task_done), DC_OK);
  struct dc_cmd c = {.type = DC_CMD_TASK_FINISHED, .proposal_id = 1};
  c.u.task_finished.r = d.u.task_done;
  memset(&d, 0, sizeof d); /* ownership moved into c */
  struct dc_buf cb = {0};
  struct dc_cmd cd;
  assert_int_equal(dc_cmd_encode(&c, &cb), DC_OK);
  assert_int_equal(dc_cmd_decode(cb.data, cb.len, &cd), DC_OK);
  assert_int_equal(dc_task_result_verify(&cd.u.task_finished.r), DC_OK);
  dc_cmd_free(&cd);
  dc_cmd_free(&c);
  dc_buf_free(&cb);

  size_t decoded = flip_all(&b, DC_MSG_TASK_DONE, NULL);
  /* Most flips land in values, ids or the signature and still decode: the
   * check above is not vacuous. */
  assert_true(decoded > b.len);

  r->attempt++;
  assert_int_equal(dc_task_result_verify(r), DC_EBADSIG);
  dc_msg_free(&m);
  dc_buf_free(&b);
  dc_buf_free(&sb);
  dc_identity_close(&id);
  dc_identity_close(&other);
}

static void test_heartbeat_signature(void **state) {
  (void)state;
  struct dc_identity id, other;
  assert_int_equal(dc_identity_generate(&id), DC_OK);
  assert_int_equal(dc_identity_generate(&other), DC_OK);
  struct dc_msg m;
  struct dc_buf b = {0}, sb = {0};
  fx_msg(DC_MSG_HEARTBEAT, FX_SMALL, &m);
  struct dc_msg_heartbeat *hb = &m.u.heartbeat;
  assert_int_equal(dc_msg_heartbeat_sign(hb, &id), DC_OK);
  assert_int_equal(dc_msg_heartbeat_verify(hb, id.pk), DC_OK);
  assert_int_equal(dc_msg_heartbeat_verify(hb, other.pk), DC_EBADSIG);

  assert_int_equal(dc_msg_encode(&m, &b), DC_OK);
  assert_int_equal(dc_msg_heartbeat_signing_bytes(hb, &sb), DC_OK);
  assert_int_equal(sb.len, 4 + 11 + b.len - DC_SIG_BYTES);
  assert_memory_equal(sb.data, "\0\0\0\x0b" "dc-usage-v1", 15);
  assert_memory_equal(sb.data + 15, b.data, b.len - DC_SIG_BYTES);

  size_t decoded = flip_all(&b, DC_MSG_HEARTBEAT, id.pk);
  assert_true(decoded > b.len);

  hb->tasks[1].cpu_us++;
  assert_int_equal(dc_msg_heartbeat_verify(hb, id.pk), DC_EBADSIG);
  dc_msg_free(&m);
  dc_buf_free(&b);
  dc_buf_free(&sb);
  dc_identity_close(&id);
  dc_identity_close(&other);
}

int test_proto_limits_run(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_every_bounded_field),
      cmocka_unit_test(test_list_counts),
      cmocka_unit_test(test_outputs_total),
      cmocka_unit_test(test_coordinates),
      cmocka_unit_test(test_invalid_values),
      cmocka_unit_test(test_result_signature),
      cmocka_unit_test(test_heartbeat_signature),
  };
  return cmocka_run_group_tests_name("proto_limits", tests, setup_crypto,
                                     NULL);
}
