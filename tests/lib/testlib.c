/* SPDX-License-Identifier: Apache-2.0
 * Shared helpers for the cmocka test programs. */
#include "testlib.h"

#include <ftw.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
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

int dc_test_unwritten_extents(int fd) {
  enum { N = 64 };
  struct fiemap *fm = calloc(1, sizeof *fm + N * sizeof(struct fiemap_extent));
  if (!fm) return -1;
  fm->fm_length = FIEMAP_MAX_OFFSET;
  fm->fm_flags = FIEMAP_FLAG_SYNC;
  fm->fm_extent_count = N;
  int out = 0;
  if (ioctl(fd, FS_IOC_FIEMAP, fm) != 0) {
    out = -1;
  } else {
    for (unsigned i = 0; i < fm->fm_mapped_extents; i++)
      if (fm->fm_extents[i].fe_flags & FIEMAP_EXTENT_UNWRITTEN) out = 1;
  }
  free(fm);
  return out;
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
