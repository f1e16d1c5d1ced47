/* SPDX-License-Identifier: Apache-2.0
 * The `raft` log back end: c-raft replicates the entries; our FSM applies
 * them. c-raft hands committed entries to fsm->apply one at a time and gives
 * no index, so the index is raft_last_applied() + 1 (c-raft advances it
 * after apply returns), and the entries are buffered and applied together
 * at the end of the loop turn: one SQLite transaction per turn, as in the
 * `local` back end. Snapshots and barriers flush the buffer first, so what
 * c-raft believes applied is always what SQLite holds when it matters. */
#include <malloc.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log/raft_int.h"
#include "proto/proto.h"

#define RL_APPLY_MAX 1024 /* buffers per raft_apply */

/* Group commit: while one raft_apply request is replicating, the proposals
 * that arrive gather into the next one. Handing c-raft every turn's few
 * proposals as their own request cost more per command (c-raft scans its
 * pending requests for every applied entry, and each request is its own
 * AppendEntries round and log write): measured 50 against 36 us of CPU per
 * command, and ~11 against ~250 commands per request, at 256 in flight. A
 * lone proposal still goes out at once, so latency one at a time is as
 * before. */
#define RL_APPLYING_MAX 1

/* c-raft's TCP decoder assumes every entry is padded to 8 bytes, but its
 * encoder sends entries as given (an unpadded entry makes a follower read
 * past its buffer). So each entry is framed: u32 length (little endian),
 * u32 zero, the command, zeros up to a multiple of 8. */
#define RL_FRAME_HDR 8

static size_t frame_len(size_t len) {
  return RL_FRAME_HDR + ((len + 7) & ~(size_t)7);
}

static void frame(uint8_t *out, const uint8_t *cmd, size_t len) {
  size_t total = frame_len(len);
  memset(out, 0, total);
  for (int i = 0; i < 4; i++) out[i] = (uint8_t)(len >> (8 * i));
  memcpy(out + RL_FRAME_HDR, cmd, len);
}

/* The command inside a framed entry; a malformed frame yields an empty
 * command, which the FSM rejects like any undecodable bytes (the same way
 * on every replica). */
static void unframe(const struct raft_buffer *buf, const uint8_t **cmd,
                    size_t *len) {
  const uint8_t *p = buf->base;
  *cmd = p;
  *len = 0;
  if (buf->len < RL_FRAME_HDR) return;
  size_t n = (size_t)p[0] | (size_t)p[1] << 8 | (size_t)p[2] << 16 |
             (size_t)p[3] << 24;
  if (n > buf->len - RL_FRAME_HDR) return;
  *cmd = p + RL_FRAME_HDR;
  *len = n;
}

int rl_err(int rv) {
  switch (rv) {
    case 0: return DC_OK;
    case RAFT_NOMEM: return DC_ENOMEM;
    case RAFT_NOTLEADER:
    case RAFT_LEADERSHIPLOST: return DC_ENOTLEADER;
    case RAFT_SHUTDOWN:
    case RAFT_CANCELED: return DC_ECANCELED;
    case RAFT_BUSY:
    case RAFT_CANTCHANGE: return DC_EAGAIN;
    case RAFT_TOOBIG: return DC_ETOOBIG;
    case RAFT_DUPLICATEID:
    case RAFT_DUPLICATEADDRESS: return DC_EEXISTS;
    case RAFT_BADID: return DC_ENOTFOUND;
    case RAFT_IOERR:
    case RAFT_NOSPACE:
    case RAFT_CORRUPT: return DC_EIO;
    default: return DC_EINVAL;
  }
}

/* ---- raft's heap is SQLite's ------------------------------------------------
 * A snapshot is SQLite's serialized image, which c-raft frees with
 * raft_free once it is written: sharing one allocator lets the image be
 * handed over as it is, instead of copied into a second buffer (for a large
 * state the copy's page faults were half of the pause). */

static void *heap_malloc(void *d, size_t n) {
  (void)d;
  return sqlite3_malloc64(n ? n : 1);
}
static void heap_free(void *d, void *p) {
  (void)d;
  sqlite3_free(p);
}
static void *heap_calloc(void *d, size_t nmemb, size_t size) {
  (void)d;
  if (size && nmemb > SIZE_MAX / size) return NULL;
  void *p = sqlite3_malloc64(nmemb * size ? nmemb * size : 1);
  if (p) memset(p, 0, nmemb * size);
  return p;
}
static void *heap_realloc(void *d, void *p, size_t n) {
  (void)d;
  return sqlite3_realloc64(p, n ? n : 1);
}
static void *heap_aligned_alloc(void *d, size_t align, size_t n) {
  (void)d;
  return aligned_alloc(align, (n + align - 1) / align * align);
}
static void heap_aligned_free(void *d, size_t align, void *p) {
  (void)d;
  (void)align;
  free(p);
}

static struct raft_heap rl_heap = {
    .malloc = heap_malloc, .free = heap_free, .calloc = heap_calloc,
    .realloc = heap_realloc, .aligned_alloc = heap_aligned_alloc,
    .aligned_free = heap_aligned_free};

/* ---- waiters: proposal id → callback ------------------------------------ */

static size_t slot_of(uint64_t pid, size_t cap) {
  return (size_t)((pid * 0x9E3779B97F4A7C15ull) >> 17) & (cap - 1);
}

static int waiter_put(struct rlog *rl, uint64_t pid, dc_log_propose_cb cb,
                      void *ud) {
  if ((rl->wn + 1) * 2 > rl->wcap) {
    size_t cap = rl->wcap ? rl->wcap * 2 : 256;
    struct rl_waiter *w = dc_calloc(cap, sizeof *w);
    if (!w) return DC_ENOMEM;
    for (size_t i = 0; i < rl->wcap; i++) {
      if (!rl->w[i].pid) continue;
      size_t j = slot_of(rl->w[i].pid, cap);
      while (w[j].pid) j = (j + 1) & (cap - 1);
      w[j] = rl->w[i];
    }
    dc_free(rl->w);
    rl->w = w;
    rl->wcap = cap;
  }
  size_t j = slot_of(pid, rl->wcap);
  while (rl->w[j].pid) j = (j + 1) & (rl->wcap - 1);
  rl->w[j] = (struct rl_waiter){pid, cb, ud};
  rl->wn++;
  return DC_OK;
}

/* Removes and returns the waiter of pid, if any (backward-shift delete keeps
 * probe chains intact). */
static bool waiter_take(struct rlog *rl, uint64_t pid, struct rl_waiter *out) {
  if (!rl->wcap || !pid) return false;
  size_t mask = rl->wcap - 1, j = slot_of(pid, rl->wcap);
  while (rl->w[j].pid && rl->w[j].pid != pid) j = (j + 1) & mask;
  if (!rl->w[j].pid) return false;
  *out = rl->w[j];
  rl->w[j].pid = 0;
  rl->wn--;
  for (size_t k = (j + 1) & mask; rl->w[k].pid; k = (k + 1) & mask) {
    size_t home = slot_of(rl->w[k].pid, rl->wcap);
    /* Move k back into the hole if its home is not in (j, k]. */
    if ((k > j && (home <= j || home > k)) || (k < j && home <= j && home > k)) {
      rl->w[j] = rl->w[k];
      rl->w[k].pid = 0;
      j = k;
    }
  }
  return true;
}

static void answer(struct rlog *rl, uint64_t pid, int code, const char *msg) {
  struct rl_waiter w;
  if (!waiter_take(rl, pid, &w)) return;
  struct dc_fsm_result r = {.proposal_id = pid, .code = code};
  snprintf(r.message, sizeof r.message, "%s", msg);
  if (w.cb) w.cb(w.ud, &r);
}

/* ---- applying ------------------------------------------------------------ */

void rl_flush(struct rlog *rl) {
  while (rl->npend > 0) {
    size_t n = DC_MIN(rl->npend, (size_t)DC_LOG_LOCAL_BATCH_MAX);
    struct dc_fsm_result *res = dc_calloc(n, sizeof *res);
    if (!res) {
      /* Committed entries cannot be dropped; try again next turn. */
      rl_kick_soon(rl);
      return;
    }
    struct dc_errmsg err = {{0}};
    if (dc_fsm_apply_batch(rl->fsm, rl->pend, n, res, &err)) {
      DC_ERROR("log", "backend=raft fatal=\"%s\"", err.text);
      if (rl->base.hooks.on_fatal) rl->base.hooks.on_fatal(rl->base.hooks.ud, err.text);
      exit(3);
    }
    rl->stats.flushes++;
    rl->stats.flushed_entries += n;
    for (size_t i = 0; i < n; i++) dc_free((void *)rl->pend[i].data);
    memmove(rl->pend, rl->pend + n, (rl->npend - n) * sizeof *rl->pend);
    rl->npend -= n;
    for (size_t i = 0; i < n; i++) {
      struct rl_waiter w;
      if (waiter_take(rl, res[i].proposal_id, &w) && w.cb) w.cb(w.ud, &res[i]);
    }
    if (rl->base.hooks.on_applied)
      rl->base.hooks.on_applied(rl->base.hooks.ud, res, n);
    dc_free(res);
  }
}

static int fsm_apply(struct raft_fsm *fsm, const struct raft_buffer *buf,
                     void **result) {
  struct rlog *rl = fsm->data;
  *result = NULL;
  if (rl->npend == rl->cappend) {
    size_t cap = rl->cappend ? rl->cappend * 2 : 256;
    struct dc_fsm_entry *p = dc_realloc(rl->pend, cap * sizeof *p);
    if (!p) return RAFT_NOMEM;
    rl->pend = p;
    rl->cappend = cap;
  }
  const uint8_t *cmd;
  size_t len;
  unframe(buf, &cmd, &len);
  uint8_t *copy = dc_malloc(len ? len : 1);
  if (!copy) return RAFT_NOMEM;
  memcpy(copy, cmd, len);
  rl->pend[rl->npend++] = (struct dc_fsm_entry){
      raft_last_applied(&rl->raft) + 1, copy, len};
  rl_kick_soon(rl);
  return 0;
}

static int fsm_snapshot(struct raft_fsm *fsm, struct raft_buffer *bufs[],
                        unsigned *n_bufs) {
  struct rlog *rl = fsm->data;
  rl_flush(rl);
  uint64_t t0 = uv_hrtime();
  uint8_t *img = NULL;
  size_t len = 0, cap = 0;
  struct dc_errmsg err = {{0}};
  bool warm = false;
  uint8_t *buf = rl_warm_take(rl, &cap);
  if (buf) {
    int rc = dc_fsm_snapshot_into(rl->fsm, buf, cap, &len, &err);
    if (rc == DC_OK) {
      img = buf;
      warm = true;
    } else {
      /* Outgrown (or failed): the plain way below; a larger one follows. */
      if (rc != DC_ETOOBIG) DC_WARN("log", "warm snapshot failed: %s", err.text);
      dc_fsm_snapshot_free(buf);
    }
  }
  if (!img && dc_fsm_snapshot(rl->fsm, &img, &len, &err)) {
    DC_ERROR("log", "snapshot failed: %s", err.text);
    rl_warm_check(rl);
    return RAFT_IOERR;
  }
  struct raft_buffer *b = raft_malloc(sizeof *b);
  if (!b) {
    dc_fsm_snapshot_free(img);
    rl_warm_check(rl);
    return RAFT_NOMEM;
  }
  /* Handed over as it is: raft's heap is SQLite's (rl_heap). */
  b->base = img;
  b->len = len;
  *bufs = b;
  *n_bufs = 1;
  double ms = (double)(uv_hrtime() - t0) / 1e6;
  rl->stats.snapshots++;
  if (warm) rl->stats.warm_snapshots++;
  rl->stats.last_snapshot_bytes = len;
  rl->stats.last_snapshot_ms = ms;
  if (ms > rl->stats.max_snapshot_ms) rl->stats.max_snapshot_ms = ms;
  DC_INFO("log", "snapshot index=%llu bytes=%zu ms=%.2f warm=%d",
          (unsigned long long)dc_fsm_applied_index(rl->fsm), len, ms, warm);
  /* The next one's buffer is prepared off the loop from now on. */
  rl_warm_check(rl);
  return 0;
}

static int fsm_restore(struct raft_fsm *fsm, struct raft_buffer *buf) {
  struct rlog *rl = fsm->data;
  rl_flush(rl);
  uint64_t at = 0;
  int rc = dc_fsm_image_applied_index(buf->base, buf->len, &at);
  if (rc) {
    DC_ERROR("log", "restore: snapshot is not a state image");
    raft_free(buf->base);
    return RAFT_CORRUPT;
  }
  if (at <= dc_fsm_applied_index(rl->fsm)) {
    /* c-raft restores its last snapshot at every start. Our state is
     * durable and already past it (it is a prefix of what we applied), so
     * copying it back would only cost time; the entries c-raft replays
     * after it are skipped by the stored applied index. */
    DC_INFO("log", "restore skipped: state at %llu is past the snapshot at %llu",
            (unsigned long long)dc_fsm_applied_index(rl->fsm),
            (unsigned long long)at);
    raft_free(buf->base);
    return 0;
  }
  struct dc_errmsg err = {{0}};
  uint64_t t0 = uv_hrtime();
  rc = dc_fsm_restore(rl->fsm, buf->base, buf->len, &err);
  raft_free(buf->base);
  if (rc) {
    DC_ERROR("log", "restore failed: %s", err.text);
    return RAFT_IOERR;
  }
  rl->stats.restores++;
  DC_INFO("log", "restored snapshot index=%llu bytes=%zu ms=%.2f",
          (unsigned long long)at, buf->len, (double)(uv_hrtime() - t0) / 1e6);
  return 0;
}

/* ---- proposing ------------------------------------------------------------ */

static void apply_cb(struct raft_apply *req, int status, void *result) {
  (void)result;
  struct rl_apply *a = req->data;
  struct rlog *rl = a->rl;
  rl->applying--;
  if (status != 0) {
    /* Leadership lost or shutting down: the entries may still commit under
     * the next leader. Their proposers hear now; if an entry does commit,
     * it is applied like any other, just with nobody waiting. */
    const char *msg = status == RAFT_SHUTDOWN
                          ? "master stopping before commit: the command may "
                            "still commit"
                          : "leadership lost before commit: the command may "
                            "still commit";
    for (unsigned i = 0; i < a->n; i++) answer(rl, a->pids[i], DC_EINDOUBT, msg);
  }
  /* Results go out when the entries reach SQLite (rl_flush), which is
   * after this callback, and the proposals that gathered meanwhile go out
   * as the next request: both this turn. */
  rl_kick_soon(rl);
  dc_free(a);
}

static void submit(struct rlog *rl) {
  while (rl->nout > 0 && rl->applying < RL_APPLYING_MAX) {
    unsigned n = (unsigned)DC_MIN(rl->nout, (size_t)RL_APPLY_MAX);
    struct rl_apply *a = dc_malloc(sizeof *a + n * sizeof a->pids[0]);
    struct raft_buffer *bufs = dc_malloc(n * sizeof *bufs);
    int rv = RAFT_NOMEM;
    if (a && bufs) {
      a->rl = rl;
      a->n = n;
      a->req.data = a;
      for (unsigned i = 0; i < n; i++) {
        bufs[i] = rl->out[i].buf;
        a->pids[i] = rl->out[i].pid;
      }
      rv = raft_apply(&rl->raft, &a->req, bufs, n, apply_cb);
      if (rv == 0) {
        rl->applying++;
        rl->stats.apply_requests++;
        rl->stats.apply_commands += n;
      }
    }
    dc_free(bufs);
    if (rv != 0) {
      /* Not accepted: the buffers are still ours. */
      int code = rl_err(rv);
      for (unsigned i = 0; i < n; i++) {
        raft_free(rl->out[i].buf.base);
        answer(rl, rl->out[i].pid, code == DC_ENOMEM ? DC_ENOMEM : DC_ENOTLEADER,
               raft_errmsg(&rl->raft));
      }
      dc_free(a);
    }
    memmove(rl->out, rl->out + n, (rl->nout - n) * sizeof *rl->out);
    rl->nout -= n;
  }
}

static void kick_cb(uv_timer_t *t) {
  struct rlog *rl = t->data;
  if (!rl->closing) submit(rl);
  rl_flush(rl);
}

/* A follower has nobody waiting on its results: it lets entries gather for
 * a few milliseconds so each SQLite commit carries more of them (commits,
 * not commands, are what cost here). A leader answers at the end of the
 * turn. Reads on a follower lag by at most this much more. */
#define RL_FOLLOWER_BATCH_MS 5

void rl_kick_soon(struct rlog *rl) {
  if (rl->closing || uv_is_active((uv_handle_t *)&rl->kick)) return;
  bool leader = raft_state(&rl->raft) == RAFT_LEADER;
  uv_timer_start(&rl->kick, kick_cb,
                 leader || rl->nout || rl->wn ? 0 : RL_FOLLOWER_BATCH_MS, 0);
}

static int raft_propose(struct dc_log *l, const uint8_t *cmd, size_t len,
                        dc_log_propose_cb cb, void *ud) {
  struct rlog *rl = (struct rlog *)l;
  if (rl->closing) return DC_ECLOSED;
  if (raft_state(&rl->raft) != RAFT_LEADER) return DC_ENOTLEADER;
  if (len > DC_LOG_ENTRY_MAX) return DC_ETOOBIG;
  uint16_t type;
  uint64_t pid;
  if (dc_cmd_peek(cmd, len, &type, &pid) || !pid) return DC_EINVAL;
  if (rl->nout == rl->capout) {
    size_t cap = rl->capout ? rl->capout * 2 : 64;
    struct rl_out *o = dc_realloc(rl->out, cap * sizeof *o);
    if (!o) return DC_ENOMEM;
    rl->out = o;
    rl->capout = cap;
  }
  void *copy = raft_malloc(frame_len(len));
  if (!copy) return DC_ENOMEM;
  if (waiter_put(rl, pid, cb, ud)) {
    raft_free(copy);
    return DC_ENOMEM;
  }
  frame(copy, cmd, len);
  rl->out[rl->nout++] = (struct rl_out){{copy, frame_len(len)}, pid};
  rl_kick_soon(rl);
  return DC_OK;
}

/* ---- leadership ------------------------------------------------------------ */

static void lead_barrier_cb(struct raft_barrier *req, int status) {
  struct rlog *rl = req->data;
  rl->barrier_inflight = false;
  if (status != 0 || rl->closing || raft_state(&rl->raft) != RAFT_LEADER) return;
  rl_flush(rl);
  rl->ready = true;
  DC_INFO("log", "leader ready term=%llu applied=%llu",
          (unsigned long long)rl->raft.current_term,
          (unsigned long long)dc_fsm_applied_index(rl->fsm));
  if (rl->base.hooks.on_leader) rl->base.hooks.on_leader(rl->base.hooks.ud, true);
}

static void watch_cb(uv_check_t *h) {
  struct rlog *rl = h->data;
  bool now = raft_state(&rl->raft) == RAFT_LEADER;
  if (now == rl->raft_leader) return;
  rl->raft_leader = now;
  if (now) {
    /* Entries of earlier terms are committed only once an entry of this
     * term is: the barrier is that entry, and when it applies everything
     * before it has too. Only then does the leader act on the state. */
    rl->lead_barrier.rl = rl;
    rl->lead_barrier.req.data = rl;
    if (!rl->barrier_inflight &&
        raft_barrier(&rl->raft, &rl->lead_barrier.req, lead_barrier_cb) == 0)
      rl->barrier_inflight = true;
    DC_INFO("log", "elected leader term=%llu", (unsigned long long)rl->raft.current_term);
  } else {
    bool was_ready = rl->ready;
    rl->ready = false;
    DC_INFO("log", "not leader any more term=%llu",
            (unsigned long long)rl->raft.current_term);
    if (was_ready && rl->base.hooks.on_leader)
      rl->base.hooks.on_leader(rl->base.hooks.ud, false);
  }
}

static bool raft_is_leader(const struct dc_log *l) {
  const struct rlog *rl = (const struct rlog *)l;
  return rl->ready && !rl->closing;
}

static uint64_t raft_applied(const struct dc_log *l) {
  return dc_fsm_applied_index(((const struct rlog *)l)->fsm);
}

static bool raft_leader_of(const struct dc_log *l, uint64_t *id,
                           const char **address) {
  struct rlog *rl = (struct rlog *)l;
  raft_id lid = 0;
  const char *addr = NULL;
  raft_leader(&rl->raft, &lid, &addr);
  *id = lid;
  *address = addr;
  return lid != 0;
}

static void user_barrier_cb(struct raft_barrier *req, int status) {
  struct rl_barrier *b = req->data;
  if (status == 0) rl_flush(b->rl);
  b->cb(b->ud, rl_err(status));
  dc_free(b);
}

static int raft_barrier_op(struct dc_log *l, void (*cb)(void *, int), void *ud) {
  struct rlog *rl = (struct rlog *)l;
  if (rl->closing || !rl->ready) return DC_ENOTLEADER;
  struct rl_barrier *b = dc_calloc(1, sizeof *b);
  if (!b) return DC_ENOMEM;
  *b = (struct rl_barrier){.rl = rl, .cb = cb, .ud = ud};
  b->req.data = b;
  int rv = raft_barrier(&rl->raft, &b->req, user_barrier_cb);
  if (rv) {
    dc_free(b);
    return rl_err(rv);
  }
  return DC_OK;
}

/* ---- closing ------------------------------------------------------------- */

void rl_free_when_idle(struct rlog *rl) {
  if (rl->warm_busy) {
    rl->freed_pending = true; /* the worker's callback comes back here */
    return;
  }
  void (*done)(void *) = rl->done;
  void *ud = rl->done_ud;
  dc_fsm_snapshot_free(rl->warm);
  dc_fsm_snapshot_free(rl->warm_old);
  dc_free(rl->out);
  dc_free(rl->w);
  dc_free(rl->pend);
  dc_free(rl);
  if (done) done(ud);
}

static void handle_closed(uv_handle_t *h) {
  struct rlog *rl = h->data;
  if (--rl->handles_open > 0) return;
  rl_free_when_idle(rl);
}

static void raft_closed(struct raft *r) {
  struct rlog *rl = r->data;
  /* Whatever was committed and handed to us is applied before we go. */
  rl_flush(rl);
  for (size_t i = 0; i < rl->wcap; i++) {
    if (!rl->w[i].pid) continue;
    struct rl_waiter w = rl->w[i];
    rl->w[i].pid = 0;
    struct dc_fsm_result res = {.proposal_id = w.pid, .code = DC_EINDOUBT};
    snprintf(res.message, sizeof res.message,
             "master stopped before commit: the command may still commit");
    if (w.cb) w.cb(w.ud, &res);
  }
  rl->wn = 0;
  raft_uv_close(&rl->io);
  raft_uv_tcp_close(&rl->transport);
  rl->handles_open = 3;
  uv_close((uv_handle_t *)&rl->kick, handle_closed);
  uv_close((uv_handle_t *)&rl->watch, handle_closed);
  uv_close((uv_handle_t *)&rl->warm_timer, handle_closed);
}

static void raft_close_op(struct dc_log *l, void (*done)(void *), void *ud) {
  struct rlog *rl = (struct rlog *)l;
  rl->closing = true;
  rl->done = done;
  rl->done_ud = ud;
  uv_timer_stop(&rl->kick);
  uv_check_stop(&rl->watch);
  rl_warm_stop(rl);
  for (size_t i = 0; i < rl->nout; i++) {
    raft_free(rl->out[i].buf.base);
    answer(rl, rl->out[i].pid, DC_ECANCELED, "log closed before commit");
  }
  rl->nout = 0;
  raft_close(&rl->raft, raft_closed);
}

const struct dc_log_ops rl_ops = {
    .propose = raft_propose,
    .is_leader = raft_is_leader,
    .applied_index = raft_applied,
    .close = raft_close_op,
    .barrier = raft_barrier_op,
    .leader = raft_leader_of,
    .name = "raft",
};

/* ---- starting ------------------------------------------------------------ */

/* raft's metadata files exist once it has stored anything. */
bool rl_dir_used(const char *dir) {
  char p[4200];
  struct stat st;
  snprintf(p, sizeof p, "%s/metadata1", dir);
  if (stat(p, &st) == 0) return true;
  snprintf(p, sizeof p, "%s/metadata2", dir);
  return stat(p, &st) == 0;
}

int dc_log_raft_new(uv_loop_t *loop, struct dc_fsm *fsm,
                    const struct dc_log_raft_config *cfg,
                    const struct dc_log_hooks *hooks, struct dc_log **out,
                    struct dc_errmsg *err) {
  if (!cfg->id || !cfg->address || !*cfg->address ||
      strlen(cfg->address) >= sizeof ((struct rlog *)0)->address) {
    dc_errmsg_set(err, "raft needs a non-zero id and a host:port address");
    return DC_EINVAL;
  }
  if (dc_mkdir_p(cfg->dir, 0700)) {
    dc_errmsg_set(err, "cannot create %s", cfg->dir);
    return DC_EIO;
  }
  if (dc_fsm_applied_index(fsm) > 0 && !rl_dir_used(cfg->dir)) {
    dc_errmsg_set(err, "the state has %llu applied entries but the raft log in "
                  "%s is empty: a master whose raft data is gone must rejoin "
                  "under a new id with an empty data dir",
                  (unsigned long long)dc_fsm_applied_index(fsm), cfg->dir);
    return DC_EINVAL;
  }
  /* A snapshot allocates a buffer the size of the state. Fresh pages are
   * expensive to fault in, so keep freed heap memory instead of returning
   * it: the next snapshot reuses it warm. (glibc caps the mmap threshold
   * at 32 MiB on 64-bit.) */
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  raft_heap_set(&rl_heap);
  struct rlog *rl = dc_calloc(1, sizeof *rl);
  if (!rl) return DC_ENOMEM;
  rl->base.ops = &rl_ops;
  if (hooks) rl->base.hooks = *hooks;
  rl->loop = loop;
  rl->fsm = fsm;
  snprintf(rl->address, sizeof rl->address, "%s", cfg->address);

  int rv = raft_uv_tcp_init(&rl->transport, loop);
  if (!rv) rv = raft_uv_init(&rl->io, loop, cfg->dir, &rl->transport);
  if (rv) {
    dc_errmsg_set(err, "raft I/O: %s", raft_strerror(rv));
    dc_free(rl);
    return DC_EIO;
  }
  /* Compressing on the loop would lengthen every snapshot's pause. */
  raft_uv_set_snapshot_compression(&rl->io, false);
  rl->rfsm.version = 2;
  rl->rfsm.data = rl;
  rl->rfsm.apply = fsm_apply;
  rl->rfsm.snapshot = fsm_snapshot;
  rl->rfsm.restore = fsm_restore;
  rl->raft.data = rl;
  rv = raft_init(&rl->raft, &rl->io, &rl->rfsm, cfg->id, cfg->address);
  if (rv) {
    dc_errmsg_set(err, "raft init: %s", raft_errmsg(&rl->raft));
    raft_uv_close(&rl->io);
    raft_uv_tcp_close(&rl->transport);
    dc_free(rl);
    return DC_EIO;
  }
  /* Setters after raft_init (it resets them), before raft_start. */
  raft_set_election_timeout(&rl->raft, cfg->election_timeout_ms
                                           ? cfg->election_timeout_ms
                                           : DC_LOG_RAFT_ELECTION_MS);
  raft_set_heartbeat_timeout(&rl->raft, cfg->heartbeat_timeout_ms
                                            ? cfg->heartbeat_timeout_ms
                                            : DC_LOG_RAFT_HEARTBEAT_MS);
  unsigned threshold = cfg->snapshot_threshold ? cfg->snapshot_threshold
                                               : DC_LOG_RAFT_SNAPSHOT_THRESHOLD;
  /* Keeping more entries behind a snapshot than between two snapshots
   * would make compaction pointless. */
  unsigned trailing = cfg->snapshot_trailing
                          ? cfg->snapshot_trailing
                          : DC_MIN(DC_LOG_RAFT_SNAPSHOT_TRAILING, threshold / 4 + 1);
  raft_set_snapshot_threshold(&rl->raft, threshold);
  raft_set_snapshot_trailing(&rl->raft, trailing);
  /* A server cut off and coming back must not depose a healthy leader. */
  raft_set_pre_vote(&rl->raft, true);

  uv_timer_init(loop, &rl->kick);
  rl->kick.data = rl;
  uv_check_init(loop, &rl->watch);
  rl->watch.data = rl;
  uv_timer_init(loop, &rl->warm_timer);
  rl->warm_timer.data = rl;
  rl->warm_min = cfg->snapshot_warm_min ? cfg->snapshot_warm_min : DC_LOG_RAFT_WARM_MIN;

  if (cfg->bootstrap) {
    struct raft_configuration conf;
    raft_configuration_init(&conf);
    rv = raft_configuration_add(&conf, cfg->id, cfg->address, RAFT_VOTER);
    if (!rv) rv = raft_bootstrap(&rl->raft, &conf);
    raft_configuration_close(&conf);
    if (rv && rv != RAFT_CANTBOOTSTRAP) {
      dc_errmsg_set(err, "raft bootstrap: %s", raft_errmsg(&rl->raft));
      goto fail;
    }
  }
  rv = raft_start(&rl->raft);
  if (rv) {
    dc_errmsg_set(err, "raft start: %s", raft_errmsg(&rl->raft));
    goto fail;
  }
  uv_check_start(&rl->watch, watch_cb);
  rl_warm_start(rl);
  DC_INFO("log", "raft started id=%llu address=%s bootstrap=%d",
          (unsigned long long)cfg->id, cfg->address, cfg->bootstrap);
  *out = &rl->base;
  return DC_OK;

fail:
  /* Close through raft so its handles are released; the caller runs the
   * loop until done. */
  raft_close_op(&rl->base, NULL, NULL);
  return DC_EIO;
}
