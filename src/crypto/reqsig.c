/* SPDX-License-Identifier: Apache-2.0
 * The canonical message of a signed API request. Binding the method, path,
 * body hash, time and a nonce means a captured request cannot be replayed
 * against another route, with another body, or later. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "crypto/crypto.h"

int dc_reqsig_message(struct dc_buf *out, const char *method, const char *path,
                      const void *body, size_t body_len, int64_t ts_ms,
                      const char *nonce) {
  uint8_t h[DC_HASH_BYTES];
  char hhex[2 * DC_HASH_BYTES + 1];
  dc_hash(body ? body : "", body_len, h);
  dc_hex_encode(h, sizeof h, hhex);
  return dc_buf_printf(out, "DC-REQ-V1\n%s\n%s\n%s\n%" PRId64 "\n%s", method,
                       path, hhex, ts_ms, nonce);
}

int dc_reqsig_sign(const struct dc_identity *id, const char *method,
                   const char *path, const void *body, size_t body_len,
                   int64_t ts_ms, const char *nonce, char *sig_hex) {
  struct dc_buf m = {0};
  int rc = dc_reqsig_message(&m, method, path, body, body_len, ts_ms, nonce);
  uint8_t sig[DC_SIG_BYTES];
  if (!rc) rc = dc_sign(id, m.data, m.len, sig);
  dc_buf_free(&m);
  if (!rc) dc_hex_encode(sig, sizeof sig, sig_hex);
  return rc;
}

int dc_reqsig_headers(const struct dc_identity *id, const char *method,
                      const char *path, const void *body, size_t body_len,
                      char out[4][DC_REQSIG_HEADER_MAX]) {
  char key[DC_PK_HEX_LEN + 1], nonce[33], sig[2 * DC_SIG_BYTES + 1];
  dc_identity_hex(id, key);
  dc_random_hex(nonce, 16);
  int64_t ts = dc_now_ms();
  int rc = dc_reqsig_sign(id, method, path, body, body_len, ts, nonce, sig);
  if (rc) return rc;
  snprintf(out[0], DC_REQSIG_HEADER_MAX, "%s: %s", DC_HDR_KEY, key);
  snprintf(out[1], DC_REQSIG_HEADER_MAX, "%s: %" PRId64, DC_HDR_TS, ts);
  snprintf(out[2], DC_REQSIG_HEADER_MAX, "%s: %s", DC_HDR_NONCE, nonce);
  snprintf(out[3], DC_REQSIG_HEADER_MAX, "%s: %s", DC_HDR_SIG, sig);
  return DC_OK;
}

int dc_reqsig_verify(const char *key_hex, const char *sig_hex,
                     const char *method, const char *path, const void *body,
                     size_t body_len, int64_t ts_ms, const char *nonce) {
  uint8_t pk[DC_PK_BYTES], sig[DC_SIG_BYTES];
  if (dc_hex_decode(key_hex, pk, sizeof pk) ||
      dc_hex_decode(sig_hex, sig, sizeof sig))
    return DC_EINVAL;
  struct dc_buf m = {0};
  int rc = dc_reqsig_message(&m, method, path, body, body_len, ts_ms, nonce);
  if (!rc) rc = dc_verify(pk, m.data, m.len, sig);
  dc_buf_free(&m);
  return rc;
}
