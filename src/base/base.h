/* SPDX-License-Identifier: Apache-2.0
 * base: the small self-contained pieces every module uses — error codes,
 * logging, allocation, bounded byte buffers, time and hex helpers.
 * Nothing here knows about the daemon. */
#ifndef DC_BASE_H
#define DC_BASE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- errors ------------------------------------------------------------
 * One project-wide list. 0 means OK; failures are positive DC_E* codes.
 * Codes appear in API JSON and CLI exit status: only ever append. */
#define DC_ERR_MAP(X)                                                       \
  X(NOMEM, 1, "out of memory")                                              \
  X(INVAL, 2, "invalid argument")                                           \
  X(IO, 3, "input/output error")                                            \
  X(NOTFOUND, 4, "not found")                                               \
  X(EXISTS, 5, "already exists")                                            \
  X(TOOBIG, 6, "too big")                                                   \
  X(TRUNCATED, 7, "truncated input")                                        \
  X(BADSIG, 8, "signature check failed")                                    \
  X(PROTO, 9, "protocol violation")                                         \
  X(VERSION, 10, "unsupported version")                                     \
  X(STALE, 11, "stale request")                                             \
  X(REPLAY, 12, "replayed request")                                         \
  X(UNAUTH, 13, "not authenticated")                                        \
  X(FORBIDDEN, 14, "not allowed")                                           \
  X(CONFLICT, 15, "conflicting state")                                      \
  X(NOTLEADER, 16, "not the leader")                                        \
  X(CANCELED, 17, "canceled")                                               \
  X(TIMEOUT, 18, "timed out")                                               \
  X(DB, 19, "database error")                                               \
  X(CRYPTO, 20, "cryptographic failure")                                    \
  X(SYS, 21, "system call failed")                                          \
  X(UNSUPPORTED, 22, "not supported here")                                  \
  X(REJECTED, 23, "command rejected")                                       \
  X(CLOSED, 24, "closed")                                                   \
  X(AGAIN, 25, "try again")                                                 \
  X(INDOUBT, 26, "outcome unknown: it may still take effect")

enum dc_err {
  DC_OK = 0,
#define DC__ERR_ENUM(name, num, text) DC_E##name = num,
  DC_ERR_MAP(DC__ERR_ENUM)
#undef DC__ERR_ENUM
};

const char *dc_strerror(int err);  /* "out of memory" */
const char *dc_err_name(int err);  /* "NOMEM" */

/* An error message buffer kept on an object (c-raft errmsg style). */
#define DC_ERRMSG_SIZE 256
struct dc_errmsg {
  char text[DC_ERRMSG_SIZE];
};
void dc_errmsg_set(struct dc_errmsg *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Prefix existing text: "ctx: old". */
void dc_errmsg_wrap(struct dc_errmsg *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* ---- assertions -----------------------------------------------------------
 * DC_ASSERT is for programmer mistakes and stays on in release builds. */
void dc_assert_fail(const char *expr, const char *file, int line)
    __attribute__((noreturn));
#define DC_ASSERT(e) ((e) ? (void)0 : dc_assert_fail(#e, __FILE__, __LINE__))

/* ---- logging -------------------------------------------------------------
 * One line per event, key=value: `ts=... lvl=info mod=sched msg="..."`.
 * The level is checked before anything is formatted. */
enum dc_log_level { DC_LOG_DEBUG = 0, DC_LOG_INFO, DC_LOG_WARN, DC_LOG_ERROR };
struct dc_log_sink {
  void (*write)(void *data, enum dc_log_level lvl, const char *line);
  void *data;
};
extern enum dc_log_level dc_log_min_level;
/* Installs a sink; NULL restores stderr. Not thread-safe against concurrent
 * logging: call at start-up. */
void dc_log_set_sink(const struct dc_log_sink *sink);
void dc_log_set_name(const char *process_name); /* copied */
void dc_log_impl(enum dc_log_level lvl, const char *mod, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
#define DC_LOG(lvl, mod, ...)                                               \
  do {                                                                      \
    if ((lvl) >= dc_log_min_level) dc_log_impl((lvl), (mod), __VA_ARGS__);  \
  } while (0)
#define DC_DEBUG(mod, ...) DC_LOG(DC_LOG_DEBUG, mod, __VA_ARGS__)
#define DC_INFO(mod, ...) DC_LOG(DC_LOG_INFO, mod, __VA_ARGS__)
#define DC_WARN(mod, ...) DC_LOG(DC_LOG_WARN, mod, __VA_ARGS__)
#define DC_ERROR(mod, ...) DC_LOG(DC_LOG_ERROR, mod, __VA_ARGS__)
/* Parses "debug|info|warn|error"; returns DC_EINVAL on anything else. */
int dc_log_parse_level(const char *s, enum dc_log_level *out);

/* ---- memory --------------------------------------------------------------
 * All allocation goes through these so tests can inject failures. */
void *dc_malloc(size_t n);
void *dc_calloc(size_t n, size_t size);
void *dc_realloc(void *p, size_t n);
char *dc_strdup(const char *s);
char *dc_strndup(const char *s, size_t n);
void dc_free(void *p);
#define DC_FREE(p) (dc_free(p), (p) = NULL)
/* Test hook: the Nth allocation from now (1-based) and every later one fail;
 * 0 turns injection off. Returns the number of allocations since last reset. */
void dc_alloc_fail_after(long n);
long dc_alloc_count(void);

/* ---- growable byte buffer with a hard cap ----------------------------------
 * An all-zero struct is a valid empty buffer with no cap (cap 0 = none). */
struct dc_buf {
  uint8_t *data;
  size_t len;
  size_t alloc;
  size_t max; /* 0 = unlimited; appends past it fail with DC_ETOOBIG */
};
int dc_buf_reserve(struct dc_buf *b, size_t extra);
int dc_buf_append(struct dc_buf *b, const void *p, size_t n);
int dc_buf_printf(struct dc_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* NUL-terminates without counting the NUL in len. */
int dc_buf_cstr(struct dc_buf *b);
void dc_buf_reset(struct dc_buf *b); /* len = 0, keeps memory */
void dc_buf_free(struct dc_buf *b);  /* back to all-zero (max kept) */
/* Big-endian fixed-width and length-prefixed writers. */
int dc_buf_put_u8(struct dc_buf *b, uint8_t v);
int dc_buf_put_u16(struct dc_buf *b, uint16_t v);
int dc_buf_put_u32(struct dc_buf *b, uint32_t v);
int dc_buf_put_u64(struct dc_buf *b, uint64_t v);
int dc_buf_put_i64(struct dc_buf *b, int64_t v);
int dc_buf_put_f64(struct dc_buf *b, double v);
/* u32 length then bytes. */
int dc_buf_put_bytes(struct dc_buf *b, const void *p, size_t n);
/* u32 length then bytes, s may be NULL (encoded as length 0). */
int dc_buf_put_str(struct dc_buf *b, const char *s);

/* ---- bounds-checked reader over borrowed bytes ----------------------------
 * Every getter fails with DC_ETRUNCATED instead of reading past the end, and
 * after the first failure every later getter fails too (sticky), so decoders
 * may check once at the end. */
struct dc_reader {
  const uint8_t *p;
  size_t len;
  size_t off;
  int err;
};
void dc_reader_init(struct dc_reader *r, const void *p, size_t len);
int dc_get_u8(struct dc_reader *r, uint8_t *v);
int dc_get_u16(struct dc_reader *r, uint16_t *v);
int dc_get_u32(struct dc_reader *r, uint32_t *v);
int dc_get_u64(struct dc_reader *r, uint64_t *v);
int dc_get_i64(struct dc_reader *r, int64_t *v);
int dc_get_f64(struct dc_reader *r, double *v);
/* Borrowed view into the reader's bytes; fails if length > max. */
int dc_get_bytes(struct dc_reader *r, const uint8_t **p, size_t *n, size_t max);
/* Fixed-size copy. */
int dc_get_raw(struct dc_reader *r, void *out, size_t n);
/* Allocated NUL-terminated copy (dc_free); refuses embedded NULs and
 * lengths > max. */
int dc_get_str(struct dc_reader *r, char **out, size_t max);
size_t dc_reader_left(const struct dc_reader *r);
/* DC_OK if no error so far and every byte consumed, else DC_EPROTO/err. */
int dc_reader_finish(const struct dc_reader *r);

/* ---- time ----------------------------------------------------------------
 * Wall clock in ms since the epoch and monotonic ms. The FSM never calls
 * these: proposers put times inside commands. */
int64_t dc_now_ms(void);
int64_t dc_mono_ms(void);
uint64_t dc_mono_ns(void);

/* ---- hex ---------------------------------------------------------------- */
/* out must have room for 2*n+1 chars. */
void dc_hex_encode(const void *in, size_t n, char *out);
/* Exactly 2*n hex chars into n bytes; DC_EINVAL otherwise. */
int dc_hex_decode(const char *hex, void *out, size_t n);

/* ---- lists ---------------------------------------------------------------- */
/* Whether a comma-separated list names item exactly (service classes). An
 * empty item is never listed. */
bool dc_csv_has(const char *list, const char *item);

/* ---- files ---------------------------------------------------------------- */
/* mkdir -p with mode. */
int dc_mkdir_p(const char *path, unsigned mode);
/* Reads a whole file up to max bytes into *out (dc_free), NUL-terminated. */
int dc_read_file(const char *path, size_t max, char **out, size_t *len);
/* Writes atomically (temp + fsync + rename) with mode. */
int dc_write_file_atomic(const char *path, const void *p, size_t n,
                         unsigned mode);
/* snprintf into a fixed buffer; DC_ETOOBIG if it would truncate. */
int dc_path_join(char *out, size_t outsz, const char *a, const char *b);

#define DC_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define DC_MIN(a, b) ((a) < (b) ? (a) : (b))
#define DC_MAX(a, b) ((a) > (b) ? (a) : (b))

#endif /* DC_BASE_H */
