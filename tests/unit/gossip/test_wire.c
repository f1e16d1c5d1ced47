/* SPDX-License-Identifier: Apache-2.0
 * The packet codec: seal/open round trips, rejects (each counted), and key
 * rotation through the keyring. */
#include <sodium.h>
#include <string.h>

#include "base/base.h"
#include "gossip/gossip.h"
#include "tests/lib/testlib.h"

void gossip_wire_tests(const struct CMUnitTest **t, size_t *n);

static const uint8_t k1[32] = {1}, k2[32] = {2}, k3[32] = {3};

static void test_seal_open_round_trip(void **st) {
  (void)st;
  assert_int_equal(sodium_init() >= 0, 1);
  struct dc_gossip_keyring kr;
  assert_int_equal(dc_gossip_keyring_init(&kr, 7, k1), DC_OK);
  uint8_t body[1355], frame[DC_GOSSIP_FRAME_MAX], out[DC_GOSSIP_FRAME_MAX];
  for (size_t i = 0; i < sizeof body; i++) body[i] = (uint8_t)i;
  size_t fl = 0, ol = 0;
  assert_int_equal(dc_gossip_seal(&kr, body, sizeof body, DC_GOSSIP_FRAME_MAX, frame, &fl), DC_OK);
  assert_int_equal(fl, sizeof body + DC_GOSSIP_SEAL_OVERHEAD);
  assert_int_equal(fl, DC_GOSSIP_FRAME_MAX);
  uint32_t grp = 0;
  assert_int_equal(dc_gossip_frame_group(frame, fl, &grp), DC_OK);
  assert_int_equal(grp, 7);
  assert_int_equal(dc_gossip_open(&kr, frame, fl, DC_GOSSIP_FRAME_MAX, out, &ol), DC_OK);
  assert_int_equal(ol, sizeof body);
  assert_memory_equal(out, body, sizeof body);
  /* One byte more does not fit a datagram. */
  uint8_t big[1356] = {0};
  assert_int_equal(dc_gossip_seal(&kr, big, sizeof big, DC_GOSSIP_FRAME_MAX, frame, &fl), DC_ETOOBIG);
  assert_int_equal(kr.dropped, 0);
  dc_gossip_keyring_close(&kr);
}

static void test_open_rejects(void **st) {
  (void)st;
  struct dc_gossip_keyring kr, other, wrong_group;
  dc_gossip_keyring_init(&kr, 7, k1);
  dc_gossip_keyring_init(&other, 7, k2);
  dc_gossip_keyring_init(&wrong_group, 8, k1);
  uint8_t body[64] = "hello", frame[256], out[256];
  size_t fl, ol = 12345;
  dc_gossip_seal(&kr, body, sizeof body, DC_GOSSIP_FRAME_MAX, frame, &fl);
  /* Wrong key, wrong group, tampered ciphertext, tampered header
   * (authenticated), bad version, truncated, oversized. */
  assert_int_equal(dc_gossip_open(&other, frame, fl, DC_GOSSIP_FRAME_MAX, out, &ol), DC_ECRYPTO);
  assert_int_equal(dc_gossip_open(&wrong_group, frame, fl, DC_GOSSIP_FRAME_MAX, out, &ol), DC_EPROTO);
  frame[fl - 1] ^= 1;
  assert_int_equal(dc_gossip_open(&kr, frame, fl, DC_GOSSIP_FRAME_MAX, out, &ol), DC_ECRYPTO);
  frame[fl - 1] ^= 1;
  frame[0] = 2;
  assert_int_equal(dc_gossip_open(&kr, frame, fl, DC_GOSSIP_FRAME_MAX, out, &ol), DC_EVERSION);
  frame[0] = DC_GOSSIP_WIRE_VERSION;
  assert_int_equal(dc_gossip_open(&kr, frame, 10, DC_GOSSIP_FRAME_MAX, out, &ol), DC_ETRUNCATED);
  assert_int_equal(dc_gossip_open(&kr, frame, fl, 50, out, &ol), DC_ETOOBIG);
  assert_int_equal(ol, 12345); /* nothing written on failure */
  assert_int_equal(kr.dropped, 4);
  assert_int_equal(other.dropped, 1);
  assert_int_equal(wrong_group.dropped, 1);
  assert_int_equal(dc_gossip_open(&kr, frame, fl, DC_GOSSIP_FRAME_MAX, out, &ol), DC_OK);
  dc_gossip_keyring_close(&kr);
  dc_gossip_keyring_close(&other);
  dc_gossip_keyring_close(&wrong_group);
}

static void test_key_rotation(void **st) {
  (void)st;
  struct dc_gossip_keyring a, b;
  dc_gossip_keyring_init(&a, 1, k1);
  dc_gossip_keyring_init(&b, 1, k1);
  uint8_t body[10] = "rotate", frame[128], out[128];
  size_t fl, ol;
  /* Step 1: install k2 everywhere; k1 still encrypts. */
  assert_int_equal(dc_gossip_keyring_add(&a, k2), DC_OK);
  assert_int_equal(dc_gossip_keyring_add(&a, k2), DC_EEXISTS);
  assert_int_equal(dc_gossip_keyring_add(&b, k2), DC_OK);
  /* Step 2: a switches to k2; b (still on k1) reads it, and a reads b. */
  assert_int_equal(dc_gossip_keyring_use(&a, k2), DC_OK);
  assert_int_equal(dc_gossip_keyring_use(&a, k3), DC_ENOTFOUND);
  dc_gossip_seal(&a, body, sizeof body, DC_GOSSIP_FRAME_MAX, frame, &fl);
  assert_int_equal(dc_gossip_open(&b, frame, fl, DC_GOSSIP_FRAME_MAX, out, &ol), DC_OK);
  dc_gossip_seal(&b, body, sizeof body, DC_GOSSIP_FRAME_MAX, frame, &fl);
  assert_int_equal(dc_gossip_open(&a, frame, fl, DC_GOSSIP_FRAME_MAX, out, &ol), DC_OK);
  /* Step 3: remove k1; the primary cannot be removed. */
  assert_int_equal(dc_gossip_keyring_remove(&a, k2), DC_EINVAL);
  assert_int_equal(dc_gossip_keyring_remove(&a, k1), DC_OK);
  assert_int_equal(dc_gossip_keyring_remove(&a, k1), DC_ENOTFOUND);
  assert_int_equal(a.nkeys, 1);
  /* b still seals with k1: a refuses it now. */
  assert_int_equal(dc_gossip_open(&a, frame, fl, DC_GOSSIP_FRAME_MAX, out, &ol), DC_ECRYPTO);
  for (int i = 0; i < DC_GOSSIP_KEYS_MAX - 1; i++) {
    uint8_t k[32] = {0x40, (uint8_t)i};
    assert_int_equal(dc_gossip_keyring_add(&a, k), DC_OK);
  }
  assert_int_equal(dc_gossip_keyring_add(&a, k3), DC_ETOOBIG);
  dc_gossip_keyring_close(&a);
  dc_gossip_keyring_close(&b);
}

void gossip_wire_tests(const struct CMUnitTest **t, size_t *n) {
  static const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_seal_open_round_trip),
      cmocka_unit_test(test_open_rejects),
      cmocka_unit_test(test_key_rotation),
  };
  *t = tests;
  *n = DC_ARRAY_LEN(tests);
}
