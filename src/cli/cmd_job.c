/* SPDX-License-Identifier: Apache-2.0
 * deepcloud job run|list|status|logs|cancel */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "crypto/crypto.h"

#define SPEC_FILE_MAX (1u << 20)

static int job_wait(const struct client *c, const char *id, uint32_t timeout_s,
                    json_t **final) {
  char path[256];
  snprintf(path, sizeof path, "/v1/jobs/%s", id);
  int64_t deadline = dc_mono_ms() + (int64_t)timeout_s * 1000;
  bool tty = isatty(2);
  for (;;) {
    json_t *j = NULL;
    int rc = client_get(c, "job status", path, &j);
    if (rc >= 0) return rc;
    const char *state = json_string_value(json_object_get(j, "state"));
    if (tty && !c->json) {
      json_t *ts = json_object_get(j, "task_states");
      fprintf(stderr, "\r%s: %s", id, state ? state : "?");
      const char *k;
      json_t *v;
      json_object_foreach(ts, k, v) fprintf(stderr, " %s=%lld", k, (long long)json_integer_value(v));
      fprintf(stderr, "   ");
    }
    if (state && strcmp(state, "running") != 0) {
      if (tty && !c->json) fprintf(stderr, "\n");
      *final = j;
      return 0;
    }
    json_decref(j);
    if (timeout_s && dc_mono_ms() > deadline) {
      fprintf(stderr, "\nerror: job %s still running after %u s\n", id, timeout_s);
      return 1;
    }
    usleep(200 * 1000);
  }
}

static int job_run(int argc, char **argv) {
  struct client c;
  client_defaults(&c);
  bool wait = false;
  uint32_t timeout = 0;
  const char *idem = NULL;
  struct opt opts[] = {CLIENT_OPTS(&c),
                       {"wait", OPT_BOOL, &wait, "wait for the job to end; exit 1 if any task failed"},
                       {"timeout", OPT_U32, &timeout, "with --wait: give up after this many seconds (0 = never)"},
                       {"idempotency-key", OPT_STR, &idem, "retry-safe key (default: a fresh random key)"}};
  char *pos[2];
  size_t npos = 2;
  int rc = cli_parse("deepcloud job run FILE [--wait]", opts, DC_ARRAY_LEN(opts), argc, argv, pos, &npos);
  if (rc >= 0) return rc;
  if (npos != 1) {
    fprintf(stderr, "usage: deepcloud job run FILE [--wait] (FILE is a job spec, see docs/jobspec.md)\n");
    return 2;
  }
  char *spec = NULL;
  size_t len = 0;
  rc = dc_read_file(pos[0], SPEC_FILE_MAX, &spec, &len);
  if (rc) {
    fprintf(stderr, "error: cannot read %s: %s\n", pos[0],
            rc == DC_ETOOBIG ? "larger than 1 MiB" : dc_strerror(rc));
    return 2;
  }
  char key[64], hdr[200];
  if (!idem) {
    dc_random_hex(key, 16);
    idem = key;
  }
  snprintf(hdr, sizeof hdr, "Idempotency-Key: %s", idem);
  long st = 0;
  json_t *resp = NULL;
  /* One retry on a network failure is safe: the idempotency key makes the
   * second submit find the first job. */
  rc = client_call(&c, "POST", "/v1/jobs", spec, len, hdr, &st, &resp);
  if (rc == DC_EIO) {
    usleep(500 * 1000);
    rc = client_call(&c, "POST", "/v1/jobs", spec, len, hdr, &st, &resp);
  }
  dc_free(spec);
  if (rc) return 2;
  if (st != 200 && st != 201) {
    rc = client_report("job submit", st, resp);
    json_decref(resp);
    return rc;
  }
  const char *id = json_string_value(json_object_get(resp, "id"));
  char idc[64];
  snprintf(idc, sizeof idc, "%s", id ? id : "");
  if (!wait) {
    if (c.json) cli_print_json(resp);
    else printf("%s\n", idc);
    json_decref(resp);
    return 0;
  }
  if (!c.json) fprintf(stderr, "submitted job %s (%lld tasks)\n", idc,
                       (long long)json_integer_value(json_object_get(resp, "tasks")));
  json_decref(resp);
  json_t *final = NULL;
  rc = job_wait(&c, idc, timeout, &final);
  if (rc) return rc;
  const char *state = json_string_value(json_object_get(final, "state"));
  bool ok = state && strcmp(state, "succeeded") == 0;
  if (c.json) cli_print_json(final);
  else printf("job %s %s\n", idc, state ? state : "?");
  json_decref(final);
  return ok ? 0 : 1;
}

static int job_list(int argc, char **argv) {
  struct client c;
  client_defaults(&c);
  const char *state = NULL;
  struct opt opts[] = {CLIENT_OPTS(&c), {"state", OPT_STR, &state, "only jobs in this state"}};
  char *pos[1];
  size_t npos = 0;
  int rc = cli_parse("deepcloud job list [--state S]", opts, DC_ARRAY_LEN(opts), argc, argv, pos, &npos);
  if (rc >= 0) return rc;
  char path[200];
  snprintf(path, sizeof path, "/v1/jobs%s%s", state ? "?state=" : "", state ? state : "");
  json_t *r = NULL;
  if ((rc = client_get(&c, "job list", path, &r)) >= 0) return rc;
  if (c.json) {
    cli_print_json(r);
  } else {
    printf("%-32s  %-10s  %6s  %s\n", "ID", "STATE", "TASKS", "NAME");
    size_t i;
    json_t *j;
    json_array_foreach(json_object_get(r, "jobs"), i, j)
      printf("%-32s  %-10s  %6lld  %s\n", json_string_value(json_object_get(j, "id")),
             json_string_value(json_object_get(j, "state")),
             (long long)json_integer_value(json_object_get(j, "tasks")),
             json_string_value(json_object_get(j, "name")));
  }
  json_decref(r);
  return 0;
}

static int job_status(int argc, char **argv) {
  struct client c;
  client_defaults(&c);
  struct opt opts[] = {CLIENT_OPTS(&c)};
  char *pos[2];
  size_t npos = 2;
  int rc = cli_parse("deepcloud job status JOB_ID", opts, DC_ARRAY_LEN(opts), argc, argv, pos, &npos);
  if (rc >= 0) return rc;
  if (npos != 1) {
    fprintf(stderr, "usage: deepcloud job status JOB_ID\n");
    return 2;
  }
  char path[256];
  snprintf(path, sizeof path, "/v1/jobs/%s", pos[0]);
  json_t *j = NULL, *t = NULL;
  if ((rc = client_get(&c, "job status", path, &j)) >= 0) return rc;
  snprintf(path, sizeof path, "/v1/jobs/%s/tasks", pos[0]);
  if ((rc = client_get(&c, "job tasks", path, &t)) >= 0) {
    json_decref(j);
    return rc;
  }
  if (c.json) {
    json_object_set(j, "tasks", json_object_get(t, "tasks"));
    cli_print_json(j);
  } else {
    printf("job %s  %s  state=%s\n", json_string_value(json_object_get(j, "id")),
           json_string_value(json_object_get(j, "name")),
           json_string_value(json_object_get(j, "state")));
    printf("%-48s  %-9s  %3s  %5s  %8s  %s\n", "TASK", "STATE", "TRY", "EXIT", "WALL_MS", "NODE");
    size_t i;
    json_t *x;
    json_array_foreach(json_object_get(t, "tasks"), i, x) {
      json_t *ex = json_object_get(x, "exit_code");
      json_t *wall = json_object_get(json_object_get(x, "usage"), "wall_ms");
      char exs[16] = "-", ws[24] = "-";
      if (json_is_integer(ex)) snprintf(exs, sizeof exs, "%lld", (long long)json_integer_value(ex));
      if (json_is_integer(wall)) snprintf(ws, sizeof ws, "%lld", (long long)json_integer_value(wall));
      printf("%-48s  %-9s  %3lld  %5s  %8s  %.12s\n", json_string_value(json_object_get(x, "id")),
             json_string_value(json_object_get(x, "state")),
             (long long)json_integer_value(json_object_get(x, "attempt")), exs, ws,
             json_string_value(json_object_get(x, "node")));
    }
  }
  json_decref(j);
  json_decref(t);
  return 0;
}

static int job_logs(int argc, char **argv) {
  struct client c;
  client_defaults(&c);
  const char *stream = "both";
  struct opt opts[] = {CLIENT_OPTS(&c), {"stream", OPT_STR, &stream, "stdout, stderr or both"}};
  char *pos[2];
  size_t npos = 2;
  int rc = cli_parse("deepcloud job logs TASK_ID", opts, DC_ARRAY_LEN(opts), argc, argv, pos, &npos);
  if (rc >= 0) return rc;
  if (npos != 1) {
    fprintf(stderr, "usage: deepcloud job logs TASK_ID (task ids are listed by `deepcloud job status JOB_ID`)\n");
    return 2;
  }
  char path[512];
  snprintf(path, sizeof path, "/v1/tasks/%s/logs", pos[0]);
  json_t *j = NULL;
  if ((rc = client_get(&c, "job logs", path, &j)) >= 0) return rc;
  if (c.json) cli_print_json(j);
  else {
    if (strcmp(stream, "stderr") != 0) fputs(json_string_value(json_object_get(j, "stdout")), stdout);
    if (strcmp(stream, "stdout") != 0) fputs(json_string_value(json_object_get(j, "stderr")), stderr);
  }
  json_decref(j);
  return 0;
}

static int job_cancel(int argc, char **argv) {
  struct client c;
  client_defaults(&c);
  struct opt opts[] = {CLIENT_OPTS(&c)};
  char *pos[2];
  size_t npos = 2;
  int rc = cli_parse("deepcloud job cancel JOB_ID", opts, DC_ARRAY_LEN(opts), argc, argv, pos, &npos);
  if (rc >= 0) return rc;
  if (npos != 1) {
    fprintf(stderr, "usage: deepcloud job cancel JOB_ID\n");
    return 2;
  }
  char path[256];
  snprintf(path, sizeof path, "/v1/jobs/%s", pos[0]);
  long st;
  json_t *j = NULL;
  if (client_call(&c, "DELETE", path, NULL, 0, NULL, &st, &j)) return 2;
  if (st != 200) {
    rc = client_report("job cancel", st, j);
    json_decref(j);
    return rc;
  }
  if (c.json) cli_print_json(j);
  else printf("job %s canceled (%lld task(s) stopped)\n", pos[0],
              (long long)json_integer_value(json_object_get(j, "tasks_canceled")));
  json_decref(j);
  return 0;
}

/* The itemised bill: the job's escrow and its ledger lines, one by one. */
static int job_bill(int argc, char **argv) {
  struct client c;
  client_defaults(&c);
  struct opt opts[] = {CLIENT_OPTS(&c)};
  char *pos[2];
  size_t npos = 2;
  int rc = cli_parse("deepcloud job bill JOB_ID", opts, DC_ARRAY_LEN(opts), argc,
                     argv, pos, &npos);
  if (rc >= 0) return rc;
  if (npos != 1) {
    fprintf(stderr, "usage: deepcloud job bill JOB_ID\n");
    return 2;
  }
  char path[256];
  snprintf(path, sizeof path, "/v1/jobs/%s/bill", pos[0]);
  json_t *b = NULL;
  if ((rc = client_get(&c, "job bill", path, &b)) >= 0) return rc;
  if (c.json) {
    cli_print_json(b);
    json_decref(b);
    return 0;
  }
  static const char *const tot[] = {"budget", "paid", "refunded", "reserved", "available"};
  printf("job %s (%s)\n", json_string_value(json_object_get(b, "job_id")),
         json_string_value(json_object_get(b, "state")));
  printf("%-8s %-12s %-40s %-16s %16s\n", "INDEX", "KIND", "TASK", "PROVIDER",
         "MICRO-DEEP");
  size_t i;
  json_t *l;
  json_array_foreach(json_object_get(b, "lines"), i, l) {
    const char *kind = json_string_value(json_object_get(l, "kind"));
    bool job_line = !strcmp(kind, "escrow_lock") || !strcmp(kind, "refund");
    const char *peer = json_string_value(json_object_get(l, "peer"));
    printf("%-8lld %-12s %-40.40s %-16.16s %16lld\n",
           (long long)json_integer_value(json_object_get(l, "index")), kind,
           job_line ? "-" : json_string_value(json_object_get(l, "ref")),
           peer ? peer : "-",
           (long long)json_integer_value(json_object_get(l, "amount")));
  }
  for (size_t k = 0; k < DC_ARRAY_LEN(tot); k++)
    printf("%-10s %lld\n", tot[k],
           (long long)json_integer_value(json_object_get(b, tot[k])));
  json_decref(b);
  return 0;
}

/* For each task of the job: the candidates the leader's policy considered,
 * why nodes were filtered, the costs, the choice. */
static int job_explain(int argc, char **argv) {
  struct client c;
  client_defaults(&c);
  struct opt opts[] = {CLIENT_OPTS(&c)};
  char *pos[2];
  size_t npos = 2;
  int rc = cli_parse("deepcloud job explain JOB_ID", opts, DC_ARRAY_LEN(opts), argc, argv,
                     pos, &npos);
  if (rc >= 0) return rc;
  if (npos != 1) {
    fprintf(stderr, "usage: deepcloud job explain JOB_ID\n");
    return 2;
  }
  char path[256];
  snprintf(path, sizeof path, "/v1/jobs/%s/tasks", pos[0]);
  json_t *t = NULL;
  if ((rc = client_get(&c, "job explain", path, &t)) >= 0) return rc;
  json_t *all = json_array();
  size_t i;
  json_t *x;
  json_array_foreach(json_object_get(t, "tasks"), i, x) {
    snprintf(path, sizeof path, "/v1/tasks/%s/explain",
             json_string_value(json_object_get(x, "id")));
    long status = 0;
    json_t *e = NULL;
    if (client_call(&c, "GET", path, NULL, 0, NULL, &status, &e)) {
      json_decref(all);
      json_decref(t);
      return 2;
    }
    if (status == 200) json_array_append(all, e);
    else if (!c.json)
      printf("%s: no decision recorded (%s)\n", json_string_value(json_object_get(x, "id")),
             json_string_value(json_object_get(json_object_get(e, "error"), "message")));
    json_decref(e);
  }
  json_decref(t);
  if (c.json) {
    cli_print_json(all);
  } else {
    json_t *e;
    json_array_foreach(all, i, e) {
      size_t k;
      json_t *d;
      json_array_foreach(json_object_get(e, "decisions"), k, d) {
        const char *ch = json_string_value(json_object_get(d, "chosen"));
        printf("%s attempt %lld  policy=%s  predicted %.0f s  chose %.16s\n  %s\n",
               json_string_value(json_object_get(e, "task_id")),
               (long long)json_integer_value(json_object_get(d, "attempt")),
               json_string_value(json_object_get(d, "policy")),
               json_real_value(json_object_get(d, "predicted_runtime_s")),
               ch ? ch : "(none)", json_string_value(json_object_get(d, "text")));
        const char *why;
        json_t *cnt;
        json_object_foreach(json_object_get(d, "filtered"), why, cnt)
          printf("    filtered by %-8s %lld node(s)\n", why, (long long)json_integer_value(cnt));
        size_t q;
        json_t *cd;
        json_array_foreach(json_object_get(d, "candidates"), q, cd)
          printf("    candidate %.16s  cost %.4f\n", json_string_value(json_object_get(cd, "node")),
                 json_real_value(json_object_get(cd, "cost")));
      }
    }
  }
  json_decref(all);
  return 0;
}

int cli_job(int argc, char **argv) {
  static const char *usage =
      "usage: deepcloud job <verb> [options]\n"
      "  run FILE [--wait]   submit a job spec (JSON, see docs/jobspec.md)\n"
      "  list                list jobs\n"
      "  status JOB_ID       a job and its tasks\n"
      "  logs TASK_ID        stdout and stderr of a task\n"
      "  cancel JOB_ID       cancel a job and kill its running tasks\n"
      "  bill JOB_ID         the itemised bill: budget, reservations, payments, refund\n"
      "  explain JOB_ID      why each task went where it did (candidates, filters, costs)\n"
      "Every verb takes --help, --json, --api URL.\n";
  if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
    fputs(usage, argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  const char *v = argv[1];
  if (!strcmp(v, "run")) return job_run(argc - 1, argv + 1);
  if (!strcmp(v, "list")) return job_list(argc - 1, argv + 1);
  if (!strcmp(v, "status")) return job_status(argc - 1, argv + 1);
  if (!strcmp(v, "logs")) return job_logs(argc - 1, argv + 1);
  if (!strcmp(v, "cancel")) return job_cancel(argc - 1, argv + 1);
  if (!strcmp(v, "bill")) return job_bill(argc - 1, argv + 1);
  if (!strcmp(v, "explain")) return job_explain(argc - 1, argv + 1);
  fprintf(stderr, "error: unknown verb \"job %s\"\n%s", v, usage);
  return 2;
}
