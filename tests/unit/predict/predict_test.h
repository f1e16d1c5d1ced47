/* SPDX-License-Identifier: Apache-2.0
 * The predict test program's groups, one per model file. */
#ifndef DC_PREDICT_TEST_H
#define DC_PREDICT_TEST_H

#include "tests/lib/testlib.h"

int run_rtpred_tests(void);
int run_reliab_tests(void);
int run_usage_tests(void);
int run_rightsize_tests(void);
int run_cluster_tests(void);
int run_recommend_tests(void);

#endif
