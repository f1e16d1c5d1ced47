/* SPDX-License-Identifier: Apache-2.0
 * jobspec: the job specification users submit (JSON), parsed and fully
 * validated into a plain struct, plus the canonical JSON form the masters
 * store and replay, and the per-task JSON a provider runs. docs/jobspec.md
 * is the user-facing schema; this header is the C contract. */
#ifndef DC_JOBSPEC_H
#define DC_JOBSPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/base.h"

/* ---- limits (docs/jobspec.md lists them for users) ----------------------- */
#define DC_JOBSPEC_MAX_JSON (1024u * 1024u) /* input and canonical form, bytes */
#define DC_JOBSPEC_NAME_MAX 128             /* job name, bytes */
#define DC_JOBSPEC_LABELS_MAX 64            /* entries per label map */
#define DC_JOBSPEC_LABEL_KEY_MAX 64         /* bytes */
#define DC_JOBSPEC_LABEL_VALUE_MAX 256      /* bytes */
#define DC_JOBSPEC_CLASS_MAX 64             /* service_class, bytes */
#define DC_JOBSPEC_TASKS_MAX 1000
#define DC_JOBSPEC_INSTANCES_MAX 10000 /* sum of count over tasks */
#define DC_JOBSPEC_TASK_NAME_MAX 64
#define DC_JOBSPEC_ARGV_MAX 256       /* command entries */
#define DC_JOBSPEC_ARG_MAX 4096       /* bytes per command entry */
#define DC_JOBSPEC_ENV_MAX 128        /* entries */
#define DC_JOBSPEC_ENV_NAME_MAX 128   /* bytes */
#define DC_JOBSPEC_ENV_VALUE_MAX 4096 /* bytes */
#define DC_JOBSPEC_FILES_MAX 256      /* entries per task */
#define DC_JOBSPEC_FILE_BYTES_MAX (256u * 1024u) /* decoded, per task */
#define DC_JOBSPEC_OUTPUTS_MAX 32
#define DC_JOBSPEC_PATH_MAX 256 /* bytes, files[].path and outputs[] */

/* Defaults filled in by the parser. */
#define DC_JOBSPEC_DEFAULT_PRIORITY 50
#define DC_JOBSPEC_DEFAULT_MODE 0644u
#define DC_JOBSPEC_DEFAULT_CPU_MILLIS 1000u
#define DC_JOBSPEC_DEFAULT_MEMORY_MB 256u
#define DC_JOBSPEC_DEFAULT_DISK_MB 1024u
#define DC_JOBSPEC_DEFAULT_TIMEOUT_S 3600u

/* One string pair. Maps (labels, env) are stored sorted by key (bytewise),
 * keys unique, so equal specs have equal structs. */
struct dc_jobspec_kv {
  char *key;
  char *value;
};

struct dc_jobspec_file {
  char *path;       /* relative, validated (see docs) */
  uint8_t *content; /* len bytes, may hold any byte; NULL when len == 0 */
  size_t len;
  uint32_t mode; /* 0..0777 */
};

struct dc_jobspec_task {
  char *name; /* [a-z0-9_-]{1,64}, unique in the job */
  char **argv; /* argc entries, argc >= 1, argv[0] non-empty */
  size_t argc;
  struct dc_jobspec_kv *env; /* sorted by key; no key starts with "DC_" */
  size_t nenv;
  struct dc_jobspec_file *files; /* declaration order, paths unique */
  size_t nfiles;
  char **outputs; /* declaration order, unique */
  size_t noutputs;
  uint32_t cpu_millis; /* 1..256000 */
  uint64_t memory_mb;  /* 1..1048576 */
  uint64_t disk_mb;    /* 0..10485760 */
  uint32_t gpu;        /* 0..64 */
  uint32_t timeout_s;  /* 1..604800 */
  uint32_t retries;    /* 0..100 */
  uint32_t count;      /* 1..10000 instances, DC_TASK_INDEX 0..count-1 */
  char **after;        /* names of other tasks of this job, declaration order */
  size_t nafter;
  bool network;
};

struct dc_jobspec_constraints {
  char *service_class; /* NULL = any class ("any" in JSON parses to NULL) */
  struct dc_jobspec_kv *labels; /* node must carry these; sorted by key */
  size_t nlabels;
  bool has_max_price;
  uint64_t max_price; /* micro-DEEP per cpu-hour */
  bool gpu;           /* node must have a GPU */
  bool has_near;
  double near_lat;    /* degrees, quantized to 1e-7 */
  double near_lon;    /* degrees, quantized to 1e-7 */
  double near_max_km; /* quantized to 1e-3, 0.001..40075 */
};

/* A parsed, valid job. All memory is owned by the struct (dc_malloc) and
 * released by dc_jobspec_free. Read-only once returned: the invariants in
 * the comments above hold only for what dc_jobspec_parse produced. */
struct dc_jobspec {
  char *name; /* 1..128 bytes, no control characters */
  int priority; /* 0..100 */
  struct dc_jobspec_kv *labels; /* sorted by key */
  size_t nlabels;
  uint64_t budget; /* micro-DEEP, 0..INT64_MAX */
  struct dc_jobspec_constraints constraints;
  struct dc_jobspec_task *tasks; /* declaration order, 1..1000 */
  size_t ntasks;
  size_t total_instances; /* sum of tasks[i].count, <= 10000 */
};

/* Parses and validates a job spec. `json` is borrowed (len bytes, need not be
 * NUL-terminated). On success *out is a new spec (dc_jobspec_free). On
 * failure *out is left unchanged, nothing is allocated, and `err` (may be
 * NULL) says which field is wrong, e.g.
 * "tasks[1].resources.memory_mb: must be an integer between 1 and 1048576".
 * Pure and deterministic (no clock, locale or global state), so the FSM may
 * call it; safe from any thread.
 * Errors: DC_EINVAL (bad JSON or any schema rule), DC_ETOOBIG (input or its
 *         canonical form over DC_JOBSPEC_MAX_JSON), DC_ENOMEM. */
int dc_jobspec_parse(const char *json, size_t len, struct dc_jobspec **out,
                     struct dc_errmsg *err);

/* Frees everything; NULL is fine. Also frees a partially filled struct whose
 * unset members are zero. */
void dc_jobspec_free(struct dc_jobspec *spec);

/* Canonical JSON of a parsed spec: every default written out, object keys
 * sorted, no whitespace, files as content_base64, optional constraints
 * (max_price, near) present only when set. parse(canonical(x)) equals x and
 * canonical(parse(canonical(x))) is byte-identical, so the masters can
 * store and replay it. *out_json is NUL-terminated, owned by the caller
 * (dc_free); untouched on failure.
 * Errors: DC_ENOMEM, DC_ETOOBIG (only for a spec not made by parse). */
int dc_jobspec_canonical(const struct dc_jobspec *spec, char **out_json);

/* The JSON a provider needs to run one instance of task `t`, keys sorted:
 * {"argv":[..],"cpu_millis":n,"disk_mb":n,"env":{..},"files":[{"content_base64":
 * "..","mode":n,"path":".."}],"gpu":n,"memory_mb":n,"name":"..","network":b,
 * "outputs":[..],"timeout_s":n}. The provider adds DC_TASK_INDEX,
 * DC_TASK_NAME and DC_JOB_ID to env itself. *out_json as for canonical.
 * Errors: DC_ENOMEM. */
int dc_jobspec_task_json(const struct dc_jobspec_task *t, char **out_json);

/* Writes a topological order of task indices into order[0..ntasks): every
 * task comes after all tasks named in its `after`. Among tasks that are
 * ready at the same time the lowest index goes first, so the order is a
 * pure function of the spec.
 * Errors: DC_EINVAL (unknown dependency or cycle: only for specs not made
 *         by parse), DC_ENOMEM. */
int dc_jobspec_topo_order(const struct dc_jobspec *spec, size_t *order);

/* The task called `name` (borrowed from spec; its index is t - spec->tasks),
 * or NULL if there is none. Linear in ntasks. */
const struct dc_jobspec_task *dc_jobspec_find_task(
    const struct dc_jobspec *spec, const char *name);

#endif /* DC_JOBSPEC_H */
