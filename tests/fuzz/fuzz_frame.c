/* SPDX-License-Identifier: Apache-2.0
 * Fuzzes the wire decoders with arbitrary bytes: the framer (checking that
 * one-shot and chunked decoding agree), the frame parser, and the handshake
 * message parsers of a server and of a client session. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/net.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct outcome {
  int err;
  size_t frames;
  uint64_t digest; /* FNV-1a over every record (length, then bytes) */
};

static void mix(uint64_t *h, const uint8_t *p, size_t n) {
  for (size_t i = 0; i < n; i++) *h = (*h ^ p[i]) * 1099511628211ull;
}

/* Decodes with chunk sizes from a small generator seeded by `seed`; seed 0
 * means the whole input in one call. */
static void decode(const uint8_t *p, size_t n, uint32_t seed,
                   struct outcome *o) {
  struct dc_framer f;
  dc_framer_init(&f, DC_FRAME_BODY_MAX);
  memset(o, 0, sizeof *o);
  o->digest = 14695981039346656037ull;
  uint32_t x = seed;
  while (n && !o->err) {
    size_t chunk = n;
    if (seed) {
      x = x * 1664525u + 1013904223u;
      chunk = DC_MIN(n, (size_t)(x >> 24) % 37 + 1);
    }
    const uint8_t *q = p;
    size_t m = chunk;
    while (m && !o->err) {
      size_t used, blen;
      const uint8_t *body;
      o->err = dc_framer_next(&f, q, m, &used, &body, &blen);
      if (used > m) abort();
      q += used;
      m -= used;
      if (!body) continue;
      struct dc_frame fr;
      if (dc_frame_parse(body, blen, &fr) != 0) abort(); /* framer checked */
      if (fr.payload + fr.len != body + blen) abort();
      uint8_t len[4] = {(uint8_t)(blen >> 24), (uint8_t)(blen >> 16),
                        (uint8_t)(blen >> 8), (uint8_t)blen};
      mix(&o->digest, len, 4);
      mix(&o->digest, body, blen);
      o->frames++;
    }
    p += chunk;
    n -= chunk;
  }
  dc_framer_close(&f);
}

/* Feeds the records of the input to a session, as a transport would. */
static void feed_session(struct dc_session *s, const uint8_t *p, size_t n) {
  struct dc_framer f;
  struct dc_buf out = {.max = 1u << 16};
  dc_framer_init(&f, dc_session_record_max(s));
  int rc = DC_OK;
  while (n && !rc) {
    size_t used, blen;
    const uint8_t *body;
    rc = dc_framer_next(&f, p, n, &used, &body, &blen);
    p += used;
    n -= used;
    if (rc || !body) break;
    struct dc_frame fr;
    bool have;
    rc = dc_session_recv(s, body, blen, &out, &fr, &have);
    if (rc && !dc_session_reason(s)[0]) abort(); /* every failure says why */
    dc_framer_set_max(&f, dc_session_record_max(s));
  }
  dc_framer_close(&f);
  dc_buf_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static struct dc_identity id;
  static bool ready;
  if (!ready) {
    if (dc_crypto_init() || dc_identity_generate(&id)) abort();
    dc_log_min_level = DC_LOG_ERROR;
    ready = true;
  }

  struct outcome whole, chunked;
  decode(data, size, 0, &whole);
  decode(data, size, (uint32_t)size * 2654435761u + 1, &chunked);
  if (whole.err != chunked.err || whole.frames != chunked.frames ||
      whole.digest != chunked.digest) {
    fprintf(stderr, "framer: chunking changed the result\n");
    abort();
  }

  struct dc_session s;
  if (dc_session_init(&s, DC_SESSION_SERVER, &id, NULL, NULL, NULL) == 0) {
    feed_session(&s, data, size);
    dc_session_close(&s);
  }
  if (dc_session_init(&s, DC_SESSION_CLIENT, &id, NULL, NULL, NULL) == 0) {
    struct dc_buf hello = {0};
    if (dc_session_start(&s, &hello) == 0) feed_session(&s, data, size);
    dc_buf_free(&hello);
    dc_session_close(&s);
  }
  return 0;
}
