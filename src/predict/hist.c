/* SPDX-License-Identifier: Apache-2.0
 * Per-user (or per user and app) runtime history: an open-addressing table
 * holding the last two runtimes and exponentially weighted log runtimes. */
#include <math.h>
#include <string.h>

#include "predict/predict_int.h"

/* Weight of the newest job in the EWMAs: about the last five jobs matter,
 * which follows a user's changing work quickly without chasing one outlier. */
#define HIST_ALPHA 0.3
#define HIST_MAX (1u << 24) /* entries; a bound on memory */

static size_t slot_of(uint64_t key, size_t cap) {
  key ^= key >> 33; /* splitmix64 finaliser: user ids are small and dense */
  key *= 0xff51afd7ed558ccdULL;
  key ^= key >> 33;
  key *= 0xc4ceb9fe1a85ec53ULL;
  key ^= key >> 33;
  return (size_t)key & (cap - 1);
}

const struct rt_entry *hist_find(const struct rt_hist *h, uint64_t key) {
  if (!h->cap) return NULL;
  for (size_t i = slot_of(key, h->cap);; i = (i + 1) & (h->cap - 1)) {
    const struct rt_entry *e = &h->slots[i];
    if (!e->used) return NULL;
    if (e->key == key) return e;
  }
}

static int grow(struct rt_hist *h) {
  size_t cap = h->cap ? h->cap * 2 : 64;
  struct rt_entry *s = dc_calloc(cap, sizeof(*s));
  if (!s) return DC_ENOMEM;
  for (size_t i = 0; i < h->cap; i++) {
    if (!h->slots[i].used) continue;
    size_t j = slot_of(h->slots[i].key, cap);
    while (s[j].used) j = (j + 1) & (cap - 1);
    s[j] = h->slots[i];
  }
  dc_free(h->slots);
  h->slots = s;
  h->cap = cap;
  return 0;
}

int hist_upsert(struct rt_hist *h, uint64_t key, struct rt_entry **out) {
  if ((h->len + 1) * 4 > h->cap * 3) { /* keep the load under 3/4 */
    if (h->len >= HIST_MAX) return DC_ETOOBIG;
    int rc = grow(h);
    if (rc) return rc;
  }
  size_t i = slot_of(key, h->cap);
  while (h->slots[i].used && h->slots[i].key != key) i = (i + 1) & (h->cap - 1);
  struct rt_entry *e = &h->slots[i];
  if (!e->used) {
    memset(e, 0, sizeof(*e));
    e->used = 1;
    e->key = key;
    h->len++;
  }
  *out = e;
  return 0;
}

void hist_add(struct rt_entry *e, double runtime_s, double est_s) {
  double lr = log(runtime_s);
  e->log_ewma = e->n ? (1 - HIST_ALPHA) * e->log_ewma + HIST_ALPHA * lr : lr;
  e->last[1] = e->n ? e->last[0] : runtime_s;
  e->last[0] = runtime_s;
  e->n++;
  if (est_s > 0) {
    double q = lr - log(DC_MAX(est_s, RT_MIN_S));
    e->ratio_ewma = e->nratio ? (1 - HIST_ALPHA) * e->ratio_ewma + HIST_ALPHA * q : q;
    e->nratio++;
  }
}

void hist_free(struct rt_hist *h) {
  DC_FREE(h->slots);
  h->cap = h->len = 0;
}

int hist_encode(const struct rt_hist *h, struct dc_buf *b) {
  int rc = dc_buf_put_u32(b, (uint32_t)h->len);
  for (size_t i = 0; !rc && i < h->cap; i++) {
    const struct rt_entry *e = &h->slots[i];
    if (!e->used) continue;
    rc = dc_buf_put_u64(b, e->key);
    if (!rc) rc = dc_buf_put_u32(b, e->n);
    if (!rc) rc = dc_buf_put_f64(b, e->last[0]);
    if (!rc) rc = dc_buf_put_f64(b, e->last[1]);
    if (!rc) rc = dc_buf_put_f64(b, e->log_ewma);
    if (!rc) rc = dc_buf_put_f64(b, e->ratio_ewma);
    if (!rc) rc = dc_buf_put_u32(b, e->nratio);
    if (!rc) rc = dc_buf_put_f64(b, e->last_submit_s);
    if (!rc) rc = dc_buf_put_u32(b, e->inflight);
  }
  return rc;
}

static bool finite_pos(double v) { return isfinite(v) && v >= RT_MIN_S; }

int hist_decode(struct dc_reader *r, struct rt_hist *h) {
  uint32_t n = 0;
  if (dc_get_u32(r, &n) || n > HIST_MAX) return DC_EPROTO;
  for (uint32_t i = 0; i < n; i++) {
    struct rt_entry v = {0}, *e;
    dc_get_u64(r, &v.key);
    dc_get_u32(r, &v.n);
    dc_get_f64(r, &v.last[0]);
    dc_get_f64(r, &v.last[1]);
    dc_get_f64(r, &v.log_ewma);
    dc_get_f64(r, &v.ratio_ewma);
    dc_get_u32(r, &v.nratio);
    dc_get_f64(r, &v.last_submit_s);
    if (dc_get_u32(r, &v.inflight)) return DC_EPROTO;
    /* An entry may exist for submits alone, before any job of it ended. */
    if ((v.n && (!finite_pos(v.last[0]) || !finite_pos(v.last[1]))) ||
        !isfinite(v.last_submit_s) ||
        !isfinite(v.log_ewma) || !isfinite(v.ratio_ewma) || hist_find(h, v.key))
      return DC_EPROTO;
    int rc = hist_upsert(h, v.key, &e);
    if (rc) return rc;
    v.used = 1;
    *e = v;
  }
  return 0;
}
