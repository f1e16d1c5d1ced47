/* SPDX-License-Identifier: Apache-2.0
 * Private to the gossip module: the directory, the member table, the
 * message codec, the broadcast queue, suspicions, probes and Vivaldi. */
#ifndef DC_GOSSIP_INT_H
#define DC_GOSSIP_INT_H

#include "gossip/gossip.h"

#define GOSSIP_NONE UINT32_MAX
#define GOSSIP_BCAST_MAX 1024     /* queued updates; the most-sent go first */
#define GOSSIP_FORWARD_MAX 256    /* indirect probes relayed at once */
#define GOSSIP_VIV_CACHE 64       /* latency-filter slots (direct-mapped) */
#define GOSSIP_VIV_FILTER 3       /* median of the last 3 RTTs per peer */
#define GOSSIP_SUSP_CONFIRM_MAX 8 /* confirmers remembered per suspicion */

/* ---- directory (dir.c) ---- */
struct gossip_meta {
  uint64_t id;
  uint64_t hash;
  struct dc_gossip_addr addr;
  uint16_t tags_len;
  uint8_t *tags;
  uint32_t refs;  /* 0: free slot */
  uint32_t chain; /* next in bucket, or next free */
};
struct dc_gossip_dir {
  struct gossip_meta *v;
  uint32_t n, cap, free_head;
  uint32_t *buckets; /* heads, GOSSIP_NONE when empty */
  uint32_t nbuckets; /* power of two */
  uint32_t live;
};
/* Returns the slot with one more reference, or GOSSIP_NONE (no memory). */
uint32_t dir_intern(struct dc_gossip_dir *d, uint64_t id,
                    const struct dc_gossip_addr *addr, const uint8_t *tags,
                    size_t tags_len);
void dir_release(struct dc_gossip_dir *d, uint32_t slot);
static inline const struct gossip_meta *dir_get(const struct dc_gossip_dir *d,
                                                uint32_t slot) {
  return &d->v[slot];
}
bool gossip_addr_eq(const struct dc_gossip_addr *a, const struct dc_gossip_addr *b);

/* ---- messages (msg.c) ---- */
enum gossip_msg_type {
  GMSG_PING = 1,
  GMSG_PING_REQ = 2,
  GMSG_ACK = 3,
  GMSG_NACK = 4,
  GMSG_ALIVE = 5,
  GMSG_SUSPECT = 6,
  GMSG_DEAD = 7,
  GMSG_PUSHPULL = 8,       /* stream only */
};
struct gossip_msg {
  uint8_t type;
  uint32_t seq;
  uint64_t id;       /* target (PING, PING_REQ) or member (ALIVE, SUSPECT, DEAD) */
  uint64_t from;     /* sender (PING, PING_REQ) or accuser (SUSPECT, DEAD) */
  uint32_t incarnation;
  struct dc_gossip_addr addr;      /* ALIVE: member; PING_REQ: target */
  struct dc_gossip_addr from_addr; /* PING, PING_REQ, PUSHPULL: reply here */
  bool nack;                       /* PING_REQ: send a nack if no ack */
  bool has_coord;                  /* ACK */
  struct dc_vivaldi coord;
  const uint8_t *tags;             /* ALIVE, borrowed from the packet */
  uint16_t tags_len;
  /* PUSHPULL */
  bool join, reply; /* PUSHPULL flags */
  uint32_t count;
  const uint8_t *entries; /* raw entries, decoded by msg_pp_next */
  size_t entries_len;
};
/* Encodes one message as type u8 | len u16 | payload. */
int msg_encode(struct dc_buf *b, const struct gossip_msg *m);
/* Reads the next message of a packet; DC_EPROTO on malformed input. */
int msg_decode(struct dc_reader *r, struct gossip_msg *m);
struct gossip_pp_entry {
  uint64_t id;
  struct dc_gossip_addr addr;
  uint32_t incarnation;
  uint8_t state;
  const uint8_t *tags;
  uint16_t tags_len;
};
int msg_pp_put(struct dc_buf *b, const struct gossip_pp_entry *e);
int msg_pp_next(struct dc_reader *r, struct gossip_pp_entry *e);
int msg_put_addr(struct dc_buf *b, const struct dc_gossip_addr *a);
int msg_get_addr(struct dc_reader *r, struct dc_gossip_addr *a);

/* ---- the instance ---- */
struct gossip_member {
  int64_t change_ms; /* when state last changed */
  uint32_t meta;     /* directory slot: id, address, tags */
  uint32_t incarnation;
  uint32_t susp;     /* index in g->susp, or GOSSIP_NONE */
  uint8_t state;
};

struct gossip_bcast {
  uint64_t id;      /* member it is about: a newer one replaces it */
  uint64_t order;   /* newer first among equal transmit counts */
  uint32_t transmits;
  uint16_t len;
  uint8_t *msg;     /* encoded message */
};

struct gossip_susp {
  uint32_t member;
  uint32_t incarnation;
  uint32_t k;        /* confirmations expected */
  uint32_t n;        /* independent confirmations so far */
  int64_t start_ms, min_ms, max_ms, deadline_ms;
  int64_t check_ms;  /* next suspicion check, INT64_MAX: none */
  uint64_t from;     /* first accuser (not a confirmation) */
  uint64_t confirmers[GOSSIP_SUSP_CONFIRM_MAX];
};

struct gossip_forward { /* an indirect probe this node relays */
  uint32_t seq;          /* our ping's seq */
  uint32_t req_seq;      /* the requester's seq */
  struct dc_gossip_addr requester;
  int64_t nack_at, expire_at;
  bool nack, nacked;
};

struct gossip_probe {
  bool active, acked, indirect;
  bool stream_acked;    /* the TCP fallback ping was answered */
  uint32_t seq;
  uint32_t target;      /* member index */
  uint64_t target_id;
  int64_t sent_ms, timeout_at, end_at;
  uint32_t expected_nacks, nacks;
};

struct gossip_viv_slot {
  uint64_t id;
  uint32_t n, next;
  double rtt[GOSSIP_VIV_FILTER];
};

/* A peer's last coordinate (cfg.peer_coords > 0). */
struct gossip_peer_coord {
  uint64_t id;
  double rtt;
  struct dc_vivaldi coord;
};

struct dc_gossip {
  struct dc_gossip_config cfg;
  struct dc_gossip_io io;
  struct dc_gossip_dir *dir;
  bool own_dir;
  uint32_t self;        /* member index of this node */
  uint32_t incarnation; /* this node's */
  bool left;
  uint32_t awareness;   /* Lifeguard health score, 0 = healthy */
  uint32_t seq;
  bool stale_accused;   /* the packet being handled accused us at an old incarnation */

  struct gossip_member *m;
  uint32_t nm, cap_m;
  uint32_t *index;      /* id hash → member index + 1; 0 empty */
  uint32_t index_cap;   /* power of two */
  uint32_t alive;       /* alive or suspect, self included */

  uint32_t *order;      /* probe order (member indices): shuffled, every member;
                           or, coordinated, the ring: live members by key */
  uint32_t norder, cap_order, probe_pos;
  int64_t ring_epoch;   /* coordinated: the epoch whose keys order the ring */

  struct gossip_bcast *bq;
  uint32_t nbq;
  uint64_t border;

  struct gossip_susp *susp;
  uint32_t nsusp, cap_susp;

  struct gossip_forward fwd[GOSSIP_FORWARD_MAX];
  uint32_t nfwd;

  struct gossip_probe probe;
  /* A failed probe's nacks still on their way: counted until due, then
   * the missing ones raise our health score (probe_fail). */
  struct { uint32_t seq, expected, nacks; int64_t due; } late_nacks;
  int64_t next_probe_ms, next_gossip_ms, next_pp_ms;

  struct dc_vivaldi coord;
  double viv_adj[20];
  uint32_t viv_adj_i;
  struct gossip_viv_slot viv[GOSSIP_VIV_CACHE];
  struct gossip_peer_coord *pcoord; /* cfg.peer_coords slots, or NULL */

  struct dc_buf out;    /* scratch for packets */
  struct dc_buf scratch;
  struct dc_gossip_stats stats;
};

/* member.c */
uint32_t member_find(const struct dc_gossip *g, uint64_t id);
int member_add(struct dc_gossip *g, uint64_t id, const struct dc_gossip_addr *addr,
               const uint8_t *tags, size_t tags_len, uint32_t inc, int64_t now_ms,
               uint32_t *out);
static inline const struct gossip_meta *member_meta(const struct dc_gossip *g,
                                                    uint32_t i) {
  return dir_get(g->dir, g->m[i].meta);
}
void member_set_state(struct dc_gossip *g, uint32_t i, uint8_t state, int64_t now_ms);
void member_emit(struct dc_gossip *g, uint32_t i, enum dc_gossip_event_type t,
                 bool by_self);
/* k random members other than self and skip, alive or suspect (and, with
 * dead_since_ms >= 0, dead or left since then); returns count. */
uint32_t member_random(struct dc_gossip *g, uint32_t skip, uint32_t k, uint32_t *out,
                       int64_t dead_since_ms);

/* schedule.c: probe target selection (shuffled round-robin, or coordinated
 * rounds over the ring of live members). */
#define SCHED_EPOCH_ROUNDS 32 /* coordinated: rounds on one order of the ring */
void sched_member_added(struct dc_gossip *g, uint32_t i);
void sched_liveness(struct dc_gossip *g, uint32_t i, bool live);
/* The target of our probe in a round (coordinated), or GOSSIP_NONE. The
 * view, our id and the round decide it (the ring is re-ranked when the
 * round's epoch is not the ring's). */
uint32_t sched_round_target(struct dc_gossip *g, int64_t round);
/* The round a probe started now belongs to, and (*next_ms) when the next
 * probe starts. */
int64_t sched_round_now(const struct dc_gossip *g, int64_t now_ms, int64_t *next_ms);
/* Our rounds start at round * probe_interval_ms + this (shared clock). */
int64_t sched_phase_ms(const struct dc_gossip *g);
/* When the first probe of a new instance starts (coordinated). */
int64_t sched_first_probe_ms(const struct dc_gossip *g, int64_t now_ms);
/* Picks the next probe target (GOSSIP_NONE: nobody) and sets *next_ms. */
uint32_t sched_next_target(struct dc_gossip *g, int64_t now_ms, int64_t *next_ms);

/* state.c: the SWIM rules for alive, suspect and dead messages. */
void state_alive(struct dc_gossip *g, const struct gossip_msg *m, int64_t now_ms,
                 bool bootstrap);
void state_suspect(struct dc_gossip *g, const struct gossip_msg *m, int64_t now_ms);
void state_dead(struct dc_gossip *g, const struct gossip_msg *m, int64_t now_ms);
void state_refute(struct dc_gossip *g, uint32_t accused_inc, int64_t now_ms);
/* This node's own alive message at its current incarnation. */
void state_self_alive(const struct dc_gossip *g, struct gossip_msg *out);
void state_tick(struct dc_gossip *g, int64_t now_ms);
int64_t state_next_deadline(const struct dc_gossip *g);
void susp_remove(struct dc_gossip *g, uint32_t member);

/* broadcast.c */
void bcast_queue(struct dc_gossip *g, const struct gossip_msg *m);
/* Appends queued updates to g->out while they fit in budget bytes. */
/* Appends queued updates to g->out up to budget. A gossip round (a datagram
 * sent only to spread updates) carries none in their tail. */
void bcast_fill(struct dc_gossip *g, size_t budget, bool gossip_round);
void bcast_free(struct dc_gossip *g);

/* probe.c */
void probe_tick(struct dc_gossip *g, int64_t now_ms);
void probe_on_ping(struct dc_gossip *g, const struct gossip_msg *m, int64_t now_ms);
void probe_on_ping_req(struct dc_gossip *g, const struct gossip_msg *m, int64_t now_ms);
void probe_on_ack(struct dc_gossip *g, const struct gossip_msg *m, int64_t now_ms);
void probe_on_nack(struct dc_gossip *g, const struct gossip_msg *m);
/* A stream message: a fallback ping to answer or the ack of ours. */
void probe_on_stream_ping(struct dc_gossip *g, const struct gossip_msg *m);
void probe_on_stream_ack(struct dc_gossip *g, const struct gossip_msg *m);
int64_t probe_next_deadline(const struct dc_gossip *g);
/* A ping to member t outside the schedule, carrying our suspicion of it
 * (Lifeguard's buddy system), whose ack nobody waits for: the suspect's
 * answer carries its incarnation (a suspicion check). */
void probe_check(struct dc_gossip *g, uint32_t t);
/* Sends g->out's primary message plus piggybacked updates to addr. */
void gossip_send_packet(struct dc_gossip *g, const struct dc_gossip_addr *to);
void gossip_awareness_delta(struct dc_gossip *g, int delta);
int64_t gossip_scaled(const struct dc_gossip *g, uint32_t ms);

/* pushpull.c */
void pp_send(struct dc_gossip *g, const struct dc_gossip_addr *to, bool join, bool reply);
int64_t pp_interval_ms(const struct dc_gossip *g);

/* vivaldi.c */
void vivaldi_init(struct dc_vivaldi *c);
void vivaldi_update(struct dc_gossip *g, uint64_t peer, const struct dc_vivaldi *other,
                    double rtt_s);

static inline uint64_t gossip_mix64(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  x ^= x >> 33;
  return x;
}
static inline uint64_t gossip_rand(struct dc_gossip *g) { return g->io.rand(g->io.data); }

#endif
