/* SPDX-License-Identifier: Apache-2.0
 * Jobs pay. Inside the job and task commands themselves, so each money
 * movement is atomic with the state change that causes it: a submit locks
 * the job's budget (or is refused), an assignment reserves the task's worst
 * case (requested resources x timeout x the provider's posted prices; an
 * assignment that cannot be covered is skipped), an accepted result settles
 * from its signed metered usage at those prices capped at the reservation,
 * a task lost with its provider releases its reservation unpaid, and the end
 * of the job refunds the rest. Jobs with budget 0, or before the ledger's
 * genesis, run unpaid. Prices: micro-DEEP per core-hour and per GiB-hour. */
#include <inttypes.h>

#include "fsm/acct_int.h"

static const uint8_t no_bytes[1];

/* The ledger state when a ledger exists, else false. */
static int ledger_on(struct dc_fsm *f, struct led_state *st, bool *on) {
  *on = false;
  if (f->schema_version < 2) return DC_OK;
  int rc = led_state_load(f, st);
  *on = !rc && st->exists;
  return rc;
}

static struct led_move move_of(struct dc_fsm *f, struct led_state *st) {
  return (struct led_move){.st = st, .index = f->cur_index, .data = no_bytes,
                           .len = 0};
}

static uint64_t ceil_div(unsigned __int128 a, uint64_t b, bool *over) {
  unsigned __int128 q = (a + b - 1) / b;
  if (q > DC_AMOUNT_MAX) *over = true;
  return (uint64_t)q;
}

int fsm_pay_lock(struct dc_fsm *f, const char *job_id,
                 const uint8_t owner[DC_PK_BYTES], uint64_t budget,
                 struct dc_fsm_result *res) {
  struct led_state st;
  bool on;
  int rc = ledger_on(f, &st, &on);
  if (rc || !on || budget == 0) return rc;
  struct led_move mv = move_of(f, &st);
  return led_lock(f, &mv, owner, job_id, budget, res);
}

struct price {
  uint64_t cpu_hour, mem_gb_hour;
};

static int node_price(struct dc_fsm *f, const char *node_hex, struct price *p) {
  static const char *sql =
      "SELECT price_cpu_hour, price_mem_gb_hour FROM nodes WHERE id = ?1";
  sqlite3_stmt *s = fsm_stmt(f, sql);
  if (!s) return DC_EDB;
  sqlite3_bind_text(s, 1, node_hex, -1, SQLITE_STATIC);
  memset(p, 0, sizeof *p);
  if (sqlite3_step(s) == SQLITE_ROW) {
    p->cpu_hour = (uint64_t)sqlite3_column_int64(s, 0);
    p->mem_gb_hour = (uint64_t)sqlite3_column_int64(s, 1);
  }
  return fsm_step_done(f, s);
}

int fsm_pay_reserve(struct dc_fsm *f, const char *task_id, uint32_t attempt,
                    const char *node_hex, bool *ok) {
  static const char *sql =
      "SELECT t.job_id, t.cpu_millis, t.memory_mb, t.timeout_s FROM tasks t"
      " JOIN escrows e ON e.job_id = t.job_id AND e.state = 'open'"
      " WHERE t.id = ?1";
  struct led_state st;
  bool on;
  *ok = true;
  int rc = ledger_on(f, &st, &on);
  if (rc || !on) return rc;
  sqlite3_stmt *s = fsm_stmt(f, sql);
  if (!s) return DC_EDB;
  sqlite3_bind_text(s, 1, task_id, -1, SQLITE_STATIC);
  if (sqlite3_step(s) != SQLITE_ROW) return fsm_step_done(f, s); /* unpaid */
  char job[33];
  snprintf(job, sizeof job, "%s", (const char *)sqlite3_column_text(s, 0));
  uint64_t cpu = (uint64_t)sqlite3_column_int64(s, 1);
  uint64_t mem = (uint64_t)sqlite3_column_int64(s, 2);
  uint64_t tmo = (uint64_t)sqlite3_column_int64(s, 3);
  sqlite3_reset(s);
  struct price p;
  if ((rc = node_price(f, node_hex, &p))) return rc;
  bool over = false;
  uint64_t worst =
      ceil_div((unsigned __int128)cpu * p.cpu_hour * tmo, 3600ULL * 1000, &over) +
      ceil_div((unsigned __int128)mem * p.mem_gb_hour * tmo, 3600ULL * 1024, &over);
  uint8_t node_pk[DC_PK_BYTES];
  if (over || worst > DC_AMOUNT_MAX || dc_hex_decode(node_hex, node_pk, DC_PK_BYTES)) {
    *ok = false;
    return DC_OK;
  }
  struct dc_fsm_result scratch = {0};
  struct led_move mv = move_of(f, &st);
  rc = led_reserve(f, &mv, node_pk, job, task_id, attempt, worst, &scratch);
  *ok = scratch.code == DC_OK;
  return rc;
}

/* Settles (a result) or releases (lost: usage NULL) a task attempt's
 * reservation, if it has one. */
int fsm_pay_settle(struct dc_fsm *f, const char *task_id, uint32_t attempt,
                   const char *node_hex, const struct dc_usage *u) {
  static const char *sql =
      "SELECT job_id, amount FROM reservations WHERE task_id = ?1 AND"
      " attempt = ?2 AND state = 'reserved'";
  struct led_state st;
  bool on;
  int rc = ledger_on(f, &st, &on);
  if (rc || !on) return rc;
  sqlite3_stmt *s = fsm_stmt(f, sql);
  if (!s) return DC_EDB;
  sqlite3_bind_text(s, 1, task_id, -1, SQLITE_STATIC);
  sqlite3_bind_int64(s, 2, attempt);
  if (sqlite3_step(s) != SQLITE_ROW) return fsm_step_done(f, s);
  char job[33];
  snprintf(job, sizeof job, "%s", (const char *)sqlite3_column_text(s, 0));
  uint64_t reserved = (uint64_t)sqlite3_column_int64(s, 1);
  sqlite3_reset(s);
  uint64_t cost = 0;
  if (u) {
    struct price p;
    if ((rc = node_price(f, node_hex, &p))) return rc;
    bool over = false;
    /* CPU-seconds and MB-seconds (peak memory x wall time), as measured by
     * the sandbox and signed by the provider. */
    unsigned __int128 cpu_us = (unsigned __int128)u->cpu_user_us + u->cpu_sys_us;
    cost = ceil_div(cpu_us * p.cpu_hour, 3600ULL * 1000000, &over) +
           ceil_div((unsigned __int128)u->peak_memory_bytes * u->wall_ms *
                        p.mem_gb_hour,
                    3600ULL * 1000 * (1ULL << 30), &over);
    if (over || cost > reserved) cost = reserved; /* never above the reservation */
  }
  uint8_t node_pk[DC_PK_BYTES];
  if (dc_hex_decode(node_hex, node_pk, DC_PK_BYTES)) return DC_OK;
  struct dc_fsm_result scratch = {0};
  struct led_move mv = move_of(f, &st);
  return led_settle(f, &mv, node_pk, job, task_id, attempt, cost,
                    u ? "settled" : "released", &scratch);
}

int fsm_pay_refund(struct dc_fsm *f, const char *job_id) {
  struct led_state st;
  bool on;
  int rc = ledger_on(f, &st, &on);
  if (rc || !on) return rc;
  struct dc_fsm_result scratch = {0};
  struct led_move mv = move_of(f, &st);
  /* No escrow (an unpaid job) or already closed: refused, nothing written. */
  return led_refund(f, &mv, NULL, job_id, &scratch);
}
