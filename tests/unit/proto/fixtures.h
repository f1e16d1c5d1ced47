/* SPDX-License-Identifier: Apache-2.0
 * Test fixtures for proto: a command or message of every type at three sizes
 * (empty, small, every field at its limit), deep equality, and byte-patching
 * helpers. Shared by the unit tests and the fuzz-corpus generator. */
#ifndef DC_TEST_PROTO_FIXTURES_H
#define DC_TEST_PROTO_FIXTURES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/proto.h"

enum fx_mode {
  FX_EMPTY, /* zero numbers, empty strings and lists where allowed */
  FX_SMALL, /* every field set, every list non-empty, a few hundred bytes */
  FX_MAX,   /* every field and list at its limit, extreme numbers */
};
#define FX_NMODES 3

extern const uint16_t fx_cmd_types[];
extern const size_t fx_ncmd_types;
extern const uint8_t fx_msg_types[];
extern const size_t fx_nmsg_types;

/* Fully dc_malloc'd values: release with dc_cmd_free / dc_msg_free. */
void fx_cmd(uint16_t type, enum fx_mode mode, struct dc_cmd *c);
void fx_msg(uint8_t type, enum fx_mode mode, struct dc_msg *m);
/* A dc_malloc'd string of exactly len copies of fill. */
char *fx_str(size_t len, char fill);

/* Field-by-field equality; NULL strings equal "". */
bool fx_cmd_eq(const struct dc_cmd *a, const struct dc_cmd *b);
bool fx_msg_eq(const struct dc_msg *a, const struct dc_msg *b);

/* Offset of the first u32 big-endian value v followed by two bytes c c, or
 * SIZE_MAX: locates the length prefix of a field filled with c. */
size_t fx_find_len(const uint8_t *p, size_t n, uint32_t v, char c);
/* out = p with the length-prefixed field at off grown by one byte c. */
void fx_grow_field(const uint8_t *p, size_t n, size_t off, char c,
                   struct dc_buf *out);
void fx_put_be32(uint8_t *p, uint32_t v);

/* The second cmocka group of test_proto (test_limits.c). */
int test_proto_limits_run(void);

#endif
