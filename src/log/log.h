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
 * or DC_ECANCELED when the log closes first, or DC_ENOTLEADER when
 * leadership was lost (the command may still have committed). */
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

/* A fresh proposal id, unique across restarts of this process with high
 * probability (random high half, counter low half). */
uint64_t dc_log_next_proposal_id(void);

/* The `local` back end: one master; entries are numbered, stored and applied
 * in one SQLite transaction per batch (batches of up to
 * DC_LOG_LOCAL_BATCH_MAX entries proposed in the same loop turn).
 * fsm is borrowed and must outlive the log. OUT: *out. */
#define DC_LOG_LOCAL_BATCH_MAX 1024
#define DC_LOG_ENTRY_MAX (4u << 20)
int dc_log_local_new(uv_loop_t *loop, struct dc_fsm *fsm,
                     const struct dc_log_hooks *hooks, struct dc_log **out);

#endif /* DC_LOG_H */
