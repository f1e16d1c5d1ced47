/* SPDX-License-Identifier: Apache-2.0
 * A TCP listener: accepts sockets, runs the server handshake on each, and
 * hands out only authenticated connections. Connections still in their
 * handshake belong to the listener and die with it. */
#include <string.h>

#include "net_int.h"

void listener_unlink(struct dc_conn *c) {
  struct dc_listener *l = c->listener;
  if (!l) return;
  if (c->lprev) c->lprev->lnext = c->lnext;
  else l->pending = c->lnext;
  if (c->lnext) c->lnext->lprev = c->lprev;
  c->lprev = c->lnext = NULL;
  c->listener = NULL;
}

static void on_connection(uv_stream_t *server, int status) {
  struct dc_listener *l = server->data;
  if (status < 0) {
    DC_WARN("net", "accept failed port=%u reason=\"%s\"", l->port,
            uv_strerror(status));
    return;
  }
  int rc = conn_accept(l);
  if (rc)
    DC_WARN("net", "accept failed port=%u reason=\"%s\"", l->port,
            dc_strerror(rc));
}

static void on_listener_closed(uv_handle_t *h) { dc_free(h->data); }

int dc_listener_start(uv_loop_t *loop, const char *host, uint16_t port,
                      const struct dc_identity *id,
                      dc_accept_peer_cb accept_peer,
                      dc_listener_conn_cb on_conn,
                      void *ud, struct dc_listener **out) {
  if (!loop || !host || !id || !id->sk || !on_conn || !out) return DC_EINVAL;
  struct sockaddr_storage ss;
  if (net_parse_addr(host, port, &ss)) return DC_EINVAL;
  struct dc_listener *l = dc_calloc(1, sizeof *l);
  if (!l) return DC_ENOMEM;
  l->loop = loop;
  l->id = id;
  l->accept_peer = accept_peer;
  l->on_conn = on_conn;
  l->ud = ud;
  l->hs_timeout_ms = DC_NET_HANDSHAKE_TIMEOUT_MS;
  int rc = uv_tcp_init(loop, &l->tcp);
  if (rc) {
    dc_free(l);
    return net_uv_err(rc);
  }
  l->tcp.data = l;
  rc = uv_tcp_bind(&l->tcp, (struct sockaddr *)&ss, 0);
  /* libuv may defer a bind error (EADDRINUSE) to listen. */
  if (!rc) rc = uv_listen((uv_stream_t *)&l->tcp, NET_LISTEN_BACKLOG,
                          on_connection);
  struct sockaddr_storage bound;
  int len = sizeof bound;
  if (!rc) rc = uv_tcp_getsockname(&l->tcp, (struct sockaddr *)&bound, &len);
  if (rc) {
    DC_WARN("net", "listen failed host=%s port=%u reason=\"%s\"", host, port,
            uv_strerror(rc));
    uv_close((uv_handle_t *)&l->tcp, on_listener_closed);
    return net_uv_err(rc);
  }
  l->port = bound.ss_family == AF_INET6
                ? ntohs(((struct sockaddr_in6 *)&bound)->sin6_port)
                : ntohs(((struct sockaddr_in *)&bound)->sin_port);
  DC_INFO("net", "listening host=%s port=%u", host, l->port);
  *out = l;
  return DC_OK;
}

uint16_t dc_listener_port(const struct dc_listener *l) { return l->port; }

void dc_listener_set_handshake_timeout(struct dc_listener *l, uint64_t ms) {
  if (ms) l->hs_timeout_ms = ms;
}

void dc_listener_stop(struct dc_listener *l) {
  while (l->pending) /* begin_close unlinks the head */
    conn_begin_close(l->pending, DC_ECANCELED, "listener stopped", false);
  DC_INFO("net", "listener stopped port=%u", l->port);
  uv_close((uv_handle_t *)&l->tcp, on_listener_closed);
}
