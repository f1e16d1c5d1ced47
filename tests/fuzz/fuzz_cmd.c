/* SPDX-License-Identifier: Apache-2.0
 * Fuzzes the command decoder: any input must decode cleanly or be refused
 * with out zeroed, and whatever decodes must re-encode to the same bytes
 * (the codec is exact, so log entries and their hashes cannot be malleated). */
#include <stdlib.h>
#include <string.h>

#include "proto/proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const struct dc_cmd zero;
  struct dc_cmd c;
  if (dc_cmd_decode(data, size, &c) != DC_OK) {
    if (memcmp(&c, &zero, sizeof c) != 0) abort();
    return 0;
  }
  struct dc_buf b = {0};
  if (dc_cmd_encode(&c, &b) != DC_OK) abort();
  if (b.len != size || memcmp(b.data, data, size) != 0) abort();
  if (strcmp(dc_cmd_type_name(c.type), "unknown") == 0) abort();
  dc_buf_free(&b);
  dc_cmd_free(&c);
  return 0;
}
