/* SPDX-License-Identifier: Apache-2.0
 * crypto: identities (Ed25519), signatures, hashes (BLAKE2b-256) and the
 * canonical message that signs an API request. Everything is libsodium;
 * secret keys live in sodium_malloc'd memory and are wiped on close. */
#ifndef DC_CRYPTO_H
#define DC_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/base.h"

#define DC_PK_BYTES 32
#define DC_SK_BYTES 64
#define DC_SIG_BYTES 64
#define DC_HASH_BYTES 32
#define DC_PK_HEX_LEN 64 /* chars, without NUL */

/* Must be called once per process before anything else here.
 * Errors: DC_ECRYPTO if libsodium cannot initialise. */
int dc_crypto_init(void);

struct dc_identity {
  uint8_t pk[DC_PK_BYTES];
  uint8_t *sk; /* DC_SK_BYTES in sodium_malloc memory; NULL when closed */
};

/* Loads the key file at path, or creates it (mode 0600) if absent.
 * A key file readable by group or others is refused (DC_EFORBIDDEN): a key
 * that may have leaked must not be used silently.
 * OUT: id (close with dc_identity_close), created (may be NULL).
 * Errors: DC_EIO, DC_EFORBIDDEN, DC_EPROTO (not a key file), DC_ENOMEM. */
int dc_identity_load_or_create(const char *path, struct dc_identity *id,
                               bool *created);
/* A fresh in-memory identity (tests, ephemeral tools). */
int dc_identity_generate(struct dc_identity *id);
void dc_identity_close(struct dc_identity *id);
/* Lower-case hex of the public key; out has DC_PK_HEX_LEN+1 bytes. */
void dc_identity_hex(const struct dc_identity *id, char *out);

int dc_sign(const struct dc_identity *id, const void *msg, size_t n,
            uint8_t sig[DC_SIG_BYTES]);
/* Errors: DC_EBADSIG. */
int dc_verify(const uint8_t pk[DC_PK_BYTES], const void *msg, size_t n,
              const uint8_t sig[DC_SIG_BYTES]);

/* BLAKE2b-256. */
void dc_hash(const void *p, size_t n, uint8_t out[DC_HASH_BYTES]);
void dc_random(void *p, size_t n);
/* Random lower-case hex string of nbytes random bytes (2*nbytes chars). */
void dc_random_hex(char *out, size_t nbytes);

/* ---- request signing -------------------------------------------------------
 * A mutating API request is signed over
 *   "DC-REQ-V1\n" method "\n" path "\n" hex(BLAKE2b(body)) "\n" ts_ms "\n" nonce
 * and sent with the headers below. */
#define DC_HDR_KEY "X-DC-Key"
#define DC_HDR_TS "X-DC-Timestamp"
#define DC_HDR_NONCE "X-DC-Nonce"
#define DC_HDR_SIG "X-DC-Signature"
#define DC_REQ_NONCE_MAX 64

/* Builds the canonical message into out (appended). */
int dc_reqsig_message(struct dc_buf *out, const char *method, const char *path,
                      const void *body, size_t body_len, int64_t ts_ms,
                      const char *nonce);
/* Signs and writes hex signature (DC_SIG_BYTES*2+1 chars) into sig_hex. */
/* The four signature headers of a request, "Name: value" each, signed now
 * with a fresh nonce (for HTTP clients). Errors: as dc_reqsig_sign. */
#define DC_REQSIG_HEADER_MAX 200
int dc_reqsig_headers(const struct dc_identity *id, const char *method,
                      const char *path, const void *body, size_t body_len,
                      char out[4][DC_REQSIG_HEADER_MAX]);
int dc_reqsig_sign(const struct dc_identity *id, const char *method,
                   const char *path, const void *body, size_t body_len,
                   int64_t ts_ms, const char *nonce, char *sig_hex);
/* Verifies hex key and hex signature. Errors: DC_EINVAL (bad hex),
 * DC_EBADSIG. */
int dc_reqsig_verify(const char *key_hex, const char *sig_hex,
                     const char *method, const char *path, const void *body,
                     size_t body_len, int64_t ts_ms, const char *nonce);

#endif /* DC_CRYPTO_H */
