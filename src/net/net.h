/* SPDX-License-Identifier: Apache-2.0
 * net: the wire. Length-prefixed frames with a streaming decoder, a mutually
 * authenticated encrypted session as a pure state machine, and libuv TCP
 * connections and listeners that run it. docs/wire.md is the byte layout. */
#ifndef DC_NET_H
#define DC_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "base/base.h"
#include "crypto/crypto.h"

/* ---- limits (all on-the-wire sizes in bytes) ---------------------------- */
#define DC_FRAME_MAX (1u << 20)        /* largest payload of any frame */
#define DC_FRAME_HDR_BYTES 4           /* the u32 length prefix */
#define DC_FRAME_BODY_MIN 2            /* type + version */
#define DC_FRAME_BODY_MAX (DC_FRAME_MAX + DC_FRAME_BODY_MIN)
#define DC_SEAL_CTR_BYTES 8            /* explicit u64 counter per record */
#define DC_SEAL_TAG_BYTES 16           /* Poly1305 tag */
#define DC_SEAL_OVERHEAD (DC_SEAL_CTR_BYTES + DC_SEAL_TAG_BYTES)
#define DC_SEALED_BODY_MIN (DC_FRAME_BODY_MIN + DC_SEAL_OVERHEAD)
#define DC_SEALED_BODY_MAX (DC_FRAME_BODY_MAX + DC_SEAL_OVERHEAD)
/* Before authentication a peer may send at most this much per record, so an
 * anonymous peer cannot make us buffer a megabyte. */
#define DC_HANDSHAKE_BODY_MAX 256
#define DC_CLOSE_REASON_MAX 200        /* reason text carried by CLOSE */
#define DC_PING_MAX 64                 /* PING/PONG payload */

#define DC_WIRE_MAGIC "DCW1"
#define DC_WIRE_MAGIC_BYTES 4
#define DC_WIRE_PROTO_VERSION 1        /* HELLO protocol version field */
#define DC_WIRE_MSG_VERSION 1          /* version byte of session messages */
#define DC_HELLO_RANDOM_BYTES 32
#define DC_KX_PK_BYTES 32              /* X25519 ephemeral public key */
/* Exact frame bodies (type|version|payload) of the handshake messages. */
#define DC_HELLO_C_BODY_BYTES                                            \
  (DC_FRAME_BODY_MIN + DC_WIRE_MAGIC_BYTES + 2 + DC_PK_BYTES +            \
   DC_KX_PK_BYTES + DC_HELLO_RANDOM_BYTES)
#define DC_HELLO_S_BODY_BYTES (DC_HELLO_C_BODY_BYTES + DC_SIG_BYTES)
#define DC_AUTH_C_BODY_BYTES (DC_FRAME_BODY_MIN + DC_SIG_BYTES)

#define DC_NET_HANDSHAKE_TIMEOUT_MS 5000   /* default, per connection */
#define DC_CONN_SENDQ_MAX (16u << 20)      /* queued outbound bytes */
#define DC_CONN_LINGER_MS 2000             /* flushing a graceful close */
#define DC_CONN_READ_BYTES (64u << 10)     /* read buffer per connection */

/* Message types. 0-15 belong to the session layer; the application owns
 * DC_NET_MSG_APP_MIN..255 and their meaning is opaque to net. */
enum dc_net_msg {
  DC_NET_MSG_HELLO_C = 1, /* plaintext */
  DC_NET_MSG_HELLO_S = 2, /* plaintext */
  DC_NET_MSG_AUTH_C = 3,  /* plaintext */
  DC_NET_MSG_READY = 4,   /* sealed, server -> client, empty */
  DC_NET_MSG_PING = 5,    /* sealed; answered with a PONG of the same bytes */
  DC_NET_MSG_PONG = 6,    /* sealed */
  DC_NET_MSG_CLOSE = 7,   /* sealed: u32 error code | reason text */
  DC_NET_MSG_APP_MIN = 16,
};

/* ---- frames ---------------------------------------------------------------
 * Wire: u32 big-endian length | type u8 | version u8 | payload, where length
 * counts type+version+payload. */
struct dc_frame {
  uint8_t type;
  uint8_t version;
  const uint8_t *payload; /* borrowed: see the producing call */
  size_t len;
};

/* Appends one whole frame (header included) to out; payload is copied.
 * Errors: DC_ETOOBIG (len > DC_FRAME_MAX or out's cap), DC_ENOMEM. */
int dc_frame_encode(struct dc_buf *out, uint8_t type, uint8_t version,
                    const void *payload, size_t len);
/* Splits a frame body (type|version|payload, no length prefix); out->payload
 * points into body. Errors: DC_EPROTO (< 2 bytes), DC_ETOOBIG. */
int dc_frame_parse(const uint8_t *body, size_t len, struct dc_frame *out);

/* Streaming decoder of length-prefixed records. Feed any chunking of the
 * stream; whole record bodies come out one at a time. The first bad length
 * fails the decoder for good (sticky), because after it the stream has no
 * trustworthy record boundaries.
 * States: header (collecting 4 bytes) -> body (collecting length bytes) ->
 * header ...; or failed. An all-zero struct is NOT valid: call init. */
struct dc_framer {
  uint32_t body_max; /* records longer than this fail with DC_ETOOBIG */
  uint32_t need;     /* body length of the record being collected */
  uint8_t hdr[DC_FRAME_HDR_BYTES];
  uint8_t hdr_len;   /* header bytes collected */
  bool in_body;
  struct dc_buf body; /* partial body when a record spans chunks */
  uint32_t bad_len;   /* the offending length after a failure */
  int err;            /* sticky */
};
/* body_max is clamped to DC_SEALED_BODY_MAX. */
void dc_framer_init(struct dc_framer *f, uint32_t body_max);
/* Changes the limit for records whose header is not yet complete. */
void dc_framer_set_max(struct dc_framer *f, uint32_t body_max);
void dc_framer_close(struct dc_framer *f);
/* Consumes input until one record is complete or the input is used up.
 * OUT: used (bytes consumed, always set), body/body_len: the next record's
 * body, or NULL/0 when more input is needed. body is borrowed and valid until
 * the next call on f or until p's bytes change: it may point into p.
 * Errors (sticky): DC_EPROTO (length < DC_FRAME_BODY_MIN), DC_ETOOBIG (length
 * > body_max; the length is in f->bad_len), DC_ENOMEM. */
int dc_framer_next(struct dc_framer *f, const uint8_t *p, size_t n,
                   size_t *used, const uint8_t **body, size_t *body_len);

/* ---- secure session: a pure state machine, no sockets ---------------------
 * Client: dc_session_start() writes HELLO_C; then each record body the
 * transport receives goes to dc_session_recv(), which advances the handshake
 * (writing replies to out) or opens an application frame. Bytes appended to
 * out are complete records for the transport to send in order. */
enum dc_session_role { DC_SESSION_CLIENT = 1, DC_SESSION_SERVER = 2 };
enum dc_session_state {
  DC_SESSION_NEW,          /* client before start */
  DC_SESSION_WAIT_HELLO_C, /* server */
  DC_SESSION_WAIT_HELLO_S, /* client */
  DC_SESSION_WAIT_AUTH_C,  /* server, keys derived, peer unproven */
  DC_SESSION_WAIT_READY,   /* client, server proven, waiting for acceptance */
  DC_SESSION_ESTABLISHED,
  DC_SESSION_FAILED,       /* sticky; see dc_session_reason() */
};

/* Server-side admission: return true to accept an authenticated client key.
 * Called at most once per session, from dc_session_recv(). */
typedef bool (*dc_accept_peer_cb)(const uint8_t pk[DC_PK_BYTES], void *ud);

struct dc_session_secrets; /* sodium_malloc'd keys, private */

struct dc_session { /* all fields private to net */
  enum dc_session_role role;
  enum dc_session_state state;
  const struct dc_identity *id; /* borrowed */
  bool pinned;
  uint8_t expected_pk[DC_PK_BYTES];
  dc_accept_peer_cb accept_peer;
  void *accept_ud;
  uint8_t peer_pk[DC_PK_BYTES]; /* claimed until proven */
  bool peer_proven;
  bool keys_ready;
  bool peer_closed; /* failed because the peer sent CLOSE */
  uint8_t eph_pk[DC_KX_PK_BYTES];
  uint8_t peer_eph_pk[DC_KX_PK_BYTES];
  uint8_t hello_c[DC_HELLO_C_BODY_BYTES]; /* transcript */
  uint8_t hello_s[DC_HELLO_S_BODY_BYTES];
  uint64_t tx_ctr, rx_ctr;
  struct dc_session_secrets *sec;
  struct dc_buf plain; /* last opened frame */
  int err;
  struct dc_errmsg reason;
};

/* id is borrowed and must outlive the session. expected_peer_pk (client
 * only, may be NULL = accept any server key: trust-on-first-use is the
 * caller's decision) is copied. accept_peer (server only, may be NULL =
 * accept every authenticated client) and accept_ud are borrowed.
 * Errors: DC_EINVAL, DC_ENOMEM (secure memory). On error s needs no close. */
int dc_session_init(struct dc_session *s, enum dc_session_role role,
                    const struct dc_identity *id,
                    const uint8_t *expected_peer_pk,
                    dc_accept_peer_cb accept_peer, void *accept_ud);
/* Wipes and frees keys and buffers. Safe on a zeroed struct. */
void dc_session_close(struct dc_session *s);
/* Client: appends the HELLO_C record to out.
 * Errors: DC_EINVAL (not a fresh client), DC_ENOMEM, DC_ETOOBIG. */
int dc_session_start(struct dc_session *s, struct dc_buf *out);
/* Feeds one record body (as returned by dc_framer_next). Any reply records
 * are appended to out. OUT: have_frame is true when frame holds an
 * application frame (type >= DC_NET_MSG_APP_MIN); frame->payload is borrowed
 * until the next call on s. Session messages (READY, PING, PONG, CLOSE) are
 * handled here. On failure the session is failed for good, and a CLOSE for
 * the peer may have been appended to out (server refusing a client).
 * Errors (each with dc_session_reason()): DC_ETRUNCATED, DC_EPROTO (bad
 * magic, wrong message for the state, trailing bytes, counter gap),
 * DC_EVERSION, DC_EBADSIG (bad server or client signature), DC_EFORBIDDEN
 * (pinned key mismatch, client not accepted), DC_ECRYPTO (bad ephemeral key,
 * frame failed authentication), DC_EREPLAY (old counter), DC_ETOOBIG,
 * DC_ENOMEM, DC_ECLOSED or the peer's code when the peer sent CLOSE. */
int dc_session_recv(struct dc_session *s, const uint8_t *body, size_t len,
                    struct dc_buf *out, struct dc_frame *frame,
                    bool *have_frame);
/* Encrypts one application frame and appends the record to out (payload is
 * copied). Errors: DC_EUNAUTH (not established), DC_EINVAL (type below
 * DC_NET_MSG_APP_MIN), DC_ETOOBIG (len > DC_FRAME_MAX or out's cap), DC_ENOMEM,
 * DC_EPROTO (counter exhausted), or the session's sticky error. */
int dc_session_seal(struct dc_session *s, uint8_t type, uint8_t version,
                    const void *payload, size_t len, struct dc_buf *out);
/* Appends a sealed CLOSE(code, reason) for the peer. Works whenever send keys
 * exist, even after a receive failure, so a failing side can say why.
 * reason is copied and cut to DC_CLOSE_REASON_MAX bytes.
 * Errors: DC_EUNAUTH (no keys yet), DC_ENOMEM, DC_EPROTO. */
int dc_session_seal_close(struct dc_session *s, int code, const char *reason,
                          struct dc_buf *out);
/* Appends a sealed PING (len <= DC_PING_MAX); the peer answers PONG. */
int dc_session_seal_ping(struct dc_session *s, const void *p, size_t len,
                         struct dc_buf *out);
bool dc_session_established(const struct dc_session *s);
/* The peer's Ed25519 key once it has proven it (client: after HELLO_S,
 * server: once established), else NULL. Borrowed from s. */
const uint8_t *dc_session_peer_pk(const struct dc_session *s);
/* The largest record body to accept next (feed to dc_framer_set_max). */
uint32_t dc_session_record_max(const struct dc_session *s);
/* Human reason of the failure ("handshake: bad server signature"), or "". */
const char *dc_session_reason(const struct dc_session *s);

/* ---- libuv TCP connections --------------------------------------------------
 * One loop thread owns a connection and its listener: every function below
 * must be called on that loop's thread. The process must ignore SIGPIPE
 * (signal(SIGPIPE, SIG_IGN)); net never changes signal dispositions. */
struct dc_conn;
struct dc_listener;

/* Handshake done; frames may be sent. Client connections only. */
typedef void (*dc_conn_ready_cb)(struct dc_conn *c, void *ud);
/* One decrypted application frame; payload is borrowed for the call. */
typedef void (*dc_conn_frame_cb)(struct dc_conn *c, uint8_t type,
                                 uint8_t version, const uint8_t *payload,
                                 size_t len, void *ud);
/* Exactly once per connection whose start call returned 0. err is 0 after
 * dc_conn_close(), DC_ECLOSED when the peer closed, DC_ETIMEOUT, DC_EIO, or
 * the protocol error. reason is borrowed for the call. c is freed right
 * after: only dc_conn_peer_pk()/dc_conn_peer_addr() may be used inside. */
typedef void (*dc_conn_close_cb)(struct dc_conn *c, int err,
                                 const char *reason, void *ud);
/* After a dc_conn_send() failed with DC_EAGAIN: the queue fell below half of
 * DC_CONN_SENDQ_MAX, so sending may resume. */
typedef void (*dc_conn_drain_cb)(struct dc_conn *c, void *ud);
/* A server connection finished its handshake. The callee must call
 * dc_conn_set_handlers() now to receive frames and the close; it owns c
 * from here on (dc_conn_close()). */
typedef void (*dc_listener_conn_cb)(struct dc_listener *l, struct dc_conn *c,
                                    void *ud);

/* Connects to host (numeric IPv4/IPv6 or a name, resolved asynchronously)
 * and runs the client handshake. id is borrowed and must outlive the
 * connection; expected_peer_pk is copied (NULL = accept any server key);
 * host is copied; ud is borrowed. on_ready/on_frame may be NULL.
 * OUT: out (may be NULL), valid until on_close returns.
 * If this returns an error no callback runs.
 * Errors: DC_EINVAL, DC_ENOMEM, DC_EIO (or a mapped libuv error). */
int dc_conn_connect(uv_loop_t *loop, const char *host, uint16_t port,
                    const struct dc_identity *id,
                    const uint8_t *expected_peer_pk, dc_conn_ready_cb on_ready,
                    dc_conn_frame_cb on_frame, dc_conn_close_cb on_close,
                    void *ud, struct dc_conn **out);
/* Replaces frame and close callbacks and their ud (server connections get
 * theirs here, inside dc_listener_conn_cb). */
void dc_conn_set_handlers(struct dc_conn *c, dc_conn_frame_cb on_frame,
                          dc_conn_close_cb on_close, void *ud);
void dc_conn_set_drain_cb(struct dc_conn *c, dc_conn_drain_cb on_drain);
/* Restarts the handshake timer with ms if the handshake is still running.
 * Errors: DC_EINVAL (ms == 0). */
int dc_conn_set_handshake_timeout(struct dc_conn *c, uint64_t ms);
/* Encrypts and queues one frame (payload copied). Frames are written in
 * order, batched into as few writes as the socket allows.
 * Errors: DC_ECLOSED (closing), DC_EUNAUTH (handshake not done), DC_EINVAL
 * (type < DC_NET_MSG_APP_MIN), DC_ETOOBIG (len > DC_FRAME_MAX), DC_EAGAIN
 * (queue would pass DC_CONN_SENDQ_MAX: nothing was queued; wait for the
 * drain callback), DC_ENOMEM. */
int dc_conn_send(struct dc_conn *c, uint8_t type, uint8_t version,
                 const void *payload, size_t len);
/* Starts closing: sends CLOSE(reason) if established, flushes queued frames
 * (at most DC_CONN_LINGER_MS), then on_close(c, 0, reason). reason is copied
 * (may be NULL). A second call, or one after a failure, does nothing. */
void dc_conn_close(struct dc_conn *c, const char *reason);
/* Peer key once authenticated, else NULL. Borrowed from c. */
const uint8_t *dc_conn_peer_pk(const struct dc_conn *c);
/* "ip:port" of the peer, "" before it is known. Borrowed from c. */
const char *dc_conn_peer_addr(const struct dc_conn *c);
size_t dc_conn_queued_bytes(const struct dc_conn *c);

/* Listens on host:port (numeric address; port 0 picks a free port). id is
 * borrowed (must outlive the listener and its connections); accept_peer may
 * be NULL (accept every authenticated client) and gets ud; on_conn is
 * required. OUT: out. Errors: DC_EINVAL, DC_ENOMEM, DC_EEXISTS (address in
 * use), DC_EFORBIDDEN, DC_EIO. */
int dc_listener_start(uv_loop_t *loop, const char *host, uint16_t port,
                      const struct dc_identity *id,
                      dc_accept_peer_cb accept_peer,
                      dc_listener_conn_cb on_conn,
                      void *ud, struct dc_listener **out);
/* The bound port (useful after port 0). */
uint16_t dc_listener_port(const struct dc_listener *l);
/* Handshake timeout for connections accepted from now on. */
void dc_listener_set_handshake_timeout(struct dc_listener *l, uint64_t ms);
/* Stops accepting, drops connections still in their handshake, and frees l
 * once libuv has closed its handles. Established connections handed out by
 * on_conn are not touched. */
void dc_listener_stop(struct dc_listener *l);

#endif /* DC_NET_H */
