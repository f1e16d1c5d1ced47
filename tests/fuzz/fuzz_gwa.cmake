# SPDX-License-Identifier: Apache-2.0
dc_add_fuzz(NAME fuzz_gwa SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_gwa.c
  LIBS dc_simrecommend RUNS 5000)
