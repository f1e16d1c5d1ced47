/* SPDX-License-Identifier: Apache-2.0
 * The versioned schema. Version n's DDL runs when a MIGRATE command to a
 * version >= n is applied; never edit a released step, append a new one. */
#include "fsm/fsm_int.h"

static const char *const migration_v1 =
    "CREATE TABLE nodes ("
    "  id TEXT PRIMARY KEY, name TEXT NOT NULL, addr TEXT NOT NULL,"
    "  cpu_millis INTEGER NOT NULL, memory_mb INTEGER NOT NULL,"
    "  disk_mb INTEGER NOT NULL, gpu INTEGER NOT NULL,"
    "  price_cpu_hour INTEGER NOT NULL, price_mem_gb_hour INTEGER NOT NULL,"
    "  lat REAL NOT NULL, lon REAL NOT NULL, classes TEXT NOT NULL,"
    "  labels TEXT NOT NULL, sandbox TEXT NOT NULL, state TEXT NOT NULL,"
    "  registered_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL,"
    "  deaths INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE jobs ("
    "  id TEXT PRIMARY KEY, owner TEXT NOT NULL, idem_key TEXT NOT NULL,"
    "  name TEXT NOT NULL, priority INTEGER NOT NULL, spec TEXT NOT NULL,"
    "  state TEXT NOT NULL, submitted_ms INTEGER NOT NULL,"
    "  finished_ms INTEGER, ntasks INTEGER NOT NULL, log_index INTEGER NOT NULL);"
    "CREATE UNIQUE INDEX jobs_idem ON jobs(owner, idem_key) WHERE idem_key <> '';"
    "CREATE INDEX jobs_state ON jobs(state, submitted_ms);"
    "CREATE TABLE tasks ("
    "  id TEXT PRIMARY KEY, job_id TEXT NOT NULL, name TEXT NOT NULL,"
    "  idx INTEGER NOT NULL, seq INTEGER NOT NULL, state TEXT NOT NULL,"
    "  attempt INTEGER NOT NULL DEFAULT 0, node_id TEXT,"
    "  retries INTEGER NOT NULL, retries_used INTEGER NOT NULL DEFAULT 0,"
    "  lost INTEGER NOT NULL DEFAULT 0,"
    "  cpu_millis INTEGER NOT NULL, memory_mb INTEGER NOT NULL,"
    "  disk_mb INTEGER NOT NULL, gpu INTEGER NOT NULL,"
    "  priority INTEGER NOT NULL, timeout_s INTEGER NOT NULL,"
    "  created_ms INTEGER NOT NULL, assigned_ms INTEGER, started_ms INTEGER,"
    "  finished_ms INTEGER, outcome INTEGER, exit_code INTEGER,"
    "  term_signal INTEGER, reason TEXT, cpu_user_us INTEGER,"
    "  cpu_sys_us INTEGER, peak_memory_bytes INTEGER, wall_ms INTEGER,"
    "  mechanism TEXT);"
    "CREATE INDEX tasks_job ON tasks(job_id, seq);"
    "CREATE INDEX tasks_job_state ON tasks(job_id, state);"
    /* Partial: only the queue. Transitions between other states (assigned,
     * running, done) then leave this index alone. */
    "CREATE INDEX tasks_queue ON tasks(priority DESC, created_ms, job_id, seq)"
    "  WHERE state = 'pending';"
    "CREATE INDEX tasks_node ON tasks(node_id, state);"
    "CREATE TABLE task_deps (task_id TEXT NOT NULL, dep_name TEXT NOT NULL,"
    "  PRIMARY KEY(task_id, dep_name));"
    "CREATE TABLE task_outputs (task_id TEXT NOT NULL, attempt INTEGER NOT NULL,"
    "  path TEXT NOT NULL, content BLOB NOT NULL,"
    "  PRIMARY KEY(task_id, attempt, path));"
    "CREATE TABLE task_events (seq INTEGER PRIMARY KEY, task_id TEXT NOT NULL,"
    "  attempt INTEGER NOT NULL, state TEXT NOT NULL, node_id TEXT,"
    "  ts_ms INTEGER NOT NULL, reason TEXT);"
    "CREATE INDEX task_events_task ON task_events(task_id, seq);";

/* The ledger (docs/ledger.md). Amounts are micro-DEEP in INTEGER columns:
 * total supply is capped at INT64_MAX, so every one fits. `log.code` keeps
 * each command's outcome so a sealed block can commit to it. */
static const char *const migration_v2 =
    "ALTER TABLE log ADD COLUMN code INTEGER;"
    "CREATE TABLE ledger (id INTEGER PRIMARY KEY CHECK (id = 1),"
    "  chain_id TEXT NOT NULL, unbonding_blocks INTEGER NOT NULL,"
    "  min_stake INTEGER NOT NULL, block_max INTEGER NOT NULL,"
    "  channel_len_max INTEGER NOT NULL, channel_timeout_min INTEGER NOT NULL,"
    "  minted INTEGER NOT NULL, burned INTEGER NOT NULL,"
    "  height INTEGER NOT NULL,"       /* the block being filled */
    "  sealed_index INTEGER NOT NULL," /* last log index inside a block */
    "  tip BLOB NOT NULL, tip_time_ms INTEGER NOT NULL);"
    "CREATE TABLE accounts (id BLOB PRIMARY KEY, balance INTEGER NOT NULL,"
    "  staked INTEGER NOT NULL, unbonding INTEGER NOT NULL,"
    "  locked INTEGER NOT NULL, nonce INTEGER NOT NULL, head BLOB NOT NULL)"
    "  WITHOUT ROWID;"
    "CREATE TABLE unbonding (seq INTEGER PRIMARY KEY, account BLOB NOT NULL,"
    "  release_height INTEGER NOT NULL, amount INTEGER NOT NULL);"
    "CREATE INDEX unbonding_account ON unbonding(account, release_height);"
    /* History: rowid = idx * 65536 + sub keeps rows in log order without
     * an index of its own; the command's bytes stay in log / block_cmds. */
    "CREATE TABLE ledger_tx (id INTEGER PRIMARY KEY, hash BLOB NOT NULL,"
    "  idx INTEGER NOT NULL, sub INTEGER NOT NULL, height INTEGER NOT NULL,"
    "  kind TEXT NOT NULL, account BLOB, peer BLOB, amount INTEGER NOT NULL,"
    "  ref TEXT);"
    "CREATE UNIQUE INDEX ledger_tx_hash ON ledger_tx(hash);"
    "CREATE INDEX ledger_tx_account ON ledger_tx(account, id)"
    "  WHERE account IS NOT NULL;"
    "CREATE INDEX ledger_tx_peer ON ledger_tx(peer, id) WHERE peer IS NOT NULL;"
    "CREATE INDEX ledger_tx_ref ON ledger_tx(ref, id) WHERE ref IS NOT NULL;"
    "CREATE TABLE channels (id BLOB PRIMARY KEY, payer BLOB NOT NULL,"
    "  payee BLOB NOT NULL, tick_value INTEGER NOT NULL,"
    "  length INTEGER NOT NULL, anchor BLOB NOT NULL,"
    "  deposit INTEGER NOT NULL, open_height INTEGER NOT NULL,"
    "  timeout_blocks INTEGER NOT NULL, state TEXT NOT NULL,"
    "  ticks INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE escrows (job_id TEXT PRIMARY KEY, owner BLOB NOT NULL,"
    "  locked INTEGER NOT NULL, available INTEGER NOT NULL,"
    "  reserved INTEGER NOT NULL, paid INTEGER NOT NULL,"
    "  refunded INTEGER NOT NULL, state TEXT NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE reservations (task_id TEXT NOT NULL,"
    "  attempt INTEGER NOT NULL, job_id TEXT NOT NULL, node_id BLOB NOT NULL,"
    "  amount INTEGER NOT NULL, paid INTEGER NOT NULL, state TEXT NOT NULL,"
    "  PRIMARY KEY(task_id, attempt)) WITHOUT ROWID;"
    "CREATE INDEX reservations_job ON reservations(job_id, state);"
    "CREATE TABLE blocks (height INTEGER PRIMARY KEY, hash BLOB NOT NULL,"
    "  prev BLOB NOT NULL, root BLOB NOT NULL, first_index INTEGER NOT NULL,"
    "  last_index INTEGER NOT NULL, ncmds INTEGER NOT NULL,"
    "  proposer BLOB NOT NULL, time_ms INTEGER NOT NULL);"
    "CREATE UNIQUE INDEX blocks_hash ON blocks(hash);"
    "CREATE TABLE block_cmds (height INTEGER NOT NULL, pos INTEGER NOT NULL,"
    "  idx INTEGER NOT NULL, code INTEGER NOT NULL, data BLOB NOT NULL,"
    "  PRIMARY KEY(height, pos)) WITHOUT ROWID;"
    "CREATE INDEX block_cmds_idx ON block_cmds(idx);";

/* v3: the registry of masters (how to reach each one), for redirects and
 * for providers following the leader. */
static const char *const migration_v3 =
    "CREATE TABLE masters (id INTEGER PRIMARY KEY, role TEXT NOT NULL,"
    "  raft_addr TEXT NOT NULL, api_url TEXT NOT NULL,"
    "  session_addr TEXT NOT NULL, updated_ms INTEGER NOT NULL);";

/* v4: service clusters (docs/matching.md). A node's role, the cluster it
 * serves now (a fixed node: its declared classes; a dynamic node: the one
 * class the masters assigned) and its similarity group (-1: none yet);
 * nodes registered before roles existed are fixed. cluster_moves keeps
 * every change of cluster with the log index that made it. */
static const char *const migration_v4 =
    "ALTER TABLE nodes ADD COLUMN role TEXT NOT NULL DEFAULT 'fixed';"
    "ALTER TABLE nodes ADD COLUMN cluster TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE nodes ADD COLUMN grp INTEGER NOT NULL DEFAULT -1;"
    "UPDATE nodes SET cluster = classes;"
    "CREATE TABLE cluster_moves (idx INTEGER NOT NULL, sub INTEGER NOT NULL,"
    "  node_id TEXT NOT NULL, from_cluster TEXT NOT NULL,"
    "  to_cluster TEXT NOT NULL, reason TEXT NOT NULL, ts_ms INTEGER NOT NULL,"
    "  PRIMARY KEY(idx, sub));"
    "CREATE INDEX cluster_moves_node ON cluster_moves(node_id, idx);";

/* v5: history rows that cost a few pages per commit instead of several per
 * transaction (docs/ledger.md, "Storing the history"). Before, every applied
 * transaction inserted into ledger_tx and its three random-order indexes (a
 * 32-byte hash; account and peer, with one insertion point per active
 * account), so each commit dirtied about one leaf page per transaction per
 * index, written to the WAL and again at checkpoint: most of the writes of
 * the whole transfer path.
 *  - Each account's history is a linked list instead of two indexes: a row
 *    names the previous row of its account (prev_a) and of its peer
 *    (prev_p), accounts.hist the newest; reading a history walks it, newest
 *    first. The links are columns of rows that are written anyway.
 *  - Rows of the block being filled land in ledger_tx_recent, whose indexes
 *    stay a few hot pages; seal_block moves the block's rows into
 *    ledger_tx_sealed in log order (its key): one pass per block.
 *  - The hash index keeps an 8-byte prefix of the hash (the full hash is
 *    compared on read, so a prefix collision costs one more row read, never
 *    a wrong answer): a third of the key bytes, fewer pages per block.
 *  - `ledger_tx` becomes a view of both tables: every reader sees every
 *    applied row, sealed or not, as before.
 * Existing rows get their links here (mig_links: each account's rows in
 * order), and every account named by a row gets an accounts row. */
static const char *const migration_v5 =
    "ALTER TABLE ledger_tx RENAME TO ledger_tx_sealed;"
    "ALTER TABLE ledger_tx_sealed ADD COLUMN prev_a INTEGER;"
    "ALTER TABLE ledger_tx_sealed ADD COLUMN prev_p INTEGER;"
    "ALTER TABLE accounts ADD COLUMN hist INTEGER NOT NULL DEFAULT 0;"
    "DROP INDEX ledger_tx_hash;"
    "DROP INDEX ledger_tx_account;"
    "DROP INDEX ledger_tx_peer;"
    "CREATE INDEX ledger_tx_hash8 ON ledger_tx_sealed(substr(hash, 1, 8));"
    "CREATE TABLE mig_links AS SELECT party, id, LAG(id, 1, 0) OVER"
    "  (PARTITION BY party ORDER BY id) AS prev FROM"
    "  (SELECT account AS party, id FROM ledger_tx_sealed"
    "   WHERE account IS NOT NULL UNION"
    "   SELECT peer, id FROM ledger_tx_sealed WHERE peer IS NOT NULL);"
    "CREATE UNIQUE INDEX mig_links_key ON mig_links(party, id);"
    "UPDATE ledger_tx_sealed SET"
    "  prev_a = (SELECT prev FROM mig_links l WHERE l.party ="
    "    ledger_tx_sealed.account AND l.id = ledger_tx_sealed.id),"
    "  prev_p = (SELECT prev FROM mig_links l WHERE l.party ="
    "    ledger_tx_sealed.peer AND l.id = ledger_tx_sealed.id);"
    "INSERT INTO accounts(id, balance, staked, unbonding, locked, nonce, head,"
    "  hist) SELECT party, 0, 0, 0, 0, 0, zeroblob(32), MAX(id) FROM mig_links"
    "  WHERE true GROUP BY party"
    "  ON CONFLICT(id) DO UPDATE SET hist = excluded.hist;"
    "DROP TABLE mig_links;"
    "CREATE TABLE ledger_tx_recent (id INTEGER PRIMARY KEY, hash BLOB NOT NULL,"
    "  idx INTEGER NOT NULL, sub INTEGER NOT NULL, height INTEGER NOT NULL,"
    "  kind TEXT NOT NULL, account BLOB, peer BLOB, amount INTEGER NOT NULL,"
    "  ref TEXT, prev_a INTEGER, prev_p INTEGER);"
    "CREATE INDEX ledger_tx_recent_hash8 ON ledger_tx_recent(substr(hash, 1, 8));"
    "CREATE INDEX ledger_tx_recent_ref ON ledger_tx_recent(ref, id)"
    "  WHERE ref IS NOT NULL;"
    "CREATE VIEW ledger_tx AS SELECT * FROM ledger_tx_sealed"
    "  UNION ALL SELECT * FROM ledger_tx_recent;";

static const char *const migrations[] = {migration_v1, migration_v2, migration_v3,
                                         migration_v4, migration_v5};

int fsm_migrate(struct dc_fsm *f, uint32_t target, struct dc_fsm_result *res) {
  if (target > DC_ARRAY_LEN(migrations)) {
    res->code = DC_EVERSION;
    snprintf(res->message, sizeof res->message,
             "schema version %u is newer than this build knows (%zu)", target,
             DC_ARRAY_LEN(migrations));
    return DC_OK;
  }
  uint32_t cur = f->schema_version;
  for (uint32_t v = cur + 1; v <= target; v++) {
    int rc = fsm_exec(f, migrations[v - 1]);
    if (rc) return rc;
  }
  if (target > cur) {
    int rc = fsm_meta_set(f, "schema_version", target);
    if (rc) return rc;
    f->schema_version = target;
  }
  snprintf(res->message, sizeof res->message, "schema at version %u",
           f->schema_version);
  return DC_OK;
}
