/* SPDX-License-Identifier: Apache-2.0
 * deepcloud wallet channel open|pay|close|reclaim: PayWord channels. The
 * payer's seed stays in <home>/channels/<id>.seed (0600); ticks go to the
 * master, which relays them to the payee's provider session; the payee
 * closes with the highest tick it holds (a provider's persisted one with
 * --provider-dir). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/wallet.h"

/* Ticks one `pay` computes and holds (32 bytes each). */
#define PAY_MAX 1000000u

static void seed_path(const struct client *c, const char *id, const char *ext,
                      char *out, size_t n) {
  snprintf(out, n, "%s/channels/%s.%s", c->home, id, ext);
}

static int ch_open(struct client *c, struct dc_identity *id, char **pos,
                   size_t npos, uint32_t timeout) {
  struct dc_tx tx = {.kind = DC_TX_CHANNEL_OPEN, .timeout_blocks = timeout};
  char *end = NULL;
  unsigned long len = npos == 3 ? strtoul(pos[2], &end, 10) : 0;
  if (npos != 3 || strlen(pos[0]) != DC_PK_HEX_LEN ||
      dc_hex_decode(pos[0], tx.peer, DC_PK_BYTES) ||
      wallet_parse_amount(pos[1], &tx.amount) || !end || *end || len == 0 ||
      len > UINT32_MAX) {
    fprintf(stderr, "usage: deepcloud wallet channel open PAYEE TICK_VALUE LENGTH\n");
    return 2;
  }
  tx.length = (uint32_t)len;
  uint8_t seed[DC_HASH_BYTES];
  dc_random(seed, sizeof seed);
  dc_payword_anchor(seed, tx.length, tx.hash);
  /* The channel id is the transaction's hash: known before sending, so the
   * seed is on disk before the deposit leaves the account. */
  char dir[4200], path[4400], hex[2 * DC_HASH_BYTES + 1], line[128];
  snprintf(dir, sizeof dir, "%s/channels", c->home);
  int rc = wallet_prepare(c, id, &tx, "channel open");
  if (rc) return rc;
  uint8_t h[DC_HASH_BYTES];
  dc_tx_hash(&tx, h);
  dc_hex_encode(h, DC_HASH_BYTES, hex);
  seed_path(c, hex, "seed", path, sizeof path);
  char shex[2 * DC_HASH_BYTES + 1];
  dc_hex_encode(seed, DC_HASH_BYTES, shex);
  int n = snprintf(line, sizeof line, "%u %s\n", tx.length, shex);
  if (dc_mkdir_p(dir, 0700) || dc_write_file_atomic(path, line, (size_t)n, 0600)) {
    fprintf(stderr, "error: cannot write %s\n", path);
    return 1;
  }
  return wallet_post(c, &tx, "channel open");
}

static int load_seed(const struct client *c, const char *id, uint8_t seed[32],
                     uint32_t *len, uint32_t *paid) {
  char path[4400], *text = NULL, shex[80];
  size_t n;
  unsigned long long l = 0, p = 0;
  seed_path(c, id, "seed", path, sizeof path);
  if (dc_read_file(path, 256, &text, &n) || sscanf(text, "%llu %70s", &l, shex) != 2 ||
      dc_hex_decode(shex, seed, DC_HASH_BYTES)) {
    dc_free(text);
    fprintf(stderr, "error: no seed for channel %s in %s/channels (only its payer has one)\n",
            id, c->home);
    return 1;
  }
  DC_FREE(text);
  *len = (uint32_t)l;
  seed_path(c, id, "paid", path, sizeof path);
  if (!dc_read_file(path, 64, &text, &n)) sscanf(text, "%llu", &p);
  dc_free(text);
  *paid = (uint32_t)p;
  return 0;
}

/* Sends ticks paid+1 .. paid+count in batches of DC_TICKS_MAX. */
static int ch_pay(struct client *c, const char *id, unsigned long count) {
  uint8_t seed[32];
  uint32_t len, paid;
  if (load_seed(c, id, seed, &len, &paid)) return 1;
  if (count == 0 || paid + count > len) {
    fprintf(stderr, "error: %u of %u ticks already paid; %lu more do not fit\n",
            paid, len, count);
    return 2;
  }
  if (count > PAY_MAX) {
    fprintf(stderr, "error: at most %u ticks per call\n", PAY_MAX);
    return 2;
  }
  char path[256];
  snprintf(path, sizeof path, "/v1/channels/%s/ticks", id);
  uint64_t t0 = dc_mono_ns();
  /* One walk down the chain: from the seed to the highest word to send,
   * then one hash per word below it. */
  uint8_t(*w)[DC_HASH_BYTES] = dc_malloc((size_t)count * DC_HASH_BYTES);
  if (!w) return 1;
  dc_payword_word(seed, len, paid + (uint32_t)count, w[count - 1]);
  for (size_t k = count - 1; k > 0; k--) dc_hash(w[k], DC_HASH_BYTES, w[k - 1]);
  uint32_t done = 0;
  int rc = 0;
  while (done < count && !rc) {
    uint32_t batch = (uint32_t)DC_MIN(count - done, 4096u);
    struct dc_buf b = {0};
    dc_buf_printf(&b, "{\"from\":%u,\"words\":[", paid + done + 1);
    for (uint32_t k = 0; k < batch; k++) {
      char hex[2 * DC_HASH_BYTES + 1];
      dc_hex_encode(w[done + k], DC_HASH_BYTES, hex);
      dc_buf_printf(&b, "%s\"%s\"", k ? "," : "", hex);
    }
    dc_buf_printf(&b, "]}");
    long status = 0;
    json_t *resp = NULL;
    rc = client_call(c, "POST", path, (const char *)b.data, b.len, NULL, &status, &resp);
    dc_buf_free(&b);
    if (!rc && status != 202) rc = client_report("channel pay", status, resp);
    json_decref(resp);
    if (rc) break;
    done += batch;
    char pp[4400], line[32];
    seed_path(c, id, "paid", pp, sizeof pp);
    int n = snprintf(line, sizeof line, "%u\n", paid + done);
    dc_write_file_atomic(pp, line, (size_t)n, 0600);
  }
  dc_free(w);
  if (rc) return 1;
  double secs = (double)(dc_mono_ns() - t0) / 1e9;
  if (c->json) {
    json_t *j = json_pack("{s:s, s:I, s:I, s:f}", "channel", id, "sent",
                          (json_int_t)count, "highest", (json_int_t)(paid + count),
                          "seconds", secs);
    cli_print_json(j);
    json_decref(j);
  } else
    printf("sent ticks %u..%u of channel %.16s… (%.0f ticks/s)\n", paid + 1,
           paid + (uint32_t)count, id, secs > 0 ? count / secs : 0.0);
  return 0;
}

/* The payee closes with the highest tick it holds: a provider's persisted
 * one (--provider-dir: its key and channels/<id>.tick). */
static int ch_close(struct client *c, const char *id, const char *pdir) {
  struct dc_tx tx = {.kind = DC_TX_CHANNEL_CLOSE};
  if (strlen(id) != 2 * DC_HASH_BYTES || dc_hex_decode(id, tx.channel, DC_HASH_BYTES)) {
    fprintf(stderr, "error: a channel id is 64 hex characters\n");
    return 2;
  }
  if (!pdir) {
    fprintf(stderr, "usage: deepcloud wallet channel close ID --provider-dir DIR\n");
    return 2;
  }
  char path[4400], *text = NULL, whex[80];
  size_t n;
  unsigned long long hi = 0;
  snprintf(path, sizeof path, "%s/channels/%s.tick", pdir, id);
  if (dc_read_file(path, 256, &text, &n) || sscanf(text, "%llu %70s", &hi, whex) != 2 ||
      dc_hex_decode(whex, tx.hash, DC_HASH_BYTES)) {
    dc_free(text);
    fprintf(stderr, "error: no ticks received for %s in %s\n", id, pdir);
    return 1;
  }
  dc_free(text);
  tx.length = (uint32_t)hi;
  struct dc_identity pid = {0};
  snprintf(path, sizeof path, "%s/provider.key", pdir);
  if (dc_identity_load_or_create(path, &pid, NULL)) {
    fprintf(stderr, "error: cannot load %s\n", path);
    return 1;
  }
  int rc = wallet_send(c, &pid, &tx, "channel close");
  dc_identity_close(&pid);
  return rc;
}

int cli_wallet_channel(int argc, char **argv) {
  struct client c;
  client_defaults(&c);
  const char *passfile = NULL, *pdir = NULL;
  uint32_t timeout = 10;
  struct opt opts[] = {
      CLIENT_OPTS(&c),
      {"passphrase-file", OPT_STR, &passfile, "wallet passphrase file"},
      {"timeout-blocks", OPT_U32, &timeout, "open: blocks before the payer may reclaim (default 10)"},
      {"provider-dir", OPT_STR, &pdir, "close: the payee provider's data folder"},
  };
  char *pos[5];
  size_t npos = 5;
  const char *usage =
      "deepcloud wallet channel open PAYEE TICK_VALUE LENGTH | pay ID COUNT | "
      "close ID --provider-dir DIR | reclaim ID";
  int rc = cli_parse(usage, opts, DC_ARRAY_LEN(opts), argc, argv, pos, &npos);
  if (rc >= 0) return rc;
  if (npos < 2) {
    fprintf(stderr, "usage: %s\n", usage);
    return 2;
  }
  if (!strcmp(pos[0], "close")) return ch_close(&c, pos[1], pdir);
  if (!strcmp(pos[0], "pay")) {
    char *end = NULL;
    unsigned long count = npos == 3 ? strtoul(pos[2], &end, 10) : 0;
    if (!end || *end) {
      fprintf(stderr, "usage: deepcloud wallet channel pay ID COUNT\n");
      return 2;
    }
    return ch_pay(&c, pos[1], count);
  }
  struct dc_identity id = {0};
  if (wallet_load(&c, wallet_passphrase(passfile), true, &id)) return 1;
  if (!strcmp(pos[0], "open")) {
    rc = ch_open(&c, &id, pos + 1, npos - 1, timeout);
  } else if (!strcmp(pos[0], "reclaim")) {
    struct dc_tx tx = {.kind = DC_TX_CHANNEL_RECLAIM};
    if (strlen(pos[1]) != 2 * DC_HASH_BYTES || dc_hex_decode(pos[1], tx.channel, DC_HASH_BYTES))
      rc = 2;
    else
      rc = wallet_send(&c, &id, &tx, "channel reclaim");
  } else {
    fprintf(stderr, "usage: %s\n", usage);
    rc = 2;
  }
  dc_identity_close(&id);
  return rc;
}
