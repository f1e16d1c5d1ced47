/* SPDX-License-Identifier: Apache-2.0
 * Starting from a backup (`deepcloud master --restore FILE`): a single
 * `local` master, or the bootstrap master of a NEW raft cluster. The file is
 * read and checked, and the data dir is checked to hold no state, before
 * anything is written: bad input changes nothing. */
#include <inttypes.h>
#include <sys/stat.h>

#include "master/master_int.h"

/* A state image is at most this large (the file is read whole). */
#define RESTORE_MAX ((size_t)16 << 30)

static bool file_exists(const char *dir, const char *name) {
  char p[4200];
  struct stat st;
  snprintf(p, sizeof p, "%s/%s", dir, name);
  return stat(p, &st) == 0;
}

/* The data dir holds state if its state.db has applied anything, or raft
 * has stored anything. */
static int has_state(const struct dc_master *m, char *why, size_t n) {
  if (file_exists(m->cfg.data_dir, "raft/metadata1") ||
      file_exists(m->cfg.data_dir, "raft/metadata2")) {
    snprintf(why, n, "it holds a raft log (%s/raft)", m->cfg.data_dir);
    return 1;
  }
  char path[4200];
  snprintf(path, sizeof path, "%s/state.db", m->cfg.data_dir);
  struct stat st;
  if (stat(path, &st) != 0) return 0;
  sqlite3 *db = NULL;
  if (dc_fsm_open_reader(path, &db)) {
    sqlite3_close(db);
    snprintf(why, n, "it has a state.db that cannot be read");
    return 1;
  }
  sqlite3_stmt *s = NULL;
  int64_t applied = 0;
  bool meta = sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key = 'applied_index'",
                                 -1, &s, NULL) == SQLITE_OK;
  if (meta && sqlite3_step(s) == SQLITE_ROW) applied = sqlite3_column_int64(s, 0);
  sqlite3_finalize(s);
  sqlite3_close(db);
  if (applied > 0) {
    snprintf(why, n, "its state.db has applied %" PRId64 " commands", applied);
    return 1;
  }
  return 0;
}

int master_restore_load(struct dc_master *m) {
  const char *path = m->cfg.restore_path;
  char why[512];
  if (has_state(m, why, sizeof why)) {
    DC_ERROR("master", "refusing to restore %s into %s: %s. A backup starts a "
                       "master on an empty data dir.", path, m->cfg.data_dir, why);
    return DC_EEXISTS;
  }
  char *img = NULL;
  size_t len = 0;
  int rc = dc_read_file(path, RESTORE_MAX, &img, &len);
  if (rc) {
    DC_ERROR("master", "cannot read the backup %s: %s", path, dc_strerror(rc));
    return rc;
  }
  struct dc_fsm_image_info info;
  struct dc_errmsg err = {{0}};
  uint64_t t0 = dc_mono_ns();
  if ((rc = dc_fsm_image_check((const uint8_t *)img, len, &info, &err))) {
    DC_ERROR("master", "refusing to restore %s: %s", path, err.text);
    dc_free(img);
    return rc;
  }
  char hex[2 * DC_FSM_HASH_BYTES + 1];
  dc_hex_encode(info.hash, DC_FSM_HASH_BYTES, hex);
  DC_INFO("master", "backup %s checked: applied_index=%" PRIu64 " schema=%u "
                    "state_hash=%s bytes=%zu ms=%.1f", path, info.applied_index,
          info.schema_version, hex, len, (double)(dc_mono_ns() - t0) / 1e6);
  m->restore_img = (uint8_t *)img;
  m->restore_len = len;
  m->restore_index = info.applied_index;
  return DC_OK;
}

int master_restore_local(struct dc_master *m) {
  struct dc_errmsg err = {{0}};
  int rc = dc_fsm_restore(m->fsm, m->restore_img, m->restore_len, &err);
  if (rc) DC_ERROR("master", "restore: %s", err.text);
  else
    DC_INFO("master", "state restored from %s at index %" PRIu64, m->cfg.restore_path,
            m->restore_index);
  master_restore_free(m);
  return rc;
}

int master_restore_raft(struct dc_master *m, const char *raft_dir) {
  struct dc_errmsg err = {{0}};
  int rc = dc_log_raft_seed(raft_dir, m->raft_id, m->cfg.raft_addr, m->restore_img,
                            m->restore_len, m->restore_index, &err);
  if (rc) DC_ERROR("master", "restore: %s", err.text);
  else
    DC_INFO("master", "founding a new cluster from %s at index %" PRIu64,
            m->cfg.restore_path, m->restore_index);
  master_restore_free(m);
  return rc;
}

void master_restore_free(struct dc_master *m) {
  dc_free(m->restore_img);
  m->restore_img = NULL;
  m->restore_len = 0;
}
