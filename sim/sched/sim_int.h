/* SPDX-License-Identifier: Apache-2.0
 * Private to the scheduling simulator. */
#ifndef DC_SIM_SCHED_INT_H
#define DC_SIM_SCHED_INT_H

#include "sim/sched/simsched.h"

/* Distinct values of v, counting stops at cap. */
size_t sim_distinct(const double *v, size_t n, size_t cap);
uint64_t sim_rand(uint64_t *s);
double sim_rand01(uint64_t *s);
/* sep ' ' = any whitespace (empty fields collapse); else exactly sep. */
size_t sim_split(char *line, char sep, char **f, size_t max);
/* Grows *arr (of elem-sized items, *cap of them) to hold need items.
 * Errors: DC_ENOMEM (*arr unchanged). */
int sim_grow(void **arr, size_t *cap, size_t need, size_t elem);
/* A whole string as a finite number. */
bool sim_num(const char *s, double *out);

int sim_run_swf(const struct sim_workload *w, enum sim_policy p,
                const struct sim_opts *o, struct sim_result *r);
int sim_run_alibaba(const struct sim_workload *w, enum sim_policy p,
                    const struct sim_opts *o, struct sim_result *r);

/* Per-decision time samples in microseconds. */
struct sim_timer {
  double *us;
  size_t n, cap;
};
int sim_timer_add(struct sim_timer *t, double us);
double sim_now_us(void);

#endif
