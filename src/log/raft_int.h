/* SPDX-License-Identifier: Apache-2.0
 * Internals of the `raft` log back end, shared by its files. */
#ifndef DC_LOG_RAFT_INT_H
#define DC_LOG_RAFT_INT_H

#include <raft.h>
#include <raft/uv.h>

#include "log/log.h"

/* A proposer waiting for its command's result, found by proposal id. */
struct rl_waiter {
  uint64_t pid;                 /* 0 = empty slot */
  dc_log_propose_cb cb;
  void *ud;
};

/* A proposal not yet handed to raft_apply (they are batched per turn). */
struct rl_out {
  struct raft_buffer buf;       /* raft_malloc'd: raft owns it once applied */
  uint64_t pid;
};

/* One multi-buffer raft_apply in flight. */
struct rl_apply {
  struct raft_apply req;
  struct rlog *rl;
  unsigned n;
  uint64_t pids[];
};

struct rl_barrier {
  struct raft_barrier req;
  struct rlog *rl;
  void (*cb)(void *ud, int status);
  void *ud;
};

struct rlog {
  struct dc_log base;
  uv_loop_t *loop;
  struct dc_fsm *fsm;
  struct raft raft;
  struct raft_io io;
  struct raft_uv_transport transport;
  struct raft_fsm rfsm;
  char address[128];

  struct rl_out *out;           /* proposals not yet handed to raft_apply */
  size_t nout, capout;
  unsigned applying;            /* raft_apply requests not yet committed */
  struct rl_waiter *w;          /* open addressing on pid, power of 2 */
  size_t wcap, wn;

  struct dc_fsm_entry *pend;    /* committed entries not yet in SQLite */
  size_t npend, cappend;

  uv_timer_t kick;              /* end of turn: submit proposals, flush */
  uv_check_t watch;             /* notices leadership changes */
  bool raft_leader;             /* raft says leader */
  bool ready;                   /* ... and the leadership barrier passed */
  bool barrier_inflight;
  struct rl_barrier lead_barrier;
  bool closing;
  int handles_open;
  void (*done)(void *ud);
  void *done_ud;

  struct dc_log_raft_stats stats;

  /* A snapshot's image is written into a buffer faulted in beforehand by a
   * worker (raft_warm.c): fresh pages, not the copy, were the pause. */
  uint8_t *warm;                /* sqlite3_malloc64'd, warm_cap bytes */
  size_t warm_cap;
  bool warm_busy;               /* a worker is preparing the next one */
  uv_work_t warm_work;
  uint8_t *warm_new, *warm_old; /* the worker's result, and what it frees */
  size_t warm_new_cap;
  uv_timer_t warm_timer;        /* follows the state's growth */
  size_t warm_min;              /* no buffer for a state below this */
  bool freed_pending;           /* closed, waiting for the worker */
};

/* Applies every buffered committed entry in one transaction and answers
 * their proposers. Storage failures stop the process. */
void rl_flush(struct rlog *rl);
void rl_kick_soon(struct rlog *rl);
/* raft_warm.c. start: begins preparing and following the state's size;
 * take: the warm buffer for a snapshot (NULL if none), which the caller now
 * owns; check: prepares a (larger) buffer if there is none or the state
 * outgrew it; stop: stops the timer (the caller closes it). */
void rl_warm_start(struct rlog *rl);
uint8_t *rl_warm_take(struct rlog *rl, size_t *cap);
void rl_warm_check(struct rlog *rl);
void rl_warm_stop(struct rlog *rl);
/* Frees rl once its handles are closed and no worker holds it. */
void rl_free_when_idle(struct rlog *rl);

/* Whether raft has stored anything in dir. */
bool rl_dir_used(const char *dir);
/* raft's error codes as ours. */
int rl_err(int rv);

#endif /* DC_LOG_RAFT_INT_H */
