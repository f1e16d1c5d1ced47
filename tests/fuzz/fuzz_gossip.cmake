# SPDX-License-Identifier: Apache-2.0
dc_add_fuzz(NAME fuzz_gossip SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_gossip.c LIBS dc_gossip)
