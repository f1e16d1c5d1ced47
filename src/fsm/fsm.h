/* SPDX-License-Identifier: Apache-2.0
 * fsm: the deterministic state machine. It applies committed log entries
 * (encoded commands, see proto.h) to the master's SQLite database and is the
 * only writer of shared state. It reads no clock, no randomness and no
 * network: everything it needs is inside the command. */
#ifndef DC_FSM_H
#define DC_FSM_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/base.h"

/* The schema version this build migrates to. Migrations are themselves log
 * commands (DC_CMD_MIGRATE), so every replica runs the same DDL at the same
 * point of the log. */
#define DC_FSM_SCHEMA_VERSION 5

struct dc_fsm;

struct dc_fsm_entry {
  uint64_t index;        /* log index, strictly increasing */
  const uint8_t *data;   /* borrowed: an encoded struct dc_cmd */
  size_t len;
};

/* The result of one applied command, delivered to its proposer by
 * proposal_id. code is DC_OK, or the rejection reason (DC_EINVAL,
 * DC_ENOTFOUND, DC_ECONFLICT, DC_EFORBIDDEN, DC_EBADSIG, DC_EPROTO, ...);
 * a rejected command changed nothing. */
struct dc_fsm_result {
  uint64_t index;
  uint64_t proposal_id;
  uint16_t cmd_type;
  int code;
  char message[256];
  char ref[80];          /* e.g. the job id a submit created or found */
  uint32_t count;        /* e.g. how many assignments of a batch applied */
};

/* Opens (creating if needed) the database at path in WAL mode.
 * sync_full selects synchronous=FULL (survives power loss) over NORMAL
 * (survives a process crash). OUT: *out. Errors: DC_EDB, DC_ENOMEM. */
int dc_fsm_open(const char *path, bool sync_full, struct dc_fsm **out,
                struct dc_errmsg *err);
void dc_fsm_close(struct dc_fsm *f);

/* The last applied log index (0 for a fresh database), and the schema
 * version in force (0 before the first MIGRATE). These two may be read from
 * another thread while a batch applies; they may then run ahead of what a
 * reader connection sees, by the batch not yet committed. */
uint64_t dc_fsm_applied_index(const struct dc_fsm *f);
uint32_t dc_fsm_schema_version(const struct dc_fsm *f);

/* Applies n entries in one SQL transaction. Entries at or below the applied
 * index are skipped (results[i].code = DC_OK, message "already applied"), so
 * replaying after a restart changes nothing. Each command runs inside its own
 * savepoint: a rejection rolls back only that command. The applied index is
 * stored in the same transaction as the effects.
 * OUT: results[n].
 * Errors: DC_EDB / DC_EIO on a storage failure — the caller must stop the
 * process: a storage failure is never turned into a rejection. */
int dc_fsm_apply_batch(struct dc_fsm *f, const struct dc_fsm_entry *entries,
                       size_t n, struct dc_fsm_result *results,
                       struct dc_errmsg *err);

/* The database handle, for snapshots and tests. Never write through it. */
sqlite3 *dc_fsm_db(struct dc_fsm *f);

/* Opens a read-only connection to the same database for readers (API,
 * scheduler). Errors: DC_EDB. */
int dc_fsm_open_reader(const char *path, sqlite3 **out);

/* ---- whole-state images (snapshots) and state hashes ---- */

#define DC_FSM_HASH_BYTES 32

/* A consistent image of the whole database (what a replicated log stores
 * as a snapshot). Must not be called inside dc_fsm_apply_batch. OUT: *out
 * (release with dc_fsm_snapshot_free), *len. Errors: DC_EDB. */
int dc_fsm_snapshot(struct dc_fsm *f, uint8_t **out, size_t *len,
                    struct dc_errmsg *err);
void dc_fsm_snapshot_free(uint8_t *image);
/* As dc_fsm_snapshot, but writes the image into buf (cap bytes, which the
 * caller allocated and keeps owning) instead of fresh memory: a buffer whose
 * pages are already faulted in makes the copy a plain memory copy. OUT:
 * *len. Errors: DC_ETOOBIG (the state does not fit: nothing usable in buf),
 * DC_EDB, DC_ENOMEM. */
int dc_fsm_snapshot_into(struct dc_fsm *f, uint8_t *buf, size_t cap, size_t *len,
                         struct dc_errmsg *err);
/* The state's size as an image (page count × page size); 0 on error. */
size_t dc_fsm_image_size(struct dc_fsm *f);
/* The applied index recorded inside an image. Errors: DC_EPROTO. */
int dc_fsm_image_applied_index(const uint8_t *image, size_t len,
                               uint64_t *out);
/* Replaces the whole state with an image from dc_fsm_snapshot (of this or
 * another replica). Connections from dc_fsm_open_reader stay valid and see
 * the new state at their next read. Errors: DC_EPROTO (not an image),
 * DC_EDB, DC_ENOMEM; on error the state is unchanged. */
int dc_fsm_restore(struct dc_fsm *f, const uint8_t *image, size_t len,
                   struct dc_errmsg *err);
/* A BLAKE2b hash of the replicated state: every table but `log` and
 * `meta` (the input and the applied index), by name, each row by all its
 * columns. Two replicas that applied the same commands give the same hash.
 * Each table is sorted: on a large state pass a dc_fsm_open_reader
 * connection, which may spill the sort to disk (dc_fsm_db's keeps its
 * temporary data in memory). Errors: DC_EDB. */
int dc_fsm_state_hash(sqlite3 *db, uint8_t out[DC_FSM_HASH_BYTES]);

/* What an image holds, once checked. */
struct dc_fsm_image_info {
  uint64_t applied_index;
  uint32_t schema_version;
  uint8_t hash[DC_FSM_HASH_BYTES]; /* dc_fsm_state_hash of the image */
};
/* Checks that an image is a whole, undamaged DeepCloud state: the size its
 * SQLite header gives (a truncated file is refused as such), the page size
 * a state uses, SQLite's integrity_check, the tables of schema 1, a
 * readable meta table with applied entries and a schema this build knows. OUT: *info.
 * Errors: DC_EPROTO (not an image, truncated, corrupt), DC_EVERSION,
 * DC_ENOMEM; err says why. */
int dc_fsm_image_check(const uint8_t *image, size_t len,
                       struct dc_fsm_image_info *info, struct dc_errmsg *err);
/* An online backup of the state database at path, taken through its own
 * read-only connection inside one read transaction: a consistent image at
 * one applied index that never blocks the writer. Call it off the loop (it
 * reads the whole database). OUT: *out (dc_fsm_snapshot_free), *len, *info.
 * Errors: DC_EDB; err says why. */
int dc_fsm_backup(const char *path, uint8_t **out, size_t *len,
                  struct dc_fsm_image_info *info, struct dc_errmsg *err);


struct dc_fsm_verify_report {
  bool ok;                /* false: message says what, bad_height where */
  int64_t bad_height;     /* -1 when ok */
  char message[256];
  uint64_t blocks;        /* blocks verified */
  uint64_t commands;      /* commands inside them */
  uint64_t txs;           /* signed transactions re-verified and replayed */
  uint64_t last_index;    /* last log index inside a verified block */
  uint64_t tail;          /* entries after the last block, replayed too */
  bool tail_complete;     /* the tail reached the source's applied index, so
                             the final states were compared */
};

/* `ledger verify`: walks the blocks of src from height 0, checking each
 * header hash and prev link, the Merkle root of its stored commands and
 * every transaction signature. With replay it also applies every command
 * to a fresh FSM at scratch_path (which must not exist) comparing each
 * outcome (hence every nonce, head and balance rule) and block hash; then,
 * if src's log still holds the unsealed tail, replays it and compares the
 * whole state (dc_fsm_state_hash). src is only read: pass a copy of a live
 * database. A discrepancy is not an error: rep->ok = false.
 * Errors: DC_ENOTFOUND (no ledger), DC_EDB, DC_ENOMEM. */
int dc_fsm_verify_chain(sqlite3 *src, const char *scratch_path, bool replay,
                        struct dc_fsm_verify_report *rep,
                        struct dc_errmsg *err);

/* The ids (ledger_tx.id) of an account's history rows, newest first, at
 * most limit of them: every row naming pk as its account or its peer.
 * Works on any connection to a state (a reader's, dc_fsm_db) of any
 * ledger schema. OUT: ids[0 .. *n). Errors: DC_EDB. */
int dc_fsm_history(sqlite3 *db, const uint8_t pk[32], size_t limit,
                   int64_t *ids, size_t *n);

/* Task and job states as stored in the database. */
#define DC_TASK_BLOCKED "blocked"     /* waiting on `after` dependencies */
#define DC_TASK_PENDING "pending"
#define DC_TASK_ASSIGNED "assigned"
#define DC_TASK_RUNNING "running"
#define DC_TASK_SUCCEEDED "succeeded"
#define DC_TASK_FAILED "failed"
#define DC_TASK_CANCELED "canceled"

#define DC_JOB_RUNNING "running"
#define DC_JOB_SUCCEEDED "succeeded"
#define DC_JOB_FAILED "failed"
#define DC_JOB_CANCELED "canceled"

/* A task whose provider died more than this many times fails. */
#define DC_FSM_MAX_LOST 5

#endif /* DC_FSM_H */
