/* SPDX-License-Identifier: Apache-2.0
 * The three handshake messages (HELLO_C, HELLO_S, AUTH_C): building,
 * parsing, transcript signatures and the key schedule. Each side signs a
 * hash of everything said so far, so both identities are bound to both
 * ephemeral keys and to each other (SIGMA-style). */
#include <string.h>

#include "net_int.h"

#define TAG_SERVER "dc-wire-server"
#define TAG_CLIENT "dc-wire-client"
#define TAG_KEYS "dc-wire-keys"
#define LABEL_C2S "dc-wire-c2s"
#define LABEL_S2C "dc-wire-s2c"

/* Offsets inside a HELLO body (type|version|payload). */
enum {
  HELLO_OFF_MAGIC = DC_FRAME_BODY_MIN,
  HELLO_OFF_VERSION = HELLO_OFF_MAGIC + DC_WIRE_MAGIC_BYTES,
  HELLO_OFF_PK = HELLO_OFF_VERSION + 2,
  HELLO_OFF_EPH = HELLO_OFF_PK + DC_PK_BYTES,
  HELLO_OFF_RANDOM = HELLO_OFF_EPH + DC_KX_PK_BYTES,
  HELLO_OFF_SIG = HELLO_OFF_RANDOM + DC_HELLO_RANDOM_BYTES, /* HELLO_S only */
};
_Static_assert(HELLO_OFF_SIG == DC_HELLO_C_BODY_BYTES, "HELLO layout");

/* BLAKE2b-256(tag | hello_c | hello_s[0..hs_len]). Both hellos have fixed
 * sizes, so plain concatenation is unambiguous. */
static void transcript(const char *tag, const uint8_t *hc, const uint8_t *hs,
                       size_t hs_len, uint8_t out[DC_HASH_BYTES]) {
  crypto_generichash_state st;
  crypto_generichash_init(&st, NULL, 0, DC_HASH_BYTES);
  crypto_generichash_update(&st, (const uint8_t *)tag, strlen(tag));
  crypto_generichash_update(&st, hc, DC_HELLO_C_BODY_BYTES);
  crypto_generichash_update(&st, hs, hs_len);
  crypto_generichash_final(&st, out, DC_HASH_BYTES);
}

static void append_record(struct dc_buf *out, const uint8_t *body,
                          size_t len, int *rc) {
  if (*rc) return;
  *rc = dc_buf_reserve(out, DC_FRAME_HDR_BYTES + len);
  if (!*rc) *rc = dc_buf_put_u32(out, (uint32_t)len);
  if (!*rc) *rc = dc_buf_append(out, body, len);
}

/* Writes the unsigned part of a HELLO (both directions share it). */
static void build_hello(struct dc_session *s, uint8_t type, uint8_t *b) {
  b[0] = type;
  b[1] = DC_WIRE_MSG_VERSION;
  memcpy(b + HELLO_OFF_MAGIC, DC_WIRE_MAGIC, DC_WIRE_MAGIC_BYTES);
  b[HELLO_OFF_VERSION] = (uint8_t)(DC_WIRE_PROTO_VERSION >> 8);
  b[HELLO_OFF_VERSION + 1] = (uint8_t)DC_WIRE_PROTO_VERSION;
  memcpy(b + HELLO_OFF_PK, s->id->pk, DC_PK_BYTES);
  memcpy(b + HELLO_OFF_EPH, s->eph_pk, DC_KX_PK_BYTES);
  dc_random(b + HELLO_OFF_RANDOM, DC_HELLO_RANDOM_BYTES);
}

/* Checks size, magic and protocol version of a received HELLO body and
 * records the peer's claimed keys. */
static int parse_hello(struct dc_session *s, const struct dc_frame *fr,
                       size_t want, const char *name) {
  size_t have = fr->len + DC_FRAME_BODY_MIN;
  const uint8_t *b = fr->payload - DC_FRAME_BODY_MIN;
  if (have < want)
    return session_fail(s, DC_ETRUNCATED,
                        "handshake: %s truncated (%zu of %zu bytes)", name,
                        have, want);
  if (have > want)
    return session_fail(s, DC_EPROTO, "handshake: %s has %zu trailing bytes",
                        name, have - want);
  if (memcmp(b + HELLO_OFF_MAGIC, DC_WIRE_MAGIC, DC_WIRE_MAGIC_BYTES) != 0)
    return session_fail(s, DC_EPROTO,
                        "handshake: bad magic in %s (not a DeepCloud peer?)",
                        name);
  unsigned ver = (unsigned)b[HELLO_OFF_VERSION] << 8 | b[HELLO_OFF_VERSION + 1];
  if (ver != DC_WIRE_PROTO_VERSION)
    return session_fail(s, DC_EVERSION,
                        "handshake: unsupported protocol version %u in %s",
                        ver, name);
  memcpy(s->peer_pk, b + HELLO_OFF_PK, DC_PK_BYTES);
  memcpy(s->peer_eph_pk, b + HELLO_OFF_EPH, DC_KX_PK_BYTES);
  return DC_OK;
}

static void mix(uint8_t out[NET_KEY_BYTES], const uint8_t th[DC_HASH_BYTES],
                const char *label, const uint8_t raw[NET_KEY_BYTES]) {
  crypto_generichash_state st;
  crypto_generichash_init(&st, th, DC_HASH_BYTES, NET_KEY_BYTES);
  crypto_generichash_update(&st, (const uint8_t *)label, strlen(label));
  crypto_generichash_update(&st, raw, NET_KEY_BYTES);
  crypto_generichash_final(&st, out, NET_KEY_BYTES);
  sodium_memzero(&st, sizeof st);
}

/* X25519 via crypto_kx, then each direction's key is keyed-BLAKE2b of the
 * raw kx key under the full-transcript hash: keys are bound to both
 * identities, both randoms and the server's signature. */
static int derive_keys(struct dc_session *s) {
  struct dc_session_secrets *sec = s->sec;
  uint8_t rx[NET_KEY_BYTES], tx[NET_KEY_BYTES], th[DC_HASH_BYTES];
  bool client = s->role == DC_SESSION_CLIENT;
  int bad = client ? crypto_kx_client_session_keys(rx, tx, s->eph_pk,
                                                   sec->eph_sk, s->peer_eph_pk)
                   : crypto_kx_server_session_keys(rx, tx, s->eph_pk,
                                                   sec->eph_sk, s->peer_eph_pk);
  sodium_memzero(sec->eph_sk, sizeof sec->eph_sk); /* forward secrecy */
  if (bad) {
    sodium_memzero(rx, sizeof rx);
    sodium_memzero(tx, sizeof tx);
    return session_fail(s, DC_ECRYPTO, "handshake: bad %s ephemeral key",
                        client ? "server" : "client");
  }
  transcript(TAG_KEYS, s->hello_c, s->hello_s, DC_HELLO_S_BODY_BYTES, th);
  /* crypto_kx: client tx == server rx is the client-to-server key. */
  const uint8_t *c2s = client ? tx : rx, *s2c = client ? rx : tx;
  mix(client ? sec->tx : sec->rx, th, LABEL_C2S, c2s);
  mix(client ? sec->rx : sec->tx, th, LABEL_S2C, s2c);
  sodium_memzero(rx, sizeof rx);
  sodium_memzero(tx, sizeof tx);
  s->keys_ready = true;
  return DC_OK;
}

int hs_client_hello(struct dc_session *s, struct dc_buf *out) {
  crypto_kx_keypair(s->eph_pk, s->sec->eph_sk);
  build_hello(s, DC_NET_MSG_HELLO_C, s->hello_c);
  int rc = DC_OK;
  append_record(out, s->hello_c, DC_HELLO_C_BODY_BYTES, &rc);
  if (rc) return rc; /* nothing sent: the caller may retry */
  s->state = DC_SESSION_WAIT_HELLO_S;
  return DC_OK;
}

int hs_server_on_hello_c(struct dc_session *s, const struct dc_frame *fr,
                         struct dc_buf *out) {
  int rc = parse_hello(s, fr, DC_HELLO_C_BODY_BYTES, "HELLO_C");
  if (rc) return rc;
  memcpy(s->hello_c, fr->payload - DC_FRAME_BODY_MIN, DC_HELLO_C_BODY_BYTES);

  crypto_kx_keypair(s->eph_pk, s->sec->eph_sk);
  build_hello(s, DC_NET_MSG_HELLO_S, s->hello_s);
  uint8_t th[DC_HASH_BYTES];
  transcript(TAG_SERVER, s->hello_c, s->hello_s, HELLO_OFF_SIG, th);
  rc = dc_sign(s->id, th, sizeof th, s->hello_s + HELLO_OFF_SIG);
  if (rc) return session_fail(s, rc, "handshake: cannot sign HELLO_S");
  if ((rc = derive_keys(s))) return rc;
  append_record(out, s->hello_s, DC_HELLO_S_BODY_BYTES, &rc);
  if (rc) return session_fail(s, rc, "handshake: cannot queue HELLO_S");
  s->state = DC_SESSION_WAIT_AUTH_C;
  return DC_OK;
}

int hs_client_on_hello_s(struct dc_session *s, const struct dc_frame *fr,
                         struct dc_buf *out) {
  int rc = parse_hello(s, fr, DC_HELLO_S_BODY_BYTES, "HELLO_S");
  if (rc) return rc;
  memcpy(s->hello_s, fr->payload - DC_FRAME_BODY_MIN, DC_HELLO_S_BODY_BYTES);
  if (s->pinned && sodium_memcmp(s->peer_pk, s->expected_pk, DC_PK_BYTES)) {
    char got[9], want[9];
    net_hex8(s->peer_pk, got);
    net_hex8(s->expected_pk, want);
    return session_fail(s, DC_EFORBIDDEN,
                        "handshake: server key %s does not match pinned key "
                        "%s",
                        got, want);
  }
  uint8_t th[DC_HASH_BYTES];
  transcript(TAG_SERVER, s->hello_c, s->hello_s, HELLO_OFF_SIG, th);
  if (dc_verify(s->peer_pk, th, sizeof th, s->hello_s + HELLO_OFF_SIG))
    return session_fail(s, DC_EBADSIG, "handshake: bad server signature");
  s->peer_proven = true;
  if ((rc = derive_keys(s))) return rc;

  uint8_t auth[DC_AUTH_C_BODY_BYTES] = {DC_NET_MSG_AUTH_C, DC_WIRE_MSG_VERSION};
  transcript(TAG_CLIENT, s->hello_c, s->hello_s, DC_HELLO_S_BODY_BYTES, th);
  rc = dc_sign(s->id, th, sizeof th, auth + DC_FRAME_BODY_MIN);
  append_record(out, auth, sizeof auth, &rc);
  if (rc) return session_fail(s, rc, "handshake: cannot queue AUTH_C");
  s->state = DC_SESSION_WAIT_READY;
  return DC_OK;
}

int hs_server_on_auth_c(struct dc_session *s, const struct dc_frame *fr,
                        struct dc_buf *out) {
  size_t have = fr->len + DC_FRAME_BODY_MIN;
  if (have < DC_AUTH_C_BODY_BYTES)
    return session_fail(s, DC_ETRUNCATED,
                        "handshake: AUTH_C truncated (%zu of %d bytes)", have,
                        DC_AUTH_C_BODY_BYTES);
  if (have > DC_AUTH_C_BODY_BYTES)
    return session_fail(s, DC_EPROTO,
                        "handshake: AUTH_C has %zu trailing bytes",
                        have - DC_AUTH_C_BODY_BYTES);
  uint8_t th[DC_HASH_BYTES];
  transcript(TAG_CLIENT, s->hello_c, s->hello_s, DC_HELLO_S_BODY_BYTES, th);
  if (dc_verify(s->peer_pk, th, sizeof th, fr->payload))
    return session_fail(s, DC_EBADSIG, "handshake: bad client signature");
  s->peer_proven = true;
  if (s->accept_peer && !s->accept_peer(s->peer_pk, s->accept_ud)) {
    char hex[9];
    net_hex8(s->peer_pk, hex);
    /* Tell the client why, so it fails with a reason instead of a reset. */
    (void)dc_session_seal_close(s, DC_EFORBIDDEN, "client key not accepted",
                                out);
    return session_fail(s, DC_EFORBIDDEN,
                        "handshake: client key %s not accepted", hex);
  }
  int rc = session_seal_msg(s, DC_NET_MSG_READY, DC_WIRE_MSG_VERSION, NULL, 0,
                            out);
  if (rc) return session_fail(s, rc, "handshake: cannot queue READY");
  s->state = DC_SESSION_ESTABLISHED;
  return DC_OK;
}
