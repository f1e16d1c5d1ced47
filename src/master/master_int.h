/* SPDX-License-Identifier: Apache-2.0
 * Internals shared by the master's own files. */
#ifndef DC_MASTER_INT_H
#define DC_MASTER_INT_H

#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <uv.h>

#include "base/base.h"
#include "crypto/crypto.h"
#include "fsm/fsm.h"
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
  struct session *next;
};

/* Failure-detector bookkeeping per node id seen alive. */
struct seen {
  char id[2 * DC_PK_BYTES + 1];
  int64_t last_mono_ms;
  bool dead_proposed;
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
  uv_timer_t tick;          /* failure detector + periodic reconcile */
  uv_timer_t sched;         /* placement pass */
  uv_signal_t sigint, sigterm;
  bool assign_in_flight;
  bool work_dirty;          /* something changed that placement should see */
  int64_t started_mono_ms;
  bool stopping;
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
  } ledger;
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

/* ledger.c */
int master_ledger_start(struct dc_master *m);
void master_ledger_stop(struct dc_master *m);
void master_ledger_free(struct dc_master *m);
void master_ledger_refresh(struct dc_master *m);
void master_ledger_on_leader(void *ud, bool leader); /* dc_log_hooks */
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

/* detector.c */
void master_seen(struct dc_master *m, const char *node_hex);
void master_detector_tick(struct dc_master *m);

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

#endif /* DC_MASTER_INT_H */
