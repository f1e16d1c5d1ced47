/* SPDX-License-Identifier: Apache-2.0
 * Where a request may be served, and how fresh its answer is.
 *
 * - Every answer carries X-DC-Index: the index this master has applied, so
 *   a client can tell how stale a read may be (and X-DC-Leader when the
 *   leader's URL is known).
 * - Writes go to the leader: a follower answers 307 with the leader's URL
 *   (the CLI follows it; the request signature covers method, path and
 *   body, which a redirect keeps), or 503 NOTLEADER while none is known.
 * - Read-your-writes: X-DC-Min-Index: N (or ?min_index=N) makes a master
 *   wait until it has applied N, up to 5 s, else 503 STALE.
 * - Linearizable reads: X-DC-Consistency: linearizable makes the leader
 *   pass a log barrier first; a follower redirects. */
#include <inttypes.h>
#include <stdlib.h>

#include "master/api_int.h"

#define PARK_MAX_MS 5000
#define PARK_CHECK_MS 100
#define HDR_INDEX "X-DC-Index"
#define HDR_LEADER "X-DC-Leader"
#define HDR_MIN_INDEX "X-DC-Min-Index"
#define HDR_CONSISTENCY "X-DC-Consistency"

static void set_index_headers(struct dc_master *m, struct dc_httpd_req *r) {
  char v[32];
  snprintf(v, sizeof v, "%llu",
           (unsigned long long)m->log->ops->applied_index(m->log));
  dc_httpd_req_set_header(r, HDR_INDEX, v);
  const char *leader = master_leader_api(m);
  if (leader) dc_httpd_req_set_header(r, HDR_LEADER, leader);
}

void api_redirect_to_leader(struct dc_master *m, struct dc_httpd_req *r) {
  const char *leader = master_leader_api(m);
  if (!leader || !strcmp(leader, m->advertise_api)) {
    dc_httpd_respond_error(r, 503, "NOTLEADER",
                           "no leader is known right now (an election may be "
                           "in progress): retry in a moment");
    return;
  }
  char loc[1300];
  const char *path = dc_httpd_req_path(r);
  snprintf(loc, sizeof loc, "%s%s", leader, path);
  if (dc_httpd_req_set_header(r, "Location", loc)) {
    dc_httpd_respond_error(r, 503, "NOTLEADER", "this master is a follower; "
                                                "the leader is at %s", leader);
    return;
  }
  dc_httpd_respond_error(r, 307, "NOTLEADER",
                         "this master is a follower; the leader is at %s", leader);
}

static bool parse_u64(const char *s, uint64_t *out) {
  char *end = NULL;
  if (!s || !*s || *s == '-') return false;
  unsigned long long v = strtoull(s, &end, 10);
  if (!end || *end) return false;
  *out = v;
  return true;
}

static void park_tick(uv_timer_t *t) { master_parked_check(t->data); }

void master_parked_check(struct dc_master *m) {
  uint64_t applied = m->log ? m->log->ops->applied_index(m->log) : 0;
  int64_t now = dc_mono_ms();
  struct parked **pp = &m->parked;
  while (*pp) {
    struct parked *p = *pp;
    if (applied >= p->min_index || now >= p->deadline_mono_ms) {
      *pp = p->next;
      if (applied >= p->min_index) {
        set_index_headers(m, p->r);
        master_api_route(m, p->r);
      } else {
        set_index_headers(m, p->r);
        dc_httpd_respond_error(p->r, 503, "STALE",
                               "this master has applied index %llu, not yet %llu "
                               "(waited %d ms): retry, or ask the leader",
                               (unsigned long long)applied,
                               (unsigned long long)p->min_index, PARK_MAX_MS);
      }
      dc_free(p);
    } else {
      pp = &p->next;
    }
  }
  if (!m->parked) uv_timer_stop(&m->park_timer);
}

static void park_canceled(struct dc_httpd_req *r, void *data) {
  struct dc_master *m = data;
  for (struct parked **pp = &m->parked; *pp; pp = &(*pp)->next) {
    if ((*pp)->r == r) {
      struct parked *p = *pp;
      *pp = p->next;
      dc_free(p);
      return;
    }
  }
}

void master_parked_close(struct dc_master *m) {
  while (m->parked) {
    struct parked *p = m->parked;
    m->parked = p->next;
    dc_httpd_respond_error(p->r, 503, "CLOSED", "the master is stopping");
    dc_free(p);
  }
  uv_timer_stop(&m->park_timer);
  uv_close((uv_handle_t *)&m->park_timer, NULL);
}

struct barrier_ctx {
  struct dc_master *m;
  struct dc_httpd_req *r;
};

static void after_barrier(void *ud, int status) {
  struct barrier_ctx *b = ud;
  if (b->m->stopping) {
    /* dc_httpd_stop has answered every live request already. */
    dc_free(b);
    return;
  }
  if (status == DC_OK) {
    set_index_headers(b->m, b->r);
    master_api_route(b->m, b->r);
  } else {
    api_redirect_to_leader(b->m, b->r);
  }
  dc_free(b);
}

void master_api_handle(struct dc_httpd_req *r, void *ud) {
  struct dc_master *m = ud;
  const char *method = dc_httpd_req_method(r);
  bool read = !strcmp(method, "GET") || !strcmp(method, "HEAD");
  set_index_headers(m, r);
  if (m->stopping || m->transferring) {
    dc_httpd_respond_error(r, 503, "NOTLEADER", "this master is stopping");
    return;
  }
  if (!read) {
    if (!dc_log_is_leader(m->log)) return api_redirect_to_leader(m, r);
    return master_api_route(m, r);
  }
  const char *cons = dc_httpd_req_header(r, HDR_CONSISTENCY);
  if (!cons) cons = dc_httpd_req_query(r, "consistency");
  if (cons && !strcmp(cons, "linearizable")) {
    if (!dc_log_is_leader(m->log)) return api_redirect_to_leader(m, r);
    struct barrier_ctx *b = dc_calloc(1, sizeof *b);
    if (!b) {
      dc_httpd_respond_error(r, 500, "NOMEM", "out of memory");
      return;
    }
    *b = (struct barrier_ctx){m, r};
    int rc = dc_log_barrier(m->log, after_barrier, b);
    if (rc) {
      dc_free(b);
      api_redirect_to_leader(m, r);
    }
    return;
  }
  if (cons && strcmp(cons, "default") && strcmp(cons, "stale")) {
    dc_httpd_respond_error(r, 400, "INVAL", "%s must be linearizable or default",
                           HDR_CONSISTENCY);
    return;
  }
  const char *mi = dc_httpd_req_header(r, HDR_MIN_INDEX);
  if (!mi) mi = dc_httpd_req_query(r, "min_index");
  if (mi) {
    uint64_t want = 0;
    if (!parse_u64(mi, &want)) {
      dc_httpd_respond_error(r, 400, "INVAL", "%s must be a log index (digits)",
                             HDR_MIN_INDEX);
      return;
    }
    if (m->log->ops->applied_index(m->log) < want) {
      struct parked *p = dc_calloc(1, sizeof *p);
      if (!p) {
        dc_httpd_respond_error(r, 500, "NOMEM", "out of memory");
        return;
      }
      *p = (struct parked){r, want, dc_mono_ms() + PARK_MAX_MS, m->parked};
      m->parked = p;
      dc_httpd_req_set_cancel(r, park_canceled, m);
      if (!uv_is_active((uv_handle_t *)&m->park_timer))
        uv_timer_start(&m->park_timer, park_tick, PARK_CHECK_MS, PARK_CHECK_MS);
      return;
    }
  }
  master_api_route(m, r);
}
