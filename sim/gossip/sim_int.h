/* SPDX-License-Identifier: Apache-2.0
 * Private to the gossip simulator. */
#ifndef DC_SIM_GOSSIP_INT_H
#define DC_SIM_GOSSIP_INT_H

#include <stdint.h>

#include "sim/gossip/simgossip.h"

struct simg_model {
  uint32_t n;
  uint64_t seed;
  float *x, *y;     /* position, ms */
  float *access;    /* access delay, ms */
};
int simg_model_init(struct simg_model *m, uint32_t n, uint64_t seed);
void simg_model_close(struct simg_model *m);
double simg_latency_ms(const struct simg_model *m, uint32_t a, uint32_t b);
uint64_t simg_splitmix(uint64_t *s);
double simg_unit(uint64_t *s);
double simg_percentile(double *v, size_t n, double p); /* sorts v */

#endif
