/* SPDX-License-Identifier: Apache-2.0
 * httpd, MHD side: runs on libmicrohttpd's threads. Copies each request
 * (headers, query, capped body) into one dc_httpd_req, refuses what it can
 * without the loop (413, 503), and hands the rest to the loop thread through
 * the locked queue + uv_async_send, with the connection suspended. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "httpd/httpd_int.h"

/* ---- copying a request ------------------------------------------------- */

struct kv_copy {
  size_t count;
  size_t bytes;
  struct httpd_kv *kv; /* second pass: destination */
  char *p;             /* second pass: string area cursor */
};

static enum MHD_Result kv_measure(void *cls, enum MHD_ValueKind kind,
                                  const char *key, const char *value) {
  struct kv_copy *c = cls;
  c->count++;
  c->bytes += strlen(key ? key : "") + 1 + strlen(value ? value : "") + 1;
  return MHD_YES;
}

static const char *put_str(char **p, const char *s) {
  size_t n = strlen(s) + 1;
  memcpy(*p, s, n);
  const char *d = *p;
  *p += n;
  return d;
}

static enum MHD_Result kv_store(void *cls, enum MHD_ValueKind kind,
                                const char *key, const char *value) {
  struct kv_copy *c = cls;
  struct httpd_kv *kv = &c->kv[c->count++];
  kv->key = put_str(&c->p, key ? key : "");
  kv->val = put_str(&c->p, value ? value : "");
  return MHD_YES;
}

/* One allocation holds r, both kv arrays and every string, so the loop can
 * read any header later and freeing is a single call. MHD's per-connection
 * memory limit bounds the size. */
static struct dc_httpd_req *req_new(struct dc_httpd *h,
                                    struct MHD_Connection *conn,
                                    const char *url, const char *method) {
  struct kv_copy hs = {0}, qs = {0};
  MHD_get_connection_values(conn, MHD_HEADER_KIND, kv_measure, &hs);
  MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, kv_measure, &qs);
  size_t total = sizeof(struct dc_httpd_req) +
                 (hs.count + qs.count) * sizeof(struct httpd_kv) + strlen(url) +
                 1 + strlen(method) + 1 + hs.bytes + qs.bytes;
  struct dc_httpd_req *r = dc_malloc(total);
  if (!r) return NULL;
  memset(r, 0, sizeof *r);
  r->h = h;
  r->conn = conn;
  atomic_init(&r->refs, 1);
  atomic_init(&r->state, REQ_READING);
  r->body.max = h->cfg.max_body;
  r->headers = (struct httpd_kv *)(r + 1);
  r->query = r->headers + hs.count;
  char *p = (char *)(r->query + qs.count);
  r->method = put_str(&p, method);
  r->path = put_str(&p, url);
  struct kv_copy c = {.kv = r->headers, .p = p};
  MHD_get_connection_values(conn, MHD_HEADER_KIND, kv_store, &c);
  r->n_headers = c.count;
  c = (struct kv_copy){.kv = r->query, .p = c.p};
  MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, kv_store, &c);
  r->n_query = c.count;
  return r;
}

void httpd_req_release(struct dc_httpd_req *r) {
  if (atomic_fetch_sub_explicit(&r->refs, 1, memory_order_acq_rel) != 1) return;
  if (r->resp && !r->resp_shared) MHD_destroy_response(r->resp);
  dc_buf_free(&r->body);
  dc_free(r);
}

/* ---- answering on the MHD side ----------------------------------------- */

void httpd_count_status(struct dc_httpd *h, unsigned status) {
  unsigned k = status / 100;
  if (k >= 1 && k <= 5)
    atomic_fetch_add_explicit(&h->by_class[k], 1, memory_order_relaxed);
}

static enum MHD_Result queue(struct dc_httpd *h, struct MHD_Connection *conn,
                             unsigned status, struct MHD_Response *resp) {
  enum MHD_Result ret = MHD_queue_response(conn, status, resp);
  if (ret == MHD_YES) httpd_count_status(h, status);
  return ret;
}

/* The loop answered and resumed us: queue what it stored. */
static enum MHD_Result queue_stored(struct dc_httpd_req *r) {
  struct MHD_Response *resp = r->resp;
  r->resp = NULL;
  enum MHD_Result ret = queue(r->h, r->conn, r->status, resp);
  if (!r->resp_shared) MHD_destroy_response(resp); /* MHD holds its own ref */
  return ret;
}

static bool content_length(const struct dc_httpd_req *r, uint64_t *out) {
  for (size_t i = 0; i < r->n_headers; i++) {
    if (strcasecmp(r->headers[i].key, MHD_HTTP_HEADER_CONTENT_LENGTH) != 0)
      continue;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(r->headers[i].val, &end, 10);
    if (errno || end == r->headers[i].val || *end) return false;
    *out = v;
    return true;
  }
  return false;
}

static enum MHD_Result hand_over(struct dc_httpd *h, struct dc_httpd_req *r) {
  struct MHD_Response *reject = NULL;
  pthread_mutex_lock(&h->lock);
  if (h->stopping) {
    reject = h->resp_503_stop;
  } else if (h->pending >= h->cfg.pending_max) {
    reject = h->resp_503_busy;
  } else {
    h->pending++;
    h->in_flight++;
  }
  pthread_mutex_unlock(&h->lock);
  if (reject) {
    if (reject == h->resp_503_busy)
      atomic_fetch_add_explicit(&h->shed, 1, memory_order_relaxed);
    return queue(h, r->conn, MHD_HTTP_SERVICE_UNAVAILABLE, reject);
  }
  r->handed = true;
  atomic_store_explicit(&r->refs, 2, memory_order_relaxed); /* + the loop */
  atomic_store_explicit(&r->state, REQ_LOOP, memory_order_relaxed);
  /* Suspend before the loop can see r: it may answer and resume at once,
   * and resuming a connection that is not suspended is undefined. Our lock
   * is not held here so MHD's internal locks never nest inside it. If stop
   * drained the queue in between, the loop answers r 503 on arrival; stop
   * waits for pending to reach 0 before it stops MHD. */
  MHD_suspend_connection(r->conn);
  pthread_mutex_lock(&h->lock);
  r->next = NULL;
  if (h->q_tail)
    h->q_tail->next = r;
  else
    h->q_head = r;
  h->q_tail = r;
  pthread_mutex_unlock(&h->lock);
  uv_async_send(&h->async); /* libuv's documented cross-thread call */
  return MHD_YES;
}

enum MHD_Result httpd_access_cb(void *cls, struct MHD_Connection *conn,
                                const char *url, const char *method,
                                const char *version, const char *upload,
                                size_t *upload_size, void **con_cls) {
  struct dc_httpd *h = cls;
  struct dc_httpd_req *r = *con_cls;

  if (!r) { /* first call: headers only */
    r = req_new(h, conn, url, method);
    if (!r) {
      DC_WARN(HTTPD_MOD, "msg=\"out of memory copying request\"");
      return MHD_NO;
    }
    *con_cls = r;
    uint64_t len;
    if (content_length(r, &len)) {
      if (len > h->cfg.max_body) {
        /* Answering before the body makes MHD skip "100 Continue", never
         * read the body, and close the connection: the one case where an
         * answer on the first call is what we want. */
        atomic_fetch_add_explicit(&h->too_large, 1, memory_order_relaxed);
        return queue(h, conn, MHD_HTTP_CONTENT_TOO_LARGE, h->resp_413);
      }
      /* Reserve the whole body at once (+1 for the NUL). */
      if (len && dc_buf_reserve(&r->body, (size_t)len)) return MHD_NO;
    }
    /* FIELD-NOTES: answering on the first call makes MHD 0.9.75 close a
     * keep-alive connection; the answer is queued on a later call. */
    return MHD_YES;
  }

  if (*upload_size) {
    int rc = dc_buf_append(&r->body, upload, *upload_size);
    if (rc) {
      /* Only a chunked body gets here (a Content-Length over the cap was
       * refused above). MHD 0.9.75 refuses a response queued once the
       * body has started, and reading on just to say 413 would let a
       * client stream for ever: drop the connection instead. */
      if (rc == DC_ETOOBIG)
        atomic_fetch_add_explicit(&h->too_large, 1, memory_order_relaxed);
      DC_DEBUG(HTTPD_MOD, "msg=\"dropping request\" reason=%s path=%s",
               dc_err_name(rc), r->path);
      return MHD_NO;
    }
    *upload_size = 0;
    return MHD_YES;
  }

  switch (atomic_load_explicit(&r->state, memory_order_acquire)) {
    case REQ_READING:
      if (r->body.data) dc_buf_cstr(&r->body); /* room reserved: no alloc */
      return hand_over(h, r);
    case REQ_ANSWERED:
      return queue_stored(r);
    default: /* not expected while suspended; keep waiting */
      return MHD_YES;
  }
}

void httpd_completed_cb(void *cls, struct MHD_Connection *conn, void **con_cls,
                        enum MHD_RequestTerminationCode toe) {
  struct dc_httpd *h = cls;
  struct dc_httpd_req *r = *con_cls;
  if (!r) return;
  *con_cls = NULL;
  if (r->handed) {
    pthread_mutex_lock(&h->lock);
    h->in_flight--;
    if (atomic_load_explicit(&r->state, memory_order_acquire) != REQ_ANSWERED) {
      /* MHD does not close suspended connections (stop resumes them all
       * first); should it ever, the loop must not resume a dead one. */
      r->conn_gone = true;
      DC_ERROR(HTTPD_MOD, "msg=\"request completed while suspended\"");
    }
    bool wake = h->stopping;
    pthread_mutex_unlock(&h->lock);
    if (wake) uv_async_send(&h->async); /* stop waits for in_flight == 0 */
  }
  httpd_req_release(r);
}

/* ---- accessors (loop thread) ------------------------------------------- */

const char *dc_httpd_req_method(const struct dc_httpd_req *r) {
  return r->method;
}

const char *dc_httpd_req_path(const struct dc_httpd_req *r) {
  return r->path;
}

const char *dc_httpd_req_query(const struct dc_httpd_req *r, const char *key) {
  for (size_t i = 0; i < r->n_query; i++)
    if (strcmp(r->query[i].key, key) == 0) return r->query[i].val;
  return NULL;
}

const char *dc_httpd_req_header(const struct dc_httpd_req *r,
                                const char *name) {
  for (size_t i = 0; i < r->n_headers; i++)
    if (strcasecmp(r->headers[i].key, name) == 0) return r->headers[i].val;
  return NULL;
}

const uint8_t *dc_httpd_req_body(const struct dc_httpd_req *r, size_t *len) {
  static const uint8_t empty[1];
  if (len) *len = r->body.len;
  return r->body.data ? r->body.data : empty;
}

void dc_httpd_req_set_cancel(struct dc_httpd_req *r, dc_httpd_cancel_cb cb,
                             void *data) {
  r->cancel_cb = cb;
  r->cancel_data = data;
}
