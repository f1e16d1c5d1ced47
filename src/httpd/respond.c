/* SPDX-License-Identifier: Apache-2.0
 * httpd answers: builds MHD responses on the loop thread, stores them on the
 * request and resumes its connection; MHD queues them on its next call.
 * Also the project's JSON error body, escaped by jansson. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "httpd/httpd_int.h"

/* Length of the valid UTF-8 sequence at s, 0 if invalid (RFC 3629: no
 * overlongs, no surrogates, nothing above U+10FFFF). */
static size_t utf8_seq_len(const unsigned char *s) {
  unsigned c = s[0];
  size_t n;
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF)
    n = 2;
  else if (c >= 0xE0 && c <= 0xEF)
    n = 3;
  else if (c >= 0xF0 && c <= 0xF4)
    n = 4;
  else
    return 0;
  for (size_t i = 1; i < n; i++) /* stops at the NUL: 0 is no continuation */
    if ((s[i] & 0xC0) != 0x80) return 0;
  if ((c == 0xE0 && s[1] < 0xA0) || (c == 0xED && s[1] > 0x9F) ||
      (c == 0xF0 && s[1] < 0x90) || (c == 0xF4 && s[1] > 0x8F))
    return 0;
  return n;
}

/* jansson refuses invalid UTF-8, and a message may quote client input or
 * be cut mid-character by truncation: replace bad bytes in place. */
static void utf8_sanitize(char *s) {
  unsigned char *p = (unsigned char *)s;
  while (*p) {
    size_t n = utf8_seq_len(p);
    if (n == 0) {
      *p++ = '?';
    } else {
      p += n;
    }
  }
}

char *dc_httpd_error_json(const char *code, const char *message) {
  char *c = dc_strdup(code ? code : "");
  char *m = dc_strdup(message ? message : "");
  char *out = NULL;
  if (!c || !m) goto done;
  utf8_sanitize(c);
  utf8_sanitize(m);
  json_t *o = json_pack("{s:{s:s,s:s}}", "error", "code", c, "message", m);
  if (!o) goto done;
  char *s = json_dumps(o, JSON_COMPACT);
  json_decref(o);
  if (!s) goto done;
  out = dc_strdup(s); /* hand out dc_malloc memory, not jansson's */
  free(s);
done:
  dc_free(c);
  dc_free(m);
  return out;
}

struct MHD_Response *httpd_error_response(const char *code, const char *msg) {
  char *json = dc_httpd_error_json(code, msg);
  if (!json) return NULL;
  struct MHD_Response *resp =
      MHD_create_response_from_buffer_with_free_callback(strlen(json), json,
                                                         dc_free);
  if (!resp) {
    dc_free(json);
    return NULL;
  }
  if (MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, HTTPD_JSON) !=
      MHD_YES) {
    MHD_destroy_response(resp);
    return NULL;
  }
  return resp;
}

void httpd_answer(struct dc_httpd_req *r, struct MHD_Response *resp,
                  unsigned status, bool resp_shared) {
  struct dc_httpd *h = r->h;
  httpd_live_remove(h, r);
  r->resp = resp;
  r->status = status;
  r->resp_shared = resp_shared;
  atomic_store_explicit(&r->state, REQ_ANSWERED, memory_order_release);
  pthread_mutex_lock(&h->lock);
  h->pending--;
  bool gone = r->conn_gone;
  pthread_mutex_unlock(&h->lock);
  /* MHD calls the access handler again after the resume, which queues
   * resp (req.c); the connection then stays keep-alive. */
  if (!gone) MHD_resume_connection(r->conn);
  httpd_req_release(r); /* the loop's reference */
}

static int respond_common(struct dc_httpd_req *r, unsigned status,
                          const char *content_type, void *body, size_t len,
                          bool take) {
  struct dc_httpd *h = r->h;
  int rc = DC_ENOMEM;
  struct MHD_Response *resp = NULL;
  if (status < 100 || status > 599) {
    DC_WARN(HTTPD_MOD, "msg=\"invalid status from handler\" status=%u", status);
    if (take) dc_free(body);
    rc = DC_EINVAL;
    goto fail;
  }
  if (take) {
    resp =
        MHD_create_response_from_buffer_with_free_callback(len, body, dc_free);
    if (!resp) dc_free(body);
  } else {
    resp = MHD_create_response_from_buffer(len, body ? body : (void *)"",
                                           MHD_RESPMEM_MUST_COPY);
  }
  if (!resp) goto fail;
  if (content_type &&
      MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                              content_type) != MHD_YES) {
    MHD_destroy_response(resp);
    goto fail;
  }
  for (size_t i = 0; i < r->nxh; i++) {
    if (MHD_add_response_header(resp, r->xh[i].name, r->xh[i].value) != MHD_YES) {
      MHD_destroy_response(resp);
      goto fail;
    }
  }
  httpd_answer(r, resp, status, false);
  return DC_OK;
fail:
  /* r is consumed either way so a failed answer can never hang a client. */
  httpd_answer(r, h->resp_500, MHD_HTTP_INTERNAL_SERVER_ERROR, true);
  return rc;
}

int dc_httpd_req_set_header(struct dc_httpd_req *r, const char *name,
                            const char *value) {
  if (strlen(name) >= sizeof r->xh[0].name ||
      strlen(value) >= sizeof r->xh[0].value || strpbrk(value, "\r\n"))
    return DC_EINVAL;
  size_t i = 0;
  while (i < r->nxh && strcasecmp(r->xh[i].name, name) != 0) i++;
  if (i == HTTPD_XHEADERS_MAX) return DC_ETOOBIG;
  snprintf(r->xh[i].name, sizeof r->xh[i].name, "%s", name);
  snprintf(r->xh[i].value, sizeof r->xh[i].value, "%s", value);
  if (i == r->nxh) r->nxh++;
  return DC_OK;
}

int dc_httpd_respond(struct dc_httpd_req *r, unsigned status,
                     const char *content_type, const void *body, size_t len) {
  return respond_common(r, status, content_type, (void *)body, len, false);
}

int dc_httpd_respond_take(struct dc_httpd_req *r, unsigned status,
                          const char *content_type, void *body, size_t len) {
  return respond_common(r, status, content_type, body, len, true);
}

int dc_httpd_respond_error(struct dc_httpd_req *r, unsigned status,
                           const char *code, const char *fmt, ...) {
  char msg[DC_HTTPD_ERRMSG_MAX + 1];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  char *json = dc_httpd_error_json(code, msg);
  if (!json) {
    httpd_answer(r, r->h->resp_500, MHD_HTTP_INTERNAL_SERVER_ERROR, true);
    return DC_ENOMEM;
  }
  return respond_common(r, status, HTTPD_JSON, json, strlen(json), true);
}
