/* SPDX-License-Identifier: Apache-2.0
 * HTTP for the CLI, on libcurl. */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

int client_call(const struct client *c, const char *method, const char *path,
                const char *body, size_t body_len, const char *extra_header,
                long *status, json_t **resp) {
  *resp = NULL;
  *status = 0;
  CURL *h = curl_easy_init();
  if (!h) return DC_ENOMEM;
  struct curl_slist *hdrs = NULL;
  char url[4200];
  snprintf(url, sizeof url, "%s%s", c->api, path);
  bool sign = strcmp(method, "GET") != 0;
  if (sign) {
    struct dc_identity id = {0};
    int rc = load_key(c, &id);
    if (rc) {
      curl_easy_cleanup(h);
      return rc;
    }
    char key[DC_PK_HEX_LEN + 1], nonce[33], sig[2 * DC_SIG_BYTES + 1];
    char line[256];
    dc_identity_hex(&id, key);
    dc_random_hex(nonce, 16);
    int64_t ts = dc_now_ms();
    rc = dc_reqsig_sign(&id, method, path, body, body_len, ts, nonce, sig);
    dc_identity_close(&id);
    if (rc) {
      curl_easy_cleanup(h);
      return rc;
    }
    snprintf(line, sizeof line, "%s: %s", DC_HDR_KEY, key);
    hdrs = curl_slist_append(hdrs, line);
    snprintf(line, sizeof line, "%s: %lld", DC_HDR_TS, (long long)ts);
    hdrs = curl_slist_append(hdrs, line);
    snprintf(line, sizeof line, "%s: %s", DC_HDR_NONCE, nonce);
    hdrs = curl_slist_append(hdrs, line);
    snprintf(line, sizeof line, "%s: %s", DC_HDR_SIG, sig);
    hdrs = curl_slist_append(hdrs, line);
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
  if (body) {
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
  }
  CURLcode cc = curl_easy_perform(h);
  int rc = DC_OK;
  if (cc != CURLE_OK) {
    fprintf(stderr,
            "error: cannot reach the DeepCloud API at %s: %s\n"
            "hint: start a local cloud with `deepcloud dev`, or point the CLI "
            "at a master with --api URL or DEEPCLOUD_API\n",
            c->api, curl_easy_strerror(cc));
    rc = DC_EIO;
  } else {
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
  return rc;
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
