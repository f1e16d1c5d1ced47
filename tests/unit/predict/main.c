/* SPDX-License-Identifier: Apache-2.0
 * Runs every predict test group; the exit status counts the failures. */
#include "tests/unit/predict/predict_test.h"

int main(void) {
  int failed = 0;
  failed += run_rtpred_tests();
  failed += run_reliab_tests();
  failed += run_usage_tests();
  failed += run_rightsize_tests();
  failed += run_cluster_tests();
  failed += run_recommend_tests();
  return failed;
}
