/* SPDX-License-Identifier: Apache-2.0
 * Turning a command struct into a log proposal, and routing its result
 * back to the part of the master that asked. */
#include "master/master_int.h"

struct proposal {
  struct dc_master *m;
  master_cmd_cb cb;
  void *ud;
};

static void on_result(void *ud, const struct dc_fsm_result *r) {
  struct proposal *p = ud;
  if (p->cb) p->cb(p->m, r, p->ud);
  dc_free(p);
}

int master_propose(struct dc_master *m, struct dc_cmd *c, master_cmd_cb cb,
                   void *ud) {
  c->proposal_id = dc_log_next_proposal_id();
  c->ts_ms = dc_now_ms();
  struct dc_buf b = {.max = DC_LOG_ENTRY_MAX};
  int rc = dc_cmd_encode(c, &b);
  if (rc) {
    dc_buf_free(&b);
    return rc;
  }
  struct proposal *p = dc_malloc(sizeof *p);
  if (!p) {
    dc_buf_free(&b);
    return DC_ENOMEM;
  }
  *p = (struct proposal){m, cb, ud};
  rc = dc_log_propose(m->log, b.data, b.len, on_result, p);
  dc_buf_free(&b);
  if (rc) dc_free(p);
  return rc;
}
