/* SPDX-License-Identifier: Apache-2.0
 * Job escrow (lock, reserve per task attempt, settle, refund), slashes with
 * evidence and rewards: the system operations only the leader proposes.
 * Money moves between columns with checked arithmetic; supply changes only
 * through rewards (minted) and slashes (burned). */
#include <inttypes.h>

#include "fsm/acct_int.h"

struct escrow {
  uint8_t owner[DC_PK_BYTES];
  uint64_t locked, available, reserved, paid, refunded;
  char state[16];
};

static int escrow_load(struct dc_fsm *f, const char *job_id, struct escrow *e,
                       bool *found) {
  static const char *sql =
      "SELECT owner, locked, available, reserved, paid, refunded, state"
      " FROM escrows WHERE job_id = ?1";
  sqlite3_stmt *s = fsm_stmt(f, sql);
  if (!s) return DC_EDB;
  sqlite3_bind_text(s, 1, job_id, -1, SQLITE_STATIC);
  *found = sqlite3_step(s) == SQLITE_ROW;
  if (*found) {
    memcpy(e->owner, sqlite3_column_blob(s, 0), DC_PK_BYTES);
    e->locked = (uint64_t)sqlite3_column_int64(s, 1);
    e->available = (uint64_t)sqlite3_column_int64(s, 2);
    e->reserved = (uint64_t)sqlite3_column_int64(s, 3);
    e->paid = (uint64_t)sqlite3_column_int64(s, 4);
    e->refunded = (uint64_t)sqlite3_column_int64(s, 5);
    snprintf(e->state, sizeof e->state, "%s", sqlite3_column_text(s, 6));
  }
  return fsm_step_done(f, s);
}

static int escrow_store(struct dc_fsm *f, const char *job_id,
                        const struct escrow *e) {
  static const char *sql =
      "INSERT INTO escrows(job_id, owner, locked, available, reserved, paid,"
      " refunded, state) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
      " ON CONFLICT(job_id) DO UPDATE SET available = excluded.available,"
      " reserved = excluded.reserved, paid = excluded.paid,"
      " refunded = excluded.refunded, state = excluded.state";
  sqlite3_stmt *s = fsm_stmt(f, sql);
  if (!s) return DC_EDB;
  sqlite3_bind_text(s, 1, job_id, -1, SQLITE_STATIC);
  sqlite3_bind_blob(s, 2, e->owner, DC_PK_BYTES, SQLITE_STATIC);
  sqlite3_bind_int64(s, 3, (sqlite3_int64)e->locked);
  sqlite3_bind_int64(s, 4, (sqlite3_int64)e->available);
  sqlite3_bind_int64(s, 5, (sqlite3_int64)e->reserved);
  sqlite3_bind_int64(s, 6, (sqlite3_int64)e->paid);
  sqlite3_bind_int64(s, 7, (sqlite3_int64)e->refunded);
  sqlite3_bind_text(s, 8, e->state, -1, SQLITE_STATIC);
  return fsm_step_done(f, s);
}

/* The context every system operation shares. */
struct sysctx {
  struct dc_fsm *f;
  const struct dc_sysop *op;
  const struct dc_fsm_entry *e;
  struct led_state st;
};

/* A history row for a money movement of the command being applied. Its
 * hash covers the command's bytes and the row's number within it. */
int led_move_record(struct dc_fsm *f, const struct led_move *mv,
                    const char *kind, const uint8_t *account,
                    const uint8_t *peer, uint64_t amount, const char *ref) {
  uint8_t h[DC_HASH_BYTES];
  uint32_t sub = f->rec_sub++;
  led_sys_hash(mv->index, sub, mv->data, mv->len, h);
  struct led_row r = {.hash = h, .index = mv->index, .sub = sub,
                      .height = mv->st->height, .kind = kind,
                      .account = account, .peer = peer, .amount = amount,
                      .ref = ref};
  return led_record(f, &r);
}

static int sys_record(struct sysctx *x, uint32_t sub, const uint8_t *account,
                      const uint8_t *peer, uint64_t amount, const char *ref) {
  (void)sub;
  struct led_move mv = {.st = &x->st, .index = x->e->index,
                        .data = x->e->data, .len = x->e->len};
  return led_move_record(x->f, &mv, dc_sysop_kind_name(x->op->kind), account,
                         peer, amount, ref);
}

int led_lock(struct dc_fsm *f, const struct led_move *mv,
             const uint8_t owner[DC_PK_BYTES], const char *job_id,
             uint64_t amount, struct dc_fsm_result *res) {
  struct escrow e = {0};
  bool found;
  int rc = escrow_load(f, job_id, &e, &found);
  if (rc) return rc;
  if (found) FSM_REJECT(res, DC_EEXISTS, "job %s already has an escrow", job_id);
  if (amount == 0) FSM_REJECT(res, DC_EINVAL, "budget must be positive");
  struct acct a;
  if ((rc = acct_load(f, owner, &a))) return rc;
  if (!dc_amount_sub(a.balance, amount, &a.balance))
    FSM_REJECT(res, DC_EINVAL,
               "insufficient balance for the budget: %" PRIu64 " < %" PRIu64,
               a.balance, amount);
  if (!dc_amount_add(a.locked, amount, &a.locked))
    FSM_REJECT(res, DC_EINVAL, "locked would overflow");
  memcpy(e.owner, owner, DC_PK_BYTES);
  e.locked = e.available = amount;
  snprintf(e.state, sizeof e.state, "open");
  if ((rc = acct_store(f, &a)) || (rc = escrow_store(f, job_id, &e)))
    return rc;
  return led_move_record(f, mv, "escrow_lock", owner, NULL, amount, job_id);
}

struct reservation {
  char job_id[33];
  uint8_t node[DC_PK_BYTES];
  uint64_t amount, paid;
  char state[16];
};

static int resv_load(struct dc_fsm *f, const char *task_id, uint32_t attempt,
                     struct reservation *r, bool *found) {
  static const char *sql =
      "SELECT job_id, node_id, amount, paid, state FROM reservations"
      " WHERE task_id = ?1 AND attempt = ?2";
  sqlite3_stmt *s = fsm_stmt(f, sql);
  if (!s) return DC_EDB;
  sqlite3_bind_text(s, 1, task_id, -1, SQLITE_STATIC);
  sqlite3_bind_int64(s, 2, attempt);
  *found = sqlite3_step(s) == SQLITE_ROW;
  if (*found) {
    snprintf(r->job_id, sizeof r->job_id, "%s", sqlite3_column_text(s, 0));
    memcpy(r->node, sqlite3_column_blob(s, 1), DC_PK_BYTES);
    r->amount = (uint64_t)sqlite3_column_int64(s, 2);
    r->paid = (uint64_t)sqlite3_column_int64(s, 3);
    snprintf(r->state, sizeof r->state, "%s", sqlite3_column_text(s, 4));
  }
  return fsm_step_done(f, s);
}

int led_reserve(struct dc_fsm *f, const struct led_move *mv,
                const uint8_t node_pk[DC_PK_BYTES], const char *job_id,
                const char *task_id, uint32_t attempt, uint64_t amount,
                struct dc_fsm_result *res) {
  static const char *sql =
      "INSERT INTO reservations(task_id, attempt, job_id, node_id, amount,"
      " paid, state) VALUES(?1, ?2, ?3, ?4, ?5, 0, 'reserved')";
  struct escrow e;
  struct reservation r;
  bool found;
  int rc = escrow_load(f, job_id, &e, &found);
  if (rc) return rc;
  if (!found) FSM_REJECT(res, DC_ENOTFOUND, "job %s has no escrow", job_id);
  if (strcmp(e.state, "open") != 0)
    FSM_REJECT(res, DC_ECONFLICT, "escrow of job %s is %s", job_id, e.state);
  if ((rc = resv_load(f, task_id, attempt, &r, &found))) return rc;
  if (found)
    FSM_REJECT(res, DC_EEXISTS, "task %s attempt %u is already reserved",
               task_id, attempt);
  struct acct node;
  if ((rc = acct_load(f, node_pk, &node))) return rc;
  if (node.staked < mv->st->params.min_stake)
    FSM_REJECT(res, DC_EFORBIDDEN,
               "provider stake %" PRIu64 " is below the minimum %" PRIu64,
               node.staked, mv->st->params.min_stake);
  if (!dc_amount_sub(e.available, amount, &e.available))
    FSM_REJECT(res, DC_EINVAL,
               "budget left %" PRIu64 " cannot cover the reservation %" PRIu64,
               e.available, amount);
  e.reserved += amount; /* <= locked: cannot overflow */
  if ((rc = escrow_store(f, job_id, &e))) return rc;
  sqlite3_stmt *s = fsm_stmt(f, sql);
  if (!s) return DC_EDB;
  sqlite3_bind_text(s, 1, task_id, -1, SQLITE_STATIC);
  sqlite3_bind_int64(s, 2, attempt);
  sqlite3_bind_text(s, 3, job_id, -1, SQLITE_STATIC);
  sqlite3_bind_blob(s, 4, node_pk, DC_PK_BYTES, SQLITE_STATIC);
  sqlite3_bind_int64(s, 5, (sqlite3_int64)amount);
  if ((rc = fsm_step_done(f, s))) return rc;
  return led_move_record(f, mv, "reserve", e.owner, node_pk, amount, task_id);
}

static int resv_finish(struct dc_fsm *f, const char *task_id, uint32_t attempt,
                       uint64_t paid, const char *state) {
  static const char *sql =
      "UPDATE reservations SET paid = ?3, state = ?4 WHERE task_id = ?1"
      " AND attempt = ?2";
  sqlite3_stmt *s = fsm_stmt(f, sql);
  if (!s) return DC_EDB;
  sqlite3_bind_text(s, 1, task_id, -1, SQLITE_STATIC);
  sqlite3_bind_int64(s, 2, attempt);
  sqlite3_bind_int64(s, 3, (sqlite3_int64)paid);
  sqlite3_bind_text(s, 4, state, -1, SQLITE_STATIC);
  return fsm_step_done(f, s);
}

/* Pays `amount` (<= the reservation) to the provider that holds it; the
 * rest goes back to the job's budget. amount 0 releases a reservation
 * unpaid (a task lost with its provider). */
int led_settle(struct dc_fsm *f, const struct led_move *mv,
               const uint8_t node_pk[DC_PK_BYTES], const char *job_id,
               const char *task_id, uint32_t attempt, uint64_t amount,
               const char *final_state, struct dc_fsm_result *res) {
  struct reservation r;
  struct escrow e;
  bool found;
  int rc = resv_load(f, task_id, attempt, &r, &found);
  if (rc) return rc;
  if (!found)
    FSM_REJECT(res, DC_ENOTFOUND, "task %s attempt %u has no reservation",
               task_id, attempt);
  if (strcmp(r.state, "reserved") != 0)
    FSM_REJECT(res, DC_ECONFLICT, "task %s attempt %u is already %s",
               task_id, attempt, r.state);
  if (strcmp(r.job_id, job_id) != 0)
    FSM_REJECT(res, DC_EINVAL, "task %s belongs to job %s", task_id, r.job_id);
  if (memcmp(r.node, node_pk, DC_PK_BYTES) != 0)
    FSM_REJECT(res, DC_EFORBIDDEN, "the reservation is held by another provider");
  if (amount > r.amount)
    FSM_REJECT(res, DC_EINVAL,
               "settlement %" PRIu64 " exceeds the reservation %" PRIu64,
               amount, r.amount);
  if ((rc = escrow_load(f, job_id, &e, &found))) return rc;
  if (!found) FSM_REJECT(res, DC_ECONFLICT, "reservation without escrow");
  struct acct owner, node;
  if ((rc = acct_load(f, e.owner, &owner))) return rc;
  if (!dc_amount_sub(owner.locked, amount, &owner.locked) ||
      !dc_amount_sub(e.reserved, r.amount, &e.reserved))
    FSM_REJECT(res, DC_ECONFLICT, "escrow disagrees with the account");
  e.available += r.amount - amount;
  e.paid += amount;
  /* Every check before any write: callers inside a batch (task results,
   * lost tasks) rely on a refusal having written nothing. */
  /* A provider may run its own job: then it is one account row. */
  bool same = memcmp(node_pk, e.owner, DC_PK_BYTES) == 0;
  struct acct *np = same ? &owner : &node;
  if (!same && (rc = acct_load(f, node_pk, &node))) return rc;
  if (!dc_amount_add(np->balance, amount, &np->balance))
    FSM_REJECT(res, DC_EINVAL, "provider balance would overflow");
  if ((rc = acct_store(f, &owner))) return rc;
  if ((!same && (rc = acct_store(f, &node))) ||
      (rc = escrow_store(f, job_id, &e)) ||
      (rc = resv_finish(f, task_id, attempt, amount,
                        final_state)))
    return rc;
  /* A release (lost task) reads as such in the bill and the history. */
  return led_move_record(f, mv, strcmp(final_state, "released") ? "settle" : "release",
                         e.owner, node_pk, amount, task_id);
}

/* Ends a job's escrow: what is left (budget and any reservation never
 * settled) returns to the owner; later settlements of it are refused. */
int led_refund(struct dc_fsm *f, const struct led_move *mv,
               const uint8_t owner[DC_PK_BYTES], const char *job_id,
               struct dc_fsm_result *res) {
  static const char *sql =
      "UPDATE reservations SET state = 'refunded' WHERE job_id = ?1"
      " AND state = 'reserved'";
  struct escrow e;
  bool found;
  int rc = escrow_load(f, job_id, &e, &found);
  if (rc) return rc;
  if (!found) FSM_REJECT(res, DC_ENOTFOUND, "job %s has no escrow", job_id);
  if (strcmp(e.state, "open") != 0)
    FSM_REJECT(res, DC_ECONFLICT, "escrow of job %s is already %s", job_id,
               e.state);
  if (owner && memcmp(e.owner, owner, DC_PK_BYTES) != 0)
    FSM_REJECT(res, DC_EFORBIDDEN, "not the owner of job %s", job_id);
  uint64_t back = e.available + e.reserved;
  struct acct oa;
  if ((rc = acct_load(f, e.owner, &oa))) return rc;
  if (!dc_amount_sub(oa.locked, back, &oa.locked) ||
      !dc_amount_add(oa.balance, back, &oa.balance))
    FSM_REJECT(res, DC_ECONFLICT, "escrow disagrees with the account");
  e.refunded = back;
  e.available = e.reserved = 0;
  snprintf(e.state, sizeof e.state, "closed");
  sqlite3_stmt *s = fsm_stmt(f, sql);
  if (!s) return DC_EDB;
  sqlite3_bind_text(s, 1, job_id, -1, SQLITE_STATIC);
  if ((rc = fsm_step_done(f, s)) || (rc = acct_store(f, &oa)) ||
      (rc = escrow_store(f, job_id, &e)))
    return rc;
  snprintf(res->message, sizeof res->message, "refunded %" PRIu64, back);
  return led_move_record(f, mv, "refund", e.owner, NULL, back, job_id);
}

static int slash(struct sysctx *x, struct dc_fsm_result *res) {
  const struct dc_sysop *op = x->op;
  if (op->amount == 0) FSM_REJECT(res, DC_EINVAL, "amount must be positive");
  if (op->evidence_len == 0 ||
      (op->evidence_kind != DC_EVIDENCE_RESULT_MISMATCH &&
       op->evidence_kind != DC_EVIDENCE_OTHER))
    FSM_REJECT(res, DC_EINVAL, "a slash must carry evidence of a known kind");
  struct acct a;
  int rc = acct_load(x->f, op->account, &a);
  if (rc) return rc;
  if (!dc_amount_sub(a.staked, op->amount, &a.staked))
    FSM_REJECT(res, DC_EINVAL, "stake %" PRIu64 " is below the slash %" PRIu64,
               a.staked, op->amount);
  x->st.burned += op->amount; /* <= minted: no overflow */
  if ((rc = acct_store(x->f, &a)) || (rc = led_state_store(x->f, &x->st)))
    return rc;
  return sys_record(x, 0, op->account, NULL, op->amount, NULL);
}

static int reward(struct sysctx *x, struct dc_fsm_result *res) {
  const struct dc_sysop *op = x->op;
  if (op->amount == 0) FSM_REJECT(res, DC_EINVAL, "amount must be positive");
  if (!dc_amount_add(x->st.minted, op->amount, &x->st.minted))
    FSM_REJECT(res, DC_EINVAL, "supply would exceed the cap");
  struct acct a;
  int rc = acct_load(x->f, op->account, &a);
  if (rc) return rc;
  if (!dc_amount_add(a.balance, op->amount, &a.balance))
    FSM_REJECT(res, DC_EINVAL, "balance would overflow");
  if ((rc = acct_store(x->f, &a)) || (rc = led_state_store(x->f, &x->st)))
    return rc;
  return sys_record(x, 0, op->account, NULL, op->amount, NULL);
}

int fsm_ledger_sys(struct dc_fsm *f, const struct dc_cmd *c,
                   const struct dc_fsm_entry *e, struct dc_fsm_result *res) {
  struct dc_sysop op;
  struct sysctx x = {.f = f, .op = &op, .e = e};
  int rc = dc_sysop_decode(c->u.blob.data, c->u.blob.len, &op);
  if (rc) FSM_REJECT(res, rc, "undecodable ledger operation: %s", dc_strerror(rc));
  if ((rc = led_state_load(f, &x.st))) goto out;
  if (op.kind == DC_SYS_GENESIS) {
    rc = fsm_ledger_genesis(f, &op, c, e, &x.st, res);
    goto out;
  }
  if (!x.st.exists) {
    res->code = DC_ECONFLICT;
    snprintf(res->message, sizeof res->message, "no genesis yet");
    goto out;
  }
  struct led_move mv = {.st = &x.st, .index = e->index, .data = e->data,
                        .len = e->len};
  switch (op.kind) {
  case DC_SYS_ESCROW_LOCK:
    rc = led_lock(f, &mv, op.account, op.job_id, op.amount, res);
    break;
  case DC_SYS_RESERVE:
    rc = led_reserve(f, &mv, op.account, op.job_id, op.task_id, op.attempt,
                     op.amount, res);
    break;
  case DC_SYS_SETTLE:
    rc = led_settle(f, &mv, op.account, op.job_id, op.task_id, op.attempt,
                    op.amount, op.amount ? "settled" : "released", res);
    break;
  case DC_SYS_REFUND:
    if (op.amount != 0) {
      res->code = DC_EINVAL;
      snprintf(res->message, sizeof res->message,
               "a refund carries amount 0: it returns the rest");
      break;
    }
    rc = led_refund(f, &mv, op.account, op.job_id, res);
    break;
  case DC_SYS_SLASH: rc = slash(&x, res); break;
  case DC_SYS_REWARD: rc = reward(&x, res); break;
  case DC_SYS_SEAL_BLOCK: rc = fsm_ledger_seal(f, &op, c, e, &x.st, res); break;
  default: break;
  }
out:
  dc_sysop_free(&op);
  return rc;
}
