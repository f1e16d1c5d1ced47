/* SPDX-License-Identifier: Apache-2.0
 * Private to sched: the per-policy cost the single and batch paths share. */
#ifndef DC_SCHED_INT_H
#define DC_SCHED_INT_H

#include "sched/sched.h"

/* Cost of placing t on nodes[i] (which must fit) under ctx->kind; lower is
 * better. Random has no cost (0). */
double sched_cost(struct dc_sched_ctx *ctx, const struct dc_sched_res *nodes,
                  size_t i, const struct dc_sched_req *t);

#endif
