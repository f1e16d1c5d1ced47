/* SPDX-License-Identifier: Apache-2.0
 * The payee closes its own channels. Every second the master lists the open
 * channels paying this provider (CHANNELS), with the ledger's height and
 * this account's nonce and head. A channel for which we hold ticks is
 * closed with the highest one, signed by our key and sent back on the
 * session (LEDGER_TX), when
 *  - no tick came for channel_idle_s: the paid service has ended (or we were
 *    restarted and it did not resume); or
 *  - the payer may reclaim within channel_close_margin blocks (at most half
 *    the channel's timeout): waiting longer could lose every tick we hold.
 * A close still listed after CLOSE_RETRY_MS is sent again (with the nonce
 * of that moment); once a channel we closed is no longer listed, its tick
 * file is renamed <id>.closed and it is forgotten. Closes of one round are
 * chained (nonce n+1, n+2, ..., each naming the previous hash) so several
 * channels can close at once. */
#include <stdio.h>

#include "ledger/ledger.h"
#include "provider/provider_int.h"

#define CLOSE_RETRY_MS 5000

static bool listed(const struct dc_msg_channels *c, const uint8_t id[DC_HASH_BYTES]) {
  for (size_t i = 0; i < c->n; i++)
    if (memcmp(c->chans[i].channel, id, DC_HASH_BYTES) == 0) return true;
  return false;
}

/* Channels we closed that are gone from the list: done. */
static void forget_closed(struct dc_provider *p, const struct dc_msg_channels *c) {
  for (size_t i = 0; i < p->nchans;) {
    struct tick_chan *ch = &p->chans[i];
    if (!ch->close_sent_ms || listed(c, ch->channel)) {
      i++;
      continue;
    }
    char hex[2 * DC_HASH_BYTES + 1], from[4300], to[4300];
    dc_hex_encode(ch->channel, DC_HASH_BYTES, hex);
    snprintf(from, sizeof from, "%s/channels/%s.tick", p->cfg.data_dir, hex);
    snprintf(to, sizeof to, "%s/channels/%s.closed", p->cfg.data_dir, hex);
    if (rename(from, to)) DC_WARN("agent", "channel=%.16s cannot rename %s", hex, from);
    DC_INFO("agent", "channel=%.16s closed ticks=%u", hex, ch->close_ticks);
    p->chans[i] = p->chans[--p->nchans];
  }
}

static int send_close(struct dc_provider *p, const char *chain_id,
                      const struct tick_chan *ch, uint64_t nonce,
                      uint8_t head[DC_HASH_BYTES]) {
  struct dc_tx tx = {.version = DC_TX_VERSION, .kind = DC_TX_CHANNEL_CLOSE,
                     .nonce = nonce, .length = ch->highest};
  memcpy(tx.account, p->id.pk, DC_PK_BYTES);
  memcpy(tx.prev, head, DC_HASH_BYTES);
  memcpy(tx.channel, ch->channel, DC_HASH_BYTES);
  memcpy(tx.hash, ch->word, DC_HASH_BYTES);
  uint8_t mem[DC_TX_MAX_BYTES + 1];
  struct dc_buf b = {.data = mem, .alloc = sizeof mem - 1, .max = sizeof mem - 1};
  int rc = dc_tx_sign(&tx, chain_id, &p->id);
  if (!rc) rc = dc_tx_encode(&tx, &b);
  if (!rc) {
    struct dc_msg m = {.type = DC_MSG_LEDGER_TX};
    m.u.ledger_tx.data = b.data;
    m.u.ledger_tx.len = b.len;
    rc = provider_send(p, &m);
  }
  if (!rc) rc = dc_tx_hash(&tx, head);
  return rc;
}

void provider_channels(struct dc_provider *p, const struct dc_msg_channels *c) {
  int64_t now = dc_mono_ms();
  forget_closed(p, c);
  uint64_t nonce = c->nonce;
  uint8_t head[DC_HASH_BYTES];
  memcpy(head, c->head, DC_HASH_BYTES);
  for (size_t i = 0; i < c->n; i++) {
    const struct dc_channel_due *d = &c->chans[i];
    struct tick_chan *ch = provider_chan_find(p, d->channel, NULL);
    if (!ch || ch->highest == 0) continue; /* nothing to claim */
    uint64_t timeout = d->reclaim_height - d->open_height;
    uint64_t margin = DC_MIN((uint64_t)p->cfg.channel_close_margin, timeout / 2);
    bool due = c->height + margin >= d->reclaim_height;
    bool idle = now - ch->last_tick_ms >= (int64_t)p->cfg.channel_idle_s * 1000;
    if ((!due && !idle) ||
        (ch->close_sent_ms && now - ch->close_sent_ms < CLOSE_RETRY_MS))
      continue;
    char hex[2 * DC_HASH_BYTES + 1];
    dc_hex_encode(d->channel, DC_HASH_BYTES, hex);
    int rc = send_close(p, c->chain_id, ch, nonce + 1, head);
    if (rc) {
      DC_WARN("agent", "channel=%.16s close not sent: %s", hex, dc_strerror(rc));
      return; /* the chain of this round stops here; next round retries */
    }
    nonce++;
    ch->close_sent_ms = now;
    ch->close_ticks = ch->highest;
    DC_INFO("agent", "channel=%.16s closing ticks=%u reason=%s height=%llu "
            "reclaim=%llu", hex, ch->highest, due ? "timeout" : "idle",
            (unsigned long long)c->height, (unsigned long long)d->reclaim_height);
  }
}
