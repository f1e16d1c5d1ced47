/* SPDX-License-Identifier: Apache-2.0
 * httpd lifecycle and loop side: binds the socket, starts MHD, delivers
 * handed-over requests to the handler on the loop thread, and stops in
 * order (quiesce, answer held requests 503, drain, stop MHD, close). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "httpd/httpd_int.h"

/* ---- live list: requests delivered to the handler, not yet answered ---- */

static void live_add(struct dc_httpd *h, struct dc_httpd_req *r) {
  r->prev = NULL;
  r->next = h->live;
  if (h->live) h->live->prev = r;
  h->live = r;
  r->in_live = true;
}

void httpd_live_remove(struct dc_httpd *h, struct dc_httpd_req *r) {
  if (!r->in_live) return;
  if (r->prev)
    r->prev->next = r->next;
  else
    h->live = r->next;
  if (r->next) r->next->prev = r->prev;
  r->next = r->prev = NULL;
  r->in_live = false;
}

/* ---- closing ----------------------------------------------------------- */

static void destroy_responses(struct dc_httpd *h) {
  struct MHD_Response **all[] = {&h->resp_413, &h->resp_503_busy,
                                 &h->resp_503_stop, &h->resp_500};
  for (size_t i = 0; i < DC_ARRAY_LEN(all); i++) {
    if (*all[i]) MHD_destroy_response(*all[i]);
    *all[i] = NULL;
  }
}

static void on_handle_closed(uv_handle_t *hd) {
  struct dc_httpd *h = hd->data;
  if (--h->closing > 0) return;
  dc_httpd_stop_cb cb = h->stop_cb;
  void *data = h->stop_data;
  pthread_mutex_destroy(&h->lock);
  dc_free(h);
  if (cb) cb(data);
}

/* h is freed in the last close callback (libuv: memory of a handle lives
 * until its close_cb). */
static void close_handles(struct dc_httpd *h) {
  h->closing = 2;
  uv_close((uv_handle_t *)&h->async, on_handle_closed);
  uv_close((uv_handle_t *)&h->drain_timer, on_handle_closed);
}

/* ---- stopping ---------------------------------------------------------- */

static void answer_stopped(struct dc_httpd *h, struct dc_httpd_req *r) {
  if (r->cancel_cb) r->cancel_cb(r, r->cancel_data);
  httpd_answer(r, h->resp_503_stop, MHD_HTTP_SERVICE_UNAVAILABLE, true);
}

static void finish(struct dc_httpd *h) {
  h->finished = true;
  uv_timer_stop(&h->drain_timer);
  /* Joins MHD's threads and closes the remaining (idle or unfinished)
   * connections. Nothing is suspended any more: pending == 0. */
  MHD_stop_daemon(h->daemon);
  h->daemon = NULL;
  if (h->quiesced_fd >= 0) close(h->quiesced_fd);
  destroy_responses(h);
  DC_INFO(HTTPD_MOD, "msg=\"stopped\" port=%u", (unsigned)h->port);
  close_handles(h);
}

/* Finishes once every handed-over request is answered (always soon: they
 * are answered on arrival) and sent, or the drain time is up. */
static void stop_check(struct dc_httpd *h) {
  if (h->finished) return;
  pthread_mutex_lock(&h->lock);
  unsigned pending = h->pending, in_flight = h->in_flight;
  pthread_mutex_unlock(&h->lock);
  if (pending) return; /* MHD_stop_daemon must not see a suspended one */
  if (in_flight && !h->drain_expired) return;
  finish(h);
}

static void on_drain_timeout(uv_timer_t *t) {
  struct dc_httpd *h = t->data;
  h->drain_expired = true;
  stop_check(h);
}

void dc_httpd_stop(struct dc_httpd *h, dc_httpd_stop_cb cb, void *data) {
  DC_ASSERT(h && !h->stop_started);
  h->stop_started = true;
  h->stop_cb = cb;
  h->stop_data = data;
  /* Stop accepting; kept-alive connections may still send requests, which
   * get 503 from the MHD side once `stopping` is set. */
  h->quiesced_fd = MHD_quiesce_daemon(h->daemon);
  pthread_mutex_lock(&h->lock);
  h->stopping = true;
  struct dc_httpd_req *q = h->q_head;
  h->q_head = h->q_tail = NULL;
  pthread_mutex_unlock(&h->lock);
  unsigned n = 0;
  while (q) {
    struct dc_httpd_req *next = q->next;
    answer_stopped(h, q);
    q = next;
    n++;
  }
  while (h->live) {
    answer_stopped(h, h->live);
    n++;
  }
  DC_INFO(HTTPD_MOD, "msg=\"stopping\" port=%u answered_503=%u",
          (unsigned)h->port, n);
  uv_timer_start(&h->drain_timer, on_drain_timeout, HTTPD_STOP_DRAIN_MS, 0);
  stop_check(h);
}

/* ---- delivery ---------------------------------------------------------- */

static void on_async(uv_async_t *a) {
  struct dc_httpd *h = a->data;
  pthread_mutex_lock(&h->lock);
  struct dc_httpd_req *r = h->q_head;
  h->q_head = h->q_tail = NULL;
  pthread_mutex_unlock(&h->lock);
  while (r) {
    struct dc_httpd_req *next = r->next;
    if (h->stop_started) { /* also when a handler just called stop */
      answer_stopped(h, r);
    } else {
      live_add(h, r);
      h->handler(r, h->ud);
    }
    r = next;
  }
  if (h->stop_started) stop_check(h);
}

/* ---- starting ---------------------------------------------------------- */

static void mhd_log(void *cls, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
static void mhd_log(void *cls, const char *fmt, va_list ap) {
  char msg[HTTPD_LOG_LINE_MAX];
  vsnprintf(msg, sizeof msg, fmt, ap);
  size_t n = strlen(msg);
  while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r')) msg[--n] = '\0';
  for (char *p = msg; *p; p++)
    if (*p == '"') *p = '\'';
  DC_WARN(HTTPD_MOD, "msg=\"mhd: %s\"", msg);
}

/* Our own socket so that a taken port is reported with its errno, and so
 * that port 0 can be read back with getsockname. */
static int listen_socket(struct dc_httpd *h, struct dc_errmsg *err) {
  union {
    struct sockaddr sa;
    struct sockaddr_in v4;
    struct sockaddr_in6 v6;
  } a;
  memset(&a, 0, sizeof a);
  socklen_t alen;
  if (inet_pton(AF_INET, h->bind_addr, &a.v4.sin_addr) == 1) {
    a.v4.sin_family = AF_INET;
    a.v4.sin_port = htons(h->cfg.port);
    alen = sizeof a.v4;
  } else if (inet_pton(AF_INET6, h->bind_addr, &a.v6.sin6_addr) == 1) {
    a.v6.sin6_family = AF_INET6;
    a.v6.sin6_port = htons(h->cfg.port);
    alen = sizeof a.v6;
  } else {
    dc_errmsg_set(err, "bind address '%s' is not a numeric IPv4/IPv6 address",
                  h->bind_addr);
    return DC_EINVAL;
  }
  int fd =
      socket(a.sa.sa_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) {
    dc_errmsg_set(err, "socket: %s", strerror(errno));
    return DC_EIO;
  }
  /* Lets a restarted master bind while old connections sit in TIME_WAIT;
   * on Linux it does not allow two listeners on one port. */
  int one = 1;
  (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(fd, &a.sa, alen) != 0) {
    int e = errno;
    dc_errmsg_set(err, "cannot listen on %s:%u: %s%s", h->bind_addr,
                  (unsigned)h->cfg.port, strerror(e),
                  e == EADDRINUSE
                      ? " (another process holds this port: stop it or "
                        "choose another port)"
                      : "");
    close(fd);
    return DC_EIO;
  }
  if (listen(fd, HTTPD_LISTEN_BACKLOG) != 0 ||
      getsockname(fd, &a.sa, &alen) != 0) {
    dc_errmsg_set(err, "listen on %s:%u: %s", h->bind_addr,
                  (unsigned)h->cfg.port, strerror(errno));
    close(fd);
    return DC_EIO;
  }
  h->port = ntohs(a.sa.sa_family == AF_INET ? a.v4.sin_port : a.v6.sin6_port);
  h->listen_fd = fd;
  return DC_OK;
}

static int make_responses(struct dc_httpd *h) {
  char msg[128];
  snprintf(msg, sizeof msg, "request body exceeds %zu bytes", h->cfg.max_body);
  h->resp_413 = httpd_error_response(dc_err_name(DC_ETOOBIG), msg);
  h->resp_503_busy = httpd_error_response(
      dc_err_name(DC_EAGAIN), "server busy: too many pending requests");
  h->resp_503_stop =
      httpd_error_response(dc_err_name(DC_ECLOSED), "server is shutting down");
  h->resp_500 = httpd_error_response(dc_err_name(DC_ENOMEM),
                                     "internal error building the answer");
  if (!h->resp_413 || !h->resp_503_busy || !h->resp_503_stop || !h->resp_500)
    return DC_ENOMEM;
  /* The client must not reuse a connection of a stopping server. */
  if (MHD_add_response_header(h->resp_503_stop, MHD_HTTP_HEADER_CONNECTION,
                              "close") != MHD_YES)
    return DC_ENOMEM;
  return DC_OK;
}

static int apply_config(struct dc_httpd *h, const struct dc_httpd_config *cfg,
                        struct dc_errmsg *err) {
  h->cfg = cfg ? *cfg : (struct dc_httpd_config){0};
  const char *addr =
      h->cfg.bind_addr ? h->cfg.bind_addr : DC_HTTPD_BIND_DEFAULT;
  h->cfg.bind_addr = NULL; /* not kept */
  if (strlen(addr) >= sizeof h->bind_addr) {
    dc_errmsg_set(err, "bind address too long");
    return DC_EINVAL;
  }
  strcpy(h->bind_addr, addr);
  if (!h->cfg.max_body) h->cfg.max_body = DC_HTTPD_MAX_BODY_DEFAULT;
  if (!h->cfg.conn_max) h->cfg.conn_max = DC_HTTPD_CONN_MAX_DEFAULT;
  if (!h->cfg.pending_max) h->cfg.pending_max = DC_HTTPD_PENDING_MAX_DEFAULT;
  if (!h->cfg.timeout_s) h->cfg.timeout_s = DC_HTTPD_TIMEOUT_S_DEFAULT;
  if (h->cfg.threads > DC_HTTPD_THREADS_MAX) {
    dc_errmsg_set(err, "threads %u > %u", h->cfg.threads, DC_HTTPD_THREADS_MAX);
    return DC_EINVAL;
  }
  return DC_OK;
}

int dc_httpd_start(uv_loop_t *loop, const struct dc_httpd_config *cfg,
                   dc_httpd_handler_cb handler, void *ud, struct dc_httpd **out,
                   struct dc_errmsg *err) {
  struct dc_errmsg scratch;
  if (!err) err = &scratch;
  err->text[0] = '\0';
  if (!loop || !handler || !out) {
    dc_errmsg_set(err, "loop, handler and out are required");
    return DC_EINVAL;
  }
  struct dc_httpd *h = dc_calloc(1, sizeof *h);
  if (!h) {
    dc_errmsg_set(err, "out of memory");
    return DC_ENOMEM;
  }
  h->loop = loop;
  h->handler = handler;
  h->ud = ud;
  h->listen_fd = h->quiesced_fd = -1;
  pthread_mutex_init(&h->lock, NULL);
  int rc = apply_config(h, cfg, err);
  if (!rc && (rc = make_responses(h))) dc_errmsg_set(err, "out of memory");
  if (!rc) rc = listen_socket(h, err);
  if (rc) goto fail_early;

  /* Before MHD starts: its threads call uv_async_send from the first
   * request on. */
  if (uv_async_init(loop, &h->async, on_async) != 0) {
    dc_errmsg_set(err, "uv_async_init failed");
    rc = DC_ESYS;
    goto fail_early;
  }
  h->async.data = h;
  uv_timer_init(loop, &h->drain_timer);
  h->drain_timer.data = h;

  unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
                   MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
  /* Numeric options go in an array so the pool size can be left out (MHD
   * warns about a pool of 0); the logger must come first of all. */
  struct MHD_OptionItem ops[8];
  size_t n = 0;
  ops[n++] =
      (struct MHD_OptionItem){MHD_OPTION_LISTEN_SOCKET, h->listen_fd, NULL};
  ops[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_LIMIT,
                                     (intptr_t)h->cfg.conn_max, NULL};
  ops[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_TIMEOUT,
                                     (intptr_t)h->cfg.timeout_s, NULL};
  ops[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_MEMORY_LIMIT,
                                     (intptr_t)HTTPD_CONN_MEMORY, NULL};
  if (h->cfg.threads > 1)
    ops[n++] = (struct MHD_OptionItem){MHD_OPTION_THREAD_POOL_SIZE,
                                       (intptr_t)h->cfg.threads, NULL};
  ops[n++] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
  DC_ASSERT(n <= DC_ARRAY_LEN(ops));
  h->daemon = MHD_start_daemon(flags, 0, NULL, NULL, httpd_access_cb, h,
                               MHD_OPTION_EXTERNAL_LOGGER, mhd_log, h,
                               MHD_OPTION_NOTIFY_COMPLETED, httpd_completed_cb,
                               h, MHD_OPTION_ARRAY, ops, MHD_OPTION_END);
  if (!h->daemon) {
    dc_errmsg_set(err, "libmicrohttpd failed to start on %s:%u", h->bind_addr,
                  (unsigned)h->port);
    DC_ERROR(HTTPD_MOD, "msg=\"%s\"", err->text);
    /* Not closing listen_fd: depending on where it failed MHD may have
     * closed it already, and a second close could hit an fd another
     * thread just opened. A rare failure that leaks one fd is safer. */
    destroy_responses(h);
    h->finished = true;
    close_handles(h); /* frees h once the loop runs the close callbacks */
    return DC_ESYS;
  }
  DC_INFO(HTTPD_MOD, "msg=\"listening\" addr=%s port=%u threads=%u",
          h->bind_addr, (unsigned)h->port,
          h->cfg.threads > 1 ? h->cfg.threads : 1u);
  *out = h;
  return DC_OK;

fail_early:
  DC_ERROR(HTTPD_MOD, "msg=\"%s\"", err->text);
  if (h->listen_fd >= 0) close(h->listen_fd);
  destroy_responses(h);
  pthread_mutex_destroy(&h->lock);
  dc_free(h);
  return rc;
}

uint16_t dc_httpd_port(const struct dc_httpd *h) {
  return h->port;
}

void dc_httpd_stats(const struct dc_httpd *h, struct dc_httpd_stats *out) {
  struct dc_httpd *m = (struct dc_httpd *)h; /* the lock is not state */
  memset(out, 0, sizeof *out);
  for (size_t k = 1; k < DC_ARRAY_LEN(out->responses); k++)
    out->responses[k] =
        atomic_load_explicit(&m->by_class[k], memory_order_relaxed);
  out->too_large = atomic_load_explicit(&m->too_large, memory_order_relaxed);
  out->shed = atomic_load_explicit(&m->shed, memory_order_relaxed);
  pthread_mutex_lock(&m->lock);
  out->pending = m->pending;
  pthread_mutex_unlock(&m->lock);
}
