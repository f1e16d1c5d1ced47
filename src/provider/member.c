/* SPDX-License-Identifier: Apache-2.0
 * The provider as a gossip member: it joins through the masters' gossip
 * addresses and tags itself with its role, service classes, node id and
 * the master session it holds, so every member sees where it stands. */
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

#include "provider/provider_int.h"

static char *tags_text(struct dc_provider *p) {
  char hex[DC_PK_HEX_LEN + 1], session[300] = "";
  dc_identity_hex(&p->id, hex);
  if (p->ready)
    snprintf(session, sizeof session, "%s:%u", p->cfg.masters[p->cur].host,
             p->cfg.masters[p->cur].port);
  json_t *t = json_pack("{s:s, s:s, s:s, s:s, s:s}", "role", "provider", "name",
                        p->node.name ? p->node.name : "", "node", hex, "classes",
                        p->cfg.classes ? p->cfg.classes : "", "session", session);
  char *s = json_dumps(t, JSON_COMPACT);
  json_decref(t);
  return s;
}

static void on_event(void *data, uint32_t group, const struct dc_gossip_event *ev) {
  (void)data;
  (void)group;
  DC_INFO("gossip", "member=%016" PRIx64 " event=%s incarnation=%" PRIu32 "%s",
          ev->id, dc_gossip_state_name(ev->state), ev->incarnation,
          ev->by_self ? " by_self=1" : "");
}

int provider_member_start(struct dc_provider *p) {
  if (!p->cfg.gossip_addr || !*p->cfg.gossip_addr) return DC_OK;
  char *tags = tags_text(p);
  if (!tags) return DC_ENOMEM;
  struct dc_gossip_node_opts o = {
      .addr = p->cfg.gossip_addr,
      .join = p->cfg.gossip_join,
      .keys = p->cfg.gossip_keys,
      .key_file = p->cfg.gossip_key_file,
      .fast = p->cfg.gossip_fast,
      .no_tcp_ping = p->cfg.gossip_no_tcp_ping,
      .self_id = dc_gossip_node_id(p->id.pk),
      .tags = (const uint8_t *)tags,
      .tags_len = strlen(tags),
  };
  struct dc_errmsg err = {{0}};
  int rc = dc_gossip_node_start(p->loop, &o, on_event, p, &p->gossip, &err);
  free(tags);
  if (rc) {
    DC_ERROR("agent", "gossip: %s", err.text);
    return rc;
  }
  DC_INFO("gossip", "member=%016" PRIx64 " addr=%s seeds=%s", o.self_id,
          p->cfg.gossip_addr, p->cfg.gossip_join ? p->cfg.gossip_join : "");
  return DC_OK;
}

void provider_member_session(struct dc_provider *p) {
  if (!p->gossip) return;
  char *tags = tags_text(p);
  if (tags) dc_gossip_node_set_tags(p->gossip, (const uint8_t *)tags, strlen(tags));
  free(tags);
}

void provider_member_stop(struct dc_provider *p) {
  if (p->gossip) dc_gossip_node_stop(p->gossip, NULL, NULL);
  p->gossip = NULL;
}
