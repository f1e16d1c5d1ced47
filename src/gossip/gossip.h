/* SPDX-License-Identifier: Apache-2.0
 * gossip: membership and failure detection by SWIM with HashiCorp's
 * Lifeguard refinements, piggybacked dissemination, push-pull state sync and
 * Vivaldi network coordinates; plus the packet codec (version, group,
 * XChaCha20-Poly1305 with a keyring).
 *
 * The protocol core is pure: it owns no socket, clock or random source.
 * The caller passes the time into every call and gives it a table of
 * callbacks (struct dc_gossip_io) for randomness, datagram and stream sends
 * and events, so the daemon and the simulator run the very same code.
 * One struct dc_gossip is one node's view of one gossip group; a node in
 * several groups runs one instance per group (each frame names its group,
 * each group has its own keyring). Instances of one process may share a
 * struct dc_gossip_dir, which interns member addresses and tags.
 * Nothing here is thread-safe: call everything from one thread. */
#ifndef DC_GOSSIP_H
#define DC_GOSSIP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "base/base.h"

/* ---- addresses and members ------------------------------------------------ */

/* A transport address. family 4: ip[0..3] is the IPv4 address; family 6:
 * ip[0..15]. The simulator uses family 4 with the member's index as the
 * address. */
struct dc_gossip_addr {
  uint8_t family; /* 4 or 6 */
  uint8_t ip[16];
  uint16_t port;
};

enum dc_gossip_state {
  DC_GOSSIP_ALIVE = 0,
  DC_GOSSIP_SUSPECT = 1,
  DC_GOSSIP_DEAD = 2,
  DC_GOSSIP_LEFT = 3,
};
const char *dc_gossip_state_name(int state); /* "alive", ... */

#define DC_GOSSIP_TAGS_MAX 512  /* bytes of opaque tags per member */
#define DC_GOSSIP_MEMBERS_MAX 65536

/* Vivaldi coordinate (Dabek/Cox with height, Serf's variant). Distances
 * are in seconds. */
#define DC_VIVALDI_DIM 8
struct dc_vivaldi {
  double vec[DC_VIVALDI_DIM];
  double error;
  double adjustment;
  double height;
};
/* Estimated RTT in seconds between two coordinates. */
double dc_vivaldi_distance(const struct dc_vivaldi *a, const struct dc_vivaldi *b);

/* ---- configuration ---------------------------------------------------------- */

struct dc_gossip_config {
  uint64_t self_id;                 /* this member's id (non-zero) */
  struct dc_gossip_addr self_addr;  /* where others reach it */
  bool lifeguard;                   /* false: plain SWIM, every Lifeguard feature off */
  uint32_t probe_interval_ms;       /* 1000 */
  uint32_t probe_timeout_ms;        /* 500 */
  uint32_t indirect_checks;         /* 3 peers for an indirect probe */
  uint32_t suspicion_mult;          /* min timeout = mult*max(1,log10 N)*interval
                                       (memberlist 4, ours 1) */
  uint32_t suspicion_max_mult;      /* Lifeguard max timeout = this * min (memberlist 6,
                                       ours 24: the same maximum) */
  uint32_t suspicion_confirmations; /* 2: Lifeguard's k, the independent accusations
                                       that bring the timeout down to the minimum
                                       (memberlist ties it to suspicion_mult - 2) */
  uint32_t awareness_max;           /* 8: Lifeguard health multiplier cap */
  uint32_t retransmit_mult;         /* 4: an update is sent mult*ceil(log10(N+1)) times */
  uint32_t retransmit_max;          /* 0: no cap (memberlist); ours 12, memberlist's
                                       count from 100 to 999 members */
  uint32_t retransmit_tail;         /* 0 (memberlist; ours 2): an update is sent this many
                                       times more after the limit, on probe traffic
                                       (pings, acks, indirect probes, nacks) only,
                                       never in a gossip round (docs/gossip.md, "Timing
                                       and dissemination") */
  uint32_t gossip_interval_ms;      /* 200: extra gossip rounds while updates are queued */
  uint32_t gossip_nodes;            /* 3 members per gossip round */
  uint32_t push_pull_interval_ms;   /* 30000, scaled up with log2 N beyond 32 members */
  uint32_t dead_reclaim_ms;         /* 30000: a dead member may be replaced after this */
  uint32_t gossip_to_dead_ms;       /* 30000: gossip rounds still reach the recently dead */
  uint32_t packet_max;              /* 1400: plaintext budget of one datagram (minus seal) */
  uint32_t peer_coords;             /* 0: keep no peer coordinates (the simulator);
                                       else slots of a direct-mapped cache of the
                                       last coordinate each peer sent (the daemon) */
  bool tcp_ping;                    /* true: memberlist's TCP fallback ping. When a
                                       direct probe times out, the ping also goes
                                       over a stream (io.ping_stream) beside the
                                       indirect probes; an ack on either path
                                       before the probe interval ends means no
                                       suspicion. Needs io.ping_stream. */
  bool coordinated_probes;          /* true (default): probe targets follow rounds the
                                       group agrees on, so that in an agreed view every
                                       live member is probed by exactly one member per
                                       interval (docs/gossip.md); false: memberlist's
                                       shuffled round-robin, each member on its own */
  bool suspicion_checks;            /* true (default; Lifeguard only): a suspicion asks
                                       the suspect directly before it ends (unconfirmed:
                                       from its minimum timeout on; confirmed: once,
                                       just before its timer), and the suspect answers
                                       with its current incarnation, so a member that
                                       missed a refutation learns of it
                                       (docs/gossip.md, "Suspicion checks") */
};
/* memberlist's suspicion multiplier: plain SWIM's fixed timeout, the floor
 * of a suspicion nobody can confirm, and the detection bound. */
#define DC_GOSSIP_MEMBERLIST_SUSP_MULT 4
/* memberlist's LAN defaults, Lifeguard and everything of ours off: the
 * simulator's plain-SWIM baseline. */
void dc_gossip_config_swim(struct dc_gossip_config *c);
/* Ours: memberlist's LAN timing with Lifeguard, coordinated probe rounds,
 * suspicion checks, suspicion multipliers 1 and 24, and memberlist's
 * retransmit count capped at 12 with a tail on probe traffic (docs/gossip.md). */
void dc_gossip_config_default(struct dc_gossip_config *c);

/* ---- the I/O table ---------------------------------------------------------- */

enum dc_gossip_event_type {
  DC_GOSSIP_EV_JOIN = 1,     /* a member became known or came back alive */
  DC_GOSSIP_EV_UPDATE = 2,   /* alive with new incarnation, address or tags */
  DC_GOSSIP_EV_SUSPECT = 3,
  DC_GOSSIP_EV_DEAD = 4,     /* declared dead (or left) */
};

struct dc_gossip_event {
  enum dc_gossip_event_type type;
  uint64_t id;                      /* the member concerned */
  uint32_t incarnation;
  int state;                        /* enum dc_gossip_state after the event */
  bool by_self;                     /* DEAD: this node's suspicion timer decided */
  bool left;                        /* DEAD: the member left on purpose */
  const struct dc_gossip_addr *addr;  /* borrowed for the call */
  const uint8_t *tags;              /* borrowed for the call */
  size_t tags_len;
};

struct dc_gossip_io {
  void *data;
  /* Uniform 64-bit random number. */
  uint64_t (*rand)(void *data);
  /* Sends one datagram (plaintext, at most packet_max bytes; the transport
   * seals it with the group key). p is borrowed for the call. */
  void (*send)(void *data, const struct dc_gossip_addr *to, const uint8_t *p,
               size_t n);
  /* Sends a push-pull state message over a reliable stream (TCP in the
   * daemon). The peer feeds it to dc_gossip_recv_stream. */
  void (*send_stream)(void *data, const struct dc_gossip_addr *to,
                      const uint8_t *p, size_t n);
  /* TCP fallback ping (cfg.tcp_ping): opens a stream to `to`, sends p (one
   * ping message) and feeds the answer read from the same stream to
   * dc_gossip_recv_stream; gives up silently after timeout_ms (the core
   * needs no word of a failure: the probe's own deadline decides). May be
   * NULL: no fallback. */
  void (*ping_stream)(void *data, const struct dc_gossip_addr *to, const uint8_t *p,
                      size_t n, uint32_t timeout_ms);
  /* Answers the stream message being handled by dc_gossip_recv_stream on
   * the stream it came on (the ack of a stream ping), then the stream
   * closes. Called only from inside dc_gossip_recv_stream. May be NULL:
   * stream pings are not answered. */
  void (*reply_stream)(void *data, const uint8_t *p, size_t n);
  /* A clock the group shares (milliseconds of wall time), read only to
   * agree on probe rounds (cfg.coordinated_probes); every timer still runs
   * on now_ms. May be NULL: now_ms is used (right when every member's now_ms
   * counts from the same origin, as in the simulator). */
  int64_t (*wall_ms)(void *data);
  /* Membership event; may be NULL. */
  void (*event)(void *data, const struct dc_gossip_event *ev);
};

/* ---- shared directory ------------------------------------------------------
 * Interns (id, address, tags) records so that many instances (groups of one
 * process, or every node of a simulation) store each record once. */
struct dc_gossip_dir;
int dc_gossip_dir_new(struct dc_gossip_dir **out);
/* Frees the directory; every instance using it must be freed first. */
void dc_gossip_dir_free(struct dc_gossip_dir *d);

/* ---- instance ----------------------------------------------------------------- */

struct dc_gossip;

/* Creates one node's view of one group. cfg and io are copied; dir is
 * borrowed (NULL: a private one). tags are copied. The instance knows only
 * itself until dc_gossip_join or dc_gossip_seed.
 * Errors: DC_EINVAL (self_id 0, bad sizes), DC_ENOMEM. */
int dc_gossip_new(const struct dc_gossip_config *cfg,
                  const struct dc_gossip_io *io, struct dc_gossip_dir *dir,
                  const uint8_t *tags, size_t tags_len, int64_t now_ms,
                  struct dc_gossip **out);
void dc_gossip_free(struct dc_gossip *g);

/* Starts a push-pull with each seed address (a join). */
int dc_gossip_join(struct dc_gossip *g, const struct dc_gossip_addr *seeds,
                   size_t n, int64_t now_ms);
/* Adds a member as alive without any message (used to start a simulation
 * from a converged view, and by tests). Errors: DC_EINVAL, DC_ENOMEM. */
int dc_gossip_seed(struct dc_gossip *g, uint64_t id,
                   const struct dc_gossip_addr *addr, const uint8_t *tags,
                   size_t tags_len, uint32_t incarnation);
/* Replaces this node's tags: a new incarnation is gossiped. */
int dc_gossip_set_tags(struct dc_gossip *g, const uint8_t *tags, size_t n,
                       int64_t now_ms);
/* Announces a graceful leave (a dead message from the node itself). */
void dc_gossip_leave(struct dc_gossip *g, int64_t now_ms);

/* Feeds one received datagram (plaintext). Malformed input is dropped and
 * counted; returns DC_EPROTO for it, DC_OK otherwise. */
int dc_gossip_recv(struct dc_gossip *g, const uint8_t *p, size_t n,
                   int64_t now_ms);
/* Feeds one received stream message: a push-pull (a request is answered
 * with our state to the address it names), a fallback ping (answered with
 * an ack through io.reply_stream) or the ack of our own fallback ping.
 * Malformed: DC_EPROTO, nothing applied. */
int dc_gossip_recv_stream(struct dc_gossip *g, const uint8_t *p, size_t n,
                          int64_t now_ms);
/* Runs every timer due at now_ms. */
void dc_gossip_tick(struct dc_gossip *g, int64_t now_ms);
/* Earliest time at which dc_gossip_tick has work (INT64_MAX: none). */
int64_t dc_gossip_next_deadline(const struct dc_gossip *g);

/* ---- views --------------------------------------------------------------------- */

struct dc_gossip_member_info {
  uint64_t id;
  struct dc_gossip_addr addr;
  uint32_t incarnation;
  int state;
  int64_t state_change_ms;
  const uint8_t *tags; /* borrowed until the next call into g */
  size_t tags_len;
};
size_t dc_gossip_count(const struct dc_gossip *g);      /* every known member, self included */
size_t dc_gossip_alive_count(const struct dc_gossip *g); /* alive or suspect */
/* i-th member in table order (0..count-1); DC_ENOTFOUND past the end. */
int dc_gossip_member_at(const struct dc_gossip *g, size_t i,
                        struct dc_gossip_member_info *out);
int dc_gossip_member_get(const struct dc_gossip *g, uint64_t id,
                         struct dc_gossip_member_info *out);
const struct dc_vivaldi *dc_gossip_coord(const struct dc_gossip *g);
uint32_t dc_gossip_awareness(const struct dc_gossip *g); /* 0 = healthy */
/* The last coordinate peer id sent in an ack and the median of the last
 * RTTs measured to it (seconds), from the cache of cfg.peer_coords slots;
 * DC_ENOTFOUND if the peer was not probed lately or the cache is off. */
int dc_gossip_peer_coord(const struct dc_gossip *g, uint64_t id, struct dc_vivaldi *coord,
                         double *rtt_s);
uint32_t dc_gossip_incarnation(const struct dc_gossip *g);

struct dc_gossip_stats {
  uint64_t malformed;          /* datagrams and streams dropped as malformed */
  uint64_t probes;             /* probes started */
  uint64_t indirect_probes;    /* probes that went indirect */
  uint64_t suspicions;         /* members this node suspected */
  uint64_t refutations;        /* suspicions about this node refuted */
  uint64_t declared_dead;      /* members this node's timer declared dead */
  uint64_t push_pulls;
  uint64_t tcp_pings;          /* fallback pings sent over a stream */
  uint64_t tcp_ping_saves;     /* failed UDP probes whose stream ack spared a suspicion */
  uint64_t suspicion_checks;   /* pings to a suspect whose suspicion lacked its confirmations at the minimum timeout */
};
void dc_gossip_get_stats(const struct dc_gossip *g, struct dc_gossip_stats *out);

/* Suspicion-timeout arithmetic (memberlist's, exposed for tests and the
 * simulator). min_ms = mult * max(1, log10(n)) * interval_ms. */
int64_t dc_gossip_suspicion_min_ms(uint32_t mult, size_t n,
                                   uint32_t interval_ms);
/* Lifeguard: the timeout after c independent confirmations out of k
 * expected, from max down to min on a log scale. */
int64_t dc_gossip_suspicion_timeout_ms(uint32_t c, uint32_t k, int64_t min_ms,
                                       int64_t max_ms);
/* Retransmit limit of one update at n members. */
uint32_t dc_gossip_retransmit_limit(uint32_t mult, size_t n);

/* ---- packet codec ----------------------------------------------------------------
 * frame = version u8 (1) | group u32 | nonce[24] | XChaCha20-Poly1305(body)
 * with version and group as associated data. A keyring holds up to 8 keys:
 * the primary encrypts, every key is tried on receive (key rotation:
 * install the new key everywhere, then make it primary, then remove the old). */
#define DC_GOSSIP_WIRE_VERSION 1
#define DC_GOSSIP_KEY_BYTES 32
#define DC_GOSSIP_KEYS_MAX 8
#define DC_GOSSIP_SEAL_OVERHEAD (1 + 4 + 24 + 16)
#define DC_GOSSIP_FRAME_MAX 1400 /* whole datagram */

struct dc_gossip_keyring {
  uint32_t group;
  size_t nkeys;                 /* keys[0] is the primary */
  uint8_t *keys;                /* sodium_malloc'd, nkeys * 32 bytes */
  uint64_t dropped;             /* frames refused: malformed, wrong group/version, no key */
};
/* Errors: DC_EINVAL (key size), DC_ENOMEM. The key is copied. */
int dc_gossip_keyring_init(struct dc_gossip_keyring *kr, uint32_t group,
                           const uint8_t key[DC_GOSSIP_KEY_BYTES]);
/* Adds a key (not primary). DC_EEXISTS if present, DC_ETOOBIG if full. */
int dc_gossip_keyring_add(struct dc_gossip_keyring *kr,
                          const uint8_t key[DC_GOSSIP_KEY_BYTES]);
/* Makes an installed key primary. DC_ENOTFOUND otherwise. */
int dc_gossip_keyring_use(struct dc_gossip_keyring *kr,
                          const uint8_t key[DC_GOSSIP_KEY_BYTES]);
/* Removes a key; the primary cannot be removed (DC_EINVAL). */
int dc_gossip_keyring_remove(struct dc_gossip_keyring *kr,
                             const uint8_t key[DC_GOSSIP_KEY_BYTES]);
void dc_gossip_keyring_close(struct dc_gossip_keyring *kr);

/* Seals body into out (size >= n + DC_GOSSIP_SEAL_OVERHEAD); *out_len is
 * set. max_frame bounds the result (DC_GOSSIP_FRAME_MAX for datagrams,
 * larger for streams). Errors: DC_ETOOBIG, DC_EINVAL. */
int dc_gossip_seal(const struct dc_gossip_keyring *kr, const uint8_t *body,
                   size_t n, size_t max_frame, uint8_t *out, size_t *out_len);
/* Reads the group of a frame without decrypting (to pick the keyring).
 * Errors: DC_ETRUNCATED, DC_EVERSION. */
int dc_gossip_frame_group(const uint8_t *frame, size_t n, uint32_t *group);
/* Opens a frame into out (size >= n); the body is *out_len bytes. On any
 * failure nothing is written to *out_len and kr->dropped is incremented.
 * Errors: DC_ETRUNCATED, DC_ETOOBIG, DC_EVERSION, DC_EPROTO (other group),
 * DC_ECRYPTO (no key opens it). */
int dc_gossip_open(struct dc_gossip_keyring *kr, const uint8_t *frame,
                   size_t n, size_t max_frame, uint8_t *out, size_t *out_len);

/* ---- the daemon's transport (libuv) ------------------------------------------
 * One UDP socket plus a TCP listener on the same address and port (for
 * push-pull and the TCP fallback ping) serve every group of the process;
 * a stream carries u32 length | sealed frame, and a fallback ping gets one
 * such frame (the ack) back before the connection closes; the group id of a frame
 * picks the instance and its keyring. Datagrams produced during one loop
 * iteration leave in one sendmmsg(2). Loop thread only. */
struct dc_gossip_udp;
struct dc_gossip_udp_stats {
  uint64_t sent_packets, sent_bytes;  /* datagrams, sealed size */
  uint64_t stream_bytes;              /* push-pull, sealed size */
  uint64_t recv_packets;
  uint64_t dropped;                   /* malformed, unknown group, undecryptable */
  uint64_t send_errors, stream_errors, sendmmsg_calls;
  /* TCP fallback pings: sent, answered with a valid ack, failed (refused,
   * reset, timed out at the probe's end, or a bad answer), and their
   * sealed bytes both ways (connections this member opened or answered). */
  uint64_t tcp_pings, tcp_ping_acks, tcp_ping_failures, tcp_ping_bytes;
};
typedef void (*dc_gossip_udp_event_cb)(void *data, uint32_t group,
                                       const struct dc_gossip_event *ev);
/* "127.0.0.1" or an IPv6 literal. Errors: DC_EINVAL. */
int dc_gossip_addr_parse(const char *host, uint16_t port, struct dc_gossip_addr *out);
/* Binds host:port (UDP and TCP). Errors: DC_EINVAL, DC_EEXISTS (in use),
 * DC_EIO, DC_ENOMEM. */
int dc_gossip_udp_start(uv_loop_t *loop, const char *host, uint16_t port,
                        struct dc_gossip_udp **out);
/* Adds a group: creates its instance (cfg copied; self_addr is set to the
 * bound address) with the key as its first keyring key. The instance is
 * owned by the transport; call dc_gossip_udp_kick after calling into it
 * (join, set_tags) so its sends leave and its timers are re-armed.
 * Errors: DC_ETOOBIG (8 groups), DC_EEXISTS, DC_EINVAL, DC_ENOMEM. */
int dc_gossip_udp_add_group(struct dc_gossip_udp *u, uint32_t group,
                            const uint8_t key[DC_GOSSIP_KEY_BYTES],
                            const struct dc_gossip_config *cfg, const uint8_t *tags,
                            size_t tags_len, dc_gossip_udp_event_cb cb, void *data,
                            struct dc_gossip **out);
/* The group's keyring, for rotation; NULL if no such group. */
struct dc_gossip_keyring *dc_gossip_udp_keyring(struct dc_gossip_udp *u, uint32_t group);
void dc_gossip_udp_kick(struct dc_gossip_udp *u);
void dc_gossip_udp_get_stats(const struct dc_gossip_udp *u, struct dc_gossip_udp_stats *out);
/* Closes the socket and frees everything (the instances too) once the
 * handles and in-flight push-pull connections are closed; then cb(data). */
void dc_gossip_udp_stop(struct dc_gossip_udp *u, void (*cb)(void *), void *data);

/* ---- a daemon's membership ---------------------------------------------------
 * Masters and providers are members of one group (DC_GOSSIP_DAEMON_GROUP) on
 * one transport: the node owns the transport, its keyring (several keys,
 * the first primary) and a timer that joins the seeds again while the node
 * knows no one else (seeds that start later, or a partition healed). */
#define DC_GOSSIP_DAEMON_GROUP 1
/* The daemon's timing: memberlist's LAN defaults with peer coordinates
 * kept; fast halves the probe interval and timeout (500 ms / 250 ms), for
 * LANs only. See docs/gossip.md for the detection bounds and the
 * simulator's false positives of each. */
void dc_gossip_config_daemon(struct dc_gossip_config *c, bool fast);

/* Parses keys: "HEX[,HEX...]" and/or a file with one HEX key per line (#
 * comments allowed); the first key found is the primary (keys first, then
 * the file). Errors: DC_EINVAL (message in err), DC_ENOTFOUND/DC_EIO. */
int dc_gossip_keys_parse(const char *keys, const char *key_file,
                         uint8_t out[DC_GOSSIP_KEYS_MAX][DC_GOSSIP_KEY_BYTES],
                         size_t *n, struct dc_errmsg *err);
/* "host:port[,host:port...]" into addresses (IP literals).
 * Errors: DC_EINVAL. */
int dc_gossip_addrs_parse(const char *list, struct dc_gossip_addr *out, size_t max,
                          size_t *n);

/* A daemon member's id: the first 8 bytes of its Ed25519 key, big-endian
 * (1 if they are all zero), so a master finds a provider's member from its
 * node id alone. */
uint64_t dc_gossip_node_id(const uint8_t pk[32]);

struct dc_gossip_node_opts {
  const char *addr;        /* "host:port" to bind (UDP and TCP) */
  const char *join;        /* seeds "host:port[,...]", or NULL */
  const char *keys;        /* see dc_gossip_keys_parse; one of keys/key_file */
  const char *key_file;
  uint64_t self_id;        /* non-zero */
  const uint8_t *tags;
  size_t tags_len;
  bool fast;               /* dc_gossip_config_daemon's fast timing */
  bool no_tcp_ping;        /* turn memberlist's TCP fallback ping off */
  const struct dc_gossip_config *cfg; /* NULL: dc_gossip_config_daemon(fast) */
};
struct dc_gossip_node;
/* Binds, adds the group, installs the keys and starts joining.
 * Errors: those of the parsers and of dc_gossip_udp_start (message in err). */
int dc_gossip_node_start(uv_loop_t *loop, const struct dc_gossip_node_opts *o,
                         dc_gossip_udp_event_cb cb, void *data,
                         struct dc_gossip_node **out, struct dc_errmsg *err);
struct dc_gossip *dc_gossip_node_core(struct dc_gossip_node *n);
void dc_gossip_node_stats(const struct dc_gossip_node *n, struct dc_gossip_udp_stats *out);
int dc_gossip_node_set_tags(struct dc_gossip_node *n, const uint8_t *tags, size_t len);
/* Announces a leave, then closes everything; cb(data) when done (may be NULL). */
void dc_gossip_node_stop(struct dc_gossip_node *n, void (*cb)(void *), void *data);

#endif /* DC_GOSSIP_H */
