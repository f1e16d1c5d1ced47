/* SPDX-License-Identifier: Apache-2.0
 * Fuzzes the checks a backup passes before a restore (`master --restore
 * FILE` reads a file it did not write): any bytes must be refused cleanly or
 * accepted as a state with applied entries and a known schema, and an
 * accepted image must restore into a fresh state with the same hash. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fsm/fsm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct dc_fsm_image_info info;
  struct dc_errmsg err = {{0}};
  if (dc_fsm_image_check(data, size, &info, &err) != DC_OK) {
    if (!err.text[0]) abort(); /* a refusal always says why */
    return 0;
  }
  if (info.applied_index == 0 || info.schema_version == 0 ||
      info.schema_version > DC_FSM_SCHEMA_VERSION)
    abort();
  char path[] = "/tmp/fuzz-image-XXXXXX";
  int fd = mkstemp(path);
  if (fd < 0) return 0;
  close(fd);
  unlink(path);
  struct dc_fsm *f;
  if (dc_fsm_open(path, false, &f, &err) == DC_OK) {
    uint8_t h[DC_FSM_HASH_BYTES];
    /* What the checks accept, a restore must take (whatever its page
     * size), with the state it was checked to hold. */
    if (dc_fsm_restore(f, data, size, &err) != DC_OK ||
        dc_fsm_state_hash(dc_fsm_db(f), h) != DC_OK ||
        memcmp(h, info.hash, sizeof h) != 0 ||
        dc_fsm_applied_index(f) != info.applied_index)
      abort();
    dc_fsm_close(f);
  }
  unlink(path);
  char side[sizeof path + 8];
  snprintf(side, sizeof side, "%s-wal", path);
  unlink(side);
  snprintf(side, sizeof side, "%s-shm", path);
  unlink(side);
  return 0;
}
