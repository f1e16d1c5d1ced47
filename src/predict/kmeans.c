/* SPDX-License-Identifier: Apache-2.0
 * k-means clustering (Lloyd's iterations, k-means++ seeding from a seeded
 * generator) for grouping providers into service clusters by features of
 * different units: each column is standardised first, so price does not
 * drown out reliability just because its numbers are bigger. */
#include <math.h>
#include <string.h>

#include "predict/predict_int.h"

static uint64_t next(uint64_t *s) { /* splitmix64: small, seeded, portable */
  uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

static double uniform(uint64_t *s) { return (double)(next(s) >> 11) / 9007199254740992.0; }

static double dist2(const double *a, const double *b, size_t d) {
  double s = 0;
  for (size_t i = 0; i < d; i++) s += (a[i] - b[i]) * (a[i] - b[i]);
  return s;
}

/* k-means++: each next centre is a point drawn with probability
 * proportional to its squared distance to the nearest centre so far. */
static void seed_centres(const double *z, size_t n, size_t d, size_t k,
                         uint64_t *rng, double *c, double *near) {
  size_t first = (size_t)(uniform(rng) * (double)n);
  memcpy(c, &z[first * d], d * sizeof(double));
  for (size_t i = 0; i < n; i++) near[i] = dist2(&z[i * d], c, d);
  for (size_t j = 1; j < k; j++) {
    double total = 0;
    for (size_t i = 0; i < n; i++) total += near[i];
    size_t pick = n - 1;
    if (total > 0) {
      double r = uniform(rng) * total, acc = 0;
      for (size_t i = 0; i < n; i++) {
        acc += near[i];
        if (acc > r) {
          pick = i;
          break;
        }
      }
    } else {
      pick = j % n; /* every point sits on a centre: any will do */
    }
    memcpy(&c[j * d], &z[pick * d], d * sizeof(double));
    for (size_t i = 0; i < n; i++)
      near[i] = fmin(near[i], dist2(&z[i * d], &c[j * d], d));
  }
}

int dc_kmeans(const double *x, size_t n, size_t d, size_t k, uint64_t seed,
              uint32_t max_iter, uint32_t *assign, double *centroids,
              double *inertia) {
  if (!x || !assign || !d || !k || k > n || d > 1024 || n > (1u << 26) ||
      k > UINT32_MAX)
    return DC_EINVAL;
  for (size_t i = 0; i < n * d; i++)
    if (!isfinite(x[i])) return DC_EINVAL;
  double *z = dc_malloc(n * d * sizeof(double));
  double *c = dc_malloc(k * d * sizeof(double));
  double *near = dc_malloc(n * sizeof(double));
  double *mu = dc_calloc(d, sizeof(double)), *sd = dc_calloc(d, sizeof(double));
  size_t *cnt = dc_calloc(k, sizeof(size_t));
  int rc = z && c && near && mu && sd && cnt ? 0 : DC_ENOMEM;
  if (!rc) {
    for (size_t j = 0; j < d; j++) {
      for (size_t i = 0; i < n; i++) mu[j] += x[i * d + j];
      mu[j] /= (double)n;
      for (size_t i = 0; i < n; i++) sd[j] += (x[i * d + j] - mu[j]) * (x[i * d + j] - mu[j]);
      sd[j] = sqrt(sd[j] / (double)n);
      if (sd[j] == 0) sd[j] = 1; /* a constant column carries no distance */
      for (size_t i = 0; i < n; i++) z[i * d + j] = (x[i * d + j] - mu[j]) / sd[j];
    }
    uint64_t rng = seed;
    seed_centres(z, n, d, k, &rng, c, near);
    for (size_t i = 0; i < n; i++) assign[i] = UINT32_MAX;
    for (uint32_t it = 0; it < (max_iter ? max_iter : 100); it++) {
      bool moved = false;
      for (size_t i = 0; i < n; i++) {
        uint32_t best = 0;
        double bd = INFINITY;
        for (size_t j = 0; j < k; j++) {
          double dd = dist2(&z[i * d], &c[j * d], d);
          if (dd < bd) { /* ties go to the lower index: deterministic */
            bd = dd;
            best = (uint32_t)j;
          }
        }
        moved |= assign[i] != best;
        assign[i] = best;
        near[i] = bd;
      }
      if (!moved) break;
      memset(c, 0, k * d * sizeof(double));
      memset(cnt, 0, k * sizeof(size_t));
      for (size_t i = 0; i < n; i++) {
        cnt[assign[i]]++;
        for (size_t j = 0; j < d; j++) c[assign[i] * d + j] += z[i * d + j];
      }
      for (size_t j = 0; j < k; j++) {
        if (cnt[j]) {
          for (size_t q = 0; q < d; q++) c[j * d + q] /= (double)cnt[j];
          continue;
        }
        /* An empty cluster takes the point farthest from its centre. */
        size_t far = 0;
        for (size_t i = 1; i < n; i++)
          if (near[i] > near[far]) far = i;
        memcpy(&c[j * d], &z[far * d], d * sizeof(double));
        near[far] = 0;
      }
    }
    double in = 0;
    for (size_t i = 0; i < n; i++) in += near[i];
    if (inertia) *inertia = in;
    if (centroids) /* back to the caller's units */
      for (size_t j = 0; j < k; j++)
        for (size_t q = 0; q < d; q++) centroids[j * d + q] = c[j * d + q] * sd[q] + mu[q];
  }
  dc_free(z);
  dc_free(c);
  dc_free(near);
  dc_free(mu);
  dc_free(sd);
  dc_free(cnt);
  return rc;
}
