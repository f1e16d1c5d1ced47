/* SPDX-License-Identifier: Apache-2.0
 * The packet codec: version | group | nonce | XChaCha20-Poly1305(body),
 * with version and group authenticated as associated data, and a keyring
 * for rotation. A 24-byte random nonce per packet is safe with one key for
 * any realistic number of packets (XChaCha's reason to exist). */
#include <sodium.h>
#include <string.h>

#include "gossip/gossip.h"

#define HDR (1 + 4)
#define NONCE crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define TAG crypto_aead_xchacha20poly1305_ietf_ABYTES
_Static_assert(DC_GOSSIP_SEAL_OVERHEAD == HDR + NONCE + TAG, "seal overhead");
_Static_assert(DC_GOSSIP_KEY_BYTES == crypto_aead_xchacha20poly1305_ietf_KEYBYTES, "key size");

int dc_gossip_keyring_init(struct dc_gossip_keyring *kr, uint32_t group,
                           const uint8_t key[DC_GOSSIP_KEY_BYTES]) {
  memset(kr, 0, sizeof *kr);
  if (!key) return DC_EINVAL;
  if (sodium_init() < 0) return DC_ECRYPTO; /* idempotent; sodium_malloc needs it */
  kr->keys = sodium_malloc(DC_GOSSIP_KEYS_MAX * DC_GOSSIP_KEY_BYTES);
  if (!kr->keys) return DC_ENOMEM;
  kr->group = group;
  memcpy(kr->keys, key, DC_GOSSIP_KEY_BYTES);
  kr->nkeys = 1;
  return DC_OK;
}

static int find_key(const struct dc_gossip_keyring *kr, const uint8_t *key) {
  for (size_t i = 0; i < kr->nkeys; i++)
    if (sodium_memcmp(kr->keys + i * DC_GOSSIP_KEY_BYTES, key, DC_GOSSIP_KEY_BYTES) == 0)
      return (int)i;
  return -1;
}

int dc_gossip_keyring_add(struct dc_gossip_keyring *kr, const uint8_t key[DC_GOSSIP_KEY_BYTES]) {
  if (!kr->keys || !key) return DC_EINVAL;
  if (find_key(kr, key) >= 0) return DC_EEXISTS;
  if (kr->nkeys == DC_GOSSIP_KEYS_MAX) return DC_ETOOBIG;
  memcpy(kr->keys + kr->nkeys * DC_GOSSIP_KEY_BYTES, key, DC_GOSSIP_KEY_BYTES);
  kr->nkeys++;
  return DC_OK;
}

int dc_gossip_keyring_use(struct dc_gossip_keyring *kr, const uint8_t key[DC_GOSSIP_KEY_BYTES]) {
  if (!kr->keys || !key) return DC_EINVAL;
  int i = find_key(kr, key);
  if (i < 0) return DC_ENOTFOUND;
  uint8_t tmp[DC_GOSSIP_KEY_BYTES];
  memcpy(tmp, kr->keys, sizeof tmp);
  memcpy(kr->keys, kr->keys + (size_t)i * DC_GOSSIP_KEY_BYTES, sizeof tmp);
  memcpy(kr->keys + (size_t)i * DC_GOSSIP_KEY_BYTES, tmp, sizeof tmp);
  sodium_memzero(tmp, sizeof tmp);
  return DC_OK;
}

int dc_gossip_keyring_remove(struct dc_gossip_keyring *kr, const uint8_t key[DC_GOSSIP_KEY_BYTES]) {
  if (!kr->keys || !key) return DC_EINVAL;
  int i = find_key(kr, key);
  if (i < 0) return DC_ENOTFOUND;
  if (i == 0) return DC_EINVAL;
  size_t last = kr->nkeys - 1;
  memmove(kr->keys + (size_t)i * DC_GOSSIP_KEY_BYTES,
          kr->keys + (size_t)(i + 1) * DC_GOSSIP_KEY_BYTES,
          (last - (size_t)i) * DC_GOSSIP_KEY_BYTES);
  sodium_memzero(kr->keys + last * DC_GOSSIP_KEY_BYTES, DC_GOSSIP_KEY_BYTES);
  kr->nkeys--;
  return DC_OK;
}

void dc_gossip_keyring_close(struct dc_gossip_keyring *kr) {
  if (kr->keys) sodium_free(kr->keys); /* sodium_free wipes */
  memset(kr, 0, sizeof *kr);
}

static void put_hdr(uint8_t *h, uint32_t group) {
  h[0] = DC_GOSSIP_WIRE_VERSION;
  h[1] = (uint8_t)(group >> 24);
  h[2] = (uint8_t)(group >> 16);
  h[3] = (uint8_t)(group >> 8);
  h[4] = (uint8_t)group;
}

int dc_gossip_seal(const struct dc_gossip_keyring *kr, const uint8_t *body, size_t n,
                   size_t max_frame, uint8_t *out, size_t *out_len) {
  if (!kr->keys || !kr->nkeys) return DC_EINVAL;
  if (n + DC_GOSSIP_SEAL_OVERHEAD > max_frame) return DC_ETOOBIG;
  put_hdr(out, kr->group);
  randombytes_buf(out + HDR, NONCE);
  unsigned long long clen = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(out + HDR + NONCE, &clen, body, n, out, HDR,
                                             NULL, out + HDR, kr->keys);
  *out_len = HDR + NONCE + (size_t)clen;
  return DC_OK;
}

int dc_gossip_frame_group(const uint8_t *frame, size_t n, uint32_t *group) {
  if (n < DC_GOSSIP_SEAL_OVERHEAD) return DC_ETRUNCATED;
  if (frame[0] != DC_GOSSIP_WIRE_VERSION) return DC_EVERSION;
  *group = (uint32_t)frame[1] << 24 | (uint32_t)frame[2] << 16 | (uint32_t)frame[3] << 8 | frame[4];
  return DC_OK;
}

int dc_gossip_open(struct dc_gossip_keyring *kr, const uint8_t *frame, size_t n,
                   size_t max_frame, uint8_t *out, size_t *out_len) {
  uint32_t group;
  int rc = n > max_frame ? DC_ETOOBIG : dc_gossip_frame_group(frame, n, &group);
  if (!rc && group != kr->group) rc = DC_EPROTO;
  if (!rc) {
    rc = DC_ECRYPTO;
    for (size_t i = 0; i < kr->nkeys; i++) {
      unsigned long long mlen = 0;
      if (crypto_aead_xchacha20poly1305_ietf_decrypt(
              out, &mlen, NULL, frame + HDR + NONCE, n - HDR - NONCE, frame, HDR,
              frame + HDR, kr->keys + i * DC_GOSSIP_KEY_BYTES) == 0) {
        *out_len = (size_t)mlen;
        return DC_OK;
      }
    }
  }
  kr->dropped++;
  return rc;
}
