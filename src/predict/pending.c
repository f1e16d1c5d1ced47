/* SPDX-License-Identifier: Apache-2.0
 * The predictions made at submit time, kept until the job ends (see
 * predict_int.h for why). */
#include <math.h>
#include <string.h>

#include "predict/predict_int.h"

static uint64_t mix(uint64_t h, uint64_t v) {
  h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
  h ^= h >> 31;
  h *= 0xbf58476d1ce4e5b9ULL;
  return h ^ (h >> 29);
}

static uint64_t bits(double d) {
  uint64_t u;
  memcpy(&u, &d, sizeof(u));
  return u;
}

uint64_t pending_key(const struct dc_pred_job *j) {
  uint64_t h = mix(0, (uint64_t)j->user << 32 | j->group);
  h = mix(h, (uint64_t)j->app << 32 | j->queue);
  h = mix(h, j->req_cpus);
  h = mix(h, bits(j->req_mem_mb));
  h = mix(h, bits(j->req_time_s));
  return mix(h, bits(j->submit_s));
}

struct rt_pending *pending_slot(struct rt_pending *tab, uint64_t key) {
  return &tab[key & (PENDING_CAP - 1)];
}

int pending_encode(const struct rt_pending *tab, struct dc_buf *b) {
  uint32_t n = 0;
  for (size_t i = 0; i < PENDING_CAP; i++) n += tab[i].used;
  int rc = dc_buf_put_u32(b, n);
  for (size_t i = 0; !rc && i < PENDING_CAP; i++) {
    const struct rt_pending *s = &tab[i];
    if (!s->used) continue;
    rc = dc_buf_put_u64(b, s->key);
    if (!rc) rc = dc_buf_put_f64(b, s->value);
    for (int k = 0; !rc && k < RT_NFEAT; k++) rc = dc_buf_put_f64(b, s->f[k]);
    for (int k = 0; !rc && k < RT_NEXPERT; k++) rc = dc_buf_put_f64(b, s->e[k]);
  }
  return rc;
}

int pending_decode(struct dc_reader *r, struct rt_pending *tab) {
  uint32_t n = 0;
  if (dc_get_u32(r, &n) || n > PENDING_CAP) return DC_EPROTO;
  for (uint32_t i = 0; i < n; i++) {
    uint64_t key = 0;
    dc_get_u64(r, &key);
    struct rt_pending *s = pending_slot(tab, key);
    if (s->used) return DC_EPROTO;
    s->used = 1;
    s->key = key;
    dc_get_f64(r, &s->value);
    if (!isfinite(s->value)) return DC_EPROTO;
    for (int k = 0; k < RT_NFEAT; k++)
      if (dc_get_f64(r, &s->f[k]) || !isfinite(s->f[k])) return DC_EPROTO;
    /* Experts without an opinion are NAN, so only the stream is checked. */
    for (int k = 0; k < RT_NEXPERT; k++)
      if (dc_get_f64(r, &s->e[k])) return DC_EPROTO;
  }
  return 0;
}
