/* SPDX-License-Identifier: Apache-2.0
 * Shared helpers for the cmocka test programs. */
#ifndef DC_TESTLIB_H
#define DC_TESTLIB_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

/* Creates a fresh temporary directory (mkdtemp under $TMPDIR or /tmp) and
 * writes its path into out. Fails the test on error. */
void dc_test_tmpdir(char *out, size_t outsz);
/* 1 if some extent of the open file fd is reserved but unwritten, 0 if
 * none, -1 if the file system cannot tell (no FIEMAP). */
int dc_test_unwritten_extents(int fd);
/* rm -rf path (best effort). */
void dc_test_rmrf(const char *path);
/* Directory of the built deepcloud binary, from DC_BIN env or the build
 * tree (set by CMake as DC_BUILD_BIN). */
const char *dc_test_bin(void);

#endif
