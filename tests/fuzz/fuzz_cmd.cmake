# SPDX-License-Identifier: Apache-2.0
dc_add_fuzz(NAME fuzz_cmd SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_cmd.c LIBS dc_proto)
