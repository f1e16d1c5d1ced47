/* SPDX-License-Identifier: Apache-2.0
 * The piggyback queue (memberlist's TransmitLimitedQueue): each update is
 * sent a bounded number of times, least-sent and newest first; a newer
 * update about a member replaces the queued one. The bound is memberlist's
 * retransmit_mult * ceil(log10(N+1)), at most retransmit_max, followed by
 * retransmit_tail more sends on probe traffic only (docs/gossip.md,
 * "Timing and dissemination"). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gossip/gossip_int.h"

uint32_t dc_gossip_retransmit_limit(uint32_t mult, size_t n) {
  return mult * (uint32_t)ceil(log10((double)n + 1.0));
}

static void bcast_drop(struct dc_gossip *g, uint32_t j) {
  dc_free(g->bq[j].msg);
  g->bq[j] = g->bq[--g->nbq];
}

void bcast_queue(struct dc_gossip *g, const struct gossip_msg *m) {
  g->scratch.len = 0;
  if (msg_encode(&g->scratch, m)) return;
  uint8_t *p = dc_malloc(g->scratch.len);
  if (!p) return; /* the update still spreads through others and push-pull */
  memcpy(p, g->scratch.data, g->scratch.len);
  for (uint32_t j = 0; j < g->nbq; j++) {
    if (g->bq[j].id == m->id) {
      bcast_drop(g, j);
      break;
    }
  }
  if (g->nbq == GOSSIP_BCAST_MAX) {
    uint32_t worst = 0;
    for (uint32_t j = 1; j < g->nbq; j++)
      if (g->bq[j].transmits > g->bq[worst].transmits) worst = j;
    bcast_drop(g, worst);
  }
  if (!g->bq) {
    g->bq = dc_malloc(GOSSIP_BCAST_MAX * sizeof *g->bq);
    if (!g->bq) {
      dc_free(p);
      return;
    }
  }
  g->bq[g->nbq++] = (struct gossip_bcast){.id = m->id, .order = ++g->border,
                                          .len = (uint16_t)g->scratch.len, .msg = p};
}

static int bcast_cmp(const void *a, const void *b) {
  const struct gossip_bcast *x = a, *y = b;
  if (x->transmits != y->transmits) return x->transmits < y->transmits ? -1 : 1;
  return x->order > y->order ? -1 : x->order < y->order;
}

void bcast_fill(struct dc_gossip *g, size_t budget, bool gossip_round) {
  if (!g->nbq) return;
  qsort(g->bq, g->nbq, sizeof *g->bq, bcast_cmp);
  uint32_t push = dc_gossip_retransmit_limit(g->cfg.retransmit_mult, g->alive);
  if (g->cfg.retransmit_max && push > g->cfg.retransmit_max) push = g->cfg.retransmit_max;
  uint32_t limit = push + g->cfg.retransmit_tail;
  for (uint32_t j = 0; j < g->nbq;) {
    struct gossip_bcast *b = &g->bq[j];
    if ((gossip_round && b->transmits >= push) || g->out.len + b->len > budget) {
      j++;
      continue;
    }
    if (dc_buf_append(&g->out, b->msg, b->len)) break;
    if (++b->transmits >= limit) {
      bcast_drop(g, j); /* keeps j: the moved entry is looked at next */
      continue;
    }
    j++;
  }
}

void bcast_free(struct dc_gossip *g) {
  for (uint32_t j = 0; j < g->nbq; j++) dc_free(g->bq[j].msg);
  DC_FREE(g->bq);
  g->nbq = 0;
}
