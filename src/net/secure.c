/* SPDX-License-Identifier: Apache-2.0
 * The secure session after (and around) the handshake: record sealing and
 * opening with ChaCha20-Poly1305 and explicit per-direction counters, the
 * dispatch of received records by state, and the session messages. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "net_int.h"

void net_hex8(const uint8_t *pk, char out[9]) {
  char full[DC_PK_HEX_LEN + 1];
  dc_hex_encode(pk, DC_PK_BYTES, full);
  memcpy(out, full, 8);
  out[8] = '\0';
}

int session_fail(struct dc_session *s, int err, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(s->reason.text, sizeof s->reason.text, fmt, ap);
  va_end(ap);
  s->err = err;
  s->state = DC_SESSION_FAILED;
  return err;
}

int dc_session_init(struct dc_session *s, enum dc_session_role role,
                    const struct dc_identity *id,
                    const uint8_t *expected_peer_pk,
                    dc_accept_peer_cb accept_peer, void *accept_ud) {
  if (!s || !id || !id->sk) return DC_EINVAL;
  if (role != DC_SESSION_CLIENT && role != DC_SESSION_SERVER) return DC_EINVAL;
  if (role == DC_SESSION_SERVER && expected_peer_pk) return DC_EINVAL;
  struct dc_session_secrets *sec = sodium_malloc(sizeof *sec);
  if (!sec) return DC_ENOMEM;
  memset(s, 0, sizeof *s);
  sodium_memzero(sec, sizeof *sec);
  s->sec = sec;
  s->role = role;
  s->id = id;
  s->state = role == DC_SESSION_CLIENT ? DC_SESSION_NEW
                                       : DC_SESSION_WAIT_HELLO_C;
  if (expected_peer_pk) {
    s->pinned = true;
    memcpy(s->expected_pk, expected_peer_pk, DC_PK_BYTES);
  }
  s->accept_peer = accept_peer;
  s->accept_ud = accept_ud;
  s->plain.max = DC_FRAME_BODY_MAX;
  return DC_OK;
}

void dc_session_close(struct dc_session *s) {
  if (!s) return;
  if (s->sec) sodium_free(s->sec); /* wipes */
  s->sec = NULL;
  if (s->plain.data) sodium_memzero(s->plain.data, s->plain.alloc);
  dc_buf_free(&s->plain);
  s->keys_ready = false;
}

int dc_session_start(struct dc_session *s, struct dc_buf *out) {
  if (s->role != DC_SESSION_CLIENT || s->state != DC_SESSION_NEW)
    return DC_EINVAL;
  return hs_client_hello(s, out);
}

bool dc_session_established(const struct dc_session *s) {
  return s->state == DC_SESSION_ESTABLISHED;
}

const uint8_t *dc_session_peer_pk(const struct dc_session *s) {
  return s->peer_proven ? s->peer_pk : NULL;
}

uint32_t dc_session_record_max(const struct dc_session *s) {
  return s->state == DC_SESSION_ESTABLISHED ? DC_SEALED_BODY_MAX
                                            : DC_HANDSHAKE_BODY_MAX;
}

const char *dc_session_reason(const struct dc_session *s) {
  return s->reason.text;
}

static void put_be32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24);
  p[1] = (uint8_t)(v >> 16);
  p[2] = (uint8_t)(v >> 8);
  p[3] = (uint8_t)v;
}

static void put_be64(uint8_t *p, uint64_t v) {
  for (int i = 7; i >= 0; i--, v >>= 8) p[i] = (uint8_t)v;
}

/* Nonce = 4 zero bytes | u64 counter; AD = the record's length prefix and
 * counter, so neither can be altered without failing the tag. */
static void nonce_ad(uint64_t ctr, uint32_t body_len,
                     uint8_t nonce[NET_NONCE_BYTES],
                     uint8_t ad[DC_FRAME_HDR_BYTES + DC_SEAL_CTR_BYTES]) {
  memset(nonce, 0, NET_NONCE_BYTES);
  put_be64(nonce + NET_NONCE_BYTES - 8, ctr);
  put_be32(ad, body_len);
  put_be64(ad + DC_FRAME_HDR_BYTES, ctr);
}

int session_seal_msg(struct dc_session *s, uint8_t type, uint8_t version,
                     const void *p, size_t n, struct dc_buf *out) {
  if (!s->keys_ready || !s->sec) return DC_EUNAUTH;
  if (n > DC_FRAME_MAX) return DC_ETOOBIG;
  /* Counter reuse would reuse a nonce: refuse long before wrap-around. */
  if (s->tx_ctr == UINT64_MAX) return DC_EPROTO;
  size_t mlen = DC_FRAME_BODY_MIN + n;
  uint32_t body_len = (uint32_t)(DC_SEAL_CTR_BYTES + mlen + DC_SEAL_TAG_BYTES);
  int rc = dc_buf_reserve(out, DC_FRAME_HDR_BYTES + (size_t)body_len);
  if (rc) return rc;
  uint8_t nonce[NET_NONCE_BYTES], ad[DC_FRAME_HDR_BYTES + DC_SEAL_CTR_BYTES];
  nonce_ad(s->tx_ctr, body_len, nonce, ad);
  uint8_t *w = out->data + out->len;
  memcpy(w, ad, sizeof ad); /* the AD is exactly length prefix + counter */
  uint8_t *m = w + sizeof ad;
  m[0] = type;
  m[1] = version;
  if (n) memcpy(m + DC_FRAME_BODY_MIN, p, n);
  /* In place: libsodium allows c == m. */
  crypto_aead_chacha20poly1305_ietf_encrypt_detached(
      m, m + mlen, NULL, m, mlen, ad, sizeof ad, NULL, nonce, s->sec->tx);
  out->len += DC_FRAME_HDR_BYTES + (size_t)body_len;
  s->tx_ctr++;
  return DC_OK;
}

int dc_session_seal(struct dc_session *s, uint8_t type, uint8_t version,
                    const void *payload, size_t len, struct dc_buf *out) {
  if (s->state == DC_SESSION_FAILED) return s->err;
  if (s->state != DC_SESSION_ESTABLISHED) return DC_EUNAUTH;
  if (type < DC_NET_MSG_APP_MIN) return DC_EINVAL;
  return session_seal_msg(s, type, version, payload, len, out);
}

int dc_session_seal_close(struct dc_session *s, int code, const char *reason,
                          struct dc_buf *out) {
  uint8_t p[4 + DC_CLOSE_REASON_MAX];
  size_t rlen = reason ? strnlen(reason, DC_CLOSE_REASON_MAX) : 0;
  put_be32(p, (uint32_t)code);
  if (rlen) memcpy(p + 4, reason, rlen);
  return session_seal_msg(s, DC_NET_MSG_CLOSE, DC_WIRE_MSG_VERSION, p, 4 + rlen,
                          out);
}

int dc_session_seal_ping(struct dc_session *s, const void *p, size_t len,
                         struct dc_buf *out) {
  if (s->state == DC_SESSION_FAILED) return s->err;
  if (s->state != DC_SESSION_ESTABLISHED) return DC_EUNAUTH;
  if (len > DC_PING_MAX) return DC_ETOOBIG;
  return session_seal_msg(s, DC_NET_MSG_PING, DC_WIRE_MSG_VERSION, p, len, out);
}

int session_open(struct dc_session *s, const uint8_t *body, size_t len,
                 struct dc_frame *fr) {
  if (!s->keys_ready || !s->sec)
    return session_fail(s, DC_EPROTO, "sealed record before keys");
  if (len < DC_SEALED_BODY_MIN)
    return session_fail(s, DC_EPROTO, "sealed record too short (%zu bytes)",
                        len);
  if (len > DC_SEALED_BODY_MAX)
    return session_fail(s, DC_ETOOBIG, "sealed record too big (%zu bytes)",
                        len);
  uint64_t ctr = 0;
  for (int i = 0; i < DC_SEAL_CTR_BYTES; i++) ctr = ctr << 8 | body[i];
  /* The counter is checked before the tag so the reason is precise; either
   * way the session ends, so an attacker gains nothing by forging it. */
  if (ctr < s->rx_ctr)
    return session_fail(s, DC_EREPLAY,
                        "replayed frame (counter %llu, expected %llu)",
                        (unsigned long long)ctr,
                        (unsigned long long)s->rx_ctr);
  if (ctr > s->rx_ctr)
    return session_fail(s, DC_EPROTO,
                        "counter gap (counter %llu, expected %llu)",
                        (unsigned long long)ctr,
                        (unsigned long long)s->rx_ctr);
  if (s->rx_ctr == UINT64_MAX)
    return session_fail(s, DC_EPROTO, "receive counter exhausted");
  size_t clen = len - DC_SEAL_OVERHEAD;
  dc_buf_reset(&s->plain);
  int rc = dc_buf_reserve(&s->plain, clen);
  if (rc) return session_fail(s, rc, "out of memory opening frame");
  uint8_t nonce[NET_NONCE_BYTES], ad[DC_FRAME_HDR_BYTES + DC_SEAL_CTR_BYTES];
  nonce_ad(ctr, (uint32_t)len, nonce, ad);
  if (crypto_aead_chacha20poly1305_ietf_decrypt_detached(
          s->plain.data, NULL, body + DC_SEAL_CTR_BYTES, clen,
          body + DC_SEAL_CTR_BYTES + clen, ad, sizeof ad, nonce,
          s->sec->rx) != 0)
    return session_fail(s, DC_ECRYPTO,
                        "frame failed authentication (counter %llu)",
                        (unsigned long long)ctr);
  s->plain.len = clen;
  s->rx_ctr++;
  return dc_frame_parse(s->plain.data, clen, fr); /* clen >= 2 checked */
}

/* Peer-supplied text goes into logs: keep it printable and quote-free. */
static void sanitize(char *dst, const uint8_t *src, size_t n) {
  for (size_t i = 0; i < n; i++) {
    uint8_t ch = src[i];
    dst[i] = (ch >= 0x20 && ch < 0x7f && ch != '"' && ch != '\\') ? (char)ch
                                                                   : '?';
  }
  dst[n] = '\0';
}

int session_on_close(struct dc_session *s, const struct dc_frame *fr) {
  if (fr->len < 4 || fr->len > 4 + DC_CLOSE_REASON_MAX)
    return session_fail(s, DC_EPROTO, "malformed CLOSE (%zu bytes)", fr->len);
  uint32_t code = (uint32_t)fr->payload[0] << 24 |
                  (uint32_t)fr->payload[1] << 16 |
                  (uint32_t)fr->payload[2] << 8 | fr->payload[3];
  char text[DC_CLOSE_REASON_MAX + 1];
  sanitize(text, fr->payload + 4, fr->len - 4);
  /* Keep the peer's code only if it is one of ours: it becomes our caller's
   * error, and unknown numbers would mean nothing to it. */
  int err = DC_ECLOSED;
  if (code != 0 && code <= INT32_MAX &&
      strcmp(dc_err_name((int)code), "UNKNOWN") != 0)
    err = (int)code;
  s->peer_closed = true;
  return session_fail(s, err, "peer closed: %s", text[0] ? text : "no reason");
}

/* Session messages inside an established session. */
static int on_session_msg(struct dc_session *s, const struct dc_frame *fr,
                          struct dc_buf *out) {
  if (fr->version != DC_WIRE_MSG_VERSION)
    return session_fail(s, DC_EVERSION,
                        "session message type %u has version %u", fr->type,
                        fr->version);
  switch (fr->type) {
    case DC_NET_MSG_PING: {
      if (fr->len > DC_PING_MAX)
        return session_fail(s, DC_ETOOBIG, "PING too big (%zu bytes)",
                            fr->len);
      int rc = session_seal_msg(s, DC_NET_MSG_PONG, DC_WIRE_MSG_VERSION,
                                fr->payload, fr->len, out);
      return rc ? session_fail(s, rc, "cannot answer PING") : DC_OK;
    }
    case DC_NET_MSG_PONG:
      return DC_OK; /* liveness policy belongs to the caller */
    case DC_NET_MSG_CLOSE:
      return session_on_close(s, fr);
    default:
      return session_fail(s, DC_EPROTO, "unexpected session message type %u",
                          fr->type);
  }
}

static const char *expected_name(enum dc_session_state st) {
  switch (st) {
    case DC_SESSION_WAIT_HELLO_C: return "HELLO_C";
    case DC_SESSION_WAIT_HELLO_S: return "HELLO_S";
    case DC_SESSION_WAIT_AUTH_C: return "AUTH_C";
    default: return "?";
  }
}

/* A plaintext handshake message: right type for the state, right version. */
static int hs_frame(struct dc_session *s, const uint8_t *body, size_t len,
                    uint8_t want, struct dc_frame *fr) {
  if (dc_frame_parse(body, len, fr))
    return session_fail(s, DC_ETRUNCATED, "handshake: empty record");
  if (fr->type != want)
    return session_fail(s, DC_EPROTO, "handshake: expected %s, got type %u",
                        expected_name(s->state), fr->type);
  if (fr->version != DC_WIRE_MSG_VERSION)
    return session_fail(s, DC_EVERSION,
                        "handshake: unsupported message version %u",
                        fr->version);
  return DC_OK;
}

int dc_session_recv(struct dc_session *s, const uint8_t *body, size_t len,
                    struct dc_buf *out, struct dc_frame *frame,
                    bool *have_frame) {
  *have_frame = false;
  struct dc_frame fr;
  int rc;
  switch (s->state) {
    case DC_SESSION_FAILED:
      return s->err;
    case DC_SESSION_NEW:
      return session_fail(s, DC_EPROTO, "handshake: data before HELLO_C");
    case DC_SESSION_WAIT_HELLO_C:
      rc = hs_frame(s, body, len, DC_NET_MSG_HELLO_C, &fr);
      return rc ? rc : hs_server_on_hello_c(s, &fr, out);
    case DC_SESSION_WAIT_HELLO_S:
      rc = hs_frame(s, body, len, DC_NET_MSG_HELLO_S, &fr);
      return rc ? rc : hs_client_on_hello_s(s, &fr, out);
    case DC_SESSION_WAIT_AUTH_C:
      rc = hs_frame(s, body, len, DC_NET_MSG_AUTH_C, &fr);
      return rc ? rc : hs_server_on_auth_c(s, &fr, out);
    case DC_SESSION_WAIT_READY:
      if ((rc = session_open(s, body, len, &fr))) return rc;
      if (fr.type == DC_NET_MSG_CLOSE) return session_on_close(s, &fr);
      if (fr.type != DC_NET_MSG_READY || fr.version != DC_WIRE_MSG_VERSION ||
          fr.len != 0)
        return session_fail(s, DC_EPROTO,
                            "handshake: expected READY, got type %u", fr.type);
      s->state = DC_SESSION_ESTABLISHED;
      return DC_OK;
    case DC_SESSION_ESTABLISHED:
      if ((rc = session_open(s, body, len, &fr))) return rc;
      if (fr.type < DC_NET_MSG_APP_MIN) return on_session_msg(s, &fr, out);
      *frame = fr;
      *have_frame = true;
      return DC_OK;
  }
  return session_fail(s, DC_EINVAL, "bad session state");
}
