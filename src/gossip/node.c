/* SPDX-License-Identifier: Apache-2.0
 * A daemon's membership: the transport, one group with its keyring, and
 * the seeds it joins through. Masters and providers use it alike. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "gossip/gossip.h"

#define NODE_SEEDS_MAX 16
#define NODE_REJOIN_MS 2000 /* retry the seeds this often while alone */
#define NODE_STATS_MS 10000 /* log the traffic counters this often */

struct dc_gossip_node {
  uv_loop_t *loop;
  struct dc_gossip_udp *udp;
  struct dc_gossip *g;
  struct dc_gossip_addr seeds[NODE_SEEDS_MAX];
  size_t nseeds;
  uv_timer_t rejoin;
  uv_timer_t stats;
  void (*stopped)(void *);
  void *stopped_data;
  int closing; /* handles and transport still to close */
};

uint64_t dc_gossip_node_id(const uint8_t pk[32]) {
  uint64_t v = 0;
  for (int i = 0; i < 8; i++) v = (v << 8) | pk[i];
  return v ? v : 1;
}

void dc_gossip_config_daemon(struct dc_gossip_config *c, bool fast) {
  dc_gossip_config_default(c);
  c->peer_coords = 1024;
  if (!fast) return;
  /* Halving memberlist's probe interval and timeout halves the suspicion
   * timeout (it is counted in probe intervals) and the wait for the first
   * probe of a crashed member. Only for networks whose round trips stay far
   * below 250 ms: the simulator's geographic model makes many more false
   * positives with it (docs/gossip.md). */
  c->probe_interval_ms = 500;
  c->probe_timeout_ms = 250;
}

static int parse_key(const char *s, size_t len, uint8_t out[DC_GOSSIP_KEY_BYTES],
                     struct dc_errmsg *err) {
  char hex[2 * DC_GOSSIP_KEY_BYTES + 1];
  if (len != 2 * DC_GOSSIP_KEY_BYTES) {
    dc_errmsg_set(err, "a gossip key is %d hex characters (got %zu)",
                  2 * DC_GOSSIP_KEY_BYTES, len);
    return DC_EINVAL;
  }
  memcpy(hex, s, len);
  hex[len] = '\0';
  if (dc_hex_decode(hex, out, DC_GOSSIP_KEY_BYTES)) {
    dc_errmsg_set(err, "a gossip key must be hex");
    return DC_EINVAL;
  }
  return DC_OK;
}

/* Adds the keys of text split at any of seps; # starts a comment line. */
static int add_keys(const char *text, const char *seps,
                    uint8_t out[DC_GOSSIP_KEYS_MAX][DC_GOSSIP_KEY_BYTES], size_t *n,
                    struct dc_errmsg *err) {
  const char *p = text;
  while (*p) {
    size_t len = strcspn(p, seps);
    const char *s = p;
    size_t l = len;
    while (l && isspace((unsigned char)*s)) s++, l--;
    while (l && isspace((unsigned char)s[l - 1])) l--;
    if (l && *s != '#') {
      if (*n == DC_GOSSIP_KEYS_MAX) {
        dc_errmsg_set(err, "at most %d gossip keys", DC_GOSSIP_KEYS_MAX);
        return DC_EINVAL;
      }
      int rc = parse_key(s, l, out[*n], err);
      if (rc) return rc;
      for (size_t i = 0; i < *n; i++)
        if (!memcmp(out[i], out[*n], DC_GOSSIP_KEY_BYTES)) {
          dc_errmsg_set(err, "gossip key %zu is given twice", *n + 1);
          return DC_EINVAL;
        }
      (*n)++;
    }
    p += len;
    if (*p) p++;
  }
  return DC_OK;
}

int dc_gossip_keys_parse(const char *keys, const char *key_file,
                         uint8_t out[DC_GOSSIP_KEYS_MAX][DC_GOSSIP_KEY_BYTES],
                         size_t *n, struct dc_errmsg *err) {
  *n = 0;
  int rc = DC_OK;
  if (keys && *keys) rc = add_keys(keys, ",", out, n, err);
  if (!rc && key_file && *key_file) {
    char *text = NULL;
    rc = dc_read_file(key_file, 64 * 1024, &text, NULL);
    if (rc) {
      dc_errmsg_set(err, "gossip key file %s: %s", key_file, dc_strerror(rc));
      return rc;
    }
    rc = add_keys(text, "\n", out, n, err);
    dc_free(text);
    if (rc) dc_errmsg_wrap(err, "gossip key file %s", key_file);
  }
  if (!rc && *n == 0) {
    dc_errmsg_set(err, "gossip needs a cluster key (--gossip-key or --gossip-key-file)");
    rc = DC_EINVAL;
  }
  return rc;
}

/* "host:port" or "[v6]:port" into an address. */
static int parse_hostport(const char *s, size_t len, struct dc_gossip_addr *out) {
  char buf[128];
  if (len == 0 || len >= sizeof buf) return DC_EINVAL;
  memcpy(buf, s, len);
  buf[len] = '\0';
  char *colon = strrchr(buf, ':');
  if (!colon || colon == buf) return DC_EINVAL;
  *colon = '\0';
  char *end;
  unsigned long port = strtoul(colon + 1, &end, 10);
  if (*end || colon[1] == '\0' || port == 0 || port > 65535) return DC_EINVAL;
  char *host = buf;
  size_t hl = strlen(host);
  if (host[0] == '[' && host[hl - 1] == ']') {
    host[hl - 1] = '\0';
    host++;
  }
  return dc_gossip_addr_parse(host, (uint16_t)port, out);
}

int dc_gossip_addrs_parse(const char *list, struct dc_gossip_addr *out, size_t max,
                          size_t *n) {
  *n = 0;
  for (const char *p = list; p && *p;) {
    size_t len = strcspn(p, ",");
    if (*n == max || parse_hostport(p, len, &out[*n])) return DC_EINVAL;
    (*n)++;
    p += len;
    if (*p) p++;
  }
  return DC_OK;
}

static void rejoin_cb(uv_timer_t *t) {
  struct dc_gossip_node *n = t->data;
  if (n->nseeds == 0 || dc_gossip_alive_count(n->g) > 1) return;
  dc_gossip_join(n->g, n->seeds, n->nseeds, (int64_t)uv_now(n->loop));
  dc_gossip_udp_kick(n->udp);
}

/* The counters in the log let an operator (and the end-to-end test)
 * compute bytes per member per second on every member, not only masters. */
static void stats_cb(uv_timer_t *t) {
  struct dc_gossip_node *n = t->data;
  struct dc_gossip_udp_stats st;
  dc_gossip_udp_get_stats(n->udp, &st);
  struct dc_gossip_stats gs;
  dc_gossip_get_stats(n->g, &gs);
  DC_INFO("gossip", "stats sent_packets=%llu sent_bytes=%llu stream_bytes=%llu "
          "recv_packets=%llu dropped=%llu alive=%zu awareness=%u tcp_pings=%llu "
          "tcp_ping_acks=%llu tcp_ping_failures=%llu tcp_ping_bytes=%llu tcp_ping_saves=%llu",
          (unsigned long long)st.sent_packets, (unsigned long long)st.sent_bytes,
          (unsigned long long)st.stream_bytes, (unsigned long long)st.recv_packets,
          (unsigned long long)st.dropped, dc_gossip_alive_count(n->g),
          dc_gossip_awareness(n->g), (unsigned long long)st.tcp_pings,
          (unsigned long long)st.tcp_ping_acks, (unsigned long long)st.tcp_ping_failures,
          (unsigned long long)st.tcp_ping_bytes, (unsigned long long)gs.tcp_ping_saves);
}

int dc_gossip_node_start(uv_loop_t *loop, const struct dc_gossip_node_opts *o,
                         dc_gossip_udp_event_cb cb, void *data,
                         struct dc_gossip_node **out, struct dc_errmsg *err) {
  *out = NULL;
  uint8_t keys[DC_GOSSIP_KEYS_MAX][DC_GOSSIP_KEY_BYTES];
  size_t nkeys = 0;
  int rc = dc_gossip_keys_parse(o->keys, o->key_file, keys, &nkeys, err);
  if (rc) return rc;
  struct dc_gossip_addr self;
  if (!o->addr || parse_hostport(o->addr, strlen(o->addr), &self)) {
    dc_errmsg_set(err, "--gossip-addr takes IP:port (got \"%s\")", o->addr ? o->addr : "");
    return DC_EINVAL;
  }
  struct dc_gossip_node *n = dc_calloc(1, sizeof *n);
  if (!n) return DC_ENOMEM;
  n->loop = loop;
  if (o->join && dc_gossip_addrs_parse(o->join, n->seeds, NODE_SEEDS_MAX, &n->nseeds)) {
    dc_errmsg_set(err, "--gossip-join takes up to %d IP:port, comma-separated",
                  NODE_SEEDS_MAX);
    dc_free(n);
    return DC_EINVAL;
  }
  char host[64];
  if (self.family == 4)
    uv_inet_ntop(AF_INET, self.ip, host, sizeof host);
  else
    uv_inet_ntop(AF_INET6, self.ip, host, sizeof host);
  rc = dc_gossip_udp_start(loop, host, self.port, &n->udp);
  if (rc) {
    dc_errmsg_set(err, "cannot bind gossip on %s: %s", o->addr, dc_strerror(rc));
    dc_free(n);
    return rc;
  }
  struct dc_gossip_config cfg;
  if (o->cfg)
    cfg = *o->cfg;
  else
    dc_gossip_config_daemon(&cfg, o->fast);
  cfg.self_id = o->self_id;
  if (o->no_tcp_ping) cfg.tcp_ping = false;
  rc = dc_gossip_udp_add_group(n->udp, DC_GOSSIP_DAEMON_GROUP, keys[0], &cfg, o->tags,
                               o->tags_len, cb, data, &n->g);
  struct dc_gossip_keyring *kr = dc_gossip_udp_keyring(n->udp, DC_GOSSIP_DAEMON_GROUP);
  for (size_t i = 1; !rc && i < nkeys; i++) rc = dc_gossip_keyring_add(kr, keys[i]);
  sodium_memzero(keys, sizeof keys);
  if (rc) {
    dc_errmsg_set(err, "gossip group: %s", dc_strerror(rc));
    dc_gossip_udp_stop(n->udp, NULL, NULL);
    dc_free(n);
    return rc;
  }
  uv_timer_init(loop, &n->rejoin);
  n->rejoin.data = n;
  uv_timer_init(loop, &n->stats);
  n->stats.data = n;
  uv_timer_start(&n->stats, stats_cb, NODE_STATS_MS, NODE_STATS_MS);
  if (n->nseeds) {
    dc_gossip_join(n->g, n->seeds, n->nseeds, (int64_t)uv_now(loop));
    dc_gossip_udp_kick(n->udp);
    uv_timer_start(&n->rejoin, rejoin_cb, NODE_REJOIN_MS, NODE_REJOIN_MS);
  }
  *out = n;
  return DC_OK;
}

struct dc_gossip *dc_gossip_node_core(struct dc_gossip_node *n) { return n->g; }

void dc_gossip_node_stats(const struct dc_gossip_node *n, struct dc_gossip_udp_stats *out) {
  dc_gossip_udp_get_stats(n->udp, out);
}

int dc_gossip_node_set_tags(struct dc_gossip_node *n, const uint8_t *tags, size_t len) {
  int rc = dc_gossip_set_tags(n->g, tags, len, (int64_t)uv_now(n->loop));
  dc_gossip_udp_kick(n->udp);
  return rc;
}

static void node_part_closed(struct dc_gossip_node *n) {
  if (--n->closing > 0) return;
  if (n->stopped) n->stopped(n->stopped_data);
  dc_free(n);
}

static void timer_closed(uv_handle_t *h) { node_part_closed(h->data); }
static void udp_stopped(void *data) { node_part_closed(data); }

void dc_gossip_node_stop(struct dc_gossip_node *n, void (*cb)(void *), void *data) {
  if (!n) {
    if (cb) cb(data);
    return;
  }
  n->stopped = cb;
  n->stopped_data = data;
  n->closing = 3;
  /* A leave tells the others at once, instead of a suspicion timeout. */
  dc_gossip_leave(n->g, (int64_t)uv_now(n->loop));
  uv_close((uv_handle_t *)&n->rejoin, timer_closed);
  uv_close((uv_handle_t *)&n->stats, timer_closed);
  dc_gossip_udp_stop(n->udp, udp_stopped, n);
}
