/* SPDX-License-Identifier: Apache-2.0
 * memberlist's TCP fallback ping over real sockets on loopback: a member
 * that reads no datagram but answers on TCP is never suspected; once it is
 * gone altogether it is declared dead; a member with the fallback off
 * suspects it; the TCP listener answers a sealed ping with a sealed ack and
 * drops, with a counter, what is too short, too long or sealed with
 * another key, and cuts off a peer that stays silent. */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/base.h"
#include "gossip/udp_int.h"
#include "tests/lib/testlib.h"
#include "tests/unit/gossip/loopback.h"

#define N 4
#define GROUP 0xdc02

struct member {
  uint16_t port;
  struct dc_gossip_udp *u;
  struct dc_gossip *g;
  int suspect[N], dead[N]; /* events this member saw about each member */
};

static struct member m[N];
static uv_loop_t loop;
static uint16_t next_port;
static const uint8_t key[32] = {0x7c, 9, 8, 7};

static void on_event(void *data, uint32_t group, const struct dc_gossip_event *ev) {
  struct member *me = data;
  (void)group;
  uint32_t about = (uint32_t)(ev->id - 1);
  if (about >= N) return;
  if (ev->type == DC_GOSSIP_EV_SUSPECT) me->suspect[about]++;
  if (ev->type == DC_GOSSIP_EV_DEAD) me->dead[about]++;
}

static void start_member(uint32_t i, bool tcp_ping) {
  struct dc_gossip_config c;
  dc_gossip_config_daemon(&c, true); /* 500/250 ms: a short test */
  c.self_id = i + 1;
  c.tcp_ping = tcp_ping;
  memset(&m[i], 0, sizeof m[i]);
  lb_start(&loop, &m[i].port, &next_port, GROUP, key, &c, "r=p", on_event, &m[i],
           i > 0 ? m[0].port : 0, &m[i].u, &m[i].g);
}

static bool run_until(bool (*done)(void), int64_t timeout_ms) {
  return lb_run_until(&loop, done, timeout_ms);
}

static bool all_alive(void) {
  for (uint32_t i = 0; i < N; i++)
    if (m[i].u && dc_gossip_alive_count(m[i].g) != N) return false;
  return true;
}

static bool three_dead_seen(void) {
  for (uint32_t i = 0; i < 3; i++)
    if (!m[i].dead[3]) return false;
  return true;
}

static bool three_suspected(void) {
  for (uint32_t i = 0; i < 3; i++)
    if (m[i].suspect[3] || m[i].dead[3]) return true;
  return false;
}

static void stopped(void *d) { (void)d; }

static void start_cluster(bool tcp_ping) {
  uv_loop_init(&loop);
  next_port = (uint16_t)(20000 + ((getpid() * 7) % 20000));
  for (uint32_t i = 0; i < N; i++) start_member(i, tcp_ping);
  assert_true(run_until(all_alive, 20000));
  run_until(lb_never, 1000);
}

static void stop_cluster(void) {
  for (uint32_t i = 0; i < N; i++)
    if (m[i].u) dc_gossip_udp_stop(m[i].u, stopped, NULL);
  uv_run(&loop, UV_RUN_DEFAULT);
  assert_int_equal(uv_loop_close(&loop), 0);
}

/* Member 3 stops reading its UDP socket: every probe of it (and every
 * probe it makes) fails over UDP and succeeds over TCP. */
static void test_udp_deaf_member_spared_then_dead(void **st) {
  (void)st;
  start_cluster(true);
  for (uint32_t i = 0; i < N; i++) memset(m[i].suspect, 0, sizeof m[i].suspect);
  assert_int_equal(uv_udp_recv_stop(&m[3].u->udp), 0);
  run_until(lb_never, 15000);
  uint64_t acks = 0, fails = 0;
  for (uint32_t i = 0; i < N; i++) {
    for (uint32_t j = 0; j < N; j++) {
      assert_int_equal(m[i].suspect[j], 0);
      assert_int_equal(m[i].dead[j], 0);
    }
    struct dc_gossip_udp_stats s;
    dc_gossip_udp_get_stats(m[i].u, &s);
    acks += s.tcp_ping_acks;
    fails += s.tcp_ping_failures;
    struct dc_gossip_stats gs;
    dc_gossip_get_stats(m[i].g, &gs);
    assert_int_equal(gs.tcp_ping_saves <= s.tcp_ping_acks, true);
  }
  struct dc_gossip_udp_stats s3;
  dc_gossip_udp_get_stats(m[3].u, &s3);
  printf("udp-deaf member: %llu tcp pings answered, %llu failed; member 3 sent %llu\n",
         (unsigned long long)acks, (unsigned long long)fails, (unsigned long long)s3.tcp_pings);
  /* Member 3 probes every 500 ms: about 30 fallbacks in 15 s, and the
   * others' probes of it add about 10 more. */
  assert_true(s3.tcp_ping_acks >= 20);
  assert_true(acks >= 30);
  assert_int_equal(fails, 0);
  /* Gone on both paths: declared dead by all three. */
  dc_gossip_udp_stop(m[3].u, stopped, NULL);
  m[3].u = NULL;
  assert_true(run_until(three_dead_seen, 30000));
  stop_cluster();
}

/* The same deaf member, with the fallback off everywhere: suspected. */
static void test_fallback_off_suspects(void **st) {
  (void)st;
  start_cluster(false);
  assert_int_equal(uv_udp_recv_stop(&m[3].u->udp), 0);
  assert_true(run_until(three_suspected, 15000));
  for (uint32_t i = 0; i < N; i++) {
    struct dc_gossip_udp_stats s;
    dc_gossip_udp_get_stats(m[i].u, &s);
    assert_int_equal(s.tcp_pings, 0);
  }
  stop_cluster();
}

/* A raw client on member 0's TCP port. */
static int raw_fd = -1;
static uint8_t raw_in[4 + DC_GOSSIP_FRAME_MAX];
static size_t raw_len;
static bool raw_eof;

static bool raw_done(void) {
  for (;;) {
    ssize_t r = recv(raw_fd, raw_in + raw_len, sizeof raw_in - raw_len, MSG_DONTWAIT);
    if (r > 0) {
      raw_len += (size_t)r;
      continue;
    }
    if (r == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) raw_eof = true;
    return raw_eof;
  }
}

/* Sends bytes on a fresh connection; returns once member 0 has closed it. */
static void raw_exchange(const uint8_t *p, size_t n, int64_t timeout_ms) {
  raw_fd = socket(AF_INET, SOCK_STREAM, 0);
  assert_true(raw_fd >= 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(m[0].port),
                          .sin_addr.s_addr = htonl(0x7f000001)};
  assert_int_equal(connect(raw_fd, (struct sockaddr *)&a, sizeof a), 0);
  assert_int_equal(send(raw_fd, p, n, 0), (ssize_t)n);
  raw_len = 0;
  raw_eof = false;
  assert_true(run_until(raw_done, timeout_ms));
  close(raw_fd);
}

static size_t framed_ping(struct dc_gossip_keyring *kr, uint32_t seq, uint8_t *out) {
  struct gossip_msg ping = {.type = GMSG_PING, .seq = seq, .id = 1, .from = 99};
  dc_gossip_addr_parse("127.0.0.1", 9, &ping.from_addr);
  struct dc_buf b = {0};
  assert_int_equal(msg_encode(&b, &ping), DC_OK);
  size_t fl = 0;
  assert_int_equal(dc_gossip_seal(kr, b.data, b.len, DC_GOSSIP_FRAME_MAX, out + 4, &fl), DC_OK);
  dc_buf_free(&b);
  out[0] = (uint8_t)(fl >> 24), out[1] = (uint8_t)(fl >> 16), out[2] = (uint8_t)(fl >> 8);
  out[3] = (uint8_t)fl;
  return fl + 4;
}

static void test_listener_answers_and_refuses(void **st) {
  (void)st;
  start_cluster(true);
  struct dc_gossip_keyring kr, other;
  assert_int_equal(dc_gossip_keyring_init(&kr, GROUP, key), DC_OK);
  uint8_t k2[32] = {1};
  assert_int_equal(dc_gossip_keyring_init(&other, GROUP, k2), DC_OK);
  uint8_t frame[4 + DC_GOSSIP_FRAME_MAX];
  /* A sealed ping for member 0: one sealed ack with its seq, then close. */
  size_t n = framed_ping(&kr, 4242, frame);
  raw_exchange(frame, n, 5000);
  assert_true(raw_len > 4);
  size_t fl = (size_t)raw_in[0] << 24 | (size_t)raw_in[1] << 16 | (size_t)raw_in[2] << 8 | raw_in[3];
  assert_int_equal(fl + 4, raw_len);
  uint8_t body[DC_GOSSIP_FRAME_MAX];
  size_t bl = 0;
  assert_int_equal(dc_gossip_open(&kr, raw_in + 4, fl, DC_GOSSIP_FRAME_MAX, body, &bl), DC_OK);
  struct dc_reader r;
  struct gossip_msg ack;
  dc_reader_init(&r, body, bl);
  assert_int_equal(msg_decode(&r, &ack), DC_OK);
  assert_int_equal(ack.type, GMSG_ACK);
  assert_int_equal(ack.seq, 4242);
  struct dc_gossip_udp_stats s0, s1;
  dc_gossip_udp_get_stats(m[0].u, &s0);
  /* Sealed with a key member 0 does not hold: dropped, no answer. */
  n = framed_ping(&other, 1, frame);
  raw_exchange(frame, n, 5000);
  assert_int_equal(raw_len, 0);
  /* A length below the seal overhead, and one above the stream bound. */
  uint8_t tiny[] = {0, 0, 0, 3, 1, 2, 3};
  raw_exchange(tiny, sizeof tiny, 5000);
  assert_int_equal(raw_len, 0);
  uint8_t huge[] = {0x7f, 0xff, 0xff, 0xff};
  raw_exchange(huge, sizeof huge, 5000);
  assert_int_equal(raw_len, 0);
  /* A frame of our key whose body is not one message: dropped. */
  n = framed_ping(&kr, 5, frame);
  frame[n - 1] ^= 1; /* breaks the tag */
  raw_exchange(frame, n, 5000);
  assert_int_equal(raw_len, 0);
  dc_gossip_udp_get_stats(m[0].u, &s1);
  assert_int_equal(s1.dropped - s0.dropped, 4);
  /* Half a length, then silence: cut off after the stream timeout. */
  uint8_t half[] = {0, 0};
  int64_t t0 = (int64_t)uv_now(&loop);
  raw_exchange(half, sizeof half, STREAM_IN_TIMEOUT_MS + 5000);
  assert_true(raw_eof);
  assert_int_equal(raw_len, 0);
  assert_true((int64_t)uv_now(&loop) - t0 >= STREAM_IN_TIMEOUT_MS - 100);
  dc_gossip_udp_get_stats(m[0].u, &s1);
  assert_int_equal(s1.stream_errors - s0.stream_errors, 1);
  assert_int_equal(dc_gossip_alive_count(m[0].g), N);
  dc_gossip_keyring_close(&kr);
  dc_gossip_keyring_close(&other);
  stop_cluster();
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_udp_deaf_member_spared_then_dead),
      cmocka_unit_test(test_fallback_off_suspects),
      cmocka_unit_test(test_listener_answers_and_refuses),
  };
  return cmocka_run_group_tests_name("gossip tcp fallback on loopback", tests, NULL, NULL);
}
