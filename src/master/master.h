/* SPDX-License-Identifier: Apache-2.0
 * master: the role that holds the shared state. It wires the command log,
 * the FSM, the scheduler, the failure detector, provider sessions and the
 * REST API together on one libuv loop. */
#ifndef DC_MASTER_H
#define DC_MASTER_H

#include <stdbool.h>
#include <stdint.h>

/* The shared secret that authorises adding and removing masters. */
#define DC_HDR_CLUSTER_TOKEN "X-DC-Cluster-Token"

struct dc_master_config {
  const char *data_dir;             /* state.db, local.db, master.key */
  const char *api_host;             /* REST API bind address */
  uint16_t api_port;                /* 0 = any free port (written to api.port) */
  const char *listen_host;          /* provider sessions */
  uint16_t listen_port;             /* 0 = any (written to session.port) */
  uint32_t heartbeat_timeout_ms;    /* a provider silent this long is dead
                                       (0: 3000, or 60000 with gossip on) */
  uint32_t sched_interval_ms;       /* placement pass period when idle */
  uint32_t max_body_bytes;          /* API request bodies */
  uint32_t request_skew_ms;         /* accepted clock skew of signed requests */
  bool sync_full;                   /* SQLite synchronous=FULL */

  /* Replication. raft_addr set = the `raft` log back end (3 or 5 masters);
   * unset = `local` (one master). */
  const char *raft_addr;            /* host:port raft listens on */
  bool bootstrap;                   /* first master of a new cluster */
  const char *join_url;             /* API URL of a member to join through */
  bool standby;                     /* join as a standby, not a voter */
  const char *cluster_token;        /* shared secret for join/add/remove */
  const char *advertise_api;        /* URL others reach this API at */
  const char *advertise_session;    /* host:port providers reach us at */
  uint32_t raft_election_ms;        /* 0 = log default */
  uint32_t raft_heartbeat_ms;
  uint32_t raft_snapshot_threshold;
  const char *restore_path;         /* start from this backup (an empty data
                                       dir; with raft, with bootstrap) */

  /* Matching: "learned" (default), "spread" (the v0 greedy scorer), or a
   * baseline: "first-fit", "best-fit", "k8s", "random", "fgd". */
  const char *policy;
  /* Service clusters (docs/matching.md): k-means groups and moves of
   * dynamic providers ahead of forecast demand, every cluster_interval_ms;
   * demand is counted in buckets of forecast_bucket_s, with a seasonal
   * cycle of forecast_season buckets. */
  uint32_t cluster_interval_ms;     /* 30000; 0 = off */
  uint32_t forecast_bucket_s;       /* 3600 */
  uint32_t forecast_season;         /* 24 */
  /* ledger */
  bool dev;                         /* dev genesis (faucet = master key) and
                                       POST /v1/faucet */
  const char *genesis_path;         /* JSON genesis of a real ledger (see
                                       docs/ledger.md); NULL = none */
  const char *dev_stake;            /* "hex,hex": keys funded and staked at the
                                       dev genesis (dev providers) */
  uint32_t seal_interval_ms;        /* seal a block at least this often */
  uint32_t block_max;               /* dev genesis: seal after this many */
  uint32_t tx_rate;                 /* transactions per second per account */
  uint32_t tx_pending_max;          /* unapplied transactions per account */
  /* Gossip membership (off unless gossip_addr is set). */
  const char *gossip_addr;          /* IP:port, UDP and TCP */
  const char *gossip_join;          /* seeds IP:port[,...] */
  const char *gossip_keys;          /* HEX[,HEX...], first primary */
  const char *gossip_key_file;      /* one HEX per line, first primary */
  bool gossip_fast;               /* 500/250 ms probes (LAN only) */
  bool gossip_no_tcp_ping;        /* no TCP fallback ping (memberlist's DisableTcpPings) */
};

void dc_master_config_default(struct dc_master_config *c);

/* Runs the master until SIGINT or SIGTERM. Returns 0 on a clean stop,
 * a DC_E* code if it could not start. */
int dc_master_run(const struct dc_master_config *cfg);

#endif /* DC_MASTER_H */
