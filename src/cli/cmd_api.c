/* SPDX-License-Identifier: Apache-2.0
 * deepcloud api METHOD PATH: a signed request to any route (the shape of
 * `gh api`), for scripts and for trying the API by hand. --headers-only
 * prints the signature headers instead of sending. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "crypto/crypto.h"

int cli_api(int argc, char **argv) {
  struct client c;
  client_defaults(&c);
  const char *data = NULL;
  bool headers_only = false;
  uint64_t ts = 0;
  struct opt opts[] = {CLIENT_OPTS(&c),
                       {"data", OPT_STR, &data, "request body from FILE ('-' = stdin)"},
                       {"headers-only", OPT_BOOL, &headers_only, "print the signature headers as JSON, send nothing"},
                       {"timestamp", OPT_U64, &ts, "with --headers-only: sign as of this time (ms)"}};
  char *pos[3];
  size_t npos = 3;
  int rc = cli_parse("deepcloud api METHOD PATH [--data FILE]", opts, DC_ARRAY_LEN(opts), argc, argv, pos, &npos);
  if (rc >= 0) return rc;
  if (npos != 2 || pos[1][0] != '/') {
    fprintf(stderr, "usage: deepcloud api METHOD /v1/PATH [--data FILE]\n");
    return 2;
  }
  char *body = NULL;
  size_t blen = 0;
  if (data) {
    rc = dc_read_file(strcmp(data, "-") ? data : "/dev/stdin", 16u << 20, &body, &blen);
    if (rc) {
      fprintf(stderr, "error: cannot read %s: %s\n", data, dc_strerror(rc));
      return 2;
    }
  }
  if (headers_only) {
    struct dc_identity id = {0};
    char key[DC_PK_HEX_LEN + 1], nonce[33], sig[2 * DC_SIG_BYTES + 1], path[4200];
    snprintf(path, sizeof path, "%s/key", c.home);
    dc_mkdir_p(c.home, 0700);
    rc = dc_identity_load_or_create(path, &id, NULL);
    if (!rc) {
      dc_identity_hex(&id, key);
      dc_random_hex(nonce, 16);
      int64_t t = ts ? (int64_t)ts : dc_now_ms();
      rc = dc_reqsig_sign(&id, pos[0], pos[1], body, blen, t, nonce, sig);
      if (!rc) {
        json_t *h = json_pack("{s:s, s:s, s:s, s:s}", DC_HDR_KEY, key, DC_HDR_TS,
                              "", DC_HDR_NONCE, nonce, DC_HDR_SIG, sig);
        char tsbuf[32];
        snprintf(tsbuf, sizeof tsbuf, "%lld", (long long)t);
        json_object_set_new(h, DC_HDR_TS, json_string(tsbuf));
        cli_print_json(h);
        json_decref(h);
      }
    }
    dc_identity_close(&id);
    dc_free(body);
    if (rc) fprintf(stderr, "error: cannot sign: %s\n", dc_strerror(rc));
    return rc ? 1 : 0;
  }
  long st;
  json_t *r = NULL;
  rc = client_call(&c, pos[0], pos[1], body, blen, NULL, &st, &r);
  dc_free(body);
  if (rc) return 2;
  if (json_is_string(r)) fputs(json_string_value(r), stdout);
  else if (r) cli_print_json(r);
  json_decref(r);
  return st >= 200 && st < 300 ? 0 : 1;
}
