/* SPDX-License-Identifier: Apache-2.0
 * The directory: interned (id, address, tags) records with reference
 * counts. Every node of a 10,000-member simulation knows every other
 * member; storing each record once keeps that view at ~36 bytes a member
 * instead of ~100. */
#include <string.h>

#include "gossip/gossip_int.h"

bool gossip_addr_eq(const struct dc_gossip_addr *a, const struct dc_gossip_addr *b) {
  if (a->family != b->family || a->port != b->port) return false;
  return memcmp(a->ip, b->ip, a->family == 6 ? 16 : 4) == 0;
}

static uint64_t meta_hash(uint64_t id, const struct dc_gossip_addr *addr,
                          const uint8_t *tags, size_t n) {
  uint64_t h = gossip_mix64(id ^ 0x9e3779b97f4a7c15ULL);
  h = gossip_mix64(h ^ ((uint64_t)addr->family << 16 | addr->port));
  size_t iplen = addr->family == 6 ? 16 : 4;
  for (size_t i = 0; i < iplen; i++) h = (h ^ addr->ip[i]) * 0x100000001b3ULL;
  for (size_t i = 0; i < n; i++) h = (h ^ tags[i]) * 0x100000001b3ULL;
  return gossip_mix64(h ^ n);
}

int dc_gossip_dir_new(struct dc_gossip_dir **out) {
  struct dc_gossip_dir *d = dc_calloc(1, sizeof *d);
  if (!d) return DC_ENOMEM;
  d->nbuckets = 1024;
  d->buckets = dc_malloc(d->nbuckets * sizeof *d->buckets);
  if (!d->buckets) {
    dc_free(d);
    return DC_ENOMEM;
  }
  memset(d->buckets, 0xff, d->nbuckets * sizeof *d->buckets);
  d->free_head = GOSSIP_NONE;
  *out = d;
  return DC_OK;
}

void dc_gossip_dir_free(struct dc_gossip_dir *d) {
  if (!d) return;
  for (uint32_t i = 0; i < d->n; i++)
    if (d->v[i].refs) dc_free(d->v[i].tags);
  dc_free(d->v);
  dc_free(d->buckets);
  dc_free(d);
}

static int dir_grow_buckets(struct dc_gossip_dir *d) {
  uint32_t nb = d->nbuckets * 2;
  uint32_t *b = dc_malloc((size_t)nb * sizeof *b);
  if (!b) return DC_ENOMEM;
  memset(b, 0xff, (size_t)nb * sizeof *b);
  for (uint32_t i = 0; i < d->n; i++) {
    if (!d->v[i].refs) continue;
    uint32_t h = (uint32_t)d->v[i].hash & (nb - 1);
    d->v[i].chain = b[h];
    b[h] = i;
  }
  dc_free(d->buckets);
  d->buckets = b;
  d->nbuckets = nb;
  return DC_OK;
}

uint32_t dir_intern(struct dc_gossip_dir *d, uint64_t id,
                    const struct dc_gossip_addr *addr, const uint8_t *tags,
                    size_t tags_len) {
  uint64_t h = meta_hash(id, addr, tags, tags_len);
  for (uint32_t i = d->buckets[h & (d->nbuckets - 1)]; i != GOSSIP_NONE; i = d->v[i].chain) {
    struct gossip_meta *e = &d->v[i];
    if (e->hash == h && e->id == id && e->tags_len == tags_len &&
        gossip_addr_eq(&e->addr, addr) && (!tags_len || !memcmp(e->tags, tags, tags_len))) {
      e->refs++;
      return i;
    }
  }
  if (d->live + 1 > d->nbuckets && dir_grow_buckets(d)) return GOSSIP_NONE;
  uint8_t *t = NULL;
  if (tags_len) {
    t = dc_malloc(tags_len);
    if (!t) return GOSSIP_NONE;
    memcpy(t, tags, tags_len);
  }
  uint32_t slot;
  if (d->free_head != GOSSIP_NONE) {
    slot = d->free_head;
    d->free_head = d->v[slot].chain;
  } else {
    if (d->n == d->cap) {
      uint32_t nc = d->cap ? d->cap * 2 : 64;
      struct gossip_meta *v = dc_realloc(d->v, (size_t)nc * sizeof *v);
      if (!v) {
        dc_free(t);
        return GOSSIP_NONE;
      }
      d->v = v;
      d->cap = nc;
    }
    slot = d->n++;
  }
  struct gossip_meta *e = &d->v[slot];
  memset(e, 0, sizeof *e);
  e->id = id;
  e->hash = h;
  e->addr = *addr;
  e->tags = t;
  e->tags_len = (uint16_t)tags_len;
  e->refs = 1;
  uint32_t b = (uint32_t)h & (d->nbuckets - 1);
  e->chain = d->buckets[b];
  d->buckets[b] = slot;
  d->live++;
  return slot;
}

void dir_release(struct dc_gossip_dir *d, uint32_t slot) {
  struct gossip_meta *e = &d->v[slot];
  DC_ASSERT(e->refs > 0);
  if (--e->refs) return;
  uint32_t *pp = &d->buckets[e->hash & (d->nbuckets - 1)];
  while (*pp != slot) pp = &d->v[*pp].chain;
  *pp = e->chain;
  DC_FREE(e->tags);
  e->chain = d->free_head;
  d->free_head = slot;
  d->live--;
}
