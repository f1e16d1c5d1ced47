/* SPDX-License-Identifier: Apache-2.0
 * base: buffers with caps, the sticky reader, hex, files, errors. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/base.h"
#include "tests/lib/testlib.h"

static void test_buf_roundtrip_and_cap(void **state) {
  (void)state;
  struct dc_buf b = {.max = 64};
  assert_int_equal(dc_buf_put_u8(&b, 7), DC_OK);
  assert_int_equal(dc_buf_put_u16(&b, 0x1234), DC_OK);
  assert_int_equal(dc_buf_put_u32(&b, 0xdeadbeef), DC_OK);
  assert_int_equal(dc_buf_put_u64(&b, 0x0102030405060708ull), DC_OK);
  assert_int_equal(dc_buf_put_i64(&b, -5), DC_OK);
  assert_int_equal(dc_buf_put_f64(&b, 1.5), DC_OK);
  assert_int_equal(dc_buf_put_str(&b, "hi"), DC_OK);
  size_t used = b.len;
  uint8_t big[64] = {0};
  assert_int_equal(dc_buf_append(&b, big, sizeof big), DC_ETOOBIG);
  assert_int_equal(b.len, used); /* a failed append changes nothing */

  struct dc_reader r;
  dc_reader_init(&r, b.data, b.len);
  uint8_t u8; uint16_t u16; uint32_t u32; uint64_t u64; int64_t i64; double f;
  char *s = NULL;
  dc_get_u8(&r, &u8); dc_get_u16(&r, &u16); dc_get_u32(&r, &u32);
  dc_get_u64(&r, &u64); dc_get_i64(&r, &i64); dc_get_f64(&r, &f);
  assert_int_equal(dc_get_str(&r, &s, 16), DC_OK);
  assert_int_equal(dc_reader_finish(&r), DC_OK);
  assert_int_equal(u8, 7);
  assert_int_equal(u16, 0x1234);
  assert_int_equal(u32, 0xdeadbeef);
  assert_true(u64 == 0x0102030405060708ull);
  assert_true(i64 == -5);
  assert_true(f == 1.5);
  assert_string_equal(s, "hi");
  dc_free(s);
  dc_buf_free(&b);
  assert_int_equal(b.max, 64);
}

static void test_reader_sticky_truncation(void **state) {
  (void)state;
  uint8_t bytes[] = {0, 0, 0, 9, 'a', 'b'}; /* claims 9 bytes, has 2 */
  struct dc_reader r;
  dc_reader_init(&r, bytes, sizeof bytes);
  char *s = NULL;
  assert_int_equal(dc_get_str(&r, &s, 100), DC_ETRUNCATED);
  assert_null(s);
  uint8_t x;
  assert_int_equal(dc_get_u8(&r, &x), DC_ETRUNCATED); /* sticky */
  assert_int_equal(dc_reader_finish(&r), DC_ETRUNCATED);
  uint8_t nul[] = {0, 0, 0, 2, 'a', 0};
  dc_reader_init(&r, nul, sizeof nul);
  assert_int_equal(dc_get_str(&r, &s, 100), DC_EPROTO); /* embedded NUL */
  uint8_t long_str[] = {0, 0, 0, 3, 'a', 'b', 'c'};
  dc_reader_init(&r, long_str, sizeof long_str);
  assert_int_equal(dc_get_str(&r, &s, 2), DC_ETOOBIG);
  uint8_t extra[] = {1, 2};
  dc_reader_init(&r, extra, sizeof extra);
  dc_get_u8(&r, &x);
  assert_int_equal(dc_reader_finish(&r), DC_EPROTO); /* trailing byte */
}

static void test_hex(void **state) {
  (void)state;
  uint8_t in[3] = {0x00, 0xab, 0xff}, out[3];
  char hex[7];
  dc_hex_encode(in, 3, hex);
  assert_string_equal(hex, "00abff");
  assert_int_equal(dc_hex_decode("00ABff", out, 3), DC_OK);
  assert_memory_equal(in, out, 3);
  assert_int_equal(dc_hex_decode("00abf", out, 3), DC_EINVAL);
  assert_int_equal(dc_hex_decode("00abfg", out, 3), DC_EINVAL);
}

static void test_files(void **state) {
  (void)state;
  char dir[256], path[300], nested[300];
  dc_test_tmpdir(dir, sizeof dir);
  snprintf(nested, sizeof nested, "%s/a/b/c", dir);
  assert_int_equal(dc_mkdir_p(nested, 0700), DC_OK);
  snprintf(path, sizeof path, "%s/f", dir);
  assert_int_equal(dc_write_file_atomic(path, "hello", 5, 0600), DC_OK);
  struct stat st;
  assert_int_equal(stat(path, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0600);
  char *text = NULL;
  size_t len = 0;
  assert_int_equal(dc_read_file(path, 5, &text, &len), DC_OK);
  assert_int_equal(len, 5);
  assert_string_equal(text, "hello");
  dc_free(text);
  assert_int_equal(dc_read_file(path, 4, &text, &len), DC_ETOOBIG);
  assert_int_equal(dc_read_file(path, 0, &text, &len), DC_OK); /* no cap */
  dc_free(text);
  snprintf(path, sizeof path, "%s/none", dir);
  assert_int_equal(dc_read_file(path, 10, &text, &len), DC_ENOTFOUND);
  dc_test_rmrf(dir);
}

static void test_errors_and_alloc_failure(void **state) {
  (void)state;
  assert_string_equal(dc_err_name(DC_EBADSIG), "BADSIG");
  assert_string_equal(dc_strerror(DC_ENOMEM), "out of memory");
  assert_string_equal(dc_err_name(9999), "UNKNOWN");
  struct dc_errmsg e;
  dc_errmsg_set(&e, "disk %s", "full");
  dc_errmsg_wrap(&e, "apply");
  assert_string_equal(e.text, "apply: disk full");
  dc_alloc_fail_after(1);
  assert_null(dc_malloc(10));
  struct dc_buf b = {0};
  assert_int_equal(dc_buf_put_u8(&b, 1), DC_ENOMEM);
  dc_alloc_fail_after(0);
  void *p = dc_malloc(10);
  assert_non_null(p);
  dc_free(p);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_buf_roundtrip_and_cap),
      cmocka_unit_test(test_reader_sticky_truncation),
      cmocka_unit_test(test_hex),
      cmocka_unit_test(test_files),
      cmocka_unit_test(test_errors_and_alloc_failure),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
