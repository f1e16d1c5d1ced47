/* SPDX-License-Identifier: Apache-2.0
 * GET /v1/backup: a consistent image of the whole replicated state, taken
 * online on the worker pool through a read-only connection of its own (one
 * read transaction: the image, its applied index and its state hash all
 * belong to the same commit, and the FSM's writer never waits). The loop
 * only checks the request and hands the finished image to the HTTP server.
 *
 * The image holds every account and job, so the request must be signed and
 * authorised: by the cluster token (as for adding and removing masters), or,
 * on a master without one, by the master's own key. */
#include <inttypes.h>

#include "master/api_int.h"

struct backup_job {
  uv_work_t work;
  struct dc_master *m;
  struct dc_httpd_req *r;   /* NULL once the server stopped */
  uint8_t *body;            /* dc_malloc'd copy of the image */
  size_t len;
  struct dc_fsm_image_info info;
  struct dc_errmsg err;
  int rc;
  double ms;
  double check_ms;          /* loop: authenticating the request */
  double hand_ms;           /* loop: handing the image to the server */
};

static void backup_canceled(struct dc_httpd_req *r, void *data) {
  (void)r;
  struct backup_job *j = data;
  j->r = NULL;
}

static void backup_work(uv_work_t *w) {
  struct backup_job *j = w->data;
  uint64_t t0 = dc_mono_ns();
  uint8_t *img = NULL;
  j->rc = dc_fsm_backup(j->m->state_path, &img, &j->len, &j->info, &j->err);
  if (!j->rc) {
    /* The HTTP server frees bodies with dc_free; SQLite's buffer needs
     * sqlite3_free. The copy is made here, off the loop. */
    j->body = dc_malloc(j->len ? j->len : 1);
    if (j->body) memcpy(j->body, img, j->len);
    else j->rc = DC_ENOMEM;
    dc_fsm_snapshot_free(img);
  }
  j->ms = (double)(dc_mono_ns() - t0) / 1e6;
}

static void backup_done(uv_work_t *w, int status) {
  struct backup_job *j = w->data;
  struct dc_master *m = j->m;
  uint64_t t0 = dc_mono_ns();
  m->backup_busy = false;
  if (!j->r) {
    dc_free(j->body);
    dc_free(j);
    return;
  }
  dc_httpd_req_set_cancel(j->r, NULL, NULL);
  if (status || j->rc) {
    dc_free(j->body);
    dc_httpd_respond_error(j->r, 500, dc_err_name(j->rc ? j->rc : DC_ECANCELED),
                           "backup failed: %s",
                           j->err.text[0] ? j->err.text : dc_strerror(j->rc));
    dc_free(j);
    return;
  }
  char idx[24], hex[2 * DC_FSM_HASH_BYTES + 1];
  snprintf(idx, sizeof idx, "%" PRIu64, j->info.applied_index);
  dc_hex_encode(j->info.hash, DC_FSM_HASH_BYTES, hex);
  dc_httpd_req_set_header(j->r, "X-DC-Index", idx);
  dc_httpd_req_set_header(j->r, "X-DC-State-Hash", hex);
  dc_httpd_respond_take(j->r, 200, "application/vnd.sqlite3", j->body, j->len);
  j->hand_ms = (double)(dc_mono_ns() - t0) / 1e6;
  DC_INFO("api", "backup index=%" PRIu64 " bytes=%zu worker_ms=%.1f loop_check_ms=%.3f "
          "loop_hand_ms=%.3f", j->info.applied_index, j->len, j->ms, j->check_ms,
          j->hand_ms);
  dc_free(j);
}

void api_backup(struct dc_master *m, struct dc_httpd_req *r) {
  uint64_t t0 = dc_mono_ns();
  uint8_t signer[DC_PK_BYTES];
  if (api_authenticate(m, r, signer)) return;
  bool has_token = m->cfg.cluster_token && *m->cfg.cluster_token;
  if (has_token ? !api_cluster_token_matches(m, r)
                : memcmp(signer, m->id.pk, DC_PK_BYTES) != 0) {
    dc_httpd_respond_error(
        r, 403, "FORBIDDEN", "%s",
        has_token ? "a backup needs the cluster token (" DC_HDR_CLUSTER_TOKEN ")"
                  : "this master has no cluster token: a backup must be signed "
                    "with the master's own key (its data dir's master.key)");
    return;
  }
  if (m->backup_busy) {
    dc_httpd_respond_error(r, 503, dc_err_name(DC_EAGAIN), "a backup is already being taken");
    return;
  }
  struct backup_job *j = dc_calloc(1, sizeof *j);
  if (!j) {
    dc_httpd_respond_error(r, 500, dc_err_name(DC_ENOMEM), "out of memory");
    return;
  }
  j->m = m;
  j->r = r;
  j->work.data = j;
  if (uv_queue_work(m->loop, &j->work, backup_work, backup_done)) {
    dc_free(j);
    dc_httpd_respond_error(r, 500, dc_err_name(DC_ESYS), "cannot start the backup");
    return;
  }
  m->backup_busy = true;
  dc_httpd_req_set_cancel(r, backup_canceled, j);
  j->check_ms = (double)(dc_mono_ns() - t0) / 1e6;
}
