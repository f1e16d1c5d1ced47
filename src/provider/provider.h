/* SPDX-License-Identifier: Apache-2.0
 * provider: the agent on a provider's machine. It discovers and samples
 * resources, keeps one authenticated session to the master, runs tasks in
 * the sandbox, streams their output and returns signed results. */
#ifndef DC_PROVIDER_H
#define DC_PROVIDER_H

#include <stdbool.h>
#include <stdint.h>

#define DC_PROVIDER_MASTERS_MAX 8

struct dc_provider_config {
  const char *data_dir;          /* provider.key, task work dirs */
  /* Every master's session address: the agent holds one session, to the
   * leader (followers refuse sessions), and moves down the list when a
   * session cannot be opened or closes. */
  struct {
    const char *host;
    uint16_t port;
  } masters[DC_PROVIDER_MASTERS_MAX];
  size_t nmasters;
  const char *master_key;        /* hex key to pin (one master only), or NULL:
                                    trust each master's key on first use */
  const char *name;              /* NULL = host name */
  uint32_t cpu_millis;           /* 0 = all online CPUs */
  uint64_t memory_mb;            /* 0 = physical memory */
  uint64_t disk_mb;              /* 0 = free space of data_dir */
  uint32_t gpu;
  uint64_t price_cpu_hour;       /* micro-DEEP */
  uint64_t price_mem_gb_hour;
  double lat, lon;
  const char *classes;           /* "compute" */
  uint8_t role;                  /* enum dc_node_role: 0 fixed, 1 dynamic */
  const char *labels_json;       /* "{}" */
  uint32_t heartbeat_ms;         /* 1000 */
  /* Gossip membership (off unless gossip_addr is set). */
  const char *gossip_addr;       /* IP:port, UDP and TCP */
  const char *gossip_join;       /* the masters' gossip IP:port[,...] */
  const char *gossip_keys;       /* HEX[,HEX...], first primary */
  const char *gossip_key_file;   /* one HEX per line, first primary */
  bool gossip_fast;               /* 500/250 ms probes (LAN only) */
  /* PayWord channels paying this provider are closed by it, with the
   * highest tick it holds, once no tick came for channel_idle_s (the paid
   * service ended) or channel_close_margin blocks before the payer may
   * reclaim (at most half the channel's timeout). */
  uint32_t channel_idle_s;        /* 60 */
  uint32_t channel_close_margin;  /* blocks, 5 */
  bool gossip_no_tcp_ping;        /* no TCP fallback ping (memberlist's DisableTcpPings) */
};

void dc_provider_config_default(struct dc_provider_config *c);

/* Runs the agent until SIGINT or SIGTERM. Returns 0 on a clean stop. */
int dc_provider_run(const struct dc_provider_config *cfg);

#endif /* DC_PROVIDER_H */
