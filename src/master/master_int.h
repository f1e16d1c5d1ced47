/* SPDX-License-Identifier: Apache-2.0
 * Internals shared by the master's own files. */
#ifndef DC_MASTER_INT_H
#define DC_MASTER_INT_H

#include <jansson.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <uv.h>

#include "base/base.h"
#include "crypto/crypto.h"
#include "fsm/fsm.h"
#include "gossip/gossip.h"
#include "httpd/httpd.h"
#include "ledger/ledger.h"
#include "log/log.h"
#include "master/master.h"
#include "net/net.h"
#include "proto/proto.h"

/* A (task, attempt) the master has sent to a provider and not yet seen
 * finish. */
struct sent {
  char *task_id;
  uint32_t attempt;
};

struct session {
  struct dc_master *m;
  struct dc_conn *conn;
  uint8_t node_id[DC_PK_BYTES];
  char node_hex[2 * DC_PK_BYTES + 1];
  bool registered;          /* its REGISTER command has been applied */
  bool closed;
  struct sent *sent;
  size_t nsent, capsent;
  struct dc_msg_heartbeat last_hb; /* usage snapshot, owned */
  bool has_hb;
  bool channels_listed;     /* the last CHANNELS it got was not empty */
  bool channels_stale;      /* (channels.c, during one notification) */
  struct session *next;
};

/* Failure-detector bookkeeping per node id seen alive. */
struct seen {
  char id[2 * DC_PK_BYTES + 1];
  int64_t last_mono_ms;
  bool dead_proposed;
  char decided_by[16];      /* "gossip" or "heartbeat": the last detector
                               that proposed this node dead (this master) */
};

/* A read waiting until this master has applied a given index. */
struct parked {
  struct dc_httpd_req *r;
  uint64_t min_index;
  int64_t deadline_mono_ms;
  struct parked *next;
};

/* Per-account flood control (ledger.c). */
struct flood {
  uint8_t pk[DC_PK_BYTES];
  bool used;
  uint32_t pending;         /* proposed, not yet applied */
  uint64_t tokens_milli;    /* token bucket, in thousandths of a tx */
  int64_t last_ms;
};

/* A transaction on its way: signature check on the worker pool, then the
 * proposal. Owned by whoever started it; done runs on the loop. */
struct master_txreq {
  struct dc_master *m;
  struct master_txreq *next; /* queue of checks not yet on the pool */
  struct dc_tx tx;
  char chain_id[DC_CHAIN_ID_MAX + 1];
  int verify_rc;
  void (*done)(struct dc_master *m, struct master_txreq *q);
  struct dc_httpd_req *r;
  uint8_t hash[DC_HASH_BYTES];
  uint8_t *enc;             /* the encoded transaction (dc_malloc) */
  size_t enc_len;
  struct txbatch *batch;    /* POST /v1/txs: the batch (r is NULL) */
  size_t slot;              /* and the element's position in it */
};

#define METRIC_LAT_BUCKETS 12
#define MASTER_RCACHE 24

struct dc_master {
  struct dc_master_config cfg;
  uv_loop_t *loop;
  struct dc_identity id;
  char state_path[4096];
  struct dc_fsm *fsm;
  struct dc_log *log;
  sqlite3 *rdb;             /* read connection to the state */
  sqlite3 *ldb;             /* local (not replicated): task logs, nonces */
  struct {
    const char *sql;        /* static string: the cache keys on its address */
    sqlite3_stmt *stmt;
  } rcache[MASTER_RCACHE];  /* prepared reads of the hot paths */
  struct dc_httpd *http;
  struct dc_listener *listener;
  struct session *sessions;
  struct seen *seen;
  size_t nseen, capseen;
  struct dc_gossip_node *gossip; /* NULL: gossip off */
  uv_timer_t tick;          /* failure detector + periodic reconcile */
  uv_timer_t sched;         /* placement pass */
  uv_signal_t sigint, sigterm;
  bool assign_in_flight;
  bool work_dirty;          /* something changed that placement should see */
  int64_t started_mono_ms;
  bool stopping;
  /* replication */
  uint64_t raft_id;         /* 0 with the local back end */
  char advertise_api[256];
  char advertise_session[256];
  struct parked *parked;    /* reads waiting for an index */
  uv_timer_t park_timer;
  uv_timer_t join_timer;
  int join_attempts;
  bool join_busy;
  bool transferring;
  uv_timer_t transfer_timer;
  /* --restore: the checked backup, until it is restored (restore.c) */
  uint8_t *restore_img;
  size_t restore_len;
  uint64_t restore_index;
  bool backup_busy;         /* a GET /v1/backup is being taken */
  struct {
    bool ready;             /* a genesis has been applied */
    char chain_id[DC_CHAIN_ID_MAX + 1];
    uint32_t block_max;
    uint64_t min_stake;
    uint64_t since_seal;    /* commands applied since the last block */
    bool seal_in_flight;
    uv_timer_t seal_timer;
    bool timer_live;
    struct flood *flood;    /* FLOOD_SLOTS entries */
    uint64_t faucet_nonce;  /* next faucet transaction, pipelined */
    uint8_t faucet_head[DC_HASH_BYTES];
    bool faucet_synced;
    uint32_t faucet_inflight;
    struct master_txreq *vq_head, *vq_tail; /* waiting for a verify batch */
    uint32_t verify_inflight;  /* batches on the worker pool */
    size_t vq_len;             /* length of the vq list */
  } ledger;
  struct dc_sysop *genesis;  /* from --genesis, proposed by a leader of a
                               state with no ledger yet (genesis.c) */
  /* matching (learning.c, placement.c) */
  int policy;               /* enum dc_sched_kind, or -1 for v0 "spread" */
  struct dc_rtpred *rtpred; /* runtime model of this master's history */
  int64_t learn_last_ms;    /* last look at finished tasks (monotonic) */
  int64_t learn_seq;        /* watermark: the last task event fed */
  uint64_t learn_new;       /* fed since the last fit */
  bool train_busy;          /* a fit is on the thread pool */
  struct dc_reliab *reliab; /* per-node failure and speed posteriors */
  char (*reliab_ids)[2 * DC_PK_BYTES + 1]; /* node id of each slot */
  uint32_t *reliab_map;     /* open addressing on the id: slot + 1, 0 empty */
  size_t nreliab;
  double *node_work;        /* per slot: core-seconds of work done, decayed
                               with a one-hour time constant (provider shares) */
  struct shards *shards;    /* service clusters (service_clusters.c) */
  /* metrics */
  uint64_t placement_hist[METRIC_LAT_BUCKETS + 1];
  double placement_sum_ms;
  uint64_t placement_count;
};

extern const double dc_master_lat_bounds_ms[METRIC_LAT_BUCKETS];

/* A prepared statement on the read connection for a static SQL string,
 * reset and with bindings cleared; NULL on error. Callers sqlite3_reset()
 * it when done (never finalize), so no read transaction stays open. */
sqlite3_stmt *master_read_stmt(struct dc_master *m, const char *sql);

/* propose.c: encode and propose; cb may be NULL. */
typedef void (*master_cmd_cb)(struct dc_master *m, const struct dc_fsm_result *r,
                              void *ud);
int master_propose(struct dc_master *m, struct dc_cmd *c, master_cmd_cb cb,
                   void *ud);

/* restore.c: --restore FILE. load reads and checks the backup and that the
 * data dir holds no state, before anything is written; local restores it
 * into the fresh state (local back end); raft seeds raft's log with it
 * (raft back end, before the log starts). Each frees the image. */
int master_restore_load(struct dc_master *m);
int master_restore_local(struct dc_master *m);
int master_restore_raft(struct dc_master *m, const char *raft_dir);
void master_restore_free(struct dc_master *m);

/* genesis.c */
int master_genesis_load(struct dc_master *m, const char *path, struct dc_errmsg *err);
void master_genesis_free(struct dc_master *m);

/* ledger.c */
int master_ledger_start(struct dc_master *m);
/* Leadership gained (after the migration was proposed) or lost. */
void master_ledger_on_leader(struct dc_master *m, bool leader);
void master_ledger_stop(struct dc_master *m);
void master_ledger_free(struct dc_master *m);
void master_ledger_refresh(struct dc_master *m);
void master_ledger_applied(struct dc_master *m, const struct dc_fsm_result *res,
                           size_t n);
bool master_node_staked(struct dc_master *m, const char *node_hex);
int master_propose_sysop(struct dc_master *m, const struct dc_sysop *op,
                         master_cmd_cb cb, void *ud);
/* Queues q's signature check (batched onto the worker pool); q->done runs
 * on the loop with verify_rc, exactly once. */
void master_tx_verify_async(struct dc_master *m, struct master_txreq *q);
/* Takes one unit of pk's rate and one pending slot (DC_EAGAIN and why);
 * master_flood_done returns the pending slot. */
int master_flood_take(struct dc_master *m, const uint8_t pk[DC_PK_BYTES],
                      char *why, size_t whysz);
void master_flood_done(struct dc_master *m, const uint8_t pk[DC_PK_BYTES]);

/* sessions.c */
int master_sessions_start(struct dc_master *m);
void master_sessions_stop(struct dc_master *m);
struct session *master_session_find(struct dc_master *m, const char *node_hex);
int master_session_send(struct session *s, const struct dc_msg *msg);
void master_dispatch(struct dc_master *m);   /* send RUN_TASK for new assignments */
void master_reconcile(struct dc_master *m);  /* kill what is no longer current */
int master_session_live_count(struct dc_master *m);

/* channels.c: the open channels each payee provider holds, sent to it
 * (every session, or only), and a provider's own channel close. */
void master_channels_notify(struct dc_master *m, struct session *only);
void master_channel_tx(struct session *s, const struct dc_msg_ledger_tx *t);

/* detector.c */
void master_seen(struct dc_master *m, const char *node_hex);
struct seen *master_seen_get(struct dc_master *m, const char *node_hex);
/* Proposes NODE_DEAD for node_hex, decided by detector ("gossip" or
 * "heartbeat") with reason; once until the result is applied. */
void master_propose_dead(struct dc_master *m, struct seen *sn, const char *detector,
                         const char *reason);

/* membership.c: the master as a gossip member */
int master_membership_start(struct dc_master *m);
void master_membership_tick(struct dc_master *m);
void master_membership_stop(struct dc_master *m);
/* The gossip view of a provider (NULL if gossip is off or it is unknown). */
json_t *master_membership_node_json(struct dc_master *m, const char *node_hex);
void master_detector_tick(struct dc_master *m);

/* learning.c */
struct dc_pred_job;
int master_learning_start(struct dc_master *m);
void master_learning_tick(struct dc_master *m);
void master_learning_free(struct dc_master *m);
void master_task_features(const char *owner, const char *app, uint32_t cpu_millis,
                          uint64_t memory_mb, uint32_t timeout_s, int64_t created_ms,
                          struct dc_pred_job *out);
/* The reliability slot of a node (SIZE_MAX if the table is full). */
size_t master_reliab_slot(struct dc_master *m, const char *node_hex);
/* Predicted runtime in seconds (0 if no model). */
double master_predict_runtime(struct dc_master *m, const struct dc_pred_job *f);
/* localdb.c: the leader's record of why each task went where it did. */
int master_explain_put(struct dc_master *m, const char *task_id, uint32_t attempt,
                       const char *json);

/* service_clusters.c: k-means groups and moves of dynamic providers ahead
 * of forecast demand (leader only, fitted on the thread pool). */
int master_shards_start(struct dc_master *m);
void master_shards_tick(struct dc_master *m);
void master_shards_free(struct dc_master *m);
/* GET /v1/clusters */
void api_clusters_list(struct dc_master *m, struct dc_httpd_req *r);

/* placement.c */
void master_schedule_soon(struct dc_master *m);
void master_placement_init(struct dc_master *m);

/* api.c */
void master_api_handle(struct dc_httpd_req *r, void *ud);

/* localdb.c */
int master_localdb_open(struct dc_master *m);
int master_logs_append(struct dc_master *m, const char *task_id,
                       uint32_t attempt, int stream, const uint8_t *p,
                       size_t n);
/* Returns DC_OK and marks the nonce used, or DC_EREPLAY. */
int master_nonce_use(struct dc_master *m, const char *key_hex,
                     const char *nonce, int64_t expires_ms);

/* master.c: the log's on_applied hook */
void master_on_applied(void *ud, const struct dc_fsm_result *res, size_t n);

/* cluster.c: the log back end, leadership changes, joining, hand-over */
void master_cluster_init(struct dc_master *m);  /* handles only */
int master_log_start(struct dc_master *m);
void master_cluster_close(struct dc_master *m);
/* Starts a leadership transfer before a planned stop; false if there is
 * nothing to hand over (then stop at once). then() runs when done. */
bool master_transfer_then(struct dc_master *m, void (*then)(struct dc_master *));
/* The API URL of the current leader, if known (static buffer). */
const char *master_leader_api(struct dc_master *m);

/* consistency.c: where a request may be served */
void master_api_route(struct dc_master *m, struct dc_httpd_req *r);
void master_parked_check(struct dc_master *m);
void master_parked_close(struct dc_master *m);
void api_redirect_to_leader(struct dc_master *m, struct dc_httpd_req *r);

#endif /* DC_MASTER_INT_H */
