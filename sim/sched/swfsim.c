/* SPDX-License-Identifier: Apache-2.0
 * Event-driven replay of an SWF log in virtual time. Jobs arrive at their
 * submit time, wait in one queue, and run gang-scheduled on as many nodes
 * as their width needs (every process must be placed before any starts);
 * a job's runtime stretches with its slowest node. Node failures kill the
 * jobs on the node, which go back to the queue and start over. Queue
 * discipline per policy: strict FCFS for the node-choice baselines, EASY
 * backfilling with user estimates, and for the learned policy EASY with
 * predicted runtimes over a queue ordered by expected slowdown. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "predict/predict.h"
#include "sim/sched/sim_int.h"

enum { EV_SUBMIT, EV_END, EV_FAIL, EV_REPAIR };

struct ev {
  double t;
  uint64_t seq;
  uint32_t kind, id, gen;
};

struct evq {
  struct ev *a;
  size_t n, cap;
  uint64_t seq;
};

static bool ev_less(const struct ev *x, const struct ev *y) {
  if (x->t != y->t) return x->t < y->t;
  return x->seq < y->seq;
}

static int ev_push(struct evq *q, double t, uint32_t kind, uint32_t id,
                   uint32_t gen) {
  if (q->n == q->cap) {
    size_t nc = q->cap ? q->cap * 2 : 1024;
    struct ev *na = dc_realloc(q->a, nc * sizeof *na);
    if (!na) return DC_ENOMEM;
    q->a = na;
    q->cap = nc;
  }
  struct ev e = {t, q->seq++, kind, id, gen};
  size_t i = q->n++;
  while (i > 0 && ev_less(&e, &q->a[(i - 1) / 2])) {
    q->a[i] = q->a[(i - 1) / 2];
    i = (i - 1) / 2;
  }
  q->a[i] = e;
  return DC_OK;
}

static struct ev ev_pop(struct evq *q) {
  struct ev top = q->a[0], last = q->a[--q->n];
  size_t i = 0;
  for (;;) {
    size_t c = 2 * i + 1;
    if (c >= q->n) break;
    if (c + 1 < q->n && ev_less(&q->a[c + 1], &q->a[c])) c++;
    if (!ev_less(&q->a[c], &last)) break;
    q->a[i] = q->a[c];
    i = c;
  }
  if (q->n) q->a[i] = last;
  return top;
}

enum { J_FUTURE, J_WAIT, J_RUN, J_DONE, J_UNPLACED };

struct piece {
  uint32_t node, cores;
};

struct jstate {
  int st;
  uint32_t gen;
  double start, end, pred;        /* pred: the runtime the policy believes */
  struct piece *pieces;
  uint32_t npieces;
};

struct swfsim {
  const struct sim_workload *w;
  enum sim_policy pol;
  const struct sim_opts *o;
  struct dc_sched_res *nodes;
  double *speed;                  /* true speed (the learned view estimates it) */
  double *work, *fair;            /* provider shares: core-seconds assigned */
  struct jstate *js;
  struct evq evq;
  size_t *queue, nqueue;          /* waiting jobs, by submit order */
  size_t *run, nrun;
  struct dc_sched_ctx ctx;
  struct dc_rtpred *pred;
  struct dc_reliab *rel;
  struct sim_timer tm;
  uint64_t rng;
  double cost, useful, max_user_est;
  size_t finished, unplaced, killed;
  uint64_t total_cores;
};

static struct dc_pred_job features(const struct sim_job *j) {
  return (struct dc_pred_job){.user = j->user, .group = j->group,
                              .app = j->app, .queue = j->queue,
                              .req_cpus = j->procs, .req_time_s = j->est_s,
                              .submit_s = j->submit_s};
}

static uint64_t free_cores(const struct swfsim *s) {
  uint64_t f = 0;
  for (size_t i = 0; i < s->w->nnodes; i++)
    if (!s->nodes[i].down)
      f += (s->nodes[i].cpu_millis - s->nodes[i].used_cpu_millis) / 1000;
  return f;
}

static void queue_insert(struct swfsim *s, size_t j) {
  size_t i = s->nqueue;
  while (i > 0 && s->queue[i - 1] > j) {
    s->queue[i] = s->queue[i - 1];
    i--;
  }
  s->queue[i] = j;
  s->nqueue++;
}

static void queue_remove(struct swfsim *s, size_t j) {
  for (size_t i = 0; i < s->nqueue; i++)
    if (s->queue[i] == j) {
      memmove(&s->queue[i], &s->queue[i + 1], (s->nqueue - i - 1) * sizeof *s->queue);
      s->nqueue--;
      return;
    }
}

static void run_remove(struct swfsim *s, size_t j) {
  for (size_t i = 0; i < s->nrun; i++)
    if (s->run[i] == j) {
      s->run[i] = s->run[--s->nrun];
      return;
    }
}

/* Gives a job's cores back and charges their time at the posted price. */
static void release(struct swfsim *s, size_t j, double now) {
  struct jstate *st = &s->js[j];
  for (uint32_t k = 0; k < st->npieces; k++) {
    struct dc_sched_res *n = &s->nodes[st->pieces[k].node];
    n->used_cpu_millis -= st->pieces[k].cores * 1000;
    n->version++;
    s->cost += st->pieces[k].cores * (now - st->start) / 3600.0 * n->price_cpu_hour;
  }
  DC_FREE(st->pieces);
  st->npieces = 0;
}

/* The learned policy sees node speed and risk only as estimated from what
 * it has observed, never the simulator's true values. */
static void refresh_view(struct swfsim *s) {
  if (s->pol != SIM_LEARNED) return;
  for (size_t i = 0; i < s->w->nnodes; i++) {
    s->nodes[i].speed = dc_reliab_speed(s->rel, i);
    s->nodes[i].fail_prob = dc_reliab_fail_prob(s->rel, i);
  }
}

static int start_job(struct swfsim *s, size_t j, double now) {
  const struct sim_job *job = &s->w->jobs[j];
  struct jstate *st = &s->js[j];
  st->pieces = dc_malloc(DC_MIN(job->procs, s->w->nnodes) * sizeof *st->pieces);
  if (!st->pieces) return DC_ENOMEM;
  struct dc_sched_req req = {.cpu_millis = 1000, .type = -1, .user = job->user,
                             .runtime_s = st->pred};
  uint32_t left = job->procs;
  double slowest = INFINITY;
  while (left) {
    size_t n;
    if (s->fair) {
      dc_sched_provider_fair(s->nodes, s->w->nnodes, s->work, s->ctx.w.provider_fair, s->fair);
      s->ctx.provider_fair = s->fair;
    }
    /* The learned policy first looks for one node that holds the rest of
     * the job: a gang spread thin waits for its slowest member and dies
     * with any of its nodes. Only if none can does it take cores apart. */
    struct dc_sched_req whole = req;
    whole.cpu_millis = left * 1000;
    if (s->pol != SIM_LEARNED || left == 1 ||
        dc_sched_choose(&s->ctx, s->nodes, s->w->nnodes, &whole, NULL, &n) != DC_OK)
      /* The caller checked the free total, so some node has a core. */
      DC_ASSERT(dc_sched_choose(&s->ctx, s->nodes, s->w->nnodes, &req, NULL, &n) == DC_OK);
    struct dc_sched_res *nd = &s->nodes[n];
    uint32_t take = DC_MIN(left, (nd->cpu_millis - nd->used_cpu_millis) / 1000);
    nd->used_cpu_millis += take * 1000;
    nd->version++;
    st->pieces[st->npieces++] = (struct piece){(uint32_t)n, take};
    if (s->work) s->work[n] += take * st->pred; /* work assigned, as predicted */
    slowest = DC_MIN(slowest, s->speed[n]);
    left -= take;
  }
  st->st = J_RUN;
  st->start = now;
  st->end = now + job->run_s / slowest;
  st->gen++;
  queue_remove(s, j);
  s->run[s->nrun++] = j;
  return ev_push(&s->evq, st->end, EV_END, (uint32_t)j, st->gen);
}

/* The runtime the queue policy assumes for job j. */
static double estimate(const struct swfsim *s, size_t j) {
  const struct sim_job *job = &s->w->jobs[j];
  if (s->pol == SIM_LEARNED) return s->js[j].pred;
  if (job->est_s > 0) return job->est_s;
  return s->max_user_est > 0 ? s->max_user_est : 3600;
}

/* End the queue policy expects for running job j. Past it, EASY assumes
 * the job is about to end; the learned policy corrects its prediction to
 * the user's limit, or half as long again, so the head's reservation stays
 * honest (Tsafrir et al.'s correction). */
static double expected_end(struct swfsim *s, size_t j, double now) {
  struct jstate *st = &s->js[j];
  double e = st->start + estimate(s, j);
  if (e > now) return e;
  if (s->pol != SIM_LEARNED) return now + 60;
  double elapsed = now - st->start, lim = s->w->jobs[j].est_s;
  st->pred = lim > elapsed ? lim : elapsed * 1.5 + 60;
  return st->start + st->pred;
}

/* The learned queue order: highest expected slowdown first, (wait +
 * predicted runtime) / predicted runtime, i.e. Highest Response Ratio Next
 * on predictions. Short jobs go early, and a long job's ratio grows while
 * it waits, so nothing starves. */
struct order_ctx {
  const struct swfsim *s;
  double now;
};
static double ratio(const struct swfsim *s, size_t j, double now) {
  double p = DC_MAX(s->js[j].pred, 10.0);
  return (now - s->w->jobs[j].submit_s + p) / p;
}
static int by_ratio(const void *a, const void *b, void *arg) {
  const struct order_ctx *c = arg;
  size_t x = *(const size_t *)a, y = *(const size_t *)b;
  double rx = ratio(c->s, x, c->now), ry = ratio(c->s, y, c->now);
  if (rx != ry) return rx > ry ? -1 : 1;
  return (x > y) - (x < y);
}

static int schedule(struct swfsim *s, double now) {
  if (!s->nqueue) return DC_OK;
  refresh_view(s);
  double t0 = sim_now_us();
  size_t started = 0;
  int rc = DC_OK;
  if (s->pol != SIM_EASY && s->pol != SIM_LEARNED) {
    uint64_t fc = free_cores(s);
    while (s->nqueue && s->w->jobs[s->queue[0]].procs <= fc) {
      fc -= s->w->jobs[s->queue[0]].procs;
      if ((rc = start_job(s, s->queue[0], now))) return rc;
      started++;
    }
  } else {
    size_t nq = s->nqueue;
    struct dc_sched_running *run = dc_malloc((s->nrun + 1) * sizeof *run);
    struct dc_sched_waiting *q = dc_malloc(nq * sizeof *q);
    size_t *start = dc_malloc(nq * sizeof *start);
    size_t *jobs = dc_malloc(nq * sizeof *jobs);
    if (!run || !q || !start || !jobs) {
      rc = DC_ENOMEM;
    } else {
      for (size_t i = 0; i < s->nrun; i++)
        run[i] = (struct dc_sched_running){expected_end(s, s->run[i], now),
                                           s->w->jobs[s->run[i]].procs};
      memcpy(jobs, s->queue, nq * sizeof *jobs);
      if (s->pol == SIM_LEARNED) {
        struct order_ctx oc = {s, now};
        qsort_r(jobs, nq, sizeof *jobs, by_ratio, &oc);
      }
      for (size_t i = 0; i < nq; i++) {
        q[i] = (struct dc_sched_waiting){s->w->jobs[jobs[i]].procs,
                                         estimate(s, jobs[i])};
      }
      size_t ns;
      double shadow;
      rc = dc_sched_easy(now, (uint32_t)free_cores(s), run, s->nrun, q, nq, NULL,
                         start, &ns, &shadow);
      for (size_t i = 0; rc == DC_OK && i < ns; i++) {
        rc = start_job(s, jobs[start[i]], now);
        started++;
      }
    }
    dc_free(run);
    dc_free(q);
    dc_free(start);
    dc_free(jobs);
  }
  if (started) {
    double dt = (sim_now_us() - t0) / (double)started;
    for (size_t i = 0; i < started && rc == DC_OK; i++) rc = sim_timer_add(&s->tm, dt);
  }
  return rc;
}

static int on_end(struct swfsim *s, size_t j, double now) {
  struct jstate *st = &s->js[j];
  const struct sim_job *job = &s->w->jobs[j];
  for (uint32_t k = 0; k < st->npieces; k++)
    dc_reliab_observe(s->rel, st->pieces[k].node, true, job->run_s, now - st->start);
  s->useful += (double)job->procs * (now - st->start);
  release(s, j, now);
  run_remove(s, j);
  st->st = J_DONE;
  st->end = now;
  s->finished++;
  if (s->pred) {
    struct dc_pred_job f = features(job);
    int rc = dc_rtpred_observe(s->pred, &f, job->run_s);
    if (rc) return rc;
  }
  return DC_OK;
}

static int on_fail(struct swfsim *s, size_t n, double now) {
  struct dc_sched_res *nd = &s->nodes[n];
  nd->down = true;
  nd->version++;
  dc_reliab_observe(s->rel, n, false, 0, 0);
  for (size_t i = 0; i < s->nrun;) {
    size_t j = s->run[i];
    bool hit = false;
    for (uint32_t k = 0; k < s->js[j].npieces; k++)
      hit |= s->js[j].pieces[k].node == n;
    if (!hit) {
      i++;
      continue;
    }
    release(s, j, now);
    run_remove(s, j);
    s->js[j].st = J_WAIT;
    s->js[j].gen++; /* its END event is now stale */
    queue_insert(s, j);
    s->killed++;
  }
  return ev_push(&s->evq, now + s->o->mttr_h * 3600, EV_REPAIR, (uint32_t)n, 0);
}

static double exp_draw(uint64_t *rng, double mean) {
  return -log(1.0 - sim_rand01(rng)) * mean;
}

static int setup(struct swfsim *s) {
  const struct sim_workload *w = s->w;
  size_t nn = w->nnodes, nj = w->njobs;
  s->nodes = dc_malloc(nn * sizeof *s->nodes);
  s->speed = dc_malloc(nn * sizeof *s->speed);
  s->js = dc_calloc(nj, sizeof *s->js);
  s->queue = dc_malloc(nj * sizeof *s->queue);
  s->run = dc_malloc(nj * sizeof *s->run);
  if (!s->nodes || !s->speed || !s->js || !s->queue || !s->run) return DC_ENOMEM;
  memcpy(s->nodes, w->nodes, nn * sizeof *s->nodes);
  s->rng = s->o->seed * 0x9E3779B97F4A7C15ull + 7;
  for (size_t i = 0; i < nn; i++) {
    double f = 1.0 + s->o->speed_spread * (2 * sim_rand01(&s->rng) - 1);
    s->speed[i] = w->nodes[i].speed * (f > 0.05 ? f : 0.05);
    s->nodes[i].speed = 1; /* policies see nominal speed unless they learn it */
    s->total_cores += w->nodes[i].cpu_millis / 1000;
  }
  int rc = dc_reliab_new(nn, &s->rel);
  if (rc) return rc;
  if (s->pol == SIM_LEARNED && s->o->provider_fair) {
    s->work = dc_calloc(nn, sizeof *s->work);
    s->fair = dc_calloc(nn, sizeof *s->fair);
    if (!s->work || !s->fair) return DC_ENOMEM;
  }
  if (s->pol == SIM_LEARNED) {
    struct dc_rtpred_config c;
    dc_rtpred_config_default(&c);
    c.seed = s->o->seed;
    c.xgb_threads = 1;
    if ((rc = dc_rtpred_new(&c, &s->pred))) return rc;
  }
  s->ctx = (struct dc_sched_ctx){.rng = s->o->seed};
  dc_sched_weights_default(&s->ctx.w);
  switch (s->pol) {
    case SIM_RANDOM: s->ctx.kind = DC_SCHED_RANDOM; break;
    case SIM_BEST_FIT: s->ctx.kind = DC_SCHED_BEST_FIT; break;
    case SIM_K8S: s->ctx.kind = DC_SCHED_K8S; break;
    case SIM_LEARNED: s->ctx.kind = DC_SCHED_LEARNED; break;
    default: s->ctx.kind = DC_SCHED_FIRST_FIT; break;
  }
  for (size_t j = 0; j < nj; j++)
    if ((rc = ev_push(&s->evq, w->jobs[j].submit_s, EV_SUBMIT, (uint32_t)j, 0)))
      return rc;
  if (s->o->mtbf_h > 0)
    for (size_t i = 0; i < nn; i++)
      if ((rc = ev_push(&s->evq, w->jobs[0].submit_s + exp_draw(&s->rng, s->o->mtbf_h * 3600),
                        EV_FAIL, (uint32_t)i, 0)))
        return rc;
  return DC_OK;
}

static int on_event(struct swfsim *s, const struct ev *e) {
  const struct sim_workload *w = s->w;
  switch (e->kind) {
    case EV_SUBMIT: {
      const struct sim_job *job = &w->jobs[e->id];
      if (job->est_s > s->max_user_est) s->max_user_est = job->est_s;
      if (job->procs > s->total_cores) {
        s->js[e->id].st = J_UNPLACED;
        s->unplaced++;
        return DC_OK;
      }
      if (s->pred) {
        struct dc_pred_job f = features(job);
        struct dc_pred p;
        int rc = dc_rtpred_predict(s->pred, &f, &p);
        if (rc) return rc;
        /* Jobs are killed at their limit, so no prediction exceeds it. */
        s->js[e->id].pred = job->est_s > 0 ? DC_MIN(p.value, job->est_s) : p.value;
      }
      s->js[e->id].st = J_WAIT;
      queue_insert(s, e->id);
      return DC_OK;
    }
    case EV_END:
      if (s->js[e->id].st != J_RUN || s->js[e->id].gen != e->gen) return DC_OK;
      return on_end(s, e->id, e->t);
    case EV_FAIL:
      return on_fail(s, e->id, e->t);
    default: /* EV_REPAIR */
      s->nodes[e->id].down = false;
      s->nodes[e->id].version++;
      return ev_push(&s->evq, e->t + exp_draw(&s->rng, s->o->mtbf_h * 3600),
                     EV_FAIL, e->id, 0);
  }
}

static void figures(struct swfsim *s, struct sim_result *r) {
  const struct sim_workload *w = s->w;
  double *wait = dc_malloc((w->njobs ? w->njobs : 1) * sizeof *wait);
  double sum_w = 0, sum_b = 0, first = INFINITY, last = 0;
  size_t n = 0;
  for (size_t j = 0; j < w->njobs && wait; j++) {
    const struct jstate *st = &s->js[j];
    if (st->st != J_DONE) continue;
    double wt = st->start - w->jobs[j].submit_s, rt = st->end - st->start;
    wait[n++] = wt;
    sum_w += wt;
    sum_b += DC_MAX(1.0, (wt + rt) / DC_MAX(rt, 10.0));
    first = DC_MIN(first, w->jobs[j].submit_s);
    last = DC_MAX(last, st->end);
  }
  r->fig[SIM_MEAN_WAIT] = n ? sum_w / (double)n : 0;
  r->fig[SIM_P95_WAIT] = sim_percentile(wait, n, 95);
  r->fig[SIM_BSLD] = n ? sum_b / (double)n : 0;
  r->fig[SIM_MAKESPAN] = n ? last - first : 0;
  r->fig[SIM_UTIL] = n && last > first
                         ? s->useful / ((double)s->total_cores * (last - first))
                         : 0;
  r->fig[SIM_COST] = s->cost;
  r->fig[SIM_UNPLACED] = (double)(w->njobs - s->finished);
  r->why[SIM_GPU_ALLOC] = r->why[SIM_GPU_FRAG] = "no GPUs in workload";
  r->fig[SIM_DEC_P50] = sim_percentile(s->tm.us, s->tm.n, 50);
  r->fig[SIM_DEC_P99] = sim_percentile(s->tm.us, s->tm.n, 99);
  r->started = s->finished;
  r->killed = s->killed;
  dc_free(wait);
}

int sim_run_swf(const struct sim_workload *w, enum sim_policy p,
                const struct sim_opts *o, struct sim_result *r) {
  struct swfsim s = {.w = w, .pol = p, .o = o};
  int rc = setup(&s);
  while (rc == DC_OK && s.evq.n && s.finished + s.unplaced < w->njobs) {
    double now = s.evq.a[0].t;
    /* Every event at this instant first, then one scheduling pass. */
    while (rc == DC_OK && s.evq.n && s.evq.a[0].t == now) {
      struct ev e = ev_pop(&s.evq);
      rc = on_event(&s, &e);
    }
    if (rc == DC_OK) rc = schedule(&s, now);
  }
  if (rc == DC_OK) figures(&s, r);
  for (size_t j = 0; s.js && j < w->njobs; j++) dc_free(s.js[j].pieces);
  dc_sched_ctx_close(&s.ctx);
  dc_rtpred_free(s.pred);
  dc_reliab_free(s.rel);
  dc_free(s.tm.us);
  dc_free(s.evq.a);
  dc_free(s.nodes);
  dc_free(s.speed);
  dc_free(s.work);
  dc_free(s.fair);
  dc_free(s.js);
  dc_free(s.queue);
  dc_free(s.run);
  return rc;
}
