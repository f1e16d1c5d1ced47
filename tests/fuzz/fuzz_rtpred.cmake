# SPDX-License-Identifier: Apache-2.0
dc_add_fuzz(NAME fuzz_rtpred SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_rtpred.c
  LIBS dc_predict RUNS 2000)
