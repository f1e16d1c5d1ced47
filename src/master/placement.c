/* SPDX-License-Identifier: Apache-2.0
 * The leader's placement pass: read pending tasks and live nodes from the
 * state, call the pure scheduler, propose one TASK_ASSIGN batch. It never
 * writes state itself; one batch is in flight at a time. */
#include <jansson.h>

#include "jobspec/jobspec.h"
#include "master/master_int.h"
#include "predict/predict.h"
#include "sched/sched.h"

/* Pending tasks one pass looks at, highest priority first. A pass runs
 * after every change, so a small window keeps each pass cheap when the
 * queue is long (reading the whole queue to place the one task that fits
 * made placement quadratic in queue length). */
#define PLACE_TASKS_MAX 128
#define PLACE_NODES_MAX 4096

const double dc_master_lat_bounds_ms[METRIC_LAT_BUCKETS] = {
    1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000};

struct job_cache {
  char id[64];
  struct dc_jobspec *spec;
  struct dc_sched_label *labels;
};

struct node_row {
  struct dc_sched_node n;
  char *id, *classes, *labels_json;
  struct dc_sched_label *labels;
  json_t *labels_obj;
};

static void sched_cb(uv_timer_t *t);

void master_placement_init(struct dc_master *m) {
  uv_timer_init(m->loop, &m->sched);
  m->sched.data = m;
}

void master_schedule_soon(struct dc_master *m) {
  if (m->stopping) return;
  m->work_dirty = true;
  if (!m->assign_in_flight) uv_timer_start(&m->sched, sched_cb, 0, 0);
}

/* The classes a node serves now: a dynamic provider serves the one cluster
 * the masters put it in (schema v4), a fixed one every class it declares. */
#define NODE_SERVES "CASE WHEN n.role = 'dynamic' THEN n.cluster ELSE n.classes END"
#define LOAD_NODES(classes)                                                    \
  "SELECT n.id, n.cpu_millis, n.memory_mb, n.disk_mb, n.gpu,"                  \
  " n.price_cpu_hour, n.lat, n.lon, " classes ", n.labels,"                    \
  " IFNULL(SUM(t.cpu_millis),0), IFNULL(SUM(t.memory_mb),0),"                  \
  " IFNULL(SUM(t.disk_mb),0), IFNULL(SUM(t.gpu),0)"                            \
  " FROM nodes n LEFT JOIN tasks t ON t.node_id = n.id AND"                    \
  " t.state IN ('assigned','running') WHERE n.state='alive'"                   \
  " GROUP BY n.id ORDER BY n.id LIMIT ?1"

static int load_nodes(struct dc_master *m, struct node_row **out, size_t *n) {
  static const char *sql_v4 = LOAD_NODES(NODE_SERVES);
  static const char *sql_v3 = LOAD_NODES("n.classes");
  sqlite3_stmt *s =
      master_read_stmt(m, dc_fsm_schema_version(m->fsm) >= 4 ? sql_v4 : sql_v3);
  if (!s) return DC_EDB;
  sqlite3_bind_int(s, 1, PLACE_NODES_MAX);
  struct node_row *v = NULL;
  size_t nv = 0, cap = 0;
  while (sqlite3_step(s) == SQLITE_ROW) {
    const char *id = (const char *)sqlite3_column_text(s, 0);
    /* Only nodes with a registered session can be handed work now. */
    struct session *ss = master_session_find(m, id);
    if (!ss || !ss->registered || ss->closed) continue;
    /* A provider below the ledger's minimum stake receives no work. */
    if (!master_node_staked(m, id)) continue;
    if (nv == cap) {
      cap = cap ? cap * 2 : 16;
      struct node_row *nvp = dc_realloc(v, cap * sizeof *v);
      if (!nvp) break;
      v = nvp;
    }
    struct node_row *r = &v[nv++];
    memset(r, 0, sizeof *r);
    r->id = dc_strdup(id);
    r->classes = dc_strdup((const char *)sqlite3_column_text(s, 8));
    r->labels_obj = json_loads((const char *)sqlite3_column_text(s, 9), 0, NULL);
    size_t nl = json_is_object(r->labels_obj) ? json_object_size(r->labels_obj) : 0;
    r->labels = dc_calloc(nl ? nl : 1, sizeof *r->labels);
    const char *k;
    json_t *val;
    size_t li = 0;
    if (nl && r->labels) {
      json_object_foreach(r->labels_obj, k, val) {
        if (!json_is_string(val)) continue;
        r->labels[li].key = k;
        r->labels[li].value = json_string_value(val);
        li++;
      }
    }
    r->n = (struct dc_sched_node){
        .id = r->id,
        .cpu_millis = (uint32_t)sqlite3_column_int64(s, 1),
        .memory_mb = (uint64_t)sqlite3_column_int64(s, 2),
        .disk_mb = (uint64_t)sqlite3_column_int64(s, 3),
        .gpu = (uint32_t)sqlite3_column_int64(s, 4),
        .price_cpu_hour = (uint64_t)sqlite3_column_int64(s, 5),
        .lat = sqlite3_column_double(s, 6),
        .lon = sqlite3_column_double(s, 7),
        .classes = r->classes,
        .labels = r->labels,
        .nlabels = li,
        .used_cpu_millis = (uint32_t)sqlite3_column_int64(s, 10),
        .used_memory_mb = (uint64_t)sqlite3_column_int64(s, 11),
        .used_disk_mb = (uint64_t)sqlite3_column_int64(s, 12),
        .used_gpu = (uint32_t)sqlite3_column_int64(s, 13),
    };
  }
  sqlite3_reset(s);
  *out = v;
  *n = nv;
  return DC_OK;
}

static void free_nodes(struct node_row *v, size_t n) {
  for (size_t i = 0; i < n; i++) {
    dc_free(v[i].id);
    dc_free(v[i].classes);
    dc_free(v[i].labels);
    json_decref(v[i].labels_obj);
  }
  dc_free(v);
}

static struct job_cache *job_get(struct job_cache *jc, size_t *njc,
                                 struct dc_master *m, const char *job_id) {
  for (size_t i = 0; i < *njc; i++)
    if (strcmp(jc[i].id, job_id) == 0) return jc[i].spec ? &jc[i] : NULL;
  struct job_cache *e = &jc[(*njc)++];
  memset(e, 0, sizeof *e);
  snprintf(e->id, sizeof e->id, "%s", job_id);
  static const char *sql = "SELECT spec FROM jobs WHERE id=?1";
  sqlite3_stmt *s = master_read_stmt(m, sql);
  if (!s) return NULL;
  sqlite3_bind_text(s, 1, job_id, -1, SQLITE_STATIC);
  if (sqlite3_step(s) == SQLITE_ROW) {
    const char *spec = (const char *)sqlite3_column_text(s, 0);
    struct dc_errmsg err;
    if (dc_jobspec_parse(spec, strlen(spec), &e->spec, &err) != DC_OK)
      e->spec = NULL;
  }
  sqlite3_reset(s);
  if (!e->spec) return NULL;
  const struct dc_jobspec_constraints *c = &e->spec->constraints;
  e->labels = dc_calloc(c->nlabels ? c->nlabels : 1, sizeof *e->labels);
  for (size_t i = 0; e->labels && i < c->nlabels; i++)
    e->labels[i] = (struct dc_sched_label){c->labels[i].key, c->labels[i].value};
  return e;
}

static void on_assigned(struct dc_master *m, const struct dc_fsm_result *r,
                        void *ud) {
  uint64_t started_ns = *(uint64_t *)ud;
  dc_free(ud);
  m->assign_in_flight = false;
  double ms = (double)(dc_mono_ns() - started_ns) / 1e6;
  size_t b = 0;
  while (b < METRIC_LAT_BUCKETS && ms > dc_master_lat_bounds_ms[b]) b++;
  m->placement_hist[b]++;
  m->placement_sum_ms += ms;
  m->placement_count++;
  if (r->code != DC_OK && r->code != DC_ECONFLICT)
    DC_WARN("sched", "assign code=%s msg=\"%s\"", dc_err_name(r->code), r->message);
  master_dispatch(m);
  if (m->work_dirty) master_schedule_soon(m);
}

/* Up to this many candidates are kept in a task's explanation. */
#define EXPLAIN_TOP 8

static int by_score(const void *a, const void *b) {
  const struct dc_sched_cand *x = a, *y = b;
  if (x->score != y->score) return x->score < y->score ? -1 : 1;
  return x->node < y->node ? -1 : x->node > y->node;
}

/* Why a task went where it did (or nowhere): the policy, the best-scored
 * candidates, how many nodes each constraint filtered. Local to this
 * master (the leader decides; the log records only the assignment). */
static json_t *build_explain(struct dc_master *m, const struct dc_sched_node *sn,
                           const struct dc_sched_res *res,
                           const struct dc_sched_task *t, double runtime_s,
                           struct dc_sched_explain *ex, size_t constraint_filtered[4]) {
  static const char *const cname[4] = {"class", "labels", "price", "distance"};
  json_t *cands = json_array(), *filt = json_object();
  size_t n = DC_MIN(ex->n, ex->cap);
  qsort(ex->cand, n, sizeof *ex->cand, by_score);
  size_t shown = 0;
  for (size_t i = 0; i < n && shown < EXPLAIN_TOP; i++) {
    if (ex->cand[i].why != DC_SCHED_OK) continue;
    uint32_t k = ex->cand[i].node;
    json_array_append_new(cands, json_pack("{s:s, s:f, s:f, s:f}", "node", sn[k].id,
                                           "cost", ex->cand[i].score, "fail_prob",
                                           res[k].fail_prob, "speed", res[k].speed));
    shown++;
  }
  for (int w = 1; w < DC_SCHED_WHYS; w++)
    if (ex->filtered[w])
      json_object_set_new(filt, dc_sched_why_name((enum dc_sched_why)w),
                          json_integer((json_int_t)ex->filtered[w]));
  for (int k = 0; k < 4; k++)
    if (constraint_filtered[k])
      json_object_set_new(filt, cname[k], json_integer((json_int_t)constraint_filtered[k]));
  json_t *o = json_pack("{s:s, s:s, s:i, s:o, s:o, s:s, s:f}", "task", t->id,
                        "policy", dc_sched_kind_name((enum dc_sched_kind)m->policy),
                        "attempt", (int)t->attempt, "candidates", cands, "filtered",
                        filt, "text", ex->text, "predicted_runtime_s", runtime_s);
  return o;
}

/* Stores an explanation with its final choice (NULL: not placed) and the
 * solver that made it; consumes o. */
static void store_explain(struct dc_master *m, const struct dc_sched_task *t, json_t *o,
                          const char *chosen, const char *solver) {
  if (!o) return;
  json_object_set_new(o, "chosen", chosen ? json_string(chosen) : json_null());
  json_object_set_new(o, "solver", json_string(solver));
  char *text = json_dumps(o, JSON_COMPACT);
  if (text) master_explain_put(m, t->id, t->attempt, text);
  free(text);
  json_decref(o);
}

/* DRF: each owner's dominant share of the live providers now (cpu or
 * memory of its assigned and running tasks, whichever is the larger
 * fraction). OUT: share[k] for the owners of this pass. */
static void dominant_shares(struct dc_master *m, const struct dc_sched_node *sn, size_t nn,
                            char (*uowner)[2 * DC_PK_BYTES + 1], size_t nusers,
                            double *share) {
  double cpu = 0, mem = 0;
  for (size_t i = 0; i < nn; i++) {
    cpu += sn[i].cpu_millis;
    mem += (double)sn[i].memory_mb;
  }
  static const char *sql =
      /* From the live nodes through tasks_node(node_id, state) (CROSS JOIN
       * fixes that order): a pass must not scan the whole task history. */
      "SELECT j.owner, SUM(t.cpu_millis), SUM(t.memory_mb) FROM nodes n"
      " CROSS JOIN tasks t ON t.node_id = n.id AND t.state IN ('assigned','running')"
      " JOIN jobs j ON j.id = t.job_id WHERE n.state = 'alive' GROUP BY j.owner";
  sqlite3_stmt *s = master_read_stmt(m, sql);
  if (!s || cpu <= 0 || mem <= 0) return;
  while (sqlite3_step(s) == SQLITE_ROW) {
    const char *o = (const char *)sqlite3_column_text(s, 0);
    for (size_t u = 1; u < nusers; u++)
      if (!strcmp(uowner[u], o))
        share[u] = DC_MAX((double)sqlite3_column_int64(s, 1) / cpu,
                          (double)sqlite3_column_int64(s, 2) / mem);
  }
  sqlite3_reset(s);
}

/* The matching policies on the live state. Tasks come in priority order;
 * the tasks of one job share its constraints, so each run of them is one
 * group: nodes the job's constraints exclude are marked down, then the
 * learned policy assigns the group in one batch (min-cost flow over the
 * cheapest candidates, users served in DRF order), and a baseline chooses
 * task by task. Every decision is explained from the state the group saw.
 * Resources are taken as tasks are placed, so a pass never over-commits. */
static void place_policy(struct dc_master *m, const struct dc_sched_node *sn, size_t nn,
                         const struct dc_sched_task *tasks, size_t nt,
                         const double *runtime, char (*owners)[2 * DC_PK_BYTES + 1],
                         struct dc_sched_assignment *out, size_t *nout) {
  *nout = 0;
  struct dc_sched_res *res = dc_calloc(nn, sizeof *res);
  uint64_t *disk_used = dc_calloc(nn, sizeof *disk_used);
  struct dc_sched_cand *cand = dc_calloc(nn, sizeof *cand);
  struct dc_sched_req *reqs = dc_calloc(nt ? nt : 1, sizeof *reqs);
  size_t *node_of = dc_calloc(nt ? nt : 1, sizeof *node_of);
  struct dc_sched_alloc *allocs = dc_calloc(nt ? nt : 1, sizeof *allocs);
  char (*uowner)[2 * DC_PK_BYTES + 1] = dc_calloc(nt + 1, sizeof *uowner);
  double *share = dc_calloc(nt + 1, sizeof *share);
  double *work = dc_calloc(nn ? nn : 1, sizeof *work);
  double *fair = dc_calloc(nn ? nn : 1, sizeof *fair);
  if (!res || !disk_used || !cand || !reqs || !node_of || !allocs || !uowner || !share ||
      !work || !fair)
    goto done;
  for (size_t i = 0; i < nn; i++) {
    res[i] = (struct dc_sched_res){
        .cpu_millis = sn[i].cpu_millis, .used_cpu_millis = sn[i].used_cpu_millis,
        .memory_mb = sn[i].memory_mb, .used_memory_mb = sn[i].used_memory_mb,
        .price_cpu_hour = (double)sn[i].price_cpu_hour,
        .has_loc = true, .lat = sn[i].lat, .lon = sn[i].lon};
    /* Whole GPUs, as the spine counts them: the free ones at full share. */
    res[i].ngpu = DC_MIN(sn[i].gpu, (uint32_t)DC_SCHED_GPUS_MAX);
    for (uint32_t g = 0; g < res[i].ngpu; g++)
      res[i].gpu_free[g] = g + sn[i].used_gpu < sn[i].gpu ? 1000 : 0;
    disk_used[i] = sn[i].used_disk_mb;
    /* Risk and speed from the node's history (priors when it has none). */
    size_t k = master_reliab_slot(m, sn[i].id);
    res[i].speed = m->reliab && k != SIZE_MAX ? dc_reliab_speed(m->reliab, k) : 1.0;
    res[i].fail_prob = m->reliab && k != SIZE_MAX ? dc_reliab_fail_prob(m->reliab, k) : 0;
    work[i] = m->node_work && k != SIZE_MAX ? m->node_work[k] : 0;
  }
  /* Owners as small user ids (1..), for DRF. */
  size_t nusers = 1;
  for (size_t ti = 0; ti < nt; ti++) {
    size_t u = 1;
    while (u < nusers && strcmp(uowner[u], owners ? owners[ti] : "")) u++;
    if (u == nusers) snprintf(uowner[nusers++], sizeof uowner[0], "%s", owners ? owners[ti] : "");
    const struct dc_sched_task *t = &tasks[ti];
    reqs[ti] = (struct dc_sched_req){.cpu_millis = t->cpu_millis, .memory_mb = t->memory_mb,
                                     .num_gpu = t->gpu, .gpu_milli = t->gpu ? 1000 : 0,
                                     .type = -1, .user = (uint32_t)u,
                                     .runtime_s = runtime ? runtime[ti] : 0,
                                     .has_near = t->has_near, .near_lat = t->near_lat,
                                     .near_lon = t->near_lon};
  }
  dominant_shares(m, sn, nn, uowner, nusers, share);
  /* One local transaction for the pass's explanations, not one each. */
  sqlite3_exec(m->ldb, "BEGIN", NULL, NULL, NULL);
  struct dc_sched_ctx ctx = {.kind = (enum dc_sched_kind)m->policy,
                             .rng = 0x9E3779B97F4A7C15ull};
  dc_sched_weights_default(&ctx.w);
  bool batch = ctx.kind == DC_SCHED_LEARNED;
  /* Proportional shares across providers, from the recent work each did
   * (learning.c); the learned cost only. */
  dc_sched_provider_fair(res, nn, work, ctx.w.provider_fair, fair);
  if (batch) ctx.provider_fair = fair;
  for (size_t g0 = 0; g0 < nt;) {
    const struct dc_sched_task *t0 = &tasks[g0];
    size_t g1 = g0 + 1;
    uint64_t disk_max = t0->disk_mb;
    while (g1 < nt && tasks[g1].labels == t0->labels &&
           tasks[g1].service_class == t0->service_class) {
      disk_max = DC_MAX(disk_max, tasks[g1].disk_mb);
      g1++;
    }
    size_t constraint_filtered[4] = {0};
    for (size_t i = 0; i < nn; i++) {
      const char *why = dc_sched_eligible(&sn[i], t0);
      res[i].down = why || disk_used[i] + disk_max > sn[i].disk_mb;
      if (why) {
        int k = !strcmp(why, "class") ? 0 : !strcmp(why, "labels") ? 1
                : !strcmp(why, "price") ? 2 : 3;
        constraint_filtered[k]++;
      }
    }
    struct dc_sched_batch_result br = {0};
    json_t **why = dc_calloc(g1 - g0, sizeof *why);
    /* Explanations first, from the state the group starts from. */
    for (size_t ti = g0; ti < g1; ti++) {
      struct dc_sched_explain ex = {.cand = cand, .cap = nn};
      size_t node = SIZE_MAX;
      int rc = dc_sched_choose(&ctx, res, nn, &reqs[ti], &ex, &node);
      if (why) why[ti - g0] = build_explain(m, sn, res, &tasks[ti], reqs[ti].runtime_s, &ex,
                                            constraint_filtered);
      node_of[ti] = SIZE_MAX;
      if (!batch && rc == DC_OK) {
        node_of[ti] = node;
        dc_sched_take(&res[node], &reqs[ti], &allocs[ti]);
      }
    }
    if (batch) {
      struct dc_sched_batch_opts o = {.topk = 8, .max_exact = 4096,
                                      .user_share = share, .nusers = nusers};
      if (dc_sched_batch(&ctx, res, nn, &reqs[g0], g1 - g0, &o, &node_of[g0],
                         &allocs[g0], &br))
        for (size_t ti = g0; ti < g1; ti++) node_of[ti] = SIZE_MAX;
    }
    const char *solver = !batch ? "choose"
                         : br.solver == DC_SCHED_SOLVER_FLOW ? "min-cost flow" : "greedy";
    for (size_t ti = g0; ti < g1; ti++) {
      size_t node = node_of[ti];
      if (node != SIZE_MAX && disk_used[node] + tasks[ti].disk_mb > sn[node].disk_mb) {
        /* The policies see cpu, memory and GPUs; disk is checked here. */
        dc_sched_release(&res[node], &reqs[ti], &allocs[ti]);
        node = SIZE_MAX;
      }
      store_explain(m, &tasks[ti], why ? why[ti - g0] : NULL,
                    node != SIZE_MAX ? sn[node].id : NULL, solver);
      if (node == SIZE_MAX) continue;
      disk_used[node] += tasks[ti].disk_mb;
      out[(*nout)++] = (struct dc_sched_assignment){.task = ti, .node = node};
    }
    dc_free(why);
    g0 = g1;
  }
  sqlite3_exec(m->ldb, "COMMIT", NULL, NULL, NULL);
done:
  dc_free(res);
  dc_free(disk_used);
  dc_free(cand);
  dc_free(reqs);
  dc_free(node_of);
  dc_free(allocs);
  dc_free(uowner);
  dc_free(share);
  dc_free(work);
  dc_free(fair);
}

static void place(struct dc_master *m) {
  m->work_dirty = false;
  uint64_t t0 = dc_mono_ns();
  struct node_row *nodes = NULL;
  size_t nn = 0;
  if (load_nodes(m, &nodes, &nn) || nn == 0) {
    free_nodes(nodes, nn);
    return;
  }
  static const char *sql =
      "SELECT t.id, t.job_id, t.attempt, t.cpu_millis, t.memory_mb, t.disk_mb,"
      " t.gpu, t.priority, t.timeout_s, t.created_ms, j.owner,"
      " j.name || '/' || t.name"
      " FROM tasks t JOIN jobs j ON j.id = t.job_id WHERE t.state='pending'"
      " ORDER BY t.priority DESC, t.created_ms, t.job_id, t.seq LIMIT ?1";
  sqlite3_stmt *s = master_read_stmt(m, sql);
  if (!s) {
    free_nodes(nodes, nn);
    return;
  }
  sqlite3_bind_int(s, 1, PLACE_TASKS_MAX);
  struct dc_sched_task *tasks = dc_calloc(PLACE_TASKS_MAX, sizeof *tasks);
  char **ids = dc_calloc(PLACE_TASKS_MAX, sizeof *ids);
  struct job_cache *jc = dc_calloc(PLACE_TASKS_MAX, sizeof *jc);
  double *runtime = dc_calloc(PLACE_TASKS_MAX, sizeof *runtime);
  char (*owners)[2 * DC_PK_BYTES + 1] = dc_calloc(PLACE_TASKS_MAX, sizeof *owners);
  size_t nt = 0, njc = 0;
  while (tasks && ids && jc && sqlite3_step(s) == SQLITE_ROW) {
    struct job_cache *j = job_get(jc, &njc, m, (const char *)sqlite3_column_text(s, 1));
    if (!j) continue;
    ids[nt] = dc_strdup((const char *)sqlite3_column_text(s, 0));
    const struct dc_jobspec_constraints *c = &j->spec->constraints;
    tasks[nt] = (struct dc_sched_task){
        .id = ids[nt],
        .attempt = (uint32_t)sqlite3_column_int64(s, 2) + 1,
        .cpu_millis = (uint32_t)sqlite3_column_int64(s, 3),
        .memory_mb = (uint64_t)sqlite3_column_int64(s, 4),
        .disk_mb = (uint64_t)sqlite3_column_int64(s, 5),
        .gpu = (uint32_t)sqlite3_column_int64(s, 6),
        .priority = sqlite3_column_int(s, 7),
        .service_class = c->service_class,
        .labels = j->labels,
        .nlabels = c->nlabels,
        .has_max_price = c->has_max_price,
        .max_price = c->max_price,
        .has_near = c->has_near,
        .near_lat = c->near_lat,
        .near_lon = c->near_lon,
        .near_max_km = c->near_max_km,
    };
    if (owners)
      snprintf(owners[nt], sizeof owners[0], "%s", (const char *)sqlite3_column_text(s, 10));
    if (runtime && m->policy >= 0) {
      struct dc_pred_job f;
      master_task_features((const char *)sqlite3_column_text(s, 10),
                           (const char *)sqlite3_column_text(s, 11),
                           tasks[nt].cpu_millis, tasks[nt].memory_mb,
                           (uint32_t)sqlite3_column_int64(s, 8),
                           sqlite3_column_int64(s, 9), &f);
      runtime[nt] = master_predict_runtime(m, &f);
    }
    nt++;
  }
  sqlite3_reset(s);

  struct dc_sched_assignment *out = dc_calloc(nt ? nt : 1, sizeof *out);
  size_t nout = 0;
  struct dc_sched_policy pol;
  dc_sched_policy_default(&pol);
  /* node_row wraps dc_sched_node with the memory behind it: copy the
   * plain structs out for the pure scheduler. */
  struct dc_sched_node *sn = dc_calloc(nn, sizeof *sn);
  for (size_t i = 0; sn && i < nn; i++) sn[i] = nodes[i].n;
  if (out && sn && nt) {
    if (m->policy < 0)
      dc_sched_place(sn, nn, tasks, nt, &pol, out, &nout, NULL, NULL);
    else
      place_policy(m, sn, nn, tasks, nt, runtime, owners, out, &nout);
  }
  dc_free(sn);
  dc_free(runtime);
  dc_free(owners);
  if (nout > 0) {
    struct dc_cmd c = {.type = DC_CMD_TASK_ASSIGN};
    struct dc_assignment *items = dc_calloc(nout, sizeof *items);
    for (size_t i = 0; items && i < nout; i++) {
      items[i].task_id = (char *)tasks[out[i].task].id;
      items[i].attempt = tasks[out[i].task].attempt;
      dc_hex_decode(nodes[out[i].node].id, items[i].node_id, DC_PK_BYTES);
    }
    c.u.task_assign.items = items;
    c.u.task_assign.n = nout;
    uint64_t *t0p = dc_malloc(sizeof *t0p);
    if (items && t0p) {
      *t0p = t0;
      if (master_propose(m, &c, on_assigned, t0p) == DC_OK) {
        m->assign_in_flight = true;
        t0p = NULL;
      }
    }
    dc_free(t0p);
    dc_free(items);
  }
  for (size_t i = 0; i < nt; i++) dc_free(ids[i]);
  for (size_t i = 0; i < njc; i++) {
    dc_jobspec_free(jc[i].spec);
    dc_free(jc[i].labels);
  }
  dc_free(ids);
  dc_free(tasks);
  dc_free(jc);
  dc_free(out);
  free_nodes(nodes, nn);
}

static void sched_cb(uv_timer_t *t) {
  struct dc_master *m = t->data;
  if (m->stopping || m->assign_in_flight || !dc_log_is_leader(m->log)) return;
  if (!m->work_dirty) return;
  /* One read transaction per pass: nodes and tasks come from the same
   * snapshot, and SQLite does not open a read transaction per statement. */
  sqlite3_exec(m->rdb, "BEGIN", NULL, NULL, NULL);
  place(m);
  sqlite3_exec(m->rdb, "COMMIT", NULL, NULL, NULL);
}
