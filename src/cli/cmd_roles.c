/* SPDX-License-Identifier: Apache-2.0
 * deepcloud master | provider: the long-running roles. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "master/master.h"
#include "provider/provider.h"

static int parse_role(const char *usage, const struct opt *opts, size_t n,
                      int argc, char **argv, const char *level) {
  char *pos[1];
  size_t npos = 0;
  int rc = cli_parse(usage, opts, n, argc, argv, pos, &npos);
  if (rc >= 0) return rc;
  enum dc_log_level lv;
  if (dc_log_parse_level(level, &lv)) {
    fprintf(stderr, "error: --log-level must be debug, info, warn or error\n");
    return 2;
  }
  dc_log_min_level = lv;
  return -1;
}

int cli_master(int argc, char **argv) {
  if (argc >= 2 && (!strcmp(argv[1], "add") || !strcmp(argv[1], "remove") ||
                    !strcmp(argv[1], "list")))
    return cli_master_admin(argc, argv);
  if (argc >= 2 && !strcmp(argv[1], "backup")) return cli_master_backup(argc - 1, argv + 1);
  struct dc_master_config cfg;
  dc_master_config_default(&cfg);
  const char *api = "127.0.0.1:8420", *listen = "127.0.0.1:8421", *level = "info";
  bool sync_normal = false;
  struct opt opts[] = {
      {"policy", OPT_STR, &cfg.policy, "matching policy: learned (default), spread, first-fit, best-fit, k8s, random, fgd"},
      {"cluster-interval-ms", OPT_U32, &cfg.cluster_interval_ms, "regroup providers and move dynamic ones this often (default 30000; 0 = off)"},
      {"forecast-bucket-s", OPT_U32, &cfg.forecast_bucket_s, "demand is counted per bucket of this many seconds (default 3600)"},
      {"forecast-season", OPT_U32, &cfg.forecast_season, "buckets in one seasonal cycle (default 24: a day of hours)"},
      {"raft-addr", OPT_STR, &cfg.raft_addr, "replicate with raft, listening on host:port (3 or 5 masters)"},
      {"bootstrap", OPT_BOOL, &cfg.bootstrap, "start a new cluster with this master as its first member"},
      {"restore", OPT_STR, &cfg.restore_path, "start from a backup (deepcloud master backup) on an empty data dir; with --raft-addr, founds a new cluster (needs --bootstrap)"},
      {"join", OPT_STR, &cfg.join_url, "API URL of a cluster member to join through"},
      {"standby", OPT_BOOL, &cfg.standby, "join as a standby (replicates, does not vote)"},
      {"cluster-token", OPT_STR, &cfg.cluster_token, "shared secret that authorises joining, adding and removing masters"},
      {"advertise-api", OPT_STR, &cfg.advertise_api, "URL others reach this API at (default http://API-ADDR)"},
      {"advertise-session", OPT_STR, &cfg.advertise_session, "host:port providers reach this master at (default LISTEN)"},
      {"raft-election-ms", OPT_U32, &cfg.raft_election_ms, "raft election timeout (default 300)"},
      {"raft-heartbeat-ms", OPT_U32, &cfg.raft_heartbeat_ms, "raft heartbeat (default 30)"},
      {"raft-snapshot-threshold", OPT_U32, &cfg.raft_snapshot_threshold, "entries between snapshots (default 65536)"},
      {"data-dir", OPT_STR, &cfg.data_dir, "where the state lives (default ./deepcloud-master)"},
      {"api-addr", OPT_STR, &api, "REST API host:port (default 127.0.0.1:8420)"},
      {"listen", OPT_STR, &listen, "provider sessions host:port (default 127.0.0.1:8421)"},
      {"heartbeat-timeout-ms", OPT_U32, &cfg.heartbeat_timeout_ms, "silence after which a provider is dead (default 3000; 60000 with gossip, a fallback)"},
      {"gossip-addr", OPT_STR, &cfg.gossip_addr, "gossip membership on IP:port, UDP and TCP (default: off)"},
      {"gossip-join", OPT_STR, &cfg.gossip_join, "gossip seeds IP:port[,IP:port...] (the other masters)"},
      {"gossip-key", OPT_STR, &cfg.gossip_keys, "cluster key(s) HEX[,HEX...], 64 hex each; the first encrypts"},
      {"gossip-key-file", OPT_STR, &cfg.gossip_key_file, "file with one HEX key per line; the first encrypts"},
      {"gossip-fast", OPT_BOOL, &cfg.gossip_fast, "probe every 500 ms with a 250 ms timeout (LAN only; default memberlist's 1 s / 500 ms)"},
      {"gossip-no-tcp-ping", OPT_BOOL, &cfg.gossip_no_tcp_ping, "no TCP fallback ping when a UDP probe fails (default on, as memberlist)"},
      {"max-body", OPT_U32, &cfg.max_body_bytes, "largest API request body in bytes (default 1048576)"},
      {"sync-normal", OPT_BOOL, &sync_normal, "survive crashes but not power loss (faster)"},
      {"genesis", OPT_STR, &cfg.genesis_path, "JSON genesis of the ledger: chain id, params, allocations (docs/ledger.md)"},
      {"dev", OPT_BOOL, &cfg.dev, "dev ledger: genesis with a faucet, POST /v1/faucet"},
      {"dev-stake", OPT_STR, &cfg.dev_stake, "dev genesis: fund and stake these keys (hex,hex)"},
      {"seal-interval-ms", OPT_U32, &cfg.seal_interval_ms, "seal a ledger block at least this often (default 1000)"},
      {"block-max", OPT_U32, &cfg.block_max, "dev genesis: seal after this many commands (default 1000)"},
      {"tx-rate", OPT_U32, &cfg.tx_rate, "transactions per second per account (default 5000)"},
      {"tx-pending-max", OPT_U32, &cfg.tx_pending_max, "unapplied transactions per account (default 1024)"},
      {"log-level", OPT_STR, &level, "debug, info, warn or error"},
  };
  int rc = parse_role("deepcloud master [options]", opts, DC_ARRAY_LEN(opts), argc, argv, level);
  if (rc >= 0) return rc;
  static char ah[256], lh[256];
  if (opts_hostport(api, ah, sizeof ah, &cfg.api_port) ||
      opts_hostport(listen, lh, sizeof lh, &cfg.listen_port)) {
    fprintf(stderr, "error: --api-addr and --listen take host:port\n");
    return 2;
  }
  cfg.api_host = ah;
  cfg.listen_host = lh;
  cfg.sync_full = !sync_normal;
  if (cfg.heartbeat_timeout_ms && cfg.heartbeat_timeout_ms < 500) {
    fprintf(stderr, "error: --heartbeat-timeout-ms must be at least 500\n");
    return 2;
  }
  char rh[256];
  uint16_t rp;
  if (cfg.raft_addr && opts_hostport(cfg.raft_addr, rh, sizeof rh, &rp)) {
    fprintf(stderr, "error: --raft-addr takes host:port\n");
    return 2;
  }
  if ((cfg.bootstrap || cfg.join_url || cfg.standby) && !cfg.raft_addr) {
    fprintf(stderr, "error: --bootstrap, --join and --standby need --raft-addr\n");
    return 2;
  }
  if (cfg.bootstrap && cfg.join_url) {
    fprintf(stderr, "error: --bootstrap starts a new cluster; --join enters an "
                    "existing one: give one of them\n");
    return 2;
  }
  if (cfg.restore_path && cfg.raft_addr && !cfg.bootstrap) {
    fprintf(stderr, "error: --restore with --raft-addr founds a new cluster from the "
                    "backup: add --bootstrap (the other masters --join it as usual)\n");
    return 2;
  }
  if (cfg.raft_election_ms && (cfg.raft_election_ms < 50 || cfg.raft_election_ms > 60000)) {
    fprintf(stderr, "error: --raft-election-ms must be between 50 and 60000\n");
    return 2;
  }
  if (cfg.raft_heartbeat_ms && cfg.raft_election_ms &&
      cfg.raft_heartbeat_ms * 2 > cfg.raft_election_ms) {
    fprintf(stderr, "error: --raft-heartbeat-ms must be at most half the election timeout\n");
    return 2;
  }
  dc_log_set_name("master");
  return dc_master_run(&cfg) ? 1 : 0;
}

int cli_provider(int argc, char **argv) {
  struct dc_provider_config cfg;
  dc_provider_config_default(&cfg);
  const char *master = "127.0.0.1:8421", *level = "info", *role = "fixed";
  struct opt opts[] = {
      {"data-dir", OPT_STR, &cfg.data_dir, "key and task work dirs (default ./deepcloud-provider)"},
      {"master", OPT_STR, &master, "every master's session host:port, comma-separated (default 127.0.0.1:8421)"},
      {"master-key", OPT_STR, &cfg.master_key, "pin the master's key (hex, one master only); default: trust on first use"},
      {"name", OPT_STR, &cfg.name, "display name (default: host name)"},
      {"cpu-millis", OPT_U32, &cfg.cpu_millis, "CPU to offer in millicores (default: all)"},
      {"memory-mb", OPT_U64, &cfg.memory_mb, "memory to offer (default: all)"},
      {"disk-mb", OPT_U64, &cfg.disk_mb, "disk to offer (default: free space)"},
      {"gpu", OPT_U32, &cfg.gpu, "GPUs to offer"},
      {"price-cpu-hour", OPT_U64, &cfg.price_cpu_hour, "micro-DEEP per core-hour"},
      {"price-mem-gb-hour", OPT_U64, &cfg.price_mem_gb_hour, "micro-DEEP per GB-hour"},
      {"lat", OPT_F64, &cfg.lat, "latitude"},
      {"lon", OPT_F64, &cfg.lon, "longitude"},
      {"classes", OPT_STR, &cfg.classes, "service classes, comma-separated (default compute)"},
      {"role", OPT_STR, &role, "fixed (serve every class listed) or dynamic (serve the one class the masters assign; default fixed)"},
      {"labels", OPT_STR, &cfg.labels_json, "labels as a JSON object of strings"},
      {"heartbeat-ms", OPT_U32, &cfg.heartbeat_ms, "heartbeat period (default 1000)"},
      {"gossip-addr", OPT_STR, &cfg.gossip_addr, "gossip membership on IP:port, UDP and TCP (default: off)"},
      {"gossip-join", OPT_STR, &cfg.gossip_join, "the masters' gossip IP:port[,IP:port...]"},
      {"gossip-key", OPT_STR, &cfg.gossip_keys, "cluster key(s) HEX[,HEX...], 64 hex each; the first encrypts"},
      {"gossip-key-file", OPT_STR, &cfg.gossip_key_file, "file with one HEX key per line; the first encrypts"},
      {"gossip-fast", OPT_BOOL, &cfg.gossip_fast, "probe every 500 ms with a 250 ms timeout (LAN only; default memberlist's 1 s / 500 ms)"},
      {"channel-idle-s", OPT_U32, &cfg.channel_idle_s, "close a channel paying us after this long without a tick (default 60)"},
      {"channel-close-margin", OPT_U32, &cfg.channel_close_margin, "close a channel paying us this many blocks before the payer may reclaim (default 5)"},
      {"gossip-no-tcp-ping", OPT_BOOL, &cfg.gossip_no_tcp_ping, "no TCP fallback ping when a UDP probe fails (default on, as memberlist)"},
      {"log-level", OPT_STR, &level, "debug, info, warn or error"},
  };
  int rc = parse_role("deepcloud provider [options]", opts, DC_ARRAY_LEN(opts), argc, argv, level);
  if (rc >= 0) return rc;
  static char mh[DC_PROVIDER_MASTERS_MAX][256];
  char list[2048];
  snprintf(list, sizeof list, "%s", master);
  cfg.nmasters = 0;
  char *save = NULL;
  for (char *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
    if (cfg.nmasters == DC_PROVIDER_MASTERS_MAX ||
        opts_hostport(t, mh[cfg.nmasters], sizeof mh[0], &cfg.masters[cfg.nmasters].port)) {
      fprintf(stderr, "error: --master takes up to %d host:port, comma-separated\n",
              DC_PROVIDER_MASTERS_MAX);
      return 2;
    }
    cfg.masters[cfg.nmasters].host = mh[cfg.nmasters];
    cfg.nmasters++;
  }
  if (cfg.nmasters == 0) {
    fprintf(stderr, "error: --master takes host:port\n");
    return 2;
  }
  if (cfg.master_key && cfg.nmasters > 1) {
    fprintf(stderr, "error: --master-key pins one master; with several, each "
                    "key is trusted on first use\n");
    return 2;
  }
  if (cfg.lat < -90 || cfg.lat > 90 || cfg.lon < -180 || cfg.lon > 180) {
    fprintf(stderr, "error: --lat must be within ±90 and --lon within ±180\n");
    return 2;
  }
  if (!strcmp(role, "fixed") || !strcmp(role, "dynamic")) {
    cfg.role = !strcmp(role, "dynamic");
  } else {
    fprintf(stderr, "error: --role is fixed or dynamic, not \"%s\"\n", role);
    return 2;
  }
  json_error_t je;
  json_t *labels = json_loads(cfg.labels_json, JSON_REJECT_DUPLICATES, &je);
  bool ok = json_is_object(labels);
  const char *k;
  json_t *v;
  if (ok) json_object_foreach(labels, k, v) ok = ok && json_is_string(v);
  json_decref(labels);
  if (!ok) {
    fprintf(stderr, "error: --labels must be a JSON object of strings, e.g. '{\"zone\":\"eu\"}'\n");
    return 2;
  }
  if (cfg.heartbeat_ms < 100 || cfg.heartbeat_ms > 60000) {
    fprintf(stderr, "error: --heartbeat-ms must be between 100 and 60000\n");
    return 2;
  }
  dc_log_set_name("provider");
  return dc_provider_run(&cfg) ? 1 : 0;
}
