/* SPDX-License-Identifier: Apache-2.0
 * Service clusters, the leader's side (docs/matching.md "Service
 * clusters"). Every cluster interval the loop reads what is new: jobs
 * submitted since the last look (counted as cores per service class per
 * bucket), the live providers and the queue. The thread pool then groups
 * the providers by k-means and fits Holt-Winters per class; back on the
 * loop the leader proposes the similarity groups that changed and moves
 * dynamic providers toward the forecast shortfalls (dc_shard_plan). Like
 * placement it only proposes: the FSM checks and applies NODE_CLUSTER_SET.
 * The forecasts are this master's own; a new leader rebuilds them from the
 * jobs in the state. */
#include <inttypes.h>
#include <math.h>

#include "jobspec/jobspec.h"
#include "master/api_int.h"
#include "predict/predict.h"
#include "sched/sched.h"

#define SHARD_CLASSES 32      /* service classes tracked */
#define SHARD_NODES 4096      /* providers per pass (placement's bound too) */
#define SHARD_BUCKETS 512     /* history kept per class, in buckets */
#define SHARD_SCORED 512      /* forecasts kept for MASE */
#define SHARD_MOVES_MAX 4     /* per interval */
#define SHARD_RECENT 16       /* recent moves shown per class */
#define SHARD_HORIZON 2       /* buckets looked ahead */
#define SHARD_DEADBAND 0.5    /* cores: smaller shortfalls move nobody */
#define SHARD_K_MAX 8
#define SHARD_FEATURES 7      /* cores, memory GB, GPUs, two prices, lat, lon */
#define JOBS_PER_TICK 5000

enum method { M_NONE, M_MEAN, M_HW };
static const char *const method_names[] = {"no history", "recent mean", "holt-winters"};

struct shard_class {
  char name[DC_JOBSPEC_CLASS_MAX + 1];
  double cores[SHARD_BUCKETS];    /* arrivals, by bucket % SHARD_BUCKETS */
  int64_t bucket_of[SHARD_BUCKETS];
  /* the last fit */
  enum method method;
  double f1, f2;                  /* forecast for the current and next bucket */
  double demand, queued, capacity;
  uint32_t nodes, dynamic;
  size_t history;                 /* completed buckets fitted */
  /* scoring: the forecast made for a bucket before it began, against what came */
  int64_t pending_bucket;         /* bucket of pending_fc, -1 none */
  double pending_fc;
  double act[SHARD_SCORED], fc[SHARD_SCORED];
  size_t nscored;
  double mase;                    /* NAN until measurable */
};

struct shards {
  struct shard_class cls[SHARD_CLASSES];
  size_t ncls;
  int64_t job_rowid;              /* watermark over jobs */
  int64_t first_bucket;           /* oldest bucket seen, -1 none */
  int64_t last_run_ms;
  bool busy;                      /* a fit on the pool or proposals in flight */
  uint32_t inflight;
  uint64_t runs;
  uint32_t k;                     /* groups in the last k-means */
};

/* What the pool works on: copies, so the loop may go on. */
struct shard_node_row {
  uint8_t pk[DC_PK_BYTES];
  char id[2 * DC_PK_BYTES + 1];
  char *classes, *cluster;
  bool dynamic, busy;
  int64_t last_move_ms;           /* 0 never */
  int64_t grp;
  double x[SHARD_FEATURES];
};
struct shard_job {
  uv_work_t work;
  struct dc_master *m;
  int64_t bucket_now;
  size_t ncls;
  double *series[SHARD_CLASSES];  /* completed buckets, oldest first */
  size_t n;                       /* their count (the same for every class) */
  enum method method[SHARD_CLASSES];
  double f1[SHARD_CLASSES], f2[SHARD_CLASSES];
  double queued[SHARD_CLASSES];
  struct shard_node_row *nodes;
  size_t nnodes;
  uint32_t *group;                /* k-means result, canonical labels */
  uint32_t k;
  int kmeans_rc;
};

int master_shards_start(struct dc_master *m) {
  if (!m->cfg.cluster_interval_ms) return DC_OK;
  if (!m->cfg.forecast_bucket_s || m->cfg.forecast_season < 2 ||
      m->cfg.forecast_season * 2 > SHARD_BUCKETS) {
    DC_ERROR("shards", "--forecast-bucket-s must be at least 1 and --forecast-season "
                       "between 2 and %d", SHARD_BUCKETS / 2);
    return DC_EINVAL;
  }
  m->shards = dc_calloc(1, sizeof *m->shards);
  if (!m->shards) return DC_ENOMEM;
  m->shards->first_bucket = -1;
  return DC_OK;
}

void master_shards_free(struct dc_master *m) {
  dc_free(m->shards);
  m->shards = NULL;
}

static struct shard_class *class_get(struct shards *s, const char *name) {
  for (size_t i = 0; i < s->ncls; i++)
    if (!strcmp(s->cls[i].name, name)) return &s->cls[i];
  if (s->ncls == SHARD_CLASSES || strlen(name) > DC_JOBSPEC_CLASS_MAX) return NULL;
  struct shard_class *c = &s->cls[s->ncls++];
  memset(c, 0, sizeof *c);
  snprintf(c->name, sizeof c->name, "%s", name);
  for (size_t b = 0; b < SHARD_BUCKETS; b++) c->bucket_of[b] = -1;
  c->pending_bucket = -1;
  c->mase = NAN;
  return c;
}

/* These queries run once an interval: prepared each time, not cached
 * among the hot paths' statements. NULL on error. */
static sqlite3_stmt *prep(struct dc_master *m, const char *sql) {
  sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(m->rdb, sql, -1, &st, NULL) == SQLITE_OK) return st;
  DC_WARN("shards", "query: %s", sqlite3_errmsg(m->rdb));
  sqlite3_finalize(st);
  return NULL;
}

static int64_t bucket_ms(const struct dc_master *m) {
  return (int64_t)m->cfg.forecast_bucket_s * 1000;
}

/* Jobs submitted since the last look, each as the cores its tasks ask for
 * in its class's bucket. Jobs without a class ("any") can go anywhere and
 * count toward no cluster. */
static void feed_jobs(struct dc_master *m) {
  struct shards *s = m->shards;
  static const char *sql =
      "SELECT j.rowid, j.submitted_ms,"
      " IFNULL(json_extract(j.spec, '$.constraints.service_class'), 'any'),"
      " (SELECT IFNULL(SUM(t.cpu_millis), 0) FROM tasks t WHERE t.job_id = j.id)"
      " FROM jobs j WHERE j.rowid > ?1 ORDER BY j.rowid LIMIT ?2";
  sqlite3_stmt *st = prep(m, sql);
  if (!st) return;
  sqlite3_bind_int64(st, 1, s->job_rowid);
  sqlite3_bind_int(st, 2, JOBS_PER_TICK);
  while (sqlite3_step(st) == SQLITE_ROW) {
    s->job_rowid = sqlite3_column_int64(st, 0);
    int64_t b = sqlite3_column_int64(st, 1) / bucket_ms(m);
    if (s->first_bucket < 0 || b < s->first_bucket) s->first_bucket = b;
    const char *cls = (const char *)sqlite3_column_text(st, 2);
    if (!cls || !strcmp(cls, "any")) continue;
    struct shard_class *c = class_get(s, cls);
    if (!c) continue;
    size_t slot = (size_t)(b % SHARD_BUCKETS);
    if (c->bucket_of[slot] != b) {
      if (c->bucket_of[slot] > b) continue; /* older than the window */
      c->bucket_of[slot] = b;
      c->cores[slot] = 0;
    }
    c->cores[slot] += (double)sqlite3_column_int64(st, 3) / 1000.0;
  }
  sqlite3_finalize(st);
}

static void free_job(struct shard_job *j) {
  for (size_t c = 0; c < SHARD_CLASSES; c++) dc_free(j->series[c]);
  for (size_t i = 0; i < j->nnodes; i++) {
    dc_free(j->nodes[i].classes);
    dc_free(j->nodes[i].cluster);
  }
  dc_free(j->nodes);
  dc_free(j->group);
  dc_free(j);
}

static int load_nodes(struct dc_master *m, struct shard_job *j) {
  static const char *sql =
      "SELECT n.id, n.classes, n.cluster, n.role = 'dynamic', n.grp,"
      " n.cpu_millis, n.memory_mb, n.gpu, n.price_cpu_hour, n.price_mem_gb_hour,"
      " n.lat, n.lon,"
      " EXISTS(SELECT 1 FROM tasks t WHERE t.node_id = n.id AND"
      "   t.state IN ('assigned', 'running')),"
      " IFNULL((SELECT MAX(c.ts_ms) FROM cluster_moves c WHERE c.node_id = n.id), 0)"
      " FROM nodes n WHERE n.state = 'alive' ORDER BY n.id LIMIT ?1";
  sqlite3_stmt *st = prep(m, sql);
  if (!st) return DC_EDB;
  sqlite3_bind_int(st, 1, SHARD_NODES);
  j->nodes = dc_calloc(SHARD_NODES, sizeof *j->nodes);
  int rc = j->nodes ? DC_OK : DC_ENOMEM;
  while (!rc && sqlite3_step(st) == SQLITE_ROW) {
    struct shard_node_row *r = &j->nodes[j->nnodes];
    snprintf(r->id, sizeof r->id, "%s", (const char *)sqlite3_column_text(st, 0));
    if (dc_hex_decode(r->id, r->pk, DC_PK_BYTES)) continue;
    r->classes = dc_strdup((const char *)sqlite3_column_text(st, 1));
    r->cluster = dc_strdup((const char *)sqlite3_column_text(st, 2));
    if (!r->classes || !r->cluster) rc = DC_ENOMEM;
    r->dynamic = sqlite3_column_int(st, 3) != 0;
    r->grp = sqlite3_column_int64(st, 4);
    r->x[0] = (double)sqlite3_column_int64(st, 5) / 1000.0;
    r->x[1] = (double)sqlite3_column_int64(st, 6) / 1024.0;
    r->x[2] = (double)sqlite3_column_int64(st, 7);
    r->x[3] = (double)sqlite3_column_int64(st, 8);
    r->x[4] = (double)sqlite3_column_int64(st, 9);
    r->x[5] = sqlite3_column_double(st, 10);
    r->x[6] = sqlite3_column_double(st, 11);
    r->busy = sqlite3_column_int(st, 12) != 0;
    r->last_move_ms = sqlite3_column_int64(st, 13);
    j->nnodes++;
  }
  sqlite3_finalize(st);
  return rc;
}

/* Cores asked by the tasks waiting now, per class. */
static void load_queue(struct dc_master *m, struct shard_job *j) {
  static const char *sql =
      "SELECT IFNULL(json_extract(j.spec, '$.constraints.service_class'), 'any'),"
      " SUM(t.cpu_millis) FROM tasks t JOIN jobs j ON j.id = t.job_id"
      " WHERE t.state = 'pending' GROUP BY 1";
  sqlite3_stmt *st = prep(m, sql);
  if (!st) return;
  while (sqlite3_step(st) == SQLITE_ROW) {
    const char *cls = (const char *)sqlite3_column_text(st, 0);
    for (size_t c = 0; c < m->shards->ncls; c++)
      if (cls && !strcmp(m->shards->cls[c].name, cls))
        j->queued[c] = (double)sqlite3_column_int64(st, 1) / 1000.0;
  }
  sqlite3_finalize(st);
}

/* k as a function of the provider count alone: the rule of thumb
 * sqrt(n/2), at most SHARD_K_MAX. */
static uint32_t choose_k(size_t n) {
  if (n < 2) return (uint32_t)n;
  uint32_t k = (uint32_t)lround(sqrt((double)n / 2.0));
  return k < 1 ? 1 : k > SHARD_K_MAX ? SHARD_K_MAX : k;
}

/* FNV-1a over the features in id order: the same providers give the same
 * seed, hence the same groups, on any master and at any time. */
static uint64_t features_seed(const struct shard_job *j) {
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < j->nnodes; i++) {
    const uint8_t *p = (const uint8_t *)j->nodes[i].x;
    for (size_t b = 0; b < sizeof j->nodes[i].x; b++) h = (h ^ p[b]) * 1099511628211ull;
    for (size_t b = 0; b < DC_PK_BYTES; b++) h = (h ^ j->nodes[i].pk[b]) * 1099511628211ull;
  }
  return h;
}

static void run_kmeans(struct shard_job *j) {
  j->k = choose_k(j->nnodes);
  if (!j->nnodes) return;
  j->group = dc_calloc(j->nnodes, sizeof *j->group);
  double *x = dc_malloc(j->nnodes * SHARD_FEATURES * sizeof *x);
  uint32_t *raw = dc_calloc(j->nnodes, sizeof *raw);
  if (!j->group || !x || !raw) {
    j->kmeans_rc = DC_ENOMEM;
  } else {
    for (size_t i = 0; i < j->nnodes; i++)
      memcpy(&x[i * SHARD_FEATURES], j->nodes[i].x, sizeof j->nodes[i].x);
    j->kmeans_rc = dc_kmeans(x, j->nnodes, SHARD_FEATURES, j->k, features_seed(j), 100,
                             raw, NULL, NULL);
  }
  if (!j->kmeans_rc) {
    /* k-means numbers its clusters arbitrarily: renumber them in the order
     * their first provider (by id) appears, so a group keeps its number. */
    uint32_t map[SHARD_K_MAX + 1];
    for (size_t g = 0; g <= SHARD_K_MAX; g++) map[g] = UINT32_MAX;
    uint32_t next = 0;
    for (size_t i = 0; i < j->nnodes; i++) {
      if (map[raw[i]] == UINT32_MAX) map[raw[i]] = next++;
      j->group[i] = map[raw[i]];
    }
  }
  dc_free(x);
  dc_free(raw);
}

static void forecast_work(uv_work_t *w) {
  struct shard_job *j = w->data;
  run_kmeans(j);
  uint32_t season = j->m->cfg.forecast_season;
  for (size_t c = 0; c < j->ncls; c++) {
    const double *y = j->series[c];
    struct dc_hw *hw = NULL;
    if (j->n >= 2 * (size_t)season && dc_hw_fit(y, j->n, season, &hw) == DC_OK) {
      j->method[c] = M_HW;
      j->f1[c] = fmax(0, dc_hw_forecast(hw, 1));
      j->f2[c] = fmax(0, dc_hw_forecast(hw, 2));
      dc_hw_free(hw);
      continue;
    }
    /* Too short for two cycles: the mean of the last cycle's buckets. */
    size_t from = j->n > season ? j->n - season : 0;
    double sum = 0;
    for (size_t i = from; i < j->n; i++) sum += y[i];
    j->method[c] = j->n ? M_MEAN : M_NONE;
    j->f1[c] = j->f2[c] = j->n ? sum / (double)(j->n - from) : 0;
  }
}

static void moved_cb(struct dc_master *m, const struct dc_fsm_result *r, void *ud) {
  (void)ud;
  if (!m->shards) return;
  if (m->shards->inflight && --m->shards->inflight == 0) m->shards->busy = false;
  if (r->code)
    DC_WARN("shards", "cluster change refused: %s", r->message);
  else
    master_schedule_soon(m); /* a provider now serves another class */
}

static void propose_set(struct dc_master *m, struct dc_cluster_item *items, size_t n,
                        const char *reason) {
  struct dc_cmd c = {.type = DC_CMD_NODE_CLUSTER_SET};
  c.u.cluster_set.items = items;
  c.u.cluster_set.n = n;
  c.u.cluster_set.reason = (char *)reason;
  m->shards->inflight++;
  if (master_propose(m, &c, moved_cb, NULL)) {
    m->shards->inflight--;
    DC_WARN("shards", "cannot propose a cluster change");
  }
}

/* The similarity groups that changed, in one command. */
static void propose_groups(struct dc_master *m, struct shard_job *j) {
  if (j->kmeans_rc || !j->group) return;
  struct dc_cluster_item *items = dc_calloc(j->nnodes, sizeof *items);
  if (!items) return;
  size_t n = 0;
  for (size_t i = 0; i < j->nnodes && n < DC_CLUSTER_SET_MAX; i++) {
    if (j->nodes[i].grp == (int64_t)j->group[i]) continue;
    memcpy(items[n].node_id, j->nodes[i].pk, DC_PK_BYTES);
    items[n].cluster = "";
    items[n].group = j->group[i];
    n++;
  }
  if (n) {
    char why[96];
    snprintf(why, sizeof why, "k-means k=%u over %zu providers", j->k, j->nnodes);
    propose_set(m, items, n, why);
    DC_INFO("shards", "groups changed providers=%zu k=%u", n, j->k);
  }
  dc_free(items);
}

/* The forecast made for the bucket now beginning is scored once it is over. */
static void score(struct shard_class *c, const struct shard_job *j, size_t ci) {
  int64_t done = j->bucket_now - 1;
  if (c->pending_bucket >= 0 && c->pending_bucket <= done) {
    size_t slot = (size_t)(c->pending_bucket % SHARD_BUCKETS);
    double actual = c->bucket_of[slot] == c->pending_bucket ? c->cores[slot] : 0;
    if (c->nscored == SHARD_SCORED) {
      memmove(c->act, c->act + 1, (SHARD_SCORED - 1) * sizeof *c->act);
      memmove(c->fc, c->fc + 1, (SHARD_SCORED - 1) * sizeof *c->fc);
      c->nscored--;
    }
    c->act[c->nscored] = actual;
    c->fc[c->nscored] = c->pending_fc;
    c->nscored++;
    c->pending_bucket = -1;
  }
  if (c->pending_bucket < 0 && j->method[ci] != M_NONE) {
    c->pending_bucket = j->bucket_now;
    c->pending_fc = j->f1[ci];
  }
  c->mase = c->nscored ? dc_mase(c->act, c->fc, c->nscored, j->series[ci], j->n, 1) : NAN;
}

static void plan_moves(struct dc_master *m, struct shard_job *j) {
  struct shards *s = m->shards;
  struct dc_shard_class cls[SHARD_CLASSES];
  for (size_t c = 0; c < j->ncls; c++) {
    struct shard_class *sc = &s->cls[c];
    sc->method = j->method[c];
    sc->f1 = j->f1[c];
    sc->f2 = j->f2[c];
    sc->queued = j->queued[c];
    sc->history = j->n;
    /* The larger forecast of the horizon, plus what already waits. */
    sc->demand = fmax(j->f1[c], j->f2[c]) + j->queued[c];
    score(sc, j, c);
    cls[c] = (struct dc_shard_class){.name = sc->name, .demand_cores = sc->demand};
  }
  struct dc_shard_node *nodes = dc_calloc(j->nnodes ? j->nnodes : 1, sizeof *nodes);
  if (!nodes) return;
  /* A provider stays where it was moved for at least a bucket and two
   * intervals, whatever the forecasts say (hysteresis in time). */
  int64_t now = dc_now_ms();
  int64_t dwell = bucket_ms(m);
  if (dwell < 2 * (int64_t)m->cfg.cluster_interval_ms) dwell = 2 * (int64_t)m->cfg.cluster_interval_ms;
  for (size_t i = 0; i < j->nnodes; i++) {
    const struct shard_node_row *r = &j->nodes[i];
    nodes[i] = (struct dc_shard_node){
        .classes = r->classes, .cluster = r->cluster, .dynamic = r->dynamic,
        .movable = r->dynamic && !r->busy && (!r->last_move_ms || now - r->last_move_ms >= dwell),
        .cores = r->x[0]};
  }
  double cap[SHARD_CLASSES];
  dc_shard_capacity(nodes, j->nnodes, cls, j->ncls, cap);
  for (size_t c = 0; c < j->ncls; c++) {
    s->cls[c].capacity = cap[c];
    s->cls[c].nodes = s->cls[c].dynamic = 0;
    for (size_t i = 0; i < j->nnodes; i++) {
      bool serves = nodes[i].dynamic ? !strcmp(nodes[i].cluster, cls[c].name)
                                     : dc_csv_has(nodes[i].classes, cls[c].name);
      s->cls[c].nodes += serves;
      s->cls[c].dynamic += serves && nodes[i].dynamic;
    }
  }
  struct dc_shard_move mv[SHARD_MOVES_MAX];
  size_t nmv = 0;
  dc_shard_plan(nodes, j->nnodes, cls, j->ncls, SHARD_DEADBAND, SHARD_MOVES_MAX, mv, &nmv);
  for (size_t k = 0; k < nmv; k++) {
    const struct shard_class *to = &s->cls[mv[k].to];
    const char *from = mv[k].from == SIZE_MAX ? j->nodes[mv[k].node].cluster
                                              : s->cls[mv[k].from].name;
    char why[DC_CLUSTER_REASON_MAX];
    snprintf(why, sizeof why,
             "forecast: %s needs %.1f cores (%s %.1f, %.1f queued), has %.1f; %s has %.1f spare",
             to->name, to->demand, method_names[to->method], fmax(to->f1, to->f2),
             to->queued, cap[mv[k].to], from, mv[k].spare_cores);
    struct dc_cluster_item it = {.cluster = (char *)to->name, .group = DC_GROUP_KEEP};
    memcpy(it.node_id, j->nodes[mv[k].node].pk, DC_PK_BYTES);
    propose_set(m, &it, 1, why);
    DC_INFO("shards", "move node=%.16s from=%s to=%s reason=\"%s\"",
            j->nodes[mv[k].node].id, from, to->name, why);
  }
  dc_free(nodes);
}

static void forecast_done(uv_work_t *w, int status) {
  struct shard_job *j = w->data;
  struct dc_master *m = j->m;
  struct shards *s = m->shards;
  s->busy = false;
  if (status == 0 && !m->stopping && dc_log_is_leader(m->log)) {
    s->runs++;
    s->k = j->k;
    /* Nobody to group or move yet: look again at the next tick rather than
     * a whole interval later (a fresh cloud's providers are registering). */
    if (!j->nnodes) s->last_run_ms = 0;
    propose_groups(m, j);
    plan_moves(m, j);
    if (s->inflight) s->busy = true; /* until the proposals are applied */
  }
  free_job(j);
}

void master_shards_tick(struct dc_master *m) {
  struct shards *s = m->shards;
  if (!s || m->stopping || s->busy || dc_fsm_schema_version(m->fsm) < 4) return;
  int64_t now = dc_now_ms();
  if (s->last_run_ms && now - s->last_run_ms < (int64_t)m->cfg.cluster_interval_ms) return;
  s->last_run_ms = now;
  feed_jobs(m);
  /* Every class some live provider accepts is a cluster, with or without
   * history. */
  struct shard_job *j = dc_calloc(1, sizeof *j);
  if (!j) return;
  j->m = m;
  j->bucket_now = now / bucket_ms(m);
  if (load_nodes(m, j)) {
    free_job(j);
    return;
  }
  for (size_t i = 0; i < j->nnodes; i++) {
    const char *p = j->nodes[i].classes;
    while (p && *p) {
      size_t l = strcspn(p, ",");
      char name[DC_JOBSPEC_CLASS_MAX + 1];
      if (l && l <= DC_JOBSPEC_CLASS_MAX) {
        snprintf(name, sizeof name, "%.*s", (int)l, p);
        class_get(s, name);
      }
      p = p[l] ? p + l + 1 : NULL;
    }
  }
  load_queue(m, j);
  /* Completed buckets since history began, at most the window. */
  int64_t first = s->first_bucket < 0 ? j->bucket_now : s->first_bucket;
  int64_t n = j->bucket_now - first;
  if (n > SHARD_BUCKETS - 1) n = SHARD_BUCKETS - 1;
  j->n = (size_t)(n > 0 ? n : 0);
  j->ncls = s->ncls;
  for (size_t c = 0; c < j->ncls; c++) {
    j->series[c] = dc_calloc(j->n ? j->n : 1, sizeof(double));
    if (!j->series[c]) {
      free_job(j);
      return;
    }
    for (size_t i = 0; i < j->n; i++) {
      int64_t b = j->bucket_now - (int64_t)j->n + (int64_t)i;
      size_t slot = (size_t)(b % SHARD_BUCKETS);
      j->series[c][i] = s->cls[c].bucket_of[slot] == b ? s->cls[c].cores[slot] : 0;
    }
  }
  j->work.data = j;
  s->busy = true;
  if (uv_queue_work(m->loop, &j->work, forecast_work, forecast_done)) {
    s->busy = false;
    free_job(j);
  }
}

/* ---- GET /v1/clusters ---------------------------------------------------- */

static json_t *recent_moves(struct dc_master *m, const char *cls) {
  json_t *arr = json_array();
  sqlite3_stmt *st = prep(m, "SELECT idx, node_id, from_cluster, to_cluster, reason, ts_ms"
                             " FROM cluster_moves WHERE to_cluster = ?1 OR from_cluster = ?1"
                             " ORDER BY idx DESC, sub DESC LIMIT ?2");
  if (st) {
    sqlite3_bind_text(st, 1, cls, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, SHARD_RECENT);
    while (sqlite3_step(st) == SQLITE_ROW)
      json_array_append_new(
          arr, json_pack("{s:I, s:s, s:s, s:s, s:s, s:I}", "index",
                         (json_int_t)sqlite3_column_int64(st, 0), "node",
                         (const char *)sqlite3_column_text(st, 1), "from",
                         (const char *)sqlite3_column_text(st, 2), "to",
                         (const char *)sqlite3_column_text(st, 3), "reason",
                         (const char *)sqlite3_column_text(st, 4), "ts_ms",
                         (json_int_t)sqlite3_column_int64(st, 5)));
  }
  sqlite3_finalize(st);
  return arr;
}

static json_t *num_or_null(double v) { return isfinite(v) ? json_real(v) : json_null(); }

void api_clusters_list(struct dc_master *m, struct dc_httpd_req *r) {
  if (dc_fsm_schema_version(m->fsm) < 4) {
    dc_httpd_respond_error(r, 503, "AGAIN", "the state is not at schema version 4 yet");
    return;
  }
  struct shards *s = m->shards;
  bool leader = dc_log_is_leader(m->log);
  json_t *arr = json_array();
  for (size_t c = 0; s && c < s->ncls; c++) {
    const struct shard_class *sc = &s->cls[c];
    json_t *o = json_pack("{s:s, s:i, s:i, s:f, s:f}", "class", sc->name, "nodes",
                          (int)sc->nodes, "dynamic", (int)sc->dynamic, "capacity_cores",
                          sc->capacity, "queued_cores", sc->queued);
    json_object_set_new(o, "forecast",
                        json_pack("{s:s, s:f, s:f, s:f, s:I}", "method",
                                  method_names[sc->method], "current_bucket_cores", sc->f1,
                                  "next_bucket_cores", sc->f2, "demand_cores", sc->demand,
                                  "history_buckets", (json_int_t)sc->history));
    json_object_set_new(o, "mase", num_or_null(sc->mase));
    json_object_set_new(o, "mase_forecasts", json_integer((json_int_t)sc->nscored));
    if (!isfinite(sc->mase))
      json_object_set_new(o, "mase_reason",
                          json_string(sc->nscored ? "naive forecast error is zero so far"
                                                  : "no bucket forecast and finished yet"));
    json_object_set_new(o, "moves", recent_moves(m, sc->name));
    json_array_append_new(arr, o);
  }
  json_t *body = json_pack("{s:o, s:b, s:I, s:I, s:I, s:I, s:i}", "clusters", arr,
                           "leader", leader, "interval_ms",
                           (json_int_t)m->cfg.cluster_interval_ms, "bucket_s",
                           (json_int_t)m->cfg.forecast_bucket_s, "season_buckets",
                           (json_int_t)m->cfg.forecast_season, "runs",
                           (json_int_t)(s ? s->runs : 0), "k", s ? (int)s->k : 0);
  if (!leader)
    json_object_set_new(body, "note",
                        json_string("forecasts are computed by the leader; ask it for them"));
  api_reply_json(r, 200, body);
}
