/* SPDX-License-Identifier: Apache-2.0
 * PayWord ticks for channels that pay this provider, relayed by the master
 * from the payer. Each tick is checked with one hash against the previous
 * one (more only when ticks were skipped), and the highest is persisted, so
 * the provider can close the channel with it after a restart. One file
 * write per relayed batch keeps the per-tick cost at the hash. */
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "provider/provider_int.h"

#define TICK_CHANNELS_MAX 1024

static void chan_path(struct dc_provider *p, const uint8_t id[DC_HASH_BYTES],
                      char *out, size_t n) {
  char hex[2 * DC_HASH_BYTES + 1];
  dc_hex_encode(id, DC_HASH_BYTES, hex);
  snprintf(out, n, "%s/channels/%s.tick", p->cfg.data_dir, hex);
}

/* The channel's state, loaded from its file the first time. anchor: tick 0
 * for a channel never seen (NULL: only a channel with ticks on file). */
struct tick_chan *provider_chan_find(struct dc_provider *p,
                                     const uint8_t id[DC_HASH_BYTES],
                                     const uint8_t *anchor) {
  for (size_t i = 0; i < p->nchans; i++)
    if (memcmp(p->chans[i].channel, id, DC_HASH_BYTES) == 0)
      return &p->chans[i];
  char path[4300], *text = NULL, hex[2 * DC_HASH_BYTES + 1];
  size_t len = 0;
  unsigned long long hi = 0;
  uint8_t word[DC_HASH_BYTES];
  chan_path(p, id, path, sizeof path);
  bool on_file = !dc_read_file(path, 256, &text, &len) &&
                 sscanf(text, "%llu %64s", &hi, hex) == 2 &&
                 !dc_hex_decode(hex, word, DC_HASH_BYTES);
  dc_free(text);
  if ((!on_file && !anchor) || p->nchans == TICK_CHANNELS_MAX) return NULL;
  if (p->nchans == p->capchans) {
    size_t cap = p->capchans ? 2 * p->capchans : 8;
    struct tick_chan *v = dc_realloc(p->chans, cap * sizeof *v);
    if (!v) return NULL;
    p->chans = v;
    p->capchans = cap;
  }
  struct tick_chan *c = &p->chans[p->nchans++];
  memset(c, 0, sizeof *c);
  memcpy(c->channel, id, DC_HASH_BYTES);
  memcpy(c->word, on_file ? word : anchor, DC_HASH_BYTES); /* tick 0: the anchor */
  c->highest = on_file ? (uint32_t)hi : 0;
  /* A restart counts as activity: the service may still be paying. */
  c->last_tick_ms = dc_mono_ms();
  return c;
}

void provider_ticks(struct dc_provider *p, const struct dc_msg_ticks *t) {
  struct tick_chan *c = provider_chan_find(p, t->channel, t->anchor);
  if (!c) {
    DC_WARN("agent", "ticks: too many channels; batch ignored");
    return;
  }
  uint32_t before = c->highest, bad = 0;
  for (size_t i = 0; i < t->n; i++) {
    const struct dc_tick *k = &t->ticks[i];
    if (k->index <= c->highest || k->index > t->length) continue; /* stale */
    /* One hash per step back to the last accepted word. */
    uint8_t w[DC_HASH_BYTES];
    memcpy(w, k->word, DC_HASH_BYTES);
    for (uint32_t s = k->index; s > c->highest; s--)
      crypto_generichash(w, DC_HASH_BYTES, w, DC_HASH_BYTES, NULL, 0);
    if (sodium_memcmp(w, c->word, DC_HASH_BYTES) != 0) {
      bad++;
      continue;
    }
    c->highest = k->index;
    memcpy(c->word, k->word, DC_HASH_BYTES);
  }
  if (c->highest != before) {
    c->last_tick_ms = dc_mono_ms();
    char dir[4200], path[4300], line[128], hex[2 * DC_HASH_BYTES + 1];
    snprintf(dir, sizeof dir, "%s/channels", p->cfg.data_dir);
    chan_path(p, t->channel, path, sizeof path);
    dc_hex_encode(c->word, DC_HASH_BYTES, hex);
    int n = snprintf(line, sizeof line, "%u %s\n", c->highest, hex);
    if (dc_mkdir_p(dir, 0700) ||
        dc_write_file_atomic(path, line, (size_t)n, 0600))
      DC_WARN("agent", "ticks: cannot persist %s", path);
  }
  if (bad) DC_WARN("agent", "ticks: %u refused (do not hash to the last tick)", bad);
  DC_DEBUG("agent", "ticks: highest=%u (+%u)", c->highest, c->highest - before);
}
