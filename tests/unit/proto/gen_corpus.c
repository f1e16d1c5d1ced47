/* SPDX-License-Identifier: Apache-2.0
 * Writes the seed corpora of fuzz_cmd and fuzz_msg: a valid encoding of every
 * type at each fixture size that fits a seed, plus broken variants (bad
 * magic, version, type, truncation, trailing byte, bad values).
 * Usage: proto_gen_corpus <corpus-dir>   (writes <dir>/fuzz_cmd, <dir>/fuzz_msg) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixtures.h"

#define SEED_MAX (16 * 1024) /* keep the checked-in corpus small */

static const char *const mode_names[FX_NMODES] = {"empty", "small", "max"};
static const char *root;

static void put(const char *sub, const char *name, const uint8_t *p,
                size_t n) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s/%s.bin", root, sub, name);
  FILE *f = fopen(path, "wb");
  if (!f || fwrite(p, 1, n, f) != n || fclose(f) != 0) {
    perror(path);
    exit(1);
  }
}

static void cmd_seeds(void) {
  char name[128];
  struct dc_buf b = {0};
  for (size_t t = 0; t < fx_ncmd_types; t++) {
    for (int mode = 0; mode < FX_NMODES; mode++) {
      struct dc_cmd c;
      fx_cmd(fx_cmd_types[t], (enum fx_mode)mode, &c);
      dc_buf_reset(&b);
      if (dc_cmd_encode(&c, &b)) abort();
      dc_cmd_free(&c);
      if (b.len > SEED_MAX) continue;
      snprintf(name, sizeof name, "%s-%s", dc_cmd_type_name(fx_cmd_types[t]),
               mode_names[mode]);
      put("fuzz_cmd", name, b.data, b.len);
      if (mode != FX_SMALL) continue;
      snprintf(name, sizeof name, "bad-%s-truncated",
               dc_cmd_type_name(fx_cmd_types[t]));
      put("fuzz_cmd", name, b.data, b.len / 2);
      snprintf(name, sizeof name, "bad-%s-trailing",
               dc_cmd_type_name(fx_cmd_types[t]));
      dc_buf_put_u8(&b, 0);
      put("fuzz_cmd", name, b.data, b.len);
    }
  }
  /* Header faults on a small NODE_DEAD. */
  struct dc_cmd c;
  fx_cmd(DC_CMD_NODE_DEAD, FX_SMALL, &c);
  dc_buf_reset(&b);
  if (dc_cmd_encode(&c, &b)) abort();
  dc_cmd_free(&c);
  b.data[1] ^= 1;
  put("fuzz_cmd", "bad-magic", b.data, b.len);
  b.data[1] ^= 1;
  b.data[2] = DC_CMD_CODEC_VERSION + 1;
  put("fuzz_cmd", "bad-version", b.data, b.len);
  b.data[2] = DC_CMD_CODEC_VERSION;
  b.data[4] = 9;
  put("fuzz_cmd", "bad-type", b.data, b.len);
  put("fuzz_cmd", "bad-empty", b.data, 0);
  /* TASK_ASSIGN with zero items. */
  fx_cmd(DC_CMD_TASK_ASSIGN, FX_EMPTY, &c);
  dc_buf_reset(&b);
  if (dc_cmd_encode(&c, &b)) abort();
  dc_cmd_free(&c);
  memset(b.data + DC_CMD_HEADER_BYTES, 0, 4);
  put("fuzz_cmd", "bad-assign-zero", b.data, DC_CMD_HEADER_BYTES + 4);
  dc_buf_free(&b);
}

static void msg_seeds(void) {
  char name[128];
  struct dc_buf b = {0};
  for (size_t t = 0; t < fx_nmsg_types; t++) {
    uint8_t type = fx_msg_types[t];
    for (int mode = 0; mode < FX_NMODES; mode++) {
      struct dc_msg m;
      fx_msg(type, (enum fx_mode)mode, &m);
      dc_buf_reset(&b);
      if (dc_buf_put_u8(&b, type) || dc_msg_encode(&m, &b)) abort();
      dc_msg_free(&m);
      if (b.len > SEED_MAX) continue;
      snprintf(name, sizeof name, "%s-%s", dc_msg_type_name(type),
               mode_names[mode]);
      put("fuzz_msg", name, b.data, b.len);
      if (mode != FX_SMALL) continue;
      snprintf(name, sizeof name, "bad-%s-truncated", dc_msg_type_name(type));
      put("fuzz_msg", name, b.data, 1 + (b.len - 1) / 2);
      snprintf(name, sizeof name, "bad-%s-trailing", dc_msg_type_name(type));
      dc_buf_put_u8(&b, 0);
      put("fuzz_msg", name, b.data, b.len);
      /* The same payload under a neighbouring type. */
      snprintf(name, sizeof name, "bad-%s-as-next", dc_msg_type_name(type));
      b.data[0] = (uint8_t)(type == DC_MSG_KILL_TASK ? 41 : type + 1);
      put("fuzz_msg", name, b.data, b.len - 1);
    }
  }
  dc_buf_free(&b);
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s <corpus-dir>\n", argv[0]);
    return 2;
  }
  root = argv[1];
  cmd_seeds();
  msg_seeds();
  return 0;
}
