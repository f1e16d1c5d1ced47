/* SPDX-License-Identifier: Apache-2.0
 * Fuzzes the session-message decoder. Input: first byte = frame type, the
 * rest = payload. Whatever decodes must re-encode to the same payload;
 * everything else must be refused with out zeroed. */
#include <stdlib.h>
#include <string.h>

#include "proto/proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const struct dc_msg zero;
  if (size < 1) return 0;
  const uint8_t type = data[0];
  const uint8_t *p = data + 1;
  const size_t n = size - 1;
  struct dc_msg m;
  if (dc_msg_decode(type, p, n, &m) != DC_OK) {
    if (memcmp(&m, &zero, sizeof m) != 0) abort();
    return 0;
  }
  struct dc_buf b = {0};
  if (m.type != type || dc_msg_encode(&m, &b) != DC_OK) abort();
  if (b.len != n || memcmp(b.data, p, n) != 0) abort();
  dc_buf_free(&b);
  dc_msg_free(&m);
  return 0;
}
