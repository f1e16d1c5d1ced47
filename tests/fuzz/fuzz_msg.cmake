# SPDX-License-Identifier: Apache-2.0
dc_add_fuzz(NAME fuzz_msg SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_msg.c LIBS dc_proto)
