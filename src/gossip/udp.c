/* SPDX-License-Identifier: Apache-2.0
 * The daemon's transport for the gossip core: one UDP socket (and a TCP
 * listener on the same port for push-pull) shared by every group of the
 * process, frames sealed with each group's keyring, datagrams produced in
 * one loop iteration sent with one sendmmsg(2) (the sender's syscall is
 * the cost of UDP), and one timer that runs the cores' deadlines. */
#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "gossip/udp_int.h"

void udp_to_sockaddr(const struct dc_gossip_addr *a, struct sockaddr_storage *ss, socklen_t *len) {
  memset(ss, 0, sizeof *ss);
  if (a->family == 6) {
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
    s6->sin6_family = AF_INET6;
    memcpy(&s6->sin6_addr, a->ip, 16);
    s6->sin6_port = htons(a->port);
    *len = sizeof *s6;
  } else {
    struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
    s4->sin_family = AF_INET;
    memcpy(&s4->sin_addr, a->ip, 4);
    s4->sin_port = htons(a->port);
    *len = sizeof *s4;
  }
}

int dc_gossip_addr_parse(const char *host, uint16_t port, struct dc_gossip_addr *out) {
  memset(out, 0, sizeof *out);
  struct sockaddr_in s4;
  struct sockaddr_in6 s6;
  if (uv_ip4_addr(host, port, &s4) == 0) {
    out->family = 4;
    memcpy(out->ip, &s4.sin_addr, 4);
  } else if (uv_ip6_addr(host, port, &s6) == 0) {
    out->family = 6;
    memcpy(out->ip, &s6.sin6_addr, 16);
  } else {
    return DC_EINVAL;
  }
  out->port = port;
  return DC_OK;
}

void udp_flush(struct dc_gossip_udp *u) {
  if (!u->nbatch) return;
  struct mmsghdr msgs[UDP_BATCH];
  struct iovec iov[UDP_BATCH];
  memset(msgs, 0, sizeof msgs);
  for (size_t i = 0; i < u->nbatch; i++) {
    iov[i].iov_base = u->batch[i].data;
    iov[i].iov_len = u->batch[i].len;
    msgs[i].msg_hdr.msg_name = &u->batch[i].to;
    msgs[i].msg_hdr.msg_namelen = u->batch[i].tolen;
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
  }
  uv_os_fd_t fd;
  if (uv_fileno((uv_handle_t *)&u->udp, &fd) == 0) {
    size_t done = 0;
    while (done < u->nbatch) {
      int n = sendmmsg(fd, msgs + done, (unsigned)(u->nbatch - done), MSG_DONTWAIT);
      if (n <= 0) {
        if (n < 0 && errno == EINTR) continue;
        /* A full socket buffer drops the rest: UDP is lossy by contract and
         * the protocol recovers (that is its point). */
        u->stats.send_errors += u->nbatch - done;
        break;
      }
      done += (size_t)n;
    }
    u->stats.sendmmsg_calls++;
  }
  u->nbatch = 0;
}

static struct udp_group *group_of(void *data) { return data; }

/* Frees the transport once it is stopped and nothing refers to it. */
static void maybe_free(struct dc_gossip_udp *u) {
  if (!u->stopped || u->handles > 0 || u->streams > 0) return;
  void (*cb)(void *) = u->stopped;
  void *data = u->stopped_data;
  for (size_t i = 0; i < u->ngroups; i++) {
    dc_gossip_free(u->groups[i].g);
    dc_gossip_keyring_close(&u->groups[i].kr);
  }
  dc_free(u);
  cb(data);
}

void udp_stream_done(struct dc_gossip_udp *u) {
  u->streams--;
  maybe_free(u);
}

static uint64_t io_rand(void *data) {
  (void)data;
  uint64_t v;
  randombytes_buf(&v, sizeof v);
  return v;
}

/* Probe rounds need a clock every member shares: uv_now counts from an
 * origin of its own on each host, wall time (NTP-disciplined) does not. A
 * skew between hosts only moves when a member's probe fires within the
 * round, never which round it is. */
static int64_t io_wall_ms(void *data) {
  (void)data;
  uv_timeval64_t tv;
  if (uv_gettimeofday(&tv)) return 0;
  return tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

static void io_send(void *data, const struct dc_gossip_addr *to, const uint8_t *p, size_t n) {
  struct udp_group *gr = group_of(data);
  struct dc_gossip_udp *u = gr->u;
  if (u->nbatch == UDP_BATCH) udp_flush(u);
  struct out_dgram *d = &u->batch[u->nbatch];
  if (dc_gossip_seal(&gr->kr, p, n, DC_GOSSIP_FRAME_MAX, d->data, &d->len)) return;
  udp_to_sockaddr(to, &d->to, &d->tolen);
  u->nbatch++;
  u->stats.sent_packets++;
  u->stats.sent_bytes += d->len;
}

struct stream_out {
  uv_tcp_t tcp;
  uv_connect_t conn;
  uv_write_t wr;
  uv_buf_t buf;
  struct dc_gossip_udp *u;
};

static void stream_out_closed(uv_handle_t *h) {
  struct stream_out *s = h->data;
  struct dc_gossip_udp *u = s->u;
  dc_free(s->buf.base);
  dc_free(s);
  udp_stream_done(u);
}

static void stream_written(uv_write_t *w, int status) {
  (void)status;
  struct stream_out *s = w->data;
  uv_close((uv_handle_t *)&s->tcp, stream_out_closed);
}

static void stream_connected(uv_connect_t *c, int status) {
  struct stream_out *s = c->data;
  if (status == 0 && uv_write(&s->wr, (uv_stream_t *)&s->tcp, &s->buf, 1, stream_written) == 0)
    return;
  s->u->stats.stream_errors++;
  uv_close((uv_handle_t *)&s->tcp, stream_out_closed);
}

static void io_send_stream(void *data, const struct dc_gossip_addr *to, const uint8_t *p, size_t n) {
  struct udp_group *gr = group_of(data);
  struct dc_gossip_udp *u = gr->u;
  if (u->stopped || n + DC_GOSSIP_SEAL_OVERHEAD + 4 > STREAM_MAX) return;
  struct stream_out *s = dc_calloc(1, sizeof *s);
  uint8_t *b = dc_malloc(n + DC_GOSSIP_SEAL_OVERHEAD + 4);
  size_t fl = 0;
  if (!s || !b || dc_gossip_seal(&gr->kr, p, n, STREAM_MAX, b + 4, &fl)) {
    dc_free(s);
    dc_free(b);
    return;
  }
  b[0] = (uint8_t)(fl >> 24);
  b[1] = (uint8_t)(fl >> 16);
  b[2] = (uint8_t)(fl >> 8);
  b[3] = (uint8_t)fl;
  s->buf = uv_buf_init((char *)b, (unsigned)(fl + 4));
  s->u = u;
  s->tcp.data = s;
  s->conn.data = s;
  s->wr.data = s;
  struct sockaddr_storage ss;
  socklen_t sl;
  udp_to_sockaddr(to, &ss, &sl);
  uv_tcp_init(u->loop, &s->tcp);
  u->streams++;
  if (uv_tcp_connect(&s->conn, &s->tcp, (struct sockaddr *)&ss, stream_connected)) {
    uv_close((uv_handle_t *)&s->tcp, stream_out_closed);
    return;
  }
  u->stats.stream_bytes += fl + 4;
}

static void io_event(void *data, const struct dc_gossip_event *ev) {
  struct udp_group *gr = group_of(data);
  if (gr->cb) gr->cb(gr->data, gr->id, ev);
}

static void on_timer(uv_timer_t *t);

void udp_rearm(struct dc_gossip_udp *u) {
  if (u->stopped) return;
  int64_t next = INT64_MAX;
  for (size_t i = 0; i < u->ngroups; i++) {
    int64_t d = dc_gossip_next_deadline(u->groups[i].g);
    if (d < next) next = d;
  }
  if (next == INT64_MAX) return;
  int64_t now = (int64_t)uv_now(u->loop);
  uv_timer_start(&u->timer, on_timer, next > now ? (uint64_t)(next - now) : 0, 0);
}

static void on_timer(uv_timer_t *t) {
  struct dc_gossip_udp *u = t->data;
  int64_t now = (int64_t)uv_now(u->loop);
  for (size_t i = 0; i < u->ngroups; i++) dc_gossip_tick(u->groups[i].g, now);
  udp_flush(u);
  udp_rearm(u);
}

static void on_check(uv_check_t *c) {
  struct dc_gossip_udp *u = c->data;
  udp_flush(u);
}

static struct udp_group *find_group(struct dc_gossip_udp *u, uint32_t id) {
  for (size_t i = 0; i < u->ngroups; i++)
    if (u->groups[i].id == id) return &u->groups[i];
  return NULL;
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf) {
  (void)hint;
  struct dc_gossip_udp *u = h->data;
  *buf = uv_buf_init((char *)u->rbuf, sizeof u->rbuf);
}

static void on_recv(uv_udp_t *h, ssize_t nread, const uv_buf_t *buf, const struct sockaddr *from,
                    unsigned flags) {
  (void)from, (void)flags;
  struct dc_gossip_udp *u = h->data;
  if (nread <= 0 || u->stopped) return;
  u->stats.recv_packets++;
  uint32_t gid;
  struct udp_group *gr = NULL;
  if (dc_gossip_frame_group((const uint8_t *)buf->base, (size_t)nread, &gid) == DC_OK)
    gr = find_group(u, gid);
  if (!gr) {
    u->stats.dropped++;
    return;
  }
  uint8_t body[DC_GOSSIP_FRAME_MAX];
  size_t bl;
  if (dc_gossip_open(&gr->kr, (const uint8_t *)buf->base, (size_t)nread, DC_GOSSIP_FRAME_MAX, body, &bl)) {
    u->stats.dropped++;
    return;
  }
  if (dc_gossip_recv(gr->g, body, bl, (int64_t)uv_now(u->loop))) u->stats.dropped++;
  udp_rearm(u);
}

static void stream_in_closed(uv_handle_t *h) {
  struct stream_in *s = h->data;
  if (--s->open) return;
  struct dc_gossip_udp *u = s->u;
  dc_free(s->buf);
  dc_free(s->reply);
  dc_free(s);
  udp_stream_done(u);
}

void udp_stream_in_end(struct stream_in *s) {
  if (s->closing) return;
  s->closing = true;
  uv_timer_stop(&s->timer);
  uv_close((uv_handle_t *)&s->tcp, stream_in_closed);
  uv_close((uv_handle_t *)&s->timer, stream_in_closed);
}

/* A peer that connects and then says nothing, or too little, is cut off:
 * unauthenticated bytes must not hold a connection open. */
static void stream_in_timeout(uv_timer_t *t) {
  struct stream_in *s = t->data;
  s->u->stats.stream_errors++;
  udp_stream_in_end(s);
}

static void stream_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf) {
  (void)hint;
  struct stream_in *s = h->data;
  size_t room = (s->want ? s->want + 4 : 4) - s->len;
  *buf = uv_buf_init((char *)s->buf + s->len, (unsigned)room);
}

static void stream_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf) {
  (void)buf;
  struct stream_in *s = st->data;
  struct dc_gossip_udp *u = s->u;
  if (nread < 0) {
    udp_stream_in_end(s);
    return;
  }
  s->len += (size_t)nread;
  if (!s->want && s->len == 4) {
    size_t w = (size_t)s->buf[0] << 24 | (size_t)s->buf[1] << 16 | (size_t)s->buf[2] << 8 | s->buf[3];
    uint8_t *nb = w >= DC_GOSSIP_SEAL_OVERHEAD && w <= STREAM_MAX ? dc_realloc(s->buf, w + 4) : NULL;
    if (!nb) {
      u->stats.dropped++;
      udp_stream_in_end(s);
      return;
    }
    s->buf = nb;
    s->want = w;
    return;
  }
  if (!s->want || s->len < s->want + 4) return;
  uint32_t gid;
  struct udp_group *gr = NULL;
  if (dc_gossip_frame_group(s->buf + 4, s->want, &gid) == DC_OK) gr = find_group(u, gid);
  uint8_t *body = gr ? dc_malloc(s->want) : NULL;
  size_t bl;
  /* A stream ping is answered on this connection (io.reply_stream), which
   * then closes once the ack is written. */
  u->reply_to = s;
  if (!body || dc_gossip_open(&gr->kr, s->buf + 4, s->want, STREAM_MAX, body, &bl) ||
      dc_gossip_recv_stream(gr->g, body, bl, (int64_t)uv_now(u->loop)))
    u->stats.dropped++;
  u->reply_to = NULL;
  dc_free(body);
  uv_read_stop((uv_stream_t *)&s->tcp);
  if (!s->replying) udp_stream_in_end(s);
  udp_flush(u);
  udp_rearm(u);
}

static void on_connection(uv_stream_t *server, int status) {
  struct dc_gossip_udp *u = server->data;
  if (status < 0 || u->stopped) return;
  struct stream_in *s = dc_calloc(1, sizeof *s);
  if (s) s->buf = dc_malloc(4);
  if (!s || !s->buf) {
    if (s) dc_free(s);
    return;
  }
  s->u = u;
  s->tcp.data = s->timer.data = s;
  uv_tcp_init(u->loop, &s->tcp);
  uv_timer_init(u->loop, &s->timer);
  s->open = 2;
  u->streams++;
  uv_timer_start(&s->timer, stream_in_timeout, STREAM_IN_TIMEOUT_MS, 0);
  if (uv_accept(server, (uv_stream_t *)&s->tcp) || uv_read_start((uv_stream_t *)&s->tcp, stream_alloc, stream_read))
    udp_stream_in_end(s);
}

int dc_gossip_udp_start(uv_loop_t *loop, const char *host, uint16_t port,
                        struct dc_gossip_udp **out) {
  *out = NULL;
  struct dc_gossip_udp *u = dc_calloc(1, sizeof *u);
  if (!u) return DC_ENOMEM;
  u->loop = loop;
  if (dc_gossip_addr_parse(host, port, &u->self)) {
    dc_free(u);
    return DC_EINVAL;
  }
  struct sockaddr_storage ss;
  socklen_t sl;
  udp_to_sockaddr(&u->self, &ss, &sl);
  uv_udp_init(loop, &u->udp);
  uv_tcp_init(loop, &u->tcp);
  uv_timer_init(loop, &u->timer);
  uv_check_init(loop, &u->check);
  u->udp.data = u->tcp.data = u->timer.data = u->check.data = u;
  int rc = uv_udp_bind(&u->udp, (struct sockaddr *)&ss, 0);
  if (!rc) rc = uv_tcp_bind(&u->tcp, (struct sockaddr *)&ss, 0);
  if (!rc) rc = uv_listen((uv_stream_t *)&u->tcp, 128, on_connection);
  if (!rc) rc = uv_udp_recv_start(&u->udp, on_alloc, on_recv);
  if (!rc) rc = uv_check_start(&u->check, on_check);
  if (rc) {
    DC_WARN("gossip", "msg=\"cannot bind\" host=%s port=%u err=\"%s\"", host, port, uv_strerror(rc));
    dc_gossip_udp_stop(u, NULL, NULL);
    return rc == UV_EADDRINUSE ? DC_EEXISTS : DC_EIO;
  }
  *out = u;
  return DC_OK;
}

int dc_gossip_udp_add_group(struct dc_gossip_udp *u, uint32_t group,
                            const uint8_t key[DC_GOSSIP_KEY_BYTES],
                            const struct dc_gossip_config *cfg, const uint8_t *tags,
                            size_t tags_len, dc_gossip_udp_event_cb cb, void *data,
                            struct dc_gossip **out) {
  if (u->ngroups == UDP_GROUPS_MAX) return DC_ETOOBIG;
  if (find_group(u, group)) return DC_EEXISTS;
  struct udp_group *gr = &u->groups[u->ngroups];
  memset(gr, 0, sizeof *gr);
  gr->u = u;
  gr->id = group;
  gr->cb = cb;
  gr->data = data;
  int rc = dc_gossip_keyring_init(&gr->kr, group, key);
  if (rc) return rc;
  struct dc_gossip_config c = *cfg;
  c.self_addr = u->self;
  struct dc_gossip_io io = {.data = gr, .rand = io_rand, .send = io_send,
                            .send_stream = io_send_stream, .ping_stream = udp_ping_stream,
                            .reply_stream = udp_reply_stream, .wall_ms = io_wall_ms,
                            .event = io_event};
  rc = dc_gossip_new(&c, &io, NULL, tags, tags_len, (int64_t)uv_now(u->loop), &gr->g);
  if (rc) {
    dc_gossip_keyring_close(&gr->kr);
    return rc;
  }
  u->ngroups++;
  *out = gr->g;
  udp_rearm(u);
  return DC_OK;
}

struct dc_gossip_keyring *dc_gossip_udp_keyring(struct dc_gossip_udp *u, uint32_t group) {
  struct udp_group *gr = find_group(u, group);
  return gr ? &gr->kr : NULL;
}

void dc_gossip_udp_kick(struct dc_gossip_udp *u) {
  udp_flush(u);
  udp_rearm(u);
}

void dc_gossip_udp_get_stats(const struct dc_gossip_udp *u, struct dc_gossip_udp_stats *out) {
  *out = u->stats;
}

static void handle_closed(uv_handle_t *h) {
  struct dc_gossip_udp *u = h->data;
  u->handles--;
  maybe_free(u);
}

static void no_cb(void *d) { (void)d; }

void dc_gossip_udp_stop(struct dc_gossip_udp *u, void (*cb)(void *), void *data) {
  udp_flush(u);
  u->stopped = cb ? cb : no_cb;
  u->stopped_data = data;
  u->handles = 4;
  uv_close((uv_handle_t *)&u->udp, handle_closed);
  uv_close((uv_handle_t *)&u->tcp, handle_closed);
  uv_close((uv_handle_t *)&u->timer, handle_closed);
  uv_close((uv_handle_t *)&u->check, handle_closed);
}
