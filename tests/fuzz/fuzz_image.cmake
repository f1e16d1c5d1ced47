# SPDX-License-Identifier: Apache-2.0
# Each run checks a whole database image (integrity check, state hash), and
# the smallest valid state is ~170 KB (a page per table and index): fewer
# runs than the codecs, longer inputs.
dc_add_fuzz(NAME fuzz_image SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_image.c LIBS dc_fsm
  RUNS 1000 MAX_LEN 262144)
