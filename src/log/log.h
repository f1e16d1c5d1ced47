/* SPDX-License-Identifier: Apache-2.0
 * log: the replicated command log behind one interface. propose() hands an
 * encoded command to the log; once the command is committed *and* applied
 * by the FSM, the callback gets its result. Back ends: `local` (one master,
 * the log is the SQLite database itself) and, later, `raft`. */
#ifndef DC_LOG_H
#define DC_LOG_H

#include <stdbool.h>
#include <uv.h>

#include "base/base.h"
#include "fsm/fsm.h"

struct dc_log;

/* Runs exactly once per successful propose(): with res->code from the FSM,
 * or DC_ECANCELED when the log closes before the command left this
 * process, or DC_EINDOUBT when leadership was lost (or the log closed)
 * after it was handed to the replicas: it may still commit. */
typedef void (*dc_log_propose_cb)(void *ud, const struct dc_fsm_result *res);

struct dc_log_hooks {
  /* After every applied batch (on the loop thread), with every result —
   * including commands proposed elsewhere. May be NULL. */
  void (*on_applied)(void *ud, const struct dc_fsm_result *res, size_t n);
  /* Leadership gained or lost. local is leader from start. May be NULL. */
  void (*on_leader)(void *ud, bool leader);
  /* A storage failure during apply: the process must stop. NULL = exit(3). */
  void (*on_fatal)(void *ud, const char *why);
  void *ud;
};

struct dc_log_ops {
  int (*propose)(struct dc_log *l, const uint8_t *cmd, size_t len,
                 dc_log_propose_cb cb, void *ud);
  bool (*is_leader)(const struct dc_log *l);
  uint64_t (*applied_index)(const struct dc_log *l);
  /* Cancels pending proposals (DC_ECANCELED) and frees the log once its
   * handles are closed; done may be NULL. */
  void (*close)(struct dc_log *l, void (*done)(void *ud), void *ud);
  /* Runs cb once every command committed before the call has been applied
   * (a linearizable read may then read SQLite). cb gets DC_OK, or
   * DC_ENOTLEADER / DC_ECANCELED. Errors: DC_ENOTLEADER (cb never runs). */
  int (*barrier)(struct dc_log *l, void (*cb)(void *ud, int status),
                 void *ud);
  /* The leader's log-level id and address, if one is known. */
  bool (*leader)(const struct dc_log *l, uint64_t *id, const char **address);
  const char *name;
};

struct dc_log {
  const struct dc_log_ops *ops;
  struct dc_log_hooks hooks;
};

/* Proposes a command. cmd is copied. Errors: DC_ENOTLEADER, DC_ETOOBIG,
 * DC_ENOMEM, DC_ECLOSED; on error cb never runs. */
static inline int dc_log_propose(struct dc_log *l, const uint8_t *cmd,
                                 size_t len, dc_log_propose_cb cb, void *ud) {
  return l->ops->propose(l, cmd, len, cb, ud);
}
static inline bool dc_log_is_leader(const struct dc_log *l) {
  return l->ops->is_leader(l);
}
static inline int dc_log_barrier(struct dc_log *l,
                                 void (*cb)(void *ud, int status), void *ud) {
  return l->ops->barrier(l, cb, ud);
}

/* A fresh proposal id, unique across restarts of this process with high
 * probability (random high half, counter low half). */
uint64_t dc_log_next_proposal_id(void);

/* The `local` back end: one master; entries are numbered, stored and applied
 * in one SQLite transaction per batch of up to DC_LOG_LOCAL_BATCH_MAX
 * entries. Group commit: a batch is applied and made durable on the log's
 * commit thread while the loop runs; what is proposed meanwhile forms the
 * next batch. fsm is borrowed and must outlive the log; while a proposal
 * waits for its result the commit thread may be using fsm, so the caller
 * reads the state through its own connection then, never through fsm.
 * OUT: *out. */
#define DC_LOG_LOCAL_BATCH_MAX 1024
#define DC_LOG_ENTRY_MAX (4u << 20)
int dc_log_local_new(uv_loop_t *loop, struct dc_fsm *fsm,
                     const struct dc_log_hooks *hooks, struct dc_log **out);

/* ---- the `raft` back end ------------------------------------------------
 * 3 or 5 masters replicate the log with c-raft (libuv I/O and TCP). The FSM
 * applies committed entries exactly as with `local`: entries applied during
 * one loop turn share one SQLite transaction, and a proposer's result comes
 * back by proposal id once its entry is committed and applied. The leader
 * becomes "ready" (is_leader() true, on_leader(true)) only after a barrier:
 * by then every entry committed by earlier leaders is applied. */

struct dc_log_raft_config {
  const char *dir;              /* raft's own storage; created if missing */
  uint64_t id;                  /* this server's id, never 0, never reused */
  const char *address;          /* host:port raft listens on and is known by */
  bool bootstrap;               /* first start of a new cluster of just this one */
  unsigned election_timeout_ms; /* 0 = default (DC_LOG_RAFT_ELECTION_MS) */
  unsigned heartbeat_timeout_ms;
  unsigned snapshot_threshold;  /* entries between snapshots */
  unsigned snapshot_trailing;   /* entries kept behind a snapshot (0 =
                                   min(default, threshold / 4 + 1)) */
  size_t snapshot_warm_min;     /* state size from which a snapshot buffer is
                                   kept ready (0 = DC_LOG_RAFT_WARM_MIN) */
};

#define DC_LOG_RAFT_ELECTION_MS 300
#define DC_LOG_RAFT_HEARTBEAT_MS 30
#define DC_LOG_RAFT_SNAPSHOT_THRESHOLD 65536
#define DC_LOG_RAFT_SNAPSHOT_TRAILING 4096
/* Below glibc's mmap threshold (32 MiB, which raft.c keeps) a snapshot
 * reuses warm heap memory anyway; above it every image maps fresh pages. */
#define DC_LOG_RAFT_WARM_MIN ((size_t)32 << 20)

/* Starts a raft server. fsm is borrowed and must outlive the log; the log
 * turns off the FSM's own copy of the entries (dc_fsm_set_keep_log).
 * OUT: *out. Errors: DC_EINVAL (bad id/address, or the state has applied
 * entries but raft's storage is empty: a wiped raft dir must rejoin as a new
 * server), DC_EIO, DC_ENOMEM; err says why. */
int dc_log_raft_new(uv_loop_t *loop, struct dc_fsm *fsm,
                    const struct dc_log_raft_config *cfg,
                    const struct dc_log_hooks *hooks, struct dc_log **out,
                    struct dc_errmsg *err);

/* Founds a new cluster whose first state is a backup: stores image as
 * raft's first snapshot, at log index `index` (the image's applied index)
 * with this server as the only voter, in the empty raft dir `dir`. The
 * next dc_log_raft_new on dir restores the image into the FSM (c-raft
 * restores its last snapshot at start), elects this server and numbers
 * new entries from index + 1; others join as usual and receive the state
 * by snapshot. image is only read. Errors: DC_EEXISTS (dir already holds
 * raft data), DC_EINVAL, DC_EIO, DC_ENOMEM; err says why. */
int dc_log_raft_seed(const char *dir, uint64_t id, const char *address,
                     const uint8_t *image, size_t len, uint64_t index,
                     struct dc_errmsg *err);

enum dc_log_role { DC_LOG_STANDBY = 0, DC_LOG_VOTER = 1, DC_LOG_SPARE = 2 };

struct dc_log_server {
  uint64_t id;
  char address[128];
  int role;                     /* enum dc_log_role */
};

struct dc_log_raft_stats {
  uint64_t term, commit_index, last_index;
  uint64_t snapshots, restores;
  uint64_t warm_snapshots;      /* written into the prepared buffer */
  uint64_t last_snapshot_bytes;
  double last_snapshot_ms, max_snapshot_ms;
  /* Batching: raft_apply requests and the commands they carried (leader),
   * SQLite transactions and the entries they applied (every server). */
  uint64_t apply_requests, apply_commands;
  uint64_t flushes, flushed_entries;
};

/* status is DC_OK or an error, with raft's reason in msg. */
typedef void (*dc_log_change_cb)(void *ud, int status, const char *msg);

/* Leader only. Adds a server and gives it role (a voter is promoted after
 * it has caught up). Errors: DC_ENOTLEADER, DC_EUNSUPPORTED (not raft),
 * DC_EINVAL, DC_EAGAIN (another change is in progress). */
int dc_log_raft_add(struct dc_log *l, uint64_t id, const char *address,
                    int role, dc_log_change_cb cb, void *ud);
/* Leader only. Changes a member's role. Errors: as dc_log_raft_add. */
int dc_log_raft_assign(struct dc_log *l, uint64_t id, int role,
                       dc_log_change_cb cb, void *ud);
/* Leader only. Removes a server. Errors: as dc_log_raft_add. */
int dc_log_raft_remove(struct dc_log *l, uint64_t id, dc_log_change_cb cb,
                       void *ud);
/* Leader only: hands leadership to another voter (id 0 = any) before a
 * planned stop. cb runs when it moved or the attempt timed out. */
int dc_log_raft_transfer(struct dc_log *l, uint64_t id,
                         void (*cb)(void *ud), void *ud);
/* The current configuration. OUT: out[max], *n (may exceed max). */
int dc_log_raft_servers(const struct dc_log *l, struct dc_log_server *out,
                        size_t max, size_t *n);
uint64_t dc_log_raft_id(const struct dc_log *l);
void dc_log_raft_stats(const struct dc_log *l, struct dc_log_raft_stats *out);

#endif /* DC_LOG_H */
