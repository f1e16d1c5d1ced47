/* SPDX-License-Identifier: Apache-2.0
 * Wallet key files (plain or sealed with a passphrase), DEEP amounts as
 * text, and sending a signed transaction through the API. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/wallet.h"

const char *wallet_passphrase(const char *file) {
  static char buf[1024];
  if (file && *file) {
    FILE *f = fopen(file, "r");
    if (!f || !fgets(buf, sizeof buf, f)) {
      if (f) fclose(f);
      fprintf(stderr, "error: cannot read the passphrase from %s\n", file);
      return NULL;
    }
    fclose(f);
    buf[strcspn(buf, "\r\n")] = '\0';
    return buf;
  }
  const char *e = getenv("DEEPCLOUD_PASSPHRASE");
  return e && *e ? e : NULL;
}

static void path_of(const struct client *c, char *out, size_t n) {
  snprintf(out, n, "%s/%s", c->home, WALLET_FILE);
}

static int id_from_sk(const uint8_t sk[DC_SK_BYTES], struct dc_identity *id) {
  id->sk = sodium_malloc(DC_SK_BYTES);
  if (!id->sk) return DC_ENOMEM;
  memcpy(id->sk, sk, DC_SK_BYTES);
  memcpy(id->pk, sk + 32, DC_PK_BYTES); /* Ed25519 sk = seed || pk */
  return DC_OK;
}

static json_t *hexj(const void *p, size_t n) {
  char buf[2 * 128 + 1];
  dc_hex_encode(p, n, buf);
  return json_string(buf);
}

static int seal(const struct dc_identity *id, const char *pass, json_t *j) {
  uint8_t salt[crypto_pwhash_SALTBYTES], nonce[crypto_secretbox_NONCEBYTES];
  uint8_t key[crypto_secretbox_KEYBYTES];
  uint8_t box[DC_SK_BYTES + crypto_secretbox_MACBYTES];
  randombytes_buf(salt, sizeof salt);
  randombytes_buf(nonce, sizeof nonce);
  unsigned long long ops = crypto_pwhash_OPSLIMIT_INTERACTIVE;
  size_t mem = crypto_pwhash_MEMLIMIT_INTERACTIVE;
  if (crypto_pwhash(key, sizeof key, pass, strlen(pass), salt, ops, mem,
                    crypto_pwhash_ALG_ARGON2ID13))
    return DC_ENOMEM;
  crypto_secretbox_easy(box, id->sk, DC_SK_BYTES, nonce, key);
  sodium_memzero(key, sizeof key);
  json_object_set_new(j, "sealed",
                      json_pack("{s:s, s:I, s:I, s:o, s:o, s:o}", "kdf",
                                "argon2id13", "opslimit", (json_int_t)ops,
                                "memlimit", (json_int_t)mem, "salt",
                                hexj(salt, sizeof salt), "nonce",
                                hexj(nonce, sizeof nonce), "box",
                                hexj(box, sizeof box)));
  return DC_OK;
}

static int write_key(const struct client *c, const struct dc_identity *id,
                     const char *pass) {
  char path[4200];
  path_of(c, path, sizeof path);
  json_t *j = json_pack("{s:i, s:o}", "version", 1, "pk", hexj(id->pk, DC_PK_BYTES));
  int rc = pass ? seal(id, pass, j)
                : json_object_set_new(j, "sk", hexj(id->sk, DC_SK_BYTES));
  char *text = rc ? NULL : json_dumps(j, JSON_INDENT(2));
  json_decref(j);
  if (!text) return rc ? rc : DC_ENOMEM;
  if (dc_mkdir_p(c->home, 0700)) rc = DC_EIO;
  if (!rc) rc = dc_write_file_atomic(path, text, strlen(text), 0600);
  sodium_memzero(text, strlen(text));
  free(text);
  if (rc) fprintf(stderr, "error: cannot write %s\n", path);
  return rc;
}

/* The CLI's own key (<home>/key): the account that owns your jobs and pays
 * their budgets. Without a passphrase it is the wallet. */
static void plain_path(const struct client *c, char *out, size_t n) {
  snprintf(out, n, "%s/key", c->home);
}

int wallet_create(const struct client *c, const char *pass,
                  struct dc_identity *id) {
  char path[4200];
  struct stat st;
  if (pass) path_of(c, path, sizeof path);
  else plain_path(c, path, sizeof path);
  if (stat(path, &st) == 0) {
    fprintf(stderr, "error: %s already exists; a wallet is never overwritten "
                    "(move it away first if you really mean it)\n", path);
    return DC_EEXISTS;
  }
  if (!pass) {
    if (dc_mkdir_p(c->home, 0700)) return DC_EIO;
    return dc_identity_load_or_create(path, id, NULL);
  }
  int rc = dc_identity_generate(id);
  if (!rc) rc = write_key(c, id, pass);
  if (rc) dc_identity_close(id);
  return rc;
}

static int hexfield(json_t *o, const char *k, uint8_t *out, size_t n) {
  const char *s = json_string_value(json_object_get(o, k));
  return s && strlen(s) == 2 * n ? dc_hex_decode(s, out, n) : DC_EPROTO;
}

static int unseal(json_t *sealed, const char *pass, uint8_t sk[DC_SK_BYTES]) {
  uint8_t salt[crypto_pwhash_SALTBYTES], nonce[crypto_secretbox_NONCEBYTES];
  uint8_t key[crypto_secretbox_KEYBYTES];
  uint8_t box[DC_SK_BYTES + crypto_secretbox_MACBYTES];
  json_int_t ops = json_integer_value(json_object_get(sealed, "opslimit"));
  json_int_t mem = json_integer_value(json_object_get(sealed, "memlimit"));
  if (hexfield(sealed, "salt", salt, sizeof salt) ||
      hexfield(sealed, "nonce", nonce, sizeof nonce) ||
      hexfield(sealed, "box", box, sizeof box) || ops <= 0 || mem <= 0 ||
      (uint64_t)mem > (1ULL << 32))
    return DC_EPROTO;
  if (crypto_pwhash(key, sizeof key, pass, strlen(pass), salt,
                    (unsigned long long)ops, (size_t)mem,
                    crypto_pwhash_ALG_ARGON2ID13))
    return DC_ENOMEM;
  int bad = crypto_secretbox_open_easy(sk, box, sizeof box, nonce, key);
  sodium_memzero(key, sizeof key);
  return bad ? DC_EUNAUTH : DC_OK;
}

int wallet_load(const struct client *c, const char *pass, bool create,
                struct dc_identity *id) {
  char path[4200];
  struct stat st;
  path_of(c, path, sizeof path);
  if (stat(path, &st) != 0) {
    /* No sealed wallet: the CLI's own key is the wallet. */
    plain_path(c, path, sizeof path);
    if (!create && stat(path, &st) != 0) {
      fprintf(stderr, "error: no wallet in %s: run deepcloud wallet new\n", c->home);
      return DC_ENOTFOUND;
    }
    if (dc_mkdir_p(c->home, 0700)) return DC_EIO;
    int rc = dc_identity_load_or_create(path, id, NULL);
    if (rc == DC_EFORBIDDEN)
      fprintf(stderr, "error: %s is readable by others; run: chmod 600 %s\n", path, path);
    else if (rc)
      fprintf(stderr, "error: cannot load %s: %s\n", path, dc_strerror(rc));
    return rc;
  }
  if (st.st_mode & 077) {
    fprintf(stderr, "error: %s is readable by others; run: chmod 600 %s\n", path, path);
    return DC_EFORBIDDEN;
  }
  char *text = NULL;
  size_t len = 0;
  if (dc_read_file(path, 64 * 1024, &text, &len)) {
    fprintf(stderr, "error: cannot read %s\n", path);
    return DC_EIO;
  }
  json_t *j = json_loadb(text, len, 0, NULL);
  sodium_memzero(text, len);
  dc_free(text);
  uint8_t sk[DC_SK_BYTES], pk[DC_PK_BYTES];
  int rc = j ? hexfield(j, "pk", pk, DC_PK_BYTES) : DC_EPROTO;
  json_t *sealed = j ? json_object_get(j, "sealed") : NULL;
  if (!rc && sealed) {
    if (!pass) {
      fprintf(stderr, "error: the wallet is sealed: give --passphrase-file FILE "
                      "or set DEEPCLOUD_PASSPHRASE\n");
      rc = DC_EUNAUTH;
    } else if ((rc = unseal(sealed, pass, sk)) == DC_EUNAUTH) {
      fprintf(stderr, "error: wrong passphrase for %s\n", path);
    }
  } else if (!rc) {
    rc = hexfield(j, "sk", sk, DC_SK_BYTES);
  }
  json_decref(j);
  if (!rc && memcmp(sk + 32, pk, DC_PK_BYTES) != 0) rc = DC_EPROTO;
  if (rc == DC_EPROTO) fprintf(stderr, "error: %s is not a wallet key file\n", path);
  if (!rc) rc = id_from_sk(sk, id);
  sodium_memzero(sk, sizeof sk);
  return rc;
}

int wallet_parse_amount(const char *s, uint64_t *out) {
  uint64_t whole = 0, frac = 0;
  int fd = 0;
  const char *p = s;
  if (!*p) return DC_EINVAL;
  for (; *p >= '0' && *p <= '9'; p++)
    if (!dc_amount_mul(whole, 10, &whole) || !dc_amount_add(whole, (uint64_t)(*p - '0'), &whole))
      return DC_EINVAL;
  if (*p == '.') {
    for (p++; *p >= '0' && *p <= '9'; p++) {
      if (++fd > 6) return DC_EINVAL; /* below one micro-DEEP */
      frac = frac * 10 + (uint64_t)(*p - '0');
    }
  }
  if (*p || p == s) return DC_EINVAL;
  for (; fd < 6; fd++) frac *= 10;
  uint64_t micro;
  if (!dc_amount_mul(whole, DC_MICRO_PER_DEEP, &micro) ||
      !dc_amount_add(micro, frac, &micro))
    return DC_EINVAL;
  *out = micro;
  return DC_OK;
}

void wallet_format_amount(uint64_t micro, char *out, size_t outsz) {
  snprintf(out, outsz, "%llu.%06llu", (unsigned long long)(micro / DC_MICRO_PER_DEEP),
           (unsigned long long)(micro % DC_MICRO_PER_DEEP));
}

int wallet_prepare(const struct client *c, const struct dc_identity *id,
                   struct dc_tx *tx, const char *what) {
  char me[DC_PK_HEX_LEN + 1], path[128];
  dc_hex_encode(id->pk, DC_PK_BYTES, me);
  snprintf(path, sizeof path, "/v1/accounts/%s", me);
  json_t *acct = NULL;
  int rc = client_get(c, what, path, &acct);
  if (rc >= 0) return rc;
  const char *chain = json_string_value(json_object_get(acct, "chain_id"));
  const char *head = json_string_value(json_object_get(acct, "head"));
  tx->version = DC_TX_VERSION;
  memcpy(tx->account, id->pk, DC_PK_BYTES);
  tx->nonce = (uint64_t)json_integer_value(json_object_get(acct, "nonce")) + 1;
  if (!chain || !head || dc_hex_decode(head, tx->prev, DC_HASH_BYTES) ||
      dc_tx_sign(tx, chain, id)) {
    json_decref(acct);
    fprintf(stderr, "error: %s: the account answer is malformed\n", what);
    return 1;
  }
  json_decref(acct);
  return 0;
}

int wallet_post(const struct client *c, const struct dc_tx *tx,
                const char *what) {
  struct dc_buf b = {0};
  if (dc_tx_encode(tx, &b)) return 1;
  char *hex = dc_malloc(2 * b.len + 1);
  if (!hex) return 1;
  dc_hex_encode(b.data, b.len, hex);
  dc_buf_free(&b);
  json_t *body = json_pack("{s:s}", "tx", hex);
  dc_free(hex);
  char *text = json_dumps(body, JSON_COMPACT);
  json_decref(body);
  long status = 0;
  json_t *resp = NULL;
  int rc = client_call(c, "POST", "/v1/tx", text, strlen(text), NULL, &status, &resp);
  free(text);
  if (rc) return 1;
  if (status != 200) {
    rc = client_report(what, status, resp);
    json_decref(resp);
    return rc;
  }
  const char *msg = json_string_value(json_object_get(resp, "message"));
  if (c->json)
    cli_print_json(resp);
  else
    printf("%s %s (log index %lld)%s%s\n", dc_tx_kind_name(tx->kind),
           json_string_value(json_object_get(resp, "hash")),
           (long long)json_integer_value(json_object_get(resp, "index")),
           msg && *msg ? ": " : "", msg ? msg : "");
  json_decref(resp);
  return 0;
}

int wallet_send(const struct client *c, const struct dc_identity *id,
                struct dc_tx *tx, const char *what) {
  int rc = wallet_prepare(c, id, tx, what);
  return rc ? rc : wallet_post(c, tx, what);
}
