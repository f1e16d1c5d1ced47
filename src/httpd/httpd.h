/* SPDX-License-Identifier: Apache-2.0
 * httpd: the HTTP server under the master's REST API. libmicrohttpd parses
 * requests on its own threads and hands each complete request to one libuv
 * loop thread, where the handler runs and answers now or later; MHD threads
 * never touch the loop's objects. This header is the module's only API. */
#ifndef DC_HTTPD_H
#define DC_HTTPD_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "base/base.h"

/* Defaults used when a config field is 0. */
#define DC_HTTPD_BIND_DEFAULT "127.0.0.1"
#define DC_HTTPD_MAX_BODY_DEFAULT ((size_t)1 << 20) /* bytes */
#define DC_HTTPD_CONN_MAX_DEFAULT 1024u /* open connections, incl. idle */
/* Requests handed to the loop and not answered yet. Kept below the
 * connection limit so that an overloaded loop sheds load with a quick 503
 * instead of clients timing out on connect. */
#define DC_HTTPD_PENDING_MAX_DEFAULT 512u
#define DC_HTTPD_TIMEOUT_S_DEFAULT 30u /* idle/slow connection, seconds */
#define DC_HTTPD_THREADS_MAX 64u

/* An all-zero config is valid: 127.0.0.1, any free port, defaults above. */
struct dc_httpd_config {
  const char *bind_addr; /* numeric IPv4/IPv6; NULL = DC_HTTPD_BIND_DEFAULT */
  uint16_t port;         /* 0 = any free port, see dc_httpd_port() */
  size_t max_body;       /* request body cap; bigger bodies get 413, but
                          * a chunked body that crosses it mid-stream has
                          * its connection dropped (MHD 0.9.75 cannot answer
                          * once a body has started) */
  unsigned threads;      /* 0 or 1 = one MHD thread + epoll; N = pool of N */
  unsigned conn_max;     /* MHD connection limit */
  unsigned pending_max;  /* over it, new requests get 503 on the MHD side */
  unsigned timeout_s;    /* MHD closes connections idle this long */
};

struct dc_httpd;     /* opaque server */
struct dc_httpd_req; /* opaque request; see dc_httpd_handler_cb */

/* Called on the loop thread once per complete request. r is valid until it
 * is answered with dc_httpd_respond*() (on the loop thread, now or from a
 * later callback) or until dc_httpd_stop() answers it with 503. Every
 * accessor returns memory owned by r (borrowed until r is answered). */
typedef void (*dc_httpd_handler_cb)(struct dc_httpd_req *r, void *ud);
/* Runs on the loop thread when dc_httpd_stop() has finished; h is freed. */
typedef void (*dc_httpd_stop_cb)(void *data);
/* Runs on the loop thread inside dc_httpd_stop() for each request the
 * handler still holds, just before it is answered 503 and freed: forget r
 * here and never answer it. */
typedef void (*dc_httpd_cancel_cb)(struct dc_httpd_req *r, void *data);

/* Per status class counts of responses sent, including the 413/503 answers
 * given on the MHD side. Safe to read from any thread. */
struct dc_httpd_stats {
  uint64_t responses[6]; /* [k] = statuses k00..k99, k = 1..5; [0] unused */
  uint64_t too_large;    /* bodies over max_body (413 or connection dropped) */
  uint64_t shed;         /* 503 because pending_max was reached */
  uint64_t pending;      /* requests held by the loop right now */
};

/* Binds cfg->bind_addr:cfg->port, starts the MHD thread(s) and attaches an
 * async handle to loop. handler/ud are borrowed until the stop callback;
 * cfg is copied (bind_addr is not kept).
 * Loop thread only. OUT: *out (stop with dc_httpd_stop), err (may be NULL:
 * a readable reason, also logged).
 * Errors: DC_EINVAL (bad argument or address), DC_EIO (bind/listen failed,
 * e.g. the port is taken), DC_ENOMEM, DC_ESYS (MHD or libuv refused). */
int dc_httpd_start(uv_loop_t *loop, const struct dc_httpd_config *cfg,
                   dc_httpd_handler_cb handler, void *ud, struct dc_httpd **out,
                   struct dc_errmsg *err);

/* The bound port (the real one when cfg->port was 0). Any thread. */
uint16_t dc_httpd_port(const struct dc_httpd *h);

/* Copies the counters into *out. Any thread. */
void dc_httpd_stats(const struct dc_httpd *h, struct dc_httpd_stats *out);

/* Stops accepting connections, answers every request the loop still holds
 * with 503 {"error":{"code":"CLOSED",...}} (calling its cancel callback
 * first), waits briefly for those answers to be sent, stops MHD, closes the
 * async handle and frees h; then calls cb(data) (cb may be NULL). Requests
 * that arrive meanwhile get 503 as well. Loop thread only, also from inside
 * a handler; the loop must keep running until cb. Call once. */
void dc_httpd_stop(struct dc_httpd *h, dc_httpd_stop_cb cb, void *data);

/* ---- request accessors (loop thread, until r is answered) --------------- */
const char *dc_httpd_req_method(const struct dc_httpd_req *r); /* "GET" */
/* Percent-decoded path without the query string: "/v1/jobs/42". */
const char *dc_httpd_req_path(const struct dc_httpd_req *r);
/* Decoded query argument; "" for "?flag"; NULL if absent (case-sensitive;
 * the first one wins if repeated). */
const char *dc_httpd_req_query(const struct dc_httpd_req *r, const char *key);
/* Request header, name case-insensitive; NULL if absent. All headers are
 * copied on the MHD side, so any may be read here. */
const char *dc_httpd_req_header(const struct dc_httpd_req *r, const char *name);
/* Body bytes (never NULL; NUL-terminated after len for text parsers).
 * OUT: len. */
const uint8_t *dc_httpd_req_body(const struct dc_httpd_req *r, size_t *len);
/* Registers cb(r, data) for dc_httpd_stop(); replaces an earlier one. Use
 * it when r is kept across callbacks (e.g. until a raft command commits). */
void dc_httpd_req_set_cancel(struct dc_httpd_req *r, dc_httpd_cancel_cb cb,
                             void *data);

/* Adds (or replaces) a header of the answer to come, e.g. X-DC-Index or
 * Location. At most 4 per request; the value has no CR/LF.
 * Errors: DC_EINVAL (too long or CR/LF), DC_ETOOBIG (too many). */
int dc_httpd_req_set_header(struct dc_httpd_req *r, const char *name,
                            const char *value);

/* ---- answers (loop thread; each consumes r, even when it fails) ---------
 * status is 100..599. content_type is copied; NULL sends no Content-Type.
 * The body is sent with Content-Length; there is no size cap. If the answer
 * cannot be built, r is answered 500 instead and the error is returned.
 * Errors: DC_EINVAL (status out of range), DC_ENOMEM. */
int dc_httpd_respond(struct dc_httpd_req *r, unsigned status,
                     const char *content_type, const void *body, size_t len);
/* As dc_httpd_respond, but takes body (allocated with dc_malloc; freed by
 * the module, also on error) instead of copying it: for large bodies. */
int dc_httpd_respond_take(struct dc_httpd_req *r, unsigned status,
                          const char *content_type, void *body, size_t len);
/* Answers application/json {"error":{"code":code,"message":<fmt...>}}.
 * code is copied (e.g. dc_err_name(err)); the message is escaped with
 * jansson, truncated to DC_HTTPD_ERRMSG_MAX bytes, and invalid UTF-8 bytes
 * are replaced with '?'. Errors: as dc_httpd_respond. */
#define DC_HTTPD_ERRMSG_MAX 1024
int dc_httpd_respond_error(struct dc_httpd_req *r, unsigned status,
                           const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Builds the same error JSON for other users (e.g. CLI tests): returns a
 * dc_malloc'd NUL-terminated string (caller dc_free) or NULL on OOM.
 * Any thread. */
char *dc_httpd_error_json(const char *code, const char *message);

#endif /* DC_HTTPD_H */
