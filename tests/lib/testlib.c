/* SPDX-License-Identifier: Apache-2.0
 * Shared helpers for the cmocka test programs. */
#include "testlib.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

void dc_test_tmpdir(char *out, size_t outsz) {
  const char *base = getenv("TMPDIR");
  if (!base || !*base) base = "/tmp";
  int n = snprintf(out, outsz, "%s/dctest.XXXXXX", base);
  assert_true(n > 0 && (size_t)n < outsz);
  assert_non_null(mkdtemp(out));
}

static int rm_one(const char *path, const struct stat *sb, int flag,
                  struct FTW *ftw) {
  (void)sb; (void)flag; (void)ftw;
  remove(path);
  return 0;
}

void dc_test_rmrf(const char *path) {
  nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

const char *dc_test_bin(void) {
  const char *b = getenv("DC_BIN");
  if (b && *b) return b;
#ifdef DC_BUILD_BIN
  return DC_BUILD_BIN;
#else
  return "deepcloud";
#endif
}
