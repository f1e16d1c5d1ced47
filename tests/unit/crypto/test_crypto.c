/* SPDX-License-Identifier: Apache-2.0
 * crypto: key files, signatures, request signing. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "crypto/crypto.h"
#include "tests/lib/testlib.h"

static void test_identity_file(void **state) {
  (void)state;
  char dir[256], path[300];
  dc_test_tmpdir(dir, sizeof dir);
  snprintf(path, sizeof path, "%s/key", dir);
  struct dc_identity a = {0}, b = {0};
  bool created = false;
  assert_int_equal(dc_identity_load_or_create(path, &a, &created), DC_OK);
  assert_true(created);
  struct stat st;
  assert_int_equal(stat(path, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0600);
  assert_int_equal(dc_identity_load_or_create(path, &b, &created), DC_OK);
  assert_false(created);
  assert_memory_equal(a.pk, b.pk, DC_PK_BYTES); /* same key back */
  dc_identity_close(&b);
  /* A key others can read is refused, not used. */
  chmod(path, 0644);
  assert_int_equal(dc_identity_load_or_create(path, &b, NULL), DC_EFORBIDDEN);
  /* A damaged key file is an error, never silently replaced. */
  chmod(path, 0600);
  FILE *f = fopen(path, "w");
  fputs("garbage\n", f);
  fclose(f);
  assert_int_equal(dc_identity_load_or_create(path, &b, NULL), DC_EPROTO);
  dc_identity_close(&a);
  dc_test_rmrf(dir);
}

static void test_sign_verify(void **state) {
  (void)state;
  struct dc_identity id;
  assert_int_equal(dc_identity_generate(&id), DC_OK);
  uint8_t sig[DC_SIG_BYTES];
  assert_int_equal(dc_sign(&id, "msg", 3, sig), DC_OK);
  assert_int_equal(dc_verify(id.pk, "msg", 3, sig), DC_OK);
  assert_int_equal(dc_verify(id.pk, "msh", 3, sig), DC_EBADSIG);
  sig[0] ^= 1;
  assert_int_equal(dc_verify(id.pk, "msg", 3, sig), DC_EBADSIG);
  dc_identity_close(&id);
}

static void test_reqsig(void **state) {
  (void)state;
  struct dc_identity id;
  assert_int_equal(dc_identity_generate(&id), DC_OK);
  char key[DC_PK_HEX_LEN + 1], sig[2 * DC_SIG_BYTES + 1];
  dc_identity_hex(&id, key);
  const char *body = "{\"a\":1}";
  assert_int_equal(dc_reqsig_sign(&id, "POST", "/v1/jobs", body, strlen(body), 42, "nonce-0123456789", sig), DC_OK);
  assert_int_equal(dc_reqsig_verify(key, sig, "POST", "/v1/jobs", body, strlen(body), 42, "nonce-0123456789"), DC_OK);
  /* Every signed part matters. */
  assert_int_equal(dc_reqsig_verify(key, sig, "DELETE", "/v1/jobs", body, strlen(body), 42, "nonce-0123456789"), DC_EBADSIG);
  assert_int_equal(dc_reqsig_verify(key, sig, "POST", "/v1/jobz", body, strlen(body), 42, "nonce-0123456789"), DC_EBADSIG);
  assert_int_equal(dc_reqsig_verify(key, sig, "POST", "/v1/jobs", "{}", 2, 42, "nonce-0123456789"), DC_EBADSIG);
  assert_int_equal(dc_reqsig_verify(key, sig, "POST", "/v1/jobs", body, strlen(body), 43, "nonce-0123456789"), DC_EBADSIG);
  assert_int_equal(dc_reqsig_verify(key, sig, "POST", "/v1/jobs", body, strlen(body), 42, "nonce-0123456788"), DC_EBADSIG);
  assert_int_equal(dc_reqsig_verify("zz", sig, "POST", "/v1/jobs", body, strlen(body), 42, "n"), DC_EINVAL);
  dc_identity_close(&id);
}

int main(void) {
  assert_int_equal(dc_crypto_init(), DC_OK);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_identity_file),
      cmocka_unit_test(test_sign_verify),
      cmocka_unit_test(test_reqsig),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
