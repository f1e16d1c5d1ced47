/* SPDX-License-Identifier: Apache-2.0
 * net internals shared by the module's own .c files; other modules include
 * only net.h. */
#ifndef DC_NET_INT_H
#define DC_NET_INT_H

#include <netinet/in.h>
#include <sodium.h>

#include "net/net.h"

#define NET_KEY_BYTES crypto_aead_chacha20poly1305_ietf_KEYBYTES
#define NET_NONCE_BYTES crypto_aead_chacha20poly1305_ietf_NPUBBYTES

_Static_assert(DC_SEAL_TAG_BYTES == crypto_aead_chacha20poly1305_ietf_ABYTES,
               "tag size");
_Static_assert(DC_KX_PK_BYTES == crypto_kx_PUBLICKEYBYTES, "kx pk size");
_Static_assert(NET_KEY_BYTES == crypto_kx_SESSIONKEYBYTES, "key size");
_Static_assert(DC_HELLO_C_BODY_BYTES == 104 && DC_HELLO_S_BODY_BYTES == 168,
               "handshake sizes are part of the wire spec");
/* A CLOSE with the longest reason must fit the pre-handshake record limit,
 * because a server refusing a client sends one before READY. */
_Static_assert(DC_SEALED_BODY_MIN + 4 + DC_CLOSE_REASON_MAX <=
                   DC_HANDSHAKE_BODY_MAX,
               "CLOSE fits a handshake record");
_Static_assert(DC_HELLO_S_BODY_BYTES <= DC_HANDSHAKE_BODY_MAX, "HELLO_S fits");

/* Key material, in sodium_malloc memory (guarded, wiped on free). */
struct dc_session_secrets {
  uint8_t eph_sk[crypto_kx_SECRETKEYBYTES];
  uint8_t tx[NET_KEY_BYTES];
  uint8_t rx[NET_KEY_BYTES];
};

/* ---- secure.c ---- */
/* Fails s for good with err and a formatted reason; returns err. */
int session_fail(struct dc_session *s, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Seals any type (session messages included) into out. */
int session_seal_msg(struct dc_session *s, uint8_t type, uint8_t version,
                     const void *p, size_t n, struct dc_buf *out);
/* Opens a sealed record body into s->plain. Errors as dc_session_recv. */
int session_open(struct dc_session *s, const uint8_t *body, size_t len,
                 struct dc_frame *fr);
/* Handles a peer CLOSE frame: fails s with the peer's code and reason. */
int session_on_close(struct dc_session *s, const struct dc_frame *fr);
/* First 8 hex chars of a key, for logs and reasons. */
void net_hex8(const uint8_t *pk, char out[9]);

/* ---- handshake.c ---- */
int hs_client_hello(struct dc_session *s, struct dc_buf *out);
int hs_server_on_hello_c(struct dc_session *s, const struct dc_frame *fr,
                         struct dc_buf *out);
int hs_client_on_hello_s(struct dc_session *s, const struct dc_frame *fr,
                         struct dc_buf *out);
int hs_server_on_auth_c(struct dc_session *s, const struct dc_frame *fr,
                        struct dc_buf *out);

/* ---- connections (conn.c, listener.c) ---- */
struct dc_conn {
  uv_loop_t *loop;
  uv_tcp_t tcp;
  uv_timer_t timer;            /* handshake timeout, then close linger */
  uv_connect_t connect_req;
  uv_getaddrinfo_t gai_req;
  uv_write_t write_req;
  int open;                    /* handles + requests still owed a callback */
  bool tcp_up;                 /* tcp handle initialised */
  bool timer_up;
  bool gai_pending;            /* gai_req owes a callback */
  bool connected;              /* socket usable for read/write */
  bool writing;                /* write_req in flight */
  bool closing;                /* close started: no reads, no new sends */
  bool hard_closing;           /* uv_close called */
  bool silent;                 /* never call on_close (start failed) */
  bool drain_wanted;
  bool read_paused;            /* our queue is full: stop reading the peer */
  bool is_server;
  struct dc_session sess;
  struct dc_framer framer;
  struct dc_buf outq;          /* sealed records not yet handed to libuv */
  struct dc_buf inflight;      /* bytes of the write in flight */
  uint8_t *rbuf;               /* DC_CONN_READ_BYTES, lazily allocated */
  uint64_t hs_timeout_ms;
  char *host;                  /* client: for the resolver */
  uint16_t port;
  char addr[INET6_ADDRSTRLEN + 8];
  struct dc_listener *listener; /* server, until handed out by on_conn */
  struct dc_conn *lprev, *lnext; /* listener's handshaking list */
  dc_conn_ready_cb on_ready;
  dc_conn_frame_cb on_frame;
  dc_conn_close_cb on_close;
  dc_conn_drain_cb on_drain;
  void *ud;
  int close_err;
  char close_reason[DC_ERRMSG_SIZE];
};

struct dc_listener {
  uv_loop_t *loop;
  uv_tcp_t tcp;
  const struct dc_identity *id;
  dc_accept_peer_cb accept_peer;
  dc_listener_conn_cb on_conn;
  void *ud;
  uint64_t hs_timeout_ms;
  uint16_t port;
  struct dc_conn *pending;     /* connections still in their handshake */
};

#define NET_LISTEN_BACKLOG 128
/* Buffers grown past this for one burst are released once empty. */
#define NET_BUF_KEEP_BYTES (256u << 10)

/* Parses a numeric IPv4/IPv6 address. Errors: DC_EINVAL. */
int net_parse_addr(const char *host, uint16_t port,
                   struct sockaddr_storage *ss);
/* "ip:port" (IPv6 as "[ip]:port"). */
void net_format_addr(const struct sockaddr *sa, char *out, size_t n);
/* Maps a libuv error (negative) to a DC_E* code. */
int net_uv_err(int uverr);
/* conn.c: a server connection for an accepted socket; on error nothing to
 * undo but what the caller created. */
int conn_accept(struct dc_listener *l);
/* conn.c: starts closing c (idempotent). graceful flushes queued output. */
void conn_begin_close(struct dc_conn *c, int err, const char *reason,
                      bool graceful);
/* listener.c: a handshaking connection leaves its listener's list. */
void listener_unlink(struct dc_conn *c);

#endif /* DC_NET_INT_H */
