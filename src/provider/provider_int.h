/* SPDX-License-Identifier: Apache-2.0
 * Internals shared by the provider agent's own files. */
#ifndef DC_PROVIDER_INT_H
#define DC_PROVIDER_INT_H

#include <string.h>
#include <uv.h>

#include "base/base.h"
#include "crypto/crypto.h"
#include "gossip/gossip.h"
#include "net/net.h"
#include "proto/proto.h"
#include "provider/provider.h"
#include "sandbox/sandbox.h"

#define PROVIDER_SLOTS 1024
#define PROVIDER_LOG_CAP (1u << 20)     /* per task and stream */
#define PROVIDER_LOG_CHUNK (32u << 10)
#define PROVIDER_OUTPUTS_MAX (1u << 20) /* all outputs of one task */

enum ptask_state { PT_RUNNING = 1, PT_DONE = 2 };

struct ptask {
  struct dc_provider *p;
  char *task_id;
  uint32_t attempt;
  enum ptask_state state;
  struct dc_sandbox_task *sbt;  /* while running */
  uint32_t slot;
  char work_dir[4096];
  char **outputs;               /* paths to collect */
  size_t noutputs;
  uint64_t logged[3];           /* bytes sent per stream (1, 2) */
  bool kill_requested;
  bool forget_on_exit;          /* the master said this attempt is stale */
  struct dc_task_result result; /* when done: signed, kept until acked */
  struct ptask *next;
};

/* A channel paying this provider: the highest tick accepted (ticks.c),
 * and when to close it (close.c). */
struct tick_chan {
  uint8_t channel[DC_HASH_BYTES];
  uint32_t highest;
  uint8_t word[DC_HASH_BYTES];
  int64_t last_tick_ms;          /* last accepted tick, or load (monotonic) */
  int64_t close_sent_ms;         /* our close was sent (0: never) */
  uint32_t close_ticks;          /* with this many ticks */
};

struct dc_provider {
  struct dc_provider_config cfg;
  uv_loop_t *loop;
  struct dc_identity id;
  uint8_t master_pk[DC_PROVIDER_MASTERS_MAX][DC_PK_BYTES];
  bool pin_master[DC_PROVIDER_MASTERS_MAX];
  size_t cur;                    /* the master tried or connected now */
  size_t failed_in_row;          /* connections that failed since the last
                                    registration: a whole round backs off */
  struct dc_sandbox sb;
  struct dc_conn *conn;
  bool ready;                    /* session established and registered */
  uint32_t backoff_ms;
  uv_timer_t reconnect;
  uv_timer_t heartbeat;
  uv_signal_t sigint, sigterm;
  struct ptask *tasks;
  uint8_t slot_used[PROVIDER_SLOTS];
  uint64_t hb_seq;
  struct dc_node_info node;      /* what we register as (owned strings) */
  /* previous /proc/stat sample for CPU use */
  uint64_t cpu_busy, cpu_total;
  bool stopping;
  char tasks_dir[4096];
  struct tick_chan *chans;
  size_t nchans, capchans;
  struct dc_gossip_node *gossip; /* NULL: gossip off */
};

/* ticks.c */
void provider_ticks(struct dc_provider *p, const struct dc_msg_ticks *t);
struct tick_chan *provider_chan_find(struct dc_provider *p,
                                     const uint8_t id[DC_HASH_BYTES],
                                     const uint8_t *anchor);

/* close.c: closes the channels paying this provider, itself. */
void provider_channels(struct dc_provider *p, const struct dc_msg_channels *c);

/* resources.c */
int provider_discover(struct dc_provider *p);
void provider_sample(struct dc_provider *p, struct dc_msg_heartbeat *hb);

/* tasks.c */
void provider_run_task(struct dc_provider *p, struct dc_msg_run_task *rt);
void provider_kill_task(struct dc_provider *p, const char *task_id,
                        uint32_t attempt);
void provider_ack(struct dc_provider *p, const char *task_id, uint32_t attempt);
void provider_resend_results(struct dc_provider *p);
struct ptask *provider_find(struct dc_provider *p, const char *task_id,
                            uint32_t attempt);

/* member.c: the agent as a gossip member */
int provider_member_start(struct dc_provider *p);
/* The session changed (registered or lost): re-tag. */
void provider_member_session(struct dc_provider *p);
void provider_member_stop(struct dc_provider *p);

/* agent.c */
int provider_send(struct dc_provider *p, const struct dc_msg *m);

#endif
