/* SPDX-License-Identifier: Apache-2.0
 * httpd internals shared by httpd.c (lifecycle, loop side), req.c (MHD side)
 * and respond.c (answers). Nothing outside src/httpd/ includes this. */
#ifndef DC_HTTPD_INT_H
#define DC_HTTPD_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include <microhttpd.h>

#include "httpd/httpd.h"

#define HTTPD_MOD "httpd"
#define HTTPD_LISTEN_BACKLOG 511
/* MHD's per-connection pool (its default): request line + headers must
 * fit; MHD zeroes it per request, so bigger costs time on every request. */
#define HTTPD_CONN_MEMORY (32u * 1024u)
/* How long dc_httpd_stop() waits for the 503s to reach their clients. */
#define HTTPD_STOP_DRAIN_MS 2000
#define HTTPD_JSON "application/json"
#define HTTPD_LOG_LINE_MAX 512 /* one MHD log message, truncated */

/* Lifecycle of a request (field `state`):
 *   READING  MHD side: headers copied, body arriving. Only MHD touches r.
 *   LOOP     handed over: suspended in MHD, owned by the loop thread.
 *   ANSWERED resp/status set by the loop, connection resumed; the MHD side
 *            queues resp on its next call. The loop no longer touches r.
 * The loop publishes resp with a release store of ANSWERED; the MHD side
 * reads it after an acquire load. */
enum httpd_req_state { REQ_READING = 0, REQ_LOOP, REQ_ANSWERED };

struct httpd_kv {
  const char *key;
  const char *val; /* never NULL ("" for "?flag") */
};

#define HTTPD_XHEADERS_MAX 4

struct dc_httpd_req {
  struct dc_httpd *h;
  struct MHD_Connection *conn;
  struct dc_httpd_req *next; /* queue link (under h->lock) or live list */
  struct dc_httpd_req *prev; /* live list (loop thread) */
  atomic_int refs;           /* MHD side + loop side while handed over */
  atomic_int state;          /* enum httpd_req_state */
  bool handed;               /* counted in h->in_flight (MHD side) */
  bool in_live;              /* on h->live (loop thread) */
  bool conn_gone;            /* MHD completed r while suspended (h->lock) */
  const char *method;
  const char *path;
  struct httpd_kv *headers;
  size_t n_headers;
  struct httpd_kv *query;
  size_t n_query;
  struct dc_buf body;        /* capped at h->cfg.max_body */
  struct MHD_Response *resp; /* set when ANSWERED */
  unsigned status;
  bool resp_shared; /* resp is one of h's prebuilt answers */
  dc_httpd_cancel_cb cancel_cb;
  void *cancel_data;
  struct {                   /* extra response headers (loop thread) */
    char name[32];
    char value[256];
  } xh[HTTPD_XHEADERS_MAX];
  size_t nxh;
  /* kv arrays and strings follow in the same allocation */
};

struct dc_httpd {
  struct dc_httpd_config cfg; /* defaults applied; bind_addr not kept */
  char bind_addr[64];
  uv_loop_t *loop;
  uv_async_t async; /* MHD threads -> loop: new requests, stop progress */
  uv_timer_t drain_timer;
  struct MHD_Daemon *daemon;
  int listen_fd;   /* ours; MHD uses it via MHD_OPTION_LISTEN_SOCKET */
  int quiesced_fd; /* returned by MHD_quiesce_daemon: ours to close */
  uint16_t port;
  dc_httpd_handler_cb handler;
  void *ud;

  /* Prebuilt answers given without allocation (shared, refcounted by MHD).*/
  struct MHD_Response *resp_413;
  struct MHD_Response *resp_503_busy;
  struct MHD_Response *resp_503_stop; /* with Connection: close */
  struct MHD_Response *resp_500;

  pthread_mutex_t lock;        /* guards the fields down to in_flight */
  struct dc_httpd_req *q_head; /* handed over, not yet seen by the loop */
  struct dc_httpd_req *q_tail;
  bool stopping;      /* new requests get 503 on the MHD side */
  unsigned pending;   /* handed over, not yet answered */
  unsigned in_flight; /* handed over, not yet completed by MHD */

  /* Loop thread only. */
  struct dc_httpd_req *live; /* delivered to the handler, unanswered */
  bool stop_started;
  bool drain_expired;
  bool finished;
  int closing; /* uv handles still closing */
  dc_httpd_stop_cb stop_cb;
  void *stop_data;

  atomic_uint_least64_t by_class[6];
  atomic_uint_least64_t too_large;
  atomic_uint_least64_t shed;
};

/* req.c: MHD callbacks (MHD threads). */
enum MHD_Result httpd_access_cb(void *cls, struct MHD_Connection *conn,
                                const char *url, const char *method,
                                const char *version, const char *upload,
                                size_t *upload_size, void **con_cls);
void httpd_completed_cb(void *cls, struct MHD_Connection *conn, void **con_cls,
                        enum MHD_RequestTerminationCode toe);
/* Drops one reference; frees r at zero. Any thread. */
void httpd_req_release(struct dc_httpd_req *r);
void httpd_count_status(struct dc_httpd *h, unsigned status);

/* respond.c */
/* Prebuilt JSON error answer (shared); NULL on OOM. Any thread. */
struct MHD_Response *httpd_error_response(const char *code, const char *msg);
/* Loop side: stores resp, resumes the connection, releases the loop's
 * reference. resp_shared: resp is prebuilt and must not be destroyed. */
void httpd_answer(struct dc_httpd_req *r, struct MHD_Response *resp,
                  unsigned status, bool resp_shared);

/* httpd.c */
void httpd_live_remove(struct dc_httpd *h, struct dc_httpd_req *r);

#endif /* DC_HTTPD_INT_H */
