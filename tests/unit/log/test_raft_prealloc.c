/* SPDX-License-Identifier: Apache-2.0
 * The posix_fallocate the raft back end gives c-raft: the range is
 * allocated, reads as zeros and, past the old end of the file, is made of
 * written blocks (no "unwritten" extents left for a synchronous log write
 * to convert); bytes that were there are kept; bad arguments and
 * descriptors fail as the standard says. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log/log.h"
#include "tests/lib/testlib.h"

#define MIB ((off_t)1 << 20)

static bool all_zero(int fd, off_t from, off_t to) {
  static uint8_t buf[64 * 1024];
  while (from < to) {
    size_t n = (size_t)DC_MIN((off_t)sizeof buf, to - from);
    ssize_t r = pread(fd, buf, n, from);
    assert_true(r > 0);
    for (ssize_t i = 0; i < r; i++)
      if (buf[i]) return false;
    from += r;
  }
  return true;
}

/* A new file `name` in a fresh scratch dir, opened with flags. OUT: dir,
 * path. */
static int scratch_file(char dir[256], char path[300], const char *name, int flags) {
  dc_test_tmpdir(dir, 256);
  snprintf(path, 300, "%s/%s", dir, name);
  int fd = open(path, flags | O_CREAT | O_EXCL, 0600);
  assert_true(fd >= 0);
  return fd;
}

/* As c-raft creates a segment: a new file, O_DSYNC, then the reservation. */
static void test_new_segment_is_written(void **state) {
  (void)state;
  char dir[256], path[300];
  int fd = scratch_file(dir, path, "open-1", O_WRONLY | O_DSYNC | O_CLOEXEC);
  off_t len = 3 * MIB + 123;
  assert_int_equal(posix_fallocate(fd, 0, len), 0);
  struct stat st;
  assert_int_equal(fstat(fd, &st), 0);
  assert_int_equal(st.st_size, len);
  assert_true(st.st_blocks * 512 >= len);
  int unwritten = dc_test_unwritten_extents(fd);
  if (unwritten < 0)
    fprintf(stderr, "note: no FIEMAP here, extent state not checked\n");
  else
    assert_int_equal(unwritten, 0);
  close(fd);
  fd = open(path, O_RDONLY);
  assert_true(all_zero(fd, 0, len));
  close(fd);
  dc_test_rmrf(dir);
}

static void test_existing_bytes_kept(void **state) {
  (void)state;
  char dir[256], path[300];
  int fd = scratch_file(dir, path, "f", O_RDWR);
  uint8_t data[5000];
  for (size_t i = 0; i < sizeof data; i++) data[i] = (uint8_t)(i % 251 + 1);
  assert_int_equal(pwrite(fd, data, sizeof data, 100), (ssize_t)sizeof data);
  /* The range covers the old bytes and goes past the end. */
  assert_int_equal(posix_fallocate(fd, 0, 2 * MIB), 0);
  uint8_t back[sizeof data];
  assert_int_equal(pread(fd, back, sizeof back, 100), (ssize_t)sizeof back);
  assert_memory_equal(back, data, sizeof data);
  assert_true(all_zero(fd, 0, 100));
  assert_true(all_zero(fd, 100 + (off_t)sizeof data, 2 * MIB));
  /* A range inside the file changes nothing. */
  assert_int_equal(posix_fallocate(fd, 50, 1000), 0);
  assert_int_equal(pread(fd, back, sizeof back, 100), (ssize_t)sizeof back);
  assert_memory_equal(back, data, sizeof data);
  struct stat st;
  assert_int_equal(fstat(fd, &st), 0);
  assert_int_equal(st.st_size, 2 * MIB);
  close(fd);
  dc_test_rmrf(dir);
}

/* O_APPEND would turn the zeros into appended bytes: only reserved. */
static void test_append_descriptor_only_reserved(void **state) {
  (void)state;
  char dir[256], path[300];
  int fd = scratch_file(dir, path, "a", O_WRONLY | O_APPEND);
  assert_int_equal(write(fd, "abc", 3), 3);
  assert_int_equal(posix_fallocate(fd, 0, MIB), 0);
  struct stat st;
  assert_int_equal(fstat(fd, &st), 0);
  assert_int_equal(st.st_size, MIB);
  close(fd);
  fd = open(path, O_RDONLY);
  char head[3];
  assert_int_equal(pread(fd, head, 3, 0), 3);
  assert_memory_equal(head, "abc", 3);
  assert_true(all_zero(fd, 3, MIB));
  close(fd);
  dc_test_rmrf(dir);
}

static void test_bad_arguments(void **state) {
  (void)state;
  char dir[256], path[300];
  int fd = scratch_file(dir, path, "b", O_RDWR);
  assert_int_equal(posix_fallocate(fd, 0, 0), EINVAL);
  assert_int_equal(posix_fallocate(fd, -1, 10), EINVAL);
  assert_int_equal(posix_fallocate(fd, 10, INT64_MAX), EFBIG);
  close(fd);
  assert_int_equal(posix_fallocate(fd, 0, 10), EBADF);
  fd = open(path, O_RDONLY);
  assert_int_equal(posix_fallocate(fd, 0, 10), EBADF);
  struct stat st;
  assert_int_equal(fstat(fd, &st), 0);
  assert_int_equal(st.st_size, 0);
  close(fd);
  dc_test_rmrf(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_new_segment_is_written),
      cmocka_unit_test(test_existing_bytes_kept),
      cmocka_unit_test(test_append_descriptor_only_reserved),
      cmocka_unit_test(test_bad_arguments),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
