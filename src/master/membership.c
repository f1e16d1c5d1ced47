/* SPDX-License-Identifier: Apache-2.0
 * The master as a gossip member. Gossip is the primary failure detector:
 * when a provider member is declared dead (or leaves), the leader proposes
 * NODE_DEAD with a reason that starts with "gossip:", exactly as the
 * heartbeat detector does with "no heartbeat ...". The heartbeat timeout
 * stays as a fallback, raised above gossip's detection bound. The gossip
 * view itself is local to each master, never replicated. */
#include <inttypes.h>
#include <stdio.h>

#include "master/api_int.h"

#define MEMBERSHIP_LIVE_MS 2500

/* A member's 64-bit gossip id: the first 8 bytes of its Ed25519 key, so
 * the master finds a provider's member from its node id alone. */
static uint64_t id_of_hex(const char *hex) {
  uint8_t pk[DC_PK_BYTES];
  if (dc_hex_decode(hex, pk, DC_PK_BYTES)) return 0;
  return dc_gossip_node_id(pk);
}

static json_t *tags_json(const uint8_t *tags, size_t n) {
  json_t *t = n ? json_loadb((const char *)tags, n, 0, NULL) : NULL;
  if (json_is_object(t)) return t;
  json_decref(t);
  return json_object();
}

/* Gossip's state change time, moved onto the clock of master_seen. */
static int64_t to_mono(struct dc_master *m, int64_t loop_ms) {
  return dc_mono_ms() - ((int64_t)uv_now(m->loop) - loop_ms);
}

/* Proposes NODE_DEAD for a provider member gossip holds dead or left, if
 * the state still has the node alive and its session has not spoken since
 * (a restarted provider re-registers before gossip sees it back). */
static void check_member(struct dc_master *m, const struct dc_gossip_member_info *mi) {
  if (mi->state != DC_GOSSIP_DEAD && mi->state != DC_GOSSIP_LEFT) return;
  json_t *t = tags_json(mi->tags, mi->tags_len);
  const char *role = json_string_value(json_object_get(t, "role"));
  const char *node = json_string_value(json_object_get(t, "node"));
  if (!role || strcmp(role, "provider") || !node || strlen(node) != DC_PK_HEX_LEN) {
    json_decref(t);
    return;
  }
  static const char *sql = "SELECT state FROM nodes WHERE id=?1";
  sqlite3_stmt *s = master_read_stmt(m, sql);
  bool alive = false;
  if (s) {
    sqlite3_bind_text(s, 1, node, -1, SQLITE_STATIC);
    alive = sqlite3_step(s) == SQLITE_ROW &&
            !strcmp((const char *)sqlite3_column_text(s, 0), "alive");
    sqlite3_reset(s);
  }
  struct seen *sn = alive ? master_seen_get(m, node) : NULL;
  struct session *ss = sn ? master_session_find(m, node) : NULL;
  /* First-hand evidence of life outranks the rumour: a registered session
   * that spoke within MEMBERSHIP_LIVE_MS (heartbeats come every second)
   * means the provider runs and only its gossip path fails; once the
   * session falls silent too, the next tick acts. */
  bool speaks = ss && !ss->closed && ss->registered &&
                dc_mono_ms() - sn->last_mono_ms < MEMBERSHIP_LIVE_MS;
  if (sn && !sn->dead_proposed && !speaks &&
      sn->last_mono_ms <= to_mono(m, mi->state_change_ms)) {
    if (ss && !ss->closed) dc_conn_close(ss->conn, "declared dead by gossip");
    char reason[96];
    snprintf(reason, sizeof reason, "gossip: member %s at incarnation %" PRIu32,
             mi->state == DC_GOSSIP_LEFT ? "left" : "declared dead", mi->incarnation);
    master_propose_dead(m, sn, "gossip", reason);
  }
  json_decref(t);
}

static void on_event(void *data, uint32_t group, const struct dc_gossip_event *ev) {
  struct dc_master *m = data;
  (void)group;
  DC_INFO("gossip", "member=%016" PRIx64 " event=%s incarnation=%" PRIu32 "%s",
          ev->id, dc_gossip_state_name(ev->state), ev->incarnation,
          ev->by_self ? " by_self=1" : "");
  if (ev->type != DC_GOSSIP_EV_DEAD || !m->log || !dc_log_is_leader(m->log)) return;
  struct dc_gossip_member_info mi;
  if (dc_gossip_member_get(dc_gossip_node_core(m->gossip), ev->id, &mi) == DC_OK)
    check_member(m, &mi);
}

void master_membership_tick(struct dc_master *m) {
  if (!m->gossip || !dc_log_is_leader(m->log)) return;
  struct dc_gossip *g = dc_gossip_node_core(m->gossip);
  struct dc_gossip_member_info mi;
  for (size_t i = 0; dc_gossip_member_at(g, i, &mi) == DC_OK; i++) check_member(m, &mi);
}

int master_membership_start(struct dc_master *m) {
  if (!m->cfg.gossip_addr || !*m->cfg.gossip_addr) return DC_OK;
  char pk[DC_PK_HEX_LEN + 1];
  dc_identity_hex(&m->id, pk);
  json_t *t = json_pack("{s:s, s:s, s:s, s:s, s:s}", "role", "master", "name", "master",
                        "node", pk, "api", m->advertise_api, "session",
                        m->advertise_session);
  char *tags = json_dumps(t, JSON_COMPACT);
  json_decref(t);
  if (!tags) return DC_ENOMEM;
  struct dc_gossip_node_opts o = {
      .addr = m->cfg.gossip_addr,
      .join = m->cfg.gossip_join,
      .keys = m->cfg.gossip_keys,
      .key_file = m->cfg.gossip_key_file,
      .fast = m->cfg.gossip_fast,
      .no_tcp_ping = m->cfg.gossip_no_tcp_ping,
      .self_id = dc_gossip_node_id(m->id.pk),
      .tags = (const uint8_t *)tags,
      .tags_len = strlen(tags),
  };
  struct dc_errmsg err = {{0}};
  int rc = dc_gossip_node_start(m->loop, &o, on_event, m, &m->gossip, &err);
  free(tags);
  if (rc) {
    DC_ERROR("master", "gossip: %s", err.text);
    return rc;
  }
  DC_INFO("gossip", "member=%016" PRIx64 " addr=%s seeds=%s heartbeat_fallback_ms=%u",
          o.self_id, m->cfg.gossip_addr, m->cfg.gossip_join ? m->cfg.gossip_join : "",
          m->cfg.heartbeat_timeout_ms);
  if (m->cfg.heartbeat_timeout_ms < (m->cfg.gossip_fast ? 30000u : 60000u))
    DC_WARN("gossip", "heartbeat timeout %u ms is below gossip's detection bound: the "
            "heartbeat detector may decide first", m->cfg.heartbeat_timeout_ms);
  return DC_OK;
}

void master_membership_stop(struct dc_master *m) {
  if (m->gossip) dc_gossip_node_stop(m->gossip, NULL, NULL);
  m->gossip = NULL;
}

static json_t *coord_json(const struct dc_vivaldi *c) {
  json_t *vec = json_array();
  for (int i = 0; i < DC_VIVALDI_DIM; i++) json_array_append_new(vec, json_real(c->vec[i]));
  return json_pack("{s:o, s:f, s:f, s:f}", "vec", vec, "error", c->error, "adjustment",
                   c->adjustment, "height", c->height);
}

static json_t *member_json(struct dc_master *m, const struct dc_gossip_member_info *mi) {
  struct dc_gossip *g = dc_gossip_node_core(m->gossip);
  char ip[64] = "", addr[80], id[17];
  uv_inet_ntop(mi->addr.family == 6 ? AF_INET6 : AF_INET, mi->addr.ip, ip, sizeof ip);
  snprintf(addr, sizeof addr, mi->addr.family == 6 ? "[%s]:%u" : "%s:%u", ip,
           mi->addr.port);
  snprintf(id, sizeof id, "%016" PRIx64, mi->id);
  json_t *tags = tags_json(mi->tags, mi->tags_len);
  const char *name = json_string_value(json_object_get(tags, "name"));
  json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:o}", "id", id, "name",
                        name ? name : id, "addr", addr, "state",
                        dc_gossip_state_name(mi->state), "incarnation",
                        (json_int_t)mi->incarnation, "state_age_ms",
                        (json_int_t)((int64_t)uv_now(m->loop) - mi->state_change_ms),
                        "tags", tags);
  const struct dc_vivaldi *self = dc_gossip_coord(g);
  struct dc_vivaldi c;
  double rtt;
  if (mi->id == dc_gossip_node_id(m->id.pk)) {
    json_object_set_new(o, "self", json_true());
    json_object_set_new(o, "coordinate", coord_json(self));
    json_object_set_new(o, "rtt_ms", json_real(0));
  } else if (dc_gossip_peer_coord(g, mi->id, &c, &rtt) == DC_OK) {
    json_object_set_new(o, "coordinate", coord_json(&c));
    json_object_set_new(o, "rtt_ms", json_real(dc_vivaldi_distance(self, &c) * 1000.0));
    json_object_set_new(o, "rtt_measured_ms", json_real(rtt * 1000.0));
  } else {
    json_object_set_new(o, "coordinate", json_null());
    json_object_set_new(o, "rtt_ms", json_null());
  }
  return o;
}

void api_members_list(struct dc_master *m, struct dc_httpd_req *r) {
  if (!m->gossip) {
    dc_httpd_respond_error(r, 409, "CONFLICT",
                           "gossip is off on this master (start it with --gossip-addr)");
    return;
  }
  struct dc_gossip *g = dc_gossip_node_core(m->gossip);
  json_t *arr = json_array();
  struct dc_gossip_member_info mi;
  for (size_t i = 0; dc_gossip_member_at(g, i, &mi) == DC_OK; i++)
    json_array_append_new(arr, member_json(m, &mi));
  struct dc_gossip_udp_stats us;
  struct dc_gossip_stats gs;
  dc_gossip_node_stats(m->gossip, &us);
  dc_gossip_get_stats(g, &gs);
  json_t *stats = json_pack(
      "{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "sent_packets",
      (json_int_t)us.sent_packets, "sent_bytes", (json_int_t)us.sent_bytes, "stream_bytes",
      (json_int_t)us.stream_bytes, "recv_packets", (json_int_t)us.recv_packets, "dropped",
      (json_int_t)us.dropped, "probes", (json_int_t)gs.probes, "suspicions",
      (json_int_t)gs.suspicions, "declared_dead", (json_int_t)gs.declared_dead,
      "refutations", (json_int_t)gs.refutations, "awareness",
      (json_int_t)dc_gossip_awareness(g));
  api_reply_json(r, 200,
                 json_pack("{s:o, s:I, s:I, s:o}", "members", arr, "alive",
                           (json_int_t)dc_gossip_alive_count(g), "uptime_ms",
                           (json_int_t)(dc_mono_ms() - m->started_mono_ms), "stats", stats));
}

json_t *master_membership_node_json(struct dc_master *m, const char *node_hex) {
  if (!m->gossip) return NULL;
  uint64_t id = id_of_hex(node_hex);
  struct dc_gossip_member_info mi;
  if (!id || dc_gossip_member_get(dc_gossip_node_core(m->gossip), id, &mi) != DC_OK)
    return NULL;
  return member_json(m, &mi);
}
