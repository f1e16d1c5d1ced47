/* SPDX-License-Identifier: Apache-2.0
 * Master routes: list the cluster, add a master (what `master --join` and
 * `master add` call), remove one. Adding and removing change the raft
 * configuration first (consensus decides who votes), then record how to
 * reach the master in the replicated registry. Both need a signed request
 * and the cluster token. */
#include <inttypes.h>
#include <sodium.h>
#include <stdlib.h>

#include "master/api_int.h"

static const char *role_name(int role) {
  return role == DC_LOG_VOTER ? "voter" : role == DC_LOG_STANDBY ? "standby" : "spare";
}

void api_masters_list(struct dc_master *m, struct dc_httpd_req *r) {
  json_t *arr = json_array();
  uint64_t lid = 0;
  const char *laddr = NULL;
  m->log->ops->leader(m->log, &lid, &laddr);
  struct dc_log_server sv[16];
  size_t n = 0;
  if (dc_log_raft_servers(m->log, sv, DC_ARRAY_LEN(sv), &n) != DC_OK) {
    /* local: this master alone */
    json_array_append_new(arr, json_pack("{s:I, s:s, s:s, s:s, s:b}", "id", (json_int_t)0,
                                         "role", "voter", "api_url", m->advertise_api,
                                         "session_addr", m->advertise_session,
                                         "leader", 1));
  }
  sqlite3_stmt *s = master_read_stmt(
      m, "SELECT api_url, session_addr FROM masters WHERE id = ?1");
  for (size_t i = 0; i < n && i < DC_ARRAY_LEN(sv); i++) {
    const char *api = "", *sess = "";
    char apib[256] = "", sessb[256] = "";
    if (s) {
      sqlite3_reset(s);
      sqlite3_bind_int64(s, 1, (sqlite3_int64)sv[i].id);
      if (sqlite3_step(s) == SQLITE_ROW) {
        snprintf(apib, sizeof apib, "%s", (const char *)sqlite3_column_text(s, 0));
        snprintf(sessb, sizeof sessb, "%s", (const char *)sqlite3_column_text(s, 1));
        api = apib;
        sess = sessb;
      }
      sqlite3_reset(s);
    }
    json_array_append_new(
        arr, json_pack("{s:I, s:s, s:s, s:s, s:s, s:b, s:b}", "id", (json_int_t)sv[i].id,
                       "role", role_name(sv[i].role), "raft_addr", sv[i].address,
                       "api_url", api, "session_addr", sess, "leader", sv[i].id == lid,
                       "self", sv[i].id == m->raft_id));
  }
  struct dc_log_raft_stats st;
  dc_log_raft_stats(m->log, &st);
  api_reply_json(r, 200,
                 json_pack("{s:o, s:s, s:I, s:I, s:I, s:I, s:I}", "masters", arr, "log",
                           m->log->ops->name, "self", (json_int_t)m->raft_id, "leader",
                           (json_int_t)lid, "applied_index",
                           (json_int_t)m->log->ops->applied_index(m->log), "term",
                           (json_int_t)st.term, "commit_index",
                           (json_int_t)st.commit_index));
}

bool api_cluster_token_matches(struct dc_master *m, struct dc_httpd_req *r) {
  const char *want = m->cfg.cluster_token;
  const char *got = dc_httpd_req_header(r, DC_HDR_CLUSTER_TOKEN);
  if (!want || !*want || !got) return false;
  /* Compared as hashes in constant time: neither length nor prefix leaks. */
  uint8_t a[32], b[32];
  crypto_generichash(a, sizeof a, (const uint8_t *)want, strlen(want), NULL, 0);
  crypto_generichash(b, sizeof b, (const uint8_t *)got, strlen(got), NULL, 0);
  return sodium_memcmp(a, b, sizeof a) == 0;
}

/* A cluster without a token refuses every membership change over the API. */
static bool token_ok(struct dc_master *m, struct dc_httpd_req *r) {
  const char *want = m->cfg.cluster_token;
  if (!want || !*want) {
    dc_httpd_respond_error(r, 403, "FORBIDDEN",
                           "this cluster has no join token: start its masters "
                           "with --cluster-token to allow adding and removing");
    return false;
  }
  if (!api_cluster_token_matches(m, r)) {
    dc_httpd_respond_error(r, 403, "FORBIDDEN", "missing or wrong %s",
                           DC_HDR_CLUSTER_TOKEN);
    return false;
  }
  return true;
}

struct change_ctx {
  struct dc_master *m;
  struct dc_httpd_req *r;
  uint64_t replaces;   /* an old id at the same raft address, removed first */
  int want;            /* role to add with after that */
  struct dc_cmd cmd;   /* MASTER_SET or MASTER_REMOVE to propose after */
  char raft_addr[DC_MASTER_ADDR_MAX + 1], api_url[DC_MASTER_ADDR_MAX + 1],
      session_addr[DC_MASTER_ADDR_MAX + 1];
};

static void on_recorded(struct dc_master *m, const struct dc_fsm_result *res,
                        void *ud) {
  (void)m;
  struct change_ctx *c = ud;
  bool gone_already = c->cmd.type == DC_CMD_MASTER_REMOVE && res->code == DC_ENOTFOUND;
  if (res->code != DC_OK && !gone_already)
    dc_httpd_respond_error(c->r, api_status_for(res->code), dc_err_name(res->code),
                           "%s", res->message);
  else
    api_reply_json(c->r, 200,
                   json_pack("{s:I, s:s, s:I}", "id",
                             (json_int_t)(c->cmd.type == DC_CMD_MASTER_SET
                                              ? c->cmd.u.master_set.id
                                              : c->cmd.u.master_remove.id),
                             "state", c->cmd.type == DC_CMD_MASTER_SET ? "member" : "removed",
                             "index", (json_int_t)res->index));
  dc_free(c);
}

static void record(struct change_ctx *c) {
  int rc = master_propose(c->m, &c->cmd, on_recorded, c);
  if (rc) {
    dc_httpd_respond_error(c->r, api_status_for(rc), dc_err_name(rc),
                           "configuration changed but not recorded: %s",
                           dc_strerror(rc));
    dc_free(c);
  }
}

static void on_changed(void *ud, int status, const char *msg);

static void on_replaced(void *ud, int status, const char *msg) {
  struct change_ctx *c = ud;
  if (c->m->stopping) {
    dc_free(c);
    return;
  }
  if (status) {
    on_changed(c, status, msg);
    return;
  }
  DC_INFO("cluster", "removed master %" PRIu64 " whose address %s is now id %" PRIu64,
          c->replaces, c->raft_addr, c->cmd.u.master_set.id);
  struct dc_cmd rm = {.type = DC_CMD_MASTER_REMOVE};
  rm.u.master_remove.id = c->replaces;
  master_propose(c->m, &rm, NULL, NULL); /* registry tidy-up; raft decided */
  int rc = dc_log_raft_add(c->m->log, c->cmd.u.master_set.id, c->raft_addr, c->want,
                           on_changed, c);
  if (rc) on_changed(c, rc, dc_strerror(rc));
}

static void on_changed(void *ud, int status, const char *msg) {
  struct change_ctx *c = ud;
  if (c->m->stopping) {
    dc_free(c);
    return;
  }
  if (status) {
    dc_httpd_respond_error(c->r, api_status_for(status), dc_err_name(status),
                           "raft refused the change: %s", msg);
    dc_free(c);
    return;
  }
  record(c);
}

/* The member's current role in the configuration, or -1. OUT: *other_at
 * (may be NULL) gets the id of another member at address, or 0. */
static int current_role(struct dc_master *m, uint64_t id, const char *address,
                        uint64_t *other_at) {
  struct dc_log_server sv[16];
  size_t n = 0;
  if (other_at) *other_at = 0;
  if (dc_log_raft_servers(m->log, sv, DC_ARRAY_LEN(sv), &n)) return -1;
  int role = -1;
  for (size_t i = 0; i < n && i < DC_ARRAY_LEN(sv); i++) {
    if (sv[i].id == id) role = sv[i].role;
    else if (other_at && address && !strcmp(sv[i].address, address)) *other_at = sv[i].id;
  }
  return role;
}

void api_masters_add(struct dc_master *m, struct dc_httpd_req *r) {
  uint8_t who[DC_PK_BYTES];
  if (api_authenticate(m, r, who) || !token_ok(m, r)) return;
  if (!m->raft_id) {
    dc_httpd_respond_error(r, 409, "CONFLICT", "this master runs the local log "
                                               "back end: start it with --raft-addr");
    return;
  }
  size_t blen = 0;
  const uint8_t *body = dc_httpd_req_body(r, &blen);
  json_error_t jerr;
  json_t *o = json_loadb((const char *)body, blen, JSON_REJECT_DUPLICATES, &jerr);
  json_int_t id = 0;
  const char *raft = NULL, *api = "", *sess = "", *role = "voter";
  if (!o || json_unpack_ex(o, &jerr, JSON_STRICT, "{s:I, s:s, s?s, s?s, s?s}", "id",
                           &id, "raft_addr", &raft, "api_url", &api, "session_addr",
                           &sess, "role", &role) ||
      id <= 0 || !*raft || strlen(raft) > DC_MASTER_ADDR_MAX ||
      strlen(api) > DC_MASTER_ADDR_MAX || strlen(sess) > DC_MASTER_ADDR_MAX ||
      (strcmp(role, "voter") && strcmp(role, "standby"))) {
    dc_httpd_respond_error(r, 400, "INVAL",
                           "body must be {\"id\": N>0, \"raft_addr\": \"host:port\", "
                           "\"api_url\", \"session_addr\", \"role\": voter|standby}"
                           " and nothing else%s%s",
                           o ? ": " : "", o ? jerr.text : "");
    json_decref(o);
    return;
  }
  struct change_ctx *c = dc_calloc(1, sizeof *c);
  if (!c) {
    json_decref(o);
    dc_httpd_respond_error(r, 500, "NOMEM", "out of memory");
    return;
  }
  c->m = m;
  c->r = r;
  snprintf(c->raft_addr, sizeof c->raft_addr, "%s", raft);
  snprintf(c->api_url, sizeof c->api_url, "%s", api);
  snprintf(c->session_addr, sizeof c->session_addr, "%s", sess);
  int want = strcmp(role, "voter") ? DC_LOG_STANDBY : DC_LOG_VOTER;
  c->cmd.type = DC_CMD_MASTER_SET;
  c->cmd.u.master_set = (struct dc_cmd_master_set){
      .id = (uint64_t)id, .role = want == DC_LOG_VOTER ? DC_MASTER_VOTER : DC_MASTER_STANDBY,
      .raft_addr = c->raft_addr, .api_url = c->api_url, .session_addr = c->session_addr};
  json_decref(o);
  uint64_t other = 0;
  int have = current_role(m, (uint64_t)id, c->raft_addr, &other);
  int rc;
  if (have == want) {
    record(c); /* a repeated join: only the addresses may have changed */
    return;
  }
  c->want = want;
  if (have < 0 && other) {
    /* A master at this address under another id: its data dir was wiped
     * and it came back as a new server. The old id can never vote again
     * (its vote record is gone), so it leaves first. */
    if (other == m->raft_id) {
      dc_httpd_respond_error(r, 409, "CONFLICT", "%s is this leader's own address",
                             c->raft_addr);
      dc_free(c);
      return;
    }
    c->replaces = other;
    rc = dc_log_raft_remove(m->log, other, on_replaced, c);
  } else {
    rc = have < 0 ? dc_log_raft_add(m->log, (uint64_t)id, c->raft_addr, want, on_changed, c)
                  : dc_log_raft_assign(m->log, (uint64_t)id, want, on_changed, c);
  }
  if (rc) {
    dc_free(c);
    dc_httpd_respond_error(r, api_status_for(rc), dc_err_name(rc),
                           "cannot change the configuration now: %s%s", dc_strerror(rc),
                           rc == DC_EAGAIN ? " (another change is in progress)" : "");
  }
}

void api_masters_remove(struct dc_master *m, struct dc_httpd_req *r,
                        const char *idtext) {
  uint8_t who[DC_PK_BYTES];
  if (api_authenticate(m, r, who) || !token_ok(m, r)) return;
  char *end = NULL;
  unsigned long long id = strtoull(idtext, &end, 10);
  if (!id || !end || *end) {
    dc_httpd_respond_error(r, 400, "INVAL", "master ids are positive integers");
    return;
  }
  if (id == m->raft_id) {
    dc_httpd_respond_error(r, 409, "CONFLICT",
                           "this is the leader: stop it first (it hands leadership "
                           "over), then remove it through the new leader");
    return;
  }
  if (current_role(m, id, NULL, NULL) < 0) {
    dc_httpd_respond_error(r, 404, "NOTFOUND", "no master %llu in the configuration", id);
    return;
  }
  struct change_ctx *c = dc_calloc(1, sizeof *c);
  if (!c) {
    dc_httpd_respond_error(r, 500, "NOMEM", "out of memory");
    return;
  }
  c->m = m;
  c->r = r;
  c->cmd.type = DC_CMD_MASTER_REMOVE;
  c->cmd.u.master_remove.id = id;
  int rc = dc_log_raft_remove(m->log, id, on_changed, c);
  if (rc) {
    dc_free(c);
    dc_httpd_respond_error(r, api_status_for(rc), dc_err_name(rc),
                           "cannot change the configuration now: %s", dc_strerror(rc));
  }
}
