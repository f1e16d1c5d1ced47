/* SPDX-License-Identifier: Apache-2.0
 * Fuzzes the ledger decoders (POST /v1/tx bodies and log entries): the
 * first byte picks a user transaction or a system operation; anything must
 * decode cleanly or be refused, and whatever decodes must re-encode to the
 * same bytes (the codecs are exact, so a transaction hash cannot be
 * malleated). */
#include <stdlib.h>
#include <string.h>

#include "ledger/ledger.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  const uint8_t *p = data + 1;
  size_t n = size - 1;
  struct dc_buf b = {0};
  if (data[0] & 1) {
    struct dc_sysop op;
    if (dc_sysop_decode(p, n, &op) != DC_OK) return 0;
    if (dc_sysop_encode(&op, &b) != DC_OK) abort();
    dc_sysop_free(&op);
  } else {
    struct dc_tx tx;
    if (dc_tx_decode(p, n, &tx) != DC_OK) return 0;
    if (dc_tx_encode(&tx, &b) != DC_OK) abort();
    uint8_t h[DC_HASH_BYTES];
    if (dc_tx_hash(&tx, h) != DC_OK) abort();
    (void)dc_tx_verify(&tx, "fuzz");
  }
  if (b.len != n || memcmp(b.data, p, n) != 0) abort();
  dc_buf_free(&b);
  return 0;
}
