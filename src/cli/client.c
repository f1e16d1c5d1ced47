/* SPDX-License-Identifier: Apache-2.0
 * HTTP for the CLI, on libcurl. */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/client.h"
#include "crypto/crypto.h"

#define RESPONSE_MAX (64u << 20)

static size_t on_data(char *p, size_t sz, size_t n, void *ud) {
  struct dc_buf *b = ud;
  return dc_buf_append(b, p, sz * n) == DC_OK ? sz * n : 0;
}

static int load_key(const struct client *c, struct dc_identity *id) {
  char path[4200];
  if (dc_mkdir_p(c->home, 0700)) {
    fprintf(stderr, "error: cannot create %s for your key\n", c->home);
    return DC_EIO;
  }
  snprintf(path, sizeof path, "%s/key", c->home);
  int rc = dc_identity_load_or_create(path, id, NULL);
  if (rc == DC_EFORBIDDEN)
    fprintf(stderr, "error: %s is readable by others; run: chmod 600 %s\n", path, path);
  else if (rc)
    fprintf(stderr, "error: cannot load key %s: %s\n", path, dc_strerror(rc));
  return rc;
}

int client_key_hex(const struct client *c, char *out) {
  struct dc_identity id = {0};
  int rc = load_key(c, &id);
  if (!rc) dc_identity_hex(&id, out);
  dc_identity_close(&id);
  return rc;
}

/* One attempt against one base URL. Followers answer writes with 307 and
 * the leader's URL: libcurl follows it keeping method, body and headers
 * (the signature covers method, path and body, so it stays valid).
 * OUT: *cc (transport result), *status, *resp. */
static int call_once(const struct client *c, const char *base, const char *method,
                     const char *path, const char *body, size_t body_len,
                     const char *extra_header, CURLcode *cc, long *status,
                     json_t **resp) {
  CURL *h = curl_easy_init();
  if (!h) return DC_ENOMEM;
  struct curl_slist *hdrs = NULL;
  char url[4200];
  snprintf(url, sizeof url, "%s%s", base, path);
  bool sign = strcmp(method, "GET") != 0;
  if (sign) {
    struct dc_identity id = {0};
    int rc = load_key(c, &id);
    if (rc) {
      curl_easy_cleanup(h);
      return rc;
    }
    char lines[4][DC_REQSIG_HEADER_MAX];
    rc = dc_reqsig_headers(&id, method, path, body, body_len, lines);
    dc_identity_close(&id);
    if (rc) {
      curl_easy_cleanup(h);
      return rc;
    }
    for (int k = 0; k < 4; k++) hdrs = curl_slist_append(hdrs, lines[k]);
  }
  if (body) hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
  if (extra_header) hdrs = curl_slist_append(hdrs, extra_header);
  hdrs = curl_slist_append(hdrs, "Expect:");
  struct dc_buf out = {.max = RESPONSE_MAX};
  curl_easy_setopt(h, CURLOPT_URL, url);
  curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &out);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 3000L);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 60000L);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(h, CURLOPT_POSTREDIR, (long)CURL_REDIR_POST_ALL);
  curl_easy_setopt(h, CURLOPT_MAXREDIRS, 3L);
  if (body) {
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
  }
  *cc = curl_easy_perform(h);
  if (*cc == CURLE_OK) {
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
    if (out.len) *resp = json_loadb((const char *)out.data, out.len, 0, NULL);
    if (!*resp && out.len) {
      /* /metrics and other text answers */
      dc_buf_cstr(&out);
      *resp = json_string((const char *)out.data);
    }
  }
  dc_buf_free(&out);
  curl_slist_free_all(hdrs);
  curl_easy_cleanup(h);
  return DC_OK;
}

/* Whether an answer says "nobody could take this write now" (no leader
 * known, or this master is stopping) — safe to try another master, since
 * nothing was proposed. */
static bool no_leader(long status, json_t *resp) {
  const char *code =
      json_string_value(json_object_get(json_object_get(resp, "error"), "code"));
  return status == 503 && code && !strcmp(code, "NOTLEADER");
}

#define CALL_RETRY_MS 10000
#define PROBE_TIMEOUT_MS 1000L

/* With several masters, find the leader first: a quick health probe per
 * master (1 s each at most), so a master that is frozen or cut off cannot
 * hold a request for the full request timeout. OUT: the index of the
 * leader in urls[], or 0. */
static size_t find_leader(char *const *urls, size_t n) {
  for (size_t i = 0; i < n; i++) {
    CURL *h = curl_easy_init();
    if (!h) return 0;
    char url[4200];
    snprintf(url, sizeof url, "%s/v1/health", urls[i]);
    struct dc_buf out = {.max = 1 << 16};
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &out);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, PROBE_TIMEOUT_MS);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    bool leader = false;
    if (curl_easy_perform(h) == CURLE_OK && out.len) {
      json_t *j = json_loadb((const char *)out.data, out.len, 0, NULL);
      leader = json_is_true(json_object_get(j, "leader"));
      json_decref(j);
    }
    dc_buf_free(&out);
    curl_easy_cleanup(h);
    if (leader) return i;
  }
  return 0;
}

int client_call(const struct client *c, const char *method, const char *path,
                const char *body, size_t body_len, const char *extra_header,
                long *status, json_t **resp) {
  *resp = NULL;
  *status = 0;
  /* --api may list every master: try them in turn while none answers or
   * none leads (an election takes well under a second; allow 10 s). */
  char list[2048];
  snprintf(list, sizeof list, "%s", c->api);
  char *urls[16];
  size_t n = 0;
  char *save = NULL;
  for (char *t = strtok_r(list, ",", &save); t && n < 16; t = strtok_r(NULL, ",", &save))
    urls[n++] = t;
  if (n == 0) urls[n++] = (char *)DC_API_DEFAULT;
  int64_t deadline = dc_mono_ms() + CALL_RETRY_MS;
  CURLcode cc = CURLE_OK;
  size_t first = n > 1 ? find_leader(urls, n) : 0;
  for (size_t i = first;; i++) {
    const char *base = urls[i % n];
    json_decref(*resp);
    *resp = NULL;
    *status = 0;
    int rc = call_once(c, base, method, path, body, body_len, extra_header, &cc,
                       status, resp);
    if (rc) return rc;
    bool retry = cc == CURLE_COULDNT_CONNECT || (cc == CURLE_OK && no_leader(*status, *resp));
    if (!retry || dc_mono_ms() > deadline) break;
    if (i % n == (first + n - 1) % n) {
      usleep(200 * 1000);
      if (n > 1) i = find_leader(urls, n) + n - 1; /* next turn starts there */
    }
  }
  if (cc != CURLE_OK) {
    fprintf(stderr,
            "error: cannot reach the DeepCloud API at %s: %s\n"
            "hint: start a local cloud with `deepcloud dev`, or point the CLI "
            "at a master with --api URL or DEEPCLOUD_API\n",
            c->api, curl_easy_strerror(cc));
    return DC_EIO;
  }
  return DC_OK;
}

int client_report(const char *what, long status, json_t *resp) {
  json_t *e = json_object_get(resp, "error");
  const char *code = json_string_value(json_object_get(e, "code"));
  const char *msg = json_string_value(json_object_get(e, "message"));
  fprintf(stderr, "error: %s failed (HTTP %ld%s%s): %s\n", what, status,
          code ? ", " : "", code ? code : "", msg ? msg : "no details");
  if (status == 401)
    fprintf(stderr, "hint: requests are signed with the key in DEEPCLOUD_HOME "
                    "(default ~/.deepcloud); check your clock too\n");
  return 1;
}

int client_get(const struct client *c, const char *what, const char *path,
               json_t **out) {
  long st = 0;
  *out = NULL;
  if (client_call(c, "GET", path, NULL, 0, NULL, &st, out)) return 2;
  if (st == 200) return -1;
  int rc = client_report(what, st, *out);
  json_decref(*out);
  *out = NULL;
  return rc;
}
