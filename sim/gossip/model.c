/* SPDX-License-Identifier: Apache-2.0
 * The network model. Members sit in six regions of a synthetic world;
 * one-way latency = access(a) + access(b) + distance * detour(a,b), where
 * access delays are per member and detours are drawn per pair from a hash,
 * so latencies break the triangle inequality the way real routes do, and
 * no N^2 matrix is ever stored. */
#include <math.h>
#include <string.h>

#include "base/base.h"
#include "sim/gossip/sim_int.h"

uint64_t simg_splitmix(uint64_t *s) {
  uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

double simg_unit(uint64_t *s) { return (double)(simg_splitmix(s) >> 11) / 9007199254740992.0; }

static double gauss(uint64_t *s) {
  double u = simg_unit(s), v = simg_unit(s);
  if (u < 1e-12) u = 1e-12;
  return sqrt(-2.0 * log(u)) * cos(2.0 * M_PI * v);
}

int simg_model_init(struct simg_model *m, uint32_t n, uint64_t seed) {
  memset(m, 0, sizeof *m);
  m->n = n;
  m->seed = seed;
  m->x = dc_calloc(n, sizeof *m->x);
  m->y = dc_calloc(n, sizeof *m->y);
  m->access = dc_calloc(n, sizeof *m->access);
  if (!m->x || !m->y || !m->access) return DC_ENOMEM;
  /* Region centres in ms of one-way propagation (a world ~150 ms wide). */
  static const double cx[] = {0, 35, 70, 110, 130, 60}, cy[] = {0, 10, -5, 20, 45, 55};
  static const double weight[] = {0.3, 0.2, 0.15, 0.15, 0.1, 0.1};
  uint64_t s = seed ^ 0x6a09e667f3bcc909ULL;
  for (uint32_t i = 0; i < n; i++) {
    double u = simg_unit(&s), acc = 0;
    int r = 0;
    for (r = 0; r < 5; r++) {
      acc += weight[r];
      if (u < acc) break;
    }
    m->x[i] = (float)(cx[r] + 6.0 * gauss(&s));
    m->y[i] = (float)(cy[r] + 6.0 * gauss(&s));
    /* Last-mile delay: 0.5 ms plus an exponential tail (mean 2 ms). */
    m->access[i] = (float)(0.5 - 2.0 * log(1.0 - simg_unit(&s) * 0.999));
  }
  return DC_OK;
}

void simg_model_close(struct simg_model *m) {
  dc_free(m->x);
  dc_free(m->y);
  dc_free(m->access);
  memset(m, 0, sizeof *m);
}

/* One-way latency in ms, symmetric, without per-packet jitter. */
double simg_latency_ms(const struct simg_model *m, uint32_t a, uint32_t b) {
  if (a == b) return 0.05;
  uint32_t lo = a < b ? a : b, hi = a < b ? b : a;
  uint64_t h = m->seed ^ ((uint64_t)lo << 32 | hi);
  h = simg_splitmix(&h);
  double u = (double)(h >> 11) / 9007199254740992.0;
  /* Most routes detour by up to 30%; one in ten by 1.5-2.5x. */
  double detour = u < 0.9 ? 1.0 + 0.3 * (u / 0.9) : 1.5 + 10.0 * (u - 0.9);
  double dx = m->x[a] - m->x[b], dy = m->y[a] - m->y[b];
  return m->access[a] + m->access[b] + sqrt(dx * dx + dy * dy) * detour;
}
