/* SPDX-License-Identifier: Apache-2.0
 * The simulation engine: a binary heap of events in virtual microseconds
 * (timer ticks, datagram and stream deliveries, crashes, tag updates), one
 * pure gossip core per member, and the measurements. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/base.h"
#include "gossip/gossip.h"
#include "sim/gossip/sim_int.h"

enum { EV_TICK, EV_DGRAM, EV_STREAM, EV_CRASH, EV_UPDATE, EV_SPING, EV_SACK };

struct ev {
  int64_t t_us;
  uint64_t seq;
  uint8_t *pkt;
  uint32_t node, len; /* len: datagram size, or tick generation */
  uint8_t kind;
  uint32_t from;        /* EV_SPING: the prober */
  int64_t deadline_us;  /* EV_SPING, EV_SACK: the prober closes the stream then */
};

struct episode { int64_t start_us, end_us; };

struct node {
  struct dc_gossip *g;
  struct sim *s;
  uint64_t rng;
  int64_t tick_at_us;
  uint32_t gen, idx;
  bool crashed, starved, fp_marked, pending;
  struct episode *ep;
  uint32_t nep;
  uint64_t tcp_pings0, tcp_saves0; /* counters at the end of the warm-up */
};

/* A timed tag update: when 99% of the other members have it (done_us), and
 * when each member got it (got_ms: 1 + ms after the update, 0: not yet), so
 * the members dissemination left out are counted. */
struct update {
  uint32_t node, inc, seen, target;
  int64_t t_us, done_us;
  uint32_t *got_ms;
};
#define SPREAD_MISS_S 5

struct sim {
  const struct simg_opts *o;
  const struct simg_scenario *sc;
  struct simg_model model;
  struct node *nodes;
  uint32_t n;
  struct ev *heap;
  size_t nheap, cap;
  uint64_t seq, net_rng, events;
  int64_t now_us, warm_us, end_us;
  /* measurements */
  uint64_t dgram_bytes, stream_bytes, fp, fp_members, starved_dd;
  uint64_t sping_bytes;
  struct ev *answering; /* the stream ping being handled (io_reply_stream) */
  int64_t *first_dead; /* per member, -1: not yet */
  double *all_detect;
  size_t nall, capall;
  struct update *upd;
  uint32_t nupd;
  uint32_t crashed;
};

static void heap_push(struct sim *s, struct ev e) {
  if (s->nheap == s->cap) {
    size_t nc = s->cap ? s->cap * 2 : 4096;
    struct ev *h = dc_realloc(s->heap, nc * sizeof *h);
    DC_ASSERT(h); /* the simulator is a program: out of memory ends it */
    s->heap = h;
    s->cap = nc;
  }
  e.seq = s->seq++;
  size_t i = s->nheap++;
  while (i > 0) {
    size_t p = (i - 1) / 2;
    struct ev *q = &s->heap[p];
    if (q->t_us < e.t_us || (q->t_us == e.t_us && q->seq < e.seq)) break;
    s->heap[i] = *q;
    i = p;
  }
  s->heap[i] = e;
}

static struct ev heap_pop(struct sim *s) {
  struct ev top = s->heap[0], last = s->heap[--s->nheap];
  size_t i = 0, n = s->nheap;
  for (;;) {
    size_t c = 2 * i + 1;
    if (c >= n) break;
    if (c + 1 < n && (s->heap[c + 1].t_us < s->heap[c].t_us ||
                      (s->heap[c + 1].t_us == s->heap[c].t_us && s->heap[c + 1].seq < s->heap[c].seq)))
      c++;
    if (last.t_us < s->heap[c].t_us || (last.t_us == s->heap[c].t_us && last.seq < s->heap[c].seq)) break;
    s->heap[i] = s->heap[c];
    i = c;
  }
  if (n) s->heap[i] = last;
  return top;
}

static uint32_t addr_node(const struct dc_gossip_addr *a) {
  return (uint32_t)a->ip[0] << 24 | (uint32_t)a->ip[1] << 16 | (uint32_t)a->ip[2] << 8 | a->ip[3];
}

static void node_addr(uint32_t i, struct dc_gossip_addr *a) {
  memset(a, 0, sizeof *a);
  a->family = 4;
  a->ip[0] = (uint8_t)(i >> 24);
  a->ip[1] = (uint8_t)(i >> 16);
  a->ip[2] = (uint8_t)(i >> 8);
  a->ip[3] = (uint8_t)i;
  a->port = 7946;
}

static uint64_t io_rand(void *data) { return simg_splitmix(&((struct node *)data)->rng); }

static void deliver(struct sim *s, uint32_t from, uint32_t to, const uint8_t *p, size_t n,
                    uint8_t kind, double extra_ms) {
  if (to >= s->n) return;
  uint8_t *c = dc_malloc(n ? n : 1);
  DC_ASSERT(c);
  memcpy(c, p, n);
  /* Small per-packet jitter (exponential, mean 0.2 ms) on top of the path. */
  double ms = simg_latency_ms(&s->model, from, to) * (kind == EV_STREAM ? 3.0 : 1.0) + extra_ms -
              0.2 * log(1.0 - simg_unit(&s->net_rng) * 0.999);
  heap_push(s, (struct ev){.t_us = s->now_us + (int64_t)(ms * 1000.0), .pkt = c,
                           .node = to, .len = (uint32_t)n, .kind = kind});
}

static void io_send(void *data, const struct dc_gossip_addr *to, const uint8_t *p, size_t n) {
  struct node *nd = data;
  struct sim *s = nd->s;
  if (s->now_us >= s->warm_us) s->dgram_bytes += n + DC_GOSSIP_SEAL_OVERHEAD;
  if (s->sc->loss > 0 && simg_unit(&s->net_rng) < s->sc->loss) return;
  deliver(s, nd->idx, addr_node(to), p, n, EV_DGRAM, 0);
}

static void io_send_stream(void *data, const struct dc_gossip_addr *to, const uint8_t *p,
                           size_t n) {
  struct node *nd = data;
  struct sim *s = nd->s;
  if (s->now_us >= s->warm_us) s->stream_bytes += n + DC_GOSSIP_SEAL_OVERHEAD;
  /* A stream is reliable (TCP); it pays a handshake and its transfer time
   * at 100 Mbit/s. */
  deliver(s, nd->idx, addr_node(to), p, n, EV_STREAM, (double)n * 8.0 / 100000.0);
}

/* Extra delay of one TCP segment's way through a lossy path: each loss
 * costs a retransmission timeout, doubling (Linux: 1 s for SYN and
 * SYN-ACK, 200 ms minimum for data). */
static double tcp_leg_ms(struct sim *s, double rto_ms) {
  double extra = 0;
  while (s->sc->loss > 0 && simg_unit(&s->net_rng) < s->sc->loss && extra < 60000) {
    extra += rto_ms;
    rto_ms *= 2;
  }
  return extra;
}

/* memberlist's TCP fallback ping: connect (SYN, SYN-ACK), then the ping
 * rides the handshake's last segment, so it arrives three one-way delays
 * later plus whatever retransmissions loss forced. The answer pays one
 * more way. Both are dropped if they land after the prober's deadline. */
static void io_ping_stream(void *data, const struct dc_gossip_addr *to, const uint8_t *p,
                           size_t n, uint32_t timeout_ms) {
  struct node *nd = data;
  struct sim *s = nd->s;
  uint32_t t = addr_node(to);
  if (t >= s->n) return;
  if (s->now_us >= s->warm_us) s->sping_bytes += n + DC_GOSSIP_SEAL_OVERHEAD + 4;
  double extra = tcp_leg_ms(s, 1000) + tcp_leg_ms(s, 1000) + tcp_leg_ms(s, 200);
  uint8_t *c = dc_malloc(n);
  DC_ASSERT(c);
  memcpy(c, p, n);
  double ms = simg_latency_ms(&s->model, nd->idx, t) * 3.0 + extra;
  heap_push(s, (struct ev){.t_us = s->now_us + (int64_t)(ms * 1000.0), .pkt = c, .node = t,
                           .len = (uint32_t)n, .kind = EV_SPING, .from = nd->idx,
                           .deadline_us = s->now_us + (int64_t)timeout_ms * 1000});
}

static void io_reply_stream(void *data, const uint8_t *p, size_t n) {
  struct node *nd = data;
  struct sim *s = nd->s;
  const struct ev *q = s->answering;
  if (!q) return;
  if (s->now_us >= s->warm_us) s->sping_bytes += n + DC_GOSSIP_SEAL_OVERHEAD + 4;
  uint8_t *c = dc_malloc(n);
  DC_ASSERT(c);
  memcpy(c, p, n);
  double ms = simg_latency_ms(&s->model, nd->idx, q->from) + tcp_leg_ms(s, 200);
  heap_push(s, (struct ev){.t_us = s->now_us + (int64_t)(ms * 1000.0), .pkt = c, .node = q->from,
                           .len = (uint32_t)n, .kind = EV_SACK, .deadline_us = q->deadline_us});
}

static void io_event(void *data, const struct dc_gossip_event *ev) {
  struct node *nd = data;
  struct sim *s = nd->s;
  uint32_t u = (uint32_t)(ev->id - 1);
  if (u >= s->n) return;
  struct node *victim = &s->nodes[u];
  if (ev->type == DC_GOSSIP_EV_DEAD) {
    if (victim->crashed) {
      double d = (double)(s->now_us - s->warm_us) / 1e6;
      if (s->first_dead[u] < 0) s->first_dead[u] = s->now_us;
      if (s->nall == s->capall) {
        s->capall = s->capall ? s->capall * 2 : 1024;
        s->all_detect = dc_realloc(s->all_detect, s->capall * sizeof *s->all_detect);
        DC_ASSERT(s->all_detect);
      }
      s->all_detect[s->nall++] = d;
    } else if (ev->by_self && s->now_us >= s->warm_us) {
      if (victim->starved) {
        s->starved_dd++;
      } else {
        s->fp++;
        if (!victim->fp_marked) {
          victim->fp_marked = true;
          s->fp_members++;
        }
      }
    }
    return;
  }
  if (ev->type == DC_GOSSIP_EV_UPDATE || ev->type == DC_GOSSIP_EV_JOIN) {
    for (uint32_t k = 0; k < s->nupd; k++) {
      struct update *up = &s->upd[k];
      if (up->node != u || !up->inc || ev->incarnation < up->inc || up->got_ms[nd->idx]) continue;
      up->got_ms[nd->idx] = 1 + (uint32_t)((s->now_us - up->t_us) / 1000);
      if (++up->seen == up->target) up->done_us = s->now_us;
    }
  }
}

static void reschedule(struct sim *s, struct node *nd) {
  int64_t d = dc_gossip_next_deadline(nd->g);
  if (d == INT64_MAX) return;
  int64_t t = d * 1000;
  if (t < s->now_us) t = s->now_us;
  if (nd->pending && nd->tick_at_us == t) return;
  nd->gen++;
  nd->pending = true;
  nd->tick_at_us = t;
  heap_push(s, (struct ev){.t_us = t, .node = nd->idx, .len = nd->gen, .kind = EV_TICK});
}

/* End of the starvation episode covering now, or -1. */
static int64_t starved_until(const struct node *nd, int64_t now) {
  for (uint32_t i = 0; i < nd->nep; i++)
    if (now >= nd->ep[i].start_us && now < nd->ep[i].end_us) return nd->ep[i].end_us;
  return -1;
}

static void plan_episodes(struct sim *s, struct node *nd, uint64_t *rng) {
  /* Starvation: the member's packet handling stalls for 5-30 s at a time
   * (its timers keep firing, as a starved receive path under a busy CPU
   * does), with exponential gaps of mean 20 s in between. */
  int64_t t = s->warm_us + (int64_t)(simg_unit(rng) * 20e6);
  while (t < s->end_us) {
    int64_t len = (int64_t)((5.0 + 25.0 * simg_unit(rng)) * 1e6);
    struct episode *e = dc_realloc(nd->ep, (nd->nep + 1) * sizeof *e);
    DC_ASSERT(e);
    nd->ep = e;
    nd->ep[nd->nep++] = (struct episode){t, t + len};
    t += len + (int64_t)(-20e6 * log(1.0 - simg_unit(rng) * 0.999));
  }
}

/* Plain SWIM is memberlist's defaults, shuffled round-robin included (the
 * issue's baseline); Lifeguard is ours, the daemon's protocol. */
static void sim_config(const struct simg_opts *o, bool lifeguard, struct dc_gossip_config *cfg) {
  if (!lifeguard) {
    dc_gossip_config_swim(cfg);
    cfg->coordinated_probes = o->swim_coordinated;
  } else {
    dc_gossip_config_daemon(cfg, o->daemon_timing);
    cfg->peer_coords = 0; /* the daemon's peer cache is a view, not protocol */
    cfg->coordinated_probes = o->coordinated;
    cfg->suspicion_checks = o->suspicion_checks;
  }
  cfg->tcp_ping = o->tcp_ping;
}

static int setup(struct sim *s, bool lifeguard, struct dc_gossip_dir *dir) {
  const uint32_t n = s->o->members;
  static const uint8_t tags[] = "role=provider;class=compute";
  struct dc_gossip_config cfg;
  sim_config(s->o, lifeguard, &cfg);
  for (uint32_t i = 0; i < n; i++) {
    struct node *nd = &s->nodes[i];
    nd->s = s;
    nd->idx = i;
    nd->rng = s->o->seed * 0x9e3779b97f4a7c15ULL + i + 1;
    cfg.self_id = i + 1;
    node_addr(i, &cfg.self_addr);
    struct dc_gossip_io io = {.data = nd, .rand = io_rand, .send = io_send,
                              .send_stream = io_send_stream, .ping_stream = io_ping_stream,
                              .reply_stream = io_reply_stream, .event = io_event};
    int rc = dc_gossip_new(&cfg, &io, dir, tags, sizeof tags - 1, 0, &nd->g);
    if (rc) return rc;
    /* Start from a converged view: everyone knows everyone. */
    for (uint32_t j = 0; j < n; j++) {
      if (j == i) continue;
      struct dc_gossip_addr a;
      node_addr(j, &a);
      rc = dc_gossip_seed(nd->g, j + 1, &a, tags, sizeof tags - 1, 0);
      if (rc) return rc;
    }
  }
  /* Faults are drawn from the seed alone, so both protocols face the same
   * crashes, starved members and episodes. */
  uint64_t rng = s->o->seed ^ 0x3c6ef372fe94f82bULL;
  uint32_t nstarved = (uint32_t)ceil(s->sc->starved_frac * n);
  if (s->sc->starved_frac > 0 && nstarved < 4) nstarved = 4;
  uint32_t ncrash = (uint32_t)ceil(s->sc->crash_frac * n);
  if (ncrash < s->sc->crash_min) ncrash = s->sc->crash_min;
  if (nstarved + ncrash + s->o->updates >= n) return DC_EINVAL;
  uint32_t picked = 0;
  while (picked < nstarved + ncrash + s->o->updates) {
    struct node *nd = &s->nodes[simg_splitmix(&rng) % n];
    if (nd->starved || nd->crashed || nd->pending) continue;
    if (picked < nstarved) {
      nd->starved = true;
      plan_episodes(s, nd, &rng);
    } else if (picked < nstarved + ncrash) {
      nd->crashed = true; /* marks the choice; reset until the crash event */
    } else {
      s->upd[picked - nstarved - ncrash].node = nd->idx;
      nd->pending = true; /* reused as "chosen" until ticks are scheduled */
    }
    picked++;
  }
  s->crashed = ncrash;
  for (uint32_t i = 0; i < n; i++) {
    struct node *nd = &s->nodes[i];
    if (nd->crashed) {
      nd->crashed = false;
      heap_push(s, (struct ev){.t_us = s->warm_us, .node = i, .kind = EV_CRASH});
    }
    nd->pending = false;
  }
  for (uint32_t k = 0; k < s->o->updates; k++) {
    struct update *up = &s->upd[k];
    up->t_us = s->warm_us + (int64_t)(2 + k) * 1000000;
    up->done_us = -1;
    up->target = (uint32_t)ceil(0.99 * (double)(n - ncrash - 1));
    heap_push(s, (struct ev){.t_us = up->t_us, .node = up->node, .len = k, .kind = EV_UPDATE});
  }
  for (uint32_t i = 0; i < n; i++) reschedule(s, &s->nodes[i]);
  return DC_OK;
}

/* The window's counters start at the end of the warm-up. */
static void snapshot(struct sim *s) {
  for (uint32_t i = 0; i < s->n; i++) {
    struct dc_gossip_stats st;
    dc_gossip_get_stats(s->nodes[i].g, &st);
    s->nodes[i].tcp_pings0 = st.tcp_pings;
    s->nodes[i].tcp_saves0 = st.tcp_ping_saves;
  }
}

static void run_events(struct sim *s) {
  bool snapped = false;
  while (s->nheap && s->heap[0].t_us <= s->end_us) {
    if (!snapped && s->heap[0].t_us >= s->warm_us) {
      snapshot(s);
      snapped = true;
    }
    struct ev e = heap_pop(s);
    s->now_us = e.t_us;
    s->events++;
    struct node *nd = &s->nodes[e.node];
    int64_t now_ms = e.t_us / 1000;
    switch (e.kind) {
    case EV_TICK:
      if (nd->crashed || e.len != nd->gen) break;
      nd->pending = false;
      dc_gossip_tick(nd->g, now_ms);
      reschedule(s, nd);
      break;
    case EV_DGRAM:
    case EV_STREAM:
    case EV_SPING:
    case EV_SACK: {
      if (nd->crashed) break;
      /* A stream ping or its answer past the prober's deadline finds the
       * connection closed (a crashed target's kernel refuses or never
       * answers: dropped above). */
      if ((e.kind == EV_SPING || e.kind == EV_SACK) && e.t_us > e.deadline_us) break;
      int64_t until = nd->starved ? starved_until(nd, e.t_us) : -1;
      if (until >= 0) { /* handled when the episode ends, in arrival order */
        e.t_us = until;
        heap_push(s, e);
        continue;
      }
      if (e.kind == EV_DGRAM) {
        dc_gossip_recv(nd->g, e.pkt, e.len, now_ms);
      } else if (e.kind == EV_SPING) {
        s->answering = &e;
        dc_gossip_recv_stream(nd->g, e.pkt, e.len, now_ms);
        s->answering = NULL;
      } else {
        dc_gossip_recv_stream(nd->g, e.pkt, e.len, now_ms);
      }
      reschedule(s, nd);
      break;
    }
    case EV_CRASH:
      nd->crashed = true;
      break;
    case EV_UPDATE: {
      if (nd->crashed) break;
      char tags[64];
      int len = snprintf(tags, sizeof tags, "role=provider;class=compute;v=%u", e.len + 1);
      dc_gossip_set_tags(nd->g, (const uint8_t *)tags, (size_t)len, now_ms);
      s->upd[e.len].inc = dc_gossip_incarnation(nd->g);
      s->upd[e.len].t_us = e.t_us;
      reschedule(s, nd);
      break;
    }
    }
    dc_free(e.pkt);
  }
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

double simg_percentile(double *v, size_t n, double p) {
  if (!n) return 0;
  qsort(v, n, sizeof *v, cmp_double);
  size_t k = (size_t)ceil(p * (double)n);
  if (k < 1) k = 1;
  return v[k - 1];
}

static void measure(struct sim *s, bool lifeguard, struct simg_result *r) {
  const uint32_t n = s->n;
  double window = (double)(s->end_us - s->warm_us) / 1e6;
  uint32_t healthy = 0, live = 0;
  for (uint32_t i = 0; i < n; i++) {
    if (!s->nodes[i].crashed) live++;
    if (!s->nodes[i].crashed && !s->nodes[i].starved) healthy++;
  }
  r->protocol = lifeguard ? "lifeguard" : "swim";
  r->scenario = s->sc->name;
  r->members = n;
  r->loss = s->sc->loss;
  r->false_positives = s->fp;
  r->false_positive_rate = healthy ? (double)s->fp_members / healthy : 0;
  r->starved_declared_dead = s->starved_dd;
  r->crashed = s->crashed;
  double *d = dc_calloc(s->crashed + 1, sizeof *d);
  DC_ASSERT(d);
  uint32_t nd = 0;
  for (uint32_t i = 0; i < n; i++) {
    if (!s->nodes[i].crashed) continue;
    if (s->first_dead[i] < 0) {
      r->undetected++;
      d[nd++] = window;
    } else {
      d[nd++] = (double)(s->first_dead[i] - s->warm_us) / 1e6;
    }
  }
  r->detect_p50_s = simg_percentile(d, nd, 0.50);
  r->detect_p99_s = simg_percentile(d, nd, 0.99);
  dc_free(d);
  r->detect_all_p50_s = simg_percentile(s->all_detect, s->nall, 0.50);
  r->detect_all_p99_s = simg_percentile(s->all_detect, s->nall, 0.99);
  double *sp = dc_calloc(s->nupd + 1, sizeof *sp);
  DC_ASSERT(sp);
  for (uint32_t k = 0; k < s->nupd; k++)
    sp[k] = s->upd[k].done_us < 0 ? (double)(s->end_us - s->upd[k].t_us) / 1e6
                                  : (double)(s->upd[k].done_us - s->upd[k].t_us) / 1e6;
  r->spread_p99_s = simg_percentile(sp, s->nupd, 0.5);
  dc_free(sp);
  for (uint32_t k = 0; k < s->nupd; k++) {
    for (uint32_t i = 0; i < n; i++) {
      uint32_t got = s->upd[k].got_ms[i];
      if (i == s->upd[k].node || s->nodes[i].crashed) continue;
      if (!got) r->spread_missed++;
      if (!got || got > SPREAD_MISS_S * 1000) r->spread_missed_5s++;
    }
  }
  /* The fallback pings are failure-detection traffic: counted with the
   * datagrams (sealed bytes plus the stream's 4-byte length, no TCP/IP
   * headers, as datagrams count no UDP/IP headers), and shown apart. */
  r->bytes_per_member_s = (double)(s->dgram_bytes + s->sping_bytes) / live / window;
  r->tcp_ping_bytes_per_member_s = (double)s->sping_bytes / live / window;
  for (uint32_t i = 0; i < n; i++) {
    struct dc_gossip_stats st;
    dc_gossip_get_stats(s->nodes[i].g, &st);
    r->tcp_pings += st.tcp_pings - s->nodes[i].tcp_pings0;
    r->tcp_ping_saves += st.tcp_ping_saves - s->nodes[i].tcp_saves0;
  }
  r->pushpull_bytes_per_member_s = (double)s->stream_bytes / live / window;
  /* Vivaldi: median relative error of the estimated RTT against the true
   * RTT over random pairs of live members. */
  uint64_t rng = s->o->seed ^ 0xa54ff53a5f1d36f1ULL;
  enum { PAIRS = 20000 };
  double *e = dc_calloc(PAIRS, sizeof *e);
  DC_ASSERT(e);
  size_t ne = 0;
  for (int k = 0; k < PAIRS * 4 && ne < PAIRS; k++) {
    uint32_t a = (uint32_t)(simg_splitmix(&rng) % n), b = (uint32_t)(simg_splitmix(&rng) % n);
    if (a == b || s->nodes[a].crashed || s->nodes[b].crashed) continue;
    double truth = 2.0 * simg_latency_ms(&s->model, a, b) / 1000.0;
    double est = dc_vivaldi_distance(dc_gossip_coord(s->nodes[a].g), dc_gossip_coord(s->nodes[b].g));
    e[ne++] = fabs(est - truth) / truth;
  }
  r->vivaldi_median_rel_error = simg_percentile(e, ne, 0.5);
  dc_free(e);
  struct dc_gossip_config cfg;
  sim_config(s->o, r->protocol[0] == 'l', &cfg);
  r->probe_interval_s = cfg.probe_interval_ms / 1000.0;
  r->suspicion_min_s =
      (double)dc_gossip_suspicion_min_ms(cfg.suspicion_mult, n, cfg.probe_interval_ms) / 1000.0;
  /* The bound: 3 probe intervals plus memberlist's fixed suspicion
   * timeout, 4 max(1, log10 N) intervals. */
  r->detect_bound_s =
      (3.0 * cfg.probe_interval_ms +
       (double)dc_gossip_suspicion_min_ms(DC_GOSSIP_MEMBERLIST_SUSP_MULT, n,
                                          cfg.probe_interval_ms)) / 1000.0;
  r->events = s->events;
}

int simg_run(const struct simg_opts *o, const struct simg_scenario *sc, bool lifeguard,
             struct simg_result *out) {
  memset(out, 0, sizeof *out);
  if (o->members < 16 || o->members > DC_GOSSIP_MEMBERS_MAX || o->measure_s <= 0 ||
      o->warmup_s < 0)
    return DC_EINVAL;
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  struct sim s = {0};
  s.o = o;
  s.sc = sc;
  s.n = o->members;
  s.warm_us = (int64_t)(o->warmup_s * 1e6);
  s.end_us = s.warm_us + (int64_t)(o->measure_s * 1e6);
  s.net_rng = o->seed ^ 0xbb67ae8584caa73bULL;
  struct dc_gossip_dir *dir = NULL;
  int rc = simg_model_init(&s.model, s.n, o->seed);
  if (!rc) rc = dc_gossip_dir_new(&dir);
  s.nodes = dc_calloc(s.n, sizeof *s.nodes);
  s.first_dead = dc_malloc(s.n * sizeof *s.first_dead);
  s.nupd = o->updates;
  s.upd = dc_calloc(s.nupd + 1, sizeof *s.upd);
  for (uint32_t k = 0; s.upd && k < s.nupd; k++) {
    s.upd[k].got_ms = dc_calloc(o->members, sizeof *s.upd[k].got_ms);
    if (!s.upd[k].got_ms) rc = DC_ENOMEM;
  }
  if (!rc && (!s.nodes || !s.first_dead || !s.upd)) rc = DC_ENOMEM;
  if (!rc) {
    for (uint32_t i = 0; i < s.n; i++) s.first_dead[i] = -1;
    rc = setup(&s, lifeguard, dir);
  }
  if (!rc) {
    run_events(&s);
    measure(&s, lifeguard, out);
  }
  while (s.nheap) dc_free(heap_pop(&s).pkt);
  dc_free(s.heap);
  for (uint32_t i = 0; s.nodes && i < s.n; i++) {
    dc_gossip_free(s.nodes[i].g);
    dc_free(s.nodes[i].ep);
  }
  dc_free(s.nodes);
  dc_gossip_dir_free(dir);
  dc_free(s.first_dead);
  dc_free(s.all_detect);
  for (uint32_t k = 0; s.upd && k < s.nupd; k++) dc_free(s.upd[k].got_ms);
  dc_free(s.upd);
  simg_model_close(&s.model);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  out->wall_s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
  return rc;
}
