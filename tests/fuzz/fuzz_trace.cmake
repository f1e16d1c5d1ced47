# SPDX-License-Identifier: Apache-2.0
dc_add_fuzz(NAME fuzz_trace SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_trace.c
  LIBS dc_simsched RUNS 3000)
