/* SPDX-License-Identifier: Apache-2.0
 * The fsm tests' fixture: a fresh state database in a temporary folder, two
 * identities (a provider and a user), and a helper that encodes and
 * applies one command at the next log index. */
#ifndef DC_TEST_FSM_FIXTURE_H
#define DC_TEST_FSM_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "fsm/fsm.h"
#include "proto/proto.h"
#include "tests/lib/testlib.h"

struct fx {
  char dir[256];
  char path[300];
  struct dc_fsm *f;
  uint64_t next;
  struct dc_identity node, user;
};

int fx_setup(void **state);
int fx_teardown(void **state);
/* Encodes and applies one command at the next index. */
struct dc_fsm_result fx_apply(struct fx *x, struct dc_cmd *c);

/* The first column of the first row of a query on the state, or -1. */
int64_t fx_count(struct fx *x, const char *sql);
/* A second database (replica.db in the fixture's folder) fed x's whole log,
 * one entry at a time. Close it with dc_fsm_close. */
struct dc_fsm *fx_replay(struct fx *x);

#endif
