/* SPDX-License-Identifier: Apache-2.0
 * Internals shared by the fsm's own files. Nothing outside src/fsm/
 * includes this. */
#ifndef DC_FSM_INT_H
#define DC_FSM_INT_H

#include <stdio.h>
#include <string.h>

#include "fsm/fsm.h"
#include "proto/proto.h"

#define FSM_STMT_CACHE 192

struct dc_fsm {
  sqlite3 *db;
  /* Written by the thread that applies (the local log's commit thread),
   * read by the loop through the public getters while a batch applies:
   * atomic, so those reads are not a data race. */
  _Atomic uint64_t applied_index;
  _Atomic uint32_t schema_version;
  struct {
    const char *sql; /* static string: the cache keys on its address */
    sqlite3_stmt *stmt;
  } cache[FSM_STMT_CACHE];
  struct dc_errmsg err; /* storage error text */
  uint32_t rec_sub;     /* ledger history rows written by this command */
  uint64_t cur_index;   /* log index of the command being applied */
};

/* A prepared, reset statement for a static SQL string; NULL on error (the
 * error text is left in f->err). */
sqlite3_stmt *fsm_stmt(struct dc_fsm *f, const char *sql);
/* Runs a statement to completion (no rows expected). DC_EDB on error. */
int fsm_step_done(struct dc_fsm *f, sqlite3_stmt *s);
int fsm_run(struct dc_fsm *f, const char *sql); /* one cached statement */
int fsm_exec(struct dc_fsm *f, const char *sql);
int fsm_meta_set(struct dc_fsm *f, const char *key, int64_t value);
/* A meta value of any database of ours (0 when absent). Errors: DC_EDB. */
int fsm_meta_read(sqlite3 *db, const char *key, int64_t *out);

/* Opens a read-only in-memory copy of a state image. OUT: *out.
 * Errors: DC_EPROTO (not a database image), DC_ENOMEM. */
int fsm_image_open(const uint8_t *image, size_t len, sqlite3 **out,
                   struct dc_errmsg *err);

/* The page size of a database's main schema (0 on error). */
int fsm_page_size(sqlite3 *db);

/* Appends an event to a task's history. */
int fsm_task_event(struct dc_fsm *f, const char *task_id, uint32_t attempt,
                   const char *state, const char *node_id, int64_t ts,
                   const char *reason);

/* Command handlers. They return DC_OK after filling res (res->code says
 * whether the command was accepted) or a storage error, which is fatal.
 * A handler that rejects must not have written anything it leaves behind:
 * the caller rolls the savepoint back whenever res->code != DC_OK. */
int fsm_migrate(struct dc_fsm *f, uint32_t target, struct dc_fsm_result *res);
int fsm_node_register(struct dc_fsm *f, const struct dc_cmd *c,
                      struct dc_fsm_result *res);
int fsm_node_dead(struct dc_fsm *f, const struct dc_cmd *c,
                  struct dc_fsm_result *res);
int fsm_job_submit(struct dc_fsm *f, const struct dc_cmd *c, uint64_t index,
                   struct dc_fsm_result *res);
int fsm_job_cancel(struct dc_fsm *f, const struct dc_cmd *c,
                   struct dc_fsm_result *res);
int fsm_task_assign(struct dc_fsm *f, const struct dc_cmd *c,
                    struct dc_fsm_result *res);
int fsm_task_started(struct dc_fsm *f, const struct dc_cmd *c,
                     struct dc_fsm_result *res);
int fsm_task_finished(struct dc_fsm *f, const struct dc_cmd *c,
                      struct dc_fsm_result *res);

/* apply_cluster.c: service clusters (schema v4). */
int fsm_node_cluster_set(struct dc_fsm *f, const struct dc_cmd *c,
                         struct dc_fsm_result *res);
/* Sets a registering node's role and cluster: fixed serves its classes; a
 * dynamic node keeps the cluster it had if it still lists it, else its
 * first class. */
int fsm_node_role_set(struct dc_fsm *f, const char *id,
                      const struct dc_node_info *n, int64_t ts);

int fsm_master_set(struct dc_fsm *f, const struct dc_cmd *c,
                   struct dc_fsm_result *res);
int fsm_master_remove(struct dc_fsm *f, const struct dc_cmd *c,
                      struct dc_fsm_result *res);
/* The ledger (apply_ledger.c: user transactions; apply_escrow.c: job
 * escrow, slashes and rewards; apply_block.c: genesis and block seals). */
int fsm_ledger_tx(struct dc_fsm *f, const struct dc_cmd *c, uint64_t index,
                  struct dc_fsm_result *res);
int fsm_ledger_sys(struct dc_fsm *f, const struct dc_cmd *c,
                   const struct dc_fsm_entry *e, struct dc_fsm_result *res);

/* Jobs pay (apply_pay.c). Each returns only storage errors; a movement
 * the ledger refuses writes nothing. fsm_pay_lock refuses through res. */
int fsm_pay_lock(struct dc_fsm *f, const char *job_id,
                 const uint8_t owner[DC_PK_BYTES], uint64_t budget,
                 struct dc_fsm_result *res);
int fsm_pay_reserve(struct dc_fsm *f, const char *task_id, uint32_t attempt,
                    const char *node_hex, bool *ok);
int fsm_pay_settle(struct dc_fsm *f, const char *task_id, uint32_t attempt,
                   const char *node_hex, const struct dc_usage *usage);
int fsm_pay_refund(struct dc_fsm *f, const char *job_id);

/* Re-evaluates a job after one of its tasks reached a final state:
 * unblocks dependents whose dependencies all succeeded, fails dependents of
 * a failed task, and closes the job when every task is final. */
int fsm_job_progress(struct dc_fsm *f, const char *job_id, int64_t ts);

#define FSM_REJECT(res, c, ...)                                    \
  do {                                                             \
    (res)->code = (c);                                             \
    snprintf((res)->message, sizeof (res)->message, __VA_ARGS__);  \
    return DC_OK;                                                  \
  } while (0)

#endif /* DC_FSM_INT_H */
