/* SPDX-License-Identifier: Apache-2.0
 * The simulator's report formats (kept apart so simgossip.h needs no
 * jansson). */
#ifndef DC_SIMGOSSIP_REPORT_H
#define DC_SIMGOSSIP_REPORT_H

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>

#include "sim/gossip/simgossip.h"

/* {"runs": [...], "notes": [...]}; a new reference. A scenario is valid
 * only if its plain-SWIM run made at least 100 false positives. */
json_t *simg_results_json(const struct simg_result *r, size_t n);
void simg_print_table(FILE *f, const struct simg_result *r, size_t n);

#endif
