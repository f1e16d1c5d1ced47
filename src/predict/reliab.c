/* SPDX-License-Identifier: Apache-2.0
 * Node speed and reliability from task outcomes, as Bayesian posteriors, so a
 * node with two tasks is neither condemned nor trusted on so little.
 *
 * Failure: Beta-Bernoulli with a Beta(1, 19) prior (a new node is assumed to
 * fail one task in twenty until it shows otherwise); the posterior mean is
 * (1 + failures) / (20 + tasks).
 * Speed: the log of expected/actual time of each successful task is taken
 * as normal around the node's log speed mu, with a normal prior on mu at 0
 * (nominal) worth KAPPA0 tasks; the posterior mean of mu is the shrunken
 * mean of the logs, and the speed reported is exp(mu). Log space makes
 * "twice as fast" and "twice as slow" symmetric. */
#include <math.h>

#include "predict/predict_int.h"

#define FAIL_A0 1.0
#define FAIL_B0 19.0
#define KAPPA0 2.0
#define SPEED_CLAMP 4.6 /* |log speed| of one sample: 100x either way */

struct reliab_node {
  double tasks, fails;
  double speed_n, log_speed_sum;
};
struct dc_reliab {
  size_t n;
  struct reliab_node nodes[];
};

int dc_reliab_new(size_t nnodes, struct dc_reliab **out) {
  if (!out || nnodes > (SIZE_MAX - sizeof(struct dc_reliab)) / sizeof(struct reliab_node))
    return DC_EINVAL;
  struct dc_reliab *r =
      dc_calloc(1, sizeof(*r) + nnodes * sizeof(struct reliab_node));
  if (!r) return DC_ENOMEM;
  r->n = nnodes;
  *out = r;
  return 0;
}

void dc_reliab_free(struct dc_reliab *r) { dc_free(r); }

void dc_reliab_observe(struct dc_reliab *r, size_t node, bool ok,
                       double expected_s, double actual_s) {
  if (!r || node >= r->n) return; /* an unknown node teaches nothing */
  struct reliab_node *n = &r->nodes[node];
  n->tasks++;
  if (!ok) {
    n->fails++;
    return;
  }
  if (!(expected_s > 0) || !(actual_s > 0) || !isfinite(expected_s) ||
      !isfinite(actual_s))
    return;
  double l = log(expected_s / actual_s);
  n->log_speed_sum += fmax(-SPEED_CLAMP, fmin(SPEED_CLAMP, l));
  n->speed_n++;
}

double dc_reliab_fail_prob(const struct dc_reliab *r, size_t node) {
  const struct reliab_node *n = r && node < r->n ? &r->nodes[node] : NULL;
  double tasks = n ? n->tasks : 0, fails = n ? n->fails : 0;
  return (FAIL_A0 + fails) / (FAIL_A0 + FAIL_B0 + tasks);
}

double dc_reliab_speed(const struct dc_reliab *r, size_t node) {
  const struct reliab_node *n = r && node < r->n ? &r->nodes[node] : NULL;
  if (!n) return 1.0;
  return exp(n->log_speed_sum / (KAPPA0 + n->speed_n));
}
