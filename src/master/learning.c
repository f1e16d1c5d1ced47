/* SPDX-License-Identifier: Apache-2.0
 * The master's learned models: a runtime predictor trained on this
 * master's own task history, and each provider's failure probability and
 * speed (Bayesian, from its task outcomes: attempts lost with it, and
 * runtimes against the model's expectation). The loop only reads finished tasks (a small
 * indexed query every few seconds) and feeds them in; the trees are fitted
 * on the libuv thread pool and swapped in on the loop, so a fit never
 * stalls raft's timers or the API. The model starts cold (it falls back to
 * the task's timeout, then to what it has seen) and is saved to the data
 * dir after each fit and reloaded at start. Models are local to each
 * master: placement is proposed by the leader and applied through the log,
 * so replicas never need the same model. */
#include <inttypes.h>
#include <math.h>
#include <sodium.h>

#include "master/master_int.h"
#include "predict/predict.h"

#define LEARN_EVERY_MS 5000
#define LEARN_BATCH 2000
#define TRAIN_MIN_NEW 64
#define RELIAB_NODES 4096
/* Recent work per provider, for proportional shares: decayed by
 * exp(-dt / WORK_TAU_S), so it weighs roughly the last hour. */
#define WORK_TAU_S 3600.0

struct train_job {
  uv_work_t work;
  struct dc_master *m;
  struct dc_rtpred_train *t;
  int rc;
};

/* Stable small ids for strings (owner keys, job names). */
static uint32_t intern(const char *s) {
  uint8_t h[8];
  crypto_generichash(h, sizeof h, (const uint8_t *)s, strlen(s), NULL, 0);
  uint32_t v = (uint32_t)h[0] | (uint32_t)h[1] << 8 | (uint32_t)h[2] << 16 |
               (uint32_t)h[3] << 24;
  return v ? v : 1;
}

void master_task_features(const char *owner, const char *app, uint32_t cpu_millis,
                          uint64_t memory_mb, uint32_t timeout_s, int64_t created_ms,
                          struct dc_pred_job *out) {
  *out = (struct dc_pred_job){
      .user = intern(owner),
      .app = intern(app),
      .req_cpus = (cpu_millis + 999) / 1000,
      .req_mem_mb = (double)memory_mb,
      .req_time_s = (double)timeout_s,
      .submit_s = (double)created_ms / 1000.0,
  };
}

static void model_path(struct dc_master *m, char *out, size_t n) {
  snprintf(out, n, "%s/runtime.model", m->cfg.data_dir);
}

int master_learning_start(struct dc_master *m) {
  struct dc_rtpred_config c;
  dc_rtpred_config_default(&c);
  c.retrain_every = 0; /* we fit off the loop ourselves */
  int rc = dc_rtpred_new(&c, &m->rtpred);
  if (rc) return rc;
  m->reliab_ids = dc_calloc(RELIAB_NODES, sizeof *m->reliab_ids);
  m->reliab_map = dc_calloc(2 * RELIAB_NODES, sizeof *m->reliab_map);
  m->node_work = dc_calloc(RELIAB_NODES, sizeof *m->node_work);
  if (!m->reliab_ids || !m->reliab_map || !m->node_work ||
      dc_reliab_new(RELIAB_NODES, &m->reliab))
    return DC_ENOMEM;
  char path[4200];
  model_path(m, path, sizeof path);
  if (dc_rtpred_load(m->rtpred, path) == DC_OK)
    DC_INFO("learn", "runtime model loaded jobs=%" PRIu64,
            dc_rtpred_observed(m->rtpred));
  return DC_OK;
}

static void train_work(uv_work_t *w) {
  struct train_job *j = w->data;
  j->rc = dc_rtpred_train_run(j->t);
}

static void train_done(uv_work_t *w, int status) {
  struct train_job *j = w->data;
  struct dc_master *m = j->m;
  m->train_busy = false;
  /* finish installs the trees and frees the fit, whatever run returned. */
  int rc = status == 0 ? dc_rtpred_train_finish(m->rtpred, j->t) : DC_ECANCELED;
  if (status != 0) dc_rtpred_train_free(j->t);
  dc_free(j);
  if (rc) {
    DC_WARN("learn", "runtime model fit failed: %s", dc_strerror(rc));
    return;
  }
  char path[4200];
  model_path(m, path, sizeof path);
  if (dc_rtpred_save(m->rtpred, path))
    DC_WARN("learn", "cannot save the runtime model to %s", path);
  DC_INFO("learn", "runtime model refitted jobs=%" PRIu64 " fits=%u",
          dc_rtpred_observed(m->rtpred), dc_rtpred_retrains(m->rtpred));
}

/* Node ids are hex of random keys: their first 16 digits hash well. */
static size_t id_hash(const char *hex) {
  uint64_t v = 0;
  for (int i = 0; i < 16 && hex[i]; i++)
    v = v << 4 | (uint64_t)(hex[i] <= '9' ? hex[i] - '0' : (hex[i] | 32) - 'a' + 10);
  return (size_t)(v * 0x9E3779B97F4A7C15ull >> 32);
}

/* Called for every node of every placement pass: a hash probe, not a scan. */
size_t master_reliab_slot(struct dc_master *m, const char *node_hex) {
  size_t mask = 2 * RELIAB_NODES - 1, h = id_hash(node_hex) & mask;
  for (; m->reliab_map[h]; h = (h + 1) & mask)
    if (!strcmp(m->reliab_ids[m->reliab_map[h] - 1], node_hex)) return m->reliab_map[h] - 1;
  if (m->nreliab == RELIAB_NODES) return SIZE_MAX;
  snprintf(m->reliab_ids[m->nreliab], sizeof m->reliab_ids[0], "%s", node_hex);
  m->reliab_map[h] = (uint32_t)++m->nreliab;
  return m->nreliab - 1;
}

/* Feeds what happened since the last look, in log order, from the task
 * events (a range of their primary key, however long the history): a
 * success teaches the runtime model and its provider's speed, an attempt
 * lost with its provider counts against that provider. Starts a fit when
 * enough are new. */
void master_learning_tick(struct dc_master *m) {
  if (!m->rtpred || m->stopping) return;
  int64_t now = dc_mono_ms();
  if (now - m->learn_last_ms < LEARN_EVERY_MS) return;
  double decay = m->learn_last_ms ? exp(-(double)(now - m->learn_last_ms) / 1000.0 / WORK_TAU_S) : 1;
  for (size_t i = 0; i < m->nreliab; i++) m->node_work[i] *= decay;
  m->learn_last_ms = now;
  static const char *sql =
      "SELECT e.seq, e.state, e.node_id, t.wall_ms, t.cpu_millis, t.memory_mb,"
      " t.timeout_s, t.created_ms, j.owner, j.name || '/' || t.name"
      " FROM task_events e JOIN tasks t ON t.id = e.task_id"
      " JOIN jobs j ON j.id = t.job_id"
      " WHERE e.seq > ?1 AND e.state IN ('succeeded', 'lost')"
      " ORDER BY e.seq LIMIT ?2";
  sqlite3_stmt *s = master_read_stmt(m, sql);
  if (!s) return;
  sqlite3_bind_int64(s, 1, m->learn_seq);
  sqlite3_bind_int(s, 2, LEARN_BATCH);
  while (sqlite3_step(s) == SQLITE_ROW) {
    m->learn_seq = sqlite3_column_int64(s, 0);
    const char *node = (const char *)sqlite3_column_text(s, 2);
    size_t k = node ? master_reliab_slot(m, node) : SIZE_MAX;
    if (strcmp((const char *)sqlite3_column_text(s, 1), "succeeded") != 0) {
      dc_reliab_observe(m->reliab, k, false, 0, 0);
      continue;
    }
    struct dc_pred_job f;
    master_task_features((const char *)sqlite3_column_text(s, 8),
                         (const char *)sqlite3_column_text(s, 9),
                         (uint32_t)sqlite3_column_int64(s, 4),
                         (uint64_t)sqlite3_column_int64(s, 5),
                         (uint32_t)sqlite3_column_int64(s, 6),
                         sqlite3_column_int64(s, 7), &f);
    double actual = (double)sqlite3_column_int64(s, 3) / 1000.0;
    if (k != SIZE_MAX) m->node_work[k] += actual * (double)sqlite3_column_int64(s, 4) / 1000.0;
    /* Speed: how the node did against what the model expected of it. */
    dc_reliab_observe(m->reliab, k, true, master_predict_runtime(m, &f), actual);
    if (dc_rtpred_observe(m->rtpred, &f, actual) == DC_OK) m->learn_new++;
  }
  sqlite3_reset(s);
  if (m->train_busy || m->learn_new < TRAIN_MIN_NEW) return;
  struct train_job *j = dc_calloc(1, sizeof *j);
  if (!j) return;
  if (dc_rtpred_train_begin(m->rtpred, &j->t) != DC_OK) {
    dc_free(j);
    return;
  }
  j->m = m;
  j->work.data = j;
  m->learn_new = 0;
  m->train_busy = true;
  if (uv_queue_work(m->loop, &j->work, train_work, train_done)) {
    dc_rtpred_train_free(j->t);
    dc_free(j);
    m->train_busy = false;
  }
}

double master_predict_runtime(struct dc_master *m, const struct dc_pred_job *f) {
  struct dc_pred p;
  if (!m->rtpred || dc_rtpred_predict(m->rtpred, f, &p)) return 0;
  return p.value;
}

void master_learning_free(struct dc_master *m) {
  dc_rtpred_free(m->rtpred);
  m->rtpred = NULL;
  dc_reliab_free(m->reliab);
  m->reliab = NULL;
  dc_free(m->reliab_ids);
  m->reliab_ids = NULL;
  dc_free(m->reliab_map);
  m->reliab_map = NULL;
  dc_free(m->node_work);
  m->node_work = NULL;
}
