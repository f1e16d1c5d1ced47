/* SPDX-License-Identifier: Apache-2.0
 * Blocks: leaves that commit to each command and its outcome, the Merkle
 * root over them (leaf and inner hashes domain-separated so a leaf can
 * never pose as an inner node), and the header hash that chains blocks. */
#include <sodium.h>

#include "ledger/ledger_int.h"

void dc_block_leaf(uint64_t index, int32_t code, const uint8_t *cmd, size_t n,
                   uint8_t out[DC_HASH_BYTES]) {
  crypto_generichash_state st;
  uint8_t hdr[13];
  hdr[0] = 0x00;
  for (int i = 0; i < 8; i++) hdr[1 + i] = (uint8_t)(index >> (56 - 8 * i));
  for (int i = 0; i < 4; i++)
    hdr[9 + i] = (uint8_t)((uint32_t)code >> (24 - 8 * i));
  crypto_generichash_init(&st, NULL, 0, DC_HASH_BYTES);
  crypto_generichash_update(&st, hdr, sizeof hdr);
  crypto_generichash_update(&st, cmd, n);
  crypto_generichash_final(&st, out, DC_HASH_BYTES);
}

void dc_merkle_root(uint8_t (*leaves)[DC_HASH_BYTES], size_t n,
                    uint8_t out[DC_HASH_BYTES]) {
  if (n == 0) {
    memset(out, 0, DC_HASH_BYTES);
    return;
  }
  while (n > 1) {
    size_t m = 0;
    for (size_t i = 0; i < n; i += 2, m++) {
      if (i + 1 == n) {
        memmove(leaves[m], leaves[i], DC_HASH_BYTES);
        continue;
      }
      uint8_t in[1 + 2 * DC_HASH_BYTES];
      in[0] = 0x01;
      memcpy(in + 1, leaves[i], DC_HASH_BYTES);
      memcpy(in + 1 + DC_HASH_BYTES, leaves[i + 1], DC_HASH_BYTES);
      crypto_generichash(leaves[m], DC_HASH_BYTES, in, sizeof in, NULL, 0);
    }
    n = m;
  }
  memcpy(out, leaves[0], DC_HASH_BYTES);
}

void dc_block_hash(const struct dc_block_header *h,
                   uint8_t out[DC_HASH_BYTES]) {
  uint8_t mem[256];
  struct dc_buf b = LEDGER_STACK_BUF(mem);
  struct lw w;
  lw_init(&w, &b);
  lw_raw(&w, DC_BLOCK_TAG, sizeof DC_BLOCK_TAG - 1);
  lw_u64(&w, h->height);
  lw_raw(&w, h->prev, DC_HASH_BYTES);
  lw_raw(&w, h->root, DC_HASH_BYTES);
  lw_u64(&w, h->first_index);
  lw_u64(&w, h->last_index);
  lw_u32(&w, h->ncmds);
  lw_raw(&w, h->proposer, DC_PK_BYTES);
  lw_u64(&w, (uint64_t)h->time_ms);
  DC_ASSERT(lw_done(&w) == DC_OK); /* fixed size, well under the buffer */
  dc_hash(b.data, b.len, out);
}
