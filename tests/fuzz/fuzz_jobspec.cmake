# SPDX-License-Identifier: Apache-2.0
dc_add_fuzz(NAME fuzz_jobspec SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_jobspec.c LIBS dc_jobspec)
