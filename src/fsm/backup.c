/* SPDX-License-Identifier: Apache-2.0
 * Backups: a consistent image of a live state taken from its own read
 * connection (so the writer never waits for it), and the checks an image
 * must pass before anything is restored from it. */
#include <sodium.h>

#include "fsm/fsm_int.h"

/* Tables every state has from schema version 1 on. */
static const char *const required_tables[] = {"meta", "jobs", "tasks", "nodes",
                                              "masters"};

static uint32_t be16(const uint8_t *p) { return (uint32_t)p[0] << 8 | p[1]; }
static uint32_t be32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* The header's own idea of the file's size: a file cut short (a copy that
 * stopped, a disk that filled) is told apart from one that is damaged. */
static int check_size(const uint8_t *image, size_t len, uint32_t *page_size,
                      struct dc_errmsg *err) {
  if (len < 100 || memcmp(image, "SQLite format 3", 16) != 0) {
    dc_errmsg_set(err, "not a DeepCloud state image: no SQLite header (%zu bytes)",
                  len);
    return DC_EPROTO;
  }
  uint32_t page = be16(image + 16);
  if (page == 1) page = 65536;
  uint32_t pages = be32(image + 28);
  /* The page count is valid only when its "version valid for" matches the
   * change counter; every image SQLite writes since 3.7 has both. */
  if (page < 512 || (page & (page - 1)) || be32(image + 92) != be32(image + 24) ||
      pages == 0) {
    dc_errmsg_set(err, "not a DeepCloud state image: bad SQLite header");
    return DC_EPROTO;
  }
  if ((uint64_t)page * pages != len) {
    dc_errmsg_set(err, "the image is %s: %zu bytes where its header says %llu",
                  (uint64_t)page * pages > len ? "truncated" : "padded", len,
                  (unsigned long long)page * pages);
    return DC_EPROTO;
  }
  *page_size = page;
  return DC_OK;
}

static int check_db(sqlite3 *db, struct dc_fsm_image_info *info,
                    struct dc_errmsg *err) {
  sqlite3_stmt *s = NULL;
  /* Every page, b-tree, free list and index entry against its table. What
   * no structural check can see, a changed value inside a row, shows as a
   * different state hash from the one printed when the backup was taken. */
  if (sqlite3_prepare_v2(db, "PRAGMA integrity_check(1)", -1, &s, NULL) != SQLITE_OK ||
      sqlite3_step(s) != SQLITE_ROW ||
      strcmp((const char *)sqlite3_column_text(s, 0), "ok") != 0) {
    dc_errmsg_set(err, "the image is corrupt: %s",
                  s && sqlite3_column_text(s, 0)
                      ? (const char *)sqlite3_column_text(s, 0)
                      : sqlite3_errmsg(db));
    sqlite3_finalize(s);
    return DC_EPROTO;
  }
  sqlite3_finalize(s);
  for (size_t i = 0; i < DC_ARRAY_LEN(required_tables); i++) {
    s = NULL;
    bool found = false;
    if (sqlite3_prepare_v2(db,
                           "SELECT 1 FROM sqlite_schema WHERE type = 'table' AND "
                           "name = ?1",
                           -1, &s, NULL) == SQLITE_OK) {
      sqlite3_bind_text(s, 1, required_tables[i], -1, SQLITE_STATIC);
      found = sqlite3_step(s) == SQLITE_ROW;
    }
    sqlite3_finalize(s);
    if (!found) {
      dc_errmsg_set(err, "not a DeepCloud state image: no table %s",
                    required_tables[i]);
      return DC_EPROTO;
    }
  }
  int64_t applied = 0, schema = 0;
  if (fsm_meta_read(db, "applied_index", &applied) ||
      fsm_meta_read(db, "schema_version", &schema)) {
    dc_errmsg_set(err, "not a DeepCloud state image: unreadable meta table");
    return DC_EPROTO;
  }
  if (applied <= 0) {
    dc_errmsg_set(err, "the image holds no applied command");
    return DC_EPROTO;
  }
  if (schema < 1 || schema > DC_FSM_SCHEMA_VERSION) {
    dc_errmsg_set(err, "the image has schema version %lld; this build knows 1 to %d",
                  (long long)schema, DC_FSM_SCHEMA_VERSION);
    return DC_EVERSION;
  }
  info->applied_index = (uint64_t)applied;
  info->schema_version = (uint32_t)schema;
  if (dc_fsm_state_hash(db, info->hash)) {
    dc_errmsg_set(err, "cannot hash the image: %s", sqlite3_errmsg(db));
    return DC_EPROTO;
  }
  return DC_OK;
}

int dc_fsm_image_check(const uint8_t *image, size_t len,
                       struct dc_fsm_image_info *info, struct dc_errmsg *err) {
  memset(info, 0, sizeof *info);
  uint32_t have = 0;
  int rc = check_size(image, len, &have, err);
  if (rc) return rc;
  /* A state uses SQLite's default page size (what a new database gets),
   * and a live WAL database cannot take pages of another size. */
  sqlite3 *mem = NULL;
  int want = 0;
  if (sqlite3_open_v2(":memory:", &mem, SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK)
    want = fsm_page_size(mem);
  sqlite3_close(mem);
  if (!want || (uint32_t)want != have) {
    dc_errmsg_set(err, "the image has pages of %u bytes where a DeepCloud state has "
                  "%d (was it rewritten, e.g. by VACUUM with another page_size?)",
                  have, want);
    return DC_EPROTO;
  }
  if ((rc = fsm_image_open(image, len, &mem, err))) return rc;
  rc = check_db(mem, info, err);
  sqlite3_close(mem);
  return rc;
}

int dc_fsm_backup(const char *path, uint8_t **out, size_t *len,
                  struct dc_fsm_image_info *info, struct dc_errmsg *err) {
  sqlite3 *db = NULL;
  memset(info, 0, sizeof *info);
  if (dc_fsm_open_reader(path, &db)) {
    dc_errmsg_set(err, "cannot open %s", path);
    return DC_EDB;
  }
  /* Reading pages through a map costs no system call per page. */
  sqlite3_exec(db, "PRAGMA mmap_size=1073741824", NULL, NULL, NULL);
  int64_t applied = 0, schema = 0;
  int rc = DC_OK;
  /* One read transaction around the meta read, the image and its hash:
   * all three see the same commit, whatever the writer does meanwhile. */
  if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK ||
      fsm_meta_read(db, "applied_index", &applied) ||
      fsm_meta_read(db, "schema_version", &schema)) {
    dc_errmsg_set(err, "backup: %s", sqlite3_errmsg(db));
    rc = DC_EDB;
  }
  sqlite3_int64 sz = 0;
  unsigned char *img = rc ? NULL : sqlite3_serialize(db, "main", &sz, 0);
  if (!rc && !img) {
    dc_errmsg_set(err, "backup: serialize: %s", sqlite3_errmsg(db));
    rc = DC_EDB;
  }
  if (!rc && dc_fsm_state_hash(db, info->hash)) {
    dc_errmsg_set(err, "backup: hash: %s", sqlite3_errmsg(db));
    rc = DC_EDB;
  }
  sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
  sqlite3_close(db);
  if (rc) {
    sqlite3_free(img);
    return rc;
  }
  info->applied_index = (uint64_t)applied;
  info->schema_version = (uint32_t)schema;
  *out = img;
  *len = (size_t)sz;
  return DC_OK;
}
