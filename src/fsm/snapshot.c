/* SPDX-License-Identifier: Apache-2.0
 * Whole-state images and state hashes: what the replicated log needs to
 * compact itself (a snapshot is a consistent copy of the SQLite state) and to
 * prove that replicas agree (a hash of every table's rows in a fixed order).
 */
#include <sodium.h>
#include <stdlib.h>

#include "fsm/fsm_int.h"

/* Bytes 18 and 19 of a database header are the read and write format
 * versions: 2 means WAL. An in-memory copy cannot be in WAL mode, so the
 * image is marked legacy before it is deserialized (the file it is copied
 * into keeps its own journal mode). */
#define HDR_READ_VERSION 18
#define HDR_WRITE_VERSION 19

int dc_fsm_snapshot(struct dc_fsm *f, uint8_t **out, size_t *len,
                    struct dc_errmsg *err) {
  sqlite3_int64 sz = 0;
  /* Reads every page through the pager inside one read transaction, so the
   * image is consistent and includes what is still in the WAL. */
  unsigned char *img = sqlite3_serialize(f->db, "main", &sz, 0);
  if (!img) {
    dc_errmsg_set(err, "serialize: %s", sqlite3_errmsg(f->db));
    return DC_EDB;
  }
  *out = img;
  *len = (size_t)sz;
  return DC_OK;
}

void dc_fsm_snapshot_free(uint8_t *image) { sqlite3_free(image); }

size_t dc_fsm_image_size(struct dc_fsm *f) {
  sqlite3_stmt *s = NULL;
  size_t out = 0;
  if (sqlite3_prepare_v2(f->db, "SELECT page_count * page_size FROM "
                         "pragma_page_count(), pragma_page_size()", -1, &s,
                         NULL) == SQLITE_OK &&
      sqlite3_step(s) == SQLITE_ROW)
    out = (size_t)sqlite3_column_int64(s, 0);
  sqlite3_finalize(s);
  return out;
}

int dc_fsm_snapshot_into(struct dc_fsm *f, uint8_t *buf, size_t cap, size_t *len,
                         struct dc_errmsg *err) {
  sqlite3 *mem = NULL;
  if (sqlite3_open_v2(":memory:", &mem, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
                      NULL) != SQLITE_OK) {
    sqlite3_close(mem);
    dc_errmsg_set(err, "snapshot: cannot open a memory database");
    return DC_ENOMEM;
  }
  /* An empty database living in buf, which may grow up to cap and no
   * further (no RESIZEABLE), and which SQLite never frees (no FREEONCLOSE):
   * the pages are written straight into memory that is already faulted. */
  int rc = DC_OK;
  if (sqlite3_deserialize(mem, "main", buf, 0, (sqlite3_int64)cap, 0) != SQLITE_OK) {
    dc_errmsg_set(err, "snapshot: %s", sqlite3_errmsg(mem));
    sqlite3_close(mem);
    return DC_EDB;
  }
  /* No journal to keep: a failed copy is thrown away whole. */
  sqlite3_exec(mem, "PRAGMA main.journal_mode=OFF", NULL, NULL, NULL);
  /* The backup API reads the source inside one read transaction (the image
   * is consistent, WAL included). */
  sqlite3_backup *b = sqlite3_backup_init(mem, "main", f->db, "main");
  if (!b) {
    dc_errmsg_set(err, "snapshot: backup: %s", sqlite3_errmsg(mem));
    sqlite3_close(mem);
    return DC_EDB;
  }
  int step = sqlite3_backup_step(b, -1);
  int fin = sqlite3_backup_finish(b);
  if (step == SQLITE_FULL || fin == SQLITE_FULL) {
    rc = DC_ETOOBIG; /* the state outgrew buf */
  } else if (step != SQLITE_DONE || fin != SQLITE_OK) {
    dc_errmsg_set(err, "snapshot: copy: %s", sqlite3_errmsg(mem));
    rc = DC_EDB;
  }
  sqlite3_int64 sz = 0;
  if (!rc) {
    unsigned char *p = sqlite3_serialize(mem, "main", &sz, SQLITE_SERIALIZE_NOCOPY);
    if (p != buf || sz <= 0 || (size_t)sz > cap) {
      dc_errmsg_set(err, "snapshot: the image is not where it was written");
      rc = DC_EDB;
    }
  }
  sqlite3_close(mem);
  if (!rc) *len = (size_t)sz;
  else if (rc == DC_ETOOBIG) dc_errmsg_set(err, "snapshot: the state outgrew the buffer");
  return rc;
}

int fsm_image_open(const uint8_t *image, size_t len, sqlite3 **out,
                      struct dc_errmsg *err) {
  if (len < 100 || memcmp(image, "SQLite format 3", 16) != 0) {
    dc_errmsg_set(err, "not a database image (%zu bytes)", len);
    return DC_EPROTO;
  }
  sqlite3 *mem = NULL;
  if (sqlite3_open_v2(":memory:", &mem, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
                      NULL) != SQLITE_OK) {
    sqlite3_close(mem);
    dc_errmsg_set(err, "cannot open a memory database");
    return DC_ENOMEM;
  }
  unsigned char *copy = sqlite3_malloc64(len);
  if (!copy) {
    sqlite3_close(mem);
    return DC_ENOMEM;
  }
  memcpy(copy, image, len);
  copy[HDR_READ_VERSION] = copy[HDR_WRITE_VERSION] = 1;
  if (sqlite3_deserialize(mem, "main", copy, (sqlite3_int64)len, (sqlite3_int64)len,
                          SQLITE_DESERIALIZE_FREEONCLOSE |
                              SQLITE_DESERIALIZE_READONLY) != SQLITE_OK) {
    dc_errmsg_set(err, "image rejected: %s", sqlite3_errmsg(mem));
    sqlite3_close(mem);
    return DC_EPROTO;
  }
  *out = mem;
  return DC_OK;
}

int dc_fsm_image_applied_index(const uint8_t *image, size_t len,
                               uint64_t *out) {
  sqlite3 *mem;
  struct dc_errmsg err = {{0}};
  int64_t v = 0;
  if (fsm_image_open(image, len, &mem, &err)) return DC_EPROTO;
  int rc = fsm_meta_read(mem, "applied_index", &v);
  sqlite3_close(mem);
  *out = (uint64_t)v;
  return rc ? DC_EPROTO : DC_OK;
}

int fsm_page_size(sqlite3 *db) {
  sqlite3_stmt *s = NULL;
  int out = 0;
  if (sqlite3_prepare_v2(db, "PRAGMA main.page_size", -1, &s, NULL) == SQLITE_OK &&
      sqlite3_step(s) == SQLITE_ROW)
    out = sqlite3_column_int(s, 0);
  sqlite3_finalize(s);
  return out;
}

/* A WAL database cannot change its page size, so the backup API refuses an
 * image whose pages are another size (a backup rewritten with VACUUM, or
 * taken on another build): say so instead of "readonly database". */
static int match_page_size(sqlite3 *live, sqlite3 **mem, struct dc_errmsg *err) {
  int want = fsm_page_size(live), have = fsm_page_size(*mem);
  if (!want || !have) {
    dc_errmsg_set(err, "restore: cannot read the page sizes");
    return DC_EDB;
  }
  if (want != have) {
    dc_errmsg_set(err, "restore: the image has pages of %d bytes, the state %d", have,
                  want);
    return DC_EPROTO;
  }
  return DC_OK;
}

int dc_fsm_restore(struct dc_fsm *f, const uint8_t *image, size_t len,
                   struct dc_errmsg *err) {
  sqlite3 *mem;
  int rc = fsm_image_open(image, len, &mem, err);
  if (rc) return rc;
  int64_t applied = 0, schema = 0;
  if (fsm_meta_read(mem, "applied_index", &applied) ||
      fsm_meta_read(mem, "schema_version", &schema)) {
    dc_errmsg_set(err, "restore: image has no readable meta table");
    sqlite3_close(mem);
    return DC_EPROTO;
  }
  if ((rc = match_page_size(f->db, &mem, err))) {
    sqlite3_close(mem);
    return rc;
  }
  /* The backup API copies page by page into the live file under its own
   * write transaction: the FSM's connection keeps its prepared statements
   * (they re-prepare on the schema change) and readers on other
   * connections simply see the new state at their next read transaction. */
  sqlite3_backup *b = sqlite3_backup_init(f->db, "main", mem, "main");
  if (!b) {
    dc_errmsg_set(err, "restore: backup: %s", sqlite3_errmsg(f->db));
    sqlite3_close(mem);
    return DC_EDB;
  }
  int step = sqlite3_backup_step(b, -1);
  if (sqlite3_backup_finish(b) != SQLITE_OK || step != SQLITE_DONE) {
    dc_errmsg_set(err, "restore: copy failed: %s", sqlite3_errmsg(f->db));
    rc = DC_EDB;
  }
  sqlite3_close(mem);
  if (rc) return rc;
  f->applied_index = (uint64_t)applied;
  f->schema_version = (uint32_t)schema;
  return DC_OK;
}

static void hash_value(crypto_generichash_state *h, sqlite3_stmt *s, int i) {
  uint8_t t = (uint8_t)sqlite3_column_type(s, i);
  crypto_generichash_update(h, &t, 1);
  if (t == SQLITE_INTEGER) {
    uint64_t v = (uint64_t)sqlite3_column_int64(s, i);
    uint8_t be[8];
    for (int k = 0; k < 8; k++) be[k] = (uint8_t)(v >> (56 - 8 * k));
    crypto_generichash_update(h, be, 8);
  } else if (t != SQLITE_NULL) {
    /* REAL is hashed through its text form: the same on every machine
     * SQLite runs on, unlike the in-memory double. */
    const uint8_t *p = t == SQLITE_BLOB ? sqlite3_column_blob(s, i)
                                        : sqlite3_column_text(s, i);
    uint32_t n = (uint32_t)sqlite3_column_bytes(s, i);
    uint8_t be[4] = {(uint8_t)(n >> 24), (uint8_t)(n >> 16), (uint8_t)(n >> 8),
                     (uint8_t)n};
    crypto_generichash_update(h, be, 4);
    if (n) crypto_generichash_update(h, p, n);
  }
}

/* Hashes one table's rows in a total order: by every column, so the order
 * does not depend on rowids or on how the table was filled. */
static int hash_table(sqlite3 *db, const char *name,
                      crypto_generichash_state *h) {
  char sql[512];
  sqlite3_stmt *s = NULL;
  snprintf(sql, sizeof sql, "SELECT * FROM \"%s\" LIMIT 0", name);
  if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK) return DC_EDB;
  int ncol = sqlite3_column_count(s);
  sqlite3_finalize(s);
  struct dc_buf q = {.max = 1 << 16};
  int rc = dc_buf_printf(&q, "SELECT * FROM \"%s\" ORDER BY ", name);
  for (int i = 1; !rc && i <= ncol; i++)
    rc = dc_buf_printf(&q, "%s%d", i > 1 ? "," : "", i);
  if (!rc) rc = dc_buf_cstr(&q);
  if (rc || sqlite3_prepare_v2(db, (const char *)q.data, -1, &s, NULL) !=
                SQLITE_OK) {
    dc_buf_free(&q);
    return DC_EDB;
  }
  dc_buf_free(&q);
  crypto_generichash_update(h, (const uint8_t *)name, strlen(name) + 1);
  int step;
  while ((step = sqlite3_step(s)) == SQLITE_ROW)
    for (int i = 0; i < ncol; i++) hash_value(h, s, i);
  sqlite3_finalize(s);
  return step == SQLITE_DONE ? DC_OK : DC_EDB;
}

int dc_fsm_state_hash(sqlite3 *db, uint8_t out[DC_FSM_HASH_BYTES]) {
  crypto_generichash_state h;
  crypto_generichash_init(&h, NULL, 0, DC_FSM_HASH_BYTES);
  sqlite3_stmt *s = NULL;
  /* Every table, so a new one can never be forgotten; `log` and `meta` are
   * the input and the applied index, not state. */
  if (sqlite3_prepare_v2(db,
                         "SELECT name FROM sqlite_schema WHERE type = 'table'"
                         " AND name NOT LIKE 'sqlite_%' AND name NOT IN"
                         " ('log', 'meta') ORDER BY name",
                         -1, &s, NULL) != SQLITE_OK)
    return DC_EDB;
  int rc = DC_OK, step;
  while (!rc && (step = sqlite3_step(s)) == SQLITE_ROW)
    rc = hash_table(db, (const char *)sqlite3_column_text(s, 0), &h);
  sqlite3_finalize(s);
  if (rc) return rc;
  crypto_generichash_final(&h, out, DC_FSM_HASH_BYTES);
  return DC_OK;
}
