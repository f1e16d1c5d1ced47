/* SPDX-License-Identifier: Apache-2.0
 * The `local` log back end: the SQLite database is the log. Group commit:
 * one batch at a time is applied and made durable (synchronous=FULL) on a
 * commit thread, while the loop keeps taking requests; everything proposed
 * meanwhile becomes the next batch, one SQLite transaction, as soon as the
 * current one is durable. A proposal is answered only after its commit. */
#include <pthread.h>
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

/* The batch on the commit thread: the loop fills it, the thread applies
 * it, the loop delivers its results. Never touched by both at once. */
struct commit {
  struct pending *p;
  struct dc_fsm_entry *e;
  struct dc_fsm_result *r;
  size_t n;
  int rc;
  struct dc_errmsg err;
};

struct local_log {
  struct dc_log base;
  uv_loop_t *loop;
  struct dc_fsm *fsm;       /* used by the commit thread only, once started */
  uv_timer_t flush;         /* starts a commit on the next loop turn */
  uv_async_t committed;     /* the thread finished a batch */
  struct pending *q;        /* proposals waiting for the next batch */
  size_t nq, capq;
  struct commit c;
  bool busy;                /* c is on the commit thread */
  uint64_t applied;         /* the loop's copy of the applied index */
  pthread_t thread;
  bool thread_live;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  bool work, quit;          /* under mu */
  bool closing;
  int handles_open;
  void (*done)(void *);
  void *done_ud;
};

static void flush_cb(uv_timer_t *t);
static void finish_close(struct local_log *ll);

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
  /* While a commit is in flight its completion starts the next one. */
  if (!ll->busy && !uv_is_active((uv_handle_t *)&ll->flush))
    uv_timer_start(&ll->flush, flush_cb, 0, 0);
  return DC_OK;
}

static void *commit_main(void *arg) {
  struct local_log *ll = arg;
  pthread_mutex_lock(&ll->mu);
  for (;;) {
    while (!ll->work && !ll->quit) pthread_cond_wait(&ll->cv, &ll->mu);
    if (!ll->work) break; /* quit with nothing to do */
    pthread_mutex_unlock(&ll->mu);
    struct commit *c = &ll->c;
    c->rc = dc_fsm_apply_batch(ll->fsm, c->e, c->n, c->r, &c->err);
    pthread_mutex_lock(&ll->mu);
    ll->work = false;
    uv_async_send(&ll->committed);
  }
  pthread_mutex_unlock(&ll->mu);
  return NULL;
}

static void commit_free(struct commit *c) {
  dc_free(c->p);
  dc_free(c->e);
  dc_free(c->r);
  memset(c, 0, sizeof *c);
}

/* Hands up to DC_LOG_LOCAL_BATCH_MAX queued proposals to the commit thread. */
static void flush_cb(uv_timer_t *t) {
  struct local_log *ll = t->data;
  if (ll->busy || ll->nq == 0 || ll->closing) return;
  if (!ll->thread_live) {
    if (pthread_create(&ll->thread, NULL, commit_main, ll)) {
      uv_timer_start(&ll->flush, flush_cb, 10, 0); /* retry */
      return;
    }
    ll->thread_live = true;
  }
  size_t n = DC_MIN(ll->nq, (size_t)DC_LOG_LOCAL_BATCH_MAX);
  struct commit *c = &ll->c;
  c->e = dc_calloc(n, sizeof *c->e);
  c->r = dc_calloc(n, sizeof *c->r);
  c->p = dc_malloc(n * sizeof *c->p);
  if (!c->e || !c->r || !c->p) {
    commit_free(c);
    uv_timer_start(&ll->flush, flush_cb, 10, 0); /* retry on memory */
    return;
  }
  c->n = n;
  memcpy(c->p, ll->q, n * sizeof *c->p);
  memmove(ll->q, ll->q + n, (ll->nq - n) * sizeof *ll->q);
  ll->nq -= n;
  for (size_t i = 0; i < n; i++)
    c->e[i] = (struct dc_fsm_entry){ll->applied + 1 + i, c->p[i].data, c->p[i].len};
  ll->busy = true;
  uv_ref((uv_handle_t *)&ll->committed); /* the loop waits for the commit */
  pthread_mutex_lock(&ll->mu);
  ll->work = true;
  pthread_cond_signal(&ll->cv);
  pthread_mutex_unlock(&ll->mu);
}

/* On the loop: the batch is durable (or storage failed). Results, then the
 * next batch: everything proposed while this one committed. */
static void committed_cb(uv_async_t *a) {
  struct local_log *ll = a->data;
  pthread_mutex_lock(&ll->mu);
  bool done = ll->busy && !ll->work;
  pthread_mutex_unlock(&ll->mu);
  if (!done) return;
  struct commit c = ll->c;
  memset(&ll->c, 0, sizeof ll->c);
  if (c.rc) {
    /* Never turn a storage failure into a rejection: stop. */
    DC_ERROR("log", "backend=local fatal=\"%s\"", c.err.text);
    if (ll->base.hooks.on_fatal)
      ll->base.hooks.on_fatal(ll->base.hooks.ud, c.err.text);
    exit(3);
  }
  ll->busy = false;
  uv_unref((uv_handle_t *)&ll->committed);
  ll->applied += c.n;
  /* Callbacks may propose more: those queue for the next batch. */
  for (size_t i = 0; i < c.n; i++) {
    if (c.p[i].cb) c.p[i].cb(c.p[i].ud, &c.r[i]);
    dc_free(c.p[i].data);
  }
  if (ll->base.hooks.on_applied)
    ll->base.hooks.on_applied(ll->base.hooks.ud, c.r, c.n);
  commit_free(&c);
  if (ll->closing) finish_close(ll);
  else if (ll->nq) flush_cb(&ll->flush);
}

static bool local_is_leader(const struct dc_log *l) {
  return !((const struct local_log *)l)->closing;
}

static uint64_t local_applied(const struct dc_log *l) {
  return ((const struct local_log *)l)->applied;
}

static void on_handle_closed(uv_handle_t *h) {
  struct local_log *ll = h->data;
  if (--ll->handles_open) return;
  void (*done)(void *) = ll->done;
  void *ud = ll->done_ud;
  pthread_mutex_destroy(&ll->mu);
  pthread_cond_destroy(&ll->cv);
  dc_free(ll->q);
  dc_free(ll);
  if (done) done(ud);
}

/* Once no commit is in flight: stop the thread, close the handles. Runs
 * once (a close from a result callback is seen again at the end of
 * committed_cb). */
static void finish_close(struct local_log *ll) {
  if (ll->handles_open) return;
  if (ll->thread_live) {
    pthread_mutex_lock(&ll->mu);
    ll->quit = true;
    pthread_cond_signal(&ll->cv);
    pthread_mutex_unlock(&ll->mu);
    pthread_join(ll->thread, NULL);
    ll->thread_live = false;
  }
  ll->handles_open = 2;
  uv_close((uv_handle_t *)&ll->flush, on_handle_closed);
  uv_close((uv_handle_t *)&ll->committed, on_handle_closed);
}

/* Cancels what is still queued; a batch already on the commit thread
 * finishes and is answered with its real results first. */
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
  uv_timer_stop(&ll->flush);
  if (!ll->busy) finish_close(ll);
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
  ll->applied = dc_fsm_applied_index(fsm);
  if (pthread_mutex_init(&ll->mu, NULL)) {
    dc_free(ll);
    return DC_ENOMEM;
  }
  pthread_cond_init(&ll->cv, NULL);
  uv_timer_init(loop, &ll->flush);
  ll->flush.data = ll;
  if (uv_async_init(loop, &ll->committed, committed_cb)) {
    /* Unreachable on Linux (eventfd); fail cleanly anyway. */
    ll->handles_open = 1;
    uv_close((uv_handle_t *)&ll->flush, on_handle_closed);
    return DC_ESYS;
  }
  ll->committed.data = ll;
  uv_unref((uv_handle_t *)&ll->committed); /* idle unless a commit runs */
  *out = &ll->base;
  return DC_OK;
}
