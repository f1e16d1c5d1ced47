/* SPDX-License-Identifier: Apache-2.0
 * Ed25519 identities kept in key files, signatures and hashes. */
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/crypto.h"

/* Key file: "DCKEY1\n" + hex(seed 32 bytes) + "\n". The seed is enough to
 * rebuild both halves, and text keeps the file inspectable. */
#define KEY_MAGIC "DCKEY1\n"

int dc_crypto_init(void) { return sodium_init() < 0 ? DC_ECRYPTO : DC_OK; }

static int identity_from_seed(struct dc_identity *id, const uint8_t *seed) {
  id->sk = sodium_malloc(DC_SK_BYTES);
  if (!id->sk) return DC_ENOMEM;
  crypto_sign_seed_keypair(id->pk, id->sk, seed);
  return DC_OK;
}

int dc_identity_generate(struct dc_identity *id) {
  uint8_t seed[32];
  randombytes_buf(seed, sizeof seed);
  int rc = identity_from_seed(id, seed);
  sodium_memzero(seed, sizeof seed);
  return rc;
}

void dc_identity_close(struct dc_identity *id) {
  if (id->sk) sodium_free(id->sk); /* sodium_free wipes */
  id->sk = NULL;
}

void dc_identity_hex(const struct dc_identity *id, char *out) {
  dc_hex_encode(id->pk, DC_PK_BYTES, out);
}

static int load(const char *path, struct dc_identity *id) {
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return errno == ENOENT ? DC_ENOTFOUND : DC_EIO;
  struct stat st;
  if (fstat(fd, &st) != 0) {
    close(fd);
    return DC_EIO;
  }
  if (st.st_mode & 077) {
    close(fd);
    return DC_EFORBIDDEN;
  }
  char text[128];
  ssize_t n = read(fd, text, sizeof text - 1);
  close(fd);
  if (n < 0) return DC_EIO;
  text[n] = '\0';
  size_t ml = strlen(KEY_MAGIC);
  if ((size_t)n != ml + 64 + 1 || memcmp(text, KEY_MAGIC, ml) != 0 ||
      text[ml + 64] != '\n')
    return DC_EPROTO;
  text[ml + 64] = '\0';
  uint8_t seed[32];
  int rc = dc_hex_decode(text + ml, seed, sizeof seed);
  sodium_memzero(text, sizeof text);
  if (rc) return DC_EPROTO;
  rc = identity_from_seed(id, seed);
  sodium_memzero(seed, sizeof seed);
  return rc;
}

int dc_identity_load_or_create(const char *path, struct dc_identity *id,
                               bool *created) {
  if (created) *created = false;
  int rc = load(path, id);
  if (rc != DC_ENOTFOUND) return rc;

  uint8_t seed[32];
  randombytes_buf(seed, sizeof seed);
  char text[128];
  size_t ml = strlen(KEY_MAGIC);
  memcpy(text, KEY_MAGIC, ml);
  dc_hex_encode(seed, sizeof seed, text + ml);
  text[ml + 64] = '\n';
  rc = dc_write_file_atomic(path, text, ml + 65, 0600);
  sodium_memzero(text, sizeof text);
  if (!rc) rc = identity_from_seed(id, seed);
  sodium_memzero(seed, sizeof seed);
  if (!rc && created) *created = true;
  return rc;
}

int dc_sign(const struct dc_identity *id, const void *msg, size_t n,
            uint8_t sig[DC_SIG_BYTES]) {
  if (!id->sk) return DC_EINVAL;
  crypto_sign_detached(sig, NULL, msg, n, id->sk);
  return DC_OK;
}

int dc_verify(const uint8_t pk[DC_PK_BYTES], const void *msg, size_t n,
              const uint8_t sig[DC_SIG_BYTES]) {
  return crypto_sign_verify_detached(sig, msg, n, pk) == 0 ? DC_OK
                                                           : DC_EBADSIG;
}

void dc_hash(const void *p, size_t n, uint8_t out[DC_HASH_BYTES]) {
  crypto_generichash(out, DC_HASH_BYTES, p, n, NULL, 0);
}

void dc_random(void *p, size_t n) { randombytes_buf(p, n); }

void dc_random_hex(char *out, size_t nbytes) {
  uint8_t tmp[64];
  DC_ASSERT(nbytes <= sizeof tmp);
  randombytes_buf(tmp, nbytes);
  dc_hex_encode(tmp, nbytes, out);
}
