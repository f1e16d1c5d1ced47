/* SPDX-License-Identifier: Apache-2.0
 * The pure ledger core: checked amounts, the transaction and system
 * operation codecs (exact, safe on garbage), signatures bound to kind, body
 * and chain id, PayWord chains, Merkle roots and block hashes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ledger/ledger.h"
#include "tests/lib/testlib.h"

static void test_amount_checked(void **state) {
  (void)state;
  uint64_t r = 7;
  assert_true(dc_amount_add(1, 2, &r) && r == 3);
  assert_false(dc_amount_add(DC_AMOUNT_MAX, 1, &r));
  assert_int_equal(r, 3);
  assert_false(dc_amount_add(UINT64_MAX, UINT64_MAX, &r));
  assert_false(dc_amount_sub(1, 2, &r));
  assert_true(dc_amount_sub(5, 5, &r) && r == 0);
  assert_false(dc_amount_mul(1ULL << 32, 1ULL << 31, &r));
  assert_true(dc_amount_mul(1ULL << 31, 1ULL << 31, &r) && r == 1ULL << 62);
}

static struct dc_tx sample(const struct dc_identity *id, uint8_t kind) {
  struct dc_tx t = {.version = DC_TX_VERSION, .kind = kind, .nonce = 3,
                    .amount = 1000, .length = 50, .timeout_blocks = 9};
  memcpy(t.account, id->pk, DC_PK_BYTES);
  memset(t.prev, 0xab, sizeof t.prev);
  memset(t.peer, 0x11, sizeof t.peer);
  memset(t.hash, 0x22, sizeof t.hash);
  memset(t.channel, 0x33, sizeof t.channel);
  return t;
}

static void test_tx_roundtrip_and_signature(void **state) {
  (void)state;
  struct dc_identity id, other;
  assert_int_equal(dc_identity_generate(&id), DC_OK);
  assert_int_equal(dc_identity_generate(&other), DC_OK);
  for (uint8_t k = DC_TX_TRANSFER; k <= DC_TX_CHANNEL_RECLAIM; k++) {
    struct dc_tx t = sample(&id, k), d;
    assert_int_equal(dc_tx_sign(&t, "test-chain", &id), DC_OK);
    struct dc_buf b = {0}, b2 = {0};
    assert_int_equal(dc_tx_encode(&t, &b), DC_OK);
    assert_true(b.len < DC_TX_MAX_BYTES);
    assert_int_equal(dc_tx_decode(b.data, b.len, &d), DC_OK);
    assert_int_equal(dc_tx_encode(&d, &b2), DC_OK);
    assert_int_equal(b.len, b2.len);
    assert_memory_equal(b.data, b2.data, b.len); /* exact */
    assert_int_equal(dc_tx_verify(&d, "test-chain"), DC_OK);
    assert_int_equal(dc_tx_verify(&d, "other-chain"), DC_EBADSIG);
    /* Every byte of the encoding matters: flip each, it decodes to
     * something else or nothing, and never verifies. */
    for (size_t i = 0; i < b.len; i++) {
      b.data[i] ^= 0x01;
      struct dc_tx e;
      if (dc_tx_decode(b.data, b.len, &e) == DC_OK)
        assert_int_equal(dc_tx_verify(&e, "test-chain"), DC_EBADSIG);
      b.data[i] ^= 0x01;
    }
    /* Truncations and trailing bytes are refused. */
    for (size_t n = 0; n < b.len; n++) assert_int_not_equal(dc_tx_decode(b.data, n, &d), DC_OK);
    assert_int_equal(dc_buf_put_u8(&b, 0), DC_OK);
    assert_int_equal(dc_tx_decode(b.data, b.len, &d), DC_EPROTO);
    dc_buf_free(&b);
    dc_buf_free(&b2);
    /* Someone else's key cannot sign for the account. */
    assert_int_equal(dc_tx_sign(&t, "test-chain", &other), DC_EINVAL);
  }
  struct dc_tx bad = sample(&id, 99);
  struct dc_buf b = {0};
  assert_int_equal(dc_tx_encode(&bad, &b), DC_EINVAL);
  assert_int_equal(b.len, 0);
  assert_string_equal(dc_tx_kind_name(DC_TX_CHANNEL_OPEN), "channel_open");
  assert_int_equal(dc_tx_kind_parse("withdraw"), DC_TX_WITHDRAW);
  assert_int_equal(dc_tx_kind_parse("mint"), 0);
  dc_identity_close(&id);
  dc_identity_close(&other);
}

static void test_tx_hash_is_body(void **state) {
  (void)state;
  struct dc_identity id;
  assert_int_equal(dc_identity_generate(&id), DC_OK);
  struct dc_tx t = sample(&id, DC_TX_TRANSFER);
  uint8_t h1[32], h2[32];
  assert_int_equal(dc_tx_hash(&t, h1), DC_OK);
  assert_int_equal(dc_tx_sign(&t, "c", &id), DC_OK);
  assert_int_equal(dc_tx_hash(&t, h2), DC_OK);
  assert_memory_equal(h1, h2, 32); /* the signature is not part of the id */
  t.nonce++;
  assert_int_equal(dc_tx_hash(&t, h2), DC_OK);
  assert_memory_not_equal(h1, h2, 32);
  dc_identity_close(&id);
}

static void test_sysop_roundtrip(void **state) {
  (void)state;
  struct dc_alloc al[2] = {{.amount = 5, .stake = 1}, {.amount = 7}};
  memset(al[0].account, 1, 32);
  memset(al[1].account, 2, 32);
  uint8_t ev[3] = {1, 2, 3};
  struct dc_sysop ops[8] = {
      {.kind = DC_SYS_GENESIS, .allocs = al, .nallocs = 2,
       .params = {.unbonding_blocks = 3, .min_stake = 10, .block_max = 100,
                  .channel_len_max = 1000, .channel_timeout_min = 2}},
      {.kind = DC_SYS_ESCROW_LOCK, .amount = 9},
      {.kind = DC_SYS_RESERVE, .amount = 3, .attempt = 2},
      {.kind = DC_SYS_SETTLE, .amount = 1, .attempt = 2},
      {.kind = DC_SYS_REFUND},
      {.kind = DC_SYS_SLASH, .amount = 4, .evidence_kind = 1, .evidence = ev,
       .evidence_len = 3},
      {.kind = DC_SYS_REWARD, .amount = 8},
      {.kind = DC_SYS_SEAL_BLOCK},
  };
  for (size_t i = 0; i < 8; i++) {
    struct dc_sysop *op = &ops[i], d;
    op->version = DC_SYSOP_VERSION;
    snprintf(op->chain_id, sizeof op->chain_id, "dev");
    snprintf(op->job_id, sizeof op->job_id, "0123456789abcdef0123456789abcdef");
    snprintf(op->task_id, sizeof op->task_id, "0123456789abcdef0123456789abcdef/t/0");
    struct dc_buf b = {0}, b2 = {0};
    assert_int_equal(dc_sysop_encode(op, &b), DC_OK);
    assert_int_equal(dc_sysop_decode(b.data, b.len, &d), DC_OK);
    assert_int_equal(dc_sysop_encode(&d, &b2), DC_OK);
    assert_int_equal(b.len, b2.len);
    assert_memory_equal(b.data, b2.data, b.len);
    for (size_t n = 0; n < b.len; n++) {
      struct dc_sysop e;
      assert_int_not_equal(dc_sysop_decode(b.data, n, &e), DC_OK);
    }
    dc_sysop_free(&d);
    dc_buf_free(&b);
    dc_buf_free(&b2);
  }
  /* A bad job id is refused both ways. */
  struct dc_sysop op = {.version = 1, .kind = DC_SYS_REFUND};
  snprintf(op.job_id, sizeof op.job_id, "XYZ");
  struct dc_buf b = {0};
  assert_int_equal(dc_sysop_encode(&op, &b), DC_EINVAL);
  assert_int_equal(b.len, 0);
  dc_buf_free(&b);
  /* A genesis claiming more allocations than its bytes hold allocates
   * nothing and is refused. */
  uint8_t g[] = {1, DC_SYS_GENESIS, 0, 0, 0, 1, 'x', 0, 0, 0, 0, 0, 0, 0, 0,
                 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                 0, 0, 0x0f, 0xff};
  struct dc_sysop d;
  assert_int_not_equal(dc_sysop_decode(g, sizeof g, &d), DC_OK);
}

static void test_payword(void **state) {
  (void)state;
  uint8_t seed[32], anchor[32], w[32], w1[32];
  memset(seed, 0x5a, 32);
  dc_payword_anchor(seed, 100, anchor);
  for (uint32_t i = 0; i <= 100; i += 7) {
    dc_payword_word(seed, 100, i, w);
    assert_true(dc_payword_check(anchor, w, i));
    assert_false(dc_payword_check(anchor, w, i + 1));
    if (i < 100) {
      dc_payword_word(seed, 100, i + 1, w1);
      assert_true(dc_payword_step(w, w1));
      assert_false(dc_payword_step(w1, w));
    }
  }
  assert_true(dc_payword_check(anchor, anchor, 0));
}

static void test_merkle_and_block(void **state) {
  (void)state;
  uint8_t leaves[5][32], copy[5][32], r5[32], r4[32];
  for (int i = 0; i < 5; i++)
    dc_block_leaf((uint64_t)i + 1, 0, (const uint8_t *)"cmd", 3, leaves[i]);
  memcpy(copy, leaves, sizeof copy);
  dc_merkle_root(copy, 5, r5);
  memcpy(copy, leaves, sizeof copy);
  dc_merkle_root(copy, 4, r4);
  assert_memory_not_equal(r4, r5, 32);
  /* The outcome is part of the leaf. */
  uint8_t l2[32];
  dc_block_leaf(1, 0, (const uint8_t *)"cmd", 3, l2);
  assert_memory_equal(l2, leaves[0], 32);
  dc_block_leaf(1, 15, (const uint8_t *)"cmd", 3, l2);
  assert_memory_not_equal(l2, leaves[0], 32);
  uint8_t zero[32] = {0}, r0[32];
  dc_merkle_root(copy, 0, r0);
  assert_memory_equal(r0, zero, 32);
  struct dc_block_header h = {.height = 3, .ncmds = 5, .time_ms = 42};
  memcpy(h.root, r5, 32);
  uint8_t a[32], b[32];
  dc_block_hash(&h, a);
  h.time_ms++;
  dc_block_hash(&h, b);
  assert_memory_not_equal(a, b, 32);
}

int main(void) {
  if (dc_crypto_init()) return 1;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_amount_checked),
      cmocka_unit_test(test_tx_roundtrip_and_signature),
      cmocka_unit_test(test_tx_hash_is_body),
      cmocka_unit_test(test_sysop_roundtrip),
      cmocka_unit_test(test_payword),
      cmocka_unit_test(test_merkle_and_block),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
