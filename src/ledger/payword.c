/* SPDX-License-Identifier: Apache-2.0
 * PayWord hash chains: the payer commits to anchor = H^n(seed) on chain and
 * reveals w_i = H^(n-i)(seed) as tick i; anyone checks tick i with i hashes
 * to the anchor, and the payee checks each new tick with one hash. */
#include <sodium.h>

#include "ledger/ledger_int.h"

/* A bare 32-byte BLAKE2b, unkeyed: the hot loop of every check. */
static inline void h32(const uint8_t in[DC_HASH_BYTES],
                       uint8_t out[DC_HASH_BYTES]) {
  crypto_generichash(out, DC_HASH_BYTES, in, DC_HASH_BYTES, NULL, 0);
}

void dc_payword_word(const uint8_t seed[DC_HASH_BYTES], uint32_t n, uint32_t i,
                     uint8_t out[DC_HASH_BYTES]) {
  uint8_t w[DC_HASH_BYTES];
  memcpy(w, seed, DC_HASH_BYTES);
  for (uint32_t k = 0; k < n - DC_MIN(i, n); k++) h32(w, w);
  memcpy(out, w, DC_HASH_BYTES);
}

void dc_payword_anchor(const uint8_t seed[DC_HASH_BYTES], uint32_t n,
                       uint8_t anchor[DC_HASH_BYTES]) {
  dc_payword_word(seed, n, 0, anchor);
}

bool dc_payword_check(const uint8_t anchor[DC_HASH_BYTES],
                      const uint8_t word[DC_HASH_BYTES], uint32_t i) {
  uint8_t w[DC_HASH_BYTES];
  memcpy(w, word, DC_HASH_BYTES);
  for (uint32_t k = 0; k < i; k++) h32(w, w);
  return sodium_memcmp(w, anchor, DC_HASH_BYTES) == 0;
}

bool dc_payword_step(const uint8_t prev_word[DC_HASH_BYTES],
                     const uint8_t word[DC_HASH_BYTES]) {
  uint8_t w[DC_HASH_BYTES];
  h32(word, w);
  return sodium_memcmp(w, prev_word, DC_HASH_BYTES) == 0;
}
