/* SPDX-License-Identifier: Apache-2.0
 * deepcloud master backup FILE: a consistent online backup of the state
 * from any running master (GET /v1/backup), written atomically (temporary
 * file, fsync, rename) and checked before it takes FILE's name: the image
 * must be whole and undamaged, and its applied index and state hash must be
 * the ones the master announced. */
#include <curl/curl.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cli/cli.h"
#include "crypto/crypto.h"
#include "fsm/fsm.h"
#include "master/master.h"

#define BACKUP_TIMEOUT_MS (30L * 60 * 1000)

struct download {
  FILE *f;
  char index[32];
  char hash[2 * DC_FSM_HASH_BYTES + 1];
};

static size_t on_body(char *p, size_t sz, size_t n, void *ud) {
  struct download *d = ud;
  return fwrite(p, sz, n, d->f) * sz;
}

/* Copies the value of header `name` (case-insensitive) out of one line. */
static void header_value(const char *line, size_t len, const char *name, char *out,
                         size_t outsz) {
  size_t nl = strlen(name);
  if (len <= nl + 1 || strncasecmp(line, name, nl) != 0 || line[nl] != ':') return;
  const char *v = line + nl + 1;
  size_t vl = len - nl - 1;
  while (vl && (*v == ' ' || *v == '\t')) v++, vl--;
  while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n' || v[vl - 1] == ' ')) vl--;
  if (vl < outsz) {
    memcpy(out, v, vl);
    out[vl] = '\0';
  }
}

static size_t on_header(char *p, size_t sz, size_t n, void *ud) {
  struct download *d = ud;
  header_value(p, sz * n, "X-DC-Index", d->index, sizeof d->index);
  header_value(p, sz * n, "X-DC-State-Hash", d->hash, sizeof d->hash);
  return sz * n;
}

/* One attempt against one master. OUT: *cc, *status, d's headers. */
static int fetch(const char *base, struct dc_identity *id, const char *token_hdr,
                 struct download *d, CURLcode *cc, long *status) {
  CURL *h = curl_easy_init();
  if (!h) return DC_ENOMEM;
  char url[4200], lines[4][DC_REQSIG_HEADER_MAX];
  snprintf(url, sizeof url, "%s/v1/backup", base);
  int rc = dc_reqsig_headers(id, "GET", "/v1/backup", NULL, 0, lines);
  if (rc) {
    curl_easy_cleanup(h);
    return rc;
  }
  struct curl_slist *hdrs = NULL;
  for (int k = 0; k < 4; k++) hdrs = curl_slist_append(hdrs, lines[k]);
  if (token_hdr) hdrs = curl_slist_append(hdrs, token_hdr);
  curl_easy_setopt(h, CURLOPT_URL, url);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, d);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, d);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 3000L);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, BACKUP_TIMEOUT_MS);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  *cc = curl_easy_perform(h);
  if (*cc == CURLE_OK) curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
  curl_slist_free_all(hdrs);
  curl_easy_cleanup(h);
  return DC_OK;
}

static int load_signer(const struct client *c, const char *key_file,
                       struct dc_identity *id) {
  char path[4200];
  if (key_file) {
    if (access(key_file, R_OK) != 0) {
      fprintf(stderr, "error: cannot read the key %s\n", key_file);
      return 2;
    }
    snprintf(path, sizeof path, "%s", key_file);
  } else {
    if (dc_mkdir_p(c->home, 0700)) {
      fprintf(stderr, "error: cannot create %s for your key\n", c->home);
      return 1;
    }
    snprintf(path, sizeof path, "%s/key", c->home);
  }
  int rc = dc_identity_load_or_create(path, id, NULL);
  if (rc) fprintf(stderr, "error: cannot load key %s: %s\n", path, dc_strerror(rc));
  return rc ? 1 : 0;
}

/* The downloaded file, checked: whole, undamaged, and what was announced. */
static int check_download(const char *tmp, const struct download *d,
                          struct dc_fsm_image_info *info, size_t *len) {
  char *img = NULL;
  if (dc_read_file(tmp, (size_t)16 << 30, &img, len)) {
    fprintf(stderr, "error: cannot read back %s\n", tmp);
    return 1;
  }
  struct dc_errmsg err = {{0}};
  int rc = dc_fsm_image_check((const uint8_t *)img, *len, info, &err);
  dc_free(img);
  if (rc) {
    fprintf(stderr, "error: the backup received is not usable: %s\n", err.text);
    return 1;
  }
  char hex[2 * DC_FSM_HASH_BYTES + 1], idx[32];
  dc_hex_encode(info->hash, DC_FSM_HASH_BYTES, hex);
  snprintf(idx, sizeof idx, "%" PRIu64, info->applied_index);
  if (strcmp(idx, d->index) != 0 || strcmp(hex, d->hash) != 0) {
    fprintf(stderr, "error: the backup received does not match what the master "
                    "announced (index %s vs %s, hash %.16s vs %.16s)\n",
            idx, d->index, hex, d->hash);
    return 1;
  }
  return 0;
}

/* Makes the rename durable: fsync the folder that holds FILE. */
static void sync_dir_of(const char *file) {
  char copy[4200];
  snprintf(copy, sizeof copy, "%s", file);
  int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY);
  if (fd >= 0) {
    fsync(fd);
    close(fd);
  }
}

static void print_error_body(const char *tmp, long status) {
  char *text = NULL;
  size_t n = 0;
  json_t *j = NULL;
  if (dc_read_file(tmp, 1 << 20, &text, &n) == DC_OK) j = json_loadb(text, n, 0, NULL);
  client_report("master backup", status, j);
  if (status == 403)
    fprintf(stderr, "hint: give the cluster token (--token or "
                    "DEEPCLOUD_CLUSTER_TOKEN), or on a master without one, sign "
                    "with its key: --key DATA_DIR/master.key\n");
  json_decref(j);
  dc_free(text);
}

int cli_master_backup(int argc, char **argv) {
  struct client c;
  client_defaults(&c);
  const char *token = NULL, *key_file = NULL;
  struct opt opts[] = {
      CLIENT_OPTS(&c),
      {"token", OPT_STR, &token, "the cluster token (or DEEPCLOUD_CLUSTER_TOKEN)"},
      {"key", OPT_STR, &key_file, "sign with this key file instead of yours (a master "
                                  "without a token: its master.key)"},
  };
  char *pos[2];
  size_t npos = 2;
  const char *usage = "deepcloud master backup FILE [--api URLS] [--token T | --key FILE]";
  int rc = cli_parse(usage, opts, DC_ARRAY_LEN(opts), argc, argv, pos, &npos);
  if (rc >= 0) return rc;
  if (npos != 1) {
    fprintf(stderr, "usage: %s\n", usage);
    return 2;
  }
  const char *file = pos[0];
  if (!token || !*token) token = getenv("DEEPCLOUD_CLUSTER_TOKEN");
  char token_hdr[600];
  if (token && *token) snprintf(token_hdr, sizeof token_hdr, "%s: %s", DC_HDR_CLUSTER_TOKEN, token);
  struct dc_identity id = {0};
  if ((rc = load_signer(&c, key_file, &id))) return rc;
  char tmp[4300];
  snprintf(tmp, sizeof tmp, "%s.partial-XXXXXX", file);
  int fd = mkstemp(tmp);
  if (fd < 0) {
    fprintf(stderr, "error: cannot create a file next to %s\n", file);
    dc_identity_close(&id);
    return 1;
  }
  /* Any master serves a backup: a follower's is consistent at its own
   * applied index. Try each in turn until one answers. */
  char list[2048], *save = NULL, *urls[16];
  size_t n = 0;
  snprintf(list, sizeof list, "%s", c.api);
  for (char *t = strtok_r(list, ",", &save); t && n < 16; t = strtok_r(NULL, ",", &save))
    urls[n++] = t;
  struct download d = {0};
  CURLcode cc = CURLE_COULDNT_CONNECT;
  long status = 0;
  const char *from = NULL;
  uint64_t t0 = dc_mono_ns();
  curl_global_init(CURL_GLOBAL_DEFAULT);
  for (size_t i = 0; i < n && cc != CURLE_OK; i++) {
    if (ftruncate(fd, 0) != 0 || lseek(fd, 0, SEEK_SET) != 0) break;
    d = (struct download){.f = fdopen(dup(fd), "wb")};
    if (!d.f) break;
    rc = fetch(urls[i], &id, token && *token ? token_hdr : NULL, &d, &cc, &status);
    if (fflush(d.f) != 0 || fsync(fileno(d.f)) != 0) cc = CURLE_WRITE_ERROR;
    fclose(d.f);
    if (rc) break;
    from = urls[i];
  }
  curl_global_cleanup();
  dc_identity_close(&id);
  close(fd);
  double secs = (double)(dc_mono_ns() - t0) / 1e9;
  if (rc || cc != CURLE_OK) {
    fprintf(stderr, "error: no master at %s gave a backup: %s\n", c.api,
            rc ? dc_strerror(rc) : curl_easy_strerror(cc));
    unlink(tmp);
    return 1;
  }
  if (status != 200) {
    print_error_body(tmp, status);
    unlink(tmp);
    return 1;
  }
  struct dc_fsm_image_info info;
  size_t len = 0;
  if (check_download(tmp, &d, &info, &len)) {
    unlink(tmp);
    return 1;
  }
  if (rename(tmp, file) != 0) {
    fprintf(stderr, "error: cannot rename %s to %s\n", tmp, file);
    unlink(tmp);
    return 1;
  }
  sync_dir_of(file);
  if (c.json) {
    json_t *j = json_pack("{s:s, s:s, s:I, s:s, s:I, s:I, s:f}", "file", file, "from",
                          from, "applied_index", (json_int_t)info.applied_index,
                          "state_hash", d.hash, "schema_version",
                          (json_int_t)info.schema_version, "bytes", (json_int_t)len,
                          "seconds", secs);
    cli_print_json(j);
    json_decref(j);
  } else {
    printf("backup %s: applied index %" PRIu64 ", state hash %s, %zu bytes, from %s "
           "in %.2f s\n", file, info.applied_index, d.hash, len, from, secs);
  }
  return 0;
}
