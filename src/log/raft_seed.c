/* SPDX-License-Identifier: Apache-2.0
 * Founding a cluster from a backup. c-raft 0.15 can bootstrap only an empty
 * log (its first entry, the configuration, takes index 1), while a restored
 * state has already applied entries up to its index N: new entries must be
 * numbered from N + 1, or the FSM would skip them as already applied. So
 * the image is stored the way a follower stores a snapshot it is sent:
 * through raft's own I/O (term 1, a configuration of this server alone, the
 * snapshot at index N, no entries), on a private loop before the server
 * starts. raft_start then loads it like any snapshot: the FSM restores it
 * and the log goes on at N + 1. */
#include <string.h>

#include "log/raft_int.h"

struct seed {
  bool done;
  int status;
};

static void put_cb(struct raft_io_snapshot_put *req, int status) {
  struct seed *s = req->data;
  s->done = true;
  s->status = status;
}

static void io_closed(struct raft_io *io) { (void)io; }

int dc_log_raft_seed(const char *dir, uint64_t id, const char *address,
                     const uint8_t *image, size_t len, uint64_t index,
                     struct dc_errmsg *err) {
  if (!id || !address || !*address || !index || !len) {
    dc_errmsg_set(err, "seed: needs an id, an address and a non-empty image");
    return DC_EINVAL;
  }
  if (dc_mkdir_p(dir, 0700)) {
    dc_errmsg_set(err, "cannot create %s", dir);
    return DC_EIO;
  }
  if (rl_dir_used(dir)) {
    dc_errmsg_set(err, "%s already holds a raft log: restore founds a new "
                  "cluster in an empty data dir", dir);
    return DC_EEXISTS;
  }
  uv_loop_t loop;
  if (uv_loop_init(&loop)) return DC_ENOMEM;
  struct raft_uv_transport tr;
  struct raft_io io;
  memset(&tr, 0, sizeof tr);
  memset(&io, 0, sizeof io);
  int rc = DC_OK;
  int rv = raft_uv_tcp_init(&tr, &loop);
  if (rv) {
    uv_loop_close(&loop);
    dc_errmsg_set(err, "seed: raft transport: %s", raft_strerror(rv));
    return DC_EIO;
  }
  rv = raft_uv_init(&io, &loop, dir, &tr);
  if (rv) {
    raft_uv_tcp_close(&tr);
    uv_loop_close(&loop);
    dc_errmsg_set(err, "seed: raft I/O: %s", raft_strerror(rv));
    return DC_EIO;
  }
  /* No compression: the snapshot written here is read back at once. */
  raft_uv_set_snapshot_compression(&io, false);
  struct raft_configuration conf;
  raft_configuration_init(&conf);
  rv = io.init(&io, id, address);
  if (!rv) rv = raft_configuration_add(&conf, id, address, RAFT_VOTER);
  /* Term 1 with no vote: what bootstrapping records, minus the entry. */
  if (!rv) rv = io.set_term(&io, 1);
  struct seed s = {0};
  if (!rv) {
    struct raft_buffer buf = {.base = (void *)image, .len = len};
    struct raft_snapshot snap = {.term = 1,
                                 .index = index,
                                 .configuration = conf,
                                 .configuration_index = index,
                                 .bufs = &buf,
                                 .n_bufs = 1};
    struct raft_io_snapshot_put req = {.data = &s};
    /* trailing != 0: a plain store, not an install (which needs a loaded
     * log to truncate); there is nothing to keep or truncate. */
    rv = io.snapshot_put(&io, 1, &req, &snap, put_cb);
    while (!rv && !s.done && uv_run(&loop, UV_RUN_ONCE)) {
    }
    if (!rv && (!s.done || s.status)) {
      dc_errmsg_set(err, "seed: storing the snapshot: %s",
                    s.done ? raft_strerror(s.status) : "did not finish");
      rc = DC_EIO;
    }
  }
  if (rv) {
    dc_errmsg_set(err, "seed: %s", io.errmsg[0] ? io.errmsg : raft_strerror(rv));
    rc = rl_err(rv) == DC_ENOMEM ? DC_ENOMEM : DC_EIO;
  }
  raft_configuration_close(&conf);
  io.close(&io, io_closed);
  uv_run(&loop, UV_RUN_DEFAULT);
  raft_uv_close(&io);
  raft_uv_tcp_close(&tr);
  uv_run(&loop, UV_RUN_DEFAULT);
  if (uv_loop_close(&loop)) DC_WARN("log", "seed: loop not closed cleanly");
  if (!rc)
    DC_INFO("log", "raft seeded from a backup dir=%s index=%llu bytes=%zu", dir,
            (unsigned long long)index, len);
  return rc;
}
