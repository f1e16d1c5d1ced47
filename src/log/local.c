/* SPDX-License-Identifier: Apache-2.0
 * The `local` log back end: the SQLite database is the log. Proposals made
 * during one loop turn are applied together in one transaction, which is
 * what makes one-master throughput reasonable with synchronous=FULL. */
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "log/log.h"

struct pending {
  uint8_t *data;
  size_t len;
  dc_log_propose_cb cb;
  void *ud;
};

struct local_log {
  struct dc_log base;
  uv_loop_t *loop;
  struct dc_fsm *fsm;
  uv_timer_t flush;
  struct pending *q;
  size_t nq, capq;
  bool closing;
  void (*done)(void *);
  void *done_ud;
};

static void flush_cb(uv_timer_t *t);

uint64_t dc_log_next_proposal_id(void) {
  static uint64_t high, counter;
  if (!high) {
    uint32_t r;
    dc_random(&r, sizeof r);
    high = (uint64_t)(r | 1u) << 32;
  }
  return high | (++counter & 0xffffffffu);
}

static int local_propose(struct dc_log *l, const uint8_t *cmd, size_t len,
                         dc_log_propose_cb cb, void *ud) {
  struct local_log *ll = (struct local_log *)l;
  if (ll->closing) return DC_ECLOSED;
  if (len > DC_LOG_ENTRY_MAX) return DC_ETOOBIG;
  if (ll->nq == ll->capq) {
    size_t cap = ll->capq ? ll->capq * 2 : 64;
    struct pending *q = dc_realloc(ll->q, cap * sizeof *q);
    if (!q) return DC_ENOMEM;
    ll->q = q;
    ll->capq = cap;
  }
  uint8_t *copy = dc_malloc(len);
  if (!copy) return DC_ENOMEM;
  memcpy(copy, cmd, len);
  ll->q[ll->nq++] = (struct pending){copy, len, cb, ud};
  if (!uv_is_active((uv_handle_t *)&ll->flush))
    uv_timer_start(&ll->flush, flush_cb, 0, 0);
  return DC_OK;
}

static void flush_cb(uv_timer_t *t) {
  struct local_log *ll = t->data;
  while (ll->nq > 0) {
    size_t n = DC_MIN(ll->nq, (size_t)DC_LOG_LOCAL_BATCH_MAX);
    struct dc_fsm_entry *e = dc_calloc(n, sizeof *e);
    struct dc_fsm_result *r = dc_calloc(n, sizeof *r);
    struct pending *batch = dc_malloc(n * sizeof *batch);
    if (!e || !r || !batch) {
      dc_free(e);
      dc_free(r);
      dc_free(batch);
      uv_timer_start(&ll->flush, flush_cb, 10, 0); /* retry on memory */
      return;
    }
    uint64_t next = dc_fsm_applied_index(ll->fsm) + 1;
    for (size_t i = 0; i < n; i++)
      e[i] = (struct dc_fsm_entry){next + i, ll->q[i].data, ll->q[i].len};
    struct dc_errmsg err = {{0}};
    int rc = dc_fsm_apply_batch(ll->fsm, e, n, r, &err);
    if (rc) {
      /* Never turn a storage failure into a rejection: stop. */
      DC_ERROR("log", "backend=local fatal=\"%s\"", err.text);
      if (ll->base.hooks.on_fatal)
        ll->base.hooks.on_fatal(ll->base.hooks.ud, err.text);
      exit(3);
    }
    /* Detach the batch before running callbacks: they may propose more. */
    memcpy(batch, ll->q, n * sizeof *batch);
    memmove(ll->q, ll->q + n, (ll->nq - n) * sizeof *ll->q);
    ll->nq -= n;
    for (size_t i = 0; i < n; i++) {
      if (batch[i].cb) batch[i].cb(batch[i].ud, &r[i]);
      dc_free(batch[i].data);
    }
    if (ll->base.hooks.on_applied)
      ll->base.hooks.on_applied(ll->base.hooks.ud, r, n);
    dc_free(batch);
    dc_free(e);
    dc_free(r);
  }
}

static bool local_is_leader(const struct dc_log *l) {
  return !((const struct local_log *)l)->closing;
}

static uint64_t local_applied(const struct dc_log *l) {
  return dc_fsm_applied_index(((const struct local_log *)l)->fsm);
}

static void on_timer_closed(uv_handle_t *h) {
  struct local_log *ll = h->data;
  void (*done)(void *) = ll->done;
  void *ud = ll->done_ud;
  dc_free(ll->q);
  dc_free(ll);
  if (done) done(ud);
}

static void local_close(struct dc_log *l, void (*done)(void *), void *ud) {
  struct local_log *ll = (struct local_log *)l;
  ll->closing = true;
  ll->done = done;
  ll->done_ud = ud;
  for (size_t i = 0; i < ll->nq; i++) {
    struct dc_fsm_result r = {.code = DC_ECANCELED};
    snprintf(r.message, sizeof r.message, "log closed before commit");
    if (ll->q[i].cb) ll->q[i].cb(ll->q[i].ud, &r);
    dc_free(ll->q[i].data);
  }
  ll->nq = 0;
  uv_close((uv_handle_t *)&ll->flush, on_timer_closed);
}

/* One master: everything acknowledged is already applied, so a read of
 * SQLite now is linearizable. */
static int local_barrier(struct dc_log *l, void (*cb)(void *, int), void *ud) {
  if (((struct local_log *)l)->closing) return DC_ENOTLEADER;
  cb(ud, DC_OK);
  return DC_OK;
}

static bool local_leader(const struct dc_log *l, uint64_t *id,
                         const char **address) {
  *id = 0;
  *address = NULL;
  return local_is_leader(l);
}

static const struct dc_log_ops local_ops = {
    .propose = local_propose,
    .is_leader = local_is_leader,
    .applied_index = local_applied,
    .close = local_close,
    .barrier = local_barrier,
    .leader = local_leader,
    .name = "local",
};

int dc_log_local_new(uv_loop_t *loop, struct dc_fsm *fsm,
                     const struct dc_log_hooks *hooks, struct dc_log **out) {
  struct local_log *ll = dc_calloc(1, sizeof *ll);
  if (!ll) return DC_ENOMEM;
  ll->base.ops = &local_ops;
  if (hooks) ll->base.hooks = *hooks;
  ll->loop = loop;
  ll->fsm = fsm;
  uv_timer_init(loop, &ll->flush);
  ll->flush.data = ll;
  *out = &ll->base;
  return DC_OK;
}
