/* SPDX-License-Identifier: Apache-2.0
 * Cluster membership of the `raft` back end: add (then promote), change a
 * role, remove, hand leadership over, list. Each is a configuration entry
 * replicated like any other; c-raft allows one change in flight. */
#include <string.h>

#include "log/raft_int.h"

extern const struct dc_log_ops rl_ops;

static struct rlog *as_raft(struct dc_log *l) {
  return l && l->ops == &rl_ops ? (struct rlog *)l : NULL;
}

struct change {
  struct raft_change req;
  struct rlog *rl;
  uint64_t id;
  int role;                     /* after an add: the role to assign, or -1 */
  dc_log_change_cb cb;
  void *ud;
};

static void finish(struct change *c, int status) {
  const char *msg = status ? raft_errmsg(&c->rl->raft) : "";
  if (status && (!msg || !*msg)) msg = raft_strerror(status);
  if (c->cb) c->cb(c->ud, rl_err(status), msg);
  dc_free(c);
}

static void assigned_cb(struct raft_change *req, int status) {
  finish(req->data, status);
}

static void added_cb(struct raft_change *req, int status) {
  struct change *c = req->data;
  if (status || c->role == DC_LOG_SPARE || c->rl->closing) {
    finish(c, status);
    return;
  }
  /* Promotion to voter first lets the newcomer catch up as a non-voter, so
   * adding a server never stalls commits while it copies the log. */
  int rv = raft_assign(&c->rl->raft, &c->req, c->id, c->role, assigned_cb);
  if (rv) finish(c, rv);
}

static int start_change(struct dc_log *l, uint64_t id, int role,
                        dc_log_change_cb cb, void *ud, struct change **out) {
  struct rlog *rl = as_raft(l);
  if (!rl) return DC_EUNSUPPORTED;
  if (rl->closing || raft_state(&rl->raft) != RAFT_LEADER) return DC_ENOTLEADER;
  if (!id || role < DC_LOG_STANDBY || role > DC_LOG_SPARE) return DC_EINVAL;
  struct change *c = dc_calloc(1, sizeof *c);
  if (!c) return DC_ENOMEM;
  *c = (struct change){.rl = rl, .id = id, .role = role, .cb = cb, .ud = ud};
  c->req.data = c;
  *out = c;
  return DC_OK;
}

int dc_log_raft_add(struct dc_log *l, uint64_t id, const char *address,
                    int role, dc_log_change_cb cb, void *ud) {
  struct change *c;
  if (!address || !*address) return DC_EINVAL;
  int rc = start_change(l, id, role, cb, ud, &c);
  if (rc) return rc;
  int rv = raft_add(&c->rl->raft, &c->req, id, address, added_cb);
  if (rv) {
    dc_free(c);
    return rl_err(rv);
  }
  return DC_OK;
}

int dc_log_raft_assign(struct dc_log *l, uint64_t id, int role,
                       dc_log_change_cb cb, void *ud) {
  struct change *c;
  int rc = start_change(l, id, role, cb, ud, &c);
  if (rc) return rc;
  int rv = raft_assign(&c->rl->raft, &c->req, id, role, assigned_cb);
  if (rv) {
    dc_free(c);
    return rl_err(rv);
  }
  return DC_OK;
}

int dc_log_raft_remove(struct dc_log *l, uint64_t id, dc_log_change_cb cb,
                       void *ud) {
  struct change *c;
  int rc = start_change(l, id, DC_LOG_VOTER, cb, ud, &c);
  if (rc) return rc;
  int rv = raft_remove(&c->rl->raft, &c->req, id, assigned_cb);
  if (rv) {
    dc_free(c);
    return rl_err(rv);
  }
  return DC_OK;
}

struct transfer {
  struct raft_transfer req;
  void (*cb)(void *ud);
  void *ud;
};

static void transfer_cb(struct raft_transfer *req) {
  struct transfer *t = req->data;
  if (t->cb) t->cb(t->ud);
  dc_free(t);
}

int dc_log_raft_transfer(struct dc_log *l, uint64_t id, void (*cb)(void *),
                         void *ud) {
  struct rlog *rl = as_raft(l);
  if (!rl) return DC_EUNSUPPORTED;
  if (rl->closing || raft_state(&rl->raft) != RAFT_LEADER) return DC_ENOTLEADER;
  struct transfer *t = dc_calloc(1, sizeof *t);
  if (!t) return DC_ENOMEM;
  t->cb = cb;
  t->ud = ud;
  t->req.data = t;
  int rv = raft_transfer(&rl->raft, &t->req, id, transfer_cb);
  if (rv) {
    dc_free(t);
    return rv == RAFT_NOTFOUND ? DC_ENOTFOUND : rl_err(rv);
  }
  return DC_OK;
}

int dc_log_raft_servers(const struct dc_log *l, struct dc_log_server *out,
                        size_t max, size_t *n) {
  struct rlog *rl = as_raft((struct dc_log *)l);
  if (!rl) return DC_EUNSUPPORTED;
  const struct raft_configuration *conf = &rl->raft.configuration;
  *n = conf->n;
  for (size_t i = 0; i < conf->n && i < max; i++) {
    out[i].id = conf->servers[i].id;
    snprintf(out[i].address, sizeof out[i].address, "%s",
             conf->servers[i].address);
    out[i].role = conf->servers[i].role;
  }
  return DC_OK;
}

uint64_t dc_log_raft_id(const struct dc_log *l) {
  struct rlog *rl = as_raft((struct dc_log *)l);
  return rl ? rl->raft.id : 0;
}

void dc_log_raft_stats(const struct dc_log *l, struct dc_log_raft_stats *out) {
  struct rlog *rl = as_raft((struct dc_log *)l);
  memset(out, 0, sizeof *out);
  if (!rl) return;
  *out = rl->stats;
  out->term = rl->raft.current_term;
  out->commit_index = rl->raft.commit_index;
  out->last_index = raft_last_index(&rl->raft);
}
