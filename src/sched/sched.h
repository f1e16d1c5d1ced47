/* SPDX-License-Identifier: Apache-2.0
 * sched: placement as a pure function. From the nodes' state and the
 * pending tasks it computes assignments and a one-line explanation for each
 * task it could not place. No I/O, no clock, no randomness: the master turns
 * the assignments into TASK_ASSIGN commands, and a simulator can call the
 * very same function in virtual time. */
#ifndef DC_SCHED_H
#define DC_SCHED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct dc_sched_label {
  const char *key, *value;
};

struct dc_sched_node {            /* all pointers borrowed for the call */
  const char *id;                 /* hex node id */
  uint32_t cpu_millis;            /* capacity */
  uint64_t memory_mb, disk_mb;
  uint32_t gpu;
  uint32_t used_cpu_millis;       /* reserved by tasks assigned or running */
  uint64_t used_memory_mb, used_disk_mb;
  uint32_t used_gpu;
  uint64_t price_cpu_hour;        /* micro-DEEP per core-hour */
  double lat, lon;
  const char *classes;            /* comma-separated service classes */
  const struct dc_sched_label *labels;
  size_t nlabels;
};

struct dc_sched_task {
  const char *id;
  uint32_t attempt;               /* the attempt this assignment creates */
  uint32_t cpu_millis;
  uint64_t memory_mb, disk_mb;
  uint32_t gpu;
  int priority;                   /* higher first */
  /* constraints (from the job) */
  const char *service_class;      /* NULL = any */
  const struct dc_sched_label *labels;
  size_t nlabels;
  bool has_max_price;
  uint64_t max_price;
  bool has_near;
  double near_lat, near_lon, near_max_km;
};

struct dc_sched_policy {
  double w_load;                  /* weight of "least loaded after placement" */
  double w_price;                 /* weight of low price */
  double w_distance;              /* weight of closeness to `near` */
};

struct dc_sched_assignment {
  size_t task;                    /* index into tasks[] */
  size_t node;                    /* index into nodes[] */
  double score;
};

struct dc_sched_reason {
  size_t task;
  char text[160];                 /* why no node fit, e.g. "no node has 4096 MB free (best: 2048)" */
};

void dc_sched_policy_default(struct dc_sched_policy *p);

/* Places tasks in order of priority (then the given order), updating a
 * private copy of the nodes' usage as it goes, so one call never
 * over-commits a node. nodes' used_* fields are not modified.
 * OUT: out[] gets up to ntasks assignments (*nout); reasons[] (may be NULL)
 * gets one entry per unplaced task (*nreasons).
 * Errors: DC_ENOMEM. */
int dc_sched_place(const struct dc_sched_node *nodes, size_t nnodes,
                   const struct dc_sched_task *tasks, size_t ntasks,
                   const struct dc_sched_policy *policy,
                   struct dc_sched_assignment *out, size_t *nout,
                   struct dc_sched_reason *reasons, size_t *nreasons);

/* The constraints of the job that are not resources: service class,
 * labels, max price, distance to `near`. NULL if n satisfies them, else
 * which one it fails ("class", "labels", "price", "distance"). For the
 * policies below, which see only resource vectors. */
const char *dc_sched_eligible(const struct dc_sched_node *n,
                              const struct dc_sched_task *t);

/* Great-circle distance in km (haversine). */
double dc_sched_distance_km(double lat1, double lon1, double lat2, double lon2);


/* ---- Policies over resource vectors (simulator and master alike) ----
 * A second, richer view of a node for the policies the matching engine
 * compares: per-GPU shares (GPUs are shared in thousandths, as in the
 * Alibaba GPU trace), speed and risk. Everything here is pure: the caller
 * owns every array and the random state. */

#define DC_SCHED_GPUS_MAX 16

struct dc_sched_res {             /* one node */
  uint32_t cpu_millis, used_cpu_millis;
  uint64_t memory_mb, used_memory_mb;
  uint32_t ngpu;                  /* <= DC_SCHED_GPUS_MAX */
  uint16_t gpu_free[DC_SCHED_GPUS_MAX]; /* free thousandths per GPU */
  uint32_t model;                 /* GPU model bit (1 << id), 0 = none */
  double speed;                   /* 1.0 = nominal */
  double fail_prob;               /* risk of losing the task, [0,1] */
  double price_cpu_hour;          /* posted price per core-hour */
  uint32_t version;               /* bumped on every take/release (caches) */
  bool down;                      /* failed: never a candidate */
  bool has_loc;                   /* lat/lon known (geo, or Vivaldi mapped to it) */
  double lat, lon;
};

struct dc_sched_req {             /* one task */
  uint32_t cpu_millis;
  uint64_t memory_mb;
  uint32_t num_gpu;               /* whole GPUs, or 1 shared */
  uint32_t gpu_milli;             /* per GPU: 1000 = whole, < 1000 = a share */
  uint32_t models;                /* allowed GPU models (bit mask), 0 = any */
  int32_t type;                   /* index into the task-type table, -1 = none */
  uint32_t user;                  /* for fairness; 0 = unknown */
  double runtime_s;               /* predicted runtime (learned cost), <= 0 unknown */
  bool has_near;                  /* where its data or users are */
  double near_lat, near_lon;
};

struct dc_sched_alloc {           /* what one task took from one node */
  uint16_t gpu[DC_SCHED_GPUS_MAX];
};

struct dc_sched_tasktype {        /* the workload's task mix (FGD's "M") */
  struct dc_sched_req req;
  double p;                       /* popularity, sums to 1 */
};

enum dc_sched_kind {
  DC_SCHED_RANDOM, DC_SCHED_FIRST_FIT, DC_SCHED_BEST_FIT, DC_SCHED_K8S,
  DC_SCHED_FGD, DC_SCHED_LEARNED, DC_SCHED_KINDS
};

/* Why a node was not a candidate. */
enum dc_sched_why {
  DC_SCHED_OK, DC_SCHED_DOWN, DC_SCHED_CPU, DC_SCHED_MEM, DC_SCHED_GPU,
  DC_SCHED_MODEL, DC_SCHED_WHYS
};

struct dc_sched_weights {         /* the learned policy's cost terms */
  double frag;                    /* fragmentation increase (FGD's gradient) */
  double time;                    /* predicted completion time on the node */
  double price;                   /* cost at the posted price */
  double risk;                    /* probability of losing the work */
  double pack;                    /* leftover share after placement (bin packing) */
  double distance;                /* per 1,000 km from the task's `near` point */
  double provider_fair;           /* proportional shares across providers
                                     (dc_sched_provider_fair) */
};

struct dc_sched_ctx {             /* caller-owned; all-zero + kind is valid */
  enum dc_sched_kind kind;
  uint64_t rng;                   /* random policy's state (seed it) */
  const struct dc_sched_tasktype *types; /* borrowed; FGD and learned */
  size_t ntypes;
  struct dc_sched_weights w;
  /* Large clusters: like kube-scheduler's percentageOfNodesToScore, only
   * the first dc_sched_nodes_to_score() feasible nodes from a rotating
   * start are scored. Clusters up to DC_SCHED_SCORE_ALL nodes are always
   * scored whole. */
  size_t next_start;
  /* Proportional shares across providers: the learned cost of node i gets
   * provider_fair[i] added (from dc_sched_provider_fair). NULL = none. */
  const double *provider_fair;
  /* Private cache of fragmentation per (node, type), keyed by node version;
   * see dc_sched_ctx_cache. */
  double *frag_cache;
  uint32_t *frag_ver;
  size_t cache_nodes;
};

struct dc_sched_cand {            /* one line of an explanation */
  uint32_t node;
  uint8_t why;                    /* enum dc_sched_why */
  double score;                   /* lower is better (cost) */
};

struct dc_sched_explain {         /* caller provides cand[cap] */
  struct dc_sched_cand *cand;
  size_t cap, n;                  /* n may exceed cap: only cap are stored */
  size_t filtered[DC_SCHED_WHYS]; /* how many nodes were filtered, by why */
  size_t chosen;                  /* SIZE_MAX if none */
  char text[160];                 /* one line for humans */
};

#define DC_SCHED_SCORE_ALL 2000
/* How many feasible nodes one decision scores: all up to
 * DC_SCHED_SCORE_ALL, beyond that 5% of them and at least 500 (the 5%
 * kube-scheduler settles on for large clusters). */
size_t dc_sched_nodes_to_score(size_t nnodes);

const char *dc_sched_kind_name(enum dc_sched_kind k);
/* Parses "random|first-fit|best-fit|k8s|fgd|learned"; DC_EINVAL otherwise. */
int dc_sched_kind_parse(const char *s, enum dc_sched_kind *out);
const char *dc_sched_why_name(enum dc_sched_why w);
void dc_sched_weights_default(struct dc_sched_weights *w);

/* Allocates the fragmentation cache for nnodes x ctx->ntypes (FGD and
 * learned run without it, only slower). Free with dc_sched_ctx_close.
 * Errors: DC_ENOMEM (ctx unchanged). */
int dc_sched_ctx_cache(struct dc_sched_ctx *ctx, size_t nnodes);
void dc_sched_ctx_close(struct dc_sched_ctx *ctx);

/* Whether t fits on n now (DC_SCHED_OK) or why not. */
enum dc_sched_why dc_sched_fits(const struct dc_sched_res *n,
                                const struct dc_sched_req *t);
/* Takes t's resources from n (must fit), choosing the GPUs that leave the
 * least stranded share; OUT: *a records what was taken, for release. */
void dc_sched_take(struct dc_sched_res *n, const struct dc_sched_req *t,
                   struct dc_sched_alloc *a);
void dc_sched_release(struct dc_sched_res *n, const struct dc_sched_req *t,
                      const struct dc_sched_alloc *a);

/* FGD's fragmentation of one node for the task mix: the expected GPU
 * share (in thousandths) that a task drawn from the mix could not use. */
double dc_sched_frag(const struct dc_sched_res *n,
                     const struct dc_sched_tasktype *types, size_t ntypes);

/* The cost ctx's policy gives placing t on nodes[i] (which must fit), lower
 * is better; what dc_sched_choose minimises and explanations show. */
double dc_sched_cost(struct dc_sched_ctx *ctx, const struct dc_sched_res *nodes,
                     size_t i, const struct dc_sched_req *t);

/* Chooses a node for t by ctx->kind. OUT: *node. ex (may be NULL) gets the
 * candidates, why the others were filtered and the choice.
 * Errors: DC_ENOTFOUND if no node fits (ex->text says why). */
int dc_sched_choose(struct dc_sched_ctx *ctx, const struct dc_sched_res *nodes,
                    size_t nnodes, const struct dc_sched_req *t,
                    struct dc_sched_explain *ex, size_t *node);

/* ---- EASY backfilling (Lifka 1995; Mu'alem and Feitelson 2001) ----
 * Processors are one pool (gang jobs may span nodes). The head of the queue
 * starts if it fits; otherwise it gets a reservation at the earliest time
 * enough processors free up by the running jobs' estimated ends, and a later
 * job may start now only if it fits and does not delay that reservation. */
struct dc_sched_running {
  double end_s;                   /* estimated end (>= now) */
  uint32_t procs;
};
struct dc_sched_waiting {
  uint32_t procs;
  double est_s;                   /* runtime estimate (> 0) */
};
/* q[] is the queue in its order; bf (may be NULL = queue order) is the order
 * in which backfill candidates are tried (indices into q). OUT: start[] gets
 * the indices of jobs to start now, in start order (*nstart); *shadow_s the
 * head's reservation (or -1 if the whole queue started).
 * Errors: DC_ENOMEM. */
int dc_sched_easy(double now_s, uint32_t free_procs,
                  const struct dc_sched_running *run, size_t nrun,
                  const struct dc_sched_waiting *q, size_t nq,
                  const size_t *bf, size_t *start, size_t *nstart,
                  double *shadow_s);

/* ---- Batch assignment ----
 * Assigns a window of tasks at once: the cost matrix is reduced to the k
 * cheapest candidate nodes per task, solved exactly as a min-cost flow
 * (a node takes as many tasks of the batch as its free cpu and memory
 * hold of the average candidate), then what the flow left out or what
 * overflows is placed by the scored greedy path.
 * Windows larger than max_exact fall back to scored greedy. */
enum dc_sched_solver { DC_SCHED_SOLVER_FLOW, DC_SCHED_SOLVER_GREEDY };
struct dc_sched_batch_opts {
  size_t topk;                    /* candidates per task (8) */
  size_t max_exact;               /* largest window solved exactly (4096) */
  /* Fairness (DRF): each user's dominant share of the cluster before the
   * batch, indexed by dc_sched_req.user (users >= nusers count as 0). Tasks
   * are offered to the solver user by user, the lowest dominant share
   * first, each placed task raising its user's share; when the window does
   * not fit, the users with the least get served. NULL = all start at 0. */
  const double *user_share;
  size_t nusers;
};
struct dc_sched_batch_result {
  enum dc_sched_solver solver;
  double objective;               /* total cost of the placed tasks */
  size_t placed, repaired;        /* repaired: moved after an overflow */
};
/* nodes are updated (resources taken) for each placed task. OUT: node_of[i]
 * is task i's node or SIZE_MAX; allocs[i] what it took.
 * Errors: DC_ENOMEM (nodes unchanged). */
int dc_sched_batch(struct dc_sched_ctx *ctx, struct dc_sched_res *nodes,
                   size_t nnodes, const struct dc_sched_req *tasks,
                   size_t ntasks, const struct dc_sched_batch_opts *o,
                   size_t *node_of, struct dc_sched_alloc *allocs,
                   struct dc_sched_batch_result *res);

/* ---- service clusters ----------------------------------------------------
 * Moves of dynamic providers between the service classes they accept,
 * ahead of demand (docs/matching.md "Service clusters"). Pure: the master
 * gives the forecast demand per class and the live providers; the plan
 * says which dynamic provider goes where. A fixed provider serves every
 * class it lists and counts toward each; a dynamic one counts only toward
 * the cluster it is in. */
struct dc_shard_node {            /* pointers borrowed for the call */
  const char *classes;            /* comma-separated classes it accepts */
  const char *cluster;            /* the class it serves now (dynamic) */
  bool dynamic;
  bool movable;                   /* idle, and settled since its last move */
  double cores;
};
struct dc_shard_class {
  const char *name;
  double demand_cores;            /* forecast need over the horizon */
};
struct dc_shard_move {
  size_t node;                    /* index into nodes[] */
  size_t from, to;                /* indexes into classes[]; from may be
                                     SIZE_MAX if the node's cluster is not
                                     one of classes[] */
  double shortfall_cores;         /* of `to` before the move */
  double spare_cores;             /* of `from` before the move */
};
/* Capacity per class (OUT: cap[nclasses]) as above. */
void dc_shard_capacity(const struct dc_shard_node *nodes, size_t n,
                       const struct dc_shard_class *classes, size_t nclasses,
                       double *cap);
/* Repeatedly: the class with the largest shortfall (demand - capacity,
 * at least min_shortfall cores) takes a movable dynamic provider that
 * accepts it, from the class with the most spare capacity that stays at or
 * above its own demand without it (so a move never opens a shortfall,
 * which is the hysteresis that keeps providers from flapping). A provider
 * moves at most once per plan; at most max_moves moves. Ties go to the
 * lower index. OUT: moves[max_moves], *nmoves. */
void dc_shard_plan(const struct dc_shard_node *nodes, size_t n,
                   const struct dc_shard_class *classes, size_t nclasses,
                   double min_shortfall, size_t max_moves,
                   struct dc_shard_move *moves, size_t *nmoves);

/* ---- Proportional shares across providers ----
 * Node j's proportional share is its part of the cluster's cpu; its actual
 * share is its part of the recent work (work[j], e.g. core-seconds assigned
 * over a window). OUT: fair[j] = w × clamp(actual / proportional − 1, −1, 1):
 * a provider that had more than its share costs up to w more, one that had
 * less up to w less, so among near-equal candidates the under-served one
 * wins. Every value is 0 when no work or no cpu is recorded. */
void dc_sched_provider_fair(const struct dc_sched_res *nodes, size_t n,
                            const double *work, double w, double *fair);

#endif /* DC_SCHED_H */
