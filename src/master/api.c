/* SPDX-License-Identifier: Apache-2.0
 * REST routing and request authentication. Runs on the loop thread: the
 * httpd module has already copied the request out of libmicrohttpd's
 * threads. Mutating requests must be signed (see crypto.h, reqsig). */
#include <inttypes.h>
#include <jansson.h>
#include <stdlib.h>

#include "master/api_int.h"

int api_reply_json(struct dc_httpd_req *r, unsigned status, json_t *body) {
  char *text = json_dumps(body, JSON_COMPACT);
  json_decref(body);
  if (!text) return dc_httpd_respond_error(r, 500, "NOMEM", "out of memory");
  int rc = dc_httpd_respond(r, status, "application/json", text, strlen(text));
  free(text);
  return rc;
}

json_t *api_text(const void *p, size_t n) {
  json_t *s = json_stringn(p, n);
  if (s) return s;
  /* Not UTF-8: replace each invalid byte. */
  struct dc_buf b = {0};
  const uint8_t *c = p;
  for (size_t i = 0; i < n;) {
    size_t len = c[i] < 0x80 ? 1 : (c[i] >> 5) == 6 ? 2 : (c[i] >> 4) == 14 ? 3
                 : (c[i] >> 3) == 30 ? 4 : 0;
    json_t *probe =
        len && i + len <= n ? json_stringn((const char *)c + i, len) : NULL;
    if (probe) {
      json_decref(probe);
      dc_buf_append(&b, c + i, len);
      i += len;
    } else {
      dc_buf_append(&b, "\xef\xbf\xbd", 3);
      i++;
    }
  }
  json_t *out = json_stringn(b.data ? (const char *)b.data : "", b.len);
  dc_buf_free(&b);
  return out;
}

unsigned api_status_for(int code) {
  switch (code) {
    case DC_OK: return 200;
    case DC_EINVAL: case DC_EPROTO: case DC_EVERSION: return 400;
    case DC_EUNAUTH: case DC_EBADSIG: case DC_ESTALE: case DC_EREPLAY: return 401;
    case DC_EFORBIDDEN: return 403;
    case DC_ENOTFOUND: return 404;
    case DC_EEXISTS: case DC_ECONFLICT: return 409;
    case DC_ETOOBIG: return 413;
    case DC_ENOTLEADER: case DC_ECANCELED: case DC_ECLOSED: case DC_EAGAIN:
    case DC_EINDOUBT: return 503;
    default: return 500;
  }
}

/* Checks the request signature, freshness and nonce. OUT: owner (the
 * signer's public key). On failure the request has been answered. */
int api_authenticate(struct dc_master *m, struct dc_httpd_req *r,
                     uint8_t owner[DC_PK_BYTES]) {
  const char *key = dc_httpd_req_header(r, DC_HDR_KEY);
  const char *ts = dc_httpd_req_header(r, DC_HDR_TS);
  const char *nonce = dc_httpd_req_header(r, DC_HDR_NONCE);
  const char *sig = dc_httpd_req_header(r, DC_HDR_SIG);
  if (!key || !ts || !nonce || !sig) {
    dc_httpd_respond_error(r, 401, "UNAUTH",
                           "this request must be signed: send %s, %s, %s and %s "
                           "(the deepcloud CLI does this for you)",
                           DC_HDR_KEY, DC_HDR_TS, DC_HDR_NONCE, DC_HDR_SIG);
    return DC_EUNAUTH;
  }
  char *end = NULL;
  long long tsv = strtoll(ts, &end, 10);
  size_t nl = strlen(nonce);
  if (!end || *end || nl < 16 || nl > DC_REQ_NONCE_MAX ||
      dc_hex_decode(key, owner, DC_PK_BYTES) != DC_OK) {
    dc_httpd_respond_error(r, 401, "UNAUTH",
                           "malformed signature headers: %s must be 64 hex "
                           "chars, %s milliseconds, %s 16-64 chars",
                           DC_HDR_KEY, DC_HDR_TS, DC_HDR_NONCE);
    return DC_EUNAUTH;
  }
  int64_t now = dc_now_ms();
  if (llabs((long long)(now - tsv)) > (long long)m->cfg.request_skew_ms) {
    dc_httpd_respond_error(r, 401, "STALE",
                           "request timestamp is %lld ms away from the "
                           "master's clock (limit %u ms): check your clock",
                           (long long)(now - tsv), m->cfg.request_skew_ms);
    return DC_ESTALE;
  }
  size_t blen = 0;
  const uint8_t *body = dc_httpd_req_body(r, &blen);
  int rc = dc_reqsig_verify(key, sig, dc_httpd_req_method(r),
                            dc_httpd_req_path(r), body, blen, tsv, nonce);
  if (rc) {
    dc_httpd_respond_error(r, 401, "BADSIG",
                           "request signature does not verify for key %.16s",
                           key);
    return DC_EBADSIG;
  }
  rc = master_nonce_use(m, key, nonce, tsv + 2 * (int64_t)m->cfg.request_skew_ms);
  if (rc == DC_EREPLAY) {
    dc_httpd_respond_error(r, 401, "REPLAY", "this request was already seen "
                                             "(nonce reused)");
    return rc;
  }
  if (rc) {
    dc_httpd_respond_error(r, 500, "DB", "could not record the request nonce");
    return rc;
  }
  return DC_OK;
}

/* Splits "/v1/a/b/c" into at most max segments (pointers into buf). */
static size_t split_path(const char *path, char *buf, size_t bufsz,
                         char **seg, size_t max) {
  snprintf(buf, bufsz, "%s", path);
  size_t n = 0;
  char *save = NULL;
  for (char *t = strtok_r(buf, "/", &save); t && n < max;
       t = strtok_r(NULL, "/", &save))
    seg[n++] = t;
  return n;
}

void master_api_route(struct dc_master *m, struct dc_httpd_req *r) {
  const char *method = dc_httpd_req_method(r);
  const char *path = dc_httpd_req_path(r);
  char buf[1024];
  char *seg[8];
  size_t n = split_path(path, buf, sizeof buf, seg, 8);
  bool get = strcmp(method, "GET") == 0;
  bool post = strcmp(method, "POST") == 0;
  bool del = strcmp(method, "DELETE") == 0;

  if (n == 1 && strcmp(seg[0], "metrics") == 0 && get) {
    api_metrics(m, r);
    return;
  }
  if (n >= 2 && strcmp(seg[0], "v1") == 0) {
    const char *res = seg[1];
    if (n == 2 && strcmp(res, "health") == 0 && get) return api_health(m, r);
    if (n == 2 && strcmp(res, "members") == 0 && get) return api_members_list(m, r);
    if (strcmp(res, "nodes") == 0 && get) {
      if (n == 2) return api_nodes_list(m, r);
      if (n == 3) return api_node_show(m, r, seg[2]);
    }
    if (strcmp(res, "jobs") == 0) {
      if (n == 2 && post) return api_jobs_submit(m, r);
      if (n == 2 && get) return api_jobs_list(m, r);
      if (n == 3 && get) return api_job_show(m, r, seg[2]);
      if (n == 3 && del) return api_job_cancel(m, r, seg[2]);
      if (n == 4 && get && strcmp(seg[3], "tasks") == 0)
        return api_job_tasks(m, r, seg[2]);
      if (n == 4 && get && strcmp(seg[3], "bill") == 0)
        return api_job_bill(m, r, seg[2]);
    }
    if (strcmp(res, "tasks") == 0 && n == 4 && get) {
      if (strcmp(seg[3], "logs") == 0) return api_task_logs(m, r, seg[2]);
      if (strcmp(seg[3], "explain") == 0) return api_task_explain(m, r, seg[2]);
      if (strcmp(seg[3], "outputs") == 0) return api_task_outputs(m, r, seg[2]);
    }
    if (strcmp(res, "tasks") == 0 && n == 3 && get)
      return api_task_show(m, r, seg[2]);
    if (n == 2 && strcmp(res, "recommend") == 0 && post) return api_recommend(m, r);
    if (n == 2 && strcmp(res, "clusters") == 0 && get) return api_clusters_list(m, r);
    if (strcmp(res, "masters") == 0) {
      if (n == 2 && get) return api_masters_list(m, r);
      if (n == 2 && post) return api_masters_add(m, r);
      if (n == 3 && del) return api_masters_remove(m, r, seg[2]);
    }
    if (strcmp(res, "tx") == 0) {
      if (n == 2 && post) return api_tx_submit(m, r);
      if (n == 3 && get) return api_tx_show(m, r, seg[2]);
    }
    if (n == 2 && post && strcmp(res, "txs") == 0) return api_txs_submit(m, r);
    if (strcmp(res, "accounts") == 0 && get) {
      if (n == 3) return api_account_show(m, r, seg[2]);
      if (n == 4 && strcmp(seg[3], "history") == 0)
        return api_account_history(m, r, seg[2]);
    }
    if (strcmp(res, "blocks") == 0 && get) {
      if (n == 2) return api_blocks_list(m, r);
      if (n == 3) return api_block_show(m, r, seg[2]);
    }
    if (n == 2 && strcmp(res, "ledger") == 0 && get) return api_ledger_show(m, r);
    if (n == 2 && strcmp(res, "backup") == 0 && get) return api_backup(m, r);
    if (n == 2 && strcmp(res, "faucet") == 0 && post) return api_faucet(m, r);
    if (n == 4 && strcmp(res, "channels") == 0 && post &&
        strcmp(seg[3], "ticks") == 0)
      return api_channel_ticks(m, r, seg[2]);
  }
  dc_httpd_respond_error(r, 404, "NOTFOUND",
                         "no route for %s %s (see docs/api.md)", method, path);
}
