/* SPDX-License-Identifier: Apache-2.0
 * Frames and the streaming decoder: round trips, every chunking of a
 * stream, limits and sticky failure. */
#include <string.h>

#include "net_test.h"

#define MAX_OUT 64

struct decoded {
  int n;
  uint8_t type[MAX_OUT], version[MAX_OUT];
  size_t len[MAX_OUT];
  uint32_t sum[MAX_OUT]; /* cheap content fingerprint */
  int err;
};

static uint32_t fingerprint(const uint8_t *p, size_t n) {
  uint32_t h = 2166136261u;
  for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 16777619u;
  return h;
}

/* Feeds `stream` to a fresh framer in chunks of the given sizes (cycled). */
static void decode(const uint8_t *p, size_t n, const size_t *chunks,
                   size_t nchunks, uint32_t max, struct decoded *d) {
  memset(d, 0, sizeof *d);
  struct dc_framer f;
  dc_framer_init(&f, max);
  size_t ci = 0;
  while (n && !d->err) {
    size_t c = DC_MIN(chunks[ci++ % nchunks], n);
    const uint8_t *q = p;
    size_t m = c;
    while (m && !d->err) {
      size_t used, blen;
      const uint8_t *body;
      d->err = dc_framer_next(&f, q, m, &used, &body, &blen);
      assert_true(used <= m);
      q += used;
      m -= used;
      if (!body) continue;
      struct dc_frame fr;
      assert_int_equal(dc_frame_parse(body, blen, &fr), 0);
      assert_true(d->n < MAX_OUT);
      d->type[d->n] = fr.type;
      d->version[d->n] = fr.version;
      d->len[d->n] = fr.len;
      d->sum[d->n] = fingerprint(fr.payload, fr.len);
      d->n++;
    }
    p += c;
    n -= c;
  }
  dc_framer_close(&f);
}

static void sample_stream(struct dc_buf *b, const size_t *sizes, int n) {
  for (int i = 0; i < n; i++) {
    uint8_t *pl = dc_malloc(sizes[i] + 1);
    for (size_t j = 0; j < sizes[i]; j++) pl[j] = (uint8_t)(j * 31 + i);
    assert_int_equal(dc_frame_encode(b, (uint8_t)(16 + i), (uint8_t)i, pl,
                                     sizes[i]),
                     0);
    dc_free(pl);
  }
}

static void assert_same(const struct decoded *a, const struct decoded *b) {
  assert_int_equal(a->err, b->err);
  assert_int_equal(a->n, b->n);
  for (int i = 0; i < a->n; i++) {
    assert_int_equal(a->type[i], b->type[i]);
    assert_int_equal(a->version[i], b->version[i]);
    assert_int_equal(a->len[i], b->len[i]);
    assert_int_equal(a->sum[i], b->sum[i]);
  }
}

static void test_frame_roundtrip(void **state) {
  (void)state;
  size_t sizes[] = {0, 1, 2, 3, 100, 4096, 70000, DC_FRAME_MAX};
  struct dc_buf b = {0};
  sample_stream(&b, sizes, (int)DC_ARRAY_LEN(sizes));
  size_t whole = b.len;
  struct decoded d;
  decode(b.data, b.len, &whole, 1, DC_FRAME_BODY_MAX, &d);
  assert_int_equal(d.err, 0);
  assert_int_equal(d.n, (int)DC_ARRAY_LEN(sizes));
  for (int i = 0; i < d.n; i++) {
    assert_int_equal(d.type[i], 16 + i);
    assert_int_equal(d.version[i], i);
    assert_int_equal(d.len[i], sizes[i]);
  }
  /* One byte at a time, and odd chunk sizes, give the same frames. */
  struct decoded e;
  size_t one = 1, odd[] = {3, 4093, 7, 65536, 1};
  decode(b.data, b.len, &one, 1, DC_FRAME_BODY_MAX, &e);
  assert_same(&d, &e);
  decode(b.data, b.len, odd, DC_ARRAY_LEN(odd), DC_FRAME_BODY_MAX, &e);
  assert_same(&d, &e);
  dc_buf_free(&b);
}

static void test_framer_split_every_boundary(void **state) {
  (void)state;
  size_t sizes[] = {0, 1, 5, 17, 250, 0, 600};
  struct dc_buf b = {0};
  sample_stream(&b, sizes, (int)DC_ARRAY_LEN(sizes));
  struct decoded ref, d;
  size_t whole = b.len;
  decode(b.data, b.len, &whole, 1, DC_FRAME_BODY_MAX, &ref);
  assert_int_equal(ref.n, (int)DC_ARRAY_LEN(sizes));
  for (size_t cut = 1; cut < b.len; cut++) {
    size_t chunks[] = {cut, b.len};
    decode(b.data, b.len, chunks, 2, DC_FRAME_BODY_MAX, &d);
    assert_same(&ref, &d);
  }
  dc_buf_free(&b);
}

static void test_framer_rejects_oversized(void **state) {
  (void)state;
  uint32_t lens[] = {DC_FRAME_BODY_MAX + 1, 0x7fffffffu, 0xffffffffu};
  for (size_t i = 0; i < DC_ARRAY_LEN(lens); i++) {
    uint8_t hdr[4] = {(uint8_t)(lens[i] >> 24), (uint8_t)(lens[i] >> 16),
                      (uint8_t)(lens[i] >> 8), (uint8_t)lens[i]};
    struct dc_framer f;
    dc_framer_init(&f, DC_FRAME_BODY_MAX);
    size_t used, blen;
    const uint8_t *body;
    /* Header split in two: the check fires when it completes. */
    assert_int_equal(dc_framer_next(&f, hdr, 2, &used, &body, &blen), 0);
    assert_int_equal(dc_framer_next(&f, hdr + 2, 2, &used, &body, &blen),
                     DC_ETOOBIG);
    assert_int_equal(f.bad_len, lens[i]);
    /* Sticky: even a valid frame is refused now. */
    struct dc_buf ok = {0};
    dc_frame_encode(&ok, 16, 1, "x", 1);
    assert_int_equal(dc_framer_next(&f, ok.data, ok.len, &used, &body, &blen),
                     DC_ETOOBIG);
    assert_null(body);
    dc_buf_free(&ok);
    dc_framer_close(&f);
  }
  /* The limit itself is accepted; a lower limit is enforced. */
  struct dc_framer f;
  dc_framer_init(&f, 10);
  uint8_t at[4 + 10] = {0, 0, 0, 10};
  size_t used, blen;
  const uint8_t *body;
  assert_int_equal(dc_framer_next(&f, at, sizeof at, &used, &body, &blen), 0);
  assert_int_equal(blen, 10);
  uint8_t over[4] = {0, 0, 0, 11};
  assert_int_equal(dc_framer_next(&f, over, 4, &used, &body, &blen),
                   DC_ETOOBIG);
  dc_framer_close(&f);
}

static void test_framer_rejects_undersized(void **state) {
  (void)state;
  for (uint8_t len = 0; len < DC_FRAME_BODY_MIN; len++) {
    uint8_t bytes[8] = {0, 0, 0, len, 16, 1, 0, 0};
    struct dc_framer f;
    dc_framer_init(&f, DC_FRAME_BODY_MAX);
    size_t used, blen;
    const uint8_t *body;
    assert_int_equal(dc_framer_next(&f, bytes, sizeof bytes, &used, &body,
                                    &blen),
                     DC_EPROTO);
    assert_int_equal(dc_framer_next(&f, bytes, sizeof bytes, &used, &body,
                                    &blen),
                     DC_EPROTO);
    dc_framer_close(&f);
  }
}

static void test_frame_encode_limits(void **state) {
  (void)state;
  struct dc_buf b = {0};
  assert_int_equal(dc_frame_encode(&b, 16, 1, NULL, DC_FRAME_MAX + 1),
                   DC_ETOOBIG);
  assert_int_equal(b.len, 0);
  struct dc_buf capped = {.max = 5};
  assert_int_equal(dc_frame_encode(&capped, 16, 1, "abcd", 4), DC_ETOOBIG);
  assert_int_equal(capped.len, 0);
  struct dc_frame fr;
  assert_int_equal(dc_frame_parse((const uint8_t *)"x", 1, &fr), DC_EPROTO);
  assert_int_equal(dc_frame_parse((const uint8_t *)"ab", 2, &fr), 0);
  assert_int_equal(fr.len, 0);
  dc_buf_free(&b);
  dc_buf_free(&capped);
}

/* Zero-copy path: a whole record in the chunk points into the chunk; a
 * spanning record is copied. Either way the decoder never reads past n. */
static void test_framer_zero_copy(void **state) {
  (void)state;
  struct dc_buf b = {0};
  dc_frame_encode(&b, 20, 2, "hello", 5);
  struct dc_framer f;
  dc_framer_init(&f, DC_FRAME_BODY_MAX);
  size_t used, blen;
  const uint8_t *body;
  assert_int_equal(dc_framer_next(&f, b.data, b.len, &used, &body, &blen), 0);
  assert_ptr_equal(body, b.data + 4);
  assert_int_equal(used, b.len);
  assert_int_equal(dc_framer_next(&f, b.data, 5, &used, &body, &blen), 0);
  assert_null(body);
  assert_int_equal(dc_framer_next(&f, b.data + 5, b.len - 5, &used, &body,
                                  &blen),
                   0);
  assert_non_null(body);
  assert_memory_equal(body, "\x14\x02hello", 7);
  dc_framer_close(&f);
  dc_buf_free(&b);
}

int net_test_frame(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_frame_roundtrip),
      cmocka_unit_test(test_framer_split_every_boundary),
      cmocka_unit_test(test_framer_rejects_oversized),
      cmocka_unit_test(test_framer_rejects_undersized),
      cmocka_unit_test(test_frame_encode_limits),
      cmocka_unit_test(test_framer_zero_copy),
  };
  return cmocka_run_group_tests_name("frame", tests, NULL, NULL);
}
