# SPDX-License-Identifier: Apache-2.0
dc_add_fuzz(NAME fuzz_ledger SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_ledger.c LIBS dc_ledger)
