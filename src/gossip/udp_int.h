/* SPDX-License-Identifier: Apache-2.0
 * Private to the gossip transport: its state, shared by the datagram and
 * stream paths (udp.c) and the TCP fallback ping (tcpping.c). */
#ifndef DC_GOSSIP_UDP_INT_H
#define DC_GOSSIP_UDP_INT_H

#include <sys/socket.h>

#include "gossip/gossip_int.h"

#define UDP_GROUPS_MAX 8
#define UDP_BATCH 64
#define STREAM_MAX (8u << 20) /* a push-pull of 65,536 members with tags fits */
/* An accepted stream must deliver its frame (and get its answer) within
 * this: memberlist's LAN TCPTimeout. */
#define STREAM_IN_TIMEOUT_MS 10000

struct udp_group {
  struct dc_gossip_udp *u;
  uint32_t id;
  struct dc_gossip_keyring kr;
  struct dc_gossip *g;
  dc_gossip_udp_event_cb cb;
  void *data;
};

struct out_dgram {
  struct sockaddr_storage to;
  socklen_t tolen;
  size_t len;
  uint8_t data[DC_GOSSIP_FRAME_MAX];
};

/* An accepted stream: one length-prefixed sealed frame in, and for a
 * fallback ping one sealed ack out on the same connection. */
struct stream_in {
  uv_tcp_t tcp;
  uv_timer_t timer; /* STREAM_IN_TIMEOUT_MS from the accept */
  uv_write_t wr;
  struct dc_gossip_udp *u;
  uint8_t *buf;
  size_t len, want;
  uint8_t *reply; /* the sealed ack being written */
  bool replying, closing;
  int open;       /* handles still to close */
};

struct dc_gossip_udp {
  uv_loop_t *loop;
  uv_udp_t udp;
  uv_tcp_t tcp;
  uv_timer_t timer;
  uv_check_t check;
  int handles;  /* of the four below, still open */
  int streams;  /* stream connections in flight (push-pull, fallback pings) */
  struct stream_in *reply_to; /* the stream whose message the core is handling */
  void (*stopped)(void *);
  void *stopped_data;
  struct dc_gossip_addr self;
  struct udp_group groups[UDP_GROUPS_MAX];
  size_t ngroups;
  struct out_dgram batch[UDP_BATCH];
  size_t nbatch;
  struct dc_gossip_udp_stats stats;
  uint8_t rbuf[65536];
};

void udp_to_sockaddr(const struct dc_gossip_addr *a, struct sockaddr_storage *ss,
                     socklen_t *len);
/* Sends the datagrams batched so far in one sendmmsg(2). */
void udp_flush(struct dc_gossip_udp *u);
/* Re-arms the timer at the cores' earliest deadline. */
void udp_rearm(struct dc_gossip_udp *u);
/* A stream connection ended; frees the transport if it is stopped. */
void udp_stream_done(struct dc_gossip_udp *u);
/* Closes an accepted stream. */
void udp_stream_in_end(struct stream_in *s);

/* tcpping.c: io.ping_stream and io.reply_stream of a group (data is its
 * struct udp_group). */
void udp_ping_stream(void *data, const struct dc_gossip_addr *to, const uint8_t *p, size_t n,
                     uint32_t timeout_ms);
void udp_reply_stream(void *data, const uint8_t *p, size_t n);

#endif
