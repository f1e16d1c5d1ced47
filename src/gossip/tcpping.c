/* SPDX-License-Identifier: Apache-2.0
 * memberlist's TCP fallback ping on libuv: connect, send one sealed ping
 * (u32 length | frame, the push-pull framing), read one sealed ack, close;
 * the whole exchange bounded by the time the core gives (the end of its
 * probe). A lost datagram on a loaded host is not a dead member: TCP
 * retransmits what a full socket buffer dropped. Also the answering side:
 * the ack written back on an accepted stream. */
#include <string.h>

#include "gossip/udp_int.h"

/* An ack is a few bytes; anything larger than a datagram is not one. */
#define PING_FRAME_MAX DC_GOSSIP_FRAME_MAX

struct ping_out {
  uv_tcp_t tcp;
  uv_connect_t conn;
  uv_write_t wr;
  uv_timer_t timer;
  struct udp_group *gr;
  int open;  /* handles still to close */
  bool done;
  size_t outlen, inlen;
  uint8_t out[4 + PING_FRAME_MAX];
  uint8_t in[4 + PING_FRAME_MAX];
};

static void put_len(uint8_t *b, size_t n) {
  b[0] = (uint8_t)(n >> 24);
  b[1] = (uint8_t)(n >> 16);
  b[2] = (uint8_t)(n >> 8);
  b[3] = (uint8_t)n;
}

static void ping_closed(uv_handle_t *h) {
  struct ping_out *po = h->data;
  if (--po->open) return;
  struct dc_gossip_udp *u = po->gr->u;
  dc_free(po);
  udp_stream_done(u);
}

/* Ends the exchange once: ok = a valid ack was handed to the core. */
static void ping_finish(struct ping_out *po, bool ok) {
  if (po->done) return;
  po->done = true;
  struct dc_gossip_udp *u = po->gr->u;
  if (ok) u->stats.tcp_ping_acks++;
  else u->stats.tcp_ping_failures++;
  uv_timer_stop(&po->timer);
  uv_close((uv_handle_t *)&po->tcp, ping_closed);
  uv_close((uv_handle_t *)&po->timer, ping_closed);
}

static void ping_timeout(uv_timer_t *t) { ping_finish(t->data, false); }

static void ping_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf) {
  (void)hint;
  struct ping_out *po = h->data;
  *buf = uv_buf_init((char *)po->in + po->inlen, (unsigned)(sizeof po->in - po->inlen));
}

/* The answer: u32 length | sealed frame of this group holding one ack. */
static void ping_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf) {
  (void)buf;
  struct ping_out *po = st->data;
  struct udp_group *gr = po->gr;
  struct dc_gossip_udp *u = gr->u;
  if (po->done) return;
  if (nread < 0) {
    ping_finish(po, false);
    return;
  }
  po->inlen += (size_t)nread;
  if (po->inlen < 4) return;
  size_t want = (size_t)po->in[0] << 24 | (size_t)po->in[1] << 16 | (size_t)po->in[2] << 8 | po->in[3];
  if (want < DC_GOSSIP_SEAL_OVERHEAD || want > PING_FRAME_MAX) {
    u->stats.dropped++;
    ping_finish(po, false);
    return;
  }
  if (po->inlen < want + 4) return;
  if (po->inlen > want + 4) { /* one frame and nothing after it */
    u->stats.dropped++;
    ping_finish(po, false);
    return;
  }
  u->stats.tcp_ping_bytes += want + 4;
  uint8_t body[PING_FRAME_MAX];
  size_t bl;
  /* dc_gossip_open checks version, group and the key (and counts its
   * refusals in the keyring); the core refuses anything but one ack. */
  if (u->stopped || dc_gossip_open(&gr->kr, po->in + 4, want, PING_FRAME_MAX, body, &bl) ||
      dc_gossip_recv_stream(gr->g, body, bl, (int64_t)uv_now(u->loop))) {
    if (!u->stopped) u->stats.dropped++;
    ping_finish(po, false);
    return;
  }
  ping_finish(po, true);
  udp_rearm(u);
}

static void ping_written(uv_write_t *w, int status) {
  struct ping_out *po = w->data;
  if (po->done) return;
  if (status || uv_read_start((uv_stream_t *)&po->tcp, ping_alloc, ping_read)) ping_finish(po, false);
}

static void ping_connected(uv_connect_t *c, int status) {
  struct ping_out *po = c->data;
  if (po->done) return;
  uv_buf_t b = uv_buf_init((char *)po->out, (unsigned)po->outlen);
  if (status || uv_write(&po->wr, (uv_stream_t *)&po->tcp, &b, 1, ping_written))
    ping_finish(po, false);
}

void udp_ping_stream(void *data, const struct dc_gossip_addr *to, const uint8_t *p, size_t n,
                     uint32_t timeout_ms) {
  struct udp_group *gr = data;
  struct dc_gossip_udp *u = gr->u;
  if (u->stopped || !timeout_ms) return;
  struct ping_out *po = dc_calloc(1, sizeof *po);
  if (!po) return;
  size_t fl = 0;
  if (dc_gossip_seal(&gr->kr, p, n, PING_FRAME_MAX, po->out + 4, &fl)) {
    dc_free(po);
    return;
  }
  put_len(po->out, fl);
  po->outlen = fl + 4;
  po->gr = gr;
  po->tcp.data = po->conn.data = po->wr.data = po->timer.data = po;
  uv_tcp_init(u->loop, &po->tcp);
  uv_timer_init(u->loop, &po->timer);
  po->open = 2;
  u->streams++;
  u->stats.tcp_pings++;
  u->stats.tcp_ping_bytes += po->outlen;
  /* Nagle would hold the ack's segment behind nothing; say it at once. */
  uv_tcp_nodelay(&po->tcp, 1);
  struct sockaddr_storage ss;
  socklen_t sl;
  udp_to_sockaddr(to, &ss, &sl);
  uv_timer_start(&po->timer, ping_timeout, timeout_ms, 0);
  if (uv_tcp_connect(&po->conn, &po->tcp, (struct sockaddr *)&ss, ping_connected))
    ping_finish(po, false);
}

static void reply_written(uv_write_t *w, int status) {
  (void)status;
  udp_stream_in_end(w->data);
}

void udp_reply_stream(void *data, const uint8_t *p, size_t n) {
  struct udp_group *gr = data;
  struct dc_gossip_udp *u = gr->u;
  struct stream_in *s = u->reply_to;
  if (!s || s->replying) return;
  uint8_t *b = dc_malloc(4 + PING_FRAME_MAX);
  size_t fl = 0;
  if (!b || dc_gossip_seal(&gr->kr, p, n, PING_FRAME_MAX, b + 4, &fl)) {
    dc_free(b);
    return;
  }
  put_len(b, fl);
  s->reply = b;
  s->wr.data = s;
  uv_buf_t buf = uv_buf_init((char *)b, (unsigned)(fl + 4));
  if (uv_write(&s->wr, (uv_stream_t *)&s->tcp, &buf, 1, reply_written)) return;
  s->replying = true;
  u->stats.tcp_ping_bytes += fl + 4;
}
