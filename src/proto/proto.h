/* SPDX-License-Identifier: Apache-2.0
 * proto: the binary codecs of the replicated-log commands (applied by the
 * FSM) and of the session messages between provider agents and masters.
 * Every decoder is safe on arbitrary bytes and exact: a value decodes only
 * from the one byte string its encoder writes. Layouts: docs/commands.md. */
#ifndef DC_PROTO_H
#define DC_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "base/base.h"
#include "crypto/crypto.h"

/* ---- versions ------------------------------------------------------------
 * Commands are stored forever in the log, so the decoder keeps reading every
 * codec version from DC_CMD_CODEC_MIN_VERSION up; the encoder writes only
 * DC_CMD_CODEC_VERSION. Types are never renumbered. Messages live only on a
 * session: they travel as net frames whose version is DC_MSG_VERSION. */
#define DC_CMD_MAGIC 0xDC01
#define DC_CMD_CODEC_VERSION 1
#define DC_CMD_CODEC_MIN_VERSION 1
#define DC_CMD_HEADER_BYTES 21 /* magic u16, version u8, type u16, u64, i64 */
#define DC_MSG_VERSION 1

/* ---- limits (bytes unless noted; strings exclude the NUL) ---------------- */
#define DC_NODE_NAME_MAX 128
#define DC_NODE_ADDR_MAX 128
#define DC_NODE_CLASSES_MAX 512
#define DC_NODE_LABELS_MAX (8 * 1024)
#define DC_NODE_SANDBOX_MAX 16
#define DC_DEAD_REASON_MAX 256
#define DC_JOB_ID_LEN 32 /* exactly: lowercase hex */
#define DC_IDEM_KEY_MAX 128
#define DC_SPEC_JSON_MAX (1024 * 1024)
#define DC_TASK_ID_MAX 256 /* and at least 1 */
#define DC_ASSIGN_MAX 4096 /* items per TASK_ASSIGN, at least 1 */
#define DC_MECHANISM_MAX 16
#define DC_RESULT_REASON_MAX 1024
#define DC_OUTPUT_PATH_MAX 256 /* and at least 1 */
#define DC_OUTPUTS_MAX 32      /* files per result */
#define DC_OUTPUTS_BYTES_MAX (1024 * 1024) /* sum of all output data */
#define DC_RUNNING_MAX 4096    /* task refs per REGISTER */
#define DC_HB_TASKS_MAX 4096   /* samples per HEARTBEAT */
#define DC_TASK_NAME_MAX 128
#define DC_TASK_JSON_MAX (2 * 1024 * 1024)
#define DC_LOG_CHUNK_MAX (64 * 1024)
#define DC_MSG_REASON_MAX 1024 /* TASK_ACK and KILL_TASK reasons */
#define DC_CMD_TX_MAX 512      /* an encoded ledger transaction */
#define DC_CMD_LEDGER_MAX (256 * 1024) /* an encoded ledger system op */
/* Upper bounds of any encoding, for sizing log entries and net frames. */
#define DC_CMD_MAX_BYTES (2 * 1024 * 1024)
#define DC_MSG_MAX_BYTES (DC_TASK_JSON_MAX + 4096)

/* ---- shared bodies -------------------------------------------------------
 * Ownership: structs filled by a decoder own every pointer (dc_malloc) and
 * are released by dc_cmd_free / dc_msg_free. Encoders only borrow. A NULL
 * string encodes as ""; decoders always return non-NULL strings, and a NULL
 * data pointer only with len 0. */
struct dc_node_info {                /* NODE_REGISTER command and REGISTER message */
  uint8_t node_id[DC_PK_BYTES];      /* provider Ed25519 public key */
  char *name;                        /* <= DC_NODE_NAME_MAX */
  char *addr;                        /* <= DC_NODE_ADDR_MAX, informational */
  uint32_t cpu_millis;
  uint64_t memory_mb;
  uint64_t disk_mb;
  uint32_t gpu;
  uint64_t price_cpu_hour;           /* micro-DEEP */
  uint64_t price_mem_gb_hour;        /* micro-DEEP */
  double lat;                        /* [-90, 90], never NaN */
  double lon;                        /* [-180, 180], never NaN */
  char *classes;                     /* comma-separated, <= DC_NODE_CLASSES_MAX */
  char *labels_json;                 /* JSON object text, not parsed here */
  char *sandbox;                     /* "cgroup2"|"cgroup1"|"rlimit" (length
                                        checked only) */
  uint8_t role;                      /* enum dc_node_role; encoded as one
                                        optional trailing byte (docs/commands.md) */
};

/* A provider's role: a fixed node serves the classes it declares; a dynamic
 * node serves one of them at a time, the one the masters assign. */
enum dc_node_role { DC_NODE_FIXED = 0, DC_NODE_DYNAMIC = 1 };

enum dc_task_outcome {
  DC_OUTCOME_SUCCEEDED = 1,
  DC_OUTCOME_FAILED = 2,
  DC_OUTCOME_TIMEOUT = 3,
  DC_OUTCOME_OOM = 4,
  DC_OUTCOME_KILLED = 5,
  DC_OUTCOME_ERROR = 6,
};

struct dc_usage {
  uint64_t cpu_user_us;
  uint64_t cpu_sys_us;
  uint64_t peak_memory_bytes;
  uint64_t wall_ms;
};

struct dc_output_file {
  char *path;                        /* 1..DC_OUTPUT_PATH_MAX, not interpreted */
  uint8_t *data;
  size_t len;
};

struct dc_task_result {              /* TASK_FINISHED command, TASK_DONE message */
  char *task_id;
  uint32_t attempt;
  uint8_t node_id[DC_PK_BYTES];      /* the provider that ran it and signs */
  uint8_t outcome;                   /* enum dc_task_outcome */
  int32_t exit_code;
  int32_t term_signal;
  struct dc_usage usage;
  char *mechanism;                   /* <= DC_MECHANISM_MAX, e.g. "cgroup2" */
  char *reason;                      /* <= DC_RESULT_REASON_MAX */
  struct dc_output_file *outputs;    /* <= DC_OUTPUTS_MAX files, data total
                                        <= DC_OUTPUTS_BYTES_MAX */
  size_t noutputs;
  uint8_t sig[DC_SIG_BYTES];         /* over dc_task_result_signing_bytes() */
};

/* ---- commands ------------------------------------------------------------ */
enum dc_cmd_type {
  DC_CMD_MIGRATE = 1,
  DC_CMD_NODE_REGISTER = 2,
  DC_CMD_NODE_DEAD = 3,
  DC_CMD_JOB_SUBMIT = 4,
  DC_CMD_JOB_CANCEL = 5,
  DC_CMD_TASK_ASSIGN = 6,
  DC_CMD_TASK_STARTED = 7,
  DC_CMD_TASK_FINISHED = 8,
  /* 9..31 are kept for the ledger's commands. */
  DC_CMD_MASTER_SET = 32,            /* a master joins or changes its addresses */
  DC_CMD_MASTER_REMOVE = 33,
  DC_CMD_NODE_CLUSTER_SET = 40,      /* service cluster / similarity group moves */
  DC_CMD_TX = 9,            /* a signed ledger transaction (src/ledger) */
  DC_CMD_LEDGER = 10,       /* a ledger system operation, leader only */
};

#define DC_MASTER_ADDR_MAX 255

enum dc_master_role { DC_MASTER_STANDBY = 0, DC_MASTER_VOTER = 1 };

struct dc_cmd_migrate {
  uint32_t schema_version;
};
struct dc_cmd_node_register {
  struct dc_node_info node;
};
struct dc_cmd_node_dead {
  uint8_t node_id[DC_PK_BYTES];
  char *reason;                      /* <= DC_DEAD_REASON_MAX */
};
struct dc_cmd_job_submit {
  char job_id[DC_JOB_ID_LEN + 1];    /* 32 lowercase hex chars + NUL */
  uint8_t owner[DC_PK_BYTES];
  char *idem_key;                    /* <= DC_IDEM_KEY_MAX, may be empty */
  char *spec_json;                   /* canonical spec, <= DC_SPEC_JSON_MAX */
};
struct dc_cmd_job_cancel {
  char job_id[DC_JOB_ID_LEN + 1];
  uint8_t owner[DC_PK_BYTES];
};
struct dc_assignment {
  char *task_id;
  uint32_t attempt;
  uint8_t node_id[DC_PK_BYTES];
};
struct dc_cmd_task_assign {
  struct dc_assignment *items;       /* 1..DC_ASSIGN_MAX */
  size_t n;
};
struct dc_cmd_task_started {
  char *task_id;
  uint32_t attempt;
  uint8_t node_id[DC_PK_BYTES];
};
struct dc_cmd_task_finished {
  struct dc_task_result r;
};
/* TX and LEDGER carry the ledger's own canonical encoding (ledger.h), kept
 * opaque here so the log codec never changes when the ledger's does. */
struct dc_cmd_blob {
  uint8_t *data;                     /* 1..DC_CMD_TX_MAX / DC_CMD_LEDGER_MAX */
  size_t len;
};

/* The replicated registry of masters: how clients and providers reach each
 * one. The raft configuration itself lives in the log; this is what the
 * API tells others (the leader's URL for redirects, every session address
 * for providers). */
struct dc_cmd_master_set {
  uint64_t id;                       /* raft server id, never 0 */
  uint8_t role;                      /* enum dc_master_role */
  char *raft_addr;                   /* host:port, <= DC_MASTER_ADDR_MAX */
  char *api_url;                     /* http://host:port */
  char *session_addr;                /* host:port providers connect to */
};
struct dc_cmd_master_remove {
  uint64_t id;
};

/* Service clusters (docs/matching.md "Service clusters"): the leader moves
 * dynamic providers between the classes they accept, and records each
 * provider's similarity group. Applied all or nothing. */
#define DC_CLUSTER_SET_MAX 1024          /* items per command, at least 1 */
#define DC_CLUSTER_NAME_MAX 64
#define DC_CLUSTER_REASON_MAX 256
#define DC_GROUP_KEEP UINT32_MAX         /* item leaves the group as it is */
struct dc_cluster_item {
  uint8_t node_id[DC_PK_BYTES];
  char *cluster;                     /* <= DC_CLUSTER_NAME_MAX; "" = keep */
  uint32_t group;                    /* similarity group, or DC_GROUP_KEEP */
};
struct dc_cmd_node_cluster_set {
  struct dc_cluster_item *items;     /* 1..DC_CLUSTER_SET_MAX */
  size_t n;
  char *reason;                      /* <= DC_CLUSTER_REASON_MAX */
};

struct dc_cmd {
  uint16_t type;                     /* enum dc_cmd_type: selects the union member */
  uint64_t proposal_id;              /* unique per proposer; routes the result back */
  int64_t ts_ms;                     /* proposer's clock: the FSM never reads one */
  union {
    struct dc_cmd_migrate migrate;
    struct dc_cmd_node_register node_register;
    struct dc_cmd_node_dead node_dead;
    struct dc_cmd_job_submit job_submit;
    struct dc_cmd_job_cancel job_cancel;
    struct dc_cmd_task_assign task_assign;
    struct dc_cmd_task_started task_started;
    struct dc_cmd_task_finished task_finished;
    struct dc_cmd_master_set master_set;
    struct dc_cmd_master_remove master_remove;
    struct dc_cmd_node_cluster_set cluster_set;
    struct dc_cmd_blob blob;         /* TX, LEDGER */
  } u;
};

/* Appends the encoding of c (codec DC_CMD_CODEC_VERSION) to out. Refuses what
 * the decoder would refuse, so nothing undecodable reaches the log.
 * On error out->len is restored (its capacity may have grown).
 * Errors: DC_EINVAL (unknown type, bad job_id, empty task_id, NaN or out-of-
 * range lat/lon, bad outcome/stream/accepted, zero assignments),
 * DC_ETOOBIG (a field or list over its limit, or out->max), DC_ENOMEM. */
int dc_cmd_encode(const struct dc_cmd *c, struct dc_buf *out);
/* Decodes exactly n bytes. OUT: out (zeroed first; on error left zeroed with
 * nothing allocated; on success release with dc_cmd_free).
 * Errors: DC_ETRUNCATED, DC_EPROTO (bad magic, unknown type, trailing bytes,
 * invalid value), DC_EVERSION (codec version not known), DC_ETOOBIG,
 * DC_ENOMEM. */
int dc_cmd_decode(const uint8_t *p, size_t n, struct dc_cmd *out);
/* Reads only the header: the type and proposal id, without decoding (or
 * validating) the body. Errors: DC_ETRUNCATED, DC_EPROTO (bad magic). */
int dc_cmd_peek(const uint8_t *p, size_t n, uint16_t *type,
                uint64_t *proposal_id);
/* Frees every owned field (dc_free) and zeroes c. c may be all-zero. */
void dc_cmd_free(struct dc_cmd *c);
/* "node_register", ...; "unknown" for anything else. */
const char *dc_cmd_type_name(uint16_t type);

/* The exact bytes a provider signs for a result: the string "dc-result-v1"
 * (u32 length + bytes) then every field but sig, as in the encoding.
 * Appended to out. Errors: as dc_cmd_encode. */
int dc_task_result_signing_bytes(const struct dc_task_result *r,
                                 struct dc_buf *out);
/* Fills r->sig. id->pk must equal r->node_id (DC_EINVAL otherwise).
 * Errors: DC_EINVAL, DC_ETOOBIG, DC_ENOMEM. */
int dc_task_result_sign(struct dc_task_result *r, const struct dc_identity *id);
/* Checks r->sig against r->node_id. Errors: DC_EBADSIG, or DC_EINVAL /
 * DC_ETOOBIG for a result that cannot be encoded, DC_ENOMEM. */
int dc_task_result_verify(const struct dc_task_result *r);

/* ---- session messages ------------------------------------------------------ */
enum dc_msg_type {
  DC_MSG_REGISTER = 32,              /* agent -> master, first on a session */
  DC_MSG_REGISTERED = 33,            /* master -> agent */
  DC_MSG_HEARTBEAT = 34,             /* agent -> master, signed usage report */
  DC_MSG_RUN_TASK = 35,              /* master -> agent */
  DC_MSG_TASK_STARTED = 36,          /* agent -> master */
  DC_MSG_TASK_LOG = 37,              /* agent -> master */
  DC_MSG_TASK_DONE = 38,             /* agent -> master, signed result */
  DC_MSG_TASK_ACK = 39,              /* master -> agent, result committed or refused */
  DC_MSG_KILL_TASK = 40,             /* master -> agent */
  DC_MSG_TICKS = 41,                 /* master -> agent, relayed PayWord ticks */
  DC_MSG_CHANNELS = 42,              /* master -> agent, the open channels paying it */
  DC_MSG_LEDGER_TX = 43,             /* agent -> master, its own signed transaction */
};

struct dc_task_ref {
  char *task_id;
  uint32_t attempt;
};
struct dc_msg_register {
  struct dc_node_info node;
  struct dc_task_ref *running;       /* tasks running now, for reconciliation */
  size_t nrunning;                   /* <= DC_RUNNING_MAX */
};
struct dc_msg_registered {
  int64_t master_ts_ms;
  uint32_t heartbeat_ms;
};
struct dc_task_usage_sample {
  char *task_id;
  uint32_t attempt;
  uint64_t cpu_us;
  uint64_t memory_bytes;
};
struct dc_msg_heartbeat {
  uint64_t seq;
  int64_t ts_ms;
  uint32_t cpu_millis_used;
  uint64_t mem_used_bytes, mem_total_bytes;
  uint64_t disk_used_bytes, disk_total_bytes;
  uint64_t net_rx_bytes, net_tx_bytes;
  struct dc_task_usage_sample *tasks; /* <= DC_HB_TASKS_MAX */
  size_t ntasks;
  uint8_t sig[DC_SIG_BYTES];          /* over dc_msg_heartbeat_signing_bytes() */
};
struct dc_msg_run_task {
  char *task_id;
  uint32_t attempt;
  char *job_id;                       /* 32 lowercase hex chars */
  char *task_name;                    /* <= DC_TASK_NAME_MAX */
  uint32_t index;
  char *task_json;                    /* runnable spec, <= DC_TASK_JSON_MAX */
};
struct dc_msg_task_started {
  char *task_id;
  uint32_t attempt;
  int64_t ts_ms;
};
enum dc_log_stream { DC_STREAM_STDOUT = 1, DC_STREAM_STDERR = 2 };
struct dc_msg_task_log {
  char *task_id;
  uint32_t attempt;
  uint8_t stream;                     /* enum dc_log_stream */
  uint64_t offset;                    /* of data[0] within the stream */
  uint8_t *data;                      /* <= DC_LOG_CHUNK_MAX */
  size_t len;
};
struct dc_msg_task_ack {
  char *task_id;
  uint32_t attempt;
  uint8_t accepted;                   /* 0 or 1 */
  char *reason;                       /* <= DC_MSG_REASON_MAX */
};
struct dc_msg_kill_task {
  char *task_id;
  uint32_t attempt;
  char *reason;                       /* <= DC_MSG_REASON_MAX */
};

/* PayWord ticks of a channel paying this provider, relayed (never stored)
 * by the master from the payer. The master adds the channel's anchor and
 * length from the ledger; the agent checks each tick (one hash after the
 * previous one) and keeps the highest. */
#define DC_TICKS_MAX 4096
struct dc_tick {
  uint32_t index;                     /* 1..length */
  uint8_t word[DC_HASH_BYTES];        /* w_index: H^index(word) = anchor */
};
struct dc_msg_ticks {
  uint8_t channel[DC_HASH_BYTES];
  uint8_t anchor[DC_HASH_BYTES];
  uint32_t length;
  struct dc_tick *ticks;              /* 1..DC_TICKS_MAX */
  size_t n;
};

/* The open PayWord channels whose payee is the agent, with what it needs
 * to close them itself: the ledger's height and its account's chain. */
#define DC_CHANNELS_MAX 1024
struct dc_channel_due {
  uint8_t channel[DC_HASH_BYTES];
  uint64_t open_height;
  uint64_t reclaim_height;            /* the payer may reclaim from here */
};
#define DC_MSG_CHAIN_ID_MAX 64
struct dc_msg_channels {
  char *chain_id;                     /* what the agent signs for */
  uint64_t height;                    /* the block being filled */
  uint64_t nonce;                     /* the agent's account: last nonce */
  uint8_t head[DC_HASH_BYTES];        /* and hash of its last transaction */
  struct dc_channel_due *chans;       /* 0..DC_CHANNELS_MAX */
  size_t n;
};

/* A ledger transaction signed by the agent's own key (encoded as in
 * docs/ledger.md), for the master to check and propose. */
#define DC_MSG_LEDGER_TX_MAX 512
struct dc_msg_ledger_tx {
  uint8_t *data;
  size_t len;                         /* 1..DC_MSG_LEDGER_TX_MAX */
};

struct dc_msg {
  uint8_t type;                       /* enum dc_msg_type: selects the member */
  union {
    struct dc_msg_register reg;       /* "register" is a C keyword */
    struct dc_msg_registered registered;
    struct dc_msg_heartbeat heartbeat;
    struct dc_msg_run_task run_task;
    struct dc_msg_task_started task_started;
    struct dc_msg_task_log task_log;
    struct dc_task_result task_done;
    struct dc_msg_task_ack task_ack;
    struct dc_msg_kill_task kill_task;
    struct dc_msg_ticks ticks;
    struct dc_msg_channels channels;
    struct dc_msg_ledger_tx ledger_tx;
  } u;
};

/* Appends the payload of m (the frame carries type and DC_MSG_VERSION).
 * Same contract and errors as dc_cmd_encode. */
int dc_msg_encode(const struct dc_msg *m, struct dc_buf *out);
/* Decodes a payload of the given frame type. Same contract and errors as
 * dc_cmd_decode (unknown type: DC_EPROTO). */
int dc_msg_decode(uint8_t type, const uint8_t *p, size_t n, struct dc_msg *out);
void dc_msg_free(struct dc_msg *m);
/* "register", ...; "unknown" for anything else. */
const char *dc_msg_type_name(uint8_t type);

/* The bytes a provider signs for a usage report: "dc-usage-v1" (u32 length
 * + bytes) then every heartbeat field but sig. Errors: as dc_msg_encode. */
int dc_msg_heartbeat_signing_bytes(const struct dc_msg_heartbeat *hb,
                                   struct dc_buf *out);
/* Fills hb->sig with id's key. Errors: DC_EINVAL (closed identity or an
 * unencodable heartbeat), DC_ETOOBIG, DC_ENOMEM. */
int dc_msg_heartbeat_sign(struct dc_msg_heartbeat *hb,
                          const struct dc_identity *id);
/* pk: the session's authenticated provider key.
 * Errors: DC_EBADSIG, DC_EINVAL, DC_ETOOBIG, DC_ENOMEM. */
int dc_msg_heartbeat_verify(const struct dc_msg_heartbeat *hb,
                            const uint8_t pk[DC_PK_BYTES]);

#endif /* DC_PROTO_H */
