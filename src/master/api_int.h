/* SPDX-License-Identifier: Apache-2.0
 * The REST handlers of the master, one function per route. */
#ifndef DC_MASTER_API_INT_H
#define DC_MASTER_API_INT_H

#include <jansson.h>

#include "master/master_int.h"

#define DC_IDEMPOTENCY_HEADER "Idempotency-Key"

int api_reply_json(struct dc_httpd_req *r, unsigned status, json_t *body);
unsigned api_status_for(int code);
int api_authenticate(struct dc_master *m, struct dc_httpd_req *r,
                     uint8_t owner[DC_PK_BYTES]);
/* A JSON string from bytes that may not be UTF-8 (bad bytes → U+FFFD). */
json_t *api_text(const void *p, size_t n);

void api_health(struct dc_master *m, struct dc_httpd_req *r);
/* Whether the request carries this cluster's token (false when the master
 * has none). Answers nothing. */
bool api_cluster_token_matches(struct dc_master *m, struct dc_httpd_req *r);
/* api_backup.c: GET /v1/backup */
void api_backup(struct dc_master *m, struct dc_httpd_req *r);
void api_masters_list(struct dc_master *m, struct dc_httpd_req *r);
void api_masters_add(struct dc_master *m, struct dc_httpd_req *r);
void api_masters_remove(struct dc_master *m, struct dc_httpd_req *r,
                        const char *id);
void api_metrics(struct dc_master *m, struct dc_httpd_req *r);
void api_nodes_list(struct dc_master *m, struct dc_httpd_req *r);
/* membership.c: the gossip view (GET /v1/members) */
void api_members_list(struct dc_master *m, struct dc_httpd_req *r);
void api_node_show(struct dc_master *m, struct dc_httpd_req *r, const char *id);
void api_jobs_submit(struct dc_master *m, struct dc_httpd_req *r);
void api_jobs_list(struct dc_master *m, struct dc_httpd_req *r);
void api_job_show(struct dc_master *m, struct dc_httpd_req *r, const char *id);
void api_job_cancel(struct dc_master *m, struct dc_httpd_req *r, const char *id);
void api_job_tasks(struct dc_master *m, struct dc_httpd_req *r, const char *id);
void api_task_show(struct dc_master *m, struct dc_httpd_req *r, const char *id);
/* The request body as a job spec; NULL after answering 400/413. */
struct dc_jobspec;
struct dc_jobspec *api_parse_spec(struct dc_httpd_req *r);
void api_recommend(struct dc_master *m, struct dc_httpd_req *r);
void api_task_explain(struct dc_master *m, struct dc_httpd_req *r, const char *id);
void api_task_logs(struct dc_master *m, struct dc_httpd_req *r, const char *id);
void api_task_outputs(struct dc_master *m, struct dc_httpd_req *r,
                      const char *id);

/* api_tx.c: POST /v1/tx and the batch POST /v1/txs */
#define DC_TXS_BATCH_MAX 1000 /* any 1000 transactions fit the 1 MiB body cap */
void api_tx_submit(struct dc_master *m, struct dc_httpd_req *r);
void api_txs_submit(struct dc_master *m, struct dc_httpd_req *r);

/* api_ledger.c */
/* True once the ledger has its genesis; otherwise answers 503. */
bool api_need_ledger(struct dc_master *m, struct dc_httpd_req *r);
void api_tx_show(struct dc_master *m, struct dc_httpd_req *r, const char *id);
void api_ledger_show(struct dc_master *m, struct dc_httpd_req *r);
void api_account_show(struct dc_master *m, struct dc_httpd_req *r,
                      const char *id);
void api_account_history(struct dc_master *m, struct dc_httpd_req *r,
                         const char *id);
void api_blocks_list(struct dc_master *m, struct dc_httpd_req *r);
void api_block_show(struct dc_master *m, struct dc_httpd_req *r,
                    const char *id);
void api_faucet(struct dc_master *m, struct dc_httpd_req *r);
void api_job_bill(struct dc_master *m, struct dc_httpd_req *r, const char *id);
void api_channel_ticks(struct dc_master *m, struct dc_httpd_req *r,
                       const char *id);

#endif
