/* SPDX-License-Identifier: Apache-2.0
 * Fuzzes the gossip decoders: the frame opener (version, group, AEAD) and,
 * behind it, the plaintext packet and push-pull decoders with the state
 * rules they drive (the stream path also takes the TCP fallback ping and
 * its ack). Input: first byte picks the path, the rest is the
 * bytes. A refused input must change nothing. */
#include <stdlib.h>
#include <string.h>

#include "gossip/gossip.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t rng = 1;
static uint64_t f_rand(void *d) {
  (void)d;
  rng = rng * 6364136223846793005ULL + 1;
  return rng >> 7;
}
static void f_send(void *d, const struct dc_gossip_addr *to, const uint8_t *p, size_t n) {
  (void)d, (void)to, (void)p;
  if (n > DC_GOSSIP_FRAME_MAX - DC_GOSSIP_SEAL_OVERHEAD) abort();
}
static void f_stream(void *d, const struct dc_gossip_addr *to, const uint8_t *p, size_t n) {
  (void)d, (void)to, (void)p, (void)n;
}
/* The TCP fallback ping and its answer on a stream: bounded like a datagram. */
static void f_ping_stream(void *d, const struct dc_gossip_addr *to, const uint8_t *p, size_t n,
                          uint32_t timeout_ms) {
  (void)d, (void)to, (void)p;
  if (n > DC_GOSSIP_FRAME_MAX - DC_GOSSIP_SEAL_OVERHEAD || !timeout_ms) abort();
}
static void f_reply_stream(void *d, const uint8_t *p, size_t n) {
  (void)d, (void)p;
  if (n > DC_GOSSIP_FRAME_MAX - DC_GOSSIP_SEAL_OVERHEAD) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  const uint8_t sel = data[0];
  data++;
  size--;
  if (sel & 1) {
    static const uint8_t key[32] = {9};
    struct dc_gossip_keyring kr;
    if (dc_gossip_keyring_init(&kr, 1, key)) return 0;
    uint8_t out[DC_GOSSIP_FRAME_MAX];
    size_t ol = 0;
    if (dc_gossip_open(&kr, data, size, DC_GOSSIP_FRAME_MAX, out, &ol) == DC_OK && ol > size) abort();
    dc_gossip_keyring_close(&kr);
    return 0;
  }
  struct dc_gossip_config c;
  dc_gossip_config_default(&c);
  c.self_id = 1;
  c.self_addr.family = 4;
  c.lifeguard = sel & 2;
  struct dc_gossip_io io = {.rand = f_rand, .send = f_send, .send_stream = f_stream,
                            .ping_stream = f_ping_stream, .reply_stream = f_reply_stream};
  struct dc_gossip *g;
  if (dc_gossip_new(&c, &io, NULL, NULL, 0, 0, &g)) return 0;
  for (uint64_t id = 2; id <= 4; id++) {
    struct dc_gossip_addr a = {.family = 4, .ip = {10, 0, 0, (uint8_t)id}, .port = 1};
    dc_gossip_seed(g, id, &a, NULL, 0, 0);
  }
  int rc = (sel & 4) ? dc_gossip_recv_stream(g, data, size, 1000) : dc_gossip_recv(g, data, size, 1000);
  if (rc != DC_OK) {
    /* Refused: the view is the seeded one. */
    if (dc_gossip_count(g) != 4 || dc_gossip_incarnation(g) != 0) abort();
    for (size_t i = 0; i < 4; i++) {
      struct dc_gossip_member_info mi;
      if (dc_gossip_member_at(g, i, &mi) || mi.state != DC_GOSSIP_ALIVE || mi.incarnation) abort();
    }
  }
  for (int64_t t = 1000; t < 200000; t += 500) dc_gossip_tick(g, t);
  dc_gossip_free(g);
  return 0;
}
