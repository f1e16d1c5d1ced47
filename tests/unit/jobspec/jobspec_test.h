/* SPDX-License-Identifier: Apache-2.0
 * Helpers shared by the jobspec test programs. Specs in tests are written
 * with single quotes ('name') and turned into JSON by swapping in double
 * quotes, which keeps the tables readable. */
#ifndef DC_JOBSPEC_TEST_H
#define DC_JOBSPEC_TEST_H

#include "jobspec/jobspec.h"
#include "tests/lib/testlib.h"

/* ' -> " ; caller free()s. */
char *jt_json(const char *sq);
/* Parses sq (single-quoted JSON); asserts failure with `code` and exactly
 * `msg` (or only the prefix when msg ends in '*'). */
void jt_expect_fail(const char *sq, int code, const char *msg);
/* Same on raw bytes, no quote swapping. */
void jt_expect_fail_raw(const char *json, size_t len, int code,
                        const char *msg);
/* Parses sq and asserts success. */
struct dc_jobspec *jt_expect_ok(const char *sq);
/* Runs the validation and limit tests; returns failures. */
int jobspec_limits_tests(void);

#endif
