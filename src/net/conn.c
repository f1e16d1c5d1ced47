/* SPDX-License-Identifier: Apache-2.0
 * A TCP connection on libuv that runs the secure session: reads go through
 * the framer into the session, sealed output is coalesced into one write at
 * a time, and every way of ending funnels into one close path that calls
 * on_close once and frees memory only after libuv's close callbacks. */
#include <stdio.h>
#include <string.h>

#include "net_int.h"

/* ---- teardown ---- */

static void conn_free(struct dc_conn *c) {
  if (!c->silent && c->on_close)
    c->on_close(c, c->close_err, c->close_reason, c->ud);
  dc_session_close(&c->sess);
  dc_framer_close(&c->framer);
  dc_buf_free(&c->outq);
  dc_buf_free(&c->inflight);
  dc_free(c->rbuf);
  dc_free(c->host);
  dc_free(c);
}

/* One handle or request owed us its callback; the last one frees. */
static void conn_unref(struct dc_conn *c) {
  DC_ASSERT(c->open > 0);
  if (--c->open == 0) conn_free(c);
}

static void on_handle_closed(uv_handle_t *h) { conn_unref(h->data); }

static void hard_close(struct dc_conn *c) {
  if (c->hard_closing) return;
  c->hard_closing = true;
  c->connected = false;
  /* A cancelled lookup still calls back (UV_EAI_CANCELED); if it is already
   * running, uv_cancel fails and it calls back when done. Either way the
   * callback drops its reference. */
  if (c->gai_pending) uv_cancel((uv_req_t *)&c->gai_req);
  /* Closing the stream first cancels pending connect/write requests; their
   * callbacks run before the close callback, while c is alive. */
  if (c->tcp_up) uv_close((uv_handle_t *)&c->tcp, on_handle_closed);
  if (c->timer_up) uv_close((uv_handle_t *)&c->timer, on_handle_closed);
}

static void flush(struct dc_conn *c);
static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf);
static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);

static void on_linger(uv_timer_t *t) { hard_close(t->data); }

void conn_begin_close(struct dc_conn *c, int err, const char *reason,
                      bool graceful) {
  if (c->closing) return;
  c->closing = true;
  c->close_err = err;
  snprintf(c->close_reason, sizeof c->close_reason, "%s",
           reason ? reason : "");
  listener_unlink(c);

  const uint8_t *pk = dc_session_peer_pk(&c->sess);
  char hex[9] = "-";
  if (pk) net_hex8(pk, hex);
  if (err == DC_OK)
    DC_DEBUG("net", "closing peer=%s addr=%s reason=\"%s\"", hex, c->addr,
             c->close_reason);
  else if (err == DC_ECLOSED)
    DC_INFO("net", "peer=%s addr=%s closed reason=\"%s\"", hex, c->addr,
            c->close_reason);
  else
    DC_WARN("net", "peer=%s addr=%s err=%s reason=\"%s\"", hex, c->addr,
            dc_err_name(err), c->close_reason);

  if (c->connected) uv_read_stop((uv_stream_t *)&c->tcp);
  if (c->timer_up) uv_timer_stop(&c->timer);
  if (graceful && c->connected && (c->writing || c->outq.len)) {
    flush(c);
    uv_timer_start(&c->timer, on_linger, DC_CONN_LINGER_MS, 0);
    return;
  }
  hard_close(c);
}

/* ---- writing ---- */

static void on_write(uv_write_t *req, int status) {
  struct dc_conn *c = req->data;
  c->writing = false;
  if (c->inflight.alloc > NET_BUF_KEEP_BYTES)
    dc_buf_free(&c->inflight);
  else
    dc_buf_reset(&c->inflight);
  if (c->hard_closing) return;
  if (status < 0) {
    char why[96];
    snprintf(why, sizeof why, "write: %s", uv_strerror(status));
    if (c->closing) hard_close(c);
    else conn_begin_close(c, DC_EIO, why, false);
    return;
  }
  if (c->closing && c->outq.len == 0) {
    hard_close(c);
    return;
  }
  flush(c);
  if (dc_conn_queued_bytes(c) >= DC_CONN_SENDQ_MAX / 2) return;
  if (c->read_paused && !c->closing) {
    int rc = uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
    if (rc) {
      conn_begin_close(c, net_uv_err(rc), "cannot resume reading", false);
      return;
    }
    c->read_paused = false;
  }
  if (c->drain_wanted && !c->closing) {
    c->drain_wanted = false;
    if (c->on_drain) c->on_drain(c, c->ud);
  }
}

/* One write in flight at a time; everything sealed meanwhile accumulates in
 * outq and leaves in the next single write, so a burst of small frames
 * costs a syscall per batch, not per frame. */
static void flush(struct dc_conn *c) {
  if (c->writing || c->hard_closing || !c->connected || c->outq.len == 0)
    return;
  struct dc_buf t = c->inflight;
  c->inflight = c->outq;
  c->outq = t;
  uv_buf_t b = uv_buf_init((char *)c->inflight.data, (unsigned)c->inflight.len);
  int rc = uv_write(&c->write_req, (uv_stream_t *)&c->tcp, &b, 1, on_write);
  if (rc) {
    char why[96];
    snprintf(why, sizeof why, "write: %s", uv_strerror(rc));
    c->closing ? hard_close(c) : conn_begin_close(c, DC_EIO, why, false);
    return;
  }
  c->writing = true;
}

/* ---- reading ---- */

static void on_established(struct dc_conn *c) {
  if (c->timer_up) uv_timer_stop(&c->timer);
  char hex[9];
  net_hex8(dc_session_peer_pk(&c->sess), hex);
  DC_INFO("net", "session up peer=%s addr=%s role=%s", hex, c->addr,
          c->is_server ? "server" : "client");
  if (c->is_server) {
    struct dc_listener *l = c->listener;
    listener_unlink(c);
    if (l) l->on_conn(l, c, l->ud);
  } else if (c->on_ready) {
    c->on_ready(c, c->ud);
  }
}

/* A local verdict on the peer's bytes. In an established session the peer
 * is told why (a sealed CLOSE) before we hang up; before it there is no key
 * to tell it with. */
static void fail_peer(struct dc_conn *c, int err, const char *reason,
                      bool tell) {
  if (tell && dc_session_seal_close(&c->sess, err, reason, &c->outq) == 0) {
    conn_begin_close(c, err, reason, true);
    return;
  }
  conn_begin_close(c, err, reason, false);
}

static void process(struct dc_conn *c, const uint8_t *p, size_t n) {
  while (n > 0 && !c->closing) {
    size_t used, blen;
    const uint8_t *body;
    bool was_up = dc_session_established(&c->sess);
    int rc = dc_framer_next(&c->framer, p, n, &used, &body, &blen);
    p += used;
    n -= used;
    if (rc) {
      char why[128];
      if (rc == DC_ETOOBIG)
        snprintf(why, sizeof why, "frame too big (length %u, max %u)",
                 c->framer.bad_len, c->framer.body_max);
      else if (rc == DC_EPROTO)
        snprintf(why, sizeof why, "frame too short (length %u)",
                 c->framer.bad_len);
      else
        snprintf(why, sizeof why, "framer: %s", dc_strerror(rc));
      fail_peer(c, rc, why, was_up);
      return;
    }
    if (!body) return;
    struct dc_frame fr;
    bool have;
    size_t before = c->outq.len;
    rc = dc_session_recv(&c->sess, body, blen, &c->outq, &fr, &have);
    if (rc) {
      const char *why = dc_session_reason(&c->sess);
      if (c->outq.len > before) /* the session's own CLOSE (refused peer) */
        conn_begin_close(c, rc, why, true);
      else
        fail_peer(c, rc, why, was_up && !c->sess.peer_closed);
      return;
    }
    flush(c);
    dc_framer_set_max(&c->framer, dc_session_record_max(&c->sess));
    if (!was_up && dc_session_established(&c->sess))
      on_established(c);
    else if (have && c->on_frame)
      c->on_frame(c, fr.type, fr.version, fr.payload, fr.len, c->ud);
  }
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf) {
  struct dc_conn *c = h->data;
  if (!c->rbuf) c->rbuf = dc_malloc(DC_CONN_READ_BYTES);
  buf->base = (char *)c->rbuf;
  buf->len = c->rbuf ? DC_CONN_READ_BYTES : 0; /* 0 -> UV_ENOBUFS */
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
  struct dc_conn *c = s->data;
  if (c->closing || nread == 0) return;
  if (nread > 0) {
    process(c, (const uint8_t *)buf->base, (size_t)nread);
    /* Replies the session makes on its own (PONG) are not bounded by
     * dc_conn_send, and an echoing application may ignore DC_EAGAIN: a peer
     * that sends but never reads must not grow our queue. Stop reading it
     * until the queue drains below half (on_write resumes). */
    if (!c->closing && dc_conn_queued_bytes(c) > DC_CONN_SENDQ_MAX) {
      uv_read_stop((uv_stream_t *)&c->tcp);
      c->read_paused = true;
    }
    return;
  }
  char why[128];
  if (nread == UV_EOF) {
    bool up = dc_session_established(&c->sess);
    bool mid = c->framer.in_body || c->framer.hdr_len;
    snprintf(why, sizeof why, "%speer closed the connection%s",
             up ? "" : "handshake: ", mid ? " mid-frame" : "");
    conn_begin_close(c, mid ? DC_ETRUNCATED : DC_ECLOSED, why, false);
  } else if (nread == UV_ENOBUFS) {
    conn_begin_close(c, DC_ENOMEM, "out of memory for read buffer", false);
  } else {
    snprintf(why, sizeof why, "read: %s", uv_strerror((int)nread));
    conn_begin_close(c, DC_EIO, why, false);
  }
}

/* ---- setting up ---- */

static void on_timer(uv_timer_t *t) {
  struct dc_conn *c = t->data;
  char why[96];
  snprintf(why, sizeof why, "handshake: timed out after %llu ms",
           (unsigned long long)c->hs_timeout_ms);
  conn_begin_close(c, DC_ETIMEOUT, why, false);
}

/* Creates a connection with its session, framer and both handles. */
static int conn_new(uv_loop_t *loop, enum dc_session_role role,
                    const struct dc_identity *id, const uint8_t *pin,
                    dc_accept_peer_cb accept_peer, void *accept_ud,
                    struct dc_conn **out) {
  struct dc_conn *c = dc_calloc(1, sizeof *c);
  if (!c) return DC_ENOMEM;
  int rc = dc_session_init(&c->sess, role, id, pin, accept_peer, accept_ud);
  if (rc) {
    dc_free(c);
    return rc;
  }
  dc_framer_init(&c->framer, DC_HANDSHAKE_BODY_MAX);
  c->loop = loop;
  c->is_server = role == DC_SESSION_SERVER;
  c->hs_timeout_ms = DC_NET_HANDSHAKE_TIMEOUT_MS;
  c->write_req.data = c;
  c->connect_req.data = c;
  c->gai_req.data = c;
  c->silent = true; /* until the start call succeeds */
  if ((rc = uv_tcp_init(loop, &c->tcp))) {
    dc_session_close(&c->sess);
    dc_free(c);
    return net_uv_err(rc);
  }
  c->tcp.data = c;
  c->tcp_up = true;
  c->open++;
  if ((rc = uv_timer_init(loop, &c->timer))) {
    c->closing = true;
    hard_close(c);
    return net_uv_err(rc);
  }
  c->timer.data = c;
  c->timer_up = true;
  c->open++;
  *out = c;
  return DC_OK;
}

/* Socket is up: Nagle off (frames are latency-sensitive and we batch
 * ourselves), start reading. */
static int begin_io(struct dc_conn *c) {
  c->connected = true;
  uv_tcp_nodelay(&c->tcp, 1);
  int rc = uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
  return net_uv_err(rc);
}

static void on_connected(uv_connect_t *req, int status) {
  struct dc_conn *c = req->data;
  if (c->closing) return;
  char why[160];
  if (status < 0) {
    snprintf(why, sizeof why, "connect to %s: %s", c->addr,
             uv_strerror(status));
    conn_begin_close(c, DC_EIO, why, false);
    return;
  }
  int rc = begin_io(c);
  if (!rc) rc = dc_session_start(&c->sess, &c->outq);
  if (rc) {
    snprintf(why, sizeof why, "start: %s", dc_strerror(rc));
    conn_begin_close(c, rc, why, false);
    return;
  }
  flush(c);
}

static int start_connect(struct dc_conn *c, const struct sockaddr *sa) {
  net_format_addr(sa, c->addr, sizeof c->addr);
  return uv_tcp_connect(&c->connect_req, &c->tcp, sa, on_connected);
}

static void on_resolved(uv_getaddrinfo_t *req, int status,
                        struct addrinfo *res) {
  struct dc_conn *c = req->data;
  c->gai_pending = false;
  if (!c->closing) {
    if (status == 0 && !res) status = UV_EAI_NODATA;
    int rc = status < 0 ? status : start_connect(c, res->ai_addr);
    if (rc) {
      char why[160];
      snprintf(why, sizeof why, "%s %s: %s",
               status < 0 ? "resolve" : "connect to", c->host,
               uv_strerror(rc));
      conn_begin_close(c, status < 0 ? DC_ENOTFOUND : net_uv_err(rc), why,
                       false);
    }
  }
  uv_freeaddrinfo(res);
  conn_unref(c);
}

int dc_conn_connect(uv_loop_t *loop, const char *host, uint16_t port,
                    const struct dc_identity *id,
                    const uint8_t *expected_peer_pk, dc_conn_ready_cb on_ready,
                    dc_conn_frame_cb on_frame, dc_conn_close_cb on_close,
                    void *ud, struct dc_conn **out) {
  if (!loop || !host || !*host || !id || !id->sk || port == 0)
    return DC_EINVAL;
  struct dc_conn *c;
  int rc = conn_new(loop, DC_SESSION_CLIENT, id, expected_peer_pk, NULL, NULL,
                    &c);
  if (rc) return rc;
  c->on_ready = on_ready;
  c->on_frame = on_frame;
  c->on_close = on_close;
  c->ud = ud;
  c->port = port;
  struct sockaddr_storage ss;
  if (net_parse_addr(host, port, &ss) == 0) {
    rc = net_uv_err(start_connect(c, (struct sockaddr *)&ss));
  } else if (!(c->host = dc_strdup(host))) {
    rc = DC_ENOMEM;
  } else {
    char svc[8];
    snprintf(svc, sizeof svc, "%u", port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM};
    snprintf(c->addr, sizeof c->addr, "%.*s:%u", INET6_ADDRSTRLEN, host, port);
    rc = net_uv_err(uv_getaddrinfo(loop, &c->gai_req, on_resolved, host, svc,
                                   &hints));
    if (!rc) {
      c->gai_pending = true;
      c->open++;
    }
  }
  if (rc) {
    c->closing = true; /* silent: the caller sees only rc */
    hard_close(c);
    return rc;
  }
  uv_timer_start(&c->timer, on_timer, c->hs_timeout_ms, 0);
  c->silent = false;
  if (out) *out = c;
  return DC_OK;
}

int conn_accept(struct dc_listener *l) {
  struct dc_conn *c;
  int rc = conn_new(l->loop, DC_SESSION_SERVER, l->id, NULL, l->accept_peer,
                    l->ud, &c);
  if (rc) return rc;
  c->hs_timeout_ms = l->hs_timeout_ms;
  if ((rc = uv_accept((uv_stream_t *)&l->tcp, (uv_stream_t *)&c->tcp))) {
    c->closing = true;
    hard_close(c);
    return net_uv_err(rc);
  }
  struct sockaddr_storage ss;
  int sl = sizeof ss;
  if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &sl) == 0)
    net_format_addr((struct sockaddr *)&ss, c->addr, sizeof c->addr);
  c->listener = l;
  c->lnext = l->pending;
  if (l->pending) l->pending->lprev = c;
  l->pending = c;
  c->silent = false; /* on_close stays NULL until on_conn hands it out */
  uv_timer_start(&c->timer, on_timer, c->hs_timeout_ms, 0);
  if ((rc = begin_io(c)))
    conn_begin_close(c, rc, "cannot start reading", false);
  return DC_OK;
}

/* ---- public calls ---- */

void dc_conn_set_handlers(struct dc_conn *c, dc_conn_frame_cb on_frame,
                          dc_conn_close_cb on_close, void *ud) {
  c->on_frame = on_frame;
  c->on_close = on_close;
  c->ud = ud;
}

void dc_conn_set_drain_cb(struct dc_conn *c, dc_conn_drain_cb on_drain) {
  c->on_drain = on_drain;
}

int dc_conn_set_handshake_timeout(struct dc_conn *c, uint64_t ms) {
  if (ms == 0) return DC_EINVAL;
  c->hs_timeout_ms = ms;
  if (!c->closing && !dc_session_established(&c->sess))
    uv_timer_start(&c->timer, on_timer, ms, 0);
  return DC_OK;
}

size_t dc_conn_queued_bytes(const struct dc_conn *c) {
  return c->outq.len + c->inflight.len;
}

int dc_conn_send(struct dc_conn *c, uint8_t type, uint8_t version,
                 const void *payload, size_t len) {
  if (c->closing) return DC_ECLOSED;
  if (!dc_session_established(&c->sess)) return DC_EUNAUTH;
  if (type < DC_NET_MSG_APP_MIN) return DC_EINVAL;
  if (len > DC_FRAME_MAX) return DC_ETOOBIG;
  size_t rec = DC_FRAME_HDR_BYTES + DC_SEALED_BODY_MIN + len;
  if (dc_conn_queued_bytes(c) + rec > DC_CONN_SENDQ_MAX) {
    c->drain_wanted = true;
    return DC_EAGAIN;
  }
  int rc = dc_session_seal(&c->sess, type, version, payload, len, &c->outq);
  if (rc) return rc;
  flush(c);
  return DC_OK;
}

void dc_conn_close(struct dc_conn *c, const char *reason) {
  if (c->closing) return;
  if (dc_session_established(&c->sess))
    (void)dc_session_seal_close(&c->sess, DC_ECLOSED, reason, &c->outq);
  conn_begin_close(c, DC_OK, reason ? reason : "closed", true);
}

const uint8_t *dc_conn_peer_pk(const struct dc_conn *c) {
  return dc_session_peer_pk(&c->sess);
}

const char *dc_conn_peer_addr(const struct dc_conn *c) { return c->addr; }
